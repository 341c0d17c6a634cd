package accounts_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/accounts/accountstest"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/secret"
	"github.com/nectar-run/nectar/store/bolt"
)

// clock is a settable clock for token expiry.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	t      *testing.T
	dir    string
	key    []byte
	st     *bolt.Store
	m      *accounts.Manager
	clock  *clock
	fake   *accountstest.Provider
	sealer *secret.Sealer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), key: secret.GenerateKey(), clock: &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}}
	e.fake = accountstest.New(t)
	e.open()
	return e
}

// open opens (or reopens) the bbolt store and a new Manager over it, as a
// restarted process would.
func (e *env) open() {
	e.t.Helper()
	if e.st != nil {
		e.st.Close()
	}
	st, err := bolt.Open(e.dir, bolt.WithNoSync())
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { st.Close() })
	sealer, err := secret.NewSealer(e.key)
	if err != nil {
		e.t.Fatal(err)
	}
	e.st, e.sealer = st, sealer
	e.m = accounts.NewManager(st, sealer, accounts.WithClock(e.clock.now))
	if err := e.m.PutProvider(context.Background(), &accounts.Provider{
		Name: "fake", AuthURL: e.fake.URL + "/authorize", TokenURL: e.fake.URL + "/token", PKCE: true, Prompt: "consent",
	}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) create(a *accounts.Account) {
	e.t.Helper()
	if err := e.m.Put(context.Background(), a); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) clientCredentials(name string) *accounts.Account {
	return &accounts.Account{
		Name: name, Type: accounts.TypeClientCredentials, TokenURL: e.fake.URL + "/token",
		ClientID: accountstest.ClientID, ClientSecret: secret.New(accountstest.ClientSecret),
		Scopes: []string{"contacts.read", "contacts.write"}, BaseURL: e.fake.URL,
	}
}

func (e *env) oauth2(name string) *accounts.Account {
	return &accounts.Account{
		Name: name, Type: accounts.TypeOAuth2, Provider: "fake",
		ClientID: accountstest.ClientID, ClientSecret: secret.New(accountstest.ClientSecret),
		Scopes: []string{"drive"}, BaseURL: e.fake.URL,
	}
}

