package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/amqp091"
	"github.com/rida-build/rida/amqp10"
	"github.com/rida-build/rida/bus"
	"github.com/rida-build/rida/engine"
	"github.com/rida-build/rida/koji"
	"github.com/rida-build/rida/sqlstore"
)

// BusConfig configures the message bus: where rida's state changes are
// published, and where Koji's messages are read from.
type BusConfig struct {
	// Kind is inproc (the default: messages stay in this process), amqp091
	// (RabbitMQ in fedora-messaging's conventions) or amqp10 (UMB-style
	// brokers, Koji's protonmsg).
	Kind string `yaml:"kind"`
	// URL is the broker: amqp://user:password@host:5672/ or amqps://...
	URL string `yaml:"url"`
	// TopicPrefix goes before rida's topics: <prefix>.module.state.change.
	TopicPrefix string `yaml:"topic_prefix"`
	// Exchange is the AMQP 0-9-1 topic exchange (default amq.topic).
	Exchange string `yaml:"exchange"`
	// AddressPrefix makes an AMQP 1.0 address of a topic: "/topic/" for
	// RabbitMQ (default), "topic://VirtualTopic.eng." for UMB.
	AddressPrefix string `yaml:"address_prefix"`
	// CACert, Cert and Key are PEM files for amqps:// (a client
	// certificate without a password in the URL authenticates with SASL
	// EXTERNAL).
	CACert string `yaml:"ca_cert"`
	Cert   string `yaml:"cert"`
	Key    string `yaml:"key"`
	// Koji is where Koji's messages come from; off unless it names
	// something to read.
	Koji KojiBusConfig `yaml:"koji"`
}

// KojiBusConfig configures the consumer of Koji's messages. It reads from
// the broker of bus.kind/bus.url.
type KojiBusConfig struct {
	// Queue (AMQP 0-9-1) is the durable queue to consume, bound to
	// Bindings on bus.exchange; empty makes a private queue that lives
	// as long as the connection.
	Queue    string   `yaml:"queue"`
	Bindings []string `yaml:"bindings"`
	// Sources (AMQP 1.0) are the addresses to receive from, e.g.
	// "/topic/koji.#" or "queue://Consumer.rida.VirtualTopic.eng.koji.>".
	Sources []string `yaml:"sources"`
	// Instance is Fedora's "instance" field a message must carry, when it
	// carries one (default primary; "" accepts all).
	Instance string `yaml:"instance"`
	// The topics (suffixes) that mean a build state change, a task state
	// change, a tag or untag, and a repository regenerated; empty keeps
	// koji.DefaultTopics' (Fedora's buildsys.* and protonmsg's names).
	BuildState []string `yaml:"build_state"`
	TaskState  []string `yaml:"task_state"`
	Tag        []string `yaml:"tag"`
	RepoDone   []string `yaml:"repo_done"`
}

func defaultBusConfig() BusConfig {
	return BusConfig{Kind: "inproc", TopicPrefix: bus.DefaultTopicPrefix, Koji: KojiBusConfig{Instance: "primary"}}
}

// consumesKoji reports whether Koji's messages are read.
func (b *BusConfig) consumesKoji() bool {
	return b.Kind != "inproc" && (len(b.Koji.Bindings) > 0 || len(b.Koji.Sources) > 0)
}

func (b *BusConfig) validate() error {
	bad := func(field, format string, args ...any) error {
		return &ConfigError{Source: "settings", Field: field, Err: fmt.Errorf(format, args...)}
	}
	switch b.Kind {
	case "inproc":
	case "amqp091", "amqp10":
		if b.URL == "" {
			return bad("bus.url", "bus.kind %s needs a broker URL", b.Kind)
		}
	default:
		return bad("bus.kind", "want inproc, amqp091 or amqp10, not %q", b.Kind)
	}
	if b.TopicPrefix == "" {
		return bad("bus.topic_prefix", "must be set")
	}
	if (b.Cert == "") != (b.Key == "") {
		return bad("bus.cert", "bus.cert and bus.key go together")
	}
	if b.Kind == "amqp091" && len(b.Koji.Sources) > 0 {
		return bad("bus.koji.sources", "AMQP 1.0 addresses; with bus.kind amqp091 use bus.koji.bindings")
	}
	if b.Kind == "amqp10" && len(b.Koji.Bindings) > 0 {
		return bad("bus.koji.bindings", "AMQP 0-9-1 routing keys; with bus.kind amqp10 use bus.koji.sources")
	}
	return nil
}

func addBusFlags(flags *pflag.FlagSet) {
	flags.String("bus-kind", "inproc", "message bus: inproc, amqp091 (RabbitMQ, fedora-messaging) or amqp10 (UMB, Koji protonmsg) (config bus.kind)")
	flags.String("bus-url", "", "broker URL, amqp://user:password@host:5672/ (env RIDA_BUS_URL; config bus.url)")
	flags.String("bus-topic-prefix", bus.DefaultTopicPrefix, "prefix of rida's topics: <prefix>.module.state.change (config bus.topic_prefix)")
}

func (b *BusConfig) applyFlags(flags *pflag.FlagSet) {
	set := func(name string, apply func()) {
		if f := flags.Lookup(name); f != nil && f.Changed {
			apply()
		}
	}
	set("bus-kind", func() { b.Kind, _ = flags.GetString("bus-kind") })
	set("bus-url", func() { b.URL, _ = flags.GetString("bus-url") })
	set("bus-topic-prefix", func() { b.TopicPrefix, _ = flags.GetString("bus-topic-prefix") })
}

