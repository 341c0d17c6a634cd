// Package httpclient is the HTTP client that the REST, Google Drive and
// OneDrive connectors share: embed Config in a connector's configuration
// with `yaml:",inline"`, call Config.Build in compile, and send requests
// with Client.Do, which applies the step's account (package accounts),
// retries with backoff honouring Retry-After, and drops credentials on a
// redirect to another host or from https to http. The account's host rule
// (accounts.Account.Hosts) applies to every request, redirects and next
// pages included: a request to a host the account does not allow fails
// with accounts.ErrHostNotAllowed before any credential is attached.
//
//	type Config struct {
//		Folder string `yaml:"folder"`
//		httpclient.Config `yaml:",inline"`
//	}
//
//	func compile(cfg Config, cc *engine.Compiler) (engine.Step, error) {
//		client, err := cfg.Config.Build(cc)
//		...
//	}
//
// A Client is safe for concurrent use; close it in the step's Close.
package httpclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/internal/wait"
)

// Config holds the HTTP options shared by connectors that call APIs.
type Config struct {
	Account            string          `yaml:"account" doc:"the account applied to every request (nectar accounts list); its token is obtained, cached, renewed and retried by itself, and goes only to the account's hosts (base_url, provider, allowed_hosts)"`
	ConnectTimeout     engine.Duration `yaml:"connect_timeout" default:"30s" doc:"how long to wait for the connection (and TLS handshake)"`
	ReadTimeout        engine.Duration `yaml:"read_timeout" default:"30s" doc:"how long to wait for the response headers once the request is sent"`
	Retries            int             `yaml:"retries" default:"2" doc:"retries of idempotent requests (GET, HEAD, OPTIONS, PUT, DELETE) on 5xx and connection errors, and of any request on a rate-limit answer (429); 0 disables"`
	RetryBackoff       engine.Duration `yaml:"retry_backoff" default:"500ms" doc:"wait before the first retry; doubled for each further retry, with jitter"`
	MaxRetryWait       engine.Duration `yaml:"max_retry_wait" default:"60s" doc:"longest wait before a retry; a Retry-After asking for longer ends the retries"`
	RetryAfterHeader   string          `yaml:"retry_after_header" default:"Retry-After" doc:"the response header that says how long to wait (seconds or an HTTP date)"`
	RateLimitError     RateLimitRule   `yaml:"rate_limit_error" doc:"how the API signals a rate limit besides 429 (Celigo's overrides): status, path (JSON field in the body) and values"`
	MaxResponseSize    int64           `yaml:"max_response_size" default:"33554432" doc:"largest response body read, in bytes; larger fails with 502"`
	FollowRedirects    bool            `yaml:"follow_redirects" default:"true" doc:"follow 3xx redirects (up to 10); credentials are never sent to another host, nor from https to http"`
	InsecureSkipVerify bool            `yaml:"insecure_skip_verify" doc:"accept any TLS certificate (only for tests)"`
	CAFile             string          `yaml:"ca_file" doc:"PEM file of extra certificate authorities to trust, besides the system's"`
	CertFile           string          `yaml:"cert_file" doc:"PEM client certificate for mutual TLS (with key_file)"`
	KeyFile            string          `yaml:"key_file" doc:"PEM private key of cert_file"`
	ForceHTTP1         bool            `yaml:"force_http1" doc:"never use HTTP/2"`
}

// RateLimitRule says which answers mean "slow down": 429 always; Status
// too when set; with Path, a JSON body whose field at Path holds one of
// Values (any status when Status is 0).
type RateLimitRule struct {
	Status int      `yaml:"status" doc:"another status that means rate limited"`
	Path   string   `yaml:"path" doc:"JSON field of the body that signals a rate limit, like error.code"`
	Values []string `yaml:"values" doc:"values of path that mean rate limited (any value when empty)"`
}

// Client sends a connector's requests. Build it once per step with
// Config.Build; it is safe for concurrent use.
type Client struct {
	cfg       Config
	transport *http.Transport
	// sensitive headers are removed on a redirect to another host or from
	// https to http.
	sensitive []string
	cur       atomic.Pointer[bound]
}

// bound is the http.Client for one accounts manager (one per runtime).
type bound struct {
	mgr    *accounts.Manager
	client *http.Client
}

