package value_test

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/nectar-run/nectar/engine/value"
)

// refFloat is how AppendJSON wrote a float64 before its short-decimal fast
// path, straight from strconv: the reference the fast path must match.
func refFloat(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64) + ".0"
	}
	abs := math.Abs(f)
	if abs < 1e-6 || abs >= 1e21 {
		s := strconv.FormatFloat(f, 'e', -1, 64)
		if n := len(s); n >= 4 && s[n-2] == '0' && (s[n-3] == '-' || s[n-3] == '+') {
			s = s[:n-2] + s[n-1:]
		}
		return s
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// TestFloatsMatchStrconv encodes floats of every shape the short-decimal
// fast path takes or refuses (decimals of 1 to 17 significant digits with
// the point anywhere, their neighbours one ulp away, values at the edges of
// the path: 1e-6, 2^50, 10^15, random bit patterns) and checks each text is
// strconv's shortest form, byte for byte.
func TestFloatsMatchStrconv(t *testing.T) {
	fs := []float64{0.1, 0.2, 0.3, 0.1 + 0.2, 87.2, 412.5, 18422.75, -0.5, 1e-6, 1.5e-6, 0.999999, 0.000001234,
		1 << 50, 1<<50 + 0.5, 1<<49 + 0.25, 1<<52 + 1, 123456789012345.6, 999999999999999.9, 0.09999999999999999,
		1e15 + 0.5, 1e14 + 0.1, 5e-324, math.MaxFloat64, math.SmallestNonzeroFloat64, -1e-7, 9.999999999999999e20, 1e21}
	rng := rand.New(rand.NewPCG(4, 17))
	for digits := 1; digits <= 17; digits++ {
		for range 400 {
			m := rng.Int64N(int64(math.Pow10(digits)))
			for k := 0; k <= 18; k += 1 + rng.IntN(3) {
				f := float64(m) / math.Pow10(k)
				if text := strconv.FormatInt(m, 10); k > 0 {
					// The decimal itself, as a decoder reads it.
					for len(text) <= k {
						text = "0" + text
					}
					if g, err := strconv.ParseFloat(text[:len(text)-k]+"."+text[len(text)-k:], 64); err == nil {
						f = g
					}
				}
				fs = append(fs, f, -f, math.Nextafter(f, 0), math.Nextafter(f, math.Inf(1)))
			}
		}
	}
	for range 20000 {
		fs = append(fs, math.Float64frombits(rng.Uint64()), rng.Float64()*math.Pow10(rng.IntN(30)-10))
	}
	for _, f := range fs {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			continue
		}
		got, err := value.AppendJSON(nil, f)
		if err != nil {
			t.Fatalf("%v: %v", f, err)
		}
		if want := refFloat(f); string(got) != want {
			t.Errorf("%b encoded as %s, want %s", f, got, want)
		}
	}
}

// BenchmarkEncodeFloats encodes the record's three decimals.
func BenchmarkEncodeFloats(b *testing.B) {
	v := []any{18422.75, 412.5, 87.2}
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = value.AppendJSON(buf[:0], v)
	}
}
