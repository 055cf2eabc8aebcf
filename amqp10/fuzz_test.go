package amqp10_test

import (
	"bytes"
	"testing"
	"time"

	amqp "github.com/Azure/go-amqp"

	"github.com/rida-build/rida/amqp10"
)

// fuzzSeeds are messages of the shapes the consumer meets: rida's own, Koji
// protonmsg's, RabbitMQ-annotated, and odd ones.
func fuzzSeeds() []*amqp.Message {
	to, subj := "/topic/a.b", "a.b"
	created := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	return []*amqp.Message{
		{
			Header:                &amqp.MessageHeader{Durable: true},
			Properties:            &amqp.MessageProperties{MessageID: "id", To: &to, Subject: &subj, CreationTime: &created},
			ApplicationProperties: map[string]any{"topic": "a.b", "sent-at": "2026-11-21T00:00:00Z", "n": int64(1)},
			Data:                  [][]byte{[]byte(`{"a":1}`)},
		},
		{
			ApplicationProperties: map[string]any{"type": "BuildStateChange", "old": nil, "new": "COMPLETE"},
			Value:                 `{"attribute":"state","old":0,"new":1}`,
		},
		{
			Annotations: amqp.Annotations{"x-routing-key": "koji.build.tag", "x-exchange": "amq.topic"},
			Properties:  &amqp.MessageProperties{MessageID: uint64(7)},
			Value:       []byte(`[]`),
		},
		{
			Properties: &amqp.MessageProperties{MessageID: amqp.UUID{1, 2}},
			Sequence:   [][]any{{int32(1), "x"}},
		},
		{
			Properties:            &amqp.MessageProperties{MessageID: []byte{0xff}},
			ApplicationProperties: map[string]any{"m": map[string]any{"k": []any{uint8(1)}}},
			Value:                 map[string]any{"a": int64(1)},
		},
		{Data: [][]byte{[]byte("x"), []byte("y")}},
	}
}

// FuzzDecodeMessage feeds arbitrary bytes through go-amqp's message decoder
// and whatever it accepts through the package's conversion, which must never
// panic and must keep data bodies byte for byte.
func FuzzDecodeMessage(f *testing.F) {
	for _, msg := range fuzzSeeds() {
		b, err := msg.MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "/topic/")
	}
	f.Fuzz(func(t *testing.T, data []byte, prefix string) {
		var msg amqp.Message
		if !unmarshal(&msg, data) {
			return
		}
		m, err := amqp10.DecodeMessage(&msg, prefix)
		if err != nil {
			return
		}
		if len(msg.Data) > 0 && !bytes.Equal(m.Body, bytes.Join(msg.Data, nil)) {
			t.Errorf("Body = %q, want the data sections %q", m.Body, msg.Data)
		}
	})
}

// FuzzDecodeFields builds messages field by field, so the fuzzer reaches
// property, annotation and body combinations the byte-level target rarely
// decodes into.
func FuzzDecodeFields(f *testing.F) {
	f.Add(uint8(0), "id", []byte(`{"a":1}`), uint8(0), "/topic/a", "a", "topic", "v", int64(1), "/topic/")
	f.Add(uint8(3), "", []byte(`{}`), uint8(1), "", "", "x-routing-key", "k", int64(-1), "")
	f.Add(uint8(2), "x", []byte{0xff}, uint8(2), "q", "s", "sent-at", "2026-11-21T00:00:00Z", int64(0), "q")
	f.Fuzz(func(t *testing.T, idKind uint8, id string, body []byte, bodyKind uint8, to, subject, key, val string, n int64, prefix string) {
		msg := &amqp.Message{Properties: &amqp.MessageProperties{}}
		switch idKind % 5 {
		case 0:
			msg.Properties.MessageID = id
		case 1:
			msg.Properties.MessageID = uint64(n)
		case 2:
			var u amqp.UUID
			copy(u[:], id)
			msg.Properties.MessageID = u
		case 3:
			msg.Properties.MessageID = []byte(id)
		}
		if to != "" {
			msg.Properties.To = &to
		}
		if subject != "" {
			msg.Properties.Subject = &subject
		}
		switch bodyKind % 6 {
		case 0:
			msg.Data = [][]byte{body}
		case 1:
			msg.Value = string(body)
		case 2:
			msg.Value = body
		case 3:
			msg.Value = map[string]any{val: n}
		case 4:
			msg.Sequence = [][]any{{val, n}}
		}
		msg.ApplicationProperties = map[string]any{key: val, "n": n, "l": []any{val, n}, "m": map[string]any{key: n}}
		msg.Annotations = amqp.Annotations{key: val, int64(n): []any{val}}
		created := time.UnixMilli(n % (1 << 40))
		msg.Properties.CreationTime = &created

		// Directly, with the Go types as built here, and after the wire,
		// with the types a receiver gets.
		if _, err := amqp10.DecodeMessage(msg, prefix); err != nil && bodyKind%6 < 3 {
			t.Errorf("a message with a %d body was refused: %v", bodyKind%6, err)
		}
		b, err := msg.MarshalBinary()
		if err != nil {
			return
		}
		var back amqp.Message
		if !unmarshal(&back, b) {
			return
		}
		_, _ = amqp10.DecodeMessage(&back, prefix)
	})
}

// unmarshal decodes data into msg with go-amqp, reporting whether it could.
// go-amqp v1.7.0 itself panics on some inputs (a map or annotation key that
// is a list or binary: "hash of unhashable type", Azure/go-amqp#369); those
// are its bug, not this package's, so they count as "could not decode" here
// and the fuzzer goes on testing the conversion.
func unmarshal(msg *amqp.Message, data []byte) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return msg.UnmarshalBinary(data) == nil
}
