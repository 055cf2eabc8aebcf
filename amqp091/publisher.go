package amqp091

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/bus"
)

// ErrClosed is returned by Publish after Close.
var ErrClosed = errors.New("amqp091: publisher closed")

// Publisher publishes batches of messages with publisher confirms. It
// connects on the first Publish and reconnects on a later Publish after the
// connection broke. It is safe for concurrent use; concurrent Publish calls
// take turns.
type Publisher struct {
	cfg Config
	log *slog.Logger

	// sem is a mutex that a Publish waiting for its turn can give up on
	// when its context ends.
	sem chan struct{}
	// closed ends with Close, which also ends every Publish in flight.
	closed    context.Context
	markClose context.CancelFunc

	// Guarded by sem.
	conn     *connection
	ch       *amqp.Channel
	failures int       // consecutive failed connection attempts
	retryAt  time.Time // no connection attempt before this time
	lastErr  error     // why the last connection attempt failed
	down     bool      // the broker is unreachable; logged once per outage
	isClosed bool
}

// NewPublisher returns a Publisher for cfg. It does not connect yet.
func NewPublisher(cfg Config) *Publisher {
	cfg = cfg.withDefaults()
	closed, markClose := context.WithCancel(context.Background())
	return &Publisher{
		cfg:       cfg,
		log:       cfg.Logger.With("component", "amqp091.publisher", "exchange", cfg.Exchange),
		sem:       make(chan struct{}, 1),
		closed:    closed,
		markClose: markClose,
	}
}

// Publish sends msgs in order to the exchange, each with its topic as
// routing key, and waits until the broker has confirmed every one. It
// returns nil only if the broker acknowledged them all. After an error any
// of them may or may not have reached the broker: the caller sends the
// whole batch again later, and consumers drop the duplicates by message ID.
//
// Each message is persistent JSON (application/json, utf-8) with its ID as
// message ID, its SentAt (or the clock's now when zero) as timestamp, and
// headers in fedora-messaging's conventions: fedora_messaging_schema
// "base.message", fedora_messaging_severity 20 (INFO), sent-at (ISO 8601,
// UTC, whole seconds) and priority 0, then every entry of m.Properties,
// which win over those. Property values are converted to what AMQP tables
// hold (integers to int64, maps with string keys to tables, slices to
// arrays); a value with no such form fails the Publish before anything is
// sent.
//
// A Publish while the connection is down tries to reconnect, except within
// the backoff window after a failed attempt, when it fails at once with an
// error saying when the next attempt will be made. Publish returns when ctx
// ends; if that happens while a message is being written, the connection
// is dropped, because a broker that stopped reading (a RabbitMQ memory or
// disk alarm) might never take the rest of the write.
func (p *Publisher) Publish(ctx context.Context, msgs []rida.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	// Convert first: a message that cannot be encoded is the caller's bug
	// and must not cost a connection.
	now := p.cfg.Now()
	pubs := make([]amqp.Publishing, len(msgs))
	for i, m := range msgs {
		pub, err := publishing(m, now)
		if err != nil {
			return fmt.Errorf("amqp091: publish message %q (topic %s): %w", m.ID, m.Topic, err)
		}
		pubs[i] = pub
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := context.AfterFunc(p.closed, func() { cancel(ErrClosed) })
	defer stop()

	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("amqp091: publish: %w", context.Cause(ctx))
	}
	defer func() { <-p.sem }()
	if p.isClosed {
		return ErrClosed
	}

	if err := p.connect(ctx); err != nil {
		return err
	}
	return p.publish(ctx, msgs, pubs)
}

// connect makes sure p has an open channel in confirm mode, dialling if it
// has none and the backoff allows.
func (p *Publisher) connect(ctx context.Context) error {
	if p.conn != nil && !p.conn.IsClosed() && !p.ch.IsClosed() {
		return nil
	}
	if p.conn != nil {
		p.drop("the connection or channel was closed")
	}
	if now := p.cfg.Now(); now.Before(p.retryAt) {
		return fmt.Errorf("amqp091: not connected to the broker, next attempt at %s (in %s): %w",
			p.retryAt.Format(time.RFC3339Nano), p.retryAt.Sub(now).Round(time.Millisecond), p.lastErr)
	}

	conn, ch, err := p.open(ctx)
	if err != nil {
		if ctx.Err() != nil {
			// Our caller gave up; that says nothing about the broker.
			return fmt.Errorf("amqp091: %w", err)
		}
		p.lastErr = err
		p.failures++
		delay := bus.Backoff(p.cfg.ReconnectMin, p.cfg.ReconnectMax, p.failures)
		p.retryAt = p.cfg.Now().Add(delay)
		if !p.down {
			p.down = true
			p.log.Warn("amqp091: cannot connect to the broker; retrying with backoff",
				"url", p.cfg.redactedURL(), "err", err)
		}
		return fmt.Errorf("amqp091: %w (next attempt in %s)", err, delay.Round(time.Millisecond))
	}
	p.conn, p.ch = conn, ch
	p.failures = 0
	p.retryAt, p.lastErr = time.Time{}, nil
	if p.down {
		p.down = false
		p.log.Info("amqp091: connected to the broker again", "url", p.cfg.redactedURL())
	}
	return nil
}

