package accounts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// TestResult is what `nectar accounts test` reports.
type TestResult struct {
	// Token is true when an OAuth token was obtained (or was cached).
	Token bool
	// Request is "METHOD URL" of the test request ("" when the account
	// declares none); Status its HTTP status.
	Request string
	Status  int
	// OK tells whether the account works; Problem explains why not (or,
	// with OK, what was not tested).
	OK      bool
	Problem string
}

// Test checks a stored account: for OAuth types it obtains a token
// (renewing it if needed), then it sends the account's test request, if it
// declares one, and judges the answer (see TestRequest). A failure is
// reported in the result, with an explanation; the error is for failures
// to run the test at all.
func (m *Manager) Test(ctx context.Context, name string) (*TestResult, error) {
	e, la, err := m.entry(ctx, name)
	if err != nil {
		return nil, err
	}
	a := la.a
	res := &TestResult{}
	if a.oauth() {
		if _, err := m.accessToken(ctx, e, la, ""); err != nil {
			res.Problem = explain(err)
			return res, nil
		}
		res.Token = true
	}
	rt, _ := m.RoundTripper(name, m.o.client.Transport)
	return m.testRequest(ctx, a, rt, res)
}

// testUnsaved tests a definition that is not stored (yet): like Test, but
// the token is obtained for this test only and returned, nothing is read
// from or written to the store, and the request goes through a round
// tripper that applies the account as the real one does (host rule,
// placement of the token). An oauth2 account cannot be tested before it is
// authorized: its result is OK with a note.
func (m *Manager) testUnsaved(ctx context.Context, a *Account) (*TestResult, *Token, error) {
	res := &TestResult{}
	la := &loadedAccount{a: a}
	var tok *Token
	if a.Type == TypeOAuth2 {
		res.OK = true
		res.Problem = "not tested: an oauth2 account has no token before it is authorized; nectar accounts authorize " + a.Name + " tests it"
		return res, nil, nil
	}
	if a.oauth() {
		r, err := m.resolve(ctx, a)
		if err != nil {
			return nil, nil, err
		}
		la.loc, la.param, la.scheme = m.tokenPlacement(ctx, a)
		if tok, err = m.grantToken(ctx, a, r); err != nil {
			res.Problem = explain(err)
			return res, nil, nil
		}
		tok.Shape = shapeOf(a, r)
		tok.RevokeURL = a.RevokeURL
		res.Token = true
	}
	res, err := m.testRequest(ctx, a, &fixedTransport{a: a, la: la, tok: tok, base: m.o.client.Transport}, res)
	return res, tok, err
}

// fixedTransport applies an account that is not stored, with a token
// obtained beforehand: the host rule, then the credentials.
type fixedTransport struct {
	a    *Account
	la   *loadedAccount
	tok  *Token
	base http.RoundTripper
}

func (t *fixedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	if redirectedAway(req) {
		return base.RoundTrip(req)
	}
	if err := checkHost(t.a, req.URL); err != nil {
		closeBody(req)
		return nil, err
	}
	if t.tok == nil {
		out := req.Clone(req.Context())
		applyStatic(out, t.a)
		return base.RoundTrip(out)
	}
	out, err := withToken(req, t.la, t.tok.AccessToken, false)
	if err != nil {
		return nil, err
	}
	return base.RoundTrip(out)
}

