package console

import (
	"context"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/nectar-run/nectar/accounts"
)

// authorizeTimeout bounds an authorization started from the console: the
// person has this long to approve on the provider's consent page.
const authorizeTimeout = 5 * time.Minute

// authFlows are the authorizations started from the console, by account.
type authFlows struct {
	mu      sync.Mutex
	running map[string]*authFlow
}

// authFlow is one authorization code flow: Manager.Authorize runs it, with
// its own loopback callback listener; the console's page links to the
// consent URL and polls for the outcome.
type authFlow struct {
	Consent string // under authFlows.mu
	done    chan struct{}
	res     *accounts.AuthorizeResult
	err     error
}

func (f *authFlows) get(name string) *authFlow {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.running[name]
}

// startAuthorize is POST /accounts/{name}/authorize: it starts the flow and
// shows the page that sends the person to the provider.
func (c *Console) startAuthorize(w http.ResponseWriter, r *http.Request, am *accounts.Manager) {
	name := r.PathValue("name")
	consent := make(chan string, 1)
	fl := &authFlow{done: make(chan struct{})}
	c.flows.mu.Lock()
	if old := c.flows.running[name]; old != nil && old.Consent != "" {
		select {
		case <-old.done:
		default:
			// One flow per account at a time: this one is still waiting.
			consent := old.Consent
			c.flows.mu.Unlock()
			c.render(w, r, http.StatusOK, "authorize", page{Title: "Authorize " + name, Nav: "accounts", Data: map[string]any{"Name": name, "Consent": consent}})
			return
		}
	}
	c.flows.running[name] = fl
	c.flows.mu.Unlock()
	ctx, cancel := context.WithTimeout(c.done, authorizeTimeout)
	go func() {
		defer cancel()
		defer close(fl.done)
		fl.res, fl.err = am.Authorize(ctx, name, accounts.AuthorizeOptions{
			Timeout: authorizeTimeout,
			Prompt:  func(u string) { consent <- u },
		})
		if fl.err != nil {
			c.log.Warn("console: authorization failed", "account", name, "error", fl.err.Error())
		} else {
			c.log.Info("console: account authorized", "account", name)
		}
	}()
	select {
	case u := <-consent:
		c.flows.mu.Lock()
		fl.Consent = u
		c.flows.mu.Unlock()
	case <-fl.done:
		c.showAccount(w, r, nil, "Authorization failed: "+fl.err.Error())
		return
	case <-time.After(10 * time.Second):
		cancel()
		jsonError(w, http.StatusGatewayTimeout, "the authorization did not start")
		return
	}
	c.render(w, r, http.StatusOK, "authorize", page{Title: "Authorize " + name, Nav: "accounts", Data: map[string]any{"Name": name, "Consent": fl.Consent}})
}

// authorizeState is GET /accounts/{name}/authorize: the flow's outcome as
// JSON, for the waiting page's script.
func (c *Console) authorizeState(w http.ResponseWriter, r *http.Request, _ *session) {
	name := r.PathValue("name")
	fl := c.flows.get(name)
	if fl == nil {
		jsonError(w, http.StatusNotFound, "no authorization of "+name+" was started here")
		return
	}
	select {
	case <-fl.done:
	case <-time.After(20 * time.Second):
		writeJSON(w, http.StatusOK, map[string]string{"state": "pending"})
		return
	case <-r.Context().Done():
		return
	}
	if fl.err != nil {
		writeJSON(w, http.StatusOK, map[string]string{"state": "failed", "error": fl.err.Error()})
		return
	}
	out := map[string]string{"state": "authorized", "next": c.path + "/accounts/" + url.PathEscape(name) + "?authorized=1"}
	if fl.res != nil && fl.res.Warning != "" {
		out["warning"] = fl.res.Warning
	}
	writeJSON(w, http.StatusOK, out)
}
