package http_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	nectarjwt "github.com/nectar-run/nectar/connectors/jwt"
	"github.com/nectar-run/nectar/consumers"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/internal/servertest"
	"github.com/nectar-run/nectar/secret"
	"github.com/nectar-run/nectar/server"
)

// Moved from server/http_test.go.

var httpPipelines = map[string]string{
	"echo.yaml": `
name: echo
trigger:
  http:
    path: /customers/{id}
    methods: [GET, POST]
    max_body: 1KB
    headers: {X-Frame-Options: DENY}
steps:
  - set:
      id: "{{ metadata.request.params.id }}"
      method: "{{ metadata.request.method }}"
      q: "{{ metadata.request.query.q }}"
      body: "{{ message }}"
      trigger: "{{ metadata.trigger }}"
`,
	"fail.yaml": `
name: fail
trigger:
  http: {path: /fail}
steps:
  - throw: {status: 422, error: "order {{ message.id }} is not valid"}
`,
	"panic.yaml": `
name: panic
trigger:
  http: {path: /panic}
steps:
  - test-panic: {}
`,
	"slow.yaml": `
name: slow
trigger:
  http: {path: /slow, timeout: 50ms}
steps:
  - test-block: {}
`,
	"secure.yaml": `
name: secure
trigger:
  http:
    path: /secure
    auth: [apikey, basic]
    methods: [GET]
steps:
  - set: {consumer: "{{ metadata.consumer.name }}", auth: "{{ metadata.consumer.auth }}", apikey: "{{ metadata.request.headers.apikey }}"}
`,
	"other.yaml": `
name: other
trigger:
  http: {path: /other, auth: apikey, methods: [GET]}
steps:
  - set: {ok: true}
`,
	"limited.yaml": `
name: limited
trigger:
  http:
    path: /limited
    methods: [GET]
    rate_limit: {requests: 2, per: hour}
steps:
  - set: {ok: true}
`,
	"reply.yaml": `
name: reply
trigger:
  http: {path: /reply}
steps:
  - respond:
      status: 201
      headers: {Location: "/things/{{ message.id }}"}
      body: "created {{ message.id }}"
  - set: {ignored: true}
`,
	"jwt.yaml": `
name: jwt
trigger:
  http:
    path: /jwt
    methods: [GET]
    auth: jwt
    jwt: {account: signer, scopes: [orders:read], issuer: nectar-test}
steps:
  - set: {sub: "{{ metadata.consumer.name }}", iss: "{{ metadata.consumer.claims.iss }}"}
`,
	"cors.yaml": `
name: cors
trigger:
  http:
    path: /cors
    methods: [POST]
    cors: {origins: ["https://app.example"]}
steps:
  - set: {ok: true}
`,
	"cors-credentials.yaml": `
name: cors-credentials
trigger:
  http:
    path: /cors-credentials
    methods: [POST]
    cors: {origins: ["https://app.example", "https://admin.example"], allow_credentials: true}
steps:
  - set: {ok: true}
`,
	"text.yaml": `
name: text
trigger:
  http: {path: /text}
steps:
  - set: {got: "{{ message }}", type: "{{ metadata.request.content_type }}"}
`,
}

var jwtSecret = []byte("a test HMAC secret of enough length!")

// jwtKeys is the key source of the jwt triggers (and steps) in these tests.
var jwtKeys = nectarjwt.KeySourceFunc(func(ctx context.Context, account string) (nectarjwt.KeyMaterial, error) {
	if account != "signer" {
		return nectarjwt.KeyMaterial{}, fmt.Errorf("%w %q", nectarjwt.ErrUnknownAccount, account)
	}
	return nectarjwt.KeyMaterial{Secret: secret.New(string(jwtSecret))}, nil
})

// withJWTKeys gives the server a runtime whose jwt key source is jwtKeys.
func withJWTKeys(o *server.Options) {
	if o.Runtime == nil {
		o.Runtime = &engine.Runtime{}
	}
	nectarjwt.SetKeySource(o.Runtime, jwtKeys)
}

