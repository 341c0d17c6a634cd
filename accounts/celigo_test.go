package accounts_test

// Tests of issue #13: what Celigo's OAuth 2.0 HTTP connection has and
// Nectar lacked. Each asserts what the fake provider received, byte for
// byte.

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/accounts/accountstest"
	"github.com/nectar-run/nectar/secret"
)

// lastAt returns the last request the fake received at path.
func lastAt(t *testing.T, p *accountstest.Provider, path string) accountstest.Received {
	t.Helper()
	got := p.ReceivedAt(path)
	if len(got) == 0 {
		t.Fatalf("the fake received no request at %s", path)
	}
	return got[len(got)-1]
}

func TestTokenRequestContentTypeJSONSendsJSON(t *testing.T) {
	e := newEnv(t)
	a := e.clientCredentials("crm")
	a.TokenHeaders = map[string]string{"Content-Type": "application/json"}
	a.TokenParams = map[string]string{"audience": "https://crm.example/api"}
	e.create(a)
	if status, body, err := e.get("crm"); err != nil || status != 200 {
		t.Fatalf("%d %s %v", status, body, err)
	}
	r := lastAt(t, e.fake, "/token")
	want := `{"audience":"https://crm.example/api","client_id":"nectar-client","client_secret":"` + accountstest.ClientSecret +
		`","grant_type":"client_credentials","scope":"contacts.read contacts.write"}`
	if r.Method != "POST" || r.ContentType != "application/json" || string(r.Body) != want {
		t.Fatalf("the token endpoint received %s %q %s\nwant POST application/json %s", r.Method, r.ContentType, r.Body, want)
	}
}

func TestTokenBodyOverride(t *testing.T) {
	for _, tc := range []struct {
		name, contentType, body, want string
	}{
		{
			name:        "json with Celigo placeholders",
			contentType: "application/json",
			body:        `{"grant_type":"client_credentials","client_id":"{{{clientId}}}","client_secret":"{{ client_secret }}","scope":"{{scope}}","audience":"api"}`,
			want:        `{"grant_type":"client_credentials","client_id":"nectar-client","client_secret":"` + accountstest.ClientSecret + `","scope":"contacts.read contacts.write","audience":"api"}`,
		},
		{
			name: "form",
			body: `grant_type=client_credentials&client_id={{client_id}}&client_secret={{client_secret}}&scope={{scope}}&audience=api`,
			want: `grant_type=client_credentials&client_id=nectar-client&client_secret=` + accountstest.ClientSecret + `&scope=contacts.read+contacts.write&audience=api`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			a := e.clientCredentials("crm")
			if tc.contentType != "" {
				a.TokenHeaders = map[string]string{"content-type": tc.contentType}
			}
			a.TokenParams = map[string]string{"ignored": "because the body is overridden"}
			a.TokenBody = tc.body
			e.create(a)
			if status, body, err := e.get("crm"); err != nil || status != 200 {
				t.Fatalf("%d %s %v", status, body, err)
			}
			r := lastAt(t, e.fake, "/token")
			ct := tc.contentType
			if ct == "" {
				ct = "application/x-www-form-urlencoded"
			}
			if r.Method != "POST" || r.ContentType != ct || string(r.Body) != tc.want {
				t.Fatalf("the token endpoint received %s %q %s\nwant POST %s %s", r.Method, r.ContentType, r.Body, ct, tc.want)
			}
		})
	}
}

// A value is escaped for where it lands: a secret with a quote cannot
// close the JSON string, one with & cannot add a form field.
func TestTokenBodyEscapesValues(t *testing.T) {
	const tricky = `a"b&c=d\e`
	for _, tc := range []struct{ contentType, body, want string }{
		{"application/json", `{"client_secret":"{{client_secret}}"}`, `{"client_secret":"a\"b&c=d\\e"}`},
		{"application/x-www-form-urlencoded", `client_secret={{client_secret}}`, `client_secret=a%22b%26c%3Dd%5Ce`},
		{"text/plain", `secret: {{client_secret}}`, `secret: a"b&c=d\e`},
	} {
		t.Run(tc.contentType, func(t *testing.T) {
			e := newEnv(t)
			a := e.clientCredentials("crm")
			a.ClientSecret = secret.New(tricky)
			a.TokenHeaders = map[string]string{"Content-Type": tc.contentType}
			a.TokenBody = tc.body
			e.create(a)
			e.get("crm") // the fake refuses the secret; what it received counts
			if r := lastAt(t, e.fake, "/token"); string(r.Body) != tc.want {
				t.Fatalf("body %s, want %s", r.Body, tc.want)
			}
		})
	}
}

