// Package git reads module and component sources by running the git binary,
// as MBS does (go-git cannot fetch a commit that is not a branch tip; see
// go-deps.md §6).
//
// What it guarantees:
//
//   - Nothing user-supplied reaches git as an option: repository URLs, refs,
//     commits and paths are validated first (a leading "-" is refused), and
//     are passed after --end-of-options or on standard input.
//   - Only the configured transports run: transport helpers (ext::, fd::)
//     and unlisted schemes are refused before git starts (CodeForbidden), and
//     git itself is told the same through GIT_ALLOW_PROTOCOL and
//     protocol.allow, so a redirect or submodule cannot reach another one.
//   - git sees no configuration but rida's: no system config, a private
//     HOME, no hooks, no credential prompts, no auto-gc running behind a lock.
//   - Every git command has a timeout (CodeUnavailable when it expires), and
//     fetched data and read files are size-capped.
//   - Fetched commits are kept in a bare-repository cache, one repository per
//     URL, guarded by an in-process lock and an flock(2) lock file, so
//     concurrent submissions in one or several processes do not collide.
//
// Errors are *rida.Error values: CodeInvalid for malformed input,
// CodeForbidden for a refused transport, CodeUnprocessable for a missing
// repository, ref, commit or file (errors.Is matches ErrRepoNotFound,
// ErrRefNotFound, ErrCommitNotFound, ErrFileNotFound, ErrTooLarge), and
// CodeUnavailable for timeouts and unreachable servers. Messages carry git's
// trimmed stderr, never the environment.
package git

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/rida-build/rida"
)

// Defaults for Config's zero values.
const (
	DefaultTimeout       = 2 * time.Minute
	DefaultMaxFetchBytes = 512 << 20
	DefaultMaxFileBytes  = 16 << 20
)

// Sentinel causes, wrapped in the *rida.Error's Err so callers can tell the
// cases apart with errors.Is (for example to answer with MBS's "The SCM
// repository doesn't contain a modulemd file").
var (
	ErrRepoNotFound   = errors.New("repository not found")
	ErrRefNotFound    = errors.New("ref not found")
	ErrCommitNotFound = errors.New("commit not found")
	ErrFileNotFound   = errors.New("file not found")
	ErrTooLarge       = errors.New("over the size cap")
)

// Config configures a Client. Zero values take the documented defaults.
type Config struct {
	// GitPath is the git binary; default "git", looked up in PATH.
	GitPath string
	// CacheDir is the root of the bare-repository cache (required). It holds
	// one bare repository per URL, named by the SHA-256 of the URL, its lock
	// file, and git's private HOME.
	CacheDir string
	// AllowedSchemes is a subset of git, http, https, ssh and file; default
	// git, https and ssh. file must be listed to be allowed.
	AllowedSchemes []string
	// Timeout bounds each git command; default 2m.
	Timeout time.Duration
	// MaxFetchBytes caps what one fetch may add to a cached repository;
	// default 512 MiB.
	MaxFetchBytes int64
	// MaxFileBytes caps a file read by ReadFile; default 16 MiB.
	MaxFileBytes int64
	// Logger receives one debug line per git command; default discards.
	Logger *slog.Logger
}

// Client runs git for rida. It is safe for concurrent use.
type Client struct {
	gitPath  string
	cacheDir string
	schemes  []string
	timeout  time.Duration
	maxFetch int64
	maxFile  int64
	log      *slog.Logger
	env      []string // the whole environment of every git command
	config   []string // -c options before every git subcommand

	mu    sync.Mutex
	locks map[string]chan struct{} // per repository key; a 1-slot semaphore
}

// knownSchemes are the schemes a Config may allow.
var knownSchemes = []string{"git", "http", "https", "ssh", "file"}

// passEnv are the variables of rida's own environment git still gets: what
// it needs to find programs, certificates, proxies and credentials, but not
// GIT_* or HOME, which would change what git does.
var passEnv = []string{
	"PATH", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR",
	"http_proxy", "https_proxy", "no_proxy", "all_proxy",
	"HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY",
	"SSH_AUTH_SOCK", "KRB5CCNAME",
}

