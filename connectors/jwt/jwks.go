package jwt

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nectar-run/nectar/connectors/httpclient"
	"github.com/nectar-run/nectar/engine"
)

// jwk is one JSON Web Key (RFC 7517), public or symmetric.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	K   string `json:"k"`
}

// parseJWKS returns the keys of a JWK Set that suit alg. Keys for another
// algorithm, family or curve, keys for encryption and keys that cannot be
// parsed are skipped (a provider's set often mixes them); a set with no
// usable key is an error.
func parseJWKS(data []byte, a algorithm) ([]verifyKey, error) {
	set, err := parseJWKSet(data)
	if err != nil {
		return nil, err
	}
	out := set.suiting(a)
	if len(out) == 0 {
		return nil, fmt.Errorf("no key in the set suits %s", a.name)
	}
	return out, nil
}

// setKey is one signature key of a JWK Set, with the algorithm its alg
// member restricts it to ("" when it has none).
type setKey struct {
	verifyKey
	alg string
}

// jwkSet is the parsed form of a JWK Set: every key that can verify
// signatures, for whatever algorithm.
type jwkSet []setKey

// parseJWKSet parses a JWK Set, keeping every signature key it can parse.
// It is an error only when data is not a JWK Set at all.
func parseJWKSet(data []byte) (jwkSet, error) {
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, errors.New("not a JSON Web Key Set")
	}
	var out jwkSet
	for _, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		key, err := k.key()
		if err != nil {
			continue
		}
		out = append(out, setKey{verifyKey: verifyKey{kid: k.Kid, key: key}, alg: k.Alg})
	}
	return out, nil
}

// suiting returns the keys of s that suit a (nil when none does).
func (s jwkSet) suiting(a algorithm) []verifyKey {
	var out []verifyKey
	for _, k := range s {
		if k.alg != "" && k.alg != a.name || a.check(k.key) != nil {
			continue
		}
		out = append(out, k.verifyKey)
	}
	return out
}

