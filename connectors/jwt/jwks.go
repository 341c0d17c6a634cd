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
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, errors.New("not a JSON Web Key Set")
	}
	var out []verifyKey
	for _, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" || k.Alg != "" && k.Alg != a.name {
			continue
		}
		key, err := k.key()
		if err != nil || a.check(key) != nil {
			continue
		}
		out = append(out, verifyKey{kid: k.Kid, key: key})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no key in the set suits %s", a.name)
	}
	return out, nil
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

// maxJWKSSize bounds a fetched key set.
const maxJWKSSize = 1 << 20

// remoteJWKS is a key set fetched from a URL and cached. Keys are refetched
// when older than refresh, and when a token names a kid the set lacks, at
// most once per minRefetch, so forged kids cannot make Nectar hammer the
// provider. It is safe for concurrent use: reads of fresh keys take no
// lock, and one fetch runs at a time.
type remoteJWKS struct {
	url     string
	alg     algorithm
	refresh time.Duration

	mu  sync.Mutex // held while fetching
	cur atomic.Pointer[fetchedKeys]
}

type fetchedKeys struct {
	keys []verifyKey
	at   time.Time
}

// remotes holds one remoteJWKS per URL, algorithm and refresh, shared by
// every step of the process, so steps verifying against one provider fetch
// its keys once.
var remotes sync.Map // remoteKey → *remoteJWKS

type remoteKey struct {
	url, alg string
	refresh  time.Duration
}

func newRemoteJWKS(url string, a algorithm, refresh time.Duration) *remoteJWKS {
	k := remoteKey{url, a.name, refresh}
	if r, ok := remotes.Load(k); ok {
		return r.(*remoteJWKS)
	}
	r, _ := remotes.LoadOrStore(k, &remoteJWKS{url: url, alg: a, refresh: refresh})
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
	return kid == "" || hasKid(f.keys, kid) || age < r.minRefetch()
}

// keysFor returns the cached keys, fetching them first when they are stale,
// or when kid is not among them and the last fetch is old enough.
func (r *remoteJWKS) keysFor(ctx context.Context, kid string) ([]verifyKey, error) {
	if f := r.cur.Load(); r.usable(f, kid) {
		return f.keys, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.cur.Load()
	if r.usable(f, kid) {
		return f.keys, nil // fetched while this call waited
	}
	keys, err := r.fetch(ctx)
	switch {
	case err == nil:
		r.cur.Store(&fetchedKeys{keys: keys, at: time.Now()})
		return keys, nil
	case f == nil:
		return nil, err
	}
	// A failed refetch keeps the previous keys, and tries again after
	// minRefetch, not at once on every call.
	r.cur.Store(&fetchedKeys{keys: f.keys, at: time.Now().Add(r.minRefetch() - r.refresh)})
	return f.keys, nil
}

func hasKid(keys []verifyKey, kid string) bool {
	for _, k := range keys {
		if k.kid == kid {
			return true
		}
	}
	return false
}

func (r *remoteJWKS) fetch(ctx context.Context) ([]verifyKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.url, nil)
	if err != nil {
		return nil, fmt.Errorf("jwks_url: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := jwksClient.Do(req)
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
	keys, err := parseJWKS(data, r.alg)
	if err != nil {
		return nil, fmt.Errorf("the fetched JWKS: %w", err)
	}
	return keys, nil
}
