package console_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/accounts/accountstest"
	_ "github.com/nectar-run/nectar/connectors/all"
	"github.com/nectar-run/nectar/console"
	"github.com/nectar-run/nectar/consumers"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/secret"
	"github.com/nectar-run/nectar/server"
	"github.com/nectar-run/nectar/store/bolt"
)

const adminKey = "nka_console-test-admin-key-7Qx2"

// ordersYAML has every kind of nested block the diagram draws: try/catch,
// a loop, choice arms and a called pipeline.
const ordersYAML = `name: orders
description: Takes an order, checks each line and sizes it.
trigger:
  http:
    path: /orders
    methods: [POST]
steps:
  - name: require lines
    assert:
      that: message.lines != nil
      status: 400
      error: lines are required
  - name: guarded
    try:
      steps:
        - name: check lines
          for-each:
            items: message.lines
            steps:
              - name: in stock
                assert:
                  that: message.qty <= 10
                  status: 409
                  error: too many
              - name: price line
                set:
                  sku: "{{ message.sku }}"
                  qty: "{{ message.qty }}"
        - name: route
          choice:
            - when: len(message) > 2
              steps:
                - name: big order
                  set: { size: big, lines: "{{ message }}" }
            - otherwise:
                - name: small order
                  set: { size: small, lines: "{{ message }}" }
        - name: stamp it
          pipeline: { name: stamp }
      catch:
        - name: report
          set: { failed: true }
`

const stampYAML = `name: stamp
description: Stamps an order.
steps:
  - name: add stamp
    set:
      stamped: true
      order: "{{ message }}"
`

const hourlyYAML = `name: hourly
trigger:
  schedule: { cron: "@every 1h" }
steps:
  - set: { tick: true }
`

const auditYAML = `name: audit
trigger:
  event: { name: orders.created }
steps:
  - log: { message: "order {{ message.id }}" }
`

// signupYAML logs who signs up: the timeline shows each step's masked
// input and output and the line under the step that wrote it.
const signupYAML = `name: signup
trigger:
  http: { path: /signup, methods: [POST] }
steps:
  - name: greet
    log: { message: "signup {{ message.user }}", fields: { user: "{{ message.user }}", password: "{{ message.password }}" } }
  - name: welcome
    set: { user: "{{ message.user }}", welcomed: true }
`

// signupPassword is what a user of signup sends as a password: a secret no
// page may show.
const signupPassword = "correct-horse-battery-staple"

const brokenYAML = `name: broken
steps:
  - name: fine
    set: { a: 1 }
  - name: typo
    sett: { b: 2 }
`

// consoleEnv is nectar serve in process: the server with a real bbolt
// store, its accounts and consumers, and the console in front.
type consoleEnv struct {
	url   string
	srv   *server.Server
	cm    *consumers.Manager
	am    *accounts.Manager
	fake  *accountstest.Provider
	pages *pageLog
	// handler is what the server serves, the console in front.
	handler http.Handler
	orders  *engine.Pipeline
}

// pageLog keeps every body the console sent, to check that none holds a
// secret.
type pageLog struct {
	mu     sync.Mutex
	bodies []sentBody
}

type sentBody struct {
	path, contentType string
	body              []byte
}

type teeWriter struct {
	http.ResponseWriter
	buf bytes.Buffer
}

func (w *teeWriter) Write(b []byte) (int, error) { w.buf.Write(b); return w.ResponseWriter.Write(b) }
func (w *teeWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
func (w *teeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (l *pageLog) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tw := &teeWriter{ResponseWriter: w}
		h.ServeHTTP(tw, r)
		l.mu.Lock()
		l.bodies = append(l.bodies, sentBody{path: r.Method + " " + r.URL.Path, contentType: w.Header().Get("Content-Type"), body: tw.buf.Bytes()})
		l.mu.Unlock()
	})
}