// New checks cfg, creates the cache directory and git's private HOME, and
// returns a Client.
func New(cfg Config) (*Client, error) {
	if cfg.GitPath == "" {
		cfg.GitPath = "git"
	}
	gitPath, err := exec.LookPath(cfg.GitPath)
	if err != nil {
		return nil, fmt.Errorf("git: find %s: %w", cfg.GitPath, err)
	}
	if cfg.CacheDir == "" {
		return nil, errors.New("git: no cache directory configured")
	}
	cacheDir, err := filepath.Abs(cfg.CacheDir)
	if err != nil {
		return nil, fmt.Errorf("git: cache directory: %w", err)
	}
	if len(cfg.AllowedSchemes) == 0 {
		cfg.AllowedSchemes = []string{"git", "https", "ssh"}
	}
	for _, s := range cfg.AllowedSchemes {
		if !slices.Contains(knownSchemes, s) {
			return nil, fmt.Errorf("git: scheme %q cannot be allowed (known: %s)", s, strings.Join(knownSchemes, ", "))
		}
	}
	c := &Client{
		gitPath:  gitPath,
		cacheDir: cacheDir,
		schemes:  slices.Clone(cfg.AllowedSchemes),
		timeout:  cmp(cfg.Timeout, DefaultTimeout),
		maxFetch: cmp(cfg.MaxFetchBytes, DefaultMaxFetchBytes),
		maxFile:  cmp(cfg.MaxFileBytes, DefaultMaxFileBytes),
		log:      cfg.Logger,
		locks:    map[string]chan struct{}{},
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	home := filepath.Join(cacheDir, "home")
	for _, dir := range []string{filepath.Join(cacheDir, "repos"), filepath.Join(home, ".config")} {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("git: create %s: %w", dir, err)
		}
	}
	// An empty global config file, so git does not look elsewhere for one.
	if err := os.WriteFile(filepath.Join(home, ".gitconfig"), nil, 0o600); err != nil {
		return nil, fmt.Errorf("git: write private config: %w", err)
	}
	askpass := "/bin/true"
	if _, err := os.Stat(askpass); err != nil {
		askpass = "true"
	}
	c.env = []string{
		"HOME=" + home,
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_CONFIG_GLOBAL=" + filepath.Join(home, ".gitconfig"),
		"GIT_TERMINAL_PROMPT=0",
		"GIT_ASKPASS=" + askpass,
		"SSH_ASKPASS=" + askpass,
		"GIT_SSH_COMMAND=ssh -o BatchMode=yes",
		"GIT_ALLOW_PROTOCOL=" + strings.Join(c.schemes, ":"),
		"GIT_PROTOCOL_FROM_USER=0",
		// Stop repository discovery at the cache, so a cache inside some
		// work tree never makes git use that tree's repository.
		"GIT_CEILING_DIRECTORIES=" + cacheDir,
		"LC_ALL=C", // stderr is classified; keep it in English
	}
	for _, k := range passEnv {
		if v, ok := os.LookupEnv(k); ok {
			c.env = append(c.env, k+"="+v)
		}
	}
	c.config = []string{
		"-c", "protocol.allow=never",
		"-c", "protocol.version=2",
		"-c", "core.hooksPath=/dev/null",
		"-c", "core.fsmonitor=false",
		"-c", "gc.auto=0", // no background gc outliving the lock
		"-c", "maintenance.auto=false",
		"-c", "fetch.writeCommitGraph=false",
	}
	for _, s := range c.schemes {
		c.config = append(c.config, "-c", "protocol."+s+".allow=always")
	}
	return c, nil
}

