package value_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine/value"
)

// TestSyntaxErrorsBetweenTokens pins the message and offset of each
// error the object and array loops give, with and without white space
// before the byte at fault, and at the end of the input.
func TestSyntaxErrorsBetweenTokens(t *testing.T) {
	cases := []struct {
		doc    string
		offset int64
		msg    string
	}{
		{`{`, 1, `unexpected end of input, expected a string key`},
		{"{ \n", 3, `unexpected end of input, expected a string key`},
		{`{1}`, 1, `unexpected '1', expected a string key`},
		{`{ 1}`, 2, `unexpected '1', expected a string key`},
		{`{"a"`, 4, `unexpected end of input, expected ':' after key`},
		{`{"a" }`, 5, `unexpected '}', expected ':' after key`},
		{`{"a":`, 5, `unexpected end of input, expected a value`},
		{`{"a": }`, 6, `unexpected '}', expected a value`},
		{`{"a":1`, 6, `unexpected end of input, expected ',' or '}'`},
		{`{"a":1 `, 7, `unexpected end of input, expected ',' or '}'`},
		{`{"a":1 ]`, 7, `unexpected ']', expected ',' or '}'`},
		{"{\"a\":1\x00}", 6, `unexpected '\x00', expected ',' or '}'`},
		{`{"a":1,}`, 7, `unexpected '}', expected a string key`},
		{`{"a":1, }`, 8, `unexpected '}', expected a string key`},
		{`{"a":1,`, 7, `unexpected end of input, expected a string key`},
		{`[`, 1, `unexpected end of input, expected a value`},
		{`[ `, 2, `unexpected end of input, expected a value`},
		{`[1`, 2, `unexpected end of input, expected ',' or ']'`},
		{`[1 }`, 3, `unexpected '}', expected ',' or ']'`},
		{`[1,]`, 3, `unexpected ']', expected a value`},
		{`[1, ]`, 4, `unexpected ']', expected a value`},
		{"[1,\t", 4, `unexpected end of input, expected a value`},
		{"[\x00]", 1, `unexpected '\x00', expected a value`},
	}
	for _, c := range cases {
		_, err := value.DecodeString(c.doc)
		var se *value.SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%q: error %v, want a SyntaxError", c.doc, err)
			continue
		}
		if se.Offset != c.offset || se.Msg != c.msg {
			t.Errorf("%q: offset %d %q, want offset %d %q", c.doc, se.Offset, se.Msg, c.offset, c.msg)
		}
	}
}

// TestIntegersOfEveryLength decodes integers of 1 to 21 digits (each
// digit, signs, zeros) and checks each against strconv: int64 where it
// fits, uint64 above, json.Number beyond; and the number errors' offsets.
func TestIntegersOfEveryLength(t *testing.T) {
	for n := 1; n <= 21; n++ {
		for _, first := range "1579" {
			for _, rest := range "0369" {
				digits := string(first) + strings.Repeat(string(rest), n-1)
				for _, sign := range []string{"", "-"} {
					text := sign + digits
					got, err := value.DecodeString(text)
					if err != nil {
						t.Fatalf("%s: %v", text, err)
					}
					var want any = json.Number(text)
					if i, err := strconv.ParseInt(text, 10, 64); err == nil {
						want = i
					} else if u, err := strconv.ParseUint(text, 10, 64); err == nil {
						want = u
					}
					if got != want {
						t.Fatalf("%s decoded as %T %v, want %T %v", text, got, got, want, want)
					}
				}
			}
		}
	}
	for _, text := range []string{"0", "-0"} {
		if got, err := value.DecodeString(text); err != nil || got != int64(0) {
			t.Errorf("%s decoded as %T %v, %v", text, got, got, err)
		}
	}
	for doc, want := range map[string]string{
		`-`: "1 invalid number, expected a digit", `[-x]`: "2 invalid number, expected a digit",
		`012`: "1 invalid number, leading zero", `-00`: "2 invalid number, leading zero",
		`1.`: "2 invalid number, expected a digit after '.'", `[1.e5]`: "3 invalid number, expected a digit after '.'",
		`1e`: "2 invalid number, expected a digit in exponent", `[1.5e+]`: "6 invalid number, expected a digit in exponent",
	} {
		_, err := value.DecodeString(doc)
		var se *value.SyntaxError
		if !errors.As(err, &se) || fmt.Sprintf("%d %s", se.Offset, se.Msg) != want {
			t.Errorf("%q: %v, want %s", doc, err, want)
		}
	}
}
