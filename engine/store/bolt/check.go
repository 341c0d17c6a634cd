package bolt

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	bbolt "go.etcd.io/bbolt"
	bbolterrors "go.etcd.io/bbolt/errors"
)

// ErrCorrupt is returned by Open, Check and any call that meets a damaged
// database file. The wrapping error names the file and what is wrong.
var ErrCorrupt = errors.New("bolt: database file is damaged")

// corrupt returns an error wrapping ErrCorrupt for path, with the advice.
func corrupt(path string, cause any) error {
	return fmt.Errorf("%w: %s: %v; stop nectar and restore it from a backup", ErrCorrupt, path, cause)
}

// isCorrupt reports whether err from bbolt.Open says the file is not a
// valid database.
func isCorrupt(err error) bool {
	for _, e := range []error{bbolterrors.ErrInvalid, bbolterrors.ErrChecksum, bbolterrors.ErrVersionMismatch, bbolterrors.ErrInvalidMapping} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// damage is a panic of bbolt's (or a memory fault) caught by guard.
type damage struct{ cause any }

func (d damage) Error() string { return fmt.Sprint(d.cause) }

// guard runs fn and turns a panic in it, or a memory fault on the mapped
// file, into a damage error: bbolt panics on a page it cannot make sense
// of. fn runs in the calling goroutine.
func guard(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = damage{p}
		}
	}()
	return fn()
}

// damaged returns err as an error wrapping ErrCorrupt when it says the file
// is damaged (a panic caught by guard, or bbolt's own verdict), else err.
func damaged(path string, err error) error {
	var d damage
	if errors.As(err, &d) || isCorrupt(err) {
		return corrupt(path, err)
	}
	return err
}

// walk reads every page of every bucket the way bbolt's own walks do
// (every branch and leaf page, every key, compared with the previous one),
// so that a damaged page panics here, under guard, rather than in a
// goroutine of bbolt's where no one can recover it. When values is true it
// reads the values too.
func walk(tx *bbolt.Tx, values bool) error {
	var sum byte
	var bucket func(b *bbolt.Bucket, name string) error
	bucket = func(b *bbolt.Bucket, name string) error {
		var prev []byte
		return b.ForEach(func(k, v []byte) error {
			if prev != nil && bytes.Compare(prev, k) >= 0 {
				return fmt.Errorf("bucket %q: keys out of order at %x", name, k)
			}
			prev = k
			if v == nil {
				child := b.Bucket(k)
				if child == nil {
					return fmt.Errorf("bucket %q: key %x is neither a value nor a bucket", name, k)
				}
				return bucket(child, name+"/"+string(k))
			}
			if values {
				for _, c := range v {
					sum ^= c
				}
			}
			return nil
		})
	}
	err := tx.ForEach(func(name []byte, b *bbolt.Bucket) error { return bucket(b, string(name)) })
	_ = sum
	return err
}

// verify opens path read-only and walks it (see walk), so that Open meets a
// damaged file with an error instead of a crash.
func verify(path string, timeout time.Duration) error {
	db, err := openReadOnly(path, timeout)
	if err != nil {
		if errors.Is(err, ErrLocked) {
			return err
		}
		if err = damaged(path, err); errors.Is(err, ErrCorrupt) {
			return err
		}
		return fmt.Errorf("bolt: open %s: %w", path, err)
	}
	defer db.Close()
	err = guard(func() error { return db.View(func(tx *bbolt.Tx) error { return walk(tx, false) }) })
	if err != nil {
		return corrupt(path, err) // a panic, or keys out of order
	}
	return nil
}

// openReadOnly opens path read-only, which does not walk the file. Its
// errors are bbolt's, a damage, or ErrLocked.
func openReadOnly(path string, timeout time.Duration) (*bbolt.DB, error) {
	var db *bbolt.DB
	err := guard(func() error {
		var err error
		db, err = bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: timeout})
		return err
	})
	if errors.Is(err, bbolterrors.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s (waited %s; is another nectar running with this data directory?)", ErrLocked, path, timeout)
	}
	return db, err
}

// Check reads the whole database file at path: both meta pages, every page
// of every bucket and every value, then bbolt's own consistency check
// (bbolt.Tx.Check). It returns nil for a sound file, else an error wrapping
// ErrCorrupt that lists the problems found. It takes a shared lock on the
// file, so it fails with ErrLocked (after 2 seconds) while a nectar process
// has the file open. It never changes the file.
func Check(path string) error {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("bolt: %w", err)
	}
	problems := checkMeta(path)
	db, err := openReadOnly(path, 2*time.Second)
	if err != nil {
		if errors.Is(err, ErrLocked) {
			return err
		}
		if !errors.Is(damaged(path, err), ErrCorrupt) {
			return fmt.Errorf("bolt: open %s: %w", path, err)
		}
		problems = append(problems, err.Error())
	} else {
		defer db.Close()
		err = guard(func() error { return db.View(func(tx *bbolt.Tx) error { return walk(tx, true) }) })
		if err == nil {
			err = guard(func() error {
				return db.View(func(tx *bbolt.Tx) error {
					for e := range tx.Check() {
						if len(problems) < 20 {
							problems = append(problems, e.Error())
						}
					}
					return nil
				})
			})
		}
		if err != nil {
			problems = append(problems, err.Error())
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return corrupt(path, strings.Join(problems, "; "))
}

// The meta page (see bbolt's internal/common/meta.go), after the page's
// 16-byte header: magic, version, page size, flags (4 bytes each), root
// bucket (16), freelist, page count, txid, checksum (8 each). The checksum
// is FNV-64a of the 56 bytes before it.
const (
	pageHeader  = 16
	metaMagic   = 0xED0CDAED
	metaVersion = 2
	metaSumAt   = 56
	metaSize    = metaSumAt + 8
)

// checkMeta checks both meta pages of the file at path. bbolt opens a file
// with one bad meta page from the other (losing the last write at most),
// but a second fault would then be fatal.
func checkMeta(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return []string{err.Error()}
	}
	defer f.Close()
	var problems []string
	buf := make([]byte, pageHeader+metaSize)
	pageSize := int64(0)
	for pg := range int64(2) {
		// Meta 1 is at the page size that meta 0 gives, or at the OS page
		// size when meta 0 is damaged.
		off := pg * pageSize
		if pg == 1 && pageSize == 0 {
			off = int64(os.Getpagesize())
		}
		if _, err := f.ReadAt(buf, off); err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("file too short")
			}
			problems = append(problems, fmt.Sprintf("meta page %d: %v", pg, err))
			continue
		}
		m := buf[pageHeader:]
		h := fnv.New64a()
		h.Write(m[:metaSumAt])
		switch {
		case binary.LittleEndian.Uint32(m) != metaMagic:
			problems = append(problems, fmt.Sprintf("meta page %d: bad magic number", pg))
		case binary.LittleEndian.Uint32(m[4:]) != metaVersion:
			problems = append(problems, fmt.Sprintf("meta page %d: unknown version %d", pg, binary.LittleEndian.Uint32(m[4:])))
		case binary.LittleEndian.Uint64(m[metaSumAt:]) != h.Sum64():
			problems = append(problems, fmt.Sprintf("meta page %d: checksum mismatch", pg))
		case pg == 0:
			pageSize = int64(binary.LittleEndian.Uint32(m[8:]))
		}
	}
	return problems
}
