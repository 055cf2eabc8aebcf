package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rida-build/rida"
	"github.com/rida-build/rida/git/gittest"
	"github.com/rida-build/rida/sqlstore"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// clock is a fixed time that tests move forward explicitly.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// runningServer is "rida serve" started through Main on a free port.
type runningServer struct {
	base string
	db   string
}

// startServer runs "rida serve" with the extra args on :0 over the SQLite
// file dbPath and stops it at the end of the test.
func startServer(t *testing.T, dbPath string, clk *clock, extra ...string) *runningServer {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	addr := make(chan string, 1)
	var stderr bytes.Buffer
	env := map[string]string{"RIDA_SCM_CACHE_DIR": filepath.Join(t.TempDir(), "git-cache"), "RIDA_LOCAL_WORKDIR": filepath.Join(t.TempDir(), "builds")}
	m := &Main{Stdout: io.Discard, Stderr: &lockedWriter{w: &stderr}, Getenv: func(k string) string { return env[k] }, Now: clk.Now,
		Ready: func(a string) { addr <- a }}
	done := make(chan error, 1)
	// The seeded builds are fixtures: no engine moves them.
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--db", "sqlite:" + dbPath, "--log-level", "warn", "--no-engine"}, extra...)
	go func() { done <- m.Run(ctx, args) }()
	var a string
	select {
	case a = <-addr:
	case err := <-done:
		t.Fatalf("rida serve exited before listening: %v\n%s", err, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("rida serve did not listen within 30s")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("rida serve: %v", err)
		}
	})
	return &runningServer{base: "http://" + a, db: dbPath}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// seed writes a small, varied set of builds through the store, the way the
