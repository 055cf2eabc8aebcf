package localbuild

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/engine"
	"github.com/rida-build/rida/expand"
	"github.com/rida-build/rida/modulemd"
)

// SCM exports a component's sources: the tree of commit in the repository
// repoURL, written into dir (created if missing, empty). *git.Client
// implements it. Errors follow the engine's codes: CodeUnavailable is
// transient (the export is retried), anything else fails the component.
type SCM interface {
	Export(ctx context.Context, repoURL, commit, dir string) error
}

// MockSettings turns on builds in mock, for hosts where mock is installed
// and configured (Fedora). The chroot of each component build is described
// by a MockConfig made from these settings and the module build.
type MockSettings struct {
	// Enabled builds binary packages in mock instead of rpmbuild --nodeps
	// on the host.
	Enabled bool
	// ReleaseVer is dnf's $releasever; empty means the digits ending the
	// stream of the module's base module (platform:f40 gives "40").
	ReleaseVer string
	// ModulePlatformID is dnf's module_platform_id; empty means
	// "<base module>:<stream>" of the module's base module.
	ModulePlatformID string
	// BuildrootPackages are installed in each new chroot; empty means
	// "@buildsys-build".
	BuildrootPackages []string
	// Repos are the base repositories (the distribution's), in order. The
	// module's own results repository, and the results of buildrequired
	// modules built in the same WorkDir, are added to them.
	Repos []MockRepo
}

// BackendConfig configures a Backend.
type BackendConfig struct {
	// WorkDir holds one directory per module build (see Backend), the task
	// id counter and the scratch trees of running builds. It is created if
	// missing; its path must not contain whitespace (rpmbuild reads paths
	// under it as macro values).
	WorkDir string
	// Runner runs rpmbuild, rpm, createrepo_c, modifyrepo_c and mock.
	Runner Runner
	// SCM exports component sources; required to build anything but
	// module-build-macros.
	SCM SCM
	// Notify, when set, is called with the module build's id after one of
	// its component builds ended and its task record is written, from the
	// build's goroutine; it should only wake the engine up.
	Notify func(moduleBuildID int64)
	// Log receives progress lines; nil discards them.
	Log *slog.Logger
	// Arch is the arch of the packages built here and of the final
	// modulemd; empty means the answer of `rpm --eval %{_arch}` run through
	// Runner, which is what rpmbuild builds for on this host.
	Arch string
	// Mock configures builds in mock; the zero value builds with rpmbuild.
	Mock MockSettings
	// ExportRetries is how many times an export failing with
	// CodeUnavailable is retried, ExportBackoff the first wait (doubled each
	// time); zero values mean 2 and 5s.
	ExportRetries int
	ExportBackoff time.Duration
}

// Backend is the engine's local backend (engine.Backend): it builds a
// module's components on this machine with the Builder, as MBS's local
// builds do (mbs.md §3.20), and keeps everything under WorkDir:
//
//	WorkDir/task-id                    the last task id handed out
//	WorkDir/tmp/                       scratch trees and exported sources
//	WorkDir/module-N-S-V-C/            one module build (its tag)
//	    results/                       SRPMs and RPMs, flat; a repository
//	    results/repodata/              createrepo_c's metadata (+ modules)
//	    results/logs/<package>.log     each component's combined build log
//	    results/modules.yaml           the final modulemd, after Finalize
//	    tasks/<package>.json           the record of the package's last build
//
// A task record is written (temporary file, then rename) only when a build
// has ended, after its packages are in results/; it is what makes a build
// survive the process: LookupComponent reads it after a restart, TagComponents
// and Finalize read the packages from it. A build that was running when the
// process died leaves no record, so LookupComponent does not find it and the
// engine builds it again.
//
// Task ids are unique within a WorkDir, across restarts and processes: each
// is the next value of the counter in WorkDir/task-id, updated under an
// flock(2) lock by write-and-rename, and NewBackend raises the counter to
// the highest id of any task record, so ids keep increasing even if the
// counter file was lost.
//
// A Backend is safe for concurrent use. Close stops running builds.
type Backend struct {
	cfg     BackendConfig
	builder *Builder
	log     *slog.Logger
	tmpDir  string

	mu      sync.Mutex
	closed  bool
	running map[int64]*runningTask
	byKey   map[taskKey]*runningTask
	wg      sync.WaitGroup
	arch    string // cached answer of rpm --eval
}

var _ engine.Backend = (*Backend)(nil)

// taskKey names one component of one module build.
type taskKey struct{ moduleDir, pkg string }

// runningTask is a build running in this process.
type runningTask struct {
	id     int64
	key    taskKey
	cancel context.CancelCauseFunc
	done   chan struct{}
}

// Causes of a build's context ending: CancelComponent, or Close.
var (
	errCanceled = errors.New("canceled")
	errClosed   = errors.New("local backend closed")
)

// File names under WorkDir and a module build's directory.
const (
	taskIDFile     = "task-id"
	taskIDLockFile = "task-id.lock"
	resultsDirName = "results"
	tasksDirName   = "tasks"
	logsDirName    = "logs"
	// ModulesFile is the final modulemd Finalize writes into results/.
	ModulesFile = "modules.yaml"
)

