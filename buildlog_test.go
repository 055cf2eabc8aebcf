package rida_test

import (
	"testing"
	"time"

	"github.com/rida-build/rida"
)

func TestBuildLog(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	m := &rida.ModuleBuild{ID: 7, Name: "hello", Stream: "main", Version: 40, Context: "abcd1234", Owner: "alice",
		SCMURL: "https://src.example.org/modules/hello.git?#c0ffee",
		StateTrace: []rida.StateChange{{Time: at(0), State: 0, Reason: "Submitted by alice"}, {Time: at(1), State: 1},
			{Time: at(2), State: 2}, {Time: at(9), State: 4, Reason: "Component(s) b failed to build."}},
		Components: []*rida.ComponentBuild{
			{Package: "b", Format: "rpms", Batch: 2, StateTrace: []rida.StateChange{
				{Time: at(1), State: -1}, {Time: at(5), State: 0, Reason: "Submitted b"}, {Time: at(8), State: 3, Reason: "see logs/b.log"}}},
			{Package: "a", Format: "rpms", Batch: 2, StateTrace: []rida.StateChange{
				{Time: at(1), State: -1}, {Time: at(5), State: 0, Reason: "Submitted a"}}},
		},
	}
	want := `Module build 7, hello:main:40:abcd1234, submitted by alice from https://src.example.org/modules/hello.git?#c0ffee
2026-11-21T10:00:00.000000Z module hello:main:40:abcd1234 init: Submitted by alice
2026-11-21T10:00:01.000000Z module hello:main:40:abcd1234 wait
2026-11-21T10:00:01.000000Z rpms/b (batch 2) WAITING
2026-11-21T10:00:01.000000Z rpms/a (batch 2) WAITING
2026-11-21T10:00:02.000000Z module hello:main:40:abcd1234 build
2026-11-21T10:00:05.000000Z rpms/b (batch 2) BUILDING: Submitted b
2026-11-21T10:00:05.000000Z rpms/a (batch 2) BUILDING: Submitted a
2026-11-21T10:00:08.000000Z rpms/b (batch 2) FAILED: see logs/b.log
2026-11-21T10:00:09.000000Z module hello:main:40:abcd1234 failed: Component(s) b failed to build.
`
	if got := string(rida.BuildLog(m)); got != want {
		t.Errorf("build log:\n%s\nwant:\n%s", got, want)
	}
}
