package server_test

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nectar-run/nectar/consumers"
	"github.com/nectar-run/nectar/engine/enginetest"
	"github.com/nectar-run/nectar/server"
)

// TestLogLinesMaskConsumerCredentials: a consumer's real API key (nk_…)
// and Basic password, sent to an auth: [apikey, basic] trigger and repeated
// in the body, are masked in the execution's log lines as in its record.
func TestLogLinesMaskConsumerCredentials(t *testing.T) {
	logs := &enginetest.Log{}
	e := start(t, map[string]string{"secure.yaml": `
name: secure
trigger:
  http: {path: /secure, auth: [apikey, basic]}
steps:
  - log: {message: "got {{ message }}"}
  - set: {ok: true}
`}, func(o *server.Options) {
		o.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	ctx := context.Background()
	if _, err := e.cm.Create(ctx, consumers.Consumer{Name: "shop", Pipelines: []string{"secure"}}); err != nil {
		t.Fatal(err)
	}
	key, err := e.cm.AddKey(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	pwd, err := e.cm.AddBasic(ctx, "shop", "shop-user")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, secret string
		hdr          map[string]string
	}{
		{"consumer API key", key, map[string]string{"apikey": key}},
		{"consumer Basic password", pwd, map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("shop-user:"+pwd))}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.hdr["Content-Type"] = "text/plain"
			code, h, body := e.do(t, "POST", "/secure", "my credential is "+c.secret, c.hdr)
			if code != 200 {
				t.Fatalf("status %d: %s", code, body)
			}
			b, _ := json.Marshal(e.record(t, h))
			if strings.Contains(string(b), c.secret) {
				t.Errorf("the record holds the credential in clear")
			}
			id := h.Get("X-Execution-Id")
			seen := false
			for _, line := range strings.Split(logs.String(), "\n") {
				if !strings.Contains(line, id) {
					continue
				}
				seen = seen || strings.Contains(line, "my credential is ***")
				if strings.Contains(line, c.secret) {
					t.Errorf("a log line of the execution holds the credential in clear: %s", line)
				}
			}
			if !seen {
				t.Errorf("no masked log line of execution %s: %s", id, logs.String())
			}
		})
	}
}

// TestJSONBodyVariantsAreMasked: JSON sent as a form (curl -d) after a
// UTF-8 byte order mark or a non-breaking space, or as an array of
// objects, is read as JSON, so its client_secret is masked by name in the
// record and the log; a BOM before an application/json body is dropped; a
// form body starting with [ that is not JSON is a 400 saying so.
func TestJSONBodyVariantsAreMasked(t *testing.T) {
	e, logs := hostileStart(t)
	const secret = "probe-client-secret-0123456789"
	form := "application/x-www-form-urlencoded"
	obj := `{"client_secret":"` + secret + `"}`
	for _, c := range []struct{ name, ctype, body string }{
		{"BOM before an object sent as a form", form, "\ufeff" + obj},
		{"array of objects sent as a form", form, "[" + obj + "]"},
		{"non-breaking space before an object sent as a form", form, "\u00a0" + obj},
		{"BOM and spaces before an array sent as a form", form, "\ufeff \n[" + obj + "]"},
		{"BOM before application/json", "application/json", "\ufeff" + obj},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, h, resp := e.do(t, "POST", "/echo", c.body, map[string]string{"Content-Type": c.ctype})
			if code != 200 {
				t.Fatalf("status %d: %s", code, resp)
			}
			b, _ := json.Marshal(e.record(t, h))
			if strings.Contains(string(b), secret) || !strings.Contains(string(b), `client_secret`) {
				t.Errorf("the record does not hold the body as JSON with client_secret masked: %s", b)
			}
			for _, line := range strings.Split(logs.String(), "\n") {
				if strings.Contains(line, h.Get("X-Execution-Id")) && strings.Contains(line, secret) {
					t.Errorf("a log line holds the client_secret in clear: %s", line)
				}
			}
		})
	}
	code, _, resp := e.do(t, "POST", "/echo", "\ufeff[{\"client_secret\":", map[string]string{"Content-Type": form})
	if code != 400 || !strings.Contains(resp, "looks like JSON (it starts with [)") || strings.Contains(resp, secret) {
		t.Errorf("broken JSON array sent as a form: status %d: %s", code, resp)
	}
}

