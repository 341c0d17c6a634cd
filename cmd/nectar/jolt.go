package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/jolt"
)

func joltCmd(g *globals) *cobra.Command {
	var specFile, contextFile string
	cmd := &cobra.Command{
		Use:   "jolt --spec SPEC.json [--context CONTEXT.json] [INPUT.json]",
		Short: "Apply a JOLT chain to a JSON document, like the JOLT demo site",
		Long: `Apply a JOLT chain (a list of {operation, spec}) to a JSON document and print
the result. The input is read from INPUT.json, or standard input when it is
omitted. --context is the object that ^ reads in modify specs. A bad spec is
reported with the path of the offending key; the exit code is then 2.`,
		Example: `  nectar jolt --spec rename.json order.json
  echo '{"rating": 3}' | nectar jolt --spec spec.json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if specFile == "" {
				return fmt.Errorf("--spec is required")
			}
			data, err := os.ReadFile(specFile)
			if err != nil {
				fmt.Fprintf(g.stderr, "nectar: %v\n", err)
				return &exitError{2}
			}
			spec, err := engine.ParseYAML(data)
			if err != nil {
				fmt.Fprintf(g.stderr, "nectar: %s: %v\n", specFile, err)
				return &exitError{2}
			}
			t, err := jolt.CompileChain(spec)
			if err != nil {
				fmt.Fprintf(g.stderr, "nectar: %s: %v\n", specFile, err)
				return &exitError{2}
			}
			var jctx *value.Object
			if contextFile != "" {
				c, err := readJSONFile(contextFile)
				if err != nil {
					fmt.Fprintf(g.stderr, "nectar: %v\n", err)
					return &exitError{3}
				}
				o, ok := c.(*value.Object)
				if !ok {
					fmt.Fprintf(g.stderr, "nectar: %s: expected an object, got %s\n", contextFile, value.TypeName(c))
					return &exitError{3}
				}
				jctx = o
			}
			input := "-"
			if len(args) == 1 {
				input = args[0]
			}
			in, err := readInput(g, input)
			if err != nil {
				fmt.Fprintf(g.stderr, "nectar: %v\n", err)
				return &exitError{3}
			}
			out, err := t.Apply(in, jctx)
			if err != nil {
				fmt.Fprintf(g.stderr, "nectar: %v\n", err)
				return &exitError{1}
			}
			b, err := value.Encode(out)
			if err != nil {
				return err
			}
			g.stdout.Write(append(b, '\n'))
			return nil
		},
	}
	cmd.Flags().StringVar(&specFile, "spec", "", "the JOLT chain file (JSON or YAML)")
	cmd.Flags().StringVar(&contextFile, "context", "", "the context object read by ^ in modify specs")
	return cmd
}

func readJSONFile(path string) (any, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	v, err := value.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}