// engine will: create, then compare-and-set transitions.
func seed(t *testing.T, dbPath string, clk *clock) {
	t.Helper()
	ctx := t.Context()
	db, err := sqlstore.Open(ctx, "sqlite:"+dbPath, sqlstore.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	create := func(m *rida.ModuleBuild) *rida.ModuleBuild {
		t.Helper()
		if err := db.CreateModuleBuild(ctx, m); err != nil {
			t.Fatalf("create %s: %v", m.NSVC(), err)
		}
		return m
	}
	move := func(m *rida.ModuleBuild, to rida.ModuleState, reason string) {
		t.Helper()
		clk.Add(time.Minute)
		got, err := db.TransitionModuleBuild(ctx, rida.ModuleTransition{ID: m.ID, FromRev: m.Rev, To: to, Reason: reason})
		if err != nil {
			t.Fatalf("transition %d to %v: %v", m.ID, to, err)
		}
		*m = *got
	}
	moveComp := func(c *rida.ComponentBuild, to rida.ComponentState, reason string, task int64, nvr string) {
		t.Helper()
		clk.Add(time.Minute)
		got, err := db.TransitionComponentBuild(ctx, rida.ComponentTransition{ID: c.ID, FromRev: c.Rev, To: to, Reason: reason, TaskID: task, NVR: nvr})
		if err != nil {
			t.Fatalf("transition component %d to %v: %v", c.ID, to, err)
		}
		*c = *got
	}
	mmd := "document: modulemd\nversion: 2\ndata:\n  name: nginx\n  stream: \"1.10\"\n  summary: <nginx> & friends\n"
	nginx := create(&rida.ModuleBuild{
		Name: "nginx", Stream: "1.10", Version: 20180205135154, Context: "b8661ee4",
		BuildContext: "e3f4", RuntimeContext: "a1b2", State: rida.ModuleInit, Owner: "mprahl",
		SCMURL:   "git://pkgs.example.org/modules/nginx.git?#ba95886c7a443b36a9ce31abda1f9bef22f2f8c9",
		Modulemd: mmd, RebuildStrategy: rida.RebuildChangedAndAfter,
		BuildRequires: map[string]rida.BuildRequire{"platform": {Stream: "f28", Version: "3", Context: "00000000", Ref: "virtual", KojiTag: "module-f28-build"}},
		Components: []*rida.ComponentBuild{
			{Package: "module-build-macros", Format: rida.FormatRPMs, SCMURL: "/tmp/module-build-macros-0.1-1.src.rpm", Batch: 1, BuildTimeOnly: true, State: rida.ComponentWaiting},
			{Package: "nginx", Format: rida.FormatRPMs, SCMURL: "git://pkgs.example.org/rpms/nginx?#ga95886c8a443b36a9ce31abda1f9bef22f2f8c9", Ref: "ga95886c8a443b36a9ce31abda1f9bef22f2f8c9", BuildOrder: 1, Batch: 2, State: rida.ComponentWaiting},
			{Package: "libngx", Format: rida.FormatRPMs, SCMURL: "git://pkgs.example.org/rpms/libngx?#aa95886c8a443b36a9ce31abda1f9bef22f2f8c9", Ref: "aa95886c8a443b36a9ce31abda1f9bef22f2f8c9", BuildOrder: 1, Batch: 2, State: rida.ComponentWaiting},
		},
	})
	sibling := create(&rida.ModuleBuild{
		Name: "nginx", Stream: "1.10", Version: 20180205135154, Context: "6c81f848", State: rida.ModuleInit,
		Owner: "mprahl", Modulemd: mmd, RebuildStrategy: rida.RebuildChangedAndAfter,
	})
	clk.Add(time.Hour)
	postgres := create(&rida.ModuleBuild{
		Name: "postgresql", Stream: "9.6", Version: 20180816142114, Context: "00000000", State: rida.ModuleInit,
		Owner: "alice", Modulemd: "document: modulemd\nversion: 2\n", RebuildStrategy: rida.RebuildAll,
	})
	failing := create(&rida.ModuleBuild{
		Name: "testmodule", Stream: "master", Version: 1, Context: "c2c572ec", State: rida.ModuleInit,
		Owner: "bob", Modulemd: "document: modulemd\nversion: 2\n", RebuildStrategy: rida.RebuildChangedAndAfter, Scratch: true,
		Components: []*rida.ComponentBuild{{Package: "perl-Tangerine", Format: rida.FormatRPMs, Batch: 2, State: rida.ComponentWaiting}},
	})

	macros, nginxComp := nginx.Components[0], nginx.Components[1]
	perl := failing.Components[0]
	move(nginx, rida.ModuleWait, "")
	move(nginx, rida.ModuleBuilding, "")
	moveComp(macros, rida.ComponentBuilding, "Submitted module-build-macros to Koji", 6378, "")
	moveComp(macros, rida.ComponentComplete, "", 0, "module-build-macros-0.1-1.module+b8661ee4")
	moveComp(nginxComp, rida.ComponentBuilding, "Submitted nginx to Koji", 6379, "")

	for _, s := range []rida.ModuleState{rida.ModuleWait, rida.ModuleBuilding, rida.ModuleDone, rida.ModuleReady} {
		move(sibling, s, "")
	}
	move(failing, rida.ModuleWait, "")
	move(failing, rida.ModuleBuilding, "")
	moveComp(perl, rida.ComponentBuilding, "Submitted perl-Tangerine to Koji", 7001, "")
	moveComp(perl, rida.ComponentFailed, "Failed to build artifact perl-Tangerine in Koji", 0, "")
	move(failing, rida.ModuleFailed, "Component(s) perl-Tangerine failed to build.")
	_ = postgres
}

// request is one HTTP exchange checked against testdata/golden/<name>.json.
type request struct {
	name, method, path, body string
}

// exchange is what the golden files record of a response.
type exchange struct {
	Request string            `json:"request"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers"`
	Body    any               `json:"body"`
}

var hostPort = regexp.MustCompile(`http://127\.0\.0\.1:\d+`)

func do(t *testing.T, base string, r request) exchange {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), r.method, base+r.path, strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	if r.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q, want application/json; body %s", r.method, r.path, ct, data)
	}
	if resp.Header.Get("X-Request-ID") == "" {
		t.Errorf("%s %s: no X-Request-ID header", r.method, r.path)
	}
	var body any
	if err := json.Unmarshal(hostPort.ReplaceAll(data, []byte("http://rida.test")), &body); err != nil {
		t.Fatalf("%s %s: body is not JSON: %v\n%s", r.method, r.path, err, data)
	}
	ex := exchange{Request: r.method + " " + r.path, Status: resp.StatusCode, Headers: map[string]string{}, Body: body}
	for _, h := range []string{"Allow", "Access-Control-Allow-Origin"} {
		if v := resp.Header.Get(h); v != "" {
			ex.Headers[h] = v
		}
	}
	if m, ok := body.(map[string]any); ok && resp.StatusCode >= 400 {
		if m["status"] != float64(resp.StatusCode) || m["error"] != http.StatusText(resp.StatusCode) || m["message"] == "" {
			t.Errorf("%s %s: error body %s does not match status %d", r.method, r.path, data, resp.StatusCode)
		}
	}
	return ex
}

func checkGolden(t *testing.T, name string, got exchange) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".json")
	if *update {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(got); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./cmd/rida -run %s -update to create it)", err, t.Name())
	}
	var want exchange
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	// Round-trip got through JSON so both sides have the same types.
	var norm exchange
	b, _ := json.Marshal(got)
	_ = json.Unmarshal(b, &norm)
	if diff := cmp.Diff(want, norm); diff != "" {
		t.Errorf("%s: response differs from %s (-want +got):\n%s", got.Request, path, diff)
	}
}

