package accounts

import (
	"errors"
	"fmt"
	"strings"
)

// These errors are returned by the Manager and by the round tripper it
// builds. They may be wrapped: branch with errors.Is. None of their messages
// quotes a secret.
var (
	// ErrUnknownAccount is returned when no account has the given name.
	ErrUnknownAccount = errors.New("accounts: unknown account")

	// ErrExists is returned by Create when an account of that name exists.
	ErrExists = errors.New("accounts: account already exists")

	// ErrInvalid is returned when an account or provider definition is
	// incomplete or contradictory; the wrapping error names the field.
	ErrInvalid = errors.New("accounts: invalid definition")

	// ErrUnknownProvider is returned when an oauth2 account names a provider
	// that is neither built in nor added with `nectar providers add`.
	ErrUnknownProvider = errors.New("accounts: unknown provider")

	// ErrNeedsReauthorization is returned for every use of an oauth2
	// account whose refresh token was rejected, expired or never issued,
	// until `nectar accounts authorize NAME` succeeds. Its wrapper (a
	// *ReauthError) names the account and the command.
	ErrNeedsReauthorization = errors.New("accounts: account needs authorization")

	// ErrRefreshRejected is returned when the provider answers a token
	// request with invalid_grant: the refresh token (or authorization code)
	// is expired, revoked or was already used.
	ErrRefreshRejected = errors.New("accounts: refresh token rejected")

	// ErrTokenRequest is returned when the token endpoint fails or answers
	// with something that is not a token. The error body is never stored.
	ErrTokenRequest = errors.New("accounts: token request failed")

	// ErrNoRefreshToken is returned (inside AuthorizeResult.Warning's error
	// chain and by renewals) when the provider issued no refresh token, so
	// the account cannot renew its access token by itself.
	ErrNoRefreshToken = errors.New("accounts: the provider returned no refresh token")

	// ErrAuthorization is returned by Authorize when the consent fails: the
	// user denied it, the state did not match, or the callback timed out.
	ErrAuthorization = errors.New("accounts: authorization failed")

	// ErrNotOAuth is returned by Authorize for an account whose type has no
	// authorization code flow.
	ErrNotOAuth = errors.New("accounts: account type has no authorization flow")

	// ErrTestFailed is returned (inside a *TestError) by Save and Import
	// when an account's test failed: its token could not be obtained, or
	// its test request failed. Nothing was saved.
	ErrTestFailed = errors.New("accounts: the account's test failed")

	// ErrNoManager is returned by steps that need accounts when the runtime
	// has no accounts manager installed.
	ErrNoManager = errors.New("accounts: no accounts are configured")
)

// ReauthError says which account needs authorizing again and why. It
// wraps ErrNeedsReauthorization.
type ReauthError struct {
	Account string
	Reason  string
}

func (e *ReauthError) Error() string {
	return fmt.Sprintf("account %s needs authorization (%s); run: nectar accounts authorize %s", e.Account, e.Reason, e.Account)
}

// Unwrap returns ErrNeedsReauthorization.
func (e *ReauthError) Unwrap() error { return ErrNeedsReauthorization }

// TokenError is an error answer of a token endpoint: its HTTP status and the
// OAuth error code and description (RFC 6749 §5.2). invalid_grant errors
// match ErrRefreshRejected; all match ErrTokenRequest.
type TokenError struct {
	Status      int
	Code        string
	Description string
}

func (e *TokenError) Error() string {
	msg := fmt.Sprintf("token endpoint answered %d", e.Status)
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Description != "" {
		msg += ": " + e.Description
	}
	return msg
}

// Is makes TokenError match ErrTokenRequest, and ErrRefreshRejected when the
// code is invalid_grant.
func (e *TokenError) Is(target error) bool {
	return target == ErrTokenRequest || (target == ErrRefreshRejected && e.Code == "invalid_grant")
}

// ListError is returned by List, with the accounts it could read, when
// some account records cannot be opened (sealed with another master key,
// or damaged).
type ListError struct {
	Unreadable []Unreadable
}

// Unreadable is an account record List could not open, and why.
type Unreadable struct {
	Name    string `json:"name"`
	Problem string `json:"problem"`
}

func (e *ListError) Error() string {
	names := make([]string, len(e.Unreadable))
	for i, u := range e.Unreadable {
		names[i] = u.Name
	}
	return fmt.Sprintf("accounts: %d account record(s) cannot be read: %s (delete them, or restore the master key they were sealed with)",
		len(names), strings.Join(names, ", "))
}
