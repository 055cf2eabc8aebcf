package koji_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/engine"
	"github.com/rida-build/rida/internal/xmlrpc"
	"github.com/rida-build/rida/koji"
	"github.com/rida-build/rida/koji/kojitest"
)

// wraps are the envelopes a body may come in: bare (fedora-messaging,
// protonmsg), fedmsg's "msg", a "body" around either.
var wraps = []struct {
	name string
	wrap func(string) string
}{
	{"bare", func(b string) string { return b }},
	{"msg", func(b string) string { return `{"topic": "t", "msg_id": "2024-x", "msg": ` + b + `}` }},
	{"body", func(b string) string { return `{"body": ` + b + `}` }},
	{"body.msg", func(b string) string { return `{"body": {"i": 1, "timestamp": 1.5, "msg": ` + b + `}}` }},
}

type parseCase struct {
	name  string
	topic string
	props map[string]any
	body  string
	want  engine.Nudge
	ok    bool
	err   bool
}

func tasks(ids ...int64) engine.Nudge   { return engine.Nudge{TaskIDs: ids} }
func tags(names ...string) engine.Nudge { return engine.Nudge{Tags: names} }

// Bodies as Koji and Fedora send them (koji.md §4, mbs.md §5.2).
const (
	fedoraBuild = `{"build_id": 2345, "old": 0, "new": 1, "name": "pkg", "version": "1.0", "release": "1.module_f40",
		"epoch": null, "task_id": 345, "owner": "mbs", "instance": "primary", "request": ["git+https://src/rpms/pkg#abc", "mod-build", {}]}`
	fedoraTask = `{"id": 346, "parent": 345, "method": "buildArch", "old": "OPEN", "new": "CLOSED", "owner": "mbs",
		"instance": "primary", "srpm": "pkg.src.rpm", "attribute": "state"}`
	fedoraTag = `{"tag": "module-mod-main-1-c0ffee00-build", "name": "pkg", "version": "1.0", "release": "1.module_f40",
		"build_id": 2345, "tag_id": 77, "user": "mbs", "owner": "mbs", "instance": "primary"}`
	fedoraRepo   = `{"tag": "module-mod-main-1-c0ffee00-build", "tag_id": 77, "repo_id": 9001, "instance": "primary"}`
	protonBuild  = `{"attribute": "state", "old": 0, "new": 1, "info": {"id": 2345, "task_id": 345, "name": "pkg", "version": "1.0", "release": "1.module_f40", "nvr": "pkg-1.0-1.module_f40", "state": 1, "cg_id": null, "cg_name": null, "extra": null, "completion_time": "2024-05-01 10:00:00.123456+00:00"}, "btypes": {"rpm": null}}`
	protonCG     = `{"attribute": "state", "old": 0, "new": 1, "info": {"id": 2346, "task_id": null, "name": "mod", "version": "main", "release": "1.c0ffee00", "cg_id": 1, "cg_name": "module-build-service", "extra": {"typeinfo": {"module": {}}}}, "btypes": {}}`
	protonTask   = `{"attribute": "state", "old": "OPEN", "new": "CLOSED", "info": {"id": 346, "parent": 345, "method": "buildArch", "state": 2, "request": ["x"], "result": {"rpms": []}}}`
	protonTag    = `{"tag": {"id": 77, "name": "module-mod-main-1-c0ffee00-build", "arches": "x86_64", "locked": false, "extra": {}}, "build": {"id": 2345, "task_id": 345, "nvr": "pkg-1.0-1.module_f40"}, "user": {"id": 1, "name": "mbs"}, "force": false}`
	protonUntag  = `{"tag": {"id": 77, "name": "module-mod-main-1-c0ffee00-build"}, "build": {"id": 2345}, "user": {"id": 1, "name": "mbs"}, "force": false, "strict": true}`
	protonRepo   = `{"repo": {"id": 9001, "tag_id": 77, "tag_name": "module-mod-main-1-c0ffee00-build", "task_id": 400, "state": 0, "create_event": 5000}, "data": {}, "expire": false, "task_id": 400}`
	moduleTag    = "module-mod-main-1-c0ffee00-build"
	protonPrefix = "VirtualTopic.eng.koji."
)

