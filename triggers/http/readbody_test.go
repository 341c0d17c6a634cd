package http

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

// TestReadBodyExactIsReadAll is the differential test of readBody's exact
// path (a declared length, read into a buffer of that size) against the
// general one (readAll into a pooled buffer): for bodies as net/http gives
// them (parsed from the bytes a client sends: Content-Length, chunked,
// short) and as in-process callers build them (a declared length shorter
// or longer than the body, a reader giving a byte at a time, a read
// error), each gives the same bytes and the same error, and closes the
// body exactly when the general path does.
//
// TestReadBodyDeclaredLargeSentSmall covers the memory a declared length
// may hold before its bytes arrive.
func TestReadBodyExactIsReadAll(t *testing.T) {
	const max = 100
	type body struct {
		name string
		mk   func() (io.ReadCloser, int64)
	}
	wire := func(raw string) func() (io.ReadCloser, int64) {
		return func() (io.ReadCloser, int64) {
			r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
			if err != nil {
				t.Fatal(err)
			}
			return r.Body, r.ContentLength
		}
	}
	post := func(hdr, b string) string { return "POST /x HTTP/1.1\r\nHost: h\r\n" + hdr + "\r\n\r\n" + b }
	mem := func(s string, size int64, wrap func(io.Reader) io.Reader) func() (io.ReadCloser, int64) {
		return func() (io.ReadCloser, int64) { return io.NopCloser(wrap(strings.NewReader(s))), size }
	}
	same := func(r io.Reader) io.Reader { return r }
	long := strings.Repeat("x", max)
	bodies := []body{
		{"content-length", wire(post("Content-Length: 7", `{"a":1}`))},
		{"content-length, one byte", wire(post("Content-Length: 1", "1"))},
		{"content-length at max", wire(post("Content-Length: "+strconv.Itoa(max), long))},
		{"content-length, more sent than declared", wire(post("Content-Length: 3", "abcdef"))},
		{"content-length, less sent than declared", wire(post("Content-Length: 9", "abc"))},
		{"content-length 0", wire(post("Content-Length: 0", ""))},
		{"chunked", wire(post("Transfer-Encoding: chunked", "3\r\nabc\r\n0\r\n\r\n"))},
		{"chunked, over max", wire(post("Transfer-Encoding: chunked", "65\r\n"+long+"x\r\n0\r\n\r\n"))},
		{"declared = body", mem("hello", 5, same)},
		{"declared < body", mem("hello world", 5, same)},
		{"declared < body, over max", mem(long+"yz", 5, same)},
		{"declared > body", mem("hel", 5, same)},
		{"declared unknown", mem("hello", -1, same)},
		{"a byte at a time", mem(`{"a":[1,2,3]}`, 13, iotest.OneByteReader)},
		{"data with its EOF", mem(`{"a":[1,2,3]}`, 13, iotest.DataErrReader)},
		{"a byte at a time, declared < body", mem(`{"a":[1,2,3]}`, 4, iotest.OneByteReader)},
		{"read error midway", mem("hello", 5, func(r io.Reader) io.Reader {
			return io.MultiReader(io.LimitReader(r, 2), iotest.ErrReader(errors.New("connection reset")))
		})},
		{"read error after the declared bytes", mem("hello", 5, func(r io.Reader) io.Reader {
			return io.MultiReader(r, iotest.ErrReader(errors.New("connection reset")))
		})},
		{"timeout", mem("hello", 5, iotest.TimeoutReader)},
	}
	for _, b := range bodies {
		t.Run(b.name, func(t *testing.T) {
			rc, size := b.mk()
			gc := &closeCount{ReadCloser: rc}
			want, wantErr := readAll(gc, make([]byte, 0, 16), max)
			if wantErr == nil {
				gc.Close() // what readBody did before its exact path
			}
			rc, size = b.mk()
			c := &closeCount{ReadCloser: rc}
			got, owned, err := readBody(c, size, func() []byte { return make([]byte, 0, 16) }, max)
			if string(got) != string(want) || errText(err) != errText(wantErr) || c.n != gc.n {
				t.Errorf("readBody = %q, %v, closed %d times; readAll gives %q, %v, closed %d times",
					got, err, c.n, want, wantErr, gc.n)
			}
			if owned && (size <= 0 || int64(cap(got)) != size) {
				t.Errorf("owned buffer of cap %d for a declared size of %d", cap(got), size)
			}
			if exact := size > 0 && int64(len(want)) <= size; wantErr == nil && owned != exact {
				t.Errorf("owned = %v, want %v (the exact path for a body within its declared size)", owned, exact)
			}
		})
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

type closeCount struct {
	io.ReadCloser
	n int
}

func (c *closeCount) Close() error { c.n++; return c.ReadCloser.Close() }

// TestReadBodyDeclaredLargeSentSmall: a client that declares a large body
// (within max_body) and sends a few bytes, as a slow or stalled sender
// does, holds no buffer of the declared size: only what the general path
// holds (bodies above exactMax grow with what arrives).
func TestReadBodyDeclaredLargeSentSmall(t *testing.T) {
	const max = 10 << 20
	for _, size := range []int64{exactMax + 1, 64 << 10, max} {
		raw := "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: " + strconv.FormatInt(size, 10) + "\r\n\r\n" + `{"a":1}`
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
		if err != nil {
			t.Fatal(err)
		}
		got, owned, err := readBody(r.Body, r.ContentLength, func() []byte { return make([]byte, 0, 4096) }, max)
		if err == nil || owned || cap(got) > 4096 {
			t.Errorf("declared %d, sent 7 bytes: error %v, owned %v, buffer of %d bytes; want the short body's error "+
				"from the pooled buffer of 4096 bytes", size, err, owned, cap(got))
		}
	}
}
