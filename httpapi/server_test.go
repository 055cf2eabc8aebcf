package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/rida-build/rida"
	"github.com/rida-build/rida/httpapi"
	"github.com/rida-build/rida/mock"
)

func ptr[T any](v T) *T { return &v }

func newServer(t *testing.T, svc rida.ModuleBuildService, logs *bytes.Buffer) *httptest.Server {
	t.Helper()
	logger := slog.New(slog.DiscardHandler)
	if logs != nil {
		logger = slog.New(slog.NewTextHandler(logs, nil))
	}
	ts := httptest.NewServer(httpapi.NewServer(svc, logger, httpapi.DefaultConfig()))
	t.Cleanup(ts.Close)
	return ts
}

func sampleBuild() *rida.ModuleBuild {
	at := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	done := at.Add(time.Hour)
	return &rida.ModuleBuild{
		ID: 7, Name: "nodejs", Stream: "10-lts", Version: 20180205135154, Context: "6c81f848",
		BuildContext: "bc", RuntimeContext: "rc", State: rida.ModuleReady, StateReason: "Gating passed",
		Owner: "alice", SCMURL: "https://src.example.org/modules/nodejs.git?#abc", Modulemd: "document: modulemd\n",
		KojiTag: "module-nodejs-10-lts-20180205135154-6c81f848", RebuildStrategy: rida.RebuildOnlyChanged,
		Scratch: true, StreamVersion: ptr(280000.0), SRPMs: []string{"cli-build/a.src.rpm"},
		BuildRequires: map[string]rida.BuildRequire{"platform": {Stream: "f28", Version: "3", Context: "00000000"}},
		TimeSubmitted: at, TimeModified: done, TimeCompleted: &done, ReusedModuleID: ptr(int64(3)),
		Siblings:   []int64{8, 9},
		StateTrace: []rida.StateChange{{Time: at, State: 0}, {Time: done, State: 5, Reason: "Gating passed"}},
		Components: []*rida.ComponentBuild{
			{ID: 70, ModuleBuildID: 7, Package: "nodejs", Format: "rpms", TaskID: 99, State: rida.ComponentComplete, NVR: "nodejs-10.1-1.module+6c81f848", StateReason: "ok"},
			{ID: 71, ModuleBuildID: 7, Package: "npm", Format: "rpms", State: rida.ComponentWaiting},
		},
	}
}

// TestClient_AgainstServer runs the Go client against the server over a mock
// service: what the service returns is what the client hands back, and the
// filter the client sends is the filter the service receives.
func TestClient_AgainstServer(t *testing.T) {
	want := sampleBuild()
	var gotFilter rida.ModuleBuildFilter
	var gotCompFilter rida.ComponentBuildFilter
	svc := &mock.ModuleBuildService{
		FindModuleBuildByIDFn: func(_ context.Context, id int64, _ rida.ModuleBuildInclude) (*rida.ModuleBuild, error) {
			if id != 7 {
				return nil, rida.ErrModuleBuildNotFound
			}
			return want, nil
		},
		FindModuleBuildsFn: func(_ context.Context, f rida.ModuleBuildFilter) ([]*rida.ModuleBuild, int, error) {
			gotFilter = f
			return []*rida.ModuleBuild{want}, 41, nil
		},
		FindComponentBuildsFn: func(_ context.Context, f rida.ComponentBuildFilter) ([]*rida.ComponentBuild, int, error) {
			gotCompFilter = f
			return want.Components, len(want.Components), nil
		},
	}
	client := httpapi.NewClient(newServer(t, svc, nil).URL, nil)
	ctx := t.Context()

	got, err := client.FindModuleBuildByID(ctx, 7, rida.ModuleBuildInclude{Components: true})
	if err != nil {
		t.Fatal(err)
	}
	// The API does not publish the compare-and-set counter, the Koji
	// reservation or a component's batch in the module view.
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(rida.ModuleBuild{}, "Rev", "KojiBuildID", "KojiCGToken", "BuildContextNoBMS", "RefBuildContext", "CGBuildKojiTag", "Batch", "NewRepoTaskID")); diff != "" {
		t.Errorf("FindModuleBuildByID (-want +got):\n%s", diff)
	}
	if gotCompFilter.ModuleBuildID == nil || *gotCompFilter.ModuleBuildID != 7 {
		t.Errorf("component filter = %+v, want module 7", gotCompFilter)
	}

	filter := rida.ModuleBuildFilter{
		Name: ptr("nodejs"), Stream: ptr("10-lts"), Version: ptr(uint64(20180205135154)), Owner: ptr("alice"),
		Scratch: ptr(false), Batch: ptr(2), States: []rida.ModuleState{rida.ModuleReady, rida.ModuleDone},
		SubmittedAfter: ptr(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)), KojiTag: ptr("module-x"),
		Order: []rida.Order{{Field: "name", Desc: true}, {Field: "id", Desc: true}}, Page: 3, PerPage: 20,
		VirtualStreams: []string{"fedora", "el8"}, StreamVersionLTE: ptr(280100.0),
		BaseModuleBR: rida.BaseModuleFilter{Name: ptr("platform"), Version: ptr(uint64(3)), StreamVersionGTE: ptr(270000.0)},
	}
	builds, total, err := client.FindModuleBuilds(ctx, filter)
	if err != nil {
		t.Fatal(err)
	}
	if total != 41 || len(builds) != 1 || builds[0].NSVC() != want.NSVC() {
		t.Errorf("FindModuleBuilds = %d builds, total %d", len(builds), total)
	}
	filter.Include = rida.ModuleBuildInclude{Modulemd: true, ComponentTasks: true, StateTrace: true, Siblings: true, VirtualStreams: true, BaseModules: true}
	if diff := cmp.Diff(filter, gotFilter); diff != "" {
		t.Errorf("filter received by the service (-sent +received):\n%s", diff)
	}

	_, err = client.FindModuleBuildByID(ctx, 8, rida.ModuleBuildInclude{})
	if !errors.Is(err, rida.ErrModuleBuildNotFound) {
		t.Errorf("unknown id: error %v, want ErrModuleBuildNotFound", err)
	}
}

