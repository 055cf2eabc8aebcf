package xmlrpc

// The first decoder of this package, on encoding/xml's tokenizer, kept as
// a reference: the fuzz tests check that the scanner-based decoder accepts
// nothing this one refuses, and decodes everything to the same values.

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
)

// refDecodeResponse is DecodeResponse on encoding/xml tokens.
func refDecodeResponse(body []byte) (any, error) {
	var d Decoder
	p, err := d.refParser(body)
	if err != nil {
		return nil, err
	}
	if err := p.root("methodResponse"); err != nil {
		return nil, err
	}
	t, err := p.element()
	if err != nil {
		return nil, err
	}
	var (
		v     any
		fault *Fault
	)
	switch t := t.(type) {
	case xml.StartElement:
		switch t.Name.Local {
		case "params":
			at := p.pos
			vals, err := p.params()
			if err != nil {
				return nil, err
			}
			if len(vals) != 1 {
				return nil, p.errorAt(at, "methodResponse has %d params, want 1", len(vals))
			}
			v = vals[0]
		case "fault":
			at := p.pos
			if err := p.start("value"); err != nil {
				return nil, err
			}
			fv, err := p.value()
			if err != nil {
				return nil, err
			}
			if fault, err = faultFrom(fv, false); err != nil {
				return nil, p.errorAt(at, "<fault>: %v", err)
			}
			if err := p.end("fault"); err != nil {
				return nil, err
			}
		default:
			return nil, p.unexpected(t, "<params> or <fault>")
		}
	default:
		return nil, p.unexpected(t, "<params> or <fault>")
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

// refDecodeCall is DecodeCall on encoding/xml tokens.
func refDecodeCall(body []byte) (method string, params []any, err error) {
	var d Decoder
	p, err := d.refParser(body)
	if err != nil {
		return "", nil, err
	}
	if err := p.root("methodCall"); err != nil {
		return "", nil, err
	}
	if err := p.start("methodName"); err != nil {
		return "", nil, err
	}
	at := p.pos
	name, err := p.leaf("methodName")
	if err != nil {
		return "", nil, err
	}
	if len(name) == 0 {
		return "", nil, p.errorAt(at, "empty <methodName>")
	}
	method = string(name)
	t, err := p.element()
	if err != nil {
		return "", nil, err
	}
	switch t := t.(type) {
	case xml.StartElement:
		if t.Name.Local != "params" {
			return "", nil, p.unexpected(t, "<params>")
		}
		if params, err = p.params(); err != nil {
			return "", nil, err
		}
		if err := p.end("methodCall"); err != nil {
			return "", nil, err
		}
	case xml.EndElement:
		if t.Name.Local != "methodCall" {
			return "", nil, p.unexpected(t, "<params>")
		}
	}
	if err := p.eof("methodCall"); err != nil {
		return "", nil, err
	}
	return method, params, nil
}

// refParser reads one document with encoding/xml's raw tokenizer; element
// nesting is checked here, as every element must be the one the grammar
// expects next.
type refParser struct {
	d        *xml.Decoder
	maxDepth int
	depth    int
	tokens   int    // tokens read; an <?xml ...?> declaration must be the first
	text     []byte // character data of the element being read
	pos      pos    // where the last token read starts
}

// pos is a place in the input: 1-based line and byte column.
type pos struct{ line, col int }

func (d *Decoder) refParser(body []byte) (*refParser, error) {
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
	return &refParser{d: xml.NewDecoder(bytes.NewReader(body)), maxDepth: maxDepth}, nil
}

// errorf reports an error at the start of the last token read.
func (p *refParser) errorf(format string, args ...any) error {
	return p.errorAt(p.pos, format, args...)
}

func (p *refParser) errorAt(at pos, format string, args ...any) error {
	return &DecodeError{Line: at.line, Column: at.col, Msg: fmt.Sprintf(format, args...)}
}

// token returns the next token, skipping comments and processing
// instructions; directives (DTDs) are refused.
func (p *refParser) token() (xml.Token, error) {
	for {
		p.pos.line, p.pos.col = p.d.InputPos()
		t, err := p.d.RawToken()
		if err != nil {
			if err == io.EOF {
				return nil, p.errorf("unexpected end of input")
			}
			// Where the tokenizer stopped.
			line, col := p.d.InputPos()
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return nil, &DecodeError{Line: line, Column: col, Msg: se.Msg, Err: err}
			}
			return nil, &DecodeError{Line: line, Column: col, Msg: err.Error(), Err: err}
		}
		p.tokens++
		switch t := t.(type) {
		case xml.Comment:
			continue
		case xml.ProcInst:
			if t.Target == "xml" && p.tokens > 1 {
				return nil, p.errorf("XML declaration not at the start of the input")
			}
			continue
		case xml.Directive:
			return nil, p.errorf("<!%s> not allowed: DTDs and entity declarations are refused", truncate(t, 20))
		}
		return t, nil
	}
}

// element returns the next start or end tag, skipping whitespace; other
// character data there is an error.
func (p *refParser) element() (xml.Token, error) {
	for {
		t, err := p.token()
		if err != nil {
			return nil, err
		}
		if cd, ok := t.(xml.CharData); ok {
			if !isSpace(cd) {
				return nil, p.errorf("unexpected text %q", truncate(bytes.TrimSpace(cd), 40))
			}
			continue
		}
		return t, nil
	}
}

func (p *refParser) unexpected(t xml.Token, want string) error {
	switch t := t.(type) {
	case xml.StartElement:
		return p.errorf("unexpected <%s>, want %s", refQname(t.Name), want)
	case xml.EndElement:
		return p.errorf("unexpected </%s>, want %s", refQname(t.Name), want)
	}
	return p.errorf("unexpected %T, want %s", t, want)
}

func refQname(n xml.Name) string {
	if n.Space != "" {
		return n.Space + ":" + n.Local
	}
	return n.Local
}

// root reads up to the document element, which must be name.
func (p *refParser) root(name string) error {
	t, err := p.element()
	if err != nil {
		var de *DecodeError
		if errors.As(err, &de) && de.Msg == "unexpected end of input" {
			de.Msg = "no <" + name + "> element: empty input"
		}
		return err
	}
	if se, ok := t.(xml.StartElement); !ok || se.Name.Local != name {
		return p.unexpected(t, "<"+name+">")
	}
	return nil
}

// eof checks that nothing but whitespace, comments and processing
// instructions follows the document element.
func (p *refParser) eof(root string) error {
	for {
		p.pos.line, p.pos.col = p.d.InputPos()
		t, err := p.d.RawToken()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			line, col := p.d.InputPos()
			return &DecodeError{Line: line, Column: col, Msg: fmt.Sprintf("after </%s>: %v", root, err), Err: err}
		}
		switch t := t.(type) {
		case xml.Comment, xml.ProcInst:
			continue
		case xml.CharData:
			if isSpace(t) {
				continue
			}
		}
		return p.errorf("content after </%s>", root)
	}
}

