package xmlrpc

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// tokKind is the kind of a scanner token.
type tokKind uint8

const (
	tokEOF   tokKind = iota
	tokStart         // <name ...> or <name .../> (then a tokEnd follows)
	tokEnd           // </name>
	tokText          // character data, entities decoded, CDATA included
)

// scanner tokenizes an XML document held in memory, for XML-RPC: start
// and end tags (attributes are checked and skipped), and character data
// with entities, character references and CDATA sections decoded, line
// ends normalized and comments and processing instructions skipped.
// It checks well-formedness as far as XML-RPC needs: UTF-8, the XML
// character range, tag and attribute syntax, known entities only; DTDs
// are refused and the only encoding is UTF-8. Whether end tags match
// start tags is the parser's business, which always knows the one it
// expects. Names are ASCII ([A-Za-z_:][A-Za-z0-9_:.-]*), which every
// XML-RPC name is; an element name has at most one colon, after its
// prefix, which is dropped (Python's unmarshaller does the same).
//
// Text aliases either the input or buf, and stays valid until the next
// text token; names alias the input.
type scanner struct {
	src []byte
	off int // the next byte to read

	kind  tokKind
	at    int    // offset where the current token starts
	name  []byte // tokStart, tokEnd: the name without its prefix
	qname []byte // tokStart, tokEnd: the name as written
	text  []byte // tokText

	pendingEnd bool // the current tokStart was <name/>
	buf        []byte
	inBuf      bool // text is in buf
	declOK     int  // the offset where an <?xml ...?> declaration may be
}

func newScanner(src []byte) *scanner {
	s := &scanner{src: src}
	if bytes.HasPrefix(src, []byte("\xef\xbb\xbf")) { // a UTF-8 byte order mark
		s.off, s.declOK = 3, 3
	}
	return s
}

// errAt is a *DecodeError at the byte offset off.
func (s *scanner) errAt(off int, format string, args ...any) *DecodeError {
	off = min(off, len(s.src))
	line := 1 + bytes.Count(s.src[:off], []byte{'\n'})
	col := off - bytes.LastIndexByte(s.src[:off], '\n')
	return &DecodeError{Line: line, Column: col, Msg: fmt.Sprintf(format, args...)}
}

func (s *scanner) eofErr() *DecodeError { return s.errAt(len(s.src), "unexpected end of input") }

// next reads the next token into s.
func (s *scanner) next() error {
	if s.pendingEnd {
		s.pendingEnd = false
		s.kind = tokEnd
		s.at = s.off
		return nil
	}
	s.text, s.inBuf = nil, false
	hasText := false
	textAt := s.off
	for {
		if s.off >= len(s.src) {
			if hasText {
				s.kind, s.at = tokText, textAt
				return nil
			}
			s.kind, s.at = tokEOF, s.off
			return nil
		}
		if s.src[s.off] != '<' {
			if err := s.charData(); err != nil {
				return err
			}
			hasText = true
			continue
		}
		rest := s.src[s.off:]
		switch {
		case len(rest) < 2 || rest[1] != '!' && rest[1] != '?':
			// a tag: the common case
		case bytes.HasPrefix(rest, []byte("<!--")):
			if err := s.comment(); err != nil {
				return err
			}
			continue
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			if err := s.cdata(); err != nil {
				return err
			}
			hasText = true
			continue
		case bytes.HasPrefix(rest, []byte("<?")):
			if err := s.procInst(); err != nil {
				return err
			}
			continue
		case bytes.HasPrefix(rest, []byte("<!")):
			d := rest[2:]
			if len(d) > 20 {
				return s.errAt(s.off, "<!%s...> not allowed: DTDs and entity declarations are refused", d[:20])
			}
			return s.errAt(s.off, "<!%s> not allowed: DTDs and entity declarations are refused", d)
		}
		if hasText {
			s.kind, s.at = tokText, textAt
			return nil
		}
		return s.tag()
	}
}

