// Package docs_test runs the commands of Nectar's documentation as a reader
// would, so that a documented command that stops working fails CI.
//
// The rules, which docs/README.md states for writers:
//
//   - Every fenced block marked sh, bash, shell or console in the documents
//     listed by docFiles runs, in the order of its document, against a
//     freshly built nectar (on PATH) in a fresh working directory that holds
//     the repository's top-level files and folders (as links) and nothing
//     else: its own .nectar data directory, no NECTAR_* variables.
//   - A block whose first line is "# needs: WHAT" is skipped, with WHAT as the
//     reason: it needs something a test machine does not have (the internet,
//     a Google account, a PostgreSQL server elsewhere).
//   - A block with lines starting with "$ " is a transcript: each such line is
//     a command, and the lines up to the next one are its output, checked
//     line by line, where "…" stands for any text. In other blocks each line
//     is a command and its output is not checked. Every command must exit 0
//     (show a failure as `cmd; echo "exit $?"`).
//   - `nectar serve` and `go run ./cmd/nectar serve` run in the background
//     until the end of their block; the next command runs once /readyz
//     answers on the --addr given (127.0.0.1:8080 by default). Each document
//     runs in a network namespace of its own where the machine allows it, so
//     port 8080 is free.
//   - A ```yaml block whose first line is "# PATH" is the file PATH: written
//     into the working directory before the commands run, or, when the
//     repository has that file, compared with it.
//   - `go test` commands are not run: this test is one of them.
package docs_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// docFiles are the documents whose commands run, relative to the
// repository's root.
func docFiles(t *testing.T) []string {
	files := []string{"README.md", "pipelines/README.md", "accounts/README.md", "triggers/README.md"}
	for _, pattern := range []string{"docs/*.md", "examples/*/README.md", "connectors/*/README.md", "triggers/*/README.md"} {
		m, err := filepath.Glob(filepath.Join("..", pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range m {
			rel, _ := filepath.Rel("..", f)
			files = append(files, rel)
		}
	}
	return files
}

// block is one fenced block of a document.
type block struct {
	lang  string
	line  int // the line of its opening fence
	lines []string
}

var fence = regexp.MustCompile("^```([a-z]*)\\s*$")

func blocks(doc string) []block {
	var out []block
	var cur *block
	for i, l := range strings.Split(doc, "\n") {
		if m := fence.FindStringSubmatch(l); m != nil {
			if cur == nil {
				cur = &block{lang: m[1], line: i + 1}
				continue
			}
			out = append(out, *cur)
			cur = nil
			continue
		}
		if cur != nil {
			cur.lines = append(cur.lines, l)
		}
	}
	return out
}

func isShell(lang string) bool {
	switch lang {
	case "sh", "bash", "shell", "console":
		return true
	}
	return false
}

// command is one command of a shell block and the output shown for it
// (nil when the block is not a transcript).
type command struct {
	text string
	want []string
}

// commands splits a shell block into its commands, joining lines continued
// with a backslash (the backslash and newline stay, for bash to join).
func commands(lines []string) []command {
	transcript := false
	for _, l := range lines {
		if strings.HasPrefix(l, "$ ") {
			transcript = true
		}
	}
	var out []command
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if transcript && !strings.HasPrefix(l, "$ ") {
			if len(out) > 0 && (l != "" || i < len(lines)-1) {
				out[len(out)-1].want = append(out[len(out)-1].want, l)
			}
			continue
		}
		l = strings.TrimPrefix(l, "$ ")
		for strings.HasSuffix(l, "\\") && i+1 < len(lines) {
			i++
			l += "\n" + lines[i] // the backslash stays: bash joins the lines
		}
		if t := strings.TrimSpace(l); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		out = append(out, command{text: l, want: []string{}})
	}
	if !transcript {
		for i := range out {
			out[i].want = nil
		}
	}
	return out
}

var (
	serveCmd = regexp.MustCompile(`^\s*(nectar|\./nectar|go run \./cmd/nectar)\s+serve\b`)
	addrFlag = regexp.MustCompile(`--addr[ =](\S+)`)
	goTest   = regexp.MustCompile(`^\s*go test\b`)
)

const endMark = "@@nectar-doc-command-end@@"

// script turns a block's commands into one bash script that prints endMark
// and the exit status after each command.
func script(cmds []command) string {
	var b strings.Builder
	b.WriteString(`exec 2>&1
__ready() {
  for _ in $(seq 1 600); do
    curl -sf -o /dev/null "http://$1/readyz" && return 0
    sleep 0.1
  done
  echo "nectar serve did not get ready on $1"; return 1
}
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null' EXIT
`)
	for i, c := range cmds {
		text := c.text
		switch {
		case goTest.MatchString(text):
			text = "true # go test is not run by the docs test"
		case serveCmd.MatchString(text):
			addr := "127.0.0.1:8080"
			if m := addrFlag.FindStringSubmatch(text); m != nil {
				addr = m[1]
			}
			text = strings.TrimSpace(text)
			if j := strings.Index(text, " #"); j >= 0 {
				text = text[:j]
			}
			text = strings.TrimSuffix(strings.TrimSpace(text), "&")
			text = fmt.Sprintf("%s > .serve-%d.log 2>&1 &\n__ready %s || { cat .serve-%d.log; false; }", text, i, addr, i)
		}
		fmt.Fprintf(&b, "%s\nprintf '\\n%s %%d\\n' $?\n", text, endMark)
	}
	return b.String()
}

// matchLine reports whether got is the shown line want, "…" standing for
// any text.
func matchLine(want, got string) bool {
	parts := strings.Split(want, "…")
	if len(parts) == 1 {
		return want == got
	}
	if !strings.HasPrefix(got, parts[0]) {
		return false
	}
	got = got[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(got, p)
		if i < 0 {
			return false
		}
		got = got[i+len(p):]
	}
	return strings.HasSuffix(got, parts[len(parts)-1])
}

// workDir makes a fresh working directory holding links to the
// repository's top-level entries.
func workDir(t *testing.T, root string) string {
	dir := t.TempDir()
	entries, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		switch e.Name() {
		case ".git", ".nectar", "nectar":
			continue
		}
		if err := os.Symlink(filepath.Join(root, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// namespaced reports whether commands can run in a network namespace of
// their own (root, with unshare and ip).
func namespaced() bool {
	return exec.Command("unshare", "--net", "--", "ip", "link", "set", "lo", "up").Run() == nil
}

func TestDocCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("builds nectar and runs every documented command")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "nectar"), "./cmd/nectar")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	netns := namespaced()
	for _, file := range docFiles(t) {
		data, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			t.Fatal(err)
		}
		bs := blocks(string(data))
		hasShell := false
		for _, b := range bs {
			hasShell = hasShell || isShell(b.lang)
		}
		if !hasShell {
			continue
		}
		t.Run(file, func(t *testing.T) {
			dir := workDir(t, root)
			for _, b := range bs {
				if b.lang == "yaml" || b.lang == "yml" {
					docFile(t, root, dir, file, b)
				}
			}
			for _, b := range bs {
				if !isShell(b.lang) {
					continue
				}
				where := fmt.Sprintf("%s:%d", file, b.line)
				if len(b.lines) > 0 && strings.HasPrefix(b.lines[0], "# needs:") {
					t.Logf("%s: skipped, %s", where, strings.TrimSpace(strings.TrimPrefix(b.lines[0], "# needs:")))
					continue
				}
				runBlock(t, where, dir, bin, netns, commands(b.lines))
			}
		})
	}
}

