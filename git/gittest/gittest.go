// Package gittest builds real git repositories in a test's temporary
// directory, for tests of anything that reads module or component sources:
// a module repository with its modulemd, component repositories
// rpms/<name> with a tiny spec file, branches, tags and several commits.
//
// Repositories are served as file:// URLs, so a git.Client under test must
// allow the file scheme. Commits have fixed author, committer and dates, so
// their hashes are the same on every run. git runs with a private HOME and
// no system configuration, so the developer's settings cannot change the
// repositories.
package gittest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// Epoch is the committer time of a Repo's first commit; each further commit
// is one hour later.
var Epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// SkipIfNoGit skips the test when the git binary is not in PATH.
func SkipIfNoGit(tb testing.TB) {
	tb.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		tb.Skip("git is not installed (not in PATH); skipping tests that need real repositories")
	}
}

// Repo is a non-bare repository in a temporary directory, on branch main.
type Repo struct {
	// Dir is the work tree.
	Dir string
	// URL is file://<Dir>, what a client fetches from.
	URL string

	tb      testing.TB
	home    string // git's private HOME, outside the work tree
	commits int
}

// NewRepo creates an empty repository at dir (created if missing) on the
// branch main. It skips the test when git is missing.
func NewRepo(tb testing.TB, dir string) *Repo {
	tb.Helper()
	return NewRepoFormat(tb, dir, "sha1")
}

// NewRepoFormat is NewRepo with an object format, "sha1" or "sha256".
func NewRepoFormat(tb testing.TB, dir, format string) *Repo {
	tb.Helper()
	SkipIfNoGit(tb)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	r := &Repo{Dir: dir, URL: "file://" + dir, tb: tb, home: tb.TempDir()}
	r.Git("init", "--quiet", "--initial-branch=main", "--object-format="+format)
	return r
}

// Git runs git in the repository and returns its trimmed standard output.
func (r *Repo) Git(args ...string) string {
	r.tb.Helper()
	return r.gitEnv(nil, args...)
}

func (r *Repo) gitEnv(extra []string, args ...string) string {
	r.tb.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.Dir
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + r.home,
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=rida test", "GIT_AUTHOR_EMAIL=test@rida.invalid",
		"GIT_COMMITTER_NAME=rida test", "GIT_COMMITTER_EMAIL=test@rida.invalid",
		"LC_ALL=C",
	}, extra...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.tb.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// Commit writes files (path → content; directories are created), commits
// everything and returns the commit hash.
func (r *Repo) Commit(files map[string]string) string {
	r.tb.Helper()
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		full := filepath.Join(r.Dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			r.tb.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(files[p]), 0o644); err != nil {
			r.tb.Fatal(err)
		}
	}
	when := r.NextCommitTime()
	r.commits++
	date := fmt.Sprintf("%d +0000", when.Unix())
	r.Git("add", "--all")
	r.gitEnv([]string{"GIT_AUTHOR_DATE=" + date, "GIT_COMMITTER_DATE=" + date},
		"commit", "--quiet", "--allow-empty", "-m", fmt.Sprintf("commit %d", r.commits))
	return r.Git("rev-parse", "HEAD")
}

// NextCommitTime is the committer time the next Commit will have.
func (r *Repo) NextCommitTime() time.Time {
	return Epoch.Add(time.Duration(r.commits) * time.Hour)
}

// Branch creates (or moves) a branch to the current commit, without
// switching to it.
func (r *Repo) Branch(name string) { r.tb.Helper(); r.Git("branch", "--force", name) }

// Checkout switches to a branch, creating it at the current commit if it
// does not exist.
func (r *Repo) Checkout(name string) {
	r.tb.Helper()
	r.Git("checkout", "--quiet", "-B", name)
}

// Tag creates a lightweight tag on the current commit.
func (r *Repo) Tag(name string) { r.tb.Helper(); r.Git("tag", name) }

// AnnotatedTag creates an annotated tag on the current commit.
func (r *Repo) AnnotatedTag(name string) {
	r.tb.Helper()
	date := fmt.Sprintf("%d +0000", r.NextCommitTime().Unix())
	r.gitEnv([]string{"GIT_COMMITTER_DATE=" + date}, "tag", "-a", "-m", "tag "+name, name)
}

// MustRepo creates a repository in a new temporary directory with one commit
// holding files, and returns its file:// URL and the commit hash.
func MustRepo(tb testing.TB, files map[string]string) (url, commit string) {
	tb.Helper()
	r := NewRepo(tb, filepath.Join(tb.TempDir(), "repo"))
	return r.URL, r.Commit(files)
}

// SpecFile returns a minimal spec file for a package name, enough for rpm to
// parse and for a fake or real builder to build.
func SpecFile(name string) string {
	return fmt.Sprintf(`Name:           %[1]s
Version:        1.0
Release:        1%%{?dist}
Summary:        Test package %[1]s
License:        MIT
BuildArch:      noarch

%%description
Test package %[1]s built by rida's tests.

%%prep

%%build

%%install
mkdir -p %%{buildroot}%%{_datadir}/%[1]s
echo %[1]s > %%{buildroot}%%{_datadir}/%[1]s/%[1]s.txt

%%files
%%{_datadir}/%[1]s/%[1]s.txt

%%changelog
* Fri Jan 02 2026 rida test <test@rida.invalid> - 1.0-1
- Test package
`, name)
}

// MustComponentRepo creates the component repository <root>/rpms/<name>
// holding <name>.spec (SpecFile) on main, and returns its URL and commit.
// The rpms base URL for rida.ComponentRepoURL is "file://<root>/rpms".
func MustComponentRepo(tb testing.TB, root, name string) (url, commit string) {
	tb.Helper()
	r := NewRepo(tb, filepath.Join(root, "rpms", name))
	return r.URL, r.Commit(map[string]string{name + ".spec": SpecFile(name)})
}

// MustModuleRepo creates the module repository <root>/modules/<name> holding
// <name>.yaml (MBS's layout) on main, and returns its URL and commit; an
// scmurl for it is url + "?#" + commit.
func MustModuleRepo(tb testing.TB, root, name, modulemd string) (url, commit string) {
	tb.Helper()
	r := NewRepo(tb, filepath.Join(root, "modules", name))
	return r.URL, r.Commit(map[string]string{name + ".yaml": modulemd})
}
