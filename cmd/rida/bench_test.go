package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/engine"
	"github.com/rida-build/rida/httpapi"
	"github.com/rida-build/rida/internal/pgtest"
	"github.com/rida-build/rida/sqlstore"
)

// The API benchmarks run the whole request path (routing, filter parsing,
// store queries, JSON) without a socket, over 10,000 module builds with 10
// components each, on SQLite and, when RIDA_TEST_POSTGRES_DSN is set, on
// PostgreSQL.
const (
	benchBuilds     = 10000
	benchComponents = 10
)

// seedBench fills db with benchBuilds builds spread over 100 names and the
// seven states.
func seedBench(b *testing.B, db *sqlstore.DB) {
	b.Helper()
	ctx := context.Background()
	states := rida.ModuleStates
	for i := range benchBuilds {
		m := &rida.ModuleBuild{
			Name: "module" + strconv.Itoa(i%100), Stream: "s" + strconv.Itoa(i/100), Version: uint64(20260101000000 + i),
			Context: fmt.Sprintf("%08x", i), State: states[i%len(states)], Owner: "owner" + strconv.Itoa(i%7),
			SCMURL:          "https://src.example.org/modules/m.git?#" + strconv.Itoa(i),
			Modulemd:        "document: modulemd\nversion: 2\ndata:\n  summary: benchmark module\n",
			RebuildStrategy: rida.RebuildChangedAndAfter,
			BuildRequires:   map[string]rida.BuildRequire{"platform": {Stream: "f40", Version: "1", Context: "00000000"}},
		}
		for c := range benchComponents {
			m.Components = append(m.Components, &rida.ComponentBuild{
				Package: "pkg" + strconv.Itoa(c), Format: rida.FormatRPMs, Batch: 2 + c/3, BuildOrder: int64(c / 3),
				SCMURL: "https://src.example.org/rpms/pkg?#abc", Ref: "abc", State: rida.ComponentWaiting,
			})
		}
		if err := db.CreateModuleBuild(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
}

// benchDatabases opens each benchmark database, seeded once per run.
func benchDatabases(b *testing.B) map[string]*sqlstore.DB {
	b.Helper()
	out := map[string]*sqlstore.DB{}
	ctx := context.Background()
	dir := b.TempDir()
	db, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(dir, "bench.db"), sqlstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	out["sqlite"] = db
	var pgDSN string
	if base := os.Getenv(pgtest.Env); base != "" {
		out["postgres"], pgDSN = openBenchPostgres(b, base)
	}
	for _, db := range out {
		seedBench(b, db)
	}
	if pgDSN != "" {
		if err := pgtest.Analyze(pgDSN); err != nil {
			b.Fatal(err)
		}
	}
	return out
}

// openBenchPostgres opens a store in a fresh schema dropped at the end, and
// returns the schema's DSN.
func openBenchPostgres(b *testing.B, base string) (*sqlstore.DB, string) {
	b.Helper()
	dsn, drop, err := pgtest.NewSchema(base, "bench")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = drop() })
	db, err := sqlstore.Open(context.Background(), dsn, sqlstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db, dsn
}

func BenchmarkAPI(b *testing.B) {
	dbs := benchDatabases(b)
	for _, name := range []string{"sqlite", "postgres"} {
		db, ok := dbs[name]
		if !ok {
			continue
		}
		srv := httpapi.NewServer(engine.NewService(db, nil, nil, nil), nil, httpapi.DefaultConfig())
		for _, c := range []struct{ name, path string }{
			{"GetVerbose", "/module-build-service/2/module-builds/5000?verbose=true"},
			{"ListPerPage100", "/module-build-service/2/module-builds/?per_page=100"},
			{"ListFiltered", "/module-build-service/2/module-builds/?state=ready&name=module42"},
			{"ListShort100", "/module-build-service/2/module-builds/?per_page=100&short=true"},
			{"SeedGet", "/rida/module-builds/5000"},
		} {
			b.Run(c.name+"/"+name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					rec := httptest.NewRecorder()
					srv.ServeHTTP(rec, httptest.NewRequest("GET", c.path, nil))
					if rec.Code != 200 {
						b.Fatalf("%s: %d %s", c.path, rec.Code, rec.Body)
					}
				}
			})
		}
	}
}
