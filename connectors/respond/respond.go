// Package respond implements the respond connector: it sets the status,
// headers and body of the HTTP response of an HTTP-triggered execution,
// with any content type, and passes its input through, so the pipeline may
// go on after it. The response is written when the execution ends (a later
// respond wins; a later error wins too), or at once with send: true. Outside
// an HTTP-triggered execution (nectar run, a schedule or an event) it does
// nothing but pass the message through.
package respond

import (
	"context"
	"fmt"
	"net/http"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/internal/httpjson"
	"github.com/nectar-run/nectar/triggers"
)

// Config holds the options of a respond step.
type Config struct {
	Status      engine.Template            `yaml:"status" default:"200" doc:"the HTTP status (may be an expression)"`
	Headers     map[string]engine.Template `yaml:"headers" doc:"response headers"`
	Body        engine.Dynamic             `yaml:"body" doc:"the body: a string is sent as it is, anything else as JSON; default: the step's input message"`
	ContentType string                     `yaml:"content_type" doc:"the Content-Type; default application/json for JSON bodies, text/plain; charset=utf-8 for strings"`
	Send        bool                       `yaml:"send" doc:"write the response to the client now; the pipeline goes on, and what it does later reaches only the execution history"`
}

type step struct {
	cfg     Config
	headers []header
	// ctype is the content_type option's value, nil when not set.
	ctype []string
	// status is the status option's value when it has no expression (it
	// defaults to 200), checked and converted at compile; 0 when it has.
	status int
}

// header is a headers entry. vals is its value when the template has no
// expression, prepared at compile.
type header struct {
	name string
	tpl  engine.Template
	vals []string
}

// The default Content-Types. Like every value prepared at compile, each is
// one slice of length and capacity 1 shared by all responses: net/http and
// the response's readers only read it, and an Add to a header copies it.
var (
	textType = []string{"text/plain; charset=utf-8"}
	jsonType = []string{"application/json"}
)

var _ engine.Step = (*step)(nil)

func init() {
	engine.Register("respond", "Sets the HTTP response (status, headers, body of any content type); the message passes through.", compile)
}

func compile(cfg Config, cc *engine.Compiler) (engine.Step, error) {
	s := &step{cfg: cfg}
	if lit, ok := cfg.Status.Literal(); ok {
		status, ok := engine.HTTPStatus(lit)
		if !ok {
			return nil, cc.Errorf("status", "expected an HTTP status between 100 and 599, got %q", lit)
		}
		s.status = status
	}
	if cfg.ContentType != "" {
		s.ctype = []string{cfg.ContentType}
	}
	for k, t := range cfg.Headers {
		hd := header{name: http.CanonicalHeaderKey(k), tpl: t}
		if lit, ok := t.Literal(); ok {
			hd.vals = []string{lit}
		}
		s.headers = append(s.headers, hd)
	}
	return s, nil
}

// Execute sets the response of the current HTTP request and returns in.
func (s *step) Execute(ctx context.Context, x *engine.Exec, in any) (any, error) {
	r := triggers.ResponseFrom(ctx)
	if r == nil {
		x.Logger.Debug("respond: not an HTTP execution; nothing to answer")
		return in, nil
	}
	status := s.status
	if status == 0 {
		sv, err := s.cfg.Status.Eval(x, in)
		if err != nil {
			return nil, err
		}
		var ok bool
		if status, ok = engine.HTTPStatus(sv); !ok {
			return nil, engine.NewError(500, "respond: status gave %s, expected a number between 100 and 599", value.MustEncodeString(sv))
		}
	}
	body := in
	var err error
	if s.cfg.Body.IsSet() {
		if body, err = s.cfg.Body.Eval(x, in); err != nil {
			return nil, err
		}
	}
	h := make(http.Header, len(s.headers)+1)
	// The body is written into a pooled buffer, which the trigger gives
	// back once it has answered (triggers.Response.Release).
	buf := httpjson.GetBuf()
	if str, ok := body.(string); ok {
		*buf = append((*buf)[:0], str...)
		h["Content-Type"] = textType // canonical already: no Header.Set check
	} else {
		if *buf, err = value.AppendJSON((*buf)[:0], body); err != nil {
			httpjson.PutBuf(buf)
			return nil, engine.NewError(500, "respond: the body cannot be written as JSON: %w", err)
		}
		h["Content-Type"] = jsonType
	}
	data := *buf
	if s.ctype != nil {
		h["Content-Type"] = s.ctype
	}
	for _, hd := range s.headers {
		if hd.vals != nil {
			h[hd.name] = hd.vals // name canonical since compile
			continue
		}
		v, err := hd.tpl.String(x, in)
		if err != nil {
			httpjson.PutBuf(buf)
			return nil, err
		}
		h.Set(hd.name, v)
	}
	if s.cfg.Send {
		if !r.SendBuf(status, h, data, buf) {
			x.Logger.Warn("respond: the response was already sent; this one is not", "status", status)
		}
	} else {
		r.SetBuf(status, h, data, buf)
	}
	return in, nil
}

// String describes the step for debugging.
func (s *step) String() string { return fmt.Sprintf("respond %s", s.cfg.Status.Source()) }
