package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/expand"
	"github.com/rida-build/rida/modulemd"
	"golang.org/x/sync/errgroup"
)

// SchedulerStore is what the scheduler needs from the database.
// sqlstore.DB implements it.
type SchedulerStore interface {
	ClaimDue(ctx context.Context, owner string, ttl time.Duration, limit int) ([]*rida.ModuleBuild, error)
	ExtendLease(ctx context.Context, id int64, owner string, ttl time.Duration) error
	ReleaseLease(ctx context.Context, id int64, owner string, nextCheckAt time.Time, seenRev int64) error
	MakeDue(ctx context.Context, id int64) error
	ModuleBuildsConcerned(ctx context.Context, taskIDs []int64, tags []string) ([]int64, error)
	SchedulerLoad(ctx context.Context) (buildingComponents, buildingModules int, err error)
	FindModuleBuildByID(ctx context.Context, id int64, inc rida.ModuleBuildInclude) (*rida.ModuleBuild, error)
	FindModuleBuilds(ctx context.Context, f rida.ModuleBuildFilter) ([]*rida.ModuleBuild, int, error)
	TransitionModuleBuild(ctx context.Context, t rida.ModuleTransition) (*rida.ModuleBuild, error)
	UpdateModuleBuild(ctx context.Context, u rida.ModuleUpdate) (*rida.ModuleBuild, error)
	TransitionComponentBuilds(ctx context.Context, ts []rida.ComponentTransition) ([]*rida.ComponentBuild, error)
}

// Gate decides whether a module build in done may become ready (MBS's
// Greenwave check, mbs.md §3.12). passed false keeps it in done, to be asked
// again later; reason, when not empty, becomes the ready build's
// state_reason.
type Gate func(ctx context.Context, m *rida.ModuleBuild) (passed bool, reason string, err error)

// SchedulerConfig tunes the scheduler. The zero value of each field means
// its default.
type SchedulerConfig struct {
	// Owner names this process in leases; default "<hostname>:<pid>".
	Owner string
	// Workers bounds the module builds handled at once; default 4.
	Workers int
	// LeaseTTL is how long a claim lasts without a heartbeat (a crashed
	// process's builds are picked up after it); default 1 minute.
	LeaseTTL time.Duration
	// Scan is how often due builds are looked for without a wake-up;
	// default 1 second.
	Scan time.Duration
	// Poll is how long a build in progress waits before the backend is
	// asked again without a wake-up: the reconciler's interval, spread by
	// ±10%. Default 10 seconds; with messages from the build system (or a
	// backend that notifies) it is only the fallback for a lost message,
	// and cmd/rida sets it to engine.reconcile_interval (60 s).
	Poll time.Duration
	// StuckAfter fails a build in init, wait or build with no change to
	// its state, batch or repository for that long; default 7 days (MBS's
	// CLEANUP_STUCK_BUILDS_TIME), negative never.
	StuckAfter time.Duration
	// SlotRetry is how long a build waiting for a free build slot waits;
	// default 2 seconds.
	SlotRetry time.Duration
	// RetryBackoff is the first wait after a transient error, doubled at
	// each further one up to Poll; default 1 second.
	RetryBackoff time.Duration
	// MaxConcurrentBuilds bounds the components building at once across
	// the service (MBS's NUM_CONCURRENT_BUILDS); default 20, 0 after
	// defaults only if set negative (unlimited).
	MaxConcurrentBuilds int
	// MaxModuleBuilds bounds one module's components building at once;
	// default 0, unlimited (only the fair share of the global limit).
	MaxModuleBuilds int
	// StepsPerClaim bounds the steps taken on one build before it is handed
	// back, so one build cannot hold a worker while others wait; default 32.
	StepsPerClaim int
	// RPMsBase is where component repositories live (as SubmitConfig's).
	RPMsBase string
	// BaseModuleNames and PrivilegedModuleNames choose the dist tag marking
	// (mbs.md §3.9); default expand.DefaultBaseModuleNames and none.
	BaseModuleNames, PrivilegedModuleNames []string
	// Gate is the done → ready hook; nil passes every build.
	Gate Gate
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger receives the scheduler's log; default discards.
	Logger *slog.Logger
}

