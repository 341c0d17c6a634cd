package expression_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine/value"
)

func TestFuncLogic(t *testing.T) {
	runCases(t, []fcase{
		{"and all true", "AND", []any{true, true}, `true`, ""},
		{"and null is false", "AND", []any{true, nil}, `false`, ""},
		{"and rejects strings", "AND", []any{true, "true"}, ``, "argument 2: expected a boolean"},
		{"and needs an argument", "AND", nil, ``, "at least 1 argument"},
		{"or", "OR", []any{false, false}, `false`, ""},
		{"xor T F T", "XOR", []any{true, false, true}, `false`, ""},
		{"xor single", "XOR", []any{true}, `true`, ""},
		{"not null", "NOT", []any{nil}, `true`, ""},
		{"equalto objects ignore key order", "EQUALTO", []any{value.ObjectOf("a", int64(1), "b", int64(2)), map[string]any{"b": 2, "a": 1}}, `true`, ""},
		{"equalto string and number differ", "EQUALTO", []any{"1", int64(1)}, `false`, ""},
		{"equalto null null", "EQUALTO", []any{nil, nil}, `true`, ""},
		{"gt null null", "GREATERTHAN", []any{nil, nil}, `false`, ""},
		{"gte null null", "GREATERTHANEQUAL", []any{nil, nil}, `true`, ""},
		{"lt null null", "LESSTHAN", []any{nil, nil}, `false`, ""},
		{"lte null null", "LESSTHANEQUAL", []any{nil, nil}, `true`, ""},
		{"gt number over null", "GREATERTHAN", []any{-5, nil}, `true`, ""},
		{"gt big integers exactly", "GREATERTHAN", []any{int64(9007199254740993), int64(9007199254740992)}, `true`, ""},
		{"gt numeric strings by value", "GREATERTHAN", []any{"10", "9"}, `true`, ""},
		{"gt strings alphabetically", "GREATERTHAN", []any{"b", "a"}, `true`, ""},
		{"gt boolean is an error", "GREATERTHAN", []any{true, 1}, ``, "cannot compare"},
		{"if false", "IF", []any{false, "a", "b"}, `"b"`, ""},
		{"if null is false", "IF", []any{nil, "a", "b"}, `"b"`, ""},
		{"if needs a boolean", "IF", []any{"yes", "a", "b"}, ``, "expected a boolean"},
		{"switchcase default", "SWITCHCASE", []any{"d", false, "a"}, `"d"`, ""},
		{"switchcase incomplete pair", "SWITCHCASE", []any{"d", false}, ``, "condition has no result"},
		{"isnumber of string", "ISNUMBER", []any{"12"}, `false`, ""},
		{"isobject of expr map", "ISOBJECT", []any{map[string]any{}}, `true`, ""},
		{"isarray of object", "ISARRAY", []any{value.NewObject(0)}, `false`, ""},
		{"isnull of empty string", "ISNULL", []any{""}, `false`, ""},
	})
}

