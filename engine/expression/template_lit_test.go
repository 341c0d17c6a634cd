package expression_test

import (
	"testing"

	"github.com/nectar-run/nectar/engine/expression"
)

// TestLiteralTemplateEval checks that a template without {{ }}, whose value
// is now boxed at compile, evaluates to its text, as Text gives it, every
// time; and that a template with an expression still evaluates it.
func TestLiteralTemplateEval(t *testing.T) {
	env := &expression.Env{Message: mustDecode(t, `{"a":1}`)}
	for _, src := range []string{"", "200", "Bearer", " spaced ", "a } b }}", "é ünïcode", "{ not a template }", "tab\there"} {
		tpl, err := expression.CompileTemplate(src, expression.Options{})
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		if !tpl.IsLiteral() {
			t.Fatalf("%q is not literal", src)
		}
		text, err := tpl.Text(env, nil)
		if err != nil || text != src {
			t.Fatalf("%q: Text = %q, %v", src, text, err)
		}
		for range 2 {
			v, err := tpl.Eval(env)
			if s, ok := v.(string); err != nil || !ok || s != text {
				t.Fatalf("%q: Eval = %#v, %v; want %q", src, v, err, text)
			}
		}
	}
	for src, want := range map[string]any{"{{ message.a }}": int64(1), "n={{ message.a }}": "n=1", "{{ message.a }}{{ message.a }}": "11"} {
		tpl, err := expression.CompileTemplate(src, expression.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if v, err := tpl.Eval(env); err != nil || v != want {
			t.Fatalf("%q: Eval = %#v, %v; want %#v", src, v, err, want)
		}
	}
}

func BenchmarkLiteralTemplate(b *testing.B) {
	tpl, err := expression.CompileTemplate("200", expression.Options{})
	if err != nil {
		b.Fatal(err)
	}
	env := &expression.Env{}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tpl.Eval(env); err != nil {
			b.Fatal(err)
		}
	}
}
