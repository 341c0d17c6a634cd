package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/secret"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nectar-run/nectar/engine/enginetest"
	"github.com/nectar-run/nectar/server"
)

// Hostile probes of docs/security.md "Masking: records and logs". Each test
// sends what the probe sent and asserts the documented guarantee.

var hostilePipelines = map[string]string{
	"echo.yaml": `
name: echo
trigger:
  http: {path: /echo}
steps:
  - log: {message: "got {{ message }} q={{ metadata.request.query }}"}
  - set: {ok: true}
`,
}

func hostileStart(t *testing.T) (*env, *enginetest.Log) {
	logs := &enginetest.Log{}
	e := start(t, hostilePipelines, func(o *server.Options) {
		o.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	return e, logs
}

// TestHostileLogLinesMaskRequestCredentials: "Execution records … and log
// lines never hold a secret in clear … within one record, the request's own
// credentials (API key header, Basic password, bearer token, sensitive query
// parameters) … are masked as *** wherever they appear." The record masks
// them; the log line of a log step in the same execution prints them in
// clear (with a consumer's real API key on an auth: apikey trigger too).
func TestHostileLogLinesMaskRequestCredentials(t *testing.T) {
	e, logs := hostileStart(t)
	const key = "probe-api-key-0123456789abcdef"
	const pass = "probe-basic-password-0123456789"
	const qsecret = "probe-query-password-0123456789"
	cases := []struct {
		name, path, ctype, body, secret string
		hdr                             map[string]string
	}{
		{"api key header echoed in a text body", "/echo", "text/plain", "my key is " + key, key, map[string]string{"X-Api-Key": key}},
		{"api key header echoed in a JSON field", "/echo", "application/json", `{"note":"` + key + `"}`, key, map[string]string{"apikey": key}},
		{"Basic password echoed in a JSON field", "/echo", "application/json", `{"note":"pw ` + pass + `"}`, pass,
			map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("user:"+pass))}},
		{"sensitive query parameter echoed in the body", "/echo?password=" + qsecret, "text/plain", "body " + qsecret, qsecret, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hdr := map[string]string{"Content-Type": c.ctype}
			for k, v := range c.hdr {
				hdr[k] = v
			}
			code, h, body := e.do(t, "POST", c.path, c.body, hdr)
			if code != 200 {
				t.Fatalf("status %d: %s", code, body)
			}
			rec := e.record(t, h)
			b, _ := json.Marshal(rec)
			if strings.Contains(string(b), c.secret) {
				t.Errorf("the record holds the request's credential in clear")
			}
			for _, line := range strings.Split(logs.String(), "\n") {
				if strings.Contains(line, h.Get("X-Execution-Id")) && strings.Contains(line, c.secret) {
					t.Errorf("a log line of the execution holds the request's credential in clear (the record masks it): %s", line)
				}
			}
		})
	}
}

// TestHostileJSONSentAsFormVariants: "A form body whose first non-space byte
// is { is read as JSON when it is one JSON object (so its fields are masked
// by name)". A UTF-8 byte order mark before the { (what a JSON file saved
// by many Windows editors holds, sent with curl -d @file.json), or a JSON
// array of objects, is parsed as a form with one odd key holding the whole
// document, and the client_secret inside it is stored and logged in clear.
func TestHostileJSONSentAsFormVariants(t *testing.T) {
	e, logs := hostileStart(t)
	const secret = "probe-client-secret-0123456789"
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded"} // what curl -d sends
	for name, body := range map[string]string{
		"BOM before the object": "\ufeff" + `{"client_secret":"` + secret + `"}`,
		"JSON array of objects": `[{"client_secret":"` + secret + `"}]`,
	} {
		t.Run(name, func(t *testing.T) {
			code, h, resp := e.do(t, "POST", "/echo", body, form)
			if code == 400 {
				return // refused as the doc says for JSON that is not one object: fine
			}
			rec := e.record(t, h)
			b, _ := json.Marshal(rec)
			if strings.Contains(string(b), secret) {
				t.Errorf("status %d; the record holds the client_secret in clear: %s", code, b)
			}
			for _, line := range strings.Split(logs.String(), "\n") {
				if strings.Contains(line, h.Get("X-Execution-Id")) && strings.Contains(line, secret) {
					t.Errorf("a log line holds the client_secret in clear: %s", line)
				}
			}
			_ = resp
		})
	}
}