func buildStateProps(old any, new string) map[string]any {
	return map[string]any{"type": "BuildStateChange", "name": "pkg", "version": "1.0", "release": "1.module_f40",
		"attribute": "state", "old": old, "new": new}
}

var (
	taskProps  = map[string]any{"type": "TaskStateChange", "id": int64(346), "parent": int64(345), "method": "buildArch", "attribute": "state", "old": "OPEN", "new": "CLOSED"}
	tagProps   = map[string]any{"type": "Tag", "tag": moduleTag, "name": "pkg", "version": "1.0", "release": "1.module_f40", "user": "mbs"}
	repoProps  = map[string]any{"type": "RepoDone", "tag": moduleTag, "repo_id": int64(9001), "task_id": int64(400), "expire": false}
	parseCases = []parseCase{
		// Fedora's naming
		{name: "fedora build", topic: "org.fedoraproject.prod.buildsys.build.state.change", body: fedoraBuild, want: tasks(345), ok: true},
		{name: "fedora build, bare topic", topic: "buildsys.build.state.change", body: fedoraBuild, want: tasks(345), ok: true},
		{name: "fedora build, stg", topic: "org.fedoraproject.stg.buildsys.build.state.change", body: fedoraBuild, want: tasks(345), ok: true},
		{name: "fedora build, task id string", topic: "org.fedoraproject.prod.buildsys.build.state.change",
			body: `{"build_id": 1, "task_id": "345", "new": 3, "instance": "primary"}`, want: tasks(345), ok: true},
		{name: "fedora build, task id float", topic: "buildsys.build.state.change", body: `{"task_id": 345.0}`, want: tasks(345), ok: true},
		{name: "fedora build, no instance", topic: "buildsys.build.state.change", body: `{"task_id": 345, "new": 1}`, want: tasks(345), ok: true},
		{name: "fedora build, null task", topic: "buildsys.build.state.change", body: `{"build_id": 1, "task_id": null, "new": 1, "instance": "primary"}`},
		{name: "fedora build, no task", topic: "buildsys.build.state.change", body: `{"build_id": 1, "new": 1}`},
		{name: "fedora build, other instance", topic: "org.fedoraproject.prod.buildsys.build.state.change",
			body: strings.Replace(fedoraBuild, `"primary"`, `"s390"`, 1)},
		{name: "fedora task", topic: "org.fedoraproject.prod.buildsys.task.state.change", body: fedoraTask, want: tasks(346, 345), ok: true},
		{name: "fedora top-level task", topic: "org.fedoraproject.prod.buildsys.task.state.change",
			body: `{"id": 345, "parent": null, "method": "build", "old": "FREE", "new": "OPEN", "instance": "primary"}`, want: tasks(345), ok: true},
		{name: "fedora task, other instance", topic: "org.fedoraproject.prod.buildsys.task.state.change",
			body: `{"id": 345, "instance": "ppc"}`},
		{name: "fedora tag", topic: "org.fedoraproject.prod.buildsys.tag", body: fedoraTag, want: tags(moduleTag), ok: true},
		{name: "fedora untag", topic: "org.fedoraproject.prod.buildsys.untag", body: fedoraTag, want: tags(moduleTag), ok: true},
		{name: "fedora repo", topic: "org.fedoraproject.prod.buildsys.repo.done", body: fedoraRepo, want: tags(moduleTag), ok: true},
		{name: "fedora repo, other instance", topic: "org.fedoraproject.prod.buildsys.repo.done",
			body: `{"tag": "f40-build", "repo_id": 1, "instance": "s390"}`},

		// protonmsg's naming: props as the plugin sets them, body ints
		{name: "proton build.complete", topic: "build.complete", props: buildStateProps("BUILDING", "COMPLETE"), body: protonBuild, want: tasks(345), ok: true},
		{name: "proton build.complete, prefixed", topic: protonPrefix + "build.complete", props: buildStateProps("BUILDING", "COMPLETE"), body: protonBuild, want: tasks(345), ok: true},
		{name: "proton build.building", topic: "build.building", props: buildStateProps(nil, "BUILDING"),
			body: `{"attribute": "state", "old": null, "new": 0, "info": {"id": 2345, "task_id": 345}, "btypes": {}}`, want: tasks(345), ok: true},
		{name: "proton build.failed", topic: "koji.build.failed", props: buildStateProps("BUILDING", "FAILED"),
			body: `{"attribute": "state", "old": 0, "new": 3, "info": {"id": 2345, "task_id": "345"}, "btypes": {}}`, want: tasks(345), ok: true},
		{name: "proton build.canceled", topic: "build.canceled", props: buildStateProps("BUILDING", "CANCELED"),
			body: `{"attribute": "state", "old": 0, "new": 4, "info": {"id": 2345, "task_id": 345}, "btypes": {}}`, want: tasks(345), ok: true},
		{name: "proton build.deleted", topic: "build.deleted", props: buildStateProps("COMPLETE", "DELETED"),
			body: `{"attribute": "state", "old": 1, "new": 2, "info": {"id": 2345, "task_id": 345}, "btypes": {}}`, want: tasks(345), ok: true},
		{name: "proton CG import", topic: "build.complete", props: buildStateProps("BUILDING", "COMPLETE"), body: protonCG},
		{name: "proton CG reservation", topic: "build.building", props: buildStateProps(nil, "BUILDING"),
			body: `{"attribute": "state", "old": null, "new": 0, "info": {"id": 2346, "cg_id": 1}, "btypes": {}}`},
		{name: "proton task.closed", topic: "task.closed", props: taskProps, body: protonTask, want: tasks(346, 345), ok: true},
		{name: "proton task.failed, prefixed", topic: protonPrefix + "task.failed", props: taskProps, body: protonTask, want: tasks(346, 345), ok: true},
		{name: "proton task.free, ids from props", topic: "task.free",
			props: map[string]any{"type": "TaskStateChange", "id": int64(500), "parent": nil, "method": "newRepo", "attribute": "state", "old": nil, "new": "FREE"},
			body:  `{"attribute": "state", "old": null, "new": "FREE", "info": {"method": "newRepo", "request": "<?xml version='1.0'?><methodCall/>"}}`,
			want:  tasks(500), ok: true},
		{name: "proton task.open, props as strings (AMQP 0-9-1 headers)", topic: "task.open",
			props: map[string]any{"id": "346", "parent": "345"}, body: `{"attribute": "state", "old": "FREE", "new": "OPEN"}`, want: tasks(346, 345), ok: true},
		{name: "proton task.assigned, props as int32", topic: "task.assigned",
			props: map[string]any{"id": int32(346), "parent": nil}, body: `{"attribute": "state", "old": "FREE", "new": "ASSIGNED", "info": {"id": 346, "parent": null}}`, want: tasks(346), ok: true},
		{name: "proton task.canceled", topic: "task.canceled", props: taskProps,
			body: `{"attribute": "state", "old": "OPEN", "new": "CANCELED", "info": {"id": 346, "parent": 345}}`, want: tasks(346, 345), ok: true},
		{name: "proton build.tag", topic: "build.tag", props: tagProps, body: protonTag, want: tags(moduleTag), ok: true},
		{name: "proton build.untag", topic: protonPrefix + "build.untag", props: tagProps, body: protonUntag, want: tags(moduleTag), ok: true},
		{name: "proton build.tag, name from props", topic: "build.tag", props: tagProps, body: `{"force": false}`, want: tags(moduleTag), ok: true},
		{name: "proton repo.done", topic: "repo.done", props: repoProps, body: protonRepo, want: engine.Nudge{TaskIDs: []int64{400}, Tags: []string{moduleTag}}, ok: true},
		{name: "proton repo.done, from props", topic: protonPrefix + "repo.done", props: repoProps, body: `{"data": {}, "expire": false}`,
			want: engine.Nudge{TaskIDs: []int64{400}, Tags: []string{moduleTag}}, ok: true},
		{name: "proton repo.done, no task", topic: "repo.done", props: map[string]any{"tag": "f40-build", "repo_id": int64(1), "task_id": nil},
			body: `{"repo": {"id": 1, "tag_name": "f40-build", "task_id": null}, "task_id": null, "expire": false}`, want: tags("f40-build"), ok: true},

		// not for rida
		{name: "unknown topic", topic: "org.fedoraproject.prod.buildsys.rpm.sign", body: `{}`},
		{name: "repo.init", topic: "repo.init", body: `{"tag": {"name": "x"}, "repo_id": 1, "task_id": 2}`},
		{name: "import.cg", topic: "import.cg", body: `{"type": "cg", "build": {"task_id": 3}}`},
		{name: "unknown topic, garbage body", topic: "package.add", body: `not json`},
		{name: "mbs message", topic: "org.fedoraproject.prod.mbs.module.state.change", body: `{"id": 1, "state": 3}`},
		{name: "suffix without a dot", topic: "xbuild.complete", body: protonBuild},
		{name: "longer last word", topic: "build.completed", body: protonBuild},
		{name: "empty topic", topic: "", body: protonBuild},

		// a handled topic with a body rida cannot read
		{name: "not JSON", topic: "build.complete", body: `{"info": `, err: true},
		{name: "empty body", topic: "task.closed", body: ``, err: true},
		{name: "data after the JSON", topic: "buildsys.build.state.change", body: `{"task_id": 1} {}`, err: true},
		{name: "array body", topic: "build.complete", body: `[1, 2]`, err: true},
		{name: "string body", topic: "build.complete", body: `"{\"task_id\": 1}"`, err: true},
		{name: "null body", topic: "build.complete", body: `null`, err: true},
		{name: "info not an object", topic: "build.complete", body: `{"info": [345]}`, err: true},
		{name: "task id not a number", topic: "buildsys.build.state.change", body: `{"task_id": "abc"}`, err: true},
		{name: "task id a fraction", topic: "buildsys.build.state.change", body: `{"task_id": 1.5}`, err: true},
		{name: "task id negative", topic: "buildsys.build.state.change", body: `{"task_id": -3}`, err: true},
		{name: "task id zero", topic: "build.complete", body: `{"info": {"task_id": 0}}`, err: true},
		{name: "task id a boolean", topic: "build.complete", body: `{"info": {"task_id": true}}`, err: true},
		{name: "task id too large", topic: "build.complete", body: `{"info": {"task_id": 99999999999999999999}}`, err: true},
		{name: "task id an object", topic: "buildsys.build.state.change", body: `{"task_id": {"id": 1}}`, err: true},
		{name: "task without id", topic: "task.closed", body: `{"attribute": "state", "info": {"method": "build"}}`, err: true},
		{name: "task parent not a number", topic: "buildsys.task.state.change", body: `{"id": 1, "parent": "x"}`, err: true},
		{name: "task prop id not a number", topic: "task.open", props: map[string]any{"id": []byte("1")}, body: `{}`, err: true},
		{name: "tag without tag", topic: "build.tag", body: `{"build": {"id": 1}}`, err: true},
		{name: "tag a number", topic: "buildsys.tag", body: `{"tag": 5}`, err: true},
		{name: "tag empty", topic: "buildsys.tag", body: `{"tag": ""}`, err: true},
		{name: "tag struct without name", topic: "build.tag", body: `{"tag": {"id": 77}}`, err: true},
		{name: "repo without tag", topic: "repo.done", body: `{"repo": {"id": 1}}`, err: true},
		{name: "repo not an object", topic: "repo.done", body: `{"repo": "x"}`, err: true},
		{name: "repo tag_name not a string", topic: "repo.done", body: `{"repo": {"tag_name": 3}}`, err: true},
		{name: "instance not a string", topic: "buildsys.tag", body: `{"tag": "x", "instance": 1}`, err: true},
	}
)

