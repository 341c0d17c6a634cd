package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/secret"
)

// TestHostileRunOutputMasksSecrets: nectar run, on its own and with
// --trace, prints a failed execution's error on standard error. An API
// that refuses the account's token echoes it back in its error body (the
// error's body field) and a sensitive header the step sent from the
// message; a jwt step's signed token is repeated in a throw message. The
// account's token, the header's value and the signed token appear nowhere
// in what nectar run prints, as POST /api/run already masked the runtime's
// secrets in the message (not in the error's fields).
func TestHostileRunOutputMasksSecrets(t *testing.T) {
	t.Setenv(secret.EnvKey, "")
	os.Unsetenv(secret.EnvKey)
	token := "acct-bearer-token-0012"
	sent := "sent-header-key-0013"
	t.Setenv("T2_RUN_TOKEN", token)
	t.Setenv("NECTAR_JWT_T2_RUN_SECRET", strings.Repeat("run-key-", 6))
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid credentials " + r.Header.Get("Authorization") + " " + r.Header.Get("X-Api-Key")})
	}))
	defer up.Close()
	dir := t.TempDir()
	dd := "--data-dir=" + filepath.Join(dir, "data")
	if out, errOut, code := nectar(t, "", dd, "accounts", "create", "partner", "--type", "bearer", "--token-env", "T2_RUN_TOKEN", "--base-url", up.URL); code != 0 {
		t.Fatalf("accounts create: %d %s%s", code, out, errOut)
	}
	refused := filepath.Join(dir, "refused.yaml")
	os.WriteFile(refused, []byte(`name: refused
steps:
  - rest: {url: "`+up.URL+`/v1/me", account: partner, headers: {X-Api-Key: "{{ message.k }}"}, stop_on_client_error: true}
`), 0o600)
	thrown := filepath.Join(dir, "thrown.yaml")
	os.WriteFile(thrown, []byte(`name: thrown
steps:
  - jwt: {operation: sign, account: t2-run, algorithm: HS256, subject: ada}
    to: vars.sig
  - throw: {status: 502, error: "refused {{ vars.sig.jws }}"}
`), 0o600)
	for _, trace := range [][]string{nil, {"--trace"}} {
		out, errOut, code := nectar(t, `{"k":"`+sent+`"}`, append([]string{dd, "run", refused}, trace...)...)
		if code != 1 || !strings.Contains(errOut, "invalid credentials") {
			t.Fatalf("run %v: exit %d\n%s%s", trace, code, out, errOut)
		}
		for _, s := range []string{token, sent} {
			if strings.Contains(out+errOut, s) {
				t.Errorf("run %v prints %q:\n%s%s", trace, s, out, errOut)
			}
		}
		out, errOut, code = nectar(t, `{}`, append([]string{dd, "run", thrown}, trace...)...)
		if code != 1 || !strings.Contains(errOut, "refused ***") {
			t.Errorf("run %v: exit %d, want the signed token masked:\n%s%s", trace, code, out, errOut)
		}
	}
}
