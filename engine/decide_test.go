package engine

import (
	"strings"
	"testing"
	"time"

	"github.com/rida-build/rida"
)

// cb is a component build fixture: id, package, batch, state, task id.
func cb(id int64, pkg string, batch int, state rida.ComponentState, task int64) *rida.ComponentBuild {
	return &rida.ComponentBuild{ID: id, Package: pkg, Batch: batch, State: state, TaskID: task, Rev: 1, Weight: 1.5}
}

func TestDecide(t *testing.T) {
	const (
		W = rida.ComponentWaiting
		B = rida.ComponentBuilding
		C = rida.ComponentComplete
		F = rida.ComponentFailed
		X = rida.ComponentCanceled
	)
	l := limits{global: 4, perModule: 0, poll: 10 * time.Second, slotRetry: 2 * time.Second}
	build := func(state rida.ModuleState, batch int, comps ...*rida.ComponentBuild) *rida.ModuleBuild {
		return &rida.ModuleBuild{ID: 7, State: state, Batch: batch, Rev: 3, Components: comps, StateReason: "Canceled by bob."}
	}
	macros := func(s rida.ComponentState, task int64) *rida.ComponentBuild { return cb(1, MacrosPackage, 1, s, task) }
	type want struct {
		kind     actionKind
		after    time.Duration
		comps    []string // packages of action.components, in order
		batch    int
		reason   string // substring
		resubmit bool
		trans    []rida.ComponentState
	}
	cases := []struct {
		name   string
		o      observation
		limits *limits
		want   want
	}{
		{"init records", observation{build: build(rida.ModuleInit, 0)}, nil, want{kind: actRecord}},
		{"wait prepares", observation{build: build(rida.ModuleWait, 0, macros(W, 0))}, nil, want{kind: actPrepare}},
		{"wait of a componentless build prepares", observation{build: build(rida.ModuleWait, 0)}, nil, want{kind: actPrepare}},
		{"resumed: failed and canceled reset first", observation{build: build(rida.ModuleWait, 2,
			macros(C, 1), cb(2, "a", 2, F, 2), cb(3, "b", 2, X, 3), cb(4, "c", 2, C, 4))}, nil,
			want{kind: actResetComponents, comps: []string{"a", "b"}}},
		{"resumed while building: cancel first", observation{build: build(rida.ModuleWait, 2,
			macros(C, 1), cb(2, "a", 2, B, 2), cb(3, "b", 2, F, 3))}, nil,
			want{kind: actCancelComponents, comps: []string{"a"}}},
		{"build without components finalizes", observation{build: build(rida.ModuleBuilding, 1)}, nil, want{kind: actFinalize}},
		{"batch 1 submits macros", observation{build: build(rida.ModuleBuilding, 1, macros(W, 0), cb(2, "a", 2, W, 0))}, nil,
			want{kind: actSubmit, comps: []string{MacrosPackage}}},
		{"macros running: wait a poll", observation{build: build(rida.ModuleBuilding, 1, macros(B, 11), cb(2, "a", 2, W, 0)),
			tasks: map[int64]Task{1: {ID: 11, State: B}}}, nil, want{kind: actWait, after: 10 * time.Second}},
		{"macros ended: record it", observation{build: build(rida.ModuleBuilding, 1, macros(B, 11)),
			tasks: map[int64]Task{1: {ID: 11, State: C, NVR: "module-build-macros-0.1-1.module+1+abc"}}}, nil,
			want{kind: actRecordTasks, trans: []rida.ComponentState{C}}},
		{"macros failed: module fails at once", observation{build: build(rida.ModuleBuilding, 1, func() *rida.ComponentBuild {
			c := macros(F, 11)
			c.StateReason = "Failed to build artifact module-build-macros: rpmbuild -bs failed, see /w/logs/module-build-macros.log"
			return c
		}())}, nil, want{kind: actFail, reason: "Component(s) module-build-macros failed to build. module-build-macros: Failed to build artifact module-build-macros: rpmbuild -bs failed, see /w/logs/module-build-macros.log."}},
		{"batch complete: tag and regenerate", observation{build: build(rida.ModuleBuilding, 1, macros(C, 11), cb(2, "a", 3, W, 0))}, nil,
			want{kind: actStartRepo, comps: []string{MacrosPackage}, batch: 3}},
		{"repo pending: wait", observation{build: func() *rida.ModuleBuild {
			m := build(rida.ModuleBuilding, 1, macros(C, 11), cb(2, "a", 2, W, 0))
			m.NewRepoTaskID = 99
			return m
		}()}, nil, want{kind: actWait, after: 10 * time.Second}},
		{"repo ready: next batch", observation{build: func() *rida.ModuleBuild {
			m := build(rida.ModuleBuilding, 1, macros(C, 11), cb(2, "a", 2, W, 0))
			m.NewRepoTaskID = 99
			return m
		}(), repoReady: true}, nil, want{kind: actNextBatch, batch: 2}},
		{"heaviest first within the free slots", observation{build: build(rida.ModuleBuilding, 2, macros(C, 11),
			cb(2, "a", 2, W, 0), func() *rida.ComponentBuild { c := cb(3, "b", 2, W, 0); c.Weight = 3; return c }(),
			cb(4, "c", 2, W, 0)), buildingComponents: 2, buildingModules: 1}, nil,
			want{kind: actSubmit, comps: []string{"b", "a"}}},
		{"global limit reached: wait for a slot", observation{build: build(rida.ModuleBuilding, 2, macros(C, 11),
			cb(2, "a", 2, W, 0)), buildingComponents: 4, buildingModules: 3}, nil, want{kind: actWait, after: 2 * time.Second}},
		{"fair share: two modules, limit 2, one slot each", observation{build: build(rida.ModuleBuilding, 2, macros(C, 11),
			cb(2, "a", 2, B, 21), cb(3, "b", 2, W, 0)), tasks: map[int64]Task{2: {ID: 21, State: B}},
			buildingComponents: 1, buildingModules: 2}, &limits{global: 2, poll: time.Second, slotRetry: time.Second},
			want{kind: actWait, after: time.Second}},
		{"fair share: alone, the whole limit", observation{build: build(rida.ModuleBuilding, 2, macros(C, 11),
			cb(2, "a", 2, B, 21), cb(3, "b", 2, W, 0)), tasks: map[int64]Task{2: {ID: 21, State: B}},
			buildingComponents: 1, buildingModules: 1}, &limits{global: 2, poll: time.Second, slotRetry: time.Second},
			want{kind: actSubmit, comps: []string{"b"}}},
		{"per-module limit", observation{build: build(rida.ModuleBuilding, 2, macros(C, 11),
			cb(2, "a", 2, B, 21), cb(3, "b", 2, W, 0)), tasks: map[int64]Task{2: {ID: 21, State: B}},
			buildingComponents: 1, buildingModules: 1}, &limits{global: 10, perModule: 1, poll: time.Second, slotRetry: time.Second},
			want{kind: actWait, after: time.Second}},
		{"unlimited", observation{build: build(rida.ModuleBuilding, 2, macros(C, 11),
			cb(2, "a", 2, W, 0), cb(3, "b", 2, W, 0)), buildingComponents: 1000, buildingModules: 50}, &limits{poll: time.Second},
			want{kind: actSubmit, comps: []string{"a", "b"}}},
		{"a failure waits for the batch's running builds", observation{build: build(rida.ModuleBuilding, 2, macros(C, 11),
			cb(2, "a", 2, F, 21), cb(3, "b", 2, B, 22), cb(4, "c", 2, W, 0)), tasks: map[int64]Task{3: {ID: 22, State: B}}}, nil,
			want{kind: actWait, after: 10 * time.Second}},
		{"a failure, nothing running: module fails naming them", observation{build: build(rida.ModuleBuilding, 2, macros(C, 11),
			func() *rida.ComponentBuild {
				c := cb(2, "b", 2, F, 21)
				c.StateReason = "Failed to build artifact b: rpmbuild --rebuild failed, see /w/results/logs/b.log"
				return c
			}(), cb(3, "a", 2, X, 22), cb(4, "c", 2, C, 23))}, nil,
			want{kind: actFail, reason: "Component(s) a, b failed to build. b: Failed to build artifact b: rpmbuild --rebuild failed, see /w/results/logs/b.log."}},
		{"ended builds recorded whatever else", observation{build: build(rida.ModuleBuilding, 2, macros(C, 11),
			cb(2, "a", 2, B, 21), cb(3, "b", 2, B, 22)), tasks: map[int64]Task{2: {ID: 21, State: F, Reason: "boom"}, 3: {ID: 22, State: B}}}, nil,
			want{kind: actRecordTasks, trans: []rida.ComponentState{F}}},
		{"an ended build frees its slot: record it and submit the next in one step", observation{build: build(rida.ModuleBuilding, 2, macros(C, 11),
			cb(2, "a", 2, B, 21), cb(3, "b", 2, W, 0)), tasks: map[int64]Task{2: {ID: 21, State: C, NVR: "a-1-1"}},
			buildingComponents: 1, buildingModules: 1}, &limits{global: 1, poll: time.Second, slotRetry: time.Second},
			want{kind: actSubmit, comps: []string{"b"}, trans: []rida.ComponentState{C}}},
		{"an ended failure does not start more of its batch", observation{build: build(rida.ModuleBuilding, 2, macros(C, 11),
			cb(2, "a", 2, B, 21), cb(3, "b", 2, W, 0)), tasks: map[int64]Task{2: {ID: 21, State: F}},
			buildingComponents: 1, buildingModules: 1}, &limits{global: 1, poll: time.Second, slotRetry: time.Second},
			want{kind: actRecordTasks, trans: []rida.ComponentState{F}}},
		{"lost task id adopted", observation{build: build(rida.ModuleBuilding, 2, macros(C, 11),
			cb(2, "a", 2, B, 0)), tasks: map[int64]Task{2: {ID: 55, State: B}}}, nil,
			want{kind: actRecordTasks, trans: []rida.ComponentState{B}}},
		{"lost build resubmitted", observation{build: build(rida.ModuleBuilding, 2, macros(C, 11),
			cb(2, "a", 2, B, 0), cb(3, "b", 2, B, 31)), tasks: map[int64]Task{}}, nil,
			want{kind: actSubmit, comps: []string{"a", "b"}, resubmit: true}},
		{"last batch complete: finalize", observation{build: build(rida.ModuleBuilding, 3, macros(C, 11),
			cb(2, "a", 2, C, 21), cb(3, "b", 3, C, 22))}, nil, want{kind: actFinalize, comps: []string{"b"}}},
		{"empty batches are skipped", observation{build: build(rida.ModuleBuilding, 2, macros(C, 11),
			cb(2, "a", 2, C, 21), cb(3, "b", 5, W, 0))}, nil, want{kind: actStartRepo, comps: []string{"a"}, batch: 5}},
		{"done passes the gate", observation{build: build(rida.ModuleDone, 3), gate: gateVerdict{passed: true}}, nil, want{kind: actReady}},
		{"done, gate not passed: wait", observation{build: build(rida.ModuleDone, 3)}, nil, want{kind: actWait, after: 10 * time.Second}},
		{"scratch stays done", observation{build: func() *rida.ModuleBuild {
			m := build(rida.ModuleDone, 3)
			m.Scratch = true
			return m
		}(), gate: gateVerdict{passed: true}}, nil, want{kind: actWait, after: idle}},
		{"failed: cancel what is unbuilt with the module's reason", observation{build: build(rida.ModuleFailed, 2, macros(C, 11),
			cb(2, "a", 2, B, 21), cb(3, "b", 2, W, 0), cb(4, "c", 2, C, 23))}, nil,
			want{kind: actCancelComponents, comps: []string{"a", "b"}, reason: "Canceled by bob."}},
		{"failed: a build that ended meanwhile is recorded as it ended", observation{build: build(rida.ModuleFailed, 2, macros(C, 11),
			cb(2, "a", 2, B, 21), cb(3, "b", 2, W, 0)), tasks: map[int64]Task{2: {ID: 21, State: C, NVR: "a-1-1"}}}, nil,
			want{kind: actRecordTasks, trans: []rida.ComponentState{C}}},
		{"failed, reserved: refund once nothing runs", observation{reserving: true, build: func() *rida.ModuleBuild {
			m := build(rida.ModuleFailed, 2, macros(C, 11), cb(2, "a", 2, X, 21))
			m.KojiBuildID = 5
			return m
		}()}, nil, want{kind: actRefund}},
		{"failed, refunded: nothing", observation{reserving: true, build: func() *rida.ModuleBuild {
			m := build(rida.ModuleFailed, 2, macros(C, 11))
			m.KojiBuildID, m.KojiRefunded = 5, true
			return m
		}()}, nil, want{kind: actWait, after: idle}},
		{"failed, reserved, still running: cancel first", observation{reserving: true, build: func() *rida.ModuleBuild {
			m := build(rida.ModuleFailed, 2, macros(C, 11), cb(2, "a", 2, B, 21))
			m.KojiBuildID = 5
			return m
		}()}, nil, want{kind: actCancelComponents, comps: []string{"a"}, reason: "Canceled by bob."}},
		{"failed and clean: nothing", observation{build: build(rida.ModuleFailed, 2, macros(C, 11), cb(2, "a", 2, X, 21))}, nil,
			want{kind: actWait, after: idle}},
		{"ready: nothing", observation{build: build(rida.ModuleReady, 2)}, nil, want{kind: actWait, after: idle}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lim := l
			if c.limits != nil {
				lim = *c.limits
			}
			a := decide(c.o, lim)
			if a.kind != c.want.kind {
				t.Fatalf("action %s, want %s (%+v)", a.kind, c.want.kind, a)
			}
			if a.kind == actWait && a.after != c.want.after {
				t.Errorf("wait %v, want %v", a.after, c.want.after)
			}
			var pkgs []string
			for _, comp := range a.components {
				pkgs = append(pkgs, comp.Package)
			}
			if strings.Join(pkgs, ",") != strings.Join(c.want.comps, ",") {
				t.Errorf("components %v, want %v", pkgs, c.want.comps)
			}
			if a.batch != c.want.batch {
				t.Errorf("batch %d, want %d", a.batch, c.want.batch)
			}
			if !strings.Contains(a.reason, c.want.reason) {
				t.Errorf("reason %q, want %q", a.reason, c.want.reason)
			}
			if a.resubmit != c.want.resubmit {
				t.Errorf("resubmit %v, want %v", a.resubmit, c.want.resubmit)
			}
			var to []rida.ComponentState
			for _, tr := range a.transitions {
				to = append(to, tr.To)
			}
			if len(to) != len(c.want.trans) {
				t.Fatalf("transitions %v, want %v", to, c.want.trans)
			}
			for i := range to {
				if to[i] != c.want.trans[i] {
					t.Errorf("transition %d to %v, want %v", i, to[i], c.want.trans[i])
				}
			}
		})
	}
}

