package sqlstore

import (
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/rida-build/rida"
)

// advance moves the test clock forward.
func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestLeases(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *testDB) {
		ctx := t.Context()
		// One build per state: only init, wait, build and done are work
		// here.
		ids, revs := map[rida.ModuleState]int64{}, map[rida.ModuleState]int64{}
		paths := map[rida.ModuleState][]rida.ModuleState{
			rida.ModuleInit:     nil,
			rida.ModuleWait:     {rida.ModuleWait},
			rida.ModuleBuilding: {rida.ModuleWait, rida.ModuleBuilding},
			rida.ModuleDone:     {rida.ModuleWait, rida.ModuleBuilding, rida.ModuleDone},
			rida.ModuleReady:    {rida.ModuleWait, rida.ModuleBuilding, rida.ModuleDone, rida.ModuleReady},
			rida.ModuleFailed:   {rida.ModuleFailed},
		}
		for state, path := range paths {
			m := newModuleBuild("m"+state.String(), "s", 1, "c")
			// A failed build is work only while a component is unbuilt
			// (TestClaimDue_Failed); this one has none.
			m.Components = nil
			mustCreate(t, db, m)
			for _, to := range path {
				got, err := db.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: m.ID, FromRev: m.Rev, To: to})
				if err != nil {
					t.Fatal(err)
				}
				m = got
			}
			ids[state], revs[state] = m.ID, m.Rev
		}

		claimed, err := db.ClaimDue(ctx, "engine-a", time.Minute, 10)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, m := range claimed {
			got = append(got, m.ID)
		}
		want := []int64{ids[rida.ModuleInit], ids[rida.ModuleWait], ids[rida.ModuleBuilding], ids[rida.ModuleDone]}
		sort.Slice(want, func(i, j int) bool { return want[i] < want[j] })
		if len(got) != 4 || got[0] != want[0] || got[3] != want[3] {
			t.Fatalf("claimed %v, want the active builds %v", got, want)
		}
		if again, err := db.ClaimDue(ctx, "engine-b", time.Minute, 10); err != nil || len(again) != 0 {
			t.Fatalf("second claimer got %d builds (%v) while the leases are held", len(again), err)
		}

		// Heartbeats: only the owner may extend, and only an unexpired lease.
		init := ids[rida.ModuleInit]
		if err := db.ExtendLease(ctx, init, "engine-a", time.Minute); err != nil {
			t.Errorf("owner extends: %v", err)
		}
		if err := db.ExtendLease(ctx, init, "engine-b", time.Minute); rida.ErrorCodeOf(err) != rida.CodeConflict {
			t.Errorf("stranger extends: %v, want conflict", err)
		}

		// Released with a next check in the future: not due until then.
		wait := ids[rida.ModuleWait]
		if err := db.ReleaseLease(ctx, wait, "engine-a", db.clock.Now().Add(10*time.Minute), revs[rida.ModuleWait]); err != nil {
			t.Fatal(err)
		}
		if err := db.ReleaseLease(ctx, wait, "engine-a", time.Time{}, revs[rida.ModuleWait]); rida.ErrorCodeOf(err) != rida.CodeConflict {
			t.Errorf("second release: %v, want conflict", err)
		}
		if c, _ := db.ClaimDue(ctx, "engine-b", time.Minute, 10); len(c) != 0 {
			t.Errorf("claimed %d builds before any was due", len(c))
		}

		// After two minutes every lease of engine-a (but the extended one,
		// also past) has expired, and the released build is not due yet.
		db.clock.advance(2 * time.Minute)
		c, err := db.ClaimDue(ctx, "engine-b", time.Minute, 10)
		if err != nil || len(c) != 3 {
			t.Fatalf("after expiry engine-b claimed %d builds (%v), want 3", len(c), err)
		}
		if err := db.ExtendLease(ctx, init, "engine-a", time.Minute); rida.ErrorCodeOf(err) != rida.CodeConflict {
			t.Errorf("expired owner extends: %v, want conflict", err)
		}
		db.clock.advance(10 * time.Minute)
		if c, _ := db.ClaimDue(ctx, "engine-c", time.Minute, 10); len(c) != 4 {
			t.Errorf("once all is due and expired engine-c claimed %d builds, want 4", len(c))
		}
		if _, err := db.ClaimDue(ctx, "", time.Minute, 1); rida.ErrorCodeOf(err) != rida.CodeInvalid {
			t.Errorf("claim without owner: %v", err)
		}
	})
}

// TestClaimDue_Concurrent: claimers racing for the same builds get disjoint
// sets that together cover every due build.
func TestClaimDue_Concurrent(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *testDB) {
		const builds = 24
		for i := range builds {
			mustCreate(t, db, newModuleBuild("m", "s", uint64(i+1), "c"))
		}
		var mu sync.Mutex
		seen := map[int64]string{}
		var wg sync.WaitGroup
		for w := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				owner := "engine-" + string(rune('a'+w))
				for {
					c, err := db.ClaimDue(t.Context(), owner, time.Hour, 3)
					if err != nil {
						t.Errorf("%s: %v", owner, err)
						return
					}
					if len(c) == 0 {
						return
					}
					mu.Lock()
					for _, m := range c {
						if prev, dup := seen[m.ID]; dup {
							t.Errorf("build %d claimed by %s and %s", m.ID, prev, owner)
						}
						seen[m.ID] = owner
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if len(seen) != builds {
			t.Errorf("claimed %d of %d builds", len(seen), builds)
		}
	})
}
