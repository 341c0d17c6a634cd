package onedrive

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nectar-run/nectar/connectors/files"
	"github.com/nectar-run/nectar/connectors/httpclient"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

// upload puts a file in folder_path / folder_id (the root by default):
// one PUT to …:/name:/content up to 4 MB, an upload session above.
func (s *step) upload(ctx context.Context, x *engine.Exec, in any) (any, error) {
	src, name, err := s.cfg.Upload.Source(x, in, "onedrive")
	if err != nil {
		return nil, err
	}
	defer src.Close()
	if name == "" {
		name = src.Name
	}
	if name == "" || strings.ContainsAny(name, "/\\") {
		return nil, engine.NewError(400, "onedrive: upload: %q is not a file name", name)
	}
	drive, _, folderID, folderPath, err := s.parent(x, in)
	if err != nil {
		return nil, err
	}
	target := child(drive, folderID, folderPath, name)
	cb := s.cfg.ConflictBehavior
	if cb == "" {
		cb = "replace"
	}
	if src.Size <= simpleMax {
		req, err := http.NewRequestWithContext(ctx, http.MethodPut, target+"/content"+odata("@microsoft.graph.conflictBehavior", cb), nil)
		if err != nil {
			return nil, engine.NewError(500, "onedrive: %w", err)
		}
		src.SetBody(req, nil, 0, src.Size, nil)
		req.Header.Set("Content-Type", src.MimeType)
		req.Header.Set("Accept", "application/json")
		resp, err := s.Send(ctx, x, req)
		if err != nil {
			return nil, err
		}
		return s.Decode(ctx, req, resp)
	}
	return s.session(ctx, x, target, cb, src)
}

// session runs an upload session: createUploadSession gives an uploadUrl
// (pre-authenticated: chunks go without the token), chunks are PUT with
// Content-Range in multiples of 320 KiB; Graph answers 202 with
// nextExpectedRanges until the last, answered 200 or 201 with the item.
// After a failed chunk (a 5xx, 429 or a broken connection) it GETs the
// session and resumes at the first missing range; a session that is gone
// (404) is started again once. When it gives up it deletes the session.
func (s *step) session(ctx context.Context, x *engine.Exec, target, cb string, src *files.Source) (any, error) {
	start := func() (string, error) {
		body := value.ObjectOf("item", value.ObjectOf("@microsoft.graph.conflictBehavior", cb))
		v, err := s.Call(ctx, x, http.MethodPost, target+"/createUploadSession", body)
		if err != nil {
			return "", err
		}
		u, _ := files.Field(files.AsObject(v), "uploadUrl").(string)
		if u == "" {
			return "", engine.NewError(502, "onedrive: upload: Graph gave no uploadUrl")
		}
		return u, nil
	}
	upload, err := start()
	if err != nil {
		return nil, err
	}
	hc, err := s.bare.HTTPClient(x)
	if err != nil {
		return nil, err
	}
	r := files.Resumable{
		Connector: "onedrive", Provider: "Graph",
		Size: src.Size, Chunk: s.chunk,
		Retries: s.cfg.Retries, Backoff: s.cfg.RetryBackoff.D(),
		Logger:    x.Logger,
		StatusLog: "upload chunk failed; asking Graph which ranges it still expects",
		Restart: func() (err error) {
			upload, err = start()
			return err
		},
		Put: func(off, n int64) (any, int64, bool, error) {
			return s.putChunk(ctx, hc, upload, src, off, n)
		},
		Status: func() (any, int64, bool, error) {
			next, err := s.status(ctx, hc, upload)
			return nil, next, false, err
		},
		Cancel: func() { s.cancel(hc, upload) },
		AtOnce: func(err error) bool {
			// 416: Graph has the fragment already; its status says what next.
			var e *engine.Error
			return errors.As(err, &e) && e.Code == http.StatusRequestedRangeNotSatisfiable
		},
	}
	return r.Run(ctx)
}

// putChunk sends n bytes from off to the upload URL.
func (s *step) putChunk(ctx context.Context, hc *http.Client, upload string, src *files.Source, off, n int64) (any, int64, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, upload, nil)
	if err != nil {
		return nil, 0, false, engine.NewError(502, "onedrive: upload: bad uploadUrl: %w", httpclient.WithoutURL(err))
	}
	src.SetBody(req, nil, off, n, nil)
	req.Header.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, off+n-1, src.Size))
	resp, err := hc.Do(req)
	if err != nil {
		return nil, 0, false, s.TransportError(ctx, req, err)
	}
	switch resp.StatusCode {
	case http.StatusOK, http.StatusCreated:
		v, err := s.Decode(ctx, req, resp)
		return v, 0, true, err
	case http.StatusAccepted:
		v, err := s.Decode(ctx, req, resp)
		if err != nil {
			return nil, 0, false, err
		}
		next, err := nextExpected(files.AsObject(v))
		return nil, next, false, err
	}
	return nil, 0, false, s.ReadError(resp)
}

// status asks the session which ranges it still expects.
func (s *step) status(ctx context.Context, hc *http.Client, upload string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, upload, nil)
	if err != nil {
		return 0, engine.NewError(502, "onedrive: upload: bad uploadUrl: %w", httpclient.WithoutURL(err))
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, s.TransportError(ctx, req, err)
	}
	v, err := s.Decode(ctx, req, resp)
	if err != nil {
		return 0, err
	}
	return nextExpected(files.AsObject(v))
}

// nextExpected reads the start of the first of nextExpectedRanges
// ("26-", "0-25").
func nextExpected(o *value.Object) (int64, error) {
	list, _ := files.Field(o, "nextExpectedRanges").([]any)
	if len(list) == 0 {
		return 0, engine.NewError(502, "onedrive: upload: the session lists no nextExpectedRanges")
	}
	r, _ := list[0].(string)
	startText, _, _ := strings.Cut(r, "-")
	n, err := strconv.ParseInt(strings.TrimSpace(startText), 10, 64)
	if err != nil || n < 0 {
		return 0, engine.NewError(502, "onedrive: upload: unreadable nextExpectedRanges %q", r)
	}
	return n, nil
}

// cancel deletes an upload session, so its fragments do not linger.
func (s *step) cancel(hc *http.Client, upload string) {
	ctx, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	if req, err := http.NewRequestWithContext(ctx, http.MethodDelete, upload, nil); err == nil {
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
		}
	}
}
