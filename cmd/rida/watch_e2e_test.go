package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
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

// TestCancel_WhileWatched: rida cancel stops a running build and prints
// the server's answer; rida watch, following it, ends with exit code 1 and
// the cancel's reason.
func TestCancel_WhileWatched(t *testing.T) {
	requireRealBuilds(t)
	repos := exampleRepos(t)
	// hello-data's %build waits while the flag file exists.
	flag := filepath.Join(t.TempDir(), "slow")
	if err := os.WriteFile(flag, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(flag)
	editSpec(t, repos, "hello-data", "%build\n", "%build\nwhile [ -e "+flag+" ]; do sleep 0.2; done\n")
	srv := startEngineServer(t, repos, t.TempDir())
	importPlatform(t, srv.client)
	b := submitExample(t, srv.client, repos)
	watched := make(chan error, 1)
	var watchOut string
	go func() {
		var err error
		watchOut, err = runWatch(t, srv.base, b.ID)
		watched <- err
	}()
	waitBuild(t, srv.client, b.ID, time.Minute, "hello-data building", func(b *rida.ModuleBuild) bool {
		c := byPackage(b)["hello-data"]
		return b.State.Terminal() || c != nil && c.State == rida.ComponentBuilding && c.TaskID != 0
	})

	var out syncBuffer
	m := &Main{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }, Now: time.Now}
	if err := m.Run(t.Context(), []string{"cancel", strconv.FormatInt(b.ID, 10), "--server", srv.base, "--owner", "bob"}); err != nil {
		t.Fatalf("rida cancel: %v\n%s", err, out.String())
	}
	if want := fmt.Sprintf("%d %s is failed: Canceled by bob.\n", b.ID, b.NSVC()); out.String() != want {
		t.Errorf("rida cancel printed %q, want %q", out.String(), want)
	}
	select {
	case err := <-watched:
		if code := exitCode(err, io.Discard); code != 1 || err == nil || !strings.Contains(err.Error(), "Canceled by bob.") {
			t.Errorf("rida watch ended %v (exit %d), want exit 1 with the cancel's reason\n%s", err, code, watchOut)
		}
	case <-time.After(time.Minute):
		t.Fatal("rida watch did not end after the cancel")
	}

	// A bad id is refused before any request.
	if err := m.Run(t.Context(), []string{"cancel", "x", "--server", srv.base}); err == nil || !strings.Contains(err.Error(), "not a positive integer") {
		t.Errorf("cancel x: %v", err)
	}
}
