package jwt

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/secret"
)

// KeyMaterial is the key material of one account, as the account stores it.
// A KeySource returns it; the jwt connector parses it once and keeps the
// parsed keys until the material changes (it compares the whole struct), so
// a source may return the same value on every call at no cost.
//
// An account holds one kind of key, matching the step's algorithm:
//   - HS256/384/512: Secret, the shared HMAC key (at least 32, 48 or 64
//     bytes, as RFC 7518 §3.2 requires); SecretBase64 when it is written
//     in base64 (standard or URL alphabet, padded or not).
//   - RS*, PS*, ES*, EdDSA: PrivateKey to sign (PEM: PKCS#8, PKCS#1 RSA or
//     SEC1 EC; its public half verifies too), or PublicKey to verify (PEM:
//     one or more PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE blocks, for
//     rotation), or JWKS (a JSON Web Key Set, inline) or JWKSURL (fetched
//     and cached; refetched when a token names an unknown kid).
//
// KeyID is the kid written into the header of signed tokens; verification
// selects keys by the token's kid when the keys have ids (JWKS entries, or
// KeyID for a single key).
type KeyMaterial struct {
	Secret       secret.Secret
	SecretBase64 bool
	PrivateKey   secret.Secret
	PublicKey    string
	JWKS         string
	JWKSURL      string
	KeyID        string
}

// IsZero reports whether m holds no key at all.
func (m KeyMaterial) IsZero() bool { return m == KeyMaterial{} }

// KeySource finds the key material of accounts. Nectar's accounts manager is
// one (wired by the nectar command); EnvSource reads NECTAR_JWT_* variables.
//
// JWTKey is called on every execution of a jwt step, so it must be cheap (a
// lookup in memory, not a store read and an unseal each time). It returns an
// error wrapping ErrUnknownAccount when it does not know the account, so that
// Sources can ask the next source. Errors must not hold key material.
// Implementations must be safe for concurrent use.
type KeySource interface {
	JWTKey(ctx context.Context, account string) (KeyMaterial, error)
}

// KeySourceAt is a KeySource that can be told the time of the execution
// asking, so that a cache with an expiry needs no clock read of its own:
// a sign step reads the clock once, for its iat, exp and nbf and for its
// key. now is the time.Now() of the step, with its monotonic reading.
type KeySourceAt interface {
	KeySource
	JWTKeyAt(ctx context.Context, account string, now time.Time) (KeyMaterial, error)
}

// KeySourceFunc adapts a function to KeySource.
type KeySourceFunc func(ctx context.Context, account string) (KeyMaterial, error)

// JWTKey calls f.
func (f KeySourceFunc) JWTKey(ctx context.Context, account string) (KeyMaterial, error) {
	return f(ctx, account)
}

// ErrUnknownAccount is returned (wrapped) by a KeySource that does not know
// an account.
var ErrUnknownAccount = errors.New("unknown account")

// Sources asks each source in turn and returns the first answer that is not
// ErrUnknownAccount.
type Sources []KeySource

// JWTKey implements KeySource.
func (s Sources) JWTKey(ctx context.Context, account string) (KeyMaterial, error) {
	for _, src := range s {
		m, err := src.JWTKey(ctx, account)
		if !errors.Is(err, ErrUnknownAccount) {
			return m, err
		}
	}
	return KeyMaterial{}, fmt.Errorf("%w %q", ErrUnknownAccount, account)
}

type sourceKey struct{}

// SetKeySource makes src the key source of the jwt steps run with rt. The
// nectar command calls it while it builds the runtime, before the first run.
// Without one, steps use the process's EnvSource.
func SetKeySource(rt *engine.Runtime, src KeySource) { rt.SetService(sourceKey{}, src) }

func sourceOf(rt *engine.Runtime) KeySource {
	if rt != nil {
		if v, ok := rt.Service(sourceKey{}); ok {
			if src, ok := v.(KeySource); ok {
				return src
			}
		}
	}
	return defaultEnv
}

var defaultEnv = NewEnvSource()

// EnvSource reads keys from the environment, for deployments without an
// accounts store: for the account "token-signing", the variables are
// NECTAR_JWT_TOKEN_SIGNING_ followed by SECRET, SECRET_BASE64 (the secret in
// base64), PRIVATE_KEY, PUBLIC_KEY, JWKS (PEM or JSON text, or the same
// names with _FILE naming a file that holds it), JWKS_URL and KID. The
// account name is upper-cased and every character other than a letter or a
// digit becomes '_'. Each account is read once and kept for the life of the
// process: restart to rotate. An EnvSource is safe for concurrent use.
type EnvSource struct {
	mu    sync.RWMutex
	cache map[string]envEntry
}

