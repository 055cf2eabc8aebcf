package main

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rida-build/rida"
)

// runWatch runs "rida watch ID" against base and returns its output and
// error.
func runWatch(t *testing.T, base string, id int64) (string, error) {
	t.Helper()
	var out, errOut syncBuffer
	m := &Main{Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }, Now: time.Now}
	err := m.Run(t.Context(), []string{"watch", strconv.FormatInt(id, 10), "--server", base})
	return out.String() + errOut.String(), err
}

// TestWatch_LocalBuild: rida watch follows a real local build from
// submission to ready, component by component, and exits 0.
func TestWatch_LocalBuild(t *testing.T) {
	requireRealBuilds(t)
	repos := exampleRepos(t)
	srv := startEngineServer(t, repos, t.TempDir())
	importPlatform(t, srv.client)
	b := submitExample(t, srv.client, repos)
	out, err := runWatch(t, srv.base, b.ID)
	if err != nil {
		t.Fatalf("rida watch: %v\n%s", err, out)
	}
	if !strings.Contains(out, b.NSVC()+" is ready\n") {
		t.Errorf("output does not end with the build ready:\n%s", out)
	}
	// Not a terminal: one line per change, every component seen complete.
	for _, p := range examplePackages {
		if !regexpLine(out, p.name, "COMPLETE") {
			t.Errorf("no line shows %s complete:\n%s", p.name, out)
		}
	}
	got, err := srv.client.FindModuleBuildByID(t.Context(), b.ID, rida.ModuleBuildInclude{})
	if err != nil || got.State != rida.ModuleReady {
		t.Fatalf("the build is %v (%v) after watch returned", got.State, err)
	}
}

// TestWatch_FailedBuild: a failed build ends watch with exit code 1 and
// the build's reason.
func TestWatch_FailedBuild(t *testing.T) {
	requireRealBuilds(t)
	repos := exampleRepos(t)
	editSpec(t, repos, "hello-doc", "%build\n", "%build\nexit 1\n")
	srv := startEngineServer(t, repos, t.TempDir())
	importPlatform(t, srv.client)
	b := submitExample(t, srv.client, repos)
	out, err := runWatch(t, srv.base, b.ID)
	if err == nil {
		t.Fatalf("rida watch of a failing build succeeded:\n%s", out)
	}
	if code := exitCode(err, io.Discard); code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if !strings.Contains(err.Error(), "hello-doc") || !strings.Contains(err.Error(), "failed") {
		t.Errorf("error %q does not say the build failed because of hello-doc", err)
	}
}

func regexpLine(out, pkg, state string) bool {
	for _, line := range bytes.Split([]byte(out), []byte("\n")) {
		if bytes.Contains(line, []byte(pkg)) && bytes.Contains(line, []byte(state)) {
			return true
		}
	}
	return false
}