// NewBackend creates WorkDir and its scratch directory, and raises the task
// id counter above every task record already there.
func NewBackend(cfg BackendConfig) (*Backend, error) {
	if cfg.WorkDir == "" {
		return nil, errors.New("localbuild: no WorkDir configured")
	}
	if cfg.Runner == nil {
		return nil, errors.New("localbuild: no Runner configured")
	}
	dir, err := filepath.Abs(cfg.WorkDir)
	if err != nil {
		return nil, fmt.Errorf("localbuild: work directory: %w", err)
	}
	if err := checkDefineValue("work directory", dir); err != nil {
		return nil, fmt.Errorf("localbuild: %w", err)
	}
	cfg.WorkDir = dir
	if cfg.ExportRetries <= 0 {
		cfg.ExportRetries = 2
	}
	if cfg.ExportBackoff <= 0 {
		cfg.ExportBackoff = 5 * time.Second
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tmp := filepath.Join(dir, "tmp")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("localbuild: %w", err)
	}
	b := &Backend{
		cfg:     cfg,
		builder: &Builder{Runner: cfg.Runner, WorkDir: tmp, Log: log},
		log:     log,
		tmpDir:  tmp,
		running: map[int64]*runningTask{},
		byKey:   map[taskKey]*runningTask{},
	}
	floor, err := b.highestRecordedTaskID()
	if err != nil {
		return nil, err
	}
	if err := b.withTaskIDLock(func(cur int64) (int64, error) { return max(cur, floor), nil }); err != nil {
		return nil, err
	}
	return b, nil
}

// Close cancels the running builds and waits for them to end. A build
// stopped by Close leaves no task record and is not notified: to the engine
// it is a build that died with the process, which it builds again. Submit
// fails after Close.
func (b *Backend) Close() error {
	b.mu.Lock()
	b.closed = true
	for _, rt := range b.running {
		rt.cancel(errClosed)
	}
	b.mu.Unlock()
	b.wg.Wait()
	return nil
}

// moduleTag returns the module build's tag and directory name,
// module-<name>-<stream>-<version>-<context>, as MBS's local builds name
// their directories.
func moduleTag(mod *engine.Module) (string, error) {
	if mod == nil || mod.Build == nil {
		return "", errors.New("localbuild: no module build given")
	}
	m := mod.Build
	tag := "module-" + m.Name + "-" + m.Stream + "-" + strconv.FormatUint(m.Version, 10) + "-" + m.Context
	if m.Name == "" || m.Stream == "" || m.Context == "" || strings.ContainsAny(tag, "/\\ \t\n\r\x00") || !filepath.IsLocal(tag) {
		return "", rida.Errorf(rida.CodeUnprocessable, "The module build %s cannot name a directory: %q", m.NSVC(), tag)
	}
	return tag, nil
}

// paths of one module build.
type modulePaths struct {
	tag, dir, results, tasks, logs string
}

func (b *Backend) paths(mod *engine.Module) (modulePaths, error) {
	tag, err := moduleTag(mod)
	if err != nil {
		return modulePaths{}, err
	}
	dir := filepath.Join(b.cfg.WorkDir, tag)
	results := filepath.Join(dir, resultsDirName)
	return modulePaths{
		tag: tag, dir: dir, results: results,
		tasks: filepath.Join(dir, tasksDirName), logs: filepath.Join(results, logsDirName),
	}, nil
}

func (p modulePaths) mkdirs() error {
	for _, d := range []string{p.logs, p.tasks} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("localbuild: %w", err)
		}
	}
	return nil
}

// PrepareEnvironment creates the module build's directory and makes
// results/ an (empty) repository, so that mock chroots and later batches
// can use it. It does nothing more when the repository exists, so calling
// it again after a crash is harmless.
func (b *Backend) PrepareEnvironment(ctx context.Context, mod *engine.Module) (string, error) {
	p, err := b.paths(mod)
	if err != nil {
		return "", err
	}
	if err := p.mkdirs(); err != nil {
		return "", err
	}
	if _, err := os.Stat(filepath.Join(p.results, "repodata", "repomd.xml")); err == nil {
		return p.tag, nil
	}
	if err := b.builder.CreateRepo(ctx, p.results, nil); err != nil {
		return "", fmt.Errorf("localbuild: prepare %s: %w", p.tag, err)
	}
	return p.tag, nil
}

// buildJob is what a build goroutine needs, copied at submission so the
// engine may reuse its Module and ComponentBuild values.
type buildJob struct {
	id            int64
	moduleBuildID int64
	paths         modulePaths
	pkg           string
	macros        bool
	// Sources: module-build-macros' spec and macros file, or a repository
	// and commit.
	spec, macrosFile string
	repo, commit     string
	distTag          string
	mock             *MockConfig
}

