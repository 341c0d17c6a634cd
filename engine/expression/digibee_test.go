package expression_test

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/nectar-run/nectar/engine/expression"
	"github.com/nectar-run/nectar/engine/value"
)

// evalBothWays compiles src as closures and for the VM alone, evaluates it in
// env both ways and requires the same result. It returns the result as JSON,
// or the error.
func evalBothWays(t *testing.T, src string, env *expression.Env) (string, error) {
	t.Helper()
	results, errs := evalTwice(src, env)
	if results[0] != results[1] || (errs[0] == nil) != (errs[1] == nil) {
		t.Fatalf("%s: closures gave %s %v, the VM %s %v", src, results[0], errs[0], results[1], errs[1])
	}
	return results[0], errs[0]
}

// evalTwice gives the results (as JSON) and errors of src as closures and
// with the VM alone.
func evalTwice(src string, env *expression.Env) ([2]string, [2]error) {
	var results [2]string
	var errs [2]error
	for i, vmOnly := range []bool{false, true} {
		restore := expression.SetVMOnly(vmOnly)
		e, err := expression.Compile(src, expression.Options{})
		restore()
		if err != nil {
			errs[i] = err
			continue
		}
		v, err := e.Eval(env)
		if err != nil {
			errs[i] = err
			continue
		}
		results[i] = value.MustEncodeString(v)
	}
	return results, errs
}

// TestDigibeeSyntax runs expressions as Digibee pipelines write them: null for
// the null literal, backslashes Digibee keeps in strings, function names in
// any case.
func TestDigibeeSyntax(t *testing.T) {
	msg := mustDecode(t, `{"s":"abcdef","x":null,"y":3,"code":"123-45","price":"10.50","list":["a","b"]}`)
	tests := []struct {
		name, src, want string
	}{
		{"null as an argument", `SUBSTRING(message.s, 2, null, false)`, `"cdef"`},
		{"null in IF", `IF(ISNULL(message.x), null, message.x)`, `null`},
		{"null compared", `message.x == null`, `true`},
		{"null compared with a value", `message.y != null`, `true`},
		{"null coalesced", `message.x ?? null`, `null`},
		{"null in a literal", `{"a": null, "b": [null]}`, `{"a":null,"b":[null]}`},
		{"null alone", `null`, `null`},
		{"nil still works", `message.x == nil`, `true`},
		{"null as a key is a name", `{null: 1}`, `{"null":1}`},
		{"a field named null", `message.null`, `null`},

		{"unknown escape kept", `STRINGMATCHES(message.code, "\d{3}-\d{2}")`, `["123-45"]`},
		{"unknown escape in single quotes", `MATCHES(message.code, '\d+-\d+')`, `true`},
		{"escaped dot", `MATCHES(message.price, "\d+\.\d{2}")`, `true`},
		{"regex in REPLACE", `REPLACE(message.code, "\D", "")`, `"12345"`},
		{"known escapes keep their meaning", `"a\tb\nc\\d\"e"`, `"a\tb\nc\\d\"e"`},
		{"doubled backslash is one", `"\\d"`, `"\\d"`},
		{"hex and unicode escapes", `"\x41\u00e9\U0001F600\101"`, `"Aé😀A"`},
		{"an incomplete hex escape is kept", `"\xZ"`, `"\\xZ"`},
		{"the other quote escaped", `"it\'s " + 'say \"hi\"'`, `"it's say \"hi\""`},
		{"backslash before a multibyte character", `"\é"`, `"\\é"`},
		{"raw strings are untouched", "`\\d`", `"\\d"`},
		{"a quote in a block comment opens no string", `/* it's */ "a\'b"`, `"a'b"`},
		{"a quote in a line comment opens no string", "// it's\n\"a\\'b\"", `"a'b"`},
		{"escapes in a JSONPath regex", `JSONPATH({"a": [{"c": "12"}, {"c": "x"}]}, "$.a[?(@.c =~ /\d+/)].c")`, `["12"]`},

		{"concat lower case", `concat("a", "b", 1)`, `"ab1"`},
		{"Concat capitalised", `Concat("a", "b")`, `"ab"`},
		{"concat of lists joins them, as expr's", `concat(message.list, ["c"], null)`, `["a","b","c"]`},
		{"concat of a list and text is CONCAT", `concat("x", message.list)`, `"x[\"a\",\"b\"]"`},
		{"concat of nulls is CONCAT", `concat(null, message.x)`, `""`},
		{"CONCAT of lists stays Digibee's", `CONCAT([1], [2])`, `"[1][2]"`},
		{"replace is Digibee's regex REPLACE", `replace(message.code, "[0-9]", "#")`, `"###-##"`},
		{"trim", `trim("  a  ")`, `"a"`},
		{"abs gives a float as in Digibee", `abs(-34)`, `34.0`},
		{"round", `round(2.5)`, `3.0`},
		{"max of numbers", `max(1, 5, 3)`, `5.0`},
		{"indexOf", `indexOf("abc", "c")`, `2`},
		{"sum stays expr's", `sum([1, 2])`, `3`},
		{"sum with a predicate", `sum([{"q": 1}, {"q": 2}], #.q)`, `3`},
		{"SUM is Digibee's", `SUM(1, 2)`, `3.0`},
		{"uppercase", `uppercase(message.s)`, `"ABCDEF"`},
		{"toJson reads JSON as TOJSON", `toJson("{\"a\":1}")`, `{"a":1}`},
		{"join stays expr's", `join(message.list, "-")`, `"a-b"`},
		{"JOIN is Digibee's", `JOIN("-", message.list)`, `"a-b"`},
		{"split stays expr's", `split("a.b", ".")`, `["a","b"]`},
		{"SPLIT is Digibee's", `SPLIT("a.b", "\.")`, `["a","b"]`},
		{"toJSON stays Nectar's", `toJSON({"a": 1})`, `"{\"a\":1}"`},
		{"expr builtins without a Digibee twin", `upper(lower("Ab"))`, `"AB"`},

		{"and called", `and(true, false)`, `false`},
		{"or called", `or(false, message.x)`, `false`},
		{"if called", `if(message.y > 1, "big", null)`, `"big"`},
		{"contains called", `contains(message.s, "cd")`, `true`},
		{"matches called", `IF(matches(message.code, "\d+-\d+"), 1, 2)`, `1`},
		{"keyword calls nested", `and(or(false, true), contains("ab", "b"))`, `true`},
		{"And capitalised", `And(true, true)`, `true`},
		{"and stays the operator", `message.y > 1 and (message.y < 5)`, `true`},
		{"or stays the operator", `(false) or (true)`, `true`},
		{"contains stays the operator", `message.s contains ("cd")`, `true`},
		{"not and", `not and(true, false)`, `true`},
		{"expr's if statement is left alone", `if (message.y > 1) { "big" } else { "small" }`, `"big"`},
		{"a keyword in a string is text", `"and(1)"`, `"and(1)"`},
		{"not is NOT", `not(true)`, `false`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := evalBothWays(t, tt.src, &expression.Env{Message: msg})
			if err != nil {
				t.Fatalf("%s: %v", tt.src, err)
			}
			if got != tt.want {
				t.Errorf("%s = %s, want %s", tt.src, got, tt.want)
			}
		})
	}
}

