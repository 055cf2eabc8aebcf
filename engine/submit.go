package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/expand"
	"github.com/rida-build/rida/modulemd"
)

// SubmitStore is what submission needs from the database.
type SubmitStore interface {
	FindModuleBuilds(ctx context.Context, f rida.ModuleBuildFilter) ([]*rida.ModuleBuild, int, error)
	FindModuleBuildByID(ctx context.Context, id int64, inc rida.ModuleBuildInclude) (*rida.ModuleBuild, error)
	CreateModuleBuild(ctx context.Context, m *rida.ModuleBuild) error
	TransitionModuleBuild(ctx context.Context, t rida.ModuleTransition) (*rida.ModuleBuild, error)
}

// SubmitSCM is what submission needs from the source repositories.
type SubmitSCM interface {
	SCM
	CommitTime(ctx context.Context, repoURL, commit string) (time.Time, error)
	BranchContains(ctx context.Context, repoURL, branch, commit string) (bool, error)
}

// SubmitConfig configures submissions (MBS's options of the same meaning).
type SubmitConfig struct {
	SCMPolicy rida.SCMPolicy
	// RPMsBase is RPMS_DEFAULT_REPOSITORY: components live at
	// <RPMsBase>/<name> unless they name their own repository.
	RPMsBase string
	// AllowCustomComponentRepos is RPMS_ALLOW_REPOSITORY.
	AllowCustomComponentRepos bool
	// AllowNameOverrideFromSCM and AllowStreamOverrideFromSCM let the
	// modulemd's name and stream differ from the repository and branch.
	AllowNameOverrideFromSCM, AllowStreamOverrideFromSCM bool
	// YAMLSubmitAllowed is YAML_SUBMIT_ALLOWED (scratch builds may always
	// submit YAML).
	YAMLSubmitAllowed bool
	// AllowScratch is MODULES_ALLOW_SCRATCH.
	AllowScratch bool
	// PrivilegedModuleNames may set xmd.mbs disttag_marking and
	// koji_tag_arches.
	PrivilegedModuleNames []string
	BaseModuleNames       []string
	StreamSuffixes        []expand.StreamSuffix
	// RebuildStrategy is the default; AllowRebuildStrategyOverride and
	// AllowedRebuildStrategies govern the request's choice.
	RebuildStrategy              rida.RebuildStrategy
	AllowRebuildStrategyOverride bool
	AllowedRebuildStrategies     []rida.RebuildStrategy
	// RefWorkers bounds the component refs resolved at once (MBS: 20).
	RefWorkers int
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Submitter verifies submissions and creates their module builds.
type Submitter struct {
	store    SubmitStore
	scm      SubmitSCM
	resolver expand.Resolver
	config   SubmitConfig
}

// NewSubmitter returns a Submitter. scm may be nil, which refuses SCM
// submissions.
func NewSubmitter(store SubmitStore, scm SubmitSCM, resolver expand.Resolver, config SubmitConfig) *Submitter {
	if len(config.BaseModuleNames) == 0 {
		config.BaseModuleNames = expand.DefaultBaseModuleNames
	}
	if config.RebuildStrategy == "" {
		config.RebuildStrategy = rida.RebuildChangedAndAfter
	}
	if config.RefWorkers <= 0 {
		config.RefWorkers = 20
	}
	if config.Now == nil {
		config.Now = time.Now
	}
	return &Submitter{store: store, scm: scm, resolver: resolver, config: config}
}

// defaultComponentRef is the ref of a component that names none (MBS).
const defaultComponentRef = "master"

// versionFormat is how MBS turns a time into a module version.
const versionFormat = "20060102150405"

func invalid(format string, args ...any) error { return rida.Errorf(rida.CodeInvalid, format, args...) }

// Submit implements the submission pipeline of mbs.md §3.1: fetch and check
// the modulemd, resolve every component ref, expand the streams, then create
// (or resume, or find) one module build per expanded context.
func (s *Submitter) Submit(ctx context.Context, req rida.SubmitRequest) (*rida.Submission, error) {
	strategy, err := s.checkOptions(req)
	if err != nil {
		return nil, err
	}
	reuseID, err := s.reuseSource(ctx, req.ReuseComponentsFrom, strategy)
	if err != nil {
		return nil, err
	}
	var mmd *modulemd.Stream
	if req.Modulemd != "" || req.SCMURL == "" {
		mmd, err = s.fromYAML(req)
	} else {
		mmd, err = s.fromSCM(ctx, req)
	}
	if err != nil {
		return nil, err
	}
	if err := s.validate(mmd); err != nil {
		return nil, err
	}
	if err := s.resolveComponentRefs(ctx, mmd); err != nil {
		return nil, err
	}
	exp, err := expand.Expand(ctx, mmd, expand.Options{
		BuildrequireOverrides: req.BuildrequireOverrides, RequireOverrides: req.RequireOverrides,
		Branch: req.Branch, BaseModuleNames: s.config.BaseModuleNames, StreamSuffixes: s.config.StreamSuffixes,
	}, s.resolver)
	if err != nil {
		return nil, err
	}
	if req.DryRun {
		return s.explain(ctx, exp)
	}
	return s.create(ctx, req, strategy, reuseID, exp)
}

// reuseSource resolves reuse_components_from to the id of a ready build
// (MBS: normalised to the module id; meaningless with strategy "all").
func (s *Submitter) reuseSource(ctx context.Context, ref string, strategy rida.RebuildStrategy) (*int64, error) {
	if ref == "" {
		return nil, nil
	}
	if strategy == rida.RebuildAll {
		return nil, invalid(`You cannot specify the parameter "reuse_components_from" when the "rebuild_strategy" parameter is set to "all"`)
	}
	var m *rida.ModuleBuild
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		found, err := s.store.FindModuleBuildByID(ctx, id, rida.ModuleBuildInclude{})
		if err != nil && !errors.Is(err, rida.ErrModuleBuildNotFound) {
			return nil, err
		}
		m = found
	} else {
		parts := strings.Split(ref, ":")
		if len(parts) != 4 {
			return nil, invalid(`The parameter "reuse_components_from" contains an invalid module identifier`)
		}
		version, err := strconv.ParseUint(parts[2], 10, 64)
		if err != nil {
			return nil, invalid(`The parameter "reuse_components_from" contains an invalid module identifier`)
		}
		if m, err = findNSVC(ctx, s.store, parts[0], parts[1], &version, parts[3]); err != nil {
			return nil, err
		}
	}
	if m == nil {
		return nil, invalid(`The module in the parameter "reuse_components_from" could not be found`)
	}
	if m.State != rida.ModuleReady {
		return nil, invalid(`The module in the parameter "reuse_components_from" must be in the ready state`)
	}
	return &m.ID, nil
}

