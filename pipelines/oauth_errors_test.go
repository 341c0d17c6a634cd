package pipelines_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestOAuthErrorShapes walks every error path of /oauth/token,
// /oauth/introspect and /oauth/revoke and checks each answer has RFC 6749
// §5.2's shape: a JSON object of exactly error and error_description, 400
// or 401 (401 with a Basic challenge), Cache-Control: no-store.
func TestOAuthErrorShapes(t *testing.T) {
	t.Setenv("NECTAR_CREDENTIALS_APIKEY", adminKey)
	n := startNectar(t)
	c := n.createClient(t, nil)
	other := n.createClient(t, nil)
	tk := n.token(t, c)
	auth := basic(c.id, c.secret)
	form := "application/x-www-form-urlencoded"
	emptyID := map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(":x"))}
	cc := "grant_type=client_credentials"

	cases := []struct {
		name, path, ctype, body string
		hdr                     map[string]string
		status                  int
		error                   string
	}{
		{"token: malformed JSON", "/oauth/token", "application/json", `{"grant_type":`, auth, 400, "invalid_request"},
		{"token: JSON array", "/oauth/token", "application/json", `["client_credentials"]`, auth, 400, "invalid_request"},
		{"token: JSON string", "/oauth/token", "application/json", `"client_credentials"`, auth, 400, "invalid_request"},
		{"token: text/plain", "/oauth/token", "text/plain", cc, auth, 400, "invalid_request"},
		{"token: octet-stream", "/oauth/token", "application/octet-stream", cc, auth, 400, "invalid_request"},
		{"token: malformed form", "/oauth/token", form, "grant_type=%zz", auth, 400, "invalid_request"},
		{"token: no grant_type", "/oauth/token", form, "", auth, 400, "invalid_request"},
		{"token: unknown grant_type", "/oauth/token", form, "grant_type=password&username=a&password=b", auth, 400, "unsupported_grant_type"},
		{"token: authorization_code", "/oauth/token", form, "grant_type=authorization_code&code=x", auth, 400, "unsupported_grant_type"},
		{"token: grant_type not a string", "/oauth/token", "application/json", `{"grant_type":{"a":1}}`, auth, 400, "unsupported_grant_type"},
		{"token: repeated parameter", "/oauth/token", form, cc + "&" + cc, auth, 400, "invalid_request"},
		{"token: refresh without refresh_token", "/oauth/token", form, "grant_type=refresh_token", auth, 400, "invalid_request"},
		{"token: bad refresh_token", "/oauth/token", form, "grant_type=refresh_token&refresh_token=garbage", auth, 400, "invalid_grant"},
		{"token: access token as refresh_token", "/oauth/token", form, "grant_type=refresh_token&refresh_token=" + tk.access, auth, 400, "invalid_grant"},
		{"token: unknown scope", "/oauth/token", form, cc + "&scope=banking", auth, 400, "invalid_scope"},
		{"token: scope not a string", "/oauth/token", "application/json", `{"grant_type":"client_credentials","scope":["profile"]}`, auth, 400, "invalid_scope"},
		{"token: no client authentication", "/oauth/token", form, cc, nil, 401, "invalid_client"},
		{"token: wrong secret", "/oauth/token", form, cc, basic(c.id, "wrong"), 401, "invalid_client"},
		{"token: Basic with an empty id", "/oauth/token", form, cc, emptyID, 401, "invalid_client"},
		{"token: malformed Basic", "/oauth/token", form, cc, map[string]string{"Authorization": "Basic %%%"}, 401, "invalid_client"},
		{"token: unknown client in the body", "/oauth/token", form, cc + "&client_id=nobody&client_secret=x", nil, 401, "invalid_client"},
		{"token: Basic and body", "/oauth/token", form, cc + "&client_id=" + c.id + "&client_secret=" + url.QueryEscape(c.secret), auth, 400, "invalid_request"},

		{"introspect: malformed JSON", "/oauth/introspect", "application/json", `{"token":`, auth, 400, "invalid_request"},
		{"introspect: text/plain", "/oauth/introspect", "text/plain", "token=" + tk.access, auth, 400, "invalid_request"},
		{"introspect: JSON array", "/oauth/introspect", "application/json", `[]`, auth, 400, "invalid_request"},
		{"introspect: no token", "/oauth/introspect", form, "", auth, 400, "invalid_request"},
		{"introspect: repeated token", "/oauth/introspect", form, "token=a&token=b", auth, 400, "invalid_request"},
		{"introspect: no client authentication", "/oauth/introspect", form, "token=" + tk.access, nil, 401, "invalid_client"},
		{"introspect: wrong secret", "/oauth/introspect", form, "token=" + tk.access, basic(c.id, "wrong"), 401, "invalid_client"},
		{"introspect: Basic with an empty id", "/oauth/introspect", form, "token=" + tk.access, emptyID, 401, "invalid_client"},

		{"revoke: malformed JSON", "/oauth/revoke", "application/json", `{"token":`, auth, 400, "invalid_request"},
		{"revoke: text/plain", "/oauth/revoke", "text/plain", "token=" + tk.access, auth, 400, "invalid_request"},
		{"revoke: no token", "/oauth/revoke", form, "", auth, 400, "invalid_request"},
		{"revoke: repeated token", "/oauth/revoke", form, "token=a&token=b", auth, 400, "invalid_request"},
		{"revoke: no client authentication", "/oauth/revoke", form, "token=" + tk.access, nil, 401, "invalid_client"},
		{"revoke: wrong secret", "/oauth/revoke", form, "token=" + tk.access, basic(c.id, "wrong"), 401, "invalid_client"},
		{"revoke: another client's token", "/oauth/revoke", form, "token=" + tk.access, basic(other.id, other.secret), 400, "unauthorized_client"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := n.do(t, http.MethodPost, tc.path, tc.ctype, tc.body, tc.hdr)
			if a.status != tc.status {
				t.Errorf("status %d, want %d: %s", a.status, tc.status, a.body)
			}
			if got := keysOf(t, a.body); got != "error,error_description" {
				t.Errorf("body %s, want exactly {error, error_description}", a.body)
			}
			e := a.json(t)
			if e["error"] != tc.error || str(e["error_description"]) == "" {
				t.Errorf("body %s, want error %s with a description", a.body, tc.error)
			}
			if got := a.header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", got)
			}
			if got := a.header.Get("Content-Type"); !strings.HasPrefix(got, "application/json") {
				t.Errorf("Content-Type %q", got)
			}
			if w := a.header.Get("WWW-Authenticate"); (a.status == 401) != strings.HasPrefix(w, "Basic") {
				t.Errorf("WWW-Authenticate %q with status %d", w, a.status)
			}
		})
	}
	// The refused requests left the client's tokens alone.
	if a := n.postForm(t, "/oauth/introspect", url.Values{"token": {tk.access}}, auth); a.status != 200 || a.json(t)["active"] != true {
		t.Errorf("introspection after the refusals: %d %s", a.status, a.body)
	}
}

