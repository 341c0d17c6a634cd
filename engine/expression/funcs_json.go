package expression

import (
	"fmt"
	"slices"
	"strings"

	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/jsonpath"
)

func init() {
	registerIn(catJSON,
		Function{
			Name: "JSONPATH", Usage: "JSONPATH(v, path)",
			Doc: "Queries v (a value, or JSON text) with JSONPath as Jayway JsonPath reads it: $, .name, ['name'], ['a','b'] (an object of those properties), " +
				"[0], $.[0], [-1], [0,2], [1:3], *, ..name, filters [?(@.price < 10 && @.tag == 'x')] with == != < <= > >= =~ /regex/i in nin " +
				"subsetof anyof noneof contains size empty, and the functions min() max() avg() stddev() sum() length() size() first() last() index(n) " +
				"keys() concat() append(), with arguments and chained ($.sum(1, $.a.max()), $.a.append(3).avg()). A path with a wildcard, deep scan, " +
				"filter, slice or several indexes gives an array of matches; otherwise the one value, or null when it is missing.",
			Example: `JSONPATH({"items": [{"sku": "a", "price": 5}, {"sku": "b", "price": 15}]}, "$.items[?(@.price > 10)].sku")`,
			Result:  `["b"]`,
			Fn:      fnJSONPath,
		},
		Function{
			Name: "TOJSON", Usage: "TOJSON(v)",
			Doc:     "Parses JSON text into a value. A string that is not JSON, and any other value, is returned as it is; null gives null.",
			Example: `TOJSON("{\"a\": [1, 2]}")`, Result: `{"a":[1,2]}`,
			Fn: fnToJSON,
		},
		Function{
			Name: "UNESCAPEJSON", Usage: "UNESCAPEJSON(s)",
			Doc:     "Un-escapes JSON that was escaped into a string (\\\" for \", \\\\ for \\) and parses it; when the result is not JSON, the un-escaped text is returned.",
			Example: `UNESCAPEJSON("{\\\"a\\\":\\\"x\\\"}")`, Result: `{"a":"x"}`,
			Fn: fnUnescapeJSON,
		},
		Function{
			Name: "GETELEMENTAT", Usage: "GETELEMENTAT(array, index)",
			Doc:     "The element at index (0-based); null when the index is out of range.",
			Example: `GETELEMENTAT(["a", "b", "c"], 1)`, Result: `"b"`,
			Fn: fnGetElementAt,
		},
		Function{
			Name: "LASTELEMENT", Usage: "LASTELEMENT(array)",
			Doc:     "The last element; null for an empty array.",
			Example: `LASTELEMENT([1, 2, 3])`, Result: `3`,
			Fn: fnLastElement,
		},
		Function{
			Name: "REMOVEAT", Usage: "REMOVEAT(array, index)",
			Doc:     "A copy of the array without the element at index; an index out of range leaves it unchanged.",
			Example: `REMOVEAT(["a", "b", "c"], 1)`, Result: `["a","c"]`,
			Fn: fnRemoveAt,
		},
		Function{
			Name: "PUSH", Usage: "PUSH(array, element?)",
			Doc:     "A copy of the array with element appended (null when element is missing). A null array counts as empty.",
			Example: `PUSH([1, 2], {"a": 3})`, Result: `[1,2,{"a":3}]`,
			Fn: fnPush,
		},
		Function{
			Name: "POP", Usage: "POP(array)",
			Doc:     "{\"array\": the array without its last element, \"element\": the last element}; an empty array is returned as it is.",
			Example: `POP([1, 2, 3])`, Result: `{"array":[1,2],"element":3}`,
			Fn: fnPop,
		},
		Function{
			Name: "NEWEMPTYOBJECT", Usage: "NEWEMPTYOBJECT()",
			Doc:     "A new empty object {}.",
			Example: `NEWEMPTYOBJECT()`, Result: `{}`,
			Fn: func(args ...any) (any, error) {
				if err := arity("NEWEMPTYOBJECT", args, 0, 0); err != nil {
					return nil, err
				}
				return value.NewObject(0), nil
			},
		},
		Function{
			Name: "NEWEMPTYARRAY", Usage: "NEWEMPTYARRAY()",
			Doc:     "A new empty array [].",
			Example: `NEWEMPTYARRAY()`, Result: `[]`,
			Fn: func(args ...any) (any, error) {
				if err := arity("NEWEMPTYARRAY", args, 0, 0); err != nil {
					return nil, err
				}
				return []any{}, nil
			},
		},
		Function{
			Name: "CARDINALITYONE", Usage: "CARDINALITYONE(v)",
			Doc:     "The first element of an array (null when empty); any other value as it is. Use it where a field may be one item or a list of them.",
			Example: `CARDINALITYONE([{"id": 1}, {"id": 2}])`, Result: `{"id":1}`,
			Fn: fnCardinalityOne,
		},
		Function{
			Name: "CARDINALITYMANY", Usage: "CARDINALITYMANY(v)",
			Doc:     "An array as it is; any other value wrapped in a one-element array ({} gives [{}]). Null gives [] in Nectar, so the result can always be iterated.",
			Example: `CARDINALITYMANY({"id": 1})`, Result: `[{"id":1}]`,
			Fn: fnCardinalityMany,
		},
	)
}

