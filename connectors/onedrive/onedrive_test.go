package onedrive_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/accounts/accountstest"
	_ "github.com/nectar-run/nectar/connectors/all"
	"github.com/nectar-run/nectar/connectors/files/filestest"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/secret"
)

func init() { filestest.RegisterReadStep("test-onedrive-read") }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a runtime with an accounts manager on a bbolt store in a
// temporary directory, and the fake.
type env struct {
	*filestest.Env
	graph *fakeGraph
}

func newEnv(t testing.TB, opts ...accounts.Option) *env {
	t.Helper()
	return &env{Env: filestest.NewEnv(t, "onedrive", opts...), graph: newFakeGraph(t)}
}

// load loads a pipeline of steps; FAKE in src is the fake's URL.
func (e *env) load(src string) *engine.Pipeline {
	e.T.Helper()
	return e.Load(strings.ReplaceAll(src, "FAKE", e.graph.URL+"/v1.0"))
}

var get = filestest.Get

const base = `      account: onedrive
      base_url: FAKE
      retry_backoff: 1ms
`

func TestListFollowsNextLink(t *testing.T) {
	e := newEnv(t)
	docs := e.graph.add("root", "Documents", nil, true)
	for i := range 45 {
		e.graph.add(docs, fmt.Sprintf("file-%02d.txt", i), []byte("x"), false)
	}
	tests := []struct {
		name, opts, in string
		count, pages   int64
		hasNext        bool
		wantFirst      string
	}{
		{"by path to the end", "      path: \"{{ message.folder }}\"\n      page_size: 20\n", `{"folder":"/Documents"}`, 45, 3, false, "/me/drive/root:/Documents:/children?$top=20"},
		{"by id to a limit", "      item_id: " + docs + "\n      page_size: 20\n      limit: 30\n", `{}`, 30, 2, true, "/me/drive/items/" + docs + "/children?$top=20"},
		{"a drive by id, with select", "      drive_id: drive1\n      path: /Documents\n      select: id,name\n", `{}`, 45, 1, false, "/drives/drive1/root:/Documents:/children?$select=id%2Cname&$top=200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.graph.Log())
			out := e.MustRun(e.load("  - onedrive:\n      operation: list\n"+tt.opts+base), tt.in)
			if get(out, "count") != tt.count || get(out, "pages") != tt.pages || (get(out, "next_link") != nil) != tt.hasNext {
				t.Fatalf("got %v items in %v pages, next %v", get(out, "count"), get(out, "pages"), get(out, "next_link"))
			}
			items := get(out, "items").([]any)
			if get(items[0], "name") != "file-00.txt" || get(items[len(items)-1], "id") == nil {
				t.Fatalf("items %s", value.MustEncodeString(items[0]))
			}
			reqs := e.graph.Log()[before:]
			if !strings.Contains(reqs[0], tt.wantFirst) {
				t.Fatalf("first request %s, want %s", reqs[0], tt.wantFirst)
			}
			if tt.hasNext {
				next := e.MustRun(e.load("  - onedrive:\n      operation: list\n      next_link: \"{{ message.next_link }}\"\n"+base), value.MustEncodeString(out))
				if get(next, "count") != int64(45-30) {
					t.Fatalf("the rest: %v", get(next, "count"))
				}
			}
		})
	}
	t.Run("a next_link to another host is refused", func(t *testing.T) {
		_, err := e.Run(e.load("  - onedrive:\n      operation: list\n      next_link: https://evil.example/v1.0/x\n"+base), `{}`)
		if ee := engine.AsError(err); ee == nil || ee.Code != 400 || !strings.Contains(ee.Message, "next_link must be a") {
			t.Fatalf("got %v", err)
		}
	})
}

func TestSearch(t *testing.T) {
	e := newEnv(t)
	e.graph.add("root", "it's budget.xlsx", []byte("x"), false)
	e.graph.add("root", "notes.txt", []byte("x"), false)
	out := e.MustRun(e.load("  - onedrive:\n      operation: search\n      query: \"it's\"\n"+base), `{}`)
	if get(out, "count") != int64(1) || get(get(out, "items").([]any)[0], "name") != "it's budget.xlsx" {
		t.Fatalf("got %s", value.MustEncodeString(out))
	}
	if r := e.graph.Log()[0]; !strings.Contains(r, "/me/drive/root/search(q='it''s')") {
		t.Fatalf("request %s", r)
	}
}