// checkOptions applies MBS's checks of the optional parameters and returns
// the rebuild strategy to use.
func (s *Submitter) checkOptions(req rida.SubmitRequest) (rida.RebuildStrategy, error) {
	if req.Scratch && !s.config.AllowScratch {
		return "", rida.Errorf(rida.CodeForbidden, "Scratch builds are not enabled")
	}
	if req.Modulemd != "" && !req.Scratch && !s.config.YAMLSubmitAllowed {
		return "", rida.Errorf(rida.CodeForbidden, "YAML submission is not enabled")
	}
	if req.Modulemd == "" {
		switch {
		case req.SCMURL == "":
			return "", invalid("Missing scmurl")
		case req.ModuleName != "":
			return "", invalid("Module name override is only allowed when a YAML file is submitted")
		case req.ModuleStream != "":
			return "", invalid("Stream name override is only allowed when a YAML file is submitted")
		}
	}
	for key, overrides := range map[string]map[string][]string{"buildrequire_overrides": req.BuildrequireOverrides, "require_overrides": req.RequireOverrides} {
		for name, streams := range overrides {
			if name == "" || streams == nil {
				return "", invalid("The %q parameter must be an object with the keys as module names and the values as arrays of streams", key)
			}
		}
	}
	strategy := s.config.RebuildStrategy
	if req.RebuildStrategy != "" && req.RebuildStrategy != strategy {
		if !s.config.AllowRebuildStrategyOverride {
			return "", invalid(`The request contains the "rebuild_strategy" parameter but overriding the default isn't allowed`)
		}
		if !slices.Contains(s.config.AllowedRebuildStrategies, req.RebuildStrategy) {
			names := make([]string, len(s.config.AllowedRebuildStrategies))
			for i, a := range s.config.AllowedRebuildStrategies {
				names[i] = string(a)
			}
			return "", invalid(`The rebuild method of "%s" is not allowed. Choose from: %s.`, req.RebuildStrategy, strings.Join(names, ", "))
		}
		strategy = req.RebuildStrategy
	}
	return strategy, nil
}

