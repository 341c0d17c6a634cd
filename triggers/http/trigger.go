package http

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/connectors/jwt"
	"github.com/nectar-run/nectar/consumers"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/internal/httpjson"
	"github.com/nectar-run/nectar/store"
	"github.com/nectar-run/nectar/triggers"
)

func init() {
	engine.RegisterTrigger("http", "Runs the pipeline for each HTTP request on a path; the final message is the response.", compile)
}

// compile checks the options; the trigger is served by the host as a route
// (see Routes).
func compile(cfg *HTTP, cc *engine.Compiler) (engine.Trigger, error) {
	if errs := cfg.check(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	t := &trigger{cfg: cfg, params: pathParams(cfg.Path), headers: fixedHeaders(cfg.Headers)}
	for _, m := range cfg.Methods {
		t.lines = append(t.lines, m+" "+cfg.Path)
	}
	return t, nil
}

// requestLine returns r's method and path as the execution's record keeps
// them ("POST /orders"): for a request to the trigger's path itself, with
// one of its methods, the text made at compile; else one made now.
func (t *trigger) requestLine(r *http.Request) string {
	if r.URL.Path == t.cfg.Path {
		for _, l := range t.lines {
			if len(l) > len(r.Method) && l[len(r.Method)] == ' ' && l[:len(r.Method)] == r.Method {
				return l
			}
		}
	}
	return r.Method + " " + r.URL.Path
}

// trigger is a compiled http trigger: a route of the host's listener.
type trigger struct {
	cfg     *HTTP
	params  []string // the path's {name} wildcards
	headers []fixedHeader
	lines   []string // "METHOD path" for each of the methods (requestLine)
}

// fixedHeader is one of the trigger's headers option, by its canonical
// name, with its value as a header's one-value slice.
type fixedHeader struct {
	name string
	vals []string
}

// fixedHeaders turns the headers option into what ServeHTTP puts in each
// answer's header map as it is, without Header.Set's canonicalizing and
// allocating per request. The slices are shared by every answer: net/http
// only reads them, and Header.Set or Add (a respond step's) replace them
// (each has room for its one value only, so an append copies it). Names
// are in sorted order, so that of two spellings of one header (allowed by
// the loader) the same one is sent every time.
func fixedHeaders(hd map[string]string) []fixedHeader {
	names := slices.Sorted(maps.Keys(hd))
	out := make([]fixedHeader, 0, len(names))
	for _, k := range names {
		out = append(out, fixedHeader{name: http.CanonicalHeaderKey(k), vals: []string{hd[k]}[:1:1]})
	}
	return out
}

var (
	_ engine.Trigger = (*trigger)(nil)
	_ engine.Router  = (*trigger)(nil)
)

// Start and Stop have nothing to do: the host serves the routes while it
// serves the pipeline version, and waits for their requests.
func (t *trigger) Start(context.Context, engine.Host) error { return nil }
func (t *trigger) Stop(context.Context) error               { return nil }

// Describe gives the route, its methods and its auth modes.
func (t *trigger) Describe() map[string]any {
	return map[string]any{"path": t.cfg.Path, "methods": t.cfg.Methods, "auth": t.cfg.Auth}
}

// Routes returns the trigger's one route. A path ending in / matches
// exactly, not the subtree.
func (t *trigger) Routes(h engine.Host) []engine.Route {
	pattern := t.cfg.Path
	if strings.HasSuffix(pattern, "/") {
		pattern += "{$}"
	}
	rt := h.Runtime()
	s := &server{trigger: t, h: h, jwt: jwt.NewVerifier(rt)}
	if svc, ok := rt.Service(triggers.ConsumersKey{}); ok {
		s.consumers, _ = svc.(*consumers.Manager)
	}
	if svc, ok := rt.Service(triggers.LimiterKey{}); ok {
		s.limiter, _ = svc.(*consumers.Limiter)
	}
	if s.limiter == nil {
		s.limiter = consumers.NewLimiter()
	}
	r := engine.Route{Pattern: pattern, Methods: t.cfg.Methods, Handler: s, Timeout: t.cfg.Timeout.D()}
	if t.cfg.CORS != nil {
		r.Preflight = t.preflight
	}
	return []engine.Route{r}
}

// server serves the trigger's requests for one pipeline version.
type server struct {
	*trigger
	h         engine.Host
	jwt       *jwt.Verifier // auth: jwt, with the keys the jwt steps of the runtime use
	consumers *consumers.Manager
	limiter   *consumers.Limiter
}

func (t *trigger) preflight(w http.ResponseWriter, r *http.Request, allow string) {
	c := t.cfg.CORS
	h := w.Header()
	if !setOrigin(h, c, r.Header.Get("Origin")) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	methods := c.Methods
	if len(methods) == 0 {
		for _, m := range strings.Split(allow, ", ") {
			if m != http.MethodOptions {
				methods = append(methods, m)
			}
		}
	}
	h.Set("Access-Control-Allow-Methods", strings.Join(methods, ", "))
	if len(c.Headers) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(c.Headers, ", "))
	}
	if c.MaxAge > 0 {
		h.Set("Access-Control-Max-Age", strconv.Itoa(int(c.MaxAge.D().Seconds())))
	}
	w.WriteHeader(http.StatusNoContent)
}

