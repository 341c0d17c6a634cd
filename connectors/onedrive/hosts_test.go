package onedrive_test

import (
	"testing"

	"github.com/nectar-run/nectar/connectors/files/filestest"
)

// TestTokenGoesOnlyToTheAccountsHosts: a step whose base_url points
// elsewhere than the account's hosts (the microsoft provider's
// graph.microsoft.com, or the account's own base_url) fails before the
// token is sent.
func TestTokenGoesOnlyToTheAccountsHosts(t *testing.T) {
	e := newEnv(t)
	filestest.HostRule(t, e.Env, "microsoft", "graph.microsoft.com", "https://graph.microsoft.com/v1.0", e.graph.URL, e.load,
		func(account string) string {
			return "  - onedrive:\n      operation: list\n      account: " + account + "\n      base_url: FAKE\n"
		}, e.graph.Log)
}