// fromSCM fetches the modulemd of an SCM submission and applies MBS's name,
// stream and version rules (§3.1 steps 1, 3–5).
func (s *Submitter) fromSCM(ctx context.Context, req rida.SubmitRequest) (*modulemd.Stream, error) {
	u, err := rida.ParseSCMURL(req.SCMURL)
	if err != nil {
		return nil, err
	}
	if err := s.config.SCMPolicy.Check(u); err != nil {
		return nil, err
	}
	if req.Branch != "" {
		if err := rida.CheckGitRef(req.Branch); err != nil {
			return nil, err
		}
	}
	if s.scm == nil {
		return nil, rida.Errorf(rida.CodeUnavailable, "This server has no SCM access configured")
	}
	commit, err := s.scm.ResolveRef(ctx, u.Repo, u.Commit)
	if err != nil {
		return nil, err
	}
	if req.Branch != "" {
		// The branch names the stream, so the commit must be on it (MBS's
		// SCM.verify).
		on, err := s.scm.BranchContains(ctx, u.Repo, req.Branch, commit)
		if err != nil {
			return nil, err
		}
		if !on {
			return nil, invalid("Commit %s is not in branch %s.", commit, req.Branch)
		}
	}
	name := u.RepoName()
	path := u.ModulemdPath(name)
	data, err := s.scm.ReadFile(ctx, u.Repo, commit, path)
	if err != nil {
		if rida.ErrorCodeOf(err) == rida.CodeUnprocessable {
			return nil, &rida.Error{Code: rida.CodeUnprocessable, Message: fmt.Sprintf("The SCM repository doesn't contain a modulemd file (%s at %s)", path, commit), Err: err}
		}
		return nil, err
	}
	committed, err := s.scm.CommitTime(ctx, u.Repo, commit)
	if err != nil {
		return nil, err
	}
	mmd, err := modulemd.ReadStream(data, path, modulemd.Options{})
	if err != nil {
		return nil, modulemdError(path, err)
	}
	mmd = mmd.UpgradeV2()
	if mmd.Name != "" && mmd.Name != name && !s.config.AllowNameOverrideFromSCM {
		return nil, invalid(`The name "%s" that is stored in the modulemd is not valid`, mmd.Name)
	}
	if mmd.Name == "" || !s.config.AllowNameOverrideFromSCM {
		mmd.Name = name
	}
	// Without a branch (the seed API sends none), the stream comes from
	// the modulemd.
	switch {
	case req.Branch == "" && mmd.Stream == "":
		return nil, invalid("Missing branch: the modulemd has no stream, so the branch must name it")
	case req.Branch == "":
	case mmd.Stream != "" && mmd.Stream != req.Branch && !s.config.AllowStreamOverrideFromSCM:
		return nil, invalid(`The stream "%s" that is stored in the modulemd does not match the branch "%s"`, mmd.Stream, req.Branch)
	case mmd.Stream == "" || !s.config.AllowStreamOverrideFromSCM:
		mmd.Stream = req.Branch
	}
	if mmd.Version != 0 {
		return nil, invalid(`The version "%d" is already defined in the modulemd but it shouldn't be since the version is generated based on the commit time`, mmd.Version)
	}
	mmd.Version, _ = strconv.ParseUint(committed.UTC().Format(versionFormat), 10, 64)
	setMBS(mmd, "scmurl", u.Raw)
	setMBS(mmd, "commit", commit)
	return mmd, nil
}