// setOrigin sets Access-Control-Allow-Origin when origin is allowed.
func setOrigin(h http.Header, c *CORS, origin string) bool {
	if origin == "" {
		return false
	}
	allowed := ""
	for _, o := range c.Origins {
		if o == "*" {
			// Never the caller's origin in place of *: with credentials
			// that would trust every site (the loader refuses * with
			// allow_credentials; browsers refuse * with credentials).
			allowed = "*"
			break
		}
		if strings.EqualFold(o, origin) {
			allowed = origin
			break
		}
	}
	if allowed == "" {
		return false
	}
	h.Set("Access-Control-Allow-Origin", allowed)
	if allowed != "*" {
		h.Add("Vary", "Origin")
	}
	if c.AllowCredentials && allowed != "*" {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if len(c.ExposeHeaders) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(c.ExposeHeaders, ", "))
	}
	return true
}

// ServeHTTP runs one HTTP-triggered execution: auth, rate limit, body,
// run, answer, record.
//
// Its work is split in three functions so that each has few defers times
// returns: the compiler open-codes their defers (a deferprocStack and
// deferreturn each cost ≈500 instructions per request otherwise), and code
// stays on the stack (the response's send function, which escapes, writes
// the execution's sent status instead; see serving).
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var st serving
	defer s.recoverPanic(w, &st)
	s.serve(w, r, &st)
}

// serving is what ServeHTTP's recovery needs to know of a request: the
// status answered by the trigger (0 while none) and the response a
// pipeline may have sent early.
type serving struct {
	code int
	resp *triggers.Response
	ex   *execution // once run: abandoned when it panics after an early answer
}

// recoverPanic logs a panic of the request's handler and, when nothing was
// answered yet, answers 500.
func (s *server) recoverPanic(w http.ResponseWriter, st *serving) {
	rec := recover()
	if rec == nil {
		return
	}
	s.h.Logger().Error("request handler panicked", "pipeline", s.h.Pipeline().Name, "panic", fmt.Sprint(rec), "stack", string(debug.Stack()))
	if st.code != 0 {
		return
	}
	if st.ex != nil && st.ex.sent != 0 {
		s.h.Abandoned(&st.ex.Execution) // not recorded: nobody waits for it
	}
	if st.resp != nil {
		if _, _, _, _, sent := st.resp.Get(); sent {
			return
		}
	}
	st.code = http.StatusInternalServerError
	writeErrorAs(w, s.cfg, st.code, "internal error")
}