func TestRefreshRequestOverrides(t *testing.T) {
	e := newEnv(t)
	a := e.oauth2("drive")
	a.TokenHeaders = map[string]string{"X-Token": "every token request"}
	a.RefreshHeaders = map[string]string{"Content-Type": "application/json", "X-Refresh": "{{client_id}}"}
	a.RefreshBody = `{"grant_type":"refresh_token","refresh_token":"{{{refreshToken}}}","client_id":"{{clientId}}","client_secret":"{{clientSecret}}"}`
	e.create(a)
	e.authorize("drive")
	exchange := lastAt(t, e.fake, "/token")
	if exchange.ContentType != "application/x-www-form-urlencoded" || exchange.Header.Get("X-Refresh") != "" ||
		exchange.Header.Get("X-Token") != "every token request" || !strings.HasPrefix(string(exchange.Body), "client_id=") {
		t.Fatalf("the code exchange took the refresh overrides: %q %v %s", exchange.ContentType, exchange.Header, exchange.Body)
	}
	issued := e.fake.IssuedSecrets()
	rt := issued[len(issued)-1]
	if !strings.HasPrefix(rt, "fake-refresh-") {
		t.Fatalf("no refresh token issued: %v", issued)
	}
	e.clock.advance(2 * time.Hour)
	if status, body, err := e.get("drive"); err != nil || status != 200 {
		t.Fatalf("%d %s %v", status, body, err)
	}
	r := lastAt(t, e.fake, "/token")
	want := `{"grant_type":"refresh_token","refresh_token":"` + rt + `","client_id":"nectar-client","client_secret":"` + accountstest.ClientSecret + `"}`
	if r.Method != "POST" || r.ContentType != "application/json" || string(r.Body) != want ||
		r.Header.Get("X-Refresh") != accountstest.ClientID || r.Header.Get("X-Token") != "every token request" {
		t.Fatalf("the refresh request was %s %q %v %s\nwant POST application/json %s", r.Method, r.ContentType, r.Header, r.Body, want)
	}
	if n := len(e.fake.ReceivedAt("/token")); n != 2 {
		t.Fatalf("%d token requests, want the exchange and one refresh", n)
	}
}

func TestTokenOverridesValidation(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, want string
		edit       func(a *accounts.Account)
	}{
		{"unknown placeholder", "unknown placeholder {{password}}", func(a *accounts.Account) { a.TokenBody = `x={{password}}` }},
		{"unknown header placeholder", "unknown placeholder {{nope}}", func(a *accounts.Account) { a.TokenHeaders = map[string]string{"X": "{{nope}}"} }},
		{"json body that is not json", "not JSON once its placeholders are filled in", func(a *accounts.Account) {
			a.TokenHeaders = map[string]string{"Content-Type": "application/json"}
			a.TokenBody = `{"client_id":{{client_id}}}`
		}},
		{"refresh body on client credentials", "refresh_headers and refresh_body are for type oauth2", func(a *accounts.Account) { a.RefreshBody = `x=1` }},
		{"plain http revoke url", "revoke_url must be an https URL", func(a *accounts.Account) { a.RevokeURL = "http://revoke.example/revoke" }},
		{"test method", "test.method must be GET, POST or PUT", func(a *accounts.Account) { a.Test = &accounts.TestRequest{URL: "/me", Method: "DELETE"} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := e.clientCredentials("crm")
			tc.edit(a)
			err := e.m.Put(context.Background(), a)
			if !errors.Is(err, accounts.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrInvalid with %q", err, tc.want)
			}
		})
	}
}

