package engine_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/engine"
	"github.com/rida-build/rida/git"
	"github.com/rida-build/rida/git/gittest"
	"github.com/rida-build/rida/sqlstore"
)

// BenchmarkSubmit submits a 10-component module from local git
// repositories, end to end: resolve the module commit, read its modulemd,
// resolve 10 component refs, expand over platform, store the build. Each
// iteration submits a new commit of the module repository (made outside
// the timer) so none is a duplicate. It reports the median as p50-ms.
func BenchmarkSubmit(b *testing.B) {
	gittest.SkipIfNoGit(b)
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	db, err := sqlstore.Open(b.Context(), "sqlite:"+filepath.Join(b.TempDir(), "rida.db"), sqlstore.Options{Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	root := b.TempDir()
	var comps strings.Builder
	for i := range 10 {
		name := fmt.Sprintf("pkg%d", i)
		gittest.MustComponentRepo(b, root, name)
		fmt.Fprintf(&comps, "      %s:\n        rationale: r\n        ref: main\n        buildorder: %d\n", name, i/3)
	}
	yaml := strings.Replace(testmoduleYAML, "  components:\n    rpms:\n", "", 1)
	yaml = yaml[:strings.Index(yaml, "      tangerine:")] + "  components:\n    rpms:\n" + comps.String()
	yaml = strings.Replace(yaml, "platform: [f28, f29]", "platform: [f28]", 2)
	im := engine.NewImporter(db, nil, engine.ImportConfig{Enabled: true})
	if _, _, err := im.ImportModule(b.Context(), rida.ImportRequest{Modulemd: doc("platform", "f28", "  xmd:\n    mbs:\n      buildrequires: {}\n      mse: TRUE\n      commit: virtual\n")}); err != nil {
		b.Fatal(err)
	}
	scm, err := git.New(git.Config{CacheDir: filepath.Join(b.TempDir(), "cache"), AllowedSchemes: []string{"file"}})
	if err != nil {
		b.Fatal(err)
	}
	submitter := engine.NewSubmitter(db, scm, db.Resolver(), engine.SubmitConfig{
		SCMPolicy: rida.SCMPolicy{AllowedPrefixes: []string{"file://" + root}}, RPMsBase: "file://" + root + "/rpms",
	})
	repo := gittest.NewRepo(b, filepath.Join(root, "bench"))
	var times []time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		commit := repo.Commit(map[string]string{"bench.yaml": yaml + fmt.Sprintf("# revision %d\n", i)})
		b.StartTimer()
		start := time.Now()
		sub, err := submitter.Submit(b.Context(), rida.SubmitRequest{SCMURL: repo.URL + "?#" + commit, Branch: "main", Owner: "bench"})
		times = append(times, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		if len(sub.Builds) != 1 {
			b.Fatalf("%d builds", len(sub.Builds))
		}
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "p50-ms")
}
