package rida

import (
	"fmt"
	"strconv"
	"strings"
)

// ModuleState is the state of a module build. The names and numbers are
// MBS's (models.BUILD_STATES) and travel on the wire unchanged.
type ModuleState int

// Module build states, numbered as in MBS.
const (
	// ModuleInit: accepted; components are being recorded.
	ModuleInit ModuleState = 0
	// ModuleWait: components recorded; the build environment is prepared.
	ModuleWait ModuleState = 1
	// ModuleBuilding: batches are being built (MBS's "build").
	ModuleBuilding ModuleState = 2
	// ModuleDone: all components built and the module imported; awaiting
	// gating. Final for scratch builds.
	ModuleDone ModuleState = 3
	// ModuleFailed: failed or canceled. A failed build can be resubmitted.
	ModuleFailed ModuleState = 4
	// ModuleReady: usable as a buildrequire.
	ModuleReady ModuleState = 5
	// ModuleGarbage: cleaned up or retired.
	ModuleGarbage ModuleState = 6
)

// ModuleStates lists every module state in numeric order.
var ModuleStates = []ModuleState{ModuleInit, ModuleWait, ModuleBuilding, ModuleDone, ModuleFailed, ModuleReady, ModuleGarbage}

var moduleStateNames = [...]string{"init", "wait", "build", "done", "failed", "ready", "garbage"}

// String returns MBS's name of the state ("init", "build", ...).
func (s ModuleState) String() string {
	if s.Valid() {
		return moduleStateNames[s]
	}
	return "ModuleState(" + strconv.Itoa(int(s)) + ")"
}

// Valid reports whether s is one of the seven module states.
func (s ModuleState) Valid() bool { return s >= ModuleInit && s <= ModuleGarbage }

// Terminal reports whether no further transition is expected without a user
// action (resubmission of a failed build, retirement of a ready one).
func (s ModuleState) Terminal() bool {
	switch s {
	case ModuleInit, ModuleWait, ModuleBuilding, ModuleDone:
		return false
	case ModuleFailed, ModuleReady, ModuleGarbage:
		return true
	}
	panic(fmt.Sprintf("rida: unknown module state %d", int(s)))
}

// ParseModuleState accepts a state name or its number, as MBS's state filter
// does.
func ParseModuleState(v string) (ModuleState, error) {
	for i, name := range moduleStateNames {
		if strings.EqualFold(v, name) {
			return ModuleState(i), nil
		}
	}
	if n, err := strconv.Atoi(v); err == nil && ModuleState(n).Valid() {
		return ModuleState(n), nil
	}
	return 0, Errorf(CodeInvalid, "Invalid state was supplied: %s", v)
}

// moduleTransitions is the whole module state machine (mbs.md §2.1). A
// transition not listed here is illegal, whoever asks for it.
var moduleTransitions = map[ModuleState][]ModuleState{
	ModuleInit:     {ModuleWait, ModuleFailed},
	ModuleWait:     {ModuleBuilding, ModuleFailed},
	ModuleBuilding: {ModuleDone, ModuleFailed},
	ModuleDone:     {ModuleReady, ModuleFailed},
	// Resubmission resumes a failed build from init or wait.
	ModuleFailed:  {ModuleInit, ModuleWait, ModuleGarbage},
	ModuleReady:   {ModuleGarbage},
	ModuleGarbage: nil,
}

// CanTransition reports whether a module build may move from one state to
// another. It is the only gate: the store refuses any other move.
func (s ModuleState) CanTransition(to ModuleState) bool {
	for _, next := range moduleTransitions[s] {
		if next == to {
			return true
		}
	}
	return false
}

// Cancelable reports whether PATCH {"state": "failed"} may cancel a build in
// this state (MBS: build, init, wait).
func (s ModuleState) Cancelable() bool {
	return s == ModuleInit || s == ModuleWait || s == ModuleBuilding
}

// ComponentState is the state of a component build: Koji's BUILD_STATES, plus
// ComponentWaiting for a component not yet submitted (NULL in MBS).
type ComponentState int

