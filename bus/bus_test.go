package bus_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/bus"
	"github.com/rida-build/rida/sqlstore"
)

func openDB(t *testing.T) *sqlstore.DB {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), "sqlite::memory:", sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// createBuilds writes n module builds and moves each to wait: 2n events.
func createBuilds(t *testing.T, db *sqlstore.DB, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		m := &rida.ModuleBuild{Name: "relay", Stream: "s", Version: uint64(i + 1), Context: "c", State: rida.ModuleInit,
			Owner: "alice", Modulemd: "document: modulemd\nversion: 2\n", RebuildStrategy: rida.RebuildAll}
		if err := db.CreateModuleBuild(ctx, m); err != nil {
			t.Fatal(err)
		}
		if _, err := db.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: m.ID, FromRev: m.Rev, To: rida.ModuleWait}); err != nil {
			t.Fatal(err)
		}
	}
}

// flaky publishes to a Bus but fails while down, and sometimes after
// handing part of a batch over (what a broker connection dropped mid-batch
// looks like).
type flaky struct {
	mu     sync.Mutex
	down   bool
	halfOK bool
	got    []rida.Message
	calls  int
}

func (f *flaky) Publish(_ context.Context, msgs []rida.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.down {
		if f.halfOK {
			f.got = append(f.got, msgs[:len(msgs)/2]...)
		}
		return errors.New("broker unreachable")
	}
	f.got = append(f.got, msgs...)
	return nil
}

func (f *flaky) set(down, halfOK bool) {
	f.mu.Lock()
	f.down, f.halfOK = down, halfOK
	f.mu.Unlock()
}

func (f *flaky) messages() []rida.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]rida.Message(nil), f.got...)
}

func TestRelay_AtLeastOnceInCommitOrder(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	createBuilds(t, db, 30)
	pub := &flaky{down: true, halfOK: true}
	// While the bus is down nothing is marked published.
	relay := bus.NewRelay(db, bus.RelayConfig{TopicPrefix: "org.example.rida", Batch: 7}, pub)
	for range 3 {
		if n, err := relay.Flush(ctx); err == nil || n != 0 {
			t.Fatalf("flush while down = %d, %v", n, err)
		}
	}
	if pending, _ := db.PendingEvents(ctx, 1000); len(pending) != 60 {
		t.Fatalf("pending after failures = %d, want 60", len(pending))
	}
	pub.set(false, false)
	for {
		n, err := relay.Flush(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	if pending, _ := db.PendingEvents(ctx, 1000); len(pending) != 0 {
		t.Fatalf("pending after recovery = %d", len(pending))
	}

	// Every event arrived; after dropping repeats (by id), in commit
	// order, each build's init before its wait.
	seen := map[string]bool{}
	var order []rida.Message
	for _, m := range pub.messages() {
		if !seen[m.ID] {
			seen[m.ID] = true
			order = append(order, m)
		}
	}
	if len(order) != 60 {
		t.Fatalf("distinct messages = %d, want 60", len(order))
	}
	state := map[int64]string{}
	for _, m := range order {
		if m.Topic != "org.example.rida.module.state.change" {
			t.Fatalf("topic %q", m.Topic)
		}
		var p rida.ModuleEventPayload
		if err := json.Unmarshal(m.Body, &p); err != nil {
			t.Fatal(err)
		}
		switch {
		case p.StateName == "init" && state[p.ID] == "":
		case p.StateName == "wait" && state[p.ID] == "init":
		default:
			t.Fatalf("build %d: %s after %q", p.ID, p.StateName, state[p.ID])
		}
		state[p.ID] = p.StateName
	}
	// A republished event keeps its id.
	evs, err := db.ModuleBuildEvents(ctx, 1, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := bus.MessageOf("p", evs[0]), bus.MessageOf("p", evs[0]); a.ID != b.ID || a.ID == bus.MessageOf("p", evs[1]).ID {
		t.Errorf("message ids not stable and distinct: %s %s", a.ID, b.ID)
	}
}

func TestRelay_RunPublishesOnSignal(t *testing.T) {
	db := openDB(t)
	b := bus.NewBus()
	got := make(chan rida.Message, 100)
	cancelSub := b.Subscribe("rida.#", func(m rida.Message) { got <- m })
	defer cancelSub()
	// A long scan interval: only the commit signal can make this quick,
	// and the test waits for the messages, not for a time.
	relay := bus.NewRelay(db, bus.RelayConfig{Scan: time.Hour}, b)
	db.OnEventsCommitted(relay.Signal)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- relay.Run(ctx) }()
	createBuilds(t, db, 2)
	for i := range 4 {
		select {
		case m := <-got:
			if m.Topic != "rida.module.state.change" || m.ID == "" || m.SentAt.IsZero() {
				t.Errorf("message %d: %+v", i, m)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("message %d never arrived", i)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, topic string
		want           bool
	}{
		{"rida.#", "rida.module.state.change", true},
		{"rida.#", "rida", true},
		{"#", "anything.at.all", true},
		{"rida.*.state.change", "rida.module.state.change", true},
		{"rida.*.state.change", "rida.module.x.change", false},
		{"rida.*", "rida.module.state", false},
		{"*.buildsys.#", "org.buildsys.tag", true},
		{"*.buildsys.#", "org.fedoraproject.buildsys.tag", false},
		{"#.buildsys.#", "org.fedoraproject.prod.buildsys.tag", true},
		{"#.#.buildsys", "a.buildsys", true},
		{"koji.build.*", "koji.build.complete", true},
		{"a.b", "a.b.c", false},
		{"", "", true},
	} {
		if got := bus.Match(c.pattern, c.topic); got != c.want {
			t.Errorf("Match(%q, %q) = %v", c.pattern, c.topic, got)
		}
	}
}

func FuzzMatch(f *testing.F) {
	f.Add("#.buildsys.#", "org.fedoraproject.prod.buildsys.build.state.change")
	f.Add("a.*.#.*", "a.b.c")
	f.Fuzz(func(t *testing.T, pattern, topic string) {
		if len(pattern) > 200 {
			return
		}
		got := bus.Match(pattern, topic)
		if pattern == topic && !got {
			t.Errorf("Match(%q, itself) = false", pattern)
		}
	})
}
