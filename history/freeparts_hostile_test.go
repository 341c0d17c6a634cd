package history

import (
	"strings"
	"testing"
	"time"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

// TestSharedObjectAcrossRecordsOfABatch: one object in the messages of two
// records of a batch (a global of the environment, decoded once, that two
// pipelines return), the first pipeline without sensitive names, the
// second naming a key of that object in its sensitive_fields. The first
// record finds the object clean of its own names; the second must still
// mask the key by its own names, in its input and output, whatever the
// first record noted (masker.free holds notes of one record only).
func TestSharedObjectAcrossRecordsOfABatch(t *testing.T) {
	dec := func(s string) any {
		v, err := value.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	shared := dec(`{"pin":"pin-value-0042","note":"n"}`)
	msg := func(keys ...string) (any, string) {
		o := value.NewObject(len(keys))
		for _, k := range keys {
			o.Set(k, shared)
		}
		raw, err := value.AppendJSON(nil, o)
		if err != nil {
			t.Fatal(err)
		}
		return o, string(raw)
	}
	r := &Recorder{opts: Options{SnapshotBytes: 32 << 10, StepBytes: 4 << 10, StepRecordBytes: 32 << 10, ExchangeBytes: 8 << 10}}
	start := time.Date(2026, 12, 6, 23, 0, 0, 0, time.UTC)
	var batch []*Execution
	for i, p := range []*engine.Pipeline{{Name: "open"}, {Name: "pins", SensitiveFields: []string{"pin"}}, {Name: "open2"}, {Name: "pins2", SensitiveFields: []string{"PIN"}}} {
		in, inJSON := msg("a", "b")
		out, outJSON := msg("c")
		batch = append(batch, &Execution{ID: p.Name, Pipeline: p, Trigger: "http", Start: start, End: start.Add(time.Duration(i) * time.Millisecond),
			Input: in, InputJSON: inJSON, Output: out, OutputJSON: outJSON, Code: 200})
	}
	// As write encodes a batch: one recorder, its records one after another.
	var seg []byte
	for _, e := range batch {
		mark := len(seg)
		seg = r.appendRecord(seg, e, nil)
		rec := string(seg[mark:])
		masks := len(e.Pipeline.SensitiveFields) > 0
		if got := strings.Contains(rec, "pin-value-0042"); got == masks {
			t.Errorf("record of %s (sensitive_fields %v) holds the pin: %v\n%s", e.Pipeline.Name, e.Pipeline.SensitiveFields, got, rec)
		}
	}
}
