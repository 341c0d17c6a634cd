// Command nectar runs, checks and serves Nectar pipelines.
package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	_ "github.com/nectar-run/nectar/connectors/all"
	"github.com/nectar-run/nectar/internal/app"
)

func main() {
	os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// exitError carries an exit code; its message has already been printed.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// exitUsage is the exit code of a command called wrongly (sysexits.h
// EX_USAGE).
const exitUsage = 64

// usageError is a command called wrongly: an unknown command or flag, a
// flag value that does not parse, a wrong number of arguments. Main exits
// 64 for it, and 1 for any other error, whatever its message says.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// globals are the flags every command shares.
type globals struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	logLevel       string
	logFormat      string
	dataDir        string
	storeDSN       string

	dataOnce sync.Once
	d        *app.Data
}

// data is the store and master key of --data-dir and --store, opened on
// first use and closed by Main when the command ends.
func (g *globals) data() *app.Data {
	g.dataOnce.Do(func() { g.d = app.NewData(g.dataDir, g.storeDSN, g.logger()) })
	return g.d
}

// close closes what the command opened through data.
func (g *globals) close() {
	g.dataOnce.Do(func() {}) // a data call after this opens nothing
	if g.d != nil {
		_ = g.d.Close()
	}
}

func (g *globals) logger() *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(g.logLevel)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if g.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(g.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(g.stderr, opts))
}

// Main runs the command line and returns the exit code. No panic escapes it.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "nectar: internal error: %v\n", r)
			code = 70
		}
	}()
	g := &globals{stdin: stdin, stdout: stdout, stderr: stderr}
	defer g.close()
	root := newRoot(g)
	if cmd, _, err := root.Find(args); err == nil && cmd.Name() == "serve" {
		tuneGC()
	}
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	fmt.Fprintf(stderr, "nectar: %v\n", err)
	var ue *usageError
	if errors.As(err, &ue) {
		return exitUsage
	}
	return 1
}

func newRoot(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "nectar",
		Short: "Nectar runs integration pipelines written in YAML.",
		Long: `Nectar runs integration pipelines written in YAML: a trigger starts a pipeline,
and its steps (connectors) transform a JSON message, call APIs with accounts
whose OAuth tokens attach themselves, and answer.

  nectar run greet.yaml < input.json     run a pipeline once
  nectar validate pipelines/*.yaml       check pipeline files
  nectar connectors                      list connectors and their options`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       versionLine(),
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", envOr("NECTAR_LOG_LEVEL", "info"), "log level: debug, info, warn, error")
	// Empty is the command's default: json for serve, text for the others.
	root.PersistentFlags().StringVar(&g.logFormat, "log-format", envOr("NECTAR_LOG_FORMAT", ""), "log format: text or json (default json for nectar serve, text for the other commands)")
	root.PersistentFlags().StringVar(&g.dataDir, "data-dir", envOr("NECTAR_DATA_DIR", ".nectar"), "where Nectar keeps its data (accounts, tokens, executions)")
	root.PersistentFlags().StringVar(&g.storeDSN, "store", "", "the store: empty for the embedded bbolt file in --data-dir, or postgres://… to share one PostgreSQL database between replicas (default $NECTAR_STORE)")
	root.AddCommand(
		runCmd(g),
		validateCmd(g),
		testCmd(g),
		serveCmd(g),
		accountsCmd(g),
		providersCmd(g),
		consumersCmd(g),
		executionsCmd(g),
		storeCmd(g),
		joltCmd(g),
		schemaCmd(g),
		connectorsCmd(g),
		functionsCmd(g),
		versionCmd(g),
	)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &usageError{err} })
	typeUsageErrors(root)
	return root
}

// group returns a command that only groups subcommands (nectar accounts,
// nectar store…): alone it prints its help, and an unknown subcommand is a
// usage error (see typeUsageErrors).
func group(use, short, long string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{Use: use, Short: short, Long: long}
	cmd.AddCommand(subs...)
	return cmd
}

// typeUsageErrors makes every argument error of cmd and its subcommands a
// usageError, and a command that only groups subcommands (root, accounts,
// store…) refuse an unknown one as a usage error; alone, it prints its
// help. (cobra would print the help and succeed for "nectar store chek".)
func typeUsageErrors(cmd *cobra.Command) {
	if cmd.HasSubCommands() && !cmd.Runnable() {
		cmd.Args = func(c *cobra.Command, args []string) error {
			if len(args) == 0 {
				return nil
			}
			msg := fmt.Sprintf("unknown command %q for %q", args[0], c.CommandPath())
			if s := c.SuggestionsFor(args[0]); len(s) > 0 {
				msg += "\n\nDid you mean this?\n\t" + strings.Join(s, "\n\t")
			}
			return errors.New(msg)
		}
		cmd.RunE = func(c *cobra.Command, _ []string) error { return c.Help() }
	}
	if valid := cmd.Args; valid != nil {
		cmd.Args = func(c *cobra.Command, args []string) error {
			if err := valid(c, args); err != nil {
				return &usageError{err}
			}
			return nil
		}
	}
	for _, sub := range cmd.Commands() {
		typeUsageErrors(sub)
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
