package engine_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/engine"
	"github.com/rida-build/rida/sqlstore"
)

func mustStore(t *testing.T) *sqlstore.DB {
	t.Helper()
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	db, err := sqlstore.Open(t.Context(), "sqlite:"+t.TempDir()+"/rida.db", sqlstore.Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func mustBuild(t *testing.T, db *sqlstore.DB, name string, states ...rida.ModuleState) *rida.ModuleBuild {
	t.Helper()
	m := &rida.ModuleBuild{Name: name, Stream: "1", Version: 1, Context: "c0ffee00", State: rida.ModuleInit,
		Owner: "alice", Modulemd: "document: modulemd\n", RebuildStrategy: rida.RebuildAll}
	if err := db.CreateModuleBuild(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	for _, s := range states {
		got, err := db.TransitionModuleBuild(t.Context(), rida.ModuleTransition{ID: m.ID, FromRev: m.Rev, To: s})
		if err != nil {
			t.Fatal(err)
		}
		m = got
	}
	return m
}

func TestService_CancelModuleBuild(t *testing.T) {
	db := mustStore(t)
	svc := engine.NewService(db, nil, nil, nil)
	ctx := t.Context()
	for _, c := range []struct {
		name   string
		states []rida.ModuleState
		ok     bool
	}{
		{"init", nil, true},
		{"wait", []rida.ModuleState{rida.ModuleWait}, true},
		{"build", []rida.ModuleState{rida.ModuleWait, rida.ModuleBuilding}, true},
		{"done", []rida.ModuleState{rida.ModuleWait, rida.ModuleBuilding, rida.ModuleDone}, false},
		{"failed", []rida.ModuleState{rida.ModuleFailed}, false},
		{"ready", []rida.ModuleState{rida.ModuleWait, rida.ModuleBuilding, rida.ModuleDone, rida.ModuleReady}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := mustBuild(t, db, "mod-"+c.name, c.states...)
			got, err := svc.CancelModuleBuild(ctx, m.ID, "carol")
			if !c.ok {
				if rida.ErrorCodeOf(err) != rida.CodeInvalid || !strings.Contains(err.Error(), "build, init, wait") {
					t.Fatalf("cancel in %s: %v, want an invalid-state error", c.name, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			last := got.StateTrace[len(got.StateTrace)-1]
			if got.State != rida.ModuleFailed || got.StateReason != "Canceled by carol." || last.Reason != "Canceled by carol." || got.TimeCompleted == nil {
				t.Errorf("after cancel: state %v reason %q trace %+v completed %v", got.State, got.StateReason, last, got.TimeCompleted)
			}
		})
	}
	if _, err := svc.CancelModuleBuild(ctx, 9999, "carol"); !errors.Is(err, rida.ErrModuleBuildNotFound) {
		t.Errorf("cancel of an unknown build: %v", err)
	}
}

// TestService_CancelConcurrent cancels one build from many goroutines while
// another writer moves it: exactly one cancel wins, the others see it
// already failed, and the trace has one failed entry.
func TestService_CancelConcurrent(t *testing.T) {
	db := mustStore(t)
	svc := engine.NewService(db, nil, nil, nil)
	m := mustBuild(t, db, "racy")
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = svc.CancelModuleBuild(context.Background(), m.ID, "carol")
		}()
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case rida.ErrorCodeOf(err) != rida.CodeInvalid:
			t.Errorf("loser got %v, want the invalid-state error", err)
		}
	}
	got, err := db.FindModuleBuildByID(t.Context(), m.ID, rida.ModuleBuildInclude{StateTrace: true})
	if err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, tr := range got.StateTrace {
		if rida.ModuleState(tr.State) == rida.ModuleFailed {
			failed++
		}
	}
	if wins != 1 || failed != 1 {
		t.Errorf("%d cancels won and the trace has %d failed entries; want 1 and 1", wins, failed)
	}
}

func TestService_ImportDisabled(t *testing.T) {
	db := mustStore(t)
	for _, svc := range []*engine.Service{
		engine.NewService(db, nil, nil, nil),
		engine.NewService(db, engine.NewImporter(db, nil, engine.ImportConfig{}), nil, nil),
	} {
		_, _, err := svc.ImportModule(t.Context(), rida.ImportRequest{Modulemd: "x"})
		if rida.ErrorCodeOf(err) != rida.CodeForbidden || !strings.Contains(err.Error(), "Import module API is disabled.") {
			t.Errorf("import with imports off: %v", err)
		}
	}
}

// doc returns a modulemd v2 document with the given name and stream and the
// extra lines (indented as data keys) appended.
func doc(name, stream, extra string) string {
	return "document: modulemd\nversion: 2\ndata:\n  name: " + name + "\n  stream: " + stream +
		"\n  version: 1\n  summary: s\n  description: d\n  license:\n    module: [MIT]\n" + extra
}

func TestImporter_Rules(t *testing.T) {
	db := mustStore(t)
	im := engine.NewImporter(db, nil, engine.ImportConfig{Enabled: true})
	for _, c := range []struct {
		name, yaml, wantErr string
		code                rida.ErrorCode
	}{
		{"marking with dash", doc("platform", "f28", "  xmd:\n    mbs:\n      disttag_marking: a-b\n"), "disttag_marking cannot contain a dash", rida.CodeUnprocessable},
		{"virtual streams not a list", doc("platform", "f28", "  xmd:\n    mbs:\n      virtual_streams: fedora\n"), "virtual streams must be a list of strings", rida.CodeUnprocessable},
		{"two dependency blocks", doc("app", "1", "  dependencies:\n  - requires: {a: [\"1\"]}\n  - requires: {b: [\"1\"]}\n"), "should contain just one element", rida.CodeUnprocessable},
		{"unknown base module build", doc("app", "1", "  xmd:\n    mbs:\n      buildrequires:\n        platform: {stream: f99, version: '1', context: '00000000'}\n  dependencies:\n  - buildrequires: {platform: [f99]}\n"), "platform:f99:1:00000000 is not known", rida.CodeUnprocessable},
		{"buildrequires not a mapping", doc("app", "1", "  xmd:\n    mbs:\n      buildrequires: [platform]\n"), "must be a mapping", rida.CodeUnprocessable},
		{"neither SCM URL nor modulemd", "", "Missing scmurl", rida.CodeInvalid},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := im.ImportModule(t.Context(), rida.ImportRequest{Modulemd: c.yaml})
			if rida.ErrorCodeOf(err) != c.code || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("import: %v, want %s error containing %q", err, c.code, c.wantErr)
			}
		})
	}
	// A dash in a base module stream needs a disttag marking.
	if _, _, err := im.ImportModule(t.Context(), rida.ImportRequest{Modulemd: doc("platform", "el-8", "  xmd:\n    mbs:\n      disttag_marking: el8\n")}); err != nil {
		t.Errorf("dash in stream with a marking: %v", err)
	}
	// The base module gets its stream version.
	m, _, err := im.ImportModule(t.Context(), rida.ImportRequest{Modulemd: doc("platform", "f28", "")})
	if err != nil || m.StreamVersion == nil || *m.StreamVersion != 280000 || m.Owner != "mbs_import" || m.State != rida.ModuleReady {
		t.Errorf("platform import = %+v, %v", m, err)
	}
	// An allowed SCM URL needs a configured SCM.
	im = engine.NewImporter(db, nil, engine.ImportConfig{Enabled: true, SCMPolicy: rida.SCMPolicy{AllowedPrefixes: []string{"https://src.example.org/"}}})
	_, _, err = im.ImportModule(t.Context(), rida.ImportRequest{SCMURL: "https://src.example.org/modules/platform.git?#abc"})
	if rida.ErrorCodeOf(err) != rida.CodeUnavailable {
		t.Errorf("import from SCM without an SCM client: %v, want unavailable", err)
	}
}
