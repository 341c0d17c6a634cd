// Package rest implements the rest connector: it calls an HTTP API with a
// method, URL, headers, query and a JSON, form, multipart, text or raw
// body, applies an account (whose OAuth token is obtained, cached, renewed
// and retried by itself), retries with backoff, follows pages, and returns
// {status, statusMessage, headers, body} with JSON bodies parsed. Client
// and server errors become step errors when stop_on_client_error or
// stop_on_server_error is set.
package rest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/connectors/files"
	"github.com/nectar-run/nectar/connectors/httpclient"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
	ntext "github.com/nectar-run/nectar/internal/text"
)

// Config holds the options of a rest step.
type Config struct {
	Method            string                     `yaml:"method" default:"GET" enum:"GET,POST,PUT,PATCH,DELETE,HEAD,OPTIONS" doc:"the HTTP method"`
	URL               engine.Template            `yaml:"url" required:"true" doc:"the URL; expressions allowed, account fields not"`
	Headers           map[string]engine.Template `yaml:"headers" doc:"request headers; values may use expressions and {{ account.NAME.field }}"`
	Query             map[string]engine.Template `yaml:"query" doc:"query parameters added to the URL's; values may use expressions"`
	Body              engine.Dynamic             `yaml:"body" doc:"the request body: any value, with expressions; for multipart, {fields: {...}, files: {field: path}}"`
	BodyType          string                     `yaml:"body_type" enum:"json,form,multipart,text,raw" doc:"how body is sent; default: from the Content-Type header, else json (text for a string body)"`
	GzipBody          bool                       `yaml:"gzip_body" doc:"compress the request body with gzip (Content-Encoding: gzip)"`
	StopOnClientError bool                       `yaml:"stop_on_client_error" doc:"fail the step on a 4xx answer (its status becomes the error's code)"`
	StopOnServerError bool                       `yaml:"stop_on_server_error" doc:"fail the step on a 5xx answer"`
	ResponseBody      string                     `yaml:"response_body" default:"auto" enum:"auto,json,text,base64" doc:"how the response body is returned: auto parses JSON, keeps text and base64-encodes binary"`
	Pagination        *Pagination                `yaml:"pagination" doc:"follow pages and collect their items into one list"`
	AllowAnyPath      bool                       `yaml:"allow_any_path" doc:"multipart: take files paths outside the execution's working directory (only for messages you trust)"`

	httpclient.Config `yaml:",inline"`
}

// Pagination follows pages of a listing. Items of each page (at
// items_path, or the body when it is a list) are collected into one list,
// which becomes the result's body; pages is the number fetched, and
// truncated is true when max_pages stopped it.
type Pagination struct {
	Type        string `yaml:"type" required:"true" enum:"link_header,next_url,cursor,page" doc:"link_header: the Link header's rel=next; next_url: a body field holding the next URL; cursor: a body field holding a cursor sent back as a query parameter; page: a page-number query parameter"`
	NextPath    string `yaml:"next_path" doc:"body field with the next URL (next_url) or cursor (cursor), like meta.next"`
	CursorParam string `yaml:"cursor_param" default:"cursor" doc:"query parameter carrying the cursor (cursor)"`
	PageParam   string `yaml:"page_param" default:"page" doc:"query parameter carrying the page number (page)"`
	StartPage   int    `yaml:"start_page" default:"1" doc:"first page number (page)"`
	ItemsPath   string `yaml:"items_path" doc:"body field holding the page's items, like data; empty: the body itself is the list"`
	MaxPages    int    `yaml:"max_pages" default:"100" doc:"most pages fetched"`
}

type step struct {
	cfg        Config
	client     *httpclient.Client
	headers    []header
	query      []param
	accountRef []string // accounts referenced in header values
	bodyType   string
	respMode   string
	itemsPath  []string
	nextPath   []string
}

type header struct {
	name     string
	tpl      engine.Template
	literal  string
	isConst  bool
	sensitiv bool
}

var (
	acceptJSON = []string{"application/json, */*;q=0.5"}
	userAgent  = []string{"nectar"}
)

type param struct {
	name string
	tpl  engine.Template
}

var _ engine.Step = (*step)(nil)
var _ engine.Closer = (*step)(nil)

