// Package amqp10 connects rida to a message bus over AMQP 1.0: the protocol
// of Koji's protonmsg hub plugin, of UMB-style brokers (ActiveMQ, Artemis)
// and of RabbitMQ's rabbitmq_amqp1_0 plugin. It provides a Publisher for the
// outbox relay, which sends rida's own state changes, and a Consumer, which
// receives Koji's (and other services') messages and hands them to a
// rida.MessageHandler. The protocol work is done by github.com/Azure/go-amqp.
//
// # Addresses
//
// AMQP 1.0 has no exchanges or routing keys, only addresses, and every broker
// spells them differently. A message's address is Config.AddressPrefix
// followed by its topic:
//
//   - RabbitMQ (3.x plugin): "/topic/" + topic publishes to amq.topic with the
//     topic as routing key (the default prefix).
//   - ActiveMQ/UMB: "topic://VirtualTopic.eng." + topic publishes to a
//     virtual topic.
//
// A Consumer receives from ConsumerConfig.Sources and turns the address a
// message came to back into a topic by cutting ConsumerConfig.TopicPrefix.
// Which sources survive a restart is up to the broker:
//
//   - RabbitMQ: "/topic/<binding key>" (e.g. "/topic/koji.#") makes a private,
//     temporary queue bound to amq.topic; messages sent while rida is not
//     connected are lost. A durable subscription needs a durable queue
//     declared and bound beforehand (by an administrator or an AMQP 0-9-1
//     client), consumed as "/amq/queue/<name>", which fails while the queue
//     does not exist. "/queue/<name>" also consumes from it, but declares a
//     missing queue by itself as a non-durable one, so a typo goes unnoticed
//     and the queue does not survive a broker restart.
//   - ActiveMQ: a virtual topic consumer queue such as
//     "queue://Consumer.rida.VirtualTopic.eng.koji.>" is a durable queue that
//     the broker fills from the virtual topic.
//
// # Delivery guarantees
//
// Delivery is at least once in both directions. Publish sends each message
// unsettled and waits for the broker's disposition; it returns nil only when
// the broker accepted every message of the batch, so an outbox relay that
// marks events published on nil never loses one, and on any error it sends
// the whole batch again later (consumers de-duplicate by message ID). Note
// that RabbitMQ's 3.x plugin accepts a message even when no queue is bound to
// its routing key: "accepted" means the broker took responsibility, not that
// anyone is listening.
//
// The Consumer accepts a message only after its handler returned nil. A
// handler error releases the message back to the broker for redelivery (after
// ConsumerConfig.ReleaseDelay, so a failing handler does not spin); a message
// that cannot be turned into a rida.Message at all (no usable body) is
// rejected, which a broker drops or dead-letters.
//
// # Message mapping
//
// Sent messages carry: a durable header; message-id = rida.Message.ID;
// content-type "application/json"; creation-time = SentAt; to = the address;
// subject = the topic; application properties = the message's Properties
// (values AMQP does not allow there, such as maps and lists, as JSON text)
// plus "topic" and "sent-at" (RFC 3339, full precision: creation-time keeps
// only milliseconds); and the JSON body as one data section.
//
// Received messages are read leniently, because Koji does not send what rida
// sends: protonmsg puts the JSON body in an AMQP string value, not a data
// section, and need not set to or message-id. So the ID is the message-id
// of whatever AMQP type, as a string ("" when there is none); the topic is
// the to address with ConsumerConfig.TopicPrefix cut off, else the "topic"
// application property, else RabbitMQ's x-routing-key annotation, else the
// subject (which RabbitMQ sets to the routing key); the body is the data
// sections, or a string or binary value; Properties are the application
// properties as plain Go values (int64, float64, string, bool, []byte,
// time.Time, nil; see bus.PlainValue); SentAt is the "sent-at" property, else creation-time.
//
// Both sides survive broker restarts and network failures: the Publisher
// reconnects on the next Publish, the Consumer by itself, each with jittered,
// capped exponential backoff (bus.Backoff).
package amqp10

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	amqp "github.com/Azure/go-amqp"
)

// DefaultAddressPrefix is RabbitMQ's prefix for publishing to amq.topic.
const DefaultAddressPrefix = "/topic/"

// Defaults for the zero values of Config and ConsumerConfig.
const (
	DefaultConnectTimeout = 10 * time.Second
	DefaultSendTimeout    = 30 * time.Second
	DefaultReconnectMin   = 500 * time.Millisecond
	DefaultReconnectMax   = 30 * time.Second
	DefaultCredit         = 16
	DefaultReleaseDelay   = time.Second
)

