//go:build unix

package main

import "syscall"

// fdLimit returns the process's limit of open files (0 when unknown). Go
// raises the soft limit to the hard one at start, so this is what the
// server can really open.
func fdLimit() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	return rl.Cur
}
