package gdrive_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/accounts/accountstest"
	_ "github.com/nectar-run/nectar/connectors/all"
	"github.com/nectar-run/nectar/connectors/files"
	"github.com/nectar-run/nectar/connectors/files/filestest"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/internal/nettest"
	"github.com/nectar-run/nectar/secret"
)

func init() { filestest.RegisterReadStep("test-gdrive-read") }

// env is a runtime with an accounts manager on a bbolt store in a
// temporary directory, and the fake.
type env struct {
	*filestest.Env
	drive *fakeDrive
}

func newEnv(t testing.TB, opts ...accounts.Option) *env {
	t.Helper()
	return &env{Env: filestest.NewEnv(t, "drive", opts...), drive: newFakeDrive(t)}
}

// load loads a pipeline of steps; FAKE in src is the fake's URL.
func (e *env) load(src string) *engine.Pipeline {
	e.T.Helper()
	return e.Load(strings.ReplaceAll(src, "FAKE", e.drive.URL))
}

var get = filestest.Get

const base = `      account: drive
      base_url: FAKE
      upload_base_url: FAKE
      retry_backoff: 1ms
`

func TestListFollowsPages(t *testing.T) {
	e := newEnv(t)
	for i := range 250 {
		e.drive.add(fmt.Sprintf("report-%03d.csv", i), "text/csv", "fold", []byte("a,b\n"))
	}
	e.drive.add("elsewhere.txt", "text/plain", "other", nil)
	tests := []struct {
		name      string
		opts      string
		count     int64
		pages     int64
		nextToken any
		pageSizes []string
	}{
		{"to the end", "", 250, 3, nil, []string{"pageSize=100", "pageSize=100", "pageSize=100"}},
		{"to a limit, asking only for what is left", "      limit: 120\n", 120, 2, "tok-120", []string{"pageSize=100", "pageSize=20"}},
		{"a limit inside the first page", "      limit: 7\n      page_size: 50\n", 7, 1, "tok-7", []string{"pageSize=7"}},
		{"from a page token", "      page_token: tok-200\n", 50, 1, nil, []string{"pageSize=100"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.drive.Log())
			p := e.load(`  - google-drive:
      operation: list
      folder_id: "{{ message.folder }}"
` + tt.opts + base)
			out := e.MustRun(p, `{"folder":"fold"}`)
			if get(out, "count") != tt.count || get(out, "pages") != tt.pages || get(out, "next_page_token") != tt.nextToken {
				t.Fatalf("got count %v pages %v next %v", get(out, "count"), get(out, "pages"), get(out, "next_page_token"))
			}
			files := get(out, "files").([]any)
			if int64(len(files)) != tt.count || get(files[0], "name") == nil || get(files[0], "id") == nil {
				t.Fatalf("files: %d, first %s", len(files), value.MustEncodeString(files[0]))
			}
			reqs := e.drive.Log()[before:]
			if len(reqs) != len(tt.pageSizes) {
				t.Fatalf("requests: %q", reqs)
			}
			for i, r := range reqs {
				for _, want := range []string{tt.pageSizes[i], "q=%27fold%27+in+parents+and+trashed+%3D+false", "supportsAllDrives=true", "includeItemsFromAllDrives=true", "fields=nextPageToken%2CincompleteSearch%2Cfiles%28id%2Cname"} {
					if !strings.Contains(r, want) {
						t.Errorf("request %d lacks %s: %s", i, want, r)
					}
				}
			}
		})
	}
}

func TestListSharedDriveAndQuery(t *testing.T) {
	e := newEnv(t)
	p := e.load(`  - google-drive:
      operation: list
      query: "name contains 'it''s' and mimeType != 'application/vnd.google-apps.folder'"
      drive_id: "0AbcShared"
      order_by: modifiedTime desc
      fields: id,name
` + base)
	e.MustRun(p, `{}`)
	r := e.drive.Log()[0]
	for _, want := range []string{"corpora=drive", "driveId=0AbcShared", "orderBy=modifiedTime+desc", "files%28id%2Cname%29", "q=%28name+contains"} {
		if !strings.Contains(r, want) {
			t.Errorf("request lacks %s: %s", want, r)
		}
	}
}

