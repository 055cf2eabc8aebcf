package main

// End-to-end tests of real module builds (issue 5): the example module of
// examples/ built with the real rpmbuild, createrepo_c and modifyrepo_c by
// "rida build-local" (and a failing variant), by "rida serve" with its
// engine (and canceled, then resumed, through the API), and by a "rida
// serve" subprocess killed with SIGKILL in the middle of a build and
// restarted.
//
// They skip under -short, when RIDA_LOCALBUILD_REAL=0, and when a tool is
// missing (Debian: apt-get install rpm createrepo-c gcc git), as
// localbuild/real_test.go does.

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rida-build/rida"
	"github.com/rida-build/rida/httpapi"
	"github.com/rida-build/rida/modulemd"
)

// Paths relative to this package's directory, where go test runs.
var (
	makeReposScript = filepath.Join("..", "..", "examples", "make-repos.sh")
	exampleModulemd = filepath.Join("..", "..", "examples", "hello-world", "hello-world.yaml")
	platformModule  = filepath.Join("..", "..", "docs", "examples", "platform.yaml")
)

// examplePackages are the example's components with their versions and the
// arch of their binary package ("" is the host's), module-build-macros
// included.
var examplePackages = []struct {
	name, version, arch string
	batch               int
}{
	{"module-build-macros", "0.1", "noarch", 1},
	{"hello-data", "1.0", "noarch", 2},
	{"hello-doc", "1.0", "noarch", 2},
	{"hello", "1.0", "", 3},
}

// requireRealBuilds skips the test unless the real build tools may run.
func requireRealBuilds(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("real rpmbuild test skipped in -short mode")
	}
	if os.Getenv("RIDA_LOCALBUILD_REAL") == "0" {
		t.Skip("real rpmbuild test skipped: RIDA_LOCALBUILD_REAL=0")
	}
	for _, tool := range []string{"rpmbuild", "rpm", "createrepo_c", "modifyrepo_c", "git", "bash", "gcc"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("real build test skipped: %s not installed (Debian: apt-get install rpm createrepo-c gcc git)", tool)
		}
	}
}

// gitEnv is the environment of the git commands run here: no configuration
// of the machine or the user reaches them.
func gitEnv(t *testing.T) []string {
	return append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir())
}

// exampleRepos makes the example's git repositories with make-repos.sh in a
// new directory and returns it: DEST/rpms/<component> and DEST/hello-world.
func exampleRepos(t *testing.T) string {
	t.Helper()
	dest := t.TempDir()
	cmd := exec.Command("bash", makeReposScript, dest)
	cmd.Env = gitEnv(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make-repos.sh: %v\n%s", err, out)
	}
	return dest
}

