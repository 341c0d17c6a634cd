package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/accounts/accountstest"
	"github.com/nectar-run/nectar/secret"
)

// TestAccountsSaveTestsFirst: accounts create and import test an account
// before saving it (its token, its test request) and save nothing when the
// test fails; --no-test and test_on_save: false save it untested. The new
// token-request flags reach the provider.
func TestAccountsSaveTestsFirst(t *testing.T) {
	t.Setenv(secret.EnvKey, secret.EncodeKey(secret.GenerateKey()))
	fake := accountstest.New(t)
	dir := t.TempDir()
	wrong := filepath.Join(dir, "wrong.txt")
	good := filepath.Join(dir, "secret.txt")
	os.WriteFile(wrong, []byte("wrong\n"), 0o600)
	os.WriteFile(good, []byte(accountstest.ClientSecret+"\n"), 0o600)
	dd := "--data-dir=" + filepath.Join(dir, "data")
	create := func(name, secretFile string, extra ...string) (string, int) {
		args := append([]string{dd, "accounts", "create", name, "--type", "oauth2-client-credentials", "--token-url", fake.URL + "/token",
			"--client-id", accountstest.ClientID, "--client-secret-file", secretFile, "--base-url", fake.URL,
			"--test-url", "/api/me", "--test-error-path", "ok", "--test-error-values", "false"}, extra...)
		out, errOut, code := nectar(t, "", args...)
		return out + errOut, code
	}
	if out, code := create("crm", wrong); code != 1 || !strings.Contains(out, "account crm was not saved: its test failed") ||
		!strings.Contains(out, "invalid_client") || !strings.Contains(out, "--no-test") {
		t.Fatalf("create with a wrong secret: exit %d\n%s", code, out)
	}
	if out, errOut, code := nectar(t, "", dd, "accounts", "show", "crm"); code != 1 || !strings.Contains(errOut, "unknown account") {
		t.Fatalf("the failing account was saved: exit %d %s%s", code, out, errOut)
	}
	if out, code := create("crm", wrong, "--no-test"); code != 0 || !strings.Contains(out, "created account crm") {
		t.Fatalf("create --no-test: exit %d\n%s", code, out)
	}
	before := len(fake.ReceivedAt("/token"))
	if out, code := create("crm2", good, "--token-request-header", "Content-Type=application/json",
		"--token-request-body", `{"grant_type":"client_credentials","client_id":"{{client_id}}","client_secret":"{{client_secret}}"}`,
		"--revoke-url", fake.URL+"/revoke"); code != 0 {
		t.Fatalf("create crm2: exit %d\n%s", code, out)
	}
	got := fake.ReceivedAt("/token")
	if len(got) != before+1 || got[len(got)-1].ContentType != "application/json" ||
		string(got[len(got)-1].Body) != `{"grant_type":"client_credentials","client_id":"nectar-client","client_secret":"`+accountstest.ClientSecret+`"}` {
		t.Fatalf("token requests: %d, last %+v", len(got)-before, got[len(got)-1])
	}
	if out, errOut, code := nectar(t, "", dd, "accounts", "delete", "crm2"); code != 0 || len(fake.ReceivedAt("/revoke")) != 1 {
		t.Fatalf("delete crm2: exit %d %s%s; %d revocations", code, out, errOut, len(fake.ReceivedAt("/revoke")))
	}

	t.Setenv("FAKE_TOKEN_URL", fake.URL+"/token")
	file := filepath.Join(dir, "accounts.yaml")
	os.WriteFile(file, []byte(`
accounts:
  - name: imported
    type: oauth2-client-credentials
    token_url: ${env:FAKE_TOKEN_URL}
    client_id: nectar-client
    client_secret: ${file:wrong.txt}
`), 0o600)
	if out, errOut, code := nectar(t, "", dd, "accounts", "import", file); code != 1 || !strings.Contains(errOut, "account imported was not saved") {
		t.Fatalf("import of a failing account: exit %d %s%s", code, out, errOut)
	}
	if out, errOut, code := nectar(t, "", dd, "accounts", "import", "--no-test", file); code != 0 {
		t.Fatalf("import --no-test: exit %d %s%s", code, out, errOut)
	}
	os.WriteFile(file, []byte(`
accounts:
  - name: imported2
    type: oauth2-client-credentials
    token_url: ${env:FAKE_TOKEN_URL}
    client_id: nectar-client
    client_secret: ${file:wrong.txt}
    test_on_save: false
`), 0o600)
	if out, errOut, code := nectar(t, "", dd, "accounts", "import", file); code != 0 {
		t.Fatalf("import with test_on_save: false: exit %d %s%s", code, out, errOut)
	}
}