// TestServe_Routes runs "rida serve" and checks every route and error code
// against golden JSON.
func TestServe_Routes(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
	dbPath := filepath.Join(t.TempDir(), "rida.db")
	seed(t, dbPath, clk)
	srv := startServer(t, dbPath, clk)
	big := `{"state": "failed", "owner": "` + strings.Repeat("x", 2<<20) + `"}`
	const mbs = "/module-build-service"
	for _, r := range []request{
		{"seed_list", "GET", "/rida/module-builds/", ""},
		{"seed_get", "GET", "/rida/module-builds/1", ""},
		{"seed_get_not_found", "GET", "/rida/module-builds/999", ""},
		{"seed_get_bad_id", "GET", "/rida/module-builds/abc", ""},
		{"seed_post_scm_not_allowed", "POST", "/rida/module-builds/", `{"scmurl": "git://pkgs.example.org/modules/foo.git/foo.yaml?#f1d2d2f924e986ac86fdf7b36c94bcdf32beec15"}`},
		{"seed_post_no_scmurl", "POST", "/rida/module-builds/", `{}`},
		{"seed_put_not_allowed", "PUT", "/rida/module-builds/", `{}`},
		{"unknown_url", "GET", "/nowhere", ""},
		{"list_default", "GET", mbs + "/1/module-builds/", ""},
		{"list_short", "GET", mbs + "/2/module-builds/?short=true", ""},
		{"list_verbose_page", "GET", mbs + "/2/module-builds/?verbose=1&per_page=1&page=2", ""},
		{"list_filtered", "GET", mbs + "/1/module-builds/?state=ready&name=nginx&short=true", ""},
		{"list_states_numeric", "GET", mbs + "/1/module-builds/?state=4&state=build&short=true", ""},
		{"list_nsvc", "GET", mbs + "/1/module-builds/?nsvc=nginx:1.10:20180205135154&short=true&order_by=context", ""},
		{"list_order_desc", "GET", mbs + "/1/module-builds/?order_desc_by=name&order_desc_by=context&short=true", ""},
		{"list_submitted_after", "GET", mbs + "/1/module-builds/?submitted_after=2026-11-21T10:30:00.123Z&short=true", ""},
		{"list_owner_scratch", "GET", mbs + "/1/module-builds/?owner=bob&scratch=true&short=true", ""},
		{"list_both_orders", "GET", mbs + "/1/module-builds/?order_by=id&order_desc_by=id", ""},
		{"list_bad_order_key", "GET", mbs + "/1/module-builds/?order_by=nope", ""},
		{"list_per_page_over_bound", "GET", mbs + "/1/module-builds/?per_page=501", ""},
		{"list_bad_page", "GET", mbs + "/1/module-builds/?page=0", ""},
		{"list_bad_state", "GET", mbs + "/1/module-builds/?state=bogus", ""},
		{"list_id_param", "GET", mbs + "/1/module-builds/?id=1", ""},
		{"list_bad_time", "GET", mbs + "/1/module-builds/?completed_before=yesterday", ""},
		{"list_bad_version", "GET", mbs + "/1/module-builds/?version=abc", ""},
		{"list_bad_scratch", "GET", mbs + "/1/module-builds/?scratch=maybe", ""},
		{"list_base_module_br_none", "GET", mbs + "/1/module-builds/?base_module_br=platform:f28:3:00000000&short=true", ""},
		{"list_bad_base_module_br", "GET", mbs + "/1/module-builds/?base_module_br=platform:f28", ""},
		{"list_bad_stream_version_lte", "GET", mbs + "/1/module-builds/?stream_version_lte=99", ""},
		{"list_rpm_filter", "GET", mbs + "/1/module-builds/?rpm=nginx-1.10.1-2.x86_64.rpm", ""},
		{"list_bad_api_version", "GET", mbs + "/3/module-builds/", ""},
		{"get_default", "GET", mbs + "/1/module-builds/1", ""},
		{"get_short", "GET", mbs + "/1/module-builds/1?short=true", ""},
		{"get_verbose", "GET", mbs + "/2/module-builds/1?verbose=true", ""},
		{"get_failed_verbose", "GET", mbs + "/2/module-builds/4?verbose=true", ""},
		{"get_not_found", "GET", mbs + "/1/module-builds/999", ""},
		{"get_bad_api_version", "GET", mbs + "/0/module-builds/1", ""},
		{"put_not_allowed", "PUT", mbs + "/1/module-builds/1", `{}`},
		{"post_scm_not_allowed", "POST", mbs + "/1/module-builds/", `{"scmurl": "https://src.example.org/modules/testmodule.git?#620ec77", "branch": "main"}`},
		{"post_invalid_scmurl", "POST", mbs + "/1/module-builds/", `{"scmurl": "git://x", "branch": "main"}`},
		{"post_yaml_refused", "POST", mbs + "/2/module-builds/", `{"modulemd": "document: modulemd\nversion: 2\n"}`},
		{"components", "GET", mbs + "/1/component-builds/", ""},
		{"components_of_module", "GET", mbs + "/1/component-builds/?module_build=1&order_by=id", ""},
		{"components_by_state", "GET", mbs + "/1/component-builds/?state=complete&state=FAILED", ""},
		{"components_bad_state", "GET", mbs + "/1/component-builds/?state=waiting", ""},
		{"components_bad_tagged", "GET", mbs + "/1/component-builds/?tagged=perhaps", ""},
		{"component_get", "GET", mbs + "/1/component-builds/2", ""},
		{"component_get_verbose", "GET", mbs + "/2/component-builds/1?verbose=true", ""},
		{"component_not_found", "GET", mbs + "/1/component-builds/999", ""},
		{"about", "GET", mbs + "/1/about/", ""},
		{"rebuild_strategies", "GET", mbs + "/2/rebuild-strategies/", ""},
		{"patch_invalid_json", "PATCH", mbs + "/1/module-builds/3", `{"state": `},
		{"patch_unknown_key", "PATCH", mbs + "/1/module-builds/3", `{"state": "failed", "colour": "red"}`},
		{"patch_wrong_type", "PATCH", mbs + "/1/module-builds/3", `{"state": "failed", "owner": 7}`},
		{"patch_missing_state", "PATCH", mbs + "/1/module-builds/3", `{}`},
		{"patch_bad_state", "PATCH", mbs + "/1/module-builds/3", `{"state": "done"}`},
		{"patch_not_cancelable", "PATCH", mbs + "/1/module-builds/2", `{"state": "failed"}`},
		{"patch_not_found", "PATCH", mbs + "/1/module-builds/999", `{"state": "failed"}`},
		{"patch_too_large", "PATCH", mbs + "/1/module-builds/3", big},
		{"patch_cancel", "PATCH", mbs + "/2/module-builds/3", `{"state": "failed", "owner": "carol"}`},
		{"patch_cancel_again", "PATCH", mbs + "/2/module-builds/3", `{"state": 4}`},
	} {
		t.Run(r.name, func(t *testing.T) {
			checkGolden(t, r.name, do(t, srv.base, r))
		})
	}
}