// envEntry is what reading an account gave: its material, or why there is
// none. Misses and errors are kept too, so that an unknown account (a Sources
// chain asks every source in turn) does not read the environment, and files,
// on every call.
type envEntry struct {
	m   KeyMaterial
	err error
}

// NewEnvSource returns an EnvSource with an empty cache.
func NewEnvSource() *EnvSource { return &EnvSource{cache: map[string]envEntry{}} }

// EnvPrefix returns the prefix of the variables that hold an account's keys.
func EnvPrefix(account string) string {
	var b strings.Builder
	b.WriteString("NECTAR_JWT_")
	for _, r := range strings.ToUpper(account) {
		if r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	b.WriteByte('_')
	return b.String()
}

// JWTKey implements KeySource. The first call for an account reads the
// environment; later calls give the same material or the same error.
func (e *EnvSource) JWTKey(_ context.Context, account string) (KeyMaterial, error) {
	e.mu.RLock()
	en, ok := e.cache[account]
	e.mu.RUnlock()
	if ok {
		return en.m, en.err
	}
	m, err := readEnv(EnvPrefix(account))
	switch {
	case err != nil:
		en = envEntry{err: fmt.Errorf("account %q: %w", account, err)}
	case m.IsZero():
		en = envEntry{err: fmt.Errorf("%w %q (no %s* variables)", ErrUnknownAccount, account, EnvPrefix(account))}
	default:
		en = envEntry{m: m}
	}
	e.mu.Lock()
	e.cache[account] = en
	e.mu.Unlock()
	return en.m, en.err
}

func readEnv(prefix string) (KeyMaterial, error) {
	var m KeyMaterial
	get := func(name string) (string, error) {
		if v := os.Getenv(prefix + name); v != "" {
			return v, nil
		}
		if f := os.Getenv(prefix + name + "_FILE"); f != "" {
			b, err := os.ReadFile(f)
			if err != nil {
				return "", fmt.Errorf("%s%s_FILE: %w", prefix, name, err)
			}
			return strings.TrimRight(string(b), "\r\n"), nil
		}
		return "", nil
	}
	s, err := get("SECRET")
	if err != nil {
		return m, err
	}
	if s == "" {
		if s, err = get("SECRET_BASE64"); err != nil {
			return m, err
		}
		m.SecretBase64 = s != ""
	}
	m.Secret = secret.New(s)
	pk, err := get("PRIVATE_KEY")
	if err != nil {
		return m, err
	}
	m.PrivateKey = secret.New(pk)
	if m.PublicKey, err = get("PUBLIC_KEY"); err != nil {
		return m, err
	}
	if m.JWKS, err = get("JWKS"); err != nil {
		return m, err
	}
	m.JWKSURL = os.Getenv(prefix + "JWKS_URL")
	m.KeyID = os.Getenv(prefix + "KID")
	return m, nil
}

// algorithm describes what a JWS algorithm needs.
type algorithm struct {
	name   string
	method gojwt.SigningMethod
	family string // hmac, rsa, ec, ed25519
	curve  elliptic.Curve
	minLen int              // HMAC key bytes
	hash   func() hash.Hash // HMAC hash
}

var algorithms = map[string]algorithm{
	"HS256": {name: "HS256", method: gojwt.SigningMethodHS256, family: "hmac", minLen: 32, hash: sha256.New},
	"HS384": {name: "HS384", method: gojwt.SigningMethodHS384, family: "hmac", minLen: 48, hash: sha512.New384},
	"HS512": {name: "HS512", method: gojwt.SigningMethodHS512, family: "hmac", minLen: 64, hash: sha512.New},
	"RS256": {name: "RS256", method: gojwt.SigningMethodRS256, family: "rsa"},
	"RS384": {name: "RS384", method: gojwt.SigningMethodRS384, family: "rsa"},
	"RS512": {name: "RS512", method: gojwt.SigningMethodRS512, family: "rsa"},
	"PS256": {name: "PS256", method: gojwt.SigningMethodPS256, family: "rsa"},
	"PS384": {name: "PS384", method: gojwt.SigningMethodPS384, family: "rsa"},
	"PS512": {name: "PS512", method: gojwt.SigningMethodPS512, family: "rsa"},
	"ES256": {name: "ES256", method: gojwt.SigningMethodES256, family: "ec", curve: elliptic.P256()},
	"ES384": {name: "ES384", method: gojwt.SigningMethodES384, family: "ec", curve: elliptic.P384()},
	"ES512": {name: "ES512", method: gojwt.SigningMethodES512, family: "ec", curve: elliptic.P521()},
	"EdDSA": {name: "EdDSA", method: gojwt.SigningMethodEdDSA, family: "ed25519"},
}

// algorithmNames is the enum of the algorithm option.
const algorithmNames = "HS256,HS384,HS512,RS256,RS384,RS512,PS256,PS384,PS512,ES256,ES384,ES512,EdDSA"

// minRSABits is the smallest RSA modulus accepted, as NIST SP 800-131A and
// RFC 7518 §3.3 require.
const minRSABits = 2048

// verifyKey is one key a token may be verified with.
type verifyKey struct {
	kid string
	key any // []byte, *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey
}

// keySet is the parsed form of one KeyMaterial for one algorithm. It is
// immutable once built, except for the remote JWKS it may refer to.
type keySet struct {
	mat    KeyMaterial
	sign   any        // the signing key, or nil
	macs   *sync.Pool // HMAC algorithms: hash.Hash keyed with the secret, so signing does not key one each time
	header string     // base64url of the JOSE header for signing
	verify []verifyKey
	remote *remoteJWKS
	alg    algorithm // the algorithm the keys are for (picks keys from remote)
	err    error     // why the material cannot be used (kept, so a bad account is not parsed on every run)
}

// check returns an error when key suits alg, naming what is wrong without
// quoting the key.
func (a algorithm) check(key any) error {
	switch k := key.(type) {
	case []byte:
		if a.family != "hmac" {
			return fmt.Errorf("a shared secret cannot be used with %s", a.name)
		}
		if len(k) < a.minLen {
			return fmt.Errorf("the secret has %d bytes; %s needs at least %d", len(k), a.name, a.minLen)
		}
	case *rsa.PublicKey:
		if a.family != "rsa" {
			return fmt.Errorf("an RSA key cannot be used with %s", a.name)
		}
		if k.N.BitLen() < minRSABits {
			return fmt.Errorf("the RSA key has %d bits; at least %d are needed", k.N.BitLen(), minRSABits)
		}
	case *ecdsa.PublicKey:
		if a.family != "ec" {
			return fmt.Errorf("an EC key cannot be used with %s", a.name)
		}
		if k.Curve != a.curve {
			return fmt.Errorf("the EC key is on curve %s; %s needs %s", k.Curve.Params().Name, a.name, a.curve.Params().Name)
		}
	case ed25519.PublicKey:
		if a.family != "ed25519" {
			return fmt.Errorf("an Ed25519 key cannot be used with %s", a.name)
		}
	default:
		return fmt.Errorf("unsupported key type %T", key)
	}
	return nil
}

// publicOf returns the verification form of a signing key.
func publicOf(key any) any {
	switch k := key.(type) {
	case []byte:
		return k
	case crypto.Signer:
		return k.Public()
	}
	return nil
}

// buildKeySet parses m for alg. Errors say what is wrong with the account,
// never what the key is.
func buildKeySet(m KeyMaterial, a algorithm, typ string, refresh time.Duration) *keySet {
	ks := &keySet{mat: m, alg: a}
	ks.err = ks.build(a, refresh)
	if ks.err == nil {
		ks.header = encodeHeader(a.name, typ, m.KeyID)
	}
	return ks
}

func (ks *keySet) build(a algorithm, refresh time.Duration) error {
	m := ks.mat
	if a.family == "hmac" {
		if m.Secret.IsZero() {
			return fmt.Errorf("%s needs a secret, and the account has none", a.name)
		}
		key := []byte(m.Secret.Reveal())
		if m.SecretBase64 {
			var err error
			if key, err = decodeBase64(m.Secret.Reveal()); err != nil {
				return errors.New("the secret is not valid base64")
			}
		}
		if err := a.check(key); err != nil {
			return err
		}
		ks.sign = key
		ks.macs = &sync.Pool{New: func() any { return hmac.New(a.hash, key) }}
		ks.verify = []verifyKey{{kid: m.KeyID, key: key}}
		return nil
	}
	if !m.PrivateKey.IsZero() {
		priv, err := parsePrivateKey(m.PrivateKey.Reveal())
		if err != nil {
			return err
		}
		pub := publicOf(priv)
		if err := a.check(pub); err != nil {
			return err
		}
		ks.sign = priv
		ks.verify = append(ks.verify, verifyKey{kid: m.KeyID, key: pub})
	}
	if m.PublicKey != "" {
		keys, err := parsePublicKeys(m.PublicKey)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if err := a.check(k); err != nil {
				return err
			}
			ks.verify = append(ks.verify, verifyKey{kid: m.KeyID, key: k})
		}
	}
	if m.JWKS != "" {
		keys, err := parseJWKS([]byte(m.JWKS), a)
		if err != nil {
			return fmt.Errorf("jwks: %w", err)
		}
		ks.verify = append(ks.verify, keys...)
	}
	if m.JWKSURL != "" {
		ks.remote = newRemoteJWKS(m.JWKSURL, refresh)
	}
	if ks.sign == nil && len(ks.verify) == 0 && ks.remote == nil {
		return fmt.Errorf("%s needs a private key, a public key or a JWKS, and the account has none", a.name)
	}
	return nil
}