// authorize runs the authorization code flow, the test acting as the
// browser: it follows the consent URL, which redirects to the loopback
// callback.
func (e *env) authorize(name string) *accounts.AuthorizeResult {
	e.t.Helper()
	res, err := e.m.Authorize(context.Background(), name, accounts.AuthorizeOptions{
		Timeout: 10 * time.Second,
		Prompt: func(consent string) {
			resp, err := http.Get(consent)
			if err != nil {
				e.t.Errorf("browser: %v", err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				e.t.Errorf("callback answered %s", resp.Status)
			}
		},
	})
	if err != nil {
		e.t.Fatalf("Authorize: %v", err)
	}
	return res
}

// get calls the fake API through the account's round tripper.
func (e *env) get(name string) (int, string, error) {
	return e.do(name, http.MethodGet, nil)
}

func (e *env) do(name, method string, body io.Reader) (int, string, error) {
	rt, err := e.m.RoundTripper(name, http.DefaultTransport)
	if err != nil {
		return 0, "", err
	}
	req, _ := http.NewRequest(method, e.fake.URL+"/api/contacts", body)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

func TestAuthorizationCodeFlowWithPKCE(t *testing.T) {
	e := newEnv(t)
	e.create(e.oauth2("drive"))
	res := e.authorize("drive")
	if !res.Renewable || res.Warning != "" {
		t.Fatalf("result %+v; want renewable without warning", res)
	}
	form := e.fake.Forms[len(e.fake.Forms)-1]
	if form.Get("grant_type") != "authorization_code" || form.Get("code_verifier") == "" || !strings.HasPrefix(form.Get("redirect_uri"), "http://127.0.0.1:") {
		t.Fatalf("code exchange sent %v", form)
	}
	status, body, err := e.get("drive")
	if err != nil || status != 200 || !strings.Contains(body, `"ok":true`) {
		t.Fatalf("API call: %d %s %v", status, body, err)
	}
	if n := e.fake.TokenRequests(); n != 1 {
		t.Fatalf("%d token requests; want 1 (the code exchange)", n)
	}
	st, err := e.m.Status(context.Background(), "drive")
	if err != nil || !st.HasToken || !st.Renewable || st.NeedsReauth {
		t.Fatalf("status %+v %v", st, err)
	}
}

func TestRenewalBeforeExpiry(t *testing.T) {
	e := newEnv(t)
	e.create(e.clientCredentials("crm"))
	for i, step := range []struct {
		advance time.Duration
		want    int64
	}{
		{0, 1},                // first use fetches a token
		{30 * time.Minute, 1}, // still fresh
		{29 * time.Minute, 2}, // 59 min: within the renewal margin of a 1 h token
		{10 * time.Minute, 2},
	} {
		e.clock.advance(step.advance)
		if status, body, err := e.get("crm"); err != nil || status != 200 {
			t.Fatalf("call %d: %d %s %v", i, status, body, err)
		}
		if n := e.fake.TokenRequests(); n != step.want {
			t.Fatalf("call %d: %d token requests; want %d", i, n, step.want)
		}
	}
	form := e.fake.Forms[0]
	if form.Get("scope") != "contacts.read contacts.write" || form.Get("grant_type") != "client_credentials" {
		t.Fatalf("token request %v", form)
	}
}

func TestConcurrentUsersShareOneTokenRequest(t *testing.T) {
	e := newEnv(t)
	e.create(e.clientCredentials("crm"))
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			if status, _, err := e.get("crm"); err != nil || status != 200 {
				t.Errorf("%d %v", status, err)
			}
		})
	}
	wg.Wait()
	if n := e.fake.TokenRequests(); n != 1 {
		t.Fatalf("%d token requests for 64 concurrent users; want 1", n)
	}
}

func TestRotatedRefreshTokenSurvivesRestart(t *testing.T) {
	e := newEnv(t)
	e.fake.Set(func(p *accountstest.Provider) { p.Rotate = true })
	e.create(e.oauth2("ml"))
	e.authorize("ml")
	for restart := range 3 {
		// The access token dies at the server: the API answers 401, the
		// manager refreshes (rotating the refresh token) and retries.
		e.fake.ExpireAccessTokens()
		if status, body, err := e.get("ml"); err != nil || status != 200 {
			t.Fatalf("restart %d: %d %s %v", restart, status, body, err)
		}
		e.open() // a new process over the same bbolt file
	}
	if n := e.fake.TokenRequests(); n != 4 {
		t.Fatalf("%d token requests; want 4 (one exchange, three refreshes)", n)
	}
}

func TestInvalidGrantNeedsReauthorization(t *testing.T) {
	e := newEnv(t)
	e.create(e.oauth2("drive"))
	e.authorize("drive")
	e.fake.RevokeRefreshTokens()
	e.fake.ExpireAccessTokens()
	_, _, err := e.get("drive")
	var re *accounts.ReauthError
	if !errors.Is(err, accounts.ErrNeedsReauthorization) || !errors.As(err, &re) || !errors.Is(err, accounts.ErrRefreshRejected) {
		t.Fatalf("error %v; want a ReauthError wrapping ErrRefreshRejected", err)
	}
	if !strings.Contains(err.Error(), "nectar accounts authorize drive") {
		t.Fatalf("error does not name the fix: %v", err)
	}
	before := e.fake.TokenRequests()
	for range 3 {
		if _, _, err := e.get("drive"); !errors.Is(err, accounts.ErrNeedsReauthorization) {
			t.Fatalf("later use: %v", err)
		}
	}
	if n := e.fake.TokenRequests(); n != before {
		t.Fatalf("failing fast made %d more token requests", n-before)
	}
	e.open()
	if _, _, err := e.get("drive"); !errors.Is(err, accounts.ErrNeedsReauthorization) {
		t.Fatalf("after restart: %v", err)
	}
	st, _ := e.m.Status(context.Background(), "drive")
	if !st.NeedsReauth {
		t.Fatalf("status %+v", st)
	}
	e.authorize("drive")
	if status, _, err := e.get("drive"); err != nil || status != 200 {
		t.Fatalf("after authorizing again: %d %v", status, err)
	}
}

