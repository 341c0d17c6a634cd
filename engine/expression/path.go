package expression

import (
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"
)

// pathExpr is the fast form of the most common expression: a scope name
// followed by constant member accesses, like message.customer.name or
// vars.items[0]. It is evaluated by walking the values directly, without the
// expr virtual machine, and gives exactly what the general form gives.
type pathExpr struct {
	root  string
	steps []any // string keys and int indexes
}

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
			switch t.Value {
			case "message", "vars", "globals", "global", "metadata":
			default:
				return nil
			}
			for i, j := 0, len(steps)-1; i < j; i, j = i+1, j-1 {
				steps[i], steps[j] = steps[j], steps[i]
			}
			return &pathExpr{root: t.Value, steps: steps}
		}
		return nil
	}
}

func (p *pathExpr) eval(env *Env) (any, error) {
	var cur any
	switch p.root {
	case "message":
		cur = env.Message
	case "vars":
		cur = env.Vars
	case "globals":
		cur = env.Globals
	case "global":
		cur = env.Global
	case "metadata":
		cur = env.Metadata
	}
	for _, s := range p.steps {
		var err error
		if cur, err = get(cur, s); err != nil {
			return nil, err
		}
	}
	return cur, nil
}
