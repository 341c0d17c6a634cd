package history_test

import (
	"regexp"
	"testing"
	"time"

	"github.com/nectar-run/nectar/history"
)

// TestNewID checks the form of ids (12 hex digits of the start time in
// milliseconds, then 12 random ones), that they sort by start time and
// that their random parts do not repeat.
func TestNewID(t *testing.T) {
	form := regexp.MustCompile(`^[0-9a-f]{24}$`)
	at := time.UnixMilli(1_765_000_000_123)
	seen := map[string]bool{}
	prev := ""
	for i := range 10000 {
		id := history.NewID(at.Add(time.Duration(i) * time.Millisecond))
		if !form.MatchString(id) {
			t.Fatalf("NewID = %q, not 24 hex digits", id)
		}
		if got, ok := history.IDTime(id); !ok || !got.Equal(at.Add(time.Duration(i)*time.Millisecond)) {
			t.Fatalf("IDTime(%q) = %v, %v", id, got, ok)
		}
		if id <= prev {
			t.Fatalf("%q sorts before the earlier %q", id, prev)
		}
		if seen[id[12:]] {
			t.Fatalf("random part %q repeated", id[12:])
		}
		seen[id[12:]] = true
		prev = id
	}
}

// BenchmarkNewID measures making an execution id (once per request).
func BenchmarkNewID(b *testing.B) {
	b.ReportAllocs()
	at := time.Now()
	for b.Loop() {
		_ = history.NewID(at)
	}
}