func TestFuncString(t *testing.T) {
	runCases(t, []fcase{
		{"capitalize null", "CAPITALIZE", []any{nil}, `null`, ""},
		{"capitalize accented", "CAPITALIZE", []any{"édith"}, `"Édith"`, ""},
		{"uppercase number", "UPPERCASE", []any{int64(12)}, `"12"`, ""},
		{"lowercase array is an error", "LOWERCASE", []any{[]any{}}, ``, "expected a string, got array"},
		{"trim tabs and newlines", "TRIM", []any{"\t a \n"}, `"a"`, ""},
		{"normalize keeps ascii", "NORMALIZE", []any{"abc"}, `"abc"`, ""},
		{"normalize cedilla", "NORMALIZE", []any{"Ação Çé"}, `"Acao Ce"`, ""},
		{"concat skips null", "CONCAT", []any{"a", nil, "b"}, `"ab"`, ""},
		{"concat float keeps .0", "CONCAT", []any{"n=", 2.0}, `"n=2.0"`, ""},
		{"concat object", "CONCAT", []any{value.ObjectOf("a", int64(1))}, `"{\"a\":1}"`, ""},
		{"concat nothing", "CONCAT", nil, `""`, ""},
		{"join", "JOIN", []any{"-", "a", int64(1), true}, `"a-1-true"`, ""},
		{"contains null", "CONTAINS", []any{nil, "a"}, `false`, ""},
		{"indexof absent", "INDEXOF", []any{"abc", "z"}, `-1`, ""},
		{"indexof counts characters", "INDEXOF", []any{"ãbc", "c"}, `2`, ""},
		{"indexof from past the end", "INDEXOF", []any{"abc", "a", 10}, `-1`, ""},
		{"lastindexof characters", "LASTINDEXOF", []any{"çaça", "a"}, `3`, ""},
		{"matches is anchored", "MATCHES", []any{"abc1", "[a-z]+"}, `false`, ""},
		{"matches alternation is anchored", "MATCHES", []any{"xb", "a|b"}, `false`, ""},
		{"matches bad regex", "MATCHES", []any{"a", "("}, ``, "invalid regular expression"},
		{"stringmatches none", "STRINGMATCHES", []any{"abc", "\\d"}, `[]`, ""},
		{"stringmatches literal", "STRINGMATCHES", []any{"a.b.c", ".", "LITERAL"}, `[".","."]`, ""},
		{"stringmatches comments", "STRINGMATCHES", []any{"ab12", "\\d  # digits\n+", "COMMENTS"}, `["12"]`, ""},
		{"stringmatches several flags", "STRINGMATCHES", []any{"A\nb", "^[a-z]$", "CASE_INSENSITIVE|MULTILINE"}, `["A","b"]`, ""},
		{"stringmatches unknown flag", "STRINGMATCHES", []any{"a", "a", "GLOBAL"}, ``, "unknown regex flag"},
		{"fuzzymatch threshold", "FUZZYMATCH", []any{"xyz", []any{"abc"}, 0.5}, `null`, ""},
		{"fuzzymatch exact", "FUZZYMATCH", []any{"Rio", []any{"rio", "Rios"}}, `"rio"`, ""},
		{"replace all", "REPLACE", []any{"a-b-c", "-", "+"}, `"a+b+c"`, ""},
		{"replace escaped dollar", "REPLACE", []any{"5", "(\\d)", "\\$$1"}, `"$5"`, ""},
		{"replace named group", "REPLACE", []any{"ab", "(?P<x>a)", "[${x}]"}, `"[a]b"`, ""},
		{"replace group 1 then digit", "REPLACE", []any{"ab", "(a)", "$12"}, `"a2b"`, ""},
		{"replace missing group", "REPLACE", []any{"ab", "a", "$1"}, ``, "no group 1"},
		{"replace null", "REPLACE", []any{nil, "a", "b"}, `null`, ""},
		{"split drops trailing empties", "SPLIT", []any{"a,,b,,", ","}, `["a","","b"]`, ""},
		{"split keeps leading empty", "SPLIT", []any{",a", ","}, `["","a"]`, ""},
		{"split no match", "SPLIT", []any{"abc", ","}, `["abc"]`, ""},
		{"split empty string", "SPLIT", []any{"", ","}, `[""]`, ""},
		{"split only separators", "SPLIT", []any{",,", ","}, `[]`, ""},
		{"substring to end", "SUBSTRING", []any{"integration", 5}, `"ration"`, ""},
		{"substring characters", "SUBSTRING", []any{"São Paulo", 0, 3}, `"São"`, ""},
		{"substring bad index is an error", "SUBSTRING", []any{"abc", 2, 9}, ``, "out of bounds"},
		{"substring bad index returns input", "SUBSTRING", []any{"abc", 2, 9, false}, `"abc"`, ""},
		{"leftpad already long", "LEFTPAD", []any{"abcdef", 3, "0"}, `"abcdef"`, ""},
		{"leftpad default space", "LEFTPAD", []any{"a", 3}, `"  a"`, ""},
		{"leftpad multi-char pad", "LEFTPAD", []any{"a", 6, "xy"}, `"xyxyxa"`, ""},
		{"leftpad too long", "LEFTPAD", []any{"a", int64(1) << 40}, ``, "above the limit"},
		{"default keeps empty string", "DEFAULT", []any{"", "x"}, `""`, ""},
		{"default keeps false", "DEFAULT", []any{false, true}, `false`, ""},
		{"escape json controls", "ESCAPE", []any{"a\tb\\c\u0001"}, `"a\\tb\\\\c\\u0001"`, ""},
		{"escape xml", "ESCAPE", []any{`<a href="x">'&'</a>`, "xml"}, `"&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;"`, ""},
		{"escape html", "ESCAPE", []any{`<b>"Tom" & 'Jerry'</b>`, "HTML"}, `"&lt;b&gt;&#34;Tom&#34; &amp; &#39;Jerry&#39;&lt;/b&gt;"`, ""},
		{"escape csv", "ESCAPE", []any{`a,"b"`, "CSV"}, `"\"a,\"\"b\"\"\""`, ""},
		{"escape csv plain", "ESCAPE", []any{`ab`, "CSV"}, `"ab"`, ""},
		{"escape unknown type", "ESCAPE", []any{"a", "YAML"}, ``, "unknown type"},
		{"unescape json", "UNESCAPE", []any{`a\"b\n\u00e9\ud83d\ude00`}, `"a\"b\né😀"`, ""},
		{"unescape csv", "UNESCAPE", []any{`"a,""b"""`, "CSV"}, `"a,\"b\""`, ""},
		{"unescape xml", "UNESCAPE", []any{"&lt;&apos;&#65;", "XML"}, `"<'A"`, ""},
		{"tostring float", "TOSTRING", []any{12.0}, `"12.0"`, ""},
		{"tostring int", "TOSTRING", []any{12}, `"12"`, ""},
		{"tostring null", "TOSTRING", []any{nil}, `null`, ""},
		{"tostring array", "TOSTRING", []any{[]any{"a", nil}}, `"[\"a\",null]"`, ""},
		{"randomstrings unknown charset", "RANDOMSTRINGS", []any{"HEX", 3}, ``, "unknown charset"},
		{"randomstrings negative", "RANDOMSTRINGS", []any{"NUMERIC", -1}, ``, "between 0"},
		{"randomstrings zero", "RANDOMSTRINGS", []any{"NUMERIC", 0}, `""`, ""},
	})
}

