// Package app assembles Nectar's runtime in one place: the store and the
// master key of the data directory, the *engine.Runtime with every service
// the connectors and triggers look up (accounts, object store, event bus,
// the jwt key source, masked logs), and the pipeline library with the
// pipelines that ship with Nectar. The nectar command builds its runtime
// only through it (nectar serve, nectar run) and opens the data directory
// only through Data (the store commands), so that no file of cmd/nectar
// adds a service of its own.
//
// It is internal: it is the nectar command's wiring, not an API. A program
// embedding Nectar builds an engine.Runtime and installs the services it
// wants with their packages' Install functions, as Open does.
//
// # What is opened when
//
// With Config.Serve (nectar serve), Open creates the data directory and
// opens everything at once, so that a missing or wrong master key, or a
// store that does not answer, stops the server at start: the store, the
// sealer, the accounts, the consumers (followed in the store every
// ConsumersRefresh), and the event bus: the PostgreSQL store's own bus
// (postgres.Store.Bus, shared by the replicas) or an in-process
// events.Memory with bbolt.
//
// Without it (nectar run), nothing that is not needed is opened: the
// object store opens the store on the first object-store step, and the
// accounts are installed only when there is a store already (Data.Exists),
// so that running a pipeline never creates a data directory. There is no
// event bus: an event step logs that nectar serve delivers events.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/connectors/objectstore"
	"github.com/nectar-run/nectar/consumers"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/events"
	"github.com/nectar-run/nectar/pipelines"
	"github.com/nectar-run/nectar/store"
	"github.com/nectar-run/nectar/store/postgres"
)

// ConsumersRefresh is how often a serving App reads the consumers from the
// store again: a key revoked or a consumer deleted through one replica (or
// by nectar consumers on the store) is refused by the others within this,
// plus one reload.
const ConsumersRefresh = time.Second

// Config says what to assemble.
type Config struct {
	// DataDir and StoreDSN are the --data-dir and --store flags (see
	// NewData).
	DataDir, StoreDSN string
	// Logger receives the runtime's log lines, masked (engine.MaskLogs):
	// every secret the runtime learns, and SensitiveFields, are *** in
	// them. nil discards them.
	Logger *slog.Logger
	// SensitiveFields are field names masked in every log line and
	// execution record, besides each pipeline's own (--sensitive-fields).
	SensitiveFields []string
	// Load are the options every pipeline is loaded with: the globals of
	// --globals. SetListenAddr completes them for a server.
	Load engine.LoadOptions
	// Pipelines is the runtime's library (see Library); nil for a server,
	// which sets its own.
	Pipelines *engine.Library
	// Serve opens everything at Open, for nectar serve (see the package
	// doc); without it, the store opens on first use.
	Serve bool
	// EventLease is the PostgreSQL bus's lease (postgres.BusOptions.Lease;
	// 0: its default).
	EventLease time.Duration
}

// App is an assembled runtime. Close it when done.
type App struct {
	// Runtime is shared by every execution, with its services installed.
	Runtime *engine.Runtime
	// Logger is Config.Logger, masked with the runtime's secrets.
	Logger *slog.Logger
	// Data is the data directory's store and master key.
	Data *Data
	// Load are the options pipelines are loaded with (Config.Load, and the
	// OAuth2 issuer once SetListenAddr decided it).
	Load engine.LoadOptions

	// Set with Config.Serve:
	Store     store.Store
	Accounts  *accounts.Manager
	Consumers *consumers.Manager
	Bus       events.Bus

	closeBus func(context.Context) error
	stop     context.CancelFunc // ends the consumers' watch
}

