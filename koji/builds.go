package koji

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/internal/xmlrpc"
)

// BuildPriority is the priority component builds are submitted with, as
// MBS's KOJI_BUILD_PRIORITY (10): relative to Koji's default of 20, so the
// hub stores 30, behind interactive builds.
const BuildPriority = 10

// SubmitBuild starts building the package pkg from src (an SCM URL,
// "git+<dist-git>/rpms/<name>#<commit>") with target, as MBS does
// (mbs.md §3.10): build(src, target, {"skip_tag": true,
// "mbs_artifact_name": pkg, "mbs_module_target": target},
// priority=BuildPriority). skip_tag leaves tagging to TagBuilds. The two
// mbs_* options are what FindBuildTask matches on. It returns the build
// task's id without waiting: the hub only queues the task.
func (c *Client) SubmitBuild(ctx context.Context, src, target, pkg string) (int64, error) {
	var id int64
	if err := c.CallInto(ctx, &id, "build", buildParams(src, target, pkg)...); err != nil {
		return 0, err
	}
	return id, nil
}

// BuildRequest is one SubmitBuilds submission.
type BuildRequest struct{ Src, Target, Package string }

// SubmitBuilds is SubmitBuild for several builds in one multicall (one
// round trip per batch instead of one per component); errs[i] is the
// fault of reqs[i], if any.
func (c *Client) SubmitBuilds(ctx context.Context, reqs []BuildRequest) (ids []int64, errs []error, err error) {
	calls := make([]xmlrpc.Call, len(reqs))
	for i, r := range reqs {
		calls[i] = xmlrpc.Call{Method: "build", Params: buildParams(r.Src, r.Target, r.Package)}
	}
	res, err := c.Multicall(ctx, calls)
	if err != nil {
		return nil, nil, err
	}
	ids, errs = make([]int64, len(reqs)), make([]error, len(reqs))
	for i, r := range res {
		if errs[i] = decodeResult(r, "build", &ids[i]); errs[i] != nil {
			ids[i] = 0
		}
	}
	return ids, errs, nil
}

// buildParams are build()'s parameters as MBS sends them.
func buildParams(src, target, pkg string) []any {
	opts := xmlrpc.Struct{
		{Name: "skip_tag", Value: true},
		{Name: "mbs_artifact_name", Value: pkg},
		{Name: "mbs_module_target", Value: target},
	}
	return []any{src, target, opts, xmlrpc.KwArgs{{Name: "priority", Value: int64(BuildPriority)}}}
}

// adoptableStates are the task states FindBuildTask looks in: the active
// ones, and CLOSED so that a build that finished while rida was down is
// adopted as well. FAILED and CANCELED tasks are left out: a component
// that is built again after a failure (a resumed module build) must get a
// new build, not the old failure.
var adoptableStates = []any{
	int64(rida.TaskFree), int64(rida.TaskOpen), int64(rida.TaskAssigned), int64(rida.TaskClosed),
}

// taskRow is what getTaskInfo and listTasks answer that rida reads.
type taskRow struct {
	ID      int64  `xmlrpc:"id"`
	State   int    `xmlrpc:"state"`
	Method  string `xmlrpc:"method"`
	Request []any  `xmlrpc:"request"`
}

