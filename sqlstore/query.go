package sqlstore

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/rida-build/rida"
)

// listQuery is a list query built from a filter: the page query, the count
// query with the same WHERE clause, and their arguments, all with "?"
// placeholders (the caller rebinds them for PostgreSQL).
type listQuery struct {
	sel, count      string
	args            []any // WHERE arguments, shared by both queries
	perPage, offset int
	// empty means the filter cannot match anything (e.g. a version above
	// BIGINT), so no query needs to run.
	empty bool
}

// selArgs returns the page query's arguments: the WHERE ones, then LIMIT and
// OFFSET.
func (lq *listQuery) selArgs() []any {
	return append(lq.args[:len(lq.args):len(lq.args)], lq.perPage, lq.offset)
}

// where accumulates AND-ed conditions.
type where struct {
	b    strings.Builder
	args []any
}

func (w *where) cond(sql string, args ...any) {
	if w.b.Len() == 0 {
		w.b.WriteString(" WHERE ")
	} else {
		w.b.WriteString(" AND ")
	}
	w.b.WriteString(sql)
	w.args = append(w.args, args...)
}

// str filters a NOT NULL text column.
func (w *where) str(col string, v *string) {
	if v != nil {
		w.cond(col+" = ?", *v)
	}
}

// nullStr filters an optional text column: "" matches NULL, since "" is
// stored as NULL.
func (w *where) nullStr(col string, v *string) {
	switch {
	case v == nil:
	case *v == "":
		w.cond(col + " IS NULL")
	default:
		w.cond(col+" = ?", *v)
	}
}

// nullInt filters an optional integer column where 0 is stored as NULL.
func (w *where) nullInt(col string, v *int64) {
	switch {
	case v == nil:
	case *v == 0:
		w.cond(col + " IS NULL")
	default:
		w.cond(col+" = ?", *v)
	}
}

func (w *where) int64(col string, v *int64) {
	if v != nil {
		w.cond(col+" = ?", *v)
	}
}

func (w *where) int(col string, v *int) {
	if v != nil {
		w.cond(col+" = ?", *v)
	}
}

func (w *where) bool(col string, v *bool) {
	if v != nil {
		w.cond(col+" = ?", *v)
	}
}

func (w *where) float(col string, v *float64) {
	if v != nil {
		w.cond(col+" = ?", *v)
	}
}

func (w *where) in(col string, vals []any) {
	switch len(vals) {
	case 0:
	case 1:
		w.cond(col+" = ?", vals[0])
	default:
		w.cond(col+" IN ("+placeholders(len(vals))+")", vals...)
	}
}

// timeRange adds after (>=) and before (<=) bounds; each dialect's time
// encoding keeps comparisons in time order.
func (w *where) timeRange(d *dialect, col string, after, before *time.Time) {
	if after != nil {
		w.cond(d.selectiveRange(col+" >= ?"), d.timeArg(*after))
	}
	if before != nil {
		w.cond(d.selectiveRange(col+" <= ?"), d.timeArg(*before))
	}
}

// Columns that may be NULL: ordering puts NULLs last ascending and first
// descending in both dialects (PostgreSQL's default, which SQLite does the
// other way round).
var nullableModuleColumns = []string{
	"build_context", "build_context_no_bms", "runtime_context", "ref_build_context", "state_reason",
	"scmurl", "koji_tag", "cg_build_koji_tag", "new_repo_task_id", "stream_version",
	"time_completed", "reused_module_id",
}

var nullableComponentColumns = []string{
	"ref", "task_id", "state", "state_reason", "nvr", "reused_component_id",
}

