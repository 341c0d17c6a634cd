package expression

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nectar-run/nectar/engine/value"
)

// This file implements the JSONPath dialect of Jayway JsonPath, which Digibee's
// JSONPATH uses: $, .name, ['name'], ['a','b'], [n], [i,j], [start:end], *,
// ..name, [?(filter)] and the functions min, max, avg, stddev, sum, length,
// size, first, last, index, keys, concat and append, with arguments and
// chained (.append(1).avg()) as in Jayway. testdata/jsonpath-conformance
// holds cases ported from Jayway's own test suite.

type segKind int

const (
	segNames segKind = iota
	segWildcard
	segIndexes
	segSlice
	segFilter
)

type jpSegment struct {
	kind       segKind
	deep       bool
	names      []string
	indexes    []int
	start, end int
	hasStart   bool
	hasEnd     bool
	step       int
	filter     jpExpr
}

type jsonPath struct {
	segs     []jpSegment
	fns      []jpCall // trailing functions, e.g. .length() or .append(1).avg()
	definite bool     // yields one value rather than a list
}

// jpCall is a function call ending a path: its name and arguments (literals
// or paths from @ or $).
type jpCall struct {
	name string
	args []jpOperand
}

var jsonPathCache compiled[*jsonPath]

func compileJSONPath(src string) (*jsonPath, error) { return jsonPathCache.get(src, parseJSONPath) }

type jpParser struct {
	s   string
	pos int
}

func (p *jpParser) errorf(format string, args ...any) error {
	return fmt.Errorf("invalid JSONPath %q at %d: %s", p.s, p.pos, fmt.Sprintf(format, args...))
}

func (p *jpParser) peek() byte {
	if p.pos < len(p.s) {
		return p.s[p.pos]
	}
	return 0
}

func (p *jpParser) skipSpace() {
	for p.pos < len(p.s) && (p.s[p.pos] == ' ' || p.s[p.pos] == '\t' || p.s[p.pos] == '\n' || p.s[p.pos] == '\r') {
		p.pos++
	}
}

func parseJSONPath(src string) (*jsonPath, error) {
	s := strings.TrimSpace(src)
	switch {
	case s == "":
		return nil, fmt.Errorf("empty JSONPath")
	case s[0] == '$' || s[0] == '@':
		s = "$" + s[1:]
	case s[0] == '[' || s[0] == '.':
		s = "$" + s
	default:
		s = "$." + s
	}
	p := &jpParser{s: s, pos: 1}
	path := &jsonPath{definite: true}
	if err := p.segments(path, false); err != nil {
		return nil, err
	}
	if p.pos != len(p.s) {
		return nil, p.errorf("unexpected %q", p.s[p.pos:])
	}
	return path, nil
}

// setDefinite decides whether path yields one value: no deep scan, wildcard,
// filter, slice or list of indexes, and a list of names only as the last
// step (Jayway then gives one object holding those properties).
func (path *jsonPath) setDefinite() {
	path.definite = true
	for i, seg := range path.segs {
		switch {
		case seg.deep, seg.kind == segWildcard, seg.kind == segFilter, seg.kind == segSlice,
			seg.kind == segIndexes && len(seg.indexes) > 1,
			seg.kind == segNames && len(seg.names) > 1 && i < len(path.segs)-1:
			path.definite = false
		}
	}
}

