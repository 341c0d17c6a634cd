package value_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine/value"
)

func TestRoundTrip(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"key order is kept", `{"b":1,"a":2,"c":{"z":1,"y":[1,{"q":1,"p":2}]}}`, ""},
		{"integers are exact", `{"big":9223372036854775807,"neg":-9223372036854775808,"u":18446744073709551615,"huge":123456789012345678901234567890}`, ""},
		{"floats stay floats", `[1.0,2.5,-0.125,1e+300,3.0e-7]`, `[1.0,2.5,-0.125,1e+300,3e-7]`},
		{"nested arrays of objects", `[[{"a":[{"b":[]}]},{}],[],[[]]]`, ""},
		{"escapes", `"a\"b\\c\n\t\u00e9\ud83d\ude00\u0001"`, `"a\"b\\c\n\té😀\u0001"`},
		{"white space", " { \"a\" : [ 1 , 2 ] } ", `{"a":[1,2]}`},
		{"repeated key keeps first place, last value", `{"a":1,"b":2,"a":3}`, `{"a":3,"b":2}`},
		{"many keys get an index", `{"k0":0,"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k11":11,"k12":12,"k13":13,"k14":14}`, ""},
		{"html is not escaped", `"<a href='x'>&</a>"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := value.DecodeString(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got := value.MustEncodeString(v)
			want := tt.want
			if want == "" {
				want = tt.in
			}
			if got != want {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name, in string
		offset   int64
	}{
		{"empty", ``, 0},
		{"trailing garbage", `{} x`, 3},
		{"missing colon", `{"a" 1}`, 5},
		{"leading zero", `01`, 1},
		{"unterminated string", `"abc`, 4},
		{"bad literal", `[tru]`, 1},
		{"trailing comma", `[1,]`, 3},
		{"control character", "\"a\x01\"", 2},
		{"bad escape", `"\x"`, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := value.DecodeString(tt.in)
			se, ok := err.(*value.SyntaxError)
			if !ok {
				t.Fatalf("got %v, want a syntax error", err)
			}
			if se.Offset != tt.offset {
				t.Errorf("offset %d, want %d (%v)", se.Offset, tt.offset, err)
			}
		})
	}
}

func TestDeepNestingIsRefused(t *testing.T) {
	in := strings.Repeat("[", value.MaxDepth+1) + strings.Repeat("]", value.MaxDepth+1)
	if _, err := value.DecodeString(in); err == nil || !strings.Contains(err.Error(), "nesting") {
		t.Fatalf("got %v", err)
	}
}

func TestObject(t *testing.T) {
	o := value.NewObject(0)
	for i := 0; i < 20; i++ {
		o.Set(string(rune('a'+i)), int64(i))
	}
	o.Delete("c")
	o.Set("a", "first")
	if got := strings.Join(o.Keys()[:3], ""); got != "abd" {
		t.Errorf("keys %q", got)
	}
	if v, _ := o.Get("t"); v != int64(19) {
		t.Errorf("indexed get gave %v", v)
	}
	c := value.DeepCopy(o).(*value.Object)
	c.Set("b", "changed")
	if v, _ := o.Get("b"); v != int64(1) {
		t.Errorf("deep copy shares state")
	}
}

func TestEqualAndCompare(t *testing.T) {
	a, _ := value.DecodeString(`{"x":[1,2.0,{"y":null}],"z":"s"}`)
	b, _ := value.DecodeString(`{"z":"s","x":[1.0,2,{"y":null}]}`)
	if !value.Equal(a, b) {
		t.Error("equal values differ")
	}
	if value.Compare(int64(2), 1.5) <= 0 || value.Compare("a", "b") >= 0 || value.Compare(nil, false) >= 0 {
		t.Error("compare order")
	}
}

// FuzzDecode checks Decode against encoding/json: both accept the same
// documents, and a decoded document re-encodes to an equal value.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"a":[1,2,{"b":null}]}`, `"\ud83d\ude00"`, `-0.5e10`, `[]`, `{"a":1,"a":2}`, `123456789012345678901234`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := value.Decode(data)
		valid := json.Valid(data)
		if (err == nil) != valid {
			t.Fatalf("Decode err=%v, json.Valid=%v for %q", err, valid, data)
		}
		if err != nil {
			return
		}
		out, err := value.Encode(v)
		if err != nil {
			return // NaN-free by construction; huge floats become json.Number
		}
		v2, err := value.Decode(out)
		if err != nil {
			t.Fatalf("re-decode of %q: %v", out, err)
		}
		if !value.Equal(v, v2) {
			t.Fatalf("round trip changed %q into %q", data, out)
		}
		if bytes.Contains(data, []byte(`\u`)) {
			return
		}
	})
}