// Build validates the options and prepares the transport: timeouts, TLS
// (extra CAs, client certificate), proxies from the environment
// (HTTP_PROXY, HTTPS_PROXY, NO_PROXY) and transparent gzip. Errors point at
// the option in the pipeline file.
func (c Config) Build(cc *engine.Compiler) (*Client, error) {
	if c.Retries < 0 || c.Retries > 10 {
		return nil, cc.Errorf("retries", "expected 0 to 10 retries, got %d", c.Retries)
	}
	if c.MaxResponseSize <= 0 {
		return nil, cc.Errorf("max_response_size", "expected a positive number of bytes")
	}
	tlsCfg := &tls.Config{InsecureSkipVerify: c.InsecureSkipVerify, MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pem, err := os.ReadFile(cc.Resolve(c.CAFile))
		if err != nil {
			return nil, cc.ErrorAt("ca_file", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, cc.Errorf("ca_file", "no PEM certificate found in %s", c.CAFile)
		}
		tlsCfg.RootCAs = pool
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return nil, cc.Errorf("cert_file", "cert_file and key_file go together")
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(cc.Resolve(c.CertFile), cc.Resolve(c.KeyFile))
		if err != nil {
			return nil, cc.ErrorAt("cert_file", err)
		}
		tlsCfg.Certificates = []tls.Certificate{cert}
	}
	return New(c, tlsCfg), nil
}

// New returns a Client for options already checked (Build is the usual
// way in).
func New(c Config, tlsCfg *tls.Config) *Client {
	dialer := &net.Dialer{Timeout: c.ConnectTimeout.D(), KeepAlive: 30 * time.Second}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   c.ConnectTimeout.D(),
		ResponseHeaderTimeout: c.ReadTimeout.D(),
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     !c.ForceHTTP1,
	}
	if c.ForceHTTP1 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	if c.RetryAfterHeader == "" {
		c.RetryAfterHeader = "Retry-After"
	}
	return &Client{cfg: c, transport: tr, sensitive: []string{"Authorization", "Proxy-Authorization", "Cookie", "Cookie2"}}
}

// SensitiveHeaders adds header names that are removed when a redirect leads
// to another host or from https to http (headers whose values carry
// account fields).
func (c *Client) SensitiveHeaders(names ...string) {
	c.sensitive = append(c.sensitive, names...)
}

// Close closes idle connections.
func (c *Client) Close(context.Context) error {
	c.transport.CloseIdleConnections()
	return nil
}

// MaxResponseSize is the cap on response bodies.
func (c *Client) MaxResponseSize() int64 { return c.cfg.MaxResponseSize }

// HTTPClient returns the *http.Client for an execution: the shared
// transport with the step's account applied (from the runtime's accounts
// manager).
func (c *Client) HTTPClient(x *engine.Exec) (*http.Client, error) {
	var rt *engine.Runtime
	if x != nil {
		rt = x.Runtime
	}
	mgr, _ := accounts.FromRuntime(rt)
	if rt != nil {
		if w, ok := rt.Service(WrapKey{}); ok {
			return c.wrapped(x, mgr, w.(Wrap))
		}
	}
	if b := c.cur.Load(); b != nil && b.mgr == mgr {
		return b.client, nil
	}
	var tr http.RoundTripper = c.transport
	if c.cfg.Account != "" {
		if mgr == nil {
			return nil, fmt.Errorf("%w: account %s is used, but no accounts store is open (create accounts with: nectar accounts create)", accounts.ErrNoManager, c.cfg.Account)
		}
		var err error
		if tr, err = mgr.RoundTripper(c.cfg.Account, c.transport); err != nil {
			return nil, err
		}
	}
	b := &bound{mgr: mgr, client: &http.Client{Transport: tr, CheckRedirect: c.checkRedirect}}
	c.cur.Store(b)
	return b.client, nil
}

// WrapKey is the runtime service key (engine.Runtime.SetService) of a Wrap.
type WrapKey struct{}

// Wrap wraps the transport of every request an execution sends through a
// Client, redirects included, outside the account: the wrapper sees the
// request before any credential is attached. nectar test answers mocked
// requests and refuses those that would leave the machine with it. A
// runtime with a Wrap and no accounts manager sends requests without the
// step's account (the wrapper answers or refuses them).
type Wrap func(x *engine.Exec, next http.RoundTripper) http.RoundTripper

// wrapped is HTTPClient for a runtime with a Wrap: a client per call.
func (c *Client) wrapped(x *engine.Exec, mgr *accounts.Manager, w Wrap) (*http.Client, error) {
	var tr http.RoundTripper = c.transport
	if c.cfg.Account != "" && mgr != nil {
		var err error
		if tr, err = mgr.RoundTripper(c.cfg.Account, c.transport); err != nil {
			return nil, err
		}
	}
	return &http.Client{Transport: w(x, tr), CheckRedirect: c.checkRedirect}, nil
}