func (c *SchedulerConfig) setDefaults() {
	if c.Owner == "" {
		host, _ := os.Hostname()
		c.Owner = host + ":" + strconv.Itoa(os.Getpid())
	}
	c.Workers = cmpOr(c.Workers, 4)
	c.LeaseTTL = cmpOr(c.LeaseTTL, time.Minute)
	c.Scan = cmpOr(c.Scan, time.Second)
	c.Poll = cmpOr(c.Poll, 10*time.Second)
	switch {
	case c.StuckAfter == 0:
		c.StuckAfter = 7 * 24 * time.Hour
	case c.StuckAfter < 0:
		c.StuckAfter = 0
	}
	c.SlotRetry = cmpOr(c.SlotRetry, 2*time.Second)
	c.RetryBackoff = cmpOr(c.RetryBackoff, time.Second)
	c.StepsPerClaim = cmpOr(c.StepsPerClaim, 32)
	switch {
	case c.MaxConcurrentBuilds == 0:
		c.MaxConcurrentBuilds = 20
	case c.MaxConcurrentBuilds < 0:
		c.MaxConcurrentBuilds = 0
	}
	if len(c.BaseModuleNames) == 0 {
		c.BaseModuleNames = expand.DefaultBaseModuleNames
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

func cmpOr[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Scheduler drives module builds through init → wait → build → done →
// ready (style.md §8.5). Run is its one loop: it claims due builds under a
// lease, and for each, in a bounded pool of workers, repeats observe →
// decide → act → compare-and-set until the build has to wait, then hands it
// back with the time it is next due. The database is the only state: a
// Scheduler that dies loses nothing but its leases, and another (or the
// same after a restart) picks the builds up when they expire.
type Scheduler struct {
	store   SchedulerStore
	backend Backend
	config  SchedulerConfig
	log     *slog.Logger

	wake chan struct{}
	// slotMu makes counting free build slots and taking them one step.
	slotMu sync.Mutex
	// mu guards active: the builds this process works on now, and whether
	// a wake-up arrived for one meanwhile (its release would otherwise
	// overwrite the "due now" the wake-up wrote).
	mu     sync.Mutex
	active map[int64]bool
	// errors counts consecutive transient failures per build, for backoff.
	errors map[int64]int
	// modules caches each active build's Module (see module).
	modules map[int64]*Module
	// early holds tasks a build-system message named before any build
	// claimed them (see rememberEarly).
	early map[int64]time.Time
}

// NewScheduler returns a Scheduler over store and backend.
func NewScheduler(store SchedulerStore, backend Backend, config SchedulerConfig) *Scheduler {
	config.setDefaults()
	return &Scheduler{
		store: store, backend: backend, config: config, log: config.Logger,
		wake: make(chan struct{}, 1), active: map[int64]bool{}, errors: map[int64]int{}, modules: map[int64]*Module{},
		early: map[int64]time.Time{},
	}
}

// Wake makes a module build due at once and wakes the loop: the in-process
// notifier that submission, cancellation and backends call so no one waits
// for the next scan. id 0 only wakes the loop.
func (s *Scheduler) Wake(ctx context.Context, id int64) {
	if id != 0 {
		s.mu.Lock()
		if _, ok := s.active[id]; ok {
			s.active[id] = true
		}
		s.mu.Unlock()
		if err := s.store.MakeDue(ctx, id); err != nil {
			// The build's own next check still comes: a lost wake-up
			// costs at most one poll interval.
			s.log.WarnContext(ctx, "wake-up not recorded", "module_build_id", id, "err", err)
		}
	}
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run schedules until ctx is done, then waits for the builds in hand and
// returns nil. Leases of builds in hand at shutdown are released, so
// another process takes them at once.
func (s *Scheduler) Run(ctx context.Context) error {
	s.log.InfoContext(ctx, "scheduler started", "owner", s.config.Owner, "workers", s.config.Workers,
		"max_concurrent_builds", s.config.MaxConcurrentBuilds)
	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, s.config.Workers)
	ticker := time.NewTicker(s.config.Scan)
	defer ticker.Stop()
	for {
		free := s.config.Workers - len(sem)
		if free > 0 {
			builds, err := s.store.ClaimDue(ctx, s.config.Owner, s.config.LeaseTTL, free)
			if err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "claiming due module builds", "err", err)
			}
			for _, m := range builds {
				if !s.setActive(m.ID) {
					// A worker of this process still has it: its lease ran
					// out while it stalled and this claim renewed it. The
					// lease owner is the process, so only this check keeps
					// two workers of one process off one build.
					continue
				}
				sem <- struct{}{}
				wg.Go(func() {
					defer func() { <-sem; s.Wake(context.WithoutCancel(ctx), 0) }()
					s.handle(ctx, m)
				})
			}
			if len(builds) == free && len(builds) > 0 {
				continue
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		case <-ticker.C:
		}
	}
}

// setActive marks a build as worked on by this process, false when it
// already is.
func (s *Scheduler) setActive(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.active[id]; ok {
		return false
	}
	s.active[id] = false
	return true
}

// handle works on one claimed build: steps until it must wait, a heartbeat
// keeping the lease alive meanwhile, then the lease goes back with the next
// due time.
func (s *Scheduler) handle(ctx context.Context, m *rida.ModuleBuild) {
	log := s.log.With("module_build_id", m.ID)
	work, stop := context.WithCancel(ctx)
	defer stop()
	heartbeat := make(chan struct{})
	go func() {
		defer close(heartbeat)
		t := time.NewTicker(s.config.LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-work.Done():
				return
			case <-t.C:
				if err := s.store.ExtendLease(work, m.ID, s.config.Owner, s.config.LeaseTTL); err != nil && work.Err() == nil {
					// The lease is gone (expired under a stall, taken by
					// another process): stop touching the build.
					log.WarnContext(work, "lease lost; stopping work on the build", "err", err)
					stop()
					return
				}
			}
		}
	}()

	after, seenRev := s.run(work, m.ID, log)
	stop()
	<-heartbeat

	// Releasing must happen even when ctx is done (shutdown): it hands the
	// build to the next process at once instead of after the lease expires.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	s.mu.Lock()
	woken := s.active[m.ID]
	delete(s.active, m.ID)
	s.mu.Unlock()
	next := time.Time{}
	if after > 0 && !woken {
		next = s.config.Now().Add(after)
	}
	if err := s.store.ReleaseLease(rctx, m.ID, s.config.Owner, next, seenRev); err != nil {
		log.WarnContext(rctx, "releasing the lease", "err", err)
	}
}

// run steps the build until it has to wait and returns how long, with the
// build's revision as last seen.
func (s *Scheduler) run(ctx context.Context, id int64, log *slog.Logger) (time.Duration, int64) {
	var rev int64
	for range s.config.StepsPerClaim {
		if ctx.Err() != nil {
			return 0, rev
		}
		o, mod, err := s.observe(ctx, id)
		if o.build != nil {
			rev = o.build.Rev
		}
		if err != nil {
			return s.failedStep(ctx, id, rev, "observe", err, log), rev
		}
		a := decide(o, s.limits())
		if a.kind == actWait {
			s.clearErrors(id)
			return a.after, rev
		}
		log.DebugContext(ctx, "step", "state", o.build.State.String(), "batch", o.build.Batch, "action", a.kind.String(), "components", len(a.components))
		if a.kind.touchesBackend() {
			// Fencing: a backend call cannot be undone by a failed
			// compare-and-set, so it is made only under a lease just
			// renewed. A worker that stalled past its lease (and may have
			// been replaced by another) stops here instead of submitting a
			// second build.
			if err := s.store.ExtendLease(ctx, id, s.config.Owner, s.config.LeaseTTL); err != nil {
				log.WarnContext(ctx, "lease lost before a backend call; leaving the build", "action", a.kind.String(), "err", err)
				return 0, rev
			}
		}
		if err := s.act(ctx, o, mod, a, log); err != nil {
			if errors.Is(err, rida.ErrStaleWrite) {
				// Someone else wrote first (a cancel): look again.
				continue
			}
			return s.failedStep(ctx, id, rev, a.kind.String(), err, log), rev
		}
		s.clearErrors(id)
	}
	// More to do: due again at once, behind the builds already waiting.
	return time.Nanosecond, rev
}

func (s *Scheduler) limits() limits {
	return limits{global: s.config.MaxConcurrentBuilds, perModule: s.config.MaxModuleBuilds,
		poll: jitter(s.config.Poll), slotRetry: s.config.SlotRetry, stuckAfter: s.config.StuckAfter}
}

// jitter spreads d over ±10%, so builds started together (a stream
// expansion's contexts) are not all checked against the backend at the
// same moment, interval after interval.
func jitter(d time.Duration) time.Duration {
	spread := int64(d) / 5
	if spread <= 0 {
		return d
	}
	return d - time.Duration(spread/2) + time.Duration(rand.Int64N(spread+1))
}

func (s *Scheduler) clearErrors(id int64) {
	s.mu.Lock()
	delete(s.errors, id)
	s.mu.Unlock()
}

// failedStep handles an error of a step: transient errors wait with
// backoff; any other error fails the module build with its message (MBS's
// "Koji communication error" and handler-exception paths, §3.13).
func (s *Scheduler) failedStep(ctx context.Context, id, rev int64, step string, err error, log *slog.Logger) time.Duration {
	if ctx.Err() != nil {
		return 0
	}
	if rida.ErrorCodeOf(err) == rida.CodeUnavailable || rev == 0 {
		s.mu.Lock()
		n := s.errors[id]
		s.errors[id] = n + 1
		s.mu.Unlock()
		d := min(s.config.RetryBackoff<<min(n, 16), s.config.Poll)
		// Jitter keeps many builds failing on one outage from retrying in
		// lockstep.
		d += time.Duration(rand.Int64N(int64(d)/4 + 1))
		log.WarnContext(ctx, "step failed; retrying", "step", step, "retry_in", d, "err", err)
		return d
	}
	log.ErrorContext(ctx, "step failed; failing the module build", "step", step, "err", err)
	if _, terr := s.store.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: id, FromRev: rev, To: rida.ModuleFailed,
		Reason: failureReason(err)}); terr != nil && !errors.Is(terr, rida.ErrStaleWrite) {
		log.ErrorContext(ctx, "failing the module build", "err", terr)
		return s.config.RetryBackoff
	}
	return time.Nanosecond
}

