package rest

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/internal/linkheader"
)

func nowMillis() int64 { return time.Now().UnixMilli() }

// paginate fetches pages until there is no next one or max_pages is
// reached, collecting their items. A page that is not 2xx ends the
// listing: its result is returned as it is (or fails the step per the
// stop_on_* options).
func (s *step) paginate(ctx context.Context, x *engine.Exec, u *url.URL, hdr http.Header, body []byte) (any, error) {
	p := s.cfg.Pagination
	items := make([]any, 0, 64)
	page := p.StartPage
	if p.Type == "page" {
		u = withParam(u, p.PageParam, strconv.Itoa(page))
	}
	seen := map[string]bool{}
	var last *result
	pages := 0
	truncated := false
	for {
		if pages >= p.MaxPages {
			truncated = true
			break
		}
		seen[u.String()] = true
		res, resp, err := s.call(ctx, x, u, hdr, body)
		if err != nil {
			return nil, err
		}
		pages++
		last = res
		if res.status/100 != 2 {
			return res.object(), nil
		}
		got, ok := lookup(res.body, s.itemsPath)
		list, isList := got.([]any)
		if ok && isList {
			items = append(items, list...)
		} else if ok && got != nil {
			items = append(items, got)
		}
		var next *url.URL
		switch p.Type {
		case "link_header":
			next = linkheader.Next(u, resp.Header.Values("Link"))
		case "next_url":
			if v, ok := lookup(res.body, s.nextPath); ok {
				if str, ok := v.(string); ok && str != "" {
					next, _ = u.Parse(str)
				}
			}
		case "cursor":
			if v, ok := lookup(res.body, s.nextPath); ok && v != nil && v != "" && v != false {
				next = withParam(u, p.CursorParam, text(v))
			}
		case "page":
			if len(list) > 0 {
				page++
				next = withParam(u, p.PageParam, strconv.Itoa(page))
			}
		}
		if next == nil || seen[next.String()] {
			break
		}
		u = next
	}
	o := last.object()
	o.Set("body", items)
	o.Set("pages", int64(pages))
	if truncated {
		o.Set("truncated", true)
	}
	return o, nil
}

func withParam(u *url.URL, k, v string) *url.URL {
	c := *u
	q := c.Query()
	q.Set(k, v)
	c.RawQuery = q.Encode()
	return &c
}