// open dials and prepares the publishing channel.
func (p *Publisher) open(ctx context.Context) (*connection, *amqp.Channel, error) {
	conn, err := dial(ctx, p.cfg, "rida publisher")
	if err != nil {
		return nil, nil, err
	}
	ch, err := conn.Channel()
	if err != nil {
		err = fmt.Errorf("open channel: %w", err)
	} else {
		ch, err = ensureExchange(conn, ch, p.cfg.Exchange)
	}
	if err == nil {
		if err = ch.Confirm(false); err != nil {
			err = fmt.Errorf("enable publisher confirms: %w", err)
		}
	}
	if err != nil {
		conn.close(p.cfg.ConnectTimeout)
		return nil, nil, err
	}
	return conn, ch, nil
}

// drop forgets the current connection, closing it if still open. The next
// Publish reconnects at once: only failed attempts back off.
func (p *Publisher) drop(why string) {
	if !p.down {
		p.down = true
		p.log.Warn("amqp091: lost the connection to the broker; reconnecting on the next publish", "why", why)
	}
	p.conn.close(p.cfg.ConnectTimeout)
	p.conn, p.ch = nil, nil
}

// publish writes pubs on the open channel and waits for their confirms.
func (p *Publisher) publish(ctx context.Context, msgs []rida.Message, pubs []amqp.Publishing) error {
	conn, ch := p.conn, p.ch

	confirms := make([]*amqp.DeferredConfirmation, 0, len(pubs))
	var werr error
	stopAbort := context.AfterFunc(ctx, conn.abort)
	for i, pub := range pubs {
		dc, err := ch.PublishWithDeferredConfirm(p.cfg.Exchange, msgs[i].Topic, false, false, pub)
		if err != nil {
			werr = fmt.Errorf("amqp091: publish message %d of %d (%q): %w", i+1, len(pubs), msgs[i].ID, err)
			break
		}
		confirms = append(confirms, dc)
	}
	if !stopAbort() {
		p.drop("publishing was cancelled in the middle of a write")
		return fmt.Errorf("amqp091: publish: %w", context.Cause(ctx))
	}
	if werr != nil {
		if conn.IsClosed() || ch.IsClosed() {
			p.drop(werr.Error())
		}
		return werr
	}

	for i, dc := range confirms {
		select {
		case <-dc.Done():
		case <-ctx.Done():
			// The connection stays: confirms that arrive later are
			// harmless, and the caller publishes the batch again anyway.
			return fmt.Errorf("amqp091: waiting for the broker to confirm %d messages: %w",
				len(confirms)-i, context.Cause(ctx))
		}
		if dc.Acked() {
			continue
		}
		// The library nacks every outstanding confirm when the channel
		// closes, after marking it closed: a nack on a closed channel is a
		// lost connection, not the broker's answer.
		if ch.IsClosed() {
			p.drop("closed while waiting for publisher confirms")
			return fmt.Errorf("amqp091: connection lost before the broker confirmed message %d of %d (%q)",
				i+1, len(pubs), msgs[i].ID)
		}
		return fmt.Errorf("amqp091: the broker refused (nacked) message %d of %d (%q)", i+1, len(pubs), msgs[i].ID)
	}
	return nil
}

// Close closes the connection, ending any Publish in flight with ErrClosed.
// Publish fails with ErrClosed after it.
func (p *Publisher) Close() error {
	p.markClose()
	p.sem <- struct{}{}
	defer func() { <-p.sem }()
	if p.isClosed {
		return nil
	}
	p.isClosed = true
	if p.conn == nil {
		return nil
	}
	err := p.conn.CloseDeadline(time.Now().Add(p.cfg.ConnectTimeout))
	p.conn.abort()
	p.conn, p.ch = nil, nil
	if err != nil && !errors.Is(err, amqp.ErrClosed) {
		return fmt.Errorf("amqp091: close publisher connection: %w", err)
	}
	return nil
}