// failureReason is the state_reason of a build failed by err: the message
// of a rida.Error, else the whole error, which names the step and what
// failed (the operator reads it; MBS records str(exception) the same way).
func failureReason(err error) string {
	if code := rida.ErrorCodeOf(err); code != rida.CodeInternal {
		return rida.ErrorMessageOf(err)
	}
	return err.Error()
}

// observe reads the build and its components, asks the backend about the
// building ones, and reads what the build's state needs.
func (s *Scheduler) observe(ctx context.Context, id int64) (observation, *Module, error) {
	s.mu.Lock()
	_, cached := s.modules[id]
	s.mu.Unlock()
	// The modulemd (which can be large) is read and parsed once per build
	// and process, not at every step.
	m, err := s.store.FindModuleBuildByID(ctx, id, rida.ModuleBuildInclude{Modulemd: !cached, Components: true, Siblings: true})
	if err != nil {
		return observation{}, nil, err
	}
	if m.State.Terminal() && len(filterComponents(m.Components, rida.ComponentWaiting, rida.ComponentBuilding)) == 0 {
		s.mu.Lock()
		delete(s.modules, id)
		s.mu.Unlock()
	}
	// From here on the build is returned with any error, so the caller
	// knows its revision.
	_, reserving := s.backend.(Reserver)
	o := observation{build: m, reserving: reserving, now: s.config.Now()}
	switch m.State {
	case rida.ModuleInit:
		return o, nil, nil
	case rida.ModuleDone:
		if s.config.Gate == nil {
			o.gate.passed = true
		} else if o.gate.passed, o.gate.reason, err = s.config.Gate(ctx, m); err != nil {
			return o, nil, fmt.Errorf("gating: %w", err)
		}
		return o, nil, nil
	}
	if m.State == rida.ModuleFailed && len(filterComponents(m.Components, rida.ComponentBuilding)) == 0 {
		// Nothing runs: decide needs no backend.
		return o, nil, nil
	}
	mod, err := s.module(ctx, m)
	if err != nil && m.State == rida.ModuleFailed {
		// A failed build must still let go of its components; without a
		// Module the backend cannot be asked, so they are only marked.
		s.log.WarnContext(ctx, "cannot describe the failed build to the backend; its running builds are not canceled there",
			"module_build_id", m.ID, "err", err)
		return o, nil, nil
	}
	if err != nil {
		return o, nil, err
	}
	if m.State != rida.ModuleBuilding && m.State != rida.ModuleFailed {
		return o, mod, nil
	}
	o.tasks = map[int64]Task{}
	known := map[int64]bool{}
	if bulk, ok := s.backend.(BulkLooker); ok {
		withTask := filterComponents(m.Components, rida.ComponentBuilding)
		withTask = slices.DeleteFunc(withTask, func(c *rida.ComponentBuild) bool { return c.TaskID == 0 })
		if len(withTask) > 0 {
			tasks, found, err := bulk.LookupComponents(ctx, mod, withTask)
			if err != nil {
				return o, nil, fmt.Errorf("looking up the builds: %w", err)
			}
			for i, c := range withTask {
				if found[i] {
					o.tasks[c.ID], known[c.ID] = tasks[i], true
				}
			}
		}
	}
	for _, c := range m.Components {
		if c.State != rida.ComponentBuilding || known[c.ID] {
			continue
		}
		t, found, err := s.backend.LookupComponent(ctx, mod, c)
		if err != nil {
			return o, nil, fmt.Errorf("looking up the build of %s: %w", c.Package, err)
		}
		if !found && c.TaskID != 0 {
			// The recorded task is gone; a later submission whose task id
			// was lost (a crash between submit and record) may exist.
			anyTask := *c
			anyTask.TaskID = 0
			if t, found, err = s.backend.LookupComponent(ctx, mod, &anyTask); err != nil {
				return o, nil, fmt.Errorf("looking up the build of %s: %w", c.Package, err)
			}
		}
		if found {
			o.tasks[c.ID] = t
		}
	}
	if m.State == rida.ModuleFailed {
		return o, mod, nil
	}
	if m.NewRepoTaskID != 0 {
		if o.repoReady, err = s.backend.RepoReady(ctx, mod, m.NewRepoTaskID); err != nil {
			if rida.ErrorCodeOf(err) == rida.CodeUnavailable {
				return o, nil, err
			}
			// A failed regeneration is started again (MBS leaves it to a
			// poller).
			s.log.WarnContext(ctx, "repository regeneration failed; starting another", "module_build_id", m.ID, "err", err)
			zero := int64(0)
			if _, err := s.store.UpdateModuleBuild(ctx, rida.ModuleUpdate{ID: m.ID, FromRev: m.Rev, NewRepoTaskID: &zero}); err != nil {
				return o, nil, err
			}
			return s.observe(ctx, id)
		}
	}
	if o.buildingComponents, o.buildingModules, err = s.store.SchedulerLoad(ctx); err != nil {
		return o, nil, err
	}
	return o, mod, nil
}

