package main_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nectar-run/nectar/internal/nettest"
)

// TestServeSilentPostgres starts `nectar serve` on a PostgreSQL address that
// accepts connections and never answers. It used to wait forever without a
// log line; now it says what it waits for and exits with an error once the
// DSN's connect_timeout has passed.
func TestServeSilentPostgres(t *testing.T) {
	bin := sharedNectar(t)
	addr := nettest.Silent(t)
	// The watchdog only keeps a regression from hanging the suite.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dir := t.TempDir()
	cmd := exec.CommandContext(ctx, bin, "serve", "--dir", dir, "--data-dir", dir, "--addr", "127.0.0.1:0",
		"--store", "postgres://nectar:hunter2@"+addr+"/nectar?sslmode=disable&connect_timeout=1")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("nectar serve still waiting after a minute:\n%s", out)
	}
	if err == nil {
		t.Fatalf("nectar serve exited 0:\n%s", out)
	}
	s := string(out)
	for _, want := range []string{"connecting to PostgreSQL", "connect_timeout", "no answer from " + addr + " within connect_timeout 1s"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "hunter2") {
		t.Errorf("output shows the password:\n%s", s)
	}
}
