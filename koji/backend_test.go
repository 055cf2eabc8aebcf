package koji_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/engine"
	"github.com/rida-build/rida/internal/xmlrpc"
	"github.com/rida-build/rida/koji"
	"github.com/rida-build/rida/koji/kojitest"
	"github.com/rida-build/rida/localbuild"
	"github.com/rida-build/rida/modulemd"
)

const (
	beDist    = ".module+7+abcdef12"
	beTag     = "module-hello-main-3-1a2b3c4d"
	beDistGit = "git+https://src.example.org/rpms"
	beRef     = "0123456789abcdef0123456789abcdef01234567"
)

const beModulemd = `document: modulemd
version: 2
data:
  name: hello
  stream: main
  version: 3
  context: 1a2b3c4d
  summary: s
  description: d
  license:
    module: [MIT]
  xmd:
    mbs:
      commit: abc
  dependencies:
  - buildrequires:
      platform: [f40]
    requires:
      platform: [f40]
  profiles:
    default:
      rpms: [hello]
  api:
    rpms: [hello]
  filter:
    rpms: [hello-devel]
  components:
    rpms:
      hello:
        rationale: r
        repository: https://src.example.org/rpms/hello
        ref: main
`

// beModule is hello:main:3:1a2b3c4d (build 7) as the engine passes it.
func beModule(t *testing.T) *engine.Module {
	t.Helper()
	s, err := modulemd.ReadStream([]byte(beModulemd), "hello.yaml", modulemd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &engine.Module{
		Build: &rida.ModuleBuild{ID: 7, Name: "hello", Stream: "main", Version: 3, Context: "1a2b3c4d",
			Owner: "kojiadmin", Modulemd: beModulemd, SCMURL: "https://src.example.org/modules/hello?#abc",
			TimeSubmitted: time.Unix(1700000000, 0)},
		Stream: s,
		Macros: engine.Macros{
			Spec:       "%global dist " + beDist + "\nName: module-build-macros\n",
			MacrosFile: "%dist " + beDist + "\n",
			DistTag:    beDist,
			NVR:        rida.NVR{Name: engine.MacrosPackage, Version: "0.1", Release: "1" + beDist},
		},
		BuildrootGroups: map[string][]string{"build": {"bash", "rpm-build"}, "srpm-build": {"bash"}},
	}
}

// beBuilder completes every build task with an NVR in the module's dist
// tag: module-build-macros (noarch), any other package with its SRPM, a
// main, a -devel (filtered), a -debuginfo and an i686 (multilib) rpm.
func beBuilder(task kojitest.Task) (kojitest.BuildResult, error) {
	opts, _ := task.Request[2].(xmlrpc.Struct)
	v, _ := opts.Get("mbs_artifact_name")
	pkg, _ := v.(string)
	lic := map[string]any{"license": "MIT"}
	src := map[string]any{"license": "MIT", "exclusivearch": []any{}, "excludearch": []any{}}
	if pkg == engine.MacrosPackage {
		return kojitest.BuildResult{NVR: pkg + "-0.1-1" + beDist, RPMs: []kojitest.RPM{
			{Arch: "src", Headers: src, PayloadHash: "00000000000000000000000000000001"},
			{Arch: "noarch", Headers: lic, PayloadHash: "00000000000000000000000000000002"},
		}}, nil
	}
	return kojitest.BuildResult{NVR: pkg + "-1.0-1" + beDist, RPMs: []kojitest.RPM{
		{Arch: "src", Headers: src, PayloadHash: "00000000000000000000000000000003"},
		{Arch: "x86_64", Headers: lic, PayloadHash: "00000000000000000000000000000004"},
		{Name: pkg + "-devel", Arch: "x86_64", Headers: map[string]any{"license": "GPL"}, PayloadHash: "00000000000000000000000000000005"},
		{Name: pkg + "-debuginfo", Arch: "x86_64", Headers: lic, PayloadHash: "00000000000000000000000000000006"},
		{Arch: "i686", Headers: lic, PayloadHash: "00000000000000000000000000000007"},
	}}, nil
}

// srpmRunner writes the SRPM rpmbuild -bs would into its _srcrpmdir.
func srpmRunner() *localbuild.RecordingRunner {
	return &localbuild.RecordingRunner{Func: func(_ context.Context, c localbuild.Call) ([]byte, []byte, error) {
		args := c.Command.Args
		for i := range args {
			if args[i] == "--define" && i+1 < len(args) && strings.HasPrefix(args[i+1], "_srcrpmdir ") {
				dir := strings.TrimPrefix(args[i+1], "_srcrpmdir ")
				return nil, nil, os.WriteFile(filepath.Join(dir, "module-build-macros-0.1-1"+beDist+".src.rpm"), []byte("srpm"), 0o644)
			}
		}
		return nil, nil, errors.New("no _srcrpmdir")
	}}
}

func newBackend(t *testing.T, opts kojitest.Options) (*koji.Backend, *kojitest.FakeHub, *koji.Client, *localbuild.RecordingRunner) {
	t.Helper()
	hub := kojitest.NewHub(t, opts)
	c := adminClient(t, hub)
	runner := srpmRunner()
	b, err := koji.NewBackend(koji.BackendConfig{Client: c, DistGit: beDistGit, Owner: "kojiadmin",
		Runner: runner, WorkDir: t.TempDir(), Poll: time.Millisecond, HostArch: "x86_64", HostOS: "Fedora 40"})
	if err != nil {
		t.Fatal(err)
	}
	return b, hub, c, runner
}

func hubBuild(t *testing.T, hub *kojitest.FakeHub, id any) kojitest.BuildInfo {
	t.Helper()
	bi, ok := hub.Build(id)
	if !ok {
		t.Fatalf("no build %v in the hub", id)
	}
	return bi
}

// TestBackend_ModuleBuild drives a module through the backend as the
// engine does: environment, reservation, module-build-macros from an
// uploaded SRPM, a component from dist-git, lookups, tagging, newRepo and
// the import of the module and its -devel twin with the reservations.
func TestBackend_ModuleBuild(t *testing.T) {
	ctx := t.Context()
	b, hub, c, runner := newBackend(t, kojitest.Options{AutoRun: true, Builder: beBuilder})
	mod := beModule(t)

	tag, err := b.PrepareEnvironment(ctx, mod)
	if err != nil {
		t.Fatal(err)
	}
	if tag != beTag {
		t.Fatalf("tag = %q, want %q", tag, beTag)
	}
	var target struct {
		Build string `xmlrpc:"build_tag_name"`
		Dest  string `xmlrpc:"dest_tag_name"`
	}
	if err := c.CallInto(ctx, &target, "getBuildTarget", beTag); err != nil {
		t.Fatal(err)
	}
	if target.Build != beTag+"-build" || target.Dest != beTag {
		t.Fatalf("target = %+v", target)
	}
	mod.Build.KojiTag = tag

	res, err := b.Reserve(ctx, mod)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct {
		id    int64
		token string
		nvr   string
	}{{res.BuildID, res.Token, "hello-main-3.1a2b3c4d"}, {res.DevelBuildID, res.DevelToken, "hello-devel-main-3.1a2b3c4d"}} {
		bi := hubBuild(t, hub, r.id)
		if bi.NVR != r.nvr || bi.State != kojitest.BuildBuilding || bi.Token != r.token || r.token == "" {
			t.Errorf("reserved build %d = %+v, want %s BUILDING with token %q", r.id, bi, r.nvr, r.token)
		}
	}
	mod.Build.KojiBuildID, mod.Build.KojiCGToken = res.BuildID, res.Token
	mod.Build.KojiDevelBuildID, mod.Build.KojiDevelCGToken = res.DevelBuildID, res.DevelToken

	macros := &rida.ComponentBuild{Package: engine.MacrosPackage, BuildTimeOnly: true, State: rida.ComponentBuilding}
	macros.TaskID, err = b.SubmitComponent(ctx, mod, macros)
	if err != nil {
		t.Fatal(err)
	}
	task, _ := hub.Task(macros.TaskID)
	src, _ := task.Request[0].(string)
	if !strings.HasPrefix(src, "cli-build/") || !strings.HasSuffix(src, "/module-build-macros-0.1-1"+beDist+".src.rpm") {
		t.Errorf("macros src = %q, want an uploaded SRPM in cli-build/", src)
	}
	if calls := runner.Calls(); len(calls) != 1 || calls[0].Command.Name != "rpmbuild" || calls[0].Command.Args[0] != "-bs" {
		t.Errorf("runner calls = %+v, want one rpmbuild -bs", calls)
	}
	if task.Request[1] != beTag {
		t.Errorf("macros target = %v", task.Request[1])
	}

	hello := &rida.ComponentBuild{Package: "hello", SCMURL: "https://src.example.org/rpms/hello?#" + beRef, Ref: beRef, State: rida.ComponentBuilding}
	hello.TaskID, err = b.SubmitComponent(ctx, mod, hello)
	if err != nil {
		t.Fatal(err)
	}
	task, _ = hub.Task(hello.TaskID)
	if want := beDistGit + "/hello?#" + beRef; task.Request[0] != want {
		t.Errorf("hello src = %v, want %s", task.Request[0], want)
	}

	for _, comp := range []*rida.ComponentBuild{macros, hello} {
		got, found, err := b.LookupComponent(ctx, mod, comp)
		if err != nil || !found || got.ID != comp.TaskID || got.State != rida.ComponentComplete || !strings.HasSuffix(got.NVR, beDist) {
			t.Fatalf("lookup %s by task = %+v, %v, %v", comp.Package, got, found, err)
		}
		lost := *comp
		lost.TaskID = 0
		byID, found, err := b.LookupComponent(ctx, mod, &lost)
		if err != nil || !found || byID != got {
			t.Fatalf("lookup %s by identity = %+v, %v, %v; want %+v", comp.Package, byID, found, err, got)
		}
		comp.State, comp.NVR = got.State, got.NVR
	}

	comps := []*rida.ComponentBuild{macros, hello}
	if err := b.TagComponents(ctx, mod, comps); err != nil {
		t.Fatal(err)
	}
	tagged := hub.CountCalls("tagBuild")
	if err := b.TagComponents(ctx, mod, comps); err != nil {
		t.Fatal(err)
	}
	// Batches go into the -build tag only; the module tag is filled at
	// Finalize.
	if n := hub.CountCalls("tagBuild"); n != tagged || n != 2 {
		t.Errorf("tagBuild calls = %d then %d, want 2 once", tagged, n)
	}
	if got := hub.TaggedNVRs(beTag + "-build"); len(got) != 2 || !slices.Contains(got, macros.NVR) || !slices.Contains(got, hello.NVR) {
		t.Errorf("tagged in -build = %v", got)
	}
	if got := hub.TaggedNVRs(beTag); len(got) != 0 {
		t.Errorf("tagged in the module tag before Finalize = %v", got)
	}
	var groups []struct {
		Name     string `xmlrpc:"name"`
		Packages []struct {
			Package string `xmlrpc:"package"`
		} `xmlrpc:"packagelist"`
	}
	if err := c.CallInto(ctx, &groups, "getTagGroups", beTag+"-build"); err != nil {
		t.Fatal(err)
	}
	for _, g := range groups {
		if !slices.ContainsFunc(g.Packages, func(p struct {
			Package string `xmlrpc:"package"`
		}) bool {
			return p.Package == engine.MacrosPackage
		}) {
			t.Errorf("group %s lacks %s", g.Name, engine.MacrosPackage)
		}
	}

	repo, err := b.StartRepo(ctx, mod)
	if err != nil {
		t.Fatal(err)
	}
	if ready, err := b.RepoReady(ctx, mod, repo); err != nil || !ready {
		t.Fatalf("RepoReady = %v, %v", ready, err)
	}

	// The CG build tag of the module's platform stream exists (the
	// default one too: the stream's wins).
	mod.Build.BuildRequires = map[string]rida.BuildRequire{"platform": {Stream: "f40"}}
	for _, tag := range []string{"f40-modular-updates-candidate", "modular-updates-candidate"} {
		if _, err := c.Call(ctx, "createTag", tag); err != nil {
			t.Fatal(err)
		}
		for _, pkg := range []string{"hello", "hello-devel"} {
			if _, err := c.Call(ctx, "packageListAdd", tag, pkg, "kojiadmin"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := b.Finalize(ctx, mod, comps); err != nil {
		t.Fatal(err)
	}
	wantCG := []string{koji.ModuleNVR(mod.Build, false).String(), koji.ModuleNVR(mod.Build, true).String()}
	slices.Sort(wantCG)
	if got := hub.TaggedNVRs("f40-modular-updates-candidate"); !slices.Equal(got, wantCG) {
		t.Errorf("tagged in the CG build tag = %v, want %v", got, wantCG)
	}
	if got := hub.TaggedNVRs("modular-updates-candidate"); len(got) != 0 {
		t.Errorf("tagged in the default CG build tag too: %v", got)
	}
	if got := hub.TaggedNVRs(beTag); !slices.Equal(got, []string{hello.NVR}) {
		t.Errorf("tagged in the module tag = %v, want only %s", got, hello.NVR)
	}
	imports := hub.Imports()
	if len(imports) != 2 {
		t.Fatalf("%d imports, want 2", len(imports))
	}
	for i, want := range []struct {
		id    int64
		token string
	}{{res.BuildID, res.Token}, {res.DevelBuildID, res.DevelToken}} {
		if imports[i].BuildID != want.id || imports[i].Token != want.token {
			t.Errorf("import %d = build %d token %q, want %d %q", i, imports[i].BuildID, imports[i].Token, want.id, want.token)
		}
		if bi := hubBuild(t, hub, want.id); bi.State != kojitest.BuildComplete || !slices.Contains(bi.BTypes, "module") {
			t.Errorf("build %d = %+v, want COMPLETE module", want.id, bi)
		}
		names := slices.Sorted(func(yield func(string) bool) {
			for n := range imports[i].Files {
				if !yield(n) {
					return
				}
			}
		})
		if !slices.Equal(names, []string{"modulemd.txt", "modulemd.x86_64.txt"}) {
			t.Errorf("import %d files = %v", i, names)
		}
	}
	if got := string(imports[0].Files["modulemd.txt"]); got != beModulemd {
		t.Errorf("modulemd.txt is not the stored modulemd:\n%s", got)
	}
	final, err := modulemd.ReadStream(imports[0].Files["modulemd.x86_64.txt"], "final", modulemd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rel := "1.0-1" + beDist
	wantNormal := []string{"hello-0:" + rel + ".src", "hello-0:" + rel + ".x86_64", "hello-debuginfo-0:" + rel + ".x86_64"}
	if final.Arch != "x86_64" || !slices.Equal(final.RPMArtifacts, wantNormal) || !slices.Equal(final.ContentLicenses, []string{"MIT"}) {
		t.Errorf("final x86_64 modulemd: arch %s, artifacts %v, licenses %v; want artifacts %v", final.Arch, final.RPMArtifacts, final.ContentLicenses, wantNormal)
	}
	if final.XMDMap()["mbs"] != nil || final.RPMComponents["hello"].Repository != "" {
		t.Errorf("final modulemd keeps xmd.mbs or the repository")
	}
	devel, err := modulemd.ReadStream(imports[1].Files["modulemd.x86_64.txt"], "devel", modulemd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	wantDevel := []string{"hello-0:" + rel + ".i686", "hello-devel-0:" + rel + ".x86_64"}
	if devel.Name != "hello-devel" || !slices.Equal(devel.RPMArtifacts, wantDevel) || len(devel.Profiles) != 0 || len(devel.APIRPMs) != 0 {
		t.Errorf("final -devel modulemd: %s, artifacts %v, profiles %v, api %v; want artifacts %v", devel.Name, devel.RPMArtifacts, devel.Profiles, devel.APIRPMs, wantDevel)
	}
	if d := devel.Dependencies; len(d) != 1 || !slices.Equal(d[0].Requires["hello"], []string{"main"}) {
		t.Errorf("-devel does not require hello:main: %+v", d)
	}

	// A repeated Finalize (a crash before the engine recorded done)
	// imports and tags nothing again.
	tagTasks := len(hub.Tasks("tagBuild"))
	if err := b.Finalize(ctx, mod, comps); err != nil {
		t.Fatal(err)
	}
	if n := len(hub.Imports()); n != 2 {
		t.Errorf("%d imports after a second Finalize, want 2", n)
	}
	if n := len(hub.Tasks("tagBuild")); n != tagTasks {
		t.Errorf("%d tagBuild tasks after a second Finalize, %d before", n, tagTasks)
	}
}

// TestBackend_Cancel: a running build is canceled by task id, and by
// identity when its id was lost; canceling again succeeds.
func TestBackend_Cancel(t *testing.T) {
	ctx := t.Context()
	b, hub, _, _ := newBackend(t, kojitest.Options{AutoRun: true})
	mod := beModule(t)
	if _, err := b.PrepareEnvironment(ctx, mod); err != nil {
		t.Fatal(err)
	}
	for _, lose := range []bool{false, true} {
		comp := &rida.ComponentBuild{Package: "hello", Ref: beRef, State: rida.ComponentBuilding}
		id, err := b.SubmitComponent(ctx, mod, comp)
		if err != nil {
			t.Fatal(err)
		}
		comp.TaskID = id
		if got, found, err := b.LookupComponent(ctx, mod, comp); err != nil || !found || got.State != rida.ComponentBuilding {
			t.Fatalf("lookup = %+v, %v, %v; want building", got, found, err)
		}
		if lose {
			comp.TaskID = 0
		}
		if err := b.CancelComponent(ctx, mod, comp); err != nil {
			t.Fatal(err)
		}
		if task, _ := hub.Task(id); task.State != kojitest.TaskCanceled {
			t.Errorf("task %d state = %d, want canceled", id, task.State)
		}
		comp.TaskID = id
		if got, found, err := b.LookupComponent(ctx, mod, comp); err != nil || !found || got.State != rida.ComponentCanceled {
			t.Errorf("lookup after cancel = %+v, %v, %v", got, found, err)
		}
		if err := b.CancelComponent(ctx, mod, comp); err != nil {
			t.Errorf("second cancel: %v", err)
		}
	}
	unknown := &rida.ComponentBuild{Package: "hello", TaskID: 999999}
	if err := b.CancelComponent(ctx, mod, unknown); err != nil {
		t.Errorf("cancel of an unknown task: %v", err)
	}
	if _, found, err := b.LookupComponent(ctx, mod, unknown); err != nil || found {
		t.Errorf("lookup of an unknown task: found %v, %v", found, err)
	}
}

// TestBackend_ReserveTaken: a taken NVR is a CodeConflict naming it; when
// only the -devel NVR is taken, the module's reservation is refunded. The
// NVRs here were reserved before the module build was submitted: someone
// else's, never reclaimed.
func TestBackend_ReserveTaken(t *testing.T) {
	ctx := t.Context()
	b, hub, c, _ := newBackend(t, kojitest.Options{})
	mod := beModule(t)
	mod.Build.TimeSubmitted = time.Now().Add(time.Hour)
	develNVR := koji.ModuleNVR(mod.Build, true)
	if _, _, err := c.CGInitBuild(ctx, koji.DefaultCGName, develNVR); err != nil {
		t.Fatal(err)
	}
	_, err := b.Reserve(ctx, mod)
	if rida.ErrorCodeOf(err) != rida.CodeConflict || !strings.Contains(err.Error(), develNVR.String()) {
		t.Fatalf("Reserve = %v, want a conflict naming %s", err, develNVR)
	}
	if bi := hubBuild(t, hub, koji.ModuleNVR(mod.Build, false).String()); bi.State != kojitest.BuildFailed {
		t.Errorf("the module's reservation was left %d, want refunded (FAILED)", bi.State)
	}

	other := beModule(t)
	other.Build.Context = "99999999"
	if _, err := b.Reserve(ctx, other); err != nil {
		t.Fatal(err)
	}
	other.Build.TimeSubmitted = time.Now().Add(time.Hour)
	_, err = b.Reserve(ctx, other)
	nvr := koji.ModuleNVR(other.Build, false).String()
	if rida.ErrorCodeOf(err) != rida.CodeConflict || !strings.Contains(err.Error(), nvr) {
		t.Fatalf("second Reserve = %v, want a conflict naming %s", err, nvr)
	}
}

// TestBackend_ReserveReclaimsLostTokens: a crash between CGInitBuild and
// recording its answer leaves both NVRs reserved with tokens nobody has.
// Reserving again takes them back (same build ids, new tokens), and the
// new tokens work.
func TestBackend_ReserveReclaimsLostTokens(t *testing.T) {
	ctx := t.Context()
	b, hub, _, _ := newBackend(t, kojitest.Options{})
	mod := beModule(t)
	mod.Build.TimeSubmitted = time.Now().Add(-time.Minute)
	lost, err := b.Reserve(ctx, mod) // the answer the crash lost
	if err != nil {
		t.Fatal(err)
	}
	again, err := b.Reserve(ctx, mod)
	if err != nil {
		t.Fatalf("Reserve after a lost answer: %v", err)
	}
	if again.BuildID != lost.BuildID || again.DevelBuildID != lost.DevelBuildID || again.Token == lost.Token || again.DevelToken == lost.DevelToken {
		t.Fatalf("reclaimed %+v after %+v: want the same builds with new tokens", again, lost)
	}
	mod.Build.KojiBuildID, mod.Build.KojiCGToken, mod.Build.KojiDevelBuildID, mod.Build.KojiDevelCGToken = again.BuildID, again.Token, again.DevelBuildID, again.DevelToken
	if err := b.Refund(ctx, mod, false); err != nil {
		t.Fatalf("refund with the new tokens: %v", err)
	}
	if bi := hubBuild(t, hub, koji.ModuleNVR(mod.Build, false).String()); bi.State != kojitest.BuildFailed {
		t.Errorf("module build %d after refund, want FAILED", bi.State)
	}
}

// TestBackend_Refund: a failed build's reservations end FAILED, a
// canceled one's CANCELED; refunding again, or a swept reservation,
// succeeds.
func TestBackend_Refund(t *testing.T) {
	ctx := t.Context()
	b, hub, _, _ := newBackend(t, kojitest.Options{})
	for i, canceled := range []bool{false, true} {
		mod := beModule(t)
		mod.Build.Context = []string{"aaaaaaaa", "bbbbbbbb"}[i]
		r, err := b.Reserve(ctx, mod)
		if err != nil {
			t.Fatal(err)
		}
		mod.Build.KojiBuildID, mod.Build.KojiCGToken, mod.Build.KojiDevelBuildID, mod.Build.KojiDevelCGToken = r.BuildID, r.Token, r.DevelBuildID, r.DevelToken
		if err := b.Refund(ctx, mod, canceled); err != nil {
			t.Fatal(err)
		}
		want := kojitest.BuildFailed
		if canceled {
			want = kojitest.BuildCanceled
		}
		for _, id := range []int64{r.BuildID, r.DevelBuildID} {
			if bi := hubBuild(t, hub, id); bi.State != want {
				t.Errorf("build %d state = %d, want %d", id, bi.State, want)
			}
		}
		if err := b.Refund(ctx, mod, canceled); err != nil {
			t.Errorf("second refund: %v", err)
		}
	}

	mod := beModule(t)
	mod.Build.Context = "cccccccc"
	r, err := b.Reserve(ctx, mod)
	if err != nil {
		t.Fatal(err)
	}
	mod.Build.KojiBuildID, mod.Build.KojiCGToken, mod.Build.KojiDevelBuildID, mod.Build.KojiDevelCGToken = r.BuildID, r.Token, r.DevelBuildID, r.DevelToken
	if n := hub.SweepReservations(0); n != 2 {
		t.Fatalf("swept %d reservations, want 2", n)
	}
	if err := b.Refund(ctx, mod, false); err != nil {
		t.Errorf("refund of swept reservations: %v", err)
	}
}

// TestBackend_Scratch: scratch builds get scrmod- tags, reserve nothing
// and import nothing.
func TestBackend_Scratch(t *testing.T) {
	ctx := t.Context()
	b, hub, _, _ := newBackend(t, kojitest.Options{})
	mod := beModule(t)
	mod.Build.Scratch = true
	tag, err := b.PrepareEnvironment(ctx, mod)
	if err != nil {
		t.Fatal(err)
	}
	if want := "scrmod-hello-main-3-1a2b3c4d+7"; tag != want {
		t.Errorf("scratch tag = %q, want %q", tag, want)
	}
	if r, err := b.Reserve(ctx, mod); err != nil || r != (rida.Reservation{}) {
		t.Errorf("Reserve = %+v, %v; want nothing", r, err)
	}
	if err := b.Finalize(ctx, mod, nil); err != nil {
		t.Fatal(err)
	}
	if n := hub.CountCalls("CGInitBuild") + hub.CountCalls("CGImport"); n != 0 {
		t.Errorf("%d CG calls for a scratch build", n)
	}
}