// fromYAML reads a YAML submission (§3.1, YAML path).
func (s *Submitter) fromYAML(req rida.SubmitRequest) (*modulemd.Stream, error) {
	if req.Modulemd == "" {
		return nil, invalid("Invalid file submitted")
	}
	mmd, err := modulemd.ReadStream([]byte(req.Modulemd), bodySource, modulemd.Options{})
	if err != nil {
		return nil, modulemdError(bodySource, err)
	}
	mmd = mmd.UpgradeV2()
	if mmd.Name == "" {
		mmd.Name = req.ModuleName
	}
	if mmd.Name == "" {
		return nil, invalid("The module's name was not found in the modulemd nor given as module_name")
	}
	switch {
	case req.ModuleStream != "":
		mmd.Stream = req.ModuleStream
	case mmd.Stream == "":
		mmd.Stream = "master"
	}
	if mmd.Version == 0 {
		mmd.Version, _ = strconv.ParseUint(s.config.Now().UTC().Format(versionFormat), 10, 64)
	}
	setMBS(mmd, "scmurl", "")
	setMBS(mmd, "commit", "")
	return mmd, nil
}

// setMBS sets xmd.mbs.<key>.
func setMBS(mmd *modulemd.Stream, key string, value any) {
	mbs, _ := mmd.XMDMap()["mbs"].(map[string]any)
	if mbs == nil {
		mbs = map[string]any{}
		mmd.SetXMD("mbs", mbs)
	}
	mbs[key] = value
}

// validate is MBS's validate_mmd plus the component checks of format_mmd.
func (s *Submitter) validate(mmd *modulemd.Stream) error {
	if slices.Contains(s.config.BaseModuleNames, mmd.Name) {
		return invalid(`You cannot build a module named "%s" since it is a base module`, mmd.Name)
	}
	if mbs, ok := mmd.XMDMap()["mbs"].(map[string]any); ok {
		privileged := slices.Contains(s.config.PrivilegedModuleNames, mmd.Name)
		for key := range mbs {
			switch {
			case key == "scmurl" || key == "commit":
				// Set by rida itself above.
			case privileged && (key == "disttag_marking" || key == "koji_tag_arches"):
			default:
				return invalid(`The "mbs" xmd field is reserved for MBS`)
			}
		}
	}
	packages := map[string]string{}
	for _, key := range slices.Sorted(maps.Keys(mmd.RPMComponents)) {
		c := mmd.RPMComponents[key]
		// Two keys naming one package would build it twice and tag two
		// builds of one name into the module.
		if other, dup := packages[c.PackageName()]; dup {
			return rida.Errorf(rida.CodeUnprocessable, "The components %q and %q both build the package %q", other, key, c.PackageName())
		}
		packages[c.PackageName()] = key
		if c.Repository != "" && !s.config.AllowCustomComponentRepos {
			return rida.Errorf(rida.CodeForbidden, "Custom component repositories aren't allowed. The component %q names %s.", key, c.Repository)
		}
	}
	// buildafter is supported (MBS refuses it): a cycle, an unknown name or
	// a mix with buildorder is refused here, before a build exists, rather
	// than failing the build in init.
	if _, err := assignBatches(mmd.RPMComponents, slices.Sorted(maps.Keys(mmd.RPMComponents))); err != nil {
		return err
	}
	for _, key := range slices.Sorted(maps.Keys(mmd.ModuleComponents)) {
		return rida.Errorf(rida.CodeForbidden, "Custom module repositories aren't allowed. Including the module %q is not supported.", key)
	}
	return nil
}

