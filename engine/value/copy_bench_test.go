package value_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine/value"
)

// BenchmarkCopy copies a document of arrays (200 records, each with a list
// of tags and a matrix of numbers) with DeepCopy, and converts it to plain
// Go maps and slices with ToGo.
func BenchmarkCopy(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"records":[`)
	for i := range 200 {
		if i > 0 {
			sb.WriteByte(',')
		}
		n := strconv.Itoa(i)
		sb.WriteString(`{"id":` + n + `,"tags":["a","b","c","d"],"m":[[1,2,3],[4,5,6],[7,8,` + n + `]]}`)
	}
	sb.WriteString(`]}`)
	doc, err := value.DecodeString(sb.String())
	if err != nil {
		b.Fatal(err)
	}
	for name, copyFn := range map[string]func(any) any{"DeepCopy": value.DeepCopy, "ToGo": value.ToGo} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if c := copyFn(doc); c == nil {
					b.Fatal("no copy")
				}
			}
		})
	}
}
