package accounts

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// AuthorizeOptions configure Authorize.
type AuthorizeOptions struct {
	// Prompt receives the consent URL once the loopback callback listens;
	// the CLI prints it (and a test follows it, acting as the browser).
	Prompt func(consentURL string)
	// Timeout bounds the wait for the callback (default 5 minutes).
	Timeout time.Duration
}

// AuthorizeResult says what an authorization stored.
type AuthorizeResult struct {
	Scope     string
	Expiry    time.Time
	Renewable bool
	// Warning, when set, tells the user what to do (no refresh token).
	Warning string
}

// Authorize runs the authorization code flow for an oauth2 account: it
// listens on a loopback callback (the account's redirect_uri, or
// 127.0.0.1 on a random port with path /callback), hands the consent URL
// (with state and a PKCE S256 challenge when the provider takes it) to
// opts.Prompt, waits for the provider to redirect back, checks the state,
// exchanges the code once (with the same redirect URI, byte for byte, and
// the verifier) and stores the tokens sealed. Without a refresh token the
// tokens are stored as not renewable and the result's Warning says what to
// do. Authorize clears a needs-reauthorization mark.
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
	listen, path := "127.0.0.1:0", "/callback"
	if a.RedirectURI != "" {
		u, _ := url.Parse(a.RedirectURI)
		listen, path = u.Host, u.EscapedPath()
		if u.Port() == "" {
			listen = net.JoinHostPort(u.Hostname(), "80")
		}
		if path == "" {
			path = "/"
		}
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("%w: listening for the callback on %s: %v", ErrAuthorization, listen, err)
	}
	defer ln.Close()
	redirect := a.RedirectURI
	if redirect == "" {
		redirect = "http://" + ln.Addr().String() + path
	}

	state := randomString(32)
	verifier := oauth2.GenerateVerifier()
	q := url.Values{
		"response_type": {"code"},
		"client_id":     {a.ClientID},
		"redirect_uri":  {redirect},
		"state":         {state},
	}
	if len(r.scopes) > 0 {
		q.Set("scope", strings.Join(r.scopes, r.delim))
	}
	if r.prompt != "" {
		q.Set("prompt", r.prompt)
	}
	for k, v := range r.authParams {
		q.Set(k, v)
	}
	if r.pkce {
		q.Set("code_challenge", oauth2.S256ChallengeFromVerifier(verifier))
		q.Set("code_challenge_method", "S256")
	}
	consent := r.authURL
	if strings.Contains(consent, "?") {
		consent += "&" + q.Encode()
	} else {
		consent += "?" + q.Encode()
	}

	type outcome struct {
		code string
		err  error
	}
	done := make(chan outcome, 1)
	var once sync.Once
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.EscapedPath() != path {
			http.NotFound(w, req)
			return
		}
		v := req.URL.Query()
		var res outcome
		switch {
		case subtle.ConstantTimeCompare([]byte(v.Get("state")), []byte(state)) != 1:
			res.err = fmt.Errorf("%w: the callback's state does not match (a stale or forged callback)", ErrAuthorization)
		case v.Get("error") != "":
			res.err = fmt.Errorf("%w: the provider answered %s: %s", ErrAuthorization, preview(v.Get("error"), 60), preview(v.Get("error_description"), 200))
		case v.Get("code") == "":
			res.err = fmt.Errorf("%w: the callback carries no code", ErrAuthorization)
		default:
			res.code = v.Get("code")
		}
		used := true
		once.Do(func() { used = false; done <- res })
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		switch {
		case used:
			w.WriteHeader(http.StatusConflict)
			fmt.Fprint(w, "<p>This authorization was already handled. You can close this tab.</p>")
		case res.err != nil:
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, "<p>Nectar could not authorize %s: %s</p>", html.EscapeString(name), html.EscapeString(res.err.Error()))
		default:
			fmt.Fprintf(w, "<p>Nectar received the authorization for %s. You can close this tab.</p>", html.EscapeString(name))
		}
	})}
	go srv.Serve(ln)
	defer srv.Close()

	if opts.Prompt != nil {
		opts.Prompt(consent)
	}
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
	if res.err != nil {
		return nil, res.err
	}

	form := url.Values{"grant_type": {"authorization_code"}, "code": {res.code}, "redirect_uri": {redirect}}
	if r.pkce {
		form.Set("code_verifier", verifier)
	}
	tok, err := m.tokenRequest(ctx, a, r.tokenURL, form)
	if err != nil {
		return nil, fmt.Errorf("%w: exchanging the code: %w", ErrAuthorization, err)
	}
	la := &loadedAccount{a: a}
	la.shape = shapeOf(a, r)
	tok.Shape = la.shape
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
			ErrNoRefreshToken, name, tok.Expiry.Format(time.RFC3339), revokeHint(a.Provider), name)
	}
	return out, nil
}

func revokeHint(provider string) string {
	switch provider {
	case "google":
		return " (https://myaccount.google.com/permissions)"
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
