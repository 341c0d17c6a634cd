package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/nectar-run/nectar/history"
)

// TestExecutionsListAllWhileServing: nectar executions list --all through
// a running nectar serve whose history grows while it pages (a client
// runs a pipeline without pause until the listing is done): the listing
// ends, lists no execution twice, and lists every execution recorded
// before it began.
func TestExecutionsListAllWhileServing(t *testing.T) {
	data, ids := overlappingDataDir(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "fast.yaml"), []byte(`name: fast
trigger:
  http: {path: /fast}
steps:
  - set: {fields: {ok: true}}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	base, logs := serveBinary(t, dir, data)
	post := func() {
		resp, err := http.Post(base+"/fast", "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Error(err)
			return
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("POST /fast: %d\n%s", resp.StatusCode, logs())
		}
	}
	for range 10 {
		post()
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var during atomic.Int64
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			post()
			during.Add(1)
		}
	})
	out, errOut, code := nectar(t, "", "--data-dir="+data, "executions", "list", "--json", "--limit", "2", "--all")
	close(stop)
	wg.Wait()
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	var recs []*history.Record
	if err := json.Unmarshal([]byte(out), &recs); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, rec := range recs {
		if seen[rec.ID]++; seen[rec.ID] > 1 {
			t.Fatalf("%s listed twice", rec.ID)
		}
	}
	for _, id := range ids {
		if seen[id] != 1 {
			t.Fatalf("%s, recorded before, listed %d times", id, seen[id])
		}
	}
	t.Logf("%d listed; %d executions ran while it paged", len(recs), during.Load())
}
