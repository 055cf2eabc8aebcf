package kojitest

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/rida-build/rida/internal/xmlrpc"
)

// Channels: builds and tagging run in "default", repos in "createrepo".
const (
	channelDefault    = 1
	channelCreaterepo = 2
	builderHost       = 1
)

type taskOpts struct {
	priority    int64 // PRIO_DEFAULT (20) unless setPriority
	setPriority bool
	channel     int64 // 0: default
}

// makeTask is make_task for a top-level task owned by the caller.
func (c *call) makeTask(method string, request []any, o taskOpts) int64 {
	h := c.h
	c.changed()
	if !o.setPriority {
		o.priority = 20
	}
	if o.channel == 0 {
		o.channel = channelDefault
	}
	t := &task{id: next(&h.seq.Task), state: TaskFree, create: h.clock(), channelID: o.channel, owner: c.user().id,
		method: method, arch: "noarch", priority: o.priority, weight: 1.0, request: request}
	h.tasks[t.id] = t
	h.taskCreated(t)
	return t.id
}

func (h *FakeHub) taskRow(t *task) row {
	return row{"arch": t.arch, "awaited": nil, "channel_id": t.channelID, "completion_time": pyTime(t.completion),
		"completion_ts": pyTS(t.completion), "create_time": pyTime(&t.create), "create_ts": pyTS(&t.create),
		"host_id": t.hostID, "id": t.id, "label": nil, "method": t.method, "owner": t.owner, "parent": t.parent,
		"priority": t.priority, "start_time": pyTime(t.start), "start_ts": pyTS(t.start), "state": t.state,
		"waiting": nil, "weight": t.weight}
}

func (h *FakeHub) taskInfo(t *task, request bool) xmlrpc.Struct {
	r := h.taskRow(t)
	if request {
		r["request"] = t.request
	}
	return r.sorted("request")
}

// children are a task's subtasks, by id.
func (h *FakeHub) children(t *task) []*task {
	var out []*task
	for _, o := range h.tasks {
		if o.parent == t.id {
			out = append(out, o)
		}
	}
	slices.SortFunc(out, func(a, b *task) int { return int(a.id - b.id) })
	return out
}

func (h *FakeHub) topTask(t *task) *task {
	for t.parent != nil {
		p := h.tasks[t.parent.(int64)]
		if p == nil {
			break
		}
		t = p
	}
	return t
}

func finished(state int64) bool {
	return state == TaskClosed || state == TaskCanceled || state == TaskFailed
}

// cancelTask is Task.cancel: an unfinished task becomes CANCELED, with
// the BUILDING builds it owns, and its children when recurse.
func (c *call) cancelTask(t *task, recurse bool) {
	if finished(t.state) {
		return
	}
	c.changed()
	old := t.state
	t.state, t.completion = TaskCanceled, ptr(c.h.clock())
	c.h.taskStateChanged(t, old)
	for _, b := range c.h.builds {
		if equalValues(b.taskID, t.id) && b.state == BuildBuilding {
			c.cancelBuild(b, false)
		}
	}
	if recurse {
		for _, ch := range c.h.children(t) {
			c.cancelTask(ch, true)
		}
	}
}

// taskResult is the decoded result of a finished task: [value], or the
// fault struct of a failed one.
func (t *task) decodedResult() any {
	switch {
	case t.fault != nil:
		return ordered("faultCode", int64(t.fault.Code), "faultString", t.fault.String)
	case t.state == TaskClosed:
		return []any{t.result}
	}
	return nil
}

func (t *task) xmlResult() any {
	var out []byte
	switch {
	case t.fault != nil:
		out, _ = xmlrpc.EncodeFault(t.fault.Code, t.fault.String)
	case t.state == TaskClosed:
		out, _ = xmlrpc.EncodeResponse(t.result)
	default:
		return nil
	}
	return string(out)
}

func (h *FakeHub) taskArg(v any) (*task, *hubErr) {
	id, err := toInt(v)
	if err != nil {
		return nil, err
	}
	return h.tasks[id], nil
}

func (h *FakeHub) channelArg(v any) (int64, *hubErr) {
	switch v {
	case "default", int64(channelDefault):
		return channelDefault, nil
	case "createrepo", int64(channelCreaterepo):
		return channelCreaterepo, nil
	}
	return 0, genericErr("No such channel: %s", pyStr(v))
}