// SubmitComponent starts building c and returns its task id at once.
// module-build-macros is built from mod.Macros (its spec and macros.modules,
// Source1, written into a scratch source directory); any other component
// from its repository (c.SCMURL before "?#") at c.Ref, exported by SCM,
// building <package>.spec with mod.Macros.MacrosFile loaded and
// mod.Macros.DistTag as %dist.
//
// The package's previous task record is removed first: it belongs to an
// earlier attempt (a failed build before the module was resubmitted) and
// must not be taken for this one. When the package is already building in
// this process, its task id is returned and nothing new starts.
func (b *Backend) SubmitComponent(ctx context.Context, mod *engine.Module, c *rida.ComponentBuild) (int64, error) {
	p, err := b.paths(mod)
	if err != nil {
		return 0, err
	}
	job := buildJob{moduleBuildID: mod.Build.ID, paths: p, pkg: c.Package, distTag: mod.Macros.DistTag}
	if !validName.MatchString(c.Package) {
		return 0, rida.Errorf(rida.CodeUnprocessable, "The component name %q is not a valid package name", c.Package)
	}
	if mod.Macros.DistTag == "" {
		return 0, fmt.Errorf("localbuild: module build %s has no dist tag (module-build-macros not generated)", mod.Build.NSVC())
	}
	if c.Package == engine.MacrosPackage {
		if mod.Macros.Spec == "" {
			return 0, fmt.Errorf("localbuild: module build %s has no module-build-macros spec", mod.Build.NSVC())
		}
		job.macros, job.spec, job.macrosFile = true, mod.Macros.Spec, mod.Macros.MacrosFile
	} else {
		repo, commit, ok := strings.Cut(c.SCMURL, "?#")
		if c.Ref != "" {
			commit = c.Ref
		}
		if !ok || repo == "" || commit == "" {
			return 0, rida.Errorf(rida.CodeUnprocessable, "The component %s has no repository and commit to build from (scmurl %q, ref %q)", c.Package, c.SCMURL, c.Ref)
		}
		if b.cfg.SCM == nil {
			return 0, errors.New("localbuild: no SCM configured to export component sources")
		}
		job.repo, job.commit, job.macrosFile = repo, commit, mod.Macros.MacrosFile
	}
	if b.cfg.Mock.Enabled {
		cfg, err := b.mockConfig(ctx, mod, p, c.Package)
		if err != nil {
			return 0, err
		}
		job.mock = cfg
	}
	if err := p.mkdirs(); err != nil {
		return 0, err
	}

	key := taskKey{p.dir, c.Package}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, rida.Errorf(rida.CodeUnavailable, "The local backend is shutting down")
	}
	if rt := b.byKey[key]; rt != nil {
		return rt.id, nil
	}
	if err := os.Remove(recordPath(p, c.Package)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("localbuild: removing the previous record of %s: %w", c.Package, err)
	}
	id, err := b.nextTaskID()
	if err != nil {
		return 0, err
	}
	job.id = id
	// The build's context is its own: the submitting request's ends when
	// SubmitComponent returns.
	bctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	rt := &runningTask{id: id, key: key, cancel: cancel, done: make(chan struct{})}
	b.running[id] = rt
	b.byKey[key] = rt
	b.wg.Add(1)
	go b.run(bctx, rt, job)
	b.log.Info("component build submitted", "task", id, "component", c.Package, "module", p.tag)
	return id, nil
}

// run builds job, writes its task record and notifies.
func (b *Backend) run(ctx context.Context, rt *runningTask, job buildJob) {
	defer b.wg.Done()
	defer rt.cancel(nil)
	started := time.Now().UTC()
	res, err := b.build(ctx, job)
	cause := context.Cause(ctx)

	finish := func() {
		b.mu.Lock()
		delete(b.running, rt.id)
		if b.byKey[rt.key] == rt {
			delete(b.byKey, rt.key)
		}
		b.mu.Unlock()
		close(rt.done)
	}
	if err != nil && errors.Is(cause, errClosed) {
		b.log.Info("component build stopped: the backend is closing", "task", job.id, "component", job.pkg)
		finish()
		return
	}
	logPath := filepath.Join(job.paths.logs, job.pkg+".log")
	rec := taskRecord{
		TaskID: job.id, ModuleBuildID: job.moduleBuildID, Package: job.pkg,
		Log: filepath.Join(logsDirName, job.pkg+".log"), Started: started, Ended: time.Now().UTC(),
	}
	switch {
	case err == nil:
		rec.State = rida.ComponentComplete.String()
		rec.NVR = rida.NVR{Name: res.SRPM.NEVRA.Name, Version: res.SRPM.NEVRA.Version, Release: res.SRPM.NEVRA.Release}.String()
		srpm := recordArtifactOf(res.SRPM)
		rec.SRPM = &srpm
		for _, a := range res.RPMs {
			rec.RPMs = append(rec.RPMs, recordArtifactOf(a))
		}
	case errors.Is(cause, errCanceled):
		rec.State = rida.ComponentCanceled.String()
		rec.Reason = fmt.Sprintf("Build of %s canceled (log: %s)", job.pkg, logPath)
		ensureLog(logPath, "rida: the build was canceled\n")
	default:
		rec.State = rida.ComponentFailed.String()
		if rida.ErrorCodeOf(err) == rida.CodeUnprocessable {
			// The Builder's message: "Failed to build artifact X: ... see <log>".
			rec.Reason = rida.ErrorMessageOf(err)
		} else {
			rec.Reason = fmt.Sprintf("Failed to build artifact %s: %v (see %s)", job.pkg, err, logPath)
		}
		ensureLog(logPath, "rida: "+err.Error()+"\n")
	}
	if werr := writeRecord(job.paths, rec); werr != nil {
		// Without its record the build looks, to LookupComponent, like one
		// that died with the process: the engine builds it again.
		b.log.Error("writing a task record", "task", job.id, "component", job.pkg, "err", werr)
	}
	b.log.Info("component build ended", "task", job.id, "component", job.pkg, "state", rec.State, "nvr", rec.NVR, "reason", rec.Reason)
	finish()
	if b.cfg.Notify != nil {
		b.cfg.Notify(job.moduleBuildID)
	}
}

