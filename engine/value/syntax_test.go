package value_test

import (
	"errors"
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
