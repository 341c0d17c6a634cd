package accounts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/nectar-run/nectar/store"
)

// Provider is an OAuth2 authorization server that oauth2 accounts log in
// through: Google, Microsoft and Mercado Livre are built in; others are
// added with `nectar providers add` (stored in the bucket "providers",
// without secrets: client ids and secrets belong to accounts).
type Provider struct {
	Name string `yaml:"name" json:"name"`
	// Base is the built-in provider this one was copied from, if any.
	Base string `yaml:"base,omitempty" json:"base,omitempty"`
	// AuthURL, TokenURL and RefreshURL (default TokenURL) may hold
	// {tenant}, replaced by the account's tenant (Microsoft).
	AuthURL    string `yaml:"auth_url" json:"auth_url"`
	TokenURL   string `yaml:"token_url" json:"token_url"`
	RefreshURL string `yaml:"refresh_url,omitempty" json:"refresh_url,omitempty"`
	// Prompt is the prompt parameter of the consent URL: consent, login,
	// none, select_account or empty.
	Prompt string `yaml:"prompt,omitempty" json:"prompt,omitempty"`
	// Scopes are added to every account's scopes (Microsoft's
	// offline_access); ScopeDelimiter joins them (default a space).
	Scopes         []string `yaml:"scopes,omitempty" json:"scopes,omitempty"`
	ScopeDelimiter string   `yaml:"scope_delimiter,omitempty" json:"scope_delimiter,omitempty"`
	// AuthParams are extra consent-URL parameters (Google's
	// access_type=offline).
	AuthParams map[string]string `yaml:"auth_params,omitempty" json:"auth_params,omitempty"`
	// PKCE sends a S256 code challenge with the consent and the verifier
	// with the code exchange.
	PKCE bool `yaml:"pkce" json:"pkce"`
	// RedirectOnRefresh sends redirect_uri with refresh requests too (some
	// servers, such as Tempo's, require it).
	RedirectOnRefresh bool `yaml:"redirect_on_refresh,omitempty" json:"redirect_on_refresh,omitempty"`
	// TokenLocation and TokenParam are where API requests carry the access
	// token unless the account says otherwise (Mercado Livre: query,
	// access_token).
	TokenLocation string `yaml:"token_location,omitempty" json:"token_location,omitempty"`
	TokenParam    string `yaml:"token_param,omitempty" json:"token_param,omitempty"`
	// DefaultTenant fills {tenant} when the account names none.
	DefaultTenant string `yaml:"default_tenant,omitempty" json:"default_tenant,omitempty"`
	// Notes is shown by `nectar providers show`.
	Notes string `yaml:"notes,omitempty" json:"notes,omitempty"`

	builtin bool
	problem string
}

// Builtin reports whether the provider ships with Nectar.
func (p *Provider) Builtin() bool { return p.builtin }

// Problem, for a provider returned by Providers, says why its stored
// record cannot be used (not sealed, another master key); empty when it can.
func (p *Provider) Problem() string { return p.problem }

var builtinProviders = map[string]*Provider{
	"google": {
		Name: "google", builtin: true,
		AuthURL:  "https://accounts.google.com/o/oauth2/v2/auth",
		TokenURL: "https://oauth2.googleapis.com/token",
		// Without access_type=offline and prompt=consent Google issues no
		// refresh token (or none after the first consent).
		Prompt:     "consent",
		AuthParams: map[string]string{"access_type": "offline"},
		PKCE:       true,
		Notes:      "refresh tokens last about 6 months of disuse; revoke access at https://myaccount.google.com/permissions to get a new one",
	},
	"microsoft": {
		Name: "microsoft", builtin: true,
		AuthURL:       "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/authorize",
		TokenURL:      "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
		DefaultTenant: "common",
		Prompt:        "consent",
		// offline_access is what makes Microsoft issue a refresh token.
		Scopes: []string{"offline_access"},
		PKCE:   true,
		Notes:  "tenant: common (default), organizations, consumers (personal accounts only) or a tenant id; refresh tokens last about 3 months; review consents at https://account.live.com/consent/Manage",
	},
	"mercadolivre": {
		Name: "mercadolivre", builtin: true,
		AuthURL:  "https://auth.mercadolivre.com.br/authorization",
		TokenURL: "https://api.mercadolibre.com/oauth/token",
		PKCE:     true,
		// Mercado Livre takes the token as a query parameter; its refresh
		// tokens are single-use and rotate on every refresh.
		TokenLocation: "query",
		TokenParam:    "access_token",
		Notes:         "refresh tokens are single-use and rotate on every renewal; they expire after 6 months; remove the app at https://myaccount.mercadolivre.com.br/security to get a new one",
	},
}

