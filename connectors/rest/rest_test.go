package rest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/accounts/accountstest"
	_ "github.com/nectar-run/nectar/connectors/all"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/secret"
	"github.com/nectar-run/nectar/store/bolt"
)

// runtime returns a runtime with an accounts manager over a bbolt store in
// a temporary directory, and the directory.
func runtime(t testing.TB, opts ...accounts.Option) (*engine.Runtime, *accounts.Manager, string) {
	t.Helper()
	dir := t.TempDir()
	st, err := bolt.Open(dir, bolt.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, _ := secret.NewSealer(secret.GenerateKey())
	m := accounts.NewManager(st, sealer, opts...)
	rt := &engine.Runtime{}
	accounts.Install(rt, m)
	return rt, m, dir
}

func load(t testing.TB, src string, globals ...any) *engine.Pipeline {
	t.Helper()
	var opts engine.LoadOptions
	if len(globals) > 0 {
		opts.Globals = value.ObjectOf(globals...)
	}
	p, err := engine.Load("test.yaml", []byte(src), opts)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p
}

func run(t testing.TB, p *engine.Pipeline, rt *engine.Runtime, in string) (*value.Object, error) {
	t.Helper()
	msg, err := value.DecodeString(in)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := p.Run(ctx, rt, msg, engine.RunOptions{})
	if err != nil {
		return nil, err
	}
	return out.(*value.Object), nil
}

func get(o any, path ...string) any {
	for _, k := range path {
		obj, ok := o.(*value.Object)
		if !ok {
			return nil
		}
		o, _ = obj.Get(k)
	}
	return o
}

func TestRequestAndResult(t *testing.T) {
	var seen *http.Request
	var seenBody []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Clone(context.Background())
		seenBody, _ = io.ReadAll(r.Body)
		switch r.URL.Path {
		case "/missing":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(404)
			io.WriteString(w, `{"error":"no such contact"}`)
		case "/broken":
			w.WriteHeader(500)
			io.WriteString(w, "boom")
		case "/text":
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, "hello")
		case "/binary":
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write([]byte{0xff, 0x00, 0x01})
		default:
			w.Header().Set("Content-Type", "application/json")
			w.Header().Add("X-Multi", "a")
			w.Header().Add("X-Multi", "b")
			io.WriteString(w, `{"id":7,"name":"Ada"}`)
		}
	}))
	t.Cleanup(srv.Close)
	tests := []struct {
		name    string
		step    string
		check   func(t *testing.T, out *value.Object)
		wantErr string
	}{
		{"GET with expressions in url, query and headers", `
      url: "{{ globals.base }}/contacts/{{ message.id }}"
      query: {fields: "name,{{ message.extra }}"}
      headers: {X-Trace: "t-{{ message.id }}"}`,
			func(t *testing.T, out *value.Object) {
				if seen.URL.Path != "/contacts/7" || seen.URL.Query().Get("fields") != "name,email" || seen.Header.Get("X-Trace") != "t-7" {
					t.Fatalf("sent %s %v", seen.URL, seen.Header)
				}
				if get(out, "status") != int64(200) || get(out, "statusMessage") != "OK" || get(out, "body", "name") != "Ada" {
					t.Fatalf("result %s", value.MustEncodeString(out))
				}
				if m, _ := get(out, "headers", "X-Multi").([]any); len(m) != 2 {
					t.Fatalf("headers %s", value.MustEncodeString(get(out, "headers")))
				}
			}, ""},
		{"POST JSON body", `
      method: POST
      url: "{{ globals.base }}/contacts"
      body: {name: "{{ message.name }}", tags: [a, b]}`,
			func(t *testing.T, out *value.Object) {
				if seen.Method != "POST" || string(seenBody) != `{"name":"Ada","tags":["a","b"]}` || seen.Header.Get("Content-Type") != "application/json" {
					t.Fatalf("sent %s %q %v", seen.Method, seenBody, seen.Header)
				}
			}, ""},
		{"form body from the Content-Type header", `
      method: POST
      url: "{{ globals.base }}/form"
      headers: {Content-Type: application/x-www-form-urlencoded}
      body: {name: "{{ message.name }}", n: 2}`,
			func(t *testing.T, out *value.Object) {
				if string(seenBody) != "n=2&name=Ada" {
					t.Fatalf("sent %q", seenBody)
				}
			}, ""},
		{"text body", `
      method: PUT
      url: "{{ globals.base }}/text"
      body: "hi {{ message.name }}"`,
			func(t *testing.T, out *value.Object) {
				if string(seenBody) != "hi Ada" || !strings.HasPrefix(seen.Header.Get("Content-Type"), "text/plain") || get(out, "body") != "hello" {
					t.Fatalf("sent %q %v; got %s", seenBody, seen.Header, value.MustEncodeString(out))
				}
			}, ""},
		{"raw body and binary answer", `
      method: POST
      url: "{{ globals.base }}/binary"
      body_type: raw
      body: "AAEC"`,
			func(t *testing.T, out *value.Object) {
				if !bytes.Equal(seenBody, []byte{0, 1, 2}) || get(out, "body") != "/wAB" {
					t.Fatalf("sent %v; got %s", seenBody, value.MustEncodeString(out))
				}
			}, ""},
		{"gzip body", `
      method: POST
      url: "{{ globals.base }}/z"
      gzip_body: true
      body: {a: 1}`,
			func(t *testing.T, out *value.Object) {
				zr, err := gzip.NewReader(bytes.NewReader(seenBody))
				if err != nil {
					t.Fatal(err)
				}
				plain, _ := io.ReadAll(zr)
				if string(plain) != `{"a":1}` || seen.Header.Get("Content-Encoding") != "gzip" {
					t.Fatalf("sent %q", plain)
				}
			}, ""},
		{"404 is a result by default", `
      url: "{{ globals.base }}/missing"`,
			func(t *testing.T, out *value.Object) {
				if get(out, "status") != int64(404) || get(out, "body", "error") != "no such contact" {
					t.Fatalf("result %s", value.MustEncodeString(out))
				}
			}, ""},
		{"404 fails with stop_on_client_error", `
      url: "{{ globals.base }}/missing"
      stop_on_client_error: true`, nil, "404: rest: GET " + "BASE/missing answered 404 Not Found"},
		{"500 fails with stop_on_server_error", `
      url: "{{ globals.base }}/broken"
      retries: 0
      stop_on_server_error: true`, nil, "500: rest: GET BASE/broken answered 500"},
		{"connection refused", `
      url: "http://127.0.0.1:1/x"
      retries: 0`, nil, "502: rest: GET http://127.0.0.1:1/x: "},
		{"response size cap", `
      url: "{{ globals.base }}/contacts"
      max_response_size: 5`, nil, "502: rest: GET BASE/contacts: response body is larger than max_response_size"},
	}
	rt, _, _ := runtime(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := load(t, "name: t\nsteps:\n  - name: call\n    rest:"+tt.step+"\n", "base", srv.URL)
			out, err := run(t, p, rt, `{"id":7,"extra":"email","name":"Ada"}`)
			if tt.wantErr != "" {
				want := strings.ReplaceAll(tt.wantErr, "BASE", srv.URL)
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("error %v; want %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, out)
		})
	}
}

func TestStoppedErrorCarriesTheAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(422)
		io.WriteString(w, `{"field":"email"}`)
	}))
	t.Cleanup(srv.Close)
	p := load(t, `name: t
steps:
  - rest: {method: POST, url: "`+srv.URL+`", body: {}, stop_on_client_error: true}
`)
	_, err := run(t, p, nil, `{}`)
	e := engine.AsError(err)
	if e == nil || e.Code != 422 || get(e.Object(), "body", "field") != "email" || get(e.Object(), "status") != int64(422) {
		t.Fatalf("error %v %s", err, value.MustEncodeString(e.Object()))
	}
}

func TestMultipart(t *testing.T) {
	var fields map[string]string
	var file string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		mr := multipart.NewReader(r.Body, params["boundary"])
		fields = map[string]string{}
		for {
			part, err := mr.NextPart()
			if err != nil {
				break
			}
			b, _ := io.ReadAll(part)
			if part.FileName() != "" {
				file = part.FileName() + ":" + string(b)
			} else {
				fields[part.FormName()] = string(b)
			}
		}
	}))
	t.Cleanup(srv.Close)
	path := filepath.Join(t.TempDir(), "report.csv")
	os.WriteFile(path, []byte("a,b\n1,2\n"), 0o600)
	p := load(t, `name: t
steps:
  - rest:
      method: POST
      url: "`+srv.URL+`"
      allow_any_path: true
      body_type: multipart
      body:
        fields: {title: "{{ message.title }}"}
        files: {upload: "{{ message.path }}"}
`)
	if _, err := run(t, p, nil, fmt.Sprintf(`{"title":"Q1","path":%q}`, path)); err != nil {
		t.Fatal(err)
	}
	if fields["title"] != "Q1" || file != "report.csv:a,b\n1,2\n" {
		t.Fatalf("fields %v file %q", fields, file)
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name     string
		method   string
		answers  []string // status[:retry-after] per attempt
		options  string
		want     int64 // final status
		attempts int64
	}{
		{"429 with Retry-After 0 is retried at once", "GET", []string{"429:0", "200"}, "retry_backoff: 1h\n      max_retry_wait: 2h", 200, 2},
		{"a Retry-After longer than max_retry_wait ends the retries", "GET", []string{"429:120", "200"}, "max_retry_wait: 60s", 429, 1},
		{"a Retry-After date is honoured", "GET", []string{"503:DATE", "200"}, "retry_backoff: 1h\n      max_retry_wait: 2h", 200, 2},
		{"503 on GET is retried", "GET", []string{"503:0", "502:0", "200"}, "retries: 2", 200, 3},
		{"503 on POST is not", "POST", []string{"503:0", "200"}, "retries: 2", 503, 1},
		{"429 on POST is (the request was not processed)", "POST", []string{"429:0", "200"}, "retries: 2", 200, 2},
		{"retries run out", "GET", []string{"503:0", "503:0", "503:0"}, "retries: 2", 503, 3},
		{"a custom Retry-After header", "GET", []string{"429:x0", "200"}, "retry_after_header: X-Wait\n      retry_backoff: 1h\n      max_retry_wait: 2h", 200, 2},
		{"Celigo rate-limit override: 200 with an error body", "GET", []string{"200:limited", "200"}, "retry_backoff: 1ms\n      rate_limit_error: {path: error.code, values: [RATE_LIMIT]}", 200, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				i := n.Add(1) - 1
				status, after, _ := strings.Cut(tt.answers[min(int(i), len(tt.answers)-1)], ":")
				switch {
				case after == "limited":
					io.WriteString(w, `{"error":{"code":"RATE_LIMIT"}}`)
					return
				case after == "DATE":
					w.Header().Set("Retry-After", time.Now().Add(-time.Second).UTC().Format(http.TimeFormat))
				case strings.HasPrefix(after, "x"):
					w.Header().Set("X-Wait", after[1:])
				case after != "":
					w.Header().Set("Retry-After", after)
				}
				var code int
				fmt.Sscan(status, &code)
				w.WriteHeader(code)
			}))
			t.Cleanup(srv.Close)
			body := ""
			if tt.method == "POST" {
				body = "\n      body: {a: 1}"
			}
			p := load(t, fmt.Sprintf("name: t\nsteps:\n  - rest:\n      method: %s\n      url: %s%s\n      %s\n", tt.method, srv.URL, body, tt.options))
			out, err := run(t, p, nil, `{}`)
			if err != nil {
				t.Fatal(err)
			}
			if get(out, "status") != tt.want || n.Load() != tt.attempts {
				t.Fatalf("status %v after %d attempts; want %d after %d", get(out, "status"), n.Load(), tt.want, tt.attempts)
			}
		})
	}
}

