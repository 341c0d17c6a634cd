package files

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/connectors/httpclient"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

// API is the JSON web API of a file service (Drive, Graph) as a step calls
// it: requests go through Client, answers are decoded with value.Decode,
// and error answers and transport failures become step errors named
// "connector: op: …". A step embeds one, set up at compile.
type API struct {
	Connector string             // the connector's name, first in every error message
	Op        string             // the operation, second in error messages
	Client    *httpclient.Client // the client with the account
	JSONType  string             // the Content-Type of JSON request bodies
	// Detail returns the provider's code for an error object ({"message",
	// …}), added to the message in parentheses; nil or "" adds none.
	Detail func(errorObject *value.Object) string
}

// Send sends req through Client; see SendWith.
func (a *API) Send(ctx context.Context, x *engine.Exec, req *http.Request) (*http.Response, error) {
	return a.SendWith(ctx, x, a.Client, req)
}

// SendWith sends req with c's retries and turns transport failures into
// step errors.
func (a *API) SendWith(ctx context.Context, x *engine.Exec, c *httpclient.Client, req *http.Request) (*http.Response, error) {
	req.Header.Set("User-Agent", "nectar")
	resp, err := c.Do(ctx, x, req)
	if err != nil {
		return nil, a.TransportError(ctx, req, err)
	}
	return resp, nil
}

// Call sends a request with an optional JSON body through Client and
// decodes the JSON answer; an error answer becomes a step error with the
// provider's message and status.
func (a *API) Call(ctx context.Context, x *engine.Exec, method, u string, body any) (any, error) {
	v, _, err := a.CallResponse(ctx, x, method, u, body)
	return v, err
}

// CallResponse is Call that also returns the response (its body already
// read and closed), for its headers.
func (a *API) CallResponse(ctx context.Context, x *engine.Exec, method, u string, body any) (any, *http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := value.Encode(body)
		if err != nil {
			return nil, nil, engine.NewError(500, "%s: %w", a.Connector, err)
		}
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, nil, engine.NewError(500, "%s: %w", a.Connector, httpclient.WithoutURL(err))
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", a.JSONType)
	}
	resp, err := a.Send(ctx, x, req)
	if err != nil {
		return nil, nil, err
	}
	v, err := a.Decode(ctx, req, resp)
	return v, resp, err
}

// Decode reads a JSON answer (nil when empty), or the error it carries.
func (a *API) Decode(ctx context.Context, req *http.Request, resp *http.Response) (any, error) {
	data, err := a.Client.ReadBody(resp)
	if err != nil {
		if errors.Is(err, httpclient.ErrTooLarge) {
			return nil, engine.NewError(502, "%s: %s %s: %w", a.Connector, a.Op, httpclient.Redact(req.URL), err)
		}
		return nil, a.TransportError(ctx, req, err)
	}
	if resp.StatusCode >= 400 {
		return nil, a.APIError(resp.StatusCode, data)
	}
	if len(data) == 0 {
		return nil, nil
	}
	v, err := value.Decode(data)
	if err != nil {
		return nil, engine.NewError(502, "%s: %s: the answer is not JSON: %w", a.Connector, a.Op, err)
	}
	return v, nil
}

// ReadError reads an error answer's body (at most 1 MiB), closes it and
// returns the step error.
func (a *API) ReadError(resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return a.APIError(resp.StatusCode, data)
}

