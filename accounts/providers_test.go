package accounts_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/accounts/accountstest"
	"github.com/nectar-run/nectar/secret"
)

// consentURL starts Authorize and returns the consent URL it prints,
// without completing the flow.
func consentURL(t *testing.T, e *env, name string) *url.URL {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var got string
	_, err := e.m.Authorize(ctx, name, accounts.AuthorizeOptions{Prompt: func(u string) { got = u; cancel() }})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Authorize: %v", err)
	}
	u, err := url.Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestBuiltinProviderConsentURLs(t *testing.T) {
	tests := []struct {
		name   string
		a      accounts.Account
		host   string
		path   string
		checks map[string]string
	}{
		{"google asks for offline access and consent", accounts.Account{Provider: "google", Scopes: []string{"https://www.googleapis.com/auth/drive"}},
			"accounts.google.com", "/o/oauth2/v2/auth",
			map[string]string{"access_type": "offline", "prompt": "consent", "scope": "https://www.googleapis.com/auth/drive", "code_challenge_method": "S256"}},
		{"microsoft adds offline_access and the tenant", accounts.Account{Provider: "microsoft", Tenant: "consumers", Scopes: []string{"Files.ReadWrite"}},
			"login.microsoftonline.com", "/consumers/oauth2/v2.0/authorize",
			map[string]string{"scope": "Files.ReadWrite offline_access", "code_challenge_method": "S256"}},
		{"microsoft defaults to the common tenant", accounts.Account{Provider: "microsoft"},
			"login.microsoftonline.com", "/common/oauth2/v2.0/authorize", map[string]string{"scope": "offline_access"}},
		{"mercado livre", accounts.Account{Provider: "mercadolivre"},
			"auth.mercadolivre.com.br", "/authorization", map[string]string{"response_type": "code"}},
	}
	e := newEnv(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := tt.a
			a.Name, a.Type, a.ClientID = "p", accounts.TypeOAuth2, "cid"
			e.create(&a)
			u := consentURL(t, e, "p")
			q := u.Query()
			if u.Host != tt.host || u.Path != tt.path || q.Get("client_id") != "cid" || q.Get("state") == "" || !strings.HasPrefix(q.Get("redirect_uri"), "http://127.0.0.1:") {
				t.Fatalf("consent URL %s", u)
			}
			for k, v := range tt.checks {
				if q.Get(k) != v {
					t.Errorf("%s = %q; want %q", k, q.Get(k), v)
				}
			}
		})
	}
}

func TestTokenInQueryLikeMercadoLivre(t *testing.T) {
	e := newEnv(t)
	if err := e.m.PutProvider(context.Background(), &accounts.Provider{
		Name: "ml-fake", AuthURL: e.fake.URL + "/authorize", TokenURL: e.fake.URL + "/token", PKCE: true,
		TokenLocation: "query", TokenParam: "access_token",
	}); err != nil {
		t.Fatal(err)
	}
	a := e.oauth2("ml")
	a.Provider = "ml-fake"
	e.create(a)
	e.authorize("ml")
	if status, body, err := e.get("ml"); err != nil || status != 200 {
		t.Fatalf("%d %s %v", status, body, err)
	}
}

func TestClientCredentialsInBasicHeader(t *testing.T) {
	e := newEnv(t)
	e.fake.Set(func(p *accountstest.Provider) { p.BasicAuth = true })
	a := e.clientCredentials("crm")
	a.ClientAuth = "basic"
	e.create(a)
	if status, _, err := e.get("crm"); err != nil || status != 200 {
		t.Fatalf("%d %v", status, err)
	}
	if f := e.fake.Forms[0]; f.Get("client_secret") != "" {
		t.Fatalf("the secret went in the body too: %v", f)
	}
}

func TestTokenErrorsAreNotStored(t *testing.T) {
	e := newEnv(t)
	a := e.clientCredentials("crm")
	a.ClientSecret = secret.New("wrong")
	e.create(a)
	_, _, err := e.get("crm")
	var te *accounts.TokenError
	if !errors.As(err, &te) || te.Code != "invalid_client" || te.Status != 401 {
		t.Fatalf("error %v", err)
	}
	if st, _ := e.m.Status(context.Background(), "crm"); st.HasToken {
		t.Fatalf("an error answer was stored as a token: %+v", st)
	}
	res, err := e.m.Test(context.Background(), "crm")
	if err != nil || res.OK || !strings.Contains(res.Problem, "client_id and client_secret") {
		t.Fatalf("Test: %+v %v", res, err)
	}
}

func TestTestRequest(t *testing.T) {
	e := newEnv(t)
	a := e.clientCredentials("crm")
	a.BaseURL = e.fake.URL + "/api"
	a.Test = &accounts.TestRequest{URL: "/me", SuccessPath: "ok", SuccessValues: []string{"true"}}
	e.create(a)
	res, err := e.m.Test(context.Background(), "crm")
	if err != nil || !res.OK || !res.Token || res.Status != 200 {
		t.Fatalf("Test: %+v %v", res, err)
	}
	a.Test.SuccessValues = []string{"yes"}
	e.create(a)
	res, err = e.m.Test(context.Background(), "crm")
	if err != nil || res.OK || !strings.Contains(res.Problem, `ok is "true"`) {
		t.Fatalf("Test with other success values: %+v %v", res, err)
	}
}

func TestGoogleServiceAccount(t *testing.T) {
	e := newEnv(t)
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	sa, _ := json.Marshal(map[string]string{
		"type": "service_account", "client_email": "bot@project.iam.gserviceaccount.com",
		"private_key": string(pemKey), "private_key_id": "kid-1", "token_uri": e.fake.URL + "/token",
	})
	e.create(&accounts.Account{Name: "gsa", Type: accounts.TypeGoogleServiceAccount, ServiceAccountKey: secret.New(string(sa)),
		Scopes: []string{"https://www.googleapis.com/auth/drive"}, Subject: "ada@example.com",
		// The fake API stands for *.googleapis.com.
		AllowedHosts: []string{"127.0.0.1"}})
	if status, body, err := e.get("gsa"); err != nil || status != 200 {
		t.Fatalf("%d %s %v", status, body, err)
	}
	form := e.fake.Forms[0]
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(form.Get("assertion"), claims, func(*jwt.Token) (any, error) { return &key.PublicKey, nil },
		jwt.WithAudience(e.fake.URL+"/token"), jwt.WithIssuedAt(), jwt.WithTimeFunc(e.clock.now))
	if err != nil || claims["iss"] != "bot@project.iam.gserviceaccount.com" || claims["sub"] != "ada@example.com" || claims["scope"] != "https://www.googleapis.com/auth/drive" {
		t.Fatalf("assertion %v %v", claims, err)
	}
	if form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" || form.Get("client_secret") != "" {
		t.Fatalf("form %v", form)
	}
}
