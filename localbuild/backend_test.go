package localbuild

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/engine"
	"github.com/rida-build/rida/git"
	"github.com/rida-build/rida/modulemd"
)

const fakeDist = ".module+f40+3+1a2b3c4d"

// *git.Client is the SCM cmd/rida passes; the assertion lives in a test so
// that localbuild does not import another adapter.
var _ SCM = (*git.Client)(nil)

// fakeTools answers like rpmbuild, rpm, createrepo_c, modifyrepo_c and mock
// would, creating the files the Builder looks for. Every package is
// version 1.0, release 1<dist>; the binary packages of a source package are
// in binaries (default: one noarch package of the same name).
type fakeTools struct {
	t        *testing.T
	binaries map[string][]string // srpm name → "name.arch" of each binary package
	fail     map[string]bool     // rebuilding these fails
	block    map[string]bool     // rebuilding these waits for the context to end
	started  chan string         // receives the name of each blocking build once it runs

	mu          sync.Mutex
	mockConfigs []string // the text of each mock configuration, when mock ran
}

func newFakeTools(t *testing.T) *fakeTools {
	return &fakeTools{
		t: t, binaries: map[string][]string{}, fail: map[string]bool{}, block: map[string]bool{},
		started: make(chan string, 10),
	}
}

func fakeWrite(t *testing.T, path string) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Error(err)
	}
	if err := os.WriteFile(path, []byte("rpm"), 0o644); err != nil {
		t.Error(err)
	}
}

// parseFileName reads a package file name "N-V-R.A.rpm".
func parseFileName(base string) NEVRA {
	s := strings.TrimSuffix(base, ".rpm")
	i := strings.LastIndexByte(s, '.')
	nvr, arch := s[:i], s[i+1:]
	r := strings.LastIndexByte(nvr, '-')
	v := strings.LastIndexByte(nvr[:r], '-')
	return NEVRA{Name: nvr[:v], Version: nvr[v+1 : r], Release: nvr[r+1:], Arch: arch}
}

// rebuild writes the binary packages of srpm into dir (per-arch
// subdirectories when perArch, flat otherwise, as mock does).
func (f *fakeTools) rebuild(ctx context.Context, srpm, dir string, perArch bool) ([]byte, []byte, error) {
	n := parseFileName(filepath.Base(srpm))
	if f.block[n.Name] {
		f.started <- n.Name
		<-ctx.Done()
		return []byte("+ make\n"), nil, fmt.Errorf("rpmbuild: %w", ctx.Err())
	}
	if f.fail[n.Name] {
		return []byte("+ exit 1\n"), []byte("error: Bad exit status from /w/tmp/rpm-tmp.1 (%build)\n"), errors.New("rpmbuild: exit status 1")
	}
	bins := f.binaries[n.Name]
	if len(bins) == 0 {
		bins = []string{n.Name + ".noarch"}
	}
	for _, b := range bins {
		name, arch, _ := strings.Cut(b, ".")
		sub := dir
		if perArch {
			sub = filepath.Join(dir, arch)
		}
		fakeWrite(f.t, filepath.Join(sub, name+"-1.0-1"+n.Release[1:]+"."+arch+".rpm"))
	}
	return []byte("Wrote: ...\n"), nil, nil
}

func (f *fakeTools) Run(ctx context.Context, c Call) ([]byte, []byte, error) {
	args := c.Command.Args
	switch c.Command.Name {
	case "rpmbuild":
		switch args[0] {
		case "-bs":
			spec := args[len(args)-1]
			if _, err := os.Stat(spec); err != nil {
				return nil, []byte(err.Error()), fmt.Errorf("rpmbuild: %w", err)
			}
			name := strings.TrimSuffix(filepath.Base(spec), ".spec")
			fakeWrite(f.t, filepath.Join(defineValue(args, "_srcrpmdir"), name+"-1.0-1"+defineValue(args, "dist")+".src.rpm"))
			return []byte("Wrote: " + name + ".src.rpm\n"), nil, nil
		case "--rebuild":
			return f.rebuild(ctx, args[len(args)-1], defineValue(args, "_rpmdir"), true)
		}
	case "rpm":
		if args[0] == "--eval" {
			return []byte("x86_64\n"), nil, nil
		}
		var out strings.Builder
		license := slices.Contains(args, `%{LICENSE}\n`)
		for _, file := range args[slices.Index(args, "--")+1:] {
			n := parseFileName(filepath.Base(file))
			switch {
			case license && n.Name == "hello-doc":
				out.WriteString("CC-BY-SA-4.0\n")
			case license:
				out.WriteString("MIT\n")
			case strings.HasSuffix(file, ".src.rpm"):
				fmt.Fprintf(&out, "%s 0 %s %s src\n", n.Name, n.Version, n.Release)
			default:
				fmt.Fprintf(&out, "%s 0 %s %s %s\n", n.Name, n.Version, n.Release, n.Arch)
			}
		}
		return []byte(out.String()), nil, nil
	case "createrepo_c":
		fakeWrite(f.t, filepath.Join(args[len(args)-1], "repodata", "repomd.xml"))
		return nil, nil, nil
	case "modifyrepo_c":
		data, err := os.ReadFile(args[len(args)-2])
		if err != nil {
			return nil, nil, err
		}
		return nil, nil, os.WriteFile(filepath.Join(args[len(args)-1], "modules.yaml.gz"), data, 0o644)
	case "mock":
		cfg, err := os.ReadFile(args[1])
		if err != nil {
			return nil, nil, err
		}
		f.mu.Lock()
		f.mockConfigs = append(f.mockConfigs, string(cfg))
		f.mu.Unlock()
		if slices.Contains(args, "--init") {
			return nil, nil, nil
		}
		resultDir := args[slices.Index(args, "--resultdir")+1]
		srpm := args[len(args)-1]
		fakeWrite(f.t, filepath.Join(resultDir, filepath.Base(srpm)))
		if err := os.WriteFile(filepath.Join(resultDir, "build.log"), []byte("mock build log\n"), 0o644); err != nil {
			return nil, nil, err
		}
		return f.rebuild(ctx, srpm, resultDir, false)
	}
	f.t.Errorf("unexpected command %s", c.Command)
	return nil, nil, errors.New("unexpected command")
}

