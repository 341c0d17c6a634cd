package jsonpath

import (
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nectar-run/nectar/engine/value"
)

// Filter expressions.

type jpExpr interface {
	eval(cur, root any) bool
}

type jpOr struct{ a, b jpExpr }
type jpAnd struct{ a, b jpExpr }
type jpNot struct{ e jpExpr }

func (e jpOr) eval(cur, root any) bool  { return e.a.eval(cur, root) || e.b.eval(cur, root) }
func (e jpAnd) eval(cur, root any) bool { return e.a.eval(cur, root) && e.b.eval(cur, root) }
func (e jpNot) eval(cur, root any) bool { return !e.e.eval(cur, root) }

// jpOperand is a literal or a path relative to @ (current) or $ (root).
type jpOperand struct {
	lit     any
	path    *Path
	root    bool
	isPath  bool
	regex   *regexp.Regexp
	isRegex bool
}

// value returns the operand's value and whether it exists.
func (o *jpOperand) value(cur, root any) (any, bool) {
	if !o.isPath {
		return o.lit, true
	}
	start := cur
	if o.root {
		start = root
	}
	v, ok, err := o.path.evaluate(start, root)
	if err != nil {
		return nil, false
	}
	return v, ok
}

type jpCompare struct {
	left  jpOperand
	op    string // "" tests existence
	right jpOperand
}

func (e *jpCompare) eval(cur, root any) bool {
	l, lok := e.left.value(cur, root)
	if e.op == "" {
		return lok
	}
	if e.op == "=~" {
		// As Jayway: a string matches the whole pattern; an array matches
		// when one of its strings does.
		switch t := l.(type) {
		case string:
			return lok && e.right.regex.MatchString(t)
		case []any:
			for _, x := range t {
				if s, ok := x.(string); ok && e.right.regex.MatchString(s) {
					return true
				}
			}
		}
		return false
	}
	r, rok := e.right.value(cur, root)
	if !lok || !rok {
		return e.op == "!=" || e.op == "<>"
	}
	switch e.op {
	case "==":
		return jpEqual(l, r)
	case "!=", "<>":
		return !jpEqual(l, r)
	case "<", "<=", ">", ">=":
		var c int
		switch {
		case value.IsNumber(l) && value.IsNumber(r):
			c = value.Compare(l, r)
		default:
			ls, lok := l.(string)
			rs, rok := r.(string)
			if !lok || !rok {
				return false
			}
			c = strings.Compare(ls, rs)
		}
		switch e.op {
		case "<":
			return c < 0
		case "<=":
			return c <= 0
		case ">":
			return c > 0
		}
		return c >= 0
	case "in", "nin":
		arr, _ := r.([]any)
		found := false
		for _, x := range arr {
			if value.Equal(l, x) {
				found = true
				break
			}
		}
		return found == (e.op == "in")
	case "contains":
		switch t := l.(type) {
		case string:
			s, ok := r.(string)
			return ok && strings.Contains(t, s)
		case []any:
			for _, x := range t {
				if value.Equal(x, r) {
					return true
				}
			}
		}
		return false
	case "subsetof", "anyof", "noneof":
		la, lok := l.([]any)
		ra, rok := r.([]any)
		if !lok || !rok {
			return false
		}
		count := 0
		for _, x := range la {
			for _, y := range ra {
				if value.Equal(x, y) {
					count++
					break
				}
			}
		}
		switch e.op {
		case "subsetof":
			return count == len(la)
		case "anyof":
			return count > 0
		}
		return count == 0
	case "size":
		n, ok := value.ToInt(r)
		if !ok {
			return false
		}
		switch t := l.(type) {
		case string:
			return int64(utf8.RuneCountInString(t)) == n
		case []any:
			return int64(len(t)) == n
		case *value.Object:
			return int64(t.Len()) == n
		}
		return false
	case "empty":
		want, _ := r.(bool)
		switch t := l.(type) {
		case string:
			return (t == "") == want
		case []any:
			return (len(t) == 0) == want
		case *value.Object:
			return (t.Len() == 0) == want
		}
		return false
	}
	return false
}

// jpEqual is == in a filter: deep equality, where a number equals a string
// that reads as the same number ('1' == 1), as in Jayway.
func jpEqual(l, r any) bool {
	if _, ok := r.(string); ok && value.IsNumber(l) {
		l, r = r, l
	}
	if s, ok := l.(string); ok && value.IsNumber(r) {
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return false
		}
		rf, _ := value.ToFloat(r)
		return f == rf
	}
	return value.Equal(l, r)
}
