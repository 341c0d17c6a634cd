package pipelines_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nectar-run/nectar/accounts"
	_ "github.com/nectar-run/nectar/connectors/all"
	"github.com/nectar-run/nectar/connectors/objectstore"
	"github.com/nectar-run/nectar/consumers"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/pipelines"
	"github.com/nectar-run/nectar/secret"
	"github.com/nectar-run/nectar/server"
	"github.com/nectar-run/nectar/store/bolt"
)

// adminKey is the credential provider's administrator key in these tests.
const adminKey = "test-admin-key-4f9a2c"

// lockedBuffer collects the server's logs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// nectar is a running server with the shipped pipelines and the examples,
// over loopback HTTP, with a bbolt store, accounts, consumers and history.
type nectar struct {
	url      string
	storeDir string
	am       *accounts.Manager
	cm       *consumers.Manager
	logs     *lockedBuffer
	srv      *server.Server
	rt       *engine.Runtime
	stop     func() // shuts the server down and flushes the history; idempotent
}

// examples are the example pipelines served next to the shipped ones.
var examples = []string{
	"../examples/customer-api/customer-api.yaml",
	"../examples/partner-sync/partner-sync.yaml",
	"../examples/dogfooding/customer-report.yaml",
}

func startNectar(t testing.TB) *nectar {
	t.Helper()
	return startNectarWith(t, nil)
}

