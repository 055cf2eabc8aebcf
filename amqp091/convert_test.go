package amqp091_test

import (
	"crypto/tls"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/amqp091"
)

// Ensure a message gets fedora-messaging's properties and headers, with
// sent-at in UTC, to the second, with a numeric offset.
func TestPublishing_FedoraConventions(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	m := rida.Message{
		ID:     "8d1c2b1e-0000-4000-8000-000000000001",
		Topic:  "org.fedoraproject.prod.mbs.module.state.change",
		Body:   json.RawMessage(`{"id":8}`),
		SentAt: time.Date(2026, 11, 21, 19, 0, 0, 123456789, cet),
	}
	got, err := amqp091.Publishing(m, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	want := amqp.Publishing{
		Headers: amqp.Table{
			"fedora_messaging_schema":   "base.message",
			"fedora_messaging_severity": int64(20),
			"sent-at":                   "2026-11-21T18:00:00+00:00",
			"priority":                  int64(0),
		},
		ContentType:     "application/json",
		ContentEncoding: "utf-8",
		DeliveryMode:    2,
		MessageId:       m.ID,
		Timestamp:       time.Date(2026, 11, 21, 18, 0, 0, 0, time.UTC),
		Body:            []byte(`{"id":8}`),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Publishing (-want +got):\n%s", diff)
	}
}

// Ensure a zero SentAt is stamped with the clock, and properties are added
// (and override the defaults) in types AMQP tables accept.
func TestPublishing_Properties(t *testing.T) {
	now := time.Date(2026, 11, 21, 18, 30, 15, 999, time.UTC)
	type named string
	m := rida.Message{
		ID:    "x",
		Topic: "t",
		Properties: map[string]any{
			"fedora_messaging_schema":      "rida.module.state.change",
			"fedora_messaging_user_jdoe":   true,
			"int":                          42,
			"uint16":                       uint16(7),
			"float32":                      float32(1.5),
			"number":                       json.Number("12"),
			"fraction":                     json.Number("1.25"),
			"raw":                          json.RawMessage(`{"a":1}`),
			"named":                        named("n"),
			"strings":                      []string{"a", "b"},
			"labels":                       map[string]string{"k": "v"},
			"nested":                       map[string]any{"list": []any{1, "two", nil, 3.5}},
			"when":                         time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
			"bytes":                        []byte{0, 1},
			"fedora_messaging_rpm_kernel":  true,
			"fedora_messaging_module_perl": true,
		},
	}
	got, err := amqp091.Publishing(m, now)
	if err != nil {
		t.Fatal(err)
	}
	want := amqp.Table{
		"fedora_messaging_schema":      "rida.module.state.change",
		"fedora_messaging_severity":    int64(20),
		"sent-at":                      "2026-11-21T18:30:15+00:00",
		"priority":                     int64(0),
		"fedora_messaging_user_jdoe":   true,
		"int":                          int64(42),
		"uint16":                       int64(7),
		"float32":                      float64(1.5),
		"number":                       int64(12),
		"fraction":                     1.25,
		"raw":                          `{"a":1}`,
		"named":                        "n",
		"strings":                      []any{"a", "b"},
		"labels":                       amqp.Table{"k": "v"},
		"nested":                       amqp.Table{"list": []any{int64(1), "two", nil, 3.5}},
		"when":                         time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		"bytes":                        []byte{0, 1},
		"fedora_messaging_rpm_kernel":  true,
		"fedora_messaging_module_perl": true,
	}
	if diff := cmp.Diff(want, got.Headers); diff != "" {
		t.Errorf("Headers (-want +got):\n%s", diff)
	}
	if err := got.Headers.Validate(); err != nil {
		t.Errorf("Headers.Validate() = %v", err)
	}
	if want := time.Date(2026, 11, 21, 18, 30, 15, 0, time.UTC); !got.Timestamp.Equal(want) {
		t.Errorf("Timestamp = %v, want %v", got.Timestamp, want)
	}
}

// Ensure properties with no AMQP form are refused, naming the property,
// rather than sent as something else.
func TestPublishing_Unsupported(t *testing.T) {
	self := map[string]any{}
	self["self"] = self
	for name, v := range map[string]any{
		"chan":     make(chan int),
		"func":     func() {},
		"intkeys":  map[int]string{1: "a"},
		"overflow": uint64(math.MaxUint64),
		"cycle":    self,
	} {
		t.Run(name, func(t *testing.T) {
			m := rida.Message{ID: "x", Topic: "t", Properties: map[string]any{name: v}}
			_, err := amqp091.Publishing(m, time.Now())
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("Publishing(%T) error = %v, want one naming %q", v, err, name)
			}
		})
	}
}

