// Package sqlstore is rida's database: module builds, their component builds,
// state traces and the event outbox, on SQLite (modernc.org/sqlite, pure Go)
// or PostgreSQL (pgx through database/sql).
//
// Guarantees:
//
//   - Every state change is a compare-and-set on the row's rev column, and
//     its trace row and outbox event are written in the same transaction.
//     A lost compare-and-set writes nothing and returns rida.ErrStaleWrite;
//     an illegal move (rida's transition tables) returns CodeConflict.
//   - Outbox event ids increase in commit order (SQLite serializes writers;
//     on PostgreSQL event writers take a transaction-scoped advisory lock),
//     so a relay publishing PendingEvents in id order publishes in commit
//     order, at least once.
//   - Each transaction reads the injected clock (Options.Now) once; all rows
//     it writes carry that time, at microsecond precision, returned in UTC.
//   - Every state change makes its module build due at once (next_check_at
//     cleared, for a component its module's), so the engine notices it
//     without waiting for the build's next scheduled check. A batch of
//     component transitions is one transaction, all or nothing.
//   - A trace row records the state entered and the build's state_reason
//     after the transition (an empty Reason keeps the previous one, as in
//     MBS), so a trace reads like a history of (state, reason) snapshots.
//   - List queries use an index for every filter and load related rows
//     (components, traces, siblings) with one query per kind for the whole
//     page, never one per build.
//
// Performance: on SQLite the fixed queries are prepared once at Open and list
// queries on first use (the pure-Go SQLite compiles a statement more slowly
// than it runs a point query); IN lists are padded to powers of two so they
// stay a small fixed set. Migration 00002 installs planner statistics for a
// typical installation, since SQLite without ANALYZE assumes every index is
// selective. pgx caches prepared statements on PostgreSQL by itself.
//
// Dialects: the query code is shared and written with "?" placeholders;
// dialect.go holds what differs (placeholders rebound to $n, time encoding,
// error classification). The exceptions sit beside the query they replace
// and say why: id lists as one array on PostgreSQL (idsIn), and batches of
// component transitions and events written as arrays there, where every
// statement is a network round trip. Each dialect has its own numbered,
// embedded migrations (migrations/sqlite, migrations/postgres), run by goose
// one per transaction and recorded in the schema_migrations table.
//
// Time format: PostgreSQL stores TIMESTAMPTZ; SQLite stores TEXT in the one
// fixed-width UTC layout 2006-01-02T15:04:05.000000Z, so text order is time
// order and time-range filters compare correctly.
//
// SQLite connections run in WAL mode with busy_timeout, foreign keys on,
// synchronous=NORMAL and BEGIN IMMEDIATE write transactions, so two writers
// queue instead of deadlocking on a lock upgrade.
//
// Errors name the operation ("find module builds: ..."); a database that
// cannot be reached is a *rida.Error with CodeUnavailable, so the API
// answers 503.
package sqlstore
