package xmlrpc

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// The default limits of a [Decoder].
const (
	// DefaultMaxDepth is how deeply arrays and structs may nest. Koji's
	// deepest values (CGImport metadata, multicall replies) nest fewer than
	// ten levels.
	DefaultMaxDepth = 64
	// DefaultMaxBytes is the largest input decoded. Koji's biggest replies
	// (listTagged, listTaggedRPMS of a large tag) are tens of megabytes.
	DefaultMaxBytes = 256 << 20
)

// Errors a *DecodeError wraps when the input is beyond a Decoder's limits.
var (
	ErrTooLarge = errors.New("input exceeds the decoder's MaxBytes")
	ErrTooDeep  = errors.New("arrays and structs nest deeper than the decoder's MaxDepth")
)

// Decoder decodes XML-RPC documents within limits. The zero Decoder uses
// the defaults; the package-level functions use a zero Decoder. A Decoder
// may be used concurrently.
type Decoder struct {
	MaxDepth int // nesting of arrays and structs; 0 means DefaultMaxDepth
	MaxBytes int // input size; 0 means DefaultMaxBytes
}

// DecodeResponse decodes a methodResponse with a zero [Decoder].
func DecodeResponse(body []byte) (any, error) {
	var d Decoder
	return d.DecodeResponse(body)
}

// DecodeCall decodes a methodCall with a zero [Decoder].
func DecodeCall(body []byte) (method string, params []any, err error) {
	var d Decoder
	return d.DecodeCall(body)
}

// DecodeResponse decodes a methodResponse. A normal response returns its
// single value (nil, int64, bool, string, float64, time.Time, []byte, []any
// or Struct); a fault response returns a nil value and the *Fault as the
// error; anything malformed returns a *DecodeError.
func (d *Decoder) DecodeResponse(body []byte) (any, error) {
	p, err := d.parser(body)
	if err != nil {
		return nil, err
	}
	if err := p.root("methodResponse"); err != nil {
		return nil, err
	}
	if err := p.element(); err != nil {
		return nil, err
	}
	var (
		v     any
		fault *Fault
	)
	switch {
	case p.isStart("params"):
		at := p.s.at
		vals, err := p.params()
		if err != nil {
			return nil, err
		}
		if len(vals) != 1 {
			return nil, p.s.errAt(at, "methodResponse has %d params, want 1", len(vals))
		}
		v = vals[0]
	case p.isStart("fault"):
		at := p.s.at
		if err := p.start("value"); err != nil {
			return nil, err
		}
		fv, err := p.value()
		if err != nil {
			return nil, err
		}
		if fault, err = faultFrom(fv, false); err != nil {
			return nil, p.s.errAt(at, "<fault>: %v", err)
		}
		if err := p.end("fault"); err != nil {
			return nil, err
		}
	default:
		return nil, p.unexpected("<params> or <fault>")
	}
	if err := p.end("methodResponse"); err != nil {
		return nil, err
	}
	if err := p.eof("methodResponse"); err != nil {
		return nil, err
	}
	if fault != nil {
		return nil, fault
	}
	return v, nil
}

// DecodeCall decodes a methodCall: its method name and its parameters as
// sent (a trailing keyword-argument struct stays in params; see
// [SplitKwArgs]).
func (d *Decoder) DecodeCall(body []byte) (method string, params []any, err error) {
	p, err := d.parser(body)
	if err != nil {
		return "", nil, err
	}
	if err := p.root("methodCall"); err != nil {
		return "", nil, err
	}
	if err := p.start("methodName"); err != nil {
		return "", nil, err
	}
	at := p.s.at
	name, err := p.leaf("methodName")
	if err != nil {
		return "", nil, err
	}
	if len(name) == 0 {
		return "", nil, p.s.errAt(at, "empty <methodName>")
	}
	method = string(name)
	if err := p.element(); err != nil {
		return "", nil, err
	}
	switch {
	case p.isStart("params"):
		if params, err = p.params(); err != nil {
			return "", nil, err
		}
		if err := p.end("methodCall"); err != nil {
			return "", nil, err
		}
	case !p.isEnd("methodCall"):
		return "", nil, p.unexpected("<params>")
	}
	if err := p.eof("methodCall"); err != nil {
		return "", nil, err
	}
	return method, params, nil
}