// Open assembles the runtime that cfg describes. On error, what was opened
// is closed again.
func Open(ctx context.Context, cfg Config) (_ *App, err error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rt := &engine.Runtime{SensitiveFields: cfg.SensitiveFields, Pipelines: cfg.Pipelines}
	// Every log line masks the secrets the runtime learns.
	log = slog.New(engine.MaskLogs(log.Handler(), rt))
	rt.Logger = log
	a := &App{Runtime: rt, Logger: log, Load: cfg.Load, Data: NewData(cfg.DataDir, cfg.StoreDSN, log), stop: func() {}}
	defer func() {
		if err != nil {
			_ = a.Close(context.Background())
		}
	}()
	// The jwt steps and the jwt auth of http triggers take their keys from
	// NECTAR_JWT_* variables, else from the accounts (created on first use
	// for the shipped OAuth2 pipelines).
	pipelines.InstallKeys(rt)
	if !cfg.Serve {
		// Opened on first use: pipelines without object-store steps leave
		// the data directory alone.
		objectstore.InstallOpener(rt, func() (store.Store, error) { return a.Data.Store(ctx) })
		if a.Data.Exists() {
			am, err := a.Data.Accounts(ctx)
			if err != nil {
				return nil, err
			}
			accounts.Install(rt, am)
		}
		return a, nil
	}
	if err := os.MkdirAll(a.Data.Dir(), 0o700); err != nil {
		return nil, fmt.Errorf("creating the data directory: %w", err)
	}
	if a.Store, err = a.Data.Store(ctx); err != nil {
		return nil, err
	}
	objectstore.Install(rt, a.Store)
	if a.Accounts, err = a.Data.Accounts(ctx); err != nil {
		return nil, err
	}
	accounts.Install(rt, a.Accounts)
	if a.Consumers, err = consumers.New(ctx, a.Store); err != nil {
		return nil, err
	}
	wctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	a.stop = stop
	go a.Consumers.Watch(wctx, ConsumersRefresh, log)
	if err := a.openBus(ctx, cfg.EventLease); err != nil {
		return nil, err
	}
	rt.SetService(events.ServiceKey{}, a.Bus)
	return a, nil
}

// openBus opens the event bus of a server. Replicas sharing a PostgreSQL
// store share its events too: a table with leases, so that an event
// published on one replica runs on another and survives the death of the
// one running it. With bbolt, the bus is in-process.
func (a *App) openBus(ctx context.Context, lease time.Duration) error {
	pg, ok := a.Store.(*postgres.Store)
	if !ok {
		m := events.NewMemory()
		a.Bus, a.closeBus = m, m.Close
		return nil
	}
	b, err := pg.Bus(ctx, postgres.BusOptions{Lease: lease, Logger: a.Logger})
	if err != nil {
		return fmt.Errorf("opening the event bus: %w", err)
	}
	a.Bus, a.closeBus = b, b.Close
	return nil
}

// SetListenAddr decides the OAuth2 issuer of a server from the address it
// listens on, unless the globals set oauth_issuer (pipelines.SetIssuer),
// and puts it in Load's globals: the shipped pipelines' tokens and
// metadata name it. Call it before loading the pipelines with Load.
func (a *App) SetListenAddr(listen net.Addr) error {
	globals, issuer, unspecified, err := pipelines.SetIssuer(a.Load.Globals, listen)
	if err != nil {
		return err
	}
	a.Load.Globals = globals
	if unspecified {
		a.Logger.Warn("oauth_issuer is not set: tokens and the OAuth2 metadata name "+issuer+"; set oauth_issuer in a --globals file to the URL clients use", "oauth_issuer", issuer)
	}
	return nil
}

// Library returns a library that finds pipelines by name in dirs
// (NAME.yaml) and holds the shipped pipelines that no pipeline of dirs
// replaces (pipelines.AddTo: by pipeline name). A pipeline added to it
// later replaces a shipped one of its name (close the one Add returns).
// The error reports shipped pipelines that do not load with opts; the
// library is usable all the same.
func Library(opts engine.LoadOptions, dirs ...string) (*engine.Library, error) {
	lib := engine.NewLibrary(opts, dirs...)
	return lib, pipelines.AddTo(lib, pipelines.FS, opts)
}

// Close stops what Open started, within ctx: the consumers' watch, the
// event bus (its subscriptions drain as their cancel would), then the
// store. A server is shut down before.
func (a *App) Close(ctx context.Context) error {
	a.stop()
	var errs []error
	if a.closeBus != nil {
		if err := a.closeBus(ctx); err != nil {
			errs = append(errs, fmt.Errorf("closing the event bus: %w", err))
		}
	}
	errs = append(errs, a.Data.Close())
	return errors.Join(errs...)
}
