package objectstore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

// TestGetSharedDocumentWithRoom gets documents of 14 to 17 members (with
// _oId, objects filling their one-block room of 16 fields or going past
// it) holding an object and an array of as many members, then adds keys
// and elements to them with later steps (set to new paths, transform
// default, a jq that appends), from 4 executions at once: the next get
// answers the stored document every time (-race finds a shared write).
func TestGetSharedDocumentWithRoom(t *testing.T) {
	rt, st := newRuntime(t)
	ctx := context.Background()
	get := "  - object-store: {operation: get, collection: c, id: %s}\n"
	steps := `  - set: "{{ message }}"
    to: vars.doc
  - set: "{{ 1 }}"
    to: message.added
  - set: "{{ 2 }}"
    to: vars.doc.inner.added
  - transform: {spec: [{operation: default, spec: {inner: {more: 1}, more: 2}}]}
  - jq: {query: '.list += [99] | .inner.x = 1 | .y = 2'}
`
	for _, n := range []int{14, 15, 16, 17} {
		var doc strings.Builder
		doc.WriteString("{")
		for i := range n - 3 {
			fmt.Fprintf(&doc, `"k%d":%d,`, i, i)
		}
		inner := make([]string, n)
		list := make([]string, n)
		for i := range n {
			inner[i] = fmt.Sprintf(`"i%d":%d`, i, i)
			list[i] = fmt.Sprint(i)
		}
		fmt.Fprintf(&doc, `"inner":{%s},"list":[%s]}`, strings.Join(inner, ","), strings.Join(list, ","))
		id := fmt.Sprint("d", n)
		if _, err := st.Put(ctx, "objects/c", id, []byte(doc.String())); err != nil {
			t.Fatal(err)
		}
		want := strings.TrimSuffix(doc.String(), "}") + `,"_oId":"` + id + `"}`
		g := fmt.Sprintf(get, id)
		p := load(t, g+steps+g)
		var wg sync.WaitGroup
		errs := make(chan string, 4)
		for range 4 {
			wg.Go(func() {
				for range 5 {
					out, err := p.Run(ctx, rt, value.NewObject(0), engine.RunOptions{})
					if err != nil {
						errs <- err.Error()
						return
					}
					if got := value.MustEncodeString(out); got != want {
						errs <- fmt.Sprintf("%d members: the second get gave\n%s\nwant\n%s", n, got, want)
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
	}
}

// TestCollectionFromTemplateConcurrent runs one step whose collection is
// the message's from 4 executions at once, each with its own collection
// (one of them an invalid name, after valid ones): each gets its own
// collection's document or the 400 for the name, never another's bucket.
func TestCollectionFromTemplateConcurrent(t *testing.T) {
	rt, st := newRuntime(t)
	colls := []string{"one", "two", "three", "a/b"}
	for _, c := range colls[:3] {
		if _, err := st.Put(t.Context(), "objects/"+c, "x", []byte(`{"in":"`+c+`"}`)); err != nil {
			t.Fatal(err)
		}
	}
	p := load(t, `  - object-store: {operation: get, collection: "{{ message.c }}", id: x}`+"\n")
	var wg sync.WaitGroup
	errs := make(chan string, len(colls))
	for _, c := range colls {
		want := `{"in":"` + c + `","_oId":"x"}`
		if c == "a/b" {
			want = "400"
		}
		wg.Go(func() {
			for range 50 {
				out, err := p.Run(t.Context(), rt, value.ObjectOf("c", c), engine.RunOptions{})
				got := value.MustEncodeString(out)
				if err != nil {
					got = fmt.Sprint(engine.AsError(err).Code)
				}
				if got != want {
					errs <- fmt.Sprintf("collection %q: got %s, want %s", c, got, want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
