package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"reflect"
	"sync"
	"time"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/secret"
	"github.com/nectar-run/nectar/server"
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

// accountRow is an account as listed: masked, with its token state, or
// only a name and the problem of an unreadable record.
type accountRow struct {
	*accounts.Account
	State   string `json:"state"`
	Problem string `json:"problem,omitempty"`
}

// providerRow is a provider as the API shows it.
type providerRow struct {
	*accounts.Provider
	Builtin bool   `json:"builtin,omitempty"`
	Problem string `json:"problem,omitempty"`
}

// accountWire is an account sent to the API: the definition, whose secret
// fields marshal as "***" and are ignored, and the secrets by JSON field
// name.
type accountWire struct {
	*accounts.Account
	Secrets map[string]string `json:"secrets,omitempty"`
}

// secretFields returns the secret fields of a by their JSON names. It walks
// the struct, so a secret field added to Account travels without a change
// here.
func secretFields(a *accounts.Account) map[string]*secret.Secret {
	out := map[string]*secret.Secret{}
	v := reflect.ValueOf(a).Elem()
	st := reflect.TypeFor[secret.Secret]()
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if f.Type != st {
			continue
		}
		name, _, _ := cutComma(f.Tag.Get("json"))
		out[name] = v.Field(i).Addr().Interface().(*secret.Secret)
	}
	return out
}

