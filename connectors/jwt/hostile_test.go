package jwt_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/nectar-run/nectar/connectors/jwt"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/enginetest"
	"github.com/nectar-run/nectar/engine/value"
)

// TestHostileForgedAlgorithmDoesNotRefetchJWKS (hostile probe): an
// anonymous caller of an auth: jwt trigger whose account holds a JWKS URL
// with RSA keys (most providers publish only those) sends tokens whose
// header says ES256 or PS256, signed with anything. Each such token makes
// Nectar fetch the JWKS URL again (no key of the set suits the algorithm,
// so nothing is cached), logs an error and answers 503 "the keys that
// verify tokens cannot be fetched" although they can. The JWKS doc promises
// refetches at most every 30 s, "so forged kids cannot make Nectar hammer
// the provider"; a forged alg does. The tokens must be refused with 401 and
// the URL fetched a bounded number of times.
func TestHostileForgedAlgorithmDoesNotRefetchJWKS(t *testing.T) {
	f := keys(t)
	rt, src := newRuntime(t)
	var fetches atomic.Int64
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		json.NewEncoder(w).Encode(map[string]any{"keys": []any{jwkOf(t, "k1", &f.rsa.PublicKey)}})
	}))
	t.Cleanup(jwks.Close)
	src.set("idp", jwt.KeyMaterial{JWKSURL: jwks.URL})
	v := jwt.NewVerifier(rt)
	claims := gojwt.MapClaims{"sub": "attacker", "exp": time.Now().Add(time.Hour).Unix()}
	good := forge(t, gojwt.SigningMethodRS256, f.rsa, claims, map[string]any{"kid": "k1"})
	if _, err := v.Verify(context.Background(), "idp", good, jwt.VerifyOptions{}); err != nil {
		t.Fatalf("the real key's token is refused: %v", err)
	}
	before := fetches.Load()
	const n = 50
	codes := map[int]int{}
	for range n {
		tok := forge(t, gojwt.SigningMethodES256, f.ec, claims, map[string]any{"kid": "k1"})
		_, err := v.Verify(context.Background(), "idp", tok, jwt.VerifyOptions{})
		if err == nil {
			t.Fatal("a forged ES256 token was accepted")
		}
		codes[engine.AsError(err).Code]++
	}
	if got := fetches.Load() - before; got > 2 {
		t.Errorf("%d forged ES256 tokens made %d fetches of the JWKS URL (want at most 2)", n, got)
	}
	if codes[401] != n {
		t.Errorf("answers to forged ES256 tokens: %v, want %d × 401", codes, n)
	}
}

// TestRemoteJWKSOneFetchForEveryAlgorithm: a provider publishing an RSA and
// an EC key is fetched once, and the one fetched set verifies the tokens of
// both algorithms (the cache is per URL, not per algorithm).
func TestRemoteJWKSOneFetchForEveryAlgorithm(t *testing.T) {
	f := keys(t)
	rt, src := newRuntime(t)
	var fetches atomic.Int64
	ecJWK := map[string]any{
		"kty": "EC", "kid": "e1", "use": "sig", "alg": "ES256", "crv": "P-256",
		"x": base64.RawURLEncoding.EncodeToString(f.ec.PublicKey.X.FillBytes(make([]byte, 32))),
		"y": base64.RawURLEncoding.EncodeToString(f.ec.PublicKey.Y.FillBytes(make([]byte, 32))),
	}
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		json.NewEncoder(w).Encode(map[string]any{"keys": []any{jwkOf(t, "k1", &f.rsa.PublicKey), ecJWK}})
	}))
	t.Cleanup(jwks.Close)
	src.set("idp2", jwt.KeyMaterial{JWKSURL: jwks.URL})
	v := jwt.NewVerifier(rt)
	claims := gojwt.MapClaims{"sub": "s", "exp": time.Now().Add(time.Hour).Unix()}
	for _, tok := range []string{
		forge(t, gojwt.SigningMethodRS256, f.rsa, claims, map[string]any{"kid": "k1"}),
		forge(t, gojwt.SigningMethodES256, f.ec, claims, map[string]any{"kid": "e1"}),
	} {
		if _, err := v.Verify(context.Background(), "idp2", tok, jwt.VerifyOptions{}); err != nil {
			t.Fatalf("a token signed with a published key is refused: %v", err)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("RS256 and ES256 tokens made %d fetches of one JWKS URL, want 1", n)
	}
}

// TestVerifyStepNoKeyForAlgorithm: a verify step whose algorithm no key of
// the fetched set suits refuses tokens with 401 "no key for alg", fetching
// the set once, not on every run with a 503.
func TestVerifyStepNoKeyForAlgorithm(t *testing.T) {
	f := keys(t)
	rt, src := newRuntime(t)
	var fetches atomic.Int64
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		json.NewEncoder(w).Encode(map[string]any{"keys": []any{jwkOf(t, "k1", &f.rsa.PublicKey)}})
	}))
	t.Cleanup(jwks.Close)
	src.set("rsa-only", jwt.KeyMaterial{JWKSURL: jwks.URL})
	p := enginetest.Load(t, "name: j\nsteps:\n  - jwt: {operation: verify, account: rsa-only, algorithm: ES256, token: \"{{ message.t }}\"}\n")
	tok := forge(t, gojwt.SigningMethodES256, f.ec, gojwt.MapClaims{"exp": time.Now().Unix() + 60}, map[string]any{"kid": "k1"})
	for range 5 {
		_, err := p.Run(context.Background(), rt, value.ObjectOf("t", tok), engine.RunOptions{})
		e := engine.AsError(err)
		if e == nil || e.Code != 401 || !strings.Contains(e.Message, "no key for alg") {
			t.Fatalf("got %v, want 401 no key for alg", err)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("5 runs fetched the JWKS %d times, want 1", n)
	}
}
