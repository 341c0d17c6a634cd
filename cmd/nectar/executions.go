package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/store"
)

// The execution history lives in the bbolt file, which one process opens at
// a time: while nectar serve runs on the same --data-dir, these commands
// read through its management API (found in serve.json, with the admin
// key); otherwise they open the store themselves.
func executionsCmd(g *globals) *cobra.Command {
	var (
		pipeline, status, trigger, before string
		limit                             int
		asJSON                            bool
	)
	list := &cobra.Command{
		Use:   "list",
		Short: "List executions, newest first",
		Example: `  nectar executions list --pipeline orders --status failed
  nectar executions list --limit 200 --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f := history.Filter{Pipeline: pipeline, Status: status, Trigger: trigger, Before: before, Limit: limit}
			recs, err := serverOr(cmd.Context(), g, func(c *apiClient) (recs []*history.Record, err error) {
				q := url.Values{}
				for k, v := range map[string]string{"pipeline": pipeline, "status": status, "trigger": trigger, "before": before} {
					if v != "" {
						q.Set(k, v)
					}
				}
				q.Set("limit", strconv.Itoa(limit))
				err = c.do(cmd.Context(), "GET", "/api/executions?"+q.Encode(), nil, &recs)
				return recs, err
			}, func(st store.Store) ([]*history.Record, error) { return history.List(cmd.Context(), st, f) })
			if err != nil {
				return err
			}
			if asJSON {
				b, _ := json.MarshalIndent(recs, "", "  ")
				fmt.Fprintln(g.stdout, string(b))
				return nil
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tPIPELINE\tTRIGGER\tSTATUS\tCODE\tSTART\tDURATION\tCONSUMER")
			for _, r := range recs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", r.ID, r.Pipeline, r.Trigger, r.Status, r.Code,
					r.Start.Local().Format(time.DateTime), time.Duration(r.DurationMS*float64(time.Millisecond)).Round(time.Microsecond), r.Consumer)
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVar(&pipeline, "pipeline", "", "only this pipeline")
	list.Flags().StringVar(&status, "status", "", "only ok or failed executions")
	list.Flags().StringVar(&trigger, "trigger", "", "only executions of this trigger (http, schedule, event, run)")
	list.Flags().StringVar(&before, "before", "", "only executions older than this id (paging)")
	list.Flags().IntVar(&limit, "limit", 50, "at most this many")
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	show := &cobra.Command{
		Use:   "show ID",
		Short: "Show one execution: error, steps, input and output (sensitive fields masked)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rec, err := executionRecord(cmd.Context(), g, args[0])
			if err != nil {
				return err
			}
			b, _ := json.MarshalIndent(rec, "", "  ")
			fmt.Fprintln(g.stdout, string(b))
			return nil
		},
	}
	return group("executions", "List and show recorded executions",
		`List and show the executions nectar serve recorded. While the server runs on
the same --data-dir the commands ask it (through the management API);
otherwise they read the data directory.`,
		list, show)
}
