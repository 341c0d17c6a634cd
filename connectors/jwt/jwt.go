// Package jwt implements the jwt connector: it signs JSON Web Tokens
// (HS256/384/512, RS256/384/512, PS256/384/512, ES256/384/512, EdDSA) from
// claims written in the pipeline, verifies them with the algorithm pinned by
// the step (so `alg: none` and algorithm confusion are refused: an RS256
// step never accepts an HS256 token signed with its public key as the
// secret), checking exp, nbf, iat, iss, aud and required claims with a small
// leeway, and decodes them without verification when asked to, under an
// operation and result fields that say so. Keys come from accounts (see
// KeySource), never from pipeline text; they are parsed once and cached.
// Signing and verifying are done by github.com/golang-jwt/jwt/v5.
package jwt

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"sync"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

// Config holds the options of a jwt step. Which options apply depends on the
// operation (their ops tags); giving one that does not apply is a load error.
type Config struct {
	Operation string `yaml:"operation" required:"true" enum:"sign,verify,decode" doc:"sign: make a token; verify: check a token and return its claims; decode: read a token WITHOUT checking its signature or dates"`
	Account   string `yaml:"account" ops:"sign,verify" doc:"the account holding the key: a secret (HS*), a private key (sign), a public key, a JWKS or a JWKS URL (verify)"`
	Algorithm string `yaml:"algorithm" ops:"sign,verify" enum:"HS256,HS384,HS512,RS256,RS384,RS512,PS256,PS384,PS512,ES256,ES384,ES512,EdDSA" doc:"the JWS algorithm; verify accepts only tokens signed with it"`
	Type      string `yaml:"type" ops:"sign,verify" doc:"sign: the typ header (default JWT); verify: the token's typ header must equal it (an application/ prefix and case are ignored)"`

	Claims      engine.Dynamic    `yaml:"claims" ops:"sign" doc:"the claims, an object whose strings may hold {{ }}; the options below override the claims they set"`
	Issuer      []engine.Template `yaml:"issuer" ops:"sign,verify" doc:"sign: the iss claim; verify: the accepted issuers, one of which must match"`
	Audience    []engine.Template `yaml:"audience" ops:"sign,verify" doc:"sign: the aud claim (a string for one value, a list for several); verify: the token's aud must hold one of these"`
	Subject     engine.Template   `yaml:"subject" ops:"sign,verify" doc:"sign: the sub claim; verify: the sub claim must equal it"`
	ID          engine.Template   `yaml:"id" ops:"sign" doc:"the jti claim"`
	GenerateID  bool              `yaml:"generate_id" ops:"sign" doc:"set jti to a random 128-bit id (when id is not given)"`
	ExpiresIn   *engine.Duration  `yaml:"expires_in" ops:"sign" doc:"set exp this long after now, like 1h or 15m"`
	NotBeforeIn *engine.Duration  `yaml:"not_before_in" ops:"sign" doc:"set nbf this long after now (0s: now)"`
	IssuedAt    bool              `yaml:"issued_at" ops:"sign" default:"true" doc:"set iat to now"`

	Token         engine.Template `yaml:"token" ops:"verify,decode" doc:"the token; a leading \"Bearer \" is removed"`
	Leeway        engine.Duration `yaml:"leeway" ops:"verify" default:"30s" doc:"clock skew allowed when checking exp, nbf and iat"`
	RequireExpiry bool            `yaml:"require_exp" ops:"verify" default:"true" doc:"refuse tokens without an exp claim"`
	Require       []string        `yaml:"require" ops:"verify" doc:"claims that must be present (and not null)"`
	JWKSRefresh   engine.Duration `yaml:"jwks_refresh" ops:"verify" default:"5m" doc:"how long keys fetched from the account's JWKS URL are kept; a token with an unknown kid refetches them sooner"`
}

// maxTokenSize bounds the tokens verify and decode read, so that a huge
// Authorization header costs nothing to refuse.
const maxTokenSize = 64 << 10

