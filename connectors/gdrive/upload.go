package gdrive

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/nectar-run/nectar/connectors/files"
	"github.com/nectar-run/nectar/connectors/httpclient"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

// upload creates a file, or replaces the content of file_id (or of the
// file of that name in the folder, with if_exists: replace). Small files go
// in one multipart request, larger ones resumable in chunks.
func (s *step) upload(ctx context.Context, x *engine.Exec, in any) (any, error) {
	opts, err := files.Strings(x, in, s.cfg.FileID, s.cfg.FolderID)
	if err != nil {
		return nil, err
	}
	fileID, folder := opts[0], opts[1]
	src, name, err := s.cfg.Upload.Source(x, in, "google-drive")
	if err != nil {
		return nil, err
	}
	defer src.Close()
	if name == "" && fileID == "" {
		name = src.Name
	}
	if fileID == "" && s.cfg.IfExists != "create" {
		found, err := s.findByName(ctx, x, name, folder)
		if err != nil {
			return nil, err
		}
		if found != "" && s.cfg.IfExists == "fail" {
			return nil, engine.NewError(409, "google-drive: upload: the folder already has a file named %s (id %s)", name, found)
		}
		fileID = found
	}
	meta := value.NewObject(3)
	if name != "" {
		meta.Set("name", name)
	}
	if fileID == "" {
		if folder != "" {
			meta.Set("parents", []any{folder})
		}
	}
	if s.cfg.ConvertTo != "" {
		meta.Set("mimeType", s.cfg.ConvertTo)
	}
	u := s.up + "/files"
	method := http.MethodPost
	if fileID != "" {
		u += "/" + fileID
		method = http.MethodPatch
	}
	if src.Size <= s.resumable {
		return s.multipart(ctx, x, method, u, meta, src)
	}
	return s.resumableUpload(ctx, x, method, u, meta, src)
}

// findByName returns the id of a file named name in folder (My Drive's
// root when empty), or "".
func (s *step) findByName(ctx context.Context, x *engine.Exec, name, folder string) (string, error) {
	if folder == "" {
		folder = "root"
	}
	q := s.query()
	if s.cfg.AllDrives {
		q.Set("includeItemsFromAllDrives", "true")
	}
	q.Set("q", "name = "+quote(name)+" and "+quote(folder)+" in parents and trashed = false")
	q.Set("fields", "files(id)")
	q.Set("pageSize", "1")
	v, err := s.Call(ctx, x, http.MethodGet, s.api+"/files?"+q.Encode(), nil)
	if err != nil {
		return "", err
	}
	list, _ := files.Field(files.AsObject(v), "files").([]any)
	if len(list) == 0 {
		return "", nil
	}
	id, _ := files.Field(files.AsObject(list[0]), "id").(string)
	return id, nil
}

// multipart sends metadata and content in one multipart/related request
// (uploadType=multipart), the content streamed from the source.
func (s *step) multipart(ctx context.Context, x *engine.Exec, method, u string, meta *value.Object, src *files.Source) (any, error) {
	metaJSON, err := value.Encode(meta)
	if err != nil {
		return nil, engine.NewError(500, "google-drive: %w", err)
	}
	var rb [12]byte
	rand.Read(rb[:])
	boundary := "nectar-" + hex.EncodeToString(rb[:])
	head := "--" + boundary + "\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n" + string(metaJSON) +
		"\r\n--" + boundary + "\r\nContent-Type: " + src.MimeType + "\r\n\r\n"
	tail := "\r\n--" + boundary + "--\r\n"
	q := s.query()
	q.Set("uploadType", "multipart")
	q.Set("fields", s.fields)
	req, err := http.NewRequestWithContext(ctx, method, u+"?"+q.Encode(), nil)
	if err != nil {
		return nil, engine.NewError(500, "google-drive: %w", err)
	}
	src.SetBody(req, []byte(head), 0, src.Size, []byte(tail))
	req.Header.Set("Content-Type", "multipart/related; boundary="+boundary)
	req.Header.Set("Accept", "application/json")
	resp, err := s.Send(ctx, x, req)
	if err != nil {
		return nil, err
	}
	return s.Decode(ctx, req, resp)
}

