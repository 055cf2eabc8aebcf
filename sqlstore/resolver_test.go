package sqlstore

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/expand"
	"github.com/rida-build/rida/expand/expandtest"
	"github.com/rida-build/rida/modulemd"
)

// resolverWorld returns a varied world of module builds, in id order: base
// modules of several stream versions, virtual streams and states (one
// without a stream version), modules of several streams, versions and
// contexts built against different platform builds, failed and garbage
// builds, and siblings in flight.
func resolverWorld() []expandtest.Build {
	state := func(b expandtest.Build, s rida.ModuleState) expandtest.Build {
		b.State = s
		return b
	}
	ctx := func(b expandtest.Build, c string) expandtest.Build {
		b.Context = c
		return b
	}
	f27 := expandtest.Platform("f27", 1, "fedora")
	f28old := expandtest.Platform("f28", 2, "fedora")
	f28 := expandtest.Platform("f28", 3, "f28-virtual", "fedora")
	f29 := expandtest.Platform("f29", 1, "fedora")
	f29b := ctx(expandtest.Platform("f29", 1, "fedora"), "c0ffee00")
	rawhide := expandtest.Platform("rawhide", 1, "fedora") // no stream version
	el800 := expandtest.Platform("el8.0.0", 1, "el8")
	el810 := expandtest.Platform("el8.1.0", 1, "el8")
	el810new := expandtest.Platform("el8.1.0", 2, "el8")
	el820 := expandtest.Platform("el8.2.0", 1, "el8")
	el830 := state(expandtest.Platform("el8.3.0", 1, "el8"), rida.ModuleGarbage)
	el840 := state(expandtest.Platform("el8.4.0", 1, "el8"), rida.ModuleFailed)
	el900 := expandtest.Platform("el9.0.0", 1, "el9")
	type deps = map[string][]string
	qt := expandtest.Module("qt", "2", 1, "c1", f29.NSVC, deps{"platform": {"f29"}})
	qt.Requires = append(qt.Requires, deps{"platform": {}, "lib": {"b"}})
	noReqs := expandtest.Module("bare", "1", 1, "c1", f28.NSVC, nil)
	noReqs.BuildRequires, noReqs.Ref, noReqs.KojiTag, noReqs.MSE = nil, "", "", false
	return []expandtest.Build{
		f27, f28old, f28, f29, f29b, rawhide, el800, el810, el810new, el820, el830, el840, el900,
		expandtest.Module("gtk", "1", 1, "c1", f28old.NSVC, deps{"platform": {"f28"}}),
		expandtest.Module("gtk", "1", 1, "c2", f28old.NSVC, deps{"platform": {"f28"}}),
		expandtest.Module("gtk", "1", 2, "c1", f28.NSVC, deps{"platform": {"f28"}}),
		expandtest.Module("gtk", "1", 2, "c2", f28.NSVC, deps{"platform": {"f28"}, "lib": {"a"}}),
		expandtest.Module("gtk", "1", 2, "c3", f29.NSVC, deps{"platform": {"f29"}}),
		state(expandtest.Module("gtk", "1", 3, "c1", f28.NSVC, nil), rida.ModuleFailed),
		state(expandtest.Module("gtk", "1", 4, "c1", f28.NSVC, nil), rida.ModuleGarbage),
		expandtest.Module("gtk", "2", 1, "c1", f29.NSVC, nil),
		expandtest.Module("gtk", "2", 1, "c2", f29b.NSVC, nil),
		expandtest.Module("lib", "a", 5, "c1", f28.NSVC, nil),
		state(expandtest.Module("lib", "a", 5, "c2", f28.NSVC, nil), rida.ModuleBuilding),
		state(expandtest.Module("lib", "a", 5, "c3", f28.NSVC, nil), rida.ModuleInit),
		state(expandtest.Module("lib", "a", 5, "c4", f28.NSVC, nil), rida.ModuleFailed),
		expandtest.Module("lib", "b", 7, "c1", f29.NSVC, nil),
		state(expandtest.Module("lib", "b", 7, "c2", f29.NSVC, nil), rida.ModuleFailed),
		expandtest.Module("lib", "b", 6, "c9", f29.NSVC, nil),
		expandtest.Module("bar", "1", 1, "c", el800.NSVC, deps{"platform": {"el8"}}),
		expandtest.Module("bar", "1", 2, "d", el820.NSVC, deps{"platform": {"el8"}}),
		qt,
		noReqs,
		state(expandtest.Module("nodejs", "10", 1, "c1", f28.NSVC, nil), rida.ModuleBuilding),
	}
}

