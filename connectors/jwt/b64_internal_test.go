package jwt

import (
	"bytes"
	"encoding/base64"
	"math/rand/v2"
	"testing"
)

// TestAppendB64MatchesEncoding compares appendB64 with the standard
// library's base64url encoder: every length from 0 to 300 bytes (each tail
// of the 6-, 3-, 2- and 1-byte steps), random bytes and each of the 256 byte
// values in each position of a group, appended after a prefix kept as it was.
func TestAppendB64MatchesEncoding(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var srcs [][]byte
	for n := 0; n <= 300; n++ {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		srcs = append(srcs, b)
	}
	for v := 0; v < 256; v++ {
		for pos := 0; pos < 9; pos++ {
			b := bytes.Repeat([]byte{0x5a}, 9)
			b[pos] = byte(v)
			srcs = append(srcs, b, b[:pos+1])
		}
	}
	for _, src := range srcs {
		prefix := []byte("head.")
		want := base64.RawURLEncoding.AppendEncode(append([]byte(nil), prefix...), src)
		got := appendB64(append([]byte(nil), prefix...), src)
		if !bytes.Equal(got, want) {
			t.Fatalf("%x:\n got %s\nwant %s", src, got, want)
		}
	}
}

func BenchmarkAppendB64(b *testing.B) {
	src := bytes.Repeat([]byte(`{"iss":"nectar","sub":"bench-client","exp":1700000000}`), 5)
	dst := make([]byte, 0, 512)
	b.Run("appendB64", func(b *testing.B) {
		for b.Loop() {
			dst = appendB64(dst[:0], src)
		}
	})
	b.Run("stdlib", func(b *testing.B) {
		for b.Loop() {
			dst = base64.RawURLEncoding.AppendEncode(dst[:0], src)
		}
	})
}
