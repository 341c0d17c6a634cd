package expression_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/nectar-run/nectar/engine/expression"
	"github.com/nectar-run/nectar/engine/value"
)

// hintObjects are objects of 0 to 40 keys (past the size where Object
// indexes its keys by a map) in shuffled orders, so that a key is at a
// different place from one object to the next, missing from some, and the
// remembered place is past the end of others; a nil object too.
func hintObjects(r *rand.Rand) []*value.Object {
	names := make([]string, 40)
	for i := range names {
		names[i] = fmt.Sprintf("k%d", i)
	}
	objs := []*value.Object{nil, value.NewObject(0)}
	for n := 1; n <= 40; n++ {
		for range 3 {
			perm := r.Perm(len(names))
			o := value.NewObject(n)
			for _, i := range perm[:n] {
				o.Set(names[i], "v-"+names[i])
			}
			objs = append(objs, o)
		}
	}
	return objs
}

// TestLookupHintsMatchGet evaluates member accesses (a plain path, a path
// inside an expression, two levels deep) over hintObjects in a random
// order, again and again, so that the remembered places hit, miss and point
// past the end: every value must be the one Object.Get gives.
func TestLookupHintsMatchGet(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	objs := hintObjects(r)
	keys := []string{"k0", "k1", "k7", "k15", "k16", "k17", "k31", "k32", "k39", "missing"}
	type form struct {
		e    *expression.Expr
		want func(o *value.Object) any
	}
	var forms []form
	for _, k := range keys {
		get := func(o *value.Object) any { v, _ := o.Get(k); return v }
		for _, f := range []struct {
			src  string
			want func(o *value.Object) any
		}{
			{"message." + k, get},
			{"vars.o." + k, get},
			{"[message." + k + "]", func(o *value.Object) any { return []any{get(o)} }},
			{"message." + k + " ?? 'none'", func(o *value.Object) any {
				if v := get(o); v != nil {
					return v
				}
				return "none"
			}},
			{"vars.o." + k + " == message." + k, func(o *value.Object) any { return true }},
		} {
			e, err := expression.Compile(f.src, expression.Options{})
			if err != nil {
				t.Fatal(err)
			}
			forms = append(forms, form{e, f.want})
		}
	}
	for round := range 20 {
		for _, i := range r.Perm(len(objs)) {
			o := objs[i]
			env := &expression.Env{Message: o, Vars: value.ObjectOf("o", o)}
			for _, f := range forms {
				got, err := f.e.Eval(env)
				if want := f.want(o); err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
					t.Fatalf("round %d, %s over %v = %v, %v; want %v", round, f.e.Source(), o, got, err, want)
				}
			}
		}
	}
}

// TestLookupHintsConcurrent evaluates the same expressions from several
// goroutines over objects of different layouts (go test -race checks the
// shared places).
func TestLookupHintsConcurrent(t *testing.T) {
	objs := hintObjects(rand.New(rand.NewPCG(5, 6)))
	plain, err := expression.Compile("message.k5", expression.Options{})
	if err != nil {
		t.Fatal(err)
	}
	inner, err := expression.Compile("[message.k5]", expression.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Go(func() {
			for n := range 2000 {
				o := objs[(n*7+g*13)%len(objs)]
				want, _ := o.Get("k5")
				env := &expression.Env{Message: o}
				a, _ := plain.Eval(env)
				b, _ := inner.Eval(env)
				if fmt.Sprint(a) != fmt.Sprint(want) || fmt.Sprint(b) != fmt.Sprint([]any{want}) {
					errs <- fmt.Errorf("over %v: %v and %v, want %v", o, a, b, want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}
