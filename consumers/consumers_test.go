package consumers_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nectar-run/nectar/consumers"
	"github.com/nectar-run/nectar/store/bolt"
)

func TestKeysAreHashedAndAuthenticate(t *testing.T) {
	ctx := context.Background()
	st, err := bolt.Open(t.TempDir(), bolt.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m, err := consumers.New(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create(ctx, consumers.Consumer{Name: "shop", Pipelines: []string{"orders"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create(ctx, consumers.Consumer{Name: "shop"}); !errors.Is(err, consumers.ErrExists) {
		t.Fatalf("duplicate: %v", err)
	}
	key, err := m.AddKey(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	pwd, err := m.AddBasic(ctx, "shop", "shop-user")
	if err != nil {
		t.Fatal(err)
	}
	it, err := st.Get(ctx, consumers.Bucket, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(it.Value), key) || strings.Contains(string(it.Value), pwd) {
		t.Fatalf("stored consumer holds a secret: %s", it.Value)
	}
	// A second manager on the same store (a restart) authenticates too.
	m2, _ := consumers.New(ctx, st)
	tests := []struct {
		name string
		ok   bool
		got  func() (*consumers.Consumer, bool)
	}{
		{"right key", true, func() (*consumers.Consumer, bool) { return m2.AuthenticateKey(key) }},
		{"wrong key", false, func() (*consumers.Consumer, bool) { return m2.AuthenticateKey(key + "x") }},
		{"right password", true, func() (*consumers.Consumer, bool) { return m2.AuthenticateBasic("shop-user", pwd) }},
		{"wrong password", false, func() (*consumers.Consumer, bool) { return m2.AuthenticateBasic("shop-user", "x") }},
		{"unknown user", false, func() (*consumers.Consumer, bool) { return m2.AuthenticateBasic("nobody", pwd) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := tt.got()
			if ok != tt.ok || ok && (c.Name != "shop" || !c.Allows("orders") || c.Allows("other")) {
				t.Fatalf("got %v %v", c, ok)
			}
		})
	}
	if err := m.Delete(ctx, "shop"); err != nil {
		t.Fatal(err)
	}
	if _, ok := m.AuthenticateKey(key); ok {
		t.Fatal("key of a deleted consumer still works")
	}
}

func TestLimiterWindows(t *testing.T) {
	l := consumers.NewLimiter()
	now := time.Date(2026, 1, 1, 10, 0, 30, 0, time.UTC)
	for i := range 3 {
		if ok, _ := l.Allow("k", 3, time.Minute, now); !ok {
			t.Fatalf("request %d refused", i)
		}
	}
	ok, retry := l.Allow("k", 3, time.Minute, now)
	if ok || retry != 30*time.Second {
		t.Fatalf("fourth: %v %v", ok, retry)
	}
	if ok, _ := l.Allow("k", 3, time.Minute, now.Add(30*time.Second)); !ok {
		t.Fatal("next window refused")
	}
}

// TestRefreshSeesOtherManagersWrites: two Managers on one store (two
// replicas on one database): a key revoked and a consumer deleted through
// one are refused by the other after its next Refresh, and a Refresh with
// nothing changed reloads nothing.
func TestRefreshSeesOtherManagersWrites(t *testing.T) {
	ctx := context.Background()
	st, err := bolt.Open(t.TempDir(), bolt.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a, err := consumers.New(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	b, err := consumers.New(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	refresh := func(want bool) {
		t.Helper()
		got, err := b.Refresh(ctx)
		if err != nil || got != want {
			t.Fatalf("Refresh = %v, %v; want %v", got, err, want)
		}
	}
	refresh(false)
	if _, err := a.Create(ctx, consumers.Consumer{Name: "shop", Pipelines: []string{"*"}}); err != nil {
		t.Fatal(err)
	}
	key, err := a.AddKey(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	refresh(true)
	refresh(false)
	if _, ok := b.AuthenticateKey(key); !ok {
		t.Fatal("a key issued through a is refused by b")
	}
	if err := a.RemoveKey(ctx, "shop", key[:len(consumers.KeyPrefix)+6]); err != nil {
		t.Fatal(err)
	}
	refresh(true)
	if _, ok := b.AuthenticateKey(key); ok {
		t.Fatal("a key revoked through a still works on b")
	}
	key2, _ := a.AddKey(ctx, "shop")
	refresh(true)
	if err := a.Delete(ctx, "shop"); err != nil {
		t.Fatal(err)
	}
	refresh(true)
	if _, ok := b.AuthenticateKey(key2); ok {
		t.Fatal("the key of a consumer deleted through a still works on b")
	}
}
