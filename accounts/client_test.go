package accounts_test

// Tests of Nectar as an OAuth2 client against a hostile or broken token
// endpoint (issue #19). The fake provider is scripted through its Override
// and TokenHook fields; a second loopback server, the collector, stands for
// "elsewhere": nothing secret may ever reach it.

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/accounts/accountstest"
	"github.com/nectar-run/nectar/secret"
)

// collector records every request it receives, with headers and body.
type collector struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []string
}

func newCollector(t *testing.T) *collector {
	c := &collector{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		c.reqs = append(c.reqs, fmt.Sprintf("%s %s %v %s", r.Method, r.URL, r.Header, b))
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token":"collected","token_type":"bearer","expires_in":3600}`)
	}))
	t.Cleanup(c.Close)
	return c
}

func (c *collector) received() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.reqs...)
}

func (c *collector) host() string { u, _ := url.Parse(c.URL); return u.Host }

// redirector answers every request with status to the collector.
func redirector(t *testing.T, status int, to string) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, to+"/steal", status)
	}))
	t.Cleanup(s.Close)
	return s
}

func TestTokenRequestsDoNotFollowRedirects(t *testing.T) {
	for _, status := range []int{http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		for _, mode := range []string{"body", "basic", "refresh"} {
			t.Run(fmt.Sprintf("%d %s", status, mode), func(t *testing.T) {
				e := newEnv(t)
				col := newCollector(t)
				red := redirector(t, status, col.URL)
				name := "crm"
				switch mode {
				case "refresh":
					name = "drive"
					if err := e.m.PutProvider(context.Background(), &accounts.Provider{Name: "redir", AuthURL: e.fake.URL + "/authorize",
						TokenURL: e.fake.URL + "/token", RefreshURL: red.URL + "/token", PKCE: true}); err != nil {
						t.Fatal(err)
					}
					a := e.oauth2(name)
					a.Provider = "redir"
					e.create(a)
					e.authorize(name)
					e.clock.advance(2 * time.Hour)
				default:
					a := e.clientCredentials(name)
					a.TokenURL = red.URL + "/token"
					a.ClientAuth = mode
					e.create(a)
				}
				_, _, err := e.get(name)
				if !errors.Is(err, accounts.ErrTokenRequest) || !strings.Contains(err.Error(), fmt.Sprint(status)) || !strings.Contains(err.Error(), col.host()) {
					t.Fatalf("error %v; want a token request error naming %d and %s", err, status, col.host())
				}
				if got := col.received(); len(got) != 0 {
					t.Fatalf("the redirect target received %q", got)
				}
			})
		}
	}
}

// TestUnsealedProviderRecordRefused: someone who can write the data
// directory, without the master key, points a provider's refresh_url
// elsewhere.
func TestUnsealedProviderRecordRefused(t *testing.T) {
	e := newEnv(t)
	col := newCollector(t)
	e.create(e.oauth2("drive"))
	e.authorize("drive")
	forged, _ := json.Marshal(&accounts.Provider{Name: "fake", AuthURL: e.fake.URL + "/authorize", TokenURL: e.fake.URL + "/token",
		RefreshURL: col.URL + "/token", PKCE: true})
	if _, err := e.st.Put(context.Background(), "providers", "fake", forged); err != nil {
		t.Fatal(err)
	}
	e.clock.advance(2 * time.Hour)
	_, _, err := e.get("drive")
	if err == nil || !strings.Contains(err.Error(), "not sealed") || !strings.Contains(err.Error(), "providers add fake") {
		t.Fatalf("error %v; want the unsealed provider refused with the fix", err)
	}
	if got := col.received(); len(got) != 0 {
		t.Fatalf("the forged refresh_url received %q", got)
	}
	list, err := e.m.Providers(context.Background())
	if err != nil {
		t.Fatalf("Providers: %v", err)
	}
	for _, p := range list {
		if p.Name == "fake" && !strings.Contains(p.Problem(), "not sealed") {
			t.Fatalf("providers list does not flag the unsealed record: %+v", p)
		}
	}
	next, _ := secret.NewSealer(secret.GenerateKey())
	if _, err := accounts.RotateKey(context.Background(), e.st, e.sealer, next); err == nil || !strings.Contains(err.Error(), "not sealed") {
		t.Fatalf("RotateKey over an unsealed provider: %v; want it refused with the fix", err)
	}
	// The migration: the administrator adds the provider again.
	e.open()
	e.clock.advance(time.Minute)
	if status, _, err := e.get("drive"); err != nil || status != 200 {
		t.Fatalf("after re-adding the provider: %d %v", status, err)
	}
}

