// Package pgtest gives tests and benchmarks a private PostgreSQL schema in
// the database named by RIDA_TEST_POSTGRES_DSN, so runs never see each
// other's rows and leave nothing behind.
package pgtest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"

	// The "pgx" database/sql driver.
	_ "github.com/jackc/pgx/v5/stdlib"
)

// Env is the variable naming the test database; tests skip PostgreSQL runs
// when it is unset.
const Env = "RIDA_TEST_POSTGRES_DSN"

// NewSchema creates a schema named prefix_<random> in the database at base
// and returns a DSN whose every connection uses it, and a function that
// drops it with everything in it.
func NewSchema(base, prefix string) (dsn string, drop func() error, err error) {
	var r [6]byte
	_, _ = rand.Read(r[:])
	schema := prefix + "_" + hex.EncodeToString(r[:])
	u, err := url.Parse(base)
	if err != nil {
		return "", nil, fmt.Errorf("parse %s: %w", Env, err)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, fmt.Errorf("open %s: %w", Env, err)
	}
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create schema %s: %w", schema, err)
	}
	drop = func() error {
		defer admin.Close()
		if _, err := admin.Exec("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			return fmt.Errorf("drop schema %s: %w", schema, err)
		}
		return nil
	}
	// pgx passes unknown DSN parameters to the server as run-time
	// parameters, so every pooled connection gets the schema.
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

// Analyze refreshes the planner statistics of the database at dsn, as
// autovacuum would after a bulk load, so benchmarks measure the plans a
// running installation gets.
func Analyze(dsn string) error {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer db.Close()
	if _, err := db.Exec("ANALYZE"); err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	return nil
}
