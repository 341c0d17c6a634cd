package accounts

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/oauth2"
)

// AuthorizeOptions configure Authorize.
type AuthorizeOptions struct {
	// Prompt receives the consent URL once the loopback callback listens;
	// the CLI prints it (and a test follows it, acting as the browser). It
	// runs on its own goroutine while Authorize waits for the callback;
	// Authorize returns after it does.
	Prompt func(consentURL string)
	// Timeout bounds the wait for the callback (default 5 minutes).
	Timeout time.Duration
}

// AuthorizeResult says what an authorization stored.
type AuthorizeResult struct {
	Scope     string
	Expiry    time.Time
	Renewable bool
	// Warning, when set, tells the user what to do (no refresh token, a
	// failed test request).
	Warning string
	// Test is the outcome of the account's test request, sent once the
	// tokens are stored (nil when it declares none or test_on_save is
	// false).
	Test *TestResult
}

// MaxPendingAuthorizations caps the authorizations a Manager runs at
// once: each holds a loopback listener until its callback or timeout.
const MaxPendingAuthorizations = 8

// Authorize runs the authorization code flow for an oauth2 account: it
// listens on a loopback callback (the account's redirect_uri, or
// 127.0.0.1 on a random port with path /callback; a localhost redirect_uri
// listens on both 127.0.0.1 and [::1], so no other local process can take
// either), hands the consent URL (with state and a PKCE S256 challenge when
// the provider takes it) to opts.Prompt, and waits for the provider to
// redirect back. A callback whose state does not match is answered 400 and
// otherwise ignored: the real callback is still accepted. The code is
// exchanged once (with the same redirect URI, byte for byte, and the
// verifier), the tokens are stored sealed, and only then does the callback
// page say whether it worked. Without a refresh token the tokens are stored
// as not renewable and the result's Warning says what to do. Authorize
// clears a needs-reauthorization mark. When the account has a revoke_url,
// the tokens the new ones replace are then revoked there (RFC 7009: the
// refresh token, else the access token); a failure is logged, not returned. At most MaxPendingAuthorizations run
// at once.
func (m *Manager) Authorize(ctx context.Context, name string, opts AuthorizeOptions) (*AuthorizeResult, error) {
	a, err := m.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	if a.Type != TypeOAuth2 {
		return nil, fmt.Errorf("%w: %s is of type %s; only oauth2 accounts are authorized in a browser (use accounts test to check it)", ErrNotOAuth, name, a.Type)
	}
	r, err := m.resolve(ctx, a)
	if err != nil {
		return nil, err
	}
	for _, u := range []struct{ field, v string }{{"auth_url", r.authURL}, {"token_url", r.tokenURL}, {"refresh_url", r.refreshURL}} {
		if err := checkEndpoint(u.field, u.v); err != nil {
			return nil, fmt.Errorf("%w: account %s: %w", ErrAuthorization, name, err)
		}
	}
	select {
	case m.authSlots <- struct{}{}:
		defer func() { <-m.authSlots }()
	default:
		return nil, fmt.Errorf("%w: %d authorizations are already pending; finish or cancel one first", ErrAuthorization, MaxPendingAuthorizations)
	}
	listen, path := []string{"127.0.0.1:0"}, "/callback"
	if a.RedirectURI != "" {
		u, _ := url.Parse(a.RedirectURI)
		port := u.Port()
		if port == "" {
			port = "80"
		}
		listen = []string{net.JoinHostPort(u.Hostname(), port)}
		if strings.EqualFold(u.Hostname(), "localhost") {
			// A browser may resolve localhost to either address.
			listen = []string{net.JoinHostPort("127.0.0.1", port), net.JoinHostPort("::1", port)}
		}
		path = u.EscapedPath()
		if path == "" {
			path = "/"
		}
	}
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for i, addr := range listen {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			if i > 0 && !errors.Is(err, syscall.EADDRINUSE) {
				continue // no IPv6 loopback here: nobody can take it either
			}
			return nil, fmt.Errorf("%w: listening for the callback on %s: %w", ErrAuthorization, addr, err)
		}
		lns = append(lns, ln)
	}
	redirect := a.RedirectURI
	if redirect == "" {
		redirect = "http://" + lns[0].Addr().String() + path
	}

	state := randomString(32)
	verifier := oauth2.GenerateVerifier()
	consentURL, err := url.Parse(r.authURL)
	if err != nil {
		return nil, fmt.Errorf("%w: account %s: auth_url is not a URL", ErrAuthorization, name)
	}
	// The auth_url's own query and the provider's auth_params first; the
	// parameters of the flow last, so nothing overrides them.
	q := consentURL.Query()
	if len(r.scopes) > 0 {
		q.Set("scope", strings.Join(r.scopes, r.delim))
	}
	if r.prompt != "" {
		q.Set("prompt", r.prompt)
	}
	for k, v := range r.authParams {
		q.Set(k, v)
	}
	for _, k := range ReservedAuthParams {
		q.Del(k)
	}
	q.Set("response_type", "code")
	q.Set("client_id", a.ClientID)
	q.Set("redirect_uri", redirect)
	q.Set("state", state)
	if r.pkce {
		q.Set("code_challenge", oauth2.S256ChallengeFromVerifier(verifier))
		q.Set("code_challenge_method", "S256")
	}
	consentURL.RawQuery = q.Encode()
	consentURL.Fragment, consentURL.RawFragment = "", ""
	consent := consentURL.String()

	// A callback with the right state hands its outcome over and waits for
	// the result of the exchange, which its page then reports.
	type outcome struct {
		code  string
		err   error
		reply chan error
	}
	done := make(chan outcome, 1)
	quit := make(chan struct{})
	var once sync.Once
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.EscapedPath() != path {
			http.NotFound(w, req)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		v := req.URL.Query()
		if subtle.ConstantTimeCompare([]byte(v.Get("state")), []byte(state)) != 1 {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, "<p>This callback does not belong to the pending authorization (its state does not match); it was ignored.</p>")
			return
		}
		res := outcome{reply: make(chan error, 1)}
		switch {
		case v.Get("error") != "":
			res.err = fmt.Errorf("%w: the provider answered %s: %s", ErrAuthorization, preview(v.Get("error"), 60), preview(v.Get("error_description"), 200))
		case v.Get("code") == "":
			res.err = fmt.Errorf("%w: the callback carries no code", ErrAuthorization)
		default:
			res.code = v.Get("code")
		}
		used := true
		once.Do(func() { used = false; done <- res })
		if used {
			w.WriteHeader(http.StatusConflict)
			fmt.Fprint(w, "<p>This authorization was already handled. You can close this tab.</p>")
			return
		}
		var err error
		select {
		case err = <-res.reply:
		case <-quit:
			err = fmt.Errorf("%w: the authorization ended before this callback was handled", ErrAuthorization)
		case <-req.Context().Done():
			return
		}
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, "<p>Nectar could not authorize %s: %s</p>", html.EscapeString(name), html.EscapeString(err.Error()))
			return
		}
		fmt.Fprintf(w, "<p>Nectar authorized %s. You can close this tab.</p>", html.EscapeString(name))
	})}
	// The prompt runs beside the wait: a prompt that acts as the browser
	// (tests) gets its callback page only once the exchange is done.
	// Authorize returns after the prompt, and after the server closed.
	prompted := make(chan struct{})
	defer func() { <-prompted }()
	for _, ln := range lns {
		go srv.Serve(ln)
	}
	defer func() {
		// Let the callback page be written, then stop.
		close(quit)
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
	}()
	go func() {
		defer close(prompted)
		if opts.Prompt != nil {
			opts.Prompt(consent)
		}
	}()
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var res outcome
	select {
	case res = <-done:
	case <-timer.C:
		return nil, fmt.Errorf("%w: no callback within %s", ErrAuthorization, timeout)
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrAuthorization, ctx.Err())
	}
	var old *Token
	if a.RevokeURL != "" {
		old, _, _ = m.loadToken(ctx, name)
	}
	out, err := m.exchange(ctx, a, r, name, res.code, res.err, redirect, verifier)
	res.reply <- err
	if err == nil && old != nil {
		// The new tokens are stored: revoke the ones they replace.
		cur, _, _ := m.loadToken(ctx, name)
		m.revokeOld(ctx, a, old, cur, "authorized again")
	}
	if err == nil && a.Test != nil && a.testOnSave() {
		m.testAuthorized(ctx, name, out)
	}
	return out, err
}

