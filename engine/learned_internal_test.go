package engine

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
)

// TestAddSecretParallelSnapshots: parallel branches learn secrets while
// log lines read the snapshot (execHandler.masking). Every snapshot read is
// a prefix of the final list, never changed after it is read (a reader
// keeps using it), across the first values' block and past it; every
// value is learned once. Run with -race.
func TestAddSecretParallelSnapshots(t *testing.T) {
	x := &Exec{shared: &execShared{}}
	const branches, each = 8, 40
	var wg sync.WaitGroup
	stop := make(chan struct{})
	type seen struct{ snap, copy []string }
	var reads []seen
	var rmu sync.Mutex
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if p := x.shared.learnedSnap.Load(); p != nil {
					s := *p
					rmu.Lock()
					reads = append(reads, seen{s, slices.Clone(s)})
					rmu.Unlock()
				}
			}
		}()
	}
	var adders sync.WaitGroup
	for b := range branches {
		adders.Add(1)
		go func() {
			defer adders.Done()
			for i := range each {
				// Each branch learns its own values and a shared one.
				x.AddSecret(fmt.Sprintf("branch-%d-secret-%03d", b, i), "shared-secret-value")
			}
		}()
	}
	adders.Wait()
	close(stop)
	wg.Wait()
	final := *x.shared.learnedSnap.Load()
	if len(final) != branches*each+1 {
		t.Fatalf("learned %d values, want %d", len(final), branches*each+1)
	}
	seenVals := map[string]bool{}
	for _, v := range final {
		if seenVals[v] {
			t.Fatalf("%q learned twice", v)
		}
		seenVals[v] = true
	}
	for _, r := range reads {
		if !slices.Equal(r.snap, r.copy) {
			t.Fatalf("a snapshot changed after it was read: %q, then %q", r.copy, r.snap)
		}
		if !slices.Equal(r.snap, final[:len(r.snap)]) {
			t.Fatalf("a snapshot is not a prefix of what was learned: %q", r.snap)
		}
		if cap(r.snap) != len(r.snap) {
			t.Fatalf("a snapshot of %d values has capacity %d: an append to it would write into the next", len(r.snap), cap(r.snap))
		}
	}
}

// TestAddSecretSnapshotsAcrossBlock: values learned one by one, up to and
// past the first values' block: after each, the snapshot is exactly what
// was learned so far, and the earlier snapshots are unchanged.
func TestAddSecretSnapshotsAcrossBlock(t *testing.T) {
	x := &Exec{shared: &execShared{}}
	var want []string
	var snaps [][]string
	for i := range 10 {
		v := fmt.Sprintf("learned-value-%02d", i)
		x.AddSecret(v, "short") // short values are not kept
		want = append(want, v)
		got := *x.shared.learnedSnap.Load()
		if !slices.Equal(got, want) {
			t.Fatalf("after %d values the snapshot is %q", i+1, got)
		}
		snaps = append(snaps, got)
	}
	for i, s := range snaps {
		if !slices.Equal(s, want[:i+1]) {
			t.Fatalf("snapshot %d changed: %q", i+1, s)
		}
	}
}

// TestQueryUnescaped: queryUnescaped, AddSecret's shortcut, says a value is
// left as it is exactly when url.QueryEscape leaves it so, for every byte
// alone and among others.
func TestQueryUnescaped(t *testing.T) {
	for c := range 256 {
		for _, v := range []string{string(rune(0))[:0] + string([]byte{byte(c)}), "eyJhbGciOi" + string([]byte{byte(c)}) + "J9.x-y_z~"} {
			if got, want := queryUnescaped(v), url.QueryEscape(v) == v; got != want {
				t.Errorf("queryUnescaped(%q) = %v, url.QueryEscape says %v", v, got, want)
			}
		}
	}
}

func BenchmarkQueryUnescaped(b *testing.B) {
	v := "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0." + strings.Repeat("eyJzdWIiOiJjbGllbnQtMSIsInNjb3BlIjoicmVhZCJ9", 8) + ".sig_-"
	for b.Loop() {
		if !queryUnescaped(v) {
			b.Fatal("escaped")
		}
	}
}

// TestAddSecretEscapedForms: a value with bytes that URL and JSON escape
// is learned in each form an API may echo it back in: as sent, URL-escaped
// (a form, a query), JSON-escaped by Nectar's encoder and by Go's
// encoding/json (which escapes <, > and & as well).
func TestAddSecretEscapedForms(t *testing.T) {
	x := &Exec{shared: &execShared{}}
	v := `pa<ss"wo\rd&1 x`
	x.AddSecret(v)
	got := *x.shared.learnedSnap.Load()
	goJSON, _ := json.Marshal(v)
	for _, want := range []string{v, url.QueryEscape(v), `pa<ss\"wo\\rd&1 x`, strings.Trim(string(goJSON), `"`)} {
		if !slices.Contains(got, want) {
			t.Errorf("%q is not learned: %q", want, got)
		}
	}
	// A token needs no escaped form.
	y := &Exec{shared: &execShared{}}
	y.AddSecret("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-_~")
	if got := *y.shared.learnedSnap.Load(); len(got) != 1 {
		t.Errorf("a token is learned in %d forms: %q", len(got), got)
	}
}

// BenchmarkAddSecretLoop: a for-each whose every item learns a value of
// its own (a per-item token), 2000 items: the cost of an item must not
// grow with the values learned before it.
func BenchmarkAddSecretLoop(b *testing.B) {
	vals := make([]string, 2000)
	for i := range vals {
		vals[i] = fmt.Sprintf("per-item-token-%06d", i)
	}
	for b.Loop() {
		x := &Exec{shared: &execShared{}}
		for _, v := range vals {
			x.AddSecret(v)
			x.AddSecret(v) // learned again: a later step repeats it
		}
	}
}

// TestAddSecretBound: past learnedSetFrom values are looked up in a map,
// still learned once each; the list stops at maxSecrets.
func TestAddSecretBound(t *testing.T) {
	x := &Exec{shared: &execShared{}}
	for range 2 {
		for i := range maxSecrets + 100 {
			x.AddSecret(fmt.Sprintf("bound-value-%05d", i))
		}
	}
	got := *x.shared.learnedSnap.Load()
	if len(got) != maxSecrets {
		t.Fatalf("learned %d values, want %d", len(got), maxSecrets)
	}
	for i, v := range got {
		if want := fmt.Sprintf("bound-value-%05d", i); v != want {
			t.Fatalf("value %d is %q, want %q", i, v, want)
		}
	}
}