// TestServe_Maintenance checks that maintenance mode refuses writes with 503
// and still answers reads.
func TestServe_Maintenance(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
	dbPath := filepath.Join(t.TempDir(), "rida.db")
	seed(t, dbPath, clk)
	srv := startServer(t, dbPath, clk, "--maintenance")
	for _, r := range []request{
		{"maintenance_patch", "PATCH", "/module-build-service/1/module-builds/3", `{"state": "failed"}`},
		{"maintenance_get", "GET", "/rida/module-builds/3", ""},
	} {
		t.Run(r.name, func(t *testing.T) { checkGolden(t, r.name, do(t, srv.base, r)) })
	}
}

// TestServe_EmptyDatabase is the quickstart's first request.
func TestServe_EmptyDatabase(t *testing.T) {
	clk := &clock{t: time.Now()}
	srv := startServer(t, filepath.Join(t.TempDir(), "rida.db"), clk)
	resp, err := http.Get(srv.base + "/rida/module-builds/")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "[]\n" {
		t.Errorf("GET /rida/module-builds/ = %d %q, want 200 \"[]\\n\"", resp.StatusCode, body)
	}
}

// TestCLI_ListShow runs the client commands against a served database.
func TestCLI_ListShow(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
	dbPath := filepath.Join(t.TempDir(), "rida.db")
	seed(t, dbPath, clk)
	srv := startServer(t, dbPath, clk)
	run := func(args ...string) (string, error) {
		var out, errOut bytes.Buffer
		m := &Main{Stdout: &out, Stderr: &errOut, Getenv: func(string) string { return "" }, Now: clk.Now}
		err := m.Run(t.Context(), append(args, "--server", srv.base))
		return out.String() + errOut.String(), err
	}
	for _, c := range []struct {
		name string
		args []string
	}{
		{"cli_list", []string{"list"}},
		{"cli_list_filtered", []string{"list", "--name", "nginx", "--state", "ready,build"}},
		{"cli_show", []string{"show", "1"}},
		{"cli_show_json", []string{"show", "4", "-o", "json"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := run(c.args...)
			if err != nil {
				t.Fatalf("rida %s: %v\n%s", strings.Join(c.args, " "), err, out)
			}
			checkGoldenText(t, c.name, hostPort.ReplaceAllString(out, "http://rida.test"))
		})
	}
	if _, err := run("show", "999"); err == nil || !strings.Contains(err.Error(), "No such module found.") {
		t.Errorf("rida show 999: error %v, want No such module found.", err)
	}
	if _, err := run("list", "--state", "bogus"); err == nil || !strings.Contains(err.Error(), "Invalid state was supplied: bogus") {
		t.Errorf("rida list --state bogus: error %v", err)
	}
}

