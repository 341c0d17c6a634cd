package history

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/store"
	"github.com/nectar-run/nectar/store/bolt"
)

// FuzzDecodeSegment feeds arbitrary stored values to what reads the history
// back (a segment compressed with S2, its JSON text, each record and its
// steps): a damaged value must give an error, never a panic.
func FuzzDecodeSegment(f *testing.F) {
	for _, v := range recordedSegments(f) {
		f.Add(v)
		if len(v) > 1 && v[0] == compressedSegment {
			text, err := s2.Decode(nil, v[1:])
			if err == nil {
				f.Add(text) // the text, uncompressed: refused
			}
			f.Add(v[:len(v)/2]) // cut short
		}
	}
	for _, s := range []string{
		`{"records":[{"id":"a","steps":[[0,1,2,"ok"]]}],"steps":[["s","p","c","x"]]}`,
		`{"records":[{"id":"a","steps":[[1e300,1,2,"ok"]]}],"steps":[["s","p","c"]]}`,
		`{"records":[{"id":"a","steps":[[-1,1,2,"ok"],[0]]}],"steps":[]}`,
		`{"records":[{"id":"a","steps":[["x",null,{},[]]]}],"steps":[["s"]]}`,
		`{"records":null,"steps":null}`,
		`{"id":"a","start":"not a time"}`,
		`[{"id":"a"},{"id":"b","input":{"x":1}}]`,
		"\x01", "\x01\xff\xff\xff\xff\x0f", "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		text, err := segmentText(v)
		if err != nil {
			return
		}
		raws, table, err := segmentRecords(text)
		if err != nil {
			return
		}
		for _, raw := range raws {
			_, _ = decodeRecord(raw, table, false)
			_, _ = decodeRecord(raw, table, true)
		}
	})
}

// recordedSegments returns segments as a Recorder stores them.
func recordedSegments(f *testing.F) [][]byte {
	st, err := bolt.Open(f.TempDir(), bolt.WithNoSync())
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	r, err := New(ctx, st, Options{})
	if err != nil {
		f.Fatal(err)
	}
	in, _ := value.DecodeString(`{"grant_type":"client_credentials","client_secret":"s3cr3t-value"}`)
	info := &engine.StepInfo{Pipeline: "p", Step: "s", Path: "steps[0]", Connector: "set"}
	now := time.Now()
	for i := range 3 {
		e := &Execution{ID: NewID(now), Pipeline: &engine.Pipeline{Name: "p"}, Trigger: "http", Start: now, End: now.Add(time.Millisecond),
			Input: in, Output: "done", Trace: &engine.Trace{Steps: []engine.StepRecord{{StepInfo: info, Start: now, Duration: time.Microsecond, Outcome: "ok", Attempts: i + 1, Error: "x"}}}}
		if i == 2 {
			e.Err = engine.NewError(400, "bad")
		}
		r.Record(e)
	}
	if err := r.Close(ctx); err != nil {
		f.Fatal(err)
	}
	items, err := st.List(ctx, Bucket, store.ListOptions{})
	if err != nil {
		f.Fatal(err)
	}
	var out [][]byte
	for _, it := range items {
		out = append(out, append([]byte(nil), it.Value...))
	}
	return out
}

// TestDamagedSegmentAllocatesLittle: a stored segment whose S2 header claims
// 4 GB (found by FuzzDecodeSegment: the fuzzing worker was killed for its
// memory) is refused before anything of that size is allocated.
func TestDamagedSegmentAllocatesLittle(t *testing.T) {
	v := []byte("\x01\xe9\xff\xff\xff\x0f")
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := segmentText(v)
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("a damaged segment was read")
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Fatalf("reading a damaged segment allocated %d bytes", n)
	}
}
