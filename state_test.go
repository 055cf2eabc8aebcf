package rida_test

import (
	"testing"

	"github.com/rida-build/rida"
)

// TestModuleState_CanTransition checks every (from, to) pair against the
// transitions MBS performs (mbs.md §2.1), written out here independently of
// the table in state.go.
func TestModuleState_CanTransition(t *testing.T) {
	type pair struct{ from, to rida.ModuleState }
	allowed := map[pair]bool{
		{rida.ModuleInit, rida.ModuleWait}:       true,
		{rida.ModuleInit, rida.ModuleFailed}:     true,
		{rida.ModuleWait, rida.ModuleBuilding}:   true,
		{rida.ModuleWait, rida.ModuleFailed}:     true,
		{rida.ModuleBuilding, rida.ModuleDone}:   true,
		{rida.ModuleBuilding, rida.ModuleFailed}: true,
		{rida.ModuleDone, rida.ModuleReady}:      true,
		{rida.ModuleDone, rida.ModuleFailed}:     true,
		{rida.ModuleFailed, rida.ModuleInit}:     true,
		{rida.ModuleFailed, rida.ModuleWait}:     true,
		{rida.ModuleFailed, rida.ModuleGarbage}:  true,
		{rida.ModuleReady, rida.ModuleGarbage}:   true,
	}
	n := 0
	for _, from := range rida.ModuleStates {
		for _, to := range rida.ModuleStates {
			n++
			if got, want := from.CanTransition(to), allowed[pair{from, to}]; got != want {
				t.Errorf("%v.CanTransition(%v) = %v, want %v", from, to, got, want)
			}
		}
	}
	if n != 49 {
		t.Fatalf("checked %d pairs, want 49", n)
	}
}

func TestComponentState_CanTransition(t *testing.T) {
	type pair struct{ from, to rida.ComponentState }
	allowed := map[pair]bool{
		{rida.ComponentWaiting, rida.ComponentBuilding}:  true,
		{rida.ComponentWaiting, rida.ComponentComplete}:  true,
		{rida.ComponentWaiting, rida.ComponentFailed}:    true,
		{rida.ComponentWaiting, rida.ComponentCanceled}:  true,
		{rida.ComponentBuilding, rida.ComponentComplete}: true,
		{rida.ComponentBuilding, rida.ComponentFailed}:   true,
		{rida.ComponentBuilding, rida.ComponentCanceled}: true,
		{rida.ComponentComplete, rida.ComponentDeleted}:  true,
		{rida.ComponentFailed, rida.ComponentWaiting}:    true,
		{rida.ComponentCanceled, rida.ComponentWaiting}:  true,
	}
	for _, from := range rida.ComponentStates {
		for _, to := range rida.ComponentStates {
			if got, want := from.CanTransition(to), allowed[pair{from, to}]; got != want {
				t.Errorf("%v.CanTransition(%v) = %v, want %v", from, to, got, want)
			}
		}
	}
}

func TestModuleState_NamesAndNumbers(t *testing.T) {
	want := map[string]int{"init": 0, "wait": 1, "build": 2, "done": 3, "failed": 4, "ready": 5, "garbage": 6}
	for name, num := range want {
		s, err := rida.ParseModuleState(name)
		if err != nil || int(s) != num || s.String() != name {
			t.Errorf("ParseModuleState(%q) = %d (%v), %v; want %d", name, s, s, err, num)
		}
	}
	if s, err := rida.ParseModuleState("5"); err != nil || s != rida.ModuleReady {
		t.Errorf(`ParseModuleState("5") = %v, %v`, s, err)
	}
	for _, bad := range []string{"", "7", "-1", "building", "x"} {
		if _, err := rida.ParseModuleState(bad); rida.ErrorCodeOf(err) != rida.CodeInvalid {
			t.Errorf("ParseModuleState(%q) error = %v, want invalid", bad, err)
		}
	}
}

func TestComponentState_Parse(t *testing.T) {
	for _, c := range []struct {
		in   string
		want rida.ComponentState
	}{{"BUILDING", 0}, {"complete", 1}, {"Deleted", 2}, {"FAILED", 3}, {"canceled", 4}, {"1", 1}} {
		got, err := rida.ParseComponentState(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseComponentState(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"-1", "5", "waiting", ""} {
		if _, err := rida.ParseComponentState(bad); err == nil {
			t.Errorf("ParseComponentState(%q) succeeded", bad)
		}
	}
}
