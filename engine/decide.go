package engine

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rida-build/rida"
)

// observation is everything decide looks at for one module build: the
// build with all its components as the database has them, what the backend
// said about the components that are building, and the load of the whole
// service. Gathering it is the only I/O before a decision.
type observation struct {
	build *rida.ModuleBuild
	// tasks holds the backend's report on each building component it knows,
	// by component id; a building component missing here is lost (its build
	// died with a previous process, or was never submitted).
	tasks map[int64]Task
	// repoReady answers RepoReady for build.NewRepoTaskID.
	repoReady bool
	// gate is the gating verdict, looked up only for a build in done.
	gate gateVerdict
	// reserving says the backend reserves NVRs (Reserver): a failed
	// build's reservation is then refunded.
	reserving bool
	// buildingComponents and buildingModules are the service-wide load
	// (sqlstore's SchedulerLoad): components building, modules in build.
	buildingComponents, buildingModules int
	// now is when the observation was made.
	now time.Time
}

type gateVerdict struct {
	passed bool
	reason string
}

// limits are the scheduling knobs decide applies.
type limits struct {
	// global bounds the components building at once across the service
	// (MBS's NUM_CONCURRENT_BUILDS); 0 is unlimited.
	global int
	// perModule bounds one module build's components building at once;
	// 0 is unlimited.
	perModule int
	// poll is how long to wait before looking again at builds in progress;
	// slotRetry how long a build waiting for a free slot waits.
	poll, slotRetry time.Duration
	// stuckAfter fails a build in init, wait or build that has not changed
	// (state, batch, repository) for that long; 0 never does.
	stuckAfter time.Duration
}

// actionKind is what decide asks the engine to do next.
type actionKind int

const (
	// actWait: nothing to do before action.after (or a wake-up).
	actWait actionKind = iota
	// actRecord: plan the components into batches and move init → wait.
	actRecord
	// actCancelComponents: stop action.components in the backend and mark
	// them canceled with action.reason (the module failed or is resumed
	// while they ran).
	actCancelComponents
	// actResetComponents: failed and canceled components back to waiting
	// (a resumed build, mbs.md §3.1 step 11).
	actResetComponents
	// actPrepare: prepare the build environment and move wait → build at
	// batch 1 (or straight to the last batch's end when there is nothing to
	// build).
	actPrepare
	// actRecordTasks: commit action.transitions (builds that ended, lost
	// task ids found again).
	actRecordTasks
	// actSubmit: record action.transitions (builds that ended, freeing
	// slots), then mark action.components building, submit them, record
	// their task ids. action.resubmit says they are building already (their
	// earlier submission was lost).
	actSubmit
	// actStartRepo: tag the current batch and regenerate the repository.
	actStartRepo
	// actNextBatch: move to action.batch.
	actNextBatch
	// actFinalize: tag the last batch, publish the module, move build → done.
	actFinalize
	// actReady: done → ready.
	actReady
	// actFail: move to failed with action.reason.
	actFail
	// actRefund: give a failed build's reservation back and record it.
	actRefund
)

var actionNames = [...]string{"wait", "record", "cancel-components", "reset-components", "prepare",
	"record-tasks", "submit", "start-repo", "next-batch", "finalize", "ready", "fail", "refund"}

func (k actionKind) String() string { return actionNames[k] }

// touchesBackend reports whether performing the action calls the backend
// with an effect (recording what was observed does not).
func (k actionKind) touchesBackend() bool {
	switch k {
	case actRecord, actCancelComponents, actPrepare, actSubmit, actStartRepo, actFinalize, actRefund:
		// actRecord reserves the NVRs when the backend does.
		return true
	}
	return false
}

type action struct {
	kind        actionKind
	after       time.Duration
	components  []*rida.ComponentBuild
	transitions []rida.ComponentTransition
	resubmit    bool
	batch       int
	reason      string
}

func waitFor(d time.Duration) action { return action{kind: actWait, after: d} }

// idle is how long a build with nothing to do waits before it is looked at
// again anyway: any change to it (a transition, a wake-up) makes it due at
// once, so this only bounds how long a lost wake-up can delay it.
const idle = time.Hour

