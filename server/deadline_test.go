package server_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/nectar-run/nectar/server"
)

// readUnder returns a limited connection and its client after one read
// of c under the read deadline d1, after from now: the deadline the tests
// then move; buf is the read's buffer.
func readUnder(t *testing.T, after time.Duration) (c, client net.Conn, buf []byte, d1 time.Time) {
	t.Helper()
	c, client = server.LimitedPair(t)
	buf = make([]byte, 8)
	d1 = time.Now().Add(after)
	c.SetReadDeadline(d1)
	client.Write([]byte("a"))
	if _, err := c.Read(buf); err != nil {
		t.Fatal(err)
	}
	return c, client, buf, d1
}

// TestConnDeadlineMovedLater: a deadline moved a little later than the one
// a read ran under (as net/http moves it on every request of a keep-alive
// connection) bounds the next read exactly: the read times out not before
// it, and data arriving after the earlier deadline but before the later
// one is read. The same for a lifted deadline, and for writes. (The
// connection may keep the earlier deadline and resume an I/O it ends:
// that must not show.)
func TestConnDeadlineMovedLater(t *testing.T) {
	t.Run("read times out at the later deadline", func(t *testing.T) {
		t.Parallel()
		c, _, buf, d1 := readUnder(t, 100*time.Millisecond) // a read runs under d1
		d2 := d1.Add(500 * time.Millisecond)
		c.SetReadDeadline(d2)
		_, err := c.Read(buf)
		if at := time.Now(); !errors.Is(err, os.ErrDeadlineExceeded) || at.Before(d2) {
			t.Fatalf("the read ended %v before its deadline with %v, want a timeout at the deadline", d2.Sub(at), err)
		}
	})
	t.Run("read gets data arriving before the later deadline", func(t *testing.T) {
		t.Parallel()
		c, client, buf, d1 := readUnder(t, 50*time.Millisecond) // a read runs under d1
		c.SetReadDeadline(d1.Add(time.Second))
		got := make(chan error, 1)
		go func() {
			n, err := c.Read(buf)
			if err == nil && string(buf[:n]) != "late" {
				err = errors.New("read " + string(buf[:n]))
			}
			got <- err
		}()
		time.Sleep(time.Until(d1) + 20*time.Millisecond) // past the earlier deadline
		client.Write([]byte("late"))
		if err := <-got; err != nil {
			t.Fatalf("a read under a deadline moved later, data sent after the earlier one: %v", err)
		}
	})
	t.Run("read gets data after a lifted deadline", func(t *testing.T) {
		t.Parallel()
		c, client, buf, d1 := readUnder(t, 50*time.Millisecond) // a read runs under d1
		c.SetReadDeadline(time.Time{})                          // net/http, before its background read
		got := make(chan error, 1)
		go func() {
			n, err := c.Read(buf)
			if err == nil && string(buf[:n]) != "late" {
				err = errors.New("read " + string(buf[:n]))
			}
			got <- err
		}()
		time.Sleep(time.Until(d1) + 20*time.Millisecond)
		client.Write([]byte("late"))
		if err := <-got; err != nil {
			t.Fatalf("a read after the deadline was lifted, data sent after the old deadline: %v", err)
		}
	})
	// A write that the client does not read blocks once the socket's
	// buffers are full.
	big := bytes.Repeat([]byte("x"), 64<<20)
	t.Run("write times out at the later deadline", func(t *testing.T) {
		t.Parallel()
		c, _ := server.LimitedPair(t)
		d1 := time.Now().Add(100 * time.Millisecond)
		c.SetWriteDeadline(d1)
		if _, err := c.Write([]byte("a")); err != nil { // runs under d1
			t.Fatal(err)
		}
		d2 := d1.Add(500 * time.Millisecond)
		c.SetWriteDeadline(d2)
		// Written until the socket's buffers are full (however large they
		// are) and the write waits.
		var err error
		for sent := 0; err == nil && sent < 1<<30; sent += len(big) {
			_, err = c.Write(big)
		}
		if at := time.Now(); !errors.Is(err, os.ErrDeadlineExceeded) || at.Before(d2) {
			t.Fatalf("the write ended %v before its deadline with %v; want a timeout at the deadline", d2.Sub(at), err)
		}
	})
	t.Run("write completes after a lifted deadline", func(t *testing.T) {
		t.Parallel()
		c, client := server.LimitedPair(t)
		d1 := time.Now().Add(50 * time.Millisecond)
		c.SetWriteDeadline(d1)
		if _, err := c.Write([]byte("a")); err != nil {
			t.Fatal(err)
		}
		c.SetWriteDeadline(time.Time{})
		type result struct {
			n   int
			err error
		}
		got := make(chan result, 1)
		go func() {
			n, err := c.Write(big)
			got <- result{n, err}
		}()
		time.Sleep(time.Until(d1) + 20*time.Millisecond) // the write is blocked past the old deadline
		read := make(chan int64, 1)
		go func() {
			n, _ := io.CopyN(io.Discard, client, int64(1+len(big)))
			read <- n
		}()
		if r := <-got; r.err != nil || r.n != len(big) {
			t.Fatalf("a write after the deadline was lifted: %d of %d bytes, %v", r.n, len(big), r.err)
		}
		if n := <-read; n != int64(1+len(big)) {
			t.Fatalf("the client read %d bytes, want %d", n, 1+len(big))
		}
	})
}

// plainPair returns a connection accepted by a plain TCP listener and its
// client end: what a limited connection must behave as.
func plainPair(t *testing.T) (c, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	c, err = ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, client
}

