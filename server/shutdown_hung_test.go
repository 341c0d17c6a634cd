package server_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nectar-run/nectar/server"
	"github.com/nectar-run/nectar/store/bolt"
	"github.com/nectar-run/nectar/store/storetest"
)

// TestShutdownOnAHungStore: a burst's records are held for a shared commit
// (the history is busy) when the store hangs, and the server shuts down
// with one second. Shutdown ends with its second, an error saying the
// history was not flushed. Before, the history's Close waited for the held
// write past the shutdown's time: writeTimeout (10 s) more for a store that
// heeds its context, without bound for one that does not (here: until the
// store is let go after a minute). A synctest bubble: the durations are
// its clock's; requests go to the server's handler in process.
func TestShutdownOnAHungStore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "p.yaml"), []byte("name: p\ntrigger:\n  http: {path: /p, methods: [POST]}\nsteps:\n  - set: {ok: true}\n"), 0o600)
		st, err := bolt.Open(t.TempDir(), bolt.WithNoSync())
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		hs := storetest.NewHung(st)
		defer hs.Release()
		ctx := context.Background()
		srv, err := server.New(ctx, server.Options{Dir: dir, Store: hs, Logger: quietLogger()})
		if err != nil {
			t.Fatal(err)
		}
		srv.Start()
		h := srv.Handler()
		var wg sync.WaitGroup
		for range 200 {
			wg.Go(func() {
				rec := httptest.NewRecorder()
				req := httptest.NewRequest("POST", "/p", strings.NewReader(`{}`))
				req.Header.Set("Content-Type", "application/json")
				h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					t.Errorf("POST /p: %d %s", rec.Code, rec.Body)
				}
			})
		}
		wg.Wait()
		time.Sleep(30 * time.Millisecond) // the history's linger ends: the burst is held
		synctest.Wait()
		hs.Hang()
		done := make(chan struct{})
		defer close(done)
		go func() { // a hang that never ends would leave the bubble stuck
			select {
			case <-time.After(time.Minute):
				hs.Release()
			case <-done:
			}
		}()
		sctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		start := time.Now()
		err = srv.Shutdown(sctx)
		if took := time.Since(start); err == nil || took > time.Second {
			t.Errorf("Shutdown on a hung store: %v after %v, want an error within its second", err, took)
		}
	})
}
