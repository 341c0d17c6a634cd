package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/internal/accountsapi"
	"github.com/nectar-run/nectar/secret"
	"github.com/nectar-run/nectar/store/open"
)

func accountsCmd(g *globals) *cobra.Command {
	return group("accounts", "Create, authorize, test and list the accounts steps call APIs with",
		`Accounts are who Nectar is when it calls an API. They live sealed
(AES-256-GCM) in the data directory; steps name them with account: NAME, and
OAuth tokens are obtained, cached and renewed by themselves.

Types: `+strings.Join(accounts.Types, ", ")+`.
Secrets are never given on the command line: pass --X-file PATH or --X-env VAR.

While nectar serve runs on the same --data-dir, these commands go through its
management API (the admin key: NECTAR_ADMIN_KEY, or admin.key in --data-dir),
so changes apply at once; rotate-key refuses until the server stops.`,
		accountsCreateCmd(g), accountsListCmd(g), accountsShowCmd(g), accountsDeleteCmd(g),
		accountsAuthorizeCmd(g), accountsTestCmd(g), accountsImportCmd(g), accountsRotateKeyCmd(g))
}

// secretFlag is a secret given as --NAME-file PATH or --NAME-env VAR
// (never on the command line), read into to.
type secretFlag struct {
	name, help string
	to         *secret.Secret
	file, env  string
}

func (s *secretFlag) add(cmd *cobra.Command) {
	cmd.Flags().StringVar(&s.file, s.name+"-file", "", s.help+": read from this file (final newline dropped)")
	cmd.Flags().StringVar(&s.env, s.name+"-env", "", s.help+": read from this environment variable")
}

// read sets *s.to from the file or the variable given, if any.
func (s *secretFlag) read() error {
	v, err := s.value()
	if err == nil {
		*s.to = v
	}
	return err
}

func (s *secretFlag) value() (secret.Secret, error) {
	name := s.name
	switch {
	case s.file != "" && s.env != "":
		return secret.Secret{}, fmt.Errorf("--%s-file and --%s-env: give one", name, name)
	case s.file == "-":
		b, err := io.ReadAll(os.Stdin)
		return secret.New(strings.TrimRight(string(b), "\r\n")), err
	case s.file != "":
		b, err := os.ReadFile(s.file)
		if err != nil {
			return secret.Secret{}, fmt.Errorf("--%s-file: %w", name, err)
		}
		return secret.New(strings.TrimRight(string(b), "\r\n")), nil
	case s.env != "":
		v, ok := os.LookupEnv(s.env)
		if !ok {
			return secret.Secret{}, fmt.Errorf("--%s-env: %s is not set", name, s.env)
		}
		return secret.New(v), nil
	}
	return secret.Secret{}, nil
}

func parsePairs(flag string, kvs []string) (map[string]string, error) {
	if len(kvs) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("--%s %q: expected key=value", flag, kv)
		}
		out[k] = v
	}
	return out, nil
}

