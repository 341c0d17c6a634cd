package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/consumers"
	"github.com/nectar-run/nectar/engine/enginetest"
	"github.com/nectar-run/nectar/server"
)

// TestLogLinesMaskConsumerCredentials: a consumer's real API key (nk_…)
// and Basic password, sent to an auth: [apikey, basic] trigger and repeated
// in the body, are masked in the execution's log lines as in its record.
func TestLogLinesMaskConsumerCredentials(t *testing.T) {
	logs := &enginetest.Log{}
	e := start(t, map[string]string{"secure.yaml": `
name: secure
trigger:
  http: {path: /secure, auth: [apikey, basic]}
steps:
  - log: {message: "got {{ message }}"}
  - set: {ok: true}
`}, func(o *server.Options) {
		o.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	ctx := context.Background()
	if _, err := e.cm.Create(ctx, consumers.Consumer{Name: "shop", Pipelines: []string{"secure"}}); err != nil {
		t.Fatal(err)
	}
	key, err := e.cm.AddKey(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	pwd, err := e.cm.AddBasic(ctx, "shop", "shop-user")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, secret string
		hdr          map[string]string
	}{
		{"consumer API key", key, map[string]string{"apikey": key}},
		{"consumer Basic password", pwd, map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte("shop-user:"+pwd))}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.hdr["Content-Type"] = "text/plain"
			code, h, body := e.do(t, "POST", "/secure", "my credential is "+c.secret, c.hdr)
			if code != 200 {
				t.Fatalf("status %d: %s", code, body)
			}
			b, _ := json.Marshal(e.record(t, h))
			if strings.Contains(string(b), c.secret) {
				t.Errorf("the record holds the credential in clear")
			}
			id := h.Get("X-Execution-Id")
			seen := false
			for _, line := range strings.Split(logs.String(), "\n") {
				if !strings.Contains(line, id) {
					continue
				}
				seen = seen || strings.Contains(line, "my credential is ***")
				if strings.Contains(line, c.secret) {
					t.Errorf("a log line of the execution holds the credential in clear: %s", line)
				}
			}
			if !seen {
				t.Errorf("no masked log line of execution %s: %s", id, logs.String())
			}
		})
	}
}
