package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/nectar-run/nectar/engine"
)

func validateCmd(g *globals) *cobra.Command {
	var globalsFile string
	cmd := &cobra.Command{
		Use:   "validate FILE|DIR…",
		Short: "Check pipeline files: every problem with file:line:col",
		Long: `Load and compile pipeline files without running them: every option is checked
against its connector, every expression, jq program and JOLT spec is compiled.
All problems of every file are printed, one per line, as file:line:col: path:
what. The exit code is 2 when any file has a problem.`,
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
				for _, f := range files {
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
