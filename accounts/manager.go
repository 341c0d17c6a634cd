package accounts

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/secret"
	"github.com/nectar-run/nectar/store"
)

const (
	accountsBucket = "accounts"
	tokensBucket   = "tokens"
)

// SealedBuckets are the store buckets whose values are sealed with the
// master key, with the associated data bucket+"/"+key. RotateKey reseals
// all of them; a package that seals values the same way may append its
// bucket in init.
var SealedBuckets = []string{accountsBucket, tokensBucket, providersBucket}

// Manager holds the account definitions (sealed in the store's bucket
// "accounts") and one token cache per account (tokens sealed in the bucket
// "tokens"). Share one per process: it is safe for concurrent use, and its
// caches and rate limiters are what make concurrent steps share one token
// and one limit.
type Manager struct {
	st     store.Store
	sealer *secret.Sealer
	o      options

	// entries maps account names to *entry; a sync.Map because every
	// request reads it and accounts are rarely written.
	entries sync.Map
	group   singleflight.Group
	// secrets, once Install ran, learns every secret and token the manager
	// reads, so that log lines and execution records mask them.
	secrets atomic.Pointer[engine.Secrets]

	// tokenClient is o.client without redirects.
	tokenClient *http.Client
	// tokenRequests counts token requests by account and result.
	tokenRequests *prometheus.CounterVec
	// authSlots holds one value per pending authorization.
	authSlots chan struct{}
}

// entry is one account's in-memory state: its definition (re-read from the
// store every accountTTL) and its current token.
type entry struct {
	name string
	acct atomic.Pointer[loadedAccount]
	tok  atomic.Pointer[Token]
	// markedAt is when tok was found marked as needing authorization.
	markedAt atomic.Int64
	// refused is the last token the API refused right after its renewal.
	refused atomic.Pointer[refusal]
	// brk fails renewals fast while the token endpoint keeps failing.
	brk    breaker
	loadMu sync.Mutex

	limitOnce sync.Once
	limiter   *rate.Limiter
	sem       chan struct{}
}

type refusal struct {
	token string
	at    time.Time
}

type loadedAccount struct {
	a        *Account
	shape    string
	loadedAt time.Time
	// placement of the access token
	loc, param, scheme string
}

type options struct {
	client          *http.Client
	now             func() time.Time
	renewBefore     time.Duration
	defaultLifetime time.Duration
	accountTTL      time.Duration
	lockTTL         time.Duration
	logger          *slog.Logger
}

// Option configures NewManager.
type Option func(*options)

// WithHTTPClient sets the client for token requests (default: a client with
// a 30 s timeout that proxies from the environment).
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.client = c } }

// WithClock sets the clock used to judge token expiry (tests).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithRenewBefore sets how long before expiry a token is renewed (default 60
// s, at most half the token's lifetime).
func WithRenewBefore(d time.Duration) Option { return func(o *options) { o.renewBefore = d } }

// WithDefaultLifetime sets the lifetime of tokens that come without
// expires_in, for accounts that set no token_lifetime (default 1 h).
func WithDefaultLifetime(d time.Duration) Option { return func(o *options) { o.defaultLifetime = d } }

// WithAccountTTL sets how long a definition read from the store is used
// before it is read again, so edits by another process are seen (default 30 s).
func WithAccountTTL(d time.Duration) Option { return func(o *options) { o.accountTTL = d } }

// WithLogger sets the logger for renewals (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// NewManager returns a Manager over st, sealing secrets with sealer.
func NewManager(st store.Store, sealer *secret.Sealer, opts ...Option) *Manager {
	o := options{
		now: time.Now, renewBefore: time.Minute, defaultLifetime: time.Hour,
		accountTTL: 30 * time.Second, lockTTL: time.Minute,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.client == nil {
		o.client = &http.Client{Timeout: 30 * time.Second, Transport: http.DefaultTransport}
	}
	if o.logger == nil {
		o.logger = slog.Default()
	}
	tc := *o.client
	tc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Manager{st: st, sealer: sealer, o: o, tokenClient: &tc,
		tokenRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nectar_account_token_requests_total",
			Help: "Requests to token endpoints by account and result (ok, error).",
		}, []string{"account", "result"}),
		authSlots: make(chan struct{}, MaxPendingAuthorizations),
	}
}

// Collector returns the Manager's metrics (nectar_account_token_requests_total
// by account and result), for a Prometheus registry.
func (m *Manager) Collector() prometheus.Collector { return m.tokenRequests }

// breaker is an account's circuit around its token endpoint: after a failed
// token request, renewals fail fast for a backoff that starts at BackoffMin
// and doubles with each consecutive failure up to BackoffMax.
type breaker struct {
	mu        sync.Mutex
	failures  int
	openUntil time.Time
	last      error // wraps ErrTokenRequest
	lastAt    time.Time
}

