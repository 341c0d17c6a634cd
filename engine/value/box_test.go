package value_test

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine/value"
)

// TestDecodedValuesAreKept decodes more strings and numbers than one slab
// holds, drops every other reference, collects the garbage, and checks
// that each value is still what the text said and that a second decode
// shares nothing with the first.
func TestDecodedValuesAreKept(t *testing.T) {
	const n = 1000
	doc := func(off int) string {
		var sb strings.Builder
		sb.WriteByte('[')
		for i := range n {
			if i > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, `"s%d",%d,%d.5,-%d,"esc\n%d",""`, i+off, 1000+i+off, i+off, i+off, i+off)
		}
		sb.WriteByte(']')
		return sb.String()
	}
	check := func(v any, off int) {
		t.Helper()
		a := v.([]any)
		if len(a) != 6*n {
			t.Fatalf("%d values, want %d", len(a), 6*n)
		}
		for i := range n {
			want := []any{fmt.Sprintf("s%d", i+off), int64(1000 + i + off), float64(i+off) + 0.5, -int64(i + off), fmt.Sprintf("esc\n%d", i+off), ""}
			for j, w := range want {
				if got := a[6*i+j]; got != w {
					t.Fatalf("value %d: got %#v, want %#v", 6*i+j, got, w)
				}
			}
		}
	}
	first, err := value.DecodeString(doc(0))
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	second, err := value.DecodeString(doc(7))
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	check(first, 0)
	check(second, 7)
}

// TestDecodeAllocations bounds the allocations of decoding a 1 KB record:
// strings and numbers are boxed in slabs, keys are not boxed at all, and
// the objects and arrays come from slabs too. It counts allocations, not
// time. With a box per string and number and per key, it took 109; with an
// allocation per object and array, 14; with a slab of each kind, 6.
func TestDecodeAllocations(t *testing.T) {
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := value.DecodeString(customer); err != nil {
			t.Fatal(err)
		}
	})
	// The first slabs of strings, objects, fields, array elements and
	// array headers in one block (firstSlabs), and one of numbers.
	if allocs > 2 {
		t.Errorf("decoding the record took %v allocations, want at most 2", allocs)
	}
}

// TestEncodeAllocations: Encode writes into a pooled buffer and copies the
// text out at its size, one allocation for a 1 KB record; growing a new
// slice from 256 bytes took three (counted, not timed).
func TestEncodeAllocations(t *testing.T) {
	v, err := value.DecodeString(customer)
	if err != nil {
		t.Fatal(err)
	}
	want, err := value.Encode(v)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != customer {
		t.Fatalf("Encode gave %s", want)
	}
	allocs := testing.AllocsPerRun(20, func() {
		if _, err := value.Encode(v); err != nil {
			t.Fatal(err)
		}
	})
	// Below 2, not 1: a garbage collection during the runs may empty the
	// pool once.
	if allocs >= 2 {
		t.Errorf("encoding the record took %v allocations, want 1", allocs)
	}
}

// customer is the ~1 KB record of ../shared/limits (customer.json).
const customer = `{"id":"c-000184223","first_name":"Margarethe","last_name":"Villanueva-Okonkwo","email":"m.villanueva.okonkwo@example.com","phone":"+44 20 7946 0958","created_at":"2023-04-18T09:27:41Z","status":"active","tier":"gold","marketing_opt_in":true,"lifetime_value":18422.75,"credit_limit":25000,"tags":["wholesale","priority","eu-vat","net-30"],"address":{"line1":"Flat 4, 221 Kingsland Road","line2":"Haggerston","city":"London","region":"Greater London","postal_code":"E2 8AN","country":"GB"},"billing":{"currency":"GBP","vat_number":"GB123456789","payment_terms_days":30,"iban_last4":"4821"},"preferences":{"language":"en-GB","timezone":"Europe/London","channels":["email","sms"],"newsletter":false},"orders":[{"order_id":"o-99120","total":412.5,"items":3,"placed_at":"2024-11-02T14:03:11Z"},{"order_id":"o-99533","total":87.2,"items":1,"placed_at":"2024-12-19T08:45:00Z"},{"order_id":"o-100871","total":1290,"items":12,"placed_at":"2025-01-07T17:22:36Z"}],"notes":"Prefers delivery before noon; loading bay at rear entrance."}`

