package pipelines_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/secret"
)

// TestClientCredentialsLibrary: golang.org/x/oauth2/clientcredentials gets
// a token from /oauth/token unchanged, with each client authentication
// style, and the token opens the customer API.
func TestClientCredentialsLibrary(t *testing.T) {
	t.Setenv("NECTAR_CREDENTIALS_APIKEY", adminKey)
	n := startNectar(t)
	c := n.createClient(t, map[string]any{"role": "manager"})
	for _, tc := range []struct {
		name  string
		style oauth2.AuthStyle
	}{
		{"auto detect", oauth2.AuthStyleAutoDetect},
		{"Basic header", oauth2.AuthStyleInHeader},
		{"form body", oauth2.AuthStyleInParams},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := clientcredentials.Config{ClientID: c.id, ClientSecret: c.secret, TokenURL: n.url + "/oauth/token", Scopes: []string{"profile"}, AuthStyle: tc.style}
			tok, err := cfg.Token(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if tok.TokenType != "Bearer" || tok.AccessToken == "" || tok.Extra("scope") != "profile" {
				t.Errorf("token %+v scope %v", tok, tok.Extra("scope"))
			}
			resp, err := cfg.Client(context.Background()).Get(n.url + "/customers/c-2")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("API call with the library's client: %d", resp.StatusCode)
			}
		})
	}
	cfg := clientcredentials.Config{ClientID: c.id, ClientSecret: "wrong", TokenURL: n.url + "/oauth/token"}
	_, err := cfg.Token(context.Background())
	var re *oauth2.RetrieveError
	if !asRetrieve(err, &re) || re.ErrorCode != "invalid_client" || re.Response.StatusCode != 401 {
		t.Errorf("wrong secret: %v, want a RetrieveError invalid_client 401", err)
	}
}

func asRetrieve(err error, re **oauth2.RetrieveError) bool {
	r, ok := err.(*oauth2.RetrieveError)
	*re = r
	return ok
}

func basic(id, secret string) map[string]string {
	raw := url.QueryEscape(id) + ":" + url.QueryEscape(secret)
	return map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(raw))}
}

