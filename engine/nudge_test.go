package engine_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/engine"
)

// TestScheduler_NudgesDriveTheBuild: with the reconciler an hour away,
// only nudges (what Koji's messages become) move the build, batch by
// batch; nudges about unknown tasks and tags, repeated and stale nudges
// change nothing.
func TestScheduler_NudgesDriveTheBuild(t *testing.T) {
	db := testStore(t)
	b := newTestBackend() // builds end only when the test says so
	m := newModule(t, db, "nudged", fmt.Sprintf(threeBatches, "nudged"))
	cfg := fastConfig()
	cfg.Poll, cfg.Scan = time.Hour, time.Hour
	s, stop := runScheduler(t, db, b, cfg)
	defer stop()
	ctx := context.Background()

	for _, batch := range [][]string{{engine.MacrosPackage}, {"a"}, {"b", "c"}, {"d"}} {
		waitBuilding(t, db, m.ID, batch...)
		cur, err := db.FindModuleBuildByID(ctx, m.ID, rida.ModuleBuildInclude{Components: true})
		if err != nil {
			t.Fatal(err)
		}
		var tasks []int64
		for _, c := range cur.Components {
			if c.State == rida.ComponentBuilding {
				tasks = append(tasks, c.TaskID)
			}
		}
		// Messages about other things find nothing and move nothing.
		if n, err := s.Nudge(ctx, engine.Nudge{TaskIDs: []int64{999999}, Tags: []string{"f40-build"}}); err != nil || n != 0 {
			t.Fatalf("unrelated nudge woke %d builds (%v)", n, err)
		}
		b.completeAll()
		// The same message twice is harmless.
		for range 2 {
			if n, err := s.Nudge(ctx, engine.Nudge{TaskIDs: tasks}); err != nil || n != 1 {
				t.Fatalf("nudge about %v woke %d builds (%v)", tasks, n, err)
			}
		}
	}
	got := waitState(t, db, m.ID, rida.ModuleReady, 10*time.Second)
	for _, c := range got.Components {
		if c.State != rida.ComponentComplete {
			t.Errorf("%s in %v", c.Package, c.State)
		}
	}
	// A late message about a finished build finds nothing to do.
	if n, err := s.Nudge(ctx, engine.Nudge{Tags: []string{got.KojiTag + "-build"}}); err != nil || n != 0 {
		t.Errorf("nudge after ready woke %d (%v)", n, err)
	}
}

// TestScheduler_ReconcilerFinishesWithoutMessages: every message lost (no
// nudge, no backend notification), the reconciler's interval alone
// finishes the build.
func TestScheduler_ReconcilerFinishesWithoutMessages(t *testing.T) {
	db := testStore(t)
	b := newTestBackend()
	m := newModule(t, db, "unheard", fmt.Sprintf(threeBatches, "unheard"))
	cfg := fastConfig()
	cfg.Poll = 100 * time.Millisecond
	_, stop := runScheduler(t, db, b, cfg)
	defer stop()
	done := make(chan struct{})
	defer close(done)
	go func() {
		// Builds end in the backend; nobody tells the engine.
		for {
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
				b.mu.Lock()
				b.notify = nil
				b.mu.Unlock()
				b.completeAll()
			}
		}
	}()
	waitState(t, db, m.ID, rida.ModuleReady, 20*time.Second)
}

// failingRepoBackend is the test backend with repository regenerations
// as tasks, the first of which fails.
type failingRepoBackend struct {
	*testBackend
	mu      sync.Mutex
	started []int64
}

func (b *failingRepoBackend) StartRepo(ctx context.Context, m *engine.Module) (int64, error) {
	if _, err := b.testBackend.StartRepo(ctx, m); err != nil {
		return 0, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	id := int64(500 + len(b.started))
	b.started = append(b.started, id)
	return id, nil
}

func (b *failingRepoBackend) RepoReady(ctx context.Context, m *engine.Module, task int64) (bool, error) {
	if task == 500 {
		return false, errors.New("newRepo task 500 failed: createrepo exited 1")
	}
	return true, nil
}

// TestScheduler_FailedNewRepoIsStartedAgain: a failed repository
// regeneration is started again (MBS leaves it to a poller it never
// schedules), and the build goes on.
func TestScheduler_FailedNewRepoIsStartedAgain(t *testing.T) {
	db := testStore(t)
	b := &failingRepoBackend{testBackend: newTestBackend()}
	b.instant = true
	m := newModule(t, db, "repofail", fmt.Sprintf(threeBatches, "repofail"))
	_, stop := runScheduler(t, db, b, fastConfig())
	defer stop()
	waitState(t, db, m.ID, rida.ModuleReady, 10*time.Second)
	b.mu.Lock()
	defer b.mu.Unlock()
	// Three batch ends (macros, a, b+c) regenerate; the first twice.
	if want := []int64{500, 501, 502, 503}; !slices.Equal(b.started, want) {
		t.Errorf("newRepo tasks %v, want %v", b.started, want)
	}
}