// check returns an error while the circuit is open.
func (b *breaker) check(now time.Time, name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failures == 0 || !now.Before(b.openUntil) {
		return nil
	}
	return fmt.Errorf("accounts: the token endpoint of %s failed %d time(s) in a row; it is not asked again until %s; the last failure: %w",
		name, b.failures, b.openUntil.UTC().Format(time.RFC3339), b.last)
}

func (b *breaker) fail(now time.Time, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.failures++
	wait := BackoffMax
	if b.failures < 20 {
		wait = min(BackoffMin<<(b.failures-1), BackoffMax)
	}
	b.openUntil = now.Add(wait)
	b.last, b.lastAt = err, now
}

// failing returns the last failure while the endpoint keeps failing (nil
// after a success).
func (b *breaker) failing() (err error, at time.Time, failures int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failures == 0 {
		return nil, time.Time{}, 0
	}
	return b.last, b.lastAt, b.failures
}

func (b *breaker) reset() {
	b.mu.Lock()
	b.failures = 0
	b.mu.Unlock()
}

type serviceKey struct{}

// Install makes m the runtime's accounts manager, which steps with an
// account option use.
func Install(rt *engine.Runtime, m *Manager) {
	m.secrets.Store(&rt.Secrets)
	rt.SetService(serviceKey{}, m)
}

// learn adds secret values to the runtime's Secrets (after Install).
func (m *Manager) learn(values ...string) {
	if s := m.secrets.Load(); s != nil {
		s.Add(values...)
	}
}

// FromRuntime returns the runtime's accounts manager, if one was installed.
func FromRuntime(rt *engine.Runtime) (*Manager, bool) {
	if rt == nil {
		return nil, false
	}
	v, ok := rt.Service(serviceKey{})
	if !ok {
		return nil, false
	}
	m, ok := v.(*Manager)
	return m, ok
}

func aad(bucket, key string) []byte { return []byte(bucket + "/" + key) }

// Create stores a new account; it returns ErrExists when the name is taken.
func (m *Manager) Create(ctx context.Context, a *Account) error {
	return m.write(ctx, a, true)
}

// Put stores an account, replacing one of the same name. The cached token
// is dropped when what shapes it changed.
func (m *Manager) Put(ctx context.Context, a *Account) error {
	return m.write(ctx, a, false)
}

func (m *Manager) write(ctx context.Context, a *Account, create bool) error {
	if err := validateAccount(a); err != nil {
		return err
	}
	if a.Type == TypeOAuth2 && a.Provider != "" {
		if _, err := m.Provider(ctx, a.Provider); err != nil {
			return err
		}
	}
	plain, err := encodeAccount(a)
	if err != nil {
		return fmt.Errorf("accounts: encoding %s: %w", a.Name, err)
	}
	blob := m.sealer.Seal(plain, aad(accountsBucket, a.Name))
	if create {
		_, err = m.st.Create(ctx, accountsBucket, a.Name, blob)
		if errors.Is(err, store.ErrExists) {
			return fmt.Errorf("%w: %s (delete it first, or use import to replace it)", ErrExists, a.Name)
		}
	} else {
		_, err = m.st.Put(ctx, accountsBucket, a.Name, blob)
	}
	if err != nil {
		return fmt.Errorf("accounts: saving %s: %w", a.Name, err)
	}
	m.forget(a.Name)
	return nil
}

// forget drops the in-memory state of an account, so the next use reads it
// again.
func (m *Manager) forget(name string) { m.entries.Delete(name) }

// Get returns the account called name, secrets included (they stay
// secret.Secret values).
func (m *Manager) Get(ctx context.Context, name string) (*Account, error) {
	it, err := m.st.Get(ctx, accountsBucket, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%w %q; list them with: nectar accounts list", ErrUnknownAccount, name)
	}
	if err != nil {
		return nil, fmt.Errorf("accounts: reading %s: %w", name, err)
	}
	return m.openAccount(name, it.Value)
}

func (m *Manager) openAccount(name string, blob []byte) (*Account, error) {
	plain, err := m.sealer.Open(blob, aad(accountsBucket, name))
	if err != nil {
		return nil, fmt.Errorf("accounts: opening %s: %w", name, err)
	}
	a, err := decodeAccount(plain)
	if err == nil {
		for _, s := range a.secrets() {
			m.learn(s.Reveal())
		}
	}
	return a, err
}

