package value_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine/value"
)

// BenchmarkDeepCopy copies a document of arrays: 200 records, each with a
// list of tags and a matrix of numbers.
func BenchmarkDeepCopy(b *testing.B) {
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
	b.ReportAllocs()
	for b.Loop() {
		if c := value.DeepCopy(doc); c == nil {
			b.Fatal("no copy")
		}
	}
}

// BenchmarkToGo converts the same kind of document to plain Go maps and slices.
func BenchmarkToGo(b *testing.B) {
	doc, err := value.DecodeString(`[` + strings.Repeat(`{"tags":["a","b","c","d"],"m":[[1,2,3],[4,5,6]]},`, 199) + `{"tags":[]}]`)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if c := value.ToGo(doc); c == nil {
			b.Fatal("no copy")
		}
	}
}