// serve admits the request (auth, rate limit, body) and runs it.
func (s *server) serve(w http.ResponseWriter, r *http.Request, st *serving) {
	start := time.Now()
	cfg := s.cfg
	p := s.h.Pipeline()
	h := w.Header()
	if cfg.CORS != nil {
		setOrigin(h, cfg.CORS, r.Header.Get("Origin"))
	}
	for _, fh := range s.headers {
		h[fh.name] = fh.vals
	}
	who, status, reason := s.authenticate(r, p.Name)
	if status != 0 {
		if status == http.StatusUnauthorized {
			h.Set("WWW-Authenticate", challenge(cfg))
		}
		st.code = status
		writeErrorAs(w, cfg, status, reason)
		return
	}
	if wait, limited := s.rateLimited(r, p.Name, who, start); limited {
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		st.code = http.StatusTooManyRequests
		writeErrorAs(w, cfg, st.code, "rate limit exceeded; retry in "+strconv.Itoa(int(math.Ceil(wait.Seconds())))+"s")
		return
	}
	if n := fieldCount(r.URL.RawQuery); n > MaxFormFields {
		st.code = http.StatusBadRequest
		httpjson.Error(w, st.code, "the query string has "+strconv.Itoa(n)+" parameters; at most "+strconv.Itoa(MaxFormFields)+" are accepted")
		return
	}
	max := cfg.MaxBodyBytes()
	if r.ContentLength > max {
		st.code = http.StatusRequestEntityTooLarge
		// The declared body is not wanted: close the connection after the
		// answer. Otherwise net/http reads it to its end (up to 256 KiB)
		// before writing the answer, and a client that waits for the
		// answer before sending gets it only at the timeout.
		h.Set("Connection", "close")
		writeErrorAs(w, cfg, st.code, "request body is larger than "+cfg.MaxBody)
		return
	}
	// The pooled buffer is taken only for a body not read into a buffer
	// of its own (readBody), so that a request whose declared body is
	// still arriving holds one buffer, not two.
	var pooled *[]byte
	defer func() {
		if pooled != nil {
			httpjson.PutBuf(pooled)
		}
	}()
	data, owned, err := readBody(r.Body, r.ContentLength, func() []byte {
		pooled = httpjson.GetBuf()
		return *pooled
	}, max)
	if pooled != nil && !owned {
		*pooled = data[:0] // the pool keeps the buffer as it grew
	}
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			st.code = http.StatusRequestEntityTooLarge
			h.Set("Connection", "close") // the rest is not wanted either
			writeErrorAs(w, cfg, st.code, "request body is larger than "+cfg.MaxBody)
			return
		}
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
			st.code = http.StatusRequestTimeout
			h.Set("Connection", "close")
			writeErrorAs(w, cfg, st.code, "the request body did not arrive within the trigger's timeout of "+cfg.Timeout.D().String())
			return
		}
		st.code = http.StatusBadRequest
		writeErrorAs(w, cfg, st.code, "reading the request body: "+err.Error())
		return
	}
	ctype := r.Header.Get("Content-Type")
	// The metadata's objects and first strings in one allocation, apart
	// from the execution's (see requestMeta).
	rm := new(requestMeta)
	g := rm.g.Objects()
	req, credHeaders := requestMetadata(r, s.params, cfg, ctype, g, rm.strs[:])
	in := parseBody(data, owned, ctype, req)
	if in.bad != "" {
		if cfg.MalformedBody != "pass" {
			st.code = http.StatusBadRequest
			writeErrorAs(w, cfg, st.code, in.bad)
			return
		}
		req.Set("body_error", in.bad) // the pipeline answers it in its own format
		in.msg, in.raw = nil, ""
	}
	// The metadata object, from the group requestMetadata took its own
	// from: room for trigger, request and consumer.
	md := &g[2]
	md.AppendNew("trigger", "http") // distinct keys: no search
	md.AppendNew("request", req)
	ex := new(execution) // with its id's header value
	x := &ex.Execution
	x.Trigger, x.Input, x.Metadata, x.Start, x.ID = "http", in.msg, md, start, history.NewID(start)
	x.Secrets = requestSecrets(r, req, credHeaders, len(s.params) > 0, p.SensitiveFields, s.h.Runtime().SensitiveFields)
	ex.idHeader[0] = x.ID
	if who != nil {
		co := value.NewObject(3)
		co.Set("name", who.subject)
		co.Set("auth", who.method)
		if who.claims != nil {
			co.Set("claims", who.claims)
		}
		md.Set("consumer", co)
		x.Consumer = who.subject
	}
	s.run(w, r, st, ex, in.raw, in.unparsed)
}

