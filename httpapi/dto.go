package httpapi

import (
	"strconv"
	"time"

	"github.com/rida-build/rida"
)

// The DTOs below reproduce MBS's JSON. Fields are declared in alphabetical
// order of their JSON names because MBS (Flask, JSON_SORT_KEYS) sorts keys.

// moduleShort is MBS's short_json.
type moduleShort struct {
	Context   string `json:"context"`
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	Scratch   bool   `json:"scratch"`
	State     int    `json:"state"`
	StateName string `json:"state_name"`
	Stream    string `json:"stream"`
	Version   string `json:"version"`
}

// baseModuleJSON is MBS's short_json(show_stream_version=True,
// show_scratch=False) of a base module a build buildrequires.
type baseModuleJSON struct {
	Context       string   `json:"context"`
	ID            int64    `json:"id"`
	Name          string   `json:"name"`
	State         int      `json:"state"`
	StateName     string   `json:"state_name"`
	Stream        string   `json:"stream"`
	StreamVersion *float64 `json:"stream_version"`
	Version       string   `json:"version"`
}

// taskJSON is one entry of a module's "tasks".
type taskJSON struct {
	NVR         *string `json:"nvr"`
	State       *int    `json:"state"`
	StateReason *string `json:"state_reason"`
	TaskID      *int64  `json:"task_id"`
}

// moduleJSON is MBS's json(show_tasks=True), the default output.
type moduleJSON struct {
	BuildRequires   map[string]rida.BuildRequire   `json:"buildrequires"`
	ComponentBuilds []int64                        `json:"component_builds"`
	Context         string                         `json:"context"`
	ID              int64                          `json:"id"`
	KojiTag         *string                        `json:"koji_tag"`
	Name            string                         `json:"name"`
	Owner           string                         `json:"owner"`
	RebuildStrategy string                         `json:"rebuild_strategy"`
	SCMURL          *string                        `json:"scmurl"`
	Scratch         bool                           `json:"scratch"`
	Siblings        []int64                        `json:"siblings"`
	SRPMs           []string                       `json:"srpms"`
	State           int                            `json:"state"`
	StateName       string                         `json:"state_name"`
	StateReason     *string                        `json:"state_reason"`
	Stream          string                         `json:"stream"`
	Tasks           map[string]map[string]taskJSON `json:"tasks"`
	TimeCompleted   *string                        `json:"time_completed"`
	TimeModified    *string                        `json:"time_modified"`
	TimeSubmitted   *string                        `json:"time_submitted"`
	Version         string                         `json:"version"`
}

// traceJSON is one state_trace entry.
type traceJSON struct {
	Reason    *string `json:"reason"`
	State     *int    `json:"state"`
	StateName *string `json:"state_name"`
	Time      *string `json:"time"`
}

// moduleVerbose is MBS's extended_json(show_state_url=True).
type moduleVerbose struct {
	Arches              []string                       `json:"arches"`
	BaseModuleBuildReqs []baseModuleJSON               `json:"base_module_buildrequires"`
	BuildContext        *string                        `json:"build_context"`
	BuildRequires       map[string]rida.BuildRequire   `json:"buildrequires"`
	ComponentBuilds     []int64                        `json:"component_builds"`
	Context             string                         `json:"context"`
	ID                  int64                          `json:"id"`
	KojiTag             *string                        `json:"koji_tag"`
	Modulemd            string                         `json:"modulemd"`
	Name                string                         `json:"name"`
	Owner               string                         `json:"owner"`
	RebuildStrategy     string                         `json:"rebuild_strategy"`
	ReusedModuleID      *int64                         `json:"reused_module_id"`
	RuntimeContext      *string                        `json:"runtime_context"`
	SCMURL              *string                        `json:"scmurl"`
	Scratch             bool                           `json:"scratch"`
	Siblings            []int64                        `json:"siblings"`
	SRPMs               []string                       `json:"srpms"`
	State               int                            `json:"state"`
	StateName           string                         `json:"state_name"`
	StateReason         *string                        `json:"state_reason"`
	StateTrace          []traceJSON                    `json:"state_trace"`
	StateURL            string                         `json:"state_url"`
	Stream              string                         `json:"stream"`
	StreamVersion       *float64                       `json:"stream_version"`
	Tasks               map[string]map[string]taskJSON `json:"tasks"`
	TimeCompleted       *string                        `json:"time_completed"`
	TimeModified        *string                        `json:"time_modified"`
	TimeSubmitted       *string                        `json:"time_submitted"`
	Version             string                         `json:"version"`
	VirtualStreams      []string                       `json:"virtual_streams"`
}

