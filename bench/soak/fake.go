package main

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The client the fake provider knows. The secret goes to nectar only in the
// secrets object of the account request.
const (
	fakeClientID = "soak-client"
)

// fake is an OAuth2 provider and a REST API on one loopback listener, for
// the soak's soak-api, soak-subscribe and soak-tick pipelines. Unlike
// accounts/accountstest (made for tests: it keeps every request it got), it
// holds only what is alive, so that it can run for hours: access tokens with
// their expiry (expired ones are dropped at the next token request), the
// refresh tokens (single-use: a refresh rotates them) and pending codes.
//
//	GET  /authorize   the consent: redirects to redirect_uri with a code (PKCE S256 required)
//	POST /token       client_credentials, authorization_code, refresh_token (form, client_secret_post)
//	GET  /api/echo    {"n": the query's n}
//	GET  /api/event   counts an event delivery
//	GET  /api/tick    counts a schedule tick
//
// Every /api/ request needs a live bearer token; any other is refused with
// 401 and counted in refused: a token the fake has expired never reaches
// it when nectar renews tokens before they expire.
type fake struct {
	srv      *http.Server
	url      string // http://127.0.0.1:PORT
	secret   string
	lifetime time.Duration

	mu      sync.Mutex
	seq     int
	access  map[string]time.Time // access token → expiry
	refresh map[string]bool
	codes   map[string]string // code → PKCE challenge

	tokens, refreshes, refused, calls, events, ticks atomic.Int64
}

// startFake listens on a random loopback port. Idle connections are closed
// after 2 s, so that nectar's connections to it end when the load stops
// (the goroutine and fd rules compare idle states).
func startFake(lifetime time.Duration) (*fake, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f := &fake{
		url:      "http://" + ln.Addr().String(),
		secret:   randomHex(24),
		lifetime: lifetime,
		access:   map[string]time.Time{},
		refresh:  map[string]bool{},
		codes:    map[string]string{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", f.authorize)
	mux.HandleFunc("POST /token", f.token)
	mux.HandleFunc("GET /api/{what}", f.api)
	f.srv = &http.Server{Handler: mux, IdleTimeout: 2 * time.Second, ReadHeaderTimeout: 5 * time.Second}
	go f.srv.Serve(ln)
	return f, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (f *fake) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	to, err := url.Parse(q.Get("redirect_uri"))
	if q.Get("client_id") != fakeClientID || q.Get("response_type") != "code" || err != nil ||
		q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	if h, _, _ := net.SplitHostPort(to.Host); h != "127.0.0.1" && h != "::1" && h != "localhost" {
		http.Error(w, "redirect_uri is not on loopback", http.StatusBadRequest)
		return
	}
	code := "code-" + randomHex(12)
	f.mu.Lock()
	f.codes[code] = q.Get("code_challenge")
	f.mu.Unlock()
	back := to.Query()
	back.Set("code", code)
	back.Set("state", q.Get("state"))
	to.RawQuery = back.Encode()
	http.Redirect(w, r, to.String(), http.StatusFound)
}

func oauthError(w http.ResponseWriter, status int, code string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":%q}`, code)
}

func (f *fake) token(w http.ResponseWriter, r *http.Request) {
	f.tokens.Add(1)
	if err := r.ParseForm(); err != nil {
		oauthError(w, 400, "invalid_request")
		return
	}
	form := r.PostForm
	if form.Get("client_id") != fakeClientID || subtle.ConstantTimeCompare([]byte(form.Get("client_secret")), []byte(f.secret)) != 1 {
		oauthError(w, 401, "invalid_client")
		return
	}
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	withRefresh := false
	switch form.Get("grant_type") {
	case "client_credentials":
	case "authorization_code":
		challenge, ok := f.codes[form.Get("code")]
		delete(f.codes, form.Get("code"))
		sum := sha256.Sum256([]byte(form.Get("code_verifier")))
		if !ok || base64.RawURLEncoding.EncodeToString(sum[:]) != challenge {
			oauthError(w, 400, "invalid_grant")
			return
		}
		withRefresh = true
	case "refresh_token":
		if !f.refresh[form.Get("refresh_token")] {
			oauthError(w, 400, "invalid_grant")
			return
		}
		delete(f.refresh, form.Get("refresh_token"))
		f.refreshes.Add(1)
		withRefresh = true
	default:
		oauthError(w, 400, "unsupported_grant_type")
		return
	}
	for t, exp := range f.access {
		if now.After(exp) {
			delete(f.access, t)
		}
	}
	f.seq++
	out := map[string]any{
		"access_token": fmt.Sprintf("soak-access-%d-%s", f.seq, randomHex(8)),
		"token_type":   "Bearer",
		"expires_in":   int(f.lifetime / time.Second),
	}
	f.access[out["access_token"].(string)] = now.Add(f.lifetime)
	if withRefresh {
		rt := fmt.Sprintf("soak-refresh-%d-%s", f.seq, randomHex(8))
		f.refresh[rt] = true
		out["refresh_token"] = rt
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

func (f *fake) api(w http.ResponseWriter, r *http.Request) {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	exp, ok := f.access[tok]
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if !ok || time.Now().After(exp) {
		f.refused.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":"invalid_token"}`)
		return
	}
	switch r.PathValue("what") {
	case "echo":
		f.calls.Add(1)
	case "event":
		f.events.Add(1)
	case "tick":
		f.ticks.Add(1)
	default:
		http.NotFound(w, r)
		return
	}
	json.NewEncoder(w).Encode(map[string]string{"n": r.URL.Query().Get("n")})
}