func b64(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

func (k jwk) key() (any, error) {
	switch k.Kty {
	case "RSA":
		n, err1 := b64(k.N)
		e, err2 := b64(k.E)
		if err1 != nil || err2 != nil || len(n) == 0 || len(e) == 0 || len(e) > 4 {
			return nil, errors.New("bad RSA key")
		}
		exp := 0
		for _, c := range e {
			exp = exp<<8 | int(c)
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: exp}, nil
	case "EC":
		var c elliptic.Curve
		switch k.Crv {
		case "P-256":
			c = elliptic.P256()
		case "P-384":
			c = elliptic.P384()
		case "P-521":
			c = elliptic.P521()
		default:
			return nil, errors.New("unsupported curve")
		}
		x, err1 := b64(k.X)
		y, err2 := b64(k.Y)
		if err1 != nil || err2 != nil {
			return nil, errors.New("bad EC key")
		}
		size := (c.Params().BitSize + 7) / 8
		if len(x) != size || len(y) != size {
			return nil, errors.New("bad EC key")
		}
		// ecdsa.ParseUncompressedPublicKey checks that the point is on the curve.
		raw := append(append([]byte{4}, x...), y...)
		return ecdsa.ParseUncompressedPublicKey(c, raw)
	case "OKP":
		x, err := b64(k.X)
		if k.Crv != "Ed25519" || err != nil || len(x) != ed25519.PublicKeySize {
			return nil, errors.New("bad OKP key")
		}
		return ed25519.PublicKey(x), nil
	case "oct":
		s, err := b64(k.K)
		if err != nil || len(s) == 0 {
			return nil, errors.New("bad oct key")
		}
		return s, nil
	}
	return nil, errors.New("unsupported key type")
}

// jwksClient fetches remote key sets. Its timeout bounds a fetch that the
// execution's context does not.
var jwksClient = &http.Client{Timeout: 10 * time.Second}

// fetchClientKey is the context key of the client a step's fetches use
// (fetchContext).
type fetchClientKey struct{}

// fetchContext makes the key-set fetches of a step go through the
// runtime's httpclient.Wrap, as the step's other requests would: under
// nectar test, a jwks_url no mock answers fails the test, naming the step,
// instead of leaving the machine.
func fetchContext(ctx context.Context, x *engine.Exec) context.Context {
	w, ok := x.Runtime.Service(httpclient.WrapKey{})
	if !ok {
		return ctx
	}
	return context.WithValue(ctx, fetchClientKey{}, &http.Client{Timeout: jwksClient.Timeout, Transport: w.(httpclient.Wrap)(x, http.DefaultTransport)})
}

// maxJWKSSize bounds a fetched key set.
const maxJWKSSize = 1 << 20

// remoteJWKS is a key set fetched from a URL and cached, whole: one cache
// per URL serves every algorithm, and a token picks from it the keys that
// suit its algorithm. Keys are refetched when older than refresh, and when a
// token names a kid the set lacks, at most once per minRefetch, so forged
// kids cannot make Nectar hammer the provider. A token whose algorithm no
// key of the set suits is refused (errNoAlgKey) without a fetch: the set is
// what the provider publishes, whatever algorithm a caller writes in a
// header. It is safe for concurrent use: reads of fresh keys take no lock,
// and one fetch runs at a time.
type remoteJWKS struct {
	url     string
	refresh time.Duration

	mu  sync.Mutex // held while fetching
	cur atomic.Pointer[fetchedKeys]
}

type fetchedKeys struct {
	set   jwkSet
	byAlg map[string][]verifyKey // the keys of set suiting each algorithm, computed once per fetch
	at    time.Time
}

func newFetchedKeys(set jwkSet, at time.Time) *fetchedKeys {
	f := &fetchedKeys{set: set, byAlg: make(map[string][]verifyKey, len(algorithms)), at: at}
	for name, a := range algorithms {
		if keys := set.suiting(a); len(keys) > 0 {
			f.byAlg[name] = keys
		}
	}
	return f
}

// remotes holds one remoteJWKS per URL and refresh, shared by every step of
// the process and every algorithm, so steps verifying against one provider
// fetch its keys once.
var remotes sync.Map // remoteKey → *remoteJWKS

type remoteKey struct {
	url     string
	refresh time.Duration
}

func newRemoteJWKS(url string, refresh time.Duration) *remoteJWKS {
	k := remoteKey{url, refresh}
	if r, ok := remotes.Load(k); ok {
		return r.(*remoteJWKS)
	}
	r, _ := remotes.LoadOrStore(k, &remoteJWKS{url: url, refresh: refresh})
	return r.(*remoteJWKS)
}

func (r *remoteJWKS) minRefetch() time.Duration { return min(r.refresh, 30*time.Second) }

// usable reports whether f can answer for kid without a fetch.
func (r *remoteJWKS) usable(f *fetchedKeys, kid string) bool {
	if f == nil {
		return false
	}
	age := time.Since(f.at)
	if age >= r.refresh {
		return false
	}
	return kid == "" || hasKid(f.set, kid) || age < r.minRefetch()
}

// keysFor returns the cached keys that suit a, fetching the set first when
// it is stale, or when kid is not in it and the last fetch is old enough.
// When no key of the set suits a, it returns errNoAlgKey.
func (r *remoteJWKS) keysFor(ctx context.Context, kid string, a algorithm) ([]verifyKey, error) {
	f, err := r.current(ctx, kid)
	if err != nil {
		return nil, err
	}
	keys := f.byAlg[a.name]
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w %s", errNoAlgKey, a.name)
	}
	return keys, nil
}

func (r *remoteJWKS) current(ctx context.Context, kid string) (*fetchedKeys, error) {
	if f := r.cur.Load(); r.usable(f, kid) {
		return f, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.cur.Load()
	if r.usable(f, kid) {
		return f, nil // fetched while this call waited
	}
	set, err := r.fetch(ctx)
	switch {
	case err == nil:
		nf := newFetchedKeys(set, time.Now())
		r.cur.Store(nf)
		return nf, nil
	case f == nil:
		return nil, err
	}
	// A failed refetch keeps the previous keys, and tries again after
	// minRefetch, not at once on every call.
	r.cur.Store(&fetchedKeys{set: f.set, byAlg: f.byAlg, at: time.Now().Add(r.minRefetch() - r.refresh)})
	return f, nil
}

func hasKid(set jwkSet, kid string) bool {
	for _, k := range set {
		if k.kid == kid {
			return true
		}
	}
	return false
}

func (r *remoteJWKS) fetch(ctx context.Context) (jwkSet, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return nil, fmt.Errorf("jwks_url: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	client := jwksClient
	if c, ok := ctx.Value(fetchClientKey{}).(*http.Client); ok {
		client = c
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching the JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetching the JWKS: status %d", resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSSize+1))
	if err != nil {
		return nil, fmt.Errorf("fetching the JWKS: %w", err)
	}
	if len(data) > maxJWKSSize {
		return nil, fmt.Errorf("the JWKS is larger than %d bytes", maxJWKSSize)
	}
	set, err := parseJWKSet(data)
	if err != nil {
		return nil, fmt.Errorf("the fetched JWKS: %w", err)
	}
	return set, nil
}
