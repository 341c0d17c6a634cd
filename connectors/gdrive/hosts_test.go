package gdrive_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/connectors/files/filestest"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/secret"
)

// TestTokenGoesOnlyToTheAccountsHosts: a step whose base_url points
// elsewhere than the account's hosts (the google provider's *.googleapis.com, or the
// account's own base_url) fails before the token is sent.
func TestTokenGoesOnlyToTheAccountsHosts(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.M.Put(ctx, &accounts.Account{Name: "viaprovider", Type: accounts.TypeOAuth2, Provider: "google", ClientID: "id"}); err != nil {
		t.Fatal(err)
	}
	if err := e.M.Put(ctx, &accounts.Account{Name: "pinned", Type: accounts.TypeBearer, Token: secret.New(filestest.Token), BaseURL: "https://www.googleapis.com"}); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(e.drive.URL)
	for _, name := range []string{"viaprovider", "pinned"} {
		t.Run(name, func(t *testing.T) {
			p := e.load("  - google-drive:\n      operation: list\n      account: " + name + "\n      base_url: FAKE\n      upload_base_url: FAKE\n")
			_, err := e.Run(p, `{}`)
			ee := engine.AsError(err)
			if ee == nil || ee.Code != 403 || !strings.Contains(ee.Message, u.Host) || !strings.Contains(ee.Message, "allowed_hosts") || (name == "viaprovider" && !strings.Contains(ee.Message, "*.googleapis.com")) {
				t.Fatalf("error %v; want a 403 naming the host and allowed_hosts", err)
			}
		})
	}
	if log := e.drive.Log(); len(log) != 0 {
		t.Fatalf("the fake got requests: %v", log)
	}
}
