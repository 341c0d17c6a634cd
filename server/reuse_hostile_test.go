package server_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/internal/servertest"
	"github.com/nectar-run/nectar/server"
)

// Hostile tests of the objects reused on the request path: the traces the
// history gives back (engine.Trace.Reset, history.Execution.PutTrace) and
// the respond step's pooled body buffer (triggers.Response.SetBuf,
// SendBuf, Release). Every request carries a tag T<w>_<i>Z, and every
// answer and record is checked to hold its own tag only, exactly.

// hrTagRe finds request tags in any text (answers, records).
var hrTagRe = regexp.MustCompile(`T\d+_\d+Z`)

func hrTag(w, i int) string { return fmt.Sprintf("T%d_%dZ", w, i) }

// hrForeign returns the first tag in text that is not tag, or "".
func hrForeign(text, tag string) string {
	return hrTagRe.FindString(strings.ReplaceAll(text, tag, "."))
}

// hrPad is n bytes made of tag's own text, so that bytes of another
// request's buffer in an answer show as a foreign tag or a wrong byte.
func hrPad(tag string, n int) string {
	if n == 0 {
		return ""
	}
	unit := tag + "."
	return strings.Repeat(unit, n/len(unit)+1)[:n]
}

// hrAdmin reads a record through GET /api/executions/{id}.
func hrAdmin(c *http.Client, base, id string) (*history.Record, string, error) {
	req, _ := http.NewRequest("GET", base+"/api/executions/"+id, nil)
	req.Header.Set("Authorization", "Bearer admin-key")
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, string(b), fmt.Errorf("GET /api/executions/%s: %d %s", id, resp.StatusCode, b)
	}
	var rec history.Record
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, string(b), err
	}
	return &rec, string(b), nil
}

// hrMix logs, loops over message.items three at a time (per element: a
// log, and a try whose throw fails naming the element and whose catch
// sets the error's text), sets its answer and logs again: 4 + 4n step
// records and 2 + n log lines, from forked branches, each naming its
// element.
const hrMix = `name: hr-mix
trigger:
  http: {path: /mix, methods: [POST]}
steps:
  - log: {message: "begin {{ message.tag }}"}
  - for-each:
      items: message.items
      parallel: 3
      steps:
        - log: {message: "item {{ message }}"}
        - try:
            steps:
              - throw: {status: 409, error: "bad {{ message }}"}
            catch:
              - set: {caught: "{{ message.error }}"}
    to: vars.sum
  - set: {tag: "{{ message.tag }}", n: "{{ len(message.items) }}"}
  - log: {message: "end {{ message.tag }}", fields: {t: "{{ message.tag }}"}}
`

// hrItems are the n items of a request tagged tag: each holds the tag.
func hrItems(tag string, n int) []string {
	items := make([]string, n)
	for k := range items {
		items[k] = fmt.Sprintf("%s-e%d", tag, k)
	}
	return items
}

