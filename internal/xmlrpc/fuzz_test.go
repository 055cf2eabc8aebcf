package xmlrpc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// addCaptureSeeds adds every captured file with the suffix as a seed
// (none when ../shared is absent: the hand-written seeds still run).
func addCaptureSeeds(f *testing.F, suffix string) {
	files, _ := filepath.Glob(filepath.Join(kojiDir, "*"+suffix))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// bom is the UTF-8 byte order mark, which XML allows and encoding/xml
// does not.
var bom = []byte("\xef\xbb\xbf")

// equalValues compares decoded values: NaN equals NaN, a nil slice an
// empty one (a call without <params> re-encodes with an empty one).
var equalValues = cmp.Options{cmpopts.EquateNaNs(), cmpopts.EquateEmpty()}

// FuzzDecodeResponse: decoding never panics, fails only with *DecodeError
// or *Fault, and whatever decodes encodes again to the same value (and the
// encoding is a fixed point).
func FuzzDecodeResponse(f *testing.F) {
	addCaptureSeeds(f, ".response.xml")
	for _, s := range []string{
		"",
		"<methodResponse><params><param><value><ex:nil/></value></param></params></methodResponse>",
		"<methodResponse><params><param><value>untyped &amp; text</value></param></params></methodResponse>",
		"<methodResponse><params><param><value><array><data><value><i4>1</i4></value><value><ex:i8>-34359738368</ex:i8></value><value><double>-1.5e-07</double></value><value><dateTime.iso8601>20261121T13:25:52</dateTime.iso8601></value><value><base64>aGVs\nbG8=</base64></value></data></array></value></param></params></methodResponse>",
		"<methodResponse><params><param><value><struct><member><name>a</name><value><struct><member><name>b</name><value><array><data/></array></value></member></struct></value></member></struct></value></param></params></methodResponse>",
		"<methodResponse><fault><value><struct><member><name>faultCode</name><value><int>1000</int></value></member><member><name>faultString</name><value><string>x&#13;y</string></value></member></struct></value></fault></methodResponse>",
		"<methodResponse><params><param><value><string><![CDATA[<x>]]></string></value></param></params></methodResponse>",
		"<!DOCTYPE x><methodResponse/>",
		"\xef\xbb\xbf<?xml version='1.0' encoding='utf-8'?><!-- c --><x:methodResponse xmlns:x='u'><?pi d?><params ><param><value a=\"&amp;\" b='&#60;'><string>&#65;&#x263a;&lt;&gt;&amp;&apos;&quot;<![CDATA[<&>]]>\r\n</string></value></param></params></x:methodResponse>",
		"<methodResponse><params><param><value>]]&gt;<!----></value></param></params></methodResponse>",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		orig := bytes.Clone(body)
		v, err := DecodeResponse(body)
		if !bytes.Equal(body, orig) {
			t.Fatalf("DecodeResponse wrote to its input")
		}
		// The reference decoder on encoding/xml accepts whatever this one
		// accepts, with the same result.
		if err == nil || errors.As(err, new(*Fault)) {
			refV, refErr := refDecodeResponse(bytes.TrimPrefix(body, bom)) // encoding/xml refuses a BOM
			if fmt.Sprint(err) != fmt.Sprint(refErr) {
				t.Fatalf("DecodeResponse error %v, encoding/xml reference error %v", err, refErr)
			}
			if diff := cmp.Diff(v, refV, equalValues); diff != "" {
				t.Fatalf("DecodeResponse and the encoding/xml reference differ (-scanner +reference):\n%s", diff)
			}
		}
		var fault *Fault
		if errors.As(err, &fault) {
			enc, err := EncodeFault(fault.Code, fault.String)
			if err != nil {
				t.Fatalf("decoded fault %#v does not encode: %v", fault, err)
			}
			_, err = DecodeResponse(enc)
			var again *Fault
			if !errors.As(err, &again) || again.Code != fault.Code || again.String != fault.String {
				t.Fatalf("fault %#v encodes to\n%s\nwhich decodes to %v", fault, enc, err)
			}
			return
		}
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v (%T) is not a *DecodeError", err, err)
			}
			return
		}
		enc, err := EncodeResponse(v)
		if err != nil {
			t.Fatalf("decoded value %#v does not encode: %v", v, err)
		}
		back, err := DecodeResponse(enc)
		if err != nil {
			t.Fatalf("encoding of the decoded value does not decode: %v\n%s", err, enc)
		}
		if diff := cmp.Diff(v, back, equalValues); diff != "" {
			t.Fatalf("decode(encode(v)) != v (-v +back):\n%s", diff)
		}
		if enc2, err := EncodeResponse(back); err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding is not a fixed point: %v\n%s\n%s", err, enc, enc2)
		}
		if rs, err := MulticallResults(v); err == nil {
			if _, err := EncodeMulticallResponse(rs); err != nil {
				t.Fatalf("multicall results %#v do not encode: %v", rs, err)
			}
		}
	})
}

