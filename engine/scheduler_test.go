package engine_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/engine"
	"github.com/rida-build/rida/internal/pgtest"
	"github.com/rida-build/rida/sqlstore"
)

// testBackend is the in-test backend: builds end when the test says so, or
// at once (instant), and it answers lookups by task id and by package the
// way Koji's listTasks would, so crash recovery can be checked by counting
// submissions.
type testBackend struct {
	mu      sync.Mutex
	nextID  int64
	tasks   map[int64]*engine.Task
	byPkg   map[string]int64 // "<module id>/<package>" → latest task
	submits map[string]int   // "<module id>/<package>" → submissions
	// instant completes every build at submission; fail names packages
	// whose builds fail.
	instant bool
	fail    map[string]bool
	// hook runs after every call that has an effect (and after the
	// effect): crash tests kill the engine there.
	hook     func(op string)
	notify   func(moduleID int64)
	prepared map[int64]int
	repos    int
	final    map[int64]int
	canceled map[int64]bool
	// alive, when set, is asked before every call: a killed process makes
	// no more calls.
	alive func() error
}

func newTestBackend() *testBackend {
	return &testBackend{nextID: 1000, tasks: map[int64]*engine.Task{}, byPkg: map[string]int64{}, submits: map[string]int{},
		fail: map[string]bool{}, prepared: map[int64]int{}, final: map[int64]int{}, canceled: map[int64]bool{}}
}

var _ engine.Backend = (*testBackend)(nil)

func key(m *engine.Module, c *rida.ComponentBuild) string {
	return fmt.Sprint(m.Build.ID, "/", c.Package)
}

func (b *testBackend) check() error {
	if b.alive != nil {
		return b.alive()
	}
	return nil
}

func (b *testBackend) after(op string) {
	if b.hook != nil {
		b.hook(op)
	}
}

func (b *testBackend) PrepareEnvironment(ctx context.Context, m *engine.Module) (string, error) {
	if err := b.check(); err != nil {
		return "", err
	}
	b.mu.Lock()
	b.prepared[m.Build.ID]++
	b.mu.Unlock()
	b.after("prepare")
	return fmt.Sprintf("module-%s-%s-%d-%s", m.Build.Name, m.Build.Stream, m.Build.Version, m.Build.Context), nil
}

func (b *testBackend) SubmitComponent(ctx context.Context, m *engine.Module, c *rida.ComponentBuild) (int64, error) {
	if err := b.check(); err != nil {
		return 0, err
	}
	if c.Package == engine.MacrosPackage && !strings.HasPrefix(m.Macros.DistTag, ".module+") {
		return 0, fmt.Errorf("macros without a dist tag: %+v", m.Macros)
	}
	b.mu.Lock()
	b.nextID++
	id := b.nextID
	t := &engine.Task{ID: id, State: rida.ComponentBuilding}
	b.tasks[id] = t
	b.byPkg[key(m, c)] = id
	b.submits[key(m, c)]++
	if b.instant {
		b.finish(t, c.Package)
	}
	b.mu.Unlock()
	b.after("submit " + c.Package)
	return id, nil
}

// finish ends t as the test configured; b.mu is held.
func (b *testBackend) finish(t *engine.Task, pkg string) {
	if b.fail[pkg] {
		t.State, t.Reason = rida.ComponentFailed, "Failed to build artifact "+pkg+": see /logs/"+pkg+".log"
		return
	}
	t.State, t.NVR = rida.ComponentComplete, pkg+"-1.0-1.module+1+abc"
}

// complete ends every running build and notifies.
func (b *testBackend) completeAll() {
	b.mu.Lock()
	var n int
	for _, t := range b.tasks {
		if t.State == rida.ComponentBuilding {
			n++
			pkg := ""
			for k, id := range b.byPkg {
				if id == t.ID {
					pkg = k[strings.Index(k, "/")+1:]
				}
			}
			b.finish(t, pkg)
		}
	}
	b.mu.Unlock()
	if n > 0 && b.notify != nil {
		b.notify(0)
	}
}

