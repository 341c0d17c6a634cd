package accounts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
)

// revokeTimeout bounds a revocation request: it runs while a person waits
// for delete or authorize to finish.
const revokeTimeout = 10 * time.Second

// revokeOld revokes at a's revoke_url (RFC 7009) the refresh token of old,
// or its access token when it has none, unless cur (the token that
// replaced it, nil after a deletion) holds the same one, or old was issued
// under another revoke_url (Token.RevokeURL). A failure is logged, never
// returned: the account is deleted or authorized anyway.
func (m *Manager) revokeOld(ctx context.Context, a *Account, old, cur *Token, when string) {
	if a == nil || a.RevokeURL == "" || old == nil {
		return
	}
	token, hint := old.RefreshToken, "refresh_token"
	if token == "" {
		token, hint = old.AccessToken, "access_token"
	}
	if token == "" || (cur != nil && (token == cur.RefreshToken || token == cur.AccessToken)) {
		return
	}
	if old.RevokeURL != a.RevokeURL {
		// A token goes only to the revocation endpoint it was issued under:
		// a revoke_url set or changed since then could send it anywhere.
		m.o.logger.Warn("token not revoked: revoke_url was set or changed after the token was issued, and a token is sent only to the revocation endpoint it was issued under", "account", a.Name, "when", when, "token", hint)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), revokeTimeout)
	defer cancel()
	if err := m.revoke(ctx, a, token, hint); err != nil {
		// The provider's description may echo what it was sent.
		msg := strings.ReplaceAll(err.Error(), token, "***")
		if s := a.ClientSecret.Reveal(); s != "" {
			msg = strings.ReplaceAll(msg, s, "***")
		}
		m.o.logger.Warn("token revocation failed; the old token stays valid at the provider until it expires", "account", a.Name, "when", when, "token", hint, "error", msg)
		return
	}
	m.o.logger.Info("token revoked", "account", a.Name, "when", when, "token", hint)
}

// revoke posts token to the account's revoke_url with its client
// authentication (client_auth), like a token request but without the
// token-request overrides. It follows no redirect and goes only to https
// (or loopback http) URLs.
func (m *Manager) revoke(ctx context.Context, a *Account, token, hint string) error {
	if err := checkEndpoint("revoke_url", a.RevokeURL); err != nil {
		return err
	}
	plain := &Account{Name: a.Name, ClientID: a.ClientID, ClientSecret: a.ClientSecret, ClientAuth: a.ClientAuth}
	req, err := newTokenRequest(ctx, plain, a.RevokeURL, url.Values{"token": {token}, "token_type_hint": {hint}})
	if err != nil {
		return err
	}
	resp, err := m.tokenClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", redactURL(a.RevokeURL), errors.Unwrap(err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode/100 == 3:
		to := "nowhere"
		if loc, err := resp.Location(); err == nil {
			to = loc.Host
		}
		return fmt.Errorf("%s answered %d, a redirect to %s; revocation requests do not follow redirects (they carry the token and the client secret): set revoke_url to the final address",
			redactURL(a.RevokeURL), resp.StatusCode, preview(to, 100))
	}
	fields := parseTokenBody(resp.Header.Get("Content-Type"), body)
	msg := fmt.Sprintf("%s answered %d", redactURL(a.RevokeURL), resp.StatusCode)
	if c := fields["error"]; c != "" {
		msg += " " + preview(c, 60)
	}
	if d := fields["error_description"]; d != "" {
		msg += ": " + preview(d, 200)
	}
	return errors.New(msg)
}
