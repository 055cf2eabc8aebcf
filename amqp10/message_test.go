package amqp10_test

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"
	"time"

	amqp "github.com/Azure/go-amqp"
	"github.com/google/go-cmp/cmp"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/amqp10"
)

type buildState string

// Ensure a rida.Message becomes the AMQP message the package doc promises,
// and reads back unchanged after a trip through the wire encoding.
func TestEncodeMessage(t *testing.T) {
	sentAt := time.Date(2026, 11, 21, 17, 0, 0, 123456789, time.FixedZone("CET", 3600))
	m := rida.Message{
		ID:    "evt-42",
		Topic: "rida.build.state.change",
		Body:  json.RawMessage(`{"id":42,"state":"done"}`),
		Properties: map[string]any{
			"build_id": 42,
			"state":    buildState("done"),
			"ok":       true,
			"ratio":    float32(0.5),
			"count":    json.Number("7"),
			"nothing":  nil,
			"tags":     []string{"a", "b"},
			"meta":     map[string]int{"x": 1},
			"when":     sentAt,
			"raw":      []byte{0, 1},
			"took":     1500 * time.Millisecond,
			"topic":    "overridden",
		},
		SentAt: sentAt,
	}
	msg, err := amqp10.EncodeMessage(m, "/topic/rida.build.state.change", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if msg.Header == nil || !msg.Header.Durable {
		t.Errorf("header = %+v, want durable", msg.Header)
	}
	p := msg.Properties
	if got, want := p.MessageID, any("evt-42"); got != want {
		t.Errorf("message-id = %v, want %v", got, want)
	}
	if got, want := deref(p.ContentType), "application/json"; got != want {
		t.Errorf("content-type = %q, want %q", got, want)
	}
	if got, want := deref(p.To), "/topic/rida.build.state.change"; got != want {
		t.Errorf("to = %q, want %q", got, want)
	}
	if got, want := deref(p.Subject), "rida.build.state.change"; got != want {
		t.Errorf("subject = %q, want %q", got, want)
	}
	if p.CreationTime == nil || !p.CreationTime.Equal(sentAt) {
		t.Errorf("creation-time = %v, want %v", p.CreationTime, sentAt)
	}
	wantProps := map[string]any{
		"build_id": int64(42),
		"state":    "done",
		"ok":       true,
		"ratio":    float64(0.5),
		"count":    int64(7),
		"nothing":  nil,
		"tags":     `["a","b"]`,
		"meta":     `{"x":1}`,
		"when":     sentAt.UTC(),
		"raw":      []byte{0, 1},
		"took":     "1.5s",
		"topic":    "rida.build.state.change",
		"sent-at":  "2026-11-21T16:00:00.123456789Z",
	}
	if diff := cmp.Diff(wantProps, msg.ApplicationProperties); diff != "" {
		t.Errorf("application properties (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([][]byte{[]byte(m.Body)}, msg.Data); diff != "" {
		t.Errorf("data (-want +got):\n%s", diff)
	}

	// Round trip through the wire format: what a consumer of this package
	// gets back.
	wire, err := msg.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var back amqp.Message
	if err := back.UnmarshalBinary(wire); err != nil {
		t.Fatal(err)
	}
	got, err := amqp10.DecodeMessage(&back, "/topic/")
	if err != nil {
		t.Fatal(err)
	}
	want := m
	want.Properties = maps.Clone(wantProps)
	want.Properties["when"] = sentAt.UTC().Truncate(time.Millisecond) // AMQP timestamps are in ms
	want.SentAt = sentAt.UTC()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

// Ensure a message without SentAt is stamped with the injected clock, and
// one without topic or with an unencodable property is refused.
func TestEncodeMessage_Defaults(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	msg, err := amqp10.EncodeMessage(rida.Message{Topic: "t"}, "/topic/t", now)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := msg.ApplicationProperties["sent-at"], "2026-01-02T03:04:05Z"; got != want {
		t.Errorf("sent-at = %v, want %v", got, want)
	}
	if msg.Properties.MessageID != nil {
		t.Errorf("message-id = %v, want none for an empty ID", msg.Properties.MessageID)
	}
	if diff := cmp.Diff([][]byte{{}}, msg.Data); diff != "" {
		t.Errorf("data of an empty body (-want +got):\n%s", diff)
	}

	if _, err := amqp10.EncodeMessage(rida.Message{ID: "x"}, "/topic/", now); err == nil {
		t.Error("a message without topic was encoded")
	}
	bad := rida.Message{ID: "x", Topic: "t", Properties: map[string]any{"ch": make(chan int)}}
	if _, err := amqp10.EncodeMessage(bad, "/topic/t", now); err == nil || !strings.Contains(err.Error(), `"ch"`) {
		t.Errorf("unencodable property: err = %v, want one naming the property", err)
	}
}

// Ensure every kind of message-id AMQP allows becomes a string ID.
func TestDecodeMessage_ID(t *testing.T) {
	uuid := amqp.UUID{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0}
	for _, tc := range []struct {
		name string
		id   any
		want string
	}{
		{"string", "abc-1", "abc-1"},
		{"ulong", uint64(18446744073709551615), "18446744073709551615"},
		{"uuid", uuid, "12345678-9abc-def0-1234-56789abcdef0"},
		{"binary text", []byte("bin-id"), "bin-id"},
		{"binary", []byte{0xff, 0x00, 0x10}, "ff0010"},
		{"none", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			msg := &amqp.Message{Properties: &amqp.MessageProperties{MessageID: tc.id}, Data: [][]byte{[]byte("{}")}}
			got, err := amqp10.DecodeMessage(wireTrip(t, msg), "/topic/")
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != tc.want {
				t.Errorf("ID = %q, want %q", got.ID, tc.want)
			}
		})
	}
}

// Ensure every body kind a sender may use is read as raw JSON bytes, and
// the ones that cannot carry JSON are refused.
func TestDecodeMessage_Body(t *testing.T) {
	for _, tc := range []struct {
		name    string
		msg     *amqp.Message
		want    string
		wantErr bool
	}{
		{"one data section", &amqp.Message{Data: [][]byte{[]byte(`{"a":1}`)}}, `{"a":1}`, false},
		{"data sections concatenated", &amqp.Message{Data: [][]byte{[]byte(`{"a":`), []byte(`1}`)}}, `{"a":1}`, false},
		{"empty data section", &amqp.Message{Data: [][]byte{{}}}, ``, false},
		{"string value (Koji protonmsg)", &amqp.Message{Value: `{"attribute":"state","old":0,"new":1}`}, `{"attribute":"state","old":0,"new":1}`, false},
		{"binary value", &amqp.Message{Value: []byte(`[1,2]`)}, `[1,2]`, false},
		{"map value", &amqp.Message{Value: map[string]any{"a": int64(1)}}, ``, true},
		{"number value", &amqp.Message{Value: int64(3)}, ``, true},
		{"null value", &amqp.Message{Value: amqp.Null{}}, ``, true},
		{"sequence", &amqp.Message{Sequence: [][]any{{"a"}}}, ``, true},
		{"no body", &amqp.Message{ApplicationProperties: map[string]any{"a": "b"}}, ``, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := amqp10.DecodeMessage(wireTrip(t, tc.msg), "/topic/")
			if tc.wantErr {
				if err == nil {
					t.Fatalf("decoded a %s body as %q, want an error", tc.name, got.Body)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got.Body) != tc.want {
				t.Errorf("Body = %q, want %q", got.Body, tc.want)
			}
		})
	}
	if _, err := amqp10.DecodeMessage(nil, "/topic/"); err == nil {
		t.Error("decoded a nil message")
	}
}

// Ensure the topic is found in each place a broker or sender may put it, in
// the documented order.
func TestDecodeMessage_Topic(t *testing.T) {
	to := func(s string) *amqp.MessageProperties { return &amqp.MessageProperties{To: &s} }
	subject := func(s string) *amqp.MessageProperties { return &amqp.MessageProperties{Subject: &s} }
	for _, tc := range []struct {
		name   string
		msg    amqp.Message
		prefix string
		want   string
	}{
		{"to with prefix", amqp.Message{Properties: to("/topic/a.b")}, "/topic/", "a.b"},
		{"to with UMB prefix", amqp.Message{Properties: to("topic://VirtualTopic.eng.koji.build.complete")}, "topic://VirtualTopic.eng.", "koji.build.complete"},
		{"to without the prefix", amqp.Message{Properties: to("queue://elsewhere")}, "/topic/", "queue://elsewhere"},
		{"to wins", amqp.Message{Properties: to("/topic/a"), ApplicationProperties: map[string]any{"topic": "b"}}, "/topic/", "a"},
		{"topic property", amqp.Message{ApplicationProperties: map[string]any{"topic": "b"}, Properties: subject("s")}, "/topic/", "b"},
		{"routing key annotation", amqp.Message{Annotations: amqp.Annotations{"x-routing-key": "rk.1"}, Properties: subject("s")}, "/topic/", "rk.1"},
		{"subject", amqp.Message{Properties: subject("koji.build.complete")}, "/topic/", "koji.build.complete"},
		{"nothing", amqp.Message{}, "/topic/", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.msg.Data = [][]byte{[]byte("{}")}
			got, err := amqp10.DecodeMessage(wireTrip(t, &tc.msg), tc.prefix)
			if err != nil {
				t.Fatal(err)
			}
			if got.Topic != tc.want {
				t.Errorf("Topic = %q, want %q", got.Topic, tc.want)
			}
		})
	}
}

// Ensure application properties arrive as plain Go values, and SentAt comes
// from sent-at, else creation-time.
func TestDecodeMessage_PropertiesAndSentAt(t *testing.T) {
	created := time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)
	uuid := amqp.UUID{1}
	msg := &amqp.Message{
		Properties: &amqp.MessageProperties{CreationTime: &created},
		ApplicationProperties: map[string]any{
			"i8": int8(-1), "i16": int16(-2), "i32": int32(-3), "i64": int64(-4),
			"u8": uint8(1), "u16": uint16(2), "u32": uint32(3), "u64": uint64(4),
			"bigu64": uint64(1) << 63,
			"f32":    float32(1.5), "f64": 2.5,
			"s": "str", "sym": amqp.Symbol("sym"), "b": true, "nil": nil,
			"bin": []byte{1, 2}, "uuid": uuid, "ts": created,
			"sent-at": "not a time",
		},
		Value: "{}",
	}
	got, err := amqp10.DecodeMessage(wireTrip(t, msg), "/topic/")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"i8": int64(-1), "i16": int64(-2), "i32": int64(-3), "i64": int64(-4),
		"u8": int64(1), "u16": int64(2), "u32": int64(3), "u64": int64(4),
		"bigu64": uint64(1) << 63,
		"f32":    1.5, "f64": 2.5,
		"s": "str", "sym": "sym", "b": true, "nil": nil,
		"bin": []byte{1, 2}, "uuid": uuid.String(), "ts": created,
		"sent-at": "not a time",
	}
	if diff := cmp.Diff(want, got.Properties); diff != "" {
		t.Errorf("Properties (-want +got):\n%s", diff)
	}
	if !got.SentAt.Equal(created) {
		t.Errorf("SentAt = %v, want creation-time %v when sent-at does not parse", got.SentAt, created)
	}

	msg.ApplicationProperties = map[string]any{"sent-at": "2026-11-21T10:00:00.5+01:00"}
	got, err = amqp10.DecodeMessage(wireTrip(t, msg), "/topic/")
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 11, 21, 9, 0, 0, 500e6, time.UTC); !got.SentAt.Equal(want) {
		t.Errorf("SentAt = %v, want sent-at %v", got.SentAt, want)
	}

	// RabbitMQ 3.x hands on a 0-9-1 timestamp (seconds) as milliseconds.
	secondsAsMillis := time.UnixMilli(created.Unix())
	msg.Properties.CreationTime = &secondsAsMillis
	msg.ApplicationProperties = nil
	got, err = amqp10.DecodeMessage(wireTrip(t, msg), "/topic/")
	if err != nil {
		t.Fatal(err)
	}
	if !got.SentAt.Equal(created) {
		t.Errorf("SentAt = %v, want %v from a creation-time in seconds", got.SentAt, created)
	}

	got, err = amqp10.DecodeMessage(&amqp.Message{Value: "{}"}, "/topic/")
	if err != nil {
		t.Fatal(err)
	}
	if !got.SentAt.IsZero() || got.Properties != nil || got.ID != "" {
		t.Errorf("bare message decoded as %+v, want zero SentAt, nil Properties and empty ID", got)
	}
}

