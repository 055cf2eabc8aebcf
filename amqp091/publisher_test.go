package amqp091_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/amqp091"
	"github.com/rida-build/rida/internal/tcpproxy"
)

// Ensure a published message reaches a queue bound with its topic, with
// fedora-messaging's properties and headers, and that a batch keeps its
// order.
func TestPublisher_Publish(t *testing.T) {
	checkGoroutines(t)
	url := brokerURL(t)
	a := mustAdmin(t, url)
	topic := "org.rida.test." + suffix(t) + ".module.state.change"
	queue := a.tempQueue("amq.topic", topic)

	log, _ := newTestLogger(t)
	pub := amqp091.NewPublisher(amqp091.Config{URL: url, Logger: log})
	t.Cleanup(func() { _ = pub.Close() })

	cet := time.FixedZone("CET", 3600)
	msgs := []rida.Message{{
		ID:         "6f0d1d3e-1a2b-4c5d-8e9f-000000000001",
		Topic:      topic,
		Body:       json.RawMessage(`{"id":8,"state":1,"state_name":"wait"}`),
		Properties: map[string]any{"fedora_messaging_user_jdoe": true, "count": 3},
		SentAt:     time.Date(2026, 11, 21, 19, 0, 0, 999, cet),
	}}
	for i := range 5 {
		msgs = append(msgs, rida.Message{ID: "batch-" + string(rune('a'+i)), Topic: topic, Body: json.RawMessage(`{}`)})
	}
	if err := pub.Publish(t.Context(), msgs); err != nil {
		t.Fatalf("Publish = %v", err)
	}

	d := a.get(queue)
	if got, want := string(d.Body), string(msgs[0].Body); got != want {
		t.Errorf("Body = %s, want %s", got, want)
	}
	for _, c := range []struct{ name, got, want string }{
		{"MessageId", d.MessageId, msgs[0].ID},
		{"ContentType", d.ContentType, "application/json"},
		{"ContentEncoding", d.ContentEncoding, "utf-8"},
		{"Exchange", d.Exchange, "amq.topic"},
		{"RoutingKey", d.RoutingKey, topic},
	} {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if d.DeliveryMode != amqp.Persistent {
		t.Errorf("DeliveryMode = %d, want %d (persistent)", d.DeliveryMode, amqp.Persistent)
	}
	if want := time.Date(2026, 11, 21, 18, 0, 0, 0, time.UTC); !d.Timestamp.Equal(want) {
		t.Errorf("Timestamp = %v, want %v", d.Timestamp, want)
	}
	wantHeaders := amqp.Table{
		"fedora_messaging_schema":    "base.message",
		"fedora_messaging_severity":  int64(20),
		"sent-at":                    "2026-11-21T18:00:00+00:00",
		"priority":                   int64(0),
		"fedora_messaging_user_jdoe": true,
		"count":                      int64(3),
	}
	if diff := cmp.Diff(wantHeaders, d.Headers); diff != "" {
		t.Errorf("Headers (-want +got):\n%s", diff)
	}

	var got []string
	for range 5 {
		got = append(got, a.get(queue).MessageId)
	}
	want := []string{"batch-a", "batch-b", "batch-c", "batch-d", "batch-e"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("batch order (-want +got):\n%s", diff)
	}
}

// Ensure a Publisher declares an exchange other than amq.topic as a
// durable topic exchange, and leaves an existing one alone even if it was
// declared with other properties.
func TestPublisher_Exchange(t *testing.T) {
	checkGoroutines(t)
	url := brokerURL(t)
	a := mustAdmin(t, url)
	s := suffix(t)
	log, _ := newTestLogger(t)

	t.Run("Declared", func(t *testing.T) {
		exchange := "rida-test-x-" + s
		t.Cleanup(func() { _ = a.ch().ExchangeDelete(exchange, false, false) })
		pub := amqp091.NewPublisher(amqp091.Config{URL: url, Exchange: exchange, Logger: log})
		defer pub.Close()
		msg := rida.Message{ID: "1", Topic: "rida.test." + s, Body: json.RawMessage(`{}`)}
		if err := pub.Publish(t.Context(), []rida.Message{msg}); err != nil {
			t.Fatalf("Publish = %v", err)
		}
		// Redeclaring with the same properties succeeds only if they match.
		if err := a.ch().ExchangeDeclare(exchange, "topic", true, false, false, false, nil); err != nil {
			t.Fatalf("exchange is not a durable topic exchange: %v", err)
		}
		queue := a.tempQueue(exchange, msg.Topic)
		if err := pub.Publish(t.Context(), []rida.Message{msg}); err != nil {
			t.Fatalf("Publish = %v", err)
		}
		if got := a.get(queue).Exchange; got != exchange {
			t.Errorf("Exchange = %q, want %q", got, exchange)
		}
	})

	t.Run("Existing", func(t *testing.T) {
		exchange := "rida-test-y-" + s
		if err := a.ch().ExchangeDeclare(exchange, "topic", false, false, false, false, nil); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = a.ch().ExchangeDelete(exchange, false, false) })
		queue := a.tempQueue(exchange, "rida.test."+s)
		pub := amqp091.NewPublisher(amqp091.Config{URL: url, Exchange: exchange, Logger: log})
		defer pub.Close()
		msg := rida.Message{ID: "2", Topic: "rida.test." + s, Body: json.RawMessage(`{}`)}
		if err := pub.Publish(t.Context(), []rida.Message{msg}); err != nil {
			t.Fatalf("Publish = %v", err)
		}
		if got := a.get(queue).MessageId; got != "2" {
			t.Errorf("MessageId = %q, want 2", got)
		}
	})
}

