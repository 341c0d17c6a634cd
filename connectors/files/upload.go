package files

import (
	"github.com/nectar-run/nectar/engine"
)

// Upload holds the options of an upload that the file connectors share.
// Embed it in a Config with `yaml:",inline"`: the options keep their names
// (name, file, content, content_base64, mime_type, allow_any_path).
type Upload struct {
	Name          engine.Template `yaml:"name" ops:"upload,create_folder,copy,move" doc:"upload: the remote name (default: the local file's); create_folder: the folder's name; copy, move: the new name"`
	File          engine.Template `yaml:"file" ops:"upload" doc:"a file reference ({path, name, mime_type}, as download returns) or a path in the execution's working directory"`
	Content       engine.Template `yaml:"content" ops:"upload" doc:"the content as text (instead of file)"`
	ContentBase64 engine.Template `yaml:"content_base64" ops:"upload" doc:"the content in base64 (instead of file)"`
	MimeType      engine.Template `yaml:"mime_type" ops:"upload" doc:"the content's MIME type (default: the reference's, else from the name's extension)"`
	AllowAnyPath  bool            `yaml:"allow_any_path" ops:"upload" doc:"take file paths outside the execution's working directory (only for messages you trust)"`
}

// Check validates the upload options at load: exactly one of file, content
// and content_base64, and a name when content is uploaded unless
// nameOptional (the remote file already has one).
func (u *Upload) Check(cc *engine.Compiler, nameOptional bool) error {
	n := 0
	for _, t := range []engine.Template{u.File, u.Content, u.ContentBase64} {
		if t.IsSet() {
			n++
		}
	}
	if n != 1 {
		return cc.Errorf("file", "upload takes exactly one of file, content and content_base64")
	}
	if !u.Name.IsSet() && !u.File.IsSet() && !nameOptional {
		return cc.Errorf("name", "name is required when uploading content")
	}
	return nil
}

// Source evaluates name and mime_type and opens what the upload sends:
// file, content or content_base64. It returns the evaluated name ("" when
// name is unset; the source's Name is then the local file's). Errors in
// the message's values are 400s prefixed with connector.
func (u *Upload) Source(x *engine.Exec, in any, connector string) (*Source, string, error) {
	name, err := optional(x, in, u.Name)
	if err != nil {
		return nil, "", err
	}
	mimeType, err := optional(x, in, u.MimeType)
	if err != nil {
		return nil, "", err
	}
	switch {
	case u.File.IsSet():
		v, err := u.File.Eval(x, in)
		if err != nil {
			return nil, "", err
		}
		src, err := Open(x, v, u.AllowAnyPath)
		if err != nil {
			return nil, "", engine.NewError(400, "%s: upload: file: %w", connector, err)
		}
		if mimeType != "" {
			src.MimeType = mimeType
		}
		return src, name, nil
	case u.Content.IsSet():
		c, err := u.Content.String(x, in)
		if err != nil {
			return nil, "", err
		}
		src, _ := Content(name, mimeType, c, false)
		return src, name, nil
	default:
		c, err := u.ContentBase64.String(x, in)
		if err != nil {
			return nil, "", err
		}
		src, err := Content(name, mimeType, c, true)
		if err != nil {
			return nil, "", engine.NewError(400, "%s: upload: %w", connector, err)
		}
		return src, name, nil
	}
}

// optional evaluates an optional template as text ("" when unset).
func optional(x *engine.Exec, in any, t engine.Template) (string, error) {
	if !t.IsSet() {
		return "", nil
	}
	return t.String(x, in)
}
