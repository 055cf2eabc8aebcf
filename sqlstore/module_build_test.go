package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/rida-build/rida"
)

var includeAll = rida.ModuleBuildInclude{Modulemd: true, Components: true, StateTrace: true, Siblings: true, ComponentTraces: true}

func ptr[T any](v T) *T { return &v }

// newModuleBuild returns a valid module build in init with two components,
// every optional field left unset.
func newModuleBuild(name, stream string, version uint64, context string) *rida.ModuleBuild {
	return &rida.ModuleBuild{
		Name: name, Stream: stream, Version: version, Context: context,
		State: rida.ModuleInit, Owner: "alice", Modulemd: "document: modulemd\nversion: 2\n",
		RebuildStrategy: rida.RebuildChangedAndAfter,
		Components: []*rida.ComponentBuild{
			{Package: "module-build-macros", Format: rida.FormatRPMs, SCMURL: "/tmp/macros.src.rpm", Batch: 1, BuildTimeOnly: true, State: rida.ComponentWaiting},
			{Package: "tangerine", Format: rida.FormatRPMs, SCMURL: "https://src.example/rpms/tangerine?#abc", Ref: "abc", BuildOrder: 10, Batch: 2, State: rida.ComponentWaiting},
		},
	}
}

// fullModuleBuild sets every field of a module build to a non-zero value.
func fullModuleBuild() *rida.ModuleBuild {
	m := newModuleBuild("nginx", "1.20", 20240102030405, "deadbeef")
	m.BuildContext = "bc"
	m.BuildContextNoBMS = "bcnobms"
	m.RuntimeContext = "rc"
	m.RefBuildContext = "rbc"
	m.StateReason = "Submitted by alice"
	m.SCMURL = "https://src.example/modules/nginx?#1234"
	m.KojiTag = "module-nginx-1.20-20240102030405-deadbeef"
	m.CGBuildKojiTag = "module-f39-build"
	m.Scratch = true
	m.Batch = 2
	m.NewRepoTaskID = 77
	m.StreamVersion = ptr(280000.0)
	m.SRPMs = []string{"cli-build/a.src.rpm"}
	m.BuildRequires = map[string]rida.BuildRequire{
		"platform": {Stream: "f39", Version: "1", Context: "00000000", Ref: "virtual", KojiTag: "module-f39-build", FilteredRPMs: []string{"x"}, StreamVersion: ptr(390000.0)},
	}
	m.TimeCompleted = ptr(time.Date(2023, 5, 6, 7, 8, 9, 123456000, time.UTC))
	m.KojiBuildID = 4242
	m.KojiCGToken = "token"
	m.KojiDevelBuildID = 4243
	m.KojiDevelCGToken = "devel-token"
	m.KojiRefunded = true
	// Two dependency blocks; an empty stream list (any stream) must stay
	// distinct from a missing one.
	m.Requires = []map[string][]string{{"platform": {"f39"}, "nodejs": {}}, {"platform": {"f40", "-f38"}}}
	m.Commit = "0123456789abcdef0123456789abcdef01234567"
	m.MSE = true
	ts := rida.TaskOpen
	m.Components[1].TaskID = 1001
	m.Components[1].TaskState = &ts
	m.Components[1].State = rida.ComponentBuilding
	m.Components[1].StateReason = "building"
	m.Components[1].NVR = "tangerine-1.0-1"
	m.Components[1].BuildOnly = true
	m.Components[1].Weight = 1.5
	m.Components[1].Tagged = true
	m.Components[1].TaggedInFinal = true
	return m
}

// mustCreate creates m or fails the test.
func mustCreate(tb testing.TB, db *testDB, m *rida.ModuleBuild) *rida.ModuleBuild {
	tb.Helper()
	if err := db.CreateModuleBuild(context.Background(), m); err != nil {
		tb.Fatalf("create %s: %v", m.NSVC(), err)
	}
	return m
}

// countRows returns the number of rows in table (test helper; no user input).
func countRows(tb testing.TB, db *testDB, table string) int {
	tb.Helper()
	var n int
	if err := db.db.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
		tb.Fatal(err)
	}
	return n
}

func TestCreateModuleBuild_RoundTrip(t *testing.T) {
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, db *testDB) {
		// A reuse source first, so ReusedModuleID and ReusedComponentID
		// reference real rows.
		src := mustCreate(t, db, newModuleBuild("nginx", "1.20", 1, "00000000"))
		m := fullModuleBuild()
		m.ReusedModuleID = &src.ID
		m.Components[0].ReusedComponentID = &src.Components[0].ID
		mustCreate(t, db, m)

		if m.ID == 0 || m.Rev != 1 || m.Components[0].ID == 0 || m.Components[1].ModuleBuildID != m.ID || m.Components[1].Rev != 1 {
			t.Fatalf("create did not set ids/revs: %+v", m)
		}
		now := m.TimeSubmitted
		if !m.TimeModified.Equal(now) || now.Location() != time.UTC || now.Nanosecond()%1000 != 0 {
			t.Errorf("times: submitted %v modified %v", now, m.TimeModified)
		}

		got, err := db.FindModuleBuildByID(ctx, m.ID, includeAll)
		if err != nil {
			t.Fatal(err)
		}
		want := *m
		want.StateTrace = []rida.StateChange{{Time: now, State: int(rida.ModuleInit), Reason: "Submitted by alice"}}
		want.Components = nil
		for _, c := range m.Components {
			cc := *c
			cc.StateTrace = []rida.StateChange{{Time: now, State: int(c.State), Reason: c.StateReason}}
			want.Components = append(want.Components, &cc)
		}
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("FindModuleBuildByID mismatch (-want +got):\n%s", diff)
		}

		// Without includes, no related rows and no modulemd text.
		got, err = db.FindModuleBuildByID(ctx, m.ID, rida.ModuleBuildInclude{})
		if err != nil {
			t.Fatal(err)
		}
		comps := want.Components
		want.Components, want.StateTrace = nil, nil
		modulemd := want.Modulemd
		want.Modulemd = ""
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Errorf("FindModuleBuildByID (no include) mismatch (-want +got):\n%s", diff)
		}

		// The list path returns the same row.
		want.Modulemd = modulemd
		list, total, err := db.FindModuleBuilds(ctx, rida.ModuleBuildFilter{Name: ptr("nginx"), Version: ptr(m.Version), Include: rida.ModuleBuildInclude{Modulemd: true}})
		if err != nil || total != 1 || len(list) != 1 {
			t.Fatalf("FindModuleBuilds = %d items, total %d, %v", len(list), total, err)
		}
		if diff := cmp.Diff(&want, list[0]); diff != "" {
			t.Errorf("FindModuleBuilds mismatch (-want +got):\n%s", diff)
		}

		// ComponentTasks loads the task view of each component only.
		got, err = db.FindModuleBuildByID(ctx, m.ID, rida.ModuleBuildInclude{ComponentTasks: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Components) != len(m.Components) {
			t.Fatalf("ComponentTasks loaded %d components, want %d", len(got.Components), len(m.Components))
		}
		for i, c := range got.Components {
			full := comps[i]
			task := rida.ComponentBuild{ID: full.ID, ModuleBuildID: full.ModuleBuildID, Package: full.Package, Format: full.Format,
				Batch: full.Batch, TaskID: full.TaskID, TaskState: full.TaskState, State: full.State, StateReason: full.StateReason, NVR: full.NVR}
			if diff := cmp.Diff(&task, c); diff != "" {
				t.Errorf("ComponentTasks component %d (-want +got):\n%s", i, diff)
			}
		}

		// Components alone, by id.
		c, err := db.FindComponentBuildByID(ctx, m.Components[1].ID, true)
		if err != nil {
			t.Fatal(err)
		}
		wantC := *m.Components[1]
		wantC.StateTrace = []rida.StateChange{{Time: now, State: int(rida.ComponentBuilding), Reason: "building"}}
		if diff := cmp.Diff(&wantC, c); diff != "" {
			t.Errorf("FindComponentBuildByID mismatch (-want +got):\n%s", diff)
		}
		// The waiting component's trace state is ComponentWaiting (NULL).
		c, err = db.FindComponentBuildByID(ctx, m.Components[0].ID, true)
		if err != nil {
			t.Fatal(err)
		}
		if c.State != rida.ComponentWaiting || c.TaskState != nil || c.StateTrace[0].State != int(rida.ComponentWaiting) {
			t.Errorf("waiting component = %+v", c)
		}
	})
}

