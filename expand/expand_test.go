package expand_test

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/expand"
	"github.com/rida-build/rida/expand/expandtest"
	"github.com/rida-build/rida/modulemd"
)

type deps = map[string][]string

func submission(blocks ...[2]deps) *modulemd.Stream {
	s := &modulemd.Stream{MdVersion: 2, Name: "testmodule", Stream: "master", Version: 20180205135154, Summary: "s", Description: "d", ModuleLicenses: []string{"MIT"}}
	for _, b := range blocks {
		s.Dependencies = append(s.Dependencies, &modulemd.Dependencies{BuildRequires: b[0], Requires: b[1]})
	}
	return s
}

func mustExpand(t *testing.T, s *modulemd.Stream, opts expand.Options, r expand.Resolver) []*expand.Result {
	t.Helper()
	exp, err := expand.Expand(context.Background(), s, opts, r)
	if err != nil {
		t.Fatalf("Expand: %v", err)
	}
	return exp.Results
}

// deps of the single block of each result, "BR|R" strings, sorted.
func shapes(rs []*expand.Result) []string {
	var out []string
	for _, r := range rs {
		d := r.Stream.Dependencies[0]
		out = append(out, depString(d.BuildRequires)+"|"+depString(d.Requires))
	}
	slices.Sort(out)
	return out
}