// ensureLog writes text as the build log when the build left none (it
// failed before the Builder ran), so that the reason's log exists.
func ensureLog(path, text string) {
	if _, err := os.Stat(path); err == nil {
		return
	}
	_ = writeLog(path, []byte(text))
}

// build fetches or writes the sources and runs the Builder.
func (b *Backend) build(ctx context.Context, job buildJob) (Result, error) {
	src, err := os.MkdirTemp(b.tmpDir, "src-"+job.pkg+"-")
	if err != nil {
		return Result{}, fmt.Errorf("source directory: %w", err)
	}
	defer func() {
		if err := os.RemoveAll(src); err != nil {
			b.log.Warn("removing exported sources", "dir", src, "err", err)
		}
	}()
	in := ComponentBuild{Name: job.pkg, SourceDir: src, DistTag: job.distTag, ResultsDir: job.paths.results, Mock: job.mock}
	if job.macros {
		// Built as MBS builds it: from its own spec, whose %global dist
		// is the module's, without the macros it installs.
		files := map[string]string{engine.MacrosSpecFile: job.spec, engine.MacrosSourceFile: job.macrosFile}
		for name, content := range files {
			if err := os.WriteFile(filepath.Join(src, name), []byte(content), 0o644); err != nil {
				return Result{}, fmt.Errorf("writing %s: %w", name, err)
			}
		}
		in.Spec = engine.MacrosSpecFile
	} else {
		if err := b.export(ctx, job, src); err != nil {
			return Result{}, err
		}
		in.Macros = job.macrosFile
	}
	return b.builder.BuildComponent(ctx, in)
}

// export exports the component's sources into src, retrying transient
// failures with backoff. A failure that is the module's (a missing commit)
// is returned as a CodeUnprocessable "Failed to build artifact" error, with
// the message also written as the component's log.
func (b *Backend) export(ctx context.Context, job buildJob, src string) error {
	logPath := filepath.Join(job.paths.logs, job.pkg+".log")
	wait := b.cfg.ExportBackoff
	var err error
	for attempt := 0; ; attempt++ {
		// A failed attempt may have written part of the tree.
		if err := os.RemoveAll(src); err != nil {
			return fmt.Errorf("clearing the source directory: %w", err)
		}
		err = b.cfg.SCM.Export(ctx, job.repo, job.commit, src)
		if err == nil || rida.ErrorCodeOf(err) != rida.CodeUnavailable || attempt >= b.cfg.ExportRetries || ctx.Err() != nil {
			break
		}
		b.log.Warn("exporting sources failed, retrying", "component", job.pkg, "repo", job.repo, "in", wait, "err", err)
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
		wait *= 2
	}
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return err
	}
	msg := fmt.Sprintf("could not get the sources of %s at %s: %s", job.repo, job.commit, rida.ErrorMessageOf(err))
	_ = writeLog(logPath, []byte("rida: "+msg+"\n"))
	return &rida.Error{
		Code:    rida.CodeUnprocessable,
		Message: fmt.Sprintf("Failed to build artifact %s: %s, see %s", job.pkg, msg, logPath),
		Err:     err,
	}
}

