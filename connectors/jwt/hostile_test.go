package jwt_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/nectar-run/nectar/connectors/jwt"
	"github.com/nectar-run/nectar/engine"
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