// decide is the engine's whole policy: given what is, what to do next. It
// is pure (no I/O, no clock), so every state and observation is a table
// test. It follows MBS's handlers (mbs.md §3.6–§3.13) with rida's changes:
// fair slots across modules, buildafter batches, and lost builds adopted or
// resubmitted instead of assumed.
func decide(o observation, l limits) action {
	m := o.build
	if l.stuckAfter > 0 && (m.State == rida.ModuleInit || m.State == rida.ModuleWait || m.State == rida.ModuleBuilding) &&
		!m.TimeModified.IsZero() && o.now.Sub(m.TimeModified) > l.stuckAfter {
		// MBS's cancel_stuck_module_builds, but said plainly and checked at
		// every look, not by a daily poller.
		return action{kind: actFail, reason: fmt.Sprintf("The module build was stuck: no progress in state %s for more than %s (last change %s).",
			m.State, l.stuckAfter, m.TimeModified.UTC().Format(rida.TimeFormat))}
	}
	switch m.State {
	case rida.ModuleInit:
		return action{kind: actRecord}
	case rida.ModuleWait:
		if building := filterComponents(m.Components, rida.ComponentBuilding); len(building) > 0 {
			return action{kind: actCancelComponents, components: building, reason: "Canceled: the module build was resubmitted"}
		}
		if unfinished := filterComponents(m.Components, rida.ComponentFailed, rida.ComponentCanceled); len(unfinished) > 0 {
			return action{kind: actResetComponents, components: unfinished}
		}
		return action{kind: actPrepare}
	case rida.ModuleBuilding:
		return decideBuilding(o, l)
	case rida.ModuleDone:
		if m.Scratch {
			return waitFor(idle)
		}
		if o.gate.passed {
			return action{kind: actReady, reason: o.gate.reason}
		}
		return waitFor(l.poll)
	case rida.ModuleFailed:
		// Builds that ended meanwhile are recorded as they ended, not
		// canceled.
		if ended := endedTransitions(o); len(ended) > 0 {
			return action{kind: actRecordTasks, transitions: ended}
		}
		if unbuilt := filterComponents(m.Components, rida.ComponentWaiting, rida.ComponentBuilding); len(unbuilt) > 0 {
			return action{kind: actCancelComponents, components: unbuilt, reason: m.StateReason}
		}
		// The reservation goes back once nothing of the build runs, so a
		// late build cannot land in a build Koji gave to someone else.
		if o.reserving && m.KojiBuildID != 0 && !m.KojiRefunded {
			return action{kind: actRefund}
		}
		return waitFor(idle)
	}
	return waitFor(idle)
}

func decideBuilding(o observation, l limits) action {
	m := o.build
	if len(m.Components) == 0 {
		return action{kind: actFinalize}
	}
	// First, what the backend says about running builds, whatever their
	// batch: record ended builds, adopt found ones, resubmit lost ones.
	if ended := endedTransitions(o); len(ended) > 0 {
		// Builds that ended free their slots: when that lets more of the
		// batch start, one step records the ends and submits the next.
		if next := decideBuilding(afterEnded(o, ended), l); next.kind == actSubmit && !next.resubmit {
			next.transitions = ended
			return next
		}
		return action{kind: actRecordTasks, transitions: ended}
	}
	var lost []*rida.ComponentBuild
	for _, c := range m.Components {
		if _, ok := o.tasks[c.ID]; c.State == rida.ComponentBuilding && !ok {
			lost = append(lost, c)
		}
	}
	if len(lost) > 0 {
		return action{kind: actSubmit, components: lost, resubmit: true}
	}

	var waiting, building, failed, batch []*rida.ComponentBuild
	buildingInModule := 0
	for _, c := range m.Components {
		if c.State == rida.ComponentBuilding {
			buildingInModule++
		}
		if c.Batch != m.Batch {
			continue
		}
		batch = append(batch, c)
		switch c.State {
		case rida.ComponentWaiting:
			waiting = append(waiting, c)
		case rida.ComponentBuilding:
			building = append(building, c)
		case rida.ComponentFailed, rida.ComponentCanceled:
			failed = append(failed, c)
		}
	}
	for _, c := range failed {
		if c.Package == MacrosPackage {
			// Nothing can build without the macros: fail at once (MBS).
			return action{kind: actFail, reason: failedComponentsReason(failed)}
		}
	}
	if len(failed) > 0 {
		if len(building) > 0 {
			return waitFor(l.poll)
		}
		return action{kind: actFail, reason: failedComponentsReason(failed)}
	}
	if len(waiting) > 0 {
		n := freeSlots(o, l, buildingInModule)
		if n <= 0 {
			return waitFor(l.slotRetry)
		}
		// Longest first (MBS sorts by weight), then by name for a stable order.
		slices.SortFunc(waiting, func(a, b *rida.ComponentBuild) int {
			return cmp.Or(cmp.Compare(b.Weight, a.Weight), strings.Compare(a.Package, b.Package))
		})
		return action{kind: actSubmit, components: waiting[:min(n, len(waiting))]}
	}
	if len(building) > 0 {
		return waitFor(l.poll)
	}
	// The batch is complete.
	next := nextBatch(m.Components, m.Batch)
	if next == 0 {
		return action{kind: actFinalize, components: batch}
	}
	if m.NewRepoTaskID == 0 {
		return action{kind: actStartRepo, components: batch, batch: next}
	}
	if o.repoReady {
		return action{kind: actNextBatch, batch: next}
	}
	return waitFor(l.poll)
}

