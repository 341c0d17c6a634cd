// Package accountsapi is the accounts and providers part of nectar serve's
// management API (admin key): the handlers Mounts returns, and the wire types
// the nectar command's client sends and reads, so that both ends share one
// definition.
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
//
// Secrets go to the server only in the "secrets" object of a request (Wire);
// no answer carries one. Errors are the standard error object with the status
// of the accounts manager's sentinel (see writeError).
//
// It is internal: the management API is Nectar's own, not a Go API.
package accountsapi

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
	"strings"
	"sync"
	"time"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/internal/httpjson"
	"github.com/nectar-run/nectar/secret"
	"github.com/nectar-run/nectar/server"
)

// Row is an account as listed: masked, with its token state, or only a
// name and the problem of an unreadable record.
type Row struct {
	*accounts.Account
	State   string `json:"state"`
	Problem string `json:"problem,omitempty"`
}

// ProviderRow is a provider as the API shows it.
type ProviderRow struct {
	*accounts.Provider
	Builtin bool   `json:"builtin,omitempty"`
	Problem string `json:"problem,omitempty"`
}

// Wire is an account sent to the API: the definition, whose secret fields
// marshal as "***" and are ignored, and the secrets by JSON field name.
type Wire struct {
	*accounts.Account
	Secrets map[string]string `json:"secrets,omitempty"`
}

// Shown is GET /api/accounts/{name}.
type Shown struct {
	Account *accounts.Account    `json:"account"`
	Status  accounts.TokenStatus `json:"status"`
}

// Import is POST /api/accounts/import: the file as the CLI parsed it,
// references already expanded (they name the CLI user's files and
// variables).
type Import struct {
	Providers []*accounts.Provider `json:"providers"`
	Accounts  []Wire               `json:"accounts"`
}

// AuthorizeState is GET /api/accounts/{name}/authorize.
type AuthorizeState struct {
	State     string    `json:"state"` // pending, authorized, failed
	Scope     string    `json:"scope,omitempty"`
	Expiry    time.Time `json:"expiry,omitzero"`
	Renewable bool      `json:"renewable,omitempty"`
	Warning   string    `json:"warning,omitempty"`
	Error     string    `json:"error,omitempty"`
}

// Path is the API path of account name, with rest appended ("test",
// "authorize").
func Path(name string, rest ...string) string {
	p := "/api/accounts/" + url.PathEscape(name)
	for _, r := range rest {
		p += "/" + r
	}
	return p
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
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		out[name] = v.Field(i).Addr().Interface().(*secret.Secret)
	}
	return out
}

// WireOf is a for the API: its secrets revealed in Secrets.
func WireOf(a *accounts.Account) Wire {
	w := Wire{Account: a, Secrets: map[string]string{}}
	for name, s := range secretFields(a) {
		if !s.IsZero() {
			w.Secrets[name] = s.Reveal()
		}
	}
	return w
}

