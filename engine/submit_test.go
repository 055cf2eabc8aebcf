package engine_test

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/engine"
	"github.com/rida-build/rida/expand/expandtest"
	"github.com/rida-build/rida/git"
	"github.com/rida-build/rida/git/gittest"
	"github.com/rida-build/rida/sqlstore"
)

// testmoduleYAML buildrequires two platform streams: one submission, two
// builds.
const testmoduleYAML = `document: modulemd
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
        buildorder: 10
      perl-Tangerine:
        rationale: Sweeter.
        ref: main
`

// submitWorld is a store with platform f28 and f29 imported, component and
// module repositories under root, and a Submitter over them.
type submitWorld struct {
	db        *sqlstore.DB
	submitter *engine.Submitter
	root      string
}

func newSubmitWorld(t *testing.T, config engine.SubmitConfig) *submitWorld {
	t.Helper()
	gittest.SkipIfNoGit(t)
	db := mustStore(t)
	root := t.TempDir()
	gittest.MustComponentRepo(t, root, "tangerine")
	gittest.MustComponentRepo(t, root, "perl-Tangerine")
	scm, err := git.New(git.Config{CacheDir: filepath.Join(t.TempDir(), "cache"), AllowedSchemes: []string{"file"}})
	if err != nil {
		t.Fatal(err)
	}
	im := engine.NewImporter(db, nil, engine.ImportConfig{Enabled: true})
	for _, stream := range []string{"f28", "f29"} {
		if _, _, err := im.ImportModule(t.Context(), rida.ImportRequest{Modulemd: doc("platform", stream,
			"  xmd:\n    mbs:\n      buildrequires: {}\n      mse: TRUE\n      koji_tag: module-"+stream+"-build\n")}); err != nil {
			t.Fatal(err)
		}
	}
	resolver := expandtest.New(expandtest.Platform("f28", 1), expandtest.Platform("f29", 1))
	config.SCMPolicy = rida.SCMPolicy{AllowedPrefixes: []string{"file://" + root}}
	config.RPMsBase = "file://" + root + "/rpms"
	config.Now = func() time.Time { return time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC) }
	return &submitWorld{db: db, submitter: engine.NewSubmitter(db, scm, resolver, config), root: root}
}

