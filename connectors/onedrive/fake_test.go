package onedrive_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/nectar-run/nectar/connectors/files/filestest"
)

// fakeGraph is a loopback stand-in for the Microsoft Graph drive API,
// written from its public reference: items addressed as /me/drive or
// /drives/{id}, then /root, /root:/path:, /items/{id} or /items/{id}:/name:;
// children listed with $top and @odata.nextLink; search(q='…'); /content
// answering 302 to a pre-authenticated URL on another host; PUT …/content
// (up to 4 MB); createUploadSession with an uploadUrl on another host that
// takes Content-Range chunks in multiples of 320 KiB (202 with
// nextExpectedRanges, 201 with the item at the end, GET for the status,
// DELETE to cancel); create folder with conflictBehavior; copy answering
// 202 with a monitor URL; PATCH to move or rename; DELETE. Errors have
// Graph's shape: {"error": {"code", "message", "innerError"}}.
type fakeGraph struct {
	*httptest.Server
	// other is the host of download URLs, upload URLs and copy monitors,
	// which must not receive the token.
	other *httptest.Server
	t     testing.TB

	// auth checks the bearer token; nil accepts "Bearer test-token".
	auth func(r *http.Request) bool
	// failChunk, when set, is asked for every chunk PUT (numbered from 1);
	// true keeps the first 320 KiB and answers 500.
	failChunk func(n int) bool
	// afterPage runs after a page of children is served (numbered from 1).
	afterPage func(n int)
	keep      int64

	mu                 sync.Mutex
	items              map[string]*item
	order              []string
	seq                int
	sessions           map[string]*upSession
	chunks             int
	statusGets         int
	pages              int
	monitors           map[string]int
	leaks              []string // requests to other carrying Authorization
	filestest.Requests          // the requests received
}

type item struct {
	ID, Name, Parent, MimeType string
	Folder                     bool
	Data                       []byte
	Size                       int64
	SHA256                     string
	Gen                        bool
}

type upSession struct {
	target   string // parent id
	name     string
	total    int64
	received int64
	h        hash.Hash
	data     []byte
}

func newFakeGraph(t testing.TB) *fakeGraph {
	f := &fakeGraph{t: t, items: map[string]*item{}, sessions: map[string]*upSession{}, monitors: map[string]int{}, keep: 32 << 20}
	f.items["root"] = &item{ID: "root", Name: "root", Folder: true}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	f.other = httptest.NewServer(http.HandlerFunc(f.serveOther))
	t.Cleanup(f.Server.Close)
	t.Cleanup(f.other.Close)
	return f
}

func (f *fakeGraph) add(parent, name string, data []byte, folder bool) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.addLocked(parent, name, data, int64(len(data)), folder)
}

func (f *fakeGraph) addLocked(parent, name string, data []byte, size int64, folder bool) string {
	f.seq++
	id := fmt.Sprintf("ITEM%03d", f.seq)
	sum := sha256.Sum256(data)
	it := &item{ID: id, Name: name, Parent: parent, Folder: folder, Data: data, Size: size, SHA256: hex.EncodeToString(sum[:])}
	if !folder {
		it.MimeType = "application/octet-stream"
		if strings.HasSuffix(name, ".txt") {
			it.MimeType = "text/plain"
		}
	}
	f.items[id] = it
	f.order = append(f.order, id)
	return id
}

func (f *fakeGraph) item(id string) *item {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.items[id]
}

func (f *fakeGraph) byPath(path string) *item {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.resolveLocked("root", path)
}

func (f *fakeGraph) resolveLocked(from, path string) *item {
	cur := f.items[from]
	for _, seg := range strings.Split(strings.Trim(path, "/"), "/") {
		if seg == "" {
			continue
		}
		var next *item
		for _, id := range f.order {
			if it := f.items[id]; it != nil && it.Parent == cur.ID && it.Name == seg {
				next = it
				break
			}
		}
		if next == nil {
			return nil
		}
		cur = next
	}
	return cur
}

func (f *fakeGraph) fail(w http.ResponseWriter, status int, code, msg string) {
	f.reply(w, status, map[string]any{"error": map[string]any{"code": code, "message": msg,
		"innerError": map[string]any{"date": "2024-01-01T00:00:00", "request-id": "req-1", "client-request-id": "req-1"}}})
}

func (f *fakeGraph) reply(w http.ResponseWriter, status int, v any) {
	filestest.Reply(w, "application/json", status, v)
}

