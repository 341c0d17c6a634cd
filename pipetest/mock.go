package pipetest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/connectors/httpclient"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/internal/wait"
)

// mock is a checked Mock.
type mock struct {
	where     string // file:line, for messages
	pipeline  string // "" with connector: any pipeline
	step      string
	connector string
	match     engine.Condition
	answers   []answer
	http      bool // answers are responses: the connector runs
	request   *requestCheck
}

type answer struct {
	result    any
	hasResult bool
	err       *MockError
	response  *Response
	pass      bool
	delay     time.Duration
}

type requestCheck struct {
	*RequestCheck
	urlRE *regexp.Regexp
}

// run is the state of one case's run: which answer each mock gives next,
// what each step was called with, and the failures found along the way.
type run struct {
	tc       *TestCase
	mu       sync.Mutex
	next     map[*mock]int
	calls    map[stepKey][]any
	failures []string
	// pending holds the HTTP mock chosen for a step being run, by the Exec
	// that runs it, for the transport to answer its requests.
	pending sync.Map // pendingKey → *mock
}

type pendingKey struct {
	x    *engine.Exec
	step *engine.StepInfo
}

func newRun(tc *TestCase) *run {
	return &run{tc: tc, next: map[*mock]int{}, calls: map[stepKey][]any{}}
}

func (r *run) fail(format string, args ...any) {
	r.mu.Lock()
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

// find returns the mock that applies to the step x runs with input in.
func (r *run) find(x *engine.Exec, info *engine.StepInfo, in any) (*mock, error) {
	for _, m := range r.tc.mocks {
		if m.step != "" && (m.step != info.Step || m.pipeline != info.Pipeline) {
			continue
		}
		if m.connector != "" && (m.connector != info.Connector || m.pipeline != "" && m.pipeline != info.Pipeline) {
			continue
		}
		if m.match.IsSet() {
			ok, err := m.match.Eval(x, in)
			if err != nil {
				return nil, fmt.Errorf("mock at %s: match: %w", m.where, err)
			}
			if !ok {
				continue
			}
		}
		return m, nil
	}
	return nil, nil
}

// answer returns the mock's next answer: the sequence's, the last one
// repeating.
func (r *run) answer(m *mock) answer {
	r.mu.Lock()
	i := r.next[m]
	r.next[m] = i + 1
	r.mu.Unlock()
	if i >= len(m.answers) {
		i = len(m.answers) - 1
	}
	return m.answers[i]
}

// intercept is the runtime's engine.Interceptor: it records every step's
// call and answers those a mock replaces.
func (r *run) intercept(ctx context.Context, x *engine.Exec, in any) (any, error, bool) {
	info := x.Step()
	k := stepKey{info.Pipeline, info.Step}
	r.mu.Lock()
	r.calls[k] = append(r.calls[k], in)
	r.mu.Unlock()
	m, err := r.find(x, info, in)
	if err != nil {
		r.fail("%v", err)
		return nil, err, true
	}
	if m == nil {
		return nil, nil, false
	}
	if m.http {
		r.pending.Store(pendingKey{x, info}, m)
		return nil, nil, false
	}
	a := r.answer(m)
	if a.delay > 0 && !wait.Sleep(ctx, a.delay) {
		return nil, ctx.Err(), true
	}
	if a.err != nil {
		return nil, &engine.Error{Timestamp: time.Now().UnixMilli(), Code: a.err.Code, Message: a.err.Error}, true
	}
	if a.pass {
		return in, nil, true
	}
	return a.result, nil, true
}

// wrap is the runtime's httpclient.Wrap: requests of a step mocked with
// response are answered by the mock; others go out only to loopback
// addresses (test servers of the test itself), never to another machine.
func (r *run) wrap(x *engine.Exec, next http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		info := x.Step()
		var m *mock
		if info != nil {
			if v, ok := r.pending.Load(pendingKey{x, info}); ok {
				m = v.(*mock)
			}
		}
		if m == nil {
			if Loopback(req.URL.Hostname()) {
				return next.RoundTrip(req)
			}
			name := "?"
			if info != nil {
				name = info.Step
			}
			msg := fmt.Sprintf("step %q sends %s %s://%s%s, which no mock answers: mock the step (mocks: [{step: %s, result: …}]) or point it at a loopback test server", name, req.Method, req.URL.Scheme, req.URL.Host, req.URL.Path, name)
			r.fail("%s", msg)
			return nil, refused{}
		}
		if m.request != nil {
			r.checkRequest(info.Step, m.request, req)
		}
		a := r.answer(m)
		if a.delay > 0 && !wait.Sleep(req.Context(), a.delay) {
			return nil, req.Context().Err()
		}
		return a.response.http(req)
	})
}

// refused is the error of a request that would leave the machine. It is
// accounts.ErrHostNotAllowed for the HTTP client, which does not retry it.
type refused struct{}

func (refused) Error() string        { return "nectar test: not mocked, and not a loopback address" }
func (refused) Is(target error) bool { return target == accounts.ErrHostNotAllowed }

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// Loopback reports whether host (no port) is this machine: localhost, or
// an address in 127.0.0.0/8 or ::1. Steps that are not mocked may call
// such hosts under nectar test (a test's own fake server), nothing else.
func Loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (resp *Response) http(req *http.Request) (*http.Response, error) {
	h := http.Header{}
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	var body []byte
	switch b := resp.Body.Value; b.(type) {
	case nil:
	case string:
		body = []byte(b.(string))
	default:
		enc, err := value.Encode(b)
		if err != nil {
			return nil, err
		}
		body = enc
		if h.Get("Content-Type") == "" {
			h.Set("Content-Type", "application/json")
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	return &http.Response{
		Status: fmt.Sprintf("%d %s", resp.Status, http.StatusText(resp.Status)), StatusCode: resp.Status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: req,
	}, nil
}

// checkRequest records how req differs from what the mock expects.
func (r *run) checkRequest(step string, rc *requestCheck, req *http.Request) {
	where := fmt.Sprintf("step %q request", step)
	if rc.Method != "" && !strings.EqualFold(rc.Method, req.Method) {
		r.fail("%s: method: want %s, got %s", where, rc.Method, req.Method)
	}
	u := req.URL.String()
	if rc.URL != "" && rc.URL != u {
		r.fail("%s: url: want %s, got %s", where, rc.URL, u)
	}
	if rc.urlRE != nil && !rc.urlRE.MatchString(u) {
		r.fail("%s: url: %s does not match %s", where, u, rc.urlRE)
	}
	for k, v := range rc.Headers {
		if got := req.Header.Get(k); got != v {
			r.fail("%s: header %s: want %q, got %q", where, k, v, got)
		}
	}
	if !rc.Body.IsSet() {
		return
	}
	var data []byte
	if req.GetBody != nil {
		if b, err := req.GetBody(); err == nil {
			data, _ = io.ReadAll(b)
			b.Close()
		}
	} else if req.Body != nil {
		data, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(data))
	}
	if s, ok := rc.Body.Value.(string); ok {
		if s != string(data) {
			r.fail("%s: body: want %q, got %q", where, s, data)
		}
		return
	}
	got, err := value.Decode(data)
	if err != nil {
		r.fail("%s: body: want JSON, got %q", where, preview(string(data)))
		return
	}
	for _, d := range Diff(rc.Body.Value, got, true) {
		r.fail("%s: body: %s", where, d)
	}
}

var _ httpclient.Wrap = (*run)(nil).wrap
