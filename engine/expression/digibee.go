package expression

import (
	"strings"
	"unicode/utf8"
)

// This file holds what lets an expression copied from a Digibee pipeline
// load unchanged: Digibee's reading of backslashes in string literals, and
// which lower-case spellings of the catalogue names stay expr's. (null as a
// literal is in the patcher.)

// escapeEdit is one change digibeeSource made: at rune position pos of the
// rewritten source, added runes were inserted.
type escapeEdit struct{ pos, added int }

// digibeeSource rewrites the string literals of src so that expr reads them
// as Digibee does. expr refuses an escape it does not know ("\d" is "invalid
// char escape"); Digibee keeps such a backslash and the character after it,
// so that "\d{3}" is the regular expression \d{3}. The escapes expr knows keep
// their meaning: \n \t \r \b \f \v \a \\ \" \' , \x and two hex digits, \u and
// four (or \u{…}), \U and eight, \ and three octal digits. Any other backslash
// is doubled, so it reaches the string as itself. \' in "…" and \" in '…' are
// the quote, as in Java and JSON. Raw strings (`…`) and comments are left
// alone. The edits let compile errors point into the original text.
//
// It also upper-cases the Digibee functions whose lower-case names are
// operators of expr (and, or, contains, matches) or its if keyword, where
// they are called: and(a, b) is AND(a, b), but a and (b) stays the operator.
func digibeeSource(src string) (string, []escapeEdit) {
	if !strings.Contains(src, `\`) && !hasKeywordCall(src) {
		return src, nil // the common case: nothing to read differently
	}
	var b strings.Builder
	var edits []escapeEdit
	called := false // a keyword call was upper-cased
	runes := 0      // runes written to b
	write := func(s string) {
		b.WriteString(s)
		runes += utf8.RuneCountInString(s)
	}
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case isWordByte(c) && (i == 0 || !isWordByte(src[i-1]) && src[i-1] != '.'):
			j := i
			for j < len(src) && isWordByte(src[j]) {
				j++
			}
			word := src[i:j]
			if up, ok := keywordFuncs[word]; ok && !prevOperand(src[:i]) && isDigibeeCall(src[j:], word) {
				word, called = up, true
			}
			write(word)
			i = j
		case c == '"' || c == '\'':
			j := i + 1
			write(src[i:j])
			for j < len(src) && src[j] != c {
				if src[j] != '\\' || j+1 == len(src) {
					_, size := utf8.DecodeRuneInString(src[j:])
					write(src[j : j+size])
					j += size
					continue
				}
				switch n := knownEscape(src[j+1:], c); {
				case n > 0:
					write(src[j : j+1+n])
					j += 1 + n
				case src[j+1] == '"' || src[j+1] == '\'':
					// The other quote, escaped: expr knows only its own.
					edits = append(edits, escapeEdit{pos: runes, added: 2})
					if src[j+1] == '"' {
						write(`\x22`)
					} else {
						write(`\x27`)
					}
					j += 2
				default:
					edits = append(edits, escapeEdit{pos: runes, added: 1})
					write(`\\`)
					j++
				}
			}
			if j < len(src) {
				write(src[j : j+1])
				j++
			}
			i = j
		// A raw string or a comment is copied as it is, through its end.
		case c == '`', c == '/' && (strings.HasPrefix(src[i:], "//") || strings.HasPrefix(src[i:], "/*")):
			n := throughEnd(src[i:])
			write(src[i : i+n])
			i += n
		default:
			_, size := utf8.DecodeRuneInString(src[i:])
			write(src[i : i+size])
			i += size
		}
	}
	if edits == nil && !called {
		return src, nil
	}
	return b.String(), edits
}

// knownEscape returns the length of the escape expr's lexer accepts at the
// start of s (what follows a backslash in a string quoted with quote), or 0.
func knownEscape(s string, quote byte) int {
	if s == "" {
		return 0
	}
	digits := func(from, n int, ok func(byte) bool) int {
		if len(s) < from+n {
			return 0
		}
		for k := from; k < from+n; k++ {
			if !ok(s[k]) {
				return 0
			}
		}
		return from + n
	}
	switch c := s[0]; c {
	case 'a', 'b', 'f', 'n', 'r', 't', 'v', '\\', quote:
		return 1
	case '0', '1', '2', '3':
		return digits(1, 2, isOctal)
	case 'x':
		return digits(1, 2, isHex)
	case 'U':
		return digits(1, 8, isHex)
	case 'u':
		if len(s) > 1 && s[1] == '{' {
			end := strings.IndexByte(s, '}')
			if end < 3 || end > 8 || digits(2, end-2, isHex) == 0 {
				return 0
			}
			return end + 1
		}
		return digits(1, 4, isHex)
	}
	return 0
}

// keywordFuncs are the Digibee functions whose lower-case name is a word of
// expr's language, with the name that calls them.
var keywordFuncs = map[string]string{"and": "AND", "or": "OR", "contains": "CONTAINS", "matches": "MATCHES", "if": "IF"}

