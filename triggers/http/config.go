// Package http is the http trigger kind: a pipeline served as a route of
// nectar serve's listener. It authenticates the caller (consumers' API keys
// and Basic credentials, bearer JWTs), applies CORS, rate limits and the body
// limit, parses the request into the message and metadata.request, runs the
// pipeline through its engine.Host and answers the final message, or what a
// respond step set (triggers.Response), or the error.
//
//	trigger:
//	  http: {path: /customers/{id}, methods: [GET], auth: apikey}
//
// See README.md for the options, the message and the answers.
package http

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/nectar-run/nectar/engine"
)

// HTTP holds the options of an http trigger.
type HTTP struct {
	Path      string            `yaml:"path" required:"true" doc:"route, starting with /; {name} matches one segment (metadata.request.params.name), a final {name...} the rest of the path"`
	Methods   []string          `yaml:"methods" default:"POST" doc:"accepted methods; others get 405 with an Allow header"`
	MaxBody   string            `yaml:"max_body" default:"5MB" doc:"largest request body (B, KB, MB); larger ones get 413"`
	Timeout   engine.Duration   `yaml:"timeout" default:"30s" doc:"the execution fails with 504 when it runs longer"`
	Auth      []string          `yaml:"auth" default:"none" doc:"how callers authenticate: none, apikey (a consumer key in the apikey header), basic (a consumer's Basic credential), jwt (a bearer token signed with the key of jwt.account); several are alternatives"`
	JWT       *JWT              `yaml:"jwt" doc:"how a bearer JWT is verified (auth: jwt)"`
	RateLimit *RateLimit        `yaml:"rate_limit" doc:"requests allowed per caller (consumer, or client address without auth) in an interval; more get 429 with Retry-After"`
	CORS      *CORS             `yaml:"cors" doc:"answer browser preflight requests and add Access-Control-* headers"`
	Headers   map[string]string `yaml:"headers" doc:"extra headers on every response"`
	// MalformedBody lets a pipeline that must answer errors in its own
	// format (the OAuth2 endpoints: RFC 6749 §5.2) answer this one too.
	MalformedBody string `yaml:"malformed_body" default:"reject" enum:"reject,pass" doc:"a body that does not parse as its Content-Type says (malformed JSON, form or multipart): reject answers 400 before the pipeline runs; pass runs the pipeline with a null message and the reason in metadata.request.body_error"`
	// ErrorFormat shapes the errors nectar serve answers itself for the
	// route, where the pipeline cannot answer: the OAuth2 endpoints answer
	// a timeout in RFC 6749 §5.2's shape too.
	ErrorFormat string `yaml:"error_format" default:"nectar" enum:"nectar,oauth2" doc:"the shape of the errors nectar serve answers itself for this route (a timeout, an execution that failed without answering, a body too large, late or malformed, a rate limit): nectar is {timestamp, error, code, …}; oauth2 is RFC 6749 §5.2 {error, error_description}: 503 and 504 become 503 temporarily_unavailable, other 5xx 500 server_error, 401 invalid_client, 429 temporarily_unavailable, other 4xx invalid_request"`

	maxBody int64
}

// The values of error_format.
const (
	ErrorFormatNectar = "nectar"
	ErrorFormatOAuth2 = "oauth2"
)

// JWT says how a bearer token is verified.
type JWT struct {
	Account  string   `yaml:"account" required:"true" doc:"the account holding the verification key, read as the jwt connector reads it (an HMAC secret, a PEM key, a JWKS or a JWKS URL; NECTAR_JWT_<ACCOUNT>_* variables win); HMAC tokens are accepted only for a secret"`
	Scopes   []string `yaml:"scopes" doc:"scopes the token must all carry (in its scope or scp claim); a token without them gets 403"`
	Issuer   string   `yaml:"issuer" doc:"required iss claim"`
	Audience string   `yaml:"audience" doc:"required aud claim"`
}

// RateLimit is a number of requests per interval.
type RateLimit struct {
	Requests int    `yaml:"requests" required:"true" doc:"requests allowed in each interval"`
	Per      string `yaml:"per" default:"minute" enum:"second,minute,hour,day" doc:"the interval"`
}

// CORS holds cross-origin options.
type CORS struct {
	Origins          []string        `yaml:"origins" default:"*" doc:"allowed origins, each scheme://host[:port] exactly (no wildcards), or * (not with allow_credentials, nor is \"null\")"`
	Methods          []string        `yaml:"methods" doc:"allowed methods (default: the trigger's)"`
	Headers          []string        `yaml:"headers" default:"Content-Type,Authorization,apikey" doc:"allowed request headers"`
	ExposeHeaders    []string        `yaml:"expose_headers" doc:"response headers scripts may read"`
	AllowCredentials bool            `yaml:"allow_credentials" doc:"send Access-Control-Allow-Credentials: true to the listed origins; needs origins listed, * is a load error"`
	MaxAge           engine.Duration `yaml:"max_age" default:"10m" doc:"how long a browser may cache a preflight answer"`
}

// MaxBodyBytes returns max_body in bytes.
func (h *HTTP) MaxBodyBytes() int64 { return h.maxBody }

// AuthModes are the values auth accepts.
var AuthModes = []string{"none", "apikey", "basic", "jwt"}

// reservedPrefixes are paths the server keeps for itself.
var reservedPrefixes = []string{"/api/", "/healthz", "/readyz", "/metrics", "/debug/"}

