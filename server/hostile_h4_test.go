package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/server"
)

// keepPipeline echoes the message: its answer and its record are made of
// the strings decoded from the request's body.
const keepPipeline = `name: keep
trigger:
  http: {path: /keep, methods: [POST], max_body: 2MB, headers: {cache-control: no-store, x-fixed: fixed}}
steps:
  - set: "{{ message }}"
`

// sent is one request of the memory-sharing attack and what it must give.
type sent struct {
	ctype, body string
	want        string // the answer (the message as JSON)
	chunked     bool
	id          string // X-Execution-Id of its answer
}

// makeBody returns a body of n bytes of kind (json, form, text) whose
// content is unique to i, and the message it must give as JSON.
func makeBody(kind string, n, i int) (ctype, body, want string) {
	fill := func(m int) string {
		var b strings.Builder
		tag := strconv.Itoa(i) + "-"
		for b.Len() < m {
			b.WriteString(tag)
			b.WriteByte(byte('a' + (b.Len()+i)%26))
		}
		return b.String()[:m]
	}
	switch kind {
	case "json":
		if n < 8 {
			s := strings.Repeat(strconv.Itoa(i%9+1), n)
			return "application/json", s, s
		}
		s := fill(n - 8)
		return "application/json", `{"s":"` + s + `"}`, value.MustEncodeString(value.ObjectOf("s", s))
	case "form":
		if n < 3 {
			n = 3
		}
		s := fill(n - 2)
		return "application/x-www-form-urlencoded", "a=" + url.QueryEscape(s), value.MustEncodeString(value.ObjectOf("a", s))
	default:
		s := fill(n)
		return "text/plain", s, value.MustEncodeString(s)
	}
}

// TestBodySharedStringsNeverChange: the strings of the message share the
// request's body buffer (JSON text, form values, text bodies). Bodies of
// 1 byte to 1 MiB, declared (Content-Length) and chunked, sent by
// concurrent clients (keep-alive, so that a buffer could be reused by the
// next request of a connection) and pipelined on raw connections of a
// capped listener (lazy deadlines, bodyDeadline): every answer is its own
// message, and every record, read back after all the later requests, still
// holds what its request sent.
func TestBodySharedStringsNeverChange(t *testing.T) {
	e := start(t, map[string]string{"keep.yaml": keepPipeline}, nil)
	addr := serveLimited(t, e, server.Limits{MaxConnections: 64})
	sizes := []int{1, 2, 7, 100, 1000, 4095, 4096, 4097, 8192, 65535, 65536, 1 << 20}
	kinds := []string{"json", "form", "text"}

	var mu sync.Mutex
	var all []*sent
	keep := func(s *sent) { mu.Lock(); all = append(all, s); mu.Unlock() }

	// Concurrent keep-alive clients.
	client := &http.Client{Timeout: time.Minute}
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 36 {
				i := w*1000 + j
				n := sizes[(j+w)%len(sizes)]
				if n == 1<<20 && j%3 != 0 {
					n = 3000
				}
				ctype, body, want := makeBody(kinds[j%3], n, i)
				s := &sent{ctype: ctype, body: body, want: want, chunked: j%2 == 1}
				var rd io.Reader = strings.NewReader(body)
				if s.chunked {
					rd = io.MultiReader(rd) // unknown length: chunked
				}
				req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/keep", rd)
				req.Header.Set("Content-Type", ctype)
				resp, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || !jsonSame(string(b), want) {
					t.Errorf("request %d (%s, %d bytes, chunked %v): %d %.200s, want %.200s", i, ctype, len(body), s.chunked, resp.StatusCode, b, want)
				}
				if resp.Header.Get("X-Fixed") != "fixed" || resp.Header.Get("Cache-Control") != "no-store" {
					t.Errorf("request %d: fixed headers %q", i, resp.Header)
				}
				s.id = resp.Header.Get("X-Execution-Id")
				keep(s)
			}
		}()
	}
	// Pipelined requests on raw connections: all of a batch written before
	// any answer is read, so that the next request's bytes are already
	// buffered while a body is parsed.
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			br := bufio.NewReader(c)
			for batch := range 6 {
				var reqs []*sent
				var raw strings.Builder
				for k := range 8 {
					i := 10000 + w*1000 + batch*10 + k
					n := sizes[(batch*8+k)%(len(sizes)-1)] // no MiB here
					ctype, body, want := makeBody(kinds[k%3], n, i)
					s := &sent{ctype: ctype, body: body, want: want, chunked: k%2 == 0}
					fmt.Fprintf(&raw, "POST /keep HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\n", addr, ctype)
					if s.chunked {
						raw.WriteString("Transfer-Encoding: chunked\r\n\r\n")
						for rest := body; rest != ""; {
							m := min(len(rest), 1000)
							fmt.Fprintf(&raw, "%x\r\n%s\r\n", m, rest[:m])
							rest = rest[m:]
						}
						raw.WriteString("0\r\n\r\n")
					} else {
						fmt.Fprintf(&raw, "Content-Length: %d\r\n\r\n%s", len(body), body)
					}
					reqs = append(reqs, s)
				}
				if _, err := io.WriteString(c, raw.String()); err != nil {
					t.Error(err)
					return
				}
				c.SetReadDeadline(time.Now().Add(time.Minute))
				for _, s := range reqs {
					resp, err := http.ReadResponse(br, nil)
					if err != nil {
						t.Error(err)
						return
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 || !jsonSame(string(b), s.want) {
						t.Errorf("pipelined %s %d bytes chunked %v: %d %.200s, want %.200s", s.ctype, len(s.body), s.chunked, resp.StatusCode, b, s.want)
					}
					s.id = resp.Header.Get("X-Execution-Id")
					keep(s)
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	// Many later requests, then the records of all of them.
	for j := range 300 {
		ctype, body, _ := makeBody(kinds[j%3], sizes[j%(len(sizes)-1)], 90000+j)
		code, _, _ := e.do(t, http.MethodPost, "/keep", body, map[string]string{"Content-Type": ctype})
		if code != 200 {
			t.Fatalf("later request %d: %d", j, code)
		}
	}
	for _, s := range all {
		rec := e.record(t, http.Header{"X-Execution-Id": {s.id}})
		same := func(got []byte, truncated bool) bool {
			if truncated { // the record keeps the beginning of a large snapshot, as a string
				v, err := value.DecodeString(string(got))
				text, _ := v.(string)
				text = strings.TrimSuffix(text, history.TruncatedMark)
				return err == nil && len(text) > 1000 && strings.HasPrefix(s.want, text)
			}
			return jsonSame(string(got), s.want)
		}
		if !same(rec.Output, rec.OutputTruncated) {
			t.Errorf("record %s (%s, %d bytes): output %.200s, want %.200s", s.id, s.ctype, len(s.body), rec.Output, s.want)
		}
		if !same(rec.Input, rec.InputTruncated) {
			t.Errorf("record %s (%s, %d bytes): input %.200s, want %.200s", s.id, s.ctype, len(s.body), rec.Input, s.want)
		}
	}
}

func jsonSame(a, b string) bool {
	x, err1 := value.DecodeString(a)
	y, err2 := value.DecodeString(b)
	if err1 != nil || err2 != nil {
		return false
	}
	return value.MustEncodeString(x) == value.MustEncodeString(y)
}