func cmp[T int64 | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

var (
	fullHashRe  = regexp.MustCompile(`^([0-9a-fA-F]{40}|[0-9a-fA-F]{64})$`)
	shortHashRe = regexp.MustCompile(`^[0-9a-f]{7,63}$`)
)

// ResolveRef returns the commit a branch or tag of repoURL points to, by
// ls-remote; a branch wins over a tag of the same name, and an annotated tag
// is peeled to its commit. A full commit id (40 or 64 hex digits) is fetched
// to prove it exists and returned as is (lower-cased). Short hashes are not
// expanded.
func (c *Client) ResolveRef(ctx context.Context, repoURL, ref string) (string, error) {
	repo, err := c.checkURL(repoURL)
	if err != nil {
		return "", err
	}
	if err := rida.CheckGitRef(ref); err != nil {
		return "", err
	}
	if fullHashRe.MatchString(ref) {
		commit := strings.ToLower(ref)
		unlock, err := c.lock(ctx, repo)
		if err != nil {
			return "", err
		}
		defer unlock()
		if err := c.ensureCommit(ctx, repo, commit); err != nil {
			return "", err
		}
		return commit, nil
	}
	var out bytes.Buffer
	stderr, err := c.run(ctx, "", nil, &out, "ls-remote", "--end-of-options", repo,
		"refs/heads/"+ref, "refs/tags/"+ref, "refs/tags/"+ref+"^{}")
	if err != nil {
		return "", c.remoteError("resolve "+ref+" in", repo, stderr, err)
	}
	found := map[string]string{}
	for line := range strings.Lines(out.String()) {
		oid, name, ok := strings.Cut(strings.TrimSpace(line), "\t")
		if ok {
			found[name] = oid
		}
	}
	for _, name := range []string{"refs/heads/" + ref, "refs/tags/" + ref + "^{}", "refs/tags/" + ref} {
		if oid := found[name]; oid != "" {
			return oid, nil
		}
	}
	msg := fmt.Sprintf("Failed to get the latest commit for %s#%s: there is no such branch or tag", repo, ref)
	if shortHashRe.MatchString(ref) {
		msg += " (abbreviated commit hashes are not expanded; give the full hash)"
	}
	return "", &rida.Error{Code: rida.CodeUnprocessable, Message: msg, Err: ErrRefNotFound}
}

// ReadFile returns the file at path in commit (a full hash) of repoURL. It
// fetches only that commit (depth 1) into the cache. A missing file, or a
// path naming a directory, is CodeUnprocessable with ErrFileNotFound; a file
// over MaxFileBytes is CodeUnprocessable with ErrTooLarge.
func (c *Client) ReadFile(ctx context.Context, repoURL, commit, path string) ([]byte, error) {
	repo, err := c.checkURL(repoURL)
	if err != nil {
		return nil, err
	}
	commit, err = checkCommit(commit)
	if err != nil {
		return nil, err
	}
	if err := checkPath(path); err != nil {
		return nil, err
	}
	unlock, err := c.lock(ctx, repo)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if err := c.ensureCommit(ctx, repo, commit); err != nil {
		return nil, err
	}
	gitDir := c.repoDir(repo)
	// The object name goes on standard input, where it cannot be an option.
	var out bytes.Buffer
	stderr, err := c.run(ctx, gitDir, strings.NewReader(commit+":"+path+"\n"), &out, "cat-file", "--batch-check")
	if err != nil {
		return nil, c.localError("look up "+path+" in", repo, stderr, err)
	}
	fields := strings.Fields(out.String())
	if len(fields) != 3 || fields[1] != "blob" {
		return nil, &rida.Error{
			Code:    rida.CodeUnprocessable,
			Message: fmt.Sprintf("The file %s was not found in the repository %s at commit %s", path, repo, commit),
			Err:     ErrFileNotFound,
		}
	}
	oid := fields[0]
	size, err := strconv.ParseInt(fields[2], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("git: read %s: size %q: %w", path, fields[2], err)
	}
	if size > c.maxFile {
		return nil, &rida.Error{
			Code:    rida.CodeUnprocessable,
			Message: fmt.Sprintf("The file %s in the repository %s at commit %s is %d bytes, over the limit of %d", path, repo, commit, size, c.maxFile),
			Err:     ErrTooLarge,
		}
	}
	if !fullHashRe.MatchString(oid) {
		return nil, fmt.Errorf("git: read %s: unexpected object id %q", path, oid)
	}
	buf := &capWriter{max: c.maxFile}
	stderr, err = c.run(ctx, gitDir, nil, buf, "cat-file", "blob", "--end-of-options", oid)
	if buf.over {
		return nil, &rida.Error{Code: rida.CodeUnprocessable, Message: fmt.Sprintf("The file %s in the repository %s is over the limit of %d bytes", path, repo, c.maxFile), Err: ErrTooLarge}
	}
	if err != nil {
		return nil, c.localError("read "+path+" in", repo, stderr, err)
	}
	return buf.buf.Bytes(), nil
}

// CommitTime returns the committer time of commit (a full hash) in repoURL,
// in UTC; MBS makes the module version from it.
func (c *Client) CommitTime(ctx context.Context, repoURL, commit string) (time.Time, error) {
	repo, err := c.checkURL(repoURL)
	if err != nil {
		return time.Time{}, err
	}
	commit, err = checkCommit(commit)
	if err != nil {
		return time.Time{}, err
	}
	unlock, err := c.lock(ctx, repo)
	if err != nil {
		return time.Time{}, err
	}
	defer unlock()
	if err := c.ensureCommit(ctx, repo, commit); err != nil {
		return time.Time{}, err
	}
	var out bytes.Buffer
	stderr, err := c.run(ctx, c.repoDir(repo), nil, &out, "log", "-1", "--format=%ct", "--end-of-options", commit)
	if err != nil {
		return time.Time{}, c.localError("read the time of "+commit+" in", repo, stderr, err)
	}
	sec, err := strconv.ParseInt(strings.TrimSpace(out.String()), 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("git: commit time of %s: %q: %w", commit, out.String(), err)
	}
	return time.Unix(sec, 0).UTC(), nil
}

// checkURL validates a repository URL and returns the form handed to git.
// Transport helpers and unlisted schemes are CodeForbidden; anything else
// that is not a plain URL of an allowed scheme is CodeInvalid. The structural
// rules are rida's SCM URL rules, so a component repository is held to the
// same standard as a module's.
// BranchContains reports whether commit (a full hash) is the head of branch
// in repoURL or one of its ancestors, MBS's check that a submitted commit
// belongs to the submitted branch. It fetches the branch's whole history
// (unshallowing the cached repository), since ancestry needs it. A missing
// branch is CodeUnprocessable with ErrRefNotFound.
func (c *Client) BranchContains(ctx context.Context, repoURL, branch, commit string) (bool, error) {
	repo, err := c.checkURL(repoURL)
	if err != nil {
		return false, err
	}
	if err := rida.CheckGitRef(branch); err != nil {
		return false, err
	}
	commit, err = checkCommit(commit)
	if err != nil {
		return false, err
	}
	var out bytes.Buffer
	stderr, err := c.run(ctx, "", nil, &out, "ls-remote", "--end-of-options", repo, "refs/heads/"+branch)
	if err != nil {
		return false, c.remoteError("resolve branch "+branch+" in", repo, stderr, err)
	}
	head, _, _ := strings.Cut(strings.TrimSpace(out.String()), "\t")
	if head == "" {
		return false, &rida.Error{Code: rida.CodeUnprocessable, Message: fmt.Sprintf("The branch %s does not exist in %s", branch, repo), Err: ErrRefNotFound}
	}
	if strings.EqualFold(head, commit) {
		return true, nil
	}
	unlock, err := c.lock(ctx, repo)
	if err != nil {
		return false, err
	}
	defer unlock()
	dir := c.repoDir(repo)
	if err := c.ensureRepo(ctx, dir, len(commit)); err != nil {
		return false, err
	}
	// Shallow boundaries left by earlier single-commit fetches would stop
	// the ancestry walk early; a full history makes the answer exact.
	options := []string{}
	if _, err := os.Stat(filepath.Join(dir, "shallow")); err == nil {
		options = append(options, "--unshallow")
	}
	ref := "refs/rida/branches/" + branch
	if err := c.fetchRefspec(ctx, dir, repo, "branch "+branch, "+refs/heads/"+branch+":"+ref, options...); err != nil {
		return false, err
	}
	if !c.hasCommit(ctx, dir, commit) {
		return false, nil
	}
	stderr, err = c.run(ctx, dir, nil, io.Discard, "merge-base", "--is-ancestor", "--end-of-options", commit, ref)
	if err == nil {
		return true, nil
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 {
		return false, nil
	}
	return false, c.localError("check ancestry of "+commit+" in", repo, stderr, err)
}

func (c *Client) checkURL(raw string) (string, error) {
	invalid := func(reason string) error {
		return &rida.Error{Code: rida.CodeInvalid, Message: fmt.Sprintf("The repository URL %q is not valid: %s", raw, reason)}
	}
	if raw == "" {
		return "", invalid("empty")
	}
	if strings.HasPrefix(raw, "-") {
		return "", invalid(`it starts with "-"`)
	}
	scheme, _, ok := strings.Cut(raw, "://")
	if helper, _, isHelper := strings.Cut(raw, "::"); isHelper && (!ok || len(helper) < len(scheme)) {
		return "", &rida.Error{Code: rida.CodeForbidden, Message: fmt.Sprintf("The repository URL %q uses a git transport helper, which is not allowed", raw)}
	}
	if !ok {
		return "", invalid("it is not a <scheme>:// URL")
	}
	if !slices.Contains(c.schemes, scheme) {
		return "", &rida.Error{Code: rida.CodeForbidden, Message: fmt.Sprintf("The repository URL %q uses the scheme %q, which is not allowed (allowed: %s)", raw, scheme, strings.Join(c.schemes, ", "))}
	}
	u, err := rida.ParseSCMURL(raw + "?#HEAD")
	if err != nil {
		var e *rida.Error
		if errors.As(err, &e) && e.Err != nil {
			return "", invalid(e.Err.Error())
		}
		return "", invalid(err.Error())
	}
	if u.Path != "" {
		return "", invalid("it names a file inside the repository")
	}
	if _, err := url.Parse(u.Repo); err != nil {
		return "", invalid(err.Error())
	}
	return u.Repo, nil
}

// checkCommit accepts a full commit hash only: ReadFile and CommitTime read
// what ResolveRef returned, and a name could move between the two.
func checkCommit(commit string) (string, error) {
	if !fullHashRe.MatchString(commit) {
		return "", &rida.Error{Code: rida.CodeInvalid, Message: fmt.Sprintf("%q is not a full commit hash (40 or 64 hex digits)", commit)}
	}
	return strings.ToLower(commit), nil
}

// checkPath accepts a relative, clean path inside a repository.
func checkPath(path string) error {
	bad := func(reason string) error {
		return &rida.Error{Code: rida.CodeInvalid, Message: fmt.Sprintf("The path %q is not valid: %s", path, reason)}
	}
	switch {
	case path == "":
		return bad("empty")
	case len(path) > 4096:
		return bad("too long")
	case !utf8.ValidString(path):
		return bad("not UTF-8")
	case strings.HasPrefix(path, "-"):
		return bad(`it starts with "-"`)
	}
	for _, r := range path {
		if r < 0x20 || r == 0x7f {
			return bad("it contains a control character")
		}
	}
	for e := range strings.SplitSeq(path, "/") {
		if e == "" || e == "." || e == ".." {
			return bad("it is not a clean relative path")
		}
	}
	return nil
}

// repoDir is the cached bare repository of a URL.
func (c *Client) repoDir(repo string) string {
	sum := sha256.Sum256([]byte(repo))
	return filepath.Join(c.cacheDir, "repos", hex.EncodeToString(sum[:]))
}

// lock takes the URL's in-process lock, then its lock file, so neither two
// goroutines nor two processes touch one cached repository at once. It
// gives up when ctx ends.
func (c *Client) lock(ctx context.Context, repo string) (unlock func(), err error) {
	dir := c.repoDir(repo)
	c.mu.Lock()
	sem := c.locks[dir]
	if sem == nil {
		sem = make(chan struct{}, 1)
		c.locks[dir] = sem
	}
	c.mu.Unlock()
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return nil, c.unavailable("wait for the cache of", repo, ctx.Err())
	}
	f, err := os.OpenFile(dir+".lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		<-sem
		return nil, fmt.Errorf("git: lock the cache of %s: %w", repo, err)
	}
	for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			<-sem
			return nil, fmt.Errorf("git: lock the cache of %s: %w", repo, err)
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			f.Close()
			<-sem
			return nil, c.unavailable("wait for the cache of", repo, ctx.Err())
		}
	}
	return func() {
		// Closing the file releases the flock.
		f.Close()
		<-sem
	}, nil
}