func token(t *testing.T, claims jwt.MapClaims, key []byte) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestHTTPStatuses(t *testing.T) {
	e := servertest.Start(t, httpPipelines, withJWTKeys)
	ctx := context.Background()
	if _, err := e.Consumers.Create(ctx, consumers.Consumer{Name: "shop", Pipelines: []string{"secure"}}); err != nil {
		t.Fatal(err)
	}
	key, err := e.Consumers.AddKey(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	pwd, err := e.Consumers.AddBasic(ctx, "shop", "shop-user")
	if err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour).Unix()
	good := token(t, jwt.MapClaims{"sub": "svc", "iss": "nectar-test", "exp": exp, "scope": "orders:read orders:write"}, jwtSecret)
	noScope := token(t, jwt.MapClaims{"sub": "svc", "iss": "nectar-test", "exp": exp, "scope": "orders:write"}, jwtSecret)
	forged := token(t, jwt.MapClaims{"sub": "svc", "iss": "nectar-test", "exp": exp, "scope": "orders:read"}, []byte("another secret, not the account's"))
	big := `{"x":"` + strings.Repeat("a", 2000) + `"}`

	tests := []struct {
		name, method, path, body string
		hdr                      map[string]string
		code                     int
		want                     []string // substrings of the body
		wantHeader               map[string]string
	}{
		{"JSON body, params and query reach the pipeline", "POST", "/customers/42?q=x", `{"a":1}`, map[string]string{"Content-Type": "application/json"}, 200,
			[]string{`"id":"42"`, `"method":"POST"`, `"q":"x"`, `"body":{"a":1}`, `"trigger":"http"`}, map[string]string{"X-Frame-Options": "DENY", "Content-Type": "application/json"}},
		{"unknown route is 404", "GET", "/nowhere", "", nil, 404, []string{`"code":404`, `"timestamp":`, `"error":"no pipeline serves GET /nowhere"`}, nil},
		{"wrong method is 405 with Allow", "DELETE", "/customers/1", "", nil, 405, []string{`"code":405`}, map[string]string{"Allow": "GET, POST"}},
		{"large body is 413", "POST", "/customers/1", big, map[string]string{"Content-Type": "application/json"}, 413, []string{`"code":413`}, nil},
		{"malformed JSON is 400", "POST", "/customers/1", `{"a":`, map[string]string{"Content-Type": "application/json"}, 400, []string{`"code":400`, "malformed JSON"}, nil},
		{"pipeline error gives its code and error object", "POST", "/fail", `{"id":7}`, nil, 422, []string{`"code":422`, `"error":"order 7 is not valid"`, `"pipeline":"fail"`, `"execution_id":`}, nil},
		{"panicking connector fails only its execution", "POST", "/panic", "", nil, 500, []string{`"code":500`, "failed unexpectedly"}, nil},
		{"timeout is 504", "POST", "/slow", "", nil, 504, []string{`"code":504`}, nil},
		{"missing credentials are 401", "GET", "/secure", "", nil, 401, []string{`"code":401`, "missing credentials"}, map[string]string{"WWW-Authenticate": `Basic realm="nectar"`}},
		{"wrong API key is 401", "GET", "/secure", "", map[string]string{"apikey": "nk_wrong"}, 401, []string{"invalid credentials"}, nil},
		{"API key names the consumer and stays out of metadata", "GET", "/secure", "", map[string]string{"apikey": key}, 200, []string{`"consumer":"shop"`, `"auth":"apikey"`, `"apikey":null`}, nil},
		{"Basic credential names the consumer", "GET", "/secure", "", map[string]string{"Authorization": basic("shop-user", pwd)}, 200, []string{`"consumer":"shop"`, `"auth":"basic"`}, nil},
		{"wrong Basic password is 401", "GET", "/secure", "", map[string]string{"Authorization": basic("shop-user", "nope")}, 401, nil, nil},
		{"consumer not allowed on the pipeline is 403", "GET", "/other", "", map[string]string{"apikey": key}, 403, []string{"not allowed on pipeline other"}, nil},
		{"JWT with scope passes", "GET", "/jwt", "", map[string]string{"Authorization": "Bearer " + good}, 200, []string{`"sub":"svc"`, `"iss":"nectar-test"`}, nil},
		{"JWT without the scope is 403", "GET", "/jwt", "", map[string]string{"Authorization": "Bearer " + noScope}, 403, []string{"lacks scope orders:read"}, nil},
		{"JWT signed with another key is 401", "GET", "/jwt", "", map[string]string{"Authorization": "Bearer " + forged}, 401, nil, nil},
		{"respond sets status, headers and a text body", "POST", "/reply", `{"id":"a1"}`, nil, 201, []string{"created a1"}, map[string]string{"Location": "/things/a1", "Content-Type": "text/plain; charset=utf-8"}},
		{"form body becomes an object", "POST", "/text", "a=1&b=2&b=3", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 200, []string{`"got":{"a":"1","b":["2","3"]}`}, nil},
		{"text body becomes a string", "POST", "/text", "<x>1</x>", map[string]string{"Content-Type": "application/xml"}, 200, []string{`"got":"<x>1</x>"`}, nil},
		{"CORS preflight", "OPTIONS", "/cors", "", map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}, 204, nil, map[string]string{"Access-Control-Allow-Origin": "https://app.example", "Access-Control-Allow-Methods": "POST"}},
		{"CORS origin on a request", "POST", "/cors", "", map[string]string{"Origin": "https://app.example"}, 200, nil, map[string]string{"Access-Control-Allow-Origin": "https://app.example"}},
		{"CORS with credentials reflects a listed origin", "POST", "/cors-credentials", "", map[string]string{"Origin": "https://admin.example"}, 200, nil,
			map[string]string{"Access-Control-Allow-Origin": "https://admin.example", "Access-Control-Allow-Credentials": "true", "Vary": "Origin"}},
		{"CORS with credentials preflight for a listed origin", "OPTIONS", "/cors-credentials", "", map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}, 204, nil,
			map[string]string{"Access-Control-Allow-Origin": "https://app.example", "Access-Control-Allow-Credentials": "true"}},
		{"CORS with credentials does not reflect another origin", "POST", "/cors-credentials", "", map[string]string{"Origin": "https://evil.example"}, 200, nil,
			map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Credentials": ""}},
		{"CORS with credentials preflight for another origin", "OPTIONS", "/cors-credentials", "", map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}, 204, nil,
			map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Credentials": "", "Access-Control-Allow-Methods": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, hdr, body := e.Do(t, tt.method, tt.path, tt.body, tt.hdr)
			if code != tt.code {
				t.Fatalf("status %d, want %d; body %s", code, tt.code, body)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("body %s lacks %s", body, w)
				}
			}
			for k, v := range tt.wantHeader {
				if got := hdr.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if code >= 400 && tt.method != "OPTIONS" {
				var obj map[string]any
				if err := json.Unmarshal([]byte(body), &obj); err != nil || obj["timestamp"] == nil || obj["error"] == nil || obj["code"] == nil {
					t.Errorf("error body %s is not {timestamp, error, code}", body)
				}
				if strings.Contains(body, "goroutine") {
					t.Errorf("error body holds a stack trace: %s", body)
				}
			}
		})
	}
}

