package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/expand"
)

// Resolver returns the store as an expand.Resolver: the questions Module
// Stream Expansion asks about existing module builds (MBS's DB resolver,
// mbs.md §3.21), answered with the semantics of expandtest.Resolver, which
// the conformance test holds it to. It is a separate value rather than
// methods on *DB because names such as Streams and ModuleBuilds would read
// as general queries on the store, which they are not.
//
// A method returning candidates runs one query for the builds and one each
// for their virtual streams and busy siblings, in one read snapshot, never
// one per candidate. Candidates' VirtualStreams are sorted by name. An
// unreachable database is a *rida.Error with CodeUnavailable.
func (db *DB) Resolver() expand.Resolver { return resolver{db: db} }

// resolver implements expand.Resolver over the database.
type resolver struct{ db *DB }

var _ expand.Resolver = resolver{}

// candidateColumns is what a candidate is built from, in the order
// candidateRow.dest scans it: no modulemd text, which can be large and which
// expansion does not need (requires, commit and mse have columns).
const candidateColumns = `id, name, stream, version, context, state, requires, buildrequires,
 stream_version, koji_tag, commit_ref, mse`

// The fixed resolver queries. States are arguments, not literals, so the
// statements stay generic; "ready" is the only state expansion uses except
// in CompatibleBaseModules.
const (
	// Streams in the order their first ready build was recorded, as
	// expandtest returns them (insertion order stands for id order).
	resolverStreamsSQL = `SELECT stream FROM module_builds WHERE name = ? AND state = ?
 GROUP BY stream ORDER BY MIN(id)`

	resolverStreamExistsSQL = `SELECT EXISTS (SELECT 1 FROM module_builds WHERE name = ? AND stream = ?)`

	// NULLS LAST: stream_version NULL sorts below every number, as in
	// expandtest (and as SQLite does by default, PostgreSQL does not);
	// ties keep the oldest build, as expandtest's strict "newer" does.
	resolverLatestVirtualSQL = `SELECT b.stream FROM module_builds_virtual_streams v
 JOIN module_builds b ON b.id = v.module_build_id
 WHERE v.name = ? AND b.name = ? AND b.state = ?
 ORDER BY b.stream_version DESC NULLS LAST, b.version DESC, b.id LIMIT 1`

	// get_last_builds_in_stream: the MAX is one seek in
	// module_builds_resolver_idx, the builds of that version one range.
	resolverModuleBuildsSQL = `SELECT ` + candidateColumns + ` FROM module_builds
 WHERE name = ? AND stream = ? AND state = ? AND version = (SELECT MAX(version) FROM module_builds
 WHERE name = ? AND stream = ? AND state = ?) ORDER BY id`

	// get_buildrequired_modulemds: driven from the few ready builds of
	// name:stream, each checked against the link's primary key, rather than
	// from every build linked to the base module (thousands for a platform
	// stream).
	resolverBuildrequiredSQL = `WITH m AS (SELECT b.id, b.version FROM module_builds b
 WHERE b.name = ? AND b.stream = ? AND b.state = ? AND EXISTS (SELECT 1 FROM module_builds_base_modules l
 WHERE l.module_build_id = b.id AND l.base_module_id = (SELECT p.id FROM module_builds p
 WHERE p.name = ? AND p.stream = ? AND p.version = ? AND p.context = ?)))
 SELECT ` + candidateColumns + ` FROM module_builds
 WHERE id IN (SELECT id FROM m WHERE version = (SELECT MAX(version) FROM m)) ORDER BY id`
)

// compatibleBaseModulesSQL is get_last_builds_in_stream_version_lte for n
// virtual streams (anyArray: one array parameter), with or without the
// stream_version window. Per stream the newest version among the matches,
// all its contexts; stream_version descending, then id, as expandtest's
// stable sort leaves them.
func compatibleBaseModulesSQL(n int, window bool) string {
	cond := ""
	if window {
		cond = ` AND b.stream_version >= ? AND b.stream_version <= ?`
	}
	return `WITH m AS (SELECT b.id, b.stream, b.version FROM module_builds b
 WHERE b.name = ? AND b.state = ?` + cond + ` AND EXISTS (SELECT 1 FROM module_builds_virtual_streams v
 WHERE v.module_build_id = b.id AND v.name ` + idsIn(n) + `))
 SELECT ` + candidateColumns + ` FROM module_builds WHERE id IN (SELECT m.id FROM m
 WHERE m.version = (SELECT MAX(m2.version) FROM m m2 WHERE m2.stream = m.stream))
 ORDER BY stream_version DESC NULLS LAST, id`
}

// busyStates is the SQL list of the states a sibling may be in without
// blocking a build against it (MBS's resolve_requires: ready or failed).
var busyStates = strconv.Itoa(int(rida.ModuleFailed)) + ", " + strconv.Itoa(int(rida.ModuleReady))

