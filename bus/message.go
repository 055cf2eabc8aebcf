package bus

import (
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/rida-build/rida"
)

// DefaultTopicPrefix is put before an event type to make its topic when no
// prefix is configured: "rida.module.state.change".
const DefaultTopicPrefix = "rida"

// messageIDSpace is the UUID namespace of rida's message ids.
var messageIDSpace = uuid.MustParse("6f1d6f0e-5b0a-4c41-9a8e-2f4f0f3b7d21")

// Topic returns the topic of events of type t under prefix.
func Topic(prefix string, t rida.EventType) string {
	prefix = strings.TrimSuffix(prefix, ".")
	if prefix == "" {
		return string(t)
	}
	return prefix + "." + string(t)
}

// MessageOf returns the bus message of an outbox event. Its id is a UUID
// (fedora-messaging's form) derived from the event's id, build and commit
// time: the same every time the event is published again, and different
// for the events of another database, whose ids start over.
func MessageOf(prefix string, e rida.Event) rida.Message {
	key := strconv.FormatInt(e.ID, 10) + "/" + strconv.FormatInt(e.ModuleBuildID, 10) + "/" +
		strconv.FormatInt(e.At.UnixNano(), 10)
	return rida.Message{
		ID:     uuid.NewSHA1(messageIDSpace, []byte(key)).String(),
		Topic:  Topic(prefix, e.Type),
		Body:   e.Payload,
		SentAt: e.At,
	}
}
