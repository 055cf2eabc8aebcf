package engine

import (
	"context"
	"fmt"
	"strings"
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
	for _, id := range ids {
		s.Wake(ctx, id)
	}
	return len(ids), nil
}
