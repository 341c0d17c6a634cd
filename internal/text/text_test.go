package text_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/nectar-run/nectar/internal/text"
)

func TestPreview(t *testing.T) {
	cases := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"short ASCII is kept", "abc", 5, "abc"},
		{"exactly max is kept", "abcde", 5, "abcde"},
		{"long ASCII is cut and marked", "abcdefgh", 5, "abcde…"},
		{"cut inside a 2-byte rune backs up", "abcdé", 5, "abcd…"}, // é is 2 bytes at 4..5
		{"cut inside a 3-byte rune backs up", "ab€cd", 4, "ab…"},   // € is 3 bytes at 2..4
		{"cut inside a 4-byte rune backs up", "a😀b", 3, "a…"},      // 😀 is 4 bytes at 1..4
		{"cut after a whole rune keeps it", "a😀b", 5, "a😀…"},
		{"all multi-byte", strings.Repeat("日", 10), 7, "日日…"},
		{"zero max", "abc", 0, "…"},
		{"negative max", "abc", -1, "…"},
		{"U+FFFD itself is not split", "ab\uFFFD", 4, "ab…"},
		{"invalid UTF-8 is not cut to nothing", strings.Repeat("\x80", 10), 4, "\x80\x80\x80\x80…"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := text.Preview(c.in, c.max)
			if got != c.want {
				t.Fatalf("Preview(%q, %d) = %q, want %q", c.in, c.max, got, c.want)
			}
		})
	}
}

// TestPreviewNeverSplitsARune cuts a multi-byte string at every length and
// checks the result is valid UTF-8, a prefix of the input, and marked when cut.
func TestPreviewNeverSplitsARune(t *testing.T) {
	s := "añ€😀日本語🎉x"
	for max := 0; max <= len(s)+1; max++ {
		got := text.Preview(s, max)
		if !utf8.ValidString(got) {
			t.Fatalf("Preview(%q, %d) = %q, not valid UTF-8", s, max, got)
		}
		if max >= len(s) {
			if got != s {
				t.Fatalf("Preview(%q, %d) = %q, want it whole", s, max, got)
			}
			continue
		}
		body, ok := strings.CutSuffix(got, text.Ellipsis)
		if !ok || !strings.HasPrefix(s, body) || len(body) > max {
			t.Fatalf("Preview(%q, %d) = %q, want a prefix of at most %d bytes and %q", s, max, got, max, text.Ellipsis)
		}
	}
}
