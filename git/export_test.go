package git_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/git"
	"github.com/rida-build/rida/git/gittest"
)

// TestExport checks that Export writes the committed tree exactly: nested
// files, the executable bit, an in-tree symbolic link, a gitlink as an empty
// directory, no .git, and no .gitattributes processing.
func TestExport(t *testing.T) {
	t.Parallel()
	c := newClient(t, nil)
	r := gittest.NewRepo(t, filepath.Join(t.TempDir(), "hello"))
	if err := os.MkdirAll(filepath.Join(r.Dir, "patches"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.Dir, "run.sh"), []byte("#!/bin/sh\necho $Format:%H$\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("patches/fix.patch", filepath.Join(r.Dir, "fix.patch")); err != nil {
		t.Fatal(err)
	}
	// A gitlink (submodule entry) without a .gitmodules: what a clone
	// without --recurse-submodules leaves is an empty directory.
	// The empty directory is what git add --all expects of a submodule that
	// is not checked out.
	if err := os.MkdirAll(filepath.Join(r.Dir, "vendor", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	r.Git("update-index", "--add", "--cacheinfo", "160000,0123456789abcdef0123456789abcdef01234567,vendor/sub")
	first := r.Commit(map[string]string{
		"hello.spec":        gittest.SpecFile("hello"),
		"patches/fix.patch": "--- a\n+++ b\n",
		// git archive would expand $Format:%H$ and drop hello.spec.
		".gitattributes": "run.sh export-subst\nhello.spec export-ignore\n",
	})
	second := r.Commit(map[string]string{"hello.spec": "changed\n"})

	dir := filepath.Join(t.TempDir(), "src")
	if err := c.Export(t.Context(), r.URL, first, dir); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"hello.spec":        gittest.SpecFile("hello"),
		"patches/fix.patch": "--- a\n+++ b\n",
		"run.sh":            "#!/bin/sh\necho $Format:%H$\n",
		".gitattributes":    "run.sh export-subst\nhello.spec export-ignore\n",
	}
	for name, content := range want {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if string(got) != content {
			t.Errorf("%s = %q, want %q", name, got, content)
		}
	}
	if fi, err := os.Stat(filepath.Join(dir, "run.sh")); err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("run.sh lost its executable bit: %v, %v", fi, err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "hello.spec")); err != nil || fi.Mode().Perm()&0o111 != 0 {
		t.Errorf("hello.spec is executable: %v, %v", fi, err)
	}
	if target, err := os.Readlink(filepath.Join(dir, "fix.patch")); err != nil || target != "patches/fix.patch" {
		t.Errorf("fix.patch: link to %q, %v", target, err)
	}
	if entries, err := os.ReadDir(filepath.Join(dir, "vendor", "sub")); err != nil || len(entries) != 0 {
		t.Errorf("gitlink: %v, %v; want an empty directory", entries, err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".git")); !os.IsNotExist(err) {
		t.Errorf(".git in the export: %v", err)
	}

	// Another commit of the same repository, into a fresh directory.
	dir2 := filepath.Join(t.TempDir(), "src2")
	if err := c.Export(t.Context(), r.URL, second, dir2); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir2, "hello.spec")); string(got) != "changed\n" {
		t.Errorf("second commit: hello.spec = %q", got)
	}

	// A destination that is not empty is refused, and left alone.
	err := c.Export(t.Context(), r.URL, second, dir)
	if err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("export into a non-empty directory: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "hello.spec")); string(got) != gittest.SpecFile("hello") {
		t.Errorf("the refused export changed hello.spec to %q", got)
	}
}

func TestExportErrors(t *testing.T) {
	t.Parallel()
	c := newClient(t, nil)
	url, commit := gittest.MustRepo(t, map[string]string{"a.spec": "x"})
	ctx := t.Context()

	missing := strings.Repeat("ab", 20)
	err := c.Export(ctx, url, missing, filepath.Join(t.TempDir(), "d"))
	wantErr(t, err, rida.CodeUnprocessable, git.ErrCommitNotFound, missing)

	err = c.Export(ctx, url, "main", filepath.Join(t.TempDir(), "d"))
	wantErr(t, err, rida.CodeInvalid, nil, "full commit hash")

	err = c.Export(ctx, "ext::sh -c touch% /tmp/pwned", commit, filepath.Join(t.TempDir(), "d"))
	wantErr(t, err, rida.CodeForbidden, nil)

	if err := c.Export(ctx, url, commit, ""); rida.ErrorCodeOf(err) != rida.CodeInvalid {
		t.Errorf("empty destination: %v", err)
	}

	small := newClient(t, func(cfg *git.Config) { cfg.MaxFetchBytes = 1 << 20 })
	big, bigCommit := gittest.MustRepo(t, map[string]string{"a": strings.Repeat("x", 600<<10), "b": strings.Repeat("y", 600<<10)})
	err = small.Export(ctx, big, bigCommit, filepath.Join(t.TempDir(), "d"))
	wantErr(t, err, rida.CodeUnprocessable, git.ErrTooLarge, "limit")
}

// TestExportSymlinkOutside checks that links pointing out of the tree are
// refused, however they are spelled, while links inside are kept.
func TestExportSymlinkOutside(t *testing.T) {
	t.Parallel()
	c := newClient(t, nil)
	for _, tc := range []struct {
		link, target string
		ok           bool
	}{
		{"a", "b", true},
		{"d/a", "../b", true},
		{"d/e/a", "../../b", true},
		{"a", ".", true},
		{"a", "/etc/passwd", false},
		{"a", "../outside", false},
		{"d/a", "../../outside", false},
		{"a", "b/../../outside", false},
		{"a", "b/..", false},
	} {
		t.Run(tc.link+"->"+tc.target, func(t *testing.T) {
			r := gittest.NewRepo(t, filepath.Join(t.TempDir(), "repo"))
			full := filepath.Join(r.Dir, filepath.FromSlash(tc.link))
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(tc.target, full); err != nil {
				t.Fatal(err)
			}
			commit := r.Commit(map[string]string{"b": "b\n"})
			dir := filepath.Join(t.TempDir(), "out")
			err := c.Export(t.Context(), r.URL, commit, dir)
			if tc.ok != (err == nil) {
				t.Fatalf("Export = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "outside the repository") {
				t.Errorf("error %v does not say why", err)
			}
		})
	}
}
