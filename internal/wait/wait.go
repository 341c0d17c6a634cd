// Package wait holds the one way Nectar waits: for a duration or until a
// context is done, whichever comes first.
package wait

import (
	"context"
	"time"
)

// Sleep waits d, or until ctx is done; it reports whether ctx is still
// live. A d of 0 or less does not wait.
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
