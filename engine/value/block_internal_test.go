package value

import (
	"testing"
	"unsafe"
)

// TestBlockSizes: each block of first slabs, with the 8-byte header the
// runtime puts before an object of more than 512 bytes with pointers,
// fills its allocation size class, with less than one field's room (32
// bytes) left over, so that the class's rounding is not memory allocated
// and zeroed for nothing.
func TestBlockSizes(t *testing.T) {
	for _, b := range []struct {
		name        string
		size, class uintptr
	}{
		{"block512", unsafe.Sizeof(block512{}), 1536},
		{"block1k", unsafe.Sizeof(block1k{}), 2688},
		{"block2k", unsafe.Sizeof(block2k{}), 5376},
		{"block4k", unsafe.Sizeof(block4k{}), 9472},
	} {
		const header = 8
		if b.size+header > b.class || b.class-b.size-header >= unsafe.Sizeof(field{}) {
			t.Errorf("%s is %d bytes and its header: want at most %d (its size class) and less than a field below it", b.name, b.size, b.class)
		}
	}
}
