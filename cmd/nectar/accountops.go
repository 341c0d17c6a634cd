package main

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/internal/accountsapi"
	"github.com/nectar-run/nectar/store"
)

// The accounts and providers commands work on an accountOps: the store
// itself, or, while nectar serve holds it, the server's management API
// (see remote.go for the rule). Secrets go to the server only in the
// "secrets" object of a request; no answer carries one.
type accountOps interface {
	put(ctx context.Context, a *accounts.Account, opts accounts.SaveOptions) (*accounts.TestResult, error)
	list(ctx context.Context) (rows []accountRow, warning string, err error)
	get(ctx context.Context, name string) (*accounts.Account, accounts.TokenStatus, error)
	remove(ctx context.Context, name string) error
	test(ctx context.Context, name string) (*accounts.TestResult, error)
	importFile(ctx context.Context, f *accounts.File, opts accounts.SaveOptions) ([]string, error)
	authorize(ctx context.Context, name string, timeout time.Duration, prompt func(string)) (*accounts.AuthorizeResult, error)
	providers(ctx context.Context) ([]providerRow, error)
	provider(ctx context.Context, name string) (*providerRow, error)
	putProvider(ctx context.Context, p *accounts.Provider) error
}

// The rows the commands print are the API's (package accountsapi).
type (
	accountRow  = accountsapi.Row
	providerRow = accountsapi.ProviderRow
)

// storeAccounts works on the store directly.
type storeAccounts struct{ m *accounts.Manager }

// put tests a first (unless opts say not to) and saves it only if the
// test passed.
func (s storeAccounts) put(ctx context.Context, a *accounts.Account, opts accounts.SaveOptions) (*accounts.TestResult, error) {
	return s.m.Save(ctx, a, opts)
}

func (s storeAccounts) list(ctx context.Context) ([]accountRow, string, error) {
	return accountsapi.List(ctx, s.m)
}

func (s storeAccounts) get(ctx context.Context, name string) (*accounts.Account, accounts.TokenStatus, error) {
	return accountsapi.Get(ctx, s.m, name)
}

func (s storeAccounts) remove(ctx context.Context, name string) error { return s.m.Delete(ctx, name) }
func (s storeAccounts) test(ctx context.Context, name string) (*accounts.TestResult, error) {
	return s.m.Test(ctx, name)
}
func (s storeAccounts) importFile(ctx context.Context, f *accounts.File, opts accounts.SaveOptions) ([]string, error) {
	return s.m.Import(ctx, f, opts)
}
func (s storeAccounts) authorize(ctx context.Context, name string, timeout time.Duration, prompt func(string)) (*accounts.AuthorizeResult, error) {
	return s.m.Authorize(ctx, name, accounts.AuthorizeOptions{Timeout: timeout, Prompt: prompt})
}

func (s storeAccounts) providers(ctx context.Context) ([]providerRow, error) {
	return accountsapi.Providers(ctx, s.m)
}

func (s storeAccounts) provider(ctx context.Context, name string) (*providerRow, error) {
	return accountsapi.Provider(ctx, s.m, name)
}

func (s storeAccounts) putProvider(ctx context.Context, p *accounts.Provider) error {
	return s.m.PutProvider(ctx, p)
}

// apiAccounts works through a running server's management API.
type apiAccounts struct{ c *apiClient }

func (a apiAccounts) put(ctx context.Context, acc *accounts.Account, opts accounts.SaveOptions) (*accounts.TestResult, error) {
	method := http.MethodPost
	if opts.Replace {
		method = http.MethodPut
	}
	p := accountsapi.Path(acc.Name)
	if opts.NoTest {
		p += "?test=false"
	}
	var out struct {
		Test *accounts.TestResult `json:"test"`
	}
	return out.Test, a.c.do(ctx, method, p, accountsapi.WireOf(acc), &out)
}

