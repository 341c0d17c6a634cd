package pipelines

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/nectar-run/nectar/engine/value"
)

// IssuerGlobal is the global holding the OAuth2 issuer: the iss claim of
// every token the shipped pipelines sign and check, and the issuer of the
// RFC 8414 metadata, whose endpoints are built from it.
const IssuerGlobal = "oauth_issuer"

// SetIssuer decides the OAuth2 issuer of a server, once, and writes it into
// globals (a --globals file's, or a new object when globals is nil), which
// it returns with the issuer. It is the one place the issuer is computed:
// the tokens, their verification and the metadata document all read the
// global, so they cannot disagree, and no request header (Host,
// X-Forwarded-Host…) can change it.
//
// An oauth_issuer the globals set must be an absolute http or https URL
// without query, fragment or user info; trailing slashes are removed and
// the scheme is written in lower case.
// Without one, the issuer is the address the server listens on,
// http://IP:port, with localhost for an unspecified address (0.0.0.0, ::),
// and unspecified reports that case: a server reached under another name
// should set oauth_issuer to the URL its clients use.
func SetIssuer(globals *value.Object, listen net.Addr) (out *value.Object, issuer string, unspecified bool, err error) {
	if globals == nil {
		globals = value.NewObject(1)
	}
	if v, ok := globals.Get(IssuerGlobal); ok && v != nil {
		issuer, err = checkIssuer(v)
		if err != nil {
			return nil, "", false, err
		}
		globals.Set(IssuerGlobal, issuer)
		return globals, issuer, false, nil
	}
	ap, err := netip.ParseAddrPort(listen.String())
	if err != nil {
		return nil, "", false, fmt.Errorf("oauth_issuer: cannot derive it from the listen address %s; set it in a --globals file: %w", listen, err)
	}
	host := ap.Addr().Unmap().String()
	if ap.Addr().IsUnspecified() {
		host, unspecified = "localhost", true
	}
	issuer = "http://" + net.JoinHostPort(host, strconv.Itoa(int(ap.Port())))
	globals.Set(IssuerGlobal, issuer)
	return globals, issuer, unspecified, nil
}

// checkIssuer validates a configured issuer and removes a trailing slash.
func checkIssuer(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("oauth_issuer: expected a URL string like https://auth.example.com, got %s", value.TypeName(v))
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", fmt.Errorf("oauth_issuer: %q is not a URL: %w", s, err)
	case u.Scheme != "https" && u.Scheme != "http" || u.Host == "":
		return "", fmt.Errorf("oauth_issuer: %q is not an absolute http or https URL (like https://auth.example.com); it names this server in tokens and in its metadata (RFC 8414)", s)
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.User != nil:
		return "", fmt.Errorf("oauth_issuer: %q must not have a query, a fragment or user info (RFC 8414 §2)", s)
	}
	return strings.TrimRight(u.String(), "/"), nil
}