// module returns what the backend is told about m: its modulemd and its
// module-build-macros. Both are fixed for the life of a build (the macros'
// changelog date included: it is the date the build first needed them in
// this process), so they are computed once and kept while the build is
// active; a restarted process computes them again from the database.
func (s *Scheduler) module(ctx context.Context, m *rida.ModuleBuild) (*Module, error) {
	s.mu.Lock()
	cached, ok := s.modules[m.ID]
	s.mu.Unlock()
	if ok {
		mod := *cached
		mod.Build = m
		return &mod, nil
	}
	mod, err := s.newModule(ctx, m)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.modules[m.ID] = mod
	s.mu.Unlock()
	return mod, nil
}

func (s *Scheduler) newModule(ctx context.Context, m *rida.ModuleBuild) (*Module, error) {
	if m.Modulemd == "" {
		// Read without it because it was cached, and dropped since.
		full, err := s.store.FindModuleBuildByID(ctx, m.ID, rida.ModuleBuildInclude{Modulemd: true})
		if err != nil {
			return nil, err
		}
		m.Modulemd = full.Modulemd
	}
	stream, err := modulemd.ReadStream([]byte(m.Modulemd), "module build "+strconv.FormatInt(m.ID, 10), modulemd.Options{})
	if err != nil {
		return nil, rida.Errorf(rida.CodeUnprocessable, "The stored modulemd of module build %d does not parse: %v", m.ID, err)
	}
	in := MacrosInput{
		Name: m.Name, Stream: m.Stream, Version: m.Version, Context: m.Context, Scratch: m.Scratch,
		Index: slices.Min(append([]int64{m.ID}, m.Siblings...)), BaseModuleNames: s.config.BaseModuleNames,
		Today: s.config.Now(),
	}
	if stream.Buildopts != nil {
		in.RPMMacros = stream.Buildopts.RPMMacros
	}
	brNames := make([]string, 0, len(m.BuildRequires))
	for name := range m.BuildRequires {
		brNames = append(brNames, name)
	}
	// xmd order is lost in the column's map; sorted names keep the
	// Conflicts blocks stable from one build to the next.
	slices.Sort(brNames)
	for _, name := range brNames {
		br := m.BuildRequires[name]
		in.BuildRequires = append(in.BuildRequires, MacrosBuildRequire{Name: name, FilteredRPMs: br.FilteredRPMs})
	}
	deps, err := s.buildrequired(ctx, m)
	if err != nil {
		return nil, err
	}
	in.Marking = expand.DisttagMarking(s.config.PrivilegedModuleNames, s.config.BaseModuleNames, func(name string) (expand.MarkingSource, bool) {
		d, ok := deps[name]
		if !ok {
			return expand.MarkingSource{}, false
		}
		src := expand.MarkingSource{Stream: d.build.Stream}
		if d.stream != nil {
			mbs, _ := d.stream.XMDMap()["mbs"].(map[string]any)
			src.DisttagMarking, src.HasMarking = mbs["disttag_marking"].(string)
		}
		return src, true
	})
	macros, err := ModuleBuildMacros(in)
	if err != nil {
		return nil, err
	}
	mod := &Module{Build: m, Stream: stream, Macros: macros, BuildrootGroups: map[string][]string{}}
	for _, name := range slices.Sorted(maps.Keys(deps)) {
		d := deps[name]
		if tag := m.BuildRequires[name].KojiTag; tag != "" {
			mod.BuildrequiredTags = append(mod.BuildrequiredTags, tag)
		}
		if d.stream == nil {
			continue
		}
		// mbs.md §3.7 step 4: the groups are the union of the
		// buildrequired modules' buildroot profiles.
		for profile, group := range map[string]string{"buildroot": "build", "srpm-buildroot": "srpm-build"} {
			if p := d.stream.Profiles[profile]; p != nil {
				mod.BuildrootGroups[group] = append(mod.BuildrootGroups[group], p.RPMs...)
			}
		}
	}
	for group, rpms := range mod.BuildrootGroups {
		mod.BuildrootGroups[group] = modulemd.SetStringSet(rpms...)
	}
	return mod, nil
}