// FindBuildTask finds the newest build task submitted for package pkg with
// target (by the mbs_artifact_name and mbs_module_target options
// SubmitBuild sets; scratch builds are ignored), active or closed: after a
// crash between SubmitBuild and recording its task id, this is the task to
// adopt instead of building twice. found is false when there is none.
//
// It lists the build tasks of the logged-in user (all users' when the
// client is anonymous) in those states and filters them here, as Koji
// cannot filter on a task's request: that is one listTasks whose reply
// grows with the user's history, so call it only when a task id was lost,
// not before every submission.
func (c *Client) FindBuildTask(ctx context.Context, target, pkg string) (taskID int64, found bool, err error) {
	opts := xmlrpc.Struct{
		{Name: "method", Value: "build"},
		{Name: "decode", Value: true},
		{Name: "state", Value: adoptableStates},
	}
	if c.LoggedIn() {
		var user struct {
			ID *int64 `xmlrpc:"id"`
		}
		if err := c.CallInto(ctx, &user, "getLoggedInUser"); err != nil {
			return 0, false, err
		}
		if user.ID != nil {
			opts = append(opts, xmlrpc.Member{Name: "owner", Value: *user.ID})
		}
	}
	var tasks []taskRow
	err = c.CallInto(ctx, &tasks, "listTasks", xmlrpc.KwArgs{
		{Name: "opts", Value: opts},
		{Name: "queryOpts", Value: xmlrpc.Struct{{Name: "order", Value: "-id"}}},
	})
	if err != nil {
		return 0, false, err
	}
	// Newest first whatever order the hub kept.
	slices.SortStableFunc(tasks, func(a, b taskRow) int { return cmp.Compare(b.ID, a.ID) })
	for _, t := range tasks {
		if len(t.Request) < 3 {
			continue
		}
		o, ok := t.Request[2].(xmlrpc.Struct)
		if !ok {
			continue
		}
		name, _ := o.Get("mbs_artifact_name")
		tgt, _ := o.Get("mbs_module_target")
		scratch, _ := o.Get("scratch")
		if name == pkg && tgt == target && scratch != true {
			return t.ID, true, nil
		}
	}
	return 0, false, nil
}

// BuildTask is Koji's view of one component build task.
type BuildTask struct {
	// ID is the build task's id.
	ID int64
	// TaskState is the task's own state.
	TaskState rida.TaskState
	// State is ComponentBuilding while the task is active; for a closed
	// task the state of the build it made (ComponentComplete, or what
	// happened to the build since); ComponentFailed or ComponentCanceled
	// for a failed or canceled task.
	State rida.ComponentState
	// NVR is the build's name-version-release once the task closed.
	NVR string
	// Reason says why the build failed or was canceled, in MBS's words
	// plus the task: "Failed to build artifact <pkg> in Koji (task <id>)".
	Reason string
}

// ComponentTask reports on build task taskID, which builds package pkg
// (pkg is only used in the reason): getTaskInfo, and for a closed task
// listBuilds(taskID=…) for the build it made. found is false when the hub
// knows no such task, so the caller submits again.
func (c *Client) ComponentTask(ctx context.Context, taskID int64, pkg string) (task BuildTask, found bool, err error) {
	info, err := c.taskInfo(ctx, taskID)
	if err != nil || info == nil {
		return BuildTask{}, false, err
	}
	if info.Method != "build" {
		return BuildTask{}, false, rida.Errorf(rida.CodeInternal, "Koji task %d is a %s task, not a build", taskID, info.Method)
	}
	ts, err := TaskState(info.State)
	if err != nil {
		return BuildTask{}, false, err
	}
	task = BuildTask{ID: taskID, TaskState: ts}
	failed := fmt.Sprintf("Failed to build artifact %s in Koji (task %d)", pkg, taskID)
	switch ts {
	case rida.TaskClosed:
		var builds []buildRow
		if err := c.CallInto(ctx, &builds, "listBuilds", xmlrpc.KwArgs{{Name: "taskID", Value: taskID}}); err != nil {
			return BuildTask{}, false, err
		}
		if err := closedTask(&task, pkg, builds); err != nil {
			return BuildTask{}, false, err
		}
	case rida.TaskFailed:
		task.State, task.Reason = rida.ComponentFailed, failed
	case rida.TaskCanceled:
		task.State, task.Reason = rida.ComponentCanceled, failed
	default:
		task.State = rida.ComponentBuilding
	}
	return task, true, nil
}