// TestDigibeeSyntaxErrors: after the rewriting of backslashes, a compile
// error still points at the place the user wrote.
func TestDigibeeSyntaxErrors(t *testing.T) {
	tests := []struct {
		name, src string
		offset    int
		msg       string
	}{
		{"after kept escapes", `MATCHES("\d\d", "x") )`, 21, `unexpected token Bracket(")")`},
		{"unknown name after an escape", `"\d" + foo`, 7, "unknown name foo"},
		{"null cannot be called", `null(1)`, 0, ""},
		{"unterminated string", `"\d`, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := expression.Compile(tt.src, expression.Options{})
			if err == nil {
				t.Fatalf("%s compiled", tt.src)
			}
			ce := err.(*expression.Error)
			if tt.msg == "" {
				return
			}
			if ce.Offset != tt.offset || !strings.Contains(ce.Msg, tt.msg) {
				t.Errorf("%s: offset %d %q, want %d %q", tt.src, ce.Offset, ce.Msg, tt.offset, tt.msg)
			}
		})
	}
}

// TestDigibeeTemplate: the same in a template, where the expression sits
// between braces.
func TestDigibeeTemplate(t *testing.T) {
	tpl, err := expression.CompileTemplate(`code {{ IF(MATCHES(message.c, "\d{3}"), message.c, null) }}!`, expression.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := tpl.Eval(&expression.Env{Message: mustDecode(t, `{"c":"123"}`)})
	if err != nil || got != "code 123!" {
		t.Fatalf("got %v, %v", got, err)
	}
}

// TestDigibeeYAMLQuoting checks the table of docs/functions.md ("Coming from
// Digibee"): how each YAML scalar style delivers a backslash to the
// expression.
func TestDigibeeYAMLQuoting(t *testing.T) {
	tests := []struct {
		name, yaml string
		loads      bool
	}{
		{"plain", `that: MATCHES(message.code, "\d+")`, true},
		{"single-quoted", `that: 'MATCHES(message.code, "\d+")'`, true},
		{"double-quoted", `that: "MATCHES(message.code, '\d+')"`, false},
		{"double-quoted, doubled", `that: "MATCHES(message.code, '\\d+')"`, true},
		{"block", "that: |\n  MATCHES(message.code, \"\\d+\")\n", true},
		{"template in single quotes", `that: '{{ REPLACE(message.code, "\D", "") == "123" }}'`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var doc struct{ That string }
			err := yaml.Unmarshal([]byte(tt.yaml), &doc)
			if !tt.loads {
				if err == nil || !strings.Contains(err.Error(), "unknown escape character") {
					t.Fatalf("%s loaded (%q, %v); the docs say YAML refuses it", tt.yaml, doc.That, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tpl, err := expression.CompileTemplate(doc.That, expression.Options{})
			src := doc.That
			if !strings.Contains(src, "{{") {
				_, err = expression.Compile(src, expression.Options{})
			}
			if err != nil {
				t.Fatalf("%q: %v", src, err)
			}
			if tpl != nil && strings.Contains(src, "{{") {
				got, err := tpl.Eval(&expression.Env{Message: mustDecode(t, `{"code":"1-2-3"}`)})
				if err != nil || got != true {
					t.Fatalf("%q gave %v, %v", src, got, err)
				}
				return
			}
			e, _ := expression.Compile(src, expression.Options{})
			ok, err := e.Bool(&expression.Env{Message: mustDecode(t, `{"code":"123"}`)})
			if err != nil || !ok {
				t.Fatalf("%q gave %v, %v", src, ok, err)
			}
		})
	}
}