func TestDownloadFollowsTheRedirectWithoutTheToken(t *testing.T) {
	e := newEnv(t)
	docs := e.graph.add("root", "Documents", nil, true)
	id := e.graph.add(docs, "report.txt", []byte("quarterly numbers"), false)
	tests := []struct{ name, opts, wantName string }{
		{"by path", "      path: /Documents/report.txt\n", "report.txt"},
		{"by id, renamed", "      item_id: \"{{ message.id }}\"\n      local_name: copy.txt\n", "copy.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := e.MustRun(e.load("  - onedrive:\n      operation: download\n"+tt.opts+base+"  - test-onedrive-read: {}\n"), `{"id":"`+id+`"}`)
			if get(out, "id") != id || get(out, "name") != tt.wantName || get(out, "content") != "quarterly numbers" ||
				get(out, "size") != int64(17) || get(out, "mime_type") != "text/plain" || get(out, "in_workdir") != true {
				t.Fatalf("got %s", value.MustEncodeString(out))
			}
			if _, err := os.Stat(get(out, "path").(string)); !os.IsNotExist(err) {
				t.Fatalf("the downloaded file outlived its execution: %v", err)
			}
		})
	}
	if len(e.graph.leaks) > 0 {
		t.Fatalf("the token went to the pre-authenticated host: %q", e.graph.leaks)
	}
	_, err := e.Run(e.load("  - onedrive:\n      operation: download\n      path: /Documents\n"+base), `{}`)
	if ee := engine.AsError(err); ee == nil || ee.Code != 400 || !strings.Contains(ee.Message, "/Documents is a folder") {
		t.Fatalf("folder: %v", err)
	}
}

func TestSimpleUpload(t *testing.T) {
	e := newEnv(t)
	docs := e.graph.add("root", "Documents", nil, true)
	out := e.MustRun(e.load(`  - onedrive:
      operation: upload
      folder_path: /Documents
      name: "hello-{{ message.n }}.txt"
      content: "hello {{ message.n }}"
`+base), `{"n":2}`)
	it := e.graph.item(get(out, "id").(string))
	if it == nil || it.Parent != docs || it.Name != "hello-2.txt" || string(it.Data) != "hello 2" || !strings.HasPrefix(it.MimeType, "text/plain") {
		t.Fatalf("stored %+v", it)
	}
	r := e.graph.Log()
	if last := r[len(r)-1]; !strings.HasPrefix(last, "PUT /v1.0/me/drive/root:/Documents/hello-2.txt:/content?@microsoft.graph.conflictBehavior=replace") {
		t.Fatalf("request %s", last)
	}
	// Into a folder by id, base64.
	out = e.MustRun(e.load(`  - onedrive:
      operation: upload
      folder_id: `+docs+`
      name: b.bin
      content_base64: AAEC
`+base), `{}`)
	if it := e.graph.item(get(out, "id").(string)); it == nil || string(it.Data) != "\x00\x01\x02" || it.Parent != docs {
		t.Fatalf("stored %+v", it)
	}
}

func TestUploadSessionResumesAFailedChunk(t *testing.T) {
	e := newEnv(t)
	e.graph.add("root", "Backups", nil, true)
	const size = 20 << 20
	path := filestest.WriteGen(t, t.TempDir(), size)
	var failed atomic.Bool
	e.graph.failChunk = func(n int) bool { return n == 2 && !failed.Swap(true) }
	out := e.MustRun(e.load(`  - onedrive:
      operation: upload
      folder_path: /Backups
      file: "{{ message.path }}"
      allow_any_path: true
      chunk_size: 6400KB
`+base), `{"path":"`+path+`"}`)
	it := e.graph.item(get(out, "id").(string))
	if it == nil || it.Size != size || it.SHA256 != genSHA256(size) || it.Name != "big.bin" || get(out, "file", "hashes", "sha256Hash") != it.SHA256 {
		t.Fatalf("stored %+v, answer %s", it, value.MustEncodeString(out))
	}
	// 20 MiB in 6.25 MiB chunks is 4 chunks; the second failed after 320
	// KiB were kept, the session was asked once, and the upload went on
	// from there: 5 chunk PUTs.
	if e.graph.statusGets != 1 || e.graph.chunks != 5 {
		t.Fatalf("status GETs %d, chunks %d", e.graph.statusGets, e.graph.chunks)
	}
	if len(e.graph.leaks) > 0 {
		t.Fatalf("the token went to the upload URL: %q", e.graph.leaks)
	}
}

