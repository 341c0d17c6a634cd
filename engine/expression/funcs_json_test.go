package expression_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine/expression"
	"github.com/nectar-run/nectar/engine/value"
)

// store is the document of Jayway's README.
const store = `{
  "store": {
    "book": [
      {"category": "reference", "author": "Nigel Rees", "title": "Sayings of the Century", "price": 8.95},
      {"category": "fiction", "author": "Evelyn Waugh", "title": "Sword of Honour", "price": 12.99},
      {"category": "fiction", "author": "Herman Melville", "title": "Moby Dick", "isbn": "0-553-21311-3", "price": 8.99},
      {"category": "fiction", "author": "J. R. R. Tolkien", "title": "The Lord of the Rings", "isbn": "0-395-19395-8", "price": 22.99}
    ],
    "bicycle": {"color": "red", "price": 19.95}
  },
  "expensive": 10
}`

func decodeJSON(t testing.TB, s string) any {
	t.Helper()
	v, err := value.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestFuncJSONPath(t *testing.T) {
	doc := decodeJSON(t, store)
	q := func(name, path, want string) fcase { return fcase{name, "JSONPATH", []any{doc, path}, want, ""} }
	bad := func(name, path, wantErr string) fcase { return fcase{name, "JSONPATH", []any{doc, path}, "", wantErr} }
	runCases(t, []fcase{
		q("authors of all books", "$.store.book[*].author", `["Nigel Rees","Evelyn Waugh","Herman Melville","J. R. R. Tolkien"]`),
		q("all authors deep", "$..author", `["Nigel Rees","Evelyn Waugh","Herman Melville","J. R. R. Tolkien"]`),
		q("wildcard on an object", "$.store.bicycle.*", `["red",19.95]`),
		q("all prices in document order", "$.store..price", `[8.95,12.99,8.99,22.99,19.95]`),
		q("third book", "$..book[2].title", `["Moby Dick"]`),
		q("definite index", "$.store.book[2].title", `"Moby Dick"`),
		q("negative index", "$.store.book[-1].author", `"J. R. R. Tolkien"`),
		q("bracket names", "$['store']['bicycle']['color']", `"red"`),
		q("double-quoted bracket name", `$["store"].bicycle.color`, `"red"`),
		q("several names make an object, as in Jayway", "$.store.bicycle['color','price']", `{"color":"red","price":19.95}`),
		q("several indexes", "$.store.book[0,1].price", `[8.95,12.99]`),
		q("slice", "$.store.book[:2].price", `[8.95,12.99]`),
		q("slice from", "$.store.book[2:].price", `[8.99,22.99]`),
		q("last two", "$.store.book[-2:].price", `[8.99,22.99]`),
		q("slice with step", "$.store.book[0:4:2].price", `[8.95,8.99]`),
		q("books with isbn", "$..book[?(@.isbn)].title", `["Moby Dick","The Lord of the Rings"]`),
		q("books without isbn", "$..book[?(!@.isbn)].title", `["Sayings of the Century","Sword of Honour"]`),
		q("cheap books", "$.store.book[?(@.price < 10)].price", `[8.95,8.99]`),
		q("compare with root", "$..book[?(@.price <= $['expensive'])].author", `["Nigel Rees","Herman Melville"]`),
		q("and, or and parentheses", "$..book[?(@.category == 'fiction' && (@.price < 10 || @.price > 20))].title", `["Moby Dick","The Lord of the Rings"]`),
		q("not equal", "$..book[?(@.category != 'fiction')].title", `["Sayings of the Century"]`),
		q("regex whole match, case-insensitive", "$..book[?(@.author =~ /.*REES/i)].author", `["Nigel Rees"]`),
		q("regex must match whole string", "$..book[?(@.author =~ /Rees/)].author", `[]`),
		q("in list", "$..book[?(@.price in [8.95, 22.99])].price", `[8.95,22.99]`),
		q("nin list", "$..book[?(@.category nin ['fiction'])].category", `["reference"]`),
		q("size", "$..book[?(@.title size 9)].title", `["Moby Dick"]`),
		q("string equality with double quotes", `$..book[?(@.author == "Evelyn Waugh")].price`, `[12.99]`),
		q("filter on nested path", "$.store[?(@.bicycle.color == 'red')].expensive", `[]`),
		q("number of books", "$.store.book.length()", `4`),
		q("length of an indefinite path", "$..book[*].price.length()", `4`),
		q("min price", "$..price.min()", `8.95`),
		q("max price", "$..book[*].price.max()", `22.99`),
		q("keys", "$.store.bicycle.keys()", `["color","price"]`),
		q("first", "$..book[*].author.first()", `"Nigel Rees"`),
		q("missing definite path is null", "$.store.car.wheels", `null`),
		q("missing indefinite path is empty", "$..car", `[]`),
		q("path without $", "store.bicycle.color", `"red"`),
		q("root", "$", store),
		bad("function on missing", "$.nums.avg()", "missing"),
		bad("unknown function", "$.store.book.count()", "unknown function"),
		bad("unclosed bracket", "$.store.book[0", "expected ]"),
		bad("unclosed filter", "$.store.book[?(@.price < 10]", "expected )"),
		bad("trailing garbage", "$.store book", "unexpected"),
		bad("bad regex", "$..book[?(@.author =~ /(/)]", "invalid regular expression"),
		bad("empty path", " ", "empty JSONPath"),
	})

	nums := decodeJSON(t, `{"nums":[2,4,4,4,5,5,7,9]}`)
	runCases(t, []fcase{
		{"stddev", "JSONPATH", []any{nums, "$.nums.stddev()"}, `2.0`, ""},
		{"sum", "JSONPATH", []any{nums, "$.nums.sum()"}, `40.0`, ""},
		{"min of ints is a float", "JSONPATH", []any{nums, "$.nums.min()"}, `2.0`, ""},
		{"avg of ints is a float", "JSONPATH", []any{nums, "$.nums.avg()"}, `5.0`, ""},
		{"JSON text is parsed", "JSONPATH", []any{`{"a":{"b":[1,2]}}`, "$.a.b[1]"}, `2`, ""},
		{"expr maps work", "JSONPATH", []any{map[string]any{"a": []any{map[string]any{"b": 1}}}, "$.a[0].b"}, `1`, ""},
		{"filter on current value", "JSONPATH", []any{nums, "$.nums[?(@ > 5)]"}, `[7,9]`, ""},
		{"contains", "JSONPATH", []any{decodeJSON(t, `[{"t":["a","b"]},{"t":["c"]}]`), "$[?(@.t contains 'b')]"}, `[{"t":["a","b"]}]`, ""},
		{"empty", "JSONPATH", []any{decodeJSON(t, `[{"t":[]},{"t":["c"]}]`), "$[?(@.t empty true)]"}, `[{"t":[]}]`, ""},
		{"deep filter selects once", "JSONPATH", []any{decodeJSON(t, `{"a":[{"id":1,"k":[{"id":2}]}]}`), "$..[?(@.id)].id"}, `[1,2]`, ""},
		{"deep wildcard", "JSONPATH", []any{decodeJSON(t, `{"a":{"b":1},"c":[2]}`), "$..*"}, `[{"b":1},1,[2],2]`, ""},
		{"null document", "JSONPATH", []any{nil, "$.a"}, `null`, ""},
	})
}

func TestFuncJSON(t *testing.T) {
	runCases(t, []fcase{
		{"tojson object", "TOJSON", []any{`{"b":1,"a":[true,null]}`}, `{"b":1,"a":[true,null]}`, ""},
		{"tojson keeps big integers", "TOJSON", []any{`12345678901234567890123`}, `12345678901234567890123`, ""},
		{"tojson non-JSON string passes", "TOJSON", []any{"hello"}, `"hello"`, ""},
		{"tojson number passes", "TOJSON", []any{int64(5)}, `5`, ""},
		{"tojson null", "TOJSON", []any{nil}, `null`, ""},
		{"unescapejson", "UNESCAPEJSON", []any{`{\"a\":\"x\\\\y\"}`}, `{"a":"x\\y"}`, ""},
		{"unescapejson quoted", "UNESCAPEJSON", []any{`"{\"a\":1}"`}, `{"a":1}`, ""},
		{"unescapejson not JSON", "UNESCAPEJSON", []any{`a\"b`}, `"a\"b"`, ""},
		{"getelementat", "GETELEMENTAT", []any{[]any{"a", "b"}, int64(0)}, `"a"`, ""},
		{"getelementat out of range", "GETELEMENTAT", []any{[]any{"a", "b"}, 5}, `null`, ""},
		{"getelementat negative", "GETELEMENTAT", []any{[]any{"a", "b"}, -1}, `null`, ""},
		{"getelementat not array", "GETELEMENTAT", []any{"ab", 0}, ``, "expected an array"},
		{"lastelement empty", "LASTELEMENT", []any{[]any{}}, `null`, ""},
		{"removeat bad index unchanged", "REMOVEAT", []any{[]any{1, 2}, 7}, `[1,2]`, ""},
		{"removeat first", "REMOVEAT", []any{[]any{int64(1), int64(2)}, 0}, `[2]`, ""},
		{"push without element appends null", "PUSH", []any{[]any{int64(1)}}, `[1,null]`, ""},
		{"push onto null", "PUSH", []any{nil, "a"}, `["a"]`, ""},
		{"pop empty", "POP", []any{[]any{}}, `[]`, ""},
		{"pop one", "POP", []any{[]any{"x"}}, `{"array":[],"element":"x"}`, ""},
		{"cardinalityone empty", "CARDINALITYONE", []any{[]any{}}, `null`, ""},
		{"cardinalityone scalar", "CARDINALITYONE", []any{"a"}, `"a"`, ""},
		{"cardinalitymany array", "CARDINALITYMANY", []any{[]any{int64(1)}}, `[1]`, ""},
		{"cardinalitymany empty object", "CARDINALITYMANY", []any{value.NewObject(0)}, `[{}]`, ""},
		{"cardinalitymany null", "CARDINALITYMANY", []any{nil}, `[]`, ""},
	})
}

// TestFuncArraysDoNotMutate checks that array functions copy: messages are shared.
func TestFuncArraysDoNotMutate(t *testing.T) {
	in := []any{int64(1), int64(2), int64(3)}
	for _, c := range []struct {
		fn   string
		args []any
	}{{"PUSH", []any{in[:2], int64(9)}}, {"REMOVEAT", []any{in, 0}}, {"POP", []any{in}}} {
		if _, err := lookup(t, c.fn)(c.args...); err != nil {
			t.Fatal(err)
		}
	}
	if value.MustEncodeString(in) != `[1,2,3]` {
		t.Fatalf("input changed to %s", value.MustEncodeString(in))
	}
}

// TestJSONPathUnsupportedIsNamed: what Nectar's JSONPATH does not have is
// refused with a message that names it.
func TestJSONPathUnsupportedIsNamed(t *testing.T) {
	for path, want := range map[string]string{
		"$.a.toUpper()":        "unknown function toUpper(); Nectar's JSONPATH knows min(), max()",
		"$.a.length().b":       "only a function may follow a function",
		"$.a.index('x')":       "index() takes one integer",
		"$.a.sum(1, 2":         "expected , or ) in the arguments of sum()",
		"$[?(/x/ == @.a)]":     "expected =~ after a regular expression",
		"$[?(@.a =~ /(?=x)/)]": "invalid regular expression",
	} {
		vars := value.NewObject(1)
		vars.Set("path", path)
		e, err := expression.Compile(`JSONPATH(message, vars.path)`, expression.Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.Eval(&expression.Env{Message: mustDecode(t, `{"a":[1]}`), Vars: vars})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error with %q", path, err, want)
		}
	}
}

// TestJSONPathLiteralCompiledWithTheExpression: a literal path that cannot
// be read is an error of the expression, at the path, not of each run.
func TestJSONPathLiteralCompiledWithTheExpression(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{`JSONPATH(message, "$.a[?(@.b == 1]")`, `JSONPATH: argument 2: invalid JSONPath "$.a[?(@.b == 1]" at 14: expected )`},
		{`jsonpath(message, '$.a.toUpper()')`, `JSONPATH: argument 2: invalid JSONPath "$.a.toUpper()" at 11: unknown function toUpper()`},
		{`1 + LEN(JSONPATH(message.doc, " "))`, `JSONPATH: argument 2: empty JSONPath`},
	} {
		_, err := expression.Compile(tc.src, expression.Options{})
		var ce *expression.Error
		if !errors.As(err, &ce) || !strings.HasPrefix(ce.Msg, tc.want) {
			t.Errorf("%s: got %v, want %s…", tc.src, err, tc.want)
			continue
		}
		// The error points at the path's opening quote.
		if want := strings.LastIndex(tc.src, ", ") + 2; ce.Offset != want {
			t.Errorf("%s: error at %d, want %d", tc.src, ce.Offset, want)
		}
	}
	// A path that is not a literal is read when it runs.
	e, err := expression.Compile(`JSONPATH(message, vars.path)`, expression.Options{})
	if err != nil {
		t.Fatal(err)
	}
	vars := value.NewObject(1)
	vars.Set("path", "$.a[")
	if _, err := e.Eval(&expression.Env{Message: mustDecode(t, `{}`), Vars: vars}); err == nil || !strings.Contains(err.Error(), "invalid JSONPath") {
		t.Fatalf("got %v", err)
	}
}
