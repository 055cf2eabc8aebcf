package xmlrpc

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// xmlHeader is the declaration Python's xmlrpc.client.dumps writes for UTF-8.
const xmlHeader = "<?xml version='1.0'?>\n"

// EncodeCall encodes a methodCall as Koji's Python client sends it
// (koji.xmlrpcplus.dumps of koji.encode_args(*args, **kwargs)): params in
// order, and a trailing [KwArgs] as the "__starstar" struct.
func EncodeCall(method string, params ...any) ([]byte, error) {
	if method == "" {
		return nil, errors.New("xmlrpc: encode call: empty method name")
	}
	e := encoder{buf: make([]byte, 0, 256)}
	e.buf = append(e.buf, xmlHeader+"<methodCall>\n<methodName>"...)
	if err := e.text(method); err != nil {
		return nil, fmt.Errorf("xmlrpc: encode call: method name: %w", err)
	}
	e.buf = append(e.buf, "</methodName>\n"...)
	if err := e.params(params); err != nil {
		return nil, fmt.Errorf("xmlrpc: encode %s: %w", method, err)
	}
	e.buf = append(e.buf, "</methodCall>\n"...)
	return e.buf, nil
}

// EncodeResponse encodes a methodResponse carrying v, as the Koji hub
// answers a call. A *Fault (or Fault) as v encodes the fault response
// instead, as [EncodeFault] does.
func EncodeResponse(v any) ([]byte, error) {
	switch f := v.(type) {
	case *Fault:
		if f != nil {
			return EncodeFault(f.Code, f.String)
		}
	case Fault:
		return EncodeFault(f.Code, f.String)
	}
	e := encoder{buf: make([]byte, 0, 256)}
	e.buf = append(e.buf, xmlHeader+"<methodResponse>\n<params>\n<param>\n"...)
	if err := e.value(v); err != nil {
		return nil, fmt.Errorf("xmlrpc: encode response: %w", err)
	}
	e.buf = append(e.buf, "</param>\n</params>\n</methodResponse>\n"...)
	return e.buf, nil
}

// EncodeFault encodes a fault response as the Koji hub sends it: a
// <fault> holding the struct {faultCode, faultString}.
func EncodeFault(code int, msg string) ([]byte, error) {
	e := encoder{buf: make([]byte, 0, 256)}
	e.buf = append(e.buf, xmlHeader+"<methodResponse>\n<fault>\n"...)
	if err := e.fault(&Fault{Code: code, String: msg}); err != nil {
		return nil, fmt.Errorf("xmlrpc: encode fault: %w", err)
	}
	e.buf = append(e.buf, "</fault>\n</methodResponse>\n"...)
	return e.buf, nil
}

// encoder appends Python's xmlrpc.client layout to buf.
type encoder struct {
	buf   []byte
	depth int // arrays and structs open around the value being written
	ptrs  int // pointers followed to reach it
}

// maxPointers bounds the pointers followed while encoding one value.
const maxPointers = 1000

func (e *encoder) params(params []any) error {
	e.buf = append(e.buf, "<params>\n"...)
	for i, p := range params {
		if kw, ok := p.(KwArgs); ok {
			if i != len(params)-1 {
				return fmt.Errorf("param %d: KwArgs must be the last parameter", i)
			}
			if len(kw) == 0 {
				continue // koji.encode_args adds nothing for no kwargs
			}
			p = kwStruct(kw)
		}
		e.buf = append(e.buf, "<param>\n"...)
		if err := e.value(p); err != nil {
			return fmt.Errorf("param %d: %w", i, err)
		}
		e.buf = append(e.buf, "</param>\n"...)
	}
	e.buf = append(e.buf, "</params>\n"...)
	return nil
}

// kwStruct is koji.encode_args: opts['__starstar'] = True.
func kwStruct(kw KwArgs) Struct {
	s := make(Struct, len(kw), len(kw)+1)
	copy(s, kw)
	for i := range s {
		if s[i].Name == starstar {
			s[i].Value = true // Python assigns the existing key in place
			return s
		}
	}
	return append(s, Member{Name: starstar, Value: true})
}

