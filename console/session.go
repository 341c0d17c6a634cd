package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// cookieName is the session cookie.
const cookieName = "nectar_console"

// maxSessions bounds the sessions kept; signing in beyond it drops the
// oldest.
const maxSessions = 1000

type session struct {
	csrf    string
	expires time.Time
}

// sessions are the signed-in browsers of this process, by the SHA-256 of
// their cookie (the cookie itself is kept nowhere).
type sessions struct {
	ttl   time.Duration
	mu    sync.Mutex
	byKey map[[32]byte]*session
	// failed sign-ins are slowed down: a burst of 5, then one a second.
	failed *rate.Limiter
}

func newSessions(ttl time.Duration) *sessions {
	return &sessions{ttl: ttl, byKey: map[[32]byte]*session{}, failed: rate.NewLimiter(rate.Every(time.Second), 5)}
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session and returns its cookie value.
func (s *sessions) create(now time.Time) (string, *session) {
	id := randomToken()
	ss := &session{csrf: randomToken(), expires: now.Add(s.ttl)}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.byKey {
		if !now.Before(v.expires) {
			delete(s.byKey, k)
		}
	}
	if len(s.byKey) >= maxSessions {
		var oldest [32]byte
		var at time.Time
		for k, v := range s.byKey {
			if at.IsZero() || v.expires.Before(at) {
				oldest, at = k, v.expires
			}
		}
		delete(s.byKey, oldest)
	}
	s.byKey[sha256.Sum256([]byte(id))] = ss
	return id, ss
}

func (s *sessions) get(id string, now time.Time) *session {
	if id == "" {
		return nil
	}
	k := sha256.Sum256([]byte(id))
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.byKey[k]
	if ss == nil {
		return nil
	}
	if !now.Before(ss.expires) {
		delete(s.byKey, k)
		return nil
	}
	return ss
}

func (s *sessions) remove(id string) {
	s.mu.Lock()
	delete(s.byKey, sha256.Sum256([]byte(id)))
	s.mu.Unlock()
}

// session returns the request's session, or nil.
func (c *Console) session(r *http.Request) *session {
	ck, err := r.Cookie(cookieName)
	if err != nil {
		return nil
	}
	return c.sessions.get(ck.Value, time.Now())
}

func (c *Console) setCookie(w http.ResponseWriter, r *http.Request, value string, expires time.Time) {
	ck := &http.Cookie{Name: cookieName, Value: value, Path: c.path, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil}
	if value == "" {
		ck.MaxAge = -1
	} else {
		ck.Expires = expires
		ck.MaxAge = int(time.Until(expires).Seconds())
	}
	http.SetCookie(w, ck)
}

// sameOrigin refuses a change sent from another site: a browser sends
// Origin with every POST (and Sec-Fetch-Site); when present they must name
// this host.
func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin" || site == "none"
	}
	o := r.Header.Get("Origin")
	if o == "" || o == "null" {
		return true // an older browser, or a client that is not one: the CSRF token decides
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}

// checkCSRF tells whether r carries ss's CSRF token (form field csrf or
// header X-CSRF-Token) and comes from the console's origin.
func checkCSRF(r *http.Request, ss *session) bool {
	if !sameOrigin(r) {
		return false
	}
	tok := r.Header.Get("X-CSRF-Token")
	if tok == "" {
		tok = r.PostFormValue("csrf")
	}
	return tok != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(ss.csrf)) == 1
}

// signIn is POST /login: the admin key in the form field key.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if !sameOrigin(r) {
		c.fail(w, r, http.StatusForbidden, "sign-in refused: the form was not sent from this console")
		return
	}
	key := r.PostFormValue("key")
	if key == "" || !c.b.CheckAdminKey(key) {
		if !c.sessions.failed.Allow() {
			w.Header().Set("Retry-After", "1")
			c.render(w, r, http.StatusTooManyRequests, "login", page{Title: "Sign in", Error: "Too many failed sign-ins; wait a second and try again."})
			return
		}
		c.render(w, r, http.StatusUnauthorized, "login", page{Title: "Sign in", Error: "That is not the admin key."})
		return
	}
	id, ss := c.sessions.create(time.Now())
	c.setCookie(w, r, id, ss.expires)
	http.Redirect(w, r, c.path+"/pipelines", http.StatusSeeOther)
}

// signOut is POST /logout.
func (c *Console) signOut(w http.ResponseWriter, r *http.Request, _ *session) {
	if ck, err := r.Cookie(cookieName); err == nil {
		c.sessions.remove(ck.Value)
	}
	c.setCookie(w, r, "", time.Time{})
	http.Redirect(w, r, c.path+"/login?out=1", http.StatusSeeOther)
}
