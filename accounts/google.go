package accounts

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/nectar-run/nectar/secret"
)

// serviceAccount is the part of a Google service-account JSON key Nectar
// uses.
type serviceAccount struct {
	Type         string `json:"type"`
	ClientEmail  string `json:"client_email"`
	PrivateKey   string `json:"private_key"`
	PrivateKeyID string `json:"private_key_id"`
	TokenURI     string `json:"token_uri"`

	key *rsa.PrivateKey
}

func parseServiceAccount(s secret.Secret) (*serviceAccount, error) {
	var sa serviceAccount
	if err := json.Unmarshal([]byte(s.Reveal()), &sa); err != nil {
		return nil, errors.New("not a service-account JSON key")
	}
	if sa.ClientEmail == "" || sa.PrivateKey == "" {
		return nil, errors.New("the JSON key has no client_email or private_key")
	}
	key, err := jwt.ParseRSAPrivateKeyFromPEM([]byte(sa.PrivateKey))
	if err != nil {
		return nil, errors.New("the private_key is not an RSA key in PEM")
	}
	sa.key = key
	if sa.TokenURI == "" {
		sa.TokenURI = "https://oauth2.googleapis.com/token"
	}
	return &sa, nil
}

// serviceAccountToken gets a token with the JWT-bearer grant (RFC 7523):
// a JWT signed with the service account's key, for the account's scopes.
func (m *Manager) serviceAccountToken(ctx context.Context, a *Account) (*Token, error) {
	sa, err := parseServiceAccount(a.ServiceAccountKey)
	if err != nil {
		return nil, fmt.Errorf("%w: service_account_key: %w", ErrInvalid, err)
	}
	tokenURL := sa.TokenURI
	if a.TokenURL != "" {
		tokenURL = a.TokenURL
	}
	now := m.o.now()
	claims := jwt.MapClaims{
		"iss":   sa.ClientEmail,
		"scope": strings.Join(a.Scopes, " "),
		"aud":   tokenURL,
		// Google accepts exp - iat of at most one hour; iat is set back a
		// little for clock skew, exp follows it by exactly one hour.
		"iat": now.Add(-10 * time.Second).Unix(),
		"exp": now.Add(-10*time.Second + time.Hour).Unix(),
	}
	if a.Subject != "" {
		claims["sub"] = a.Subject
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	if sa.PrivateKeyID != "" {
		tok.Header["kid"] = sa.PrivateKeyID
	}
	assertion, err := tok.SignedString(sa.key)
	if err != nil {
		return nil, fmt.Errorf("%w: signing the assertion: %w", ErrTokenRequest, err)
	}
	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {assertion}}
	// The JWT authenticates the client: no client id or secret is sent.
	b := *a
	b.ClientID, b.ClientSecret, b.ClientAuth = "", secret.Secret{}, ""
	return m.tokenRequest(ctx, &b, tokenURL, form)
}