func TestCreateModuleBuild_EmptyValues(t *testing.T) {
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, db *testDB) {
		// Empty (non-nil) SRPMs and BuildRequires survive as empty, nil as
		// nil; an empty context gets MBS's default.
		m := newModuleBuild("empty", "s", 1, "")
		m.SRPMs = []string{}
		m.BuildRequires = map[string]rida.BuildRequire{}
		m.Components = nil
		mustCreate(t, db, m)
		if m.Context != "00000000" {
			t.Errorf("context = %q, want default", m.Context)
		}
		got, err := db.FindModuleBuildByID(ctx, m.ID, includeAll)
		if err != nil {
			t.Fatal(err)
		}
		if got.SRPMs == nil || len(got.SRPMs) != 0 || got.BuildRequires == nil || len(got.BuildRequires) != 0 {
			t.Errorf("SRPMs %#v BuildRequires %#v", got.SRPMs, got.BuildRequires)
		}
		if got.Components != nil || got.Siblings != nil || len(got.StateTrace) != 1 {
			t.Errorf("related = %v %v %v", got.Components, got.Siblings, got.StateTrace)
		}
	})
}

func TestCreateModuleBuild_Conflict(t *testing.T) {
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, db *testDB) {
		mustCreate(t, db, newModuleBuild("dup", "s", 1, "c1"))
		events := countRows(t, db, "events")
		err := db.CreateModuleBuild(ctx, newModuleBuild("dup", "s", 1, "c1"))
		if rida.ErrorCodeOf(err) != rida.CodeConflict || !strings.Contains(rida.ErrorMessageOf(err), "dup:s:1:c1") {
			t.Fatalf("duplicate NSVC: %v", err)
		}
		// Another context is fine.
		mustCreate(t, db, newModuleBuild("dup", "s", 1, "c2"))

		// A package twice in one build: conflict, and nothing of it stays.
		m := newModuleBuild("dup", "s", 2, "c1")
		m.Components[1].Package = m.Components[0].Package
		err = db.CreateModuleBuild(ctx, m)
		if rida.ErrorCodeOf(err) != rida.CodeConflict {
			t.Fatalf("duplicate package: %v", err)
		}
		if m.ID != 0 {
			t.Errorf("failed create changed m.ID to %d", m.ID)
		}
		if n := countRows(t, db, "module_builds"); n != 2 {
			t.Errorf("module_builds rows = %d, want 2", n)
		}
		if n := countRows(t, db, "events"); n != events+1 {
			t.Errorf("events = %d, want %d", n, events+1)
		}
	})
}

func TestCreateModuleBuild_VersionAboveMaxInt64(t *testing.T) {
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, db *testDB) {
		err := db.CreateModuleBuild(ctx, newModuleBuild("big", "s", math.MaxInt64+1, "c"))
		if rida.ErrorCodeOf(err) != rida.CodeUnprocessable ||
			rida.ErrorMessageOf(err) != "module version 9223372036854775808 is above 9223372036854775807" {
			t.Fatalf("err = %v", err)
		}
		m := mustCreate(t, db, newModuleBuild("big", "s", math.MaxInt64, "c"))
		got, err := db.FindModuleBuildByID(ctx, m.ID, rida.ModuleBuildInclude{})
		if err != nil || got.Version != math.MaxInt64 {
			t.Fatalf("max version round trip: %v, %v", got, err)
		}
		list, total, err := db.FindModuleBuilds(ctx, rida.ModuleBuildFilter{Version: ptr(uint64(math.MaxInt64 + 1))})
		if err != nil || total != 0 || len(list) != 0 {
			t.Errorf("filter on version above BIGINT: %v %d %v", list, total, err)
		}
	})
}

func TestFindModuleBuildByID_NotFound(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *testDB) {
		for _, inc := range []rida.ModuleBuildInclude{{}, includeAll} {
			_, err := db.FindModuleBuildByID(context.Background(), 999, inc)
			if !errors.Is(err, rida.ErrModuleBuildNotFound) {
				t.Errorf("err = %v, want ErrModuleBuildNotFound", err)
			}
		}
		_, err := db.FindComponentBuildByID(context.Background(), 999, true)
		if !errors.Is(err, rida.ErrComponentBuildNotFound) {
			t.Errorf("err = %v, want ErrComponentBuildNotFound", err)
		}
	})
}