// componentJSON is MBS's ComponentBuild.json.
type componentJSON struct {
	Format      string  `json:"format"`
	ID          int64   `json:"id"`
	ModuleBuild int64   `json:"module_build"`
	NVR         *string `json:"nvr"`
	Package     string  `json:"package"`
	State       *int    `json:"state"`
	StateName   *string `json:"state_name"`
	StateReason *string `json:"state_reason"`
	TaskID      *int64  `json:"task_id"`
}

// componentVerbose is MBS's ComponentBuild.extended_json.
type componentVerbose struct {
	Batch       int         `json:"batch"`
	Format      string      `json:"format"`
	ID          int64       `json:"id"`
	ModuleBuild int64       `json:"module_build"`
	NVR         *string     `json:"nvr"`
	Package     string      `json:"package"`
	State       *int        `json:"state"`
	StateName   *string     `json:"state_name"`
	StateReason *string     `json:"state_reason"`
	StateTrace  []traceJSON `json:"state_trace"`
	StateURL    string      `json:"state_url"`
	TaskID      *int64      `json:"task_id"`
}

// pageMeta is MBS's pagination "meta" object.
type pageMeta struct {
	First   string  `json:"first"`
	Last    string  `json:"last"`
	Next    *string `json:"next"`
	Page    int     `json:"page"`
	Pages   int     `json:"pages"`
	PerPage int     `json:"per_page"`
	Prev    *string `json:"prev"`
	Total   int     `json:"total"`
}

