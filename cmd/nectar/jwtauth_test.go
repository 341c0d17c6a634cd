package main_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/nectar-run/nectar/secret"
)

// jwtAuthPipelines are served by TestServeJWTAuth: an auth: jwt trigger per
// account, and the jwt connector and verify-key reading the same account.
const jwtAuthPipelines = `
name: idp-trigger
trigger:
  http:
    path: /idp
    methods: [GET]
    auth: jwt
    jwt: {account: idp}
steps:
  - set: {sub: "{{ metadata.consumer.name }}"}
---
name: idp-connector
trigger:
  http: {path: /idp-connector, methods: [GET]}
steps:
  - jwt: {operation: verify, account: idp, algorithm: RS256, token: "{{ metadata.request.headers.authorization }}"}
  - set: {sub: "{{ message.claims.sub }}"}
---
name: idp-verify-key
trigger:
  http: {path: /idp-verify-key, methods: [GET]}
steps:
  - verify-key: {key: "{{ metadata.request.headers['x-key'] }}", account: idp}
  - set: {ok: true}
---
name: rotated
trigger:
  http:
    path: /rotated
    methods: [GET]
    auth: jwt
    jwt: {account: rotated}
steps:
  - set: {sub: "{{ metadata.consumer.name }}"}
---
name: rotated-connector
trigger:
  http: {path: /rotated-connector, methods: [GET]}
steps:
  - jwt: {operation: verify, account: rotated, algorithm: HS256, token: "{{ metadata.request.headers.authorization }}"}
  - set: {sub: "{{ message.claims.sub }}"}
---
name: env-only
trigger:
  http:
    path: /env-only
    methods: [GET]
    auth: jwt
    jwt: {account: env-only}
steps:
  - set: {sub: "{{ metadata.consumer.name }}"}
`

// TestServeJWTAuth serves auth: jwt triggers with nectar serve, as shipped,
// with keys in accounts and in NECTAR_JWT_* variables.
//
// The idp account holds the URL of a JWKS (an RSA key). An attacker who
// signs an HS256 token with that public URL string as the HMAC secret is
// refused by the trigger, the jwt connector and verify-key alike; a token
// signed with the RSA key passes.
//
// The rotated account holds an old secret in the store, and
// NECTAR_JWT_ROTATED_SECRET the new one: the variable wins for the trigger
// as for the connector. The env-only account exists only as a variable.
func TestServeJWTAuth(t *testing.T) {
	bin := sharedNectar(t)

	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
			"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
			"n": base64.RawURLEncoding.EncodeToString(priv.N.Bytes()),
			"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(priv.E)).Bytes()),
		}}})
	}))
	t.Cleanup(jwks.Close)
	jwksURL := jwks.URL + "/.well-known/jwks.json"

	const (
		oldSecret = "the old secret of the rotated account, 32+ bytes"
		newSecret = "the new secret of the rotated account, 32+ bytes"
		envSecret = "the secret of the env-only account, 32 bytes or more"
	)
	masterKey := secret.EncodeKey(secret.GenerateKey())
	t.Setenv(secret.EnvKey, masterKey)
	t.Setenv("NECTAR_ADMIN_KEY", "nka_jwtauth-test")
	t.Setenv("NECTAR_JWT_ROTATED_SECRET", newSecret)
	t.Setenv("NECTAR_JWT_ENV_ONLY_SECRET", envSecret)

	data := t.TempDir()
	for name, key := range map[string]string{"idp": jwksURL, "rotated": oldSecret} {
		cmd := exec.Command(bin, "accounts", "create", name, "--type", "bearer", "--token-env", "ACCOUNT_KEY", "--data-dir", data)
		cmd.Env = append(os.Environ(), "ACCOUNT_KEY="+key)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("accounts create %s: %v\n%s", name, err, out)
		}
	}
	dir := t.TempDir()
	for i, doc := range strings.Split(jwtAuthPipelines, "\n---\n") {
		if err := os.WriteFile(filepath.Join(dir, "p"+string(rune('a'+i))+".yaml"), []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	srv := startServe(t, bin, dir, data)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("nectar serve:\n%s", srv.log())
		}
	})

	exp := time.Now().Add(time.Hour).Unix()
	sign := func(m gojwt.SigningMethod, kid string, key any, sub string) string {
		tok := gojwt.NewWithClaims(m, gojwt.MapClaims{"sub": sub, "exp": exp})
		if kid != "" {
			tok.Header["kid"] = kid
		}
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// What the attacker sent: HS256, the public JWKS URL as the secret.
	forged := sign(gojwt.SigningMethodHS256, "k1", []byte(jwksURL), "attacker")
	forgedNoKid := sign(gojwt.SigningMethodHS256, "", []byte(jwksURL), "attacker")
	good := sign(gojwt.SigningMethodRS256, "k1", priv, "alice")

	get := func(path string, hdr map[string]string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.base+path, nil)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	bearer := func(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

	tests := []struct {
		name, path string
		hdr        map[string]string
		code       int
		want       string
	}{
		{"trigger refuses HS256 signed with the JWKS URL", "/idp", bearer(forged), 401, ""},
		{"trigger refuses HS256 signed with the JWKS URL, no kid", "/idp", bearer(forgedNoKid), 401, ""},
		{"trigger accepts RS256 signed with the JWKS key", "/idp", bearer(good), 200, `"sub":"alice"`},
		{"jwt connector refuses the forged token", "/idp-connector", bearer(forged), 401, ""},
		{"jwt connector accepts RS256", "/idp-connector", bearer(good), 200, `"sub":"alice"`},
		{"verify-key refuses the forged token", "/idp-verify-key", map[string]string{"X-Key": forged}, 500, "public"},
		{"verify-key refuses the public JWKS URL as a key", "/idp-verify-key", map[string]string{"X-Key": jwksURL}, 500, "public"},

		{"trigger refuses the old key after rotation", "/rotated", bearer(sign(gojwt.SigningMethodHS256, "", []byte(oldSecret), "old")), 401, ""},
		{"trigger accepts the new key after rotation", "/rotated", bearer(sign(gojwt.SigningMethodHS256, "", []byte(newSecret), "new")), 200, `"sub":"new"`},
		{"connector refuses the old key after rotation", "/rotated-connector", bearer(sign(gojwt.SigningMethodHS256, "", []byte(oldSecret), "old")), 401, ""},
		{"connector accepts the new key after rotation", "/rotated-connector", bearer(sign(gojwt.SigningMethodHS256, "", []byte(newSecret), "new")), 200, `"sub":"new"`},
		{"trigger accepts an env-only secret", "/env-only", bearer(sign(gojwt.SigningMethodHS256, "", []byte(envSecret), "env")), 200, `"sub":"env"`},
		{"trigger refuses another secret for the env-only account", "/env-only", bearer(sign(gojwt.SigningMethodHS256, "", []byte(oldSecret), "env")), 401, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := get(tt.path, tt.hdr)
			if code != tt.code || !strings.Contains(body, tt.want) {
				t.Fatalf("%d %s, want %d with %s", code, body, tt.code, tt.want)
			}
			if strings.Contains(body, jwksURL) || strings.Contains(body, newSecret) || strings.Contains(body, "attacker") {
				t.Errorf("the answer quotes a key or the forged claims: %s", body)
			}
		})
	}
}