// filterFixture creates builds that differ in every filterable field and
// returns them in creation order (ids ascending).
func filterFixture(t *testing.T, db *testDB) []*rida.ModuleBuild {
	t.Helper()
	ctx := context.Background()
	a := newModuleBuild("alpha", "1", 10, "c1")
	a.Owner = "alice"
	b := fullModuleBuild() // nginx:1.20, scratch, every field set
	b.Owner = "bob"
	c := newModuleBuild("alpha", "2", 20, "c2")
	c.Owner = "carol"
	c.StateReason = "why"
	c.RebuildStrategy = rida.RebuildAll
	c.StreamVersion = ptr(20000.0)
	c.Batch = 5
	mustCreate(t, db, a)
	mustCreate(t, db, b)
	mustCreate(t, db, c)
	d := newModuleBuild("delta", "1", 10, "c1")
	d.ReusedModuleID = &a.ID
	mustCreate(t, db, d)
	// a: init → wait → build → failed (completed); c: init → wait.
	for _, to := range []rida.ModuleState{rida.ModuleWait, rida.ModuleBuilding, rida.ModuleFailed} {
		m, err := db.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: a.ID, FromRev: a.Rev, To: to})
		if err != nil {
			t.Fatal(err)
		}
		*a = *m
	}
	m, err := db.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: c.ID, FromRev: 1, To: rida.ModuleWait})
	if err != nil {
		t.Fatal(err)
	}
	c.State, c.Rev, c.TimeModified = m.State, m.Rev, m.TimeModified
	return []*rida.ModuleBuild{a, b, c, d}
}

func ids(ms []*rida.ModuleBuild) []int64 {
	out := make([]int64, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

func TestFindModuleBuilds_Filters(t *testing.T) {
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, db *testDB) {
		ms := filterFixture(t, db)
		a, b, c, d := ms[0], ms[1], ms[2], ms[3]
		tests := []struct {
			name string
			f    rida.ModuleBuildFilter
			want []*rida.ModuleBuild // in default order, id DESC
		}{
			{"none", rida.ModuleBuildFilter{}, []*rida.ModuleBuild{d, c, b, a}},
			{"name", rida.ModuleBuildFilter{Name: ptr("alpha")}, []*rida.ModuleBuild{c, a}},
			{"stream", rida.ModuleBuildFilter{Stream: ptr("1")}, []*rida.ModuleBuild{d, a}},
			{"version", rida.ModuleBuildFilter{Version: ptr(uint64(20))}, []*rida.ModuleBuild{c}},
			{"context", rida.ModuleBuildFilter{Context: ptr("c1")}, []*rida.ModuleBuild{d, a}},
			{"build_context", rida.ModuleBuildFilter{BuildContext: ptr("bc")}, []*rida.ModuleBuild{b}},
			{"build_context empty", rida.ModuleBuildFilter{BuildContext: ptr("")}, []*rida.ModuleBuild{d, c, a}},
			{"build_context_no_bms", rida.ModuleBuildFilter{BuildContextNoBMS: ptr("bcnobms")}, []*rida.ModuleBuild{b}},
			{"runtime_context", rida.ModuleBuildFilter{RuntimeContext: ptr("rc")}, []*rida.ModuleBuild{b}},
			{"ref_build_context", rida.ModuleBuildFilter{RefBuildContext: ptr("rbc")}, []*rida.ModuleBuild{b}},
			{"state_reason", rida.ModuleBuildFilter{StateReason: ptr("why")}, []*rida.ModuleBuild{c}},
			{"owner", rida.ModuleBuildFilter{Owner: ptr("bob")}, []*rida.ModuleBuild{b}},
			{"scmurl", rida.ModuleBuildFilter{SCMURL: ptr(b.SCMURL)}, []*rida.ModuleBuild{b}},
			{"koji_tag", rida.ModuleBuildFilter{KojiTag: ptr(b.KojiTag)}, []*rida.ModuleBuild{b}},
			{"cg_build_koji_tag", rida.ModuleBuildFilter{CGBuildKojiTag: ptr(b.CGBuildKojiTag)}, []*rida.ModuleBuild{b}},
			{"rebuild_strategy", rida.ModuleBuildFilter{RebuildStrategy: ptr("all")}, []*rida.ModuleBuild{c}},
			{"scratch", rida.ModuleBuildFilter{Scratch: ptr(true)}, []*rida.ModuleBuild{b}},
			{"not scratch", rida.ModuleBuildFilter{Scratch: ptr(false)}, []*rida.ModuleBuild{d, c, a}},
			{"batch", rida.ModuleBuildFilter{Batch: ptr(5)}, []*rida.ModuleBuild{c}},
			{"new_repo_task_id", rida.ModuleBuildFilter{NewRepoTaskID: ptr(int64(77))}, []*rida.ModuleBuild{b}},
			{"reused_module_id", rida.ModuleBuildFilter{ReusedModuleID: &a.ID}, []*rida.ModuleBuild{d}},
			{"stream_version", rida.ModuleBuildFilter{StreamVersion: ptr(20000.0)}, []*rida.ModuleBuild{c}},
			{"state", rida.ModuleBuildFilter{States: []rida.ModuleState{rida.ModuleWait}}, []*rida.ModuleBuild{c}},
			{"states or-ed", rida.ModuleBuildFilter{States: []rida.ModuleState{rida.ModuleWait, rida.ModuleFailed}}, []*rida.ModuleBuild{c, a}},
			{"states and name", rida.ModuleBuildFilter{Name: ptr("alpha"), States: []rida.ModuleState{rida.ModuleInit, rida.ModuleFailed}}, []*rida.ModuleBuild{a}},
			{"submitted_after", rida.ModuleBuildFilter{SubmittedAfter: &c.TimeSubmitted}, []*rida.ModuleBuild{d, c}},
			{"submitted_before", rida.ModuleBuildFilter{SubmittedBefore: &b.TimeSubmitted}, []*rida.ModuleBuild{b, a}},
			{"modified_after", rida.ModuleBuildFilter{ModifiedAfter: &a.TimeModified}, []*rida.ModuleBuild{c, a}},
			{"modified_before", rida.ModuleBuildFilter{ModifiedBefore: &d.TimeModified}, []*rida.ModuleBuild{d, b}},
			{"completed_after", rida.ModuleBuildFilter{CompletedAfter: a.TimeCompleted}, []*rida.ModuleBuild{a}},
			{"completed_before", rida.ModuleBuildFilter{CompletedBefore: a.TimeCompleted}, []*rida.ModuleBuild{b, a}},
			{"completed window", rida.ModuleBuildFilter{CompletedAfter: ptr(a.TimeCompleted.Add(time.Microsecond))}, nil},
			{"no match", rida.ModuleBuildFilter{Name: ptr("nope")}, nil},
		}
		for _, tt := range tests {
			got, total, err := db.FindModuleBuilds(ctx, tt.f)
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
				continue
			}
			if diff := cmp.Diff(ids(tt.want), ids(got)); diff != "" {
				t.Errorf("%s: ids (-want +got):\n%s", tt.name, diff)
			}
			if total != len(tt.want) {
				t.Errorf("%s: total = %d, want %d", tt.name, total, len(tt.want))
			}
		}
	})
}

