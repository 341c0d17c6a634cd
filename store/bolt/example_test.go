package bolt_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/nectar-run/nectar/store"
	"github.com/nectar-run/nectar/store/bolt"
)

// ExampleStore_Update counts runs with an atomic read-modify-write.
func ExampleStore_Update() {
	dir, _ := os.MkdirTemp("", "nectar-example-")
	defer os.RemoveAll(dir)
	st, err := bolt.Open(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()
	ctx := context.Background()

	incr := func(cur []byte, ok bool) ([]byte, error) {
		n, _ := strconv.Atoi(string(cur)) // a missing key counts as 0
		return strconv.AppendInt(nil, int64(n+1), 10), nil
	}
	for range 3 {
		if _, err := st.Update(ctx, "counters", "runs", incr); err != nil {
			fmt.Println(err)
			return
		}
	}
	it, _ := st.Get(ctx, "counters", "runs")
	fmt.Println(string(it.Value))
	// Output: 3
}

// ExampleStore_Create makes a schedule tick fire once: the first replica to
// create the tick's key runs it; the key expires after a day.
func ExampleStore_Create() {
	dir, _ := os.MkdirTemp("", "nectar-example-")
	defer os.RemoveAll(dir)
	st, err := bolt.Open(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()
	ctx := context.Background()

	tick := "nightly@2024-05-01T02:00:00Z"
	for _, replica := range []string{"a", "b"} {
		_, err := st.Create(ctx, "ticks", tick, []byte(replica), store.TTL(24*time.Hour))
		switch {
		case err == nil:
			fmt.Println(replica, "runs the tick")
		case errors.Is(err, store.ErrExists):
			fmt.Println(replica, "skips it")
		default:
			fmt.Println(err)
		}
	}
	// Output:
	// a runs the tick
	// b skips it
}