func TestNoRefreshToken(t *testing.T) {
	e := newEnv(t)
	e.fake.Set(func(p *accountstest.Provider) { p.NoRefreshToken = true })
	e.create(e.oauth2("drive"))
	res := e.authorize("drive")
	if res.Renewable || !strings.Contains(res.Warning, "revoke") || !strings.Contains(res.Warning, "nectar accounts authorize drive") {
		t.Fatalf("result %+v; want not renewable, with advice", res)
	}
	if status, _, err := e.get("drive"); err != nil || status != 200 {
		t.Fatalf("the access token works until it expires: %d %v", status, err)
	}
	e.clock.advance(2 * time.Hour)
	_, _, err := e.get("drive")
	if !errors.Is(err, accounts.ErrNeedsReauthorization) || !strings.Contains(err.Error(), "no refresh token") {
		t.Fatalf("after expiry: %v", err)
	}
}

func TestAuthErrorOverrides(t *testing.T) {
	tests := []struct {
		name     string
		refuseAs int
		rule     accounts.AuthErrorRule
		renewed  bool
	}{
		{"401 is an auth error by default", 401, accounts.AuthErrorRule{}, true},
		{"403 is not, by default", 403, accounts.AuthErrorRule{}, false},
		{"403 with a status override", 403, accounts.AuthErrorRule{Status: 403}, true},
		{"200 with an error body and a path override", 200, accounts.AuthErrorRule{Path: "error.code", Values: []string{"601", "602"}}, true},
		{"200 with an error body and other values", 200, accounts.AuthErrorRule{Path: "error.code", Values: []string{"401"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.fake.Set(func(p *accountstest.Provider) { p.RefuseAs = tt.refuseAs })
			a := e.clientCredentials("crm")
			a.AuthError = tt.rule
			e.create(a)
			if status, _, err := e.get("crm"); err != nil || status != 200 {
				t.Fatalf("first call: %d %v", status, err)
			}
			e.fake.ExpireAccessTokens()
			status, body, err := e.get("crm")
			if err != nil {
				t.Fatal(err)
			}
			renewed := e.fake.TokenRequests() == 2
			if renewed != tt.renewed {
				t.Fatalf("renewed %v; want %v (answer %d %s)", renewed, tt.renewed, status, body)
			}
			if tt.renewed && (status != 200 || !strings.Contains(body, `"ok":true`)) {
				t.Fatalf("retried request answered %d %s", status, body)
			}
		})
	}
}

func TestRetryResendsBody(t *testing.T) {
	e := newEnv(t)
	e.create(e.clientCredentials("crm"))
	e.get("crm")
	e.fake.ExpireAccessTokens()
	// A body without GetBody is buffered so the retry can send it again.
	body := io.MultiReader(strings.NewReader(`{"name":`), strings.NewReader(`"Ada"}`))
	status, out, err := e.do("crm", http.MethodPost, body)
	if err != nil || status != 200 || !strings.Contains(out, `"body":{"name":"Ada"}`) {
		t.Fatalf("%d %s %v", status, out, err)
	}
}

func TestStaticAccounts(t *testing.T) {
	var got *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Clone(context.Background()) }))
	t.Cleanup(srv.Close)
	tests := []struct {
		name  string
		a     accounts.Account
		check func(r *http.Request) bool
	}{
		{"basic", accounts.Account{Type: "basic", Username: "ada", Password: secret.New("pw-1")},
			func(r *http.Request) bool { u, p, ok := r.BasicAuth(); return ok && u == "ada" && p == "pw-1" }},
		{"bearer", accounts.Account{Type: "bearer", Token: secret.New("tok-1")},
			func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer tok-1" }},
		{"api key in a header", accounts.Account{Type: "api-key", KeyName: "X-Api-Key", APIKey: secret.New("k-1")},
			func(r *http.Request) bool { return r.Header.Get("X-Api-Key") == "k-1" }},
		{"api key in the query", accounts.Account{Type: "api-key", KeyName: "apikey", KeyIn: "query", APIKey: secret.New("k-2")},
			func(r *http.Request) bool {
				return r.URL.Query().Get("apikey") == "k-2" && r.URL.Query().Get("q") == "1"
			}},
		{"custom header", accounts.Account{Type: "custom-header", HeaderName: "X-Token", HeaderValue: secret.New("h-1")},
			func(r *http.Request) bool { return r.Header.Get("X-Token") == "h-1" }},
	}
	e := newEnv(t)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.a
			a.Name = fmt.Sprintf("static%d", i)
			a.BaseURL = srv.URL
			e.create(&a)
			rt, _ := e.m.RoundTripper(a.Name, nil)
			req, _ := http.NewRequest("GET", srv.URL+"/x?q=1", nil)
			resp, err := (&http.Client{Transport: rt}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if !tt.check(got) {
				t.Fatalf("request carried %v %v", got.Header, got.URL)
			}
			if req.Header.Get("Authorization") != "" || req.URL.RawQuery != "q=1" {
				t.Fatal("the caller's request was modified")
			}
		})
	}
}

