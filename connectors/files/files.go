// Package files is what the file connectors (google-drive, onedrive) share
// about files in a pipeline: a download is written to the execution's
// working directory (x.WorkDir, removed when the execution ends) and the
// message gets a reference to it, {name, path, size, mime_type} plus the
// remote id; an upload takes such a reference, a path inside the working
// directory, or content given in the message (text or base64).
//
// Files are streamed: Save copies a response body to disk with io.Copy, and
// a Source hands out io.SectionReaders over the file, so memory stays flat
// whatever the file size. Bodies built with Body carry a GetBody, so the
// accounts transport resends them after a token renewal without buffering.
package files

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
)

// Ref is a file in the execution's working directory, as the message sees
// it.
type Ref struct {
	Name     string // the file name, without directories
	Path     string // the absolute local path
	Size     int64
	MimeType string
}

// Object returns the reference as a message value: {id, name, path, size,
// mime_type}, id left out when empty.
func (r Ref) Object(id string) *value.Object {
	o := value.NewObject(5)
	if id != "" {
		o.Set("id", id)
	}
	o.Set("name", r.Name)
	o.Set("path", r.Path)
	o.Set("size", r.Size)
	o.Set("mime_type", r.MimeType)
	return o
}

// SafeName turns a remote file name into a local one: no directories, no
// control characters, never empty, "." or "..".
func SafeName(name string) string {
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '/' || r == '\\' || r == ':' {
			return '_'
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if name == "" || name == "." || name == ".." {
		return "download"
	}
	if len(name) > 200 {
		ext := filepath.Ext(name)
		if len(ext) > 20 {
			ext = ""
		}
		name = name[:200-len(ext)] + ext
	}
	return name
}

// Create creates a new file for name in the execution's working directory.
// When the name is taken (two downloads of files with one name), a number
// is added before the extension: report-1.pdf, report-2.pdf. It is safe
// for concurrent use by the branches of one execution.
func Create(x *engine.Exec, name string) (*os.File, string, error) {
	dir, err := x.WorkDir()
	if err != nil {
		return nil, "", fmt.Errorf("working directory: %w", err)
	}
	name = SafeName(name)
	ext := filepath.Ext(name)
	stem := strings.TrimSuffix(name, ext)
	for i := 0; i < 10000; i++ {
		n := name
		if i > 0 {
			n = stem + "-" + strconv.Itoa(i) + ext
		}
		p := filepath.Join(dir, n)
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			return f, p, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, "", err
		}
	}
	return nil, "", fmt.Errorf("too many files named %s in the working directory", name)
}

// Save streams r into a new file for name in the execution's working
// directory and returns its reference. On error the partial file is
// removed.
func Save(x *engine.Exec, name, mimeType string, r io.Reader) (Ref, error) {
	f, p, err := Create(x, name)
	if err != nil {
		return Ref{}, err
	}
	n, err := io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(p)
		return Ref{}, err
	}
	if mimeType == "" {
		mimeType = TypeByName(name)
	}
	return Ref{Name: filepath.Base(p), Path: p, Size: n, MimeType: mimeType}, nil
}

// TypeByName guesses a MIME type from a file name's extension;
// application/octet-stream when unknown.
func TypeByName(name string) string {
	if t := mime.TypeByExtension(strings.ToLower(filepath.Ext(name))); t != "" {
		return t
	}
	return "application/octet-stream"
}

// Source is content to upload: a file (opened once, read in sections) or
// bytes given in the message. Close it when done.
type Source struct {
	Name     string
	Size     int64
	MimeType string
	r        io.ReaderAt
	f        *os.File
}

// Close closes the file, if any.
func (s *Source) Close() error {
	if s.f != nil {
		return s.f.Close()
	}
	return nil
}

// Section returns a reader of n bytes from off.
func (s *Source) Section(off, n int64) *io.SectionReader {
	return io.NewSectionReader(s.r, off, n)
}

// Body returns a request body over n bytes from off and the GetBody that
// makes a fresh copy of it, for http.Request.GetBody: with it, a request
// can be sent again (after a token renewal, a retry) without the body ever
// being held in memory.
func (s *Source) Body(off, n int64) (io.ReadCloser, func() (io.ReadCloser, error)) {
	get := func() (io.ReadCloser, error) { return io.NopCloser(s.Section(off, n)), nil }
	b, _ := get()
	return b, get
}

