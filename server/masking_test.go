package server_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/s2"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/connectors/objectstore"
	"github.com/nectar-run/nectar/consumers"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/enginetest"
	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/pipelines"
	"github.com/nectar-run/nectar/secret"
	"github.com/nectar-run/nectar/server"
	"github.com/nectar-run/nectar/store"
	"github.com/nectar-run/nectar/store/bolt"
)

func randomSecret(t *testing.T) string {
	t.Helper()
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// TestSecretsStayOutOfRecordsAndLogs (#12.3): every way a secret reached an
// execution record or a log line, sent through a real server with the
// shipped pipelines and a bbolt history; then the bbolt file, the
// decompressed history segments, the records as `nectar executions show`
// reads them and the log output are searched for each secret, in clear, as
// JSON text and as base64.
func TestSecretsStayOutOfRecordsAndLogs(t *testing.T) {
	adminKey := base64.StdEncoding.EncodeToString([]byte(randomSecret(t)))[:40] // like openssl rand -base64
	t.Setenv("NECTAR_CREDENTIALS_APIKEY", adminKey)
	accountKey := "acct-" + randomSecret(t)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// An upstream that echoes the key it was called with in a next link.
		w.Header().Set("Content-Type", "application/json")
		next := "http://" + r.Host + r.URL.Path + "?" + r.URL.RawQuery + "&page=2"
		_ = json.NewEncoder(w).Encode(map[string]any{"items": []int{1}, "next": next})
	}))
	defer upstream.Close()

	dir := t.TempDir()
	files := map[string]string{
		"echo.yaml": `
name: echo
trigger:
  http: {path: /echo}
steps:
  - set:
      got: "{{ message }}"
      said: "the client sent {{ message.clientSecret }} and {{ message.Token }}"
`,
		"raw.yaml": `
name: raw
trigger:
  http: {path: /raw}
steps:
  - set: {got: "{{ message }}"}
`,
		"upstream.yaml": `
name: upstream
trigger:
  http: {path: /upstream}
steps:
  - rest: {url: "` + upstream.URL + `/items", account: partner}
  - log: {message: "upstream answered {{ message }}"}
`,
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	storeDir := t.TempDir()
	st, err := bolt.Open(storeDir, bolt.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sealer, err := secret.NewSealer(secret.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	logs := &enginetest.Log{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx := context.Background()
	am := accounts.NewManager(st, sealer, accounts.WithLogger(log))
	if err := am.Put(ctx, &accounts.Account{Name: "partner", Type: "api-key", KeyName: "api_key", KeyIn: "query", APIKey: secret.New(accountKey), BaseURL: upstream.URL}); err != nil {
		t.Fatal(err)
	}
	rt := &engine.Runtime{Logger: log}
	accounts.Install(rt, am)
	pipelines.InstallKeys(rt)
	objectstore.Install(rt, st)
	cm, err := consumers.New(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(ctx, server.Options{Dir: dir, Shipped: pipelines.FS, Runtime: rt, Store: st, Consumers: cm,
		AdminKey: "admin-" + randomSecret(t), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	hs := httptest.NewServer(srv.Handler())
	defer hs.Close()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()
	send := func(path, ctype, body string, hdr map[string]string) (int, string) {
		t.Helper()
		req, err := http.NewRequest("POST", hs.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", ctype)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := hs.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}
	form := "application/x-www-form-urlencoded"

	// (a) the README's curl: JSON with curl -d's form content type.
	code, body := send("/credential-provider", form, `{"partnerId":"TestSystem","executionType":"create","apikey":"`+adminKey+`"}`, nil)
	var created struct{ ClientID, ClientSecret string }
	if err := json.Unmarshal([]byte(body), &created); code != 200 || err != nil || created.ClientSecret == "" {
		t.Fatalf("create: %d %s", code, body)
	}
	// The administrator key as a value of a field with no sensitive name:
	// Nectar knows it, so it is masked wherever it appears.
	send("/raw", form, "note=the+key+is+"+adminKey[:20]+"&copy="+strings.NewReplacer("+", "%2B", "/", "%2F", "=", "%3D").Replace(adminKey), nil)

	// (b) the client secret in bodies that are not parsed into fields.
	tokenForm := "grant_type=client_credentials&client_id=" + created.ClientID + "&client_secret=" + created.ClientSecret
	send("/oauth/token", "text/plain", tokenForm, nil)
	send("/oauth/token", "application/octet-stream", tokenForm, nil)
	send("/credential-provider", "text/plain", `{"grant_type":"client_credentials","username":"`+created.ClientID+`","password":"`+created.ClientSecret+`"}`, nil)
	// A pipeline without sensitive_fields: bytes holding a known secret are
	// not stored.
	send("/raw", "application/octet-stream", "\x00\x01key="+adminKey, nil)
	// The client secret in HTTP Basic, echoed by no one, but masked if it
	// were; and in a JSON body read through the form content type.
	basic := base64.StdEncoding.EncodeToString([]byte(created.ClientID + ":" + created.ClientSecret))
	if code, body := send("/oauth/token", form, "grant_type=client_credentials", map[string]string{"Authorization": "Basic " + basic}); code != 200 {
		t.Fatalf("token with Basic: %d %s", code, body)
	}

	// (c) sensitive names in other spellings, and their values repeated in
	// longer strings.
	spelled := map[string]string{}
	var obj []string
	for _, k := range []string{"Password", "APIKEY", "X-Api-Key", "clientSecret", "Token", "CLIENT_SECRET", "client-secret"} {
		spelled[k] = randomSecret(t)
		obj = append(obj, `"`+k+`":"`+spelled[k]+`"`)
	}
	if code, body := send("/echo", "application/json", "{"+strings.Join(obj, ",")+"}", nil); code != 200 || !strings.Contains(body, spelled["Token"]) {
		t.Fatalf("echo: %d %s", code, body) // the answer is the pipeline's business
	}

	// (d) an account secret an upstream echoes back.
	if code, body := send("/upstream", "application/json", `{}`, nil); code != 200 || !strings.Contains(body, accountKey) {
		t.Fatalf("upstream: %d %s", code, body)
	}

	if err := srv.History().Flush(ctx); err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{"administrator key": adminKey, "client secret": created.ClientSecret,
		"account key": accountKey, "Basic credential": basic}
	for k, v := range spelled {
		secrets[k] = v
	}

	// What is searched: the bbolt file, the decompressed segments, every
	// record as the API and CLI read it, and the log output.
	db, err := os.ReadFile(filepath.Join(storeDir, bolt.FileName))
	if err != nil {
		t.Fatal(err)
	}
	haystacks := map[string][]byte{"the bbolt file": db, "the log output": logs.Bytes()}
	items, err := st.List(ctx, history.Bucket, store.ListOptions{})
	if err != nil || len(items) == 0 {
		t.Fatalf("history: %d segments, %v", len(items), err)
	}
	var segments, records bytes.Buffer
	for _, it := range items {
		v := it.Value
		if len(v) > 0 && v[0] == 1 {
			if v, err = s2.Decode(nil, v[1:]); err != nil {
				t.Fatal(err)
			}
		}
		segments.Write(v)
	}
	recs, err := history.List(ctx, st, history.Filter{Limit: 1000})
	if err != nil || len(recs) < 9 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	for _, r := range recs {
		full, err := history.Get(ctx, st, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(full)
		records.Write(b)
		records.WriteByte('\n')
	}
	haystacks["the history segments"] = segments.Bytes()
	haystacks["the records"] = records.Bytes()
	for name, s := range secrets {
		quoted, _ := json.Marshal(s)
		forms := [][]byte{[]byte(s), quoted[1 : len(quoted)-1], []byte(base64.StdEncoding.EncodeToString([]byte(s))),
			[]byte(base64.RawURLEncoding.EncodeToString([]byte(s)))}
		for where, hay := range haystacks {
			for _, f := range forms {
				if i := bytes.Index(hay, f); i >= 0 {
					lo, hi := max(0, i-80), min(len(hay), i+len(f)+40)
					t.Errorf("%s found in %s: …%s…", name, where, hay[lo:hi])
					break
				}
			}
		}
	}
	// The records still say what happened.
	for _, want := range []string{`"not_stored":"a body not parsed into fields, in a pipeline with sensitive_fields"`,
		`"not_stored":"a body holding a secret Nectar knows"`, `"partnerId":"TestSystem"`, `"apikey":"***"`, `"Password":"***"`,
		`the client sent *** and ***`, `api_key=***\u0026page=2`} {
		if !bytes.Contains(records.Bytes(), []byte(want)) {
			t.Errorf("records lack %s", want)
		}
	}
	if !bytes.Contains(logs.Bytes(), []byte("upstream answered")) {
		t.Errorf("the log step did not log: %s", logs.Bytes())
	}
}
