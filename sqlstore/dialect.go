package sqlstore

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/rida-build/rida"
)

// This file is the only place where SQL differs between SQLite and
// PostgreSQL: DSN parsing, placeholders, time encoding, error
// classification and the outbox ordering lock. Query code everywhere else is
// written once, with "?" placeholders.

// Dialect names returned by DB.Dialect.
const (
	dialectSQLite   = "sqlite"
	dialectPostgres = "postgres"
)

// sqliteTimeLayout is how SQLite stores times: fixed width and UTC, so that
// text order is time order and range filters on TEXT columns are correct.
const sqliteTimeLayout = "2006-01-02T15:04:05.000000Z"

// dialect holds what differs between the two databases.
type dialect struct {
	name         string
	driver       string
	gooseDialect goose.Dialect
	// rebound caches "?"→"$n" rewrites of the static queries, so the hot
	// paths do not allocate a new string per call.
	rebound sync.Map
}

// parseDSN turns a rida DSN into the dialect and the driver's DSN.
func parseDSN(dsn string) (*dialect, string, bool, error) {
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		path := strings.TrimPrefix(dsn, "sqlite:")
		if path == "" {
			return nil, "", false, rida.Errorf(rida.CodeInvalid, "invalid DSN %q: sqlite: needs a path or :memory:", dsn)
		}
		// The pragmas go in the DSN so that every pooled connection gets
		// them, not just the first one. _txlock=immediate makes every
		// transaction take the write lock at BEGIN: two writers then queue
		// on busy_timeout instead of both reading and failing to upgrade.
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(5000)")
		q.Add("_pragma", "foreign_keys(1)")
		// Sorts and statement journals stay in memory.
		q.Add("_pragma", "temp_store(MEMORY)")
		q.Set("_txlock", "immediate")
		memory := path == ":memory:"
		if memory {
			// One private in-memory database per Open; the pool is limited
			// to one connection (see Open), since each connection to
			// ":memory:" would otherwise see its own empty database.
			return newSQLiteDialect(), ":memory:?" + q.Encode(), true, nil
		}
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
		// Reads through mmap skip a pread system call per page, which in
		// the pure-Go SQLite is most of the cost of a list query; the OS
		// page cache is shared by all pooled connections.
		q.Add("_pragma", "mmap_size(268435456)")
		q.Add("_pragma", "cache_size(-16000)")
		return newSQLiteDialect(), path + "?" + q.Encode(), false, nil
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		return &dialect{name: dialectPostgres, driver: "pgx", gooseDialect: goose.DialectPostgres}, dsn, false, nil
	}
	scheme, _, ok := strings.Cut(dsn, ":")
	if !ok || scheme == "" {
		return nil, "", false, rida.Errorf(rida.CodeInvalid, "invalid DSN: no scheme (want sqlite:PATH, sqlite::memory: or postgres://...)")
	}
	return nil, "", false, rida.Errorf(rida.CodeInvalid, "unsupported DSN scheme %q (want sqlite: or postgres://)", scheme)
}

func newSQLiteDialect() *dialect {
	return &dialect{name: dialectSQLite, driver: "sqlite", gooseDialect: goose.DialectSQLite3}
}

func (d *dialect) postgres() bool { return d.name == dialectPostgres }

// q returns a static query in the dialect's placeholder syntax, cached.
func (d *dialect) q(query string) string {
	if !d.postgres() {
		return query
	}
	if v, ok := d.rebound.Load(query); ok {
		return v.(string)
	}
	r := rebind(query)
	d.rebound.Store(query, r)
	return r
}

// rebindDynamic rewrites a query built at run time (list queries); it is not
// cached, since the number of distinct filter combinations is unbounded.
func (d *dialect) rebindDynamic(query string) string {
	if !d.postgres() {
		return query
	}
	return rebind(query)
}

// rebind replaces each "?" with "$1", "$2", ... Queries in this package never
// contain "?" inside string literals, so no SQL parsing is needed.
func rebind(query string) string {
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// timeArg encodes t for a query argument: fixed-width UTC text for SQLite,
// time.Time for PostgreSQL's TIMESTAMPTZ.
func (d *dialect) timeArg(t time.Time) any {
	t = t.UTC().Truncate(time.Microsecond)
	if d.postgres() {
		return t
	}
	return t.Format(sqliteTimeLayout)
}

// nullTimeArg is timeArg for an optional time: nil is NULL.
func (d *dialect) nullTimeArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return d.timeArg(*t)
}

// timeParam is the placeholder of a time in an expression PostgreSQL cannot
// type from its context, such as a CASE whose other branch is NULL (it
// would take the time for text); SQLite stores times as text anyway.
func (d *dialect) timeParam() string {
	if d.postgres() {
		return "CAST(? AS TIMESTAMPTZ)"
	}
	return "?"
}

// lockOutbox serializes event-writing transactions on PostgreSQL until
// commit, so that identity values of events are assigned in commit order and
// a relay reading "unpublished events in id order" never sees id n+1
// committed while n is still in flight. SQLite already serializes writers.
func (d *dialect) lockOutbox() string {
	if d.postgres() {
		return "SELECT pg_advisory_xact_lock(7283190001)"
	}
	return ""
}

// selectiveRange marks a time-range condition as selective for SQLite's
// planner. Without statistics it estimates a one-sided range to match a
// quarter of the table and prefers walking the primary key backwards for
// "ORDER BY id DESC", a full scan whenever the window is old or empty.
// likelihood() is a no-op at run time and keeps the index usable;
// PostgreSQL keeps statistics and needs no hint.
func (d *dialect) selectiveRange(cond string) string {
	if d.postgres() {
		return cond
	}
	return "likelihood(" + cond + ", 0.01)"
}

// isUniqueViolation reports whether err is a UNIQUE constraint failure.
func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	return false
}

// isForeignKeyViolation reports whether err is a broken reference.
func isForeignKeyViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23503"
	}
	return false
}

// isUnavailable reports whether err means the database cannot be reached
// (as opposed to a query being wrong), so the API can answer 503.
func isUnavailable(err error) bool {
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EHOSTUNREACH) ||
		errors.Is(err, syscall.ENETUNREACH) {
		return true
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	var ne *net.OpError
	if errors.As(err, &ne) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		// Class 08: connection exception; 57P0x: admin/crash shutdown,
		// cannot connect now.
		return strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57P0")
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL:
			return true
		}
	}
	return false
}

// wrapErr names the operation in err and classifies "database unreachable"
// as rida.CodeUnavailable. Application errors pass through wrapped, so
// errors.Is against rida sentinels keeps working.
func wrapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var re *rida.Error
	if errors.As(err, &re) {
		return fmt.Errorf("%s: %w", op, err)
	}
	if isUnavailable(err) {
		return &rida.Error{Code: rida.CodeUnavailable, Message: "The database is unavailable.", Err: fmt.Errorf("%s: %w", op, err)}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// wrapUnavailable marks err as CodeUnavailable unconditionally; used where
// any failure means the database cannot be used (ping).
func wrapUnavailable(op string, err error) error {
	return &rida.Error{Code: rida.CodeUnavailable, Message: "The database is unavailable.", Err: fmt.Errorf("%s: %w", op, err)}
}
