package xmlrpc

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// resp wraps one encoded value in a methodResponse, as the hub writes it.
func resp(value string) string {
	return xmlHeader + "<methodResponse>\n<params>\n<param>\n" + value + "</param>\n</params>\n</methodResponse>\n"
}

// TestEncodeResponse_Values: the exact bytes each kind of value encodes
// to (Python's xmlrpc.client layout with Koji's int rule).
func TestEncodeResponse_Values(t *testing.T) {
	type tagged struct {
		ID      int64             `xmlrpc:"build_id"`
		Name    string            `xmlrpc:"name"`
		Skip    string            `xmlrpc:"-"`
		Owner   *string           `xmlrpc:"owner"`
		Extra   map[string]any    `xmlrpc:"extra,omitempty"`
		Arches  []string          `xmlrpc:"arches,omitempty"`
		Plain   bool              // no tag: the field name
		private int               // unexported: never encoded
		Tags    map[string]string `xmlrpc:"tags"`
	}
	type Inner struct {
		A int `xmlrpc:"a"`
		B int `xmlrpc:"b"`
	}
	type outer struct {
		Inner        // promoted
		B     string `xmlrpc:"b"` // hides Inner.B
	}
	type state int
	date := time.Date(2026, 11, 21, 13, 25, 52, 999, time.FixedZone("CET", 3600))
	for _, tt := range []struct {
		name string
		v    any
		want string
	}{
		{"nil", nil, "<value><nil/></value>"},
		{"nil pointer", (*int)(nil), "<value><nil/></value>"},
		{"nil fault", (*Fault)(nil), "<value><nil/></value>"},
		{"true", true, "<value><boolean>1</boolean></value>\n"},
		{"false", false, "<value><boolean>0</boolean></value>\n"},
		{"zero", 0, "<value><int>0</int></value>\n"},
		{"max int32", math.MaxInt32, "<value><int>2147483647</int></value>\n"},
		{"max int32 + 1", int64(math.MaxInt32) + 1, "<value><i8>2147483648</i8></value>\n"},
		{"min int32", int32(math.MinInt32), "<value><int>-2147483648</int></value>\n"},
		{"min int32 - 1", int64(math.MinInt32) - 1, "<value><i8>-2147483649</i8></value>\n"},
		{"max int64", int64(math.MaxInt64), "<value><i8>9223372036854775807</i8></value>\n"},
		{"min int64", int64(math.MinInt64), "<value><i8>-9223372036854775808</i8></value>\n"},
		{"uint64 in range", uint64(math.MaxInt64), "<value><i8>9223372036854775807</i8></value>\n"},
		{"uint8", uint8(255), "<value><int>255</int></value>\n"},
		{"named int", state(3), "<value><int>3</int></value>\n"},
		{"pointer to int", new(int), "<value><int>0</int></value>\n"},
		{"double", 0.017765, "<value><double>0.017765</double></value>\n"},
		{"whole double", 1795267552.0, "<value><double>1795267552.0</double></value>\n"},
		{"float32", float32(0.5), "<value><double>0.5</double></value>\n"},
		{"empty string", "", "<value><string></string></value>\n"},
		{"escaped string", `a<b>&c "d" 'e'`, "<value><string>a&lt;b&gt;&amp;c \"d\" 'e'</string></value>\n"},
		{"multi-line string", "line 1\n\tline 2\n", "<value><string>line 1\n\tline 2\n</string></value>\n"},
		{"carriage return", "a\r\nb", "<value><string>a&#13;\nb</string></value>\n"},
		{"unicode string", "žluťoučký kůň ☃ 😀", "<value><string>žluťoučký kůň ☃ 😀</string></value>\n"},
		{"bytes", []byte("hi"), "<value><base64>\naGk=\n</base64></value>\n"},
		{"empty bytes", []byte{}, "<value><base64>\n</base64></value>\n"},
		{"58 bytes wrap", []byte(strings.Repeat("x", 58)), "<value><base64>\n" + strings.Repeat("eHh4", 19) + "\neA==\n</base64></value>\n"},
		{"time", date, "<value><dateTime.iso8601>20261121T12:25:52</dateTime.iso8601></value>\n"},
		{"empty array", []any{}, "<value><array><data>\n</data></array></value>\n"},
		{"nil slice", []string(nil), "<value><array><data>\n</data></array></value>\n"},
		{"array", []any{nil, int64(1) << 40, "x"}, "<value><array><data>\n<value><nil/></value><value><i8>1099511627776</i8></value>\n<value><string>x</string></value>\n</data></array></value>\n"},
		{"typed slice", []int{1, 2}, "<value><array><data>\n<value><int>1</int></value>\n<value><int>2</int></value>\n</data></array></value>\n"},
		{"Go array", [2]bool{true, false}, "<value><array><data>\n<value><boolean>1</boolean></value>\n<value><boolean>0</boolean></value>\n</data></array></value>\n"},
		{"empty struct", Struct{}, "<value><struct>\n</struct></value>\n"},
		{"struct in order", Struct{{Name: "z", Value: 1}, {Name: "a", Value: nil}}, "<value><struct>\n<member>\n<name>z</name>\n<value><int>1</int></value>\n</member>\n<member>\n<name>a</name>\n<value><nil/></value></member>\n</struct></value>\n"},
		{"escaped member name", Struct{{Name: "a&b", Value: true}}, "<value><struct>\n<member>\n<name>a&amp;b</name>\n<value><boolean>1</boolean></value>\n</member>\n</struct></value>\n"},
		{"map sorted", map[string]any{"b": 2, "a": "x"}, "<value><struct>\n<member>\n<name>a</name>\n<value><string>x</string></value>\n</member>\n<member>\n<name>b</name>\n<value><int>2</int></value>\n</member>\n</struct></value>\n"},
		{"nested", []any{[]any{[]any{}}, Struct{{Name: "s", Value: Struct{}}}},
			"<value><array><data>\n<value><array><data>\n<value><array><data>\n</data></array></value>\n</data></array></value>\n<value><struct>\n<member>\n<name>s</name>\n<value><struct>\n</struct></value>\n</member>\n</struct></value>\n</data></array></value>\n"},
		{"Go struct", tagged{ID: 7, Name: "n", Skip: "s", Plain: true, private: 1},
			"<value><struct>\n<member>\n<name>build_id</name>\n<value><int>7</int></value>\n</member>\n<member>\n<name>name</name>\n<value><string>n</string></value>\n</member>\n<member>\n<name>owner</name>\n<value><nil/></value></member>\n<member>\n<name>Plain</name>\n<value><boolean>1</boolean></value>\n</member>\n<member>\n<name>tags</name>\n<value><struct>\n</struct></value>\n</member>\n</struct></value>\n"},
		{"Go struct embedded", outer{Inner: Inner{A: 1, B: 2}, B: "b"},
			"<value><struct>\n<member>\n<name>a</name>\n<value><int>1</int></value>\n</member>\n<member>\n<name>b</name>\n<value><string>b</string></value>\n</member>\n</struct></value>\n"},
		{"fault value in an array", []any{Fault{Code: 1, String: "y"}},
			"<value><array><data>\n<value><struct>\n<member>\n<name>faultCode</name>\n<value><int>1</int></value>\n</member>\n<member>\n<name>faultString</name>\n<value><string>y</string></value>\n</member>\n</struct></value>\n</data></array></value>\n"},
		{"fault as a value", []any{&Fault{Code: 1000, String: "x", Traceback: []string{"t"}}},
			"<value><array><data>\n<value><struct>\n<member>\n<name>faultCode</name>\n<value><int>1000</int></value>\n</member>\n<member>\n<name>faultString</name>\n<value><string>x</string></value>\n</member>\n<member>\n<name>traceback</name>\n<value><array><data>\n<value><string>t</string></value>\n</data></array></value>\n</member>\n</struct></value>\n</data></array></value>\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EncodeResponse(tt.v)
			if err != nil {
				t.Fatalf("EncodeResponse(%#v): %v", tt.v, err)
			}
			if diff := cmp.Diff(resp(tt.want), string(got)); diff != "" {
				t.Errorf("EncodeResponse(%#v) (-want +got):\n%s", tt.v, diff)
			}
		})
	}
}