// LookupComponent reports on c's build. With c.TaskID set: the build of
// that id, running in this process or ended with a task record of that id;
// a record of another id (an earlier or later attempt) is not it. With
// c.TaskID 0 (a submission whose id the engine lost): the package's build
// running in this process, or a record in state complete. A failed or
// canceled record is not adopted then: it is an earlier attempt's (the
// engine resets failed components to waiting when a module is resubmitted,
// and a submission made since, whose id was lost, would have removed it),
// and adopting it would fail the component again without building it.
// Otherwise found is false: a build that died with an earlier process left
// nothing.
func (b *Backend) LookupComponent(ctx context.Context, mod *engine.Module, c *rida.ComponentBuild) (engine.Task, bool, error) {
	p, err := b.paths(mod)
	if err != nil {
		return engine.Task{}, false, err
	}
	key := taskKey{p.dir, c.Package}
	b.mu.Lock()
	rt := b.byKey[key]
	if c.TaskID != 0 {
		rt = b.running[c.TaskID]
		if rt != nil && rt.key != key {
			rt = nil
		}
	}
	b.mu.Unlock()
	if rt != nil {
		return engine.Task{ID: rt.id, State: rida.ComponentBuilding}, true, nil
	}
	// A build ending now writes its record before leaving the running
	// map, so one of the two looks finds it.
	rec, err := readRecord(p, c.Package)
	if errors.Is(err, fs.ErrNotExist) {
		return engine.Task{}, false, nil
	}
	if err != nil {
		return engine.Task{}, false, err
	}
	state, err := rida.ParseComponentState(rec.State)
	if err != nil {
		return engine.Task{}, false, fmt.Errorf("localbuild: task record of %s: %w", c.Package, err)
	}
	if c.TaskID != 0 && rec.TaskID != c.TaskID || c.TaskID == 0 && state != rida.ComponentComplete {
		return engine.Task{}, false, nil
	}
	return engine.Task{ID: rec.TaskID, State: state, NVR: rec.NVR, Reason: rec.Reason}, true, nil
}

// CancelComponent cancels c's build running in this process (by c.TaskID,
// or by package when it is 0): the Runner kills the build's processes, and
// the build ends as canceled with its task record written. It waits for
// that until ctx ends. A build this process does not run (ended, or
// unknown) needs nothing.
func (b *Backend) CancelComponent(ctx context.Context, mod *engine.Module, c *rida.ComponentBuild) error {
	p, err := b.paths(mod)
	if err != nil {
		return err
	}
	key := taskKey{p.dir, c.Package}
	b.mu.Lock()
	rt := b.byKey[key]
	if c.TaskID != 0 {
		rt = b.running[c.TaskID]
	}
	b.mu.Unlock()
	if rt == nil || rt.key != key {
		return nil
	}
	rt.cancel(errCanceled)
	select {
	case <-rt.done:
		return nil
	case <-ctx.Done():
		return &rida.Error{Code: rida.CodeUnavailable, Message: fmt.Sprintf("The build of %s is still stopping", c.Package), Err: ctx.Err()}
	}
}

// TagComponents only checks that each component's packages are in
// results/: locally there are no tags. results/ is at once the buildroot
// repository of later batches and the final module, and StartRepo's
// createrepo_c is what makes new packages visible in it.
// module-build-macros (build_time_only in Koji) is there too; Finalize
// leaves it out of the module's artifacts.
func (b *Backend) TagComponents(ctx context.Context, mod *engine.Module, comps []*rida.ComponentBuild) error {
	p, err := b.paths(mod)
	if err != nil {
		return err
	}
	for _, c := range comps {
		rec, err := b.completeRecord(p, c)
		if err != nil {
			return err
		}
		for _, a := range rec.artifacts() {
			if _, err := os.Stat(filepath.Join(p.results, a.File)); err != nil {
				return fmt.Errorf("localbuild: package %s of %s is missing from %s: %w", a.File, c.Package, p.results, err)
			}
		}
	}
	return nil
}

// completeRecord reads c's task record and checks it is a complete build
// (of c.TaskID when set).
func (b *Backend) completeRecord(p modulePaths, c *rida.ComponentBuild) (taskRecord, error) {
	rec, err := readRecord(p, c.Package)
	if err != nil {
		return taskRecord{}, fmt.Errorf("localbuild: component %s: %w", c.Package, err)
	}
	if rec.State != rida.ComponentComplete.String() || c.TaskID != 0 && rec.TaskID != c.TaskID {
		return taskRecord{}, fmt.Errorf("localbuild: component %s: the task record is of task %d in state %s, not a complete build of task %d",
			c.Package, rec.TaskID, rec.State, c.TaskID)
	}
	return rec, nil
}

// StartRepo regenerates results/'s repository metadata (createrepo_c
// --update) before returning, so it returns task id 0.
func (b *Backend) StartRepo(ctx context.Context, mod *engine.Module) (int64, error) {
	p, err := b.paths(mod)
	if err != nil {
		return 0, err
	}
	if err := b.builder.CreateRepo(ctx, p.results, nil); err != nil {
		return 0, fmt.Errorf("localbuild: %w", err)
	}
	return 0, nil
}

// RepoReady is always true: StartRepo finishes the repository itself.
func (b *Backend) RepoReady(ctx context.Context, mod *engine.Module, taskID int64) (bool, error) {
	return true, nil
}

