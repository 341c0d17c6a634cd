package pipelines_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gojwt "github.com/golang-jwt/jwt/v5"

	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/pipelines"
	"github.com/nectar-run/nectar/store/bolt"
)

// TestLifecycle walks the reference's whole flow over HTTP: create → token
// → API call → refresh → old refresh refused → reuse revokes the family →
// delete → tokens refused; then checks the secret is nowhere at rest.
func TestLifecycle(t *testing.T) {
	t.Setenv("NECTAR_CREDENTIALS_APIKEY", adminKey)
	n := startNectar(t)
	c := n.createClient(t, nil) // the default role: salesperson
	first := n.token(t, c)

	a := n.customer(t, "c-1", first.access)
	if a.status != 200 {
		t.Fatalf("API call: %d %s", a.status, a.body)
	}
	if got := keysOf(t, a.body); got != "id,profile" {
		t.Errorf("a salesperson sees %s, want id,profile: %s", got, a.body)
	}

	second := tokensOf(t, n.refresh(t, first.refresh))
	if a := n.customer(t, "c-1", second.access); a.status != 200 {
		t.Fatalf("API call with the refreshed token: %d %s", a.status, a.body)
	}
	if a := n.customer(t, "c-1", first.access); a.status != 200 {
		t.Errorf("the first access token stays valid until the family is revoked: %d %s", a.status, a.body)
	}

	a = n.refresh(t, first.refresh)
	if a.status != 400 || a.json(t)["error"] != "invalid_grant" {
		t.Fatalf("a used refresh token: %d %s, want 400 invalid_grant", a.status, a.body)
	}
	// Reuse revoked the family: the current pair is dead too.
	if a := n.refresh(t, second.refresh); a.status != 400 {
		t.Errorf("the family's current refresh token after reuse: %d %s, want 400", a.status, a.body)
	}
	for name, tok := range map[string]string{"first": first.access, "second": second.access} {
		if a := n.customer(t, "c-1", tok); a.status != 401 || !strings.Contains(a.body, "revoked") {
			t.Errorf("%s access token after reuse: %d %s, want 401 revoked", name, a.status, a.body)
		}
	}

	// A fresh family for the same client works until the client is deleted.
	third := n.token(t, c)
	if a := n.customer(t, "c-1", third.access); a.status != 200 {
		t.Fatalf("a new family: %d %s", a.status, a.body)
	}
	a = n.postJSON(t, "/credential-provider", map[string]any{"clientId": c.id, "executionType": "delete", "apikey": adminKey}, nil)
	if a.status != 200 || a.body != `{"code":200,"message":"Success when deleting client credentials for the clientId: `+c.id+`"}` {
		t.Fatalf("delete: %d %s", a.status, a.body)
	}
	if a := n.customer(t, "c-1", third.access); a.status != 401 || !strings.Contains(a.body, "deleted") {
		t.Errorf("access token after delete: %d %s, want 401", a.status, a.body)
	}
	if a := n.refresh(t, third.refresh); a.status != 400 || !strings.Contains(a.body, "deleted") {
		t.Errorf("refresh after delete: %d %s, want 400", a.status, a.body)
	}
	if a := n.postJSON(t, "/credential-provider", map[string]any{"grant_type": "client_credentials", "username": c.id, "password": c.secret}, nil); a.status != 401 {
		t.Errorf("token after delete: %d %s, want 401", a.status, a.body)
	}

	n.stop() // flush the history into the store
	db, err := os.ReadFile(filepath.Join(n.storeDir, bolt.FileName))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(db), "oauth-clients") || !strings.Contains(string(db), "credential-provider") {
		t.Fatal("the store file holds neither the clients nor the execution records; the grep below proves nothing")
	}
	if strings.Contains(string(db), c.secret) {
		t.Error("the client secret is in the store file")
	}
	if strings.Contains(n.logs.String(), c.secret) {
		t.Error("the client secret is in the logs")
	}
	if strings.Contains(string(db), adminKey) || strings.Contains(n.logs.String(), adminKey) {
		t.Error("the administrator key is in the store file or the logs")
	}
	// Execution records are stored compressed, where a grep of the file
	// could miss a secret: read each one back whole.
	st, err := bolt.Open(n.storeDir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := t.Context()
	list, err := history.List(ctx, st, history.Filter{Limit: 1000})
	if err != nil || len(list) < 8 {
		t.Fatalf("%d execution records, %v; want the whole flow's", len(list), err)
	}
	masked := false
	for _, r := range list {
		rec, err := history.Get(ctx, st, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(rec)
		if strings.Contains(string(b), c.secret) || strings.Contains(string(b), adminKey) {
			t.Errorf("execution record %s (%s) holds a secret: %s", rec.ID, rec.Pipeline, b)
		}
		// Nor a token issued: the steps' snapshots keep what each step
		// returned, a signed token before it is placed under access_token.
		for _, tok := range []string{first.access, first.refresh, second.access, second.refresh, third.access, third.refresh} {
			if strings.Contains(string(b), tok) {
				t.Errorf("execution record %s (%s) holds an issued token: %s", rec.ID, rec.Pipeline, b)
			}
		}
		masked = masked || strings.Contains(string(b), `"clientSecret":"***"`)
	}
	if !masked {
		t.Error("no record shows the masked client secret of the create call; the check above proves little")
	}
}

// TestRefused checks each bad credential or token is refused with its status.
func TestRefused(t *testing.T) {
	t.Setenv("NECTAR_CREDENTIALS_APIKEY", adminKey)
	n := startNectar(t)
	c := n.createClient(t, map[string]any{"role": "admin"})
	good := n.token(t, c)
	claims := decodeClaims(t, good.access)

	ctx := t.Context()
	hsKey := func(account string) []byte {
		a, err := n.am.Get(ctx, account)
		if err != nil {
			t.Fatal(err)
		}
		return []byte(a.Token.Reveal())
	}
	accessKey, refreshKey := hsKey(pipelines.AccessTokenAccount), hsKey(pipelines.RefreshTokenAccount)
	sign := func(method gojwt.SigningMethod, typ string, key any, edit func(gojwt.MapClaims)) string {
		mc := gojwt.MapClaims{}
		for k, v := range claims {
			mc[k] = v
		}
		if edit != nil {
			edit(mc)
		}
		tok := gojwt.NewWithClaims(method, mc)
		tok.Header["typ"] = typ
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	if a := n.customer(t, "c-1", sign(gojwt.SigningMethodHS256, "at+jwt", accessKey, nil)); a.status != 200 {
		t.Fatalf("a token signed as Nectar signs is accepted (or the cases below prove nothing): %d %s", a.status, a.body)
	}
	parts := strings.Split(good.access, ".")
	apiCases := []struct{ name, token string }{
		{"expired", sign(gojwt.SigningMethodHS256, "at+jwt", accessKey, func(m gojwt.MapClaims) {
			m["exp"] = time.Now().Add(-time.Hour).Unix()
		})},
		{"tampered signature", parts[0] + "." + parts[1] + "." + flip(parts[2])},
		{"tampered claims", parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"client_id":"`+c.id+`","scope":"profile address banking","fam":"x","exp":9999999999,"iss":"nectar"}`)) + "." + parts[2]},
		{"alg none", none(claims)},
		{"RS256", sign(gojwt.SigningMethodRS256, "at+jwt", rsaKey, nil)},
		{"HS512 with the access key", sign(gojwt.SigningMethodHS512, "at+jwt", accessKey, nil)},
		{"signed with the refresh key", sign(gojwt.SigningMethodHS256, "at+jwt", refreshKey, nil)},
		{"refresh token as access token", good.refresh},
		{"typ refresh+jwt with the access key", sign(gojwt.SigningMethodHS256, "refresh+jwt", accessKey, nil)},
		{"another issuer", sign(gojwt.SigningMethodHS256, "at+jwt", accessKey, func(m gojwt.MapClaims) { m["iss"] = "evil" })},
		{"garbage", "not-a-jwt"},
		{"empty", ""},
	}
	for _, tc := range apiCases {
		t.Run("API/"+tc.name, func(t *testing.T) {
			a := n.customer(t, "c-1", tc.token)
			if a.status != 401 || a.json(t)["error"] != "invalid_token" || !strings.HasPrefix(a.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%d %v %s, want 401 invalid_token with WWW-Authenticate", a.status, a.header, a.body)
			}
		})
	}

	grantCases := []struct {
		name   string
		in     map[string]any
		status int
		error  string
	}{
		{"wrong secret", map[string]any{"grant_type": "client_credentials", "username": c.id, "password": c.secret + "x"}, 401, "invalid_client"},
		{"unknown client", map[string]any{"grant_type": "client_credentials", "username": "nobody", "password": c.secret}, 401, "invalid_client"},
		{"no secret", map[string]any{"grant_type": "client_credentials", "username": c.id}, 401, "invalid_client"},
		{"access token as refresh token", map[string]any{"grant_type": "refresh_token", "refresh_token": good.access}, 400, "invalid_grant"},
		{"refresh token signed with the access key", map[string]any{"grant_type": "refresh_token", "refresh_token": sign(gojwt.SigningMethodHS512, "refresh+jwt", append(accessKey, accessKey...), func(m gojwt.MapClaims) { m["gen"] = 0 })}, 400, "invalid_grant"},
		{"expired refresh token", map[string]any{"grant_type": "refresh_token", "refresh_token": sign(gojwt.SigningMethodHS512, "refresh+jwt", refreshKey, func(m gojwt.MapClaims) {
			m["gen"] = 0
			m["exp"] = time.Now().Add(-time.Hour).Unix()
		})}, 400, "invalid_grant"},
		{"no refresh token", map[string]any{"grant_type": "refresh_token"}, 400, "invalid_request"},
		{"unknown grant", map[string]any{"grant_type": "password", "username": c.id, "password": c.secret}, 400, "unsupported_grant_type"},
		{"scope not granted", map[string]any{"grant_type": "client_credentials", "client_id": c.id, "client_secret": c.secret, "scope": "profile payroll"}, 400, "invalid_scope"},
	}
	for _, tc := range grantCases {
		t.Run("grant/"+tc.name, func(t *testing.T) {
			if tc.name == "scope not granted" {
				// the credential provider's payload has no scope; the token endpoint does
				a := n.postForm(t, "/oauth/token", form(tc.in), nil)
				if a.status != tc.status || a.json(t)["error"] != tc.error {
					t.Errorf("%d %s, want %d %s", a.status, a.body, tc.status, tc.error)
				}
				return
			}
			a := n.postJSON(t, "/credential-provider", tc.in, nil)
			if a.status != tc.status || a.json(t)["error"] != tc.error {
				t.Errorf("%d %s, want %d %s", a.status, a.body, tc.status, tc.error)
			}
		})
	}

	adminCases := []struct {
		name   string
		in     map[string]any
		status int
	}{
		{"create with a wrong API key", map[string]any{"partnerId": "p", "executionType": "create", "apikey": adminKey + "x"}, 401},
		{"create without an API key", map[string]any{"partnerId": "p", "executionType": "create"}, 401},
		{"delete with a wrong API key", map[string]any{"clientId": c.id, "executionType": "delete", "apikey": "nope"}, 401},
		{"create without partnerId", map[string]any{"executionType": "create", "apikey": adminKey}, 400},
		{"create with an unknown role", map[string]any{"partnerId": "p", "executionType": "create", "apikey": adminKey, "role": "pirate"}, 400},
		{"create with an unknown scope", map[string]any{"partnerId": "p", "executionType": "create", "apikey": adminKey, "scope": "profile payroll"}, 400},
		{"delete an unknown client", map[string]any{"clientId": "nobody", "executionType": "delete", "apikey": adminKey}, 404},
		{"no executionType nor grant_type", map[string]any{"partnerId": "p"}, 400},
	}
	for _, tc := range adminCases {
		t.Run("admin/"+tc.name, func(t *testing.T) {
			a := n.postJSON(t, "/credential-provider", tc.in, nil)
			if a.status != tc.status {
				t.Errorf("%d %s, want %d", a.status, a.body, tc.status)
			}
			if m := a.json(t); m["error"] == nil || m["code"] == nil {
				t.Errorf("want a JSON error body {timestamp, error, code}, got %s", a.body)
			}
		})
	}
	if a := n.customer(t, "c-1", good.access); a.status != 200 || keysOf(t, a.body) != "id,profile,address,banking" {
		t.Errorf("after all that, the admin's token still works and sees everything: %d %s", a.status, a.body)
	}
}

// TestAdminKeyFromAccount uses the account credential-provider when
// NECTAR_CREDENTIALS_APIKEY is not set.
func TestAdminKeyFromAccount(t *testing.T) {
	t.Setenv("NECTAR_CREDENTIALS_APIKEY", "")
	n := startNectar(t)
	in := map[string]any{"partnerId": "p", "executionType": "create", "apikey": "from-account-key"}
	if a := n.postJSON(t, "/credential-provider", in, nil); a.status != 503 || !strings.Contains(a.body, "NECTAR_CREDENTIALS_APIKEY") {
		t.Errorf("no key configured: %d %s, want 503 saying how to configure one", a.status, a.body)
	}
	createAPIKeyAccount(t, n, "credential-provider", "from-account-key")
	if a := n.postJSON(t, "/credential-provider", in, nil); a.status != 200 {
		t.Errorf("key from the account: %d %s", a.status, a.body)
	}
	in["apikey"] = "wrong"
	if a := n.postJSON(t, "/credential-provider", in, nil); a.status != 401 {
		t.Errorf("wrong key: %d %s", a.status, a.body)
	}
}

func flip(sig string) string {
	b := []byte(sig)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}

func none(claims map[string]any) string {
	tok := gojwt.NewWithClaims(gojwt.SigningMethodNone, gojwt.MapClaims(claims))
	tok.Header["typ"] = "at+jwt"
	s, _ := tok.SignedString(gojwt.UnsafeAllowNoneSignatureType)
	return s
}

func decodeClaims(t testing.TB, tok string) map[string]any {
	t.Helper()
	mc := gojwt.MapClaims{}
	if _, _, err := gojwt.NewParser().ParseUnverified(tok, mc); err != nil {
		t.Fatal(err)
	}
	return mc
}

var _ = http.StatusOK
