package objectstore_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	_ "github.com/nectar-run/nectar/connectors/all" // the steps that attack the shared document
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

// storedDoc is the document every attack gets; it has an object, arrays of
// scalars and of objects, a number and a string, so each step finds
// something to change.
const storedDoc = `{"a":{"b":[3,1,2],"c":"x","d":{"e":1}},"list":[{"k":2,"t":"b"},{"k":1,"t":"a"}],"n":1,"s":"hello","z":null}`

// wantDoc is what get must give every time.
const wantDoc = `{"a":{"b":[3,1,2],"c":"x","d":{"e":1}},"list":[{"k":2,"t":"b"},{"k":1,"t":"a"}],"n":1,"s":"hello","z":null,"_oId":"d1"}`

// attacks are steps run on the document a get gave (as the message, and
// as vars.doc): each changes what it got every way its options allow. A
// get step keeps the documents it decoded and gives them again, so a step
// that changed its input in place would change what the next get returns.
var attacks = []struct{ name, steps string }{
	{"set to message paths", `
  - set: "{{ 5 }}"
    to: message.a.c
  - set: "{{ 9 }}"
    to: message.list
  - set: "{{ 7 }}"
    to: vars.doc.a.d.e
  - set: "{{ 7 }}"
    to: vars.doc.n`},
	{"transform in place", `
  - transform:
      spec:
        - operation: modify-overwrite-beta
          spec: {a: {c: "=toUpper", b: "=sort", d: {e: "=intSum(@(1,e),5)"}}, list: {"*": {k: "=toString"}}, n: 42, s: "=concat(@(1,s),'!')"}
        - operation: modify-default-beta
          spec: {a: {new: 1, d: {f: 2}}, list: {"*": {u: 1}}, z: 3}
        - operation: modify-define-beta
          spec: {a: {c: 9}, s: 1}
        - operation: default
          spec: {a: {d: {g: 3}}, list: {"*": {v: 1}}, z: 4, added: 5}
        - operation: remove
          spec: {a: {c: "", b: {"0": ""}}, list: {"*": {k: ""}}, n: ""}
        - operation: cardinality
          spec: {a: {b: ONE}, list: ONE}`},
	{"transform each in place", `
  - transform: {spec: [{operation: default, spec: {a: {d: {g: 3}}, "*": {w: 1}}}]}
  - transform: {spec: [{operation: remove, spec: {a: {d: {e: ""}}, "*": {c: ""}}}]}
  - transform: {spec: [{operation: cardinality, spec: {a: {b: ONE}, list: ONE}}]}
  - transform: {spec: [{operation: modify-overwrite-beta, spec: {a: {b: "=reverse", c: "=toUpper"}, "*": {"*": "=toString"}}}]}
  - transform: {spec: [{operation: sort}]}`},
	{"transform shift then in place", `
  - transform:
      spec:
        - operation: shift
          spec: {"*": "&", a: {"*": "a.&", d: "a.d"}}
        - operation: default
          spec: {a: {d: {g: 3}}}
        - operation: modify-overwrite-beta
          spec: {a: {d: {e: 99}, b: "=sort"}}
        - operation: remove
          spec: {list: {"*": {k: ""}}}`},
	{"jq", `
  - jq: {query: '.a.b |= sort | .a.d.e = 5 | .list[0].k = 9 | del(.s) | .list |= sort_by(.k)'}`},
	{"expression functions", `
  - set:
      push: "{{ PUSH(message.a.b, 4) }}"
      pop: "{{ POP(message.a.b) }}"
      removeat: "{{ REMOVEAT(message.a.b, 0) }}"
      sort: "{{ sort(message.a.b) }}"
      sortby: "{{ sortBy(message.list, .k) }}"
      reverse: "{{ reverse(message.a.b) }}"
      last: "{{ LASTELEMENT(message.list) }}"
      elem: "{{ GETELEMENTAT(message.list, 0) }}"
      one: "{{ CARDINALITYONE(message.list) }}"
      many: "{{ CARDINALITYMANY(message.a) }}"
      tojson: "{{ TOJSON(message) }}"
      jsonpath: "{{ JSONPATH(message, '$.list[?(@.k > 1)]') }}"
      filter: "{{ filter(message.list, .k > 1) }}"
      map: "{{ map(message.list, #) }}"
      merged: "{{ {a: message.a, n: 2} }}"
  - set: "{{ message.push }}"
    to: vars.p`},
	{"for-each and parallel", `
  - for-each:
      items: message.list
      parallel: 2
      steps:
        - set: "{{ 1 }}"
          to: message.k
        - transform: {spec: [{operation: default, spec: {added: 1}}, {operation: remove, spec: {t: ""}}]}
  - parallel:
      branches:
        - name: x
          steps:
            - transform: {spec: [{operation: modify-overwrite-beta, spec: {a: {c: "=toUpper"}}}]}
        - name: "y"
          steps:
            - set: "{{ 2 }}"
              to: message.a.d.e`},
	{"log, try and throw", `
  - log: {message: "doc {{ message.s }}", fields: {doc: "{{ message }}", a: "{{ message.a }}"}}
  - try:
      steps:
        - throw: {status: 400, error: "bad", object: "{{ message }}"}
      catch:
        - set: "{{ 1 }}"
          to: message.object.a.d.e`},
}

// TestGetSharedDocumentStaysUnchanged gets a document, runs a step that
// changes what it got, and gets the document again: the second get must
// still give the stored document, whatever the steps between did.
func TestGetSharedDocumentStaysUnchanged(t *testing.T) {
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			rt, st := newRuntime(t)
			ctx := context.Background()
			if _, err := st.Put(ctx, "objects/c", "d1", []byte(storedDoc)); err != nil {
				t.Fatal(err)
			}
			get := "  - object-store: {operation: get, collection: c, id: d1}\n"
			p := load(t, get+"  - set: \"{{ message }}\"\n    to: vars.doc\n"+strings.TrimPrefix(a.steps, "\n")+"\n"+get)
			for i := range 3 {
				out, err := p.Run(ctx, rt, value.NewObject(0), engine.RunOptions{})
				if err != nil {
					t.Fatalf("run %d: %v", i, err)
				}
				if got := value.MustEncodeString(out); got != wantDoc {
					t.Fatalf("run %d: the second get gave\n%s\nwant the stored\n%s", i, got, wantDoc)
				}
			}
		})
	}
}

// TestGetSharedDocumentConcurrent runs every attack at once on one step's
// documents (go test -race finds a write to a shared document).
func TestGetSharedDocumentConcurrent(t *testing.T) {
	rt, st := newRuntime(t)
	ctx := context.Background()
	if _, err := st.Put(ctx, "objects/c", "d1", []byte(storedDoc)); err != nil {
		t.Fatal(err)
	}
	get := "  - object-store: {operation: get, collection: c, id: d1}\n"
	var steps strings.Builder
	for _, a := range attacks {
		steps.WriteString(strings.TrimPrefix(a.steps, "\n") + "\n" + get)
	}
	p := load(t, get+"  - set: \"{{ message }}\"\n    to: vars.doc\n"+steps.String())
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				out, err := p.Run(ctx, rt, value.NewObject(0), engine.RunOptions{})
				if err != nil {
					errs <- err.Error()
					return
				}
				if got := value.MustEncodeString(out); got != wantDoc {
					errs <- got
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
