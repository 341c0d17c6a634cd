package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/consumers"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/store"
	"github.com/nectar-run/nectar/triggers"
)

// ServeHTTP routes management paths to the API and the rest to the
// pipelines of the current generation.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if strings.HasPrefix(p, "/api/") || p == "/api" || p == "/healthz" || p == "/readyz" || p == "/metrics" || strings.HasPrefix(p, "/debug/") {
		s.api.ServeHTTP(w, r)
		return
	}
	s.gen.Load().mux.ServeHTTP(w, r)
}

// Handler returns the server's http.Handler.
func (s *Server) Handler() http.Handler { return s }

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

const maxPooled = 64 << 10

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) <= maxPooled {
		*b = (*b)[:0]
		bufPool.Put(b)
	}
}

// ServeHTTP runs the pipeline serving the request's method.
func (rt *route) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v := rt.methods[r.Method]
	if v == nil {
		if r.Method == http.MethodOptions && rt.cors != nil {
			rt.preflight(w, r)
			return
		}
		w.Header().Set("Allow", rt.allow)
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" is not allowed on "+rt.path+"; use "+rt.allow)
		return
	}
	v.inflight.Add(1)
	defer v.inflight.Done()
	rt.s.active.add()
	defer rt.s.active.done()
	rt.s.bodyDeadline(w, r, v.p.Trigger.Config.(*triggers.HTTP).Timeout.D())
	rt.s.serve(w, r, rt, v)
}

