package history

import (
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

// recordsTextSum is the SHA-256 of the text appendRecord wrote for
// sameTextExecutions at a582c92, before the fourth speed round rewrote
// how steps, times and fixed fields are written and how keys are looked
// up: the rewrites write the same bytes. A change of the stored form
// changes it on purpose (print the sum anew).
const recordsTextSum = "481566793e2b81644ca98270f675fdc65300984aac0923b0377eec1f89da13ff"

// TestRecordTextUnchanged writes 400 records of varied shapes — masked
// and clean inputs and outputs (text copied or encoded), steps with every
// outcome, negative offsets, long durations, retries and errors holding a
// secret, four pipelines (one with sensitive_fields, names needing
// escapes), three triggers, a consumer now and then, failed executions,
// times across a second's end — and compares their text with the sum of
// the text written before the rewrites.
func TestRecordTextUnchanged(t *testing.T) {
	r := &Recorder{opts: Options{SnapshotBytes: 32 << 10, StepBytes: 4 << 10, StepRecordBytes: 32 << 10, ExchangeBytes: 8 << 10}}
	in, _ := value.DecodeString(`{"client_id":"bench-client","client_secret":"bench-secret-0123456789","grant_type":"client_credentials","nested":{"token":"abcdefghijkl","x":"abcdefghijkl!"},"created_at":"x","credit_limit":3}`)
	out, _ := value.DecodeString(`{"access_token":"eyJhbGciOiJIUzI1NiJ9.e30.x","token_type":"Bearer","expires_in":3600,"refresh_token":"eyJhbGciOiJIUzUxMiJ9.e30.y","scope":"profile bench-secret-0123456789"}`)
	plainIn := `{"id":"c-1","name":"x","created_at":"2023","credit_limit":5,"tags":["a","b"],"o":{"k":1}}`
	pin, _ := value.DecodeString(plainIn)
	infos := []*engine.StepInfo{{Step: "a", Path: "steps[0]", Connector: "set"}, {Step: "b \"q\"", Path: "steps[1]", Connector: "rest"}, {Step: "c", Path: "steps[2]", Connector: "pipeline", Pipeline: "called"}}
	base := time.Date(2026, 12, 7, 1, 59, 59, 999_000_000, time.UTC)
	outcomes := []string{"ok", "skipped", "error", "continued", "weird \"one\""}
	pipes := []*engine.Pipeline{{Name: "oauth-token"}, {Name: "bench-transform"}, {Name: "sens", SensitiveFields: []string{"name"}}, {Name: "other \"n\""}}
	triggers := []string{"http", "schedule", "event"}
	var buf []byte
	h := sha256.New()
	for i := range 400 {
		start := base.Add(time.Duration(i) * 7919 * time.Microsecond)
		tr := &engine.Trace{}
		for j := range i % 5 {
			off := time.Duration(j*j*j*j*37+i) * time.Microsecond
			if i%13 == 0 {
				off = -off
			}
			tr.Steps = append(tr.Steps, engine.StepRecord{StepInfo: infos[j%3], Start: start.Add(off), Duration: time.Duration(i*j*i*31) * time.Microsecond,
				Outcome: outcomes[(i+j)%5], Attempts: (i + j) % 3, Error: map[bool]string{true: "failed bench-secret-0123456789"}[j == 2]})
		}
		e := &Execution{ID: NewID(start)[:12] + fmt.Sprintf("%012x", i), Pipeline: pipes[i%4], Trigger: triggers[i%3], Start: start,
			End: start.Add(time.Duration(i*i*13) * time.Microsecond), Trace: tr, Request: "POST /oauth/token", Code: []int{0, 200, 201}[i%3],
			Secrets: []string{"admin-key-0123456789"}}
		if i%7 == 3 {
			e.Consumer = "cons"
		}
		if i%2 == 0 {
			e.Input, e.Output = in, out
		} else {
			e.Input, e.InputJSON, e.Output, e.OutputJSON = pin, plainIn, pin, plainIn
		}
		if i%11 == 5 {
			e.Err = &engine.Error{Code: 502, Message: "upstream said bench-secret-0123456789"}
		}
		if i%64 == 0 {
			r.table.reset()
		}
		buf = r.appendRecord(buf[:0], e, []string{"account-secret-abcdef"})
		h.Write(buf)
	}
	if sum := fmt.Sprintf("%x", h.Sum(nil)); sum != recordsTextSum {
		t.Errorf("the records' text changed: sum %s, want %s", sum, recordsTextSum)
	}
}