// Component build states. The non-negative values are Koji's build states.
const (
	// ComponentWaiting: not submitted yet (NULL in MBS's database and JSON).
	ComponentWaiting ComponentState = -1
	// ComponentBuilding is Koji's BUILDING.
	ComponentBuilding ComponentState = 0
	// ComponentComplete is Koji's COMPLETE.
	ComponentComplete ComponentState = 1
	// ComponentDeleted is Koji's DELETED.
	ComponentDeleted ComponentState = 2
	// ComponentFailed is Koji's FAILED.
	ComponentFailed ComponentState = 3
	// ComponentCanceled is Koji's CANCELED.
	ComponentCanceled ComponentState = 4
)

// ComponentStates lists every component state, waiting first.
var ComponentStates = []ComponentState{ComponentWaiting, ComponentBuilding, ComponentComplete, ComponentDeleted, ComponentFailed, ComponentCanceled}

var componentStateNames = [...]string{"BUILDING", "COMPLETE", "DELETED", "FAILED", "CANCELED"}

// String returns Koji's name of the state, or "" for ComponentWaiting
// (MBS shows null there).
func (s ComponentState) String() string {
	switch {
	case s == ComponentWaiting:
		return ""
	case s.Valid():
		return componentStateNames[s]
	}
	return "ComponentState(" + strconv.Itoa(int(s)) + ")"
}

// Valid reports whether s is a known component state.
func (s ComponentState) Valid() bool { return s >= ComponentWaiting && s <= ComponentCanceled }

// Unbuilt reports whether the component still has to finish (waiting or
// building), MBS's "unbuilt" predicate.
func (s ComponentState) Unbuilt() bool { return s == ComponentWaiting || s == ComponentBuilding }

// ParseComponentState accepts Koji's state name (any case) or its number.
func ParseComponentState(v string) (ComponentState, error) {
	for i, name := range componentStateNames {
		if strings.EqualFold(v, name) {
			return ComponentState(i), nil
		}
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 && ComponentState(n).Valid() {
		return ComponentState(n), nil
	}
	return 0, Errorf(CodeInvalid, "Invalid state was supplied: %s", v)
}

// componentTransitions is the component state machine. Failed and canceled
// components go back to waiting when a failed module build is resubmitted;
// a waiting component may end without a build (reused, or failed/canceled
// with its module).
var componentTransitions = map[ComponentState][]ComponentState{
	ComponentWaiting:  {ComponentBuilding, ComponentComplete, ComponentFailed, ComponentCanceled},
	ComponentBuilding: {ComponentComplete, ComponentFailed, ComponentCanceled},
	ComponentComplete: {ComponentDeleted},
	ComponentDeleted:  nil,
	ComponentFailed:   {ComponentWaiting},
	ComponentCanceled: {ComponentWaiting},
}

// CanTransition reports whether a component build may move from s to the
// given state. It is the only gate for component state changes.
func (s ComponentState) CanTransition(to ComponentState) bool {
	for _, next := range componentTransitions[s] {
		if next == to {
			return true
		}
	}
	return false
}

// TaskState is the state of a Koji task (koji.TASK_STATES), which the seed API
// shows per component as "<task id>/<state>".
type TaskState int

// Koji task states.
const (
	TaskFree     TaskState = 0
	TaskOpen     TaskState = 1
	TaskClosed   TaskState = 2
	TaskCanceled TaskState = 3
	TaskAssigned TaskState = 4
	TaskFailed   TaskState = 5
)

var taskStateNames = [...]string{"free", "open", "closed", "canceled", "assigned", "failed"}

// String returns the lowercase Koji name of the task state.
func (s TaskState) String() string {
	if s.Valid() {
		return taskStateNames[s]
	}
	return "TaskState(" + strconv.Itoa(int(s)) + ")"
}

// Valid reports whether s is a known Koji task state.
func (s TaskState) Valid() bool { return s >= TaskFree && s <= TaskFailed }

// ParseTaskState accepts a lowercase or uppercase Koji task state name.
func ParseTaskState(v string) (TaskState, error) {
	for i, name := range taskStateNames {
		if strings.EqualFold(v, name) {
			return TaskState(i), nil
		}
	}
	return 0, Errorf(CodeInvalid, "invalid task state %q", v)
}
