package main_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// TestOAuthDiscoveryFreshServe: a nectar serve started with no
// configuration (no --globals, no oauth_issuer) answers its RFC 8414
// metadata, and a standard client finds every endpoint there: it creates a
// client through the credential provider, gets a token from the discovered
// token endpoint with golang.org/x/oauth2 (Basic and body credentials),
// whose iss is the metadata's issuer, refreshes it, introspects and
// revokes it.
func TestOAuthDiscoveryFreshServe(t *testing.T) {
	const adminKey = "discovery-admin-key-5c1e"
	bin := buildNectar(t)
	p := startServe(t, bin, t.TempDir(), t.TempDir(), "NECTAR_CREDENTIALS_APIKEY="+adminKey)
	ctx := context.Background()

	resp, err := http.Get(p.base + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatal(err)
	}
	var md struct {
		Issuer        string   `json:"issuer"`
		Token         string   `json:"token_endpoint"`
		Introspection string   `json:"introspection_endpoint"`
		Revocation    string   `json:"revocation_endpoint"`
		Grants        []string `json:"grant_types_supported"`
		AuthMethods   []string `json:"token_endpoint_auth_methods_supported"`
	}
	err = json.NewDecoder(resp.Body).Decode(&md)
	resp.Body.Close()
	if resp.StatusCode != 200 || err != nil {
		t.Fatalf("metadata: %d %v\n%s", resp.StatusCode, err, p.log())
	}
	if md.Issuer != p.base || md.Token != md.Issuer+"/oauth/token" || md.Introspection == "" || md.Revocation == "" {
		t.Fatalf("metadata %+v; want the issuer %s and its endpoints", md, p.base)
	}

	// The documented way to create a client: the credential provider, next
	// to the token endpoint.
	body := `{"partnerId":"Discovery","executionType":"create","apikey":"` + adminKey + `"}`
	resp, err = http.Post(md.Issuer+"/credential-provider", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var cred struct{ ClientID, ClientSecret string }
	err = json.NewDecoder(resp.Body).Decode(&cred)
	resp.Body.Close()
	if resp.StatusCode != 200 || err != nil || cred.ClientID == "" || cred.ClientSecret == "" {
		t.Fatalf("create a client: %d %v", resp.StatusCode, err)
	}

	for _, tc := range []struct {
		name  string
		style oauth2.AuthStyle
	}{
		{"Basic", oauth2.AuthStyleInHeader},
		{"body", oauth2.AuthStyleInParams},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cc := clientcredentials.Config{ClientID: cred.ClientID, ClientSecret: cred.ClientSecret, TokenURL: md.Token, AuthStyle: tc.style}
			tok, err := cc.Token(ctx)
			if err != nil {
				t.Fatalf("client_credentials: %v", err)
			}
			if iss := issuerOf(t, tok.AccessToken); iss != md.Issuer {
				t.Errorf("token iss %q, metadata issuer %q", iss, md.Issuer)
			}
			if tok.RefreshToken == "" {
				return // nothing to refresh
			}
			conf := oauth2.Config{ClientID: cred.ClientID, ClientSecret: cred.ClientSecret, Endpoint: oauth2.Endpoint{TokenURL: md.Token, AuthStyle: tc.style}}
			old := &oauth2.Token{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)}
			fresh, err := conf.TokenSource(ctx, old).Token()
			if err != nil {
				t.Fatalf("refresh: %v", err)
			}
			if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == tok.RefreshToken || issuerOf(t, fresh.AccessToken) != md.Issuer {
				t.Errorf("refresh gave %+v", fresh)
			}

			form := func(endpoint, token string) map[string]any {
				t.Helper()
				req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(url.Values{"token": {token}}.Encode()))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.SetBasicAuth(url.QueryEscape(cred.ClientID), url.QueryEscape(cred.ClientSecret))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("%s: %d", endpoint, resp.StatusCode)
				}
				m := map[string]any{}
				json.NewDecoder(resp.Body).Decode(&m) // revocation answers an empty body
				return m
			}
			if m := form(md.Introspection, fresh.AccessToken); m["active"] != true || m["iss"] != md.Issuer {
				t.Errorf("introspection: %v", m)
			}
			form(md.Revocation, fresh.RefreshToken)
			if m := form(md.Introspection, fresh.AccessToken); m["active"] != false {
				t.Errorf("introspection after revocation: %v", m)
			}
		})
	}
}

// issuerOf reads the iss claim of a JWT without verifying it (the server
// verified it; the test compares names).
func issuerOf(t *testing.T, jws string) string {
	t.Helper()
	parts := strings.Split(jws, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jws)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c.Iss
}

// TestServeRefusesABadIssuer: an oauth_issuer that is not an http(s) URL
// stops nectar serve at start, saying which file and why.
func TestServeRefusesABadIssuer(t *testing.T) {
	bin := buildNectar(t)
	dir := t.TempDir()
	globals := filepath.Join(dir, "prod.yaml")
	if err := os.WriteFile(globals, []byte("oauth_issuer: nectar\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--dir", t.TempDir(), "--data-dir", t.TempDir(), "--addr", "127.0.0.1:0", "--globals", globals)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), globals+`: oauth_issuer: "nectar" is not an absolute http or https URL`) {
		t.Errorf("serve with oauth_issuer: nectar: %v\n%s", err, out)
	}
}