// hrPostMix posts to hr-mix's /mix the request tagged tag over n items and
// checks that the answer is exactly its own; it returns the execution id.
func hrPostMix(c *http.Client, base, tag string, n int) (string, error) {
	body, _ := json.Marshal(map[string]any{"tag": tag, "items": hrItems(tag, n)})
	resp, err := c.Post(base+"/mix", "application/json", strings.NewReader(string(body)))
	if err != nil {
		return "", err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := fmt.Sprintf(`{"tag":%q,"n":%d}`, tag, n)
	if err != nil || resp.StatusCode != 200 || string(b) != want {
		return "", fmt.Errorf("%s: %d %v %s, want 200 %s", tag, resp.StatusCode, err, b, want)
	}
	return resp.Header.Get("X-Execution-Id"), nil
}

// hrCheckMix checks that rec is exactly the record of the hr-mix
// execution tagged tag over n items: its steps, their inputs, outputs,
// errors and codes (code: what the history keeps of a failed step's code,
// 0 without exchanges), its log lines and its output, and no other
// request's tag anywhere in it.
func hrCheckMix(rec *history.Record, tag string, n, code int) error {
	want := fmt.Sprintf(`{"tag":%q,"n":%d}`, tag, n)
	if string(rec.Output) != want {
		return fmt.Errorf("output %s, want %s", rec.Output, want)
	}
	if rec.Code != http.StatusOK || rec.Status != history.StatusOK {
		return fmt.Errorf("code %d status %s, want 200 ok", rec.Code, rec.Status)
	}
	if rec.StepsTruncated {
		return fmt.Errorf("steps truncated (the test's budget is too small)")
	}
	if len(rec.Steps) != 4+4*n {
		return fmt.Errorf("%d steps, want %d", len(rec.Steps), 4+4*n)
	}
	if len(rec.Logs) != 2+n {
		return fmt.Errorf("%d log lines, want %d", len(rec.Logs), 2+n)
	}
	count := map[string]int{}
	seen := map[string]bool{} // connector + element
	for i, st := range rec.Steps {
		count[st.Connector]++
		if st.Input == "" {
			return fmt.Errorf("step %d (%s %s) kept no input", i, st.Connector, st.Path)
		}
		if f := hrForeign(string(st.Input)+string(st.Output)+st.Error, tag); f != "" {
			return fmt.Errorf("step %d (%s %s) holds %s: input %.200s output %.200s error %q", i, st.Connector, st.Path, f, st.Input, st.Output, st.Error)
		}
		if !strings.Contains(st.Path, "for-each") {
			if st.Outcome != "ok" || st.Error != "" {
				return fmt.Errorf("step %d %+v, want ok", i, st)
			}
			continue
		}
		var el string
		switch st.Connector {
		case "log", "try", "throw":
			if err := json.Unmarshal([]byte(st.Input), &el); err != nil {
				return fmt.Errorf("%s step's input %s is not its element: %v", st.Connector, st.Input, err)
			}
		case "set": // catch's: the error object
			var eo struct {
				Error string `json:"error"`
				Code  int    `json:"code"`
			}
			if err := json.Unmarshal([]byte(st.Input), &eo); err != nil || eo.Code != 409 || !strings.HasPrefix(eo.Error, "bad ") {
				return fmt.Errorf("catch's input %s is not the throw's error", st.Input)
			}
			el = strings.TrimPrefix(eo.Error, "bad ")
			if wantOut := fmt.Sprintf(`{"caught":%q}`, eo.Error); string(st.Output) != wantOut {
				return fmt.Errorf("catch's output %s, want %s", st.Output, wantOut)
			}
		}
		if st.Connector == "throw" {
			if st.Outcome != "error" || st.Error != "bad "+el || st.Code != code {
				return fmt.Errorf("throw step %+v, want error %q, code %d", st, "bad "+el, code)
			}
		} else if st.Outcome != "ok" || st.Error != "" {
			return fmt.Errorf("step %d %+v, want ok", i, st)
		}
		k := st.Connector + " " + el
		if seen[k] {
			return fmt.Errorf("%s twice", k)
		}
		seen[k] = true
	}
	if count["log"] != 2+n || count["try"] != n || count["throw"] != n || count["for-each"] != 1 || count["set"] != 1+n {
		return fmt.Errorf("step connectors %v, want log %d, try %d, throw %d, set %d, for-each 1", count, 2+n, n, n, 1+n)
	}
	msgs := map[string]bool{}
	for _, l := range rec.Logs {
		if msgs[l.Message] {
			return fmt.Errorf("log line %q twice", l.Message)
		}
		msgs[l.Message] = true
		if l.Index < 0 || l.Index >= len(rec.Steps) || rec.Steps[l.Index].Connector != "log" {
			return fmt.Errorf("log line %q attributed to step %d", l.Message, l.Index)
		}
	}
	if !msgs["begin "+tag] || !msgs["end "+tag] {
		return fmt.Errorf("log lines %v lack begin/end of %s", msgs, tag)
	}
	for k := range n {
		el := fmt.Sprintf("%s-e%d", tag, k)
		for _, c := range []string{"log", "try", "throw", "set"} {
			if !seen[c+" "+el] {
				return fmt.Errorf("no %s step of element %s", c, el)
			}
		}
		if !msgs["item "+el] {
			return fmt.Errorf("no log line of element %s", el)
		}
	}
	for _, l := range rec.Logs {
		if strings.HasPrefix(l.Message, "end ") && string(l.Fields) != fmt.Sprintf(`{"t":%q}`, tag) {
			return fmt.Errorf("end line's fields %s", l.Fields)
		}
	}
	all, _ := json.Marshal(rec)
	if f := hrForeign(string(all), tag); f != "" {
		return fmt.Errorf("the record holds another request's tag %s", f)
	}
	return nil
}

// TestHostileTraceReuseStepsLogsIO: 16 keep-alive clients at once run
// hr-mix over 0 to 100 elements (up to 404 step records: traces past
// the 64 Reset keeps, interleaved with traces of 4), with step inputs,
// outputs and log lines kept (History.Steps) and exchanges, while 4
// more run it through POST /api/run with its trace answered; a quarter
// of the records are read through GET /api/executions/{id} while the
// other clients still run, another quarter at the end. Each answer,
// answered trace and record must be its own execution's, exactly.
func TestHostileTraceReuseStepsLogsIO(t *testing.T) {
	e := servertest.Start(t, map[string]string{"hr-mix.yaml": hrMix}, func(o *server.Options) {
		o.History.Steps = true
		o.History.Snapshots = "all"
		o.History.Exchanges = true
		o.History.StepBytes = 64 << 10
		o.History.StepRecordBytes = 8 << 20
	})
	ns := []int{0, 70, 1, 3, 100, 2, 65, 0, 5, 30, 1, 64, 31, 0}
	type sent struct {
		id, tag string
		n       int
	}
	var mu sync.Mutex
	var got []sent // the records read back at the end
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			tr := &http.Transport{MaxIdleConnsPerHost: 1}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr}
			for i := range 12 {
				tag := hrTag(w, i)
				n := ns[(w*5+i)%len(ns)]
				id, err := hrPostMix(c, e.HTTP.URL, tag, n)
				if err != nil {
					t.Error(err)
					return
				}
				if i%4 == 1 { // read back now, while the others run
					rec, raw, err := hrAdmin(c, e.HTTP.URL, id)
					if err != nil {
						t.Errorf("%s: %v", tag, err)
						return
					}
					if err := hrCheckMix(rec, tag, n, 409); err != nil {
						t.Errorf("record %s (%s, %d items) read while others run: %v\n%.600s", id, tag, n, err, raw)
						return
					}
				}
				if i%4 == 3 { // history.Get decodes a whole segment: a quarter more is read back at the end
					mu.Lock()
					got = append(got, sent{id, tag, n})
					mu.Unlock()
				}
			}
		})
	}
	// POST /api/run takes its traces from the same pool (and answers
	// them): each must start empty.
	for w := range 4 {
		wg.Go(func() {
			c := &http.Client{}
			for i := range 8 {
				tag := hrTag(500+w, i)
				n := ns[(w*3+i)%len(ns)]
				in, _ := json.Marshal(map[string]any{"tag": tag, "items": hrItems(tag, n)})
				body, _ := json.Marshal(server.RunRequest{Pipeline: "hr-mix", Input: in, Trace: true})
				req, _ := http.NewRequest("POST", e.HTTP.URL+"/api/run", strings.NewReader(string(body)))
				req.Header.Set("Authorization", "Bearer admin-key")
				req.Header.Set("Content-Type", "application/json")
				resp, err := c.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var res struct {
					Output json.RawMessage `json:"output"`
					Trace  []struct {
						Connector string `json:"connector"`
						Outcome   string `json:"outcome"`
						Error     string `json:"error"`
					} `json:"trace"`
				}
				if resp.StatusCode != 200 || json.Unmarshal(b, &res) != nil {
					t.Errorf("POST /api/run %s: %d %.300s", tag, resp.StatusCode, b)
					return
				}
				want := fmt.Sprintf(`{"tag":%q,"n":%d}`, tag, n)
				if string(res.Output) != want || len(res.Trace) != 4+4*n {
					t.Errorf("POST /api/run %s: output %s and %d trace records, want %s and %d", tag, res.Output, len(res.Trace), want, 4+4*n)
					return
				}
				errs := map[string]bool{}
				for _, st := range res.Trace {
					if st.Connector == "throw" {
						errs[st.Error] = true
					} else if st.Error != "" {
						t.Errorf("POST /api/run %s: %s step with error %q", tag, st.Connector, st.Error)
						return
					}
				}
				for k := range n {
					if !errs[fmt.Sprintf("bad %s-e%d", tag, k)] {
						t.Errorf("POST /api/run %s: no throw of element %d in %v", tag, k, errs)
						return
					}
				}
				if len(errs) != n {
					t.Errorf("POST /api/run %s: throw errors %v, want %d of its own", tag, errs, n)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	ctx := context.Background()
	if err := e.Srv.History().Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if len(got) != 16*3 {
		t.Fatalf("%d executions, want %d", len(got), 16*3)
	}
	for _, s := range got {
		rec, err := history.Get(ctx, e.Store, s.id)
		if err != nil {
			t.Fatalf("%s: %v", s.id, err)
		}
		if err := hrCheckMix(rec, s.tag, s.n, 409); err != nil {
			t.Fatalf("record %s (%s, %d items): %v", s.id, s.tag, s.n, err)
		}
	}
}

// hrRespond answers in every way a respond step can, by message.mode.
const hrRespond = `name: hr-rsp
trigger:
  http: {path: /rsp, methods: [POST]}
steps:
  - choice:
      - when: 'message.mode == "json"'
        steps:
          - respond: {status: 200, body: {tag: "{{ message.tag }}", pad: "{{ message.pad }}"}}
      - when: 'message.mode == "str"'
        steps:
          - respond: {status: 201, body: "S {{ message.tag }} {{ message.pad }}"}
      - when: 'message.mode == "empty"'
        steps:
          - respond: {status: 200, body: ""}
      - when: 'message.mode == "whole"'
        steps:
          - respond: {status: 200}
      - when: 'message.mode == "multi"'
        steps:
          - respond: {status: 200, body: "first {{ message.tag }} {{ message.pad }}"}
          - respond: {status: 202, body: {first: "{{ message.tag }}", pad: "{{ message.pad }}"}}
          - respond: {status: 203, body: "last {{ message.tag }} {{ message.pad }}"}
      - when: 'message.mode == "early"'
        steps:
          - parallel:
              branches:
                - steps:
                    - respond: {status: 201, send: true, body: {tag: "{{ message.tag }}", pad: "{{ message.pad }}"}}
                - steps:
                    - set: {x: 1}
          - respond: {status: 202, body: "late {{ message.tag }} {{ message.pad }}"}
      - when: 'message.mode == "earlyfail"'
        steps:
          - respond: {status: 201, send: true, body: "E {{ message.tag }} {{ message.pad }}"}
          - respond: {status: 200, body: "unsent {{ message.tag }} {{ message.pad }}"}
          - throw: {status: 422, error: "after {{ message.tag }}"}
      - when: 'message.mode == "fail"'
        steps:
          - respond: {status: 200, body: "never {{ message.tag }} {{ message.pad }}"}
          - throw: {status: 422, error: "boom {{ message.tag }}"}
      - when: 'message.mode == "each"'
        steps:
          - for-each:
              items: message.items
              parallel: 4
              steps:
                - respond: {status: 200, body: "item {{ message }} {{ vars.index }}"}
            to: vars.sum
      - when: 'message.mode == "eachsend"'
        steps:
          - for-each:
              items: message.items
              parallel: 4
              steps:
                - respond: {status: 201, send: true, body: {sent: "{{ message }}"}}
            to: vars.sum
      - when: 'message.mode == "sub"'
        steps:
          - pipeline: {name: hr-rsp-sub}
          - set: {after: "{{ message.subdone }}"}
      - otherwise:
          - throw: {status: 400, error: "unknown mode"}
`

const hrRespondSub = `name: hr-rsp-sub
steps:
  - respond: {status: 202, body: "sub {{ message.tag }} {{ message.pad }}"}
  - set: {subdone: "{{ message.tag }}"}
`

var hrModes = []string{"json", "str", "empty", "whole", "multi", "early", "earlyfail", "fail", "each", "eachsend", "sub"}

// hrPadLens are the pads' lengths: empty, tiny, around the pooled
// buffer's 4 KB, and past the pool's 64 KB cap.
var hrPadLens = []int{0, 1, 100, 4083, 4084, 4085, 4095, 4096, 4097, 3000, 65520, 65536, 70000, 200, 17}

const (
	textPlain = "text/plain; charset=utf-8"
	appJSON   = "application/json"
)

// hrRequest is one request of the respond tests and what it must get.
type hrRequest struct {
	tag, mode, pad string
	items          int
	body           string // the request's body
}

func hrNew(w, i int, mode string, padLen int) hrRequest {
	tag := hrTag(w, i)
	r := hrRequest{tag: tag, mode: mode, pad: hrPad(tag, padLen)}
	if mode == "each" || mode == "eachsend" {
		r.items = 1 + (w+i)%9
	}
	items := make([]string, r.items)
	for k := range items {
		items[k] = strconv.Quote(fmt.Sprintf("%s-%d", tag, k))
	}
	r.body = fmt.Sprintf(`{"mode":%q,"tag":%q,"pad":%q,"items":[%s]}`, mode, tag, r.pad, strings.Join(items, ","))
	return r
}

// check returns why an answer is not the one r must get, or "".
func (r hrRequest) check(status int, ctype string, clen string, body string) string {
	if clen != strconv.Itoa(len(body)) {
		return fmt.Sprintf("Content-Length %q for %d bytes", clen, len(body))
	}
	type want struct {
		status int
		ctype  string
		body   string
	}
	var ws []want
	switch r.mode {
	case "json":
		ws = []want{{200, appJSON, fmt.Sprintf(`{"tag":%q,"pad":%q}`, r.tag, r.pad)}}
	case "str":
		ws = []want{{201, textPlain, "S " + r.tag + " " + r.pad}}
	case "empty":
		ws = []want{{200, textPlain, ""}}
	case "whole":
		ws = []want{{200, appJSON, r.body}}
	case "multi":
		ws = []want{{203, textPlain, "last " + r.tag + " " + r.pad}}
	case "early":
		ws = []want{{201, appJSON, fmt.Sprintf(`{"tag":%q,"pad":%q}`, r.tag, r.pad)}}
	case "earlyfail":
		ws = []want{{201, textPlain, "E " + r.tag + " " + r.pad}}
	case "fail":
		var eo struct {
			Error string `json:"error"`
			Code  int    `json:"code"`
		}
		if status != 422 || ctype != appJSON || json.Unmarshal([]byte(body), &eo) != nil || eo.Error != "boom "+r.tag || eo.Code != 422 || strings.Contains(body, "never") {
			return fmt.Sprintf("got %d %s %.300s, want 422 error boom %s", status, ctype, body, r.tag)
		}
		return ""
	case "each":
		for k := range r.items {
			ws = append(ws, want{200, textPlain, fmt.Sprintf("item %s-%d %d", r.tag, k, k)})
		}
	case "eachsend":
		for k := range r.items {
			ws = append(ws, want{201, appJSON, fmt.Sprintf(`{"sent":"%s-%d"}`, r.tag, k)})
		}
	case "sub":
		ws = []want{{202, textPlain, "sub " + r.tag + " " + r.pad}}
	}
	for _, w := range ws {
		if status == w.status && ctype == w.ctype && body == w.body {
			return ""
		}
	}
	return fmt.Sprintf("got %d %q %d bytes %.300q, want %d %q %d bytes %.300q (or one of %d)", status, ctype, len(body), body, ws[0].status, ws[0].ctype, len(ws[0].body), ws[0].body, len(ws))
}

// recordCode is the code r's record must have.
func (r hrRequest) recordCode() int {
	switch r.mode {
	case "json", "empty", "whole", "each":
		return 200
	case "str", "early", "earlyfail", "eachsend":
		return 201
	case "multi":
		return 203
	case "fail":
		return 422
	case "sub":
		return 202
	}
	return 0
}

// TestHostileRespondBufReuse: 16 clients, each on one kept-alive
// connection, send 22 requests each answered by respond steps in every
// shape (JSON and string bodies, 0 bytes to 70 KB, the whole message,
// three responds where the last wins, an early send from a parallel
// branch then a later respond, early sends racing in a parallel
// for-each, responds set from parallel for-each branches, a respond in a
// called pipeline, a respond then a failing step, an early send then a
// failing step). Each answer must be exactly its own request's (status,
// Content-Type, Content-Length, bytes), and each record read back (a fifth) its own code and tag only.
func TestHostileRespondBufReuse(t *testing.T) {
	e := servertest.Start(t, map[string]string{"hr-rsp.yaml": hrRespond, "hr-rsp-sub.yaml": hrRespondSub}, func(o *server.Options) {
		o.History.Steps = true
	})
	type sent struct {
		r  hrRequest
		id string
	}
	var mu sync.Mutex
	var got []sent
	var reused, total atomic.Int64
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			tr := &http.Transport{MaxIdleConnsPerHost: 1, MaxConnsPerHost: 1}
			defer tr.CloseIdleConnections()
			c := &http.Client{Transport: tr}
			for i := range 22 {
				r := hrNew(w, i, hrModes[(w+i)%len(hrModes)], hrPadLens[(w*7+i)%len(hrPadLens)])
				req, _ := http.NewRequest("POST", e.HTTP.URL+"/rsp", strings.NewReader(r.body))
				req.Header.Set("Content-Type", "application/json")
				req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{GotConn: func(ci httptrace.GotConnInfo) {
					total.Add(1)
					if ci.Reused {
						reused.Add(1)
					}
				}}))
				resp, err := c.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil {
					t.Errorf("%s %s: %v", r.tag, r.mode, err)
					return
				}
				if why := r.check(resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Length"), string(b)); why != "" {
					t.Errorf("request %s (%s, pad %d): %s", r.tag, r.mode, len(r.pad), why)
					return
				}
				if f := hrForeign(string(b), r.tag); f != "" {
					t.Errorf("request %s (%s): answer holds %s", r.tag, r.mode, f)
					return
				}
				mu.Lock()
				got = append(got, sent{r, resp.Header.Get("X-Execution-Id")})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if reused.Load() < total.Load()/2 {
		t.Fatalf("precondition: only %d of %d requests reused a kept-alive connection", reused.Load(), total.Load())
	}
	ctx := context.Background()
	if err := e.Srv.History().Flush(ctx); err != nil {
		t.Fatal(err)
	}
	for j, s := range got {
		if j%5 != 0 { // history.Get decodes a whole segment: a fifth is read back
			continue
		}
		rec, err := history.Get(ctx, e.Store, s.id)
		if err != nil {
			t.Fatalf("%s: %v", s.id, err)
		}
		if rec.Code != s.r.recordCode() {
			t.Fatalf("record %s (%s %s): code %d, want %d", s.id, s.r.tag, s.r.mode, rec.Code, s.r.recordCode())
		}
		all, _ := json.Marshal(rec)
		if f := hrForeign(string(all), s.r.tag); f != "" {
			t.Fatalf("record %s (%s %s) holds another request's tag %s", s.id, s.r.tag, s.r.mode, f)
		}
		if !strings.Contains(string(rec.Input), s.r.tag) {
			t.Fatalf("record %s (%s %s): input %.200s", s.id, s.r.tag, s.r.mode, rec.Input)
		}
	}
}

// TestHostileRespondBufReusePipelined writes 60 requests of every respond
// shape back to back on one connection (HTTP/1.1 pipelining: the server
// reads the next while it answers this one), while 8 other clients load
// the server, and reads the 60 answers in order: each must be its own.
func TestHostileRespondBufReusePipelined(t *testing.T) {
	e := servertest.Start(t, map[string]string{"hr-rsp.yaml": hrRespond, "hr-rsp-sub.yaml": hrRespondSub}, nil)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				r := hrNew(100+w, i, hrModes[(w+i)%len(hrModes)], hrPadLens[(w+3*i)%len(hrPadLens)])
				resp, err := http.Post(e.HTTP.URL+"/rsp", "application/json", strings.NewReader(r.body))
				if err != nil {
					t.Error(err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if why := r.check(resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Length"), string(b)); why != "" {
					t.Errorf("load request %s (%s): %s", r.tag, r.mode, why)
					return
				}
			}
		})
	}
	defer func() { close(stop); wg.Wait() }()
	conn, err := net.Dial("tcp", e.HTTP.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(15 * time.Second))
	var reqs []hrRequest
	var out strings.Builder
	for i := range 60 {
		r := hrNew(999, i, hrModes[i%len(hrModes)], hrPadLens[(i*5)%len(hrPadLens)])
		reqs = append(reqs, r)
		fmt.Fprintf(&out, "POST /rsp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(r.body), r.body)
	}
	werr := make(chan error, 1)
	go func() { _, err := io.WriteString(conn, out.String()); werr <- err }()
	br := bufio.NewReader(conn)
	for _, r := range reqs {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("reading the answer to %s (%s): %v", r.tag, r.mode, err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("%s: %v", r.tag, err)
		}
		if why := r.check(resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Length"), string(b)); why != "" {
			t.Fatalf("pipelined request %s (%s, pad %d): %s", r.tag, r.mode, len(r.pad), why)
		}
	}
	if err := <-werr; err != nil {
		t.Fatal(err)
	}
}

// hrHeld logs, waits for the test (test-hold), loops with log lines and
// answers with a respond step: requests in flight when the shutdown
// begins.
const hrHeld = `name: hr-held
trigger:
  http: {path: /held, methods: [POST]}
steps:
  - log: {message: "in {{ message.tag }}"}
  - test-hold: {name: hr-reuse-hold}
  - for-each:
      items: message.items
      parallel: 2
      steps:
        - log: {message: "it {{ message }}"}
    to: vars.s
  - respond: {status: 200, body: "held {{ message.tag }} {{ message.pad }}"}
`

// hrCut logs, sets a respond that is never sent, then waits for its
// context (a test-hold never let go): a shutdown whose drain runs out
// cuts it.
const hrCut = `name: hr-cut
trigger:
  http: {path: /cut, methods: [POST]}
steps:
  - log: {message: "cut {{ message.tag }}"}
  - respond: {status: 200, body: "unsent {{ message.tag }} {{ message.pad }}"}
  - test-hold: {name: hr-cut-hold}
`

// TestHostileTraceReuseShutdownInFlight: 16 requests wait in their
// pipeline when the shutdown begins, while 8 short requests with long
// loops run; the shutdown waits for them, they are let go, and each
// answer and each record (steps and log lines) is its own; nothing is
// dropped.
func TestHostileTraceReuseShutdownInFlight(t *testing.T) {
	e := servertest.Start(t, map[string]string{"hr-held.yaml": hrHeld, "hr-mix.yaml": hrMix}, func(o *server.Options) {
		o.History.Steps = true
		o.History.StepBytes = 64 << 10
		o.History.StepRecordBytes = 8 << 20
	})
	l := servertest.Hold(t, "hr-reuse-hold")
	type sent struct {
		id, tag string
		n       int
		held    bool
	}
	var mu sync.Mutex
	var got []sent
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			tag := hrTag(w, 0)
			n := w * 7 % 40
			pad := hrPad(tag, w*997%5000)
			body, _ := json.Marshal(map[string]any{"tag": tag, "items": hrItems(tag, n), "pad": pad})
			resp, err := http.Post(e.HTTP.URL+"/held", "application/json", strings.NewReader(string(body)))
			if err != nil {
				t.Error(err)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if want := "held " + tag + " " + pad; resp.StatusCode != 200 || string(b) != want {
				t.Errorf("%s: %d %.200q, want 200 %.200q", tag, resp.StatusCode, b, want)
				return
			}
			mu.Lock()
			got = append(got, sent{resp.Header.Get("X-Execution-Id"), tag, n, true})
			mu.Unlock()
		})
	}
	for range 16 {
		select {
		case <-l.Started:
		case <-time.After(10 * time.Second):
			t.Fatal("the held requests did not start")
		}
	}
	// Short executions with long traces end while the held ones wait.
	var short sync.WaitGroup
	for w := range 8 {
		short.Go(func() {
			for i := range 4 {
				tag := hrTag(200+w, i)
				n := []int{70, 0, 33, 2}[i]
				id, err := hrPostMix(http.DefaultClient, e.HTTP.URL, tag, n)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				got = append(got, sent{id, tag, n, false})
				mu.Unlock()
			}
		})
	}
	short.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.Srv.Shutdown(ctx) }()
	select {
	case err := <-done:
		t.Fatalf("the shutdown returned (%v) while 16 executions still wait", err)
	case <-time.After(150 * time.Millisecond):
	}
	close(l.Release)
	wg.Wait()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if t.Failed() {
		return
	}
	if d := e.Srv.History().Dropped(); d != 0 {
		t.Fatalf("%d records dropped", d)
	}
	if len(got) != 16+32 {
		t.Fatalf("%d answers, want 48", len(got))
	}
	for _, s := range got {
		rec, err := history.Get(context.Background(), e.Store, s.id)
		if err != nil {
			t.Fatalf("%s (%s): %v", s.id, s.tag, err)
		}
		if !s.held {
			if err := hrCheckMix(rec, s.tag, s.n, 0); err != nil {
				t.Fatalf("record %s (%s, %d items): %v", s.id, s.tag, s.n, err)
			}
			continue
		}
		if rec.Code != 200 || len(rec.Steps) != 4+s.n || len(rec.Logs) != 1+s.n {
			t.Fatalf("record %s (%s): code %d, %d steps, %d log lines, want 200, %d, %d", s.id, s.tag, rec.Code, len(rec.Steps), len(rec.Logs), 4+s.n, 1+s.n)
		}
		var msgs []string
		for _, l := range rec.Logs {
			msgs = append(msgs, l.Message)
		}
		slices.Sort(msgs)
		want := []string{"in " + s.tag}
		for k := range s.n {
			want = append(want, fmt.Sprintf("it %s-e%d", s.tag, k))
		}
		slices.Sort(want)
		if !slices.Equal(msgs, want) {
			t.Fatalf("record %s (%s): log lines %q, want %q", s.id, s.tag, msgs, want)
		}
		all, _ := json.Marshal(rec)
		if f := hrForeign(string(all), s.tag); f != "" {
			t.Fatalf("record %s (%s) holds another request's tag %s", s.id, s.tag, f)
		}
	}
}

