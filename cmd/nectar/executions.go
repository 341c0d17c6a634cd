package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/nectar-run/nectar/history"
	"github.com/nectar-run/nectar/internal/linkheader"
	"github.com/nectar-run/nectar/store"
)

// The execution history lives in the bbolt file, which one process opens at
// a time: while nectar serve runs on the same --data-dir, these commands
// read through its management API (found in serve.json, with the admin
// key); otherwise they open the store themselves.
func executionsCmd(g *globals) *cobra.Command {
	var (
		pipeline, status, trigger, before, cursor string
		limit                                     int
		asJSON, all                               bool
	)
	list := &cobra.Command{
		Use:   "list",
		Short: "List executions, newest first",
		Long: `List recorded executions, a page at a time (--limit), newest segment first: the
records of one write (executions that ended together) newest first, so an
execution that ran long is listed with those it ended with.

When there is more, the page ends with "next page: --cursor <cursor>" (on
stderr): run the same command with that --cursor for the next page. Paging
this way lists every execution recorded when it began exactly once; --all
follows the cursors itself. --before is a filter (executions started before
that one), not a way to page.`,
		Example: `  nectar executions list --pipeline orders --status failed
  nectar executions list --limit 200 --json
  nectar executions list --limit 20 --cursor MDBkYzY1YzY0ZGUwOTEw...
  nectar executions list --all --status failed`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 1 || limit > 1000 {
				return fmt.Errorf("--limit must be from 1 to 1000, not %d", limit)
			}
			f := history.Filter{Pipeline: pipeline, Status: status, Trigger: trigger, Before: before, Cursor: cursor, Limit: limit}
			var recs []*history.Record
			for {
				page, err := serverOr(cmd.Context(), g, func(c *apiClient) (p listPage, err error) {
					q := url.Values{}
					for k, v := range map[string]string{"pipeline": pipeline, "status": status, "trigger": trigger, "before": before, "cursor": f.Cursor} {
						if v != "" {
							q.Set(k, v)
						}
					}
					q.Set("limit", strconv.Itoa(limit))
					hdr, err := c.doHeader(cmd.Context(), "GET", "/api/executions?"+q.Encode(), nil, &p.recs)
					p.next = nextCursor(hdr)
					return p, err
				}, func(st store.Store) (p listPage, err error) {
					p.recs, p.next, err = history.ListScan(cmd.Context(), st, f, 0)
					return p, err
				})
				if errors.Is(err, history.ErrCursor) {
					return fmt.Errorf("--cursor: not a cursor a page of nectar executions list printed")
				}
				if err != nil {
					return err
				}
				recs = append(recs, page.recs...)
				f.Cursor = page.next
				if !all || f.Cursor == "" {
					break
				}
			}
			if asJSON {
				if recs == nil {
					recs = []*history.Record{}
				}
				b, _ := json.MarshalIndent(recs, "", "  ")
				fmt.Fprintln(g.stdout, string(b))
			} else {
				tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tPIPELINE\tTRIGGER\tSTATUS\tCODE\tSTART\tDURATION\tCONSUMER")
				for _, r := range recs {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", r.ID, r.Pipeline, r.Trigger, r.Status, r.Code,
						r.Start.Local().Format(time.DateTime), time.Duration(r.DurationMS*float64(time.Millisecond)).Round(time.Microsecond), r.Consumer)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
			}
			if f.Cursor != "" {
				fmt.Fprintf(g.stderr, "next page: --cursor %s\n", f.Cursor)
			}
			return nil
		},
	}
	list.Flags().StringVar(&pipeline, "pipeline", "", "only this pipeline")
	list.Flags().StringVar(&status, "status", "", "only ok or failed executions")
	list.Flags().StringVar(&trigger, "trigger", "", "only executions of this trigger (http, schedule, event, run)")
	list.Flags().StringVar(&before, "before", "", "only executions started before this one (an id; a filter: page with --cursor)")
	list.Flags().StringVar(&cursor, "cursor", "", `go on where a page ended (the cursor its "next page:" line gave)`)
	list.Flags().IntVar(&limit, "limit", 50, "at most this many a page (1 to 1000)")
	list.Flags().BoolVar(&all, "all", false, "list every page, not just one")
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

// listPage is a page of nectar executions list and the cursor of the next.
type listPage struct {
	recs []*history.Record
	next string
}

// nextCursor returns the cursor of the Link rel="next" of an answer of
// GET /api/executions ("" for none), read as RFC 8288 allows: a proxy may
// rewrite the header nectar serve wrote.
func nextCursor(hdr http.Header) string {
	if u := linkheader.Next(&url.URL{}, hdr.Values("Link")); u != nil {
		return u.Query().Get("cursor")
	}
	return ""
}