func (h *FakeHub) registerTasks() {
	h.def("RootExports.build(src, target, opts=None, priority=None, channel=None)", "build", func(c *call, a args) (any, *hubErr) {
		if err := c.assertLogin(); err != nil {
			return nil, err
		}
		opts := a.get("opts")
		if !truthy(opts) {
			opts = xmlrpc.Struct{}
		}
		if _, err := checkStr(a.get("src")); err != nil {
			return nil, err
		}
		var o taskOpts
		if p := a.get("priority"); truthy(p) {
			n, err := toInt(p)
			if err != nil {
				return nil, err
			}
			if n < 0 && !c.hasPerm("admin") {
				return nil, notAllowed("only admins may create high-priority tasks")
			}
			o.priority, o.setPriority = 20+n, true
		}
		if ch := a.get("channel"); truthy(ch) {
			id, err := c.h.channelArg(ch)
			if err != nil {
				return nil, err
			}
			o.channel = id
		}
		return c.makeTask("build", []any{a.get("src"), a.get("target"), opts}, o), nil
	})
	h.def("RootExports.getTaskInfo(task_id, request=False, strict=False)", "getTaskInfo", func(c *call, a args) (any, *hubErr) {
		one := func(v any) (any, *hubErr) {
			t, err := c.h.taskArg(v)
			if err != nil {
				return nil, err
			}
			if t == nil {
				if a.bool("strict") {
					return nil, genericErr("query returned no rows")
				}
				return nil, nil
			}
			return c.h.taskInfo(t, a.bool("request")), nil
		}
		if list, ok := a.get("task_id").([]any); ok {
			out := make([]any, len(list))
			for i, v := range list {
				r, err := one(v)
				if err != nil {
					return nil, err
				}
				out[i] = r
			}
			return out, nil
		}
		return one(a.get("task_id"))
	})
	h.def("RootExports.getTaskChildren(task_id, request=False, strict=False)", "getTaskChildren", func(c *call, a args) (any, *hubErr) {
		t, err := c.h.taskArg(a.get("task_id"))
		if err != nil {
			return nil, err
		}
		if t == nil {
			if a.bool("strict") {
				return nil, genericErr("query returned no rows")
			}
			return []any{}, nil
		}
		out := []any{}
		for _, ch := range c.h.children(t) {
			out = append(out, c.h.taskInfo(ch, a.bool("request")))
		}
		return out, nil
	})
	h.def("RootExports.getTaskDescendents(task_id, request=False)", "getTaskDescendents", func(c *call, a args) (any, *hubErr) {
		id, err := toInt(a.get("task_id"))
		if err != nil {
			return nil, err
		}
		out := xmlrpc.Struct{}
		var walk func(id int64)
		walk = func(id int64) {
			kids := []any{}
			var ids []int64
			if t := c.h.tasks[id]; t != nil {
				for _, ch := range c.h.children(t) {
					kids = append(kids, c.h.taskInfo(ch, a.bool("request")))
					ids = append(ids, ch.id)
				}
			}
			out = append(out, xmlrpc.Member{Name: strconv.FormatInt(id, 10), Value: kids})
			for _, k := range ids {
				walk(k)
			}
		}
		walk(id)
		return out, nil
	})
	h.def("RootExports.getTaskResult(taskId, raise_fault=True)", "getTaskResult", func(c *call, a args) (any, *hubErr) {
		t, err := c.h.taskArg(a.get("taskId"))
		if err != nil {
			return nil, err
		}
		switch {
		case t == nil:
			return nil, genericErr("No such task")
		case t.state == TaskCanceled:
			return nil, genericErr("Task %d is canceled", t.id)
		case t.state != TaskClosed && t.state != TaskFailed:
			return nil, genericErr("Task %d is not finished", t.id)
		case t.fault != nil && a.bool("raise_fault"):
			return nil, &hubErr{code: t.fault.Code, msg: t.fault.String}
		case t.fault != nil:
			return t.decodedResult(), nil
		}
		return t.result, nil
	})
	h.def("RootExports.getTaskRequest(taskId)", "getTaskRequest", func(c *call, a args) (any, *hubErr) {
		t, err := c.h.taskArg(a.get("taskId"))
		if err != nil {
			return nil, err
		}
		if t == nil {
			return nil, genericErr("query returned no rows")
		}
		return t.request, nil
	})
	h.def("RootExports.taskFinished(taskId)", "taskFinished", func(c *call, a args) (any, *hubErr) {
		t, err := c.h.taskArg(a.get("taskId"))
		if err != nil {
			return nil, err
		}
		if t == nil {
			return nil, genericErr("query returned no rows")
		}
		return finished(t.state), nil
	})
	h.def("RootExports.cancelTask(task_id, recurse=True)", "cancelTask", func(c *call, a args) (any, *hubErr) {
		t, err := c.h.taskArg(a.get("task_id"))
		if err != nil {
			return nil, err
		}
		if err := c.taskOwner(t, a.get("task_id")); err != nil {
			return nil, err
		}
		c.cancelTask(t, a.bool("recurse"))
		return nil, nil
	})
	h.def("RootExports.cancelTaskChildren(task_id)", "cancelTaskChildren", func(c *call, a args) (any, *hubErr) {
		if err := c.assertLogin(); err != nil {
			return nil, err
		}
		t, err := c.h.taskArg(a.get("task_id"))
		if err != nil {
			return nil, err
		}
		if err := c.taskOwner(t, a.get("task_id")); err != nil {
			return nil, err
		}
		for _, ch := range c.h.children(t) {
			c.cancelTask(ch, true)
		}
		return nil, nil
	})
	h.def("RootExports.listTasks(opts=None, queryOpts=None)", "listTasks", h.listTasks)
	h.def("RootExports.newRepo(tag, event=None, src=False, debuginfo=False, separate_src=False)", "newRepo", func(c *call, a args) (any, *hubErr) {
		if !c.hasPerm("regen-repo") {
			if err := c.assertPerm("repo"); err != nil {
				return nil, err
			}
		}
		if _, err := c.h.getTag(a.get("tag"), true); err != nil {
			return nil, err
		}
		req := []any{a.get("tag")}
		var kw xmlrpc.Struct
		if ev := a.get("event"); ev != nil {
			kw = append(kw, xmlrpc.Member{Name: "event", Value: ev})
		}
		for _, k := range []string{"src", "separate_src", "debuginfo"} {
			if a.bool(k) {
				kw = append(kw, xmlrpc.Member{Name: k, Value: true})
			}
		}
		if kw != nil {
			req = append(req, append(kw, xmlrpc.Member{Name: "__starstar", Value: true}))
		}
		return c.makeTask("newRepo", req, taskOpts{priority: 15, setPriority: true, channel: channelCreaterepo}), nil
	})
	h.def("RootExports.getRepo(tag, state=None, event=None, dist=False, min_event=None)", "getRepo", func(c *call, a args) (any, *hubErr) {
		h := c.h
		tagID, ok := isInt(a.get("tag"))
		if !ok {
			t, err := h.lookupTagStrict(a.get("tag"))
			if err != nil {
				return nil, err
			}
			tagID = t.id
		}
		var best *repo
		ev, _ := isInt(a.get("event"))
		minEv, _ := isInt(a.get("min_event"))
		for _, r := range h.repos {
			if r.tagID != tagID || a.bool("dist") {
				continue
			}
			if ev != 0 {
				if r.createEvent > ev {
					continue
				}
			} else {
				state := a.get("state")
				if state == nil {
					state = int64(RepoReady)
				}
				if !equalValues(state, r.state) || (minEv != 0 && r.createEvent < minEv) {
					continue
				}
			}
			if best == nil || r.createEvent > best.createEvent || (r.createEvent == best.createEvent && r.id > best.id) {
				best = r
			}
		}
		if best == nil {
			return nil, nil
		}
		return h.repoStruct(best), nil
	})
	h.def("RootExports.repoInfo(repo_id, strict=False)", "repoInfo", func(c *call, a args) (any, *hubErr) {
		id, err := toInt(a.get("repo_id"))
		if err != nil {
			return nil, err
		}
		r := c.h.repos[id]
		if r == nil {
			if a.bool("strict") {
				return nil, genericErr("query returned no rows")
			}
			return nil, nil
		}
		return c.h.repoStruct(r), nil
	})
}

