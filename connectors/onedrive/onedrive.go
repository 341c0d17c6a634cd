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
	"net/url"
	"strings"

	"github.com/nectar-run/nectar/connectors/files"
	"github.com/nectar-run/nectar/connectors/httpclient"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
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
	Path       engine.Template `yaml:"path" ops:"list,search,get,download,copy,move,delete" doc:"the item acted on, by path from the drive's root, like /Documents/report.pdf; list: the folder (default: the root); search: the folder searched"`
	ItemID     engine.Template `yaml:"item_id" ops:"list,search,get,download,copy,move,delete" doc:"the item acted on, by id (instead of path)"`
	FolderPath engine.Template `yaml:"folder_path" ops:"upload,create_folder,copy,move" doc:"upload, create_folder: the parent folder by path (default: the root); copy, move: the destination"`
	FolderID   engine.Template `yaml:"folder_id" ops:"upload,create_folder,copy,move" doc:"the parent or destination folder by id (instead of folder_path)"`
	Query      engine.Template `yaml:"query" ops:"search" doc:"the text searched in names, metadata and content"`
	Select     string          `yaml:"select" ops:"list,search,get" doc:"the driveItem properties returned ($select), like id,name,size,lastModifiedDateTime; default: all"`
	PageSize   int             `yaml:"page_size" ops:"list,search" default:"200" doc:"items asked per request ($top, 1 to 1000)"`
	Limit      int             `yaml:"limit" ops:"list,search" doc:"most items returned; 0 follows @odata.nextLink to the end"`
	NextLink   engine.Template `yaml:"next_link" ops:"list,search" doc:"go on from this next_link of an earlier call"`

	files.Upload     `yaml:",inline"`
	ConflictBehavior string          `yaml:"conflict_behavior" ops:"upload,create_folder,copy,move" enum:"fail,replace,rename" doc:"when the name is taken (@microsoft.graph.conflictBehavior): upload defaults to replace, create_folder and copy to fail"`
	ChunkSize        engine.Size     `yaml:"chunk_size" ops:"upload" default:"10MB" doc:"size of each upload-session chunk (a multiple of 320KB, at most 60MB); files up to 4MB go in one PUT"`
	LocalName        engine.Template `yaml:"local_name" ops:"download" doc:"the local file name (default: the remote name)"`

	Wait         bool            `yaml:"wait" ops:"copy" default:"true" doc:"poll the copy's monitor URL until it is done and return the new item; false returns the monitor at once"`
	PollInterval engine.Duration `yaml:"poll_interval" ops:"copy" default:"1s" doc:"wait between two looks at the monitor"`
	MaxWait      engine.Duration `yaml:"max_wait" ops:"copy" default:"5m" doc:"after this long, return the monitor instead of the item"`

	BaseURL string `yaml:"base_url" default:"https://graph.microsoft.com/v1.0" doc:"Microsoft Graph's base URL (for tests, a national cloud or a proxy)"`

	httpclient.Config `yaml:",inline"`
}

const (
	simpleMax = 4 << 20   // the largest upload sent in one PUT
	unit      = 320 << 10 // upload-session chunks are multiples of 320 KiB
	maxChunk  = 60 << 20
)

type step struct {
	files.API // Client: with the account
	cfg       Config
	op        string
	run       func(*step, context.Context, *engine.Exec, any) (any, error) // operations[op]
	bare      *httpclient.Client                                           // without: pre-authenticated URLs (downloads, upload sessions, monitors)
	base      string
	baseU     *url.URL
	chunk     int64
}

var (
	_ engine.Step   = (*step)(nil)
	_ engine.Closer = (*step)(nil)
)

func compile(cfg Config, cc *engine.Compiler) (engine.Step, error) {
	s := &step{cfg: cfg, op: cfg.Operation, run: operations[cfg.Operation], base: strings.TrimRight(cfg.BaseURL, "/")}
	s.API = files.API{Connector: "onedrive", Op: cfg.Operation, JSONType: "application/json", Detail: code}
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
	s.chunk = cfg.ChunkSize.Bytes()
	if s.chunk%unit != 0 || s.chunk > maxChunk {
		return nil, cc.Errorf("chunk_size", "Graph takes chunks in multiples of 320KB up to 60MB, got %d bytes", s.chunk)
	}
	if cfg.PollInterval.D() <= 0 {
		return nil, cc.Errorf("poll_interval", "expected a positive duration")
	}
	if s.Client, err = cfg.Config.Build(cc); err != nil {
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
	return errors.Join(s.Client.Close(ctx), s.bare.Close(ctx))
}

// operations maps each operation to the method that runs it.
var operations = map[string]func(*step, context.Context, *engine.Exec, any) (any, error){
	"list": (*step).list, "search": (*step).list, "get": (*step).get, "download": (*step).download,
	"upload": (*step).upload, "create_folder": (*step).createFolder, "copy": (*step).copy,
	"move": (*step).move, "delete": (*step).delete,
}

// Execute runs the operation. It does not modify in.
func (s *step) Execute(ctx context.Context, x *engine.Exec, in any) (any, error) {
	return s.run(s, ctx, x, in)
}

// drive returns the drive's URL: /me/drive or /drives/{id}.
func (s *step) drive(x *engine.Exec, in any) (string, error) {
	id, err := s.cfg.DriveID.String(x, in)
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
	id, err := s.cfg.ItemID.String(x, in)
	if err != nil {
		return "", "", err
	}
	p, err := s.cfg.Path.String(x, in)
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

// code is Graph's error code: {"error": {"code": "itemNotFound",
// "message": "Item does not exist"}} gives "onedrive: get: Item does not
// exist (itemNotFound)".
func code(eo *value.Object) string {
	c, _ := files.Field(eo, "code").(string)
	return c
}
