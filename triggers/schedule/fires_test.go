package schedule_test

import (
	"strings"
	"testing"

	"github.com/nectar-run/nectar/internal/servertest"
)

// Moved from server/triggers_test.go.

func TestScheduleFires(t *testing.T) {
	servertest.Start(t, map[string]string{"tick.yaml": `
name: tick
trigger:
  schedule:
    cron: "* * * * * *"
    timezone: Europe/Paris
    input: {hello: world}
steps:
  - test-notify: {channel: schedule}
`}, nil)
	for i := range 2 {
		got := servertest.Receive(t, "schedule")
		msg, _ := got.Get("message")
		md, _ := got.Get("metadata")
		if s := servertest.MustJSON(msg); s != `{"hello":"world"}` {
			t.Fatalf("run %d: message %s", i, s)
		}
		if s := servertest.MustJSON(md); !strings.Contains(s, `"trigger":"schedule"`) || !strings.Contains(s, `"cron":"* * * * * *"`) {
			t.Fatalf("run %d: metadata %s", i, s)
		}
	}
}

func TestScheduleWithoutOverlapSkipsTicks(t *testing.T) {
	// A run that blocks until the test lets it go keeps later ticks from
	// starting: only one run is ever in progress.
	servertest.Start(t, map[string]string{"long.yaml": `
name: long
trigger:
  schedule: {cron: "* * * * * *", timeout: 1h}
steps:
  - test-notify: {channel: long-started}
  - test-notify: {channel: long-release}
`}, nil)
	servertest.Receive(t, "long-started")
	// While the first run waits on long-release (buffered: it goes through
	// at once), no second run may start before the first one ends; the
	// second start comes after the first release was consumed.
	servertest.Receive(t, "long-release")
	servertest.Receive(t, "long-started")
}