func TestServer_ErrorStatuses(t *testing.T) {
	for _, c := range []struct {
		name       string
		err        error
		panicValue any
		status     int
		message    string
		logged     bool
	}{
		{"unavailable", &rida.Error{Code: rida.CodeUnavailable, Message: "The database is unreachable.", Err: errors.New("dial tcp: refused")}, nil, 503, "The database is unreachable.", true},
		{"internal", errors.New("pq: secret detail"), nil, 500, "An internal error occurred.", true},
		{"conflict", rida.ErrStaleWrite, nil, 409, rida.ErrStaleWrite.Message, false},
		{"unprocessable", rida.Errorf(rida.CodeUnprocessable, "bad modulemd"), nil, 422, "bad modulemd", false},
		{"forbidden", rida.Errorf(rida.CodeForbidden, "not allowed"), nil, 403, "not allowed", false},
		{"unauthorized", rida.Errorf(rida.CodeUnauthorized, "who are you"), nil, 401, "who are you", false},
		{"panic", nil, "boom", 500, "An internal error occurred.", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			svc := &mock.ModuleBuildService{FindModuleBuildByIDFn: func(context.Context, int64, rida.ModuleBuildInclude) (*rida.ModuleBuild, error) {
				if c.panicValue != nil {
					panic(c.panicValue)
				}
				return nil, c.err
			}}
			var logs bytes.Buffer
			ts := newServer(t, svc, &logs)
			resp, err := http.Get(ts.URL + "/module-build-service/1/module-builds/1")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body struct {
				Status  int
				Error   string
				Message string
			}
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
			if resp.StatusCode != c.status || body.Status != c.status || body.Message != c.message || body.Error != http.StatusText(c.status) {
				t.Errorf("got %d %+v, want %d %q", resp.StatusCode, body, c.status, c.message)
			}
			id := resp.Header.Get("X-Request-ID")
			failed := strings.Count(logs.String(), "request failed")
			if c.logged && (failed != 1 || !strings.Contains(logs.String(), "request_id="+id)) {
				t.Errorf("want one error log line with request_id=%s, got:\n%s", id, logs.String())
			}
			if !c.logged && failed != 0 {
				t.Errorf("client error logged as a failure:\n%s", logs.String())
			}
		})
	}
}

// FuzzModuleListQuery feeds arbitrary query strings to the list endpoint:
// the answer is always JSON, and never a 500.
func FuzzModuleListQuery(f *testing.F) {
	for _, s := range []string{
		"state=ready&name=nginx", "order_by=id&order_desc_by=id", "per_page=501", "page=-1",
		"submitted_after=2026-11-21T10:30:00.123Z", "nsvc=a:b:c:d:e", "version=18446744073709551616",
		"scratch=maybe", "stream_version=NaN", "batch=99999999999", "state=4&state=build", "%zz",
	} {
		f.Add(s)
	}
	svc := &mock.ModuleBuildService{
		FindModuleBuildsFn: func(_ context.Context, f rida.ModuleBuildFilter) ([]*rida.ModuleBuild, int, error) {
			if f.Page < 1 || f.PerPage < 1 || f.PerPage > rida.MaxPerPage {
				return nil, 0, errors.New("filter passed validation with bad paging")
			}
			return nil, 0, nil
		},
	}
	srv := httpapi.NewServer(svc, nil, httpapi.DefaultConfig())
	f.Fuzz(func(t *testing.T, rawQuery string) {
		req := httptest.NewRequest("GET", "/module-build-service/1/module-builds/", nil)
		req.URL.RawQuery = rawQuery
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != 200 && rec.Code != 400 {
			t.Fatalf("query %q: status %d: %s", rawQuery, rec.Code, rec.Body)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("query %q: body is not JSON: %s", rawQuery, rec.Body)
		}
		if _, err := url.ParseQuery(rawQuery); err == nil && rec.Code == 400 && !strings.Contains(rec.Body.String(), `"message":"`) {
			t.Fatalf("query %q: 400 without a message", rawQuery)
		}
	})
}

// FuzzPatchBody feeds arbitrary bodies to PATCH: the answer is always JSON
// and a 4xx unless the body is a valid cancel request.
func FuzzPatchBody(f *testing.F) {
	for _, s := range []string{`{"state":"failed"}`, `{"state":4}`, `{"state":`, `[]`, `{"owner":1}`, `{"state":"failed"} x`, ``} {
		f.Add(s)
	}
	b := sampleBuild()
	b.State = rida.ModuleBuilding
	svc := &mock.ModuleBuildService{
		FindModuleBuildByIDFn: func(context.Context, int64, rida.ModuleBuildInclude) (*rida.ModuleBuild, error) { return b, nil },
		CancelModuleBuildFn:   func(context.Context, int64, string) (*rida.ModuleBuild, error) { return b, nil },
	}
	srv := httpapi.NewServer(svc, nil, httpapi.DefaultConfig())
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("PATCH", "/module-build-service/2/module-builds/7", strings.NewReader(body))
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code >= 500 || !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("body %q: status %d: %s", body, rec.Code, rec.Body)
		}
	})
}
