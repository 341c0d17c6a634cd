package jwt

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

// Verifier verifies bearer tokens outside a pipeline: it is the jwt auth of
// http triggers (package server). It verifies exactly as a verify step does,
// with the same code, the same key source (the one SetKeySource installed in
// the runtime, so NECTAR_JWT_* variables win over the accounts there too,
// and a key rotated in an account is seen as soon as a step sees it) and the
// same parsed-key and JWKS caches.
//
// A trigger has no algorithm option, so the accepted algorithms follow from
// the kind of key the account holds: HS256, HS384 and HS512 for a shared
// secret; RS*, PS*, ES* and EdDSA for a private key, public keys, a JWKS or
// a JWKS URL, each only with keys of its family and curve. A token signed
// with HMAC is thus never checked against public material (the classic
// confusion: the public key, or the URL of the JWKS, used as the secret),
// and an account holding both a secret and public keys is refused as
// ambiguous. Tokens must carry exp; exp, nbf and iat have 30 s of leeway.
//
// A Verifier is safe for concurrent use.
type Verifier struct {
	rt            *engine.Runtime
	shared, asymm *gojwt.Parser
	caches        sync.Map // verifierKey → *keyCache
}

// VerifyOptions are the claims a Verifier checks besides the signature and
// the dates.
type VerifyOptions struct {
	Issuer   string // the iss claim must equal it, when set
	Audience string // the aud claim must hold it, when set
}

type verifierKey struct{ account, alg string }

// The algorithms a Verifier accepts, by kind of key.
var (
	sharedAlgorithms = []string{"HS256", "HS384", "HS512"}
	asymmAlgorithms  = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)

// verifierLeeway is the clock skew a Verifier allows, the default leeway of
// verify steps.
const verifierLeeway = 30 * time.Second

// verifierRefresh is how long keys fetched from a JWKS URL are kept, the
// default jwks_refresh of verify steps (so that both share one fetch).
const verifierRefresh = 5 * time.Minute

// NewVerifier returns a Verifier taking keys from rt's key source (see
// SetKeySource), looked up on each call, so that it may be installed later.
func NewVerifier(rt *engine.Runtime) *Verifier {
	parser := func(algs []string) *gojwt.Parser {
		return gojwt.NewParser(gojwt.WithValidMethods(algs), gojwt.WithLeeway(verifierLeeway),
			gojwt.WithIssuedAt(), gojwt.WithStrictDecoding(), gojwt.WithExpirationRequired())
	}
	return &Verifier{rt: rt, shared: parser(sharedAlgorithms), asymm: parser(asymmAlgorithms)}
}

// Verify checks token with the key of account and returns its claims. A
// refused token is an *engine.Error with code 401 whose message says why
// without quoting the token; a JWKS that cannot be fetched is a 503; an
// account that cannot verify tokens (unknown, without a key, with a key that
// does not parse, with both a secret and public keys) is a 500 naming the
// account, never the key.
func (v *Verifier) Verify(ctx context.Context, account, token string, o VerifyOptions) (*value.Object, error) {
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, engine.NewError(401, "no token")
	}
	if len(token) > maxTokenSize {
		return nil, engine.NewError(401, "invalid token: longer than %d bytes", maxTokenSize)
	}
	m, err := sourceOf(v.rt).JWTKey(ctx, account)
	if err != nil {
		return nil, keyError(account, err)
	}
	parser, accepted, expected, err := v.parserFor(m)
	if err != nil {
		return nil, keyError(account, err)
	}
	cs := &claimSet{}
	t, err := parser.ParseWithClaims(token, cs, func(t *gojwt.Token) (any, error) {
		// The parser has checked that the algorithm is one of accepted.
		ks, err := v.cache(account, t.Method.Alg()).of(m)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", errUnsuited, err)
		}
		return ks.keyFor(ctx, t)
	})
	if err != nil {
		return nil, refusal(t, err, account, accepted, expected)
	}
	if _, ok := t.Header["crit"]; ok {
		return nil, unauthorized(nil, "critical header extensions are not supported")
	}
	if o.Issuer != "" {
		if iss, _ := cs.obj.Get("iss"); iss != o.Issuer {
			return nil, unauthorized(nil, "issuer not accepted")
		}
	}
	if o.Audience != "" {
		if aud, _ := cs.obj.Get("aud"); !hasAudience(aud, o.Audience) {
			return nil, unauthorized(nil, "audience not accepted")
		}
	}
	return cs.obj, nil
}

// parserFor chooses the parser, and so the algorithms, for the kind of key
// m holds.
func (v *Verifier) parserFor(m KeyMaterial) (*gojwt.Parser, []string, string, error) {
	shared := !m.Secret.IsZero()
	asymm := !m.PrivateKey.IsZero() || m.PublicKey != "" || m.JWKS != "" || m.JWKSURL != ""
	switch {
	case shared && asymm:
		return nil, nil, "", errors.New("the account holds both a shared secret and public keys, so the algorithms its tokens may use are ambiguous; keep one")
	case shared:
		return v.shared, sharedAlgorithms, "HS256, HS384 or HS512 (the account holds a shared secret)", nil
	case asymm:
		return v.asymm, asymmAlgorithms, "RS*, PS*, ES* or EdDSA (the account holds public keys)", nil
	}
	return nil, nil, "", errors.New("the account holds no key")
}

// cache returns the key cache of account for alg. There is one per account
// of a trigger and accepted algorithm, so their number is bounded.
func (v *Verifier) cache(account, alg string) *keyCache {
	k := verifierKey{account, alg}
	if c, ok := v.caches.Load(k); ok {
		return c.(*keyCache)
	}
	c, _ := v.caches.LoadOrStore(k, &keyCache{account: account, alg: algorithms[alg], refresh: verifierRefresh})
	return c.(*keyCache)
}
