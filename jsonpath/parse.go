package jsonpath

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

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

// jpCall is a function call ending a path: its name and arguments (literals
// or paths from @ or $).
type jpCall struct {
	name string
	args []jpOperand
}

type jpParser struct {
	s   string
	pos int
}

func (p *jpParser) errorf(format string, args ...any) error {
	return &Error{Path: p.s, Offset: p.pos, Msg: fmt.Sprintf(format, args...)}
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

// parse reads a path; see Compile.
func parse(src string) (*Path, error) {
	s := strings.TrimSpace(src)
	switch {
	case s == "":
		return nil, &Error{Path: src, Offset: -1, Msg: "empty JSONPath"}
	case s[0] == '$' || s[0] == '@':
		s = "$" + s[1:]
	case s[0] == '[' || s[0] == '.':
		s = "$" + s
	default:
		s = "$." + s
	}
	p := &jpParser{s: s, pos: 1}
	path := &Path{definite: true}
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
func (path *Path) setDefinite() {
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
func (p *jpParser) segments(path *Path, inFilter bool) error {
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
		e, err := p.parenthesized("expected ) to close the filter")
		if err != nil {
			return seg, err
		}
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

func (p *jpParser) orExpr() (jpExpr, error) {
	return p.chain("||", p.andExpr, func(l, r jpExpr) jpExpr { return jpOr{l, r} })
}

func (p *jpParser) andExpr() (jpExpr, error) {
	return p.chain("&&", p.unary, func(l, r jpExpr) jpExpr { return jpAnd{l, r} })
}

// chain parses operands joined by op, left to right: a op b op c is
// join(join(a, b), c).
func (p *jpParser) chain(op string, operand func() (jpExpr, error), join func(l, r jpExpr) jpExpr) (jpExpr, error) {
	left, err := operand()
	if err != nil {
		return nil, err
	}
	for {
		p.skipSpace()
		if !strings.HasPrefix(p.s[p.pos:], op) {
			return left, nil
		}
		p.pos += len(op)
		right, err := operand()
		if err != nil {
			return nil, err
		}
		left = join(left, right)
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
		return p.parenthesized("expected )")
	}
	return p.comparison()
}

// parenthesized parses a filter expression and the ) that closes it (the (
// is read); missing is the error when that ) is not there.
func (p *jpParser) parenthesized(missing string) (jpExpr, error) {
	e, err := p.orExpr()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.peek() != ')' {
		return nil, p.errorf("%s", missing)
	}
	p.pos++
	return e, nil
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
	re, err := regexp.Compile(src)
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
		path := &Path{definite: true}
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
