package main

// End-to-end tests of "rida serve --backend koji" against kojitest.FakeHub
// (issue 6): the example module submitted over HTTP is reserved in Koji at
// acceptance, built batch by batch by Koji tasks (the fake hub's builder),
// and imported with the reserved build ids; a failing component fails the
// build and gives the reservations back.

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/engine"
	"github.com/rida-build/rida/httpapi"
	"github.com/rida-build/rida/internal/xmlrpc"
	"github.com/rida-build/rida/koji"
	"github.com/rida-build/rida/koji/kojitest"
)

// fakeKojiBuilder completes Koji build tasks as a builder would: NVRs in the
// module's dist tag, read from the uploaded module-build-macros SRPM's name.
// Packages in fail fail.
type fakeKojiBuilder struct {
	mu   sync.Mutex
	dist string
	fail map[string]bool
}

var srpmDist = regexp.MustCompile(`module-build-macros-0\.1-1(\.[^/]+)\.src\.rpm$`)

func (b *fakeKojiBuilder) build(task kojitest.Task) (kojitest.BuildResult, error) {
	src, _ := task.Request[0].(string)
	opts, _ := task.Request[2].(xmlrpc.Struct)
	v, _ := opts.Get("mbs_artifact_name")
	pkg, _ := v.(string)
	b.mu.Lock()
	defer b.mu.Unlock()
	if m := srpmDist.FindStringSubmatch(src); m != nil {
		b.dist = m[1]
	}
	if b.fail[pkg] {
		return kojitest.BuildResult{}, fmt.Errorf("error: Bad exit status from /var/tmp/rpm-tmp (%%build) of %s", pkg)
	}
	lic := map[string]any{"license": "MIT"}
	src0 := map[string]any{"license": "MIT", "exclusivearch": []any{}, "excludearch": []any{}}
	version, arch := "1.0", "noarch"
	if pkg == engine.MacrosPackage {
		version = "0.1"
	}
	if pkg == "hello" {
		arch = "x86_64"
	}
	return kojitest.BuildResult{NVR: pkg + "-" + version + "-1" + b.dist, RPMs: []kojitest.RPM{
		{Arch: "src", Headers: src0, PayloadHash: "00000000000000000000000000000001"},
		{Arch: arch, Headers: lic, PayloadHash: "00000000000000000000000000000002"},
	}}, nil
}

