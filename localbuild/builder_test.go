package localbuild

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rida-build/rida"
)

// defineValue returns the value of "--define name value" in args.
func defineValue(args []string, name string) string {
	for i, a := range args {
		if i > 0 && args[i-1] == "--define" {
			if v, ok := strings.CutPrefix(a, name+" "); ok {
				return v
			}
		}
	}
	return ""
}

// fakeRPMBuild answers like rpmbuild and rpm would, creating the package
// files the Builder then looks for. failRebuild makes --rebuild fail.
func fakeRPMBuild(t *testing.T, failRebuild bool) func(context.Context, Call) ([]byte, []byte, error) {
	return func(_ context.Context, c Call) ([]byte, []byte, error) {
		write := func(dir, name string) {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Error(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name), []byte("rpm"), 0o644); err != nil {
				t.Error(err)
			}
		}
		args := c.Command.Args
		switch {
		case c.Command.Name == "rpmbuild" && args[0] == "-bs":
			write(defineValue(args, "_srcrpmdir"), "hello-1.0-1.module+f40+1+abcdef12.src.rpm")
			return []byte("Wrote: hello.src.rpm\n"), nil, nil
		case c.Command.Name == "rpmbuild" && args[0] == "--rebuild":
			if failRebuild {
				return []byte("+ exit 1\n"), []byte("error: Bad exit status from /w/tmp/rpm-tmp.1 (%build)\n"), errors.New("rpmbuild: exit status 1")
			}
			dir := defineValue(args, "_rpmdir")
			write(filepath.Join(dir, "x86_64"), "hello-1.0-1.module+f40+1+abcdef12.x86_64.rpm")
			write(filepath.Join(dir, "noarch"), "hello-doc-1.0-1.module+f40+1+abcdef12.noarch.rpm")
			return []byte("Wrote: ...\n"), []byte("warning: something\n"), nil
		case c.Command.Name == "rpm":
			var out strings.Builder
			files := args[slices.Index(args, "--")+1:]
			for _, f := range files {
				base := filepath.Base(f)
				switch {
				case strings.HasSuffix(base, ".src.rpm"):
					out.WriteString("hello 0 1.0 1.module+f40+1+abcdef12 src\n")
				case strings.HasPrefix(base, "hello-doc"):
					out.WriteString("hello-doc 0 1.0 1.module+f40+1+abcdef12 noarch\n")
				default:
					out.WriteString("hello 0 1.0 1.module+f40+1+abcdef12 x86_64\n")
				}
			}
			return []byte(out.String()), nil, nil
		}
		t.Errorf("unexpected command %s", c.Command)
		return nil, nil, errors.New("unexpected")
	}
}

func newFakeBuilder(t *testing.T, failRebuild bool) (*Builder, *RecordingRunner, ComponentBuild) {
	t.Helper()
	fake := &RecordingRunner{Func: fakeRPMBuild(t, failRebuild)}
	src := t.TempDir()
	b := &Builder{Runner: fake, WorkDir: t.TempDir()}
	in := ComponentBuild{
		Name:       "hello",
		SourceDir:  src,
		Macros:     "%dist .module+f40+1+abcdef12\n",
		DistTag:    ".module+f40+1+abcdef12",
		ResultsDir: filepath.Join(t.TempDir(), "results"),
	}
	return b, fake, in
}