func cutComma(s string) (string, string, bool) {
	for i := range len(s) {
		if s[i] == ',' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// wireAccount is a for the API: its secrets revealed in Secrets.
func wireAccount(a *accounts.Account) accountWire {
	w := accountWire{Account: a, Secrets: map[string]string{}}
	for name, s := range secretFields(a) {
		if !s.IsZero() {
			w.Secrets[name] = s.Reveal()
		}
	}
	return w
}

// account is the definition the API received: the secret fields come only
// from Secrets, never from the "***" a marshalled Account carries.
func (w accountWire) account() (*accounts.Account, error) {
	if w.Account == nil {
		return nil, fmt.Errorf("%w: no account", accounts.ErrInvalid)
	}
	fields := secretFields(w.Account)
	for _, s := range fields {
		*s = secret.Secret{}
	}
	for name, v := range w.Secrets {
		s, ok := fields[name]
		if !ok {
			return nil, fmt.Errorf("%w: secrets.%s is not a secret field of an account", accounts.ErrInvalid, name)
		}
		*s = secret.New(v)
	}
	return w.Account, nil
}

// storeAccounts works on the store directly.
type storeAccounts struct{ m *accounts.Manager }

// put tests a first (unless opts say not to) and saves it only if the
// test passed.
func (s storeAccounts) put(ctx context.Context, a *accounts.Account, opts accounts.SaveOptions) (*accounts.TestResult, error) {
	return s.m.Save(ctx, a, opts)
}

func (s storeAccounts) list(ctx context.Context) ([]accountRow, string, error) {
	// One unreadable record does not hide the others: they are listed,
	// and it is flagged.
	all, err := s.m.List(ctx)
	var broken *accounts.ListError
	if err != nil && !errors.As(err, &broken) {
		return nil, "", err
	}
	rows := make([]accountRow, 0, len(all))
	for _, a := range all {
		st, _ := s.m.Status(ctx, a.Name)
		rows = append(rows, accountRow{Account: a.Masked(), State: tokenState(st, a.Type)})
	}
	warning := ""
	if broken != nil {
		warning = broken.Error()
		for _, u := range broken.Unreadable {
			rows = append(rows, accountRow{Account: &accounts.Account{Name: u.Name}, State: "unreadable", Problem: u.Problem})
		}
	}
	return rows, warning, nil
}

func (s storeAccounts) get(ctx context.Context, name string) (*accounts.Account, accounts.TokenStatus, error) {
	a, err := s.m.Get(ctx, name)
	if err != nil {
		return nil, accounts.TokenStatus{}, err
	}
	st, err := s.m.Status(ctx, name)
	return a.Masked(), st, err
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
	list, err := s.m.Providers(ctx)
	if err != nil {
		return nil, err
	}
	rows := make([]providerRow, len(list))
	for i, p := range list {
		rows[i] = providerRow{Provider: p, Builtin: p.Builtin(), Problem: p.Problem()}
	}
	return rows, nil
}

func (s storeAccounts) provider(ctx context.Context, name string) (*providerRow, error) {
	p, err := s.m.Provider(ctx, name)
	if err != nil {
		return nil, err
	}
	return &providerRow{Provider: p, Builtin: p.Builtin(), Problem: p.Problem()}, nil
}

func (s storeAccounts) putProvider(ctx context.Context, p *accounts.Provider) error {
	return s.m.PutProvider(ctx, p)
}

// apiAccounts works through a running server's management API.
type apiAccounts struct{ c *apiClient }

func accountPath(name string, rest ...string) string {
	p := "/api/accounts/" + url.PathEscape(name)
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

func (a apiAccounts) put(ctx context.Context, acc *accounts.Account, opts accounts.SaveOptions) (*accounts.TestResult, error) {
	method := http.MethodPost
	if opts.Replace {
		method = http.MethodPut
	}
	p := accountPath(acc.Name)
	if opts.NoTest {
		p += "?test=false"
	}
	var out struct {
		Test *accounts.TestResult `json:"test"`
	}
	return out.Test, a.c.do(ctx, method, p, wireAccount(acc), &out)
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

// accountShown is GET /api/accounts/{name}.
type accountShown struct {
	Account *accounts.Account    `json:"account"`
	Status  accounts.TokenStatus `json:"status"`
}

func (a apiAccounts) get(ctx context.Context, name string) (*accounts.Account, accounts.TokenStatus, error) {
	var out accountShown
	if err := a.c.do(ctx, http.MethodGet, accountPath(name), nil, &out); err != nil {
		return nil, accounts.TokenStatus{}, err
	}
	return out.Account, out.Status, nil
}

func (a apiAccounts) remove(ctx context.Context, name string) error {
	return a.c.do(ctx, http.MethodDelete, accountPath(name), nil, nil)
}

func (a apiAccounts) test(ctx context.Context, name string) (*accounts.TestResult, error) {
	var out accounts.TestResult
	return &out, a.c.do(ctx, http.MethodPost, accountPath(name, "test"), nil, &out)
}

// importWire is POST /api/accounts/import: the file as the CLI parsed it,
// references already expanded (they name the CLI user's files and
// variables).
type importWire struct {
	Providers []*accounts.Provider `json:"providers"`
	Accounts  []accountWire        `json:"accounts"`
}

func (a apiAccounts) importFile(ctx context.Context, f *accounts.File, opts accounts.SaveOptions) ([]string, error) {
	in := importWire{Providers: f.Providers, Accounts: make([]accountWire, len(f.Accounts))}
	for i, acc := range f.Accounts {
		in.Accounts[i] = wireAccount(acc)
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

// authorizeState is GET /api/accounts/{name}/authorize.
type authorizeState struct {
	State     string    `json:"state"` // pending, authorized, failed
	Scope     string    `json:"scope,omitempty"`
	Expiry    time.Time `json:"expiry,omitzero"`
	Renewable bool      `json:"renewable,omitempty"`
	Warning   string    `json:"warning,omitempty"`
	Error     string    `json:"error,omitempty"`
}

func (a apiAccounts) authorize(ctx context.Context, name string, timeout time.Duration, prompt func(string)) (*accounts.AuthorizeResult, error) {
	var started struct {
		ConsentURL string `json:"consent_url"`
	}
	if err := a.c.do(ctx, http.MethodPost, accountPath(name, "authorize")+"?timeout="+url.QueryEscape(timeout.String()), nil, &started); err != nil {
		return nil, err
	}
	prompt(started.ConsentURL)
	for {
		var st authorizeState
		if err := a.c.do(ctx, http.MethodGet, accountPath(name, "authorize")+"?wait=20s", nil, &st); err != nil {
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
	if c := runningServer(g); c != nil {
		return apiAccounts{c}, nil
	}
	m, err := g.data().Accounts(ctx)
	if err != nil {
		return nil, err
	}
	return storeAccounts{m}, nil
}

// accountMounts adds the accounts and providers endpoints to the
// management API (admin key):
//
//	GET    /api/accounts                   accounts, masked, with their state
//	POST   /api/accounts/{name}            create ({account fields, "secrets": {field: value}})
//	PUT    /api/accounts/{name}            create or replace
//	GET    /api/accounts/{name}            {account (masked), status}
//	DELETE /api/accounts/{name}
//	POST   /api/accounts/{name}/test       the account's test (accounts.TestResult)
//	POST   /api/accounts/import            {providers, accounts: [account with secrets]}
//	POST   /api/accounts/{name}/authorize  ?timeout=5m: start the consent flow here; {consent_url}
//	GET    /api/accounts/{name}/authorize  ?wait=20s: its outcome (pending, authorized, failed)
//	GET    /api/providers
//	GET    /api/providers/{name}
//	PUT    /api/providers/{name}
func accountMounts(am *accounts.Manager, log *slog.Logger) []server.Mount {
	ops := storeAccounts{am}
	flows := &authFlows{m: am, log: log, running: map[string]*authFlow{}}
	list := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rows, _, err := ops.list(r.Context())
		if err != nil {
			accountsAPIError(w, err)
			return
		}
		// status is kept for API clients of before: the token state as
		// an object ("unreadable" for an unreadable record).
		type row struct {
			accountRow
			Status any `json:"status,omitempty"`
		}
		out := make([]row, len(rows))
		for i, ar := range rows {
			out[i] = row{accountRow: ar}
			if ar.State == "unreadable" {
				out[i].Status = "unreadable"
			} else if st, err := am.Status(r.Context(), ar.Name); err == nil {
				out[i].Status = st
			}
		}
		apiJSON(w, http.StatusOK, out)
	})
	put := func(replace bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var in accountWire
			if !decodeBody(w, r, &in) {
				return
			}
			a, err := in.account()
			if err == nil && a.Name != r.PathValue("name") {
				err = fmt.Errorf("%w: the body names account %q, the path %q", accounts.ErrInvalid, a.Name, r.PathValue("name"))
			}
			var res *accounts.TestResult
			if err == nil {
				res, err = ops.put(r.Context(), a, accounts.SaveOptions{Replace: replace, NoTest: r.URL.Query().Get("test") == "false"})
			}
			if err != nil {
				accountsAPIError(w, err)
				return
			}
			apiJSON(w, http.StatusCreated, map[string]any{"account": a.Name, "type": a.Type, "test": res})
		}
	}
	get := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, st, err := ops.get(r.Context(), r.PathValue("name"))
		if err != nil {
			accountsAPIError(w, err)
			return
		}
		apiJSON(w, http.StatusOK, accountShown{Account: a, Status: st})
	})
	del := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := ops.remove(r.Context(), r.PathValue("name")); err != nil {
			accountsAPIError(w, err)
			return
		}
		apiJSON(w, http.StatusOK, map[string]string{"deleted": r.PathValue("name")})
	})
	test := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := ops.test(r.Context(), r.PathValue("name"))
		if err != nil {
			accountsAPIError(w, err)
			return
		}
		apiJSON(w, http.StatusOK, res)
	})
	imp := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in importWire
		if !decodeBody(w, r, &in) {
			return
		}
		f := &accounts.File{Providers: in.Providers}
		for _, aw := range in.Accounts {
			a, err := aw.account()
			if err != nil {
				accountsAPIError(w, err)
				return
			}
			f.Accounts = append(f.Accounts, a)
		}
		names, err := ops.importFile(r.Context(), f, accounts.SaveOptions{NoTest: r.URL.Query().Get("test") == "false"})
		if err != nil {
			accountsAPIError(w, err)
			return
		}
		apiJSON(w, http.StatusOK, map[string]any{"providers": len(f.Providers), "accounts": names})
	})
	providers := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rows, err := ops.providers(r.Context())
		if err != nil {
			accountsAPIError(w, err)
			return
		}
		apiJSON(w, http.StatusOK, rows)
	})
	provider := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := ops.provider(r.Context(), r.PathValue("name"))
		if err != nil {
			accountsAPIError(w, err)
			return
		}
		apiJSON(w, http.StatusOK, p)
	})
	putProvider := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p accounts.Provider
		if !decodeBody(w, r, &p) {
			return
		}
		if p.Name != r.PathValue("name") {
			accountsAPIError(w, fmt.Errorf("%w: the body names provider %q, the path %q", accounts.ErrInvalid, p.Name, r.PathValue("name")))
			return
		}
		if err := ops.putProvider(r.Context(), &p); err != nil {
			accountsAPIError(w, err)
			return
		}
		apiJSON(w, http.StatusOK, map[string]string{"provider": p.Name})
	})
	return []server.Mount{
		{Pattern: "GET /api/accounts", Handler: list},
		{Pattern: "POST /api/accounts/import", Handler: imp},
		{Pattern: "POST /api/accounts/{name}", Handler: put(false)},
		{Pattern: "PUT /api/accounts/{name}", Handler: put(true)},
		{Pattern: "GET /api/accounts/{name}", Handler: get},
		{Pattern: "DELETE /api/accounts/{name}", Handler: del},
		{Pattern: "POST /api/accounts/{name}/test", Handler: test},
		{Pattern: "POST /api/accounts/{name}/authorize", Handler: http.HandlerFunc(flows.start)},
		{Pattern: "GET /api/accounts/{name}/authorize", Handler: http.HandlerFunc(flows.wait)},
		{Pattern: "GET /api/providers", Handler: providers},
		{Pattern: "GET /api/providers/{name}", Handler: provider},
		{Pattern: "PUT /api/providers/{name}", Handler: putProvider},
	}
}

