package xmlrpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// kojiDir holds real wire captures from a Koji 1.35 hub (see its README
// and INDEX.md), beside the checkout; tests that read it skip without it.
const kojiDir = "../../../shared/testdata/koji"

// capture is one recorded exchange.
type capture struct {
	Name     string
	Request  []byte // nil when there is no .request.xml
	Response []byte // nil when the reply was not XML (HTTP 400, 405)
	Meta     struct {
		Method string `json:"xmlrpc_method"`
		Status int    `json:"status"`
		Result string `json:"result"`
	}
}

// mustCaptures reads every exchange of kojiDir in order.
func mustCaptures(tb testing.TB) []capture {
	tb.Helper()
	metas, err := filepath.Glob(filepath.Join(kojiDir, "*.meta.json"))
	if err != nil {
		tb.Fatal(err)
	}
	if len(metas) == 0 {
		tb.Skipf("Koji wire captures not found at %s (run from a checkout next to ../shared)", kojiDir)
	}
	slices.Sort(metas)
	var cs []capture
	for _, m := range metas {
		c := capture{Name: strings.TrimSuffix(filepath.Base(m), ".meta.json")}
		b, err := os.ReadFile(m)
		if err != nil {
			tb.Fatal(err)
		}
		if err := json.Unmarshal(b, &c.Meta); err != nil {
			tb.Fatalf("%s: %v", m, err)
		}
		base := filepath.Join(kojiDir, c.Name)
		if c.Request, err = os.ReadFile(base + ".request.xml"); err != nil && !os.IsNotExist(err) {
			tb.Fatal(err)
		}
		if c.Response, err = os.ReadFile(base + ".response.xml"); err != nil && !os.IsNotExist(err) {
			tb.Fatal(err)
		}
		cs = append(cs, c)
	}
	if len(cs) < 100 {
		tb.Fatalf("found only %d captures in %s; want the whole run", len(cs), kojiDir)
	}
	return cs
}