// endedTransitions records what the backend reported about building
// components: builds that ended, and submissions whose task id was lost in
// a crash, found again.
func endedTransitions(o observation) []rida.ComponentTransition {
	var out []rida.ComponentTransition
	for _, c := range o.build.Components {
		t, ok := o.tasks[c.ID]
		if c.State != rida.ComponentBuilding || !ok {
			continue
		}
		switch {
		case t.State != rida.ComponentBuilding:
			out = append(out, endTransition(c, t))
		case t.ID != c.TaskID:
			out = append(out, rida.ComponentTransition{ID: c.ID, FromRev: c.Rev, To: rida.ComponentBuilding,
				TaskID: t.ID, Reason: "Submitted " + c.Package})
		}
	}
	return out
}

// afterEnded is o as it will be once ended is recorded: those components
// in their new states, and the service-wide count of building components
// lower by those that left building.
func afterEnded(o observation, ended []rida.ComponentTransition) observation {
	byID := make(map[int64]rida.ComponentTransition, len(ended))
	for _, t := range ended {
		byID[t.ID] = t
	}
	b := *o.build
	b.Components = make([]*rida.ComponentBuild, len(o.build.Components))
	for i, c := range o.build.Components {
		if t, ok := byID[c.ID]; ok {
			cc := *c
			cc.State = t.To
			if t.TaskID != 0 {
				cc.TaskID = t.TaskID
			}
			if t.To != rida.ComponentBuilding {
				o.buildingComponents--
			}
			c = &cc
		}
		b.Components[i] = c
	}
	o.build = &b
	return o
}

// freeSlots is how many more components this module may submit now: within
// its own limit, within what is left of the global one, and within its fair
// share of the global one (the global limit divided among the modules in
// build, at least one each), so one big module cannot take every slot while
// others wait (MBS's #1312).
func freeSlots(o observation, l limits, buildingInModule int) int {
	n := len(o.build.Components)
	if l.perModule > 0 {
		n = min(n, l.perModule-buildingInModule)
	}
	if l.global > 0 {
		n = min(n, l.global-o.buildingComponents)
		share := max(1, l.global/max(1, o.buildingModules))
		n = min(n, share-buildingInModule)
	}
	return n
}

// nextBatch returns the first batch after batch that has components, 0 when
// batch is the last.
func nextBatch(comps []*rida.ComponentBuild, batch int) int {
	next := 0
	for _, c := range comps {
		if c.Batch > batch && (next == 0 || c.Batch < next) {
			next = c.Batch
		}
	}
	return next
}

// endTransition records the end of c's build as the backend reported it.
func endTransition(c *rida.ComponentBuild, t Task) rida.ComponentTransition {
	tr := rida.ComponentTransition{ID: c.ID, FromRev: c.Rev, To: t.State, NVR: t.NVR, Reason: t.Reason}
	if t.ID != c.TaskID {
		tr.TaskID = t.ID
	}
	if t.State == rida.ComponentFailed && tr.Reason == "" {
		tr.Reason = "Failed to build artifact " + c.Package
	}
	return tr
}

// failedComponentsReason is the module's state_reason when components
// failed: MBS's sentence, then each component's own reason, which names its
// log.
func failedComponentsReason(failed []*rida.ComponentBuild) string {
	names := make([]string, len(failed))
	for i, c := range failed {
		names[i] = c.Package
	}
	slices.Sort(names)
	var b strings.Builder
	fmt.Fprintf(&b, "Component(s) %s failed to build.", strings.Join(names, ", "))
	for _, c := range failed {
		if c.StateReason != "" {
			fmt.Fprintf(&b, " %s: %s", c.Package, c.StateReason)
			if !strings.HasSuffix(c.StateReason, ".") {
				b.WriteString(".")
			}
		}
	}
	return b.String()
}

func filterComponents(comps []*rida.ComponentBuild, states ...rida.ComponentState) []*rida.ComponentBuild {
	var out []*rida.ComponentBuild
	for _, c := range comps {
		if slices.Contains(states, c.State) {
			out = append(out, c)
		}
	}
	return out
}
