package rida

import (
	"context"
	"strings"
	"time"
)

// RebuildStrategy decides which components of a module build are rebuilt and
// which are reused from an earlier build (mbs.md §3.14).
type RebuildStrategy string

// The rebuild strategies MBS knows.
const (
	RebuildAll             RebuildStrategy = "all"
	RebuildChangedAndAfter RebuildStrategy = "changed-and-after"
	RebuildOnlyChanged     RebuildStrategy = "only-changed"
)

// RebuildStrategies lists the strategies sorted by name, with MBS's
// descriptions.
var RebuildStrategies = []struct {
	Strategy    RebuildStrategy
	Description string
}{
	{RebuildAll, "All components will be rebuilt"},
	{RebuildChangedAndAfter, "All components that have changed and those in subsequent batches will be rebuilt"},
	{RebuildOnlyChanged, "All changed components will be rebuilt"},
}

// Valid reports whether s is one of the known strategies.
func (s RebuildStrategy) Valid() bool {
	for _, r := range RebuildStrategies {
		if r.Strategy == s {
			return true
		}
	}
	return false
}

// ModuleBuild is one build of a module (N:S:V:C) with every field MBS keeps
// (mbs.md §0.2), plus the Koji content-generator reservation of its NVR.
type ModuleBuild struct {
	ID      int64
	Name    string
	Stream  string
	Version uint64
	Context string

	BuildContext      string
	BuildContextNoBMS string
	RuntimeContext    string
	RefBuildContext   string

	State       ModuleState
	StateReason string
	Owner       string
	// SCMURL is the submitted SCM URL, empty for YAML submissions.
	SCMURL string
	// Modulemd is the module's modulemd YAML as rida stores it.
	Modulemd        string
	KojiTag         string
	CGBuildKojiTag  string
	RebuildStrategy RebuildStrategy
	Scratch         bool
	// Batch is the batch being built: 0 before wait, 1 during macros.
	Batch         int
	NewRepoTaskID int64
	// StreamVersion is set for base modules only (e.g. 280000).
	StreamVersion *float64
	SRPMs         []string
	// BuildRequires is xmd.mbs.buildrequires, kept in a column so the list
	// path never parses modulemd.
	BuildRequires map[string]BuildRequire

	TimeSubmitted  time.Time
	TimeModified   time.Time
	TimeCompleted  *time.Time
	ReusedModuleID *int64

	// KojiBuildID and KojiCGToken are the content-generator reservation of
	// the module's NVR (CGInitBuild), consumed by CGImport.
	KojiBuildID int64
	KojiCGToken string
	// KojiDevelBuildID and KojiDevelCGToken are the reservation of the
	// module's -devel twin, imported with it.
	KojiDevelBuildID int64
	KojiDevelCGToken string
	// KojiRefunded says a failed build's reservations were given back
	// (CGRefundBuild), so nothing is left to do for it in Koji.
	KojiRefunded bool

	// Rev is the compare-and-set counter: every write checks and bumps it.
	Rev int64

	// Requires are the runtime requires of each dependency block of the
	// modulemd (module name → streams), and Commit and MSE are
	// xmd.mbs.commit and xmd.mbs.mse: what stream expansion reads of a
	// candidate build, kept in columns so it never parses stored modulemd.
	Requires []map[string][]string
	Commit   string
	MSE      bool

	// VirtualStreams are the other streams a base module answers to
	// (xmd.mbs.virtual_streams, e.g. platform:f40 is also "fedora").
	VirtualStreams []string
	// BaseModules are the base module builds this build buildrequires. On
	// write only their IDs matter; on read they carry the fields of MBS's
	// short JSON plus StreamVersion.
	BaseModules []*ModuleBuild

	// Related rows, loaded only when asked for (see ModuleBuildInclude).
	Components []*ComponentBuild
	StateTrace []StateChange
	Siblings   []int64
}

// BuildRequire is one entry of xmd.mbs.buildrequires: the module build chosen
// for a buildrequired name:stream.
type BuildRequire struct {
	// Fields are in the alphabetical order of their JSON names: MBS's
	// JSON (Flask's JSON_SORT_KEYS) sorts keys at every level.
	Context       string   `json:"context"`
	FilteredRPMs  []string `json:"filtered_rpms,omitempty"`
	KojiTag       string   `json:"koji_tag,omitempty"`
	Ref           string   `json:"ref,omitempty"`
	Stream        string   `json:"stream"`
	StreamVersion *float64 `json:"stream_version,omitempty"`
	Version       string   `json:"version"`
}

// NSVC returns name:stream:version:context.
func (m *ModuleBuild) NSVC() string {
	return m.Name + ":" + m.Stream + ":" + formatUint(m.Version) + ":" + m.Context
}

