package value

import (
	"math"
	"unsafe"
)

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
	strs []string
	// nums holds int64s and float64s alike, as their 64 bits: both are
	// 8 bytes without pointers, so a box of either type may point at a
	// slot (math.Float64bits is the identity on memory).
	nums []uint64
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
	return box(int64Type, s.num(uint64(x)))
}

func (s *slabs) float64(x float64) any {
	return box(float64Type, s.num(math.Float64bits(x)))
}

// num stores x in the next slot of the numbers' slab and returns its address.
func (s *slabs) num(x uint64) unsafe.Pointer {
	if len(s.nums) == cap(s.nums) {
		s.nums = make([]uint64, 0, nextCap(cap(s.nums)))
	}
	s.nums = append(s.nums, x)
	return unsafe.Pointer(&s.nums[len(s.nums)-1])
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

// room is the capacity objectWithRoom gives n fields.
func room(n int) int {
	switch {
	case n <= 2:
		return 2
	case n <= 4:
		return 4
	case n <= 8:
		return 8
	case n <= 16:
		return 16
	}
	return n
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

// The decoder takes the objects and arrays of a document from slabs too,
// as it does strings and numbers: the Object structs from one, their
// fields from another, an array's elements and its boxed slice header
// from two more. Each object or array gets its own region of a slab, at
// the capacity it had as an allocation of its own (objectWithRoom's for
// an object, exactly its length for an array), through a full slice
// expression, so that an append past it reallocates instead of writing
// into a neighbour. A decoded message of a few kilobytes then costs a
// handful of allocations however many objects it holds (the 1 KB
// customer record: 14 -> 6). A slab's first size is guessed from the
// document's length; the next ones double up to a bound (maxStructSlab
// slots), so that a value kept from a large message keeps at most that
// many of its neighbours' slots alive with it; a single object or array
// larger than the bound has an allocation of its own.
const maxStructSlab = 256

// carve returns n zero slots (length and capacity n) from *slab, first
// replacing it with a new slab of at least first slots (then twice the
// last one's, up to maxStructSlab) when it has fewer than n left.
func carve[T any](slab *[]T, n, first int) []T {
	s := *slab
	if cap(s)-len(s) < n {
		if n > maxStructSlab {
			return make([]T, n)
		}
		c := max(min(max(2*cap(s), first), maxStructSlab), n)
		s = make([]T, 0, c)
	}
	l := len(s)
	*slab = s[:l+n]
	return s[l : l+n : l+n]
}

// structSlabs are the decoder's current slabs of objects and arrays.
type structSlabs struct {
	objs   []Object
	fields []field
	elems  []any
	hdrs   [][]any
	// size is the document's length in bytes, from which the first
	// slab of each kind is sized (clamped to [2, maxStructSlab]).
	size int
}

// object returns an object holding a copy of members, with the room
// objectWithRoom would give it.
func (s *structSlabs) object(members []field) *Object {
	o := &carve(&s.objs, 1, s.size/128+1)[0]
	o.fields = carve(&s.fields, room(len(members)), s.size/23+2)[:len(members)]
	copy(o.fields, members)
	return o
}

// array returns an array holding a copy of elems, as a value.
func (s *structSlabs) array(elems []any) any {
	h := &carve(&s.hdrs, 1, s.size/320+1)[0]
	*h = carve(&s.elems, len(elems), s.size/96+2)
	copy(*h, elems)
	return box(arrayType, unsafe.Pointer(h))
}

var arrayType = typeOf([]any(nil))

// A Boxer makes values of strings a few per allocation, as the decoder
// does (see slabs), for code that builds an object of many strings (an
// HTTP request's metadata). The zero value is ready to use; a Boxer is not
// safe for concurrent use.
type Boxer struct{ s slabs }

// String returns s as a value.
func (b *Boxer) String(s string) any { return b.s.string(s) }

// Room gives b slots as its first slab: the next len(slots) strings are
// boxed into them, without an allocation, and later ones into slabs of
// b's own, as before. The slots must be used by nothing else: each is
// written once and the values point into it. A caller may hold the slots
// in a struct with other boxes (an HTTP request's metadata holds them
// with its objects), so that its strings cost no allocation of their own;
// the struct is then kept alive while any of those values is, with all it
// points to, so it should hold nothing large that a kept value must not
// pin.
func (b *Boxer) Room(slots []string) { b.s.strs = slots[:0:len(slots)] }

// A decode's first slabs of strings, objects, fields, array elements and
// array headers are carved from one block, allocated once with room for
// what a document of its length typically holds (the sizes the separate
// first slabs had, at the top of the block's range of lengths): one
// allocation where there were five. A document of at most
// minBlockDoc bytes (too small to fill a block) or of more than
// maxBlockDoc (whose slabs are replaced within the document anyway) gets
// its slabs one by one as before. Slabs started when a first slab is full
// are allocated as before. The block is kept alive, as a slab is, while a
// value points into it: a value kept from a message of up to maxBlockDoc
// bytes keeps at most one block (about nine kilobytes at most) alive.
const (
	minBlockDoc = 256
	maxBlockDoc = 4096
)

// The blocks, by the longest document each is for (the separate slabs'
// formulas at that length: strings len/24 clamped to [minSlab, maxSlab],
// objects len/128+1, fields len/23+2, elements len/96+2, array headers
// len/320+1), each fitted with the runtime's 8-byte header (objects of
// more than 512 bytes with pointers have one) to its allocation size class
// (1536, 2688, 5376 and 9472 bytes: TestBlockSizes): the room the class
// rounds up to is given to fields, and block1k has three strings fewer so
// as not to take the next class (3072) for 40 bytes.
type (
	block512 struct {
		s [21]string
		o [5]Object
		f [27]field
		e [7]any
		h [2][]any
	}
	block1k struct {
		s [39]string
		o [9]Object
		f [46]field
		e [12]any
		h [4][]any
	}
	block2k struct {
		s [maxSlab]string
		o [17]Object
		f [102]field
		e [23]any
		h [7][]any
	}
	block4k struct {
		s [maxSlab]string
		o [33]Object
		f [199]field
		e [44]any
		h [13][]any
	}
)

// firstSlabs gives d's empty slabs their first room from one block sized
// for a document of n bytes (none outside (minBlockDoc, maxBlockDoc]).
// Each slab is the block's array of its kind at length 0: the slabs fill
// them as they would a slab of their own (never writing a slot twice,
// each object or array its own region), and start a slab of their own
// when one is full.
func (d *decoder) firstSlabs(n int) {
	switch {
	case n <= minBlockDoc || n > maxBlockDoc:
	case n <= 512:
		b := new(block512)
		d.useBlock(b.s[:0], b.o[:0], b.f[:0], b.e[:0], b.h[:0])
	case n <= 1024:
		b := new(block1k)
		d.useBlock(b.s[:0], b.o[:0], b.f[:0], b.e[:0], b.h[:0])
	case n <= 2048:
		b := new(block2k)
		d.useBlock(b.s[:0], b.o[:0], b.f[:0], b.e[:0], b.h[:0])
	default:
		b := new(block4k)
		d.useBlock(b.s[:0], b.o[:0], b.f[:0], b.e[:0], b.h[:0])
	}
}

func (d *decoder) useBlock(s []string, o []Object, f []field, e []any, h [][]any) {
	d.boxes.strs = s
	d.structs.objs, d.structs.fields, d.structs.elems, d.structs.hdrs = o, f, e, h
}