// markBusySiblings sets BusySibling as MBS's siblings define it (same N:S:V,
// other context, neither ready nor failed; the oldest when several), which
// the in-memory resolver takes as given and the store computes.
func markBusySiblings(world []expandtest.Build) {
	for i := range world {
		a := &world[i]
		for _, b := range world {
			if b.Name == a.Name && b.Stream == a.Stream && b.Version == a.Version && b.Context != a.Context &&
				b.State != rida.ModuleReady && b.State != rida.ModuleFailed {
				s := b.State
				a.BusySibling = &s
				break
			}
		}
	}
}

// storeWorld records the builds in the database, in order, linking each to
// the base module builds it was built against.
func storeWorld(t *testing.T, db *testDB, world []expandtest.Build) {
	t.Helper()
	ids := map[expand.NSVC]int64{}
	for _, b := range world {
		m := &rida.ModuleBuild{
			Name: b.Name, Stream: b.Stream, Version: b.Version, Context: b.Context, State: b.State,
			Owner: "alice", Modulemd: "document: modulemd\nversion: 2\n", RebuildStrategy: rida.RebuildAll,
			StreamVersion: b.StreamVersion, VirtualStreams: b.VirtualStreams, KojiTag: b.KojiTag,
			Commit: b.Ref, MSE: b.MSE, Requires: b.Requires,
		}
		if b.BuildRequires != nil {
			m.BuildRequires = map[string]rida.BuildRequire{}
			for name, stream := range b.BuildRequires {
				m.BuildRequires[name] = rida.BuildRequire{Stream: stream, Version: "1", Context: "00000000", Ref: "x"}
			}
		}
		for _, base := range b.BuiltAgainst {
			id, ok := ids[base]
			if !ok {
				t.Fatalf("%s built against %s, which is not recorded before it", b.NSVC, base)
			}
			m.BaseModules = append(m.BaseModules, &rida.ModuleBuild{ID: id})
		}
		mustCreate(t, db, m)
		ids[b.NSVC] = m.ID
	}
}