var accountRefRE = regexp.MustCompile(`account\s*(?:\.\s*([A-Za-z][A-Za-z0-9_]*)|\[\s*["']([^"']+)["']\s*\])`)

func init() {
	engine.Register("rest", "Calls an HTTP API, with an account whose token attaches itself, retries and pagination.", compile)
}

func compile(cfg Config, cc *engine.Compiler) (engine.Step, error) {
	s := &step{cfg: cfg, bodyType: cfg.BodyType, respMode: cfg.ResponseBody}
	if lit, ok := cfg.URL.Literal(); ok {
		u, err := url.Parse(lit)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, cc.Errorf("url", "expected an http or https URL, got %q", lit)
		}
	}
	names := make([]string, 0, len(cfg.Headers))
	for k := range cfg.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	seen := map[string]bool{}
	for _, k := range names {
		t := cfg.Headers[k]
		h := header{name: textproto.CanonicalMIMEHeaderKey(k), tpl: t}
		h.literal, h.isConst = t.Literal()
		for _, m := range accountRefRE.FindAllStringSubmatch(t.Source(), -1) {
			name := m[1] + m[2]
			h.sensitiv = true
			if !seen[name] {
				seen[name] = true
				s.accountRef = append(s.accountRef, name)
			}
		}
		s.headers = append(s.headers, h)
		if strings.EqualFold(k, "Content-Type") && s.bodyType == "" && h.isConst {
			s.bodyType = bodyTypeOf(h.literal)
		}
	}
	qnames := make([]string, 0, len(cfg.Query))
	for k := range cfg.Query {
		qnames = append(qnames, k)
	}
	sort.Strings(qnames)
	for _, k := range qnames {
		s.query = append(s.query, param{name: k, tpl: cfg.Query[k]})
	}
	if cfg.Body.IsSet() && (cfg.Method == http.MethodGet || cfg.Method == http.MethodHead) {
		return nil, cc.Errorf("body", "a %s request has no body; use query for parameters", cfg.Method)
	}
	if p := cfg.Pagination; p != nil {
		if (p.Type == "next_url" || p.Type == "cursor") && p.NextPath == "" {
			return nil, cc.Errorf("pagination", "next_path is required for pagination type %s", p.Type)
		}
		if p.MaxPages <= 0 {
			return nil, cc.Errorf("pagination", "max_pages must be at least 1")
		}
		s.itemsPath = value.SplitPath(p.ItemsPath)
		s.nextPath = value.SplitPath(p.NextPath)
	}
	client, err := cfg.Config.Build(cc)
	if err != nil {
		return nil, err
	}
	for _, h := range s.headers {
		if h.sensitiv {
			client.SensitiveHeaders(h.name)
		}
	}
	s.client = client
	return s, nil
}

func bodyTypeOf(contentType string) string {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch {
	case mt == "application/x-www-form-urlencoded":
		return "form"
	case mt == "multipart/form-data":
		return "multipart"
	case strings.HasSuffix(mt, "json"):
		return "json"
	case strings.HasPrefix(mt, "text/") || strings.HasSuffix(mt, "xml"):
		return "text"
	case mt != "":
		return "raw"
	}
	return ""
}

// Close closes idle connections.
func (s *step) Close(ctx context.Context) error { return s.client.Close(ctx) }

// Execute sends the request (following pages when configured) and returns
// the result object. It does not modify in.
func (s *step) Execute(ctx context.Context, x *engine.Exec, in any) (any, error) {
	rawURL, err := s.cfg.URL.String(x, in)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, engine.NewError(500, "rest: url gave %q, expected an http or https URL", preview(httpclient.RedactText(rawURL)))
	}
	if len(s.query) > 0 {
		q := u.Query()
		for _, p := range s.query {
			v, err := p.tpl.String(x, in)
			if err != nil {
				return nil, err
			}
			q.Set(p.name, v)
		}
		u.RawQuery = q.Encode()
	}
	// Refuse a host before account fields are even read for the headers.
	if err := s.checkHeaderAccounts(ctx, x, u); err != nil {
		return nil, err
	}
	hdr, err := s.buildHeaders(ctx, x, in)
	if err != nil {
		return nil, err
	}
	body, contentType, err := s.buildBody(x, in, hdr.Get("Content-Type"))
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		hdr.Set("Content-Type", contentType)
	}
	if s.cfg.Pagination != nil {
		return s.paginate(ctx, x, u, hdr, body)
	}
	res, _, err := s.call(ctx, x, u, hdr, body)
	if err != nil {
		return nil, err
	}
	return res.object(), nil
}

