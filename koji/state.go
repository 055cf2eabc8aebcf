package koji

import (
	"github.com/rida-build/rida"
)

// ComponentState maps a Koji build state (getBuild's "state":
// koji.BUILD_STATES) to a component state. rida numbers its component
// states as Koji does, so this is a check, in the one place Koji's states
// are read (style.md §8.4).
func ComponentState(buildState int) (rida.ComponentState, error) {
	s := rida.ComponentState(buildState)
	if buildState < 0 || !s.Valid() {
		return 0, rida.Errorf(rida.CodeUnavailable, "Koji reported the unknown build state %d", buildState)
	}
	return s, nil
}

// TaskState maps a Koji task state (getTaskInfo's "state":
// koji.TASK_STATES) to rida's.
func TaskState(taskState int) (rida.TaskState, error) {
	s := rida.TaskState(taskState)
	if !s.Valid() {
		return 0, rida.Errorf(rida.CodeUnavailable, "Koji reported the unknown task state %d", taskState)
	}
	return s, nil
}

// TaskEnded reports whether a task has finished: closed, canceled or
// failed. Free, open and assigned tasks are still active (MBS's "active").
func TaskEnded(s rida.TaskState) bool {
	return s == rida.TaskClosed || s == rida.TaskCanceled || s == rida.TaskFailed
}