func (rt *route) preflight(w http.ResponseWriter, r *http.Request) {
	c := rt.cors
	h := w.Header()
	if !setOrigin(h, c, r.Header.Get("Origin")) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	methods := c.Methods
	if len(methods) == 0 {
		for _, m := range strings.Split(rt.allow, ", ") {
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
func setOrigin(h http.Header, c *triggers.CORS, origin string) bool {
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

// caller is who sent a request.
type caller struct {
	consumer *consumers.Consumer
	method   string // apikey, basic, jwt
	subject  string
	claims   *value.Object
}

// serve runs one HTTP-triggered execution.
func (s *Server) serve(w http.ResponseWriter, r *http.Request, rt *route, v *version) {
	start := time.Now()
	s.metrics.inflight.Inc()
	defer s.metrics.inflight.Dec()
	cfg := v.p.Trigger.Config.(*triggers.HTTP)
	code := 0
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("request handler panicked", "pipeline", v.p.Name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if code == 0 {
				code = http.StatusInternalServerError
				writeErrorAs(w, cfg, code, "internal error")
			}
		}
		v.pm.request(code)
	}()
	h := w.Header()
	if cfg.CORS != nil {
		setOrigin(h, cfg.CORS, r.Header.Get("Origin"))
	}
	for k, val := range cfg.Headers {
		h.Set(k, val)
	}
	who, status, reason := s.authenticate(r, cfg, v.p.Name)
	if status != 0 {
		if status == http.StatusUnauthorized {
			h.Set("WWW-Authenticate", challenge(cfg))
		}
		code = status
		writeErrorAs(w, cfg, status, reason)
		return
	}
	if wait, limited := s.rateLimited(r, cfg, v.p.Name, who, start); limited {
		h.Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		code = http.StatusTooManyRequests
		writeErrorAs(w, cfg, code, "rate limit exceeded; retry in "+strconv.Itoa(int(math.Ceil(wait.Seconds())))+"s")
		return
	}
	if n := fieldCount(r.URL.RawQuery); n > MaxFormFields {
		code = http.StatusBadRequest
		writeError(w, code, "the query string has "+strconv.Itoa(n)+" parameters; at most "+strconv.Itoa(MaxFormFields)+" are accepted")
		return
	}
	max := cfg.MaxBodyBytes()
	if r.ContentLength > max {
		code = http.StatusRequestEntityTooLarge
		writeErrorAs(w, cfg, code, "request body is larger than "+cfg.MaxBody)
		return
	}
	body := getBuf()
	defer putBuf(body)
	data, err := readBody(r.Body, *body, max)
	*body = data[:0]
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			code = http.StatusRequestEntityTooLarge
			writeErrorAs(w, cfg, code, "request body is larger than "+cfg.MaxBody)
			return
		}
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
			code = http.StatusRequestTimeout
			h.Set("Connection", "close")
			writeErrorAs(w, cfg, code, "the request body did not arrive within the trigger's timeout of "+cfg.Timeout.D().String())
			return
		}
		code = http.StatusBadRequest
		writeErrorAs(w, cfg, code, "reading the request body: "+err.Error())
		return
	}
	ctype := r.Header.Get("Content-Type")
	req := requestMetadata(r, rt, cfg, ctype)
	in := parseBody(data, ctype, req)
	if in.bad != "" {
		if cfg.MalformedBody != "pass" {
			code = http.StatusBadRequest
			writeErrorAs(w, cfg, code, in.bad)
			return
		}
		req.Set("body_error", in.bad) // the pipeline answers it in its own format
		in.msg, in.raw = nil, ""
	}
	msg := in.msg
	secrets := requestSecrets(r, req, v.p.SensitiveFields, s.rt.SensitiveFields)
	md := value.NewObject(3)
	md.Set("trigger", "http")
	md.Set("request", req)
	consumerName := ""
	if who != nil {
		co := value.NewObject(3)
		co.Set("name", who.subject)
		co.Set("auth", who.method)
		if who.claims != nil {
			co.Set("claims", who.claims)
		}
		md.Set("consumer", co)
		consumerName = who.subject
	}
	id := history.NewID(start)
	ctx, cancel := context.WithTimeout(r.Context(), cfg.Timeout.D())
	defer cancel()
	// A shutdown whose drain runs out of time cancels the execution.
	defer context.AfterFunc(s.execCtx, cancel)()
	resp := triggers.NewResponse(func(status int, hd http.Header, b []byte) {
		code = status
		writeResponse(w, status, hd, b)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	})
	ctx = triggers.WithResponse(ctx, resp)
	var trace *engine.Trace
	if !s.opts.HistoryOff {
		trace = &engine.Trace{}
	}
	h.Set("X-Execution-Id", id)
	out, runErr := v.p.Run(ctx, s.rt, msg, engine.RunOptions{ExecutionID: id, Metadata: md, Trace: trace, Secrets: secrets})
	end := time.Now()
	var e *engine.Error
	if runErr != nil {
		e = engine.AsError(runErr)
		switch {
		case ctx.Err() == context.DeadlineExceeded && r.Context().Err() == nil:
			e.Code = http.StatusGatewayTimeout
			if !strings.Contains(e.Message, "timed out") {
				e.Message = "execution timed out after " + cfg.Timeout.D().String() + ": " + e.Message
			}
		case s.execCtx.Err() != nil && r.Context().Err() == nil:
			e.Code = http.StatusServiceUnavailable
			e.Message = errShutdownCut + ": " + e.Message
		}
		if e.Code >= 500 {
			s.log.Warn("execution failed", "execution_id", id, "pipeline", v.p.Name, "code", e.Code, "error", engine.MaskSecrets(e.Message, secrets))
		}
	}
	rs, rh, rb, set, sent := resp.Get()
	rawOutput := ""
	switch {
	case sent:
		// answered early by respond send: true
	case e != nil:
		code = statusOf(e.Code)
		pub := e
		if g := generic(e, id); g != nil {
			pub = g
			code = g.Code
		}
		if cfg.ErrorFormat == triggers.ErrorFormatOAuth2 {
			writeErrorAs(w, cfg, code, pub.Message)
			break
		}
		b := getBuf()
		*b, _ = value.AppendJSON((*b)[:0], pub.Object())
		writeJSON(w, code, *b)
		putBuf(b)
	case set:
		code = rs
		writeResponse(w, rs, rh, rb)
	default:
		code = http.StatusOK
		b := getBuf()
		var encErr error
		*b, encErr = value.AppendJSON((*b)[:0], out)
		if encErr != nil {
			code = http.StatusInternalServerError
			writeErrorAs(w, cfg, code, "the final message cannot be written as JSON: "+encErr.Error())
		} else {
			writeJSON(w, code, *b)
			if !s.opts.HistoryOff {
				rawOutput = string(*b) // the history keeps what was answered
			}
		}
		putBuf(b)
	}
	if e != nil {
		v.pm.failed.Inc()
	} else {
		v.pm.ok.Inc()
	}
	v.pm.duration.Observe(end.Sub(start).Seconds())
	s.hist.Record(&history.Execution{
		ID: id, Pipeline: v.p, Trigger: "http", Consumer: consumerName, Start: start, End: end,
		Input: msg, Output: out, Err: e, Trace: trace, Request: r.Method + " " + r.URL.Path, Code: code,
		InputJSON: in.raw, OutputJSON: rawOutput, InputBody: in.unparsed, Secrets: secrets,
	})
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
	case statusOf(e.Code) >= 500 && errors.Is(e, store.ErrUnavailable):
		code, msg = e.Code, "internal error: the store is unavailable; see execution "+id
	case accounts.IsAccountFailure(e):
		code, msg = http.StatusBadGateway, "an account used by this pipeline failed; see execution "+id
	default:
		return nil
	}
	return &engine.Error{Timestamp: e.Timestamp, Code: code, Pipeline: e.Pipeline, Step: e.Step, ExecutionID: id, Message: msg}
}

