package examples_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine/value"
)

// needsRow is a row of docs/pipelines.md's table of the connector examples
// that need something.
var needsRow = regexp.MustCompile("^\\| `(connectors/[a-z0-9-]+/example\\.yaml)` \\|")

// exportRE finds the variable a `# needs:` line says to set.
var exportRE = regexp.MustCompile(`export ([A-Z][A-Z0-9_]*)=(\S+)`)

// TestConnectorExamplesRunAsDocumented does what docs/pipelines.md tells a
// reader: from the repository's root (a fresh folder holding it), `nectar
// run connectors/X/example.yaml --input connectors/X/example.input.json`
// answers example.want.json, for every example but those the document
// lists as needing something, which must say so on their first line (and,
// for a variable, run with it set as said).
func TestConnectorExamplesRunAsDocumented(t *testing.T) {
	if testing.Short() {
		t.Skip("builds nectar and runs the connector examples with it")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	doc, err := os.ReadFile(filepath.Join(root, "docs", "pipelines.md"))
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(doc))
	for sc.Scan() {
		if m := needsRow.FindStringSubmatch(sc.Text()); m != nil {
			documented[m[1]] = true
		}
	}
	if len(documented) == 0 {
		t.Fatal("docs/pipelines.md lists no examples that need something; the test cannot read its table")
	}

	bin := filepath.Join(t.TempDir(), "nectar")
	build := exec.Command("go", "build", "-o", bin, "./cmd/nectar")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	files, err := filepath.Glob(filepath.Join(root, "connectors", "*", "example.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no connector examples: %v", err)
	}
	sort.Strings(files)
	for _, abs := range files {
		rel, _ := filepath.Rel(root, abs)
		rel = filepath.ToSlash(rel)
		t.Run(rel, func(t *testing.T) {
			src, err := os.ReadFile(abs)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(src), "\n")
			needs, isNeeds := strings.CutPrefix(first, "# needs:")
			if isNeeds != documented[rel] {
				t.Fatalf("%s has a `# needs:` first line: %v; docs/pipelines.md lists it as needing something: %v", rel, isNeeds, documented[rel])
			}
			var env []string
			if isNeeds {
				m := exportRE.FindStringSubmatch(needs)
				if m == nil {
					t.Skipf("needs%s", needs)
				}
				val := m[2]
				if strings.HasPrefix(val, "$(") {
					val = "0123456789abcdef0123456789abcdef0123456789abcdef" // the random bytes it asks for
				}
				env = append(env, m[1]+"="+val)
			}
			runExample(t, root, bin, rel, env)
		})
	}
}

// runExample runs the documented command in a fresh folder holding the
// repository's connectors folder, with no NECTAR_ variable but env.
func runExample(t *testing.T, root, bin, rel string, env []string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.Symlink(filepath.Join(root, "connectors"), filepath.Join(dir, "connectors")); err != nil {
		t.Fatal(err)
	}
	base := strings.TrimSuffix(rel, ".yaml")
	cmd := exec.Command(bin, "run", rel, "--input", base+".input.json")
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NECTAR_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()

	if wantErr, err := os.ReadFile(filepath.Join(root, base+".want.err")); err == nil {
		var obj struct {
			Code  int    `json:"code"`
			Error string `json:"error"`
		}
		if runErr == nil {
			t.Fatalf("ran without error; want %q\nstdout: %s", wantErr, stdout.String())
		}
		last := lastLine(stderr.String())
		if err := json.Unmarshal([]byte(last), &obj); err != nil {
			t.Fatalf("the error is not an error object: %v\nstderr: %s", err, stderr.String())
		}
		if got := fmt.Sprintf("%d: %s", obj.Code, obj.Error); !strings.Contains(got, strings.TrimSpace(string(wantErr))) {
			t.Fatalf("error %q, want one containing %q", got, strings.TrimSpace(string(wantErr)))
		}
		return
	}
	if runErr != nil {
		t.Fatalf("nectar run %s: %v\nstdout: %s\nstderr: %s", rel, runErr, stdout.String(), stderr.String())
	}
	wantData, err := os.ReadFile(filepath.Join(root, base+".want.json"))
	if err != nil {
		t.Fatalf("%s.want.json: %v", base, err)
	}
	want, err := value.Decode(wantData)
	if err != nil {
		t.Fatalf("%s.want.json: %v", base, err)
	}
	got, err := value.Decode(stdout.Bytes())
	if err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout.String())
	}
	if g, w := value.MustEncodeString(got), value.MustEncodeString(want); g != w {
		t.Errorf("nectar run %s printed\n%s\nwant (%s.want.json)\n%s", rel, g, base, w)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
