package server_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/nectar-run/nectar/internal/servertest"
	"github.com/nectar-run/nectar/server"
)

// lockedBuffer is a log sink the server's goroutines write to.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// stringsOf returns every string of a decoded JSON value, keys too.
func stringsOf(v any, out []string) []string {
	switch t := v.(type) {
	case string:
		out = append(out, t)
	case map[string]any:
		for k, c := range t {
			out = stringsOf(c, append(out, k))
		}
	case []any:
		for _, c := range t {
			out = stringsOf(c, out)
		}
	}
	return out
}

// TestSecretsOfEveryShapeNeverStored: the runtime's secrets (the admin key
// and values added as account secrets and tokens are) of the shapes the
// rarest-byte search of engine.containsSecret ranks worst (all one common
// byte, all quotes, digits, spaces, a rare byte repeated, unicode, secrets
// that are prefixes of one another, secrets longer than 16 bytes whose
// first 16 bytes are everywhere in the text) are posted inside texts of 63
// to 200 bytes, at the start, at the end and right after a run of their own
// bytes that makes the search hand over to strings.Contains: neither the
// stored record (input, output, steps, log lines) nor the server's log
// holds one, read as decoded strings (a secret of quotes is escaped in
// JSON text).
func TestSecretsOfEveryShapeNeverStored(t *testing.T) {
	var logs lockedBuffer
	e := servertest.Start(t, map[string]string{"echo.yaml": `
name: echo
trigger:
  http: {path: /echo}
steps:
  - log: {message: "got {{ message.t }}"}
  - set: {u: "{{ message.t }}", v: "{{ message.t }}"}
`}, func(o *server.Options) {
		o.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
		o.History.Steps = true
		o.History.Snapshots = "all"
	})
	secrets := []string{
		"aaaaaaaa", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", `""""""""`, "12345678", "        ",
		"qqqqqqqqqqqqqqqqqqqqqqqqqZ", "Zqqqqqqqqqqqqqqqqq", "ZZZZZZZZ", "é€é€é€", "ＡＰＩ-secret",
		"pre-fix-1", "pre-fix-12", "pre-fix-123456789", "eeeeeeeeeeeeeeeeXYZ", "tete\"tete\"tete\"tet!",
	}
	e.Srv.Runtime().Secrets.Add(secrets...)
	secrets = append(secrets, "admin-key")
	for _, s := range secrets {
		var fills []string
		for _, n := range []int{0, 1, 47, 48, 49, 50, 60, 150} {
			run := strings.Repeat(s[:1], n)
			fills = append(fills, run+s, s+run, run+s+run, strings.Repeat("é", n/2)+s)
		}
		// A run of one of the secret's first 16 bytes (the one searched for
		// is among them) right before it, after text enough to take the
		// search past strings.Contains: candidates fail until the search
		// hands the rest over, the secret at every offset from there.
		done := map[byte]bool{}
		for i := range min(len(s), 16) {
			if c := s[i]; c < 0x80 && !done[c] { // the é runs above cover the others
				done[c] = true
				for n := range 26 {
					fills = append(fills, strings.Repeat("/", 64)+strings.Repeat(string(rune(c)), n)+s)
				}
			}
		}
		for _, text := range fills {
			body, _ := json.Marshal(map[string]string{"t": text})
			code, hdr, resp := e.Do(t, "POST", "/echo", string(body), map[string]string{"Content-Type": "application/json"})
			if code != 200 {
				t.Fatalf("%s: %d %s", body, code, resp)
			}
			rec := e.Record(t, hdr)
			raw, _ := json.Marshal(rec)
			var v any
			if err := json.Unmarshal(raw, &v); err != nil {
				t.Fatal(err)
			}
			for _, str := range stringsOf(v, nil) {
				for _, sec := range secrets {
					if strings.Contains(str, sec) {
						t.Fatalf("secret %q stored (text %q): %s", sec, text, raw)
					}
				}
			}
		}
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if !strings.Contains(logs.String(), `"got `) {
		t.Fatalf("the log step's lines are not in the server's log: %d lines", len(lines))
	}
	for _, line := range lines {
		var v any
		if err := json.Unmarshal([]byte(line), &v); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		for _, str := range stringsOf(v, nil) {
			for _, sec := range secrets {
				if strings.Contains(str, sec) {
					t.Fatalf("secret %q logged: %s", sec, line)
				}
			}
		}
	}
}