// TestHostileAccountErrorHidesTokenURL: "A caller whose execution failed
// because … an account failed gets a generic message with the execution id;
// hosts, users, file paths and token URLs stay in the log and the execution
// record". An anonymous caller of a pipeline whose client-credentials
// account cannot get a token is told the token URL, its host and port and
// the dial error.
func TestHostileAccountErrorHidesTokenURL(t *testing.T) {
	// A loopback port with nothing listening stands for the internal token
	// endpoint.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tokenURL := "http://" + ln.Addr().String() + "/internal/oauth/token"
	ln.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{}`)) }))
	defer api.Close()

	sealer, err := secret.NewSealer(secret.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	var am *accounts.Manager
	rt := &engine.Runtime{}
	e := start(t, map[string]string{"call.yaml": `
name: call
trigger:
  http: {path: /call}
steps:
  - rest: {url: "` + api.URL + `/x", account: crm, retries: 0}
`}, func(o *server.Options) {
		am = accounts.NewManager(o.Store, sealer)
		accounts.Install(rt, am)
		o.Runtime = rt
	})
	if err := am.Put(context.Background(), &accounts.Account{Name: "crm", Type: accounts.TypeClientCredentials,
		TokenURL: tokenURL, ClientID: "nectar", ClientSecret: secret.New("probe-client-secret-0123456789"), BaseURL: api.URL}); err != nil {
		t.Fatal(err)
	}
	code, _, body := e.do(t, "POST", "/call", `{}`, map[string]string{"Content-Type": "application/json"})
	if code < 500 {
		t.Fatalf("status %d: %s", code, body)
	}
	host := strings.TrimPrefix(tokenURL, "http://")
	host = host[:strings.IndexByte(host, '/')]
	for _, leak := range []string{tokenURL, "/internal/oauth/token", host} {
		if strings.Contains(body, leak) {
			t.Errorf("the anonymous caller is told %q: %s", leak, body)
		}
	}
}

// TestHostileIdleConnectionsTakeTheProbeReserve: docs/security.md says that
// beyond --max-connections "8 more connections are kept for GET /healthz and
// /readyz only" and that anyone who reaches the port may not exhaust the
// server's connections. Connections that send nothing took the reserved
// places as well as the served ones, so MaxConnections+ProbeReserve idle
// sockets (re-opened as they are cut off: ~6 connections a second against
// nectar serve --max-connections 20) kept /healthz answering 503.
//
// What is guaranteed now: on the main port, a reserved connection that
// sends nothing is closed after ProbeProof (1s), so the reserve frees
// itself and /healthz answers again (a flood reopening faster can still
// fill it); on the health listener (--health-addr), /healthz and /readyz
// answer whatever the flood holds on the main port.
func TestHostileIdleConnectionsTakeTheProbeReserve(t *testing.T) {
	e := start(t, map[string]string{"x.yaml": "name: x\ntrigger:\n  http: {path: /x}\nsteps:\n  - set: {ok: true}\n"}, nil)
	const max, reserve = 4, 2
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	get := func(t *testing.T, url string) (int, string) {
		t.Helper()
		resp, err := client.Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	t.Run("the main port cuts idle connections off the reserve", func(t *testing.T) {
		// The served connections stay for a minute (ReadHeaderTimeout), the
		// reserved ones could live as long (ProbeTimeout); the
		// reserved ones must be cut by the probe proof.
		addr := serveLimited(t, e, server.Limits{MaxConnections: max, ProbeReserve: reserve, ReadHeaderTimeout: time.Minute, ProbeTimeout: time.Minute})
		cut := make(chan struct{}, max+reserve)
		for range max + reserve {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			go func() {
				c.SetReadDeadline(time.Now().Add(time.Minute))
				if _, err := c.Read(make([]byte, 1)); err == io.EOF {
					cut <- struct{}{} // closed by the server
				}
			}()
		}
		for i := range reserve {
			select {
			case <-cut:
			case <-time.After(20 * time.Second): // a hang, not a timing assertion
				t.Fatalf("%d of the %d idle connections on the probe reserve were never cut off", reserve-i, reserve)
			}
		}
		if code, body := get(t, "http://"+addr+"/healthz"); code != http.StatusOK {
			t.Fatalf("/healthz after the idle connections on the reserve were cut, %d idle ones still served: %d %s", max, code, body)
		}
		select {
		case <-cut:
			t.Fatalf("more than the %d reserved idle connections were cut off", reserve)
		default:
		}
	})

	t.Run("the health listener answers whatever the main port holds", func(t *testing.T) {
		addr := serveLimited(t, e, server.Limits{MaxConnections: max, ProbeReserve: reserve})
		hln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		hs := e.srv.HealthServer()
		go hs.Serve(hln)
		t.Cleanup(func() { hs.Close() })
		// The attacker holds every place and reopens each as it is cut.
		done := make(chan struct{})
		t.Cleanup(func() { close(done) })
		held := make(chan struct{}, max+reserve)
		for range max + reserve {
			go func() {
				for {
					c, err := net.Dial("tcp", addr)
					if err != nil {
						return
					}
					select {
					case held <- struct{}{}:
					default:
					}
					select {
					case <-done:
						c.Close()
						return
					default:
					}
					io.Copy(io.Discard, c)
					c.Close()
				}
			}()
		}
		for range max + reserve {
			<-held
		}
		// Sent by hand: a connection beyond the cap and the reserve is
		// answered 503 as soon as it is accepted, which may be before
		// http.Transport has written its request, and the Transport then
		// fails the request ("Unsolicited response received on idle HTTP
		// channel") rather than return the 503.
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, _ = io.WriteString(c, "GET /x HTTP/1.1\r\nHost: "+addr+"\r\n\r\n") // the answer may have come already
		resp, body, err := answer(c, 20*time.Second)
		if err != nil {
			t.Fatalf("a request on the flooded main port: %v, want 503", err)
		}
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("a request on the flooded main port: %d %s, want 503", resp.StatusCode, body)
		}
		health := "http://" + hln.Addr().String()
		for _, path := range []string{"/healthz", "/readyz"} {
			if code, body := get(t, health+path); code != http.StatusOK {
				t.Errorf("%s on the health listener during the flood: %d %s", path, code, body)
			}
		}
		for _, path := range []string{"/x", "/api/pipelines", "/metrics"} {
			if code, body := get(t, health+path); code != http.StatusNotFound || !strings.Contains(body, "only GET /healthz") {
				t.Errorf("%s on the health listener: %d %s, want 404", path, code, body)
			}
		}
	})
}