// errShutdownCut starts the message of an execution a shutdown cancelled.
const errShutdownCut = "execution cancelled: the server shut down before it ended (--shutdown-timeout)"

func statusOf(code int) int {
	if code < 100 || code > 599 {
		return http.StatusInternalServerError
	}
	return code
}

// readBody reads at most max bytes into buf.
func readBody(body io.ReadCloser, buf []byte, max int64) ([]byte, error) {
	if body == nil || body == http.NoBody {
		return buf[:0], nil
	}
	lr := io.LimitReader(body, max+1)
	b := bytes.NewBuffer(buf[:0])
	if _, err := b.ReadFrom(lr); err != nil {
		return b.Bytes(), err
	}
	if int64(b.Len()) > max {
		return b.Bytes(), &http.MaxBytesError{Limit: max}
	}
	return b.Bytes(), nil
}

// requestSecrets returns the secrets a request carries outside its body:
// the API key (apikey, X-Api-Key), the Authorization credential (a bearer
// token; a Basic credential and its password), and query parameters with a
// sensitive name. The execution's record masks them wherever they appear.
// Values shorter than engine.MinSecretLen are left out.
func requestSecrets(r *http.Request, req *value.Object, lists ...[]string) []string {
	var out []string
	add := func(v string) {
		if len(v) >= engine.MinSecretLen && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	for _, h := range [...]string{"Apikey", "X-Api-Key"} {
		for _, v := range r.Header[h] {
			add(strings.TrimSpace(v))
		}
	}
	for _, v := range r.Header["Authorization"] {
		scheme, cred, _ := strings.Cut(strings.TrimSpace(v), " ")
		cred = strings.TrimSpace(cred)
		add(cred)
		if strings.EqualFold(scheme, "basic") {
			if raw, err := base64.StdEncoding.DecodeString(cred); err == nil {
				_, pass, _ := strings.Cut(string(raw), ":")
				add(pass)
			}
		}
	}
	if r.URL.RawQuery != "" {
		q, _ := req.Get("query")
		if q, ok := q.(*value.Object); ok {
			q.Range(func(k string, v any) bool {
				if engine.SensitiveField(k, lists...) {
					switch t := v.(type) {
					case string:
						add(t)
					case []any:
						for _, c := range t {
							s, _ := c.(string)
							add(s)
						}
					}
				}
				return true
			})
		}
	}
	return out
}

// requestMetadata builds metadata.request.
func requestMetadata(r *http.Request, rt *route, cfg *triggers.HTTP, ctype string) *value.Object {
	req := value.NewObject(7)
	req.Set("method", r.Method)
	req.Set("host", r.Host)
	req.Set("path", r.URL.Path)
	params := value.NewObject(len(rt.params))
	for _, p := range rt.params {
		params.Set(p, r.PathValue(p))
	}
	req.Set("params", params)
	var q *value.Object
	if r.URL.RawQuery != "" {
		q, _ = queryObject(r.URL.RawQuery)
	} else {
		q = value.NewObject(0)
	}
	req.Set("query", q)
	hdr := value.NewObject(len(r.Header))
	authed := len(cfg.Auth) > 0 && cfg.Auth[0] != "none"
	// Headers in name order, so that metadata (and any output built from it)
	// is the same for the same request.
	var stack [32]string
	names := stack[:0]
	for k := range r.Header {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		vals := r.Header[k]
		lk := lowerHeader(k)
		if authed && (lk == "apikey" || lk == "authorization") {
			continue // the consumer is in metadata.consumer; the credential stays out of the pipeline
		}
		if len(vals) == 1 {
			hdr.Set(lk, vals[0])
		} else {
			hdr.Set(lk, strings.Join(vals, ", "))
		}
	}
	req.Set("headers", hdr)
	req.Set("content_type", ctype)
	req.Set("remote_addr", r.RemoteAddr)
	return req
}

// commonHeaders maps canonical header names to lower case without
// allocating a new string per request.
var commonHeaders = func() map[string]string {
	m := map[string]string{}
	for _, h := range []string{"Accept", "Accept-Encoding", "Accept-Language", "Apikey", "Authorization", "Cache-Control",
		"Connection", "Content-Length", "Content-Type", "Cookie", "Host", "Origin", "Referer", "User-Agent",
		"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Request-Id", "Traceparent"} {
		m[h] = strings.ToLower(h)
	}
	return m
}()

func lowerHeader(k string) string {
	if l, ok := commonHeaders[k]; ok {
		return l
	}
	return strings.ToLower(k)
}

// queryObject parses a query string or a form body into an object whose
// keys keep the order of the text; a repeated name gives a list. Like
// url.ParseQuery, it keeps what parses and reports the first bad part.
func queryObject(raw string) (*value.Object, error) {
	o := value.NewObject(4)
	var firstErr error
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		k, err1 := url.QueryUnescape(k)
		v, err2 := url.QueryUnescape(v)
		if err := errors.Join(err1, err2); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		switch prev, ok := o.Get(k); {
		case !ok:
			o.Set(k, v)
		case isList(prev):
			o.Set(k, append(prev.([]any), v))
		default:
			o.Set(k, []any{prev, v})
		}
	}
	return o, firstErr
}

