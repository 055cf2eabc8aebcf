package kojitest_test

import (
	"errors"
	"testing"

	"github.com/rida-build/rida/internal/xmlrpc"
	"github.com/rida-build/rida/koji/kojitest"
)

// buildEnv makes a module-like build environment: tags mod-build (perm
// admin) and mod, target mod, pkg listed in both.
func buildEnv(t *testing.T, r *rpc) {
	t.Helper()
	r.must("createTag", "mod-build", kw("arches", "x86_64", "perm", "admin"))
	r.must("createTag", "mod")
	r.must("createBuildTarget", "mod", "mod-build", "mod")
	for _, tag := range []string{"mod-build", "mod"} {
		r.must("packageListAdd", tag, "pkg", "kojiadmin")
	}
}

func TestHub_BuildTasks(t *testing.T) {
	hub, r := admin(t, kojitest.Options{})
	buildEnv(t, r)
	src := "git+https://src.example/rpms/pkg#abc"
	id := r.must("build", src, "mod", st("skip_tag", true, "mbs_artifact_name", "pkg")).(int64)
	info := r.must("getTaskInfo", id, kw("request", true))
	if get(info, "state") != int64(kojitest.TaskFree) || get(info, "method") != "build" || get(info, "priority") != int64(20) ||
		len(get(info, "request").([]any)) != 3 {
		t.Errorf("getTaskInfo = %v", info)
	}
	active := r.must("listTasks", kw("opts", st("state", []any{int64(0), int64(1), int64(4)}, "decode", true, "method", "build"))).([]any)
	if len(active) != 1 || get(get(active[0], "request").([]any)[2], "mbs_artifact_name") != "pkg" {
		t.Errorf("active build tasks = %v", active)
	}
	_, err := r.call("getTaskResult", id)
	wantFault(t, "unfinished", err, 1000, "Task "+pyInt(id)+" is not finished")

	if err := hub.StartTask(id); err != nil {
		t.Fatal(err)
	}
	if get(r.must("getTaskInfo", id), "state") != int64(kojitest.TaskOpen) {
		t.Error("task not OPEN")
	}
	bid, err := hub.CompleteBuild(id, kojitest.BuildResult{NVR: "pkg-1.0-1.module_x", RPMs: []kojitest.RPM{{Arch: "src"}, {Arch: "x86_64", Size: 10}}})
	if err != nil {
		t.Fatal(err)
	}
	b := r.must("getBuild", "pkg-1.0-1.module_x")
	if get(b, "id") != bid || get(b, "state") != int64(kojitest.BuildComplete) || get(b, "task_id") != id || get(b, "source") != src {
		t.Errorf("getBuild = %v", b)
	}
	if v := r.must("getTaskResult", id); v != nil {
		t.Errorf("getTaskResult = %v (kojid's build task returns nil)", v)
	}
	if v := r.must("listBuilds", kw("taskID", id)).([]any); len(v) != 1 {
		t.Errorf("listBuilds(taskID) = %v", v)
	}
	if v := r.must("untaggedBuilds", kw("name", "pkg")).([]any); len(v) != 1 {
		t.Errorf("untaggedBuilds = %v", v)
	}
	if v := r.must("listBuildRPMs", "pkg-1.0-1.module_x").([]any); len(v) != 2 || get(v[1], "arch") != "x86_64" {
		t.Errorf("listBuildRPMs = %v", v)
	}

	// tagging is a task the builder runs
	tagTask := r.must("tagBuild", "mod-build", "pkg-1.0-1.module_x").(int64)
	if v := r.must("listTagged", "mod-build").([]any); len(v) != 0 {
		t.Errorf("tagged before the task ran: %v", v)
	}
	if err := hub.RunTask(tagTask); err != nil {
		t.Fatal(err)
	}
	if v := r.must("listTagged", "mod-build", kw("latest", true, "package", "pkg")).([]any); len(v) != 1 || get(v[0], "nvr") != "pkg-1.0-1.module_x" {
		t.Errorf("listTagged = %v", v)
	}
	if got := hub.TaggedNVRs("mod-build"); len(got) != 1 {
		t.Errorf("TaggedNVRs = %v", got)
	}
	again := r.must("tagBuild", "mod-build", bid).(int64)
	must(t, hub.RunTask(again))
	_, err = r.call("getTaskResult", again)
	wantFault(t, "retag", err, 1003, "build pkg-1.0-1.module_x already tagged (mod-build)")
	if v := r.must("getTaskResult", again, kw("raise_fault", false)); get(v, "faultCode") != int64(1003) {
		t.Errorf("getTaskResult(raise_fault=False) = %v", v)
	}
	r.must("untagBuild", "mod-build", bid)
	_, err = r.call("untagBuild", "mod-build", bid)
	wantFault(t, "untag twice", err, 1003, "build pkg-1.0-1.module_x not in tag mod-build")
	_, err = r.call("tagBuild", "mod-build", "nope-1-1")
	wantFault(t, "no build", err, 1000, "No such build: 'nope-1-1'")

	// failure and cancel
	failing := r.must("build", src, "mod", st("skip_tag", true)).(int64)
	must(t, hub.FailTask(failing, 1005, "error building package (arch x86_64)"))
	_, err = r.call("getTaskResult", failing)
	wantFault(t, "failed", err, 1005, "error building package (arch x86_64)")
	canceled := r.must("build", src, "mod", st("skip_tag", true)).(int64)
	r.must("cancelTask", canceled)
	if get(r.must("getTaskInfo", canceled), "state") != int64(kojitest.TaskCanceled) {
		t.Error("not canceled")
	}
	_, err = r.call("getTaskResult", canceled)
	wantFault(t, "canceled", err, 1000, "Task "+pyInt(canceled)+" is canceled")
	if err := hub.StartTask(canceled); err == nil {
		t.Error("started a canceled task")
	}
	u := newRPC(t, hub)
	u.login("testuser", "testuser")
	_, err = u.call("cancelTask", id)
	wantFault(t, "not owner", err, 1004, "Cannot cancel task, not owner")
	_, err = r.call("cancelTask", 9999)
	wantFault(t, "no task", err, 1000, "No such task: 9999")
	_, err = r.call("build", 5, "mod")
	wantFault(t, "src type", err, 1019, "Invalid type for value '5': <class 'int'>, expected type <class 'str'>")
	_, err = u.call("build", src, "mod", nil, -5)
	wantFault(t, "priority", err, 1004, "only admins may create high-priority tasks")

	// without skip_tag the build lands in the destination tag
	tagged := r.must("build", "git+https://src.example/rpms/pkg#def", "mod").(int64)
	if _, err := hub.CompleteBuild(tagged, kojitest.BuildResult{NVR: "pkg-1.0-2.module_x"}); err != nil {
		t.Fatal(err)
	}
	if got := hub.TaggedNVRs("mod"); len(got) != 1 || got[0] != "pkg-1.0-2.module_x" {
		t.Errorf("dest tag = %v", got)
	}
	if _, err := hub.CompleteBuild(tagged, kojitest.BuildResult{NVR: "x-1-1"}); err == nil {
		t.Error("completed a CLOSED task")
	}
	if n := hub.CountCalls("build"); n != 6 {
		t.Errorf("CountCalls(build) = %d", n)
	}
}