// segments parses the segments after $ or @. In a filter operand (inFilter),
// it stops at the first character that cannot continue a path.
func (p *jpParser) segments(path *jsonPath, inFilter bool) error {
	defer path.setDefinite()
	for p.pos < len(p.s) {
		c := p.peek()
		if len(path.fns) > 0 && c != '.' {
			if inFilter {
				return nil
			}
			return p.errorf("only a function may follow a function")
		}
		switch {
		case c == '.':
			p.pos++
			deep := false
			if p.peek() == '.' {
				deep = true
				p.pos++
			}
			if p.peek() == '[' {
				// ..[…] is handled by the bracket case with deep set below;
				// Jayway reads .[…] as […] ($.[0] is $[0]).
				continue
			}
			if p.pos == len(p.s) {
				return p.errorf("a path may not end with %q", p.s[p.pos-1-btoi(deep):])
			}
			if p.peek() == '*' {
				if len(path.fns) > 0 {
					return p.errorf("only a function may follow a function")
				}
				p.pos++
				path.segs = append(path.segs, jpSegment{kind: segWildcard, deep: deep})
				path.definite = false
				continue
			}
			start := p.pos
			for p.pos < len(p.s) && isNameChar(p.s[p.pos]) {
				p.pos++
			}
			name := p.s[start:p.pos]
			if name == "" {
				return p.errorf("expected a property name")
			}
			if p.peek() == '(' && !deep {
				if !jsonPathFuncs[name] {
					return p.errorf("unknown function %s(); Nectar's JSONPATH knows %s", name, jsonPathFuncList)
				}
				call, err := p.call(name)
				if err != nil {
					return err
				}
				path.fns = append(path.fns, call)
				continue
			} else if len(path.fns) > 0 {
				return p.errorf("only a function may follow a function")
			}
			path.segs = append(path.segs, jpSegment{kind: segNames, deep: deep, names: []string{name}})
		case c == '[':
			deep := len(p.s) >= 2 && p.pos >= 2 && p.s[p.pos-2:p.pos] == ".."
			seg, err := p.bracket()
			if err != nil {
				return err
			}
			seg.deep = deep
			path.segs = append(path.segs, seg)
		case !inFilter && isNameChar(c) && p.pos > 0 && (p.s[p.pos-1] == ']'):
			// Jayway reads a name right after a bracket as a property:
			// $..[*]foo is $..[*].foo.
			start := p.pos
			for p.pos < len(p.s) && isNameChar(p.s[p.pos]) {
				p.pos++
			}
			path.segs = append(path.segs, jpSegment{kind: segNames, names: []string{p.s[start:p.pos]}})
		default:
			if inFilter {
				return nil
			}
			return p.errorf("unexpected %q", string(c))
		}
	}
	return nil
}

func isNameChar(c byte) bool {
	return c == '_' || c == '-' || c == '$' || c == '@' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

var jsonPathFuncs = map[string]bool{"min": true, "max": true, "avg": true, "stddev": true, "sum": true,
	"length": true, "size": true, "first": true, "last": true, "index": true, "keys": true,
	"concat": true, "append": true}

const jsonPathFuncList = "min(), max(), avg(), stddev(), sum(), length(), size(), first(), last(), index(n), keys(), concat() and append()"

// call parses the arguments of a function, from its '(': literals and paths
// from @ or $, separated by commas.
func (p *jpParser) call(name string) (jpCall, error) {
	p.pos++ // (
	c := jpCall{name: name}
	for {
		p.skipSpace()
		if p.peek() == ')' && len(c.args) == 0 {
			p.pos++
			break
		}
		arg, err := p.operand()
		if err != nil {
			return c, err
		}
		c.args = append(c.args, arg)
		p.skipSpace()
		if p.peek() == ',' {
			p.pos++
			continue
		}
		if p.peek() != ')' {
			return c, p.errorf("expected , or ) in the arguments of %s()", name)
		}
		p.pos++
		break
	}
	if name == "index" {
		if len(c.args) != 1 || c.args[0].isPath {
			return c, p.errorf("index() takes one integer")
		}
		if _, ok := c.args[0].lit.(int64); !ok {
			return c, p.errorf("index() takes one integer")
		}
	}
	return c, nil
}

// bracket parses […] starting at '['.
func (p *jpParser) bracket() (jpSegment, error) {
	p.pos++ // [
	p.skipSpace()
	var seg jpSegment
	switch c := p.peek(); {
	case c == '?':
		p.pos++
		p.skipSpace()
		if p.peek() != '(' {
			return seg, p.errorf("expected ( after ?")
		}
		p.pos++
		e, err := p.orExpr()
		if err != nil {
			return seg, err
		}
		p.skipSpace()
		if p.peek() != ')' {
			return seg, p.errorf("expected ) to close the filter")
		}
		p.pos++
		seg = jpSegment{kind: segFilter, filter: e}
	case c == '*':
		p.pos++
		seg = jpSegment{kind: segWildcard}
	case c == '\'' || c == '"':
		seg.kind = segNames
		for {
			p.skipSpace()
			s, err := p.quoted()
			if err != nil {
				return seg, err
			}
			seg.names = append(seg.names, s)
			p.skipSpace()
			if p.peek() != ',' {
				break
			}
			p.pos++
		}
	default:
		var err error
		if seg, err = p.indexes(); err != nil {
			return seg, err
		}
	}
	p.skipSpace()
	if p.peek() != ']' {
		return seg, p.errorf("expected ]")
	}
	p.pos++
	return seg, nil
}

func (p *jpParser) quoted() (string, error) {
	q := p.peek()
	if q != '\'' && q != '"' {
		return "", p.errorf("expected a quoted name")
	}
	p.pos++
	var b strings.Builder
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		switch {
		case c == '\\' && p.pos+1 < len(p.s):
			p.pos++
			b.WriteByte(p.s[p.pos])
		case c == q:
			p.pos++
			return b.String(), nil
		default:
			b.WriteByte(c)
		}
		p.pos++
	}
	return "", p.errorf("unclosed quote")
}