// Config says how to reach the broker. The zero value of every field but URL
// means its default.
type Config struct {
	// URL is amqp://user:pass@host:5672 or amqps://host:5671. A password
	// in the URL authenticates with SASL PLAIN. Without one the connection
	// uses SASL EXTERNAL when it is amqps and TLS carries a client
	// certificate (the certificate is the identity, as on UMB), else PLAIN
	// when the URL names a user, else SASL ANONYMOUS.
	URL string
	// TLS configures amqps connections (nil: the system roots); plain amqp
	// URLs ignore it.
	TLS *tls.Config
	// AddressPrefix is put before a message's topic to make its address:
	// "/topic/" for RabbitMQ (routes via amq.topic with the topic as
	// routing key), "topic://VirtualTopic.eng." for UMB/ActiveMQ.
	// DefaultAddressPrefix when empty.
	AddressPrefix string
	// ConnectTimeout bounds one connection attempt (TCP, TLS, SASL, open,
	// session) and the attaching of one link; DefaultConnectTimeout when
	// zero.
	ConnectTimeout time.Duration
	// SendTimeout bounds the wait for the broker's disposition of one sent
	// message, so a broker that stops answering fails the Publish instead of
	// blocking it; DefaultSendTimeout when zero. A shorter ctx deadline
	// wins.
	SendTimeout time.Duration
	// ReconnectMin and ReconnectMax bound the jittered exponential backoff
	// between failed connection attempts; DefaultReconnectMin and
	// DefaultReconnectMax when zero.
	ReconnectMin time.Duration
	ReconnectMax time.Duration
	// Logger receives connection state changes; nil discards them.
	Logger *slog.Logger
	// Now is the clock for default sent-at stamps and backoff deadlines; nil
	// means time.Now.
	Now func() time.Time
}

// withDefaults returns cfg with its zero fields set to their defaults.
func (cfg Config) withDefaults() Config {
	if cfg.AddressPrefix == "" {
		cfg.AddressPrefix = DefaultAddressPrefix
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = DefaultSendTimeout
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

// endpoint is a parsed Config.URL: where to dial and how to authenticate.
type endpoint struct {
	addr     string // the URL without user info, as go-amqp dials it
	redacted string // the URL for logs and errors
	opts     amqp.ConnOptions
}

// parseEndpoint reads cfg.URL and picks the SASL mechanism. The user info is
// taken out of the address handed to go-amqp, because go-amqp would otherwise
// override the chosen mechanism with PLAIN on its own.
func parseEndpoint(cfg Config) (endpoint, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return endpoint{}, fmt.Errorf("amqp10: broker URL: %w", err)
	}
	switch u.Scheme {
	case "amqp", "amqps", "amqp+ssl":
	default:
		return endpoint{}, fmt.Errorf("amqp10: broker URL %q: scheme must be amqp or amqps", u.Redacted())
	}
	if u.Host == "" {
		return endpoint{}, fmt.Errorf("amqp10: broker URL %q has no host", u.Redacted())
	}
	ep := endpoint{redacted: u.Redacted()}
	ep.opts = amqp.ConnOptions{
		TLSConfig: cfg.TLS,
		// Close waits for the close frame to be written; a dead peer must
		// not hold it for go-amqp's default 30 s.
		WriteTimeout: cfg.ConnectTimeout,
	}
	user, pass := "", ""
	if u.User != nil {
		user = u.User.Username()
		pass, _ = u.User.Password()
	}
	clientCert := u.Scheme != "amqp" && cfg.TLS != nil && (len(cfg.TLS.Certificates) > 0 || cfg.TLS.GetClientCertificate != nil)
	switch {
	case pass != "":
		ep.opts.SASLType = amqp.SASLTypePlain(user, pass)
	case clientCert:
		// The certificate's subject is the identity; a user name in the
		// URL would only be a second, possibly different, claim.
		ep.opts.SASLType = amqp.SASLTypeExternal("")
	case user != "":
		ep.opts.SASLType = amqp.SASLTypePlain(user, "")
	default:
		ep.opts.SASLType = amqp.SASLTypeAnonymous()
	}
	u.User = nil
	ep.addr = u.String()
	return ep, nil
}

// dial opens a connection and one session on it, within the connect timeout.
func dial(ctx context.Context, ep endpoint, timeout time.Duration) (*amqp.Conn, *amqp.Session, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	opts := ep.opts
	conn, err := amqp.Dial(ctx, ep.addr, &opts)
	if err != nil {
		return nil, nil, fmt.Errorf("amqp10: connect to %s: %w", ep.redacted, err)
	}
	sess, err := conn.NewSession(ctx, nil)
	if err != nil {
		conn.Close()
		return nil, nil, fmt.Errorf("amqp10: open session on %s: %w", ep.redacted, err)
	}
	return conn, sess, nil
}
