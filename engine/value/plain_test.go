package value_test

import (
	"encoding/json"
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
	inserts = append(inserts, "é", "€", "😀", "\u2028", "\xe2\x82", `\"`, `\\`, `\n`, `\u00e9`, `\ud83d\ude00`)
	for _, n := range []int{7, 8, 9, 16, 19} {
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
