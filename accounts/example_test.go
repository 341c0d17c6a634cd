package accounts_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/secret"
	"github.com/nectar-run/nectar/store/bolt"
)

// A connector sends its requests through the account's round tripper; the
// credentials attach themselves.
func ExampleManager_RoundTripper() {
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "the API saw %s", r.Header.Get("X-Api-Key"))
	}))
	defer api.Close()

	dir, _ := os.MkdirTemp("", "nectar-example-")
	defer os.RemoveAll(dir)
	st, _ := bolt.Open(dir)
	defer st.Close()
	sealer, _ := secret.NewSealer(secret.GenerateKey())
	m := accounts.NewManager(st, sealer)

	ctx := context.Background()
	err := m.Create(ctx, &accounts.Account{Name: "shop", Type: accounts.TypeAPIKey, KeyName: "X-Api-Key", APIKey: secret.New("k-123"),
		BaseURL: api.URL}) // the key goes to this host only
	if err != nil {
		fmt.Println(err)
		return
	}
	rt, _ := m.RoundTripper("shop", http.DefaultTransport)
	resp, err := (&http.Client{Transport: rt}).Get(api.URL)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))

	a, _ := m.Get(ctx, "shop")
	fmt.Println("printed:", a.APIKey)
	// Output:
	// the API saw k-123
	// printed: ***
}
