package gdrive

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/nectar-run/nectar/connectors/files"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

// list follows files.list pages until the end or the limit. The result is
// {files, count, pages} plus next_page_token when files remain.
func (s *step) list(ctx context.Context, x *engine.Exec, in any) (any, error) {
	opts, err := files.Strings(x, in, s.cfg.FolderID, s.cfg.Query, s.cfg.PageToken, s.cfg.DriveID)
	if err != nil {
		return nil, err
	}
	folder, query, token, driveID := opts[0], opts[1], opts[2], opts[3]
	var clauses []string
	if folder != "" {
		clauses = append(clauses, quote(folder)+" in parents")
	}
	if query != "" {
		clauses = append(clauses, "("+query+")")
	}
	if !strings.Contains(query, "trashed") {
		clauses = append(clauses, "trashed = false")
	}
	q := s.query()
	q.Set("q", strings.Join(clauses, " and "))
	q.Set("fields", "nextPageToken,incompleteSearch,files("+s.fields+")")
	if s.cfg.OrderBy != "" {
		q.Set("orderBy", s.cfg.OrderBy)
	}
	corpora := s.cfg.Corpora
	if driveID != "" {
		q.Set("driveId", driveID)
		if corpora == "" {
			corpora = "drive"
		}
	}
	if corpora != "" {
		q.Set("corpora", corpora)
	}
	if s.cfg.AllDrives || driveID != "" || corpora == "allDrives" || corpora == "drive" {
		q.Set("includeItemsFromAllDrives", "true")
		q.Set("supportsAllDrives", "true")
	}
	incomplete := false
	out, pages, token, err := files.Pages(s.cfg.Limit, s.cfg.PageSize, token, func(token string, size int) ([]any, string, error) {
		q.Set("pageSize", strconv.Itoa(size))
		if token != "" {
			q.Set("pageToken", token)
		} else {
			q.Del("pageToken")
		}
		v, err := s.Call(ctx, x, http.MethodGet, s.api+"/files?"+q.Encode(), nil)
		if err != nil {
			return nil, "", err
		}
		o, _ := v.(*value.Object)
		list, _ := files.Field(o, "files").([]any)
		if b, _ := files.Field(o, "incompleteSearch").(bool); b {
			incomplete = true
		}
		next, _ := files.Field(o, "nextPageToken").(string)
		return list, next, nil
	})
	if err != nil {
		return nil, err
	}
	res := files.Listing("files", out, pages, "next_page_token", token)
	if incomplete {
		res.Set("incomplete_search", true)
	}
	return res, nil
}

func (s *step) fileID(x *engine.Exec, in any) (string, error) {
	id, err := s.cfg.FileID.String(x, in)
	if err != nil {
		return "", err
	}
	if id == "" {
		return "", engine.NewError(400, "google-drive: %s: file_id is empty", s.op)
	}
	return id, nil
}

// get returns a file's metadata.
func (s *step) get(ctx context.Context, x *engine.Exec, in any) (any, error) {
	id, err := s.fileID(x, in)
	if err != nil {
		return nil, err
	}
	q := s.query()
	q.Set("fields", s.fields)
	return s.Call(ctx, x, http.MethodGet, s.fileURL(id, "", q), nil)
}

// exports are the formats Google Workspace files are exported to by
// default, and the extensions added to their names.
var exports = map[string]string{
	"application/vnd.google-apps.document":     "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	"application/vnd.google-apps.spreadsheet":  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	"application/vnd.google-apps.presentation": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	"application/vnd.google-apps.drawing":      "image/png",
	"application/vnd.google-apps.script":       "application/vnd.google-apps.script+json",
}

