package events

import "slices"

// Subscriptions holds a bus's local subscriptions by event name, for the
// Bus implementations (Memory, the PostgreSQL bus in store/postgres). The
// bus guards it with its own lock. A slice it holds is never changed once
// stored (Remove stores a copy), so a bus may range over one after
// unlocking, as Publish does.
type Subscriptions[S comparable] map[string][]S

// Add adds s to the subscriptions of name.
func (m Subscriptions[S]) Add(name string, s S) { m[name] = append(m[name], s) }

// Remove removes s from the subscriptions of name, and name once it has
// none.
func (m Subscriptions[S]) Remove(name string, s S) {
	list := m[name]
	if i := slices.Index(list, s); i >= 0 {
		list = slices.Delete(slices.Clone(list), i, i+1)
	}
	if len(list) == 0 {
		delete(m, name)
		return
	}
	m[name] = list
}

// All returns the subscriptions of every name.
func (m Subscriptions[S]) All() []S {
	var all []S
	for _, l := range m {
		all = append(all, l...)
	}
	return all
}
