package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/bus"
	"github.com/rida-build/rida/httpapi"
	"github.com/rida-build/rida/mock"
	"github.com/rida-build/rida/sqlstore"
)

// eventServer serves the API over a real SQLite database at path, with the
// commit signal wired as cmd/rida wires it.
func eventServer(t *testing.T, path string) (*httptest.Server, *sqlstore.DB) {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), "sqlite:"+path, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sig := bus.NewSignal()
	db.OnEventsCommitted(sig.Fire)
	svc := &mock.ModuleBuildService{FindModuleBuildByIDFn: db.FindModuleBuildByID}
	cfg := httpapi.DefaultConfig()
	cfg.Events, cfg.EventsChanged = db, sig.Wait
	ts := httptest.NewServer(httpapi.NewServer(svc, nil, cfg))
	t.Cleanup(func() { ts.Close(); db.Close() })
	return ts, db
}

func newBuild(t *testing.T, db *sqlstore.DB) *rida.ModuleBuild {
	t.Helper()
	m := &rida.ModuleBuild{Name: "watched", Stream: "s", Version: 1, Context: "c", State: rida.ModuleInit, Owner: "alice",
		Modulemd: "document: modulemd\nversion: 2\n", RebuildStrategy: rida.RebuildAll,
		Components: []*rida.ComponentBuild{{Package: "a", Format: rida.FormatRPMs, SCMURL: "https://src/rpms/a#x", Batch: 2}}}
	if err := db.CreateModuleBuild(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	return m
}

func move(t *testing.T, db *sqlstore.DB, id int64, to rida.ModuleState) {
	t.Helper()
	m, err := db.FindModuleBuildByID(context.Background(), id, rida.ModuleBuildInclude{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.TransitionModuleBuild(context.Background(), rida.ModuleTransition{ID: id, FromRev: m.Rev, To: to}); err != nil {
		t.Fatal(err)
	}
}

func stateOf(t *testing.T, e httpapi.StreamEvent) string {
	t.Helper()
	var p struct {
		StateName *string `json:"state_name"`
		Package   string  `json:"package"`
	}
	if err := json.Unmarshal(e.Body, &p); err != nil {
		t.Fatal(err)
	}
	name := "waiting"
	if p.StateName != nil {
		name = *p.StateName
	}
	if e.Type == rida.EventComponentStateChanged {
		return p.Package + ":" + name
	}
	return name
}

func TestEventStream_FollowsUntilTheBuildEnds(t *testing.T) {
	ts, db := eventServer(t, filepath.Join(t.TempDir(), "rida.db"))
	m := newBuild(t, db)
	client := httpapi.NewClient(ts.URL, nil)
	got := make(chan httpapi.StreamEvent, 100)
	done := make(chan error, 1)
	// Canceled before the server closes (cleanups run last first), so a
	// failing test does not wait on the open stream.
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() {
		_, err := client.StreamModuleEvents(ctx, m.ID, 0, func(e httpapi.StreamEvent) error { got <- e; return nil })
		done <- err
	}()
	next := func() httpapi.StreamEvent {
		t.Helper()
		select {
		case e := <-got:
			return e
		case <-time.After(10 * time.Second):
			t.Fatal("no event")
		}
		return httpapi.StreamEvent{}
	}
	if e := next(); stateOf(t, e) != "init" || e.Seq == 0 || e.MessageID == "" || e.ModuleBuildID != m.ID {
		t.Fatalf("first event %+v", e)
	}
	// Each change reaches the open stream as it is committed.
	for _, s := range []rida.ModuleState{rida.ModuleWait, rida.ModuleBuilding} {
		move(t, db, m.ID, s)
		if e := next(); stateOf(t, e) != s.String() {
			t.Fatalf("event %s, want %s", stateOf(t, e), s)
		}
	}
	if _, err := db.TransitionComponentBuilds(context.Background(), []rida.ComponentTransition{
		{ID: m.Components[0].ID, FromRev: 1, To: rida.ComponentBuilding, TaskID: 9}}); err != nil {
		t.Fatal(err)
	}
	if e := next(); stateOf(t, e) != "a:BUILDING" || e.ComponentBuildID != m.Components[0].ID {
		t.Fatalf("component event %+v", e)
	}
	select {
	case err := <-done:
		t.Fatalf("stream ended early: %v", err)
	default:
	}
	move(t, db, m.ID, rida.ModuleDone)
	move(t, db, m.ID, rida.ModuleReady)
	if s := stateOf(t, next()); s != "done" {
		t.Fatalf("got %s", s)
	}
	if s := stateOf(t, next()); s != "ready" {
		t.Fatalf("got %s", s)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("stream did not end with the build")
	}
}

func TestEventStream_ResumesAcrossRestartWithoutGaps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rida.db")
	ts, db := eventServer(t, path)
	m := newBuild(t, db)
	move(t, db, m.ID, rida.ModuleWait)
	client := httpapi.NewClient(ts.URL, nil)
	var seen []string
	var seqs []int64
	ctx, cancel := context.WithCancel(context.Background())
	last, err := client.StreamModuleEvents(ctx, m.ID, 0, func(e httpapi.StreamEvent) error {
		seen, seqs = append(seen, stateOf(t, e)), append(seqs, e.Seq)
		if len(seen) == 2 {
			cancel() // the client goes away mid-build
		}
		return nil
	})
	if len(seen) != 2 || last != seqs[1] {
		t.Fatalf("before restart: %v %v (%v)", seen, last, err)
	}
	// The server restarts; changes happen meanwhile.
	ts.Close()
	db.Close()
	ts2, db2 := eventServer(t, path)
	move(t, db2, m.ID, rida.ModuleBuilding)
	move(t, db2, m.ID, rida.ModuleFailed)
	if _, err := db2.TransitionComponentBuilds(context.Background(), []rida.ComponentTransition{
		{ID: m.Components[0].ID, FromRev: 1, To: rida.ComponentCanceled}}); err != nil {
		t.Fatal(err)
	}
	client2 := httpapi.NewClient(ts2.URL, nil)
	if _, err := client2.StreamModuleEvents(context.Background(), m.ID, last, func(e httpapi.StreamEvent) error {
		if e.Seq <= seqs[len(seqs)-1] {
			t.Errorf("seq %d after %d", e.Seq, seqs[len(seqs)-1])
		}
		seen, seqs = append(seen, stateOf(t, e)), append(seqs, e.Seq)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// The stream of the failed build ends once its last component is
	// canceled, with nothing missed across the restart.
	want := []string{"init", "wait", "build", "failed", "a:CANCELED"}
	if strings.Join(seen, " ") != strings.Join(want, " ") {
		t.Fatalf("events %v, want %v", seen, want)
	}
}

func TestEventStream_SSE(t *testing.T) {
	ts, db := eventServer(t, filepath.Join(t.TempDir(), "rida.db"))
	m := newBuild(t, db)
	move(t, db, m.ID, rida.ModuleWait)
	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/rida/module-builds/"+itoa(m.ID)+"/events?follow=false", nil)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	var ids, events []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "id: "):
			ids = append(ids, strings.TrimPrefix(line, "id: "))
		case strings.HasPrefix(line, "event: "):
			events = append(events, strings.TrimPrefix(line, "event: "))
		case strings.HasPrefix(line, "data: "):
			var rec map[string]any
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &rec); err != nil || rec["body"] == nil {
				t.Errorf("data %q: %v", line, err)
			}
		}
	}
	if len(ids) != 2 || strings.Join(events, ",") != "module.state.change,module.state.change" {
		t.Fatalf("ids %v events %v", ids, events)
	}
	// Last-Event-ID resumes after the first.
	req.Header.Set("Last-Event-ID", ids[0])
	resp2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	body := new(strings.Builder)
	sc = bufio.NewScanner(resp2.Body)
	for sc.Scan() {
		body.WriteString(sc.Text() + "\n")
	}
	if strings.Count(body.String(), "id: ") != 1 || !strings.Contains(body.String(), "id: "+ids[1]+"\n") {
		t.Errorf("resumed stream:\n%s", body)
	}
}

func TestEventStream_BadRequests(t *testing.T) {
	ts, db := eventServer(t, filepath.Join(t.TempDir(), "rida.db"))
	m := newBuild(t, db)
	for _, c := range []struct {
		path   string
		status int
		msg    string
	}{
		{"/rida/module-builds/x/events", 400, "not a positive integer"},
		{"/rida/module-builds/999/events", 404, ""},
		{"/rida/module-builds/" + itoa(m.ID) + "/events?after=-1", 400, "after must be a sequence number"},
		{"/rida/module-builds/" + itoa(m.ID) + "/events?follow=maybe", 400, "follow must be true or false"},
	} {
		resp, err := http.Get(ts.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Message string `json:"message"`
		}
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != c.status || err != nil || !strings.Contains(body.Message, c.msg) {
			t.Errorf("%s: %d %q (%v)", c.path, resp.StatusCode, body.Message, err)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