const providersBucket = "providers"

// checkEndpoint refuses a URL Nectar would send secrets or consent
// parameters to unless it is https, or plain http to a loopback address
// (127.0.0.0/8, [::1], localhost: tests and local development), without
// a #fragment. {tenant} placeholders are allowed.
func checkEndpoint(field, raw string) error {
	x, err := url.Parse(strings.ReplaceAll(raw, "{tenant}", "t"))
	if err != nil || (x.Scheme != "http" && x.Scheme != "https") || x.Host == "" {
		return fmt.Errorf("%s must be an https URL", field)
	}
	if x.Scheme == "http" && !loopbackHost(x.Hostname()) {
		return fmt.Errorf("%s must be an https URL (plain http is allowed only for loopback addresses such as 127.0.0.1)", field)
	}
	if strings.Contains(raw, "#") {
		return fmt.Errorf("%s must not have a #fragment (it would swallow the parameters Nectar adds)", field)
	}
	return nil
}

func loopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// openProvider reads a stored provider record. Records are sealed like
// accounts (associated data providers/NAME), so nobody without the master
// key can point a provider elsewhere. A record in clear, written by a
// Nectar that did not seal providers or by someone without the key, is
// refused: it is not trusted, and not resealed, until an administrator
// adds the provider again.
func (m *Manager) openProvider(name string, blob []byte) (*Provider, error) {
	plain, err := m.sealer.Open(blob, aad(providersBucket, name))
	if err != nil {
		if t := bytes.TrimSpace(blob); len(t) > 0 && t[0] == '{' {
			return nil, fmt.Errorf("accounts: provider %s is not sealed (written by an older Nectar, or by someone without the master key), so it is not used; check its URLs and add it again: nectar providers add %s … (or nectar accounts import FILE)", name, name)
		}
		return nil, fmt.Errorf("accounts: opening provider %s: %w", name, err)
	}
	var p Provider
	if err := json.Unmarshal(plain, &p); err != nil {
		return nil, fmt.Errorf("accounts: provider %s is not readable: %w", name, err)
	}
	return &p, nil
}

// ReservedAuthParams are the consent-URL parameters Nectar sets itself;
// auth_params cannot override them.
var ReservedAuthParams = []string{"response_type", "client_id", "redirect_uri", "state", "code_challenge", "code_challenge_method"}

// Validate checks a provider definition. Its errors wrap ErrInvalid.
func (p *Provider) Validate() error {
	if !nameRE.MatchString(p.Name) {
		return fmt.Errorf("%w: provider name %q: use letters, digits, - and _", ErrInvalid, p.Name)
	}
	for _, u := range []struct{ field, v string }{{"auth_url", p.AuthURL}, {"token_url", p.TokenURL}, {"refresh_url", p.RefreshURL}} {
		if u.v == "" {
			if u.field == "refresh_url" {
				continue
			}
			return fmt.Errorf("%w: provider %s: %s is required", ErrInvalid, p.Name, u.field)
		}
		if err := checkEndpoint(u.field, u.v); err != nil {
			return fmt.Errorf("%w: provider %s: %w", ErrInvalid, p.Name, err)
		}
	}
	for k := range p.AuthParams {
		if slices.Contains(ReservedAuthParams, k) {
			return fmt.Errorf("%w: provider %s: auth_params cannot set %s: Nectar sets %s itself", ErrInvalid, p.Name, k, strings.Join(ReservedAuthParams, ", "))
		}
	}
	if p.Prompt != "" && !slices.Contains([]string{"consent", "login", "none", "select_account"}, p.Prompt) {
		return fmt.Errorf("%w: provider %s: prompt must be consent, login, none or select_account", ErrInvalid, p.Name)
	}
	return nil
}