func (p *jpParser) int() (int, bool) {
	p.skipSpace()
	start := p.pos
	if p.peek() == '-' {
		p.pos++
	}
	for p.pos < len(p.s) && p.s[p.pos] >= '0' && p.s[p.pos] <= '9' {
		p.pos++
	}
	n, err := strconv.Atoi(p.s[start:p.pos])
	if err != nil {
		p.pos = start
		return 0, false
	}
	return n, true
}

// indexes parses n, n,m,… or start:end:step.
func (p *jpParser) indexes() (jpSegment, error) {
	seg := jpSegment{kind: segIndexes}
	first, ok := p.int()
	p.skipSpace()
	if p.peek() == ':' {
		seg = jpSegment{kind: segSlice, start: first, hasStart: ok, step: 1}
		p.pos++
		if seg.end, seg.hasEnd = p.int(); true {
			p.skipSpace()
		}
		if p.peek() == ':' {
			p.pos++
			if step, ok := p.int(); ok {
				if step == 0 {
					return seg, p.errorf("slice step cannot be 0")
				}
				seg.step = step
			}
		}
		return seg, nil
	}
	if !ok {
		return seg, p.errorf("expected an index, a quoted name, * or ?()")
	}
	seg.indexes = append(seg.indexes, first)
	for p.peek() == ',' {
		p.pos++
		n, ok := p.int()
		if !ok {
			return seg, p.errorf("expected an index")
		}
		seg.indexes = append(seg.indexes, n)
		p.skipSpace()
	}
	return seg, nil
}

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
	path    *jsonPath
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

func (p *jpParser) orExpr() (jpExpr, error) {
	left, err := p.andExpr()
	if err != nil {
		return nil, err
	}
	for {
		p.skipSpace()
		if !strings.HasPrefix(p.s[p.pos:], "||") {
			return left, nil
		}
		p.pos += 2
		right, err := p.andExpr()
		if err != nil {
			return nil, err
		}
		left = jpOr{left, right}
	}
}

func (p *jpParser) andExpr() (jpExpr, error) {
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		p.skipSpace()
		if !strings.HasPrefix(p.s[p.pos:], "&&") {
			return left, nil
		}
		p.pos += 2
		right, err := p.unary()
		if err != nil {
			return nil, err
		}
		left = jpAnd{left, right}
	}
}

func (p *jpParser) unary() (jpExpr, error) {
	p.skipSpace()
	switch p.peek() {
	case '!':
		if !strings.HasPrefix(p.s[p.pos:], "!=") {
			p.pos++
			e, err := p.unary()
			if err != nil {
				return nil, err
			}
			return jpNot{e}, nil
		}
	case '(':
		p.pos++
		e, err := p.orExpr()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.peek() != ')' {
			return nil, p.errorf("expected )")
		}
		p.pos++
		return e, nil
	}
	return p.comparison()
}

var jpOperators = []string{"==", "!=", "<>", "<=", ">=", "=~", "<", ">", " in ", " nin ", " subsetof ", " anyof ", " noneof ", " size ", " empty ", " contains "}

