package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/nectar-run/nectar/internal/app"
	"github.com/nectar-run/nectar/internal/httpjson"
	"github.com/nectar-run/nectar/store"
)

// The rule every command that reads or writes the store follows:
//
// While a nectar serve runs on the same --data-dir (serve.json there names
// its address and process id, and the server at that address answers with
// that process id), the command goes through the server's management API
// with the admin key (NECTAR_ADMIN_KEY, else admin.key in --data-dir):
// accounts, providers, consumers, executions and run. Otherwise it opens the
// store itself. Commands that need the store to themselves (accounts
// rotate-key, store check) refuse while the server runs. So the CLI never
// races the server for the bbolt file, and never reads another data
// directory's store by mistake.

// withOps is the RunE of a command that works on what open opens (the
// accounts or the consumers of --data-dir: the store, or the running
// server's API): it opens them, then runs f with the command's context.
func withOps[T any](open func(context.Context) (T, error), f func(ctx context.Context, ops T, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		ops, err := open(cmd.Context())
		if err != nil {
			return err
		}
		return f(cmd.Context(), ops, args)
	}
}

// serverOr follows that rule for one command: remote with a client for
// the nectar serve holding --data-dir, else local with its store.
func serverOr[T any](ctx context.Context, g *globals, remote func(*apiClient) (T, error), local func(store.Store) (T, error)) (T, error) {
	if c := runningServer(g); c != nil {
		return remote(c)
	}
	st, err := g.data().Store(ctx)
	if err != nil {
		var zero T
		return zero, err
	}
	return local(st)
}

// apiClient talks to a running nectar serve of the same data directory.
type apiClient struct {
	base    string
	key     string
	pid     int
	dataDir string
}

// runningServer returns a client for the nectar serve using --data-dir, or
// nil when none runs: no serve.json, or nothing answering at its address,
// or a server there that is not the process serve.json names.
func runningServer(g *globals) *apiClient {
	info, ok := app.ReadServeInfo(g.dataDir)
	if !ok {
		return nil
	}
	if info.PID != 0 && !processAlive(info.PID) {
		return nil // left by a server that was killed
	}
	c := &apiClient{base: "http://" + info.Addr, key: app.ReadAdminKey(g.dataDir), pid: info.PID, dataDir: g.dataDir}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/healthz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil
	}
	var who struct {
		PID int `json:"pid"`
	}
	err = c.do(ctx, http.MethodGet, "/api/serve", nil, &who)
	var se *apiStatusError
	switch {
	case errors.As(err, &se) && se.code == http.StatusUnauthorized:
		// The right server, most likely, with a key we lack: say so at
		// the first real call rather than open a store it holds.
		return c
	case err != nil && errors.As(err, &se) && se.code == http.StatusNotFound:
		return c // a server from before /api/serve
	case err != nil || (info.PID != 0 && who.PID != info.PID):
		return nil // serve.json is stale: another process listens there
	}
	return c
}

// processAlive reports whether process pid exists (on Windows, whether it
// can be found).
func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	if runtime.GOOS == "windows" {
		return true
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}

// refuseWhileServing is for the commands that need the store to
// themselves: while a nectar serve runs on --data-dir they fail, saying to
// stop it.
func refuseWhileServing(g *globals, command string) error {
	c := runningServer(g)
	if c == nil {
		return nil
	}
	return fmt.Errorf("%s needs the store to itself, and nectar serve (pid %d, listening on %s) is using --data-dir %s: stop it, run %s, then start it again",
		command, c.pid, strings.TrimPrefix(c.base, "http://"), g.dataDir, command)
}

// do sends a management request and decodes a 2xx JSON answer into out.
func (c *apiClient) do(ctx context.Context, method, path string, body, out any) error {
	_, err := c.doHeader(ctx, method, path, body, out)
	return err
}

// doHeader is do, returning the answer's header too (the Link of a page).
func (c *apiClient) doHeader(ctx context.Context, method, path string, body, out any) (http.Header, error) {
	req, err := httpjson.NewRequest(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("asking the running nectar serve at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("reading the answer of nectar serve at %s: %w", c.base, err)
	}
	if resp.StatusCode/100 != 2 {
		if resp.StatusCode == http.StatusUnauthorized && path != "/api/serve" {
			return nil, &apiStatusError{resp.StatusCode, fmt.Sprintf(
				"nectar serve at %s (serve.json in %s) refused the admin key: set NECTAR_ADMIN_KEY to the key it runs with, or stop it to use the data directory directly",
				strings.TrimPrefix(c.base, "http://"), c.dataDir), data}
		}
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return nil, &apiStatusError{resp.StatusCode, e.Error, data}
		}
		return nil, &apiStatusError{resp.StatusCode, strings.TrimSpace(string(data)), data}
	}
	if out == nil {
		return resp.Header, nil
	}
	return resp.Header, json.Unmarshal(data, out)
}

// apiStatusError is a management API answer other than 2xx.
type apiStatusError struct {
	code int
	msg  string
	body []byte
}

func (e *apiStatusError) Error() string { return e.msg }