// TestResolverConformance asks the store and expandtest's in-memory resolver,
// holding the same world, every question of expand.Resolver over that
// world's names, streams, virtual streams and base modules, and wants the
// same answers, order included.
func TestResolverConformance(t *testing.T) {
	world := resolverWorld()
	markBusySiblings(world)
	mem := expandtest.New(world...)
	forEachDB(t, func(t *testing.T, db *testDB) {
		ctx := t.Context()
		storeWorld(t, db, world)
		res := db.Resolver()

		names := []string{"missing"}
		streams := map[string][]string{"missing": {"x"}}
		var bases []expand.NSVC
		for _, b := range world {
			if !slices.Contains(names, b.Name) {
				names = append(names, b.Name)
				streams[b.Name] = []string{"nope"}
			}
			if !slices.Contains(streams[b.Name], b.Stream) {
				streams[b.Name] = append(streams[b.Name], b.Stream)
			}
			if b.Name == "platform" {
				bases = append(bases, b.NSVC)
			}
		}
		bases = append(bases, expand.NSVC{Name: "platform", Stream: "f28", Version: 3, Context: "ffffffff"})
		virtual := []string{"fedora", "f28-virtual", "el8", "el9", "nope"}

		// check compares one answer, and counts the non-empty ones so the
		// test cannot pass on a store that answers nothing.
		nonEmpty := 0
		check := func(what string, want, got any, wantErr, gotErr error) {
			t.Helper()
			if wantErr != nil || gotErr != nil {
				t.Fatalf("%s: errors: memory %v, store %v", what, wantErr, gotErr)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s (-memory +store):\n%s", what, diff)
			}
			if !reflect.ValueOf(want).IsZero() {
				nonEmpty++
			}
		}
		for _, name := range names {
			w, werr := mem.Streams(ctx, name)
			g, gerr := res.Streams(ctx, name)
			check("Streams("+name+")", w, g, werr, gerr)
			for _, stream := range streams[name] {
				we, werr := mem.StreamExists(ctx, name, stream)
				ge, gerr := res.StreamExists(ctx, name, stream)
				check("StreamExists("+name+":"+stream+")", we, ge, werr, gerr)
				wc, werr := mem.ModuleBuilds(ctx, name, stream)
				gc, gerr := res.ModuleBuilds(ctx, name, stream)
				check("ModuleBuilds("+name+":"+stream+")", wc, gc, werr, gerr)
				for _, base := range bases {
					wc, werr := mem.BuildrequiredModules(ctx, name, stream, base)
					gc, gerr := res.BuildrequiredModules(ctx, name, stream, base)
					check("BuildrequiredModules("+name+":"+stream+", "+base.String()+")", wc, gc, werr, gerr)
				}
			}
			for _, vs := range virtual {
				ws, wok, werr := mem.LatestWithVirtualStream(ctx, name, vs)
				gs, gok, gerr := res.LatestWithVirtualStream(ctx, name, vs)
				check("LatestWithVirtualStream("+name+", "+vs+")", struct {
					S  string
					OK bool
				}{ws, wok}, struct {
					S  string
					OK bool
				}{gs, gok}, werr, gerr)
			}
		}
		for _, vss := range [][]string{nil, {"fedora"}, {"el8"}, {"el8", "el9"}, {"fedora", "el8", "el9"}, {"nope"}, {"f28-virtual", "nope", "el9"}} {
			for _, max := range []float64{0, 270000, 280000, 280500, 290000, 80000, 80100, 80200, 80400, 90000, 10000} {
				for _, st := range []rida.ModuleState{rida.ModuleReady, rida.ModuleGarbage, rida.ModuleFailed} {
					wc, werr := mem.CompatibleBaseModules(ctx, "platform", vss, max, st)
					gc, gerr := res.CompatibleBaseModules(ctx, "platform", vss, max, st)
					check("CompatibleBaseModules(platform, "+strings.Join(vss, ",")+", "+strconv.FormatFloat(max, 'f', -1, 64)+", "+st.String()+")", wc, gc, werr, gerr)
				}
			}
		}
		if nonEmpty < 50 {
			t.Errorf("only %d non-empty answers: the world does not exercise the resolver", nonEmpty)
		}

		// Spot checks of the semantics themselves, in case both resolvers
		// drifted together.
		gtk, err := res.ModuleBuilds(ctx, "gtk", "1")
		if err != nil {
			t.Fatal(err)
		}
		if got := candidateNSVCs(gtk); !slices.Equal(got, []string{"gtk:1:2:c1", "gtk:1:2:c2", "gtk:1:2:c3"}) {
			t.Errorf("ModuleBuilds(gtk:1) = %v", got)
		}
		if len(gtk[1].Requires) != 1 || gtk[1].BuildRequires["platform"] != "f28" || gtk[1].Ref == "" || !gtk[1].MSE || gtk[1].KojiTag == "" {
			t.Errorf("gtk:1:2:c2 = %+v", gtk[1])
		}
		lib, err := res.ModuleBuilds(ctx, "lib", "a")
		if err != nil {
			t.Fatal(err)
		}
		if len(lib) != 1 || lib[0].BusySibling == nil || *lib[0].BusySibling != rida.ModuleBuilding {
			t.Errorf("ModuleBuilds(lib:a) = %+v, want one build with a building sibling", lib)
		}
		el8, err := res.CompatibleBaseModules(ctx, "platform", []string{"el8"}, 80200, rida.ModuleReady)
		if err != nil {
			t.Fatal(err)
		}
		if got := candidateNSVCs(el8); !slices.Equal(got, []string{"platform:el8.2.0:1:00000000", "platform:el8.1.0:2:00000000", "platform:el8.0.0:1:00000000"}) {
			t.Errorf("CompatibleBaseModules(el8, 80200) = %v", got)
		}
		if len(el8[0].VirtualStreams) != 1 || el8[0].StreamVersion == nil || *el8[0].StreamVersion != 80200 {
			t.Errorf("el8.2.0 candidate = %+v", el8[0])
		}
		br, err := res.BuildrequiredModules(ctx, "gtk", "1", bases[1]) // platform:f28:2
		if err != nil {
			t.Fatal(err)
		}
		if got := candidateNSVCs(br); !slices.Equal(got, []string{"gtk:1:1:c1", "gtk:1:1:c2"}) {
			t.Errorf("BuildrequiredModules(gtk:1, f28:2) = %v", got)
		}
	})
}

func candidateNSVCs(cs []expand.Candidate) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.NSVC.String())
	}
	return out
}

// expansionSummary is what an expansion decided, in comparable form: each
// result's emitted modulemd and identity, the rejected combinations, the
// candidates considered, and the error.
type expansionSummary struct {
	Results    []string
	Rejected   []expand.Rejected
	Candidates []string
	Err        string
}

func summarize(t *testing.T, exp *expand.Expansion, err error) expansionSummary {
	t.Helper()
	var s expansionSummary
	if err != nil {
		s.Err = string(rida.ErrorCodeOf(err)) + ": " + rida.ErrorMessageOf(err)
	}
	if exp == nil {
		return s
	}
	for _, r := range exp.Results {
		y, err := r.Stream.Emit(modulemd.EmitOptions{})
		if err != nil {
			t.Fatalf("emit: %v", err)
		}
		s.Results = append(s.Results, strings.Join([]string{strconv.Itoa(r.Block), strconv.FormatUint(r.Version, 10),
			r.BuildContext, r.BuildContextNoBMS, r.RuntimeContext, r.Context, r.Why, string(y)}, "\n"))
	}
	s.Rejected, s.Candidates = exp.Rejected, exp.Candidates
	return s
}