// docFile writes or checks a ```yaml block whose first line is "# PATH".
func docFile(t *testing.T, root, dir, file string, b block) {
	if len(b.lines) == 0 || !strings.HasPrefix(b.lines[0], "# ") {
		return
	}
	name := strings.TrimSpace(strings.TrimPrefix(b.lines[0], "# "))
	if strings.ContainsAny(name, " \t") || !strings.HasSuffix(name, ".yaml") && !strings.HasSuffix(name, ".yml") {
		return
	}
	content := strings.Join(b.lines, "\n") + "\n"
	if repo, err := os.ReadFile(filepath.Join(root, name)); err == nil {
		if body := strings.Join(b.lines[1:], "\n") + "\n"; string(repo) != body && string(repo) != content {
			t.Errorf("%s:%d: the block shown as %s differs from the repository's file", file, b.line, name)
		}
		return
	}
	path := filepath.Join(dir, name)
	if top := strings.SplitN(filepath.ToSlash(name), "/", 2)[0]; top != name {
		if fi, err := os.Lstat(filepath.Join(dir, top)); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			t.Fatalf("%s:%d: %s is not in the repository, and the docs test will not write into it", file, b.line, name)
		}
	}
	os.MkdirAll(filepath.Dir(path), 0o755)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func runBlock(t *testing.T, where, dir, bin string, netns bool, cmds []command) {
	if len(cmds) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	src := script(cmds)
	var cmd *exec.Cmd
	if netns {
		cmd = exec.CommandContext(ctx, "unshare", "--net", "--", "bash", "-c", "ip link set lo up && exec bash -c \"$0\"", src)
	} else {
		cmd = exec.CommandContext(ctx, "bash", "-c", src)
	}
	cmd.Dir = dir
	cmd.Env = docEnv(dir, bin)
	// Its own process group, so that what the block started in the
	// background (a server, the program go run built) ends with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Run()
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	results := strings.Split(out.String(), "\n"+endMark+" ")
	for i, c := range cmds {
		if i >= len(results)-1 {
			t.Errorf("%s: `%s` did not finish (%v):\n%s", where, c.text, err, tail(out.String()))
			return
		}
		output := results[i]
		if i > 0 {
			// Drop the status line of the command before.
			_, output, _ = strings.Cut(output, "\n")
		}
		status := strings.SplitN(results[i+1], "\n", 2)[0]
		if status != "0" {
			t.Errorf("%s: `%s` exited %s:\n%s", where, c.text, status, output)
			return
		}
		if c.want == nil {
			continue
		}
		got := strings.Split(strings.TrimRight(output, "\n"), "\n")
		if output == "" || output == "\n" {
			got = nil
		}
		if !matchLines(c.want, got) {
			t.Errorf("%s: `%s` printed\n%s\nthe document shows\n%s", where, c.text, strings.Join(got, "\n"), strings.Join(c.want, "\n"))
		}
	}
}

func matchLines(want, got []string) bool {
	if len(want) != len(got) {
		return false
	}
	for i := range want {
		if !matchLine(strings.TrimRight(want[i], " "), strings.TrimRight(got[i], " ")) {
			return false
		}
	}
	return true
}

// docEnv is the environment of the commands: the test's, less every
// NECTAR_ variable, with the built nectar first on PATH and the module
// cache used offline.
func docEnv(dir, bin string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "NECTAR_") || strings.HasPrefix(kv, "PATH=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "GOFLAGS=-mod=readonly", "GOPROXY=off", "NO_COLOR=1")
}

func tail(s string) string {
	if len(s) > 4000 {
		return "…" + s[len(s)-4000:]
	}
	return s
}
