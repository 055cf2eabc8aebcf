package localbuild

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rida-build/rida"
)

// The tests in this file run the real rpmbuild, rpm, createrepo_c and
// modifyrepo_c (Debian: apt-get install rpm createrepo-c gcc). They skip
// when a tool is missing, under -short, and when RIDA_LOCALBUILD_REAL=0.

const testDist = ".module+f40+1+abcdef12"

// testMacros is a module macros file as MBS writes it (mbs.md §3.8), plus a
// macro of the module's author that the specs use.
const testMacros = `# General macros set by MBS

%dist .module+f40+1+abcdef12
%modularitylabel hello:main:40:abcdef12
%_module_build 1
%_module_name hello
%_module_stream main

# Macros set by module author:

%rida_greeting greetings-from-the-module
`

// realBuilder returns a Builder running the real tools, or skips.
func realBuilder(t *testing.T, tools ...string) *Builder {
	t.Helper()
	if testing.Short() {
		t.Skip("real rpmbuild test skipped in -short mode")
	}
	if os.Getenv("RIDA_LOCALBUILD_REAL") == "0" {
		t.Skip("real rpmbuild test skipped: RIDA_LOCALBUILD_REAL=0")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("real build test skipped: %s not installed (Debian: apt-get install rpm createrepo-c gcc)", tool)
		}
	}
	return &Builder{
		Runner:  &ExecRunner{Home: t.TempDir(), Timeout: 5 * time.Minute},
		WorkDir: t.TempDir(),
	}
}

// writeFiles writes name → content files into a new directory.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// query runs rpm -qp --qf on one package.
func query(t *testing.T, file, format string) string {
	t.Helper()
	out, err := exec.Command("rpm", "-qp", "--nosignature", "--nodigest", "--qf", format, file).Output()
	if err != nil {
		t.Fatalf("rpm -qp %s: %v", file, err)
	}
	return string(out)
}

const noarchSpec = `Name: hello-data
Version: 1.0
Release: 1%{?dist}
Summary: %{rida_greeting}
License: MIT
BuildArch: noarch
Source0: greeting.txt
# Not installable on Debian: only --nodeps lets the build go on.
BuildRequires: fedora-only-build-dependency

%description
Built by rida's tests with %{rida_greeting}.

%prep

%build

%install
mkdir -p %{buildroot}%{_datadir}/%{rida_greeting}
install -m 644 %{SOURCE0} %{buildroot}%{_datadir}/%{rida_greeting}/greeting.txt

%files
%{_datadir}/%{rida_greeting}
`

const cSpec = `Name: hello-c
Version: 2.1
Release: 3%{?dist}
Summary: A tiny C program
License: MIT
Source0: hello.c
BuildRequires: gcc

%description
Prints %{rida_greeting}.

%prep
cp %{SOURCE0} .

%build
gcc -O2 -DGREETING='"%{rida_greeting}"' -o hello-c hello.c

%install
mkdir -p %{buildroot}%{_bindir}
install -m 755 hello-c %{buildroot}%{_bindir}/hello-c

%files
%{_bindir}/hello-c
`

const cSource = `#include <stdio.h>
int main(void) { puts(GREETING); return 0; }
`