// TestEncode_Errors: values XML-RPC (or XML) cannot carry.
func TestEncode_Errors(t *testing.T) {
	type cyclic struct{ Next *cyclic }
	loop := &cyclic{}
	loop.Next = loop
	deep := any(1)
	for range DefaultMaxDepth + 1 {
		deep = []any{deep}
	}
	for _, tt := range []struct {
		name string
		v    any
		want string
	}{
		{"uint64 beyond i8", uint64(math.MaxUint64), "xmlrpc: encode response: integer 18446744073709551615 exceeds the XML-RPC i8 range"},
		{"control character", "a\x01b", "xmlrpc: encode response: character U+0001 at byte 1 cannot be carried by XML"},
		{"NUL in a member name", Struct{{Name: "a\x00", Value: 1}}, `xmlrpc: encode response: member name "a\x00": character U+0000 at byte 1 cannot be carried by XML`},
		{"invalid UTF-8", []any{"ok", "\xff"}, "xmlrpc: encode response: element 1: invalid UTF-8 at byte 0"},
		{"U+FFFE", "\uFFFE", "xmlrpc: encode response: character U+FFFE at byte 0 cannot be carried by XML"},
		{"channel", make(chan int), "xmlrpc: encode response: cannot encode a value of type chan int"},
		{"complex", Struct{{Name: "c", Value: 1i}}, `xmlrpc: encode response: member "c": cannot encode a value of type complex128`},
		{"int keys", map[int]string{1: "a"}, "xmlrpc: encode response: cannot encode map[int]string: struct member names must be strings"},
		{"kwargs inside a value", []any{KwArgs{}}, "xmlrpc: encode response: element 0: KwArgs is only allowed as the last parameter of a call"},
		{"year 10000", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), "xmlrpc: encode response: time 10000-01-01 00:00:00 +0000 UTC: year outside 0000-9999"},
		{"cycle", loop, "nested deeper than 64"},
		{"too deep", deep, "arrays and structs nested deeper than 64"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := EncodeResponse(tt.v)
			if err == nil {
				t.Fatalf("EncodeResponse = %q, want error %q", b, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "xmlrpc: encode response: ") {
				t.Errorf("error = %q, want %q", err, tt.want)
			}
		})
	}
}

