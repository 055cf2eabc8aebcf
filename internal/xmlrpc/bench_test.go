package xmlrpc

import (
	"testing"
)

// largeResponse builds a listTaggedRPMS-shaped reply of about n rpm
// records from the captured one (each record about 900 bytes on the wire,
// exactly as the hub writes it): what a big build tag answers.
func largeResponse(tb testing.TB, n int) []byte {
	tb.Helper()
	v, err := DecodeResponse(mustRead(tb, "123-mbs-listTaggedRPMS.response.xml"))
	if err != nil {
		tb.Fatal(err)
	}
	pair := v.([]any)
	rpms, builds := pair[0].([]any), pair[1].([]any)
	many := make([]any, 0, n)
	for len(many) < n {
		many = append(many, rpms...)
	}
	body, err := EncodeResponse([]any{many, builds})
	if err != nil {
		tb.Fatal(err)
	}
	return body
}

// BenchmarkDecodeResponse decodes captured replies: the largest single
// capture (getAllPerms, 4.5 kB), a getBuild, and a listTaggedRPMS reply
// grown to 10,000 rpms (about 9 MB).
func BenchmarkDecodeResponse(b *testing.B) {
	for _, bc := range []struct {
		name string
		body func(testing.TB) []byte
	}{
		{"getAllPerms", func(tb testing.TB) []byte { return mustRead(tb, "130-mbs-getAllPerms.response.xml") }},
		{"getBuild", func(tb testing.TB) []byte { return mustRead(tb, "075-getBuild-imported.response.xml") }},
		{"listTaggedRPMS-10k", func(tb testing.TB) []byte { return largeResponse(tb, 10000) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			body := bc.body(b)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := DecodeResponse(body); err != nil {
					b.Fatal(err)
				}
			}
		})
		// The same with the encoding/xml reference decoder, for comparison.
		b.Run(bc.name+"/encoding-xml-reference", func(b *testing.B) {
			body := bc.body(b)
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := refDecodeResponse(body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEncodeResponse encodes the 10,000-rpm reply (the fake hub's
// side).
func BenchmarkEncodeResponse(b *testing.B) {
	v, err := DecodeResponse(largeResponse(b, 10000))
	if err != nil {
		b.Fatal(err)
	}
	body, _ := EncodeResponse(v)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeResponse(v); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeCall encodes the captured CGImport call (module metadata
// with buildroots and outputs), the largest request a module build makes.
func BenchmarkEncodeCall(b *testing.B) {
	method, params, err := DecodeCall(mustRead(b, "063-CGImport.request.xml"))
	if err != nil {
		b.Fatal(err)
	}
	body, _ := EncodeCall(method, params...)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeCall(method, params...); err != nil {
			b.Fatal(err)
		}
	}
}
