package files

import (
	"github.com/nectar-run/nectar/engine"
)

// Strings evaluates optional templates as text, "" for unset ones, in
// order; the first error stops it.
func Strings(x *engine.Exec, in any, ts ...engine.Template) ([]string, error) {
	out := make([]string, len(ts))
	for i, t := range ts {
		s, err := optional(x, in, t)
		if err != nil {
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}
