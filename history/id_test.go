package history_test

import (
	"regexp"
	"sync"
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

// TestNewIDConcurrent makes ids for one millisecond from many goroutines
// at once (go test -race; NewID's generators come from a sync.Pool, one
// per P): none repeats, and no two goroutines draw the same random
// sequence (a generator shared or seeded alike would).
func TestNewIDConcurrent(t *testing.T) {
	at := time.UnixMilli(1_765_000_000_123)
	const workers, each = 8, 2000
	ids := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				ids[w] = append(ids[w], history.NewID(at))
			}
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, l := range ids {
		for _, id := range l {
			if seen[id] {
				t.Fatalf("id %q made twice", id)
			}
			seen[id] = true
		}
	}
	firsts := map[string]bool{}
	for _, l := range ids {
		if firsts[l[0][12:]+l[1][12:]] {
			t.Fatalf("two goroutines drew the same sequence %q", l[:2])
		}
		firsts[l[0][12:]+l[1][12:]] = true
	}
}
