package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/connectors/objectstore"
	"github.com/nectar-run/nectar/consumers"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/store/open"
	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/server"
	"github.com/nectar-run/nectar/triggers/events"
)

// shippedPipelines holds the pipelines that ship with Nectar (package
// pipelines embeds them and sets this in init). nectar serve serves them
// next to --dir; a file there with the same name replaces one.
var shippedPipelines fs.FS

// serveSetups adjust the load options once the listen address is known
// (package pipelines derives the OAuth2 issuer from it when the globals do
// not set one).
var serveSetups []func(opts *engine.LoadOptions, listen net.Addr, log *slog.Logger) error

// adminKeyFile holds the generated admin key in the data directory.
const adminKeyFile = "admin.key"

// serveFile tells other nectar commands where the running server listens.
const serveFile = "serve.json"

// consumersRefresh is how often nectar serve checks the store for consumer
// changes made elsewhere: a key revoked or a consumer deleted through one
// replica is refused by the others within this, plus one reload.
const consumersRefresh = time.Second

func init() {
	extraCommands = append(extraCommands, serveCmd)
}

// defaultDir is the pipelines folder nectar serve uses without --dir:
// ./pipelines when it exists, else ./examples (a fresh checkout), else ".".
func defaultDir() string {
	for _, d := range []string{"pipelines", "examples"} {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d
		}
	}
	return "."
}