func TestFuncRandomStrings(t *testing.T) {
	for cs, re := range map[string]string{
		"ALPHANUMERIC": `^[A-Za-z0-9]{64}$`, "ALPHABETIC": `^[A-Za-z]{64}$`, "NUMERIC": `^[0-9]{64}$`, "ascii": `^[ -~]{64}$`,
	} {
		got, err := lookup(t, "RANDOMSTRINGS")(cs, 64)
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(re).MatchString(got.(string)) {
			t.Errorf("RANDOMSTRINGS(%s, 64) = %q", cs, got)
		}
	}
	a, _ := lookup(t, "RANDOMSTRINGS")("ALPHANUMERIC", 32)
	b, _ := lookup(t, "RANDOMSTRINGS")("ALPHANUMERIC", 32)
	if a == b {
		t.Fatal("two random strings are equal")
	}
}

func TestCharsetNames(t *testing.T) {
	decode := lookup(t, "BASEDECODE")
	tests := []struct{ name, charset, want, wantErr string }{
		{"utf-8", "utf-8", "São", ""},
		{"underscores", "UTF_8", "São", ""},
		{"latin 1 with a space", "Latin 1", "SÃ£o", ""},
		{"iso-8859-1", "iso-8859-1", "SÃ£o", ""},
		{"unknown", "EBCDIC", "", `unsupported charset "EBCDIC"`},
		{"longer than any name", "UTF-8-UTF-8-UTF-8-UTF-8", "", "unsupported charset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decode("U8Ojbw==", tt.charset)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, %v; want an error with %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %v, %v; want %q", got, err, tt.want)
			}
		})
	}
}
