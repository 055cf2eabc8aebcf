package rida

import (
	"context"
	"encoding/json"
	"time"
)

// Message is one message on a bus, in either direction: what the outbox
// relay publishes (rida's own state changes) and what a consumer receives
// (Koji's messages). The broker adapters (amqp091, amqp10) map it to their
// protocol's properties.
type Message struct {
	// ID is stable across re-publications of the same event, so consumers
	// can de-duplicate (at-least-once delivery repeats messages).
	ID string
	// Topic is the full topic: the AMQP 0-9-1 routing key, or the part of
	// an AMQP 1.0 address after its configured prefix.
	Topic string
	// Body is the message body as sent: JSON for everything rida sends.
	Body json.RawMessage
	// Properties are the application properties (AMQP 0-9-1 headers,
	// AMQP 1.0 application-properties) as received; on publish the
	// adapters add their protocol's conventional ones.
	Properties map[string]any
	// SentAt is when the message was (first) sent.
	SentAt time.Time
}

// MessageHandler consumes one received message. It returns nil once the
// message is handled or deliberately ignored (malformed, unknown build):
// the adapter then acknowledges it. An error means "try again later": the
// adapter hands the message back to the broker for redelivery.
type MessageHandler func(ctx context.Context, m Message) error