func TestPagination(t *testing.T) {
	items := []int{1, 2, 3, 4, 5, 6, 7}
	page := func(from int) []int { return items[min(from, len(items)):min(from+3, len(items))] }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		q := r.URL.Query()
		var from int
		fmt.Sscan(q.Get("page"), &from)
		switch r.URL.Path {
		case "/link":
			fmt.Sscan(q.Get("from"), &from)
			if from+3 < len(items) {
				w.Header().Set("Link", fmt.Sprintf(`<%s/link?from=%d>; rel="next", <%s/link>; rel="first"`, "", from+3, ""))
			}
			json.NewEncoder(w).Encode(page(from))
		case "/next":
			fmt.Sscan(q.Get("from"), &from)
			next := ""
			if from+3 < len(items) {
				next = fmt.Sprintf("/next?from=%d", from+3)
			}
			json.NewEncoder(w).Encode(map[string]any{"data": page(from), "links": map[string]any{"next": next}})
		case "/cursor":
			fmt.Sscan(q.Get("cursor"), &from)
			var cursor any
			if from+3 < len(items) {
				cursor = from + 3
			}
			json.NewEncoder(w).Encode(map[string]any{"data": page(from), "meta": map[string]any{"cursor": cursor}})
		case "/page":
			json.NewEncoder(w).Encode(map[string]any{"results": page((from - 1) * 3)})
		}
	}))
	t.Cleanup(srv.Close)
	all := []any{int64(1), int64(2), int64(3), int64(4), int64(5), int64(6), int64(7)}
	tests := []struct {
		name, path, pagination string
		want                   []any
		pages                  int64
		truncated              bool
	}{
		{"link header", "/link", "{type: link_header}", all, 3, false},
		{"next url in the body", "/next", "{type: next_url, next_path: links.next, items_path: data}", all, 3, false},
		{"cursor", "/cursor", "{type: cursor, next_path: meta.cursor, cursor_param: cursor, items_path: data}", all, 3, false},
		{"page number until an empty page", "/page", "{type: page, items_path: results}", all, 4, false},
		{"max_pages stops it", "/page", "{type: page, items_path: results, max_pages: 2}", all[:6], 2, true},
		{"quoted bracket keys, as account paths take them", "/cursor", `{type: cursor, next_path: "meta['cursor']", cursor_param: cursor, items_path: "$['data']"}`, all, 3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := load(t, fmt.Sprintf("name: t\nsteps:\n  - rest:\n      url: %s%s\n      pagination: %s\n", srv.URL, tt.path, tt.pagination))
			out, err := run(t, p, nil, `{}`)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := get(out, "body").([]any)
			if !value.Equal(got, tt.want) || get(out, "pages") != tt.pages || (get(out, "truncated") == true) != tt.truncated {
				t.Fatalf("result %s", value.MustEncodeString(out))
			}
		})
	}
}

