package bolt_test

import (
	"bytes"
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/nectar-run/nectar/store"
	"github.com/nectar-run/nectar/store/bolt"
)

// TestGetItemIsTheCallersOwn reads values of 0, 1, 16 KiB (the largest
// the read cache keeps) and 16 KiB + 1 bytes twice, scribbling over the
// first Item's value in between: the second Get answers the stored value,
// never the caller's scribbles. A closed store answers ErrClosed even for
// a key it has in memory.
func TestGetItemIsTheCallersOwn(t *testing.T) {
	st := openStore(t)
	ctx := t.Context()
	for _, n := range []int{0, 1, 16 << 10, 16<<10 + 1} {
		key := strconv.Itoa(n)
		want := bytes.Repeat([]byte{'v'}, n)
		if _, err := st.Put(ctx, "b", key, want); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			it, err := st.Get(ctx, "b", key)
			if err != nil {
				t.Fatal(err)
			}
			if it.Value == nil || !bytes.Equal(it.Value, want) {
				t.Fatalf("%d bytes, read %d: got %d bytes (nil %v)", n, i, len(it.Value), it.Value == nil)
			}
			for j := range it.Value {
				it.Value[j] = 'X'
			}
			it.Value = append(it.Value, "tail"...)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get(ctx, "b", "1"); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Get after Close: %v, want ErrClosed", err)
	}
}

// TestReadCacheStartsOverUnderReaders has readers go through more keys
// than the read cache keeps (4096, then it starts over) while a writer
// rewrites some of them: each Get answers the key's own value, the last
// one written before it started at the latest (-race checks the cache's
// sharing).
func TestReadCacheStartsOverUnderReaders(t *testing.T) {
	st := openStore(t, bolt.WithNoSync())
	ctx := t.Context()
	const keys = 5000
	ops := make([]store.Op, 0, keys)
	for i := range keys {
		ops = append(ops, store.PutOp("b", strconv.Itoa(i), []byte(strconv.Itoa(i)+":0")))
	}
	if err := st.Apply(ctx, ops...); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for r := range 4 {
		wg.Go(func() {
			for i := range keys {
				k := strconv.Itoa((i*7 + r*1237) % keys)
				it, err := st.Get(ctx, "b", k)
				if err == nil && !bytes.HasPrefix(it.Value, []byte(k+":")) {
					err = errors.New("key " + k + " answered " + string(it.Value))
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for w := 1; w <= 50; w++ {
		k := strconv.Itoa(w * 97 % keys)
		v := []byte(k + ":" + strconv.Itoa(w))
		if _, err := st.Put(ctx, "b", k, v); err != nil {
			t.Fatal(err)
		}
		if it, err := st.Get(ctx, "b", k); err != nil || !bytes.Equal(it.Value, v) {
			t.Fatalf("Get after Put %s: %q %v", k, it.Value, err)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