// Ensure a delivery becomes a message with plain Go property values and
// SentAt from the sent-at header, falling back to the AMQP timestamp.
func TestDeliveryToMessage(t *testing.T) {
	ts := time.Date(2026, 11, 21, 17, 0, 0, 0, time.UTC)
	d := amqp.Delivery{
		MessageId:  "id-1",
		RoutingKey: "org.fedoraproject.prod.buildsys.build.state.change",
		Body:       []byte(`{"task_id":1}`),
		Timestamp:  ts,
		Headers: amqp.Table{
			"sent-at":                   "2026-11-21T18:00:00+00:00",
			"fedora_messaging_severity": int32(20),
			"b":                         byte(1),
			"i8":                        int8(-1),
			"i16":                       int16(-2),
			"u16":                       uint16(3),
			"u32":                       uint32(4),
			"f32":                       float32(0.5),
			"dec":                       amqp.Decimal{Scale: 2, Value: 1234},
			"bytes":                     []byte("raw"),
			"none":                      nil,
			"when":                      ts,
			"nested":                    amqp.Table{"list": []any{int16(1), amqp.Table{"x": true}}},
		},
	}
	got := amqp091.DeliveryToMessage(d)
	want := rida.Message{
		ID:     "id-1",
		Topic:  d.RoutingKey,
		Body:   json.RawMessage(`{"task_id":1}`),
		SentAt: time.Date(2026, 11, 21, 18, 0, 0, 0, time.UTC),
		Properties: map[string]any{
			"sent-at":                   "2026-11-21T18:00:00+00:00",
			"fedora_messaging_severity": int64(20),
			"b":                         int64(1),
			"i8":                        int64(-1),
			"i16":                       int64(-2),
			"u16":                       int64(3),
			"u32":                       int64(4),
			"f32":                       0.5,
			"dec":                       12.34,
			"bytes":                     "raw",
			"none":                      nil,
			"when":                      ts,
			"nested":                    map[string]any{"list": []any{int64(1), map[string]any{"x": true}}},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DeliveryToMessage (-want +got):\n%s", diff)
	}
}

// Ensure every sent-at form seen on the bus is read, and anything else
// falls back to the AMQP timestamp.
func TestDeliveryToMessage_SentAt(t *testing.T) {
	ts := time.Date(2026, 11, 21, 17, 0, 0, 0, time.UTC)
	sent := time.Date(2019, 7, 30, 19, 12, 22, 0, time.UTC)
	for _, tt := range []struct {
		header any
		want   time.Time
	}{
		{"2019-07-30T19:12:22+00:00", sent},
		{"2019-07-30T21:12:22+02:00", sent},
		{"2019-07-30T19:12:22.250000+00:00", sent.Add(250 * time.Millisecond)},
		{"2019-07-30T19:12:22Z", sent},
		{"2019-07-30T19:12:22", sent},
		{"2019-07-30 19:12:22+00:00", sent},
		{sent, sent},
		{"yesterday", ts},
		{"", ts},
		{int64(1564514 - 1), ts},
		{nil, ts},
	} {
		d := amqp.Delivery{Timestamp: ts, Headers: amqp.Table{"sent-at": tt.header}}
		if got := amqp091.DeliveryToMessage(d).SentAt; !got.Equal(tt.want) {
			t.Errorf("sent-at %#v: SentAt = %v, want %v", tt.header, got, tt.want)
		}
	}
	if got := amqp091.DeliveryToMessage(amqp.Delivery{}); !got.SentAt.IsZero() || got.Properties != nil {
		t.Errorf("empty delivery = %+v, want zero SentAt and nil Properties", got)
	}
}

// Ensure what Publishing writes reads back as the same plain values.
func TestPublishing_RoundTrip(t *testing.T) {
	props := map[string]any{
		"s": "x", "i": int64(-5), "f": 2.5, "t": true, "n": nil,
		"when":   time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		"nested": map[string]any{"l": []any{"a", int64(1)}},
	}
	m := rida.Message{ID: "id", Topic: "a.b", Body: json.RawMessage(`{}`), Properties: props,
		SentAt: time.Date(2026, 11, 21, 18, 0, 0, 0, time.UTC)}
	pub, err := amqp091.Publishing(m, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	got := amqp091.DeliveryToMessage(amqp.Delivery{
		MessageId: pub.MessageId, RoutingKey: m.Topic, Body: pub.Body,
		Headers: pub.Headers, Timestamp: pub.Timestamp,
	})
	want := m
	want.Properties = map[string]any{
		"fedora_messaging_schema":   "base.message",
		"fedora_messaging_severity": int64(20),
		"sent-at":                   "2026-11-21T18:00:00+00:00",
		"priority":                  int64(0),
	}
	for k, v := range props {
		want.Properties[k] = v
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

// Ensure client certificates on amqps with no password in the URL mean
// SASL EXTERNAL, as fedora-messaging authenticates, and that anything else
// keeps the URL's credentials.
func TestAMQPConfig_Auth(t *testing.T) {
	withCert := &tls.Config{Certificates: []tls.Certificate{{}}}
	for _, tt := range []struct {
		url      string
		tls      *tls.Config
		external bool
	}{
		{"amqps://rabbitmq.fedoraproject.org/%2Fpublic_pubsub", withCert, true},
		{"amqps://rida@rabbitmq.fedoraproject.org/%2Fpublic_pubsub", withCert, true},
		{"amqps://rida:secret@rabbitmq.fedoraproject.org/", withCert, false},
		{"amqps://rabbitmq.fedoraproject.org/", &tls.Config{}, false},
		{"amqps://rabbitmq.fedoraproject.org/", nil, false},
		{"amqp://localhost/", withCert, false},
	} {
		ac, err := amqp091.AMQPConfig(amqp091.Config{URL: tt.url, TLS: tt.tls}, "test")
		if err != nil {
			t.Fatalf("%s: %v", tt.url, err)
		}
		external := len(ac.SASL) == 1 && ac.SASL[0].Mechanism() == "EXTERNAL"
		if external != tt.external || (!external && ac.SASL != nil) {
			t.Errorf("%s (certificates: %v): SASL = %v, want EXTERNAL: %v", tt.url, tt.tls != nil && len(tt.tls.Certificates) > 0, ac.SASL, tt.external)
		}
		if tt.tls != nil && ac.TLSClientConfig == tt.tls {
			t.Errorf("%s: the caller's tls.Config is used as is; DialConfig would modify it", tt.url)
		}
	}
	if _, err := amqp091.AMQPConfig(amqp091.Config{URL: "amqp://u:secret@host:bad port/"}, "test"); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("bad URL error = %v, want one without the password", err)
	}
}
