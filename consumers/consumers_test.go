package consumers_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/nectar-run/nectar/consumers"
	"github.com/nectar-run/nectar/engine/store/bolt"
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