// resolveComponentRefs resolves every RPM component's ref to a commit, in
// parallel with a bound, and records them in xmd.mbs.rpms. All failures
// are reported together, each naming its component, repository and ref.
func (s *Submitter) resolveComponentRefs(ctx context.Context, mmd *modulemd.Stream) error {
	if len(mmd.RPMComponents) == 0 {
		return nil
	}
	if s.scm == nil {
		return rida.Errorf(rida.CodeUnavailable, "This server has no SCM access configured to resolve component refs")
	}
	keys := slices.Sorted(maps.Keys(mmd.RPMComponents))
	commits := make([]string, len(keys))
	errs := make([]error, len(keys))
	sem := make(chan struct{}, s.config.RefWorkers)
	var wg sync.WaitGroup
	for i, key := range keys {
		c := mmd.RPMComponents[key]
		ref := c.Ref
		if ref == "" {
			ref = defaultComponentRef
		}
		repo := rida.ComponentRepoURL(s.config.RPMsBase, c.PackageName(), c.Repository)
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			commit, err := s.scm.ResolveRef(ctx, repo, ref)
			if err != nil {
				errs[i] = fmt.Errorf("component %s (%s#%s): %w", key, repo, ref, err)
				return
			}
			commits[i] = commit
		}()
	}
	wg.Wait()
	var failed []string
	var first error
	rpms := map[string]any{}
	for i, key := range keys {
		if errs[i] != nil {
			failed = append(failed, rida.ErrorMessageOf(errs[i]))
			if first == nil || rida.ErrorCodeOf(first) != rida.CodeUnprocessable {
				first = errs[i]
			}
			continue
		}
		rpms[key] = map[string]any{"ref": commits[i]}
	}
	if len(failed) > 0 {
		code := rida.ErrorCodeOf(first)
		if code == rida.CodeInternal {
			code = rida.CodeUnprocessable
		}
		return &rida.Error{Code: code, Message: "Failed to get the latest commit of some components: " + strings.Join(failed, "; "), Err: errors.Join(errs...)}
	}
	setMBS(mmd, "rpms", rpms)
	return nil
}

// explain answers a dry run: the builds that would be created, and why.
func (s *Submitter) explain(ctx context.Context, exp *expand.Expansion) (*rida.Submission, error) {
	sub := &rida.Submission{}
	for _, r := range exp.Results {
		m, err := s.newBuild(ctx, rida.SubmitRequest{}, "", r)
		if err != nil {
			return nil, err
		}
		sub.Builds = append(sub.Builds, m)
		sub.Created = append(sub.Created, false)
		sub.Explanation = append(sub.Explanation, fmt.Sprintf("%s: %s", m.NSVC(), r.Why))
	}
	for _, rej := range exp.Rejected {
		sub.Explanation = append(sub.Explanation, fmt.Sprintf("rejected %s: %s", strings.Join(rej.Combination, ", "), rej.Reason))
	}
	return sub, nil
}

// create makes, resumes or finds one build per expanded context
// (§3.1 step 11).
func (s *Submitter) create(ctx context.Context, req rida.SubmitRequest, strategy rida.RebuildStrategy, reuseID *int64, exp *expand.Expansion) (*rida.Submission, error) {
	sub := &rida.Submission{}
	var skipped []*rida.ModuleBuild
	// Every build is looked up before any is created or resumed, so a
	// submission refused for one context changes none.
	type planned struct{ m, existing *rida.ModuleBuild }
	plan := make([]planned, 0, len(exp.Results))
	for _, r := range exp.Results {
		m, err := s.newBuild(ctx, req, strategy, r)
		if err != nil {
			return nil, err
		}
		m.ReusedModuleID = reuseID
		existing, err := findNSVC(ctx, s.store, m.Name, m.Stream, &m.Version, m.Context)
		if err != nil {
			return nil, err
		}
		if existing != nil && !req.Scratch && existing.State == rida.ModuleFailed {
			// MBS let any allowed user resume anyone's failed build.
			if err := rida.CheckOwner(ctx, existing.Owner, "resume", existing.ID); err != nil {
				return nil, err
			}
		}
		plan = append(plan, planned{m, existing})
	}
	for _, p := range plan {
		m, existing := p.m, p.existing
		switch {
		case existing != nil && !req.Scratch && existing.State != rida.ModuleFailed:
			skipped = append(skipped, existing)
			sub.Builds = append(sub.Builds, existing)
			sub.Created = append(sub.Created, false)
			continue
		case existing != nil && !req.Scratch:
			resumed, err := s.resume(ctx, existing, req, strategy)
			if err != nil {
				return nil, err
			}
			sub.Builds = append(sub.Builds, resumed)
			sub.Created = append(sub.Created, true)
			continue
		case req.Scratch:
			if err := s.scratchContext(ctx, m); err != nil {
				return nil, err
			}
		}
		if err := s.store.CreateModuleBuild(ctx, m); err != nil {
			return nil, fmt.Errorf("create module build %s: %w", m.NSVC(), err)
		}
		sub.Builds = append(sub.Builds, m)
		sub.Created = append(sub.Created, true)
	}
	if len(skipped) == len(exp.Results) {
		return nil, rida.Errorf(rida.CodeConflict, "Module (state=%d) already exists. Only a new build, resubmission of a failed build or build against new buildrequirements is allowed.", int(skipped[0].State))
	}
	return sub, nil
}

