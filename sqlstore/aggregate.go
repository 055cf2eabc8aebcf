package sqlstore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rida-build/rida"
)

// On PostgreSQL every statement is a round trip, and reading one build with
// its related rows used to be eight of them (BEGIN, the build, components,
// trace, siblings, virtual streams, base modules, COMMIT). There the related
// rows that API reads need are instead aggregated into JSON columns of the
// build's own row: one statement, which is also one consistent snapshot.
// Lists keep the per-kind queries (one per kind for the whole page), and so
// does SQLite, where a statement costs no round trip.

// aggregable reports whether inc can be served by aggregated columns: full
// component rows and component traces still use the per-kind queries.
func aggregable(d *dialect, inc rida.ModuleBuildInclude) bool {
	return d.postgres() && includesAny(inc) && !inc.Components && !inc.ComponentTraces
}

// aggregateColumns returns the extra select expressions for inc, in the
// order aggregateRow scans them. They are correlated on module_builds.id.
func aggregateColumns(inc rida.ModuleBuildInclude) string {
	var b strings.Builder
	add := func(expr string) { b.WriteString(",\n (" + expr + ")") }
	if inc.ComponentTasks {
		add(`SELECT coalesce(json_agg(json_build_array(c.id, c.package, c.format, c.batch, c.task_id, c.task_state,
 c.state, c.state_reason, c.nvr) ORDER BY c.id), '[]') FROM component_builds c WHERE c.module_id = module_builds.id`)
	}
	if inc.StateTrace {
		add(`SELECT coalesce(json_agg(json_build_array(t.state_time, t.state, t.state_reason) ORDER BY t.id), '[]')
 FROM module_builds_trace t WHERE t.module_id = module_builds.id`)
	}
	if inc.Siblings {
		add(`SELECT coalesce(json_agg(s.id ORDER BY s.id), '[]') FROM module_builds s
 WHERE s.name = module_builds.name AND s.stream = module_builds.stream AND s.version = module_builds.version
 AND s.scratch = module_builds.scratch AND s.id <> module_builds.id`)
	}
	if inc.VirtualStreams {
		add(`SELECT coalesce(json_agg(v.name ORDER BY v.name), '[]') FROM module_builds_virtual_streams v
 WHERE v.module_build_id = module_builds.id`)
	}
	if inc.BaseModules {
		add(`SELECT coalesce(json_agg(json_build_array(b.id, b.name, b.stream, b.version, b.context, b.state,
 b.scratch, b.stream_version) ORDER BY b.id), '[]') FROM module_builds_base_modules l
 JOIN module_builds b ON b.id = l.base_module_id WHERE l.module_build_id = module_builds.id`)
	}
	return b.String()
}

// aggregateRow holds the scan targets of the aggregated columns.
type aggregateRow struct {
	inc                                       rida.ModuleBuildInclude
	comps, trace, siblings, streams, basemods []byte
}

// dest returns the scan targets, in aggregateColumns' order.
func (a *aggregateRow) dest() []any {
	var d []any
	if a.inc.ComponentTasks {
		d = append(d, &a.comps)
	}
	if a.inc.StateTrace {
		d = append(d, &a.trace)
	}
	if a.inc.Siblings {
		d = append(d, &a.siblings)
	}
	if a.inc.VirtualStreams {
		d = append(d, &a.streams)
	}
	if a.inc.BaseModules {
		d = append(d, &a.basemods)
	}
	return d
}

