package history_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/internal/benchcpu"
	"github.com/nectar-run/nectar/store"
	"github.com/nectar-run/nectar/store/bolt"
)

// TestSnapshotsFromRawText checks that the JSON text of a request is kept as
// it is when nothing in it needs masking, and masked otherwise.
func TestSnapshotsFromRawText(t *testing.T) {
	st, err := bolt.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	r := newRecorder(t, st, history.Options{SecretValues: func() []string { return []string{"s3cr3t-value"} }})
	tests := []struct {
		name, raw, want string
	}{
		{"clean text is kept as written", `{"b": 1, "a": "token is a word in a value"}`, `{"b": 1, "a": "token is a word in a value"}`},
		{"a sensitive key is masked", `{"user":"ada","password":"hunter2"}`, `{"user":"ada","password":"***"}`},
		{"a sensitive key with spaces before the colon", `{"user":"ada","token" : "abc"}`, `{"user":"ada","token":"***"}`},
		{"an escaped key is never trusted", `{"pass\u0077ord":"hunter2"}`, `{"password":"***"}`},
		{"an account secret is masked wherever it is", `{"note":"s3cr3t-value"}`, `{"note":"***"}`},
	}
	ids := make([]string, len(tests))
	for i, tt := range tests {
		v, err := value.DecodeString(tt.raw)
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = history.NewID(time.Now())
		r.Record(&history.Execution{ID: ids[i], Trigger: "http", Start: time.Now(), End: time.Now(), Input: v, InputJSON: tt.raw, Output: v})
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := history.Get(ctx, st, ids[i])
			if err != nil {
				t.Fatal(err)
			}
			if got := string(rec.Input); got != tt.want {
				t.Errorf("input snapshot %s, want %s", got, tt.want)
			}
			if strings.Contains(string(rec.Output), "hunter2") || strings.Contains(string(rec.Output), "s3cr3t") {
				t.Errorf("output snapshot leaks: %s", rec.Output)
			}
		})
	}
	r.Close(ctx)
}

