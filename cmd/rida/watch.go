package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/httpapi"
)

func (m *Main) watchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "watch ID",
		Short: "Follow a module build until it ends; exit 0 when it is ready, 1 when it failed",
		Long: "watch follows the build's live event stream (GET /rida/module-builds/ID/events) and shows its\n" +
			"progress: a block redrawn in place on a terminal, one line per change otherwise. A broken\n" +
			"stream (a server restart) is resumed where it stopped. The exit code is 0 for a ready build\n" +
			"(or a scratch build in done) and 1 for a failed one.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil || id <= 0 {
				return fmt.Errorf("the module build id %q is not a positive integer", args[0])
			}
			c, err := m.loadConfig(cmd.Flags())
			if err != nil {
				return err
			}
			hc, err := m.httpClient(c)
			if err != nil {
				return err
			}
			return m.watch(cmd.Context(), httpapi.NewClient(c.Server, hc), id)
		},
	}
	addClientFlags(cmd.Flags())
	return cmd
}

// watch shows the build's progress from its event stream until it ends.
func (m *Main) watch(ctx context.Context, client *httpapi.Client, id int64) error {
	build, err := client.FindModuleBuildByID(ctx, id, rida.ModuleBuildInclude{Components: true})
	if err != nil {
		return err
	}
	// The build as read now gives the components; the stream then replays
	// its history from the start, so the view starts where the build did.
	resetHistory(build)
	p := newProgress(m.Stdout, isTerminal(m.Stdout))
	var after int64
	broken := 0
	for {
		last, err := client.StreamModuleEvents(ctx, id, after, func(e httpapi.StreamEvent) error {
			if applyEvent(build, e) {
				p.show([]*rida.ModuleBuild{build})
				return nil
			}
			// A component the build did not have when it was read (a
			// resubmission's): take the components from the build as it
			// is now, keeping what the stream said of the rest.
			fresh, err := client.FindModuleBuildByID(ctx, id, rida.ModuleBuildInclude{Components: true})
			if err != nil {
				return err
			}
			known := map[int64]*rida.ComponentBuild{}
			for _, c := range build.Components {
				known[c.ID] = c
			}
			for i, c := range fresh.Components {
				if k, ok := known[c.ID]; ok {
					fresh.Components[i] = k
				}
			}
			build.Components = fresh.Components
			applyEvent(build, e)
			p.show([]*rida.ModuleBuild{build})
			return nil
		})
		if last > after {
			after, broken = last, 0
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err == nil {
			break // the server ended the stream: the build has ended
		}
		if rida.ErrorCodeOf(err) != rida.CodeUnavailable {
			return err
		}
		// The server went away (a restart): resume where the stream
		// stopped, without a gap, once it answers again.
		broken++
		wait := min(time.Duration(broken)*500*time.Millisecond, 5*time.Second)
		if broken == 1 {
			fmt.Fprintf(m.Stderr, "rida watch: %v; resuming after event %d\n", err, after)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
	switch {
	case build.State == rida.ModuleReady, build.State == rida.ModuleDone && build.Scratch:
		fmt.Fprintf(m.Stdout, "%s is %s\n", build.NSVC(), build.State)
		return nil
	case build.State == rida.ModuleFailed, build.State == rida.ModuleGarbage:
		return rida.Errorf(rida.CodeUnprocessable, "Module build %s is %s: %s", build.NSVC(), build.State, build.StateReason)
	}
	return errors.New("the event stream ended before the build did")
}

// resetHistory puts build back where its history starts: submitted, every
// component waiting.
func resetHistory(build *rida.ModuleBuild) {
	build.State, build.StateReason, build.Batch = rida.ModuleInit, "", 0
	for _, c := range build.Components {
		c.State, c.StateReason, c.TaskID, c.NVR = rida.ComponentWaiting, "", 0, ""
	}
}

// applyEvent updates build from one event's body; false means the event
// names a component the build does not hold.
func applyEvent(build *rida.ModuleBuild, e httpapi.StreamEvent) bool {
	switch e.Type {
	case rida.EventModuleStateChanged:
		var p rida.ModuleEventPayload
		if json.Unmarshal(e.Body, &p) != nil {
			return true
		}
		build.State, build.StateReason = rida.ModuleState(p.State), deref(p.StateReason)
		if p.KojiTag != nil {
			build.KojiTag = *p.KojiTag
		}
		return len(p.ComponentBuilds) <= len(build.Components)
	case rida.EventComponentStateChanged:
		var p rida.ComponentEventPayload
		if json.Unmarshal(e.Body, &p) != nil {
			return true
		}
		for _, c := range build.Components {
			if c.ID != p.ID {
				continue
			}
			c.State = rida.ComponentWaiting
			if p.State != nil {
				c.State = rida.ComponentState(*p.State)
			}
			c.StateReason, c.NVR, c.Batch = deref(p.StateReason), deref(p.NVR), p.Batch
			if p.TaskID != nil {
				c.TaskID = *p.TaskID
			}
			if p.Batch > build.Batch {
				build.Batch = p.Batch
			}
			return true
		}
		return false
	}
	return true
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