// check returns every problem of h's options, each an *engine.OptionError
// at its option, and sets what follows from them (the methods in upper
// case, max_body in bytes).
func (h *HTTP) check() []error {
	var errs []error
	if err := CheckPath(h.Path); err != nil {
		errs = append(errs, &engine.OptionError{Option: "path", Err: err})
	}
	for i, m := range h.Methods {
		up := strings.ToUpper(m)
		if !validMethod(up) {
			errs = append(errs, engine.OptionErrorf(fmt.Sprintf("methods[%d]", i), "%q is not an HTTP method", m))
		}
		h.Methods[i] = up
	}
	n, err := engine.ParseSize(h.MaxBody)
	if err != nil {
		errs = append(errs, &engine.OptionError{Option: "max_body", Err: err})
	}
	h.maxBody = n
	if h.Timeout <= 0 {
		errs = append(errs, engine.OptionErrorf("timeout", "must be above 0"))
	}
	none := false
	for i, a := range h.Auth {
		switch a {
		case "none":
			none = true
		case "apikey", "basic":
		case "jwt":
			if h.JWT == nil {
				errs = append(errs, engine.OptionErrorf(fmt.Sprintf("auth[%d]", i), "jwt needs a jwt block naming the account that holds the key"))
			}
		default:
			errs = append(errs, engine.OptionErrorf(fmt.Sprintf("auth[%d]", i), "expected one of %s, got %q", strings.Join(AuthModes, ", "), a))
		}
	}
	if none && len(h.Auth) > 1 {
		errs = append(errs, engine.OptionErrorf("auth", "none cannot be combined with other modes"))
	}
	if h.CORS != nil {
		errs = append(errs, validateCORS(h.CORS)...)
	}
	if h.RateLimit != nil && h.RateLimit.Requests <= 0 {
		errs = append(errs, engine.OptionErrorf("rate_limit.requests", "must be above 0"))
	}
	for k := range h.Headers {
		if !validHeaderName(k) {
			errs = append(errs, engine.OptionErrorf("headers", "%q is not a valid header name", k))
		}
	}
	return errs
}

// errCredentialsAnyOrigin is why credentials need listed origins: with
// credentials the server answers each origin with itself (browsers refuse *
// there), so "any origin" would let every site's pages send requests with the
// user's cookies or HTTP credentials and read the answers.
var errCredentialsAnyOrigin = errors.New("credentials need the allowed origins listed (origins: [https://app.example]), not *: any site could then send requests with the user's cookies and read the answers")

// errCredentialsNullOrigin is why "null" cannot go with credentials:
// browsers send Origin: null from sandboxed iframes, data: and file: pages
// and some redirects, which any site can produce, so answering it with
// credentials trusts every site.
var errCredentialsNullOrigin = errors.New(`origin "null" cannot be used with allow_credentials: any site can send Origin: null (from a sandboxed iframe) and would then send requests with the user's cookies and read the answers`)

// validateCORS returns every problem of c, each an *engine.OptionError at
// its option (the loader positions each at its own node).
func validateCORS(c *CORS) []error {
	var errs []error
	if c.AllowCredentials && slices.Contains(c.Origins, "*") {
		errs = append(errs, &engine.OptionError{Option: "cors.allow_credentials", Err: errCredentialsAnyOrigin})
	}
	for i, o := range c.Origins {
		opt := fmt.Sprintf("cors.origins[%d]", i)
		switch {
		case o == "*":
		case strings.EqualFold(o, "null"):
			if c.AllowCredentials {
				errs = append(errs, &engine.OptionError{Option: opt, Err: errCredentialsNullOrigin})
			}
		default:
			if err := checkOrigin(o); err != nil {
				errs = append(errs, &engine.OptionError{Option: opt, Err: err})
			}
		}
	}
	return errs
}

// checkOrigin reports whether o is an origin as browsers send it in the
// Origin header (scheme://host[:port], nothing else), which the server
// compares with the header exactly (without case). Anything else would
// never match, so it is an error rather than a silently dead entry;
// wildcards are refused, not matched: list each origin.
func checkOrigin(o string) error {
	u, err := url.Parse(o)
	switch {
	case strings.Contains(o, "*"):
		return fmt.Errorf("%q: wildcard origins are not supported (they would never match); list each origin, as in https://app.example.com", o)
	case err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "":
		return fmt.Errorf("%q is not an origin: write scheme://host[:port], as in https://app.example.com", o)
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("%q: an origin's scheme is http or https", o)
	case u.User != nil || u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(o, "?") || strings.HasSuffix(o, "#"):
		return fmt.Errorf("%q: an origin is scheme://host[:port] only, without a path, a trailing slash or a query (it would never match)", o)
	}
	return nil
}

// CheckPath reports whether p is a route the server accepts: it starts with
// a slash, its {name} wildcards are whole segments, and it is not one of the
// server's own paths (/api/, /healthz, /readyz, /metrics).
func CheckPath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return fmt.Errorf("%q must start with /", p)
	}
	for _, r := range reservedPrefixes {
		if p == strings.TrimSuffix(r, "/") || strings.HasPrefix(p, r) {
			return fmt.Errorf("%q is reserved for the server (%s)", p, r)
		}
	}
	segs := strings.Split(p[1:], "/")
	names := map[string]bool{}
	for i, s := range segs {
		if !strings.ContainsAny(s, "{}") {
			continue
		}
		if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
			return fmt.Errorf("segment %q: a {name} wildcard must be a whole segment", s)
		}
		name := s[1 : len(s)-1]
		if strings.HasSuffix(name, "...") {
			if i != len(segs)-1 {
				return fmt.Errorf("segment %q: {name...} must be the last segment", s)
			}
			name = strings.TrimSuffix(name, "...")
		}
		if name == "" || !isIdent(name) {
			return fmt.Errorf("segment %q: a wildcard name is letters, digits and _", s)
		}
		if names[name] {
			return fmt.Errorf("wildcard {%s} appears twice", name)
		}
		names[name] = true
	}
	return nil
}

func isIdent(s string) bool {
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func validMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

func validHeaderName(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if !(r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