// ComponentTasks is ComponentTask for many build tasks in two round trips:
// a multicall of getTaskInfo, then one of listBuilds for the closed ones.
// pkgs[i] names the package of taskIDs[i]; found[i] is false for a task
// the hub does not know.
func (c *Client) ComponentTasks(ctx context.Context, taskIDs []int64, pkgs []string) (tasks []BuildTask, found []bool, err error) {
	tasks, found = make([]BuildTask, len(taskIDs)), make([]bool, len(taskIDs))
	if len(taskIDs) == 0 {
		return tasks, found, nil
	}
	calls := make([]xmlrpc.Call, len(taskIDs))
	for i, id := range taskIDs {
		calls[i] = xmlrpc.Call{Method: "getTaskInfo", Params: []any{id}}
	}
	infos, err := c.Multicall(ctx, calls)
	if err != nil {
		return nil, nil, err
	}
	var closed []int
	for i, r := range infos {
		if err := r.Err(); err != nil {
			return nil, nil, faultOf("getTaskInfo", err)
		}
		var info *taskRow
		if err := xmlrpc.Unmarshal(r.Value, &info); err != nil {
			return nil, nil, rida.Errorf(rida.CodeUnavailable, "koji getTaskInfo: unexpected reply: %v", err)
		}
		if info == nil {
			continue
		}
		if info.Method != "build" {
			return nil, nil, rida.Errorf(rida.CodeInternal, "Koji task %d is a %s task, not a build", taskIDs[i], info.Method)
		}
		ts, err := TaskState(info.State)
		if err != nil {
			return nil, nil, err
		}
		found[i], tasks[i] = true, BuildTask{ID: taskIDs[i], TaskState: ts}
		failed := fmt.Sprintf("Failed to build artifact %s in Koji (task %d)", pkgs[i], taskIDs[i])
		switch ts {
		case rida.TaskClosed:
			closed = append(closed, i)
		case rida.TaskFailed:
			tasks[i].State, tasks[i].Reason = rida.ComponentFailed, failed
		case rida.TaskCanceled:
			tasks[i].State, tasks[i].Reason = rida.ComponentCanceled, failed
		default:
			tasks[i].State = rida.ComponentBuilding
		}
	}
	if len(closed) == 0 {
		return tasks, found, nil
	}
	calls = calls[:0]
	for _, i := range closed {
		calls = append(calls, xmlrpc.Call{Method: "listBuilds", Params: []any{xmlrpc.KwArgs{{Name: "taskID", Value: taskIDs[i]}}}})
	}
	lists, err := c.Multicall(ctx, calls)
	if err != nil {
		return nil, nil, err
	}
	for k, i := range closed {
		if err := lists[k].Err(); err != nil {
			return nil, nil, faultOf("listBuilds", err)
		}
		var builds []buildRow
		if err := xmlrpc.Unmarshal(lists[k].Value, &builds); err != nil {
			return nil, nil, rida.Errorf(rida.CodeUnavailable, "koji listBuilds: unexpected reply: %v", err)
		}
		if err := closedTask(&tasks[i], pkgs[i], builds); err != nil {
			return nil, nil, err
		}
	}
	return tasks, found, nil
}

// closedTask fills a closed build task's outcome from the builds it made.
func closedTask(task *BuildTask, pkg string, builds []buildRow) error {
	failed := fmt.Sprintf("Failed to build artifact %s in Koji (task %d)", pkg, task.ID)
	if len(builds) == 0 {
		// A closed build task without a build: a scratch build, or one
		// whose build was removed from the database.
		task.State, task.Reason = rida.ComponentFailed, failed+": the task made no build"
		return nil
	}
	b := slices.MaxFunc(builds, func(x, y buildRow) int { return cmp.Compare(x.ID, y.ID) })
	var err error
	if task.State, err = ComponentState(b.State); err != nil {
		return err
	}
	task.NVR = b.NVR
	if task.State != rida.ComponentComplete {
		task.Reason = fmt.Sprintf("%s: build %s is %s", failed, b.NVR, task.State)
	}
	return nil
}

// buildRow is what listBuilds answers that rida reads.
type buildRow struct {
	ID    int64  `xmlrpc:"build_id"`
	NVR   string `xmlrpc:"nvr"`
	State int    `xmlrpc:"state"`
}

// taskInfo is getTaskInfo(taskID): nil for a task the hub does not know.
func (c *Client) taskInfo(ctx context.Context, taskID int64) (*taskRow, error) {
	var info *taskRow
	if err := c.CallInto(ctx, &info, "getTaskInfo", taskID); err != nil {
		return nil, err
	}
	return info, nil
}

// CancelTask cancels a task and its children (cancelTask; Koji cancels
// the BUILDING build the task owns too). A task that has already ended,
// or that the hub does not know, is left as it is without an error, so a
// repeated cancel succeeds.
func (c *Client) CancelTask(ctx context.Context, taskID int64) error {
	_, err := c.Call(ctx, "cancelTask", taskID)
	if FaultCode(err) == FaultGeneric && strings.HasPrefix(faultString(err), "No such task") {
		return nil
	}
	return err
}