func (b *testBackend) LookupComponent(ctx context.Context, m *engine.Module, c *rida.ComponentBuild) (engine.Task, bool, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	id := c.TaskID
	if id == 0 {
		id = b.byPkg[key(m, c)]
	}
	t, ok := b.tasks[id]
	if !ok {
		return engine.Task{}, false, nil
	}
	return *t, true, nil
}

func (b *testBackend) CancelComponent(ctx context.Context, m *engine.Module, c *rida.ComponentBuild) error {
	if err := b.check(); err != nil {
		return err
	}
	b.mu.Lock()
	if t, ok := b.tasks[c.TaskID]; ok && t.State == rida.ComponentBuilding {
		t.State = rida.ComponentCanceled
	}
	b.canceled[c.TaskID] = true
	b.mu.Unlock()
	b.after("cancel " + c.Package)
	return nil
}

func (b *testBackend) TagComponents(ctx context.Context, m *engine.Module, comps []*rida.ComponentBuild) error {
	if err := b.check(); err != nil {
		return err
	}
	for _, c := range comps {
		if c.State != rida.ComponentComplete {
			return fmt.Errorf("tagging %s in state %v", c.Package, c.State)
		}
	}
	b.after("tag")
	return nil
}

func (b *testBackend) StartRepo(ctx context.Context, m *engine.Module) (int64, error) {
	if err := b.check(); err != nil {
		return 0, err
	}
	b.mu.Lock()
	b.repos++
	b.mu.Unlock()
	b.after("repo")
	return 0, nil
}

func (b *testBackend) RepoReady(ctx context.Context, m *engine.Module, task int64) (bool, error) {
	return true, nil
}

func (b *testBackend) Finalize(ctx context.Context, m *engine.Module, comps []*rida.ComponentBuild) error {
	if err := b.check(); err != nil {
		return err
	}
	for _, c := range comps {
		if c.State != rida.ComponentComplete {
			return fmt.Errorf("finalize with %s in state %v", c.Package, c.State)
		}
	}
	b.mu.Lock()
	b.final[m.Build.ID]++
	b.mu.Unlock()
	b.after("finalize")
	return nil
}

// threeBatches is a module of four components in three batches after
// module-build-macros: a; b and c; d. Its name is the %s.
var threeBatches = testModulemd("%s",
	"        a: {ref: aaaa}\n        b: {ref: bbbb}\n        c: {ref: cccc}\n        d: {ref: dddd}\n",
	"      a: {rationale: r, buildorder: 0}\n      b: {rationale: r, buildorder: 1}\n"+
		"      c: {rationale: r, buildorder: 1}\n      d: {rationale: r, buildorder: 2}\n")

// testModulemd is a module build's stored modulemd: name, the xmd.mbs.rpms
// entries (resolved refs) and the components.rpms entries, as YAML lines.
func testModulemd(name, refs, comps string) string {
	return fmt.Sprintf(`document: modulemd
version: 2
data:
  name: %s
  stream: main
  version: 1
  context: c0ffee00
  summary: s
  description: d
  license:
    module: [MIT]
  xmd:
    mbs:
      rpms:
%s  components:
    rpms:
%s`, name, refs, comps)
}

// newModule stores a module build in init with the given modulemd.
func newModule(t testing.TB, db *sqlstore.DB, name, mmd string) *rida.ModuleBuild {
	t.Helper()
	m := &rida.ModuleBuild{Name: name, Stream: "main", Version: 1, Context: "c0ffee00", State: rida.ModuleInit,
		Owner: "alice", Modulemd: mmd, RebuildStrategy: rida.RebuildAll}
	if err := db.CreateModuleBuild(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	return m
}

func testStore(t testing.TB) *sqlstore.DB {
	t.Helper()
	db, _ := openStore(t, "sqlite")
	return db
}

// openStore opens an empty store: SQLite in a temporary directory, or a
// fresh schema of the PostgreSQL named by RIDA_TEST_POSTGRES_DSN (skipped
// when unset).
func openStore(t testing.TB, kind string) (*sqlstore.DB, string) {
	t.Helper()
	dsn := "sqlite:" + t.TempDir() + "/rida.db"
	if kind == "postgres" {
		base := os.Getenv("RIDA_TEST_POSTGRES_DSN")
		if base == "" {
			t.Skip("RIDA_TEST_POSTGRES_DSN is not set: no PostgreSQL to run on")
		}
		var drop func() error
		var err error
		if dsn, drop, err = pgtest.NewSchema(base, "engine"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = drop() })
	}
	return reopen(t, dsn, nil), dsn
}

