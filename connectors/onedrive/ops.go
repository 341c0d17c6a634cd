package onedrive

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/nectar-run/nectar/connectors/files"
	"github.com/nectar-run/nectar/connectors/httpclient"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/internal/wait"
)

// list pages through a folder's children (or search results) with
// @odata.nextLink, to the end or the limit. The result is {items, count,
// pages} plus next_link when items remain.
func (s *step) list(ctx context.Context, x *engine.Exec, in any) (any, error) {
	next, err := s.cfg.NextLink.String(x, in)
	if err != nil {
		return nil, err
	}
	u := next
	if u != "" {
		// The token goes with the request: only to Graph itself.
		nu, err := url.Parse(u)
		if err != nil || nu.Scheme != s.baseU.Scheme || !strings.EqualFold(nu.Host, s.baseU.Host) {
			return nil, engine.NewError(400, "onedrive: %s: next_link must be a %s URL", s.op, s.baseU.Host)
		}
	} else {
		folder, _, err := s.folderOrRoot(x, in)
		if err != nil {
			return nil, err
		}
		if s.op == "search" {
			q, err := s.cfg.Query.String(x, in)
			if err != nil {
				return nil, err
			}
			// search(q='…') takes an OData string: quotes are doubled.
			u = folder + "/search(q='" + url.PathEscape(strings.ReplaceAll(q, "'", "''")) + "')"
		} else {
			u = folder + "/children"
		}
		top := s.cfg.PageSize
		if s.cfg.Limit > 0 && s.cfg.Limit < top {
			top = s.cfg.Limit
		}
		u += odata("$select", s.cfg.Select, "$top", strconv.Itoa(top))
	}
	items, pages, u, err := files.Pages(s.cfg.Limit, s.cfg.PageSize, u, func(u string, size int) ([]any, string, error) {
		if size < s.cfg.PageSize {
			// Ask only for what is left (the first URL asks for it already).
			u = topRE.ReplaceAllString(u, "${1}${2}top="+strconv.Itoa(size))
		}
		v, err := s.Call(ctx, x, http.MethodGet, u, nil)
		if err != nil {
			return nil, "", err
		}
		o := files.AsObject(v)
		list, _ := files.Field(o, "value").([]any)
		next, _ := files.Field(o, "@odata.nextLink").(string)
		if next == u {
			next = ""
		}
		return list, next, nil
	})
	if err != nil {
		return nil, err
	}
	return files.Listing("items", items, pages, "next_link", u), nil
}

// folderOrRoot is the item the step names (path or item_id), the root by
// default.
func (s *step) folderOrRoot(x *engine.Exec, in any) (string, string, error) {
	return s.item(x, in)
}

func (s *step) get(ctx context.Context, x *engine.Exec, in any) (any, error) {
	u, _, err := s.item(x, in)
	if err != nil {
		return nil, err
	}
	return s.Call(ctx, x, http.MethodGet, u+odata("$select", s.cfg.Select), nil)
}

// download reads the item's name and type, then GETs /content, which
// answers 302 to a pre-authenticated URL: that one is fetched without the
// token and streamed into the working directory.
func (s *step) download(ctx context.Context, x *engine.Exec, in any) (any, error) {
	u, label, err := s.item(x, in)
	if err != nil {
		return nil, err
	}
	localName, err := s.cfg.LocalName.String(x, in)
	if err != nil {
		return nil, err
	}
	v, err := s.Call(ctx, x, http.MethodGet, u+odata("$select", "id,name,size,file,folder"), nil)
	if err != nil {
		return nil, err
	}
	meta := files.AsObject(v)
	if files.Field(meta, "folder") != nil {
		return nil, engine.NewError(400, "onedrive: download: %s is a folder; list it and download its files", label)
	}
	id, _ := files.Field(meta, "id").(string)
	name, _ := files.Field(meta, "name").(string)
	mt, _ := files.Field(files.AsObject(files.Field(meta, "file")), "mimeType").(string)
	if localName != "" {
		name = localName
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u+"/content", nil)
	if err != nil {
		return nil, engine.NewError(500, "onedrive: %w", err)
	}
	hc, err := s.Client.HTTPClient(x)
	if err != nil {
		return nil, s.TransportError(ctx, req, err)
	}
	noFollow := *hc
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req.Header.Set("User-Agent", "nectar")
	resp, err := noFollow.Do(req)
	if err != nil {
		return nil, s.TransportError(ctx, req, err)
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		resp.Body.Close()
		loc, err := req.URL.Parse(resp.Header.Get("Location"))
		if err != nil || resp.Header.Get("Location") == "" {
			return nil, engine.NewError(502, "onedrive: download: a %d answer without a usable Location", resp.StatusCode)
		}
		// The download URL is pre-authenticated and short-lived: no token.
		if req, err = http.NewRequestWithContext(ctx, http.MethodGet, loc.String(), nil); err != nil {
			return nil, engine.NewError(500, "onedrive: %w", httpclient.WithoutURL(err))
		}
		if resp, err = s.SendWith(ctx, x, s.bare, req); err != nil {
			return nil, err
		}
	}
	if resp.StatusCode >= 400 {
		return nil, s.ReadError(resp)
	}
	defer resp.Body.Close()
	r, err := files.Save(x, name, mt, resp.Body)
	if err != nil {
		return nil, s.TransportError(ctx, req, err)
	}
	return r.Object(id), nil
}

