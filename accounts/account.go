package accounts

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/nectar-run/nectar/secret"
)

// The account types.
const (
	TypeBasic                = "basic"
	TypeAPIKey               = "api-key"
	TypeCustomHeader         = "custom-header"
	TypeBearer               = "bearer"
	TypeGoogleServiceAccount = "google-service-account"
	TypeClientCredentials    = "oauth2-client-credentials"
	TypeOAuth2               = "oauth2"
)

// Types lists the account types, in the order `nectar accounts create
// --help` shows them.
var Types = []string{TypeBasic, TypeAPIKey, TypeCustomHeader, TypeBearer, TypeGoogleServiceAccount, TypeClientCredentials, TypeOAuth2}

// Account is the definition of an account: who Nectar is when it calls an
// API. The secret fields are secret.Secret, so an Account prints, logs and
// marshals without them; the Manager stores the whole definition sealed.
type Account struct {
	Name        string `yaml:"name" json:"name"`
	Type        string `yaml:"type" json:"type"`
	Description string `yaml:"description,omitempty" json:"description,omitempty"`

	// basic
	Username string        `yaml:"username,omitempty" json:"username,omitempty"`
	Password secret.Secret `yaml:"password,omitempty" json:"password,omitzero"`

	// api-key: the key goes in header KeyName (In "header", the default) or
	// in query parameter KeyName (In "query").
	KeyName string        `yaml:"key_name,omitempty" json:"key_name,omitempty"`
	KeyIn   string        `yaml:"key_in,omitempty" json:"key_in,omitempty"`
	APIKey  secret.Secret `yaml:"api_key,omitempty" json:"api_key,omitzero"`

	// custom-header
	HeaderName  string        `yaml:"header_name,omitempty" json:"header_name,omitempty"`
	HeaderValue secret.Secret `yaml:"header_value,omitempty" json:"header_value,omitzero"`

	// bearer
	Token secret.Secret `yaml:"token,omitempty" json:"token,omitzero"`

	// google-service-account: the JSON key file's content; Subject is the
	// user to impersonate with domain-wide delegation.
	ServiceAccountKey secret.Secret `yaml:"service_account_key,omitempty" json:"service_account_key,omitzero"`
	Subject           string        `yaml:"subject,omitempty" json:"subject,omitempty"`

	// oauth2 and oauth2-client-credentials (Celigo's iClient fields).
	Provider       string        `yaml:"provider,omitempty" json:"provider,omitempty"`
	Tenant         string        `yaml:"tenant,omitempty" json:"tenant,omitempty"`
	AuthURL        string        `yaml:"auth_url,omitempty" json:"auth_url,omitempty"`
	TokenURL       string        `yaml:"token_url,omitempty" json:"token_url,omitempty"`
	ClientID       string        `yaml:"client_id,omitempty" json:"client_id,omitempty"`
	ClientSecret   secret.Secret `yaml:"client_secret,omitempty" json:"client_secret,omitzero"`
	Scopes         []string      `yaml:"scopes,omitempty" json:"scopes,omitempty"`
	ScopeDelimiter string        `yaml:"scope_delimiter,omitempty" json:"scope_delimiter,omitempty"`
	// ClientAuth is where client credentials go in token requests: "body"
	// (the default) or "basic" (an Authorization: Basic header).
	ClientAuth string `yaml:"client_auth,omitempty" json:"client_auth,omitempty"`
	// TokenParams are extra token-request body parameters (audience,
	// resource…), literal; TokenHeaders replace token-request headers
	// (refreshes included) and may hold placeholders (TemplateNames).
	TokenParams  map[string]string `yaml:"token_params,omitempty" json:"token_params,omitempty"`
	TokenHeaders map[string]string `yaml:"token_headers,omitempty" json:"token_headers,omitempty"`
	// TokenBody replaces the body of access-token requests (client
	// credentials, code exchange): a template whose {{client_id}},
	// {{client_secret}}, {{scope}}… placeholders are filled in, escaped for
	// the Content-Type (token_headers). Without it the parameters are sent
	// as a JSON object when that Content-Type is JSON, as a form otherwise.
	TokenBody string `yaml:"token_body,omitempty" json:"token_body,omitempty"`
	// RefreshHeaders replace headers of refresh requests (after
	// TokenHeaders); RefreshBody replaces their body, like TokenBody
	// ({{refresh_token}}). oauth2 accounts only.
	RefreshHeaders map[string]string `yaml:"refresh_headers,omitempty" json:"refresh_headers,omitempty"`
	RefreshBody    string            `yaml:"refresh_body,omitempty" json:"refresh_body,omitempty"`
	// RevokeURL is the token revocation endpoint (RFC 7009): when the
	// account is deleted or authorized again, its old refresh token (else
	// its access token) is revoked there. A failure is logged, not fatal.
	RevokeURL string `yaml:"revoke_url,omitempty" json:"revoke_url,omitempty"`
	// TokenLocation is where the access token goes in API requests:
	// "header" (TokenHeader, default Authorization, with TokenScheme,
	// default Bearer; "none" sends the bare token), "query" (parameter
	// TokenParam, default access_token) or "body" (form or JSON field
	// TokenParam). The provider may set a default (Mercado Livre: query).
	TokenLocation string `yaml:"token_location,omitempty" json:"token_location,omitempty"`
	TokenHeader   string `yaml:"token_header,omitempty" json:"token_header,omitempty"`
	TokenScheme   string `yaml:"token_scheme,omitempty" json:"token_scheme,omitempty"`
	TokenParam    string `yaml:"token_param,omitempty" json:"token_param,omitempty"`
	// TokenLifetime is how long a token lives when the token endpoint sends
	// no expires_in (default: the Manager's, one hour). Such a token is also
	// renewed on the first auth error.
	TokenLifetime Duration `yaml:"token_lifetime,omitempty" json:"token_lifetime,omitempty"`
	// RedirectURI is the loopback callback of `accounts authorize`, when the
	// provider's app registration fixes it (http://127.0.0.1:8085/callback);
	// by default a random port on 127.0.0.1 with path /callback.
	RedirectURI string `yaml:"redirect_uri,omitempty" json:"redirect_uri,omitempty"`

	// AuthError tells how the API signals an auth failure (Celigo's
	// overrides); the default is HTTP 401.
	AuthError AuthErrorRule `yaml:"auth_error,omitempty" json:"auth_error,omitzero"`

	// RateLimit caps requests per second made with this account across all
	// steps of the process (0: none), with bursts of Burst (default 1).
	// Concurrency caps requests in flight (0: none).
	RateLimit   float64 `yaml:"rate_limit,omitempty" json:"rate_limit,omitempty"`
	Burst       int     `yaml:"burst,omitempty" json:"burst,omitempty"`
	Concurrency int     `yaml:"concurrency,omitempty" json:"concurrency,omitempty"`

	// BaseURL is the API's base: the test request's relative URL is
	// resolved against it, and its host (with its port, when it names one)
	// is a host the account's credentials may go to.
	BaseURL string `yaml:"base_url,omitempty" json:"base_url,omitempty"`
	// AllowedHosts are more hosts the account's credentials may go to
	// (Celigo's "valid domain names"): host (any port), host:port, or
	// *.example.com (every name below example.com, not example.com
	// itself). With BaseURL and a built-in provider's API hosts they are
	// the only hosts a request made with the account may reach; a request
	// to any other host fails before a credential is attached. See Hosts.
	AllowedHosts []string `yaml:"allowed_hosts,omitempty" json:"allowed_hosts,omitempty"`
	// Test is the request `nectar accounts test` makes, and that saving
	// the account makes first (Celigo's "How to test this connection?").
	Test *TestRequest `yaml:"test,omitempty" json:"test,omitempty"`
	// TestOnSave, when false, saves the account without testing it first
	// (--no-test). Unset means true.
	TestOnSave *bool `yaml:"test_on_save,omitempty" json:"test_on_save,omitempty"`
}