// dependency is a buildrequired module build and its parsed modulemd (nil
// when it does not parse: its marking and profiles are then unknown).
type dependency struct {
	build  *rida.ModuleBuild
	stream *modulemd.Stream
}

// buildrequired reads the build of each of m's buildrequires
// (xmd.mbs.buildrequires: name, stream, version, context), with its
// modulemd; one missing from the database is left out.
func (s *Scheduler) buildrequired(ctx context.Context, m *rida.ModuleBuild) (map[string]dependency, error) {
	deps := make(map[string]dependency, len(m.BuildRequires))
	for name, br := range m.BuildRequires {
		f := rida.ModuleBuildFilter{Name: &name, Stream: &br.Stream, PerPage: 1, Include: rida.ModuleBuildInclude{Modulemd: true}}
		if br.Context != "" {
			f.Context = &br.Context
		}
		if v, err := strconv.ParseUint(br.Version, 10, 64); err == nil {
			f.Version = &v
		}
		builds, _, err := s.store.FindModuleBuilds(ctx, f)
		if err != nil {
			return nil, err
		}
		if len(builds) == 0 {
			continue
		}
		d := dependency{build: builds[0]}
		if st, err := modulemd.ReadStream([]byte(builds[0].Modulemd), name, modulemd.Options{}); err == nil {
			d.stream = st
		}
		deps[name] = d
	}
	return deps, nil
}

