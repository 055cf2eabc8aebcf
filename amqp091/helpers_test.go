package amqp091_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// brokerURL returns the broker the integration tests use, skipping the
// test when there is none.
func brokerURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("RIDA_TEST_AMQP_URL")
	if u == "" {
		t.Skip("RIDA_TEST_AMQP_URL not set: no RabbitMQ to test against")
	}
	return u
}

// suffix returns a random name part, so that tests running at the same
// time against one broker never share an exchange, queue or routing key.
func suffix(t *testing.T) string {
	t.Helper()
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// admin is the tests' own connection to the broker, for declaring and
// inspecting what the code under test should have produced.
type admin struct {
	t    *testing.T
	conn *amqp.Connection
}

func mustAdmin(t *testing.T, url string) *admin {
	t.Helper()
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatalf("admin connection: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return &admin{t: t, conn: conn}
}

// ch returns a new channel; a channel error (404 on a passive declare)
// closes a channel, so each operation takes its own.
func (a *admin) ch() *amqp.Channel {
	a.t.Helper()
	ch, err := a.conn.Channel()
	if err != nil {
		a.t.Fatalf("admin channel: %v", err)
	}
	return ch
}

// tempQueue declares a server-named queue bound to exchange with key,
// deleted with the admin connection.
func (a *admin) tempQueue(exchange, key string) string {
	a.t.Helper()
	ch := a.ch()
	defer ch.Close()
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		a.t.Fatalf("declare temporary queue: %v", err)
	}
	if err := ch.QueueBind(q.Name, key, exchange, false, nil); err != nil {
		a.t.Fatalf("bind temporary queue: %v", err)
	}
	return q.Name
}

// durableQueue declares a durable queue bound to exchange with key and
// deletes it at cleanup.
func (a *admin) durableQueue(name, exchange, key string) {
	a.t.Helper()
	ch := a.ch()
	defer ch.Close()
	if _, err := ch.QueueDeclare(name, true, false, false, false, nil); err != nil {
		a.t.Fatalf("declare queue: %v", err)
	}
	a.deleteQueueAtCleanup(name)
	if err := ch.QueueBind(name, key, exchange, false, nil); err != nil {
		a.t.Fatalf("bind queue: %v", err)
	}
}

func (a *admin) deleteQueueAtCleanup(name string) {
	a.t.Cleanup(func() {
		if ch, err := a.conn.Channel(); err == nil {
			_, _ = ch.QueueDelete(name, false, false, false)
			_ = ch.Close()
		}
	})
}

// inspect returns the queue's ready message and consumer counts, or an
// error (a 404 when it does not exist).
func (a *admin) inspect(name string) (amqp.Queue, error) {
	ch, err := a.conn.Channel()
	if err != nil {
		return amqp.Queue{}, err
	}
	q, err := ch.QueueDeclarePassive(name, true, false, false, false, nil)
	_ = ch.Close()
	return q, err
}

// get waits for the next message on queue, failing the test after a
// while.
func (a *admin) get(queue string) amqp.Delivery {
	a.t.Helper()
	ch := a.ch()
	defer ch.Close()
	var d amqp.Delivery
	waitFor(a.t, "a message on "+queue, func() bool {
		var ok bool
		var err error
		d, ok, err = ch.Get(queue, true)
		if err != nil {
			a.t.Fatalf("get from %s: %v", queue, err)
		}
		return ok
	})
	return d
}

// drain returns the message ids now in queue.
func (a *admin) drain(queue string) []string {
	a.t.Helper()
	ch := a.ch()
	defer ch.Close()
	var ids []string
	for {
		d, ok, err := ch.Get(queue, true)
		if err != nil {
			a.t.Fatalf("get from %s: %v", queue, err)
		}
		if !ok {
			return ids
		}
		ids = append(ids, d.MessageId)
	}
}

// waitFor polls cond until it holds, failing the test if it does not
// within a generous bound (the bound catches hangs; it measures nothing).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// checkGoroutines fails the test if goroutines of this package or of the
// AMQP library are still running once the test's cleanups are done. Call it
// first in a test, so that its cleanup runs last.
func checkGoroutines(t *testing.T) {
	t.Cleanup(func() {
		var leaked []string
		logged := false
		deadline := time.Now().Add(5 * time.Second)
		for {
			leaked = leaked[:0]
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			for _, g := range strings.Split(string(buf), "\n\n") {
				if strings.Contains(g, "rabbitmq/amqp091-go.") || strings.Contains(g, "rida/amqp091.") {
					leaked = append(leaked, g)
				}
			}
			if len(leaked) == 0 {
				return
			}
			if !logged && time.Until(deadline) < 4*time.Second {
				logged = true
				t.Logf("still waiting for goroutines to end after 1s:\n%s", strings.Join(leaked, "\n\n"))
			}
			if time.Now().After(deadline) {
				t.Errorf("%d goroutines still running after the test:\n%s", len(leaked), strings.Join(leaked, "\n\n"))
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

// testLogger logs to the test log and keeps the records for assertions.
type testLogger struct {
	*logRecords
	attrs []slog.Attr
}

type logRecords struct {
	t       *testing.T
	mu      sync.Mutex
	records []slog.Record
}

func newTestLogger(t *testing.T) (*slog.Logger, *testLogger) {
	h := &testLogger{logRecords: &logRecords{t: t}}
	return slog.New(h), h
}

func (h *testLogger) Enabled(context.Context, slog.Level) bool { return true }
func (h *testLogger) WithGroup(string) slog.Handler            { return h }
func (h *testLogger) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &testLogger{logRecords: h.logRecords, attrs: append(slices.Clip(h.attrs), attrs...)}
}

func (h *testLogger) Handle(_ context.Context, r slog.Record) error {
	r = r.Clone()
	r.AddAttrs(h.attrs...)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r)
	var b strings.Builder
	b.WriteString(r.Time.Format("15:04:05.000") + " " + r.Level.String() + " " + r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	h.t.Log(b.String())
	return nil
}

// find returns the attributes of the records with msg.
func (h *testLogger) find(msg string) []map[string]string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []map[string]string
	for _, r := range h.records {
		if r.Message != msg {
			continue
		}
		attrs := map[string]string{}
		r.Attrs(func(a slog.Attr) bool {
			attrs[a.Key] = a.Value.String()
			return true
		})
		out = append(out, attrs)
	}
	return out
}