func TestUploadSessionGivesUpAndCancels(t *testing.T) {
	e := newEnv(t)
	path := filestest.WriteGen(t, t.TempDir(), 5<<20)
	e.graph.failChunk = func(int) bool { return true }
	_, err := e.Run(e.load(`  - onedrive:
      operation: upload
      file: "{{ message.path }}"
      allow_any_path: true
      chunk_size: 320KB
      retries: 1
`+base), `{"path":"`+path+`"}`)
	if ee := engine.AsError(err); ee == nil || ee.Code != 500 || ee.Message != "onedrive: upload: An unspecified error has occurred. (generalException)" {
		t.Fatalf("got %v", err)
	}
	if len(e.graph.sessions) != 0 {
		t.Fatalf("the session was not deleted")
	}
}

func TestShortLivedTokenRenewedMidListing(t *testing.T) {
	fake := accountstest.New(t)
	fake.Set(func(p *accountstest.Provider) { p.ExpiresIn = 120 }) // two minutes
	clk := &clock{t: time.Now()}
	e := newEnv(t, accounts.WithClock(clk.now))
	ctx := context.Background()
	if err := e.M.PutProvider(ctx, &accounts.Provider{Name: "ms", AuthURL: fake.URL + "/authorize", TokenURL: fake.URL + "/token", PKCE: true}); err != nil {
		t.Fatal(err)
	}
	if err := e.M.Put(ctx, &accounts.Account{Name: "onedrive", Type: accounts.TypeOAuth2, Provider: "ms", ClientID: accountstest.ClientID,
		ClientSecret: secret.New(accountstest.ClientSecret), Scopes: []string{"offline_access", "Files.ReadWrite.All"},
		AllowedHosts: []string{"127.0.0.1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.M.Authorize(ctx, "onedrive", accounts.AuthorizeOptions{Timeout: 10 * time.Second, Prompt: func(consent string) {
		resp, err := http.Get(consent)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}}); err != nil {
		t.Fatal(err)
	}
	e.graph.auth = func(r *http.Request) bool {
		req, _ := http.NewRequest(http.MethodGet, fake.URL+"/api/check", nil)
		req.Header.Set("Authorization", r.Header.Get("Authorization"))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}
	// After the first page, the token's two minutes are over: the provider
	// refuses it and the clock says so.
	e.graph.afterPage = func(n int) {
		if n == 1 {
			fake.ExpireAccessTokens()
			clk.advance(3 * time.Minute)
		}
	}
	for i := range 5 {
		e.graph.add("root", fmt.Sprintf("f%d.txt", i), []byte("x"), false)
	}
	before := fake.TokenRequests()
	out := e.MustRun(e.load("  - onedrive:\n      operation: list\n      page_size: 2\n"+base), `{}`)
	if get(out, "count") != int64(5) || get(out, "pages") != int64(3) {
		t.Fatalf("got %s", value.MustEncodeString(out))
	}
	if n := fake.TokenRequests() - before; n != 1 {
		t.Fatalf("%d token requests, want 1 renewal", n)
	}
	if g := fake.Forms[len(fake.Forms)-1].Get("grant_type"); g != "refresh_token" {
		t.Fatalf("renewed with %s", g)
	}
}

func TestGraphErrorsSurface(t *testing.T) {
	e := newEnv(t)
	e.graph.add("root", "Taken", nil, true)
	tests := []struct {
		name, step, msg string
		code            int
	}{
		{"missing item", "      operation: get\n      path: /nope.txt\n", "onedrive: get: Item does not exist (itemNotFound)", 404},
		{"name taken", "      operation: create_folder\n      name: Taken\n", "onedrive: create_folder: The specified item name already exists. (nameAlreadyExists)", 409},
		{"expired token", "      operation: list\n      account: stale\n", "onedrive: list: Access token has expired or is not yet valid. (InvalidAuthenticationToken)", 401},
	}
	e.M.Put(context.Background(), &accounts.Account{Name: "stale", Type: accounts.TypeBearer, Token: secret.New("stale-token"), AllowedHosts: []string{"127.0.0.1"}})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "  - onedrive:\n" + tt.step + "      base_url: FAKE\n"
			if !strings.Contains(tt.step, "account:") {
				src += "      account: onedrive\n"
			}
			_, err := e.Run(e.load(src), `{}`)
			ee := engine.AsError(err)
			if ee == nil || ee.Code != tt.code || ee.Message != tt.msg {
				t.Fatalf("got %v", err)
			}
			if get(ee.Object(), "body", "error", "innerError", "request-id") != "req-1" {
				t.Fatalf("error object %s", value.MustEncodeString(ee.Object()))
			}
		})
	}
}