// fakeAccount creates a client-credentials account on the fake provider.
func fakeAccount(t testing.TB, m *accounts.Manager, fake *accountstest.Provider, name string, edit ...func(a *accounts.Account)) {
	t.Helper()
	a := &accounts.Account{
		Name: name, Type: accounts.TypeClientCredentials, TokenURL: fake.URL + "/token",
		ClientID: accountstest.ClientID, ClientSecret: secret.New(accountstest.ClientSecret),
		// Every test server is on 127.0.0.1, on any port.
		AllowedHosts: []string{"127.0.0.1"},
	}
	for _, e := range edit {
		e(a)
	}
	if err := m.Put(context.Background(), a); err != nil {
		t.Fatal(err)
	}
}

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

func TestConcurrentStepsOnAnExpiredAccount(t *testing.T) {
	fake := accountstest.New(t)
	clk := &clock{t: time.Now()}
	rt, m, _ := runtime(t, accounts.WithClock(clk.now))
	fakeAccount(t, m, fake, "crm")
	p := load(t, `name: t
steps:
  - rest:
      url: "`+fake.URL+`/api/contacts/{{ message.id }}"
      account: crm
      stop_on_client_error: true
`)
	if _, err := run(t, p, rt, `{"id":0}`); err != nil {
		t.Fatal(err)
	}
	// The token expires; 64 concurrent steps need it at once.
	clk.advance(2 * time.Hour)
	fake.ExpireAccessTokens()
	before := fake.TokenRequests()
	var wg sync.WaitGroup
	for i := range 64 {
		wg.Go(func() {
			out, err := run(t, p, rt, fmt.Sprintf(`{"id":%d}`, i))
			if err != nil || get(out, "body", "ok") != true {
				t.Errorf("step %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if n := fake.TokenRequests() - before; n != 1 {
		t.Fatalf("%d token requests for 64 concurrent steps; want exactly 1", n)
	}
}

// TestAccountHeadersWithoutManager checks that a header template reading an
// account, run without an account manager, fails with a 500 that wraps
// accounts.ErrNoManager (errors.Is matches it).
func TestAccountHeadersWithoutManager(t *testing.T) {
	p := load(t, `name: t
steps:
  - rest:
      url: "http://127.0.0.1:1/"
      headers:
        X-Key: "{{ account.custom1.value }}"
`)
	_, err := run(t, p, &engine.Runtime{}, `{}`)
	if !errors.Is(err, accounts.ErrNoManager) || engine.AsError(err).Code != 500 {
		t.Fatalf("got %#v, want a 500 wrapping accounts.ErrNoManager", err)
	}
}

func TestAccountInHeaderTemplates(t *testing.T) {
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header.Clone() }))
	t.Cleanup(srv.Close)
	rt, m, _ := runtime(t)
	if err := m.Put(context.Background(), &accounts.Account{Name: "custom1", Type: "custom-header", HeaderName: "X-Key", HeaderValue: secret.New("hv-9"), BaseURL: srv.URL}); err != nil {
		t.Fatal(err)
	}
	p := load(t, `name: t
steps:
  - rest:
      url: "`+srv.URL+`"
      headers:
        X-Key: "{{ account.custom1.value }}"
        X-Name: "{{ account.custom1.header_name }}"
`)
	if _, err := run(t, p, rt, `{}`); err != nil {
		t.Fatal(err)
	}
	if got.Get("X-Key") != "hv-9" || got.Get("X-Name") != "X-Key" {
		t.Fatalf("headers %v", got)
	}
	_, err := engine.Load("bad.yaml", []byte(`name: t
steps:
  - rest: {url: "http://x/{{ account.custom1.value }}"}
`), engine.LoadOptions{})
	if err == nil || !strings.Contains(err.Error(), "account fields may only be used in header values") {
		t.Fatalf("account in the URL: %v", err)
	}
}

func TestNeedsReauthorizationFailsTheStep(t *testing.T) {
	fake := accountstest.New(t)
	rt, m, _ := runtime(t)
	if err := m.PutProvider(context.Background(), &accounts.Provider{Name: "fake", AuthURL: fake.URL + "/authorize", TokenURL: fake.URL + "/token", PKCE: true}); err != nil {
		t.Fatal(err)
	}
	if err := m.Put(context.Background(), &accounts.Account{Name: "drive", Type: "oauth2", Provider: "fake", ClientID: accountstest.ClientID, BaseURL: fake.URL}); err != nil {
		t.Fatal(err)
	}
	p := load(t, "name: t\nsteps:\n  - rest: {url: \""+fake.URL+"/api/x\", account: drive}\n")
	_, err := run(t, p, rt, `{}`)
	e := engine.AsError(err)
	if e == nil || e.Code != 401 || !strings.Contains(e.Message, "nectar accounts authorize drive") || !errors.Is(err, accounts.ErrNeedsReauthorization) {
		t.Fatalf("error %v", err)
	}
	if _, err := run(t, load(t, "name: t\nsteps:\n  - rest: {url: \""+fake.URL+"/api/x\", account: nope}\n"), rt, `{}`); err == nil || !strings.Contains(err.Error(), "unknown account") {
		t.Fatalf("unknown account: %v", err)
	}
	if _, err := run(t, p, nil, `{}`); err == nil || !strings.Contains(err.Error(), "no accounts") {
		t.Fatalf("no manager: %v", err)
	}
}

func TestAccountLimits(t *testing.T) {
	t.Run("rate limit", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		t.Cleanup(srv.Close)
		rt, m, _ := runtime(t)
		m.Put(context.Background(), &accounts.Account{Name: "slow", Type: "bearer", Token: secret.New("t"), RateLimit: 0.01, Burst: 1, BaseURL: srv.URL})
		p := load(t, "name: t\nsteps:\n  - rest: {url: \""+srv.URL+"\", account: slow, retries: 0}\n")
		if _, err := run(t, p, rt, `{}`); err != nil {
			t.Fatal(err)
		}
		// The burst is spent: the next request would wait 100 s, which the
		// limiter knows at once exceeds the deadline.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, err := p.Run(ctx, rt, value.NewObject(0), engine.RunOptions{})
		if err == nil || !strings.Contains(err.Error(), "rate limit") {
			t.Fatalf("second request: %v", err)
		}
	})
	t.Run("concurrency limit", func(t *testing.T) {
		var inflight, peak atomic.Int64
		arrived := make(chan struct{}, 16)
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := inflight.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			arrived <- struct{}{}
			<-release
			inflight.Add(-1)
		}))
		t.Cleanup(srv.Close)
		rt, m, _ := runtime(t)
		m.Put(context.Background(), &accounts.Account{Name: "narrow", Type: "bearer", Token: secret.New("t"), Concurrency: 2, BaseURL: srv.URL})
		p := load(t, "name: t\nsteps:\n  - rest: {url: \""+srv.URL+"\", account: narrow}\n")
		var wg sync.WaitGroup
		for range 6 {
			wg.Go(func() {
				if _, err := run(t, p, rt, `{}`); err != nil {
					t.Error(err)
				}
			})
		}
		for range 6 {
			<-arrived
			release <- struct{}{}
		}
		wg.Wait()
		if peak.Load() > 2 {
			t.Fatalf("%d requests in flight; the limit is 2", peak.Load())
		}
	})
}