// ensureCommit makes sure commit is in the cached repository of repo,
// fetching it (depth 1) when it is not. The caller holds the lock.
func (c *Client) ensureCommit(ctx context.Context, repo, commit string) error {
	dir := c.repoDir(repo)
	if err := c.ensureRepo(ctx, dir, len(commit)); err != nil {
		return err
	}
	if c.hasCommit(ctx, dir, commit) {
		return nil
	}
	if err := c.fetch(ctx, dir, repo, commit); err != nil {
		return err
	}
	if !c.hasCommit(ctx, dir, commit) {
		// Fetched, but the object is a tree or blob, not a commit.
		return notFoundCommit(repo, commit, "the object is not a commit")
	}
	return nil
}

func (c *Client) hasCommit(ctx context.Context, dir, commit string) bool {
	_, err := c.run(ctx, dir, nil, io.Discard, "cat-file", "-e", "--end-of-options", commit+"^{commit}")
	return err == nil
}

// ensureRepo creates the cached bare repository if it does not exist. It is
// created under a temporary name and renamed, so a crash leaves no
// half-initialised repository behind.
func (c *Client) ensureRepo(ctx context.Context, dir string, hashLen int) error {
	if _, err := os.Stat(filepath.Join(dir, "HEAD")); err == nil {
		return nil
	}
	format := "sha1"
	if hashLen == 64 {
		format = "sha256"
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".init-*")
	if err != nil {
		return fmt.Errorf("git: create cache repository: %w", err)
	}
	defer os.RemoveAll(tmp)
	if stderr, err := c.run(ctx, "", nil, io.Discard, "init", "--bare", "--quiet", "--object-format="+format, "--end-of-options", tmp); err != nil {
		return fmt.Errorf("git: init cache repository: %w: %s", err, stderr)
	}
	os.RemoveAll(dir) // a leftover without HEAD
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("git: create cache repository: %w", err)
	}
	return nil
}

