package koji_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/rida-build/rida/koji"
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
