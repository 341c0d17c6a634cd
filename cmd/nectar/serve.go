package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/internal/app"
	"github.com/nectar-run/nectar/pipelines"
	"github.com/nectar-run/nectar/server"
)

// defaultDir is the pipelines folder nectar serve uses without --dir:
// ./pipelines when it exists, else ./examples (a fresh checkout), else none
// ("": only the shipped pipelines). It never falls back to the current
// folder: in a home directory that would load every YAML file below it.
func defaultDir() string {
	for _, d := range []string{"pipelines", "examples"} {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d
		}
	}
	return ""
}

// checkServeDirs refuses a --dir that is not a folder (a misspelt name would
// otherwise serve only the shipped pipelines, silently) and a --globals file
// inside it that would be loaded as a pipeline.
func checkServeDirs(dir, globalsFile string) error {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("--dir %s: no such folder (give the folder of your pipeline files; without --dir, nectar serve uses ./pipelines or ./examples)", dir)
	case err != nil:
		return fmt.Errorf("--dir %s: %w", dir, err)
	case !st.IsDir():
		return fmt.Errorf("--dir %s: not a folder (give the folder of your pipeline files; nectar run runs one file)", dir)
	}
	if ext := filepath.Ext(globalsFile); globalsFile == "" || ext != ".yaml" && ext != ".yml" || engine.IsGlobalsFile(globalsFile) {
		return nil // not a file PipelineFiles lists
	}
	absDir, err1 := filepath.Abs(dir)
	absGlobals, err2 := filepath.Abs(globalsFile)
	if err1 != nil || err2 != nil {
		return nil
	}
	if rel, err := filepath.Rel(absDir, absGlobals); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		name := filepath.Base(globalsFile)
		stem := strings.TrimSuffix(name, filepath.Ext(name))
		return fmt.Errorf("--globals %s is inside --dir %s, where every YAML file is a pipeline: rename it %s.globals%s (files named globals.yaml or *.globals.yaml are not pipelines) or move it out of %s",
			globalsFile, dir, stem, filepath.Ext(name), dir)
	}
	return nil
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
		exchanges              bool
		steps                  bool
		eventLease             time.Duration
		maxConns               int
		healthAddr             string
		consoleOn              bool
		consolePath            string
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve every pipeline's trigger, the management API and metrics",
		Long: `Serve runs every pipeline of --dir (default: ./pipelines if it exists, else
./examples, else none) and the pipelines that ship with Nectar:
http triggers as routes, schedules on their cron, event subscriptions. It also
serves the management API under /api/ (admin key: NECTAR_ADMIN_KEY, or
admin.key in --data-dir, generated on first start), /healthz, /readyz and
/metrics (Prometheus), records every execution in the history (nectar
executions list), and reloads pipeline files when they change or on SIGHUP,
keeping the previous version of a file that no longer loads.

At most --max-connections connections are served at once (default: half the
open-file limit, between 16 and 10000); beyond them a client gets 503 at once, and a few more stay
reserved for /healthz and /readyz (a reserved connection must send
"GET /healthz" or "GET /readyz" within a second, else it is closed).
--health-addr serves /healthz and /readyz alone on a second address, whose
connections the main port's flood cannot take: point load balancer and
Kubernetes probes there. A request's body must arrive within its
trigger's timeout (else 408), and consumers changed on another replica are
seen within a second.

SIGTERM or SIGINT stop it gracefully, in this order: (1) schedules and
events start nothing more (with PostgreSQL, the other replicas take the
events) and /readyz answers 503; (2) no new connections, and running
requests and executions may finish until the last fifth of
--shutdown-timeout (at most 5s) is left; (3) those still running are
cancelled (an HTTP caller gets 503, an event goes back to the other
replicas); (4) the history is flushed in the time left. It exits 0 unless
execution records were lost. Logs are JSON unless --log-format (or
NECTAR_LOG_FORMAT) says text.`,
		Example: `  nectar serve
  nectar serve --dir pipelines --addr 0.0.0.0:8080 --data-dir /var/lib/nectar`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("log-format") && os.Getenv("NECTAR_LOG_FORMAT") == "" {
				g.logFormat = "json"
			}
			log := g.logger()
			if cmd.Flags().Changed("dir") {
				if err := checkServeDirs(dir, globalsFile); err != nil {
					return err
				}
			} else if dir = defaultDir(); dir == "" {
				log.Info("no --dir, and no ./pipelines or ./examples folder: serving only the shipped pipelines")
			} else if err := checkServeDirs(dir, globalsFile); err != nil {
				return err
			}
			opts, err := loadOptions(globalsFile)
			if err != nil {
				return err
			}
			if maxConns < 0 {
				return fmt.Errorf("--max-connections: %d is below 0", maxConns)
			}
			if maxConns == 0 {
				maxConns = defaultMaxConnections(fdLimit())
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			a, err := app.Open(ctx, app.Config{
				DataDir: g.dataDir, StoreDSN: g.storeDSN, Logger: log, SensitiveFields: sensitive, Load: opts,
				Serve: true, EventLease: eventLease,
			})
			if err != nil {
				return err
			}
			defer func() {
				cctx, cancel := context.WithTimeout(context.Background(), shutdown)
				defer cancel()
				if err := a.Close(cctx); err != nil {
					log.Warn("closing the runtime", "error", err.Error())
				}
			}()
			log = a.Logger
			adminKey, err := app.LoadAdminKey(g.dataDir)
			if err != nil {
				return err
			}
			lim := server.Limits{MaxConnections: maxConns, Logger: log}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("listening on %s: %w", addr, err)
			}
			defer ln.Close() // hs.Serve closes it too; this is for the returns before
			ln = server.LimitListener(ln, lim)
			if err := a.SetListenAddr(ln.Addr()); err != nil {
				if globalsFile != "" {
					return fmt.Errorf("%s: %w", globalsFile, err)
				}
				return err
			}
			srv, err := server.New(ctx, server.Options{
				Dir: dir, Shipped: pipelines.FS, Load: a.Load, Runtime: a.Runtime, Store: a.Store, Consumers: a.Consumers, Bus: a.Bus,
				HistoryOff: noHistory,
				History:    history.Options{MaxRecords: histMax, MaxAge: histAge, Snapshots: snapshots, Exchanges: exchanges, Steps: steps, Logger: log},
				AdminKey:   adminKey, Mount: a.Mounts(),
				ReloadInterval: reload, Logger: log,
			})
			if err != nil {
				return err
			}
			if err := srv.Registry().Register(a.Accounts.Collector()); err != nil {
				return fmt.Errorf("registering the accounts metrics: %w", err)
			}
			hs := srv.HTTPServer(lim)
			var consoleFlag *bool
			if cmd.Flags().Changed("console") {
				consoleFlag = &consoleOn
			}
			serveConsole(consoleFlag, consolePath, ln.Addr(), srv, hs, g, log)
			var health *http.Server
			if healthAddr != "" {
				hln, err := net.Listen("tcp", healthAddr)
				if err != nil {
					return fmt.Errorf("--health-addr: listening on %s: %w", healthAddr, err)
				}
				health = srv.HealthServer()
				go func() {
					if err := health.Serve(hln); err != nil && !errors.Is(err, http.ErrServerClosed) {
						log.Error("the health listener stopped", "addr", hln.Addr().String(), "error", err.Error())
					}
				}()
				log.Info("serving /healthz and /readyz", "health_addr", hln.Addr().String())
			}
			removeInfo, err := app.WriteServeInfo(g.dataDir, ln.Addr())
			if err != nil {
				log.Warn("cannot write serve.json; nectar executions will not find this server", "error", err.Error())
			}
			defer removeInfo()
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
			var serveErr error
			select {
			case serveErr = <-served:
				// The listener failed (not a signal): nothing more is
				// accepted, but what was is answered, and the rest is
				// SIGTERM's shutdown; then the exit status says it failed.
				serveErr = fmt.Errorf("serving on %s: %w", ln.Addr(), serveErr)
				log.Error("the listener failed; shutting down", "error", serveErr.Error())
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
			err = srv.Shutdown(sctx)
			if health != nil {
				// Last: /readyz there answered 503 while the rest shut down.
				health.Close()
			}
			if err != nil {
				log.Error("shutdown incomplete", "error", err.Error())
				return &exitError{1}
			}
			log.Info("stopped")
			return serveErr
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "folder of pipeline files, globals.yaml and *.globals.yaml excepted (default ./pipelines, else ./examples, else only the shipped pipelines)")
	f.StringVar(&addr, "addr", envOr("NECTAR_ADDR", "127.0.0.1:8080"), "address to listen on")
	f.StringVar(&globalsFile, "globals", "", "a YAML or JSON file of globals for this environment")
	f.DurationVar(&reload, "reload-interval", 2*time.Second, "how often pipeline files are checked for changes (0: only on SIGHUP)")
	f.DurationVar(&shutdown, "shutdown-timeout", 30*time.Second, "how long a SIGTERM's shutdown takes at most: running executions may take all of it but the last fifth (at most 5s), kept for flushing the history")
	f.BoolVar(&noHistory, "no-history", false, "do not record executions")
	f.IntVar(&histMax, "history-max", 10000, "execution records kept")
	f.DurationVar(&histAge, "history-max-age", 7*24*time.Hour, "how long execution records are kept")
	f.StringVar(&snapshots, "history-snapshots", "all", "which execution records keep input and output (and, with --history-steps, each step's and the log lines): all, failed or none")
	f.BoolVar(&steps, "history-steps", false, "also keep each step's (masked, capped) input and output and the log lines in the execution records, for the console's timeline; costs about an eighth of a short pipeline's throughput")
	f.BoolVar(&exchanges, "history-exchanges", false, "keep in each execution record the (masked, capped) answers of its rest, google-drive, onedrive and pipeline steps, so that nectar test record can replay it offline")
	f.DurationVar(&eventLease, "event-lease", 30*time.Second, "with a PostgreSQL store: how long an event being handled stays invisible to the other replicas without news from its replica (the redelivery delay when a replica dies)")
	f.IntVar(&maxConns, "max-connections", 0, "connections served at once; more get 503 at once, and a few more are kept for /healthz and /readyz (0: half the open-file limit, at most 10000)")
	f.StringVar(&healthAddr, "health-addr", envOr("NECTAR_HEALTH_ADDR", ""), "a second address serving only GET /healthz and /readyz, whose connections a flood on --addr cannot take (for load balancer and Kubernetes probes; keep it private)")
	f.BoolVar(&consoleOn, "console", false, "serve the console (pages for a browser; sign in with the admin key) at --console-path (default: on when --addr is a loopback address, off otherwise)")
	f.StringVar(&consolePath, "console-path", "/console", "the path the console is served at")
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