// addText appends a run of text that needed no decoding.
func (s *scanner) addText(b []byte) {
	if s.text == nil && !s.inBuf {
		s.text = b
		if s.text == nil {
			s.text = []byte{}
		}
		return
	}
	s.toBuf()
	s.buf = append(s.buf, b...)
	s.text = s.buf
}

// toBuf moves the text so far into buf, to decode more into it.
func (s *scanner) toBuf() {
	if s.inBuf {
		return
	}
	s.buf = append(s.buf[:0], s.text...)
	s.text, s.inBuf = s.buf, true
}

// charData reads character data up to the next '<' or the end.
func (s *scanner) charData() error {
	src := s.src
	a := s.off
	i := a
	special := false
	for i < len(src) {
		c := src[i]
		if c >= 0x20 && c < utf8.RuneSelf {
			if c == '<' {
				break
			}
			if c == '&' {
				special = true
			} else if c == '>' && i >= a+2 && src[i-1] == ']' && src[i-2] == ']' {
				return s.errAt(i-2, "unescaped ]]> not in CDATA section")
			}
			i++
			continue
		}
		n, err := s.checkChar(i)
		if err != nil {
			return err
		}
		if c == '\r' {
			special = true
		}
		i += n
	}
	s.off = i
	if !special {
		s.addText(src[a:i])
		return nil
	}
	s.toBuf()
	for j := a; j < i; {
		switch src[j] {
		case '&':
			r, n, err := s.reference(j)
			if err != nil {
				return err
			}
			s.buf = utf8.AppendRune(s.buf, r)
			j += n
		case '\r':
			s.buf = append(s.buf, '\n')
			j++
			if j < i && src[j] == '\n' {
				j++
			}
		default:
			k := j + 1
			for k < i && src[k] != '&' && src[k] != '\r' {
				k++
			}
			s.buf = append(s.buf, src[j:k]...)
			j = k
		}
	}
	s.text = s.buf
	return nil
}

// checkChar checks the character at i (not printable ASCII) and returns
// its length: tab, newline, carriage return and the non-ASCII characters
// of XML 1.0, in valid UTF-8.
func (s *scanner) checkChar(i int) (int, error) {
	c := s.src[i]
	if c == '\t' || c == '\n' || c == '\r' {
		return 1, nil
	}
	if c < 0x20 {
		return 0, s.errAt(i, "illegal character code %U", rune(c))
	}
	if c < utf8.RuneSelf {
		return 1, nil
	}
	r, n := utf8.DecodeRune(s.src[i:])
	if r == utf8.RuneError && n == 1 {
		return 0, s.errAt(i, "invalid UTF-8")
	}
	if r == 0xFFFE || r == 0xFFFF {
		return 0, s.errAt(i, "illegal character code %U", r)
	}
	return n, nil
}

// checkChars checks every character of src[a:b].
func (s *scanner) checkChars(a, b int) error {
	for i := a; i < b; {
		if c := s.src[i]; c >= 0x20 && c < utf8.RuneSelf {
			i++
			continue
		}
		n, err := s.checkChar(i)
		if err != nil {
			return err
		}
		i += n
	}
	return nil
}

// reference decodes the entity or character reference at i (at '&') and
// returns its character and length.
func (s *scanner) reference(i int) (rune, int, error) {
	semi := bytes.IndexByte(s.src[i:min(len(s.src), i+16)], ';')
	if semi < 0 {
		end := i + 1
		for end < len(s.src) && end < i+16 && isNameByte(s.src[end]) {
			end++
		}
		return 0, 0, s.errAt(i, "invalid character entity %s (no semicolon)", s.src[i:end])
	}
	ref := s.src[i+1 : i+semi]
	var r rune
	switch string(ref) {
	case "lt":
		r = '<'
	case "gt":
		r = '>'
	case "amp":
		r = '&'
	case "apos":
		r = '\''
	case "quot":
		r = '"'
	default:
		if len(ref) < 2 || ref[0] != '#' {
			return 0, 0, s.errAt(i, "invalid character entity &%s;", ref)
		}
		digits, base := ref[1:], 10
		if digits[0] == 'x' {
			digits, base = digits[1:], 16
		}
		n, err := strconv.ParseUint(string(digits), base, 32)
		if err != nil || len(digits) == 0 || digits[0] == '+' || digits[0] == '-' {
			return 0, 0, s.errAt(i, "invalid character entity &%s;", ref)
		}
		r = rune(n)
		if !isXMLChar(r) {
			return 0, 0, s.errAt(i, "illegal character code %U", r)
		}
	}
	return r, semi + 1, nil
}

