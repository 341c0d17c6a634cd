package gdrive_test

import (
	"testing"

	"github.com/nectar-run/nectar/connectors/files/filestest"
)

// TestTokenGoesOnlyToTheAccountsHosts: a step whose base_url points
// elsewhere than the account's hosts (the google provider's
// *.googleapis.com, or the account's own base_url) fails before the token
// is sent.
func TestTokenGoesOnlyToTheAccountsHosts(t *testing.T) {
	e := newEnv(t)
	filestest.HostRule(t, e.Env, "google", "*.googleapis.com", "https://www.googleapis.com", e.drive.URL, e.load,
		func(account string) string {
			return "  - google-drive:\n      operation: list\n      account: " + account + "\n      base_url: FAKE\n      upload_base_url: FAKE\n"
		}, e.drive.Log)
}
