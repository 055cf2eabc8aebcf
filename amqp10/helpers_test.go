package amqp10_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/amqp10"
)

// TestMain checks, after all tests, that nothing of this package or go-amqp
// is still running: Close and Run must leave no goroutine behind.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := waitGoroutinesGone(2 * time.Second); leaked != "" {
			fmt.Fprintf(os.Stderr, "goroutines left running after the tests:\n%s\n", leaked)
			code = 1
		}
	}
	os.Exit(code)
}

// waitGoroutinesGone waits until no goroutine but the caller runs code of
// go-amqp or this package, and returns the stacks of those that remain.
func waitGoroutinesGone(timeout time.Duration) string {
	deadline := time.Now().Add(timeout)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var leaked []string
		for i, g := range strings.Split(string(buf), "\n\n") {
			if i == 0 { // this goroutine
				continue
			}
			if strings.Contains(g, "github.com/Azure/go-amqp") || strings.Contains(g, "rida/amqp10") {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 || time.Now().After(deadline) {
			return strings.Join(leaked, "\n\n")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// brokerURL returns the AMQP 1.0 broker to test against, or skips.
func brokerURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("RIDA_TEST_AMQP1_URL")
	if u == "" {
		t.Skip("RIDA_TEST_AMQP1_URL not set: no AMQP 1.0 broker to test against")
	}
	return u
}

// uniqueTopic returns a topic root no other test run uses.
func uniqueTopic(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "ridatest." + hex.EncodeToString(b)
}

// logRecorder is a slog.Handler that keeps records for assertions and
// passes them on to the test log.
type logRecorder struct {
	t       *testing.T
	mu      *sync.Mutex
	records *[]slog.Record
	attrs   []slog.Attr
}

func newLogger(t *testing.T) (*slog.Logger, *logRecorder) {
	h := &logRecorder{t: t, mu: new(sync.Mutex), records: new([]slog.Record)}
	return slog.New(h), h
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	r = r.Clone()
	r.AddAttrs(h.attrs...)
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.records = append(*h.records, r)
	var sb strings.Builder
	r.Attrs(func(a slog.Attr) bool { fmt.Fprintf(&sb, " %s=%v", a.Key, a.Value); return true })
	h.t.Logf("%s %s%s", r.Level, r.Message, sb.String())
	return nil
}

func (h *logRecorder) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	return &c
}

func (h *logRecorder) WithGroup(string) slog.Handler { return h }

// count returns how many records at level carry msg.
func (h *logRecorder) count(level slog.Level, msg string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, r := range *h.records {
		if r.Level == level && r.Message == msg {
			n++
		}
	}
	return n
}

// received collects what a Consumer hands to its handler.
type received struct {
	ch chan rida.Message
}

func newReceived() *received { return &received{ch: make(chan rida.Message, 1000)} }

func (r *received) handle(ctx context.Context, m rida.Message) error {
	select {
	case r.ch <- m:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// waitFor returns the first received message for which match is true,
// failing the test after 10 s.
func (r *received) waitFor(t *testing.T, what string, match func(rida.Message) bool) rida.Message {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m := <-r.ch:
			if match(m) {
				return m
			}
		case <-timeout:
			t.Fatalf("timed out waiting for %s", what)
			return rida.Message{}
		}
	}
}

// runConsumer runs c until the test ends, then checks Run returned nil.
func runConsumer(t *testing.T, c *amqp10.Consumer, handle rida.MessageHandler) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, handle) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v, want nil after ctx ended", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after ctx ended")
		}
	})
}

// startPubSub starts a Publisher and a Consumer of the topics under root,
// both with cfg, and returns once the consumer receives what the publisher
// sends.
func startPubSub(t *testing.T, cfg amqp10.Config, root string) (*amqp10.Publisher, *received) {
	t.Helper()
	p := amqp10.NewPublisher(cfg)
	t.Cleanup(func() { p.Close() })
	got := newReceived()
	runConsumer(t, amqp10.NewConsumer(amqp10.ConsumerConfig{Config: cfg, Sources: []string{"/topic/" + root + ".#"}}), got.handle)
	waitConsuming(t, p, root+".probe", got)
	return p, got
}

// waitConsuming publishes probe messages under topic until the consumer
// feeding r receives one: a "/topic/..." source only gets what is published
// after its queue is bound, and Run does not say when that is.
func waitConsuming(t *testing.T, p *amqp10.Publisher, topic string, r *received) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; ; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := p.Publish(ctx, []rida.Message{{ID: fmt.Sprintf("probe-%d", i), Topic: topic, Body: []byte(`{}`)}})
		cancel()
		if err != nil {
			t.Logf("probe %d: %v", i, err)
		}
		select {
		case m := <-r.ch:
			if strings.HasPrefix(m.ID, "probe-") {
				return
			}
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("the consumer received no probe message within 10 s")
		}
	}
}

// eventually retries f every 20 ms until it returns nil or 10 s pass.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after 10 s: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var errNotYet = errors.New("not yet")
