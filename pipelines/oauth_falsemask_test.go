package pipelines_test

import (
	"net/http"
	"net/url"
	"testing"
)

// TestOAuthErrorsNotFalselyMasked: what a caller presents as a credential
// (a client secret in Basic or the body, a refresh token, a token to
// introspect) becomes a secret of the execution, masked in its record. A
// caller whose credential equals words of the error answered (the
// description, the error code, the client id, the grant type) must still
// get RFC 6749 §5.2's error word for word: the same body as a caller
// presenting any other wrong value.
func TestOAuthErrorsNotFalselyMasked(t *testing.T) {
	t.Setenv("NECTAR_CREDENTIALS_APIKEY", adminKey)
	n := startNectar(t)
	c := n.createClient(t, nil)
	form := "application/x-www-form-urlencoded"
	cc := "grant_type=client_credentials"
	tk := n.token(t, c)
	base := func(path, body string, hdr map[string]string) string {
		a := n.do(t, http.MethodPost, path, form, body, hdr)
		return a.body
	}
	type probe struct {
		name, path string
		req        func(v string) (string, map[string]string)
	}
	probes := []probe{
		{"token Basic secret", "/oauth/token", func(v string) (string, map[string]string) { return cc, basic(c.id, v) }},
		{"token body secret", "/oauth/token", func(v string) (string, map[string]string) {
			return cc + "&client_id=" + url.QueryEscape(c.id) + "&client_secret=" + url.QueryEscape(v), nil
		}},
		{"refresh token", "/oauth/token", func(v string) (string, map[string]string) {
			return "grant_type=refresh_token&refresh_token=" + url.QueryEscape(v), basic(c.id, c.secret)
		}},
		{"introspect Basic secret", "/oauth/introspect", func(v string) (string, map[string]string) {
			return "token=" + tk.access, basic(c.id, v)
		}},
		{"revoke Basic secret", "/oauth/revoke", func(v string) (string, map[string]string) {
			return "token=" + tk.access, basic(c.id, v)
		}},
	}
	for _, p := range probes {
		t.Run(p.name, func(t *testing.T) {
			body, hdr := p.req("wrong-value-0060")
			want := base(p.path, body, hdr)
			e := (answer{body: want}).json(t)
			desc, _ := e["error_description"].(string)
			code, _ := e["error"].(string)
			if desc == "" || code == "" {
				t.Fatalf("not an RFC 6749 error: %s", want)
			}
			for _, v := range []string{desc, code, "authentication", c.id, "client_credentials", "refresh_token", "error_description"} {
				if len(v) < 8 {
					continue
				}
				body, hdr := p.req(v)
				if got := base(p.path, body, hdr); got != want {
					t.Errorf("presenting %q: %s, want %s", v, got, want)
				}
			}
		})
	}
}
