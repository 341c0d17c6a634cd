package history

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
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

// TestAppendTime checks secondText.appendTime, alone and reusing the text
// of the last second it wrote, against time.Time.AppendFormat on
// times around the ends of days, months, leap years and centuries, before
// 1970, at the ends of the years it writes itself, and beyond them.
func TestAppendTime(t *testing.T) {
	var times []time.Time
	for _, y := range []int{-1, 0, 1, 4, 99, 100, 400, 1600, 1899, 1900, 1969, 1970, 1971, 2000, 2024, 2026, 2100, 2400, 9999, 10000, 12345} {
		for _, m := range []time.Month{1, 2, 3, 12} {
			for _, d := range []int{1, 28, 29, 31} {
				for _, ns := range []int{0, 1, 10, 999_999_999, 123_456_789, 500_000_000, 100} {
					times = append(times, time.Date(y, m, d, 23, 59, 59, ns, time.UTC), time.Date(y, m, d, 0, 0, 0, ns, time.UTC))
				}
			}
		}
	}
	east := time.FixedZone("east", 5*3600+1800)
	times = append(times, time.Now(), time.Now().In(east), time.Unix(0, 0), time.Unix(-1, 0), time.Unix(-86401, 999), time.Time{},
		time.Date(2026, 12, 6, 23, 30, 0, 0, time.FixedZone("west", -7200)))
	for i := int64(-1 << 40); i < 1<<40; i += 1<<40/1000 + 12345 {
		times = append(times, time.Unix(i, i%1_000_000_000).In(east))
	}
	// Then in runs within one second, as a batch's records mostly are,
	// and with years appendSecond leaves to AppendFormat between them.
	base := time.Date(2026, 12, 7, 1, 41, 59, 0, time.UTC)
	for i := range 3000 {
		times = append(times, base.Add(time.Duration(i)*time.Millisecond+time.Duration(i%7)*time.Nanosecond))
		if i%500 == 0 {
			times = append(times, time.Date(10000, 1, 1, 0, 0, 0, 5, time.UTC), time.Date(-3, 1, 1, 0, 0, 0, 0, time.UTC),
				base.Add(time.Duration(i)*time.Millisecond).In(east))
		}
	}
	var second secondText
	for _, tm := range times {
		want := "x" + tm.UTC().Format(time.RFC3339Nano)
		if got := string(new(secondText).appendTime([]byte("x"), tm)); got != want {
			t.Errorf("appendTime(%v) = %s, want %s", tm, got, want)
		}
		if got := string(second.appendTime([]byte("x"), tm)); got != want {
			t.Errorf("secondText.appendTime(%v) = %s, want %s", tm, got, want)
		}
	}
}

// TestAppendMillis checks appendMillis against the float formatting it
// replaces for every duration under 0.3 s, around 1000 s where it hands
// over, and a spread of others up to 1000 s.
func TestAppendMillis(t *testing.T) {
	var us []int64
	for n := int64(-3); n < 300_000; n++ {
		us = append(us, n)
	}
	for n := int64(300_000); n < 1e9; n += 99_991 {
		us = append(us, n, n+1, n+10, n+100)
	}
	us = append(us, 1e9-1, 1e9, 1e9+1, 1e12+7, -1e9)
	for _, n := range us {
		if got, want := string(appendMillis(nil, n)), string(strconv.AppendFloat(nil, float64(n)/1000, 'f', -1, 64)); got != want {
			t.Fatalf("appendMillis(%d) = %s, want %s", n, got, want)
		}
	}
}

