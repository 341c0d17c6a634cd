package httpclient

import (
	"context"
	"errors"
	"net"

	"github.com/nectar-run/nectar/accounts"
)

// AccountStatus returns the status of a step whose account could not be
// used, and true; or 0 and false when err is not about the account:
//
//   - 401 when the account must be authorized again
//     (accounts.ErrNeedsReauthorization);
//   - 403 when the account's credentials may not go to the request's host
//     (accounts.ErrHostNotAllowed, a *accounts.HostError);
//   - 502 when the provider refused to issue a token (accounts.ErrTokenRequest);
//   - 500 when there is no such account, or no account manager
//     (accounts.ErrUnknownAccount, accounts.ErrNoManager).
func AccountStatus(err error) (int, bool) {
	switch {
	case errors.Is(err, accounts.ErrNeedsReauthorization):
		return 401, true
	case errors.Is(err, accounts.ErrHostNotAllowed):
		return 403, true
	case errors.Is(err, accounts.ErrTokenRequest):
		return 502, true
	case errors.Is(err, accounts.ErrUnknownAccount), errors.Is(err, accounts.ErrNoManager):
		return 500, true
	}
	return 0, false
}

// TransportStatus returns the status of a step whose request got no answer
// (the error of Client.Do or http.Client.Do). Every connector that calls an
// API maps such errors here, so that they agree:
//
//   - account errors keep their meaning (AccountStatus);
//   - 504 Gateway Timeout when the time ran out: the step's context ended
//     (its deadline, or the run was cancelled) or the transport timed out
//     (connect_timeout, read_timeout, a DNS timeout: any net.Error whose
//     Timeout() is true). A timeout is the API being slow, not wrong, so
//     it is told apart from 502;
//   - 502 Bad Gateway for any other failure to get an answer: connection
//     refused or reset, an unknown host, a TLS handshake or certificate
//     error, a malformed response.
func TransportStatus(ctx context.Context, err error) int {
	if code, ok := AccountStatus(err); ok {
		return code
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil || (errors.As(err, &ne) && ne.Timeout()) {
		return 504
	}
	return 502
}