func TestCredentialsDroppedOnRedirectToAnotherHost(t *testing.T) {
	var other *http.Request
	b := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { other = r.Clone(context.Background()) }))
	t.Cleanup(b.Close)
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, b.URL+"/landing", http.StatusFound)
	}))
	t.Cleanup(a.Close)
	e := newEnv(t)
	e.create(&accounts.Account{Name: "k", Type: "api-key", KeyName: "key", KeyIn: "query", APIKey: secret.New("qk-1"), BaseURL: a.URL})
	e.create(&accounts.Account{Name: "b", Type: "bearer", Token: secret.New("bt-1"), BaseURL: a.URL})
	for _, name := range []string{"k", "b"} {
		rt, _ := e.m.RoundTripper(name, nil)
		resp, err := (&http.Client{Transport: rt}).Get(a.URL + "/start")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if other == nil || other.URL.Query().Get("key") != "" || other.Header.Get("Authorization") != "" {
			t.Fatalf("%s: the other host received credentials: %v %v", name, other.URL, other.Header)
		}
	}
}

func TestUnknownAccount(t *testing.T) {
	e := newEnv(t)
	_, _, err := e.get("nope")
	if !errors.Is(err, accounts.ErrUnknownAccount) {
		t.Fatalf("%v", err)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		a       accounts.Account
		wantErr string
	}{
		{"no type", accounts.Account{Name: "a"}, "type is required"},
		{"bad name", accounts.Account{Name: "a b", Type: "bearer"}, "account name"},
		{"bearer without token", accounts.Account{Name: "a", Type: "bearer"}, "token is required"},
		{"client credentials without token url", accounts.Account{Name: "a", Type: "oauth2-client-credentials", ClientID: "x"}, "token_url is required"},
		{"oauth2 without provider", accounts.Account{Name: "a", Type: "oauth2", ClientID: "x"}, "provider"},
		{"redirect uri not loopback", accounts.Account{Name: "a", Type: "oauth2", ClientID: "x", Provider: "google", RedirectURI: "https://example.com/cb"}, "loopback"},
		{"api key in a cookie", accounts.Account{Name: "a", Type: "api-key", KeyName: "k", KeyIn: "cookie", APIKey: secret.New("x")}, "key_in"},
		{"valid", accounts.Account{Name: "a", Type: "api-key", KeyName: "k", APIKey: secret.New("x")}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.a.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, accounts.ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v; want %q", err, tt.wantErr)
			}
		})
	}
}

