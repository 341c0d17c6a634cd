package engine

import (
	"strings"
	"sync"
	"sync/atomic"
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
func MaskSecrets(text string, lists ...[]string) string {
	if len(text) < MinSecretLen {
		return text
	}
	for _, l := range lists {
		for _, v := range l {
			if len(v) >= MinSecretLen && len(v) <= len(text) && strings.Contains(text, v) {
				text = strings.ReplaceAll(text, v, "***")
			}
		}
	}
	return text
}

// HoldsSecret reports whether text holds a value of lists (values shorter
// than MinSecretLen skipped).
func HoldsSecret(text string, lists ...[]string) bool {
	if len(text) < MinSecretLen {
		return false
	}
	for _, l := range lists {
		for _, v := range l {
			if len(v) >= MinSecretLen && len(v) <= len(text) && strings.Contains(text, v) {
				return true
			}
		}
	}
	return false
}
