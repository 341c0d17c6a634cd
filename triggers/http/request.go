package http

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
	"unsafe"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

// readBody reads the body, at most max bytes. A body read to its end is
// closed, so that net/http need not look for more of it before answering;
// a request made by http.NewRequest without a body has none (nil) to close.
//
// A body whose length the request declares (Content-Length, size), of at
// most exactMax bytes, is read into a buffer of its own of exactly that
// size (owned: the caller may keep it, and its strings share it, see
// parseBody); any other body is read into the buffer buf returns (the
// caller's pooled one, taken only then: a request reading into its own
// buffer holds no other while its body arrives), whose bytes the caller
// must copy to keep.
func readBody(body io.ReadCloser, size int64, buf func() []byte, max int64) (data []byte, owned bool, err error) {
	if body == nil || body == http.NoBody {
		return nil, false, nil
	}
	if size > 0 && size <= min(max, exactMax) {
		data = make([]byte, size)
		for n := 0; n < len(data); {
			m, err := body.Read(data[n:])
			n += m
			if err == io.EOF {
				// Shorter than it declared (not one of net/http's, which
				// report that as io.ErrUnexpectedEOF): what arrived, as
				// the general path reads it.
				body.Close()
				return data[:n], true, nil
			}
			if err != nil {
				return data[:n], true, err
			}
		}
		// The declared length is in: the body must end there. A body
		// longer than it declared (not one of net/http's, which stop at
		// Content-Length) is read again by the general path.
		var one [1]byte
		for {
			n, err := body.Read(one[:])
			if n > 0 {
				data, err := readAll(io.MultiReader(bytes.NewReader(data), bytes.NewReader(one[:n]), body), buf(), max)
				if err == nil {
					body.Close()
				}
				return data, false, err
			}
			if err == io.EOF {
				body.Close()
				return data, true, nil
			}
			if err != nil {
				return data, true, err
			}
		}
	}
	data, err = readAll(body, buf(), max)
	if err == nil {
		body.Close()
	}
	return data, false, err
}

// exactMax is the largest declared body read into a buffer of its exact
// size before it arrives: no more than the pooled buffer (4 KiB) the
// general path holds while a body arrives. A larger one grows with what
// arrives, so that clients declaring large bodies they then send slowly,
// or not at all, hold no more memory than before.
const exactMax = 4 << 10

// readAll reads r into buf, at most max bytes (more is an error).
func readAll(r io.Reader, buf []byte, max int64) ([]byte, error) {
	b := bytes.NewBuffer(buf[:0])
	if _, err := b.ReadFrom(io.LimitReader(r, max+1)); err != nil {
		return b.Bytes(), err
	}
	if int64(b.Len()) > max {
		return b.Bytes(), &http.MaxBytesError{Limit: max}
	}
	return b.Bytes(), nil
}