// run runs the execution of an admitted request, answers and records it.
func (s *server) run(w http.ResponseWriter, r *http.Request, st *serving, ex *execution, inRaw string, inUnparsed *engine.UnparsedBody) {
	cfg := s.cfg
	x := &ex.Execution
	h := w.Header()
	ctx, cancel := s.h.Context(r.Context(), cfg.Timeout.D())
	defer cancel()
	ex.w, ex.s = w, s
	resp := &ex.resp
	resp.Init(ex)
	st.resp, st.ex = resp, ex
	ctx = triggers.WithResponse(ctx, resp)
	h["X-Execution-Id"] = ex.idHeader[:] // canonical already: no Header.Set check
	s.h.Run(ctx, x)
	e := x.Err
	if e != nil {
		switch {
		case ctx.Err() == context.DeadlineExceeded && r.Context().Err() == nil:
			e.Code = http.StatusGatewayTimeout
			if !strings.Contains(e.Message, "timed out") {
				e.Message = "execution timed out after " + cfg.Timeout.D().String() + ": " + e.Message
			}
		case x.Cut && r.Context().Err() == nil:
			e.Code = http.StatusServiceUnavailable
			e.Message = triggers.CutMessage + ": " + e.Message
		}
		if e.Code >= 500 {
			s.h.Logger().Warn("execution failed", "execution_id", x.ID, "pipeline", s.h.Pipeline().Name, "code", e.Code, "error", engine.MaskSecrets(e.Message, x.Secrets))
		}
	}
	rs, rh, rb, set, sent := resp.Get()
	switch {
	case sent:
		// answered early by respond send: true
		st.code = ex.sent
	case e != nil:
		st.code = httpjson.Status(e.Code)
		// What Nectar knows is secret (the runtime's secrets, the
		// request's credentials, what the steps learned) is masked in the
		// error answered, as in the record: an expression error quoting a
		// value, an upstream's answer echoing a token.
		pub := e.Shown(nil, s.h.Runtime().Secrets.Values(), x.Secrets)
		if g := generic(e, x.ID); g != nil {
			pub = g
			st.code = g.Code
		}
		if cfg.ErrorFormat == ErrorFormatOAuth2 {
			writeErrorAs(w, cfg, st.code, pub.Message)
			break
		}
		b := httpjson.GetBuf()
		*b, _ = value.AppendJSON((*b)[:0], pub.Object())
		httpjson.JSON(w, st.code, *b)
		httpjson.PutBuf(b)
	case set:
		st.code = rs
		httpjson.Response(w, rs, rh, rb)
	default:
		st.code = http.StatusOK
		b := httpjson.GetBuf()
		var encErr error
		*b, encErr = value.AppendJSON((*b)[:0], x.Output)
		if encErr != nil {
			st.code = http.StatusInternalServerError
			writeErrorAs(w, cfg, st.code, "the final message cannot be written as JSON: "+encErr.Error())
		} else {
			httpjson.JSON(w, st.code, *b)
			if x.Trace != nil {
				// The history keeps what was answered: the buffer itself,
				// not a copy. Record takes it over (see OutputBuf).
				x.OutputJSON, x.OutputBuf = unsafe.String(unsafe.SliceData(*b), len(*b)), b
				b = nil
			}
		}
		if b != nil {
			httpjson.PutBuf(b)
		}
	}
	x.Request, x.Code, x.InputJSON, x.InputBody = s.requestLine(r), st.code, inRaw, inUnparsed
	s.h.Record(x)
	if b := resp.Release(); b != nil { // written: the respond step's buffer
		httpjson.PutBuf(b)
	}
}

// execution is an HTTP-triggered execution with the X-Execution-Id
// header's value, allocated together. The header's slice has room for its
// one value only: an Add copies it.
type execution struct {
	engine.Execution
	idHeader [1]string
	sent     int // the status a respond step sent early (send: true)
	s        *server
	// resp is the response respond steps shape; it sends early (SendNow)
	// through w. Kept here, it costs the request no allocation of its own.
	resp triggers.Response
	w    http.ResponseWriter
}

// requestMeta holds the objects of an execution's metadata and the first
// of its strings (requestMetadata), allocated together. It is not part of
// the execution's allocation: a value kept from metadata beyond the
// request (an event's payload, a cache) keeps this alive, and must not
// keep the execution, and through it the message (up to max_body), the
// answer and the trace (TestKeptMetadataDoesNotKeepTheRequest).
type requestMeta struct {
	g    value.ObjectGroup
	strs [metaStrings]string
}

