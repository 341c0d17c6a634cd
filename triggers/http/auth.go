package http

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/nectar-run/nectar/connectors/jwt"
	"github.com/nectar-run/nectar/consumers"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

// authenticate finds the caller of r with the trigger's auth modes. It
// returns status 401 (no or wrong credentials) or 403 (a consumer not
// allowed on the pipeline, a token without a required scope) with a message,
// or the caller (nil for auth: none).
func (s *server) authenticate(r *http.Request, pipeline string) (*caller, int, string) {
	cfg := s.cfg
	if len(cfg.Auth) == 0 || cfg.Auth[0] == "none" {
		return nil, 0, ""
	}
	var has func(string) bool = func(m string) bool { return slices.Contains(cfg.Auth, m) }
	presented := false
	if key := r.Header.Get("apikey"); key != "" && has("apikey") {
		presented = true
		if s.consumers != nil {
			if c, ok := s.consumers.AuthenticateKey(key); ok {
				return consumerCaller(c, "apikey", pipeline)
			}
		}
	}
	authz := r.Header.Get("Authorization")
	scheme, cred, _ := strings.Cut(authz, " ")
	switch {
	case strings.EqualFold(scheme, "basic") && has("basic"):
		presented = true
		user, pass, ok := r.BasicAuth()
		if ok && s.consumers != nil {
			if c, ok := s.consumers.AuthenticateBasic(user, pass); ok {
				return consumerCaller(c, "basic", pipeline)
			}
		}
	case strings.EqualFold(scheme, "bearer") && has("jwt"):
		presented = true
		return s.verifyJWT(r.Context(), strings.TrimSpace(cred), cfg.JWT)
	}
	if presented {
		return nil, http.StatusUnauthorized, "invalid credentials"
	}
	return nil, http.StatusUnauthorized, "missing credentials: send " + strings.Join(credentialNames(cfg), " or ")
}

func credentialNames(cfg *HTTP) []string {
	var out []string
	for _, m := range cfg.Auth {
		switch m {
		case "apikey":
			out = append(out, "an API key in the apikey header")
		case "basic":
			out = append(out, "Basic credentials")
		case "jwt":
			out = append(out, "a bearer token")
		}
	}
	return out
}

func challenge(cfg *HTTP) string {
	if slices.Contains(cfg.Auth, "jwt") {
		return `Bearer realm="nectar"`
	}
	if slices.Contains(cfg.Auth, "basic") {
		return `Basic realm="nectar"`
	}
	return `apikey realm="nectar"`
}

func consumerCaller(c *consumers.Consumer, method, pipeline string) (*caller, int, string) {
	if !c.Allows(pipeline) {
		return nil, http.StatusForbidden, "consumer " + c.Name + " is not allowed on pipeline " + pipeline
	}
	return &caller{consumer: c, method: method, subject: c.Name}, 0, ""
}

// caller is who sent a request.
type caller struct {
	consumer *consumers.Consumer
	method   string // apikey, basic, jwt
	subject  string
	claims   *value.Object
}

// verifyJWT checks a bearer token with the jwt connector's verifier and the
// key of the trigger's account (see jwt.Verifier: the accepted algorithms
// follow from the kind of key), then its scopes.
func (s *server) verifyJWT(ctx context.Context, token string, cfg *JWT) (*caller, int, string) {
	if cfg == nil {
		return nil, http.StatusUnauthorized, "invalid credentials"
	}
	claims, err := s.jwt.Verify(ctx, cfg.Account, token, jwt.VerifyOptions{Issuer: cfg.Issuer, Audience: cfg.Audience})
	if err != nil {
		e := engine.AsError(err)
		switch e.Code {
		case http.StatusUnauthorized:
			return nil, http.StatusUnauthorized, e.Message
		case http.StatusServiceUnavailable:
			s.h.Logger().Error("jwt keys not available", "account", cfg.Account, "error", err.Error())
			return nil, http.StatusServiceUnavailable, "the keys that verify tokens cannot be fetched"
		}
		s.h.Logger().Error("jwt key not available", "account", cfg.Account, "error", err.Error())
		return nil, http.StatusUnauthorized, "invalid credentials"
	}
	have := tokenScopes(claims)
	for _, want := range cfg.Scopes {
		if !slices.Contains(have, want) {
			return nil, http.StatusForbidden, "token lacks scope " + want
		}
	}
	sub, _ := claims.Get("sub")
	subject, _ := sub.(string)
	return &caller{method: "jwt", subject: subject, claims: claims}, 0, ""
}

func tokenScopes(c *value.Object) []string {
	var out []string
	for _, k := range []string{"scope", "scp", "scopes"} {
		v, _ := c.Get(k)
		switch v := v.(type) {
		case string:
			out = append(out, strings.Fields(v)...)
		case []any:
			for _, x := range v {
				if s, ok := x.(string); ok {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// rateLimited applies the consumer's own limit and the trigger's limit
// (per consumer, or per client address without auth).
func (s *server) rateLimited(r *http.Request, pipeline string, who *caller, now time.Time) (time.Duration, bool) {
	cfg := s.cfg
	if who != nil && who.consumer != nil && who.consumer.RateLimit != nil {
		l := who.consumer.RateLimit
		if every, err := l.Interval(); err == nil {
			if ok, wait := s.limiter.Allow("consumer\x00"+who.consumer.Name, l.Requests, every, now); !ok {
				return wait, true
			}
		}
	}
	if cfg.RateLimit == nil {
		return 0, false
	}
	every, err := consumers.Limit{Per: cfg.RateLimit.Per}.Interval()
	if err != nil {
		return 0, false
	}
	key := "pipeline\x00" + pipeline + "\x00"
	if who != nil {
		key += who.subject
	} else {
		key += clientAddr(r)
	}
	ok, wait := s.limiter.Allow(key, cfg.RateLimit.Requests, every, now)
	return wait, !ok
}

func clientAddr(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	return host
}