func (b *BusConfig) tlsConfig() (*tls.Config, error) {
	if b.CACert == "" && b.Cert == "" {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if b.CACert != "" {
		pem, err := os.ReadFile(b.CACert)
		if err != nil {
			return nil, fmt.Errorf("bus.ca_cert: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("bus.ca_cert: no PEM certificate in %s", b.CACert)
		}
	}
	if b.Cert != "" {
		cert, err := tls.LoadX509KeyPair(b.Cert, b.Key)
		if err != nil {
			return nil, fmt.Errorf("bus.cert/bus.key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// messaging is the running bus side of a serve process.
type messaging struct {
	signal *bus.Signal
	relay  *bus.Relay
	close  func() error
	cfg    BusConfig
	tls    *tls.Config
	logger *slog.Logger
}

// startMessaging sets up the outbox relay to the configured bus (and the
// in-process one) and the commit signal event streams wait on.
func startMessaging(c BusConfig, db *sqlstore.DB, logger *slog.Logger) (*messaging, error) {
	tlsCfg, err := c.tlsConfig()
	if err != nil {
		return nil, err
	}
	ms := &messaging{signal: bus.NewSignal(), cfg: c, tls: tlsCfg, logger: logger, close: func() error { return nil }}
	pubs := []bus.Publisher{bus.NewBus()}
	switch c.Kind {
	case "amqp091":
		p := amqp091.NewPublisher(amqp091.Config{URL: c.URL, TLS: tlsCfg, Exchange: c.Exchange, Logger: logger})
		pubs, ms.close = append([]bus.Publisher{p}, pubs...), p.Close
	case "amqp10":
		p := amqp10.NewPublisher(amqp10.Config{URL: c.URL, TLS: tlsCfg, AddressPrefix: c.AddressPrefix, Logger: logger})
		pubs, ms.close = append([]bus.Publisher{p}, pubs...), p.Close
	}
	ms.relay = bus.NewRelay(db, bus.RelayConfig{TopicPrefix: c.TopicPrefix, Logger: logger}, pubs...)
	db.OnEventsCommitted(func() {
		ms.relay.Signal()
		ms.signal.Fire()
	})
	return ms, nil
}

// consumer returns what reads Koji's messages, or nil when none is
// configured.
func (ms *messaging) consumer() interface {
	Run(context.Context, rida.MessageHandler) error
} {
	if !ms.cfg.consumesKoji() {
		return nil
	}
	switch ms.cfg.Kind {
	case "amqp091":
		return amqp091.NewConsumer(amqp091.ConsumerConfig{
			Config: amqp091.Config{URL: ms.cfg.URL, TLS: ms.tls, Exchange: ms.cfg.Exchange, Logger: ms.logger},
			Queue:  ms.cfg.Koji.Queue, Bindings: ms.cfg.Koji.Bindings,
		})
	case "amqp10":
		return amqp10.NewConsumer(amqp10.ConsumerConfig{
			Config:  amqp10.Config{URL: ms.cfg.URL, TLS: ms.tls, AddressPrefix: ms.cfg.AddressPrefix, Logger: ms.logger},
			Sources: ms.cfg.Koji.Sources,
		})
	}
	return nil
}

// kojiMessages is the parsing configuration of Koji's messages.
func (c *KojiBusConfig) kojiMessages() koji.MessageConfig {
	mc := koji.DefaultMessageConfig()
	mc.Instance = c.Instance
	for _, o := range []struct {
		dst *[]string
		src []string
	}{{&mc.BuildState, c.BuildState}, {&mc.TaskState, c.TaskState}, {&mc.Tag, c.Tag}, {&mc.RepoDone, c.RepoDone}} {
		if len(o.src) > 0 {
			*o.dst = o.src
		}
	}
	return mc
}

// run runs the relay and, when configured, the consumer of Koji's messages
// feeding sched's nudges, until ctx ends.
func (ms *messaging) run(ctx context.Context, sched *engine.Scheduler) (wait func()) {
	done := make(chan struct{}, 2)
	n := 1
	go func() { _ = ms.relay.Run(ctx); done <- struct{}{} }()
	if cons := ms.consumer(); cons != nil && sched != nil {
		n++
		handler := koji.NewMessageHandler(ms.cfg.Koji.kojiMessages(), sched.Nudge, ms.logger.With("component", "koji-messages"))
		go func() {
			if err := cons.Run(ctx, handler); err != nil {
				ms.logger.Error("the consumer of Koji's messages stopped", "err", err)
			}
			done <- struct{}{}
		}()
		ms.logger.Info("consuming Koji's messages", "kind", ms.cfg.Kind, "bindings", ms.cfg.Koji.Bindings, "sources", ms.cfg.Koji.Sources)
	}
	return func() {
		for range n {
			<-done
		}
		if err := ms.close(); err != nil {
			ms.logger.Warn("closing the bus", "err", err)
		}
	}
}

// reconcileInterval is how often builds in progress are checked against
// the backend without a wake-up: the configured interval, else 60 s when
// something tells the engine that builds moved (the local backend, Koji's
// messages), else 10 s (Koji without its messages: polling is all there
// is).
func reconcileInterval(c Config) time.Duration {
	if c.Engine.ReconcileInterval > 0 {
		return c.Engine.ReconcileInterval
	}
	if c.Backend == "koji" && !c.Bus.consumesKoji() {
		return 10 * time.Second
	}
	return 60 * time.Second
}
