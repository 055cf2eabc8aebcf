package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"

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
			return nil, wrapErr("pending events", err)
		}
		out = append(out, rida.Event{
			ID: e.ID, Type: rida.EventType(typ), ModuleBuildID: e.ModuleBuildID,
			ComponentBuildID: comp.Int64, At: at.Time, Payload: json.RawMessage(payload),
			PublishedAt: pubAt.ptr(),
		})
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr("pending events", err)
	}
	return out, nil
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