func faultString(err error) string {
	if f, ok := err.(*FaultError); ok {
		return f.String
	}
	return ""
}

// TagBuilds tags the builds nvrs (each COMPLETE) into tag with tagBuild,
// as MBS does (mbs.md §3.11): one listTagged, then one multicall of
// tagBuild for the builds not tagged there yet.
//
// tagBuild does not tag: it queues a tagBuild task that a builder runs
// (koji.md §3.7; kojitest's RunTask/RunTasks or AutoRun). TagBuilds
// returns the ids of the tasks still to run for these builds, including
// unfinished tagBuild tasks queued earlier for the same tag and build (a
// call repeated after a crash queues no second task). The caller waits for
// every returned task with TaskDone, and is done when TagBuilds returns no
// task: a call after the tasks closed finds the builds in listTagged.
// When the hub tagged them inline, the returned tasks are already closed.
func (c *Client) TagBuilds(ctx context.Context, tag string, nvrs []string) (taskIDs []int64, err error) {
	if len(nvrs) == 0 {
		return nil, nil
	}
	reads, err := c.Multicall(ctx, []xmlrpc.Call{
		{Method: "getTag", Params: []any{tag, xmlrpc.KwArgs{{Name: "strict", Value: true}}}},
		{Method: "listTagged", Params: []any{tag}},
		{Method: "listTasks", Params: []any{xmlrpc.KwArgs{{Name: "opts", Value: xmlrpc.Struct{
			{Name: "method", Value: "tagBuild"},
			{Name: "decode", Value: true},
			{Name: "state", Value: []any{int64(rida.TaskFree), int64(rida.TaskOpen), int64(rida.TaskAssigned)}},
		}}}}},
	})
	if err != nil {
		return nil, err
	}
	var tagRow struct {
		ID int64 `xmlrpc:"id"`
	}
	var tagged []struct {
		NVR string `xmlrpc:"nvr"`
	}
	var pending []taskRow
	for i, dst := range []any{&tagRow, &tagged, &pending} {
		if err := decodeResult(reads[i], []string{"getTag", "listTagged", "listTasks"}[i], dst); err != nil {
			return nil, err
		}
	}
	done := map[string]bool{}
	for _, b := range tagged {
		done[b.NVR] = true
	}
	var todo []string
	for _, nvr := range nvrs {
		if !done[nvr] && !slices.Contains(todo, nvr) {
			todo = append(todo, nvr)
		}
	}
	if len(todo) == 0 {
		return nil, nil
	}

	// Tasks queued for this tag before (a crash, or a caller that did not
	// wait): their builds need no second task.
	queued := map[int64][]int64{} // build id → task ids
	for _, t := range pending {
		if len(t.Request) < 2 {
			continue
		}
		tagID, ok1 := t.Request[0].(int64)
		buildID, ok2 := t.Request[1].(int64)
		if ok1 && ok2 && tagID == tagRow.ID {
			queued[buildID] = append(queued[buildID], t.ID)
		}
	}
	if len(queued) > 0 {
		calls := make([]xmlrpc.Call, len(todo))
		for i, nvr := range todo {
			calls[i] = xmlrpc.Call{Method: "getBuild", Params: []any{nvr, xmlrpc.KwArgs{{Name: "strict", Value: true}}}}
		}
		res, err := c.Multicall(ctx, calls)
		if err != nil {
			return nil, err
		}
		rest := todo[:0:0]
		for i, nvr := range todo {
			var b struct {
				ID int64 `xmlrpc:"id"`
			}
			if err := decodeResult(res[i], "getBuild", &b); err != nil {
				return nil, err
			}
			if ids := queued[b.ID]; len(ids) > 0 {
				taskIDs = append(taskIDs, ids...)
				continue
			}
			rest = append(rest, nvr)
		}
		todo = rest
	}

	calls := make([]xmlrpc.Call, len(todo))
	for i, nvr := range todo {
		calls[i] = xmlrpc.Call{Method: "tagBuild", Params: []any{tag, nvr}}
	}
	if len(calls) > 0 {
		res, err := c.Multicall(ctx, calls)
		if err != nil {
			return nil, err
		}
		for i, r := range res {
			var id int64
			if err := decodeResult(r, "tagBuild", &id); err != nil {
				return nil, fmt.Errorf("tagging %s into %s: %w", todo[i], tag, err)
			}
			taskIDs = append(taskIDs, id)
		}
	}
	slices.Sort(taskIDs)
	return slices.Compact(taskIDs), nil
}

