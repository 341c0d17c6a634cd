package wait_test

import (
	"context"
	"testing"
	"time"

	"github.com/nectar-run/nectar/internal/wait"
)

func TestSleep(t *testing.T) {
	if !wait.Sleep(context.Background(), 0) || !wait.Sleep(context.Background(), time.Nanosecond) {
		t.Fatal("a live context is reported done")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if wait.Sleep(ctx, time.Hour) || wait.Sleep(ctx, 0) {
		t.Fatal("a done context is reported live")
	}
}
