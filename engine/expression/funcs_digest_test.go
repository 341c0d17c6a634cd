package expression_test

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine/expression"
	"github.com/nectar-run/nectar/engine/value"
)

// TestDigestsMatchCrypto hashes texts of 0 to 200 bytes (each side of the
// 32-byte buffer a short conversion may use) with SHA256 and SHA512 and
// compares with crypto's digests, hex-encoded; the text is left as it was.
func TestDigestsMatchCrypto(t *testing.T) {
	e256, err := expression.Compile(`SHA256(message.s)`, expression.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e512, err := expression.Compile(`SHA512(message.s)`, expression.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; n <= 200; n++ {
		s := strings.Repeat("é", n/2) + strings.Repeat("x", n%2)
		env := &expression.Env{Message: value.ObjectOf("s", s)}
		d256, d512 := sha256.Sum256([]byte(s)), sha512.Sum512([]byte(s))
		for _, c := range []struct {
			e    *expression.Expr
			want string
		}{{e256, hex.EncodeToString(d256[:])}, {e512, hex.EncodeToString(d512[:])}} {
			got, err := c.e.Eval(env)
			if err != nil || got != c.want {
				t.Fatalf("%d bytes: got %v, %v; want %s", len(s), got, err, c.want)
			}
		}
		if v, _ := env.Message.(*value.Object).Get("s"); v != s {
			t.Fatalf("the text changed: %q", v)
		}
	}
}
