package accounts

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/nectar-run/nectar/engine/value"
)

// RoundTripper returns an http.RoundTripper that sends requests through base
// (http.DefaultTransport when nil) with the account applied:
//
//   - basic: Authorization: Basic; bearer: Authorization: Bearer;
//     api-key: the key in header or query parameter key_name;
//     custom-header: header_name: header_value;
//   - OAuth types: the access token where the account (or its provider)
//     puts it: a header with a scheme (Authorization: Bearer by default),
//     a query parameter (Mercado Livre's access_token) or a form or JSON
//     body field. The token is obtained, cached and renewed shortly before
//     it expires; concurrent requests share one renewal.
//
// When the response is an auth error by the account's rules (401 by
// default, or auth_error's status and/or body path and values), the token
// is renewed and the request sent again once; its body is re-read through
// req.GetBody (a body without GetBody is buffered first).
//
// Credentials go only to the account's hosts (Account.Hosts: base_url's
// host, a built-in provider's API hosts, allowed_hosts): a request to any
// other host fails with a *HostError (ErrHostNotAllowed) before a
// credential is attached or a token obtained; next-page URLs and every
// other request made through the round tripper obey the same rule. A
// request that a redirect sent to another host than the original one, or
// from https down to http, gets no credentials (and is not checked: it
// carries nothing of the account). The account's rate and concurrency
// limits apply to every attempt.
//
// The account is looked up when a request is made, not here: the
// round tripper stays valid when the account is created or changed later.
// It is safe for concurrent use.
func (m *Manager) RoundTripper(account string, base http.RoundTripper) (http.RoundTripper, error) {
	if account == "" {
		return nil, fmt.Errorf("%w: empty account name", ErrUnknownAccount)
	}
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{m: m, name: account, base: base}, nil
}

type transport struct {
	m    *Manager
	name string
	base http.RoundTripper
}

// maxAuthBody bounds how much of a response body is read to look for an
// auth error field.
const maxAuthBody = 1 << 20

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if redirectedAway(req) {
		// Credentials belong to the first host, over the first scheme, only.
		return t.base.RoundTrip(req)
	}
	ctx := req.Context()
	e, la, err := t.m.entry(ctx, t.name)
	if err != nil {
		closeBody(req)
		return nil, err
	}
	a := la.a
	if err := checkHost(a, req.URL); err != nil {
		closeBody(req)
		return nil, err
	}
	if lim, sem := e.limits(a); lim != nil || sem != nil {
		if lim != nil {
			if err := lim.Wait(ctx); err != nil {
				closeBody(req)
				return nil, fmt.Errorf("accounts: %s rate limit: %w", t.name, err)
			}
		}
		if sem != nil {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				closeBody(req)
				return nil, ctx.Err()
			}
			resp, err := t.send(ctx, req, e, la)
			if err != nil || resp.Body == nil {
				<-sem
				return resp, err
			}
			resp.Body = &releaseBody{ReadCloser: resp.Body, release: func() { <-sem }}
			return resp, nil
		}
	}
	return t.send(ctx, req, e, la)
}

func (t *transport) send(ctx context.Context, req *http.Request, e *entry, la *loadedAccount) (*http.Response, error) {
	a := la.a
	if !a.oauth() {
		out := req.Clone(ctx)
		applyStatic(out, a)
		return t.base.RoundTrip(out)
	}
	tok, err := t.m.accessToken(ctx, e, la, "")
	if err != nil {
		closeBody(req)
		return nil, err
	}
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		// Buffer the body so the retry after an auth error can send it again.
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("accounts: reading the request body: %w", err)
		}
		req = req.Clone(ctx)
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	out, err := withToken(req, la, tok.AccessToken, false)
	if err != nil {
		return nil, err
	}
	resp, err := t.base.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	if !t.authFailed(resp, a) {
		return resp, nil
	}
	// The token was refused: renew it (unless someone already did) and try
	// once more.
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return resp, nil
	}
	tok2, err := t.m.accessToken(ctx, e, la, tok.AccessToken)
	if err != nil {
		resp.Body.Close()
		return nil, err
	}
	if tok2.AccessToken == tok.AccessToken {
		// Renewed moments ago and refused again: not renewed (NoRenewWindow).
		return resp, nil
	}
	out2, err := withToken(req, la, tok2.AccessToken, true)
	if err != nil {
		return resp, nil
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	resp2, err := t.base.RoundTrip(out2)
	if err == nil && t.authFailed(resp2, a) {
		t.m.refusedFresh(e, tok2.AccessToken) // not renewed again for NoRenewWindow
	}
	return resp2, err
}

// withToken returns a copy of req carrying the access token. again means
// the body must be fetched anew (a retry).
func withToken(req *http.Request, la *loadedAccount, token string, again bool) (*http.Request, error) {
	out := req.Clone(req.Context())
	if again && req.GetBody != nil {
		b, err := req.GetBody()
		if err != nil {
			return nil, err
		}
		out.Body = b
	}
	switch la.loc {
	case "query":
		u := *out.URL
		q := u.Query()
		q.Set(la.param, token)
		u.RawQuery = q.Encode()
		out.URL = &u
	case "body":
		if err := tokenInBody(out, la.param, token); err != nil {
			return nil, err
		}
	default:
		v := token
		if la.scheme != "none" && la.scheme != "" {
			v = la.scheme + " " + token
		}
		out.Header.Set(la.param, v)
	}
	return out, nil
}

