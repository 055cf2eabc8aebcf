package expand_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/expand"
	"github.com/rida-build/rida/expand/expandtest"
	"github.com/rida-build/rida/modulemd"
)

// graph is a random module world: platforms, and modules built against
// every platform (one context per platform), with random runtime requires.
type graph struct {
	builds    map[string]expandtest.Build // by NSVC
	streams   map[string][]string         // streams of each module
	resolver  *expandtest.Resolver
	submitted *modulemd.Stream
}

func genGraph(t *rapid.T) graph {
	g := graph{builds: map[string]expandtest.Build{}}
	var all []expandtest.Build
	platforms := []string{"f28", "f29"}[:rapid.IntRange(1, 2).Draw(t, "platforms")]
	var bases []expandtest.Build
	for _, p := range platforms {
		b := expandtest.Platform(p, 1)
		bases = append(bases, b)
		all = append(all, b)
	}
	names := []string{"a", "b", "c"}[:rapid.IntRange(1, 3).Draw(t, "modules")]
	streams := map[string][]string{}
	for _, n := range names {
		streams[n] = []string{"1", "2"}[:rapid.IntRange(1, 2).Draw(t, "streams "+n)]
	}
	// A stream list for a dependency on name: [] (any), one or two
	// streams, or an exclusion.
	streamList := func(label, name string, exclusions bool) []string {
		last := 2
		if exclusions {
			last = 3
		}
		switch rapid.IntRange(0, last).Draw(t, label) {
		case 0:
			return []string{}
		case 1:
			return []string{rapid.SampledFrom(streams[name]).Draw(t, label+" s")}
		case 2:
			return slices.Clone(streams[name])
		default:
			return []string{"-" + rapid.SampledFrom(streams[name]).Draw(t, label+" x")}
		}
	}
	for _, n := range names {
		for _, s := range streams[n] {
			versions := uint64(rapid.IntRange(1, 2).Draw(t, "versions "+n+s))
			for v := uint64(1); v <= versions; v++ {
				for pi, base := range bases {
					req := map[string][]string{"platform": {base.Stream}}
					for _, m := range names {
						// Requires only on later names keep the graph
						// acyclic, as built modules are.
						if m > n && rapid.Bool().Draw(t, "req "+n+s+m) {
							// Built modules never carry exclusions that MBS
							// would look up as streams ("c:-1").
							req[m] = streamList("req streams "+n+s+m, m, false)
						}
					}
					b := expandtest.Module(n, s, v, fmt.Sprintf("c%d%d", pi, v), base.NSVC, req)
					all = append(all, b)
				}
			}
		}
	}
	for _, b := range all {
		g.builds[b.NSVC.String()] = b
	}
	g.resolver = expandtest.New(all...)
	g.streams = streams
	s := &modulemd.Stream{MdVersion: 2, Name: "top", Stream: "master", Version: 1}
	for bi := range rapid.IntRange(1, 2).Draw(t, "blocks") {
		br := map[string][]string{"platform": rapid.SliceOfNDistinct(rapid.SampledFrom(platforms), 1, 2, rapid.ID[string]).Draw(t, fmt.Sprint("platform ", bi))}
		for _, n := range names {
			if rapid.Bool().Draw(t, fmt.Sprint("br ", bi, n)) {
				br[n] = streamList(fmt.Sprint("br streams ", bi, n), n, true)
			}
		}
		s.Dependencies = append(s.Dependencies, &modulemd.Dependencies{BuildRequires: br})
	}
	g.submitted = s
	return g
}

// allows reports whether a stream list (any / streams / exclusions)
// admits stream.
func allows(list []string, stream string) bool {
	if len(list) == 0 {
		return true
	}
	if strings.HasPrefix(list[0], "-") {
		return !slices.Contains(list, "-"+stream)
	}
	return slices.Contains(list, stream)
}

// brAllows is allows for a buildrequire, expanded as MBS does: an
// exclusion list that excludes every stream leaves an empty list, which
// means any stream.
func (g graph) brAllows(name string, list []string, stream string) bool {
	if name != "platform" && len(list) > 0 && strings.HasPrefix(list[0], "-") {
		left := slices.DeleteFunc(slices.Clone(g.streams[name]), func(s string) bool { return slices.Contains(list, "-"+s) })
		if len(left) == 0 {
			return true
		}
	}
	return allows(list, stream)
}