// Finalize writes the final modulemd of the host arch as MBS finalizes a
// module (mbs.md §6.3) into results/modules.yaml, and regenerates the
// repository with it as the modules record. Only the arch packages are
// built for here: the final modulemd is this arch's.
func (b *Backend) Finalize(ctx context.Context, mod *engine.Module, comps []*rida.ComponentBuild) error {
	p, err := b.paths(mod)
	if err != nil {
		return err
	}
	if mod.Stream == nil {
		return errors.New("localbuild: finalize: the module build has no modulemd")
	}
	arch, err := b.hostArch(ctx)
	if err != nil {
		return err
	}
	recs := make([]taskRecord, 0, len(comps))
	for _, c := range comps {
		if c.Package == engine.MacrosPackage {
			continue
		}
		rec, err := b.completeRecord(p, c)
		if err != nil {
			return err
		}
		recs = append(recs, rec)
	}
	final, files := finalModulemd(mod.Stream, arch, recs)
	if len(files) > 0 {
		licenses, err := b.licenses(ctx, p.results, files)
		if err != nil {
			return err
		}
		final.ContentLicenses = licenses
	}
	idx := modulemd.NewIndex()
	if err := idx.AddStream(final); err != nil {
		return fmt.Errorf("localbuild: finalize %s: %w", p.tag, err)
	}
	yaml, err := idx.Emit(modulemd.EmitOptions{})
	if err != nil {
		return fmt.Errorf("localbuild: finalize %s: %w", p.tag, err)
	}
	if err := writeFileAtomic(filepath.Join(p.results, ModulesFile), yaml); err != nil {
		return fmt.Errorf("localbuild: finalize %s: %w", p.tag, err)
	}
	// The final repository holds the module's artifacts only:
	// module-build-macros and filtered packages served the buildroot.
	if err := b.builder.CreateFinalRepo(ctx, p.results, append([]string{}, files...), yaml); err != nil {
		return fmt.Errorf("localbuild: finalize %s: %w", p.tag, err)
	}
	b.log.Info("module finalized", "module", p.tag, "arch", arch, "artifacts", len(final.RPMArtifacts))
	return nil
}

// finalModulemd is MBS's _finalize_mmd and _fill_in_rpms_list (mbs.md §6.3)
// for one arch, for a normal (not -devel) module, over the task records of
// the module's components: a copy of the stream without the components'
// repository and cache and without xmd.mbs, with the arch set, and the rpm
// artifacts: the RPMs of arch and noarch that are included, plus the SRPMs
// of included RPMs. It also returns the included package files (for their
// licenses).
//
// An RPM is included when its SRPM's name is in buildopts.rpms.whitelist
// (when set) or is a component's package name, and its name is not in
// filter.rpms. Debug packages (-debuginfo, -debugsource) come after the
// others: one is included when its main package was (then without further
// check, as MBS does), or, when no main package exists, if its SRPM has an
// included package and it passes the same rules. Multilib packages and
// ExclusiveArch/ExcludeArch are not considered: a local build makes the
// host arch's packages only, so rpmbuild already applied them.
func finalModulemd(stream *modulemd.Stream, arch string, recs []taskRecord) (*modulemd.Stream, []string) {
	final := stream.Copy()
	for _, rc := range final.RPMComponents {
		rc.Repository, rc.Cache = "", ""
	}
	if xmd := final.XMDMap(); xmd != nil {
		// MBS deletes the key and sets the rest back, so an xmd holding
		// only mbs becomes an empty mapping.
		delete(xmd, "mbs")
	}
	final.Arch = arch

	// A buildonly component's binary RPMs are only for building the module:
	// MBS adds their names to the module's filter when they are built
	// (mbs.md §3.11), so the final modulemd filters them and lists none.
	buildonly := map[string]bool{}
	for _, rc := range final.RPMComponents {
		if rc.Buildonly {
			buildonly[rc.PackageName()] = true
		}
	}
	for _, rec := range recs {
		if buildonly[rec.Package] {
			for _, a := range rec.RPMs {
				final.FilterRPMs = append(final.FilterRPMs, a.Name)
			}
		}
	}
	if len(final.FilterRPMs) > 0 {
		final.FilterRPMs = modulemd.SetStringSet(final.FilterRPMs...)
	}

	filtered := map[string]bool{}
	for _, n := range final.FilterRPMs {
		filtered[n] = true
	}
	allowedSRPM := map[string]bool{}
	if final.Buildopts != nil && len(final.Buildopts.RPMWhitelist) > 0 {
		for _, n := range final.Buildopts.RPMWhitelist {
			allowedSRPM[n] = true
		}
	} else {
		for _, rc := range final.RPMComponents {
			allowedSRPM[rc.PackageName()] = true
		}
	}

	var artifacts, files []string
	for _, rec := range recs {
		if rec.SRPM == nil {
			continue
		}
		include := func(a recordArtifact) bool { return allowedSRPM[rec.SRPM.Name] && !filtered[a.Name] }
		var debug []recordArtifact
		names := map[string]bool{}
		included := map[string]bool{}
		for _, a := range rec.RPMs {
			if a.Arch != arch && a.Arch != "noarch" {
				continue
			}
			names[a.Name] = true
			if isDebugName(a.Name) {
				debug = append(debug, a)
				continue
			}
			if include(a) {
				included[a.Name] = true
				artifacts = append(artifacts, a.nevra().String())
				files = append(files, a.File)
			}
		}
		for _, a := range debug {
			main := debugMainName(a.Name)
			if included[main] || !names[main] && len(included) > 0 && include(a) {
				artifacts = append(artifacts, a.nevra().String())
				files = append(files, a.File)
				included[a.Name] = true
			}
		}
		if len(included) > 0 {
			artifacts = append(artifacts, rec.SRPM.nevra().String())
			files = append(files, rec.SRPM.File)
		}
	}
	final.RPMArtifacts = modulemd.SetStringSet(artifacts...)
	return final, files
}