func TestFindModuleBuilds_Order(t *testing.T) {
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, db *testDB) {
		ms := filterFixture(t, db)
		a, b, c, d := ms[0], ms[1], ms[2], ms[3]
		tests := []struct {
			order []rida.Order
			want  []*rida.ModuleBuild
		}{
			{nil, []*rida.ModuleBuild{d, c, b, a}},
			{[]rida.Order{{Field: "id"}}, []*rida.ModuleBuild{a, b, c, d}},
			{[]rida.Order{{Field: "name"}}, []*rida.ModuleBuild{a, c, d, b}},
			{[]rida.Order{{Field: "name", Desc: true}}, []*rida.ModuleBuild{b, d, c, a}},
			// version is numeric: 10 < 20 < 20240102030405.
			{[]rida.Order{{Field: "version", Desc: true}, {Field: "name"}}, []*rida.ModuleBuild{b, c, a, d}},
			{[]rida.Order{{Field: "name"}, {Field: "version", Desc: true}}, []*rida.ModuleBuild{c, a, d, b}},
			// NULLs last ascending, first descending, in both dialects.
			{[]rida.Order{{Field: "koji_tag"}}, []*rida.ModuleBuild{b, a, c, d}},
			{[]rida.Order{{Field: "koji_tag", Desc: true}}, []*rida.ModuleBuild{d, c, a, b}},
			{[]rida.Order{{Field: "time_completed"}}, []*rida.ModuleBuild{b, a, c, d}},
			{[]rida.Order{{Field: "state"}}, []*rida.ModuleBuild{b, d, c, a}},
		}
		for _, tt := range tests {
			got, _, err := db.FindModuleBuilds(ctx, rida.ModuleBuildFilter{Order: tt.order})
			if err != nil {
				t.Errorf("%v: %v", tt.order, err)
				continue
			}
			if diff := cmp.Diff(ids(tt.want), ids(got)); diff != "" {
				t.Errorf("order %v: ids (-want +got):\n%s", tt.order, diff)
			}
		}
		// Every documented field is accepted, both ways.
		for _, f := range rida.ModuleBuildOrderFields {
			for _, desc := range []bool{false, true} {
				got, _, err := db.FindModuleBuilds(ctx, rida.ModuleBuildFilter{Order: []rida.Order{{Field: f, Desc: desc}}})
				if err != nil || len(got) != 4 {
					t.Errorf("order by %s desc=%v: %d items, %v", f, desc, len(got), err)
				}
			}
		}
		_, _, err := db.FindModuleBuilds(ctx, rida.ModuleBuildFilter{Order: []rida.Order{{Field: "modulemd; DROP TABLE x"}}})
		if rida.ErrorCodeOf(err) != rida.CodeInvalid || rida.ErrorMessageOf(err) != `An invalid ordering key of "modulemd; DROP TABLE x" was supplied` {
			t.Errorf("unknown order key: %v", err)
		}
	})
}

func TestFindModuleBuilds_Paging(t *testing.T) {
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, db *testDB) {
		var all []int64
		for i := range 25 {
			m := newModuleBuild("page", "s", uint64(i+1), "c")
			m.Components = m.Components[:1]
			all = append(all, mustCreate(t, db, m).ID)
		}
		slices.Reverse(all) // default order: id DESC
		tests := []struct {
			page, perPage int
			want          []int64
		}{
			{0, 0, all[:10]},
			{1, 10, all[:10]},
			{3, 10, all[20:]},
			{4, 10, nil},
			{2, 7, all[7:14]},
			{1, rida.MaxPerPage, all},
		}
		for _, tt := range tests {
			got, total, err := db.FindModuleBuilds(ctx, rida.ModuleBuildFilter{Page: tt.page, PerPage: tt.perPage})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, ids(got), cmpopts.EquateEmpty()); diff != "" || total != 25 {
				t.Errorf("page %d per_page %d: total %d, ids (-want +got):\n%s", tt.page, tt.perPage, total, diff)
			}
		}
		_, _, err := db.FindModuleBuilds(ctx, rida.ModuleBuildFilter{PerPage: rida.MaxPerPage + 1})
		if rida.ErrorCodeOf(err) != rida.CodeInvalid || !strings.Contains(rida.ErrorMessageOf(err), "500") {
			t.Errorf("per_page above bound: %v", err)
		}
		_, _, err = db.FindModuleBuilds(ctx, rida.ModuleBuildFilter{PerPage: -1})
		if rida.ErrorCodeOf(err) != rida.CodeInvalid {
			t.Errorf("negative per_page: %v", err)
		}
	})
}

