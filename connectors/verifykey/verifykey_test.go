package verifykey_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/nectar-run/nectar/accounts"
	_ "github.com/nectar-run/nectar/connectors/all"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/engine/enginetest"
	"github.com/nectar-run/nectar/engine/value"
	"github.com/nectar-run/nectar/secret"
	"github.com/nectar-run/nectar/store/bolt"
)

// runtime returns a runtime whose accounts manager, over a bbolt store in a
// temporary directory, holds the account partners with api_key k-account.
func runtime(t testing.TB) *engine.Runtime {
	t.Helper()
	st, err := bolt.Open(t.TempDir(), bolt.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, _ := secret.NewSealer(secret.GenerateKey())
	m := accounts.NewManager(st, sealer)
	if err := m.Create(context.Background(), &accounts.Account{Name: "partners", Type: "api-key", KeyName: "x-api-key", APIKey: secret.New("k-account")}); err != nil {
		t.Fatal(err)
	}
	// idp holds the public URL of a JWKS, as for a jwt trigger: anyone can
	// read it, so it is no key to compare with.
	if err := m.Create(context.Background(), &accounts.Account{Name: "idp", Type: "bearer", Token: secret.New("https://idp.example/.well-known/jwks.json")}); err != nil {
		t.Fatal(err)
	}
	rt := &engine.Runtime{}
	accounts.Install(rt, m)
	return rt
}

func TestVerifyKey(t *testing.T) {
	t.Setenv("NECTAR_TEST_APIKEY", "k-env")
	tests := []struct {
		name, step, input string
		accounts          bool
		wantErr           string
		wantCode          int
	}{
		{name: "the environment's key passes", step: `{key: '{{ message.k }}', env: NECTAR_TEST_APIKEY}`, input: `{"k":"k-env"}`},
		{name: "a wrong key fails with 401", step: `{key: '{{ message.k }}', env: NECTAR_TEST_APIKEY}`, input: `{"k":"k-en"}`, wantErr: "401: invalid key", wantCode: 401},
		{name: "a missing key fails as a wrong one", step: `{key: '{{ message.k }}', env: NECTAR_TEST_APIKEY}`, input: `{}`, wantErr: "401: invalid key", wantCode: 401},
		{name: "a key that is not a string fails", step: `{key: '{{ message.k }}', env: NECTAR_TEST_APIKEY}`, input: `{"k":1}`, wantErr: "401: invalid key", wantCode: 401},
		{name: "status and error are the step's", step: `{key: '{{ message.k }}', env: NECTAR_TEST_APIKEY, status: 403, error: 'no entry for {{ message.who }}'}`, input: `{"k":"x","who":"acme"}`, wantErr: "403: no entry for acme", wantCode: 403},
		{name: "the environment wins over the account", step: `{key: '{{ message.k }}', env: NECTAR_TEST_APIKEY, account: partners}`, input: `{"k":"k-account"}`, accounts: true, wantErr: "401: invalid key", wantCode: 401},
		{name: "the account's key when the variable is not set", step: `{key: '{{ message.k }}', env: NECTAR_UNSET_APIKEY, account: partners}`, input: `{"k":"k-account"}`, accounts: true},
		{name: "an unknown account and no variable is 503", step: `{key: '{{ message.k }}', env: NECTAR_UNSET_APIKEY, account: nobody}`, input: `{"k":"x"}`, accounts: true, wantErr: "503: verify-key: no key is configured: set NECTAR_UNSET_APIKEY or create the account nobody", wantCode: 503},
		{name: "a public JWKS URL is no key", step: `{key: '{{ message.k }}', account: idp}`, input: `{"k":"https://idp.example/.well-known/jwks.json"}`, accounts: true, wantErr: "500: verify-key: account \"idp\" holds a public key", wantCode: 500},
		{name: "a token forged with the JWKS URL is refused", step: `{key: '{{ message.k }}', account: idp}`, input: `{"k":"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhdHRhY2tlciJ9.x"}`, accounts: true, wantErr: "500: verify-key: account \"idp\" holds a public key", wantCode: 500},
		{name: "no accounts store and no variable is 503", step: `{key: '{{ message.k }}', account: partners}`, input: `{"k":"k-account"}`, wantErr: "503: verify-key: no key is configured: create the account partners", wantCode: 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := enginetest.Load(t, "name: test\nsteps:\n  - verify-key: "+tt.step+"\n")
			var rt *engine.Runtime
			if tt.accounts {
				rt = runtime(t)
			}
			in := enginetest.Decode(t, tt.input)
			out, err := p.Run(context.Background(), rt, in, engine.RunOptions{})
			if tt.wantErr != "" {
				e := engine.AsError(err)
				if e == nil || e.Code != tt.wantCode || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got %v, want %q", err, tt.wantErr)
				}
				for _, k := range []string{"k-env", "k-account"} {
					if strings.Contains(value.MustEncodeString(e.Object()), k) {
						t.Errorf("the error object shows the expected key: %s", value.MustEncodeString(e.Object()))
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if out != in {
				t.Error("the message did not pass through unchanged")
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct{ name, step, want string }{
		{"neither env nor account", `{key: x}`, "steps[0].verify-key: expected env, account or both: where the expected key lives"},
		{"env outside NECTAR_…APIKEY", `{key: x, env: HOME}`, `steps[0].verify-key.env: expected a variable named NECTAR_…APIKEY, got "HOME"`},
		{"status not an error", `{key: x, env: NECTAR_A_APIKEY, status: 200}`, "steps[0].verify-key.status: expected an error status between 400 and 599, got 200"},
		{"no key", `{env: NECTAR_A_APIKEY}`, `steps[0].verify-key: missing required option "key"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			enginetest.WantLoadError(t, "test.yaml", "name: test\nsteps:\n  - verify-key: "+tt.step+"\n", tt.want)
		})
	}
}

// TestExample runs example.yaml on example.input.json and compares the
// result with example.want.json.
func TestExample(t *testing.T) {
	t.Setenv("NECTAR_PARTNERS_APIKEY", "k-3f9a1c7e")
	enginetest.RunExample(t, ".", enginetest.Example{})
}

func BenchmarkVerifyKey(b *testing.B) {
	b.Setenv("NECTAR_BENCH_APIKEY", "k-3f9a1c7e5b2d4a6c8e0f")
	p := enginetest.Load(b, "name: bench\nsteps:\n  - verify-key: {key: '{{ message.k }}', env: NECTAR_BENCH_APIKEY}\n")
	in := enginetest.Decode(b, `{"k":"k-3f9a1c7e5b2d4a6c8e0f"}`)
	rt := &engine.Runtime{}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Run(context.Background(), rt, in, engine.RunOptions{ExecutionID: "x"}); err != nil {
			b.Fatal(err)
		}
	}
}

// Example lets a request through only with the key of NECTAR_DOCS_APIKEY.
func Example() {
	os.Setenv("NECTAR_DOCS_APIKEY", "k-1")
	defer os.Unsetenv("NECTAR_DOCS_APIKEY")
	p, err := engine.Load("partners.yaml", []byte(`
name: partners
steps:
  - verify-key: {key: "{{ message.apikey }}", env: NECTAR_DOCS_APIKEY, error: invalid apikey}
`), engine.LoadOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, key := range []string{"k-1", "k-2"} {
		if _, err := p.Run(context.Background(), nil, value.ObjectOf("apikey", key), engine.RunOptions{}); err != nil {
			fmt.Println(key, engine.AsError(err).Code, engine.AsError(err).Message)
			continue
		}
		fmt.Println(key, "passes")
	}
	// Output:
	// k-1 passes
	// k-2 401 invalid apikey
}

// TestAccountReadErrorIsMatchable checks that an account that cannot be read
// (sealed with another master key) fails the step with a 500 that wraps the
// cause, so that errors.Is finds secret.ErrWrongKey.
func TestAccountReadErrorIsMatchable(t *testing.T) {
	st, err := bolt.Open(t.TempDir(), bolt.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, _ := secret.NewSealer(secret.GenerateKey())
	if err := accounts.NewManager(st, sealer).Create(context.Background(), &accounts.Account{Name: "partners", Type: "api-key", KeyName: "x-api-key", APIKey: secret.New("k-account")}); err != nil {
		t.Fatal(err)
	}
	other, _ := secret.NewSealer(secret.GenerateKey())
	rt := &engine.Runtime{}
	accounts.Install(rt, accounts.NewManager(st, other))
	p := enginetest.Load(t, "name: test\nsteps:\n  - verify-key: {key: '{{ message.k }}', account: partners}\n")
	_, err = p.Run(context.Background(), rt, enginetest.Decode(t, `{"k":"k-account"}`), engine.RunOptions{})
	if !errors.Is(err, secret.ErrWrongKey) || engine.AsError(err).Code != 500 {
		t.Fatalf("got %#v, want a 500 wrapping secret.ErrWrongKey", err)
	}
}