func TestMaskedHidesTokenBodies(t *testing.T) {
	a := &accounts.Account{Name: "x", TokenBody: `{"k":"hard-coded-key"}`, RefreshBody: "k=hard-coded-key",
		RefreshHeaders: map[string]string{"X-Key": "hard-coded-key"}}
	m := a.Masked()
	if m.TokenBody != "***" || m.RefreshBody != "***" || m.RefreshHeaders["X-Key"] != "***" || a.TokenBody == "***" {
		t.Fatalf("masked %+v (original %+v)", m, a)
	}
}

// managerLoggingTo returns a Manager over e's store that logs to buf.
func (e *env) managerLoggingTo(buf *bytes.Buffer) *accounts.Manager {
	return accounts.NewManager(e.st, e.sealer, accounts.WithClock(e.clock.now),
		accounts.WithLogger(slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))))
}

func TestRevokeOnDelete(t *testing.T) {
	t.Run("refresh token", func(t *testing.T) {
		e := newEnv(t)
		a := e.oauth2("drive")
		a.RevokeURL = e.fake.URL + "/revoke"
		e.create(a)
		e.authorize("drive")
		issued := e.fake.IssuedSecrets()
		access, refresh := issued[0], issued[1]
		var log bytes.Buffer
		if err := e.managerLoggingTo(&log).Delete(context.Background(), "drive"); err != nil {
			t.Fatal(err)
		}
		r := lastAt(t, e.fake, "/revoke")
		want := "client_id=nectar-client&client_secret=" + accountstest.ClientSecret + "&token=" + refresh + "&token_type_hint=refresh_token"
		if r.Method != "POST" || r.ContentType != "application/x-www-form-urlencoded" || string(r.Body) != want {
			t.Fatalf("the revocation endpoint received %s %q %s\nwant POST form %s", r.Method, r.ContentType, r.Body, want)
		}
		if e.fake.Valid(refresh) || !e.fake.Valid(access) {
			t.Fatalf("after the revocation: refresh token valid %v, access token valid %v", e.fake.Valid(refresh), e.fake.Valid(access))
		}
		if !strings.Contains(log.String(), "token revoked") || strings.Contains(log.String(), refresh) {
			t.Fatalf("log: %s", log.String())
		}
	})
	t.Run("access token with basic client auth", func(t *testing.T) {
		e := newEnv(t)
		e.fake.Set(func(p *accountstest.Provider) { p.BasicAuth = true })
		a := e.clientCredentials("crm")
		a.ClientAuth = "basic"
		a.RevokeURL = e.fake.URL + "/revoke"
		e.create(a)
		if status, _, err := e.get("crm"); err != nil || status != 200 {
			t.Fatalf("%d %v", status, err)
		}
		access := e.fake.IssuedSecrets()[0]
		if err := e.m.Delete(context.Background(), "crm"); err != nil {
			t.Fatal(err)
		}
		r := lastAt(t, e.fake, "/revoke")
		if string(r.Body) != "token="+access+"&token_type_hint=access_token" || !strings.HasPrefix(r.Header.Get("Authorization"), "Basic ") {
			t.Fatalf("the revocation endpoint received %v %s", r.Header, r.Body)
		}
		if e.fake.Valid(access) {
			t.Fatal("the access token was not revoked")
		}
	})
}

func TestRevokeOnReauthorize(t *testing.T) {
	e := newEnv(t)
	a := e.oauth2("drive")
	a.RevokeURL = e.fake.URL + "/revoke"
	e.create(a)
	e.authorize("drive")
	first := e.fake.IssuedSecrets()[1]
	if got := e.fake.ReceivedAt("/revoke"); len(got) != 0 {
		t.Fatalf("the first authorization revoked something: %s", got[0].Body)
	}
	e.authorize("drive")
	second := e.fake.IssuedSecrets()[3]
	r := lastAt(t, e.fake, "/revoke")
	if !strings.Contains(string(r.Body), "&token="+first+"&token_type_hint=refresh_token") || e.fake.Valid(first) {
		t.Fatalf("the revocation endpoint received %s (old refresh token still valid: %v)", r.Body, e.fake.Valid(first))
	}
	if !e.fake.Valid(second) {
		t.Fatal("the new refresh token was revoked")
	}
	if status, _, err := e.get("drive"); err != nil || status != 200 {
		t.Fatalf("the account does not work after authorizing again: %d %v", status, err)
	}
}

