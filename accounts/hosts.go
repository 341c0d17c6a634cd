package accounts

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// ErrHostNotAllowed is returned by the round tripper and by CheckHost for a
// request to a host that the account's credentials may not go to. Its
// wrapper, a *HostError, names the account, the host and the setting.
var ErrHostNotAllowed = errors.New("accounts: host not allowed for the account")

// HostError is a refused request: account Account may not send its
// credentials to Host. Allowed lists the hosts it may send them to (empty
// when the account has none: no base_url, allowed_hosts or provider). It
// wraps ErrHostNotAllowed.
type HostError struct {
	Account string
	Host    string
	Allowed []string
	// PlainHTTP is set when the host is allowed over https only and the
	// request is plain http.
	PlainHTTP bool
}

func (e *HostError) Error() string {
	if e.PlainHTTP {
		return fmt.Sprintf("account %s may not send its credentials over plain http to %s (allowed: %s); use https, or, if that API has no https, add http://%s to the account's allowed_hosts",
			e.Account, e.Host, strings.Join(e.Allowed, ", "), e.Host)
	}
	if len(e.Allowed) == 0 {
		return fmt.Sprintf("account %s has no hosts its credentials may go to (it has no base_url, allowed_hosts or provider), so it is not sent to %s; set allowed_hosts (nectar accounts create %s --replace ... --allowed-host %s)",
			e.Account, e.Host, e.Account, e.Host)
	}
	return fmt.Sprintf("account %s may not send its credentials to %s (allowed: %s); if that host belongs to the API, add it to the account's allowed_hosts",
		e.Account, e.Host, strings.Join(e.Allowed, ", "))
}

// Unwrap returns ErrHostNotAllowed.
func (e *HostError) Unwrap() error { return ErrHostNotAllowed }

// providerHosts are the documented API hosts of the built-in providers:
// an account of the provider may send its token there without listing
// them. Custom providers have none: their accounts set base_url or
// allowed_hosts.
var providerHosts = map[string][]string{
	"google":       {"*.googleapis.com"},
	"microsoft":    {"graph.microsoft.com"},
	"mercadolivre": {"api.mercadolibre.com"},
}

// Hosts returns the hosts the account's credentials may go to, as
// patterns (see AllowedHosts): the host of base_url (with its port when
// base_url names one, and its scheme: https://api.example.com), the API
// hosts of a built-in provider (Google's *.googleapis.com, also for
// google-service-account; Microsoft Graph's graph.microsoft.com; Mercado
// Livre's api.mercadolibre.com), and allowed_hosts. Empty means nowhere:
// every authenticated request fails.
//
// A pattern is host, host:port or *.domain, with an optional scheme:
// https:// allows https only; http:// allows http and https; without a
// scheme https is allowed, and plain http only to a loopback host
// (localhost, 127.0.0.0/8, ::1, as for token URLs), where nothing crosses a network.
func (a *Account) Hosts() []string {
	var out []string
	if a.BaseURL != "" {
		if u, err := url.Parse(a.BaseURL); err == nil && u.Host != "" {
			out = append(out, strings.ToLower(u.Scheme)+"://"+strings.ToLower(u.Host))
		}
	}
	p := a.Provider
	if a.Type == TypeGoogleServiceAccount {
		p = "google"
	}
	if a.Type == TypeOAuth2 || a.Type == TypeGoogleServiceAccount {
		out = append(out, providerHosts[p]...)
	}
	return append(out, a.AllowedHosts...)
}

// CheckHost returns a *HostError (wrapping ErrHostNotAllowed) when the
// account's credentials may not go to u's host. The round tripper checks
// every request itself; CheckHost is for callers that put account fields
// into requests by other means (the REST connector's header templates).
func (m *Manager) CheckHost(ctx context.Context, account string, u *url.URL) error {
	_, la, err := m.entry(ctx, account)
	if err != nil {
		return err
	}
	return checkHost(la.a, u)
}

func checkHost(a *Account, u *url.URL) error {
	hosts := a.Hosts()
	plain := false
	for _, h := range hosts {
		switch hostMatches(h, u) {
		case matched:
			return nil
		case httpsOnly:
			plain = true
		}
	}
	return &HostError{Account: a.Name, Host: u.Host, Allowed: hosts, PlainHTTP: plain}
}

// match is the verdict of hostMatches.
type match int

const (
	noMatch   match = iota
	matched         // the host, port and scheme match
	httpsOnly       // the host and port match, but the URL is plain http and the pattern allows https only
)

// hostMatches reports whether u's scheme, host and port match pattern (see
// Account.Hosts). Without a port any port matches; *.domain matches every
// name below domain, not domain itself. A URL whose scheme is neither http
// nor https never matches.
func hostMatches(pattern string, u *url.URL) match {
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return noMatch
	}
	pscheme, rest := patternScheme(pattern)
	ph, pp := splitHostPort(rest)
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if pp != "" {
		port := u.Port()
		if port == "" {
			port = map[string]string{"https": "443", "http": "80"}[scheme]
		}
		if port != pp {
			return noMatch
		}
	}
	if suffix, ok := strings.CutPrefix(ph, "*."); ok {
		if !strings.HasSuffix(host, "."+suffix) {
			return noMatch
		}
	} else if host != ph {
		return noMatch
	}
	if scheme == "http" && (pscheme == "https" || pscheme == "" && !loopbackHost(host)) {
		return httpsOnly
	}
	return matched
}

// patternScheme splits the scheme ("http", "https" or "") off a pattern.
func patternScheme(p string) (scheme, rest string) {
	for _, s := range []string{"https", "http"} {
		if len(p) > len(s)+3 && strings.EqualFold(p[:len(s)+3], s+"://") {
			return s, p[len(s)+3:]
		}
	}
	return "", p
}

// splitHostPort splits a pattern into its lower-case host (IPv6 without
// brackets, no final dot) and its port ("" when none).
func splitHostPort(p string) (host, port string) {
	p = strings.ToLower(strings.TrimSpace(p))
	if h, pt, err := net.SplitHostPort(p); err == nil {
		host, port = h, pt
	} else {
		host = strings.TrimSuffix(strings.TrimPrefix(p, "["), "]")
	}
	return strings.TrimSuffix(host, "."), port
}

// checkHostPattern validates an allowed_hosts entry.
func checkHostPattern(p string) error {
	_, rest := patternScheme(p)
	if strings.Contains(rest, "://") || strings.ContainsAny(rest, "/?#@ \t") {
		return fmt.Errorf("%q is not a host: write host, host:port or *.domain, optionally after https:// or http:// (no path)", p)
	}
	host, port := splitHostPort(rest)
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
			return fmt.Errorf("%q: the port must be a number", p)
		}
	}
	name := strings.TrimPrefix(host, "*.")
	if name == "" || strings.Contains(name, "*") {
		return fmt.Errorf("%q: a wildcard is allowed only as the first label, as in *.example.com", p)
	}
	if net.ParseIP(name) == nil && (strings.Contains(name, ":") || strings.HasPrefix(name, ".") || strings.Contains(name, "..")) {
		return fmt.Errorf("%q is not a host name", p)
	}
	return nil
}