func startConsole(t testing.TB, mod ...func(*server.Options)) *consoleEnv {
	t.Helper()
	dir := t.TempDir()
	for name, src := range map[string]string{"orders.yaml": ordersYAML, "stamp.yaml": stampYAML, "broken.yaml": brokenYAML, "hourly.yaml": hourlyYAML, "audit.yaml": auditYAML, "signup.yaml": signupYAML} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	st, err := bolt.Open(t.TempDir(), bolt.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	cm, err := consumers.New(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := secret.NewSealer(secret.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	am := accounts.NewManager(st, sealer, accounts.WithLogger(log))
	rt := &engine.Runtime{}
	accounts.Install(rt, am)
	opts := server.Options{Dir: dir, Store: st, Consumers: cm, Runtime: rt, AdminKey: adminKey, Logger: log}
	opts.History.Steps = true // the timeline shows each step's input, output and log lines
	for _, m := range mod {
		m(&opts)
	}
	srv, err := server.New(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	c := console.New(console.Options{Backend: srv.ConsoleBackend(server.ConsoleOptions{Version: "nectar test", StoreKind: "bolt"}), Logger: log, LivePoll: 200 * time.Millisecond})
	pages := &pageLog{}
	hs := srv.HTTPServer(server.Limits{})
	hs.Handler = console.Route(c, hs.Handler)
	hs.Handler = pages.wrap(hs.Handler)
	hs.RegisterOnShutdown(c.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go hs.Serve(ln)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("shutdown: %v", err)
		}
		st.Close()
	})
	e := &consoleEnv{url: "http://" + ln.Addr().String(), srv: srv, cm: cm, am: am, pages: pages, handler: hs.Handler}
	for _, p := range srv.Library().All() {
		if p.Name == "orders" {
			e.orders = p
		}
	}
	if e.orders == nil {
		t.Fatal("orders is not served")
	}
	return e
}

// consentPage is the provider's consent screen: it shows what is asked
// and an Approve button that goes on to the fake's /authorize.
func consentPage(t *testing.T, fake *accountstest.Provider) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next := fake.URL + "/authorize?" + r.URL.RawQuery
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>Consent</title><h1>Fake provider</h1><p>Nectar asks for %s.</p><a id="approve" href="%s">Approve</a>`,
			htmlEscape(r.URL.Query().Get("scope")), htmlEscape(next))
	}))
	t.Cleanup(s.Close)
	return s
}

func htmlEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;")
	return r.Replace(s)
}

// chromium finds the browser, or skips the test outside CI.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "" {
		t.Skip("chromium is not installed (apt-get install -y chromium): the console's browser tests are skipped; under CI=true they fail instead")
	}
	t.Fatal("CI is set and chromium is not installed: .ci/run installs it")
	return ""
}

func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Flag("headless", true), chromedp.NoSandbox, chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true), chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	}
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	// The first run starts the browser; the timeout bounds what follows.
	ctx, cancel3 := context.WithTimeout(ctx, 120*time.Second)
	t.Cleanup(cancel3)
	return ctx
}

// do runs steps in the browser, failing the test with where it was.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	get(t, ctx, what, chromedp.Steps(steps...))
}

// get runs an action that reads something.
func get[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(actx, a)
	if err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		t.Fatalf("%s: %v (at %s)", what, err, loc)
	}
	return v
}

func text(t *testing.T, ctx context.Context, css string) string {
	t.Helper()
	return get(t, ctx, "reading "+css, chromedp.Text(chromedp.CSS(css)))
}

// screenshot saves the page to docs/images and checks that its text
// holds no secret.
func screenshot(t *testing.T, ctx context.Context, name string, secrets func() []string) {
	t.Helper()
	shown := text(t, ctx, "body")
	for _, s := range secrets() {
		if strings.Contains(shown, s) {
			t.Errorf("the screen of %s shows a secret (%.6s…)", name, s)
		}
	}
	png := get(t, ctx, "screenshot "+name, chromedp.FullScreenshot(100))
	if err := os.MkdirAll("../docs/images", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile("../docs/images/console-"+name+".png", png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// countSteps counts the steps of an outline, nested blocks and called
// pipelines included.
func countSteps(steps []engine.OutlineStep, calls func(string) []engine.OutlineStep) int {
	n := 0
	for _, s := range steps {
		n++
		for _, b := range s.Blocks {
			n += countSteps(b.Steps, calls)
		}
		if s.Calls != "" && len(s.Blocks) == 0 {
			n += countSteps(calls(s.Calls), calls)
		}
	}
	return n
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestConsoleInBrowser runs every flow of the console in headless
// Chromium against the server with a real bbolt store and a fake OAuth
// provider.
func TestConsoleInBrowser(t *testing.T) {
	b := browser(t)
	e := startConsole(t)
	fake := accountstest.New(t)
	consent := consentPage(t, fake)
	ctx := context.Background()
	if err := e.am.PutProvider(ctx, &accounts.Provider{Name: "fake", AuthURL: consent.URL + "/consent", TokenURL: fake.URL + "/token", PKCE: true}); err != nil {
		t.Fatal(err)
	}
	if err := e.am.Put(ctx, &accounts.Account{Name: "drive", Type: accounts.TypeOAuth2, Provider: "fake", ClientID: accountstest.ClientID,
		ClientSecret: secret.New(accountstest.ClientSecret), Scopes: []string{"drive"}, BaseURL: fake.URL}); err != nil {
		t.Fatal(err)
	}
	var issued []string // secrets created during the test
	secrets := func() []string {
		return append(append([]string{adminKey, accountstest.ClientSecret, signupPassword}, fake.IssuedSecrets()...), issued...)
	}
	base := e.url + "/console"

	t.Run("wrong admin key is refused", func(t *testing.T) {
		do(t, b, "sign in with a wrong key",
			chromedp.Navigate(base+"/pipelines"),
			chromedp.WaitVisible(chromedp.ID("key")),
			chromedp.SendKeys(chromedp.ID("key"), "nka_not-the-key"),
			chromedp.Click(chromedp.ID("signin")),
			chromedp.WaitVisible(chromedp.CSS(".error")))
		if msg := text(t, b, ".error"); !strings.Contains(msg, "not the admin key") {
			t.Fatalf("refusal says %q", msg)
		}
	})

	var cookie string
	t.Run("sign in and see the pipelines", func(t *testing.T) {
		do(t, b, "sign in",
			chromedp.Clear(chromedp.ID("key")),
			chromedp.SendKeys(chromedp.ID("key"), adminKey+"\r"), // Enter: by keyboard
			chromedp.WaitVisible(chromedp.ID("pipelines")))
		rows := text(t, b, "#pipelines")
		for _, want := range []string{"orders", "POST /orders", "stamp", "schedule @every 1h · next in", "event orders.created"} {
			if !strings.Contains(rows, want) {
				t.Errorf("the pipelines table lacks %q:\n%s", want, rows)
			}
		}
		res, err := chromedp.Call(b, network.GetCookies, network.GetCookiesParams{})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range res.Cookies {
			if c.Name == "nectar_console" {
				cookie = c.Value
				if !c.HTTPOnly || c.SameSite != network.CookieSameSiteStrict || c.Expires <= 0 {
					t.Errorf("session cookie: HttpOnly %v, SameSite %v, expires %v", c.HTTPOnly, c.SameSite, c.Expires)
				}
			}
		}
		if cookie == "" {
			t.Fatal("no session cookie")
		}
	})

	t.Run("diagram draws every step", func(t *testing.T) {
		want := countSteps(e.orders.Outline().Steps, func(name string) []engine.OutlineStep {
			for _, p := range e.srv.Library().All() {
				if p.Name == name {
					return p.Outline().Steps
				}
			}
			return nil
		})
		do(t, b, "open the diagram", chromedp.Navigate(base+"/pipelines/orders"), chromedp.WaitVisible(chromedp.CSS("svg.diagram")))
		drawn := get(t, b, "list the drawn steps", chromedp.Evaluate[[]string](`[...document.querySelectorAll("svg.diagram a[data-step]")].map(a => a.dataset.step)`))
		for _, name := range []string{"require lines", "guarded", "check lines", "in stock", "price line", "route", "big order", "small order", "stamp it", "add stamp", "report"} {
			if !contains(drawn, name) {
				t.Errorf("step %q is not drawn (drawn: %q)", name, drawn)
			}
		}
		if len(drawn) != want {
			t.Errorf("%d steps drawn, the loaded pipeline has %d", len(drawn), want)
		}
		screenshot(t, b, "pipeline", secrets)
	})

	t.Run("load errors are shown at their line", func(t *testing.T) {
		do(t, b, "open the broken file", chromedp.Navigate(base+"/pipelines/broken"), chromedp.WaitVisible(chromedp.CSS("#L6.bad")))
		if bad := text(t, b, "#L6"); !strings.Contains(bad, "sett") || !strings.Contains(bad, "6:") {
			t.Errorf("line 6 shows %q", bad)
		}
	})

	t.Run("run from the Run panel", func(t *testing.T) {
		do(t, b, "run orders",
			chromedp.Navigate(base+"/pipelines/orders"),
			chromedp.WaitVisible(chromedp.ID("run-input")),
			chromedp.SetValue(chromedp.ID("run-input"), `{"lines":[{"sku":"A-1","qty":2}]}`),
			chromedp.Click(chromedp.ID("run-button")),
			chromedp.WaitVisible(chromedp.ID("run-output")))
		if out := text(t, b, "#run-output"); !strings.Contains(out, `"stamped": true`) || !strings.Contains(out, `"A-1"`) {
			t.Errorf("run output: %s", out)
		}
		if link := text(t, b, "#run-execution"); !strings.HasPrefix(link, "execution ") {
			t.Errorf("no link to the execution: %q", link)
		}
	})

	t.Run("a new execution appears live and opens as a timeline", func(t *testing.T) {
		do(t, b, "open the executions", chromedp.Navigate(base+"/executions"), chromedp.WaitVisible(chromedp.CSS(`#live-state[data-open="1"]`)))
		resp, err := http.Post(e.url+"/orders", "application/json", strings.NewReader(`{"lines":[{"sku":"B-2","qty":3},{"sku":"C-3","qty":1},{"sku":"D-4","qty":50}]}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		id := resp.Header.Get("X-Execution-Id")
		if id == "" {
			t.Fatal("no X-Execution-Id")
		}
		do(t, b, "see it live",
			chromedp.WaitVisible(chromedp.CSS("tr.fresh#exec-"+id)),
			chromedp.Click(chromedp.CSS("#exec-"+id+" a")),
			chromedp.WaitVisible(chromedp.ID("timeline")))
		steps := get(t, b, "read the timeline", chromedp.Evaluate[[]string](`[...document.querySelectorAll("#timeline li[data-step]")].map(li => li.dataset.step + ":" + li.className)`))
		joined := strings.Join(steps, " ")
		for _, want := range []string{"require lines:tl ok", "in stock:tl error", "big order:tl ok", "add stamp:tl ok called"} {
			if !strings.Contains(joined, want) {
				t.Errorf("timeline lacks %q: %q", want, steps)
			}
		}
		screenshot(t, b, "execution", secrets)
		do(t, b, "run again with this input", chromedp.Click(chromedp.ID("rerun")), chromedp.WaitVisible(chromedp.ID("run-input")))
		if rerun := get(t, b, "read the input", chromedp.Value(chromedp.ID("run-input"))); !strings.Contains(rerun, "D-4") {
			t.Errorf("the Run panel holds %q, not the execution's input", rerun)
		}
		// A step's masked input and output, and the log line under the
		// step that wrote it.
		id = postSignup(t, e)
		do(t, b, "open the signup execution",
			chromedp.Navigate(base+"/executions/"+id),
			chromedp.WaitVisible(chromedp.ID("logs")),
			chromedp.Click(chromedp.CSS(`#timeline li[data-step="greet"] details summary`)),
			chromedp.WaitVisible(chromedp.CSS(`#timeline li[data-step="greet"] .step-input`)))
		greet := text(t, b, `#timeline li[data-step="greet"]`)
		for _, want := range []string{`"password": "***"`, `"user": "ada"`, "INFO", "signup ada"} {
			if !strings.Contains(greet, want) {
				t.Errorf("the greet step lacks %q:\n%s", want, greet)
			}
		}
		if logs := text(t, b, "#logs"); !strings.Contains(logs, "signup ada") || !strings.Contains(logs, "greet") {
			t.Errorf("the execution's log: %q", logs)
		}
		screenshot(t, b, "execution-steps", secrets)
	})

	t.Run("authorize an account in the browser", func(t *testing.T) {
		do(t, b, "open the accounts", chromedp.Navigate(base+"/accounts"), chromedp.WaitVisible(chromedp.ID("providers")))
		if list := text(t, b, "#accounts") + text(t, b, "#providers"); !strings.Contains(list, "drive") || !strings.Contains(list, "oauth2") || !strings.Contains(list, "S256") {
			t.Errorf("accounts page: %q", list)
		}
		do(t, b, "open the account", chromedp.Click(chromedp.CSS(`#accounts a[href$="/accounts/drive"]`)), chromedp.WaitVisible(chromedp.ID("token-state")))
		if before := text(t, b, "#token-state"); !strings.Contains(before, "needs authorization") {
			t.Errorf("before: %q", before)
		}
		do(t, b, "authorize", chromedp.Click(chromedp.ID("authorize")), chromedp.WaitVisible(chromedp.ID("consent")))
		tabs := chromedp.WaitNewTarget(b, func(i *target.Info) bool { return strings.HasPrefix(i.URL, consent.URL) })
		do(t, b, "open the consent page", chromedp.Click(chromedp.ID("consent")))
		tab, cancel := chromedp.NewContext(b, chromedp.WithTargetID(<-tabs))
		defer cancel()
		if err := chromedp.Do(tab); err != nil { // attach, without a timeout
			t.Fatal(err)
		}
		do(t, tab, "approve", chromedp.WaitVisible(chromedp.ID("approve")), chromedp.Click(chromedp.ID("approve")))
		do(t, b, "back on the account", chromedp.WaitVisible(chromedp.CSS(".note")))
		if done := text(t, tab, "body"); !strings.Contains(done, "authorized drive") {
			t.Errorf("callback page: %q", done)
		}
		if after := text(t, b, "#token-state"); !strings.Contains(after, "authorized") || strings.Contains(after, "needs") {
			t.Errorf("after: %q", after)
		}
		do(t, b, "test it", chromedp.Click(chromedp.ID("test")), chromedp.WaitVisible(chromedp.ID("test-result")))
		if res := text(t, b, "#test-result"); !strings.Contains(res, "Token: obtained") {
			t.Errorf("test: %q", res)
		}
	})

	t.Run("issue and revoke a consumer key", func(t *testing.T) {
		do(t, b, "create a consumer and issue a key",
			chromedp.Navigate(base+"/consumers"),
			chromedp.WaitVisible(chromedp.ID("consumer-name")),
			chromedp.SendKeys(chromedp.ID("consumer-name"), "shop"),
			chromedp.Click(chromedp.ID("create-consumer")),
			chromedp.WaitVisible(chromedp.CSS("#consumer-shop .issue-key")),
			chromedp.Click(chromedp.CSS("#consumer-shop .issue-key")),
			chromedp.WaitVisible(chromedp.ID("secret-value")))
		key := text(t, b, "#secret-value")
		if _, ok := e.cm.AuthenticateKey(key); !ok || key == "" {
			t.Fatalf("the key shown (%d characters) does not authenticate", len(key))
		}
		issued = append(issued, key)
		do(t, b, "revoke it",
			chromedp.Navigate(base+"/consumers"),
			chromedp.WaitVisible(chromedp.CSS("#consumer-shop .revoke")),
			chromedp.Click(chromedp.CSS("#consumer-shop .revoke")),
			chromedp.WaitNotPresent(chromedp.CSS("#consumer-shop .revoke")))
		if _, ok := e.cm.AuthenticateKey(key); ok {
			t.Error("the revoked key still authenticates")
		}
		if rows := text(t, b, "#consumer-shop"); !strings.Contains(rows, "No API key") {
			t.Errorf("consumer after revocation: %q", rows)
		}
	})

	t.Run("a change without the CSRF token is refused", func(t *testing.T) {
		do(t, b, "open the consumers", chromedp.Navigate(base+"/consumers"), chromedp.WaitVisible(chromedp.ID("new-consumer")))
		status := get(t, b, "post without the token", chromedp.Evaluate[int](`fetch("/console/consumers", {method: "POST", body: new URLSearchParams({name: "forged", pipelines: "*"})}).then(r => r.status)`, chromedp.EvalAwaitPromise))
		if status != http.StatusForbidden {
			t.Errorf("status %d, want 403", status)
		}
		if _, ok := e.cm.Get("forged"); ok {
			t.Error("the forged consumer was created")
		}
	})

	t.Run("health", func(t *testing.T) {
		do(t, b, "health", chromedp.Navigate(base+"/health"), chromedp.WaitVisible(chromedp.ID("health")))
		h := text(t, b, "#health")
		for _, want := range []string{"ready", "bolt", "records", "nectar test"} {
			if !strings.Contains(h, want) {
				t.Errorf("health lacks %q: %q", want, h)
			}
		}
		// The colours follow prefers-color-scheme.
		background := `getComputedStyle(document.body).backgroundColor`
		light := get(t, b, "light background", chromedp.Evaluate[string](background))
		if _, err := chromedp.Call(b, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}}}); err != nil {
			t.Fatal(err)
		}
		dark := get(t, b, "dark background", chromedp.Evaluate[string](background))
		if _, err := chromedp.Call(b, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{}); err != nil {
			t.Fatal(err)
		}
		if light == dark {
			t.Errorf("the background is %s in light and dark", light)
		}
	})

	t.Run("sign out and be refused", func(t *testing.T) {
		do(t, b, "sign out",
			chromedp.Navigate(base+"/pipelines"),
			chromedp.WaitVisible(chromedp.ID("signout")),
			chromedp.Click(chromedp.ID("signout")),
			chromedp.WaitVisible(chromedp.ID("key")))
		if note := text(t, b, ".note"); !strings.Contains(note, "signed out") {
			t.Errorf("after sign-out: %q", note)
		}
		do(t, b, "come back", chromedp.Navigate(base+"/pipelines"), chromedp.WaitVisible(chromedp.ID("key")))
		if loc := get(t, b, "location", chromedp.Location()); !strings.HasSuffix(loc, "/console/login") {
			t.Errorf("after sign-out, /console/pipelines shows %s", loc)
		}
		// The old cookie, replayed, is refused too.
		jar, _ := cookiejar.New(nil)
		u, _ := url.Parse(base)
		jar.SetCookies(u, []*http.Cookie{{Name: "nectar_console", Value: cookie, Path: "/console"}})
		client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Get(base + "/pipelines")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/login" {
			t.Errorf("the old session cookie got %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
	})

	// No page the console sent holds a secret created in the test; the
	// one-time JSON answer that hands a new key to the script is the only
	// place it travels.
	e.pages.mu.Lock()
	defer e.pages.mu.Unlock()
	for _, p := range e.pages.bodies {
		if strings.HasSuffix(p.path, "/keys") && strings.HasPrefix(p.contentType, "application/json") {
			continue
		}
		for _, s := range secrets() {
			if bytes.Contains(p.body, []byte(s)) {
				t.Errorf("%s sent a secret (%.6s…)", p.path, s)
			}
		}
	}
}

// postSignup signs ada up with signupPassword and returns the execution's
// id.
func postSignup(t *testing.T, e *consoleEnv) string {
	t.Helper()
	return postExecution(t, e, "/signup", `{"user":"ada","password":"`+signupPassword+`"}`)
}

// postExecution posts body to a pipeline's path and returns the id of the
// execution, which must have answered 200.
func postExecution(t *testing.T, e *consoleEnv, path, body string) string {
	t.Helper()
	resp, err := http.Post(e.url+path, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id := resp.Header.Get("X-Execution-Id")
	if resp.StatusCode != 200 || id == "" {
		t.Fatalf("POST %s: %d, id %q", path, resp.StatusCode, id)
	}
	return id
}