func TestSubmitter_Submit(t *testing.T) {
	w := newSubmitWorld(t, engine.SubmitConfig{})
	ctx := t.Context()
	url, commit := gittest.MustModuleRepo(t, w.root, "testmodule", testmoduleYAML)
	req := rida.SubmitRequest{SCMURL: url + "?#" + commit, Branch: "main", Owner: "alice"}

	dry := req
	dry.DryRun = true
	sub, err := w.submitter.Submit(ctx, dry)
	if err != nil {
		t.Fatal(err)
	}
	if len(sub.Builds) != 2 || len(sub.Explanation) < 2 || sub.Builds[0].ID != 0 {
		t.Fatalf("dry run = %+v", sub)
	}
	if _, total, _ := w.db.FindModuleBuilds(ctx, rida.ModuleBuildFilter{Name: ptr("testmodule")}); total != 0 {
		t.Fatalf("a dry run created %d builds", total)
	}

	sub, err = w.submitter.Submit(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if len(sub.Builds) != 2 || !sub.Created[0] || !sub.Created[1] {
		t.Fatalf("submission = %+v", sub)
	}
	contexts := map[string]bool{}
	for _, b := range sub.Builds {
		got, err := w.db.FindModuleBuildByID(ctx, b.ID, rida.ModuleBuildInclude{Modulemd: true, BaseModules: true})
		if err != nil {
			t.Fatal(err)
		}
		contexts[got.Context] = true
		platform := got.BuildRequires["platform"]
		// The version is the commit time, prefixed with the platform's
		// stream version (f28 → 28, f29 → 29), as MBS does.
		wantVersion := strings.TrimPrefix(platform.Stream, "f") + gittest.Epoch.UTC().Format("20060102150405")
		if got.State != rida.ModuleInit || got.Owner != "alice" || got.Name != "testmodule" || got.Stream != "main" ||
			len(got.Context) != 8 || got.BuildContext == "" || got.RuntimeContext == "" || got.Commit != commit || !got.MSE {
			t.Errorf("build %d = %+v", b.ID, got)
		}
		if v := got.NSVC(); !strings.Contains(v, ":"+wantVersion+":") {
			t.Errorf("build %s: version, want %s", v, wantVersion)
		}
		if len(got.BaseModules) != 1 || got.BaseModules[0].Stream != platform.Stream {
			t.Errorf("build %d base modules = %+v, want platform:%s", b.ID, got.BaseModules, platform.Stream)
		}
		for _, want := range []string{"scmurl: " + url + "?#" + commit, "commit: " + commit, "tangerine:", "ref: "} {
			if !strings.Contains(got.Modulemd, want) {
				t.Errorf("build %d modulemd lacks %q:\n%s", b.ID, want, got.Modulemd)
			}
		}
	}
	if len(contexts) != 2 {
		t.Errorf("contexts = %v, want two different ones", contexts)
	}

	// reuse_components_from names a ready build, by id or N:S:V:C, and is
	// stored as reused_module_id; a build that is not ready is refused.
	url2, commit2 := gittest.MustModuleRepo(t, w.root, "reusing", testmoduleYAML)
	reusing, err := w.submitter.Submit(ctx, rida.SubmitRequest{SCMURL: url2 + "?#" + commit2, Branch: "main", Owner: "alice", ReuseComponentsFrom: "platform:f28:1:00000000"})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range reusing.Builds {
		if b.ReusedModuleID == nil || *b.ReusedModuleID != 1 {
			t.Errorf("build %d reused_module_id = %v, want 1", b.ID, b.ReusedModuleID)
		}
	}
	url3, commit3 := gittest.MustModuleRepo(t, w.root, "reusing2", testmoduleYAML)
	_, err = w.submitter.Submit(ctx, rida.SubmitRequest{SCMURL: url3 + "?#" + commit3, Branch: "main", ReuseComponentsFrom: strconv.FormatInt(sub.Builds[0].ID, 10)})
	if rida.ErrorCodeOf(err) != rida.CodeInvalid || !strings.Contains(err.Error(), "must be in the ready state") {
		t.Errorf("reuse of a build in init: %v", err)
	}

	// The same submission again: everything exists → 409.
	if _, err := w.submitter.Submit(ctx, req); rida.ErrorCodeOf(err) != rida.CodeConflict {
		t.Errorf("duplicate submission: %v, want conflict", err)
	}

	// Cancel one; resubmitting resumes it (init, since it never left init)
	// and leaves the other as it is.
	failed, err := engine.NewService(w.db, nil, nil, nil).CancelModuleBuild(ctx, sub.Builds[0].ID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	again, err := w.submitter.Submit(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range again.Builds {
		if b.ID == failed.ID {
			if !again.Created[i] || b.State != rida.ModuleInit || b.StateReason != "Resubmitted by alice" {
				t.Errorf("resumed build = %+v", b)
			}
		} else if again.Created[i] {
			t.Errorf("build %d was not failed but counts as created", b.ID)
		}
	}
}

func TestSubmitter_Rejects(t *testing.T) {
	w := newSubmitWorld(t, engine.SubmitConfig{})
	ctx := t.Context()
	url, commit := gittest.MustModuleRepo(t, w.root, "testmodule", testmoduleYAML)
	badURL, badCommit := gittest.MustModuleRepo(t, w.root, "brokenmodule", "document: modulemd\nversion: 2\ndata:\n  summary: [\n")
	missingURL, missingCommit := gittest.MustModuleRepo(t, w.root, "missingcomp",
		strings.Replace(testmoduleYAML, "perl-Tangerine:", "no-such-package:", 1))
	badRefURL, badRefCommit := gittest.MustModuleRepo(t, w.root, "badref",
		strings.Replace(testmoduleYAML, "ref: main\n        buildorder", "ref: no-such-branch\n        buildorder", 1))
	named, namedCommit := gittest.MustModuleRepo(t, w.root, "named", strings.Replace(testmoduleYAML, "data:\n", "data:\n  name: other\n", 1))
	versioned, versionedCommit := gittest.MustModuleRepo(t, w.root, "versioned", strings.Replace(testmoduleYAML, "data:\n", "data:\n  version: 3\n", 1))
	mbsXMD, mbsXMDCommit := gittest.MustModuleRepo(t, w.root, "xmdmodule", strings.Replace(testmoduleYAML, "data:\n", "data:\n  xmd:\n    mbs:\n      buildrequires: {}\n", 1))
	dupURL, dupCommit := gittest.MustModuleRepo(t, w.root, "dupmodule", strings.Replace(testmoduleYAML,
		"      perl-Tangerine:\n", "      perl-Tangerine:\n        name: tangerine\n", 1))
	cycleURL, cycleCommit := gittest.MustModuleRepo(t, w.root, "cyclemodule", strings.Replace(strings.Replace(testmoduleYAML,
		"        buildorder: 10\n", "        buildafter: [perl-Tangerine]\n", 1),
		"        rationale: Sweeter.\n        ref: main\n", "        rationale: Sweeter.\n        ref: main\n        buildafter: [tangerine]\n", 1))
	side := gittest.NewRepo(t, filepath.Join(w.root, "sidemodule"))
	side.Commit(map[string]string{"sidemodule.yaml": testmoduleYAML})
	side.Checkout("feature")
	offMain := side.Commit(map[string]string{"sidemodule.yaml": testmoduleYAML + "# on a feature branch\n"})
	for _, c := range []struct {
		name string
		req  rida.SubmitRequest
		code rida.ErrorCode
		want string
	}{
		{"buildafter cycle", rida.SubmitRequest{SCMURL: cycleURL + "?#" + cycleCommit, Branch: "main"}, rida.CodeUnprocessable, "cycle"},
		{"two components, one package", rida.SubmitRequest{SCMURL: dupURL + "?#" + dupCommit, Branch: "main"}, rida.CodeUnprocessable, `both build the package "tangerine"`},
		{"commit not on branch", rida.SubmitRequest{SCMURL: side.URL + "?#" + offMain, Branch: "main"}, rida.CodeInvalid, "is not in branch main."},
		{"missing branch", rida.SubmitRequest{SCMURL: side.URL + "?#" + offMain, Branch: "nope"}, rida.CodeUnprocessable, "does not exist"},
		{"not allowed", rida.SubmitRequest{SCMURL: "https://evil.example.org/m.git?#abc", Branch: "main"}, rida.CodeForbidden, "is not allowed"},
		{"option injection in URL", rida.SubmitRequest{SCMURL: "--upload-pack=touch /tmp/x?#abc", Branch: "main"}, rida.CodeInvalid, "is not valid"},
		{"option injection in branch", rida.SubmitRequest{SCMURL: url + "?#" + commit, Branch: "--upload-pack=x"}, rida.CodeInvalid, ""},
		{"missing commit", rida.SubmitRequest{SCMURL: url + "?#" + strings.Repeat("0", 40), Branch: "main"}, rida.CodeUnprocessable, "Perhaps you forgot to push"},
		{"invalid modulemd", rida.SubmitRequest{SCMURL: badURL + "?#" + badCommit, Branch: "main"}, rida.CodeUnprocessable, "brokenmodule.yaml:4:"},
		{"missing component repo", rida.SubmitRequest{SCMURL: missingURL + "?#" + missingCommit, Branch: "main"}, rida.CodeUnprocessable, "no-such-package"},
		{"missing component ref", rida.SubmitRequest{SCMURL: badRefURL + "?#" + badRefCommit, Branch: "main"}, rida.CodeUnprocessable, "no-such-branch"},
		{"name mismatch", rida.SubmitRequest{SCMURL: named + "?#" + namedCommit, Branch: "main"}, rida.CodeInvalid, `The name "other" that is stored in the modulemd is not valid`},
		{"version set", rida.SubmitRequest{SCMURL: versioned + "?#" + versionedCommit, Branch: "main"}, rida.CodeInvalid, "is already defined in the modulemd"},
		{"mbs xmd", rida.SubmitRequest{SCMURL: mbsXMD + "?#" + mbsXMDCommit, Branch: "main"}, rida.CodeInvalid, `The "mbs" xmd field is reserved for MBS`},
		{"unsatisfiable override", rida.SubmitRequest{SCMURL: url + "?#" + commit, Branch: "main", BuildrequireOverrides: map[string][]string{"platform": {"f99"}}}, rida.CodeUnprocessable, ""},
		{"strategy override refused", rida.SubmitRequest{SCMURL: url + "?#" + commit, Branch: "main", RebuildStrategy: rida.RebuildAll}, rida.CodeInvalid, "overriding the default isn't allowed"},
		{"scratch refused", rida.SubmitRequest{SCMURL: url + "?#" + commit, Branch: "main", Scratch: true}, rida.CodeForbidden, "Scratch builds are not enabled"},
		{"yaml refused", rida.SubmitRequest{Modulemd: testmoduleYAML}, rida.CodeForbidden, "YAML submission is not enabled"},
		{"reuse bad identifier", rida.SubmitRequest{SCMURL: url + "?#" + commit, Branch: "main", ReuseComponentsFrom: "a:b"}, rida.CodeInvalid, "invalid module identifier"},
		{"reuse unknown", rida.SubmitRequest{SCMURL: url + "?#" + commit, Branch: "main", ReuseComponentsFrom: "999"}, rida.CodeInvalid, "could not be found"},
		{"reuse unknown nsvc", rida.SubmitRequest{SCMURL: url + "?#" + commit, Branch: "main", ReuseComponentsFrom: "x:y:1:c"}, rida.CodeInvalid, "could not be found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := w.submitter.Submit(ctx, c.req)
			if rida.ErrorCodeOf(err) != c.code || !strings.Contains(rida.ErrorMessageOf(err), c.want) {
				t.Errorf("Submit: %v (code %s), want %s containing %q", err, rida.ErrorCodeOf(err), c.code, c.want)
			}
		})
	}
	if _, total, _ := w.db.FindModuleBuilds(ctx, rida.ModuleBuildFilter{States: []rida.ModuleState{rida.ModuleInit}}); total != 0 {
		t.Errorf("rejected submissions created %d builds", total)
	}
}

func ptr[T any](v T) *T { return &v }

// TestSubmitter_Scratch: scratch builds never conflict; each gets the next
// "_<n>" context suffix, as MBS numbers them.
func TestSubmitter_Scratch(t *testing.T) {
	w := newSubmitWorld(t, engine.SubmitConfig{AllowScratch: true})
	url, commit := gittest.MustModuleRepo(t, w.root, "testmodule", testmoduleYAML)
	req := rida.SubmitRequest{SCMURL: url + "?#" + commit, Branch: "main", Owner: "alice", Scratch: true,
		BuildrequireOverrides: map[string][]string{"platform": {"f28"}}}
	var contexts []string
	for range 2 {
		sub, err := w.submitter.Submit(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		if len(sub.Builds) != 1 || !sub.Builds[0].Scratch {
			t.Fatalf("scratch submission = %+v", sub.Builds)
		}
		contexts = append(contexts, sub.Builds[0].Context)
	}
	base, _, _ := strings.Cut(contexts[0], "_")
	if contexts[0] != base+"_1" || contexts[1] != base+"_2" || len(base) != 8 {
		t.Errorf("scratch contexts = %v, want <context>_1 and <context>_2", contexts)
	}
}