func checkGoldenText(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".txt")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}

// TestMigrate checks "rida migrate status" before and after "up".
func TestMigrate(t *testing.T) {
	dsn := "sqlite:" + filepath.Join(t.TempDir(), "rida.db")
	run := func(args ...string) string {
		var out bytes.Buffer
		m := &Main{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }, Now: time.Now}
		if err := m.Run(t.Context(), append(args, "--db", dsn)); err != nil {
			t.Fatalf("rida %v: %v\n%s", args, err, out.String())
		}
		return out.String()
	}
	if out := run("migrate", "status"); !strings.Contains(out, "pending") || strings.Contains(out, "applied") {
		t.Errorf("status before up:\n%s", out)
	}
	if out := run("migrate", "up"); strings.Contains(out, "pending") || !strings.Contains(out, "applied") {
		t.Errorf("up:\n%s", out)
	}
}

// TestConfig_Layers checks defaults → file → environment → flags, and that
// unknown keys in the file are refused.
func TestConfig_Layers(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "rida.yaml")
	if err := os.WriteFile(file, []byte("listen: 0.0.0.0:9000\ndb: sqlite:/var/lib/rida.db\nlog:\n  level: debug\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"RIDA_CONFIG": file, "RIDA_DB": "postgres://db/rida"}
	m := &Main{Stdout: io.Discard, Stderr: io.Discard, Getenv: func(k string) string { return env[k] }, Now: time.Now}
	cmd := m.serveCmd()
	if err := cmd.ParseFlags([]string{"--log-level", "warn"}); err != nil {
		t.Fatal(err)
	}
	c, err := m.loadConfig(cmd.Flags())
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "0.0.0.0:9000" || c.DB != "postgres://db/rida" || c.Log.Level != "warn" || c.Log.Format != "text" {
		t.Errorf("config = %+v", c)
	}

	if err := os.WriteFile(file, []byte("listen: x\nlisten_address: y\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = m.loadConfig(m.serveCmd().Flags())
	if err == nil || !strings.Contains(err.Error(), "listen_address") {
		t.Errorf("unknown key: error %v, want one naming listen_address", err)
	}
	env["RIDA_MAINTENANCE"] = "sometimes"
	if err := os.WriteFile(file, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = m.loadConfig(m.serveCmd().Flags())
	if err == nil || !strings.Contains(err.Error(), "RIDA_MAINTENANCE") {
		t.Errorf("bad env: error %v, want one naming RIDA_MAINTENANCE", err)
	}
}

func TestExitCode(t *testing.T) {
	var buf bytes.Buffer
	if got := exitCode(rida.Errorf(rida.CodeNotFound, "No such module found."), &buf); got != 1 || buf.String() != "rida: No such module found.\n" {
		t.Errorf("exitCode = %d, %q", got, buf.String())
	}
	buf.Reset()
	if got := exitCode(&exitError{code: 3}, &buf); got != 3 || buf.Len() != 0 {
		t.Errorf("quiet exitError: %d %q", got, buf.String())
	}
	if got := exitCode(fmt.Errorf("wrapped: %w", &exitError{code: 2, err: io.EOF}), &buf); got != 2 {
		t.Errorf("wrapped exitError: %d", got)
	}
}

const platformYAML = `document: modulemd
version: 2
data:
  name: platform
  stream: f28
  version: 3
  context: 00000000
  summary: Fedora 28 traditional base
  description: Fedora 28 traditional base
  license:
    module: [MIT]
  xmd:
    mbs:
      buildrequires: {}
      commit: virtual
      mse: TRUE
      koji_tag: module-f28-build
      virtual_streams: [fedora]
  profiles:
    buildroot:
      rpms: [bash, rpm-build]
    srpm-buildroot:
      rpms: [bash, rpm-build]
`

const nodejsYAML = `document: modulemd
version: 2
data:
  name: nodejs
  stream: "10"
  version: 20180816123225
  context: 6c81f848
  summary: Javascript runtime
  description: Node.js
  license:
    module: [MIT]
  xmd:
    mbs:
      buildrequires:
        platform: {stream: f28, version: "3", context: "00000000", ref: virtual, koji_tag: module-f28-build}
      mse: TRUE
  dependencies:
  - buildrequires:
      platform: [f28]
    requires:
      platform: [f28]
`

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestServe_ImportModule imports base and regular modules through the API,
// from a modulemd body and from a git repository, and checks the errors.
func TestServe_ImportModule(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
	dbPath := filepath.Join(t.TempDir(), "rida.db")
	repos := t.TempDir()
	srv := startServer(t, dbPath, clk, "--allow-scm", "file://"+repos)
	const imp = "/module-build-service/1/import-module/"
	for _, r := range []request{
		{"import_platform", "POST", imp, `{"modulemd": ` + jsonString(platformYAML) + `}`},
		{"import_platform_again", "POST", imp, `{"modulemd": ` + jsonString(platformYAML) + `}`},
		{"import_nodejs", "POST", imp, `{"modulemd": ` + jsonString(nodejsYAML) + `}`},
		{"import_nodejs_verbose", "GET", "/module-build-service/2/module-builds/2?verbose=true", ""},
		{"import_platform_verbose", "GET", "/module-build-service/2/module-builds/1?verbose=true", ""},
		{"list_virtual_stream", "GET", "/module-build-service/1/module-builds/?virtual_stream=fedora&virtual_stream=nope&short=true", ""},
		{"list_base_module_br", "GET", "/module-build-service/1/module-builds/?base_module_br=platform:f28:3:00000000&short=true", ""},
		{"list_base_module_br_fields", "GET", "/module-build-service/1/module-builds/?base_module_br_name=platform&base_module_br_stream_version_lte=290000&short=true", ""},
		{"list_base_module_br_too_new", "GET", "/module-build-service/1/module-builds/?base_module_br_name=platform&base_module_br_stream_version_gte=290000&short=true", ""},
		{"list_stream_version_lte", "GET", "/module-build-service/1/module-builds/?stream_version_lte=289999&short=true", ""},
		{"import_invalid_yaml", "POST", imp, `{"modulemd": "document: modulemd\nversion: 2\ndata:\n  name: x\n  stream: [\n"}`},
		{"import_no_name", "POST", imp, `{"modulemd": "document: modulemd\nversion: 2\ndata:\n  summary: s\n  description: d\n  license:\n    module: [MIT]\n"}`},
		{"import_dash_stream", "POST", imp, `{"modulemd": ` + jsonString(strings.Replace(platformYAML, "stream: f28", "stream: f-28", 1)) + `}`},
		{"import_missing_xmd_br", "POST", imp, `{"modulemd": ` + jsonString(strings.Replace(nodejsYAML, "platform: {stream", "other: {stream", 1)) + `}`},
		{"import_both", "POST", imp, `{"modulemd": "x", "scmurl": "git://x/y?#z"}`},
		{"import_neither", "POST", imp, `{}`},
		{"import_unknown_key", "POST", imp, `{"scmurl": "git://x/y?#z", "branch": "main"}`},
		{"import_not_allowed", "POST", imp, `{"scmurl": "https://evil.example.org/modules/platform.git?#abc"}`},
		{"import_ext_transport", "POST", imp, `{"scmurl": "ext::sh -c touch% /tmp/pwned?#abc"}`},
		{"import_bad_scmurl", "POST", imp, `{"scmurl": "not a url"}`},
	} {
		t.Run(r.name, func(t *testing.T) { checkGolden(t, r.name, do(t, srv.base, r)) })
	}

	// From a real repository: the server resolves the ref and reads
	// <name>.yaml at the repository root.
	gittest.SkipIfNoGit(t)
	url, commit := gittest.MustModuleRepo(t, repos, "platform", strings.Replace(platformYAML, "stream: f28", "stream: f29", 1))
	ex := do(t, srv.base, request{"", "POST", imp, `{"scmurl": "` + url + `?#` + commit + `"}`})
	body, _ := ex.Body.(map[string]any)
	module, _ := body["module"].(map[string]any)
	if ex.Status != 201 || module["stream"] != "f29" || module["scmurl"] != url+"?#"+commit {
		t.Errorf("import from git: %d %v", ex.Status, ex.Body)
	}
	ex = do(t, srv.base, request{"", "POST", imp, `{"scmurl": "` + url + `?#0000000000000000000000000000000000000000"}`})
	if ex.Status != 422 {
		t.Errorf("import of a missing commit: %d %v, want 422", ex.Status, ex.Body)
	}

	// The CLI imports a local file.
	file := filepath.Join(t.TempDir(), "platform.yaml")
	if err := os.WriteFile(file, []byte(strings.Replace(platformYAML, "stream: f28", "stream: f30", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	m := &Main{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }, Now: clk.Now}
	if err := m.Run(t.Context(), []string{"import-module", file, "--server", srv.base}); err != nil {
		t.Fatalf("rida import-module: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "Module platform:f30:3:00000000 imported") {
		t.Errorf("rida import-module printed %q", out.String())
	}
}

const submitModuleYAML = `document: modulemd
version: 2
data:
  summary: A test module
  description: A test module in all its beautiful beauty.
  license:
    module: [MIT]
  dependencies:
  - buildrequires:
      platform: [f28, f29]
    requires:
      platform: [f28, f29]
  components:
    rpms:
      tangerine:
        rationale: Sweet.
        ref: main
`

// TestServe_Submit submits real git repositories through the seed and MBS
// APIs and the CLI: expansion over platform f28 and f29 makes two builds.
func TestServe_Submit(t *testing.T) {
	gittest.SkipIfNoGit(t)
	clk := &clock{t: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
	repos := t.TempDir()
	srv := startServer(t, filepath.Join(t.TempDir(), "rida.db"), clk,
		"--allow-scm", "file://"+repos, "--rpms-base", "file://"+repos+"/rpms")
	for _, stream := range []string{"f28", "f29"} {
		ex := do(t, srv.base, request{"", "POST", "/module-build-service/1/import-module/",
			`{"modulemd": ` + jsonString(strings.ReplaceAll(platformYAML, "f28", stream)) + `}`})
		if ex.Status != 201 {
			t.Fatalf("import platform:%s: %d %v", stream, ex.Status, ex.Body)
		}
	}
	gittest.MustComponentRepo(t, repos, "tangerine")
	url, commit := gittest.MustModuleRepo(t, repos, "testmodule", submitModuleYAML)
	scmurl := url + "?#" + commit

	// The seed API: {"scmurl"} → 201 {"id", "ids"}.
	ex := do(t, srv.base, request{"", "POST", "/rida/module-builds/", `{"scmurl": "` + scmurl + `", "branch": "main"}`})
	body, _ := ex.Body.(map[string]any)
	ids, _ := body["ids"].([]any)
	if ex.Status != 201 || body["id"] == nil || len(ids) != 2 {
		t.Fatalf("seed submit: %d %v", ex.Status, ex.Body)
	}
	ex = do(t, srv.base, request{"", "GET", fmt.Sprintf("/rida/module-builds/%v", body["id"]), ""})
	if got, _ := ex.Body.(map[string]any); ex.Status != 200 || got["state"] != "init" {
		t.Errorf("seed get of a new build: %d %v", ex.Status, ex.Body)
	}

	// The same again: every NSVC exists → 409.
	ex = do(t, srv.base, request{"", "POST", "/module-build-service/2/module-builds/", `{"scmurl": "` + scmurl + `", "branch": "main"}`})
	if ex.Status != 409 {
		t.Errorf("duplicate submission: %d %v", ex.Status, ex.Body)
	}

	// A dry run of a new commit explains and creates nothing.
	url2, commit2 := gittest.MustModuleRepo(t, repos, "othermodule", submitModuleYAML)
	ex = do(t, srv.base, request{"", "POST", "/module-build-service/2/module-builds/?dry_run=true", `{"scmurl": "` + url2 + "?#" + commit2 + `", "branch": "main"}`})
	body, _ = ex.Body.(map[string]any)
	builds, _ := body["builds"].([]any)
	explanation, _ := body["explanation"].([]any)
	if ex.Status != 200 || len(builds) != 2 || len(explanation) == 0 {
		t.Errorf("dry run: %d %v", ex.Status, ex.Body)
	}

	// MBS v1 answers one object, v2 a list.
	ex = do(t, srv.base, request{"", "POST", "/module-build-service/1/module-builds/", `{"scmurl": "` + url2 + "?#" + commit2 + `", "branch": "main", "owner": "alice"}`})
	if got, _ := ex.Body.(map[string]any); ex.Status != 201 || got["owner"] != "alice" || got["state_name"] != "init" || got["name"] != "othermodule" {
		t.Errorf("v1 submit: %d %v", ex.Status, ex.Body)
	}

	// Errors, each with its status.
	for _, c := range []struct {
		body   string
		status int
		want   string
	}{
		{`{"scmurl": "https://evil.example.org/modules/x.git?#abc", "branch": "main"}`, 403, "is not allowed"},
		{`{"scmurl": "ext::sh -c touch% /tmp/rida-pwned?#abc", "branch": "main"}`, 403, "transport helpers"},
		{`{"scmurl": "file:///etc/modules/x.git?#abc", "branch": "main"}`, 403, "is not allowed"},
		{`{"scmurl": "` + scmurl + `"}`, 400, "Missing branch"},
		{`{"branch": "main"}`, 400, "Missing scmurl"},
		{`{"scmurl": "` + scmurl + `", "branch": "main", "colour": "red"}`, 400, "unspecified parameters: colour"},
		{`{"scmurl": "` + scmurl + `", "branch": "main", "buildrequire_overrides": {"platform": "f28"}}`, 400, "buildrequire_overrides"},
		{`{"scmurl": "` + scmurl + `", "branch": "--upload-pack=touch /tmp/rida-pwned"}`, 400, ""},
		{`{"scmurl": "` + url + `?#` + strings.Repeat("1", 40) + `", "branch": "main"}`, 422, "Perhaps you forgot to push"},
		{`{"scmurl": "` + scmurl + `", "branch": "main", "buildrequire_overrides": {"platform": ["f99"]}}`, 422, ""},
	} {
		ex := do(t, srv.base, request{"", "POST", "/module-build-service/2/module-builds/", c.body})
		msg, _ := ex.Body.(map[string]any)["message"].(string)
		if ex.Status != c.status || !strings.Contains(msg, c.want) {
			t.Errorf("POST %s: %d %q, want %d containing %q", c.body, ex.Status, msg, c.status, c.want)
		}
	}
	if _, err := os.Stat("/tmp/rida-pwned"); err == nil {
		t.Error("an injected git option ran")
	}

	// The CLI: explain, then submit.
	url3, commit3 := gittest.MustModuleRepo(t, repos, "climodule", submitModuleYAML)
	run := func(args ...string) string {
		var out bytes.Buffer
		m := &Main{Stdout: &out, Stderr: &out, Getenv: func(string) string { return "" }, Now: clk.Now}
		if err := m.Run(t.Context(), append(args, "--server", srv.base)); err != nil {
			t.Fatalf("rida %v: %v\n%s", args, err, out.String())
		}
		return out.String()
	}
	if out := run("explain", url3+"?#"+commit3, "--branch", "main"); strings.Count(out, "would build climodule:main:") != 2 || !strings.Contains(out, "buildrequires platform:f29:3:00000000") {
		t.Errorf("rida explain:\n%s", out)
	}
	if out := run("submit", url3+"?#"+commit3, "--branch", "main", "--buildrequire", "platform:f29"); strings.Count(out, "climodule:main:29") != 1 {
		t.Errorf("rida submit --buildrequire platform:f29:\n%s", out)
	}
}

// TestServe_SubmitYAML submits a modulemd file as MBS's multipart form,
// with YAML submission enabled in a configuration file.
func TestServe_SubmitYAML(t *testing.T) {
	gittest.SkipIfNoGit(t)
	clk := &clock{t: time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)}
	repos := t.TempDir()
	config := filepath.Join(t.TempDir(), "rida.yaml")
	if err := os.WriteFile(config, []byte("api:\n  yaml_submit_allowed: true\nscm:\n  allowed_urls: [\"file://"+repos+"\"]\n  rpms_base: file://"+repos+"/rpms\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := startServer(t, filepath.Join(t.TempDir(), "rida.db"), clk, "--config", config)
	ex := do(t, srv.base, request{"", "POST", "/module-build-service/1/import-module/", `{"modulemd": ` + jsonString(platformYAML) + `}`})
	if ex.Status != 201 {
		t.Fatalf("import platform: %d %v", ex.Status, ex.Body)
	}
	gittest.MustComponentRepo(t, repos, "tangerine")

	post := func(fields map[string]string, file string) (int, map[string]any) {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		for k, v := range fields {
			_ = w.WriteField(k, v)
		}
		if file != "" {
			fw, _ := w.CreateFormFile("yaml", "yamlmodule.yaml")
			_, _ = fw.Write([]byte(file))
		}
		w.Close()
		resp, err := http.Post(srv.base+"/module-build-service/2/module-builds/", w.FormDataContentType(), &buf)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		switch b := body.(type) {
		case []any:
			first, _ := b[0].(map[string]any)
			return resp.StatusCode, first
		case map[string]any:
			return resp.StatusCode, b
		}
		return resp.StatusCode, nil
	}
	yaml := strings.Replace(submitModuleYAML, "platform: [f28, f29]", "platform: [f28]", 2)
	status, got := post(map[string]string{"owner": "alice", "module_stream": "devel"}, yaml)
	if status != 201 || got["name"] != "yamlmodule" || got["stream"] != "devel" || got["owner"] != "alice" || got["scmurl"] != nil {
		t.Errorf("multipart YAML submission: %d %v", status, got)
	}
	if status, got := post(map[string]string{"colour": "red"}, yaml); status != 400 || !strings.Contains(got["message"].(string), "colour") {
		t.Errorf("unknown multipart field: %d %v", status, got)
	}
	if status, got := post(map[string]string{"buildrequire_overrides": "{not json"}, yaml); status != 400 {
		t.Errorf("bad overrides: %d %v", status, got)
	}
}
