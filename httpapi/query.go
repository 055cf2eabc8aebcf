package httpapi

import (
	"math"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/rida-build/rida"
)

// query reads typed values out of a request's query string, remembering the
// first error so handlers check once. Every error names the parameter.
type query struct {
	v   url.Values
	err error
}

func (q *query) fail(format string, args ...any) {
	if q.err == nil {
		q.err = rida.Errorf(rida.CodeInvalid, format, args...)
	}
}

func (q *query) has(key string) bool { _, ok := q.v[key]; return ok }

func (q *query) str(key string) *string {
	if !q.has(key) {
		return nil
	}
	s := q.v.Get(key)
	return &s
}

func (q *query) int64(key string) *int64 {
	s := q.str(key)
	if s == nil {
		return nil
	}
	n, err := strconv.ParseInt(*s, 10, 64)
	if err != nil {
		q.fail("The %q parameter must be an integer, not %q", key, *s)
		return nil
	}
	return &n
}

func (q *query) int(key string) *int {
	n := q.int64(key)
	if n == nil {
		return nil
	}
	if *n < math.MinInt32 || *n > math.MaxInt32 {
		q.fail("The %q parameter is out of range: %d", key, *n)
		return nil
	}
	v := int(*n)
	return &v
}

func (q *query) uint64(key string) *uint64 {
	s := q.str(key)
	if s == nil {
		return nil
	}
	n, err := strconv.ParseUint(*s, 10, 64)
	if err != nil {
		q.fail("The %q parameter must be an unsigned integer, not %q", key, *s)
		return nil
	}
	return &n
}

func (q *query) float(key string) *float64 {
	s := q.str(key)
	if s == nil {
		return nil
	}
	f, err := strconv.ParseFloat(*s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		q.fail("The %q parameter must be a number, not %q", key, *s)
		return nil
	}
	return &f
}

// truthy is MBS's reading of a boolean parameter: "true" or "1", any case.
func truthy(s string) bool { return strings.EqualFold(s, "true") || s == "1" }

// boolean filters accept true/false/1/0 and refuse anything else, where MBS
// would silently compare the text against the column.
func (q *query) boolean(key string) *bool {
	s := q.str(key)
	if s == nil {
		return nil
	}
	switch strings.ToLower(*s) {
	case "true", "1":
		b := true
		return &b
	case "false", "0":
		b := false
		return &b
	}
	q.fail("The %q parameter must be true or false, not %q", key, *s)
	return nil
}

// zulu is MBS's accepted timestamp form; the fraction is dropped.
var zulu = regexp.MustCompile(`^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.\d+)?(?:Z|[-+]00(?::00)?)?$`)

func (q *query) time(key string) *time.Time {
	s := q.str(key)
	if s == nil {
		return nil
	}
	m := zulu.FindStringSubmatch(*s)
	if m == nil {
		q.fail("An invalid Zulu ISO 8601 timestamp was provided for the %q parameter", key)
		return nil
	}
	t, err := time.Parse("2006-01-02T15:04:05", m[1])
	if err != nil {
		q.fail("An invalid Zulu ISO 8601 timestamp was provided for the %q parameter", key)
		return nil
	}
	return &t
}

// order reads order_by / order_desc_by; the store validates the keys.
func (q *query) order() []rida.Order {
	asc, desc := q.v["order_by"], q.v["order_desc_by"]
	if len(asc) > 0 && len(desc) > 0 {
		q.fail("You may not specify both order_by and order_desc_by")
		return nil
	}
	var out []rida.Order
	for _, f := range asc {
		out = append(out, rida.Order{Field: f})
	}
	for _, f := range desc {
		out = append(out, rida.Order{Field: f, Desc: true})
	}
	return out
}

// paging reads page and per_page with MBS's defaults and rida's bound.
func (q *query) paging() (page, perPage int) {
	page, perPage = 1, rida.DefaultPerPage
	if p := q.int("page"); p != nil {
		if *p < 1 {
			q.fail("The \"page\" parameter must be 1 or more, not %d", *p)
		}
		page = *p
	}
	if p := q.int("per_page"); p != nil {
		if *p < 1 || *p > rida.MaxPerPage {
			q.fail("The \"per_page\" parameter must be between 1 and %d, not %d", rida.MaxPerPage, *p)
		}
		perPage = *p
	}
	return page, perPage
}

