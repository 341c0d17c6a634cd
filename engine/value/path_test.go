package value_test

import (
	"reflect"
	"testing"

	"github.com/nectar-run/nectar/engine/value"
)

func TestSplitPath(t *testing.T) {
	tests := []struct {
		name, path string
		want       []string
	}{
		{"empty is the document", "", nil},
		{"only $", "$", nil},
		{"one key", "code", []string{"code"}},
		{"dotted", "error.code", []string{"error", "code"}},
		{"$ and a leading dot", "$.data.items", []string{"data", "items"}},
		{"a leading dot", ".data", []string{"data"}},
		{"spaces around", "  error.code ", []string{"error", "code"}},
		{"an index", "errors[0].code", []string{"errors", "0", "code"}},
		{"an index in the middle", "meta[0].next", []string{"meta", "0", "next"}},
		{"nested indexes", "m[1][2]", []string{"m", "1", "2"}},
		{"a top-level index", "$[3].id", []string{"3", "id"}},
		{"a single-quoted key with a dot", "meta['next.page']", []string{"meta", "next.page"}},
		{"a double-quoted key", `$["data"].x`, []string{"data", "x"}},
		{"an unclosed bracket keeps the rest", "a[b", []string{"a", "b"}},
		{"empty segments are skipped", "a..b", []string{"a", "b"}},
		{"multi-byte keys", "données.clé", []string{"données", "clé"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := value.SplitPath(tt.path); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("SplitPath(%q) = %q, want %q", tt.path, got, tt.want)
			}
		})
	}
}