// taskOwner is cancelTask's check: the owner, the host or an admin.
func (c *call) taskOwner(t *task, id any) *hubErr {
	u := c.user()
	if u != nil && t == nil {
		n, _ := toInt(id)
		return genericErr("No such task: %d", n)
	}
	if u != nil && t.owner == u.id {
		return nil
	}
	if !c.hasPerm("admin") {
		return notAllowed("Cannot cancel task, not owner")
	}
	if t == nil {
		n, _ := toInt(id)
		return genericErr("No such task: %d", n)
	}
	return nil
}

func (h *FakeHub) repoStruct(r *repo) xmlrpc.Struct {
	var taskState any
	if id, ok := r.taskID.(int64); ok && h.tasks[id] != nil {
		taskState = h.tasks[id].state
	}
	var tagName any
	if t := h.tags[r.tagID]; t != nil {
		tagName = t.name
	}
	return row{"begin_event": r.beginEvent, "begin_ts": pyTS(h.eventTime(r.beginEvent)), "create_event": r.createEvent,
		"create_ts": pyTS(h.eventTime(r.createEvent)), "creation_time": pyTime(&r.created), "creation_ts": pyTS(&r.created),
		"custom_opts": r.customOpts, "dist": false, "end_event": nil, "end_ts": nil, "id": r.id, "opts": r.opts,
		"state": r.state, "state_time": pyTime(&r.stateTime), "state_ts": pyTS(&r.stateTime), "tag_id": r.tagID,
		"tag_name": tagName, "task_id": r.taskID, "task_state": taskState}.sorted()
}