// testRequest sends a's test request, if it declares one, through rt and
// judges the answer into res.
func (m *Manager) testRequest(ctx context.Context, a *Account, rt http.RoundTripper, res *TestResult) (*TestResult, error) {
	if a.Test == nil {
		res.OK = true
		if !a.oauth() {
			res.Problem = "no test request declared (test.url); nothing was sent"
		}
		return res, nil
	}
	target := a.Test.URL
	if u, err := url.Parse(target); err != nil || !u.IsAbs() {
		if a.BaseURL == "" {
			return nil, fmt.Errorf("%w: account %s: test.url %q is relative and base_url is not set", ErrInvalid, a.Name, target)
		}
		target = strings.TrimRight(a.BaseURL, "/") + "/" + strings.TrimLeft(target, "/")
	}
	method := a.Test.Method
	if method == "" {
		method = http.MethodGet
	}
	var body io.Reader
	if a.Test.Body != "" {
		body = strings.NewReader(a.Test.Body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, fmt.Errorf("accounts: test request of %s: %w", a.Name, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	client := &http.Client{Transport: rt, Timeout: 30 * time.Second}
	res.Request = method + " " + redactURL(target)
	resp, err := client.Do(req)
	if err != nil {
		res.Problem = explain(err)
		return res, nil
	}
	defer resp.Body.Close()
	res.Status = resp.StatusCode
	doc, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	res.OK, res.Problem = judge(a, resp, doc)
	return res, nil
}

// judge applies Celigo's test semantics (see TestRequest) to an answer.
func judge(a *Account, resp *http.Response, doc []byte) (bool, string) {
	t := a.Test
	with := func(problem string) string {
		if t.ErrorMessagePath != "" {
			if msg, ok := Lookup(doc, t.ErrorMessagePath); ok && msg != "" {
				problem += ": " + preview(msg, 200)
			}
		}
		return problem
	}
	switch {
	case resp.StatusCode == http.StatusForbidden || a.AuthError.refuses(resp.StatusCode, func() []byte { return doc }):
		return false, with(fmt.Sprintf("the API refused the credentials (%s); check them, the scopes and the API's permissions", resp.Status))
	case resp.StatusCode/100 != 2:
		return false, with("the API answered " + resp.Status)
	case t.ErrorPath != "" && valueIn(doc, t.ErrorPath, t.ErrorValues):
		v, _ := Lookup(doc, t.ErrorPath)
		return false, with(fmt.Sprintf("the answer (%d) has %s = %q, an error", resp.StatusCode, t.ErrorPath, preview(v, 80)))
	case t.SuccessPath == "":
		return true, ""
	}
	v, found := Lookup(doc, t.SuccessPath)
	switch {
	case !found:
		return false, with(fmt.Sprintf("the answer (%d) has no field %s", resp.StatusCode, t.SuccessPath))
	case len(t.SuccessValues) > 0 && !slices.Contains(t.SuccessValues, v):
		return false, with(fmt.Sprintf("%s is %q; expected one of %q", t.SuccessPath, preview(v, 80), t.SuccessValues))
	}
	return true, ""
}

// explain turns an error into advice for a person.
func explain(err error) string {
	var te *TokenError
	switch {
	case errors.Is(err, ErrNeedsReauthorization):
		return err.Error()
	case errors.As(err, &te) && te.Code == "invalid_client":
		return err.Error() + " (check client_id and client_secret, and client_auth: body or basic)"
	case errors.As(err, &te) && te.Code == "invalid_scope":
		return err.Error() + " (a scope is not allowed for this client)"
	}
	return err.Error()
}

// SaveOptions configure Save and Import.
type SaveOptions struct {
	// Replace replaces an account of the same name; without it Save
	// returns ErrExists for a taken name. (Import always replaces.)
	Replace bool
	// NoTest saves without testing first, whatever the accounts'
	// test_on_save (the CLI's --no-test).
	NoTest bool
}

// TestError is returned by Save and Import when an account's test failed,
// so nothing was saved. It wraps ErrTestFailed.
type TestError struct {
	Account string
	Result  *TestResult
}

func (e *TestError) Error() string {
	msg := "account " + e.Account + " was not saved: its test failed: " + e.Result.Problem
	if e.Result.Request != "" && e.Result.Status != 0 {
		msg += fmt.Sprintf(" (%s -> %d)", e.Result.Request, e.Result.Status)
	}
	return msg + "; fix the definition, or save it without the test (--no-test, or test_on_save: false)"
}

// Unwrap returns ErrTestFailed.
func (e *TestError) Unwrap() error { return ErrTestFailed }

// Save validates a, tests it as Test would (Celigo's "Save & continue":
// the token, then the test request) unless a.TestOnSave is false or
// opts.NoTest is set, and stores it only if the test succeeds; otherwise it
// returns a *TestError and stores nothing. The token the test obtained is
// kept. The result is nil when nothing was tested. An oauth2 account is
// saved untested (it has no token yet): Authorize tests it.
//
// Create and Put store without testing.
func (m *Manager) Save(ctx context.Context, a *Account, opts SaveOptions) (*TestResult, error) {
	if err := validateAccount(a); err != nil {
		return nil, err
	}
	if !opts.Replace {
		if _, err := m.Get(ctx, a.Name); err == nil {
			return nil, fmt.Errorf("%w: %s (delete it first, or use import to replace it)", ErrExists, a.Name)
		}
	}
	res, tok, err := m.testBeforeSave(ctx, a, opts)
	if err != nil {
		return res, err
	}
	if err := m.write(ctx, a, !opts.Replace); err != nil {
		return res, err
	}
	m.keepTestToken(ctx, a.Name, tok)
	return res, nil
}

func (m *Manager) testBeforeSave(ctx context.Context, a *Account, opts SaveOptions) (*TestResult, *Token, error) {
	if opts.NoTest || !a.testOnSave() || (!a.oauth() && a.Test == nil) {
		return nil, nil, nil // nothing to test
	}
	res, tok, err := m.testUnsaved(ctx, a)
	if err != nil {
		return nil, nil, fmt.Errorf("accounts: testing %s: %w", a.Name, err)
	}
	if !res.OK {
		return res, nil, &TestError{Account: a.Name, Result: res}
	}
	return res, tok, nil
}

// keepTestToken stores the token a successful test obtained, so the first
// use does not ask for another.
func (m *Manager) keepTestToken(ctx context.Context, name string, tok *Token) {
	if tok == nil {
		return
	}
	if err := m.saveToken(ctx, name, tok); err != nil {
		m.o.logger.Warn("cannot keep the token of the test", "account", name, "error", err.Error())
	}
	m.forget(name)
}