// reopen opens the store at dsn with the clock now (nil: time.Now).
func reopen(t testing.TB, dsn string, now func() time.Time) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), dsn, sqlstore.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func fastConfig() engine.SchedulerConfig {
	return engine.SchedulerConfig{Workers: 2, LeaseTTL: 3 * time.Second, Scan: 50 * time.Millisecond,
		Poll: 20 * time.Millisecond, SlotRetry: 5 * time.Millisecond, RetryBackoff: 5 * time.Millisecond,
		RPMsBase: "https://src.example.org/rpms"}
}

// runScheduler runs a scheduler until the returned stop is called.
func runScheduler(t testing.TB, store engine.SchedulerStore, b engine.Backend, cfg engine.SchedulerConfig) (*engine.Scheduler, func()) {
	s := engine.NewScheduler(store, b, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	return s, func() { cancel(); <-done }
}

// waitState waits for the build to reach a terminal state or done.
func waitState(t testing.TB, db *sqlstore.DB, id int64, want rida.ModuleState, timeout time.Duration) *rida.ModuleBuild {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		m, err := db.FindModuleBuildByID(context.Background(), id, rida.ModuleBuildInclude{Components: true})
		if err != nil {
			t.Fatal(err)
		}
		if m.State == want {
			return m
		}
		if time.Now().After(deadline) {
			var states []string
			for _, c := range m.Components {
				states = append(states, fmt.Sprintf("%s@%d=%v/%d", c.Package, c.Batch, c.State, c.TaskID))
			}
			t.Fatalf("module build %d in %s (batch %d, %q), want %s; components %v", id, m.State, m.Batch, m.StateReason, want, states)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestScheduler_BuildsToReady(t *testing.T) {
	db := testStore(t)
	b := newTestBackend()
	b.instant = true
	m := newModule(t, db, "three", fmt.Sprintf(threeBatches, "three"))
	s, stop := runScheduler(t, db, b, fastConfig())
	defer stop()
	b.notify = func(id int64) { s.Wake(context.Background(), id) }
	s.Wake(context.Background(), m.ID)
	got := waitState(t, db, m.ID, rida.ModuleReady, 10*time.Second)

	if got.KojiTag != "module-three-main-1-c0ffee00" {
		t.Errorf("koji_tag %q", got.KojiTag)
	}
	batches := map[string]int{}
	for _, c := range got.Components {
		batches[c.Package] = c.Batch
		if c.State != rida.ComponentComplete || c.NVR == "" || c.TaskID == 0 {
			t.Errorf("component %s: %v nvr %q task %d", c.Package, c.State, c.NVR, c.TaskID)
		}
	}
	if want := map[string]int{engine.MacrosPackage: 1, "a": 2, "b": 3, "c": 3, "d": 4}; fmt.Sprint(batches) != fmt.Sprint(want) {
		t.Errorf("batches %v, want %v", batches, want)
	}
	for k, n := range b.submits {
		if n != 1 {
			t.Errorf("%s submitted %d times", k, n)
		}
	}
	// Three repositories: after macros, after a, after b and c; none after
	// the last batch (finalize makes the final one).
	if b.repos != 3 || b.final[m.ID] != 1 || b.prepared[m.ID] != 1 {
		t.Errorf("repos %d, finalized %d, prepared %d", b.repos, b.final[m.ID], b.prepared[m.ID])
	}
	trace, err := db.FindModuleBuildByID(t.Context(), m.ID, rida.ModuleBuildInclude{StateTrace: true})
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, st := range trace.StateTrace {
		states = append(states, rida.ModuleState(st.State).String())
	}
	if got := strings.Join(states, " "); got != "init wait build done ready" {
		t.Errorf("trace %s", got)
	}
}

func TestScheduler_ComponentFailureFailsModule(t *testing.T) {
	db := testStore(t)
	b := newTestBackend()
	b.instant = true
	b.fail["c"] = true
	m := newModule(t, db, "failing", fmt.Sprintf(threeBatches, "failing"))
	s, stop := runScheduler(t, db, b, fastConfig())
	defer stop()
	s.Wake(context.Background(), m.ID)
	waitState(t, db, m.ID, rida.ModuleFailed, 10*time.Second)
	got := waitSettled(t, db, m.ID)
	want := "Component(s) c failed to build. c: Failed to build artifact c: see /logs/c.log."
	if got.StateReason != want {
		t.Errorf("state_reason %q, want %q", got.StateReason, want)
	}
	for _, c := range got.Components {
		switch c.Package {
		case "d":
			if c.State != rida.ComponentCanceled || c.StateReason != want {
				t.Errorf("d: %v %q", c.State, c.StateReason)
			}
		case "c":
			if c.State != rida.ComponentFailed {
				t.Errorf("c: %v", c.State)
			}
		default:
			if c.State != rida.ComponentComplete {
				t.Errorf("%s: %v", c.Package, c.State)
			}
		}
	}
	if b.final[m.ID] != 0 {
		t.Error("a failed build was finalized")
	}

	// Resubmission resumes it: c is rebuilt, a, b and macros are kept.
	b.mu.Lock()
	b.fail["c"] = false
	b.mu.Unlock()
	if _, err := db.TransitionModuleBuild(t.Context(), rida.ModuleTransition{ID: m.ID, FromRev: got.Rev, To: rida.ModuleWait, Reason: "Resubmitted by alice"}); err != nil {
		t.Fatal(err)
	}
	s.Wake(context.Background(), m.ID)
	waitState(t, db, m.ID, rida.ModuleReady, 10*time.Second)
	for k, n := range b.submits {
		want := 1
		if strings.HasSuffix(k, "/c") || strings.HasSuffix(k, "/d") {
			want = 2
		}
		if strings.HasSuffix(k, "/d") {
			want = 1 // canceled before it was ever submitted
		}
		if n != want {
			t.Errorf("%s submitted %d times, want %d", k, n, want)
		}
	}
}

func TestScheduler_CancelStopsRunningBuilds(t *testing.T) {
	db := testStore(t)
	b := newTestBackend()
	m := newModule(t, db, "canceled", fmt.Sprintf(threeBatches, "canceled"))
	svc := engine.NewService(db, nil, nil, nil)
	s, stop := runScheduler(t, db, b, fastConfig())
	defer stop()
	s.Wake(context.Background(), m.ID)
	// Let macros and a build, then cancel while b and c run.
	waitBuilding(t, db, m.ID, engine.MacrosPackage)
	b.completeAll()
	waitBuilding(t, db, m.ID, "a")
	b.completeAll()
	waitBuilding(t, db, m.ID, "b", "c")
	if _, err := svc.CancelModuleBuild(t.Context(), m.ID, "bob"); err != nil {
		t.Fatal(err)
	}
	s.Wake(context.Background(), m.ID)
	got := waitSettled(t, db, m.ID)
	if got.State != rida.ModuleFailed || got.StateReason != "Canceled by bob." {
		t.Errorf("module %v %q", got.State, got.StateReason)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range got.Components {
		if (c.Package == "b" || c.Package == "c") && (c.State != rida.ComponentCanceled || !b.canceled[c.TaskID]) {
			t.Errorf("%s: %v task %d %q, canceled in the backend: %v", c.Package, c.State, c.TaskID, c.StateReason, b.canceled[c.TaskID])
		}
		if c.Package == "d" && (c.State != rida.ComponentCanceled || c.TaskID != 0) {
			t.Errorf("d: %v task %d", c.State, c.TaskID)
		}
	}
}

// waitSettled waits until no component of the build is waiting or
// building, and returns the build.
func waitSettled(t *testing.T, db *sqlstore.DB, id int64) *rida.ModuleBuild {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := db.FindModuleBuildByID(t.Context(), id, rida.ModuleBuildInclude{Components: true})
		if err != nil {
			t.Fatal(err)
		}
		unbuilt := 0
		for _, c := range got.Components {
			if c.State.Unbuilt() {
				unbuilt++
			}
		}
		if unbuilt == 0 {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("still %d unbuilt components", unbuilt)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitBuilding waits until the packages are building with a task.
func waitBuilding(t *testing.T, db *sqlstore.DB, id int64, pkgs ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		got, err := db.FindModuleBuildByID(t.Context(), id, rida.ModuleBuildInclude{Components: true})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, c := range got.Components {
			if slices.Contains(pkgs, c.Package) && c.State == rida.ComponentBuilding && c.TaskID != 0 {
				n++
			}
		}
		if n == len(pkgs) {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("%v never all started building", pkgs)
}

func TestScheduler_FairAcrossModules(t *testing.T) {
	db := testStore(t)
	b := newTestBackend()
	big := newModule(t, db, "big", strings.Replace(fmt.Sprintf(threeBatches, "big"), "buildorder: 1", "buildorder: 0", -1))
	small := newModule(t, db, "small", fmt.Sprintf(threeBatches, "small"))
	cfg := fastConfig()
	cfg.MaxConcurrentBuilds = 2
	s, stop := runScheduler(t, db, b, cfg)
	defer stop()
	s.Wake(context.Background(), 0)
	// Both modules' macros run at once (one slot each); then big's batch of
	// three and small's a share the two slots: small is never starved.
	waitBoth := func() {
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			b.mu.Lock()
			var bigRunning, smallRunning int
			for k, id := range b.byPkg {
				if b.tasks[id].State == rida.ComponentBuilding {
					if strings.HasPrefix(k, fmt.Sprint(big.ID, "/")) {
						bigRunning++
					} else if strings.HasPrefix(k, fmt.Sprint(small.ID, "/")) {
						smallRunning++
					}
				}
			}
			b.mu.Unlock()
			if bigRunning+smallRunning > 2 {
				t.Fatalf("%d builds running, limit 2", bigRunning+smallRunning)
			}
			if bigRunning == 1 && smallRunning == 1 {
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
		t.Fatal("the two modules never built side by side")
	}
	for range 3 {
		waitBoth()
		b.completeAll()
	}
	for range 20 {
		b.completeAll()
		time.Sleep(20 * time.Millisecond)
	}
	for _, id := range []int64{big.ID, small.ID} {
		deadline := time.Now().Add(10 * time.Second)
		for {
			b.completeAll()
			m, err := db.FindModuleBuildByID(t.Context(), id, rida.ModuleBuildInclude{})
			if err != nil {
				t.Fatal(err)
			}
			if m.State == rida.ModuleReady {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("module %d in %s", id, m.State)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// dyingStore is the store as a process that can die sees it: once dead,
// every call fails, as a killed process writes nothing more.
type dyingStore struct {
	*sqlstore.DB
	dead atomic.Bool
	// hook runs after every write that succeeded.
	hook func(op string)
}

var errDead = errors.New("process killed")

func (d *dyingStore) check() error {
	if d.dead.Load() {
		return errDead
	}
	return nil
}

func (d *dyingStore) wrote(op string, err error) {
	if err == nil && d.hook != nil {
		d.hook(op)
	}
}

func (d *dyingStore) ClaimDue(ctx context.Context, owner string, ttl time.Duration, limit int) ([]*rida.ModuleBuild, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	return d.DB.ClaimDue(ctx, owner, ttl, limit)
}

func (d *dyingStore) ExtendLease(ctx context.Context, id int64, owner string, ttl time.Duration) error {
	if err := d.check(); err != nil {
		return err
	}
	return d.DB.ExtendLease(ctx, id, owner, ttl)
}

func (d *dyingStore) ReleaseLease(ctx context.Context, id int64, owner string, next time.Time, rev int64) error {
	if err := d.check(); err != nil {
		return err
	}
	return d.DB.ReleaseLease(ctx, id, owner, next, rev)
}

func (d *dyingStore) MakeDue(ctx context.Context, id int64) error {
	if err := d.check(); err != nil {
		return err
	}
	return d.DB.MakeDue(ctx, id)
}

func (d *dyingStore) SchedulerLoad(ctx context.Context) (int, int, error) {
	if err := d.check(); err != nil {
		return 0, 0, err
	}
	return d.DB.SchedulerLoad(ctx)
}

func (d *dyingStore) FindModuleBuildByID(ctx context.Context, id int64, inc rida.ModuleBuildInclude) (*rida.ModuleBuild, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	return d.DB.FindModuleBuildByID(ctx, id, inc)
}

func (d *dyingStore) FindModuleBuilds(ctx context.Context, f rida.ModuleBuildFilter) ([]*rida.ModuleBuild, int, error) {
	if err := d.check(); err != nil {
		return nil, 0, err
	}
	return d.DB.FindModuleBuilds(ctx, f)
}

func (d *dyingStore) TransitionModuleBuild(ctx context.Context, t rida.ModuleTransition) (*rida.ModuleBuild, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	m, err := d.DB.TransitionModuleBuild(ctx, t)
	d.wrote("module → "+t.To.String(), err)
	return m, err
}

func (d *dyingStore) UpdateModuleBuild(ctx context.Context, u rida.ModuleUpdate) (*rida.ModuleBuild, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	m, err := d.DB.UpdateModuleBuild(ctx, u)
	d.wrote("module update", err)
	return m, err
}

func (d *dyingStore) TransitionComponentBuilds(ctx context.Context, ts []rida.ComponentTransition) ([]*rida.ComponentBuild, error) {
	if err := d.check(); err != nil {
		return nil, err
	}
	cs, err := d.DB.TransitionComponentBuilds(ctx, ts)
	d.wrote(fmt.Sprintf("%d components", len(ts)), err)
	return cs, err
}

// TestScheduler_CrashAtEveryStep kills the engine right after each effect of
// a three-batch build in turn (a database write or a backend call), the way
// kill -9 would: nothing more is written, the lease is not released. A new
// engine (another owner) takes over once the lease expires. Whatever the
// step, the build ends ready, every component is complete, nothing was
// submitted twice, and the module was finalized once.
func TestScheduler_CrashAtEveryStep(t *testing.T) {
	// A clean run counts the steps.
	count := func() int {
		db := testStore(t)
		b := newTestBackend()
		b.instant = true
		n := 0
		var mu sync.Mutex
		step := func(string) { mu.Lock(); n++; mu.Unlock() }
		b.hook = step
		ds := &dyingStore{DB: db, hook: step}
		m := newModule(t, db, "count", fmt.Sprintf(threeBatches, "count"))
		s, stop := runScheduler(t, ds, b, fastConfig())
		s.Wake(context.Background(), m.ID)
		waitState(t, db, m.ID, rida.ModuleReady, 10*time.Second)
		stop()
		return n
	}()
	if count < 15 {
		t.Fatalf("a clean build took only %d steps", count)
	}
	// One database for every run (opening one is slow under the race
	// detector), one module build per run, so each run's second process
	// finds only ready builds besides its own.
	const leaseTTL = 5 * time.Second
	db, dsn := openStore(t, "sqlite")
	// The next process starts after the dead one's lease has expired: its
	// clock (the store's and the scheduler's) is a lease later, so the test
	// need not wait for it.
	later := func() time.Time { return time.Now().Add(leaseTTL + time.Second) }
	dbLater := reopen(t, dsn, later)
	for kill := 1; kill <= count; kill++ {
		t.Run(fmt.Sprint("after step ", kill), func(t *testing.T) {
			b := newTestBackend()
			b.instant = true
			name := fmt.Sprint("crash", kill)
			m := newModule(t, db, name, fmt.Sprintf(threeBatches, name))
			ds := &dyingStore{DB: db}
			var mu sync.Mutex
			n := 0
			killedAt := ""
			kill1 := func(op string) {
				mu.Lock()
				defer mu.Unlock()
				n++
				if n == kill {
					killedAt = op
					ds.dead.Store(true)
				}
			}
			b.hook, ds.hook, b.alive = kill1, kill1, ds.check
			cfg := fastConfig()
			// Long enough that a slow machine (the race detector) never
			// loses a live lease: a lost lease lets two processes act at
			// once, which is allowed (every backend call is idempotent)
			// but would blur what this test counts.
			cfg.LeaseTTL = leaseTTL
			cfg.Scan = 100 * time.Millisecond
			cfg.Owner = "first"
			s1, stop1 := runScheduler(t, ds, b, cfg)
			s1.Wake(context.Background(), m.ID)
			deadline := time.Now().Add(30 * time.Second)
			for !ds.dead.Load() && time.Now().Before(deadline) {
				if got, err := db.FindModuleBuildByID(t.Context(), m.ID, rida.ModuleBuildInclude{}); err == nil && got.State == rida.ModuleReady {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			stop1()
			b.hook, b.alive = nil, nil
			if !ds.dead.Load() {
				// Steps vary a little from run to run (builds ending
				// together are recorded together).
				t.Skipf("this run took fewer than %d steps", kill)
			}
			cfg.Owner, cfg.Now = "second", later
			_, stop2 := runScheduler(t, dbLater, b, cfg)
			defer stop2()
			got := waitState(t, db, m.ID, rida.ModuleReady, 10*time.Second)
			for _, c := range got.Components {
				if c.State != rida.ComponentComplete {
					t.Errorf("killed after %q: %s %v", killedAt, c.Package, c.State)
				}
			}
			b.mu.Lock()
			defer b.mu.Unlock()
			for k, n := range b.submits {
				if n != 1 {
					t.Errorf("killed after %q: %s submitted %d times", killedAt, k, n)
				}
			}
			if b.final[m.ID] > 2 || b.final[m.ID] == 0 {
				t.Errorf("killed after %q: finalized %d times", killedAt, b.final[m.ID])
			}
		})
	}
}

// TestScheduler_TwoProcessesShareWork runs two schedulers (two processes'
// worth: different lease owners) on one database: every build ends ready,
// and no component is submitted twice. On PostgreSQL (RIDA_TEST_POSTGRES_DSN)
// and SQLite.
func TestScheduler_TwoProcessesShareWork(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			db, _ := openStore(t, kind)
			b := newTestBackend()
			b.instant = true
			var ids []int64
			for i := range 6 {
				name := fmt.Sprint("shared", i)
				ids = append(ids, newModule(t, db, name, fmt.Sprintf(threeBatches, name)).ID)
			}
			for _, owner := range []string{"p1", "p2"} {
				cfg := fastConfig()
				cfg.Owner = owner
				s, stop := runScheduler(t, db, b, cfg)
				defer stop()
				s.Wake(context.Background(), 0)
			}
			for _, id := range ids {
				waitState(t, db, id, rida.ModuleReady, 30*time.Second)
			}
			b.mu.Lock()
			defer b.mu.Unlock()
			if len(b.submits) != 6*5 {
				t.Errorf("%d components submitted, want 30", len(b.submits))
			}
			for k, n := range b.submits {
				if n != 1 {
					t.Errorf("%s submitted %d times", k, n)
				}
			}
		})
	}
}

// reservingBackend is the test backend with NVR reservations (Koji's
// CGInitBuild); taken lists NVR names already taken.
type reservingBackend struct {
	*testBackend
	mu       sync.Mutex
	reserved map[int64]int
	refunds  map[int64][]bool // module id → canceled flags of each refund
	taken    map[string]bool
	next     int64
}

func newReservingBackend() *reservingBackend {
	return &reservingBackend{testBackend: newTestBackend(), reserved: map[int64]int{}, refunds: map[int64][]bool{}, taken: map[string]bool{}, next: 500}
}

var _ engine.Reserver = (*reservingBackend)(nil)

func (b *reservingBackend) Reserve(ctx context.Context, m *engine.Module) (rida.Reservation, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.taken[m.Build.Name] {
		return rida.Reservation{}, rida.Errorf(rida.CodeConflict, "The NVR %s-main-1.c0ffee00 is already taken in Koji", m.Build.Name)
	}
	b.reserved[m.Build.ID]++
	b.next += 2
	return rida.Reservation{BuildID: b.next, Token: "t1", DevelBuildID: b.next + 1, DevelToken: "t2"}, nil
}

func (b *reservingBackend) Refund(ctx context.Context, m *engine.Module, canceled bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if m.Build.KojiBuildID == 0 || m.Build.KojiCGToken != "t1" || m.Build.KojiDevelCGToken != "t2" {
		return fmt.Errorf("refund of a build without its reservation: %+v", m.Build)
	}
	b.refunds[m.Build.ID] = append(b.refunds[m.Build.ID], canceled)
	return nil
}

// TestScheduler_Reservation: the NVRs are reserved in init and recorded
// with the move to wait; a ready build keeps them (the import used them), a
// failed or canceled one gives them back once; a taken NVR fails the build
// at once, naming it.
func TestScheduler_Reservation(t *testing.T) {
	db := testStore(t)
	b := newReservingBackend()
	b.instant = true
	b.fail["c"] = true
	b.taken["taken"] = true
	ready := newModule(t, db, "ready", testModulemd("ready", "        x: {ref: aaaa}\n", "      x: {rationale: r}\n"))
	failing := newModule(t, db, "failing", fmt.Sprintf(threeBatches, "failing"))
	taken := newModule(t, db, "taken", fmt.Sprintf(threeBatches, "taken"))
	s, stop := runScheduler(t, db, b, fastConfig())
	defer stop()
	s.Wake(context.Background(), 0)

	got := waitState(t, db, ready.ID, rida.ModuleReady, 10*time.Second)
	if got.KojiBuildID == 0 || got.KojiCGToken != "t1" || got.KojiDevelBuildID != got.KojiBuildID+1 || got.KojiDevelCGToken != "t2" || got.KojiRefunded {
		t.Errorf("ready build's reservation: %d %q %d %q refunded %v", got.KojiBuildID, got.KojiCGToken, got.KojiDevelBuildID, got.KojiDevelCGToken, got.KojiRefunded)
	}
	got = waitState(t, db, failing.ID, rida.ModuleFailed, 10*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for !got.KojiRefunded && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
		got, _ = db.FindModuleBuildByID(t.Context(), failing.ID, rida.ModuleBuildInclude{})
	}
	if got.KojiBuildID == 0 || !got.KojiRefunded {
		t.Errorf("failed build: reservation %d, refunded %v", got.KojiBuildID, got.KojiRefunded)
	}
	got = waitState(t, db, taken.ID, rida.ModuleFailed, 10*time.Second)
	if got.StateReason != "The NVR taken-main-1.c0ffee00 is already taken in Koji" || len(got.Components) != 0 {
		t.Errorf("taken: %q, %d components", got.StateReason, len(got.Components))
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if fl := b.refunds[failing.ID]; len(fl) != 1 || fl[0] {
		t.Errorf("refunds of the failed build: %v", fl)
	}
	if len(b.refunds[taken.ID]) != 0 || len(b.refunds[ready.ID]) != 0 || b.reserved[failing.ID] != 1 {
		t.Errorf("refunds %v, reservations %v", b.refunds, b.reserved)
	}
}