var extensions = map[string]string{
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document":   ".docx",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         ".xlsx",
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
	"application/vnd.oasis.opendocument.text":                                   ".odt",
	"application/vnd.oasis.opendocument.spreadsheet":                            ".ods",
	"application/vnd.oasis.opendocument.presentation":                           ".odp",
	"application/pdf":                         ".pdf",
	"application/rtf":                         ".rtf",
	"application/epub+zip":                    ".epub",
	"application/zip":                         ".zip",
	"application/vnd.google-apps.script+json": ".json",
	"text/plain":                              ".txt",
	"text/csv":                                ".csv",
	"text/tab-separated-values":               ".tsv",
	"text/html":                               ".html",
	"text/markdown":                           ".md",
	"image/png":                               ".png",
	"image/jpeg":                              ".jpg",
	"image/svg+xml":                           ".svg",
}

// download streams a file's content into the working directory: binary
// files with alt=media, Google Workspace files through export.
func (s *step) download(ctx context.Context, x *engine.Exec, in any) (any, error) {
	id, err := s.fileID(x, in)
	if err != nil {
		return nil, err
	}
	opts, err := files.Strings(x, in, s.cfg.LocalName, s.cfg.ExportMimeType)
	if err != nil {
		return nil, err
	}
	localName, exportType := opts[0], opts[1]
	q := s.query()
	q.Set("fields", "id,name,mimeType,size")
	v, err := s.Call(ctx, x, http.MethodGet, s.fileURL(id, "", q), nil)
	if err != nil {
		return nil, err
	}
	meta, _ := v.(*value.Object)
	name, _ := files.Field(meta, "name").(string)
	mt, _ := files.Field(meta, "mimeType").(string)
	var u string
	switch {
	case mt == folderType:
		return nil, engine.NewError(400, "google-drive: download: %s is a folder; list it and download its files", id)
	case strings.HasPrefix(mt, "application/vnd.google-apps."):
		if exportType == "" {
			exportType = exports[mt]
		}
		if exportType == "" {
			return nil, engine.NewError(400, "google-drive: download: %s is a %s file, which Drive cannot export; set export_mime_type if it has a format", id, mt)
		}
		eq := s.query()
		eq.Del("supportsAllDrives") // export does not take it
		eq.Set("mimeType", exportType)
		u = s.fileURL(id, "/export", eq)
		if ext := extensions[exportType]; ext != "" && !strings.HasSuffix(strings.ToLower(name), ext) {
			name += ext
		}
		mt = exportType
	default:
		if exportType != "" {
			return nil, engine.NewError(400, "google-drive: download: export_mime_type is for Google Docs, Sheets, Slides and Drawings; %s is %s", id, mt)
		}
		mq := s.query()
		mq.Set("alt", "media")
		u = s.fileURL(id, "", mq)
	}
	if localName != "" {
		name = localName
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, engine.NewError(500, "google-drive: %w", err)
	}
	resp, err := s.Send(ctx, x, req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 {
		data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		return nil, s.APIError(resp.StatusCode, data)
	}
	ref, err := files.Save(x, name, mt, resp.Body)
	if err != nil {
		return nil, s.TransportError(ctx, req, err)
	}
	return ref.Object(id), nil
}

func (s *step) createFolder(ctx context.Context, x *engine.Exec, in any) (any, error) {
	opts, err := files.Strings(x, in, s.cfg.Name, s.cfg.FolderID)
	if err != nil {
		return nil, err
	}
	name, parent := opts[0], opts[1]
	body := value.NewObject(3)
	body.Set("name", name)
	body.Set("mimeType", folderType)
	if parent != "" {
		body.Set("parents", []any{parent})
	}
	q := s.query()
	q.Set("fields", s.fields)
	return s.Call(ctx, x, http.MethodPost, s.api+"/files?"+q.Encode(), body)
}

// destination evaluates what copy and move take: file_id, name and
// folder_id.
func (s *step) destination(x *engine.Exec, in any) (id, name, parent string, err error) {
	if id, err = s.fileID(x, in); err != nil {
		return "", "", "", err
	}
	opts, err := files.Strings(x, in, s.cfg.Name, s.cfg.FolderID)
	if err != nil {
		return "", "", "", err
	}
	return id, opts[0], opts[1], nil
}

func (s *step) copy(ctx context.Context, x *engine.Exec, in any) (any, error) {
	id, name, parent, err := s.destination(x, in)
	if err != nil {
		return nil, err
	}
	body := value.NewObject(2)
	if name != "" {
		body.Set("name", name)
	}
	if parent != "" {
		body.Set("parents", []any{parent})
	}
	q := s.query()
	q.Set("fields", s.fields)
	return s.Call(ctx, x, http.MethodPost, s.fileURL(id, "/copy", q), body)
}

// move renames a file and/or moves it to folder_id: Drive's files.update
// with addParents and removeParents (the current parents, read first).
func (s *step) move(ctx context.Context, x *engine.Exec, in any) (any, error) {
	id, name, parent, err := s.destination(x, in)
	if err != nil {
		return nil, err
	}
	q := s.query()
	if parent != "" {
		pq := s.query()
		pq.Set("fields", "parents")
		v, err := s.Call(ctx, x, http.MethodGet, s.fileURL(id, "", pq), nil)
		if err != nil {
			return nil, err
		}
		var old []string
		if list, ok := files.Field(files.AsObject(v), "parents").([]any); ok {
			for _, p := range list {
				if ps, ok := p.(string); ok && ps != parent {
					old = append(old, ps)
				}
			}
		}
		q.Set("addParents", parent)
		if len(old) > 0 {
			q.Set("removeParents", strings.Join(old, ","))
		}
	}
	body := value.NewObject(1)
	if name != "" {
		body.Set("name", name)
	}
	q.Set("fields", s.fields)
	return s.Call(ctx, x, http.MethodPatch, s.fileURL(id, "", q), body)
}

// delete moves a file to the trash, or deletes it for good with permanent.
func (s *step) delete(ctx context.Context, x *engine.Exec, in any) (any, error) {
	id, err := s.fileID(x, in)
	if err != nil {
		return nil, err
	}
	q := s.query()
	if s.cfg.Permanent {
		if _, err := s.Call(ctx, x, http.MethodDelete, s.fileURL(id, "", q), nil); err != nil {
			return nil, err
		}
	} else {
		q.Set("fields", "id")
		if _, err := s.Call(ctx, x, http.MethodPatch, s.fileURL(id, "", q), value.ObjectOf("trashed", true)); err != nil {
			return nil, err
		}
	}
	return value.ObjectOf("id", id, "deleted", true, "permanent", s.cfg.Permanent), nil
}

// share creates a permission and returns it.
func (s *step) share(ctx context.Context, x *engine.Exec, in any) (any, error) {
	id, err := s.fileID(x, in)
	if err != nil {
		return nil, err
	}
	p := s.cfg.Permission
	body := value.NewObject(4)
	body.Set("role", p.Role)
	body.Set("type", p.Type)
	switch p.Type {
	case "user", "group":
		email, err := p.EmailAddress.String(x, in)
		if err != nil {
			return nil, err
		}
		body.Set("emailAddress", email)
	case "domain":
		d, err := p.Domain.String(x, in)
		if err != nil {
			return nil, err
		}
		body.Set("domain", d)
	}
	if p.Type == "domain" || p.Type == "anyone" {
		body.Set("allowFileDiscovery", p.AllowFileDiscovery)
	}
	q := s.query()
	q.Set("fields", "id,type,role,emailAddress,domain,allowFileDiscovery")
	if p.Type == "user" || p.Type == "group" {
		q.Set("sendNotificationEmail", strconv.FormatBool(p.Notify || p.Role == "owner"))
		if msg, err := p.EmailMessage.String(x, in); err != nil {
			return nil, err
		} else if msg != "" && (p.Notify || p.Role == "owner") {
			q.Set("emailMessage", msg)
		}
	}
	if p.Role == "owner" {
		q.Set("transferOwnership", "true")
	}
	return s.Call(ctx, x, http.MethodPost, s.fileURL(id, "/permissions", q), body)
}
