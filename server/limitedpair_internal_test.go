package server

import (
	"net"
	"testing"
)

// LimitedPair returns a connection accepted by a limited listener (a
// regular one, not a probe) and its client end, closed at the test's end.
// Exported for the package's external tests.
func LimitedPair(t *testing.T) (c, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lln := LimitListener(ln, Limits{MaxConnections: 4})
	t.Cleanup(func() { lln.Close() })
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	c, err = lln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, client
}
