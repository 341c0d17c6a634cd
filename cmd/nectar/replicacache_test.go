package main_test

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/nectar-run/nectar/store/postgres"
)

// TestReplicasDeletedClientRefused: two replicas serve the shipped token
// endpoint on one PostgreSQL database, each answering the client's reads
// from its cache (the oauth-clients collection is declared read-mostly).
// A client deleted through replica 1 is refused by replica 2, whose cache
// held it: normally at once (the delete's notification), and in any case
// for every request that starts once the cache's bound has passed since the
// delete answered.
func TestReplicasDeletedClientRefused(t *testing.T) {
	c := newCluster(t)
	dir := t.TempDir()
	r1, r2 := c.start("r1", dir), c.start("r2", dir)

	code, body := post(t, r1.base+"/credential-provider", "application/json",
		`{"partnerId":"acme","executionType":"create","apikey":"`+credentialsKey+`"}`)
	var creds struct{ ClientID, ClientSecret string }
	if err := json.Unmarshal(body, &creds); code != 200 || err != nil || creds.ClientID == "" {
		t.Fatalf("creating client credentials: %d %s", code, body)
	}
	cc := url.Values{"grant_type": {"client_credentials"}}
	for _, p := range []*serveProc{r1, r2, r2, r1} { // both replicas read (and cache) the client
		if code, m := token(t, p.base, creds.ClientID, creds.ClientSecret, cc); code != 200 {
			t.Fatalf("client_credentials: %d %v", code, m)
		}
	}

	code, body = post(t, r1.base+"/credential-provider", "application/json",
		`{"clientId":"`+creds.ClientID+`","executionType":"delete","apikey":"`+credentialsKey+`"}`)
	if code != 200 {
		t.Fatalf("deleting the client: %d %s", code, body)
	}
	deleted := time.Now()
	refused := func(p *serveProc) bool {
		code, m := token(t, p.base, creds.ClientID, creds.ClientSecret, cc)
		if code != 200 && (code != 401 || m["error"] != "invalid_client") {
			t.Fatalf("a deleted client's token request: %d %v; want 401 invalid_client", code, m)
		}
		return code == 401
	}
	if !refused(r1) {
		t.Fatal("the replica that deleted the client still grants it tokens")
	}
	eventually(t, "replica 2 to refuse the deleted client", func() bool { return refused(r2) })
	// The bound, whatever the notification did: a request that starts
	// after it is refused. (Waiting for it is the guarantee under test.)
	time.Sleep(time.Until(deleted.Add(postgres.DefaultCacheMaxAge)))
	for _, p := range []*serveProc{r1, r2} {
		if !refused(p) {
			t.Fatalf("%s grants a client deleted %s ago (bound %s)", p.base, time.Since(deleted), postgres.DefaultCacheMaxAge)
		}
	}
}