// act performs a, the backend's part first and outside any transaction,
// then the compare-and-set that records it.
func (s *Scheduler) act(ctx context.Context, o observation, mod *Module, a action, log *slog.Logger) error {
	m := o.build
	switch a.kind {
	case actRecord:
		return s.record(ctx, m)
	case actCancelComponents:
		var ts []rida.ComponentTransition
		for _, c := range a.components {
			if c.State == rida.ComponentBuilding && mod != nil {
				if err := s.backend.CancelComponent(ctx, mod, c); err != nil {
					return fmt.Errorf("canceling the build of %s: %w", c.Package, err)
				}
			}
			ts = append(ts, rida.ComponentTransition{ID: c.ID, FromRev: c.Rev, To: rida.ComponentCanceled, Reason: a.reason})
		}
		_, err := s.store.TransitionComponentBuilds(ctx, ts)
		return err
	case actResetComponents:
		ts := make([]rida.ComponentTransition, len(a.components))
		for i, c := range a.components {
			ts[i] = rida.ComponentTransition{ID: c.ID, FromRev: c.Rev, To: rida.ComponentWaiting, Reason: "Reset for the resubmitted module build"}
		}
		_, err := s.store.TransitionComponentBuilds(ctx, ts)
		return err
	case actPrepare:
		tag, err := s.backend.PrepareEnvironment(ctx, mod)
		if err != nil {
			return fmt.Errorf("preparing the build environment: %w", err)
		}
		batch := MacrosBatch
		if len(m.Components) > 0 {
			batch = slices.MinFunc(m.Components, func(a, b *rida.ComponentBuild) int { return a.Batch - b.Batch }).Batch
		}
		_, err = s.store.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: m.ID, FromRev: m.Rev, To: rida.ModuleBuilding, KojiTag: tag, Batch: &batch})
		return err
	case actRecordTasks:
		_, err := s.store.TransitionComponentBuilds(ctx, a.transitions)
		return err
	case actSubmit:
		return s.submit(ctx, mod, a, log)
	case actStartRepo:
		if err := s.backend.TagComponents(ctx, mod, a.components); err != nil {
			return fmt.Errorf("tagging batch %d: %w", m.Batch, err)
		}
		task, err := s.backend.StartRepo(ctx, mod)
		if err != nil {
			return fmt.Errorf("regenerating the repository after batch %d: %w", m.Batch, err)
		}
		u := rida.ModuleUpdate{ID: m.ID, FromRev: m.Rev, NewRepoTaskID: &task}
		if task == 0 {
			u = rida.ModuleUpdate{ID: m.ID, FromRev: m.Rev, Batch: &a.batch}
		}
		_, err = s.store.UpdateModuleBuild(ctx, u)
		return err
	case actNextBatch:
		zero := int64(0)
		_, err := s.store.UpdateModuleBuild(ctx, rida.ModuleUpdate{ID: m.ID, FromRev: m.Rev, Batch: &a.batch, NewRepoTaskID: &zero})
		return err
	case actFinalize:
		if len(a.components) > 0 {
			if err := s.backend.TagComponents(ctx, mod, a.components); err != nil {
				return fmt.Errorf("tagging batch %d: %w", m.Batch, err)
			}
		}
		if err := s.backend.Finalize(ctx, mod, m.Components); err != nil {
			return fmt.Errorf("finalizing the module: %w", err)
		}
		_, err := s.store.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: m.ID, FromRev: m.Rev, To: rida.ModuleDone})
		return err
	case actReady:
		_, err := s.store.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: m.ID, FromRev: m.Rev, To: rida.ModuleReady, Reason: a.reason})
		return err
	case actRefund:
		if mod == nil {
			mod = &Module{Build: m}
		}
		canceled := strings.HasPrefix(m.StateReason, "Canceled by ")
		if err := s.backend.(Reserver).Refund(ctx, mod, canceled); err != nil {
			return fmt.Errorf("refunding the reservation: %w", err)
		}
		_, err := s.store.UpdateModuleBuild(ctx, rida.ModuleUpdate{ID: m.ID, FromRev: m.Rev, Refunded: true})
		return err
	case actFail:
		log.InfoContext(ctx, "module build failed", "reason", a.reason)
		_, err := s.store.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: m.ID, FromRev: m.Rev, To: rida.ModuleFailed, Reason: a.reason})
		return err
	}
	return fmt.Errorf("engine: no way to perform %s", a.kind)
}