// bruteForce enumerates every choice of at most one candidate per module
// name and returns, for each block, the set of buildrequire name:stream
// tuples of the choices that meet every requirement.
func bruteForce(g graph, pool []string, block *modulemd.Dependencies) map[string]bool {
	byName := map[string][]expandtest.Build{}
	for _, nsvc := range pool {
		b := g.builds[nsvc]
		byName[b.Name] = append(byName[b.Name], b)
	}
	names := slices.Sorted(maps.Keys(byName))
	keys := map[string]bool{}
	choice := map[string]expandtest.Build{}
	var rec func(i int)
	rec = func(i int) {
		if i < len(names) {
			delete(choice, names[i])
			rec(i + 1)
			for _, b := range byName[names[i]] {
				choice[names[i]] = b
				rec(i + 1)
			}
			delete(choice, names[i])
			return
		}
		for n, list := range block.BuildRequires {
			c, ok := choice[n]
			if !ok || !g.brAllows(n, list, c.Stream) {
				return
			}
		}
		for _, c := range choice {
			for _, req := range c.Requires {
				for n, list := range req {
					d, ok := choice[n]
					if !ok || !allows(list, d.Stream) {
						return
					}
				}
			}
		}
		keys[brKey(block, func(n string) string { return choice[n].Stream })] = true
	}
	rec(0)
	return keys
}

func brKey(block *modulemd.Dependencies, stream func(string) string) string {
	var parts []string
	for _, n := range slices.Sorted(maps.Keys(block.BuildRequires)) {
		parts = append(parts, n+":"+stream(n))
	}
	return strings.Join(parts, " ")
}

// TestExpandMatchesBruteForce: on random module worlds, expansion builds
// exactly the combinations of buildrequired streams that some consistent
// choice of builds allows, and each build's buildrequires are such a
// choice.
func TestExpandMatchesBruteForce(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		g := genGraph(t)
		exp, err := expand.Expand(context.Background(), g.submitted, expand.Options{}, g.resolver)
		if exp == nil {
			t.Fatalf("Expand: %v", err)
		}
		want := map[string]bool{}
		blockWithout := false // some block has no working combination
		for bi, block := range g.submitted.Dependencies {
			keys := bruteForce(g, exp.Candidates, block)
			blockWithout = blockWithout || len(keys) == 0
			for k := range keys {
				want[fmt.Sprint(bi, " ", k)] = true
			}
		}
		got := map[string]bool{}
		for _, r := range exp.Results {
			block := g.submitted.Dependencies[r.Block]
			got[fmt.Sprint(r.Block, " ", brKey(block, func(n string) string { return r.BuildRequires[n].Stream }))] = true
			// The buildrequires are a consistent choice.
			for n, br := range r.BuildRequires {
				b, ok := g.builds[n+":"+br.Stream+":"+br.Version+":"+br.Context]
				if !ok {
					t.Fatalf("unknown buildrequire %s %+v", n, br)
				}
				for _, req := range b.Requires {
					for m, list := range req {
						if d, ok := r.BuildRequires[m]; !ok || !allows(list, d.Stream) {
							t.Fatalf("%s requires %s:%v, got %+v", b.NSVC, m, list, r.BuildRequires[m])
						}
					}
				}
			}
		}
		if err != nil {
			var re *rida.Error
			switch {
			case !errors.As(err, &re):
				t.Fatalf("Expand: %v", err)
			case re.Code == rida.CodeInvalid && len(want) > 0:
				t.Fatalf("Expand found nothing (%v) but these combinations work: %v", err, slices.Sorted(maps.Keys(want)))
			case re.Code == rida.CodeUnprocessable && !blockWithout:
				// MBS fails the whole submission when one block cannot
				// be installed at all; every block here can.
				t.Fatalf("Expand failed (%v) but every block works: %v", err, slices.Sorted(maps.Keys(want)))
			case re.Code != rida.CodeInvalid && re.Code != rida.CodeUnprocessable:
				t.Fatalf("Expand: %v", err)
			}
			return
		}
		if !maps.Equal(got, want) {
			t.Fatalf("combinations\n got  %v\n want %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
		}
	})
}
