package history

import (
	"fmt"
	"testing"
	"time"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

// BenchmarkAppendRecord measures encoding one record of the shape of a
// token request (16 steps, the input's text kept, an output with two
// tokens to mask) into a segment, on one goroutine: what the recorder does
// per execution before compression and the store, without the timing of
// batches (which makes whole-recorder instruction counts move).
func BenchmarkAppendRecord(b *testing.B) {
	r := &Recorder{opts: Options{SnapshotBytes: 32 << 10, StepBytes: 4 << 10, StepRecordBytes: 32 << 10, ExchangeBytes: 8 << 10}}
	const in = `{"grant_type":"client_credentials"}`
	inV, _ := value.DecodeString(in)
	out, _ := value.DecodeString(`{"access_token":"eyJhbGciOiJIUzI1NiJ9.e30.x","token_type":"Bearer","expires_in":3600,"refresh_token":"eyJhbGciOiJIUzUxMiJ9.e30.y","scope":"profile"}`)
	infos := make([]*engine.StepInfo, 16)
	for i := range infos {
		infos[i] = &engine.StepInfo{Step: fmt.Sprintf("step %d", i), Path: fmt.Sprintf("steps[%d]", i), Connector: "set"}
	}
	start := time.Now() // with a monotonic reading, as the server's
	tr := &engine.Trace{}
	for i, info := range infos {
		tr.Steps = append(tr.Steps, engine.StepRecord{StepInfo: info, Start: start.Add(time.Duration(i) * 37 * time.Microsecond),
			Duration: time.Duration(i) * 11 * time.Microsecond, Outcome: "ok"})
	}
	e := &Execution{ID: "019af1c2d3e4a1b2c3d4e5f6", Pipeline: &engine.Pipeline{Name: "oauth-token"}, Trigger: "http", Start: start,
		End: start.Add(812 * time.Microsecond), Input: inV, InputJSON: in, Output: out, Trace: tr, Request: "POST /oauth/token", Code: 200}
	secrets := []string{"admin-key-0123456789", "account-secret-abcdef"}
	buf := make([]byte, 0, 1<<20)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%256 == 0 {
			buf = buf[:0]
			r.table.reset()
		}
		buf = r.appendRecord(append(buf, ','), e, secrets)
	}
}
