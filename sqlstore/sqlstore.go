package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	// Register the "pgx" and "sqlite" database/sql drivers.
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"
)

// Options configures a DB. The zero value is usable.
type Options struct {
	// Now is the clock; it defaults to time.Now. Each transaction reads it
	// exactly once, so every row a transaction writes carries the same time.
	Now func() time.Time
	// Logger receives migration progress; it defaults to discarding.
	Logger *slog.Logger
	// NoMigrate stops Open from running migrations up, for "rida migrate"
	// and for processes that must not change the schema.
	NoMigrate bool
}

// DB is the store: a database/sql pool plus the dialect it speaks. It is safe
// for concurrent use.
type DB struct {
	db     *sql.DB
	d      *dialect
	now    func() time.Time
	logger *slog.Logger
	// stmts is the prepared statement cache (see stmt.go), replaced
	// whole after migrations.
	stmts atomic.Pointer[map[string]*sql.Stmt]
	// dynamic caches prepared list queries, at most maxDynamicStatements.
	dynamic      sync.Map // query → *sql.Stmt
	dynamicCount atomic.Int64
	// onEvents is called after a commit that wrote outbox events.
	onEvents atomic.Pointer[func()]
}

// OnEventsCommitted sets fn to be called (synchronously, so it must not
// block) after every commit that wrote outbox events: the in-process
// signal that wakes the outbox relay and event streams at once. Events
// written by other processes are found by their polling.
func (db *DB) OnEventsCommitted(fn func()) { db.onEvents.Store(&fn) }

func (db *DB) eventsCommitted() {
	if fn := db.onEvents.Load(); fn != nil && *fn != nil {
		(*fn)()
	}
}

// Open connects to the database named by dsn ("sqlite:PATH",
// "sqlite::memory:", "postgres://..." or "postgresql://...") and, unless
// opts.NoMigrate is set, migrates its schema up. An unknown DSN scheme is a
// *rida.Error with CodeInvalid; an unreachable database is CodeUnavailable.
func Open(ctx context.Context, dsn string, opts Options) (*DB, error) {
	d, driverDSN, memory, err := parseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	sqldb, err := sql.Open(d.driver, driverDSN)
	if err != nil {
		return nil, wrapErr("open database", err)
	}
	if memory {
		// Every connection to ":memory:" is its own database: keep exactly
		// one, forever, so the pool always sees the same data.
		sqldb.SetMaxOpenConns(1)
		sqldb.SetMaxIdleConns(1)
		sqldb.SetConnMaxLifetime(0)
		sqldb.SetConnMaxIdleTime(0)
	} else if !d.postgres() {
		// WAL lets readers run beside the one writer; more connections than
		// that only add contention on a small box.
		sqldb.SetMaxOpenConns(8)
		sqldb.SetMaxIdleConns(8)
	} else {
		// Bounded, so a burst of requests queues here instead of
		// exhausting the server's max_connections; idle connections are
		// kept because each holds pgx's prepared statement cache.
		sqldb.SetMaxOpenConns(16)
		sqldb.SetMaxIdleConns(16)
		sqldb.SetConnMaxIdleTime(5 * time.Minute)
	}
	db := &DB{db: sqldb, d: d, now: opts.Now, logger: opts.Logger}
	if db.now == nil {
		db.now = time.Now
	}
	if db.logger == nil {
		db.logger = slog.New(slog.DiscardHandler)
	}
	if err := db.Ping(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	if !opts.NoMigrate {
		if err := db.MigrateUp(ctx); err != nil {
			sqldb.Close()
			return nil, fmt.Errorf("open database: %w", err)
		}
	} else {
		db.prepareStatements(ctx)
	}
	return db, nil
}

// Close closes the pool. For "sqlite::memory:" the data is gone afterwards.
func (db *DB) Close() error {
	db.closeStatements()
	return db.db.Close()
}

// Ping checks that the database answers; an unreachable one is a
// *rida.Error with CodeUnavailable, which the API maps to 503.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.db.PingContext(ctx); err != nil {
		if ctx.Err() == nil {
			// Any failure to ping is "unavailable", whatever the driver
			// calls it.
			return wrapUnavailable("ping database", err)
		}
		return wrapErr("ping database", err)
	}
	return nil
}

// Dialect returns "sqlite" or "postgres".
func (db *DB) Dialect() string { return db.d.name }

// nowUTC is the one time of a transaction, at the precision both databases
// store.
func (db *DB) nowUTC() time.Time {
	return db.now().UTC().Truncate(time.Microsecond)
}

// inTx runs fn in a transaction and commits it if fn returns nil. On SQLite
// the transaction is BEGIN IMMEDIATE (from the DSN), so it holds the write
// lock from the start.
func (db *DB) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}
