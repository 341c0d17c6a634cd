package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/accounts/accountstest"
	"github.com/nectar-run/nectar/internal/accountsapi"
	"github.com/nectar-run/nectar/secret"
	"github.com/nectar-run/nectar/store/bolt"
)

// nectar runs the command line in-process and returns its output (shared by
// the command tests of this package).
func nectar(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(args, strings.NewReader(stdin), &out, &errOut)
	return out.String(), errOut.String(), code
}

func TestAccountsCommands(t *testing.T) {
	t.Setenv(secret.EnvKey, "")
	os.Unsetenv(secret.EnvKey)
	fake := accountstest.New(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	secretFile := filepath.Join(dir, "secret.txt")
	os.WriteFile(secretFile, []byte(accountstest.ClientSecret+"\n"), 0o600)
	dd := "--data-dir=" + data

	steps := []struct {
		args     []string
		wantCode int
		want     []string
	}{
		{[]string{"accounts", "create", "crm", "--type", "oauth2-client-credentials", "--token-url", fake.URL + "/token",
			"--client-id", accountstest.ClientID, "--client-secret-file", secretFile, "--scope", "contacts.read contacts.write",
			"--base-url", fake.URL + "/api", "--test-url", "/me", "--test-success-path", "ok", "--test-success-values", "true"}, 0, []string{"created account crm"}},
		{[]string{"accounts", "create", "crm", "--type", "bearer", "--token-env", "NOPE_UNSET"}, 1, []string{"NOPE_UNSET is not set"}},
		{[]string{"providers", "add", "fake", "--auth-url", fake.URL + "/authorize", "--token-url", fake.URL + "/token"}, 0, []string{"saved provider fake"}},
		{[]string{"providers", "list"}, 0, []string{"google", "microsoft", "mercadolivre", "fake", "custom"}},
		{[]string{"providers", "show", "google"}, 0, []string{"access_type: offline", "builtin: true"}},
		{[]string{"accounts", "create", "drive", "--type", "oauth2", "--provider", "fake", "--client-id", accountstest.ClientID,
			"--client-secret-file", secretFile, "--scope", "drive", "--allowed-host", hostOf(fake.URL)}, 0, []string{"nectar accounts authorize drive"}},
		{[]string{"accounts", "create", "bad", "--type", "bearer", "--token-file", secretFile, "--allowed-host", "https://x.example/api"}, 1, []string{"allowed_hosts", "no path"}},
		{[]string{"accounts", "test", "crm"}, 0, []string{"token: ok", "-> 200", "account crm works"}},
		{[]string{"accounts", "test", "drive"}, 1, []string{"nectar accounts authorize drive"}},
		{[]string{"accounts", "list"}, 0, []string{"crm", "oauth2-client-credentials", "token until", "drive", "not authorized"}},
		{[]string{"accounts", "show", "crm"}, 0, []string{"client_secret: '***'", "token_sha256_prefix"}},
		{[]string{"accounts", "show", "crm", "--json"}, 0, []string{`"client_secret": "***"`}},
		{[]string{"accounts", "show", "drive"}, 0, []string{"allowed_hosts:", "credentials_go_to: " + hostOf(fake.URL)}},
		{[]string{"accounts", "show", "crm", "--json"}, 0, []string{`"credentials_go_to": [`, `"http://` + hostOf(fake.URL) + `"`}},
		{[]string{"accounts", "show", "nope"}, 1, []string{"unknown account"}},
	}
	var outputs []string
	for _, s := range steps {
		out, errOut, code := nectar(t, "", append([]string{dd}, s.args...)...)
		outputs = append(outputs, out, errOut)
		all := out + errOut
		if code != s.wantCode {
			t.Fatalf("nectar %s: exit %d; want %d\n%s", strings.Join(s.args, " "), code, s.wantCode, all)
		}
		for _, w := range s.want {
			if !strings.Contains(all, w) {
				t.Fatalf("nectar %s: output lacks %q:\n%s", strings.Join(s.args, " "), w, all)
			}
		}
	}

	// authorize: the test reads the consent URL and acts as the browser.
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	var errOut bytes.Buffer
	go func() {
		done <- Main([]string{dd, "accounts", "authorize", "drive", "--timeout", "20s"}, strings.NewReader(""), pw, &errOut)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var transcript strings.Builder
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		transcript.WriteString(line + "\n")
		if strings.HasPrefix(line, fake.URL+"/authorize?") {
			resp, err := http.Get(line)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
	}
	if code := <-done; code != 0 || !strings.Contains(transcript.String(), "authorized drive") {
		t.Fatalf("authorize: exit %d\n%s%s", code, transcript.String(), errOut.String())
	}
	outputs = append(outputs, transcript.String())

	// A pipeline step uses the account.
	pipeline := filepath.Join(dir, "call.yaml")
	os.WriteFile(pipeline, []byte(`name: call
steps:
  - rest:
      url: "`+fake.URL+`/api/files"
      account: drive
      stop_on_client_error: true
`), 0o600)
	out, errText, code := nectar(t, "{}", dd, "run", pipeline)
	if code != 0 || !strings.Contains(out, `"ok":true`) {
		t.Fatalf("run: exit %d\n%s%s", code, out, errText)
	}
	outputs = append(outputs, out, errText)

	// #19.1: nectar run with a URL from the message that points at another
	// host fails before the token is attached.
	var elsewhere atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	t.Cleanup(other.Close)
	os.WriteFile(pipeline, []byte(`name: call
steps:
  - rest: {url: "{{ message.callback_url }}", account: drive, retries: 0}
`), 0o600)
	out, errText, code = nectar(t, `{"callback_url":"`+other.URL+`/exfil"}`, dd, "run", pipeline)
	if code == 0 || !strings.Contains(errText, "may not send its credentials to "+hostOf(other.URL)) || !strings.Contains(errText, "allowed_hosts") || elsewhere.Load() != 0 {
		t.Fatalf("run to another host: exit %d, %d requests there\n%s%s", code, elsewhere.Load(), out, errText)
	}
	outputs = append(outputs, out, errText)

	out, errText, code = nectar(t, "", dd, "accounts", "rotate-key")
	// 2 accounts, 2 tokens, 1 provider (sealed since issue #19)
	if code != 0 || !strings.Contains(out, "resealed 5 values") {
		t.Fatalf("rotate-key: exit %d\n%s%s", code, out, errText)
	}
	if out, _, code := nectar(t, "", dd, "accounts", "test", "crm"); code != 0 {
		t.Fatalf("after rotate-key: %s", out)
	}
	if out, _, code := nectar(t, "", dd, "accounts", "delete", "crm"); code != 0 || !strings.Contains(out, "deleted account crm") {
		t.Fatalf("delete: %s", out)
	}

	noSecretIn(t, data, outputs, append(fake.IssuedSecrets(), accountstest.ClientSecret)...)
}

func TestAccountsImport(t *testing.T) {
	t.Setenv(secret.EnvKey, secret.EncodeKey(secret.GenerateKey()))
	fake := accountstest.New(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "secret.txt"), []byte(accountstest.ClientSecret), 0o600)
	t.Setenv("FAKE_TOKEN_URL", fake.URL+"/token")
	file := filepath.Join(dir, "accounts.yaml")
	os.WriteFile(file, []byte(`
accounts:
  - name: crm
    type: oauth2-client-credentials
    token_url: ${env:FAKE_TOKEN_URL}
    client_id: nectar-client
    client_secret: ${file:secret.txt}
`), 0o600)
	dd := "--data-dir=" + filepath.Join(dir, "data")
	out, errOut, code := nectar(t, "", dd, "accounts", "import", file)
	if code != 0 || !strings.Contains(out, "imported 0 providers and 1 accounts: crm") {
		t.Fatalf("import: %d %s%s", code, out, errOut)
	}
	if out, errOut, code := nectar(t, "", dd, "accounts", "test", "crm"); code != 0 || !strings.Contains(out, "token: ok") {
		t.Fatalf("test: %d %s%s", code, out, errOut)
	}
	if _, errOut, code := nectar(t, "", dd, "accounts", "rotate-key"); code == 0 || !strings.Contains(errOut, "--new-key-file") {
		t.Fatalf("rotate-key with the key in the environment: %d %s", code, errOut)
	}
}

// hostOf is the host:port of a test server's URL.
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		panic(err)
	}
	return u.Host
}

