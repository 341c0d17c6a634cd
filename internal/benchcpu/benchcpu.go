// Package benchcpu reports the CPU time a benchmark's process spends per
// operation (cpu-ns/op), all goroutines counted: background work such as
// the history recorder's is part of a request's cost. On a machine shared
// with other work, wall time per operation moves with the load; CPU time
// much less so.
package benchcpu

import (
	"syscall"
	"testing"
	"time"
)

// Start begins measuring; the function it returns, called after the
// benchmark's loop, reports cpu-ns/op over b.N operations.
func Start(b *testing.B) func() {
	start := cpu()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(cpu()-start)/float64(b.N), "cpu-ns/op")
		}
	}
}

// cpu returns the process's user and system CPU time.
func cpu() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
