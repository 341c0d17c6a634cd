package idtest_test

import (
	"slices"
	"testing"

	"github.com/nectar-run/nectar/internal/idtest"
)

func TestCount(t *testing.T) {
	for _, c := range []struct {
		got, want, missing []string
		twice, others      int
	}{
		{[]string{"a", "b"}, []string{"b", "a"}, nil, 0, 0},
		{[]string{"a"}, []string{"a", "b"}, []string{"b"}, 0, 0},
		{[]string{"a", "a", "b"}, []string{"a", "b"}, nil, 1, 0},
		{[]string{"a", "c"}, []string{"a"}, nil, 0, 1},
		{nil, nil, nil, 0, 0},
	} {
		m, tw, o := idtest.Count(c.got, c.want)
		if !slices.Equal(m, c.missing) || tw != c.twice || o != c.others {
			t.Errorf("Count(%v, %v) = %v, %d, %d; want %v, %d, %d", c.got, c.want, m, tw, o, c.missing, c.twice, c.others)
		}
	}
}