// newBuild turns one expansion result into the module build to store.
func (s *Submitter) newBuild(ctx context.Context, req rida.SubmitRequest, strategy rida.RebuildStrategy, r *expand.Result) (*rida.ModuleBuild, error) {
	mmd := r.Stream.Copy()
	if r.Version != 0 {
		mmd.Version = r.Version
	}
	mmd.Context = r.Context
	text, err := mmd.Emit(modulemd.EmitOptions{})
	if err != nil {
		return nil, fmt.Errorf("emit expanded modulemd: %w", err)
	}
	mbs, _ := mmd.XMDMap()["mbs"].(map[string]any)
	scmurl, _ := mbs["scmurl"].(string)
	commit, _ := mbs["commit"].(string)
	m := &rida.ModuleBuild{
		Name: mmd.Name, Stream: mmd.Stream, Version: mmd.Version, Context: r.Context,
		BuildContext: r.BuildContext, BuildContextNoBMS: r.BuildContextNoBMS, RuntimeContext: r.RuntimeContext,
		State: rida.ModuleInit, Owner: req.Owner, SCMURL: scmurl, Modulemd: string(text),
		RebuildStrategy: strategy, Scratch: req.Scratch, BuildRequires: r.BuildRequires,
		Commit: commit, MSE: true,
	}
	m.Requires = runtimeRequires(mmd)
	for _, name := range slices.Sorted(maps.Keys(r.BuildRequires)) {
		if !slices.Contains(s.config.BaseModuleNames, name) {
			continue
		}
		br := r.BuildRequires[name]
		version, _ := strconv.ParseUint(br.Version, 10, 64)
		base, err := findNSVC(ctx, s.store, name, br.Stream, &version, br.Context)
		if err != nil {
			return nil, fmt.Errorf("find base module %s:%s: %w", name, br.Stream, err)
		}
		if base != nil {
			m.BaseModules = append(m.BaseModules, base)
		}
	}
	return m, nil
}

// scratchContext gives a scratch build its "_<n>" context suffix: one more
// than the scratch builds of the same N:S:V and context.
func (s *Submitter) scratchContext(ctx context.Context, m *rida.ModuleBuild) error {
	scratch := true
	builds, _, err := s.store.FindModuleBuilds(ctx, rida.ModuleBuildFilter{Name: &m.Name, Stream: &m.Stream, Version: &m.Version, Scratch: &scratch, PerPage: rida.MaxPerPage})
	if err != nil {
		return err
	}
	n := 0
	for _, b := range builds {
		if strings.HasPrefix(b.Context, m.Context) {
			n++
		}
	}
	m.Context = fmt.Sprintf("%s_%d", m.Context, n+1)
	return nil
}

// resume restarts a failed build (MBS semantics): same rebuild strategy,
// back to init when it never got past it, else to wait.
func (s *Submitter) resume(ctx context.Context, existing *rida.ModuleBuild, req rida.SubmitRequest, strategy rida.RebuildStrategy) (*rida.ModuleBuild, error) {
	if existing.RebuildStrategy != strategy {
		return nil, invalid(`You cannot change the module's "rebuild_strategy" when resuming a module build`)
	}
	full, err := s.store.FindModuleBuildByID(ctx, existing.ID, rida.ModuleBuildInclude{StateTrace: true})
	if err != nil {
		return nil, err
	}
	to := rida.ModuleInit
	for i := len(full.StateTrace) - 1; i >= 0; i-- {
		if st := rida.ModuleState(full.StateTrace[i].State); st != rida.ModuleFailed {
			if st != rida.ModuleInit {
				to = rida.ModuleWait
			}
			break
		}
	}
	resumed, err := s.store.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: full.ID, FromRev: full.Rev, To: to, Reason: "Resubmitted by " + req.Owner})
	if err != nil {
		return nil, fmt.Errorf("resume module build %d: %w", full.ID, err)
	}
	return resumed, nil
}
