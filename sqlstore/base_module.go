package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/rida-build/rida"
)

const (
	insertVirtualStreamSQL = `INSERT INTO module_builds_virtual_streams (module_build_id, name) VALUES (?, ?)`
	deleteVirtualStreamSQL = `DELETE FROM module_builds_virtual_streams WHERE module_build_id = ?`
	insertBaseModuleSQL    = `INSERT INTO module_builds_base_modules (module_build_id, base_module_id) VALUES (?, ?)`
	deleteBaseModuleSQL    = `DELETE FROM module_builds_base_modules WHERE module_build_id = ?`
	selectModuleIDByNSVC   = `SELECT id, state, rev FROM module_builds WHERE name = ? AND stream = ? AND version = ? AND context = ?`
	updateImportedSQL      = `UPDATE module_builds SET modulemd = ?, koji_tag = ?, stream_version = ?, buildrequires = ?,
 requires = ?, commit_ref = ?, mse = ?, time_modified = ?, rev = rev + 1 WHERE id = ? AND rev = ?`
)

// insertAssociations writes the virtual streams and base-module links of a
// module build, replacing any it had.
func insertAssociations(ctx context.Context, r runner, id int64, m *rida.ModuleBuild) error {
	if _, err := r.exec(ctx, deleteVirtualStreamSQL, id); err != nil {
		return fmt.Errorf("replace virtual streams: %w", err)
	}
	streams := slices.Clone(m.VirtualStreams)
	slices.Sort(streams)
	for _, vs := range slices.Compact(streams) {
		if _, err := r.exec(ctx, insertVirtualStreamSQL, id, vs); err != nil {
			return fmt.Errorf("insert virtual stream %q: %w", vs, err)
		}
	}
	if _, err := r.exec(ctx, deleteBaseModuleSQL, id); err != nil {
		return fmt.Errorf("replace base modules: %w", err)
	}
	seen := map[int64]bool{}
	for _, b := range m.BaseModules {
		if b == nil || seen[b.ID] {
			continue
		}
		seen[b.ID] = true
		if _, err := r.exec(ctx, insertBaseModuleSQL, id, b.ID); err != nil {
			if isForeignKeyViolation(err) {
				return rida.Errorf(rida.CodeUnprocessable, "The base module build %d does not exist.", b.ID)
			}
			return fmt.Errorf("link base module %d: %w", b.ID, err)
		}
	}
	return nil
}

// ImportModuleBuild stores a module build described by metadata alone, such
// as a base module like platform (MBS's import_mmd): a new N:S:V:C is
// created in m.State (normally ready) with a trace row and an outbox event;
// an existing one in the ready state has its modulemd, Koji tag, stream
// version, buildrequires, requires, commit, MSE flag, virtual streams and
// base modules replaced, under
// compare-and-set. It reports whether the build was created. Updating a
// build that is not ready is a CodeConflict: it is a real build, not
// metadata.
func (db *DB) ImportModuleBuild(ctx context.Context, m *rida.ModuleBuild) (*rida.ModuleBuild, bool, error) {
	if m.Context == "" {
		m.Context = "00000000"
	}
	if err := checkVersion(m.Version); err != nil {
		return nil, false, fmt.Errorf("import module build: %w", err)
	}
	var (
		id      int64
		state   int64
		rev     int64
		created bool
	)
	err := db.run(nil).queryRow(ctx, selectModuleIDByNSVC, m.Name, m.Stream, int64(m.Version), m.Context).Scan(&id, &state, &rev)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if err := db.CreateModuleBuild(ctx, m); err != nil {
			return nil, false, fmt.Errorf("import module build: %w", err)
		}
		id, created = m.ID, true
	case err != nil:
		return nil, false, wrapErr("import module build", err)
	case rida.ModuleState(state) != rida.ModuleReady:
		return nil, false, rida.Errorf(rida.CodeConflict, "The module build %s exists in the %q state; only ready builds can be updated by an import.", m.NSVC(), rida.ModuleState(state))
	default:
		brs, err := jsonColumn(m.BuildRequires, m.BuildRequires == nil)
		if err != nil {
			return nil, false, fmt.Errorf("import module build: encode buildrequires: %w", err)
		}
		requires, err := jsonColumn(m.Requires, m.Requires == nil)
		if err != nil {
			return nil, false, fmt.Errorf("import module build: encode requires: %w", err)
		}
		var streamVersion any
		if m.StreamVersion != nil {
			streamVersion = *m.StreamVersion
		}
		err = db.inTx(ctx, func(tx *sql.Tx) error {
			r := db.run(tx)
			res, err := r.exec(ctx, updateImportedSQL, m.Modulemd, nullString(m.KojiTag), streamVersion, brs,
				requires, nullString(m.Commit), m.MSE, db.d.timeArg(db.nowUTC()), id, rev)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n != 1 {
				return rida.ErrStaleWrite
			}
			return insertAssociations(ctx, r, id, m)
		})
		if err != nil {
			return nil, false, wrapErr("import module build "+m.NSVC(), err)
		}
	}
	got, err := db.FindModuleBuildByID(ctx, id, rida.ModuleBuildInclude{Modulemd: true, VirtualStreams: true, BaseModules: true})
	return got, created, err
}

// loadAssociations fills VirtualStreams and BaseModules of the builds in
// byID, with one query each for the whole set.
func loadAssociations(ctx context.Context, r runner, byID map[int64]*rida.ModuleBuild, n int, ids []any, inc rida.ModuleBuildInclude) error {
	if inc.VirtualStreams {
		rows, err := r.query(ctx, virtualStreamsSQL(n), ids...)
		if err != nil {
			return fmt.Errorf("load virtual streams: %w", err)
		}
		defer rows.Close()
		var id int64
		var name string
		for rows.Next() {
			if err := rows.Scan(&id, &name); err != nil {
				return fmt.Errorf("load virtual streams: %w", err)
			}
			if m := byID[id]; m != nil {
				m.VirtualStreams = append(m.VirtualStreams, name)
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("load virtual streams: %w", err)
		}
		rows.Close()
	}
	if inc.BaseModules {
		rows, err := r.query(ctx, baseModulesSQL(n), ids...)
		if err != nil {
			return fmt.Errorf("load base modules: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var (
				owner         int64
				b             rida.ModuleBuild
				version       int64
				state         int64
				streamVersion sql.NullFloat64
			)
			if err := rows.Scan(&owner, &b.ID, &b.Name, &b.Stream, &version, &b.Context, &state, &b.Scratch, &streamVersion); err != nil {
				return fmt.Errorf("load base modules: %w", err)
			}
			b.Version, b.State = uint64(version), rida.ModuleState(state)
			if streamVersion.Valid {
				v := streamVersion.Float64
				b.StreamVersion = &v
			}
			if m := byID[owner]; m != nil {
				m.BaseModules = append(m.BaseModules, &b)
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("load base modules: %w", err)
		}
	}
	return nil
}
