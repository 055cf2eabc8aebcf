package bus

import (
	"context"
	"log/slog"
	"time"

	"github.com/rida-build/rida"
)

// Outbox is what the relay needs of the store: the unpublished events in
// commit order, and a way to mark them published.
type Outbox interface {
	PendingEvents(ctx context.Context, limit int) ([]rida.Event, error)
	MarkEventsPublished(ctx context.Context, ids []int64) error
}

// Publisher sends messages to a bus. Publish returns nil only once every
// message is with the bus (for a broker: confirmed); on an error the relay
// sends the whole batch again later, which the stable ids make harmless.
type Publisher interface {
	Publish(ctx context.Context, msgs []rida.Message) error
}

// RelayConfig tunes a Relay; the zero value of each field means its
// default.
type RelayConfig struct {
	// TopicPrefix goes before each event type; default DefaultTopicPrefix.
	TopicPrefix string
	// Batch bounds the events published at once; default 100.
	Batch int
	// Scan is how often the outbox is read without a signal (events
	// committed by another process); default 1 second.
	Scan time.Duration
	// RetryMin and RetryMax bound the backoff after a failed publish (see
	// Backoff); default 500 ms and 30 s.
	RetryMin, RetryMax time.Duration
	// Logger receives the relay's log; default discards.
	Logger *slog.Logger
}

// Relay publishes the outbox: every committed event, at least once, in
// commit order (so in order per build), after the transaction that wrote
// it has committed. The database is its only state: published_at marks
// what the bus has, so a relay that dies resends at most its last batch.
type Relay struct {
	outbox Outbox
	pubs   []Publisher
	cfg    RelayConfig
	log    *slog.Logger
	signal chan struct{}
}

// NewRelay returns a relay from outbox to pubs: each batch goes to every
// publisher, in the order given, and is marked published once all have it.
func NewRelay(outbox Outbox, cfg RelayConfig, pubs ...Publisher) *Relay {
	if cfg.TopicPrefix == "" {
		cfg.TopicPrefix = DefaultTopicPrefix
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 100
	}
	if cfg.Scan <= 0 {
		cfg.Scan = time.Second
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = 500 * time.Millisecond
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Relay{outbox: outbox, pubs: pubs, cfg: cfg, log: cfg.Logger, signal: make(chan struct{}, 1)}
}

// Signal tells the relay that events were committed; it never blocks (the
// store calls it after each commit).
func (r *Relay) Signal() {
	select {
	case r.signal <- struct{}{}:
	default:
	}
}

// Run publishes until ctx is done, then returns nil.
func (r *Relay) Run(ctx context.Context) error {
	ticker := time.NewTicker(r.cfg.Scan)
	defer ticker.Stop()
	failures := 0
	for {
		n, err := r.Flush(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			failures++
			d := Backoff(r.cfg.RetryMin, r.cfg.RetryMax, failures)
			if failures == 1 {
				r.log.WarnContext(ctx, "publishing the outbox failed; the events stay in it", "err", err, "retry_in", d)
			} else {
				r.log.DebugContext(ctx, "publishing the outbox failed again", "err", err, "retry_in", d, "failures", failures)
			}
			// Signals are not waited for here: new events do not make the
			// bus healthy again.
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(d):
			}
			continue
		}
		if failures > 0 {
			r.log.InfoContext(ctx, "publishing the outbox again", "after_failures", failures)
			failures = 0
		}
		if n == r.cfg.Batch {
			continue
		}
		select {
		case <-ctx.Done():
			return nil
		case <-r.signal:
		case <-ticker.C:
		}
	}
}

// Flush publishes one batch of pending events and marks it published,
// returning how many it published.
func (r *Relay) Flush(ctx context.Context) (int, error) {
	events, err := r.outbox.PendingEvents(ctx, r.cfg.Batch)
	if err != nil || len(events) == 0 {
		return 0, err
	}
	msgs := make([]rida.Message, len(events))
	ids := make([]int64, len(events))
	for i, e := range events {
		msgs[i], ids[i] = MessageOf(r.cfg.TopicPrefix, e), e.ID
	}
	for _, p := range r.pubs {
		if err := p.Publish(ctx, msgs); err != nil {
			return 0, err
		}
	}
	// A crash here publishes the batch again after the restart: at least
	// once, never lost.
	if err := r.outbox.MarkEventsPublished(ctx, ids); err != nil {
		return 0, err
	}
	return len(events), nil
}
