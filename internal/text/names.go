package text

import "strings"

// IsName reports whether s is a non-empty run of ASCII letters, digits and
// the characters of extra: IsName(k, "-_") for a JOLT key written without
// quotes or an HTTP header name Nectar accepts, IsName(k, "-_.") for a
// pipeline name.
func IsName(s, extra string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(extra, r)) {
			return false
		}
	}
	return true
}
