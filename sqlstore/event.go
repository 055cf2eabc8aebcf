package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/rida-build/rida"
)

// defaultEventBatch is how many events PendingEvents returns when asked for
// a non-positive limit.
const defaultEventBatch = 100

const pendingEventsSQL = `SELECT id, type, module_build_id, component_build_id, created_at, payload,
 published_at FROM events WHERE published_at IS NULL ORDER BY id LIMIT ?`

// PendingEvents returns up to limit unpublished outbox events, oldest (lowest
// id) first. IDs follow commit order in both dialects, so a relay that
// publishes in this order publishes in commit order.
func (db *DB) PendingEvents(ctx context.Context, limit int) ([]rida.Event, error) {
	if limit <= 0 {
		limit = defaultEventBatch
	}
	rows, err := db.run(nil).query(ctx, pendingEventsSQL, limit)
	if err != nil {
		return nil, wrapErr("pending events", err)
	}
	events, err := scanEvents(rows)
	return events, wrapErr("pending events", err)
}

// scanEvents reads event rows and closes them.
func scanEvents(rows *sql.Rows) ([]rida.Event, error) {
	defer rows.Close()
	var out []rida.Event
	var (
		e         rida.Event
		typ       string
		comp      sql.NullInt64
		at, pubAt timeValue
		payload   string
	)
	dest := []any{&e.ID, &typ, &e.ModuleBuildID, &comp, &at, &payload, &pubAt}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		out = append(out, rida.Event{
			ID: e.ID, Type: rida.EventType(typ), ModuleBuildID: e.ModuleBuildID,
			ComponentBuildID: comp.Int64, At: at.Time, Payload: json.RawMessage(payload),
			PublishedAt: pubAt.ptr(),
		})
	}
	return out, rows.Err()
}

// maxIDsPerStatement bounds the IN list of one UPDATE, well below both
// databases' limits on bound parameters.
const maxIDsPerStatement = 500

// MarkEventsPublished records that the events with the given ids were
// published, in one transaction. Marking an already published event again
// keeps its first publication time, so a relay retrying after a crash is
// harmless.
func (db *DB) MarkEventsPublished(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	nowArg := db.d.timeArg(db.nowUTC())
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		r := db.run(tx)
		for len(ids) > 0 {
			n := min(len(ids), maxIDsPerStatement)
			size, chunk := db.d.idArgs(ids[:n])
			args := append([]any{nowArg}, chunk...)
			if _, err := r.exec(ctx, markEventsSQL(size), args...); err != nil {
				return err
			}
			ids = ids[n:]
		}
		return nil
	})
	return wrapErr("mark events published", err)
}

// moduleEventRefsSQL lists what a module state change message names besides
// the build's own columns: its component builds ('c') and its siblings
// ('s', as siblingsSQL).
const moduleEventRefsSQL = `SELECT 'c', id FROM component_builds WHERE module_id = ?
 UNION ALL SELECT 's', b.id FROM module_builds a JOIN module_builds b
 ON b.name = a.name AND b.stream = a.stream AND b.version = a.version AND b.scratch = a.scratch AND b.id <> a.id
 WHERE a.id = ? ORDER BY 1, 2`

// moduleEvent returns the outbox event of m's state change, reading in the
// transaction what the payload lists (component builds, siblings), so the
// message says what a reader of the committed state sees.
func moduleEvent(ctx context.Context, r runner, m *rida.ModuleBuild, at time.Time) (rida.Event, error) {
	rows, err := r.query(ctx, moduleEventRefsSQL, m.ID, m.ID)
	if err != nil {
		return rida.Event{}, err
	}
	defer rows.Close()
	var comps, siblings []int64
	for rows.Next() {
		var kind string
		var id int64
		if err := rows.Scan(&kind, &id); err != nil {
			return rida.Event{}, err
		}
		if kind == "c" {
			comps = append(comps, id)
		} else {
			siblings = append(siblings, id)
		}
	}
	if err := rows.Err(); err != nil {
		return rida.Event{}, err
	}
	withSiblings := *m
	withSiblings.Siblings = siblings
	return rida.NewModuleEvent(&withSiblings, comps, at), nil
}

func moduleNSVCsSQL(n int) string {
	return `SELECT id, name, stream, version, context FROM module_builds WHERE id ` + idsIn(n)
}

// moduleNSVCs returns the N:S:V:C of the given module builds, which
// component state change messages name.
func moduleNSVCs(ctx context.Context, r runner, ids []int64) (map[int64]string, error) {
	out := make(map[int64]string, len(ids))
	for len(ids) > 0 {
		n := min(len(ids), maxIDsPerStatement)
		size, args := r.db.d.idArgs(ids[:n])
		rows, err := r.query(ctx, moduleNSVCsSQL(size), args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var m rida.ModuleBuild
			var version int64
			if err := rows.Scan(&m.ID, &m.Name, &m.Stream, &version, &m.Context); err != nil {
				rows.Close()
				return nil, err
			}
			m.Version = uint64(version)
			out[m.ID] = m.NSVC()
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		ids = ids[n:]
	}
	return out, nil
}

const moduleEventsSQL = `SELECT id, type, module_build_id, component_build_id, created_at, payload,
 published_at FROM events WHERE module_build_id = ? AND id > ? ORDER BY id LIMIT ?`

// ModuleBuildEvents returns up to limit events of one module build with ids
// above after, oldest first: the build's history as the bus carried it,
// which the live event stream serves and resumes from (the id is the
// stream's sequence number).
func (db *DB) ModuleBuildEvents(ctx context.Context, moduleID, after int64, limit int) ([]rida.Event, error) {
	if limit <= 0 {
		limit = defaultEventBatch
	}
	rows, err := db.run(nil).query(ctx, moduleEventsSQL, moduleID, after, limit)
	if err != nil {
		return nil, wrapErr("module build events", err)
	}
	events, err := scanEvents(rows)
	return events, wrapErr("module build events", err)
}
