// Package idtest checks lists of ids in tests: that a listing paged out
// every record asked for exactly once. Import it from tests only.
package idtest

import "testing"

// ExactlyOnce fails t unless got holds each of want once and nothing else,
// saying how many are missing, listed more than once or not asked for.
func ExactlyOnce(t testing.TB, what string, got, want []string) {
	t.Helper()
	if missing, twice, others := Count(got, want); len(missing)+twice+others > 0 {
		t.Fatalf("%s: listed %d of %d records: %d missing, %d more than once, %d not asked for (first missing %v)",
			what, len(got), len(want), len(missing), twice, others, missing[:min(3, len(missing))])
	}
}

// Count compares got with want: the ids of want missing from got, how
// many got holds more than once, and how many of got want does not hold.
func Count(got, want []string) (missing []string, twice, others int) {
	seen := make(map[string]int, len(got))
	for _, id := range got {
		seen[id]++
	}
	for _, id := range want {
		switch seen[id] {
		case 0:
			missing = append(missing, id)
		case 1:
		default:
			twice++
		}
		delete(seen, id)
	}
	return missing, twice, len(seen)
}
