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
}

func (e *HostError) Error() string {
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
// host[:port] patterns (see AllowedHosts): the host of base_url (with its
// port when base_url names one), the API hosts of a built-in provider
// (Google's *.googleapis.com, also for google-service-account; Microsoft
// Graph's graph.microsoft.com; Mercado Livre's api.mercadolibre.com), and
// allowed_hosts. Empty means nowhere: every authenticated request fails.
func (a *Account) Hosts() []string {
	var out []string
	if a.BaseURL != "" {
		if u, err := url.Parse(a.BaseURL); err == nil && u.Host != "" {
			out = append(out, strings.ToLower(u.Host))
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
	for _, h := range hosts {
		if hostMatches(h, u) {
			return nil
		}
	}
	return &HostError{Account: a.Name, Host: u.Host, Allowed: hosts}
}

// hostMatches reports whether u's host and port match pattern: host,
// host:port, *.domain or *.domain:port. Without a port any port matches;
// *.domain matches every name below domain, not domain itself.
func hostMatches(pattern string, u *url.URL) bool {
	ph, pp := splitHostPort(pattern)
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if pp != "" {
		port := u.Port()
		if port == "" {
			switch strings.ToLower(u.Scheme) {
			case "https":
				port = "443"
			case "http":
				port = "80"
			}
		}
		if port != pp {
			return false
		}
	}
	if suffix, ok := strings.CutPrefix(ph, "*."); ok {
		return strings.HasSuffix(host, "."+suffix)
	}
	return host == ph
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
	if strings.Contains(p, "://") || strings.ContainsAny(p, "/?#@ \t") {
		return fmt.Errorf("%q is not a host: write host, host:port or *.domain (no scheme or path)", p)
	}
	host, port := splitHostPort(p)
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
