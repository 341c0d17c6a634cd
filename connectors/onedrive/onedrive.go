// Package onedrive implements the onedrive connector over Microsoft Graph:
// list a folder's children by path or id (following @odata.nextLink to the
// end or to a limit), search, get metadata, download (the /content
// redirect followed to the pre-authenticated URL without the token),
// upload (one PUT up to 4 MB, an upload session in chunks above, a failed
// chunk resumed from nextExpectedRanges), create folders, copy (polling
// the monitor URL), move or rename, and delete, on the signed-in user's
// drive or a drive given by id. Requests go through the shared HTTP client
// (connectors/httpclient), so `account:` attaches an OAuth token (the
// Microsoft provider) that is renewed and retried by itself. Downloads land
// in the execution's working directory and the message gets a file
// reference; uploads take one, or content given in the message. Files
// stream: memory stays flat whatever their size.
package onedrive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/connectors/files"
	"github.com/nectar-run/nectar/connectors/httpclient"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/triggers"
)

func init() {
	engine.Register(engine.Connector[Config]{
		Name:    "onedrive",
		Summary: "Lists, searches, downloads, uploads, copies, moves and deletes OneDrive files through Microsoft Graph, with an OAuth account.",
		Compile: compile,
	})
}

// Config holds the options of a onedrive step.
type Config struct {
	Operation string `yaml:"operation" required:"true" enum:"list,search,get,download,upload,create_folder,copy,move,delete" doc:"what to do"`

	DriveID    engine.Template `yaml:"drive_id" doc:"the drive (/drives/{id}); default: the signed-in user's (/me/drive)"`
	Path       engine.Template `yaml:"path" doc:"the item acted on, by path from the drive's root, like /Documents/report.pdf; list: the folder (default: the root); search: the folder searched"`
	ItemID     engine.Template `yaml:"item_id" doc:"the item acted on, by id (instead of path)"`
	FolderPath engine.Template `yaml:"folder_path" doc:"upload, create_folder: the parent folder by path (default: the root); copy, move: the destination"`
	FolderID   engine.Template `yaml:"folder_id" doc:"the parent or destination folder by id (instead of folder_path)"`
	Query      engine.Template `yaml:"query" doc:"search: the text searched in names, metadata and content"`
	Select     string          `yaml:"select" doc:"the driveItem properties returned ($select), like id,name,size,lastModifiedDateTime; default: all"`
	PageSize   int             `yaml:"page_size" default:"200" doc:"list, search: items asked per request ($top, 1 to 1000)"`
	Limit      int             `yaml:"limit" doc:"list, search: most items returned; 0 follows @odata.nextLink to the end"`
	NextLink   engine.Template `yaml:"next_link" doc:"list, search: go on from this next_link of an earlier call"`

	files.Upload     `yaml:",inline"`
	ConflictBehavior string          `yaml:"conflict_behavior" enum:"fail,replace,rename" doc:"when the name is taken (@microsoft.graph.conflictBehavior): upload defaults to replace, create_folder and copy to fail"`
	ChunkSize        string          `yaml:"chunk_size" default:"10MB" doc:"upload: size of each upload-session chunk (a multiple of 320KB, at most 60MB); files up to 4MB go in one PUT"`
	LocalName        engine.Template `yaml:"local_name" doc:"download: the local file name (default: the remote name)"`

	Wait         bool            `yaml:"wait" default:"true" doc:"copy: poll the copy's monitor URL until it is done and return the new item; false returns the monitor at once"`
	PollInterval engine.Duration `yaml:"poll_interval" default:"1s" doc:"copy: wait between two looks at the monitor"`
	MaxWait      engine.Duration `yaml:"max_wait" default:"5m" doc:"copy: after this long, return the monitor instead of the item"`

	BaseURL string `yaml:"base_url" default:"https://graph.microsoft.com/v1.0" doc:"Microsoft Graph's base URL (for tests, a national cloud or a proxy)"`

	httpclient.Config `yaml:",inline"`
}

const (
	simpleMax = 4 << 20   // the largest upload sent in one PUT
	unit      = 320 << 10 // upload-session chunks are multiples of 320 KiB
	maxChunk  = 60 << 20
)

type step struct {
	cfg    Config
	op     string
	client *httpclient.Client // with the account
	bare   *httpclient.Client // without: pre-authenticated URLs (downloads, upload sessions, monitors)
	base   string
	baseU  *url.URL
	chunk  int64
}

var (
	_ engine.Step   = (*step)(nil)
	_ engine.Closer = (*step)(nil)
)

