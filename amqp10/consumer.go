package amqp10

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	amqp "github.com/Azure/go-amqp"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/bus"
)

// ConsumerConfig says how to reach the broker and what to receive.
type ConsumerConfig struct {
	Config
	// Sources are the addresses to receive from, one receiver link each:
	// "/topic/koji.#" (RabbitMQ: a private temporary queue bound to
	// amq.topic with that binding key), "/amq/queue/<name>" or
	// "/queue/<name>" (a queue, durable if declared so), or
	// "queue://Consumer.rida.VirtualTopic.eng.koji.>" (an ActiveMQ virtual
	// topic consumer queue). See the package doc for which survive a
	// restart.
	Sources []string
	// TopicPrefix is cut from the front of the address a message was sent
	// to (its to property) to make rida.Message.Topic: the inverse of
	// AddressPrefix. Config.AddressPrefix (after its default) when empty.
	TopicPrefix string
	// Credit is how many unsettled messages the broker may send ahead on
	// each receiver; DefaultCredit when zero.
	Credit int
	// ReleaseDelay is how long a message whose handler failed is held
	// before it is released for redelivery, so a failing handler does not
	// spin on it; DefaultReleaseDelay when zero.
	ReleaseDelay time.Duration
}

// Consumer receives messages from the broker and hands them to a
// rida.MessageHandler. Its Run loop reconnects by itself.
type Consumer struct {
	cfg ConsumerConfig
	log *slog.Logger
}

// NewConsumer returns a Consumer for cfg. It does not connect: Run does.
func NewConsumer(cfg ConsumerConfig) *Consumer {
	cfg.Config = cfg.Config.withDefaults()
	if cfg.TopicPrefix == "" {
		cfg.TopicPrefix = cfg.AddressPrefix
	}
	if cfg.Credit <= 0 {
		cfg.Credit = DefaultCredit
	}
	if cfg.Credit > math.MaxInt32 {
		cfg.Credit = math.MaxInt32
	}
	if cfg.ReleaseDelay <= 0 {
		cfg.ReleaseDelay = DefaultReleaseDelay
	}
	return &Consumer{cfg: cfg, log: cfg.Logger.With("component", "amqp10.consumer")}
}

// Run receives from every source until ctx is done, then closes everything
// and returns nil. It returns an error only for a configuration that can
// never work (no sources, a bad URL).
//
// handle is called once per received message, from one goroutine per
// source: messages of one source are handled in order, those of different
// sources concurrently. A nil return accepts the message; an error releases
// it for redelivery after ReleaseDelay. A message that cannot be converted
// to a rida.Message is rejected without calling handle.
//
// When the connection breaks, or a source cannot be attached, Run closes
// the connection, waits a jittered backoff and starts over with new
// receivers. It logs an outage once, at warn, and the recovery at info.
func (c *Consumer) Run(ctx context.Context, handle rida.MessageHandler) error {
	if len(c.cfg.Sources) == 0 {
		return errors.New("amqp10: consumer has no sources")
	}
	ep, err := parseEndpoint(c.cfg.Config)
	if err != nil {
		return err
	}
	failures := 0
	down := false // an outage has been logged and not yet its end
	for {
		err := c.session(ctx, ep, handle, func() {
			if down {
				c.log.Info("reconnected", "url", ep.redacted, "failed_attempts", failures)
			} else {
				c.log.Info("connected", "url", ep.redacted, "sources", c.cfg.Sources)
			}
			failures, down = 0, false
		})
		if ctx.Err() != nil {
			return nil
		}
		failures++
		wait := bus.Backoff(c.cfg.ReconnectMin, c.cfg.ReconnectMax, failures)
		if !down {
			c.log.Warn("disconnected from the broker; reconnecting", "url", ep.redacted, "err", err, "retry_in", wait)
			down = true
		} else {
			c.log.Debug("reconnect failed", "url", ep.redacted, "err", err, "retry_in", wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil
		}
	}
}

// session runs one connection: it connects, attaches a receiver per source,
// calls ready, and receives until a receiver fails or ctx is done. It
// returns why it ended, and only after every receiving goroutine did.
func (c *Consumer) session(ctx context.Context, ep endpoint, handle rida.MessageHandler, ready func()) error {
	conn, sess, err := dial(ctx, ep, c.cfg.ConnectTimeout)
	if err != nil {
		return err
	}
	// The close error only says how the connection ended; the receivers'
	// errors already did.
	defer func() { _ = conn.Close() }()

	receivers := make([]*amqp.Receiver, len(c.cfg.Sources))
	for i, src := range c.cfg.Sources {
		actx, cancel := context.WithTimeout(ctx, c.cfg.ConnectTimeout)
		receivers[i], err = sess.NewReceiver(actx, src, &amqp.ReceiverOptions{Credit: int32(c.cfg.Credit)})
		cancel()
		if err != nil {
			return fmt.Errorf("amqp10: attach receiver for %q: %w", src, err)
		}
	}
	ready()

	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, len(receivers))
	var wg sync.WaitGroup
	for i, r := range receivers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errc <- c.receive(rctx, r, c.cfg.Sources[i], handle)
		}()
	}
	// The first receiver to stop (broken link or connection, or ctx done)
	// stops the others; they settle what they are handling before the
	// deferred Close cuts the connection.
	err = <-errc
	cancel()
	wg.Wait()
	return err
}

// receive handles the messages of one receiver until it fails or ctx is done.
func (c *Consumer) receive(ctx context.Context, r *amqp.Receiver, source string, handle rida.MessageHandler) error {
	for {
		msg, err := r.Receive(ctx, nil)
		if err != nil {
			return fmt.Errorf("amqp10: receive from %q: %w", source, err)
		}
		if err := c.deliver(ctx, r, source, msg, handle); err != nil {
			return err
		}
	}
}

// deliver converts one message, hands it to handle and settles it.
func (c *Consumer) deliver(ctx context.Context, r *amqp.Receiver, source string, msg *amqp.Message, handle rida.MessageHandler) error {
	// Settle even when ctx has just ended: the handler's work is done and
	// an accept saves a redelivery. Bounded, as the connection may be dead.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.ConnectTimeout)
	defer cancel()

	m, err := decodeMessage(msg, c.cfg.TopicPrefix)
	if err != nil {
		var id string
		if msg.Properties != nil {
			id = messageIDString(msg.Properties.MessageID)
		}
		c.log.Error("rejecting a message that cannot be converted", "source", source, "message_id", id, "err", err)
		if err := r.RejectMessage(sctx, msg, &amqp.Error{Condition: amqp.ErrCondDecodeError, Description: err.Error()}); err != nil {
			return fmt.Errorf("amqp10: reject message %q from %q: %w", id, source, err)
		}
		return nil
	}
	if herr := handle(ctx, m); herr != nil {
		c.log.Warn("handler failed; releasing the message for redelivery",
			"source", source, "message_id", m.ID, "topic", m.Topic, "err", herr, "delay", c.cfg.ReleaseDelay)
		t := time.NewTimer(c.cfg.ReleaseDelay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		if err := r.ReleaseMessage(sctx, msg); err != nil {
			return fmt.Errorf("amqp10: release message %q from %q: %w", m.ID, source, err)
		}
		return nil
	}
	if err := r.AcceptMessage(sctx, msg); err != nil {
		return fmt.Errorf("amqp10: accept message %q from %q: %w", m.ID, source, err)
	}
	return nil
}