// TestTokenEndpoint checks RFC 6749's wire details: bodies, client
// authentication, error codes, statuses and headers.
func TestTokenEndpoint(t *testing.T) {
	t.Setenv("NECTAR_CREDENTIALS_APIKEY", adminKey)
	n := startNectar(t)
	c := n.createClient(t, map[string]any{"scope": []any{"profile", "address"}})
	cc := url.Values{"grant_type": {"client_credentials"}}
	body := url.Values{"grant_type": {"client_credentials"}, "client_id": {c.id}, "client_secret": {c.secret}}

	ok := n.postForm(t, "/oauth/token", cc, basic(c.id, c.secret))
	if ok.status != 200 {
		t.Fatalf("Basic: %d %s", ok.status, ok.body)
	}
	if got := keysOf(t, ok.body); got != "access_token,token_type,expires_in,refresh_token,scope" {
		t.Errorf("keys %s", got)
	}
	m := ok.json(t)
	if m["token_type"] != "Bearer" || m["expires_in"] != float64(3600) || m["scope"] != "profile address" {
		t.Errorf("token response %s", ok.body)
	}
	if ok.header.Get("Cache-Control") != "no-store" || !strings.HasPrefix(ok.header.Get("Content-Type"), "application/json") {
		t.Errorf("headers %v", ok.header)
	}
	if a := n.postJSON(t, "/oauth/token", map[string]any{"grant_type": "client_credentials", "client_id": c.id, "client_secret": c.secret}, nil); a.status != 200 {
		t.Errorf("JSON body: %d %s", a.status, a.body)
	}
	refreshed := n.postForm(t, "/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {str(m["refresh_token"])}}, basic(c.id, c.secret))
	if refreshed.status != 200 {
		t.Errorf("refresh with Basic: %d %s", refreshed.status, refreshed.body)
	}

	other := n.createClient(t, nil)
	cases := []struct {
		name   string
		form   url.Values
		hdr    map[string]string
		status int
		error  string
	}{
		{"wrong secret in Basic", cc, basic(c.id, "nope"), 401, "invalid_client"},
		{"wrong secret in body", with(body, "client_secret", "nope"), nil, 401, "invalid_client"},
		{"no client authentication", cc, nil, 401, "invalid_client"},
		{"refresh without client authentication", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {str(refreshed.json(t)["refresh_token"])}}, nil, 401, "invalid_client"},
		{"malformed Basic", cc, map[string]string{"Authorization": "Basic %%%"}, 401, "invalid_client"},
		{"Basic and body at once", with(body, "client_id", c.id), basic(c.id, c.secret), 400, "invalid_request"},
		{"no grant_type", url.Values{"client_id": {c.id}, "client_secret": {c.secret}}, nil, 400, "invalid_request"},
		{"unsupported grant", with(body, "grant_type", "password"), nil, 400, "unsupported_grant_type"},
		{"repeated parameter", url.Values{"grant_type": {"client_credentials", "client_credentials"}, "client_id": {c.id}, "client_secret": {c.secret}}, nil, 400, "invalid_request"},
		{"scope beyond the client's", with(body, "scope", "profile banking"), nil, 400, "invalid_scope"},
		{"used refresh token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {str(m["refresh_token"])}}, basic(c.id, c.secret), 400, "invalid_grant"},
		{"refresh token of another client", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {str(refreshed.json(t)["refresh_token"])}}, basic(other.id, other.secret), 400, "invalid_grant"},
		{"access token as refresh token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {str(m["access_token"])}}, basic(c.id, c.secret), 400, "invalid_grant"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := n.postForm(t, "/oauth/token", tc.form, tc.hdr)
			if a.status != tc.status {
				t.Errorf("status %d, want %d: %s", a.status, tc.status, a.body)
			}
			e := a.json(t)
			if e["error"] != tc.error || str(e["error_description"]) == "" || len(e) != 2 {
				t.Errorf("body %s, want {error: %s, error_description}", a.body, tc.error)
			}
			if a.header.Get("Cache-Control") != "no-store" {
				t.Errorf("Cache-Control %q", a.header.Get("Cache-Control"))
			}
			if w := a.header.Get("WWW-Authenticate"); (tc.status == 401) != (w != "") {
				t.Errorf("WWW-Authenticate %q with status %d", w, a.status)
			}
		})
	}
}

func with(v url.Values, k, val string) url.Values {
	out := url.Values{}
	for kk, vv := range v {
		out[kk] = vv
	}
	out.Set(k, val)
	return out
}

