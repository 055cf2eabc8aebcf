package examples_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rida-build/rida/engine"
	"github.com/rida-build/rida/modulemd"
)

const module = "hello-world"

// components are the example's components in the order of PlanComponents
// (batch, then name), which is also an order they can be built in.
var components = []string{"hello-data", "hello-doc", "hello"}

func readExample(t *testing.T) *modulemd.Stream {
	t.Helper()
	path := filepath.Join(module, module+".yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s, err := modulemd.ReadStream(data, path, modulemd.Options{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestModulemd checks the example modulemd is valid and that planning puts
// hello after hello-data, the point of the example.
func TestModulemd(t *testing.T) {
	s := readExample(t)
	if s.Name != module || s.MdVersion != 2 || s.Summary == "" || s.Description == "" || len(s.ModuleLicenses) == 0 {
		t.Errorf("header: name %q, version %d, summary %q, description %q, licenses %v",
			s.Name, s.MdVersion, s.Summary, s.Description, s.ModuleLicenses)
	}
	if len(s.Dependencies) != 1 {
		t.Fatalf("%d dependency blocks, want 1", len(s.Dependencies))
	}
	commits := map[string]string{}
	for key, c := range s.RPMComponents {
		commits[key] = "0123456789abcdef0123456789abcdef01234567"
		if c.Ref != "main" {
			// rida, like MBS, defaults a component's ref to master; the
			// repositories make-repos.sh makes have only main.
			t.Errorf("component %s has ref %q, want main", key, c.Ref)
		}
		if _, err := os.Stat(filepath.Join(module, key, key+".spec")); err != nil {
			t.Errorf("component %s has no spec: %v", key, err)
		}
	}
	plan, err := engine.PlanComponents(s, engine.PlanOptions{Commits: commits})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	batch := map[string]int{}
	for _, c := range plan[1:] {
		got = append(got, c.Package)
		batch[c.Package] = c.Batch
	}
	if diff := cmp.Diff(components, got); diff != "" {
		t.Errorf("components (-want +got):\n%s", diff)
	}
	if batch["hello"] <= batch["hello-data"] {
		t.Errorf("hello is in batch %d, not after hello-data (%d)", batch["hello"], batch["hello-data"])
	}
}

// makeRepos runs make-repos.sh with no git configuration at all, as on a
// fresh machine, and returns its combined output.
func makeRepos(t *testing.T, dest string) (string, error) {
	t.Helper()
	cmd := exec.Command("bash", "make-repos.sh", dest)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func gitOutput(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("git -C %s %s: %v\n%s", dir, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// TestMakeRepos checks the repositories make-repos.sh makes: one per
// component under rpms/ with its spec at the root, the module's with its
// modulemd, all on branch main; and that it refuses to touch an existing
// DEST.
func TestMakeRepos(t *testing.T) {
	for _, tool := range []string{"bash", "git"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("make-repos.sh needs %s: %v", tool, err)
		}
	}
	dest := t.TempDir()
	if out, err := makeRepos(t, dest); err != nil {
		t.Fatalf("make-repos.sh: %v\n%s", err, out)
	}
	want := map[string]string{filepath.Join(dest, module): module + ".yaml"}
	for _, c := range components {
		want[filepath.Join(dest, "rpms", c)] = c + ".spec"
	}
	for dir, file := range want {
		if head := gitOutput(t, dir, "symbolic-ref", "--short", "HEAD"); head != "main" {
			t.Errorf("%s: HEAD is %q, want main", dir, head)
		}
		if files := gitOutput(t, dir, "ls-tree", "--name-only", "main"); files != file {
			t.Errorf("%s: branch main has %q, want %q", dir, files, file)
		}
		if status := gitOutput(t, dir, "status", "--porcelain"); status != "" {
			t.Errorf("%s: uncommitted changes:\n%s", dir, status)
		}
	}

	out, err := makeRepos(t, dest)
	if err == nil || !strings.Contains(out, "already exists") {
		t.Errorf("second run into the same DEST: err %v, output %q; want a refusal", err, out)
	}
}

// TestSpecsBuild builds each component from the repositories make-repos.sh
// makes, in batch order, into one _topdir, and checks each leaves its
// binary RPM and source RPM.
func TestSpecsBuild(t *testing.T) {
	for _, tool := range []string{"rpmbuild", "bash", "git"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("building the example specs needs %s, which is not installed: %v", tool, err)
		}
	}
	if testing.Short() {
		t.Skip("rpmbuild takes seconds; skipped with -short")
	}
	dest := t.TempDir()
	if out, err := makeRepos(t, dest); err != nil {
		t.Fatalf("make-repos.sh: %v\n%s", err, out)
	}
	topdir := t.TempDir()
	for _, c := range components {
		spec := filepath.Join(dest, "rpms", c, c+".spec")
		cmd := exec.Command("rpmbuild", "-ba", "--nodeps", "--define", "_topdir "+topdir, spec)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("rpmbuild %s: %v\n%s", c, err, out)
		}
		// The version-release glob does not match hello-data-… for hello.
		rpms, _ := filepath.Glob(filepath.Join(topdir, "RPMS", "*", c+"-1.0-*.rpm"))
		srpms, _ := filepath.Glob(filepath.Join(topdir, "SRPMS", c+"-1.0-*.src.rpm"))
		if len(rpms) != 1 || len(srpms) != 1 {
			t.Errorf("%s: RPMs %v, SRPMs %v; want one of each", c, rpms, srpms)
		}
	}
}