func TestRevokeFailuresAreLoggedNotFatal(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		setup      func(e *env, a *accounts.Account)
		received   func(e *env) int
	}{
		{"503", "answered 503 server_error", func(e *env, a *accounts.Account) {
			e.fake.Set(func(p *accountstest.Provider) { p.RevokeStatus = 503 })
		}, func(e *env) int { return len(e.fake.ReceivedAt("/revoke")) }},
		{"redirect", "revocation requests do not follow redirects", func(e *env, a *accounts.Account) {
			col := newCollector(t)
			a.RevokeURL = redirector(t, http.StatusTemporaryRedirect, col.URL).URL + "/revoke"
			t.Cleanup(func() {
				if got := col.received(); len(got) != 0 {
					t.Errorf("the redirect was followed: %v", got)
				}
			})
		}, func(e *env) int { return 1 }},
		{"unreachable", "connection refused", func(e *env, a *accounts.Account) {
			a.RevokeURL = "http://127.0.0.1:1/revoke"
		}, func(e *env) int { return 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			a := e.oauth2("drive")
			a.RevokeURL = e.fake.URL + "/revoke"
			tc.setup(e, a)
			e.create(a)
			e.authorize("drive")
			refresh := e.fake.IssuedSecrets()[1]
			var log bytes.Buffer
			if err := e.managerLoggingTo(&log).Delete(context.Background(), "drive"); err != nil {
				t.Fatalf("Delete failed with the revocation: %v", err)
			}
			if _, err := e.m.Get(context.Background(), "drive"); !errors.Is(err, accounts.ErrUnknownAccount) {
				t.Fatalf("the account is still there: %v", err)
			}
			if tc.received(e) != 1 {
				t.Fatalf("the revocation was not attempted")
			}
			l := log.String()
			if !strings.Contains(l, "token revocation failed") || !strings.Contains(l, tc.want) ||
				strings.Contains(l, refresh) || strings.Contains(l, accountstest.ClientSecret) {
				t.Fatalf("log: %s", l)
			}
			if !e.fake.Valid(refresh) {
				t.Fatal("the refresh token was revoked after all")
			}
		})
	}
}

func TestSaveTestsTheAccountFirst(t *testing.T) {
	e := newEnv(t)
	a := e.clientCredentials("crm")
	a.Test = &accounts.TestRequest{URL: "/api/me", Method: "POST", Body: `{"q":1}`, SuccessPath: "ok", SuccessValues: []string{"true"}}
	res, err := e.m.Save(context.Background(), a, accounts.SaveOptions{})
	if err != nil || res == nil || !res.OK || !res.Token || res.Status != 200 {
		t.Fatalf("Save: %+v %v", res, err)
	}
	r := lastAt(t, e.fake, "/api/me")
	tok := e.fake.IssuedSecrets()[0]
	if r.Method != "POST" || r.ContentType != "application/json" || string(r.Body) != `{"q":1}` || r.Header.Get("Authorization") != "Bearer "+tok {
		t.Fatalf("the API received %s %q %s %v", r.Method, r.ContentType, r.Body, r.Header)
	}
	if _, err := e.m.Get(context.Background(), "crm"); err != nil {
		t.Fatalf("not saved: %v", err)
	}
	// The test's token is kept: the first use asks for no other.
	if status, _, err := e.get("crm"); err != nil || status != 200 || e.fake.TokenRequests() != 1 {
		t.Fatalf("%d %v, %d token requests", status, err, e.fake.TokenRequests())
	}
	if _, err := e.m.Save(context.Background(), a, accounts.SaveOptions{}); !errors.Is(err, accounts.ErrExists) {
		t.Fatalf("Save of a taken name without Replace: %v", err)
	}
}