// resumableUpload runs Drive's resumable protocol: it starts a session
// (the metadata, X-Upload-Content-Type and -Length) whose URI comes back in
// Location, then PUTs the content in chunks with Content-Range; Drive
// answers 308 with the Range it holds until the last chunk, answered 200 or
// 201 with the file. After a failed chunk (a 5xx, 429 or a broken
// connection) it asks where the upload stands (an empty PUT with
// Content-Range: bytes */total) and resumes from there; a session that
// expired (404) is started again once.
func (s *step) resumableUpload(ctx context.Context, x *engine.Exec, method, u string, meta *value.Object, src *files.Source) (any, error) {
	session, err := s.startSession(ctx, x, method, u, meta, src)
	if err != nil {
		return nil, err
	}
	// Chunks go out without the client's own retries: a failed chunk is
	// retried the protocol's way, from where Drive says it stands.
	hc, err := s.Client.HTTPClient(x)
	if err != nil {
		return nil, s.TransportError(ctx, &http.Request{Method: http.MethodPut, URL: s.upURL}, err)
	}
	r := files.Resumable{
		Connector: "google-drive", Provider: "Drive",
		Size: src.Size, Chunk: s.chunk,
		Retries: s.cfg.Retries, Backoff: s.cfg.RetryBackoff.D(),
		Logger:    x.Logger,
		StatusLog: "upload chunk failed; asking Drive where the upload stands",
		Restart: func() (err error) {
			// The session expired (they last a week): start over, once.
			session, err = s.startSession(ctx, x, method, u, meta, src)
			return err
		},
		Put: func(off, n int64) (any, int64, bool, error) {
			return s.putChunk(ctx, hc, session, src, off, n)
		},
		Status: func() (any, int64, bool, error) {
			return s.uploadStatus(ctx, hc, session, src.Size)
		},
	}
	return r.Run(ctx)
}

// putChunk sends n bytes from off.
func (s *step) putChunk(ctx context.Context, hc *http.Client, session string, src *files.Source, off, n int64) (any, int64, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, session, nil)
	if err != nil {
		return nil, 0, false, engine.NewError(500, "google-drive: %w", err)
	}
	src.SetBody(req, nil, off, n, nil)
	req.Header.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, off+n-1, src.Size))
	req.Header.Set("Content-Type", src.MimeType)
	resp, err := hc.Do(req)
	if err != nil {
		return nil, 0, false, s.TransportError(ctx, req, err)
	}
	return s.chunkAnswer(ctx, req, resp)
}

// startSession starts a resumable upload and returns the session URI.
func (s *step) startSession(ctx context.Context, x *engine.Exec, method, u string, meta *value.Object, src *files.Source) (string, error) {
	metaJSON, err := value.Encode(meta)
	if err != nil {
		return "", engine.NewError(500, "google-drive: %w", err)
	}
	q := s.query()
	q.Set("uploadType", "resumable")
	q.Set("fields", s.fields)
	req, err := http.NewRequestWithContext(ctx, method, u+"?"+q.Encode(), strings.NewReader(string(metaJSON)))
	if err != nil {
		return "", engine.NewError(500, "google-drive: %w", err)
	}
	req.Header.Set("Content-Type", "application/json; charset=UTF-8")
	req.Header.Set("X-Upload-Content-Type", src.MimeType)
	req.Header.Set("X-Upload-Content-Length", strconv.FormatInt(src.Size, 10))
	resp, err := s.Send(ctx, x, req)
	if err != nil {
		return "", err
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return "", s.APIError(resp.StatusCode, data)
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return "", engine.NewError(502, "google-drive: upload: Drive started no upload session (no Location header)")
	}
	lu, err := req.URL.Parse(loc)
	if err != nil {
		return "", engine.NewError(502, "google-drive: upload: bad session URI: %w", httpclient.WithoutURL(err))
	}
	return lu.String(), nil
}

// chunkAnswer reads the answer to a chunk: done with the file (200, 201),
// or the next offset (308 and its Range header, absent when Drive holds
// nothing yet).
func (s *step) chunkAnswer(ctx context.Context, req *http.Request, resp *http.Response) (any, int64, bool, error) {
	switch {
	case resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusCreated:
		v, err := s.Decode(ctx, req, resp)
		return v, 0, true, err
	case resp.StatusCode == http.StatusPermanentRedirect:
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		next, err := rangeEnd(resp.Header.Get("Range"))
		return nil, next, false, err
	default:
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		return nil, 0, false, s.APIError(resp.StatusCode, data)
	}
}

// uploadStatus asks where a resumable upload stands.
func (s *step) uploadStatus(ctx context.Context, hc *http.Client, session string, total int64) (any, int64, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, session, http.NoBody)
	if err != nil {
		return nil, 0, false, engine.NewError(500, "google-drive: %w", err)
	}
	req.Header.Set("Content-Range", fmt.Sprintf("bytes */%d", total))
	resp, err := hc.Do(req)
	if err != nil {
		return nil, 0, false, s.TransportError(ctx, req, err)
	}
	return s.chunkAnswer(ctx, req, resp)
}

// rangeEnd reads a Range header like "bytes=0-524287" and returns the next
// offset (524288); no header means nothing was received.
func rangeEnd(h string) (int64, error) {
	if h == "" {
		return 0, nil
	}
	_, r, ok := strings.Cut(h, "=")
	_, end, ok2 := strings.Cut(r, "-")
	n, err := strconv.ParseInt(strings.TrimSpace(end), 10, 64)
	if !ok || !ok2 || err != nil {
		return 0, engine.NewError(502, "google-drive: upload: unreadable Range header %q", h)
	}
	return n + 1, nil
}
