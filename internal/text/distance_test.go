package text_test

import (
	"testing"

	"github.com/nectar-run/nectar/internal/text"
)

func TestDistance(t *testing.T) {
	cases := []struct {
		name string
		a, b string
		want int
	}{
		{"both empty", "", "", 0},
		{"one empty", "", "abc", 3},
		{"equal", "schema", "schema", 0},
		{"one replaced", "shema", "schem", 2},
		{"kitten to sitting", "kitten", "sitting", 3},
		{"one inserted", "timout", "timeout", 1},
		{"swapped letters count twice", "ab", "ba", 2},
		{"runes, not bytes", "são", "sao", 1},
		{"case counts", "Paulo", "paulo", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := text.Distance([]rune(c.a), []rune(c.b)); got != c.want {
				t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
			}
			if got := text.Distance([]rune(c.b), []rune(c.a)); got != c.want {
				t.Errorf("Distance(%q, %q) = %d, want %d (not symmetric)", c.b, c.a, got, c.want)
			}
		})
	}
}