// faultFrom reads a fault struct: faultCode (an int) and faultString (a
// string), plus the traceback list Koji adds in a multicall when
// withTraceback. Other members are ignored.
func faultFrom(v any, withTraceback bool) (*Fault, error) {
	s, ok := v.(Struct)
	if !ok {
		return nil, fmt.Errorf("fault value is %s, want a struct", typeName(v))
	}
	f := &Fault{}
	code, ok := s.Get("faultCode")
	if !ok {
		return nil, errors.New("fault struct has no faultCode")
	}
	n, ok := code.(int64)
	if !ok || n < math.MinInt || n > math.MaxInt {
		return nil, fmt.Errorf("faultCode is %s, want an int", typeName(code))
	}
	f.Code = int(n)
	str, ok := s.Get("faultString")
	if !ok {
		return nil, errors.New("fault struct has no faultString")
	}
	if f.String, ok = str.(string); !ok {
		return nil, fmt.Errorf("faultString is %s, want a string", typeName(str))
	}
	if tb, ok := s.Get("traceback"); ok && withTraceback {
		lines, ok := tb.([]any)
		if !ok {
			return nil, fmt.Errorf("traceback is %s, want an array of strings", typeName(tb))
		}
		f.Traceback = make([]string, len(lines))
		for i, l := range lines {
			if f.Traceback[i], ok = l.(string); !ok {
				return nil, fmt.Errorf("traceback line %d is %s, want a string", i, typeName(l))
			}
		}
	}
	return f, nil
}

// typeName names the XML-RPC type of a decoded value, for messages.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "nil"
	case int64:
		return "an int"
	case bool:
		return "a boolean"
	case string:
		return "a string"
	case float64:
		return "a double"
	case time.Time:
		return "a dateTime.iso8601"
	case []byte:
		return "a base64"
	case []any:
		return "an array"
	case Struct:
		return "a struct"
	}
	return fmt.Sprintf("%T", v)
}

// parser reads one document from a scanner; element nesting is checked
// here, as every element must be the one the grammar expects next.
type parser struct {
	s        *scanner
	maxDepth int
	depth    int
	vals     []any             // the values of the arrays being read, innermost last
	members  []Member          // likewise for structs
	names    map[string]string // member names seen, to share their strings
}

func (d *Decoder) parser(body []byte) (*parser, error) {
	maxBytes, maxDepth := d.MaxBytes, d.MaxDepth
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	if maxDepth <= 0 {
		maxDepth = DefaultMaxDepth
	}
	if len(body) > maxBytes {
		return nil, &DecodeError{Msg: fmt.Sprintf("input of %d bytes exceeds the limit of %d", len(body), maxBytes), Err: ErrTooLarge}
	}
	return &parser{s: newScanner(body), maxDepth: maxDepth}, nil
}

// errorf reports an error at the start of the current token.
func (p *parser) errorf(format string, args ...any) error {
	return p.s.errAt(p.s.at, format, args...)
}

// element reads the next start or end tag, skipping whitespace; other
// character data there, and the end of the input, are errors.
func (p *parser) element() error {
	for {
		if err := p.s.next(); err != nil {
			return err
		}
		switch p.s.kind {
		case tokText:
			if !isSpace(p.s.text) {
				return p.errorf("unexpected text %q", truncate(bytes.TrimSpace(p.s.text), 40))
			}
			continue
		case tokEOF:
			return p.s.eofErr()
		}
		return nil
	}
}

func (p *parser) isStart(name string) bool {
	return p.s.kind == tokStart && string(p.s.name) == name
}

func (p *parser) isEnd(name string) bool {
	return p.s.kind == tokEnd && string(p.s.name) == name
}

// unexpected reports the current token where want was expected.
func (p *parser) unexpected(want string) error {
	switch p.s.kind {
	case tokStart:
		return p.errorf("unexpected <%s>, want %s", p.s.qname, want)
	case tokEnd:
		return p.errorf("unexpected </%s>, want %s", p.s.qname, want)
	case tokText:
		return p.errorf("unexpected text %q, want %s", truncate(bytes.TrimSpace(p.s.text), 40), want)
	}
	return p.s.eofErr()
}

// root reads up to the document element, which must be name.
func (p *parser) root(name string) error {
	for {
		if err := p.s.next(); err != nil {
			return err
		}
		if p.s.kind == tokText && isSpace(p.s.text) {
			continue
		}
		break
	}
	if p.s.kind == tokEOF {
		return p.errorf("no <%s> element: empty input", name)
	}
	if !p.isStart(name) {
		return p.unexpected("<" + name + ">")
	}
	return nil
}

// eof checks that nothing but whitespace, comments and processing
// instructions follows the document element.
func (p *parser) eof(root string) error {
	for {
		if err := p.s.next(); err != nil {
			return err
		}
		switch p.s.kind {
		case tokEOF:
			return nil
		case tokText:
			if isSpace(p.s.text) {
				continue
			}
		}
		return p.errorf("content after </%s>", root)
	}
}

