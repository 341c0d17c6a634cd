package main_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestServeHealthAddr: nectar serve with --health-addr (here through
// NECTAR_HEALTH_ADDR) serves GET /healthz and /readyz on that second
// address, and nothing else there.
func TestServeHealthAddr(t *testing.T) {
	bin := buildNectar(t)
	p := startServe(t, bin, t.TempDir(), t.TempDir(), "NECTAR_HEALTH_ADDR=127.0.0.1:0", "NECTAR_ADMIN_KEY=admin-key-0123456789")
	var health string
	for _, line := range strings.Split(p.log(), "\n") {
		var l struct {
			Msg  string `json:"msg"`
			Addr string `json:"health_addr"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.Addr != "" {
			health = "http://" + l.Addr
		}
	}
	if health == "" {
		t.Fatalf("no health_addr in the log:\n%s", p.log())
	}
	for _, c := range []struct {
		path string
		code int
	}{{"/healthz", 200}, {"/readyz", 200}, {"/api/pipelines", 404}, {"/metrics", 404}} {
		resp, err := http.Get(health + c.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.code {
			t.Errorf("%s on the health address: %d %s, want %d", c.path, resp.StatusCode, b, c.code)
		}
	}
}
