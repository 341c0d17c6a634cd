package text

// Distance returns the Levenshtein distance between a and b: how many runes
// must be inserted, deleted or replaced to turn one into the other. It
// compares runes as they are; callers fold case or marks first where that
// should not count. "Did you mean" suggestions and FUZZYMATCH use it.
func Distance(a, b []rune) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
