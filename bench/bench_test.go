// Package bench_test measures nectar serve's HTTP path in process against the
// hand-written baseline handler on the same workload: the same ~1 KB record,
// the handlers called directly (no network), so that profiles show Nectar's
// own cost. run.sh measures both over the network with wrk.
package bench_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/nectar-run/nectar/bench/baseline"
	_ "github.com/nectar-run/nectar/connectors/all"
	"github.com/nectar-run/nectar/server"
	"github.com/nectar-run/nectar/store/bolt"
)

func record(b *testing.B) []byte {
	data, err := os.ReadFile("record.json")
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func run(b *testing.B, h http.Handler, body []byte) {
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	b.RunParallel(func(pb *testing.PB) {
		rd := bytes.NewReader(body)
		for pb.Next() {
			rd.Reset(body)
			req := httptest.NewRequest("POST", "/bench", rd)
			req.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != 200 {
				b.Fatalf("%d %s", w.Code, w.Body)
			}
		}
	})
}

func nectar(b *testing.B, history bool) http.Handler {
	st, err := bolt.Open(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	srv, err := server.New(context.Background(), server.Options{Dir: "pipelines", Store: st, HistoryOff: !history})
	if err != nil {
		b.Fatal(err)
	}
	srv.Start()
	b.Cleanup(func() {
		srv.Shutdown(context.Background())
		st.Close()
	})
	return srv.Handler()
}

func BenchmarkBaseline(b *testing.B) { run(b, baseline.Handler(), record(b)) }

func BenchmarkNectar(b *testing.B) {
	b.Run("history", func(b *testing.B) { run(b, nectar(b, true), record(b)) })
	b.Run("no-history", func(b *testing.B) { run(b, nectar(b, false), record(b)) })
}