// record plans the components into batches and moves init → wait with them
// in one transaction (mbs.md §3.6). A build resumed from init keeps the
// components it has.
func (s *Scheduler) record(ctx context.Context, m *rida.ModuleBuild) error {
	t := rida.ModuleTransition{ID: m.ID, FromRev: m.Rev, To: rida.ModuleWait}
	if len(m.Components) == 0 {
		stream, err := modulemd.ReadStream([]byte(m.Modulemd), "module build "+strconv.FormatInt(m.ID, 10), modulemd.Options{})
		if err != nil {
			return rida.Errorf(rida.CodeUnprocessable, "The stored modulemd of module build %d does not parse: %v", m.ID, err)
		}
		comps, err := PlanComponents(stream, PlanOptions{
			Commits: CommitsFromXMD(stream),
			RepoURL: func(name, repository string) string {
				return rida.ComponentRepoURL(s.config.RPMsBase, name, repository)
			},
		})
		if err != nil {
			return err
		}
		for _, c := range comps {
			t.Components = append(t.Components, *c)
		}
	}
	if reserver, ok := s.backend.(Reserver); ok && !m.Scratch && m.KojiBuildID == 0 {
		// The seed: the module's NVR is reserved as soon as the build is
		// accepted, and kept with it. A crash between the reservation and
		// this transition loses the token: the next attempt finds the NVR
		// "already reserved" and fails the build saying so.
		r, err := reserver.Reserve(ctx, &Module{Build: m})
		if err != nil {
			return fmt.Errorf("reserving the module's NVR: %w", err)
		}
		t.Reservation = &r
	}
	_, err := s.store.TransitionModuleBuild(ctx, t)
	return err
}