// jsonPathCache holds the paths JSONPATH compiled: those of literals when
// the expression is compiled (see patcher), the others at their first use.
var jsonPathCache compiled[*jsonpath.Path]

func fnJSONPath(args ...any) (any, error) {
	r := readArgs("JSONPATH", args, 2, 2)
	src := r.text(1)
	if r.err != nil {
		return nil, r.err
	}
	path, err := jsonPathCache.get(src, jsonpath.Compile)
	if err != nil {
		return nil, argError("JSONPATH", 1, "%s", err.Error())
	}
	doc := value.FromGo(args[0])
	if s, ok := doc.(string); ok {
		if v, err := value.DecodeString(s); err == nil {
			doc = v
		}
	}
	v, err := path.Evaluate(doc)
	if err != nil {
		return nil, fmt.Errorf("JSONPATH: %w", err)
	}
	return v, nil
}

func fnToJSON(args ...any) (any, error) {
	if err := arity("TOJSON", args, 1, 1); err != nil {
		return nil, err
	}
	s, ok := args[0].(string)
	if !ok {
		return value.FromGo(args[0]), nil
	}
	if v, err := value.DecodeString(s); err == nil {
		return v, nil
	}
	return s, nil
}

func fnUnescapeJSON(args ...any) (any, error) {
	if err := arity("UNESCAPEJSON", args, 1, 1); err != nil {
		return nil, err
	}
	if args[0] == nil {
		return nil, nil
	}
	s, ok := args[0].(string)
	if !ok {
		return value.FromGo(args[0]), nil
	}
	u := strings.TrimSpace(unescapeJSONText(s))
	// An escaped document is often still wrapped in the quotes of its string.
	if len(u) >= 2 && u[0] == '"' && u[len(u)-1] == '"' {
		if v, err := value.DecodeString(u[1 : len(u)-1]); err == nil {
			return v, nil
		}
	}
	if v, err := value.DecodeString(u); err == nil {
		return v, nil
	}
	return u, nil
}

func fnGetElementAt(args ...any) (any, error) {
	a, i, in, err := arrayAndIndex("GETELEMENTAT", args)
	if err != nil || !in {
		return nil, err
	}
	return a[i], nil
}

// arrayAndIndex reads the arguments (array, index) of a call of name; in
// reports whether the index is one of the array's.
func arrayAndIndex(name string, args []any) (a []any, i int64, in bool, err error) {
	r := readArgs(name, args, 2, 2)
	a, i = r.array(0), r.int(1)
	if r.err != nil {
		return nil, 0, false, r.err
	}
	return a, i, i >= 0 && i < int64(len(a)), nil
}

func fnLastElement(args ...any) (any, error) {
	a, ok, err := nonEmptyArray("LASTELEMENT", args)
	if !ok {
		return nil, err
	}
	return a[len(a)-1], nil
}

// nonEmptyArray reads the one argument, an array, of a call of name; ok is
// false when it is empty (or on an error, when a is nil).
func nonEmptyArray(name string, args []any) (a []any, ok bool, err error) {
	r := readArgs(name, args, 1, 1)
	a = r.array(0)
	return a, r.err == nil && len(a) > 0, r.err
}

func fnRemoveAt(args ...any) (any, error) {
	a, i, in, err := arrayAndIndex("REMOVEAT", args)
	if err != nil || !in {
		return a, err
	}
	out := make([]any, 0, len(a)-1)
	out = append(out, a[:i]...)
	return append(out, a[i+1:]...), nil
}

func fnPush(args ...any) (any, error) {
	if err := arity("PUSH", args, 1, 2); err != nil {
		return nil, err
	}
	var a []any
	if args[0] != nil {
		var err error
		if a, err = argArray("PUSH", args, 0); err != nil {
			return nil, err
		}
	}
	out := make([]any, len(a), len(a)+1)
	copy(out, a)
	return append(out, value.FromGo(opt(args, 1))), nil
}

func fnPop(args ...any) (any, error) {
	a, ok, err := nonEmptyArray("POP", args)
	if !ok {
		return a, err
	}
	return value.ObjectOf("array", slices.Clone(a[:len(a)-1]), "element", a[len(a)-1]), nil
}

func fnCardinalityOne(args ...any) (any, error) {
	if err := arity("CARDINALITYONE", args, 1, 1); err != nil {
		return nil, err
	}
	v := value.FromGo(args[0])
	if a, ok := v.([]any); ok {
		if len(a) == 0 {
			return nil, nil
		}
		return a[0], nil
	}
	return v, nil
}

func fnCardinalityMany(args ...any) (any, error) {
	if err := arity("CARDINALITYMANY", args, 1, 1); err != nil {
		return nil, err
	}
	switch v := value.FromGo(args[0]).(type) {
	case []any:
		return v, nil
	case nil:
		return []any{}, nil
	default:
		return []any{v}, nil
	}
}
