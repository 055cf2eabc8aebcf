package engine

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Nudge is what a message from the build system is about, in the terms the
// engine knows builds by: tasks (a component's build task or its parent, a
// repository regeneration) and tags (a module's tag or its -build tag).
// It carries no state: a nudge only makes the concerned builds due, and
// the engine asks the backend what actually happened, so duplicated, late
// and out-of-order messages cannot move a build wrongly.
type Nudge struct {
	TaskIDs []int64
	Tags    []string
}

// Nudge wakes the module builds in progress that n concerns and returns
// how many there were; none (an unknown task, someone else's tag) is not
// an error.
func (s *Scheduler) Nudge(ctx context.Context, n Nudge) (int, error) {
	tags := make([]string, 0, len(n.Tags))
	for _, t := range n.Tags {
		// Koji regenerates and tags into <tag>-build as well as <tag>.
		tags = append(tags, t)
		if base, ok := strings.CutSuffix(t, "-build"); ok {
			tags = append(tags, base)
		}
	}
	ids, err := s.store.ModuleBuildsConcerned(ctx, n.TaskIDs, tags)
	if err != nil {
		return 0, fmt.Errorf("finding the module builds a message concerns: %w", err)
	}
	if len(ids) == 0 {
		s.rememberEarly(n.TaskIDs)
	}
	for _, id := range ids {
		s.Wake(ctx, id)
	}
	return len(ids), nil
}

// earlyTTL is how long a task nobody claimed is remembered: longer than
// any submission takes to record its task id.
const earlyTTL = 10 * time.Minute

// maxEarly bounds the tasks remembered, against a flood of messages about
// other services' tasks.
const maxEarly = 10000

// rememberEarly keeps the tasks of a message that found no build: a build
// can finish before its submitter has recorded the task id (a fast
// builder, a busy database), and the message about it would otherwise be
// lost until the next reconciliation. submit looks here after recording.
func (s *Scheduler) rememberEarly(tasks []int64) {
	now := s.config.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, at := range s.early {
		if now.Sub(at) > earlyTTL || len(s.early) >= maxEarly {
			delete(s.early, id)
		}
	}
	for _, id := range tasks {
		if id > 0 {
			s.early[id] = now
		}
	}
}

// heardEarly reports whether a message about one of tasks arrived before
// they were recorded, forgetting them.
func (s *Scheduler) heardEarly(tasks []int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	heard := false
	for _, id := range tasks {
		if _, ok := s.early[id]; ok {
			delete(s.early, id)
			heard = true
		}
	}
	return heard
}