// AuthErrorRule says which responses mean "the credentials were refused":
// status Status (default 401), and/or, when Path is set, a JSON body whose
// field at Path (dots and [n] indexes, like error.code) holds one of Values.
// With Path and no Status, any status with a matching body is an auth error
// (APIs that answer 200 with an error in the body); 401 always is.
type AuthErrorRule struct {
	Status int      `yaml:"status,omitempty" json:"status,omitempty"`
	Path   string   `yaml:"path,omitempty" json:"path,omitempty"`
	Values []string `yaml:"values,omitempty" json:"values,omitempty"`
}

// TestRequest is an authenticated request that shows whether an account
// works (Celigo's "How to test this connection?"): URL relative to BaseURL
// or absolute, Method GET (default), POST or PUT, an optional JSON Body.
// The test fails when the request cannot be sent, when the answer is not
// 2xx or is an auth error by the account's auth_error rule, when the field
// at ErrorPath exists and holds one of ErrorValues (any value when none are
// given), or when SuccessPath is set and its field is missing or holds none
// of SuccessValues (exact, case-sensitive; any value when none are given).
// ErrorMessagePath names the field whose text the failure quotes.
type TestRequest struct {
	URL              string   `yaml:"url" json:"url"`
	Method           string   `yaml:"method,omitempty" json:"method,omitempty"`
	Body             string   `yaml:"body,omitempty" json:"body,omitempty"`
	SuccessPath      string   `yaml:"success_path,omitempty" json:"success_path,omitempty"`
	SuccessValues    []string `yaml:"success_values,omitempty" json:"success_values,omitempty"`
	ErrorPath        string   `yaml:"error_path,omitempty" json:"error_path,omitempty"`
	ErrorValues      []string `yaml:"error_values,omitempty" json:"error_values,omitempty"`
	ErrorMessagePath string   `yaml:"error_message_path,omitempty" json:"error_message_path,omitempty"`
}