// moduleFilter parses MBS's module-builds list query (mbs.md §1.3).
func moduleFilter(v url.Values, apiVersion int) (rida.ModuleBuildFilter, error) {
	q := &query{v: v}
	var f rida.ModuleBuildFilter
	if q.has("id") {
		return f, rida.Errorf(rida.CodeInvalid, `The "id" query option is invalid. Did you mean to go to "/module-build-service/%d/module-builds/<id>"?`, apiVersion)
	}
	if q.has("rpm") {
		return f, rida.Errorf(rida.CodeInvalid, "Configured builder does not allow to search by rpm binary name!")
	}
	f.Name, f.Stream, f.Context = q.str("name"), q.str("stream"), q.str("context")
	f.Version = q.uint64("version")
	if nsvc := q.str("nsvc"); nsvc != nil {
		parts := strings.Split(*nsvc, ":")
		if len(parts) > 4 {
			return f, rida.Errorf(rida.CodeInvalid, `The "nsvc" parameter must be N[:S[:V[:C]]], not %q`, *nsvc)
		}
		f.Name = &parts[0]
		if len(parts) > 1 {
			f.Stream = &parts[1]
		}
		if len(parts) > 2 {
			n, err := strconv.ParseUint(parts[2], 10, 64)
			if err != nil {
				return f, rida.Errorf(rida.CodeInvalid, `The version in the "nsvc" parameter must be an unsigned integer, not %q`, parts[2])
			}
			f.Version = &n
		}
		if len(parts) > 3 {
			f.Context = &parts[3]
		}
	}
	f.BuildContext, f.BuildContextNoBMS = q.str("build_context"), q.str("build_context_no_bms")
	f.RuntimeContext, f.RefBuildContext = q.str("runtime_context"), q.str("ref_build_context")
	f.StateReason, f.Owner, f.SCMURL = q.str("state_reason"), q.str("owner"), q.str("scmurl")
	f.KojiTag, f.CGBuildKojiTag = q.str("koji_tag"), q.str("cg_build_koji_tag")
	f.RebuildStrategy = q.str("rebuild_strategy")
	f.Scratch = q.boolean("scratch")
	f.Batch = q.int("batch")
	f.NewRepoTaskID, f.ReusedModuleID = q.int64("new_repo_task_id"), q.int64("reused_module_id")
	f.StreamVersion = q.float("stream_version")
	if v := q.float("stream_version_lte"); v != nil {
		if *v < 10000 {
			return f, rida.Errorf(rida.CodeInvalid, "An invalid value of stream_version_lte was provided. It must be an integer or float greater than or equal to 10000.")
		}
		f.StreamVersionLTE = v
	}
	f.VirtualStreams = v["virtual_stream"]
	if nsvc := q.str("base_module_br"); nsvc != nil {
		parts := strings.Split(*nsvc, ":")
		version, err := strconv.ParseUint(parts[min(2, len(parts)-1)], 10, 64)
		if len(parts) != 4 || err != nil {
			return f, rida.Errorf(rida.CodeInvalid, `The filter argument for "base_module_br" must be in the format of N:S:V:C`)
		}
		f.BaseModuleBR = rida.BaseModuleFilter{Name: &parts[0], Stream: &parts[1], Version: &version, Context: &parts[3]}
	}
	br := &f.BaseModuleBR
	if n := q.str("base_module_br_name"); n != nil {
		br.Name = n
	}
	if s := q.str("base_module_br_stream"); s != nil {
		br.Stream = s
	}
	if v := q.uint64("base_module_br_version"); v != nil {
		br.Version = v
	}
	if c := q.str("base_module_br_context"); c != nil {
		br.Context = c
	}
	br.StreamVersion = q.float("base_module_br_stream_version")
	br.StreamVersionLTE = q.float("base_module_br_stream_version_lte")
	br.StreamVersionGTE = q.float("base_module_br_stream_version_gte")
	for _, s := range v["state"] {
		st, err := rida.ParseModuleState(s)
		if err != nil {
			return f, err
		}
		f.States = append(f.States, st)
	}
	f.SubmittedBefore, f.SubmittedAfter = q.time("submitted_before"), q.time("submitted_after")
	f.ModifiedBefore, f.ModifiedAfter = q.time("modified_before"), q.time("modified_after")
	f.CompletedBefore, f.CompletedAfter = q.time("completed_before"), q.time("completed_after")
	f.Order = q.order()
	f.Page, f.PerPage = q.paging()
	return f, q.err
}

// componentFilter parses MBS's component-builds list query (mbs.md §1.8).
func componentFilter(v url.Values, apiVersion int) (rida.ComponentBuildFilter, error) {
	q := &query{v: v}
	var f rida.ComponentBuildFilter
	if q.has("id") {
		return f, rida.Errorf(rida.CodeInvalid, `The "id" query option is invalid. Did you mean to go to "/module-build-service/%d/component-builds/<id>"?`, apiVersion)
	}
	f.ModuleBuildID = q.int64("module_id")
	if id := q.int64("module_build"); id != nil {
		f.ModuleBuildID = id
	}
	f.Package, f.Format, f.SCMURL, f.Ref = q.str("package"), q.str("format"), q.str("scmurl"), q.str("ref")
	f.StateReason, f.NVR = q.str("state_reason"), q.str("nvr")
	f.TaskID, f.ReusedComponentID = q.int64("task_id"), q.int64("reused_component_id")
	f.Batch = q.int("batch")
	f.Weight = q.float("weight")
	f.Tagged, f.TaggedInFinal = q.boolean("tagged"), q.boolean("tagged_in_final")
	f.BuildTimeOnly, f.BuildOnly = q.boolean("build_time_only"), q.boolean("buildonly")
	for _, s := range v["state"] {
		st, err := rida.ParseComponentState(s)
		if err != nil {
			return f, err
		}
		f.States = append(f.States, st)
	}
	f.Order = q.order()
	f.Page, f.PerPage = q.paging()
	return f, q.err
}