// TestEncodeCall_KwArgs: koji.encode_args.
func TestEncodeCall_KwArgs(t *testing.T) {
	call := func(params string) string {
		return xmlHeader + "<methodCall>\n<methodName>getTag</methodName>\n<params>\n" + params + "</params>\n</methodCall>\n"
	}
	const tag = "<param>\n<value><string>f40</string></value>\n</param>\n"
	for _, tt := range []struct {
		name     string
		params   []any
		want     string
		wantArgs []any  // what SplitKwArgs(DecodeCall) gives back
		wantKw   KwArgs // likewise
	}{
		{"no params", nil, call(""), nil, nil},
		{"no kwargs", []any{"f40"}, call(tag), []any{"f40"}, nil},
		{"empty kwargs add nothing", []any{"f40", KwArgs{}}, call(tag), []any{"f40"}, nil},
		{"kwargs", []any{"f40", KwArgs{{Name: "strict", Value: true}, {Name: "event", Value: nil}}},
			call(tag + "<param>\n<value><struct>\n<member>\n<name>strict</name>\n<value><boolean>1</boolean></value>\n</member>\n<member>\n<name>event</name>\n<value><nil/></value></member>\n<member>\n<name>__starstar</name>\n<value><boolean>1</boolean></value>\n</member>\n</struct></value>\n</param>\n"),
			[]any{"f40"}, KwArgs{{Name: "strict", Value: true}, {Name: "event", Value: nil}}},
		{"__starstar given is set in place", []any{KwArgs{{Name: "__starstar", Value: false}, {Name: "x", Value: 1}}},
			call("<param>\n<value><struct>\n<member>\n<name>__starstar</name>\n<value><boolean>1</boolean></value>\n</member>\n<member>\n<name>x</name>\n<value><int>1</int></value>\n</member>\n</struct></value>\n</param>\n"),
			[]any{}, KwArgs{{Name: "x", Value: int64(1)}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EncodeCall("getTag", tt.params...)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("EncodeCall (-want +got):\n%s", diff)
			}
			// The hub's decode_args gives the arguments back.
			_, params, err := DecodeCall(got)
			if err != nil {
				t.Fatal(err)
			}
			args, kw := SplitKwArgs(params)
			if diff := cmp.Diff(tt.wantArgs, args, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("SplitKwArgs args (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantKw, kw); diff != "" {
				t.Errorf("SplitKwArgs kwargs (-want +got):\n%s", diff)
			}
		})
	}

	if _, err := EncodeCall("getTag", KwArgs{{Name: "strict", Value: true}}, "f40"); err == nil || err.Error() != "xmlrpc: encode getTag: param 0: KwArgs must be the last parameter" {
		t.Errorf("KwArgs first: error = %v", err)
	}
	if _, err := EncodeCall(""); err == nil || err.Error() != "xmlrpc: encode call: empty method name" {
		t.Errorf("empty method: error = %v", err)
	}
	if _, err := EncodeMulticall([]Call{{Method: "a", Params: []any{KwArgs{}, 1}}}); err == nil || err.Error() != "xmlrpc: encode multiCall: call 0 (a): param 0: KwArgs must be the last parameter" {
		t.Errorf("multicall KwArgs first: error = %v", err)
	}
}

