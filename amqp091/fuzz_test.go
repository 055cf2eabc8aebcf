package amqp091_test

import (
	"encoding/binary"
	"math"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/rida-build/rida/amqp091"
)

// FuzzDeliveryToMessage feeds arbitrary deliveries (headers of every type
// the AMQP library decodes, nested; any body, ids and sent-at text) to the
// conversion, which must not panic and must yield only plain Go values.
func FuzzDeliveryToMessage(f *testing.F) {
	f.Add("id", "org.fedoraproject.prod.buildsys.tag", []byte(`{"tag":"f40"}`), "2019-07-30T19:12:22+00:00", int64(1564514), []byte("s\x03abc"))
	f.Add("", "", []byte{}, "", int64(0), []byte("T\x02s\x01xi\x05\x00\x00\x00\x07"))
	f.Add("\xff", "#", []byte{0xff}, "2019-07-30T19:12:22.5-25:00", int64(-1), []byte("A\x03dDzT\x01T\x01T\x01T\x01"))
	f.Fuzz(func(t *testing.T, id, key string, body []byte, sentAt string, ts int64, table []byte) {
		headers := amqp.Table{"sent-at": sentAt}
		g := gen{b: table}
		for i := 0; len(g.b) > 0 && i < 64; i++ {
			headers[g.str()] = g.value(0)
		}
		d := amqp.Delivery{
			MessageId:  id,
			RoutingKey: key,
			Body:       body,
			Timestamp:  time.Unix(ts%(1<<40), 0),
			Headers:    headers,
		}
		m := amqp091.DeliveryToMessage(d)
		if m.ID != id || m.Topic != key || string(m.Body) != string(body) {
			t.Fatalf("DeliveryToMessage changed id/topic/body: %+v", m)
		}
		if len(m.Properties) != len(headers) {
			t.Fatalf("len(Properties) = %d, want %d", len(m.Properties), len(headers))
		}
		for k, v := range m.Properties {
			checkPlain(t, k, v, 0)
		}
	})
}

// checkPlain fails unless v is made of the plain types handlers expect.
func checkPlain(t *testing.T, path string, v any, depth int) {
	if depth > 100 {
		t.Fatalf("%s: nested too deep", path)
	}
	switch v := v.(type) {
	case nil, string, int64, float64, bool, time.Time:
	case uint64:
		// Only above math.MaxInt64 (bus.PlainValue); the wire has no such
		// type, but an in-memory table can hold one.
		if v <= math.MaxInt64 {
			t.Fatalf("%s: uint64 %d, want int64", path, v)
		}
	case map[string]any:
		for k, e := range v {
			checkPlain(t, path+"."+k, e, depth+1)
		}
	case []any:
		for _, e := range v {
			checkPlain(t, path+"[]", e, depth+1)
		}
	default:
		t.Fatalf("%s: %T is not a plain value", path, v)
	}
}

// gen builds field-table values out of fuzz bytes: a type letter as on the
// wire (AMQP 0-9-1 field types), then the value.
type gen struct{ b []byte }

func (g *gen) byte() byte {
	if len(g.b) == 0 {
		return 0
	}
	c := g.b[0]
	g.b = g.b[1:]
	return c
}

func (g *gen) bytes(n int) []byte {
	n = min(n, len(g.b))
	s := g.b[:n]
	g.b = g.b[n:]
	return s
}

func (g *gen) u64() uint64 {
	var buf [8]byte
	copy(buf[:], g.bytes(8))
	return binary.BigEndian.Uint64(buf[:])
}

func (g *gen) str() string { return string(g.bytes(int(g.byte()))) }

func (g *gen) value(depth int) any {
	switch g.byte() {
	case 't':
		return g.byte()&1 == 1
	case 'B':
		return g.byte()
	case 'b':
		return int8(g.byte())
	case 's':
		return int16(g.u64())
	case 'u':
		return uint16(g.u64())
	case 'I':
		return int32(g.u64())
	case 'i':
		return uint32(g.u64())
	case 'l':
		return int64(g.u64())
	case 'f':
		return math.Float32frombits(uint32(g.u64()))
	case 'd':
		return math.Float64frombits(g.u64())
	case 'D':
		return amqp.Decimal{Scale: g.byte(), Value: int32(g.u64())}
	case 'S':
		return g.str()
	case 'x':
		return g.bytes(int(g.byte()))
	case 'T':
		return time.Unix(int64(g.u64()%(1<<40)), 0)
	case 'A':
		if depth > 40 {
			return nil
		}
		n := int(g.byte() % 8)
		a := make([]any, n)
		for i := range a {
			a[i] = g.value(depth + 1)
		}
		return a
	case 'F':
		if depth > 40 {
			return nil
		}
		n := int(g.byte() % 8)
		t := amqp.Table{}
		for range n {
			t[g.str()] = g.value(depth + 1)
		}
		return t
	case 'z':
		// Not something the library decodes, but a Table can hold it.
		return uint64(g.u64())
	}
	return nil
}