func (p *jpParser) comparison() (jpExpr, error) {
	p.skipSpace()
	if p.peek() == '/' {
		// /regex/ =~ @.x, the pattern first, as Jayway allows.
		re, err := p.regex()
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if !strings.HasPrefix(p.s[p.pos:], "=~") {
			return nil, p.errorf("expected =~ after a regular expression")
		}
		p.pos += 2
		right, err := p.operand()
		if err != nil {
			return nil, err
		}
		return &jpCompare{left: right, op: "=~", right: jpOperand{regex: re, isRegex: true}}, nil
	}
	left, err := p.operand()
	if err != nil {
		return nil, err
	}
	c := &jpCompare{left: left}
	save := p.pos
	p.skipSpace()
	rest := p.s[p.pos:]
	for _, op := range jpOperators {
		word := strings.TrimSpace(op)
		if op[0] == ' ' {
			// Word operators need a space (or a bracket) on both sides.
			if p.pos == save || !strings.HasPrefix(rest, word) || len(rest) == len(word) ||
				!(rest[len(word)] == ' ' || rest[len(word)] == '[' || rest[len(word)] == '\'' || rest[len(word)] == '"') {
				continue
			}
		} else if !strings.HasPrefix(rest, word) {
			continue
		}
		p.pos += len(word)
		c.op = word
		break
	}
	if c.op == "" {
		p.pos = save
		if !left.isPath {
			return nil, p.errorf("a literal alone is not a condition")
		}
		return c, nil
	}
	p.skipSpace()
	if c.op == "=~" {
		re, err := p.regex()
		if err != nil {
			return nil, err
		}
		c.right = jpOperand{regex: re, isRegex: true}
		return c, nil
	}
	if c.right, err = p.operand(); err != nil {
		return nil, err
	}
	return c, nil
}

// regex parses /pattern/flags; the whole string must match, as in Jayway.
func (p *jpParser) regex() (*regexp.Regexp, error) {
	if p.peek() != '/' {
		return nil, p.errorf("expected /regex/ after =~")
	}
	p.pos++
	var b strings.Builder
	for {
		if p.pos >= len(p.s) {
			return nil, p.errorf("unclosed regular expression")
		}
		c := p.s[p.pos]
		if c == '\\' && p.pos+1 < len(p.s) && p.s[p.pos+1] == '/' {
			b.WriteByte('/')
			p.pos += 2
			continue
		}
		if c == '/' {
			p.pos++
			break
		}
		b.WriteByte(c)
		p.pos++
	}
	flags := ""
	for p.pos < len(p.s) && strings.IndexByte("imsx", p.s[p.pos]) >= 0 {
		if p.s[p.pos] != 'x' {
			flags += string(p.s[p.pos])
		}
		p.pos++
	}
	src := "^(?:" + b.String() + ")$"
	if flags != "" {
		src = "(?" + flags + ")" + src
	}
	re, err := compileRegex(src)
	if err != nil {
		return nil, p.errorf("invalid regular expression: %s", err.Error())
	}
	return re, nil
}

func (p *jpParser) operand() (jpOperand, error) {
	p.skipSpace()
	switch c := p.peek(); {
	case c == '@' || c == '$':
		p.pos++
		path := &jsonPath{definite: true}
		if err := p.segments(path, true); err != nil {
			return jpOperand{}, err
		}
		return jpOperand{path: path, root: c == '$', isPath: true}, nil
	case c == '\'' || c == '"':
		s, err := p.quoted()
		return jpOperand{lit: s}, err
	case c == '[':
		v, err := p.arrayLiteral()
		return jpOperand{lit: v}, err
	case c == '-' || c >= '0' && c <= '9':
		start := p.pos
		p.pos++
		for p.pos < len(p.s) && strings.IndexByte("0123456789.eE+-", p.s[p.pos]) >= 0 {
			p.pos++
		}
		txt := p.s[start:p.pos]
		if n, err := strconv.ParseInt(txt, 10, 64); err == nil {
			return jpOperand{lit: n}, nil
		}
		f, err := strconv.ParseFloat(txt, 64)
		if err != nil {
			return jpOperand{}, p.errorf("invalid number %q", txt)
		}
		return jpOperand{lit: f}, nil
	}
	for word, v := range map[string]any{"true": true, "false": false, "null": nil} {
		if strings.HasPrefix(p.s[p.pos:], word) {
			p.pos += len(word)
			return jpOperand{lit: v}, nil
		}
	}
	return jpOperand{}, p.errorf("expected a value, @ or $")
}

// arrayLiteral parses ['a', 1, true] in a filter.
func (p *jpParser) arrayLiteral() ([]any, error) {
	p.pos++ // [
	out := []any{}
	for {
		p.skipSpace()
		if p.peek() == ']' {
			p.pos++
			return out, nil
		}
		o, err := p.operand()
		if err != nil {
			return nil, err
		}
		if o.isPath {
			return nil, p.errorf("paths are not allowed in an array literal")
		}
		out = append(out, o.lit)
		p.skipSpace()
		switch p.peek() {
		case ',':
			p.pos++
		case ']':
		default:
			return nil, p.errorf("expected , or ] in array")
		}
	}
}

