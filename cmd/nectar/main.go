// Command nectar runs, checks and serves Nectar pipelines.
package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	_ "github.com/nectar-run/nectar/connectors/all"
)

func main() {
	os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// exitError carries an exit code; its message has already been printed.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// globals are the flags every command shares.
type globals struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	logLevel       string
	logFormat      string
	dataDir        string
	storeDSN       string
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
	if strings.Contains(err.Error(), "unknown command") || strings.Contains(err.Error(), "flag") || strings.Contains(err.Error(), "arg") {
		return 64
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
	root.AddCommand(runCmd(g), validateCmd(g), schemaCmd(g), connectorsCmd(g), functionsCmd(g), versionCmd(g))
	for _, add := range extraCommands {
		root.AddCommand(add(g))
	}
	return root
}

// extraCommands lets other files of this package add commands in init.
var extraCommands []func(g *globals) *cobra.Command

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
