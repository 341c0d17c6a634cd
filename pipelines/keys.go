package pipelines

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/connectors/jwt"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/secret"
)

// The accounts holding the signing keys of the shipped OAuth2 pipelines.
// AccountKeys creates them on first use with a random 512-bit secret, so a
// fresh nectar serve issues tokens with no setup; deleting one (nectar
// accounts delete) makes a new key on next use, which invalidates every
// token signed with the old one.
const (
	AccessTokenAccount  = "nectar-oauth-access"  // HS256, access tokens
	RefreshTokenAccount = "nectar-oauth-refresh" // HS512, refresh tokens
)

// GeneratedAccounts are the accounts AccountKeys creates when they are
// missing. Only these: a typo in another pipeline's account option must
// stay an error, not become a new key.
var GeneratedAccounts = []string{AccessTokenAccount, RefreshTokenAccount}

// keyTTL is how long key material read from an account is used before the
// account is read again, so a key rotated by nectar accounts (or another
// replica) is picked up.
const keyTTL = 30 * time.Second

// AccountKeys is a jwt.KeySource over the accounts manager of a runtime,
// after the NECTAR_JWT_* environment variables (jwt.EnvSource), which win
// when they are set. An account's key is read by jwt.AccountMaterial, the
// same function the jwt auth of http triggers and verify-key use, so one
// account serves all three. Key material is kept in memory for 30 s: the
// jwt connector and the jwt triggers ask on every execution. It is safe for
// concurrent use.
type AccountKeys struct {
	rt  *engine.Runtime
	env *jwt.EnvSource
	now func() time.Time

	mu    sync.RWMutex
	cache map[string]cachedKey
	fill  sync.Mutex // one store read at a time when the cache misses
}

type cachedKey struct {
	m  jwt.KeyMaterial
	at time.Time
}

// NewAccountKeys returns a key source reading the accounts manager
// installed in rt (looked up on each miss, so it may be installed later).
func NewAccountKeys(rt *engine.Runtime) *AccountKeys {
	return &AccountKeys{rt: rt, env: jwt.NewEnvSource(), now: time.Now, cache: map[string]cachedKey{}}
}

// InstallKeys makes the jwt steps run with rt take their keys from NECTAR_JWT_*
// environment variables when they are set, else from rt's accounts (see
// AccountKeys). nectar serve and nectar run call it while building the
// runtime; programs embedding the shipped pipelines do the same.
func InstallKeys(rt *engine.Runtime) {
	jwt.SetKeySource(rt, NewAccountKeys(rt))
}

var _ jwt.KeySourceAt = (*AccountKeys)(nil)

// JWTKey implements jwt.KeySource.
func (k *AccountKeys) JWTKey(ctx context.Context, account string) (jwt.KeyMaterial, error) {
	return k.JWTKeyAt(ctx, account, k.now())
}

// JWTKeyAt implements jwt.KeySourceAt: JWTKey at the time a sign step read
// for its token, which spares a clock read on every token.
func (k *AccountKeys) JWTKeyAt(ctx context.Context, account string, now time.Time) (jwt.KeyMaterial, error) {
	k.mu.RLock()
	c, ok := k.cache[account]
	k.mu.RUnlock()
	if ok && now.Sub(c.at) < keyTTL {
		return c.m, nil
	}
	k.fill.Lock()
	defer k.fill.Unlock()
	k.mu.RLock()
	c, ok = k.cache[account]
	k.mu.RUnlock()
	if ok && now.Sub(c.at) < keyTTL {
		return c.m, nil
	}
	m, err := k.read(ctx, account)
	if err != nil {
		return jwt.KeyMaterial{}, err
	}
	k.mu.Lock()
	k.cache[account] = cachedKey{m: m, at: now}
	k.mu.Unlock()
	return m, nil
}

// read asks the environment, then the accounts. Both answers are cached by
// JWTKey: jwt.EnvSource keeps what it found but not that it found nothing,
// so asking it first on every execution would read the environment each
// time.
func (k *AccountKeys) read(ctx context.Context, name string) (jwt.KeyMaterial, error) {
	if m, err := k.env.JWTKey(ctx, name); !errors.Is(err, jwt.ErrUnknownAccount) {
		return m, err
	}
	am, ok := accounts.FromRuntime(k.rt)
	if !ok {
		return jwt.KeyMaterial{}, fmt.Errorf("%w %q (no accounts store)", jwt.ErrUnknownAccount, name)
	}
	a, err := am.Get(ctx, name)
	if errors.Is(err, accounts.ErrUnknownAccount) && generated(name) {
		a, err = generate(ctx, am, name)
	}
	if errors.Is(err, accounts.ErrUnknownAccount) {
		return jwt.KeyMaterial{}, fmt.Errorf("%w %q", jwt.ErrUnknownAccount, name)
	}
	if err != nil {
		return jwt.KeyMaterial{}, err
	}
	return jwt.AccountMaterial(a)
}

func generated(name string) bool {
	for _, g := range GeneratedAccounts {
		if g == name {
			return true
		}
	}
	return false
}

// generate creates a signing-key account. Two processes may race: the one
// that loses reads the winner's key.
func generate(ctx context.Context, am *accounts.Manager, name string) (*accounts.Account, error) {
	raw := make([]byte, 64)
	_, _ = rand.Read(raw) // crypto/rand.Read never fails
	a := &accounts.Account{
		Name:        name,
		Type:        accounts.TypeBearer,
		Description: "HMAC key of Nectar's OAuth2 token endpoint (shipped pipelines); generated on first use. Deleting it invalidates every token it signed.",
		Token:       secret.New(base64.RawURLEncoding.EncodeToString(raw)),
	}
	err := am.Create(ctx, a)
	if errors.Is(err, accounts.ErrExists) {
		return am.Get(ctx, name)
	}
	if err != nil {
		return nil, err
	}
	return a, nil
}
