package oauth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/bench/oauth"
	_ "github.com/nectar-run/nectar/connectors/all"
	"github.com/nectar-run/nectar/connectors/objectstore"
	"github.com/nectar-run/nectar/consumers"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/pipelines"
	"github.com/nectar-run/nectar/secret"
	"github.com/nectar-run/nectar/server"
	"github.com/nectar-run/nectar/store/bolt"
)

const (
	clientID     = "bench-client"
	clientSecret = "bench-secret-0123456789abcdefghijklmnopqrstuv"
)

// nectarHandler serves the shipped pipelines as nectar serve does, with one
// client seeded in the store, and returns its handler.
func nectarHandler(tb testing.TB, history bool) http.Handler {
	tb.Helper()
	st, err := bolt.Open(tb.TempDir(), bolt.WithNoSync())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	ctx := context.Background()
	if err := oauth.SeedClient(ctx, st, clientID, clientSecret, "profile"); err != nil {
		tb.Fatal(err)
	}
	sealer, err := secret.NewSealer(secret.GenerateKey())
	if err != nil {
		tb.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelWarn}))
	rt := &engine.Runtime{Logger: log}
	accounts.Install(rt, accounts.NewManager(st, sealer, accounts.WithLogger(log)))
	objectstore.Install(rt, st)
	pipelines.InstallKeys(rt)
	cm, err := consumers.New(ctx, st)
	if err != nil {
		tb.Fatal(err)
	}
	srv, err := server.New(ctx, server.Options{Shipped: pipelines.FS, Runtime: rt, Store: st, Consumers: cm, HistoryOff: !history, AdminKey: "admin", Logger: log})
	if err != nil {
		tb.Fatal(err)
	}
	srv.Start()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	return srv.Handler()
}

func baselineHandler(tb testing.TB) http.Handler {
	tb.Helper()
	st, err := bolt.Open(tb.TempDir(), bolt.WithNoSync())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	if err := oauth.SeedClient(context.Background(), st, clientID, clientSecret, "profile"); err != nil {
		tb.Fatal(err)
	}
	key := func(n int) []byte { return []byte(strings.Repeat("k", n)) }
	return &oauth.Server{Store: st, AccessKey: key(64), RefreshKey: key(86), Issuer: "nectar", Lifetime: time.Hour, RefreshFor: 30 * 24 * time.Hour}
}

var (
	form  = url.Values{"grant_type": {"client_credentials"}}.Encode()
	basic = "Basic " + base64.StdEncoding.EncodeToString([]byte(clientID+":"+clientSecret))
)

var bodyForm = url.Values{"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {clientSecret}}.Encode()

func tokenRequest(h http.Handler) *httptest.ResponseRecorder { return tokenRequestAuth(h, true) }

// tokenRequestAuth sends the client credentials in HTTP Basic, or in the
// form body.
func tokenRequestAuth(h http.Handler, inBasic bool) *httptest.ResponseRecorder {
	body := bodyForm
	if inBasic {
		body = form
	}
	req := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if inBasic {
		req.Header.Set("Authorization", basic)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// TestSameAnswers: the baseline answers what the pipeline answers, so the
// benchmark compares equal work.
func TestSameAnswers(t *testing.T) {
	for name, h := range map[string]http.Handler{"pipeline": nectarHandler(t, false), "baseline": baselineHandler(t)} {
		w := tokenRequest(h)
		if w.Code != 200 || w.Header().Get("Cache-Control") != "no-store" {
			t.Fatalf("%s: %d %v %s", name, w.Code, w.Header(), w.Body)
		}
		var m map[string]any
		if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		if len(m) != 5 || m["token_type"] != "Bearer" || m["scope"] != "profile" || m["expires_in"] != float64(3600) {
			t.Errorf("%s: %s", name, w.Body)
		}
	}
}

// BenchmarkClientCredentials issues a token pair for a client authenticated
// with HTTP Basic: the shipped oauth-token pipeline behind nectar serve's
// handler (with and without execution history) next to the hand-written
// handler doing the same checks and signing, in the same run, in-process;
// client credentials in HTTP Basic, then in the form body.
func BenchmarkClientCredentials(b *testing.B) {
	base, withHistory, noHistory := baselineHandler(b), nectarHandler(b, true), nectarHandler(b, false)
	for _, bc := range []struct {
		name  string
		h     http.Handler
		basic bool
	}{
		{"basic/baseline", base, true},
		{"basic/pipeline", withHistory, true},
		{"basic/pipeline-no-history", noHistory, true},
		{"body/baseline", base, false},
		{"body/pipeline", withHistory, false},
		{"body/pipeline-no-history", noHistory, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			if w := tokenRequestAuth(bc.h, bc.basic); w.Code != 200 {
				b.Fatalf("%d %s", w.Code, w.Body)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if w := tokenRequestAuth(bc.h, bc.basic); w.Code != 200 {
					b.Fatalf("%d %s", w.Code, w.Body)
				}
			}
		})
	}
}
