package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/engine"
	"github.com/rida-build/rida/git"
	"github.com/rida-build/rida/koji"
	"github.com/rida-build/rida/localbuild"
)

// engineBackend is a backend as serve runs it: the engine drives it, it
// tells the scheduler when builds end, and it is closed at shutdown.
type engineBackend interface {
	engine.Backend
	setNotify(func(int64))
	Close() error
}

// newBackend makes the backend the configuration names.
func (m *Main) newBackend(ctx context.Context, c Config, workdir string, scm *git.Client, history historyReader, logger *slog.Logger) (engineBackend, error) {
	if c.Backend == "koji" {
		return newKojiBackend(ctx, c, workdir, scm, history, logger)
	}
	return newLocalBackend(workdir, scm, logger)
}

// historyReader reads a module build with its history (the store).
type historyReader interface {
	FindModuleBuildByID(ctx context.Context, id int64, inc rida.ModuleBuildInclude) (*rida.ModuleBuild, error)
}

// buildLog renders a build's history from the store as the import's
// build.log.
func buildLog(history historyReader) func(ctx context.Context, m *rida.ModuleBuild) ([]byte, bool, error) {
	return func(ctx context.Context, m *rida.ModuleBuild) ([]byte, bool, error) {
		full, err := history.FindModuleBuildByID(ctx, m.ID, rida.ModuleBuildInclude{StateTrace: true, Components: true, ComponentTraces: true})
		if err != nil {
			return nil, false, err
		}
		return rida.BuildLog(full), true, nil
	}
}

// sourceModulemd reads a build's modulemd from its repository at the
// commit it was built from (the import's modulemd.src.txt); YAML
// submissions have none.
func sourceModulemd(scm *git.Client) func(ctx context.Context, m *rida.ModuleBuild) ([]byte, bool, error) {
	return func(ctx context.Context, m *rida.ModuleBuild) ([]byte, bool, error) {
		if m.SCMURL == "" {
			return nil, false, nil
		}
		u, err := rida.ParseSCMURL(m.SCMURL)
		if err != nil {
			return nil, false, err
		}
		commit := m.Commit
		if commit == "" {
			commit = u.Commit
		}
		data, err := scm.ReadFile(ctx, u.Repo, commit, u.ModulemdPath(u.RepoName()))
		if err != nil {
			return nil, false, err
		}
		return data, true, nil
	}
}

// kojiBackend is the Koji backend with its logged-in client. Koji says that
// builds ended on the message bus, which the consumer of Koji's messages
// turns into nudges (bus.koji); the backend itself has nothing to notify.
type kojiBackend struct {
	*koji.Backend
	client *koji.Client
}

func (kojiBackend) setNotify(func(int64)) {}

func (k kojiBackend) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return k.client.Logout(ctx)
}

// newKojiBackend reads the koji.conf profile, logs in, and makes the
// backend; module-build-macros' SRPM is built under workdir.
func newKojiBackend(ctx context.Context, c Config, workdir string, scm *git.Client, history historyReader, logger *slog.Logger) (engineBackend, error) {
	if err := os.MkdirAll(workdir, 0o755); err != nil {
		return nil, fmt.Errorf("local.workdir: %w", err)
	}
	profile, err := koji.ReadProfile(c.Koji.Config, c.Koji.Profile)
	if err != nil {
		return nil, err
	}
	client, err := koji.NewClient(koji.ClientConfig{Profile: profile, Logger: logger.With("component", "koji")})
	if err != nil {
		return nil, err
	}
	if err := client.Login(ctx); err != nil {
		return nil, fmt.Errorf("koji login to %s: %w", profile.Server, err)
	}
	owner := c.Koji.Owner
	if owner == "" {
		owner = profile.User
	}
	backend, err := koji.NewBackend(koji.BackendConfig{
		Client: client, CGName: c.Koji.CGName, DistGit: c.Koji.DistGit, Arches: c.Koji.Arches, Owner: owner,
		Runner:  &localbuild.ExecRunner{Home: filepath.Join(workdir, ".home"), Timeout: time.Hour, Log: logger.With("component", "exec")},
		WorkDir: workdir, Logger: logger.With("component", "koji-backend"), SourceModulemd: sourceModulemd(scm),
		BuildLog: buildLog(history), NoCGTag: !c.Koji.CGTagBuild, CGBuildTagTemplate: c.Koji.CGBuildTagTemplate,
		CGDefaultBuildTag: c.Koji.CGDefaultBuildTag, BaseModuleNames: c.BaseModuleNames,
	})
	if err != nil {
		return nil, err
	}
	logger.Info("koji backend", "hub", profile.Server, "profile", profile.Name, "cg", c.Koji.CGName)
	return kojiBackend{Backend: backend, client: client}, nil
}

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