func (h *FakeHub) listTasks(c *call, a args) (any, *hubErr) {
	q, err := parseQueryOpts(a.get("queryOpts"))
	if err != nil {
		return nil, err
	}
	opts := a.get("opts")
	if opts != nil {
		if _, ok := opts.(xmlrpc.Struct); !ok {
			return nil, pyErr("AttributeError", "'"+pyTypeName(opts)+"' object has no attribute 'get'", "'"+pyTypeName(opts)+"' object has no attribute 'get'")
		}
	}
	in := func(want, v any) bool {
		if l, ok := want.([]any); ok {
			return slices.ContainsFunc(l, func(x any) bool { return equalValues(x, v) })
		}
		return equalValues(want, v)
	}
	decode := truthy(optKey(opts, "decode"))
	var rows []xmlrpc.Struct
	ids := make([]int64, 0, len(h.tasks))
	for id := range h.tasks {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		t := h.tasks[id]
		fields := map[string]any{"arch": t.arch, "state": t.state, "owner": t.owner, "host_id": t.hostID,
			"channel_id": t.channelID, "parent": t.parent}
		skip := false
		for name, v := range fields {
			if hasKey(opts, name) {
				want := optKey(opts, name)
				if want == nil {
					skip = skip || v != nil
				} else {
					skip = skip || !in(want, v)
				}
			}
			if hasKey(opts, "not_"+name) {
				want := optKey(opts, "not_"+name)
				if want == nil {
					skip = skip || v == nil
				} else {
					skip = skip || in(want, v)
				}
			}
		}
		if m := optKey(opts, "method"); hasKey(opts, "method") && m != t.method {
			skip = true
		}
		for _, tf := range []struct {
			key string
			at  *time.Time
			lt  bool
		}{{"createdBefore", &t.create, true}, {"createdAfter", &t.create, false}, {"startedBefore", t.start, true},
			{"startedAfter", t.start, false}, {"completeBefore", t.completion, true}, {"completeAfter", t.completion, false},
			{"completedBefore", t.completion, true}, {"completedAfter", t.completion, false}} {
			v := optKey(opts, tf.key)
			if v == nil {
				continue
			}
			limit, ok := timeArg(v)
			if !ok || tf.at == nil || (tf.lt && !tf.at.Before(limit)) || (!tf.lt && !tf.at.After(limit)) {
				skip = true
			}
		}
		if skip {
			continue
		}
		r := h.taskRow(t)
		r["owner_name"], r["owner_type"] = h.users[t.owner].name, h.users[t.owner].usertype
		if decode {
			r["request"], r["result"] = t.request, t.decodedResult()
		} else {
			reqXML, _ := xmlrpc.EncodeCall(t.method, t.request...)
			r["request"], r["result"] = string(reqXML), t.xmlResult()
		}
		rows = append(rows, r.sorted())
	}
	return q.apply(rows), nil
}

// --- the builder: test API ---