// editSpec replaces old by new in a component's spec in the repositories
// made by exampleRepos and commits the change on main.
func editSpec(t *testing.T, repos, component, old, new string) {
	t.Helper()
	dir := filepath.Join(repos, "rpms", component)
	path := filepath.Join(dir, component+".spec")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(old)) {
		t.Fatalf("%s has no %q", path, old)
	}
	if err := os.WriteFile(path, bytes.Replace(data, []byte(old), []byte(new), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("git", "-C", dir, "-c", "user.name=rida test", "-c", "user.email=test@example.org",
		"-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null", "commit", "-q", "-am", "test: "+new)
	cmd.Env = gitEnv(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git commit in %s: %v\n%s", dir, err, out)
	}
}

// rpmQuery runs rpm -qp --qf format on one package file.
func rpmQuery(t *testing.T, file, format string) string {
	t.Helper()
	out, err := exec.Command("rpm", "-qp", "--nosignature", "--nodigest", "--qf", format, file).Output()
	if err != nil {
		t.Fatalf("rpm -qp %s: %v", file, err)
	}
	return string(out)
}

// hostArch is the arch rpmbuild builds for here, as the local backend asks.
func hostArch(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("rpm", "--eval", "%{_arch}").Output()
	if err != nil {
		t.Fatalf("rpm --eval %%{_arch}: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// wantRelease is the release of every package of the module build m: "1"
// and the module's dist tag, MBS's .module+<marking><index>+<hash> with the
// hash computed here from the NSVC (mbs.md §3.9), marking f40+ from the
// platform stream. index 0 accepts any index.
func wantRelease(m *rida.ModuleBuild, index int64) *regexp.Regexp {
	sum := sha1.Sum([]byte(m.Name + "." + m.Stream + "." + strconv.FormatUint(m.Version, 10) + "." + m.Context))
	idx := `[1-9][0-9]*`
	if index > 0 {
		idx = strconv.FormatInt(index, 10)
	}
	return regexp.MustCompile(`^1\.module\+f40\+` + idx + `\+` + hex.EncodeToString(sum[:])[:8] + `$`)
}

// checkResults checks the results directory of the example module build m:
// exactly the SRPMs and RPMs of the four packages, all carrying the module's
// dist tag and (binary ones) its modularity label; the logs; modules.yaml,
// valid, of the host arch, with exactly the module's packages as rpm
// artifacts (no module-build-macros); and a repository whose repomd.xml has
// a modules record. It returns the release of the packages.
func checkResults(t *testing.T, results string, m *rida.ModuleBuild, index int64) string {
	t.Helper()
	arch := hostArch(t)
	relRE := wantRelease(m, index)
	files, err := filepath.Glob(filepath.Join(results, "*.rpm"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no packages in %s (%v)", results, err)
	}
	release := rpmQuery(t, files[0], "%{RELEASE}")
	if !relRE.MatchString(release) {
		t.Fatalf("%s: release %q does not match %s (the module's dist tag)", files[0], release, relRE)
	}

	var want, got, wantArtifacts []string
	for _, p := range examplePackages {
		a := p.arch
		if a == "" {
			a = arch
		}
		want = append(want, fmt.Sprintf("%s-%s-%s.%s.rpm", p.name, p.version, release, a),
			fmt.Sprintf("%s-%s-%s.src.rpm", p.name, p.version, release))
		if p.name != "module-build-macros" {
			wantArtifacts = append(wantArtifacts, fmt.Sprintf("%s-0:%s-%s.%s", p.name, p.version, release, a),
				fmt.Sprintf("%s-0:%s-%s.src", p.name, p.version, release))
		}
		if _, err := os.Stat(filepath.Join(results, "logs", p.name+".log")); err != nil {
			t.Errorf("build log of %s: %v", p.name, err)
		}
	}
	for _, f := range files {
		got = append(got, filepath.Base(f))
		q := rpmQuery(t, f, "%{NAME} %{RELEASE} %{MODULARITYLABEL}")
		fields := strings.Fields(q)
		if len(fields) != 3 || !relRE.MatchString(fields[1]) {
			t.Errorf("%s: name, release, modularity label %q; want the release to match %s", filepath.Base(f), q, relRE)
			continue
		}
		if !strings.HasSuffix(f, ".src.rpm") && fields[0] != "module-build-macros" && fields[2] != m.NSVC() {
			t.Errorf("%s: modularity label %q, want %q", filepath.Base(f), fields[2], m.NSVC())
		}
	}
	slices.Sort(want)
	slices.Sort(wantArtifacts)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("packages in %s (-want +got):\n%s", results, diff)
	}

	path := filepath.Join(results, "modules.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := modulemd.Read(data, path, modulemd.Options{Strict: true})
	if err != nil {
		t.Fatalf("modules.yaml does not read strictly: %v\n%s", err, data)
	}
	streams := idx.Streams()
	if len(streams) != 1 {
		t.Fatalf("modules.yaml has %d streams, want 1:\n%s", len(streams), data)
	}
	s := streams[0]
	if err := s.Validate(); err != nil {
		t.Errorf("modules.yaml does not validate: %v", err)
	}
	if s.Name != m.Name || s.Stream != m.Stream || s.Version != m.Version || s.Context != m.Context || s.Arch != arch {
		t.Errorf("modules.yaml is %s:%s:%d:%s arch %q, want %s arch %q", s.Name, s.Stream, s.Version, s.Context, s.Arch, m.NSVC(), arch)
	}
	if _, ok := s.XMDMap()["mbs"]; ok {
		t.Errorf("modules.yaml keeps xmd.mbs, which MBS's finalization removes")
	}
	if diff := cmp.Diff(wantArtifacts, slices.Sorted(slices.Values(s.RPMArtifacts))); diff != "" {
		t.Errorf("modules.yaml rpm artifacts (-want +got):\n%s", diff)
	}

	repomd, err := os.ReadFile(filepath.Join(results, "repodata", "repomd.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(repomd, []byte(`<data type="modules"`)) {
		t.Errorf("repodata/repomd.xml has no modules record:\n%s", repomd)
	}
	// The repository offers the module's artifacts, not module-build-macros
	// (which only the buildroot needed).
	indexed := repoPackages(t, results, repomd)
	var wantIndexed []string
	for _, w := range want {
		if !strings.HasPrefix(w, "module-build-macros-") {
			wantIndexed = append(wantIndexed, w)
		}
	}
	slices.Sort(indexed)
	if diff := cmp.Diff(wantIndexed, indexed); diff != "" {
		t.Errorf("packages in the final repository (-want +got):\n%s", diff)
	}
	return release
}

// repoPackages returns the package files a repository's primary metadata
// lists.
func repoPackages(t *testing.T, dir string, repomd []byte) []string {
	t.Helper()
	m := regexp.MustCompile(`<location href="(repodata/[^"]*primary\.xml\.gz)"`).FindSubmatch(repomd)
	if m == nil {
		t.Fatalf("repomd.xml names no primary metadata:\n%s", repomd)
	}
	f, err := os.Open(filepath.Join(dir, string(m[1])))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	primary, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range regexp.MustCompile(`<location href="([^"]+)"`).FindAllSubmatch(primary, -1) {
		out = append(out, string(l[1]))
	}
	return out
}

// readyLine is build-local's last line for a ready build.
var readyLine = regexp.MustCompile(`^([^:\s]+):([^:\s]+):(\d+):([0-9a-f]+) is ready: (\S+)$`)

// runBuildLocal runs "rida build-local" on the example modulemd in-process.
func runBuildLocal(t *testing.T, repos, workdir string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }, Now: time.Now}
	start := time.Now()
	err := m.Run(t.Context(), []string{"build-local", exampleModulemd, "--stream", "main",
		"--rpms-base", "file://" + repos + "/rpms", "--base-module", platformModule, "--workdir", workdir})
	t.Logf("rida build-local took %v", time.Since(start).Round(time.Millisecond))
	return out.String(), err
}

// TestBuildLocal_Example builds the example module with "rida build-local"
// and checks its results: the packages with the module's dist tag,
// modules.yaml and the repository.
func TestBuildLocal_Example(t *testing.T) {
	requireRealBuilds(t)
	repos := exampleRepos(t)
	workdir := t.TempDir()
	out, err := runBuildLocal(t, repos, workdir)
	if err != nil {
		t.Fatalf("rida build-local: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	last := lines[len(lines)-1]
	sub := readyLine.FindStringSubmatch(last)
	if sub == nil {
		t.Fatalf("the last line of the output is %q, want \"<nsvc> is ready: <dir>\"\n%s", last, out)
	}
	version, _ := strconv.ParseUint(sub[3], 10, 64)
	m := &rida.ModuleBuild{Name: sub[1], Stream: sub[2], Version: version, Context: sub[4]}
	if m.Name != "hello-world" || m.Stream != "main" || !strings.HasPrefix(sub[3], "40") {
		t.Errorf("built %s, want hello-world:main:40…", m.NSVC())
	}
	results := sub[5]
	wantDir := filepath.Join(workdir, fmt.Sprintf("module-%s-%s-%d-%s", m.Name, m.Stream, m.Version, m.Context), "results")
	if results != wantDir {
		t.Errorf("results are in %s, want %s", results, wantDir)
	}
	// The build's index is its id in build-local's own database, where
	// the platform base module was imported first.
	checkResults(t, results, m, 2)
}

// TestBuildLocal_ComponentFails builds the example with a component whose
// %build fails: build-local fails, naming the component and its log, which
// holds rpmbuild's output.
func TestBuildLocal_ComponentFails(t *testing.T) {
	requireRealBuilds(t)
	repos := exampleRepos(t)
	editSpec(t, repos, "hello-doc", "%build\n", "%build\nexit 1\n")
	workdir := t.TempDir()
	out, err := runBuildLocal(t, repos, workdir)
	if err == nil {
		t.Fatalf("rida build-local of a failing component succeeded:\n%s", out)
	}
	msg := err.Error()
	if !strings.Contains(msg, "hello-doc") {
		t.Errorf("error %q does not name the failed component hello-doc", msg)
	}
	logPath := regexp.MustCompile(`\S+/logs/hello-doc\.log`).FindString(msg)
	if logPath == "" {
		t.Fatalf("error %q does not give the path of hello-doc's log", msg)
	}
	if !strings.HasPrefix(logPath, workdir+string(filepath.Separator)) {
		t.Errorf("log %s is not under the work directory %s", logPath, workdir)
	}
	log, rerr := os.ReadFile(logPath)
	if rerr != nil {
		t.Fatalf("the log named by the error: %v", rerr)
	}
	if !bytes.Contains(log, []byte("exit 1")) || !bytes.Contains(log, []byte("%build")) {
		t.Errorf("%s is not the log of the failed %%build:\n%s", logPath, log)
	}
	if code := exitCode(err, io.Discard); code == 0 {
		t.Errorf("exit code %d, want non-zero", code)
	}
	if strings.Contains(out, " is ready: ") {
		t.Errorf("output reports a ready build:\n%s", out)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writes and reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// engineServer is "rida serve" with its engine and the local backend,
// started in-process.
type engineServer struct {
	base    string
	client  *httpapi.Client
	workdir string
	log     *syncBuffer
}

// startEngineServer runs "rida serve" with the engine over a SQLite file in
// dir, building under dir/builds, allowed to read repos; it stops at the
// end of the test.
func startEngineServer(t *testing.T, repos, dir string) *engineServer {
	t.Helper()
	workdir := filepath.Join(dir, "builds")
	base, log := runServe(t, map[string]string{"RIDA_SCM_CACHE_DIR": filepath.Join(dir, "git-cache")},
		"serve", "--listen", "127.0.0.1:0", "--db", "sqlite:"+filepath.Join(dir, "rida.db"),
		"--workdir", workdir, "--allow-scm", "file://"+repos, "--rpms-base", "file://"+repos+"/rpms", "--log-level", "warn")
	return &engineServer{base: base, client: httpapi.NewClient(base, nil), workdir: workdir, log: log}
}

// runServe runs "rida <args>" (a serve command) in-process with env until
// the end of the test, and returns its base URL and its log.
func runServe(t *testing.T, env map[string]string, args ...string) (string, *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.WithoutCancel(t.Context()))
	addr := make(chan string, 1)
	log := &syncBuffer{}
	m := &Main{Stdout: io.Discard, Stderr: log, Getenv: func(k string) string { return env[k] }, Now: time.Now,
		Ready: func(a string) { addr <- a }}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, args) }()
	var a string
	select {
	case a = <-addr:
	case err := <-done:
		cancel()
		t.Fatalf("rida serve exited before listening: %v\n%s", err, log.String())
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("rida serve did not listen within 30s")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("rida serve: %v", err)
			}
		case <-time.After(time.Minute):
			t.Errorf("rida serve did not stop within a minute")
		}
		if t.Failed() {
			t.Logf("rida serve log:\n%s", log.String())
		}
	})
	return "http://" + a, log
}

// importPlatform imports docs/examples/platform.yaml through the API.
func importPlatform(t *testing.T, client *httpapi.Client) {
	t.Helper()
	data, err := os.ReadFile(platformModule)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := client.ImportModule(t.Context(), rida.ImportRequest{Modulemd: string(data)}); err != nil {
		t.Fatalf("import %s: %v", platformModule, err)
	}
}

// submitExample submits the example module from repos on branch main and
// returns its one build.
func submitExample(t *testing.T, client *httpapi.Client, repos string) *rida.ModuleBuild {
	t.Helper()
	sub, err := client.SubmitModuleBuild(t.Context(), rida.SubmitRequest{
		SCMURL: "file://" + repos + "/hello-world?#main", Branch: "main", Owner: "tester"})
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	if len(sub.Builds) != 1 {
		t.Fatalf("submission made %d builds, want 1", len(sub.Builds))
	}
	return sub.Builds[0]
}

// waitBuild polls the module build (with its components) until done says
// so, and fails the test after timeout.
func waitBuild(t *testing.T, client *httpapi.Client, id int64, timeout time.Duration, what string, done func(*rida.ModuleBuild) bool) *rida.ModuleBuild {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last *rida.ModuleBuild
	var lastErr error
	for time.Now().Before(deadline) {
		b, err := client.FindModuleBuildByID(t.Context(), id, rida.ModuleBuildInclude{Components: true})
		if err == nil {
			last = b
			if done(b) {
				return b
			}
		}
		lastErr = err
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("module build %d: no %s within %v; last seen %s (err %v)", id, what, timeout, describeBuild(last), lastErr)
	return nil
}

// describeBuild is a one-line summary of a build and its components.
func describeBuild(b *rida.ModuleBuild) string {
	if b == nil {
		return "nothing"
	}
	var s strings.Builder
	fmt.Fprintf(&s, "%s %s %q:", b.NSVC(), b.State, b.StateReason)
	for _, c := range b.Components {
		fmt.Fprintf(&s, " %s=%s/task %d", c.Package, componentState(c.State), c.TaskID)
	}
	return s.String()
}

func componentState(s rida.ComponentState) string {
	if s == rida.ComponentWaiting {
		return "waiting"
	}
	return s.String()
}

// byPackage indexes a build's components.
func byPackage(b *rida.ModuleBuild) map[string]*rida.ComponentBuild {
	out := map[string]*rida.ComponentBuild{}
	for _, c := range b.Components {
		out[c.Package] = c
	}
	return out
}

// checkComponents checks a ready build's components as the API reports
// them: the four packages, each COMPLETE with its NVR (the module's
// release) and a task id of its own.
func checkComponents(t *testing.T, b *rida.ModuleBuild, release string) {
	t.Helper()
	comps := byPackage(b)
	if len(comps) != len(examplePackages) {
		t.Errorf("%d components, want %d: %s", len(comps), len(examplePackages), describeBuild(b))
	}
	tasks := map[int64]string{}
	for _, p := range examplePackages {
		c := comps[p.name]
		if c == nil {
			t.Errorf("no component %s", p.name)
			continue
		}
		if c.State != rida.ComponentComplete {
			t.Errorf("%s is %s (%s), want COMPLETE", p.name, componentState(c.State), c.StateReason)
		}
		if want := p.name + "-" + p.version + "-" + release; c.NVR != want {
			t.Errorf("%s: NVR %q, want %q", p.name, c.NVR, want)
		}
		if c.Batch != 0 && c.Batch != p.batch {
			t.Errorf("%s is in batch %d, want %d", p.name, c.Batch, p.batch)
		}
		if c.TaskID <= 0 || tasks[c.TaskID] != "" {
			t.Errorf("%s: task id %d (also %q's)", p.name, c.TaskID, tasks[c.TaskID])
		}
		tasks[c.TaskID] = p.name
	}
}

// resultsDir is where the local backend puts a module build's results.
func resultsDir(workdir string, b *rida.ModuleBuild) string {
	return filepath.Join(workdir, fmt.Sprintf("module-%s-%s-%d-%s", b.Name, b.Stream, b.Version, b.Context), "results")
}

// TestServe_BuildsExample submits the example module to "rida serve" (with
// its engine and the local backend) over HTTP and follows it to ready.
func TestServe_BuildsExample(t *testing.T) {
	requireRealBuilds(t)
	repos := exampleRepos(t)
	srv := startEngineServer(t, repos, t.TempDir())
	importPlatform(t, srv.client)
	start := time.Now()
	b := submitExample(t, srv.client, repos)
	b = waitBuild(t, srv.client, b.ID, 2*time.Minute, "end", func(b *rida.ModuleBuild) bool { return b.State.Terminal() })
	t.Logf("module build %s ended %s after %v", b.NSVC(), b.State, time.Since(start).Round(time.Millisecond))
	if b.State != rida.ModuleReady {
		t.Fatalf("module build ended %s: %s", b.State, describeBuild(b))
	}
	release := checkResults(t, resultsDir(srv.workdir, b), b, b.ID)
	checkComponents(t, b, release)

	// The component endpoint reports batches; the seed API the tasks, in
	// Koji's task states (a complete component's task is closed).
	comps, _, err := srv.client.FindComponentBuilds(t.Context(), rida.ComponentBuildFilter{ModuleBuildID: &b.ID})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range comps {
		for _, p := range examplePackages {
			if p.name == c.Package && c.Batch != p.batch {
				t.Errorf("%s is in batch %d, want %d", c.Package, c.Batch, p.batch)
			}
		}
	}
	resp, err := http.Get(fmt.Sprintf("%s/rida/module-builds/%d", srv.base, b.ID))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var seed struct {
		State string            `json:"state"`
		Tasks map[string]string `json:"tasks"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&seed); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, c := range b.Components {
		want["rpms/"+c.Package] = fmt.Sprintf("%d/closed", c.TaskID)
	}
	if seed.State != "ready" || !cmp.Equal(want, seed.Tasks) {
		t.Errorf("seed API: state %q, tasks %v; want ready, %v", seed.State, seed.Tasks, want)
	}
}

// serveProcess is "rida serve" running as a subprocess: this test binary
// with runMainEnv set (see TestMain).
type serveProcess struct {
	cmd *exec.Cmd
	log *addrWatcher
	// exited is closed when the process has ended, with err its Wait's.
	exited chan struct{}
	err    error
	base   string
}

// addrWatcher keeps a subprocess's JSON log and finds in it the address
// "rida serving" reports.
type addrWatcher struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	seen int
	addr chan string
}

func (w *addrWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		rest := w.buf.Bytes()[w.seen:]
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			return len(p), nil
		}
		w.seen += i + 1
		var rec struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
		}
		if json.Unmarshal(rest[:i], &rec) == nil && rec.Msg == "rida serving" && rec.Addr != "" {
			select {
			case w.addr <- rec.Addr:
			default:
			}
		}
	}
}

func (w *addrWatcher) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// startServeProcess starts "rida serve args..." as a subprocess and waits
// until it listens. It is stopped (SIGTERM, then SIGKILL) at the end of the
// test if still running.
func startServeProcess(t *testing.T, name string, env []string, args ...string) *serveProcess {
	t.Helper()
	w := &addrWatcher{addr: make(chan string, 1)}
	cmd := exec.Command(os.Args[0], append([]string{"serve"}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RIDA_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(append(cmd.Env, runMainEnv+"=1"), env...)
	cmd.Stdout = io.Discard
	cmd.Stderr = w
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &serveProcess{cmd: cmd, log: w, exited: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.exited:
			case <-time.After(30 * time.Second):
				_ = p.cmd.Process.Kill()
				<-p.exited
			}
		}
		if t.Failed() {
			t.Logf("%s log:\n%s", name, w.String())
		}
	})
	select {
	case a := <-w.addr:
		p.base = "http://" + a
	case <-p.exited:
		t.Fatalf("%s exited before listening: %v\n%s", name, p.err, w.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not listen within 30s:\n%s", name, w.String())
	}
	return p
}

// buildProcesses returns the pids of the processes started for builds under
// workdir: the local backend runs them with HOME=<workdir>/.home.
func buildProcesses(workdir string) []int {
	marker := []byte("HOME=" + filepath.Join(workdir, ".home") + "\x00")
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err == nil && bytes.Contains(append([]byte{0}, env...), append([]byte{0}, marker...)) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// taskRecordID reads the task id of a package's task record, as the local
// backend writes it under <module dir>/tasks.
func taskRecordID(t *testing.T, results, pkg string) int64 {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(filepath.Dir(results), "tasks", pkg+".json"))
	if err != nil {
		t.Errorf("task record of %s: %v", pkg, err)
		return 0
	}
	var rec struct {
		TaskID int64 `json:"task_id"`
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Errorf("task record of %s: %v", pkg, err)
	}
	return rec.TaskID
}

// TestServe_KillDashNine kills a "rida serve" subprocess with SIGKILL while a
// component builds, starts another on the same database and work
// directory, and checks the build becomes ready without building again
// what was complete before the kill.
func TestServe_KillDashNine(t *testing.T) {
	requireRealBuilds(t)
	if _, err := os.Stat("/proc/self/environ"); err != nil {
		t.Skipf("needs /proc: %v", err)
	}
	repos := exampleRepos(t)
	// hello-data's %build waits while the flag file exists, so the kill
	// lands while it builds, however slow the machine.
	flag := filepath.Join(t.TempDir(), "slow")
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	editSpec(t, repos, "hello-data", "%build\n", "%build\nwhile [ -e "+flag+" ]; do sleep 0.2; done\n")
	dir := t.TempDir()
	config := filepath.Join(dir, "rida.yaml")
	// A short lease: the second process takes the build over 2s after
	// the first stopped renewing it, instead of a minute.
	if err := os.WriteFile(config, []byte("engine:\n  lease_ttl: 2s\n  reconcile_interval: 1s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	workdir := filepath.Join(dir, "builds")
	env := []string{"RIDA_SCM_CACHE_DIR=" + filepath.Join(dir, "git-cache")}
	args := []string{"--config", config, "--listen", "127.0.0.1:0", "--db", "sqlite:" + filepath.Join(dir, "rida.db"),
		"--workdir", workdir, "--allow-scm", "file://" + repos, "--rpms-base", "file://" + repos + "/rpms",
		"--log-format", "json", "--log-level", "info"}
	t.Cleanup(func() {
		// Builds the killed process started outlive it (their own
		// process groups); let them end before the directories go.
		_ = os.Remove(flag)
		deadline := time.Now().Add(20 * time.Second)
		for len(buildProcesses(workdir)) > 0 && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		for _, pid := range buildProcesses(workdir) {
			t.Logf("killing build process %d left by the killed server", pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})

	start := time.Now()
	first := startServeProcess(t, "first rida serve", env, args...)
	client := httpapi.NewClient(first.base, nil)
	importPlatform(t, client)
	b := submitExample(t, client, repos)

	// Kill while hello-data builds, once hello-doc (same batch) is
	// complete: then module-build-macros and hello-doc must be kept.
	tooLate := false
	before := waitBuild(t, client, b.ID, time.Minute, "hello-data building with hello-doc complete", func(b *rida.ModuleBuild) bool {
		c := byPackage(b)
		if b.State.Terminal() || c["hello-data"] != nil && c["hello-data"].State != rida.ComponentWaiting && c["hello-data"].State != rida.ComponentBuilding {
			tooLate = true
			return true
		}
		return c["hello-data"] != nil && c["hello-data"].State == rida.ComponentBuilding && c["hello-data"].TaskID != 0 &&
			c["hello-doc"] != nil && c["hello-doc"].State == rida.ComponentComplete
	})
	if tooLate {
		t.Fatalf("hello-data ended before the kill: %s", describeBuild(before))
	}
	if err := first.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-first.exited
	err := first.err
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the first rida serve ended with %v, not killed by SIGKILL", err)
	}
	t.Logf("killed the first rida serve %v after the start: %s", time.Since(start).Round(time.Millisecond), describeBuild(before))
	if pids := buildProcesses(workdir); len(pids) > 0 {
		t.Logf("build processes left running by the killed server: %v", pids)
	}
	// From now on hello-data builds at once: in the killed server's
	// orphaned rpmbuild and in the rebuild.
	if err := os.Remove(flag); err != nil {
		t.Fatal(err)
	}
	complete := map[string]*rida.ComponentBuild{}
	building := 0
	for _, c := range before.Components {
		switch c.State {
		case rida.ComponentComplete:
			complete[c.Package] = c
		case rida.ComponentBuilding:
			building++
		}
	}
	if complete["module-build-macros"] == nil || complete["hello-doc"] == nil {
		t.Fatalf("before the kill: %s; want module-build-macros and hello-doc complete", describeBuild(before))
	}

	second := startServeProcess(t, "second rida serve", env, args...)
	client = httpapi.NewClient(second.base, nil)
	after := waitBuild(t, client, b.ID, 2*time.Minute, "end", func(b *rida.ModuleBuild) bool { return b.State.Terminal() })
	t.Logf("module build %s ended %s %v after the start", after.NSVC(), after.State, time.Since(start).Round(time.Millisecond))
	if after.State != rida.ModuleReady {
		t.Fatalf("after the restart the module build ended %s: %s", after.State, describeBuild(after))
	}
	results := resultsDir(workdir, after)
	release := checkResults(t, results, after, after.ID)
	checkComponents(t, after, release)

	final := byPackage(after)
	for pkg, c := range complete {
		if got := final[pkg]; got == nil || got.TaskID != c.TaskID || got.NVR != c.NVR {
			t.Errorf("%s, complete before the kill as task %d, was built again: now %+v", pkg, c.TaskID, got)
		}
	}
	if hd := final["hello-data"]; hd == nil || hd.TaskID == byPackage(before)["hello-data"].TaskID {
		t.Errorf("hello-data, building when its server was killed, has the same task %d: it was not built again", byPackage(before)["hello-data"].TaskID)
	}
	// The backend's records agree with the API, and its task counter
	// shows one submission per component plus one per build lost in the
	// kill: nothing else was built twice.
	for pkg, c := range final {
		if id := taskRecordID(t, results, pkg); id != c.TaskID {
			t.Errorf("%s: task record of task %d, the API says %d", pkg, id, c.TaskID)
		}
	}
	counter, err := os.ReadFile(filepath.Join(workdir, "task-id"))
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := strconv.Atoi(strings.TrimSpace(string(counter))); n != len(examplePackages)+building {
		t.Errorf("%d component builds were submitted, want %d (%d components, %d lost in the kill)",
			n, len(examplePackages)+building, len(examplePackages), building)
	}

	// The second process stops cleanly on SIGTERM.
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-second.exited:
		if second.err != nil {
			t.Errorf("the second rida serve ended with %v after SIGTERM, want exit 0", second.err)
		}
	case <-time.After(time.Minute):
		t.Errorf("the second rida serve did not stop within a minute of SIGTERM")
	}
}

// TestServe_CancelAndResume cancels the example's build through the API
// while rpmbuild runs a slow %build, checks the build's processes are
// stopped and the build ends failed and canceled, then resubmits it: the
// build resumes, keeping the components that were complete.
func TestServe_CancelAndResume(t *testing.T) {
	requireRealBuilds(t)
	if _, err := os.Stat("/proc/self/environ"); err != nil {
		t.Skipf("needs /proc: %v", err)
	}
	repos := exampleRepos(t)
	// hello-data's %build waits while the flag file exists.
	flag := filepath.Join(t.TempDir(), "slow")
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	editSpec(t, repos, "hello-data", "%build\n", "%build\nwhile [ -e "+flag+" ]; do sleep 0.2; done\n")
	srv := startEngineServer(t, repos, t.TempDir())
	importPlatform(t, srv.client)
	b := submitExample(t, srv.client, repos)
	before := waitBuild(t, srv.client, b.ID, time.Minute, "hello-data building with hello-doc complete", func(b *rida.ModuleBuild) bool {
		c := byPackage(b)
		return b.State.Terminal() || c["hello-data"] != nil && c["hello-data"].State == rida.ComponentBuilding && c["hello-data"].TaskID != 0 &&
			c["hello-doc"] != nil && c["hello-doc"].State == rida.ComponentComplete
	})
	if before.State.Terminal() {
		t.Fatalf("the build ended before the cancel: %s", describeBuild(before))
	}
	if len(buildProcesses(srv.workdir)) == 0 {
		t.Fatalf("hello-data is building but no build process runs under %s", srv.workdir)
	}
	if _, err := srv.client.CancelModuleBuild(t.Context(), b.ID, "tester"); err != nil {
		t.Fatalf("cancel: %v", err)
	}
	canceled := waitBuild(t, srv.client, b.ID, time.Minute, "canceled components", func(b *rida.ModuleBuild) bool {
		for _, c := range b.Components {
			if c.State == rida.ComponentBuilding {
				return false
			}
		}
		return b.State.Terminal()
	})
	comps := byPackage(canceled)
	if canceled.State != rida.ModuleFailed || !strings.Contains(canceled.StateReason, "Canceled by tester") {
		t.Errorf("after the cancel: %s; want failed, canceled by tester", describeBuild(canceled))
	}
	if c := comps["hello-data"]; c == nil || c.State != rida.ComponentCanceled {
		t.Errorf("hello-data after the cancel: %s; want CANCELED", describeBuild(canceled))
	}
	// The Runner kills the build's process group: the %build loop, which
	// would otherwise run until the flag file goes, ends.
	deadline := time.Now().Add(10 * time.Second)
	for len(buildProcesses(srv.workdir)) > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if pids := buildProcesses(srv.workdir); len(pids) > 0 {
		t.Errorf("build processes still run 10s after the cancel: %v", pids)
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	results := resultsDir(srv.workdir, canceled)
	if _, err := os.Stat(filepath.Join(results, "logs", "hello-data.log")); err != nil {
		t.Errorf("log of the canceled hello-data: %v", err)
	}

	// Resubmission resumes the failed build: same id, complete components
	// kept, the others built.
	if err := os.Remove(flag); err != nil {
		t.Fatal(err)
	}
	again := submitExample(t, srv.client, repos)
	if again.ID != b.ID {
		t.Fatalf("resubmission made build %d, want %d resumed", again.ID, b.ID)
	}
	after := waitBuild(t, srv.client, b.ID, 2*time.Minute, "end", func(b *rida.ModuleBuild) bool { return b.State.Terminal() })
	if after.State != rida.ModuleReady {
		t.Fatalf("the resumed build ended %s: %s", after.State, describeBuild(after))
	}
	release := checkResults(t, results, after, after.ID)
	checkComponents(t, after, release)
	final := byPackage(after)
	if t.Failed() {
		return
	}
	for _, pkg := range []string{"module-build-macros", "hello-doc"} {
		if final[pkg].TaskID != comps[pkg].TaskID {
			t.Errorf("%s, complete before the cancel as task %d, was built again as task %d", pkg, comps[pkg].TaskID, final[pkg].TaskID)
		}
	}
	if final["hello-data"].TaskID == comps["hello-data"].TaskID {
		t.Errorf("hello-data, canceled, kept its task %d: it was not built again", comps["hello-data"].TaskID)
	}
}