// submit marks the components building before submitting them, so a crash
// after the submission leaves a trace (a building component without a task
// id) that the next look resolves with LookupComponent instead of
// submitting twice. The marks also reserve the global build slots, as MBS's
// continue_batch_build does.
func (s *Scheduler) submit(ctx context.Context, mod *Module, a action, log *slog.Logger) error {
	comps := a.components
	if a.resubmit {
		if len(a.transitions) > 0 {
			if _, err := s.store.TransitionComponentBuilds(ctx, a.transitions); err != nil {
				return err
			}
		}
	} else {
		// The builds that ended (a.transitions) free their slots; they are
		// recorded in the same transaction as the marks of the new ones.
		ended := 0
		for _, t := range a.transitions {
			if t.To != rida.ComponentBuilding {
				ended++
			}
		}
		// The slots were counted when the build was observed; other
		// workers may have taken some since. Counting again and marking
		// under one lock keeps this process within the limits.
		s.slotMu.Lock()
		defer s.slotMu.Unlock()
		if s.config.MaxConcurrentBuilds > 0 || s.config.MaxModuleBuilds > 0 {
			o := observation{build: mod.Build}
			var err error
			if o.buildingComponents, o.buildingModules, err = s.store.SchedulerLoad(ctx); err != nil {
				return err
			}
			o.buildingComponents -= ended
			n := freeSlots(o, s.limits(), len(filterComponents(mod.Build.Components, rida.ComponentBuilding))-ended)
			comps = comps[:max(0, min(n, len(comps)))]
		}
		ts := slices.Clone(a.transitions)
		for _, c := range comps {
			ts = append(ts, rida.ComponentTransition{ID: c.ID, FromRev: c.Rev, To: rida.ComponentBuilding})
		}
		if len(ts) == 0 {
			return nil
		}
		written, err := s.store.TransitionComponentBuilds(ctx, ts)
		if err != nil {
			return err
		}
		comps = written[len(a.transitions):]
		if len(comps) == 0 {
			return nil
		}
	}
	var (
		mu      sync.Mutex
		records []rida.ComponentTransition
		retry   error
	)
	outcome := func(c *rida.ComponentBuild, task int64, err error) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil:
			log.InfoContext(ctx, "component submitted", "component", c.Package, "task_id", task)
			records = append(records, rida.ComponentTransition{ID: c.ID, FromRev: c.Rev, To: rida.ComponentBuilding, TaskID: task, Reason: "Submitted " + c.Package})
		case rida.ErrorCodeOf(err) == rida.CodeUnavailable || ctx.Err() != nil:
			// The component stays building without a task: the next
			// look finds the submission or makes it again.
			retry = err
		default:
			records = append(records, rida.ComponentTransition{ID: c.ID, FromRev: c.Rev, To: rida.ComponentFailed,
				Reason: fmt.Sprintf("Failed to submit artifact %s: %s", c.Package, failureReason(err))})
		}
	}
	if bulk, ok := s.backend.(BulkSubmitter); ok {
		tasks, errs := bulk.SubmitComponents(ctx, mod, comps)
		for i, c := range comps {
			outcome(c, tasks[i], errs[i])
		}
	} else {
		// Submissions are network calls; a few at once, as MBS's
		// submission thread pool.
		var g errgroup.Group
		g.SetLimit(submitWorkers)
		for _, c := range comps {
			g.Go(func() error {
				task, err := s.backend.SubmitComponent(ctx, mod, c)
				outcome(c, task, err)
				return nil
			})
		}
		_ = g.Wait()
	}
	if len(records) > 0 {
		slices.SortFunc(records, func(a, b rida.ComponentTransition) int { return int(a.ID - b.ID) })
		if _, err := s.store.TransitionComponentBuilds(ctx, records); err != nil {
			return err
		}
		tasks := make([]int64, 0, len(records))
		for _, r := range records {
			tasks = append(tasks, r.TaskID)
		}
		if s.heardEarly(tasks) {
			// A build ended before its task id was recorded: look again
			// now, not at the next reconciliation.
			s.Wake(ctx, mod.Build.ID)
		}
	}
	return retry
}

// submitWorkers bounds the submissions made at once (MBS's
// NUM_THREADS_FOR_BUILD_SUBMISSIONS).
const submitWorkers = 5
