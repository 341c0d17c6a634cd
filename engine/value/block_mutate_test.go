package value_test

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/engine/value"
)

// TestBlockValuesMutatedInDepth: documents of 200 to 4200 bytes (every
// first-slab block and either side of its bounds) of random nesting, many
// small and empty objects and arrays, are decoded; every object and array
// at every depth is then changed in place (fields set past their room,
// sorted, deleted, set by index; elements replaced; arrays appended to and
// put back), in one order, and the same is done to a deep copy (objects
// and arrays of their own, no slab). Both must encode the same: a change
// of one value that reached a neighbour in a block shows as a difference.
func TestBlockValuesMutatedInDepth(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 17))
	var gen func(sb *strings.Builder, depth int)
	gen = func(sb *strings.Builder, depth int) {
		switch k := r.IntN(9); {
		case depth > 6 || k < 3:
			switch r.IntN(4) {
			case 0:
				fmt.Fprintf(sb, `"s%d"`, r.IntN(1000))
			case 1:
				fmt.Fprintf(sb, "%d", r.IntN(100000))
			case 2:
				fmt.Fprintf(sb, "%d.25", r.IntN(100))
			default:
				sb.WriteString(`"é\n"`)
			}
		case k < 6:
			sb.WriteByte('{')
			for i := range r.IntN(5) {
				if i > 0 {
					sb.WriteByte(',')
				}
				fmt.Fprintf(sb, `"k%d":`, i)
				gen(sb, depth+1)
			}
			sb.WriteByte('}')
		default:
			sb.WriteByte('[')
			for i := range r.IntN(5) {
				if i > 0 {
					sb.WriteByte(',')
				}
				gen(sb, depth+1)
			}
			sb.WriteByte(']')
		}
	}
	doc := func(n int) string {
		var sb strings.Builder
		sb.WriteByte('[')
		for tries := 0; tries < 50; tries++ {
			var e strings.Builder
			gen(&e, 0)
			if sb.Len()+e.Len()+1 > n-8 {
				continue
			}
			if sb.Len() > 1 {
				sb.WriteByte(',')
			}
			sb.WriteString(e.String())
		}
		if sb.Len() > 1 {
			sb.WriteByte(',')
		}
		sb.WriteString(`"` + strings.Repeat("p", n-sb.Len()-3) + `"]`)
		return sb.String()
	}
	var mutate func(v any, tag string) any
	mutate = func(v any, tag string) any {
		switch v := v.(type) {
		case *value.Object:
			for i := range v.Len() {
				k, e := v.At(i)
				v.SetAt(i, mutate(e, tag+"."+k))
			}
			for m := range 3 + len(tag)%15 {
				v.Set(fmt.Sprintf("n%d", m), tag)
			}
			v.Delete("k0")
			v.Set("k1", []any{tag})
			v.SortKeys(strings.Compare)
			return v
		case []any:
			for i := range v {
				v[i] = mutate(v[i], fmt.Sprintf("%s[%d]", tag, i))
			}
			if len(v) > 0 {
				v[0] = tag
			}
			return append(v, tag, int64(len(tag)))
		}
		return v
	}
	var kept []any
	var lengths []int
	for _, b := range []int{256, 512, 1024, 2048, 4096} {
		lengths = append(lengths, b-1, b, b+1)
	}
	for n := 200; n <= 4200; n += 97 {
		lengths = append(lengths, n)
	}
	for _, n := range lengths {
		for rep := range 3 {
			text := doc(n)
			if len(text) != n {
				t.Fatalf("generated %d bytes, want %d", len(text), n)
			}
			v, err := value.DecodeString(text)
			if err != nil {
				t.Fatalf("%d bytes: %v\n%s", n, err, text)
			}
			w := value.DeepCopy(v)
			kept = append(kept, v) // kept while later documents decode
			tag := fmt.Sprintf("d%d-%d", n, rep)
			got, want := value.MustEncodeString(mutate(v, tag)), value.MustEncodeString(mutate(w, tag))
			if got != want {
				t.Fatalf("document of %d bytes after the changes:\n got %s\nwant %s\ndoc %s", n, got, want, text)
			}
		}
	}
	_ = kept
}