func TestHub_Repos(t *testing.T) {
	hub, r := admin(t, kojitest.Options{})
	buildEnv(t, r)
	if v := r.must("getRepo", "mod-build"); v != nil {
		t.Errorf("getRepo = %v", v)
	}
	first := r.must("newRepo", "mod-build").(int64)
	info := r.must("getTaskInfo", first, kw("request", true))
	if get(info, "channel_id") != int64(2) || get(info, "priority") != int64(15) {
		t.Errorf("newRepo task = %v", info)
	}
	must(t, hub.RunTask(first))
	res := r.must("getTaskResult", first).([]any)
	repo := r.must("getRepo", "mod-build")
	last := r.must("getLastEvent")
	if get(repo, "id") != res[0] || get(repo, "create_event") != res[1] || get(repo, "state") != int64(kojitest.RepoReady) ||
		get(repo, "task_id") != first || get(repo, "create_event") != get(last, "id") {
		t.Errorf("getRepo = %v, result %v, last event %v", repo, res, last)
	}
	second := r.must("newRepo", "mod-build", kw("debuginfo", true)).(int64)
	must(t, hub.RunTask(second))
	newer := r.must("getRepo", "mod-build")
	if get(newer, "id") == get(repo, "id") || get(get(newer, "opts"), "debuginfo") != true {
		t.Errorf("second repo = %v", newer)
	}
	if old := r.must("repoInfo", get(repo, "id")); get(old, "state") != int64(kojitest.RepoExpired) {
		t.Errorf("first repo = %v", old)
	}
	_, err := r.call("repoInfo", 999, kw("strict", true))
	wantFault(t, "strict", err, 1000, "query returned no rows")
	u := newRPC(t, hub)
	u.login("testuser", "testuser")
	_, err = u.call("newRepo", "mod-build")
	wantFault(t, "perm", err, 1004, "repo permission required (logged in as testuser)")
}