func compile(cfg Config, cc *engine.Compiler) (engine.Step, error) {
	s := &step{cfg: cfg, op: cfg.Operation, base: strings.TrimRight(cfg.BaseURL, "/")}
	u, err := url.Parse(s.base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, cc.Errorf("base_url", "expected an http or https URL, got %q", cfg.BaseURL)
	}
	s.baseU = u
	if cfg.Path.IsSet() && cfg.ItemID.IsSet() {
		return nil, cc.Errorf("item_id", "give path or item_id, not both")
	}
	if cfg.FolderPath.IsSet() && cfg.FolderID.IsSet() {
		return nil, cc.Errorf("folder_id", "give folder_path or folder_id, not both")
	}
	item := cfg.Path.IsSet() || cfg.ItemID.IsSet()
	switch s.op {
	case "get", "download", "copy", "move", "delete":
		if !item {
			return nil, cc.Errorf("path", "%s needs the item: path or item_id", s.op)
		}
	}
	switch s.op {
	case "search":
		if !cfg.Query.IsSet() && !cfg.NextLink.IsSet() {
			return nil, cc.Errorf("query", "query is required by operation search")
		}
	case "create_folder":
		if !cfg.Name.IsSet() {
			return nil, cc.Errorf("name", "name is required by operation create_folder")
		}
	case "copy":
		if !cfg.FolderPath.IsSet() && !cfg.FolderID.IsSet() && !cfg.Name.IsSet() {
			return nil, cc.Errorf("folder_path", "copy needs folder_path or folder_id (the destination), name (the copy's name) or both")
		}
	case "move":
		if !cfg.FolderPath.IsSet() && !cfg.FolderID.IsSet() && !cfg.Name.IsSet() {
			return nil, cc.Errorf("folder_path", "move needs folder_path or folder_id (the destination), name (the new name) or both")
		}
	case "upload":
		if err := cfg.Upload.Check(cc, false); err != nil {
			return nil, err
		}
	}
	if cfg.PageSize < 1 || cfg.PageSize > 1000 {
		return nil, cc.Errorf("page_size", "expected 1 to 1000, got %d", cfg.PageSize)
	}
	if cfg.Limit < 0 {
		return nil, cc.Errorf("limit", "expected 0 (no limit) or more, got %d", cfg.Limit)
	}
	if s.chunk, err = triggers.ParseSize(cfg.ChunkSize); err != nil {
		return nil, cc.ErrorAt("chunk_size", err)
	}
	if s.chunk%unit != 0 || s.chunk > maxChunk {
		return nil, cc.Errorf("chunk_size", "Graph takes chunks in multiples of 320KB up to 60MB, got %d bytes", s.chunk)
	}
	if cfg.PollInterval.D() <= 0 {
		return nil, cc.Errorf("poll_interval", "expected a positive duration")
	}
	if s.client, err = cfg.Config.Build(cc); err != nil {
		return nil, err
	}
	bare := cfg.Config
	bare.Account = ""
	if s.bare, err = bare.Build(cc); err != nil {
		return nil, err
	}
	return s, nil
}

// Close closes idle connections.
func (s *step) Close(ctx context.Context) error {
	return errors.Join(s.client.Close(ctx), s.bare.Close(ctx))
}

// Execute runs the operation. It does not modify in.
func (s *step) Execute(ctx context.Context, x *engine.Exec, in any) (any, error) {
	switch s.op {
	case "list", "search":
		return s.list(ctx, x, in)
	case "get":
		return s.get(ctx, x, in)
	case "download":
		return s.download(ctx, x, in)
	case "upload":
		return s.upload(ctx, x, in)
	case "create_folder":
		return s.createFolder(ctx, x, in)
	case "copy":
		return s.copy(ctx, x, in)
	case "move":
		return s.move(ctx, x, in)
	case "delete":
		return s.delete(ctx, x, in)
	}
	return nil, engine.NewError(500, "onedrive: unknown operation %s", s.op)
}

// str evaluates an optional template as text ("" when unset).
func str(x *engine.Exec, in any, t engine.Template) (string, error) {
	if !t.IsSet() {
		return "", nil
	}
	return t.String(x, in)
}

// drive returns the drive's URL: /me/drive or /drives/{id}.
func (s *step) drive(x *engine.Exec, in any) (string, error) {
	id, err := str(x, in, s.cfg.DriveID)
	if err != nil || id == "" {
		return s.base + "/me/drive", err
	}
	return s.base + "/drives/" + url.PathEscape(id), nil
}

// ref addresses an item by id (/items/{id}) or by path (/root:/a/b:; the
// root itself is /root). Sub-resources are appended: ref + "/children".
func ref(drive, id, path string) string {
	if id != "" {
		return drive + "/items/" + url.PathEscape(id)
	}
	p := strings.Trim(path, "/")
	if p == "" {
		return drive + "/root"
	}
	return drive + "/root:/" + escapePath(p) + ":"
}

// child addresses the item named name in a folder given by id or path.
func child(drive, folderID, folderPath, name string) string {
	if folderID != "" {
		return drive + "/items/" + url.PathEscape(folderID) + ":/" + url.PathEscape(name) + ":"
	}
	p := strings.Trim(folderPath, "/")
	if p != "" {
		p += "/"
	}
	return drive + "/root:/" + escapePath(p+name) + ":"
}