func accountsCreateCmd(g *globals) *cobra.Command {
	var (
		a                                                     accounts.Account
		scopes, tokenReqParams, tokenReqHeaders, allowedHosts []string
		lifetime                                              string
		authStatus                                            int
		authPath, authValues                                  string
		test                                                  accounts.TestRequest
		testValues                                            string
		replace                                               bool
		refreshHeaders                                        []string
		testErrorValues                                       string
		noTest                                                bool
	)
	secrets := []*secretFlag{
		{name: "password", help: "basic: the password", to: &a.Password},
		{name: "api-key", help: "api-key: the key", to: &a.APIKey},
		{name: "header-value", help: "custom-header: the header value", to: &a.HeaderValue},
		{name: "token", help: "bearer: the token", to: &a.Token},
		{name: "client-secret", help: "OAuth client secret", to: &a.ClientSecret},
		{name: "service-account-key", help: "google-service-account: the JSON key", to: &a.ServiceAccountKey},
	}
	cmd := &cobra.Command{
		Use:   "create NAME --type TYPE [options]",
		Short: "Create an account",
		Example: `  nectar accounts create crm --type oauth2-client-credentials --token-url https://crm.example/oauth/token \
      --client-id nectar --client-secret-file secret.txt --scope "contacts.read contacts.write" \
      --base-url https://api.crm.example
  nectar accounts create drive --type oauth2 --provider google --client-id ID --client-secret-file secret.txt \
      --scope https://www.googleapis.com/auth/drive
  nectar accounts create shop --type api-key --key-name X-Api-Key --api-key-env SHOP_KEY \
      --allowed-host api.shop.example --allowed-host "*.cdn.shop.example"

An account's credentials go only to its hosts: the host of --base-url, a
built-in provider's API hosts (google: *.googleapis.com; microsoft:
graph.microsoft.com; mercadolivre: api.mercadolibre.com) and --allowed-host.
An account with none of them is refused at every request.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a.Name = args[0]
			for _, s := range secrets {
				if err := s.read(); err != nil {
					return err
				}
			}
			var err error
			for _, s := range scopes {
				a.Scopes = append(a.Scopes, strings.Fields(s)...)
			}
			for _, h := range allowedHosts {
				a.AllowedHosts = append(a.AllowedHosts, splitList(h)...)
			}
			if a.TokenParams, err = parsePairs("token-request-param", tokenReqParams); err != nil {
				return err
			}
			if a.TokenHeaders, err = parsePairs("token-request-header", tokenReqHeaders); err != nil {
				return err
			}
			if a.RefreshHeaders, err = parsePairs("refresh-request-header", refreshHeaders); err != nil {
				return err
			}
			if lifetime != "" {
				if err := a.TokenLifetime.UnmarshalText([]byte(lifetime)); err != nil {
					return fmt.Errorf("--token-lifetime: %w", err)
				}
			}
			a.AuthError = accounts.AuthErrorRule{Status: authStatus, Path: authPath, Values: splitList(authValues)}
			if test.URL != "" {
				test.SuccessValues = splitList(testValues)
				test.ErrorValues = splitList(testErrorValues)
				a.Test = &test
			}
			ops, err := g.accountOps(cmd.Context())
			if err != nil {
				return err
			}
			// Tested first (token, test request); saved only if it works.
			res, err := ops.put(cmd.Context(), &a, accounts.SaveOptions{Replace: replace, NoTest: noTest})
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "created account %s (%s)\n", a.Name, a.Type)
			if res != nil && res.Problem != "" {
				fmt.Fprintf(g.stdout, "note: %s\n", res.Problem)
			}
			if a.Type == accounts.TypeOAuth2 {
				fmt.Fprintf(g.stdout, "next: nectar accounts authorize %s\n", a.Name)
			}
			return nil
		},
	}
	for _, s := range secrets {
		s.add(cmd)
	}
	for _, o := range []struct {
		to         *string
		flag, help string
	}{
		{&a.Type, "type", "account type: " + strings.Join(accounts.Types, ", ")},
		{&a.Description, "description", "what the account is for"},
		{&a.Username, "username", "basic: the user name"},
		{&a.KeyName, "key-name", "api-key: the header or query parameter name"},
		{&a.KeyIn, "key-in", "api-key: header (default) or query"},
		{&a.HeaderName, "header-name", "custom-header: the header name"},
		{&a.Subject, "subject", "google-service-account: the user to impersonate (domain-wide delegation)"},
		{&a.Provider, "provider", "oauth2: google, microsoft, mercadolivre or a custom provider"},
		{&a.Tenant, "tenant", "oauth2 with microsoft: common (default), organizations, consumers or a tenant id"},
		{&a.AuthURL, "auth-url", "oauth2: authorization URL (instead of a provider)"},
		{&a.TokenURL, "token-url", "oauth2, oauth2-client-credentials: token URL"},
		{&a.ClientID, "client-id", "OAuth client id"},
		{&a.ScopeDelimiter, "scope-delimiter", "joins scopes in token requests (default a space)"},
		{&a.ClientAuth, "client-auth", "client credentials in token requests: body (default) or basic"},
		{&a.TokenBody, "token-request-body", "access-token request body template, with {{client_id}}, {{client_secret}}, {{scope}}… (JSON with a JSON Content-Type header)"},
		{&a.RefreshBody, "refresh-request-body", "oauth2: refresh-request body template, with {{refresh_token}}, {{client_id}}…"},
		{&a.RevokeURL, "revoke-url", "token revocation endpoint (RFC 7009), called when the account is deleted or authorized again"},
		{&a.TokenLocation, "token-location", "where API requests carry the token: header (default), query or body"},
		{&a.TokenHeader, "token-header", "header name for the token (default Authorization)"},
		{&a.TokenScheme, "token-scheme", "scheme before the token (default Bearer; none for the bare token)"},
		{&a.TokenParam, "token-param", "query or body field for the token (default access_token)"},
		{&lifetime, "token-lifetime", "lifetime of tokens sent without expires_in (default 1h)"},
		{&a.RedirectURI, "redirect-uri", "oauth2: fixed loopback callback, like http://127.0.0.1:8085/callback (default: a random port)"},
		{&authPath, "auth-error-path", "JSON field of the response body that signals an auth error"},
		{&authValues, "auth-error-values", "comma-separated values of --auth-error-path that mean auth failed"},
		{&a.BaseURL, "base-url", "the API's base URL: its host (and port, if given) may receive the credentials; base of a relative --test-url"},
		{&test.URL, "test-url", "URL of the test request (relative to --base-url, or absolute)"},
		{&test.Method, "test-method", "method of the test request (default GET)"},
		{&test.Body, "test-body", "JSON body of the test request"},
		{&test.SuccessPath, "test-success-path", "JSON field of the test answer that shows success"},
		{&testValues, "test-success-values", "comma-separated values of --test-success-path that mean success"},
		{&test.ErrorPath, "test-error-path", "JSON field of the test answer that shows failure"},
		{&testErrorValues, "test-error-values", "comma-separated values of --test-error-path that mean failure (default: any)"},
		{&test.ErrorMessagePath, "test-error-message-path", "JSON field of the test answer whose text a failure quotes"},
	} {
		cmd.Flags().StringVar(o.to, o.flag, "", o.help)
	}
	f := cmd.Flags()
	f.StringArrayVar(&scopes, "scope", nil, "scopes (repeatable, or space-separated)")
	f.StringArrayVar(&tokenReqParams, "token-request-param", nil, "extra token-request parameter key=value (audience, resource…; repeatable)")
	f.StringArrayVar(&tokenReqHeaders, "token-request-header", nil, "token-request header key=value (repeatable; refreshes too)")
	f.StringArrayVar(&refreshHeaders, "refresh-request-header", nil, "oauth2: refresh-request header key=value (repeatable)")
	f.StringArrayVar(&allowedHosts, "allowed-host", nil, "another host the credentials may go to: host, host:port or *.example.com (repeatable, or comma-separated)")
	f.IntVar(&authStatus, "auth-error-status", 0, "status that means the token was refused, besides 401")
	f.Float64Var(&a.RateLimit, "rate-limit", 0, "requests per second across all steps (0: none)")
	f.IntVar(&a.Burst, "burst", 0, "burst of the rate limit (default 1)")
	f.IntVar(&a.Concurrency, "concurrency", 0, "requests in flight at most (0: no limit)")
	f.BoolVar(&noTest, "no-test", false, "save without testing the account first (its token, its test request)")
	f.BoolVar(&replace, "replace", false, "replace an account of the same name")
	return cmd
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func accountsListCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List accounts (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: withOps(g.accountOps, func(ctx context.Context, ops accountOps, _ []string) error {
			// One unreadable record does not hide the others: they are
			// listed, and it is flagged.
			rows, warning, err := ops.list(ctx)
			if err != nil {
				return err
			}
			if warning != "" {
				fmt.Fprintf(g.stderr, "warning: %s\n", warning)
			}
			if asJSON {
				return writeJSON(g.stdout, rows)
			}
			tw := tabwriter.NewWriter(g.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tTYPE\tWHERE\tSTATE")
			for _, r := range rows {
				if r.State == "unreadable" {
					fmt.Fprintf(tw, "%s\t-\t-\tunreadable: %s\n", r.Name, r.Problem)
					continue
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, r.Type, where(r.Account), r.State)
			}
			return tw.Flush()
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func where(a *accounts.Account) string {
	switch {
	case a.Provider != "":
		return "provider " + a.Provider
	case a.TokenURL != "":
		if u, err := url.Parse(a.TokenURL); err == nil {
			return u.Host
		}
	case a.BaseURL != "":
		if u, err := url.Parse(a.BaseURL); err == nil {
			return u.Host
		}
	}
	return "-"
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func accountsShowCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show NAME",
		Short: "Show an account's definition and token state (secrets as ***)",
		Args:  cobra.ExactArgs(1),
		RunE: withOps(g.accountOps, func(ctx context.Context, ops accountOps, args []string) error {
			// Masked: token_params and token_headers values too.
			a, st, err := ops.get(ctx, args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(g.stdout, struct {
					*accounts.Account
					State       string    `json:"state"`
					Expiry      time.Time `json:"expiry,omitzero"`
					Scope       string    `json:"granted_scope,omitempty"`
					Renewable   bool      `json:"renewable"`
					TokenSHA256 string    `json:"token_sha256_prefix,omitempty"`
					Hosts       []string  `json:"credentials_go_to"`
				}{a, accountsapi.TokenState(st, a.Type), st.Expiry, st.Scope, st.Renewable, st.AccessTokenHash, append([]string{}, a.Hosts()...)})
			}
			b, err := yaml.Marshal(a)
			if err != nil {
				return err
			}
			g.stdout.Write(b)
			fmt.Fprintf(g.stdout, "state: %s\n", accountsapi.TokenState(st, a.Type))
			if h := a.Hosts(); len(h) > 0 {
				fmt.Fprintf(g.stdout, "credentials_go_to: %s\n", strings.Join(h, ", "))
			} else {
				fmt.Fprintf(g.stdout, "credentials_go_to: nowhere; set allowed_hosts (nectar accounts create %s --replace ... --allowed-host HOST) or base_url\n", a.Name)
			}
			if st.Scope != "" {
				fmt.Fprintf(g.stdout, "granted_scope: %s\n", st.Scope)
			}
			if st.AccessTokenHash != "" {
				fmt.Fprintf(g.stdout, "token_sha256_prefix: %s\n", st.AccessTokenHash)
			}
			if st.NeedsReauth {
				fmt.Fprintf(g.stdout, "reason: %s\nfix: nectar accounts authorize %s\n", st.ReauthReason, a.Name)
			}
			return nil
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func accountsDeleteCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete an account and its tokens",
		Args:  cobra.ExactArgs(1),
		RunE: withOps(g.accountOps, func(ctx context.Context, ops accountOps, args []string) error {
			if err := ops.remove(ctx, args[0]); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "deleted account %s\n", args[0])
			return nil
		}),
	}
}

func accountsAuthorizeCmd(g *globals) *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "authorize NAME",
		Short: "Log in through the account's OAuth provider and store its tokens",
		Long: `Prints the provider's consent URL and waits for the provider to redirect the
browser back to a loopback callback on 127.0.0.1 (the account's redirect_uri, or
a random port). Register http://127.0.0.1 (any port) or the fixed redirect_uri
with the provider's app. The tokens are stored sealed.

While nectar serve runs on the same --data-dir, the server runs the flow (its
callback listener, on this host's loopback) and stores the tokens; this
command prints the consent URL and waits for the outcome.`,
		Args: cobra.ExactArgs(1),
		RunE: withOps(g.accountOps, func(ctx context.Context, ops accountOps, args []string) error {
			res, err := ops.authorize(ctx, args[0], timeout, func(u string) {
				fmt.Fprintf(g.stdout, "Open this URL in a browser and consent:\n\n  %s\n\nWaiting for the provider to call back…\n", u)
			})
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "authorized %s", args[0])
			if res.Scope != "" {
				fmt.Fprintf(g.stdout, " (scopes: %s)", res.Scope)
			}
			fmt.Fprintln(g.stdout)
			if res.Warning != "" {
				fmt.Fprintf(g.stderr, "warning: %s\n", res.Warning)
			}
			return nil
		}),
	}
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Minute, "how long to wait for the callback")
	return cmd
}

func accountsTestCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "test NAME",
		Short: "Get a token and send the account's test request; explain a failure",
		Args:  cobra.ExactArgs(1),
		RunE: withOps(g.accountOps, func(ctx context.Context, ops accountOps, args []string) error {
			res, err := ops.test(ctx, args[0])
			if err != nil {
				return err
			}
			if res.Token {
				fmt.Fprintln(g.stdout, "token: ok")
			}
			if res.Request != "" {
				fmt.Fprintf(g.stdout, "request: %s -> %d\n", res.Request, res.Status)
			}
			if !res.OK {
				fmt.Fprintf(g.stdout, "FAILED: %s\n", res.Problem)
				return &exitError{1}
			}
			if res.Problem != "" {
				fmt.Fprintf(g.stdout, "note: %s\n", res.Problem)
			}
			fmt.Fprintf(g.stdout, "account %s works\n", args[0])
			return nil
		}),
	}
}

func accountsImportCmd(g *globals) *cobra.Command {
	var noTest bool
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Create or replace the providers and accounts of a YAML file (${env:X}, ${file:path} expanded)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return err
			}
			f, err := accounts.ParseFile(data, filepath.Dir(args[0]))
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			ops, err := g.accountOps(cmd.Context())
			if err != nil {
				return err
			}
			names, err := ops.importFile(cmd.Context(), f, accounts.SaveOptions{NoTest: noTest})
			if err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "imported %d providers and %d accounts: %s\n", len(f.Providers), len(names), strings.Join(names, ", "))
			return nil
		},
	}
	cmd.Flags().BoolVar(&noTest, "no-test", false, "import without testing the accounts first")
	return cmd
}

func accountsRotateKeyCmd(g *globals) *cobra.Command {
	var newKeyFile string
	cmd := &cobra.Command{
		Use:   "rotate-key",
		Short: "Reseal every account and token with a new master key",
		Long: `Generates a new master key, reseals every sealed value with it, then replaces
the key file in the data directory. When the key comes from NECTAR_MASTER_KEY,
give the new key with --new-key-file (base64 of 32 bytes; generate one with
head -c 32 /dev/urandom | base64) and set NECTAR_MASTER_KEY to it afterwards.
An interrupted rotation can be run again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if err := refuseWhileServing(g, "nectar accounts rotate-key"); err != nil {
				return err
			}
			st, err := g.data().Store(ctx)
			if err != nil {
				return err
			}
			old, err := g.data().Sealer(ctx)
			if err != nil {
				return err
			}
			_, fromEnv := os.LookupEnv(secret.EnvKey)
			var key []byte
			switch {
			case newKeyFile != "":
				b, err := os.ReadFile(newKeyFile)
				if err != nil {
					return err
				}
				if key, err = secret.ParseKey(string(b)); err != nil {
					return fmt.Errorf("%s: %w", newKeyFile, err)
				}
			case fromEnv:
				return fmt.Errorf("the master key comes from %s: give the new key with --new-key-file", secret.EnvKey)
			default:
				key = secret.GenerateKey()
				// An interrupted rotation left its new key here, and some
				// values may be sealed with it already: finish with it.
				if b, err := os.ReadFile(filepath.Join(g.dataDir, secret.KeyFile+".next")); err == nil {
					if k, err := secret.ParseKey(string(b)); err == nil {
						key = k
					}
				}
			}
			next, err := secret.NewSealer(key)
			if err != nil {
				return err
			}
			if !fromEnv {
				// Keep the new key next to the old one until the rotation is
				// done, so an interruption loses nothing.
				pending := filepath.Join(g.dataDir, secret.KeyFile+".next")
				if err := os.WriteFile(pending, []byte(secret.EncodeKey(key)+"\n"), 0o600); err != nil {
					return err
				}
			}
			n, err := accounts.RotateKey(ctx, st, old, next)
			if err != nil {
				return err
			}
			// The store now expects the new key (see open.Sealer).
			if err := open.RecordKey(ctx, st, next); err != nil {
				return err
			}
			if fromEnv {
				fmt.Fprintf(g.stdout, "resealed %d values with key %s; now set %s to the new key\n", n, next.KeyID(), secret.EnvKey)
				return nil
			}
			if err := secret.SaveKey(g.dataDir, key); err != nil {
				return err
			}
			// Only now: had the rotation failed, values sealed with the
			// new key would need it (a second run picks it up).
			_ = os.Remove(filepath.Join(g.dataDir, secret.KeyFile+".next"))
			fmt.Fprintf(g.stdout, "resealed %d values; the master key is now %s (was %s)\n", n, next.KeyID(), old.KeyID())
			return nil
		},
	}
	cmd.Flags().StringVar(&newKeyFile, "new-key-file", "", "file holding the new master key (base64)")
	return cmd
}

