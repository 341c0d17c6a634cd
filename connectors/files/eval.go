package files

import (
	"context"
	"time"

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

// Sleep waits d, or until ctx is done; it reports whether ctx is still
// live.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
