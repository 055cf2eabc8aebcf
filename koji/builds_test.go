package koji_test

import (
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/internal/xmlrpc"
	"github.com/rida-build/rida/koji"
	"github.com/rida-build/rida/koji/kojitest"
)

const (
	buildsTarget = "module-hello-main-1-c0ffee00"
	helloSrc     = "git+https://src.example.org/rpms/hello#0123456789abcdef"
)

// buildsHub is a hub with a module's environment (tags, target, package
// lists for hello and hello-data), and an admin client.
func buildsHub(t *testing.T, opts kojitest.Options) (*kojitest.FakeHub, *koji.Client, koji.Environment) {
	t.Helper()
	hub := kojitest.NewHub(t, opts)
	c := adminClient(t, hub)
	env := koji.Environment{Tag: buildsTarget, Target: buildsTarget, Arches: []string{"x86_64"}, Perm: "admin",
		Packages: []string{"hello", "hello-data"}, Owner: "kojiadmin"}
	if err := c.PrepareEnvironment(t.Context(), env); err != nil {
		t.Fatal(err)
	}
	return hub, c, env
}

func submit(t *testing.T, c *koji.Client, src, target, pkg string) int64 {
	t.Helper()
	id, err := c.SubmitBuild(t.Context(), src, target, pkg)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestSubmitBuild: the task in the hub carries MBS's request and priority.
func TestSubmitBuild(t *testing.T) {
	hub, c, _ := buildsHub(t, kojitest.Options{})
	id := submit(t, c, helloSrc, buildsTarget, "hello")
	task, ok := hub.Task(id)
	if !ok {
		t.Fatalf("task %d is not in the hub", id)
	}
	want := []any{helloSrc, buildsTarget, xmlrpc.Struct{
		{Name: "skip_tag", Value: true}, {Name: "mbs_artifact_name", Value: "hello"}, {Name: "mbs_module_target", Value: buildsTarget},
	}}
	if task.Method != "build" || task.State != kojitest.TaskFree || !reflect.DeepEqual(task.Request, want) {
		t.Errorf("task = %+v, want a FREE build with request %v", task, want)
	}
	if task.Priority != 20+koji.BuildPriority {
		t.Errorf("priority = %d, want %d", task.Priority, 20+koji.BuildPriority)
	}
	calls := callsOf(hub, "build")
	if len(calls) != 1 || !reflect.DeepEqual(calls[0].KwArgs, xmlrpc.KwArgs{{Name: "priority", Value: int64(koji.BuildPriority)}}) {
		t.Errorf("build calls = %+v, want one with priority=%d as a keyword", calls, koji.BuildPriority)
	}
}

func callsOf(hub *kojitest.FakeHub, method string) []kojitest.Call {
	var out []kojitest.Call
	for _, c := range hub.Calls() {
		if c.Method == method {
			out = append(out, c)
		}
	}
	return out
}

// TestFindBuildTask: the newest build of the package for the target, active
// or closed, never another module's, a scratch build or a failed one.
func TestFindBuildTask(t *testing.T) {
	hub, c, _ := buildsHub(t, kojitest.Options{})
	ctx := t.Context()
	const other = "module-other-main-1-cafe0000"
	failed := submit(t, c, helloSrc, buildsTarget, "hello")
	if err := hub.FailTask(failed, 1005, "rpmbuild failed"); err != nil {
		t.Fatal(err)
	}
	otherModule := submit(t, c, helloSrc, other, "hello")
	data := submit(t, c, helloSrc, buildsTarget, "hello-data")
	if _, err := c.Call(ctx, "build", helloSrc, buildsTarget, xmlrpc.Struct{{Name: "scratch", Value: true},
		{Name: "mbs_artifact_name", Value: "hello"}, {Name: "mbs_module_target", Value: buildsTarget}}); err != nil {
		t.Fatal(err)
	}

	find := func(target, pkg string) (int64, bool) {
		t.Helper()
		id, found, err := c.FindBuildTask(ctx, target, pkg)
		if err != nil {
			t.Fatal(err)
		}
		return id, found
	}
	if id, found := find(buildsTarget, "hello"); found {
		t.Errorf("found task %d for hello; only a failed and a scratch build exist", id)
	}
	hello := submit(t, c, helloSrc, buildsTarget, "hello")
	for _, tc := range []struct {
		target, pkg string
		want        int64
	}{{buildsTarget, "hello", hello}, {other, "hello", otherModule}, {buildsTarget, "hello-data", data}, {buildsTarget, "nope", 0}} {
		id, found := find(tc.target, tc.pkg)
		if id != tc.want || found != (tc.want != 0) {
			t.Errorf("FindBuildTask(%s, %s) = %d, %v; want %d", tc.target, tc.pkg, id, found, tc.want)
		}
	}

	// A build that finished while rida was down is adopted too; of two,
	// the newest.
	if _, err := hub.CompleteBuild(hello, kojitest.BuildResult{NVR: "hello-1.0-1.module_f40+1+c0ffee00"}); err != nil {
		t.Fatal(err)
	}
	if id, found := find(buildsTarget, "hello"); id != hello || !found {
		t.Errorf("after completion FindBuildTask = %d, %v; want %d", id, found, hello)
	}
	again := submit(t, c, helloSrc, buildsTarget, "hello")
	if id, _ := find(buildsTarget, "hello"); id != again {
		t.Errorf("FindBuildTask = %d, want the newest task %d", id, again)
	}

	// Another user's tasks are not rida's.
	hub.AddUser(kojitest.User{Name: "someone", Password: "pw"})
	sc, err := koji.NewClient(koji.ClientConfig{HTTPClient: hub.Client(), Profile: koji.Profile{
		Name: "test", Server: hub.URL(), AuthType: koji.AuthPassword, User: "someone", Password: "pw"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.Login(ctx); err != nil {
		t.Fatal(err)
	}
	if id, found, err := sc.FindBuildTask(ctx, buildsTarget, "hello"); err != nil || found {
		t.Errorf("another user's FindBuildTask = %d, %v, %v; want not found", id, found, err)
	}
}

func componentTask(t *testing.T, c *koji.Client, id int64, pkg string) koji.BuildTask {
	t.Helper()
	task, found, err := c.ComponentTask(t.Context(), id, pkg)
	if err != nil {
		t.Fatal(err)
	}
	if !found {
		t.Fatalf("task %d not found", id)
	}
	return task
}

// TestComponentTask follows build tasks to their end with the hub's
// builder API.
func TestComponentTask(t *testing.T) {
	hub, c, _ := buildsHub(t, kojitest.Options{})
	ctx := t.Context()
	const nvr = "hello-1.0-1.module_f40+1+c0ffee00"

	ok := submit(t, c, helloSrc, buildsTarget, "hello")
	if got := componentTask(t, c, ok, "hello"); got.State != rida.ComponentBuilding || got.TaskState != rida.TaskFree {
		t.Errorf("queued: %+v, want BUILDING", got)
	}
	if err := hub.StartTask(ok); err != nil {
		t.Fatal(err)
	}
	if got := componentTask(t, c, ok, "hello"); got.State != rida.ComponentBuilding || got.TaskState != rida.TaskOpen {
		t.Errorf("open: %+v, want BUILDING", got)
	}
	if _, err := hub.CompleteBuild(ok, kojitest.BuildResult{NVR: nvr}); err != nil {
		t.Fatal(err)
	}
	want := koji.BuildTask{ID: ok, TaskState: rida.TaskClosed, State: rida.ComponentComplete, NVR: nvr}
	if got := componentTask(t, c, ok, "hello"); got != want {
		t.Errorf("completed: %+v, want %+v", got, want)
	}
	// skip_tag: the build is in no tag until TagBuilds.
	if tags := hub.TaggedNVRs(buildsTarget); len(tags) != 0 {
		t.Errorf("%s holds %v after the build; skip_tag was not honoured", buildsTarget, tags)
	}

	bad := submit(t, c, helloSrc, buildsTarget, "hello-data")
	if err := hub.FailTask(bad, 1005, "error building package (arch x86_64)"); err != nil {
		t.Fatal(err)
	}
	want = koji.BuildTask{ID: bad, TaskState: rida.TaskFailed, State: rida.ComponentFailed,
		Reason: "Failed to build artifact hello-data in Koji (task " + itoa(bad) + ")"}
	if got := componentTask(t, c, bad, "hello-data"); got != want {
		t.Errorf("failed: %+v, want %+v", got, want)
	}

	canceled := submit(t, c, helloSrc, buildsTarget, "hello-data")
	if err := c.CancelTask(ctx, canceled); err != nil {
		t.Fatal(err)
	}
	want = koji.BuildTask{ID: canceled, TaskState: rida.TaskCanceled, State: rida.ComponentCanceled,
		Reason: "Failed to build artifact hello-data in Koji (task " + itoa(canceled) + ")"}
	if got := componentTask(t, c, canceled, "hello-data"); got != want {
		t.Errorf("canceled: %+v, want %+v", got, want)
	}
	// Canceling again, a finished task, or a task Koji does not know
	// succeeds and changes nothing.
	for _, id := range []int64{canceled, ok, bad, 999999} {
		if err := c.CancelTask(ctx, id); err != nil {
			t.Errorf("CancelTask(%d): %v", id, err)
		}
	}
	if got := componentTask(t, c, ok, "hello"); got.State != rida.ComponentComplete {
		t.Errorf("after a cancel of the closed task: %+v", got)
	}

	if task, found, err := c.ComponentTask(ctx, 999999, "hello"); err != nil || found {
		t.Errorf("unknown task: %+v, %v, %v; want not found", task, found, err)
	}
	repo, err := c.NewRepo(ctx, buildsTarget+"-build")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.ComponentTask(ctx, repo, "hello"); err == nil {
		t.Error("ComponentTask of a newRepo task succeeded")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestTagBuilds: tagBuild tasks for what is not tagged, none twice, and
// nothing once the builder ran them.
func TestTagBuilds(t *testing.T) {
	hub, c, env := buildsHub(t, kojitest.Options{})
	ctx := t.Context()
	nvrs := []string{"hello-1.0-1.module_f40+1+c0ffee00", "hello-data-1.0-1.module_f40+1+c0ffee00"}
	for i, pkg := range []string{"hello", "hello-data"} {
		id := submit(t, c, helloSrc, buildsTarget, pkg)
		if _, err := hub.CompleteBuild(id, kojitest.BuildResult{NVR: nvrs[i]}); err != nil {
			t.Fatal(err)
		}
	}
	tag := env.BuildTag()
	first, err := c.TagBuilds(ctx, tag, nvrs)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 2 {
		t.Fatalf("TagBuilds = %v, want two tagBuild tasks", first)
	}
	for _, id := range first {
		if done, err := c.TaskDone(ctx, id); done || err != nil {
			t.Errorf("TaskDone(%d) before the builder ran = %v, %v", id, done, err)
		}
	}
	// Repeated (a crash before the caller recorded the tasks): the same
	// tasks, no new tagBuild.
	again, err := c.TagBuilds(ctx, tag, nvrs)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(again, first) || hub.CountCalls("tagBuild") != 2 {
		t.Errorf("repeated TagBuilds = %v with %d tagBuild calls; want %v and 2", again, hub.CountCalls("tagBuild"), first)
	}
	if _, err := hub.RunTasks(); err != nil {
		t.Fatal(err)
	}
	for _, id := range first {
		if done, err := c.TaskDone(ctx, id); !done || err != nil {
			t.Errorf("TaskDone(%d) after the builder ran = %v, %v", id, done, err)
		}
	}
	if got := hub.TaggedNVRs(tag); len(got) != 2 {
		t.Errorf("%s holds %v, want both builds", tag, got)
	}
	// Everything tagged: nothing to do, and no tagBuild.
	if ids, err := c.TagBuilds(ctx, tag, nvrs); err != nil || len(ids) != 0 || hub.CountCalls("tagBuild") != 2 {
		t.Errorf("TagBuilds of tagged builds = %v, %v (%d tagBuild calls)", ids, err, hub.CountCalls("tagBuild"))
	}
	// Into the module tag as well; a build not COMPLETE is Koji's TagError.
	if ids, err := c.TagBuilds(ctx, env.Tag, nvrs[:1]); err != nil || len(ids) != 1 {
		t.Errorf("TagBuilds into %s = %v, %v", env.Tag, ids, err)
	}
	if _, err := c.TagBuilds(ctx, tag, []string{"hello-2.0-1.module_f40+1+c0ffee00"}); koji.FaultCode(err) == 0 {
		t.Errorf("tagging a missing build: %v, want a fault", err)
	}
}

// TestTagBuilds_AutoRun: a hub that runs the tasks at once tags inline.
func TestTagBuilds_AutoRun(t *testing.T) {
	hub, c, env := buildsHub(t, kojitest.Options{AutoRun: true})
	ctx := t.Context()
	const nvr = "hello-1.0-1.module_f40+1+c0ffee00"
	id := submit(t, c, helloSrc, buildsTarget, "hello")
	if _, err := hub.CompleteBuild(id, kojitest.BuildResult{NVR: nvr}); err != nil {
		t.Fatal(err)
	}
	ids, err := c.TagBuilds(ctx, env.BuildTag(), []string{nvr, nvr})
	if err != nil || len(ids) != 1 {
		t.Fatalf("TagBuilds = %v, %v; want one task", ids, err)
	}
	if done, err := c.TaskDone(ctx, ids[0]); !done || err != nil {
		t.Errorf("TaskDone = %v, %v; want done", done, err)
	}
	if ids, err := c.TagBuilds(ctx, env.BuildTag(), []string{nvr}); err != nil || len(ids) != 0 {
		t.Errorf("second TagBuilds = %v, %v; want nothing", ids, err)
	}
}

// TestNewRepo: a newRepo task is done when it closed, and an error (not
// CodeUnavailable) when it failed, was canceled or is unknown.
func TestNewRepo(t *testing.T) {
	hub, c, env := buildsHub(t, kojitest.Options{})
	ctx := t.Context()
	id, err := c.NewRepo(ctx, env.BuildTag())
	if err != nil {
		t.Fatal(err)
	}
	if task, _ := hub.Task(id); task.Method != "newRepo" || !reflect.DeepEqual(task.Request, []any{env.BuildTag()}) {
		t.Errorf("task %d = %+v, want newRepo of %s", id, task, env.BuildTag())
	}
	if done, err := c.RepoTaskDone(ctx, id); done || err != nil {
		t.Errorf("RepoTaskDone before the builder ran = %v, %v", done, err)
	}
	if err := hub.RunTask(id); err != nil {
		t.Fatal(err)
	}
	if done, err := c.RepoTaskDone(ctx, id); !done || err != nil {
		t.Errorf("RepoTaskDone after the builder ran = %v, %v", done, err)
	}

	failed, err := c.NewRepo(ctx, env.BuildTag())
	if err != nil {
		t.Fatal(err)
	}
	if err := hub.FailTask(failed, 1000, "createrepo failed"); err != nil {
		t.Fatal(err)
	}
	canceled, err := c.NewRepo(ctx, env.BuildTag())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CancelTask(ctx, canceled); err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{failed, canceled, 999999} {
		done, err := c.RepoTaskDone(ctx, id)
		if done || err == nil || rida.ErrorCodeOf(err) == rida.CodeUnavailable {
			t.Errorf("RepoTaskDone(%d) = %v, %v; want an error that is not unavailable", id, done, err)
		}
	}
	if _, err := c.RepoTaskDone(ctx, failed); err == nil || !strings.Contains(err.Error(), "createrepo failed") {
		t.Errorf("a failed task's error %v does not carry its fault", err)
	}

	// A user without the repo permission gets Koji's fault.
	hub.AddUser(kojitest.User{Name: "plain", Password: "pw"})
	pc, err := koji.NewClient(koji.ClientConfig{HTTPClient: hub.Client(), Profile: koji.Profile{
		Name: "test", Server: hub.URL(), AuthType: koji.AuthPassword, User: "plain", Password: "pw"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.Login(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := pc.NewRepo(ctx, env.BuildTag()); koji.FaultCode(err) == 0 {
		t.Errorf("newRepo without permission: %v, want a fault", err)
	}
}
