package bus

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/rida-build/rida"
)

// Bus is the in-process bus: Publish hands each message to the subscribers
// whose pattern matches its topic, in order, and returns. It keeps nothing:
// a subscriber that is not there misses the message, which is why watchers
// read the outbox and use the bus only to learn when to read again.
type Bus struct {
	mu   sync.RWMutex
	subs map[*subscription]struct{}
}

type subscription struct {
	pattern string
	handle  func(rida.Message)
}

// NewBus returns an empty in-process bus.
func NewBus() *Bus { return &Bus{subs: map[*subscription]struct{}{}} }

// Publish delivers msgs to the matching subscribers, synchronously and in
// order; it never fails.
func (b *Bus) Publish(_ context.Context, msgs []rida.Message) error {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, m := range msgs {
		for s := range b.subs {
			if Match(s.pattern, m.Topic) {
				s.handle(m)
			}
		}
	}
	return nil
}

// Subscribe calls handle for every message published whose topic matches
// pattern (see Match), until the returned cancel is called. handle runs on
// the publisher's goroutine and must not block.
func (b *Bus) Subscribe(pattern string, handle func(rida.Message)) (cancel func()) {
	s := &subscription{pattern: pattern, handle: handle}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return func() {
		b.mu.Lock()
		delete(b.subs, s)
		b.mu.Unlock()
	}
}

// Match reports whether topic matches pattern, in AMQP topic-exchange
// terms: words separated by dots, "*" matching one word and "#" zero or
// more.
func Match(pattern, topic string) bool {
	p := strings.Split(pattern, ".")
	// "#.#" matches what "#" does; collapsing keeps the search linear in
	// the topic's words for any one "#".
	p = slices.CompactFunc(p, func(a, b string) bool { return a == "#" && b == "#" })
	return matchWords(p, strings.Split(topic, "."))
}

func matchWords(p, t []string) bool {
	for len(p) > 0 {
		switch p[0] {
		case "#":
			if len(p) == 1 {
				return true
			}
			for i := 0; i <= len(t); i++ {
				if matchWords(p[1:], t[i:]) {
					return true
				}
			}
			return false
		case "*":
			if len(t) == 0 {
				return false
			}
		default:
			if len(t) == 0 || t[0] != p[0] {
				return false
			}
		}
		p, t = p[1:], t[1:]
	}
	return len(t) == 0
}