// fetch fetches one commit (depth 1) into dir, keeping it under
// refs/rida/<commit> so it stays in the cache. A watcher measures the
// objects directory while git runs and stops git when the fetch grows it by
// more than MaxFetchBytes; the repository is then dropped from the cache,
// since it may hold a partial pack.
func (c *Client) fetch(ctx context.Context, dir, repo, commit string) error {
	return c.fetchRefspec(ctx, dir, repo, commit, "+"+commit+":refs/rida/"+commit, "--depth=1")
}

// fetchRefspec fetches refspec into dir under the size watch; what names
// the fetched thing in messages, and options go before the repository.
func (c *Client) fetchRefspec(ctx context.Context, dir, repo, what, refspec string, options ...string) error {
	commit := what
	before, _ := dirSize(filepath.Join(dir, "objects"))
	fctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var over bool
	done := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if n, _ := dirSize(filepath.Join(dir, "objects")); n-before > c.maxFetch {
					over = true
					cancel()
					return
				}
			}
		}
	}()
	args := append([]string{"fetch", "--quiet", "--no-tags", "--no-write-fetch-head"}, options...)
	args = append(args, "--end-of-options", repo, refspec)
	stderr, err := c.run(fctx, dir, nil, io.Discard, args...)
	close(done)
	<-watched
	if !over {
		if n, _ := dirSize(filepath.Join(dir, "objects")); n-before > c.maxFetch {
			over = true
		}
	}
	if over {
		if rmErr := os.RemoveAll(dir); rmErr != nil {
			c.log.Warn("git: drop oversized cache repository", "repo", repo, "err", rmErr)
		}
		return &rida.Error{
			Code:    rida.CodeUnprocessable,
			Message: fmt.Sprintf("Fetching %s from %s took more than the limit of %d bytes", commit, repo, c.maxFetch),
			Err:     ErrTooLarge,
		}
	}
	if err != nil {
		if isUnavailable(ctx, stderr, err) {
			return c.remoteError("fetch "+commit+" from", repo, stderr, err)
		}
		if commitMissing(stderr) {
			return notFoundCommit(repo, commit, stderr)
		}
		return c.remoteError("fetch "+commit+" from", repo, stderr, err)
	}
	return nil
}

