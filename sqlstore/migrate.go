package sqlstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"time"

	"github.com/pressly/goose/v3"
)

// migrations holds the numbered schema migrations of each dialect. They are
// embedded so the binary carries its schema and "rida migrate" needs no
// files on disk.
//
//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// migrationTable records which migrations ran, and when.
const migrationTable = "schema_migrations"

// MigrationStatus is one migration and whether it has been applied.
type MigrationStatus struct {
	Version   int64
	Name      string
	Applied   bool
	AppliedAt *time.Time
}

// provider returns a goose provider for the dialect's migration directory.
// It uses no goose globals, so several DBs can migrate in one process.
func (db *DB) provider() (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations/"+db.d.name)
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(db.d.gooseDialect, db.db, sub,
		goose.WithTableName(migrationTable),
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(db.logger),
	)
}

// MigrateUp applies every pending migration, each in its own transaction.
func (db *DB) MigrateUp(ctx context.Context) error {
	p, err := db.provider()
	if err != nil {
		return fmt.Errorf("migrate up: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return wrapErr("migrate up", err)
	}
	for _, r := range results {
		db.logger.InfoContext(ctx, "applied migration", "version", r.Source.Version,
			"name", path.Base(r.Source.Path), "duration", r.Duration)
	}
	// The schema may have changed: prepare what could not be prepared
	// before.
	db.prepareStatements(ctx)
	return nil
}

// MigrationStatus lists every known migration in version order and whether
// it has been applied.
func (db *DB) MigrationStatus(ctx context.Context) ([]MigrationStatus, error) {
	p, err := db.provider()
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, wrapErr("migration status", err)
	}
	out := make([]MigrationStatus, 0, len(st))
	for _, s := range st {
		ms := MigrationStatus{Version: s.Source.Version, Name: path.Base(s.Source.Path)}
		if s.State == goose.StateApplied {
			ms.Applied = true
			at := s.AppliedAt.UTC()
			ms.AppliedAt = &at
		}
		out = append(out, ms)
	}
	return out, nil
}