// Duration is a length of time written as "90s" or "1h"; a bare number is
// seconds.
type Duration time.Duration

// UnmarshalText reads "90s", "1h" or a number of seconds.
func (d *Duration) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "" {
		*d = 0
		return nil
	}
	var n int64
	if _, err := fmt.Sscanf(s, "%d", &n); err == nil && fmt.Sprint(n) == s {
		*d = Duration(time.Duration(n) * time.Second)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("%q is not a duration like 90s or 1h", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalText writes the duration like 1h0m0s.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

var nameRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,63}$`)

// renewable reports whether the account's token can be obtained again
// without a person: every OAuth type.
func (a *Account) oauth() bool {
	switch a.Type {
	case TypeOAuth2, TypeClientCredentials, TypeGoogleServiceAccount:
		return true
	}
	return false
}

// Validate checks the definition and fills defaults. Its errors wrap
// ErrInvalid and name the field.
func (a *Account) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: account %s: %s", ErrInvalid, a.Name, fmt.Sprintf(format, args...))
	}
	if !nameRE.MatchString(a.Name) {
		return fmt.Errorf("%w: account name %q: use letters, digits, - and _ (at most 64, starting with a letter)", ErrInvalid, a.Name)
	}
	need := func(field string, ok bool) error {
		if !ok {
			return bad("%s is required for type %s", field, a.Type)
		}
		return nil
	}
	var err error
	switch a.Type {
	case TypeBasic:
		err = need("username", a.Username != "")
	case TypeAPIKey:
		if err = need("api_key", !a.APIKey.IsZero()); err == nil {
			err = need("key_name", a.KeyName != "")
		}
		if a.KeyIn == "" {
			a.KeyIn = "header"
		}
		if err == nil && a.KeyIn != "header" && a.KeyIn != "query" {
			err = bad("key_in must be header or query, not %q", a.KeyIn)
		}
	case TypeCustomHeader:
		if err = need("header_name", a.HeaderName != ""); err == nil {
			err = need("header_value", !a.HeaderValue.IsZero())
		}
	case TypeBearer:
		err = need("token", !a.Token.IsZero())
	case TypeGoogleServiceAccount:
		if err = need("service_account_key", !a.ServiceAccountKey.IsZero()); err == nil {
			_, err = parseServiceAccount(a.ServiceAccountKey)
			if err != nil {
				err = bad("service_account_key: %v", err)
			}
		}
		if err == nil {
			err = need("scopes", len(a.Scopes) > 0)
		}
	case TypeClientCredentials:
		if err = need("token_url", a.TokenURL != ""); err == nil {
			err = need("client_id", a.ClientID != "")
		}
	case TypeOAuth2:
		if err = need("client_id", a.ClientID != ""); err == nil && a.Provider == "" && (a.AuthURL == "" || a.TokenURL == "") {
			err = bad("provider (google, microsoft, mercadolivre or a custom one), or auth_url and token_url, is required for type oauth2")
		}
	case "":
		err = bad("type is required: one of %s", strings.Join(Types, ", "))
	default:
		err = bad("unknown type %q: use one of %s", a.Type, strings.Join(Types, ", "))
	}
	if err != nil {
		return err
	}
	for _, u := range []struct{ field, v string }{{"token_url", a.TokenURL}, {"auth_url", a.AuthURL}, {"base_url", a.BaseURL}, {"redirect_uri", a.RedirectURI}} {
		if u.v == "" {
			continue
		}
		p, perr := url.Parse(u.v)
		if perr != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return bad("%s must be an http(s) URL", u.field)
		}
	}
	for _, h := range a.AllowedHosts {
		if err := checkHostPattern(h); err != nil {
			return bad("allowed_hosts: %v", err)
		}
	}
	if a.RedirectURI != "" {
		p, _ := url.Parse(a.RedirectURI)
		if h := p.Hostname(); h != "127.0.0.1" && h != "localhost" && h != "::1" {
			return bad("redirect_uri must be a loopback address (127.0.0.1): nectar receives the callback itself")
		}
	}
	if a.ClientAuth != "" && a.ClientAuth != "body" && a.ClientAuth != "basic" {
		return bad("client_auth must be body or basic, not %q", a.ClientAuth)
	}
	if a.TokenLocation != "" && !slices.Contains([]string{"header", "query", "body"}, a.TokenLocation) {
		return bad("token_location must be header, query or body, not %q", a.TokenLocation)
	}
	if a.RateLimit < 0 || a.Burst < 0 || a.Concurrency < 0 {
		return bad("rate_limit, burst and concurrency cannot be negative")
	}
	if a.Test != nil && a.Test.URL == "" {
		return bad("test.url is required when test is set")
	}
	if a.Test != nil && a.Test.Method != "" && !slices.Contains([]string{"GET", "POST", "PUT"}, a.Test.Method) {
		return bad("test.method must be GET, POST or PUT, not %q", preview(a.Test.Method, 20))
	}
	if a.Test != nil && a.Test.Body != "" && !json.Valid([]byte(a.Test.Body)) {
		return bad("test.body must be JSON (it is sent as application/json)")
	}
	overrides := a.TokenBody != "" || len(a.RefreshHeaders) > 0 || a.RefreshBody != "" || a.RevokeURL != ""
	if overrides && a.Type != TypeOAuth2 && a.Type != TypeClientCredentials {
		return bad("token_body, refresh_headers, refresh_body and revoke_url are for types oauth2 and oauth2-client-credentials")
	}
	if (len(a.RefreshHeaders) > 0 || a.RefreshBody != "") && a.Type != TypeOAuth2 {
		return bad("refresh_headers and refresh_body are for type oauth2 (only its tokens are refreshed)")
	}
	if err := a.validateTokenRequests(); err != nil {
		return bad("%v", err)
	}
	if a.RevokeURL != "" {
		if err := checkEndpoint("revoke_url", a.RevokeURL); err != nil {
			return bad("%v", err)
		}
	}
	return nil
}

// testOnSave reports whether saving the account tests it first.
func (a *Account) testOnSave() bool { return a.TestOnSave == nil || *a.TestOnSave }

// record is an account as stored: the definition without its secrets (they
// marshal as "***") plus the secrets in clear, all sealed together.
type record struct {
	Account *Account          `json:"account"`
	Secrets map[string]string `json:"secrets,omitempty"`
}

func (a *Account) secrets() map[string]*secret.Secret {
	return map[string]*secret.Secret{
		"password": &a.Password, "api_key": &a.APIKey, "header_value": &a.HeaderValue,
		"token": &a.Token, "service_account_key": &a.ServiceAccountKey, "client_secret": &a.ClientSecret,
	}
}

func encodeAccount(a *Account) ([]byte, error) {
	r := record{Account: a, Secrets: map[string]string{}}
	for k, s := range a.secrets() {
		if !s.IsZero() {
			r.Secrets[k] = s.Reveal()
		}
	}
	return json.Marshal(r)
}

func decodeAccount(b []byte) (*Account, error) {
	var r record
	if err := json.Unmarshal(b, &r); err != nil || r.Account == nil {
		return nil, fmt.Errorf("accounts: stored account is not readable: %w", err)
	}
	for k, s := range r.Account.secrets() {
		*s = secret.New(r.Secrets[k])
	}
	return r.Account, nil
}
