package accounts_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/secret"
	"github.com/nectar-run/nectar/store/bolt"
)

// TestHostRule checks which URLs an account's credentials may go to: the
// host of base_url (port-aware when base_url names a port), a built-in
// provider's API hosts, and allowed_hosts with wildcards, ports and
// schemes. Plain http is allowed only where the rule says http: an
// http:// base_url or allowed_hosts entry, or a loopback host written
// without a scheme.
func TestHostRule(t *testing.T) {
	bearer := func(edit func(a *accounts.Account)) *accounts.Account {
		a := &accounts.Account{Type: accounts.TypeBearer, Token: secret.New("t")}
		edit(a)
		return a
	}
	oauth := func(provider string) *accounts.Account {
		return &accounts.Account{Type: accounts.TypeOAuth2, Provider: provider, ClientID: "id"}
	}
	tests := []struct {
		name    string
		a       *accounts.Account
		allowed []string
		refused []string
	}{
		{"base_url without a port: its host on any port",
			bearer(func(a *accounts.Account) { a.BaseURL = "https://api.example.com/v2" }),
			[]string{"https://api.example.com/x", "https://API.Example.COM./x", "https://api.example.com:8443/x"},
			[]string{"https://evil.example.com/", "https://api.example.com.evil.net/", "https://example.com/", "https://xapi.example.com/",
				"http://api.example.com/x", "HTTP://api.example.com:8443/x", "ftp://api.example.com/", "ws://api.example.com/"}},
		{"https base_url on loopback: https only",
			bearer(func(a *accounts.Account) { a.BaseURL = "https://127.0.0.1:18201" }),
			[]string{"https://127.0.0.1:18201/x"},
			[]string{"http://127.0.0.1:18201/plain", "http://127.0.0.1:18202/"}},
		{"base_url with a port: that port only",
			bearer(func(a *accounts.Account) { a.BaseURL = "http://127.0.0.1:8080/api" }),
			[]string{"http://127.0.0.1:8080/other", "https://127.0.0.1:8080/"},
			[]string{"http://127.0.0.1:8081/", "http://127.0.0.1/", "http://localhost:8080/"}},
		{"wildcard: names below the domain, not the domain",
			bearer(func(a *accounts.Account) { a.AllowedHosts = []string{"*.example.com"} }),
			[]string{"https://a.example.com/", "https://a.b.example.com:9/"},
			[]string{"https://example.com/", "https://badexample.com/", "https://a.example.com.evil.net/", "http://a.example.com/"}},
		{"allowed_hosts schemes: https:// only https, http:// both",
			bearer(func(a *accounts.Account) {
				a.AllowedHosts = []string{"https://127.0.0.1:9000", "http://legacy.example.com", "HTTP://*.old.example"}
			}),
			[]string{"https://127.0.0.1:9000/", "http://legacy.example.com/", "https://legacy.example.com/", "http://a.old.example:81/"},
			[]string{"http://127.0.0.1:9000/", "http://new.example.com/", "http://old.example/"}},
		{"an entry with a port: the scheme's default port counts",
			bearer(func(a *accounts.Account) { a.AllowedHosts = []string{"api.example.com:443", "*.svc.example:8443"} }),
			[]string{"https://api.example.com/", "https://api.example.com:443/", "https://x.svc.example:8443/"},
			[]string{"http://api.example.com/", "https://api.example.com:8443/", "https://x.svc.example/"}},
		{"IPv6 and localhost",
			bearer(func(a *accounts.Account) { a.AllowedHosts = []string{"[::1]:8080", "localhost"} }),
			[]string{"http://[::1]:8080/", "http://localhost:1234/", "http://LOCALHOST/"},
			[]string{"http://[::1]:8081/", "http://127.0.0.1:8080/"}},
		{"google provider", oauth("google"),
			[]string{"https://www.googleapis.com/drive/v3/files", "https://sheets.googleapis.com/v4"},
			[]string{"https://googleapis.com/", "https://graph.microsoft.com/", "https://www.googleapis.com.evil.net/", "http://www.googleapis.com/drive/v3/files"}},
		{"microsoft provider", oauth("microsoft"),
			[]string{"https://graph.microsoft.com/v1.0/me"},
			[]string{"https://graph.microsoft.us/v1.0/me", "https://login.microsoftonline.com/"}},
		{"mercado livre provider", oauth("mercadolivre"),
			[]string{"https://api.mercadolibre.com/users/me"},
			[]string{"https://auth.mercadolivre.com.br/", "https://mercadolibre.com/"}},
		{"provider hosts widened by allowed_hosts",
			func() *accounts.Account {
				a := oauth("microsoft")
				a.AllowedHosts = []string{"graph.microsoft.us"}
				return a
			}(),
			[]string{"https://graph.microsoft.com/v1.0/me", "https://graph.microsoft.us/v1.0/me"},
			nil},
		{"a custom provider has no hosts of its own", oauth("fake"),
			nil,
			[]string{"https://www.googleapis.com/", "http://127.0.0.1/"}},
	}
	// A google-service-account has Google's API hosts too (creating one
	// needs a real key: TestGoogleServiceAccount does, with allowed_hosts
	// for its loopback fake).
	if got := (&accounts.Account{Type: accounts.TypeGoogleServiceAccount}).Hosts(); len(got) != 1 || got[0] != "*.googleapis.com" {
		t.Errorf("google-service-account hosts %v", got)
	}
	e := newEnv(t)
	ctx := context.Background()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.a
			a.Name = "h" + string(rune('a'+i))
			e.create(a)
			for _, raw := range tt.allowed {
				u, _ := url.Parse(raw)
				if err := e.m.CheckHost(ctx, a.Name, u); err != nil {
					t.Errorf("%s: %v; want allowed", raw, err)
				}
			}
			for _, raw := range tt.refused {
				u, _ := url.Parse(raw)
				err := e.m.CheckHost(ctx, a.Name, u)
				var he *accounts.HostError
				if !errors.Is(err, accounts.ErrHostNotAllowed) || !errors.As(err, &he) || he.Host != u.Host || he.Account != a.Name {
					t.Errorf("%s: %v; want a HostError", raw, err)
				}
			}
		})
	}
}

