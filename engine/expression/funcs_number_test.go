package expression_test

import (
	"encoding/json"
	"math"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestFuncFormatNumber(t *testing.T) {
	f := func(name string, n any, pattern, locale string, rounding any, want string) fcase {
		args := []any{n, pattern}
		if locale != "" || rounding != nil {
			args = append(args, nilIfEmpty(locale))
		}
		if rounding != nil {
			args = append(args, rounding)
		}
		return fcase{name, "FORMATNUMBER", args, want, ""}
	}
	runCases(t, []fcase{
		f("grouping en-us", 1234567.891, "#,##0.00", "", nil, `"1,234,567.89"`),
		f("grouping de-de", 1234567.891, "#,##0.00", "de-DE", nil, `"1.234.567,89"`),
		f("grouping pt_BR", int64(1234567), "#,##0.00", "pt_BR", nil, `"1.234.567,00"`),
		f("fr-fr narrow space", int64(1234567), "#,##0", "fr-fr", nil, "\"1\u202f234\u202f567\""),
		f("half even down", 2.5, "0", "", nil, `"2"`),
		f("half even up", 3.5, "0", "", nil, `"4"`),
		f("half even on the decimal as written", 0.125, "0.00", "", nil, `"0.12"`),
		f("half even above half", 0.1251, "0.00", "", nil, `"0.13"`),
		f("half up on the decimal as written, not the double", 2.675, "0.00", "", "HALF_UP", `"2.68"`),
		f("rounding up", 3.8454, "#.###", "", "UP", `"3.846"`),
		f("rounding down", 3.8456, "#.###", "", "DOWN", `"3.845"`),
		f("rounding ceiling negative", -3.8454, "#.###", "", "CEILING", `"-3.845"`),
		f("rounding floor negative", -3.8454, "#.###", "", "FLOOR", `"-3.846"`),
		f("rounding half up", 2.5, "0", "", "half_up", `"3"`),
		f("rounding half down", 2.5, "0", "", "HALF_DOWN", `"2"`),
		{"unnecessary rounding", "FORMATNUMBER", []any{2.5, "0", nil, "UNNECESSARY"}, ``, "rounding is necessary"},
		f("carry into a new digit", 999.999, "#,##0.00", "", nil, `"1,000.00"`),
		f("hash fraction drops zeros", 1.5, "#.##", "", nil, `"1.5"`),
		f("no integer digit with #", 0.5, "#.##", "", nil, `".5"`),
		f("zero with #", int64(0), "#", "", nil, `"0"`),
		f("minimum integer digits", int64(7), "000", "", nil, `"007"`),
		f("percent", 0.256, "0.0%", "", nil, `"25.6%"`),
		f("per mille", 0.0256, "0‰", "", nil, `"26‰"`),
		f("currency en-us", 1234.5, "¤#,##0.00", "", nil, `"$1,234.50"`),
		f("currency pt-br", 1234.5, "¤ #,##0.00", "pt-br", nil, `"R$ 1.234,50"`),
		f("quoted prefix", 1234.5, "'R$ '#,##0.00", "pt-br", nil, `"R$ 1.234,50"`),
		f("quoted quote", int64(5), "0 'o''clock'", "", nil, `"5 o'clock"`),
		f("negative default", -1234.5, "#,##0.00", "", nil, `"-1,234.50"`),
		f("negative subpattern", -1234.5, "#,##0.00;(#,##0.00)", "", nil, `"(1,234.50)"`),
		f("negative rounds to zero without sign", -0.001, "0.00", "", nil, `"0.00"`),
		f("exponent", 12345.0, "0.###E0", "", nil, `"1.234E4"`),
		f("exponent small", 0.00012345, "0.00E00", "", nil, `"1.23E-04"`),
		f("numeric string input", "1234.5", "#,##0.0", "", nil, `"1,234.5"`),
		f("json.Number input keeps digits", json.Number("12345678901234567890.5"), "#,##0", "", nil, `"12,345,678,901,234,567,890"`),
		f("big int64", int64(math.MaxInt64), "#,##0", "", nil, `"9,223,372,036,854,775,807"`),
		f("min int64", int64(math.MinInt64), "0", "", nil, `"-9223372036854775808"`),
		f("asInteger true", 2.75, "#,##0.00", "", true, `"3"`),
		f("point always shown", int64(3), "0.", "", nil, `"3."`),
		f("grouping size from last comma", int64(123456789), "#,##,###", "", nil, `"123,456,789"`),
		f("null value", nil, "0", "", nil, `null`),
		{"not a number", "FORMATNUMBER", []any{"abc", "0"}, ``, "expected a number"},
		{"unknown locale", "FORMATNUMBER", []any{1, "0", "xx-yy"}, ``, "unsupported locale"},
		{"bad rounding", "FORMATNUMBER", []any{1, "0", nil, "NEAREST"}, ``, "unknown rounding mode"},
		{"pattern without digits", "FORMATNUMBER", []any{1, "abc"}, ``, "has no digits"},
		{"unclosed quote", "FORMATNUMBER", []any{1, "'abc 0"}, ``, "unclosed quote"},
	})
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func TestFuncToNumber(t *testing.T) {
	runCases(t, []fcase{
		{"en-us grouping", "TONUMBER", []any{"1,234.56", "#,##0.00"}, `1234.56`, ""},
		{"pt-br", "TONUMBER", []any{"1.234,56", "#,##0.00", "pt-br"}, `1234.56`, ""},
		{"as integer truncates", "TONUMBER", []any{"1.234,56", "#,##0.00", "pt-br", true}, `1234`, ""},
		{"big integer exact", "TONUMBER", []any{"9,007,199,254,740,993", "#,##0", nil, true}, `9007199254740993`, ""},
		{"negative", "TONUMBER", []any{"-12.5", "0.0"}, `-12.5`, ""},
		{"negative subpattern", "TONUMBER", []any{"(12.5)", "0.0;(0.0)"}, `-12.5`, ""},
		{"percent", "TONUMBER", []any{"25%", "0%"}, `0.25`, ""},
		{"trailing text ignored like Java", "TONUMBER", []any{"12abc", "0"}, `12.0`, ""},
		{"currency symbol", "TONUMBER", []any{"R$1.000,00", "¤#,##0.00", "pt-br"}, `1000.0`, ""},
		{"missing prefix", "TONUMBER", []any{"1.000,00", "'R$ '#,##0.00", "pt-br"}, ``, "does not start with"},
		{"no digits", "TONUMBER", []any{"abc", "0"}, ``, "no number"},
		{"number passes", "TONUMBER", []any{int64(5), "0"}, `5.0`, ""},
		{"null", "TONUMBER", []any{nil, "0"}, `null`, ""},
		{"todouble int", "TODOUBLE", []any{12}, `12.0`, ""},
		{"todouble bad", "TODOUBLE", []any{"x"}, ``, "expected a number"},
		{"toint truncates", "TOINT", []any{12.345}, `12`, ""},
		{"toint string", "TOINT", []any{"42.9"}, `42`, ""},
		{"toint overflow", "TOINT", []any{int64(1) << 40}, ``, "outside the range of int"},
		{"tolong big", "TOLONG", []any{int64(1) << 40}, `1099511627776`, ""},
		{"tolong null", "TOLONG", []any{nil}, `null`, ""},
		{"tolong bool", "TOLONG", []any{true}, ``, "expected an integer"},
		{"randomnumbers same bounds", "RANDOMNUMBERS", []any{7, 7}, `7`, ""},
		{"randomnumbers reversed", "RANDOMNUMBERS", []any{7, 1}, ``, "below min"},
	})
	for range 100 {
		got, err := lookup(t, "RANDOMNUMBERS")(-2, 2)
		if n, ok := got.(int64); err != nil || !ok || n < -2 || n > 2 {
			t.Fatalf("RANDOMNUMBERS(-2, 2) = %#v, %v", got, err)
		}
	}
	if _, err := lookup(t, "RANDOMNUMBERS")(int64(math.MinInt64), int64(math.MaxInt64)); err != nil {
		t.Fatal(err)
	}
}

func TestFuncMath(t *testing.T) {
	runCases(t, []fcase{
		{"abs int gives float", "ABS", []any{-34}, `34.0`, ""},
		{"abs numeric string", "ABS", []any{"-2.5"}, `2.5`, ""},
		{"abs null is an error", "ABS", []any{nil}, ``, "expected a number, got null"},
		{"ceil negative", "CEIL", []any{-2.5}, `-2.0`, ""},
		{"round half up", "ROUND", []any{-2.5}, `-2.0`, ""},
		{"round", "ROUND", []any{2.4}, `2.0`, ""},
		{"sqrt negative", "SQRT", []any{-1}, ``, "not a finite number"},
		{"pow", "POW", []any{2, 0.5}, `1.4142135623730951`, ""},
		{"log base 2", "LOG", []any{8, 2}, `3.0`, ""},
		{"log of zero", "LOG", []any{0, 10}, ``, "not a finite number"},
		{"divide by zero", "DIVIDE", []any{1, 0}, ``, "division by zero"},
		{"mod by zero", "MOD", []any{1, 0.0}, ``, "division by zero"},
		{"mod floats", "MOD", []any{5.5, 2}, `1.5`, ""},
		{"subtract", "SUBTRACT", []any{1, 3}, `-2.0`, ""},
		{"sum one", "SUM", []any{int64(5)}, `5.0`, ""},
		{"sum empty array", "SUM", []any{[]any{}}, ``, "no numbers"},
		{"sum bad element", "SUM", []any{[]any{1, "x"}}, ``, "expected a number"},
		{"multiply", "MULTIPLY", []any{2, "3"}, `6.0`, ""},
		{"max two", "MAX", []any{1, 2}, `2.0`, ""},
		{"min negative", "MIN", []any{-1, -2}, `-2.0`, ""},
		{"floor", "FLOOR", []any{2.9}, `2.0`, ""},
	})
}

func TestFuncUtil(t *testing.T) {
	runCases(t, []fcase{
		{"base64 utf-8", "BASEENCODE", []any{"São"}, `"U8Ojbw=="`, ""},
		{"base64 latin1", "BASEENCODE", []any{"São", "ISO-8859-1"}, `"U+Nv"`, ""},
		{"base64 decode latin1", "BASEDECODE", []any{"U+Nv", "latin1"}, `"São"`, ""},
		{"base64 utf-16", "BASEENCODE", []any{"A", "UTF-16"}, `"/v8AQQ=="`, ""},
		{"base64 decode utf-16 with BOM", "BASEDECODE", []any{"/v8AQQ==", "UTF-16"}, `"A"`, ""},
		{"base64 decode without padding", "BASEDECODE", []any{"U8Ojbw"}, `"São"`, ""},
		{"base64 decode invalid", "BASEDECODE", []any{"@@@"}, ``, "not Base64"},
		{"base64 unknown charset", "BASEENCODE", []any{"a", "EBCDIC"}, ``, "unsupported charset"},
		{"base64url", "BASEURLENCODE", []any{"??>"}, `"Pz8-"`, ""},
		{"base64url decode", "BASEURLDECODE", []any{"Pz8-"}, `"??>"`, ""},
		{"base64url decode with padding", "BASEURLDECODE", []any{"eHB0bw=="}, `"xpto"`, ""},
		{"uriencode java style", "URIENCODE", []any{"a b*~é"}, `"a+b*%7E%C3%A9"`, ""},
		{"uriencode latin1", "URIENCODE", []any{"é", "ISO-8859-1"}, `"%E9"`, ""},
		{"uridecode", "URIDECODE", []any{"a+b%2A%7e%C3%A9"}, `"a b*~é"`, ""},
		{"uridecode malformed", "URIDECODE", []any{"%zz"}, ``, "malformed escape"},
		{"toboolean true", "TOBOOLEAN", []any{true}, `true`, ""},
		{"toboolean mixed case", "TOBOOLEAN", []any{"True"}, `true`, ""},
		{"toboolean yes", "TOBOOLEAN", []any{"yes"}, `false`, ""},
		{"toboolean one", "TOBOOLEAN", []any{1}, `false`, ""},
		{"toboolean null", "TOBOOLEAN", []any{nil}, `false`, ""},
		{"size string characters", "SIZE", []any{"São"}, `3`, ""},
		{"size array", "SIZE", []any{[]any{1, 2}}, `2`, ""},
		{"size number is an error", "SIZE", []any{5}, ``, "expected a string, array or object"},
		{"size number without error", "SIZE", []any{5, false}, `null`, ""},
		{"size null without error", "SIZE", []any{nil, false}, `null`, ""},
	})
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a, _ := lookup(t, "UUID")()
	b, _ := lookup(t, "UUID")()
	if !uuid.MatchString(a.(string)) || a == b {
		t.Fatalf("UUID() = %v, %v", a, b)
	}
}

func TestFuncCrypto(t *testing.T) {
	runCases(t, []fcase{
		{"sha256 empty", "SHA256", []any{""}, `"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"`, ""},
		{"sha256 null is an error", "SHA256", []any{nil}, ``, "expected a string"},
		{"hmac sha256 empty key", "HMACSHA256", []any{"", ""}, `"b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"`, ""},
		{"constant time unequal", "CONSTANTTIMEEQUALS", []any{"abc", "abd"}, `false`, ""},
		{"constant time lengths", "CONSTANTTIMEEQUALS", []any{"abc", "ab"}, `false`, ""},
		{"constant time null", "CONSTANTTIMEEQUALS", []any{nil, nil}, `false`, ""},
		{"hex round trip", "HEXDECODE", []any{"C3A9"}, `"é"`, ""},
		{"hex invalid", "HEXDECODE", []any{"abc"}, ``, "not hexadecimal"},
		{"query unescape malformed", "QUERYUNESCAPE", []any{"%"}, ``, "malformed escape"},
		{"randomsecret too big", "RANDOMSECRET", []any{4096}, ``, "between 1 and 1024"},
		{"randomsecret zero", "RANDOMSECRET", []any{0}, ``, "between 1 and 1024"},
	})
	secret, err := lookup(t, "RANDOMSECRET")()
	if err != nil || !regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`).MatchString(secret.(string)) {
		t.Fatalf("RANDOMSECRET() = %v, %v", secret, err)
	}
	id, err := lookup(t, "RANDOMID")("ord_")
	if err != nil || !regexp.MustCompile(`^ord_[a-z2-7]{26}$`).MatchString(id.(string)) {
		t.Fatalf("RANDOMID(ord_) = %v, %v", id, err)
	}
	id2, _ := lookup(t, "RANDOMID")()
	if len(id2.(string)) != 26 || id2 == id {
		t.Fatalf("RANDOMID() = %v", id2)
	}
}

// TestArgErrorPreviewCutsAtRuneBoundary checks that a long string quoted in
// an argument error is shortened without splitting a multi-byte character.
func TestArgErrorPreviewCutsAtRuneBoundary(t *testing.T) {
	fn := lookup(t, "ABS")
	arg := "a" + strings.Repeat("é", 20) // byte 24 is inside an é
	_, err := fn(arg)
	want := `expected a number, got string "a` + strings.Repeat("é", 11) + `…"`
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v, want an error saying %s", err, want)
	}
	if !utf8.ValidString(err.Error()) {
		t.Fatalf("the message is not valid UTF-8: %q", err)
	}
}