// TestBuildComponentCommands checks the exact command sequence BuildComponent
// runs, where the results go and what it returns.
func TestBuildComponentCommands(t *testing.T) {
	b, fake, in := newFakeBuilder(t, false)
	res, err := b.BuildComponent(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	calls := fake.Calls()
	if len(calls) != 3 {
		t.Fatalf("%d calls, want 3: %v", len(calls), calls)
	}
	w := calls[0].Dir
	if filepath.Dir(w) != b.WorkDir {
		t.Errorf("work dir %s is not under WorkDir %s", w, b.WorkDir)
	}
	var got []string
	for _, c := range calls {
		if c.Dir != w {
			t.Errorf("%s ran in %s, want %s", c.Command, c.Dir, w)
		}
		s := strings.ReplaceAll(c.Command.String(), w, "$W")
		got = append(got, strings.ReplaceAll(s, in.SourceDir, "$SRC"))
	}
	want := []string{
		"rpmbuild -bs --nodeps --load $W/macros.zz-modules --define '_topdir $W/srpm' --define '_sourcedir $SRC'" +
			" --define '_specdir $SRC' --define '_srcrpmdir $W/srpm/SRPMS' --define '_tmppath $W/srpm/tmp'" +
			" --define 'dist .module+f40+1+abcdef12' $SRC/hello.spec",
		"rpmbuild --rebuild --nodeps --load $W/macros.zz-modules --define '_topdir $W/rebuild' --define '_rpmdir $W/RPMS'" +
			" --define '_tmppath $W/rebuild/tmp' --define 'dist .module+f40+1+abcdef12' $W/srpm/SRPMS/hello-1.0-1.module+f40+1+abcdef12.src.rpm",
		"rpm -qp --nosignature --nodigest --queryformat '%{NAME} %{EPOCHNUM} %{VERSION} %{RELEASE} %|SOURCERPM?{%{ARCH}}:{src}|\\n' --" +
			" $W/srpm/SRPMS/hello-1.0-1.module+f40+1+abcdef12.src.rpm" +
			" $W/RPMS/x86_64/hello-1.0-1.module+f40+1+abcdef12.x86_64.rpm" +
			" $W/RPMS/noarch/hello-doc-1.0-1.module+f40+1+abcdef12.noarch.rpm",
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("call %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}

	var nevras []string
	for _, a := range append([]Artifact{res.SRPM}, res.RPMs...) {
		nevras = append(nevras, a.NEVRA.String())
		if filepath.Dir(a.Path) != in.ResultsDir {
			t.Errorf("%s is not in the results directory", a.Path)
		}
		if _, err := os.Stat(a.Path); err != nil {
			t.Error(err)
		}
	}
	wantNEVRAs := []string{
		"hello-0:1.0-1.module+f40+1+abcdef12.src",
		"hello-0:1.0-1.module+f40+1+abcdef12.x86_64",
		"hello-doc-0:1.0-1.module+f40+1+abcdef12.noarch",
	}
	if !slices.Equal(nevras, wantNEVRAs) {
		t.Errorf("NEVRAs = %q, want %q", nevras, wantNEVRAs)
	}
	if res.LogPath != filepath.Join(in.ResultsDir, "logs", "hello.log") {
		t.Errorf("LogPath = %s", res.LogPath)
	}
	logText, err := os.ReadFile(res.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"+ rpmbuild -bs", "+ rpmbuild --rebuild", "warning: something", "hello-doc-0:1.0-1.module+f40+1+abcdef12.noarch"} {
		if !strings.Contains(string(logText), s) {
			t.Errorf("log lacks %q:\n%s", s, logText)
		}
	}
	if entries, _ := os.ReadDir(b.WorkDir); len(entries) != 0 {
		t.Errorf("scratch trees left in WorkDir: %v", entries)
	}
}

func TestBuildComponentFailure(t *testing.T) {
	b, fake, in := newFakeBuilder(t, true)
	in.LogPath = filepath.Join(t.TempDir(), "elsewhere", "hello-build.log")
	_, err := b.BuildComponent(t.Context(), in)
	if rida.ErrorCodeOf(err) != rida.CodeUnprocessable {
		t.Fatalf("err = %v (code %s), want unprocessable", err, rida.ErrorCodeOf(err))
	}
	msg := rida.ErrorMessageOf(err)
	if !strings.HasPrefix(msg, "Failed to build artifact hello: ") || !strings.Contains(msg, in.LogPath) {
		t.Errorf("message %q does not name the component and the log %s", msg, in.LogPath)
	}
	if n := len(fake.Calls()); n != 2 {
		t.Errorf("%d calls after a failed rebuild, want 2", n)
	}
	logText, err := os.ReadFile(in.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(logText), "Bad exit status") {
		t.Errorf("log lacks rpmbuild's error:\n%s", logText)
	}
	if _, err := os.Stat(in.ResultsDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("results directory exists after a failed build: %v", err)
	}
}

func TestBuildComponentInvalid(t *testing.T) {
	for _, mod := range []func(*ComponentBuild){
		func(in *ComponentBuild) { in.Name = "../x" },
		func(in *ComponentBuild) { in.DistTag = "module+f40" },
		func(in *ComponentBuild) { in.DistTag = ".a\n%define evil 1" },
		func(in *ComponentBuild) { in.Spec = "../other.spec" },
		func(in *ComponentBuild) { in.SourceDir = "" },
		func(in *ComponentBuild) { in.ResultsDir = "/tmp/with space" },
	} {
		b, fake, in := newFakeBuilder(t, false)
		mod(&in)
		_, err := b.BuildComponent(t.Context(), in)
		if rida.ErrorCodeOf(err) != rida.CodeInvalid {
			t.Errorf("%+v: err = %v, want invalid", in, err)
		}
		if n := len(fake.Calls()); n != 0 {
			t.Errorf("%d commands run for invalid input", n)
		}
	}
}

func TestBuildComponentCanceled(t *testing.T) {
	fake := &RecordingRunner{Func: func(ctx context.Context, c Call) ([]byte, []byte, error) {
		return nil, nil, fmt.Errorf("rpmbuild: %w", ctx.Err())
	}}
	b, _, in := newFakeBuilder(t, false)
	b.Runner = fake
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := b.BuildComponent(ctx, in)
	if !errors.Is(err, context.Canceled) || rida.ErrorCodeOf(err) == rida.CodeUnprocessable {
		t.Errorf("err = %v, want a canceled error that does not blame the component", err)
	}
}

func TestCreateRepoCommands(t *testing.T) {
	fake := &RecordingRunner{}
	b := &Builder{Runner: fake, WorkDir: t.TempDir()}
	dir := t.TempDir()
	if err := b.CreateRepo(t.Context(), dir, nil); err != nil {
		t.Fatal(err)
	}
	// With repodata present: --update, and modules.yaml added.
	if err := os.MkdirAll(filepath.Join(dir, "repodata"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "repodata", "repomd.xml"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	fake.Func = func(_ context.Context, c Call) ([]byte, []byte, error) {
		if c.Command.Name == "modifyrepo_c" {
			// The file must still exist, named modules.yaml, while modifyrepo_c runs.
			f := c.Command.Args[len(c.Command.Args)-2]
			if data, err := os.ReadFile(f); err != nil || string(data) != "document: modulemd\n" || filepath.Base(f) != "modules.yaml" {
				t.Errorf("modules file %s: %q, %v", f, data, err)
			}
		}
		return nil, nil, nil
	}
	if err := b.CreateRepo(t.Context(), dir, []byte("document: modulemd\n")); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range fake.Calls() {
		got = append(got, strings.ReplaceAll(strings.ReplaceAll(c.Command.String(), dir, "$R"), b.WorkDir, "$W"))
	}
	want := []string{
		"createrepo_c --quiet -- $R",
		"createrepo_c --quiet --update -- $R",
	}
	if len(got) != 3 || !slices.Equal(got[:2], want) || !strings.HasPrefix(got[2], "modifyrepo_c --mdtype=modules -- $W/repo-") || !strings.HasSuffix(got[2], "/modules.yaml $R/repodata") {
		t.Errorf("commands:\n%s", strings.Join(got, "\n"))
	}

	// The final repository lists only the given packages, from scratch.
	fake.Func = func(_ context.Context, c Call) ([]byte, []byte, error) {
		if c.Command.Name == "createrepo_c" {
			i := slices.Index(c.Command.Args, "--pkglist")
			if i < 0 || slices.Contains(c.Command.Args, "--update") {
				t.Errorf("final createrepo_c: %v", c.Command.Args)
				return nil, nil, nil
			}
			if data, err := os.ReadFile(c.Command.Args[i+1]); err != nil || string(data) != "a-1-1.noarch.rpm\na-1-1.src.rpm\n" {
				t.Errorf("pkglist: %q, %v", data, err)
			}
		}
		return nil, nil, nil
	}
	if err := b.CreateFinalRepo(t.Context(), dir, []string{"a-1-1.noarch.rpm", "a-1-1.src.rpm"}, []byte("document: modulemd\n")); err != nil {
		t.Fatal(err)
	}

	fake.Func = func(context.Context, Call) ([]byte, []byte, error) {
		return nil, []byte("Critical: cannot open directory\n"), errors.New("exit status 1")
	}
	if err := b.CreateRepo(t.Context(), dir, nil); err == nil || !strings.Contains(err.Error(), "cannot open directory") {
		t.Errorf("err = %v, want createrepo_c's message", err)
	}
}
