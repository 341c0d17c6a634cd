package server_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/nectar-run/nectar/internal/servertest"
	"github.com/nectar-run/nectar/server"
)

// secretsServer serves files with a JSON log in logs and a history that
// keeps everything: snapshots, steps' inputs and outputs, log lines and
// exchanges.
func secretsServer(t *testing.T, logs *lockedBuffer, files map[string]string) *servertest.Env {
	t.Helper()
	return servertest.Start(t, files, func(o *server.Options) {
		o.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		o.History.Steps = true
		o.History.Snapshots = "all"
		o.History.Exchanges = true
	})
}

// eachHistory runs check on a server of files with a JSON log, twice:
// with the default history, and with one that keeps everything (steps,
// snapshots, exchanges). A secret must be masked either way.
func eachHistory(t *testing.T, files map[string]string, check func(t *testing.T, e *servertest.Env, logs *lockedBuffer)) {
	for _, keep := range []bool{false, true} {
		t.Run(fmt.Sprint("snapshots=", keep), func(t *testing.T) {
			var logs lockedBuffer
			e := servertest.Start(t, files, func(o *server.Options) {
				o.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
				if keep {
					o.History.Steps, o.History.Snapshots, o.History.Exchanges = true, "all", true
				}
			})
			check(t, e, &logs)
		})
	}
}

// refusingAPI is an API that answers every request 400 with an RFC 6749
// error whose description quotes the body it got after prefix, as many
// APIs do.
func refusingAPI(t *testing.T, code, prefix string) *httptest.Server {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": prefix + string(b)})
	}))
	t.Cleanup(up.Close)
	return up
}

// assertNowhere fails when the stored record of the execution answered
// with hdr, as `nectar executions show` reads it (JSON text and decoded
// strings), or the server's log holds one of secrets, in clear, JSON-escaped
// or base64.
func assertNowhere(t *testing.T, e *servertest.Env, logs *lockedBuffer, hdr http.Header, secrets ...string) {
	t.Helper()
	rec := e.Record(t, hdr)
	raw, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	texts := append(stringsOf(v, nil), string(raw))
	for _, line := range strings.Split(logs.String(), "\n") {
		texts = append(texts, line)
		var lv any
		if json.Unmarshal([]byte(line), &lv) == nil {
			texts = append(texts, stringsOf(lv, nil)...)
		}
	}
	for _, s := range secrets {
		if s == "" {
			t.Fatal("an empty secret: the test lost what it looks for")
		}
	search:
		for _, form := range []string{s, base64.StdEncoding.EncodeToString([]byte(s)), base64.RawURLEncoding.EncodeToString([]byte(s))} {
			for _, text := range texts {
				if i := strings.Index(text, form); i >= 0 {
					t.Errorf("%q is stored or logged: …%s…", s, text[max(0, i-120):min(len(text), i+len(form)+40)])
					break search
				}
			}
		}
	}
}

func postSecrets(t *testing.T, e *servertest.Env, path, body string) (int, http.Header, string) {
	t.Helper()
	return e.Do(t, "POST", path, body, map[string]string{"Content-Type": "application/json"})
}

// TestHostileSignedTokenNotStored: a user's pipeline signs a JWT with the
// jwt connector and answers it, as a token endpoint of their own does. The
// caller gets the token; the record (output, the jwt step's output) and the
// log hold it nowhere. Before, jws was not a sensitive name and the signed
// bearer token was stored in clear.
func TestHostileSignedTokenNotStored(t *testing.T) {
	t.Setenv("NECTAR_JWT_T2_SIGNED_SECRET", strings.Repeat("s3cr3t-", 8))
	var logs lockedBuffer
	e := secretsServer(t, &logs, map[string]string{"token.yaml": `
name: token
trigger: {http: {path: /token}}
steps:
  - jwt: {operation: sign, account: t2-signed, algorithm: HS256, subject: "{{ message.user }}", expires_in: 15m}
`})
	code, hdr, body := postSecrets(t, e, "/token", `{"user":"ada"}`)
	var out struct{ JWS string }
	if err := json.Unmarshal([]byte(body), &out); err != nil || code != 200 || out.JWS == "" {
		t.Fatalf("%d %s", code, body)
	}
	assertNowhere(t, e, &logs, hdr, out.JWS)
}

