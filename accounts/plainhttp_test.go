package accounts_test

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/secret"
)

// sniffListener hands its Accept the connections that start a TLS
// handshake, and serves the others as plain HTTP with plain: one
// host:port speaking both, as a misconfigured or hostile server may.
type sniffListener struct {
	net.Listener
	plain chan net.Conn
}

type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c peekedConn) Read(b []byte) (int, error) { return c.r.Read(b) }

func (l *sniffListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		r := bufio.NewReader(c)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		first, err := r.Peek(1)
		c.SetReadDeadline(time.Time{})
		if err != nil {
			c.Close()
			continue
		}
		pc := peekedConn{c, r}
		if first[0] == 0x16 { // a TLS handshake record
			return pc, nil
		}
		go func() { l.plain <- pc }()
	}
}

// chanListener is a listener fed by a channel; closing it closes done.
type chanListener struct {
	net.Listener
	ch   chan net.Conn
	done chan struct{}
	once *sync.Once
}

func (l chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l chanListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

// TestHTTPSAccountNeverSendsOverPlainHTTP (hostile finding): an account
// with base_url https://127.0.0.1:PORT sent its bearer token to
// http://127.0.0.1:PORT when a message URL said http. One loopback port
// here speaks both TLS and plain HTTP; the https request carries the token,
// the plain http one is refused before anything is sent.
func TestHTTPSAccountNeverSendsOverPlainHTTP(t *testing.T) {
	var tlsAuth, plainHits atomic.Int64
	var plainAuth atomic.Value
	plainAuth.Store("")
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "Bearer tok-plain-1" {
			tlsAuth.Add(1)
		}
	}))
	sl := &sniffListener{Listener: ts.Listener, plain: make(chan net.Conn)}
	ts.Listener = sl
	ts.StartTLS()
	t.Cleanup(ts.Close)
	plain := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plainHits.Add(1)
		plainAuth.Store(r.Header.Get("Authorization"))
	})}
	go plain.Serve(chanListener{Listener: sl.Listener, ch: sl.plain, done: make(chan struct{}), once: new(sync.Once)})
	t.Cleanup(func() { plain.Close() })

	e := newEnv(t)
	e.create(&accounts.Account{Name: "tls", Type: accounts.TypeBearer, Token: secret.New("tok-plain-1"), BaseURL: ts.URL})
	rt, err := e.m.RoundTripper("tls", ts.Client().Transport)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: rt}
	resp, err := client.Get(ts.URL + "/secure")
	if err != nil {
		t.Fatalf("https request: %v", err)
	}
	resp.Body.Close()
	if tlsAuth.Load() != 1 {
		t.Fatal("the https request did not carry the token")
	}

	plainURL := "http://" + strings.TrimPrefix(ts.URL, "https://") + "/plain"
	// The port speaks plain HTTP too (without the account: no token).
	if resp, err := http.Get(plainURL); err != nil {
		t.Fatalf("the plain side of the port does not answer: %v", err)
	} else {
		resp.Body.Close()
	}
	before := plainHits.Load()
	_, err = client.Get(plainURL)
	var he *accounts.HostError
	if !errors.Is(err, accounts.ErrHostNotAllowed) || !errors.As(err, &he) || !he.PlainHTTP || !strings.Contains(err.Error(), "plain http") {
		t.Errorf("plain http request with an https account: %v; want a HostError about plain http", err)
	}
	if err != nil && strings.Contains(err.Error(), "tok-plain-1") {
		t.Errorf("the error quotes the token: %v", err)
	}
	if n := plainHits.Load() - before; n != 0 || plainAuth.Load() != "" {
		t.Fatalf("the account's request reached the plain listener %d times (Authorization %q)", n, plainAuth.Load())
	}
}
