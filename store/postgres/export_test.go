package postgres

// Crash makes b behave as a replica that died: it stops renewing leases,
// claiming and acknowledging, and leaves its rows in the database.
func Crash(b *Bus) { b.crashed.Store(true) }
