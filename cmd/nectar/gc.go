package main

import (
	"os"
	"runtime/debug"
)

// serveGCPercent is the garbage collector's target for nectar serve. A server
// allocates short-lived messages at a high rate; collecting at 4× the live
// heap instead of 2× halves the collector's CPU for a little memory. GOGC and
// GOMEMLIMIT in the environment take precedence.
const serveGCPercent = 400

func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(serveGCPercent)
	}
}