func (e *encoder) value(v any) error {
	switch v := v.(type) {
	case nil:
		e.nil()
	case string:
		return e.string(v)
	case bool:
		e.bool(v)
	case int:
		e.int(int64(v))
	case int64:
		e.int(v)
	case int32:
		e.int(int64(v))
	case float64:
		e.double(v)
	case Struct:
		return e.members(v)
	case []any:
		if err := e.open(); err != nil {
			return err
		}
		e.buf = append(e.buf, "<value><array><data>\n"...)
		for i, x := range v {
			if err := e.value(x); err != nil {
				return fmt.Errorf("element %d: %w", i, err)
			}
		}
		e.buf = append(e.buf, "</data></array></value>\n"...)
		e.depth--
	case []byte:
		e.base64(v)
	case time.Time:
		return e.dateTime(v)
	case *Fault:
		if v == nil {
			e.nil()
			return nil
		}
		return e.fault(v)
	case Fault:
		return e.fault(&v)
	case KwArgs:
		return errors.New("KwArgs is only allowed as the last parameter of a call")
	default:
		return e.reflect(reflect.ValueOf(v))
	}
	return nil
}

// open enters an array or struct, refusing to nest deeper than a Decoder
// with the default limits would read (and stopping reference cycles).
func (e *encoder) open() error {
	if e.depth >= DefaultMaxDepth {
		return fmt.Errorf("arrays and structs nested deeper than %d", DefaultMaxDepth)
	}
	e.depth++
	return nil
}

func (e *encoder) nil() { e.buf = append(e.buf, "<value><nil/></value>"...) }

func (e *encoder) bool(b bool) {
	if b {
		e.buf = append(e.buf, "<value><boolean>1</boolean></value>\n"...)
	} else {
		e.buf = append(e.buf, "<value><boolean>0</boolean></value>\n"...)
	}
}

// int writes <int> in the int32 range and <i8> outside it, as
// koji.xmlrpcplus.ExtendedMarshaller.dump_int does.
func (e *encoder) int(n int64) {
	if n >= math.MinInt32 && n <= math.MaxInt32 {
		e.buf = append(e.buf, "<value><int>"...)
		e.buf = strconv.AppendInt(e.buf, n, 10)
		e.buf = append(e.buf, "</int></value>\n"...)
		return
	}
	e.buf = append(e.buf, "<value><i8>"...)
	e.buf = strconv.AppendInt(e.buf, n, 10)
	e.buf = append(e.buf, "</i8></value>\n"...)
}

func (e *encoder) uint(n uint64) error {
	if n > math.MaxInt64 {
		return fmt.Errorf("integer %d exceeds the XML-RPC i8 range", n)
	}
	e.int(int64(n))
	return nil
}

func (e *encoder) double(f float64) {
	e.buf = append(e.buf, "<value><double>"...)
	e.buf = appendPythonFloat(e.buf, f)
	e.buf = append(e.buf, "</double></value>\n"...)
}

func (e *encoder) string(s string) error {
	e.buf = append(e.buf, "<value><string>"...)
	if err := e.text(s); err != nil {
		return err
	}
	e.buf = append(e.buf, "</string></value>\n"...)
	return nil
}

// base64 writes Python's base64.encodebytes layout: a newline after the
// tag, then lines of at most 76 characters, each ending in a newline.
func (e *encoder) base64(b []byte) {
	e.buf = append(e.buf, "<value><base64>\n"...)
	for len(b) > 0 {
		n := min(len(b), 57) // 57 bytes make 76 characters
		e.buf = base64.StdEncoding.AppendEncode(e.buf, b[:n])
		e.buf = append(e.buf, '\n')
		b = b[n:]
	}
	e.buf = append(e.buf, "</base64></value>\n"...)
}

