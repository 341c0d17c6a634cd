package postgres_test

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nectar-run/nectar/store"
	"github.com/nectar-run/nectar/store/postgres/pgtest"
)

// record is the size of a small execution record or token.
var record = []byte(`{"pipeline":"orders","trigger":"http","status":"ok","started":"2024-05-01T10:00:00Z","duration_ms":12,"steps":[{"name":"assert","ms":1},{"name":"transform","ms":2}]}`)

// The benchmark cluster runs without fsync (pgtest), so these figures are
// the round trip and the server's work, not the disk.

func BenchmarkGet(b *testing.B) {
	st := pgtest.Open(b, pgtest.Database(b))
	ctx := b.Context()
	if _, err := st.Put(ctx, "tokens", "crm", record); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := st.Get(ctx, "tokens", "crm"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPut(b *testing.B) {
	st := pgtest.Open(b, pgtest.Database(b))
	ctx := b.Context()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if _, err := st.Put(ctx, "objects/orders", strconv.Itoa(i%1000), record); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPutParallel(b *testing.B) {
	st := pgtest.Open(b, pgtest.Database(b))
	ctx := b.Context()
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := st.Put(ctx, "objects/orders", strconv.Itoa(int(n.Add(1)%1000)), record); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkUpdate(b *testing.B) {
	st := pgtest.Open(b, pgtest.Database(b))
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

func BenchmarkApply100(b *testing.B) {
	st := pgtest.Open(b, pgtest.Database(b))
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

func BenchmarkLock(b *testing.B) {
	st := pgtest.Open(b, pgtest.Database(b))
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		release, err := st.Lock(ctx, "refresh/crm", time.Minute)
		if err != nil {
			b.Fatal(err)
		}
		release()
	}
}