func isDebugName(name string) bool {
	return strings.HasSuffix(name, "-debuginfo") || strings.HasSuffix(name, "-debugsource")
}

// debugMainName is the package a debug package belongs to: foo for
// foo-debuginfo and foo-debugsource.
func debugMainName(name string) string {
	if n, ok := strings.CutSuffix(name, "-debuginfo"); ok {
		return n
	}
	n, _ := strings.CutSuffix(name, "-debugsource")
	return n
}

// licenses returns the License tags of the package files in dir, as the
// content licenses of a final modulemd: a sorted set without empty values.
func (b *Backend) licenses(ctx context.Context, dir string, files []string) ([]string, error) {
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = filepath.Join(dir, f)
	}
	args := []string{"-qp", "--nosignature", "--nodigest", "--queryformat", `%{LICENSE}\n`, "--"}
	stdout, stderr, err := b.cfg.Runner.Run(ctx, dir, "rpm", append(args, paths...)...)
	if err != nil {
		return nil, fmt.Errorf("localbuild: reading the licenses of the module's packages: %w: %s", err, firstLines(stderr))
	}
	var out []string
	for line := range strings.Lines(string(stdout)) {
		if line = strings.TrimSpace(line); line != "" && line != "(none)" {
			out = append(out, line)
		}
	}
	return modulemd.SetStringSet(out...), nil
}

// archRe is what an rpm arch may look like.
var archRe = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// hostArch returns BackendConfig.Arch, or rpm's %{_arch}, asked once.
func (b *Backend) hostArch(ctx context.Context) (string, error) {
	if b.cfg.Arch != "" {
		return b.cfg.Arch, nil
	}
	b.mu.Lock()
	arch := b.arch
	b.mu.Unlock()
	if arch != "" {
		return arch, nil
	}
	stdout, stderr, err := b.cfg.Runner.Run(ctx, b.tmpDir, "rpm", "--eval", "%{_arch}")
	if err != nil {
		return "", fmt.Errorf("localbuild: rpm --eval %%{_arch}: %w: %s", err, firstLines(stderr))
	}
	arch = strings.TrimSpace(string(stdout))
	if !archRe.MatchString(arch) {
		return "", fmt.Errorf("localbuild: rpm --eval %%{_arch} printed %q, not an arch", arch)
	}
	b.mu.Lock()
	b.arch = arch
	b.mu.Unlock()
	return arch, nil
}

// mockConfig describes the chroot of one component build: its own root
// (module tag and package, so parallel builds do not share one), the
// module's macros and dist tag, its results repository, and the results of
// its buildrequired modules built in the same WorkDir.
func (b *Backend) mockConfig(ctx context.Context, mod *engine.Module, p modulePaths, pkg string) (*MockConfig, error) {
	arch, err := b.hostArch(ctx)
	if err != nil {
		return nil, err
	}
	s := b.cfg.Mock
	cfg := &MockConfig{
		Root: p.tag + "-" + pkg, Arch: arch,
		ReleaseVer: s.ReleaseVer, ModulePlatformID: s.ModulePlatformID,
		BuildrootPackages: s.BuildrootPackages,
		DistTag:           mod.Macros.DistTag, Macros: mod.Macros.MacrosFile,
		ResultsDir: p.results,
		Repos:      slices.Clone(s.Repos),
	}
	for _, name := range slices.Sorted(maps.Keys(mod.Build.BuildRequires)) {
		br := mod.Build.BuildRequires[name]
		if slices.Contains(expand.DefaultBaseModuleNames, name) {
			if cfg.ModulePlatformID == "" {
				cfg.ModulePlatformID = name + ":" + br.Stream
			}
			if cfg.ReleaseVer == "" {
				cfg.ReleaseVer = trailingDigits(br.Stream)
			}
			continue
		}
		tag := "module-" + name + "-" + br.Stream + "-" + br.Version + "-" + br.Context
		results := filepath.Join(b.cfg.WorkDir, tag, resultsDirName)
		if !filepath.IsLocal(tag) || strings.ContainsAny(tag, "/\\") {
			continue
		}
		if _, err := os.Stat(filepath.Join(results, "repodata", "repomd.xml")); err != nil {
			continue
		}
		cfg.Repos = append(cfg.Repos, MockRepo{ID: tag, BaseURL: "file://" + results})
		cfg.ModuleEnable = append(cfg.ModuleEnable, name+":"+br.Stream)
	}
	if _, err := cfg.Render(); err != nil {
		return nil, fmt.Errorf("localbuild: mock configuration of %s: %w (set the mock release version and module platform id)", pkg, err)
	}
	return cfg, nil
}

// trailingDigits returns the digits ending s ("f40" → "40"), or "".
func trailingDigits(s string) string {
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	return s[i:]
}