// resource is the driveItem; call with f.mu held.
func (f *fakeGraph) resource(it *item) map[string]any {
	m := map[string]any{"id": it.ID, "name": it.Name, "size": it.Size, "eTag": "\"" + it.ID + "\"",
		"parentReference": map[string]any{"driveId": "drive1", "driveType": "personal", "id": it.Parent}}
	if it.Folder {
		n := 0
		for _, c := range f.items {
			if c.Parent == it.ID {
				n++
			}
		}
		m["folder"] = map[string]any{"childCount": n}
	} else {
		m["file"] = map[string]any{"mimeType": it.MimeType, "hashes": map[string]any{"sha256Hash": it.SHA256}}
		m["@microsoft.graph.downloadUrl"] = f.other.URL + "/download/" + it.ID + "?tempauth=pre"
	}
	return m
}

var (
	drivePrefix = regexp.MustCompile(`^/v1\.0/(?:me/drive|drives/([^/]+))/`)
	searchRE    = regexp.MustCompile(`^search\(q='(.*)'\)$`)
)

func (f *fakeGraph) serve(w http.ResponseWriter, r *http.Request) {
	f.Add(r.Method + " " + r.URL.Path + "?" + r.URL.RawQuery)
	if !filestest.Authorized(r, f.auth) {
		f.fail(w, 401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
		return
	}
	m := drivePrefix.FindStringSubmatch(r.URL.Path)
	if m == nil {
		f.fail(w, 400, "BadRequest", "Resource not found for the segment.")
		return
	}
	if m[1] != "" && m[1] != "drive1" {
		f.fail(w, 404, "itemNotFound", "The drive does not exist")
		return
	}
	rest := r.URL.Path[len(m[0]):]
	// Address the item: root, root:/path:, items/{id}, items/{id}:/name:
	var base *item
	var sub string
	f.mu.Lock()
	switch {
	case strings.HasPrefix(rest, "root:"):
		p := strings.TrimPrefix(rest, "root:")
		path, after, _ := strings.Cut(p, ":")
		sub = after
		if r.Method == http.MethodPut && strings.HasSuffix(sub, "/content") || strings.HasSuffix(sub, "/createUploadSession") {
			dir, name := path[:strings.LastIndex(path, "/")], path[strings.LastIndex(path, "/")+1:]
			base = f.resolveLocked("root", dir)
			f.mu.Unlock()
			f.write(w, r, base, name, sub)
			return
		}
		base = f.resolveLocked("root", path)
	case rest == "root" || strings.HasPrefix(rest, "root/"):
		base, sub = f.items["root"], strings.TrimPrefix(rest, "root")
	case strings.HasPrefix(rest, "items/"):
		idPart := strings.TrimPrefix(rest, "items/")
		id, after, _ := strings.Cut(idPart, "/")
		if i := strings.Index(id, ":"); i >= 0 {
			// items/{parent}:/name:/sub
			parent, tail := id[:i], idPart[i+1:]
			name, after2, _ := strings.Cut(strings.TrimPrefix(tail, "/"), ":")
			base = f.items[parent]
			f.mu.Unlock()
			f.write(w, r, base, name, after2)
			return
		}
		base, sub = f.items[id], ""
		if after != "" {
			sub = "/" + after
		}
	}
	f.mu.Unlock()
	if base == nil {
		f.fail(w, 404, "itemNotFound", "Item does not exist")
		return
	}
	f.itemOp(w, r, base, sub)
}

func (f *fakeGraph) itemOp(w http.ResponseWriter, r *http.Request, it *item, sub string) {
	q := r.URL.Query()
	switch {
	case sub == "" && r.Method == http.MethodGet:
		f.mu.Lock()
		res := f.resource(it)
		f.mu.Unlock()
		f.reply(w, 200, res)
	case sub == "/children" && r.Method == http.MethodGet, strings.HasPrefix(sub, "/search(") && r.Method == http.MethodGet:
		top, _ := strconv.Atoi(q.Get("$top"))
		if top <= 0 {
			top = 200
		}
		skip, _ := strconv.Atoi(q.Get("$skiptoken"))
		var text string
		if strings.HasPrefix(sub, "/search(") {
			sm := searchRE.FindStringSubmatch(strings.TrimPrefix(sub, "/"))
			if sm == nil {
				f.fail(w, 400, "invalidRequest", "bad search")
				return
			}
			text = strings.ReplaceAll(sm[1], "''", "'")
		}
		f.mu.Lock()
		var all []map[string]any
		for _, id := range f.order {
			c := f.items[id]
			if c == nil {
				continue
			}
			if text != "" && strings.Contains(c.Name, text) || text == "" && c.Parent == it.ID {
				all = append(all, f.resource(c))
			}
		}
		f.pages++
		n := f.pages
		f.mu.Unlock()
		end := min(skip+top, len(all))
		page := []any{}
		for _, v := range all[min(skip, len(all)):end] {
			page = append(page, v)
		}
		out := map[string]any{"@odata.context": f.URL + "/v1.0/$metadata#Collection(driveItem)", "value": page}
		if end < len(all) {
			out["@odata.nextLink"] = f.URL + r.URL.Path + "?$top=" + strconv.Itoa(top) + "&$skiptoken=" + strconv.Itoa(end)
		}
		f.reply(w, 200, out)
		if f.afterPage != nil {
			f.afterPage(n)
		}
	case sub == "/content" && r.Method == http.MethodGet:
		if it.Folder {
			f.fail(w, 400, "invalidRequest", "Folders have no content")
			return
		}
		w.Header().Set("Location", f.other.URL+"/download/"+it.ID+"?tempauth=pre")
		w.WriteHeader(http.StatusFound)
	case sub == "/children" && r.Method == http.MethodPost:
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		name, _ := body["name"].(string)
		if _, isFolder := body["folder"]; !isFolder {
			f.fail(w, 400, "invalidRequest", "only folders")
			return
		}
		f.mu.Lock()
		if f.childLocked(it.ID, name) != nil && body["@microsoft.graph.conflictBehavior"] == "fail" {
			f.mu.Unlock()
			f.fail(w, 409, "nameAlreadyExists", "The specified item name already exists.")
			return
		}
		id := f.addLocked(it.ID, name, nil, 0, true)
		res := f.resource(f.items[id])
		f.mu.Unlock()
		f.reply(w, 201, res)
	case sub == "/copy" && r.Method == http.MethodPost:
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		pr, _ := body["parentReference"].(map[string]any)
		f.mu.Lock()
		parent := it.Parent
		if pid, ok := pr["id"].(string); ok {
			parent = pid
		}
		name, _ := body["name"].(string)
		if name == "" {
			name = it.Name
		}
		id := f.addLocked(parent, name, it.Data, it.Size, it.Folder)
		f.monitors[id] = 0
		f.mu.Unlock()
		w.Header().Set("Location", f.other.URL+"/monitor/"+id)
		w.WriteHeader(http.StatusAccepted)
	case sub == "" && r.Method == http.MethodPatch:
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		f.mu.Lock()
		if pr, ok := body["parentReference"].(map[string]any); ok {
			if pid, ok := pr["id"].(string); ok {
				it.Parent = pid
			}
		}
		if n, ok := body["name"].(string); ok {
			it.Name = n
		}
		res := f.resource(it)
		f.mu.Unlock()
		f.reply(w, 200, res)
	case sub == "" && r.Method == http.MethodDelete:
		f.mu.Lock()
		delete(f.items, it.ID)
		f.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	default:
		f.fail(w, 405, "notSupported", "not supported")
	}
}

func (f *fakeGraph) childLocked(parent, name string) *item {
	for _, id := range f.order {
		if c := f.items[id]; c != nil && c.Parent == parent && c.Name == name {
			return c
		}
	}
	return nil
}

// write serves PUT …:/name:/content and …:/name:/createUploadSession.
func (f *fakeGraph) write(w http.ResponseWriter, r *http.Request, parent *item, name, sub string) {
	if parent == nil || !parent.Folder {
		f.fail(w, 404, "itemNotFound", "Item does not exist")
		return
	}
	switch {
	case sub == "/content" && r.Method == http.MethodPut:
		if r.ContentLength > 4<<20 {
			f.fail(w, 413, "requestTooLarge", "Maximum request length exceeded.")
			return
		}
		data, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		if old := f.childLocked(parent.ID, name); old != nil {
			if r.URL.Query().Get("@microsoft.graph.conflictBehavior") == "fail" {
				f.mu.Unlock()
				f.fail(w, 409, "nameAlreadyExists", "The specified item name already exists.")
				return
			}
			delete(f.items, old.ID)
		}
		id := f.addLocked(parent.ID, name, data, int64(len(data)), false)
		f.items[id].MimeType = r.Header.Get("Content-Type")
		res := f.resource(f.items[id])
		f.mu.Unlock()
		f.reply(w, 201, res)
	case sub == "/createUploadSession" && r.Method == http.MethodPost:
		f.mu.Lock()
		f.seq++
		sid := fmt.Sprintf("s%d", f.seq)
		f.sessions[sid] = &upSession{target: parent.ID, name: name, total: -1, h: sha256.New()}
		f.mu.Unlock()
		f.reply(w, 200, map[string]any{"uploadUrl": f.other.URL + "/up/" + sid + "?tempauth=pre", "expirationDateTime": "2030-01-01T00:00:00Z", "nextExpectedRanges": []string{"0-"}})
	default:
		f.fail(w, 405, "notSupported", "not supported")
	}
}

var contentRange = regexp.MustCompile(`^bytes (\d+)-(\d+)/(\d+)$`)

// serveOther is the host of pre-authenticated URLs: downloads, upload
// sessions and copy monitors. A request with a token is a leak.
func (f *fakeGraph) serveOther(w http.ResponseWriter, r *http.Request) {
	f.Add("OTHER " + r.Method + " " + r.URL.Path)
	f.mu.Lock()
	if r.Header.Get("Authorization") != "" {
		f.leaks = append(f.leaks, r.Method+" "+r.URL.Path)
	}
	f.mu.Unlock()
	if r.Header.Get("Authorization") != "" {
		f.fail(w, 401, "unauthenticated", "Including the Authorization header with a pre-authenticated URL fails.")
		return
	}
	switch {
	case strings.HasPrefix(r.URL.Path, "/download/"):
		it := f.item(strings.TrimPrefix(r.URL.Path, "/download/"))
		if it == nil || r.URL.Query().Get("tempauth") != "pre" {
			f.fail(w, 404, "itemNotFound", "gone")
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(it.Size, 10))
		if it.Gen {
			io.Copy(w, filestest.GenReader(it.Size))
			return
		}
		w.Write(it.Data)
	case strings.HasPrefix(r.URL.Path, "/monitor/"):
		id := strings.TrimPrefix(r.URL.Path, "/monitor/")
		f.mu.Lock()
		n := f.monitors[id]
		f.monitors[id] = n + 1
		f.mu.Unlock()
		if n == 0 {
			f.reply(w, 202, map[string]any{"operation": "itemCopy", "percentageComplete": 50.0, "status": "inProgress"})
			return
		}
		f.reply(w, 200, map[string]any{"operation": "itemCopy", "percentageComplete": 100.0, "status": "completed", "resourceId": id})
	case strings.HasPrefix(r.URL.Path, "/up/"):
		f.chunk(w, r, strings.TrimPrefix(r.URL.Path, "/up/"))
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeGraph) chunk(w http.ResponseWriter, r *http.Request, sid string) {
	f.mu.Lock()
	s := f.sessions[sid]
	f.mu.Unlock()
	if s == nil {
		f.fail(w, 404, "itemNotFound", "The upload session was not found")
		return
	}
	switch r.Method {
	case http.MethodGet:
		f.mu.Lock()
		f.statusGets++
		f.mu.Unlock()
		f.reply(w, 200, map[string]any{"expirationDateTime": "2030-01-01T00:00:00Z", "nextExpectedRanges": []string{fmt.Sprintf("%d-", s.received)}})
		return
	case http.MethodDelete:
		f.mu.Lock()
		delete(f.sessions, sid)
		f.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
		return
	case http.MethodPut:
	default:
		f.fail(w, 405, "notSupported", "not supported")
		return
	}
	m := contentRange.FindStringSubmatch(r.Header.Get("Content-Range"))
	if m == nil {
		f.fail(w, 400, "invalidRange", "The Content-Range header is missing or malformed.")
		return
	}
	a, _ := strconv.ParseInt(m[1], 10, 64)
	b, _ := strconv.ParseInt(m[2], 10, 64)
	total, _ := strconv.ParseInt(m[3], 10, 64)
	if s.total < 0 {
		s.total = total
	}
	if a < s.received {
		f.fail(w, 416, "invalidRange", "The fragment was already received.")
		return
	}
	if total != s.total || a != s.received || r.ContentLength != b-a+1 || (b+1 < total && (b-a+1)%(320<<10) != 0) {
		f.fail(w, 400, "invalidRange", fmt.Sprintf("Bad fragment %d-%d/%d (expected from %d, in multiples of 320 KiB)", a, b, total, s.received))
		return
	}
	f.mu.Lock()
	f.chunks++
	n := f.chunks
	f.mu.Unlock()
	if f.failChunk != nil && f.failChunk(n) {
		f.save(s, io.LimitReader(r.Body, 320<<10))
		io.Copy(io.Discard, r.Body)
		f.fail(w, 500, "generalException", "An unspecified error has occurred.")
		return
	}
	f.save(s, r.Body)
	if s.received < s.total {
		f.reply(w, 202, map[string]any{"expirationDateTime": "2030-01-01T00:00:00Z", "nextExpectedRanges": []string{fmt.Sprintf("%d-%d", s.received, s.total-1)}})
		return
	}
	f.mu.Lock()
	if old := f.childLocked(s.target, s.name); old != nil {
		delete(f.items, old.ID)
	}
	id := f.addLocked(s.target, s.name, s.data, s.total, false)
	f.items[id].SHA256 = hex.EncodeToString(s.h.Sum(nil))
	delete(f.sessions, sid)
	res := f.resource(f.items[id])
	f.mu.Unlock()
	f.reply(w, 201, res)
}

func (f *fakeGraph) save(s *upSession, r io.Reader) {
	s.received += filestest.Receive(s.h, &s.data, s.total <= f.keep, r)
}

// genSHA256 is the SHA-256 of filestest.GenReader(n).
func genSHA256(n int64) string {
	h := sha256.New()
	io.Copy(h, filestest.GenReader(n))
	return hex.EncodeToString(h.Sum(nil))
}