// TestHostileRespondBufReuseShutdownCut: 12 requests whose respond step
// set an answer (in a pooled buffer) wait for their context when a
// shutdown with a short drain cuts them: each gets the 503 of the cut,
// not its unsent body nor another's, and each record (cut, 503) holds its
// own log line; meanwhile other answers made while they wait are their
// own.
func TestHostileRespondBufReuseShutdownCut(t *testing.T) {
	e := servertest.Start(t, map[string]string{"hr-cut.yaml": hrCut, "hr-rsp.yaml": hrRespond, "hr-rsp-sub.yaml": hrRespondSub}, func(o *server.Options) {
		o.History.Steps = true
	})
	l := servertest.Hold(t, "hr-cut-hold")
	type sent struct{ id, tag string }
	var mu sync.Mutex
	var got []sent
	var wg sync.WaitGroup
	for w := range 12 {
		wg.Go(func() {
			tag := hrTag(300+w, 0)
			pad := hrPad(tag, w*1500)
			body := fmt.Sprintf(`{"tag":%q,"pad":%q}`, tag, pad)
			resp, err := http.Post(e.HTTP.URL+"/cut", "application/json", strings.NewReader(body))
			if err != nil {
				t.Error(err)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var eo struct {
				Error string `json:"error"`
				Code  int    `json:"code"`
			}
			if resp.StatusCode != 503 || json.Unmarshal(b, &eo) != nil || eo.Code != 503 || !strings.Contains(eo.Error, "shut down") || hrTagRe.MatchString(string(b)) {
				t.Errorf("cut request %s: %d %.300s, want the 503 of a cut, no tag", tag, resp.StatusCode, b)
				return
			}
			mu.Lock()
			got = append(got, sent{resp.Header.Get("X-Execution-Id"), tag})
			mu.Unlock()
		})
	}
	for range 12 {
		select {
		case <-l.Started:
		case <-time.After(10 * time.Second):
			t.Fatal("the requests to cut did not start")
		}
	}
	// While they wait, answers of every shape reuse the pool.
	for i := range 44 {
		r := hrNew(400, i, hrModes[i%len(hrModes)], hrPadLens[i%len(hrPadLens)])
		resp, err := http.Post(e.HTTP.URL+"/rsp", "application/json", strings.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if why := r.check(resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("Content-Length"), string(b)); why != "" {
			t.Fatalf("request %s (%s) while others wait: %s", r.tag, r.mode, why)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	err := e.Srv.Shutdown(ctx)
	wg.Wait()
	if err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if t.Failed() {
		return
	}
	if len(got) != 12 {
		t.Fatalf("%d cut answers, want 12", len(got))
	}
	for _, s := range got {
		rec, err := history.Get(context.Background(), e.Store, s.id)
		if err != nil {
			t.Fatalf("%s (%s): %v", s.id, s.tag, err)
		}
		if rec.Code != 503 || len(rec.Steps) != 3 || len(rec.Logs) != 1 || rec.Logs[0].Message != "cut "+s.tag {
			t.Fatalf("record %s (%s): code %d, %d steps, logs %+v; want 503, 3 steps, its own line", s.id, s.tag, rec.Code, len(rec.Steps), rec.Logs)
		}
		all, _ := json.Marshal(rec)
		if f := hrForeign(string(all), s.tag); f != "" {
			t.Fatalf("record %s (%s) holds another request's tag %s", s.id, s.tag, f)
		}
	}
}
