package secret

import "errors"

// These errors are returned by Sealer.Open, Reseal and the key loaders.
var (
	// ErrWrongKey is returned by Open when the blob was sealed with another
	// master key than the Sealer's.
	ErrWrongKey = errors.New("secret: sealed with another master key")

	// ErrTampered is returned by Open when the blob is not one that Seal
	// produced: truncated, changed after sealing, or opened with other
	// associated data.
	ErrTampered = errors.New("secret: sealed data is corrupt or was tampered with")

	// ErrBadKey is returned by NewSealer, ParseKey and LoadKey when a master
	// key is not 32 bytes, or not valid base64; the wrapping error says
	// which, without quoting the key.
	ErrBadKey = errors.New("secret: invalid master key")

	// ErrKeyFileMode is returned by LoadKey when the key file can be read or
	// written by users other than its owner.
	ErrKeyFileMode = errors.New("secret: master key file is accessible to other users")
)