func TestParseMessage(t *testing.T) {
	cfg := koji.DefaultMessageConfig()
	for _, c := range parseCases {
		for _, w := range wraps {
			var obj map[string]any
			if w.name != "bare" && json.Unmarshal([]byte(c.body), &obj) != nil || obj == nil && w.name != "bare" {
				continue // only an object is wrapped
			}
			t.Run(c.name+"/"+w.name, func(t *testing.T) {
				m := rida.Message{ID: "m1", Topic: c.topic, Body: json.RawMessage(w.wrap(c.body)), Properties: c.props}
				got, ok, err := koji.ParseMessage(m, cfg)
				if (err != nil) != c.err {
					t.Fatalf("ParseMessage err = %v, want error %v", err, c.err)
				}
				if ok != c.ok {
					t.Fatalf("ParseMessage ok = %v, want %v (nudge %+v)", ok, c.ok, got)
				}
				if diff := cmp.Diff(c.want, got); diff != "" {
					t.Errorf("ParseMessage nudge (-want +got):\n%s", diff)
				}
				if err != nil && !strings.Contains(err.Error(), c.topic) {
					t.Errorf("error %q does not name the topic", err)
				}
			})
		}
	}
}

// TestParseMessage_Instance: MBS's rule by default, any instance with "",
// and a message without the field (protonmsg) whatever the setting.
func TestParseMessage_Instance(t *testing.T) {
	msg := func(inst string) rida.Message {
		body := `{"task_id": 7}`
		if inst != "" {
			body = `{"task_id": 7, "instance": "` + inst + `"}`
		}
		return rida.Message{Topic: "buildsys.build.state.change", Body: json.RawMessage(body)}
	}
	for _, c := range []struct {
		instance, msg string
		ok            bool
	}{
		{"primary", "primary", true}, {"primary", "s390", false}, {"primary", "", true},
		{"", "s390", true}, {"", "primary", true}, {"", "", true},
		{"s390", "s390", true}, {"s390", "primary", false}, {"s390", "", true},
	} {
		cfg := koji.MessageConfig{Topics: koji.DefaultTopics(), Instance: c.instance}
		_, ok, err := koji.ParseMessage(msg(c.msg), cfg)
		if err != nil || ok != c.ok {
			t.Errorf("Instance %q, message instance %q: ok %v, %v; want %v", c.instance, c.msg, ok, err, c.ok)
		}
	}
	if got := koji.DefaultMessageConfig().Instance; got != "primary" {
		t.Errorf("DefaultMessageConfig().Instance = %q", got)
	}
}

