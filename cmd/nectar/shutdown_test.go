package main_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nectar-run/nectar/history"
)

const shutdownConsumer = `name: consume
globals: {replica: none, upstream: ""}
trigger:
  event: {name: orders.created, concurrency: 2}
steps:
  - rest:
      url: "{{ globals.upstream }}/order?order={{ message.id }}&exec={{ metadata.execution_id }}&replica={{ globals.replica }}"
    to: vars.answer
  - object-store:
      operation: insert
      collection: consumed
      id: "{{ message.id }}"
      document: {order: "{{ message.id }}", replica: "{{ globals.replica }}"}
`

const shutdownSlow = `name: slow
globals: {replica: none, upstream: ""}
trigger:
  http: {path: /slow, methods: [POST], timeout: 120s}
steps:
  - rest:
      url: "{{ globals.upstream }}/slow?exec={{ metadata.execution_id }}&replica={{ globals.replica }}"
      read_timeout: 120s
`

// TestShutdownUnderLoad (#20.4): two replicas on one PostgreSQL database
// serve a publishing route, an event consumer and a slow route; events are
// published continuously on both. The victim's two consumer slots are held
// busy by the upstream and a request of the slow route is running on it
// when it gets SIGTERM. Then its held events are released.
//
// Before, the replica kept claiming events while its HTTP server drained
// (the slow request held the drain for the whole --shutdown-timeout),
// cancelled them at the deadline, and the other replica ran them again;
// the slow request used the whole budget, so the history was not flushed
// and the process exited 1. Now: no event starts on the victim after
// SIGTERM, every event runs once (one upstream call per order), the slow
// request is cancelled at the end of the drain and recorded, every
// execution of the victim is in the store, and the process exits 0.
func TestShutdownUnderLoad(t *testing.T) {
	c := newCluster(t)
	const victim = "r1"
	var (
		mu            sync.Mutex
		calls         = map[string][]string{} // order → replicas that called for it
		victimExecs   []string                // executions of the victim, by their id
		afterRelease  []string                // orders started on the victim after SIGTERM
		holding       bool                    // the victim's calls are held from now on
		released      bool
		heldOnVictim  = make(chan struct{}, 16)
		slowStarted   = make(chan struct{}, 1)
		release       = make(chan struct{})
		releaseOnce   sync.Once
		releaseEvents = func() { releaseOnce.Do(func() { close(release) }) }
	)
	defer releaseEvents()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		replica, exec := q.Get("replica"), q.Get("exec")
		if r.URL.Path == "/slow" {
			mu.Lock()
			victimExecs = append(victimExecs, exec)
			mu.Unlock()
			slowStarted <- struct{}{}
			<-r.Context().Done() // uses the whole budget: answers only when cancelled
			return
		}
		order := q.Get("order")
		mu.Lock()
		calls[order] = append(calls[order], replica)
		hold := replica == victim && holding && !released
		if replica == victim {
			victimExecs = append(victimExecs, exec)
			if released {
				afterRelease = append(afterRelease, order)
			}
		}
		mu.Unlock()
		if hold {
			heldOnVictim <- struct{}{}
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		io.WriteString(w, `{"ok":true}`)
	}))
	defer upstream.Close()

	dir := t.TempDir()
	withUpstream := func(src string) []byte {
		return []byte(strings.Replace(src, `upstream: ""`, `upstream: "`+upstream.URL+`"`, 1))
	}
	os.WriteFile(filepath.Join(dir, "publish.yaml"), []byte(publishPipeline), 0o600)
	os.WriteFile(filepath.Join(dir, "consume.yaml"), withUpstream(shutdownConsumer), 0o600)
	os.WriteFile(filepath.Join(dir, "slow.yaml"), withUpstream(shutdownSlow), 0o600)
	replicas := []*serveProc{c.start("r1", dir), c.start("r2", dir)}
	p := replicas[0]
	st := c.openStore()

	// Publish continuously on both replicas.
	var (
		acked     []string
		published atomic.Int64
		wg        sync.WaitGroup
	)
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			target := replicas[i%2]
			id := fmt.Sprintf("o%d", i)
			req, _ := http.NewRequest(http.MethodPost, target.base+"/orders", strings.NewReader(`{"id":"`+id+`"}`))
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				continue // the victim stopped listening
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				continue
			}
			published.Add(1)
			mu.Lock()
			acked = append(acked, id)
			if target == p {
				victimExecs = append(victimExecs, resp.Header.Get("X-Execution-Id"))
			}
			mu.Unlock()
		}
	}()
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}()

	// The victim runs events for a while; then its two consumer slots are
	// held busy, and a slow request runs.
	eventually(t, "events run on the victim", func() bool {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, by := range calls {
			if by[0] == victim {
				n++
			}
		}
		holding = n >= 30
		return holding
	})
	for range 2 {
		select {
		case <-heldOnVictim:
		case <-time.After(time.Minute):
			t.Fatalf("the victim took no event:\n%s", p.log())
		}
	}
	slowDone := make(chan struct{})
	var slowCode int
	go func() {
		defer close(slowDone)
		req, _ := http.NewRequest(http.MethodPost, p.base+"/slow", strings.NewReader(`{}`))
		req.Header.Set("Content-Type", "application/json")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			slowCode = resp.StatusCode
		}
	}()
	select {
	case <-slowStarted:
	case <-time.After(time.Minute):
		t.Fatalf("the slow request did not start:\n%s", p.log())
	}
	waitForLog := func(msg string, within time.Duration) bool {
		deadline := time.Now().Add(within)
		for !strings.Contains(p.log(), `"msg":"`+msg+`"`) {
			if time.Now().After(deadline) {
				return false
			}
			time.Sleep(10 * time.Millisecond)
		}
		return true
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The replica logs "shutting down" once it has stopped taking events
	// and schedules: from then on a freed slot must not take an event.
	if !waitForLog("shutting down", time.Minute) {
		t.Fatalf("no shutdown after SIGTERM:\n%s", p.log())
	}
	mu.Lock()
	released = true
	mu.Unlock()
	releaseEvents()

	exited := make(chan error, 1)
	go func() { exited <- p.cmd.Wait() }()
	select {
	case err := <-exited:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Errorf("the replica exited %d after SIGTERM, want 0", ee.ExitCode())
		} else if err != nil {
			t.Error(err)
		}
	case <-time.After(time.Minute):
		t.Fatalf("the replica did not exit after SIGTERM:\n%s", p.log())
	}
	<-slowDone

	// A few more events on the survivor, then every acknowledged event must
	// have been consumed.
	n := published.Load()
	eventually(t, "more events published on the survivor", func() bool { return published.Load() >= n+20 })
	close(stop)
	wg.Wait()
	mu.Lock()
	want := len(acked)
	mu.Unlock()
	eventually(t, "every acknowledged event consumed", func() bool { return len(documents(t, st, "consumed")) >= want })

	mu.Lock()
	defer mu.Unlock()
	if len(afterRelease) > 0 {
		t.Errorf("%d events started on the victim after SIGTERM: %v", len(afterRelease), afterRelease)
	}
	twice := 0
	onVictim := 0
	for order, by := range calls {
		if len(by) > 1 {
			twice++
			t.Errorf("event %s ran %d times, on %v", order, len(by), by)
		}
		if by[0] == victim {
			onVictim++
		}
	}
	for _, msg := range []string{"shutdown incomplete", "execution not recorded", "records dropped"} {
		if strings.Contains(p.log(), msg) {
			t.Errorf("the victim logged %q:\n%s", msg, p.log())
		}
	}
	// Every execution of the victim is in the store: the publishing
	// requests it answered, the events it ran, and the slow request it cut.
	ctx := context.Background()
	missing := 0
	var slow *history.Record
	for _, id := range victimExecs {
		rec, err := history.Get(ctx, st, id)
		if err != nil {
			missing++
			t.Errorf("execution %s of the victim is not in the history: %v", id, err)
			continue
		}
		if rec.Pipeline == "slow" {
			slow = rec
		}
	}
	if slow == nil {
		t.Errorf("the slow request's execution is not in the history")
	} else if slow.Status != "failed" || slow.Code != http.StatusServiceUnavailable {
		t.Errorf("the slow request cut by the shutdown is recorded %s %d, want failed 503", slow.Status, slow.Code)
	}
	if slowCode != http.StatusServiceUnavailable {
		t.Errorf("the slow request cut by the shutdown was answered %d, want 503", slowCode)
	}
	t.Logf("%d events acknowledged, %d consumed (%d on the victim, %d twice); %d executions of the victim recorded (%d missing)",
		want, len(calls), onVictim, twice, len(victimExecs)-missing, missing)
}