func TestDecide_AdoptedTaskIDRecorded(t *testing.T) {
	m := &rida.ModuleBuild{State: rida.ModuleBuilding, Batch: 2, Components: []*rida.ComponentBuild{
		cb(2, "a", 2, rida.ComponentBuilding, 0), cb(3, "b", 2, rida.ComponentBuilding, 31)}}
	a := decide(observation{build: m, tasks: map[int64]Task{
		2: {ID: 55, State: rida.ComponentComplete, NVR: "a-1-1"},
		3: {ID: 32, State: rida.ComponentBuilding}, // a later submission of b, found by package
	}}, limits{})
	if a.kind != actRecordTasks || len(a.transitions) != 2 {
		t.Fatalf("got %s %+v", a.kind, a.transitions)
	}
	if tr := a.transitions[0]; tr.TaskID != 55 || tr.To != rida.ComponentComplete || tr.NVR != "a-1-1" {
		t.Errorf("a: %+v", tr)
	}
	if tr := a.transitions[1]; tr.TaskID != 32 || tr.To != rida.ComponentBuilding {
		t.Errorf("b: %+v", tr)
	}
}

func TestDecide_Stuck(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	l := limits{global: 4, poll: 10 * time.Second, slotRetry: time.Second, stuckAfter: 7 * 24 * time.Hour}
	for _, c := range []struct {
		name  string
		state rida.ModuleState
		age   time.Duration
		l     limits
		want  actionKind
	}{
		{"build unchanged for 8 days fails", rida.ModuleBuilding, 8 * 24 * time.Hour, l, actFail},
		{"init unchanged for 8 days fails", rida.ModuleInit, 8 * 24 * time.Hour, l, actFail},
		{"wait unchanged for 8 days fails", rida.ModuleWait, 8 * 24 * time.Hour, l, actFail},
		{"build changed 6 days ago goes on", rida.ModuleBuilding, 6 * 24 * time.Hour, l, actWait},
		{"done is never stuck", rida.ModuleDone, 30 * 24 * time.Hour, l, actWait},
		{"disabled", rida.ModuleBuilding, 30 * 24 * time.Hour, limits{global: 4, poll: 10 * time.Second}, actWait},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := &rida.ModuleBuild{ID: 7, State: c.state, Batch: 2, Rev: 3, TimeModified: t0,
				Components: []*rida.ComponentBuild{cb(1, MacrosPackage, 1, rida.ComponentComplete, 1), cb(2, "a", 2, rida.ComponentBuilding, 2)}}
			o := observation{build: m, now: t0.Add(c.age), tasks: map[int64]Task{2: {ID: 2, State: rida.ComponentBuilding}}}
			a := decide(o, c.l)
			if c.state != rida.ModuleBuilding && c.want == actWait {
				// Only the stuck rule is under test in other states.
				if a.kind == actFail {
					t.Fatalf("failed: %s", a.reason)
				}
				return
			}
			if a.kind != c.want {
				t.Fatalf("action %s, want %s", a.kind, c.want)
			}
			if c.want == actFail && !strings.Contains(a.reason, "stuck: no progress in state "+c.state.String()+" for more than 168h0m0s (last change 2026-11-01T12:00:00Z)") {
				t.Errorf("reason %q", a.reason)
			}
		})
	}
}
