package kojitest_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/internal/xmlrpc"
	"github.com/rida-build/rida/koji/kojitest"
)

// recorder collects what a hub's OnMessage hook receives.
type recorder struct {
	mu   sync.Mutex
	msgs []rida.Message
	all  []rida.Message
}

func record(hub *kojitest.FakeHub) *recorder {
	rec := &recorder{}
	hub.OnMessage(func(m rida.Message) {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		rec.msgs = append(rec.msgs, m)
		rec.all = append(rec.all, m)
	})
	return rec
}

// take returns the messages received since the last take.
func (r *recorder) take() []rida.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.msgs
	r.msgs = nil
	return out
}

// expect takes the messages received since the last take and checks
// their topics.
func (r *recorder) expect(t *testing.T, what string, topics ...string) []rida.Message {
	t.Helper()
	ms := r.take()
	got := make([]string, len(ms))
	for i, m := range ms {
		got[i] = m.Topic
	}
	if diff := cmp.Diff(topics, got, cmpopts.EquateEmpty()); diff != "" {
		t.Fatalf("%s: topics (-want +got):\n%s", what, diff)
	}
	return ms
}

// body decodes a message body (numbers as float64: JSON's).
func body(t *testing.T, m rida.Message) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(m.Body, &v); err != nil {
		t.Fatalf("%s body %s: %v", m.Topic, m.Body, err)
	}
	return v
}

func wantProps(t *testing.T, m rida.Message, want map[string]any) {
	t.Helper()
	if diff := cmp.Diff(want, m.Properties); diff != "" {
		t.Errorf("%s properties (-want +got):\n%s", m.Topic, diff)
	}
}

// wantBody checks members of a decoded body: "info.task_id" is
// body["info"]["task_id"]; JSON numbers are float64.
func wantBody(t *testing.T, m rida.Message, want map[string]any) {
	t.Helper()
	b := body(t, m)
	for path, w := range want {
		var v any = b
		for _, k := range strings.Split(path, ".") {
			obj, _ := v.(map[string]any)
			v = obj[k]
		}
		if diff := cmp.Diff(w, v); diff != "" {
			t.Errorf("%s body %s (-want +got):\n%s", m.Topic, path, diff)
		}
	}
}

func taskProps(id int64, parent any, method string, old any, new string) map[string]any {
	return map[string]any{"type": "TaskStateChange", "id": id, "parent": parent, "method": method,
		"attribute": "state", "old": old, "new": new}
}

func buildProps(name, version, release string, old any, new string) map[string]any {
	return map[string]any{"type": "BuildStateChange", "name": name, "version": version, "release": release,
		"attribute": "state", "old": old, "new": new}
}

