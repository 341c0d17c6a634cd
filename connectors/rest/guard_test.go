package rest_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/accounts/accountstest"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/secret"
)

// recorder is a loopback server that keeps every request it receives.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []*http.Request
}

func newRecorder(t testing.TB, h http.HandlerFunc) *recorder {
	r := &recorder{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.reqs = append(r.reqs, req.Clone(context.Background()))
		r.mu.Unlock()
		if h != nil {
			h(w, req)
		}
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *recorder) requests() []*http.Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*http.Request(nil), r.reqs...)
}

// hostPort is the host:port of a test server's URL.
func hostPort(t testing.TB, raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Host
}

// secretsIn reports which of the secrets appear anywhere in the request's
// headers, URL or query.
func secretsIn(r *http.Request, secrets ...string) []string {
	var found []string
	all := r.URL.String()
	for k, vs := range r.Header {
		all += "\n" + k + ": " + strings.Join(vs, ",")
	}
	for _, s := range secrets {
		if strings.Contains(all, s) {
			found = append(found, s)
		}
	}
	return found
}

// The secrets of the accounts below; a test fails when one reaches a host
// it does not belong to.
const (
	bearerTok  = "bearer-secret-Q7"
	apiKeyVal  = "apikey-secret-Q7"
	passwd     = "password-secret-Q7"
	headerVal  = "header-secret-Q7"
	basicCreds = "dXNlcjpwYXNzd29yZC1zZWNyZXQtUTc=" // base64 of user:password-secret-Q7
)

var staticSecrets = []string{bearerTok, apiKeyVal, passwd, headerVal, basicCreds}

// staticAccounts are one account of each static type, bound to base.
func staticAccounts(base string) []*accounts.Account {
	return []*accounts.Account{
		{Name: "bearer", Type: accounts.TypeBearer, Token: secret.New(bearerTok), BaseURL: base},
		{Name: "apikeyheader", Type: accounts.TypeAPIKey, KeyName: "X-Api-Key", APIKey: secret.New(apiKeyVal), BaseURL: base},
		{Name: "apikeyquery", Type: accounts.TypeAPIKey, KeyName: "api_key", KeyIn: "query", APIKey: secret.New(apiKeyVal), BaseURL: base},
		{Name: "basic", Type: accounts.TypeBasic, Username: "user", Password: secret.New(passwd), BaseURL: base},
		{Name: "customheader", Type: accounts.TypeCustomHeader, HeaderName: "X-Secret", HeaderValue: secret.New(headerVal), BaseURL: base},
	}
}

// TestAccountCredentialsGoOnlyToTheAccountsHosts is #19.1: a trigger
// pipeline builds its URL from the message, and an unauthenticated caller
// points it at another host. The request must fail before any credential
// leaves, naming the host and the setting; the account's own host still
// gets the credential.
func TestAccountCredentialsGoOnlyToTheAccountsHosts(t *testing.T) {
	api := newRecorder(t, nil)
	elsewhere := newRecorder(t, nil)
	fake := accountstest.New(t)
	rt, m, _ := runtime(t)
	list := staticAccounts(api.URL)
	for _, a := range list {
		if err := m.Put(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	}
	fakeAccount(t, m, fake, "cc2", func(a *accounts.Account) { a.BaseURL, a.AllowedHosts = fake.URL+"/api", nil })
	names := []string{"cc2"}
	for _, a := range list {
		names = append(names, a.Name)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			p := load(t, `name: t
steps:
  - rest: {url: "{{ message.callback_url }}", account: `+name+`, retries: 0}
`)
			_, err := run(t, p, rt, `{"callback_url":"`+elsewhere.URL+`/exfil"}`)
			e := engine.AsError(err)
			if e == nil || !strings.Contains(e.Message, hostPort(t, elsewhere.URL)) || !strings.Contains(e.Message, "allowed_hosts") || !strings.Contains(e.Message, "account "+name) {
				t.Fatalf("error %v; want a refusal naming the host and allowed_hosts", err)
			}
			if e.Code != http.StatusForbidden {
				t.Fatalf("code %d; want 403", e.Code)
			}
			for _, s := range staticSecrets {
				if strings.Contains(err.Error(), s) {
					t.Fatalf("the error quotes a secret: %v", err)
				}
			}
		})
	}
	if got := elsewhere.requests(); len(got) != 0 {
		t.Fatalf("elsewhere received %d requests: %v", len(got), got[0].Header)
	}
	if fake.APIRequests() != 0 {
		t.Fatalf("the API got %d requests", fake.APIRequests())
	}

	// The account's own host still gets its credential.
	for _, a := range list {
		p := load(t, `name: t
steps:
  - rest: {url: "{{ message.url }}", account: `+a.Name+`}
`)
		if _, err := run(t, p, rt, `{"url":"`+api.URL+`/ok"}`); err != nil {
			t.Fatalf("%s to its own host: %v", a.Name, err)
		}
	}
	got := api.requests()
	if len(got) != len(list) {
		t.Fatalf("the API got %d requests, want %d", len(got), len(list))
	}
	for i, r := range got {
		if len(secretsIn(r, staticSecrets...)) == 0 {
			t.Fatalf("%s: the account's own host got no credential: %v %v", list[i].Name, r.URL, r.Header)
		}
	}
}

