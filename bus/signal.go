package bus

import "sync"

// Signal is a broadcast without payload: every waiter learns that
// something happened since it started waiting. The store's commit hook
// fires it, and event streams wait on it, so a watcher hears of a change
// as soon as it is committed, however many watchers there are.
type Signal struct {
	mu sync.Mutex
	ch chan struct{}
}

// NewSignal returns a Signal nobody waits on yet.
func NewSignal() *Signal { return &Signal{ch: make(chan struct{})} }

// Fire wakes everyone waiting on a channel from Wait; it never blocks.
func (s *Signal) Fire() {
	s.mu.Lock()
	close(s.ch)
	s.ch = make(chan struct{})
	s.mu.Unlock()
}

// Wait returns a channel closed at the next Fire.
func (s *Signal) Wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ch
}