func TestFromGoConvertsNestedMaps(t *testing.T) {
	in := []any{1, map[string]any{"b": 1, "a": []any{map[string]any{"x": int32(2)}}}}
	got := value.MustEncodeString(value.FromGo(in))
	if got != `[1,{"a":[{"x":2}],"b":1}]` {
		t.Fatalf("got %s", got)
	}
	if _, ok := value.FromGo(in).([]any)[1].(*value.Object); !ok {
		t.Fatal("nested map not converted")
	}
}

// TestDecodesShareNothing checks that a decoded value owns its memory:
// decodes reuse the decoder's scratch stacks and buffers, and a later
// decode (one that fails half-way too) must not change an earlier result.
func TestDecodesShareNothing(t *testing.T) {
	docs := []string{
		`{"a":[1,"x\n",{"b":null,"c":[true,2.5,"\u00e9"]}],"d":{"e":"f"}}`,
		`[{"k":"v","n":-300},{"k":"w"},[],{},"s\"q"]`,
		`{"z":[9,8,7],"y":{"x":{"w":"deep \\ text"}}}`,
	}
	var kept []any
	for _, d := range docs {
		v, err := value.DecodeString(d)
		if err != nil {
			t.Fatal(err)
		}
		kept = append(kept, v)
	}
	for range 50 {
		for _, d := range docs {
			if _, err := value.DecodeString(d); err != nil {
				t.Fatal(err)
			}
			if _, err := value.DecodeString(d[:len(d)/2]); err == nil {
				t.Fatalf("a cut document decoded: %s", d[:len(d)/2])
			}
		}
	}
	for i, d := range docs {
		want, _ := value.DecodeString(d)
		if got := value.MustEncodeString(kept[i]); got != value.MustEncodeString(want) {
			t.Errorf("decoded %s, later reads %s", d, got)
		}
	}
}

// TestDecimalsMatchParseFloat decodes numbers with a fraction (of every
// length around the 15 digits the decoder reads itself, the point at
// every place, signs, zeros, exponents) and checks each float is the one
// strconv.ParseFloat gives, to the bit.
func TestDecimalsMatchParseFloat(t *testing.T) {
	nums := []string{"0.0", "-0.0", "0.1", "-0.5", "1.25", "18422.75", "87.2", "412.5", "0.000001", "123456789012345.6",
		"1234567890123456.7", "999999999999999.9", "9007199254740993.0", "0.30000000000000004", "1.5e3", "-2.5E-3"}
	rng := rand.New(rand.NewPCG(1, 17))
	for digits := 1; digits <= 18; digits++ {
		for range 200 {
			ds := make([]byte, digits)
			for i := range ds {
				ds[i] = byte('0' + rng.IntN(10))
			}
			if digits > 1 && ds[0] == '0' {
				ds[0] = '1'
			}
			at := 1 + rng.IntN(digits) // digits before the point
			n := string(ds[:at]) + "." + string(ds[at:])
			if at == digits {
				n += "0"
			}
			if rng.IntN(2) == 0 {
				n = "-" + n
			}
			nums = append(nums, n)
		}
	}
	v, err := value.DecodeString("[" + strings.Join(nums, ",") + "]")
	if err != nil {
		t.Fatal(err)
	}
	for i, got := range v.([]any) {
		want, err := strconv.ParseFloat(nums[i], 64)
		if err != nil {
			t.Fatal(err)
		}
		f, ok := got.(float64)
		if !ok || math.Float64bits(f) != math.Float64bits(want) {
			t.Errorf("%s decoded as %#v, want %v", nums[i], got, want)
		}
	}
}

// TestAppendNewKeepsLookups: keys added by AppendNew are found by Get, Has
// and Set on both sides of the index threshold, in the order they came.
func TestAppendNewKeepsLookups(t *testing.T) {
	// 32: the size past which an object keeps an index of its keys.
	for _, n := range []int{1, 32, 33, 96} {
		o := value.NewObject(0)
		for i := range n {
			o.AppendNew(fmt.Sprintf("k%d", i), i)
		}
		if o.Len() != n {
			t.Fatalf("n=%d: Len() = %d", n, o.Len())
		}
		for i := range n {
			k := fmt.Sprintf("k%d", i)
			if v, ok := o.Get(k); !ok || v != i {
				t.Fatalf("n=%d: Get(%q) = %v, %v; want %d", n, k, v, ok, i)
			}
			if got, _ := o.At(i); got != k {
				t.Fatalf("n=%d: key %d is %q, want %q", n, i, got, k)
			}
		}
		o.Set("k0", "again") // an existing key keeps its place
		if v, _ := o.Get("k0"); v != "again" || o.Len() != n {
			t.Fatalf("n=%d: after Set, k0 = %v and Len() = %d", n, v, o.Len())
		}
	}
}
