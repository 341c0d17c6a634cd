// Package nettest holds helpers for tests of what Nectar does when a peer on
// the network misbehaves. Everything listens on loopback only.
package nettest

import (
	"net"
	"sync"
	"testing"
)

// Silent listens on 127.0.0.1 and returns the address: a server that accepts
// connections and never writes a byte (a PostgreSQL, an API or a TLS
// handshake that hangs after accept). The listener and the connections it
// accepted are closed when the test ends.
func Silent(tb testing.TB) string {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	tb.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}
