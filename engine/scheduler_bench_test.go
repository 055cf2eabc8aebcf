package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rida-build/rida"
)

// manyComponents is a module of n components in batches of perBatch.
func manyComponents(name string, n, perBatch int) string {
	var refs, comps strings.Builder
	for i := range n {
		fmt.Fprintf(&refs, "        p%04d: {ref: %040x}\n", i, i+1)
		fmt.Fprintf(&comps, "      p%04d: {rationale: r, buildorder: %d}\n", i, i/perBatch)
	}
	return testModulemd(name, refs.String(), comps.String())
}

// BenchmarkOrchestration measures the engine's own cost: a module of 1,000
// components in 10 batches, built on a backend that completes every build
// the moment it is submitted, from submission (init) to ready. Everything
// measured is scheduling: claims, observations, decisions, transitions,
// outbox events. Reported per component (target ≤ 2 ms).
func BenchmarkOrchestration(b *testing.B) {
	for _, kind := range []string{"sqlite", "postgres"} {
		for _, limit := range []int{-1, 20} {
			b.Run(fmt.Sprintf("db=%s/limit=%d", kind, limit), func(b *testing.B) {
				db, _ := openStore(b, kind)
				be := newTestBackend()
				be.instant = true
				cfg := fastConfig()
				cfg.MaxConcurrentBuilds = limit
				cfg.Scan = time.Millisecond
				s, stop := runScheduler(b, db, be, cfg)
				defer stop()
				const n = 1000
				b.ResetTimer()
				for i := range b.N {
					b.StopTimer()
					name := fmt.Sprintf("many%d", i)
					m := newModule(b, db, name, manyComponents(name, n, n/10))
					b.StartTimer()
					s.Wake(context.Background(), m.ID)
					got := waitState(b, db, m.ID, rida.ModuleReady, 5*time.Minute)
					if len(got.Components) != n+1 {
						b.Fatalf("%d components", len(got.Components))
					}
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n)/1000, "ms/component")
			})
		}
	}
}