// Task is a task as a test sees it.
type Task struct {
	ID       int64
	Parent   int64 // 0 for a top-level task
	Method   string
	State    int
	Owner    string
	Priority int64
	// Request are the task's parameters (build: [src, target, opts]).
	Request []any
	// Result is what a CLOSED task returned; Fault why a FAILED one failed.
	Result any
	Fault  *xmlrpc.Fault
}

func (h *FakeHub) publicTask(t *task) Task {
	var parent int64
	if p, ok := t.parent.(int64); ok {
		parent = p
	}
	return Task{ID: t.id, Parent: parent, Method: t.method, State: int(t.state), Owner: h.users[t.owner].name,
		Priority: t.priority, Request: t.request, Result: t.result, Fault: t.fault}
}

// Task returns a task.
func (h *FakeHub) Task(id int64) (Task, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.tasks[id]
	if t == nil {
		return Task{}, false
	}
	return h.publicTask(t), true
}

// Tasks returns the tasks of a method ("" for all) in the given states
// (all states when none), by id.
func (h *FakeHub) Tasks(method string, states ...int) []Task {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []Task
	for _, t := range h.sortedTasks() {
		if (method == "" || t.method == method) && (len(states) == 0 || slices.Contains(states, int(t.state))) {
			out = append(out, h.publicTask(t))
		}
	}
	return out
}

func (h *FakeHub) sortedTasks() []*task {
	out := make([]*task, 0, len(h.tasks))
	for _, t := range h.tasks {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *task) int { return int(a.id - b.id) })
	return out
}

// BuildResult is how a build task ends for CompleteBuild (or an
// Options.Builder).
type BuildResult struct {
	// NVR of the build the task made ("name-version-release").
	NVR   string
	Epoch *int64
	// RPMs of the build; Name, Version and Release default to the build's.
	RPMs []RPM
	// Source is the build's source; the task's src when empty.
	Source string
	// TaskResult is what the build task returns (kojid's returns nil).
	TaskResult any
}

// RPM is an rpm of a build.
type RPM struct {
	Name, Version, Release, Arch string
	Epoch                        *int64
	PayloadHash                  string
	Size, BuildTime              int64
	// Headers are what getRPMHeaders reads from the rpm file, by lower-case
	// name ("license", "exclusivearch", ...); without them the hub acts as
	// if the file were missing.
	Headers map[string]any
}

var errNotRunnable = errors.New("kojitest: task is not FREE, ASSIGNED or OPEN")

// builderCall is the context of the builder's hub actions for a task: its
// owner acts.
func (h *FakeHub) builderCall(t *task) *call {
	return &call{h: h, sess: &session{userID: t.owner}, loggedIn: true, method: "host." + t.method}
}

func (h *FakeHub) runnable(id int64) (*task, error) {
	t := h.tasks[id]
	if t == nil {
		return nil, fmt.Errorf("kojitest: no task %d", id)
	}
	if finished(t.state) {
		return nil, fmt.Errorf("%w: task %d is %d", errNotRunnable, id, t.state)
	}
	return t, nil
}

// StartTask opens a task on the builder host (FREE → OPEN).
func (h *FakeHub) StartTask(id int64) error {
	h.mu.Lock()
	defer h.unlock()
	t, err := h.runnable(id)
	if err != nil {
		return err
	}
	h.open(t)
	return nil
}

func (h *FakeHub) open(t *task) {
	if t.state != TaskOpen {
		old := t.state
		t.state, t.hostID, t.start = TaskOpen, int64(builderHost), ptr(h.clock())
		h.taskStateChanged(t, old)
	}
}

func (h *FakeHub) closeTask(t *task, result any) {
	h.open(t)
	t.state, t.result, t.completion = TaskClosed, result, ptr(h.clock())
	h.taskStateChanged(t, TaskOpen)
}

// CloseTask ends a task successfully with result.
func (h *FakeHub) CloseTask(id int64, result any) error {
	h.mu.Lock()
	defer h.unlock()
	t, err := h.runnable(id)
	if err != nil {
		return err
	}
	h.closeTask(t, result)
	return nil
}

// FailTask ends a task with a fault (kojid stores the exception, e.g.
// code 1005 BuildError); the BUILDING builds it owns become FAILED.
func (h *FakeHub) FailTask(id int64, code int, msg string) error {
	h.mu.Lock()
	defer h.unlock()
	t, err := h.runnable(id)
	if err != nil {
		return err
	}
	h.failTask(t, code, msg)
	return nil
}