type listBody[T any] struct {
	Items []T      `json:"items"`
	Meta  pageMeta `json:"meta"`
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func optInt64(n int64) *int64 {
	if n == 0 {
		return nil
	}
	return &n
}

func optTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(rida.TimeFormat)
	return &s
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilInts(s []int64) []int64 {
	if s == nil {
		return []int64{}
	}
	return s
}

func toShort(m *rida.ModuleBuild) moduleShort {
	return moduleShort{
		Context: m.Context, ID: m.ID, Name: m.Name, Scratch: m.Scratch, State: int(m.State),
		StateName: m.State.String(), Stream: m.Stream, Version: strconv.FormatUint(m.Version, 10),
	}
}

func componentIDs(m *rida.ModuleBuild) []int64 {
	ids := make([]int64, len(m.Components))
	for i, c := range m.Components {
		ids[i] = c.ID
	}
	return ids
}

func tasksOf(m *rida.ModuleBuild) map[string]map[string]taskJSON {
	tasks := map[string]map[string]taskJSON{}
	for _, c := range m.Components {
		byPkg := tasks[c.Format]
		if byPkg == nil {
			byPkg = map[string]taskJSON{}
			tasks[c.Format] = byPkg
		}
		byPkg[c.Package] = taskJSON{NVR: optString(c.NVR), State: componentStateJSON(c.State), StateReason: optString(c.StateReason), TaskID: optInt64(c.TaskID)}
	}
	return tasks
}

func buildRequires(m *rida.ModuleBuild) map[string]rida.BuildRequire {
	if m.BuildRequires == nil {
		return map[string]rida.BuildRequire{}
	}
	return m.BuildRequires
}

func toJSON(m *rida.ModuleBuild) moduleJSON {
	var completed *string
	if m.TimeCompleted != nil {
		completed = optTime(*m.TimeCompleted)
	}
	return moduleJSON{
		BuildRequires: buildRequires(m), ComponentBuilds: componentIDs(m), Context: m.Context, ID: m.ID,
		KojiTag: optString(m.KojiTag), Name: m.Name, Owner: m.Owner, RebuildStrategy: string(m.RebuildStrategy),
		SCMURL: optString(m.SCMURL), Scratch: m.Scratch, Siblings: nonNilInts(m.Siblings), SRPMs: nonNilStrings(m.SRPMs),
		State: int(m.State), StateName: m.State.String(), StateReason: optString(m.StateReason), Stream: m.Stream,
		Tasks: tasksOf(m), TimeCompleted: completed, TimeModified: optTime(m.TimeModified),
		TimeSubmitted: optTime(m.TimeSubmitted), Version: strconv.FormatUint(m.Version, 10),
	}
}

func moduleTrace(trace []rida.StateChange) []traceJSON {
	out := make([]traceJSON, len(trace))
	for i, t := range trace {
		s := rida.ModuleState(t.State)
		n, name := int(s), s.String()
		out[i] = traceJSON{Reason: optString(t.Reason), State: &n, StateName: &name, Time: optTime(t.Time)}
	}
	return out
}

func componentTrace(trace []rida.StateChange) []traceJSON {
	out := make([]traceJSON, len(trace))
	for i, t := range trace {
		s := rida.ComponentState(t.State)
		out[i] = traceJSON{Reason: optString(t.Reason), State: componentStateJSON(s), StateName: componentStateName(s), Time: optTime(t.Time)}
	}
	return out
}

func toVerbose(m *rida.ModuleBuild, apiVersion int) moduleVerbose {
	j := toJSON(m)
	return moduleVerbose{
		Arches: []string{}, BaseModuleBuildReqs: baseModules(m), BuildContext: optString(m.BuildContext),
		BuildRequires: j.BuildRequires, ComponentBuilds: j.ComponentBuilds, Context: j.Context, ID: j.ID,
		KojiTag: j.KojiTag, Modulemd: m.Modulemd, Name: j.Name, Owner: j.Owner, RebuildStrategy: j.RebuildStrategy,
		ReusedModuleID: m.ReusedModuleID, RuntimeContext: optString(m.RuntimeContext), SCMURL: j.SCMURL,
		Scratch: j.Scratch, Siblings: j.Siblings, SRPMs: j.SRPMs, State: j.State, StateName: j.StateName,
		StateReason: j.StateReason, StateTrace: moduleTrace(m.StateTrace),
		StateURL: "/module-build-service/" + strconv.Itoa(apiVersion) + "/module-builds/" + itoa(m.ID),
		Stream:   j.Stream, StreamVersion: m.StreamVersion, Tasks: j.Tasks, TimeCompleted: j.TimeCompleted,
		TimeModified: j.TimeModified, TimeSubmitted: j.TimeSubmitted, Version: j.Version, VirtualStreams: nonNilStrings(m.VirtualStreams),
	}
}

func baseModules(m *rida.ModuleBuild) []baseModuleJSON {
	out := make([]baseModuleJSON, len(m.BaseModules))
	for i, b := range m.BaseModules {
		out[i] = baseModuleJSON{
			Context: b.Context, ID: b.ID, Name: b.Name, State: int(b.State), StateName: b.State.String(),
			Stream: b.Stream, StreamVersion: b.StreamVersion, Version: strconv.FormatUint(b.Version, 10),
		}
	}
	return out
}

func componentStateJSON(s rida.ComponentState) *int {
	if s == rida.ComponentWaiting {
		return nil
	}
	n := int(s)
	return &n
}

func componentStateName(s rida.ComponentState) *string {
	if s == rida.ComponentWaiting {
		return nil
	}
	name := s.String()
	return &name
}

func toComponentJSON(c *rida.ComponentBuild) componentJSON {
	return componentJSON{
		Format: c.Format, ID: c.ID, ModuleBuild: c.ModuleBuildID, NVR: optString(c.NVR), Package: c.Package,
		State: componentStateJSON(c.State), StateName: componentStateName(c.State),
		StateReason: optString(c.StateReason), TaskID: optInt64(c.TaskID),
	}
}

func toComponentVerbose(c *rida.ComponentBuild, apiVersion int) componentVerbose {
	j := toComponentJSON(c)
	return componentVerbose{
		Batch: c.Batch, Format: j.Format, ID: j.ID, ModuleBuild: j.ModuleBuild, NVR: j.NVR, Package: j.Package,
		State: j.State, StateName: j.StateName, StateReason: j.StateReason, StateTrace: componentTrace(c.StateTrace),
		StateURL: "/module-build-service/" + strconv.Itoa(apiVersion) + "/component-builds/" + itoa(c.ID),
		TaskID:   j.TaskID,
	}
}

// ModuleBuildJSON returns m in MBS's verbose (extended_json) shape for API v2,
// for tools such as the CLI that print what the server would.
func ModuleBuildJSON(m *rida.ModuleBuild) any { return toVerbose(m, 2) }

// ComponentBuildJSON returns c in MBS's verbose component shape for API v2.
func ComponentBuildJSON(c *rida.ComponentBuild) any { return toComponentVerbose(c, 2) }