// isXMLChar is the Char production of XML 1.0.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

// comment skips <!-- ... -->, in which "--" may only end the comment.
func (s *scanner) comment() error {
	start := s.off
	body := s.off + 4
	k := bytes.Index(s.src[body:], []byte("--"))
	if k < 0 {
		return s.eofErr()
	}
	end := body + k
	if end+2 >= len(s.src) {
		return s.eofErr()
	}
	if s.src[end+2] != '>' {
		return s.errAt(start, `invalid sequence "--" not allowed in comments`)
	}
	if err := s.checkChars(body, end); err != nil {
		return err
	}
	s.off = end + 3
	return nil
}

// cdata adds the content of <![CDATA[ ... ]]> to the text.
func (s *scanner) cdata() error {
	body := s.off + len("<![CDATA[")
	k := bytes.Index(s.src[body:], []byte("]]>"))
	if k < 0 {
		return s.eofErr()
	}
	end := body + k
	if err := s.checkChars(body, end); err != nil {
		return err
	}
	s.toBuf()
	for j := body; j < end; j++ {
		c := s.src[j]
		if c == '\r' {
			s.buf = append(s.buf, '\n')
			if j+1 < end && s.src[j+1] == '\n' {
				j++
			}
			continue
		}
		s.buf = append(s.buf, c)
	}
	s.text = s.buf
	s.off = end + 3
	return nil
}

// procInst skips <?target ...?>. The XML declaration may only open the
// document, and may only declare version 1.0 and encoding UTF-8.
func (s *scanner) procInst() error {
	start := s.off
	n := nameLen(s.src[start+2:])
	if n == 0 {
		return s.errAt(start, "expected a target name after <?")
	}
	target := s.src[start+2 : start+2+n]
	body := start + 2 + n
	k := bytes.Index(s.src[body:], []byte("?>"))
	if k < 0 {
		return s.eofErr()
	}
	end := body + k
	if err := s.checkChars(body, end); err != nil {
		return err
	}
	if body < end && !isSpace(s.src[body:body+1]) {
		return s.errAt(start, "expected a space after <?%s", target)
	}
	s.off = end + 2
	if !bytes.EqualFold(target, []byte("xml")) {
		return nil
	}
	if start != s.declOK || string(target) != "xml" {
		return s.errAt(start, "XML declaration not at the start of the input")
	}
	content := s.src[body:end]
	if v, ok := pseudoAttr(content, "version"); ok && string(v) != "1.0" {
		return s.errAt(start, "XML version %q not supported: only 1.0", v)
	}
	if e, ok := pseudoAttr(content, "encoding"); ok && !bytes.EqualFold(e, []byte("utf-8")) {
		return s.errAt(start, "encoding %q not supported: only UTF-8", e)
	}
	return nil
}

// pseudoAttr finds name="value" (or 'value') in an XML declaration.
func pseudoAttr(content []byte, name string) ([]byte, bool) {
	i := bytes.Index(content, []byte(name))
	if i < 0 {
		return nil, false
	}
	rest := bytes.TrimLeft(content[i+len(name):], " \t\r\n")
	if len(rest) == 0 || rest[0] != '=' {
		return nil, false
	}
	rest = bytes.TrimLeft(rest[1:], " \t\r\n")
	if len(rest) == 0 || rest[0] != '"' && rest[0] != '\'' {
		return nil, false
	}
	end := bytes.IndexByte(rest[1:], rest[0])
	if end < 0 {
		return nil, false
	}
	return rest[1 : 1+end], true
}

