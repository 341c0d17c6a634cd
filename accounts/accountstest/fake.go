// Package accountstest is a fake OAuth2 authorization server and API for
// tests, on a loopback httptest server: it runs the authorization code flow
// with PKCE, the refresh-token grant (optionally rotating single-use
// refresh tokens), the client-credentials grant, and an API that checks
// bearer tokens and can refuse them as 401, 403 or a 200 with an error
// body. It counts token requests, so tests can prove that concurrent users
// share one renewal. Its token endpoint takes form or JSON bodies; a
// revocation endpoint (RFC 7009) is at /revoke. Received keeps every token,
// revocation and API request as it arrived (method, content type, body
// bytes).
package accountstest

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
)

// Client credentials the fake accepts.
const (
	ClientID     = "nectar-client"
	ClientSecret = "fake-client-secret-Zq8x" // tests grep for it
)

// Provider is the fake. Change its fields before use, or under Lock.
type Provider struct {
	*httptest.Server

	mu sync.Mutex
	// ExpiresIn is the expires_in of issued tokens (0: omitted).
	ExpiresIn int
	// Rotate makes refresh tokens single-use: each refresh issues a new one
	// and the old one answers invalid_grant.
	Rotate bool
	// NoRefreshToken makes the code exchange return no refresh token.
	NoRefreshToken bool
	// BasicAuth requires client credentials in a Basic header (else in
	// the body).
	BasicAuth bool
	// RefuseAs is how the API refuses an unknown token: 401 (default), 403,
	// or 200 for {"error":{"code":"602"}}.
	RefuseAs int
	// RefuseAll makes the API refuse every token, even valid ones (an API
	// that always answers 401, or whose ordinary errors match a rule).
	RefuseAll bool
	// Override replaces fields of issued token answers; a json.RawMessage
	// value is sent as it is (expires_in: 1e20, a token with CR/LF…).
	Override map[string]any
	// TokenHook, when set, sees every /token request first; when it
	// returns true it has answered and the fake does nothing more (a
	// token endpoint that fails, redirects or stalls).
	TokenHook func(w http.ResponseWriter, r *http.Request) bool

	// RevokeStatus, when set, is the status /revoke answers with (an
	// error body for 4xx and 5xx), and the token is not revoked.
	RevokeStatus int

	tokenRequests atomic.Int64
	apiRequests   atomic.Int64
	seq           int
	issued        []string
	codes         map[string]codeGrant
	access        map[string]bool
	refresh       map[string]bool
	// Forms holds the token-request parameters (of form or JSON bodies),
	// for inspection.
	Forms []url.Values
	// Received holds every request to /token, /revoke and /api/ as it
	// arrived.
	Received []Received
}

// Received is a request as the fake received it.
type Received struct {
	Method      string
	Path        string
	ContentType string
	Header      http.Header
	Body        []byte
}