// TestIntrospectRevokeMetadata covers RFC 7662, RFC 7009 and RFC 8414.
func TestIntrospectRevokeMetadata(t *testing.T) {
	t.Setenv("NECTAR_CREDENTIALS_APIKEY", adminKey)
	n := startNectar(t)
	c := n.createClient(t, nil)
	rs := n.createClient(t, nil) // the resource server asking
	tk := n.token(t, c)

	introspect := func(tok string) map[string]any {
		t.Helper()
		a := n.postForm(t, "/oauth/introspect", url.Values{"token": {tok}}, basic(rs.id, rs.secret))
		if a.status != 200 {
			t.Fatalf("introspect: %d %s", a.status, a.body)
		}
		return a.json(t)
	}
	if m := introspect(tk.access); m["active"] != true || m["client_id"] != c.id || m["scope"] != "profile" || m["token_type"] != "Bearer" {
		t.Errorf("access token: %v", m)
	}
	if m := introspect(tk.refresh); m["active"] != true || m["token_use"] != "refresh_token" {
		t.Errorf("refresh token: %v", m)
	}
	if m := introspect("garbage"); len(m) != 1 || m["active"] != false {
		t.Errorf("garbage: %v, want only active: false", m)
	}
	if a := n.postForm(t, "/oauth/introspect", url.Values{"token": {tk.access}}, nil); a.status != 401 || a.json(t)["error"] != "invalid_client" {
		t.Errorf("introspection without client authentication: %d %s", a.status, a.body)
	}

	if a := n.postForm(t, "/oauth/revoke", url.Values{"token": {tk.access}}, basic(rs.id, rs.secret)); a.status != 400 || a.json(t)["error"] != "unauthorized_client" {
		t.Errorf("revoking another client's token: %d %s", a.status, a.body)
	}
	if a := n.postForm(t, "/oauth/revoke", url.Values{"token": {"garbage"}}, basic(c.id, c.secret)); a.status != 200 {
		t.Errorf("revoking an invalid token: %d %s, want 200 (RFC 7009 §2.2)", a.status, a.body)
	}
	if a := n.postForm(t, "/oauth/revoke", url.Values{"token": {tk.refresh}, "token_type_hint": {"refresh_token"}}, basic(c.id, c.secret)); a.status != 200 {
		t.Fatalf("revoke: %d %s", a.status, a.body)
	}
	if m := introspect(tk.access); m["active"] != false {
		t.Errorf("the access token of a revoked family: %v", m)
	}
	if m := introspect(tk.refresh); m["active"] != false {
		t.Errorf("a revoked refresh token: %v", m)
	}
	if a := n.customer(t, "c-1", tk.access); a.status != 401 {
		t.Errorf("API call with a revoked token: %d", a.status)
	}
	if a := n.refresh(t, tk.refresh); a.status != 400 {
		t.Errorf("refresh with a revoked token: %d %s", a.status, a.body)
	}

	a := n.do(t, http.MethodGet, "/.well-known/oauth-authorization-server", "", "", nil)
	if a.status != 200 {
		t.Fatalf("metadata: %d %s", a.status, a.body)
	}
	md := a.json(t)
	if md["issuer"] != n.url || md["token_endpoint"] != n.url+"/oauth/token" || md["introspection_endpoint"] != n.url+"/oauth/introspect" || md["revocation_endpoint"] != n.url+"/oauth/revoke" {
		t.Errorf("metadata %s", a.body)
	}
}

// TestTokenGenerator: a consumer's API key and a client's credentials give
// a token and the claims its role's scopes unlock.
func TestTokenGenerator(t *testing.T) {
	t.Setenv("NECTAR_CREDENTIALS_APIKEY", adminKey)
	n := startNectar(t)
	ctx := context.Background()
	if _, err := n.cm.Create(ctx, consumersConsumer("partner")); err != nil {
		t.Fatal(err)
	}
	key, err := n.cm.AddKey(ctx, "partner")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ role, scope, claims string }{
		{"salesperson", "profile", "profile_claims"},
		{"manager", "profile address", "profile_claims,address_claims"},
		{"admin", "profile address banking", "profile_claims,address_claims,banking_claims"},
	} {
		t.Run(tc.role, func(t *testing.T) {
			c := n.createClient(t, map[string]any{"role": tc.role})
			a := n.postJSON(t, "/token-generator", map[string]any{"client_id": c.id, "client_secret": c.secret}, map[string]string{"apikey": key})
			if a.status != 200 {
				t.Fatalf("%d %s", a.status, a.body)
			}
			if got := keysOf(t, a.body); got != "access_token,token_type,expires_in,ext_expires_in,scope,claims" {
				t.Errorf("keys %s", got)
			}
			m := a.json(t)
			if m["scope"] != tc.scope {
				t.Errorf("scope %v, want %s", m["scope"], tc.scope)
			}
			var groups []string
			for k := range m["claims"].(map[string]any) {
				groups = append(groups, k)
			}
			if len(groups) != len(strings.Split(tc.claims, ",")) || !strings.Contains(a.body, `"profile_claims":["name","email","age"]`) {
				t.Errorf("claims %v, want %s", m["claims"], tc.claims)
			}
			for _, g := range strings.Split(tc.claims, ",") {
				if _, ok := m["claims"].(map[string]any)[g]; !ok {
					t.Errorf("claims %v lack %s", m["claims"], g)
				}
			}
			if a := n.customer(t, "c-1", str(m["access_token"])); a.status != 200 {
				t.Errorf("the generated token opens the API: %d %s", a.status, a.body)
			}
			bad := n.postJSON(t, "/token-generator", map[string]any{"client_id": c.id, "client_secret": "wrong"}, map[string]string{"apikey": key})
			if bad.status != 401 {
				t.Errorf("wrong client secret: %d %s", bad.status, bad.body)
			}
		})
	}
	c := n.createClient(t, nil)
	for name, hdr := range map[string]map[string]string{"no API key": nil, "wrong API key": {"apikey": "nope"}} {
		if a := n.postJSON(t, "/token-generator", map[string]any{"client_id": c.id, "client_secret": c.secret}, hdr); a.status != 401 {
			t.Errorf("%s: %d %s", name, a.status, a.body)
		}
	}
	if a := n.postJSON(t, "/token-generator", map[string]any{"client_id": c.id}, map[string]string{"apikey": key}); a.status != 401 {
		t.Errorf("no client_secret: %d %s", a.status, a.body)
	}
}

