package value_test

import (
	"fmt"
	"testing"

	"github.com/nectar-run/nectar/engine/value"
)

// ExampleReplace masks the values of "password" keys at any depth.
func ExampleReplace() {
	in, _ := value.Decode([]byte(`{"user":"ada","auth":{"password":"s3cret"},"tags":["a"]}`))
	out := value.Replace(in, func(k string, v any) (any, bool) {
		if k == "password" {
			return "***", true
		}
		return nil, false
	})
	fmt.Println(value.MustEncodeString(out))
	fmt.Println(value.MustEncodeString(in))
	// Output:
	// {"user":"ada","auth":{"password":"***"},"tags":["a"]}
	// {"user":"ada","auth":{"password":"s3cret"},"tags":["a"]}
}

// TestReplaceShares: what holds no replacement is shared, not copied, and
// Same tells whether anything was replaced.
func TestReplaceShares(t *testing.T) {
	in, _ := value.Decode([]byte(`{"a":{"b":1},"c":[{"d":"x"}],"e":"y"}`))
	keep := func(string, any) (any, bool) { return nil, false }
	if out := value.Replace(in, keep); !value.Same(out, in) {
		t.Fatal("nothing replaced, but a copy came back")
	}
	out := value.Replace(in, func(k string, v any) (any, bool) {
		if k == "d" {
			return "z", true
		}
		return nil, false
	})
	if value.Same(out, in) {
		t.Fatal("a replacement below, but the same object came back")
	}
	o, i := out.(*value.Object), in.(*value.Object)
	oa, _ := o.Get("a")
	ia, _ := i.Get("a")
	if !value.Same(oa, ia) {
		t.Error("the untouched member a was copied")
	}
	oc, _ := o.Get("c")
	ic, _ := i.Get("c")
	if value.Same(oc, ic) {
		t.Error("the list holding the replacement was not copied")
	}
	if got := value.MustEncodeString(out); got != `{"a":{"b":1},"c":[{"d":"z"}],"e":"y"}` {
		t.Errorf("got %s", got)
	}
	if got := value.MustEncodeString(in); got != `{"a":{"b":1},"c":[{"d":"x"}],"e":"y"}` {
		t.Errorf("the input changed: %s", got)
	}
	if !value.Same(int64(3), int64(3)) || value.Same(int64(3), "3") || value.Same("***", int64(3)) {
		t.Error("Same on scalars")
	}
}