func TestCredentialsDroppedOnCrossHostRedirect(t *testing.T) {
	var landed http.Header
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { landed = r.Header.Clone() }))
	t.Cleanup(other.Close)
	first := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/elsewhere", http.StatusFound)
	}))
	t.Cleanup(first.Close)
	rt, m, _ := runtime(t)
	m.Put(context.Background(), &accounts.Account{Name: "b", Type: "bearer", Token: secret.New("bt-7"), BaseURL: first.URL})
	m.Put(context.Background(), &accounts.Account{Name: "c", Type: "custom-header", HeaderName: "X-Secret", HeaderValue: secret.New("cv-7"), BaseURL: first.URL})
	p := load(t, `name: t
steps:
  - rest:
      url: "`+first.URL+`"
      account: b
      headers: {X-Secret: "{{ account.c.value }}", X-Plain: "kept"}
`)
	if _, err := run(t, p, rt, `{}`); err != nil {
		t.Fatal(err)
	}
	if landed.Get("Authorization") != "" || landed.Get("X-Secret") != "" || landed.Get("X-Plain") != "kept" {
		t.Fatalf("the other host received %v", landed)
	}
}

func TestGzipAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		io.WriteString(zw, `{"zipped":true}`)
		zw.Close()
	}))
	t.Cleanup(srv.Close)
	for _, headers := range []string{"", "\n      headers: {Accept-Encoding: gzip}"} {
		p := load(t, "name: t\nsteps:\n  - rest:\n      url: "+srv.URL+headers+"\n")
		out, err := run(t, p, nil, `{}`)
		if err != nil || get(out, "body", "zipped") != true {
			t.Fatalf("headers %q: %v %s", headers, err, value.MustEncodeString(out))
		}
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct{ name, step, wantErr string }{
		{"url is required", "{method: GET}", `missing required option "url"`},
		{"bad method", "{url: http://x, method: FETCH}", "expected one of GET"},
		{"GET with a body", "{url: http://x, body: {a: 1}}", "a GET request has no body"},
		{"cursor without next_path", "{url: http://x, pagination: {type: cursor}}", "next_path is required"},
		{"not a URL", "{url: ftp://x}", "expected an http or https URL"},
		{"typo", "{url: http://x, retires: 2}", `unknown option`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := engine.Load("bad.yaml", []byte("name: t\nsteps:\n  - rest: "+tt.step+"\n"), engine.LoadOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "bad.yaml:3:") {
				t.Fatalf("error %v; want %q at line 3", err, tt.wantErr)
			}
		})
	}
}

