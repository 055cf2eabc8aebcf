// Package amqp091 connects rida to a RabbitMQ broker over AMQP 0-9-1, in the
// conventions of fedora-messaging (the library Fedora's applications use):
// a Publisher for the outbox relay, which sends rida's own state changes, and
// a Consumer, which receives Koji's (and other services') messages and hands
// them to a rida.MessageHandler.
//
// Messages go to a topic exchange ("amq.topic" unless configured) with the
// message topic as routing key, a JSON body, persistent delivery and the
// headers fedora-messaging writes and expects (fedora_messaging_schema,
// fedora_messaging_severity, sent-at, priority), so Python consumers built
// on fedora-messaging read rida's messages like any other.
//
// Delivery is at least once in both directions. Publish returns nil only
// after the broker has confirmed every message of the batch (publisher
// confirms), so a relay that marks events published on nil never loses one;
// on any error the whole batch is sent again later, and consumers
// de-duplicate by message ID. The Consumer acknowledges a message only after
// its handler returned nil; a handler error hands the message back to the
// broker for redelivery.
//
// Both sides survive broker restarts and network failures: the Publisher
// reconnects on the next Publish, the Consumer reconnects by itself, each
// with jittered exponential backoff (bus.Backoff). The library's own (experimental)
// automatic recovery is not used: reconnecting here keeps the declared
// topology, the backoff and the logging in one place.
package amqp091

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
)

// DefaultExchange is the exchange fedora-messaging publishes to and binds
// on. It exists on every RabbitMQ broker, so it is never declared.
const DefaultExchange = "amq.topic"

// Defaults for the zero values of Config and ConsumerConfig.
const (
	DefaultConnectTimeout = 10 * time.Second
	DefaultReconnectMin   = 500 * time.Millisecond
	DefaultReconnectMax   = 30 * time.Second
	DefaultPrefetch       = 16
	DefaultNackDelay      = time.Second
)

// Config says how to reach the broker. The zero value of every field but URL
// means its default.
type Config struct {
	// URL is amqp://user:pass@host:5672/vhost, or amqps:// for TLS.
	URL string
	// TLS configures amqps connections. When it carries a client
	// certificate and the URL has no password, the connection authenticates
	// with SASL EXTERNAL (the certificate is the identity), as
	// fedora-messaging does against Fedora's brokers.
	TLS *tls.Config
	// Exchange is the topic exchange messages are published to and queues
	// are bound on; DefaultExchange when empty. Any other exchange is
	// declared (durable, topic) if the broker does not have it yet.
	Exchange string
	// ConnectTimeout bounds the TCP, TLS and AMQP handshakes of one
	// connection attempt; DefaultConnectTimeout when zero.
	ConnectTimeout time.Duration
	// ReconnectMin and ReconnectMax bound the jittered exponential backoff
	// between failed connection attempts; DefaultReconnectMin and
	// DefaultReconnectMax when zero.
	ReconnectMin time.Duration
	ReconnectMax time.Duration
	// Logger receives connection state changes; nil discards them.
	Logger *slog.Logger
	// Now is the clock for sent-at stamps and backoff deadlines; nil means
	// time.Now.
	Now func() time.Time
}