func TestDownloadToTheWorkingDirectory(t *testing.T) {
	e := newEnv(t)
	bin := e.drive.add("photo.png", "image/png", "root", []byte("\x89PNG fake bytes"))
	doc := e.drive.add("Budget", "application/vnd.google-apps.spreadsheet", "root", nil)
	folder := e.drive.add("Folder", "application/vnd.google-apps.folder", "root", nil)
	tests := []struct {
		name, id, opts       string
		wantName, wantType   string
		wantContent, wantErr string
		wantRequestContains  string
	}{
		{"binary with alt=media", bin, "", "photo.png", "image/png", "\x89PNG fake bytes", "", "alt=media"},
		{"google sheet exported to xlsx by default", doc, "", "Budget.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Budget exported as application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "", "/export?mimeType="},
		{"google sheet exported to the format asked", doc, "      export_mime_type: text/csv\n", "Budget.csv", "text/csv", "Budget exported as text/csv", "", "mimeType=text%2Fcsv"},
		{"local name", bin, "      local_name: \"{{ message.id }}.bin\"\n", bin + ".bin", "image/png", "\x89PNG fake bytes", "", ""},
		{"a folder cannot be downloaded", folder, "", "", "", "", "400: google-drive: download: " + folder + " is a folder", ""},
		{"missing file", "nope", "", "", "", "", "404: google-drive: download: File not found: nope. (notFound)", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.drive.Log())
			p := e.load(`  - google-drive:
      operation: download
      file_id: "{{ message.id }}"
` + tt.opts + base + `  - test-gdrive-read: {}
`)
			out, err := e.Run(p, `{"id":"`+tt.id+`"}`)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if get(out, "id") != tt.id || get(out, "name") != tt.wantName || get(out, "mime_type") != tt.wantType ||
				get(out, "content") != tt.wantContent || get(out, "size") != int64(len(tt.wantContent)) || get(out, "in_workdir") != true {
				t.Fatalf("got %s", value.MustEncodeString(out))
			}
			if _, err := os.Stat(get(out, "path").(string)); !os.IsNotExist(err) {
				t.Fatalf("the downloaded file outlived its execution: %v", err)
			}
			if tt.wantRequestContains != "" && !strings.Contains(strings.Join(e.drive.Log()[before:], "\n"), tt.wantRequestContains) {
				t.Fatalf("no request with %s: %q", tt.wantRequestContains, e.drive.Log()[before:])
			}
		})
	}
}