func (s *step) buildHeaders(ctx context.Context, x *engine.Exec, in any) (http.Header, error) {
	hdr := make(http.Header, len(s.headers)+2)
	if len(s.accountRef) > 0 {
		m, ok := accounts.FromRuntime(x.Runtime)
		if !ok {
			return nil, engine.NewError(500, "rest: headers use account fields, but %w", accounts.ErrNoManager)
		}
		scope := value.NewObject(len(s.accountRef))
		for _, name := range s.accountRef {
			v, err := m.HeaderScope(ctx, name)
			if err != nil {
				return nil, accountError(err)
			}
			scope.Set(name, v)
		}
		x.SetAccountScope(scope)
		defer x.SetAccountScope(nil)
	}
	for _, h := range s.headers {
		if h.isConst {
			hdr[h.name] = []string{h.literal}
			continue
		}
		v, err := h.tpl.String(x, in)
		if err != nil {
			return nil, err
		}
		hdr[h.name] = []string{v}
	}
	if _, ok := hdr["Accept"]; !ok {
		hdr["Accept"] = acceptJSON
	}
	if _, ok := hdr["User-Agent"]; !ok {
		hdr["User-Agent"] = userAgent
	}
	return hdr, nil
}

// buildBody returns the request body bytes and, when the step decides it,
// the Content-Type.
func (s *step) buildBody(x *engine.Exec, in any, ctHeader string) ([]byte, string, error) {
	if !s.cfg.Body.IsSet() {
		return nil, "", nil
	}
	v, err := s.cfg.Body.Eval(x, in)
	if err != nil {
		return nil, "", err
	}
	// What the body sends under a sensitive name (a form's client_secret
	// or password) is a secret of the execution, as what the URL and the
	// headers send is (httpclient.LearnSent): an API echoing it back does
	// not put it in the record.
	x.LearnSensitive(v)
	kind := s.bodyType
	if kind == "" {
		kind = bodyTypeOf(ctHeader)
	}
	if kind == "" {
		kind = "json"
		if _, ok := v.(string); ok {
			kind = "text"
		}
	}
	var b []byte
	ct := ""
	switch kind {
	case "json":
		if b, err = value.Encode(v); err != nil {
			return nil, "", engine.NewError(500, "rest: body cannot be written as JSON: %w", err)
		}
		ct = "application/json"
	case "form":
		o, ok := v.(*value.Object)
		if !ok {
			return nil, "", engine.NewError(500, "rest: a form body must be an object, got %s", value.TypeName(v))
		}
		if f, ok := o.Get("fields"); ok && o.Len() <= 2 {
			if fo, ok := f.(*value.Object); ok {
				o = fo
			}
		}
		form := url.Values{}
		o.Range(func(k string, v any) bool { form.Add(k, text(v)); return true })
		b = []byte(form.Encode())
		ct = "application/x-www-form-urlencoded"
	case "multipart":
		b, ct, err = s.multipart(x, v)
		if err != nil {
			return nil, "", err
		}
	case "text":
		b = []byte(text(v))
		ct = "text/plain; charset=utf-8"
	case "raw":
		str, ok := v.(string)
		if !ok {
			return nil, "", engine.NewError(500, "rest: a raw body must be a base64 string, got %s", value.TypeName(v))
		}
		if b, err = base64.StdEncoding.DecodeString(str); err != nil {
			return nil, "", engine.NewError(500, "rest: a raw body must be base64: %w", err)
		}
		ct = "application/octet-stream"
	}
	if ctHeader != "" && kind != "multipart" {
		ct = "" // the user's Content-Type stays
	}
	if s.cfg.GzipBody {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
		b = buf.Bytes()
	}
	return b, ct, nil
}

