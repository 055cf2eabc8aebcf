package kojitest

// The messages of Koji's protonmsg hub plugin (koji.md §4), so that tests
// can drive a consumer by messages as a real hub's broker would: the
// address without its topic_prefix is the rida.Message topic, the small
// props struct the application properties, and the JSON of the callback's
// keyword arguments the body.
//
// Messages are collected while the hub's mutex is held, at the point the
// state changes, and handed to the OnMessage hooks only after the mutex is
// released, as protonmsg queues during the request and sends in
// postCommit: a hook may call back into the hub. A call that fails drops
// the messages it queued, as its transaction (or a multicall's savepoint)
// rolls back.

import (
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/internal/xmlrpc"
)

var taskStateNames = []string{"FREE", "OPEN", "CLOSED", "CANCELED", "ASSIGNED", "FAILED"}

// messageLog is the hub's part for messages; FakeHub.mu guards it.
type messageLog struct {
	hooks   []func(rida.Message)
	sent    []rida.Message // delivered or being delivered, in commit order
	pending []rida.Message // queued by the changes not yet committed
	seq     int64
}

// OnMessage registers fn to receive every message the hub emits, after
// the state change it describes is visible through the API (protonmsg
// sends in postCommit). fn runs on the goroutine that changed state (the
// one serving the request, or the test calling the builder API) before
// that request is answered, and must not block for long; it may call the
// hub. Messages of concurrent requests may reach fn in any order, as from
// a real broker. fn must not modify the message. Several may be
// registered.
func (h *FakeHub) OnMessage(fn func(rida.Message)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.msgs.hooks = append(h.msgs.hooks, fn)
}

// Messages returns the messages emitted so far, in the order their
// changes committed (copies).
func (h *FakeHub) Messages() []rida.Message {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]rida.Message, len(h.msgs.sent))
	for i, m := range h.msgs.sent {
		out[i] = cloneMessage(m)
	}
	return out
}

func cloneMessage(m rida.Message) rida.Message {
	m.Body = append(json.RawMessage(nil), m.Body...)
	m.Properties = maps.Clone(m.Properties)
	return m
}

// unlock commits the queued messages, releases the mutex and then hands
// them to the hooks. It replaces h.mu.Unlock wherever the hub changes
// state.
func (h *FakeHub) unlock() {
	msgs := h.msgs.pending
	h.msgs.pending = nil
	h.msgs.sent = append(h.msgs.sent, msgs...)
	hooks := h.msgs.hooks
	h.mu.Unlock()
	for _, m := range msgs {
		for _, fn := range hooks {
			fn(cloneMessage(m))
		}
	}
}

// queued is a mark for dropMessages.
func (h *FakeHub) queued() int { return len(h.msgs.pending) }

// dropMessages forgets the messages queued after mark: the call that
// queued them failed.
func (h *FakeHub) dropMessages(mark int) {
	clear(h.msgs.pending[mark:])
	h.msgs.pending = h.msgs.pending[:mark]
}

// emit queues a message.
func (h *FakeHub) emit(address string, props map[string]any, body map[string]any) {
	h.msgs.seq++
	js, err := json.Marshal(jsonable(body))
	if err != nil { // the hub's values are all JSON's; say so rather than panic under the lock
		js, _ = json.Marshal(map[string]any{"kojitest_error": err.Error()})
	}
	h.msgs.pending = append(h.msgs.pending, rida.Message{
		ID:         "kojitest-" + strconv.FormatInt(h.msgs.seq, 10),
		Topic:      address,
		Body:       js,
		Properties: props,
		SentAt:     h.clock(),
	})
}

// jsonable turns the hub's XML-RPC values into what json.Marshal writes
// as Python's json.dumps would: structs as objects.
func jsonable(v any) any {
	switch x := v.(type) {
	case xmlrpc.Struct:
		m := make(map[string]any, len(x))
		for _, mb := range x {
			m[mb.Name] = jsonable(mb.Value)
		}
		return m
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = jsonable(e)
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonable(e)
		}
		return out
	}
	return v
}

// buildStateChanged queues build.<state> for b, now in state new (old is
// the previous state, nil for a new build). info is getBuild's struct with
// the state of this change: a build that goes BUILDING → COMPLETE in one
// call shows BUILDING in its first message.
func (h *FakeHub) buildStateChanged(b *build, old any, new int64) {
	info := h.buildStruct(b)
	info = setMember(info, "state", new)
	var oldName any
	if o, ok := old.(int64); ok {
		oldName = buildStateNames[o]
	}
	p := h.pkgs[b.pkgID]
	props := map[string]any{"type": "BuildStateChange", "name": p.name, "version": b.version, "release": b.release,
		"attribute": "state", "old": oldName, "new": buildStateNames[new]}
	h.emit("build."+strings.ToLower(buildStateNames[new]), props,
		map[string]any{"attribute": "state", "old": old, "new": new, "info": info, "btypes": h.buildTypes(b)})
}

// buildTypes is getBuildType's struct. Recorded as the hub records them:
// a CG import or a component build records its types after its state
// change, so its build.complete shows {} (koji.md §4's gotcha).
func (h *FakeHub) buildTypes(b *build) xmlrpc.Struct {
	out := xmlrpc.Struct{}
	for _, id := range b.btypes {
		name := h.btypeName(id)
		out = append(out, xmlrpc.Member{Name: name, Value: optKey(optKey(b.extra, "typeinfo"), name)})
	}
	return out
}

