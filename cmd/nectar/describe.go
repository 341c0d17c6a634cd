package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/expression"
	"github.com/nectar-run/nectar/engine/value"
)

func schemaCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of pipeline files",
		Long: `Print a JSON Schema (draft 2020-12) of pipeline files, generated from the connector,
trigger and step declarations, for editors (VS Code's YAML extension, JetBrains IDEs):

  nectar schema > nectar.schema.json

and, in a pipeline file, "# yaml-language-server: $schema=nectar.schema.json" (VS Code)
or "# $schema: nectar.schema.json" (JetBrains). See docs/pipelines.md, "Editor support".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := value.Encode(engine.Schema())
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "%s\n", b)
			return nil
		},
	}
}

func connectorsCmd(g *globals) *cobra.Command {
	var markdown bool
	cmd := &cobra.Command{
		Use:   "connectors [NAME]",
		Short: "List connectors, or show one connector's options",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			list := engine.Connectors()
			if len(args) == 0 {
				for _, c := range list {
					fmt.Fprintf(g.stdout, "%-16s %s\n", c.Name, c.Summary)
				}
				return nil
			}
			for _, c := range list {
				if c.Name == args[0] {
					if markdown {
						io.WriteString(g.stdout, OptionsMarkdown(c.Options))
						return nil
					}
					fmt.Fprintf(g.stdout, "%s: %s\n", c.Name, c.Summary)
					if c.List {
						fmt.Fprintln(g.stdout, "(a list of the following)")
					}
					printOptions(g.stdout, c.Options, "  ")
					return nil
				}
			}
			return fmt.Errorf("unknown connector %q; run `nectar connectors` for the list", args[0])
		},
	}
	cmd.Flags().BoolVar(&markdown, "markdown", false, "print the options as a Markdown table")
	return cmd
}

func printOptions(w io.Writer, opts []engine.OptionInfo, indent string) {
	for _, o := range opts {
		req := ""
		if o.Required {
			req = " (required)"
		}
		def := ""
		if o.Default != "" {
			def = fmt.Sprintf(" [default %s]", o.Default)
		}
		enum := ""
		if len(o.Enum) > 0 {
			enum = " {" + strings.Join(o.Enum, "|") + "}"
		}
		fmt.Fprintf(w, "%s%s: %s%s%s%s — %s\n", indent, o.Name, o.Type, req, def, enum, o.Doc)
		printOptions(w, o.Options, indent+"  ")
	}
}

// OptionsMarkdown renders options as the Markdown table used in connector READMEs.
func OptionsMarkdown(opts []engine.OptionInfo) string {
	// A connector with operations gets a column saying which options apply
	// to which (their ops tags); the others keep five columns.
	withOps := false
	for _, o := range opts {
		withOps = withOps || len(o.Operations) > 0
	}
	var b strings.Builder
	if withOps {
		b.WriteString("| option | type | required | default | operations | description |\n|---|---|---|---|---|---|\n")
	} else {
		b.WriteString("| option | type | required | default | description |\n|---|---|---|---|---|\n")
	}
	var rows func(opts []engine.OptionInfo, prefix, ops string)
	rows = func(opts []engine.OptionInfo, prefix, ops string) {
		for _, o := range opts {
			req := ""
			if o.Required {
				req = "yes"
			}
			doc := o.Doc
			if len(o.Enum) > 0 {
				doc += " (one of: " + strings.Join(o.Enum, ", ") + ")"
			}
			opsCol := ""
			if withOps {
				if len(o.Operations) > 0 {
					ops = strings.Join(o.Operations, ", ")
				} else if prefix == "" {
					ops = "all"
				}
				opsCol = " " + ops + " |"
			}
			fmt.Fprintf(&b, "| `%s%s` | %s | %s | %s |%s %s |\n", prefix, o.Name, o.Type, req, o.Default, opsCol, strings.ReplaceAll(doc, "|", "\\|"))
			rows(o.Options, prefix+o.Name+".", ops)
		}
	}
	rows(opts, "", "")
	return b.String()
}

func functionsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "functions",
		Short: "List the expression functions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, f := range expression.Functions() {
				fmt.Fprintf(g.stdout, "%-40s %s\n", f.Usage, f.Doc)
			}
			return nil
		},
	}
}