func (a apiAccounts) list(ctx context.Context) ([]accountRow, string, error) {
	var rows []accountRow
	if err := a.c.do(ctx, http.MethodGet, "/api/accounts", nil, &rows); err != nil {
		return nil, "", err
	}
	var bad []string // as List's *ListError says it without a server
	for _, r := range rows {
		if r.State == "unreadable" {
			bad = append(bad, r.Name)
		}
	}
	warning := ""
	if len(bad) > 0 {
		ue := &accounts.ListError{}
		for _, n := range bad {
			ue.Unreadable = append(ue.Unreadable, accounts.Unreadable{Name: n})
		}
		warning = ue.Error()
	}
	return rows, warning, nil
}

func (a apiAccounts) get(ctx context.Context, name string) (*accounts.Account, accounts.TokenStatus, error) {
	var out accountsapi.Shown
	if err := a.c.do(ctx, http.MethodGet, accountsapi.Path(name), nil, &out); err != nil {
		return nil, accounts.TokenStatus{}, err
	}
	return out.Account, out.Status, nil
}

func (a apiAccounts) remove(ctx context.Context, name string) error {
	return a.c.do(ctx, http.MethodDelete, accountsapi.Path(name), nil, nil)
}

func (a apiAccounts) test(ctx context.Context, name string) (*accounts.TestResult, error) {
	var out accounts.TestResult
	return &out, a.c.do(ctx, http.MethodPost, accountsapi.Path(name, "test"), nil, &out)
}

func (a apiAccounts) importFile(ctx context.Context, f *accounts.File, opts accounts.SaveOptions) ([]string, error) {
	in := accountsapi.Import{Providers: f.Providers, Accounts: make([]accountsapi.Wire, len(f.Accounts))}
	for i, acc := range f.Accounts {
		in.Accounts[i] = accountsapi.WireOf(acc)
	}
	var out struct {
		Accounts []string `json:"accounts"`
	}
	p := "/api/accounts/import"
	if opts.NoTest {
		p += "?test=false"
	}
	return out.Accounts, a.c.do(ctx, http.MethodPost, p, in, &out)
}

func (a apiAccounts) authorize(ctx context.Context, name string, timeout time.Duration, prompt func(string)) (*accounts.AuthorizeResult, error) {
	var started struct {
		ConsentURL string `json:"consent_url"`
	}
	if err := a.c.do(ctx, http.MethodPost, accountsapi.Path(name, "authorize")+"?timeout="+url.QueryEscape(timeout.String()), nil, &started); err != nil {
		return nil, err
	}
	prompt(started.ConsentURL)
	for {
		var st accountsapi.AuthorizeState
		if err := a.c.do(ctx, http.MethodGet, accountsapi.Path(name, "authorize")+"?wait=20s", nil, &st); err != nil {
			return nil, err
		}
		switch st.State {
		case "pending":
			continue
		case "authorized":
			return &accounts.AuthorizeResult{Scope: st.Scope, Expiry: st.Expiry, Renewable: st.Renewable, Warning: st.Warning}, nil
		default:
			return nil, errors.New(st.Error)
		}
	}
}

func (a apiAccounts) providers(ctx context.Context) ([]providerRow, error) {
	var out []providerRow
	return out, a.c.do(ctx, http.MethodGet, "/api/providers", nil, &out)
}

func (a apiAccounts) provider(ctx context.Context, name string) (*providerRow, error) {
	var out providerRow
	return &out, a.c.do(ctx, http.MethodGet, "/api/providers/"+url.PathEscape(name), nil, &out)
}

func (a apiAccounts) putProvider(ctx context.Context, p *accounts.Provider) error {
	return a.c.do(ctx, http.MethodPut, "/api/providers/"+url.PathEscape(p.Name), p, nil)
}

// accountOps returns the accounts of --data-dir: through the running
// server's API when one holds it, else from the store.
func (g *globals) accountOps(ctx context.Context) (accountOps, error) {
	return serverOr(ctx, g, func(c *apiClient) (accountOps, error) { return apiAccounts{c}, nil },
		func(store.Store) (accountOps, error) {
			m, err := g.data().Accounts(ctx) // over the store serverOr opened
			if err != nil {
				return nil, err
			}
			return storeAccounts{m}, nil
		})
}
