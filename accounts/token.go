package accounts

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nectar-run/nectar/internal/text"
	"github.com/nectar-run/nectar/store"
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
	// Endpoint is the URL the refresh token was issued for: it is sent
	// nowhere else (a changed token or refresh URL needs authorizing
	// again). Empty for tokens stored before Nectar recorded it.
	Endpoint string `json:"endpoint,omitempty"`
	// RevokeURL is the account's revoke_url when the token was issued (by
	// authorize, for refreshed tokens): the token is revoked only there,
	// and only while the account still names it.
	RevokeURL string `json:"revoke_url,omitempty"`
}

// The limits Nectar applies to token endpoints (docs/security.md).
const (
	// MaxTokenLifetime caps the lifetime an expires_in may claim: a
	// larger value is clamped, so a token is renewed at least yearly and a
	// huge number cannot overflow the expiry.
	MaxTokenLifetime = 365 * 24 * time.Hour
	// NoRenewWindow is how long a token is not renewed again after the API
	// refused it on the retry that followed its renewal (a token it had
	// accepted may be renewed at its first refusal): an API that refuses
	// every token costs one token request per window, not one per call.
	NoRenewWindow = 30 * time.Second
	// BackoffMin and BackoffMax bound the wait after a failed token
	// request: it starts at BackoffMin and doubles with each consecutive
	// failure up to BackoffMax. Meanwhile uses of the account fail fast
	// with the last error, without asking the endpoint.
	BackoffMin = time.Second
	BackoffMax = 5 * time.Minute
)

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
	// Obtained is when the token was obtained or last renewed (zero when
	// the endpoint gave no lifetime).
	Obtained time.Time
	// LastFailure is this process's last failed token request while the
	// endpoint keeps failing (empty once a request succeeds), at
	// LastFailureAt, the Failures-th in a row.
	LastFailure   string
	LastFailureAt time.Time
	Failures      int
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
	for _, k := range slices.Sorted(maps.Keys(a.TokenParams)) {
		w(k)
		w(a.TokenParams[k])
	}
	// Body overrides shape the token too (an audience in a JSON body); an
	// account without them keeps the shape it had before they existed.
	if a.TokenBody != "" || a.RefreshBody != "" {
		w("\x00bodies")
		w(a.TokenBody)
		w(a.RefreshBody)
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
	// A token stored before answers were checked may hold a CR or LF that
	// breaks every request: drop it, so the next use renews it.
	if !printableToken(t.AccessToken) {
		t.AccessToken = ""
	}
	if !printableToken(t.RefreshToken) {
		t.RefreshToken = ""
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
	var s TokenStatus
	if v, ok := m.entries.Load(name); ok {
		if err, at, n := v.(*entry).brk.failing(); err != nil {
			s.LastFailure, s.LastFailureAt, s.Failures = err.Error(), at, n
		}
	}
	t, _, err := m.loadToken(ctx, name)
	if err != nil || t == nil {
		s.Renewable = a.Type != TypeOAuth2
		return s, err
	}
	s.HasToken, s.Expiry, s.Scope = t.AccessToken != "", t.Expiry, t.Scope
	s.Renewable = a.Type != TypeOAuth2 || t.RefreshToken != ""
	s.NeedsReauth, s.ReauthReason = t.Reauth != "", t.Reauth
	if t.Lifetime > 0 && !t.Expiry.IsZero() {
		s.Obtained = t.Expiry.Add(-t.Lifetime)
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
		// The API refused this token on the retry that followed its
		// renewal, moments ago: another renewal would not help. The caller
		// gets the same token back and returns the API's answer as it is.
		if r := e.refused.Load(); stale != "" && t.AccessToken == stale && r != nil && r.token == stale && m.o.now().Sub(r.at) < NoRenewWindow {
			return t, nil
		}
	}
	if err := e.brk.check(m.o.now(), e.name); err != nil {
		return nil, err
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

// refusedFresh records that the API refused token on the retry that
// followed its renewal.
func (m *Manager) refusedFresh(e *entry, token string) {
	e.refused.Store(&refusal{token: token, at: m.o.now()})
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
	if err := e.brk.check(m.o.now(), e.name); err != nil {
		return nil, err
	}
	var next *Token
	switch a.Type {
	case TypeClientCredentials, TypeGoogleServiceAccount:
		next, err = m.grantToken(ctx, a, r)
	case TypeOAuth2:
		if cur == nil || cur.RefreshToken == "" {
			reason := "it was never authorized"
			if cur != nil && cur.AccessToken != "" {
				reason = "the provider returned no refresh token, so the access token cannot be renewed; revoke the app's access at the provider first"
			}
			return nil, &ReauthError{Account: e.name, Reason: reason}
		}
		// A refresh token goes only to the endpoint it was issued for (a
		// token stored before Nectar recorded it: to the one its shape
		// names). Anything else needs a person to authorize again.
		bound := cur.Endpoint
		if bound == "" && cur.Shape == la.shape {
			bound = r.refreshURL
		}
		if bound != r.refreshURL {
			mark := &Token{Shape: la.shape, Reauth: "its token endpoint changed since it was authorized (now " + redactURL(r.refreshURL) + "); the refresh token and client secret are sent only where the token came from"}
			e.markedAt.Store(m.o.now().UnixNano())
			e.tok.Store(mark)
			return nil, &ReauthError{Account: e.name, Reason: mark.Reauth}
		}
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {cur.RefreshToken}}
		if r.redirectOnRefresh && a.RedirectURI != "" {
			form.Set("redirect_uri", a.RedirectURI)
		}
		next, err = m.tokenRequest(ctx, a, r.refreshURL, form)
		if err == nil {
			if next.RefreshToken == "" {
				next.RefreshToken = cur.RefreshToken // RFC 6749 §6: the old one stays valid
			}
			next.Endpoint = r.refreshURL
			next.RevokeURL = cur.RevokeURL // where it was authorized
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
		e.brk.fail(m.o.now(), err)
		return nil, fmt.Errorf("accounts: renewing the token of %s: %w", e.name, err)
	}
	e.brk.reset()
	if a.Type != TypeOAuth2 {
		next.RevokeURL = a.RevokeURL
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

// grantToken obtains a token for an account that needs no person: the
// client-credentials grant, or a service account's JWT-bearer grant.
func (m *Manager) grantToken(ctx context.Context, a *Account, r *resolved) (*Token, error) {
	if a.Type == TypeGoogleServiceAccount {
		return m.serviceAccountToken(ctx, a)
	}
	form := url.Values{"grant_type": {"client_credentials"}}
	if len(r.scopes) > 0 {
		form.Set("scope", strings.Join(r.scopes, r.delim))
	}
	return m.tokenRequest(ctx, a, r.tokenURL, form)
}

// maxTokenResponse bounds what is read from a token endpoint.
const maxTokenResponse = 1 << 20

// tokenRequest posts form to a token endpoint with the account's client
// authentication, extra parameters and overrides (newTokenRequest), and
// parses the answer. An error answer never becomes a Token, nor does an answer that is
// not a usable token (see checkToken). Redirects are not followed: the
// form carries the client secret and the grant.
func (m *Manager) tokenRequest(ctx context.Context, a *Account, tokenURL string, form url.Values) (t *Token, err error) {
	defer func() {
		result := "ok"
		if err != nil {
			result = "error"
		}
		m.tokenRequests.WithLabelValues(a.Name, result).Inc()
	}()
	if err := checkEndpoint("token endpoint", tokenURL); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTokenRequest, err)
	}
	req, err := newTokenRequest(ctx, a, tokenURL, form)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrTokenRequest, redactURL(tokenURL), err)
	}
	start := m.o.now()
	resp, err := m.tokenClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrTokenRequest, redactURL(tokenURL), errors.Unwrap(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 == 3 {
		to := "nowhere"
		if loc, err := resp.Location(); err == nil {
			to = loc.Host
		}
		return nil, fmt.Errorf("%w: %s answered %d, a redirect to %s; token requests do not follow redirects (they carry the client secret): set the token URL to the final address",
			ErrTokenRequest, redactURL(tokenURL), resp.StatusCode, preview(to, 100))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTokenResponse))
	if err != nil {
		return nil, fmt.Errorf("%w: reading the answer of %s: %w", ErrTokenRequest, redactURL(tokenURL), err)
	}
	fields := parseTokenBody(resp.Header.Get("Content-Type"), body)
	if code := fields["error"]; resp.StatusCode/100 != 2 || code != "" {
		return nil, &TokenError{Status: resp.StatusCode, Code: preview(code, 60), Description: preview(fields["error_description"], 200)}
	}
	lifetime := time.Duration(a.TokenLifetime)
	if lifetime <= 0 {
		lifetime = m.o.defaultLifetime
	}
	t, expiresIn, err := checkToken(fields)
	if err != nil {
		return nil, fmt.Errorf("%w: %s answered %d with %w; nothing was stored", ErrTokenRequest, redactURL(tokenURL), resp.StatusCode, err)
	}
	if expiresIn > 0 {
		lifetime = expiresIn
	}
	t.Lifetime = lifetime
	t.Expiry = start.Add(lifetime)
	return t, nil
}

// notScalar stands for a JSON object or array in a token answer: it fails
// every check of checkToken.
const notScalar = "\x00"

// checkToken turns the fields of a successful token answer into a Token,
// or says what makes it unusable: an access or refresh token that is not
// printable ASCII without spaces (it would break or inject headers), a
// token_type other than bearer (any case) or none, or an expires_in that
// is not a non-negative decimal number. A huge expires_in is clamped to
// MaxTokenLifetime; 0 or none gives 0 (the caller's default).
func checkToken(fields map[string]string) (*Token, time.Duration, error) {
	t := &Token{AccessToken: fields["access_token"], TokenType: fields["token_type"], RefreshToken: fields["refresh_token"], Scope: fields["scope"]}
	if t.AccessToken == "" {
		return nil, 0, errors.New("no access_token")
	}
	if !printableToken(t.AccessToken) {
		return nil, 0, errors.New("an access_token that is not printable text (control characters, spaces or an object)")
	}
	if t.RefreshToken != "" && !printableToken(t.RefreshToken) {
		return nil, 0, errors.New("a refresh_token that is not printable text (control characters, spaces or an object)")
	}
	if t.TokenType != "" && !strings.EqualFold(t.TokenType, "bearer") {
		return nil, 0, fmt.Errorf("token_type %q (Nectar sends bearer tokens only)", preview(t.TokenType, 30))
	}
	if strings.ContainsRune(t.Scope, 0) {
		t.Scope = ""
	}
	s := fields["expires_in"]
	if s == "" {
		return t, 0, nil
	}
	if !decimalRE.MatchString(s) {
		return nil, 0, fmt.Errorf("expires_in %q, which is not a number of seconds", preview(strings.ReplaceAll(s, notScalar, "{…}"), 30))
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n >= MaxTokenLifetime.Seconds() {
		return t, MaxTokenLifetime, nil // digits only: too large to parse is too large
	}
	return t, time.Duration(n * float64(time.Second)), nil
}

var decimalRE = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// printableToken reports whether s is visible ASCII (RFC 6750's b64token
// and more, but never a control character or a space).
func printableToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
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
				// of it without its content. Other objects and arrays fail
				// checkToken.
				out[k] = notScalar
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
	return text.Preview(s, n)
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