// parent evaluates folder_path / folder_id into the folder's URL (the
// root by default), its id (when given) and its path.
func (s *step) parent(x *engine.Exec, in any) (drive, folderURL, id, path string, err error) {
	if drive, err = s.drive(x, in); err != nil {
		return
	}
	if id, err = s.cfg.FolderID.String(x, in); err != nil {
		return
	}
	if path, err = s.cfg.FolderPath.String(x, in); err != nil {
		return
	}
	return drive, ref(drive, id, path), id, path, nil
}

func (s *step) createFolder(ctx context.Context, x *engine.Exec, in any) (any, error) {
	name, err := s.cfg.Name.String(x, in)
	if err != nil {
		return nil, err
	}
	_, folder, _, _, err := s.parent(x, in)
	if err != nil {
		return nil, err
	}
	cb := s.cfg.ConflictBehavior
	if cb == "" {
		cb = "fail"
	}
	body := value.ObjectOf("name", name, "folder", value.NewObject(0), "@microsoft.graph.conflictBehavior", cb)
	v, err := s.Call(ctx, x, http.MethodPost, folder+"/children", body)
	return v, err
}

// destination returns the parentReference of folder_path / folder_id
// (nil when neither is set): the id, read from Graph for a path.
func (s *step) destination(ctx context.Context, x *engine.Exec, in any) (*value.Object, error) {
	if !s.cfg.FolderPath.IsSet() && !s.cfg.FolderID.IsSet() {
		return nil, nil
	}
	_, folder, id, _, err := s.parent(x, in)
	if err != nil {
		return nil, err
	}
	pr := value.NewObject(2)
	driveID, err := s.cfg.DriveID.String(x, in)
	if err != nil {
		return nil, err
	}
	if id == "" {
		v, err := s.Call(ctx, x, http.MethodGet, folder+odata("$select", "id,parentReference"), nil)
		if err != nil {
			return nil, err
		}
		id, _ = files.Field(files.AsObject(v), "id").(string)
		if driveID == "" {
			driveID, _ = files.Field(files.AsObject(files.Field(files.AsObject(v), "parentReference")), "driveId").(string)
		}
	}
	if driveID != "" {
		pr.Set("driveId", driveID)
	}
	pr.Set("id", id)
	return pr, nil
}

// relocation evaluates what copy and move take and returns the item's URL
// and the request body: {parentReference, name}, each when given.
func (s *step) relocation(ctx context.Context, x *engine.Exec, in any) (string, *value.Object, error) {
	u, _, err := s.item(x, in)
	if err != nil {
		return "", nil, err
	}
	name, err := s.cfg.Name.String(x, in)
	if err != nil {
		return "", nil, err
	}
	dest, err := s.destination(ctx, x, in)
	if err != nil {
		return "", nil, err
	}
	body := value.NewObject(2)
	if dest != nil {
		body.Set("parentReference", dest)
	}
	if name != "" {
		body.Set("name", name)
	}
	return u, body, nil
}