// BenchmarkAppendRecordTransform measures encoding the record of ratio.sh's
// transform request (server's BenchmarkTransformRequest): the 1 KB
// customer as input and its text, the output a new object holding the
// input's values under five new names (what the JOLT shift answers: the
// nested objects and lists are the input's) and its text, two steps, the
// admin key as the one secret.
func BenchmarkAppendRecordTransform(b *testing.B) {
	r := &Recorder{opts: Options{SnapshotBytes: 32 << 10, StepBytes: 4 << 10, StepRecordBytes: 32 << 10, ExchangeBytes: 8 << 10}}
	in, err := value.DecodeString(benchCustomerIn)
	if err != nil {
		b.Fatal(err)
	}
	rename := map[string]string{"id": "customerId", "first_name": "firstName", "last_name": "lastName", "email": "emailAddress", "phone": "phoneNumber"}
	inObj := in.(*value.Object)
	out := value.NewObject(inObj.Len())
	for i := range inObj.Len() {
		k, v := inObj.At(i)
		if n, ok := rename[k]; ok {
			k = n
		}
		out.Set(k, v)
	}
	outJSON, err := value.AppendJSON(nil, out)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	tr := &engine.Trace{Steps: []engine.StepRecord{
		{StepInfo: &engine.StepInfo{Step: "assert", Path: "steps[0]", Connector: "assert"}, Start: start.Add(3 * time.Microsecond), Duration: 2 * time.Microsecond, Outcome: "ok"},
		{StepInfo: &engine.StepInfo{Step: "transform", Path: "steps[1]", Connector: "transform"}, Start: start.Add(6 * time.Microsecond), Duration: 9 * time.Microsecond, Outcome: "ok"},
	}}
	e := &Execution{ID: "019af1c2d3e4a1b2c3d4e5f6", Pipeline: &engine.Pipeline{Name: "bench-transform"}, Trigger: "http", Start: start,
		End: start.Add(61 * time.Microsecond), Input: in, InputJSON: benchCustomerIn, Output: out, OutputJSON: string(outJSON), Trace: tr,
		Request: "POST /transform", Code: 200}
	secrets := []string{"admin-key"}
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

// TestAppendInt checks appendInt against strconv.AppendInt for every
// number from -20000 to 200000 (all its own cases and the hand-overs to
// strconv), and the ends of int64.
func TestAppendInt(t *testing.T) {
	check := func(n int64) {
		if got, want := string(appendInt([]byte("x"), n)), string(strconv.AppendInt([]byte("x"), n, 10)); got != want {
			t.Fatalf("appendInt(%d) = %s, want %s", n, got, want)
		}
	}
	for n := int64(-20000); n <= 200000; n++ {
		check(n)
	}
	for _, n := range []int64{math.MinInt64, math.MinInt64 + 1, math.MaxInt64, math.MaxInt64 - 1, 1e9, 1e12 + 7} {
		check(n)
	}
}

// TestAppendOutcome checks appendOutcome against value.AppendString for
// the engine's outcomes and strings that are not one of them.
func TestAppendOutcome(t *testing.T) {
	for _, o := range []string{"ok", "skipped", "error", "continued", "", "OK", "ok ", "skipped\"", "<ok>", "é", "\x00"} {
		if got, want := string(appendOutcome([]byte("x"), o)), string(value.AppendString([]byte("x"), o)); got != want {
			t.Errorf("appendOutcome(%q) = %s, want %s", o, got, want)
		}
	}
}

// TestFixedText checks fixedText.append against the text written field by
// field with value.AppendString, for pipelines and triggers that come
// back, more of them than it keeps, names that need escapes, one name in
// two strings, and names that differ only in their trigger.
func TestFixedText(t *testing.T) {
	names := []string{"bench-transform", "oauth-token", "", "a \"quoted\" <name>\n", "é", "bench-" + "transform"[:4] + "sform"}
	triggers := []string{"http", "schedule", "event", ""}
	var c fixedText
	for round := range 3 {
		for i, n := range names {
			for j, tr := range triggers {
				if round == 1 && (i+j)%2 == 0 {
					continue // other orders: entries replaced in between
				}
				want := value.AppendString(append(value.AppendString([]byte(`x,"pipeline":`), n), `,"trigger":`...), tr)
				if got := c.append([]byte("x"), n, tr); !bytes.Equal(got, want) {
					t.Fatalf("append(%q, %q) = %s, want %s", n, tr, got, want)
				}
			}
		}
	}
}