// Celigo's semantics: the account is saved only if its test succeeds.
func TestSaveRefusesAFailingAccount(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(e *env, a *accounts.Account)
		want string
	}{
		{"token refused", func(e *env, a *accounts.Account) { a.ClientSecret = secret.New("wrong") }, "invalid_client"},
		{"401", func(e *env, a *accounts.Account) { e.fake.Set(func(p *accountstest.Provider) { p.RefuseAll = true }) },
			"the API refused the credentials (401 Unauthorized)"},
		{"auth error rule on a 200 body, with its message", func(e *env, a *accounts.Account) {
			e.fake.Set(func(p *accountstest.Provider) { p.RefuseAll, p.RefuseAs = true, 200 })
			a.AuthError = accounts.AuthErrorRule{Path: "error.code", Values: []string{"602"}}
			a.Test.ErrorMessagePath = "error.message"
		}, "the API refused the credentials (200 OK); check them, the scopes and the API's permissions: Access token expired"},
		{"error path and values", func(e *env, a *accounts.Account) {
			a.Test = &accounts.TestRequest{URL: "/api/me", Method: "PUT", Body: `{"status":"failed","detail":"quota exceeded"}`,
				ErrorPath: "body.status", ErrorValues: []string{"failed", "blocked"}, ErrorMessagePath: "body.detail"}
		}, `the answer (200) has body.status = "failed", an error: quota exceeded`},
		{"success values are exact", func(e *env, a *accounts.Account) {
			a.Test.SuccessPath, a.Test.SuccessValues = "ok", []string{"True"}
		}, `ok is "true"; expected one of ["True"]`},
		{"missing success field", func(e *env, a *accounts.Account) { a.Test.SuccessPath = "user.id" }, "has no field user.id"},
		{"not 2xx", func(e *env, a *accounts.Account) { a.Test.URL = "/missing" }, "the API answered 404 Not Found"},
		{"host not allowed", func(e *env, a *accounts.Account) {
			a.BaseURL, a.AllowedHosts = "", []string{"api.example.com"}
			a.Test.URL = e.fake.URL + "/api/me"
		}, "may not send its credentials to"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			a := e.clientCredentials("crm")
			a.Test = &accounts.TestRequest{URL: "/api/me"}
			tc.edit(e, a)
			res, err := e.m.Save(context.Background(), a, accounts.SaveOptions{})
			var te *accounts.TestError
			if !errors.Is(err, accounts.ErrTestFailed) || !errors.As(err, &te) || res == nil || res.OK || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Save: %+v %v\nwant ErrTestFailed with %q", res, err, tc.want)
			}
			if strings.Contains(err.Error(), accountstest.ClientSecret) || !strings.Contains(err.Error(), "--no-test") {
				t.Fatalf("error: %v", err)
			}
			if _, err := e.m.Get(context.Background(), "crm"); !errors.Is(err, accounts.ErrUnknownAccount) {
				t.Fatalf("a failing account was saved: %v", err)
			}
			if st, _ := e.m.Status(context.Background(), "crm"); st.HasToken {
				t.Fatal("a token was stored")
			}
			// The opt-outs save it untested: --no-test, test_on_save: false.
			if res, err := e.m.Save(context.Background(), a, accounts.SaveOptions{NoTest: true}); err != nil || res != nil {
				t.Fatalf("Save with NoTest: %+v %v", res, err)
			}
			off := false
			a.TestOnSave = &off
			if res, err := e.m.Save(context.Background(), a, accounts.SaveOptions{Replace: true}); err != nil || res != nil {
				t.Fatalf("Save with test_on_save false: %+v %v", res, err)
			}
		})
	}
}

