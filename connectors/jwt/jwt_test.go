package jwt_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/nectar-run/nectar/connectors/jwt"
	_ "github.com/nectar-run/nectar/connectors/set"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/enginetest"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/secret"
)

// hmacSecret is 64 bytes: enough for HS512.
const hmacSecret = "a-64-byte-shared-secret-for-tests-0123456789-abcdefghijklmnopqrs"

// fixture holds keys generated once for the whole test binary.
type fixture struct {
	rsa     *rsa.PrivateKey
	rsaPEM  string
	rsaPub  string
	rsa2    *rsa.PrivateKey
	ec      *ecdsa.PrivateKey
	ecPEM   string
	ed      ed25519.PrivateKey
	edPEM   string
	rsa1024 string
	accts   map[string]jwt.KeyMaterial
}

var (
	fixOnce sync.Once
	fix     fixture
)

func pemOf(typ string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
}

func keys(t testing.TB) *fixture {
	t.Helper()
	fixOnce.Do(func() {
		must := func(err error) {
			if err != nil {
				panic(err)
			}
		}
		var err error
		fix.rsa, err = rsa.GenerateKey(rand.Reader, 2048)
		must(err)
		fix.rsa2, err = rsa.GenerateKey(rand.Reader, 2048)
		must(err)
		der, err := x509.MarshalPKCS8PrivateKey(fix.rsa)
		must(err)
		fix.rsaPEM = pemOf("PRIVATE KEY", der)
		pub, err := x509.MarshalPKIXPublicKey(&fix.rsa.PublicKey)
		must(err)
		fix.rsaPub = pemOf("PUBLIC KEY", pub)
		fix.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		must(err)
		der, err = x509.MarshalECPrivateKey(fix.ec)
		must(err)
		fix.ecPEM = pemOf("EC PRIVATE KEY", der)
		_, fix.ed, err = ed25519.GenerateKey(rand.Reader)
		must(err)
		der, err = x509.MarshalPKCS8PrivateKey(fix.ed)
		must(err)
		fix.edPEM = pemOf("PRIVATE KEY", der)
		small, err := rsa.GenerateKey(rand.Reader, 1024)
		must(err)
		fix.rsa1024 = pemOf("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(small))
		fix.accts = map[string]jwt.KeyMaterial{
			"hmac":     {Secret: secret.New(hmacSecret)},
			"hmac-b64": {Secret: secret.New(base64.StdEncoding.EncodeToString([]byte(hmacSecret))), SecretBase64: true},
			"rsa":      {PrivateKey: secret.New(fix.rsaPEM), KeyID: "rsa-1"},
			"rsa-pub":  {PublicKey: fix.rsaPub},
			"ec":       {PrivateKey: secret.New(fix.ecPEM)},
			"ed":       {PrivateKey: secret.New(fix.edPEM)},
			"short":    {Secret: secret.New("too-short")},
			"rsa-1024": {PrivateKey: secret.New(fix.rsa1024)},
			"garbage":  {PrivateKey: secret.New("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")},
		}
	})
	return &fix
}

// source serves accounts from a map that a test may change.
type source struct {
	mu    sync.Mutex
	accts map[string]jwt.KeyMaterial
	calls atomic.Int64
}

func (s *source) JWTKey(_ context.Context, name string) (jwt.KeyMaterial, error) {
	s.calls.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.accts[name]
	if !ok {
		return jwt.KeyMaterial{}, fmt.Errorf("%w %q", jwt.ErrUnknownAccount, name)
	}
	return m, nil
}

func (s *source) set(name string, m jwt.KeyMaterial) {
	s.mu.Lock()
	s.accts[name] = m
	s.mu.Unlock()
}

func newRuntime(t testing.TB) (*engine.Runtime, *source) {
	f := keys(t)
	src := &source{accts: map[string]jwt.KeyMaterial{}}
	for k, v := range f.accts {
		src.accts[k] = v
	}
	rt := &engine.Runtime{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	jwt.SetKeySource(rt, src)
	return rt, src
}

func run(t testing.TB, rt *engine.Runtime, p *engine.Pipeline, input string) (any, error) {
	t.Helper()
	return p.Run(context.Background(), rt, enginetest.Decode(t, input), engine.RunOptions{})
}

func get(v any, path ...string) any {
	for _, k := range path {
		o, ok := v.(*value.Object)
		if !ok {
			return nil
		}
		v, _ = o.Get(k)
	}
	return v
}

// signAndVerify is a pipeline that signs a token with one account and
// verifies it with another, returning the verified claims.
func signAndVerify(alg, signWith, verifyWith string) string {
	return fmt.Sprintf(`name: roundtrip
steps:
  - jwt:
      operation: sign
      account: %s
      algorithm: %s
      issuer: nectar
      subject: "{{ message.user }}"
      audience: [api, admin]
      expires_in: 1h
      not_before_in: 0s
      generate_id: true
      claims:
        scope: "{{ message.scope }}"
        n: 42
        sub: ignored, the subject option wins
  - jwt:
      operation: verify
      account: %s
      algorithm: %s
      token: "{{ message.jws }}"
      issuer: [other, nectar]
      audience: [api]
      subject: ada
      require: [jti, scope]
`, signWith, alg, verifyWith, alg)
}

func TestSignVerifyRoundTrip(t *testing.T) {
	tests := []struct{ name, alg, sign, verify string }{
		{"HS256 with a secret", "HS256", "hmac", "hmac"},
		{"HS384 with a secret", "HS384", "hmac", "hmac"},
		{"HS512 with a secret", "HS512", "hmac", "hmac"},
		{"HS256 with a base64 secret verified by the raw one", "HS256", "hmac-b64", "hmac"},
		{"RS256 with a private key verified by its public key", "RS256", "rsa", "rsa-pub"},
		{"RS512 with a private key verified by itself", "RS512", "rsa", "rsa"},
		{"PS256 with a private key verified by its public key", "PS256", "rsa", "rsa-pub"},
		{"ES256 with a SEC1 EC key", "ES256", "ec", "ec"},
		{"EdDSA with a PKCS#8 Ed25519 key", "EdDSA", "ed", "ed"},
	}
	rt, _ := newRuntime(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := enginetest.Load(t, signAndVerify(tt.alg, tt.sign, tt.verify))
			out, err := run(t, rt, p, `{"user":"ada","scope":"profile"}`)
			if err != nil {
				t.Fatal(err)
			}
			if get(out, "verified") != true || get(out, "success") != true {
				t.Fatalf("got %s", value.MustEncodeString(out))
			}
			claims := get(out, "claims").(*value.Object)
			keys := strings.Join(claims.Keys(), ",")
			if keys != "iss,sub,aud,exp,nbf,iat,jti,scope,n" {
				t.Errorf("claim order: %s", keys)
			}
			if get(claims, "sub") != "ada" || get(claims, "scope") != "profile" || get(claims, "n") != int64(42) {
				t.Errorf("claims: %s", value.MustEncodeString(claims))
			}
			exp, _ := get(claims, "exp").(int64)
			iat, _ := get(claims, "iat").(int64)
			if exp-iat != 3600 {
				t.Errorf("exp-iat = %d, want 3600", exp-iat)
			}
			if jti, _ := get(claims, "jti").(string); len(jti) != 22 {
				t.Errorf("jti %q is not 128 random bits in base64url", jti)
			}
		})
	}
}

