package value

import (
	"slices"
)

// indexThreshold is the size above which an Object keeps a key index. Below it a
// linear scan over the keys (compared by length first) is about as fast as
// hashing and costs no allocation.
const indexThreshold = 32

// Object is a JSON object that remembers the order in which its keys were first
// set. The zero value is an empty object ready to use. An Object is not safe for
// concurrent mutation; readers may share one that nobody writes.
type Object struct {
	fields []field
	idx    map[string]int
}

// field is one member; keeping key and value side by side costs one
// allocation per object instead of two and keeps a lookup on one cache line.
type field struct {
	k string
	v any
}

// NewObject returns an empty object with room for at least n keys (up to
// 16, in the object's own allocation: see objectWithRoom).
func NewObject(n int) *Object {
	if n <= 0 {
		return &Object{}
	}
	return objectWithRoom(n)
}

// NewObjectGroup returns five empty objects made in one allocation, for
// code that builds a few small objects at once: an HTTP request's
// metadata (the request, its headers, the metadata object holding the
// request, the params and the query). The first has room for 10 fields,
// the second for 6 and the third for 3, in that allocation; the others
// have none. Each object is independent of the others, as NewObject's
// are: an append past its room reallocates its fields alone.
func NewObjectGroup() *[5]Object { return new(ObjectGroup).Objects() }

// An ObjectGroup is the five objects of NewObjectGroup and their room, as
// a value: a struct allocated per task anyway may hold one, so that the
// objects cost no allocation of their own. The struct is then kept alive
// while any of them is, with all it points to: the holder should hold
// nothing large that a value kept from the objects must not pin (an HTTP
// request's metadata is held apart from its execution, which holds the
// message). The zero value is ready for Objects.
type ObjectGroup struct {
	objs [5]Object
	f    [19]field
}

// Objects returns g's five empty objects, with the room NewObjectGroup
// gives them. Call it once per group: the objects are then the caller's.
func (g *ObjectGroup) Objects() *[5]Object {
	g.objs[0].fields = g.f[0:0:10]
	g.objs[1].fields = g.f[10:10:16]
	g.objs[2].fields = g.f[16:16:19]
	return &g.objs
}

// ObjectOf builds an object from alternating keys and values, in that order.
// It panics if a key is not a string; it is meant for literals in code and tests.
func ObjectOf(kv ...any) *Object {
	o := NewObject(len(kv) / 2)
	for i := 0; i+1 < len(kv); i += 2 {
		o.Set(kv[i].(string), kv[i+1])
	}
	return o
}

// Len returns the number of keys.
func (o *Object) Len() int {
	if o == nil {
		return 0
	}
	return len(o.fields)
}

func (o *Object) find(k string) int {
	if o.idx != nil {
		if i, ok := o.idx[k]; ok {
			return i
		}
		return -1
	}
	for i := range o.fields {
		if f := &o.fields[i]; len(f.k) == len(k) && f.k == k {
			return i
		}
	}
	return -1
}

// Get returns the value under k and whether k is present.
func (o *Object) Get(k string) (any, bool) {
	if o == nil {
		return nil, false
	}
	if i := o.find(k); i >= 0 {
		return o.fields[i].v, true
	}
	return nil, false
}

// Has reports whether k is present.
func (o *Object) Has(k string) bool {
	return o != nil && o.find(k) >= 0
}

// Set stores v under k. A new key goes last; an existing key keeps its place.
func (o *Object) Set(k string, v any) {
	if i := o.find(k); i >= 0 {
		o.fields[i].v = v
		return
	}
	o.AppendNew(k, v)
}

// AppendNew adds k, which the caller knows o does not hold, after the last
// key, without looking for it first (Set looks). A writer that proves its
// keys distinct, such as JOLT's rename plan, uses it; a k already in o would
// be held twice.
func (o *Object) AppendNew(k string, v any) {
	o.fields = append(o.fields, field{k, v})
	if o.idx != nil {
		o.idx[k] = len(o.fields) - 1
	} else if len(o.fields) > indexThreshold {
		o.reindex()
	}
}

func (o *Object) reindex() {
	o.idx = make(map[string]int, len(o.fields))
	for i := range o.fields {
		o.idx[o.fields[i].k] = i
	}
}

// Delete removes k, keeping the order of the other keys, and reports whether it was there.
func (o *Object) Delete(k string) bool {
	if o == nil {
		return false
	}
	i := o.find(k)
	if i < 0 {
		return false
	}
	o.fields = slices.Delete(o.fields, i, i+1)
	if o.idx != nil {
		if len(o.fields) > indexThreshold {
			o.reindex()
		} else {
			o.idx = nil
		}
	}
	return true
}

// Keys returns the keys in order, in a new slice.
func (o *Object) Keys() []string {
	if o == nil {
		return nil
	}
	keys := make([]string, len(o.fields))
	for i := range o.fields {
		keys[i] = o.fields[i].k
	}
	return keys
}

// At returns the i-th key and value, 0 <= i < Len().
func (o *Object) At(i int) (string, any) { return o.fields[i].k, o.fields[i].v }

// SetAt replaces the value of the i-th key.
func (o *Object) SetAt(i int, v any) { o.fields[i].v = v }

// Range calls fn for every key in order until fn returns false.
func (o *Object) Range(fn func(k string, v any) bool) {
	if o == nil {
		return
	}
	for i := range o.fields {
		if !fn(o.fields[i].k, o.fields[i].v) {
			return
		}
	}
}

// Clone returns a shallow copy: a new object holding the same values.
func (o *Object) Clone() *Object {
	if o == nil {
		return nil
	}
	c := &Object{fields: slices.Clone(o.fields)}
	if o.idx != nil {
		c.reindex()
	}
	return c
}

// SortKeys reorders the keys with less.
func (o *Object) SortKeys(less func(a, b string) int) {
	slices.SortStableFunc(o.fields, func(a, b field) int { return less(a.k, b.k) })
	if o.idx != nil {
		o.reindex()
	}
}

// MarshalJSON encodes the object with its keys in order.
func (o *Object) MarshalJSON() ([]byte, error) {
	return AppendJSON(nil, o)
}

// UnmarshalJSON decodes a JSON object, keeping its key order.
func (o *Object) UnmarshalJSON(b []byte) error {
	v, err := Decode(b)
	if err != nil {
		return err
	}
	obj, ok := v.(*Object)
	if !ok {
		return &SyntaxError{Offset: 0, Msg: "expected a JSON object, got " + TypeName(v)}
	}
	*o = *obj
	return nil
}

// DeepCopy returns a copy of v that shares no mutable object or array with it.
func DeepCopy(v any) any {
	switch t := v.(type) {
	case *Object:
		if t == nil {
			return (*Object)(nil)
		}
		c := &Object{fields: make([]field, len(t.fields))}
		for i, f := range t.fields {
			c.fields[i] = field{f.k, DeepCopy(f.v)}
		}
		if t.idx != nil {
			c.reindex()
		}
		return c
	case []any:
		return MapArray(t, DeepCopy)
	default:
		return v
	}
}
