package bus_test

import (
	"testing"
	"time"

	"github.com/rida-build/rida/bus"
)

// Ensure the backoff grows from lo, doubling per attempt, stays within hi,
// and is jittered into the upper half of each step.
func TestBackoff(t *testing.T) {
	lo, hi := 100*time.Millisecond, time.Second
	for attempt := 1; attempt <= 70; attempt++ {
		step := hi
		if attempt <= 4 {
			step = lo << (attempt - 1) // 100, 200, 400, 800 ms
		}
		seen := map[time.Duration]bool{}
		for range 50 {
			d := bus.Backoff(lo, hi, attempt)
			if d < step/2 || d > step {
				t.Fatalf("Backoff(%v, %v, %d) = %v, want within [%v, %v]", lo, hi, attempt, d, step/2, step)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Errorf("Backoff(%v, %v, %d) returned only %v in 50 calls, want jitter", lo, hi, attempt, seen)
		}
	}
}

// Ensure the edge cases neither panic nor overflow: no or negative bounds
// wait nothing, a 1 ns step stays within [0, 1 ns], huge bounds stay at hi.
func TestBackoff_Edges(t *testing.T) {
	for _, tc := range []struct {
		lo, hi  time.Duration
		attempt int
		min     time.Duration
		max     time.Duration
	}{
		{0, 0, 1, 0, 0},
		{-time.Second, time.Second, 3, 0, 0},
		{time.Second, 0, 1, 0, 0},
		{1, 1, 5, 0, 1},
		{time.Second, time.Second, 0, time.Second / 2, time.Second},
		{time.Hour, 1<<63 - 1, 200, (1<<63 - 1) / 2, 1<<63 - 1},
	} {
		for range 20 {
			if d := bus.Backoff(tc.lo, tc.hi, tc.attempt); d < tc.min || d > tc.max {
				t.Fatalf("Backoff(%v, %v, %d) = %v, want within [%v, %v]", tc.lo, tc.hi, tc.attempt, d, tc.min, tc.max)
			}
		}
	}
}