func TestSmallUploads(t *testing.T) {
	e := newEnv(t)
	existing := e.drive.add("notes.txt", "text/plain", "fold", []byte("old"))
	t.Run("text content, multipart, in a folder", func(t *testing.T) {
		p := e.load(`  - google-drive:
      operation: upload
      folder_id: fold
      name: "hello-{{ message.n }}.txt"
      content: "hello {{ message.n }}"
` + base)
		out := e.MustRun(p, `{"n":1}`)
		id, _ := get(out, "id").(string)
		f := e.drive.file(id)
		if f == nil || f.Name != "hello-1.txt" || string(f.Data) != "hello 1" || f.Parents[0] != "fold" || !strings.HasPrefix(f.MimeType, "text/plain") {
			t.Fatalf("stored %+v from %s", f, value.MustEncodeString(out))
		}
		if r := e.drive.Log(); !strings.Contains(r[len(r)-1], "uploadType=multipart") {
			t.Fatalf("not a multipart upload: %s", r[len(r)-1])
		}
	})
	t.Run("base64 content replaces by name", func(t *testing.T) {
		p := e.load(`  - google-drive:
      operation: upload
      folder_id: fold
      name: notes.txt
      content_base64: "{{ message.b64 }}"
      if_exists: replace
` + base)
		out := e.MustRun(p, `{"b64":"bmV3IG5vdGVz"}`)
		if get(out, "id") != existing || string(e.drive.file(existing).Data) != "new notes" {
			t.Fatalf("got %s, stored %q", value.MustEncodeString(out), e.drive.file(existing).Data)
		}
		r := e.drive.Log()
		if !strings.HasPrefix(r[len(r)-1], "PATCH /upload/drive/v3/files/"+existing+"?") {
			t.Fatalf("not an update: %s", r[len(r)-1])
		}
	})
	t.Run("if_exists fail", func(t *testing.T) {
		p := e.load(`  - google-drive:
      operation: upload
      folder_id: fold
      name: notes.txt
      content: x
      if_exists: fail
` + base)
		_, err := e.Run(p, `{}`)
		if e := engine.AsError(err); e == nil || e.Code != 409 || !strings.Contains(e.Message, "already has a file named notes.txt") {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("a path outside the working directory is refused", func(t *testing.T) {
		p := e.load(`  - google-drive:
      operation: upload
      file: /etc/hostname
` + base)
		_, err := e.Run(p, `{}`)
		if e := engine.AsError(err); e == nil || e.Code != 400 || !strings.Contains(e.Message, "outside the execution's working directory") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestResumableUploadRetriesAFailedChunk(t *testing.T) {
	e := newEnv(t)
	const size = 20 << 20
	path := filestest.WriteGen(t, t.TempDir(), size)
	var failed atomic.Bool
	e.drive.failChunk = func(n int) bool { return n == 2 && !failed.Swap(true) }
	p := e.load(`  - google-drive:
      operation: upload
      folder_id: fold
      file: "{{ message.path }}"
      allow_any_path: true
      chunk_size: 8MB
` + base)
	out := e.MustRun(p, `{"path":"`+path+`"}`)
	f := e.drive.file(get(out, "id").(string))
	if f == nil || f.Size != size || f.MD5 != genMD5(size) || f.Name != "big.bin" || get(out, "md5Checksum") != f.MD5 {
		t.Fatalf("stored %v, answer %s", f, value.MustEncodeString(out))
	}
	var puts []string
	for _, r := range e.drive.Log() {
		if strings.HasPrefix(r, "PUT ") {
			puts = append(puts, r)
		}
	}
	// 3 chunks, one failed and resent after a status query, from where
	// Drive said it stood (8 MiB + 256 KiB kept).
	if e.drive.statusQ != 1 || e.drive.chunks != 4 || len(puts) != 5 {
		t.Fatalf("status queries %d, chunks %d, PUTs %q", e.drive.statusQ, e.drive.chunks, puts)
	}
	if !strings.Contains(e.drive.Log()[0], "uploadType=resumable") {
		t.Fatalf("first request %s", e.drive.Log()[0])
	}
}

func TestUploadSessionGivesUpAfterRetries(t *testing.T) {
	e := newEnv(t)
	path := filestest.WriteGen(t, t.TempDir(), 6<<20)
	e.drive.failChunk = func(int) bool { return true }
	p := e.load(`  - google-drive:
      operation: upload
      file: "{{ message.path }}"
      allow_any_path: true
      chunk_size: 1MB
      retries: 2
` + base)
	_, err := e.Run(p, `{"path":"`+path+`"}`)
	if e := engine.AsError(err); e == nil || e.Code != 503 || !strings.Contains(e.Message, "Backend Error (backendError)") {
		t.Fatalf("got %v", err)
	}
}

// oauthEnv is an env whose account is an oauth2 account of a fake provider,
// authorized through the browser flow, and whose Drive checks tokens with
// the provider.
func oauthEnv(t *testing.T) (*env, *accountstest.Provider) {
	fake := accountstest.New(t)
	e := newEnv(t)
	ctx := context.Background()
	if err := e.M.PutProvider(ctx, &accounts.Provider{Name: "fake", AuthURL: fake.URL + "/authorize", TokenURL: fake.URL + "/token", PKCE: true}); err != nil {
		t.Fatal(err)
	}
	if err := e.M.Put(ctx, &accounts.Account{Name: "drive", Type: accounts.TypeOAuth2, Provider: "fake", ClientID: accountstest.ClientID,
		ClientSecret: secret.New(accountstest.ClientSecret), Scopes: []string{"https://www.googleapis.com/auth/drive"},
		AllowedHosts: []string{"127.0.0.1"}}); err != nil {
		t.Fatal(err)
	}
	_, err := e.M.Authorize(ctx, "drive", accounts.AuthorizeOptions{Timeout: 10 * time.Second, Prompt: func(consent string) {
		resp, err := http.Get(consent)
		if err != nil {
			t.Errorf("browser: %v", err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}})
	if err != nil {
		t.Fatal(err)
	}
	e.drive.auth = func(r *http.Request) bool {
		req, _ := http.NewRequest(http.MethodGet, fake.URL+"/api/check", nil)
		req.Header.Set("Authorization", r.Header.Get("Authorization"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}
	return e, fake
}

func TestTokenExpiresMidUpload(t *testing.T) {
	e, fake := oauthEnv(t)
	const size = 20 << 20
	path := filestest.WriteGen(t, t.TempDir(), size)
	e.drive.afterChunk = func(n int) {
		if n == 1 {
			fake.ExpireAccessTokens() // the next chunk's token is refused
		}
	}
	p := e.load(`  - google-drive:
      operation: upload
      file: "{{ message.path }}"
      allow_any_path: true
` + base)
	before := fake.TokenRequests()
	out := e.MustRun(p, `{"path":"`+path+`"}`)
	f := e.drive.file(get(out, "id").(string))
	if f == nil || f.MD5 != genMD5(size) {
		t.Fatalf("stored %v", f)
	}
	if n := fake.TokenRequests() - before; n != 1 {
		t.Fatalf("%d token requests, want 1 refresh", n)
	}
	if got := fake.Forms[len(fake.Forms)-1].Get("grant_type"); got != "refresh_token" {
		t.Fatalf("renewed with %s", got)
	}
	var unauthorized int
	for _, r := range e.drive.Log() {
		if strings.HasPrefix(r, "PUT ") {
			unauthorized++
		}
	}
	if unauthorized != 4 { // 3 chunks + the refused one sent again
		t.Fatalf("%d chunk PUTs, want 4", unauthorized)
	}
}

func TestProviderErrorsSurface(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, step, wantMsg string
		code                int
	}{
		{"not found", "      operation: get\n      file_id: missing\n", "google-drive: get: File not found: missing. (notFound)", 404},
		{"refused token", "      operation: list\n      account: other\n", "google-drive: list: Request had invalid authentication credentials. Expected OAuth 2 access token. (authError)", 401},
	}
	e.M.Put(context.Background(), &accounts.Account{Name: "other", Type: accounts.TypeBearer, Token: secret.New("wrong-token"), AllowedHosts: []string{"127.0.0.1"}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := `  - google-drive:
` + tt.step + `      base_url: FAKE
      upload_base_url: FAKE
`
			if !strings.Contains(tt.step, "account:") {
				src += "      account: drive\n"
			}
			_, err := e.Run(e.load(src), `{}`)
			ee := engine.AsError(err)
			if ee == nil || ee.Code != tt.code || ee.Message != tt.wantMsg {
				t.Fatalf("got %v", err)
			}
			body := get(ee.Object(), "body", "error", "errors")
			if list, ok := body.([]any); !ok || len(list) != 1 {
				t.Fatalf("error object %s", value.MustEncodeString(ee.Object()))
			}
			for _, s := range []string{"wrong-token", "test-token"} {
				if strings.Contains(value.MustEncodeString(ee.Object()), s) {
					t.Fatalf("the error shows a token: %s", value.MustEncodeString(ee.Object()))
				}
			}
		})
	}
}

// TestUploadOutsideWorkDirIsMatchable checks that the refusal of a file
// outside the working directory wraps files.ErrOutsideWorkDir.
func TestUploadOutsideWorkDirIsMatchable(t *testing.T) {
	e := newEnv(t)
	_, err := e.Run(e.load(`  - google-drive:
      operation: upload
      file: /etc/hostname
`+base), `{}`)
	if !errors.Is(err, files.ErrOutsideWorkDir) || engine.AsError(err).Code != 400 {
		t.Fatalf("got %#v, want a 400 wrapping files.ErrOutsideWorkDir", err)
	}
}

// TestConnectTimeoutIs504 checks that an API whose TLS handshake does not
// finish within connect_timeout fails the step with 504, as the rest
// connector does (httpclient.TransportStatus), not 502: the transport's
// timeout is a net.Error whose Timeout() is true, not a context deadline.
func TestConnectTimeoutIs504(t *testing.T) {
	e := newEnv(t)
	u := "https://" + nettest.Silent(t) // never answers the TLS hello
	_, err := e.Run(e.Load(`  - google-drive:
      operation: get
      file_id: f1
      account: drive
      base_url: `+u+`
      upload_base_url: `+u+`
      connect_timeout: 20ms
      retries: 0
`), `{}`)
	ee := engine.AsError(err)
	if ee == nil || ee.Code != 504 {
		t.Fatalf("got %v, want a 504 step error", err)
	}
}

func TestFolderCopyMoveDeleteShare(t *testing.T) {
	e := newEnv(t)
	src := e.drive.add("a.txt", "text/plain", "inbox", []byte("a"))
	run := func(step, in string) *value.Object {
		t.Helper()
		return e.MustRun(e.load("  - google-drive:\n"+step+base), in)
	}
	folder := run("      operation: create_folder\n      name: \"{{ message.name }}\"\n      folder_id: root\n", `{"name":"Archive"}`)
	fid := get(folder, "id").(string)
	if f := e.drive.file(fid); f.MimeType != "application/vnd.google-apps.folder" || f.Name != "Archive" || f.Parents[0] != "root" {
		t.Fatalf("folder %+v", f)
	}
	cp := run("      operation: copy\n      file_id: "+src+"\n      folder_id: "+fid+"\n      name: a-copy.txt\n", `{}`)
	if f := e.drive.file(get(cp, "id").(string)); f.Name != "a-copy.txt" || f.Parents[0] != fid || string(f.Data) != "a" {
		t.Fatalf("copy %+v", f)
	}
	run("      operation: move\n      file_id: "+src+"\n      folder_id: "+fid+"\n      name: moved.txt\n", `{}`)
	if f := e.drive.file(src); f.Name != "moved.txt" || len(f.Parents) != 1 || f.Parents[0] != fid {
		t.Fatalf("moved %+v", f)
	}
	log := e.drive.Log()
	if last := log[len(log)-1]; !strings.Contains(last, "addParents="+fid) || !strings.Contains(last, "removeParents=inbox") || !strings.HasPrefix(last, "PATCH ") {
		t.Fatalf("move request %s", last)
	}
	perm := run(`      operation: share
      file_id: `+src+`
      permission: {role: writer, type: user, email_address: "{{ message.email }}", notify: true, email_message: hi}
`, `{"email":"ada@example.com"}`)
	if get(perm, "role") != "writer" || get(perm, "emailAddress") != "ada@example.com" || get(perm, "sendNotificationEmail") != "true" {
		t.Fatalf("permission %s", value.MustEncodeString(perm))
	}
	del := run("      operation: delete\n      file_id: "+src+"\n", `{}`)
	if f := e.drive.file(src); f == nil || !f.Trashed || get(del, "deleted") != true || get(del, "permanent") != false {
		t.Fatalf("trashed %+v %s", f, value.MustEncodeString(del))
	}
	run("      operation: delete\n      file_id: "+src+"\n      permanent: true\n", `{}`)
	if f := e.drive.file(src); f != nil {
		t.Fatalf("still there: %+v", f)
	}
}

func TestLoadErrors(t *testing.T) {
	filestest.LoadErrors(t, "google-drive", []struct{ Name, Step, Want string }{
		{"get without file_id", "{operation: get}", "file_id is required by operation get"},
		{"upload without content", "{operation: upload}", "upload takes exactly one of file, content and content_base64"},
		{"upload of content without a name", "{operation: upload, content: x}", "name is required when uploading content"},
		{"chunk size not a multiple of 256KB", "{operation: upload, file: a, chunk_size: 300KB}", "multiples of 256KB"},
		{"move with nothing to do", "{operation: move, file_id: x}", "move needs folder_id"},
		{"share without an address", "{operation: share, file_id: x, permission: {role: reader, type: user}}", "needs email_address"},
		{"bad base URL", "{operation: list, base_url: 'ftp://x'}", "expected an http or https URL"},
		{"unknown operation", "{operation: rename}", "operation"},
		{"option of another operation", "{operation: list, permanent: true}", "t.yaml:3:48: steps[0].google-drive.permanent: list does not use this option (it applies to delete)"},
	})
}

// TestMemoryStaysFlat moves a 200 MB file (generated on the fly by the
// fake, never held in memory) from Drive to Drive: a download into the
// working directory, then a resumable upload in 8 MB chunks.
func TestMemoryStaysFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 200 MB")
	}
	e := newEnv(t)
	const size = 200 << 20
	id := e.drive.addGen("big.bin", size)
	p := e.load(`  - google-drive:
      operation: download
      file_id: "{{ message.id }}"
` + base + `  - google-drive:
      operation: upload
      folder_id: backup
      file: "{{ message }}"
` + base)
	var out *value.Object
	peak := filestest.PeakHeap(func() { out = e.MustRun(p, `{"id":"`+id+`"}`) })
	f := e.drive.file(get(out, "id").(string))
	if f == nil || f.Size != size || f.MD5 != genMD5(size) || f.Parents[0] != "backup" {
		t.Fatalf("stored %+v", f)
	}
	t.Logf("moved %d MB; peak heap in use %.1f MB", size>>20, float64(peak)/(1<<20))
	if peak > 64<<20 {
		t.Fatalf("peak heap %d MB, want under 64 MB", peak>>20)
	}
}

// TestExample runs example.yaml against the fake Drive, its account
// pointed at the fake by adding base_url to its steps.
func TestExample(t *testing.T) {
	e := newEnv(t)
	e.drive.add("q3.pdf", "application/pdf", "inbox", []byte("%PDF-1.7 q3"))
	e.drive.add("q2.pdf", "application/pdf", "inbox", []byte("%PDF-1.7 q2"))
	src, err := os.ReadFile("example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	yaml := strings.ReplaceAll(string(src), "      account: drive\n", "      account: drive\n      base_url: "+e.drive.URL+"\n      upload_base_url: "+e.drive.URL+"\n")
	p, err := engine.Load("example.yaml", []byte(yaml), engine.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	in, _ := os.ReadFile("example.input.json")
	msg, _ := value.Decode(in)
	out, err := p.Run(context.Background(), e.RT, msg, engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile("example.want.json")
	if wantV, _ := value.Decode(want); !value.Equal(out, wantV) {
		t.Fatalf("got %s\nwant %s", value.MustEncodeString(out), want)
	}
}

// TestDriveReportExample runs examples/drive-report against the fake Drive.
func TestDriveReportExample(t *testing.T) {
	e := newEnv(t)
	e.drive.add(`plan "v2".docx`, "application/pdf", "watched", []byte("x"))
	e.drive.add("notes.txt", "text/plain", "watched", []byte("yz"))
	src, err := os.ReadFile("../../examples/drive-report/drive-report.yaml")
	if err != nil {
		t.Fatal(err)
	}
	yaml := strings.ReplaceAll(string(src), "      account: drive\n", "      account: drive\n      base_url: "+e.drive.URL+"\n      upload_base_url: "+e.drive.URL+"\n")
	p, err := engine.Load("drive-report.yaml", []byte(yaml), engine.LoadOptions{Globals: value.ObjectOf(
		"folder_id", "watched", "reports_folder_id", "reports", "share_with", "lead@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(context.Background())
	out, err := p.Run(context.Background(), e.RT, value.NewObject(0), engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if get(out, "changed") != int64(2) {
		t.Fatalf("got %s", value.MustEncodeString(out))
	}
	f := e.drive.file(get(out, "report", "id").(string))
	want := "\"name\",\"modified\",\"modified_by\",\"size\",\"link\"\n\"plan \"\"v2\"\".docx\",,\"\",\"1\",\"\"\n\"notes.txt\",,\"\",\"2\",\"\""
	if f == nil || f.MimeType != "application/vnd.google-apps.spreadsheet" || f.Parents[0] != "reports" || string(f.Data) != want {
		t.Fatalf("report %+v\n%s", f, f.Data)
	}
	if len(e.drive.perms) != 1 || e.drive.perms[0]["emailAddress"] != "lead@example.com" {
		t.Fatalf("permissions %v", e.drive.perms)
	}
	if !strings.Contains(e.drive.Log()[0], "modifiedTime+%3E+%27") {
		t.Fatalf("list request %s", e.drive.Log()[0])
	}
}

// TestBadSessionURINamesNoSecret: Drive answers a resumable upload with a
// session URI that cannot be read. The session URI is pre-authenticated
// (its upload_id is the credential), so the error says what is wrong with
// it without quoting it, and keeps the cause for errors.As.
func TestBadSessionURINamesNoSecret(t *testing.T) {
	e := newEnv(t)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", "/upload/drive/v3/files%zz?upload_id=SESSION-SECRET-123")
		w.WriteHeader(http.StatusOK)
	}))
	defer up.Close()
	p := e.load(`  - google-drive:
      operation: upload
      name: a.txt
      content: hello
      resumable_over: 1
      account: drive
      base_url: FAKE
      upload_base_url: ` + up.URL + `
`)
	_, err := e.Run(p, `{}`)
	ee := engine.AsError(err)
	if ee == nil || ee.Code != 502 || !strings.Contains(ee.Message, "bad session URI") {
		t.Fatalf("got %v", err)
	}
	if strings.Contains(ee.Message, "SESSION-SECRET") || strings.Contains(value.MustEncodeString(ee.Object()), "SESSION-SECRET") {
		t.Fatalf("the error quotes the session URI: %s", ee.Message)
	}
	var esc url.EscapeError
	if !errors.As(err, &esc) || string(esc) != "%zz" {
		t.Fatalf("the cause is lost: %#v", ee.Cause)
	}
}