// NVR returns the Koji NVR of the module build: the stream with "-" replaced
// by "_" is the version, "<version>.<context>" the release.
func (m *ModuleBuild) NVR() NVR {
	return NVR{
		Name:    m.Name,
		Version: strings.ReplaceAll(m.Stream, "-", "_"),
		Release: formatUint(m.Version) + "." + m.Context,
	}
}

// StateChange is one row of a state trace: when a build entered a state and
// why.
type StateChange struct {
	Time   time.Time
	State  int
	Reason string
}

// ComponentBuild is one RPM package built for a module build.
type ComponentBuild struct {
	ID            int64
	ModuleBuildID int64
	Package       string
	// Format is the component type, always "rpms".
	Format string
	// SCMURL is "<repository>?#<commit>" (or an SRPM path).
	SCMURL string
	// Ref is the resolved commit hash.
	Ref        string
	BuildOrder int64
	Batch      int
	BuildOnly  bool
	// BuildTimeOnly components are tagged only into the -build tag
	// (module-build-macros).
	BuildTimeOnly bool
	Weight        float64

	// TaskID is the Koji (or local) task, 0 when none was created.
	TaskID    int64
	TaskState *TaskState
	State     ComponentState
	// StateReason says why the component is in its state.
	StateReason       string
	NVR               string
	ReusedComponentID *int64
	// Tagged: tagged into the -build tag; TaggedInFinal: into the module tag.
	Tagged        bool
	TaggedInFinal bool

	Rev        int64
	StateTrace []StateChange
}

// FormatRPMs is the only component format.
const FormatRPMs = "rpms"

// Order is one ordering key of a list query.
type Order struct {
	Field string
	Desc  bool
}

// Paging bounds for list queries.
const (
	DefaultPerPage = 10
	MaxPerPage     = 500
)

// ModuleBuildOrderFields are the fields a module build list may be ordered by
// (MBS: any column).
var ModuleBuildOrderFields = []string{
	"id", "name", "stream", "version", "context", "state", "state_reason", "owner", "scmurl",
	"koji_tag", "cg_build_koji_tag", "rebuild_strategy", "scratch", "batch", "new_repo_task_id",
	"stream_version", "build_context", "build_context_no_bms", "runtime_context",
	"ref_build_context", "reused_module_id", "time_submitted", "time_modified", "time_completed",
}

// ComponentBuildOrderFields are the fields a component list may be ordered by.
var ComponentBuildOrderFields = []string{
	"id", "package", "format", "scmurl", "ref", "task_id", "state", "state_reason", "nvr",
	"tagged", "tagged_in_final", "build_time_only", "buildonly", "batch", "module_id",
	"reused_component_id", "weight",
}

// ModuleBuildFilter selects module builds. Nil fields do not filter; States
// are OR-ed. Page counts from 1.
type ModuleBuildFilter struct {
	Name, Stream, Context           *string
	Version                         *uint64
	BuildContext, BuildContextNoBMS *string
	RuntimeContext, RefBuildContext *string
	StateReason, Owner, SCMURL      *string
	KojiTag, CGBuildKojiTag         *string
	RebuildStrategy                 *string
	Scratch                         *bool
	Batch                           *int
	NewRepoTaskID, ReusedModuleID   *int64
	StreamVersion                   *float64
	States                          []ModuleState
	// StreamVersionLTE keeps base module builds whose stream version is at
	// most it and of the same major version (MBS: floor(v/10000)*10000 <=
	// stream_version <= v).
	StreamVersionLTE *float64
	// VirtualStreams keeps builds declaring any of these virtual streams.
	VirtualStreams []string
	// BaseModuleBR keeps builds built against base module builds matching
	// every set field.
	BaseModuleBR                    BaseModuleFilter
	SubmittedBefore, SubmittedAfter *time.Time
	ModifiedBefore, ModifiedAfter   *time.Time
	CompletedBefore, CompletedAfter *time.Time
	Order                           []Order
	Page, PerPage                   int
	Include                         ModuleBuildInclude
}

// BaseModuleFilter matches the base modules a build buildrequires (MBS's
// base_module_br* filters). Nil fields do not filter.
type BaseModuleFilter struct {
	Name, Stream, Context *string
	Version               *uint64
	StreamVersion         *float64
	StreamVersionLTE      *float64
	StreamVersionGTE      *float64
}

// IsZero reports whether the filter sets nothing.
func (f BaseModuleFilter) IsZero() bool { return f == BaseModuleFilter{} }

