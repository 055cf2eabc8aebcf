package amqp10

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	amqp "github.com/Azure/go-amqp"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/bus"
)

// ErrClosed is returned by Publish after Close.
var ErrClosed = errors.New("amqp10: publisher closed")

// Publisher sends rida.Messages to the broker. It connects on the first
// Publish, keeps one connection and session with one sender link per
// address, and reconnects on the Publish after the connection broke. It is
// safe for concurrent use; concurrent Publish calls take turns.
type Publisher struct {
	cfg Config
	log *slog.Logger

	// turn is held (a value in it) by the Publish that is using the
	// connection; a channel rather than a mutex so waiting respects ctx.
	turn chan struct{}

	// Guarded by turn.
	conn     *amqp.Conn
	sess     *amqp.Session
	senders  map[string]*amqp.Sender
	failures int       // consecutive failed connection attempts
	retryAt  time.Time // no connection attempt before this
	lastErr  error     // why the last attempt failed

	// mu guards closed and lets Close cut the connection under a Publish
	// that is blocked on it.
	mu       sync.Mutex
	closed   bool
	liveConn *amqp.Conn
}

// NewPublisher returns a Publisher for cfg. It does not connect: the first
// Publish does, so rida starts while the broker is down.
func NewPublisher(cfg Config) *Publisher {
	cfg = cfg.withDefaults()
	return &Publisher{
		cfg:  cfg,
		log:  cfg.Logger.With("component", "amqp10.publisher"),
		turn: make(chan struct{}, 1),
	}
}

// Publish sends msgs in order, each to AddressPrefix + its topic, and returns
// nil only when the broker accepted every one. On an error some messages may
// have been delivered: the caller sends the whole batch again later, and
// consumers de-duplicate by ID.
//
// A broken connection is replaced on the next Publish. After a failed
// connection attempt, Publish fails fast, saying when it will try again,
// until the backoff has passed. Publish never waits past ctx, nor longer
// than the connect and send timeouts for each step.
func (p *Publisher) Publish(ctx context.Context, msgs []rida.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	// Encode first: a message that cannot be sent fails the batch before
	// anything goes out.
	now := p.cfg.Now()
	out := make([]*amqp.Message, len(msgs))
	for i, m := range msgs {
		var err error
		if out[i], err = encodeMessage(m, p.cfg.AddressPrefix+m.Topic, now); err != nil {
			return err
		}
	}

	if err := ctx.Err(); err != nil {
		return fmt.Errorf("amqp10: publish: %w", err)
	}
	select {
	case p.turn <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("amqp10: publish: %w", ctx.Err())
	}
	defer func() { <-p.turn }()

	if err := p.connect(ctx); err != nil {
		return err
	}
	for i, msg := range out {
		if err := p.send(ctx, msg); err != nil {
			return fmt.Errorf("amqp10: publish message %q (%d of %d) to %s: %w", msgs[i].ID, i+1, len(msgs), *msg.Properties.To, err)
		}
	}
	p.failures = 0
	return nil
}

// connect makes sure p has a live connection and session, dialing a new one
// unless the backoff after the last failure is still running.
func (p *Publisher) connect(ctx context.Context) error {
	if p.conn != nil {
		select {
		case <-p.conn.Done():
			// Broke while idle (broker restart, idle timeout): replace it
			// now, without counting a failure.
			p.log.Debug("connection lost while idle", "err", p.conn.Err())
			p.teardown()
		default:
			return nil
		}
	}
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if now := p.cfg.Now(); now.Before(p.retryAt) {
		return fmt.Errorf("amqp10: not connected (%w); next connection attempt at %s, in %s",
			p.lastErr, p.retryAt.UTC().Format(time.RFC3339Nano), p.retryAt.Sub(now).Round(time.Millisecond))
	}
	ep, err := parseEndpoint(p.cfg)
	if err != nil {
		return err
	}
	conn, sess, err := dial(ctx, ep, p.cfg.ConnectTimeout)
	if err != nil {
		if ctx.Err() == nil {
			p.failed(err)
		}
		return err
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		conn.Close()
		return ErrClosed
	}
	p.liveConn = conn
	p.mu.Unlock()
	p.conn, p.sess = conn, sess
	p.senders = map[string]*amqp.Sender{}
	if p.failures > 0 {
		p.log.Info("connected after failures", "url", ep.redacted, "failures", p.failures)
	} else {
		p.log.Debug("connected", "url", ep.redacted)
	}
	return nil
}

