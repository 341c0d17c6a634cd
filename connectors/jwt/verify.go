package jwt

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/expression"
	"github.com/nectar-run/nectar/engine/value"
)

// verifyStep verifies tokens.
type verifyStep struct {
	keys     *keyCache
	parser   *gojwt.Parser
	token    engine.Template
	typ      string
	issuer   []engine.Template
	audience []engine.Template
	subject  engine.Template
	require  []string
}

var _ engine.Step = (*verifyStep)(nil)

func compileVerify(cfg Config, cc *engine.Compiler) (engine.Step, error) {
	a, err := keyOptions(cfg, cc)
	if err != nil {
		return nil, err
	}
	if !cfg.Token.IsSet() {
		return nil, cc.Errorf("", "verify needs the token option")
	}
	if cfg.Leeway.D() > 5*time.Minute {
		return nil, cc.Errorf("leeway", "a leeway of %s is not small; at most 5m is accepted", cfg.Leeway.D())
	}
	opts := []gojwt.ParserOption{
		// The algorithm is pinned: a token naming any other one, "none"
		// included, is refused before a key is looked at.
		gojwt.WithValidMethods([]string{a.name}),
		gojwt.WithLeeway(cfg.Leeway.D()),
		gojwt.WithIssuedAt(),
		gojwt.WithStrictDecoding(),
	}
	if cfg.RequireExpiry {
		opts = append(opts, gojwt.WithExpirationRequired())
	}
	return &verifyStep{
		keys:     &keyCache{account: cfg.Account, alg: a, refresh: cfg.JWKSRefresh.D()},
		parser:   gojwt.NewParser(opts...),
		token:    cfg.Token,
		typ:      cfg.Type,
		issuer:   cfg.Issuer,
		audience: cfg.Audience,
		subject:  cfg.Subject,
		require:  cfg.Require,
	}, nil
}

// These errors tell why a key could not be chosen for a token.
var (
	errNoKey    = errors.New("no key matches the token's kid")
	errNoAlgKey = errors.New("no key of the JWKS suits")
	errKeyFetch = errors.New("the keys cannot be fetched")
	errUnsuited = errors.New("the account's key does not suit the algorithm")
)

// unauthorized is the error of a refused token: 401, a message that says
// what is wrong without quoting the token, and the library's error kept
// as the cause for those who unwrap it.
func unauthorized(cause error, format string, args ...any) *engine.Error {
	return &engine.Error{Timestamp: time.Now().UnixMilli(), Code: 401, Message: "invalid token: " + fmt.Sprintf(format, args...), Cause: cause}
}

// tokenText evaluates the token option and removes a "Bearer " prefix.
func tokenText(x *engine.Exec, t engine.Template, in any) (string, error) {
	s, err := t.String(x, in)
	if err != nil {
		return "", err
	}
	s = strings.TrimSpace(s)
	if len(s) > 7 && strings.EqualFold(s[:7], "bearer ") {
		s = strings.TrimSpace(s[7:])
	}
	if s == "" {
		return "", engine.NewError(401, "no token")
	}
	if len(s) > maxTokenSize {
		return "", engine.NewError(401, "invalid token: longer than %d bytes", maxTokenSize)
	}
	return s, nil
}

// Execute verifies the token and returns
// {"success": true, "verified": true, "claims": {...}}; a token that fails
// any check is a 401 error.
func (s *verifyStep) Execute(ctx context.Context, x *engine.Exec, in any) (any, error) {
	tok, err := tokenText(x, s.token, in)
	if err != nil {
		return nil, err
	}
	ctx = fetchContext(ctx, x)
	ks, err := s.keys.get(ctx, sourceOf(x.Runtime))
	if err != nil {
		return nil, keyError(s.keys.account, err)
	}
	cs := &claimSet{}
	t, err := s.parser.ParseWithClaims(tok, cs, func(t *gojwt.Token) (any, error) { return ks.keyFor(ctx, t) })
	if err != nil {
		return nil, s.refusal(t, err)
	}
	if err := s.checkHeader(t); err != nil {
		return nil, err
	}
	if err := s.checkClaims(x, in, cs.obj); err != nil {
		return nil, err
	}
	out := value.NewObject(3)
	out.Set("success", true)
	out.Set("verified", true)
	out.Set("claims", cs.obj)
	return out, nil
}

// refusal maps a library error to the step's error.
func (s *verifyStep) refusal(t *gojwt.Token, err error) error {
	return refusal(t, err, s.keys.account, []string{s.keys.alg.name}, s.keys.alg.name)
}

