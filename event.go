package rida

import (
	"encoding/json"
	"time"
)

// EventType names what happened; the names are MBS's message topics.
type EventType string

// Event types.
const (
	EventModuleStateChanged    EventType = "module.state.change"
	EventComponentStateChanged EventType = "component.state.change"
)

// Event is one row of the outbox: written in the same transaction as the
// state change it describes, published after commit by the relay. ID is
// stable and increasing in commit order, so consumers can de-duplicate.
type Event struct {
	ID               int64
	Type             EventType
	ModuleBuildID    int64
	ComponentBuildID int64
	At               time.Time
	Payload          json.RawMessage
	PublishedAt      *time.Time
}

// ModuleTransition asks to move a module build to a new state. It succeeds
// only if the build is still at revision FromRev and CanTransition allows
// the move.
type ModuleTransition struct {
	ID      int64
	FromRev int64
	To      ModuleState
	// Reason replaces state_reason when non-empty; an empty reason keeps the
	// previous one, as MBS does (so "Canceled by X." survives).
	Reason string

	// What the engine records with the move, in the same transaction:
	// KojiTag replaces koji_tag when non-empty; Batch, when not nil,
	// replaces batch (and clears new_repo_task_id); Components are inserted
	// as the build's component builds (init → wait records them).
	KojiTag    string
	Batch      *int
	Components []ComponentBuild
	// Reservation, when not nil, records the build system's reservation
	// of the module's NVRs (koji_build_id, koji_cg_token and the -devel
	// twin's).
	Reservation *Reservation
}

// Reservation is what Koji's CGInitBuild returned for a module build and
// its -devel twin: the reserved builds and the tokens that import them.
type Reservation struct {
	BuildID      int64
	Token        string
	DevelBuildID int64
	DevelToken   string
}

// ModuleUpdate changes a module build's scheduling fields without changing
// its state (no trace row, no event), under the same compare-and-set rule
// as ModuleTransition: it succeeds only if the build is still at FromRev,
// and it bumps Rev. Nil fields are left alone.
type ModuleUpdate struct {
	ID      int64
	FromRev int64
	// Batch moves the build to another batch.
	Batch *int
	// NewRepoTaskID records (or, with 0, clears) the repository
	// regeneration the build waits for.
	NewRepoTaskID *int64
	// Refunded, when true, records that the build's reservations were
	// given back.
	Refunded bool
}

// ComponentTransition asks to move a component build to a new state, under
// the same compare-and-set rule as ModuleTransition.
type ComponentTransition struct {
	ID      int64
	FromRev int64
	To      ComponentState
	Reason  string
	// TaskID and NVR are recorded with the transition when non-zero. A
	// building component may "move" to building again to record the task
	// id of a submission made after it entered building.
	TaskID int64
	NVR    string
}

// ModuleEventPayload is the body of a module state change: MBS's
// ModuleBuild.json(show_tasks=False) (mbs.md §5.1), keys in MBS's sorted
// order. docs/messages.md and docs/schemas/module.state.change.json
// describe it.
type ModuleEventPayload struct {
	BuildRequires   map[string]BuildRequire `json:"buildrequires"`
	ComponentBuilds []int64                 `json:"component_builds"`
	Context         string                  `json:"context"`
	ID              int64                   `json:"id"`
	KojiTag         *string                 `json:"koji_tag"`
	Name            string                  `json:"name"`
	Owner           string                  `json:"owner"`
	RebuildStrategy string                  `json:"rebuild_strategy"`
	SCMURL          *string                 `json:"scmurl"`
	Scratch         bool                    `json:"scratch"`
	Siblings        []int64                 `json:"siblings"`
	SRPMs           []string                `json:"srpms"`
	State           int                     `json:"state"`
	StateName       string                  `json:"state_name"`
	StateReason     *string                 `json:"state_reason"`
	Stream          string                  `json:"stream"`
	TimeCompleted   *string                 `json:"time_completed"`
	TimeModified    *string                 `json:"time_modified"`
	TimeSubmitted   *string                 `json:"time_submitted"`
	Version         string                  `json:"version"`
}

// ComponentEventPayload is the body of a component state change (MBS has
// none): the component, its module build, and where it stands.
type ComponentEventPayload struct {
	Batch       int     `json:"batch"`
	Format      string  `json:"format"`
	ID          int64   `json:"id"`
	ModuleBuild int64   `json:"module_build"`
	ModuleNSVC  string  `json:"module_nsvc"`
	NVR         *string `json:"nvr"`
	Package     string  `json:"package"`
	// State is null for a waiting component, as in MBS's component JSON.
	State       *int    `json:"state"`
	StateName   *string `json:"state_name"`
	StateReason *string `json:"state_reason"`
	TaskID      *int64  `json:"task_id"`
}

// TimeFormat is MBS's wire format for timestamps: UTC, seconds, "Z".
const TimeFormat = "2006-01-02T15:04:05Z"

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optTime(t *time.Time) *string {
	if t == nil || t.IsZero() {
		return nil
	}
	s := t.UTC().Format(TimeFormat)
	return &s
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// NewModuleEvent returns the outbox event for m having just entered
// m.State. componentIDs are the build's component builds and m.Siblings
// its siblings, as the payload lists them.
func NewModuleEvent(m *ModuleBuild, componentIDs []int64, at time.Time) Event {
	brs := m.BuildRequires
	if brs == nil {
		brs = map[string]BuildRequire{}
	}
	p, _ := json.Marshal(ModuleEventPayload{
		BuildRequires: brs, ComponentBuilds: nonNil(componentIDs), Context: m.Context, ID: m.ID,
		KojiTag: optString(m.KojiTag), Name: m.Name, Owner: m.Owner, RebuildStrategy: string(m.RebuildStrategy),
		SCMURL: optString(m.SCMURL), Scratch: m.Scratch, Siblings: nonNil(m.Siblings), SRPMs: nonNil(m.SRPMs),
		State: int(m.State), StateName: m.State.String(), StateReason: optString(m.StateReason), Stream: m.Stream,
		TimeCompleted: optTime(m.TimeCompleted), TimeModified: optTime(&m.TimeModified),
		TimeSubmitted: optTime(&m.TimeSubmitted), Version: formatUint(m.Version),
	})
	return Event{Type: EventModuleStateChanged, ModuleBuildID: m.ID, At: at, Payload: p}
}

// NewComponentEvent returns the outbox event for c, a component of the
// module build moduleNSVC names, having just entered c.State.
func NewComponentEvent(c *ComponentBuild, moduleNSVC string, at time.Time) Event {
	p := ComponentEventPayload{
		Batch: c.Batch, Format: c.Format, ID: c.ID, ModuleBuild: c.ModuleBuildID, ModuleNSVC: moduleNSVC,
		NVR: optString(c.NVR), Package: c.Package, StateReason: optString(c.StateReason),
	}
	if c.State != ComponentWaiting {
		s, name := int(c.State), c.State.String()
		p.State, p.StateName = &s, &name
	}
	if c.TaskID != 0 {
		p.TaskID = &c.TaskID
	}
	body, _ := json.Marshal(p)
	return Event{Type: EventComponentStateChanged, ModuleBuildID: c.ModuleBuildID, ComponentBuildID: c.ID, At: at, Payload: body}
}