// notFoundCommit is MBS's message for a commit the repository does not have,
// naming the repository and the commit.
func notFoundCommit(repo, commit, detail string) error {
	return &rida.Error{
		Code: rida.CodeUnprocessable,
		Message: fmt.Sprintf("The requested commit hash %s was not found within the repository %s. Perhaps you forgot to push. The original message was: %s",
			commit, repo, detail),
		Err: ErrCommitNotFound,
	}
}

// commitMissing tells from git's stderr that the server lacks the wanted
// object (as opposed to the repository being missing or unreachable).
func commitMissing(stderr string) bool {
	for _, s := range []string{"not our ref", "couldn't find remote ref", "no such remote ref", "unadvertised object", "upload-pack: not our"} {
		if strings.Contains(stderr, s) {
			return true
		}
	}
	return false
}

// unreachable are git and curl/ssh messages that mean the server could not
// be reached, which is not the submitter's fault.
var unreachable = []string{
	"Could not resolve host", "Connection refused", "Connection timed out", "Network is unreachable",
	"No route to host", "Operation timed out", "The requested URL returned error: 5", "unable to connect",
	"Could not resolve hostname", "early EOF",
}

func isUnavailable(ctx context.Context, stderr string, err error) bool {
	var te *timeoutError
	if errors.As(err, &te) || ctx.Err() != nil {
		return true
	}
	for _, s := range unreachable {
		if strings.Contains(stderr, s) {
			return true
		}
	}
	return false
}

