package server_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/secret"
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
	e := start(t, map[string]string{"orders.yaml": `name: orders
trigger:
  http: {path: /orders, methods: [POST]}
steps:
  - rest: {url: "` + upstream.URL + `/orders", method: POST, account: ` + accountName + `}
`}, func(o *server.Options) {
		sealer, err := secret.NewSealer(secret.GenerateKey())
		if err != nil {
			t.Fatal(err)
		}
		am := accounts.NewManager(o.Store, sealer, accounts.WithLogger(quietLogger()))
		if err := am.Put(context.Background(), &accounts.Account{Name: accountName, Type: accounts.TypeClientCredentials,
			TokenURL: tokenSrv.URL + "/oauth/token", ClientID: "nectar", ClientSecret: secret.New("client-secret-value-123"),
			AllowedHosts: []string{"127.0.0.1"}}); err != nil {
			t.Fatal(err)
		}
		o.Runtime = &engine.Runtime{}
		accounts.Install(o.Runtime, am)
	})

	code, hdr, raw := e.do(t, "POST", "/orders", `{"id":1}`, map[string]string{"Content-Type": "application/json"})
	var body map[string]any
	json.Unmarshal([]byte(raw), &body)
	id := hdr.Get("X-Execution-Id")
	if code != http.StatusBadGateway {
		t.Errorf("status %d, want 502: %s", code, raw)
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
		if strings.Contains(raw, leak) {
			t.Errorf("the caller's answer shows %q: %s", leak, raw)
		}
	}
	// The record keeps the detail.
	b, _ := json.Marshal(e.record(t, hdr))
	for _, want := range []string{accountName, "token endpoint answered 500"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the execution record lacks %q: %s", want, b)
		}
	}
}
