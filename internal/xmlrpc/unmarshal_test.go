package xmlrpc

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// buildInfo is a typed getBuild reply, as the koji package would declare it.
type buildInfo struct {
	ID           int64          `xmlrpc:"build_id"`
	NVR          string         `xmlrpc:"nvr"`
	State        int            `xmlrpc:"state"`
	CGID         *int           `xmlrpc:"cg_id"`
	CompletionTS *float64       `xmlrpc:"completion_ts"`
	Extra        map[string]any `xmlrpc:"extra"`
}

// TestUnmarshal_Capture: a real getBuild reply into a Go struct.
func TestUnmarshal_Capture(t *testing.T) {
	v, err := DecodeResponse(mustRead(t, "075-getBuild-imported.response.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var b buildInfo
	if err := Unmarshal(v, &b); err != nil {
		t.Fatal(err)
	}
	if b.ID != 7 || b.NVR != "goldmod-master-20261121132552.c0ffee42" || b.State != 1 || b.CGID == nil || *b.CGID != 1 ||
		b.CompletionTS == nil || *b.CompletionTS < 1.7e9 || b.Extra["typeinfo"] == nil {
		t.Errorf("Unmarshal(getBuild) = %+v", b)
	}
	// And a list of builds.
	v, err = DecodeResponse(mustRead(t, "084-listTagged.response.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var bs []buildInfo
	if err := Unmarshal(v, &bs); err != nil {
		t.Fatal(err)
	}
	if len(bs) != 1 || bs[0].ID != 7 {
		t.Errorf("Unmarshal(listTagged) = %+v", bs)
	}
}

// TestUnmarshal: conversions, and the errors that say where.
func TestUnmarshal(t *testing.T) {
	type Embedded struct {
		E string `xmlrpc:"e"`
	}
	type target struct {
		*Embedded
		Name   string            `xmlrpc:"name"`
		Count  uint8             `xmlrpc:"count"`
		Ratio  float32           `xmlrpc:"ratio"`
		Tags   []string          `xmlrpc:"tags"`
		Pair   [2]int            `xmlrpc:"pair"`
		Labels map[string]string `xmlrpc:"labels"`
		Any    any               `xmlrpc:"any"`
		Raw    Struct            `xmlrpc:"raw"`
		Data   []byte            `xmlrpc:"data"`
		When   time.Time         `xmlrpc:"when"`
		Ptr    *string           `xmlrpc:"ptr"`
		Skip   string            `xmlrpc:"-"`
	}
	when := time.Date(2026, 11, 21, 13, 25, 52, 0, time.UTC)
	in := Struct{
		{Name: "e", Value: "emb"},
		{Name: "NAME", Value: "n"}, // case-insensitive
		{Name: "count", Value: int64(255)},
		{Name: "ratio", Value: int64(2)}, // an int into a float
		{Name: "tags", Value: []any{"a", "b"}},
		{Name: "pair", Value: []any{int64(1)}},
		{Name: "labels", Value: Struct{{Name: "k", Value: "v"}}},
		{Name: "any", Value: []any{nil, int64(1)}},
		{Name: "raw", Value: Struct{{Name: "x", Value: true}}},
		{Name: "data", Value: []byte("hi")},
		{Name: "when", Value: when},
		{Name: "ptr", Value: "p"},
		{Name: "Skip", Value: "no"},
		{Name: "unknown", Value: "ignored"},
	}
	var got target
	got.Tags = []string{"old"}
	if err := Unmarshal(in, &got); err != nil {
		t.Fatal(err)
	}
	p := "p"
	want := target{
		Embedded: &Embedded{E: "emb"}, Name: "n", Count: 255, Ratio: 2, Tags: []string{"a", "b"}, Pair: [2]int{1, 0},
		Labels: map[string]string{"k": "v"}, Any: []any{nil, int64(1)}, Raw: Struct{{Name: "x", Value: true}},
		Data: []byte("hi"), When: when, Ptr: &p,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Unmarshal (-want +got):\n%s", diff)
	}
	// nil sets the zero value.
	if err := Unmarshal(Struct{{Name: "ptr", Value: nil}, {Name: "tags", Value: nil}}, &got); err != nil || got.Ptr != nil || got.Tags != nil {
		t.Errorf("nil members: %v, %+v", err, got)
	}
	// Encoding the Go value gives the members back.
	body, err := EncodeResponse(want)
	if err != nil {
		t.Fatal(err)
	}
	v, err := DecodeResponse(body)
	if err != nil {
		t.Fatal(err)
	}
	var again target
	if err := Unmarshal(v, &again); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, again); diff != "" {
		t.Errorf("Unmarshal(Decode(Encode(x))) (-want +got):\n%s", diff)
	}

	for _, tt := range []struct {
		name string
		v    any
		dst  any
		want string
	}{
		{"not a pointer", int64(1), 0, "xmlrpc: Unmarshal into int: want a non-nil pointer"},
		{"string into int", []any{Struct{{Name: "build_id", Value: "7"}}}, &[]buildInfo{}, "xmlrpc: cannot unmarshal a string into int64 at [0].build_id"},
		{"overflow", Struct{{Name: "count", Value: int64(256)}}, &target{}, "xmlrpc: cannot unmarshal an int into uint8 at .count"},
		{"negative into uint", int64(-1), new(uint), "xmlrpc: cannot unmarshal an int into uint at the top"},
		{"float32 overflow", math.MaxFloat64, new(float32), "xmlrpc: cannot unmarshal a double into float32 at the top"},
		{"array too long", []any{int64(1), int64(2), int64(3)}, new([2]int), "xmlrpc: cannot unmarshal an array into [2]int at the top"},
		{"struct into string", Struct{}, new(string), "xmlrpc: cannot unmarshal a struct into string at the top"},
		{"array into map", []any{}, new(map[string]int), "xmlrpc: cannot unmarshal an array into map[string]int at the top"},
		{"struct into time", Struct{}, new(time.Time), "xmlrpc: cannot unmarshal a struct into time.Time at the top"},
		{"bool into string in a map", Struct{{Name: "a", Value: true}}, new(map[string]string), "xmlrpc: cannot unmarshal a boolean into string at .a"},
		{"into a channel", int64(1), new(chan int), "xmlrpc: cannot unmarshal an int into chan int at the top"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := Unmarshal(tt.v, tt.dst)
			if err == nil || err.Error() != tt.want {
				t.Errorf("Unmarshal = %v, want %q", err, tt.want)
			}
		})
	}
	if err := Unmarshal("x", new(error)); err == nil || !strings.Contains(err.Error(), "into error") {
		t.Errorf("Unmarshal into error = %v", err)
	}
}