func isList(v any) bool { _, ok := v.([]any); return ok }

// body is a request body turned into the message.
type body struct {
	msg any
	// raw is the body's text for a JSON body, which the execution history
	// keeps as the input snapshot instead of encoding the message again.
	raw string
	// unparsed is set when the body was not parsed into fields (text, or
	// bytes as base64): its secrets cannot be told by field names.
	unparsed *history.Body
	// bad is a message for the client on malformed input.
	bad string
}

// parseBody turns the request body into the message: JSON parsed, forms as
// objects, text as a string, other bytes as base64 text.
//
// A UTF-8 byte order mark and Unicode white space (a non-breaking space
// too) before a JSON or form body are dropped: many editors save JSON files
// with a BOM, and curl -d @file.json sends them as they are.
//
// A form body (application/x-www-form-urlencoded, what curl -d sends by
// default) whose first character after those is { or [ is read as JSON
// when it is one JSON object or array: that is what its sender meant, and
// its fields are then masked by name. One that starts with { or [ but is
// not valid JSON is refused with a message saying so, rather than read as
// a form of one odd key holding the whole document.
//
// A form (or multipart) body of more than MaxFormFields fields is refused:
// each field costs far more memory than its bytes.
func parseBody(data []byte, ctype string, req *value.Object) body {
	t := trimLead(data)
	if len(bytes.TrimSpace(t)) == 0 {
		return body{msg: value.NewObject(0)}
	}
	mt := ctype
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = mt[:i]
	}
	mt = strings.ToLower(strings.TrimSpace(mt))
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json") || mt == "" && looksJSON(t):
		text := string(t) // the one copy: the message's strings share it
		v, err := value.DecodeString(text)
		if err != nil {
			return body{bad: "malformed JSON: " + err.Error()}
		}
		return body{msg: v, raw: text}
	case mt == "application/x-www-form-urlencoded":
		if looksJSON(t) {
			text := string(t)
			v, err := value.DecodeString(text)
			if err != nil {
				return body{bad: "the body looks like JSON (it starts with " + string(t[0]) + ") but is sent as " +
					"application/x-www-form-urlencoded and is not valid JSON: " + err.Error() +
					"; send JSON with Content-Type: application/json (curl: -H 'Content-Type: application/json' or --json)"}
			}
			return body{msg: v, raw: text}
		}
		if n := fieldCount(data); n > MaxFormFields {
			return body{bad: "the form body has " + strconv.Itoa(n) + " fields; at most " + strconv.Itoa(MaxFormFields) + " are accepted"}
		}
		form, err := queryObject(string(data))
		if err != nil {
			return body{bad: "malformed form: " + err.Error()}
		}
		return body{msg: form}
	case mt == "multipart/form-data":
		v, err := parseMultipart(data, ctype)
		return body{msg: v, bad: err}
	case strings.HasPrefix(mt, "text/") || strings.HasSuffix(mt, "xml") || mt == "" || utf8.Valid(data) && !strings.HasPrefix(mt, "application/octet-stream"):
		return body{msg: string(data), unparsed: &history.Body{ContentType: mt, Size: len(data)}}
	}
	req.Set("body_encoding", "base64")
	return body{msg: base64.StdEncoding.EncodeToString(data), unparsed: &history.Body{ContentType: mt, Size: len(data), Base64: true}}
}