func init() {
	engine.Register("jwt", "Signs, verifies or decodes JSON Web Tokens with keys from accounts.", compile)
}

func compile(cfg Config, cc *engine.Compiler) (engine.Step, error) {
	switch cfg.Operation {
	case "sign":
		return compileSign(cfg, cc)
	case "verify":
		return compileVerify(cfg, cc)
	}
	if !cfg.Token.IsSet() {
		return nil, cc.Errorf("", "decode needs the token option")
	}
	return &decodeStep{token: cfg.Token, parser: gojwt.NewParser()}, nil
}

// keyOptions checks account and algorithm, which sign and verify need.
func keyOptions(cfg Config, cc *engine.Compiler) (algorithm, error) {
	var errs []error
	if cfg.Account == "" {
		errs = append(errs, cc.Errorf("", "%s needs the account option (keys never come from pipeline text)", cfg.Operation))
	}
	a, ok := algorithms[cfg.Algorithm]
	if !ok {
		errs = append(errs, cc.Errorf("", "%s needs the algorithm option", cfg.Operation))
	}
	return a, errors.Join(errs...)
}

// signStep signs tokens.
type signStep struct {
	keys      *keyCache
	method    gojwt.SigningMethod
	claims    engine.Dynamic
	issuer    engine.Template
	audience  []engine.Template
	subject   engine.Template
	id        engine.Template
	genID     bool
	expiresIn time.Duration
	hasExp    bool
	nbfIn     time.Duration
	hasNbf    bool
	issuedAt  bool
	// set names the registered claims the options write, which claims
	// from the claims option give way to.
	set map[string]bool
	// members holds, for each key of a claims option written out in the
	// pipeline (engine.Dynamic.Keys), what is decided at load: whether an
	// option overrides it, and the key as JSON with its colon.
	members []member
}

// member is one key of the claims option, prepared at load.
type member struct {
	skip   bool   // an option sets this claim
	prefix []byte // "key":
}

var _ engine.Step = (*signStep)(nil)

func compileSign(cfg Config, cc *engine.Compiler) (engine.Step, error) {
	a, err := keyOptions(cfg, cc)
	if err != nil {
		return nil, err
	}
	if len(cfg.Issuer) > 1 {
		return nil, cc.Errorf("issuer", "sign writes one issuer, got %d", len(cfg.Issuer))
	}
	if c, ok := cfg.Claims.Constant(); ok && c != nil {
		if _, isObj := c.(*value.Object); !isObj {
			return nil, cc.Errorf("claims", "expected an object of claims, got %s", value.TypeName(c))
		}
	}
	typ := cfg.Type
	if typ == "" {
		typ = "JWT"
	}
	s := &signStep{
		keys:     &keyCache{account: cfg.Account, alg: a, typ: typ},
		method:   a.method,
		claims:   cfg.Claims,
		audience: cfg.Audience,
		subject:  cfg.Subject,
		id:       cfg.ID,
		genID:    cfg.GenerateID,
		issuedAt: cfg.IssuedAt,
		set:      map[string]bool{},
	}
	if len(cfg.Issuer) == 1 {
		s.issuer = cfg.Issuer[0]
		s.set["iss"] = true
	}
	if s.subject.IsSet() {
		s.set["sub"] = true
	}
	if len(s.audience) > 0 {
		s.set["aud"] = true
	}
	if cfg.ExpiresIn != nil {
		s.expiresIn, s.hasExp = cfg.ExpiresIn.D(), true
		s.set["exp"] = true
	}
	if cfg.NotBeforeIn != nil {
		s.nbfIn, s.hasNbf = cfg.NotBeforeIn.D(), true
		s.set["nbf"] = true
	}
	if s.issuedAt {
		s.set["iat"] = true
	}
	if s.id.IsSet() || s.genID {
		s.set["jti"] = true
	}
	if keys, ok := s.claims.Keys(); ok {
		s.members = make([]member, len(keys))
		for i, k := range keys {
			s.members[i] = member{skip: s.set[k], prefix: append(value.AppendString(nil, k), ':')}
		}
	}
	return s, nil
}

