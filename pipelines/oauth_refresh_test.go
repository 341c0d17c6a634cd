package pipelines_test

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
)

// TestRefreshRequiresClientAuthentication: /oauth/token refreshes only for
// an authenticated client (RFC 6749 §6), and credentials that are present
// but wrong are invalid_client (401 with WWW-Authenticate, §5.2) wherever
// they come: Basic with an empty id, a wrong secret in the body. The
// credential provider keeps the reference's contract (a refresh with the
// refresh token alone) but refuses wrong credentials too.
func TestRefreshRequiresClientAuthentication(t *testing.T) {
	t.Setenv("NECTAR_CREDENTIALS_APIKEY", adminKey)
	n := startNectar(t)
	c := n.createClient(t, nil)
	pair := n.postForm(t, "/oauth/token", url.Values{"grant_type": {"client_credentials"}}, basic(c.id, c.secret))
	if pair.status != 200 {
		t.Fatalf("token: %d %s", pair.status, pair.body)
	}
	rt := str(pair.json(t)["refresh_token"])
	refresh := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	emptyID := map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(":x"))}

	for _, tc := range []struct {
		name string
		form url.Values
		hdr  map[string]string
	}{
		{"no client authentication", refresh, nil},
		{"Basic with an empty id and a wrong secret", refresh, emptyID},
		{"Basic with a wrong secret", refresh, basic(c.id, "wrong")},
		{"wrong secret in the body", with(with(refresh, "client_id", c.id), "client_secret", "wrong"), nil},
		{"client_id without a secret", with(refresh, "client_id", c.id), nil},
		{"empty client_id in the body", with(refresh, "client_id", ""), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := n.postForm(t, "/oauth/token", tc.form, tc.hdr)
			if a.status != 401 || a.json(t)["error"] != "invalid_client" {
				t.Fatalf("%d %s, want 401 invalid_client", a.status, a.body)
			}
			if w := a.header.Get("WWW-Authenticate"); !strings.HasPrefix(w, "Basic") {
				t.Errorf("WWW-Authenticate %q, want a Basic challenge", w)
			}
		})
	}
	// None of the refused attempts used the refresh token up.
	if a := n.postForm(t, "/oauth/token", refresh, basic(c.id, c.secret)); a.status != 200 {
		t.Fatalf("refresh by its client: %d %s", a.status, a.body)
	}

	// The credential provider: the reference's refresh needs no client
	// credentials; wrong ones sent along are refused all the same.
	first := n.token(t, c)
	a := n.postJSON(t, "/credential-provider", map[string]any{"grant_type": "refresh_token", "refresh_token": first.refresh, "username": c.id, "password": "wrong"}, nil)
	if a.status != 401 || a.json(t)["error"] != "invalid_client" {
		t.Errorf("credential provider, refresh with a wrong password: %d %s, want 401 invalid_client", a.status, a.body)
	}
	a = n.postJSON(t, "/credential-provider", map[string]any{"grant_type": "refresh_token", "refresh_token": first.refresh, "username": "", "password": "x"}, nil)
	if a.status != 401 || a.json(t)["error"] != "invalid_client" {
		t.Errorf("credential provider, refresh with an empty username: %d %s, want 401 invalid_client", a.status, a.body)
	}
	tokensOf(t, n.refresh(t, first.refresh)) // the documented contract
}