// TestProbeReserveServesOnlyProbes: with the served connections all held,
// a reserved connection answers GET or HEAD /healthz and /readyz (even
// when the request line arrives in pieces) and answers 503 to anything
// else as soon as its first bytes show it is not a probe.
func TestProbeReserveServesOnlyProbes(t *testing.T) {
	e := start(t, map[string]string{"x.yaml": "name: x\ntrigger:\n  http: {path: /x}\nsteps:\n  - set: {ok: true}\n"}, nil)
	addr := serveLimited(t, e, server.Limits{MaxConnections: 1, ProbeReserve: 1, ReadHeaderTimeout: time.Minute})
	idle, err := net.Dial("tcp", addr) // holds the one served connection
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	// The idle connection is served once a request on another connection
	// is answered 503 by the reserve (it was accepted first).
	for _, c := range []struct {
		name  string
		parts []string
		code  int
	}{
		{"a request to a pipeline", []string{"GET /x HTTP/1.1\r\nHost: x\r\n\r\n"}, 503},
		{"GET /healthz in pieces", []string{"GE", "T /heal", "thz HTTP/1.1\r\nHost: x\r\n\r\n"}, 200},
		{"HEAD /readyz", []string{"HEAD /readyz HTTP/1.1\r\nHost: x\r\n\r\n"}, 200},
		{"GET /healthz?verbose", []string{"GET /healthz?verbose=1 HTTP/1.1\r\nHost: x\r\n\r\n"}, 200},
		{"a longer path", []string{"GET /healthzz HTTP/1.1\r\nHost: x\r\n\r\n"}, 503},
		{"POST /healthz", []string{"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"}, 503},
		{"the management API", []string{"GET /api/pipelines HTTP/1.1\r\nHost: x\r\n\r\n"}, 503},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			for _, p := range c.parts {
				if _, err := conn.Write([]byte(p)); err != nil {
					t.Fatal(err)
				}
				time.Sleep(10 * time.Millisecond) // separate segments, not a timing assertion
			}
			conn.SetReadDeadline(time.Now().Add(20 * time.Second)) // a hang, not a timing assertion
			r := bufio.NewReader(conn)
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			if want := "HTTP/1.1 " + strconv.Itoa(c.code) + " "; !strings.HasPrefix(line, want) {
				t.Fatalf("answer %q, want %s", line, want)
			}
			// A reserved connection closes after its answer, and its place
			// is free once it has: the next case's connection needs it.
			if _, err := io.Copy(io.Discard, r); err != nil {
				t.Fatalf("the reserved connection was not closed after its answer: %v", err)
			}
		})
	}
}

// TestOtherCredentialNamesAreMasked: fields named as other APIs name
// credentials, or with a space after the name, are masked by name in the
// record and the log lines of the execution.
func TestOtherCredentialNamesAreMasked(t *testing.T) {
	e, logs := hostileStart(t)
	const v = "probe-value-0123456789abcdef"
	for _, name := range []string{"pwd", "otp", "passphrase", "credential", "secret_key", "AccessKey", "session_token", "X-Auth-Token", "privateKey", "password "} {
		t.Run(name, func(t *testing.T) {
			body, _ := json.Marshal(map[string]string{name: v + name})
			code, h, resp := e.do(t, "POST", "/echo", string(body), map[string]string{"Content-Type": "application/json"})
			if code != 200 {
				t.Fatalf("status %d: %s", code, resp)
			}
			b, _ := json.Marshal(e.record(t, h))
			if strings.Contains(string(b), v) {
				t.Errorf("the record holds %q in clear: %s", name, b)
			}
			for _, line := range strings.Split(logs.String(), "\n") {
				if strings.Contains(line, h.Get("X-Execution-Id")) && strings.Contains(line, v) {
					t.Errorf("a log line holds %q in clear: %s", name, line)
				}
			}
		})
	}
}