// TestHub_Messages drives component builds, tagging and a repo through
// the RPC and builder APIs and checks the protonmsg messages, in order.
func TestHub_Messages(t *testing.T) {
	hub, r := admin(t, kojitest.Options{})
	buildEnv(t, r)
	rec := record(hub)
	if ms := hub.Messages(); len(ms) != 0 {
		t.Errorf("tags, targets and package lists sent %v", ms)
	}
	src := "git+https://src.example/rpms/pkg#abc"

	id := r.must("build", src, "mod", st("mbs_artifact_name", "pkg")).(int64)
	ms := rec.expect(t, "build", "task.free")
	wantProps(t, ms[0], taskProps(id, nil, "build", nil, "FREE"))
	wantBody(t, ms[0], map[string]any{"attribute": "state", "old": nil, "new": "FREE", "info.id": float64(id),
		"info.state": float64(kojitest.TaskFree), "info.method": "build"})
	if req, _ := body(t, ms[0])["info"].(map[string]any)["request"].(string); !strings.Contains(req, "<methodName>build</methodName>") {
		t.Errorf("task.free info.request = %q, want make_task's XML", req)
	}

	bid, err := hub.StartBuild(id, "pkg-1.0-1.module_x")
	if err != nil {
		t.Fatal(err)
	}
	ms = rec.expect(t, "StartBuild", "task.open", "build.building")
	wantProps(t, ms[0], taskProps(id, nil, "build", "FREE", "OPEN"))
	wantBody(t, ms[0], map[string]any{"old": "FREE", "new": "OPEN", "info.state": float64(kojitest.TaskOpen),
		"info.request": []any{src, "mod", map[string]any{"mbs_artifact_name": "pkg"}}})
	wantProps(t, ms[1], buildProps("pkg", "1.0", "1.module_x", nil, "BUILDING"))
	wantBody(t, ms[1], map[string]any{"attribute": "state", "old": nil, "new": float64(0), "info.id": float64(bid),
		"info.task_id": float64(id), "info.state": float64(0), "info.nvr": "pkg-1.0-1.module_x", "btypes": map[string]any{}})

	if _, err := hub.CompleteBuild(id, kojitest.BuildResult{NVR: "pkg-1.0-1.module_x"}); err != nil {
		t.Fatal(err)
	}
	ms = rec.expect(t, "CompleteBuild", "build.complete", "build.tag", "task.closed")
	wantProps(t, ms[0], buildProps("pkg", "1.0", "1.module_x", "BUILDING", "COMPLETE"))
	wantBody(t, ms[0], map[string]any{"old": float64(0), "new": float64(1), "info.task_id": float64(id), "info.state": float64(1)})
	wantProps(t, ms[1], map[string]any{"type": "Tag", "tag": "mod", "name": "pkg", "version": "1.0", "release": "1.module_x", "user": "kojiadmin"})
	wantBody(t, ms[1], map[string]any{"tag.name": "mod", "build.id": float64(bid), "build.task_id": float64(id),
		"user.name": "kojiadmin", "force": false})
	wantProps(t, ms[2], taskProps(id, nil, "build", "OPEN", "CLOSED"))
	wantBody(t, ms[2], map[string]any{"info.state": float64(kojitest.TaskClosed), "info.result": nil})

	// tagging is a task; untagging is immediate
	tagTask := r.must("tagBuild", "mod-build", bid).(int64)
	ms = rec.expect(t, "tagBuild", "task.free")
	wantProps(t, ms[0], taskProps(tagTask, nil, "tagBuild", nil, "FREE"))
	must(t, hub.RunTask(tagTask))
	ms = rec.expect(t, "tagBuild task", "task.open", "build.tag", "task.closed")
	if ms[1].Properties["tag"] != "mod-build" {
		t.Errorf("build.tag props = %v", ms[1].Properties)
	}
	r.must("untagBuild", "mod-build", bid)
	ms = rec.expect(t, "untagBuild", "build.untag")
	wantProps(t, ms[0], map[string]any{"type": "Untag", "tag": "mod-build", "name": "pkg", "version": "1.0", "release": "1.module_x", "user": "kojiadmin"})
	wantBody(t, ms[0], map[string]any{"tag.name": "mod-build", "build.id": float64(bid), "strict": true, "force": false})
	if _, err := r.call("untagBuild", "mod-build", bid); err == nil {
		t.Fatal("untagged twice")
	}
	rec.expect(t, "a failed untagBuild")

	// a repo
	repoTask := r.must("newRepo", "mod-build").(int64)
	ms = rec.expect(t, "newRepo", "task.free")
	wantProps(t, ms[0], taskProps(repoTask, nil, "newRepo", nil, "FREE"))
	must(t, hub.RunTask(repoTask))
	ms = rec.expect(t, "newRepo task", "task.open", "repo.init", "repo.done", "task.closed")
	repoID := get(r.must("getRepo", "mod-build"), "id").(int64)
	wantProps(t, ms[1], map[string]any{"type": "RepoInit", "tag": "mod-build", "repo_id": repoID, "task_id": repoTask})
	wantProps(t, ms[2], map[string]any{"type": "RepoDone", "tag": "mod-build", "repo_id": repoID, "task_id": repoTask, "expire": false})
	wantBody(t, ms[2], map[string]any{"repo.id": float64(repoID), "repo.tag_name": "mod-build", "repo.task_id": float64(repoTask),
		"repo.state": float64(kojitest.RepoInit), "task_id": float64(repoTask), "expire": false})
	wantBody(t, ms[3], map[string]any{"info.result": []any{float64(repoID), float64(get(r.must("getRepo", "mod-build"), "create_event").(int64))}})

	// a component build that fails, one whose task is canceled, one
	// canceled by cancelBuild, one completed without StartBuild
	failing := r.must("build", src, "mod", st("skip_tag", true)).(int64)
	fb, err := hub.StartBuild(failing, "pkg-1.0-2.module_x")
	if err != nil {
		t.Fatal(err)
	}
	must(t, hub.FailTask(failing, 1005, "error building package (arch x86_64)"))
	ms = rec.expect(t, "a failed build", "task.free", "task.open", "build.building", "build.failed", "task.failed")
	wantProps(t, ms[3], buildProps("pkg", "1.0", "2.module_x", "BUILDING", "FAILED"))
	wantBody(t, ms[3], map[string]any{"old": float64(0), "new": float64(3), "info.id": float64(fb), "info.task_id": float64(failing)})
	wantProps(t, ms[4], taskProps(failing, nil, "build", "OPEN", "FAILED"))
	if res, _ := body(t, ms[4])["info"].(map[string]any)["result"].(string); !strings.Contains(res, "error building package") {
		t.Errorf("task.failed info.result = %q, want the fault", res)
	}

	canceled := r.must("build", src, "mod", st("skip_tag", true)).(int64)
	if _, err := hub.StartBuild(canceled, "pkg-1.0-3.module_x"); err != nil {
		t.Fatal(err)
	}
	r.must("cancelTask", canceled)
	ms = rec.expect(t, "cancelTask", "task.free", "task.open", "build.building", "task.canceled", "build.canceled")
	wantProps(t, ms[3], taskProps(canceled, nil, "build", "OPEN", "CANCELED"))
	wantProps(t, ms[4], buildProps("pkg", "1.0", "3.module_x", "BUILDING", "CANCELED"))

	byBuild := r.must("build", src, "mod", st("skip_tag", true)).(int64)
	cb, err := hub.StartBuild(byBuild, "pkg-1.0-4.module_x")
	if err != nil {
		t.Fatal(err)
	}
	r.must("cancelBuild", cb)
	ms = rec.expect(t, "cancelBuild", "task.free", "task.open", "build.building", "build.canceled", "task.canceled")
	wantBody(t, ms[3], map[string]any{"info.id": float64(cb), "new": float64(kojitest.BuildCanceled)})

	direct := r.must("build", src, "mod", st("skip_tag", true)).(int64)
	if _, err := hub.CompleteBuild(direct, kojitest.BuildResult{NVR: "pkg-1.0-5.module_x"}); err != nil {
		t.Fatal(err)
	}
	ms = rec.expect(t, "CompleteBuild of a FREE task", "task.free", "task.open", "build.building", "build.complete", "task.closed")
	wantBody(t, ms[2], map[string]any{"old": nil, "new": float64(0), "info.state": float64(0), "info.task_id": float64(direct)})
	wantBody(t, ms[3], map[string]any{"old": float64(0), "new": float64(1), "info.state": float64(1)})

	// Messages is what the hooks got, in order, with unique ids
	rec.mu.Lock()
	all := rec.all
	rec.mu.Unlock()
	if diff := cmp.Diff(all, hub.Messages()); diff != "" {
		t.Errorf("Messages (-hooks +Messages):\n%s", diff)
	}
	ids := map[string]bool{}
	for _, m := range all {
		if ids[m.ID] || !strings.HasPrefix(m.ID, "kojitest-") || m.SentAt.IsZero() {
			t.Errorf("message %q (sent %v): not a fresh kojitest id or no time", m.ID, m.SentAt)
		}
		ids[m.ID] = true
	}
}