// TestSecretsMaskedInsideStrings (#12.3): secret values Nectar knows, those
// the request carried and the values of the input's sensitive fields are
// masked inside longer strings anywhere in the record; values shorter than
// engine.MinSecretLen are not; bodies not parsed into fields are stored as
// their type and size when they may hold a secret.
func TestSecretsMaskedInsideStrings(t *testing.T) {
	st := tempStore(t)
	ctx := context.Background()
	r := newRecorder(t, st, history.Options{SecretValues: func() []string { return []string{"tiny", "acct-key-0123456789"} }})
	sensitive := &engine.Pipeline{Name: "p", SensitiveFields: []string{"pin"}}
	plain := &engine.Pipeline{Name: "q"}
	decode := func(s string) any {
		v, err := value.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name      string
		e         history.Execution
		want, not []string
	}{
		{"a known secret inside a URL", history.Execution{Pipeline: plain, Input: decode(`{}`),
			Output: decode(`{"next":"https://api.example/x?key=acct-key-0123456789&page=2","tiny":"a tiny word"}`)},
			[]string{`x?key=***&page=2`, `"a tiny word"`}, []string{"acct-key-0123456789"}},
		{"a sensitive value repeated elsewhere", history.Execution{Pipeline: plain, Input: decode(`{"Client-Secret":"cs-abcdefgh-42"}`),
			InputJSON: `{"Client-Secret":"cs-abcdefgh-42"}`, Output: decode(`{"said":"your secret is cs-abcdefgh-42"}`)},
			[]string{`"Client-Secret":"***"`, `"said":"your secret is ***"`}, []string{"cs-abcdefgh-42"}},
		{"a request credential in an error", history.Execution{Pipeline: plain, Input: decode(`{}`), Secrets: []string{"basic-pass-987654"},
			Err: engine.NewError(401, "client basic-pass-987654 is unknown")},
			[]string{`client *** is unknown`}, []string{"basic-pass-987654"}},
		{"text to a pipeline with sensitive_fields", history.Execution{Pipeline: sensitive, Input: "pin=12345678", Output: decode(`{"echo":"pin=12345678"}`),
			InputBody: &history.Body{ContentType: "text/plain", Size: 12}},
			[]string{`{"content_type":"text/plain","size":12,"not_stored":"a body not parsed into fields, in a pipeline with sensitive_fields"}`, `"echo":"***"`}, []string{"12345678"}},
		{"text to a plain pipeline is masked", history.Execution{Pipeline: plain, Input: "k=acct-key-0123456789",
			InputBody: &history.Body{ContentType: "text/plain", Size: 21}},
			[]string{`"k=***"`}, []string{"acct-key-0123456789"}},
		{"bytes holding a known secret", history.Execution{Pipeline: plain, Input: b64("\x00\x01\x02acct-key-0123456789"),
			InputBody: &history.Body{ContentType: "application/octet-stream", Size: 22, Base64: true}},
			[]string{`"not_stored":"a body holding a secret Nectar knows"`}, []string{b64("\x00\x01\x02acct-key-0123456789")}},
		{"bytes holding none are kept", history.Execution{Pipeline: plain, Input: b64("\x00\x01plain"),
			InputBody: &history.Body{ContentType: "application/octet-stream", Size: 7, Base64: true}},
			[]string{`"` + b64("\x00\x01plain") + `"`}, nil},
	}
	ids := make([]string, len(tests))
	for i := range tests {
		e := tests[i].e
		ids[i] = history.NewID(time.Now())
		e.ID, e.Trigger, e.Start, e.End = ids[i], "http", time.Now(), time.Now()
		r.Record(&e)
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, err := history.Get(ctx, st, ids[i])
			if err != nil {
				t.Fatal(err)
			}
			got := string(rec.Input) + " " + string(rec.Output) + " " + string(rec.Error)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("record %s lacks %s", got, w)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(got, n) {
					t.Errorf("record %s holds %s", got, n)
				}
			}
		})
	}
	r.Close(ctx)
}

// BenchmarkRecordWithSecrets is BenchmarkRecord with the secrets a server
// holds (admin key, a few account secrets and tokens) to look for.
func BenchmarkRecordWithSecrets(b *testing.B) {
	secrets := make([]string, 16)
	for i := range secrets {
		secrets[i] = fmt.Sprintf("secret-%02d-%s", i, strings.Repeat("x", 32))
	}
	benchmarkRecord(b, history.Options{Queue: 1024, SecretValues: func() []string { return secrets }}, false)
}

