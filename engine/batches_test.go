package engine

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/modulemd"
)

// comp is a test shorthand for an RPM component.
type comp struct {
	order int64
	after []string
	name  string // package name override
	repo  string
	only  bool
}

func streamOf(comps map[string]comp) *modulemd.Stream {
	s := &modulemd.Stream{MdVersion: 2, Name: "m", Stream: "s", RPMComponents: map[string]*modulemd.RPMComponent{}}
	for k, c := range comps {
		s.RPMComponents[k] = &modulemd.RPMComponent{Key: k, Name: c.name, Repository: c.repo,
			Buildorder: c.order, Buildafter: c.after, Buildonly: c.only}
	}
	return s
}

// commitsFor gives every component the commit "c-<key>".
func commitsFor(s *modulemd.Stream) map[string]string {
	commits := map[string]string{}
	for k := range s.RPMComponents {
		commits[k] = "c-" + k
	}
	return commits
}

// batchesOf renders a plan as "batch:package" in plan order, which shows
// both the batches and the order within them.
func batchesOf(plan []*rida.ComponentBuild) []string {
	var out []string
	for _, c := range plan {
		out = append(out, fmt.Sprintf("%d:%s", c.Batch, c.Package))
	}
	return out
}

func TestPlanComponentsBatches(t *testing.T) {
	tests := []struct {
		name  string
		comps map[string]comp
		want  []string
	}{
		{"no components", nil, nil},
		{"one", map[string]comp{"a": {}}, []string{"1:module-build-macros", "2:a"}},
		{"equal buildorders share a batch, sorted by name",
			map[string]comp{"zed": {order: 5}, "abc": {order: 5}, "mid": {order: 5}},
			[]string{"1:module-build-macros", "2:abc", "2:mid", "2:zed"}},
		{"default buildorder is 0",
			map[string]comp{"a": {}, "b": {order: 1}, "c": {}},
			[]string{"1:module-build-macros", "2:a", "2:c", "3:b"}},
		{"gaps do not make empty batches",
			map[string]comp{"a": {order: 10}, "b": {order: 1000}, "c": {order: 10}, "d": {order: 20}},
			[]string{"1:module-build-macros", "2:a", "2:c", "3:d", "4:b"}},
		{"negative buildorders sort first",
			map[string]comp{"a": {}, "b": {order: -1}, "c": {order: -100}},
			[]string{"1:module-build-macros", "2:c", "3:b", "4:a"}},
		{"large int64 buildorders keep their order",
			map[string]comp{"max": {order: math.MaxInt64}, "min": {order: math.MinInt64},
				"big": {order: 4294967297}, "one": {order: 1}},
			[]string{"1:module-build-macros", "2:min", "3:one", "4:big", "5:max"}},
		{"package name override sorts by package",
			map[string]comp{"a": {name: "zzz"}, "b": {name: "aaa"}},
			[]string{"1:module-build-macros", "2:aaa", "2:zzz"}},
		{"buildafter chain",
			map[string]comp{"c": {after: []string{"b"}}, "b": {after: []string{"a"}}, "a": {}},
			[]string{"1:module-build-macros", "2:a", "3:b", "4:c"}},
		{"buildafter diamond",
			map[string]comp{"top": {}, "l": {after: []string{"top"}}, "r": {after: []string{"top"}},
				"bottom": {after: []string{"r", "l"}}},
			[]string{"1:module-build-macros", "2:top", "3:l", "3:r", "4:bottom"}},
		{"buildafter takes the longest path",
			map[string]comp{"a": {}, "b": {after: []string{"a"}}, "c": {after: []string{"b"}},
				"d": {after: []string{"a", "c"}}, "free": {}},
			[]string{"1:module-build-macros", "2:a", "2:free", "3:b", "4:c", "5:d"}},
		{"buildafter with explicit buildorder 0 is not mixing",
			map[string]comp{"a": {order: 0}, "b": {after: []string{"a"}}},
			[]string{"1:module-build-macros", "2:a", "3:b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := streamOf(tt.comps)
			plan, err := PlanComponents(s, PlanOptions{Commits: commitsFor(s)})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, batchesOf(plan)); diff != "" {
				t.Errorf("batches (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanComponentsFields(t *testing.T) {
	s := streamOf(map[string]comp{
		"data":  {order: 1, only: true},
		"hello": {order: 2, name: "hello-bin", repo: "https://example.org/custom/hello"},
	})
	var asked [][2]string
	plan, err := PlanComponents(s, PlanOptions{
		Commits: map[string]string{"data": "aaaa", "hello": "bbbb"},
		RepoURL: func(name, repository string) string {
			asked = append(asked, [2]string{name, repository})
			return rida.ComponentRepoURL("https://src.example.org/rpms/", name, repository)
		},
		MacrosSCMURL: "/tmp/module-build-macros.src.rpm",
		Weight: func(pkg string) float64 {
			if pkg == "hello-bin" {
				return 3
			}
			return 0
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []*rida.ComponentBuild{
		{Package: "module-build-macros", Format: "rpms", SCMURL: "/tmp/module-build-macros.src.rpm",
			Batch: 1, BuildTimeOnly: true, State: rida.ComponentWaiting},
		{Package: "data", Format: "rpms", SCMURL: "https://src.example.org/rpms/data?#aaaa", Ref: "aaaa",
			BuildOrder: 1, Batch: 2, BuildOnly: true, State: rida.ComponentWaiting},
		{Package: "hello-bin", Format: "rpms", SCMURL: "https://example.org/custom/hello?#bbbb", Ref: "bbbb",
			BuildOrder: 2, Batch: 3, Weight: 3, State: rida.ComponentWaiting},
	}
	if diff := cmp.Diff(want, plan); diff != "" {
		t.Errorf("plan (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([][2]string{{"data", ""}, {"hello-bin", "https://example.org/custom/hello"}}, asked); diff != "" {
		t.Errorf("RepoURL calls (-want +got):\n%s", diff)
	}
}

func TestPlanComponentsDefaultWeight(t *testing.T) {
	s := streamOf(map[string]comp{"a": {}})
	plan, err := PlanComponents(s, PlanOptions{Commits: commitsFor(s)})
	if err != nil {
		t.Fatal(err)
	}
	if plan[0].Weight != 0 || plan[1].Weight != DefaultComponentWeight {
		t.Errorf("weights = %v, %v; want 0 for macros, %v for a", plan[0].Weight, plan[1].Weight, DefaultComponentWeight)
	}
	if plan[1].SCMURL != "rpms/a?#c-a" {
		t.Errorf("SCMURL without RepoURL = %q", plan[1].SCMURL)
	}
}

func TestPlanComponentsErrors(t *testing.T) {
	tests := []struct {
		name    string
		comps   map[string]comp
		commits map[string]string // nil: every component has one
		want    []string          // substrings of the message
	}{
		{"self cycle", map[string]comp{"a": {after: []string{"a"}}},
			nil, []string{"cycle", `"a" -> "a"`}},
		{"cycle", map[string]comp{"a": {after: []string{"c"}}, "b": {after: []string{"a"}},
			"c": {after: []string{"b"}}, "d": {}, "e": {after: []string{"d"}}},
			nil, []string{"cycle", `"a" -> "c" -> "b" -> "a"`}},
		{"cycle below a root", map[string]comp{"root": {}, "x": {after: []string{"root", "y"}},
			"y": {after: []string{"x"}}, "z": {after: []string{"y"}}},
			nil, []string{`"x" -> "y" -> "x"`}},
		{"unknown names are all reported", map[string]comp{"a": {after: []string{"nope"}},
			"b": {after: []string{"a", "gone"}}},
			nil, []string{`"nope" (buildafter of "a")`, `"gone" (buildafter of "b")`}},
		{"mixing in one module", map[string]comp{"a": {order: 1}, "b": {after: []string{"a"}}},
			nil, []string{"Cannot mix buildorder and buildafter in the same module", `"a" has a buildorder`, `"b" a buildafter`}},
		{"mixing in one component", map[string]comp{"a": {}, "b": {order: 1, after: []string{"a"}}},
			nil, []string{"Cannot mix buildorder and buildafter in the same component", `"b"`}},
		{"reserved name", map[string]comp{"module-build-macros": {}},
			nil, []string{"reserved"}},
		{"reserved package name", map[string]comp{"m": {name: "module-build-macros"}},
			nil, []string{`"m"`, "reserved"}},
		{"missing commits", map[string]comp{"a": {}, "b": {}, "c": {}},
			map[string]string{"b": "x"}, []string{`"a", "c"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := streamOf(tt.comps)
			commits := tt.commits
			if commits == nil {
				commits = commitsFor(s)
			}
			plan, err := PlanComponents(s, PlanOptions{Commits: commits})
			if err == nil {
				t.Fatalf("no error; plan %v", batchesOf(plan))
			}
			if code := rida.ErrorCodeOf(err); code != rida.CodeUnprocessable {
				t.Errorf("code = %s, want unprocessable (%v)", code, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestPlanComponentsFromYAML plans a modulemd as submission stores it: the
// commits come from xmd.mbs.rpms, and the reader's own validation agrees on
// what is refused.
func TestPlanComponentsFromYAML(t *testing.T) {
	const doc = `---
document: modulemd
version: 2
data:
  name: m
  stream: s
  summary: s
  description: d
  license:
    module: [MIT]
  xmd:
    mbs:
      rpms:
        a: {ref: 1111}
        b: {ref: 2222}
  components:
    rpms:
      a:
        rationale: r
      b:
        rationale: r
        buildafter: [a]
...
`
	s, err := modulemd.ReadStream([]byte(doc), "m.yaml", modulemd.Options{Strict: true})
	if err != nil {
		t.Fatal(err)
	}
	commits := CommitsFromXMD(s)
	if diff := cmp.Diff(map[string]string{"a": "1111", "b": "2222"}, commits); diff != "" {
		t.Errorf("commits (-want +got):\n%s", diff)
	}
	plan, err := PlanComponents(s, PlanOptions{Commits: commits})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"1:module-build-macros", "2:a", "3:b"}, batchesOf(plan)); diff != "" {
		t.Errorf("batches (-want +got):\n%s", diff)
	}
	if len(CommitsFromXMD(nil)) != 0 || len(CommitsFromXMD(&modulemd.Stream{})) != 0 {
		t.Error("CommitsFromXMD of nothing is not empty")
	}
}

// TestPlanComponentsDeterministic checks that the same modulemd always gives
// the same plan, whatever the map iteration order.
func TestPlanComponentsDeterministic(t *testing.T) {
	comps := map[string]comp{}
	for i := range 50 {
		comps[fmt.Sprintf("p%02d", i)] = comp{order: int64(i % 4)}
	}
	s := streamOf(comps)
	first, err := PlanComponents(s, PlanOptions{Commits: commitsFor(s)})
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		again, err := PlanComponents(streamOf(comps), PlanOptions{Commits: commitsFor(s)})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(first, again); diff != "" {
			t.Fatalf("plans differ (-first +again):\n%s", diff)
		}
	}
}

// TestPlanComponentsLongChain checks that a deep buildafter chain neither
// recurses out of stack nor takes quadratic time.
func TestPlanComponentsLongChain(t *testing.T) {
	const n = 5000
	comps := map[string]comp{"c0": {}}
	for i := 1; i < n; i++ {
		comps[fmt.Sprintf("c%d", i)] = comp{after: []string{fmt.Sprintf("c%d", i-1)}}
	}
	s := streamOf(comps)
	plan, err := PlanComponents(s, PlanOptions{Commits: commitsFor(s)})
	if err != nil {
		t.Fatal(err)
	}
	if last := plan[len(plan)-1]; last.Package != fmt.Sprintf("c%d", n-1) || last.Batch != n+1 {
		t.Errorf("last = %s in batch %d, want c%d in batch %d", last.Package, last.Batch, n-1, n+1)
	}
}

// TestPlanComponentsRandomDAG: for random buildafter DAGs, each component
// builds after everything it names, batches are dense from 2 to the highest,
// components without buildafter are in batch 2, and output is sorted by
// batch then package.
func TestPlanComponentsRandomDAG(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(1, 30).Draw(t, "n")
		names := make([]string, n)
		for i := range names {
			names[i] = fmt.Sprintf("pkg%02d", i)
		}
		// Edges only from a later to an earlier index make a DAG; the names
		// are shuffled so that index order is not name order.
		order := rapid.Permutation(names).Draw(t, "order")
		comps := map[string]comp{}
		for i, name := range order {
			var after []string
			if i > 0 {
				after = rapid.SliceOfNDistinct(rapid.SampledFrom(order[:i]), 0, i, rapid.ID[string]).Draw(t, "after-"+name)
			}
			comps[name] = comp{after: after}
		}
		s := streamOf(comps)
		plan, err := PlanComponents(s, PlanOptions{Commits: commitsFor(s)})
		if err != nil {
			t.Fatal(err)
		}
		if len(plan) != n+1 || plan[0].Package != MacrosPackage || plan[0].Batch != 1 {
			t.Fatalf("plan %v", batchesOf(plan))
		}
		batch := map[string]int{}
		used := map[int]bool{}
		for _, c := range plan[1:] {
			batch[c.Package] = c.Batch
			used[c.Batch] = true
		}
		maxBatch := 0
		for name, c := range comps {
			b := batch[name]
			maxBatch = max(maxBatch, b)
			if len(c.after) == 0 && b != FirstComponentBatch {
				t.Errorf("%s has no buildafter but is in batch %d", name, b)
			}
			for _, a := range c.after {
				if b <= batch[a] {
					t.Errorf("%s (batch %d) builds after %s (batch %d)", name, b, a, batch[a])
				}
			}
		}
		for b := FirstComponentBatch; b <= maxBatch; b++ {
			if !used[b] {
				t.Errorf("batch %d is empty (max %d): %v", b, maxBatch, batchesOf(plan))
			}
		}
		if !slices.IsSortedFunc(plan, func(a, b *rida.ComponentBuild) int {
			if a.Batch != b.Batch {
				return a.Batch - b.Batch
			}
			return strings.Compare(a.Package, b.Package)
		}) {
			t.Errorf("plan not sorted: %v", batchesOf(plan))
		}
	})
}

// TestPlanComponentsRandomBuildorder: for random buildorders, batch order
// is buildorder order and batches are dense.
func TestPlanComponentsRandomBuildorder(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		orders := rapid.SliceOfN(rapid.Int64(), 1, 30).Draw(t, "orders")
		comps := map[string]comp{}
		for i, o := range orders {
			comps[fmt.Sprintf("p%02d", i)] = comp{order: o}
		}
		s := streamOf(comps)
		plan, err := PlanComponents(s, PlanOptions{Commits: commitsFor(s)})
		if err != nil {
			t.Fatal(err)
		}
		distinct := slices.Compact(slices.Sorted(slices.Values(orders)))
		for _, c := range plan[1:] {
			want := FirstComponentBatch + slices.Index(distinct, c.BuildOrder)
			if c.Batch != want {
				t.Errorf("%s buildorder %d in batch %d, want %d", c.Package, c.BuildOrder, c.Batch, want)
			}
		}
	})
}