// TestParseMessage_Topics: configured lists, wildcards, exact entries
// before wildcards, nothing without topics.
func TestParseMessage_Topics(t *testing.T) {
	cfg := koji.MessageConfig{Topics: koji.Topics{
		BuildState: []string{"build.*"},
		TaskState:  []string{"eng.*.task.closed"},
		Tag:        []string{"build.tag"},
		RepoDone:   []string{"*.repo.done"},
	}}
	for _, c := range []struct {
		topic, body string
		want        engine.Nudge
		ok          bool
	}{
		{"build.complete", `{"info": {"task_id": 1}}`, tasks(1), true},
		{"koji.build.whatever", `{"info": {"task_id": 1}}`, tasks(1), true},
		{"build.tag", `{"tag": {"name": "t"}}`, tags("t"), true},   // exact Tag before BuildState's build.*
		{"x.build.tag", `{"tag": {"name": "t"}}`, tags("t"), true}, // exact suffix too
		{"build", `{"info": {"task_id": 1}}`, engine.Nudge{}, false},
		{"VirtualTopic.eng.koji.task.closed", `{"info": {"id": 2}}`, tasks(2), true},
		{"eng.task.closed", `{"info": {"id": 2}}`, engine.Nudge{}, false},
		{"buildsys.repo.done", `{"tag": "r"}`, tags("r"), true},
		{"repo.done", `{"tag": "r"}`, engine.Nudge{}, false},
		{"buildsys.build.state.change", `{"task_id": 1}`, engine.Nudge{}, false},
	} {
		got, ok, err := koji.ParseMessage(rida.Message{Topic: c.topic, Body: json.RawMessage(c.body)}, cfg)
		if err != nil || ok != c.ok || !cmp.Equal(got, c.want) {
			t.Errorf("%s: %+v, %v, %v; want %+v, %v", c.topic, got, ok, err, c.want, c.ok)
		}
	}
	for _, topic := range []string{"build.complete", "buildsys.build.state.change", "repo.done", "task.closed"} {
		if _, ok, err := koji.ParseMessage(rida.Message{Topic: topic, Body: json.RawMessage(`{"task_id": 1}`)}, koji.MessageConfig{}); ok || err != nil {
			t.Errorf("zero MessageConfig read %s: %v, %v", topic, ok, err)
		}
	}
	empty := koji.MessageConfig{Topics: koji.Topics{BuildState: []string{""}}}
	if _, ok, _ := koji.ParseMessage(rida.Message{Topic: "", Body: json.RawMessage(`{"task_id": 1}`)}, empty); ok {
		t.Error("an empty entry matched")
	}
}