func (h *FakeHub) failTask(t *task, code int, msg string) {
	h.open(t)
	t.state, t.completion, t.fault = TaskFailed, ptr(h.clock()), &xmlrpc.Fault{Code: code, String: msg}
	for _, b := range h.builds {
		if equalValues(b.taskID, t.id) && b.state == BuildBuilding {
			b.state, b.completion = BuildFailed, ptr(h.clock())
			h.buildStateChanged(b, int64(BuildBuilding), BuildFailed)
		}
	}
	// kojid fails the build (host.failBuild) before its task
	h.taskStateChanged(t, TaskOpen)
}

// CompleteBuild ends a build task successfully: the build NVR becomes
// COMPLETE (owned by the task's owner, task_id the task, source its src)
// with its rpms, and the task CLOSED. Unless the task's opts say
// skip_tag or scratch, the build is tagged into the target's destination
// tag as kojid's tagBuild subtask would. A scratch build makes no build.
func (h *FakeHub) CompleteBuild(taskID int64, r BuildResult) (int64, error) {
	h.mu.Lock()
	defer h.unlock()
	return h.completeBuild(taskID, r)
}

func (h *FakeHub) completeBuild(taskID int64, r BuildResult) (int64, error) {
	t, err := h.runnable(taskID)
	if err != nil {
		return 0, err
	}
	if t.method != "build" {
		return 0, fmt.Errorf("kojitest: task %d is a %s task", taskID, t.method)
	}
	opts := t.request[2]
	if truthy(optKey(opts, "scratch")) {
		h.closeTask(t, r.TaskResult)
		return 0, nil
	}
	n, herr := parseNVR(r.NVR)
	if herr == nil {
		herr = checkNVR(n.version, n.release)
	}
	if herr != nil {
		return 0, herr
	}
	src := r.Source
	if src == "" {
		src = pyStr(t.request[0])
	}
	c := h.builderCall(t)
	now := h.clock()
	d := buildData{name: n.name, version: n.version, release: n.release, state: BuildComplete, taskID: t.id,
		owner: t.owner, source: src, start: &now, completion: &now, repr: pyRepr(r.NVR)}
	if r.Epoch != nil {
		d.epoch = *r.Epoch
	}
	old := h.buildByNVR(n)
	reuse := old != nil && old.state == BuildBuilding && equalValues(old.taskID, t.id)
	if old != nil && !reuse {
		if herr := h.canRecycle(old, d); herr != nil {
			return 0, herr
		}
	}
	h.open(t) // before the build's messages, as kojid opens the task first
	if reuse {
		old.state, old.completion, old.source = BuildComplete, &now, src
		h.buildStateChanged(old, int64(BuildBuilding), BuildComplete)
	} else if _, herr := c.newBuild(d); herr != nil {
		return 0, herr
	}
	b := h.buildByNVR(n)
	rpmBT := h.btypeByName("rpm")
	if rpmBT != nil {
		b.addBType(rpmBT.id)
	}
	for _, rp := range r.RPMs {
		x := &rpm{id: next(&h.seq.RPM), buildID: b.id, name: rp.Name, version: rp.Version, release: rp.Release,
			arch: rp.Arch, payloadhash: rp.PayloadHash, size: rp.Size, buildtime: rp.BuildTime, headers: rp.Headers}
		if x.name == "" {
			x.name = n.name
		}
		if x.version == "" {
			x.version = n.version
		}
		if x.release == "" {
			x.release = n.release
		}
		if rp.Epoch != nil {
			x.epoch = *rp.Epoch
		}
		h.rpms = append(h.rpms, x)
	}
	if !truthy(optKey(opts, "skip_tag")) {
		if tg, _ := h.buildTargets(t.request[1], nil, nil); len(tg) == 1 {
			if dest := h.tags[tg[0].destTag]; dest != nil {
				if herr := c.tagDirect(dest, b, h.users[t.owner], false); herr != nil {
					h.failTask(t, herr.code, herr.faultString())
					return b.id, nil
				}
			}
		}
	}
	h.closeTask(t, r.TaskResult)
	return b.id, nil
}

// RunTask runs a task as the builder would: a tagBuild task tags (or
// fails with the hub's error), a newRepo task makes a READY repo of the
// tag (result [repo_id, event_id]), a build task ends as Options.Builder
// decides.
func (h *FakeHub) RunTask(id int64) error {
	h.mu.Lock()
	defer h.unlock()
	return h.runTask(id)
}