func providersCmd(g *globals) *cobra.Command {
	return group("providers", "List, add and show OAuth2 providers for oauth2 accounts", "",
		providersListCmd(g), providersAddCmd(g), providersShowCmd(g))
}

func providersListCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List providers: google, microsoft, mercadolivre and custom ones",
		Args:  cobra.NoArgs,
		RunE: withOps(g.accountOps, func(ctx context.Context, ops accountOps, _ []string) error {
			list, err := ops.providers(ctx)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(g.stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tKIND\tAUTH URL")
			for _, p := range list {
				kind := "custom"
				if p.Builtin {
					kind = "built-in"
				}
				if p.Problem != "" {
					fmt.Fprintf(tw, "%s\t%s\tunusable: %s\n", p.Name, kind, p.Problem)
					continue
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Name, kind, p.AuthURL)
			}
			return tw.Flush()
		}),
	}
}

func providersShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "show NAME",
		Short: "Show a provider",
		Args:  cobra.ExactArgs(1),
		RunE: withOps(g.accountOps, func(ctx context.Context, ops accountOps, args []string) error {
			p, err := ops.provider(ctx, args[0])
			if err != nil {
				return err
			}
			b, err := yaml.Marshal(p.Provider)
			if err != nil {
				return err
			}
			g.stdout.Write(b)
			if p.Builtin {
				fmt.Fprintln(g.stdout, "builtin: true")
			}
			return nil
		}),
	}
}