// fakeClock is a settable clock for the backoff window.
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

// Ensure that, with no broker, Publish fails; that within the backoff
// window it fails without trying to connect, saying when it will; and that
// it tries again after the window. No broker needed.
func TestPublisher_Backoff(t *testing.T) {
	checkGoroutines(t)
	down := tcpproxy.Down(t) // hangs up on every connection, counting them
	clock := &fakeClock{now: time.Date(2026, 11, 21, 18, 0, 0, 0, time.UTC)}
	log, _ := newTestLogger(t)
	pub := amqp091.NewPublisher(amqp091.Config{
		URL:          "amqp://guest:guest@" + down.Addr() + "/",
		ReconnectMin: time.Second,
		ReconnectMax: 4 * time.Second,
		Logger:       log,
		Now:          clock.Now,
	})
	defer pub.Close()
	msgs := []rida.Message{{ID: "1", Topic: "t", Body: json.RawMessage(`{}`)}}

	if err := pub.Publish(t.Context(), msgs); err == nil {
		t.Fatal("Publish with no broker = nil, want an error")
	}
	if got := down.Refused(); got != 1 {
		t.Fatalf("connection attempts = %d, want 1", got)
	}
	err := pub.Publish(t.Context(), msgs)
	if err == nil || !strings.Contains(err.Error(), "next attempt at 2026-11-21T18:00:0") {
		t.Errorf("Publish within the backoff window = %v, want an error saying when it retries", err)
	}
	if got := down.Refused(); got != 1 {
		t.Errorf("connection attempts within the backoff window = %d, want still 1", got)
	}
	clock.Add(time.Second + time.Millisecond) // past the first delay, at most ReconnectMin
	if err := pub.Publish(t.Context(), msgs); err == nil {
		t.Fatal("Publish with no broker = nil, want an error")
	}
	if got := down.Refused(); got != 2 {
		t.Errorf("connection attempts after the window = %d, want 2", got)
	}
}

// Ensure Publish honours its context when the broker never answers, and
// Close ends the Publisher. No broker needed.
func TestPublisher_ContextAndClose(t *testing.T) {
	checkGoroutines(t)
	// A "broker" that accepts and then says nothing.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var conns []net.Conn
	var mu sync.Mutex
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
		for _, c := range conns {
			_ = c.Close()
		}
	})

	pub := amqp091.NewPublisher(amqp091.Config{URL: "amqp://guest:guest@" + ln.Addr().String() + "/"})
	msgs := []rida.Message{{ID: "1", Topic: "t", Body: json.RawMessage(`{}`)}}
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	if err := pub.Publish(ctx, msgs); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Publish to a silent broker = %v, want context.DeadlineExceeded", err)
	}
	// Close ends a Publish stuck in the handshake with the silent broker.
	published := make(chan error, 1)
	go func() { published <- pub.Publish(context.Background(), msgs) }()
	if err := pub.Close(); err != nil {
		t.Errorf("Close = %v", err)
	}
	if err := <-published; !errors.Is(err, amqp091.ErrClosed) {
		t.Errorf("Publish during Close = %v, want ErrClosed", err)
	}
	if err := pub.Publish(t.Context(), msgs); !errors.Is(err, amqp091.ErrClosed) {
		t.Errorf("Publish after Close = %v, want ErrClosed", err)
	}
	if err := pub.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
	if err := pub.Publish(t.Context(), nil); err != nil {
		t.Errorf("Publish of nothing = %v, want nil", err)
	}
}

// Ensure concurrent Publish calls are safe and all get through.
func TestPublisher_Concurrent(t *testing.T) {
	checkGoroutines(t)
	url := brokerURL(t)
	a := mustAdmin(t, url)
	topic := "rida.test." + suffix(t)
	queue := a.tempQueue("amq.topic", topic)
	log, _ := newTestLogger(t)
	pub := amqp091.NewPublisher(amqp091.Config{URL: url, Logger: log})
	t.Cleanup(func() { _ = pub.Close() })

	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			var msgs []rida.Message
			for i := range 10 {
				msgs = append(msgs, rida.Message{ID: fmt.Sprintf("%d-%d", g, i), Topic: topic, Body: json.RawMessage(`{}`)})
			}
			if err := pub.Publish(t.Context(), msgs); err != nil {
				t.Errorf("Publish = %v", err)
			}
		})
	}
	wg.Wait()
	var got []string
	waitFor(t, "40 messages", func() bool {
		got = append(got, a.drain(queue)...)
		return len(got) >= 40
	})
	if len(got) != 40 {
		t.Errorf("got %d messages, want 40", len(got))
	}
}