// TestHostileSignedTokenInTextNotStored: the signed token is not under
// any name at all when a step puts it in text: a log line ("made TOKEN"),
// a header value built from it ("Bearer TOKEN"), a throw message. A value a
// step made that is secret (a token the jwt connector signed) is a secret
// of its execution: masked in its log lines and record wherever it appears.
func TestHostileSignedTokenInTextNotStored(t *testing.T) {
	t.Setenv("NECTAR_JWT_T2_TEXT_SECRET", strings.Repeat("k3y-", 12))
	var logs lockedBuffer
	e := secretsServer(t, &logs, map[string]string{
		"logged.yaml": `
name: logged
trigger: {http: {path: /logged}}
steps:
  - jwt: {operation: sign, account: t2-text, algorithm: HS256, subject: bob}
    to: vars.sig
  - log: {level: warn, message: "made {{ vars.sig.jws }}"}
  - set: {header: "Bearer {{ vars.sig.jws }}"}
`,
		"thrown.yaml": `
name: thrown
trigger: {http: {path: /thrown}}
steps:
  - jwt: {operation: sign, account: t2-text, algorithm: HS256, subject: eve}
    to: vars.sig
  - respond: {body: {jws: "{{ vars.sig.jws }}"}, send: true}
  - throw: {status: 502, error: "upstream refused {{ vars.sig.jws }}"}
`,
	})
	code, hdr, body := postSecrets(t, e, "/logged", `{}`)
	var out struct{ Header string }
	if err := json.Unmarshal([]byte(body), &out); err != nil || code != 200 || !strings.HasPrefix(out.Header, "Bearer ey") {
		t.Fatalf("%d %s", code, body)
	}
	if !strings.Contains(logs.String(), `"made `) {
		t.Fatalf("the log step's line is not in the log: %s", logs.String())
	}
	assertNowhere(t, e, &logs, hdr, strings.TrimPrefix(out.Header, "Bearer "))

	// The pipeline answers the token early, then fails with a message
	// that repeats it: the record's error and the log do not hold it.
	code, hdr, body = postSecrets(t, e, "/thrown", `{}`)
	var answered struct{ JWS string }
	if err := json.Unmarshal([]byte(body), &answered); err != nil || code != 200 || !strings.HasPrefix(answered.JWS, "ey") {
		t.Fatalf("%d %s", code, body)
	}
	if rec := e.Record(t, hdr); !strings.Contains(string(rec.Error), "upstream refused ***") {
		t.Fatalf("the record's error: %s", rec.Error)
	}
	assertNowhere(t, e, &logs, hdr, answered.JWS)
}

// TestHostileOAuthFieldNamesMasked: the client_assertion of a JWT-bearer
// client authentication (RFC 7523), the PKCE code_verifier (RFC 7636), and
// jws, sent to a pipeline of the user's own, are masked by name like
// client_secret.
func TestHostileOAuthFieldNamesMasked(t *testing.T) {
	var logs lockedBuffer
	e := secretsServer(t, &logs, map[string]string{"echo.yaml": `
name: echo
trigger: {http: {path: /echo}}
steps:
  - log: {message: "got", fields: {form: "{{ message }}"}}
  - set: {got: "{{ message }}"}
`})
	assertion := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjbGllbnQifQ.assertion-signature-1"
	verifier := "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	jws := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.jws-signature-2"
	_, hdr, _ := postSecrets(t, e, "/echo", fmt.Sprintf(`{"grant_type":"authorization_code","client_assertion":%q,"client_assertion_type":"urn:ietf:params:oauth:client-assertion-type:jwt-bearer","codeVerifier":%q,"JWS":%q}`, assertion, verifier, jws))
	assertNowhere(t, e, &logs, hdr, assertion, verifier, jws)
}

