package expression

import (
	"fmt"
	"sort"
	"strings"
)

// Function is one function of the expression catalogue: the Double Braces
// functions Digibee users know (CONCAT, DEFAULT, FORMATDATE, …) and Nectar's
// own helpers (encoding, hashing, random values).
//
// Fn receives the evaluated arguments. They are values of the value model
// (see package value) or what expr itself produces: int and float64 from
// literals and arithmetic, string, bool, []any, *value.Object, nil. Fn returns
// a value of the value model (int64, never int, for integers) or an error that
// says what was wrong with which argument. Fn must be safe for concurrent use.
type Function struct {
	Name    string // upper-case name, e.g. "CONCAT"; calls are case-insensitive
	Usage   string // signature shown in docs, e.g. "CONCAT(s1, s2, …)"
	Doc     string // one or two sentences; where Nectar differs from Digibee, say so
	Example string // an expression using the function, e.g. `CONCAT("a", "b")`
	Result  string // the example's result as JSON (a test evaluates every example); "" when not deterministic
	Fn      func(args ...any) (any, error)
	// Unary, for a function of exactly one argument, may be given instead
	// of Fn (which register then derives from it): compiled calls use it
	// directly, without packing the argument into a slice.
	Unary func(v any) (any, error)
	// Binary, for a function of exactly two arguments, is Unary's like.
	Binary func(a, b any) (any, error)
}

var catalogue = map[string]*Function{}

// register adds functions to the catalogue. It is called from init functions
// and panics on a duplicate name, so two files cannot silently define one name.
func register(fs ...Function) {
	for i := range fs {
		f := fs[i]
		if f.Name != strings.ToUpper(f.Name) || f.Name == "" {
			panic(fmt.Sprintf("expression: function name %q must be upper case", f.Name))
		}
		if _, dup := catalogue[f.Name]; dup {
			panic(fmt.Sprintf("expression: function %s registered twice", f.Name))
		}
		// Fn for a function given as Unary or Binary: the argument count
		// checked, then the arguments passed as they are.
		fixed := func(kind string, n int, call func(args []any) (any, error)) {
			if f.Fn != nil {
				panic(fmt.Sprintf("expression: function %s has both Fn and %s", f.Name, kind))
			}
			name := f.Name
			f.Fn = func(args ...any) (any, error) {
				if err := arity(name, args, n, n); err != nil {
					return nil, err
				}
				return call(args)
			}
		}
		if u := f.Unary; u != nil {
			fixed("Unary", 1, func(args []any) (any, error) { return u(args[0]) })
		}
		if b := f.Binary; b != nil {
			fixed("Binary", 2, func(args []any) (any, error) { return b(args[0], args[1]) })
		}
		catalogue[f.Name] = &f
	}
}

// Functions returns the catalogue sorted by name, for docs and `nectar functions`.
func Functions() []Function {
	out := make([]Function, 0, len(catalogue))
	for _, f := range catalogue {
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// argError is the error a function returns for a bad argument.
func argError(fn string, i int, format string, args ...any) error {
	return fmt.Errorf("%s: argument %d: %s", fn, i+1, fmt.Sprintf(format, args...))
}
