package sqlstore

import (
	"context"
	"database/sql"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/internal/pgtest"
)

// postgresEnv names the PostgreSQL DSN the conformance suite runs against
// when set, e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable.
const postgresEnv = "RIDA_TEST_POSTGRES_DSN"

// testClock is a fake clock: each call returns the previous time plus one
// second, so every transaction in a test has a distinct, known time.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2024, 1, 2, 3, 4, 5, 123456000, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

// testDB is an open store plus what tests need to look behind it.
type testDB struct {
	*DB
	clock *testClock
	dsn   string
}

// MustOpenDB opens a migrated SQLite store in a file under t.TempDir(), with
// a fake clock, closed at cleanup.
func MustOpenDB(tb testing.TB) *testDB {
	tb.Helper()
	return mustOpen(tb, "sqlite:"+tb.TempDir()+"/rida.db")
}

// mustOpenPostgres opens a store on a fresh schema of the database named by
// RIDA_TEST_POSTGRES_DSN, dropped at cleanup; it skips when the variable is
// unset.
func mustOpenPostgres(tb testing.TB) *testDB {
	tb.Helper()
	base := os.Getenv(postgresEnv)
	if base == "" {
		tb.Skip(postgresEnv + " not set: skipping PostgreSQL conformance run")
	}
	dsn, drop, err := pgtest.NewSchema(base, "t")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := drop(); err != nil {
			tb.Error(err)
		}
	})
	return mustOpen(tb, dsn)
}

func mustOpen(tb testing.TB, dsn string) *testDB {
	tb.Helper()
	clock := newTestClock()
	db, err := Open(context.Background(), dsn, Options{Now: clock.Now})
	if err != nil {
		tb.Fatalf("open %s: %v", dsn, err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return &testDB{DB: db, clock: clock, dsn: dsn}
}

// dialects are the databases the conformance suite runs on.
var dialects = []struct {
	name string
	open func(testing.TB) *testDB
}{
	{"sqlite", MustOpenDB},
	{"postgres", mustOpenPostgres},
}

// forEachDB runs fn once per database, as subtests "sqlite" and "postgres".
func forEachDB(t *testing.T, fn func(t *testing.T, db *testDB)) {
	t.Helper()
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			fn(t, d.open(t))
		})
	}
}

func TestOpen_InvalidDSN(t *testing.T) {
	for _, dsn := range []string{"mysql://x", "", "rida.db", "sqlite:"} {
		_, err := Open(context.Background(), dsn, Options{})
		if rida.ErrorCodeOf(err) != rida.CodeInvalid {
			t.Errorf("Open(%q) = %v, want code invalid", dsn, err)
		}
	}
	_, err := Open(context.Background(), "mysql://x", Options{})
	if !strings.Contains(rida.ErrorMessageOf(err), `"mysql"`) {
		t.Errorf("message %q does not name the scheme", rida.ErrorMessageOf(err))
	}
}

func TestOpen_Unreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Port 1 is never a PostgreSQL server: connection refused.
	_, err := Open(ctx, "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2", Options{})
	if got := rida.ErrorCodeOf(err); got != rida.CodeUnavailable {
		t.Fatalf("Open(unreachable) code = %q (%v), want unavailable", got, err)
	}
}

func TestOpen_Memory(t *testing.T) {
	ctx := context.Background()
	db := mustOpen(t, "sqlite::memory:")
	if got := db.Dialect(); got != "sqlite" {
		t.Errorf("Dialect() = %q", got)
	}
	// Concurrent use of the single pooled connection must neither deadlock
	// nor see different databases.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := newModuleBuild("mem", "s", uint64(i+1), "c")
			if err := db.CreateModuleBuild(ctx, m); err != nil {
				errs <- err
				return
			}
			if _, err := db.FindModuleBuildByID(ctx, m.ID, includeAll); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	_, total, err := db.FindModuleBuilds(ctx, rida.ModuleBuildFilter{})
	if err != nil || total != 8 {
		t.Fatalf("FindModuleBuilds total = %d, %v; want 8", total, err)
	}
}

func TestPing(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *testDB) {
		if err := db.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

func TestMigrationStatus(t *testing.T) {
	ctx := context.Background()
	for _, d := range dialects {
		t.Run(d.name, func(t *testing.T) {
			// Open a migrated DB only to learn the DSN of a fresh schema,
			// then work on a second, unmigrated one.
			var dsn string
			if d.name == "sqlite" {
				dsn = "sqlite:" + t.TempDir() + "/fresh.db"
			} else {
				dsn = d.open(t).dsn
				// Drop what the helper migrated, to start from nothing.
				raw, err := sql.Open("pgx", dsn)
				if err != nil {
					t.Fatal(err)
				}
				defer raw.Close()
				for _, tbl := range []string{"module_builds_base_modules", "module_builds_virtual_streams", "events", "component_builds_trace", "component_builds", "module_builds_trace", "module_builds", migrationTable} {
					if _, err := raw.Exec("DROP TABLE " + tbl); err != nil {
						t.Fatal(err)
					}
				}
			}
			db, err := Open(ctx, dsn, Options{NoMigrate: true})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			before, err := db.MigrationStatus(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(before) == 0 {
				t.Fatal("no migrations known")
			}
			for _, s := range before {
				if s.Applied || s.AppliedAt != nil {
					t.Errorf("before: %+v applied", s)
				}
			}
			if before[0].Version != 1 || before[0].Name != "00001_init.sql" {
				t.Errorf("first migration = %+v", before[0])
			}
			if err := db.MigrateUp(ctx); err != nil {
				t.Fatal(err)
			}
			after, err := db.MigrationStatus(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range after {
				if !s.Applied || s.AppliedAt == nil {
					t.Errorf("after: %+v not applied", s)
				}
			}
			// Up again is a no-op.
			if err := db.MigrateUp(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestReopen checks restart safety: data written before Close is there
// after a new Open of the same database, and migrating again is a no-op.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, db *testDB) {
		m := newModuleBuild("reopen", "s", 1, "c")
		if err := db.CreateModuleBuild(ctx, m); err != nil {
			t.Fatal(err)
		}
		if _, err := db.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: m.ID, FromRev: 1, To: rida.ModuleWait}); err != nil {
			t.Fatal(err)
		}
		db2 := mustOpen(t, db.dsn)
		got, err := db2.FindModuleBuildByID(ctx, m.ID, includeAll)
		if err != nil {
			t.Fatal(err)
		}
		if got.State != rida.ModuleWait || got.Rev != 2 || len(got.Components) != 2 || len(got.StateTrace) != 2 {
			t.Errorf("after reopen: state %v rev %d components %d trace %d", got.State, got.Rev, len(got.Components), len(got.StateTrace))
		}
	})
}
