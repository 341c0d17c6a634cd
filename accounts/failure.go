package accounts

import "errors"

// failures are the errors that mean an account could not be used: its
// token could not be had, it needs authorizing, it may not reach the host,
// or it does not exist.
var failures = []error{ErrNeedsReauthorization, ErrRefreshRejected, ErrTokenRequest, ErrHostNotAllowed,
	ErrUnknownAccount, ErrUnknownProvider, ErrInvalid, ErrNoManager}

// IsAccountFailure reports whether err (or an error it wraps) is a failure
// of an account rather than of the request that used it. Their messages
// name the account, its token endpoint or the refused host: nectar serve
// answers the caller of an HTTP trigger a generic 502 for them and keeps
// the detail in the log and the execution record.
func IsAccountFailure(err error) bool {
	for _, f := range failures {
		if errors.Is(err, f) {
			return true
		}
	}
	return false
}