func (h *FakeHub) runTask(id int64) error {
	t, err := h.runnable(id)
	if err != nil {
		return err
	}
	switch t.method {
	case "tagBuild":
		h.runTagTask(t)
	case "newRepo":
		h.runRepoTask(t)
	case "build":
		if h.opts.Builder == nil {
			return fmt.Errorf("kojitest: task %d is a build: use CompleteBuild or FailTask, or set Options.Builder", id)
		}
		pub := h.publicTask(t)
		h.unlock()
		r, err := h.opts.Builder(pub)
		h.mu.Lock()
		if err != nil {
			h.failTask(t, codeBuild, err.Error())
			return nil
		}
		_, err = h.completeBuild(id, r)
		return err
	default:
		h.closeTask(t, nil)
	}
	return nil
}

func (h *FakeHub) runTagTask(t *task) {
	h.open(t) // before the tagging's messages, as kojid opens the task first
	c := h.builderCall(t)
	tagID, _ := isInt(t.request[0])
	buildID, _ := isInt(t.request[1])
	force := truthy(t.request[2])
	tg, b, u := h.tags[tagID], h.builds[buildID], h.users[t.owner]
	var herr *hubErr
	switch {
	case tg == nil || !tg.active:
		herr = genericErr("No such tagInfo: %d", tagID)
	case b == nil:
		herr = genericErr("No such build: %d", buildID)
	}
	if herr == nil && t.request[3] != nil {
		if from := h.tags[t.request[3].(int64)]; from != nil {
			herr = c.untagDirect(from, b, u, true, force)
		}
	}
	if herr == nil {
		herr = h.tagAccess(tg, u, force)
	}
	if herr == nil {
		herr = c.tagDirect(tg, b, u, force)
	}
	if herr != nil {
		h.failTask(t, herr.code, herr.faultString())
		return
	}
	h.closeTask(t, nil)
}

func (h *FakeHub) runRepoTask(t *task) {
	tg, _ := h.getTag(t.request[0], false)
	if tg == nil {
		h.failTask(t, codeGeneric, "No such tagInfo: "+pyRepr(t.request[0]))
		return
	}
	opts := ordered("src", false, "maven", false, "debuginfo", false, "separate_src", false)
	custom := xmlrpc.Struct{}
	if len(t.request) > 1 {
		if kw, ok := t.request[1].(xmlrpc.Struct); ok {
			for _, m := range kw {
				if m.Name == "__starstar" || m.Name == "event" {
					continue
				}
				custom = append(custom, m)
				for i := range opts {
					if opts[i].Name == m.Name {
						opts[i].Value = truthy(m.Value)
					}
				}
			}
		}
	}
	h.open(t)
	begin := int64(0)
	for _, id := range h.inheritedTags(tg.id) {
		if o := h.tags[id]; o != nil && o.lastChange > begin {
			begin = o.lastChange
		}
	}
	now := h.clock()
	ev := h.newEvent()
	for _, r := range h.repos {
		if r.tagID == tg.id && r.state == RepoReady && r.createEvent < ev {
			r.state, r.stateTime = RepoExpired, now
		}
	}
	r := &repo{id: next(&h.seq.Repo), tagID: tg.id, state: RepoReady, created: now, stateTime: now,
		createEvent: ev, beginEvent: begin, taskID: t.id, opts: opts, customOpts: custom}
	h.repos[r.id] = r
	h.repoInit(r, tg)
	h.repoDone(r)
	h.closeTask(t, []any{r.id, ev})
}

// RunTasks runs every unfinished task it can (tagBuild, newRepo, and
// build with an Options.Builder), oldest first, and returns how many.
func (h *FakeHub) RunTasks() (int, error) {
	h.mu.Lock()
	defer h.unlock()
	return h.runTasksFrom(0)
}

func (h *FakeHub) runTasksFrom(first int64) (int, error) {
	n := 0
	for _, t := range h.sortedTasks() {
		if t.id < first || finished(t.state) || (t.method == "build" && h.opts.Builder == nil) {
			continue
		}
		if err := h.runTask(t.id); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

func (h *FakeHub) autoRun(first int64) {
	h.runTasksFrom(first)
}