func TestSignedHeader(t *testing.T) {
	rt, _ := newRuntime(t)
	p := enginetest.Load(t, `name: h
steps:
  - jwt: {operation: sign, account: rsa, algorithm: RS256, type: at+jwt, issued_at: false}
  - jwt: {operation: decode, token: "{{ message.jws }}"}
`)
	out, err := run(t, rt, p, `{}`)
	if err != nil {
		t.Fatal(err)
	}
	if got := value.MustEncodeString(get(out, "unverified_header")); got != `{"alg":"RS256","typ":"at+jwt","kid":"rsa-1"}` {
		t.Errorf("header %s", got)
	}
	if got := value.MustEncodeString(get(out, "unverified_claims")); got != `{}` {
		t.Errorf("claims %s", got)
	}
	if get(out, "verified") != false {
		t.Error("decode must say verified: false")
	}
}

// forge signs claims with any method and key, as an attacker or another
// issuer would.
func forge(t *testing.T, m gojwt.SigningMethod, key any, claims gojwt.MapClaims, header map[string]any) string {
	t.Helper()
	tok := gojwt.NewWithClaims(m, claims)
	for k, v := range header {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerifyRefuses(t *testing.T) {
	f := keys(t)
	now := time.Now().Unix()
	good := gojwt.MapClaims{"sub": "ada", "iss": "nectar", "aud": "api", "exp": now + 600, "iat": now}
	with := func(k string, v any) gojwt.MapClaims {
		c := gojwt.MapClaims{}
		for k, v := range good {
			c[k] = v
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	hs := func(c gojwt.MapClaims) string { return forge(t, gojwt.SigningMethodHS256, []byte(hmacSecret), c, nil) }
	noneTok := forge(t, gojwt.SigningMethodNone, gojwt.UnsafeAllowNoneSignatureType, good, nil)
	// The classic confusion attack: HS256 with the RSA public key's PEM as
	// the HMAC secret.
	confused := forge(t, gojwt.SigningMethodHS256, []byte(f.rsaPub), good, nil)
	valid := hs(good)
	parts := strings.Split(valid, ".")
	tamperedPayload := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"admin","iss":"nectar","aud":"api","exp":9999999999}`)) + "." + parts[2]
	sig := []byte(parts[2])
	sig[3] ^= 1
	tamperedSig := parts[0] + "." + parts[1] + "." + string(sig)

	tests := []struct {
		name, account, alg, token, extra, wantErr string
	}{
		{"alg none", "hmac", "HS256", noneTok, "", `401: invalid token: algorithm "none" is not accepted; expected HS256`},
		{"alg none against RS256", "rsa-pub", "RS256", noneTok, "", `401: invalid token: algorithm "none" is not accepted; expected RS256`},
		{"HS256 signed with the RSA public key", "rsa-pub", "RS256", confused, "", `401: invalid token: algorithm "HS256" is not accepted; expected RS256`},
		{"RS256 token at an HS256 step", "hmac", "HS256", forge(t, gojwt.SigningMethodRS256, f.rsa, good, nil), "", `401: invalid token: algorithm "RS256" is not accepted; expected HS256`},
		{"unknown algorithm", "hmac", "HS256", forge(t, gojwt.SigningMethodHS256, []byte(hmacSecret), good, map[string]any{"alg": "XX999"}), "", `401: invalid token: algorithm "XX999" is not accepted; expected HS256`},
		{"HS384 token at an HS256 step", "hmac", "HS256", forge(t, gojwt.SigningMethodHS384, []byte(hmacSecret), good, nil), "", `401: invalid token: algorithm "HS384" is not accepted; expected HS256`},
		{"another secret", "hmac", "HS256", forge(t, gojwt.SigningMethodHS256, []byte(strings.Repeat("x", 64)), good, nil), "", "401: invalid token: signature does not match"},
		{"another RSA key", "rsa-pub", "RS256", forge(t, gojwt.SigningMethodRS256, f.rsa2, good, nil), "", "401: invalid token: signature does not match"},
		{"tampered payload", "hmac", "HS256", tamperedPayload, "", "401: invalid token: signature does not match"},
		{"tampered signature", "hmac", "HS256", tamperedSig, "", "401: invalid token: "},
		{"expired", "hmac", "HS256", hs(with("exp", now-120)), "", "401: invalid token: expired"},
		{"expired within the leeway", "hmac", "HS256", hs(with("exp", now-10)), "", ""},
		{"expired beyond a smaller leeway", "hmac", "HS256", hs(with("exp", now-10)), "leeway: 1s", "401: invalid token: expired"},
		{"not valid yet", "hmac", "HS256", hs(with("nbf", now+600)), "", "401: invalid token: not valid yet (nbf)"},
		{"issued in the future", "hmac", "HS256", hs(with("iat", now+600)), "", "401: invalid token: issued in the future (iat)"},
		{"no exp", "hmac", "HS256", hs(with("exp", nil)), "", "401: invalid token: exp claim missing"},
		{"no exp allowed", "hmac", "HS256", hs(with("exp", nil)), "require_exp: false", ""},
		{"exp as a string", "hmac", "HS256", hs(with("exp", "tomorrow")), "", "401: invalid token: a registered claim has the wrong type"},
		{"wrong issuer", "hmac", "HS256", hs(with("iss", "evil")), "issuer: nectar", "401: invalid token: issuer not accepted"},
		{"issuer from a template", "hmac", "HS256", valid, "issuer: \"{{ message.iss }}\"", ""},
		{"wrong audience", "hmac", "HS256", hs(with("aud", []string{"web", "mobile"})), "audience: api", "401: invalid token: audience not accepted"},
		{"audience in a list", "hmac", "HS256", hs(with("aud", []string{"web", "api"})), "audience: api", ""},
		{"wrong subject", "hmac", "HS256", valid, "subject: bob", "401: invalid token: subject not accepted"},
		{"required claim missing", "hmac", "HS256", valid, "require: [scope]", "401: invalid token: scope claim missing"},
		{"typ mismatch", "hmac", "HS256", valid, "type: refresh+jwt", "401: invalid token: type is not refresh+jwt"},
		{"typ match ignores application/", "hmac", "HS256", forge(t, gojwt.SigningMethodHS256, []byte(hmacSecret), good, map[string]any{"typ": "application/AT+JWT"}), "type: at+jwt", ""},
		{"crit header", "hmac", "HS256", forge(t, gojwt.SigningMethodHS256, []byte(hmacSecret), good, map[string]any{"crit": []string{"exp"}}), "", "401: invalid token: critical header extensions are not supported"},
		{"malformed", "hmac", "HS256", "not.a.token", "", "401: invalid token: malformed"},
		{"two segments", "hmac", "HS256", "abc.def", "", "401: invalid token: malformed"},
		{"empty", "hmac", "HS256", "", "", "401: no token"},
		{"huge", "hmac", "HS256", strings.Repeat("a", 70000), "", "401: invalid token: longer than 65536 bytes"},
		{"bearer prefix is removed", "hmac", "HS256", "Bearer " + valid, "", ""},
		{"unknown kid with a kid-bound key", "rsa", "RS256", forge(t, gojwt.SigningMethodRS256, f.rsa, good, map[string]any{"kid": "rsa-9"}), "", "401: invalid token: no key matches its kid"},
		{"known kid", "rsa", "RS256", forge(t, gojwt.SigningMethodRS256, f.rsa, good, map[string]any{"kid": "rsa-1"}), "", ""},
	}
	rt, _ := newRuntime(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := fmt.Sprintf("name: v\nsteps:\n  - jwt:\n      operation: verify\n      account: %s\n      algorithm: %s\n      token: \"{{ message.token }}\"\n", tt.account, tt.alg)
			if tt.extra != "" {
				src += "      " + tt.extra + "\n"
			}
			p := enginetest.Load(t, src)
			in := value.ObjectOf("token", tt.token, "iss", "nectar")
			out, err := p.Run(context.Background(), rt, in, engine.RunOptions{})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if get(out, "verified") != true {
					t.Fatalf("got %s", value.MustEncodeString(out))
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted: %s", value.MustEncodeString(out))
			}
			e := engine.AsError(err)
			got := fmt.Sprintf("%d: %s", e.Code, e.Message)
			if !strings.HasPrefix(got, tt.wantErr) {
				t.Errorf("got  %s\nwant %s", got, tt.wantErr)
			}
			if tt.token != "" && strings.Contains(got, tt.token) || strings.Contains(got, hmacSecret) {
				t.Errorf("the error leaks the token or the key: %s", got)
			}
		})
	}
}

func TestDecode(t *testing.T) {
	tok := forge(t, gojwt.SigningMethodHS256, []byte("whatever"), gojwt.MapClaims{"sub": "ada", "exp": 1}, map[string]any{"kid": "k"})
	tests := []struct{ name, token, want, wantErr string }{
		{"reads an expired token signed with an unknown key", tok, `{"success":true,"verified":false,"unverified_header":{"alg":"HS256","kid":"k","typ":"JWT"},"unverified_claims":{"exp":1,"sub":"ada"}}`, ""},
		{"reads alg none", forge(t, gojwt.SigningMethodNone, gojwt.UnsafeAllowNoneSignatureType, gojwt.MapClaims{"a": 1}, nil), `{"success":true,"verified":false,"unverified_header":{"alg":"none","typ":"JWT"},"unverified_claims":{"a":1}}`, ""},
		{"malformed", "x.y.z", "", "400: malformed token"},
		{"claims not an object", "eyJhbGciOiJIUzI1NiJ9.WzFd.c2ln", "", "400: malformed token"},
		{"empty", "", "", "400: no token"},
	}
	rt, _ := newRuntime(t)
	p := enginetest.Load(t, "name: d\nsteps:\n  - jwt: {operation: decode, token: \"{{ message.token }}\"}\n")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := p.Run(context.Background(), rt, value.ObjectOf("token", tt.token), engine.RunOptions{})
			if ended(t, err, tt.wantErr) {
				return
			}
			if got := value.MustEncodeString(out); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct{ name, step, wantErr string }{
		{"no operation", `jwt: {account: hmac, algorithm: HS256}`, `missing required option "operation"`},
		{"sign without account", `jwt: {operation: sign, algorithm: HS256}`, "sign needs the account option"},
		{"verify without algorithm", `jwt: {operation: verify, account: hmac, token: x}`, "verify needs the algorithm option"},
		{"verify without token", `jwt: {operation: verify, account: hmac, algorithm: HS256}`, "verify needs the token option"},
		{"alg none cannot be configured", `jwt: {operation: verify, account: hmac, algorithm: none, token: x}`, `expected one of HS256`},
		{"option of another operation", `jwt: {operation: verify, account: hmac, algorithm: HS256, token: x, expires_in: 1h}`, "steps[0].jwt.expires_in: verify does not use this option (it applies to sign)"},
		{"decode with a key", `jwt: {operation: decode, token: x, account: hmac}`, "steps[0].jwt.account: decode does not use this option"},
		{"option of another operation, at its place", `jwt: {operation: sign, account: hmac, algorithm: HS256, leeway: 1s}`, "p.yaml:3:69: steps[0].jwt.leeway: sign does not use this option (it applies to verify)"},
		{"two issuers to sign", `jwt: {operation: sign, account: hmac, algorithm: HS256, issuer: [a, b]}`, "sign writes one issuer, got 2"},
		{"claims not an object", `jwt: {operation: sign, account: hmac, algorithm: HS256, claims: [1]}`, "expected an object of claims, got array"},
		{"leeway too large", `jwt: {operation: verify, account: hmac, algorithm: HS256, token: x, leeway: 1h}`, "at most 5m is accepted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := engine.Load("p.yaml", []byte("name: p\nsteps:\n  - "+tt.step+"\n"), engine.LoadOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestAccountProblems(t *testing.T) {
	tests := []struct{ name, account, alg, op, wantErr string }{
		{"unknown account", "nope", "HS256", "sign", `500: account "nope" not found`},
		{"secret too short", "short", "HS256", "sign", `500: account "short": the secret has 9 bytes; HS256 needs at least 32`},
		{"secret too short for HS512", "hmac-b64", "HS512", "verify", ""},
		{"RSA key too small", "rsa-1024", "RS256", "sign", `500: account "rsa-1024": the RSA key has 1024 bits; at least 2048 are needed`},
		{"EC key on the wrong curve", "ec", "ES384", "sign", `500: account "ec": the EC key is on curve P-256; ES384 needs P-384`},
		{"RSA key for EdDSA", "rsa", "EdDSA", "sign", `500: account "rsa": an RSA key cannot be used with EdDSA`},
		{"secret for RS256", "hmac", "RS256", "verify", `500: account "hmac": RS256 needs a private key, a public key or a JWKS, and the account has none`},
		{"private key for HS256", "rsa", "HS256", "sign", `500: account "rsa": HS256 needs a secret, and the account has none`},
		{"public key cannot sign", "rsa-pub", "RS256", "sign", `500: account "rsa-pub" has no key to sign RS256 tokens with`},
		{"garbage PEM", "garbage", "RS256", "sign", `500: account "garbage": the private key cannot be parsed`},
	}
	rt, _ := newRuntime(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step := fmt.Sprintf(`jwt: {operation: %s, account: %s, algorithm: %s}`, tt.op, tt.account, tt.alg)
			if tt.op == "verify" {
				step = fmt.Sprintf(`jwt: {operation: verify, account: %s, algorithm: %s, token: "{{ message.t }}"}`, tt.account, tt.alg)
			}
			p := enginetest.Load(t, "name: a\nsteps:\n  - "+step+"\n")
			_, err := p.Run(context.Background(), rt, value.ObjectOf("t", "a.b.c"), engine.RunOptions{})
			if tt.wantErr == "" {
				// HS512 needs 64 bytes; the base64 secret decodes to 64: the
				// token is then refused as malformed, not the key.
				if e := engine.AsError(err); e == nil || e.Code != 401 {
					t.Fatalf("got %v", err)
				}
				return
			}
			e := engine.AsError(err)
			if err == nil || !strings.HasPrefix(fmt.Sprintf("%d: %s", e.Code, e.Message), tt.wantErr) {
				t.Fatalf("got %v, want %s", err, tt.wantErr)
			}
			for _, k := range []string{hmacSecret, "too-short", "BEGIN"} {
				if strings.Contains(e.Error(), k) {
					t.Errorf("the error leaks key material: %s", e.Error())
				}
			}
		})
	}
}

// TestKeyRotation checks that keys are cached by value: the same material
// is parsed once, and new material is used at once.
func TestKeyRotation(t *testing.T) {
	rt, src := newRuntime(t)
	p := enginetest.Load(t, `name: r
steps:
  - jwt: {operation: sign, account: rot, algorithm: HS256, expires_in: 1m}
  - jwt: {operation: verify, account: rot, algorithm: HS256, token: "{{ message.jws }}"}
`)
	src.set("rot", jwt.KeyMaterial{Secret: secret.New(strings.Repeat("1", 32))})
	if _, err := run(t, rt, p, `{}`); err != nil {
		t.Fatal(err)
	}
	old := enginetest.Load(t, "name: s\nsteps:\n  - jwt: {operation: sign, account: rot, algorithm: HS256, expires_in: 1m}\n")
	tok, err := run(t, rt, old, `{}`)
	if err != nil {
		t.Fatal(err)
	}
	src.set("rot", jwt.KeyMaterial{Secret: secret.New(strings.Repeat("2", 32))})
	if _, err := run(t, rt, p, `{}`); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	verify := enginetest.Load(t, "name: v\nsteps:\n  - jwt: {operation: verify, account: rot, algorithm: HS256, token: \"{{ message.jws }}\"}\n")
	_, err = verify.Run(context.Background(), rt, tok, engine.RunOptions{})
	if e := engine.AsError(err); e == nil || e.Code != 401 {
		t.Fatalf("a token signed with the old secret: got %v, want 401", err)
	}
}

func jwkOf(t *testing.T, kid string, k *rsa.PublicKey) map[string]any {
	t.Helper()
	return map[string]any{
		"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
		"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes()),
	}
}

func TestInlineJWKS(t *testing.T) {
	f := keys(t)
	x, y := f.ec.PublicKey.X.FillBytes(make([]byte, 32)), f.ec.PublicKey.Y.FillBytes(make([]byte, 32))
	set, _ := json.Marshal(map[string]any{"keys": []any{
		jwkOf(t, "one", &f.rsa.PublicKey),
		jwkOf(t, "two", &f.rsa2.PublicKey),
		map[string]any{"kty": "EC", "kid": "ec", "crv": "P-256", "x": base64.RawURLEncoding.EncodeToString(x), "y": base64.RawURLEncoding.EncodeToString(y)},
		map[string]any{"kty": "RSA", "kid": "enc", "use": "enc", "n": "AQAB", "e": "AQAB"},
	}})
	rt, src := newRuntime(t)
	src.set("jwks", jwt.KeyMaterial{JWKS: string(set)})
	now := time.Now().Unix()
	c := gojwt.MapClaims{"exp": now + 60}
	tests := []struct {
		name, alg, token string
		wantCode         int
	}{
		{"kid selects the second key", "RS256", forge(t, gojwt.SigningMethodRS256, f.rsa2, c, map[string]any{"kid": "two"}), 0},
		{"no kid tries every key", "RS256", forge(t, gojwt.SigningMethodRS256, f.rsa2, c, nil), 0},
		{"kid of another key", "RS256", forge(t, gojwt.SigningMethodRS256, f.rsa2, c, map[string]any{"kid": "one"}), 401},
		{"unknown kid", "RS256", forge(t, gojwt.SigningMethodRS256, f.rsa, c, map[string]any{"kid": "three"}), 401},
		{"EC key of the same set", "ES256", forge(t, gojwt.SigningMethodES256, f.ec, c, map[string]any{"kid": "ec"}), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := enginetest.Load(t, fmt.Sprintf("name: j\nsteps:\n  - jwt: {operation: verify, account: jwks, algorithm: %s, token: \"{{ message.t }}\"}\n", tt.alg))
			_, err := p.Run(context.Background(), rt, value.ObjectOf("t", tt.token), engine.RunOptions{})
			if tt.wantCode == 0 && err != nil {
				t.Fatal(err)
			}
			if e := engine.AsError(err); tt.wantCode != 0 && (e == nil || e.Code != tt.wantCode) {
				t.Fatalf("got %v, want %d", err, tt.wantCode)
			}
		})
	}
}

func TestRemoteJWKS(t *testing.T) {
	f := keys(t)
	var fetches atomic.Int64
	var mu sync.Mutex
	published := []any{jwkOf(t, "one", &f.rsa.PublicKey)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		mu.Lock()
		defer mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{"keys": published})
	}))
	t.Cleanup(srv.Close)
	rt, src := newRuntime(t)
	src.set("remote", jwt.KeyMaterial{JWKSURL: srv.URL})
	c := gojwt.MapClaims{"exp": time.Now().Unix() + 60}
	verify := func(refresh string, tok string) error {
		p := enginetest.Load(t, "name: j\nsteps:\n  - jwt: {operation: verify, account: remote, algorithm: RS256, jwks_refresh: "+refresh+", token: \"{{ message.t }}\"}\n")
		var err error
		for range 3 {
			if _, err = p.Run(context.Background(), rt, value.ObjectOf("t", tok), engine.RunOptions{}); err != nil {
				return err
			}
		}
		return nil
	}
	if err := verify("5m", forge(t, gojwt.SigningMethodRS256, f.rsa, c, map[string]any{"kid": "one"})); err != nil {
		t.Fatal(err)
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("three verifications fetched the keys %d times, want 1", n)
	}
	// The provider rotates to a new key; a step that refetches at once sees it.
	mu.Lock()
	published = append(published, jwkOf(t, "two", &f.rsa2.PublicKey))
	mu.Unlock()
	if err := verify("0s", forge(t, gojwt.SigningMethodRS256, f.rsa2, c, map[string]any{"kid": "two"})); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
	// A provider that fails after a successful fetch: the keys fetched
	// before stay in use.
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		http.Error(w, "down", http.StatusBadGateway)
	})
	before := fetches.Load()
	if err := verify("0s", forge(t, gojwt.SigningMethodRS256, f.rsa2, c, map[string]any{"kid": "two"})); err != nil {
		t.Fatalf("with the provider down: %v", err)
	}
	if fetches.Load() == before {
		t.Error("the provider was not asked again")
	}
	// A dead provider is a 503, not the caller's fault.
	src.set("remote", jwt.KeyMaterial{JWKSURL: srv.URL + "/gone"})
	srv.Config.Handler = http.NotFoundHandler()
	err := verify("5m", forge(t, gojwt.SigningMethodRS256, f.rsa, c, nil))
	if e := engine.AsError(err); e == nil || e.Code != 503 {
		t.Fatalf("got %v, want 503", err)
	}
}

func TestEnvSource(t *testing.T) {
	f := keys(t)
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key.pem")
	if err := os.WriteFile(keyFile, []byte(f.rsaPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("NECTAR_JWT_ENV_TEST_HMAC_SECRET", hmacSecret)
	t.Setenv("NECTAR_JWT_ENV_TEST_RSA_PRIVATE_KEY_FILE", keyFile)
	t.Setenv("NECTAR_JWT_ENV_TEST_RSA_KID", "env-1")
	env := jwt.NewEnvSource()
	tests := []struct {
		name, account string
		want          jwt.KeyMaterial
		wantErr       error
	}{
		{"secret", "env-test.hmac", jwt.KeyMaterial{Secret: secret.New(hmacSecret)}, nil},
		{"key file and kid", "env-test-rsa", jwt.KeyMaterial{PrivateKey: secret.New(strings.TrimRight(f.rsaPEM, "\n")), KeyID: "env-1"}, nil},
		{"unknown", "env-test-none", jwt.KeyMaterial{}, jwt.ErrUnknownAccount},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := env.JWTKey(context.Background(), tt.account)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("got %v, want %v", err, tt.wantErr)
			}
			if m != tt.want {
				t.Errorf("material differs (kid %q)", m.KeyID)
			}
		})
	}
	// Read once per process: a miss stays a miss, and a hit stays the same,
	// whatever the environment says later.
	t.Setenv("NECTAR_JWT_ENV_TEST_NONE_SECRET", hmacSecret)
	t.Setenv("NECTAR_JWT_ENV_TEST_HMAC_SECRET", "changed")
	if _, err := env.JWTKey(context.Background(), "env-test-none"); !errors.Is(err, jwt.ErrUnknownAccount) {
		t.Errorf("a cached miss gave %v, want ErrUnknownAccount", err)
	}
	if m, err := env.JWTKey(context.Background(), "env-test.hmac"); err != nil || m.Secret.Reveal() != hmacSecret {
		t.Errorf("a cached hit changed (%v)", err)
	}
	if got := jwt.EnvPrefix("token-signing"); got != "NECTAR_JWT_TOKEN_SIGNING_" {
		t.Errorf("EnvPrefix = %s", got)
	}
	// Sources falls through unknown accounts.
	rt := &engine.Runtime{}
	jwt.SetKeySource(rt, jwt.Sources{jwt.KeySourceFunc(func(context.Context, string) (jwt.KeyMaterial, error) {
		return jwt.KeyMaterial{}, jwt.ErrUnknownAccount
	}), env})
	p := enginetest.Load(t, "name: e\nsteps:\n  - jwt: {operation: sign, account: env-test-rsa, algorithm: RS256}\n  - jwt: {operation: decode, token: \"{{ message.jws }}\"}\n")
	out, err := p.Run(context.Background(), rt, nil, engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if get(out, "unverified_header", "kid") != "env-1" {
		t.Errorf("got %s", value.MustEncodeString(out))
	}
}

// TestExample runs example.yaml on example.input.json and compares the
// result with example.want.json.
func TestExample(t *testing.T) {
	t.Setenv("NECTAR_JWT_EXAMPLE_SECRET", hmacSecret)
	enginetest.RunExample(t, ".", enginetest.Example{Runtime: &engine.Runtime{}})
}

func benchRun(b *testing.B, rt *engine.Runtime, p *engine.Pipeline, in any) {
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Run(ctx, rt, in, engine.RunOptions{ExecutionID: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignHS256 signs a token with four claims through a one-step
// pipeline; the baseline calls golang-jwt directly with MapClaims.
func BenchmarkSignHS256(b *testing.B) {
	rt, _ := newRuntime(b)
	in := value.ObjectOf("client", "c-123", "scope", "profile address")
	b.Run("pipeline", func(b *testing.B) {
		p := enginetest.Load(b, `name: s
steps:
  - jwt:
      operation: sign
      account: hmac
      algorithm: HS256
      subject: "{{ message.client }}"
      expires_in: 1h
      claims: {scope: "{{ message.scope }}"}
`)
		benchRun(b, rt, p, in)
	})
	b.Run("golang-jwt", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			now := time.Now()
			c := gojwt.MapClaims{"sub": "c-123", "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(), "scope": "profile address"}
			if _, err := gojwt.NewWithClaims(gojwt.SigningMethodHS256, c).SignedString([]byte(hmacSecret)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkVerify verifies a token through a one-step pipeline; the
// baseline calls golang-jwt directly with MapClaims and the same checks.
func BenchmarkVerify(b *testing.B) {
	f := keys(b)
	rt, _ := newRuntime(b)
	c := gojwt.MapClaims{"sub": "c-123", "exp": time.Now().Unix() + 3600, "iat": time.Now().Unix(), "scope": "profile address"}
	for _, tc := range []struct {
		alg, account string
		method       gojwt.SigningMethod
		sign, verify any
	}{
		{"HS256", "hmac", gojwt.SigningMethodHS256, []byte(hmacSecret), []byte(hmacSecret)},
		{"RS256", "rsa-pub", gojwt.SigningMethodRS256, f.rsa, &f.rsa.PublicKey},
	} {
		tok, err := gojwt.NewWithClaims(tc.method, c).SignedString(tc.sign)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(tc.alg+"/pipeline", func(b *testing.B) {
			p := enginetest.Load(b, fmt.Sprintf("name: v\nsteps:\n  - jwt: {operation: verify, account: %s, algorithm: %s, token: \"{{ message.token }}\"}\n", tc.account, tc.alg))
			benchRun(b, rt, p, value.ObjectOf("token", tok))
		})
		b.Run(tc.alg+"/trigger", func(b *testing.B) {
			// The jwt auth of http triggers (jwt.Verifier).
			v := jwt.NewVerifier(rt)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(ctx, tc.account, tok, jwt.VerifyOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.alg+"/golang-jwt", func(b *testing.B) {
			parser := gojwt.NewParser(gojwt.WithValidMethods([]string{tc.alg}), gojwt.WithLeeway(30*time.Second), gojwt.WithIssuedAt(), gojwt.WithExpirationRequired())
			b.ReportAllocs()
			for b.Loop() {
				if _, err := parser.Parse(tok, func(*gojwt.Token) (any, error) { return tc.verify, nil }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestSignClaimsForms signs with the claims option in each form it takes
// (a mapping with expressions, a mapping of constants, an expression giving
// an object, null) and reads the token back: the same claims in the same
// order, the options' claims first and winning over the claims option's.
// Failures keep their order: a claim that fails to evaluate, then the
// options' templates, then a claim that cannot be written as JSON.
func TestSignClaimsForms(t *testing.T) {
	rt, _ := newRuntime(t)
	tests := []struct{ name, opts, want, wantErr string }{
		{"a mapping with expressions", `subject: "{{ message.user }}", claims: {scope: "{{ message.scope }}", n: 42, sub: overridden, o: {a: "{{ message.user }}"}, l: [1, "{{ message.n }}"]}`,
			`{"sub":"ada","scope":"profile","n":42,"o":{"a":"ada"},"l":[1,7]}`, ""},
		{"a mapping of constants", `claims: {a: 1, b: [true, null]}`, `{"a":1,"b":[true,null]}`, ""},
		{"an expression giving an object", `issuer: nectar, claims: "{{ message.extra }}"`, `{"iss":"nectar","x":1,"y":"z"}`, ""},
		{"an expression giving null", `claims: "{{ message.none }}"`, `{}`, ""},
		{"only claims the options set", `subject: s, claims: {sub: t}`, `{"sub":"s"}`, ""},
		{"a mapping of constants, one overridden", `subject: s, claims: {a: 1, sub: t, b: 2}`, `{"sub":"s","a":1,"b":2}`, ""},
		{"a mapping with expressions, options overriding", `subject: s, generate_id: false, id: j, claims: {jti: "{{ message.user }}", a: "{{ message.n }}", sub: "{{ message.user }}"}`, `{"sub":"s","jti":"j","a":7}`, ""},
		{"an expression giving an object, one overridden", `subject: s, claims: "{{ {sub: 't', b: message.n} }}"`, `{"sub":"s","b":7}`, ""},
		{"keys to escape", `claims: {"q\"k": "{{ message.n }}", "<é>": 1, "a\\b": "{{ message.user }}"}`, `{"q\"k":7,"<é>":1,"a\\b":"ada"}`, ""},
		{"an expression giving a list", `claims: "{{ [1] }}"`, "", "500: claims: expected an object, got array"},
		{"a claim that fails", `subject: "{{ message.user + 1 }}", claims: {a: "{{ message.n + message.extra }}"}`, "", "500: evaluating \"message.n + message.extra\": invalid operation: number + object"},
		{"an unwritable claim", `claims: {a: 1, b: "{{ message.n / 0.0 }}", c: "{{ message.user + 1 }}"}`, "", "500: evaluating \"message.user + 1\": invalid operation: string + number"},
		{"an unwritable claim alone", `claims: {a: 1, b: "{{ message.n / 0.0 }}"}`, "", "500: claims: b: cannot encode +Inf as JSON"},
		{"an option that fails before an unwritable claim", `subject: "{{ message.user + 1 }}", claims: {a: "{{ message.n / 0.0 }}"}`, "", "500: evaluating \"message.user + 1\": invalid operation: string + number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := enginetest.Load(t, `name: c
steps:
  - jwt: {operation: sign, account: hmac, algorithm: HS256, issued_at: false, `+tt.opts+`}
  - jwt: {operation: decode, token: "{{ message.jws }}"}
`)
			out, err := run(t, rt, p, `{"user":"ada","scope":"profile","n":7,"extra":{"x":1,"y":"z"}}`)
			if ended(t, err, tt.wantErr) {
				return
			}
			if got := value.MustEncodeString(get(out, "unverified_claims")); got != tt.want {
				t.Errorf("claims %s, want %s", got, tt.want)
			}
		})
	}
}

// ended checks a run's error: with want set ("400: message"), that the run
// failed with exactly that code and message, and reports true (the case
// ends there); otherwise that it did not fail.
func ended(t *testing.T, err error, want string) bool {
	t.Helper()
	if want != "" {
		e := engine.AsError(err)
		if err == nil || fmt.Sprintf("%d: %s", e.Code, e.Message) != want {
			t.Fatalf("got %v, want %s", err, want)
		}
		return true
	}
	if err != nil {
		t.Fatal(err)
	}
	return false
}

// clockedSource is a KeySourceAt recording the times it is given.
type clockedSource struct {
	mu    sync.Mutex
	times []time.Time
}

func (c *clockedSource) JWTKey(ctx context.Context, account string) (jwt.KeyMaterial, error) {
	return jwt.KeyMaterial{}, errors.New("JWTKey called: a sign step must give its time to a KeySourceAt")
}

func (c *clockedSource) JWTKeyAt(ctx context.Context, account string, now time.Time) (jwt.KeyMaterial, error) {
	c.mu.Lock()
	c.times = append(c.times, now)
	c.mu.Unlock()
	return jwt.KeyMaterial{Secret: secret.New(hmacSecret)}, nil
}

// TestSignGivesItsTimeToTheKeySource checks that a sign step reads the
// clock once: a KeySourceAt is given the time the token's iat, exp and nbf
// come from. A source that is not one (Sources, EnvSource) is asked with
// JWTKey, as before (the other tests).
func TestSignGivesItsTimeToTheKeySource(t *testing.T) {
	src := &clockedSource{}
	rt := &engine.Runtime{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	jwt.SetKeySource(rt, src)
	p := enginetest.Load(t, `name: s
steps:
  - jwt: {operation: sign, account: any, algorithm: HS256, expires_in: 1h, not_before_in: 1m}
  - jwt: {operation: decode, token: "{{ message.jws }}"}
`)
	out, err := run(t, rt, p, `{}`)
	if err != nil {
		t.Fatal(err)
	}
	if len(src.times) != 1 {
		t.Fatalf("JWTKeyAt called %d times, want 1", len(src.times))
	}
	now := src.times[0].Unix()
	claims := get(out, "unverified_claims")
	for k, want := range map[string]int64{"iat": now, "exp": now + 3600, "nbf": now + 60} {
		if got := get(claims, k); got != want {
			t.Errorf("%s = %v, want %d (the time given to the key source)", k, got, want)
		}
	}
}

// TestSignClaimsMappingEveryRegisteredKey signs with a claims option that
// writes every registered claim (iss, sub, aud, exp, nbf, iat, jti) and
// keys needing escapes (empty, quote, backslash, control characters,
// U+2028, non-ASCII), as a constant mapping, a mapping with expressions and
// an expression giving an object, while the options set every registered
// claim: the payload, compared byte for byte, holds the options' values
// first, in their order, then the other keys as written, escaped as JSON.
// The sign step prepares the mapping's keys at load (which are overridden,
// each key as JSON); this checks every registered key and the escaping.
func TestSignClaimsMappingEveryRegisteredKey(t *testing.T) {
	const registered = `iss: x, sub: x, aud: x, exp: 1, nbf: 2, iat: 3, jti: x`
	tests := []struct{ name, claims string }{
		{"a constant mapping", `{` + registered + `, "": 1, "q\"k": 2, "a\\b": 3, "\t\u0001": 4, "\u2028": 5, "é😀": 6}`},
		{"a mapping with expressions", `{iss: "{{ message.v }}", sub: x, aud: "{{ [message.v] }}", exp: "{{ message.n }}", nbf: 2, iat: "{{ message.n }}", jti: "{{ message.v }}", "": "{{ message.n - 6 }}", "q\"k": 2, "a\\b": "{{ message.n - 4 }}", "\t\u0001": 4, "\u2028": "{{ message.n - 2 }}", "é😀": 6}`},
		{"an expression giving an object", `"{{ {iss: 'x', sub: 'x', aud: 'x', exp: 1, nbf: 2, iat: 3, jti: 'x', '': 1, 'q\"k': 2, 'a\\\\b': 3, '\t\u0001': 4, '\u2028': 5, 'é😀': 6} }}"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := &clockedSource{}
			rt := &engine.Runtime{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
			jwt.SetKeySource(rt, src)
			p := enginetest.Load(t, `name: s
steps:
  - jwt:
      operation: sign
      account: any
      algorithm: HS256
      issuer: I
      subject: S
      audience: [A, B]
      expires_in: 1h
      not_before_in: 1m
      id: J
      claims: `+tt.claims+`
`)
			out, err := run(t, rt, p, `{"v":"x","n":7}`)
			if err != nil {
				t.Fatal(err)
			}
			if len(src.times) != 1 {
				t.Fatalf("JWTKeyAt called %d times, want 1", len(src.times))
			}
			now := src.times[0].Unix()
			want := fmt.Sprintf(`{"iss":"I","sub":"S","aud":["A","B"],"exp":%d,"nbf":%d,"iat":%d,"jti":"J",`+
				`"":1,"q\"k":2,"a\\b":3,"\t\u0001":4,"\u2028":5,"é😀":6}`, now+3600, now+60, now)
			jws, _ := get(out, "jws").(string)
			parts := strings.Split(jws, ".")
			if len(parts) != 3 {
				t.Fatalf("token %q", jws)
			}
			payload, err := base64.RawURLEncoding.DecodeString(parts[1])
			if err != nil {
				t.Fatal(err)
			}
			if string(payload) != want {
				t.Errorf("payload\n %s\nwant\n %s", payload, want)
			}
		})
	}
}

// TestSignedTokensAreTokenBytes: what the sign step makes is letters,
// digits, '-', '_' and '.' only, whatever its claims hold (quotes, <, &,
// non-ASCII), for every algorithm family: the sign step hands it to
// engine.Exec.AddTokenSecret, which looks for no URL- or JSON-escaped form.
func TestSignedTokensAreTokenBytes(t *testing.T) {
	rt, _ := newRuntime(t)
	for _, c := range []struct{ alg, account string }{{"HS256", "hmac"}, {"HS512", "hmac"}, {"RS256", "rsa"}, {"PS256", "rsa"}, {"ES256", "ec"}, {"EdDSA", "ed"}} {
		p := enginetest.Load(t, fmt.Sprintf(`name: sign
steps:
  - jwt:
      operation: sign
      account: %s
      algorithm: %s
      subject: "{{ message.user }}"
      generate_id: true
      claims: {note: "{{ message.note }}"}
`, c.account, c.alg))
		out, err := run(t, rt, p, `{"user":"a\"b<c>&d é","note":"\u2028 ?#%+ /="}`)
		if err != nil {
			t.Fatal(err)
		}
		jws, _ := get(out, "jws").(string)
		if jws == "" {
			t.Fatalf("%s: no jws in %s", c.alg, value.MustEncodeString(out))
		}
		for i := 0; i < len(jws); i++ {
			if b := jws[i]; !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-' || b == '_' || b == '.') {
				t.Fatalf("%s: byte %q at %d of %s", c.alg, b, i, jws)
			}
		}
	}
}
