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

// ConsumerConfig says what a Consumer receives.
type ConsumerConfig struct {
	Config
	// Queue is the queue to consume. A named queue the broker does not
	// have yet is declared durable and not auto-deleted, so messages wait
	// in it while rida is down; one it has (Fedora's brokers hand out
	// queues with their own arguments) is used as it is. An empty name
	// asks the broker for an exclusive, auto-deleted queue of its own
	// naming, which lives only as long as the connection.
	Queue string
	// Bindings are the routing-key patterns bound to the queue on
	// Exchange, e.g. "org.fedoraproject.prod.buildsys.#".
	Bindings []string
	// Prefetch is how many unacknowledged messages the broker sends ahead;
	// DefaultPrefetch when zero.
	Prefetch int
	// NackDelay is how long a message whose handler failed is held before
	// it goes back to the broker, so that a message that always fails
	// does not spin; DefaultNackDelay when zero.
	NackDelay time.Duration
}

// Consumer receives messages from a queue and hands them to a handler.
type Consumer struct {
	cfg ConsumerConfig
	log *slog.Logger
}

// NewConsumer returns a Consumer for cfg. It does not connect until Run.
func NewConsumer(cfg ConsumerConfig) *Consumer {
	cfg.Config = cfg.Config.withDefaults()
	if cfg.Prefetch <= 0 {
		cfg.Prefetch = DefaultPrefetch
	}
	if cfg.NackDelay <= 0 {
		cfg.NackDelay = DefaultNackDelay
	}
	return &Consumer{
		cfg: cfg,
		log: cfg.Logger.With("component", "amqp091.consumer", "exchange", cfg.Exchange, "queue", cfg.Queue),
	}
}

// Run consumes until ctx ends, calling handle for each message, one at a
// time and in the order the broker delivers them. A message is acknowledged
// when handle returns nil; when it returns an error the message is handed
// back to the broker after NackDelay and delivered again (to this or
// another consumer of the queue), so handlers must be idempotent.
//
// Run declares the queue and its bindings, and declares them again after
// every reconnection: a lost connection is retried with backoff for as long
// as ctx lasts. Run returns nil when ctx ends, after closing its
// connection; unacknowledged messages then go back to the queue. It returns
// an error only for a configuration it can never work with.
func (c *Consumer) Run(ctx context.Context, handle rida.MessageHandler) error {
	if handle == nil {
		return errors.New("amqp091: consumer: nil handler")
	}
	if _, err := amqp.ParseURI(c.cfg.URL); err != nil {
		return fmt.Errorf("amqp091: consumer: broker URL: %w", err)
	}
	failures := 0 // consecutive sessions that failed
	down := false // logged once per outage
	for {
		err := c.session(ctx, handle, func() {
			failures = 0
			if down {
				down = false
				c.log.Info("amqp091: consuming again", "url", c.cfg.redactedURL())
			}
		})
		if ctx.Err() != nil {
			return nil
		}
		failures++
		delay := bus.Backoff(c.cfg.ReconnectMin, c.cfg.ReconnectMax, failures)
		if !down {
			down = true
			c.log.Warn("amqp091: consumer cannot reach the broker; retrying with backoff",
				"url", c.cfg.redactedURL(), "err", err, "retry_in", delay)
		} else {
			c.log.Debug("amqp091: consumer still cannot reach the broker", "err", err, "retry_in", delay)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// session runs one connection: it sets up the queue, calls ready once
// consuming, and handles deliveries until the connection breaks or ctx
// ends. It always returns an error saying why it stopped.
func (c *Consumer) session(ctx context.Context, handle rida.MessageHandler, ready func()) error {
	conn, err := dial(ctx, c.cfg.Config, "rida consumer")
	if err != nil {
		return err
	}
	defer conn.close(c.cfg.ConnectTimeout)
	// Buffered: the connection closes once, and the library must never
	// wait for us to read this.
	connClosed := conn.NotifyClose(make(chan *amqp.Error, 1))

	deliveries, err := c.setup(conn)
	if err != nil {
		return err
	}
	ready()

	for {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case d, ok := <-deliveries:
			if !ok {
				select {
				case cerr := <-connClosed:
					if cerr != nil {
						return fmt.Errorf("connection closed: %w", cerr)
					}
				default:
				}
				return errors.New("the broker stopped the delivery stream (connection, channel or consumer closed)")
			}
			if err := c.deliver(ctx, d, handle); err != nil {
				return err
			}
		}
	}
}

// setup declares the queue, binds it and starts consuming.
func (c *Consumer) setup(conn *connection) (<-chan amqp.Delivery, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("open channel: %w", err)
	}
	if ch, err = ensureExchange(conn, ch, c.cfg.Exchange); err != nil {
		return nil, err
	}
	var q amqp.Queue
	if c.cfg.Queue == "" {
		q, err = ch.QueueDeclare("", false, true, true, false, nil)
	} else {
		ch, err = ensure(conn, ch,
			func(ch *amqp.Channel) error {
				q, err = ch.QueueDeclarePassive(c.cfg.Queue, true, false, false, false, nil)
				return err
			},
			func(ch *amqp.Channel) error {
				q, err = ch.QueueDeclare(c.cfg.Queue, true, false, false, false, nil)
				return err
			})
	}
	if err != nil {
		return nil, fmt.Errorf("declare queue %q: %w", c.cfg.Queue, err)
	}
	for _, key := range c.cfg.Bindings {
		if err := ch.QueueBind(q.Name, key, c.cfg.Exchange, false, nil); err != nil {
			return nil, fmt.Errorf("bind queue %q to %q with %q: %w", q.Name, c.cfg.Exchange, key, err)
		}
	}
	if err := ch.Qos(c.cfg.Prefetch, 0, false); err != nil {
		return nil, fmt.Errorf("set prefetch %d: %w", c.cfg.Prefetch, err)
	}
	deliveries, err := ch.Consume(q.Name, "", false, false, false, false, nil)
	if err != nil {
		return nil, fmt.Errorf("consume queue %q: %w", q.Name, err)
	}
	return deliveries, nil
}

// deliver hands one delivery to handle and settles it. An error means the
// channel can no longer settle messages, and the session must end.
func (c *Consumer) deliver(ctx context.Context, d amqp.Delivery, handle rida.MessageHandler) error {
	m := deliveryToMessage(d)
	if d.Redelivered {
		c.log.Debug("amqp091: redelivered message", "topic", m.Topic, "id", m.ID)
	}
	herr := handle(ctx, m)
	if herr == nil {
		if err := d.Ack(false); err != nil {
			return fmt.Errorf("ack message %q: %w", m.ID, err)
		}
		return nil
	}
	if ctx.Err() != nil {
		// Shutting down: closing the connection hands the message back.
		return context.Cause(ctx)
	}
	c.log.Warn("amqp091: handler failed; the message goes back to the broker",
		"topic", m.Topic, "id", m.ID, "redelivered", d.Redelivered, "retry_in", c.cfg.NackDelay, "err", herr)
	t := time.NewTimer(c.cfg.NackDelay)
	select {
	case <-ctx.Done():
		t.Stop()
		return context.Cause(ctx)
	case <-t.C:
	}
	if err := d.Nack(false, true); err != nil {
		return fmt.Errorf("nack message %q: %w", m.ID, err)
	}
	return nil
}