// dateTimeLayout is Python's "%Y%m%dT%H:%M:%S".
const dateTimeLayout = "20060102T15:04:05"

// dateTime writes t in UTC without a zone, as Python writes a datetime;
// fractions of a second are dropped.
func (e *encoder) dateTime(t time.Time) error {
	t = t.UTC()
	if y := t.Year(); y < 0 || y > 9999 {
		return fmt.Errorf("time %v: year outside 0000-9999", t)
	}
	e.buf = append(e.buf, "<value><dateTime.iso8601>"...)
	e.buf = t.AppendFormat(e.buf, dateTimeLayout)
	e.buf = append(e.buf, "</dateTime.iso8601></value>\n"...)
	return nil
}

func (e *encoder) members(s Struct) error {
	if err := e.open(); err != nil {
		return err
	}
	e.buf = append(e.buf, "<value><struct>\n"...)
	for _, m := range s {
		if err := e.member(m.Name, m.Value); err != nil {
			return err
		}
	}
	e.buf = append(e.buf, "</struct></value>\n"...)
	e.depth--
	return nil
}

func (e *encoder) member(name string, v any) error {
	e.buf = append(e.buf, "<member>\n<name>"...)
	if err := e.text(name); err != nil {
		return fmt.Errorf("member name %q: %w", name, err)
	}
	e.buf = append(e.buf, "</name>\n"...)
	if err := e.value(v); err != nil {
		return fmt.Errorf("member %q: %w", name, err)
	}
	e.buf = append(e.buf, "</member>\n"...)
	return nil
}

// fault writes the fault struct: faultCode, faultString and, when the
// fault has one, the traceback list Koji adds inside a multicall.
func (e *encoder) fault(f *Fault) error {
	s := Struct{{Name: "faultCode", Value: f.Code}, {Name: "faultString", Value: f.String}}
	if f.Traceback != nil {
		tb := make([]any, len(f.Traceback))
		for i, l := range f.Traceback {
			tb[i] = l
		}
		s = append(s, Member{Name: "traceback", Value: tb})
	}
	return e.members(s)
}

// text appends s escaped as Python's xmlrpc.client.escape does (&, <, >),
// plus "&#13;" for a carriage return so that it survives the receiving
// parser's end-of-line handling. Characters XML cannot carry are an error.
func (e *encoder) text(s string) error {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < utf8.RuneSelf {
			var esc string
			switch c {
			case '&':
				esc = "&amp;"
			case '<':
				esc = "&lt;"
			case '>':
				esc = "&gt;"
			default:
				i++
				continue
			}
			e.buf = append(e.buf, s[start:i]...)
			e.buf = append(e.buf, esc...)
			i++
			start = i
			continue
		}
		switch {
		case c == '\t' || c == '\n':
			i++
			continue
		case c == '\r':
			e.buf = append(e.buf, s[start:i]...)
			e.buf = append(e.buf, "&#13;"...)
			i++
			start = i
			continue
		case c < 0x20:
			return fmt.Errorf("character %U at byte %d cannot be carried by XML", rune(c), i)
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return fmt.Errorf("invalid UTF-8 at byte %d", i)
		}
		if r == 0xFFFE || r == 0xFFFF {
			return fmt.Errorf("character %U at byte %d cannot be carried by XML", r, i)
		}
		i += size
	}
	e.buf = append(e.buf, s[start:]...)
	return nil
}