// decodeResult stores a multicall result in dst, or returns its fault as a
// FaultError.
func decodeResult(r xmlrpc.MulticallResult, method string, dst any) error {
	if err := r.Err(); err != nil {
		return faultOf(method, err)
	}
	if err := xmlrpc.Unmarshal(r.Value, dst); err != nil {
		return rida.Errorf(rida.CodeUnavailable, "koji %s: unexpected reply: %v", method, err)
	}
	return nil
}

// NewRepo asks for the build tag's repository to be regenerated (newRepo,
// which needs the repo or regen-repo permission) and returns the newRepo
// task to wait for with RepoTaskDone.
func (c *Client) NewRepo(ctx context.Context, buildTag string) (int64, error) {
	var id int64
	if err := c.CallInto(ctx, &id, "newRepo", buildTag); err != nil {
		return 0, err
	}
	return id, nil
}

// RepoTaskDone reports whether the newRepo task taskID has made the
// repository: true when it closed, false while it is active. A failed,
// canceled or unknown task is an error that is not CodeUnavailable, which
// tells the engine to start a new one.
func (c *Client) RepoTaskDone(ctx context.Context, taskID int64) (bool, error) {
	return c.TaskDone(ctx, taskID)
}

// TaskDone reports whether task taskID closed successfully (true) or is
// still active (false). A task that failed (with its fault, from
// getTaskResult), was canceled or is unknown to the hub is a CodeInternal
// error; transport problems stay CodeUnavailable.
// TasksDone is TaskDone for several tasks in one multicall: true when all
// are closed; the error of the first that failed or was canceled.
func (c *Client) TasksDone(ctx context.Context, taskIDs []int64) (bool, error) {
	calls := make([]xmlrpc.Call, len(taskIDs))
	for i, id := range taskIDs {
		calls[i] = xmlrpc.Call{Method: "getTaskInfo", Params: []any{id}}
	}
	res, err := c.Multicall(ctx, calls)
	if err != nil {
		return false, err
	}
	all := true
	for i, r := range res {
		if err := r.Err(); err != nil {
			return false, faultOf("getTaskInfo", err)
		}
		var info *taskRow
		if err := xmlrpc.Unmarshal(r.Value, &info); err != nil {
			return false, rida.Errorf(rida.CodeUnavailable, "koji getTaskInfo: unexpected reply: %v", err)
		}
		if info == nil {
			return false, rida.Errorf(rida.CodeInternal, "Koji has no task %d", taskIDs[i])
		}
		ts, err := TaskState(info.State)
		if err != nil {
			return false, err
		}
		switch ts {
		case rida.TaskClosed:
		case rida.TaskCanceled, rida.TaskFailed:
			// TaskDone says why.
			return c.TaskDone(ctx, taskIDs[i])
		default:
			all = false
		}
	}
	return all, nil
}

func (c *Client) TaskDone(ctx context.Context, taskID int64) (bool, error) {
	info, err := c.taskInfo(ctx, taskID)
	if err != nil {
		return false, err
	}
	if info == nil {
		return false, rida.Errorf(rida.CodeInternal, "Koji has no task %d", taskID)
	}
	ts, err := TaskState(info.State)
	if err != nil {
		return false, err
	}
	switch ts {
	case rida.TaskClosed:
		return true, nil
	case rida.TaskCanceled:
		return false, rida.Errorf(rida.CodeInternal, "Koji %s task %d was canceled", info.Method, taskID)
	case rida.TaskFailed:
		why := "no reason given"
		_, rerr := c.Call(ctx, "getTaskResult", taskID)
		if f, ok := rerr.(*FaultError); ok {
			why = f.Name() + ": " + f.String
		} else if rida.ErrorCodeOf(rerr) == rida.CodeUnavailable {
			return false, rerr
		}
		return false, rida.Errorf(rida.CodeInternal, "Koji %s task %d failed: %s", info.Method, taskID, why)
	}
	return false, nil
}