// fakeNudge counts the nudges and answers as the test says.
type fakeNudge struct {
	mu     sync.Mutex
	calls  []engine.Nudge
	builds int
	err    error
}

func (f *fakeNudge) nudge(ctx context.Context, n engine.Nudge) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, n)
	return f.builds, f.err
}

// logRecorder is a slog handler that keeps levels and messages.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, r.Level.String()+" "+r.Message)
	return nil
}
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

func (l *logRecorder) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.lines
	l.lines = nil
	return out
}

func levels(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i], _, _ = strings.Cut(l, " ")
	}
	return out
}

// TestNewMessageHandler: what is acknowledged (nil), what is handed back
// for redelivery (an error), and what is logged how.
func TestNewMessageHandler(t *testing.T) {
	ctx := t.Context()
	logs := &logRecorder{}
	f := &fakeNudge{}
	h := koji.NewMessageHandler(koji.DefaultMessageConfig(), f.nudge, slog.New(logs))
	good := rida.Message{ID: "1", Topic: "task.closed", Properties: taskProps, Body: json.RawMessage(protonTask)}

	// a message about builds rida has
	f.builds = 2
	if err := h(ctx, good); err != nil {
		t.Fatalf("handled message: %v", err)
	}
	if diff := cmp.Diff([]engine.Nudge{tasks(346, 345)}, f.calls); diff != "" {
		t.Errorf("nudges (-want +got):\n%s", diff)
	}
	if got := levels(logs.take()); !cmp.Equal(got, []string{"DEBUG"}) {
		t.Errorf("logged %v for a handled message", got)
	}

	// about nothing rida builds: acknowledged, debug
	f.builds = 0
	if err := h(ctx, good); err != nil {
		t.Fatalf("message about no build: %v", err)
	}
	if got := levels(logs.take()); !cmp.Equal(got, []string{"DEBUG"}) {
		t.Errorf("logged %v for a message about no build", got)
	}

	// not rida's topic, another instance, a CG import: acknowledged unnudged
	for _, m := range []rida.Message{
		{ID: "2", Topic: "package.add", Body: json.RawMessage(`{}`)},
		{ID: "3", Topic: "buildsys.build.state.change", Body: json.RawMessage(`{"task_id": 1, "instance": "s390"}`)},
		{ID: "4", Topic: "build.complete", Body: json.RawMessage(protonCG)},
	} {
		if err := h(ctx, m); err != nil {
			t.Errorf("ignored message %s: %v", m.ID, err)
		}
	}
	if got := levels(logs.take()); !cmp.Equal(got, []string{"DEBUG", "DEBUG", "DEBUG"}) {
		t.Errorf("logged %v for ignored messages", got)
	}

	// unreadable: acknowledged (redelivery would not help), warn
	if err := h(ctx, rida.Message{ID: "5", Topic: "build.complete", Body: json.RawMessage(`{"info": `)}); err != nil {
		t.Errorf("malformed message: %v, want it acknowledged", err)
	}
	if got := levels(logs.take()); !cmp.Equal(got, []string{"WARN"}) {
		t.Errorf("logged %v for a malformed message", got)
	}
	if len(f.calls) != 2 {
		t.Errorf("%d nudges, want 2 (ignored and malformed messages nudge nothing)", len(f.calls))
	}

	// the database is down: handed back for redelivery
	f.err = errors.New("database is locked")
	err := h(ctx, good)
	if !errors.Is(err, f.err) {
		t.Fatalf("nudge error: handler returned %v, want it wrapped", err)
	}
	if !strings.Contains(err.Error(), "task.closed") {
		t.Errorf("error %q does not say which message", err)
	}
	if len(f.calls) != 3 {
		t.Errorf("%d nudges, want 3", len(f.calls))
	}

	// the context reaches nudge
	type key struct{}
	var seen any
	h = koji.NewMessageHandler(koji.DefaultMessageConfig(), func(ctx context.Context, _ engine.Nudge) (int, error) {
		seen = ctx.Value(key{})
		return 1, nil
	}, nil) // a nil logger discards
	if err := h(context.WithValue(ctx, key{}, "v"), good); err != nil || seen != "v" {
		t.Errorf("handler with nil log: %v, context value %v", err, seen)
	}
}