// multipart builds a multipart/form-data body from {fields: {...}, files:
// {field: path or file reference}}; paths are relative to the execution's
// working directory and must stay inside it unless allow_any_path is set.
func (s *step) multipart(x *engine.Exec, v any) ([]byte, string, error) {
	o, ok := v.(*value.Object)
	if !ok {
		return nil, "", engine.NewError(500, "rest: a multipart body must be an object {fields, files}, got %s", value.TypeName(v))
	}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fields, _ := o.Get("fields")
	fileList, _ := o.Get("files")
	if !o.Has("fields") && !o.Has("files") {
		fields = o
	}
	if fo, ok := fields.(*value.Object); ok {
		var err error
		fo.Range(func(k string, v any) bool {
			err = w.WriteField(k, text(v))
			return err == nil
		})
		if err != nil {
			return nil, "", err
		}
	}
	if fo, ok := fileList.(*value.Object); ok {
		var ferr error
		fo.Range(func(field string, p any) bool {
			if p == nil || p == "" {
				ferr = engine.NewError(400, "rest: files.%s must be a file path or reference", field)
				return false
			}
			// The guard of the file connectors: the file must be in the
			// execution's working directory unless allow_any_path is set.
			src, err := files.Open(x, p, s.cfg.AllowAnyPath)
			if err != nil {
				ferr = engine.NewError(400, "rest: files.%s: %w", field, err)
				return false
			}
			defer src.Close()
			part, err := w.CreateFormFile(field, src.Name)
			if err == nil {
				_, err = io.Copy(part, src.Section(0, src.Size))
			}
			ferr = err
			return err == nil
		})
		if ferr != nil {
			return nil, "", ferr
		}
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), w.FormDataContentType(), nil
}

func text(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if v == nil {
		return ""
	}
	return value.MustEncodeString(v)
}

// result is one response, read.
type result struct {
	status  int
	message string
	headers *value.Object
	body    any
}

func (r *result) object() *value.Object {
	o := value.NewObject(4)
	o.Set("status", int64(r.status))
	o.Set("statusMessage", r.message)
	o.Set("headers", r.headers)
	o.Set("body", r.body)
	return o
}

// call sends one request and reads the answer. A stop_on_* answer is an
// error carrying status, headers and body.
func (s *step) call(ctx context.Context, x *engine.Exec, u *url.URL, hdr http.Header, body []byte) (*result, *http.Response, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	// The URL is parsed already: build the request around it rather than
	// print and parse it again.
	req, err := http.NewRequestWithContext(ctx, s.cfg.Method, "", rd)
	if err != nil {
		return nil, nil, engine.NewError(500, "rest: %w", httpclient.WithoutURL(err))
	}
	req.URL, req.Host = u, u.Host
	// Headers that carry account fields obey the account's host rule, like
	// the account option does (its round tripper checks by itself).
	if err := s.checkHeaderAccounts(ctx, x, u); err != nil {
		return nil, nil, err
	}
	req.Header = hdr
	if s.cfg.Pagination != nil {
		req.Header = hdr.Clone()
	}
	if s.cfg.GzipBody && body != nil {
		req.Header.Set("Content-Encoding", "gzip")
	}
	resp, err := s.client.Do(ctx, x, req)
	if err != nil {
		return nil, nil, s.sendError(ctx, u, err)
	}
	data, err := s.client.ReadBody(resp)
	if err != nil {
		if errors.Is(err, httpclient.ErrTooLarge) {
			return nil, nil, engine.NewError(502, "rest: %s %s: %w", s.cfg.Method, httpclient.Redact(u), err)
		}
		return nil, nil, s.sendError(ctx, u, err)
	}
	if !resp.Uncompressed && strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") && len(data) > 0 {
		// The user asked for gzip themselves (Accept-Encoding), so the
		// transport left it to us.
		if zr, err := gzip.NewReader(bytes.NewReader(data)); err == nil {
			if plain, err := io.ReadAll(io.LimitReader(zr, s.client.MaxResponseSize()+1)); err == nil && int64(len(plain)) <= s.client.MaxResponseSize() {
				data = plain
				resp.Header.Del("Content-Encoding")
			}
		}
	}
	r := &result{status: resp.StatusCode, message: statusMessage(resp), headers: headerObject(resp.Header)}
	r.body = s.decodeBody(resp, data)
	// What the API answered under a sensitive name (an access_token, a
	// Set-Cookie) is a secret of the execution: masked where a later step
	// repeats it in text (a log line, an error message).
	x.LearnSensitive(r.headers)
	x.LearnSensitive(r.body)
	if (resp.StatusCode >= 400 && resp.StatusCode < 500 && s.cfg.StopOnClientError) || (resp.StatusCode >= 500 && s.cfg.StopOnServerError) {
		e := engine.NewError(resp.StatusCode, "rest: %s %s answered %d %s", s.cfg.Method, httpclient.Redact(u), resp.StatusCode, r.message)
		e.Fields = value.NewObject(3)
		e.Fields.Set("status", int64(r.status))
		e.Fields.Set("headers", r.headers)
		e.Fields.Set("body", r.body)
		return nil, nil, e
	}
	return r, resp, nil
}

