package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/internal/app"
)

// maxInput is the largest input message nectar run reads.
const maxInput = 1 << 30

func runCmd(g *globals) *cobra.Command {
	var (
		input       string
		vars        []string
		globalsFile string
		trace       bool
	)
	cmd := &cobra.Command{
		Use:   "run FILE|NAME",
		Short: "Run a pipeline once: JSON in, JSON out",
		Long: `Run a pipeline once. The input message is read from --input (a file, or - for
standard input), or from standard input when it is not a terminal, else {}.
The final message is printed as JSON. On failure the error object
{"timestamp","error","code",…} is printed on standard error and the exit
code is 1 (2 when the pipeline does not load, 3 when the input is not JSON).

While nectar serve runs on the same --data-dir, the pipeline runs there
(POST /api/run): with the server's accounts, object store and pipelines,
recorded in its history (nectar executions list --trigger run). FILE is
sent as it is; a NAME must be a pipeline the server serves.`,
		Example: `  echo '{"name":"Ada"}' | nectar run greet.yaml
  nectar run greet.yaml --input in.json --var region=eu --globals prod.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if c := runningServer(g); c != nil {
				return runOnServer(cmd.Context(), g, c, args[0], input, vars, globalsFile, trace)
			}
			opts, err := loadOptions(globalsFile)
			if err != nil {
				fmt.Fprintf(g.stderr, "nectar: %v\n", err)
				return &exitError{2}
			}
			log := g.logger()
			p, lib, err := resolvePipeline(args[0], opts, log)
			if err != nil {
				printLoadError(g.stderr, err)
				return &exitError{2}
			}
			defer p.Close(context.Background())
			in, err := readInput(g, input)
			if err != nil {
				fmt.Fprintf(g.stderr, "nectar: %v\n", err)
				return &exitError{3}
			}
			vs, err := parseVars(vars)
			if err != nil {
				fmt.Fprintf(g.stderr, "nectar: %v\n", err)
				return &exitError{exitUsage}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			a, err := app.Open(ctx, app.Config{DataDir: g.dataDir, StoreDSN: g.storeDSN, Logger: log, Load: opts, Pipelines: lib})
			if err != nil {
				fmt.Fprintf(g.stderr, "nectar: %v\n", err)
				return &exitError{1}
			}
			defer a.Close(context.Background())
			rt := a.Runtime
			var learned []string // what the steps learned is secret (engine.Exec.AddSecret)
			ro := engine.RunOptions{Vars: vs, Learned: &learned}
			if trace {
				ro.Trace = &engine.Trace{}
			}
			out, err := p.Run(ctx, rt, in, ro)
			// Printed as POST /api/run answers: secrets masked.
			secrets := [][]string{rt.Secrets.Values(), learned}
			if trace {
				printTrace(g.stderr, ro.Trace, secrets...)
			}
			if err != nil {
				sensitive := func(k string) bool { return engine.SensitiveField(k, p.SensitiveFields, rt.SensitiveFields) }
				b, _ := value.Encode(engine.AsError(err).Shown(sensitive, secrets...).Object())
				fmt.Fprintf(g.stderr, "%s\n", b)
				return &exitError{1}
			}
			b, err := value.Encode(out)
			if err != nil {
				fmt.Fprintf(g.stderr, "nectar: the result cannot be written as JSON: %v\n", err)
				return &exitError{1}
			}
			g.stdout.Write(append(b, '\n'))
			return nil
		},
	}
	cmd.Flags().StringVarP(&input, "input", "i", "", "input message file, or - for standard input")
	cmd.Flags().StringArrayVar(&vars, "var", nil, "set vars.KEY (repeatable): --var key=value (value parsed as JSON when it is JSON)")
	cmd.Flags().StringVar(&globalsFile, "globals", "", "a YAML or JSON file of globals for one environment, merged over the pipeline's own")
	cmd.Flags().BoolVar(&trace, "trace", false, "print each step's outcome and duration on standard error")
	return cmd
}

func loadOptions(globalsFile string) (engine.LoadOptions, error) {
	if globalsFile == "" {
		return engine.LoadOptions{}, nil
	}
	o, err := engine.LoadGlobals(globalsFile)
	if err != nil {
		return engine.LoadOptions{}, err
	}
	return engine.LoadOptions{Globals: o}, nil
}

// resolvePipeline loads FILE, or finds NAME among the shipped pipelines and
// NAME.yaml in the current folder. The library holds the pipeline, finds
// others in its folder, and holds the shipped pipelines it does not
// replace; a shipped pipeline that does not load with opts is logged.
func resolvePipeline(arg string, opts engine.LoadOptions, log *slog.Logger) (*engine.Pipeline, *engine.Library, error) {
	if st, err := os.Stat(arg); err == nil && !st.IsDir() {
		p, err := engine.LoadFile(arg, opts)
		if err != nil {
			return nil, nil, err
		}
		lib, err := app.Library(opts, filepath.Dir(arg))
		if err != nil {
			log.Warn("shipped pipelines do not load", "error", err.Error())
		}
		if shipped := lib.Add(p); shipped != nil {
			shipped.Close(context.Background()) // p replaces it
		}
		return p, lib, nil
	}
	lib, err := app.Library(opts, ".")
	if err != nil {
		log.Warn("shipped pipelines do not load", "error", err.Error())
	}
	if p, ok := lib.Pipeline(arg); ok && !strings.ContainsAny(arg, `/\`) {
		return p, lib, nil
	}
	return nil, nil, fmt.Errorf("%s: no such file, and no pipeline of that name", arg)
}

func readInput(g *globals, input string) (any, error) {
	var r io.Reader
	switch {
	case input == "-":
		r = g.stdin
	case input != "":
		f, err := os.Open(input)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	default:
		if f, ok := g.stdin.(*os.File); ok {
			if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
				return value.NewObject(0), nil
			}
		}
		r = g.stdin
	}
	data, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return nil, fmt.Errorf("reading input: %w", err)
	}
	if len(data) > maxInput {
		return nil, fmt.Errorf("input is larger than %d bytes", maxInput)
	}
	if len(strings.TrimSpace(string(data))) == 0 {
		return value.NewObject(0), nil
	}
	v, err := value.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("input is not JSON: %w", err)
	}
	return v, nil
}

func parseVars(kvs []string) (*value.Object, error) {
	o := value.NewObject(len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--var %q: expected key=value", kv)
		}
		if parsed, err := value.DecodeString(v); err == nil {
			o.Set(k, parsed)
		} else {
			o.Set(k, v)
		}
	}
	return o, nil
}

func printLoadError(w io.Writer, err error) {
	les := engine.LoadErrors(err)
	if len(les) == 0 {
		fmt.Fprintf(w, "nectar: %v\n", err)
		return
	}
	for _, le := range les {
		fmt.Fprintln(w, le.Error())
	}
}

func printTrace(w io.Writer, t *engine.Trace, secrets ...[]string) {
	for _, s := range t.Steps {
		line := fmt.Sprintf("trace: %-24s %-10s %-9s %s", s.Step, s.Connector, s.Outcome, s.Duration)
		if s.Error != "" {
			line += " " + engine.MaskSecrets(s.Error, secrets...)
		}
		fmt.Fprintln(w, line)
	}
}
