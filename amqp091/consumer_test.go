package amqp091_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/amqp091"
	"github.com/rida-build/rida/internal/tcpproxy"
)

// recorder is a handler that records what it was given and can fail
// chosen attempts.
type recorder struct {
	mu       sync.Mutex
	attempts []string             // message ids, one per handler call
	handled  map[string]time.Time // ids handled successfully, with SentAt
	msgs     map[string]rida.Message
	fail     map[string]int // id → how many first attempts fail
}

func newRecorder() *recorder {
	return &recorder{handled: map[string]time.Time{}, msgs: map[string]rida.Message{}, fail: map[string]int{}}
}

func (r *recorder) handle(_ context.Context, m rida.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts = append(r.attempts, m.ID)
	if r.fail[m.ID] > 0 {
		r.fail[m.ID]--
		return fmt.Errorf("fail %s on purpose", m.ID)
	}
	r.handled[m.ID] = m.SentAt
	r.msgs[m.ID] = m
	return nil
}

func (r *recorder) hasHandled(ids ...string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range ids {
		if _, ok := r.handled[id]; !ok {
			return false
		}
	}
	return true
}

// runConsumer runs c until the test ends (or stop is called), checking
// that Run returns nil.
func runConsumer(t *testing.T, c *amqp091.Consumer, handle rida.MessageHandler) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, handle) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run = %v, want nil after its context ended", err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("Run did not return after its context ended")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func ids(prefix string, n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("%s-%02d", prefix, i))
	}
	return out
}

func messages(topic string, ids []string) []rida.Message {
	var out []rida.Message
	for _, id := range ids {
		out = append(out, rida.Message{ID: id, Topic: topic, Body: json.RawMessage(`{"id":"` + id + `"}`)})
	}
	return out
}

