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
	// OK tells whether the account works; Problem explains why not.
	OK      bool
	Problem string
}

// Test checks an account: for OAuth types it obtains a token (renewing it
// if needed), then it sends the account's test request, if it declares
// one, and judges the answer by its success path and values (any 2xx
// otherwise). A failure is reported in the result, with an explanation;
// the error is for failures to run the test at all.
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
			return nil, fmt.Errorf("%w: account %s: test.url %q is relative and base_url is not set", ErrInvalid, name, target)
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
		return nil, fmt.Errorf("accounts: test request of %s: %w", name, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	rt, _ := m.RoundTripper(name, m.o.client.Transport)
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
	switch {
	case a.Test.SuccessPath != "":
		v, found := Lookup(doc, a.Test.SuccessPath)
		switch {
		case !found:
			res.Problem = fmt.Sprintf("the answer (%d) has no field %s", resp.StatusCode, a.Test.SuccessPath)
		case len(a.Test.SuccessValues) > 0 && !slices.Contains(a.Test.SuccessValues, v):
			res.Problem = fmt.Sprintf("%s is %q; expected one of %q", a.Test.SuccessPath, preview(v, 80), a.Test.SuccessValues)
		default:
			res.OK = true
		}
	case resp.StatusCode/100 == 2:
		res.OK = true
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		res.Problem = fmt.Sprintf("the API refused the credentials (%s); check them, the scopes and the API's permissions", resp.Status)
	default:
		res.Problem = fmt.Sprintf("the API answered %s", resp.Status)
	}
	return res, nil
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
