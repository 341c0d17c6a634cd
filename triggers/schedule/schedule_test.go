package schedule_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/enginetest"
	"github.com/nectar-run/nectar/internal/servertest"
	"github.com/nectar-run/nectar/server"
)

// serve serves one pipeline file with a real server (no store: every tick
// is claimed) and returns it with its log.
func serve(t *testing.T, name, src string) (*server.Server, *enginetest.Log) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	logger, log := enginetest.CaptureLog(slog.LevelInfo)
	srv, err := server.New(context.Background(), server.Options{Dir: dir, HistoryOff: true, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return srv, log
}

func skippedTicks(t *testing.T, srv *server.Server, pipeline string) int64 {
	t.Helper()
	for _, p := range srv.Pipelines() {
		if p.Name == pipeline {
			n, _ := p.Trigger["skipped_ticks"].(int64)
			return n
		}
	}
	t.Fatalf("pipeline %s is not served", pipeline)
	return 0
}

// TestTickWhileRunningIsSkipped: a schedule firing every second whose run
// lasts until the test releases it. The ticks that come meanwhile are
// skipped (counted in the trigger's description, logged), and no second
// run starts while the first one runs. Without the no-overlap guard a
// second run starts at the next tick and nothing is skipped.
func TestTickWhileRunningIsSkipped(t *testing.T) {
	h := servertest.Hold(t, "overlap")
	srv, log := serve(t, "long.yaml", `
name: long
trigger:
  schedule: {cron: "* * * * * *", timeout: 1h}
steps:
  - test-hold: {name: overlap}
`)
	<-h.Started
	deadline := time.Now().Add(30 * time.Second) // a hang, not a timing assertion
	for skippedTicks(t, srv, "long") == 0 {
		select {
		case <-h.Started:
			t.Fatal("a second run started while the first one was running")
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no tick was skipped while the run was in progress")
		}
	}
	select {
	case <-h.Started:
		t.Fatal("a second run started while the first one was running")
	default:
	}
	if !strings.Contains(log.String(), "schedule tick skipped: the previous run is still running") {
		t.Errorf("the skipped tick is not logged:\n%s", log.String())
	}
	close(h.Release) // the first run ends; later ticks run again
	<-h.Started
}

// TestScheduleProblemsAtTheirOptions: each problem of a schedule trigger is
// reported at its own option.
func TestScheduleProblemsAtTheirOptions(t *testing.T) {
	src := "name: a\ntrigger:\n  schedule:\n    cron: \"bad cron\"\n    timezone: Mars/Olympus\n    timeout: 0s\nsteps:\n  - set: {a: 1}\n"
	_, err := engine.Load("f.yaml", []byte(src), engine.LoadOptions{})
	var got []string
	for _, le := range engine.LoadErrors(err) {
		got = append(got, le.Error())
	}
	want := []string{
		`f.yaml:4:11: trigger.schedule.cron: expected 5 to 6 fields, found 2: [bad cron]`,
		`f.yaml:5:15: trigger.schedule.timezone: unknown time zone "Mars/Olympus"`,
		`f.yaml:6:14: trigger.schedule.timeout: must be above 0`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestExample serves example.yaml: its description gives the cron and the
// next run, at 02:30 in Paris.
func TestExample(t *testing.T) {
	src, err := os.ReadFile("example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := serve(t, "example.yaml", string(src))
	ps := srv.Pipelines()
	if len(ps) != 1 || ps[0].Trigger["kind"] != "schedule" || ps[0].Trigger["cron"] != "0 30 2 * * *" {
		t.Fatalf("served: %+v", ps)
	}
	next, _ := ps[0].Trigger["next_run"].(time.Time)
	paris, _ := time.LoadLocation("Europe/Paris")
	if p := next.In(paris); p.Hour() != 2 || p.Minute() != 30 || !next.After(time.Now()) {
		t.Errorf("next run %s (%s in Paris)", next, p)
	}
}