// busySiblingsSQL finds, for n builds, their siblings (same N:S:V and scratch
// flag, other context: ModuleBuild.siblings) that are neither ready nor
// failed, in id order per build; the shape follows siblingsSQL.
func busySiblingsSQL(n int) string {
	if n == anyArray {
		return `SELECT a.id, s.state FROM module_builds a CROSS JOIN LATERAL (SELECT b.id, b.state FROM module_builds b
 WHERE b.name = a.name AND b.stream = a.stream AND b.version = a.version AND b.scratch = a.scratch AND b.id <> a.id
 AND b.state NOT IN (` + busyStates + `) OFFSET 0) s
 WHERE a.id = ANY(?) ORDER BY a.id, s.id`
	}
	return `SELECT a.id, b.state FROM module_builds a JOIN module_builds b
 ON b.name = a.name AND b.stream = a.stream AND b.version = a.version AND b.scratch = a.scratch AND b.id <> a.id
 WHERE a.id ` + idsIn(n) + ` AND b.state NOT IN (` + busyStates + `) ORDER BY a.id, b.id`
}

// resolverStaticQueries are the resolver queries the statement cache holds.
// The compatible-base-module queries are not among them: they are prepared
// on first use (prepareDynamic), since only a few list lengths occur.
func resolverStaticQueries() []string {
	qs := []string{resolverStreamsSQL, resolverStreamExistsSQL, resolverLatestVirtualSQL,
		resolverModuleBuildsSQL, resolverBuildrequiredSQL}
	for n := 1; n <= maxBucket; n <<= 1 {
		qs = append(qs, busySiblingsSQL(n))
	}
	return qs
}

// stringArgs is idArgs for a list of strings: one array on PostgreSQL, a
// padded IN list on SQLite.
func (d *dialect) stringArgs(vs []string) (int, []any) {
	if d.postgres() {
		return anyArray, []any{vs}
	}
	args := make([]any, len(vs))
	for i, v := range vs {
		args[i] = v
	}
	args = padIDs(args)
	return len(args), args
}