// Decode returns the definition the API received: the secret fields come only
// from Secrets, never from the "***" a marshalled Account carries.
func (w Wire) Decode() (*accounts.Account, error) {
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

// TokenState says an account's token state in words ("static", "token
// until …", "needs authorization"…).
func TokenState(st accounts.TokenStatus, typ string) string {
	switch {
	case st.NeedsReauth:
		return "needs authorization"
	case typ == accounts.TypeOAuth2 && !st.HasToken:
		return "not authorized"
	case st.HasToken && !st.Expiry.IsZero():
		s := "token until " + st.Expiry.Local().Format(time.DateTime)
		if !st.Renewable {
			s += " (not renewable)"
		}
		return s
	case st.HasToken:
		return "token"
	case typ == accounts.TypeBasic || typ == accounts.TypeAPIKey || typ == accounts.TypeCustomHeader || typ == accounts.TypeBearer:
		return "static"
	}
	return "no token yet"
}

// List lists the accounts of m, masked. One unreadable record does not hide
// the others: they are listed, it is flagged (state "unreadable"), and
// warning says so.
func List(ctx context.Context, m *accounts.Manager) (rows []Row, warning string, err error) {
	all, err := m.List(ctx)
	var broken *accounts.ListError
	if err != nil && !errors.As(err, &broken) {
		return nil, "", err
	}
	rows = make([]Row, 0, len(all))
	for _, a := range all {
		st, _ := m.Status(ctx, a.Name)
		rows = append(rows, Row{Account: a.Masked(), State: TokenState(st, a.Type)})
	}
	if broken != nil {
		warning = broken.Error()
		for _, u := range broken.Unreadable {
			rows = append(rows, Row{Account: &accounts.Account{Name: u.Name}, State: "unreadable", Problem: u.Problem})
		}
	}
	return rows, warning, nil
}

// Get returns account name of m, masked, and its token status.
func Get(ctx context.Context, m *accounts.Manager, name string) (*accounts.Account, accounts.TokenStatus, error) {
	a, err := m.Get(ctx, name)
	if err != nil {
		return nil, accounts.TokenStatus{}, err
	}
	st, err := m.Status(ctx, name)
	return a.Masked(), st, err
}

// Providers lists the providers of m, built in and defined.
func Providers(ctx context.Context, m *accounts.Manager) ([]ProviderRow, error) {
	list, err := m.Providers(ctx)
	if err != nil {
		return nil, err
	}
	rows := make([]ProviderRow, len(list))
	for i, p := range list {
		rows[i] = providerRow(p)
	}
	return rows, nil
}

// Provider returns provider name of m.
func Provider(ctx context.Context, m *accounts.Manager, name string) (*ProviderRow, error) {
	p, err := m.Provider(ctx, name)
	if err != nil {
		return nil, err
	}
	r := providerRow(p)
	return &r, nil
}

func providerRow(p *accounts.Provider) ProviderRow {
	return ProviderRow{Provider: p, Builtin: p.Builtin(), Problem: p.Problem()}
}

// Mounts returns the endpoints listed in the package doc, working on m;
// log receives the outcome of the consent flows the API starts.
func Mounts(m *accounts.Manager, log *slog.Logger) []server.Mount {
	flows := &authFlows{m: m, log: log, running: map[string]*authFlow{}}
	list := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rows, _, err := List(r.Context(), m)
		if err != nil {
			writeError(w, err)
			return
		}
		// status is kept for API clients of before: the token state as
		// an object ("unreadable" for an unreadable record).
		type row struct {
			Row
			Status any `json:"status,omitempty"`
		}
		out := make([]row, len(rows))
		for i, ar := range rows {
			out[i] = row{Row: ar}
			if ar.State == "unreadable" {
				out[i].Status = "unreadable"
			} else if st, err := m.Status(r.Context(), ar.Name); err == nil {
				out[i].Status = st
			}
		}
		httpjson.Value(w, http.StatusOK, out)
	})
	put := func(replace bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var in Wire
			if !decodeBody(w, r, &in) {
				return
			}
			a, err := in.Decode()
			if err == nil && a.Name != r.PathValue("name") {
				err = fmt.Errorf("%w: the body names account %q, the path %q", accounts.ErrInvalid, a.Name, r.PathValue("name"))
			}
			var res *accounts.TestResult
			if err == nil {
				res, err = m.Save(r.Context(), a, accounts.SaveOptions{Replace: replace, NoTest: noTest(r)})
			}
			if err != nil {
				writeError(w, err)
				return
			}
			httpjson.Value(w, http.StatusCreated, map[string]any{"account": a.Name, "type": a.Type, "test": res})
		}
	}
	get := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, st, err := Get(r.Context(), m, r.PathValue("name"))
		answer(w, Shown{Account: a, Status: st}, err)
	})
	del := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := m.Delete(r.Context(), r.PathValue("name"))
		answer(w, map[string]string{"deleted": r.PathValue("name")}, err)
	})
	test := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res, err := m.Test(r.Context(), r.PathValue("name"))
		answer(w, res, err)
	})
	imp := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in Import
		if !decodeBody(w, r, &in) {
			return
		}
		f := &accounts.File{Providers: in.Providers}
		for _, aw := range in.Accounts {
			a, err := aw.Decode()
			if err != nil {
				writeError(w, err)
				return
			}
			f.Accounts = append(f.Accounts, a)
		}
		names, err := m.Import(r.Context(), f, accounts.SaveOptions{NoTest: noTest(r)})
		answer(w, map[string]any{"providers": len(f.Providers), "accounts": names}, err)
	})
	providers := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rows, err := Providers(r.Context(), m)
		answer(w, rows, err)
	})
	provider := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := Provider(r.Context(), m, r.PathValue("name"))
		answer(w, p, err)
	})
	putProvider := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p accounts.Provider
		if !decodeBody(w, r, &p) {
			return
		}
		var err error
		if p.Name != r.PathValue("name") {
			err = fmt.Errorf("%w: the body names provider %q, the path %q", accounts.ErrInvalid, p.Name, r.PathValue("name"))
		} else {
			err = m.PutProvider(r.Context(), &p)
		}
		answer(w, map[string]string{"provider": p.Name}, err)
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

// noTest reports whether the request says ?test=false (save without
// testing).
func noTest(r *http.Request) bool { return r.URL.Query().Get("test") == "false" }

// answer writes v with 200, or err with its status when err is not nil.
func answer(w http.ResponseWriter, v any, err error) {
	if err != nil {
		writeError(w, err)
		return
	}
	httpjson.Value(w, http.StatusOK, v)
}

// decodeBody decodes a JSON request body of at most 1 MiB into v, refusing
// unknown fields; on failure it answers 400 and returns false.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		// encoding/json quotes field names and types, not values.
		httpjson.Error(w, http.StatusBadRequest, "the body is not what this endpoint takes: "+err.Error())
		return false
	}
	return true
}

// writeError answers an error of the accounts manager with its status. Its
// messages quote no secret (see accounts' errors).
func writeError(w http.ResponseWriter, err error) {
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
	httpjson.Error(w, code, err.Error())
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
			httpjson.Error(w, http.StatusBadRequest, "timeout: expected a duration like 5m")
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
		httpjson.Value(w, http.StatusOK, map[string]string{"account": name, "consent_url": u})
	case <-fl.done:
		f.forget(name, fl)
		writeError(w, fl.err)
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
		httpjson.Error(w, http.StatusNotFound, "no authorization of "+name+" is pending; start one with POST "+Path(name, "authorize"))
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-fl.done:
	case <-t.C:
		httpjson.Value(w, http.StatusOK, AuthorizeState{State: "pending"})
		return
	case <-r.Context().Done():
		return
	}
	f.forget(name, fl)
	if fl.err != nil {
		httpjson.Value(w, http.StatusOK, AuthorizeState{State: "failed", Error: fl.err.Error()})
		return
	}
	httpjson.Value(w, http.StatusOK, AuthorizeState{State: "authorized", Scope: fl.res.Scope, Expiry: fl.res.Expiry, Renewable: fl.res.Renewable, Warning: fl.res.Warning})
}
