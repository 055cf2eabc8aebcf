package koji

import (
	"testing"

	"github.com/rida-build/rida"
)

func TestStates(t *testing.T) {
	// koji.BUILD_STATES and koji.TASK_STATES, by number.
	builds := map[int]rida.ComponentState{0: rida.ComponentBuilding, 1: rida.ComponentComplete, 2: rida.ComponentDeleted,
		3: rida.ComponentFailed, 4: rida.ComponentCanceled}
	for n, want := range builds {
		if got, err := ComponentState(n); err != nil || got != want {
			t.Errorf("build state %d: %v, %v", n, got, err)
		}
	}
	for _, n := range []int{-1, 5, 99} {
		if _, err := ComponentState(n); rida.ErrorCodeOf(err) != rida.CodeUnavailable {
			t.Errorf("build state %d: %v", n, err)
		}
	}
	ended := map[int]bool{0: false, 1: false, 2: true, 3: true, 4: false, 5: true}
	for n, want := range ended {
		s, err := TaskState(n)
		if err != nil || int(s) != n {
			t.Fatalf("task state %d: %v, %v", n, s, err)
		}
		if TaskEnded(s) != want {
			t.Errorf("task state %s ended = %v", s, !want)
		}
	}
	if _, err := TaskState(6); rida.ErrorCodeOf(err) != rida.CodeUnavailable {
		t.Errorf("task state 6: %v", err)
	}
}
