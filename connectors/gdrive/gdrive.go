// Package gdrive implements the google-drive connector over the Drive API
// v3: list files (a folder, a Drive query, pages followed to the end or to
// a limit), get metadata, download (binary files, and Google Docs exported
// to a format), upload (multipart for small files, resumable in chunks for
// large ones, creating or replacing), create folders, copy, move or rename,
// delete (to the trash or for good) and share. Shared drives work with the
// flags Drive needs. Requests go through the shared HTTP client
// (connectors/httpclient), so `account:` attaches an OAuth token that is
// renewed and retried by itself. Downloads land in the execution's working
// directory and the message gets a file reference; uploads take one, or
// content given in the message. Files stream: memory stays flat whatever
// their size.
package gdrive

import (
	"context"
	"net/url"
	"strings"

	"github.com/nectar-run/nectar/connectors/files"
	"github.com/nectar-run/nectar/connectors/httpclient"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

func init() {
	engine.Register(engine.Connector[Config]{
		Name:    "google-drive",
		Summary: "Lists, downloads, uploads, copies, moves, deletes and shares Google Drive files, with an OAuth account.",
		Compile: compile,
	})
}

// Config holds the options of a google-drive step.
type Config struct {
	Operation string `yaml:"operation" required:"true" enum:"list,get,download,upload,create_folder,copy,move,delete,share" doc:"what to do"`

	FileID    engine.Template `yaml:"file_id" ops:"get,download,copy,move,delete,share,upload" doc:"the file or folder acted on (get, download, copy, move, delete, share); for upload, the file whose content is replaced"`
	FolderID  engine.Template `yaml:"folder_id" ops:"list,upload,create_folder,copy,move" doc:"list: the folder listed; upload, create_folder: the parent (default: My Drive's root); copy, move: the destination folder"`
	Query     engine.Template `yaml:"query" ops:"list" doc:"a Drive query (name contains 'report' and modifiedTime > '2024-01-01T00:00:00'), joined to folder_id with and; trashed files are left out unless the query mentions trashed"`
	Fields    string          `yaml:"fields" default:"id,name,mimeType,size,parents,createdTime,modifiedTime,md5Checksum,webViewLink,trashed,driveId" doc:"the file fields returned (Drive's fields syntax for one file)"`
	OrderBy   string          `yaml:"order_by" ops:"list" doc:"sort keys, like modifiedTime desc,name"`
	PageSize  int             `yaml:"page_size" ops:"list" default:"100" doc:"files asked per request (1 to 1000)"`
	Limit     int             `yaml:"limit" ops:"list" doc:"most files returned; 0 follows the pages to the end"`
	PageToken engine.Template `yaml:"page_token" ops:"list" doc:"start at this page (the next_page_token of an earlier list)"`

	files.Upload  `yaml:",inline"`
	ConvertTo     string      `yaml:"convert_to" ops:"upload" doc:"convert to this Google Workspace type, like application/vnd.google-apps.spreadsheet for a CSV"`
	IfExists      string      `yaml:"if_exists" ops:"upload" default:"create" enum:"create,replace,fail" doc:"upload without file_id when the folder already has a file of that name: create another (Drive allows duplicate names), replace its content, or fail with 409"`
	ChunkSize     engine.Size `yaml:"chunk_size" ops:"upload" default:"8MB" doc:"size of each resumable chunk (a multiple of 256KB)"`
	ResumableOver engine.Size `yaml:"resumable_over" ops:"upload" default:"5MB" doc:"files larger than this are sent resumable in chunks; smaller ones in one multipart request"`

	ExportMimeType engine.Template `yaml:"export_mime_type" ops:"download" doc:"download of a Google Docs, Sheets, Slides or Drawings file: the format exported (default: docx, xlsx, pptx, png)"`
	LocalName      engine.Template `yaml:"local_name" ops:"download" doc:"the local file name (default: the remote name)"`

	Permanent  bool        `yaml:"permanent" ops:"delete" doc:"delete for good instead of moving to the trash"`
	Permission *Permission `yaml:"permission" ops:"share" doc:"who gets which role"`

	DriveID   engine.Template `yaml:"drive_id" ops:"list" doc:"the shared drive searched (sets corpora=drive)"`
	Corpora   string          `yaml:"corpora" ops:"list" enum:"user,drive,domain,allDrives" doc:"which files the query applies to (default: user, or drive with drive_id)"`
	AllDrives bool            `yaml:"all_drives" default:"true" doc:"send supportsAllDrives, and for list includeItemsFromAllDrives, so files of shared drives are found"`

	BaseURL       string `yaml:"base_url" default:"https://www.googleapis.com" doc:"the Drive API's base URL (for tests or a proxy)"`
	UploadBaseURL string `yaml:"upload_base_url" default:"https://www.googleapis.com" doc:"the base URL of Drive uploads"`

	httpclient.Config `yaml:",inline"`
}

// Permission is the permission a share operation creates.
type Permission struct {
	Role               string          `yaml:"role" required:"true" enum:"reader,commenter,writer,fileOrganizer,organizer,owner" doc:"the role granted"`
	Type               string          `yaml:"type" required:"true" enum:"user,group,domain,anyone" doc:"who gets it"`
	EmailAddress       engine.Template `yaml:"email_address" doc:"the user's or group's address (type user or group)"`
	Domain             engine.Template `yaml:"domain" doc:"the domain (type domain)"`
	AllowFileDiscovery bool            `yaml:"allow_file_discovery" doc:"type domain or anyone: the file can be found by search"`
	Notify             bool            `yaml:"notify" doc:"email the user or group about the share"`
	EmailMessage       engine.Template `yaml:"email_message" doc:"text added to the notification email"`
}

const (
	folderType  = "application/vnd.google-apps.folder"
	minChunk    = 256 << 10
	maxPageSize = 1000
)

type step struct {
	files.API
	cfg       Config
	op        string
	run       func(*step, context.Context, *engine.Exec, any) (any, error) // operations[op]
	api, up   string                                                       // https://www.googleapis.com/drive/v3, …/upload/drive/v3
	upURL     *url.URL
	chunk     int64
	resumable int64
	fields    string
}

var (
	_ engine.Step   = (*step)(nil)
	_ engine.Closer = (*step)(nil)
)

func compile(cfg Config, cc *engine.Compiler) (engine.Step, error) {
	s := &step{cfg: cfg, op: cfg.Operation, run: operations[cfg.Operation], fields: cfg.Fields}
	s.API = files.API{Connector: "google-drive", Op: cfg.Operation, JSONType: "application/json; charset=UTF-8", Detail: reason}
	for _, b := range []struct{ opt, v string }{{"base_url", cfg.BaseURL}, {"upload_base_url", cfg.UploadBaseURL}} {
		u, err := url.Parse(b.v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, cc.Errorf(b.opt, "expected an http or https URL, got %q", b.v)
		}
	}
	s.api = strings.TrimRight(cfg.BaseURL, "/") + "/drive/v3"
	s.up = strings.TrimRight(cfg.UploadBaseURL, "/") + "/upload/drive/v3"
	s.upURL, _ = url.Parse(s.up)
	need := func(opt string, t engine.Template) error {
		if !t.IsSet() {
			return cc.Errorf(opt, "%s is required by operation %s", opt, s.op)
		}
		return nil
	}
	switch s.op {
	case "get", "download", "copy", "delete", "share":
		if err := need("file_id", cfg.FileID); err != nil {
			return nil, err
		}
	case "move":
		if err := need("file_id", cfg.FileID); err != nil {
			return nil, err
		}
		if !cfg.FolderID.IsSet() && !cfg.Name.IsSet() {
			return nil, cc.Errorf("folder_id", "move needs folder_id (the destination), name (the new name) or both")
		}
	case "create_folder":
		if err := need("name", cfg.Name); err != nil {
			return nil, err
		}
	case "upload":
		if err := cfg.Upload.Check(cc, cfg.FileID.IsSet()); err != nil {
			return nil, err
		}
	}
	if s.op == "share" {
		p := cfg.Permission
		if p == nil {
			return nil, cc.Errorf("permission", "share needs permission: {role, type, email_address | domain}")
		}
		if (p.Type == "user" || p.Type == "group") && !p.EmailAddress.IsSet() {
			return nil, cc.Errorf("permission", "a %s permission needs email_address", p.Type)
		}
		if p.Type == "domain" && !p.Domain.IsSet() {
			return nil, cc.Errorf("permission", "a domain permission needs domain")
		}
	}
	if cfg.PageSize < 1 || cfg.PageSize > maxPageSize {
		return nil, cc.Errorf("page_size", "expected 1 to %d, got %d", maxPageSize, cfg.PageSize)
	}
	if cfg.Limit < 0 {
		return nil, cc.Errorf("limit", "expected 0 (no limit) or more, got %d", cfg.Limit)
	}
	s.chunk, s.resumable = cfg.ChunkSize.Bytes(), cfg.ResumableOver.Bytes()
	if s.chunk < minChunk || s.chunk%minChunk != 0 {
		return nil, cc.Errorf("chunk_size", "Drive takes chunks in multiples of 256KB, got %d bytes", s.chunk)
	}
	var err error
	if s.Client, err = cfg.Config.Build(cc); err != nil {
		return nil, err
	}
	return s, nil
}

// Close closes idle connections.
func (s *step) Close(ctx context.Context) error { return s.Client.Close(ctx) }

// operations maps each operation to the method that runs it.
var operations = map[string]func(*step, context.Context, *engine.Exec, any) (any, error){
	"list": (*step).list, "get": (*step).get, "download": (*step).download, "upload": (*step).upload,
	"create_folder": (*step).createFolder, "copy": (*step).copy, "move": (*step).move,
	"delete": (*step).delete, "share": (*step).share,
}

// Execute runs the operation. It does not modify in.
func (s *step) Execute(ctx context.Context, x *engine.Exec, in any) (any, error) {
	return s.run(s, ctx, x, in)
}

// query returns the parameters every call carries.
func (s *step) query() url.Values {
	q := url.Values{}
	if s.cfg.AllDrives {
		q.Set("supportsAllDrives", "true")
	}
	return q
}

// fileURL is the API URL of a file, with sub appended (like "/copy").
func (s *step) fileURL(id, sub string, q url.Values) string {
	return s.api + "/files/" + url.PathEscape(id) + sub + "?" + q.Encode()
}

// reason is the reason of Drive's first error: {"error": {"message":
// "File not found: x.", "errors": [{"reason": "notFound", …}]}} gives
// "google-drive: get: File not found: x. (notFound)".
func reason(eo *value.Object) string {
	if list, ok := files.Field(eo, "errors").([]any); ok && len(list) > 0 {
		r, _ := files.Field(files.AsObject(list[0]), "reason").(string)
		return r
	}
	return ""
}

// quote writes s as a string literal of Drive's query language.
func quote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