func TestAllowedHostsValidation(t *testing.T) {
	for _, bad := range []string{"ftp://api.example.com", "https://api.example.com/v1", "http://", "api.example.com/v1", "*", "*.", "a.*.example.com", "api.example.com:https", "api.example.com:0", "user@api.example.com", "", "api example.com", "api..example.com"} {
		a := &accounts.Account{Name: "a", Type: accounts.TypeBearer, Token: secret.New("t"), AllowedHosts: []string{bad}}
		if err := a.Validate(); !errors.Is(err, accounts.ErrInvalid) || !strings.Contains(err.Error(), "allowed_hosts") {
			t.Errorf("%q: %v; want an allowed_hosts error", bad, err)
		}
	}
	for _, good := range []string{"api.example.com", "*.example.com", "api.example.com:8443", "127.0.0.1", "[::1]:8080", "::1", "LOCALHOST", "https://api.example.com", "http://legacy.example.com:8080", "HTTP://*.example.com"} {
		a := &accounts.Account{Name: "a", Type: accounts.TypeBearer, Token: secret.New("t"), AllowedHosts: []string{good}}
		if err := a.Validate(); err != nil {
			t.Errorf("%q: %v", good, err)
		}
	}
}

// TestRoundTripperRefusesOtherHostsBeforeAnyToken: a request to a host the
// account does not allow fails before a token is requested or anything is
// sent, for every account type; the error names the host and the setting
// and quotes no secret.
func TestRoundTripperRefusesOtherHostsBeforeAnyToken(t *testing.T) {
	var reached atomic.Int64
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached.Add(1) }))
	t.Cleanup(elsewhere.Close)
	e := newEnv(t)
	list := []*accounts.Account{
		e.clientCredentials("cc"),
		{Name: "basic", Type: "basic", Username: "u", Password: secret.New("pw-Hx1"), BaseURL: e.fake.URL},
		{Name: "bearer", Type: "bearer", Token: secret.New("tok-Hx1"), BaseURL: e.fake.URL},
		{Name: "apikey", Type: "api-key", KeyName: "k", KeyIn: "query", APIKey: secret.New("key-Hx1"), BaseURL: e.fake.URL},
		{Name: "custom", Type: "custom-header", HeaderName: "X-K", HeaderValue: secret.New("hv-Hx1"), BaseURL: e.fake.URL},
		{Name: "none", Type: "bearer", Token: secret.New("tok-Hx1")},
	}
	for _, a := range list {
		e.create(a)
		rt, _ := e.m.RoundTripper(a.Name, nil)
		_, err := (&http.Client{Transport: rt}).Get(elsewhere.URL + "/exfil?x=1")
		if !errors.Is(err, accounts.ErrHostNotAllowed) || !strings.Contains(err.Error(), strings.TrimPrefix(elsewhere.URL, "http://")) || !strings.Contains(err.Error(), "allowed_hosts") {
			t.Errorf("%s: %v; want a refusal naming the host and allowed_hosts", a.Name, err)
		}
		if err != nil && strings.Contains(err.Error(), "Hx1") {
			t.Errorf("%s: the error quotes a secret: %v", a.Name, err)
		}
	}
	if a := list[len(list)-1]; true {
		rt, _ := e.m.RoundTripper(a.Name, nil)
		_, err := (&http.Client{Transport: rt}).Get(e.fake.URL + "/api/contacts")
		if err == nil || !strings.Contains(err.Error(), "set allowed_hosts") {
			t.Errorf("an account without hosts: %v; want the advice to set allowed_hosts", err)
		}
	}
	if reached.Load() != 0 || e.fake.TokenRequests() != 0 {
		t.Fatalf("%d requests reached the other host, %d token requests were made", reached.Load(), e.fake.TokenRequests())
	}
	// Its own host still works.
	if status, _, err := e.get("cc"); err != nil || status != 200 {
		t.Fatalf("to the account's host: %d %v", status, err)
	}
}

// BenchmarkCheckHost is the cost the host rule adds to every request: the
// account's hosts (base_url parsed, provider hosts, allowed_hosts) matched
// against the URL, the account already loaded.
func BenchmarkCheckHost(b *testing.B) {
	st, err := bolt.Open(b.TempDir(), bolt.WithNoSync())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	sealer, _ := secret.NewSealer(secret.GenerateKey())
	m := accounts.NewManager(st, sealer)
	ctx := context.Background()
	if err := m.Put(ctx, &accounts.Account{Name: "b", Type: accounts.TypeBearer, Token: secret.New("t"),
		BaseURL: "https://api.example.com/v2", AllowedHosts: []string{"*.cdn.example.com", "files.example.net:8443"}}); err != nil {
		b.Fatal(err)
	}
	u, _ := url.Parse("https://x.cdn.example.com/a/b?c=d")
	b.ReportAllocs()
	for b.Loop() {
		if err := m.CheckHost(ctx, "b", u); err != nil {
			b.Fatal(err)
		}
	}
}