// TestDecodeRepeatedKeys: a repeated key keeps its first place and its
// last value, in objects copied in one move (up to 32 keys) and in larger
// ones built key by key.
func TestDecodeRepeatedKeys(t *testing.T) {
	for _, n := range []int{2, 20, 32, 40} {
		var in, want strings.Builder
		in.WriteByte('{')
		want.WriteByte('{')
		for i := range n {
			if i > 0 {
				in.WriteByte(',')
				want.WriteByte(',')
			}
			fmt.Fprintf(&in, `"k%d":%d`, i, i)
			v := i
			if i == 1 {
				v = -1 // the repeat below sets it
			}
			fmt.Fprintf(&want, `"k%d":%d`, i, v)
		}
		in.WriteString(`,"k1":-1}`)
		want.WriteByte('}')
		v, err := value.DecodeString(in.String())
		if err != nil {
			t.Fatal(err)
		}
		if got := value.MustEncodeString(v); got != want.String() {
			t.Errorf("%d keys: got %s\nwant %s", n, got, want.String())
		}
	}
}

// TestBoxer checks that a Boxer's values hold their strings, across slabs,
// and stay as they were while more are boxed.
func TestBoxer(t *testing.T) {
	var bx value.Boxer
	var got []any
	for i := range 200 {
		got = append(got, bx.String(strconv.Itoa(i)))
	}
	got = append(got, bx.String(""))
	for i := range 200 {
		if s, ok := got[i].(string); !ok || s != strconv.Itoa(i) {
			t.Fatalf("value %d = %#v", i, got[i])
		}
	}
	if got[200] != "" {
		t.Errorf("empty string boxed as %#v", got[200])
	}
}

// TestBoxerRoom: a Boxer given room boxes that many strings into it
// without allocating, then goes on in slabs of its own; every value keeps
// its string, across a garbage collection, and the room's neighbours in
// their holder are not written.
func TestBoxerRoom(t *testing.T) {
	holder := new(struct {
		before string
		room   [16]string
		after  string
	})
	holder.before, holder.after = "b", "a"
	sink := make([]any, len(holder.room))
	n := testing.AllocsPerRun(10, func() {
		var bx value.Boxer
		bx.Room(holder.room[:])
		for i := range holder.room {
			sink[i] = bx.String(strs[i])
		}
	})
	if n != 0 {
		t.Errorf("boxing %d strings into a room of %d took %v allocations, want 0", len(holder.room), len(holder.room), n)
	}
	holder.room = [16]string{}
	var bx value.Boxer
	bx.Room(holder.room[:])
	var boxed []any
	for _, s := range strs {
		boxed = append(boxed, bx.String(s))
	}
	runtime.GC()
	for i, v := range boxed {
		if s, ok := v.(string); !ok || s != strs[i] {
			t.Fatalf("value %d = %#v, want %q", i, v, strs[i])
		}
	}
	if holder.before != "b" || holder.after != "a" {
		t.Errorf("the room's neighbours were written: %q %q", holder.before, holder.after)
	}
	if holder.room[3] != strs[3] {
		t.Errorf("room slot 3 holds %q, want %q", holder.room[3], strs[3])
	}
}

// strs are the strings TestBoxerRoom boxes.
var strs = func() []string {
	var out []string
	for i := range 100 {
		out = append(out, "s"+strconv.Itoa(i))
	}
	return out
}()

