package amqp10_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/amqp10"
	"github.com/rida-build/rida/internal/tcpproxy"
)

// fakeClock is a settable Config.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Ensure a failed connection attempt starts a backoff during which Publish
// fails fast, saying when it will try again, and that it tries again after.
func TestPublish_BackoffFailsFast(t *testing.T) {
	t.Parallel()
	b := tcpproxy.Down(t)
	clock := &fakeClock{now: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)}
	p := amqp10.NewPublisher(amqp10.Config{URL: "amqp://guest:guest@" + b.Addr(), Now: clock.Now, ReconnectMin: time.Minute, ReconnectMax: time.Hour})
	defer p.Close()
	ctx := context.Background()
	msgs := []rida.Message{{ID: "1", Topic: "t", Body: []byte("{}")}}

	if err := p.Publish(ctx, msgs); err == nil {
		t.Fatal("Publish to a dead broker returned nil")
	}
	if got := b.Refused(); got != 1 {
		t.Fatalf("%d connection attempts, want 1", got)
	}
	err := p.Publish(ctx, msgs)
	if err == nil || !strings.Contains(err.Error(), "next connection attempt at 2026-11-21T12:0") {
		t.Fatalf("Publish during the backoff: err = %v, want one saying when it retries", err)
	}
	if got := b.Refused(); got != 1 {
		t.Fatalf("%d connection attempts during the backoff, want still 1", got)
	}
	clock.Add(time.Minute) // the first backoff is at most ReconnectMin
	if err := p.Publish(ctx, msgs); err == nil || strings.Contains(err.Error(), "next connection attempt") {
		t.Fatalf("Publish after the backoff: err = %v, want a new failed attempt", err)
	}
	if got := b.Refused(); got != 2 {
		t.Fatalf("%d connection attempts after the backoff, want 2", got)
	}
}

// Ensure Publish validates the batch before connecting, returns nil for an
// empty batch, respects ctx, and fails with ErrClosed after Close.
func TestPublish_LocalErrors(t *testing.T) {
	t.Parallel()
	b := tcpproxy.Down(t)
	p := amqp10.NewPublisher(amqp10.Config{URL: "amqp://guest:guest@" + b.Addr()})
	if err := p.Publish(context.Background(), nil); err != nil {
		t.Errorf("empty batch: %v", err)
	}
	if err := p.Publish(context.Background(), []rida.Message{{ID: "no-topic"}}); err == nil {
		t.Error("a message without topic was published")
	}
	if got := b.Refused(); got != 0 {
		t.Errorf("%d connection attempts for batches that need none", got)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.Publish(ctx, []rida.Message{{ID: "1", Topic: "t"}}); !errors.Is(err, context.Canceled) {
		t.Errorf("Publish with a cancelled ctx: err = %v, want context.Canceled", err)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := p.Publish(context.Background(), []rida.Message{{ID: "1", Topic: "t"}}); !errors.Is(err, amqp10.ErrClosed) {
		t.Errorf("Publish after Close: err = %v, want ErrClosed", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	bad := amqp10.NewPublisher(amqp10.Config{URL: "http://example.com"})
	defer bad.Close()
	if err := bad.Publish(context.Background(), []rida.Message{{ID: "1", Topic: "t"}}); err == nil {
		t.Error("Publish with an http URL returned nil")
	}
}

// Ensure Run refuses a configuration that can never work, and otherwise
// keeps retrying an unreachable broker until ctx ends, then returns nil.
func TestConsumer_RunConfigAndShutdown(t *testing.T) {
	t.Parallel()
	noop := func(context.Context, rida.Message) error { return nil }
	b := tcpproxy.Down(t)
	if err := amqp10.NewConsumer(amqp10.ConsumerConfig{Config: amqp10.Config{URL: "amqp://guest:guest@" + b.Addr()}}).Run(context.Background(), noop); err == nil {
		t.Error("Run without sources returned nil")
	}
	if err := amqp10.NewConsumer(amqp10.ConsumerConfig{Config: amqp10.Config{URL: "::"}, Sources: []string{"/queue/q"}}).Run(context.Background(), noop); err == nil {
		t.Error("Run with a bad URL returned nil")
	}

	log, logs := newLogger(t)
	c := amqp10.NewConsumer(amqp10.ConsumerConfig{
		Config:  amqp10.Config{URL: "amqp://guest:guest@" + b.Addr(), Logger: log, ReconnectMin: time.Millisecond, ReconnectMax: 5 * time.Millisecond},
		Sources: []string{"/queue/q"},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, noop) }()
	eventually(t, "reconnect attempts", func() error {
		if b.Refused() < 3 {
			return errNotYet
		}
		return nil
	})
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after ctx ended")
	}
	if n := logs.count(slog.LevelWarn, "disconnected from the broker; reconnecting"); n != 1 {
		t.Errorf("logged the outage %d times at warn, want once", n)
	}
}
