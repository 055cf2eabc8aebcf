package koji_test

import (
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/koji"
	"github.com/rida-build/rida/koji/kojitest"
)

// realHub is a client of the hub named by RIDA_TEST_KOJI_URL, logged in as
// RIDA_TEST_KOJI_USER with RIDA_TEST_KOJI_PASSWORD (a development hub with
// password logins); the test is skipped when the URL is unset.
func realHub(t *testing.T) *koji.Client {
	t.Helper()
	url := os.Getenv("RIDA_TEST_KOJI_URL")
	if url == "" {
		t.Skip("RIDA_TEST_KOJI_URL is not set: no real Koji hub to run against")
	}
	c, err := koji.NewClient(koji.ClientConfig{Profile: koji.Profile{Name: "real", Server: url, AuthType: koji.AuthPassword,
		User: os.Getenv("RIDA_TEST_KOJI_USER"), Password: os.Getenv("RIDA_TEST_KOJI_PASSWORD"), MaxRetries: 2, RetryInterval: time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Logout(t.Context()) })
	return c
}

// TestRealHub_Environment makes a module's build environment on a real hub
// twice (the second time with reads only) and deletes it. The user needs
// the admin permission (tags, targets, package lists).
func TestRealHub_Environment(t *testing.T) {
	c := realHub(t)
	ctx := t.Context()
	if v, err := c.Call(ctx, "getAPIVersion"); err != nil || v != int64(1) {
		t.Fatalf("getAPIVersion = %v, %v", v, err)
	}
	tag := fmt.Sprintf("module-rida-test-main-%d-c0ffee00", time.Now().UnixNano())
	env := koji.Environment{Tag: tag, Target: tag, Arches: []string{"x86_64"}, Perm: "admin",
		Extra: koji.DefaultTagExtra(), Packages: []string{"rida-test-pkg"}, Owner: os.Getenv("RIDA_TEST_KOJI_USER"),
		Groups: map[string][]string{"build": {"bash"}, "srpm-build": {"bash"}}}
	t.Cleanup(func() {
		_, _ = c.Call(ctx, "deleteBuildTarget", tag)
		_, _ = c.Call(ctx, "deleteTag", tag+"-build")
		_, _ = c.Call(ctx, "deleteTag", tag)
	})
	for range 2 {
		if err := c.PrepareEnvironment(ctx, env); err != nil {
			t.Fatal(err)
		}
	}
	var target struct {
		Build string `xmlrpc:"build_tag_name"`
		Dest  string `xmlrpc:"dest_tag_name"`
	}
	if err := c.CallInto(ctx, &target, "getBuildTarget", tag); err != nil || target.Build != tag+"-build" || target.Dest != tag {
		t.Errorf("target %+v, %v", target, err)
	}
}

// TestRealHub_ReserveRefund reserves a module's NVR on a real hub
// (RIDA_TEST_KOJI_CG names the content generator the user may act as;
// default module-build-service), checks a second reservation is refused as
// already reserved, refunds it, reserves it again (Koji recycles the build
// id) and refunds it as canceled.
func TestRealHub_ReserveRefund(t *testing.T) {
	c := realHub(t)
	cg := os.Getenv("RIDA_TEST_KOJI_CG")
	if cg == "" {
		cg = koji.DefaultCGName
	}
	reserveRefund(t, c, cg)
}

// TestFakeHub_ReserveRefund runs the real hub's reservation test against
// the fake hub, so the test itself is known to be right.
func TestFakeHub_ReserveRefund(t *testing.T) {
	hub := kojitest.NewHub(t, kojitest.Options{})
	reserveRefund(t, adminClient(t, hub), koji.DefaultCGName)
}

func reserveRefund(t *testing.T, c *koji.Client, cg string) {
	ctx := t.Context()
	nvr := rida.NVR{Name: "rida-test", Version: "main", Release: fmt.Sprintf("%d.c0ffee00", time.Now().UnixNano())}
	id, token, err := c.CGInitBuild(ctx, cg, nvr)
	if err != nil {
		t.Fatalf("CGInitBuild %s as %s: %v", nvr, cg, err)
	}
	if len(token) != 64 {
		t.Errorf("token %q is not 64 hex characters", token)
	}
	if _, _, err := c.CGInitBuild(ctx, cg, nvr); !errors.Is(err, koji.ErrAlreadyReserved) || rida.ErrorCodeOf(err) != rida.CodeConflict {
		t.Errorf("second CGInitBuild = %v, want already reserved (conflict)", err)
	}
	if err := c.CGRefundBuild(ctx, cg, id, "0000000000000000000000000000000000000000000000000000000000000000", rida.ComponentFailed); err == nil {
		t.Error("refund with a wrong token succeeded")
	}
	if err := c.CGRefundBuild(ctx, cg, id, token, rida.ComponentFailed); err != nil {
		t.Fatalf("refund: %v", err)
	}
	again, token2, err := c.CGInitBuild(ctx, cg, nvr)
	if err != nil || again != id || token2 == token {
		t.Fatalf("reserve after refund = build %d token %q, %v; want build %d recycled with a new token", again, token2, err, id)
	}
	if err := c.CGRefundBuild(ctx, cg, id, token2, rida.ComponentCanceled); err != nil {
		t.Fatalf("refund as canceled: %v", err)
	}
	var b struct {
		State int `xmlrpc:"state"`
	}
	if err := c.CallInto(ctx, &b, "getBuild", id); err != nil || b.State != int(rida.ComponentCanceled) {
		t.Errorf("build %d after refund: state %d, %v; want CANCELED", id, b.State, err)
	}
}
