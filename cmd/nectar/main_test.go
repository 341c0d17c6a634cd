package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine/value"
)

func TestRunGreet(t *testing.T) {
	greet := filepath.Join("..", "..", "examples", "greet", "greet.yaml")
	tests := []struct {
		name, stdin  string
		args         []string
		wantOut      string
		wantErr      []string
		wantCode     int
		wantNoStderr bool
	}{
		{name: "the acceptance example", stdin: `{"name":"Ada"}`, args: []string{"run", greet, "--log-level", "warn"},
			wantOut: `{"text":"Hello, Ada!","length":3}` + "\n", wantNoStderr: true},
		{name: "a failed assert prints the error object", stdin: `{}`, args: []string{"run", greet},
			wantErr: []string{`"error":"name is required"`, `"code":400`, `"step":"require a name"`}, wantCode: 1},
		{name: "input that is not JSON", stdin: `{"name":`, args: []string{"run", greet},
			wantErr: []string{"input is not JSON", "offset 8"}, wantCode: 3},
		{name: "no such pipeline", args: []string{"run", "nope.yaml"},
			wantErr: []string{"nope.yaml: no such file, and no pipeline of that name"}, wantCode: 2},
		{name: "--var sets vars", stdin: `{}`, args: []string{"run", "testdata/vars.yaml", "--var", "n=41", "--var", "s=text"},
			wantOut: `{"n":42,"s":"text"}` + "\n"},
		{name: "--globals overrides globals", stdin: `{"name":"Ada"}`, args: []string{"run", greet, "--globals", "testdata/prod-globals.yaml", "--log-level", "warn"},
			wantOut: `{"text":"Bonjour, Ada!","length":3}` + "\n"},
		{name: "unknown command", args: []string{"rnu"}, wantErr: []string{"unknown command"}, wantCode: 64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := nectar(t, tt.stdin, tt.args...)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.wantCode, errOut)
			}
			if tt.wantOut != "" && out != tt.wantOut {
				t.Errorf("stdout %q, want %q", out, tt.wantOut)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q: %s", w, errOut)
				}
			}
			if tt.wantNoStderr && errOut != "" {
				t.Errorf("unexpected stderr: %s", errOut)
			}
			if strings.Contains(errOut, "goroutine ") {
				t.Errorf("a stack trace reached the user: %s", errOut)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "good.yaml"), []byte("name: good\nsteps:\n  - set: {a: 1}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte("name: bad\nsteps:\n  - rest:\n      methd: GET\n"), 0o644)
	out, errOut, code := nectar(t, "", "validate", dir)
	if code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	if !strings.Contains(out, "good.yaml: ok (good)") {
		t.Errorf("stdout: %s", out)
	}
	for _, w := range []string{`bad.yaml:4:7: steps[0].rest.methd: unknown option; did you mean "method"?`, `bad.yaml:4:7: steps[0].rest: missing required option "url"`} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr lacks %q:\n%s", w, errOut)
		}
	}
}