// List returns every account, by name. When some records cannot be read
// (another master key, corruption), it returns the others and a *ListError
// naming the unreadable ones.
func (m *Manager) List(ctx context.Context) ([]*Account, error) {
	items, err := m.st.List(ctx, accountsBucket, store.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("accounts: listing: %w", err)
	}
	out := make([]*Account, 0, len(items))
	var bad []Unreadable
	for _, it := range items {
		a, err := m.openAccount(it.Key, it.Value)
		if err != nil {
			bad = append(bad, Unreadable{Name: it.Key, Problem: err.Error()})
			continue
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	if len(bad) > 0 {
		return out, &ListError{Unreadable: bad}
	}
	return out, nil
}

// Masked returns a copy of a for display: secrets already print as ***;
// Masked also hides the values of token_params, token_headers and
// refresh_headers and the token_body and refresh_body templates, which
// often carry keys (an audience is harmless, an API key header is not).
func (a *Account) Masked() *Account {
	c := *a
	mask := func(in map[string]string) map[string]string {
		if in == nil {
			return nil
		}
		out := make(map[string]string, len(in))
		for k := range in {
			out[k] = "***"
		}
		return out
	}
	c.TokenParams, c.TokenHeaders, c.RefreshHeaders = mask(a.TokenParams), mask(a.TokenHeaders), mask(a.RefreshHeaders)
	for _, b := range []*string{&c.TokenBody, &c.RefreshBody} {
		if *b != "" {
			*b = "***"
		}
	}
	return &c
}

// validateAccount is Account.Validate plus the rules on the endpoints
// Nectar sends secrets to: https (plain http only on loopback), no
// fragment, and a service-account key's token_uri likewise.
func validateAccount(a *Account) error {
	if err := a.Validate(); err != nil {
		return err
	}
	if !a.oauth() {
		return nil
	}
	for _, u := range []struct{ field, v string }{{"token_url", a.TokenURL}, {"auth_url", a.AuthURL}} {
		if u.v == "" {
			continue
		}
		if err := checkEndpoint(u.field, u.v); err != nil {
			return fmt.Errorf("%w: account %s: %w", ErrInvalid, a.Name, err)
		}
	}
	if a.Type == TypeGoogleServiceAccount && a.TokenURL == "" {
		if sa, err := parseServiceAccount(a.ServiceAccountKey); err == nil {
			if err := checkEndpoint("service_account_key token_uri", sa.TokenURI); err != nil {
				return fmt.Errorf("%w: account %s: %w", ErrInvalid, a.Name, err)
			}
		}
	}
	return nil
}

// Delete removes an account and its tokens. When the account has a
// revoke_url, its refresh token (else its access token) is then revoked
// there; a failed revocation is logged, and the account is deleted anyway.
func (m *Manager) Delete(ctx context.Context, name string) error {
	// Read what to revoke first; an unreadable record is deleted all the same.
	a, _ := m.Get(ctx, name)
	var old *Token
	if a != nil && a.RevokeURL != "" {
		old, _, _ = m.loadToken(ctx, name)
	}
	err := m.st.Delete(ctx, accountsBucket, name)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w %q", ErrUnknownAccount, name)
	}
	if err != nil {
		return fmt.Errorf("accounts: deleting %s: %w", name, err)
	}
	if err := m.st.Delete(ctx, tokensBucket, name); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("accounts: deleting the tokens of %s: %w", name, err)
	}
	m.forget(name)
	m.revokeOld(ctx, a, old, nil, "deleted")
	return nil
}

// entry returns the in-memory state of account name, reading the
// definition from the store on first use and after accountTTL.
func (m *Manager) entry(ctx context.Context, name string) (*entry, *loadedAccount, error) {
	v, ok := m.entries.Load(name)
	if !ok {
		v, _ = m.entries.LoadOrStore(name, &entry{name: name})
	}
	e := v.(*entry)
	la := e.acct.Load()
	if la != nil && m.o.now().Sub(la.loadedAt) < m.o.accountTTL {
		return e, la, nil
	}
	e.loadMu.Lock()
	defer e.loadMu.Unlock()
	if la = e.acct.Load(); la != nil && m.o.now().Sub(la.loadedAt) < m.o.accountTTL {
		return e, la, nil
	}
	a, err := m.Get(ctx, name)
	if err != nil {
		if errors.Is(err, ErrUnknownAccount) {
			m.forget(name)
		}
		return nil, nil, err
	}
	la = &loadedAccount{a: a, loadedAt: m.o.now()}
	if a.oauth() {
		r, err := m.resolve(ctx, a)
		if err != nil {
			return nil, nil, err
		}
		la.shape = shapeOf(a, r)
		la.loc, la.param, la.scheme = m.tokenPlacement(ctx, a)
	}
	e.acct.Store(la)
	return e, la, nil
}

func (e *entry) limits(a *Account) (*rate.Limiter, chan struct{}) {
	e.limitOnce.Do(func() {
		if a.RateLimit > 0 {
			burst := a.Burst
			if burst <= 0 {
				burst = 1
			}
			e.limiter = rate.NewLimiter(rate.Limit(a.RateLimit), burst)
		}
		if a.Concurrency > 0 {
			e.sem = make(chan struct{}, a.Concurrency)
		}
	})
	return e.limiter, e.sem
}
