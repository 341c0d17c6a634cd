package history

import (
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine"
)

// TestNameTableEveryLead puts every pair of first bytes (all 65536, so
// every bit of the lead filter) before the tails of every name, whole and
// less its first or two first bytes, and checks the table against
// engine.SensitiveField: the filter rules out no key that is a name, in
// any casing or with any separator in front, with names of one byte, of
// ignored bytes only, and the defaults alone.
func TestNameTableEveryLead(t *testing.T) {
	for _, lists := range [][][]string{nil, {{"x", "Pin-Code"}}, {{"_", "ab"}}} {
		tab := newNameTable(lists...)
		var tails []string
		for _, l := range append([][]string{engine.DefaultSensitiveFields}, lists...) {
			for _, n := range l {
				n = engine.NormalizeField(n)
				tails = append(tails, n)
				for cut := 1; cut <= 2 && cut <= len(n); cut++ {
					tails = append(tails, n[cut:])
				}
			}
		}
		tails = append(tails, "", "_")
		for b := range 1 << 16 {
			lead := string([]byte{byte(b >> 8), byte(b)})
			for _, tail := range tails {
				k := lead + tail
				if got, want := tab.has(k), engine.SensitiveField(k, lists...); got != want {
					t.Fatalf("lists %q: has(%q) = %v, SensitiveField = %v", lists, k, got, want)
				}
			}
		}
	}
}

// TestNameTableFirstThree checks the filter on the first three normalized
// bytes (nameTable.tri) against engine.SensitiveField: every name with each
// of its first four bytes changed to every letter, digit and separator,
// with separators and capitals among its first bytes, cut to its first one,
// two and three bytes; with and without names shorter than three bytes
// (only then may a key shorter be a name).
func TestNameTableFirstThree(t *testing.T) {
	for _, lists := range [][][]string{nil, {{"pin", "ab"}}, {{"x"}}, {{"to_kex", "tok"}}} {
		tab := newNameTable(lists...)
		var keys []string
		for _, l := range append([][]string{engine.DefaultSensitiveFields}, lists...) {
			for _, n := range l {
				n = engine.NormalizeField(n)
				for i := 0; i < 4 && i < len(n); i++ {
					for _, c := range []byte("abcdefghijklmnopqrstuvwxyzA0_- .") {
						keys = append(keys, n[:i]+string(c)+n[i+1:], n[:i]+string(c)+n[i:])
					}
					keys = append(keys, n[:i], n[:i]+"_", "_"+n[:i], strings.ToUpper(n[:i+1])+n[i+1:])
				}
			}
		}
		for _, k := range keys {
			if got, want := tab.has(k), engine.SensitiveField(k, lists...); got != want {
				t.Fatalf("lists %q: has(%q) = %v, SensitiveField = %v", lists, k, got, want)
			}
		}
	}
}