func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// privatePEM and publicPEM parse the DER bytes of each PEM block type
// that holds a private key, or a public key (a certificate's).
var (
	privatePEM = map[string]func([]byte) (any, error){
		"PRIVATE KEY":     x509.ParsePKCS8PrivateKey,
		"RSA PRIVATE KEY": func(b []byte) (any, error) { return x509.ParsePKCS1PrivateKey(b) },
		"EC PRIVATE KEY":  func(b []byte) (any, error) { return x509.ParseECPrivateKey(b) },
	}
	publicPEM = map[string]func([]byte) (any, error){
		"PUBLIC KEY":     x509.ParsePKIXPublicKey,
		"RSA PUBLIC KEY": func(b []byte) (any, error) { return x509.ParsePKCS1PublicKey(b) },
		"CERTIFICATE": func(b []byte) (any, error) {
			c, err := x509.ParseCertificate(b)
			if err != nil {
				return nil, err
			}
			return c.PublicKey, nil
		},
	}
)

// parsePrivateKey reads the first PEM block of s.
func parsePrivateKey(s string) (crypto.Signer, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("the private key is not PEM")
	}
	if x509.IsEncryptedPEMBlock(block) { //nolint:staticcheck // detecting, not decrypting
		return nil, errors.New("the private key is encrypted; store it unencrypted in the account (the account store seals it)")
	}
	parse, ok := privatePEM[block.Type]
	if !ok {
		return nil, fmt.Errorf("a PEM block of type %q is not a private key", block.Type)
	}
	key, err := parse(block.Bytes)
	if err != nil {
		return nil, errors.New("the private key cannot be parsed")
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported private key type %T", key)
	}
	return signer, nil
}