func TestRealBuildAndRepo(t *testing.T) {
	b := realBuilder(t, "rpmbuild", "rpm", "createrepo_c", "modifyrepo_c", "gcc")
	results := filepath.Join(t.TempDir(), "results")
	ctx := t.Context()

	data, err := b.BuildComponent(ctx, ComponentBuild{
		Name:       "hello-data",
		SourceDir:  writeFiles(t, map[string]string{"hello-data.spec": noarchSpec, "greeting.txt": "hi\n"}),
		Macros:     testMacros,
		DistTag:    testDist,
		ResultsDir: results,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := data.SRPM.NEVRA.String(), "hello-data-0:1.0-1"+testDist+".src"; got != want {
		t.Errorf("SRPM = %s, want %s", got, want)
	}
	if len(data.RPMs) != 1 || data.RPMs[0].NEVRA.String() != "hello-data-0:1.0-1"+testDist+".noarch" {
		t.Fatalf("RPMs = %+v", data.RPMs)
	}
	rpm := data.RPMs[0].Path
	if got := query(t, rpm, "%{RELEASE}"); got != "1"+testDist {
		t.Errorf("release = %q, want the dist tag", got)
	}
	if got := query(t, rpm, "%{SUMMARY}"); got != "greetings-from-the-module" {
		t.Errorf("summary = %q: the module's macro did not expand", got)
	}
	if got := query(t, rpm, "[%{FILENAMES}\n]"); !strings.Contains(got, "/usr/share/greetings-from-the-module/greeting.txt") {
		t.Errorf("files = %q", got)
	}

	c, err := b.BuildComponent(ctx, ComponentBuild{
		Name:       "hello-c",
		SourceDir:  writeFiles(t, map[string]string{"hello-c.spec": cSpec, "hello.c": cSource}),
		Macros:     testMacros,
		DistTag:    testDist,
		ResultsDir: results,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range c.RPMs {
		t.Logf("built %s", a.NEVRA) // Debian's rpm makes no debuginfo subpackages
	}
	var main *Artifact
	for i, a := range c.RPMs {
		if a.NEVRA.Name == "hello-c" {
			main = &c.RPMs[i]
		}
	}
	if main == nil || main.NEVRA.Arch == "noarch" || main.NEVRA.Release != "3"+testDist {
		t.Fatalf("RPMs = %+v, want an arch-specific hello-c", c.RPMs)
	}
	if got := query(t, main.Path, "%{DESCRIPTION}"); got != "Prints greetings-from-the-module." {
		t.Errorf("description = %q", got)
	}
	if got := query(t, main.Path, "[%{FILENAMES}\n]"); !strings.Contains(got, "/usr/bin/hello-c") {
		t.Errorf("files = %q", got)
	}
	log, err := os.ReadFile(filepath.Join(results, "logs", "hello-c.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "gcc -O2") {
		t.Errorf("the build log lacks the compiler's command line:\n%s", log)
	}

	// The repository, then modules.yaml; a second run takes the --update path
	// and must keep the modules record.
	modules := []byte("---\ndocument: modulemd\nversion: 2\ndata:\n  name: hello\n  stream: main\n  version: 40\n  context: abcdef12\n  summary: s\n  description: d\n  license:\n    module: [MIT]\n...\n")
	for range 2 {
		if err := b.CreateRepo(ctx, results, modules); err != nil {
			t.Fatal(err)
		}
		repomd, err := os.ReadFile(filepath.Join(results, "repodata", "repomd.xml"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(repomd), `<data type="modules">`) || !strings.Contains(string(repomd), `<data type="primary">`) {
			t.Errorf("repomd.xml lacks the primary or modules record:\n%s", repomd)
		}
		if n := strings.Count(string(repomd), `<data type="modules">`); n != 1 {
			t.Errorf("%d modules records", n)
		}
	}
	primary, err := filepath.Glob(filepath.Join(results, "repodata", "*-primary.xml*"))
	if err != nil || len(primary) != 1 {
		t.Errorf("primary metadata: %v, %v", primary, err)
	}
	if entries, _ := os.ReadDir(b.WorkDir); len(entries) != 0 {
		t.Errorf("scratch trees left in WorkDir: %v", entries)
	}
}

func TestRealBuildFailure(t *testing.T) {
	b := realBuilder(t, "rpmbuild", "rpm")
	spec := strings.Replace(noarchSpec, "%build\n", "%build\necho about to fail\nexit 1\n", 1)
	results := filepath.Join(t.TempDir(), "results")
	_, err := b.BuildComponent(t.Context(), ComponentBuild{
		Name:       "hello-data",
		SourceDir:  writeFiles(t, map[string]string{"hello-data.spec": spec, "greeting.txt": "hi\n"}),
		Macros:     testMacros,
		DistTag:    testDist,
		ResultsDir: results,
	})
	logPath := filepath.Join(results, "logs", "hello-data.log")
	if rida.ErrorCodeOf(err) != rida.CodeUnprocessable {
		t.Fatalf("err = %v, want unprocessable", err)
	}
	msg := rida.ErrorMessageOf(err)
	if !strings.HasPrefix(msg, "Failed to build artifact hello-data: ") || !strings.Contains(msg, logPath) {
		t.Errorf("message %q does not name the component and %s", msg, logPath)
	}
	log, err := os.ReadFile(logPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), "about to fail") || !strings.Contains(string(log), "Bad exit status") {
		t.Errorf("log lacks the failure:\n%s", log)
	}
	if rpms, _ := filepath.Glob(filepath.Join(results, "*.rpm")); len(rpms) != 0 {
		t.Errorf("packages in the results of a failed build: %v", rpms)
	}
}

// TestExecRunnerEnvironment checks the minimal environment: a private HOME,
// LC_ALL=C, and nothing of the caller's environment.
func TestExecRunnerEnvironment(t *testing.T) {
	t.Setenv("RIDA_LEAK_CHECK", "leaked")
	home := t.TempDir()
	r := &ExecRunner{Home: home, Env: []string{"EXTRA=1"}}
	out, _, err := r.Run(t.Context(), t.TempDir(), "env")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for line := range strings.Lines(string(out)) {
		k, v, _ := strings.Cut(strings.TrimSpace(line), "=")
		env[k] = v
	}
	if env["HOME"] != home || env["LC_ALL"] != "C" || env["EXTRA"] != "1" {
		t.Errorf("env = %v", env)
	}
	if _, ok := env["RIDA_LEAK_CHECK"]; ok {
		t.Errorf("the caller's environment leaked: %v", env)
	}
	if _, _, err := (&ExecRunner{}).Run(t.Context(), "", "true"); err == nil {
		t.Error("ExecRunner without Home ran")
	}
	if _, _, err := r.Run(t.Context(), "", "no-such-program-rida"); err == nil {
		t.Error("a missing program ran")
	}
}

// TestExecRunnerKillsProcessGroup checks that a timeout kills the
// program's children too and Run returns promptly with the output so far.
func TestExecRunnerKillsProcessGroup(t *testing.T) {
	r := &ExecRunner{Home: t.TempDir(), Timeout: 300 * time.Millisecond}
	start := time.Now()
	// The child sleep holds stdout open: if only sh were killed, Run would
	// wait for it.
	out, _, err := r.Run(t.Context(), "", "sh", "-c", "echo started; sleep 30 & sleep 30")
	if err == nil || !strings.Contains(err.Error(), context.DeadlineExceeded.Error()) {
		t.Errorf("err = %v, want a deadline error", err)
	}
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("Run returned after %s: the process group was not killed", d)
	}
	if string(out) != "started\n" {
		t.Errorf("stdout = %q", out)
	}
}

func TestExecRunnerOutputCap(t *testing.T) {
	r := &ExecRunner{Home: t.TempDir(), MaxOutput: 1000}
	out, _, err := r.Run(t.Context(), "", "sh", "-c", "i=0; while [ $i -lt 500 ]; do echo line-$i; i=$((i+1)); done")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(out), "[localbuild: ") || !strings.HasSuffix(string(out), "line-499\n") || len(out) > 1100 {
		t.Errorf("capped output = %d bytes: %.80q … %q", len(out), out, out[max(len(out)-20, 0):])
	}
}
