package koji

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/engine"
	"github.com/rida-build/rida/expand"
	"github.com/rida-build/rida/localbuild"
)

// BackendConfig configures a Backend.
type BackendConfig struct {
	// Client is the logged-in (or logging-in) client of the hub.
	Client *Client
	// CGName is the content generator reservations and imports are made
	// as; default DefaultCGName.
	CGName string
	// CGVersion is the content generator version recorded in the import's
	// buildroot; default "rida".
	CGVersion string
	// DistGit is the base of the components' sources: a component is built
	// from DistGit + "/" + package + "?#" + ref. Empty builds from
	// "git+" + the component's SCM URL.
	DistGit string
	// Arches are the module tags' arches; default ["x86_64"].
	Arches []string
	// Perm is the permission guarding the tags; default "admin".
	Perm string
	// Extra is set on the tags; default MBS's KOJI_TAG_EXTRA_OPTS
	// (DefaultTagExtra). xmd.mbs_options.repo_include_all overrides
	// repo_include_all per module, as in MBS.
	Extra map[string]any
	// Owner is the Koji user that owns the package-list entries.
	Owner string
	// Runner runs rpmbuild -bs for module-build-macros' SRPM, in a scratch
	// directory below WorkDir (os.TempDir() when empty).
	Runner  localbuild.Runner
	WorkDir string
	// HostArch and HostOS describe the import's buildroot (MBS: uname -m
	// and the distribution); defaults from the running process and
	// /etc/os-release.
	HostArch, HostOS string
	// Now is the clock; default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// Poll is the interval between checks of the tagBuild tasks that
	// TagComponents waits for; default 2s.
	Poll time.Duration
	// SourceModulemd returns the module's modulemd as it is in its
	// repository at the built commit (the import's modulemd.src.txt);
	// ok is false when there is none (a YAML submission). Nil imports
	// without modulemd.src.txt.
	SourceModulemd func(ctx context.Context, m *rida.ModuleBuild) (data []byte, ok bool, err error)
	// BuildLog returns the build's log (the import's build.log, type
	// "log"); ok is false when there is none. Nil imports without it.
	BuildLog func(ctx context.Context, m *rida.ModuleBuild) (data []byte, ok bool, err error)
	// NoCGTag leaves the imported builds untagged; by default they are
	// tagged into the CG build tag (MBS's KOJI_CG_TAG_BUILD, mbs.md
	// §6.4): CGBuildTagTemplate with "{}" replaced by the stream of the
	// first of BaseModuleNames the module buildrequires, else
	// CGDefaultBuildTag, whichever exists first in Koji.
	NoCGTag            bool
	CGBuildTagTemplate string
	CGDefaultBuildTag  string
	BaseModuleNames    []string
}

// MBS's KOJI_CG_BUILD_TAG_TEMPLATE and KOJI_CG_DEFAULT_BUILD_TAG.
const (
	DefaultCGBuildTagTemplate = "{}-modular-updates-candidate"
	DefaultCGDefaultBuildTag  = "modular-updates-candidate"
)

// DefaultTagExtra is MBS's KOJI_TAG_EXTRA_OPTS (mbs.md §3.7 step 4).
func DefaultTagExtra() map[string]any {
	return map[string]any{
		"mock.package_manager":     "dnf",
		"repo_include_all":         true,
		"mock.new_chroot":          0,
		"mock.yum.module_hotfixes": 1,
	}
}

// Backend is the engine's Koji backend (mbs.md §3.7–§3.12, §6): module
// tags and target, component builds by Koji tasks, tagging and newRepo,
// the content generator reservation of the module's NVRs at acceptance and
// the import of the module and its -devel twin when it is done.
type Backend struct {
	cfg BackendConfig
	c   *Client
	log *slog.Logger
}

var (
	_ engine.Backend  = (*Backend)(nil)
	_ engine.Reserver = (*Backend)(nil)
)