// TestCaptures_Requests: every request the Koji client sent decodes, and
// encoding the decoded call again gives the same bytes. The two bodies the
// hub refused with HTTP 400 (truncated, empty) are errors here too.
func TestCaptures_Requests(t *testing.T) {
	n := 0
	for _, c := range mustCaptures(t) {
		if c.Request == nil {
			continue
		}
		n++
		t.Run(c.Name, func(t *testing.T) {
			method, params, err := DecodeCall(c.Request)
			if c.Meta.Status == 400 {
				var de *DecodeError
				if !errors.As(err, &de) {
					t.Fatalf("DecodeCall(body the hub refused with 400) = %q, %v; want a *DecodeError", method, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeCall: %v", err)
			}
			if method != c.Meta.Method {
				t.Errorf("method = %q, want %q", method, c.Meta.Method)
			}
			got, err := EncodeCall(method, params...)
			if err != nil {
				t.Fatalf("EncodeCall: %v", err)
			}
			if !bytes.Equal(got, c.Request) {
				t.Errorf("EncodeCall(DecodeCall(request)) differs from the request (-want +got):\n%s", cmp.Diff(string(c.Request), string(got)))
			}
		})
	}
	if n < 100 {
		t.Errorf("only %d request files", n)
	}
}

// TestCaptures_RequestsWithKwArgs: encoding the positional params and the
// keyword arguments apart (as the koji package will) gives the captured
// bytes too.
func TestCaptures_RequestsWithKwArgs(t *testing.T) {
	withKw := 0
	for _, c := range mustCaptures(t) {
		if c.Request == nil || c.Meta.Status != 200 {
			continue
		}
		method, params, err := DecodeCall(c.Request)
		if err != nil {
			t.Fatalf("%s: DecodeCall: %v", c.Name, err)
		}
		args, kw := SplitKwArgs(params)
		if kw != nil {
			withKw++
		}
		got, err := EncodeCall(method, append(args, kw)...)
		if err != nil {
			t.Fatalf("%s: EncodeCall: %v", c.Name, err)
		}
		if !bytes.Equal(got, c.Request) {
			t.Errorf("%s: EncodeCall(args, KwArgs) differs from the request (-want +got):\n%s", c.Name, cmp.Diff(string(c.Request), string(got)))
		}
	}
	if withKw < 10 {
		t.Errorf("only %d requests with keyword arguments; the split is broken", withKw)
	}
}

// TestCaptures_Responses: every reply decodes to what the capture's
// meta.json "result" says (Python's repr of the value, or FAULT code:
// string), and encoding it again gives the hub's bytes.
func TestCaptures_Responses(t *testing.T) {
	n := 0
	for _, c := range mustCaptures(t) {
		if c.Response == nil {
			continue
		}
		n++
		t.Run(c.Name, func(t *testing.T) {
			v, err := DecodeResponse(c.Response)
			var got string
			var again []byte
			var f *Fault
			switch {
			case errors.As(err, &f):
				got = fmt.Sprintf("FAULT %d: %s", f.Code, f.String)
				again, err = EncodeFault(f.Code, f.String)
			case err != nil:
				t.Fatalf("DecodeResponse: %v", err)
			default:
				got = "OK " + pyRepr(v)
				again, err = EncodeResponse(v)
			}
			if err != nil {
				t.Fatalf("encode again: %v", err)
			}
			want := c.Meta.Result
			if p, ok := strings.CutSuffix(want, "..."); ok && len(got) > len(p) {
				want, got = p, got[:len(p)]
			}
			if got != want {
				t.Errorf("decoded reply = %s\nmeta.json result = %s", got, want)
			}
			if !bytes.Equal(again, c.Response) {
				t.Errorf("encoding the decoded reply differs from the hub's (-want +got):\n%s", cmp.Diff(string(c.Response), string(again)))
			}
		})
	}
	if n < 100 {
		t.Errorf("only %d response files", n)
	}
}

func mustRead(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(kojiDir, name))
	if os.IsNotExist(err) {
		t.Skipf("Koji wire capture %s not found (run from a checkout next to ../shared)", name)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCaptures_Faults checks a representative set of faults field by
// field, and that they are *Fault for errors.As.
func TestCaptures_Faults(t *testing.T) {
	for _, tt := range []struct {
		file string
		want Fault
	}{
		{"097-noSuchMethod.response.xml", Fault{Code: 1000, String: "Invalid method: noSuchMethod"}},                                  // GenericError
		{"005-login-bad-password.response.xml", Fault{Code: 1002, String: "invalid username or password"}},                            // AuthError
		{"028-getTag-stale-callnum.response.xml", Fault{Code: 1008, String: "6 > 5 (session 23)"}},                                    // SequenceError, &gt; in the XML
		{"098-getTag-no-args.response.xml", Fault{Code: 1019, String: "get_tag() missing 1 required positional argument: 'tagInfo'"}}, // ParameterError
		{"068-CGImport-missing-start_time.response.xml", Fault{Code: 1, String: "<class 'KeyError'>: 'start_time'"}},                  // a plain Python exception, &lt;/&gt; in the XML
		{"051-CGRefundBuild-wrong-token.response.xml", Fault{Code: 1000, String: "Token doesn't match build ID 7"}},
	} {
		t.Run(tt.file, func(t *testing.T) {
			v, err := DecodeResponse(mustRead(t, tt.file))
			var f *Fault
			if !errors.As(err, &f) {
				t.Fatalf("DecodeResponse = %v, %v; want a *Fault", v, err)
			}
			if diff := cmp.Diff(&tt.want, f); diff != "" {
				t.Errorf("fault (-want +got):\n%s", diff)
			}
			if v != nil {
				t.Errorf("value = %v with a fault, want nil", v)
			}
			if want := fmt.Sprintf("xmlrpc fault %d: %s", tt.want.Code, tt.want.String); err.Error() != want {
				t.Errorf("Error() = %q, want %q", err.Error(), want)
			}
		})
	}
}

// TestCaptures_NilAndI8: <nil/> and <i8> in a reply and in a request.
func TestCaptures_NilAndI8(t *testing.T) {
	v, err := DecodeResponse(mustRead(t, "100-echo-nil-i8.response.xml"))
	if err != nil {
		t.Fatal(err)
	}
	want := []any{nil, int64(1099511627776), int64(-34359738368), int64(2147483647), "x"}
	if diff := cmp.Diff(want, v); diff != "" {
		t.Errorf("echo reply (-want +got):\n%s", diff)
	}
	method, params, err := DecodeCall(mustRead(t, "099-getBuild-i8-id.request.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]any{int64(1099511627776)}, params); method != "getBuild" || diff != "" {
		t.Errorf("request method = %s, want getBuild; params (-want +got):\n%s", method, diff)
	}
	// login(user, password, opts=None): kwargs struct with <nil/>.
	_, params, err = DecodeCall(mustRead(t, "004-login.request.xml"))
	if err != nil {
		t.Fatal(err)
	}
	args, kw := SplitKwArgs(params)
	if diff := cmp.Diff([]any{"kojiadmin", "kojiadmin"}, args); diff != "" {
		t.Errorf("login args (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(KwArgs{{Name: "opts", Value: nil}}, kw); diff != "" {
		t.Errorf("login kwargs (-want +got):\n%s", diff)
	}
}

// TestCaptures_Struct: member order and typed members of a real reply.
func TestCaptures_Struct(t *testing.T) {
	v, err := DecodeResponse(mustRead(t, "004-login.response.xml"))
	if err != nil {
		t.Fatal(err)
	}
	want := Struct{
		{Name: "session-id", Value: int64(20)},
		{Name: "session-key", Value: "SESSION-KEY-1"},
		{Name: "header-auth", Value: true},
	}
	if diff := cmp.Diff(want, v); diff != "" {
		t.Errorf("login reply (-want +got):\n%s", diff)
	}
	v, err = DecodeResponse(mustRead(t, "124-mbs-getTaskDescendents.response.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Struct{{Name: "15", Value: []any{}}}, v); diff != "" {
		t.Errorf("getTaskDescendents reply (-want +got):\n%s", diff)
	}
}

// TestCaptures_Multicall: the request encodes as Koji's client sends it
// and the reply with mixed results splits into values and faults.
func TestCaptures_Multicall(t *testing.T) {
	req := mustRead(t, "095-multiCall.request.xml")
	got, err := EncodeMulticall([]Call{
		{Method: "getTag", Params: []any{"module-goldmod-master-20261121132552-c0ffee42"}},
		{Method: "getBuild", Params: []any{"no-such-build-1-1", KwArgs{{Name: "strict", Value: true}}}},
		{Method: "packageListAdd", Params: []any{"module-goldmod-master-20261121132552-c0ffee42-build", "goldpkg", "kojiadmin"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, req) {
		t.Errorf("EncodeMulticall differs from the captured request (-want +got):\n%s", cmp.Diff(string(req), string(got)))
	}
	method, params, err := DecodeCall(req)
	if err != nil {
		t.Fatal(err)
	}
	calls, err := MulticallCalls(params)
	if err != nil {
		t.Fatal(err)
	}
	if method != "multiCall" || len(calls) != 3 || calls[1].Method != "getBuild" {
		t.Fatalf("MulticallCalls = %s %+v", method, calls)
	}
	if args, kw := SplitKwArgs(calls[1].Params); len(args) != 1 || len(kw) != 1 || kw[0].Name != "strict" || kw[0].Value != true {
		t.Errorf("getBuild call = %v %v, want 1 arg and strict=true", args, kw)
	}

	resp := mustRead(t, "095-multiCall.response.xml")
	rs, err := DecodeMulticallResponse(resp)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 3 {
		t.Fatalf("%d results, want 3", len(rs))
	}
	if tag, ok := rs[0].Value.(Struct); !ok || rs[0].Err() != nil {
		t.Errorf("result 0 = %+v, want the tag struct", rs[0])
	} else if id, _ := tag.Get("id"); id != int64(11) {
		t.Errorf("tag id = %v, want 11", id)
	}
	f := rs[1].Fault
	if f == nil || f.Code != 1000 || f.String != "No such build: 'no-such-build-1-1'" || len(f.Traceback) != 7 ||
		!strings.HasPrefix(f.Traceback[0], "Traceback (most recent call last):") ||
		f.Traceback[6] != "koji.GenericError: No such build: 'no-such-build-1-1'\n" {
		t.Errorf("result 1 = %+v, want GenericError 1000 with its 7-line traceback", f)
	}
	var fe *Fault
	if !errors.As(rs[1].Err(), &fe) || fe != f || rs[1].Value != nil {
		t.Errorf("result 1 Err() = %v, want the fault", rs[1].Err())
	}
	if rs[2].Fault != nil || rs[2].Value != nil || rs[2].Err() != nil {
		t.Errorf("result 2 = %+v, want a nil value (packageListAdd returns None)", rs[2])
	}
	again, err := EncodeMulticallResponse(rs)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, resp) {
		t.Errorf("EncodeMulticallResponse differs from the hub's reply (-want +got):\n%s", cmp.Diff(string(resp), string(again)))
	}

	rs, err = DecodeMulticallResponse(mustRead(t, "096-system.multicall.response.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].Value != "1.35.3" || rs[1].Fault == nil || rs[1].Fault.Code != 1000 || rs[1].Fault.String != "Invalid method: noSuchMethod" {
		t.Errorf("system.multicall results = %+v", rs)
	}
}

// pyRepr renders a decoded value as Python's repr, the notation of the
// captures' meta.json "result".
func pyRepr(v any) string {
	var b strings.Builder
	writeRepr(&b, v)
	return b.String()
}

func writeRepr(b *strings.Builder, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("None")
	case bool:
		if v {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case int64:
		b.WriteString(strconv.FormatInt(v, 10))
	case float64:
		b.Write(appendPythonFloat(nil, v))
	case string:
		writeStrRepr(b, v)
	case []byte:
		b.WriteString("b")
		writeStrRepr(b, string(v))
	case []any:
		b.WriteByte('[')
		for i, x := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, x)
		}
		b.WriteByte(']')
	case Struct:
		b.WriteByte('{')
		for i, m := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			writeStrRepr(b, m.Name)
			b.WriteString(": ")
			writeRepr(b, m.Value)
		}
		b.WriteByte('}')
	default:
		fmt.Fprintf(b, "%v", v)
	}
}

// writeStrRepr quotes s as Python's str.__repr__ does.
func writeStrRepr(b *strings.Builder, s string) {
	q := byte('\'')
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		q = '"'
	}
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == '\\' || r == rune(q):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0:
			fmt.Fprintf(b, `\x%02x`, r)
		case r == utf8.RuneError || unicode.IsPrint(r):
			b.WriteRune(r)
		case r < 0x10000:
			fmt.Fprintf(b, `\u%04x`, r)
		default:
			fmt.Fprintf(b, `\U%08x`, r)
		}
	}
	b.WriteByte(q)
}