// start reads the start tag name (element names are compared without
// their prefix, as Python's unmarshaller does: <ex:nil/> is <nil/>).
func (p *refParser) start(name string) error {
	t, err := p.element()
	if err != nil {
		return err
	}
	if se, ok := t.(xml.StartElement); !ok || se.Name.Local != name {
		return p.unexpected(t, "<"+name+">")
	}
	return nil
}

func (p *refParser) end(name string) error {
	t, err := p.element()
	if err != nil {
		return err
	}
	if ee, ok := t.(xml.EndElement); !ok || ee.Name.Local != name {
		return p.unexpected(t, "</"+name+">")
	}
	return nil
}

// params reads <param><value>…</value></param>… up to </params>.
func (p *refParser) params() ([]any, error) {
	vals := []any{}
	for {
		t, err := p.element()
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.StartElement:
			if t.Name.Local != "param" {
				return nil, p.unexpected(t, "<param> or </params>")
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
			vals = append(vals, v)
		case xml.EndElement:
			if t.Name.Local != "params" {
				return nil, p.unexpected(t, "<param> or </params>")
			}
			return vals, nil
		}
	}
}

// leaf reads the character data of a leaf element up to its end tag. The
// result aliases p.text: use it before reading on.
func (p *refParser) leaf(name string) ([]byte, error) {
	p.text = p.text[:0]
	for {
		t, err := p.token()
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.CharData:
			p.text = append(p.text, t...)
		case xml.EndElement:
			if t.Name.Local != name {
				return nil, p.unexpected(t, "</"+name+">")
			}
			return p.text, nil
		case xml.StartElement:
			return nil, p.errorf("unexpected <%s> inside <%s>", refQname(t.Name), name)
		}
	}
}