// taskCreated queues task.free for a new task. Its info is make_task's
// insert data: the request as XML text.
func (h *FakeHub) taskCreated(t *task) {
	req, _ := xmlrpc.EncodeCall(t.method, t.request...)
	info := map[string]any{"id": t.id, "state": t.state, "owner": t.owner, "method": t.method, "arch": t.arch,
		"priority": t.priority, "channel_id": t.channelID, "parent": t.parent, "label": nil, "request": string(req)}
	h.emitTask(t, nil, info)
}

// taskStateChanged queues task.<state> for t, now in its new state; old is
// the previous state. Its info is getTaskInfo(request=True), with the
// result of a finished task (a fault's XML for a FAILED one).
func (h *FakeHub) taskStateChanged(t *task, old int64) {
	info := h.taskInfo(t, true)
	switch t.state {
	case TaskClosed:
		info = append(info, xmlrpc.Member{Name: "result", Value: t.result})
	case TaskFailed:
		info = append(info, xmlrpc.Member{Name: "result", Value: t.xmlResult()})
	}
	h.emitTask(t, taskStateNames[old], info)
}

func (h *FakeHub) emitTask(t *task, old any, info any) {
	props := map[string]any{"type": "TaskStateChange", "id": t.id, "parent": t.parent, "method": t.method,
		"attribute": "state", "old": old, "new": taskStateNames[t.state]}
	h.emit("task."+strings.ToLower(taskStateNames[t.state]), props,
		map[string]any{"attribute": "state", "old": old, "new": taskStateNames[t.state], "info": info})
}

// tagged queues build.tag (postTag) or, with untag, build.untag (postUntag,
// whose body has strict too).
func (h *FakeHub) tagged(t *tag, b *build, u *user, force, untag, strict bool) {
	typ, address := "Tag", "build.tag"
	body := map[string]any{"tag": h.tagStruct(t, false), "build": h.buildStruct(b), "user": h.userStruct(u), "force": force}
	if untag {
		typ, address = "Untag", "build.untag"
		body["strict"] = strict
	}
	props := map[string]any{"type": typ, "tag": t.name, "name": h.pkgs[b.pkgID].name, "version": b.version,
		"release": b.release, "user": u.name}
	h.emit(address, props, body)
}

// repoInit queues repo.init (host.repoInit).
func (h *FakeHub) repoInit(r *repo, t *tag) {
	props := map[string]any{"type": "RepoInit", "tag": t.name, "repo_id": r.id, "task_id": r.taskID}
	h.emit("repo.init", props, map[string]any{"tag": h.tagStruct(t, false), "event": r.createEvent,
		"repo_id": r.id, "task_id": r.taskID, "opts": r.opts})
}

// repoDone queues repo.done (host.repoDone). Its repo struct is the one
// repoDone read before it made the repo READY: still INIT.
func (h *FakeHub) repoDone(r *repo) {
	info := setMember(h.repoStruct(r), "state", int64(RepoInit))
	tagName, _ := info.Get("tag_name")
	props := map[string]any{"type": "RepoDone", "tag": tagName, "repo_id": r.id, "task_id": r.taskID, "expire": false}
	h.emit("repo.done", props, map[string]any{"repo": info, "data": xmlrpc.Struct{}, "expire": false, "task_id": r.taskID})
}

// buildCreated queues the messages of new_build (or recycle_build; prev is
// the recycled build's state): build.building, and for a build made
// COMPLETE at once (a component build, a CG import without reservation)
// build.complete after it, as kojid's initBuild/completeBuild and
// CG_Importer's prep_build/import_build change state in two steps.
func (h *FakeHub) buildCreated(b *build, prev any) {
	if b.state == BuildComplete {
		h.buildStateChanged(b, prev, BuildBuilding)
		h.buildStateChanged(b, int64(BuildBuilding), BuildComplete)
		return
	}
	h.buildStateChanged(b, prev, b.state)
}

// StartBuild is kojid's host.initBuild for a build task: the task opens
// and the build nvr ("name-version-release") appears BUILDING, owned by
// the task, as it is while a real builder works. CompleteBuild then
// completes that build (build.complete only), FailTask fails it
// (build.failed) and cancelTask or cancelBuild cancel it. Without it a
// build task's build exists only once CompleteBuild made it. It returns
// the build's id.
func (h *FakeHub) StartBuild(taskID int64, nvrText string) (int64, error) {
	h.mu.Lock()
	defer h.unlock()
	t, err := h.runnable(taskID)
	if err != nil {
		return 0, err
	}
	if t.method != "build" {
		return 0, fmt.Errorf("kojitest: task %d is a %s task", taskID, t.method)
	}
	if truthy(optKey(t.request[2], "scratch")) {
		return 0, fmt.Errorf("kojitest: task %d is a scratch build, which makes no build", taskID)
	}
	n, herr := parseNVR(nvrText)
	if herr == nil {
		herr = checkNVR(n.version, n.release)
	}
	if herr != nil {
		return 0, herr
	}
	now := h.clock()
	d := buildData{name: n.name, version: n.version, release: n.release, state: BuildBuilding, taskID: t.id,
		owner: t.owner, source: pyStr(t.request[0]), start: &now, repr: pyRepr(nvrText)}
	if old := h.buildByNVR(n); old != nil {
		if herr := h.canRecycle(old, d); herr != nil {
			return 0, herr
		}
	}
	h.open(t)
	b, herr := h.builderCall(t).newBuild(d)
	if herr != nil {
		return 0, herr
	}
	return b.id, nil
}