// parsePublicKeys reads every PEM block of s.
func parsePublicKeys(s string) ([]any, error) {
	rest := []byte(s)
	var out []any
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		parse, ok := publicPEM[block.Type]
		if !ok {
			return nil, fmt.Errorf("a PEM block of type %q is not a public key or certificate", block.Type)
		}
		key, err := parse(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("the public key (PEM block %d) cannot be parsed", len(out)+1)
		}
		out = append(out, key)
	}
	if len(out) == 0 {
		return nil, errors.New("the public key is not PEM")
	}
	return out, nil
}

// encodeHeader returns the base64url JOSE header of signed tokens.
func encodeHeader(alg, typ, kid string) string {
	b := []byte(`{"alg":`)
	b = appendJSONString(b, alg)
	if typ != "" {
		b = append(b, `,"typ":`...)
		b = appendJSONString(b, typ)
	}
	if kid != "" {
		b = append(b, `,"kid":`...)
		b = appendJSONString(b, kid)
	}
	b = append(b, '}')
	return base64.RawURLEncoding.EncodeToString(b)
}

// keyCache holds the parsed keys of a step's account, rebuilt when the
// source returns different material. It is safe for concurrent use.
type keyCache struct {
	account string
	alg     algorithm
	typ     string
	refresh time.Duration // of a remote JWKS
	mu      sync.Mutex    // serialises rebuilds
	cur     atomic.Pointer[keySet]
}

func (c *keyCache) get(ctx context.Context, src KeySource) (*keySet, error) {
	m, err := src.JWTKey(ctx, c.account)
	if err != nil {
		return nil, err
	}
	return c.of(m)
}

// getAt is get for a step that has read the clock: a KeySourceAt is given
// the time.
func (c *keyCache) getAt(ctx context.Context, src KeySource, now time.Time) (*keySet, error) {
	at, ok := src.(KeySourceAt)
	if !ok {
		return c.get(ctx, src)
	}
	m, err := at.JWTKeyAt(ctx, c.account, now)
	if err != nil {
		return nil, err
	}
	return c.of(m)
}

// of returns the parsed keys of m, parsing them only when m is not the
// material of the last call.
func (c *keyCache) of(m KeyMaterial) (*keySet, error) {
	ks := c.cur.Load()
	if ks == nil || ks.mat != m {
		c.mu.Lock()
		if ks = c.cur.Load(); ks == nil || ks.mat != m {
			ks = buildKeySet(m, c.alg, c.typ, c.refresh)
			c.cur.Store(ks)
		}
		c.mu.Unlock()
	}
	if ks.err != nil {
		return nil, ks.err
	}
	return ks, nil
}
