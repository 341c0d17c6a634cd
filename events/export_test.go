package events

// Crash makes b behave as a replica that died: it stops renewing leases,
// claiming and acknowledging, and leaves its rows in the database.
func Crash(b *Postgres) { b.crashed.Store(true) }
