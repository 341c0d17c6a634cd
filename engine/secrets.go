package engine

import (
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nectar-run/nectar/engine/value"
)

// MinSecretLen is the length under which a secret value is not masked
// inside longer text: masking every "1234" or "true" would hide the data
// around it, not protect anything. Names still mask values of any length
// (SensitiveField).
const MinSecretLen = 8

// maxSecrets bounds a Secrets set; the oldest values go first.
const maxSecrets = 4096

// Secrets is the set of secret values Nectar holds (the admin key, keys
// read from the environment, account secrets and tokens), which log lines
// and execution records mask wherever they appear, also inside longer
// strings. The zero value is ready; it is safe for concurrent use.
// Values shorter than MinSecretLen are not kept.
type Secrets struct {
	mu    sync.Mutex
	order []string
	set   map[string]bool
	snap  atomic.Pointer[[]string]
}

// Add adds values to the set.
func (s *Secrets) Add(values ...string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := false
	for _, v := range values {
		if len(v) < MinSecretLen || s.set[v] {
			continue
		}
		if s.set == nil {
			s.set = map[string]bool{}
		}
		if len(s.order) == maxSecrets {
			delete(s.set, s.order[0])
			s.order = s.order[1:]
		}
		s.set[v] = true
		s.order = append(s.order, v)
		changed = true
	}
	if changed {
		snap := make([]string, len(s.order))
		copy(snap, s.order)
		s.snap.Store(&snap)
	}
}

// Values returns the values in the set; the slice is shared and must not be
// changed.
func (s *Secrets) Values() []string {
	if s == nil {
		return nil
	}
	if p := s.snap.Load(); p != nil {
		return *p
	}
	return nil
}

// MaskSecrets returns text with every occurrence of a value of lists
// (values shorter than MinSecretLen skipped) replaced by ***. Text holding
// none is returned as it is, without allocating.
//
// A value cut for a message (text.Preview: "got string \"3msT38pivUyx…\"")
// is masked as the value is: a prefix of a value, of MinSecretLen bytes or
// more, right before an ellipsis (…) is replaced by *** too.
func MaskSecrets(text string, lists ...[]string) string {
	// Each replacement shortens text, so this ends.
	for v, ok := heldSecret(text, lists); ok; v, ok = heldSecret(text, lists) {
		text = strings.ReplaceAll(text, v, "***")
	}
	for start, end, ok := cutSecret(text, lists); ok; start, end, ok = cutSecret(text, lists) {
		text = text[:start] + "***" + text[end:]
	}
	return text
}

// HoldsSecret reports whether text holds a value of lists (values shorter
// than MinSecretLen skipped), whole or cut (see MaskSecrets).
func HoldsSecret(text string, lists ...[]string) bool {
	if _, ok := heldSecret(text, lists); ok {
		return true
	}
	_, _, ok := cutSecret(text, lists)
	return ok
}

// ellipsis is what text.Preview puts after a value it cut.
const ellipsis = "…"

// cutSecret finds in text a prefix of a value of lists, at least
// MinSecretLen bytes long and shorter than the value, that ends right
// before an ellipsis: text[start:end]. Text without an ellipsis (nearly
// all) costs one search.
func cutSecret(text string, lists [][]string) (start, end int, ok bool) {
	n := 0
	for _, l := range lists {
		n += len(l)
	}
	if n == 0 || len(text) < MinSecretLen+len(ellipsis) || strings.IndexByte(text, ellipsis[0]) < 0 {
		// (An ellipsis's first byte is not in text: one IndexByte, the
		// fastest search, answers for nearly all texts.)
		return 0, 0, false
	}
	for from := 0; ; {
		i := strings.Index(text[from:], ellipsis)
		if i < 0 {
			return 0, 0, false
		}
		end = from + i
		for _, l := range lists {
			for _, v := range l {
				if len(v) <= MinSecretLen || end < MinSecretLen {
					continue
				}
				// The prefix starts where v's first MinSecretLen bytes
				// are, at most len(v)-1 bytes before the ellipsis.
				lo := max(0, end-(len(v)-1))
				head := v[:MinSecretLen]
				for s := lo; s <= end-MinSecretLen; {
					j := strings.Index(text[s:end], head)
					if j < 0 {
						break
					}
					s += j
					if text[s:end] == v[:end-s] {
						return s, end, true
					}
					s++
				}
			}
		}
		from = end + len(ellipsis)
	}
}

// heldSecret returns the first value of lists that text holds, values
// shorter than MinSecretLen skipped.
func heldSecret(text string, lists [][]string) (string, bool) {
	if len(text) < MinSecretLen {
		return "", false
	}
	if len(text) <= 64 {
		// Compared whole by strings.Index, faster than containsSecret
		// finds a rare byte.
		for _, l := range lists {
			for _, v := range l {
				if len(v) >= MinSecretLen && len(v) <= len(text) && strings.Contains(text, v) {
					return v, true
				}
			}
		}
		return "", false
	}
	for _, l := range lists {
		for _, v := range l {
			if len(v) >= MinSecretLen && len(v) <= len(text) && containsSecret(text, v) {
				return v, true
			}
		}
	}
	return "", false
}

