package text_test

import (
	"testing"

	"github.com/nectar-run/nectar/internal/text"
)

func TestIsName(t *testing.T) {
	cases := []struct {
		s, extra string
		want     bool
	}{
		{"", "-_", false},
		{"rating", "-_", true},
		{"X-Api-Key_2", "-_", true},
		{"a.b", "-_", false},
		{"a.b", "-_.", true},
		{"a b", "-_", false},
		{"é", "-_", false}, // ASCII only
		{"a\x00", "-_", false},
		{"-", "", false},
		{"ABCxyz019", "", true},
	}
	for _, c := range cases {
		if got := text.IsName(c.s, c.extra); got != c.want {
			t.Errorf("IsName(%q, %q) = %v, want %v", c.s, c.extra, got, c.want)
		}
	}
}