// TestHostileSentCredentialsEchoedBack: a rest step sends credentials the
// pipeline built from plain fields of the message: a sensitive query
// parameter (?api_key=), the password of the URL's user info
// (https://user:pass@host) and a sensitive header (X-Api-Key,
// Authorization). The upstream echoes what it received, in its body and its
// headers, as many APIs do in their errors. What a step sent as a
// credential is a secret of its execution: masked in the step's result,
// the error, the record and the log.
func TestHostileSentCredentialsEchoedBack(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, _ := r.BasicAuth()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Echo-Query", r.URL.RawQuery)
		w.WriteHeader(http.StatusUnauthorized)
		b, _ := io.ReadAll(r.Body)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "bad credentials",
			"query": r.URL.RawQuery, "user": user, "pass": pass, "key": r.Header.Get("X-Api-Key"),
			"auth": r.Header.Get("Authorization"), "body": string(b)})
	}))
	defer up.Close()
	host := strings.TrimPrefix(up.URL, "http://")
	var logs lockedBuffer
	e := secretsServer(t, &logs, map[string]string{
		"query.yaml": `
name: query
trigger: {http: {path: /query}}
steps:
  - rest: {method: GET, url: "` + up.URL + `/v1/items?api_key={{ message.k }}"}
  - log: {message: "answered {{ message.body }}"}
`,
		"userinfo.yaml": `
name: userinfo
trigger: {http: {path: /userinfo}}
steps:
  - rest: {method: GET, url: "http://{{ message.user }}:{{ message.pw }}@` + host + `/v1/items", stop_on_client_error: true}
`,
		"header.yaml": `
name: header
trigger: {http: {path: /header}}
steps:
  - rest:
      method: GET
      url: "` + up.URL + `/v1/items"
      query: {access_token: "{{ message.t }}"}
      headers: {x-api-key: "{{ message.k }}", Authorization: "Bearer {{ message.b }}"}
`,
	})
	key := "live-key-query-0001"
	code, hdr, body := postSecrets(t, e, "/query", `{"k":"`+key+`"}`)
	if code != 200 || !strings.Contains(body, key) {
		t.Fatalf("the upstream did not echo the key: %d %s", code, body)
	}
	assertNowhere(t, e, &logs, hdr, key)

	pw := "live-pass-userinfo-0002"
	code, hdr, body = postSecrets(t, e, "/userinfo", `{"user":"ada","pw":"`+pw+`"}`)
	if code != 401 {
		t.Fatalf("%d %s", code, body)
	}
	assertNowhere(t, e, &logs, hdr, pw)

	tok, hkey, bearer := "live-token-query-0003", "live-key-header-0004", "live-bearer-header-0005"
	code, hdr, body = postSecrets(t, e, "/header", `{"t":"`+tok+`","k":"`+hkey+`","b":"`+bearer+`"}`)
	if code != 200 || !strings.Contains(body, bearer) {
		t.Fatalf("the upstream did not echo the credentials: %d %s", code, body)
	}
	assertNowhere(t, e, &logs, hdr, tok, hkey, bearer)

	// A value with bytes a query escapes is echoed escaped, as the API
	// received it: masked in that form too.
	tok = "live+token/query=0006&x"
	code, hdr, body = postSecrets(t, e, "/header", `{"t":"`+tok+`","k":"`+hkey+`","b":"`+bearer+`"}`)
	if escaped := url.QueryEscape(tok); code != 200 || !strings.Contains(body, escaped) {
		t.Fatalf("the upstream did not echo the escaped token: %d %s", code, body)
	}
	assertNowhere(t, e, &logs, hdr, tok, url.QueryEscape(tok))
}