// NewBackend returns a Koji backend; cfg.Client is required.
func NewBackend(cfg BackendConfig) (*Backend, error) {
	if cfg.Client == nil {
		return nil, rida.Errorf(rida.CodeInvalid, "koji backend: no client")
	}
	if cfg.CGName == "" {
		cfg.CGName = DefaultCGName
	}
	if cfg.CGVersion == "" {
		cfg.CGVersion = "rida"
	}
	if len(cfg.Arches) == 0 {
		cfg.Arches = []string{"x86_64"}
	}
	if cfg.Perm == "" {
		cfg.Perm = "admin"
	}
	if cfg.Extra == nil {
		cfg.Extra = DefaultTagExtra()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.CGBuildTagTemplate == "" {
		cfg.CGBuildTagTemplate = DefaultCGBuildTagTemplate
	}
	if cfg.CGDefaultBuildTag == "" {
		cfg.CGDefaultBuildTag = DefaultCGDefaultBuildTag
	}
	if len(cfg.BaseModuleNames) == 0 {
		cfg.BaseModuleNames = []string{"platform"}
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 2 * time.Second
	}
	if cfg.HostArch == "" {
		cfg.HostArch = hostMachine()
	}
	if cfg.HostOS == "" {
		cfg.HostOS = hostOS()
	}
	return &Backend{cfg: cfg, c: cfg.Client, log: cfg.Logger}, nil
}

// tags returns the module tag and the target of mod's build (MBS's
// generate_koji_tag with 256 and 56 characters; scratch builds scrmod-…+id).
func tags(b *rida.ModuleBuild) (tag, target string) {
	tag = expand.KojiTag(b.Name, b.Stream, b.Version, b.Context, expand.KojiTagMaxLength, b.Scratch, b.ID)
	target = expand.KojiTag(b.Name, b.Stream, b.Version, b.Context, expand.KojiTargetMaxLength, b.Scratch, b.ID)
	return tag, target
}

// moduleTag is the recorded koji_tag, else the computed one.
func moduleTag(b *rida.ModuleBuild) string {
	if b.KojiTag != "" {
		return b.KojiTag
	}
	tag, _ := tags(b)
	return tag
}

func targetOf(b *rida.ModuleBuild) string {
	_, target := tags(b)
	return target
}

func checkModule(mod *engine.Module) error {
	if mod == nil || mod.Build == nil {
		return rida.Errorf(rida.CodeInvalid, "koji backend: no module build")
	}
	return nil
}

// Environment is the Koji build environment of mod (mbs.md §3.7 steps
// 2, 4, 5).
func (b *Backend) Environment(mod *engine.Module) (Environment, error) {
	if err := checkModule(mod); err != nil {
		return Environment{}, err
	}
	tag, target := tags(mod.Build)
	env := Environment{
		Tag: tag, Target: target,
		Arches: slices.Clone(b.cfg.Arches), Perm: b.cfg.Perm,
		Extra: maps.Clone(b.cfg.Extra), Owner: b.cfg.Owner,
		Groups: mod.BuildrootGroups, Parents: mod.BuildrequiredTags,
	}
	if s := mod.Stream; s != nil {
		if s.Buildopts != nil && len(s.Buildopts.RPMWhitelist) > 0 {
			env.Packages = slices.Clone(s.Buildopts.RPMWhitelist)
		} else {
			for _, rc := range s.RPMComponents {
				env.Packages = append(env.Packages, rc.PackageName())
			}
		}
		if opts, ok := s.XMDMap()["mbs_options"].(map[string]any); ok {
			if list, ok := opts["blocked_packages"].([]any); ok {
				for _, p := range list {
					if p, ok := p.(string); ok {
						env.Blocked = append(env.Blocked, p)
					}
				}
			}
			if v, ok := opts["repo_include_all"].(bool); ok {
				env.Extra["repo_include_all"] = v
			}
		}
	}
	// module-build-macros is built into the target too; MBS whitelists
	// every package it builds (KojiModuleBuilder.build).
	if !slices.Contains(env.Packages, engine.MacrosPackage) {
		env.Packages = append(env.Packages, engine.MacrosPackage)
	}
	slices.Sort(env.Packages)
	env.Packages = slices.Compact(env.Packages)
	return env, nil
}

// PrepareEnvironment makes the module's tags, target, inheritance,
// package lists and groups (Client.PrepareEnvironment) and returns the
// module tag.
func (b *Backend) PrepareEnvironment(ctx context.Context, mod *engine.Module) (string, error) {
	env, err := b.Environment(mod)
	if err != nil {
		return "", err
	}
	if err := b.c.PrepareEnvironment(ctx, env); err != nil {
		return "", err
	}
	return env.Tag, nil
}

// SubmitComponent submits c's build to the module's target: for
// module-build-macros the SRPM made from mod.Macros with rpmbuild -bs,
// uploaded to cli-build/<time>.<random> as the koji CLI and MBS do
// (mbs.md §3.10); for any other component its dist-git source.
func (b *Backend) SubmitComponent(ctx context.Context, mod *engine.Module, c *rida.ComponentBuild) (int64, error) {
	if err := checkModule(mod); err != nil {
		return 0, err
	}
	target := targetOf(mod.Build)
	var src string
	if c.Package == engine.MacrosPackage {
		var err error
		if src, err = b.uploadMacrosSRPM(ctx, mod); err != nil {
			return 0, err
		}
	} else {
		var err error
		if src, err = b.componentSource(c); err != nil {
			return 0, err
		}
	}
	id, err := b.c.SubmitBuild(ctx, src, target, c.Package)
	if err != nil {
		return 0, err
	}
	b.log.Info("component submitted to Koji", "module", mod.Build.NSVC(), "package", c.Package, "task", id, "src", src)
	return id, nil
}

// SubmitComponents submits a batch (engine.BulkSubmitter): the other
// components in one multicall; module-build-macros, whose SRPM is
// uploaded first, on its own.
func (b *Backend) SubmitComponents(ctx context.Context, mod *engine.Module, comps []*rida.ComponentBuild) ([]int64, []error) {
	ids, errs := make([]int64, len(comps)), make([]error, len(comps))
	if err := checkModule(mod); err != nil {
		for i := range errs {
			errs[i] = err
		}
		return ids, errs
	}
	target := targetOf(mod.Build)
	var reqs []BuildRequest
	var at []int
	for i, c := range comps {
		if c.Package == engine.MacrosPackage {
			ids[i], errs[i] = b.SubmitComponent(ctx, mod, c)
			continue
		}
		src, err := b.componentSource(c)
		if err != nil {
			errs[i] = err
			continue
		}
		reqs = append(reqs, BuildRequest{Src: src, Target: target, Package: c.Package})
		at = append(at, i)
	}
	if len(reqs) == 0 {
		return ids, errs
	}
	got, faults, err := b.c.SubmitBuilds(ctx, reqs)
	for k, i := range at {
		if err != nil {
			errs[i] = err
			continue
		}
		ids[i], errs[i] = got[k], faults[k]
		if faults[k] == nil {
			b.log.Info("component submitted to Koji", "module", mod.Build.NSVC(), "package", comps[i].Package, "task", got[k], "src", reqs[k].Src)
		}
	}
	return ids, errs
}

// componentSource is the build's src: DistGit/<package>?#<ref>, or
// git+<SCM URL> without DistGit.
func (b *Backend) componentSource(c *rida.ComponentBuild) (string, error) {
	ref := c.Ref
	if ref == "" {
		if _, frag, ok := strings.Cut(c.SCMURL, "#"); ok {
			ref = frag
		}
	}
	if b.cfg.DistGit != "" {
		if ref == "" {
			return "", rida.Errorf(rida.CodeUnprocessable, "Failed to build artifact %s: the component has no ref", c.Package)
		}
		return strings.TrimSuffix(b.cfg.DistGit, "/") + "/" + c.Package + "?#" + ref, nil
	}
	if c.SCMURL == "" {
		return "", rida.Errorf(rida.CodeUnprocessable, "Failed to build artifact %s: the component has no SCM URL", c.Package)
	}
	src := c.SCMURL
	if !strings.HasPrefix(src, "git+") {
		src = "git+" + src
	}
	if !strings.Contains(src, "#") && ref != "" {
		src += "?#" + ref
	}
	return src, nil
}

// srpmUploadPrefix is where the koji CLI and MBS upload an SRPM to build
// (mbs.md §3.10).
const srpmUploadPrefix = "cli-build"

// uploadMacrosSRPM builds module-build-macros' SRPM from mod.Macros and
// uploads it; it returns the build's src ("cli-build/<dir>/<file>").
func (b *Backend) uploadMacrosSRPM(ctx context.Context, mod *engine.Module) (string, error) {
	m := mod.Macros
	if m.Spec == "" || m.MacrosFile == "" || m.DistTag == "" {
		return "", rida.Errorf(rida.CodeInternal, "koji backend: %s of %s: the engine gave no spec, macros file or dist tag", engine.MacrosPackage, mod.Build.NSVC())
	}
	if b.cfg.Runner == nil {
		return "", rida.Errorf(rida.CodeInternal, "koji backend: no Runner to build %s with", engine.MacrosPackage)
	}
	work, err := os.MkdirTemp(b.cfg.WorkDir, "rida-macros-*")
	if err != nil {
		return "", fmt.Errorf("koji backend: %s: %w", engine.MacrosPackage, err)
	}
	defer func() { _ = os.RemoveAll(work) }()
	srcDir, top := filepath.Join(work, "SOURCES"), filepath.Join(work, "top")
	for _, d := range []string{srcDir, filepath.Join(top, "SRPMS"), filepath.Join(top, "tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return "", fmt.Errorf("koji backend: %s: %w", engine.MacrosPackage, err)
		}
	}
	spec := filepath.Join(work, engine.MacrosSpecFile)
	if err := os.WriteFile(spec, []byte(m.Spec), 0o644); err != nil {
		return "", fmt.Errorf("koji backend: %s: %w", engine.MacrosPackage, err)
	}
	if err := os.WriteFile(filepath.Join(srcDir, engine.MacrosSourceFile), []byte(m.MacrosFile), 0o644); err != nil {
		return "", fmt.Errorf("koji backend: %s: %w", engine.MacrosPackage, err)
	}
	// The spec defines %dist itself (%global dist); the --define of
	// SRPMCommand gives the same value.
	cmd := localbuild.SRPMCommand(localbuild.SRPMArgs{Spec: spec, SourceDir: srcDir, TopDir: top, Dist: m.DistTag})
	_, stderr, err := b.cfg.Runner.Run(ctx, work, cmd.Name, cmd.Args...)
	if err != nil {
		return "", rida.Errorf(rida.CodeInternal, "Failed to build artifact %s: %s: %v: %s", engine.MacrosPackage, cmd, err, firstLine(stderr))
	}
	srpms, err := filepath.Glob(filepath.Join(top, "SRPMS", "*.src.rpm"))
	if err != nil || len(srpms) != 1 {
		return "", rida.Errorf(rida.CodeInternal, "Failed to build artifact %s: rpmbuild -bs wrote %d source packages, want 1", engine.MacrosPackage, len(srpms))
	}
	f, err := os.Open(srpms[0])
	if err != nil {
		return "", fmt.Errorf("koji backend: %s: %w", engine.MacrosPackage, err)
	}
	defer func() { _ = f.Close() }()
	dir := srpmUploadPrefix + "/" + strings.TrimPrefix(UploadDir(b.cfg.Now(), nil), UploadDirPrefix+"/")
	name := filepath.Base(srpms[0])
	if err := b.c.Upload(ctx, dir, name, f); err != nil {
		return "", err
	}
	return dir + "/" + name, nil
}

func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

// LookupComponent reports on c's Koji build task: by c.TaskID, else the
// newest build task submitted for c's package to the module's target
// (FindBuildTask), which adopts a submission whose task id was lost.
func (b *Backend) LookupComponent(ctx context.Context, mod *engine.Module, c *rida.ComponentBuild) (engine.Task, bool, error) {
	if err := checkModule(mod); err != nil {
		return engine.Task{}, false, err
	}
	id := c.TaskID
	if id == 0 {
		found, ok, err := b.c.FindBuildTask(ctx, targetOf(mod.Build), c.Package)
		if err != nil || !ok {
			return engine.Task{}, false, err
		}
		id = found
	}
	t, ok, err := b.c.ComponentTask(ctx, id, c.Package)
	if err != nil || !ok {
		return engine.Task{}, false, err
	}
	return engine.Task{ID: t.ID, State: t.State, NVR: t.NVR, Reason: t.Reason}, true, nil
}

// LookupComponents is LookupComponent for the components with a task id,
// in two round trips whatever their number (engine.BulkLooker).
func (b *Backend) LookupComponents(ctx context.Context, mod *engine.Module, comps []*rida.ComponentBuild) ([]engine.Task, []bool, error) {
	if err := checkModule(mod); err != nil {
		return nil, nil, err
	}
	ids, pkgs := make([]int64, len(comps)), make([]string, len(comps))
	for i, c := range comps {
		ids[i], pkgs[i] = c.TaskID, c.Package
	}
	got, found, err := b.c.ComponentTasks(ctx, ids, pkgs)
	if err != nil {
		return nil, nil, err
	}
	out := make([]engine.Task, len(got))
	for i, t := range got {
		out[i] = engine.Task{ID: t.ID, State: t.State, NVR: t.NVR, Reason: t.Reason}
	}
	return out, found, nil
}

// CancelComponent cancels c's build task (found by identity when its id
// was not recorded); an ended or unknown task is left alone.
func (b *Backend) CancelComponent(ctx context.Context, mod *engine.Module, c *rida.ComponentBuild) error {
	if err := checkModule(mod); err != nil {
		return err
	}
	id := c.TaskID
	if id == 0 {
		found, ok, err := b.c.FindBuildTask(ctx, targetOf(mod.Build), c.Package)
		if err != nil || !ok {
			return err
		}
		id = found
	}
	return b.c.CancelTask(ctx, id)
}

// TagComponents tags the completed comps into the -build tag (mbs.md
// §3.11) and waits for the tagBuild tasks; Finalize tags those that are not
// build_time_only into the module tag. build_time_only packages
// (module-build-macros) are also added to the -build tag's "build" and
// "srpm-build" groups, so every later buildroot installs them
// (buildroot_add_artifacts with install=True).
func (b *Backend) TagComponents(ctx context.Context, mod *engine.Module, comps []*rida.ComponentBuild) error {
	if err := checkModule(mod); err != nil {
		return err
	}
	tag := moduleTag(mod.Build)
	buildTag := tag + "-build"
	var all, install []string
	for _, c := range comps {
		if c.State != rida.ComponentComplete || c.NVR == "" {
			continue
		}
		all = append(all, c.NVR)
		if c.BuildTimeOnly {
			install = append(install, c.Package)
		}
	}
	if len(install) > 0 {
		groups := map[string][]string{"build": install, "srpm-build": install}
		if err := b.c.ensureGroups(ctx, Environment{Tag: tag, Groups: groups}); err != nil {
			return err
		}
	}
	// Only the -build tag matters to later batches; the module tag gets
	// every batch's builds at once when the module is finalized, which
	// saves a round of reads, tagBuild and waiting per batch.
	return b.tagAndWait(ctx, buildTag, all)
}

// tagAndWait tags nvrs into tag and waits for the tagBuild tasks: a
// closed tagBuild task has tagged its build, so no read after is needed
// (a repeat after a crash finds the builds in listTagged and queues
// nothing).
func (b *Backend) tagAndWait(ctx context.Context, tag string, nvrs []string) error {
	ids, err := b.c.TagBuilds(ctx, tag, nvrs)
	if err != nil || len(ids) == 0 {
		return err
	}
	if err := b.waitTasks(ctx, ids); err != nil {
		return fmt.Errorf("tagging %s into %s: %w", strings.Join(nvrs, ", "), tag, err)
	}
	return nil
}

// waitTasks polls TasksDone every cfg.Poll until the tasks closed, one
// failed, or ctx ended.
func (b *Backend) waitTasks(ctx context.Context, ids []int64) error {
	for {
		done, err := b.c.TasksDone(ctx, ids)
		if err != nil || done {
			return err
		}
		t := time.NewTimer(b.cfg.Poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return rida.Errorf(rida.CodeUnavailable, "waiting for Koji tasks %v: %v", ids, context.Cause(ctx))
		case <-t.C:
		}
	}
}

// StartRepo asks for the -build tag's repository (newRepo).
func (b *Backend) StartRepo(ctx context.Context, mod *engine.Module) (int64, error) {
	if err := checkModule(mod); err != nil {
		return 0, err
	}
	return b.c.NewRepo(ctx, moduleTag(mod.Build)+"-build")
}

// RepoReady reports whether the newRepo task closed.
func (b *Backend) RepoReady(ctx context.Context, mod *engine.Module, taskID int64) (bool, error) {
	return b.c.RepoTaskDone(ctx, taskID)
}

// reclaim takes back a reservation this build made before a crash lost
// its token (CGInitBuild answered, the process died before recording it):
// Koji then refuses the NVR as "already reserved", and nothing but the
// token could import or refund it. A BUILDING build of this content
// generator, owned by this user, without a task, reserved after the module
// build was submitted, can only be that reservation: it is canceled
// (cancelBuild drops the reservation) and reserved again, which Koji
// recycles to the same build id with a new token. Anything else keeps the
// original error.
func (b *Backend) reclaim(ctx context.Context, nvr rida.NVR, m *rida.ModuleBuild, taken error) (int64, string, error) {
	var build *struct {
		ID         int64   `xmlrpc:"id"`
		State      int     `xmlrpc:"state"`
		CGName     *string `xmlrpc:"cg_name"`
		OwnerName  string  `xmlrpc:"owner_name"`
		TaskID     *int64  `xmlrpc:"task_id"`
		CreationTS float64 `xmlrpc:"creation_ts"`
	}
	if err := b.c.CallInto(ctx, &build, "getBuild", nvr.String()); err != nil {
		return 0, "", errors.Join(taken, fmt.Errorf("looking up %s: %w", nvr, err))
	}
	var user struct {
		Name string `xmlrpc:"name"`
	}
	if err := b.c.CallInto(ctx, &user, "getLoggedInUser"); err != nil {
		return 0, "", errors.Join(taken, fmt.Errorf("looking up the Koji user: %w", err))
	}
	if build == nil {
		return 0, "", taken
	}
	created := time.Unix(0, int64(build.CreationTS*1e9))
	if build.State != int(rida.ComponentBuilding) || build.CGName == nil || *build.CGName != b.cfg.CGName ||
		build.OwnerName != user.Name || build.TaskID != nil || created.Before(m.TimeSubmitted.Add(-time.Second)) {
		return 0, "", taken
	}
	b.log.Warn("reclaiming a reservation whose token an interrupted run lost", "nvr", nvr.String(), "build_id", build.ID,
		"reserved_at", created.UTC(), "module", m.NSVC())
	if _, err := b.c.Call(ctx, "cancelBuild", build.ID); err != nil {
		return 0, "", errors.Join(taken, fmt.Errorf("canceling the orphaned reservation of %s (build %d): %w", nvr, build.ID, err))
	}
	return b.c.CGInitBuild(ctx, b.cfg.CGName, nvr)
}

// Reserve reserves the module's NVR and its -devel twin's with
// CGInitBuild (the seed). Scratch builds are never imported and reserve
// nothing. When the -devel reservation fails, the module's is refunded
// before the error is returned, so nothing is left BUILDING in Koji.
func (b *Backend) Reserve(ctx context.Context, mod *engine.Module) (rida.Reservation, error) {
	if err := checkModule(mod); err != nil {
		return rida.Reservation{}, err
	}
	if mod.Build.Scratch {
		return rida.Reservation{}, nil
	}
	// Both in one multicall: each is its own savepoint on the hub, so
	// one may be taken while the other is reserved; a reservation made for
	// nothing is given back at once.
	nvrs := []rida.NVR{ModuleNVR(mod.Build, false), ModuleNVR(mod.Build, true)}
	ids, tokens, errs, err := b.c.CGInitBuilds(ctx, b.cfg.CGName, nvrs)
	if err != nil {
		return rida.Reservation{}, err
	}
	for i := range nvrs {
		if errors.Is(errs[i], ErrAlreadyReserved) {
			ids[i], tokens[i], errs[i] = b.reclaim(ctx, nvrs[i], mod.Build, errs[i])
		}
	}
	if failed := errors.Join(errs...); failed != nil {
		for i := range nvrs {
			if errs[i] != nil {
				continue
			}
			if rerr := b.refund(ctx, ids[i], tokens[i], rida.ComponentFailed); rerr != nil {
				return rida.Reservation{}, errors.Join(failed, fmt.Errorf("refunding the reservation of %s (build %d): %w", nvrs[i], ids[i], rerr))
			}
		}
		// The first failure carries its code (conflict for a taken NVR).
		for _, e := range errs {
			if e != nil {
				return rida.Reservation{}, e
			}
		}
	}
	r := rida.Reservation{BuildID: ids[0], Token: tokens[0], DevelBuildID: ids[1], DevelToken: tokens[1]}
	b.log.Info("module NVRs reserved in Koji", "module", mod.Build.NSVC(), "build_id", r.BuildID, "devel_build_id", r.DevelBuildID)
	return r, nil
}

// Refund gives back the reservations recorded on mod.Build (CANCELED when
// canceled, else FAILED); a reservation that is gone counts as given back.
func (b *Backend) Refund(ctx context.Context, mod *engine.Module, canceled bool) error {
	if err := checkModule(mod); err != nil {
		return err
	}
	state := rida.ComponentFailed
	if canceled {
		state = rida.ComponentCanceled
	}
	mb := mod.Build
	for _, r := range []struct {
		id    int64
		token string
	}{{mb.KojiBuildID, mb.KojiCGToken}, {mb.KojiDevelBuildID, mb.KojiDevelCGToken}} {
		if r.id == 0 {
			continue
		}
		if err := b.refund(ctx, r.id, r.token, state); err != nil {
			return err
		}
	}
	return nil
}

func (b *Backend) refund(ctx context.Context, id int64, token string, state rida.ComponentState) error {
	if token == "" {
		// Nothing to refund with: the reservation cannot be used either.
		return nil
	}
	err := b.c.CGRefundBuild(ctx, b.cfg.CGName, id, token, state)
	if errors.Is(err, ErrReservationGone) {
		b.log.Info("Koji reservation already gone", "build_id", id, "err", err)
		return nil
	}
	return err
}