// tag reads a start tag (checking and skipping its attributes) or an end
// tag.
func (s *scanner) tag() error {
	src := s.src
	start := s.off
	i := start + 1
	end := i < len(src) && src[i] == '/'
	if end {
		i++
	}
	n := nameLen(src[i:])
	if n == 0 {
		if i >= len(src) {
			return s.eofErr()
		}
		return s.errAt(start, "expected an element name after <")
	}
	s.qname = src[i : i+n]
	s.name = s.qname
	if c := bytes.IndexByte(s.qname, ':'); c >= 0 {
		s.name = s.qname[c+1:]
		if c == 0 || len(s.name) == 0 || bytes.IndexByte(s.name, ':') >= 0 {
			return s.errAt(start, "invalid element name %q", s.qname)
		}
	}
	i += n
	s.at = start
	if end {
		i = skipSpace(src, i)
		if i >= len(src) {
			return s.eofErr()
		}
		if src[i] != '>' {
			return s.errAt(start, "invalid characters between </%s and >", s.qname)
		}
		s.off = i + 1
		s.kind = tokEnd
		return nil
	}
	for {
		j := skipSpace(src, i)
		if j >= len(src) {
			return s.eofErr()
		}
		switch src[j] {
		case '>':
			s.off = j + 1
			s.kind = tokStart
			return nil
		case '/':
			if j+1 >= len(src) {
				return s.eofErr()
			}
			if src[j+1] != '>' {
				return s.errAt(start, "expected /> in element <%s>", s.qname)
			}
			s.off = j + 2
			s.kind = tokStart
			s.pendingEnd = true
			return nil
		}
		if j == i {
			return s.errAt(start, "expected a space before an attribute in element <%s>", s.qname)
		}
		var err error
		if i, err = s.attr(j, start); err != nil {
			return err
		}
	}
}

// attr checks the attribute name="value" at i and returns the offset
// after it.
func (s *scanner) attr(i, tagStart int) (int, error) {
	src := s.src
	n := nameLen(src[i:])
	if n == 0 {
		return 0, s.errAt(tagStart, "expected an attribute name in element <%s>", s.qname)
	}
	i = skipSpace(src, i+n)
	if i >= len(src) {
		return 0, s.eofErr()
	}
	if src[i] != '=' {
		return 0, s.errAt(tagStart, "unquoted or missing attribute value in element <%s>", s.qname)
	}
	i = skipSpace(src, i+1)
	if i >= len(src) {
		return 0, s.eofErr()
	}
	q := src[i]
	if q != '"' && q != '\'' {
		return 0, s.errAt(tagStart, "unquoted or missing attribute value in element <%s>", s.qname)
	}
	k := bytes.IndexByte(src[i+1:], q)
	if k < 0 {
		return 0, s.eofErr()
	}
	end := i + 1 + k
	for j := i + 1; j < end; {
		switch c := src[j]; {
		case c == '<':
			return 0, s.errAt(j, "unescaped < inside an attribute value")
		case c == '&':
			_, m, err := s.reference(j)
			if err != nil {
				return 0, err
			}
			j += m
		case c >= 0x20 && c < utf8.RuneSelf:
			j++
		default:
			m, err := s.checkChar(j)
			if err != nil {
				return 0, err
			}
			j += m
		}
	}
	return end + 1, nil
}

// nameLen is the length of the ASCII XML name at the start of b.
func nameLen(b []byte) int {
	if len(b) == 0 {
		return 0
	}
	if c := b[0]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':') {
		return 0
	}
	n := 1
	for n < len(b) && isNameByte(b[n]) {
		n++
	}
	return n
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == ':' || c == '-' || c == '.'
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
