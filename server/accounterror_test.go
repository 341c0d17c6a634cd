package server_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/consumers"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/secret"
	"github.com/nectar-run/nectar/engine/store/bolt"
	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/server"
)

// TestAccountFailureAnswersGenerically (#19.11): an unauthenticated HTTP
// trigger whose rest step uses a client-credentials account; the account's
// token endpoint (a loopback server) answers 500. The caller used to get
// the account error itself: the token endpoint's URL (host and port), the
// account's name. Now it gets a generic 502 naming the execution, and the
// execution record keeps the detail.
func TestAccountFailureAnswersGenerically(t *testing.T) {
	tokenSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "token service exploded", http.StatusInternalServerError)
	}))
	defer tokenSrv.Close()
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"ok":true}`))
	}))
	defer upstream.Close()
	const accountName = "partner-erp-prod"
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "orders.yaml"), []byte(`name: orders
trigger:
  http: {path: /orders, methods: [POST]}
steps:
  - rest: {url: "`+upstream.URL+`/orders", method: POST, account: `+accountName+`}
`), 0o600)
	st, err := bolt.Open(t.TempDir(), bolt.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sealer, err := secret.NewSealer(secret.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	am := accounts.NewManager(st, sealer, accounts.WithLogger(quietLogger()))
	if err := am.Put(ctx, &accounts.Account{Name: accountName, Type: accounts.TypeClientCredentials,
		TokenURL: tokenSrv.URL + "/oauth/token", ClientID: "nectar", ClientSecret: secret.New("client-secret-value-123"),
		AllowedHosts: []string{"127.0.0.1"}}); err != nil {
		t.Fatal(err)
	}
	rt := &engine.Runtime{}
	accounts.Install(rt, am)
	cm, err := consumers.New(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(ctx, server.Options{Dir: dir, Runtime: rt, Store: st, Consumers: cm, AdminKey: "admin-key", Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()

	resp, err := hs.Client().Post(hs.URL+"/orders", "application/json", strings.NewReader(`{"id":1}`))
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	raw := new(strings.Builder)
	json.NewDecoder(teeReader(resp.Body, raw)).Decode(&body)
	resp.Body.Close()
	id := resp.Header.Get("X-Execution-Id")
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("status %d, want 502: %s", resp.StatusCode, raw)
	}
	if want := "an account used by this pipeline failed; see execution " + id; body["error"] != want {
		t.Errorf("error %q, want %q", body["error"], want)
	}
	if body["execution_id"] != id {
		t.Errorf("execution_id %v, want %s", body["execution_id"], id)
	}
	u, _ := url.Parse(tokenSrv.URL)
	host, port, _ := net.SplitHostPort(u.Host)
	for _, leak := range []string{tokenSrv.URL, u.Host, host, ":" + port, "/oauth/token", accountName, "token endpoint", "exploded"} {
		if strings.Contains(raw.String(), leak) {
			t.Errorf("the caller's answer shows %q: %s", leak, raw)
		}
	}
	// The record keeps the detail.
	if err := srv.History().Flush(ctx); err != nil {
		t.Fatal(err)
	}
	rec, err := history.Get(ctx, st, id)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(rec)
	for _, want := range []string{accountName, "token endpoint answered 500"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the execution record lacks %q: %s", want, b)
		}
	}
}

type tee struct {
	r interface{ Read([]byte) (int, error) }
	w *strings.Builder
}

func (t tee) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.w.Write(p[:n])
	return n, err
}

func teeReader(r interface{ Read([]byte) (int, error) }, w *strings.Builder) tee { return tee{r, w} }