// TestHostileBadURLErrorHidesCredentials: a rest step's URL that is not
// an http(s) URL (a base URL missing from the message, a typo in the
// scheme, a broken host) is quoted in the error without its user info,
// query and fragment: the error reaches the caller, the record's error and
// step, and the log. (The message itself, which holds the parts under plain
// names, is the caller's and is recorded as sent.)
func TestHostileBadURLErrorHidesCredentials(t *testing.T) {
	var logs lockedBuffer
	e := secretsServer(t, &logs, map[string]string{"bad.yaml": `
name: bad
trigger: {http: {path: /bad}}
steps:
  - rest: {method: GET, url: "{{ message.base }}/v1/items?api_key={{ message.k }}#{{ message.k }}"}
`})
	key, pw := "live-key-bad-url-0001", "live-pass-bad-url-0002"
	for _, base := range []string{"", "htps://ada:" + pw + "@api.example", "http://ada:" + pw + "@", "http://[::1", "ada:" + pw + "@api.example"} {
		code, hdr, body := postSecrets(t, e, "/bad", fmt.Sprintf(`{"base":%q,"k":%q}`, base, key))
		if code != 500 || !strings.Contains(body, "expected an http or https URL") {
			t.Fatalf("%q: %d %s", base, code, body)
		}
		rec := e.Record(t, hdr)
		texts := []string{body, string(rec.Error), logs.String()}
		for _, st := range rec.Steps {
			texts = append(texts, st.Error)
		}
		for _, text := range texts {
			for _, s := range []string{key, pw} {
				if strings.Contains(text, s) {
					t.Errorf("%q: %q in %s", base, s, text)
				}
			}
		}
	}
}

// TestHostileInputSecretRepeatedInText: a value the caller sent under a
// sensitive name (password in a JSON body) that a step repeats in text —
// a log line ("pw is {{ message.password }}"), an expression error quoting
// its argument — is masked in the log and in the record, with or without
// snapshots. Before, the server's log held it in clear: only the request's
// headers and query were secrets of the execution.
func TestHostileInputSecretRepeatedInText(t *testing.T) {
	files := map[string]string{"body.yaml": `
name: body
trigger: {http: {path: /body}}
steps:
  - log: {message: "pw is {{ message.password }}"}
  - set: {n: "{{ toInt(message.password) }}"}
`}
	eachHistory(t, files, func(t *testing.T, e *servertest.Env, logs *lockedBuffer) {
		pw := "hunter2-in-the-body-0006"
		code, hdr, body := postSecrets(t, e, "/body", `{"password":"`+pw+`"}`)
		if code != 500 || !strings.Contains(body, "TOINT") {
			t.Fatalf("%d %s", code, body)
		}
		if !strings.Contains(logs.String(), "pw is ***") || !strings.Contains(logs.String(), "execution failed") {
			t.Fatalf("the lines are not in the log: %s", logs.String())
		}
		assertNowhere(t, e, logs, hdr, pw)
	})
}

// TestHostileAnsweredSecretRepeatedInText: an API answers a token under a
// sensitive name (access_token, apiKey in its body; a Set-Cookie header),
// as a token endpoint does; a later step repeats it in text: a log line, a
// throw message. What a rest step received under a sensitive name is a
// secret of the execution: masked in the log and the record (the error,
// the log lines), with or without snapshots.
func TestHostileAnsweredSecretRepeatedInText(t *testing.T) {
	tok, key, cookie := "answered-token-0007", "answered-key-0008", "answered-cookie-0009"
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Set-Cookie", "sid="+cookie+"; HttpOnly")
		fmt.Fprintf(w, `{"access_token":%q,"token_type":"Bearer","data":{"apiKey":%q}}`, tok, key)
	}))
	defer up.Close()
	files := map[string]string{"login.yaml": `
name: login
trigger: {http: {path: /login}}
steps:
  - rest: {method: POST, url: "` + up.URL + `/token", body: {grant_type: client_credentials}}
    to: vars.r
  - log: {level: warn, message: "logged in: {{ vars.r.body.access_token }} {{ vars.r.body.data.apiKey }} {{ vars.r.headers['Set-Cookie'] }}"}
  - throw: {status: 502, error: "the API refused {{ vars.r.body.access_token }}"}
`}
	eachHistory(t, files, func(t *testing.T, e *servertest.Env, logs *lockedBuffer) {
		code, hdr, body := postSecrets(t, e, "/login", `{}`)
		if code != 502 || !strings.Contains(body, "the API refused") {
			t.Fatalf("%d %s", code, body)
		}
		if !strings.Contains(logs.String(), "logged in: ") {
			t.Fatalf("the log step's line is not in the log: %s", logs.String())
		}
		assertNowhere(t, e, logs, hdr, tok, key, cookie)
	})
}