// startNectarWith starts a server whose globals, as a --globals file would
// give them, are extra (base is the server's URL).
func startNectarWith(t testing.TB, extra func(base string) map[string]any) *nectar {
	t.Helper()
	dir := t.TempDir()
	for _, f := range examples {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	storeDir := t.TempDir()
	st, err := bolt.Open(storeDir, bolt.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := secret.NewSealer(secret.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	logs := &lockedBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	am := accounts.NewManager(st, sealer, accounts.WithLogger(log))
	rt := &engine.Runtime{Logger: log}
	accounts.Install(rt, am)
	objectstore.Install(rt, st)
	pipelines.InstallKeys(rt)
	cm, err := consumers.New(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	globals := value.NewObject(2)
	globals.Set("customer_api", base+"/customers")
	if extra != nil {
		for k, v := range extra(base) {
			globals.Set(k, v)
		}
	}
	// Without an oauth_issuer in the globals the issuer comes from the
	// listen address, as with a nectar serve without a --globals file.
	globals, _, _, err = pipelines.SetIssuer(globals, ln.Addr())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(ctx, server.Options{
		Dir: dir, Shipped: pipelines.FS, Load: engine.LoadOptions{Globals: globals},
		Runtime: rt, Store: st, Consumers: cm, AdminKey: "admin", Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	hs := httptest.NewUnstartedServer(srv.Handler())
	hs.Listener.Close()
	hs.Listener = ln
	hs.Start()
	var once sync.Once
	n := &nectar{url: base, storeDir: storeDir, am: am, cm: cm, logs: logs, srv: srv, rt: rt}
	n.stop = func() {
		once.Do(func() {
			hs.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("shutdown: %v", err)
			}
			st.Close()
		})
	}
	t.Cleanup(n.stop)
	return n
}

// answer is an HTTP response read whole.
type answer struct {
	status int
	header http.Header
	body   string
}

// json decodes the body into a map (tests read fields, order does not matter).
func (a answer) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(a.body), &m); err != nil {
		t.Fatalf("answer %d is not a JSON object: %v\n%s", a.status, err, a.body)
	}
	return m
}

func (n *nectar) do(t testing.TB, method, path, ctype, body string, hdr map[string]string) answer {
	t.Helper()
	req, err := http.NewRequest(method, n.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, string(b)}
}

// postJSON posts v as JSON.
func (n *nectar) postJSON(t testing.TB, path string, v any, hdr map[string]string) answer {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return n.do(t, http.MethodPost, path, "application/json", string(b), hdr)
}

// postForm posts form values.
func (n *nectar) postForm(t testing.TB, path string, form url.Values, hdr map[string]string) answer {
	t.Helper()
	return n.do(t, http.MethodPost, path, "application/x-www-form-urlencoded", form.Encode(), hdr)
}

// client is a client of the credential provider.
type client struct{ id, secret string }

func (n *nectar) createClient(t testing.TB, extra map[string]any) client {
	t.Helper()
	in := map[string]any{"partnerId": "TestSystem", "executionType": "create", "apikey": adminKey}
	for k, v := range extra {
		in[k] = v
	}
	a := n.postJSON(t, "/credential-provider", in, nil)
	if a.status != 200 {
		t.Fatalf("create: %d %s", a.status, a.body)
	}
	m := a.json(t)
	if len(m) != 2 {
		t.Errorf("create answered %s; want exactly clientId and clientSecret", a.body)
	}
	c := client{id: str(m["clientId"]), secret: str(m["clientSecret"])}
	if c.id == "" || len(c.secret) < 40 {
		t.Fatalf("create answered %s", a.body)
	}
	return c
}

// tokens is a token response of the credential provider.
type tokens struct{ access, refresh string }

func (n *nectar) token(t testing.TB, c client) tokens {
	t.Helper()
	a := n.postJSON(t, "/credential-provider", map[string]any{"grant_type": "client_credentials", "username": c.id, "password": c.secret}, nil)
	return tokensOf(t, a)
}

func (n *nectar) refresh(t testing.TB, refresh string) answer {
	t.Helper()
	return n.postJSON(t, "/credential-provider", map[string]any{"grant_type": "refresh_token", "refresh_token": refresh}, nil)
}

// tokensOf checks the reference's token response shape and returns the tokens.
func tokensOf(t testing.TB, a answer) tokens {
	t.Helper()
	if a.status != 200 {
		t.Fatalf("token: %d %s", a.status, a.body)
	}
	var got struct {
		TokenType    string `json:"token_type"`
		ExpiresIn    int64  `json:"expires_in"`
		ExtExpiresIn int64  `json:"ext_expires_in"`
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.Unmarshal([]byte(a.body), &got); err != nil {
		t.Fatal(err)
	}
	keys := keysOf(t, a.body)
	if want := "token_type,expires_in,ext_expires_in,access_token,refresh_token"; keys != want {
		t.Errorf("token response keys %s, want %s (the reference's order)", keys, want)
	}
	if got.TokenType != "Bearer" || got.ExpiresIn != 3600000 || got.ExtExpiresIn != 3600000 {
		t.Errorf("token response %s", a.body)
	}
	if !strings.HasPrefix(got.AccessToken, "eyJhbGciOiJIUzI1NiIs") || !strings.HasPrefix(got.RefreshToken, "eyJhbGciOiJIUzUxMiIs") {
		t.Errorf("want an HS256 access token and an HS512 refresh token, got %s", a.body)
	}
	return tokens{got.AccessToken, got.RefreshToken}
}

// keysOf lists the top-level keys of a JSON object in order.
func keysOf(t testing.TB, body string) string {
	t.Helper()
	v, err := value.Decode([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	o, ok := v.(*value.Object)
	if !ok {
		t.Fatalf("not an object: %s", body)
	}
	return strings.Join(o.Keys(), ",")
}

func (n *nectar) customer(t testing.TB, id, bearer string) answer {
	t.Helper()
	return n.do(t, http.MethodGet, "/customers/"+id, "", "", map[string]string{"Authorization": "Bearer " + bearer})
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func form(m map[string]any) url.Values {
	f := url.Values{}
	for k, v := range m {
		f.Set(k, str(v))
	}
	return f
}

func createAPIKeyAccount(t testing.TB, n *nectar, name, key string) {
	t.Helper()
	err := n.am.Create(context.Background(), &accounts.Account{Name: name, Type: accounts.TypeAPIKey, KeyName: "apikey", APIKey: secret.New(key)})
	if err != nil {
		t.Fatal(err)
	}
}

// run runs a served pipeline in-process, as a schedule would.
func (n *nectar) run(t testing.TB, name, input string) (any, error) {
	t.Helper()
	p, ok := n.srv.Library().Pipeline(name)
	if !ok {
		t.Fatalf("no pipeline %s", name)
	}
	in, err := value.Decode([]byte(input))
	if err != nil {
		t.Fatal(err)
	}
	return p.Run(context.Background(), n.rt, in, engine.RunOptions{})
}

func consumersConsumer(name string) consumers.Consumer {
	return consumers.Consumer{Name: name, Pipelines: []string{"*"}}
}