// signBufs are the two buffers a sign reuses: the payload (then the
// signature), and the claims' members (then the token).
type signBufs struct{ payload, token []byte }

var bufPool = sync.Pool{New: func() any {
	return &signBufs{payload: make([]byte, 0, 512), token: make([]byte, 0, 512)}
}}

// Execute signs a token and returns {"success": true, "jws": TOKEN}.
func (s *signStep) Execute(ctx context.Context, x *engine.Exec, in any) (any, error) {
	// One clock read for the key source's cache and the token's dates.
	now := time.Now()
	ks, err := s.keys.getAt(ctx, sourceOf(x.Runtime), now)
	if err != nil {
		return nil, keyError(s.keys.account, err)
	}
	if ks.sign == nil {
		return nil, engine.NewError(500, "account %q has no key to sign %s tokens with (a secret or a private key)", s.keys.account, s.keys.alg.name)
	}
	b := bufPool.Get().(*signBufs)
	jws, err := s.sign(x, in, ks, b, now)
	bufPool.Put(b)
	if err != nil {
		return nil, err
	}
	// A bearer credential: masked wherever the execution's record and log
	// lines show it, also where a later step puts it in text ("Bearer
	// …", a log line, an error message) rather than under jws. Its bytes
	// are base64url and dots: no escaped form to look for.
	x.AddTokenSecret(jws)
	out := value.NewObject(2)
	out.Set("success", true)
	out.Set("jws", jws)
	return out, nil
}

// sign makes the token in b's buffers (keeping them, grown, in b): the one
// allocation is the string returned.
func (s *signStep) sign(x *engine.Exec, in any, ks *keySet, b *signBufs, now time.Time) (string, error) {
	// The claims option is written out first, as JSON members: straight
	// from the pipeline's mapping when it is one, without building the
	// object.
	var c []byte
	var encErr error // a claim that cannot be written, reported after the options' errors
	if s.claims.IsSet() {
		var err error
		c, encErr, err = s.claimMembers(b.token[:0], x, in)
		b.token = c[:0]
		if err != nil {
			return "", err
		}
	}
	p, err := s.payload(b.payload[:0], x, in, c, now)
	b.payload = p[:0]
	if err == nil {
		err = encErr
	}
	if err != nil {
		return "", err
	}
	// The claims are in the payload now: the token takes their buffer.
	tok := append(b.token[:0], ks.header...)
	tok = append(tok, '.')
	tok = appendB64(tok, p)
	b.token = tok[:0]
	var sig []byte
	if ks.macs != nil {
		// HMAC: a hash keyed once per key set, reset for each token.
		h := ks.macs.Get().(hash.Hash)
		h.Reset()
		h.Write(tok)
		sig = h.Sum(p[:0])
		ks.macs.Put(h)
		b.payload = sig[:0]
	} else if sig, err = s.method.Sign(string(tok), ks.sign); err != nil {
		return "", engine.NewError(500, "signing the token: %w", err)
	}
	tok = append(tok, '.')
	tok = appendB64(tok, sig)
	b.token = tok[:0]
	return string(tok), nil
}