// containsSecret reports whether text holds v, as strings.Contains does.
// strings.Index looks for v's first byte, then compares; in JSON text that
// byte is mostly a common one ("admin-key" starts with an a), and the search
// stops at every one of them: a KB of text costs about a µs a secret, twice
// a request in the history. This looks for the rarest byte of v instead (by
// rareness), usually found a few times or never, and compares v where it
// would start. When candidates keep failing (text made of v's bytes), what
// is left goes to strings.Contains, so the worst case stays its own.
func containsSecret(text, v string) bool {
	j, n := rarestByte(v), len(v)
	c := v[j]
	last := len(text) - n // the last start of v in text
	fails := 0
	for s := 0; s <= last; s++ {
		// v starting at s has c at s+j: look for c from there on.
		k := strings.IndexByte(text[s+j:last+j+1], c)
		if k < 0 {
			return false
		}
		s += k
		// v's ends first: a candidate mostly fails there, without the
		// call that compares the rest.
		if text[s] == v[0] && text[s+n-1] == v[n-1] && text[s:s+n] == v {
			return true
		}
		if fails++; fails > 4+s>>4 {
			return strings.Contains(text[s+1:], v)
		}
	}
	return false
}

// rarestByte returns the index in v of its byte least common in the text
// Nectar searches (JSON, URLs, log lines), by rareness; the first of v's
// first 16 bytes, the only ones it looks at.
func rarestByte(v string) int {
	v = v[:min(len(v), 16)]
	best, rank := 0, byte(255)
	for i := 0; i < len(v); i++ {
		if r := rareness[v[i]]; r < rank {
			best, rank = i, r
		}
	}
	return best
}

// rareness ranks bytes by how common they are in JSON text and English
// words: the higher, the more common; 0 for the bytes not listed (upper
// case letters, most punctuation, control and non-ASCII bytes), the rarest.
var rareness = func() (t [256]byte) {
	const common = `qjzxkvbwyfgp\{}[]_ .-8967354210cmudhlrsnio,:ate"` // rarer to commoner
	for i := range len(common) {
		t[common[i]] = byte(i + 1)
	}
	return t
}()

// Masked is what Mask puts in place of what it hides.
const Masked = "***"

// Masking says what Mask hides in a value.
type Masking struct {
	// Field reports whether the value of a field is hidden (nil: none is):
	// for instance Exec.Sensitive, or SensitiveField with the lists that
	// apply. A null value stays null.
	Field func(name string) bool
	// Secrets are lists of values hidden wherever they appear in a string or
	// a field name, also inside longer text (see MaskSecrets). Mask reads
	// them as it goes, so Hidden may add to them: a value it adds is hidden
	// in the rest of the walk.
	Secrets [][]string
	// Hidden, when set, is called with every string inside a value hidden
	// under a field name (the value itself when it is a string).
	Hidden func(s string)

	replacer func(string, any) (any, bool) // m.replace, made once
}

// Mask returns v, a value of the value model (value.Decode), with what m
// says is secret replaced by Masked: the values of the fields m.Field names,
// at any depth, and m.Secrets inside strings and field names. Parts holding
// nothing secret are shared, not copied; v itself is not changed. It is the
// one masking walk of Nectar: log lines (MaskLogs), the log connector and
// the execution history use it.
func Mask(v any, m *Masking) any {
	if m.replacer == nil {
		m.replacer = m.replace
	}
	return value.Replace(v, m.replacer)
}

func (m *Masking) replace(k string, v any) (any, bool) {
	if v != nil && k != "" && m.Field != nil && m.Field(k) {
		if m.Hidden != nil {
			reveal(v, m.Hidden)
		}
		return Masked, true
	}
	switch t := v.(type) {
	case string:
		if s := m.text(t); s != t {
			return s, true
		}
	case *value.Object:
		// A secret in a field name: the object is rebuilt with its names
		// masked (rare; otherwise Replace copies only what changes).
		for i := range t.Len() {
			if k, _ := t.At(i); m.text(k) != k {
				out := value.NewObject(t.Len())
				for i := range t.Len() {
					k, c := t.At(i)
					nc, ok := m.replace(k, c)
					if !ok {
						nc = Mask(c, m)
					}
					out.Set(m.text(k), nc)
				}
				return out, true
			}
		}
	}
	return nil, false
}

// text returns s with m's secrets masked.
func (m *Masking) text(s string) string {
	if len(m.Secrets) == 0 {
		return s
	}
	return MaskSecrets(s, m.Secrets...)
}

// reveal calls f with every string of v.
func reveal(v any, f func(string)) {
	switch t := v.(type) {
	case string:
		f(t)
	case *value.Object:
		for i := range t.Len() {
			_, c := t.At(i)
			reveal(c, f)
		}
	case []any:
		for _, c := range t {
			reveal(c, f)
		}
	}
}