// tokenInBody adds the token to a form-encoded or JSON object body.
func tokenInBody(req *http.Request, field, token string) error {
	var b []byte
	if req.Body != nil {
		var err error
		b, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return err
		}
	}
	mt, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
	switch {
	case mt == "application/x-www-form-urlencoded" || len(b) == 0:
		q, err := url.ParseQuery(string(b))
		if err != nil {
			return fmt.Errorf("accounts: the token goes in the body, but the body is not form-encoded")
		}
		q.Set(field, token)
		b = []byte(q.Encode())
		if mt == "" {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	case strings.HasSuffix(mt, "json"):
		v, err := value.Decode(b)
		o, ok := v.(*value.Object)
		if err != nil || !ok {
			return fmt.Errorf("accounts: the token goes in the body, but the body is not a JSON object")
		}
		o = o.Clone()
		o.Set(field, token)
		if b, err = value.Encode(o); err != nil {
			return err
		}
	default:
		return fmt.Errorf("accounts: the token goes in the body, but the body is %s (want form or JSON)", mt)
	}
	req.Body = io.NopCloser(bytes.NewReader(b))
	req.ContentLength = int64(len(b))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	return nil
}

func applyStatic(req *http.Request, a *Account) {
	switch a.Type {
	case TypeBasic:
		req.SetBasicAuth(a.Username, a.Password.Reveal())
	case TypeBearer:
		req.Header.Set("Authorization", "Bearer "+a.Token.Reveal())
	case TypeCustomHeader:
		req.Header.Set(a.HeaderName, a.HeaderValue.Reveal())
	case TypeAPIKey:
		if a.KeyIn == "query" {
			u := *req.URL
			q := u.Query()
			q.Set(a.KeyName, a.APIKey.Reveal())
			u.RawQuery = q.Encode()
			req.URL = &u
		} else {
			req.Header.Set(a.KeyName, a.APIKey.Reveal())
		}
	}
}

// authFailed applies the account's auth-error rules to resp. When it has to
// look at the body, it reads it and puts it back.
func (t *transport) authFailed(resp *http.Response, a *Account) bool {
	return a.AuthError.refuses(resp.StatusCode, func() []byte { return peekBody(resp) })
}

// refuses reports whether an answer with status, and the JSON body that
// body returns (called only when needed), is an auth error by the rule.
func (r AuthErrorRule) refuses(status int, body func() []byte) bool {
	if status == http.StatusUnauthorized {
		return true
	}
	if r.Status != 0 && status != r.Status {
		return false
	}
	if r.Path == "" {
		return r.Status != 0
	}
	return valueIn(body(), r.Path, r.Values)
}

// peekBody returns the first maxAuthBody bytes of resp's body, which stays
// readable from its start.
func peekBody(resp *http.Response) []byte {
	if resp.Body == nil || resp.Body == http.NoBody {
		return nil
	}
	head, err := io.ReadAll(io.LimitReader(resp.Body, maxAuthBody))
	resp.Body = &joinedBody{Reader: io.MultiReader(bytes.NewReader(head), resp.Body), Closer: resp.Body}
	if err != nil {
		return nil
	}
	return head
}

// valueIn reports whether the JSON document's field at path holds one of
// values (any value but "" when values is empty).
func valueIn(doc []byte, path string, values []string) bool {
	v, ok := Lookup(doc, path)
	if !ok {
		return false
	}
	if len(values) == 0 {
		return v != ""
	}
	for _, want := range values {
		if v == want {
			return true
		}
	}
	return false
}

// Lookup returns the value at path (dots and [n], like error.code or
// errors[0].code) in a JSON document, as text (strings unquoted, other
// values in JSON), and whether it exists. The Celigo-style fail and success
// paths of accounts and of the REST connector use it.
func Lookup(doc []byte, path string) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", false
	}
	for _, part := range value.SplitPath(path) {
		switch c := v.(type) {
		case map[string]any:
			next, ok := c[part]
			if !ok {
				return "", false
			}
			v = next
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(c) {
				return "", false
			}
			v = c[i]
		default:
			return "", false
		}
	}
	switch v := v.(type) {
	case string:
		return v, true
	case nil:
		return "null", true
	default:
		b, _ := json.Marshal(v)
		return string(b), true
	}
}

// redirectedAway reports whether req follows a redirect from another host,
// or from https to http (a downgrade would send credentials in clear text).
func redirectedAway(req *http.Request) bool {
	if req.Response == nil || req.Response.Request == nil {
		return false
	}
	first := req.Response.Request
	for first.Response != nil && first.Response.Request != nil {
		first = first.Response.Request
	}
	return !strings.EqualFold(first.URL.Host, req.URL.Host) || Downgraded(first.URL, req.URL)
}

// Downgraded reports whether a request went from https (or wss) at from to
// plain http (or ws) at to.
func Downgraded(from, to *url.URL) bool {
	secure := func(s string) bool { return strings.EqualFold(s, "https") || strings.EqualFold(s, "wss") }
	return secure(from.Scheme) && !secure(to.Scheme)
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

type releaseBody struct {
	io.ReadCloser
	once    sync.Once
	release func()
}

func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(b.release)
	return err
}

type joinedBody struct {
	io.Reader
	io.Closer
}