// TestConnPastDeadline: a read or write that starts under a deadline long
// past (net/http's abort of its background read) fails at once on a
// limited connection as on a plain one: n 0, a *net.OpError of the same
// operation and network, from the connection's own addresses, with
// os.ErrDeadlineExceeded, a timeout; nothing is read or written, and once
// the deadline is lifted the data is read (written) whole. A read in
// progress is ended by such a deadline; a closed connection says it is
// closed, not timed out. (The limited connection answers the first ones
// without the deadline reaching the socket.)
func TestConnPastDeadline(t *testing.T) {
	past := time.Unix(1, 0)
	type pair struct {
		name      string
		c, client net.Conn
	}
	pairs := func(t *testing.T) []pair {
		pc, pcl := plainPair(t)
		lc, lcl := server.LimitedPair(t)
		return []pair{{"plain", pc, pcl}, {"limited", lc, lcl}}
	}
	same := func(t *testing.T, what string, c net.Conn, n int, err error) *net.OpError {
		t.Helper()
		var oe *net.OpError
		if n != 0 || !errors.As(err, &oe) || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("%s: %d, %v; want 0 and a deadline's *net.OpError", what, n, err)
		}
		if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
			t.Fatalf("%s: %v is not a net.Error timeout", what, err)
		}
		if oe.Source.String() != c.LocalAddr().String() || oe.Addr.String() != c.RemoteAddr().String() {
			t.Fatalf("%s: %v: addresses %v, %v; the connection's are %v, %v", what, err, oe.Source, oe.Addr, c.LocalAddr(), c.RemoteAddr())
		}
		return oe
	}
	t.Run("read", func(t *testing.T) {
		t.Parallel()
		var got []*net.OpError
		for _, p := range pairs(t) {
			p.client.Write([]byte("data"))
			p.c.SetReadDeadline(past)
			buf := make([]byte, 8)
			for range 2 { // and again: still expired
				n, err := p.c.Read(buf)
				got = append(got, same(t, p.name+" read", p.c, n, err))
			}
			// A read of nothing returns at once, without an error.
			if n, err := p.c.Read(buf[:0]); n != 0 || err != nil {
				t.Fatalf("%s: a read of nothing under a past deadline: %d, %v; want 0, nil", p.name, n, err)
			}
			p.c.SetReadDeadline(time.Time{})
			n, err := io.ReadFull(p.c, buf[:4])
			if err != nil || string(buf[:n]) != "data" {
				t.Fatalf("%s: after the deadline was lifted: %q, %v; want the data sent before", p.name, buf[:n], err)
			}
		}
		for _, oe := range got[1:] {
			if oe.Op != got[0].Op || oe.Net != got[0].Net || oe.Err != got[0].Err {
				t.Errorf("read errors differ: %#v and %#v", oe, got[0])
			}
		}
	})
	t.Run("write", func(t *testing.T) {
		t.Parallel()
		var got []*net.OpError
		for _, p := range pairs(t) {
			p.c.SetWriteDeadline(past)
			n, err := p.c.Write([]byte("lost"))
			got = append(got, same(t, p.name+" write", p.c, n, err))
			p.c.SetWriteDeadline(time.Time{})
			if _, err := p.c.Write([]byte("sent")); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 4)
			p.client.SetReadDeadline(time.Now().Add(5 * time.Second))
			if n, err := io.ReadFull(p.client, buf); err != nil || string(buf[:n]) != "sent" {
				t.Fatalf("%s: the client read %q, %v; want only what was written after the deadline was lifted", p.name, buf[:n], err)
			}
		}
		if got[0].Op != got[1].Op || got[0].Net != got[1].Net || got[0].Err != got[1].Err {
			t.Errorf("write errors differ: %#v and %#v", got[0], got[1])
		}
	})
	t.Run("reads at once", func(t *testing.T) {
		// A net.Conn may be read from several goroutines at once (go
		// test -race checks the errors the limited connection keeps).
		t.Parallel()
		for _, p := range pairs(t) {
			p.c.SetDeadline(past)
			errs := make(chan error, 8)
			for range cap(errs) / 2 {
				go func() { _, err := p.c.Read(make([]byte, 8)); errs <- err }()
				go func() { _, err := p.c.Write([]byte("x")); errs <- err }()
			}
			for range cap(errs) {
				if err := <-errs; !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("%s: %v, want a timeout", p.name, err)
				}
			}
		}
	})
	t.Run("read in progress", func(t *testing.T) {
		t.Parallel()
		for _, p := range pairs(t) {
			done := make(chan error, 1)
			go func() {
				_, err := p.c.Read(make([]byte, 8))
				done <- err
			}()
			time.Sleep(20 * time.Millisecond) // the read waits (or is about to)
			p.c.SetReadDeadline(past)
			if err := <-done; !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("%s: a read in progress under a deadline set long past ended with %v", p.name, err)
			}
		}
	})
	t.Run("closed", func(t *testing.T) {
		t.Parallel()
		for _, p := range pairs(t) {
			p.c.SetDeadline(past)
			p.c.Close()
			if _, err := p.c.Read(make([]byte, 8)); !errors.Is(err, net.ErrClosed) {
				t.Errorf("%s: a read on a closed connection: %v, want net.ErrClosed", p.name, err)
			}
			if _, err := p.c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
				t.Errorf("%s: a write on a closed connection: %v, want net.ErrClosed", p.name, err)
			}
		}
	})
}
