package console_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/accounts/accountstest"
	"github.com/nectar-run/nectar/console"
	"github.com/nectar-run/nectar/consumers"
	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/secret"
	"github.com/nectar-run/nectar/server"
)

// client signs in as a browser would and returns a client with the
// session cookie, and the CSRF token of the pages.
func signIn(t testing.TB, e *consoleEnv) (*http.Client, string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.PostForm(e.url+"/console/login", url.Values{"key": {adminKey}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", resp.StatusCode)
	}
	resp, err = c.Get(e.url + "/console/consumers")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`<meta name="csrf" content="([^"]+)">`).FindSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in the page (%d)", resp.StatusCode)
	}
	return c, string(m[1])
}

func TestSignInWithWrongKeyIsRefused(t *testing.T) {
	e := startConsole(t)
	for _, key := range []string{"", "nka_wrong", adminKey + "x", strings.ToUpper(adminKey)} {
		resp, err := http.PostForm(e.url+"/console/login", url.Values{"key": {key}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusTooManyRequests {
			t.Errorf("key %q: %d, want 401", key, resp.StatusCode)
		}
		if len(resp.Cookies()) != 0 {
			t.Errorf("key %q: a cookie was set", key)
		}
	}
}

func TestChangeWithoutCSRFTokenIsRefused(t *testing.T) {
	e := startConsole(t)
	c, csrf := signIn(t, e)
	// Another session's token: the real one with its first character
	// changed (to one it is not: a random token may start with x).
	other := "x" + csrf[1:]
	if csrf[0] == 'x' {
		other = "y" + csrf[1:]
	}
	for name, req := range map[string]func() (*http.Response, error){
		"no token": func() (*http.Response, error) {
			return c.PostForm(e.url+"/console/consumers", url.Values{"name": {"forged"}, "pipelines": {"*"}})
		},
		"another session's token": func() (*http.Response, error) {
			return c.PostForm(e.url+"/console/consumers", url.Values{"name": {"forged"}, "pipelines": {"*"}, "csrf": {other}})
		},
		"from another site": func() (*http.Response, error) {
			r, _ := http.NewRequest(http.MethodPost, e.url+"/console/consumers", strings.NewReader(url.Values{"name": {"forged"}, "pipelines": {"*"}, "csrf": {csrf}}.Encode()))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set("Sec-Fetch-Site", "cross-site")
			r.Header.Set("Origin", "http://evil.example")
			return c.Do(r)
		},
	} {
		resp, err := req()
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), `"code":403`) {
			t.Errorf("%s: %d %s, want 403 with a JSON error", name, resp.StatusCode, body)
		}
	}
	if _, ok := e.cm.Get("forged"); ok {
		t.Fatal("a forged change went through")
	}
	resp, err := c.PostForm(e.url+"/console/consumers", url.Values{"name": {"real"}, "pipelines": {"*"}, "csrf": {csrf}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, ok := e.cm.Get("real"); !ok || resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("with the token: %d", resp.StatusCode)
	}
}

// BenchmarkExecutionsPage renders the executions list over a history of
// 100,000 records: the first page, and a filter that matches one pipeline
// of two. The server-side time per page is ns/op (goal: under 100 ms).
func BenchmarkExecutionsPage(b *testing.B) {
	e := startConsole(b, func(o *server.Options) { o.History = history.Options{MaxRecords: 200000} })
	const n = 100000
	stamp := e.srv.Library().All()
	start := time.Now().Add(-n * time.Millisecond)
	for i := range n {
		p := stamp[i%len(stamp)]
		t0 := start.Add(time.Duration(i) * time.Millisecond)
		e.srv.History().Record(&history.Execution{ID: history.NewID(t0), Pipeline: p, Trigger: "http", Start: t0, End: t0.Add(time.Millisecond)})
	}
	if err := e.srv.History().Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	if got := e.srv.History().Size(); got != n {
		b.Fatalf("history holds %d records", got)
	}
	c, _ := signIn(b, e)
	u, _ := url.Parse(e.url + "/console/")
	cookies := c.Jar.Cookies(u)
	for _, q := range []string{"", "?pipeline=stamp&status=ok", "?status=failed", "?from=" + url.QueryEscape(start.Add(n/2*time.Millisecond).UTC().Format("2006-01-02T15:04:05"))} {
		b.Run("query="+q, func(b *testing.B) {
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, "/console/executions"+q, nil)
				for _, ck := range cookies {
					req.AddCookie(ck)
				}
				rec := httptest.NewRecorder()
				e.handler.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `id="exec-`) && !strings.Contains(q, "failed") {
					b.Fatalf("%d", rec.Code)
				}
			}
		})
	}
}