// remoteError classifies a failed command that talked to repo.
func (c *Client) remoteError(op, repo, stderr string, err error) error {
	var te *timeoutError
	if errors.As(err, &te) {
		return &rida.Error{Code: rida.CodeUnavailable, Message: fmt.Sprintf("git could not %s %s within %s", op, repo, te.after), Err: err}
	}
	var re *rida.Error
	if errors.As(err, &re) {
		return err
	}
	for _, s := range unreachable {
		if strings.Contains(stderr, s) {
			return &rida.Error{Code: rida.CodeUnavailable, Message: fmt.Sprintf("git could not %s %s: %s", op, repo, stderr), Err: err}
		}
	}
	return &rida.Error{
		Code:    rida.CodeUnprocessable,
		Message: fmt.Sprintf("git could not %s %s (is the repository there?): %s", op, repo, stderr),
		Err:     errors.Join(ErrRepoNotFound, err),
	}
}

// localError wraps a failed command on the cache; it is not the
// submitter's fault unless it timed out.
func (c *Client) localError(op, repo, stderr string, err error) error {
	var te *timeoutError
	if errors.As(err, &te) {
		return &rida.Error{Code: rida.CodeUnavailable, Message: fmt.Sprintf("git could not %s %s within %s", op, repo, te.after), Err: err}
	}
	var re *rida.Error
	if errors.As(err, &re) {
		return err
	}
	return fmt.Errorf("git: %s the cache of %s: %w: %s", op, repo, err, stderr)
}

func (c *Client) unavailable(op, repo string, err error) error {
	return &rida.Error{Code: rida.CodeUnavailable, Message: fmt.Sprintf("git could not %s %s: %v", op, repo, err), Err: err}
}

// timeoutError means a git command ran out of its own time.
type timeoutError struct {
	args  []string
	after time.Duration
}

func (e *timeoutError) Error() string {
	return fmt.Sprintf("git %s: timed out after %s", strings.Join(e.args, " "), e.after)
}

// maxStderr bounds what is kept of git's stderr.
const maxStderr = 4096

// run runs git with rida's environment and configuration. gitDir, when set,
// is the repository the command works on. It returns git's trimmed stderr.
// The command gets its own process group, so a timeout also kills the
// transports git started (ssh, git-remote-https, upload-pack).
func (c *Client) run(ctx context.Context, gitDir string, stdin io.Reader, stdout io.Writer, args ...string) (string, error) {
	cctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, c.gitPath, append(slices.Clone(c.config), args...)...)
	cmd.Env = c.env
	cmd.Dir = filepath.Join(c.cacheDir, "home")
	if gitDir != "" {
		cmd.Env = append(slices.Clone(c.env), "GIT_DIR="+gitDir)
	}
	cmd.Stdin = stdin
	cmd.Stdout = stdout
	stderr := &capWriter{max: maxStderr}
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	c.log.Debug("git", "args", args, "dir", gitDir, "duration", time.Since(start), "err", err)
	msg := oneLine(stderr.buf.String())
	if err == nil {
		return msg, nil
	}
	if errors.Is(cctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
		return msg, &timeoutError{args: args, after: c.timeout}
	}
	if ctx.Err() != nil {
		return msg, &rida.Error{Code: rida.CodeUnavailable, Message: fmt.Sprintf("git %s: %v", args[0], ctx.Err()), Err: ctx.Err()}
	}
	return msg, fmt.Errorf("git %s: %w", args[0], err)
}

// oneLine joins git's non-empty stderr lines with "; ", so the message
// reads well in a JSON error and a log line.
func oneLine(s string) string {
	var lines []string
	for line := range strings.Lines(s) {
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
	}
	return strings.Join(lines, "; ")
}

// capWriter keeps up to max bytes and notes whether more came.
type capWriter struct {
	buf  bytes.Buffer
	max  int64
	over bool
}

func (w *capWriter) Write(p []byte) (int, error) {
	room := w.max - int64(w.buf.Len())
	if int64(len(p)) > room {
		w.buf.Write(p[:max(room, 0)])
		w.over = true
		return len(p), nil // keep draining, so git is not blocked on a full pipe
	}
	return w.buf.Write(p)
}

// dirSize sums the sizes of the regular files under dir.
func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // git renames temporary files as we walk
			}
			return err
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n, err
}