// evaluate runs the path from start. A definite path returns its one value
// (ok false when missing); an indefinite one returns an array of matches.
func (path *jsonPath) evaluate(start, root any) (any, bool, error) {
	nodes := []any{start}
	for i := range path.segs {
		seg := &path.segs[i]
		var next []any
		leafProps := i == len(path.segs)-1 && seg.kind == segNames && len(seg.names) > 1
		for _, n := range nodes {
			if leafProps {
				next = seg.props(n, next)
				continue
			}
			if seg.deep {
				next = seg.applyDeep(n, root, next)
			} else {
				next = seg.apply(n, root, next)
			}
		}
		nodes = next
	}
	var result any
	found := true
	if path.definite {
		if len(nodes) == 0 {
			result, found = nil, false
		} else {
			result = nodes[0]
		}
	} else {
		if nodes == nil {
			nodes = []any{}
		}
		result = nodes
	}
	for _, call := range path.fns {
		if !found {
			return nil, false, fmt.Errorf("%s() of a missing value", call.name)
		}
		args := make([]any, len(call.args))
		for j := range call.args {
			args[j], _ = call.args[j].value(start, root)
		}
		var err error
		if result, err = applyPathFunc(call.name, result, args); err != nil {
			return nil, false, err
		}
	}
	return result, found, nil
}

func (seg *jpSegment) apply(n, root any, out []any) []any {
	switch seg.kind {
	case segNames:
		if o, ok := n.(*value.Object); ok {
			for _, name := range seg.names {
				if v, ok := o.Get(name); ok {
					out = append(out, v)
				}
			}
		}
	case segWildcard:
		switch t := n.(type) {
		case *value.Object:
			t.Range(func(_ string, v any) bool { out = append(out, v); return true })
		case []any:
			out = append(out, t...)
		}
	case segIndexes:
		if a, ok := n.([]any); ok {
			for _, i := range seg.indexes {
				if i < 0 {
					i += len(a)
				}
				if i >= 0 && i < len(a) {
					out = append(out, a[i])
				}
			}
		}
	case segSlice:
		if a, ok := n.([]any); ok {
			out = seg.slice(a, out)
		}
	case segFilter:
		switch t := n.(type) {
		case []any:
			for _, x := range t {
				if seg.filter.eval(x, root) {
					out = append(out, x)
				}
			}
		case *value.Object:
			if seg.filter.eval(t, root) {
				out = append(out, t)
			}
		}
	}
	return out
}

// props applies ['a', 'b'] as the last step, as Jayway does: each object
// gives one object holding those of the properties it has. A deep scan
// (..['a', 'b']) gives the objects, n or below it, that have all of them.
func (seg *jpSegment) props(n any, out []any) []any {
	pick := func(o *value.Object, all bool) {
		p := value.NewObject(len(seg.names))
		for _, name := range seg.names {
			if v, ok := o.Get(name); ok {
				p.Set(name, v)
			} else if all {
				return
			}
		}
		out = append(out, p)
	}
	if !seg.deep {
		if o, ok := n.(*value.Object); ok {
			pick(o, false)
		}
		return out
	}
	visit := func(x any) {
		if o, ok := x.(*value.Object); ok {
			pick(o, true)
		}
	}
	visit(n)
	walkChildren(n, visit)
	return out
}

func (seg *jpSegment) slice(a []any, out []any) []any {
	n := len(a)
	norm := func(i, def int, has bool) int {
		if !has {
			return def
		}
		if i < 0 {
			i += n
		}
		return min(max(i, 0), n)
	}
	if seg.step > 0 {
		for i := norm(seg.start, 0, seg.hasStart); i < norm(seg.end, n, seg.hasEnd); i += seg.step {
			out = append(out, a[i])
		}
		return out
	}
	start, end := n-1, -1
	if seg.hasStart {
		start = min(norm(seg.start, 0, true), n-1)
	}
	if seg.hasEnd {
		end = norm(seg.end, 0, true)
	}
	for i := start; i > end && i >= 0; i += seg.step {
		out = append(out, a[i])
	}
	return out
}

