package bolt_test

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/nectar-run/nectar/store"
	"github.com/nectar-run/nectar/store/bolt"
)

// record is the size of a small execution record or token.
var record = []byte(`{"pipeline":"orders","trigger":"http","status":"ok","started":"2024-05-01T10:00:00Z","duration_ms":12,"steps":[{"name":"assert","ms":1},{"name":"transform","ms":2}]}`)

// openStore opens a store in a temporary directory, closed when the test
// or benchmark ends.
func openStore(tb testing.TB, opts ...bolt.Option) *bolt.Store {
	tb.Helper()
	st, err := bolt.Open(tb.TempDir(), opts...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = st.Close() })
	return st
}

func BenchmarkGet(b *testing.B) {
	st := openStore(b)
	ctx := b.Context()
	for i := range 1000 {
		if _, err := st.Put(ctx, "tokens", strconv.Itoa(i), record); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := st.Get(ctx, "tokens", "500"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPut measures a durable write (one fsync per commit); Parallel
// shows the commits shared by concurrent writers.
func BenchmarkPut(b *testing.B) {
	for _, sync := range []bool{true, false} {
		name := "sync"
		var opts []bolt.Option
		if !sync {
			name, opts = "nosync", []bolt.Option{bolt.WithNoSync()}
		}
		b.Run(name, func(b *testing.B) {
			st := openStore(b, opts...)
			ctx := b.Context()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				if _, err := st.Put(ctx, "objects/orders", strconv.Itoa(i%1000), record); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/parallel", func(b *testing.B) {
			st := openStore(b, opts...)
			ctx := b.Context()
			var n atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(16)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := st.Put(ctx, "objects/orders", strconv.Itoa(int(n.Add(1)%1000)), record); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

func BenchmarkUpdate(b *testing.B) {
	st := openStore(b)
	ctx := b.Context()
	fn := func(cur []byte, ok bool) ([]byte, error) {
		n, _ := strconv.Atoi(string(cur))
		return strconv.AppendInt(nil, int64(n+1), 10), nil
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := st.Update(ctx, "counters", "n", fn); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkApply100 writes 100 execution records in one transaction.
func BenchmarkApply100(b *testing.B) {
	st := openStore(b)
	ctx := b.Context()
	ops := make([]store.Op, 100)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		for j := range ops {
			i++
			ops[j] = store.PutOp("executions", fmt.Sprintf("%016d", i), record)
		}
		if err := st.Apply(ctx, ops...); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpen opens a file of 100 000 records: the cost of the walk that
// Open makes before bbolt's own (see verify in check.go).
func BenchmarkOpen(b *testing.B) {
	dir := b.TempDir()
	st, err := bolt.Open(dir, bolt.WithNoSync())
	if err != nil {
		b.Fatal(err)
	}
	ops := make([]store.Op, 0, 1000)
	for i := range 100_000 {
		ops = append(ops, store.Op{Bucket: "executions", Key: fmt.Sprintf("%08d", i), Value: record})
		if len(ops) == cap(ops) {
			if err := st.Apply(b.Context(), ops...); err != nil {
				b.Fatal(err)
			}
			ops = ops[:0]
		}
	}
	st.Close()
	for b.Loop() {
		st, err := bolt.Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		st.Close()
	}
}