// TestSessionExpires signs in to a console whose sessions last a
// nanosecond: the cookie it gets is refused at once.
func TestSessionExpires(t *testing.T) {
	e := startConsole(t)
	c := console.New(console.Options{Backend: e.srv.ConsoleBackend(server.ConsoleOptions{}), SessionTTL: time.Nanosecond})
	hs := httptest.NewServer(console.Route(c, http.NotFoundHandler()))
	t.Cleanup(hs.Close)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(hs.URL+"/console/login", url.Values{"key": {adminKey}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 1 {
		t.Fatalf("sign-in: %d, %d cookies", resp.StatusCode, len(resp.Cookies()))
	}
	resp, err = client.Get(hs.URL + "/console/pipelines")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/login" {
		t.Fatalf("an expired session got %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestMissingRefreshTokenAdvice authorizes an account whose provider
// gives no refresh token: its page says what to do, and shows no token.
func TestMissingRefreshTokenAdvice(t *testing.T) {
	e := startConsole(t)
	fake := accountstest.New(t)
	fake.Set(func(p *accountstest.Provider) { p.NoRefreshToken = true })
	ctx := context.Background()
	if err := e.am.PutProvider(ctx, &accounts.Provider{Name: "fake", AuthURL: fake.URL + "/authorize", TokenURL: fake.URL + "/token", PKCE: true}); err != nil {
		t.Fatal(err)
	}
	if err := e.am.Put(ctx, &accounts.Account{Name: "mail", Type: accounts.TypeOAuth2, Provider: "fake", ClientID: accountstest.ClientID,
		ClientSecret: secret.New(accountstest.ClientSecret), Scopes: []string{"mail"}, BaseURL: fake.URL}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.am.Authorize(ctx, "mail", accounts.AuthorizeOptions{Prompt: func(u string) {
		if resp, err := http.Get(u); err == nil { // the fake consents at once and redirects to the callback
			resp.Body.Close()
		}
	}}); err != nil {
		t.Fatal(err)
	}
	c, _ := signIn(t, e)
	resp, err := c.Get(e.url + "/console/accounts/mail")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "gave no refresh token") || !strings.Contains(string(page), "Renewable</dt><dd>no") {
		t.Fatalf("the account page lacks the advice:\n%s", page)
	}
	if !strings.Contains(string(page), `id="last-refresh"><span class="status ok">ok</span>`) {
		t.Fatalf("the account page lacks the last token request's outcome:\n%s", page)
	}
	// A token endpoint that fails: the page says when, how often and why.
	fake.Set(func(p *accountstest.Provider) {
		p.TokenHook = func(w http.ResponseWriter, r *http.Request) bool {
			http.Error(w, `{"error":"server_error"}`, 500)
			return true
		}
	})
	if err := e.am.Put(ctx, &accounts.Account{Name: "crm", Type: accounts.TypeClientCredentials, TokenURL: fake.URL + "/token", ClientID: accountstest.ClientID,
		ClientSecret: secret.New(accountstest.ClientSecret), BaseURL: fake.URL}); err != nil {
		t.Fatal(err)
	}
	e.am.Test(ctx, "crm") // fails at the token request
	resp, err = c.Get(e.url + "/console/accounts/crm")
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !regexp.MustCompile(`id="last-refresh"><span class="status failed">failed</span> <time[^>]*>[^<]+</time> \(1 in a row\): [^<]*500`).Match(page) {
		t.Fatalf("the account page lacks the failed token request:\n%s", page)
	}
	for _, s := range append(fake.IssuedSecrets(), accountstest.ClientSecret) {
		if strings.Contains(string(page), s) {
			t.Fatalf("the account page shows a secret (%.6s…)", s)
		}
	}
}

// TestPagesAnswer opens every page a signed-in person can reach, and the
// connector docs a diagram links to.
func TestPagesAnswer(t *testing.T) {
	e := startConsole(t)
	c, _ := signIn(t, e)
	for path, want := range map[string]string{
		"/console/pipelines":              `href="/console/pipelines/orders"`,
		"/console/pipelines/orders":       `href="/console/connectors/for-each"`,
		"/console/connectors/for-each":    "<code>items</code>",
		"/console/executions?status=nope": "status must be ok or failed",
		"/console/executions?from=monday": "is not a time",
		"/console/accounts":               `id="accounts"`,
		"/console/consumers":              `id="new-consumer"`,
		"/console/health":                 `id="health"`,
		"/console/nowhere":                "No console page",
		"/console/pipelines/nope":         "No pipeline nope",
		"/console/executions/0000":        "no such execution",
	} {
		resp, err := c.Get(e.url + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(body), want) {
			t.Errorf("GET %s (%d) lacks %s", path, resp.StatusCode, want)
		}
		// Offline: nothing is loaded from, or linked to, another host.
		if m := regexp.MustCompile(`(src|href|action)="(https?:)?//`).Find(body); m != nil {
			t.Errorf("GET %s refers to another host: %s", path, m)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("GET %s: CSP %q", path, csp)
		}
	}
}

// TestSaveExecutionAsTestCase: with the history's exchanges on, an
// execution's page offers "Save as a test case", which downloads the case
// nectar test record writes (the called pipeline's answer as a mock);
// without them, the page offers nothing and the download is a 409 that
// says why.
func TestSaveExecutionAsTestCase(t *testing.T) {
	for _, exchanges := range []bool{true, false} {
		e := startConsole(t, func(o *server.Options) { o.History.Exchanges = exchanges })
		c, _ := signIn(t, e)
		id := postExecution(t, e, "/orders", `{"lines":[{"sku":"B-2","qty":3}]}`)
		get := func(path string) (int, http.Header, string) {
			t.Helper()
			resp, err := c.Get(e.url + path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return resp.StatusCode, resp.Header, string(body)
		}
		_, _, page := get("/console/executions/" + id)
		code, h, body := get("/console/executions/" + id + "/test")
		hasLink := strings.Contains(page, `href="/console/executions/`+id+`/test"`)
		if !exchanges {
			if hasLink || code != http.StatusConflict || !strings.Contains(body, "exchanges option") {
				t.Errorf("without exchanges: link %v, GET …/test %d\n%s", hasLink, code, body)
			}
			continue
		}
		if !hasLink || code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "application/yaml") ||
			!strings.Contains(body, `step: "stamp it"`) || !strings.Contains(body, "execution "+id) {
			t.Errorf("with exchanges: link %v, GET …/test %d %s\n%s", hasLink, code, h.Get("Content-Type"), body)
		}
	}
}

// TestExecutionShowsStepsAndLogs checks that an execution's page shows,
// per step, its input and output with a sensitive field masked, and the
// log line under the step that wrote it and in the execution's log.
func TestExecutionShowsStepsAndLogs(t *testing.T) {
	e := startConsole(t)
	c, _ := signIn(t, e)
	id := postSignup(t, e)
	resp, err := c.Get(e.url + "/console/executions/" + id)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := html.UnescapeString(string(body))
	if strings.Contains(page, signupPassword) {
		t.Fatalf("the page shows the password:\n%s", page)
	}
	_, greet, _ := strings.Cut(page, `data-step="greet"`)
	greet, _, _ = strings.Cut(greet, `data-step="welcome"`)
	for _, want := range []string{`<pre class="json step-input">{
  "user": "ada",
  "password": "***"
}</pre>`, `<pre class="json step-output">{`, `<span class="lvl">INFO</span> signup ada <code>{
  "user": "ada",
  "password": "***"
}</code>`} {
		if !strings.Contains(greet, want) {
			t.Errorf("the greet step lacks %s:\n%s", want, greet)
		}
	}
	if !regexp.MustCompile(`(?s)<ol class="logs" id="logs"><li class="log INFO">.*greet</small> signup ada`).MatchString(page) {
		t.Errorf("no execution log:\n%s", page)
	}
}

// TestConsumerErrorsAnswerTheirStatus sends what a person sends from the
// consumers page when the username is taken, the consumer does not exist,
// or the name is invalid: each answers the status of its error, as the
// management API does, not 500.
func TestConsumerErrorsAnswerTheirStatus(t *testing.T) {
	e := startConsole(t)
	c, csrf := signIn(t, e)
	if _, err := e.cm.Create(context.Background(), consumers.Consumer{Name: "partner", Pipelines: []string{"*"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.cm.AddBasic(context.Background(), "partner", "alice"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path string
		form       url.Values
		want       int
	}{
		{"username taken", "/console/consumers/partner/basic", url.Values{"username": {"alice"}}, http.StatusConflict},
		{"no such consumer", "/console/consumers/nobody/keys", nil, http.StatusNotFound},
		{"name taken", "/console/consumers", url.Values{"name": {"partner"}, "pipelines": {"*"}}, http.StatusConflict},
	} {
		form := url.Values{"csrf": {csrf}}
		for k, v := range tc.form {
			form[k] = v
		}
		resp, err := c.PostForm(e.url+tc.path, form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
}

// TestRouteSendsOnlyTheConsolesPaths: the console's path and the paths
// under it reach the console; a pipeline path that only starts with the
// same letters ("/consoles", "/console-x") reaches the next handler.
func TestRouteSendsOnlyTheConsolesPaths(t *testing.T) {
	e := startConsole(t)
	c := console.New(console.Options{Backend: e.srv.ConsoleBackend(server.ConsoleOptions{})})
	t.Cleanup(c.Close)
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	hs := httptest.NewServer(console.Route(c, next))
	t.Cleanup(hs.Close)
	for path, toConsole := range map[string]bool{
		"/console": true, "/console/": true, "/console/login": true, "/console/pipelines": true,
		"/consoles": false, "/console-x": false, "/consolex/login": false, "/": false, "/transform": false, "/consol": false,
	} {
		resp, err := http.Get(hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.StatusCode != http.StatusTeapot; got != toConsole {
			t.Errorf("%s: status %d, to the console %v, want %v", path, resp.StatusCode, got, toConsole)
		}
	}
}
