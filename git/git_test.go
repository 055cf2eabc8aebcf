package git_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/git"
	"github.com/rida-build/rida/git/gittest"
)

// newClient returns a Client with a fresh cache that may read file:// URLs.
func newClient(tb testing.TB, mod func(*git.Config)) *git.Client {
	tb.Helper()
	gittest.SkipIfNoGit(tb)
	cfg := git.Config{
		CacheDir:       tb.TempDir(),
		AllowedSchemes: []string{"file", "git", "https"},
		Timeout:        30 * time.Second,
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := git.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// wantErr checks err's code, that its message names every want, and that
// errors.Is matches sentinel (when not nil).
func wantErr(tb testing.TB, err error, code rida.ErrorCode, sentinel error, want ...string) {
	tb.Helper()
	if err == nil {
		tb.Fatalf("no error; want %s", code)
	}
	if got := rida.ErrorCodeOf(err); got != code {
		tb.Fatalf("code %q, want %q: %v", got, code, err)
	}
	msg := rida.ErrorMessageOf(err)
	for _, w := range want {
		if !strings.Contains(msg, w) {
			tb.Errorf("message %q does not name %q", msg, w)
		}
	}
	for _, env := range []string{"GIT_ALLOW_PROTOCOL", "HOME=", "GIT_CONFIG"} {
		if strings.Contains(err.Error(), env) {
			tb.Errorf("error %q shows git's environment", err)
		}
	}
	if sentinel != nil && !errors.Is(err, sentinel) {
		tb.Errorf("errors.Is(%v, %v) = false", err, sentinel)
	}
}

func TestResolveRef(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	r := gittest.NewRepo(t, filepath.Join(t.TempDir(), "m"))
	first := r.Commit(map[string]string{"m.yaml": "one"})
	r.Tag("v1")
	r.AnnotatedTag("v1-annotated")
	second := r.Commit(map[string]string{"m.yaml": "two"})
	r.Branch("f39")
	// A tag and a branch of one name: the branch wins, as in MBS, which
	// looks at refs/heads only.
	r.Git("tag", "both", first)
	r.Branch("both")
	c := newClient(t, nil)

	for _, tt := range []struct{ ref, want string }{
		{"main", second},
		{"f39", second},
		{"v1", first},
		{"v1-annotated", first}, // peeled to the commit
		{"both", second},
		{first, first},                  // a full hash, not a tip
		{strings.ToUpper(first), first}, // lower-cased
		{second, second},                // a full hash, a tip
	} {
		got, err := c.ResolveRef(ctx, r.URL, tt.ref)
		if err != nil {
			t.Fatalf("ResolveRef(%s): %v", tt.ref, err)
		}
		if got != tt.want {
			t.Errorf("ResolveRef(%s) = %s, want %s", tt.ref, got, tt.want)
		}
	}
}

func TestReadFileAndCommitTime(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	r := gittest.NewRepo(t, filepath.Join(t.TempDir(), "m"))
	t1 := r.NextCommitTime()
	first := r.Commit(map[string]string{"m.yaml": "one", "sub/dir/x.yaml": "deep"})
	t2 := r.NextCommitTime()
	second := r.Commit(map[string]string{"m.yaml": "two"})
	c := newClient(t, nil)

	for _, tt := range []struct{ commit, path, want string }{
		{first, "m.yaml", "one"},
		{second, "m.yaml", "two"},
		{first, "sub/dir/x.yaml", "deep"},
		{first, "m.yaml", "one"}, // again, from the cache
	} {
		got, err := c.ReadFile(ctx, r.URL, tt.commit, tt.path)
		if err != nil {
			t.Fatalf("ReadFile(%s, %s): %v", tt.commit, tt.path, err)
		}
		if string(got) != tt.want {
			t.Errorf("ReadFile(%s, %s) = %q, want %q", tt.commit, tt.path, got, tt.want)
		}
	}
	for commit, want := range map[string]time.Time{first: t1, second: t2} {
		got, err := c.CommitTime(ctx, r.URL, commit)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("CommitTime(%s) = %v, want %v UTC", commit, got, want)
		}
	}
}

func TestComponentAndModuleRepos(t *testing.T) {
	ctx := t.Context()
	root := t.TempDir()
	url, commit := gittest.MustComponentRepo(t, root, "tiny")
	if want := rida.ComponentRepoURL("file://"+root+"/rpms/", "tiny", ""); url != want {
		t.Errorf("component URL %s, want %s", url, want)
	}
	modURL, modCommit := gittest.MustModuleRepo(t, root, "testmodule", "document: modulemd\n")
	c := newClient(t, nil)
	spec, err := c.ReadFile(ctx, url, commit, "tiny.spec")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(spec), "Name:           tiny\n") {
		t.Errorf("spec:\n%s", spec)
	}
	u, err := rida.ParseSCMURL(modURL + "?#" + modCommit)
	if err != nil {
		t.Fatal(err)
	}
	mmd, err := c.ReadFile(ctx, u.Repo, u.Commit, u.ModulemdPath(u.RepoName()))
	if err != nil {
		t.Fatal(err)
	}
	if string(mmd) != "document: modulemd\n" {
		t.Errorf("modulemd %q", mmd)
	}
}