// TestRefreshTokenBoundToTokenEndpoint: the provider's token URL changes
// (here legitimately, with the key); the stored refresh token and the client
// secret are not sent to the new URL until the account is authorized again.
func TestRefreshTokenBoundToTokenEndpoint(t *testing.T) {
	for _, field := range []string{"token_url", "refresh_url"} {
		t.Run(field, func(t *testing.T) {
			e := newEnv(t)
			col := newCollector(t)
			e.create(e.oauth2("drive"))
			e.authorize("drive")
			p := &accounts.Provider{Name: "fake", AuthURL: e.fake.URL + "/authorize", TokenURL: e.fake.URL + "/token", PKCE: true}
			if field == "token_url" {
				p.TokenURL = col.URL + "/token"
			} else {
				p.RefreshURL = col.URL + "/token"
			}
			if err := e.m.PutProvider(context.Background(), p); err != nil {
				t.Fatal(err)
			}
			e.clock.advance(2 * time.Hour)
			_, _, err := e.get("drive")
			if !errors.Is(err, accounts.ErrNeedsReauthorization) || !strings.Contains(err.Error(), "token endpoint") {
				t.Fatalf("error %v; want a reauthorization naming the token endpoint", err)
			}
			if got := col.received(); len(got) != 0 {
				t.Fatalf("the new token endpoint received %q", got)
			}
		})
	}
}

func TestHugeExpiresIn(t *testing.T) {
	for _, raw := range []string{"1e20", "9300000000", "1735689600000", `"9300000000"`} {
		t.Run(raw, func(t *testing.T) {
			e := newEnv(t)
			e.fake.Set(func(p *accountstest.Provider) { p.Override = map[string]any{"expires_in": json.RawMessage(raw)} })
			e.create(e.clientCredentials("crm"))
			for i := range 20 {
				if status, _, err := e.get("crm"); err != nil || status != 200 {
					t.Fatalf("call %d: %d %v", i, status, err)
				}
			}
			if n := e.fake.TokenRequests(); n != 1 {
				t.Fatalf("%d token requests for 20 calls; want 1", n)
			}
			st, _ := e.m.Status(context.Background(), "crm")
			if d := st.Expiry.Sub(e.clock.now()); d <= 0 || d > accounts.MaxTokenLifetime {
				t.Fatalf("expiry %s, in %s; want within %s", st.Expiry, d, accounts.MaxTokenLifetime)
			}
		})
	}
}

// TestBadTokenResponsesAreNotStored: answers that are not a usable token
// are account errors, and nothing is stored (a restart does not keep them).
func TestBadTokenResponsesAreNotStored(t *testing.T) {
	tests := []struct {
		name     string
		override map[string]any
		want     string
	}{
		{"access token with CR LF", map[string]any{"access_token": "tok\r\nX-Injected: 1"}, "access_token"},
		{"access token with a space", map[string]any{"access_token": "tok en"}, "access_token"},
		{"refresh token with LF", map[string]any{"refresh_token": "rt\nx"}, "refresh_token"},
		{"unknown token type", map[string]any{"token_type": "mac"}, "token_type"},
		{"expires_in Inf", map[string]any{"expires_in": "Inf"}, "expires_in"},
		{"expires_in NaN", map[string]any{"expires_in": "NaN"}, "expires_in"},
		{"expires_in a word", map[string]any{"expires_in": "soon"}, "expires_in"},
		{"expires_in negative", map[string]any{"expires_in": -5}, "expires_in"},
		{"expires_in an object", map[string]any{"expires_in": map[string]any{"s": 1}}, "expires_in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			e.fake.Set(func(p *accountstest.Provider) { p.Override = tt.override })
			e.create(e.clientCredentials("crm"))
			_, _, err := e.get("crm")
			if !errors.Is(err, accounts.ErrTokenRequest) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v; want a token request error naming %s", err, tt.want)
			}
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("the error carries the raw value: %q", err)
			}
			if st, _ := e.m.Status(context.Background(), "crm"); st.HasToken {
				t.Fatalf("a bad answer was stored: %+v", st)
			}
			// Once the endpoint answers well, the account works (after the
			// backoff), also after a restart.
			e.fake.Set(func(p *accountstest.Provider) { p.Override = nil })
			e.open()
			if status, _, err := e.get("crm"); err != nil || status != 200 {
				t.Fatalf("after the endpoint recovered: %d %v", status, err)
			}
		})
	}
	t.Run("token type is case-insensitive", func(t *testing.T) {
		e := newEnv(t)
		e.fake.Set(func(p *accountstest.Provider) { p.Override = map[string]any{"token_type": "BEARER"} })
		e.create(e.clientCredentials("crm"))
		if status, _, err := e.get("crm"); err != nil || status != 200 {
			t.Fatalf("%d %v", status, err)
		}
	})
}