// Streams implements expand.Resolver.
func (r resolver) Streams(ctx context.Context, name string) ([]string, error) {
	rows, err := r.db.run(nil).query(ctx, resolverStreamsSQL, name, int(rida.ModuleReady))
	if err != nil {
		return nil, wrapErr("resolve streams of "+name, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, wrapErr("resolve streams of "+name, err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapErr("resolve streams of "+name, err)
	}
	return out, nil
}

// StreamExists implements expand.Resolver.
func (r resolver) StreamExists(ctx context.Context, name, stream string) (bool, error) {
	var ok boolValue
	if err := r.db.run(nil).queryRow(ctx, resolverStreamExistsSQL, name, stream).Scan(&ok); err != nil {
		return false, wrapErr("resolve whether "+name+":"+stream+" exists", err)
	}
	return bool(ok), nil
}

// LatestWithVirtualStream implements expand.Resolver.
func (r resolver) LatestWithVirtualStream(ctx context.Context, name, virtualStream string) (string, bool, error) {
	var stream string
	err := r.db.run(nil).queryRow(ctx, resolverLatestVirtualSQL, virtualStream, name, int(rida.ModuleReady)).Scan(&stream)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", false, nil
	case err != nil:
		return "", false, wrapErr("resolve latest "+name+" with virtual stream "+virtualStream, err)
	}
	return stream, true, nil
}

// ModuleBuilds implements expand.Resolver.
func (r resolver) ModuleBuilds(ctx context.Context, name, stream string) ([]expand.Candidate, error) {
	ready := int(rida.ModuleReady)
	out, err := r.candidates(ctx, nil, resolverModuleBuildsSQL, name, stream, ready, name, stream, ready)
	if err != nil {
		return nil, wrapErr("resolve module builds of "+name+":"+stream, err)
	}
	return out, nil
}

// CompatibleBaseModules implements expand.Resolver.
func (r resolver) CompatibleBaseModules(ctx context.Context, name string, virtualStreams []string, maxStreamVersion float64, state rida.ModuleState) ([]expand.Candidate, error) {
	if len(virtualStreams) == 0 {
		// No virtual stream can match, as in expandtest.
		return nil, nil
	}
	n, vs := r.db.d.stringArgs(virtualStreams)
	window := maxStreamVersion != 0
	args := make([]any, 0, 4+len(vs))
	args = append(args, name, int(state))
	if window {
		// Same major version: 280000 ≤ stream_version ≤ 280105.
		args = append(args, math.Floor(maxStreamVersion/10000)*10000, maxStreamVersion)
	}
	args = append(args, vs...)
	query := compatibleBaseModulesSQL(n, window)
	out, err := r.candidates(ctx, r.db.prepareDynamic(ctx, query), query, args...)
	if err != nil {
		return nil, wrapErr("resolve compatible base modules of "+name, err)
	}
	return out, nil
}

// BuildrequiredModules implements expand.Resolver.
func (r resolver) BuildrequiredModules(ctx context.Context, name, stream string, base expand.NSVC) ([]expand.Candidate, error) {
	if base.Version > math.MaxInt64 {
		// No stored build has such a version (checkVersion).
		return nil, nil
	}
	out, err := r.candidates(ctx, nil, resolverBuildrequiredSQL, name, stream, int(rida.ModuleReady),
		base.Name, base.Stream, int64(base.Version), base.Context)
	if err != nil {
		return nil, wrapErr("resolve module builds of "+name+":"+stream+" built against "+base.String(), err)
	}
	return out, nil
}

// candidates runs a candidate query (through st when it was prepared with
// prepareDynamic, else through the statement cache) and loads the virtual
// streams and busy siblings of all its rows, in one read snapshot. It
// returns nil, not an empty slice, when nothing matches.
func (r resolver) candidates(ctx context.Context, st *sql.Stmt, query string, args ...any) ([]expand.Candidate, error) {
	var out []expand.Candidate
	err := r.db.inReadTx(ctx, func(tx *sql.Tx) error {
		q := r.db.run(tx)
		var rows *sql.Rows
		var err error
		if st != nil {
			rows, err = q.queryDynamic(ctx, st, query, args...)
		} else {
			rows, err = q.query(ctx, query, args...)
		}
		if err != nil {
			return err
		}
		defer rows.Close()
		var ids []int64
		row := newCandidateRow()
		for rows.Next() {
			if err := rows.Scan(row.dest...); err != nil {
				return err
			}
			c, err := row.candidate()
			if err != nil {
				return err
			}
			out = append(out, c)
			ids = append(ids, row.id.V)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		rows.Close()
		if len(out) == 0 {
			return nil
		}
		return loadCandidateRelated(ctx, q, out, ids)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// loadCandidateRelated fills VirtualStreams and BusySibling of cs (whose
// database ids are ids, index for index) with one query each.
func loadCandidateRelated(ctx context.Context, q runner, cs []expand.Candidate, ids []int64) error {
	index := make(map[int64]int, len(ids))
	for i, id := range ids {
		index[id] = i
	}
	n, args := q.db.d.idArgs(ids)
	rows, err := q.query(ctx, virtualStreamsSQL(n), args...)
	if err != nil {
		return fmt.Errorf("load virtual streams: %w", err)
	}
	defer rows.Close()
	var (
		id, state intValue
		name      string
	)
	for rows.Next() {
		if err := rows.Scan(&id, &name); err != nil {
			return fmt.Errorf("load virtual streams: %w", err)
		}
		c := &cs[index[id.V]]
		c.VirtualStreams = append(c.VirtualStreams, name)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load virtual streams: %w", err)
	}
	rows.Close()

	rows, err = q.query(ctx, busySiblingsSQL(n), args...)
	if err != nil {
		return fmt.Errorf("load busy siblings: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := rows.Scan(&id, &state); err != nil {
			return fmt.Errorf("load busy siblings: %w", err)
		}
		// Rows come in sibling id order: the oldest busy sibling is
		// reported, so the answer does not depend on the plan.
		if c := &cs[index[id.V]]; c.BusySibling == nil {
			s := rida.ModuleState(state.V)
			c.BusySibling = &s
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("load busy siblings: %w", err)
	}
	return nil
}

// candidateRow holds the scan targets of one candidateColumns row, reused
// for every row of a result.
type candidateRow struct {
	id, version, state               intValue
	name, stream, context            string
	requires, buildRequires, kojiTag textValue
	commit                           textValue
	streamVersion                    floatValue
	mse                              boolValue
	dest                             []any
}

func newCandidateRow() *candidateRow {
	r := &candidateRow{}
	r.dest = []any{&r.id, &r.name, &r.stream, &r.version, &r.context, &r.state, &r.requires,
		&r.buildRequires, &r.streamVersion, &r.kojiTag, &r.commit, &r.mse}
	return r
}

// candidate converts the scanned row. BuildRequires keeps only the stream
// of each xmd.mbs.buildrequires entry; a NULL column is a nil map, an
// empty one an empty map, as the build was stored.
func (r *candidateRow) candidate() (expand.Candidate, error) {
	c := expand.Candidate{
		NSVC:    expand.NSVC{Name: r.name, Stream: r.stream, Version: uint64(r.version.V), Context: r.context},
		State:   rida.ModuleState(r.state.V),
		KojiTag: r.kojiTag.V,
		Ref:     r.commit.V,
		MSE:     bool(r.mse),
	}
	if r.streamVersion.Valid {
		v := r.streamVersion.V
		c.StreamVersion = &v
	}
	if r.requires.Valid {
		if err := json.Unmarshal([]byte(r.requires.V), &c.Requires); err != nil {
			return c, fmt.Errorf("module build %d: decode requires: %w", r.id.V, err)
		}
	}
	if r.buildRequires.Valid {
		var brs map[string]rida.BuildRequire
		if err := json.Unmarshal([]byte(r.buildRequires.V), &brs); err != nil {
			return c, fmt.Errorf("module build %d: decode buildrequires: %w", r.id.V, err)
		}
		if brs != nil {
			c.BuildRequires = make(map[string]string, len(brs))
			for name, br := range brs {
				c.BuildRequires[name] = br.Stream
			}
		}
	}
	return c, nil
}