func serveCmd(g *globals) *cobra.Command {
	var (
		dir, addr, globalsFile string
		reload, shutdown       time.Duration
		noHistory              bool
		histMax                int
		histAge                time.Duration
		sensitive              []string
		snapshots              string
		eventLease             time.Duration
		maxConns               int
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve every pipeline's trigger, the management API and metrics",
		Long: `Serve runs every pipeline of --dir (default: ./pipelines if it exists, else
./examples, else the current folder) and the pipelines that ship with Nectar:
http triggers as routes, schedules on their cron, event subscriptions. It also
serves the management API under /api/ (admin key: NECTAR_ADMIN_KEY, or
admin.key in --data-dir, generated on first start), /healthz, /readyz and
/metrics (Prometheus), records every execution in the history (nectar
executions list), and reloads pipeline files when they change or on SIGHUP,
keeping the previous version of a file that no longer loads.

At most --max-connections connections are served at once (default: half the
open-file limit); beyond them a client gets 503 at once, and a few more stay
reserved for /healthz and /readyz. A request's body must arrive within its
trigger's timeout (else 408), and consumers changed on another replica are
seen within a second.

SIGTERM or SIGINT stop it gracefully, in this order: (1) schedules and
events start nothing more (with PostgreSQL, the other replicas take the
events) and /readyz answers 503; (2) no new connections, and running
requests and executions may finish until the last fifth of
--shutdown-timeout (at most 5s) is left; (3) those still running are
cancelled (an HTTP caller gets 503, an event goes back to the other
replicas); (4) the history is flushed in the time left. It exits 0 unless
execution records were lost. Logs are JSON unless --log-format text.`,
		Example: `  nectar serve
  nectar serve --dir pipelines --addr 0.0.0.0:8080 --data-dir /var/lib/nectar`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("log-format") && os.Getenv("NECTAR_LOG_FORMAT") == "" {
				g.logFormat = "json"
			}
			if dir == "" {
				dir = defaultDir()
			}
			log := g.logger()
			opts, err := loadOptions(globalsFile)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			if err := os.MkdirAll(g.dataDir, 0o700); err != nil {
				return fmt.Errorf("creating the data directory: %w", err)
			}
			st, err := g.openStore(ctx)
			if err != nil {
				return err
			}
			adminKey, err := loadAdminKey(g.dataDir)
			if err != nil {
				return err
			}
			cm, err := consumers.New(ctx, st)
			if err != nil {
				return err
			}
			rt := &engine.Runtime{SensitiveFields: sensitive}
			// Every log line masks the secrets the runtime learns.
			log = slog.New(engine.MaskLogs(log.Handler(), rt))
			rt.Logger = log
			// Consumers changed by another replica (or by nectar consumers
			// on the store) are seen within consumersRefresh.
			go cm.Watch(ctx, consumersRefresh, log)
			if err := setupRuntime(ctx, g, rt); err != nil {
				return err
			}
			if _, ok := objectstore.FromRuntime(rt); !ok {
				objectstore.Install(rt, st)
			}
			am, ok := accounts.FromRuntime(rt)
			if !ok {
				sealer, err := g.sealer()
				if err != nil {
					return err
				}
				am = accounts.NewManager(st, sealer, accounts.WithLogger(log))
				accounts.Install(rt, am)
			}
			// Replicas sharing a PostgreSQL store share its events too: a
			// table with leases, so an event published on one replica runs
			// on another, and survives the death of the one running it.
			bus, err := openBus(ctx, g, eventLease, log)
			if err != nil {
				return err
			}
			if bus != nil {
				defer func() {
					cctx, cancel := context.WithTimeout(context.Background(), shutdown)
					defer cancel()
					if err := bus.Close(cctx); err != nil {
						log.Warn("closing the event bus", "error", err.Error())
					}
				}()
			}
			if maxConns < 0 {
				return fmt.Errorf("--max-connections: %d is below 0", maxConns)
			}
			if maxConns == 0 {
				maxConns = defaultMaxConnections(fdLimit())
			}
			lim := server.Limits{MaxConnections: maxConns, Logger: log}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("listening on %s: %w", addr, err)
			}
			defer ln.Close() // hs.Serve closes it too; this is for the returns before
			ln = server.LimitListener(ln, lim)
			for _, setup := range serveSetups {
				if err := setup(&opts, ln.Addr(), log); err != nil {
					if globalsFile != "" {
						return fmt.Errorf("%s: %w", globalsFile, err)
					}
					return err
				}
			}
			srv, err := server.New(ctx, server.Options{
				Dir: dir, Shipped: shippedPipelines, Load: opts, Runtime: rt, Store: st, Consumers: cm, Bus: busOption(bus),
				HistoryOff: noHistory,
				History:    history.Options{MaxRecords: histMax, MaxAge: histAge, Snapshots: snapshots, Logger: log},
				AdminKey:   adminKey, Mount: accountMounts(am, log),
				ReloadInterval: reload, Logger: log,
			})
			if err != nil {
				return err
			}
			if err := srv.Registry().Register(am.Collector()); err != nil {
				return fmt.Errorf("registering the accounts metrics: %w", err)
			}
			hs := srv.HTTPServer(lim)
			info, _ := json.Marshal(map[string]any{"addr": ln.Addr().String(), "pid": os.Getpid()})
			infoPath := filepath.Join(g.dataDir, serveFile)
			if err := os.WriteFile(infoPath, info, 0o600); err != nil {
				log.Warn("cannot write serve.json; nectar executions will not find this server", "error", err.Error())
			}
			defer os.Remove(infoPath)
			srv.Start()
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			go func() {
				for range hup {
					log.Info("SIGHUP: reloading pipelines")
					_ = srv.Reload(context.Background())
				}
			}()
			served := make(chan error, 1)
			go func() { served <- hs.Serve(ln) }()
			log.Info("nectar serving", "addr", ln.Addr().String(), "dir", dir, "pipelines", len(srv.Library().All()), "data_dir", g.dataDir, "max_connections", maxConns)
			select {
			case err := <-served:
				return fmt.Errorf("serving: %w", err)
			case <-ctx.Done():
			}
			// One sequence (server.Server.Shutdown): stop the intake of
			// schedules and events first, so that nothing starts here any
			// more; then drain HTTP and running executions; then flush the
			// history in the time kept for it.
			sctx, cancel := context.WithTimeout(context.Background(), shutdown)
			defer cancel()
			srv.StopIntake()
			log.Info("shutting down", "timeout", shutdown.String())
			if err := srv.Shutdown(sctx); err != nil {
				log.Error("shutdown incomplete", "error", err.Error())
				return &exitError{1}
			}
			log.Info("stopped")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "folder of pipeline files (default ./pipelines, else ./examples, else .)")
	f.StringVar(&addr, "addr", envOr("NECTAR_ADDR", "127.0.0.1:8080"), "address to listen on")
	f.StringVar(&globalsFile, "globals", "", "a YAML or JSON file of globals for this environment")
	f.DurationVar(&reload, "reload-interval", 2*time.Second, "how often pipeline files are checked for changes (0: only on SIGHUP)")
	f.DurationVar(&shutdown, "shutdown-timeout", 30*time.Second, "how long a SIGTERM's shutdown takes at most: running executions may take all of it but the last fifth (at most 5s), kept for flushing the history")
	f.BoolVar(&noHistory, "no-history", false, "do not record executions")
	f.IntVar(&histMax, "history-max", 10000, "execution records kept")
	f.DurationVar(&histAge, "history-max-age", 7*24*time.Hour, "how long execution records are kept")
	f.StringVar(&snapshots, "history-snapshots", "all", "which execution records keep input and output: all, failed or none")
	f.DurationVar(&eventLease, "event-lease", 30*time.Second, "with a PostgreSQL store: how long an event being handled stays invisible to the other replicas without news from its replica (the redelivery delay when a replica dies)")
	f.IntVar(&maxConns, "max-connections", 0, "connections served at once; more get 503 at once, and a few more are kept for /healthz and /readyz (0: half the open-file limit, at most 10000)")
	f.StringSliceVar(&sensitive, "sensitive-fields", nil, "field names masked as *** in every execution record and log line, in any case and with or without _ or - (besides each pipeline's sensitive_fields and the usual password, token, secret…)")
	return cmd
}

// defaultMaxConnections is the connection cap without --max-connections:
// half the open-file limit, leaving the other half to the store, pipeline
// files and outgoing connections, between 16 and 10000 (10000 when the limit
// is unknown).
func defaultMaxConnections(fds uint64) int {
	if fds == 0 {
		return 10000
	}
	return int(max(16, min(10000, fds/2)))
}