// TestSecretsNotInOutputs runs steps that succeed and fail with an account
// and checks that no output, error or trace shows a credential.
func TestSecretsNotInOutputs(t *testing.T) {
	fake := accountstest.New(t)
	rt, m, dir := runtime(t)
	fakeAccount(t, m, fake, "crm")
	m.Put(context.Background(), &accounts.Account{Name: "k", Type: "api-key", KeyName: "api_key", KeyIn: "query", APIKey: secret.New("query-key-Lm4"), AllowedHosts: []string{"127.0.0.1"}})
	var outputs []string
	for _, step := range []string{
		`{url: "` + fake.URL + `/api/a", account: crm}`,
		`{url: "` + fake.URL + `/api/a", account: k, stop_on_client_error: true}`,
		`{url: "http://127.0.0.1:1/x", account: k, retries: 0}`,
		`{url: "http://127.0.0.1:1/x", account: crm, retries: 0}`,
	} {
		p := load(t, "name: t\nsteps:\n  - rest: "+step+"\n")
		tr := &engine.Trace{}
		out, err := p.Run(context.Background(), rt, value.NewObject(0), engine.RunOptions{Trace: tr})
		outputs = append(outputs, value.MustEncodeString(out), fmt.Sprint(err))
		if e := engine.AsError(err); e != nil {
			outputs = append(outputs, value.MustEncodeString(e.Object()))
		}
		b, _ := json.Marshal(tr.Steps)
		outputs = append(outputs, string(b))
	}
	secrets := append(fake.IssuedSecrets(), accountstest.ClientSecret, "query-key-Lm4")
	db, _ := os.ReadFile(filepath.Join(dir, bolt.FileName))
	for _, s := range secrets {
		if bytes.Contains(db, []byte(s)) {
			t.Errorf("the bbolt file holds %q in clear", s)
		}
		for _, o := range outputs {
			if strings.Contains(o, s) {
				t.Errorf("output shows %q: %s", s, o)
			}
		}
	}
}

// TestExample runs example.yaml against a local server standing in for the
// public API, by overriding the base_url global as --globals would.
func TestExample(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/users/2" || r.URL.Query().Get("fields") != "name,email" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":2,"name":"Ervin Howell","email":"Shanna@melissa.tv","phone":"010-692-6593"}`)
	}))
	t.Cleanup(srv.Close)
	src, err := os.ReadFile("example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := engine.Load("example.yaml", src, engine.LoadOptions{Globals: value.ObjectOf("base_url", srv.URL)})
	if err != nil {
		t.Fatal(err)
	}
	in, _ := os.ReadFile("example.input.json")
	want, _ := os.ReadFile("example.want.json")
	msg, _ := value.Decode(in)
	out, err := p.Run(context.Background(), nil, msg, engine.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantV, _ := value.Decode(want)
	if !value.Equal(out, wantV) {
		t.Fatalf("got %s\nwant %s", value.MustEncodeString(out), want)
	}
}