// TestAccountWithoutHostsIsRefused: an account with neither base_url,
// allowed_hosts nor a provider has no host its credentials may go to.
func TestAccountWithoutHostsIsRefused(t *testing.T) {
	api := newRecorder(t, nil)
	rt, m, _ := runtime(t)
	if err := m.Put(context.Background(), &accounts.Account{Name: "nohosts", Type: accounts.TypeBearer, Token: secret.New(bearerTok)}); err != nil {
		t.Fatal(err)
	}
	p := load(t, `name: t
steps:
  - rest: {url: "`+api.URL+`", account: nohosts}
`)
	_, err := run(t, p, rt, `{}`)
	if err == nil || !strings.Contains(err.Error(), "account nohosts") || !strings.Contains(err.Error(), "set allowed_hosts") || !errors.Is(err, accounts.ErrHostNotAllowed) {
		t.Fatalf("error %v; want a refusal telling to set allowed_hosts", err)
	}
	if n := len(api.requests()); n != 0 {
		t.Fatalf("the server got %d requests", n)
	}
}

// TestAccountFieldsInHeadersGoOnlyToTheAccountsHosts: a header template
// that reads {{ account.NAME.value }} carries the secret as surely as the
// account option does, so the same rule applies.
func TestAccountFieldsInHeadersGoOnlyToTheAccountsHosts(t *testing.T) {
	api := newRecorder(t, nil)
	elsewhere := newRecorder(t, nil)
	rt, m, _ := runtime(t)
	if err := m.Put(context.Background(), &accounts.Account{Name: "c", Type: accounts.TypeCustomHeader, HeaderName: "X-Secret", HeaderValue: secret.New(headerVal), BaseURL: api.URL}); err != nil {
		t.Fatal(err)
	}
	p := load(t, `name: t
steps:
  - rest:
      url: "{{ message.callback_url }}"
      headers: {X-Secret: "{{ account.c.value }}"}
`)
	_, err := run(t, p, rt, `{"callback_url":"`+elsewhere.URL+`/exfil"}`)
	if err == nil || !strings.Contains(err.Error(), hostPort(t, elsewhere.URL)) || !strings.Contains(err.Error(), "allowed_hosts") {
		t.Fatalf("error %v; want a refusal", err)
	}
	if n := len(elsewhere.requests()); n != 0 {
		t.Fatalf("elsewhere got %d requests", n)
	}
	if _, err := run(t, p, rt, `{"callback_url":"`+api.URL+`/ok"}`); err != nil {
		t.Fatal(err)
	}
	if got := api.requests(); len(got) != 1 || got[0].Header.Get("X-Secret") != headerVal {
		t.Fatalf("the account's host got %v", got)
	}
}

// TestPaginationStaysOnTheAccountsHosts is #19.2: a next-page URL (a body
// field or a Link header) pointing at another host must not receive the
// token; the listing fails instead.
func TestPaginationStaysOnTheAccountsHosts(t *testing.T) {
	elsewhere := newRecorder(t, nil)
	api := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Link", `<`+elsewhere.URL+`/page2>; rel="next"`)
		w.Write([]byte(`{"items":[1],"next":"` + elsewhere.URL + `/page2"}`))
	})
	rt, m, _ := runtime(t)
	if err := m.Put(context.Background(), &accounts.Account{Name: "b", Type: accounts.TypeBearer, Token: secret.New(bearerTok), BaseURL: api.URL}); err != nil {
		t.Fatal(err)
	}
	for _, pg := range []string{"{type: next_url, next_path: next, items_path: items}", "{type: link_header, items_path: items}"} {
		t.Run(pg, func(t *testing.T) {
			p := load(t, `name: t
steps:
  - rest: {url: "`+api.URL+`/page1", account: b, retries: 0, pagination: `+pg+`}
`)
			_, err := run(t, p, rt, `{}`)
			if err == nil || !strings.Contains(err.Error(), hostPort(t, elsewhere.URL)) || !strings.Contains(err.Error(), "allowed_hosts") {
				t.Fatalf("error %v; want a refusal of the next page", err)
			}
		})
	}
	for _, r := range elsewhere.requests() {
		if s := secretsIn(r, bearerTok); len(s) > 0 {
			t.Fatalf("the other host got the token: %v", r.Header)
		}
	}
	if n := len(elsewhere.requests()); n != 0 {
		t.Fatalf("the other host got %d requests", n)
	}
}

// dualListener serves TLS and plain HTTP on one port, telling them apart
// by the first byte (a TLS handshake record starts with 0x16), so that
// https://127.0.0.1:P and http://127.0.0.1:P are the same host and port.
type dualListener struct {
	net.Listener
	cfg *tls.Config
}

type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(b []byte) (int, error) { return c.r.Read(b) }

func (l *dualListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	br := bufio.NewReader(c)
	first, err := br.Peek(1)
	pc := &peekedConn{Conn: c, r: br}
	if err == nil && first[0] == 0x16 {
		return tls.Server(pc, l.cfg), nil
	}
	return pc, nil
}