// decodeBody decodes a JSON request body of at most 1 MiB into v, refusing
// unknown fields; on failure it answers 400 and returns false.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		// encoding/json quotes field names and types, not values.
		apiError(w, http.StatusBadRequest, "the body is not what this endpoint takes: "+err.Error())
		return false
	}
	return true
}

// accountsAPIError answers an error of the accounts manager with its
// status. Its messages quote no secret (see accounts' errors).
func accountsAPIError(w http.ResponseWriter, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, accounts.ErrUnknownAccount), errors.Is(err, accounts.ErrUnknownProvider):
		code = http.StatusNotFound
	case errors.Is(err, accounts.ErrExists):
		code = http.StatusConflict
	case errors.Is(err, accounts.ErrInvalid), errors.Is(err, accounts.ErrNotOAuth), errors.Is(err, accounts.ErrAuthorization):
		code = http.StatusBadRequest
	case errors.Is(err, accounts.ErrTestFailed):
		code = http.StatusUnprocessableEntity // tested before saving: nothing was saved
	}
	apiError(w, code, err.Error())
}

// authFlows are the consent flows `accounts authorize` started through the
// API: the server runs each (its loopback callback listener is on the
// server's host, which is the CLI's: they share the data directory), and
// the CLI waits for the outcome with GET.
type authFlows struct {
	m       *accounts.Manager
	log     *slog.Logger
	mu      sync.Mutex
	running map[string]*authFlow
}