// TestSplitKwArgs: only a trailing struct with __starstar true is kwargs.
func TestSplitKwArgs(t *testing.T) {
	kw := Struct{{Name: "a", Value: int64(1)}, {Name: starstar, Value: true}}
	for _, tt := range []struct {
		name     string
		params   []any
		wantArgs []any
		wantKw   KwArgs
	}{
		{"none", nil, nil, nil},
		{"plain", []any{"x"}, []any{"x"}, nil},
		{"kwargs", []any{"x", kw}, []any{"x"}, KwArgs{{Name: "a", Value: int64(1)}}},
		{"kwargs alone", []any{kw}, []any{}, KwArgs{{Name: "a", Value: int64(1)}}},
		{"only __starstar", []any{Struct{{Name: starstar, Value: true}}}, []any{}, KwArgs{}},
		{"__starstar false", []any{Struct{{Name: starstar, Value: false}}}, []any{Struct{{Name: starstar, Value: false}}}, nil},
		{"not last", []any{kw, "x"}, []any{kw, "x"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args, kw := SplitKwArgs(tt.params)
			if diff := cmp.Diff(tt.wantArgs, args); diff != "" {
				t.Errorf("args (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantKw, kw); diff != "" {
				t.Errorf("kwargs (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDecodeResponse_Values: what each form on the wire decodes to,
// including the forms other servers write.
func TestDecodeResponse_Values(t *testing.T) {
	wrap := func(v string) string {
		return "<methodResponse><params><param>" + v + "</param></params></methodResponse>"
	}
	for _, tt := range []struct {
		name string
		in   string
		want any
	}{
		{"nil", wrap("<value><nil/></value>"), nil},
		{"ex:nil", `<methodResponse xmlns:ex="http://ws.apache.org/xmlrpc/namespaces/extensions"><params><param><value><ex:nil/></value></param></params></methodResponse>`, nil},
		{"nil open and close", wrap("<value><nil></nil></value>"), nil},
		{"int", wrap("<value><int>42</int></value>"), int64(42)},
		{"i4", wrap("<value><i4>-7</i4></value>"), int64(-7)},
		{"i8", wrap("<value><i8>1099511627776</i8></value>"), int64(1099511627776)},
		{"ex:i8", wrap("<value><ex:i8>-34359738368</ex:i8></value>"), int64(-34359738368)},
		{"big <int>", wrap("<value><int>4294967296</int></value>"), int64(4294967296)},
		{"max i8", wrap("<value><i8>9223372036854775807</i8></value>"), int64(math.MaxInt64)},
		{"min i8", wrap("<value><i8>-9223372036854775808</i8></value>"), int64(math.MinInt64)},
		{"int with spaces and sign", wrap("<value><int> +5\n</int></value>"), int64(5)},
		{"boolean", wrap("<value><boolean>1</boolean></value>"), true},
		{"boolean false", wrap("<value><boolean>0</boolean></value>"), false},
		{"string", wrap("<value><string>a &amp; b &lt;c&gt; &#x263A; &#65;</string></value>"), "a & b <c> ☺ A"},
		{"empty string", wrap("<value><string></string></value>"), ""},
		{"self-closed string", wrap("<value><string/></value>"), ""},
		{"string keeps its whitespace", wrap("<value><string>  a\n </string></value>"), "  a\n "},
		{"CRLF becomes LF", wrap("<value><string>a\r\nb\rc</string></value>"), "a\nb\nc"},
		{"char ref CR stays", wrap("<value><string>a&#13;b</string></value>"), "a\rb"},
		{"CDATA", wrap("<value><string><![CDATA[<x> & y]]></string></value>"), "<x> & y"},
		{"comment inside text", wrap("<value><string>a<!-- c -->b</string></value>"), "ab"},
		{"untyped value", wrap("<value>text</value>"), "text"},
		{"untyped value keeps its whitespace", wrap("<value> two words </value>"), " two words "},
		{"empty untyped value", wrap("<value></value>"), ""},
		{"self-closed value", wrap("<value/>"), ""},
		{"whitespace around a typed value", wrap("<value>\n  <int>1</int>\n</value>"), int64(1)},
		{"double", wrap("<value><double>1795267552.590627</double></value>"), 1795267552.590627},
		{"double exponent", wrap("<value><double>-1.5e-07</double></value>"), -1.5e-07},
		{"double inf", wrap("<value><double>inf</double></value>"), math.Inf(1)},
		{"double overflow is inf as in Python", wrap("<value><double>1e999</double></value>"), math.Inf(1)},
		{"double nan", wrap("<value><double>nan</double></value>"), math.NaN()},
		{"dateTime Python", wrap("<value><dateTime.iso8601>20261121T13:25:52</dateTime.iso8601></value>"), time.Date(2026, 11, 21, 13, 25, 52, 0, time.UTC)},
		{"dateTime with dashes and zone", wrap("<value><dateTime.iso8601>2026-11-21T14:25:52+01:00</dateTime.iso8601></value>"), time.Date(2026, 11, 21, 13, 25, 52, 0, time.UTC)},
		{"dateTime fraction dropped", wrap("<value><dateTime.iso8601>20261121T13:25:52.75Z</dateTime.iso8601></value>"), time.Date(2026, 11, 21, 13, 25, 52, 0, time.UTC)},
		{"base64", wrap("<value><base64>\naGVs\nbG8=\n</base64></value>"), []byte("hello")},
		{"empty base64", wrap("<value><base64></base64></value>"), []byte{}},
		{"empty array", wrap("<value><array><data></data></array></value>"), []any{}},
		{"self-closed data", wrap("<value><array><data/></array></value>"), []any{}},
		{"nested arrays", wrap("<value><array><data><value><array><data><value><int>1</int></value><value>x</value></data></array></value><value><nil/></value></data></array></value>"), []any{[]any{int64(1), "x"}, nil}},
		{"empty struct", wrap("<value><struct></struct></value>"), Struct{}},
		{"struct order kept", wrap("<value><struct><member><name>z</name><value><int>1</int></value></member><member><name>a</name><value><struct><member><name>in</name><value><array><data/></array></value></member></struct></value></member></struct></value>"),
			Struct{{Name: "z", Value: int64(1)}, {Name: "a", Value: Struct{{Name: "in", Value: []any{}}}}}},
		{"duplicate member names kept", wrap("<value><struct><member><name>a</name><value>1</value></member><member><name>a</name><value>2</value></member></struct></value>"),
			Struct{{Name: "a", Value: "1"}, {Name: "a", Value: "2"}}},
		{"empty member name", wrap("<value><struct><member><name></name><value>1</value></member></struct></value>"), Struct{{Name: "", Value: "1"}}},
		{"byte order mark", "\xef\xbb\xbf" + wrap("<value>x</value>"), "x"},
		{"prefixed elements", `<x:methodResponse xmlns:x="u"><x:params><param><value><x:string>s</x:string></value></param></x:params></x:methodResponse>`, "s"},
		{"spaces inside tags", wrap("<value\n ><int >1</int\t></value >"), int64(1)},
		{"references", wrap("<value>&#65;&#x42;&lt;&gt;&amp;&apos;&quot;&#x1F600;</value>"), "AB<>&'\"😀"},
		{"CDATA pieces and text", wrap("<value><string><![CDATA[a\r\nb]]>c<![CDATA[]]>d</string></value>"), "a\nbcd"},
		{"DEL is a character", wrap("<value>\x7f</value>"), "\x7f"},
		{"declaration, comments, PIs, attributes", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- c --><methodResponse a=\"b\"><?pi x?><params><param><value><int>1</int></value></param></params></methodResponse>\n<!-- end -->\n", int64(1)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeResponse([]byte(tt.in))
			if err != nil {
				t.Fatalf("DecodeResponse: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateNaNs()); diff != "" {
				t.Errorf("DecodeResponse (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDecode_Errors: malformed input gives a *DecodeError whose message
// says what and where.
func TestDecode_Errors(t *testing.T) {
	wrap := func(v string) string {
		return "<methodResponse><params><param>" + v + "</param></params></methodResponse>"
	}
	nest := func(n int) string {
		return strings.Repeat("<value><array><data>", n) + strings.Repeat("</data></array></value>", n)
	}
	for _, tt := range []struct {
		name string
		in   string
		want string
	}{
		{"empty", "", "xmlrpc: line 1, column 1: no <methodResponse> element: empty input"},
		{"whitespace", " \n", "xmlrpc: line 2, column 1: no <methodResponse> element: empty input"},
		{"not XML", "Invalid request: Empty request", `xmlrpc: line 1, column 1: unexpected text "Invalid request: Empty request"`},
		{"truncated (the hub's 400 case)", "<?xml version='1.0'?>\n<methodResponse>\n<params>\n", "xmlrpc: line 4, column 1: unexpected end of input"},
		{"a call, not a response", "<methodCall><methodName>x</methodName></methodCall>", "xmlrpc: line 1, column 1: unexpected <methodCall>, want <methodResponse>"},
		{"mismatched end tag", wrap("<value><int>1</i4></value>"), "xmlrpc: line 1, column 45: unexpected </i4>, want </int>"},
		{"unknown type", wrap("<value><long>1</long></value>"), "xmlrpc: line 1, column 39: unknown type <long> in <value>"},
		{"text before a typed value", wrap("<value>x<int>1</int></value>"), `xmlrpc: line 1, column 40: text "x" before <int> in <value>`},
		{"element inside a string", wrap("<value><string>a<b/></string></value>"), "xmlrpc: line 1, column 48: unexpected <b> inside <string>"},
		{"two typed values", wrap("<value><int>1</int><int>2</int></value>"), "xmlrpc: line 1, column 51: unexpected <int>, want </value>"},
		{"not an int", wrap("<value><int>12a</int></value>"), `xmlrpc: line 1, column 39: <int> "12a" is not an integer in the i8 range`},
		{"empty int", wrap("<value><int></int></value>"), `xmlrpc: line 1, column 39: <int> "" is not an integer in the i8 range`},
		{"i8 overflow", wrap("<value><i8>9223372036854775808</i8></value>"), `xmlrpc: line 1, column 39: <i8> "9223372036854775808" is not an integer in the i8 range`},
		{"i8 underflow", wrap("<value><i8>-9223372036854775809</i8></value>"), `<i8> "-9223372036854775809" is not an integer in the i8 range`},
		{"bad boolean", wrap("<value><boolean>true</boolean></value>"), `<boolean> "true" is not 0 or 1`},
		{"bad double", wrap("<value><double>1.2.3</double></value>"), `<double> "1.2.3" is not a number`},
		{"bad dateTime", wrap("<value><dateTime.iso8601>yesterday</dateTime.iso8601></value>"), `<dateTime.iso8601> "yesterday" is not a time such as 20261121T13:25:52`},
		{"bad base64", wrap("<value><base64>!!!!</base64></value>"), "<base64>: illegal base64 data at input byte 0"},
		{"nil with content", wrap("<value><nil>x</nil></value>"), `unexpected text "x"`},
		{"array without data", wrap("<value><array><value>1</value></array></value>"), "unexpected <value>, want <data>"},
		{"member without name", wrap("<value><struct><member><value>1</value></member></struct></value>"), "unexpected <value>, want <name>"},
		{"member without value", wrap("<value><struct><member><name>a</name></member></struct></value>"), "unexpected </member>, want <value>"},
		{"junk in a struct", wrap("<value><struct>x</struct></value>"), `unexpected text "x"`},
		{"undeclared entity", wrap("<value><string>&nbsp;</string></value>"), "xmlrpc: line 1, column 47: invalid character entity &nbsp;"},
		{"invalid character reference", wrap("<value><string>&#1;</string></value>"), "illegal character code U+0001"},
		{"invalid UTF-8", wrap("<value><string>\xff</string></value>"), "invalid UTF-8"},
		{"DTD", "<!DOCTYPE methodResponse [<!ENTITY a \"b\">]>" + wrap("<value>&a;</value>"), "<!DOCTYPE methodRespon...> not allowed: DTDs and entity declarations are refused"},
		{"]]> in text", wrap("<value>a]]>b</value>"), "xmlrpc: line 1, column 40: unescaped ]]> not in CDATA section"},
		{"two colons in a name", wrap("<value><a:b:nil/></value>"), `xmlrpc: line 1, column 39: invalid element name "a:b:nil"`},
		{"empty prefix", wrap("<value><:nil/></value>"), `invalid element name ":nil"`},
		{"non-ASCII element name", wrap("<value><é/></value>"), "xmlrpc: line 1, column 39: expected an element name after <"},
		{"surrogate reference", wrap("<value>&#xD800;</value>"), "xmlrpc: line 1, column 39: illegal character code U+D800"},
		{"reference without semicolon", wrap("<value>&amp</value>"), "invalid character entity &amp (no semicolon)"},
		{"uppercase X reference", wrap("<value>&#X41;</value>"), "invalid character entity &#X41;"},
		{"unquoted attribute", wrap("<value a=1>x</value>"), "xmlrpc: line 1, column 32: unquoted or missing attribute value in element <value>"},
		{"attribute without value", wrap("<value a>x</value>"), "unquoted or missing attribute value in element <value>"},
		{"attributes without a space", wrap("<value a='1'b='2'>x</value>"), "expected a space before an attribute in element <value>"},
		{"< in an attribute", wrap("<value a='<'>x</value>"), "xmlrpc: line 1, column 42: unescaped < inside an attribute value"},
		{"bad reference in an attribute", wrap("<value a='&#1;'/>"), "illegal character code U+0001"},
		{"broken self-closing tag", wrap("<value/ >"), "expected /> in element <value>"},
		{"space after <", wrap("< value/>"), "expected an element name after <"},
		{"end tag not closed", wrap("<value>x</value</param>"), "invalid characters between </value and >"},
		{"-- in a comment", wrap("<value><!-- a -- b --></value>"), `xmlrpc: line 1, column 39: invalid sequence "--" not allowed in comments`},
		{"unterminated comment", wrap("<value><!-- x"), "unexpected end of input"},
		{"unterminated CDATA", wrap("<value><![CDATA[x"), "unexpected end of input"},
		{"unterminated PI", wrap("<value><?pi x"), "unexpected end of input"},
		{"unterminated tag", "<methodResponse", "unexpected end of input"},
		{"NUL after the document", wrap("<value/>") + "\x00", "illegal character code U+0000"},
		{"XML 1.1", "<?xml version='1.1'?>" + wrap("<value/>"), `XML version "1.1" not supported: only 1.0`},
		{"declaration later", "<methodResponse><?xml version='1.0'?></methodResponse>", "XML declaration not at the start of the input"},
		{"other encoding", "<?xml version='1.0' encoding='ISO-8859-1'?>" + wrap("<value/>"), `xmlrpc: line 1, column 1: encoding "ISO-8859-1" not supported: only UTF-8`},
		{"content after the document", wrap("<value/>") + "<x/>", "xmlrpc: line 1, column 74: content after </methodResponse>"},
		{"two documents", wrap("<value/>") + wrap("<value/>"), "content after </methodResponse>"},
		{"no params", "<methodResponse><params></params></methodResponse>", "methodResponse has 0 params, want 1"},
		{"two params", "<methodResponse><params><param><value/></param><param><value/></param></params></methodResponse>", "methodResponse has 2 params, want 1"},
		{"param without value", "<methodResponse><params><param></param></params></methodResponse>", "unexpected </param>, want <value>"},
		{"neither params nor fault", "<methodResponse><value/></methodResponse>", "unexpected <value>, want <params> or <fault>"},
		{"fault not a struct", "<methodResponse><fault><value><int>1</int></value></fault></methodResponse>", "<fault>: fault value is an int, want a struct"},
		{"fault without faultString", "<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>1</int></value></member></struct></value></fault></methodResponse>", "<fault>: fault struct has no faultString"},
		{"fault code a string", "<methodResponse><fault><value><struct><member><name>faultCode</name><value>1</value></member><member><name>faultString</name><value>x</value></member></struct></value></fault></methodResponse>", "<fault>: faultCode is a string, want an int"},
		{"fault then params", "<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>1</int></value></member><member><name>faultString</name><value>x</value></member></struct></value></fault><params/></methodResponse>", "unexpected <params>, want </methodResponse>"},
		{"nesting at the limit is fine, one more is not", wrap(nest(DefaultMaxDepth + 1)), "arrays and structs nest deeper than 64"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v, err := DecodeResponse([]byte(tt.in))
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("DecodeResponse = %#v, %v; want a *DecodeError", v, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q\nwant    %q", err, tt.want)
			}
		})
	}
	if _, err := DecodeResponse([]byte(wrap(nest(DefaultMaxDepth)))); err != nil {
		t.Errorf("%d nested arrays: %v", DefaultMaxDepth, err)
	}
}

// TestDecoder_Limits: a Decoder's own limits, and the errors they wrap.
func TestDecoder_Limits(t *testing.T) {
	body := []byte(resp("<value><array><data>\n<value><array><data>\n</data></array></value>\n</data></array></value>\n"))
	d := Decoder{MaxDepth: 1}
	if _, err := d.DecodeResponse(body); !errors.Is(err, ErrTooDeep) {
		t.Errorf("MaxDepth 1, two arrays: error = %v, want ErrTooDeep", err)
	}
	d = Decoder{MaxDepth: 2}
	if _, err := d.DecodeResponse(body); err != nil {
		t.Errorf("MaxDepth 2, two arrays: %v", err)
	}
	d = Decoder{MaxBytes: len(body) - 1}
	_, err := d.DecodeResponse(body)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("MaxBytes %d: error = %v, want ErrTooLarge", len(body)-1, err)
	}
	if want := fmt.Sprintf("xmlrpc: input of %d bytes exceeds the limit of %d", len(body), len(body)-1); err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	if _, _, err := d.DecodeCall(body); !errors.Is(err, ErrTooLarge) {
		t.Errorf("DecodeCall, MaxBytes %d: error = %v, want ErrTooLarge", len(body)-1, err)
	}
	d = Decoder{MaxBytes: len(body)}
	if _, err := d.DecodeResponse(body); err != nil {
		t.Errorf("MaxBytes = len(body): %v", err)
	}
}

// TestDecodeCall: calls, including the forms the Python client never
// writes.
func TestDecodeCall(t *testing.T) {
	for _, tt := range []struct {
		name       string
		in         string
		wantMethod string
		wantParams []any
		wantErr    string
	}{
		{name: "no params element", in: "<methodCall><methodName>hello</methodName></methodCall>", wantMethod: "hello"},
		{name: "empty params", in: "<methodCall><methodName>hello</methodName><params/></methodCall>", wantMethod: "hello", wantParams: []any{}},
		{name: "params", in: "<methodCall><methodName>getTag</methodName><params><param><value>f40</value></param><param><value><struct><member><name>strict</name><value><boolean>1</boolean></value></member><member><name>__starstar</name><value><boolean>1</boolean></value></member></struct></value></param></params></methodCall>",
			wantMethod: "getTag", wantParams: []any{"f40", Struct{{Name: "strict", Value: true}, {Name: "__starstar", Value: true}}}},
		{name: "escaped method name", in: "<methodCall><methodName>a&amp;b</methodName></methodCall>", wantMethod: "a&b"},
		{name: "empty method name", in: "<methodCall><methodName></methodName><params/></methodCall>", wantErr: "xmlrpc: line 1, column 13: empty <methodName>"},
		{name: "no method name", in: "<methodCall><params/></methodCall>", wantErr: "unexpected <params>, want <methodName>"},
		{name: "response, not a call", in: resp("<value/>"), wantErr: "unexpected <methodResponse>, want <methodCall>"},
		{name: "element in the method name", in: "<methodCall><methodName><b/></methodName></methodCall>", wantErr: "unexpected <b> inside <methodName>"},
		{name: "junk after params", in: "<methodCall><methodName>a</methodName><params/><params/></methodCall>", wantErr: "unexpected <params>, want </methodCall>"},
		{name: "junk instead of params", in: "<methodCall><methodName>a</methodName><value/></methodCall>", wantErr: "unexpected <value>, want <params>"},
		{name: "truncated", in: "<?xml version='1.0'?>\n<methodCall>\n<methodName>hello</methodName>\n<params>\n", wantErr: "xmlrpc: line 5, column 1: unexpected end of input"},
		{name: "empty", in: "", wantErr: "no <methodCall> element: empty input"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			method, params, err := DecodeCall([]byte(tt.in))
			if tt.wantErr != "" {
				var de *DecodeError
				if !errors.As(err, &de) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("DecodeCall = %q, %v, %v; want error %q", method, params, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeCall: %v", err)
			}
			if method != tt.wantMethod {
				t.Errorf("method = %q, want %q", method, tt.wantMethod)
			}
			if diff := cmp.Diff(tt.wantParams, params); diff != "" {
				t.Errorf("params (-want +got):\n%s", diff)
			}
		})
	}
}

// TestEncodeFault: the hub's fault layout, and the faults that come back.
func TestEncodeFault(t *testing.T) {
	got, err := EncodeFault(1000, "Invalid method: <x>")
	if err != nil {
		t.Fatal(err)
	}
	want := xmlHeader + "<methodResponse>\n<fault>\n<value><struct>\n<member>\n<name>faultCode</name>\n<value><int>1000</int></value>\n</member>\n<member>\n<name>faultString</name>\n<value><string>Invalid method: &lt;x&gt;</string></value>\n</member>\n</struct></value>\n</fault>\n</methodResponse>\n"
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("EncodeFault (-want +got):\n%s", diff)
	}
	// EncodeResponse of a *Fault is the same fault response (without a
	// traceback, which only multicall results carry).
	again, err := EncodeResponse(&Fault{Code: 1000, String: "Invalid method: <x>", Traceback: []string{"t"}})
	if err != nil || string(again) != want {
		t.Errorf("EncodeResponse(*Fault) = %q, %v; want the fault response", again, err)
	}
	_, err = DecodeResponse(got)
	var f *Fault
	if !errors.As(err, &f) || f.Code != 1000 || f.String != "Invalid method: <x>" || f.Traceback != nil {
		t.Errorf("DecodeResponse(EncodeFault) = %#v", err)
	}
	if _, err := EncodeFault(1, "\x00"); err == nil {
		t.Error("EncodeFault with a NUL: no error")
	}
}

// TestMulticall_Errors: replies that are not a multicall's.
func TestMulticall_Errors(t *testing.T) {
	for _, tt := range []struct {
		name string
		v    any
		want string
	}{
		{"not an array", "x", "xmlrpc: multicall reply is a string, want an array"},
		{"empty result", []any{[]any{}}, "xmlrpc: multicall result 0 is an array of 0 values, want 1"},
		{"two values", []any{[]any{int64(1)}, []any{int64(1), int64(2)}}, "xmlrpc: multicall result 1 is an array of 2 values, want 1"},
		{"bare value", []any{int64(1)}, "xmlrpc: multicall result 0 is an int, want [value] or a fault struct"},
		{"struct without faultCode", []any{Struct{{Name: "a", Value: int64(1)}}}, "xmlrpc: multicall result 0: fault struct has no faultCode"},
		{"bad traceback", []any{Struct{{Name: "faultCode", Value: int64(1)}, {Name: "faultString", Value: "x"}, {Name: "traceback", Value: []any{int64(1)}}}}, "xmlrpc: multicall result 0: traceback line 0 is an int, want a string"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := MulticallResults(tt.v)
			if err == nil || err.Error() != tt.want {
				t.Errorf("MulticallResults = %v, %v; want error %q", rs, err, tt.want)
			}
		})
	}
	for _, tt := range []struct {
		name   string
		params []any
		want   string
	}{
		{"no param", nil, "xmlrpc: multicall has 0 params, want 1"},
		{"not a list", []any{"x"}, "xmlrpc: multicall param is a string, want an array"},
		{"not a struct", []any{[]any{"x"}}, "xmlrpc: multicall call 0 is a string, want a struct"},
		{"no methodName", []any{[]any{Struct{}}}, "xmlrpc: multicall call 0: methodName is nil, want a non-empty string"},
		{"params not a list", []any{[]any{Struct{{Name: "methodName", Value: "a"}, {Name: "params", Value: "x"}}}}, "xmlrpc: multicall call 0 (a): params is a string, want an array"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cs, err := MulticallCalls(tt.params)
			if err == nil || err.Error() != tt.want {
				t.Errorf("MulticallCalls = %v, %v; want error %q", cs, err, tt.want)
			}
		})
	}
	// A fault of the whole multicall request is the error.
	body, _ := EncodeFault(1002, "Invalid session or bad credentials")
	var f *Fault
	if _, err := DecodeMulticallResponse(body); !errors.As(err, &f) || f.Code != 1002 {
		t.Errorf("DecodeMulticallResponse(fault) error = %v, want the *Fault", err)
	}
}

// TestMulticall_RoundTrip: what a fake hub reads from EncodeMulticall and
// what the client reads from EncodeMulticallResponse.
func TestMulticall_RoundTrip(t *testing.T) {
	calls := []Call{
		{Method: "getTag", Params: []any{"f40", KwArgs{{Name: "strict", Value: true}}}},
		{Method: "hello"},
		{Method: "echo", Params: []any{int64(1) << 40, KwArgs{}}},
	}
	body, err := EncodeMulticall(calls)
	if err != nil {
		t.Fatal(err)
	}
	// A client encoding the call itself sends the same bytes.
	param, err := MulticallParam(calls)
	if err != nil {
		t.Fatal(err)
	}
	if again, err := EncodeCall("multiCall", param); err != nil || string(again) != string(body) {
		t.Errorf("EncodeCall(multiCall, MulticallParam) = %v; differs from EncodeMulticall:\n%s\n%s", err, again, body)
	}
	method, params, err := DecodeCall(body)
	if err != nil || method != "multiCall" {
		t.Fatalf("DecodeCall = %q, %v", method, err)
	}
	got, err := MulticallCalls(params)
	if err != nil {
		t.Fatal(err)
	}
	want := []Call{
		{Method: "getTag", Params: []any{"f40", Struct{{Name: "strict", Value: true}, {Name: starstar, Value: true}}}},
		{Method: "hello", Params: []any{}},
		{Method: "echo", Params: []any{int64(1) << 40}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("MulticallCalls (-want +got):\n%s", diff)
	}
	results := []MulticallResult{
		{Value: Struct{{Name: "id", Value: int64(1)}}},
		{Fault: &Fault{Code: 1000, String: "Invalid method: hello", Traceback: []string{"Traceback\n"}}},
		{Value: nil},
	}
	reply, err := EncodeMulticallResponse(results)
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeMulticallResponse(reply)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(results, back); diff != "" {
		t.Errorf("DecodeMulticallResponse(EncodeMulticallResponse) (-want +got):\n%s", diff)
	}
}

// TestAppendPythonFloat: repr(float) in Python 3.
func TestAppendPythonFloat(t *testing.T) {
	for _, tt := range []struct {
		f    float64
		want string
	}{
		{0, "0.0"},
		{math.Copysign(0, -1), "-0.0"},
		{1, "1.0"},
		{-2.5, "-2.5"},
		{0.1, "0.1"},
		{0.017765, "0.017765"},
		{1795267552.590627, "1795267552.590627"},
		{1795266952, "1795266952.0"},
		{0.0001, "0.0001"},
		{0.00001, "1e-05"},
		{1.5e-7, "1.5e-07"},
		{1e15, "1000000000000000.0"},
		{1e16, "1e+16"},
		{1.2345e16, "1.2345e+16"},
		{123456789012345678, "1.2345678901234568e+17"},
		{1e100, "1e+100"},
		{5e-324, "5e-324"},
		{math.MaxFloat64, "1.7976931348623157e+308"},
		{math.Inf(1), "inf"},
		{math.Inf(-1), "-inf"},
		{math.NaN(), "nan"},
	} {
		if got := string(appendPythonFloat(nil, tt.f)); got != tt.want {
			t.Errorf("appendPythonFloat(%v) = %q, want %q", tt.f, got, tt.want)
		}
	}
}