func TestFindModuleBuilds_Include(t *testing.T) {
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, db *testDB) {
		// Three contexts of one N:S:V, one of them scratch, and an unrelated
		// build without components.
		x1 := mustCreate(t, db, newModuleBuild("sib", "s", 1, "c1"))
		x2 := mustCreate(t, db, newModuleBuild("sib", "s", 1, "c2"))
		scratch := newModuleBuild("sib", "s", 1, "c3")
		scratch.Scratch = true
		mustCreate(t, db, scratch)
		lone := newModuleBuild("lone", "s", 1, "c1")
		lone.Components = nil
		mustCreate(t, db, lone)
		if _, err := db.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: x1.ID, FromRev: 1, To: rida.ModuleWait, Reason: "go"}); err != nil {
			t.Fatal(err)
		}
		if _, err := db.TransitionComponentBuild(ctx, rida.ComponentTransition{ID: x2.Components[1].ID, FromRev: 1, To: rida.ComponentBuilding, TaskID: 5}); err != nil {
			t.Fatal(err)
		}

		got, total, err := db.FindModuleBuilds(ctx, rida.ModuleBuildFilter{Include: includeAll, Order: []rida.Order{{Field: "id"}}})
		if err != nil || total != 4 {
			t.Fatalf("FindModuleBuilds: total %d, %v", total, err)
		}
		type summary struct {
			Components []string
			CompTrace  [][]int
			Trace      []int
			Reasons    []string
			Siblings   []int64
		}
		sum := func(m *rida.ModuleBuild) summary {
			var s summary
			for _, c := range m.Components {
				s.Components = append(s.Components, c.Package)
				var tr []int
				for _, st := range c.StateTrace {
					tr = append(tr, st.State)
				}
				s.CompTrace = append(s.CompTrace, tr)
			}
			for _, st := range m.StateTrace {
				s.Trace = append(s.Trace, st.State)
				s.Reasons = append(s.Reasons, st.Reason)
			}
			s.Siblings = m.Siblings
			return s
		}
		w, b := int(rida.ComponentWaiting), int(rida.ComponentBuilding)
		want := []summary{
			{Components: []string{"module-build-macros", "tangerine"}, CompTrace: [][]int{{w}, {w}}, Trace: []int{0, 1}, Reasons: []string{"", "go"}, Siblings: []int64{x2.ID}},
			{Components: []string{"module-build-macros", "tangerine"}, CompTrace: [][]int{{w}, {w, b}}, Trace: []int{0}, Reasons: []string{""}, Siblings: []int64{x1.ID}},
			{Components: []string{"module-build-macros", "tangerine"}, CompTrace: [][]int{{w}, {w}}, Trace: []int{0}, Reasons: []string{""}},
			{Trace: []int{0}, Reasons: []string{""}},
		}
		var gotSum []summary
		for _, m := range got {
			gotSum = append(gotSum, sum(m))
		}
		if diff := cmp.Diff(want, gotSum); diff != "" {
			t.Errorf("related rows (-want +got):\n%s", diff)
		}

		// Each include alone loads only its kind.
		got, _, err = db.FindModuleBuilds(ctx, rida.ModuleBuildFilter{Include: rida.ModuleBuildInclude{Siblings: true}, Name: ptr("sib")})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range got {
			if m.Components != nil || m.StateTrace != nil {
				t.Errorf("siblings-only include loaded more: %+v", m)
			}
		}
		got, _, err = db.FindModuleBuilds(ctx, rida.ModuleBuildFilter{Include: rida.ModuleBuildInclude{Components: true}, Name: ptr("sib")})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range got {
			if len(m.Components) != 2 || m.Components[0].StateTrace != nil || m.Siblings != nil {
				t.Errorf("components-only include: %+v", m)
			}
		}
	})
}

func TestTransitionModuleBuild(t *testing.T) {
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, db *testDB) {
		m := newModuleBuild("tr", "s", 1, "c")
		m.StateReason = "submitted"
		mustCreate(t, db, m)
		traces, events := countRows(t, db, "module_builds_trace"), countRows(t, db, "events")

		// init → wait without a reason keeps the reason.
		got, err := db.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: m.ID, FromRev: 1, To: rida.ModuleWait})
		if err != nil {
			t.Fatal(err)
		}
		if got.State != rida.ModuleWait || got.Rev != 2 || got.StateReason != "submitted" || got.TimeCompleted != nil ||
			!got.TimeModified.After(m.TimeModified) || !got.TimeSubmitted.Equal(m.TimeSubmitted) {
			t.Errorf("after wait: %+v", got)
		}
		if n := countRows(t, db, "module_builds_trace"); n != traces+1 {
			t.Errorf("trace rows = %d, want %d", n, traces+1)
		}
		if n := countRows(t, db, "events"); n != events+1 {
			t.Errorf("events = %d, want %d", n, events+1)
		}
		evs, err := db.PendingEvents(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		last := evs[len(evs)-1]
		wantEv := wantModuleEvent(t, db, got, got.TimeModified)
		wantEv.ID = last.ID
		if diff := cmp.Diff(wantEv, last); diff != "" {
			t.Errorf("event (-want +got):\n%s", diff)
		}

		// The store returns what a fresh read returns.
		reread, err := db.FindModuleBuildByID(ctx, m.ID, rida.ModuleBuildInclude{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(reread, got); diff != "" {
			t.Errorf("returned build differs from stored (-stored +returned):\n%s", diff)
		}

		// wait → failed with a reason: reason replaced, time_completed set.
		got, err = db.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: m.ID, FromRev: 2, To: rida.ModuleFailed, Reason: "Canceled by bob."})
		if err != nil {
			t.Fatal(err)
		}
		if got.StateReason != "Canceled by bob." || got.TimeCompleted == nil || !got.TimeCompleted.Equal(got.TimeModified) {
			t.Errorf("after failed: %+v", got)
		}
		// failed → wait (resubmit) without reason keeps "Canceled by bob.".
		got, err = db.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: m.ID, FromRev: 3, To: rida.ModuleWait})
		if err != nil {
			t.Fatal(err)
		}
		if got.StateReason != "Canceled by bob." {
			t.Errorf("reason = %q", got.StateReason)
		}
		// wait → build → done sets time_completed again.
		for _, to := range []rida.ModuleState{rida.ModuleBuilding, rida.ModuleDone} {
			if got, err = db.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: m.ID, FromRev: got.Rev, To: to}); err != nil {
				t.Fatal(err)
			}
		}
		if got.TimeCompleted == nil || !got.TimeCompleted.Equal(got.TimeModified) {
			t.Errorf("done: time_completed %v, modified %v", got.TimeCompleted, got.TimeModified)
		}
		full, err := db.FindModuleBuildByID(ctx, m.ID, rida.ModuleBuildInclude{StateTrace: true})
		if err != nil {
			t.Fatal(err)
		}
		var states []int
		for _, s := range full.StateTrace {
			states = append(states, s.State)
		}
		if diff := cmp.Diff([]int{0, 1, 4, 1, 2, 3}, states); diff != "" {
			t.Errorf("trace states (-want +got):\n%s", diff)
		}
	})
}