// TestSmallArraysAndObjectsAreKept decodes arrays and objects of every
// size around the one-allocation classes (header or object and elements
// in one block, up to 16), keeps only the inner values, collects the
// garbage, and checks each still holds its elements and that appending to
// one or setting a key in one leaves the others as they were.
func TestSmallArraysAndObjectsAreKept(t *testing.T) {
	var sb strings.Builder
	sb.WriteByte('[')
	for n := range 20 {
		if n > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`[[`)
		for i := range n {
			if i > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, `"a%d-%d"`, n, i)
		}
		sb.WriteString(`],{`)
		for i := range n {
			if i > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, `"k%d":%d`, i, 1000*n+i)
		}
		sb.WriteString(`}]`)
	}
	sb.WriteByte(']')
	v, err := value.DecodeString(sb.String())
	if err != nil {
		t.Fatal(err)
	}
	var arrays []any
	var objects []*value.Object
	for _, pair := range v.([]any) {
		p := pair.([]any)
		arrays = append(arrays, p[0])
		objects = append(objects, p[1].(*value.Object))
	}
	v = nil
	runtime.GC()
	for n, a := range arrays {
		grown := append(a.([]any), "more")
		objects[n].Set("new", "x")
		objects[n].Set("k0", "changed")
		_ = grown
	}
	runtime.GC()
	for n := range arrays {
		a := arrays[n].([]any)
		if len(a) != n || cap(a) != n {
			t.Fatalf("array %d: len %d cap %d", n, len(a), cap(a))
		}
		for i, x := range a {
			if want := fmt.Sprintf("a%d-%d", n, i); x != want {
				t.Fatalf("array %d element %d: %#v, want %q", n, i, x, want)
			}
		}
		o := objects[n]
		want := max(n, 1) + 1 // k0 was there, or is new
		if o.Len() != want {
			t.Fatalf("object %d has %d keys, want %d", n, o.Len(), want)
		}
		for i := 1; i < n; i++ {
			if got, _ := o.Get(fmt.Sprintf("k%d", i)); got != int64(1000*n+i) {
				t.Fatalf("object %d key k%d: %#v", n, i, got)
			}
		}
	}
	for n := range 20 {
		o := value.NewObject(n)
		for i := range n + 3 {
			o.Set(strconv.Itoa(i), int64(i))
		}
		if got := value.MustEncodeString(o); !strings.HasPrefix(got, `{"0":0,`) || o.Len() != n+3 {
			t.Fatalf("NewObject(%d) after %d sets: %s", n, n+3, got)
		}
	}
}

// TestDecodedNeighboursStayApart decodes many objects and arrays of every
// size from 0 to 300 members (the decoder carves them out of shared slabs,
// several slabs' worth here, and one larger than a slab), grows each object
// key by key well past the room it was decoded with, deletes from it,
// appends to each array, and then checks every object and array holds
// exactly what was done to it: no write to one reached another.
func TestDecodedNeighboursStayApart(t *testing.T) {
	sizes := []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 100, 255, 256, 257, 300}
	var sb strings.Builder
	sb.WriteByte('[')
	for round := range 3 {
		for j, n := range sizes {
			if round+j > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, `{"tag":"o%d-%d"`, round, j)
			for i := range n {
				fmt.Fprintf(&sb, `,"k%d":%d`, i, i)
			}
			fmt.Fprintf(&sb, `},["a%d-%d"`, round, j)
			for i := range n {
				fmt.Fprintf(&sb, `,%d`, i)
			}
			sb.WriteByte(']')
		}
	}
	sb.WriteByte(']')
	v, err := value.DecodeString(sb.String())
	if err != nil {
		t.Fatal(err)
	}
	all := v.([]any)
	var objects []*value.Object
	var arrays [][]any
	for i := 0; i < len(all); i += 2 {
		objects = append(objects, all[i].(*value.Object))
		arrays = append(arrays, all[i+1].([]any))
	}
	// Every object grows by 40 keys and loses its first k (k0 stays when
	// it had none); every array gets 3 more elements.
	for j, o := range objects {
		for i := range 40 {
			o.Set(fmt.Sprintf("new%d", i), fmt.Sprintf("n%d-%d", j, i))
		}
		o.Delete("k0")
		a := arrays[j]
		if len(a) != cap(a) {
			t.Fatalf("array %d: len %d cap %d, want no spare room", j, len(a), cap(a))
		}
		arrays[j] = append(a, "x", "y", fmt.Sprint(j))
	}
	runtime.GC()
	for j, o := range objects {
		round, n := j/len(sizes), sizes[j%len(sizes)]
		var want strings.Builder
		fmt.Fprintf(&want, `{"tag":"o%d-%d"`, round, j%len(sizes))
		for i := 1; i < n; i++ {
			fmt.Fprintf(&want, `,"k%d":%d`, i, i)
		}
		for i := range 40 {
			fmt.Fprintf(&want, `,"new%d":"n%d-%d"`, i, j, i)
		}
		want.WriteByte('}')
		if got := value.MustEncodeString(o); got != want.String() {
			t.Fatalf("object %d (%d members):\n got %s\nwant %s", j, n, got, want.String())
		}
		var wantA strings.Builder
		fmt.Fprintf(&wantA, `["a%d-%d"`, round, j%len(sizes))
		for i := range n {
			fmt.Fprintf(&wantA, `,%d`, i)
		}
		fmt.Fprintf(&wantA, `,"x","y","%d"]`, j)
		if got := value.MustEncodeString(arrays[j]); got != wantA.String() {
			t.Fatalf("array %d (%d elements):\n got %s\nwant %s", j, n+1, got, wantA.String())
		}
	}
}