// orderBy validates the ordering keys against allowed and returns the ORDER
// BY clause, always ending with id so pages are stable.
func orderBy(order []rida.Order, allowed, nullable []string) (string, error) {
	var b strings.Builder
	b.WriteString(" ORDER BY ")
	hasID := false
	lastDesc := true // the default order is id DESC
	for i, o := range order {
		if !slices.Contains(allowed, o.Field) {
			return "", rida.Errorf(rida.CodeInvalid, "An invalid ordering key of %q was supplied", o.Field)
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(o.Field)
		nulls := slices.Contains(nullable, o.Field)
		switch {
		case o.Desc && nulls:
			b.WriteString(" DESC NULLS FIRST")
		case o.Desc:
			b.WriteString(" DESC")
		case nulls:
			b.WriteString(" ASC NULLS LAST")
		default:
			b.WriteString(" ASC")
		}
		if o.Field == "id" {
			hasID = true
		}
		lastDesc = o.Desc
	}
	if !hasID {
		if len(order) > 0 {
			b.WriteString(", ")
		}
		// The tie-breaker follows the last key's direction, so an index on
		// (col, id) can serve the whole ORDER BY in one direction.
		if lastDesc {
			b.WriteString("id DESC")
		} else {
			b.WriteString("id ASC")
		}
	}
	return b.String(), nil
}

// paging validates page and per_page: page 0 means 1, per_page 0 the
// default, and per_page above rida.MaxPerPage is refused.
func paging(page, perPage int) (limit, offset int, err error) {
	if page < 0 {
		return 0, 0, rida.Errorf(rida.CodeInvalid, "The page must be 1 or more, not %d", page)
	}
	if page == 0 {
		page = 1
	}
	switch {
	case perPage == 0:
		perPage = rida.DefaultPerPage
	case perPage < 0:
		return 0, 0, rida.Errorf(rida.CodeInvalid, "The per_page must be 1 or more, not %d", perPage)
	case perPage > rida.MaxPerPage:
		return 0, 0, rida.Errorf(rida.CodeInvalid, "The per_page must be at most %d, not %d", rida.MaxPerPage, perPage)
	}
	if page-1 > math.MaxInt32/perPage {
		return 0, 0, rida.Errorf(rida.CodeInvalid, "The page %d is out of range", page)
	}
	return perPage, (page - 1) * perPage, nil
}

// buildModuleBuildsQuery builds the page and count queries of a module build
// list. It is separate from FindModuleBuilds so tests can EXPLAIN it.
func buildModuleBuildsQuery(d *dialect, f *rida.ModuleBuildFilter) (listQuery, error) {
	var lq listQuery
	var err error
	if lq.perPage, lq.offset, err = paging(f.Page, f.PerPage); err != nil {
		return lq, err
	}
	order, err := orderBy(f.Order, rida.ModuleBuildOrderFields, nullableModuleColumns)
	if err != nil {
		return lq, err
	}
	var w where
	w.str("name", f.Name)
	w.str("stream", f.Stream)
	if f.Version != nil {
		if *f.Version > math.MaxInt64 {
			lq.empty = true
			return lq, nil
		}
		w.cond("version = ?", int64(*f.Version))
	}
	w.str("context", f.Context)
	w.nullStr("build_context", f.BuildContext)
	w.nullStr("build_context_no_bms", f.BuildContextNoBMS)
	w.nullStr("runtime_context", f.RuntimeContext)
	w.nullStr("ref_build_context", f.RefBuildContext)
	w.nullStr("state_reason", f.StateReason)
	w.str("owner", f.Owner)
	w.nullStr("scmurl", f.SCMURL)
	w.nullStr("koji_tag", f.KojiTag)
	w.nullStr("cg_build_koji_tag", f.CGBuildKojiTag)
	w.str("rebuild_strategy", f.RebuildStrategy)
	w.bool("scratch", f.Scratch)
	w.int("batch", f.Batch)
	w.nullInt("new_repo_task_id", f.NewRepoTaskID)
	w.int64("reused_module_id", f.ReusedModuleID)
	w.float("stream_version", f.StreamVersion)
	if len(f.States) > 0 {
		states := make([]any, 0, len(f.States))
		for _, s := range f.States {
			if !slices.Contains(states, any(int(s))) {
				states = append(states, int(s))
			}
		}
		w.in("state", states)
	}
	if v := f.StreamVersionLTE; v != nil {
		w.cond("stream_version >= ? AND stream_version <= ?", math.Floor(*v/10000)*10000, *v)
	}
	if len(f.VirtualStreams) > 0 {
		names := make([]any, len(f.VirtualStreams))
		for i, n := range f.VirtualStreams {
			names[i] = n
		}
		w.cond("id IN (SELECT module_build_id FROM module_builds_virtual_streams WHERE name IN ("+placeholders(len(names))+"))", names...)
	}
	if br := f.BaseModuleBR; !br.IsZero() {
		var sub where
		sub.str("b.name", br.Name)
		sub.str("b.stream", br.Stream)
		sub.str("b.context", br.Context)
		if br.Version != nil {
			if *br.Version > math.MaxInt64 {
				lq.empty = true
				return lq, nil
			}
			sub.cond("b.version = ?", int64(*br.Version))
		}
		sub.float("b.stream_version", br.StreamVersion)
		if br.StreamVersionLTE != nil {
			sub.cond("b.stream_version <= ?", *br.StreamVersionLTE)
		}
		if br.StreamVersionGTE != nil {
			sub.cond("b.stream_version >= ?", *br.StreamVersionGTE)
		}
		w.cond("id IN (SELECT l.module_build_id FROM module_builds_base_modules l JOIN module_builds b ON b.id = l.base_module_id"+sub.b.String()+")", sub.args...)
	}
	w.timeRange(d, "time_submitted", f.SubmittedAfter, f.SubmittedBefore)
	w.timeRange(d, "time_modified", f.ModifiedAfter, f.ModifiedBefore)
	w.timeRange(d, "time_completed", f.CompletedAfter, f.CompletedBefore)

	cond := w.b.String()
	lq.args = w.args
	lq.sel = "SELECT " + moduleSelect(f.Include.Modulemd) + " FROM module_builds" + cond + order + " LIMIT ? OFFSET ?"
	lq.count = "SELECT COUNT(*) FROM module_builds" + cond
	return lq, nil
}

// buildComponentBuildsQuery builds the page and count queries of a component
// build list.
func buildComponentBuildsQuery(f *rida.ComponentBuildFilter) (listQuery, error) {
	var lq listQuery
	var err error
	if lq.perPage, lq.offset, err = paging(f.Page, f.PerPage); err != nil {
		return lq, err
	}
	order, err := orderBy(f.Order, rida.ComponentBuildOrderFields, nullableComponentColumns)
	if err != nil {
		return lq, err
	}
	var w where
	w.int64("module_id", f.ModuleBuildID)
	w.str("package", f.Package)
	w.str("format", f.Format)
	w.str("scmurl", f.SCMURL)
	w.nullStr("ref", f.Ref)
	w.nullStr("state_reason", f.StateReason)
	w.nullStr("nvr", f.NVR)
	w.nullInt("task_id", f.TaskID)
	w.int64("reused_component_id", f.ReusedComponentID)
	w.int("batch", f.Batch)
	w.float("weight", f.Weight)
	w.bool("tagged", f.Tagged)
	w.bool("tagged_in_final", f.TaggedInFinal)
	w.bool("build_time_only", f.BuildTimeOnly)
	w.bool("buildonly", f.BuildOnly)
	if len(f.States) > 0 {
		// ComponentWaiting is stored as NULL.
		var states []any
		waiting := false
		for _, s := range f.States {
			if s == rida.ComponentWaiting {
				waiting = true
			} else if !slices.Contains(states, any(int(s))) {
				states = append(states, int(s))
			}
		}
		switch {
		case waiting && len(states) == 0:
			w.cond("state IS NULL")
		case waiting:
			w.cond("(state IS NULL OR state IN ("+placeholders(len(states))+"))", states...)
		default:
			w.in("state", states)
		}
	}
	cond := w.b.String()
	lq.args = w.args
	lq.sel = "SELECT " + componentColumns + " FROM component_builds" + cond + order + " LIMIT ? OFFSET ?"
	lq.count = "SELECT COUNT(*) FROM component_builds" + cond
	return lq, nil
}
