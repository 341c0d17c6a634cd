package engine

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Size is an amount of bytes written as "10MB", "512KiB", "1.5GB" or a whole
// number of bytes. The units are binary whatever their spelling: K, KB and
// KiB are 1024 bytes, M, MB and MiB 1024², G, GB and GiB 1024³; B is a byte.
// Case and spaces around the unit do not matter. A size is more than 0.
type Size int64

// Bytes returns the size in bytes.
func (s Size) Bytes() int64 { return int64(s) }

// sizeUnits are tried in order: the longest spelling of a unit first.
var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30},
	{"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30},
	{"B", 1},
}

// ParseSize reads a size as Size is written (5MB, 512KiB, 1024, 1.5MB) and
// returns it in bytes. Anything else, 0 or a size beyond int64 is an error
// that quotes what was written.
func ParseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	bad := fmt.Errorf("expected a size like 5MB, 512KiB or a number of bytes, got %q", s)
	if !plainDecimal(t) {
		return 0, bad
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f <= 0 {
		return 0, bad
	}
	if f*float64(mult) >= math.MaxInt64 {
		return 0, fmt.Errorf("size %q is too large", s)
	}
	n := int64(f * float64(mult))
	if n <= 0 {
		return 0, fmt.Errorf("size %q is less than a byte", s)
	}
	return n, nil
}

// plainDecimal reports whether s is digits with at most one decimal point
// (no sign, exponent, hexadecimal or Inf, which ParseFloat would also read).
func plainDecimal(s string) bool {
	digits, dots := 0, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] >= '0' && s[i] <= '9':
			digits++
		case s[i] == '.':
			dots++
		default:
			return false
		}
	}
	return digits > 0 && dots <= 1
}

// sizePattern matches what ParseSize accepts, for the schema.
const sizePattern = `^\s*([0-9]+(\.[0-9]*)?|\.[0-9]+)\s*([kKmMgG]([iI]?[bB])?|[bB])?\s*$`
