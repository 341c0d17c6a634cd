package objectstore_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nectar-run/nectar/connectors/objectstore"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/enginetest"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/store"
	"github.com/nectar-run/nectar/store/bolt"
)

func newRuntime(t testing.TB, opts ...bolt.Option) (*engine.Runtime, store.Store) {
	t.Helper()
	st, err := bolt.Open(t.TempDir(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	rt := &engine.Runtime{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	objectstore.Install(rt, st)
	return rt, st
}

func load(t testing.TB, steps string) *engine.Pipeline {
	t.Helper()
	return enginetest.Load(t, "name: t\nsteps:\n"+steps)
}

// step is one run of one step, and what it must give.
type step struct {
	yaml, input, want, wantErr string
}

func runSteps(t *testing.T, rt *engine.Runtime, steps []step) {
	t.Helper()
	for i, s := range steps {
		p := load(t, "  - object-store: "+s.yaml+"\n")
		out, err := p.Run(context.Background(), rt, enginetest.Decode(t, s.input), engine.RunOptions{})
		if s.wantErr != "" {
			e := engine.AsError(err)
			if err == nil || fmt.Sprintf("%d: %s", e.Code, e.Message) != s.wantErr {
				t.Fatalf("step %d: got %v (%s), want error %s", i, err, value.MustEncodeString(out), s.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got := value.MustEncodeString(out); got != s.want {
			t.Fatalf("step %d:\ngot  %s\nwant %s", i, got, s.want)
		}
	}
}

const in0 = `{}`

func TestOperations(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
	}{
		{"insert then get", []step{
			{`{operation: insert, collection: c, id: a1, document: {name: Ada, n: 1}}`, in0, `{"data":[{"name":"Ada","n":1,"_oId":"a1"}],"updateCount":1}`, ""},
			{`{operation: get, collection: c, id: a1}`, in0, `{"name":"Ada","n":1,"_oId":"a1"}`, ""},
		}},
		{"insert of an existing id is a conflict", []step{
			{`{operation: insert, collection: c, id: a1, document: {n: 1}}`, in0, `{"data":[{"n":1,"_oId":"a1"}],"updateCount":1}`, ""},
			{`{operation: insert, collection: c, id: a1, document: {n: 2}}`, in0, "", `409: document "a1" already exists in c`},
			{`{operation: get, collection: c, id: a1}`, in0, `{"n":1,"_oId":"a1"}`, ""},
		}},
		{"the _oId of a document is not stored", []step{
			{`{operation: insert, collection: c, id: a1, document: "{{ message }}"}`, `{"_oId":"zzz","n":1}`, `{"data":[{"n":1,"_oId":"a1"}],"updateCount":1}`, ""},
		}},
		{"collection, id and document from templates", []step{
			{`{operation: insert, collection: "{{ message.kind }}s", id: "{{ message.id }}", document: {name: "{{ message.name }}", tags: "{{ message.tags }}"}}`, `{"kind":"order","id":42,"name":"x","tags":["a","b"]}`, `{"data":[{"name":"x","tags":["a","b"],"_oId":"42"}],"updateCount":1}`, ""},
			{`{operation: get, collection: orders, id: "42"}`, in0, `{"name":"x","tags":["a","b"],"_oId":"42"}`, ""},
		}},
		{"get of a missing document", []step{
			{`{operation: get, collection: c, id: nope}`, in0, "", `404: document "nope" not found in c`},
			{`{operation: get, collection: c, id: nope, not_found: "null"}`, in0, `null`, ""},
		}},
		{"update merges as RFC 7396 says", []step{
			{`{operation: insert, collection: c, id: a1, document: {name: Ada, phone: "1", address: {city: London, zip: N1}}}`, in0, `{"data":[{"name":"Ada","phone":"1","address":{"city":"London","zip":"N1"},"_oId":"a1"}],"updateCount":1}`, ""},
			{`{operation: update, collection: c, id: a1, document: {phone: null, address: {city: Cambridge, zip: null}, tier: gold}}`, in0, `{"data":[{"name":"Ada","address":{"city":"Cambridge"},"tier":"gold","_oId":"a1"}],"updateCount":1}`, ""},
			{`{operation: get, collection: c, id: a1}`, in0, `{"name":"Ada","address":{"city":"Cambridge"},"tier":"gold","_oId":"a1"}`, ""},
		}},
		{"update replaces", []step{
			{`{operation: insert, collection: c, id: a1, document: {name: Ada, n: 1}}`, in0, `{"data":[{"name":"Ada","n":1,"_oId":"a1"}],"updateCount":1}`, ""},
			{`{operation: update, collection: c, id: a1, mode: replace, document: {n: 2, x: null}}`, in0, `{"data":[{"n":2,"x":null,"_oId":"a1"}],"updateCount":1}`, ""},
		}},
		{"update of a missing document", []step{
			{`{operation: update, collection: c, id: nope, document: {n: 1}}`, in0, "", `404: document "nope" not found in c`},
			{`{operation: update, collection: c, id: nope, document: {n: 1}, not_found: "null"}`, in0, `{"data":[],"updateCount":0}`, ""},
			{`{operation: get, collection: c, id: nope, not_found: "null"}`, in0, `null`, ""},
		}},
		{"upsert creates", []step{
			{`{operation: update, collection: c, id: u1, upsert: true, document: {n: 1, gone: null}}`, in0, `{"data":[{"n":1,"_oId":"u1"}],"updateCount":1}`, ""},
			{`{operation: update, collection: c, id: u1, upsert: true, document: {m: 2}}`, in0, `{"data":[{"n":1,"m":2,"_oId":"u1"}],"updateCount":1}`, ""},
		}},
		{"update with match is a compare-and-set", []step{
			{`{operation: insert, collection: c, id: f1, document: {gen: 1, family: {active: true}}}`, in0, `{"data":[{"gen":1,"family":{"active":true},"_oId":"f1"}],"updateCount":1}`, ""},
			{`{operation: update, collection: c, id: f1, match: {gen: "{{ message.gen }}", family.active: true}, document: {gen: 2}}`, `{"gen":1}`, `{"data":[{"gen":2,"family":{"active":true},"_oId":"f1"}],"updateCount":1}`, ""},
			{`{operation: update, collection: c, id: f1, match: {gen: "{{ message.gen }}"}, document: {gen: 2}}`, `{"gen":1}`, "", `409: document "f1" does not match`},
			{`{operation: update, collection: c, id: f1, match: {revoked: null}, document: {revoked: true}}`, in0, `{"data":[{"gen":2,"family":{"active":true},"revoked":true,"_oId":"f1"}],"updateCount":1}`, ""},
			{`{operation: update, collection: c, id: f1, match: {revoked: null}, document: {revoked: true}}`, in0, "", `409: document "f1" does not match`},
		}},
		{"delete", []step{
			{`{operation: insert, collection: c, id: d1, document: {n: 1}}`, in0, `{"data":[{"n":1,"_oId":"d1"}],"updateCount":1}`, ""},
			{`{operation: delete, collection: c, id: d1, match: {n: 2}}`, in0, "", `409: document "d1" does not match`},
			{`{operation: delete, collection: c, id: d1, match: {n: 1}}`, in0, `{"data":[],"updateCount":1}`, ""},
			{`{operation: delete, collection: c, id: d1}`, in0, "", `404: document "d1" not found in c`},
			{`{operation: delete, collection: c, id: d1, not_found: "null"}`, in0, `{"data":[],"updateCount":0}`, ""},
			{`{operation: insert, collection: c, id: d1, document: {n: 3}}`, in0, `{"data":[{"n":3,"_oId":"d1"}],"updateCount":1}`, ""},
			{`{operation: delete, collection: c, id: d1}`, in0, `{"data":[],"updateCount":1}`, ""},
		}},
		{"collections are separate", []step{
			{`{operation: insert, collection: one, id: x, document: {n: 1}}`, in0, `{"data":[{"n":1,"_oId":"x"}],"updateCount":1}`, ""},
			{`{operation: get, collection: two, id: x, not_found: "null"}`, in0, `null`, ""},
		}},
		{"find", []step{
			{`{operation: insert, collection: p, id: a, document: {name: Ada, tier: gold, address: {country: UK}}}`, in0, `{"data":[{"name":"Ada","tier":"gold","address":{"country":"UK"},"_oId":"a"}],"updateCount":1}`, ""},
			{`{operation: insert, collection: p, id: b, document: {name: Bob, tier: silver, address: {country: UK}}}`, in0, `{"data":[{"name":"Bob","tier":"silver","address":{"country":"UK"},"_oId":"b"}],"updateCount":1}`, ""},
			{`{operation: insert, collection: p, id: c, document: {name: Cy, tier: gold, address: {country: FR}, vip: true}}`, in0, `{"data":[{"name":"Cy","tier":"gold","address":{"country":"FR"},"vip":true,"_oId":"c"}],"updateCount":1}`, ""},
			{`{operation: find, collection: p, query: {tier: gold}}`, in0, `{"data":[{"name":"Ada","tier":"gold","address":{"country":"UK"},"_oId":"a"},{"name":"Cy","tier":"gold","address":{"country":"FR"},"vip":true,"_oId":"c"}],"rowCount":2}`, ""},
			{`{operation: find, collection: p, query: {tier: gold, address.country: "{{ message.c }}"}}`, `{"c":"UK"}`, `{"data":[{"name":"Ada","tier":"gold","address":{"country":"UK"},"_oId":"a"}],"rowCount":1}`, ""},
			{`{operation: find, collection: p, query: {vip: null}}`, in0, `{"data":[{"name":"Ada","tier":"gold","address":{"country":"UK"},"_oId":"a"},{"name":"Bob","tier":"silver","address":{"country":"UK"},"_oId":"b"}],"rowCount":2}`, ""},
			{`{operation: find, collection: p, query: {address: {country: FR}}}`, in0, `{"data":[{"name":"Cy","tier":"gold","address":{"country":"FR"},"vip":true,"_oId":"c"}],"rowCount":1}`, ""},
			{`{operation: find, collection: p, limit: 1, skip: 1}`, in0, `{"data":[{"name":"Bob","tier":"silver","address":{"country":"UK"},"_oId":"b"}],"rowCount":1}`, ""},
			{`{operation: find, collection: p, query: {_oId: b}}`, in0, `{"data":[{"name":"Bob","tier":"silver","address":{"country":"UK"},"_oId":"b"}],"rowCount":1}`, ""},
			{`{operation: find, collection: p, query: {tier: bronze}}`, in0, `{"data":[],"rowCount":0}`, ""},
			{`{operation: find, collection: empty}`, in0, `{"data":[],"rowCount":0}`, ""},
		}},
		{"bad values at run time", []step{
			{`{operation: insert, collection: "{{ message.c }}", document: {}}`, `{"c":"a/b"}`, "", `400: collection: a collection name may hold letters, digits, '-', '_' and '.', not '/'`},
			{`{operation: get, collection: c, id: "{{ message.id }}"}`, `{}`, "", `400: id: the document id is empty`},
			{`{operation: insert, collection: c, document: "{{ message.doc }}"}`, `{"doc":[1]}`, "", `400: document: expected an object, got array`},
			{`{operation: insert, collection: c, document: {}, ttl: "{{ message.ttl }}"}`, `{"ttl":"soon"}`, "", `400: ttl: expected a ttl like 30m, 24h or a number of milliseconds, got "soon"`},
			// A long value is cut for the message at a rune boundary, never inside é.
			{`{operation: insert, collection: c, document: {}, ttl: "{{ message.ttl }}"}`, `{"ttl":"aéééééééééééééééééééééééééééééé"}`, "", `400: ttl: expected a ttl like 30m, 24h or a number of milliseconds, got "aééééééééééééééééééé…"`},
			{`{operation: insert, collection: c, document: {}, ttl: "{{ message.ttl }}"}`, `{"ttl":-5}`, "", `400: ttl: must be above 0, got -5`},
			{`{operation: find, collection: c, query: "{{ message.q }}"}`, `{"q":"x"}`, "", `400: query: expected an object, got string`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt, _ := newRuntime(t)
			runSteps(t, rt, tt.steps)
		})
	}
}

func TestGeneratedIDs(t *testing.T) {
	rt, _ := newRuntime(t)
	p := load(t, "  - object-store: {operation: insert, collection: g, document: \"{{ message }}\"}\n")
	var ids []string
	for i := range 3 {
		out, err := p.Run(context.Background(), rt, value.ObjectOf("i", int64(i)), engine.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		doc := out.(*value.Object)
		data, _ := doc.Get("data")
		id, _ := data.([]any)[0].(*value.Object).Get("_oId")
		ids = append(ids, id.(string))
	}
	re := regexp.MustCompile(`^[0-9a-f]{24}$`)
	for _, id := range ids {
		if !re.MatchString(id) {
			t.Errorf("id %q is not 24 hex digits", id)
		}
	}
	if ids[0] == ids[1] || ids[1] == ids[2] {
		t.Errorf("ids repeat: %v", ids)
	}
	if ids[0][:12] > ids[2][:12] {
		t.Errorf("ids are not in time order: %v", ids)
	}
}

// TestExpiry checks what each write does to the document's expiry in the
// store, and that an expired document is gone, without waiting for time to
// pass.
func TestExpiry(t *testing.T) {
	rt, st := newRuntime(t)
	ctx := context.Background()
	expiry := func(id string) time.Time {
		t.Helper()
		it, err := st.Get(ctx, "objects/e", id)
		if err != nil {
			t.Fatal(err)
		}
		return it.ExpiresAt
	}
	near := func(got time.Time, d time.Duration) bool {
		want := time.Now().Add(d)
		return got.After(want.Add(-time.Minute)) && got.Before(want.Add(time.Minute))
	}
	runSteps(t, rt, []step{
		{`{operation: insert, collection: e, id: a, document: {}, ttl: 2h}`, in0, `{"data":[{"_oId":"a"}],"updateCount":1}`, ""},
		{`{operation: insert, collection: e, id: b, document: {}, ttl: "{{ message.ms }}"}`, `{"ms":600000}`, `{"data":[{"_oId":"b"}],"updateCount":1}`, ""},
		{`{operation: insert, collection: e, id: c, document: {}}`, in0, `{"data":[{"_oId":"c"}],"updateCount":1}`, ""},
	})
	if !near(expiry("a"), 2*time.Hour) || !near(expiry("b"), 10*time.Minute) || !expiry("c").IsZero() {
		t.Fatalf("expiries: a %v, b %v, c %v", expiry("a"), expiry("b"), expiry("c"))
	}
	before := expiry("a")
	runSteps(t, rt, []step{
		{`{operation: update, collection: e, id: a, document: {n: 1}}`, in0, `{"data":[{"n":1,"_oId":"a"}],"updateCount":1}`, ""},
		{`{operation: update, collection: e, id: c, document: {n: 1}, ttl: 5h}`, in0, `{"data":[{"n":1,"_oId":"c"}],"updateCount":1}`, ""},
	})
	if !expiry("a").Equal(before) {
		t.Errorf("an update without ttl changed the expiry: %v, was %v", expiry("a"), before)
	}
	if !near(expiry("c"), 5*time.Hour) {
		t.Errorf("an update with ttl set expiry %v", expiry("c"))
	}
	// A document past its expiry is missing to every operation.
	if _, err := st.Put(ctx, "objects/e", "old", []byte(`{"n":1}`), store.ExpireAt(time.Now().Add(-time.Second))); err != nil {
		t.Fatal(err)
	}
	runSteps(t, rt, []step{
		{`{operation: get, collection: e, id: old, not_found: "null"}`, in0, `null`, ""},
		{`{operation: find, collection: e, query: {n: 1}}`, in0, `{"data":[{"n":1,"_oId":"a"},{"n":1,"_oId":"c"}],"rowCount":2}`, ""},
		{`{operation: insert, collection: e, id: old, document: {n: 2}}`, in0, `{"data":[{"n":2,"_oId":"old"}],"updateCount":1}`, ""},
	})
}

// TestConcurrentCompareAndSet runs many updates with the same match at
// once: exactly one wins, as refresh-token rotation needs.
func TestConcurrentCompareAndSet(t *testing.T) {
	rt, _ := newRuntime(t, bolt.WithNoSync())
	runSteps(t, rt, []step{{`{operation: insert, collection: f, id: fam, document: {gen: 0}}`, in0, `{"data":[{"gen":0,"_oId":"fam"}],"updateCount":1}`, ""}})
	p := load(t, "  - object-store: {operation: update, collection: f, id: fam, match: {gen: 0}, document: {gen: 1, by: \"{{ message.n }}\"}}\n")
	const n = 16
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := range n {
		wg.Go(func() {
			_, err := p.Run(context.Background(), rt, value.ObjectOf("n", int64(i)), engine.RunOptions{})
			if err != nil {
				codes[i] = engine.AsError(err).Code
			} else {
				codes[i] = 200
			}
		})
	}
	wg.Wait()
	won := 0
	for _, c := range codes {
		switch c {
		case 200:
			won++
		case 409:
		default:
			t.Errorf("unexpected code %d", c)
		}
	}
	if won != 1 {
		t.Errorf("%d updates won, want 1", won)
	}
}

// TestFindStreams finds across more documents than one page of the store.
func TestFindStreams(t *testing.T) {
	rt, st := newRuntime(t)
	var ops []store.Op
	for i := range 1000 {
		ops = append(ops, store.PutOp("objects/big", fmt.Sprintf("%04d", i), fmt.Appendf(nil, `{"i":%d,"even":%t}`, i, i%2 == 0)))
	}
	if err := st.Apply(context.Background(), ops...); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, yaml string
		count      int
		last       string
	}{
		{"every document", `{operation: find, collection: big, limit: 0}`, 1000, "0999"},
		{"half of them", `{operation: find, collection: big, limit: 0, query: {even: false}}`, 500, "0999"},
		{"the limit stops the scan", `{operation: find, collection: big, limit: 300, query: {even: true}}`, 300, "0598"},
		{"skip past a page", `{operation: find, collection: big, skip: 400, limit: 3, query: {even: true}}`, 3, "0804"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := load(t, "  - object-store: "+tt.yaml+"\n").Run(context.Background(), rt, nil, engine.RunOptions{})
			if err != nil {
				t.Fatal(err)
			}
			o := out.(*value.Object)
			data, _ := o.Get("data")
			list := data.([]any)
			rc, _ := o.Get("rowCount")
			if len(list) != tt.count || rc != int64(tt.count) {
				t.Fatalf("got %d documents (rowCount %v), want %d", len(list), rc, tt.count)
			}
			if id, _ := list[len(list)-1].(*value.Object).Get("_oId"); id != tt.last {
				t.Errorf("last id %v, want %s", id, tt.last)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct{ name, yaml, wantErr string }{
		{"bad collection", `{operation: get, collection: "a b", id: x}`, `steps[0].object-store.collection: a collection name may hold letters, digits, '-', '_' and '.', not ' '`},
		{"get without id", `{operation: get, collection: c}`, "get needs the id option"},
		{"insert without document", `{operation: insert, collection: c}`, "insert needs the document option"},
		{"option of another operation", `{operation: get, collection: c, id: x, query: {a: 1}}`, "steps[0].object-store.query: get does not use this option (it applies to find)"},
		{"option of another operation, at its place", `{operation: find, collection: c, upsert: true}`, "p.yaml:3:60: steps[0].object-store.upsert: find does not use this option (it applies to update)"},
		{"document not an object", `{operation: insert, collection: c, document: [1]}`, "steps[0].object-store.document: expected an object, got array"},
		{"bad ttl", `{operation: insert, collection: c, document: {}, ttl: soon}`, `steps[0].object-store.ttl: expected a ttl like 30m, 24h or a number of milliseconds, got "soon"`},
		{"bad mode", `{operation: update, collection: c, id: x, document: {}, mode: patch}`, `expected one of merge, replace, got "patch"`},
		{"negative limit", `{operation: find, collection: c, limit: -1}`, "limit and skip cannot be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := engine.Load("p.yaml", []byte("name: p\nsteps:\n  - object-store: "+tt.yaml+"\n"), engine.LoadOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("got %v\nwant %s", err, tt.wantErr)
			}
		})
	}
}

func TestNoStore(t *testing.T) {
	p := load(t, "  - object-store: {operation: get, collection: c, id: x}\n")
	_, err := p.Run(context.Background(), &engine.Runtime{}, nil, engine.RunOptions{})
	if e := engine.AsError(err); e == nil || e.Code != 500 || !strings.Contains(e.Message, "store is not available") {
		t.Fatalf("got %v", err)
	}
}

// TestExample runs example.yaml on example.input.json twice (it must be
// repeatable) and compares the result with example.want.json.
func TestExample(t *testing.T) {
	rt, _ := newRuntime(t)
	enginetest.RunExample(t, ".", enginetest.Example{Runtime: rt, Runs: 2})
}

func benchRun(b *testing.B, rt *engine.Runtime, p *engine.Pipeline, in func(i int) any) {
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := p.Run(ctx, rt, in(i), engine.RunOptions{ExecutionID: "bench"}); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkObjectStore measures each operation through a one-step pipeline
// on a bbolt store (synced writes, as in production, for insert and
// update), next to the store call alone.
func BenchmarkObjectStore(b *testing.B) {
	doc := value.ObjectOf("name", "Ada", "tier", "gold", "address", value.ObjectOf("city", "London", "country", "UK"), "n", int64(1))
	b.Run("insert", func(b *testing.B) {
		rt, _ := newRuntime(b)
		p := load(b, "  - object-store: {operation: insert, collection: b, id: \"{{ message.id }}\", document: \"{{ message.doc }}\"}\n")
		benchRun(b, rt, p, func(i int) any { return value.ObjectOf("id", fmt.Sprint(i), "doc", doc) })
	})
	b.Run("insert/store-only", func(b *testing.B) {
		_, st := newRuntime(b)
		raw := []byte(value.MustEncodeString(doc))
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := st.Create(context.Background(), "objects/b", fmt.Sprint(i), raw); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("get", func(b *testing.B) {
		rt, st := newRuntime(b)
		st.Put(context.Background(), "objects/b", "a1", []byte(value.MustEncodeString(doc)))
		p := load(b, "  - object-store: {operation: get, collection: b, id: a1}\n")
		benchRun(b, rt, p, func(int) any { return nil })
	})
	b.Run("update-merge", func(b *testing.B) {
		rt, st := newRuntime(b)
		st.Put(context.Background(), "objects/b", "a1", []byte(value.MustEncodeString(doc)))
		p := load(b, "  - object-store: {operation: update, collection: b, id: a1, document: {n: \"{{ message.n }}\"}}\n")
		benchRun(b, rt, p, func(i int) any { return value.ObjectOf("n", int64(i)) })
	})
	b.Run("find-1000", func(b *testing.B) {
		rt, st := newRuntime(b)
		var ops []store.Op
		for i := range 1000 {
			ops = append(ops, store.PutOp("objects/b", fmt.Sprintf("%04d", i), fmt.Appendf(nil, `{"i":%d,"tier":%q}`, i, []string{"gold", "silver"}[i%2])))
		}
		st.Apply(context.Background(), ops...)
		p := load(b, "  - object-store: {operation: find, collection: b, query: {tier: gold}, limit: 0}\n")
		benchRun(b, rt, p, func(int) any { return nil })
	})
}

// TestStoreOpenErrorIsMatchable checks that a store that cannot be opened
// (its file held by another open) fails the step with a 503 that wraps the
// store's error, so that errors.Is finds bolt.ErrLocked.
func TestStoreOpenErrorIsMatchable(t *testing.T) {
	dir := t.TempDir()
	held, err := bolt.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { held.Close() })
	rt := &engine.Runtime{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	objectstore.InstallOpener(rt, func() (store.Store, error) { return bolt.Open(dir, bolt.WithTimeout(time.Millisecond)) })
	p := load(t, "  - object-store: {operation: get, collection: c, id: x}\n")
	_, err = p.Run(context.Background(), rt, value.NewObject(0), engine.RunOptions{})
	if !errors.Is(err, bolt.ErrLocked) || engine.AsError(err).Code != 503 {
		t.Fatalf("got %#v, want a 503 wrapping bolt.ErrLocked", err)
	}
}

// TestGetSeesEveryWrite runs one compiled get step (so that whatever it
// keeps between runs is kept) over a document changed behind it in every
// way the store allows: rewritten with other bytes, with bytes of the same
// length, deleted, re-created, given a ttl that expires. Each get gives
// what the store holds at that moment.
func TestGetSeesEveryWrite(t *testing.T) {
	rt, st := newRuntime(t)
	ctx := context.Background()
	p := load(t, "  - object-store: {operation: get, collection: c, id: \"{{ message.id }}\", not_found: \"null\"}\n")
	get := func() string {
		t.Helper()
		out, err := p.Run(ctx, rt, value.ObjectOf("id", "a1"), engine.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return value.MustEncodeString(out)
	}
	put := func(doc string, opts ...store.WriteOption) {
		t.Helper()
		if _, err := st.Put(ctx, "objects/c", "a1", []byte(doc), opts...); err != nil {
			t.Fatal(err)
		}
	}
	put(`{"n":1,"s":"abc"}`)
	for i, c := range []struct {
		write func()
		want  string
	}{
		{func() {}, `{"n":1,"s":"abc","_oId":"a1"}`},
		{func() {}, `{"n":1,"s":"abc","_oId":"a1"}`},
		{func() { put(`{"n":2,"s":"abd"}`) }, `{"n":2,"s":"abd","_oId":"a1"}`}, // same length
		{func() { put(`{"n":2}`) }, `{"n":2,"_oId":"a1"}`},
		{func() {
			if err := st.Delete(ctx, "objects/c", "a1"); err != nil {
				t.Fatal(err)
			}
		}, `null`},
		{func() { put(`{"n":2}`) }, `{"n":2,"_oId":"a1"}`}, // the same bytes again
		{func() { put(`{"n":2}`, store.TTL(time.Millisecond)); time.Sleep(5 * time.Millisecond) }, `null`},
	} {
		c.write()
		if got := get(); got != c.want {
			t.Fatalf("get %d: got %s, want %s", i, got, c.want)
		}
	}
}

// TestGetDecodesOncePerVersion: a get step whose document has not changed
// since its last run gives the document it decoded then (documents are
// shared, never changed, like every message), and a new one once the stored
// bytes change; another id is never given it.
func TestGetDecodesOncePerVersion(t *testing.T) {
	rt, st := newRuntime(t)
	ctx := context.Background()
	for _, id := range []string{"a1", "a2"} {
		if _, err := st.Put(ctx, "objects/c", id, []byte(`{"n":1}`)); err != nil {
			t.Fatal(err)
		}
	}
	p := load(t, "  - object-store: {operation: get, collection: c, id: \"{{ message.id }}\"}\n")
	get := func(id string) *value.Object {
		t.Helper()
		out, err := p.Run(ctx, rt, value.ObjectOf("id", id), engine.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return out.(*value.Object)
	}
	first := get("a1")
	if again := get("a1"); again != first {
		t.Errorf("the unchanged document was decoded again")
	}
	if other := get("a2"); other == first || value.MustEncodeString(other) != `{"n":1,"_oId":"a2"}` {
		t.Errorf("a2 gave %s", value.MustEncodeString(other))
	}
	if _, err := st.Put(ctx, "objects/c", "a1", []byte(`{"n":3}`)); err != nil {
		t.Fatal(err)
	}
	if changed := get("a1"); changed == first || value.MustEncodeString(changed) != `{"n":3,"_oId":"a1"}` {
		t.Errorf("after a write, got %s", value.MustEncodeString(changed))
	}
	if value.MustEncodeString(first) != `{"n":1,"_oId":"a1"}` {
		t.Errorf("the first document changed: %s", value.MustEncodeString(first))
	}
}

// TestGetConcurrentWithWrites gets and rewrites one document from several
// goroutines (go test -race checks what the get step shares between runs);
// every get gives one of the versions written, whole.
func TestGetConcurrentWithWrites(t *testing.T) {
	rt, st := newRuntime(t, bolt.WithNoSync())
	ctx := context.Background()
	if _, err := st.Put(ctx, "objects/c", "a1", []byte(`{"v":0,"pad":"x"}`)); err != nil {
		t.Fatal(err)
	}
	p := load(t, "  - object-store: {operation: get, collection: c, id: a1}\n")
	valid := regexp.MustCompile(`^\{"v":[0-9]+,"pad":"x+","_oId":"a1"\}$`)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				if g == 0 {
					doc := fmt.Sprintf(`{"v":%d,"pad":%q}`, i, strings.Repeat("x", 1+i%7))
					if _, err := st.Put(ctx, "objects/c", "a1", []byte(doc)); err != nil {
						errs <- err
						return
					}
					continue
				}
				out, err := p.Run(ctx, rt, value.NewObject(0), engine.RunOptions{})
				if err != nil {
					errs <- err
					return
				}
				if s := value.MustEncodeString(out); !valid.MatchString(s) {
					errs <- fmt.Errorf("get gave %s", s)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestGetKeepsBoundedDocuments: a get step keeps what it decoded within a
// bound (1024 ids, 1 MB of JSON): after 1100 other documents of 1 KB, the
// first one read is decoded again, and every document is still right.
func TestGetKeepsBoundedDocuments(t *testing.T) {
	rt, st := newRuntime(t, bolt.WithNoSync())
	ctx := context.Background()
	var ops []store.Op
	for i := range 1101 {
		ops = append(ops, store.PutOp("objects/c", fmt.Sprint(i), fmt.Appendf(nil, `{"i":%d,"pad":%q}`, i, strings.Repeat("x", 1000))))
	}
	if err := st.Apply(ctx, ops...); err != nil {
		t.Fatal(err)
	}
	p := load(t, "  - object-store: {operation: get, collection: c, id: \"{{ message.id }}\"}\n")
	get := func(i int) *value.Object {
		t.Helper()
		out, err := p.Run(ctx, rt, value.ObjectOf("id", fmt.Sprint(i)), engine.RunOptions{})
		if err != nil {
			t.Fatal(err)
		}
		o := out.(*value.Object)
		if n, _ := o.Get("i"); n != int64(i) {
			t.Fatalf("document %d gave %s", i, value.MustEncodeString(o))
		}
		return o
	}
	first := get(0)
	if get(0) != first {
		t.Fatal("the document was not kept")
	}
	for i := 1; i <= 1100; i++ {
		get(i)
	}
	if get(0) == first {
		t.Error("the step kept more than its bound")
	}
}

// TestCollectionFromTemplateEachRun: one step whose collection comes from
// the message reads the collection each run names, and refuses a bad name
// every time, also right after a good one (the step keeps the last name it
// checked).
func TestCollectionFromTemplateEachRun(t *testing.T) {
	rt, st := newRuntime(t)
	for _, c := range []string{"one", "two"} {
		if _, err := st.Put(t.Context(), objectstore.BucketPrefix+c, "x", []byte(`{"in":"`+c+`"}`)); err != nil {
			t.Fatal(err)
		}
	}
	p := load(t, `  - object-store: {operation: get, collection: "{{ message.c }}", id: x}`+"\n")
	const bad = `400: collection: a collection name may hold letters, digits, '-', '_' and '.', not '/'`
	for i, c := range []struct{ coll, want string }{
		{"one", `{"in":"one","_oId":"x"}`}, {"one", `{"in":"one","_oId":"x"}`}, {"two", `{"in":"two","_oId":"x"}`},
		{"a/b", bad}, {"one", `{"in":"one","_oId":"x"}`}, {"a/b", bad}, {"a/b", bad},
	} {
		out, err := p.Run(t.Context(), rt, value.ObjectOf("c", c.coll), engine.RunOptions{})
		got := value.MustEncodeString(out)
		if err != nil {
			e := engine.AsError(err)
			got = fmt.Sprintf("%d: %s", e.Code, e.Message)
		}
		if got != c.want {
			t.Errorf("run %d (collection %q): got %s, want %s", i, c.coll, got, c.want)
		}
	}
}
