package expression_test

import (
	"testing"
)

func BenchmarkFunc(b *testing.B) {
	doc := decodeJSON(b, store)
	cases := []struct {
		name string
		fn   string
		args []any
	}{
		{"CONCAT", "CONCAT", []any{"order-", int64(42), "-", "x"}},
		{"UPPERCASE", "UPPERCASE", []any{"São Paulo"}},
		{"REPLACE", "REPLACE", []any{"2024-01-31", `(\d+)-(\d+)-(\d+)`, "$3/$2/$1"}},
		{"FORMATNUMBER", "FORMATNUMBER", []any{1234567.891, "#,##0.00", "pt-br"}},
		{"FORMATDATE", "FORMATDATE", []any{"10/10/2010 11:59:59", "dd/MM/yyyy HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ssXXX", nil, "GMT-3", nil, "UTC"}},
		{"FORMATDATE-timestamp", "FORMATDATE", []any{int64(1564670039000), "timestamp", "dd/MM/yyyy HH:mm:ss"}},
		{"JSONPATH-filter", "JSONPATH", []any{doc, "$.store.book[?(@.price < 10)].title"}},
		{"JSONPATH-deep", "JSONPATH", []any{doc, "$..price"}},
		{"SHA256", "SHA256", []any{"The quick brown fox jumps over the lazy dog"}},
		{"UUID", "UUID", nil},
		{"BASEDECODE", "BASEDECODE", []any{"dXNlcjpwYTU1"}},
		{"BASEDECODE-latin1", "BASEDECODE", []any{"dXNlcjpwYTU1", "ISO-8859-1"}},
		{"BASEENCODE", "BASEENCODE", []any{"user:pa55"}},
	}
	for _, c := range cases {
		fn := lookup(b, c.fn)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := fn(c.args...); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
