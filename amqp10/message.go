package amqp10

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	amqp "github.com/Azure/go-amqp"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/bus"
)

// The application properties every sent message carries besides its own.
const (
	propTopic  = "topic"
	propSentAt = "sent-at"
)

// annotationRoutingKey is the message annotation in which RabbitMQ hands a
// message's routing key to AMQP 1.0 consumers (for messages that came in
// over AMQP 0-9-1).
const annotationRoutingKey = "x-routing-key"

// encodeMessage builds the AMQP message for m, sent to address. now stamps a
// message whose SentAt is zero.
func encodeMessage(m rida.Message, address string, now time.Time) (*amqp.Message, error) {
	if m.Topic == "" {
		return nil, fmt.Errorf("amqp10: message %q has no topic", m.ID)
	}
	sentAt := m.SentAt
	if sentAt.IsZero() {
		sentAt = now
	}
	sentAt = sentAt.UTC()
	props := make(map[string]any, len(m.Properties)+2)
	for k, v := range m.Properties {
		av, err := propertyToAMQP(v)
		if err != nil {
			return nil, fmt.Errorf("amqp10: message %q: property %q: %w", m.ID, k, err)
		}
		props[k] = av
	}
	// Set last: consumers rely on these two meaning what this package says.
	props[propTopic] = m.Topic
	props[propSentAt] = sentAt.Format(time.RFC3339Nano)

	contentType := "application/json"
	to, subject := address, m.Topic
	msg := &amqp.Message{
		Header: &amqp.MessageHeader{Durable: true},
		Properties: &amqp.MessageProperties{
			ContentType:  &contentType,
			CreationTime: &sentAt,
			To:           &to,
			Subject:      &subject,
		},
		ApplicationProperties: props,
		// Always one data section, even for an empty body: a message
		// without a body section is not valid AMQP.
		Data: [][]byte{append([]byte{}, m.Body...)},
	}
	if m.ID != "" {
		msg.Properties.MessageID = m.ID
	}
	return msg, nil
}

// propertyToAMQP converts an application property value to one of the
// simple types AMQP 1.0 allows in application properties. Named types
// (rida's state and kind strings) become their underlying kind; maps,
// slices and structs, which AMQP forbids there, become JSON text.
func propertyToAMQP(v any) (any, error) {
	switch v := v.(type) {
	case nil, string, bool, int64, uint64, float64, []byte, amqp.UUID:
		return v, nil
	case time.Time:
		return v.UTC(), nil
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i, nil
		}
		if f, err := v.Float64(); err == nil {
			return f, nil
		}
		return string(v), nil
	case json.RawMessage:
		return string(v), nil
	case fmt.Stringer:
		// time.Duration, net.IP and similar: their text is what a reader
		// of the message expects, not their underlying number or bytes.
		if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer && rv.IsNil() {
			return nil, nil
		}
		return v.String(), nil
	}
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Interface {
		if rv.IsNil() {
			return nil, nil
		}
		rv = rv.Elem()
	}
	switch rv.Kind() {
	case reflect.String:
		return rv.String(), nil
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return rv.Uint(), nil
	case reflect.Float32, reflect.Float64:
		return rv.Float(), nil
	case reflect.Slice:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			return rv.Bytes(), nil
		}
	}
	b, err := json.Marshal(rv.Interface())
	if err != nil {
		return nil, fmt.Errorf("value of type %T is not an AMQP simple type and not JSON-encodable: %w", v, err)
	}
	return string(b), nil
}

// errUnconvertible marks a received message that cannot become a
// rida.Message; the Consumer rejects such messages instead of releasing them,
// since redelivery cannot help.
var errUnconvertible = errors.New("amqp10: message cannot be converted")

