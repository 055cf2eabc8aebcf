package sqlstore

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/internal/pgtest"
)

// Benchmark data: benchBuilds module builds × benchComponents components,
// seeded once per database and shared by every benchmark.
const (
	benchBuilds     = 10000
	benchComponents = 10
)

// benchDB is a seeded database shared by the benchmarks of one dialect.
type benchDB struct {
	db      *DB
	ids     []int64
	name    string // a module name with several ready builds
	cleanup func()
	err     error
}

var (
	benchMu  sync.Mutex
	benchDBs = map[string]*benchDB{}
)

// closeBenchDBs is called by TestMain after all tests and benchmarks.
func closeBenchDBs() {
	benchMu.Lock()
	defer benchMu.Unlock()
	for _, b := range benchDBs {
		if b.cleanup != nil {
			b.cleanup()
		}
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	closeBenchDBs()
	os.Exit(code)
}

// seededDB returns the seeded database of a dialect, seeding it on first
// use; it skips PostgreSQL when RIDA_TEST_POSTGRES_DSN is unset. Seeding
// happens before the benchmark's timer matters (b.ResetTimer follows).
func seededDB(b *testing.B, dialect string) *benchDB {
	b.Helper()
	benchMu.Lock()
	defer benchMu.Unlock()
	if bd, ok := benchDBs[dialect]; ok {
		if bd.err != nil {
			b.Fatal(bd.err)
		}
		return bd
	}
	bd := &benchDB{}
	benchDBs[dialect] = bd
	var dsn string
	switch dialect {
	case "sqlite":
		dir, err := os.MkdirTemp("", "rida-bench-")
		if err != nil {
			b.Fatal(err)
		}
		dsn = "sqlite:" + dir + "/bench.db"
		bd.cleanup = func() { os.RemoveAll(dir) }
	case "postgres":
		base := os.Getenv(postgresEnv)
		if base == "" {
			delete(benchDBs, dialect)
			b.Skip(postgresEnv + " not set: skipping PostgreSQL benchmarks")
		}
		var drop func() error
		var err error
		dsn, drop, err = pgtest.NewSchema(base, "bench")
		if err != nil {
			b.Fatal(err)
		}
		bd.cleanup = func() { _ = drop() }
	}
	db, err := Open(context.Background(), dsn, Options{})
	if err != nil {
		bd.err = err
		b.Fatal(err)
	}
	prev := bd.cleanup
	bd.cleanup = func() { db.Close(); prev() }
	bd.db = db
	start := time.Now()
	if bd.ids, err = seed(context.Background(), db); err != nil {
		bd.err = err
		b.Fatal(err)
	}
	bd.name = "mod007"
	b.Logf("seeded %s with %d module builds × %d components in %v", dialect, benchBuilds, benchComponents, time.Since(start))
	return bd
}

// seed writes the benchmark data in one transaction with prepared
// statements: pairs of builds share name:stream:version (siblings), 80% are
// ready with a five-row trace, each has benchComponents complete components
// with a three-row trace and a ~2 KiB modulemd.
func seed(ctx context.Context, db *DB) ([]int64, error) {
	d := db.d
	modulemd := "document: modulemd\nversion: 2\ndata:\n" + strings.Repeat("  description: lorem ipsum dolor sit amet\n", 48)
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	insModule, err := tx.PrepareContext(ctx, d.q(insertModuleSQL))
	if err != nil {
		return nil, err
	}
	insTrace, err := tx.PrepareContext(ctx, d.q(`INSERT INTO module_builds_trace (module_id, state_time, state, state_reason)
 VALUES (?, ?, 0, NULL), (?, ?, 1, NULL), (?, ?, 2, NULL), (?, ?, 3, NULL), (?, ?, ?, ?)`))
	if err != nil {
		return nil, err
	}
	compSQL := `INSERT INTO component_builds (module_id, package, format, scmurl, ref, buildorder, batch,
 buildonly, build_time_only, weight, task_id, task_state, state, state_reason, nvr, reused_component_id,
 tagged, tagged_in_final, rev) VALUES ` + strings.TrimSuffix(strings.Repeat("(?, ?, 'rpms', ?, ?, ?, ?, ?, ?, 1.5, ?, 2, 1, NULL, ?, NULL, ?, ?, 3),", benchComponents), ",")
	insComps, err := tx.PrepareContext(ctx, d.q(compSQL))
	if err != nil {
		return nil, err
	}
	insCompTrace, err := tx.PrepareContext(ctx, d.q(`INSERT INTO component_builds_trace (component_id, state_time, state, state_reason, task_id)
 SELECT c.id, ?, s.state, NULL, c.task_id FROM component_builds c
 CROSS JOIN (SELECT 1 AS ord, NULL AS state UNION ALL SELECT 2, 0 UNION ALL SELECT 3, 1) s
 WHERE c.module_id = ? ORDER BY s.ord, c.id`))
	if err != nil {
		return nil, err
	}
	base := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	ids := make([]int64, 0, benchBuilds)
	compArgs := make([]any, 0, benchComponents*11)
	for i := range benchBuilds {
		p := i / 2
		name := fmt.Sprintf("mod%03d", p%250)
		stream := fmt.Sprintf("s%d", (p/250)%4)
		version := int64(p/1000 + 1)
		state := rida.ModuleReady
		switch i % 10 {
		case 7:
			state = rida.ModuleFailed
		case 8:
			state = rida.ModuleDone
		}
		at := base.Add(time.Duration(i) * time.Minute)
		atArg, doneArg := d.timeArg(at), d.timeArg(at.Add(30*time.Second))
		tag := fmt.Sprintf("module-%s-%s-%d-c%d", name, stream, version, i%2)
		var id int64
		err := insModule.QueryRowContext(ctx, name, stream, version, fmt.Sprintf("c%07d", i%2),
			"bc", "bcnobms", "rc", nil, int(state), "Gating passed", "owner"+fmt.Sprint(i%50),
			"https://src.example/modules/"+name+"?#abc", modulemd, tag, "module-f39-build", "changed-and-after",
			false, 0, int64(1000+i), nil, `["x.src.rpm"]`,
			`{"platform":{"stream":"f39","version":"1","context":"00000000","stream_version":390000}}`,
			atArg, doneArg, doneArg, nil, int64(5000+i), nil, nil, nil, false).Scan(&id)
		if err != nil {
			return nil, fmt.Errorf("seed module %d: %w", i, err)
		}
		ids = append(ids, id)
		if _, err := insTrace.ExecContext(ctx, id, atArg, id, atArg, id, atArg, id, doneArg, id, doneArg, int(state), "Gating passed"); err != nil {
			return nil, fmt.Errorf("seed trace %d: %w", i, err)
		}
		compArgs = compArgs[:0]
		for c := range benchComponents {
			pkg := fmt.Sprintf("pkg%d", c)
			compArgs = append(compArgs, id, pkg, "https://src.example/rpms/"+pkg+"?#abc", "abc", int64(c*10), c/3+1,
				false, c == 0, int64(i*benchComponents+c+1), pkg+"-1.0-1.module", true, true)
		}
		if _, err := insComps.ExecContext(ctx, compArgs...); err != nil {
			return nil, fmt.Errorf("seed components %d: %w", i, err)
		}
		if _, err := insCompTrace.ExecContext(ctx, doneArg, id); err != nil {
			return nil, fmt.Errorf("seed component trace %d: %w", i, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	if d.postgres() {
		// A live PostgreSQL has statistics and a visibility map from
		// autovacuum (index-only scans depend on the latter); get them now.
		if _, err := db.db.ExecContext(ctx, "VACUUM ANALYZE"); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// benchDialects runs fn as sub-benchmarks /sqlite and /postgres.
func benchDialects(b *testing.B, fn func(b *testing.B, bd *benchDB)) {
	for _, name := range []string{"sqlite", "postgres"} {
		b.Run(name, func(b *testing.B) {
			bd := seededDB(b, name)
			b.ReportAllocs()
			b.ResetTimer()
			fn(b, bd)
		})
	}
}

func BenchmarkFindModuleBuildByIDVerbose(b *testing.B) {
	ctx := context.Background()
	benchDialects(b, func(b *testing.B, bd *benchDB) {
		i := 0
		for b.Loop() {
			m, err := bd.db.FindModuleBuildByID(ctx, bd.ids[i%len(bd.ids)], includeAll)
			if err != nil || len(m.Components) != benchComponents || len(m.Siblings) != 1 {
				b.Fatalf("%v %v", m, err)
			}
			i += 7919
		}
	})
}

func BenchmarkFindModuleBuildsPage100(b *testing.B) {
	ctx := context.Background()
	benchDialects(b, func(b *testing.B, bd *benchDB) {
		page := 0
		for b.Loop() {
			ms, total, err := bd.db.FindModuleBuilds(ctx, rida.ModuleBuildFilter{
				Page: page%10 + 1, PerPage: 100,
				Include: rida.ModuleBuildInclude{Components: true, Siblings: true},
			})
			if err != nil || len(ms) != 100 || total != benchBuilds || len(ms[0].Components) != benchComponents {
				b.Fatalf("%d %d %v", len(ms), total, err)
			}
			page++
		}
	})
}

func BenchmarkFindModuleBuildsFiltered(b *testing.B) {
	ctx := context.Background()
	benchDialects(b, func(b *testing.B, bd *benchDB) {
		for b.Loop() {
			ms, total, err := bd.db.FindModuleBuilds(ctx, rida.ModuleBuildFilter{
				Name: &bd.name, States: []rida.ModuleState{rida.ModuleReady},
			})
			if err != nil || len(ms) != rida.DefaultPerPage || total == 0 {
				b.Fatalf("%d %d %v", len(ms), total, err)
			}
		}
	})
}

// BenchmarkTransitionComponentBuilds moves the 100 components of a build
// per call, the engine's batch, through the cycle waiting → BUILDING (no
// task yet) → BUILDING (task recorded) → FAILED → waiting, so every call is
// legal and the update's variants all run. It writes, so it uses an empty
// database of its own rather than the shared seeded one.
func BenchmarkTransitionComponentBuilds(b *testing.B) {
	const n = 100
	ctx := context.Background()
	for _, d := range dialects {
		b.Run(d.name, func(b *testing.B) {
			db := d.open(b)
			m := newModuleBuild("bench", "s", 1, "c")
			m.Components = nil
			for i := range n {
				m.Components = append(m.Components, &rida.ComponentBuild{Package: fmt.Sprintf("pkg%03d", i),
					Format: rida.FormatRPMs, SCMURL: "https://src.example/rpms/x?#abc", State: rida.ComponentWaiting})
			}
			mustCreate(b, db, m)
			ts := make([]rida.ComponentTransition, n)
			for i, c := range m.Components {
				ts[i] = rida.ComponentTransition{ID: c.ID, FromRev: c.Rev}
			}
			phases := []struct {
				to     rida.ComponentState
				task   bool
				reason string
			}{
				{rida.ComponentBuilding, false, ""},
				{rida.ComponentBuilding, true, ""},
				{rida.ComponentFailed, false, "Build failed."},
				{rida.ComponentWaiting, false, ""},
			}
			b.ReportAllocs()
			call := 0
			for b.Loop() {
				p := phases[call%len(phases)]
				for i := range ts {
					ts[i].To, ts[i].Reason, ts[i].TaskID = p.to, p.reason, 0
					if p.task {
						ts[i].TaskID = int64(call*n + i + 1)
					}
				}
				got, err := db.TransitionComponentBuilds(ctx, ts)
				if err != nil {
					b.Fatal(err)
				}
				for i, c := range got {
					ts[i].FromRev = c.Rev
				}
				call++
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/component")
		})
	}
}
