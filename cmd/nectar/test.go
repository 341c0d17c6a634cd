package main

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/internal/app"
	"github.com/nectar-run/nectar/pipetest"
	"github.com/nectar-run/nectar/store"
)

func testCmd(g *globals) *cobra.Command {
	var (
		run      string
		junit    string
		asJSON   bool
		cover    bool
		coverMin float64
		verbose  bool
		parallel int
	)
	cmd := &cobra.Command{
		Use:   "test [PATH…]",
		Short: "Run pipeline tests: mocked connectors, expectations, coverage",
		Long: `Run the tests of pipelines: NAME.test.yaml files beside the pipelines, and
YAML files in tests folders, under each PATH (default: the current folder).
Cases run in parallel, offline: mocks answer the steps they name, and a step
that is not mocked and would send a request to another machine fails its
case, naming the step (loopback addresses stay reachable, for a test's own
fake servers). A failed case prints each difference as a JSON path with the
expected and the actual value.

The exit code is 1 when a case fails (or coverage is under --cover-min), 2
when a test file or its pipeline has a problem (file:line:col: what, like
nectar validate), 64 on a bad flag. See docs/testing.md.`,
		Example: `  nectar test                         every test under the current folder
  nectar test examples/greet --run 'missing'
  nectar test pipelines/ --cover --cover-min 80 --junit report.xml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{"."}
			}
			opts := pipetest.Options{Cover: cover || coverMin > 0, Parallel: parallel}
			if run != "" {
				re, err := regexp.Compile(run)
				if err != nil {
					fmt.Fprintf(g.stderr, "nectar: --run: %v\n", err)
					return &exitError{64}
				}
				opts.Run = re
			}
			suites, err := pipetest.Load(args, pipetest.LoadOptions{Library: testLibrary})
			defer func() {
				for _, s := range suites {
					s.Close()
				}
			}()
			if err != nil {
				printLoadError(g.stderr, err)
				return &exitError{2}
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			rep := pipetest.Run(ctx, suites, opts)
			if junit != "" {
				if err := writeJUnit(junit, rep); err != nil {
					fmt.Fprintf(g.stderr, "nectar: --junit: %v\n", err)
					return &exitError{1}
				}
			}
			if asJSON {
				if err := rep.WriteJSON(g.stdout); err != nil {
					return err
				}
			} else {
				rep.WriteText(g.stdout, verbose)
				if rep.Coverage != nil {
					fmt.Fprintln(g.stdout)
					rep.Coverage.WriteTable(g.stdout)
				}
			}
			if rep.Failed > 0 {
				return &exitError{1}
			}
			if coverMin > 0 && rep.Coverage.Percent < coverMin {
				fmt.Fprintf(g.stderr, "nectar: coverage %.1f%% is under --cover-min %g%%\n", rep.Coverage.Percent, coverMin)
				return &exitError{1}
			}
			return nil
		},
	}
	cmd.AddCommand(testRecordCmd(g))
	cmd.Flags().StringVar(&run, "run", "", "run only the cases whose PIPELINE/CASE matches this regular expression")
	cmd.Flags().StringVar(&junit, "junit", "", "also write the results as JUnit XML to this file (for CI systems)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the results as JSON instead of text")
	cmd.Flags().BoolVar(&cover, "cover", false, "report the steps and branches (choice arms, try/catch, if, loop bodies, retries) no case reached, per pipeline")
	cmd.Flags().Float64Var(&coverMin, "cover-min", 0, "fail when total coverage is under this percentage (implies --cover)")
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "print a line for each case that passes too")
	cmd.Flags().IntVar(&parallel, "parallel", 0, "cases run at once (default: the number of CPUs)")
	return cmd
}

// executionRecord reads an execution's record from the running server's
// management API, or else from the store in --data-dir.
func executionRecord(ctx context.Context, g *globals, id string) (*history.Record, error) {
	return serverOr(ctx, g, func(c *apiClient) (rec *history.Record, err error) {
		err = c.do(ctx, "GET", "/api/executions/"+url.PathEscape(id), nil, &rec)
		return rec, err
	}, func(st store.Store) (*history.Record, error) { return history.Get(ctx, st, id) })
}

// testLibrary is the library a tested pipeline calls others in: its folder
// and the shipped pipelines, as nectar run has it. A shipped pipeline that
// does not load is left out (its own tests report it).
func testLibrary(opts engine.LoadOptions, dirs ...string) *engine.Library {
	lib, _ := app.Library(opts, dirs...)
	return lib
}

func writeJUnit(path string, rep *pipetest.Report) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := rep.WriteJUnit(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func testRecordCmd(g *globals) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "record EXECUTION_ID",
		Short: "Write a test case that replays a recorded execution",
		Long: `Write a test case from an execution recorded by nectar serve: its input, the
answers of its rest, google-drive, onedrive and pipeline steps as mocks, its
output (or error) as the expectation. Values the history masked stay masked.
The history keeps those answers only with its exchanges option on.

The case is printed, or written to --output (a new file; the pipeline is
named in it, so it may live anywhere: NAME.test.yaml beside the pipeline is
found by nectar test).`,
		Example: `  nectar test record 0193a1b2c3d4e5f6a7b8c9d0 -o orders.replay.test.yaml`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rec, err := executionRecord(cmd.Context(), g, args[0])
			if err != nil {
				return err
			}
			text, err := pipetest.RecordCase(rec)
			if err != nil {
				return err
			}
			if out == "" {
				_, err = g.stdout.Write(text)
				return err
			}
			text = append([]byte("pipeline: "+rec.Pipeline+"\n"), text...)
			f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if err != nil {
				return err
			}
			if _, err := f.Write(text); err != nil {
				f.Close()
				return err
			}
			return f.Close()
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the test file here (it must not exist) instead of printing the case")
	return cmd
}
