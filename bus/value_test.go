package bus_test

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rida-build/rida/bus"
)

type (
	namedString string
	namedInt    int16
	namedBytes  []byte
	decimal     struct{ v, scale int }
)

// Ensure every kind of value a protocol library decodes becomes a plain one.
func TestPlainValue(t *testing.T) {
	local := time.FixedZone("X", 3600)
	when := time.Date(2026, 11, 21, 19, 0, 0, 5, local)
	s := "pointed"
	for _, tt := range []struct {
		in, want any
	}{
		{nil, nil},
		{true, true},
		{"s", "s"},
		{int64(-1), int64(-1)},
		{1.5, 1.5},
		{int(-2), int64(-2)},
		{int8(-3), int64(-3)},
		{int16(-4), int64(-4)},
		{int32(-5), int64(-5)},
		{uint8(6), int64(6)},
		{uint16(7), int64(7)},
		{uint32(8), int64(8)},
		{uint(9), int64(9)},
		{uint64(math.MaxInt64), int64(math.MaxInt64)},
		{uint64(math.MaxInt64) + 1, uint64(math.MaxInt64) + 1},
		{float32(0.25), 0.25},
		{[]byte("raw"), []byte("raw")},
		{namedBytes("nb"), []byte("nb")},
		{when, when.UTC()},
		{namedString("sym"), "sym"},
		{namedInt(-10), int64(-10)},
		{&s, "pointed"},
		{(*string)(nil), nil},
		{[]any{int16(1), "x"}, []any{int64(1), "x"}},
		{[2]uint8{1, 2}, []any{int64(1), int64(2)}},
		{[]int32{3}, []any{int64(3)}},
		{map[string]any{"k": map[string]any{"u": uint16(9)}}, map[string]any{"k": map[string]any{"u": int64(9)}}},
		{map[any]any{int64(1): "one", namedString("n"): nil}, map[string]any{"1": "one", "n": nil}},
		{struct{ A int }{1}, "{1}"},
	} {
		got := bus.PlainValue(tt.in, nil)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("PlainValue(%#v) (-want +got):\n%s", tt.in, diff)
		}
	}
}

// Ensure a byte slice is copied, so a handler may keep it after the
// protocol library reuses its buffer.
func TestPlainValue_CopiesBytes(t *testing.T) {
	b := []byte("abc")
	got := bus.PlainValue(b, nil).([]byte)
	b[0] = 'x'
	if string(got) != "abc" {
		t.Errorf("PlainValue kept the caller's bytes: %q", got)
	}
}

// Ensure special is asked first, at every depth and for map keys, and its
// answer is used as is.
func TestPlainValue_Special(t *testing.T) {
	special := func(v any) (any, bool) {
		switch v := v.(type) {
		case decimal:
			return float64(v.v) / math.Pow10(v.scale), true
		case []byte:
			return string(v), true
		}
		return nil, false
	}
	in := map[any]any{
		"d":           decimal{1234, 2},
		"b":           []byte("text"),
		decimal{1, 0}: []any{map[string]any{"d": decimal{5, 1}}},
	}
	want := map[string]any{
		"d": 12.34,
		"b": "text",
		"1": []any{map[string]any{"d": 0.5}},
	}
	if diff := cmp.Diff(want, bus.PlainValue(in, special)); diff != "" {
		t.Errorf("PlainValue (-want +got):\n%s", diff)
	}
}

// Ensure deep nesting ends in nil rather than unbounded recursion, and a
// self-containing value ends too.
func TestPlainValue_Depth(t *testing.T) {
	var v any = "leaf"
	for range 40 {
		v = []any{v}
	}
	got := bus.PlainValue(v, nil)
	depth := 0
	for ; got != nil; depth++ {
		l, ok := got.([]any)
		if !ok {
			t.Fatalf("at depth %d: %T %v, want []any or nil", depth, got, got)
		}
		got = l[0]
	}
	if depth != 32 {
		t.Errorf("nil at depth %d, want 32", depth)
	}

	self := map[string]any{}
	self["self"] = self
	for depth, m := 0, bus.PlainValue(self, nil); m != nil; depth++ {
		if depth > 32 {
			t.Fatal("a self-containing map was followed past depth 32")
		}
		m = m.(map[string]any)["self"]
	}
}