// TestSegments writes records in several batches and reads each back, lists
// them newest first across segments, and trims whole segments.
func TestSegments(t *testing.T) {
	// In a synctest bubble: one segment a Flush (see record).
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		st, err := bolt.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		r := newRecorder(t, st, history.Options{MaxRecords: 40})
		var ids []string
		start := time.Now().Add(-time.Hour)
		for batch := 0; batch < 5; batch++ {
			for i := 0; i < 10; i++ {
				at := start.Add(time.Duration(batch*10+i) * time.Second)
				id := history.NewID(at)
				ids = append(ids, id)
				pipeline := "even"
				if i%2 == 1 {
					pipeline = "odd"
				}
				r.Record(&history.Execution{ID: id, Pipeline: nil, Trigger: pipeline, Start: at, End: at.Add(time.Millisecond), Input: value.ObjectOf("n", int64(batch*10+i))})
			}
			if err := r.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
		// 50 records with MaxRecords 40: trimming starts above 44, by whole segments.
		recs, err := history.List(ctx, st, history.Filter{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 40 || recs[0].ID != ids[49] || recs[39].ID != ids[10] {
			t.Fatalf("listed %d records, first %s last %s; want 40 from %s down to %s", len(recs), recs[0].ID, recs[len(recs)-1].ID, ids[49], ids[10])
		}
		for i := 1; i < len(recs); i++ {
			if recs[i].ID >= recs[i-1].ID {
				t.Fatalf("not newest first at %d", i)
			}
		}
		if _, err := history.Get(ctx, st, ids[3]); err == nil {
			t.Errorf("a trimmed record is still there")
		}
		for _, id := range ids[10:] {
			rec, err := history.Get(ctx, st, id)
			if err != nil || rec.ID != id {
				t.Fatalf("get %s: %v", id, err)
			}
		}
		page, err := history.List(ctx, st, history.Filter{Trigger: "odd", Before: ids[30], Limit: 3})
		if err != nil || len(page) != 3 || page[0].ID != ids[29] || page[2].ID != ids[25] {
			t.Fatalf("filtered page: %v %v", page, err)
		}
		r.Close(ctx)
		st.Close()
		// The count survives a restart: no trim until the history grows again.
		st, err = bolt.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		r = newRecorder(t, st, history.Options{MaxRecords: 40})
		r.Record(&history.Execution{ID: history.NewID(time.Now()), Trigger: "x", Start: time.Now(), End: time.Now()})
		r.Close(ctx)
		recs, _ = history.List(ctx, st, history.Filter{Limit: 100})
		if len(recs) != 41 {
			t.Fatalf("after restart: %d records, want 41", len(recs))
		}
	})
}

// tempStore opens a bbolt store in a temporary directory, closed at the
// end of the test.
func tempStore(tb testing.TB) *bolt.Store {
	tb.Helper()
	st, err := bolt.Open(tb.TempDir(), bolt.WithNoSync())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// stepInfos are the steps traces are made of, shared as a loaded
// pipeline's are; the second belongs to a called pipeline.
var stepInfos = func() []*engine.StepInfo {
	infos := make([]*engine.StepInfo, 32)
	for i := range infos {
		infos[i] = &engine.StepInfo{Step: fmt.Sprintf("step %d", i), Path: fmt.Sprintf("steps[%d]", i), Connector: "set"}
	}
	infos[1].Pipeline = "called"
	return infos
}()

// trace returns a trace of n steps of which the third failed after two
// attempts.
func trace(start time.Time, n int) *engine.Trace {
	tr := &engine.Trace{}
	for i := range n {
		s := engine.StepRecord{StepInfo: stepInfos[i], Start: start.Add(time.Duration(i) * time.Millisecond),
			Duration: time.Duration(i) * time.Microsecond, Outcome: "ok"}
		if i == 2 {
			s.Outcome, s.Error, s.Attempts = "continued", `bad "input"`, 2
		}
		tr.Steps = append(tr.Steps, s)
	}
	return tr
}

// TestStepsRoundTrip checks that steps written as indexes into a segment's
// step table read back as they were recorded, in one segment and across
// segments.
func TestStepsRoundTrip(t *testing.T) {
	st := tempStore(t)
	ctx := context.Background()
	r := newRecorder(t, st, history.Options{})
	start := time.Now()
	var ids []string
	for batch, sizes := range [][]int{{4, 6, 0}, {1, 5}} {
		for i, n := range sizes {
			at := start.Add(time.Duration(batch*10+i) * time.Second)
			id := history.NewID(at)
			ids = append(ids, id)
			r.Record(&history.Execution{ID: id, Trigger: "http", Start: at, End: at.Add(time.Second), Trace: trace(at, n)})
		}
		if err := r.Flush(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for i, n := range []int{4, 6, 0, 1, 5} {
		rec, err := history.Get(ctx, st, ids[i])
		if err != nil {
			t.Fatal(err)
		}
		if len(rec.Steps) != n {
			t.Fatalf("record %d: %d steps, want %d", i, len(rec.Steps), n)
		}
		for j, s := range rec.Steps {
			want := history.StepRecord{Step: fmt.Sprintf("step %d", j), Path: fmt.Sprintf("steps[%d]", j), Connector: "set",
				OffsetUS: int64(j) * 1000, DurationUS: int64(j), Outcome: "ok"}
			if j == 1 {
				want.Pipeline = "called"
			}
			if j == 2 {
				want.Outcome, want.Error, want.Attempts = "continued", `bad "input"`, 2
			}
			if s != want {
				t.Errorf("record %d step %d = %+v, want %+v", i, j, s, want)
			}
		}
	}
	r.Close(ctx)
}

// TestUnknownFormatsListedAsDamaged: values in forms the recorder never
// writes — those of development versions that were never released (one
// record under its id, a plain array of records, an uncompressed segment)
// and a compressed block cut short — are not read as records: List reports
// each as damaged, and Get does not find their ids.
func TestUnknownFormatsListedAsDamaged(t *testing.T) {
	st := tempStore(t)
	ctx := context.Background()
	step := `"steps":[{"step":"a","path":"steps[0]","connector":"log","offset_us":1,"duration_us":2,"outcome":"ok"}]`
	single := `{"id":"0001","pipeline":"p","trigger":"http","status":"ok","code":200,` + step + `}`
	array := `[{"id":"0002","pipeline":"p","trigger":"http","status":"failed","code":500,` + step + `},{"id":"0003","pipeline":"q","trigger":"http","status":"ok","code":200}]`
	plain := `{"records":[{"id":"0004","pipeline":"p","trigger":"http","status":"ok","code":200}],"steps":[]}`
	if err := st.Apply(ctx, store.Op{Bucket: history.Bucket, Key: "0001", Value: []byte(single)},
		store.Op{Bucket: history.Bucket, Key: "0002:2", Value: []byte(array)},
		store.Op{Bucket: history.Bucket, Key: "0004:1", Value: []byte(plain)},
		store.Op{Bucket: history.Bucket, Key: "0005:1", Value: []byte{1, 0xff, 0xff, 0xff}}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"0001", "0002", "0004", "0005"} {
		if rec, err := history.Get(ctx, st, id); !errors.Is(err, history.ErrNotFound) {
			t.Errorf("Get(%s) = %+v, %v", id, rec, err)
		}
	}
	// Each has an empty index entry, so the index is built once, not on
	// every Get that misses.
	if index, err := st.List(ctx, history.IndexBucket, store.ListOptions{}); err != nil || len(index) != 4 {
		t.Errorf("index: %d entries, %v; want 4", len(index), err)
	}
	recs, err := history.List(ctx, st, history.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, fmt.Sprintf("%s/%s/%d", r.ID, r.Status, r.Records))
	}
	if strings.Join(got, " ") != "0005/damaged/1 0004/damaged/1 0002/damaged/2 0001/damaged/0" {
		t.Errorf("List = %v", got)
	}
	if !strings.Contains(string(recs[0].Error), "decompressing a segment") {
		t.Errorf("a damaged compressed segment: %s", recs[0].Error)
	}
}

// BenchmarkRecord measures recording an execution of the shape of a token
// request (16 steps, small input and output with masked tokens) through
// to the bbolt file: the background cost of history per execution.
func BenchmarkRecord(b *testing.B) { benchmarkRecord(b, history.Options{Queue: 1024}, false) }

// BenchmarkRecordTransform measures recording an execution of the shape of
// ratio.sh's transform request: a ~1 KB JSON body (its text kept as the
// input snapshot), the pipeline's answer (the text the server wrote) and two
// steps.
func BenchmarkRecordTransform(b *testing.B) {
	benchmarkShape(b, history.Options{Queue: 1024}, false, recordShape{in: benchCustomer, out: benchCustomerOut, outJSON: true, steps: 2, request: "POST /transform"})
}

// BenchmarkRecordStepIO is BenchmarkRecord with each step's input and
// output kept (engine.Trace.KeepIO, what nectar serve's traces ask for
// when the history keeps snapshots).
func BenchmarkRecordStepIO(b *testing.B) { benchmarkRecord(b, history.Options{Queue: 1024}, true) }

// BenchmarkRecordPaced is BenchmarkRecord with the recorder mostly idle,
// as in nectar serve: between two records the benchmark's goroutine does
// about 10 µs of other work (a request's), so the background goroutine
// has caught up and waits for the next execution. cpu-ns/op includes that
// work; compare it between versions, not with the other benchmarks.
func BenchmarkRecordPaced(b *testing.B) {
	shape := recordShape{in: `{"grant_type":"client_credentials"}`, steps: 16, request: "POST /oauth/token", pace: 4 << 10,
		out: `{"access_token":"eyJhbGciOiJIUzI1NiJ9.e30.x","token_type":"Bearer","expires_in":3600,"refresh_token":"eyJhbGciOiJIUzUxMiJ9.e30.y","scope":"profile"}`}
	benchmarkShape(b, history.Options{Queue: 1024}, false, shape)
}

// recordShape is what benchmarkShape records: the input and output texts,
// the steps, the request line.
type recordShape struct {
	in, out, request string
	steps            int
	outJSON          bool // the output's text is the answer the server wrote (OutputJSON)
	pace             int  // bytes hashed (SHA-256) before each record: other work
}

// Executions as a token endpoint records them: the same steps, input and
// masked output, with their own times and step durations.
func benchmarkRecord(b *testing.B, opts history.Options, stepIO bool) {
	benchmarkShape(b, opts, stepIO, recordShape{in: `{"grant_type":"client_credentials"}`, steps: 16, request: "POST /oauth/token",
		out: `{"access_token":"eyJhbGciOiJIUzI1NiJ9.e30.x","token_type":"Bearer","expires_in":3600,"refresh_token":"eyJhbGciOiJIUzUxMiJ9.e30.y","scope":"profile"}`})
}

// The ~1 KB record ratio.sh's transform sends, and what its pipeline answers.
const (
	benchCustomer    = `{"id":"c-000184223","first_name":"Margarethe","last_name":"Villanueva-Okonkwo","email":"m.villanueva.okonkwo@example.com","phone":"+44 20 7946 0958","created_at":"2023-04-18T09:27:41Z","status":"active","tier":"gold","marketing_opt_in":true,"lifetime_value":18422.75,"credit_limit":25000,"tags":["wholesale","priority","eu-vat","net-30"],"address":{"line1":"Flat 4, 221 Kingsland Road","line2":"Haggerston","city":"London","region":"Greater London","postal_code":"E2 8AN","country":"GB"},"billing":{"currency":"GBP","vat_number":"GB123456789","payment_terms_days":30,"iban_last4":"4821"},"preferences":{"language":"en-GB","timezone":"Europe/London","channels":["email","sms"],"newsletter":false},"orders":[{"order_id":"o-99120","total":412.5,"items":3,"placed_at":"2024-11-02T14:03:11Z"},{"order_id":"o-99533","total":87.2,"items":1,"placed_at":"2024-12-19T08:45:00Z"},{"order_id":"o-100871","total":1290,"items":12,"placed_at":"2025-01-07T17:22:36Z"}],"notes":"Prefers delivery before noon; loading bay at rear entrance."}`
	benchCustomerOut = `{"customerId":"c-000184223","firstName":"Margarethe","lastName":"Villanueva-Okonkwo","emailAddress":"m.villanueva.okonkwo@example.com","phoneNumber":"+44 20 7946 0958","created_at":"2023-04-18T09:27:41Z","status":"active","tier":"gold","marketing_opt_in":true,"lifetime_value":18422.75,"credit_limit":25000,"tags":["wholesale","priority","eu-vat","net-30"],"address":{"line1":"Flat 4, 221 Kingsland Road","line2":"Haggerston","city":"London","region":"Greater London","postal_code":"E2 8AN","country":"GB"},"billing":{"currency":"GBP","vat_number":"GB123456789","payment_terms_days":30,"iban_last4":"4821"},"preferences":{"language":"en-GB","timezone":"Europe/London","channels":["email","sms"],"newsletter":false},"orders":[{"order_id":"o-99120","total":412.5,"items":3,"placed_at":"2024-11-02T14:03:11Z"},{"order_id":"o-99533","total":87.2,"items":1,"placed_at":"2024-12-19T08:45:00Z"},{"order_id":"o-100871","total":1290,"items":12,"placed_at":"2025-01-07T17:22:36Z"}],"notes":"Prefers delivery before noon; loading bay at rear entrance."}`
)

func benchmarkShape(b *testing.B, opts history.Options, stepIO bool, shape recordShape) {
	st := tempStore(b)
	ctx := context.Background()
	r := newRecorder(b, st, opts)
	in, _ := value.DecodeString(shape.in)
	out, _ := value.DecodeString(shape.out)
	outJSON := ""
	if shape.outJSON {
		outJSON = shape.out
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	execs := make([]history.Execution, 256)
	at := time.Now()
	for i := range execs {
		at = at.Add(time.Duration(rnd.IntN(100_000)))
		tr := trace(at, shape.steps)
		tr.KeepIO = stepIO
		off := at
		for j := range tr.Steps {
			off = off.Add(time.Duration(rnd.IntN(20_000)))
			tr.Steps[j].Start, tr.Steps[j].Duration = off, time.Duration(rnd.IntN(15_000))
			if stepIO {
				tr.Steps[j].Input, tr.Steps[j].KeptInput = in, true
				tr.Steps[j].Result, tr.Steps[j].Kept = out, tr.Steps[j].Outcome == "ok"
			}
		}
		execs[i] = history.Execution{Trigger: "http", Start: at, End: off.Add(time.Duration(rnd.IntN(10_000))), Input: in,
			InputJSON: shape.in, Output: out, OutputJSON: outJSON, Trace: tr, Request: shape.request, Code: 200}
	}
	b.ReportAllocs()
	stop := benchcpu.Start(b)
	work := make([]byte, shape.pace)
	for i := 0; b.Loop(); i++ {
		if shape.pace > 0 {
			sum := sha256.Sum256(work)
			work[0] = sum[0]
		}
		e := execs[i%len(execs)]
		e.ID = history.NewID(e.Start)
		r.Record(&e)
		if i%512 == 511 {
			if err := r.Flush(ctx); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := r.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	stop()
	b.StopTimer()
	r.Close(ctx)
	segs, err := st.List(ctx, history.Bucket, store.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	size, n := 0, 0
	for _, sg := range segs {
		size += len(sg.Value)
		_, c, _ := strings.Cut(sg.Key, ":")
		k, _ := strconv.Atoi(c)
		n += k
	}
	b.ReportMetric(float64(size)/float64(n), "stored-B/record")
}

// BenchmarkGet reads records back from a history of 256 segments of 32
// records (token requests with 16 steps): the newest record, one in the
// middle, the oldest, and an id newer than all that is not there (which
// once meant decompressing 256 segments).
func BenchmarkGet(b *testing.B) {
	st := tempStore(b)
	ctx := context.Background()
	r := newRecorder(b, st, history.Options{})
	in, _ := value.DecodeString(`{"grant_type":"client_credentials"}`)
	out, _ := value.DecodeString(`{"access_token":"eyJhbGciOiJIUzI1NiJ9.e30.x","token_type":"Bearer","expires_in":3600,"scope":"profile"}`)
	at := time.Now().Add(-time.Hour)
	var ids []string
	for range 256 {
		for range 32 {
			at = at.Add(time.Millisecond)
			id := history.NewID(at)
			ids = append(ids, id)
			r.Record(&history.Execution{ID: id, Trigger: "http", Start: at, End: at.Add(time.Millisecond), Input: in, Output: out,
				Trace: trace(at, 16), Request: "POST /oauth/token", Code: 200})
		}
		if err := r.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
	if err := r.Close(ctx); err != nil {
		b.Fatal(err)
	}
	missing := history.NewID(at.Add(time.Second))
	for _, c := range []struct{ name, id string }{{"newest", ids[len(ids)-1]}, {"middle", ids[len(ids)/2]}, {"oldest", ids[0]}, {"missing", missing}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				rec, err := history.Get(ctx, st, c.id)
				if c.id == missing {
					if !errors.Is(err, history.ErrNotFound) {
						b.Fatalf("Get(missing) = %v, %v", rec, err)
					}
				} else if err != nil || rec.ID != c.id {
					b.Fatalf("Get(%s) = %v, %v", c.id, rec, err)
				}
			}
		})
	}
}

// record writes n batches of per records each (one segment a batch) and
// returns their ids, oldest first.
//
// One segment a batch holds only in a synctest bubble, where the tests that
// count segments run: the recorder ends a batch when the linger (25 ms)
// runs out as well as at Flush, and outside a bubble a loaded machine that
// deschedules the test for 25 ms between two Records splits a batch in two
// (TestListReportsDamagedSegments then saw 4 segments, TestIndexFollowsTrim
// a record of a trimmed batch still there). In the bubble the linger's
// clock moves only when the test and the recorder both wait.
func record(t *testing.T, r *history.Recorder, start time.Time, n, per int) []string {
	t.Helper()
	var ids []string
	for i := range n * per {
		at := start.Add(time.Duration(i) * time.Second)
		id := history.NewID(at)
		ids = append(ids, id)
		r.Record(&history.Execution{ID: id, Trigger: "http", Start: at, End: at.Add(time.Millisecond), Input: value.ObjectOf("n", int64(i))})
		if i%per == per-1 {
			if err := r.Flush(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
	return ids
}

// TestListReportsDamagedSegments: a stored segment that cannot be read is
// listed as a "damaged" entry that says which records it held and why, in
// its place among the others, and Get of one of its records says the
// same; before, List skipped it without a word.
func TestListReportsDamagedSegments(t *testing.T) {
	// In a synctest bubble: one segment a Flush (see record).
	synctest.Test(t, func(t *testing.T) {
		st := tempStore(t)
		ctx := context.Background()
		r := newRecorder(t, st, history.Options{})
		ids := record(t, r, time.Now().Add(-time.Hour), 3, 2)
		r.Close(ctx)
		segs, err := st.List(ctx, history.Bucket, store.ListOptions{})
		if err != nil || len(segs) != 3 {
			t.Fatalf("%d segments, %v", len(segs), err)
		}
		// The middle segment's bytes go bad: a compressed block cut short.
		mid := segs[1]
		if _, err := st.Put(ctx, history.Bucket, mid.Key, mid.Value[:len(mid.Value)/2]); err != nil {
			t.Fatal(err)
		}
		for _, f := range []history.Filter{{}, {Status: "failed"}, {Pipeline: "p"}} {
			recs, err := history.List(ctx, st, f)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, rec := range recs {
				got = append(got, rec.ID+"/"+rec.Status)
			}
			want := ids[5] + "/ok " + ids[4] + "/ok " + ids[2] + "/damaged " + ids[1] + "/ok " + ids[0] + "/ok"
			if f.Status != "" || f.Pipeline != "" {
				want = ids[2] + "/damaged" // it may hold records of any pipeline and status
			}
			if strings.Join(got, " ") != want {
				t.Fatalf("List(%+v) = %v, want %s", f, got, want)
			}
			d := recs[0]
			if f == (history.Filter{}) {
				d = recs[2]
			}
			if at, _ := history.IDTime(ids[2]); d.Records != 2 || !d.Start.Equal(at) || !strings.Contains(string(d.Error), "decompressing a segment") || !strings.Contains(string(d.Error), mid.Key) {
				t.Errorf("damaged entry: %d records, start %s, error %s", d.Records, d.Start, d.Error)
			}
		}
		if _, err := history.Get(ctx, st, ids[3]); err == nil || !strings.Contains(err.Error(), "decompressing a segment") {
			t.Errorf("Get of a record of the damaged segment: %v", err)
		}
	})
}

// TestIndexFollowsTrim: the index Get reads (execution id → segment) loses
// a segment's entry in the batch that trims the segment, so a trimmed
// record is not found and the index holds one entry per stored segment,
// however long the history runs; a store written without the index (or
// whose index was lost) is indexed again by Get once, and by New.
func TestIndexFollowsTrim(t *testing.T) {
	// In a synctest bubble: one segment a Flush (see record).
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		st, err := bolt.Open(dir, bolt.WithNoSync())
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		r := newRecorder(t, st, history.Options{MaxRecords: 20})
		ids := record(t, r, time.Now().Add(-time.Hour), 20, 5)
		r.Close(ctx)
		check := func(when string) {
			t.Helper()
			for i, id := range ids {
				rec, err := history.Get(ctx, st, id)
				switch {
				case i < 80 && !errors.Is(err, history.ErrNotFound):
					t.Fatalf("%s: trimmed record %d: %v, %v", when, i, rec, err)
				case i >= 80 && (err != nil || rec.ID != id):
					t.Fatalf("%s: record %d: %v, %v", when, i, rec, err)
				}
			}
			segs, err := st.List(ctx, history.Bucket, store.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			index, err := st.List(ctx, history.IndexBucket, store.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(segs) != 4 || len(index) != len(segs) {
				t.Fatalf("%s: %d segments, %d index entries; want 4 of each", when, len(segs), len(index))
			}
			for i := range segs {
				if index[i].Key != segs[i].Key {
					t.Fatalf("%s: index entry %s for segment %s", when, index[i].Key, segs[i].Key)
				}
			}
		}
		check("after trimming")
		// The index is lost (or was never written): Get builds it once.
		index, _ := st.List(ctx, history.IndexBucket, store.ListOptions{})
		for _, it := range index {
			if err := st.Delete(ctx, history.IndexBucket, it.Key); err != nil {
				t.Fatal(err)
			}
		}
		check("without an index")
		// New indexes a segment whose entry is missing, and drops an entry
		// whose segment is gone.
		if err := st.Apply(ctx, store.DeleteOp(history.IndexBucket, index[3].Key),
			store.PutOp(history.IndexBucket, index[0].Key[:12]+"000000000000:5", index[0].Value)); err != nil {
			t.Fatal(err)
		}
		r = newRecorder(t, st, history.Options{MaxRecords: 20})
		r.Close(ctx)
		check("after New")
		st.Close()
	})
}

// newRecorder starts a recorder writing to st.
func newRecorder(tb testing.TB, st store.Store, opts history.Options) *history.Recorder {
	tb.Helper()
	r, err := history.New(context.Background(), st, opts)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// TestStepsInAnyOrder checks that records whose traces run the same steps
// in different orders, skip some or repeat one (a pipeline's branches and
// retries; a segment numbers each step once) read back with each step in
// its place.
func TestStepsInAnyOrder(t *testing.T) {
	st := tempStore(t)
	ctx := context.Background()
	r := newRecorder(t, st, history.Options{})
	start := time.Now()
	orders := [][]int{{0, 1, 2, 3}, {1, 0, 2, 3}, {3}, {0, 1, 2, 3}, {2, 2, 2, 0, 5, 1}, {0, 1, 2, 3, 4, 5}, {5, 4, 3, 2, 1, 0}, {0, 1}}
	ids := make([]string, len(orders))
	for i, order := range orders {
		at := start.Add(time.Duration(i) * time.Second)
		tr := &engine.Trace{}
		for _, j := range order {
			tr.Steps = append(tr.Steps, engine.StepRecord{StepInfo: stepInfos[j], Start: at, Outcome: "ok"})
		}
		ids[i] = history.NewID(at)
		r.Record(&history.Execution{ID: ids[i], Trigger: "http", Start: at, End: at.Add(time.Second), Trace: tr})
	}
	if err := r.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for i, order := range orders {
		rec, err := history.Get(ctx, st, ids[i])
		if err != nil {
			t.Fatal(err)
		}
		var got, want []string
		for _, s := range rec.Steps {
			got = append(got, s.Step)
		}
		for _, j := range order {
			want = append(want, stepInfos[j].Step)
		}
		if !slices.Equal(got, want) {
			t.Errorf("record %d: steps %q, want %q", i, got, want)
		}
	}
	r.Close(ctx)
}