// MaxFormFields is the most fields a form or multipart body, or a query
// string, may have.
const MaxFormFields = 10000

// fieldCount counts the non-empty &-separated parts of a form or query,
// without allocating.
func fieldCount[T string | []byte](raw T) int {
	n, start := 0, 0
	for i := 0; i <= len(raw); i++ {
		if i == len(raw) || raw[i] == '&' {
			if i > start {
				n++
			}
			start = i + 1
		}
	}
	return n
}

// trimLead drops byte order marks and Unicode white space at the start of
// data.
func trimLead(data []byte) []byte {
	return bytes.TrimLeftFunc(data, func(r rune) bool { return r == '\uFEFF' || unicode.IsSpace(r) })
}

// looksJSON reports whether t (trimmed by trimLead) starts a JSON object or
// array.
func looksJSON(t []byte) bool {
	return len(t) > 0 && (t[0] == '{' || t[0] == '[')
}

// parseMultipart gives form fields as strings and files as
// {filename, content_type, size, content (base64)}.
func parseMultipart(data []byte, ctype string) (any, string) {
	_, params, err := mime.ParseMediaType(ctype)
	if err != nil || params["boundary"] == "" {
		return nil, "malformed multipart body: no boundary"
	}
	mr := multipart.NewReader(bytes.NewReader(data), params["boundary"])
	out := value.NewObject(4)
	for n := 0; ; n++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if n == MaxFormFields {
			return nil, "the multipart body has more than " + strconv.Itoa(MaxFormFields) + " parts; at most " + strconv.Itoa(MaxFormFields) + " are accepted"
		}
		if err != nil {
			return nil, "malformed multipart body: " + err.Error()
		}
		b, err := io.ReadAll(part)
		if err != nil {
			return nil, "malformed multipart body: " + err.Error()
		}
		name := part.FormName()
		if part.FileName() == "" {
			out.Set(name, string(b))
			continue
		}
		f := value.NewObject(4)
		f.Set("filename", part.FileName())
		f.Set("content_type", part.Header.Get("Content-Type"))
		f.Set("size", int64(len(b)))
		f.Set("content", base64.StdEncoding.EncodeToString(b))
		out.Set(name, f)
	}
	return out, ""
}

func writeJSON(w http.ResponseWriter, code int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

func writeResponse(w http.ResponseWriter, code int, hd http.Header, body []byte) {
	h := w.Header()
	for k, vs := range hd {
		h[k] = vs
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// writeErrorAs writes an error the server answers itself for a route (not
// the pipeline's answer) in the trigger's error_format: the standard
// object, or for oauth2 RFC 6749 §5.2's {error, error_description}.
func writeErrorAs(w http.ResponseWriter, cfg *triggers.HTTP, code int, msg string) {
	if cfg.ErrorFormat != triggers.ErrorFormatOAuth2 {
		writeError(w, code, msg)
		return
	}
	status, oauthCode, desc := oauthError(code, msg)
	b := getBuf()
	*b = append((*b)[:0], `{"error":`...)
	*b = value.AppendString(*b, oauthCode)
	*b = append(*b, `,"error_description":`...)
	*b = value.AppendString(*b, desc)
	*b = append(*b, '}')
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="nectar", error="invalid_client"`)
	}
	writeJSON(w, status, *b)
	putBuf(b)
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
	return statusOf(code), "invalid_request", msg
}

// writeError writes the standard error object {timestamp, error, code}.
func writeError(w http.ResponseWriter, code int, msg string) {
	b := getBuf()
	*b = append((*b)[:0], `{"timestamp":`...)
	*b = strconv.AppendInt(*b, time.Now().UnixMilli(), 10)
	*b = append(*b, `,"error":`...)
	*b = value.AppendString(*b, msg)
	*b = append(*b, `,"code":`...)
	*b = strconv.AppendInt(*b, int64(code), 10)
	*b = append(*b, '}')
	writeJSON(w, code, *b)
	putBuf(b)
}
