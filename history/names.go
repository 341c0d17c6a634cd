package history

import (
	"math/bits"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

// nameTable answers engine.SensitiveField for one set of names (the
// defaults, the server's and a pipeline's sensitive_fields) without
// normalizing the key into a new string or hashing it again in a map: one
// pass over the key's bytes computes the hash of its normalized form, and
// one probe of an open-addressed table (mostly an empty slot) decides. A
// record asks for every key of its input and output, so this runs for every
// key of every request.
type nameTable struct {
	slots []string // normalized names; "" is a free slot
	// spelled holds, for each slot, its name as first written in the
	// lists ("access_token"): a key spelled so is the name without
	// comparing its normalized form byte by byte.
	spelled []string
	mask    uint32
	// empty is set when a name normalizes to "" ("_", "-"): every key
	// made only of ignored bytes is then sensitive, as with sameField.
	empty bool
	// first marks the first bytes of the names: a key whose first byte
	// normalization keeps is not in first is not a name.
	first [256]bool
	// lead marks, for each two bytes a key may start with as they are
	// (bit b0<<8|b1), those with which it may still be a name: after
	// normalization, the first two bytes of a name (or, when a name is one
	// byte long, its first byte), or a byte normalization drops. Most keys
	// are told apart by this one bit.
	lead [256 * 256 / 64]uint64
	// tri marks the first three bytes of the names three bytes long or
	// more (bit triBit): a key that gets past lead is mostly told apart by
	// them (total, token), before its whole length is hashed. tiny is set
	// when a name is shorter: only then may a key shorter be a name.
	tri  [1 << triBits / 64]uint64
	tiny bool
}

// triBits is the size of nameTable.tri: 4096 bits for a few dozen names.
const triBits = 12

// triBit returns the bit of tri for g, three normalized bytes c0<<16 |
// c1<<8 | c2.
func triBit(g uint32) uint32 { return g * 0x9e3779b1 >> (32 - triBits) }

// normByte maps a byte to its form in a normalized name
// (engine.NormalFieldByte), skip for the bytes engine.NormalizeField drops.
var normByte = func() (t [256]int16) {
	for c := range t {
		t[c] = skip
		if n, keep := engine.NormalFieldByte(byte(c)); keep {
			t[c] = int16(n)
		}
	}
	return t
}()

const skip = -1

// normAt is normByte[k[i]], skip past the end of k.
func normAt(k string, i int) int16 {
	if i < len(k) {
		return normByte[k[i]]
	}
	return skip
}

// nameHash returns a hash of k's normalized form and that form's length. A
// rotate and a xor a byte: the table holds a few dozen names, and a
// multiplication a byte would cost more than the rare extra probe.
func nameHash(k string) (uint32, int) {
	h, n := uint32(0), 0
	for i := 0; i < len(k); i++ {
		c := normByte[k[i]]
		if c == skip {
			continue
		}
		h = bits.RotateLeft32(h, 5) ^ uint32(c)
		n++
	}
	return h ^ h>>11, n
}

// newNameTable builds the table of engine.DefaultSensitiveFields and lists.
func newNameTable(lists ...[]string) *nameTable {
	names := make([]string, 0, len(engine.DefaultSensitiveFields))
	var spellings []string
	for _, l := range append([][]string{engine.DefaultSensitiveFields}, lists...) {
		for _, f := range l {
			names = append(names, engine.NormalizeField(f))
			spellings = append(spellings, f)
		}
	}
	size := 16
	for size < 3*len(names) { // at most a third full: a miss mostly meets a free slot
		size *= 2
	}
	t := &nameTable{slots: make([]string, size), spelled: make([]string, size), mask: uint32(size - 1)}
	// pairs marks the first two bytes of the names longer than one byte.
	var pairs [256 * 256 / 64]uint64
	short := false // a name is one byte long
	for j, n := range names {
		if n == "" {
			t.empty = true
			continue
		}
		t.first[n[0]] = true
		if len(n) >= 3 {
			b := triBit(uint32(n[0])<<16 | uint32(n[1])<<8 | uint32(n[2]))
			t.tri[b/64] |= 1 << (b % 64)
		} else {
			t.tiny = true
		}
		if len(n) > 1 {
			i := int(n[0])<<8 | int(n[1])
			pairs[i/64] |= 1 << (i % 64)
		} else {
			short = true
		}
		h, _ := nameHash(n)
		for i := h & t.mask; ; i = (i + 1) & t.mask {
			if t.slots[i] == n {
				break
			}
			if t.slots[i] == "" {
				t.slots[i], t.spelled[i] = n, spellings[j]
				break
			}
		}
	}
	for b0 := range 256 {
		row := t.lead[b0*4 : b0*4+4] // the bits of b0<<8|b1
		c0 := normByte[b0]
		switch {
		case c0 == skip || t.first[c0] && short: // a name may start after it; or be one byte
			row[0], row[1], row[2], row[3] = ^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)
		case t.first[c0]:
			for b1 := range 256 {
				c1 := normByte[b1]
				i := int(c0)<<8 | int(c1)
				if c1 == skip || pairs[i/64]&(1<<(i%64)) != 0 {
					row[b1/64] |= 1 << (b1 % 64)
				}
			}
		}
	}
	return t
}