// claimMembers appends the claims option's claims as JSON members
// ("k":v,…), minus those the options set. It returns the first claim that
// cannot be written as JSON apart (encErr), after evaluating every claim
// (err): the errors come in the order they did when the claims object was
// built first and written last.
func (s *signStep) claimMembers(c []byte, x *engine.Exec, in any) (_ []byte, encErr, err error) {
	// i is the index of k in s.members, -1 for the members of an object
	// the claims option evaluates to.
	member := func(i int, k string, v any) error {
		if encErr != nil {
			return nil
		}
		if i >= 0 {
			if s.members[i].skip {
				return nil
			}
			if len(c) > 0 {
				c = append(c, ',')
			}
			c = append(c, s.members[i].prefix...)
		} else {
			if s.set[k] {
				return nil
			}
			if len(c) > 0 {
				c = append(c, ',')
			}
			c = value.AppendString(c, k)
			c = append(c, ':')
		}
		var err error
		if c, err = value.AppendJSON(c, v); err != nil {
			encErr = engine.NewError(500, "claims: %s: %w", k, err)
		}
		return nil
	}
	done, err := s.claims.Fields(x, in, member)
	if err != nil {
		return c, nil, err
	}
	if !done {
		v, err := s.claims.Eval(x, in)
		if err != nil {
			return c, nil, err
		}
		switch o := v.(type) {
		case *value.Object:
			for i := range o.Len() {
				k, v := o.At(i)
				_ = member(-1, k, v)
			}
		case nil:
		default:
			return c, nil, engine.NewError(500, "claims: expected an object, got %s", value.TypeName(v))
		}
	}
	return c, encErr, nil
}

// payload appends the claims as JSON: the registered claims the options
// set, then claims, the claims option's members (claimMembers).
func (s *signStep) payload(p []byte, x *engine.Exec, in any, claims []byte, now time.Time) ([]byte, error) {
	p = append(p, '{')
	first := true
	// key appends a registered claim's key, written as JSON with its
	// colon ("iss":): these need no escaping.
	key := func(k string) {
		if !first {
			p = append(p, ',')
		}
		first = false
		p = append(p, k...)
	}
	str := func(k string, t engine.Template) error {
		v, err := t.String(x, in)
		if err != nil {
			return err
		}
		key(k)
		p = value.AppendString(p, v)
		return nil
	}
	if s.issuer.IsSet() {
		if err := str(`"iss":`, s.issuer); err != nil {
			return p, err
		}
	}
	if s.subject.IsSet() {
		if err := str(`"sub":`, s.subject); err != nil {
			return p, err
		}
	}
	switch len(s.audience) {
	case 0:
	case 1:
		if err := str(`"aud":`, s.audience[0]); err != nil {
			return p, err
		}
	default:
		key(`"aud":`)
		p = append(p, '[')
		for i, t := range s.audience {
			v, err := t.String(x, in)
			if err != nil {
				return p, err
			}
			if i > 0 {
				p = append(p, ',')
			}
			p = value.AppendString(p, v)
		}
		p = append(p, ']')
	}
	unix := now.Unix()
	if s.hasExp {
		key(`"exp":`)
		p = appendInt(p, now.Add(s.expiresIn).Unix())
	}
	if s.hasNbf {
		key(`"nbf":`)
		p = appendInt(p, now.Add(s.nbfIn).Unix())
	}
	if s.issuedAt {
		key(`"iat":`)
		p = appendInt(p, unix)
	}
	if s.id.IsSet() {
		if err := str(`"jti":`, s.id); err != nil {
			return p, err
		}
	} else if s.genID {
		var b [16]byte
		_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
		key(`"jti":`)
		p = append(p, '"')
		p = appendB64(p, b[:])
		p = append(p, '"')
	}
	if len(claims) > 0 {
		if !first {
			p = append(p, ',')
		}
		p = append(p, claims...)
	}
	return append(p, '}'), nil
}

func appendInt(p []byte, n int64) []byte { return strconv.AppendInt(p, n, 10) }

func appendJSONString(p []byte, s string) []byte { return value.AppendString(p, s) }

// keyError turns a key source or key parsing error into the step's error.
// These are configuration problems, not the caller's, so they are 500s; they
// name the account and never the key.
func keyError(account string, err error) error {
	if errors.Is(err, ErrUnknownAccount) {
		return &engine.Error{Timestamp: time.Now().UnixMilli(), Code: 500, Message: fmt.Sprintf("account %q not found", account), Cause: err}
	}
	return &engine.Error{Timestamp: time.Now().UnixMilli(), Code: 500, Message: fmt.Sprintf("account %q: %v", account, err), Cause: err}
}
