package store

import "errors"

// These errors are returned by the methods of a Store. Every implementation
// returns them (possibly wrapped with %w), so callers branch with errors.Is.
var (
	// ErrNotFound is returned by Get and Delete when the key does not exist or
	// has expired.
	ErrNotFound = errors.New("store: not found")

	// ErrExists is returned by Create when the key already exists and has not
	// expired.
	ErrExists = errors.New("store: already exists")

	// ErrConflict is returned by CompareAndSwap when the key's current
	// revision is not the expected one, including when a key expected to exist
	// is missing or a key expected to be missing (revision 0) exists.
	ErrConflict = errors.New("store: revision conflict")

	// ErrClosed is returned by every method called after Close, and by calls
	// that were still running when Close finished.
	ErrClosed = errors.New("store: closed")

	// ErrUnavailable is wrapped by the errors of a store that cannot serve
	// the call: the database is down, does not answer in time or fails the
	// statement, or the file cannot be read or written (a full disk). The
	// rest of the error is the driver's detail (addresses, user and
	// database names, file paths): log it, record it, but do not answer it
	// to a caller.
	ErrUnavailable = errors.New("store: unavailable")

	// ErrInvalid is returned when a bucket or key is not acceptable (see
	// CheckKey), or an option is out of range (a lock TTL that is not
	// positive).
	ErrInvalid = errors.New("store: invalid argument")
)

// These values are not failures: an UpdateFunc returns one of them to tell
// Update what to do instead of writing a new value. Update itself never
// returns them.
var (
	// SkipWrite, returned by an UpdateFunc, leaves the key as it is; Update
	// then returns the current item and a nil error.
	SkipWrite = errors.New("store: skip write")

	// DeleteKey, returned by an UpdateFunc, deletes the key; Update then
	// returns a zero Item and a nil error. Deleting a missing key is not an
	// error here.
	DeleteKey = errors.New("store: delete key")
)