// Ensure messages published by a Publisher reach a Consumer's handler in
// order, as rida.Messages, that a handler error brings the message back
// (redelivered) until it is handled, and that everything handled is
// acknowledged.
func TestConsumer_Run(t *testing.T) {
	checkGoroutines(t)
	url := brokerURL(t)
	a := mustAdmin(t, url)
	s := suffix(t)
	queue := "rida-test-q-" + s
	a.deleteQueueAtCleanup(queue)
	log, logs := newTestLogger(t)

	pub := amqp091.NewPublisher(amqp091.Config{URL: url, Logger: log})
	t.Cleanup(func() { _ = pub.Close() })
	c := amqp091.NewConsumer(amqp091.ConsumerConfig{
		Config:    amqp091.Config{URL: url, Logger: log},
		Queue:     queue,
		Bindings:  []string{"rida.test." + s + ".build.#", "rida.test." + s + ".tag"},
		NackDelay: 20 * time.Millisecond,
	})
	rec := newRecorder()
	stop := runConsumer(t, c, rec.handle)
	waitFor(t, "the consumer", func() bool {
		q, err := a.inspect(queue)
		return err == nil && q.Consumers == 1
	})

	// In order, with no failures.
	first := ids("m", 20)
	sentAt := time.Date(2026, 11, 21, 18, 0, 0, 0, time.UTC)
	batch := messages("rida.test."+s+".build.state.change", first)
	batch[0].SentAt = sentAt
	batch[0].Properties = map[string]any{"fedora_messaging_rpm_perl": true}
	if err := pub.Publish(t.Context(), batch); err != nil {
		t.Fatalf("Publish = %v", err)
	}
	waitFor(t, "the first batch", func() bool { return rec.hasHandled(first...) })
	rec.mu.Lock()
	if diff := cmp.Diff(first, rec.attempts); diff != "" {
		t.Errorf("handled (-want +got):\n%s", diff)
	}
	got := rec.msgs[first[0]]
	rec.mu.Unlock()
	want := rida.Message{
		ID:     first[0],
		Topic:  "rida.test." + s + ".build.state.change",
		Body:   json.RawMessage(`{"id":"m-00"}`),
		SentAt: sentAt,
		Properties: map[string]any{
			"fedora_messaging_schema":   "base.message",
			"fedora_messaging_severity": int64(20),
			"sent-at":                   "2026-11-21T18:00:00+00:00",
			"priority":                  int64(0),
			"fedora_messaging_rpm_perl": true,
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}

	// A failing handler: the message comes back, redelivered.
	rec.mu.Lock()
	rec.attempts = nil
	rec.fail["tag-00"] = 2
	rec.mu.Unlock()
	if err := pub.Publish(t.Context(), messages("rida.test."+s+".tag", []string{"tag-00"})); err != nil {
		t.Fatalf("Publish = %v", err)
	}
	waitFor(t, "the failing message", func() bool { return rec.hasHandled("tag-00") })
	rec.mu.Lock()
	if diff := cmp.Diff([]string{"tag-00", "tag-00", "tag-00"}, rec.attempts); diff != "" {
		t.Errorf("attempts (-want +got):\n%s", diff)
	}
	rec.mu.Unlock()
	if got := len(logs.find("amqp091: redelivered message")); got != 2 {
		t.Errorf("redelivered log records = %d, want 2", got)
	}
	if got := len(logs.find("amqp091: handler failed; the message goes back to the broker")); got != 2 {
		t.Errorf("handler failure warnings = %d, want 2", got)
	}

	// Everything handled was acknowledged: nothing is left when the
	// consumer is gone (unacknowledged messages would go back).
	stop()
	q, err := a.inspect(queue)
	if err != nil {
		t.Fatalf("the named queue is gone after Run: %v", err)
	}
	if q.Messages != 0 || q.Consumers != 0 {
		t.Errorf("queue after Run: %d messages, %d consumers, want 0, 0", q.Messages, q.Consumers)
	}
	// Durable and not auto-deleted: redeclaring it so succeeds only then.
	if _, err := a.ch().QueueDeclare(queue, true, false, false, false, nil); err != nil {
		t.Errorf("queue is not durable: %v", err)
	}
}

// Ensure a Consumer without a queue name gets a private queue of its own,
// bound on an exchange of rida's own, which it declares if need be.
func TestConsumer_ServerNamedQueue(t *testing.T) {
	checkGoroutines(t)
	url := brokerURL(t)
	a := mustAdmin(t, url)
	s := suffix(t)
	exchange := "rida-test-z-" + s
	t.Cleanup(func() { _ = a.ch().ExchangeDelete(exchange, false, false) })
	log, _ := newTestLogger(t)
	c := amqp091.NewConsumer(amqp091.ConsumerConfig{
		Config:   amqp091.Config{URL: url, Exchange: exchange, Logger: log},
		Bindings: []string{"rida.test." + s + ".#"},
	})
	rec := newRecorder()
	runConsumer(t, c, rec.handle)
	pub := amqp091.NewPublisher(amqp091.Config{URL: url, Exchange: exchange, Logger: log})
	t.Cleanup(func() { _ = pub.Close() })
	// Until the consumer's queue is bound, messages go nowhere: publish
	// until one arrives.
	msgs := messages("rida.test."+s+".x", []string{"x"})
	waitFor(t, "a message", func() bool {
		if err := pub.Publish(t.Context(), msgs); err != nil {
			t.Fatalf("Publish = %v", err)
		}
		time.Sleep(20 * time.Millisecond)
		return rec.hasHandled("x")
	})
}

// Ensure Run refuses what can never work, without connecting.
func TestConsumer_RunErrors(t *testing.T) {
	c := amqp091.NewConsumer(amqp091.ConsumerConfig{Config: amqp091.Config{URL: "http://example.com/"}})
	if err := c.Run(t.Context(), func(context.Context, rida.Message) error { return nil }); err == nil {
		t.Error("Run with an http:// URL = nil, want an error")
	}
	c = amqp091.NewConsumer(amqp091.ConsumerConfig{Config: amqp091.Config{URL: "amqp://localhost/"}})
	if err := c.Run(t.Context(), nil); err == nil {
		t.Error("Run with a nil handler = nil, want an error")
	}
}

// Ensure a network outage loses nothing Publish reported sent: Publish
// fails when the connection breaks before every confirm is in, in the
// middle of a batch, or while the broker is unreachable, and succeeds once
// it is back; the Consumer reconnects by itself and receives what was
// published after the outage; and a durable queue holds every message
// Publish returned nil for.
func TestConnectionLoss(t *testing.T) {
	checkGoroutines(t)
	url := brokerURL(t)
	a := mustAdmin(t, url)
	s := suffix(t)
	topic := "rida.test." + s + ".outage"
	countQueue := "rida-test-count-" + s
	a.durableQueue(countQueue, "amq.topic", topic)
	consumerQueue := "rida-test-q-" + s
	a.deleteQueueAtCleanup(consumerQueue)

	// One proxy each, to cut the publisher alone.
	pxPub, pubURL := tcpproxy.ForURL(t, url, "5672")
	pxCon, conURL := tcpproxy.ForURL(t, url, "5672")
	log, logs := newTestLogger(t)
	cfg := amqp091.Config{
		Logger:       log,
		ReconnectMin: 20 * time.Millisecond,
		ReconnectMax: 100 * time.Millisecond,
	}
	cfg.URL = pubURL
	pub := amqp091.NewPublisher(cfg)
	t.Cleanup(func() { _ = pub.Close() })
	cfg.URL = conURL
	c := amqp091.NewConsumer(amqp091.ConsumerConfig{Config: cfg, Queue: consumerQueue, Bindings: []string{topic}})
	rec := newRecorder()
	stop := runConsumer(t, c, rec.handle)
	waitFor(t, "the consumer", func() bool {
		q, err := a.inspect(consumerQueue)
		return err == nil && q.Consumers == 1
	})

	var sent []string // ids Publish returned nil for
	before := ids("before", 10)
	if err := pub.Publish(t.Context(), messages(topic, before)); err != nil {
		t.Fatalf("Publish = %v", err)
	}
	sent = append(sent, before...)
	waitFor(t, "the messages before the outage", func() bool { return rec.hasHandled(before...) })

	// The broker's confirm never arrives: the connection breaks first.
	pxPub.CutOnReply()
	if err := pub.Publish(t.Context(), messages(topic, ids("unconfirmed", 3))); err == nil {
		t.Fatal("Publish whose confirms were cut off = nil, want an error")
	} else {
		t.Logf("Publish without confirms: %v", err)
	}
	pxPub.Restore()

	// Cut in the middle of a batch (about 100 of its 500 messages through).
	mid := ids("mid", 500)
	pxPub.CutAfter(20_000)
	if err := pub.Publish(t.Context(), messages(topic, mid)); err == nil {
		t.Fatal("Publish of a batch cut in the middle = nil, want an error")
	} else {
		t.Logf("Publish cut mid-batch: %v", err)
	}

	// An outage: both proxies refuse connections for a while.
	pxPub.Cut()
	pxCon.Cut()
	during := ids("during", 3)
	for i := range 3 {
		err := pub.Publish(t.Context(), messages(topic, during))
		if err == nil {
			t.Fatalf("Publish %d while the broker is unreachable = nil, want an error", i)
		}
		t.Logf("Publish while unreachable: %v", err)
	}
	pxPub.Restore()
	pxCon.Restore()

	after := ids("after", 10)
	waitFor(t, "Publish to succeed after the outage", func() bool {
		err := pub.Publish(t.Context(), messages(topic, after))
		if err != nil {
			time.Sleep(10 * time.Millisecond)
		}
		return err == nil
	})
	sent = append(sent, after...)
	waitFor(t, "the consumer to receive what was published after the outage", func() bool {
		return rec.hasHandled(after...)
	})
	stop()

	inQueue := a.drain(countQueue)
	for _, id := range sent {
		if !slices.Contains(inQueue, id) {
			t.Errorf("message %s was published (nil error) but is not in the durable queue", id)
		}
	}
	if got := len(logs.find("amqp091: consumer cannot reach the broker; retrying with backoff")); got != 1 {
		t.Errorf("consumer outage warnings = %d, want 1 (once per outage)", got)
	}
	if got := len(logs.find("amqp091: consuming again")); got != 1 {
		t.Errorf("consumer recovery infos = %d, want 1", got)
	}
	if got := len(logs.find("amqp091: connected to the broker again")); got != 2 {
		t.Errorf("publisher recovery infos = %d, want 2 (two outages)", got)
	}
}

// Ensure a queue the broker already has is consumed as it is, even when
// declared with arguments the Consumer would not give it.
func TestConsumer_ExistingQueue(t *testing.T) {
	checkGoroutines(t)
	url := brokerURL(t)
	a := mustAdmin(t, url)
	s := suffix(t)
	queue := "rida-test-q-" + s
	if _, err := a.ch().QueueDeclare(queue, true, false, false, false, amqp.Table{"x-max-length": int64(1000)}); err != nil {
		t.Fatal(err)
	}
	a.deleteQueueAtCleanup(queue)
	log, _ := newTestLogger(t)
	c := amqp091.NewConsumer(amqp091.ConsumerConfig{
		Config:   amqp091.Config{URL: url, Logger: log},
		Queue:    queue,
		Bindings: []string{"rida.test." + s},
	})
	rec := newRecorder()
	runConsumer(t, c, rec.handle)
	waitFor(t, "the consumer", func() bool {
		q, err := a.inspect(queue)
		return err == nil && q.Consumers == 1
	})
	pub := amqp091.NewPublisher(amqp091.Config{URL: url, Logger: log})
	t.Cleanup(func() { _ = pub.Close() })
	if err := pub.Publish(t.Context(), messages("rida.test."+s, []string{"e"})); err != nil {
		t.Fatalf("Publish = %v", err)
	}
	waitFor(t, "the message", func() bool { return rec.hasHandled("e") })
}

// Ensure Run keeps trying an unreachable broker, warning once, and returns
// nil when its context ends. No broker needed.
func TestConsumer_Unreachable(t *testing.T) {
	checkGoroutines(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now: connections are refused
	log, logs := newTestLogger(t)
	c := amqp091.NewConsumer(amqp091.ConsumerConfig{Config: amqp091.Config{
		URL:          "amqp://guest:guest@" + addr + "/",
		Logger:       log,
		ReconnectMin: time.Millisecond,
		ReconnectMax: 5 * time.Millisecond,
	}})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, func(context.Context, rida.Message) error { return nil }) }()
	waitFor(t, "a few attempts", func() bool {
		return len(logs.find("amqp091: consumer still cannot reach the broker")) >= 3
	})
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v, want nil after its context ended", err)
	}
	if got := len(logs.find("amqp091: consumer cannot reach the broker; retrying with backoff")); got != 1 {
		t.Errorf("outage warnings = %d, want 1", got)
	}
}
