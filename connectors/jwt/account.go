package jwt

import (
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/secret"
)

// AccountMaterial reads the key an account holds. It is the one place that
// decides which field of an account is its key and what the key is, for the
// jwt steps, the jwt auth of http triggers and verify-key alike, so that no
// two of them can read one account differently.
//
// The key is the first field that is set of token, api_key, password and
// header_value. Its text is read as:
//   - a PEM private key (-----BEGIN … PRIVATE KEY-----): PrivateKey;
//   - another PEM block (public key, certificate): PublicKey;
//   - a JSON object: JWKS;
//   - an http or https URL: JWKSURL;
//   - anything else: Secret, a shared HMAC secret.
//
// Only a Secret is secret: a public key, a JWKS and its URL are public, so a
// verifier must never use them as an HMAC key (the jwt verifiers pin the
// algorithm to the kind of key; verify-key refuses accounts without a
// Secret). The error names the account, never the key.
func AccountMaterial(a *accounts.Account) (KeyMaterial, error) {
	var raw secret.Secret
	for _, s := range []secret.Secret{a.Token, a.APIKey, a.Password, a.HeaderValue} {
		if !s.IsZero() {
			raw = s
			break
		}
	}
	if raw.IsZero() {
		return KeyMaterial{}, fmt.Errorf("account %s holds no key (put an HMAC secret, a PEM key, a JWKS or a JWKS URL in its token or api_key)", a.Name)
	}
	text := strings.TrimSpace(raw.Reveal())
	switch {
	case strings.HasPrefix(text, "-----BEGIN"):
		blk, _ := pem.Decode([]byte(text))
		if blk != nil && strings.Contains(blk.Type, "PRIVATE KEY") {
			return KeyMaterial{PrivateKey: secret.New(text)}, nil
		}
		return KeyMaterial{PublicKey: text}, nil
	case strings.HasPrefix(text, "{"):
		return KeyMaterial{JWKS: text}, nil
	case strings.HasPrefix(text, "https://") || strings.HasPrefix(text, "http://"):
		return KeyMaterial{JWKSURL: text}, nil
	}
	return KeyMaterial{Secret: raw}, nil
}