// TestHostilePathTokenNotStored: a webhook whose secret is a segment of its
// path (path: /hooks/{token}, as chat bots and payment providers call
// them). The record's request line ("POST /hooks/TOKEN"), its metadata and a
// log line repeating the parameter hold it nowhere: a path parameter with a
// sensitive name is a credential of the request like a sensitive query
// parameter.
func TestHostilePathTokenNotStored(t *testing.T) {
	var logs lockedBuffer
	e := secretsServer(t, &logs, map[string]string{"hook.yaml": `
name: hook
trigger: {http: {path: "/hooks/{token}/{apiKey...}"}}
steps:
  - log: {message: "hook {{ metadata.request.params.token }} {{ metadata.request.params.apiKey }}"}
  - set: {ok: true, seen: "{{ metadata.request }}"}
`})
	tok, key := "wh-token-in-path-0010", "wh-key-in-path-0011"
	code, hdr, body := postSecrets(t, e, "/hooks/"+tok+"/"+key, `{}`)
	if code != 200 || !strings.Contains(body, `"ok":true`) {
		t.Fatalf("%d %s", code, body)
	}
	assertNowhere(t, e, &logs, hdr, tok, key)
	// /metrics (no key needed) labels the route by its pattern, never
	// by the path a request took.
	code, _, metrics := e.Do(t, "GET", "/metrics", "", nil)
	if code != 200 || !strings.Contains(metrics, `route="/hooks/{token}/{apiKey...}"`) {
		t.Fatalf("/metrics: %d, no route label for the hook:\n%s", code, metrics)
	}
	for _, s := range []string{tok, key} {
		if strings.Contains(metrics, s) {
			t.Errorf("/metrics holds %q", s)
		}
	}
}

// TestHostileAPIRunMasksLearnedSecrets: POST /api/run (nectar run against
// a server) answers a failed execution's error and trace: a token a jwt
// step signed, repeated in a throw message, and a key a rest step sent in a
// header that the API echoed in its error body (the error's body field)
// are masked there and in the record, as the runtime's secrets were.
func TestHostileAPIRunMasksLearnedSecrets(t *testing.T) {
	t.Setenv("NECTAR_JWT_T2_APIRUN_SECRET", strings.Repeat("api-run-", 6))
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusForbidden)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "unknown key " + r.Header.Get("X-Api-Key")})
	}))
	defer up.Close()
	var logs lockedBuffer
	e := secretsServer(t, &logs, nil)
	admin := map[string]string{"Authorization": "Bearer admin-key", "Content-Type": "application/json"}
	run := func(src, input string) (server.RunResult, http.Header) {
		t.Helper()
		b, _ := json.Marshal(server.RunRequest{Source: src, Input: json.RawMessage(input), Trace: true})
		code, hdr, body := e.Do(t, "POST", "/api/run", string(b), admin)
		var res server.RunResult
		if err := json.Unmarshal([]byte(body), &res); err != nil || code != 200 || res.Error == nil {
			t.Fatalf("%d %s", code, body)
		}
		hdr.Set("X-Execution-Id", res.ExecutionID)
		return res, hdr
	}
	res, hdr := run(`name: thrown
steps:
  - jwt: {operation: sign, account: t2-apirun, algorithm: HS256, subject: ada}
    to: vars.sig
  - set: {bearer: "{{ vars.sig.jws }}"}
  - throw: {status: 502, error: "refused {{ message.bearer }}"}
`, `{}`)
	shown, _ := json.Marshal(res)
	if !strings.Contains(string(shown), "refused ***") {
		t.Errorf("the signed token is not masked in the answer: %s", shown)
	}
	rec := e.Record(t, hdr)
	if raw, _ := json.Marshal(rec); strings.Contains(string(raw), "refused ey") {
		t.Errorf("the record holds the signed token: %s", raw)
	}

	key := "api-run-sent-key-0014"
	res, hdr = run(`name: refused
steps:
  - rest: {url: "`+up.URL+`/v1", headers: {X-Api-Key: "{{ message.k }}"}, stop_on_client_error: true}
`, `{"k":"`+key+`"}`)
	shown, _ = json.Marshal(res)
	if !strings.Contains(string(shown), "unknown key ***") || strings.Contains(string(shown), key) {
		t.Errorf("the key the step sent is not masked in the answer: %s", shown)
	}
	rec = e.Record(t, hdr)
	if raw, _ := json.Marshal(rec.Error); strings.Contains(string(raw), key) {
		t.Errorf("the record's error holds the key: %s", raw)
	}
}