// Providers returns the built-in providers and the custom ones, by name.
func (m *Manager) Providers(ctx context.Context) ([]*Provider, error) {
	var out []*Provider
	for _, p := range builtinProviders {
		out = append(out, p)
	}
	items, err := m.st.List(ctx, providersBucket, store.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("accounts: listing providers: %w", err)
	}
	for _, it := range items {
		p, err := m.openProvider(it.Key, it.Value)
		if err != nil {
			p = &Provider{Name: it.Key, problem: err.Error()}
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Provider returns the provider called name.
func (m *Manager) Provider(ctx context.Context, name string) (*Provider, error) {
	if p, ok := builtinProviders[name]; ok {
		return p, nil
	}
	it, err := m.st.Get(ctx, providersBucket, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w %q: built in are google, microsoft and mercadolivre; add others with: nectar providers add %s", ErrUnknownProvider, name, name)
	}
	if err != nil {
		return nil, fmt.Errorf("accounts: provider %s: %w", name, err)
	}
	return m.openProvider(name, it.Value)
}

// BuiltinProvider returns a copy of the built-in provider called name, to
// base a custom one on.
func BuiltinProvider(name string) (*Provider, bool) {
	p, ok := builtinProviders[name]
	if !ok {
		return nil, false
	}
	c := *p
	c.builtin = false
	c.Base = name
	return &c, true
}

// PutProvider adds or replaces a custom provider. Built-in names are
// reserved.
func (m *Manager) PutProvider(ctx context.Context, p *Provider) error {
	if _, ok := builtinProviders[p.Name]; ok {
		return fmt.Errorf("%w: provider %s is built in; pick another name (--base %s copies it)", ErrInvalid, p.Name, p.Name)
	}
	if err := p.Validate(); err != nil {
		return err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	if _, err := m.st.Put(ctx, providersBucket, p.Name, m.sealer.Seal(b, aad(providersBucket, p.Name))); err != nil {
		return fmt.Errorf("accounts: saving provider %s: %w", p.Name, err)
	}
	return nil
}

// resolved is an account's OAuth endpoints and parameters, with the
// provider's defaults applied.
type resolved struct {
	authURL, tokenURL, refreshURL string
	scopes                        []string
	delim                         string
	prompt                        string
	authParams                    map[string]string
	pkce, redirectOnRefresh       bool
	// kind is the built-in provider the account's provider is, or was
	// copied from (--base): what provider-specific advice is keyed on.
	kind string
}

func (m *Manager) resolve(ctx context.Context, a *Account) (*resolved, error) {
	r := &resolved{authURL: a.AuthURL, tokenURL: a.TokenURL, delim: a.ScopeDelimiter, scopes: a.Scopes, pkce: true}
	if a.Type == TypeOAuth2 && a.Provider != "" {
		p, err := m.Provider(ctx, a.Provider)
		if err != nil {
			return nil, err
		}
		tenant := a.Tenant
		if tenant == "" {
			tenant = p.DefaultTenant
		}
		sub := func(s string) string { return strings.ReplaceAll(s, "{tenant}", url.PathEscape(tenant)) }
		if r.authURL == "" {
			r.authURL = sub(p.AuthURL)
		}
		if r.tokenURL == "" {
			r.tokenURL = sub(p.TokenURL)
			r.refreshURL = sub(p.RefreshURL)
		}
		if r.delim == "" {
			r.delim = p.ScopeDelimiter
		}
		for _, s := range p.Scopes {
			if !slices.Contains(r.scopes, s) {
				r.scopes = append(slices.Clip(r.scopes), s)
			}
		}
		r.prompt, r.authParams, r.pkce, r.redirectOnRefresh = p.Prompt, p.AuthParams, p.PKCE, p.RedirectOnRefresh
		r.kind = p.Name
		if p.Base != "" {
			r.kind = p.Base
		}
	}
	if r.refreshURL == "" {
		r.refreshURL = r.tokenURL
	}
	if r.delim == "" {
		r.delim = " "
	}
	return r, nil
}

// tokenPlacement is where an account's access token goes, with the
// provider's default.
func (m *Manager) tokenPlacement(ctx context.Context, a *Account) (loc, name, scheme string) {
	loc, name, scheme = a.TokenLocation, a.TokenParam, a.TokenScheme
	if a.Type == TypeOAuth2 && a.Provider != "" && loc == "" {
		if p, err := m.Provider(ctx, a.Provider); err == nil {
			loc = p.TokenLocation
			if name == "" {
				name = p.TokenParam
			}
		}
	}
	if loc == "" {
		loc = "header"
	}
	switch loc {
	case "header":
		name = a.TokenHeader
		if name == "" {
			name = "Authorization"
		}
		if scheme == "" {
			scheme = "Bearer"
		}
	default:
		if name == "" {
			name = "access_token"
		}
	}
	return loc, name, scheme
}