// appendPythonFloat appends repr(f) as Python 3 writes it: the shortest
// digits that read back as f, in positional notation with at least one
// digit after the point ("1.0", "0.0001", "1795267552.590627") when the
// decimal exponent is in [-4, 16), else in exponent notation with a signed
// exponent of at least two digits ("1e-05", "1.5e+16"); "nan", "inf",
// "-inf" for the special values.
func appendPythonFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "nan"...)
	case math.IsInf(f, 1):
		return append(b, "inf"...)
	case math.IsInf(f, -1):
		return append(b, "-inf"...)
	}
	var tmp [32]byte
	s := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64) // [-]d[.ddd]e±dd
	neg := s[0] == '-'
	if neg {
		s = s[1:]
		b = append(b, '-')
	}
	ePos := slices.Index(s, 'e')
	mant, expPart := s[:ePos], s[ePos+1:]
	exp, _ := strconv.Atoi(string(expPart))
	var digs [24]byte
	d := append(digs[:0], mant[0])
	if len(mant) > 2 {
		d = append(d, mant[2:]...)
	}
	decpt := exp + 1 // the value is 0.d1d2... × 10^decpt
	if f == 0 {
		decpt = 1
	}
	switch {
	case decpt <= -4 || decpt > 16:
		b = append(b, d[0])
		if len(d) > 1 {
			b = append(b, '.')
			b = append(b, d[1:]...)
		}
		b = append(b, 'e')
		x := decpt - 1
		if x < 0 {
			b = append(b, '-')
			x = -x
		} else {
			b = append(b, '+')
		}
		if x < 10 {
			b = append(b, '0')
		}
		b = strconv.AppendInt(b, int64(x), 10)
	case decpt <= 0:
		b = append(b, "0."...)
		for range -decpt {
			b = append(b, '0')
		}
		b = append(b, d...)
	case decpt >= len(d):
		b = append(b, d...)
		for range decpt - len(d) {
			b = append(b, '0')
		}
		b = append(b, ".0"...)
	default:
		b = append(b, d[:decpt]...)
		b = append(b, '.')
		b = append(b, d[decpt:]...)
	}
	return b
}

// reflect encodes the Go values the type switch in value does not know.
func (e *encoder) reflect(rv reflect.Value) error {
	switch rv.Kind() {
	case reflect.Invalid:
		e.nil()
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			e.nil()
			return nil
		}
		if e.ptrs >= maxPointers { // a cycle of pointers alone must end too
			return fmt.Errorf("more than %d nested pointers", maxPointers)
		}
		e.ptrs++
		err := e.value(rv.Elem().Interface())
		e.ptrs--
		return err
	case reflect.Bool:
		e.bool(rv.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.int(rv.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return e.uint(rv.Uint())
	case reflect.Float32, reflect.Float64:
		e.double(rv.Float())
	case reflect.String:
		return e.string(rv.String())
	case reflect.Slice:
		if rv.Type().Elem().Kind() == reflect.Uint8 {
			e.base64(rv.Bytes())
			return nil
		}
		return e.array(rv)
	case reflect.Array:
		return e.array(rv)
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return fmt.Errorf("cannot encode %s: struct member names must be strings", rv.Type())
		}
		keys := rv.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		if err := e.open(); err != nil {
			return err
		}
		e.buf = append(e.buf, "<value><struct>\n"...)
		for _, k := range keys {
			if err := e.member(k.String(), rv.MapIndex(k).Interface()); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, "</struct></value>\n"...)
		e.depth--
	case reflect.Struct:
		if err := e.open(); err != nil {
			return err
		}
		e.buf = append(e.buf, "<value><struct>\n"...)
		for _, f := range cachedFields(rv.Type()) {
			fv, ok := fieldByIndex(rv, f.index)
			if !ok || f.omitEmpty && isEmpty(fv) {
				continue
			}
			if err := e.member(f.name, fv.Interface()); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, "</struct></value>\n"...)
		e.depth--
	default:
		return fmt.Errorf("cannot encode a value of type %s", rv.Type())
	}
	return nil
}

func (e *encoder) array(rv reflect.Value) error {
	if err := e.open(); err != nil {
		return err
	}
	e.buf = append(e.buf, "<value><array><data>\n"...)
	for i := range rv.Len() {
		if err := e.value(rv.Index(i).Interface()); err != nil {
			return fmt.Errorf("element %d: %w", i, err)
		}
	}
	e.buf = append(e.buf, "</data></array></value>\n"...)
	e.depth--
	return nil
}
