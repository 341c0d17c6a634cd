package accountsapi_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/internal/accountsapi"
	"github.com/nectar-run/nectar/secret"
	"github.com/nectar-run/nectar/store/bolt"
)

// serve mounts the accounts API over a bbolt store in a temporary folder on
// a loopback server.
func serve(t *testing.T) *httptest.Server {
	t.Helper()
	st, err := bolt.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, err := secret.NewSealer(secret.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	for _, m := range accountsapi.Mounts(accounts.NewManager(st, sealer), slog.New(slog.DiscardHandler)) {
		mux.Handle(m.Pattern, m.Handler)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, srv *httptest.Server, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// An account saved through the API takes its secret from "secrets" only;
// no answer shows it, and errors are the standard object with the status of
// the manager's sentinel.
func TestAccountsAPI(t *testing.T) {
	srv := serve(t)
	wire, _ := json.Marshal(accountsapi.WireOf(&accounts.Account{Name: "crm", Type: accounts.TypeAPIKey, APIKey: secret.New("key-4711"), KeyName: "X-Key"}))
	if code, body := do(t, srv, "POST", accountsapi.Path("crm")+"?test=false", string(wire)); code != 201 {
		t.Fatalf("POST: %d %s", code, body)
	}
	for _, path := range []string{"/api/accounts", accountsapi.Path("crm")} {
		code, body := do(t, srv, "GET", path, "")
		if code != 200 || !strings.Contains(body, `"crm"`) || strings.Contains(body, "key-4711") {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
	}
	for _, c := range []struct {
		name, method, path, body string
		code                     int
	}{
		{"unknown account", "GET", accountsapi.Path("nope"), "", 404},
		{"exists", "POST", accountsapi.Path("crm") + "?test=false", string(wire), 409},
		{"body names another account", "PUT", accountsapi.Path("other") + "?test=false", string(wire), 400},
		{"unknown field", "PUT", accountsapi.Path("crm"), `{"name":"crm","colour":"red"}`, 400},
		{"secret that is no field", "PUT", accountsapi.Path("crm"), `{"name":"crm","type":"api-key","secrets":{"nope":"x"}}`, 400},
		{"provider named twice", "PUT", "/api/providers/a", `{"name":"b"}`, 400},
	} {
		code, body := do(t, srv, c.method, c.path, c.body)
		var e struct {
			Error string `json:"error"`
			Code  int    `json:"code"`
		}
		if code != c.code || json.Unmarshal([]byte(body), &e) != nil || e.Code != c.code || e.Error == "" {
			t.Errorf("%s: %d %s, want %d and the error object", c.name, code, body, c.code)
		}
	}
}