// ModuleBuildInclude says which related rows to load with module builds, so a
// short list costs one query and a verbose one a fixed handful, never one per
// build.
type ModuleBuildInclude struct {
	// Modulemd loads the modulemd text, which can be hundreds of kilobytes;
	// without it ModuleBuild.Modulemd is empty.
	Modulemd bool
	// Components loads the full component rows.
	Components bool
	// ComponentTasks loads, when Components is not set, only what a task
	// list shows of each component: ID, ModuleBuildID, Package, Format,
	// Batch, TaskID, TaskState, State, StateReason and NVR.
	ComponentTasks bool
	StateTrace     bool
	Siblings       bool
	// ComponentTraces also loads each component's state trace.
	ComponentTraces bool
	// VirtualStreams and BaseModules load the fields of those names.
	VirtualStreams bool
	BaseModules    bool
}

// ComponentBuildFilter selects component builds.
type ComponentBuildFilter struct {
	ModuleBuildID                *int64
	Package, Format, SCMURL, Ref *string
	StateReason, NVR             *string
	TaskID, ReusedComponentID    *int64
	Batch                        *int
	Weight                       *float64
	Tagged, TaggedInFinal        *bool
	BuildTimeOnly, BuildOnly     *bool
	States                       []ComponentState
	Order                        []Order
	Page, PerPage                int
	IncludeStateTrace            bool
}

// ModuleBuildService is the API contract: the HTTP server calls it, the
// engine implements it, and httpapi.Client implements it over HTTP so the
// CLI and tests speak to a remote rida exactly as to a local one.
type ModuleBuildService interface {
	// FindModuleBuildByID returns ErrModuleBuildNotFound for an unknown id.
	FindModuleBuildByID(ctx context.Context, id int64, include ModuleBuildInclude) (*ModuleBuild, error)
	// FindModuleBuilds returns one page of matches and the total count.
	FindModuleBuilds(ctx context.Context, filter ModuleBuildFilter) ([]*ModuleBuild, int, error)
	// FindComponentBuildByID returns ErrComponentBuildNotFound for an
	// unknown id.
	FindComponentBuildByID(ctx context.Context, id int64, withTrace bool) (*ComponentBuild, error)
	// FindComponentBuilds returns one page of matches and the total count.
	FindComponentBuilds(ctx context.Context, filter ComponentBuildFilter) ([]*ComponentBuild, int, error)
	// CancelModuleBuild moves a build in init, wait or build to failed with
	// the reason "Canceled by <user>.".
	CancelModuleBuild(ctx context.Context, id int64, user string) (*ModuleBuild, error)
	// ImportModule stores module metadata (a base module such as platform,
	// or a module built elsewhere) as a ready build, creating it or updating
	// the one with the same N:S:V:C, and returns MBS's messages about it.
	ImportModule(ctx context.Context, req ImportRequest) (*ModuleBuild, []string, error)
	// SubmitModuleBuild verifies a submission, expands its streams and
	// creates one build per expanded context (or, for a dry run, explains
	// what it would create).
	SubmitModuleBuild(ctx context.Context, req SubmitRequest) (*Submission, error)
}

// SubmitRequest is a module build submission: MBS's POST module-builds
// parameters (mbs.md §1.6).
type SubmitRequest struct {
	// SCMURL and Branch name the module's repository, commit and branch.
	SCMURL, Branch string
	// Modulemd is a YAML submission (instead of SCMURL), with ModuleName
	// used when the modulemd has no name and ModuleStream overriding its
	// stream.
	Modulemd, ModuleName, ModuleStream string
	// Owner is the submitting user.
	Owner string
	// RebuildStrategy overrides the server's default when allowed.
	RebuildStrategy RebuildStrategy
	// BuildrequireOverrides and RequireOverrides replace the stream lists
	// of the named modules.
	BuildrequireOverrides, RequireOverrides map[string][]string
	Scratch                                 bool
	// ReuseComponentsFrom names the ready build whose components may be
	// reused: its id, or its name:stream:version:context.
	ReuseComponentsFrom string
	// DryRun computes everything, creates nothing, and explains.
	DryRun bool
}

// Submission is the outcome of a submission: the builds it created,
// resumed, or found already existing (one per expanded context), and for a
// dry run the explanation of each choice.
type Submission struct {
	Builds []*ModuleBuild
	// Created tells, per build, whether this submission created (or
	// resumed) it rather than finding it.
	Created []bool
	// Explanation says which buildrequire combinations were chosen or
	// rejected and why; filled for dry runs.
	Explanation []string
}

// ImportRequest names the modulemd to import: an SCM URL (MBS's form or the
// seed's) or, a rida extension, the modulemd text itself.
type ImportRequest struct {
	SCMURL   string
	Modulemd string
}
