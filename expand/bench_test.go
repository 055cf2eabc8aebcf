package expand_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/rida-build/rida/expand"
	"github.com/rida-build/rida/expand/expandtest"
	"github.com/rida-build/rida/modulemd"
)

// benchWorld is 10 modules m0…m9 with 20 streams each, 2 versions per
// stream and 2 contexts per version (800 builds). Stream j of m<k> requires
// m<k+1> at stream j or j+1; the newest "b" context only at j+1. The
// submission buildrequires platform:f28, every stream of m0 and m9:s00, so
// the pool holds all 200 name:streams of the chain (400 newest builds), 20
// combinations are tried, and the 10 that can reach m9:s00 are built.
func benchWorld() (*expandtest.Resolver, *modulemd.Stream) {
	f28 := expandtest.Platform("f28", 1)
	builds := []expandtest.Build{f28}
	stream := func(j int) string { return fmt.Sprintf("s%02d", j%20) }
	for k := range 10 {
		for j := range 20 {
			for v := uint64(1); v <= 2; v++ {
				for _, c := range []string{"a", "b"} {
					req := map[string][]string{"platform": {"f28"}}
					if k < 9 {
						next := fmt.Sprintf("m%d", k+1)
						req[next] = []string{stream(j), stream(j + 1)}
						if c == "b" && v == 2 {
							req[next] = []string{stream(j + 1)}
						}
					}
					builds = append(builds, expandtest.Module(fmt.Sprintf("m%d", k), stream(j), v, c, f28.NSVC, req))
				}
			}
		}
	}
	s := &modulemd.Stream{MdVersion: 2, Name: "app", Stream: "master", Version: 1,
		Dependencies: []*modulemd.Dependencies{{BuildRequires: map[string][]string{"platform": {"f28"}, "m0": {}, "m9": {"s00"}}}}}
	return expandtest.New(builds...), s
}

func BenchmarkExpand10x20(b *testing.B) {
	r, s := benchWorld()
	exp, err := expand.Expand(context.Background(), s, expand.Options{}, r)
	if err != nil {
		b.Fatal(err)
	}
	if len(exp.Results) != 10 || len(exp.Candidates) != 401 {
		b.Fatalf("%d results, %d candidates", len(exp.Results), len(exp.Candidates))
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := expand.Expand(context.Background(), s, expand.Options{}, r); err != nil {
			b.Fatal(err)
		}
	}
}
