package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/server"
)

// TestHistoryMasksEverySpellingOfASensitiveKey sends one body whose secret
// values sit under every spelling of a sensitive name the masking
// normalises (case, _, -, spaces; a tab needs an escape, which takes the slow path), nested in objects and arrays, under
// a pipeline's sensitive_fields and the server's --sensitive-fields, with
// no escape in the text (the record's raw-text fast path): no secret may
// reach the stored record, and a key that only looks like a name (Cyrillic
// letters) stays in clear, as engine.SensitiveField says.
func TestHistoryMasksEverySpellingOfASensitiveKey(t *testing.T) {
	e := start(t, map[string]string{"keys.yaml": `
name: keys
trigger:
  http: {path: /keys}
sensitive_fields: ["pin code"]
steps:
  - set: "{{ message }}"
`}, func(o *server.Options) { o.Runtime = &engine.Runtime{SensitiveFields: []string{"member-no"}} })
	secrets := map[string]string{
		"api_key": "s3cret-api-under", "API-KEY": "s3cret-api-dash", "apiKey": "s3cret-api-camel",
		"API KEY": "s3cret-api-space", "x_Api_KEY": "s3cret-x-api", " pass word ": "s3cret-space-pass",
		"PassWord": "s3cret-pass-case", "client-secret": "s3cret-client", "Pin_Code": "s3cret-pin-local",
		"MemberNo": "s3cret-member-global",
	}
	body := value.NewObject(0)
	nested := value.NewObject(0)
	for k, v := range secrets {
		nested.Set(k, v)
	}
	long := strings.Repeat("x", 4096)
	body.Set("list", []any{[]any{nested}})
	body.Set("tоken", "cyrillic-o-in-clear") // о is U+043E: not a sensitive name
	body.Set(long, "a-long-key-in-clear")
	text := value.MustEncodeString(body)
	if strings.Contains(text, `\`) {
		t.Fatalf("the body must hold no escape (the raw-text path)")
	}
	code, hdr, answer := e.do(t, "POST", "/keys", text, map[string]string{"Content-Type": "application/json"})
	if code != 200 {
		t.Fatalf("%d %s", code, answer)
	}
	rec := e.record(t, hdr)
	stored := string(rec.Input) + string(rec.Output)
	for k, v := range secrets {
		if strings.Contains(stored, v) {
			t.Errorf("the value of %q is stored in clear: input %s output %s", k, rec.Input, rec.Output)
		}
	}
	for _, clear := range []string{"cyrillic-o-in-clear", "a-long-key-in-clear"} {
		if !strings.Contains(string(rec.Input), clear) {
			t.Errorf("%s was masked: %s", clear, rec.Input)
		}
	}
}

// TestShiftOutputSharedWithLaterSteps runs a JOLT shift (which writes the
// input's objects and arrays into its output by reference) and hands its
// output to a set at message.x, another transform that changes in place
// (default, modify, remove) and jq: the answer is what each step says, and
// the message as it was sent (kept in vars by the first step) is unchanged
// at the end, and the history's snapshots are what was sent and answered.
func TestShiftOutputSharedWithLaterSteps(t *testing.T) {
	e := start(t, map[string]string{"share.yaml": `
name: share
trigger:
  http: {path: /share}
steps:
  - set: "{{ message }}"
    to: vars.sent
  - transform:
      spec:
        - operation: shift
          spec:
            order: order
            lines: lines
            order2: copy
        - operation: default
          spec: {copy: {seen: true}}
  - set: {flag: true}
    to: message.order.audit
  - transform:
      spec:
        - operation: default
          spec: {order: {currency: EUR}, copy: {currency: USD}}
        - operation: modify-overwrite-beta
          spec: {lines: {"*": {sku: "=toUpper"}}}
        - operation: remove
          spec: {order: {id: ""}}
  - jq:
      query: '{order, copy, lines, first: .lines[0].sku}'
  - set: {result: "{{ message }}", sent: "{{ vars.sent }}"}
`}, nil)
	const sent = `{"order2":{"id":7,"tags":["a","b"]},"order":{"id":7,"tags":["a","b"]},"lines":[{"sku":"ab"},{"sku":"cd"}]}`
	code, hdr, answer := e.do(t, "POST", "/share", sent, map[string]string{"Content-Type": "application/json"})
	if code != 200 {
		t.Fatalf("%d %s", code, answer)
	}
	want := `{"result":{"copy":{"currency":"USD","id":7,"seen":true,"tags":["a","b"]},"first":"AB","lines":[{"sku":"AB"},{"sku":"CD"}],"order":{"audit":{"flag":true},"currency":"EUR","tags":["a","b"]}},"sent":` + sent + `}`
	if !jsonEqual(t, answer, want) {
		t.Errorf("answer %s\nwant   %s", answer, want)
	}
	rec := e.record(t, hdr)
	if !jsonEqual(t, string(rec.Input), sent) {
		t.Errorf("input snapshot %s\nsent           %s", rec.Input, sent)
	}
	if !jsonEqual(t, string(rec.Output), answer) {
		t.Errorf("output snapshot %s\nanswered        %s", rec.Output, answer)
	}
	// A second request gets the same answer: nothing of the first run's
	// output was changed in place and reused.
	if _, _, again := e.do(t, "POST", "/share", sent, map[string]string{"Content-Type": "application/json"}); again != answer {
		t.Errorf("second answer %s\nfirst         %s", again, answer)
	}
}

func jsonEqual(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal([]byte(a), &x); err != nil {
		t.Fatalf("%v: %s", err, a)
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	xs, _ := json.Marshal(x)
	ys, _ := json.Marshal(y)
	return string(xs) == string(ys)
}

// TestConcurrentDecodesKeepTheirValues sends, from 8 clients at once,
// bodies that use every part of the pooled decoder (escapes, deep nesting,
// an array past the pooled stacks' bound, objects of 1 to 20 fields)
// between malformed ones that fail half way: each answer echoes its own
// body, and each record, written later by the history's goroutine from the
// decoded value (the escapes keep the raw-text path off), still holds it.
func TestConcurrentDecodesKeepTheirValues(t *testing.T) {
	e := start(t, map[string]string{"echo.yaml": "name: echo\ntrigger:\n  http: {path: /echo}\nsteps:\n  - set: \"{{ message }}\"\n"},
		func(o *server.Options) { o.History.SnapshotBytes = 1 << 20 })
	body := func(c, i int) string {
		var b strings.Builder
		fmt.Fprintf(&b, `{"c":%d,"i":%d,"s":"caf\u00e9 \"%d-%d\"\n","deep":`, c, i, c, i)
		b.WriteString(strings.Repeat(`[`, 60) + fmt.Sprintf(`"%d"`, i) + strings.Repeat(`]`, 60))
		b.WriteString(`,"big":[`)
		for j := range 5000 {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"%d.%d.%d"`, c, i, j)
		}
		b.WriteString(`],"obj":{`)
		for j := range i%20 + 1 {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"k%d":"v%d-%d"`, j, c, i)
		}
		b.WriteString(`}}`)
		return b.String()
	}
	type sent struct{ body, id string }
	var (
		mu   sync.Mutex
		all  []sent
		wg   sync.WaitGroup
		json = map[string]string{"Content-Type": "application/json"}
	)
	for c := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 4 {
				b := body(c, i)
				if code, _, answer := e.do(t, "POST", "/echo", b[:len(b)/2], json); code != 400 {
					t.Errorf("a cut body: %d %s", code, answer)
				}
				code, hdr, answer := e.do(t, "POST", "/echo", b, json)
				if code != 200 || !jsonEqual(t, answer, b) {
					t.Errorf("client %d request %d: %d, answer differs from the body", c, i, code)
					continue
				}
				mu.Lock()
				all = append(all, sent{b, hdr.Get("X-Execution-Id")})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, s := range all {
		rec := e.record(t, http.Header{"X-Execution-Id": {s.id}})
		if !jsonEqual(t, string(rec.Input), s.body) {
			t.Errorf("record %s: input differs from the body sent", s.id)
		}
	}
}

// TestTimeoutReachesARestCallInFlight runs a pipeline whose rest step waits
// on an upstream that never answers: the trigger's timeout (the execution
// context, armed only when something waits on it) must end the call, cancel
// the upstream request, and answer 504.
func TestTimeoutReachesARestCallInFlight(t *testing.T) {
	cancelled := make(chan struct{}, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
			cancelled <- struct{}{}
		case <-time.After(10 * time.Second): // a bound on a hang, not a measure
		}
	}))
	defer up.Close()
	e := start(t, map[string]string{"slow.yaml": `
name: slow
trigger:
  http: {path: /slow, timeout: 300ms}
steps:
  - rest: {method: GET, url: "` + up.URL + `/never"}
`}, nil)
	code, _, answer := e.do(t, "POST", "/slow", `{}`, map[string]string{"Content-Type": "application/json"})
	if code != http.StatusGatewayTimeout || !strings.Contains(answer, "timed out") {
		t.Errorf("%d %s; want 504 timed out", code, answer)
	}
	select {
	case <-cancelled:
	case <-time.After(10 * time.Second): // a bound on a hang, not a measure
		t.Fatal("the upstream request was never cancelled")
	}
}

// TestSlowHeadersCutOnAKeptAliveConnection serves one request on a
// connection, then trickles the headers of a second one, a line at a time,
// never ending them: the header deadline (set between requests, reaching
// the socket only when a read starts) must close the connection, as it
// closes a new one.
func TestSlowHeadersCutOnAKeptAliveConnection(t *testing.T) {
	e := start(t, map[string]string{"ok.yaml": "name: ok\ntrigger:\n  http: {path: /ok, methods: [GET]}\nsteps:\n  - set: {ok: true}\n"}, nil)
	addr := serveLimited(t, e, server.Limits{MaxConnections: 10, ReadHeaderTimeout: 300 * time.Millisecond})
	for _, first := range []bool{false, true} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if first {
			if _, err := io.WriteString(c, "GET /ok HTTP/1.1\r\nHost: nectar.test\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("first request: %v %v", resp, err)
			}
			resp.Body.Close()
		}
		closed := make(chan error, 1)
		go func() {
			_, err := io.Copy(io.Discard, c) // returns when the server closes
			closed <- err
		}()
		_, _ = io.WriteString(c, "GET /ok HTTP/1.1\r\nHost: nectar.test\r\n")
		bound := time.After(10 * time.Second) // a bound on a hang, not a measure
	trickle:
		for {
			select {
			case <-closed:
				break trickle
			case <-bound:
				t.Fatalf("after a first request %v: the server kept a connection sending headers for ever", first)
			case <-time.After(50 * time.Millisecond):
				_, _ = io.WriteString(c, "X-Slow: 1\r\n")
			}
		}
	}
}

// TestClientThatNeverReadsTheAnswer sends a request whose answer (16 MB)
// is far more than the socket buffers hold, and never reads it: the write
// deadline (the trigger's timeout plus the write grace, reaching the socket
// only when a write starts) must end the blocked write, so that the
// execution finishes and is recorded.
//
// The trigger's timeout also bounds the arrival of the body, and the run:
// it is far beyond what both take on a loaded machine (a 1 MB body, copied
// 16 times into the answer), so that the execution is the one under test,
// answered 200 (a 408 for a body still arriving leaves no record, and a 504
// for a run cut short has nothing big to write).
func TestClientThatNeverReadsTheAnswer(t *testing.T) {
	var fields []string
	for i := range 16 {
		fields = append(fields, "f"+strconv.Itoa(i)+`: "{{ message.s }}"`)
	}
	e := start(t, map[string]string{"big.yaml": `
name: big
trigger:
  http: {path: /big, timeout: 2s, max_body: 8MB}
steps:
  - set: {` + strings.Join(fields, ", ") + `}
`}, nil)
	addr := serveLimited(t, e, server.Limits{MaxConnections: 10, WriteGrace: 200 * time.Millisecond})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	body := `{"s":"` + strings.Repeat("x", 1<<20) + `"}`
	req := "POST /big HTTP/1.1\r\nHost: nectar.test\r\nContent-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	// The answer is never read. The execution ends when its write is cut.
	ctx := context.Background()
	for bound := time.Now().Add(10 * time.Second); ; { // a bound on a hang, not a measure
		if err := e.srv.History().Flush(ctx); err != nil {
			t.Fatal(err)
		}
		recs, err := history.List(ctx, e.st, history.Filter{Pipeline: "big"})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) > 0 {
			if r := recs[0]; r.Code != http.StatusOK {
				t.Fatalf("the execution answered %d (%s %s), want 200: not the big answer under test", r.Code, r.Status, r.Error)
			}
			return
		}
		if time.Now().After(bound) {
			t.Fatal("the execution whose answer is never read never ended")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
