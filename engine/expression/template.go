package expression

import (
	"strings"

	"github.com/nectar-run/nectar/engine/value"
)

// Template is a compiled string with `{{ }}` expressions. It is immutable and
// safe for concurrent use.
type Template struct {
	src    string
	parts  []part
	single *Expr // the template is exactly one {{ }}: its value keeps its type
	// lit is the text of a template without {{ }}, boxed once: Eval gives
	// it without boxing the text again every time.
	lit any
}

type part struct {
	text string
	expr *Expr
}

// HasExpressions reports whether s contains a `{{`.
func HasExpressions(s string) bool { return strings.Contains(s, "{{") }

// CompileTemplate compiles a template. Errors are *Error with the byte offset
// inside src.
func CompileTemplate(src string, opts Options) (*Template, error) {
	t := &Template{src: src}
	rest := src
	offset := 0
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			if rest != "" {
				t.parts = append(t.parts, part{text: rest})
			}
			break
		}
		if i > 0 {
			t.parts = append(t.parts, part{text: rest[:i]})
		}
		body := rest[i+2:]
		end := closing(body)
		if end < 0 {
			return nil, &Error{Offset: offset + i, Msg: "unclosed {{: expected }}"}
		}
		inner := body[:end]
		lead := len(inner) - len(strings.TrimLeft(inner, " \t\n\r"))
		e, err := Compile(inner, opts)
		if err != nil {
			ce := err.(*Error)
			pos := offset + i + 2 + ce.Offset
			if ce.Msg == "empty expression" {
				pos = offset + i
				ce.Msg = "empty {{ }}"
			} else if ce.Offset == 0 {
				pos += lead
			}
			return nil, &Error{Offset: pos, Msg: ce.Msg}
		}
		t.parts = append(t.parts, part{expr: e})
		consumed := i + 2 + end + 2
		rest = rest[consumed:]
		offset += consumed
	}
	if len(t.parts) == 1 && t.parts[0].expr != nil {
		t.single = t.parts[0].expr
	}
	if t.IsLiteral() {
		text, _ := t.Text(nil, nil) // no expression: nothing is evaluated
		t.lit = text
	}
	return t, nil
}

// closing finds the "}}" that ends an expression. It skips string literals and
// counts the braces of object literals, so that in "{{ {a: {b: 1}} }}" the
// "}}" of the nested literals does not end the expression.
func closing(s string) int {
	var quote byte
	depth := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' && quote != '`' { // raw strings have no escapes
				i++
			} else if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'' || c == '`':
			quote = c
		case c == '{':
			depth++
		case c == '}' && depth > 0:
			depth--
		case c == '}' && i+1 < len(s) && s[i+1] == '}':
			return i
		}
	}
	return -1
}

// Source returns the template's source text.
func (t *Template) Source() string { return t.src }

// IsLiteral reports whether the template has no expression.
func (t *Template) IsLiteral() bool {
	for _, p := range t.parts {
		if p.expr != nil {
			return false
		}
	}
	return true
}

// Eval evaluates the template. A template that is exactly one `{{ }}` gives
// the expression's value; otherwise the text with every value written in
// (strings as they are, null as empty, other values as JSON).
func (t *Template) Eval(env *Env) (any, error) {
	if t.single != nil {
		return t.single.Eval(env)
	}
	if t.lit != nil {
		return t.lit, nil
	}
	s, err := t.Text(env, nil)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Text evaluates the template as text, passing every expression's value
// through mapValue (when not nil) before it is written: the log connector
// masks sensitive fields of the objects a message embeds this way, leaving the
// literal text alone.
func (t *Template) Text(env *Env, mapValue func(any) any) (string, error) {
	if t.single == nil && len(t.parts) == 1 {
		return t.parts[0].text, nil
	}
	b := make([]byte, 0, len(t.src))
	for _, p := range t.parts {
		if p.expr == nil {
			b = append(b, p.text...)
			continue
		}
		v, err := p.expr.Eval(env)
		if err != nil {
			return "", err
		}
		if mapValue != nil {
			v = mapValue(v)
		}
		b = value.AppendText(b, v)
	}
	return string(b), nil
}
