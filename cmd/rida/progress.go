package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/rida-build/rida"
)

// progress shows module builds moving forward: on a terminal, one block
// redrawn in place (each build's state, batch n/m and a bar, then its
// components); elsewhere, one plain line per change, so logs and CI output
// stay readable.
type progress struct {
	out      io.Writer
	terminal bool
	// lines is how many lines the last block drew (terminal); seen holds
	// the last line printed per build and component (plain).
	lines int
	seen  map[string]string
}

func newProgress(out io.Writer, terminal bool) *progress {
	return &progress{out: out, terminal: terminal, seen: map[string]string{}}
}

// show draws the builds' current state.
func (p *progress) show(builds []*rida.ModuleBuild) {
	if p.terminal {
		var b strings.Builder
		if p.lines > 0 {
			// Up to the first line of the previous block, then clear to the
			// end of the screen.
			fmt.Fprintf(&b, "\x1b[%dA\x1b[J", p.lines)
		}
		block := progressBlock(builds)
		b.WriteString(block)
		p.lines = strings.Count(block, "\n")
		io.WriteString(p.out, b.String())
		return
	}
	for _, m := range builds {
		key := fmt.Sprint("m", m.ID)
		if line := moduleLine(m); p.seen[key] != line {
			p.seen[key] = line
			fmt.Fprintln(p.out, line)
		}
		for _, c := range m.Components {
			key := fmt.Sprint("c", c.ID)
			if line := "  " + componentLine(c); p.seen[key] != line {
				p.seen[key] = line
				fmt.Fprintf(p.out, "%s: %s\n", m.NSVC(), strings.TrimSpace(line))
			}
		}
	}
}

// progressBlock renders the terminal view of builds.
func progressBlock(builds []*rida.ModuleBuild) string {
	var b strings.Builder
	for _, m := range builds {
		b.WriteString(moduleLine(m))
		b.WriteString("\n")
		comps := slices.Clone(m.Components)
		slices.SortStableFunc(comps, func(a, b *rida.ComponentBuild) int { return a.Batch - b.Batch })
		for _, c := range comps {
			b.WriteString("  " + componentLine(c) + "\n")
		}
	}
	return b.String()
}

// moduleLine is a build's summary: N:S:V:C, state, batch n/m, a bar of the
// components done, and why it failed.
func moduleLine(m *rida.ModuleBuild) string {
	batches, done := 0, 0
	for _, c := range m.Components {
		batches = max(batches, c.Batch)
		if c.State == rida.ComponentComplete {
			done++
		}
	}
	line := fmt.Sprintf("%s  %-6s", m.NSVC(), m.State)
	if len(m.Components) > 0 {
		line += fmt.Sprintf("  batch %d/%d  %s %d/%d", m.Batch, batches, bar(done, len(m.Components), 20), done, len(m.Components))
	}
	if m.State == rida.ModuleFailed && m.StateReason != "" {
		line += "  " + m.StateReason
	}
	return line
}

func componentLine(c *rida.ComponentBuild) string {
	state := c.State.String()
	if c.State == rida.ComponentWaiting {
		state = "waiting"
	}
	line := fmt.Sprintf("batch %d  %-24s %s", c.Batch, c.Package, state)
	switch c.State {
	case rida.ComponentComplete:
		line += "  " + c.NVR
	case rida.ComponentFailed, rida.ComponentCanceled:
		if c.StateReason != "" {
			line += "  " + c.StateReason
		}
	}
	return line
}

// bar is a text progress bar of width cells.
func bar(done, total, width int) string {
	if total <= 0 {
		return "[" + strings.Repeat("-", width) + "]"
	}
	n := done * width / total
	return "[" + strings.Repeat("#", n) + strings.Repeat("-", width-n) + "]"
}
