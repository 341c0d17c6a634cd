// Package httpjson writes the JSON answers nectar serve gives itself: the
// standard error object {timestamp, error, code}, a value, a pipeline's
// response. The server (management API, routing) and the http trigger share
// it, so that every error a client gets from Nectar has one shape. Its
// NewRequest builds the JSON requests of the management API's clients.
package httpjson

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nectar-run/nectar/engine/value"
)

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

const maxPooled = 64 << 10

// GetBuf returns an empty buffer from a pool; PutBuf gives it back.
func GetBuf() *[]byte { return bufPool.Get().(*[]byte) }

// PutBuf returns b to the pool (unless it grew large).
func PutBuf(b *[]byte) {
	if cap(*b) <= maxPooled {
		*b = (*b)[:0]
		bufPool.Put(b)
	}
}

// jsonType is the Content-Type of JSON answers, one slice shared by all:
// net/http only reads a header's values, and Add or Set replace the slice.
var jsonType = []string{"application/json"}

// maxCachedLength is the largest body length whose Content-Length value
// contentLength keeps.
const maxCachedLength = 4096

// contentLengths are the Content-Length values of the body lengths
// answered so far, up to maxCachedLength, each one slice shared by all
// answers of that length, as jsonType is (at most some 200 KB in all).
var contentLengths [maxCachedLength + 1]atomic.Pointer[[]string]

// contentLength returns the Content-Length header's value for a body of
// n bytes: for most answers a slice made once (two allocations, and
// strconv's, each answer before).
func contentLength(n int) []string {
	if n < 0 || n > maxCachedLength {
		return []string{strconv.Itoa(n)}
	}
	if p := contentLengths[n].Load(); p != nil {
		return *p
	}
	v := []string{strconv.Itoa(n)} // capacity 1: an Add copies it
	contentLengths[n].Store(&v)
	return v
}

// JSON writes body, a JSON document, with code. The headers are set by
// their canonical names, without Header.Set's checking and allocation.
func JSON(w http.ResponseWriter, code int, body []byte) {
	h := w.Header()
	h["Content-Type"] = jsonType
	h["Content-Length"] = contentLength(len(body))
	setDate(h, code)
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// Response writes a response as a pipeline shaped it: its headers, its
// body (any type), with code.
func Response(w http.ResponseWriter, code int, hd http.Header, body []byte) {
	h := w.Header()
	for k, vs := range hd {
		h[k] = vs
	}
	h["Content-Length"] = contentLength(len(body)) // canonical already: no Header.Set check
	setDate(h, code)
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// setDate sets the Date header net/http would add (RFC 9110 §6.6.1: the
// time now, in http.TimeFormat), unless h has one: the text is formatted
// once a second (see date) instead of by net/http for each answer. A Date
// the handler or the pipeline set is kept, as net/http keeps it.
//
// An informational code (1xx but 101) gets none: net/http writes such an
// answer at once, with the handler's headers and no Date, then the final
// answer (at the first Write) with a Date of its own.
func setDate(h http.Header, code int) {
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		return
	}
	if _, ok := h["Date"]; !ok {
		h["Date"] = date(time.Now())
	}
}

// dateText is the Date header's value for one second of the wall clock.
// The slice is shared by every answer of that second, as jsonType is:
// net/http only reads it, and Set or Add replace it.
type dateText struct {
	sec int64
	v   []string
}

var lastDate atomic.Pointer[dateText]

// date returns the Date header's value for now, formatted again only
// when the second changed.
func date(now time.Time) []string {
	sec := now.Unix()
	if d := lastDate.Load(); d != nil && d.sec == sec {
		return d.v
	}
	d := &dateText{sec: sec, v: []string{now.UTC().Format(http.TimeFormat)}}
	lastDate.Store(d)
	return d.v
}

// Value writes v encoded by encoding/json with code.
func Value(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		Error(w, http.StatusInternalServerError, err.Error())
		return
	}
	JSON(w, code, b)
}

// Error writes the standard error object {timestamp, error, code}.
func Error(w http.ResponseWriter, code int, msg string) {
	b := GetBuf()
	*b = append((*b)[:0], `{"timestamp":`...)
	*b = strconv.AppendInt(*b, time.Now().UnixMilli(), 10)
	*b = append(*b, `,"error":`...)
	*b = value.AppendString(*b, msg)
	*b = append(*b, `,"code":`...)
	*b = strconv.AppendInt(*b, int64(code), 10)
	*b = append(*b, '}')
	JSON(w, code, *b)
	PutBuf(b)
}

// Status returns code when it is an HTTP status, else 500.
func Status(code int) int {
	if code < 100 || code > 599 {
		return http.StatusInternalServerError
	}
	return code
}

// NewRequest returns a request to url whose body, when body is not nil, is
// body in JSON with a JSON Content-Type (the management API's clients:
// nectar's commands and bench/soak).
func NewRequest(ctx context.Context, method, url string, body any) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}