// requestSecrets returns the secrets a request carries outside its body:
// the API key (apikey, X-Api-Key), the Authorization credential (a bearer
// token; a Basic credential and its password), and path and query
// parameters with a sensitive name. The execution's record masks them
// wherever they appear. Values shorter than engine.MinSecretLen are left out. credHeaders is
// requestMetadata's answer: whether the request has any of those headers
// (when not, they are not looked up); params, whether its route has path
// parameters (when not, they are not looked up either).
func requestSecrets(r *http.Request, req *value.Object, credHeaders, params bool, lists ...[]string) []string {
	var out []string
	add := func(v string) {
		// A placeholder (engine.Placeholder: 00000000) hides nothing
		// and would eat every run of its byte in the error answered.
		if len(v) >= engine.MinSecretLen && !engine.Placeholder(v) && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	if credHeaders {
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
	}
	// A path parameter with a sensitive name (path: /hooks/{token}) is a
	// credential in the URL as a query parameter is: the request line
	// ("POST /hooks/…") and the metadata hold it.
	if params {
		if p, ok := req.Get("params"); ok {
			if p, ok := p.(*value.Object); ok {
				p.Range(func(k string, v any) bool {
					if s, ok := v.(string); ok && engine.SensitiveField(k, lists...) {
						add(s)
					}
					return true
				})
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

// requestMetadata builds metadata.request. Its strings are boxed a few
// per allocation (value.Boxer), the first into strs (room the caller
// allocated with g, the execution's: none when nil): a request has a
// dozen. credHeaders reports
// whether the request has an Apikey, X-Api-Key or Authorization header
// (see requestSecrets), seen as the headers are gone through.
//
// Its objects are g's (value.NewObjectGroup, made by the caller, who
// takes the metadata object, g[2], from it too): the request, g[0], has
// room for its eight fields and the two parseBody may add (body_encoding,
// body_error), and is not grown. Its eight keys are the distinct constants
// below, so each is added without Set's search (AppendNew). The headers,
// g[1], have room for six, the params, g[3], for none: more headers, and
// path parameters, have an object of their own, as a query string does
// (queryObject); the group's objects are then left empty. g[4] is the
// empty query of a request without one.
func requestMetadata(r *http.Request, params []string, cfg *HTTP, ctype string, g *[5]value.Object, strs []string) (req *value.Object, credHeaders bool) {
	var bx value.Boxer
	bx.Room(strs)
	req = &g[0]
	req.AppendNew("method", bx.String(r.Method))
	req.AppendNew("host", bx.String(r.Host))
	req.AppendNew("path", bx.String(r.URL.Path))
	po := &g[3]
	if len(params) > 0 {
		po = value.NewObject(len(params))
		for _, p := range params {
			po.Set(p, bx.String(r.PathValue(p)))
		}
	}
	req.AppendNew("params", po)
	q := &g[4]
	if r.URL.RawQuery != "" {
		q, _ = queryObject(r.URL.RawQuery)
	}
	req.AppendNew("query", q)
	hdr := &g[1]
	if len(r.Header) > 6 {
		hdr = value.NewObject(len(r.Header))
	}
	authed := len(cfg.Auth) > 0 && cfg.Auth[0] != "none"
	// Headers in name order, so that metadata (and any output built from it)
	// is the same for the same request.
	// Name and values together, so that each is not looked up again.
	var stack [32]headerField
	fields := stack[:0]
	for k, vals := range r.Header {
		fields = append(fields, headerField{k, vals})
		switch k {
		case "Apikey", "X-Api-Key", "Authorization":
			credHeaders = true
		}
	}
	if len(fields) <= len(stack) {
		// A request's few headers: an insertion sort, inlined, where
		// slices.SortFunc costs a call per comparison.
		for i := 1; i < len(fields); i++ {
			for j := i; j > 0 && fields[j].name < fields[j-1].name; j-- {
				fields[j], fields[j-1] = fields[j-1], fields[j]
			}
		}
	} else {
		slices.SortFunc(fields, func(a, b headerField) int { return strings.Compare(a.name, b.name) })
	}
	for _, f := range fields {
		vals := f.vals
		lk := lowerHeader(f.name)
		if authed && (lk == "apikey" || lk == "authorization") {
			continue // the consumer is in metadata.consumer; the credential stays out of the pipeline
		}
		if len(vals) == 1 {
			hdr.Set(lk, bx.String(vals[0]))
		} else {
			hdr.Set(lk, bx.String(strings.Join(vals, ", ")))
		}
	}
	req.AppendNew("headers", hdr)
	req.AppendNew("content_type", bx.String(ctype))
	req.AppendNew("remote_addr", bx.String(r.RemoteAddr))
	return req, credHeaders
}

type headerField struct {
	name string
	vals []string
}

// commonHeaders are the canonical header names lowerHeader maps to lower
// case without allocating a new string per request.
var commonHeaders = []string{"Accept", "Accept-Encoding", "Accept-Language", "Apikey", "Authorization", "Cache-Control",
	"Connection", "Content-Length", "Content-Type", "Cookie", "Host", "Origin", "Referer", "User-Agent",
	"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Request-Id", "Traceparent"}

// lowerHeader returns k in lower case: a constant for one of
// commonHeaders (a switch, which the compiler turns into a search by
// length and value, where a map lookup hashes k first).
func lowerHeader(k string) string {
	switch k {
	case "Accept":
		return "accept"
	case "Accept-Encoding":
		return "accept-encoding"
	case "Accept-Language":
		return "accept-language"
	case "Apikey":
		return "apikey"
	case "Authorization":
		return "authorization"
	case "Cache-Control":
		return "cache-control"
	case "Connection":
		return "connection"
	case "Content-Length":
		return "content-length"
	case "Content-Type":
		return "content-type"
	case "Cookie":
		return "cookie"
	case "Host":
		return "host"
	case "Origin":
		return "origin"
	case "Referer":
		return "referer"
	case "User-Agent":
		return "user-agent"
	case "X-Forwarded-For":
		return "x-forwarded-for"
	case "X-Forwarded-Host":
		return "x-forwarded-host"
	case "X-Forwarded-Proto":
		return "x-forwarded-proto"
	case "X-Request-Id":
		return "x-request-id"
	case "Traceparent":
		return "traceparent"
	}
	return strings.ToLower(k)
}

// queryObject parses a query string or a form body into an object whose
// keys keep the order of the text; a repeated name gives a list. Like
// url.ParseQuery, it keeps what parses and reports the first bad part.
//
// Its values are boxed a few per allocation (value.Boxer).
func queryObject(raw string) (*value.Object, error) {
	o := value.NewObject(4)
	var bx value.Boxer
	var firstErr error
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		k, err1 := queryUnescape(k)
		v, err2 := queryUnescape(v)
		if err := errors.Join(err1, err2); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		switch prev, ok := o.Get(k); {
		case !ok:
			o.Set(k, bx.String(v))
		case isList(prev):
			o.Set(k, append(prev.([]any), bx.String(v)))
		default:
			o.Set(k, []any{prev, bx.String(v)})
		}
	}
	return o, firstErr
}

func isList(v any) bool { _, ok := v.([]any); return ok }

// queryUnescape is url.QueryUnescape: a text without '%' or '+' is its own
// unescaped form, found with two IndexByte scans where url.QueryUnescape
// looks at each byte in turn (a token request's client secret, id and
// grant type are such texts).
func queryUnescape(s string) (string, error) {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s, nil
	}
	return url.QueryUnescape(s)
}

// body is a request body turned into the message.
type body struct {
	msg any
	// raw is the body's text for a JSON body, which the execution history
	// keeps as the input snapshot instead of encoding the message again.
	raw string
	// unparsed is set when the body was not parsed into fields (text, or
	// bytes as base64): its secrets cannot be told by field names.
	unparsed *engine.UnparsedBody
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
//
// When owned, data is the request's own buffer, never written again: the
// message's strings (a JSON body's text, a form's values, a text body)
// share it instead of copying it.
func parseBody(data []byte, owned bool, ctype string, req *value.Object) body {
	t := trimLead(data)
	if len(bytes.TrimSpace(t)) == 0 {
		return body{msg: value.NewObject(0)}
	}
	mt := ctype
	if i := strings.IndexByte(mt, ';'); i >= 0 {
		mt = mt[:i]
	}
	mt = lowerMediaType(strings.TrimSpace(mt))
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json") || mt == "" && looksJSON(t):
		text := bodyText(t, owned) // the message's strings share it
		v, err := value.DecodeString(text)
		if err != nil {
			return body{bad: "malformed JSON: " + err.Error()}
		}
		return body{msg: v, raw: text}
	case mt == "application/x-www-form-urlencoded":
		if looksJSON(t) {
			text := bodyText(t, owned)
			v, err := value.DecodeString(text)
			if err != nil {
				return body{bad: "the body looks like JSON (it starts with " + string(t[0]) + ") but is sent as " +
					"application/x-www-form-urlencoded and is not valid JSON: " + err.Error() +
					"; send JSON with Content-Type: application/json (curl: -H 'Content-Type: application/json' or --json)"}
			}
			return body{msg: v, raw: text}
		}
		// data's bytes as a string, not copied: fieldCount only reads them.
		if n := fieldCount(unsafe.String(unsafe.SliceData(data), len(data))); n > MaxFormFields {
			return body{bad: "the form body has " + strconv.Itoa(n) + " fields; at most " + strconv.Itoa(MaxFormFields) + " are accepted"}
		}
		form, err := queryObject(bodyText(data, owned))
		if err != nil {
			return body{bad: "malformed form: " + err.Error()}
		}
		return body{msg: form}
	case mt == "multipart/form-data":
		v, err := parseMultipart(data, ctype)
		return body{msg: v, bad: err}
	case strings.HasPrefix(mt, "text/") || strings.HasSuffix(mt, "xml") || mt == "" || utf8.Valid(data) && !strings.HasPrefix(mt, "application/octet-stream"):
		return body{msg: bodyText(data, owned), unparsed: &engine.UnparsedBody{ContentType: mt, Size: len(data)}}
	}
	req.Set("body_encoding", "base64")
	return body{msg: base64.StdEncoding.EncodeToString(data), unparsed: &engine.UnparsedBody{ContentType: mt, Size: len(data), Base64: true}}
}

// lowerMediaType is strings.ToLower(mt): the media types requests send
// most, written in lower case already, are compared whole instead of
// scanned byte by byte for capitals.
func lowerMediaType(mt string) string {
	switch mt {
	case "application/json", "application/x-www-form-urlencoded":
		return mt
	}
	return strings.ToLower(mt)
}

// bodyText returns t as a string: t itself when owned (a buffer of the
// request's own, never written again), else a copy.
func bodyText(t []byte, owned bool) string {
	if owned && len(t) > 0 {
		return unsafe.String(unsafe.SliceData(t), len(t))
	}
	return string(t)
}

// MaxFormFields is the most fields a form or multipart body, or a query
// string, may have.
const MaxFormFields = 10000

// fieldCount counts the non-empty &-separated parts of a form or query,
// without allocating, going from one '&' to the next with IndexByte.
func fieldCount(raw string) int {
	n := 0
	for raw != "" {
		i := strings.IndexByte(raw, '&')
		if i < 0 {
			return n + 1
		}
		if i > 0 {
			n++
		}
		raw = raw[i+1:]
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