// testAuthorized runs the test request of a newly authorized account
// (Celigo's "Save & authorize"). The tokens stay stored whatever the
// outcome; a failure is added to the result's Warning.
func (m *Manager) testAuthorized(ctx context.Context, name string, out *AuthorizeResult) {
	res, err := m.Test(ctx, name)
	if err != nil {
		res = &TestResult{Problem: err.Error()}
	}
	out.Test = res
	if !res.OK {
		w := "the test request failed: " + res.Problem
		if res.Request != "" && res.Status != 0 {
			w += fmt.Sprintf(" (%s -> %d)", res.Request, res.Status)
		}
		if out.Warning != "" {
			w = out.Warning + "; " + w
		}
		out.Warning = w
	}
}

// exchange trades the callback's code for tokens and stores them.
func (m *Manager) exchange(ctx context.Context, a *Account, r *resolved, name, code string, cbErr error, redirect, verifier string) (*AuthorizeResult, error) {
	if cbErr != nil {
		return nil, cbErr
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}}
	if r.pkce {
		form.Set("code_verifier", verifier)
	}
	tok, err := m.tokenRequest(ctx, a, r.tokenURL, form)
	if err != nil {
		return nil, fmt.Errorf("%w: exchanging the code: %w", ErrAuthorization, err)
	}
	tok.Shape = shapeOf(a, r)
	tok.Endpoint = r.refreshURL
	tok.RevokeURL = a.RevokeURL
	if tok.Scope == "" {
		tok.Scope = strings.Join(r.scopes, " ")
	}
	if err := m.saveToken(ctx, name, tok); err != nil {
		return nil, err
	}
	m.forget(name)
	out := &AuthorizeResult{Scope: tok.Scope, Expiry: tok.Expiry, Renewable: tok.RefreshToken != ""}
	if !out.Renewable {
		out.Warning = fmt.Sprintf("%v: %s works until %s, then needs authorizing again. To get a renewable token, revoke this app's access at the provider%s, then run: nectar accounts authorize %s",
			ErrNoRefreshToken, name, tok.Expiry.Format(time.RFC3339), revokeHint(r.kind), name)
	}
	return out, nil
}

// revokeHint is the provider-specific part of the no-refresh-token advice;
// kind is the built-in provider, or the one a custom provider was based on.
func revokeHint(kind string) string {
	switch kind {
	case "google":
		return " (https://myaccount.google.com/permissions; Google issues a refresh token only to a consent URL with access_type=offline and prompt=consent)"
	case "microsoft":
		return " (https://account.live.com/consent/Manage, and check the offline_access scope)"
	case "mercadolivre":
		return " (Mercado Livre: My account > Security > Connected apps)"
	}
	return ""
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