// ReceivedAt returns the requests that reached path (/token, /revoke,
// /api/me…).
func (p *Provider) ReceivedAt(path string) []Received {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Received
	for _, r := range p.Received {
		if r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

type codeGrant struct {
	redirect, challenge string
}

// New starts a fake provider; it is closed with the test.
func New(t interface {
	Cleanup(func())
}) *Provider {
	p := &Provider{ExpiresIn: 3600, codes: map[string]codeGrant{}, access: map[string]bool{}, refresh: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/authorize", p.authorize)
	mux.HandleFunc("/token", p.token)
	mux.HandleFunc("/revoke", p.revoke)
	mux.HandleFunc("/api/", p.api)
	p.Server = httptest.NewServer(mux)
	t.Cleanup(p.Server.Close)
	return p
}

// TokenRequests is how many requests reached /token.
func (p *Provider) TokenRequests() int64 { return p.tokenRequests.Load() }

// APIRequests is how many requests reached /api/.
func (p *Provider) APIRequests() int64 { return p.apiRequests.Load() }

// Set changes the fake's settings under its lock.
func (p *Provider) Set(fn func(p *Provider)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fn(p)
}

// ExpireAccessTokens makes every issued access token invalid, as if they
// had expired at the server.
func (p *Provider) ExpireAccessTokens() {
	p.mu.Lock()
	p.access = map[string]bool{}
	p.mu.Unlock()
}

// RevokeRefreshTokens makes every refresh token answer invalid_grant.
func (p *Provider) RevokeRefreshTokens() {
	p.mu.Lock()
	p.refresh = map[string]bool{}
	p.mu.Unlock()
}

// IssuedSecrets returns every access and refresh token issued, to check
// that none leaks.
func (p *Provider) IssuedSecrets() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.issued...)
}

func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != ClientID || q.Get("response_type") != "code" {
		http.Error(w, "bad client", http.StatusBadRequest)
		return
	}
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		http.Error(w, "PKCE S256 required", http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	p.seq++
	code := fmt.Sprintf("code-%d", p.seq)
	p.codes[code] = codeGrant{redirect: q.Get("redirect_uri"), challenge: q.Get("code_challenge")}
	p.mu.Unlock()
	to, err := url.Parse(q.Get("redirect_uri"))
	if err != nil {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	back := to.Query()
	back.Set("code", code)
	back.Set("state", q.Get("state"))
	to.RawQuery = back.Encode()
	http.Redirect(w, r, to.String(), http.StatusFound)
}

func (p *Provider) fail(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":%q,"error_description":"fake says %s"}`, code, code)
}

func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	p.tokenRequests.Add(1)
	p.mu.Lock()
	hook := p.TokenHook
	p.mu.Unlock()
	if hook != nil && hook(w, r) {
		return
	}
	form, ok := p.receive(r)
	if !ok {
		p.fail(w, 400, "invalid_request")
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.Forms = append(p.Forms, form)
	grant := form.Get("grant_type")
	if grant != "urn:ietf:params:oauth:grant-type:jwt-bearer" && !p.clientOK(r, form) {
		p.fail(w, 401, "invalid_client")
		return
	}
	withRefresh := false
	switch grant {
	case "client_credentials":
	case "authorization_code":
		c, ok := p.codes[form.Get("code")]
		delete(p.codes, form.Get("code")) // a code works once
		if !ok || c.redirect != form.Get("redirect_uri") {
			p.fail(w, 400, "invalid_grant")
			return
		}
		sum := sha256.Sum256([]byte(form.Get("code_verifier")))
		if base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge {
			p.fail(w, 400, "invalid_grant")
			return
		}
		withRefresh = !p.NoRefreshToken
	case "refresh_token":
		rt := form.Get("refresh_token")
		if !p.refresh[rt] {
			p.fail(w, 400, "invalid_grant")
			return
		}
		if p.Rotate {
			delete(p.refresh, rt)
			withRefresh = true
		}
	case "urn:ietf:params:oauth:grant-type:jwt-bearer":
		if form.Get("assertion") == "" {
			p.fail(w, 400, "invalid_grant")
			return
		}
	default:
		p.fail(w, 400, "unsupported_grant_type")
		return
	}
	p.seq++
	out := map[string]any{"access_token": fmt.Sprintf("fake-access-%d-Kx7", p.seq), "token_type": "Bearer"}
	p.access[out["access_token"].(string)] = true
	p.issued = append(p.issued, out["access_token"].(string))
	if withRefresh {
		rt := fmt.Sprintf("fake-refresh-%d-Vb2", p.seq)
		p.refresh[rt] = true
		p.issued = append(p.issued, rt)
		out["refresh_token"] = rt
	}
	if p.ExpiresIn > 0 {
		out["expires_in"] = p.ExpiresIn
	}
	if s := form.Get("scope"); s != "" {
		out["scope"] = s
	}
	for k, v := range p.Override {
		out[k] = v
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

// receive records r and returns its parameters: a form body, or a JSON
// object body (Content-Type application/json) whose values are strings or
// numbers. ok is false for a body of neither kind.
func (p *Provider) receive(r *http.Request) (url.Values, bool) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	p.mu.Lock()
	p.Received = append(p.Received, Received{Method: r.Method, Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"), Header: r.Header.Clone(), Body: body})
	p.mu.Unlock()
	if err != nil || r.Method != http.MethodPost {
		return nil, false
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/json" {
		var obj map[string]any
		if json.Unmarshal(body, &obj) != nil {
			return nil, false
		}
		form := url.Values{}
		for k, v := range obj {
			switch v := v.(type) {
			case string:
				form.Set(k, v)
			case float64:
				form.Set(k, fmt.Sprint(v))
			default:
				return nil, false
			}
		}
		return form, true
	}
	if mt != "application/x-www-form-urlencoded" {
		return nil, false
	}
	form, err := url.ParseQuery(string(body))
	return form, err == nil
}

// clientOK checks the client credentials of a token or revocation request:
// in a Basic header when BasicAuth is set, else in the parameters.
func (p *Provider) clientOK(r *http.Request, form url.Values) bool {
	id, secret := form.Get("client_id"), form.Get("client_secret")
	if p.BasicAuth {
		u, s, ok := r.BasicAuth()
		if !ok {
			return false
		}
		id, _ = url.QueryUnescape(u)
		secret, _ = url.QueryUnescape(s)
	}
	return id == ClientID && subtle.ConstantTimeCompare([]byte(secret), []byte(ClientSecret)) == 1
}

// revoke is the revocation endpoint (RFC 7009): with the client's
// credentials, it forgets the token (access or refresh) and answers 200,
// also for a token it does not know (§2.2); RevokeStatus scripts a failure.
func (p *Provider) revoke(w http.ResponseWriter, r *http.Request) {
	form, ok := p.receive(r)
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case !ok || form.Get("token") == "":
		p.fail(w, 400, "invalid_request")
	case !p.clientOK(r, form):
		p.fail(w, 401, "invalid_client")
	case p.RevokeStatus >= 400:
		p.fail(w, p.RevokeStatus, "server_error")
	case p.RevokeStatus != 0:
		w.WriteHeader(p.RevokeStatus)
	default:
		delete(p.access, form.Get("token"))
		delete(p.refresh, form.Get("token"))
		w.WriteHeader(http.StatusOK)
	}
}

// Valid reports whether token is a live access or refresh token.
func (p *Provider) Valid(token string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.access[token] || p.refresh[token]
}

// api answers /api/... for a valid token: {"ok":true,"path":...,"body":...};
// otherwise it refuses as RefuseAs says. /api/items?page=N serves pages.
func (p *Provider) api(w http.ResponseWriter, r *http.Request) {
	p.apiRequests.Add(1)
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	p.mu.Lock()
	p.Received = append(p.Received, Received{Method: r.Method, Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"), Header: r.Header.Clone(), Body: raw})
	p.mu.Unlock()
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if tok == "" {
		tok = r.URL.Query().Get("access_token")
	}
	p.mu.Lock()
	ok, refuse := p.access[tok] && !p.RefuseAll, p.RefuseAs
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if !ok {
		switch refuse {
		case 403:
			w.WriteHeader(403)
			fmt.Fprint(w, `{"error":"forbidden"}`)
		case 200:
			fmt.Fprint(w, `{"error":{"code":"602","message":"Access token expired"}}`)
		default:
			w.WriteHeader(401)
			fmt.Fprint(w, `{"error":"invalid_token"}`)
		}
		return
	}
	var body any
	json.Unmarshal(raw, &body)
	json.NewEncoder(w).Encode(map[string]any{"ok": true, "path": r.URL.Path, "body": body})
}
