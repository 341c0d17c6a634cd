package jwt_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/connectors/jwt"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/secret"
)

// TestVerifierPinsAlgorithmToKey sends the Verifier of auth: jwt triggers
// tokens signed with HMAC using public material as the secret (the JWKS URL,
// the PEM public key, the inline JWKS): each is refused, while tokens signed
// with the real keys pass.
func TestVerifierPinsAlgorithmToKey(t *testing.T) {
	f := keys(t)
	rt, src := newRuntime(t)
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"keys": []any{jwkOf(t, "k1", &f.rsa.PublicKey)}})
	}))
	t.Cleanup(jwks.Close)
	inline, _ := json.Marshal(map[string]any{"keys": []any{jwkOf(t, "k1", &f.rsa.PublicKey)}})
	src.set("jwks-url", jwt.KeyMaterial{JWKSURL: jwks.URL})
	src.set("jwks", jwt.KeyMaterial{JWKS: string(inline)})
	src.set("both", jwt.KeyMaterial{Secret: secret.New(hmacSecret), PublicKey: f.rsaPub})
	v := jwt.NewVerifier(rt)

	exp := time.Now().Add(time.Hour).Unix()
	claims := gojwt.MapClaims{"sub": "attacker", "exp": exp}
	kid := map[string]any{"kid": "k1"}
	tests := []struct {
		name, account, token string
		code                 int    // 0: accepted
		want                 string // in the error message
	}{
		{"HS256 signed with the JWKS URL", "jwks-url", forge(t, gojwt.SigningMethodHS256, []byte(jwks.URL), claims, kid), 401, "algorithm \"HS256\" is not accepted"},
		{"HS512 signed with the JWKS URL, no kid", "jwks-url", forge(t, gojwt.SigningMethodHS512, []byte(jwks.URL), claims, nil), 401, "not accepted"},
		{"HS256 signed with the inline JWKS", "jwks", forge(t, gojwt.SigningMethodHS256, []byte(inline), claims, kid), 401, "not accepted"},
		{"HS256 signed with the PEM public key", "rsa-pub", forge(t, gojwt.SigningMethodHS256, []byte(f.rsaPub), claims, nil), 401, "not accepted"},
		{"alg none", "rsa-pub", forge(t, gojwt.SigningMethodNone, gojwt.UnsafeAllowNoneSignatureType, claims, nil), 401, "not accepted"},
		{"ES256 for an RSA key", "rsa-pub", forge(t, gojwt.SigningMethodES256, f.ec, claims, nil), 401, "does not verify \"ES256\" tokens"},
		{"RS256 signed with another RSA key", "jwks-url", forge(t, gojwt.SigningMethodRS256, f.rsa2, claims, kid), 401, "signature does not match"},
		{"RS256 from the JWKS URL", "jwks-url", forge(t, gojwt.SigningMethodRS256, f.rsa, claims, kid), 0, ""},
		{"RS256 from the inline JWKS", "jwks", forge(t, gojwt.SigningMethodRS256, f.rsa, claims, kid), 0, ""},
		{"PS256 with the PEM public key", "rsa-pub", forge(t, gojwt.SigningMethodPS256, f.rsa, claims, nil), 0, ""},
		{"RS256 for a secret", "hmac", forge(t, gojwt.SigningMethodRS256, f.rsa, claims, nil), 401, "not accepted"},
		{"HS384 with the secret", "hmac", forge(t, gojwt.SigningMethodHS384, []byte(hmacSecret), claims, nil), 0, ""},
		{"no exp", "hmac", forge(t, gojwt.SigningMethodHS256, []byte(hmacSecret), gojwt.MapClaims{"sub": "x"}, nil), 401, "exp claim missing"},
		{"a secret and public keys are ambiguous", "both", forge(t, gojwt.SigningMethodHS256, []byte(hmacSecret), claims, nil), 500, "ambiguous"},
		{"unknown account", "nobody", forge(t, gojwt.SigningMethodHS256, []byte(hmacSecret), claims, nil), 500, "not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.Verify(context.Background(), tt.account, tt.token, jwt.VerifyOptions{})
			if tt.code == 0 {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if sub, _ := got.Get("sub"); sub != "attacker" {
					t.Fatalf("claims %v", got)
				}
				return
			}
			e := engine.AsError(err)
			if err == nil || e.Code != tt.code || !strings.Contains(e.Message, tt.want) {
				t.Fatalf("got %v (%v), want %d with %q", got, err, tt.code, tt.want)
			}
			if strings.Contains(e.Message, jwks.URL) || strings.Contains(e.Message, hmacSecret) {
				t.Errorf("the message quotes a key: %s", e.Message)
			}
		})
	}
}