// copy starts Graph's asynchronous copy (202 with a monitor URL in
// Location) and, with wait, polls the monitor until the copy is done.
func (s *step) copy(ctx context.Context, x *engine.Exec, in any) (any, error) {
	u, body, err := s.relocation(ctx, x, in)
	if err != nil {
		return nil, err
	}
	u += "/copy" + odata("@microsoft.graph.conflictBehavior", s.cfg.ConflictBehavior)
	_, resp, err := s.CallResponse(ctx, x, http.MethodPost, u, body)
	if err != nil {
		return nil, err
	}
	monitor := resp.Header.Get("Location")
	if monitor == "" {
		return nil, engine.NewError(502, "onedrive: copy: Graph accepted the copy but gave no monitor URL")
	}
	status := value.ObjectOf("status", "inProgress", "monitor", monitor)
	if !s.cfg.Wait {
		return status, nil
	}
	drive, err := s.drive(x, in)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(s.cfg.MaxWait.D())
	for {
		item, st, err := s.poll(ctx, x, drive, monitor)
		if err != nil || item != nil {
			return item, err
		}
		if st != nil {
			status = st
			status.Set("monitor", monitor)
		}
		if time.Now().Add(s.cfg.PollInterval.D()).After(deadline) {
			return status, nil
		}
		if !wait.Sleep(ctx, s.cfg.PollInterval.D()) {
			return nil, engine.NewError(504, "onedrive: copy: still running when the step ran out of time (monitor %s)", monitor)
		}
	}
}

// poll looks at a copy monitor once (an asyncJobStatus; the monitor is
// pre-authenticated, so no token). It returns the new item when the copy
// is done, else the status.
func (s *step) poll(ctx context.Context, x *engine.Exec, drive, monitor string) (any, *value.Object, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, monitor, nil)
	if err != nil {
		return nil, nil, engine.NewError(502, "onedrive: copy: bad monitor URL: %w", httpclient.WithoutURL(err))
	}
	hc, err := s.bare.HTTPClient(x)
	if err != nil {
		return nil, nil, s.TransportError(ctx, req, err)
	}
	noFollow := *hc
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := noFollow.Do(req)
	if err != nil {
		return nil, nil, s.TransportError(ctx, req, err)
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 && resp.Header.Get("Location") != "" {
		// Done: the monitor redirects to the new item.
		resp.Body.Close()
		loc, err := req.URL.Parse(resp.Header.Get("Location"))
		if err != nil {
			return nil, nil, engine.NewError(502, "onedrive: copy: bad Location: %w", httpclient.WithoutURL(err))
		}
		v, err := s.Call(ctx, x, http.MethodGet, loc.String(), nil)
		return v, nil, err
	}
	v, err := s.Decode(ctx, req, resp)
	if err != nil {
		return nil, nil, err
	}
	st := files.AsObject(v)
	switch files.Field(st, "status") {
	case "completed":
		id, _ := files.Field(st, "resourceId").(string)
		if id == "" {
			return st, nil, nil
		}
		item, err := s.Call(ctx, x, http.MethodGet, ref(drive, id, ""), nil)
		return item, nil, err
	case "failed":
		msg := "the copy failed"
		if eo, ok := files.Field(st, "error").(*value.Object); ok {
			if m, ok := files.Field(eo, "message").(string); ok {
				msg = m
			}
		}
		e := engine.NewError(502, "onedrive: copy: %s", msg)
		e.Fields = value.ObjectOf("body", st)
		return nil, nil, e
	}
	return nil, st, nil
}

// move renames the item and/or moves it under folder_path / folder_id
// (PATCH with parentReference and name).
func (s *step) move(ctx context.Context, x *engine.Exec, in any) (any, error) {
	u, body, err := s.relocation(ctx, x, in)
	if err != nil {
		return nil, err
	}
	return s.Call(ctx, x, http.MethodPatch, u+odata("@microsoft.graph.conflictBehavior", s.cfg.ConflictBehavior), body)
}

func (s *step) delete(ctx context.Context, x *engine.Exec, in any) (any, error) {
	u, label, err := s.item(x, in)
	if err != nil {
		return nil, err
	}
	if _, err := s.Call(ctx, x, http.MethodDelete, u, nil); err != nil {
		return nil, err
	}
	key := "id"
	if s.cfg.Path.IsSet() {
		key = "path"
	}
	return value.ObjectOf(key, label, "deleted", true), nil
}

// topRE finds the $top parameter of a nextLink.
var topRE = regexp.MustCompile(`([?&])(\$|%24)top=\d+`)

// odata writes the query of its key, value pairs, like
// "?$select=id,name&$top=200": the keys as Graph documents them ($top,
// @microsoft.graph.conflictBehavior), the values escaped, and the pairs
// with an empty value (an option not given) left out; "" when none is left.
func odata(pairs ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			continue
		}
		if b.Len() == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(pairs[i] + "=" + url.QueryEscape(pairs[i+1]))
	}
	return b.String()
}