func TestImportAndRotateKey(t *testing.T) {
	e := newEnv(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "secret.txt"), []byte(accountstest.ClientSecret+"\n"), 0o600)
	t.Setenv("CRM_TOKEN_URL", e.fake.URL+"/token")
	f, err := accounts.ParseFile([]byte(`
accounts:
  - name: crm
    type: oauth2-client-credentials
    token_url: ${env:CRM_TOKEN_URL}
    client_id: nectar-client
    client_secret: ${file:secret.txt}
    scopes: [a, b]
    token_params: {audience: https://api.example}
    allowed_hosts: ["127.0.0.1"]
`), dir)
	if err != nil {
		t.Fatal(err)
	}
	names, err := e.m.Import(context.Background(), f)
	if err != nil || len(names) != 1 {
		t.Fatalf("Import: %v %v", names, err)
	}
	if status, _, err := e.get("crm"); err != nil || status != 200 {
		t.Fatalf("imported account: %d %v", status, err)
	}
	if got := e.fake.Forms[0].Get("audience"); got != "https://api.example" {
		t.Fatalf("audience %q", got)
	}
	if _, err := accounts.ParseFile([]byte("accounts:\n  - name: x\n    colour: red\n"), dir); err == nil || !strings.Contains(err.Error(), "colour") {
		t.Fatalf("unknown field: %v", err)
	}
	if _, err := accounts.ParseFile([]byte("accounts:\n  - name: x\n    token: ${env:NECTAR_TEST_UNSET}\n"), dir); err == nil || !strings.Contains(err.Error(), "NECTAR_TEST_UNSET") {
		t.Fatalf("unset variable: %v", err)
	}

	next, _ := secret.NewSealer(secret.GenerateKey())
	n, err := accounts.RotateKey(context.Background(), e.st, e.sealer, next)
	if err != nil || n != 3 {
		t.Fatalf("RotateKey wrote %d, %v; want 3 (provider, account and token)", n, err)
	}
	m2 := accounts.NewManager(e.st, next, accounts.WithClock(e.clock.now))
	if a, err := m2.Get(context.Background(), "crm"); err != nil || a.ClientSecret.Reveal() != accountstest.ClientSecret {
		t.Fatalf("after rotation: %v", err)
	}
	if _, err := e.m.Get(context.Background(), "crm"); !errors.Is(err, secret.ErrWrongKey) {
		t.Fatalf("the old key still opens the account: %v", err)
	}
	if n, err := accounts.RotateKey(context.Background(), e.st, e.sealer, next); err != nil || n != 0 {
		t.Fatalf("a second rotation wrote %d, %v", n, err)
	}
}

// TestSecretsNeverInClear checks the bbolt file, errors and printed
// accounts for every secret: the client secret, and each access and refresh
// token the fake issued.
func TestSecretsNeverInClear(t *testing.T) {
	e := newEnv(t)
	e.fake.Set(func(p *accountstest.Provider) { p.Rotate = true })
	e.create(e.clientCredentials("crm"))
	e.create(e.oauth2("drive"))
	e.create(&accounts.Account{Name: "basic", Type: "basic", Username: "u", Password: secret.New("basic-password-Qw3"), BaseURL: e.fake.URL})
	e.authorize("drive")
	var outputs []string
	for range 2 {
		e.fake.ExpireAccessTokens()
		for _, n := range []string{"crm", "drive"} {
			_, _, err := e.get(n)
			outputs = append(outputs, fmt.Sprint(err))
		}
	}
	e.fake.RevokeRefreshTokens()
	e.fake.ExpireAccessTokens()
	_, _, err := e.get("drive")
	outputs = append(outputs, fmt.Sprint(err))
	list, _ := e.m.List(context.Background())
	for _, a := range list {
		outputs = append(outputs, fmt.Sprintf("%v %+v %#v", a, a, a))
	}
	e.st.Close()
	file, err := os.ReadFile(filepath.Join(e.dir, bolt.FileName))
	if err != nil {
		t.Fatal(err)
	}
	secrets := append(e.fake.IssuedSecrets(), accountstest.ClientSecret, "basic-password-Qw3")
	if len(secrets) < 6 {
		t.Fatalf("only %d secrets issued", len(secrets))
	}
	for _, s := range secrets {
		if bytes.Contains(file, []byte(s)) {
			t.Errorf("the bbolt file holds %q in clear", s)
		}
		for _, out := range outputs {
			if strings.Contains(out, s) {
				t.Errorf("output shows %q: %s", s, out)
			}
		}
	}
}