func TestNotFound(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url, commit := gittest.MustRepo(t, map[string]string{"m.yaml": "x", "dir/a": "a"})
	c := newClient(t, nil)
	missingCommit := strings.Repeat("ab", 20)
	missingRepo := "file://" + filepath.Join(t.TempDir(), "nope")

	_, err := c.ResolveRef(ctx, url, "nosuchbranch")
	wantErr(t, err, rida.CodeUnprocessable, git.ErrRefNotFound, url, "nosuchbranch", "Failed to get the latest commit for")

	_, err = c.ResolveRef(ctx, url, "abc1234")
	wantErr(t, err, rida.CodeUnprocessable, git.ErrRefNotFound, url, "abc1234", "abbreviated")

	_, err = c.ResolveRef(ctx, url, missingCommit)
	wantErr(t, err, rida.CodeUnprocessable, git.ErrCommitNotFound, url, missingCommit,
		"was not found within the repository", "Perhaps you forgot to push. The original message was: ")

	_, err = c.ReadFile(ctx, url, missingCommit, "m.yaml")
	wantErr(t, err, rida.CodeUnprocessable, git.ErrCommitNotFound, url, missingCommit)

	_, err = c.CommitTime(ctx, url, missingCommit)
	wantErr(t, err, rida.CodeUnprocessable, git.ErrCommitNotFound, url, missingCommit)

	_, err = c.ReadFile(ctx, url, commit, "nofile.yaml")
	wantErr(t, err, rida.CodeUnprocessable, git.ErrFileNotFound, url, commit, "nofile.yaml")

	_, err = c.ReadFile(ctx, url, commit, "dir") // a tree, not a file
	wantErr(t, err, rida.CodeUnprocessable, git.ErrFileNotFound, url, commit, "dir")

	_, err = c.ResolveRef(ctx, missingRepo, "main")
	wantErr(t, err, rida.CodeUnprocessable, git.ErrRepoNotFound, missingRepo, "does not appear to be a git repository")

	_, err = c.ReadFile(ctx, missingRepo, commit, "m.yaml")
	wantErr(t, err, rida.CodeUnprocessable, git.ErrRepoNotFound, missingRepo)

	// An object that exists but is no commit (the blob of m.yaml).
	blob := gitOutput(t, url, "rev-parse", commit+":m.yaml")
	_, err = c.ReadFile(ctx, url, blob, "m.yaml")
	if rida.ErrorCodeOf(err) != rida.CodeUnprocessable {
		t.Errorf("blob as commit: %v", err)
	}

	// Names that are not full hashes are refused where a commit is needed.
	for _, bad := range []string{"main", commit[:12], commit + "0"} {
		_, err = c.ReadFile(ctx, url, bad, "m.yaml")
		wantErr(t, err, rida.CodeInvalid, nil, bad)
	}
}

