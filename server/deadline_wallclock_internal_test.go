package server

import (
	"io"
	"testing"
	"time"
)

// TestFutureWallClockDeadlineAfterTheClockWentBack: the wall clock was set
// back (an hour) after the process started. A deadline ten seconds ahead
// that carries no monotonic reading (time.Date, time.Unix, a time that went
// through Round(0) or UTC()) is then, by the wall clock, before the process
// started; the runtime compares it with now and waits ten seconds. So must
// the limited connection: a read under it gets the data sent a moment
// later, not an immediate timeout. Before, pastDeadline judged it passed
// and the read failed at once.
func TestFutureWallClockDeadlineAfterTheClockWentBack(t *testing.T) {
	saved := processStart
	processStart = time.Now().Add(time.Hour) // the clock went back an hour since
	t.Cleanup(func() { processStart = saved })

	ahead := time.Now().Add(10 * time.Second).Round(0) // wall clock only
	if pastDeadline(ahead) {
		t.Errorf("pastDeadline(%v) with the clock set back: true, want false (it is ten seconds ahead)", ahead)
	}
	for _, past := range []time.Time{time.Unix(1, 0), time.Unix(0, 0)} {
		if !pastDeadline(past) {
			t.Errorf("pastDeadline(%v): false, want true", past)
		}
	}

	c, client := LimitedPair(t)
	for _, set := range []func(time.Time) error{c.SetReadDeadline, c.SetDeadline} {
		if err := set(ahead); err != nil {
			t.Fatal(err)
		}
		go func() {
			time.Sleep(20 * time.Millisecond) // not a measure: the read waits first
			client.Write([]byte("data"))
		}()
		buf := make([]byte, 4)
		if n, err := io.ReadFull(c, buf); err != nil || string(buf[:n]) != "data" {
			t.Fatalf("a read under a deadline ten seconds ahead (wall clock only): %q, %v; want the data", buf[:n], err)
		}
	}
	if err := c.SetWriteDeadline(ahead); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatalf("a write under a deadline ten seconds ahead (wall clock only): %v", err)
	}
}