// operatorWords are expr's operator words: after one, an operand follows.
var operatorWords = map[string]bool{"and": true, "or": true, "not": true, "in": true, "contains": true,
	"matches": true, "startsWith": true, "endsWith": true, "if": true, "else": true, "let": true}

func hasKeywordCall(src string) bool {
	for w := range keywordFuncs {
		if strings.Contains(src, w+"(") || strings.Contains(src, w+" (") {
			return true
		}
	}
	return false
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// prevOperand reports whether the text before a word ends an operand, so
// that the word is an operator (a and (b)) rather than a call (x + and(…)).
func prevOperand(before string) bool {
	before = strings.TrimRight(before, " \t\n\r")
	if before == "" {
		return false
	}
	c := before[len(before)-1]
	if !isWordByte(c) {
		return c == ')' || c == ']' || c == '}' || c == '"' || c == '\'' || c == '`'
	}
	k := len(before)
	for k > 0 && isWordByte(before[k-1]) {
		k--
	}
	return !operatorWords[before[k:]]
}

// isDigibeeCall reports whether rest, which follows the word, is the
// argument list of a call: "(" after optional spaces, and for if, not expr's
// if (cond) { … } statement.
func isDigibeeCall(rest, word string) bool {
	rest = strings.TrimLeft(rest, " \t\n\r")
	if !strings.HasPrefix(rest, "(") {
		return false
	}
	if word != "if" {
		return true
	}
	depth := 0
	for i := 0; i < len(rest); i++ {
		switch rest[i] {
		case '(':
			depth++
		case ')':
			if depth--; depth == 0 {
				return !strings.HasPrefix(strings.TrimLeft(rest[i+1:], " \t\n\r"), "{")
			}
		}
	}
	return true
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// originalOffset maps a rune offset in the rewritten source back to the
// source the user wrote.
func originalOffset(from int, edits []escapeEdit) int {
	out := from
	for _, e := range edits {
		if e.pos < from {
			out -= e.added
		}
	}
	return max(out, 0)
}

// exprSpellings are the spellings of catalogue names that stay expr's
// builtins, because expr's meaning is used (in Nectar's shipped pipelines or
// docs) and Digibee's function of the same name cannot take it over:
// join(array, sep) where JOIN(sep, values…) puts the separator first,
// split(s, sep, n?) cutting at a literal separator where SPLIT(s, regex)
// takes a regular expression and drops trailing empty parts, toJSON(v)
// writing JSON text where TOJSON(s) reads it, and sum(list, predicate),
// which expr's parser reads as a predicate call (sum(list) is the same total
// either way). Every other spelling of a catalogue name, Concat or cOnCaT,
// calls the catalogue function; concat itself is concatSpelling.
var exprSpellings = map[string]bool{"join": true, "split": true, "toJSON": true, "sum": true}

// overriddenBuiltins are the expr builtins whose spelling calls a catalogue
// function instead (concat, replace, trim, abs, max, now, …): they are
// declared to expr as functions, so that its parser does not make them
// builtins, and the patcher renames the call to the upper-case name.
func overriddenBuiltins() []string {
	var out []string
	for name := range builtinNames {
		if _, own := ownFuncs[name]; own || exprSpellings[name] {
			continue
		}
		if _, ok := catalogue[strings.ToUpper(name)]; ok {
			out = append(out, name)
		}
	}
	return out
}

func init() { ownFuncs["concat"] = concatSpelling }

// concatSpelling is the spelling concat. Called with lists only (nulls
// aside), it joins them as expr's builtin does, which Nectar's examples use
// (concat(message.items ?? [], page.items)); with anything else it is
// Digibee's CONCAT, which joins text. Digibee's CONCAT of lists alone would
// give their JSON texts run together, which no pipeline means.
func concatSpelling(args ...any) (any, error) {
	lists := 0
	for _, a := range args {
		switch a.(type) {
		case []any:
			lists++
		case nil:
		default:
			return catalogue["CONCAT"].Fn(args...)
		}
	}
	if lists == 0 {
		return catalogue["CONCAT"].Fn(args...)
	}
	out := []any{}
	for _, a := range args {
		if l, ok := a.([]any); ok {
			out = append(out, l...)
		}
	}
	return out, nil
}

// throughEnd returns the length of the raw string or comment s starts with,
// through its closing ` (raw string), line end (// comment) or */ (block
// comment); all of s when it is not closed.
func throughEnd(s string) int {
	skip, end := 1, "`"
	switch {
	case strings.HasPrefix(s, "//"):
		skip, end = 2, "\n"
	case strings.HasPrefix(s, "/*"):
		skip, end = 2, "*/"
	}
	if j := strings.Index(s[skip:], end); j >= 0 {
		return skip + j + len(end)
	}
	return len(s)
}
