package expression_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine/expression"
	"github.com/nectar-run/nectar/engine/value"
)

func mustDecode(t testing.TB, s string) any {
	t.Helper()
	v, err := value.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestTemplate(t *testing.T) {
	tests := []struct {
		name, src, message, want string
	}{
		{"text joins parts", "Hello, {{ message.name }}!", `{"name":"Ada"}`, `"Hello, Ada!"`},
		{"single expression keeps its type", "{{ len(message.name) }}", `{"name":"Ada"}`, `3`},
		{"object literal keeps key order", `{{ {"z": 1, "a": message.n} }}`, `{"n":2}`, `{"z":1,"a":2}`},
		{"missing key is nil", "{{ message.a.b.c }}", `{}`, `null`},
		{"whole message with $", "{{ message.$ }}", `{"x":[1,2]}`, `{"x":[1,2]}`},
		{"negative index", "{{ message.x[-1] }}", `{"x":[1,2]}`, `2`},
		{"big integers stay exact", "{{ message.id }}", `{"id":1234567890123456789}`, `1234567890123456789`},
		{"nil in text is empty", "a{{ message.x }}b", `{}`, `"ab"`},
		{"objects in text are JSON", "v={{ message.o }}", `{"o":{"k":true}}`, `"v={\"k\":true}"`},
		{"in works on objects", `{{ "a" in message }}`, `{"a":1}`, `true`},
		{"equality is deep", `{{ message.a == message.b }}`, `{"a":{"x":[1]},"b":{"x":[1.0]}}`, `true`},
		{"comparison with nil is false", `{{ message.n > 1 }}`, `{}`, `false`},
		{"int and float compare", `{{ message.n >= 1.5 }}`, `{"n":2}`, `true`},
		{"keys in order", `{{ keys(message) }}`, `{"b":1,"a":2}`, `["b","a"]`},
		{"filter with predicate", `{{ map(filter(message.items, .price > 1), .name) }}`, `{"items":[{"name":"a","price":1},{"name":"b","price":3}]}`, `["b"]`},
		{"braces in strings", `{{ "}}" + message.s }}`, `{"s":"x"}`, `"}}x"`},
		{"nested object literal", `{{ {a: {b: 1}} }}`, `{}`, `{"a":{"b":1}}`},
		{"nested object literal against the braces", `{{ {a: {b: {c: 1}}}}}`, `{}`, `{"a":{"b":{"c":1}}}`},
		{"object literal then text", `{{ {a: 1}}}!`, `{}`, `"{\"a\":1}!"`},
		{"brace after an expression is text", `{{ message.s }}}`, `{"s":"x"}`, `"x}"`},
		{"braces in a string in a literal", `{{ {a: "}}{"} }}`, `{}`, `{"a":"}}{"}`},
		{"backslash ends a raw string", "{{ {a: `\\`} }}", `{}`, `{"a":"\\"}`},
		{"literal text", `plain`, `{}`, `"plain"`},
		{"arithmetic", `{{ message.a * 2 + 1 }}`, `{"a":20}`, `41`},
		{"toJSON keeps order", `{{ toJSON(message) }}`, `{"b":1,"a":2}`, `"{\"b\":1,\"a\":2}"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl, err := expression.CompileTemplate(tt.src, expression.Options{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := tpl.Eval(&expression.Env{Message: mustDecode(t, tt.message)})
			if err != nil {
				t.Fatal(err)
			}
			if s := value.MustEncodeString(got); s != tt.want {
				t.Errorf("got %s, want %s", s, tt.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name, src  string
		wantOffset int
		wantMsg    string
	}{
		{"unclosed", "a {{ message.x", 2, "unclosed"},
		{"empty", "x{{ }}", 1, "empty"},
		{"unknown name", "ab{{ foo.bar }}", 5, "unknown name foo"},
		{"syntax", "{{ 1 + }}", 6, "unexpected"},
		{"account outside headers", "{{ account.crm.password }}", 3, "header values"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := expression.CompileTemplate(tt.src, expression.Options{})
			if err == nil {
				t.Fatal("no error")
			}
			ce := err.(*expression.Error)
			if ce.Offset != tt.wantOffset || !strings.Contains(ce.Msg, tt.wantMsg) {
				t.Errorf("got offset %d %q, want %d %q", ce.Offset, ce.Msg, tt.wantOffset, tt.wantMsg)
			}
		})
	}
}

func TestEvalError(t *testing.T) {
	tpl, err := expression.CompileTemplate(`{{ message.a + message.b }}`, expression.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = tpl.Eval(&expression.Env{Message: mustDecode(t, `{"a":{},"b":1}`)})
	if err == nil || !strings.Contains(err.Error(), "message.a + message.b") {
		t.Fatalf("got %v", err)
	}
}

// TestEvalErrorPreviewCutsAtRuneBoundary checks that a long expression quoted
// in an error is shortened without splitting a multi-byte character.
func TestEvalErrorPreviewCutsAtRuneBoundary(t *testing.T) {
	src := `message.a + "` + strings.Repeat("é", 40) + `"`
	e, err := expression.Compile(src, expression.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.Eval(&expression.Env{Message: mustDecode(t, `{"a":{}}`)})
	if err == nil {
		t.Fatal("no error")
	}
	want := strconv.Quote(`message.a + "` + strings.Repeat("é", 23) + "…")
	if !strings.HasPrefix(err.Error(), "evaluating "+want+":") {
		t.Fatalf("got %q, want it to start with evaluating %s", err, want)
	}
}

func BenchmarkTemplate(b *testing.B) {
	tpl, err := expression.CompileTemplate("{{ globals.greeting }}, {{ message.name }}!", expression.Options{})
	if err != nil {
		b.Fatal(err)
	}
	env := &expression.Env{Message: mustDecode(b, `{"name":"Ada"}`), Globals: mustDecode(b, `{"greeting":"Hello"}`)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tpl.Eval(env); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCondition(b *testing.B) {
	e, err := expression.Compile(`message.name != nil && message.name != ""`, expression.Options{})
	if err != nil {
		b.Fatal(err)
	}
	env := &expression.Env{Message: mustDecode(b, `{"name":"Ada"}`)}
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := e.Bool(env); err != nil || !ok {
			b.Fatal(err)
		}
	}
}

// BenchmarkScopeCheck evaluates the token endpoint's scope check
// (pipelines/oauth-grant.yaml) when the scope asked for differs from the
// one granted, so that its predicate runs.
func BenchmarkScopeCheck(b *testing.B) {
	b.Run("same", func(b *testing.B) { benchmarkScopeCheck(b, "read write admin") })
	b.Run("narrower", func(b *testing.B) { benchmarkScopeCheck(b, "read write") })
}

func benchmarkScopeCheck(b *testing.B, scope string) {
	e, err := expression.Compile(`vars.grant.scope != vars.grant.allowed && (!ISSTRING(vars.grant.scope) || !all(split(vars.grant.scope, ' '), {(' ' + vars.grant.allowed + ' ') contains (' ' + # + ' ')}))`, expression.Options{})
	if err != nil {
		b.Fatal(err)
	}
	env := &expression.Env{Vars: mustDecode(b, `{"grant":{"scope":"`+scope+`","allowed":"read write admin"}}`)}
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := e.Bool(env); err != nil || ok {
			b.Fatal(ok, err)
		}
	}
}

func TestBooleanOperators(t *testing.T) {
	tests := []struct{ name, src, message, want, wantErr string }{
		{"not null is true", `!message.x`, `{}`, `true`, ""},
		{"not spelled out", `not message.x`, `{}`, `true`, ""},
		{"null or true", `message.a || message.b`, `{"b":true}`, `true`, ""},
		{"null and true", `message.a && message.b`, `{"b":true}`, `false`, ""},
		{"and spelled out", `message.a and true`, `{"a":true}`, `true`, ""},
		{"null as a ternary's test", `message.a ? "yes" : "no"`, `{}`, `"no"`, ""},
		{"or short-circuits", `true || message.s > 1`, `{"s":{}}`, `true`, ""},
		{"and short-circuits", `message.a && message.s > 1`, `{"s":{}}`, `false`, ""},
		{"not in", `"a" not in message`, `{}`, `true`, ""},
		{"a string is not a boolean", `!message.s`, `{"s":"open"}`, ``, `expected true, false or null, got string "open"`},
		{"a number is not a boolean", `message.n || message.m`, `{"n":1}`, ``, `expected true, false or null, got number 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := expression.Compile(tt.src, expression.Options{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.Eval(&expression.Env{Message: mustDecode(t, tt.message)})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s := value.MustEncodeString(got); s != tt.want {
				t.Errorf("got %s, want %s", s, tt.want)
			}
		})
	}
}

func TestConditionErrorShowsTheValueOnce(t *testing.T) {
	tests := []struct{ name, message, want string }{
		{"string", `{"s":"open"}`, `condition gave string "open", expected true or false`},
		{"number", `{"s":1}`, `condition gave number 1, expected true or false`},
		{"object", `{"s":{"a":1}}`, `condition gave object {"a":1}, expected true or false`},
		{"long string is cut", `{"s":"` + strings.Repeat("é", 40) + `"}`, `condition gave string "` + strings.Repeat("é", 29) + `…`},
	}
	e, err := expression.Compile(`message.s`, expression.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.Bool(&expression.Env{Message: mustDecode(t, tt.message)})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %s", err, tt.want)
			}
		})
	}
}

func TestCoalesce(t *testing.T) {
	tests := []struct{ name, src, message, want string }{
		{"null gives the object literal", `nil ?? {x: 1}`, `{}`, `{"x":1}`},
		{"missing field gives an empty object", `message.x ?? {}`, `{}`, `{}`},
		{"missing field gives a nested literal", `message.x ?? {a: {b: [1]}}`, `{}`, `{"a":{"b":[1]}}`},
		{"an object on the left is kept", `message.o ?? 1`, `{"o":{"k":true}}`, `{"k":true}`},
		{"an object on the right is kept", `message.x ?? message.o`, `{"o":{"k":true}}`, `{"k":true}`},
		{"false is not null", `message.f ?? true`, `{"f":false}`, `false`},
		{"chained", `message.a ?? message.b ?? {c: 3}`, `{}`, `{"c":3}`},
		{"nested in the right operand", `message.a ?? (message.b ?? 2)`, `{"b":1}`, `1`},
		{"right operand evaluated only when needed", `message.a ?? (message.s > 1)`, `{"a":true,"s":{}}`, `true`},
		{"in a predicate", `map(message.items, #.n ?? {})`, `{"items":[{"n":{"v":1}},{}]}`, `[{"v":1},{}]`},
		{"after an optional chain", `message?.a?.b ?? "none"`, `{}`, `"none"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := expression.Compile(tt.src, expression.Options{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.Eval(&expression.Env{Message: mustDecode(t, tt.message)})
			if err != nil {
				t.Fatal(err)
			}
			if s := value.MustEncodeString(got); s != tt.want {
				t.Errorf("got %s, want %s", s, tt.want)
			}
		})
	}
}

func TestListsFromBuiltins(t *testing.T) {
	tests := []struct{ name, src, want, wantErr string }{
		{"in a split", `"b" in split("a,b", ",")`, `true`, ""},
		{"not in a split", `"c" in split("a,b", ",")`, `false`, ""},
		{"index a split", `split("a,b", ",")[1]`, `"b"`, ""},
		{"negative index of a split", `split("a,b", ",")[-2]`, `"a"`, ""},
		{"length of a split", `len(split("a,b,c", ","))`, `3`, ""},
		{"in on a number", `1 in 2`, ``, `cannot use 'in' on a number`},
		{"length of a boolean", `len(true)`, ``, `len: cannot take the length of a boolean`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := expression.Compile(tt.src, expression.Options{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.Eval(&expression.Env{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s := value.MustEncodeString(got); s != tt.want {
				t.Errorf("got %s, want %s", s, tt.want)
			}
		})
	}
}

func TestTypeWithArticle(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{nil, "null"}, {[]any{}, "an array"}, {[]string{}, "an array"}, {value.NewObject(0), "an object"},
		{"s", "a string"}, {int64(1), "a number"}, {true, "a boolean"},
	}
	for _, tt := range tests {
		if got := expression.TypeWithArticle(tt.v); got != tt.want {
			t.Errorf("TypeWithArticle(%#v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

func TestUnknownNamesInOperands(t *testing.T) {
	for _, src := range []string{`mesage.x > 1`, `mesage == 1`, `!mesage`, `mesage || true`, `mesage ?? 1`, `mesage ? 1 : 2`, `"a" in mesage`} {
		t.Run(src, func(t *testing.T) {
			_, err := expression.Compile(src, expression.Options{})
			if err == nil || !strings.Contains(err.Error(), "unknown name mesage") {
				t.Errorf("got %v, want unknown name mesage", err)
			}
		})
	}
}

func TestTemplateText(t *testing.T) {
	tpl, err := expression.CompileTemplate(`id {{ message.id }}: {{ message.o }}`, expression.Options{})
	if err != nil {
		t.Fatal(err)
	}
	upper := func(v any) any {
		if s, ok := v.(string); ok {
			return strings.ToUpper(s)
		}
		return v
	}
	got, err := tpl.Text(&expression.Env{Message: mustDecode(t, `{"id":"a","o":{"k":"v"}}`)}, upper)
	if err != nil {
		t.Fatal(err)
	}
	if want := `id A: {"k":"v"}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// TestEvalDoesNotModifyWhatItReads: a list an expression returns as it is
// (a global's, a var's, the message's) is shared with every other execution
// reading it: turning its numbers into the value model must copy it, never
// write into it (concurrent runs of the shipped credential-provider raced
// on globals.oauth_roles that way; go test -race ./pipetest found it).
func TestEvalDoesNotModifyWhatItReads(t *testing.T) {
	shared := []any{1, int64(2), []any{3}}
	for _, src := range []string{"true ? vars.l : nil", "vars.l ?? []"} {
		e, err := expression.Compile(src, expression.Options{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.Eval(&expression.Env{Vars: value.ObjectOf("l", shared)})
		if err != nil {
			t.Fatal(err)
		}
		if value.MustEncodeString(got) != "[1,2,[3]]" {
			t.Errorf("%s gave %s", src, value.MustEncodeString(got))
		}
		if _, still := shared[0].(int); !still {
			t.Fatalf("%s wrote into the list it read: %#v", src, shared)
		}
		if _, still := shared[2].([]any)[0].(int); !still {
			t.Fatalf("%s wrote into a list inside the list it read: %#v", src, shared)
		}
	}
}

// TestLiteralsAreBoxedOnce: evaluating an expression whose parts are
// literals allocates nothing (a literal's closure used to box its string or
// number on every evaluation: 13.5 % of the token endpoint's allocations).
func TestLiteralsAreBoxedOnce(t *testing.T) {
	for _, src := range []string{`"client_credentials"`, `42`, `1.5`, `message.grant ?? "client_credentials"`} {
		e, err := expression.Compile(src, expression.Options{})
		if err != nil {
			t.Fatal(err)
		}
		env := &expression.Env{Message: mustDecode(t, `{}`)}
		if n := testing.AllocsPerRun(100, func() { e.Eval(env) }); n != 0 {
			t.Errorf("%s: %.0f allocations per evaluation, want 0", src, n)
		}
	}
}
