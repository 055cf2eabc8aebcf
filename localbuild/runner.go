package localbuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Runner runs one program to completion. dir is its working directory;
// name is looked up in the Runner's PATH. It returns what the program wrote
// to stdout and stderr (possibly capped) and a non-nil error when the
// program could not start, exited non-zero, or ctx ended first; the output
// is returned in every case, since it is what explains a failure.
// Implementations must be safe for concurrent use.
type Runner interface {
	Run(ctx context.Context, dir, name string, args ...string) (stdout, stderr []byte, err error)
}

// DefaultMaxOutput is ExecRunner's default cap on each of stdout and
// stderr: a build log rarely needs more, and a runaway build must not
// exhaust memory.
const DefaultMaxOutput = 16 << 20

// ExecRunner runs programs with os/exec. The zero value is not usable: Home
// must be set.
type ExecRunner struct {
	// Home is the HOME (and TMPDIR) of every program: a private directory,
	// so ~/.rpmmacros, ~/.config or ~/rpmbuild of the user running rida
	// can neither change nor receive a build.
	Home string
	// Path is the PATH programs are looked up in; empty means
	// /usr/local/bin:/usr/bin:/bin.
	Path string
	// Env holds extra KEY=value entries appended to the minimal environment.
	Env []string
	// Timeout bounds each run in addition to ctx; zero means ctx only.
	Timeout time.Duration
	// MaxOutput caps each of stdout and stderr; zero means DefaultMaxOutput.
	// The end of the output is kept, since that is where a build says what
	// went wrong.
	MaxOutput int
	// Log receives one debug line per run; nil means no logging.
	Log *slog.Logger
}

var _ Runner = (*ExecRunner)(nil)

// env returns the minimal environment: nothing of rida's own environment
// reaches rpmbuild, so builds do not depend on who started rida.
func (r *ExecRunner) env() []string {
	path := r.Path
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	env := []string{
		"PATH=" + path,
		"HOME=" + r.Home,
		"TMPDIR=" + r.Home,
		"LC_ALL=C", // logs and rpm's messages in English, stable sorting in scripts
		"LANG=C",
		"TZ=UTC",
	}
	return append(env, r.Env...)
}

// Run implements Runner. The program gets its own process group, and when
// ctx ends the whole group is killed, so the compilers and scripts rpmbuild
// started do not outlive a canceled build.
func (r *ExecRunner) Run(ctx context.Context, dir, name string, args ...string) ([]byte, []byte, error) {
	if r.Home == "" {
		return nil, nil, errors.New("localbuild: ExecRunner.Home is not set")
	}
	if r.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.Timeout)
		defer cancel()
	}
	path, err := lookPath(name, r.env())
	if err != nil {
		return nil, nil, err
	}
	limit := r.MaxOutput
	if limit <= 0 {
		limit = DefaultMaxOutput
	}
	stdout, stderr := &tailBuffer{max: limit}, &tailBuffer{max: limit}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = dir
	cmd.Env = r.env()
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	dieWithParent(cmd.SysProcAttr)
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	// A grandchild holding the pipes open must not block Wait forever.
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err = cmd.Run()
	if r.Log != nil {
		r.Log.Debug("localbuild run", "cmd", Command{Name: name, Args: args}.String(), "dir", dir, "duration", time.Since(start), "err", err)
	}
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("%s: %w (%v)", name, ctx.Err(), err)
		} else {
			err = fmt.Errorf("%s: %w", name, err)
		}
	}
	return stdout.Bytes(), stderr.Bytes(), err
}

// lookPath finds name in the PATH of env, not in rida's own PATH, so the
// program run is the one the minimal environment names.
func lookPath(name string, env []string) (string, error) {
	for _, kv := range slices.Backward(env) {
		if p, ok := strings.CutPrefix(kv, "PATH="); ok {
			return lookPathIn(name, p)
		}
	}
	return exec.LookPath(name)
}

// lookPathIn finds an executable name in the directories of path. A name
// with a slash is used as is.
func lookPathIn(name, path string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: %w in %s", name, exec.ErrNotFound, path)
}

// tailBuffer keeps the last max bytes written and counts what it dropped.
type tailBuffer struct {
	mu      sync.Mutex
	buf     []byte
	max     int
	dropped int64
}

// Write never fails, so the program is never blocked on a full pipe.
func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	// Trim only past twice the limit, so trimming is amortised.
	if len(b.buf) > 2*b.max {
		cut := len(b.buf) - b.max
		b.dropped += int64(cut)
		b.buf = append(b.buf[:0], b.buf[cut:]...)
	}
	return len(p), nil
}

// Bytes returns the kept output, headed by a note when some was dropped.
func (b *tailBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	out, dropped := b.buf, b.dropped
	if len(out) > b.max {
		dropped += int64(len(out) - b.max)
		out = out[len(out)-b.max:]
	}
	if dropped == 0 {
		return bytes.Clone(out)
	}
	note := "[localbuild: " + strconv.FormatInt(dropped, 10) + " bytes of output dropped]\n"
	return append([]byte(note), out...)
}