// TestHub_AutoRun: with a Builder and AutoRun, tasks end as soon as a
// request made them, as with a very fast builder.
func TestHub_AutoRun(t *testing.T) {
	var seen []kojitest.Task
	_, r := admin(t, kojitest.Options{AutoRun: true, Builder: func(t kojitest.Task) (kojitest.BuildResult, error) {
		seen = append(seen, t)
		if t.Request[0] == "bad" {
			return kojitest.BuildResult{}, errors.New("rpmbuild failed")
		}
		return kojitest.BuildResult{NVR: "pkg-2-1"}, nil
	}})
	buildEnv(t, r)
	id := r.must("build", "git+x", "mod", st("skip_tag", true)).(int64)
	if get(r.must("getTaskInfo", id), "state") != int64(kojitest.TaskClosed) {
		t.Error("build task not CLOSED")
	}
	tag := r.must("tagBuild", "mod", "pkg-2-1").(int64)
	if get(r.must("getTaskInfo", tag), "state") != int64(kojitest.TaskClosed) || len(r.must("listTagged", "mod").([]any)) != 1 {
		t.Error("tagBuild did not run")
	}
	bad := r.must("build", "bad", "mod").(int64)
	_, err := r.call("getTaskResult", bad)
	wantFault(t, "builder error", err, 1005, "rpmbuild failed")
	if len(seen) != 2 || seen[0].Owner != "kojiadmin" {
		t.Errorf("builder saw %+v", seen)
	}
}

// TestHub_Multicall: each call of a multicall is on its own; a fault does
// not undo the others and each change is its own event.
func TestHub_Multicall(t *testing.T) {
	hub, r := admin(t, kojitest.Options{})
	before := get(r.must("getLastEvent"), "id").(int64)
	calls, _ := xmlrpc.MulticallParam([]xmlrpc.Call{
		{Method: "createTag", Params: []any{"a"}},
		{Method: "createTag", Params: []any{"a"}},
		{Method: "createTag", Params: []any{"b", xmlrpc.KwArgs{{Name: "nope", Value: 1}}}},
		{Method: "createTag", Params: []any{"c"}},
		{Method: "noSuchMethod"},
	})
	res, err := xmlrpc.MulticallResults(r.must("multiCall", calls))
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Fault != nil || res[3].Fault != nil {
		t.Errorf("results = %+v", res)
	}
	for i, want := range map[int]string{
		1: "A tag with the name 'a' already exists",
		2: "create_tag() got an unexpected keyword argument 'nope'",
		4: "Invalid method: noSuchMethod",
	} {
		if res[i].Fault == nil || res[i].Fault.String != want || len(res[i].Fault.Traceback) == 0 {
			t.Errorf("result %d = %+v, want %q", i, res[i], want)
		}
	}
	if after := get(r.must("getLastEvent"), "id").(int64); after != before+2 {
		t.Errorf("events %d → %d, want two", before, after)
	}
	var inner []string
	for _, c := range hub.Calls() {
		if c.Parent != 0 {
			inner = append(inner, c.Method)
		}
	}
	if len(inner) != 5 {
		t.Errorf("inner calls = %v", inner)
	}
}

func TestHub_RPMHeaders(t *testing.T) {
	hub, r := admin(t, kojitest.Options{})
	buildEnv(t, r)
	id := r.must("build", "git+x", "mod", st("skip_tag", true)).(int64)
	if _, err := hub.CompleteBuild(id, kojitest.BuildResult{NVR: "pkg-1-1", RPMs: []kojitest.RPM{
		{Arch: "x86_64", Headers: map[string]any{"license": "MIT", "exclusivearch": []any{"x86_64"}}},
		{Arch: "src"},
	}}); err != nil {
		t.Fatal(err)
	}
	rpms := r.must("listBuildRPMs", "pkg-1-1").([]any)
	h := r.must("getRPMHeaders", kw("rpmID", get(rpms[0], "id"), "headers", []any{"license", "exclusivearch"}))
	if get(h, "license") != "MIT" || len(get(h, "exclusivearch").([]any)) != 1 {
		t.Errorf("getRPMHeaders = %v", h)
	}
	if v := r.must("getRPMHeaders", kw("rpmID", get(rpms[1], "id"), "headers", []any{"license"})); len(v.(xmlrpc.Struct)) != 0 {
		t.Errorf("headers of an rpm without a file = %v", v)
	}
	_, err := r.call("getRPMHeaders", kw("rpmID", get(rpms[1], "id"), "strict", true))
	wantFault(t, "strict", err, 1000, "Missing rpm file: /mnt/koji/packages/pkg/1/1/src/pkg-1-1.src.rpm")
}