func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if !c.cfg.FollowRedirects {
		return http.ErrUseLastResponse
	}
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if !strings.EqualFold(via[0].URL.Host, req.URL.Host) || accounts.Downgraded(via[0].URL, req.URL) {
		for _, h := range c.sensitive {
			req.Header.Del(h)
		}
	}
	return nil
}

// Idempotent reports whether a request may be sent twice without harm.
func Idempotent(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, http.MethodTrace:
		return true
	}
	return req.Header.Get("Idempotency-Key") != ""
}

// Do sends req with retries: idempotent requests are retried on 5xx and
// connection errors, any request on a rate-limit answer, after
// exponential backoff or the Retry-After the server asked for. The body is
// re-sent through req.GetBody (set by http.NewRequest for in-memory
// bodies). Account failures (a refused refresh token…) are not retried.
func (c *Client) Do(ctx context.Context, x *engine.Exec, req *http.Request) (*http.Response, error) {
	hc, err := c.HTTPClient(x)
	if err != nil {
		return nil, err
	}
	LearnSent(x, req)
	idem := Idempotent(req)
	noWait := x != nil && x.Runtime != nil && x.Runtime.SkipRetryWait
	canResend := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	for attempt := 0; ; attempt++ {
		try := req
		if attempt > 0 && req.GetBody != nil {
			try = req.Clone(ctx)
			if try.Body, err = req.GetBody(); err != nil {
				return nil, err
			}
		}
		resp, err := hc.Do(try)
		last := attempt >= c.cfg.Retries || !canResend
		if err != nil {
			if last || !idem || !retryableError(ctx, err) {
				return nil, err
			}
			d := c.backoff(attempt)
			if noWait {
				d = 0
			}
			if !wait.Sleep(ctx, d) {
				return nil, err
			}
			if x != nil {
				// Named through Redact, as in every message: a URL may
				// be pre-signed (its query is the credential).
				x.Logger.Debug("retrying request", "url", Redact(req.URL), "attempt", attempt+2, "error", WithoutURL(err))
			}
			continue
		}
		limited := c.rateLimited(resp)
		if last || !(limited || (idem && resp.StatusCode >= 500)) {
			return resp, nil
		}
		d, ok := c.retryAfter(resp, attempt)
		if !ok {
			return resp, nil
		}
		if noWait {
			d = 0
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if x != nil {
			x.Logger.Debug("retrying request", "attempt", attempt+2, "status", resp.StatusCode, "wait", d)
		}
		if !wait.Sleep(ctx, d) {
			return nil, ctx.Err()
		}
	}
}

func retryableError(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	for _, e := range []error{accounts.ErrNeedsReauthorization, accounts.ErrUnknownAccount, accounts.ErrTokenRequest, accounts.ErrInvalid, accounts.ErrUnknownProvider, accounts.ErrNoManager, accounts.ErrHostNotAllowed} {
		if errors.Is(err, e) {
			return false
		}
	}
	var ue *url.Error
	return errors.As(err, &ue)
}

func (c *Client) backoff(attempt int) time.Duration {
	d := c.cfg.RetryBackoff.D() << attempt
	if max := c.cfg.MaxRetryWait.D(); max > 0 && d > max {
		d = max
	}
	if d <= 0 {
		return 0
	}
	// Jitter: between 75% and 125%, so clients that failed together do not
	// retry together.
	return d*3/4 + rand.N(d/2+1)
}

// retryAfter returns how long to wait before the next attempt: what the
// server asked (seconds or an HTTP date), else the backoff; false when the
// server asks for longer than max_retry_wait.
func (c *Client) retryAfter(resp *http.Response, attempt int) (time.Duration, bool) {
	v := strings.TrimSpace(resp.Header.Get(c.cfg.RetryAfterHeader))
	if v == "" {
		return c.backoff(attempt), true
	}
	var d time.Duration
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		d = time.Duration(n * float64(time.Second))
	} else if t, err := http.ParseTime(v); err == nil {
		d = time.Until(t)
	} else {
		return c.backoff(attempt), true
	}
	if d < 0 {
		d = 0
	}
	if max := c.cfg.MaxRetryWait.D(); max > 0 && d > max {
		return 0, false
	}
	return d, true
}

