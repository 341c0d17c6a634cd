package value

import "unsafe"

// Boxing a string, an int64 or a float64 into an interface allocates a
// small object per value (runtime.convTstring, convT64); a decoded message
// has one per string and number. The decoder boxes them instead into
// slabs: each value is written once into the next free slot of a slab it
// allocates a few dozen slots at a time, and the interface points at that
// slot. A slot is never written again (a full slab is left to the values
// that point into it and a new one is started), so the values are as
// immutable as the runtime's own boxes, and the garbage collector keeps a
// slab alive as long as any value points into it. A slab holds at most
// maxSlab values, so a value kept from a message keeps at most that many
// others' boxes alive (their text is the message's own, shared anyway).

// A decoder's first slab of a kind has minSlab slots, each next one twice
// as many up to maxSlab: a small message pays little, a large one one
// allocation per maxSlab values.
const (
	minSlab = 8
	maxSlab = 64
)

func nextCap(c int) int { return min(max(2*c, minSlab), maxSlab) }

// eface is the layout of an empty interface (runtime.eface).
type eface struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

func typeOf(v any) unsafe.Pointer { return (*eface)(unsafe.Pointer(&v)).typ }

var (
	stringType  = typeOf("")
	int64Type   = typeOf(int64(0))
	float64Type = typeOf(float64(0))
)

// slabs are the decoder's current slabs.
type slabs struct {
	strs   []string
	ints   []int64
	floats []float64
	// strHint is the size of the first string slab (clamped to minSlab,
	// maxSlab): the decoder's guess from the document's length.
	strHint int
}

// box returns an interface of type typ whose value is at p.
func box(typ, p unsafe.Pointer) any {
	var v any
	e := (*eface)(unsafe.Pointer(&v))
	e.typ, e.data = typ, p
	return v
}

func (s *slabs) string(x string) any {
	if x == "" {
		return "" // the runtime's zero-size box
	}
	if len(s.strs) == cap(s.strs) {
		c := cap(s.strs)
		if c == 0 {
			c = s.strHint / 2 // nextCap doubles it
		}
		s.strs = make([]string, 0, nextCap(c))
	}
	n := len(s.strs)
	s.strs = s.strs[:n+1]
	p := &s.strs[n]
	*p = x
	return box(stringType, unsafe.Pointer(p))
}

func (s *slabs) int64(x int64) any {
	if x >= 0 && x < 256 {
		return x // the runtime boxes these without allocating
	}
	if len(s.ints) == cap(s.ints) {
		s.ints = make([]int64, 0, nextCap(cap(s.ints)))
	}
	s.ints = append(s.ints, x)
	return box(int64Type, unsafe.Pointer(&s.ints[len(s.ints)-1]))
}

func (s *slabs) float64(x float64) any {
	if len(s.floats) == cap(s.floats) {
		s.floats = make([]float64, 0, nextCap(cap(s.floats)))
	}
	s.floats = append(s.floats, x)
	return box(float64Type, unsafe.Pointer(&s.floats[len(s.floats)-1]))
}

// newObjectSized returns an object of n zero fields (length n, as make
// would give). Up to 16 fields, the object and its fields are one
// allocation instead of two.
func newObjectSized(n int) *Object {
	o := objectWithRoom(n)
	o.fields = o.fields[:n]
	return o
}

// objectWithRoom returns an empty object with room for n fields: up to 16,
// in the same allocation as the object (its capacity is then the next of
// 2, 4, 8, 16, and appends use it before they reallocate).
func objectWithRoom(n int) *Object {
	switch {
	case n <= 2:
		return objectIn[[2]field]()
	case n <= 4:
		return objectIn[[4]field]()
	case n <= 8:
		return objectIn[[8]field]()
	case n <= 16:
		return objectIn[[16]field]()
	}
	return &Object{fields: make([]field, 0, n)}
}

// objectIn allocates an object with its fields' array A in one block.
func objectIn[A [2]field | [4]field | [8]field | [16]field]() *Object {
	p := new(struct {
		o Object
		f A
	})
	p.o.fields = unsafe.Slice(&p.f[0], len(p.f))[:0]
	return &p.o
}

var arrayType = typeOf([]any(nil))

// newArray returns an array of n nil elements, both as a value and as the
// slice to fill (length and capacity n). Boxing a slice into an interface
// allocates its header (runtime.convTslice); up to 16 elements, the
// header and the elements are one allocation instead of two. The boxed
// header is never written again, like the runtime's own.
func newArray(n int) (any, []any) {
	switch {
	case n <= 2:
		return arrayIn[[2]any](n)
	case n <= 4:
		return arrayIn[[4]any](n)
	case n <= 8:
		return arrayIn[[8]any](n)
	case n <= 16:
		return arrayIn[[16]any](n)
	}
	a := make([]any, n)
	return a, a
}

func arrayIn[A [2]any | [4]any | [8]any | [16]any](n int) (any, []any) {
	p := new(struct {
		s []any
		a A
	})
	p.s = unsafe.Slice(&p.a[0], n)
	return box(arrayType, unsafe.Pointer(&p.s)), p.s
}

// A Boxer makes values of strings a few per allocation, as the decoder
// does (see slabs), for code that builds an object of many strings (an
// HTTP request's metadata). The zero value is ready to use; a Boxer is not
// safe for concurrent use.
type Boxer struct{ s slabs }

// String returns s as a value.
func (b *Boxer) String(s string) any { return b.s.string(s) }