func depString(m deps) string {
	var parts []string
	for n, s := range m {
		parts = append(parts, n+":"+strings.Join(s, ","))
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

func wantError(t *testing.T, err error, code rida.ErrorCode, msg string) {
	t.Helper()
	var re *rida.Error
	if !errors.As(err, &re) {
		t.Fatalf("error %v is not a *rida.Error", err)
	}
	if re.Code != code || re.Message != msg {
		t.Fatalf("error = %s %q, want %s %q", re.Code, re.Message, code, msg)
	}
}

// The build of MBS's message example (mbs.md §5.1): testmodule
// buildrequiring and requiring platform:f28 against platform:f28:3:00000000
// gets context 9c690d0e, version 2820180205135154 and these buildrequires.
func TestExpandMBSTestmodule(t *testing.T) {
	r := expandtest.New(expandtest.Platform("f28", 3))
	rs := mustExpand(t, submission([2]deps{{"platform": {"f28"}}, {"platform": {"f28"}}}), expand.Options{}, r)
	if len(rs) != 1 {
		t.Fatalf("%d results", len(rs))
	}
	res := rs[0]
	if res.Context != "9c690d0e" || res.Stream.Context != "9c690d0e" {
		t.Errorf("context = %s / %s, want 9c690d0e", res.Context, res.Stream.Context)
	}
	if res.Version != 2820180205135154 || res.Stream.Version != 2820180205135154 {
		t.Errorf("version = %d", res.Version)
	}
	want := map[string]rida.BuildRequire{"platform": {Stream: "f28", Version: "3", Context: "00000000", Ref: "virtual", KojiTag: "module-f28-build"}}
	if d := cmp.Diff(want, res.BuildRequires); d != "" {
		t.Errorf("buildrequires (-want +got):\n%s", d)
	}
	if res.BuildContext != expand.BuildContext(map[string]string{"platform": "f28"}) || res.BuildContextNoBMS != expand.BuildContext(nil) {
		t.Errorf("build contexts %s %s", res.BuildContext, res.BuildContextNoBMS)
	}
	mbs, _ := res.Stream.XMDMap()["mbs"].(map[string]any)
	if mbs["mse"] != true {
		t.Errorf("xmd.mbs.mse = %v", mbs["mse"])
	}
	wantXMD := map[string]any{"platform": map[string]any{"ref": "virtual", "stream": "f28", "version": "3", "context": "00000000", "koji_tag": "module-f28-build"}}
	if d := cmp.Diff(wantXMD, mbs["buildrequires"]); d != "" {
		t.Errorf("xmd.mbs.buildrequires (-want +got):\n%s", d)
	}
	// The expanded modulemd is valid and can be written out.
	if err := res.Stream.Validate(); err != nil {
		t.Errorf("expanded modulemd invalid: %v", err)
	}
	if _, err := res.Stream.Emit(modulemd.EmitOptions{}); err != nil {
		t.Errorf("emit: %v", err)
	}
	if !strings.Contains(res.Why, "platform:f28:3:00000000") {
		t.Errorf("Why does not name the chosen platform: %s", res.Why)
	}
}

// mbs.md §3.2: BR platform [f28, f29] gives two builds; the f28 one is the
// same as the single-stream build above.
func TestExpandTwoPlatforms(t *testing.T) {
	r := expandtest.New(expandtest.Platform("f28", 3), expandtest.Platform("f29", 3))
	rs := mustExpand(t, submission([2]deps{{"platform": {"f28", "f29"}}, {"platform": {"f28", "f29"}}}), expand.Options{}, r)
	if got, want := shapes(rs), []string{"platform:f28|platform:f28", "platform:f29|platform:f29"}; !slices.Equal(got, want) {
		t.Fatalf("shapes %v, want %v", got, want)
	}
	for _, res := range rs {
		s := res.BuildRequires["platform"].Stream
		want := expand.Context(expand.BuildContext(map[string]string{"platform": s}), expand.RuntimeContext(deps{"platform": {s}}))
		if res.Context != want {
			t.Errorf("%s: context %s, want %s", s, res.Context, want)
		}
		if s == "f28" && res.Context != "9c690d0e" {
			t.Errorf("f28 context %s, want 9c690d0e", res.Context)
		}
		if wantV := map[string]uint64{"f28": 2820180205135154, "f29": 2920180205135154}[s]; res.Version != wantV {
			t.Errorf("%s: version %d, want %d", s, res.Version, wantV)
		}
	}
}

// The dependency rewrite examples of mbs.md §3.2 (DEPENDENCY_RESOLUTION.rst).
func TestExpandRewriteExamples(t *testing.T) {
	r := expandtest.New(expandtest.Platform("f29", 1), expandtest.Platform("f30", 1))
	for _, c := range []struct {
		br, rq []string
		want   []string
	}{
		{[]string{"f29", "f30"}, []string{"f29", "f30"}, []string{"platform:f29|platform:f29", "platform:f30|platform:f30"}},
		{[]string{"f29", "f30"}, []string{"f30"}, []string{"platform:f29|platform:f30", "platform:f30|platform:f30"}},
		{[]string{"f30"}, []string{"f29", "f30"}, []string{"platform:f30|platform:f29,f30"}},
		{[]string{"f30"}, []string{}, []string{"platform:f30|platform:"}},
	} {
		rs := mustExpand(t, submission([2]deps{{"platform": c.br}, {"platform": c.rq}}), expand.Options{}, r)
		if got := shapes(rs); !slices.Equal(got, c.want) {
			t.Errorf("BR %v R %v: %v, want %v", c.br, c.rq, got, c.want)
		}
	}
}

// BR gtk: [], qt: [] with two streams each gives four builds; negative
// streams exclude; transitive requires never multiply builds.
func TestExpandStreams(t *testing.T) {
	f28 := expandtest.Platform("f28", 1)
	r := expandtest.New(f28,
		expandtest.Module("gtk", "1", 1, "c1", f28.NSVC, nil),
		expandtest.Module("gtk", "2", 1, "c1", f28.NSVC, nil),
		expandtest.Module("qt", "1", 1, "c1", f28.NSVC, deps{"lib": {"a"}}),
		expandtest.Module("qt", "2", 1, "c1", f28.NSVC, deps{"lib": {"a"}}),
		expandtest.Module("lib", "a", 1, "c1", f28.NSVC, nil),
		expandtest.Module("lib", "a", 2, "c1", f28.NSVC, nil),
	)
	rs := mustExpand(t, submission([2]deps{{"platform": {"f28"}, "gtk": {}, "qt": {}}, nil}), expand.Options{}, r)
	if len(rs) != 4 {
		t.Fatalf("%d results, want 4: %v", len(rs), shapes(rs))
	}
	contexts := map[string]bool{}
	for _, res := range rs {
		contexts[res.Context] = true
		if lib := res.BuildRequires["lib"]; lib.Version != "2" {
			t.Errorf("transitive lib not the newest: %+v", lib)
		}
	}
	if len(contexts) != 4 {
		t.Errorf("contexts not distinct: %v", contexts)
	}
	rs = mustExpand(t, submission([2]deps{{"platform": {"f28"}, "gtk": {"-1"}, "qt": {"1"}}, nil}), expand.Options{}, r)
	if got, want := shapes(rs), []string{"gtk:2 platform:f28 qt:1|"}; !slices.Equal(got, want) {
		t.Errorf("exclusion: %v, want %v", got, want)
	}
}

// Overrides replace stream lists; unused ones are MBS's 400.
func TestExpandOverrides(t *testing.T) {
	r := expandtest.New(expandtest.Platform("f28", 1), expandtest.Platform("f29", 1))
	s := submission([2]deps{{"platform": {"f28"}}, {"platform": {"f28"}}})
	rs := mustExpand(t, s, expand.Options{BuildrequireOverrides: deps{"platform": {"f29"}}, RequireOverrides: deps{"platform": {"f29"}}}, r)
	if got, want := shapes(rs), []string{"platform:f29|platform:f29"}; !slices.Equal(got, want) {
		t.Errorf("override: %v, want %v", got, want)
	}
	if s.Dependencies[0].BuildRequires["platform"][0] != "f28" {
		t.Error("Expand modified its input")
	}
	_, err := expand.Expand(context.Background(), s, expand.Options{BuildrequireOverrides: deps{"b": {"1"}, "a": {"1"}, "platform": {"f29"}}}, r)
	wantError(t, err, rida.CodeInvalid, "The buildrequire overrides for the following modules aren't applicable: a, b")
	_, err = expand.Expand(context.Background(), s, expand.Options{RequireOverrides: deps{"x": {"1"}}}, r)
	wantError(t, err, rida.CodeInvalid, "The require overrides for the following modules aren't applicable: x")
	// A branch-derived override (BR_STREAM_OVERRIDE_REGEXES) applies, and
	// is ignored silently when unused.
	opts := expand.Options{Branch: "10-rhel-8.0.0", BRStreamOverrideModule: "platform", BRStreamOverrideRegexes: []*regexp.Regexp{regexp.MustCompile(`(?:rh)(el)(?:\-)(\d+\.\d+\.\d+)$`)}}
	r.Add(expandtest.Platform("el8.0.0", 1))
	rs = mustExpand(t, s, opts, r)
	if got := rs[0].BuildRequires["platform"].Stream; got != "el8.0.0" {
		t.Errorf("branch override gave %s", got)
	}
	if _, err := expand.Expand(context.Background(), submission([2]deps{{"platform": {"f28"}}, nil}), opts, r); err != nil {
		t.Errorf("unused branch override: %v", err)
	}
}

// MBS's test_submit_build_no_base_module and _dep_not_present.
func TestExpandMissing(t *testing.T) {
	f28 := expandtest.Platform("f28", 1)
	r := expandtest.New(f28)
	_, err := expand.Expand(context.Background(), submission([2]deps{{"platform": {"Go"}}, nil}), expand.Options{}, r)
	wantError(t, err, rida.CodeUnprocessable, "None of the base module (platform) streams in the buildrequires section could be found")
	_, err = expand.Expand(context.Background(), submission([2]deps{{"platform": {"f28"}, "chineese_food": {"good"}}, nil}), expand.Options{}, r)
	wantError(t, err, rida.CodeUnprocessable, "Cannot find any module builds for chineese_food:good")
	_, err = expand.Expand(context.Background(), submission([2]deps{{"platform": {"f28"}}, nil}), expand.Options{BaseModuleNames: []string{"platform", "bootstrap"}}, expandtest.New())
	wantError(t, err, rida.CodeUnprocessable, "None of the base module (platform or bootstrap) streams in the buildrequires section could be found")
	// A buildrequire with no stream built at all gives no combination.
	exp, err := expand.Expand(context.Background(), submission([2]deps{{"platform": {"f28"}, "ghost": {}}, nil}), expand.Options{}, r)
	wantError(t, err, rida.CodeInvalid, "No dependency combination was satisfied. Please verify the buildrequires in your modulemd have previously been built.")
	if exp == nil || len(exp.Rejected) == 0 || !strings.Contains(exp.Rejected[0].Reason, "module(ghost)") {
		t.Errorf("no explanation of the missing provider: %+v", exp)
	}
}

// The transitive stream collision of MBS's _detect_transitive_stream_collision
// docstring: app BR gtk:1 and foo:1; gtk needs baz:1, foo needs bar:1 which
// needs baz:2.
func TestExpandTransitiveConflict(t *testing.T) {
	f29 := expandtest.Platform("f29", 1)
	r := expandtest.New(f29,
		expandtest.Module("gtk", "1", 1, "c", f29.NSVC, deps{"baz": {"1"}}),
		expandtest.Module("foo", "1", 1, "c", f29.NSVC, deps{"bar": {"1"}}),
		expandtest.Module("bar", "1", 1, "c", f29.NSVC, deps{"baz": {"2"}}),
		expandtest.Module("baz", "1", 1, "c", f29.NSVC, deps{"platform": {"f29"}}),
		expandtest.Module("baz", "2", 1, "c", f29.NSVC, deps{"platform": {"f29"}}),
	)
	_, err := expand.Expand(context.Background(), submission([2]deps{{"platform": {"f29"}, "gtk": {"1"}, "foo": {"1"}}, nil}), expand.Options{}, r)
	wantError(t, err, rida.CodeUnprocessable, "Problems were found during module dependency resolution: The module has conflicting buildrequires of: baz:1:1:c and baz:2:1:c")
}

// A combination that cannot be installed is rejected, with its reason,
// while the others are built.
func TestExpandRejectsCombination(t *testing.T) {
	f29 := expandtest.Platform("f29", 1)
	r := expandtest.New(f29,
		expandtest.Module("gtk", "1", 1, "c", f29.NSVC, deps{"baz": {"1"}}),
		expandtest.Module("gtk", "2", 1, "c", f29.NSVC, deps{"baz": {"2"}}),
		expandtest.Module("foo", "1", 1, "c", f29.NSVC, deps{"baz": {"1"}}),
		expandtest.Module("baz", "1", 1, "c", f29.NSVC, nil),
		expandtest.Module("baz", "2", 1, "c", f29.NSVC, nil),
	)
	exp, err := expand.Expand(context.Background(), submission([2]deps{{"platform": {"f29"}, "gtk": {}, "foo": {"1"}}, nil}), expand.Options{}, r)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := shapes(exp.Results), []string{"foo:1 gtk:1 platform:f29|"}; !slices.Equal(got, want) {
		t.Errorf("results %v, want %v", got, want)
	}
	if len(exp.Rejected) != 1 || !slices.Contains(exp.Rejected[0].Combination, "gtk:2:1:c") || !strings.Contains(exp.Rejected[0].Reason, "cannot be installed together") {
		t.Errorf("rejections %+v", exp.Rejected)
	}
}

// Virtual streams: platform:el8 resolves to the newest stream providing
// it, and builds made against an older compatible platform (same major,
// lower stream version) are candidates; newer ones are not.
func TestExpandVirtualAndCompatibleStreams(t *testing.T) {
	el800 := expandtest.Platform("el8.0.0", 1, "el8")
	el810 := expandtest.Platform("el8.1.0", 1, "el8")
	el820 := expandtest.Platform("el8.2.0", 1, "el8")
	r := expandtest.New(el800, el810,
		expandtest.Module("bar", "1", 1, "c", el800.NSVC, deps{"platform": {"el8"}}),
	)
	rs := mustExpand(t, submission([2]deps{{"platform": {"el8"}, "bar": {"1"}}, nil}), expand.Options{}, r)
	if len(rs) != 1 || rs[0].BuildRequires["platform"].Stream != "el8.1.0" || rs[0].BuildRequires["bar"].Context != "c" {
		t.Fatalf("virtual stream: %v %+v", shapes(rs), rs[0].BuildRequires)
	}
	if got := rs[0].Stream.Dependencies[0].BuildRequires["platform"]; !slices.Equal(got, []string{"el8.1.0"}) {
		t.Errorf("platform BR %v", got)
	}
	// bar built against el8.2.0 requires platform:el8 >= 80200: not
	// usable on el8.1.0, and el8.2.0 is not compatible with el8.1.0.
	r.Add(el820, expandtest.Module("bar", "1", 2, "d", el820.NSVC, deps{"platform": {"el8"}}))
	rs = mustExpand(t, submission([2]deps{{"platform": {"el8.1.0"}, "bar": {"1"}}, nil}), expand.Options{}, r)
	if len(rs) != 1 || rs[0].BuildRequires["bar"].Context != "c" {
		t.Fatalf("compatible: %+v", rs[0].BuildRequires)
	}
	// On el8.2.0 both bar builds qualify and the newest wins.
	rs = mustExpand(t, submission([2]deps{{"platform": {"el8.2.0"}, "bar": {"1"}}, nil}), expand.Options{}, r)
	if len(rs) != 1 || rs[0].BuildRequires["bar"].Context != "d" {
		t.Fatalf("newest: %+v", rs[0].BuildRequires)
	}
}

// MBS refuses a buildrequire whose sibling contexts are still building.
func TestExpandBusySibling(t *testing.T) {
	f28 := expandtest.Platform("f28", 1)
	gtk := expandtest.Module("gtk", "1", 5, "c", f28.NSVC, nil)
	st := rida.ModuleBuilding
	gtk.BusySibling = &st
	_, err := expand.Expand(context.Background(), submission([2]deps{{"platform": {"f28"}, "gtk": {"1"}}, nil}), expand.Options{}, expandtest.New(f28, gtk))
	wantError(t, err, rida.CodeUnprocessable, `Buildrequire gtk-1-5 is in "build" state`)
}

// Each block of a multi-block submission expands on its own.
func TestExpandBlocks(t *testing.T) {
	r := expandtest.New(expandtest.Platform("f28", 1), expandtest.Platform("f29", 1))
	rs := mustExpand(t, submission(
		[2]deps{{"platform": {"f28"}}, {"platform": {"f28"}}},
		[2]deps{{"platform": {"f29"}}, {"platform": {"f29"}}},
	), expand.Options{}, r)
	if got, want := shapes(rs), []string{"platform:f28|platform:f28", "platform:f29|platform:f29"}; !slices.Equal(got, want) {
		t.Errorf("blocks: %v, want %v", got, want)
	}
	if rs[0].Block == rs[1].Block {
		t.Error("blocks not told apart")
	}
}