// fakeSCM exports a spec named after the repository's last path element.
type fakeSCM struct {
	mu          sync.Mutex
	exports     []string       // "repo@commit" of each call
	unavailable map[string]int // repo → how many calls fail with CodeUnavailable first
	missing     map[string]bool
}

func (s *fakeSCM) Export(_ context.Context, repo, commit, dir string) error {
	s.mu.Lock()
	s.exports = append(s.exports, repo+"@"+commit)
	n := s.unavailable[repo]
	if n > 0 {
		s.unavailable[repo] = n - 1
	}
	s.mu.Unlock()
	if n > 0 {
		return rida.Errorf(rida.CodeUnavailable, "git could not fetch from %s: Connection refused", repo)
	}
	if s.missing[repo] {
		return rida.Errorf(rida.CodeUnprocessable, "The requested commit hash %s was not found within the repository %s.", commit, repo)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	name := filepath.Base(repo)
	return os.WriteFile(filepath.Join(dir, name+".spec"), []byte("Name: "+name+"\n"), 0o644)
}

// testModule is hello:main:3:1a2b3c4d with components hello-data,
// hello-doc and hello.
func testModule(t *testing.T) *engine.Module {
	t.Helper()
	s, err := modulemd.ReadStream([]byte(`document: modulemd
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
    other: kept
  filter:
    rpms: [hello-devel]
  components:
    rpms:
      hello-data:
        rationale: r
        repository: file:///src/rpms/hello-data
        cache: https://cache.example/
        ref: main
      hello-doc:
        rationale: r
        ref: main
      hello:
        rationale: r
        ref: main
        buildorder: 1
`), "hello.yaml", modulemd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &engine.Module{
		Build: &rida.ModuleBuild{
			ID: 7, Name: "hello", Stream: "main", Version: 3, Context: "1a2b3c4d",
			BuildRequires: map[string]rida.BuildRequire{"platform": {Stream: "f40", Version: "1", Context: "00000000"}},
		},
		Stream: s,
		Macros: engine.Macros{
			Spec:       "%global dist " + fakeDist + "\nName: module-build-macros\n",
			MacrosFile: "%dist " + fakeDist + "\n",
			DistTag:    fakeDist,
			NVR:        rida.NVR{Name: engine.MacrosPackage, Version: "0.1", Release: "1" + fakeDist},
		},
	}
}

// component returns the component build of pkg as the engine passes it.
func component(pkg string) *rida.ComponentBuild {
	if pkg == engine.MacrosPackage {
		return &rida.ComponentBuild{Package: pkg, State: rida.ComponentWaiting}
	}
	commit := strings.Repeat("c", 40)
	return &rida.ComponentBuild{Package: pkg, SCMURL: "file:///src/rpms/" + pkg + "?#" + commit, Ref: commit, State: rida.ComponentWaiting}
}

// testBackend is a Backend over fake tools, with its notifications.
type testBackend struct {
	*Backend
	tools    *fakeTools
	runner   *RecordingRunner
	scm      *fakeSCM
	notified chan int64
	workDir  string
}

func newTestBackend(t *testing.T, workDir string, mod func(*BackendConfig)) *testBackend {
	t.Helper()
	tb := &testBackend{tools: newFakeTools(t), scm: &fakeSCM{unavailable: map[string]int{}, missing: map[string]bool{}}, notified: make(chan int64, 100), workDir: workDir}
	tb.runner = &RecordingRunner{Func: tb.tools.Run}
	cfg := BackendConfig{
		WorkDir: workDir, Runner: tb.runner, SCM: tb.scm,
		Notify:        func(id int64) { tb.notified <- id },
		ExportBackoff: time.Millisecond,
	}
	if mod != nil {
		mod(&cfg)
	}
	b, err := NewBackend(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	tb.Backend = b
	return tb
}

// wait waits for c's build to end and returns its task.
func (tb *testBackend) wait(t *testing.T, mod *engine.Module, c *rida.ComponentBuild) engine.Task {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		task, found, err := tb.LookupComponent(t.Context(), mod, c)
		if err != nil {
			t.Fatal(err)
		}
		if !found {
			t.Fatalf("LookupComponent(%s, task %d): not found", c.Package, c.TaskID)
		}
		if task.State != rida.ComponentBuilding {
			return task
		}
		select {
		case id := <-tb.notified:
			if id != mod.Build.ID {
				t.Errorf("notified for module build %d, want %d", id, mod.Build.ID)
			}
		case <-deadline:
			t.Fatalf("%s still building after 30s", c.Package)
		}
	}
}

// submit submits c, records its task id as the engine would, and waits for
// the build to end.
func (tb *testBackend) build(t *testing.T, mod *engine.Module, c *rida.ComponentBuild) engine.Task {
	t.Helper()
	id, err := tb.SubmitComponent(t.Context(), mod, c)
	if err != nil {
		t.Fatalf("SubmitComponent(%s): %v", c.Package, err)
	}
	c.TaskID = id
	task := tb.wait(t, mod, c)
	c.State, c.NVR = task.State, task.NVR
	return task
}

func TestBackend_PrepareEnvironment(t *testing.T) {
	work := t.TempDir()
	tb := newTestBackend(t, work, nil)
	mod := testModule(t)
	for range 2 {
		tag, err := tb.PrepareEnvironment(t.Context(), mod)
		if err != nil {
			t.Fatal(err)
		}
		if tag != "module-hello-main-3-1a2b3c4d" {
			t.Errorf("tag = %q", tag)
		}
	}
	dir := filepath.Join(work, "module-hello-main-3-1a2b3c4d")
	for _, d := range []string{"results/logs", "tasks", "results/repodata"} {
		if fi, err := os.Stat(filepath.Join(dir, d)); err != nil || !fi.IsDir() {
			t.Errorf("%s: %v", d, err)
		}
	}
	var repos []string
	for _, c := range tb.runner.Calls() {
		repos = append(repos, c.Command.String())
	}
	if want := []string{"createrepo_c --quiet -- " + filepath.Join(dir, "results")}; !slices.Equal(repos, want) {
		t.Errorf("calls = %q, want one createrepo_c (the second call finds the repository)", repos)
	}

	bad := testModule(t)
	bad.Build.Stream = "../x"
	if _, err := tb.PrepareEnvironment(t.Context(), bad); rida.ErrorCodeOf(err) != rida.CodeUnprocessable {
		t.Errorf("stream ../x: %v", err)
	}
}

func TestBackend_SubmitLookup(t *testing.T) {
	work := t.TempDir()
	tb := newTestBackend(t, work, func(c *BackendConfig) { c.Arch = "x86_64" })
	tb.tools.binaries["hello"] = []string{"hello.x86_64", "hello-debuginfo.x86_64"}
	mod := testModule(t)
	ctx := t.Context()
	if _, err := tb.PrepareEnvironment(ctx, mod); err != nil {
		t.Fatal(err)
	}

	macros := component(engine.MacrosPackage)
	task := tb.build(t, mod, macros)
	want := engine.Task{ID: macros.TaskID, State: rida.ComponentComplete, NVR: "module-build-macros-1.0-1" + fakeDist}
	if diff := cmp.Diff(want, task); diff != "" {
		t.Errorf("macros task (-want +got):\n%s", diff)
	}
	hello := component("hello")
	task = tb.build(t, mod, hello)
	if task.State != rida.ComponentComplete || task.NVR != "hello-1.0-1"+fakeDist || task.ID <= macros.TaskID {
		t.Errorf("hello task = %+v", task)
	}

	// module-build-macros is built from its own spec without the macros
	// loaded; a component from its exported sources with them.
	var builds []string
	for _, c := range tb.runner.Calls() {
		if c.Command.Name != "rpmbuild" {
			continue
		}
		args := c.Command.Args
		spec := args[len(args)-1]
		builds = append(builds, fmt.Sprintf("%s %s load=%v dist=%s", args[0], filepath.Base(spec), slices.Contains(args, "--load"), defineValue(args, "dist")))
	}
	wantBuilds := []string{
		"-bs module-build-macros.spec load=false dist=" + fakeDist,
		"--rebuild module-build-macros-1.0-1" + fakeDist + ".src.rpm load=false dist=" + fakeDist,
		"-bs hello.spec load=true dist=" + fakeDist,
		"--rebuild hello-1.0-1" + fakeDist + ".src.rpm load=true dist=" + fakeDist,
	}
	if diff := cmp.Diff(wantBuilds, builds); diff != "" {
		t.Errorf("rpmbuild runs (-want +got):\n%s", diff)
	}
	if want := []string{"file:///src/rpms/hello@" + strings.Repeat("c", 40)}; !slices.Equal(tb.scm.exports, want) {
		t.Errorf("exports = %q, want %q", tb.scm.exports, want)
	}

	// The task record, and the packages next to it in results/.
	dir := filepath.Join(work, "module-hello-main-3-1a2b3c4d")
	rec, err := readRecord(modulePaths{tasks: filepath.Join(dir, "tasks")}, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if rec.TaskID != hello.TaskID || rec.ModuleBuildID != 7 || rec.State != "COMPLETE" || rec.Log != "logs/hello.log" || rec.SRPM == nil || len(rec.RPMs) != 2 {
		t.Errorf("record = %+v", rec)
	}
	for _, a := range rec.artifacts() {
		if _, err := os.Stat(filepath.Join(dir, "results", a.File)); err != nil {
			t.Errorf("artifact %s: %v", a.NEVRA, err)
		}
	}
	if rec.RPMs[0].NEVRA != "hello-0:1.0-1"+fakeDist+".x86_64" {
		t.Errorf("first RPM = %s", rec.RPMs[0].NEVRA)
	}
	if _, err := os.Stat(filepath.Join(dir, "results", "logs", "hello.log")); err != nil {
		t.Error(err)
	}
	if entries, _ := os.ReadDir(filepath.Join(work, "tmp")); len(entries) != 0 {
		t.Errorf("scratch left in tmp/: %v", entries)
	}

	// Lookup rules.
	lookup := func(taskID int64) (engine.Task, bool) {
		c := component("hello")
		c.TaskID = taskID
		task, found, err := tb.LookupComponent(ctx, mod, c)
		if err != nil {
			t.Fatal(err)
		}
		return task, found
	}
	if task, found := lookup(0); !found || task.ID != hello.TaskID || task.State != rida.ComponentComplete {
		t.Errorf("lookup without task id: %+v, %v; want the complete build adopted", task, found)
	}
	if _, found := lookup(hello.TaskID + 100); found {
		t.Error("lookup of another task id found the record")
	}
	if _, found, _ := tb.LookupComponent(ctx, mod, component("hello-doc")); found {
		t.Error("lookup of a component never submitted found something")
	}

	// Tagging checks the packages are there.
	if err := tb.TagComponents(ctx, mod, []*rida.ComponentBuild{macros, hello}); err != nil {
		t.Errorf("TagComponents: %v", err)
	}
	if err := os.Remove(filepath.Join(dir, "results", rec.RPMs[0].File)); err != nil {
		t.Fatal(err)
	}
	if err := tb.TagComponents(ctx, mod, []*rida.ComponentBuild{hello}); err == nil || !strings.Contains(err.Error(), rec.RPMs[0].File) {
		t.Errorf("TagComponents with a package gone: %v", err)
	}
	if err := tb.TagComponents(ctx, mod, []*rida.ComponentBuild{component("hello-doc")}); err == nil {
		t.Error("TagComponents of a component never built succeeded")
	}
	if id, err := tb.StartRepo(ctx, mod); id != 0 || err != nil {
		t.Errorf("StartRepo = %d, %v", id, err)
	}
	if ok, err := tb.RepoReady(ctx, mod, 0); !ok || err != nil {
		t.Errorf("RepoReady = %v, %v", ok, err)
	}
}

func TestBackend_FailureAndResume(t *testing.T) {
	work := t.TempDir()
	tb := newTestBackend(t, work, nil)
	tb.tools.fail["hello"] = true
	mod := testModule(t)
	ctx := t.Context()

	hello := component("hello")
	task := tb.build(t, mod, hello)
	logPath := filepath.Join(work, "module-hello-main-3-1a2b3c4d", "results", "logs", "hello.log")
	if task.State != rida.ComponentFailed || !strings.HasPrefix(task.Reason, "Failed to build artifact hello: ") || !strings.Contains(task.Reason, logPath) {
		t.Errorf("failed task = %+v; want FAILED with a reason naming hello and %s", task, logPath)
	}
	if task.NVR != "" {
		t.Errorf("a failed build has NVR %q", task.NVR)
	}
	// A failed record is not adopted by a lookup without task id: it is an
	// earlier attempt's.
	if _, found, _ := tb.LookupComponent(ctx, mod, component("hello")); found {
		t.Error("lookup without task id adopted the failed build")
	}

	// Resume: the engine resets hello to waiting and submits it again.
	tb.tools.fail["hello"] = false
	failedID := hello.TaskID
	again := component("hello")
	id, err := tb.SubmitComponent(ctx, mod, again)
	if err != nil {
		t.Fatal(err)
	}
	if id <= failedID {
		t.Errorf("new task id %d is not above the failed one %d", id, failedID)
	}
	// The failed attempt's record is gone as soon as SubmitComponent
	// returns: neither its id nor a lookup without id finds it.
	old := component("hello")
	old.TaskID = failedID
	if task, found, _ := tb.LookupComponent(ctx, mod, old); found {
		t.Errorf("the failed attempt is still found: %+v", task)
	}
	again.TaskID = id
	if task := tb.wait(t, mod, again); task.State != rida.ComponentComplete || task.ID != id {
		t.Errorf("resumed build = %+v", task)
	}
}

func TestBackend_SourcesExport(t *testing.T) {
	tb := newTestBackend(t, t.TempDir(), nil)
	mod := testModule(t)
	// Two transient failures are retried.
	tb.scm.unavailable["file:///src/rpms/hello"] = 2
	if task := tb.build(t, mod, component("hello")); task.State != rida.ComponentComplete {
		t.Errorf("after two transient failures: %+v", task)
	}
	if n := len(tb.scm.exports); n != 3 {
		t.Errorf("%d exports, want 3", n)
	}
	// A missing commit fails the component, naming it and the log.
	tb.scm.missing["file:///src/rpms/hello-doc"] = true
	task := tb.build(t, mod, component("hello-doc"))
	logPath := filepath.Join(tb.workDir, "module-hello-main-3-1a2b3c4d", "results", "logs", "hello-doc.log")
	if task.State != rida.ComponentFailed || !strings.Contains(task.Reason, "Failed to build artifact hello-doc: could not get the sources") || !strings.Contains(task.Reason, logPath) {
		t.Errorf("task = %+v", task)
	}
	if data, err := os.ReadFile(logPath); err != nil || !strings.Contains(string(data), "was not found") {
		t.Errorf("log = %q, %v", data, err)
	}

	// What is wrong before a build starts is an error of SubmitComponent.
	for _, c := range []*rida.ComponentBuild{
		{Package: "../evil", SCMURL: "file:///x?#" + strings.Repeat("c", 40)},
		{Package: "hello", SCMURL: "file:///x"},
	} {
		if _, err := tb.SubmitComponent(t.Context(), mod, c); rida.ErrorCodeOf(err) != rida.CodeUnprocessable {
			t.Errorf("SubmitComponent(%+v) = %v, want unprocessable", c, err)
		}
	}
}

func TestBackend_Cancel(t *testing.T) {
	work := t.TempDir()
	tb := newTestBackend(t, work, nil)
	tb.tools.block["hello"] = true
	mod := testModule(t)
	ctx := t.Context()

	hello := component("hello")
	id, err := tb.SubmitComponent(ctx, mod, hello)
	if err != nil {
		t.Fatal(err)
	}
	<-tb.tools.started
	// Submitting again while it runs starts nothing new.
	if again, err := tb.SubmitComponent(ctx, mod, component("hello")); err != nil || again != id {
		t.Errorf("second submission = %d, %v; want the running task %d", again, err, id)
	}
	// The engine lost the id: the running build is adopted.
	if task, found, _ := tb.LookupComponent(ctx, mod, component("hello")); !found || task.ID != id || task.State != rida.ComponentBuilding {
		t.Errorf("lookup without task id = %+v, %v", task, found)
	}
	hello.TaskID = id
	if err := tb.CancelComponent(ctx, mod, hello); err != nil {
		t.Fatal(err)
	}
	// CancelComponent waited for the record.
	task, found, err := tb.LookupComponent(ctx, mod, hello)
	if err != nil || !found || task.State != rida.ComponentCanceled || !strings.Contains(task.Reason, "hello") {
		t.Errorf("after cancel: %+v, %v, %v", task, found, err)
	}
	select {
	case <-tb.notified:
	case <-time.After(10 * time.Second):
		t.Error("no notification for the canceled build")
	}
	// Canceling again, or something unknown, succeeds.
	if err := tb.CancelComponent(ctx, mod, hello); err != nil {
		t.Error(err)
	}
	if err := tb.CancelComponent(ctx, mod, component("hello-doc")); err != nil {
		t.Error(err)
	}
}

// TestBackend_Restart checks what a new process sees in the same WorkDir:
// completed builds by their task ids, no build for one that was running
// when the backend stopped, and task ids that keep increasing even when the
// counter file is lost.
func TestBackend_Restart(t *testing.T) {
	work := t.TempDir()
	mod := testModule(t)
	first := newTestBackend(t, work, nil)
	data := first.build(t, mod, component("hello-data"))

	first.tools.block["hello"] = true
	hello := component("hello")
	helloID, err := first.SubmitComponent(t.Context(), mod, hello)
	if err != nil {
		t.Fatal(err)
	}
	hello.TaskID = helloID
	<-first.tools.started
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := first.SubmitComponent(t.Context(), mod, component("hello-doc")); rida.ErrorCodeOf(err) != rida.CodeUnavailable {
		t.Errorf("SubmitComponent after Close = %v, want unavailable", err)
	}
	select {
	case id := <-first.notified:
		t.Errorf("notified (%d) for a build stopped by Close", id)
	default:
	}

	second := newTestBackend(t, work, nil)
	c := component("hello-data")
	c.TaskID = data.ID
	task, found, err := second.LookupComponent(t.Context(), mod, c)
	if err != nil || !found || task != data {
		t.Errorf("after restart: %+v, %v, %v; want %+v", task, found, err, data)
	}
	if _, found, _ := second.LookupComponent(t.Context(), mod, hello); found {
		t.Error("the build stopped with the first backend is found")
	}
	next, err := second.SubmitComponent(t.Context(), mod, component("hello"))
	if err != nil {
		t.Fatal(err)
	}
	if next <= helloID {
		t.Errorf("task id %d after restart, want above %d", next, helloID)
	}
	second.wait(t, mod, &rida.ComponentBuild{Package: "hello", TaskID: next})
	second.Close()

	// The counter file lost: ids continue above the records.
	if err := os.Remove(filepath.Join(work, "task-id")); err != nil {
		t.Fatal(err)
	}
	third := newTestBackend(t, work, nil)
	id, err := third.SubmitComponent(t.Context(), mod, component("hello-doc"))
	if err != nil {
		t.Fatal(err)
	}
	if id <= next {
		t.Errorf("task id %d without the counter file, want above %d", id, next)
	}
}

// TestBackend_TaskIDsUnique hands out ids from two backends on one WorkDir
// at once, as two processes would.
func TestBackend_TaskIDsUnique(t *testing.T) {
	work := t.TempDir()
	backends := []*testBackend{newTestBackend(t, work, nil), newTestBackend(t, work, nil)}
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			b := backends[i%2]
			for range 25 {
				b.mu.Lock()
				id, err := b.nextTaskID()
				b.mu.Unlock()
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[id] {
					t.Errorf("task id %d handed out twice", id)
				}
				seen[id] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != 200 {
		t.Errorf("%d ids, want 200", len(seen))
	}
}

func TestBackend_Finalize(t *testing.T) {
	work := t.TempDir()
	tb := newTestBackend(t, work, nil)
	tb.tools.binaries["hello"] = []string{"hello.x86_64", "hello-debuginfo.x86_64", "hello-devel.x86_64", "hello-devel-debuginfo.x86_64", "hello-debugsource.x86_64"}
	tb.tools.binaries["hello-doc"] = []string{"hello-doc.noarch"}
	mod := testModule(t)
	ctx := t.Context()
	if _, err := tb.PrepareEnvironment(ctx, mod); err != nil {
		t.Fatal(err)
	}
	var comps []*rida.ComponentBuild
	for _, pkg := range []string{engine.MacrosPackage, "hello-data", "hello-doc", "hello"} {
		c := component(pkg)
		if task := tb.build(t, mod, c); task.State != rida.ComponentComplete {
			t.Fatalf("%s: %+v", pkg, task)
		}
		comps = append(comps, c)
	}
	for range 2 { // a repeated Finalize (after a crash) does the same
		if err := tb.Finalize(ctx, mod, comps); err != nil {
			t.Fatal(err)
		}
	}
	results := filepath.Join(work, "module-hello-main-3-1a2b3c4d", "results")
	data, err := os.ReadFile(filepath.Join(results, "modules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := modulemd.Read(data, "modules.yaml", modulemd.Options{Strict: true})
	if err != nil {
		t.Fatalf("modules.yaml does not parse: %v\n%s", err, data)
	}
	streams := idx.Streams()
	if len(streams) != 1 {
		t.Fatalf("%d streams", len(streams))
	}
	s := streams[0]
	r := "-0:1.0-1" + fakeDist
	wantArtifacts := []string{
		"hello" + r + ".src",
		"hello" + r + ".x86_64",
		"hello-data" + r + ".noarch",
		"hello-data" + r + ".src",
		"hello-debuginfo" + r + ".x86_64",
		"hello-debugsource" + r + ".x86_64",
		"hello-doc" + r + ".noarch",
		"hello-doc" + r + ".src",
	}
	if diff := cmp.Diff(wantArtifacts, s.RPMArtifacts); diff != "" {
		t.Errorf("artifacts (-want +got):\n%s", diff)
	}
	if s.Arch != "x86_64" || s.Name != "hello" || s.Version != 3 || s.Context != "1a2b3c4d" {
		t.Errorf("header: %s", s.NSVCA())
	}
	if diff := cmp.Diff(map[string]any{"other": "kept"}, s.XMD); diff != "" {
		t.Errorf("xmd (-want +got):\n%s", diff)
	}
	if rc := s.RPMComponents["hello-data"]; rc.Repository != "" || rc.Cache != "" || rc.Ref != "main" {
		t.Errorf("hello-data component = %+v; want repository and cache removed", rc)
	}
	if diff := cmp.Diff([]string{"CC-BY-SA-4.0", "MIT"}, s.ContentLicenses); diff != "" {
		t.Errorf("content licenses (-want +got):\n%s", diff)
	}
	if got, err := os.ReadFile(filepath.Join(results, "repodata", "modules.yaml.gz")); err != nil || string(got) != string(data) {
		t.Errorf("modifyrepo_c got %q, %v", got, err)
	}
	if mod.Stream.XMDMap()["mbs"] == nil || mod.Stream.RPMComponents["hello-data"].Repository == "" {
		t.Error("Finalize changed the engine's stream")
	}
}

// TestFinalModulemd checks MBS's selection rules on records directly.
func TestFinalModulemd(t *testing.T) {
	s, err := modulemd.ReadStream([]byte(`document: modulemd
version: 2
data:
  name: m
  stream: s
  version: 1
  context: c
  summary: s
  description: d
  license:
    module: [MIT]
  xmd:
    mbs:
      commit: abc
  filter:
    rpms: [foo-devel, bar]
  components:
    rpms:
      foo:
        rationale: r
      bar:
        rationale: r
`), "m.yaml", modulemd.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rec := func(srpm string, rpms ...string) taskRecord {
		art := func(name, arch string) recordArtifact {
			return recordArtifact{Name: name, Version: "1", Release: "1", Arch: arch, File: name + "." + arch + ".rpm"}
		}
		sa := art(srpm, "src")
		r := taskRecord{SRPM: &sa}
		for _, x := range rpms {
			n, a, _ := strings.Cut(x, ".")
			r.RPMs = append(r.RPMs, art(n, a))
		}
		return r
	}
	final, files := finalModulemd(s, "x86_64", []taskRecord{
		// foo: i686 and aarch64 are not this arch; foo-devel is filtered,
		// and so its debuginfo (its main package was not included) but
		// foo-debuginfo follows foo.
		rec("foo", "foo.x86_64", "foo.i686", "foo.aarch64", "foo-common.noarch", "foo-devel.x86_64",
			"foo-debuginfo.x86_64", "foo-devel-debuginfo.x86_64", "foo-debugsource.x86_64"),
		// bar: everything filtered, so no SRPM either.
		rec("bar", "bar.x86_64", "bar-debuginfo.x86_64"),
		// An SRPM that is no component of the module.
		rec("stray", "stray.noarch"),
	})
	want := []string{
		"foo-0:1-1.src", "foo-0:1-1.x86_64", "foo-common-0:1-1.noarch",
		"foo-debuginfo-0:1-1.x86_64", "foo-debugsource-0:1-1.x86_64",
	}
	if diff := cmp.Diff(want, final.RPMArtifacts); diff != "" {
		t.Errorf("artifacts (-want +got):\n%s", diff)
	}
	if len(files) != len(want) {
		t.Errorf("files = %q", files)
	}
	if final.XMD == nil || len(final.XMDMap()) != 0 {
		t.Errorf("xmd = %#v, want an empty mapping", final.XMD)
	}
	out, err := final.Emit(modulemd.EmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "  xmd: {}\n") || !strings.Contains(string(out), "  arch: x86_64\n") {
		t.Errorf("emitted:\n%s", out)
	}

	// With a whitelist, the SRPM name must be in it instead.
	s.Buildopts = &modulemd.Buildopts{RPMWhitelist: []string{"stray"}}
	final, _ = finalModulemd(s, "x86_64", []taskRecord{rec("foo", "foo.x86_64"), rec("stray", "stray.noarch")})
	if diff := cmp.Diff([]string{"stray-0:1-1.noarch", "stray-0:1-1.src"}, final.RPMArtifacts); diff != "" {
		t.Errorf("whitelisted artifacts (-want +got):\n%s", diff)
	}
	// A buildonly component's RPMs join the filter and leave the artifacts.
	s.Buildopts = nil
	s.RPMComponents["foo"].Buildonly = true
	final, _ = finalModulemd(s, "x86_64", []taskRecord{withPackage(rec("foo", "foo.x86_64", "foo-common.noarch"), "foo")})
	if len(final.RPMArtifacts) != 0 {
		t.Errorf("buildonly artifacts = %q, want none", final.RPMArtifacts)
	}
	if diff := cmp.Diff([]string{"bar", "foo", "foo-common", "foo-devel"}, final.FilterRPMs); diff != "" {
		t.Errorf("filter with buildonly RPMs (-want +got):\n%s", diff)
	}
	if s.RPMComponents["foo"].Buildonly && len(s.FilterRPMs) != 2 {
		t.Errorf("the input stream's filter changed: %q", s.FilterRPMs)
	}
}

func withPackage(r taskRecord, pkg string) taskRecord {
	r.Package = pkg
	return r
}

func TestBackend_Mock(t *testing.T) {
	work := t.TempDir()
	// A buildrequired module built earlier in the same WorkDir: its results
	// become a repository of the chroot.
	dep := filepath.Join(work, "module-dep-1-5-cafe0000", "results", "repodata")
	if err := os.MkdirAll(dep, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dep, "repomd.xml"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tb := newTestBackend(t, work, func(c *BackendConfig) {
		c.Mock = MockSettings{Enabled: true, Repos: []MockRepo{{ID: "fedora", BaseURL: "https://mirror.example/fedora/40/"}}}
	})
	mod := testModule(t)
	mod.Build.BuildRequires["dep"] = rida.BuildRequire{Stream: "1", Version: "5", Context: "cafe0000"}
	if _, err := tb.PrepareEnvironment(t.Context(), mod); err != nil {
		t.Fatal(err)
	}
	task := tb.build(t, mod, component("hello"))
	if task.State != rida.ComponentComplete {
		t.Fatalf("task = %+v", task)
	}
	var cmds []string
	for _, c := range tb.runner.Calls() {
		if c.Command.Name == "mock" || c.Command.Name == "rpmbuild" {
			cmds = append(cmds, c.Command.Name+" "+c.Command.Args[0]+" "+c.Command.Args[2])
		}
	}
	if len(cmds) != 3 || cmds[0] != "rpmbuild -bs --load" || !strings.HasPrefix(cmds[1], "mock -r --init") || !strings.HasPrefix(cmds[2], "mock -r --no-clean") {
		t.Errorf("commands = %q; want rpmbuild -bs, mock --init, mock --rebuild", cmds)
	}
	if len(tb.tools.mockConfigs) == 0 {
		t.Fatal("mock ran without a configuration")
	}
	cfg := tb.tools.mockConfigs[0]
	results := filepath.Join(work, "module-hello-main-3-1a2b3c4d", "results")
	for _, want := range []string{
		"config_opts['root'] = 'module-hello-main-3-1a2b3c4d-hello'",
		"config_opts['target_arch'] = 'x86_64'",
		"config_opts['releasever'] = '40'",
		"module_platform_id=platform:f40",
		"baseurl=file://" + results + "\n",
		"[module-dep-1-5-cafe0000]\n",
		"baseurl=https://mirror.example/fedora/40/",
		"config_opts['module_enable'] = ['dep:1']",
		"config_opts['macros']['%dist'] = '" + fakeDist + "'",
		"%dist " + fakeDist,
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("mock configuration lacks %q:\n%s", want, cfg)
		}
	}
	rec, err := readRecord(modulePaths{tasks: filepath.Join(work, "module-hello-main-3-1a2b3c4d", "tasks")}, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if rec.SRPM == nil || len(rec.RPMs) != 1 || rec.RPMs[0].Arch != "noarch" {
		t.Errorf("record = %+v; want the SRPM and one noarch package (mock's copy of the SRPM is not a binary)", rec)
	}
	log, err := os.ReadFile(filepath.Join(results, "logs", "hello.log"))
	if err != nil || !strings.Contains(string(log), "mock build log") {
		t.Errorf("log lacks mock's build.log: %q, %v", log, err)
	}

	// Without a base module to derive them from, the release version and
	// platform id must be configured.
	delete(mod.Build.BuildRequires, "platform")
	if _, err := tb.SubmitComponent(t.Context(), mod, component("hello-doc")); err == nil || !strings.Contains(err.Error(), "mock") {
		t.Errorf("SubmitComponent without platform = %v", err)
	}
}

// TestBackend_RealExampleModule builds examples/hello-world through the
// Backend with the real rpmbuild, rpm, createrepo_c and modifyrepo_c, from
// git repositories made by examples/make-repos.sh, in the engine's order:
// module-build-macros, then the two batches of the modulemd, each followed
// by tagging and a new repository, then Finalize.
func TestBackend_RealExampleModule(t *testing.T) {
	realBuilder(t, "rpmbuild", "rpm", "createrepo_c", "modifyrepo_c", "gcc", "git", "bash")
	buildExampleModule(t, MockSettings{})
}

// TestBackend_RealExampleModuleMock is the same build in mock chroots. It
// needs mock (a Fedora host, the user in the mock group) and a Fedora 40
// repository to install the buildroot from, named by
// RIDA_LOCALBUILD_MOCK_REPO (a base URL such as
// https://<mirror>/fedora/linux/releases/40/Everything/x86_64/os/).
func TestBackend_RealExampleModuleMock(t *testing.T) {
	if _, err := exec.LookPath("mock"); err != nil {
		t.Skip("mock build test skipped: mock is not installed (it is on Fedora hosts; Debian builds with rpmbuild --nodeps instead)")
	}
	repo := os.Getenv("RIDA_LOCALBUILD_MOCK_REPO")
	if repo == "" {
		t.Skip("mock build test skipped: set RIDA_LOCALBUILD_MOCK_REPO to a Fedora 40 repository base URL for the chroot")
	}
	realBuilder(t, "rpmbuild", "rpm", "createrepo_c", "modifyrepo_c", "git", "bash")
	buildExampleModule(t, MockSettings{Enabled: true, Repos: []MockRepo{{ID: "fedora", BaseURL: repo}}})
}

// buildExampleModule builds examples/hello-world through a Backend with
// the real tools and checks the results.
func buildExampleModule(t *testing.T, mock MockSettings) {
	start := time.Now()
	ctx := t.Context()

	// The example's repositories.
	src := filepath.Join(t.TempDir(), "repos")
	cmd := exec.Command("bash", filepath.Join("..", "examples", "make-repos.sh"), src)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make-repos.sh: %v\n%s", err, out)
	}
	path := filepath.Join("..", "examples", "hello-world", "hello-world.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	stream, err := modulemd.ReadStream(data, path, modulemd.Options{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	stream.Stream, stream.Version, stream.Context = "main", 20260102030405, "abcdef12"
	commits := map[string]string{}
	for key := range stream.RPMComponents {
		out, err := exec.Command("git", "-C", filepath.Join(src, "rpms", key), "rev-parse", "HEAD").Output()
		if err != nil {
			t.Fatal(err)
		}
		commits[key] = strings.TrimSpace(string(out))
	}
	stream.SetXMD("mbs", map[string]any{"commit": "0123456789abcdef0123456789abcdef01234567"})
	plan, err := engine.PlanComponents(stream, engine.PlanOptions{
		Commits: commits,
		RepoURL: func(name, _ string) string { return "file://" + filepath.Join(src, "rpms", name) },
	})
	if err != nil {
		t.Fatal(err)
	}
	macros, err := engine.ModuleBuildMacros(engine.MacrosInput{
		Name: stream.Name, Stream: stream.Stream, Version: stream.Version, Context: stream.Context,
		Marking: "f40+", Index: 1, Today: time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	mod := &engine.Module{
		Build: &rida.ModuleBuild{
			ID: 1, Name: stream.Name, Stream: stream.Stream, Version: stream.Version, Context: stream.Context,
			BuildRequires: map[string]rida.BuildRequire{"platform": {Stream: "f40", Version: "1", Context: "00000000"}},
		},
		Stream: stream,
		Macros: macros,
	}

	scm, err := git.New(git.Config{CacheDir: t.TempDir(), AllowedSchemes: []string{"file"}})
	if err != nil {
		t.Fatal(err)
	}
	notified := make(chan int64, 10)
	work := t.TempDir()
	b, err := NewBackend(BackendConfig{
		WorkDir: work,
		Runner:  &ExecRunner{Home: t.TempDir(), Timeout: 5 * time.Minute},
		SCM:     scm,
		Notify:  func(id int64) { notified <- id },
		Mock:    mock,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	tb := &testBackend{Backend: b, notified: notified}

	tag, err := b.PrepareEnvironment(ctx, mod)
	if err != nil {
		t.Fatal(err)
	}
	if tag != "module-hello-world-main-20260102030405-abcdef12" {
		t.Errorf("tag = %q", tag)
	}
	results := filepath.Join(work, tag, "results")

	// Batch by batch: submit every component of the batch, wait for all,
	// tag, regenerate the repository.
	byBatch := map[int][]*rida.ComponentBuild{}
	var batches []int
	for _, c := range plan {
		if byBatch[c.Batch] == nil {
			batches = append(batches, c.Batch)
		}
		byBatch[c.Batch] = append(byBatch[c.Batch], c)
	}
	slices.Sort(batches)
	if len(batches) != 3 {
		t.Fatalf("batches %v, want module-build-macros and two of the example", batches)
	}
	for _, n := range batches {
		batchStart := time.Now()
		comps := byBatch[n]
		for _, c := range comps {
			id, err := b.SubmitComponent(ctx, mod, c)
			if err != nil {
				t.Fatalf("SubmitComponent(%s): %v", c.Package, err)
			}
			c.TaskID = id
		}
		var names []string
		for _, c := range comps {
			task := tb.wait(t, mod, c)
			if task.State != rida.ComponentComplete {
				log, _ := os.ReadFile(filepath.Join(results, "logs", c.Package+".log"))
				t.Fatalf("%s: %+v\n%s", c.Package, task, log)
			}
			c.State, c.NVR = task.State, task.NVR
			names = append(names, c.Package+" "+task.NVR)
		}
		if err := b.TagComponents(ctx, mod, comps); err != nil {
			t.Fatal(err)
		}
		if id, err := b.StartRepo(ctx, mod); err != nil || id != 0 {
			t.Fatalf("StartRepo = %d, %v", id, err)
		}
		t.Logf("batch %d built in %s: %s", n, time.Since(batchStart).Round(time.Millisecond), strings.Join(names, ", "))
	}
	finalizeStart := time.Now()
	if err := b.Finalize(ctx, mod, plan); err != nil {
		t.Fatal(err)
	}
	t.Logf("finalized in %s; whole module in %s", time.Since(finalizeStart).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))

	// Every package carries the module's dist tag.
	rpms, err := filepath.Glob(filepath.Join(results, "*.rpm"))
	if err != nil || len(rpms) == 0 {
		t.Fatalf("packages in results: %v, %v", rpms, err)
	}
	for _, f := range rpms {
		if rel := query(t, f, "%{RELEASE}"); !strings.HasSuffix(rel, macros.DistTag) {
			t.Errorf("%s: release %q lacks the dist tag %s", filepath.Base(f), rel, macros.DistTag)
		}
	}

	// modules.yaml: the final modulemd, with exactly the module's packages.
	arch, err := exec.Command("rpm", "--eval", "%{_arch}").Output()
	if err != nil {
		t.Fatal(err)
	}
	hostArch := strings.TrimSpace(string(arch))
	yaml, err := os.ReadFile(filepath.Join(results, ModulesFile))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := modulemd.Read(yaml, ModulesFile, modulemd.Options{Strict: true})
	if err != nil {
		t.Fatalf("modules.yaml: %v\n%s", err, yaml)
	}
	streams := idx.Streams()
	if len(streams) != 1 {
		t.Fatalf("modules.yaml holds %d streams", len(streams))
	}
	final := streams[0]
	evr := "-0:1.0-1" + macros.DistTag
	want := []string{
		"hello" + evr + "." + hostArch,
		"hello" + evr + ".src",
		"hello-data" + evr + ".noarch",
		"hello-data" + evr + ".src",
		"hello-doc" + evr + ".noarch",
		"hello-doc" + evr + ".src",
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, final.RPMArtifacts); diff != "" {
		t.Errorf("artifacts (-want +got):\n%s", diff)
	}
	if final.Arch != hostArch || final.NSVCA() != "hello-world:main:20260102030405:abcdef12:"+hostArch {
		t.Errorf("final modulemd is %s", final.NSVCA())
	}
	if _, ok := final.XMDMap()["mbs"]; ok {
		t.Error("xmd.mbs is still in the final modulemd")
	}
	if diff := cmp.Diff([]string{"MIT"}, final.ContentLicenses); diff != "" {
		t.Errorf("content licenses (-want +got):\n%s", diff)
	}
	repomd, err := os.ReadFile(filepath.Join(results, "repodata", "repomd.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(repomd), `<data type="modules">`) || !strings.Contains(string(repomd), `<data type="primary">`) {
		t.Errorf("repomd.xml lacks the modules or primary record:\n%s", repomd)
	}
	t.Logf("modules.yaml:\n%s", yaml)
}