// APIError is an error answer as a step error: {"error": {"message": …}}
// (with Detail's code in parentheses) or OAuth's {"error": "…",
// "error_description": "…"}, else short text, else the status text. The
// error object carries status and body (the JSON, or the text).
func (a *API) APIError(status int, data []byte) error {
	msg, detail := http.StatusText(status), ""
	v, err := value.Decode(data)
	if o, ok := v.(*value.Object); ok && err == nil {
		if eo, ok := Field(o, "error").(*value.Object); ok {
			if m, ok := Field(eo, "message").(string); ok && m != "" {
				msg = m
			}
			if a.Detail != nil {
				detail = a.Detail(eo)
			}
		} else if m, ok := Field(o, "error").(string); ok {
			msg = m
			if d, ok := Field(o, "error_description").(string); ok {
				msg += ": " + d
			}
		}
	} else if len(data) > 0 && len(data) < 512 {
		msg = strings.TrimSpace(string(data))
	}
	if detail != "" {
		msg += " (" + detail + ")"
	}
	e := engine.NewError(status, "%s: %s: %s", a.Connector, a.Op, msg)
	e.Fields = value.NewObject(2)
	e.Fields.Set("status", int64(status))
	if v != nil && err == nil {
		e.Fields.Set("body", v)
	} else {
		e.Fields.Set("body", string(data))
	}
	return e
}

// TransportError turns a failure to get an answer into a step error whose
// status is httpclient.TransportStatus: account problems keep their meaning
// (401 to authorize again, 403 for a host the account may not reach, 502
// when the provider refused to issue a token, 500 for a missing account),
// others are 502, or 504 when the time ran out.
func (a *API) TransportError(ctx context.Context, req *http.Request, err error) error {
	var e *engine.Error
	if errors.As(err, &e) {
		return e
	}
	now := time.Now().UnixMilli()
	code := httpclient.TransportStatus(ctx, err)
	var he *accounts.HostError
	if errors.As(err, &he) {
		return &engine.Error{Code: code, Message: a.Connector + ": " + a.Op + ": " + he.Error(), Cause: err, Timestamp: now}
	}
	if _, ok := httpclient.AccountStatus(err); ok {
		return &engine.Error{Code: code, Message: a.Connector + ": " + err.Error(), Cause: err, Timestamp: now}
	}
	err = httpclient.WithoutURL(err)
	return &engine.Error{Code: code, Message: fmt.Sprintf("%s: %s %s: %v", a.Connector, a.Op, httpclient.Redact(req.URL), err), Cause: err, Timestamp: now}
}

// Field returns o's value at k (nil when o is nil or has no k), for
// reading the JSON answers of a file service.
func Field(o *value.Object, k string) any {
	if o == nil {
		return nil
	}
	v, _ := o.Get(k)
	return v
}

// AsObject returns v when it is an object, else nil (which Field takes).
func AsObject(v any) *value.Object {
	o, _ := v.(*value.Object)
	return o
}

// Pages gathers a listing page by page. fetch gets one page of at most size
// items from cursor (a page token, a next link; "" for the first page of a
// token listing) and returns its items with the cursor of the next page
// ("" at the end; the same cursor again ends too, as a loop). Pages stops
// at limit items (0: no limit), asking each page only for what is left so
// that the next cursor starts right after the last item returned. It
// returns at most limit items, the pages fetched and the cursor to go on
// from ("" when the listing is complete).
func Pages(limit, pageSize int, cursor string, fetch func(cursor string, size int) ([]any, string, error)) (items []any, pages int, next string, err error) {
	items = make([]any, 0, 16)
	for {
		size := pageSize
		if limit > 0 && limit-len(items) < size {
			size = limit - len(items)
		}
		list, nc, err := fetch(cursor, size)
		if err != nil {
			return nil, pages, "", err
		}
		pages++
		items = append(items, list...)
		if nc == "" || nc == cursor {
			cursor = ""
			break
		}
		cursor = nc
		if limit > 0 && len(items) >= limit {
			break
		}
	}
	if limit > 0 && len(items) > limit {
		items = items[:limit]
	}
	return items, pages, cursor, nil
}

// Listing is the result of a listing gathered by Pages: {<items>: [...],
// count, pages}, plus <nextKey> with the cursor to go on from when items
// remain.
func Listing(itemsKey string, items []any, pages int, nextKey, next string) *value.Object {
	res := value.NewObject(5)
	res.Set(itemsKey, items)
	res.Set("count", int64(len(items)))
	res.Set("pages", int64(pages))
	if next != "" {
		res.Set(nextKey, next)
	}
	return res
}