// TestDiscoveryIgnoresForwardedHeaders: the RFC 8414 metadata names the one
// issuer the server decided at start whatever Host, X-Forwarded-* or
// Forwarded headers say, so a shared cache cannot be poisoned with another
// host's endpoints, and its issuer is the iss of the tokens: derived from the
// listen address when the globals set none, as configured (without a
// trailing slash) when they do.
func TestDiscoveryIgnoresForwardedHeaders(t *testing.T) {
	t.Setenv("NECTAR_CREDENTIALS_APIKEY", adminKey)
	for _, tc := range []struct {
		name    string
		globals func(base string) map[string]any
		want    func(base string) string
	}{
		{"no oauth_issuer", nil, func(base string) string { return base }},
		{"oauth_issuer with a trailing slash", func(string) map[string]any { return map[string]any{"oauth_issuer": "https://auth.example.com/"} }, func(string) string { return "https://auth.example.com" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := startNectarWith(t, tc.globals)
			want := tc.want(n.url)
			c := n.createClient(t, nil)
			if iss := decodeClaims(t, n.token(t, c).access)["iss"]; iss != want {
				t.Errorf("token iss %v, want %s", iss, want)
			}
			for _, hdr := range []http.Header{
				nil,
				{"X-Forwarded-Host": {"evil.example"}},
				{"X-Forwarded-Host": {"a", "b"}},
				{"X-Forwarded-Proto": {"https"}, "X-Forwarded-Host": {"evil.example"}},
				{"Forwarded": {"host=evil.example;proto=https"}},
			} {
				req, err := http.NewRequest(http.MethodGet, n.url+"/.well-known/oauth-authorization-server", nil)
				if err != nil {
					t.Fatal(err)
				}
				req.Host = "other.example" // the Host header is the client's to choose too
				for k, v := range hdr {
					req.Header[k] = v
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var md map[string]any
				err = json.NewDecoder(resp.Body).Decode(&md)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 {
					t.Fatalf("metadata with %v: %d %v", hdr, resp.StatusCode, err)
				}
				if md["issuer"] != want {
					t.Errorf("with %v: issuer %v, want %s", hdr, md["issuer"], want)
				}
				for k, path := range map[string]string{"token_endpoint": "/oauth/token", "introspection_endpoint": "/oauth/introspect", "revocation_endpoint": "/oauth/revoke"} {
					if md[k] != want+path {
						t.Errorf("with %v: %s %v, want %s", hdr, k, md[k], want+path)
					}
				}
			}
		})
	}
}
