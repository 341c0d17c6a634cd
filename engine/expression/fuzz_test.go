package expression_test

import (
	"testing"

	"github.com/nectar-run/nectar/engine/expression"
	"github.com/nectar-run/nectar/engine/value"
)

// FuzzTemplate compiles arbitrary templates: an error must point inside the
// source, and a template that compiles must evaluate without panicking.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{
		"Hello, {{ message.name }}!", "{{ len(message.items) }}", `{{ {"a": 1, "b": [1, 2]} }}`,
		"{{ message.a > 1 ? 'x' : 'y' }}", "{{ }}", "{{ message", `{{ "}}" }}`, "a {{ 1 }} b {{ 2 }} c",
		"{{ map(message.items, .price) }}", "{{ CONCAT(message.a, 'x') }}", "{{ message.$ }}",
		// Digibee's reading: null, kept backslashes, keyword calls.
		`{{ MATCHES(message.a, "\d{3}-\d+\.") }}`, `{{ IF(ISNULL(message.x), null, "\x41\'\u{1F600}") }}`,
		`{{ and(or(false, true), contains("a\q", "\q")) }}`, "{{ if(true, 1, 2) }} {{ if (1 > 0) { 1 } else { 2 } }}",
		`{{ "\" }}`, `{{ '\"' + "\'" /* \z */ }}`,
	} {
		f.Add(s)
	}
	msg, _ := value.DecodeString(`{"name":"Ada","items":[{"price":1},{"price":2}],"a":2}`)
	f.Fuzz(func(t *testing.T, src string) {
		tpl, err := expression.CompileTemplate(src, expression.Options{})
		if err != nil {
			ce, ok := err.(*expression.Error)
			if !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			if ce.Offset < 0 || ce.Offset > len(src) {
				t.Fatalf("offset %d outside %q", ce.Offset, src)
			}
			return
		}
		tpl.Eval(&expression.Env{Message: msg})
	})
}
