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

// emptyFile is the error for an existing database file of 0 bytes: bbolt
// would take it for a new store, and every record would be gone without a
// word.
func emptyFile(path string) error {
	return fmt.Errorf("%w: %s is empty (0 bytes): restore it from a backup, or delete it to start a new store", ErrCorrupt, path)
}

// metasOf returns the meta pages of path, or zero values when it cannot
// be read.
func metasOf(path string) [2]metaPage {
	m, _ := readMetas(path)
	return m
}

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
	if err == nil {
		return nil // every read: errors.As would allocate d for nothing
	}
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
// Unless acceptPrevious, a file with one damaged meta page is refused (see
// oneMetaDamaged); the check runs while the file is locked, so a meta page
// being written by another process is never mistaken for damage.
func verify(path string, timeout time.Duration, acceptPrevious bool) error {
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
	if !acceptPrevious {
		if err := metaDamage(path); err != nil {
			return err
		}
	}
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
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("bolt: %w", err)
	}
	if fi.Size() == 0 {
		return emptyFile(path)
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
	if len(problems) == 2 && oneMetaDamaged(metasOf(path)) != "" {
		// Only a meta page is damaged: the file can be opened at the
		// previous commit.
		return fmt.Errorf("%w: %s: %s: %s", ErrCorrupt, path, strings.Join(problems, "; "), AcceptPreviousCommitHint)
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

// metaPage is what readMetas found in one meta page: a problem, or the
// txid of its commit.
type metaPage struct {
	problem string
	txid    uint64
}

// readMetas reads both meta pages of the file at path.
func readMetas(path string) ([2]metaPage, error) {
	var out [2]metaPage
	f, err := os.Open(path)
	if err != nil {
		return out, err
	}
	defer f.Close()
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
			out[pg].problem = fmt.Sprintf("meta page %d: %v", pg, err)
			continue
		}
		m := buf[pageHeader:]
		h := fnv.New64a()
		h.Write(m[:metaSumAt])
		switch {
		case binary.LittleEndian.Uint32(m) != metaMagic:
			out[pg].problem = fmt.Sprintf("meta page %d: bad magic number", pg)
		case binary.LittleEndian.Uint32(m[4:]) != metaVersion:
			out[pg].problem = fmt.Sprintf("meta page %d: unknown version %d", pg, binary.LittleEndian.Uint32(m[4:]))
		case binary.LittleEndian.Uint64(m[metaSumAt:]) != h.Sum64():
			out[pg].problem = fmt.Sprintf("meta page %d: checksum mismatch", pg)
		default:
			out[pg].txid = binary.LittleEndian.Uint64(m[metaSumAt-8:])
			if pg == 0 {
				pageSize = int64(binary.LittleEndian.Uint32(m[8:]))
			}
		}
	}
	return out, nil
}

// checkMeta checks both meta pages of the file at path. bbolt opens a file
// with one bad meta page from the other, but a second fault would then be
// fatal, and the bad page may have held the newest commit (see
// oneMetaDamaged).
func checkMeta(path string) []string {
	metas, err := readMetas(path)
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	for _, m := range metas {
		if m.problem != "" {
			problems = append(problems, m.problem)
		}
	}
	if msg := oneMetaDamaged(metas); msg != "" {
		problems = append(problems, msg)
	}
	return problems
}

// AcceptPreviousCommitHint is what to do about a file with one damaged meta
// page; errors of Open and Check end with it.
const AcceptPreviousCommitHint = "restore it from a backup, or open it at the previous commit, accepting the loss of the last write, " +
	"with nectar store check --accept-previous-commit"

// oneMetaDamaged returns, when exactly one meta page of metas is damaged,
// what opening the file would do; else "". bbolt writes the meta page of
// each commit last, alternating between the two pages, and opens a file
// from the sound page with the higher txid: a meta page torn by a crash
// costs the commit it was writing, which was never acknowledged. But damage
// at rest to the page of the newest commit costs that commit, acknowledged
// long ago, silently; and the next commit overwrites the damaged page,
// erasing the evidence. The two cannot be told apart (the damaged page's
// txid cannot be trusted), so Nectar does not choose: Open refuses, and the
// user restores a backup or accepts the previous commit
// (WithAcceptPreviousCommit).
func oneMetaDamaged(metas [2]metaPage) string {
	bad, good := metas[0], metas[1]
	if (bad.problem == "") == (good.problem == "") {
		return ""
	}
	if bad.problem == "" {
		bad, good = good, bad
	}
	return fmt.Sprintf("the other meta page is sound, and the file would open at its commit (txid %d), losing the newest commit "+
		"if the damaged page held it (a write acknowledged long ago, unless the machine crashed while writing it)", good.txid)
}

// metaDamage returns an error wrapping ErrCorrupt when exactly one meta
// page of the file at path is damaged (see oneMetaDamaged).
func metaDamage(path string) error {
	metas, err := readMetas(path)
	if err != nil {
		return fmt.Errorf("bolt: %w", err)
	}
	msg := oneMetaDamaged(metas)
	if msg == "" {
		return nil
	}
	problem := metas[0].problem + metas[1].problem
	return fmt.Errorf("%w: %s: %s; %s: %s", ErrCorrupt, path, problem, msg, AcceptPreviousCommitHint)
}