// gitOutput runs git in the work tree behind a file:// URL.
func gitOutput(tb testing.TB, url string, args ...string) string {
	tb.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = strings.TrimPrefix(url, "file://")
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("git %v: %v", args, err)
	}
	return strings.TrimSpace(string(out))
}

func TestNewConfig(t *testing.T) {
	gittest.SkipIfNoGit(t)
	if _, err := git.New(git.Config{}); err == nil {
		t.Error("no cache directory accepted")
	}
	if _, err := git.New(git.Config{CacheDir: t.TempDir(), AllowedSchemes: []string{"ext"}}); err == nil {
		t.Error("ext scheme accepted")
	}
	if _, err := git.New(git.Config{CacheDir: t.TempDir(), GitPath: filepath.Join(t.TempDir(), "nogit")}); err == nil {
		t.Error("missing git binary accepted")
	}
	// Defaults: file is not allowed.
	c, err := git.New(git.Config{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	url, _ := gittest.MustRepo(t, map[string]string{"a": "a"})
	_, err = c.ResolveRef(t.Context(), url, "main")
	wantErr(t, err, rida.CodeForbidden, nil, url, "file")
}

// TestFileSchemeRefused checks file:// is refused unless allowed, and that
// git itself refuses it too (GIT_ALLOW_PROTOCOL / protocol.allow), shown
// through a remote that redirects through a symlinked path is not needed:
// the scheme check runs before git.
func TestFileSchemeRefused(t *testing.T) {
	url, commit := gittest.MustRepo(t, map[string]string{"a": "a"})
	c := newClient(t, func(cfg *git.Config) { cfg.AllowedSchemes = []string{"https", "git"} })
	_, err := c.ResolveRef(t.Context(), url, "main")
	wantErr(t, err, rida.CodeForbidden, nil, url)
	_, err = c.ReadFile(t.Context(), url, commit, "a")
	wantErr(t, err, rida.CodeForbidden, nil, url)
	_, err = c.CommitTime(t.Context(), url, commit)
	wantErr(t, err, rida.CodeForbidden, nil, url)
}

// TestInjection feeds option-looking URLs and refs and transport helpers,
// checks each is refused with the right code, and checks that the command
// they carry did not run: the marker file it would create does not exist.
func TestInjection(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	url, commit := gittest.MustRepo(t, map[string]string{"a": "a"})
	c := newClient(t, func(cfg *git.Config) { cfg.AllowedSchemes = []string{"file", "git", "https", "ssh"} })
	marker := filepath.Join(t.TempDir(), "pwned")
	touch := "touch " + marker

	badURLs := []struct {
		url  string
		code rida.ErrorCode
	}{
		{"--upload-pack=" + touch, rida.CodeInvalid},
		{"--upload-pack=" + touch + " " + url, rida.CodeInvalid},
		{"-oProxyCommand=" + touch, rida.CodeInvalid},
		{"ssh://-oProxyCommand=" + strings.ReplaceAll(touch, " ", "%20") + "/x", rida.CodeInvalid},
		{"ssh://-oProxyCommand=touch/x", rida.CodeInvalid},
		{"ssh://-luser@localhost/x", rida.CodeInvalid},
		{"ext::sh -c " + strings.ReplaceAll(touch, " ", "% "), rida.CodeForbidden},
		{"ext::sh -c touch% " + marker, rida.CodeForbidden},
		{"fd::0", rida.CodeForbidden},
		{"fd::3,4", rida.CodeForbidden},
		{"file::" + url, rida.CodeForbidden},
		{"ext://sh -c touch% " + marker, rida.CodeForbidden},
		{"file:///tmp/x?#main", rida.CodeInvalid},      // an scmurl, not a repository URL
		{"file:///srv/m.git/m.yaml", rida.CodeInvalid}, // no file path in a repository URL
		{"/abs/path/repo", rida.CodeInvalid},           // local paths bypass URL rules
		{"host:path/repo", rida.CodeInvalid},           // scp-like
	}
	for _, b := range badURLs {
		_, err := c.ResolveRef(ctx, b.url, "main")
		wantErr(t, err, b.code, nil)
		_, err = c.ReadFile(ctx, b.url, commit, "a")
		wantErr(t, err, b.code, nil)
		_, err = c.CommitTime(ctx, b.url, commit)
		wantErr(t, err, b.code, nil)
	}
	badRefs := []string{
		"--upload-pack=" + touch,
		"-oProxyCommand=" + touch,
		"-b",
		"--exec=" + touch,
		"main --upload-pack=touch",
		"main\n--upload-pack=touch",
		"a..b", "a:b", "a?", "a*", "a[", `a\b`, "a~1", "a^", ".hidden", "x.lock", "@{-1}",
	}
	for _, ref := range badRefs {
		_, err := c.ResolveRef(ctx, url, ref)
		wantErr(t, err, rida.CodeInvalid, nil, "is not a valid git ref")
	}
	for _, path := range []string{"-a", "--output=" + marker, "../a", "/a", "a/../a", "a\n", ""} {
		_, err := c.ReadFile(ctx, url, commit, path)
		wantErr(t, err, rida.CodeInvalid, nil)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("an injected command ran: %s exists (%v)", marker, err)
	}
	// The valid calls still work, so the refusals above are not a broken client.
	if _, err := c.ReadFile(ctx, url, commit, "a"); err != nil {
		t.Fatal(err)
	}
}

// TestUserConfigIgnored checks git does not read the user's configuration
// or the caller's GIT_* variables: a HOME .gitconfig that would rewrite
// every URL to a missing repository, and a GIT_DIR, change nothing.
func TestUserConfigIgnored(t *testing.T) {
	url, commit := gittest.MustRepo(t, map[string]string{"a": "a"})
	home := t.TempDir()
	evil := "file://" + filepath.Join(t.TempDir(), "evil")
	cfg := fmt.Sprintf("[url %q]\n\tinsteadOf = file://\n[core]\n\thooksPath = %s\n", evil, t.TempDir())
	if err := os.WriteFile(filepath.Join(home, ".gitconfig"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", home)
	t.Setenv("GIT_DIR", t.TempDir())
	t.Setenv("GIT_CONFIG_PARAMETERS", "'url."+evil+".insteadof'='file://'")
	c := newClient(t, nil)
	got, err := c.ResolveRef(t.Context(), url, "main")
	if err != nil {
		t.Fatal(err)
	}
	if got != commit {
		t.Errorf("ResolveRef = %s, want %s", got, commit)
	}
	if _, err := c.ReadFile(t.Context(), url, commit, "a"); err != nil {
		t.Fatal(err)
	}
}

// TestConcurrentOneURL runs many goroutines of two clients sharing one cache
// (two clients stand for two processes: only the lock file keeps them
// apart) on one repository, each fetching one of several commits.
func TestConcurrentOneURL(t *testing.T) {
	t.Parallel()
	r := gittest.NewRepo(t, filepath.Join(t.TempDir(), "m"))
	const n = 8
	var commits []string
	for i := range n {
		commits = append(commits, r.Commit(map[string]string{"m.yaml": fmt.Sprint(i)}))
	}
	cache := t.TempDir()
	clients := []*git.Client{
		newClient(t, func(cfg *git.Config) { cfg.CacheDir = cache }),
		newClient(t, func(cfg *git.Config) { cfg.CacheDir = cache }),
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4*n)
	for g := range 4 * n {
		wg.Go(func() {
			c := clients[g%2]
			i := g % n
			got, err := c.ReadFile(t.Context(), r.URL, commits[i], "m.yaml")
			if err != nil {
				errs <- err
				return
			}
			if string(got) != fmt.Sprint(i) {
				errs <- fmt.Errorf("commit %d: read %q", i, got)
				return
			}
			tm, err := c.CommitTime(t.Context(), r.URL, commits[i])
			if err != nil {
				errs <- err
				return
			}
			if want := gittest.Epoch.Add(time.Duration(i) * time.Hour); !tm.Equal(want) {
				errs <- fmt.Errorf("commit %d: time %v, want %v", i, tm, want)
				return
			}
			if head, err := c.ResolveRef(t.Context(), r.URL, "main"); err != nil || head != commits[n-1] {
				errs <- fmt.Errorf("ResolveRef(main) = %s, %v", head, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestTimeout points the client at a git:// server that accepts and never
// answers: the command must end at the timeout with CodeUnavailable.
func TestTimeout(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, conn) // hold it open, say nothing
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	c := newClient(t, func(cfg *git.Config) { cfg.Timeout = 300 * time.Millisecond })
	url := "git://" + ln.Addr().String() + "/repo.git"
	start := time.Now()
	_, err = c.ResolveRef(t.Context(), url, "main")
	wantErr(t, err, rida.CodeUnavailable, nil, url)
	_, err = c.ReadFile(t.Context(), url, strings.Repeat("1", 40), "a")
	wantErr(t, err, rida.CodeUnavailable, nil, url)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("two timed-out commands took %v", d)
	}

	// A caller's own deadline is also CodeUnavailable.
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	slow := newClient(t, nil)
	_, err = slow.ResolveRef(ctx, url, "main")
	wantErr(t, err, rida.CodeUnavailable, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("errors.Is(%v, DeadlineExceeded) = false", err)
	}
}

// TestSizeCaps checks a fetch that would grow the cache by more than
// MaxFetchBytes fails (and is dropped from the cache), and a file over
// MaxFileBytes is refused while smaller files of the commit read fine.
func TestSizeCaps(t *testing.T) {
	t.Parallel()
	big := make([]byte, 3<<20)
	if _, err := rand.Read(big); err != nil { // random: does not compress
		t.Fatal(err)
	}
	url, commit := gittest.MustRepo(t, map[string]string{"big.bin": string(big), "small": "s"})

	c := newClient(t, func(cfg *git.Config) { cfg.MaxFetchBytes = 512 << 10 })
	_, err := c.ReadFile(t.Context(), url, commit, "small")
	wantErr(t, err, rida.CodeUnprocessable, git.ErrTooLarge, url, commit)
	_, err = c.ResolveRef(t.Context(), url, commit)
	wantErr(t, err, rida.CodeUnprocessable, git.ErrTooLarge)

	c = newClient(t, func(cfg *git.Config) { cfg.MaxFileBytes = 1 << 20 })
	_, err = c.ReadFile(t.Context(), url, commit, "big.bin")
	wantErr(t, err, rida.CodeUnprocessable, git.ErrTooLarge, "big.bin")
	if got, err := c.ReadFile(t.Context(), url, commit, "small"); err != nil || string(got) != "s" {
		t.Errorf("small file: %q, %v", got, err)
	}
	// With room enough, the same fetch succeeds: the caps above caused the
	// failures, not something else.
	c = newClient(t, nil)
	if got, err := c.ReadFile(t.Context(), url, commit, "big.bin"); err != nil || len(got) != len(big) {
		t.Errorf("big file with default caps: %d bytes, %v", len(got), err)
	}
}

// TestEnvironmentAndArgs runs git through a wrapper that records the
// environment and arguments of every command, and checks the hardening is
// there: no prompts, only the allowed protocols, no system or user config,
// no hooks, user input after --end-of-options, and nothing of rida's own
// environment but the pass-through list.
func TestEnvironmentAndArgs(t *testing.T) {
	gittest.SkipIfNoGit(t)
	realGit, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	dump := t.TempDir()
	wrapper := filepath.Join(t.TempDir(), "git-wrapper")
	script := fmt.Sprintf("#!/bin/sh\nenv > %s/env.$$\nprintf '%%s\\n' \"$@\" > %s/args.$$\nexec %s \"$@\"\n", dump, dump, realGit)
	if err := os.WriteFile(wrapper, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("RIDA_TEST_SECRET", "s3cr3t")
	t.Setenv("GIT_SSH_COMMAND", "touch /tmp/should-not-run")
	url, commit := gittest.MustRepo(t, map[string]string{"a": "a"})
	c := newClient(t, func(cfg *git.Config) {
		cfg.GitPath = wrapper
		cfg.AllowedSchemes = []string{"file", "https"}
	})
	if _, err := c.ResolveRef(t.Context(), url, "main"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ReadFile(t.Context(), url, commit, "a"); err != nil {
		t.Fatal(err)
	}
	envs, _ := filepath.Glob(filepath.Join(dump, "env.*"))
	if len(envs) < 3 {
		t.Fatalf("wrapper recorded %d commands", len(envs))
	}
	for _, f := range envs {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		env := map[string]string{}
		for line := range strings.Lines(string(b)) {
			k, v, _ := strings.Cut(strings.TrimSuffix(line, "\n"), "=")
			env[k] = v
		}
		for k, want := range map[string]string{
			"GIT_TERMINAL_PROMPT":    "0",
			"GIT_ALLOW_PROTOCOL":     "file:https",
			"GIT_CONFIG_NOSYSTEM":    "1",
			"GIT_PROTOCOL_FROM_USER": "0",
			"GIT_SSH_COMMAND":        "ssh -o BatchMode=yes",
		} {
			if env[k] != want {
				t.Errorf("%s: %s=%q, want %q", f, k, env[k], want)
			}
		}
		if env["GIT_ASKPASS"] == "" || env["SSH_ASKPASS"] == "" {
			t.Errorf("%s: no askpass override", f)
		}
		if home := env["HOME"]; home == "" || home == os.Getenv("HOME") {
			t.Errorf("%s: HOME=%q is not private", f, home)
		}
		if _, ok := env["RIDA_TEST_SECRET"]; ok {
			t.Errorf("%s: rida's environment leaked into git", f)
		}
	}
	args, _ := filepath.Glob(filepath.Join(dump, "args.*"))
	sawUserInput := 0
	for _, f := range args {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		joined := strings.Join(lines, " ")
		for _, want := range []string{"protocol.allow=never", "protocol.file.allow=always", "protocol.https.allow=always", "core.hooksPath=/dev/null"} {
			if !strings.Contains(joined, want) {
				t.Errorf("%s: args %q lack -c %s", f, joined, want)
			}
		}
		if strings.Contains(joined, "protocol.ssh.allow") || strings.Contains(joined, "protocol.ext.allow") {
			t.Errorf("%s: a protocol that is not allowed is enabled: %q", f, joined)
		}
		// The URL, when present, comes after --end-of-options.
		for i, a := range lines {
			if a == url {
				sawUserInput++
				if !slices.Contains(lines[:i], "--end-of-options") {
					t.Errorf("%s: URL before --end-of-options: %q", f, joined)
				}
			}
		}
	}
	if sawUserInput < 2 {
		t.Errorf("the URL was passed in %d commands; want ls-remote and fetch", sawUserInput)
	}
}

// TestNoHooks plants a hook in the cached repository that git would run on
// every ref update of the fetch, and checks it does not run.
func TestNoHooks(t *testing.T) {
	url, commit := gittest.MustRepo(t, map[string]string{"a": "a"})
	cache := t.TempDir()
	c := newClient(t, func(cfg *git.Config) { cfg.CacheDir = cache })
	// The cache layout is documented: repos/<sha256 of the URL>.
	sum := sha256.Sum256([]byte(url))
	dir := filepath.Join(cache, "repos", hex.EncodeToString(sum[:]))
	if out, err := exec.Command("git", "init", "--quiet", "--bare", dir).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	marker := filepath.Join(t.TempDir(), "hook-ran")
	for _, hook := range []string{"reference-transaction", "post-checkout", "post-merge"} {
		if err := os.WriteFile(filepath.Join(dir, "hooks", hook), []byte("#!/bin/sh\ntouch "+marker+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	got, err := c.ReadFile(t.Context(), url, commit, "a")
	if err != nil || string(got) != "a" {
		t.Fatalf("ReadFile = %q, %v", got, err)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a hook ran: %v", err)
	}
	// The hook works when git is run without rida's settings, so the check
	// above can fail.
	if out, err := exec.Command("git", "--git-dir="+dir, "update-ref", "refs/x", commit).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if _, err := os.Stat(marker); err != nil {
		t.Fatalf("the planted hook does not run at all: %v", err)
	}
}

// TestNoPrompt serves an HTTP repository that always demands a password:
// git must fail at once (no terminal prompt, askpass answers nothing)
// rather than wait, and the failure is not a timeout.
func TestNoPrompt(t *testing.T) {
	var mu sync.Mutex
	requests := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests++
		mu.Unlock()
		w.Header().Set("WWW-Authenticate", `Basic realm="rida"`)
		http.Error(w, "authentication required", http.StatusUnauthorized)
	}))
	defer srv.Close()
	c := newClient(t, func(cfg *git.Config) {
		cfg.AllowedSchemes = []string{"http"}
		cfg.Timeout = 20 * time.Second
	})
	url := srv.URL + "/modules/private.git"
	start := time.Now()
	_, err := c.ResolveRef(t.Context(), url, "main")
	wantErr(t, err, rida.CodeUnprocessable, git.ErrRepoNotFound, url, "Authentication failed")
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v: git waited for a password", d)
	}
	mu.Lock()
	defer mu.Unlock()
	if requests == 0 {
		t.Error("the server saw no request; the test proves nothing")
	}
}

// TestSHA256Repository checks a SHA-256 repository: its 64-hex ids are
// full hashes, and the cache repository is created in that format.
func TestSHA256Repository(t *testing.T) {
	r := gittest.NewRepoFormat(t, filepath.Join(t.TempDir(), "m"), "sha256")
	commit := r.Commit(map[string]string{"m.yaml": "sha256"})
	if len(commit) != 64 {
		t.Fatalf("commit %q is not a SHA-256 id", commit)
	}
	c := newClient(t, nil)
	got, err := c.ResolveRef(t.Context(), r.URL, "main")
	if err != nil || got != commit {
		t.Fatalf("ResolveRef(main) = %s, %v; want %s", got, err, commit)
	}
	if got, err := c.ResolveRef(t.Context(), r.URL, commit); err != nil || got != commit {
		t.Fatalf("ResolveRef(hash) = %s, %v", got, err)
	}
	b, err := c.ReadFile(t.Context(), r.URL, commit, "m.yaml")
	if err != nil || string(b) != "sha256" {
		t.Fatalf("ReadFile = %q, %v", b, err)
	}
}

// TestBranchContains checks MBS's "is the commit on the branch" rule,
// including a commit the cache already holds shallowly (fetched for a file
// read), whose ancestry the check must not cut short.
func TestBranchContains(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	r := gittest.NewRepo(t, filepath.Join(t.TempDir(), "m"))
	first := r.Commit(map[string]string{"m.yaml": "one"})
	second := r.Commit(map[string]string{"m.yaml": "two"})
	third := r.Commit(map[string]string{"m.yaml": "three"})
	r.Checkout("side")
	side := r.Commit(map[string]string{"m.yaml": "side"})
	c := newClient(t, nil)
	// Read at second first, so the cache holds it shallowly.
	if _, err := c.ReadFile(ctx, r.URL, second, "m.yaml"); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		branch, commit string
		want           bool
	}{
		{"main", third, true}, // the head
		{"main", first, true}, // behind the shallow boundary
		{"main", second, true},
		{"main", side, false}, // only on another branch
		{"side", first, true},
		{"side", side, true},
	} {
		got, err := c.BranchContains(ctx, r.URL, tt.branch, tt.commit)
		if err != nil || got != tt.want {
			t.Errorf("BranchContains(%s, %.7s) = %v, %v; want %v", tt.branch, tt.commit, got, err, tt.want)
		}
	}
	if _, err := c.BranchContains(ctx, r.URL, "gone", first); !errors.Is(err, git.ErrRefNotFound) || rida.ErrorCodeOf(err) != rida.CodeUnprocessable {
		t.Errorf("missing branch: %v", err)
	}
	if _, err := c.BranchContains(ctx, r.URL, "--upload-pack=x", first); rida.ErrorCodeOf(err) != rida.CodeInvalid {
		t.Errorf("option as branch: %v", err)
	}
}
