package value_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine/value"
)

// FuzzAppendString checks the string encoder on any text, at any offset of
// its sixteen- and eight-byte steps: its output is quote's (the reference
// escaping), whether the buffer has room or not and as an object's key,
// and it decodes back, by Nectar's decoder and by encoding/json, to the
// text (invalid UTF-8 as U+FFFD, as encoding/json encodes it).
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "a\"b\\c", "line\nbreak\ttab", "\x00\x1f\x7f", "é€😀", "\xff\xfe", "\u2028\u2029", strings.Repeat("0123456789abcdef", 3) + "\"", "<&>"} {
		f.Add(s, uint8(0))
	}
	f.Fuzz(func(t *testing.T, s string, pad uint8) {
		prefix := strings.Repeat("x", int(pad%17))
		want := quote(s)
		if got := string(value.AppendString([]byte(prefix), s)); got != prefix+want {
			t.Fatalf("%q encoded as %s, want %s", s, got[len(prefix):], want)
		}
		if got := string(value.AppendString(append(make([]byte, 0, len(s)*6+64), prefix...), s)); got != prefix+want {
			t.Fatalf("%q encoded into a roomy buffer as %s, want %s", s, got[len(prefix):], want)
		}
		if got, _ := value.AppendJSON(nil, value.ObjectOf(s, int64(1))); string(got) != "{"+want+":1}" {
			t.Fatalf("%q as a key encoded as %s", s, got)
		}
		var back string
		if err := json.Unmarshal([]byte(want), &back); err != nil {
			t.Fatalf("encoding/json cannot read %s: %v", want, err)
		}
		std, _ := json.Marshal(s)
		var stdBack string
		_ = json.Unmarshal(std, &stdBack)
		if back != stdBack {
			t.Fatalf("%q reads back as %q; encoding/json's own encoding as %q", s, back, stdBack)
		}
		v, err := value.Decode([]byte(want))
		if err != nil || v != back {
			t.Fatalf("Nectar's decoder reads %s as %q (%v), want %q", want, v, err, back)
		}
	})
}
