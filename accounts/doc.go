// Package accounts holds who Nectar is when it calls an API: account
// definitions (basic, api-key, custom-header, bearer,
// google-service-account, oauth2-client-credentials and oauth2 through a
// provider), sealed at rest in the store's bucket "accounts", their
// OAuth tokens, sealed in the bucket "tokens", and custom providers, sealed
// in the bucket "providers".
//
// # Basics
//
// One Manager per process (NewManager, Install on the runtime) serves
// every step. A step that calls an API with an account asks for a round
// tripper and sends its requests through it:
//
//	rt, err := m.RoundTripper("crm", http.DefaultTransport)
//	client := &http.Client{Transport: rt}
//
// The round tripper applies the account to each request, obtains and
// caches OAuth tokens, renews them shortly before they expire, and on an
// auth error (401, or the account's auth_error rule) renews the token and
// sends the request once more.
//
// # Token lifecycle
//
// There is one token per account, keyed by everything that shapes it
// (token URL, client, scopes, audience…). Concurrent users share one
// renewal: singleflight in the process, and the store's Lock
// ("token:NAME") across replicas, after which the stored token is read
// again in case another replica renewed it. A renewed token, with a rotated
// refresh token, is stored before it is used; an error answer is never
// stored. invalid_grant marks the account as needing authorization: every
// use then fails at once with a *ReauthError naming the command that fixes
// it (nectar accounts authorize NAME).
//
// # Caveats
//
// Token endpoints are not trusted: token requests follow no redirect and
// go only to https (or loopback http) URLs; a refresh token goes only to
// the endpoint it was issued for; an answer is checked (printable tokens,
// bearer type, numeric expires_in, at most MaxTokenLifetime) before it is
// stored. A token the API refuses right after its renewal is not renewed
// again for NoRenewWindow, and a failing endpoint is asked again only after
// a backoff between BackoffMin and BackoffMax; Collector counts token
// requests per account. Revocation endpoints (revoke_url) obey the same
// rules, and a failed revocation is logged, never fatal.
//
// Save and Import test an account (its token, its test request) before
// they store it, and store nothing when the test fails (a *TestError);
// Create and Put store without testing.
//
// # Concurrency
//
// A Manager and the round trippers it returns are safe for concurrent use.
package accounts