// checkHeaderAccounts refuses u when a header template reads fields of an
// account whose credentials may not go to u's host.
func (s *step) checkHeaderAccounts(ctx context.Context, x *engine.Exec, u *url.URL) error {
	if len(s.accountRef) == 0 {
		return nil
	}
	m, ok := accounts.FromRuntime(x.Runtime)
	if !ok {
		return engine.NewError(500, "rest: headers use account fields, but %w", accounts.ErrNoManager)
	}
	for _, name := range s.accountRef {
		if err := m.CheckHost(ctx, name, u); err != nil {
			return accountError(err)
		}
	}
	return nil
}

func (s *step) sendError(ctx context.Context, u *url.URL, err error) error {
	var e *engine.Error
	if errors.As(err, &e) {
		return e
	}
	var he *accounts.HostError
	if errors.As(err, &he) {
		return accountError(he)
	}
	if _, ok := httpclient.AccountStatus(err); ok {
		return accountError(err)
	}
	code := httpclient.TransportStatus(ctx, err)
	err = httpclient.WithoutURL(err)
	return &engine.Error{Code: code, Message: fmt.Sprintf("rest: %s %s: %v", s.cfg.Method, httpclient.Redact(u), err), Cause: err, Timestamp: nowMillis()}
}

// accountError is a step error for an account that cannot be used: its
// status is httpclient.AccountStatus, or 500 for any other failure to read
// the account (its store).
func accountError(err error) error {
	code, ok := httpclient.AccountStatus(err)
	if !ok {
		code = 500
	}
	return &engine.Error{Code: code, Message: "rest: " + err.Error(), Cause: err, Timestamp: nowMillis()}
}

func statusMessage(resp *http.Response) string {
	if _, msg, ok := strings.Cut(resp.Status, " "); ok && msg != "" {
		return msg
	}
	return http.StatusText(resp.StatusCode)
}

func headerObject(h http.Header) *value.Object {
	keys := slices.Sorted(maps.Keys(h))
	o := value.NewObject(len(keys))
	for _, k := range keys {
		vs := h[k]
		if len(vs) == 1 {
			o.Set(k, vs[0])
			continue
		}
		list := make([]any, len(vs))
		for i, v := range vs {
			list[i] = v
		}
		o.Set(k, list)
	}
	return o
}

func (s *step) decodeBody(resp *http.Response, data []byte) any {
	if len(data) == 0 {
		return nil
	}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch s.respMode {
	case "base64":
		return base64.StdEncoding.EncodeToString(data)
	case "text":
		return string(data)
	case "json":
		if v, err := value.Decode(data); err == nil {
			return v
		}
		return string(data)
	}
	if strings.HasSuffix(mt, "json") || mt == "" && (data[0] == '{' || data[0] == '[') {
		if v, err := value.Decode(data); err == nil {
			return v
		}
	}
	if utf8.Valid(data) && (mt == "" || strings.HasPrefix(mt, "text/") || strings.HasSuffix(mt, "xml") || strings.HasSuffix(mt, "json") || mt == "application/x-www-form-urlencoded" || mt == "application/javascript") {
		return string(data)
	}
	return base64.StdEncoding.EncodeToString(data)
}

// preview shortens a URL for a message.
func preview(s string) string { return ntext.Preview(s, 80) }

// lookup follows path in a message value.
func lookup(v any, path []string) (any, bool) {
	for _, k := range path {
		switch c := v.(type) {
		case *value.Object:
			next, ok := c.Get(k)
			if !ok {
				return nil, false
			}
			v = next
		case []any:
			i, err := strconv.Atoi(k)
			if err != nil || i < 0 || i >= len(c) {
				return nil, false
			}
			v = c[i]
		default:
			return nil, false
		}
	}
	return v, true
}
