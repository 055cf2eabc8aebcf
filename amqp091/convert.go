package amqp091

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/bus"
)

// Header names and values of fedora-messaging's wire format
// (fedora-messaging docs/wire-format.rst).
const (
	HeaderSchema   = "fedora_messaging_schema"
	HeaderSeverity = "fedora_messaging_severity"
	HeaderSentAt   = "sent-at"
	HeaderPriority = "priority"

	// DefaultSchema is the schema name of fedora-messaging's base Message
	// class, for messages that do not name a more specific one.
	DefaultSchema = "base.message"
	// SeverityInfo is fedora-messaging's INFO severity (DEBUG 10, INFO 20,
	// WARNING 30, ERROR 40).
	SeverityInfo = 20

	// sentAtLayout is ISO 8601 with the UTC offset and without fractional
	// seconds, which the wire format asks for ("2019-07-30T19:12:22+00:00").
	sentAtLayout = "2006-01-02T15:04:05-07:00"
)

// maxDepth bounds the nesting of the header tables and arrays published.
// Nothing sane nests deeper, and a self-containing map in
// rida.Message.Properties would otherwise recurse forever.
const maxDepth = 32

// publishing returns the AMQP message for m in fedora-messaging's
// conventions. now stands in for a zero m.SentAt.
func publishing(m rida.Message, now time.Time) (amqp.Publishing, error) {
	sentAt := m.SentAt
	if sentAt.IsZero() {
		sentAt = now
	}
	sentAt = sentAt.UTC().Truncate(time.Second)

	headers := amqp.Table{
		HeaderSchema:   DefaultSchema,
		HeaderSeverity: int64(SeverityInfo),
		HeaderSentAt:   sentAt.Format(sentAtLayout),
		HeaderPriority: int64(0),
	}
	// The message's own properties win: a schema (or severity) it names is
	// the one that describes it.
	for k, v := range m.Properties {
		tv, err := toTableValue(v, 0)
		if err != nil {
			return amqp.Publishing{}, fmt.Errorf("property %q: %w", k, err)
		}
		headers[k] = tv
	}
	return amqp.Publishing{
		Headers:         headers,
		ContentType:     "application/json",
		ContentEncoding: "utf-8",
		DeliveryMode:    amqp.Persistent,
		MessageId:       m.ID,
		Timestamp:       sentAt,
		Body:            m.Body,
	}, nil
}

// toTableValue converts a property value to a type AMQP field tables
// accept: integers become int64 and float32 float64 (the tables' widest
// forms), maps with string keys become tables and slices arrays.
func toTableValue(v any, depth int) (any, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("nested more than %d levels deep", maxDepth)
	}
	switch v := v.(type) {
	case nil, bool, string, int64, float64, []byte, amqp.Decimal:
		return v, nil
	case time.Time:
		// AMQP timestamps have whole seconds.
		return v.UTC().Truncate(time.Second), nil
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i, nil
		}
		f, err := v.Float64()
		if err != nil {
			return nil, fmt.Errorf("number %q: %w", v, err)
		}
		return f, nil
	case json.RawMessage:
		// Already JSON: keep the text rather than guess a structure.
		return string(v), nil
	case amqp.Table:
		return toTable(v, depth)
	case map[string]any:
		return toTable(v, depth)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			tv, err := toTableValue(e, depth+1)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = tv
		}
		return out, nil
	}

	// The other integer and float widths (int64 and float64, the tables'
	// widest forms), typed containers (map[string]string, []string, ...)
	// and named types over the kinds above.
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			break
		}
		out := make(amqp.Table, rv.Len())
		for it := rv.MapRange(); it.Next(); {
			tv, err := toTableValue(it.Value().Interface(), depth+1)
			if err != nil {
				return nil, fmt.Errorf("%q: %w", it.Key().String(), err)
			}
			out[it.Key().String()] = tv
		}
		return out, nil
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range rv.Len() {
			tv, err := toTableValue(rv.Index(i).Interface(), depth+1)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			out[i] = tv
		}
		return out, nil
	case reflect.Pointer:
		if rv.IsNil() {
			return nil, nil
		}
		return toTableValue(rv.Elem().Interface(), depth+1)
	case reflect.String:
		return rv.String(), nil
	case reflect.Bool:
		return rv.Bool(), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return rv.Int(), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return uintValue(rv.Uint())
	case reflect.Float32, reflect.Float64:
		return rv.Float(), nil
	}
	return nil, fmt.Errorf("type %T has no AMQP field-table form", v)
}

func toTable[M ~map[string]any](m M, depth int) (amqp.Table, error) {
	out := make(amqp.Table, len(m))
	for k, e := range m {
		tv, err := toTableValue(e, depth+1)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", k, err)
		}
		out[k] = tv
	}
	return out, nil
}

func uintValue(u uint64) (any, error) {
	if u > math.MaxInt64 {
		return nil, fmt.Errorf("%d overflows the 64-bit signed integers AMQP tables hold", u)
	}
	return int64(u), nil
}

// deliveryToMessage converts a delivery into a rida.Message. Everything in
// a delivery comes from whoever published it, so nothing here may fail or
// panic: unparsable parts are left empty or zero.
func deliveryToMessage(d amqp.Delivery) rida.Message {
	m := rida.Message{
		ID:         d.MessageId,
		Topic:      d.RoutingKey,
		Body:       json.RawMessage(d.Body),
		Properties: fromTable(d.Headers),
		SentAt:     d.Timestamp,
	}
	if t, ok := sentAt(d.Headers[HeaderSentAt]); ok {
		m.SentAt = t
	}
	return m
}

// sentAt reads a sent-at header: the ISO 8601 text fedora-messaging writes
// (with or without fractional seconds, which older versions included), a
// naive one taken as UTC, or an AMQP timestamp.
func sentAt(v any) (time.Time, bool) {
	switch v := v.(type) {
	case time.Time:
		return v, !v.IsZero()
	case string:
		if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return t, true
		}
		if t, err := time.Parse("2006-01-02T15:04:05.999999999", v); err == nil {
			return t, true
		}
		// Python's isoformat() with a space separator.
		if t, err := time.Parse("2006-01-02 15:04:05.999999999Z07:00", v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// fromTable converts an AMQP field table into plain Go values (see
// bus.PlainValue), with byte arrays as strings and decimals as float64. Nil
// stays nil.
func fromTable(t amqp.Table) map[string]any {
	if t == nil {
		return nil
	}
	out := make(map[string]any, len(t))
	for k, v := range t {
		out[k] = bus.PlainValue(v, plainTableValue)
	}
	return out
}

// plainTableValue converts the field values bus.PlainValue does not know
// or that read better otherwise here: decimals become float64, and byte
// arrays strings (fedora-messaging's headers are text).
func plainTableValue(v any) (any, bool) {
	switch v := v.(type) {
	case []byte:
		return string(v), true
	case amqp.Decimal:
		return float64(v.Value) / math.Pow10(int(v.Scale)), true
	}
	return nil, false
}
