package amqp10_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/Azure/go-amqp"
	"github.com/google/go-cmp/cmp"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/amqp10"
	"github.com/rida-build/rida/internal/tcpproxy"
)

// Ensure a published message arrives with its body, ID, topic, properties
// and durable header, both through a Consumer and on the wire.
func TestPublishConsume(t *testing.T) {
	t.Parallel()
	url := brokerURL(t)
	root := uniqueTopic(t)
	log, _ := newLogger(t)

	// A raw receiver shows what is on the wire: attached before the
	// publish, so its queue is bound when the message is routed.
	raw := rawReceiver(t, url, "/topic/"+root+".#")

	p, got := startPubSub(t, amqp10.Config{URL: url, Logger: log}, root)

	sentAt := time.Date(2026, 11, 21, 12, 0, 0, 123456789, time.UTC)
	m := rida.Message{
		ID:         "evt-" + root,
		Topic:      root + ".build.state.change",
		Body:       json.RawMessage(`{"build_id":7,"state":"done"}`),
		Properties: map[string]any{"build_id": 7, "state": "done", "ok": true},
		SentAt:     sentAt,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Publish(ctx, []rida.Message{m}); err != nil {
		t.Fatal(err)
	}

	r := got.waitFor(t, m.ID, func(r rida.Message) bool { return r.ID == m.ID })
	want := m
	want.Properties = map[string]any{
		"build_id": int64(7), "state": "done", "ok": true,
		"topic": m.Topic, "sent-at": "2026-11-21T12:00:00.123456789Z",
	}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Errorf("received (-want +got):\n%s", diff)
	}

	var w *amqp.Message
	for w == nil {
		msg, err := raw.Receive(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := raw.AcceptMessage(ctx, msg); err != nil {
			t.Fatal(err)
		}
		if msg.Properties != nil && msg.Properties.MessageID == any(m.ID) {
			w = msg
		}
	}
	if w.Header == nil || !w.Header.Durable {
		t.Errorf("header = %+v, want durable", w.Header)
	}
	if got, want := deref(w.Properties.To), "/topic/"+m.Topic; got != want {
		t.Errorf("to = %q, want %q", got, want)
	}
	if got, want := deref(w.Properties.ContentType), "application/json"; got != want {
		t.Errorf("content-type = %q, want %q", got, want)
	}
	if got, want := deref(w.Properties.Subject), m.Topic; got != want {
		t.Errorf("subject = %q, want %q", got, want)
	}
	if w.Properties.CreationTime == nil || !w.Properties.CreationTime.Equal(sentAt.Truncate(time.Millisecond)) {
		t.Errorf("creation-time = %v, want %v", w.Properties.CreationTime, sentAt)
	}
	if got, want := string(w.GetData()), string(m.Body); got != want {
		t.Errorf("data = %q, want %q", got, want)
	}
}

// Ensure a batch is sent in order and a message to an address the broker
// refuses fails the Publish, after which the Publisher recovers.
func TestPublish_BatchAndRefusedAddress(t *testing.T) {
	t.Parallel()
	url := brokerURL(t)
	root := uniqueTopic(t)
	raw := rawReceiver(t, url, "/topic/"+root+".#")
	p := amqp10.NewPublisher(amqp10.Config{URL: url, ReconnectMin: time.Millisecond, ReconnectMax: 5 * time.Millisecond})
	t.Cleanup(func() { p.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	var batch []rida.Message
	for i := range 5 {
		batch = append(batch, rida.Message{ID: fmt.Sprint(i), Topic: fmt.Sprintf("%s.n%d", root, i%2), Body: []byte(fmt.Sprint(i))})
	}
	if err := p.Publish(ctx, batch); err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		msg, err := raw.Receive(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		_ = raw.AcceptMessage(ctx, msg)
		if got, want := msg.Properties.MessageID, any(fmt.Sprint(i)); got != want {
			t.Errorf("message %d has ID %v, want %v: out of order", i, got, want)
		}
	}

	// RabbitMQ refuses to attach to an exchange that does not exist.
	bad := amqp10.NewPublisher(amqp10.Config{URL: url, AddressPrefix: "/exchange/no-such-exchange-" + root + "/"})
	t.Cleanup(func() { bad.Close() })
	err := bad.Publish(ctx, []rida.Message{{ID: "x", Topic: "t", Body: []byte("{}")}})
	if err == nil {
		t.Fatal("Publish to a missing exchange returned nil")
	}
	t.Logf("publish to a missing exchange: %v", err)

	eventually(t, "publish after a failed one", func() error {
		return p.Publish(ctx, []rida.Message{{ID: "again", Topic: root + ".again", Body: []byte("{}")}})
	})
}

// Ensure a message shaped like Koji protonmsg's (a JSON string value body,
// no message-id, no to) reaches the handler with its body and properties.
func TestConsumer_KojiMessage(t *testing.T) {
	t.Parallel()
	url := brokerURL(t)
	root := uniqueTopic(t)
	log, _ := newLogger(t)
	// Like protonmsg with topic_prefix = /topic/<root>: addresses are
	// "<prefix>.build.complete".
	_, got := startPubSub(t, amqp10.Config{URL: url, Logger: log}, root)

	body := `{"attribute": "state", "old": 0, "new": 1, "info": {"id": 12, "name": "testmodule", "version": "master", "release": "20261121.c0ffee", "state": 1, "extra": {"typeinfo": {"module": {"name": "testmodule"}}}}, "btypes": {}}`
	props := map[string]any{
		"type": "BuildStateChange", "name": "testmodule", "version": "master", "release": "20261121.c0ffee",
		"attribute": "state", "old": "BUILDING", "new": "COMPLETE",
	}
	send(t, url, "/topic/"+root+".build.complete", &amqp.Message{ApplicationProperties: props, Value: body})

	r := got.waitFor(t, "the Koji message", func(r rida.Message) bool { return r.Topic == root+".build.complete" })
	if got, want := string(r.Body), body; got != want {
		t.Errorf("Body = %q, want %q", got, want)
	}
	if !json.Valid(r.Body) {
		t.Errorf("Body is not JSON: %q", r.Body)
	}
	if diff := cmp.Diff(props, r.Properties); diff != "" {
		t.Errorf("Properties (-want +got):\n%s", diff)
	}
	if r.ID != "" {
		t.Errorf("ID = %q, want none: protonmsg sets no message-id", r.ID)
	}
}

// Ensure a handler error releases the message, which comes back and is
// accepted the second time (and not delivered a third time), and that a
// message that cannot be converted is rejected without reaching the handler.
func TestConsumer_RedeliveryAndReject(t *testing.T) {
	t.Parallel()
	url := brokerURL(t)
	root := uniqueTopic(t)
	log, logs := newLogger(t)
	p := amqp10.NewPublisher(amqp10.Config{URL: url, Logger: log})
	t.Cleanup(func() { p.Close() })

	got := newReceived()
	var mu sync.Mutex
	deliveries := map[string]int{}
	handle := func(ctx context.Context, m rida.Message) error {
		mu.Lock()
		deliveries[m.ID]++
		n := deliveries[m.ID]
		mu.Unlock()
		if m.ID == "flaky" && n == 1 {
			return errors.New("database is busy")
		}
		return got.handle(ctx, m)
	}
	runConsumer(t, amqp10.NewConsumer(amqp10.ConsumerConfig{
		Config:       amqp10.Config{URL: url, Logger: log},
		Sources:      []string{"/topic/" + root + ".#"},
		ReleaseDelay: 10 * time.Millisecond,
		// One message at a time, so the order of deliveries says what the
		// broker did: a released message is requeued at its old place,
		// ahead of the sentinel published after it.
		Credit: 1,
	}), handle)
	waitConsuming(t, p, root+".probe", got)

	// A sequence body cannot carry JSON: rejected, never handled.
	send(t, url, "/topic/"+root+".odd", &amqp.Message{
		Properties: &amqp.MessageProperties{MessageID: "odd"},
		Sequence:   [][]any{{"not", "json"}},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Publish(ctx, []rida.Message{
		{ID: "flaky", Topic: root + ".x", Body: []byte(`{"n":1}`)},
		{ID: "sentinel", Topic: root + ".x", Body: []byte(`{"n":2}`)},
	}); err != nil {
		t.Fatal(err)
	}
	// Were "flaky" released again, it would be handled a third time before
	// the sentinel arrives.
	got.waitFor(t, "the sentinel", func(r rida.Message) bool { return r.ID == "sentinel" })
	mu.Lock()
	defer mu.Unlock()
	if n := deliveries["flaky"]; n != 2 {
		t.Errorf("the flaky message was handled %d times, want 2", n)
	}
	if n := deliveries["odd"]; n != 0 {
		t.Errorf("the unconvertible message was handled %d times, want 0", n)
	}
	if n := logs.count(slog.LevelWarn, "handler failed; releasing the message for redelivery"); n != 1 {
		t.Errorf("logged %d handler failures at warn, want 1", n)
	}
	if n := logs.count(slog.LevelError, "rejecting a message that cannot be converted"); n != 1 {
		t.Errorf("logged %d rejections, want 1", n)
	}
}

// Ensure both sides survive a broker outage: Publish fails while the broker
// is unreachable and succeeds after, and the Consumer reconnects by itself,
// logging the outage once, and receives what is published afterwards.
func TestReconnect(t *testing.T) {
	t.Parallel()
	url := brokerURL(t)
	root := uniqueTopic(t)
	px, purl := tcpproxy.ForURL(t, url, "5672")
	log, logs := newLogger(t)
	fast := amqp10.Config{URL: purl, Logger: log, ReconnectMin: 20 * time.Millisecond, ReconnectMax: 100 * time.Millisecond, ConnectTimeout: 2 * time.Second}

	p, got := startPubSub(t, fast, root)

	px.Cut()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msg := []rida.Message{{ID: "during", Topic: root + ".x", Body: []byte("{}")}}
	if err := p.Publish(ctx, msg); err == nil {
		t.Fatal("Publish through a cut connection returned nil")
	}
	// Both sides try again while the broker is unreachable.
	eventually(t, "reconnect attempts", func() error {
		if err := p.Publish(ctx, msg); err == nil {
			return errors.New("Publish returned nil while the broker is unreachable")
		}
		if n := px.Refused(); n < 4 {
			return fmt.Errorf("%d refused connections: %w", n, errNotYet)
		}
		return nil
	})

	px.Restore()
	for i, found := 0, false; !found; i++ {
		// The publisher may still be in its backoff, the consumer's new
		// queue not yet bound: retry both until a message gets through.
		if err := p.Publish(ctx, []rida.Message{{ID: fmt.Sprint("after-", i), Topic: root + ".x", Body: []byte("{}")}}); err != nil {
			t.Logf("publish after the outage: %v", err)
		}
		next := time.After(50 * time.Millisecond)
	wait:
		for {
			select {
			case m := <-got.ch:
				if strings.HasPrefix(m.ID, "after-") {
					found = true
					break wait
				}
			case <-next:
				break wait
			case <-ctx.Done():
				t.Fatal("the consumer received nothing published after the outage")
			}
		}
	}
	if n := logs.count(slog.LevelWarn, "disconnected from the broker; reconnecting"); n != 1 {
		t.Errorf("the consumer logged the outage %d times at warn, want once", n)
	}
	if n := logs.count(slog.LevelInfo, "reconnected"); n != 1 {
		t.Errorf("the consumer logged its recovery %d times, want once", n)
	}
}

// rawSession opens a plain go-amqp connection and session to url, closed
// at the end of the test.
func rawSession(t *testing.T, ctx context.Context, url string) *amqp.Session {
	t.Helper()
	conn, err := amqp.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	sess, err := conn.NewSession(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	return sess
}

// rawReceiver attaches a plain go-amqp receiver to source, closed at the end
// of the test.
func rawReceiver(t *testing.T, url, source string) *amqp.Receiver {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := rawSession(t, ctx, url).NewReceiver(ctx, source, &amqp.ReceiverOptions{Credit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// send sends msg to address with a plain go-amqp sender, as another
// service (Koji) would, and waits for the broker to accept it.
func send(t *testing.T, url, address string, msg *amqp.Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	mode := amqp.SenderSettleModeUnsettled
	s, err := rawSession(t, ctx, url).NewSender(ctx, address, &amqp.SenderOptions{SettlementMode: &mode})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(ctx, msg, nil); err != nil {
		t.Fatal(err)
	}
}