// FuzzDecodeCall: the same for calls; a decoded call also goes through
// SplitKwArgs and MulticallCalls without panicking.
func FuzzDecodeCall(f *testing.F) {
	addCaptureSeeds(f, ".request.xml")
	for _, s := range []string{
		"",
		"<methodCall><methodName>hello</methodName></methodCall>",
		"<methodCall><methodName>getTag</methodName><params><param><value>f40</value></param><param><value><struct><member><name>strict</name><value><boolean>1</boolean></value></member><member><name>__starstar</name><value><boolean>1</boolean></value></member></struct></value></param></params></methodCall>",
		"<methodCall><methodName>multiCall</methodName><params><param><value><array><data><value><struct><member><name>methodName</name><value>a</value></member><member><name>params</name><value><array><data/></array></value></member></struct></value></data></array></value></param></params></methodCall>",
		"<methodCall><methodName>a&amp;b&#13;</methodName><params/></methodCall>",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		orig := bytes.Clone(body)
		method, params, err := DecodeCall(body)
		if !bytes.Equal(body, orig) {
			t.Fatalf("DecodeCall wrote to its input")
		}
		if err == nil {
			refMethod, refParams, refErr := refDecodeCall(bytes.TrimPrefix(body, bom))
			if refErr != nil {
				t.Fatalf("DecodeCall accepts what the encoding/xml reference refuses: %v", refErr)
			}
			if refMethod != method {
				t.Fatalf("method %q, reference %q", method, refMethod)
			}
			if diff := cmp.Diff(params, refParams, equalValues); diff != "" {
				t.Fatalf("DecodeCall and the encoding/xml reference differ (-scanner +reference):\n%s", diff)
			}
		}
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v (%T) is not a *DecodeError", err, err)
			}
			return
		}
		SplitKwArgs(params)
		if calls, err := MulticallCalls(params); err == nil {
			if _, err := EncodeMulticall(calls); err != nil {
				t.Fatalf("multicall %#v does not encode: %v", calls, err)
			}
		}
		enc, err := EncodeCall(method, params...)
		if err != nil {
			t.Fatalf("decoded call %q %#v does not encode: %v", method, params, err)
		}
		m2, p2, err := DecodeCall(enc)
		if err != nil {
			t.Fatalf("encoding of the decoded call does not decode: %v\n%s", err, enc)
		}
		if m2 != method {
			t.Fatalf("method %q came back as %q", method, m2)
		}
		if diff := cmp.Diff(params, p2, equalValues); diff != "" {
			t.Fatalf("decode(encode(params)) != params (-params +back):\n%s", diff)
		}
		if enc2, err := EncodeCall(m2, p2...); err != nil || !bytes.Equal(enc, enc2) {
			t.Fatalf("encoding is not a fixed point: %v\n%s\n%s", err, enc, enc2)
		}
	})
}
