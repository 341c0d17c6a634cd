package expression_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine/expression"
	"github.com/nectar-run/nectar/engine/value"
)

// TestMemberAccessAsBefore evaluates member accesses (message.x, written
// keys with dots, escapes, $ and the empty key, optional chaining) on
// objects, lists, strings, numbers, booleans and null, alone and inside a
// list literal (the two fast paths), and compares each
// result, its type and its error with testdata/member_access.golden. The
// golden file was written by this test on de5e6c1, before member access
// took its fast path (getField, 2748657): the fast path must give what
// the general one gave, value for value and error for error.
func TestMemberAccessAsBefore(t *testing.T) {
	msgs := []string{`{"a":1,"b":{"c":[1,2,{"d":"x"}]},"a.b":"dot","$":"dollar","":"empty","é":"acc","nil":null}`,
		`[1,2,3]`, `"str"`, `null`, `12`, `true`, `{"b":null}`, `{"b":[]}`, `{"b":"text"}`, `{"b":{"c":null}}`}
	exprs := []string{"message.a", "message.b", "message.b.c", "message.b.c[2].d", "message['a.b']", "message.a.b", "message.$", "message['$']",
		"message['']", "message['\\u00e9']", "message.é", "message.nil", "message.nil.x", "message.x.y.z", "message[0]", "message[-1]",
		"message.b.c.d", "message.b.c[0].x", "message?.b?.c", "message.b?.c", "message.length", "message[1]", "message['1']",
		"message.b.c['0']", "message.b['c']", "vars.x", "vars.x.y", "metadata.m", "message.b.c[5]", "message.a.x", "message.b.c.x"}
	want, err := os.ReadFile("testdata/member_access.golden")
	if err != nil {
		t.Fatal(err)
	}
	wantLines := strings.Split(strings.TrimSuffix(string(want), "\n"), "\n")
	for _, src := range []string{"message.a", "message.b.c[2].d", "message['a.b']", "[message.a.b]"} {
		if e, err := expression.Compile(src, expression.Options{}); err != nil || !e.HasFastPath() {
			t.Fatalf("%s: no fast path (%v): the test would not test it", src, err)
		}
	}
	i := 0
	for _, m := range msgs {
		v, err := value.DecodeString(m)
		if err != nil {
			t.Fatal(err)
		}
		for _, src := range forms(exprs) {
			var got string
			if e, err := expression.Compile(src, expression.Options{}); err != nil {
				got = fmt.Sprintf("%s | %s | compile %v", m, src, err)
			} else {
				out, err := e.Eval(&expression.Env{Message: v, Vars: value.ObjectOf("x", "s"), Metadata: value.NewObject(0)})
				s, _ := value.Encode(out)
				got = fmt.Sprintf("%s | %s | %s %T | %v", m, src, s, out, err)
			}
			if i >= len(wantLines) {
				t.Fatalf("more cases than the golden file's %d lines", len(wantLines))
			}
			if got != wantLines[i] {
				t.Errorf("got  %s\nwant %s", got, wantLines[i])
			}
			i++
		}
	}
	if i != len(wantLines) {
		t.Errorf("%d cases, the golden file has %d lines", i, len(wantLines))
	}
}

// forms gives each expression as it is (a path, read by the path fast
// path) and inside a list literal (a member access among other nodes,
// compiled as a call of __get: getField).
func forms(exprs []string) []string {
	var out []string
	for _, e := range exprs {
		out = append(out, e, "["+e+"]")
	}
	return out
}