func TestTransitionModuleBuild_Refused(t *testing.T) {
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, db *testDB) {
		m := mustCreate(t, db, newModuleBuild("ref", "s", 1, "c"))
		traces, events := countRows(t, db, "module_builds_trace"), countRows(t, db, "events")

		_, err := db.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: m.ID, FromRev: 7, To: rida.ModuleWait})
		if !errors.Is(err, rida.ErrStaleWrite) {
			t.Errorf("stale rev: %v", err)
		}
		_, err = db.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: m.ID, FromRev: 1, To: rida.ModuleReady})
		if rida.ErrorCodeOf(err) != rida.CodeConflict ||
			rida.ErrorMessageOf(err) != fmt.Sprintf("Illegal transition of module build %d from init to ready", m.ID) {
			t.Errorf("illegal: %v", err)
		}
		_, err = db.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: 999, FromRev: 1, To: rida.ModuleWait})
		if !errors.Is(err, rida.ErrModuleBuildNotFound) {
			t.Errorf("unknown id: %v", err)
		}
		// Nothing was written.
		if n := countRows(t, db, "module_builds_trace"); n != traces {
			t.Errorf("trace rows = %d, want %d", n, traces)
		}
		if n := countRows(t, db, "events"); n != events {
			t.Errorf("events = %d, want %d", n, events)
		}
		got, err := db.FindModuleBuildByID(ctx, m.ID, rida.ModuleBuildInclude{})
		if err != nil || got.Rev != 1 || got.State != rida.ModuleInit || !got.TimeModified.Equal(m.TimeModified) {
			t.Errorf("row changed: %+v %v", got, err)
		}
	})
}

// TestTransitionModuleBuild_Concurrent races several writers on the same
// revision: exactly one wins, the others get ErrStaleWrite, and exactly one
// trace row and event are written.
func TestTransitionModuleBuild_Concurrent(t *testing.T) {
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, db *testDB) {
		for round := range 5 {
			m := mustCreate(t, db, newModuleBuild("race", "s", uint64(round+1), "c"))
			traces, events := countRows(t, db, "module_builds_trace"), countRows(t, db, "events")
			const writers = 8
			var wg sync.WaitGroup
			start := make(chan struct{})
			errs := make([]error, writers)
			for i := range writers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					to := rida.ModuleWait
					if i%2 == 1 {
						to = rida.ModuleFailed
					}
					_, errs[i] = db.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: m.ID, FromRev: 1, To: to, Reason: fmt.Sprint(i)})
				}()
			}
			close(start)
			wg.Wait()
			wins := 0
			for _, err := range errs {
				switch {
				case err == nil:
					wins++
				case !errors.Is(err, rida.ErrStaleWrite):
					t.Errorf("loser error = %v, want ErrStaleWrite", err)
				}
			}
			if wins != 1 {
				t.Errorf("round %d: %d winners, want 1 (%v)", round, wins, errs)
			}
			if n := countRows(t, db, "module_builds_trace"); n != traces+1 {
				t.Errorf("trace rows = %d, want %d", n, traces+1)
			}
			if n := countRows(t, db, "events"); n != events+1 {
				t.Errorf("events = %d, want %d", n, events+1)
			}
		}
	})
}

// nextCheck returns a build's next_check_at, nil when NULL (due at once).
func nextCheck(tb testing.TB, db *testDB, id int64) *time.Time {
	tb.Helper()
	var v timeValue
	if err := db.db.QueryRow(db.d.q(`SELECT next_check_at FROM module_builds WHERE id = ?`), id).Scan(&v); err != nil {
		tb.Fatal(err)
	}
	return v.ptr()
}

// setNextCheck schedules a build's next check at t, as a released lease
// would.
func setNextCheck(tb testing.TB, db *testDB, id int64, t time.Time) {
	tb.Helper()
	if _, err := db.db.Exec(db.d.q(`UPDATE module_builds SET next_check_at = ? WHERE id = ?`), db.d.timeArg(t), id); err != nil {
		tb.Fatal(err)
	}
}

// lastEvent returns the newest outbox event.
func lastEvent(tb testing.TB, db *testDB) rida.Event {
	tb.Helper()
	evs, err := db.PendingEvents(context.Background(), 1000)
	if err != nil || len(evs) == 0 {
		tb.Fatalf("pending events: %v, %v", evs, err)
	}
	return evs[len(evs)-1]
}

// TestTransitionModuleBuild_Records: what the engine records with a move
// (koji tag, batch, components) lands in the transition's transaction, and
// every transition makes the build due.
func TestTransitionModuleBuild_Records(t *testing.T) {
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, db *testDB) {
		m := newModuleBuild("rec", "s", 1, "c")
		m.Components, m.NewRepoTaskID = nil, 77
		mustCreate(t, db, m)
		later := db.clock.Now().Add(time.Hour)
		setNextCheck(t, db, m.ID, later)
		comps := []rida.ComponentBuild{
			{Package: "module-build-macros", Format: rida.FormatRPMs, SCMURL: "/tmp/macros.src.rpm", Batch: 1, BuildTimeOnly: true, State: rida.ComponentWaiting},
			{Package: "tangerine", Format: rida.FormatRPMs, SCMURL: "https://src.example/rpms/tangerine?#abc", Ref: "abc", Batch: 2, State: rida.ComponentWaiting},
		}
		traces, events := countRows(t, db, "component_builds_trace"), countRows(t, db, "events")

		got, err := db.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: m.ID, FromRev: 1, To: rida.ModuleWait,
			KojiTag: "module-rec-s-1-c", Batch: ptr(1), Components: comps})
		if err != nil {
			t.Fatal(err)
		}
		if got.KojiTag != "module-rec-s-1-c" || got.Batch != 1 || got.NewRepoTaskID != 0 || got.Components != nil {
			t.Errorf("returned %+v", got)
		}
		if comps[0].ID != 0 || comps[1].ModuleBuildID != 0 {
			t.Errorf("the caller's components were changed: %+v", comps)
		}
		if nc := nextCheck(t, db, m.ID); nc != nil {
			t.Errorf("next_check_at = %v, want NULL", nc)
		}
		reread, err := db.FindModuleBuildByID(ctx, m.ID, rida.ModuleBuildInclude{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(reread, got); diff != "" {
			t.Errorf("returned build differs from stored (-stored +returned):\n%s", diff)
		}
		ev := lastEvent(t, db)
		want := wantModuleEvent(t, db, got, got.TimeModified)
		want.ID = ev.ID
		if diff := cmp.Diff(want, ev); diff != "" {
			t.Errorf("event (-want +got):\n%s", diff)
		}
		// The components are the build's, each with its initial trace row
		// at the transition's time, and no event of their own.
		full, err := db.FindModuleBuildByID(ctx, m.ID, rida.ModuleBuildInclude{Components: true, ComponentTraces: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(full.Components) != 2 {
			t.Fatalf("components = %d, want 2", len(full.Components))
		}
		for i, c := range full.Components {
			if c.ModuleBuildID != m.ID || c.Package != comps[i].Package || c.Rev != 1 || c.State != rida.ComponentWaiting ||
				len(c.StateTrace) != 1 || !c.StateTrace[0].Time.Equal(got.TimeModified) {
				t.Errorf("component %d: %+v", i, c)
			}
		}
		if n := countRows(t, db, "component_builds_trace"); n != traces+2 {
			t.Errorf("component trace rows = %d, want %d", n, traces+2)
		}
		if n := countRows(t, db, "events"); n != events+1 {
			t.Errorf("events = %d, want %d (the module's only)", n, events+1)
		}

		// Unset fields keep their values; a batch clears new_repo_task_id.
		if got, err = db.UpdateModuleBuild(ctx, rida.ModuleUpdate{ID: m.ID, FromRev: got.Rev, NewRepoTaskID: ptr(int64(5))}); err != nil {
			t.Fatal(err)
		}
		setNextCheck(t, db, m.ID, later)
		if got, err = db.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: m.ID, FromRev: got.Rev, To: rida.ModuleBuilding}); err != nil {
			t.Fatal(err)
		}
		if got.KojiTag != "module-rec-s-1-c" || got.Batch != 1 || got.NewRepoTaskID != 5 {
			t.Errorf("after a bare transition: %+v", got)
		}
		if nc := nextCheck(t, db, m.ID); nc != nil {
			t.Errorf("next_check_at = %v after a bare transition, want NULL", nc)
		}
		if got, err = db.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: m.ID, FromRev: got.Rev, To: rida.ModuleFailed, Batch: ptr(2)}); err != nil {
			t.Fatal(err)
		}
		reread, err = db.FindModuleBuildByID(ctx, m.ID, rida.ModuleBuildInclude{})
		if err != nil || reread.Batch != 2 || reread.NewRepoTaskID != 0 || reread.KojiTag != "module-rec-s-1-c" {
			t.Errorf("after a batch: %+v %v", reread, err)
		}
		if diff := cmp.Diff(reread, got); diff != "" {
			t.Errorf("returned build differs from stored (-stored +returned):\n%s", diff)
		}
	})
}

