package bus_test

// The message bodies rida publishes, checked against the JSON Schemas that
// docs/messages.md links (docs/schemas/*.json): the payloads of a real
// store, driven through every module and component state, must validate;
// broken payloads must not; and the examples of docs/messages.md must
// validate too, so the reference cannot drift from the code.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/bus"
	"github.com/rida-build/rida/sqlstore"
)

// schemaDir and messagesDoc are relative to the bus package directory.
var (
	schemaDir   = filepath.Join("..", "docs", "schemas")
	messagesDoc = filepath.Join("..", "docs", "messages.md")
)

// compileSchema compiles docs/schemas/<t>.json as draft 2020-12 with format
// assertion on (date-time is checked, not only annotated). Compiling also
// checks the schema against the draft's meta-schema.
func compileSchema(t *testing.T, et rida.EventType) *jsonschema.Schema {
	t.Helper()
	path := filepath.Join(schemaDir, string(et)+".json")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	url := "file://" + filepath.ToSlash(abs)
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(url, doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return sch
}

// schemas returns the compiled schema of each event type.
func schemas(t *testing.T) map[rida.EventType]*jsonschema.Schema {
	t.Helper()
	return map[rida.EventType]*jsonschema.Schema{
		rida.EventModuleStateChanged:    compileSchema(t, rida.EventModuleStateChanged),
		rida.EventComponentStateChanged: compileSchema(t, rida.EventComponentStateChanged),
	}
}

// validate checks one JSON text against sch.
func validate(sch *jsonschema.Schema, body []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	return sch.Validate(inst)
}

// lifecycle drives builds through every module state and every component
// state with the store's own transitions, as the engine does, and returns
// the events they wrote, in commit order.
func lifecycle(t *testing.T) []rida.Event {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2026, 11, 21, 18, 10, 26, 0, time.UTC)
	db, err := sqlstore.Open(ctx, "sqlite::memory:", sqlstore.Options{Now: func() time.Time {
		// Sub-second times: the bodies must still carry whole seconds.
		now = now.Add(1500 * time.Millisecond)
		return now
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	moveModule := func(m *rida.ModuleBuild, tr rida.ModuleTransition) *rida.ModuleBuild {
		t.Helper()
		tr.ID, tr.FromRev = m.ID, m.Rev
		got, err := db.TransitionModuleBuild(ctx, tr)
		check(err)
		return got
	}
	components := func(m *rida.ModuleBuild) map[string]*rida.ComponentBuild {
		t.Helper()
		full, err := db.FindModuleBuildByID(ctx, m.ID, rida.ModuleBuildInclude{Components: true})
		check(err)
		out := map[string]*rida.ComponentBuild{}
		for _, c := range full.Components {
			out[c.Package] = c
		}
		return out
	}
	moveComponents := func(ts ...rida.ComponentTransition) {
		t.Helper()
		_, err := db.TransitionComponentBuilds(ctx, ts)
		check(err)
	}
	move := func(c *rida.ComponentBuild, to rida.ComponentState, task int64, nvr, reason string) rida.ComponentTransition {
		return rida.ComponentTransition{ID: c.ID, FromRev: c.Rev, To: to, TaskID: task, NVR: nvr, Reason: reason}
	}

	// A base module, imported ready: a single message, in ready.
	sv := 430000.0
	platform := &rida.ModuleBuild{Name: "platform", Stream: "f43", Version: 3, State: rida.ModuleReady,
		Owner: "mbs_import", Modulemd: "document: modulemd\nversion: 2\n", RebuildStrategy: rida.RebuildAll,
		KojiTag: "module-f43-build", StreamVersion: &sv}
	check(db.CreateModuleBuild(ctx, platform))

	brs := map[string]rida.BuildRequire{
		"platform": {Stream: "f43", Version: "3", Context: "00000000", Ref: "virtual", KojiTag: "module-f43-build", StreamVersion: &sv},
		"perl": {Stream: "5.40", Version: "4320261001120000", Context: "3a33b840", Ref: "0f7b0a5e6c1d9c1e3b1f4c9d8a7b6c5d4e3f2a1b",
			KojiTag: "module-perl-5.40-4320261001120000-3a33b840", FilteredRPMs: []string{"perl-Test-0:1.0-1.module+f43+7+3a33b840.noarch"}},
	}
	m := &rida.ModuleBuild{Name: "testmodule", Stream: "master", Version: 4320261121180955, Context: "9c690d0e",
		State: rida.ModuleInit, Owner: "mprahl", Modulemd: "document: modulemd\nversion: 2\n",
		SCMURL:          "https://src.fedoraproject.org/modules/testmodule.git?#620ec77321b2ea7b0d67d82992dda3e1d67055b4",
		RebuildStrategy: rida.RebuildChangedAndAfter, BuildRequires: brs}
	check(db.CreateModuleBuild(ctx, m))
	// A sibling: same name:stream:version, another context.
	sib := &rida.ModuleBuild{Name: "testmodule", Stream: "master", Version: 4320261121180955, Context: "1b7a0c42",
		State: rida.ModuleInit, Owner: "mprahl", Modulemd: "document: modulemd\nversion: 2\n",
		SCMURL: m.SCMURL, RebuildStrategy: rida.RebuildChangedAndAfter, BuildRequires: brs}
	check(db.CreateModuleBuild(ctx, sib))
	// A scratch build with custom SRPMs, failed straight from init.
	scratch := &rida.ModuleBuild{Name: "testmodule", Stream: "master", Version: 4320261121180956, Context: "9c690d0e_1",
		State: rida.ModuleInit, Owner: "jkaluza", Modulemd: "document: modulemd\nversion: 2\n", Scratch: true,
		SRPMs: []string{"/var/tmp/srpms/perl-List-Compare-0.53-9.src.rpm"}, RebuildStrategy: rida.RebuildAll}
	check(db.CreateModuleBuild(ctx, scratch))
	moveModule(scratch, rida.ModuleTransition{To: rida.ModuleFailed, Reason: "Canceled by jkaluza."})

	comp := func(pkg string, batch int) rida.ComponentBuild {
		return rida.ComponentBuild{Package: pkg, Format: rida.FormatRPMs, Batch: batch, State: rida.ComponentWaiting,
			SCMURL: "https://src.fedoraproject.org/rpms/" + pkg + "?#76f9d8c8e87eed0aab91034b01d3d5ff6bd5b4cb"}
	}
	one := 1
	m = moveModule(m, rida.ModuleTransition{To: rida.ModuleWait, Components: []rida.ComponentBuild{
		comp("module-build-macros", 1), comp("perl-List-Compare", 2), comp("tangerine", 2), comp("perl-Tangerine", 3), comp("reused", 3),
	}})
	m = moveModule(m, rida.ModuleTransition{To: rida.ModuleBuilding, KojiTag: "module-testmodule-master-4320261121180955-9c690d0e", Batch: &one})

	cs := components(m)
	// BUILDING without a task first (the engine's crash marker), then the
	// task recorded, then COMPLETE with the NVR.
	moveComponents(move(cs["module-build-macros"], rida.ComponentBuilding, 0, "", ""))
	cs = components(m)
	moveComponents(move(cs["module-build-macros"], rida.ComponentBuilding, 137861459, "", "Submitted module-build-macros"))
	cs = components(m)
	moveComponents(move(cs["module-build-macros"], rida.ComponentComplete, 0, "module-build-macros-0.1-1.module+f43+2+8d4b1c7e", ""))
	cs = components(m)
	moveComponents(
		move(cs["perl-List-Compare"], rida.ComponentBuilding, 137861533, "", "Submitted perl-List-Compare"),
		move(cs["tangerine"], rida.ComponentBuilding, 137861534, "", "Submitted tangerine"),
	)
	cs = components(m)
	moveComponents(
		move(cs["perl-List-Compare"], rida.ComponentFailed, 0, "perl-List-Compare-0.53-9.module+f43+2+8d4b1c7e", "Failed to build artifact perl-List-Compare"),
		move(cs["tangerine"], rida.ComponentCanceled, 0, "", "Canceled by mprahl."),
		move(cs["perl-Tangerine"], rida.ComponentCanceled, 0, "", "Canceled by mprahl."),
	)
	m = moveModule(m, rida.ModuleTransition{To: rida.ModuleFailed, Reason: "Component(s) perl-List-Compare failed to build."})

	// Resubmitted: failed → wait, the failed and canceled components back
	// to waiting (state null), then built to the end.
	m = moveModule(m, rida.ModuleTransition{To: rida.ModuleWait, Reason: "Resubmitted by mprahl"})
	cs = components(m)
	reset := "Reset for the resubmitted module build"
	moveComponents(
		move(cs["perl-List-Compare"], rida.ComponentWaiting, 0, "", reset),
		move(cs["tangerine"], rida.ComponentWaiting, 0, "", reset),
		move(cs["perl-Tangerine"], rida.ComponentWaiting, 0, "", reset),
	)
	two := 2
	m = moveModule(m, rida.ModuleTransition{To: rida.ModuleBuilding, Batch: &two})
	cs = components(m)
	moveComponents(
		move(cs["perl-List-Compare"], rida.ComponentBuilding, 137862001, "", "Submitted perl-List-Compare"),
		move(cs["tangerine"], rida.ComponentBuilding, 137862002, "", "Submitted tangerine"),
		// Reused from an earlier build: COMPLETE straight from waiting.
		move(cs["reused"], rida.ComponentComplete, 0, "reused-1.0-1.module+f43+2+8d4b1c7e", "Reused component from previous module build"),
	)
	cs = components(m)
	moveComponents(
		move(cs["perl-List-Compare"], rida.ComponentComplete, 0, "perl-List-Compare-0.53-9.module+f43+2+8d4b1c7e", ""),
		move(cs["tangerine"], rida.ComponentComplete, 0, "tangerine-0.23-6.module+f43+2+8d4b1c7e", ""),
		move(cs["perl-Tangerine"], rida.ComponentBuilding, 137862003, "", "Submitted perl-Tangerine"),
	)
	cs = components(m)
	moveComponents(move(cs["perl-Tangerine"], rida.ComponentComplete, 0, "perl-Tangerine-0.23-1.module+f43+2+8d4b1c7e", ""))
	m = moveModule(m, rida.ModuleTransition{To: rida.ModuleDone})
	m = moveModule(m, rida.ModuleTransition{To: rida.ModuleReady, Reason: "Gating passed"})
	moveModule(m, rida.ModuleTransition{To: rida.ModuleGarbage, Reason: "Retired by mprahl."})
	// A build removed from Koji.
	cs = components(m)
	moveComponents(move(cs["module-build-macros"], rida.ComponentDeleted, 0, "", ""))

	events, err := db.PendingEvents(ctx, 1000)
	check(err)
	return events
}

func TestSchemas_RealPayloadsValidate(t *testing.T) {
	sch := schemas(t)
	events := lifecycle(t)
	moduleStates := map[string]bool{}
	componentStates := map[string]bool{}
	uuidRe := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	ids := map[string]bool{}
	for _, e := range events {
		s, ok := sch[e.Type]
		if !ok {
			t.Fatalf("event %d has type %q, which has no schema", e.ID, e.Type)
		}
		if err := validate(s, e.Payload); err != nil {
			t.Errorf("event %d (%s) does not validate: %v\n%s", e.ID, e.Type, err, e.Payload)
			continue
		}
		keys := topLevelKeys(t, e.Payload)
		if !slices.IsSorted(keys) {
			t.Errorf("event %d (%s): keys not in sorted order: %v", e.ID, e.Type, keys)
		}
		var p struct {
			StateName *string `json:"state_name"`
		}
		if err := json.Unmarshal(e.Payload, &p); err != nil {
			t.Fatal(err)
		}
		name := "null"
		if p.StateName != nil {
			name = *p.StateName
		}
		if e.Type == rida.EventModuleStateChanged {
			moduleStates[name] = true
		} else {
			componentStates[name] = true
		}

		msg := bus.MessageOf(bus.DefaultTopicPrefix, e)
		if want := "rida." + string(e.Type); msg.Topic != want {
			t.Errorf("event %d: topic %q, want %q", e.ID, msg.Topic, want)
		}
		if !uuidRe.MatchString(msg.ID) || ids[msg.ID] {
			t.Errorf("event %d: message id %q is not a fresh UUID", e.ID, msg.ID)
		}
		ids[msg.ID] = true
		if again := bus.MessageOf(bus.DefaultTopicPrefix, e); again.ID != msg.ID || !bytes.Equal(again.Body, e.Payload) {
			t.Errorf("event %d: republished as %q, first as %q", e.ID, again.ID, msg.ID)
		}
	}

	var wantModule []string
	for _, s := range rida.ModuleStates {
		wantModule = append(wantModule, s.String())
	}
	var wantComponent []string
	for _, s := range rida.ComponentStates {
		if s == rida.ComponentWaiting {
			wantComponent = append(wantComponent, "null")
		} else {
			wantComponent = append(wantComponent, s.String())
		}
	}
	if got := slices.Sorted(maps.Keys(moduleStates)); !slices.Equal(got, slices.Sorted(slices.Values(wantModule))) {
		t.Errorf("module states validated: %v, want every one of %v", got, wantModule)
	}
	if got := slices.Sorted(maps.Keys(componentStates)); !slices.Equal(got, slices.Sorted(slices.Values(wantComponent))) {
		t.Errorf("component states validated: %v, want every one of %v", got, wantComponent)
	}
}

// topLevelKeys returns the keys of a JSON object in the order they appear.
func topLevelKeys(t *testing.T, body []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %s", body)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// mutate returns body, decoded, changed by f and encoded again.
func mutate(t *testing.T, body []byte, f func(map[string]any)) []byte {
	t.Helper()
	var v map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	f(v)
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSchemas_RejectBrokenPayloads(t *testing.T) {
	sch := schemas(t)
	events := lifecycle(t)
	// A real body of each type with every nullable field set, and one with
	// them null, to break.
	var module, component []byte
	for _, e := range events {
		switch {
		case e.Type == rida.EventModuleStateChanged && bytes.Contains(e.Payload, []byte(`"state_name":"done"`)):
			module = e.Payload
		case e.Type == rida.EventComponentStateChanged && bytes.Contains(e.Payload, []byte(`"state_name":"COMPLETE"`)):
			component = e.Payload
		}
	}
	if module == nil || component == nil {
		t.Fatal("the lifecycle has no done module or COMPLETE component message")
	}
	set := func(k string, v any) func(map[string]any) { return func(m map[string]any) { m[k] = v } }
	del := func(k string) func(map[string]any) { return func(m map[string]any) { delete(m, k) } }
	br := func(k string, v any) func(map[string]any) {
		return func(m map[string]any) {
			for _, e := range m["buildrequires"].(map[string]any) {
				if v == nil {
					delete(e.(map[string]any), k)
				} else {
					e.(map[string]any)[k] = v
				}
			}
		}
	}
	tests := []struct {
		name   string
		typ    rida.EventType
		body   []byte
		change func(map[string]any)
	}{
		{"module: missing state_reason", rida.EventModuleStateChanged, module, del("state_reason")},
		{"module: missing buildrequires", rida.EventModuleStateChanged, module, del("buildrequires")},
		{"module: extra key tasks", rida.EventModuleStateChanged, module, set("tasks", map[string]any{})},
		{"module: id as a string", rida.EventModuleStateChanged, module, set("id", "2")},
		{"module: version as a number", rida.EventModuleStateChanged, module, set("version", json.Number("4320261121180955"))},
		{"module: version not digits", rida.EventModuleStateChanged, module, set("version", "43.2")},
		{"module: unknown state name", rida.EventModuleStateChanged, module, set("state_name", "building")},
		{"module: state 7", rida.EventModuleStateChanged, module, set("state", json.Number("7"))},
		{"module: state and name disagree", rida.EventModuleStateChanged, module, set("state_name", "ready")},
		{"module: time with an offset", rida.EventModuleStateChanged, module, set("time_modified", "2026-11-21T18:27:46+00:00")},
		{"module: time with fractions", rida.EventModuleStateChanged, module, set("time_submitted", "2026-11-21T18:12:26.417Z")},
		{"module: impossible date", rida.EventModuleStateChanged, module, set("time_completed", "2026-13-41T18:27:46Z")},
		{"module: null time_submitted", rida.EventModuleStateChanged, module, set("time_submitted", nil)},
		{"module: null name", rida.EventModuleStateChanged, module, set("name", nil)},
		{"module: scratch as a string", rida.EventModuleStateChanged, module, set("scratch", "false")},
		{"module: component id as a string", rida.EventModuleStateChanged, module, set("component_builds", []any{"1"})},
		{"module: unknown rebuild strategy", rida.EventModuleStateChanged, module, set("rebuild_strategy", "none")},
		{"module: buildrequire without stream", rida.EventModuleStateChanged, module, br("stream", nil)},
		{"module: buildrequire with an extra key", rida.EventModuleStateChanged, module, br("ursine", "x")},
		{"module: buildrequire version as a number", rida.EventModuleStateChanged, module, br("version", json.Number("3"))},
		{"component: missing task_id", rida.EventComponentStateChanged, component, del("task_id")},
		{"component: extra key", rida.EventComponentStateChanged, component, set("tagged", true)},
		{"component: id as a string", rida.EventComponentStateChanged, component, set("id", "3")},
		{"component: task_id as a string", rida.EventComponentStateChanged, component, set("task_id", "137861534")},
		{"component: batch as a float", rida.EventComponentStateChanged, component, set("batch", json.Number("1.5"))},
		{"component: lowercase state name", rida.EventComponentStateChanged, component, set("state_name", "complete")},
		{"component: state name BUILT", rida.EventComponentStateChanged, component, set("state_name", "BUILT")},
		{"component: state and name disagree", rida.EventComponentStateChanged, component, set("state", json.Number("3"))},
		{"component: null state with a name", rida.EventComponentStateChanged, component, set("state", nil)},
		{"component: format srpms", rida.EventComponentStateChanged, component, set("format", "modules")},
		{"component: nsvc without context", rida.EventComponentStateChanged, component, set("module_nsvc", "testmodule:master:4320261121180955")},
		{"component: empty nvr", rida.EventComponentStateChanged, component, set("nvr", "")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := validate(sch[tt.typ], tt.body); err != nil {
				t.Fatalf("the unbroken body does not validate: %v", err)
			}
			broken := mutate(t, tt.body, tt.change)
			if err := validate(sch[tt.typ], broken); err == nil {
				t.Errorf("validates, want an error:\n%s", broken)
			}
		})
	}
}

// docExample is one fenced json block under a "### Example" heading of
// docs/messages.md, with the "## " section it is in.
type docExample struct {
	section string
	line    int
	text    string
}

func docExamples(t *testing.T) []docExample {
	t.Helper()
	f, err := os.Open(messagesDoc)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		out       []docExample
		section   string
		inExample bool
		block     *docExample
		fence     string
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if block != nil {
			if strings.TrimSpace(line) == fence {
				out = append(out, *block)
				block = nil
			} else {
				block.text += line + "\n"
			}
			continue
		}
		trimmed := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "## "):
			section, inExample = line, false
		case strings.HasPrefix(line, "### "):
			inExample = strings.HasPrefix(line, "### Example")
		case strings.HasPrefix(line, "#### "):
			// A subheading stays in its example.
		case inExample && strings.HasPrefix(trimmed, "```json"):
			fence = trimmed[:strings.LastIndex(trimmed, "`")+1]
			block = &docExample{section: section, line: n + 1}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if block != nil {
		t.Fatalf("%s:%d: unterminated code block", messagesDoc, block.line)
	}
	return out
}

// streamRecord is a record of the live event stream, decoded strictly.
type streamRecord struct {
	Seq              *int64          `json:"seq"`
	Type             *rida.EventType `json:"type"`
	MessageID        *string         `json:"message_id"`
	ModuleBuildID    *int64          `json:"module_build_id"`
	ComponentBuildID *int64          `json:"component_build_id"`
	Time             *string         `json:"time"`
	Body             json.RawMessage `json:"body"`
}

func TestSchemas_DocExamplesValidate(t *testing.T) {
	sch := schemas(t)
	examples := docExamples(t)
	counts := map[string]int{}
	for _, ex := range examples {
		where := fmt.Sprintf("%s:%d", messagesDoc, ex.line)
		var kind string
		switch {
		case strings.Contains(ex.section, "component.state.change"):
			kind = string(rida.EventComponentStateChanged)
		case strings.Contains(ex.section, "module.state.change"):
			kind = string(rida.EventModuleStateChanged)
		case strings.Contains(strings.ToLower(ex.section), "event stream"):
			kind = "stream"
		default:
			t.Errorf("%s: an example in section %q, which names no message", where, ex.section)
			continue
		}
		counts[kind]++
		body := []byte(ex.text)
		if kind == "stream" {
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.DisallowUnknownFields()
			var rec streamRecord
			if err := dec.Decode(&rec); err != nil {
				t.Errorf("%s: stream record: %v", where, err)
				continue
			}
			if rec.Seq == nil || rec.Type == nil || rec.MessageID == nil || rec.ModuleBuildID == nil ||
				rec.Time == nil || rec.Body == nil || !bytes.Contains(body, []byte(`"component_build_id"`)) {
				t.Errorf("%s: stream record lacks a key: %s", where, body)
				continue
			}
			if _, err := time.Parse(time.RFC3339Nano, *rec.Time); err != nil {
				t.Errorf("%s: time: %v", where, err)
			}
			if (*rec.Type == rida.EventComponentStateChanged) != (rec.ComponentBuildID != nil) {
				t.Errorf("%s: component_build_id %v with type %s", where, rec.ComponentBuildID, *rec.Type)
			}
			s, ok := sch[*rec.Type]
			if !ok {
				t.Errorf("%s: unknown type %q", where, *rec.Type)
				continue
			}
			if err := validate(s, rec.Body); err != nil {
				t.Errorf("%s: body: %v", where, err)
			}
			continue
		}
		if err := validate(sch[rida.EventType(kind)], body); err != nil {
			t.Errorf("%s: %v", where, err)
		}
	}
	for _, kind := range []string{string(rida.EventModuleStateChanged), string(rida.EventComponentStateChanged), "stream"} {
		if counts[kind] == 0 {
			t.Errorf("%s has no example of %s under a \"### Example\" heading", messagesDoc, kind)
		}
	}
}