// TestBlockSlabsStayApart decodes documents of every length range whose
// first slabs come from one block (257 to 4096 bytes, and either side of
// each block's bounds), made of small objects, arrays, strings and numbers
// enough to fill each first slab and start more; keeps every decoded
// value while more documents are decoded; grows every object and array
// past its room, deletes from the objects; collects the garbage; and
// checks each holds exactly what was decoded and done to it, and encodes
// back to its own document: no write reached a neighbour, no decode
// reused another's block.
func TestBlockSlabsStayApart(t *testing.T) {
	doc := func(n, tag int) string {
		var sb strings.Builder
		sb.WriteByte('[')
		for i := 0; sb.Len() < n-40; i++ {
			if i > 0 {
				sb.WriteByte(',')
			}
			switch i % 4 {
			case 0:
				fmt.Fprintf(&sb, `{"t":"d%d-%d","n":%d}`, tag, i, 1000+i)
			case 1:
				fmt.Fprintf(&sb, `["d%d-%d",%d.5]`, tag, i, i)
			case 2:
				fmt.Fprintf(&sb, `"s%d-%d"`, tag, i)
			default:
				fmt.Fprintf(&sb, `{}`)
			}
		}
		sb.WriteByte(']')
		return sb.String()
	}
	var lengths []int
	for _, b := range []int{256, 512, 1024, 2048, 4096} {
		lengths = append(lengths, b-1, b, b+1, b+60)
	}
	lengths = append(lengths, 300, 700, 1500, 3000)
	type kept struct {
		text string
		v    []any
	}
	var all []kept
	for tag, n := range lengths {
		text := doc(n, tag)
		v, err := value.DecodeString(text)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, kept{text, v.([]any)})
	}
	for _, k := range all {
		if got := value.MustEncodeString(k.v); got != k.text {
			t.Fatalf("a kept document reads\n%s\nwant\n%s", got, k.text)
		}
	}
	for j, k := range all {
		for i, e := range k.v {
			switch e := e.(type) {
			case *value.Object:
				for m := range 20 {
					e.Set(fmt.Sprintf("new%d", m), fmt.Sprintf("x%d-%d-%d", j, i, m))
				}
				e.Delete("n")
			case []any:
				k.v[i] = append(e, fmt.Sprintf("y%d-%d", j, i))
			}
		}
	}
	runtime.GC()
	for j, k := range all {
		want, err := value.DecodeString(k.text)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range want.([]any) {
			switch e := e.(type) {
			case *value.Object:
				for m := range 20 {
					e.Set(fmt.Sprintf("new%d", m), fmt.Sprintf("x%d-%d-%d", j, i, m))
				}
				e.Delete("n")
			case []any:
				want.([]any)[i] = append(e, fmt.Sprintf("y%d-%d", j, i))
			}
		}
		if got, w := value.MustEncodeString(k.v), value.MustEncodeString(want); got != w {
			t.Fatalf("document %d (%d bytes) after the changes:\n got %s\nwant %s", j, len(k.text), got, w)
		}
	}
}