// SetBody sets req's body to n bytes of the source from off, with
// ContentLength and GetBody, wrapped between head and tail (for multipart
// bodies; either may be nil).
func (s *Source) SetBody(req *http.Request, head []byte, off, n int64, tail []byte) {
	get := func() (io.ReadCloser, error) {
		return io.NopCloser(io.MultiReader(bytes.NewReader(head), s.Section(off, n), bytes.NewReader(tail))), nil
	}
	req.Body, _ = get()
	req.GetBody = get
	req.ContentLength = int64(len(head)) + n + int64(len(tail))
	if req.ContentLength == 0 {
		req.Body, req.GetBody = http.NoBody, func() (io.ReadCloser, error) { return http.NoBody, nil }
	}
}

// Bytes returns a source over data held in memory (content given in the
// message).
func Bytes(name, mimeType string, data []byte) *Source {
	if mimeType == "" {
		mimeType = TypeByName(name)
	}
	return &Source{Name: name, Size: int64(len(data)), MimeType: mimeType, r: bytes.NewReader(data)}
}

// ErrOutsideWorkDir is returned by Open for a path outside the execution's
// working directory when such paths are not allowed.
var ErrOutsideWorkDir = errors.New("the file is outside the execution's working directory")

// Open opens the file an upload takes: v is a file reference (an object
// with path, and optionally name and mime_type, as downloads return), or a
// path. A relative path is taken inside the execution's working directory;
// an absolute one must be inside it too unless anyPath is set, so a message
// cannot make a pipeline upload files of the server. Errors name the path
// as given, never the working directory's place on the server.
func Open(x *engine.Exec, v any, anyPath bool) (*Source, error) {
	var p, name, mt string
	switch t := v.(type) {
	case string:
		p = t
	case *value.Object:
		pv, _ := t.Get("path")
		p, _ = pv.(string)
		nv, _ := t.Get("name")
		name, _ = nv.(string)
		mv, _ := t.Get("mime_type")
		mt, _ = mv.(string)
		if p == "" {
			return nil, fmt.Errorf("the file reference has no path")
		}
	default:
		return nil, fmt.Errorf("expected a file reference {name, path, ...} or a path, got %s", value.TypeName(v))
	}
	if p == "" {
		return nil, fmt.Errorf("empty file path")
	}
	dir, err := x.WorkDir()
	if err != nil {
		return nil, fmt.Errorf("working directory: %w", err)
	}
	given := p
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	p = filepath.Clean(p)
	if !anyPath && !inside(dir, p) {
		return nil, fmt.Errorf("%w: %q (set allow_any_path: true on the step to take such paths, only for messages you trust)", ErrOutsideWorkDir, given)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, asGiven(err, given)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, asGiven(err, given)
	}
	if st.IsDir() {
		f.Close()
		return nil, fmt.Errorf("%q is a directory", given)
	}
	if name == "" {
		name = filepath.Base(p)
	}
	if mt == "" {
		mt = TypeByName(name)
	}
	return &Source{Name: name, Size: st.Size(), MimeType: mt, r: f, f: f}, nil
}

// asGiven returns err with the path it names replaced by the path as the
// step was given it (a relative path would otherwise show where the
// execution's working directory is on the server).
func asGiven(err error, given string) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return &fs.PathError{Op: pe.Op, Path: given, Err: pe.Err}
	}
	return err
}

// inside reports whether p is in dir, symbolic links resolved.
func inside(dir, p string) bool {
	if d, err := filepath.EvalSymlinks(dir); err == nil {
		dir = d
	}
	if r, err := filepath.EvalSymlinks(p); err == nil {
		p = r
	}
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// Content returns a source for content given in the message: text, or
// base64 when isBase64 (standard or URL alphabet, padded or not).
func Content(name, mimeType string, content string, isBase64 bool) (*Source, error) {
	if !isBase64 {
		if mimeType == "" {
			mimeType = TypeByName(name)
			if mimeType == "application/octet-stream" {
				mimeType = "text/plain; charset=utf-8"
			}
		}
		return Bytes(name, mimeType, []byte(content)), nil
	}
	s := strings.TrimRight(strings.TrimSpace(content), "=")
	enc := base64.RawStdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.RawURLEncoding
	}
	data, err := enc.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("content_base64 is not base64: %w", err)
	}
	return Bytes(name, mimeType, data), nil
}