// has reports whether k is one of the table's names, compared as
// engine.SensitiveField compares them.
func (t *nameTable) has(k string) bool {
	return !t.ruledOut(k) && t.lookup(k)
}

// ruledOut reports that k is certainly not a name, from its first two
// bytes (bit k[0]<<8|k[1] of lead): most keys stop here. It is inlined
// where it is called, has is not.
func (t *nameTable) ruledOut(k string) bool {
	return len(k) >= 2 && t.lead[uint(k[0])<<2|uint(k[1]>>6)]&(1<<(k[1]&63)) == 0
}

// lookup is has past the first bytes' filter.
func (t *nameTable) lookup(k string) bool {
	// The first three bytes of k's normalized form, in tri: mostly k's
	// first three bytes, none of them dropped (skip is negative).
	g, n := uint32(0), 0
	if c0, c1, c2 := normAt(k, 0), normAt(k, 1), normAt(k, 2); c0|c1|c2 >= 0 {
		g, n = uint32(c0)<<16|uint32(c1)<<8|uint32(c2), 3
	} else {
		for i := 0; i < len(k) && n < 3; i++ {
			if c := normByte[k[i]]; c != skip {
				g = g<<8 | uint32(c)
				n++
			}
		}
	}
	switch {
	case n == 0:
		return t.empty
	case n < 3:
		if !t.tiny {
			return false
		}
	default:
		if b := triBit(g); t.tri[b/64]&(1<<(b%64)) == 0 {
			return false
		}
	}
	h, n := nameHash(k)
	for i := h & t.mask; ; i = (i + 1) & t.mask {
		s := t.slots[i]
		if s == "" {
			return false
		}
		if len(s) == n && (k == t.spelled[i] || normalEqual(k, s)) {
			return true
		}
	}
}

// normalEqual reports whether k normalizes to s, a normalized name of k's
// normalized length.
func normalEqual(k, s string) bool {
	j := 0
	for i := 0; i < len(k); i++ {
		c := normByte[k[i]]
		if c == skip {
			continue
		}
		if byte(c) != s[j] {
			return false
		}
		j++
	}
	return true
}

// defaultNames is the table of engine.DefaultSensitiveFields alone.
var defaultNames = newNameTable()

// maxNameTables bounds the tables a recorder keeps, one per pipeline
// version with sensitive_fields (reloads make new versions).
const maxNameTables = 256

// namesFor returns the table of the names sensitive in p's records: the
// defaults, the recorder's SensitiveFields and p's sensitive_fields. It is
// built once per pipeline version; write runs on one goroutine.
func (r *Recorder) namesFor(p *engine.Pipeline) *nameTable {
	var local []string
	if p != nil {
		local = p.SensitiveFields
	}
	if len(local) == 0 && len(r.opts.SensitiveFields) == 0 {
		return defaultNames
	}
	// Keyed by the list itself (its array, not the pipeline: a retired
	// version is not kept alive by its table).
	key := nameList{n: len(local)}
	if len(local) > 0 {
		key.first = &local[0]
	}
	if t, ok := r.names[key]; ok {
		return t
	}
	if r.names == nil || len(r.names) >= maxNameTables {
		r.names = make(map[nameList]*nameTable)
		r.keys = keyCache{} // nor by the cache's answers
	}
	t := newNameTable(r.opts.SensitiveFields, local)
	r.names[key] = t
	return t
}

// nameList identifies a pipeline's sensitive_fields: its array and length.
type nameList struct {
	first *string
	n     int
}

// inKeys reports whether v has a field with one of the table's names, at
// any depth.
func (t *nameTable) inKeys(v any) bool {
	switch o := v.(type) {
	case *value.Object:
		return t.inObject(o)
	case []any:
		return t.inList(o)
	}
	return false
}

// inObject is inKeys of an object; a scalar field is not looked into
// (no call for it).
func (t *nameTable) inObject(o *value.Object) bool {
	for i := range o.Len() {
		k, c := o.At(i)
		if !t.ruledOut(k) && t.lookup(k) { // has, inlined
			return true
		}
		switch c := c.(type) {
		case *value.Object:
			if t.inObject(c) {
				return true
			}
		case []any:
			if t.inList(c) {
				return true
			}
		}
	}
	return false
}

// inList is inKeys of a list. It and inObject write inKeys' switch out
// again rather than call it: the call is not inlined, and costs 28 % of
// BenchmarkInKeys (7.5k -> 9.6k instructions per op).
func (t *nameTable) inList(l []any) bool {
	for _, c := range l {
		switch c := c.(type) {
		case *value.Object:
			if t.inObject(c) {
				return true
			}
		case []any:
			if t.inList(c) {
				return true
			}
		}
	}
	return false
}
