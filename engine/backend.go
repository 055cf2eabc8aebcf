package engine

import (
	"context"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/modulemd"
)

// Module is what the engine tells a backend about the module build it acts
// for. Everything in it comes from the database; a backend never reads the
// database itself.
type Module struct {
	// Build is the module build as the engine last read it (state, N:S:V:C,
	// koji_tag, batch, scratch, owner, ...), without related rows.
	Build *rida.ModuleBuild
	// Stream is the build's stored modulemd, parsed.
	Stream *modulemd.Stream
	// Macros is module-build-macros for this build (mbs.md §3.8): its spec
	// and macros file, and the dist tag every component is built with.
	Macros Macros
	// BuildrootGroups are the packages of the buildroot groups "build" and
	// "srpm-build": the union of the buildrequired modules' "buildroot" and
	// "srpm-buildroot" profiles (mbs.md §3.7 step 4).
	BuildrootGroups map[string][]string
	// BuildrequiredTags are the koji_tags of the buildrequired modules
	// that have one, in name order: the build tag inherits them.
	BuildrequiredTags []string
}

// Task is a backend's view of one component build.
type Task struct {
	// ID is the backend's task id (Koji's task id; a local task number).
	ID int64
	// State is ComponentBuilding while the build runs, then
	// ComponentComplete, ComponentFailed or ComponentCanceled.
	State rida.ComponentState
	// NVR is the built package's name-version-release, set when complete.
	NVR string
	// Reason says why a build failed or was canceled, naming the component
	// and where its log is, e.g. "Failed to build artifact hello: rpmbuild
	// exited with status 1 (log: /w/.../logs/hello.log)".
	Reason string
}

// Backend is the build system the engine drives: Koji in production, the
// local machine's rpmbuild otherwise. Only the engine calls it, and never
// inside a database transaction.
//
// Every method must be safe to call again after a crash: the engine records
// what it asked for only after the call returns, so a call whose result was
// lost is repeated (PrepareEnvironment finds what it made, LookupComponent
// finds a build submitted before the crash, cancel and tag of something
// already canceled or tagged succeed).
//
// Errors: a *rida.Error with CodeUnavailable is transient (the engine
// retries later with backoff); CodeUnprocessable and CodeInvalid are the
// module's fault (the component or module fails with the message); anything
// else is an infrastructure failure that fails the module build.
type Backend interface {
	// PrepareEnvironment creates the module's build environment (Koji:
	// tags, inheritance, groups, target; local: the results directory) and
	// returns its tag, which the engine records as the build's koji_tag.
	PrepareEnvironment(ctx context.Context, mod *Module) (tag string, err error)
	// SubmitComponent starts building c (module-build-macros from
	// mod.Macros, any other component from c.SCMURL at c.Ref) and returns
	// its task id without waiting for the build to end.
	SubmitComponent(ctx context.Context, mod *Module, c *rida.ComponentBuild) (taskID int64, err error)
	// LookupComponent reports on c's build: by c.TaskID when it is set,
	// else a build submitted for c earlier (same module build, same
	// package), which is how a submission whose task id was lost in a
	// crash is adopted instead of built twice. found is false when the
	// backend knows no such build (it never started, or died with a
	// previous process and left nothing behind).
	LookupComponent(ctx context.Context, mod *Module, c *rida.ComponentBuild) (task Task, found bool, err error)
	// CancelComponent stops c's running build; canceling a build that has
	// ended, or that the backend does not know, succeeds.
	CancelComponent(ctx context.Context, mod *Module, c *rida.ComponentBuild) error
	// TagComponents puts the completed components of a batch where later
	// batches and the final module see them (Koji: the -build tag, and the
	// module tag unless build_time_only).
	TagComponents(ctx context.Context, mod *Module, comps []*rida.ComponentBuild) error
	// StartRepo regenerates the buildroot repository after a batch. It
	// returns 0 when the repository is ready on return (local createrepo),
	// else a task to wait for with RepoReady (Koji newRepo).
	StartRepo(ctx context.Context, mod *Module) (taskID int64, err error)
	// RepoReady reports whether the repository task has finished; an error
	// from a failed task makes the engine start a new one.
	RepoReady(ctx context.Context, mod *Module, taskID int64) (bool, error)
	// Finalize publishes the finished module (local: modules.yaml with the
	// artifacts and the final repository; Koji: the content generator
	// import). comps are all the module's components, complete.
	Finalize(ctx context.Context, mod *Module, comps []*rida.ComponentBuild) error
}

// Reserver is implemented by backends that reserve a module's NVRs as soon
// as a build is accepted (Koji's CGInitBuild, the seed) and import the
// finished module with them. The engine reserves in init and records the
// reservation with the move to wait; it refunds a failed build's
// reservation once nothing of the build runs.
type Reserver interface {
	// Reserve reserves the NVRs of mod's module and its -devel twin (mod
	// carries only Build: it is called in init, before anything else). An
	// NVR that is taken (module NVRs are deterministic: never bumped) is
	// a CodeConflict error whose message names it; the engine fails the
	// build with it.
	Reserve(ctx context.Context, mod *Module) (rida.Reservation, error)
	// Refund gives back the reservations recorded on mod.Build (failed, or
	// canceled when canceled); a reservation already gone (swept, or
	// refunded before a crash) succeeds.
	Refund(ctx context.Context, mod *Module, canceled bool) error
}

// BulkLooker is implemented by backends that can report on many component
// builds in one round trip (Koji: multicalls). The engine then asks once
// per look for every building component with a task id, and calls
// LookupComponent only for those without one, or not found by id.
type BulkLooker interface {
	// LookupComponents is LookupComponent by task id for each of comps
	// (all have TaskID set): tasks[i] and found[i] answer comps[i].
	LookupComponents(ctx context.Context, mod *Module, comps []*rida.ComponentBuild) (tasks []Task, found []bool, err error)
}

// BulkSubmitter is implemented by backends that submit many component
// builds in one round trip (Koji: a multicall of build). The engine then
// submits a batch's components with one call instead of one each.
type BulkSubmitter interface {
	// SubmitComponents is SubmitComponent for each of comps: taskIDs[i]
	// or errs[i] answers comps[i], with the same error rules.
	SubmitComponents(ctx context.Context, mod *Module, comps []*rida.ComponentBuild) (taskIDs []int64, errs []error)
}