// TestParseMessage_FakeHub: every message kojitest's hub emits through a
// module-like story reads as the nudge that names its task or tag (and a
// CG build's, which has no task, is ignored): the fake hub and the parser
// agree on protonmsg's shapes.
func TestParseMessage_FakeHub(t *testing.T) {
	ctx := t.Context()
	hub := kojitest.NewHub(t, kojitest.Options{})
	c := adminClient(t, hub)
	call := func(method string, params ...any) any {
		t.Helper()
		v, err := c.Call(ctx, method, params...)
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
		return v
	}
	kw := func(name string, v any) xmlrpc.KwArgs { return xmlrpc.KwArgs{{Name: name, Value: v}} }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	const buildTag, destTag = "module-mod-main-1-c0ffee00-build", "module-mod-main-1-c0ffee00"
	call("createTag", buildTag, kw("arches", "x86_64"))
	call("createTag", destTag)
	call("createBuildTarget", destTag, buildTag, destTag)
	call("packageListAdd", buildTag, "pkg", kojiOwner())
	call("packageListAdd", destTag, "pkg", kojiOwner())

	type want struct {
		topic string
		n     engine.Nudge
		ok    bool
	}
	var (
		mu      sync.Mutex
		got     []want
		parsed  int
		cfg     = koji.DefaultMessageConfig()
		decoded []string
	)
	hub.OnMessage(func(m rida.Message) {
		n, ok, err := koji.ParseMessage(m, cfg)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			decoded = append(decoded, err.Error())
		}
		got = append(got, want{m.Topic, n, ok})
		parsed++
	})

	// a component build: submitted, started, completed and tagged into the
	// target's destination
	task := call("build", "git+https://src/rpms/pkg#abc", destTag, xmlrpc.Struct{{Name: "mbs_artifact_name", Value: "pkg"}}).(int64)
	bid, err := hub.StartBuild(task, "pkg-1.0-1.module_f40")
	must(err)
	_, err = hub.CompleteBuild(task, kojitest.BuildResult{NVR: "pkg-1.0-1.module_f40"})
	must(err)
	// tagged into the build tag by a task, untagged from the destination
	tagTask := call("tagBuild", buildTag, bid).(int64)
	must(hub.RunTask(tagTask))
	call("untagBuild", destTag, bid)
	// the build tag's repo
	repoTask := call("newRepo", buildTag).(int64)
	must(hub.RunTask(repoTask))
	repoID, _ := call("getRepo", buildTag).(xmlrpc.Struct).Get("id")
	// a component that fails, one canceled
	failing := call("build", "git+https://src/rpms/pkg#abd", destTag, xmlrpc.Struct{{Name: "skip_tag", Value: true}}).(int64)
	_, err = hub.StartBuild(failing, "pkg-1.0-2.module_f40")
	must(err)
	must(hub.FailTask(failing, 1005, "BuildError"))
	canceled := call("build", "git+https://src/rpms/pkg#abe", destTag, xmlrpc.Struct{{Name: "skip_tag", Value: true}}).(int64)
	call("cancelTask", canceled)
	// the module's reservation and import are CG builds without a task
	res := call("CGInitBuild", "module-build-service", xmlrpc.Struct{{Name: "name", Value: "mod"}, {Name: "version", Value: "main"}, {Name: "release", Value: "1.c0ffee00"}}).(xmlrpc.Struct)
	id, _ := res.Get("build_id")
	token, _ := res.Get("token")
	call("CGRefundBuild", "module-build-service", id, token, int64(4))

	ok := func(topic string, n engine.Nudge) want { return want{topic, n, true} }
	expected := []want{
		ok("task.free", tasks(task)),
		ok("task.open", tasks(task)),
		ok("build.building", tasks(task)),
		ok("build.complete", tasks(task)),
		ok("build.tag", tags(destTag)),
		ok("task.closed", tasks(task)),
		ok("task.free", tasks(tagTask)),
		ok("task.open", tasks(tagTask)),
		ok("build.tag", tags(buildTag)),
		ok("task.closed", tasks(tagTask)),
		ok("build.untag", tags(destTag)),
		ok("task.free", tasks(repoTask)),
		ok("task.open", tasks(repoTask)),
		{topic: "repo.init"}, // not a topic rida reads
		ok("repo.done", engine.Nudge{TaskIDs: []int64{repoTask}, Tags: []string{buildTag}}),
		ok("task.closed", tasks(repoTask)),
		ok("task.free", tasks(failing)),
		ok("task.open", tasks(failing)),
		ok("build.building", tasks(failing)),
		ok("build.failed", tasks(failing)),
		ok("task.failed", tasks(failing)),
		ok("task.free", tasks(canceled)),
		ok("task.canceled", tasks(canceled)),
		{topic: "build.building"}, // the CG reservation: no task
		{topic: "build.canceled"},
	}
	mu.Lock()
	defer mu.Unlock()
	if len(decoded) != 0 {
		t.Errorf("messages the parser cannot read: %v", decoded)
	}
	if diff := cmp.Diff(expected, got, cmp.AllowUnexported(want{})); diff != "" {
		t.Errorf("parsed hub messages (-want +got):\n%s", diff)
	}
	if parsed != len(hub.Messages()) {
		t.Errorf("hook saw %d messages, Messages has %d", parsed, len(hub.Messages()))
	}
	// the repo.done message names the repo the hub made
	for _, m := range hub.Messages() {
		if m.Topic == "repo.done" && m.Properties["repo_id"] != repoID {
			t.Errorf("repo.done repo_id %v, getRepo says %v", m.Properties["repo_id"], repoID)
		}
	}
}