// TestVerifierSeesRotation changes an account's key between calls: the
// Verifier, like a verify step, asks the key source each time.
func TestVerifierSeesRotation(t *testing.T) {
	rt, src := newRuntime(t)
	v := jwt.NewVerifier(rt)
	const old, next = hmacSecret, "a-rotated-shared-secret-of-enough-length-0123456789"
	claims := gojwt.MapClaims{"sub": "s", "exp": time.Now().Add(time.Hour).Unix()}
	oldTok := forge(t, gojwt.SigningMethodHS256, []byte(old), claims, nil)
	newTok := forge(t, gojwt.SigningMethodHS256, []byte(next), claims, nil)
	ctx := context.Background()
	if _, err := v.Verify(ctx, "hmac", oldTok, jwt.VerifyOptions{}); err != nil {
		t.Fatalf("before rotation: %v", err)
	}
	src.set("hmac", jwt.KeyMaterial{Secret: secret.New(next)})
	if _, err := v.Verify(ctx, "hmac", oldTok, jwt.VerifyOptions{}); engine.AsError(err).Code != 401 {
		t.Fatalf("the old key's token after rotation: %v", err)
	}
	if _, err := v.Verify(ctx, "hmac", newTok, jwt.VerifyOptions{}); err != nil {
		t.Fatalf("the new key's token after rotation: %v", err)
	}
}

// TestVerifierClaims checks issuer and audience.
func TestVerifierClaims(t *testing.T) {
	rt, _ := newRuntime(t)
	v := jwt.NewVerifier(rt)
	tok := forge(t, gojwt.SigningMethodHS256, []byte(hmacSecret), gojwt.MapClaims{"iss": "me", "aud": []string{"a", "b"}, "exp": time.Now().Add(time.Hour).Unix()}, nil)
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		o    jwt.VerifyOptions
		want string
	}{
		{"issuer and audience match", jwt.VerifyOptions{Issuer: "me", Audience: "b"}, ""},
		{"another issuer", jwt.VerifyOptions{Issuer: "you"}, "issuer not accepted"},
		{"another audience", jwt.VerifyOptions{Audience: "c"}, "audience not accepted"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(ctx, "hmac", tok, tt.o)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
		})
	}
}

// TestAccountMaterial reads each kind of key from an account, in each field.
func TestAccountMaterial(t *testing.T) {
	f := keys(t)
	tests := []struct {
		name string
		a    accounts.Account
		want jwt.KeyMaterial
		err  string
	}{
		{"a secret in token", accounts.Account{Name: "a", Token: secret.New(hmacSecret)}, jwt.KeyMaterial{Secret: secret.New(hmacSecret)}, ""},
		{"token before api_key", accounts.Account{Name: "a", Token: secret.New("t-secret"), APIKey: secret.New("k-secret")}, jwt.KeyMaterial{Secret: secret.New("t-secret")}, ""},
		{"api_key before password", accounts.Account{Name: "a", APIKey: secret.New("k"), Password: secret.New("p")}, jwt.KeyMaterial{Secret: secret.New("k")}, ""},
		{"header_value last", accounts.Account{Name: "a", HeaderValue: secret.New("h")}, jwt.KeyMaterial{Secret: secret.New("h")}, ""},
		{"a JWKS URL", accounts.Account{Name: "a", Token: secret.New("https://idp.example/jwks.json")}, jwt.KeyMaterial{JWKSURL: "https://idp.example/jwks.json"}, ""},
		{"a JWKS", accounts.Account{Name: "a", APIKey: secret.New(` {"keys":[]}`)}, jwt.KeyMaterial{JWKS: `{"keys":[]}`}, ""},
		{"a public key", accounts.Account{Name: "a", Token: secret.New(f.rsaPub)}, jwt.KeyMaterial{PublicKey: strings.TrimSpace(f.rsaPub)}, ""},
		{"a private key", accounts.Account{Name: "a", Token: secret.New(f.rsaPEM)}, jwt.KeyMaterial{PrivateKey: secret.New(strings.TrimSpace(f.rsaPEM))}, ""},
		{"no key", accounts.Account{Name: "a", Username: "u"}, jwt.KeyMaterial{}, "account a holds no key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := jwt.AccountMaterial(&tt.a)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v, want error %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}