// TestExamples runs partner-sync (token generator as a subpipeline, then a
// REST call with the token) and the dogfooding account (Nectar's own
// /oauth/token behind an oauth2-client-credentials account).
func TestExamples(t *testing.T) {
	t.Setenv("NECTAR_CREDENTIALS_APIKEY", adminKey)
	n := startNectar(t)
	c := n.createClient(t, map[string]any{"role": "manager"})
	if err := n.am.Create(context.Background(), &accounts.Account{
		Name: "nectar-self", Type: accounts.TypeClientCredentials, TokenURL: n.url + "/oauth/token",
		ClientID: c.id, ClientSecret: secret.New(c.secret), Scopes: []string{"profile"},
		BaseURL: n.url, // the token goes to this Nectar only
	}); err != nil {
		t.Fatal(err)
	}
	out, err := n.run(t, "partner-sync", `{"client_id":"`+c.id+`","client_secret":"`+c.secret+`","customer_id":"c-2"}`)
	if err != nil {
		t.Fatalf("partner-sync: %v", err)
	}
	b, _ := value.Encode(out)
	if want := `{"customer":{"id":"c-2","profile":{"name":"Alan Turing","email":"alan@example.com","age":41},"address":{"street":"43 Adlington Road","city":"Wilmslow","state":"Cheshire","zip_code":"SK9 2BJ","country":"UK"}},"scope":"profile address","claims":{"profile_claims":["name","email","age"],"address_claims":["street","city","state","zip_code","country"]}}`; string(b) != want {
		t.Errorf("partner-sync:\n got %s\nwant %s", b, want)
	}
	if _, err := n.run(t, "partner-sync", `{"client_id":"`+c.id+`","client_secret":"wrong","customer_id":"c-2"}`); err == nil || engine.AsError(err).Code != 401 {
		t.Errorf("partner-sync with a wrong secret: %v, want 401", err)
	}

	for i := range 2 { // the second run reuses the account's cached token
		out, err = n.run(t, "customer-report", `{"customer_id":"c-1"}`)
		if err != nil {
			t.Fatalf("customer-report run %d: %v", i, err)
		}
		b, _ = value.Encode(out)
		if want := `{"customer":"c-1","name":"Ada Lovelace","sees":["id","profile"]}`; string(b) != want {
			t.Errorf("customer-report:\n got %s\nwant %s", b, want)
		}
	}
	st, err := n.am.Status(context.Background(), "nectar-self")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("dogfooding account token: %+v", st)
}
