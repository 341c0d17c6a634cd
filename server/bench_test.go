package server_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/internal/benchcpu"
	"github.com/nectar-run/nectar/internal/servertest"
	"github.com/nectar-run/nectar/server"
)

// benchTransform is the pipeline of ../shared/limits/ratio.sh transform:
// an assert and a JOLT shift of five renames.
const benchTransform = `name: bench-transform
trigger:
  http:
    path: /transform
    methods: [POST]
steps:
  - assert:
      that: message.id != nil
      status: 400
      error: id is required
  - transform:
      spec:
        - operation: shift
          spec:
            id: customerId
            first_name: firstName
            last_name: lastName
            email: emailAddress
            phone: phoneNumber
            "*": "&"
`

// benchCustomer is the ~1 KB record ratio.sh sends (customer.json).
const benchCustomer = `{"id":"c-000184223","first_name":"Margarethe","last_name":"Villanueva-Okonkwo","email":"m.villanueva.okonkwo@example.com","phone":"+44 20 7946 0958","created_at":"2023-04-18T09:27:41Z","status":"active","tier":"gold","marketing_opt_in":true,"lifetime_value":18422.75,"credit_limit":25000,"tags":["wholesale","priority","eu-vat","net-30"],"address":{"line1":"Flat 4, 221 Kingsland Road","line2":"Haggerston","city":"London","region":"Greater London","postal_code":"E2 8AN","country":"GB"},"billing":{"currency":"GBP","vat_number":"GB123456789","payment_terms_days":30,"iban_last4":"4821"},"preferences":{"language":"en-GB","timezone":"Europe/London","channels":["email","sms"],"newsletter":false},"orders":[{"order_id":"o-99120","total":412.5,"items":3,"placed_at":"2024-11-02T14:03:11Z"},{"order_id":"o-99533","total":87.2,"items":1,"placed_at":"2024-12-19T08:45:00Z"},{"order_id":"o-100871","total":1290,"items":12,"placed_at":"2025-01-07T17:22:36Z"}],"notes":"Prefers delivery before noon; loading bay at rear entrance."}`

// BenchmarkTransformRequest serves ratio.sh's transform request through the
// server's handler (routing, the http trigger, the pipeline, the answer and
// the history record, on a bbolt store), without the network.
func BenchmarkTransformRequest(b *testing.B) {
	e := servertest.Start(b, map[string]string{"bench-transform.yaml": benchTransform}, nil)
	serveBench(b, e.Srv.Handler(), "/transform", benchCustomer)
}

// serveBench answers body on path through h, b.N times.
func serveBench(b *testing.B, h http.Handler, path, body string) {
	b.ReportAllocs()
	defer benchcpu.Start(b)()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

func BenchmarkTransformRequestNoHistory(b *testing.B) {
	e := servertest.Start(b, map[string]string{"bench-transform.yaml": benchTransform}, func(o *server.Options) { o.HistoryOff = true })
	serveBench(b, e.Srv.Handler(), "/transform", benchCustomer)
}

// BenchmarkTransformRequestWire is BenchmarkTransformRequest over a real
// loopback connection kept alive, served as nectar serve serves (the
// server's http.Server on its limited listener): what wrk measures,
// net/http's reading and writing included. The client writes the bytes
// wrk writes and reads each answer with http.ReadResponse.
func BenchmarkTransformRequestWire(b *testing.B) {
	wireBench(b, server.Limits{})
}

// BenchmarkTransformRequestWireLimited is BenchmarkTransformRequestWire
// with a connection cap, as nectar serve always has one: the connections
// are the limited listener's (lazy deadlines, the probe reserve).
func BenchmarkTransformRequestWireLimited(b *testing.B) {
	wireBench(b, server.Limits{MaxConnections: 1024})
}

func wireBench(b *testing.B, lim server.Limits) {
	e := servertest.Start(b, map[string]string{"bench-transform.yaml": benchTransform}, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := e.Srv.HTTPServer(lim)
	go hs.Serve(server.LimitListener(ln, lim))
	b.Cleanup(func() { hs.Close() })
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := []byte("POST /transform HTTP/1.1\r\nHost: " + ln.Addr().String() + "\r\nContent-Type: application/json\r\nContent-Length: " +
		strconv.Itoa(len(benchCustomer)) + "\r\n\r\n" + benchCustomer)
	br := bufio.NewReader(c)
	b.ReportAllocs()
	defer benchcpu.Start(b)()
	for b.Loop() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			b.Fatal(err)
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d, %v", resp.StatusCode, err)
		}
	}
}