func TestLargeInput(t *testing.T) {
	if testing.Short() {
		t.Skip("50 MB input")
	}
	var b strings.Builder
	b.WriteString(`{"items":[`)
	for i := 0; b.Len() < 50<<20; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"id":1234567890123,"name":"a fairly long name for an item","tags":["x","y"]}`)
	}
	b.WriteString(`]}`)
	out, errOut, code := nectar(t, b.String(), "run", "testdata/count.yaml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.HasPrefix(out, `{"count":`) {
		t.Fatalf("stdout %.100s", out)
	}
}

func TestJolt(t *testing.T) {
	out, errOut, code := nectar(t, `{"rating":{"primary":{"value":3}}}`, "jolt", "--spec", "testdata/rating.json")
	if code != 0 || out != `{"Rating":3}`+"\n" {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, out, errOut)
	}
	_, errOut, code = nectar(t, `{}`, "jolt", "--spec", "testdata/bad-spec.json")
	if code != 2 || !strings.Contains(errOut, "bad-spec.json") {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
}

func TestSchemaAndConnectors(t *testing.T) {
	out, _, code := nectar(t, "", "schema")
	if code != 0 || !strings.Contains(out, `"$schema"`) || !strings.Contains(out, `"for-each"`) {
		t.Fatalf("schema: exit %d %.200s", code, out)
	}
	out, _, code = nectar(t, "", "connectors", "assert")
	if code != 0 || !strings.Contains(out, "that: list of condition (required)") {
		t.Fatalf("connectors assert: %s", out)
	}
}

// TestJoltConformanceThroughCLI runs a few of the JOLT conformance cases
// through `nectar jolt`, as a user would (the jolt package runs all of them
// in process).
func TestJoltConformanceThroughCLI(t *testing.T) {
	cases := []string{"shift-wildcardsWithOr", "chain-integration-firstSample", "modify-overwrite-beta-functions-stringsSplitTest", "default-firstSample", "cardinality-starTestData"}
	for _, name := range cases {
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "..", "jolt", "testdata", "conformance", "cases", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			c, err := value.Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			tc := c.(*value.Object)
			op, _ := tc.Get("operation")
			spec, _ := tc.Get("spec")
			if op != "chain" {
				spec = []any{value.ObjectOf("operation", op, "spec", spec)}
			}
			dir := t.TempDir()
			specFile := filepath.Join(dir, "spec.json")
			os.WriteFile(specFile, []byte(value.MustEncodeString(spec)), 0o644)
			args := []string{"jolt", "--spec", specFile}
			if ctx, ok := tc.Get("context"); ok {
				ctxFile := filepath.Join(dir, "context.json")
				os.WriteFile(ctxFile, []byte(value.MustEncodeString(ctx)), 0o644)
				args = append(args, "--context", ctxFile)
			}
			input, _ := tc.Get("input")
			out, errOut, code := nectar(t, value.MustEncodeString(input), args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			got, err := value.DecodeString(out)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := tc.Get("expected")
			if !value.Equal(got, want) {
				t.Errorf("got  %s\nwant %s", value.MustEncodeString(got), value.MustEncodeString(want))
			}
		})
	}
}

// TestVersion: `nectar --version` prints what `nectar version` prints.
func TestVersion(t *testing.T) {
	cmdOut, _, code := nectar(t, "", "version")
	if code != 0 || !strings.HasPrefix(cmdOut, "nectar ") {
		t.Fatalf("nectar version: exit %d, %q", code, cmdOut)
	}
	flagOut, errOut, code := nectar(t, "", "--version")
	if code != 0 || flagOut != cmdOut {
		t.Fatalf("nectar --version: exit %d, %q (stderr %q), want %q", code, flagOut, errOut, cmdOut)
	}
}

// TestExitCodes: 64 is for usage errors only (an unknown command or flag,
// a wrong number of arguments, a flag value that does not parse), known by
// their type; any other failure is 1, whatever words its message holds.
// The exit code used to be chosen by matching "flag", "arg" or "unknown
// command" in the message: a missing globals file named charges.yaml made
// nectar serve exit 64.
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	data := "--data-dir=" + filepath.Join(dir, "data")
	served := filepath.Join(dir, "pipelines")
	if err := os.Mkdir(served, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"unknown command", []string{"rnu"}, 64, `unknown command "rnu"`},
		{"unknown flag", []string{"validate", "--nosuch", "x.yaml"}, 64, "unknown flag: --nosuch"},
		{"flag value that does not parse", []string{"serve", data, "--max-connections", "many"}, 64, `invalid argument "many"`},
		{"too many arguments", []string{"run", "a.yaml", "b.yaml"}, 64, "accepts 1 arg(s), received 2"},
		{"no argument", []string{"validate"}, 64, "requires at least 1 arg(s)"},
		{"unknown subcommand", []string{"store", "chek", data}, 64, `unknown command "chek"`},
		{"a failure whose message says arg", []string{"serve", data, "--dir", served, "--globals", filepath.Join(dir, "charges.yaml")}, 1, "charges.yaml: no such file"},
		{"a failure whose message says flag", []string{"serve", data, "--dir", served, "--globals", filepath.Join(dir, "flags.yaml")}, 1, "flags.yaml: no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, errOut, code := nectar(t, "", tc.args...)
			if code != tc.wantCode || !strings.Contains(errOut, tc.wantErr) {
				t.Fatalf("exit %d, want %d; stderr (want %q):\n%s", code, tc.wantCode, tc.wantErr, errOut)
			}
		})
	}
}