// fill decodes the aggregated columns into m, matching what the per-kind
// loaders produce (same order, nil slices when empty).
func (a *aggregateRow) fill(m *rida.ModuleBuild) error {
	if a.inc.ComponentTasks {
		var rows [][9]json.RawMessage
		if err := json.Unmarshal(a.comps, &rows); err != nil {
			return fmt.Errorf("decode components: %w", err)
		}
		block := make([]rida.ComponentBuild, len(rows))
		for i, r := range rows {
			c := &block[i]
			c.ModuleBuildID, c.State = m.ID, rida.ComponentWaiting
			var state, taskState *int64
			err := firstErr(
				jsonInt(r[0], &c.ID), jsonString(r[1], &c.Package), jsonString(r[2], &c.Format),
				jsonIntAs(r[3], &c.Batch), jsonInt(r[4], &c.TaskID), jsonOptInt(r[5], &taskState),
				jsonOptInt(r[6], &state), jsonString(r[7], &c.StateReason), jsonString(r[8], &c.NVR))
			if err != nil {
				return fmt.Errorf("decode component: %w", err)
			}
			if state != nil {
				c.State = rida.ComponentState(*state)
			}
			if taskState != nil {
				ts := rida.TaskState(*taskState)
				c.TaskState = &ts
			}
			m.Components = append(m.Components, c)
		}
	}
	if a.inc.StateTrace {
		var rows [][3]json.RawMessage
		if err := json.Unmarshal(a.trace, &rows); err != nil {
			return fmt.Errorf("decode trace: %w", err)
		}
		for _, r := range rows {
			var at string
			var state int64
			var reason string
			if err := firstErr(jsonString(r[0], &at), jsonInt(r[1], &state), jsonString(r[2], &reason)); err != nil {
				return fmt.Errorf("decode trace: %w", err)
			}
			t, err := time.Parse(time.RFC3339Nano, at)
			if err != nil {
				return fmt.Errorf("decode trace time %q: %w", at, err)
			}
			m.StateTrace = append(m.StateTrace, rida.StateChange{Time: t.UTC(), State: int(state), Reason: reason})
		}
	}
	if a.inc.Siblings && !bytes.Equal(a.siblings, []byte("[]")) {
		if err := json.Unmarshal(a.siblings, &m.Siblings); err != nil {
			return fmt.Errorf("decode siblings: %w", err)
		}
	}
	if a.inc.VirtualStreams && !bytes.Equal(a.streams, []byte("[]")) {
		if err := json.Unmarshal(a.streams, &m.VirtualStreams); err != nil {
			return fmt.Errorf("decode virtual streams: %w", err)
		}
	}
	if a.inc.BaseModules {
		var rows [][8]json.RawMessage
		if err := json.Unmarshal(a.basemods, &rows); err != nil {
			return fmt.Errorf("decode base modules: %w", err)
		}
		for _, r := range rows {
			b := &rida.ModuleBuild{}
			var version, state int64
			var streamVersion *float64
			err := firstErr(jsonInt(r[0], &b.ID), jsonString(r[1], &b.Name), jsonString(r[2], &b.Stream),
				jsonInt(r[3], &version), jsonString(r[4], &b.Context), jsonInt(r[5], &state),
				json.Unmarshal(r[6], &b.Scratch), json.Unmarshal(r[7], &streamVersion))
			if err != nil {
				return fmt.Errorf("decode base module: %w", err)
			}
			b.Version, b.State, b.StreamVersion = uint64(version), rida.ModuleState(state), streamVersion
			m.BaseModules = append(m.BaseModules, b)
		}
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// jsonInt reads a JSON integer; null leaves *v at 0.
func jsonInt(raw json.RawMessage, v *int64) error {
	if string(raw) == "null" {
		return nil
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return fmt.Errorf("integer %s: %w", raw, err)
	}
	*v = n
	return nil
}

func jsonIntAs(raw json.RawMessage, v *int) error {
	var n int64
	if err := jsonInt(raw, &n); err != nil {
		return err
	}
	*v = int(n)
	return nil
}

// jsonOptInt reads a JSON integer or null.
func jsonOptInt(raw json.RawMessage, v **int64) error {
	if string(raw) == "null" {
		return nil
	}
	var n int64
	if err := jsonInt(raw, &n); err != nil {
		return err
	}
	*v = &n
	return nil
}

// jsonString reads a JSON string; null leaves *v empty, as NULL text does.
func jsonString(raw json.RawMessage, v *string) error {
	if string(raw) == "null" {
		return nil
	}
	return json.Unmarshal(raw, v)
}