func basic(user, pass string) string {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, pass)
	return r.Header.Get("Authorization")
}

func TestRateLimit(t *testing.T) {
	e := servertest.Start(t, httpPipelines, nil)
	for i := range 2 {
		if code, _, body := e.Do(t, "GET", "/limited", "", nil); code != 200 {
			t.Fatalf("request %d: %d %s", i, code, body)
		}
	}
	code, hdr, body := e.Do(t, "GET", "/limited", "", nil)
	if code != 429 || hdr.Get("Retry-After") == "" || !strings.Contains(body, `"code":429`) {
		t.Fatalf("third request: %d, Retry-After %q, %s", code, hdr.Get("Retry-After"), body)
	}
}

func TestConsumerRateLimit(t *testing.T) {
	e := servertest.Start(t, httpPipelines, nil)
	ctx := context.Background()
	if _, err := e.Consumers.Create(ctx, consumers.Consumer{Name: "tiny", Pipelines: []string{"*"}, RateLimit: &consumers.Limit{Requests: 1, Per: "day"}}); err != nil {
		t.Fatal(err)
	}
	key, _ := e.Consumers.AddKey(ctx, "tiny")
	h := map[string]string{"apikey": key}
	if code, _, body := e.Do(t, "GET", "/secure", "", h); code != 200 {
		t.Fatalf("first: %d %s", code, body)
	}
	if code, hdr, _ := e.Do(t, "GET", "/other", "", h); code != 429 || hdr.Get("Retry-After") == "" {
		t.Fatalf("second (another pipeline, same consumer): %d", code)
	}
}

// TestCORSCredentialsAnyOrigin serves a trigger sending credentials to any
// origin (the default origins). Such a file does not load, so the browser of
// a user visiting https://evil.example never gets its origin reflected with
// Access-Control-Allow-Credentials; nectar validate and the logs say where.
func TestCORSCredentialsAnyOrigin(t *testing.T) {
	e := servertest.Start(t, map[string]string{"cors-any.yaml": `
name: cors-any
trigger:
  http:
    path: /cors-any
    methods: [POST]
    cors: {allow_credentials: true}
steps:
  - set: {secret: data}
`}, nil)
	for _, method := range []string{"POST", "OPTIONS"} {
		code, hdr, body := e.Do(t, method, "/cors-any", "", map[string]string{"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
		if code != http.StatusNotFound || hdr.Get("Access-Control-Allow-Origin") != "" || hdr.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("%s: %d %v %s, want 404 without Access-Control-Allow-*", method, code, hdr, body)
		}
	}
}