// TestHub_MessagesCG: the content generator calls' build state changes,
// with koji.md §4's gotcha (a CG import's build.complete has no btypes).
func TestHub_MessagesCG(t *testing.T) {
	hub, r := admin(t, kojitest.Options{})
	rec := record(hub)
	nvr := st("name", "mod", "version", "master", "release", "1.c0ffee42")
	v := r.must("CGInitBuild", "module-build-service", nvr)
	id, token := get(v, "build_id").(int64), get(v, "token").(string)
	ms := rec.expect(t, "CGInitBuild", "build.building")
	wantProps(t, ms[0], buildProps("mod", "master", "1.c0ffee42", nil, "BUILDING"))
	wantBody(t, ms[0], map[string]any{"old": nil, "new": float64(0), "info.id": float64(id), "info.task_id": nil,
		"info.cg_name": "module-build-service", "btypes": map[string]any{}})
	if _, err := r.call("CGInitBuild", "module-build-service", nvr); err == nil {
		t.Fatal("reserved twice")
	}
	rec.expect(t, "a failed CGInitBuild")

	r.must("CGRefundBuild", "module-build-service", id, token)
	ms = rec.expect(t, "CGRefundBuild", "build.failed")
	wantProps(t, ms[0], buildProps("mod", "master", "1.c0ffee42", "BUILDING", "FAILED"))
	wantBody(t, ms[0], map[string]any{"old": float64(0), "new": float64(3), "info.id": float64(id)})

	v = r.must("CGInitBuild", "module-build-service", nvr)
	token = get(v, "token").(string)
	ms = rec.expect(t, "a recycled reservation", "build.building")
	wantProps(t, ms[0], buildProps("mod", "master", "1.c0ffee42", "FAILED", "BUILDING"))
	wantBody(t, ms[0], map[string]any{"old": float64(3), "new": float64(0)})

	data := []byte("---\ndocument: modulemd\nversion: 2\n")
	dir := "mbs/1.42"
	if _, err := r.upload(dir, "modulemd.txt", 0, true, "adler32", data); err != nil {
		t.Fatal(err)
	}
	r.must("CGImport", metadata("mod", id, data), dir, kw("token", token))
	ms = rec.expect(t, "CGImport", "build.complete")
	wantProps(t, ms[0], buildProps("mod", "master", "1.c0ffee42", "BUILDING", "COMPLETE"))
	wantBody(t, ms[0], map[string]any{"old": float64(0), "new": float64(1), "info.id": float64(id), "info.task_id": nil,
		"info.extra.typeinfo.module.name": "mod", "btypes": map[string]any{}})

	dv := r.must("CGInitBuild", "module-build-service", st("name", "mod-devel", "version", "master", "release", "1.c0ffee42"))
	r.must("CGRefundBuild", "module-build-service", get(dv, "build_id"), get(dv, "token"), 4)
	r.must("CGImport", metadata("mod-devel", 0, data), dir)
	ms = rec.expect(t, "an unreserved import", "build.building", "build.canceled", "build.building", "build.complete")
	wantProps(t, ms[1], buildProps("mod-devel", "master", "1.c0ffee42", "BUILDING", "CANCELED"))
	wantProps(t, ms[2], buildProps("mod-devel", "master", "1.c0ffee42", "CANCELED", "BUILDING"))
	wantProps(t, ms[3], buildProps("mod-devel", "master", "1.c0ffee42", "BUILDING", "COMPLETE"))
}