// start reads the start tag name (element names are compared without
// their prefix, as Python's unmarshaller does: <ex:nil/> is <nil/>).
func (p *parser) start(name string) error {
	if err := p.element(); err != nil {
		return err
	}
	if !p.isStart(name) {
		return p.unexpected("<" + name + ">")
	}
	return nil
}

func (p *parser) end(name string) error {
	if err := p.element(); err != nil {
		return err
	}
	if !p.isEnd(name) {
		return p.unexpected("</" + name + ">")
	}
	return nil
}

// params reads <param><value>…</value></param>… up to </params>.
func (p *parser) params() ([]any, error) {
	base := len(p.vals)
	for {
		if err := p.element(); err != nil {
			return nil, err
		}
		if p.isEnd("params") {
			return p.popVals(base), nil
		}
		if !p.isStart("param") {
			return nil, p.unexpected("<param> or </params>")
		}
		if err := p.start("value"); err != nil {
			return nil, err
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		if err := p.end("param"); err != nil {
			return nil, err
		}
		p.vals = append(p.vals, v)
	}
}

// popVals returns the values read since base as a slice of their own.
func (p *parser) popVals(base int) []any {
	out := make([]any, len(p.vals)-base)
	copy(out, p.vals[base:])
	clear(p.vals[base:])
	p.vals = p.vals[:base]
	return out
}

// leaf reads the character data of a leaf element up to its end tag. The
// result aliases the input or the scanner's buffer: use it before reading
// more text.
func (p *parser) leaf(name string) ([]byte, error) {
	if err := p.s.next(); err != nil {
		return nil, err
	}
	var text []byte
	if p.s.kind == tokText {
		text = p.s.text
		if err := p.s.next(); err != nil {
			return nil, err
		}
	}
	switch p.s.kind {
	case tokEnd:
		if string(p.s.name) != name {
			return nil, p.unexpected("</" + name + ">")
		}
		return text, nil
	case tokStart:
		return nil, p.errorf("unexpected <%s> inside <%s>", p.s.qname, name)
	}
	return nil, p.s.eofErr()
}

// value reads what follows <value> up to </value>: one typed element, or
// text alone (an untyped value is a string).
func (p *parser) value() (any, error) {
	if err := p.s.next(); err != nil {
		return nil, err
	}
	var text []byte
	if p.s.kind == tokText {
		text = p.s.text
		if !isSpace(text) {
			if err := p.s.next(); err != nil {
				return nil, err
			}
			switch {
			case p.isEnd("value"):
				return string(text), nil
			case p.s.kind == tokStart:
				return nil, p.errorf("text %q before <%s> in <value>", truncate(bytes.TrimSpace(text), 40), p.s.qname)
			}
			return nil, p.unexpected("</value>")
		}
		if err := p.s.next(); err != nil {
			return nil, err
		}
	}
	switch p.s.kind {
	case tokEnd:
		if string(p.s.name) != "value" {
			return nil, p.unexpected("</value>")
		}
		return string(text), nil // whitespace alone is a string too
	case tokStart:
		v, err := p.typed()
		if err != nil {
			return nil, err
		}
		if err := p.end("value"); err != nil {
			return nil, err
		}
		return v, nil
	}
	return nil, p.s.eofErr()
}

// typed reads the typed element whose start tag is the current token up
// to its end tag.
func (p *parser) typed() (any, error) {
	at := p.s.at // where a bad value is reported
	qn := p.s.qname
	switch name := string(p.s.name); name {
	case "string":
		s, err := p.leaf(name)
		if err != nil {
			return nil, err
		}
		return string(s), nil
	case "int", "i4", "i8":
		s, err := p.leaf(name)
		if err != nil {
			return nil, err
		}
		v, ok := parseInt(bytes.TrimSpace(s))
		if !ok {
			return nil, p.s.errAt(at, "<%s> %q is not an integer in the i8 range", qn, truncate(s, 40))
		}
		return v, nil
	case "boolean":
		s, err := p.leaf(name)
		if err != nil {
			return nil, err
		}
		switch string(bytes.TrimSpace(s)) {
		case "0":
			return false, nil
		case "1":
			return true, nil
		}
		return nil, p.s.errAt(at, "<boolean> %q is not 0 or 1", truncate(s, 40))
	case "double":
		s, err := p.leaf(name)
		if err != nil {
			return nil, err
		}
		f, err := strconv.ParseFloat(string(bytes.TrimSpace(s)), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) { // Python reads 1e999 as inf
			return nil, p.s.errAt(at, "<double> %q is not a number", truncate(s, 40))
		}
		return f, nil
	case "dateTime.iso8601":
		s, err := p.leaf(name)
		if err != nil {
			return nil, err
		}
		t, ok := parseDateTime(string(bytes.TrimSpace(s)))
		if !ok {
			return nil, p.s.errAt(at, "<dateTime.iso8601> %q is not a time such as 20261121T13:25:52", truncate(s, 40))
		}
		return t, nil
	case "base64":
		s, err := p.leaf(name)
		if err != nil {
			return nil, err
		}
		if bytes.ContainsAny(s, " \t\n\r") { // Python wraps base64 in lines
			s = removeSpace(s)
		}
		b := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
		n, err := base64.StdEncoding.Decode(b, s)
		if err != nil {
			return nil, p.s.errAt(at, "<base64>: %v", err)
		}
		return b[:n], nil
	case "nil":
		if err := p.end(name); err != nil {
			return nil, err
		}
		return nil, nil
	case "array":
		if err := p.enter(); err != nil {
			return nil, err
		}
		if err := p.start("data"); err != nil {
			return nil, err
		}
		base := len(p.vals)
		for {
			if err := p.element(); err != nil {
				return nil, err
			}
			if p.isEnd("data") {
				break
			}
			if !p.isStart("value") {
				return nil, p.unexpected("<value> or </data>")
			}
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			p.vals = append(p.vals, v)
		}
		if err := p.end("array"); err != nil {
			return nil, err
		}
		p.depth--
		return p.popVals(base), nil
	case "struct":
		if err := p.enter(); err != nil {
			return nil, err
		}
		base := len(p.members)
		for {
			if err := p.element(); err != nil {
				return nil, err
			}
			if p.isEnd("struct") {
				break
			}
			if !p.isStart("member") {
				return nil, p.unexpected("<member> or </struct>")
			}
			if err := p.start("name"); err != nil {
				return nil, err
			}
			name, err := p.leaf("name")
			if err != nil {
				return nil, err
			}
			m := Member{Name: p.intern(name)}
			if err := p.start("value"); err != nil {
				return nil, err
			}
			if m.Value, err = p.value(); err != nil {
				return nil, err
			}
			if err := p.end("member"); err != nil {
				return nil, err
			}
			p.members = append(p.members, m)
		}
		p.depth--
		s := make(Struct, len(p.members)-base)
		copy(s, p.members[base:])
		clear(p.members[base:])
		p.members = p.members[:base]
		return s, nil
	}
	return nil, p.s.errAt(at, "unknown type <%s> in <value>", qn)
}

// intern returns b as a string, sharing one string per member name: Koji
// replies repeat the same few dozen names in every record.
func (p *parser) intern(b []byte) string {
	if s, ok := p.names[string(b)]; ok {
		return s
	}
	s := string(b)
	if p.names == nil {
		p.names = make(map[string]string)
	}
	if len(p.names) < 4096 {
		p.names[s] = s
	}
	return s
}

func (p *parser) enter() error {
	if p.depth >= p.maxDepth {
		de := p.s.errAt(p.s.at, "arrays and structs nest deeper than %d", p.maxDepth)
		de.Err = ErrTooDeep
		return de
	}
	p.depth++
	return nil
}

// parseInt reads [+-]digits into an int64, as Python's int() reads an
// XML-RPC integer (without its underscores).
func parseInt(s []byte) (int64, bool) {
	neg := false
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if len(s) == 0 {
		return 0, false
	}
	var n uint64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		if n > (math.MaxUint64-9)/10 {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if neg {
		if n > 1<<63 {
			return 0, false
		}
		return -int64(n), true // -(1<<63) wraps to itself, MinInt64
	}
	if n > math.MaxInt64 {
		return 0, false
	}
	return int64(n), true
}

// dateTimeLayouts are the forms accepted for dateTime.iso8601: Python's,
// with dashes, with a zone; time.Parse also takes fractional seconds.
var dateTimeLayouts = []string{
	dateTimeLayout,
	"20060102T15:04:05Z07:00",
	"2006-01-02T15:04:05",
	"2006-01-02T15:04:05Z07:00",
	"20060102T150405",
	"20060102T150405Z07:00",
}

// parseDateTime reads a dateTime.iso8601 as UTC (a time without a zone is
// taken as UTC). Fractions of a second are dropped, as the encoder drops
// them; a year outside 0000-9999 in UTC is refused, as the encoder cannot
// write it.
func parseDateTime(s string) (time.Time, bool) {
	for _, l := range dateTimeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			t = t.UTC().Truncate(time.Second)
			if y := t.Year(); y < 0 || y > 9999 {
				return time.Time{}, false
			}
			return t, true
		}
	}
	return time.Time{}, false
}

func isSpace(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// removeSpace returns a copy of b without XML whitespace (b may alias
// the input, which is never written).
func removeSpace(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for _, c := range b {
		if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
			out = append(out, c)
		}
	}
	return out
}

// truncate shortens b for an error message.
func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}