func (c *Client) rateLimited(resp *http.Response) bool {
	r := c.cfg.RateLimitError
	if resp.StatusCode == http.StatusTooManyRequests {
		return true
	}
	if r.Status != 0 && resp.StatusCode != r.Status {
		return false
	}
	if r.Path == "" {
		return r.Status != 0
	}
	head, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	if err != nil {
		return false
	}
	v, ok := accounts.Lookup(head, r.Path)
	return ok && (len(r.Values) == 0 || slices.Contains(r.Values, v))
}

// ErrTooLarge is returned by ReadBody when a body exceeds max_response_size.
var ErrTooLarge = errors.New("response body is larger than max_response_size")

// ReadBody reads resp's body up to the size cap and closes it.
func (c *Client) ReadBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	max := c.cfg.MaxResponseSize
	if resp.ContentLength > max {
		return nil, fmt.Errorf("%w (%d > %d bytes)", ErrTooLarge, resp.ContentLength, max)
	}
	var buf []byte
	if resp.ContentLength > 0 {
		buf = make([]byte, 0, resp.ContentLength)
	} else {
		buf = make([]byte, 0, 512)
	}
	w := bytes.NewBuffer(buf)
	n, err := w.ReadFrom(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, err
	}
	if n > max {
		return nil, fmt.Errorf("%w (%d bytes)", ErrTooLarge, max)
	}
	return w.Bytes(), nil
}

// LearnSent makes the credentials req carries secrets of x's execution
// (engine.Exec.AddSecret), so that an upstream echoing them back (in an
// error body, a header, a next link) or a later step repeating them does
// not put them in the execution's record or log lines: the password of the
// URL's user info, the values of query parameters and of headers with a
// sensitive name (x.Sensitive: api_key, access_token, X-Api-Key,
// Authorization, Cookie…), and of a credential header its credential after
// the scheme (Bearer, Basic) and a Basic password. The account's own
// credentials, added later by its transport, are secrets of the runtime
// already. Connectors call it through Do; one that sends otherwise calls it
// itself.
func LearnSent(x *engine.Exec, req *http.Request) {
	if x == nil || req == nil || req.URL == nil {
		return
	}
	u := req.URL
	if u.User != nil {
		if pw, ok := u.User.Password(); ok {
			// net/http sends it as Basic base64(user:password).
			x.AddSecret(pw, base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pw)))
		}
	}
	if u.RawQuery != "" {
		q, _ := url.ParseQuery(u.RawQuery)
		for k, vs := range q {
			if x.Sensitive(k) {
				x.AddSecret(vs...)
			}
		}
	}
	for k, vs := range req.Header {
		if !x.Sensitive(k) {
			continue
		}
		for _, v := range vs {
			v = strings.TrimSpace(v)
			x.AddSecret(v)
			scheme, cred, ok := strings.Cut(v, " ")
			if !ok {
				continue
			}
			cred = strings.TrimSpace(cred)
			x.AddSecret(cred)
			if strings.EqualFold(scheme, "basic") {
				if raw, err := base64.StdEncoding.DecodeString(cred); err == nil {
					if _, pw, ok := strings.Cut(string(raw), ":"); ok {
						x.AddSecret(pw)
					}
				}
			}
		}
	}
}

// WithoutURL returns err without the URL a *url.Error (from url.Parse,
// http.NewRequest or a client's Do) quotes in its message: that error's own
// cause. A URL may carry a token in its query or user info, or be
// pre-authenticated (upload sessions, monitors), so messages name a URL only
// through Redact. Other errors are returned as they are.
func WithoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// RedactText is Redact for text that may not parse as a URL (a template
// that gave "htps://user:pass@host/x?api_key=…" or "/x?token=…"): the text
// without its query, fragment and user info.
func RedactText(s string) string {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	prefix, rest := "", s
	if i := strings.Index(s, "//"); i >= 0 {
		prefix, rest = s[:i+2], s[i+2:]
	}
	authority := rest
	if j := strings.IndexByte(rest, '/'); j >= 0 {
		authority = rest[:j]
	}
	if k := strings.LastIndexByte(authority, '@'); k >= 0 {
		rest = rest[k+1:]
	}
	return prefix + rest
}

// Redact returns a URL for messages: no user info, no query, no fragment.
func Redact(u *url.URL) string {
	c := *u
	c.User = nil
	c.RawQuery = ""
	c.Fragment = ""
	return c.String()
}