// openBus opens the PostgreSQL event bus when the store is PostgreSQL, and
// returns nil for bbolt (the server then uses its in-process bus).
func openBus(ctx context.Context, g *globals, lease time.Duration, log *slog.Logger) (*events.Postgres, error) {
	kind, dsn, err := open.Choose(g.storeDSN)
	if err != nil || kind != open.Postgres {
		return nil, err
	}
	bus, err := events.OpenPostgres(ctx, dsn, events.PostgresOptions{Lease: lease, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("opening the event bus: %w", err)
	}
	return bus, nil
}

// busOption keeps a nil *events.Postgres from becoming a non-nil Bus.
func busOption(b *events.Postgres) events.Bus {
	if b == nil {
		return nil
	}
	return b
}

// loadAdminKey returns NECTAR_ADMIN_KEY, or the key in admin.key, created
// with mode 0600 on first use.
func loadAdminKey(dataDir string) (string, error) {
	if k := os.Getenv("NECTAR_ADMIN_KEY"); k != "" {
		return k, nil
	}
	path := filepath.Join(dataDir, adminKeyFile)
	b, err := os.ReadFile(path)
	if err == nil {
		if k := strings.TrimSpace(string(b)); k != "" {
			return k, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("reading the admin key: %w", err)
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	k := "nka_" + base64.RawURLEncoding.EncodeToString(raw)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(k+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("writing the admin key: %w", err)
	}
	return k, nil
}

// accountMounts adds the accounts endpoints to the management API.
func accountMounts(am *accounts.Manager, log *slog.Logger) []server.Mount {
	list := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Unreadable records are listed as such, after the others.
		all, err := am.List(r.Context())
		var broken *accounts.ListError
		if err != nil && !errors.As(err, &broken) {
			apiError(w, http.StatusInternalServerError, err.Error())
			return
		}
		type row struct {
			*accounts.Account
			Status  any    `json:"status,omitempty"`
			Problem string `json:"problem,omitempty"`
		}
		out := make([]row, 0, len(all))
		for _, a := range all {
			st, _ := am.Status(r.Context(), a.Name)
			out = append(out, row{Account: a.Masked(), Status: st})
		}
		if broken != nil {
			for _, u := range broken.Unreadable {
				out = append(out, row{Account: &accounts.Account{Name: u.Name}, Status: "unreadable", Problem: u.Problem})
			}
		}
		apiJSON(w, http.StatusOK, out)
	})
	authorize := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := r.PathValue("name")
		urls := make(chan string, 1)
		errc := make(chan error, 1)
		go func() {
			res, err := am.Authorize(context.Background(), name, accounts.AuthorizeOptions{Prompt: func(u string) { urls <- u }})
			if err != nil {
				log.Warn("account authorization failed", "account", name, "error", err.Error())
				errc <- err
				return
			}
			log.Info("account authorized", "account", name, "scope", res.Scope)
		}()
		select {
		case u := <-urls:
			apiJSON(w, http.StatusOK, map[string]string{"account": name, "consent_url": u,
				"note": "open the consent URL in a browser on this host; the provider redirects to a loopback callback"})
		case err := <-errc:
			apiError(w, http.StatusBadRequest, err.Error())
		case <-time.After(30 * time.Second):
			apiError(w, http.StatusGatewayTimeout, "no consent URL")
		}
	})
	return []server.Mount{
		{Pattern: "GET /api/accounts", Handler: list},
		{Pattern: "POST /api/accounts/{name}/authorize", Handler: authorize},
	}
}

func apiJSON(w http.ResponseWriter, code int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(b)
}

func apiError(w http.ResponseWriter, code int, msg string) {
	apiJSON(w, code, map[string]any{"timestamp": time.Now().UnixMilli(), "error": msg, "code": code})
}

// apiClient talks to a running nectar serve of the same data directory.
type apiClient struct {
	base string
	key  string
}

// runningServer returns a client for the server using --data-dir, or nil
// when none answers.
func runningServer(g *globals) *apiClient {
	b, err := os.ReadFile(filepath.Join(g.dataDir, serveFile))
	if err != nil {
		return nil
	}
	var info struct {
		Addr string `json:"addr"`
	}
	if json.Unmarshal(b, &info) != nil || info.Addr == "" {
		return nil
	}
	key, err := loadAdminKey(g.dataDir)
	if err != nil {
		return nil
	}
	c := &apiClient{base: "http://" + info.Addr, key: key}
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
	return c
}

// do sends a management request and decodes a 2xx JSON answer into out.
func (c *apiClient) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("asking the running server: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error != "" {
			return &apiStatusError{resp.StatusCode, e.Error}
		}
		return &apiStatusError{resp.StatusCode, strings.TrimSpace(string(data))}
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}

type apiStatusError struct {
	code int
	msg  string
}

func (e *apiStatusError) Error() string { return e.msg }
