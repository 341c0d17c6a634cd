package value_test

import (
	"strconv"
	"testing"

	"github.com/nectar-run/nectar/engine/value"
)

// TestNewObjectGroupIndependent: the five objects of a group, filled in
// turns past their room (10, 6, 3, 0, 0 fields), each hold their own
// fields only: an append past one's room never writes into another's.
func TestNewObjectGroupIndependent(t *testing.T) {
	testGroupIndependent(t, value.NewObjectGroup)
}

// TestObjectGroupInAStruct: the objects of an ObjectGroup held in a
// struct of the caller's are independent as NewObjectGroup's are.
func TestObjectGroupInAStruct(t *testing.T) {
	testGroupIndependent(t, func() *[5]value.Object {
		holder := new(struct {
			before string
			g      value.ObjectGroup
			after  [4]string
		})
		holder.before, holder.after = "b", [4]string{"a", "a", "a", "a"}
		t.Cleanup(func() {
			if holder.before != "b" || holder.after != [4]string{"a", "a", "a", "a"} {
				t.Errorf("the group's neighbours in its holder were written: %q %q", holder.before, holder.after)
			}
		})
		return holder.g.Objects()
	})
}

func testGroupIndependent(t *testing.T, newGroup func() *[5]value.Object) {
	g := newGroup()
	const n = 40
	for i := range n {
		for j := range g {
			g[j].Set("k"+strconv.Itoa(i), j*1000+i)
		}
	}
	for j := range g {
		if g[j].Len() != n {
			t.Fatalf("object %d has %d fields, want %d", j, g[j].Len(), n)
		}
		for i := range n {
			if v, ok := g[j].Get("k" + strconv.Itoa(i)); !ok || v != j*1000+i {
				t.Fatalf("object %d: k%d = %v, %v; want %d", j, i, v, ok, j*1000+i)
			}
		}
	}
	// Each filled to its room, then the first and the second far past
	// it: the others keep theirs.
	g = newGroup()
	for i := range 6 {
		g[1].Set("h"+strconv.Itoa(i), i)
	}
	for i := range 3 {
		g[2].Set("m"+strconv.Itoa(i), i)
	}
	for i := range n {
		g[0].Set("r"+strconv.Itoa(i), i)
	}
	if got, want := value.MustEncodeString(&g[1]), `{"h0":0,"h1":1,"h2":2,"h3":3,"h4":4,"h5":5}`; got != want {
		t.Errorf("the second object is %s after the first grew, want %s", got, want)
	}
	for i := range n {
		g[1].Set("x"+strconv.Itoa(i), i)
	}
	if got, want := value.MustEncodeString(&g[2]), `{"m0":0,"m1":1,"m2":2}`; got != want {
		t.Errorf("the third object is %s after the second grew, want %s", got, want)
	}
	// Within their room too: a fresh group, a few fields each.
	g = newGroup()
	for j := range g {
		g[j].Set("a", strconv.Itoa(j))
	}
	for j := range g {
		if got, want := value.MustEncodeString(&g[j]), `{"a":"`+strconv.Itoa(j)+`"}`; got != want {
			t.Errorf("object %d is %s, want %s", j, got, want)
		}
	}
}
