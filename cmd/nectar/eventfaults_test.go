package main_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const idempotentConsumer = `name: consume
globals: {replica: none, upstream: ""}
trigger:
  event: {name: orders.created, concurrency: 4}
steps:
  - rest:
      url: "{{ globals.upstream }}?order={{ message.id }}&event={{ metadata.event.id }}&attempt={{ metadata.event.attempt }}&replica={{ globals.replica }}"
    to: vars.answer
  - object-store:
      operation: insert
      collection: consumed
      id: "{{ metadata.event.id }}"
      document: {order: "{{ message.id }}", replica: "{{ globals.replica }}"}
`

// upstreamCall is one call a consumer made to the test's upstream.
type upstreamCall struct {
	order, event, attempt, replica string
}

// TestFrozenReplicaRedeliversSameEventID (#20.9): a consumer replica is
// frozen (SIGSTOP) in the middle of an event, past --event-lease; the other
// replica runs the event again. Both runs see the same metadata.event.id
// (attempt 1, then 2), so the object-store insert keyed on it stores the
// event once: the thawed replica's insert gets 409.
func TestFrozenReplicaRedeliversSameEventID(t *testing.T) {
	c := newCluster(t)
	var (
		mu    sync.Mutex
		calls []upstreamCall
	)
	first := make(chan string, 1) // the replica that took the event first
	second := make(chan struct{})
	var secondOnce sync.Once
	release := make(chan struct{})
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		call := upstreamCall{q.Get("order"), q.Get("event"), q.Get("attempt"), q.Get("replica")}
		mu.Lock()
		calls = append(calls, call)
		n := len(calls)
		mu.Unlock()
		if n == 1 {
			first <- call.replica
			// Held until the test has seen the redelivery.
			select {
			case <-release:
			case <-r.Context().Done():
			}
		} else {
			secondOnce.Do(func() { close(second) })
		}
		io.WriteString(w, `{"ok":true}`)
	}))
	defer upstream.Close()
	pubDir, subDir := t.TempDir(), t.TempDir()
	os.WriteFile(filepath.Join(pubDir, "publish.yaml"), []byte(publishPipeline), 0o600)
	os.WriteFile(filepath.Join(subDir, "consume.yaml"), []byte(strings.Replace(idempotentConsumer, `upstream: ""`, `upstream: "`+upstream.URL+`"`, 1)), 0o600)
	pub := c.start("publisher", pubDir)
	consumers := map[string]*serveProc{"c1": c.start("c1", subDir, "--event-lease", "2s"), "c2": c.start("c2", subDir, "--event-lease", "2s")}
	st := c.openStore()

	publish(t, pub.base, `{"id":"o1"}`)
	var frozen string
	select {
	case frozen = <-first:
	case <-time.After(time.Minute):
		t.Fatal("no consumer took the event")
	}
	p := consumers[frozen]
	if err := p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	thawed := false
	thaw := func() {
		if !thawed {
			thawed = true
			p.cmd.Process.Signal(syscall.SIGCONT)
		}
	}
	defer thaw()
	// The lease (2 s) runs out while the replica is frozen: the other one
	// takes the event again.
	select {
	case <-second:
	case <-time.After(time.Minute):
		t.Fatal("the event of the frozen replica was not delivered again")
	}
	eventually(t, "the redelivered event stored", func() bool { return len(documents(t, st, "consumed")) == 1 })
	close(release)
	thaw()
	// The thawed replica finishes its run: its insert finds the document.
	eventually(t, "the thawed replica's run to fail on the duplicate", func() bool {
		return strings.Contains(p.log(), `"execution failed"`)
	})
	if !strings.Contains(p.log(), `"code":409`) {
		t.Errorf("the thawed replica's run failed other than with 409:\n%s", p.log())
	}

	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 2 {
		t.Fatalf("upstream called %d times, want 2 (a run and a redelivery): %+v", len(calls), calls)
	}
	a, b := calls[0], calls[1]
	if a.event == "" {
		t.Fatalf("metadata.event.id is empty: %+v", calls)
	}
	if a.event != b.event {
		t.Errorf("the redelivery saw metadata.event.id %q, the first run %q", b.event, a.event)
	}
	if a.replica == b.replica {
		t.Errorf("both runs on replica %s", a.replica)
	}
	if a.attempt != "1" || b.attempt != "2" {
		t.Errorf("metadata.event.attempt: %s then %s, want 1 then 2", a.attempt, b.attempt)
	}
	docs := documents(t, st, "consumed")
	if len(docs) != 1 {
		t.Errorf("%d documents for one event: %v", len(docs), docs)
	}
	t.Logf("event %s: attempt %s on %s (frozen), attempt %s on %s", a.event, a.attempt, a.replica, b.attempt, b.replica)
}