// TestAuthorizedByAnotherProcess: the account is marked as needing
// authorization; a replica sharing the store authorizes it; this one
// notices within the account TTL, without asking the provider meanwhile.
func TestAuthorizedByAnotherProcess(t *testing.T) {
	e := newEnv(t)
	e.create(e.oauth2("drive"))
	e.authorize("drive")
	first := &env{t: t, m: accounts.NewManager(e.st, e.sealer, accounts.WithClock(e.clock.now)), fake: e.fake}
	e.fake.RevokeRefreshTokens()
	e.fake.ExpireAccessTokens()
	if _, _, err := first.get("drive"); !errors.Is(err, accounts.ErrRefreshRejected) {
		t.Fatalf("after revocation: %v", err)
	}
	e.authorize("drive") // the other process
	before := e.fake.TokenRequests()
	if _, _, err := first.get("drive"); !errors.Is(err, accounts.ErrNeedsReauthorization) {
		t.Fatalf("within the TTL the mark holds: %v", err)
	}
	e.clock.advance(31 * time.Second)
	if status, _, err := first.get("drive"); err != nil || status != 200 {
		t.Fatalf("after another process authorized: %d %v", status, err)
	}
	if n := e.fake.TokenRequests() - before; n != 0 {
		t.Fatalf("%d token requests; the stored token should be used", n)
	}
}

// TestParseFileErrorsAreMatchable: a ${file:…} reference to a missing file
// is ErrInvalid and keeps its cause (errors.Is sees fs.ErrNotExist).
func TestParseFileErrorsAreMatchable(t *testing.T) {
	_, err := accounts.ParseFile([]byte("accounts:\n  - name: x\n    token: ${file:missing.txt}\n"), t.TempDir())
	if !errors.Is(err, accounts.ErrInvalid) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v, want ErrInvalid wrapping fs.ErrNotExist", err)
	}
}

// TestHeaderScope reads what {{ account.NAME.field }} sees for each type:
// the main credential under its own field and under value, and no other
// type's secret field.
func TestHeaderScope(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct {
		a     accounts.Account
		field string
		want  string
	}{
		{accounts.Account{Name: "b", Type: "basic", Username: "ada", Password: secret.New("pw-1")}, "password", "pw-1"},
		{accounts.Account{Name: "k", Type: "api-key", KeyName: "X-Api-Key", APIKey: secret.New("k-1")}, "api_key", "k-1"},
		{accounts.Account{Name: "h", Type: "custom-header", HeaderName: "X-Token", HeaderValue: secret.New("h-1")}, "header_value", "h-1"},
		{accounts.Account{Name: "t", Type: "bearer", Token: secret.New("tok-1")}, "token", "tok-1"},
		{*e.clientCredentials("cc"), "access_token", ""},
	} {
		if tt.a.BaseURL == "" {
			tt.a.BaseURL = "http://127.0.0.1:1"
		}
		e.create(&tt.a)
		v, err := e.m.HeaderScope(context.Background(), tt.a.Name)
		if err != nil {
			t.Fatalf("%s: %v", tt.a.Type, err)
		}
		o := v.(*value.Object)
		main, _ := o.Get("value")
		got, _ := o.Get(tt.field)
		if main == nil || main == "" || got != main || (tt.want != "" && got != tt.want) {
			t.Errorf("%s: %s = %v, value = %v, want %q in both", tt.a.Type, tt.field, got, main, tt.want)
		}
		for _, other := range []string{"password", "api_key", "header_value", "token"} {
			if _, ok := o.Get(other); ok && other != tt.field && !(tt.field == "access_token" && other == "token") {
				t.Errorf("%s: the scope has %s", tt.a.Type, other)
			}
		}
	}
}