// taskRecord is tasks/<package>.json: how a package's last build ended.
type taskRecord struct {
	TaskID        int64  `json:"task_id"`
	ModuleBuildID int64  `json:"module_build_id"`
	Package       string `json:"package"`
	// State is Koji's name of the state: COMPLETE, FAILED or CANCELED.
	State  string `json:"state"`
	NVR    string `json:"nvr,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Log is the build log, relative to the module build's directory's
	// results/.
	Log     string           `json:"log"`
	SRPM    *recordArtifact  `json:"srpm,omitempty"`
	RPMs    []recordArtifact `json:"rpms,omitempty"`
	Started time.Time        `json:"started"`
	Ended   time.Time        `json:"ended"`
}

// recordArtifact is one package a build produced: its NEVRA and its file
// name in results/.
type recordArtifact struct {
	NEVRA   string `json:"nevra"`
	Name    string `json:"name"`
	Epoch   int    `json:"epoch"`
	Version string `json:"version"`
	Release string `json:"release"`
	Arch    string `json:"arch"`
	File    string `json:"file"`
}

func recordArtifactOf(a Artifact) recordArtifact {
	n := a.NEVRA
	return recordArtifact{NEVRA: n.String(), Name: n.Name, Epoch: n.Epoch, Version: n.Version, Release: n.Release, Arch: n.Arch, File: filepath.Base(a.Path)}
}

func (a recordArtifact) nevra() NEVRA {
	return NEVRA{Name: a.Name, Epoch: a.Epoch, Version: a.Version, Release: a.Release, Arch: a.Arch}
}

// artifacts returns the SRPM and the RPMs.
func (r taskRecord) artifacts() []recordArtifact {
	if r.SRPM == nil {
		return r.RPMs
	}
	return append([]recordArtifact{*r.SRPM}, r.RPMs...)
}

func recordPath(p modulePaths, pkg string) string {
	return filepath.Join(p.tasks, pkg+".json")
}

// readRecord reads pkg's task record; a missing one is fs.ErrNotExist.
func readRecord(p modulePaths, pkg string) (taskRecord, error) {
	var rec taskRecord
	data, err := os.ReadFile(recordPath(p, pkg))
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		return rec, fmt.Errorf("localbuild: task record %s: %w", recordPath(p, pkg), err)
	}
	for _, a := range rec.artifacts() {
		if a.File == "" || filepath.Base(a.File) != a.File {
			return rec, fmt.Errorf("localbuild: task record %s: bad file name %q", recordPath(p, pkg), a.File)
		}
	}
	return rec, nil
}

func writeRecord(p modulePaths, rec taskRecord) error {
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(recordPath(p, rec.Package), append(data, '\n'))
}

// writeFileAtomic writes data to a temporary file in path's directory,
// syncs it and renames it over path, then syncs the directory: a reader,
// or the next process after a crash, sees the old file or the new one,
// never a part.
func writeFileAtomic(path string, data []byte) error {
	return writeAtomic(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// writeAtomic is writeFileAtomic for content that write produces.
func writeAtomic(path string, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".tmp-"+filepath.Base(path)+"-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = write(f); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// nextTaskID hands out the next task id. The caller holds b.mu, which
// orders the goroutines of this process; the lock file orders processes.
func (b *Backend) nextTaskID() (int64, error) {
	var id int64
	err := b.withTaskIDLock(func(cur int64) (int64, error) {
		id = cur + 1
		return id, nil
	})
	return id, err
}

// withTaskIDLock reads the counter under WorkDir's lock file and writes the
// value f returns when it differs.
func (b *Backend) withTaskIDLock(f func(cur int64) (int64, error)) error {
	lock, err := os.OpenFile(filepath.Join(b.cfg.WorkDir, taskIDLockFile), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("localbuild: task id lock: %w", err)
	}
	defer lock.Close() // releases the flock
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("localbuild: task id lock: %w", err)
	}
	path := filepath.Join(b.cfg.WorkDir, taskIDFile)
	var cur int64
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("localbuild: task id counter: %w", err)
	default:
		cur, err = strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
		if err != nil || cur < 0 {
			return fmt.Errorf("localbuild: task id counter %s holds %q", path, data)
		}
	}
	next, err := f(cur)
	if err != nil || next == cur {
		return err
	}
	if err := writeFileAtomic(path, []byte(strconv.FormatInt(next, 10)+"\n")); err != nil {
		return fmt.Errorf("localbuild: task id counter: %w", err)
	}
	return nil
}

// highestRecordedTaskID returns the highest task id of the task records
// under WorkDir.
func (b *Backend) highestRecordedTaskID() (int64, error) {
	files, err := filepath.Glob(filepath.Join(b.cfg.WorkDir, "module-*", tasksDirName, "*.json"))
	if err != nil {
		return 0, err
	}
	var highest int64
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return 0, fmt.Errorf("localbuild: %w", err)
		}
		var rec struct {
			TaskID int64 `json:"task_id"`
		}
		if err := json.Unmarshal(data, &rec); err != nil {
			b.log.Warn("unreadable task record", "file", f, "err", err)
			continue
		}
		highest = max(highest, rec.TaskID)
	}
	return highest, nil
}