// TestHub_MessagesMulticall: a multicall's failed calls send nothing, its
// others do; a request that fails sends nothing.
func TestHub_MessagesMulticall(t *testing.T) {
	hub, r := admin(t, kojitest.Options{})
	buildEnv(t, r)
	id := r.must("build", "git+x", "mod", st("skip_tag", true)).(int64)
	if _, err := hub.CompleteBuild(id, kojitest.BuildResult{NVR: "pkg-1-1"}); err != nil {
		t.Fatal(err)
	}
	rec := record(hub)
	calls, _ := xmlrpc.MulticallParam([]xmlrpc.Call{
		{Method: "tagBuildBypass", Params: []any{"mod", "pkg-1-1"}},
		{Method: "tagBuildBypass", Params: []any{"mod", "pkg-1-1"}}, // already tagged
		{Method: "untagBuildBypass", Params: []any{"mod-build", "pkg-1-1"}},
		{Method: "tagBuildBypass", Params: []any{"mod-build", "pkg-1-1"}},
	})
	res, err := xmlrpc.MulticallResults(r.must("multiCall", calls))
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Fault != nil || res[1].Fault == nil || res[2].Fault == nil || res[3].Fault != nil {
		t.Fatalf("results = %+v", res)
	}
	ms := rec.expect(t, "multiCall", "build.tag", "build.tag")
	if ms[0].Properties["tag"] != "mod" || ms[1].Properties["tag"] != "mod-build" {
		t.Errorf("tags %v, %v", ms[0].Properties["tag"], ms[1].Properties["tag"])
	}
	if _, err := r.call("tagBuildBypass", "mod", "pkg-1-1"); err == nil {
		t.Fatal("tagged twice")
	}
	rec.expect(t, "a failed request")
}

// TestHub_MessagesCallBack: a hook runs after the hub's lock is released
// and sees the state its message describes; it may call the hub. With
// AutoRun and a Builder the whole story runs inside one request.
func TestHub_MessagesCallBack(t *testing.T) {
	hub, r := admin(t, kojitest.Options{AutoRun: true, Builder: func(kojitest.Task) (kojitest.BuildResult, error) {
		return kojitest.BuildResult{NVR: "pkg-1-1"}, nil
	}})
	buildEnv(t, r)
	anon := newRPC(t, hub)
	var (
		mu     sync.Mutex
		states []string
	)
	hub.OnMessage(func(m rida.Message) {
		if !strings.HasPrefix(m.Topic, "build.") || m.Topic == "build.tag" {
			return
		}
		body, _ := xmlrpc.EncodeCall("getBuild", "pkg-1-1")
		v, err := anon.post("", "text/xml", body, nil)
		mu.Lock()
		defer mu.Unlock()
		states = append(states, fmt.Sprintf("%s:%v:%v", m.Topic, get(v, "state"), err))
	})
	rec := record(hub)
	r.must("build", "git+x", "mod")
	rec.expect(t, "an auto-run build", "task.free", "task.open", "build.building", "build.complete", "build.tag", "task.closed")
	mu.Lock()
	defer mu.Unlock()
	// both messages are delivered after the request committed: the build
	// is COMPLETE when either is read
	if diff := cmp.Diff([]string{"build.building:1:<nil>", "build.complete:1:<nil>"}, states); diff != "" {
		t.Errorf("getBuild from the hook (-want +got):\n%s", diff)
	}
}