// FuzzParseMessage: any topic, body and properties: no panic, never ok
// with an error, and an ok nudge names something valid.
func FuzzParseMessage(f *testing.F) {
	for _, c := range parseCases {
		id, _ := c.props["id"].(int64)
		tag, _ := c.props["tag"].(string)
		for _, w := range wraps[:2] {
			f.Add(c.topic, []byte(w.wrap(c.body)), id, tag, false)
		}
	}
	f.Add("buildsys.build.state.change", []byte(`{"body": {"msg": {"task_id": "1e3"}}}`), int64(0), "", true)
	f.Add("repo.done", []byte(`{"repo": {"tag_name": "x", "task_id": 1.0e1}}`), int64(-1), "t", true)
	cfg := koji.DefaultMessageConfig()
	f.Fuzz(func(t *testing.T, topic string, body []byte, propID int64, propTag string, stringProps bool) {
		props := map[string]any{"id": propID, "parent": nil, "tag": propTag, "task_id": propID}
		if stringProps {
			props = map[string]any{"id": propTag, "parent": propTag, "tag": propID, "task_id": propTag}
		}
		for _, p := range []map[string]any{nil, props} {
			m := rida.Message{Topic: topic, Body: bytes.Clone(body), Properties: p}
			n, ok, err := koji.ParseMessage(m, cfg)
			if ok && err != nil {
				t.Fatalf("ok with error %v", err)
			}
			if !ok && (n.TaskIDs != nil || n.Tags != nil) {
				t.Fatalf("not ok but nudge %+v", n)
			}
			if ok {
				if len(n.TaskIDs)+len(n.Tags) == 0 {
					t.Fatalf("ok with an empty nudge")
				}
				for _, id := range n.TaskIDs {
					if id <= 0 {
						t.Fatalf("task id %d", id)
					}
				}
				for _, tag := range n.Tags {
					if tag == "" {
						t.Fatal("empty tag")
					}
				}
			}
			again, ok2, err2 := koji.ParseMessage(m, cfg)
			if ok2 != ok || (err2 == nil) != (err == nil) || !cmp.Equal(again, n) {
				t.Fatalf("not deterministic: %+v %v %v, then %+v %v %v", n, ok, err, again, ok2, err2)
			}
		}
	})
}