// Ensure nested maps and lists (not allowed in application properties, but
// sent by some peers, and allowed in annotations) become plain values.
func TestDecodeMessage_NestedValues(t *testing.T) {
	msg := &amqp.Message{
		ApplicationProperties: map[string]any{
			"list": []any{int32(1), "two", []any{amqp.Symbol("three")}},
			"map":  map[any]any{int64(1): "one", "k": map[string]any{"u": uint16(9)}},
			"arr":  []int32{4, 5},
		},
		Data: [][]byte{[]byte("{}")},
	}
	got, err := amqp10.DecodeMessage(msg, "/topic/")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"list": []any{int64(1), "two", []any{"three"}},
		"map":  map[string]any{"1": "one", "k": map[string]any{"u": int64(9)}},
		"arr":  []any{int64(4), int64(5)},
	}
	if diff := cmp.Diff(want, got.Properties); diff != "" {
		t.Errorf("Properties (-want +got):\n%s", diff)
	}
}

// wireTrip encodes and decodes msg as go-amqp would on the wire, so tests see
// the types a receiver really gets.
func wireTrip(t *testing.T, msg *amqp.Message) *amqp.Message {
	t.Helper()
	b, err := msg.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var back amqp.Message
	if err := back.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	return &back
}

func deref(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}