func tokenRequestsMetric(t *testing.T, m *accounts.Manager, account, result string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(m.Collector())
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "nectar_account_token_requests_total" {
			continue
		}
		for _, mt := range mf.Metric {
			labels := map[string]string{}
			for _, l := range mt.Label {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["account"] == account && labels["result"] == result {
				return mt.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func TestRefreshStorms(t *testing.T) {
	t.Run("API always answers 401", func(t *testing.T) {
		e := newEnv(t)
		e.fake.Set(func(p *accountstest.Provider) { p.RefuseAll = true })
		e.create(e.clientCredentials("crm"))
		for i := range 50 {
			if status, _, err := e.get("crm"); err != nil || status != 401 {
				t.Fatalf("call %d: %d %v; want the API's 401", i, status, err)
			}
		}
		if n := e.fake.TokenRequests(); n != 2 {
			t.Fatalf("%d token requests for 50 refused calls; want 2 (the first token, one renewal)", n)
		}
		e.clock.advance(accounts.NoRenewWindow + time.Second)
		e.get("crm")
		if n := e.fake.TokenRequests(); n != 3 {
			t.Fatalf("%d token requests after the no-renew window; want 3", n)
		}
		if got := tokenRequestsMetric(t, e.m, "crm", "ok"); got != 3 {
			t.Fatalf("metric counts %v successful token requests; want 3", got)
		}
	})
	t.Run("a token the API accepted is renewed at its first refusal", func(t *testing.T) {
		e := newEnv(t)
		e.create(e.clientCredentials("crm"))
		e.get("crm")
		for round := range 3 {
			e.fake.ExpireAccessTokens() // within the window, each time
			if status, _, err := e.get("crm"); err != nil || status != 200 {
				t.Fatalf("round %d: %d %v", round, status, err)
			}
		}
		if n := e.fake.TokenRequests(); n != 4 {
			t.Fatalf("%d token requests; want 4 (the first token, three renewals)", n)
		}
	})
	t.Run("auth_error.path matches ordinary error bodies", func(t *testing.T) {
		e := newEnv(t)
		e.fake.Set(func(p *accountstest.Provider) { p.RefuseAll, p.RefuseAs = true, 200 })
		a := e.clientCredentials("crm")
		a.AuthError = accounts.AuthErrorRule{Path: "error.code"}
		e.create(a)
		for i := range 50 {
			if status, _, err := e.get("crm"); err != nil || status != 200 {
				t.Fatalf("call %d: %d %v", i, status, err)
			}
		}
		if n := e.fake.TokenRequests(); n != 2 {
			t.Fatalf("%d token requests for 50 calls; want 2", n)
		}
	})
	t.Run("token endpoint answers 500", func(t *testing.T) {
		e := newEnv(t)
		fail := true
		e.fake.Set(func(p *accountstest.Provider) {
			p.TokenHook = func(w http.ResponseWriter, r *http.Request) bool {
				if fail {
					http.Error(w, `{"error":"server_error"}`, 500)
				}
				return fail
			}
		})
		e.create(e.clientCredentials("crm"))
		for i := range 50 {
			_, _, err := e.get("crm")
			if !errors.Is(err, accounts.ErrTokenRequest) {
				t.Fatalf("call %d: %v", i, err)
			}
			if i > 0 && !strings.Contains(err.Error(), "not asked again until") {
				t.Fatalf("call %d does not fail fast with a clear error: %v", i, err)
			}
		}
		if n := e.fake.TokenRequests(); n != 1 {
			t.Fatalf("%d token requests for 50 calls to a failing endpoint; want 1", n)
		}
		e.clock.advance(accounts.BackoffMin + time.Millisecond)
		e.get("crm")
		if n := e.fake.TokenRequests(); n != 2 {
			t.Fatalf("%d token requests after the first backoff; want 2", n)
		}
		// The second failure doubles the wait.
		e.clock.advance(accounts.BackoffMin + time.Millisecond)
		e.get("crm")
		if n := e.fake.TokenRequests(); n != 2 {
			t.Fatalf("%d token requests within the doubled backoff; want 2", n)
		}
		if got := tokenRequestsMetric(t, e.m, "crm", "error"); got != 2 {
			t.Fatalf("metric counts %v failed token requests; want 2", got)
		}
		// The account's status tells the last failure, without a secret.
		st, err := e.m.Status(context.Background(), "crm")
		if err != nil || st.Failures != 2 || !strings.Contains(st.LastFailure, "500") || st.LastFailureAt.IsZero() || !st.Obtained.IsZero() {
			t.Fatalf("status while failing: %+v %v", st, err)
		}
		e.fake.Set(func(p *accountstest.Provider) { fail = false })
		e.clock.advance(2 * accounts.BackoffMin)
		if status, _, err := e.get("crm"); err != nil || status != 200 {
			t.Fatalf("after the endpoint recovered: %d %v", status, err)
		}
		st, err = e.m.Status(context.Background(), "crm")
		if err != nil || st.LastFailure != "" || st.Failures != 0 || st.Obtained.IsZero() || !st.Obtained.Before(st.Expiry) {
			t.Fatalf("status after the recovery: %+v %v", st, err)
		}
	})
}

func TestImportedProvidersHavePKCE(t *testing.T) {
	e := newEnv(t)
	f, err := accounts.ParseFile([]byte(`
providers:
  - name: acme
    auth_url: https://login.acme.example/authorize
    token_url: https://login.acme.example/token
  - name: legacy
    auth_url: https://login.legacy.example/authorize
    token_url: https://login.legacy.example/token
    pkce: false
`), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Import(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"acme": true, "legacy": false} {
		p, err := e.m.Provider(context.Background(), name)
		if err != nil || p.PKCE != want {
			t.Fatalf("provider %s: pkce %v, %v; want %v", name, p != nil && p.PKCE, err, want)
		}
	}
}

func serviceAccountKey(t *testing.T, tokenURI string) string {
	t.Helper()
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	sa, _ := json.Marshal(map[string]string{
		"type": "service_account", "client_email": "bot@project.iam.gserviceaccount.com",
		"private_key": string(pemKey), "token_uri": tokenURI,
	})
	return string(sa)
}

func TestPlainHTTPRefused(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, p := range []*accounts.Provider{
		{Name: "p1", AuthURL: "http://login.example.com/authorize", TokenURL: "https://login.example.com/token"},
		{Name: "p2", AuthURL: "https://login.example.com/authorize", TokenURL: "http://login.example.com/token"},
		{Name: "p3", AuthURL: "https://login.example.com/authorize", TokenURL: "https://login.example.com/token", RefreshURL: "http://login.example.com/token"},
		{Name: "p4", AuthURL: "https://login.example.com/authorize", TokenURL: "http://127.0.0.1.example.com/token"},
	} {
		if err := e.m.PutProvider(ctx, p); !errors.Is(err, accounts.ErrInvalid) || !strings.Contains(err.Error(), "https") {
			t.Errorf("provider %s: %v; want https required", p.Name, err)
		}
	}
	sa := serviceAccountKey(t, "http://oauth2.example.com/token")
	for _, a := range []*accounts.Account{
		{Name: "a1", Type: accounts.TypeClientCredentials, TokenURL: "http://api.example.com/token", ClientID: "x"},
		{Name: "a2", Type: accounts.TypeOAuth2, ClientID: "x", AuthURL: "http://api.example.com/auth", TokenURL: "https://api.example.com/token"},
		{Name: "a3", Type: accounts.TypeOAuth2, ClientID: "x", AuthURL: "https://api.example.com/auth", TokenURL: "http://api.example.com/token"},
		{Name: "a4", Type: accounts.TypeGoogleServiceAccount, ServiceAccountKey: secret.New(sa), Scopes: []string{"s"}},
	} {
		if err := e.m.Put(ctx, a); !errors.Is(err, accounts.ErrInvalid) || !strings.Contains(err.Error(), "https") {
			t.Errorf("account %s: %v; want https required", a.Name, err)
		}
	}
	// Loopback stays allowed, for tests and local development.
	for _, u := range []string{"http://127.0.0.1:9/token", "http://[::1]:9/token", "http://localhost:9/token"} {
		if err := e.m.PutProvider(ctx, &accounts.Provider{Name: "local", AuthURL: u, TokenURL: u}); err != nil {
			t.Errorf("loopback %s: %v", u, err)
		}
	}
}

func TestReservedConsentParams(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for _, k := range []string{"state", "redirect_uri", "response_type", "code_challenge", "code_challenge_method", "client_id"} {
		err := e.m.PutProvider(ctx, &accounts.Provider{Name: "p", AuthURL: e.fake.URL + "/authorize", TokenURL: e.fake.URL + "/token",
			AuthParams: map[string]string{k: "evil"}})
		if !errors.Is(err, accounts.ErrInvalid) || !strings.Contains(err.Error(), k) {
			t.Errorf("auth param %s: %v; want refused", k, err)
		}
	}
	err := e.m.PutProvider(ctx, &accounts.Provider{Name: "p", AuthURL: e.fake.URL + "/authorize#frag", TokenURL: e.fake.URL + "/token"})
	if !errors.Is(err, accounts.ErrInvalid) || !strings.Contains(err.Error(), "fragment") {
		t.Errorf("auth_url with a fragment: %v", err)
	}
	a := e.oauth2("frag")
	a.Provider, a.AuthURL, a.TokenURL = "", e.fake.URL+"/authorize#frag", e.fake.URL+"/token"
	if err := e.m.Put(ctx, a); !errors.Is(err, accounts.ErrInvalid) || !strings.Contains(err.Error(), "fragment") {
		t.Errorf("account auth_url with a fragment: %v", err)
	}
	// Reserved parameters in the auth_url's own query are replaced.
	if err := e.m.PutProvider(ctx, &accounts.Provider{Name: "q", AuthURL: e.fake.URL + "/authorize?response_type=token&state=evil&keep=1",
		TokenURL: e.fake.URL + "/token", PKCE: true}); err != nil {
		t.Fatal(err)
	}
	b := e.oauth2("q")
	b.Provider = "q"
	e.create(b)
	q := consentURL(t, e, "q").Query()
	if q["response_type"][0] != "code" || len(q["response_type"]) != 1 || len(q["state"]) != 1 || q.Get("state") == "evil" || q.Get("keep") != "1" {
		t.Fatalf("consent query %v", q)
	}
}

// browse follows a consent URL as a browser would and returns the callback
// page's status and text.
func browse(t *testing.T, consent string) (int, string) {
	resp, err := http.Get(consent)
	if err != nil {
		t.Errorf("browser: %v", err)
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestWrongStateCallbackIsIgnored(t *testing.T) {
	e := newEnv(t)
	e.create(e.oauth2("drive"))
	_, err := e.m.Authorize(context.Background(), "drive", accounts.AuthorizeOptions{
		Timeout: 10 * time.Second,
		Prompt: func(consent string) {
			u, _ := url.Parse(consent)
			if status, _ := browse(t, u.Query().Get("redirect_uri")+"?code=stolen&state=forged"); status != http.StatusBadRequest {
				t.Errorf("forged callback answered %d; want 400", status)
			}
			if status, page := browse(t, consent); status != 200 || !strings.Contains(page, "authorized") {
				t.Errorf("real callback answered %d %s", status, page)
			}
		},
	})
	if err != nil {
		t.Fatalf("a forged callback cancelled the authorization: %v", err)
	}
}

func TestCallbackPageWaitsForTheExchange(t *testing.T) {
	e := newEnv(t)
	e.fake.Set(func(p *accountstest.Provider) {
		p.TokenHook = func(w http.ResponseWriter, r *http.Request) bool {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			fmt.Fprint(w, `{"error":"invalid_grant"}`)
			return true
		}
	})
	e.create(e.oauth2("drive"))
	var status int
	var page string
	_, err := e.m.Authorize(context.Background(), "drive", accounts.AuthorizeOptions{
		Timeout: 10 * time.Second,
		Prompt:  func(consent string) { status, page = browse(t, consent) },
	})
	if !errors.Is(err, accounts.ErrAuthorization) {
		t.Fatalf("Authorize: %v", err)
	}
	if status == 200 || strings.Contains(page, "received") || !strings.Contains(page, "invalid_grant") {
		t.Fatalf("the callback page said %d %q before the exchange failed", status, page)
	}
}

func TestLocalhostRedirectListensOnBothLoopbacks(t *testing.T) {
	probe, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback on this machine")
	}
	port := probe.Addr().(*net.TCPAddr).Port
	probe.Close()
	e := newEnv(t)
	a := e.oauth2("drive")
	a.RedirectURI = fmt.Sprintf("http://localhost:%d/callback", port)
	e.create(a)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err = e.m.Authorize(ctx, "drive", accounts.AuthorizeOptions{Prompt: func(string) {
		defer cancel()
		for _, addr := range []string{fmt.Sprintf("127.0.0.1:%d", port), fmt.Sprintf("[::1]:%d", port)} {
			if ln, err := net.Listen("tcp", addr); err == nil {
				ln.Close()
				t.Errorf("another process could listen on %s during the authorization", addr)
			}
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Authorize: %v", err)
	}
}

func TestPendingAuthorizationsAreCapped(t *testing.T) {
	e := newEnv(t)
	e.create(e.oauth2("drive"))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var started sync.WaitGroup
	var done sync.WaitGroup
	for range accounts.MaxPendingAuthorizations {
		started.Add(1)
		done.Go(func() {
			e.m.Authorize(ctx, "drive", accounts.AuthorizeOptions{Prompt: func(string) { started.Done() }})
		})
	}
	started.Wait()
	_, err := e.m.Authorize(context.Background(), "drive", accounts.AuthorizeOptions{Timeout: time.Second, Prompt: func(string) { t.Error("one too many authorizations listens") }})
	if !errors.Is(err, accounts.ErrAuthorization) || !strings.Contains(err.Error(), "pending") {
		t.Fatalf("authorization beyond the cap: %v", err)
	}
	cancel()
	done.Wait()
	// Finished authorizations free their place.
	e.authorize("drive")
}

func TestServiceAccountAssertionLifetime(t *testing.T) {
	e := newEnv(t)
	e.create(&accounts.Account{Name: "gsa", Type: accounts.TypeGoogleServiceAccount,
		ServiceAccountKey: secret.New(serviceAccountKey(t, e.fake.URL+"/token")), Scopes: []string{"s"},
		AllowedHosts: []string{"127.0.0.1"}}) // the fake API stands for *.googleapis.com
	if status, _, err := e.get("gsa"); err != nil || status != 200 {
		t.Fatalf("%d %v", status, err)
	}
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(e.fake.Forms[0].Get("assertion"), claims); err != nil {
		t.Fatal(err)
	}
	iat, _ := claims.GetIssuedAt()
	exp, _ := claims.GetExpirationTime()
	if d := exp.Sub(iat.Time); d > time.Hour {
		t.Fatalf("exp - iat = %s; Google accepts at most 1h", d)
	}
}

func TestListFlagsUnreadableAccounts(t *testing.T) {
	e := newEnv(t)
	e.create(e.clientCredentials("crm"))
	e.create(e.clientCredentials("zeta"))
	if _, err := e.st.Put(context.Background(), "accounts", "broken", []byte("not sealed")); err != nil {
		t.Fatal(err)
	}
	list, err := e.m.List(context.Background())
	var le *accounts.ListError
	if !errors.As(err, &le) || len(le.Unreadable) != 1 || le.Unreadable[0].Name != "broken" {
		t.Fatalf("List error %v; want a ListError naming broken", err)
	}
	if len(list) != 2 || list[0].Name != "crm" || list[1].Name != "zeta" {
		t.Fatalf("List returned %d accounts; want the two readable ones", len(list))
	}
}

func TestMaskedHidesTokenParams(t *testing.T) {
	a := &accounts.Account{Name: "crm", Type: accounts.TypeClientCredentials, TokenURL: "https://x.example/token", ClientID: "c",
		TokenParams: map[string]string{"audience": "aud-secret-1"}, TokenHeaders: map[string]string{"X-Api-Key": "hdr-secret-2"}}
	m := a.Masked()
	b, _ := json.Marshal(m)
	if strings.Contains(string(b), "aud-secret-1") || strings.Contains(string(b), "hdr-secret-2") || !strings.Contains(string(b), `"audience":"***"`) {
		t.Fatalf("masked account %s", b)
	}
	if a.TokenParams["audience"] != "aud-secret-1" {
		t.Fatal("Masked changed the account")
	}
}