// value reads what follows <value> up to </value>: one typed element, or
// text alone (an untyped value is a string).
func (p *refParser) value() (any, error) {
	p.text = p.text[:0]
	for {
		t, err := p.token()
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.CharData:
			p.text = append(p.text, t...)
		case xml.EndElement:
			if t.Name.Local != "value" {
				return nil, p.unexpected(t, "</value>")
			}
			return string(p.text), nil
		case xml.StartElement:
			if !isSpace(p.text) {
				return nil, p.errorf("text %q before <%s> in <value>", truncate(bytes.TrimSpace(p.text), 40), refQname(t.Name))
			}
			v, err := p.typed(t.Name)
			if err != nil {
				return nil, err
			}
			if err := p.end("value"); err != nil {
				return nil, err
			}
			return v, nil
		}
	}
}

// typed reads the typed element n up to its end tag.
func (p *refParser) typed(n xml.Name) (any, error) {
	at := p.pos // of the start tag: where a bad value is reported
	switch n.Local {
	case "string":
		s, err := p.leaf("string")
		if err != nil {
			return nil, err
		}
		return string(s), nil
	case "int", "i4", "i8":
		s, err := p.leaf(n.Local)
		if err != nil {
			return nil, err
		}
		v, ok := parseInt(bytes.TrimSpace(s))
		if !ok {
			return nil, p.errorAt(at, "<%s> %q is not an integer in the i8 range", refQname(n), truncate(s, 40))
		}
		return v, nil
	case "boolean":
		s, err := p.leaf("boolean")
		if err != nil {
			return nil, err
		}
		switch string(bytes.TrimSpace(s)) {
		case "0":
			return false, nil
		case "1":
			return true, nil
		}
		return nil, p.errorAt(at, "<boolean> %q is not 0 or 1", truncate(s, 40))
	case "double":
		s, err := p.leaf("double")
		if err != nil {
			return nil, err
		}
		f, err := strconv.ParseFloat(string(bytes.TrimSpace(s)), 64)
		if err != nil && !errors.Is(err, strconv.ErrRange) { // Python reads 1e999 as inf
			return nil, p.errorAt(at, "<double> %q is not a number", truncate(s, 40))
		}
		return f, nil
	case "dateTime.iso8601":
		s, err := p.leaf(n.Local)
		if err != nil {
			return nil, err
		}
		t, ok := parseDateTime(string(bytes.TrimSpace(s)))
		if !ok {
			return nil, p.errorAt(at, "<dateTime.iso8601> %q is not a time such as 20261121T13:25:52", truncate(s, 40))
		}
		return t, nil
	case "base64":
		s, err := p.leaf("base64")
		if err != nil {
			return nil, err
		}
		s = removeSpace(s)
		b := make([]byte, base64.StdEncoding.DecodedLen(len(s)))
		m, err := base64.StdEncoding.Decode(b, s)
		if err != nil {
			return nil, p.errorAt(at, "<base64>: %v", err)
		}
		return b[:m], nil
	case "nil":
		if err := p.end(n.Local); err != nil {
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
		vals := []any{}
		for {
			t, err := p.element()
			if err != nil {
				return nil, err
			}
			if se, ok := t.(xml.StartElement); ok && se.Name.Local == "value" {
				v, err := p.value()
				if err != nil {
					return nil, err
				}
				vals = append(vals, v)
				continue
			}
			if ee, ok := t.(xml.EndElement); ok && ee.Name.Local == "data" {
				break
			}
			return nil, p.unexpected(t, "<value> or </data>")
		}
		if err := p.end("array"); err != nil {
			return nil, err
		}
		p.depth--
		return vals, nil
	case "struct":
		if err := p.enter(); err != nil {
			return nil, err
		}
		s := Struct{}
		for {
			t, err := p.element()
			if err != nil {
				return nil, err
			}
			if se, ok := t.(xml.StartElement); ok && se.Name.Local == "member" {
				if err := p.start("name"); err != nil {
					return nil, err
				}
				name, err := p.leaf("name")
				if err != nil {
					return nil, err
				}
				m := Member{Name: string(name)}
				if err := p.start("value"); err != nil {
					return nil, err
				}
				if m.Value, err = p.value(); err != nil {
					return nil, err
				}
				if err := p.end("member"); err != nil {
					return nil, err
				}
				s = append(s, m)
				continue
			}
			if ee, ok := t.(xml.EndElement); ok && ee.Name.Local == "struct" {
				break
			}
			return nil, p.unexpected(t, "<member> or </struct>")
		}
		p.depth--
		return s, nil
	}
	return nil, p.errorAt(at, "unknown type <%s> in <value>", refQname(n))
}

func (p *refParser) enter() error {
	if p.depth >= p.maxDepth {
		return &DecodeError{Line: p.pos.line, Column: p.pos.col, Msg: fmt.Sprintf("arrays and structs nest deeper than %d", p.maxDepth), Err: ErrTooDeep}
	}
	p.depth++
	return nil
}
