package expression_test

import (
	"math/rand/v2"
	"testing"

	"github.com/nectar-run/nectar/engine/expression"
)

// TestRandomIDEncoding checks RANDOMID's stack encoding against the one it
// replaced (prefix + EncodeToString(b)[:26]) on byte patterns that reach
// every character of the alphabet and the last, partly used, group.
func TestRandomIDEncoding(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var cases [][17]byte
	for _, fill := range []byte{0x00, 0xff, 0x55, 0xaa, 0x80, 0x01} {
		var b [17]byte
		for i := range b {
			b[i] = fill
		}
		cases = append(cases, b)
	}
	for range 2000 {
		var b [17]byte
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		cases = append(cases, b)
	}
	for _, prefix := range []string{"", "ord_", "é-", "a very long prefix, longer than the id itself, 0123456789"} {
		for i := range cases {
			want := prefix + expression.IDEncoding.EncodeToString(cases[i][:])[:26]
			if got := expression.RandomID(prefix, &cases[i]); got != want {
				t.Fatalf("randomID(%q, %x) = %q, want %q", prefix, cases[i], got, want)
			}
		}
	}
}

func BenchmarkRandomID(b *testing.B) {
	fn := lookup(b, "RANDOMID")
	for _, c := range []struct {
		name string
		args []any
	}{{"bare", nil}, {"prefix", []any{"ord_"}}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := fn(c.args...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
