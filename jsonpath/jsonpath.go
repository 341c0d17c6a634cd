// Package jsonpath implements the JSONPath dialect of Jayway JsonPath, which
// Digibee's JSONPATH function follows, over Nectar's value model (see
// engine/value): $, .name, ['name'], ['a','b'] (an object of those
// properties), [n], [i,j], [start:end:step], *, ..name, [?(filter)] with
// comparisons, regular expressions (=~ /re/i, matching the whole string),
// in, nin, subsetof, anyof, noneof, size, empty and contains, and the
// functions min, max, avg, stddev, sum, length, size, first, last, index,
// keys, concat and append, with arguments and chained (.append(1).avg()).
// testdata holds cases ported from Jayway's own test suite, run by
// TestJSONPathConformance; where Nectar deliberately differs it says why.
//
// A path is compiled once and evaluated many times:
//
//	p, err := jsonpath.Compile("$.store.book[?(@.price < 10)].title")
//	if err != nil {
//		return err // a *jsonpath.Error: the path, the offset, what is wrong
//	}
//	titles, err := p.Evaluate(doc) // ["Sayings of the Century", "Moby Dick"]
//
// A compiled Path is immutable and safe for concurrent use. The expression
// function JSONPATH (engine/expression) compiles a literal path when the
// expression is loaded and caches the paths it compiles at run time.
package jsonpath

import "fmt"

// Path is a compiled JSONPath.
type Path struct {
	segs     []jpSegment
	fns      []jpCall // trailing functions, e.g. .length() or .append(1).avg()
	definite bool     // yields one value rather than a list
}

// Compile reads a path. A path may leave out its leading $ ("store.book"
// is "$.store.book"), and @ at its start is $ (as Jayway reads them). A path
// that cannot be read is an *Error.
func Compile(src string) (*Path, error) { return parse(src) }

// Definite reports whether the path yields one value (no deep scan,
// wildcard, filter, slice or list of indexes) rather than a list of matches.
func (path *Path) Definite() bool { return path.definite }

// Evaluate runs the path on doc, a value of the value model, which is also
// $ in filters. A definite path gives its one value, or null when nothing
// matches (Jayway raises an error); an indefinite one gives the array of its
// matches, [] for none. A function that cannot apply to its value (avg() of
// a string) is an error.
func (path *Path) Evaluate(doc any) (any, error) {
	v, _, err := path.evaluate(doc, doc)
	return v, err
}

// Error is a path that cannot be read: what is wrong (Msg) at Offset, a
// byte offset in the path as normalized (with its leading $); Offset is -1
// for an empty path.
type Error struct {
	Path   string
	Offset int
	Msg    string
}

func (e *Error) Error() string {
	if e.Offset < 0 {
		return e.Msg
	}
	return fmt.Sprintf("invalid JSONPath %q at %d: %s", e.Path, e.Offset, e.Msg)
}
