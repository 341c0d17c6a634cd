// Package jolt is a Go implementation of the JOLT JSON-to-JSON transform
// language (the spec language of github.com/bazaarvoice/jolt), used by
// Nectar's transform step and the nectar jolt command. It accepts JOLT specs
// unchanged and gives the results the Java library gives; the package's
// conformance test runs the upstream project's own test cases.
//
// # Basics
//
// A spec is compiled once and applied many times:
//
//	spec, _ := value.DecodeString(`[{"operation": "shift", "spec": {"rating": "score"}}]`)
//	t, err := jolt.CompileChain(spec) // or jolt.Compile("shift", oneSpec)
//	out, err := t.Apply(input, nil)
//
// The operations are shift (move values to new places, using the input's
// keys and wildcards), default (fill in missing or null values), remove,
// sort (order keys alphabetically), cardinality (make values ONE or MANY)
// and the three modify operations (compute values with functions such as
// =toUpper or =concat(@(1,first),' ',@(1,last))). A chain runs operations
// in order. The README next to this file explains each with examples.
//
// Values are Nectar's value model (package engine/value): *value.Object keeps
// key order, which JOLT's results depend on when several values land in one
// array; integers are int64 and other numbers float64.
//
// # Concurrency
//
// A *Transform holds no per-call state: one compiled transform may be applied
// from many goroutines at once. Apply never changes its input or context. The
// result may hold objects and arrays of the input by reference (a shift writes
// values as they are, and copies one only before changing it): treat it as
// read-only, as Nectar treats every message.
//
// # Errors
//
// A bad spec fails at compile time with a *SpecError whose Path leads from
// the spec's root to the offending key, so that a loader can point at the
// line and column in the file it came from. At run time, data that does not
// fit the spec is not an error (that part of the spec does nothing, as in
// JOLT); Apply fails only on the limits (ErrTooDeep, ErrOutputTooLarge), a
// default spec on a top-level array it cannot index (ErrTopLevelArray) and a
// reference to a wildcard capture that does not exist (ErrBadReference).
package jolt