// send sends one message on its address's sender and waits for the broker's
// disposition. Any failure but a clear "not accepted" disposition drops the
// connection: after a timeout or a broken link its state is unknown.
func (p *Publisher) send(ctx context.Context, msg *amqp.Message) error {
	addr := *msg.Properties.To
	snd, err := p.sender(ctx, addr)
	if err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, p.cfg.SendTimeout)
	defer cancel()
	receipt, err := snd.SendWithReceipt(sctx, msg, nil)
	if err != nil {
		p.broken(ctx, err)
		return err
	}
	state, err := receipt.Wait(sctx)
	if err != nil {
		p.broken(ctx, err)
		return err
	}
	switch state := state.(type) {
	case *amqp.StateAccepted:
		return nil
	case *amqp.StateRejected:
		if state.Error != nil {
			return fmt.Errorf("rejected by the broker: %w", state.Error)
		}
		return errors.New("rejected by the broker")
	case *amqp.StateReleased:
		return errors.New("released by the broker (not delivered)")
	case *amqp.StateModified:
		return fmt.Errorf("modified by the broker (not delivered; failed=%t, undeliverable here=%t)", state.DeliveryFailed, state.UndeliverableHere)
	default:
		p.broken(ctx, nil)
		return fmt.Errorf("unexpected outcome %T from the broker", state)
	}
}

// sender returns the cached sender link for addr, attaching it if needed.
func (p *Publisher) sender(ctx context.Context, addr string) (*amqp.Sender, error) {
	if snd, ok := p.senders[addr]; ok {
		return snd, nil
	}
	actx, cancel := context.WithTimeout(ctx, p.cfg.ConnectTimeout)
	defer cancel()
	// Unsettled: every transfer waits for the broker's disposition, which
	// is what makes a nil Publish mean "the broker has it".
	mode := amqp.SenderSettleModeUnsettled
	snd, err := p.sess.NewSender(actx, addr, &amqp.SenderOptions{SettlementMode: &mode})
	if err != nil {
		// A refused attach ends the whole session on some brokers
		// (RabbitMQ's plugin does), so start over with a new connection,
		// after a backoff: the address will likely be refused again.
		p.teardown()
		if ctx.Err() == nil {
			p.failed(err)
		}
		return nil, fmt.Errorf("attach sender: %w", err)
	}
	p.senders[addr] = snd
	return snd, nil
}

// broken drops the connection after a send failed with err. Unless the
// failure is the caller's ctx ending, it counts as a failed attempt, so a
// broker that accepts connections and then fails them is not hammered.
func (p *Publisher) broken(ctx context.Context, err error) {
	p.teardown()
	if ctx.Err() == nil {
		if err == nil {
			err = errors.New("unexpected delivery outcome")
		}
		p.failed(err)
	}
}

// failed records a failed attempt and starts the backoff before the next.
func (p *Publisher) failed(err error) {
	p.failures++
	p.lastErr = err
	p.retryAt = p.cfg.Now().Add(bus.Backoff(p.cfg.ReconnectMin, p.cfg.ReconnectMax, p.failures))
}

// teardown closes the connection (and with it the session and senders).
func (p *Publisher) teardown() {
	if p.conn == nil {
		return
	}
	p.mu.Lock()
	p.liveConn = nil
	p.mu.Unlock()
	// The close error says how the connection ended, which the caller's
	// error already does.
	_ = p.conn.Close()
	p.conn, p.sess, p.senders = nil, nil, nil
}

// Close closes the connection and makes later Publish calls fail with
// ErrClosed. A Publish in progress fails promptly: its connection is cut
// under it. Close waits for it to return.
func (p *Publisher) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	live := p.liveConn
	p.mu.Unlock()
	if live != nil {
		// Unblocks a Publish waiting on this connection; Conn.Close may be
		// called more than once.
		_ = live.Close()
	}
	p.turn <- struct{}{}
	defer func() { <-p.turn }()
	p.teardown()
	return nil
}
