package bolt

import (
	"strconv"
	"testing"
)

// TestReadCacheBoundsItsBytes reads as many keys as the read cache keeps
// (4096), each with the largest value it keeps (16 KiB): what it holds
// stays within 4 MiB of values, not 64 MiB. A pipeline that gets
// documents by an id from the request would otherwise pin 64 MiB of them.
func TestReadCacheBoundsItsBytes(t *testing.T) {
	var c readCache
	for i := range 4096 {
		c.put(0, "objects/docs", strconv.Itoa(i), record{value: make([]byte, 16<<10)})
		held := 0
		for _, b := range c.m {
			for _, e := range b {
				held += len(e.rec.value)
			}
		}
		if held > 4<<20 {
			t.Fatalf("after %d keys of 16 KiB the read cache holds %d bytes of values, more than 4 MiB", i+1, held)
		}
	}
}