// metaStrings is the room requestMeta has for the strings of its metadata
// (method, host, path, content type, remote address and the headers'
// values): a request of up to 10 headers boxes them all there. With it
// requestMeta is 1008 bytes, 1016 with the runtime's header: the size
// class of 1024 bytes (16 strings would take the next, 1152); with the
// execution's 384 the request's two allocations take the 1408 bytes the
// one of execution and metadata together took.
const metaStrings = 15

// SendNow writes the response a respond step sends early (send: true).
func (ex *execution) SendNow(status int, hd http.Header, b []byte) {
	if ex.sent == 0 {
		ex.s.h.AnsweredEarly(&ex.Execution) // before its caller can ask for the record
	}
	ex.sent = status
	httpjson.Response(ex.w, status, hd, b)
	if f, ok := ex.w.(http.Flusher); ok {
		f.Flush()
	}
}

// generic returns what the caller of an HTTP trigger gets instead of e
// when e's message is internal: it names hosts, ports, URLs, database
// users, file paths or account names. The caller gets a generic message
// and the execution id; the execution's log line and record keep the
// detail. It returns nil when e can be answered as it is.
//
//   - a store failure (store.ErrUnavailable, code 500 and above): its
//     code, "internal error: the store is unavailable; see execution ID";
//   - a failure of an account a step uses (accounts: token endpoint
//     errors, authorization needed, host not allowed, unknown account):
//     502, "an account used by this pipeline failed; see execution ID".
//     Its own code (401 for an account to authorize again, 403 for a
//     host the account may not reach) would blame the caller.
func generic(e *engine.Error, id string) *engine.Error {
	var code int
	var msg string
	switch {
	case httpjson.Status(e.Code) >= 500 && errors.Is(e, store.ErrUnavailable):
		code, msg = e.Code, "internal error: the store is unavailable; see execution "+id
	case accounts.IsAccountFailure(e):
		code, msg = http.StatusBadGateway, "an account used by this pipeline failed; see execution "+id
	default:
		return nil
	}
	return &engine.Error{Timestamp: e.Timestamp, Code: code, Pipeline: e.Pipeline, Step: e.Step, ExecutionID: id, Message: msg}
}

// writeErrorAs writes an error the trigger answers itself (not the
// pipeline's answer) in its error_format: the standard object, or for
// oauth2 RFC 6749 §5.2's {error, error_description}.
func writeErrorAs(w http.ResponseWriter, cfg *HTTP, code int, msg string) {
	if cfg.ErrorFormat != ErrorFormatOAuth2 {
		httpjson.Error(w, code, msg)
		return
	}
	status, oauthCode, desc := oauthError(code, msg)
	b := httpjson.GetBuf()
	*b = append((*b)[:0], `{"error":`...)
	*b = value.AppendString(*b, oauthCode)
	*b = append(*b, `,"error_description":`...)
	*b = value.AppendString(*b, desc)
	*b = append(*b, '}')
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="nectar", error="invalid_client"`)
	}
	httpjson.JSON(w, status, *b)
	httpjson.PutBuf(b)
}

// oauthError maps a status and message to RFC 6749 §5.2. A server that
// cannot answer now (503, 504: a timeout, the store, a shutdown) says
// temporarily_unavailable with 503, so that clients retry; other 5xx are
// server_error, described only as internal (the message may name hosts);
// 4xx keep their status: 401 invalid_client, 429 temporarily_unavailable,
// the others invalid_request with the message.
func oauthError(code int, msg string) (status int, oauthCode, desc string) {
	switch {
	case code == http.StatusServiceUnavailable || code == http.StatusGatewayTimeout:
		return http.StatusServiceUnavailable, "temporarily_unavailable", "the server could not answer in time; retry later"
	case code >= 500:
		return http.StatusInternalServerError, "server_error", "internal error"
	case code == http.StatusUnauthorized:
		return code, "invalid_client", msg
	case code == http.StatusTooManyRequests:
		return code, "temporarily_unavailable", msg
	}
	return httpjson.Status(code), "invalid_request", msg
}

func pathParams(path string) []string {
	var out []string
	for _, seg := range strings.Split(path, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			out = append(out, strings.TrimSuffix(seg[1:len(seg)-1], "..."))
		}
	}
	return out
}
