package expression

import (
	"sync/atomic"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"

	"github.com/nectar-run/nectar/engine/value"
)

// pathExpr is the fast form of the most common expression: a scope name
// followed by constant member accesses, like message.customer.name or
// vars.items[0]. It is evaluated by walking the values directly, without the
// expr virtual machine, and gives exactly what the general form gives.
type pathExpr struct {
	root  int   // which scope name: rootMessage…
	steps []any // string keys and int indexes
	// keys holds the steps when all are object keys other than "$" (the
	// most common path, message.client_id): eval then reads objects
	// directly, and leaves any other value to get with the boxed step.
	keys []string
	// hints holds, for each key, where it was last found in its object
	// (see lookup).
	hints []atomic.Int32
}

// The scope names a path starts from.
const (
	rootMessage = iota
	rootVars
	rootGlobals
	rootGlobal
	rootMetadata
)

var roots = map[string]int{"message": rootMessage, "vars": rootVars, "globals": rootGlobals, "global": rootGlobal, "metadata": rootMetadata}

// simplePath recognises a path expression in src.
func simplePath(src string) *pathExpr {
	tree, err := parser.Parse(src)
	if err != nil {
		return nil
	}
	var steps []any
	n := tree.Node
	for {
		switch t := n.(type) {
		case *ast.MemberNode:
			if t.Method {
				return nil
			}
			switch p := t.Property.(type) {
			case *ast.StringNode:
				steps = append(steps, p.Value)
			case *ast.IntegerNode:
				steps = append(steps, p.Value)
			default:
				return nil
			}
			n = t.Node
			continue
		case *ast.IdentifierNode:
			root, ok := roots[t.Value]
			if !ok {
				return nil
			}
			for i, j := 0, len(steps)-1; i < j; i, j = i+1, j-1 {
				steps[i], steps[j] = steps[j], steps[i]
			}
			p := &pathExpr{root: root, steps: steps}
			keys := make([]string, 0, len(steps))
			for _, s := range steps {
				if k, ok := s.(string); ok && k != "$" {
					keys = append(keys, k)
				}
			}
			if len(keys) == len(steps) {
				p.keys, p.hints = keys, make([]atomic.Int32, len(keys))
			}
			return p
		}
		return nil
	}
}

// start is the value of the scope name the path starts from.
func (p *pathExpr) start(env *Env) any {
	switch p.root {
	case rootMessage:
		return env.Message
	case rootVars:
		return env.Vars
	case rootGlobals:
		return env.Globals
	case rootGlobal:
		return env.Global
	case rootMetadata:
		return env.Metadata
	}
	return nil
}

func (p *pathExpr) eval(env *Env) (any, error) {
	cur := p.start(env)
	if p.keys != nil {
		// What get does for an object and a key other than "$", and for
		// null (null, to the end of the path), without its type switches.
		for i, k := range p.keys {
			switch o := cur.(type) {
			case *value.Object:
				cur = lookup(o, k, &p.hints[i])
			case nil:
				return nil, nil
			default:
				var err error
				if cur, err = get(cur, p.steps[i]); err != nil {
					return nil, err
				}
			}
		}
		return cur, nil
	}
	return p.walk(cur)
}

// walk follows every step from cur with get: the general form.
func (p *pathExpr) walk(cur any) (any, error) {
	for _, s := range p.steps {
		var err error
		if cur, err = get(cur, s); err != nil {
			return nil, err
		}
	}
	return cur, nil
}

// hintScan is the largest object lookup scans itself; a larger one may be
// indexed by a map, and is read with Get.
const hintScan = 16

// lookup returns what o.Get(k) returns, trying first the position where k
// was found last time (hint): a path is evaluated over objects built the
// same way request after request (a decoded body, a step's result, vars),
// whose keys come in the same order. An object's keys are distinct, so a
// key found at the hint is the one Get finds. The hint is shared by the
// executions evaluating the path, hence atomic; it is written only when it
// missed.
func lookup(o *value.Object, k string, hint *atomic.Int32) any {
	n := o.Len()
	if h := int(hint.Load()); h < n {
		if hk, v := o.At(h); hk == k {
			return v
		}
	}
	if n > hintScan {
		v, _ := o.Get(k)
		return v
	}
	for i := range n {
		if hk, v := o.At(i); hk == k {
			hint.Store(int32(i))
			return v
		}
	}
	return nil
}
