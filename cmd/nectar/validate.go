package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/pipetest"
)

func validateCmd(g *globals) *cobra.Command {
	var globalsFile string
	cmd := &cobra.Command{
		Use:   "validate FILE|DIR…",
		Short: "Check pipeline files: every problem with file:line:col",
		Long: `Load and compile pipeline files without running them: every option is checked
against its connector, every expression, jq program and JOLT spec is compiled.
All problems of every file are printed, one per line, as file:line:col: path:
what. Test files (NAME.test.yaml, tests/*.yaml) are checked as nectar test
loads them, with the pipeline they test. The exit code is 2 when any file has
a problem.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts, err := loadOptions(globalsFile)
			if err != nil {
				fmt.Fprintf(g.stderr, "nectar: %v\n", err)
				return &exitError{2}
			}
			bad := 0
			for _, arg := range args {
				files := []string{arg}
				if list, err := engine.PipelineFiles(arg); err == nil && len(list) > 0 {
					files = list
				}
				// A folder's test files are checked too, as nectar test
				// would load them (a file given by name is taken as it is).
				if st, err := os.Stat(arg); err == nil && st.IsDir() {
					if tests, err := pipetest.Find(arg); err == nil {
						files = append(files, tests...)
					}
				}
				for _, f := range files {
					if pipetest.IsTestFile(f) {
						s, err := pipetest.LoadFile(f, pipetest.LoadOptions{Library: testLibrary})
						if err != nil {
							printLoadError(g.stderr, err)
							bad++
							continue
						}
						fmt.Fprintf(g.stdout, "%s: ok (tests of %s, %d cases)\n", f, s.Pipeline.Name, len(s.Cases))
						s.Close()
						continue
					}
					p, err := engine.LoadFile(f, opts)
					if err != nil {
						printLoadError(g.stderr, err)
						bad++
						continue
					}
					p.Close(context.Background())
					fmt.Fprintf(g.stdout, "%s: ok (%s)\n", f, p.Name)
				}
			}
			if bad > 0 {
				return &exitError{2}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&globalsFile, "globals", "", "globals file to validate against")
	return cmd
}
