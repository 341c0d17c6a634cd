package consumers_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/nectar-run/nectar/consumers"
	"github.com/nectar-run/nectar/store/postgres/pgtest"
	"github.com/nectar-run/nectar/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestWatchFollowsNotifications: two replicas on one PostgreSQL database.
// Replica b watches with a poll interval of an hour, so only the
// database's notification of the generation's write can make it reload: a
// key issued through replica a works on b, and once revoked through a is
// refused by b, without waiting for a poll.
func TestWatchFollowsNotifications(t *testing.T) {
	dsn := pgtest.Database(t)
	ctx := t.Context()
	a, err := consumers.New(ctx, pgtest.Open(t, dsn))
	if err != nil {
		t.Fatal(err)
	}
	b, err := consumers.New(ctx, pgtest.Open(t, dsn))
	if err != nil {
		t.Fatal(err)
	}
	go b.Watch(ctx, time.Hour, nil)
	// Watch subscribes when it starts, at a moment the test cannot see:
	// create consumers until b has seen one.
	probes := 0
	storetest.Eventually(t, "b to reload after a write through a", func() bool {
		probes++
		if _, err := a.Create(ctx, consumers.Consumer{Name: fmt.Sprintf("probe-%d", probes)}); err != nil {
			t.Fatal(err)
		}
		return b.Len() > 0
	})

	if _, err := a.Create(ctx, consumers.Consumer{Name: "shop", Pipelines: []string{"*"}}); err != nil {
		t.Fatal(err)
	}
	key, err := a.AddKey(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	storetest.Eventually(t, "b to accept the key issued through a", func() bool { _, ok := b.AuthenticateKey(key); return ok })
	if err := a.RemoveKey(ctx, "shop", key[:len(consumers.KeyPrefix)+6]); err != nil {
		t.Fatal(err)
	}
	storetest.Eventually(t, "b to refuse the key revoked through a", func() bool { _, ok := b.AuthenticateKey(key); return !ok })
}