// TestCredentialsDroppedOnSchemeDowngrade is #12.10: an https API answers
// with a redirect to http:// on the same host and port. Nothing secret may
// travel in clear text: not the account's credential (any type), not an
// account field in a header, not a Cookie or Authorization the step sets.
func TestCredentialsDroppedOnSchemeDowngrade(t *testing.T) {
	var mu sync.Mutex
	var plain []*http.Request
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil {
			http.Redirect(w, r, "http://"+r.Host+"/landing", http.StatusFound)
			return
		}
		mu.Lock()
		plain = append(plain, r.Clone(context.Background()))
		mu.Unlock()
	}))
	srv.StartTLS() // builds srv.TLS with the test certificate
	tlsCfg := srv.TLS.Clone()
	tlsCfg.NextProtos = []string{"http/1.1"}
	srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Config.Handler}
	go hs.Serve(&dualListener{Listener: ln, cfg: tlsCfg})
	t.Cleanup(func() { hs.Close() })
	base := "https://" + ln.Addr().String()

	rt, m, _ := runtime(t)
	list := staticAccounts(base)
	for _, a := range list {
		if err := m.Put(context.Background(), a); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range list {
		t.Run(a.Name, func(t *testing.T) {
			mu.Lock()
			plain = nil
			mu.Unlock()
			p := load(t, `name: t
steps:
  - rest:
      url: "`+base+`/start"
      account: `+a.Name+`
      insecure_skip_verify: true
      headers: {X-Copy: "{{ account.customheader.value }}", Cookie: "session=cookie-secret-Q7", X-Plain: kept}
`)
			if _, err := run(t, p, rt, `{}`); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(plain) != 1 {
				t.Fatalf("the plain-http landing got %d requests, want 1", len(plain))
			}
			r := plain[0]
			if s := secretsIn(r, append(staticSecrets, "cookie-secret-Q7")...); len(s) > 0 {
				t.Fatalf("sent in clear text after the downgrade: %v (%v %v)", s, r.URL, r.Header)
			}
			if r.Header.Get("X-Plain") != "kept" {
				t.Fatalf("the plain header was dropped too: %v", r.Header)
			}
		})
	}
}

// TestMultipartFilesStayInTheWorkDir is #12.4: a pipeline takes the path
// of a multipart file from its input; absolute paths, ../ paths and
// /proc/self/environ must not be read and uploaded.
func TestMultipartFilesStayInTheWorkDir(t *testing.T) {
	srv := newRecorder(t, nil)
	key := filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(key, []byte("master-key-secret-Q7"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The working directory is a new directory under os.TempDir().
	rel, err := filepath.Rel(os.TempDir(), key)
	if err != nil {
		t.Fatal(err)
	}
	p := load(t, `name: t
steps:
  - rest:
      method: POST
      url: "`+srv.URL+`"
      body_type: multipart
      body:
        files: {upload: "{{ message.path }}"}
`)
	for _, path := range []string{key, "../" + rel, "../../../../../../../../" + key, "/proc/self/environ"} {
		t.Run(path, func(t *testing.T) {
			_, err := run(t, p, nil, `{"path":"`+path+`"}`)
			if err == nil || !strings.Contains(err.Error(), "outside the execution's working directory") || !strings.Contains(err.Error(), "allow_any_path") {
				t.Fatalf("error %v; want a refusal", err)
			}
		})
	}
	if n := len(srv.requests()); n != 0 {
		t.Fatalf("the server got %d uploads", n)
	}
}

// TestAllowedHostsWidenTheAccountsHosts: allowed_hosts adds hosts (here
// localhost on the second server's port); the rule compares host names, so
// the same server reached as 127.0.0.1 is still refused.
func TestAllowedHostsWidenTheAccountsHosts(t *testing.T) {
	api := newRecorder(t, nil)
	second := newRecorder(t, nil)
	_, port, _ := net.SplitHostPort(hostPort(t, second.URL))
	rt, m, _ := runtime(t)
	if err := m.Put(context.Background(), &accounts.Account{Name: "b", Type: accounts.TypeBearer, Token: secret.New(bearerTok),
		BaseURL: api.URL, AllowedHosts: []string{"localhost:" + port}}); err != nil {
		t.Fatal(err)
	}
	p := load(t, `name: t
steps:
  - rest: {url: "{{ message.url }}", account: b, retries: 0}
`)
	if _, err := run(t, p, rt, `{"url":"http://localhost:`+port+`/ok"}`); err != nil {
		t.Fatal(err)
	}
	if got := second.requests(); len(got) != 1 || got[0].Header.Get("Authorization") != "Bearer "+bearerTok {
		t.Fatalf("the allowed host got %v", got)
	}
	_, err := run(t, p, rt, `{"url":"http://127.0.0.1:`+port+`/ok"}`)
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:"+port) || !strings.Contains(err.Error(), "localhost:"+port) {
		t.Fatalf("error %v; want a refusal listing the allowed hosts", err)
	}
	if n := len(second.requests()); n != 1 {
		t.Fatalf("the second server got %d requests, want 1", n)
	}
}
