package files_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/connectors/files"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

// The step within runs: it calls the function the run's context carries.
// Registered once, so that the tests can run more than once in a process
// (go test -count).
func init() {
	engine.Register("test-files-within", "runs the test's function", func(struct{}, *engine.Compiler) (engine.Step, error) {
		return stepFunc(func(ctx context.Context, x *engine.Exec) { ctx.Value(withinKey{}).(func(*engine.Exec))(x) }), nil
	})
}

type withinKey struct{}

// within runs fn inside an execution (files need its working directory)
// and returns the directory, removed by then.
func within(t *testing.T, fn func(x *engine.Exec)) string {
	t.Helper()
	var dir string
	p, err := engine.Load("t.yaml", []byte("name: t\nsteps:\n  - test-files-within: {}\n"), engine.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.WithValue(context.Background(), withinKey{}, func(x *engine.Exec) {
		dir, _ = x.WorkDir()
		fn(x)
	})
	if _, err := p.Run(ctx, &engine.Runtime{}, value.NewObject(0), engine.RunOptions{}); err != nil {
		t.Fatal(err)
	}
	return dir
}

type stepFunc func(ctx context.Context, x *engine.Exec)

func (f stepFunc) Execute(ctx context.Context, x *engine.Exec, in any) (any, error) {
	f(ctx, x)
	return in, nil
}

func TestSaveAndOpen(t *testing.T) {
	dir := within(t, func(x *engine.Exec) {
		a, err := files.Save(x, "report.pdf", "", strings.NewReader("one"))
		if err != nil {
			t.Fatal(err)
		}
		b, err := files.Save(x, "report.pdf", "application/x-custom", strings.NewReader("two!"))
		if err != nil {
			t.Fatal(err)
		}
		wd, _ := x.WorkDir()
		if a.Name != "report.pdf" || filepath.Dir(a.Path) != wd || a.Size != 3 || a.MimeType != "application/pdf" {
			t.Fatalf("first %+v", a)
		}
		if b.Name != "report-1.pdf" || b.Size != 4 || b.MimeType != "application/x-custom" {
			t.Fatalf("second %+v", b)
		}
		ref := b.Object("id-1")
		if value.MustEncodeString(ref) != `{"id":"id-1","name":"report-1.pdf","path":"`+b.Path+`","size":4,"mime_type":"application/x-custom"}` {
			t.Fatalf("reference %s", value.MustEncodeString(ref))
		}
		tests := []struct {
			name    string
			v       any
			anyPath bool
			want    string
			wantErr error
		}{
			{"a reference", ref, false, "two!", nil},
			{"a relative path", "report.pdf", false, "one", nil},
			{"a path out of the directory", "../x", false, "", files.ErrOutsideWorkDir},
			{"an absolute path elsewhere", "/etc/hostname", false, "", files.ErrOutsideWorkDir},
		}
		for _, tt := range tests {
			src, err := files.Open(x, tt.v, tt.anyPath)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("%s: got %v", tt.name, err)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
				continue
			}
			got, _ := io.ReadAll(src.Section(0, src.Size))
			src.Close()
			if string(got) != tt.want {
				t.Errorf("%s: read %q", tt.name, got)
			}
		}
		if c, err := files.Save(x, "../../etc/passwd", "", strings.NewReader("")); err != nil || c.Name != ".._.._etc_passwd" || filepath.Dir(c.Path) != wd {
			t.Fatalf("a name with directories: %+v %v", c, err)
		}
		// A body resent (a token renewal, a retry) reads the same bytes.
		src, _ := files.Open(x, ref, false)
		defer src.Close()
		req, _ := http.NewRequest(http.MethodPut, "http://x", nil)
		src.SetBody(req, []byte("<"), 1, 2, []byte(">"))
		first, _ := io.ReadAll(req.Body)
		again, _ := req.GetBody()
		second, _ := io.ReadAll(again)
		if string(first) != "<wo>" || string(second) != "<wo>" || req.ContentLength != 4 {
			t.Fatalf("bodies %q %q, length %d", first, second, req.ContentLength)
		}
	})
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the working directory outlived the execution: %v", err)
	}
}

func TestContent(t *testing.T) {
	tests := []struct {
		name, content string
		base64        bool
		want, mime    string
		wantErr       bool
	}{
		{"text", "héllo", false, "héllo", "text/plain; charset=utf-8", false},
		{"standard base64", "aGk/Pz4+", true, "hi??>>", "text/plain; charset=utf-8", false},
		{"url base64 without padding", "aGk_Pz4-", true, "hi??>>", "text/plain; charset=utf-8", false},
		{"not base64", "%%%", true, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := files.Content("note.txt", "", tt.content, tt.base64)
			if tt.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(src.Section(0, src.Size))
			if string(got) != tt.want || src.MimeType != tt.mime {
				t.Fatalf("got %q %s", got, src.MimeType)
			}
		})
	}
}

func TestSafeName(t *testing.T) {
	for in, want := range map[string]string{"a/b\\c:d.txt": "a_b_c_d.txt", "..": "download", "": "download", " x ": "x", "tab\there": "tab_here"} {
		if got := files.SafeName(in); got != want {
			t.Errorf("SafeName(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestOpenErrorsNameThePathAsGiven: a path refused by the guard, missing,
// or a directory is named in the error as the step was given it, never
// with the execution's working directory (/tmp/nectar-exec-<id>-<rand>),
// which would tell a caller where the server keeps its files.
func TestOpenErrorsNameThePathAsGiven(t *testing.T) {
	within(t, func(x *engine.Exec) {
		wd, _ := x.WorkDir()
		if err := os.Mkdir(filepath.Join(wd, "sub"), 0o700); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct{ name, path string }{
			{"out of the directory", "../../etc/passwd"},
			{"a sibling directory", "../other/x.pdf"},
			{"a missing file", "missing.pdf"},
			{"a directory", "sub"},
		} {
			_, err := files.Open(x, c.path, false)
			if err == nil {
				t.Errorf("%s: no error", c.name)
				continue
			}
			if msg := err.Error(); strings.Contains(msg, wd) || strings.Contains(msg, filepath.Dir(wd)+string(filepath.Separator)) || !strings.Contains(msg, c.path) {
				t.Errorf("%s: error %q does not name %q as given, or names the working directory %s", c.name, msg, c.path, wd)
			}
		}
		if _, err := files.Open(x, "missing.pdf", false); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a missing file: %v, want os.ErrNotExist", err)
		}
	})
}
