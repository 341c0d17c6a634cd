package pipelines

import (
	"context"
	"testing"
	"time"

	"github.com/nectar-run/nectar/accounts"
	"github.com/nectar-run/nectar/engine"
	"github.com/nectar-run/nectar/secret"
	"github.com/nectar-run/nectar/store/bolt"
)

// TestAccountKeysCache checks the key cache of the shipped pipelines'
// signing accounts: a key is read once and kept for keyTTL (a rotation is
// not seen before), then read again (the rotation is seen); reading another
// account keeps the first one's entry.
func TestAccountKeysCache(t *testing.T) {
	st, err := bolt.Open(t.TempDir(), bolt.WithNoSync())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	sealer, err := secret.NewSealer(secret.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	am := accounts.NewManager(st, sealer)
	rt := &engine.Runtime{}
	accounts.Install(rt, am)
	k := NewAccountKeys(rt)
	clock := time.Now()
	k.now = func() time.Time { return clock }
	ctx := context.Background()

	first, err := k.JWTKey(ctx, AccessTokenAccount) // generated on first use
	if err != nil || first.Secret.IsZero() {
		t.Fatalf("first read: %v, secret set %v", err, !first.Secret.IsZero())
	}
	rotated := &accounts.Account{Name: AccessTokenAccount, Type: accounts.TypeBearer, Token: secret.New("rotated-key-0123456789")}
	if err := am.Put(ctx, rotated); err != nil {
		t.Fatal(err)
	}
	if _, err := k.JWTKey(ctx, RefreshTokenAccount); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(keyTTL - time.Second)
	if m, err := k.JWTKey(ctx, AccessTokenAccount); err != nil || m != first {
		t.Fatalf("within %s: %v, same key %v; want the cached key", keyTTL, err, m == first)
	}
	clock = clock.Add(time.Second)
	m, err := k.JWTKey(ctx, AccessTokenAccount)
	if err != nil || m.Secret.Reveal() != "rotated-key-0123456789" {
		t.Fatalf("after %s: %v, rotated key %v; want the rotated key", keyTTL, err, m.Secret.Reveal() == "rotated-key-0123456789")
	}
}
