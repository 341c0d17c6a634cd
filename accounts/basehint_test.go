package accounts_test

import (
	"context"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/accounts/accountstest"
)

// TestNoRefreshTokenAdviceOfBasedProvider authorizes an account whose
// provider was made with `nectar providers add work-google --base google`
// (its URLs pointed at the fake), when the provider issues no refresh
// token: the advice is Google's, as for the built-in google provider.
func TestNoRefreshTokenAdviceOfBasedProvider(t *testing.T) {
	e := newEnv(t)
	e.fake.Set(func(p *accountstest.Provider) { p.NoRefreshToken = true })
	p, ok := accounts.BuiltinProvider("google")
	if !ok {
		t.Fatal("no built-in google provider")
	}
	p.Name, p.AuthURL, p.TokenURL = "work-google", e.fake.URL+"/authorize", e.fake.URL+"/token"
	if err := e.m.PutProvider(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	a := e.oauth2("drive")
	a.Provider = "work-google"
	e.create(a)
	res := e.authorize("drive")
	for _, want := range []string{"https://myaccount.google.com/permissions", "access_type=offline and prompt=consent", "nectar accounts authorize drive"} {
		if !strings.Contains(res.Warning, want) {
			t.Errorf("advice lacks %q: %s", want, res.Warning)
		}
	}
}