func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// item evaluates path and item_id and returns the item's URL and a label
// for results and errors.
func (s *step) item(x *engine.Exec, in any) (string, string, error) {
	drive, err := s.drive(x, in)
	if err != nil {
		return "", "", err
	}
	id, err := str(x, in, s.cfg.ItemID)
	if err != nil {
		return "", "", err
	}
	p, err := str(x, in, s.cfg.Path)
	if err != nil {
		return "", "", err
	}
	if s.cfg.ItemID.IsSet() && id == "" {
		return "", "", engine.NewError(400, "onedrive: %s: item_id is empty", s.op)
	}
	label := id
	if label == "" {
		label = "/" + strings.Trim(p, "/")
	}
	return ref(drive, id, p), label, nil
}

// send sends req with the client's retries and turns transport failures
// into step errors.
func (s *step) send(ctx context.Context, x *engine.Exec, c *httpclient.Client, req *http.Request) (*http.Response, error) {
	req.Header.Set("User-Agent", "nectar")
	resp, err := c.Do(ctx, x, req)
	if err != nil {
		return nil, s.transportError(ctx, req, err)
	}
	return resp, nil
}

// call sends a request with an optional JSON body through the account and
// decodes the JSON answer; an error answer becomes a step error with
// Graph's message and status.
func (s *step) call(ctx context.Context, x *engine.Exec, method, u string, body any) (any, *http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := value.Encode(body)
		if err != nil {
			return nil, nil, engine.NewError(500, "onedrive: %v", err)
		}
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, nil, engine.NewError(500, "onedrive: %v", err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.send(ctx, x, s.client, req)
	if err != nil {
		return nil, nil, err
	}
	v, err := s.decode(ctx, req, resp)
	return v, resp, err
}

// decode reads a JSON answer, or the error it carries.
func (s *step) decode(ctx context.Context, req *http.Request, resp *http.Response) (any, error) {
	data, err := s.client.ReadBody(resp)
	if err != nil {
		if errors.Is(err, httpclient.ErrTooLarge) {
			return nil, engine.NewError(502, "onedrive: %s %s: %v", s.op, httpclient.Redact(req.URL), err)
		}
		return nil, s.transportError(ctx, req, err)
	}
	if resp.StatusCode >= 400 {
		return nil, s.apiError(resp.StatusCode, data)
	}
	if len(data) == 0 {
		return nil, nil
	}
	v, err := value.Decode(data)
	if err != nil {
		return nil, engine.NewError(502, "onedrive: %s: the answer is not JSON: %v", s.op, err)
	}
	return v, nil
}

// readError reads an error answer's body (bounded) and returns the step
// error.
func (s *step) readError(resp *http.Response) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	return s.apiError(resp.StatusCode, data)
}

// apiError is Graph's error answer as a step error: {"error": {"code":
// "itemNotFound", "message": "Item does not exist", "innerError": {…}}}
// gives 404 "onedrive: get: Item does not exist (itemNotFound)"; the error
// object carries status and body.
func (s *step) apiError(status int, data []byte) error {
	msg, code := http.StatusText(status), ""
	v, err := value.Decode(data)
	if o, ok := v.(*value.Object); ok && err == nil {
		if eo, ok := get(o, "error").(*value.Object); ok {
			if m, ok := get(eo, "message").(string); ok && m != "" {
				msg = m
			}
			code, _ = get(eo, "code").(string)
		} else if m, ok := get(o, "error").(string); ok {
			msg = m
			if d, ok := get(o, "error_description").(string); ok {
				msg += ": " + d
			}
		}
	} else if len(data) > 0 && len(data) < 512 {
		msg = strings.TrimSpace(string(data))
	}
	if code != "" {
		msg += " (" + code + ")"
	}
	e := engine.NewError(status, "onedrive: %s: %s", s.op, msg)
	e.Fields = value.NewObject(2)
	e.Fields.Set("status", int64(status))
	if v != nil && err == nil {
		e.Fields.Set("body", v)
	} else {
		e.Fields.Set("body", string(data))
	}
	return e
}

// transportError turns a failure to get an answer into a step error:
// account problems keep their meaning (401 to authorize again, 502 when
// the provider refused to issue a token), others are 502 or 504.
func (s *step) transportError(ctx context.Context, req *http.Request, err error) error {
	var e *engine.Error
	if errors.As(err, &e) {
		return e
	}
	now := time.Now().UnixMilli()
	switch {
	case errors.Is(err, accounts.ErrNeedsReauthorization):
		return &engine.Error{Code: 401, Message: "onedrive: " + err.Error(), Cause: err, Timestamp: now}
	case errors.Is(err, accounts.ErrTokenRequest):
		return &engine.Error{Code: 502, Message: "onedrive: " + err.Error(), Cause: err, Timestamp: now}
	case errors.Is(err, accounts.ErrUnknownAccount) || errors.Is(err, accounts.ErrNoManager):
		return &engine.Error{Code: 500, Message: "onedrive: " + err.Error(), Cause: err, Timestamp: now}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	code := 502
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
		code = 504
	}
	return &engine.Error{Code: code, Message: fmt.Sprintf("onedrive: %s %s: %v", s.op, httpclient.Redact(req.URL), err), Cause: err, Timestamp: now}
}

func get(o *value.Object, k string) any {
	if o == nil {
		return nil
	}
	v, _ := o.Get(k)
	return v
}

func asObject(v any) *value.Object {
	o, _ := v.(*value.Object)
	return o
}
