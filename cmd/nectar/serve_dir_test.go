package main_test

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// serveAttempt is what one `nectar serve` start did: the log, and the base
// URL when it got to serving (it is then stopped at the end of the test).
type serveAttempt struct {
	log  string
	base string
	err  error // the exit, when it did not serve
}

// tryServe runs nectar serve with args in cwd until it logs "nectar serving"
// or exits, whichever comes first: a start that should fail cannot hang the
// test by serving, it fails it.
func tryServe(t *testing.T, bin, cwd string, args ...string) serveAttempt {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--data-dir", t.TempDir(), "--addr", "127.0.0.1:0", "--reload-interval", "0"}, args...)...)
	cmd.Dir = cwd
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NECTAR_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var a serveAttempt
	var log strings.Builder
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		line := sc.Text()
		log.WriteString(line + "\n")
		var l struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "nectar serving" {
			a.base = "http://" + l.Addr
			go io.Copy(io.Discard, stderr)
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			break
		}
	}
	a.log = log.String()
	if a.base == "" {
		a.err = cmd.Wait()
	}
	return a
}

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, src := range files {
		path := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const strayPipeline = "name: stray\ntrigger:\n  http: {path: /stray, methods: [GET]}\nsteps:\n  - set: {found: true}\n"

// TestServeDirHandling starts nectar serve the ways a new user did.
func TestServeDirHandling(t *testing.T) {
	bin := buildNectar(t)

	t.Run("a misspelt --dir fails, saying which", func(t *testing.T) {
		cwd := t.TempDir()
		writeFiles(t, cwd, map[string]string{"pipelines/orders.yaml": strayPipeline})
		a := tryServe(t, bin, cwd, "--dir", "pipelnes")
		if a.base != "" {
			t.Fatalf("served with --dir pipelnes (a folder that does not exist):\n%s", a.log)
		}
		if !strings.Contains(a.log, "--dir pipelnes: no such folder") {
			t.Errorf("the error does not say what is wrong:\n%s", a.log)
		}
	})

	t.Run("--dir naming a file fails", func(t *testing.T) {
		cwd := t.TempDir()
		writeFiles(t, cwd, map[string]string{"orders.yaml": strayPipeline})
		a := tryServe(t, bin, cwd, "--dir", "orders.yaml")
		if a.base != "" || !strings.Contains(a.log, "--dir orders.yaml: not a folder") {
			t.Fatalf("served, or did not say why not (served: %v):\n%s", a.base != "", a.log)
		}
	})

	t.Run("without --dir nor ./pipelines, only the shipped pipelines", func(t *testing.T) {
		// A home directory: YAML files everywhere, some not pipelines.
		home := t.TempDir()
		writeFiles(t, home, map[string]string{
			"stray.yaml":               strayPipeline,
			".config/tool/config.yaml": "theme: dark\n",
			"notes/todo.yaml":          "- buy milk\n",
		})
		a := tryServe(t, bin, home)
		if a.base == "" {
			t.Fatalf("did not serve: %v\n%s", a.err, a.log)
		}
		if !strings.Contains(a.log, "serving only the shipped pipelines") {
			t.Errorf("the log does not say that only the shipped pipelines are served:\n%s", a.log)
		}
		if strings.Contains(a.log, "does not load") {
			t.Errorf("files of the current folder were loaded as pipelines:\n%s", a.log)
		}
		resp, err := http.Get(a.base + "/stray")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET /stray = %d: stray.yaml of the current folder is served", resp.StatusCode)
		}
		// The shipped pipelines are there.
		resp, err = http.Get(a.base + "/.well-known/oauth-authorization-server")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET /.well-known/oauth-authorization-server = %d, want the shipped pipeline's 200", resp.StatusCode)
		}
	})

	t.Run("a globals file named *.globals.yaml inside --dir is not a pipeline", func(t *testing.T) {
		cwd := t.TempDir()
		writeFiles(t, cwd, map[string]string{
			"pipelines/stray.yaml":        strayPipeline,
			"pipelines/prod.globals.yaml": "erp_url: https://erp.example.com\n",
		})
		a := tryServe(t, bin, cwd, "--dir", "pipelines", "--globals", "pipelines/prod.globals.yaml")
		if a.base == "" {
			t.Fatalf("did not serve: %v\n%s", a.err, a.log)
		}
		if strings.Contains(a.log, "does not load") {
			t.Errorf("the globals file was loaded as a pipeline:\n%s", a.log)
		}
	})

	t.Run("a globals file inside --dir under another name fails, saying what to do", func(t *testing.T) {
		cwd := t.TempDir()
		writeFiles(t, cwd, map[string]string{
			"pipelines/stray.yaml": strayPipeline,
			"pipelines/prod.yaml":  "erp_url: https://erp.example.com\n",
		})
		a := tryServe(t, bin, cwd, "--dir", "pipelines", "--globals", "pipelines/prod.yaml")
		if a.base != "" {
			t.Fatalf("served, loading the globals file as a broken pipeline:\n%s", a.log)
		}
		if !strings.Contains(a.log, "rename it prod.globals.yaml") {
			t.Errorf("the error does not say what to do:\n%s", a.log)
		}
	})
}