func TestFolderCopyMoveDelete(t *testing.T) {
	e := newEnv(t)
	src := e.graph.add("root", "a.txt", []byte("a"), false)
	run := func(step string) *value.Object {
		t.Helper()
		return e.MustRun(e.load("  - onedrive:\n"+step+base), `{}`)
	}
	folder := run("      operation: create_folder\n      name: Archive\n")
	fid := get(folder, "id").(string)
	if it := e.graph.item(fid); it == nil || !it.Folder || it.Parent != "root" {
		t.Fatalf("folder %+v", it)
	}
	cp := run("      operation: copy\n      path: /a.txt\n      folder_path: /Archive\n      name: a-copy.txt\n      poll_interval: 1ms\n")
	if it := e.graph.item(get(cp, "id").(string)); it == nil || it.Name != "a-copy.txt" || it.Parent != fid || string(it.Data) != "a" {
		t.Fatalf("copy %s", value.MustEncodeString(cp))
	}
	pending := run("      operation: copy\n      item_id: " + src + "\n      name: b.txt\n      wait: false\n")
	if get(pending, "status") != "inProgress" || !strings.Contains(get(pending, "monitor").(string), "/monitor/") {
		t.Fatalf("pending %s", value.MustEncodeString(pending))
	}
	run("      operation: move\n      item_id: " + src + "\n      folder_id: " + fid + "\n      name: moved.txt\n")
	if it := e.graph.item(src); it.Name != "moved.txt" || it.Parent != fid {
		t.Fatalf("moved %+v", it)
	}
	del := run("      operation: delete\n      path: /Archive/moved.txt\n")
	if e.graph.item(src) != nil || get(del, "deleted") != true || get(del, "path") != "/Archive/moved.txt" {
		t.Fatalf("deleted %s", value.MustEncodeString(del))
	}
	if len(e.graph.leaks) > 0 {
		t.Fatalf("the token went to the monitor: %q", e.graph.leaks)
	}
}

func TestLoadErrors(t *testing.T) {
	filestest.LoadErrors(t, "onedrive", []struct{ Name, Step, Want string }{
		{"get without an item", "{operation: get}", "get needs the item: path or item_id"},
		{"path and item_id", "{operation: get, path: /a, item_id: b}", "give path or item_id, not both"},
		{"search without query", "{operation: search}", "query is required by operation search"},
		{"chunk size not a multiple of 320KB", "{operation: upload, file: a, chunk_size: 1MB}", "multiples of 320KB"},
		{"upload of content without a name", "{operation: upload, content: x}", "name is required when uploading content"},
		{"copy with nowhere to go", "{operation: copy, path: /a}", "copy needs folder_path"},
		{"option of another operation", "{operation: get, path: /a, chunk_size: 1MB}", "t.yaml:3:54: steps[0].onedrive.chunk_size: get does not use this option (it applies to upload)"},
	})
}

// TestMemoryStaysFlat moves a 200 MB file (generated on the fly by the
// fake, never held in memory) from one OneDrive folder to another: a
// download into the working directory, then an upload session in 10 MB
// chunks.
func TestMemoryStaysFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("moves 200 MB")
	}
	e := newEnv(t)
	const size = 200 << 20
	e.graph.add("root", "Backups", nil, true)
	id := e.graph.add("root", "big.bin", nil, false)
	e.graph.mu.Lock()
	e.graph.items[id].Gen, e.graph.items[id].Size = true, size
	e.graph.mu.Unlock()
	p := e.load(`  - onedrive:
      operation: download
      item_id: "{{ message.id }}"
` + base + `  - onedrive:
      operation: upload
      folder_path: /Backups
      file: "{{ message }}"
` + base)
	var out *value.Object
	peak := filestest.PeakHeap(func() { out = e.MustRun(p, `{"id":"`+id+`"}`) })
	it := e.graph.item(get(out, "id").(string))
	if it == nil || it.Size != size || it.SHA256 != genSHA256(size) {
		t.Fatalf("stored %+v", it)
	}
	t.Logf("moved %d MB; peak heap in use %.1f MB", size>>20, float64(peak)/(1<<20))
	if peak > 64<<20 {
		t.Fatalf("peak heap %d MB, want under 64 MB", peak>>20)
	}
}

// TestExample runs example.yaml against the fake Graph, its steps pointed
// at the fake by adding base_url.
func TestExample(t *testing.T) {
	e := newEnv(t)
	notes := e.graph.add("root", "Notes", nil, true)
	e.graph.add(notes, "older.txt", []byte("x"), false)
	src, err := os.ReadFile("example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	yaml := strings.ReplaceAll(string(src), "      account: onedrive\n", "      account: onedrive\n      base_url: "+e.graph.URL+"/v1.0\n")
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