// decodeMessage turns a received AMQP message into a rida.Message. It reads
// outside input and must accept anything go-amqp decodes without panicking.
//
//   - ID is the message-id in any of its AMQP types: a string as is, a ulong
//     in decimal, a UUID in its canonical form, binary as text when it is
//     UTF-8 and as hex otherwise. Koji's protonmsg sets none: ID is "".
//   - Topic comes from, in order: the to property with topicPrefix cut off
//     (left whole when it does not start with the prefix); the "topic"
//     application property; RabbitMQ's x-routing-key annotation; the
//     subject, which RabbitMQ's plugin fills with the routing key when the
//     sender left it empty (as protonmsg does).
//   - Body is the data sections concatenated, or an AMQP value that is a
//     string (protonmsg sends json.dumps(...) as one) or binary. Any other
//     body (a map, a list, an amqp-sequence, none) is errUnconvertible.
//   - Properties are the application properties as plain Go values (see
//     bus.PlainValue; UUIDs become their text).
//   - SentAt is the "sent-at" property when it parses, else creation-time
//     (see creationTime), else zero.
func decodeMessage(msg *amqp.Message, topicPrefix string) (rida.Message, error) {
	if msg == nil {
		return rida.Message{}, fmt.Errorf("%w: no message", errUnconvertible)
	}
	var m rida.Message
	var err error
	if m.Body, err = decodeBody(msg); err != nil {
		return rida.Message{}, err
	}
	if len(msg.ApplicationProperties) > 0 {
		m.Properties = make(map[string]any, len(msg.ApplicationProperties))
		for k, v := range msg.ApplicationProperties {
			m.Properties[k] = bus.PlainValue(v, plainAMQP)
		}
	}
	p := msg.Properties
	if p != nil {
		m.ID = messageIDString(p.MessageID)
	}
	m.Topic = decodeTopic(msg, m.Properties, topicPrefix)
	if s, ok := m.Properties[propSentAt].(string); ok {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			m.SentAt = t
		}
	} else if t, ok := m.Properties[propSentAt].(time.Time); ok {
		m.SentAt = t
	}
	if m.SentAt.IsZero() && p != nil && p.CreationTime != nil {
		m.SentAt = creationTime(*p.CreationTime)
	}
	return m, nil
}

// creationTime reads a creation-time. RabbitMQ's 3.x plugin passes the
// timestamp of a message published over AMQP 0-9-1 (in seconds) on as an
// AMQP 1.0 creation-time (in milliseconds) unconverted, so such a message
// says it was created in January 1970. No real message is from then: a
// value within the first year of the epoch is read as seconds.
func creationTime(t time.Time) time.Time {
	const year = 365 * 24 * time.Hour
	if ms := t.UnixMilli(); ms > 0 && ms < year.Milliseconds() {
		return time.Unix(ms, 0).UTC()
	}
	return t.UTC()
}

// decodeBody returns the message body as raw bytes.
func decodeBody(msg *amqp.Message) (json.RawMessage, error) {
	switch {
	case len(msg.Data) > 0:
		return bytes.Join(msg.Data, nil), nil
	case len(msg.Sequence) > 0:
		return nil, fmt.Errorf("%w: the body is an amqp-sequence, not JSON data or a JSON string", errUnconvertible)
	}
	switch v := msg.Value.(type) {
	case string:
		return json.RawMessage(v), nil
	case []byte:
		return append(json.RawMessage(nil), v...), nil
	case nil:
		return nil, fmt.Errorf("%w: the message has no body", errUnconvertible)
	default:
		return nil, fmt.Errorf("%w: the body is an AMQP value of type %T, not a JSON string or binary", errUnconvertible, v)
	}
}

// decodeTopic finds the topic of a received message (see decodeMessage).
func decodeTopic(msg *amqp.Message, props map[string]any, topicPrefix string) string {
	p := msg.Properties
	if p != nil && p.To != nil && *p.To != "" {
		if t, ok := strings.CutPrefix(*p.To, topicPrefix); ok && t != "" {
			return t
		}
		return *p.To
	}
	if t, ok := props[propTopic].(string); ok && t != "" {
		return t
	}
	// go-amqp decodes symbol keys as strings; a message built in memory
	// may still carry a Symbol.
	for _, k := range []any{annotationRoutingKey, amqp.Symbol(annotationRoutingKey)} {
		if t, ok := msg.Annotations[k].(string); ok && t != "" {
			return t
		}
	}
	if p != nil && p.Subject != nil {
		return *p.Subject
	}
	return ""
}

// messageIDString renders a message-id of any AMQP type as a string.
func messageIDString(id any) string {
	switch id := id.(type) {
	case nil:
		return ""
	case string:
		return id
	case uint64:
		return strconv.FormatUint(id, 10)
	case amqp.UUID:
		return id.String()
	case []byte:
		if utf8.Valid(id) {
			return string(id)
		}
		return hex.EncodeToString(id)
	default:
		// Not a type AMQP allows for message-id, but a peer sent it.
		return fmt.Sprint(bus.PlainValue(id, plainAMQP))
	}
}

// plainAMQP converts the AMQP 1.0 types bus.PlainValue does not know: a
// UUID becomes its canonical text. (Symbols are strings to it already.)
func plainAMQP(v any) (any, bool) {
	if u, ok := v.(amqp.UUID); ok {
		return u.String(), true
	}
	return nil, false
}
