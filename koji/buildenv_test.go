package koji_test

import (
	"testing"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/koji"
	"github.com/rida-build/rida/koji/kojitest"
)

func adminClient(t *testing.T, hub *kojitest.FakeHub) *koji.Client {
	t.Helper()
	c, err := koji.NewClient(koji.ClientConfig{HTTPClient: hub.Client(), Profile: koji.Profile{
		Name: "test", Server: hub.URL(), AuthType: koji.AuthPassword, User: "kojiadmin", Password: "kojiadmin"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(t.Context()); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestClient_KeepsCountingAfterRenewal: the hub keeps a session's callnum
// across a renewal, so the client must too.
func TestClient_KeepsCountingAfterRenewal(t *testing.T) {
	hub := kojitest.NewHub(t, kojitest.Options{})
	c := adminClient(t, hub)
	for range 3 {
		// createTag commits, so the hub records its callnum.
		if _, err := c.Call(t.Context(), "getLoggedInUser"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Call(t.Context(), "createTag", "before-renewal"); err != nil {
		t.Fatal(err)
	}
	for _, id := range hub.SessionIDs("kojiadmin") {
		hub.ExpireSession(id)
	}
	if _, err := c.Call(t.Context(), "createTag", "renewed"); err != nil {
		t.Fatalf("the call that renews: %v", err)
	}
	if _, err := c.Call(t.Context(), "createTag", "after-renewal"); err != nil {
		t.Fatalf("the call after the renewal: %v", err)
	}
}

func testEnvironment() koji.Environment {
	return koji.Environment{
		Tag: "module-hello-main-1-c0ffee00", Target: "module-hello-main-1-c0ffee00",
		Arches: []string{"x86_64", "aarch64"}, Perm: "admin",
		Extra:    map[string]any{"mock.package_manager": "dnf", "repo_include_all": true},
		Packages: []string{"hello", "hello-data"}, Owner: "kojiadmin", Blocked: []string{"old-hello"},
		Groups:  map[string][]string{"build": {"bash", "rpm-build"}, "srpm-build": {"bash"}},
		Parents: []string{"platform-f40-build", "module-dep-1-1-cafe0000"},
	}
}

// TestPrepareEnvironment makes the environment in the fake hub, checks it
// with the hub's own reads, and prepares it again: the second time only
// reads are made.
func TestPrepareEnvironment(t *testing.T) {
	hub := kojitest.NewHub(t, kojitest.Options{})
	c := adminClient(t, hub)
	ctx := t.Context()
	for _, parent := range []string{"platform-f40-build", "module-dep-1-1-cafe0000"} {
		if _, err := c.Call(ctx, "createTag", parent); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Call(ctx, "packageListAdd", "platform-f40-build", "old-hello", kojiOwner()); err != nil {
		t.Fatal(err)
	}
	env := testEnvironment()
	if err := c.PrepareEnvironment(ctx, env); err != nil {
		t.Fatal(err)
	}

	var tag struct {
		Arches string         `xmlrpc:"arches"`
		Perm   string         `xmlrpc:"perm"`
		Extra  map[string]any `xmlrpc:"extra"`
	}
	for _, name := range []string{env.Tag, env.BuildTag()} {
		if err := c.CallInto(ctx, &tag, "getTag", name); err != nil {
			t.Fatal(err)
		}
		if tag.Arches != "aarch64 x86_64" || tag.Perm != "admin" || tag.Extra["repo_include_all"] != true {
			t.Errorf("%s: %+v", name, tag)
		}
	}
	var target struct {
		Build string `xmlrpc:"build_tag_name"`
		Dest  string `xmlrpc:"dest_tag_name"`
	}
	if err := c.CallInto(ctx, &target, "getBuildTarget", env.Target); err != nil || target.Build != env.BuildTag() || target.Dest != env.Tag {
		t.Errorf("target %+v, %v", target, err)
	}
	var links []struct {
		Name     string `xmlrpc:"name"`
		Priority int    `xmlrpc:"priority"`
	}
	if err := c.CallInto(ctx, &links, "getInheritanceData", env.BuildTag()); err != nil {
		t.Fatal(err)
	}
	if len(links) != 2 || links[0].Name != "platform-f40-build" || links[0].Priority != 0 || links[1].Priority != 10 {
		t.Errorf("inheritance %+v", links)
	}
	var groups []struct {
		Name     string `xmlrpc:"name"`
		Packages []struct {
			Package string `xmlrpc:"package"`
		} `xmlrpc:"packagelist"`
	}
	if err := c.CallInto(ctx, &groups, "getTagGroups", env.BuildTag()); err != nil {
		t.Fatal(err)
	}
	if len(groups) != 2 {
		t.Errorf("groups %+v", groups)
	}
	var pkgs []struct {
		Name    string `xmlrpc:"package_name"`
		Blocked bool   `xmlrpc:"blocked"`
	}
	if err := c.CallInto(ctx, &pkgs, "listPackages", kwTag(env.BuildTag())); err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, p := range pkgs {
		listed[p.Name] = p.Blocked
	}
	if blocked, ok := listed["old-hello"]; !ok || !blocked || len(listed) != 3 {
		t.Errorf("build tag packages %v", listed)
	}

	// Again: nothing to create or change.
	hub.ResetCalls()
	if err := c.PrepareEnvironment(ctx, env); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"createTag", "editTag2", "packageListAdd", "packageListBlock", "groupListAdd",
		"groupPackageListAdd", "createBuildTarget", "setInheritanceData"} {
		if n := hub.CountCalls(m); n != 0 {
			t.Errorf("second prepare called %s %d times", m, n)
		}
	}
	t.Logf("second prepare: %d requests", len(hub.Calls()))

	// A changed arch list is an edit, not a new tag.
	env.Arches = []string{"x86_64"}
	if err := c.PrepareEnvironment(ctx, env); err != nil {
		t.Fatal(err)
	}
	if hub.CountCalls("editTag2") != 2 || hub.CountCalls("createTag") != 0 {
		t.Errorf("editTag2 %d, createTag %d", hub.CountCalls("editTag2"), hub.CountCalls("createTag"))
	}
}

func TestPrepareEnvironment_TargetElsewhere(t *testing.T) {
	hub := kojitest.NewHub(t, kojitest.Options{})
	c := adminClient(t, hub)
	ctx := t.Context()
	for _, name := range []string{"other", "other-build"} {
		if _, err := c.Call(ctx, "createTag", name); err != nil {
			t.Fatal(err)
		}
	}
	env := testEnvironment()
	env.Parents = nil
	if _, err := c.Call(ctx, "createBuildTarget", env.Target, "other-build", "other"); err != nil {
		t.Fatal(err)
	}
	err := c.PrepareEnvironment(ctx, env)
	if rida.ErrorCodeOf(err) != rida.CodeConflict {
		t.Errorf("err = %v", err)
	}
}

func TestPrepareEnvironment_MissingParent(t *testing.T) {
	hub := kojitest.NewHub(t, kojitest.Options{})
	c := adminClient(t, hub)
	env := testEnvironment()
	err := c.PrepareEnvironment(t.Context(), env)
	if koji.FaultCode(err) != koji.FaultGeneric {
		t.Errorf("err = %v, want the hub's GenericError for the missing parent tag", err)
	}
}