// TestHostileRetryLogHidesPresignedURL: a rest step fetches a
// pre-signed URL (the signature is the credential, under a name no list
// holds: sig, X-Amz-Signature) from a server that drops the connection; the
// client retries and logs why at debug level. The line names the URL
// without its query, as every message of the HTTP client does
// (httpclient.Redact); before, it quoted Go's *url.Error, whole URL
// included.
func TestHostileRetryLogHidesPresignedURL(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			c.Close() // a connection error: retried
		}
	}))
	defer up.Close()
	var logs lockedBuffer
	e := secretsServer(t, &logs, map[string]string{"presigned.yaml": `
name: presigned
trigger: {http: {path: /presigned}}
steps:
  - rest: {url: "{{ message.url }}", retries: 1, retry_backoff: 1ms}
`})
	sig := "presigned-signature-0015"
	code, hdr, body := postSecrets(t, e, "/presigned", `{"url":"`+up.URL+`/bucket/report.csv?X-Amz-Signature=`+sig+`&sig=`+sig+`"}`)
	if code == 200 {
		t.Fatalf("%d %s", code, body)
	}
	if !strings.Contains(logs.String(), "retrying request") || !strings.Contains(logs.String(), "/bucket/report.csv") {
		t.Fatalf("the retry is not logged with its URL: %s", logs.String())
	}
	for _, text := range []string{logs.String(), body} {
		if strings.Contains(text, sig) {
			t.Errorf("the signature is logged or answered: %s", text)
		}
	}
	rec := e.Record(t, hdr)
	if raw, _ := json.Marshal(rec.Error); strings.Contains(string(raw), sig) {
		t.Errorf("the record's error holds the signature: %s", raw)
	}
}

// TestHostileGeneratedSecretRepeatedInText: a pipeline makes a secret
// (as the credential provider makes client secrets; here from parts of the
// message, so that the test knows it) and puts it under a sensitive name,
// in the message or in the vars; a later step repeats it in text: a log
// line, a throw message, an expression error quoting it (cut: "got string
// \"…\""). The record (its error, its log lines), the log and the error
// answered hold it nowhere, whole or cut, with or without snapshots: a step
// that writes text (log) or fails first makes the values of the sensitive
// fields of its message and of the vars secrets of the execution, and a
// prefix of a secret cut for a message is masked as the secret is. Before,
// the record's error, the server's log and the answer held it in clear.
func TestHostileGeneratedSecretRepeatedInText(t *testing.T) {
	files := map[string]string{
		"gen.yaml": `
name: gen
trigger: {http: {path: /gen}}
steps:
  - set: {refresh_token: "{{ message.a + '-' + message.b }}"}
  - log: {message: "issued {{ message.refresh_token }}"}
  - throw: {status: 500, error: "could not store {{ message.refresh_token }}"}
`,
		"vars.yaml": `
name: vars
trigger: {http: {path: /vars}}
steps:
  - set: {client: {client_secret: "{{ message.a + '-' + message.b }}"}}
    to: vars.made
  - set: {n: "{{ toInt(vars.made.client.client_secret) }}"}
`,
	}
	eachHistory(t, files, func(t *testing.T, e *servertest.Env, logs *lockedBuffer) {
		made := "Zq7Hn2Kd9Lp4Wx6T-b3Rf8Ys1Vm5Jc0Gu"
		in := `{"a":"Zq7Hn2Kd9Lp4Wx6T","b":"b3Rf8Ys1Vm5Jc0Gu"}`
		for _, path := range []string{"/gen", "/vars"} {
			code, hdr, body := postSecrets(t, e, path, in)
			if code != 500 {
				t.Fatalf("%s: %d %s", path, code, body)
			}
			if strings.Contains(body, made[:20]) {
				t.Errorf("%s: the answer holds the secret: %s", path, body)
			}
			assertNowhere(t, e, logs, hdr, made, made[:24])
		}
		if !strings.Contains(logs.String(), "issued ***") {
			t.Fatalf("the log line is not masked: %s", logs.String())
		}
	})
}

