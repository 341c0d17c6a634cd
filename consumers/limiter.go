package consumers

import (
	"sync"
	"time"
)

// Limiter counts requests per caller in fixed windows (a second, a minute,
// an hour, a day), as Digibee's rate limit does. It is safe for concurrent
// use; counts live in memory and start over when the process restarts.
type Limiter struct {
	mu      sync.Mutex
	windows map[string]*window
	sweep   time.Time
}

type window struct {
	start time.Time
	n     int
	every time.Duration
}

// NewLimiter returns an empty Limiter.
func NewLimiter() *Limiter { return &Limiter{windows: map[string]*window{}} }

// Allow counts one request of key against limit requests per every, and
// reports whether it is allowed; when it is not, retry is how long until the
// window ends (what Retry-After says).
func (l *Limiter) Allow(key string, limit int, every time.Duration, now time.Time) (ok bool, retry time.Duration) {
	start := now.Truncate(every)
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.sweep) > time.Minute {
		l.sweep = now
		for k, w := range l.windows {
			if now.Sub(w.start) > w.every {
				delete(l.windows, k)
			}
		}
	}
	w := l.windows[key]
	if w == nil || !w.start.Equal(start) {
		w = &window{start: start, every: every}
		l.windows[key] = w
	}
	if w.n >= limit {
		return false, start.Add(every).Sub(now)
	}
	w.n++
	return true, 0
}
