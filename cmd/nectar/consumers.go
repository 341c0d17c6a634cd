package main

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/nectar-run/nectar/consumers"
	"github.com/nectar-run/nectar/store"
)

// consumerOps is what the consumers commands need, from a running server's
// API or from the store directly.
type consumerOps interface {
	create(ctx context.Context, c consumers.Consumer) (*consumers.Consumer, error)
	list(ctx context.Context) ([]*consumers.Consumer, error)
	remove(ctx context.Context, name string) error
	addKey(ctx context.Context, name string) (string, error)
	addBasic(ctx context.Context, name, user string) (string, error)
}

type apiConsumers struct{ c *apiClient }

func (a apiConsumers) create(ctx context.Context, c consumers.Consumer) (*consumers.Consumer, error) {
	var out consumers.Consumer
	return &out, a.c.do(ctx, "POST", "/api/consumers", c, &out)
}
func (a apiConsumers) list(ctx context.Context) ([]*consumers.Consumer, error) {
	var out []*consumers.Consumer
	return out, a.c.do(ctx, "GET", "/api/consumers", nil, &out)
}
func (a apiConsumers) remove(ctx context.Context, name string) error {
	return a.c.do(ctx, "DELETE", "/api/consumers/"+url.PathEscape(name), nil, nil)
}
func (a apiConsumers) addKey(ctx context.Context, name string) (string, error) {
	var out struct {
		Key string `json:"key"`
	}
	return out.Key, a.c.do(ctx, "POST", "/api/consumers/"+url.PathEscape(name)+"/keys", nil, &out)
}
func (a apiConsumers) addBasic(ctx context.Context, name, user string) (string, error) {
	var out struct {
		Password string `json:"password"`
	}
	return out.Password, a.c.do(ctx, "POST", "/api/consumers/"+url.PathEscape(name)+"/basic", map[string]string{"username": user}, &out)
}

type storeConsumers struct{ m *consumers.Manager }

func (s storeConsumers) create(ctx context.Context, c consumers.Consumer) (*consumers.Consumer, error) {
	return s.m.Create(ctx, c)
}
func (s storeConsumers) list(ctx context.Context) ([]*consumers.Consumer, error) {
	return s.m.List(), nil
}
func (s storeConsumers) remove(ctx context.Context, name string) error { return s.m.Delete(ctx, name) }
func (s storeConsumers) addKey(ctx context.Context, name string) (string, error) {
	return s.m.AddKey(ctx, name)
}
func (s storeConsumers) addBasic(ctx context.Context, name, user string) (string, error) {
	return s.m.AddBasic(ctx, name, user)
}

func (g *globals) openConsumers(ctx context.Context) (consumerOps, error) {
	return serverOr(ctx, g, func(c *apiClient) (consumerOps, error) { return apiConsumers{c}, nil },
		func(st store.Store) (consumerOps, error) {
			m, err := consumers.New(ctx, st)
			if err != nil {
				return nil, err
			}
			return storeConsumers{m}, nil
		})
}

func consumersCmd(g *globals) *cobra.Command {
	var (
		pipelines []string
		desc      string
		rate      string
		basicUser string
		withKey   bool
	)
	create := &cobra.Command{
		Use:     "create NAME",
		Short:   "Create a consumer (and, with --key, its first API key)",
		Example: "  nectar consumers create shop --pipelines orders,customers --rate 100/minute --key",
		Args:    cobra.ExactArgs(1),
		RunE: withOps(g.openConsumers, func(ctx context.Context, ops consumerOps, args []string) error {
			c := consumers.Consumer{Name: args[0], Description: desc, Pipelines: pipelines}
			if rate != "" {
				n, per, ok := strings.Cut(rate, "/")
				var req int
				if _, err := fmt.Sscanf(n, "%d", &req); !ok || err != nil {
					return fmt.Errorf("--rate %q: expected N/second, N/minute, N/hour or N/day", rate)
				}
				c.RateLimit = &consumers.Limit{Requests: req, Per: per}
			}
			if _, err := ops.create(ctx, c); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "consumer %s created\n", args[0])
			if withKey {
				key, err := ops.addKey(ctx, args[0])
				if err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "API key (shown once; send it in the apikey header):\n%s\n", key)
			}
			return nil
		}),
	}
	create.Flags().StringSliceVar(&pipelines, "pipelines", nil, "pipelines the consumer may call (* for all)")
	create.Flags().StringVar(&desc, "description", "", "what the consumer is")
	create.Flags().StringVar(&rate, "rate", "", "rate limit: N/second, N/minute, N/hour or N/day")
	create.Flags().BoolVar(&withKey, "key", false, "issue an API key too")
	list := &cobra.Command{
		Use:   "list",
		Short: "List consumers (key ids, never keys)",
		Args:  cobra.NoArgs,
		RunE: withOps(g.openConsumers, func(ctx context.Context, ops consumerOps, args []string) error {
			all, err := ops.list(ctx)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tPIPELINES\tKEYS\tBASIC\tRATE LIMIT")
			for _, c := range all {
				var keys, users []string
				for _, k := range c.Keys {
					keys = append(keys, k.ID+"…")
				}
				for _, b := range c.Basic {
					users = append(users, b.Username)
				}
				rl := "-"
				if c.RateLimit != nil {
					rl = fmt.Sprintf("%d/%s", c.RateLimit.Requests, c.RateLimit.Per)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.Name, strings.Join(c.Pipelines, ","), strings.Join(keys, ","), strings.Join(users, ","), rl)
			}
			return tw.Flush()
		}),
	}
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a consumer; its keys stop working",
		Args:  cobra.ExactArgs(1),
		RunE: withOps(g.openConsumers, func(ctx context.Context, ops consumerOps, args []string) error {
			if err := ops.remove(ctx, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "consumer %s deleted\n", args[0])
			return nil
		}),
	}
	addKey := &cobra.Command{
		Use:   "add-key NAME",
		Short: "Issue an API key, or with --basic USER a Basic credential, for a consumer",
		Args:  cobra.ExactArgs(1),
		RunE: withOps(g.openConsumers, func(ctx context.Context, ops consumerOps, args []string) error {
			if basicUser != "" {
				pwd, err := ops.addBasic(ctx, args[0], basicUser)
				if err != nil {
					return err
				}
				fmt.Fprintf(g.stdout, "Basic credential (password shown once):\nusername: %s\npassword: %s\n", basicUser, pwd)
				return nil
			}
			key, err := ops.addKey(ctx, args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "API key (shown once; send it in the apikey header):\n%s\n", key)
			return nil
		}),
	}
	addKey.Flags().StringVar(&basicUser, "basic", "", "issue a Basic credential with this username instead of an API key")
	return group("consumers", "Manage the consumers that call HTTP-triggered pipelines",
		`A consumer is a named caller of pipelines, as in Digibee: it owns API keys
(sent in the apikey header) and Basic credentials, is allowed on given
pipelines, and may have a rate limit. Keys and passwords are shown once and
stored hashed. While nectar serve runs on the same --data-dir, the commands go
through its management API, so changes apply at once.`,
		create, list, del, addKey)
}
