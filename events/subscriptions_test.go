package events_test

import (
	"slices"
	"testing"

	"github.com/nectar-run/nectar/events"
)

// TestSubscriptionsCopyOnRemove checks what a bus relies on when it ranges
// over a name's subscriptions after unlocking (Memory.Publish): a slice
// taken before a Remove or an Add keeps its contents.
func TestSubscriptionsCopyOnRemove(t *testing.T) {
	m := events.Subscriptions[int]{}
	m.Add("order", 1)
	m.Add("order", 2)
	m.Add("order", 3)
	m.Add("invoice", 4)
	held := m["order"]
	m.Remove("order", 2)
	m.Add("order", 5)
	if !slices.Equal(held, []int{1, 2, 3}) {
		t.Errorf("a slice taken before Remove and Add became %v, want [1 2 3]", held)
	}
	if got := m["order"]; !slices.Equal(got, []int{1, 3, 5}) {
		t.Errorf("order = %v, want [1 3 5]", got)
	}
	m.Remove("order", 9) // not there: nothing changes
	m.Remove("invoice", 4)
	if _, ok := m["invoice"]; ok {
		t.Error("a name without subscriptions is still listed")
	}
	all := m.All()
	slices.Sort(all)
	if !slices.Equal(all, []int{1, 3, 5}) {
		t.Errorf("All = %v, want [1 3 5]", all)
	}
}