// applyDeep applies the segment at n and at every container below it, in
// document order as Jayway does. A deep filter or wildcard selects every
// matching descendant once.
func (seg *jpSegment) applyDeep(n, root any, out []any) []any {
	if seg.kind == segFilter || seg.kind == segWildcard {
		walkChildren(n, func(c any) {
			if seg.kind == segWildcard || seg.filter.eval(c, root) {
				out = append(out, c)
			}
		})
		return out
	}
	out = seg.apply(n, root, out)
	switch t := n.(type) {
	case *value.Object:
		t.Range(func(_ string, v any) bool { out = seg.applyDeep(v, root, out); return true })
	case []any:
		for _, v := range t {
			out = seg.applyDeep(v, root, out)
		}
	}
	return out
}

// walkChildren calls fn for every descendant of n, parents before children.
func walkChildren(n any, fn func(any)) {
	switch t := n.(type) {
	case *value.Object:
		t.Range(func(_ string, v any) bool { fn(v); walkChildren(v, fn); return true })
	case []any:
		for _, v := range t {
			fn(v)
			walkChildren(v, fn)
		}
	}
}

// applyPathFunc applies a function ending a path to the path's value v, with
// the values of its arguments, as Jayway's functions do.
func applyPathFunc(fn string, v any, args []any) (any, error) {
	switch fn {
	case "append":
		a, ok := v.([]any)
		if !ok {
			return v, nil
		}
		return append(append([]any(nil), a...), args...), nil
	case "concat":
		var b strings.Builder
		if a, ok := v.([]any); ok {
			for _, x := range a {
				if s, ok := x.(string); ok {
					b.WriteString(s)
				}
			}
		}
		for _, x := range args {
			b.Write(AppendText(nil, x))
		}
		return b.String(), nil
	case "index":
		a, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("index() of %s", value.TypeName(v))
		}
		i := int(args[0].(int64))
		if i < 0 {
			i += len(a)
		}
		if i < 0 || i >= len(a) {
			return nil, nil
		}
		return a[i], nil
	case "length", "size":
		switch t := v.(type) {
		case []any:
			return int64(len(t)), nil
		case *value.Object:
			return int64(t.Len()), nil
		case string:
			return int64(utf8.RuneCountInString(t)), nil
		}
		return nil, fmt.Errorf("length() of %s", value.TypeName(v))
	case "keys":
		o, ok := v.(*value.Object)
		if !ok {
			return nil, fmt.Errorf("keys() of %s", value.TypeName(v))
		}
		out := make([]any, 0, o.Len())
		for _, k := range o.Keys() {
			out = append(out, k)
		}
		return out, nil
	case "first", "last":
		a, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("%s() of %s", fn, value.TypeName(v))
		}
		if len(a) == 0 {
			return nil, nil
		}
		if fn == "first" {
			return a[0], nil
		}
		return a[len(a)-1], nil
	}
	// The numeric functions take the numbers of an array, and their
	// arguments (an array argument gives its numbers), as Jayway does.
	var nums []float64
	add := func(x any) {
		if f, ok := value.ToFloat(x); ok && value.IsNumber(x) {
			nums = append(nums, f)
		}
	}
	a, isArray := v.([]any)
	if !isArray && len(args) == 0 {
		return nil, fmt.Errorf("%s() of %s", fn, value.TypeName(v))
	}
	for _, x := range a {
		add(x)
	}
	for _, x := range args {
		if xs, ok := x.([]any); ok {
			for _, y := range xs {
				add(y)
			}
		} else {
			add(x)
		}
	}
	if len(nums) == 0 {
		return nil, fmt.Errorf("%s() of an array without numbers", fn)
	}
	sum, lo, hi := 0.0, math.Inf(1), math.Inf(-1)
	for _, f := range nums {
		sum += f
		lo, hi = math.Min(lo, f), math.Max(hi, f)
	}
	mean := sum / float64(len(nums))
	switch fn {
	case "min":
		return lo, nil
	case "max":
		return hi, nil
	case "sum":
		return sum, nil
	case "avg":
		return mean, nil
	}
	sq := 0.0 // stddev: population standard deviation, as Jayway
	for _, f := range nums {
		sq += (f - mean) * (f - mean)
	}
	return math.Sqrt(sq / float64(len(nums))), nil
}
