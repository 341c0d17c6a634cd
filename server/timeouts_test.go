package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/connectors/objectstore"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/pipelines"
	"github.com/nectar-run/nectar/secret"
	"github.com/nectar-run/nectar/server"
	"github.com/nectar-run/nectar/store"
)

// shortTimeout returns a shipped pipeline with its trigger's timeout set
// to d, to be served from the folder in its place.
func shortTimeout(t *testing.T, name, path string, d string) string {
	t.Helper()
	b, err := fs.ReadFile(pipelines.FS, name)
	if err != nil {
		t.Fatal(err)
	}
	src := strings.Replace(string(b), "    path: "+path+"\n", "    path: "+path+"\n    timeout: "+d+"\n", 1)
	if src == string(b) {
		t.Fatalf("%s: no trigger path %s", name, path)
	}
	return src
}

type reply struct {
	code int
	body map[string]any
	raw  string
}

func postJSON(t *testing.T, u, ctype, body string, hdr map[string]string) reply {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		t.Error(err)
		return reply{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(b, &m)
	return reply{resp.StatusCode, m, string(b)}
}

// TestTimeoutsWithFrozenStore (#20.8): PostgreSQL is frozen (SIGSTOP)
// while a token request, an object insert with a client-chosen id and a
// credential-provider create with an idempotency key run, each with a 2 s
// trigger timeout; and a token request with a body over max_body, before.
//
// The token endpoint used to reply Nectar's {timestamp, error, code} 504,
// which no OAuth2 client reads; now it answers RFC 6749's
// {"error":"temporarily_unavailable"} with 503. The writes reply 504,
// which means "may have happened": retried after the thaw, each is stored
// exactly once — the insert's retry answers 200 or 409 (stored by the
// first attempt), the create's retry 200 with a secret or 409 with the
// same clientId and no secret; one document, one client.
func TestTimeoutsWithFrozenStore(t *testing.T) {
	const apikey = "timeouts-test-credentials-key"
	t.Setenv("NECTAR_CREDENTIALS_APIKEY", apikey)
	c := cluster(t)
	rt := &engine.Runtime{}
	pipelines.InstallKeys(rt)
	files := map[string]string{
		"oauth-token.yaml":         shortTimeout(t, "oauth-token.yaml", "/oauth/token", "2s"),
		"credential-provider.yaml": shortTimeout(t, "credential-provider.yaml", "/credential-provider", "2s"),
		"items.yaml": `
name: items
trigger:
  http: {path: /items, methods: [POST], timeout: 2s}
steps:
  - object-store: {operation: insert, collection: items, id: "{{ message.id }}", document: "{{ message }}"}
`,
	}
	e := startPG(t, c, files, func(o *server.Options) {
		o.Shipped = pipelines.FS
		o.Runtime = rt
	})
	objectstore.Install(rt, e.st)
	sealer, err := secret.NewSealer(secret.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	accounts.Install(rt, accounts.NewManager(e.st, sealer)) // the token signing keys
	base := e.http.URL

	// A client, created with an idempotency key; the same create again
	// answers 409 with the same clientId and without a secret.
	create := func(partner, key string) reply {
		return postJSON(t, base+"/credential-provider", "application/json",
			`{"partnerId":"`+partner+`","executionType":"create","apikey":"`+apikey+`","idempotencyKey":"`+key+`"}`, nil)
	}
	first := create("acme", "create-1")
	if first.code != 200 || first.body["clientId"] == nil || first.body["clientSecret"] == nil {
		t.Fatalf("create: %d %s", first.code, first.raw)
	}
	clientID, secret := first.body["clientId"].(string), first.body["clientSecret"].(string)
	again := create("acme", "create-1")
	if again.code != http.StatusConflict || again.body["clientId"] != clientID || strings.Contains(again.raw, secret) || again.body["clientSecret"] != nil {
		t.Errorf("create retried with the same key: %d %s; want 409 with clientId %s and no secret", again.code, again.raw, clientID)
	}
	byHeader := postJSON(t, base+"/credential-provider", "application/json",
		`{"partnerId":"acme","executionType":"create","apikey":"`+apikey+`"}`, map[string]string{"Idempotency-Key": "create-1"})
	if byHeader.code != http.StatusConflict || byHeader.body["clientId"] != clientID {
		t.Errorf("create retried with the key in Idempotency-Key: %d %s", byHeader.code, byHeader.raw)
	}
	other := create("acme", "create-2")
	if other.code != 200 || other.body["clientId"] == clientID {
		t.Fatalf("create with another key: %d %s; want a new client", other.code, other.raw)
	}
	basicOf := func(id, secret string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
	}
	basic := basicOf(clientID, secret)
	tokenAs := func(basic string) reply {
		return postJSON(t, base+"/oauth/token", "application/x-www-form-urlencoded", "grant_type=client_credentials",
			map[string]string{"Authorization": basic})
	}
	token := func() reply { return tokenAs(basic) }
	if a := token(); a.code != 200 {
		t.Fatalf("token before the freeze: %d %s", a.code, a.raw)
	}
	// An error the server answers before the pipeline runs is in the RFC's
	// shape too.
	tooBig := postJSON(t, base+"/oauth/token", "application/x-www-form-urlencoded", "grant_type="+strings.Repeat("x", 70<<10),
		map[string]string{"Authorization": basic})
	if tooBig.code != http.StatusRequestEntityTooLarge || tooBig.body["error"] != "invalid_request" || len(tooBig.body) != 2 {
		t.Errorf("token with a body over max_body: %d %s; want 413 {error: invalid_request, error_description}", tooBig.code, tooBig.raw)
	}

	if err := c.Freeze(); err != nil {
		t.Fatal(err)
	}
	var (
		wg                            sync.WaitGroup
		tokenAns, insertAns, creating reply
	)
	wg.Add(3)
	// The token request is for a client no request has read yet: a
	// PostgreSQL replica answers the clients it read from memory
	// (store.CacheReads, for at most postgres.DefaultCacheMaxAge), so the
	// first client could be granted without the store; this one's record
	// must come from the frozen store.
	go func() {
		defer wg.Done()
		tokenAns = tokenAs(basicOf(other.body["clientId"].(string), other.body["clientSecret"].(string)))
	}()
	go func() {
		defer wg.Done()
		insertAns = postJSON(t, base+"/items", "application/json", `{"id":"order-7","total":12}`, nil)
	}()
	go func() { defer wg.Done(); creating = create("globex", "create-frozen") }()
	wg.Wait()
	c.Thaw()

	t.Logf("frozen: token %d %s; insert %d %s; create %d %s", tokenAns.code, tokenAns.raw, insertAns.code, insertAns.raw, creating.code, creating.raw)
	if tokenAns.code != http.StatusServiceUnavailable || tokenAns.body["error"] != "temporarily_unavailable" ||
		tokenAns.body["error_description"] == nil || len(tokenAns.body) != 2 {
		t.Errorf("token with the store frozen: %d %s; want 503 {error: temporarily_unavailable, error_description}", tokenAns.code, tokenAns.raw)
	}
	for name, a := range map[string]reply{"insert": insertAns, "create": creating} {
		// 504 (the trigger's timeout) or 503 (the store's own bound ran
		// out first): either way the write may have happened.
		if a.code != http.StatusGatewayTimeout && a.code != http.StatusServiceUnavailable || a.body["code"] != float64(a.code) {
			t.Errorf("%s with the store frozen: %d %s; want 504 or 503", name, a.code, a.raw)
		}
	}

	// Retries after the thaw: each write stored once.
	retryInsert := postJSON(t, base+"/items", "application/json", `{"id":"order-7","total":12}`, nil)
	if retryInsert.code != 200 && retryInsert.code != http.StatusConflict {
		t.Errorf("insert retried: %d %s; want 200 or 409", retryInsert.code, retryInsert.raw)
	}
	retryCreate := create("globex", "create-frozen")
	switch retryCreate.code {
	case 200:
		if retryCreate.body["clientSecret"] == nil {
			t.Errorf("create retried: 200 without a secret: %s", retryCreate.raw)
		}
	case http.StatusConflict:
		if retryCreate.body["clientId"] == nil || retryCreate.body["clientSecret"] != nil {
			t.Errorf("create retried: %s; want the clientId and no secret", retryCreate.raw)
		}
	default:
		t.Errorf("create retried: %d %s; want 200 or 409", retryCreate.code, retryCreate.raw)
	}
	ctx := context.Background()
	items, err := e.st.List(ctx, "objects/items", store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 {
		t.Errorf("%d documents after a timed-out insert and its retry, want 1", len(items))
	}
	clients, err := e.st.List(ctx, "objects/oauth-clients", store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	globex := 0
	for _, it := range clients {
		if strings.Contains(string(it.Value), `"globex"`) {
			globex++
		}
	}
	if globex != 1 {
		t.Errorf("%d clients of globex after a timed-out create and its retry, want 1", globex)
	}
	if a := token(); a.code != 200 {
		t.Errorf("token after the thaw: %d %s", a.code, a.raw)
	}
	t.Logf("after the thaw: insert retried %d, create retried %d", retryInsert.code, retryCreate.code)
}