func providersAddCmd(g *globals) *cobra.Command {
	var (
		p      accounts.Provider
		base   string
		scopes []string
		params []string
		noPKCE bool
	)
	// The text options: each given one replaces the base's value.
	texts := []struct {
		flag, help string
		field      func(*accounts.Provider) *string
	}{
		{"auth-url", "authorization (consent) URL; may hold {tenant}", func(p *accounts.Provider) *string { return &p.AuthURL }},
		{"token-url", "token URL (code exchange); may hold {tenant}", func(p *accounts.Provider) *string { return &p.TokenURL }},
		{"refresh-url", "refresh URL (default: the token URL)", func(p *accounts.Provider) *string { return &p.RefreshURL }},
		{"prompt", "prompt parameter: consent, login, none or select_account", func(p *accounts.Provider) *string { return &p.Prompt }},
		{"scope-delimiter", "joins scopes (default a space)", func(p *accounts.Provider) *string { return &p.ScopeDelimiter }},
		{"token-location", "where API requests carry the token: header, query or body", func(p *accounts.Provider) *string { return &p.TokenLocation }},
		{"token-param", "query or body field for the token", func(p *accounts.Provider) *string { return &p.TokenParam }},
		{"default-tenant", "fills {tenant} when an account names none", func(p *accounts.Provider) *string { return &p.DefaultTenant }},
	}
	cmd := &cobra.Command{
		Use:   "add NAME --auth-url URL --token-url URL [options]",
		Short: "Add or replace a custom provider (--base copies a built-in one)",
		Example: `  nectar providers add acme --auth-url https://login.acme.example/authorize --token-url https://login.acme.example/token
  nectar providers add work-ms --base microsoft --default-tenant contoso.onmicrosoft.com`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := &accounts.Provider{Name: args[0], PKCE: true}
			if base != "" {
				b, ok := accounts.BuiltinProvider(base)
				if !ok {
					return fmt.Errorf("--base %s: not a built-in provider (google, microsoft, mercadolivre)", base)
				}
				out = b
				out.Name = args[0]
			}
			f := cmd.Flags()
			for _, o := range texts {
				if f.Changed(o.flag) {
					*o.field(out) = *o.field(&p)
				}
			}
			for _, s := range scopes {
				out.Scopes = append(out.Scopes, strings.Fields(s)...)
			}
			extra, err := parsePairs("param", params)
			if err != nil {
				return err
			}
			if len(extra) > 0 {
				merged := map[string]string{}
				for k, v := range out.AuthParams {
					merged[k] = v
				}
				for k, v := range extra {
					merged[k] = v
				}
				out.AuthParams = merged
			}
			if noPKCE {
				out.PKCE = false
			}
			if f.Changed("redirect-on-refresh") {
				out.RedirectOnRefresh = p.RedirectOnRefresh
			}
			ops, err := g.accountOps(cmd.Context())
			if err != nil {
				return err
			}
			if err := ops.putProvider(cmd.Context(), out); err != nil {
				return err
			}
			fmt.Fprintf(g.stdout, "saved provider %s\n", out.Name)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&base, "base", "", "start from a built-in provider: google, microsoft or mercadolivre")
	for _, o := range texts {
		f.StringVar(o.field(&p), o.flag, "", o.help)
	}
	f.StringArrayVar(&scopes, "scope", nil, "scopes every account of this provider gets (repeatable)")
	f.StringArrayVar(&params, "param", nil, "extra consent-URL parameter key=value (repeatable; not response_type, client_id, redirect_uri, state, code_challenge, code_challenge_method)")
	f.BoolVar(&noPKCE, "no-pkce", false, "do not send a PKCE challenge (servers that reject it)")
	f.BoolVar(&p.RedirectOnRefresh, "redirect-on-refresh", false, "send redirect_uri with refresh requests too")
	return cmd
}