func TestSaveKeepsTheOldDefinitionWhenTheTestFails(t *testing.T) {
	e := newEnv(t)
	a := e.clientCredentials("crm")
	if _, err := e.m.Save(context.Background(), a, accounts.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	b := e.clientCredentials("crm")
	b.ClientSecret = secret.New("wrong")
	if _, err := e.m.Save(context.Background(), b, accounts.SaveOptions{Replace: true}); !errors.Is(err, accounts.ErrTestFailed) {
		t.Fatalf("Save: %v", err)
	}
	if got, err := e.m.Get(context.Background(), "crm"); err != nil || got.ClientSecret.Reveal() != accountstest.ClientSecret {
		t.Fatalf("the old definition was replaced: %v", err)
	}
}

func TestImportTestsEveryAccountBeforeWritingAny(t *testing.T) {
	e := newEnv(t)
	good := e.clientCredentials("good")
	bad := e.clientCredentials("bad")
	bad.ClientSecret = secret.New("wrong")
	_, err := e.m.Import(context.Background(), &accounts.File{Accounts: []*accounts.Account{good, bad}})
	if !errors.Is(err, accounts.ErrTestFailed) || !strings.Contains(err.Error(), "account bad was not saved") {
		t.Fatalf("Import: %v", err)
	}
	for _, name := range []string{"good", "bad"} {
		if _, err := e.m.Get(context.Background(), name); !errors.Is(err, accounts.ErrUnknownAccount) {
			t.Fatalf("%s was written: %v", name, err)
		}
	}
	names, err := e.m.Import(context.Background(), &accounts.File{Accounts: []*accounts.Account{good, bad}}, accounts.SaveOptions{NoTest: true})
	if err != nil || len(names) != 2 {
		t.Fatalf("Import with NoTest: %v %v", names, err)
	}
}

// An oauth2 account has no token before it is authorized: saving does not
// test it, authorizing does (Celigo's "Save & authorize").
func TestAuthorizeRunsTheTestRequest(t *testing.T) {
	e := newEnv(t)
	a := e.oauth2("drive")
	a.Test = &accounts.TestRequest{URL: "/api/me", SuccessPath: "ok", SuccessValues: []string{"yes"}}
	res, err := e.m.Save(context.Background(), a, accounts.SaveOptions{})
	if err != nil || !res.OK || !strings.Contains(res.Problem, "not tested") {
		t.Fatalf("Save: %+v %v", res, err)
	}
	out := e.authorize("drive")
	if out.Test == nil || out.Test.OK || !strings.Contains(out.Warning, `the test request failed: ok is "true"; expected one of ["yes"]`) {
		t.Fatalf("Authorize: %+v %+v", out, out.Test)
	}
	if r := lastAt(t, e.fake, "/api/me"); r.Method != "GET" || !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer fake-access-") {
		t.Fatalf("the API received %s %v", r.Method, r.Header)
	}
	if st, _ := e.m.Status(context.Background(), "drive"); !st.HasToken {
		t.Fatal("the tokens were not kept")
	}
}

// A refresh token goes only where it came from: a revoke_url set or
// changed after the authorization would otherwise carry it anywhere on
// the next delete.
func TestRevokeGoesOnlyToTheEndpointTheTokenWasIssuedUnder(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first func(e *env) string // revoke_url at authorization
	}{
		{"changed", func(e *env) string { return e.fake.URL + "/revoke" }},
		{"set afterwards", func(e *env) string { return "" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			col := newCollector(t)
			a := e.oauth2("drive")
			a.RevokeURL = tc.first(e)
			e.create(a)
			e.authorize("drive")
			refresh := e.fake.IssuedSecrets()[1]
			a.RevokeURL = col.URL + "/revoke"
			e.create(a)
			e.clock.advance(2 * time.Hour) // a refresh keeps the revoke_url of the authorization
			if status, _, err := e.get("drive"); err != nil || status != 200 {
				t.Fatalf("%d %v", status, err)
			}
			var log bytes.Buffer
			if err := e.managerLoggingTo(&log).Delete(context.Background(), "drive"); err != nil {
				t.Fatal(err)
			}
			if got := col.received(); len(got) != 0 {
				t.Fatalf("the token went to the new revoke_url: %v", got)
			}
			if got := e.fake.ReceivedAt("/revoke"); len(got) != 0 {
				t.Fatalf("the token went to the old revoke_url: %s", got[0].Body)
			}
			if l := log.String(); !strings.Contains(l, "token not revoked") || strings.Contains(l, refresh) {
				t.Fatalf("log: %s", l)
			}
		})
	}
}

func TestSaveOfAStaticAccountWithoutTestSendsNothing(t *testing.T) {
	e := newEnv(t)
	a := &accounts.Account{Name: "shop", Type: accounts.TypeBearer, Token: secret.New("tok"), BaseURL: e.fake.URL}
	if res, err := e.m.Save(context.Background(), a, accounts.SaveOptions{}); err != nil || res != nil {
		t.Fatalf("Save: %+v %v", res, err)
	}
	if n := len(e.fake.Received); n != 0 {
		t.Fatalf("%d requests were sent", n)
	}
}