// TestResolverExpand runs Module Stream Expansion over the store and over
// the in-memory resolver holding the same world and wants the same
// expansions: results (emitted modulemd included), rejections, candidates
// and errors.
func TestResolverExpand(t *testing.T) {
	world := resolverWorld()
	markBusySiblings(world)
	mem := expandtest.New(world...)
	type deps = map[string][]string
	submit := func(blocks ...[2]deps) *modulemd.Stream {
		s := &modulemd.Stream{MdVersion: 2, Name: "testmodule", Stream: "master", Version: 20180205135154,
			Summary: "s", Description: "d", ModuleLicenses: []string{"MIT"}}
		for _, b := range blocks {
			s.Dependencies = append(s.Dependencies, &modulemd.Dependencies{BuildRequires: b[0], Requires: b[1]})
		}
		return s
	}
	submissions := []struct {
		name    string
		s       *modulemd.Stream
		results int // expected on both, so a test of two failures cannot pass
		err     bool
	}{
		{"two platforms and gtk", submit([2]deps{{"platform": {"f28", "f29"}, "gtk": {"1"}}, {"platform": {"f28", "f29"}}}), 2, false},
		{"every gtk stream", submit([2]deps{{"platform": {"f29"}, "gtk": {}}, {"gtk": {}}}), 2, false},
		{"virtual platform stream", submit([2]deps{{"platform": {"el8"}, "bar": {"1"}}, nil}), 1, false},
		{"compatible base module", submit([2]deps{{"platform": {"el8.2.0"}, "bar": {"1"}}, nil}), 1, false},
		{"busy sibling", submit([2]deps{{"platform": {"f28"}, "lib": {"a"}}, nil}), 0, true},
		{"two blocks", submit([2]deps{{"platform": {"f28"}}, {"platform": {"f28"}}}, [2]deps{{"platform": {"f29"}, "qt": {"2"}}, nil}), 2, false},
	}
	forEachDB(t, func(t *testing.T, db *testDB) {
		ctx := t.Context()
		storeWorld(t, db, world)
		for _, sub := range submissions {
			wantExp, wantErr := expand.Expand(ctx, sub.s, expand.Options{}, mem)
			gotExp, gotErr := expand.Expand(ctx, sub.s, expand.Options{}, db.Resolver())
			want, got := summarize(t, wantExp, wantErr), summarize(t, gotExp, gotErr)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s: expansion (-memory +store):\n%s", sub.name, diff)
			}
			if len(got.Results) != sub.results || (got.Err != "") != sub.err {
				t.Errorf("%s: %d results, error %q; want %d results, error %v", sub.name, len(got.Results), got.Err, sub.results, sub.err)
			}
		}
	})
}

// TestResolverQueriesUseIndexes checks on SQLite that no resolver query
// scans module_builds or its association tables without an index, and that
// the "newest ready version of name:stream" lookups use the resolver index.
func TestResolverQueriesUseIndexes(t *testing.T) {
	db := MustOpenDB(t)
	ready := int(rida.ModuleReady)
	ids := []any{int64(1), int64(2)}
	queries := map[string]struct {
		q    string
		args []any
	}{
		"streams":              {resolverStreamsSQL, []any{"x", ready}},
		"stream exists":        {resolverStreamExistsSQL, []any{"x", "y"}},
		"latest virtual":       {resolverLatestVirtualSQL, []any{"v", "x", ready}},
		"module builds":        {resolverModuleBuildsSQL, []any{"x", "y", ready, "x", "y", ready}},
		"buildrequired":        {resolverBuildrequiredSQL, []any{"x", "y", ready, "platform", "f28", int64(1), "c"}},
		"compatible":           {compatibleBaseModulesSQL(2, false), []any{"platform", ready, "a", "b"}},
		"compatible in window": {compatibleBaseModulesSQL(2, true), []any{"platform", ready, 80000.0, 80200.0, "a", "b"}},
		"busy siblings":        {busySiblingsSQL(len(ids)), ids},
		"virtual streams":      {virtualStreamsSQL(len(ids)), ids},
	}
	for name, q := range queries {
		plan := explain(t, db, q.q, q.args)
		for _, table := range []string{"module_builds", "module_builds_virtual_streams", "module_builds_base_modules"} {
			assertIndexed(t, name, table, plan)
		}
		joined := strings.Join(plan, "\n")
		if (name == "module builds" || name == "buildrequired") && !strings.Contains(joined, "module_builds_resolver_idx") {
			t.Errorf("%s: plan does not use module_builds_resolver_idx: %q", name, plan)
		}
		if name == "busy siblings" && !strings.Contains(joined, "module_builds_siblings_idx") {
			t.Errorf("busy siblings: plan does not use module_builds_siblings_idx: %q", plan)
		}
	}
}
