package main

import (
	"fmt"
	"log/slog"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/rida-build/rida/localbuild"
)

// localBackend is the local backend with its notifier set after the
// scheduler exists (the scheduler needs the backend, the backend's
// notifications go to the scheduler).
type localBackend struct {
	*localbuild.Backend
	wake atomic.Pointer[func(int64)]
}

// setNotify routes build-end notifications to fn.
func (b *localBackend) setNotify(fn func(int64)) { b.wake.Store(&fn) }

// newLocalBackend builds components on this machine under workdir: rpmbuild
// in a private HOME, or mock when it is installed and this host has a
// default mock configuration (a Fedora-like machine).
func newLocalBackend(workdir string, scm localbuild.SCM, logger *slog.Logger) (*localBackend, error) {
	home := filepath.Join(workdir, ".home")
	lb := &localBackend{}
	settings := localbuild.MockSettings{Enabled: mockUsable()}
	backend, err := localbuild.NewBackend(localbuild.BackendConfig{
		WorkDir: workdir,
		Runner:  &localbuild.ExecRunner{Home: home, Timeout: 6 * time.Hour, Log: logger.With("component", "exec")},
		SCM:     scm,
		Notify: func(id int64) {
			if fn := lb.wake.Load(); fn != nil {
				(*fn)(id)
			}
		},
		Log:  logger.With("component", "localbuild"),
		Mock: settings,
	})
	if err != nil {
		return nil, fmt.Errorf("local backend: %w", err)
	}
	lb.Backend = backend
	logger.Info("local backend", "workdir", workdir, "mock", settings.Enabled)
	return lb, nil
}

// mockUsable reports whether builds can run in mock: the program and its
// default chroot configuration (which Fedora's mock-core-configs installs).
func mockUsable() bool {
	if _, err := exec.LookPath("mock"); err != nil {
		return false
	}
	_, err := filepath.EvalSymlinks("/etc/mock/default.cfg")
	return err == nil
}

// defaultLocalBuilds is how many components build at once on this machine.
func defaultLocalBuilds() int { return max(1, runtime.NumCPU()) }