// TestTransitionModuleBuild_RecordsAllOrNothing: a transition whose
// components cannot be inserted writes nothing at all, and a refused one
// inserts no component.
func TestTransitionModuleBuild_RecordsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, db *testDB) {
		m := newModuleBuild("rec", "s", 1, "c")
		m.Components = nil
		mustCreate(t, db, m)
		later := db.clock.Now().Add(time.Hour)
		setNextCheck(t, db, m.ID, later)
		traces, comps, events := countRows(t, db, "module_builds_trace"), countRows(t, db, "component_builds"), countRows(t, db, "events")
		twice := []rida.ComponentBuild{
			{Package: "tangerine", Format: rida.FormatRPMs, SCMURL: "x", State: rida.ComponentWaiting},
			{Package: "tangerine", Format: rida.FormatRPMs, SCMURL: "y", State: rida.ComponentWaiting},
		}
		_, err := db.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: m.ID, FromRev: 1, To: rida.ModuleWait, KojiTag: "tag", Components: twice})
		if rida.ErrorCodeOf(err) != rida.CodeConflict || !strings.Contains(rida.ErrorMessageOf(err), "tangerine") {
			t.Errorf("duplicate component: %v", err)
		}
		_, err = db.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: m.ID, FromRev: 2, To: rida.ModuleWait, Components: twice[:1]})
		if !errors.Is(err, rida.ErrStaleWrite) {
			t.Errorf("stale: %v", err)
		}
		if n := countRows(t, db, "module_builds_trace"); n != traces {
			t.Errorf("trace rows = %d, want %d", n, traces)
		}
		if n := countRows(t, db, "component_builds"); n != comps {
			t.Errorf("components = %d, want %d", n, comps)
		}
		if n := countRows(t, db, "events"); n != events {
			t.Errorf("events = %d, want %d", n, events)
		}
		got, err := db.FindModuleBuildByID(ctx, m.ID, rida.ModuleBuildInclude{})
		if err != nil || got.Rev != 1 || got.State != rida.ModuleInit || got.KojiTag != "" {
			t.Errorf("row changed: %+v %v", got, err)
		}
		if nc := nextCheck(t, db, m.ID); nc == nil || !nc.Equal(later) {
			t.Errorf("next_check_at = %v, want %v", nc, later)
		}
	})
}

func TestUpdateModuleBuild(t *testing.T) {
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, db *testDB) {
		m := mustCreate(t, db, newModuleBuild("upd", "s", 1, "c"))
		traces, events := countRows(t, db, "module_builds_trace"), countRows(t, db, "events")

		got, err := db.UpdateModuleBuild(ctx, rida.ModuleUpdate{ID: m.ID, FromRev: 1, Batch: ptr(2), NewRepoTaskID: ptr(int64(42))})
		if err != nil {
			t.Fatal(err)
		}
		if got.Rev != 2 || got.Batch != 2 || got.NewRepoTaskID != 42 || got.State != rida.ModuleInit ||
			!got.TimeModified.After(m.TimeModified) || got.Modulemd != "" || got.Components != nil {
			t.Errorf("after update: %+v", got)
		}
		reread, err := db.FindModuleBuildByID(ctx, m.ID, rida.ModuleBuildInclude{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(reread, got); diff != "" {
			t.Errorf("returned build differs from stored (-stored +returned):\n%s", diff)
		}
		// One field at a time; nil leaves the other alone, 0 clears the task.
		if got, err = db.UpdateModuleBuild(ctx, rida.ModuleUpdate{ID: m.ID, FromRev: 2, NewRepoTaskID: ptr(int64(0))}); err != nil {
			t.Fatal(err)
		}
		if got.NewRepoTaskID != 0 || got.Batch != 2 {
			t.Errorf("after clearing the task: %+v", got)
		}
		if got, err = db.UpdateModuleBuild(ctx, rida.ModuleUpdate{ID: m.ID, FromRev: 3, Batch: ptr(3)}); err != nil {
			t.Fatal(err)
		}
		reread, err = db.FindModuleBuildByID(ctx, m.ID, rida.ModuleBuildInclude{})
		if err != nil || reread.Rev != 4 || reread.Batch != 3 || reread.NewRepoTaskID != 0 {
			t.Errorf("after two updates: %+v %v", reread, err)
		}
		if diff := cmp.Diff(reread, got); diff != "" {
			t.Errorf("returned build differs from stored (-stored +returned):\n%s", diff)
		}

		// A stale rev and an unknown build write nothing.
		_, err = db.UpdateModuleBuild(ctx, rida.ModuleUpdate{ID: m.ID, FromRev: 2, Batch: ptr(9)})
		if !errors.Is(err, rida.ErrStaleWrite) {
			t.Errorf("stale: %v", err)
		}
		_, err = db.UpdateModuleBuild(ctx, rida.ModuleUpdate{ID: 999, FromRev: 1, Batch: ptr(9)})
		if !errors.Is(err, rida.ErrModuleBuildNotFound) {
			t.Errorf("unknown: %v", err)
		}
		if again, err := db.FindModuleBuildByID(ctx, m.ID, rida.ModuleBuildInclude{}); err != nil || !cmp.Equal(again, reread) {
			t.Errorf("refused update changed the build: %+v %v", again, err)
		}
		// No trace row, no event: the state did not change.
		if n := countRows(t, db, "module_builds_trace"); n != traces {
			t.Errorf("trace rows = %d, want %d", n, traces)
		}
		if n := countRows(t, db, "events"); n != events {
			t.Errorf("events = %d, want %d", n, events)
		}
	})
}