// TestAccountsListingMasksAndFlagsUnreadable: token_params and
// token_headers values (often keys) are masked by accounts show, list
// --json and GET /api/accounts; an unreadable account record is flagged
// while the others are still listed.
func TestAccountsListingMasksAndFlagsUnreadable(t *testing.T) {
	t.Setenv(secret.EnvKey, "")
	os.Unsetenv(secret.EnvKey)
	fake := accountstest.New(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	secretFile := filepath.Join(dir, "secret.txt")
	os.WriteFile(secretFile, []byte(accountstest.ClientSecret+"\n"), 0o600)
	dd := "--data-dir=" + data
	for _, name := range []string{"crm", "zeta"} {
		if out, errOut, code := nectar(t, "", dd, "accounts", "create", name, "--type", "oauth2-client-credentials", "--token-url", fake.URL+"/token",
			"--client-id", accountstest.ClientID, "--client-secret-file", secretFile,
			"--token-request-param", "audience=aud-secret-1", "--token-request-header", "X-Api-Key=hdr-secret-2"); code != 0 {
			t.Fatalf("create %s: %s%s", name, out, errOut)
		}
	}
	st, err := bolt.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(context.Background(), "accounts", "broken", []byte("not a sealed record")); err != nil {
		t.Fatal(err)
	}
	st.Close()

	var outputs []string
	for _, args := range [][]string{{"accounts", "list"}, {"accounts", "list", "--json"}, {"accounts", "show", "crm"}, {"accounts", "show", "crm", "--json"}} {
		out, errOut, code := nectar(t, "", append([]string{dd}, args...)...)
		if code != 0 {
			t.Fatalf("nectar %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
		}
		if args[1] == "list" && (!strings.Contains(out, "crm") || !strings.Contains(out, "zeta") || !strings.Contains(out, "broken") || !strings.Contains(out, "unreadable")) {
			t.Fatalf("nectar %s does not list the readable accounts and flag the broken one:\n%s%s", strings.Join(args, " "), out, errOut)
		}
		outputs = append(outputs, out+errOut)
	}

	st, err = bolt.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	sealer, _, err := secret.Load(data)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	accountsapi.Mounts(accounts.NewManager(st, sealer), slog.New(slog.DiscardHandler))[0].Handler.ServeHTTP(rec, httptest.NewRequest("GET", "/api/accounts", nil))
	api := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(api, `"crm"`) || !strings.Contains(api, `"broken"`) || !strings.Contains(api, "unreadable") {
		t.Fatalf("GET /api/accounts: %d %s", rec.Code, api)
	}
	outputs = append(outputs, api)
	for _, o := range outputs {
		for _, s := range []string{"aud-secret-1", "hdr-secret-2", accountstest.ClientSecret} {
			if strings.Contains(o, s) {
				t.Errorf("output shows %q:\n%s", s, o)
			}
		}
	}
}

// noSecretIn fails t when the bbolt file of the data directory or one of
// the outputs holds one of the secrets in clear.
func noSecretIn(t *testing.T, dataDir string, outputs []string, secrets ...string) {
	t.Helper()
	db, err := os.ReadFile(filepath.Join(dataDir, bolt.FileName))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range secrets {
		if bytes.Contains(db, []byte(s)) {
			t.Errorf("the bbolt file holds %q in clear", s)
		}
		for _, o := range outputs {
			if strings.Contains(o, s) {
				t.Errorf("output shows %q:\n%s", s, o)
			}
		}
	}
}
