// Package value is Nectar's JSON data model: the message every step reads and
// writes.
//
// # Basics
//
// A value is one of: nil (null), bool, string, int64 (or uint64 and
// json.Number for integers beyond int64, so that no digit is lost), float64,
// []any (array) and *Object (object). An Object keeps the order in which its
// keys were first set, so a message keeps the key order of its input and of
// the templates that built it; Encode writes that order back. Decode parses
// JSON into this model and Encode writes it.
//
// Values decoded from JSON, and values built with FromGo, hold only those
// types. Connectors that receive a value must treat it as read-only unless
// they created it; DeepCopy gives a private copy.
//
// # Why not map[string]any
//
// Go maps forget key order. Integration engineers read and diff messages, and
// JOLT's array results depend on input key order, so Nectar keeps it. The cost
// is measured by the benchmarks in this package (see BenchmarkDecode): a small
// object is a pair of slices scanned linearly, and a key index is added only
// above a dozen keys.
package value