// TestTransitionModuleBuild_Reservation: a transition records the build
// system's reservation with the move, and later ones keep it.
func TestTransitionModuleBuild_Reservation(t *testing.T) {
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, db *testDB) {
		m := newModuleBuild("res", "s", 1, "c")
		m.Components = nil
		mustCreate(t, db, m)
		res := &rida.Reservation{BuildID: 101, Token: "tok", DevelBuildID: 102, DevelToken: "devel-tok"}
		got, err := db.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: m.ID, FromRev: 1, To: rida.ModuleWait, Reservation: res})
		if err != nil {
			t.Fatal(err)
		}
		if got.KojiBuildID != 101 || got.KojiCGToken != "tok" || got.KojiDevelBuildID != 102 ||
			got.KojiDevelCGToken != "devel-tok" || got.KojiRefunded || got.State != rida.ModuleWait {
			t.Errorf("returned %+v", got)
		}
		reread, err := db.FindModuleBuildByID(ctx, m.ID, rida.ModuleBuildInclude{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(reread, got); diff != "" {
			t.Errorf("returned build differs from stored (-stored +returned):\n%s", diff)
		}
		// Lists read the columns too.
		list, _, err := db.FindModuleBuilds(ctx, rida.ModuleBuildFilter{Name: ptr("res")})
		if err != nil || len(list) != 1 || !cmp.Equal(list[0], reread) {
			t.Errorf("FindModuleBuilds = %+v, %v; want %+v", list, err, reread)
		}

		// A transition without a reservation keeps it.
		if got, err = db.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: m.ID, FromRev: got.Rev, To: rida.ModuleFailed, Reason: "boom"}); err != nil {
			t.Fatal(err)
		}
		if got.KojiBuildID != 101 || got.KojiCGToken != "tok" || got.KojiDevelBuildID != 102 || got.KojiDevelCGToken != "devel-tok" {
			t.Errorf("after a bare transition: %+v", got)
		}
		reread, err = db.FindModuleBuildByID(ctx, m.ID, rida.ModuleBuildInclude{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(reread, got); diff != "" {
			t.Errorf("returned build differs from stored (-stored +returned):\n%s", diff)
		}

		// A refused transition records nothing of its reservation.
		other := newModuleBuild("res", "s", 2, "c")
		other.Components = nil
		mustCreate(t, db, other)
		_, err = db.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: other.ID, FromRev: 2, To: rida.ModuleWait, Reservation: res})
		if !errors.Is(err, rida.ErrStaleWrite) {
			t.Errorf("stale: %v", err)
		}
		if again, err := db.FindModuleBuildByID(ctx, other.ID, rida.ModuleBuildInclude{}); err != nil ||
			again.KojiBuildID != 0 || again.KojiCGToken != "" || again.KojiDevelBuildID != 0 || again.KojiDevelCGToken != "" {
			t.Errorf("refused transition recorded the reservation: %+v %v", again, err)
		}
	})
}

// TestUpdateModuleBuild_Refunded: an update records that the reservations
// were given back; false leaves the flag alone.
func TestUpdateModuleBuild_Refunded(t *testing.T) {
	ctx := context.Background()
	forEachDB(t, func(t *testing.T, db *testDB) {
		m := newModuleBuild("refund", "s", 1, "c")
		m.Components, m.KojiBuildID, m.KojiCGToken = nil, 7, "tok"
		mustCreate(t, db, m)
		events := countRows(t, db, "events")
		got, err := db.UpdateModuleBuild(ctx, rida.ModuleUpdate{ID: m.ID, FromRev: 1, Refunded: true})
		if err != nil {
			t.Fatal(err)
		}
		if !got.KojiRefunded || got.Rev != 2 || got.KojiBuildID != 7 || got.KojiCGToken != "tok" {
			t.Errorf("after refund: %+v", got)
		}
		reread, err := db.FindModuleBuildByID(ctx, m.ID, rida.ModuleBuildInclude{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(reread, got); diff != "" {
			t.Errorf("returned build differs from stored (-stored +returned):\n%s", diff)
		}
		// Another update without Refunded keeps it.
		if got, err = db.UpdateModuleBuild(ctx, rida.ModuleUpdate{ID: m.ID, FromRev: 2, Batch: ptr(3)}); err != nil {
			t.Fatal(err)
		}
		if !got.KojiRefunded || got.Batch != 3 {
			t.Errorf("after a later update: %+v", got)
		}
		if reread, err = db.FindModuleBuildByID(ctx, m.ID, rida.ModuleBuildInclude{}); err != nil || !reread.KojiRefunded {
			t.Errorf("stored after a later update: %+v %v", reread, err)
		}
		// A stale refund writes nothing.
		n := newModuleBuild("refund", "s", 2, "c")
		n.Components = nil
		mustCreate(t, db, n)
		if _, err := db.UpdateModuleBuild(ctx, rida.ModuleUpdate{ID: n.ID, FromRev: 5, Refunded: true}); !errors.Is(err, rida.ErrStaleWrite) {
			t.Errorf("stale: %v", err)
		}
		if again, err := db.FindModuleBuildByID(ctx, n.ID, rida.ModuleBuildInclude{}); err != nil || again.KojiRefunded {
			t.Errorf("stale refund changed the build: %+v %v", again, err)
		}
		if c := countRows(t, db, "events"); c != events+1 {
			t.Errorf("events = %d, want %d (only the second build's creation)", c, events+1)
		}
	})
}