// refusal maps a library error to the error of a refused token; accepted
// are the algorithms the parser accepts, which expected names for a person.
func refusal(t *gojwt.Token, err error, account string, accepted []string, expected string) error {
	switch {
	case errors.Is(err, gojwt.ErrTokenMalformed):
		return unauthorized(err, "malformed")
	case t != nil && t.Method == nil:
		// ParseUnverified did not know the algorithm ("none" is known, and
		// refused below).
		return unauthorized(err, "algorithm %s is not accepted; expected %s", previewAlg(t), expected)
	case t != nil && !slices.Contains(accepted, t.Method.Alg()):
		return unauthorized(err, "algorithm %s is not accepted; expected %s", previewAlg(t), expected)
	case errors.Is(err, errUnsuited):
		return unauthorized(err, "the account's key does not verify %s tokens", previewAlg(t))
	case errors.Is(err, errNoAlgKey):
		return unauthorized(err, "no key for alg %s", previewAlg(t))
	case errors.Is(err, errNoKey):
		return unauthorized(err, "no key matches its kid")
	case errors.Is(err, errKeyFetch):
		return &engine.Error{Timestamp: time.Now().UnixMilli(), Code: 503, Message: fmt.Sprintf("account %q: the JWKS cannot be fetched", account), Cause: err}
	}
	for _, r := range libraryRefusals {
		if errors.Is(err, r.err) {
			return unauthorized(err, "%s", r.what)
		}
	}
	return unauthorized(err, "cannot be verified")
}

// libraryRefusals say why the library refused a token, first match wins
// (a token can fail several checks at once).
var libraryRefusals = []struct {
	err  error
	what string
}{
	{gojwt.ErrTokenSignatureInvalid, "signature does not match"},
	{gojwt.ErrTokenExpired, "expired"},
	{gojwt.ErrTokenNotValidYet, "not valid yet (nbf)"},
	{gojwt.ErrTokenUsedBeforeIssued, "issued in the future (iat)"},
	{gojwt.ErrTokenRequiredClaimMissing, "exp claim missing"},
	{gojwt.ErrTokenInvalidClaims, "a registered claim has the wrong type"},
}

// previewAlg returns the token's alg header for a message, cut short: it
// comes from the caller.
func previewAlg(t *gojwt.Token) string {
	alg, _ := t.Header["alg"].(string)
	if len(alg) > 16 {
		alg = alg[:16] + "…"
	}
	return fmt.Sprintf("%q", alg)
}

func (s *verifyStep) checkHeader(t *gojwt.Token) error {
	if _, ok := t.Header["crit"]; ok {
		// RFC 7515 §4.1.11: extensions listed in crit must be understood;
		// Nectar understands none.
		return unauthorized(nil, "critical header extensions are not supported")
	}
	if s.typ == "" {
		return nil
	}
	typ, _ := t.Header["typ"].(string)
	if len(typ) > 12 && strings.EqualFold(typ[:12], "application/") {
		typ = typ[12:]
	}
	if !strings.EqualFold(typ, s.typ) {
		return unauthorized(nil, "type is not %s", s.typ)
	}
	return nil
}

// acceptOne checks a claim against the accepted values (templates; none:
// anything is accepted): it passes when matches holds for one of them, and
// is refused with "<what> not accepted" otherwise.
func acceptOne(x *engine.Exec, in any, accepted []engine.Template, what string, matches func(want string) bool) error {
	if len(accepted) == 0 {
		return nil
	}
	for _, t := range accepted {
		want, err := t.String(x, in)
		if err != nil {
			return err
		}
		if matches(want) {
			return nil
		}
	}
	return unauthorized(nil, "%s not accepted", what)
}

func (s *verifyStep) checkClaims(x *engine.Exec, in any, claims *value.Object) error {
	iss, _ := claims.Get("iss")
	if err := acceptOne(x, in, s.issuer, "issuer", func(want string) bool { return iss == want }); err != nil {
		return err
	}
	aud, _ := claims.Get("aud")
	if err := acceptOne(x, in, s.audience, "audience", func(want string) bool { return hasAudience(aud, want) }); err != nil {
		return err
	}
	if s.subject.IsSet() {
		want, err := s.subject.String(x, in)
		if err != nil {
			return err
		}
		if sub, _ := claims.Get("sub"); sub != want {
			return unauthorized(nil, "subject not accepted")
		}
	}
	for _, name := range s.require {
		if v, ok := claims.Get(name); !ok || v == nil {
			return unauthorized(nil, "%s claim missing", name)
		}
	}
	return nil
}

func hasAudience(aud any, want string) bool {
	switch a := aud.(type) {
	case string:
		return a == want
	case []any:
		for _, v := range a {
			if v == want {
				return true
			}
		}
	}
	return false
}

// keyFor chooses the keys a token may be verified with: those whose kid is
// the token's, and those without a kid; all of them when the token has no
// kid.
func (ks *keySet) keyFor(ctx context.Context, t *gojwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	keys := ks.verify
	if ks.remote != nil {
		remote, err := ks.remote.keysFor(ctx, kid, ks.alg)
		switch {
		case errors.Is(err, errNoAlgKey):
			if len(keys) == 0 {
				return nil, err
			}
		case err != nil:
			return nil, fmt.Errorf("%w: %w", errKeyFetch, err)
		}
		if len(keys) == 0 {
			keys = remote
		} else {
			keys = append(keys[:len(keys):len(keys)], remote...)
		}
	}
	var one any
	n := 0
	for _, k := range keys {
		if kid == "" || k.kid == "" || k.kid == kid {
			one = k.key
			n++
		}
	}
	switch n {
	case 0:
		return nil, errNoKey
	case 1:
		return one, nil
	}
	set := gojwt.VerificationKeySet{Keys: make([]gojwt.VerificationKey, 0, n)}
	for _, k := range keys {
		if kid == "" || k.kid == "" || k.kid == kid {
			set.Keys = append(set.Keys, k.key)
		}
	}
	return set, nil
}

