package value_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nectar-run/nectar/engine/value"
)

// TestStringScanEveryByteAtEveryOffset puts each byte value (and a few
// multi-byte characters, whole or cut) at each offset of strings longer
// than a word, so that it falls in every lane of the eight-byte scan and
// in the tail, and checks the decoder against encoding/json (same
// acceptance, same string) and the encoder by reading its output back.
func TestStringScanEveryByteAtEveryOffset(t *testing.T) {
	var inserts []string
	for c := 0; c < 256; c++ {
		inserts = append(inserts, string([]byte{byte(c)}))
	}
	inserts = append(inserts, "é", "€", "😀", "\u2028", "\xe2\x82", `\"`, `\\`, `\n`, `\u00e9`, `\ud83d\ude00`,
		// A byte the word tests borrow out of, then the byte that borrow
		// would flag by mistake: the scan after an escape must not stop
		// at the second.
		`"#`, `\]`, "\x01 ", "\x1f ", `\"#`, `\\]`)
	for n := range 24 { // every tail length, after zero to two words
		for pos := 0; pos <= n; pos++ {
			for _, ins := range inserts {
				body := strings.Repeat("a", pos) + ins + strings.Repeat("b", n-pos)
				doc := `"` + body + `"`
				got, err := value.DecodeString(doc)
				var want string
				jerr := json.Unmarshal([]byte(doc), &want)
				if (err == nil) != (jerr == nil) {
					t.Fatalf("%q: Decode err=%v, encoding/json err=%v", doc, err, jerr)
				}
				if err != nil {
					continue
				}
				if got != want {
					t.Fatalf("%q: decoded %q, encoding/json %q", doc, got, want)
				}
				// Followed by more input, so that the decoder's word scan
				// reaches the closing quote too (not only its byte loop,
				// within the last eight bytes).
				if v, err := value.DecodeString("[" + doc + `,"more input after it"]`); err != nil || v.([]any)[0] != want {
					t.Fatalf("%q in an array: decoded %#v, %v; want %q", doc, v, err, want)
				}
				// The decoded string (valid UTF-8) and the raw insert (maybe
				// not) must both encode to JSON that reads back as the
				// string, each invalid byte as U+FFFD.
				for _, s := range []string{want, body} {
					out := string(value.AppendString(nil, s))
					var back string
					if err := json.Unmarshal([]byte(out), &back); err != nil {
						t.Fatalf("%q encoded as %s, which does not parse: %v", s, out, err)
					}
					if back != validUTF8(s) {
						t.Fatalf("%q encoded as %s, read back as %q", s, out, back)
					}
					if want := quote(s); out != want {
						t.Fatalf("%q encoded as %s, want %s", s, out, want)
					}
					// Into a buffer with room (the plain-string fast
					// path's case), and as an object's keys and values
					// and an array's elements.
					roomy := append(make([]byte, 0, 128), "xy"...)
					if got := string(value.AppendString(roomy, s)); got != "xy"+out {
						t.Fatalf("%q encoded after xy as %s, want xy%s", s, got, out)
					}
					obj := value.ObjectOf(s, int64(1), s+"2", []any{s, true, s + "3"}, s+"4", s)
					wantObj := "{" + out + ":1," + quote(s+"2") + ":[" + out + ",true," + quote(s+"3") + `],` + quote(s+"4") + ":" + out + "}"
					for _, buf := range [][]byte{nil, make([]byte, 0, 128), make([]byte, 0, len(wantObj)-1)} {
						if got, _ := value.AppendJSON(buf, obj); string(got) != wantObj {
							t.Fatalf("%q as keys encoded as %s, want %s", s, got, wantObj)
						}
					}
				}
			}
		}
	}
}

// validUTF8 is s with each byte that is not part of a valid UTF-8
// sequence replaced by U+FFFD.
func validUTF8(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		sb.WriteRune(r) // utf8.RuneError for an invalid byte
		i += size
	}
	return sb.String()
}

// quote is AppendString's documented output, a rune at a time: quote,
// backslash, \n, \r, \t escaped short, other control characters as
// \u00XX, U+2028 and U+2029 as \u escapes, each invalid byte as \ufffd,
// everything else as it is.
func quote(s string) string {
	var sb strings.Builder
	sb.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '"' || r == '\\':
			sb.WriteString(`\` + string(r))
		case r == '\n':
			sb.WriteString(`\n`)
		case r == '\r':
			sb.WriteString(`\r`)
		case r == '\t':
			sb.WriteString(`\t`)
		case r < 0x20, r == '\u2028', r == '\u2029', r == utf8.RuneError && size == 1:
			fmt.Fprintf(&sb, `\u%04x`, r)
		default:
			sb.WriteString(s[i : i+size])
		}
		i += size
	}
	sb.WriteByte('"')
	return sb.String()
}

// TestEncodeEveryByteAtEveryOffsetOfLongStrings puts each byte value at
// each offset of strings of up to 56 bytes, so that it falls in every lane
// of both words of the encoder's sixteen-byte steps (the first and a
// later one), of its eight-byte step and of its tail, and checks the
// encoder's output, as a string and as an object's key, into a buffer
// with room (the one-pass copy) and without.
func TestEncodeEveryByteAtEveryOffsetOfLongStrings(t *testing.T) {
	for n := 1; n <= 56; n++ {
		for pos := 0; pos < n; pos++ {
			for c := 0; c < 256; c++ {
				b := []byte(strings.Repeat("a", n))
				b[pos] = byte(c)
				s := string(b)
				want := quote(s)
				roomy := append(make([]byte, 0, 128), "xy"...)
				if got := string(value.AppendString(roomy, s)); got != "xy"+want {
					t.Fatalf("%q encoded after xy as %s, want xy%s", s, got, want)
				}
				if got := string(value.AppendString(nil, s)); got != want {
					t.Fatalf("%q encoded as %s, want %s", s, got, want)
				}
				obj := value.ObjectOf(s, int64(1))
				if got, _ := value.AppendJSON(make([]byte, 0, 256), obj); string(got) != "{"+want+":1}" {
					t.Fatalf("%q as a key encoded as %s, want {%s:1}", s, got, want)
				}
			}
		}
	}
}