// TestHostileCredentialHeadersOfKnownAPIs: the credential headers of
// well-known APIs, as a rest step sends them (AWS's X-Amz-Security-Token,
// Google's X-Goog-Api-Key, Azure's Ocp-Apim-Subscription-Key, GitLab's
// PRIVATE-TOKEN, Vault's X-Vault-Token, Shopify's X-Shopify-Access-Token,
// X-Access-Token), in any casing, from plain fields of the message. The
// upstream echoes them in its answer's headers and body (the step's
// result, kept as an exchange): the record and the log hold none.
func TestHostileCredentialHeadersOfKnownAPIs(t *testing.T) {
	names := []string{"X-Amz-Security-Token", "x-goog-api-key", "OCP-APIM-SUBSCRIPTION-KEY", "Private-Token", "X-Vault-Token", "X-Shopify-Access-Token", "x-access-token"}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		echo := map[string]string{}
		for _, n := range names {
			w.Header().Set(n, r.Header.Get(n))
			echo[n] = r.Header.Get(n)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(echo)
	}))
	defer up.Close()
	var hdrs, in []string
	var values []string
	for i, n := range names {
		hdrs = append(hdrs, fmt.Sprintf("%q: \"{{ message.v%d }}\"", n, i))
		v := fmt.Sprintf("known-api-credential-%04d", 20+i)
		values = append(values, v)
		in = append(in, fmt.Sprintf(`"v%d":%q`, i, v))
	}
	var logs lockedBuffer
	e := secretsServer(t, &logs, map[string]string{"apis.yaml": `
name: apis
trigger: {http: {path: /apis}}
steps:
  - rest: {url: "` + up.URL + `/v1", headers: {` + strings.Join(hdrs, ", ") + `}}
  - set: {answered: "{{ message }}"}
`})
	code, hdr, body := postSecrets(t, e, "/apis", "{"+strings.Join(in, ",")+"}")
	if code != 200 || !strings.Contains(body, values[0]) {
		t.Fatalf("%d %s", code, body)
	}
	rec := e.Record(t, hdr)
	for _, st := range rec.Steps {
		for _, v := range values {
			for _, part := range []string{string(st.Result), string(st.Output)} {
				if strings.Contains(part, v) {
					t.Errorf("step %s holds %q: %s", st.Step, v, part)
				}
			}
		}
	}
	if raw, _ := json.Marshal(rec.Output); strings.Contains(string(raw), values[0]) {
		t.Errorf("the record's output holds a credential: %s", raw)
	}
}