// claimSet holds a token's claims as an ordered object with exact
// integers, and gives the library the registered claims it checks.
type claimSet struct{ obj *value.Object }

var _ gojwt.Claims = (*claimSet)(nil)

// UnmarshalJSON decodes the claims; they must be an object.
func (c *claimSet) UnmarshalJSON(b []byte) error {
	v, err := value.Decode(b)
	if err != nil {
		return err
	}
	o, ok := v.(*value.Object)
	if !ok {
		return errors.New("claims are not an object")
	}
	c.obj = o
	return nil
}

func (c *claimSet) date(name string) (*gojwt.NumericDate, error) {
	v, ok := c.obj.Get(name)
	if !ok || v == nil {
		return nil, nil
	}
	switch n := v.(type) {
	case int64:
		return gojwt.NewNumericDate(time.Unix(n, 0)), nil
	case float64:
		sec := int64(n)
		return gojwt.NewNumericDate(time.Unix(sec, int64((n-float64(sec))*1e9))), nil
	}
	return nil, fmt.Errorf("%w: %s is not a number", gojwt.ErrInvalidType, name)
}

func (c *claimSet) str(name string) (string, error) {
	v, ok := c.obj.Get(name)
	if !ok || v == nil {
		return "", nil
	}
	s, isStr := v.(string)
	if !isStr {
		return "", fmt.Errorf("%w: %s is not a string", gojwt.ErrInvalidType, name)
	}
	return s, nil
}

// GetExpirationTime implements gojwt.Claims.
func (c *claimSet) GetExpirationTime() (*gojwt.NumericDate, error) { return c.date("exp") }

// GetIssuedAt implements gojwt.Claims.
func (c *claimSet) GetIssuedAt() (*gojwt.NumericDate, error) { return c.date("iat") }

// GetNotBefore implements gojwt.Claims.
func (c *claimSet) GetNotBefore() (*gojwt.NumericDate, error) { return c.date("nbf") }

// GetIssuer implements gojwt.Claims.
func (c *claimSet) GetIssuer() (string, error) { return c.str("iss") }

// GetSubject implements gojwt.Claims.
func (c *claimSet) GetSubject() (string, error) { return c.str("sub") }

// GetAudience implements gojwt.Claims.
func (c *claimSet) GetAudience() (gojwt.ClaimStrings, error) {
	v, _ := c.obj.Get("aud")
	switch a := v.(type) {
	case nil:
		return nil, nil
	case string:
		return gojwt.ClaimStrings{a}, nil
	case []any:
		out := make(gojwt.ClaimStrings, 0, len(a))
		for _, s := range a {
			str, ok := s.(string)
			if !ok {
				return nil, fmt.Errorf("%w: aud holds %s", gojwt.ErrInvalidType, expression.TypeWithArticle(s))
			}
			out = append(out, str)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: aud is %s", gojwt.ErrInvalidType, expression.TypeWithArticle(v))
}

// decodeStep reads tokens without verifying them.
type decodeStep struct {
	token  engine.Template
	parser *gojwt.Parser
}

var _ engine.Step = (*decodeStep)(nil)

// Execute decodes the token WITHOUT checking its signature or dates and
// returns {"success": true, "verified": false, "unverified_header": {...},
// "unverified_claims": {...}}. A token that is not a JWT is a 400 error.
func (s *decodeStep) Execute(ctx context.Context, x *engine.Exec, in any) (any, error) {
	tok, err := tokenText(x, s.token, in)
	if err != nil {
		if e := engine.AsError(err); e.Code == 401 {
			e.Code = 400
		}
		return nil, err
	}
	cs := &claimSet{}
	t, _, err := s.parser.ParseUnverified(tok, cs)
	// An unknown algorithm does not matter to a decode.
	if err != nil && !errors.Is(err, gojwt.ErrTokenUnverifiable) || t == nil || cs.obj == nil {
		return nil, &engine.Error{Timestamp: time.Now().UnixMilli(), Code: 400, Message: "malformed token", Cause: err}
	}
	// The header is decoded again, into an ordered object.
	head, _, _ := strings.Cut(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return nil, engine.NewError(400, "malformed token")
	}
	h, err := value.Decode(raw)
	if err != nil {
		return nil, engine.NewError(400, "malformed token")
	}
	out := value.NewObject(4)
	out.Set("success", true)
	out.Set("verified", false)
	out.Set("unverified_header", h)
	out.Set("unverified_claims", cs.obj)
	return out, nil
}
