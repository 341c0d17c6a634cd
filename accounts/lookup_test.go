package accounts_test

import (
	"testing"

	"github.com/nectar-run/nectar/accounts"
)

// TestLookup reads the fields that fail_path, success_path and a REST
// step's rate_limit_error.path name; the path syntax is value.SplitPath's,
// the same as the REST connector's items_path and next_path.
func TestLookup(t *testing.T) {
	doc := []byte(`{"error":{"code":"RATE_LIMIT"},"errors":[{"code":42}],"meta":{"next.page":"p2"},"ok":null}`)
	tests := []struct {
		path, want string
		found      bool
	}{
		{"error.code", "RATE_LIMIT", true},
		{"$.error.code", "RATE_LIMIT", true},
		{"errors[0].code", "42", true},
		{"meta['next.page']", "p2", true},
		{"ok", "null", true},
		{"error", `{"code":"RATE_LIMIT"}`, true},
		{"errors[1].code", "", false},
		{"error.missing", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, found := accounts.Lookup(doc, tt.path)
			if got != tt.want || found != tt.found {
				t.Fatalf("Lookup(%s) = %q, %v; want %q, %v", tt.path, got, found, tt.want, tt.found)
			}
		})
	}
}