// TestHostileEventRunFailureLogMasksSecrets: a pipeline run by an event
// fails with a message that repeats a secret: the payload's password,
// quoted by an expression error, and a token a jwt step signed. The
// "execution failed" line of a run that answers nobody (event, schedule)
// masks the execution's secrets as the http trigger's line does; before, it
// wrote the message as it was.
func TestHostileEventRunFailureLogMasksSecrets(t *testing.T) {
	t.Setenv("NECTAR_JWT_T2_EVENT_SECRET", strings.Repeat("ev-key-", 7))
	var logs lockedBuffer
	e := secretsServer(t, &logs, map[string]string{
		"publish.yaml": `
name: publish
trigger: {http: {path: /publish}}
steps:
  - event: {name: t2.signup}
`,
		"consume.yaml": `
name: consume
trigger: {event: {name: t2.signup}}
steps:
  - jwt: {operation: sign, account: t2-event, algorithm: HS256, subject: ada}
    to: vars.sig
  - test-notify: {channel: t2-event-signed}
    from: vars.sig
    to: vars.noted
  - set: {n: "{{ toInt(message.password) }} {{ vars.sig.jws }}"}
`,
		"consume2.yaml": `
name: consume2
trigger: {event: {name: t2.signup}}
steps:
  - jwt: {operation: sign, account: t2-event, algorithm: HS256, subject: bob}
    to: vars.sig
  - test-notify: {channel: t2-event-signed2}
    from: vars.sig
    to: vars.noted
  - throw: {status: 500, error: "cannot welcome {{ vars.sig.jws }}"}
`,
	})
	pw := "event-payload-password-0030"
	if code, _, body := postSecrets(t, e, "/publish", `{"user":"ada","password":"`+pw+`"}`); code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	var jws []string
	for _, ch := range []string{"t2-event-signed", "t2-event-signed2"} {
		got := servertest.Receive(t, ch)
		m, _ := got.Get("message")
		j, _ := m.(interface{ Get(string) (any, bool) }).Get("jws")
		s, _ := j.(string)
		if !strings.HasPrefix(s, "ey") {
			t.Fatalf("%s: no token: %v", ch, servertest.MustJSON(got))
		}
		jws = append(jws, s)
	}
	// The runs end after the tokens are handed over: wait for their lines
	// (a hang guard, not a timed assertion).
	for deadline := time.Now().Add(20 * time.Second); strings.Count(logs.String(), "execution failed") < 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the failed runs are not logged:\n%s", logs.String())
		}
	}
	for _, s := range append(jws, pw) {
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, s) || strings.Contains(line, s[:24]) {
				t.Errorf("logged: %s", line)
			}
		}
	}
}

// TestHostileSentBodyCredentialsEchoedBack: a rest step sends a token
// request of its own (client_secret and password in a form body, from
// plain fields of the message), and the token endpoint echoes the body in
// its error, as some do. What a step sent under a sensitive name in its
// body is a secret of its execution, as what it sent in the URL or a header
// is: the step's result, the record and the log hold it nowhere.
func TestHostileSentBodyCredentialsEchoedBack(t *testing.T) {
	up := refusingAPI(t, "invalid_client", "refused: ")
	var logs lockedBuffer
	e := secretsServer(t, &logs, map[string]string{"login.yaml": `
name: login
trigger: {http: {path: /login}}
steps:
  - rest:
      method: POST
      url: "` + up.URL + `/token"
      body_type: form
      body: {grant_type: password, username: "{{ message.user }}", password: "{{ message.p }}", client_secret: "{{ message.s }}"}
  - log: {message: "the token endpoint said {{ message.body.error_description }}"}
`})
	pw, cs := "sent-form-password-0040", "sent-form-client-secret-0041"
	code, hdr, body := postSecrets(t, e, "/login", `{"user":"ada","p":"`+pw+`","s":"`+cs+`"}`)
	if code != 200 || !strings.Contains(body, "refused: ") {
		t.Fatalf("%d %s", code, body)
	}
	rec := e.Record(t, hdr)
	for _, st := range rec.Steps {
		for _, s := range []string{pw, cs, url.QueryEscape(pw)} {
			if strings.Contains(string(st.Result)+string(st.Output), s) {
				t.Errorf("step %s holds %q: %s", st.Step, s, st.Result)
			}
		}
	}
	for _, l := range rec.Logs {
		if strings.Contains(l.Message, pw) || strings.Contains(l.Message, cs) {
			t.Errorf("the record's log line holds a credential: %s", l.Message)
		}
	}
	if strings.Contains(logs.String(), pw) || strings.Contains(logs.String(), cs) {
		t.Errorf("the log holds a credential:\n%s", logs.String())
	}
}