// setupPlatformTag creates docs/examples/platform.yaml's koji_tag, which
// the module's build tag inherits.
func setupPlatformTag(t *testing.T, hub *kojitest.FakeHub) {
	t.Helper()
	c, err := koji.NewClient(koji.ClientConfig{HTTPClient: hub.Client(), Profile: koji.Profile{
		Name: "setup", Server: hub.URL(), AuthType: koji.AuthPassword, User: "kojiadmin", Password: "kojiadmin"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Call(t.Context(), "createTag", "module-f40-build"); err != nil {
		t.Fatal(err)
	}
}

// startKojiServer runs "rida serve --backend koji" against hub.
func startKojiServer(t *testing.T, hub *kojitest.FakeHub, repos, dir string) *httpapi.Client {
	t.Helper()
	conf := filepath.Join(dir, "koji.conf")
	if err := os.WriteFile(conf, []byte("[fake]\nserver = "+hub.URL()+"\nauthtype = password\nuser = kojiadmin\npassword = kojiadmin\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "rida.yaml")
	if err := os.WriteFile(cfg, []byte("engine:\n  reconcile_interval: 100ms\n  lease_ttl: 30s\nkoji:\n  owner: kojiadmin\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base, _ := runServe(t, map[string]string{"RIDA_SCM_CACHE_DIR": filepath.Join(dir, "git-cache")},
		"serve", "--config", cfg, "--listen", "127.0.0.1:0", "--db", "sqlite:"+filepath.Join(dir, "rida.db"),
		"--workdir", filepath.Join(dir, "builds"), "--allow-scm", "file://"+repos, "--rpms-base", "file://"+repos+"/rpms",
		"--backend", "koji", "--koji-config", conf, "--koji-profile", "fake", "--log-level", "warn")
	return httpapi.NewClient(base, nil)
}

// kojiWorld is a fake hub with the platform's tag, and the example's
// repositories.
func kojiWorld(t *testing.T, fail ...string) (*kojitest.FakeHub, *fakeKojiBuilder, string) {
	t.Helper()
	requireRealBuilds(t) // module-build-macros' SRPM is made with the real rpmbuild
	b := &fakeKojiBuilder{fail: map[string]bool{}}
	for _, p := range fail {
		b.fail[p] = true
	}
	hub := kojitest.NewHub(t, kojitest.Options{AutoRun: true, Builder: b.build})
	setupPlatformTag(t, hub)
	return hub, b, exampleRepos(t)
}

func TestServeKoji_BuildsAndImports(t *testing.T) {
	hub, _, repos := kojiWorld(t)
	client := startKojiServer(t, hub, repos, t.TempDir())
	importPlatform(t, client)
	m := submitExample(t, client, repos)
	got := waitBuild(t, client, m.ID, 2*time.Minute, "end", func(b *rida.ModuleBuild) bool { return b.State.Terminal() })
	if got.State != rida.ModuleReady {
		t.Fatalf("build ended %s: %q", got.State, got.StateReason)
	}
	for _, c := range got.Components {
		if c.State != rida.ComponentComplete || c.TaskID == 0 || !strings.Contains(c.NVR, ".module+f40+") {
			t.Errorf("component %s: %v task %d nvr %q", c.Package, c.State, c.TaskID, c.NVR)
		}
	}
	// The reservation was taken at acceptance and consumed by the imports:
	// the module and its -devel twin, each under its reserved build id.
	full, err := client.FindModuleBuildByID(t.Context(), m.ID, rida.ModuleBuildInclude{})
	if err != nil {
		t.Fatal(err)
	}
	if got.KojiTag == "" || full.KojiTag != "module-hello-world-main-"+fmt.Sprint(full.Version)+"-"+full.Context {
		t.Errorf("koji_tag %q", full.KojiTag)
	}
	imports := hub.Imports()
	if len(imports) != 2 {
		t.Fatalf("%d imports, want the module and its -devel twin", len(imports))
	}
	names := map[string]bool{}
	for _, imp := range imports {
		b, ok := hub.Build(int(imp.BuildID))
		if !ok || b.State != 1 || b.CG != "module-build-service" {
			t.Errorf("imported build %d: %+v", imp.BuildID, b)
		}
		names[b.Name] = true
		for _, f := range []string{"modulemd.txt", "modulemd.src.txt", "modulemd.x86_64.txt", "build.log"} {
			if _, ok := imp.Files[f]; !ok {
				t.Errorf("import of %s has no %s: %v", b.Name, f, keys(imp.Files))
			}
		}
		// build.log is the build's history: every component's end.
		for _, p := range examplePackages {
			if !strings.Contains(string(imp.Files["build.log"]), "rpms/"+p.name+" (batch ") {
				t.Errorf("build.log of %s does not mention %s:\n%s", b.Name, p.name, imp.Files["build.log"])
			}
		}
		// modulemd.src.txt is the module's file as committed.
		want, err := os.ReadFile(filepath.Join(repos, "hello-world", "hello-world.yaml"))
		if err == nil && string(imp.Files["modulemd.src.txt"]) != string(want) {
			t.Errorf("modulemd.src.txt of %s is not the repository's hello-world.yaml", b.Name)
		}
	}
	if !names["hello-world"] || !names["hello-world-devel"] {
		t.Errorf("imported %v", names)
	}
	if n := hub.CountCalls("CGInitBuild"); n != 2 {
		t.Errorf("%d reservations, want 2", n)
	}
}

func TestServeKoji_FailureRefunds(t *testing.T) {
	hub, _, repos := kojiWorld(t, "hello-doc")
	client := startKojiServer(t, hub, repos, t.TempDir())
	importPlatform(t, client)
	m := submitExample(t, client, repos)
	got := waitBuild(t, client, m.ID, 2*time.Minute, "end", func(b *rida.ModuleBuild) bool { return b.State.Terminal() })
	if got.State != rida.ModuleFailed || !strings.Contains(got.StateReason, "Component(s) hello-doc failed to build.") {
		t.Fatalf("build ended %s: %q", got.State, got.StateReason)
	}
	// Both reservations go back as FAILED (3) once nothing runs.
	deadline := time.Now().Add(time.Minute)
	for {
		states := map[string]int{}
		for _, b := range hub.Builds() {
			if b.CG == "module-build-service" {
				states[b.Name] = b.State
			}
		}
		if states["hello-world"] == 3 && states["hello-world-devel"] == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("reservations after the failure: %v", states)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(hub.Imports()) != 0 {
		t.Errorf("a failed build was imported")
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