type authFlow struct {
	cancel context.CancelFunc
	done   chan struct{}
	res    *accounts.AuthorizeResult
	err    error
}

// maxAuthorizeTimeout caps how long a flow started through the API waits.
const maxAuthorizeTimeout = 30 * time.Minute

func (f *authFlows) start(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	timeout := 5 * time.Minute
	if q := r.URL.Query().Get("timeout"); q != "" {
		d, err := time.ParseDuration(q)
		if err != nil || d <= 0 {
			apiError(w, http.StatusBadRequest, "timeout: expected a duration like 5m")
			return
		}
		timeout = min(d, maxAuthorizeTimeout)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout+10*time.Second)
	fl := &authFlow{cancel: cancel, done: make(chan struct{})}
	f.mu.Lock()
	if old := f.running[name]; old != nil {
		old.cancel() // a new attempt replaces one left waiting
	}
	f.running[name] = fl
	f.mu.Unlock()
	urls := make(chan string, 1)
	go func() {
		defer cancel()
		defer close(fl.done)
		fl.res, fl.err = f.m.Authorize(ctx, name, accounts.AuthorizeOptions{Timeout: timeout, Prompt: func(u string) { urls <- u }})
		if fl.err != nil {
			f.log.Warn("account authorization failed", "account", name, "error", fl.err.Error())
			return
		}
		f.log.Info("account authorized", "account", name, "scope", fl.res.Scope)
	}()
	select {
	case u := <-urls:
		apiJSON(w, http.StatusOK, map[string]string{"account": name, "consent_url": u})
	case <-fl.done:
		f.forget(name, fl)
		accountsAPIError(w, fl.err)
	case <-r.Context().Done():
	}
}

func (f *authFlows) forget(name string, fl *authFlow) {
	f.mu.Lock()
	if f.running[name] == fl {
		delete(f.running, name)
	}
	f.mu.Unlock()
}

func (f *authFlows) wait(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	wait := 20 * time.Second
	if q := r.URL.Query().Get("wait"); q != "" {
		if d, err := time.ParseDuration(q); err == nil && d >= 0 {
			wait = min(d, time.Minute)
		}
	}
	f.mu.Lock()
	fl := f.running[name]
	f.mu.Unlock()
	if fl == nil {
		apiError(w, http.StatusNotFound, "no authorization of "+name+" is pending; start one with POST "+accountPath(name, "authorize"))
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-fl.done:
	case <-t.C:
		apiJSON(w, http.StatusOK, authorizeState{State: "pending"})
		return
	case <-r.Context().Done():
		return
	}
	f.forget(name, fl)
	if fl.err != nil {
		apiJSON(w, http.StatusOK, authorizeState{State: "failed", Error: fl.err.Error()})
		return
	}
	apiJSON(w, http.StatusOK, authorizeState{State: "authorized", Scope: fl.res.Scope, Expiry: fl.res.Expiry, Renewable: fl.res.Renewable, Warning: fl.res.Warning})
}
