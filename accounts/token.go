package accounts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/nectar-run/nectar/engine/store"
)

// Token is an account's OAuth token as stored (sealed) in the bucket
// "tokens" under the account's name.
type Token struct {
	AccessToken  string    `json:"access_token,omitempty"`
	TokenType    string    `json:"token_type,omitempty"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
	// Lifetime is Expiry minus the time the token was obtained.
	Lifetime time.Duration `json:"lifetime,omitempty"`
	Scope    string        `json:"scope,omitempty"`
	// Shape is a hash of everything that shaped the token (token URL,
	// client, scopes, audience…): a token of another shape is not used.
	Shape string `json:"shape,omitempty"`
	// Reauth, when set, is why the account needs `accounts authorize`.
	Reauth string `json:"reauth,omitempty"`
}

// TokenStatus describes an account's token without revealing it, for
// `nectar accounts show`.
type TokenStatus struct {
	HasToken        bool
	Expiry          time.Time
	Scope           string
	Renewable       bool
	NeedsReauth     bool
	ReauthReason    string
	AccessTokenHash string // first 8 hex digits of its SHA-256: compare without revealing
}

// shapeOf hashes what shapes an account's token, so a token obtained for
// other scopes, another audience or another client is never reused.
func shapeOf(a *Account, r *resolved) string {
	h := sha256.New()
	w := func(s string) { h.Write([]byte(s)); h.Write([]byte{0}) }
	w(a.Type)
	w(r.tokenURL)
	w(a.ClientID)
	w(a.Subject)
	w(strings.Join(r.scopes, "\x01"))
	keys := make([]string, 0, len(a.TokenParams))
	for k := range a.TokenParams {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		w(k)
		w(a.TokenParams[k])
	}
	if a.Type == TypeGoogleServiceAccount {
		if sa, err := parseServiceAccount(a.ServiceAccountKey); err == nil {
			w(sa.ClientEmail)
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// usable reports whether t can be sent now: it has the shape and does not
// expire within the renewal margin.
func (m *Manager) usable(t *Token, shape string) bool {
	if t == nil || t.AccessToken == "" || t.Reauth != "" || t.Shape != shape {
		return false
	}
	if t.Expiry.IsZero() {
		return true
	}
	margin := m.o.renewBefore
	if t.Lifetime > 0 && margin > t.Lifetime/2 {
		margin = t.Lifetime / 2
	}
	return m.o.now().Add(margin).Before(t.Expiry)
}

func (m *Manager) loadToken(ctx context.Context, name string) (*Token, uint64, error) {
	it, err := m.st.Get(ctx, tokensBucket, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, fmt.Errorf("accounts: reading the token of %s: %w", name, err)
	}
	plain, err := m.sealer.Open(it.Value, aad(tokensBucket, name))
	if err != nil {
		return nil, 0, fmt.Errorf("accounts: opening the token of %s: %w", name, err)
	}
	var t Token
	if err := json.Unmarshal(plain, &t); err != nil {
		return nil, 0, fmt.Errorf("accounts: the stored token of %s is not readable: %w", name, err)
	}
	m.learn(t.AccessToken, t.RefreshToken)
	return &t, it.Rev, nil
}

func (m *Manager) saveToken(ctx context.Context, name string, t *Token) error {
	m.learn(t.AccessToken, t.RefreshToken)
	plain, err := json.Marshal(t)
	if err != nil {
		return err
	}
	if _, err := m.st.Put(ctx, tokensBucket, name, m.sealer.Seal(plain, aad(tokensBucket, name))); err != nil {
		return fmt.Errorf("accounts: saving the token of %s: %w", name, err)
	}
	return nil
}

// Status describes the stored token of an account.
func (m *Manager) Status(ctx context.Context, name string) (TokenStatus, error) {
	a, err := m.Get(ctx, name)
	if err != nil {
		return TokenStatus{}, err
	}
	t, _, err := m.loadToken(ctx, name)
	if err != nil || t == nil {
		return TokenStatus{Renewable: a.Type != TypeOAuth2}, err
	}
	s := TokenStatus{
		HasToken: t.AccessToken != "", Expiry: t.Expiry, Scope: t.Scope,
		Renewable:   a.Type != TypeOAuth2 || t.RefreshToken != "",
		NeedsReauth: t.Reauth != "", ReauthReason: t.Reauth,
	}
	if t.AccessToken != "" {
		sum := sha256.Sum256([]byte(t.AccessToken))
		s.AccessTokenHash = hex.EncodeToString(sum[:4])
	}
	return s, nil
}

// accessToken returns a token for the account that can be sent now,
// obtaining or renewing one when needed. When stale is not empty, the
// caller saw that access token refused: a token equal to it is renewed even
// if it has not expired. Concurrent callers share one renewal (in this
// process through singleflight, across replicas through the store's lock).
func (m *Manager) accessToken(ctx context.Context, e *entry, la *loadedAccount, stale string) (*Token, error) {
	if t := e.tok.Load(); t != nil {
		// Fail fast while the account is marked; look at the store again
		// now and then, since another process may have authorized it.
		if t.Reauth != "" && t.Shape == la.shape && m.o.now().Sub(time.Unix(0, e.markedAt.Load())) < m.o.accountTTL {
			return nil, &ReauthError{Account: e.name, Reason: t.Reauth}
		}
		if m.usable(t, la.shape) && (stale == "" || t.AccessToken != stale) {
			return t, nil
		}
	}
	ch := m.group.DoChan(e.name+"\x00"+stale, func() (any, error) {
		// The renewal outlives a caller that gives up: others wait on it,
		// and a token the provider issued must be stored.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		return m.renew(rctx, e, la, stale)
	})
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case res := <-ch:
		if res.Err != nil {
			return nil, res.Err
		}
		return res.Val.(*Token), nil
	}
}

// renew runs once at a time per account (singleflight) and, through the
// store's lock, once at a time across replicas.
func (m *Manager) renew(ctx context.Context, e *entry, la *loadedAccount, stale string) (*Token, error) {
	release, err := m.st.Lock(ctx, "token:"+e.name, m.o.lockTTL)
	if err != nil {
		return nil, fmt.Errorf("accounts: waiting to renew the token of %s: %w", e.name, err)
	}
	defer release()
	// Another replica (or an earlier flight) may have renewed meanwhile.
	cur, _, err := m.loadToken(ctx, e.name)
	if err != nil {
		return nil, err
	}
	if cur != nil && cur.Shape == la.shape {
		if cur.Reauth != "" {
			e.markedAt.Store(m.o.now().UnixNano())
			e.tok.Store(cur)
			return nil, &ReauthError{Account: e.name, Reason: cur.Reauth}
		}
		if m.usable(cur, la.shape) && (stale == "" || cur.AccessToken != stale) {
			e.tok.Store(cur)
			return cur, nil
		}
	}
	a := la.a
	r, err := m.resolve(ctx, a)
	if err != nil {
		return nil, err
	}
	var next *Token
	switch a.Type {
	case TypeClientCredentials:
		form := url.Values{"grant_type": {"client_credentials"}}
		if len(r.scopes) > 0 {
			form.Set("scope", strings.Join(r.scopes, r.delim))
		}
		next, err = m.tokenRequest(ctx, a, r.tokenURL, form)
	case TypeGoogleServiceAccount:
		next, err = m.serviceAccountToken(ctx, a)
	case TypeOAuth2:
		if cur == nil || cur.RefreshToken == "" {
			reason := "it was never authorized"
			if cur != nil && cur.AccessToken != "" {
				reason = "the provider returned no refresh token, so the access token cannot be renewed; revoke the app's access at the provider first"
			}
			return nil, &ReauthError{Account: e.name, Reason: reason}
		}
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {cur.RefreshToken}}
		if r.redirectOnRefresh && a.RedirectURI != "" {
			form.Set("redirect_uri", a.RedirectURI)
		}
		next, err = m.tokenRequest(ctx, a, r.refreshURL, form)
		if err == nil && next.RefreshToken == "" {
			next.RefreshToken = cur.RefreshToken // RFC 6749 §6: the old one stays valid
		}
	default:
		return nil, fmt.Errorf("accounts: account %s of type %s has no token", e.name, a.Type)
	}
	if err != nil {
		if errors.Is(err, ErrRefreshRejected) && a.Type == TypeOAuth2 {
			// The refresh token is dead: remember it, so every use fails
			// fast until someone authorizes again.
			dead := &Token{Shape: la.shape, Reauth: "the provider rejected the refresh token (invalid_grant): it expired, was revoked or was already used"}
			if serr := m.saveToken(ctx, e.name, dead); serr != nil {
				m.o.logger.Warn("cannot record that the account needs authorization", "account", e.name, "error", serr)
			}
			e.markedAt.Store(m.o.now().UnixNano())
			e.tok.Store(dead)
			return nil, fmt.Errorf("%w: %w", &ReauthError{Account: e.name, Reason: dead.Reauth}, err)
		}
		return nil, fmt.Errorf("accounts: renewing the token of %s: %w", e.name, err)
	}
	next.Shape = la.shape
	if next.Scope == "" && cur != nil {
		next.Scope = cur.Scope
	}
	// Persist before use: a rotated refresh token must survive a crash
	// that follows the first request made with the new access token.
	if err := m.saveToken(ctx, e.name, next); err != nil {
		return nil, err
	}
	e.tok.Store(next)
	m.o.logger.Debug("account token renewed", "account", e.name, "expiry", next.Expiry)
	return next, nil
}

// maxTokenResponse bounds what is read from a token endpoint.
const maxTokenResponse = 1 << 20

// tokenRequest posts form to a token endpoint with the account's client
// authentication, extra parameters and header overrides, and parses the
// answer. An error answer never becomes a Token.
func (m *Manager) tokenRequest(ctx context.Context, a *Account, tokenURL string, form url.Values) (*Token, error) {
	for k, v := range a.TokenParams {
		form.Set(k, v)
	}
	basic := a.ClientAuth == "basic"
	if !basic && a.ClientID != "" {
		form.Set("client_id", a.ClientID)
		if !a.ClientSecret.IsZero() {
			form.Set("client_secret", a.ClientSecret.Reveal())
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTokenRequest, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if basic {
		// RFC 6749 §2.3.1: form-encode both parts before Basic encoding.
		req.SetBasicAuth(url.QueryEscape(a.ClientID), url.QueryEscape(a.ClientSecret.Reveal()))
	}
	for k, v := range a.TokenHeaders {
		req.Header.Set(k, v)
	}
	start := m.o.now()
	resp, err := m.o.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrTokenRequest, redactURL(tokenURL), errors.Unwrap(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponse))
	if err != nil {
		return nil, fmt.Errorf("%w: reading the answer of %s: %v", ErrTokenRequest, redactURL(tokenURL), err)
	}
	fields := parseTokenBody(resp.Header.Get("Content-Type"), body)
	if code := fields["error"]; resp.StatusCode/100 != 2 || code != "" {
		return nil, &TokenError{Status: resp.StatusCode, Code: preview(code, 60), Description: preview(fields["error_description"], 200)}
	}
	t := &Token{AccessToken: fields["access_token"], TokenType: fields["token_type"], RefreshToken: fields["refresh_token"], Scope: fields["scope"]}
	if t.AccessToken == "" {
		return nil, fmt.Errorf("%w: %s answered %d without an access_token", ErrTokenRequest, redactURL(tokenURL), resp.StatusCode)
	}
	lifetime := time.Duration(a.TokenLifetime)
	if lifetime <= 0 {
		lifetime = m.o.defaultLifetime
	}
	if s := fields["expires_in"]; s != "" {
		if n, err := strconv.ParseFloat(s, 64); err == nil && n > 0 {
			lifetime = time.Duration(n * float64(time.Second))
		}
	}
	t.Lifetime = lifetime
	t.Expiry = start.Add(lifetime)
	return t, nil
}

// parseTokenBody reads a token answer: JSON (the standard), or
// form-encoded (GitHub, some text/plain endpoints). Values are strings.
func parseTokenBody(contentType string, body []byte) map[string]string {
	out := map[string]string{}
	var obj map[string]any
	if err := json.Unmarshal(body, &obj); err == nil {
		for k, v := range obj {
			switch v := v.(type) {
			case string:
				out[k] = v
			case float64:
				out[k] = strconv.FormatFloat(v, 'f', -1, 64)
			case bool:
				out[k] = strconv.FormatBool(v)
			case nil:
			default:
				// An error object such as {"error":{"code":…}}: keep a trace
				// of it without its content.
				if k == "error" {
					out[k] = "error"
				}
			}
		}
		return out
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "application/x-www-form-urlencoded" || mt == "text/plain" {
		if q, err := url.ParseQuery(strings.TrimSpace(string(body))); err == nil {
			for k := range q {
				out[k] = q.Get(k)
			}
		}
	}
	return out
}

// preview shortens s for an error message.
func preview(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 {
			return ' '
		}
		return r
	}, s)
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// redactURL drops the query and user info of a URL for messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	u.User = nil
	u.RawQuery = ""
	u.Fragment = ""
	return u.String()
}
