package nettest_test

import (
	"net"
	"testing"
	"time"

	"github.com/nectar-run/nectar/internal/nettest"
)

// TestSilent connects to a silent server and checks that nothing arrives:
// the read ends by its deadline, with a timeout.
func TestSilent(t *testing.T) {
	c, err := net.Dial("tcp", nettest.Silent(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	n, err := c.Read(make([]byte, 1))
	if ne, ok := err.(net.Error); n != 0 || !ok || !ne.Timeout() {
		t.Fatalf("read %d bytes, %v; want nothing and a timeout", n, err)
	}
}