// withDefaults returns cfg with its zero fields set to their defaults.
func (cfg Config) withDefaults() Config {
	if cfg.Exchange == "" {
		cfg.Exchange = DefaultExchange
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.ReconnectMin <= 0 {
		cfg.ReconnectMin = DefaultReconnectMin
	}
	if cfg.ReconnectMax <= 0 {
		cfg.ReconnectMax = DefaultReconnectMax
	}
	if cfg.ReconnectMax < cfg.ReconnectMin {
		cfg.ReconnectMax = cfg.ReconnectMin
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg
}

// redactedURL is the URL without its password, for logs and errors.
func (cfg Config) redactedURL() string {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// connection is one open AMQP connection and the socket under it. The socket
// is kept so that a cancelled context can abort a write the library would
// otherwise block in (RabbitMQ stops reading from publishers during a
// memory or disk alarm, and the library's writes take no context).
type connection struct {
	*amqp.Connection
	raw net.Conn
}

// abort closes the socket at once, without the AMQP close handshake, which
// could block on the same stuck write.
func (c *connection) abort() { _ = c.raw.Close() }

// close closes the connection politely, bounded by timeout, and then the
// socket in case the broker never answered.
func (c *connection) close(timeout time.Duration) {
	_ = c.CloseDeadline(time.Now().Add(timeout))
	_ = c.raw.Close()
}

// dial opens one connection to the broker. ctx and cfg.ConnectTimeout bound
// the whole handshake; name labels the connection in the broker's UI.
func dial(ctx context.Context, cfg Config, name string) (*connection, error) {
	ac, err := amqpConfig(cfg, name)
	if err != nil {
		return nil, err
	}
	var raw net.Conn
	var stopAbort func() bool
	ac.Dial = func(network, addr string) (net.Conn, error) {
		d := net.Dialer{Timeout: cfg.ConnectTimeout}
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		// The library clears this deadline once the AMQP handshake is done.
		// Socket deadlines are wall-clock time, never the injected clock.
		// ctx is not folded in: its end closes the socket (below), so that
		// the error says it was ctx rather than a socket timeout.
		if err := conn.SetDeadline(time.Now().Add(cfg.ConnectTimeout)); err != nil {
			_ = conn.Close()
			return nil, err
		}
		raw = conn
		stopAbort = context.AfterFunc(ctx, func() { _ = conn.Close() })
		return conn, nil
	}
	conn, err := amqp.DialConfig(cfg.URL, ac)
	aborted := stopAbort != nil && !stopAbort()
	if err != nil {
		if raw != nil {
			_ = raw.Close()
		}
		if aborted || ctx.Err() != nil {
			err = context.Cause(ctx)
		}
		return nil, fmt.Errorf("connect to %s: %w", cfg.redactedURL(), err)
	}
	if aborted {
		_ = conn.Close()
		return nil, fmt.Errorf("connect to %s: %w", cfg.redactedURL(), context.Cause(ctx))
	}
	return &connection{Connection: conn, raw: raw}, nil
}

// amqpConfig returns the library's connection settings for cfg, without
// the dialer.
func amqpConfig(cfg Config, name string) (amqp.Config, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		// Not err itself: url.Error repeats the URL, password included.
		return amqp.Config{}, fmt.Errorf("parse broker URL: %w", errors.Unwrap(err))
	}
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName(name)
	ac := amqp.Config{Properties: props}
	if cfg.TLS != nil {
		// DialConfig fills in ServerName: work on a copy of the caller's.
		ac.TLSClientConfig = cfg.TLS.Clone()
	}
	if u.Scheme == "amqps" && hasClientCert(cfg.TLS) && !hasPassword(u) {
		// What amqp.DialTLS_ExternalAuth does, with our dialer.
		ac.SASL = []amqp.Authentication{&amqp.ExternalAuth{}}
	}
	return ac, nil
}

func hasClientCert(c *tls.Config) bool {
	return c != nil && (len(c.Certificates) > 0 || c.GetClientCertificate != nil)
}

func hasPassword(u *url.URL) bool {
	if u.User == nil {
		return false
	}
	_, ok := u.User.Password()
	return ok
}

// ensure makes sure an exchange or queue exists without redeclaring one the
// broker already has: a declaration with other arguments than the existing
// entity's would fail (and the entity may belong to someone else, as
// Fedora's shared queues do). passive checks for it; if the broker says 404
// the check has closed ch, so create runs on a new channel, which ensure
// returns in place of ch.
func ensure(conn *connection, ch *amqp.Channel, passive, create func(*amqp.Channel) error) (*amqp.Channel, error) {
	err := passive(ch)
	if err == nil {
		return ch, nil
	}
	var aerr *amqp.Error
	if !errors.As(err, &aerr) || aerr.Code != amqp.NotFound {
		return ch, err
	}
	ch, err = conn.Channel()
	if err != nil {
		return nil, fmt.Errorf("reopen channel: %w", err)
	}
	return ch, create(ch)
}

// ensureExchange makes sure exchange exists (see ensure), declaring it as a
// durable topic exchange if not. amq.topic always exists and is left alone.
func ensureExchange(conn *connection, ch *amqp.Channel, exchange string) (*amqp.Channel, error) {
	if exchange == DefaultExchange {
		return ch, nil
	}
	ch, err := ensure(conn, ch,
		func(ch *amqp.Channel) error {
			return ch.ExchangeDeclarePassive(exchange, amqp.ExchangeTopic, true, false, false, false, nil)
		},
		func(ch *amqp.Channel) error {
			return ch.ExchangeDeclare(exchange, amqp.ExchangeTopic, true, false, false, false, nil)
		})
	if err != nil {
		return ch, fmt.Errorf("declare exchange %q: %w", exchange, err)
	}
	return ch, nil
}
