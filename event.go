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

// moduleEventPayload is the bus body of a module state change: MBS's
// json(show_tasks=False) fields that identify the build and its state.
type moduleEventPayload struct {
	ID              int64   `json:"id"`
	Name            string  `json:"name"`
	Stream          string  `json:"stream"`
	Version         string  `json:"version"`
	Context         string  `json:"context"`
	State           int     `json:"state"`
	StateName       string  `json:"state_name"`
	StateReason     *string `json:"state_reason"`
	Owner           string  `json:"owner"`
	SCMURL          *string `json:"scmurl"`
	KojiTag         *string `json:"koji_tag"`
	RebuildStrategy string  `json:"rebuild_strategy"`
	Scratch         bool    `json:"scratch"`
	TimeModified    string  `json:"time_modified"`
}

// componentEventPayload is the bus body of a component state change.
type componentEventPayload struct {
	ID          int64   `json:"id"`
	ModuleBuild int64   `json:"module_build"`
	Package     string  `json:"package"`
	Format      string  `json:"format"`
	State       *int    `json:"state"`
	StateName   *string `json:"state_name"`
	StateReason *string `json:"state_reason"`
	TaskID      *int64  `json:"task_id"`
	NVR         *string `json:"nvr"`
}

// TimeFormat is MBS's wire format for timestamps: UTC, seconds, "Z".
const TimeFormat = "2006-01-02T15:04:05Z"

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// NewModuleEvent returns the outbox event for m having just entered m.State.
func NewModuleEvent(m *ModuleBuild, at time.Time) Event {
	p, _ := json.Marshal(moduleEventPayload{
		ID: m.ID, Name: m.Name, Stream: m.Stream, Version: formatUint(m.Version), Context: m.Context,
		State: int(m.State), StateName: m.State.String(), StateReason: optString(m.StateReason),
		Owner: m.Owner, SCMURL: optString(m.SCMURL), KojiTag: optString(m.KojiTag),
		RebuildStrategy: string(m.RebuildStrategy), Scratch: m.Scratch,
		TimeModified: m.TimeModified.UTC().Format(TimeFormat),
	})
	return Event{Type: EventModuleStateChanged, ModuleBuildID: m.ID, At: at, Payload: p}
}

// NewComponentEvent returns the outbox event for c having just entered
// c.State.
func NewComponentEvent(c *ComponentBuild, at time.Time) Event {
	p := componentEventPayload{
		ID: c.ID, ModuleBuild: c.ModuleBuildID, Package: c.Package, Format: c.Format,
		StateReason: optString(c.StateReason), NVR: optString(c.NVR),
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
