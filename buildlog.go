package rida

import (
	"bytes"
	"fmt"
	"slices"
	"time"
)

// BuildLog renders a module build's history as text: every state change of
// the build and of its components, in time order, with their reasons. It is
// the build.log a content-generator import carries (MBS uploads its
// per-build log file; rida's history is the database's trace rows). m must
// carry its StateTrace and its Components with theirs.
func BuildLog(m *ModuleBuild) []byte {
	type line struct {
		at   time.Time
		text string
	}
	var lines []line
	for _, t := range m.StateTrace {
		lines = append(lines, line{t.Time, fmt.Sprintf("module %s %s", m.NSVC(), reasoned(ModuleState(t.State).String(), t.Reason))})
	}
	for _, c := range m.Components {
		for _, t := range c.StateTrace {
			state := ComponentState(t.State).String()
			if state == "" {
				state = "WAITING"
			}
			lines = append(lines, line{t.Time, fmt.Sprintf("%s/%s (batch %d) %s", c.Format, c.Package, c.Batch, reasoned(state, t.Reason))})
		}
	}
	// Stable: what happened in one transaction keeps the order above, the
	// module's change first.
	slices.SortStableFunc(lines, func(a, b line) int { return a.at.Compare(b.at) })
	var out bytes.Buffer
	fmt.Fprintf(&out, "Module build %d, %s, submitted by %s from %s\n", m.ID, m.NSVC(), m.Owner, orNone(m.SCMURL))
	for _, l := range lines {
		fmt.Fprintf(&out, "%s %s\n", l.at.UTC().Format("2006-01-02T15:04:05.000000Z"), l.text)
	}
	return out.Bytes()
}

func reasoned(state, reason string) string {
	if reason == "" {
		return state
	}
	return state + ": " + reason
}

func orNone(s string) string {
	if s == "" {
		return "a modulemd document"
	}
	return s
}
