package localbuild

import (
	"context"
	"slices"
	"sync"
)

// Call is one run recorded by RecordingRunner.
type Call struct {
	Dir     string
	Command Command
}

// RecordingRunner is a Runner for tests: it records every call and answers
// with Func, which may also create the files the real program would (an
// SRPM, RPMs). A nil Func answers every call with empty output and no
// error. It is safe for concurrent use.
type RecordingRunner struct {
	Func func(ctx context.Context, c Call) (stdout, stderr []byte, err error)

	mu    sync.Mutex
	calls []Call
}

var _ Runner = (*RecordingRunner)(nil)

// Run implements Runner.
func (r *RecordingRunner) Run(ctx context.Context, dir, name string, args ...string) ([]byte, []byte, error) {
	c := Call{Dir: dir, Command: Command{Name: name, Args: slices.Clone(args)}}
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
	if r.Func == nil {
		return nil, nil, nil
	}
	return r.Func(ctx, c)
}

// Calls returns the calls recorded so far, in order.
func (r *RecordingRunner) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}
