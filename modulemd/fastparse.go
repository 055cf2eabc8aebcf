package modulemd

import (
	"bytes"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// fastParse builds the yaml.Node tree of one document written in the plain
// block style that libmodulemd, MBS and most people write: block mappings
// and sequences, plain and simply quoted scalars, `>`/`|` block scalars,
// one-line flow sequences and `{}`. go-yaml spends over 90% of a load in
// its scanner; this parser reads such files several times faster.
//
// It is an optimisation only: on anything outside that subset (tabs,
// anchors, tags, escapes, multi-line quoted scalars, complex keys, empty
// values, flow mappings, ...) it returns false and the document is decoded
// by go-yaml instead. Within the subset it must produce exactly the nodes
// go-yaml produces (kind, style, value, line, column); the differential
// tests and FuzzFastParse check this against go-yaml.
func fastParse(src []byte) (*yaml.Node, bool) {
	f := &fastParser{src: src}
	if !f.splitLines() {
		return nil, false
	}
	// Framing: comments/blank lines, optional "---", body, optional "...",
	// comments/blank lines.
	i := 0
	for i < len(f.lines) && (f.lines[i].kind == lineBlank || f.lines[i].kind == lineComment) {
		i++
	}
	if i < len(f.lines) && f.lines[i].kind == lineDocStart {
		i++
	}
	end := len(f.lines)
	for j := i; j < len(f.lines); j++ {
		switch f.lines[j].kind {
		case lineDocStart:
			return nil, false
		case lineDocEnd:
			for k := j + 1; k < len(f.lines); k++ {
				if f.lines[k].kind != lineBlank && f.lines[k].kind != lineComment {
					return nil, false
				}
			}
			end = j
		}
		if end != len(f.lines) {
			break
		}
	}
	f.lines = f.lines[:end]
	f.li = i
	f.skipTrivia()
	if f.li >= len(f.lines) || f.lines[f.li].indent != 0 || f.isSeqLine(f.li) {
		return nil, false
	}
	root, ok := f.mapping(f.li, 0, 0)
	if !ok {
		return nil, false
	}
	f.skipTrivia()
	if f.li != len(f.lines) {
		return nil, false
	}
	return &yaml.Node{Kind: yaml.DocumentNode, Line: root.Line, Column: root.Column, Content: []*yaml.Node{root}}, true
}

type lineKind uint8

const (
	lineContent lineKind = iota
	lineBlank
	lineComment
	lineDocStart
	lineDocEnd
)

type fline struct {
	start, end int // byte offsets, end excludes the newline
	indent     int // leading spaces
	kind       lineKind
}

type fastParser struct {
	src   []byte
	lines []fline
	li    int // current line
}

// splitLines records the lines and rejects bytes the subset does not
// handle: tabs, carriage returns, control characters, invalid UTF-8 and
// the non-characters libyaml refuses.
func (f *fastParser) splitLines() bool {
	src := f.src
	if !utf8.Valid(src) {
		return false
	}
	f.lines = make([]fline, 0, bytes.Count(src, []byte{'\n'})+1)
	for i := 0; i < len(src); {
		nl := bytes.IndexByte(src[i:], '\n')
		end := len(src)
		next := len(src)
		if nl >= 0 {
			end = i + nl
			next = end + 1
		}
		l := fline{start: i, end: end}
		for j := i; j < end; j++ {
			c := src[j]
			if c < 0x20 || c == 0x7F {
				return false
			}
			if c == 0xC2 && j+1 < end && src[j+1] >= 0x80 && src[j+1] <= 0x9F {
				return false // C1 controls, NEL
			}
			if c == 0xEF && j+2 < end && (src[j+1] == 0xBB && src[j+2] == 0xBF || src[j+1] == 0xBF && src[j+2] >= 0xBE) {
				return false // BOM, U+FFFE, U+FFFF
			}
			if c == 0xE2 && j+2 < end && src[j+1] == 0x80 && (src[j+2] == 0xA8 || src[j+2] == 0xA9) {
				return false // Unicode line separators
			}
		}
		k := i
		for k < end && src[k] == ' ' {
			k++
		}
		l.indent = k - i
		switch {
		case k == end:
			l.kind = lineBlank
		case src[k] == '#':
			l.kind = lineComment
		case k == i && end-i >= 3 && (string(src[i:i+3]) == "---" || string(src[i:i+3]) == "..."):
			rest := bytes.TrimRight(src[i+3:end], " ")
			if len(rest) != 0 {
				if rest[0] == ' ' || src[i+3] == ' ' {
					return false // "--- content" or "... #": leave to go-yaml
				}
				l.kind = lineContent // "---x" is ordinary text
			} else if src[i] == '-' {
				l.kind = lineDocStart
			} else {
				l.kind = lineDocEnd
			}
		default:
			l.kind = lineContent
		}
		f.lines = append(f.lines, l)
		i = next
	}
	return true
}

func (f *fastParser) skipTrivia() {
	for f.li < len(f.lines) && (f.lines[f.li].kind == lineBlank || f.lines[f.li].kind == lineComment) {
		f.li++
	}
}

// isSeqLine reports whether line li is a block sequence entry ("- ...").
func (f *fastParser) isSeqLine(li int) bool {
	l := f.lines[li]
	p := l.start + l.indent
	return p < l.end && f.src[p] == '-' && (p+1 == l.end || f.src[p+1] == ' ')
}

func (f *fastParser) node(kind yaml.Kind, li, pos int) *yaml.Node {
	return &yaml.Node{Kind: kind, Line: li + 1, Column: f.col(li, pos)}
}

// col converts a byte offset on line li to a 1-based column in characters.
func (f *fastParser) col(li, pos int) int {
	return utf8.RuneCount(f.src[f.lines[li].start:pos]) + 1
}

// findKey looks for a simple key starting at pos on line li and returns
// the key node and the offset just after the ':' separator.
func (f *fastParser) findKey(li, pos int) (*yaml.Node, int, bool) {
	l := f.lines[li]
	src := f.src
	c := src[pos]
	switch c {
	case '"', '\'':
		val, after, ok := f.quoted(li, pos)
		if !ok || after >= l.end || src[after] != ':' || (after+1 < l.end && src[after+1] != ' ') {
			return nil, 0, false
		}
		n := f.node(yaml.ScalarNode, li, pos)
		n.Value = val
		n.Style = yaml.DoubleQuotedStyle
		if c == '\'' {
			n.Style = yaml.SingleQuotedStyle
		}
		return n, after + 1, true
	}
	if !plainStart(src, pos, l.end) {
		return nil, 0, false
	}
	for j := pos; j < l.end; j++ {
		switch src[j] {
		case ':':
			if j+1 == l.end || src[j+1] == ' ' {
				if src[j-1] == ' ' || j-pos > 1000 {
					return nil, 0, false
				}
				n := f.node(yaml.ScalarNode, li, pos)
				n.Value = string(src[pos:j])
				return n, j + 1, true
			}
		case '#':
			if src[j-1] == ' ' {
				return nil, 0, false
			}
		case ',', '[', ']', '{', '}', '?':
			// allowed in block plain scalars, but rare in keys; stay safe
			return nil, 0, false
		}
	}
	return nil, 0, false
}

// plainStart reports whether a plain scalar may start at pos.
func plainStart(src []byte, pos, end int) bool {
	switch src[pos] {
	case '#', ',', '[', ']', '{', '}', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`', '?', ':':
		return false
	case '-':
		return pos+1 < end && src[pos+1] != ' '
	}
	return true
}

// mapping parses a block mapping whose first key starts at byte pos of line
// li, at column (in bytes from the line start) indent.
func (f *fastParser) mapping(li, pos, indent int) (*yaml.Node, bool) {
	m := f.node(yaml.MappingNode, li, f.lines[li].start+pos)
	m.Content = make([]*yaml.Node, 0, 8)
	first := true
	for {
		if !first {
			f.skipTrivia()
			if f.li >= len(f.lines) {
				return m, true
			}
			l := f.lines[f.li]
			if l.indent < indent {
				return m, true
			}
			if l.indent > indent || f.isSeqLine(f.li) {
				return nil, false
			}
			li, pos = f.li, l.indent
		}
		first = false
		l := f.lines[li]
		k, after, ok := f.findKey(li, l.start+pos)
		if !ok {
			return nil, false
		}
		v, ok := f.value(li, after, indent)
		if !ok {
			return nil, false
		}
		m.Content = append(m.Content, k, v)
	}
}

// value parses what follows "key:" (offset after on line li) in a mapping
// at indent; it leaves f.li on the next unconsumed line.
func (f *fastParser) value(li, after, indent int) (*yaml.Node, bool) {
	l := f.lines[li]
	p := after
	for p < l.end && f.src[p] == ' ' {
		p++
	}
	if p < l.end && f.src[p] != '#' {
		return f.inline(li, p, indent)
	}
	if p < l.end && p == after {
		return nil, false // "key:#" is not a comment
	}
	f.li = li + 1
	f.skipTrivia()
	if f.li >= len(f.lines) {
		return nil, false // empty value
	}
	nl := f.lines[f.li]
	switch {
	case f.isSeqLine(f.li) && nl.indent >= indent:
		return f.sequence(nl.indent)
	case nl.indent > indent:
		return f.mapping(f.li, nl.indent, nl.indent)
	}
	return nil, false // empty value
}

// sequence parses a block sequence whose entries start at column indent.
func (f *fastParser) sequence(indent int) (*yaml.Node, bool) {
	s := f.node(yaml.SequenceNode, f.li, f.lines[f.li].start+indent)
	s.Content = make([]*yaml.Node, 0, 8)
	for {
		f.skipTrivia()
		if f.li >= len(f.lines) {
			return s, true
		}
		l := f.lines[f.li]
		if l.indent < indent || l.indent == indent && !f.isSeqLine(f.li) {
			return s, true
		}
		if l.indent > indent || !f.isSeqLine(f.li) {
			return nil, false
		}
		p := l.start + indent + 1
		for p < l.end && f.src[p] == ' ' {
			p++
		}
		if p == l.end || f.src[p] == '#' || f.src[p] == '-' && (p+1 == l.end || f.src[p+1] == ' ') {
			return nil, false // nested or empty entries: leave to go-yaml
		}
		li := f.li
		if k, _, ok := f.findKey(li, p); ok && k != nil {
			item, ok := f.mapping(li, p-l.start, p-l.start)
			if !ok {
				return nil, false
			}
			s.Content = append(s.Content, item)
			continue
		}
		item, ok := f.inline(li, p, indent)
		if !ok {
			return nil, false
		}
		s.Content = append(s.Content, item)
	}
}

// inline parses a value starting at byte p of line li; parentIndent is the
// indentation of the enclosing block, which continuation lines must exceed.
func (f *fastParser) inline(li, p, parentIndent int) (*yaml.Node, bool) {
	l := f.lines[li]
	src := f.src
	switch src[p] {
	case '"', '\'':
		val, endLi, after, ok := f.quotedMulti(li, p)
		if !ok || !f.restIsTrivia(endLi, after) {
			return nil, false
		}
		n := f.node(yaml.ScalarNode, li, p)
		n.Value = val
		n.Style = yaml.DoubleQuotedStyle
		if src[p] == '\'' {
			n.Style = yaml.SingleQuotedStyle
		}
		f.li = endLi + 1
		return n, true
	case '[':
		return f.flowSeq(li, p)
	case '{':
		q := p + 1
		for q < l.end && src[q] == ' ' {
			q++
		}
		if q >= l.end || src[q] != '}' || !f.restIsTrivia(li, q+1) {
			return nil, false
		}
		n := f.node(yaml.MappingNode, li, p)
		n.Style = yaml.FlowStyle
		f.li = li + 1
		return n, true
	case '>', '|':
		return f.blockScalar(li, p, parentIndent)
	}
	if !plainStart(src, p, l.end) {
		return nil, false
	}
	text, comment, ok := plainText(src[p:l.end])
	if !ok {
		return nil, false
	}
	n := f.node(yaml.ScalarNode, li, p)
	// Continuation lines of a multi-line plain scalar.
	f.li = li + 1
	var buf []byte
	for f.li < len(f.lines) {
		nl := f.lines[f.li]
		if nl.kind != lineContent || nl.indent <= parentIndent {
			break
		}
		if comment {
			return nil, false // a comment ended the scalar; go-yaml reports the error
		}
		cont, c2, ok := plainText(src[nl.start+nl.indent : nl.end])
		if !ok || c2 || !plainStart(src, nl.start+nl.indent, nl.end) || src[nl.start+nl.indent] == '-' {
			return nil, false
		}
		if buf == nil {
			buf = append(buf, text...)
		}
		buf = append(buf, ' ')
		buf = append(buf, cont...)
		f.li++
	}
	if buf != nil {
		// A blank line or comment directly after a continuation would need
		// line-folding rules this parser does not implement.
		if f.li < len(f.lines) && f.lines[f.li].kind == lineBlank {
			j := f.li
			for j < len(f.lines) && f.lines[j].kind == lineBlank {
				j++
			}
			if j < len(f.lines) && f.lines[j].indent > parentIndent {
				return nil, false
			}
		}
		n.Value = string(buf)
	} else {
		if f.li < len(f.lines) && f.lines[f.li].kind == lineBlank {
			j := f.li
			for j < len(f.lines) && f.lines[j].kind == lineBlank {
				j++
			}
			if j < len(f.lines) && f.lines[j].kind == lineContent && f.lines[j].indent > parentIndent {
				return nil, false
			}
		}
		n.Value = string(text)
	}
	return n, true
}

// plainText returns the text of a one-line plain scalar: up to a " #"
// comment, without trailing spaces. Text that would end the scalar early or
// is not a valid plain scalar fails.
func plainText(b []byte) (text []byte, comment, ok bool) {
	end := len(b)
	for j := 0; j < len(b); j++ {
		switch b[j] {
		case ':':
			if j+1 == len(b) || b[j+1] == ' ' {
				return nil, false, false
			}
		case '#':
			if j > 0 && b[j-1] == ' ' {
				end = j
				comment = true
				j = len(b)
			}
		}
	}
	t := bytes.TrimRight(b[:end], " ")
	if len(t) == 0 {
		return nil, false, false
	}
	return t, comment, true
}

// restIsTrivia reports whether line li holds only spaces or a comment from
// byte p on.
func (f *fastParser) restIsTrivia(li, p int) bool {
	l := f.lines[li]
	q := p
	for q < l.end && f.src[q] == ' ' {
		q++
	}
	return q == l.end || f.src[q] == '#' && q > p
}

// quoted reads a one-line quoted scalar starting at p (the quote). Double
// quotes with escapes are left to go-yaml.
func (f *fastParser) quoted(li, p int) (string, int, bool) {
	l := f.lines[li]
	src := f.src
	q := src[p]
	if q == '"' {
		for j := p + 1; j < l.end; j++ {
			switch src[j] {
			case '\\':
				return "", 0, false
			case '"':
				return string(src[p+1 : j]), j + 1, true
			}
		}
		return "", 0, false
	}
	var buf []byte
	start := p + 1
	for j := p + 1; j < l.end; j++ {
		if src[j] != '\'' {
			continue
		}
		if j+1 < l.end && src[j+1] == '\'' {
			buf = append(buf, src[start:j+1]...)
			j++
			start = j + 1
			continue
		}
		if buf == nil {
			return string(src[start:j]), j + 1, true
		}
		buf = append(buf, src[start:j]...)
		return string(buf), j + 1, true
	}
	return "", 0, false
}

// flowSeq reads a one-line flow sequence of plain or quoted scalars.
func (f *fastParser) flowSeq(li, p int) (*yaml.Node, bool) {
	l := f.lines[li]
	src := f.src
	s := f.node(yaml.SequenceNode, li, p)
	s.Style = yaml.FlowStyle
	q := p + 1
	for {
		for q < l.end && src[q] == ' ' {
			q++
		}
		if q >= l.end {
			return nil, false
		}
		if src[q] == ']' && len(s.Content) == 0 {
			break
		}
		var item *yaml.Node
		switch src[q] {
		case '"', '\'':
			val, after, ok := f.quoted(li, q)
			if !ok {
				return nil, false
			}
			item = f.node(yaml.ScalarNode, li, q)
			item.Value = val
			item.Style = yaml.DoubleQuotedStyle
			if src[q] == '\'' {
				item.Style = yaml.SingleQuotedStyle
			}
			q = after
		default:
			if !plainStart(src, q, l.end) {
				return nil, false
			}
			e := q
			for e < l.end && src[e] != ',' && src[e] != ']' {
				switch src[e] {
				case '[', '{', '}', '#', '?', ':', '"', '\'':
					return nil, false
				}
				e++
			}
			t := bytes.TrimRight(src[q:e], " ")
			if len(t) == 0 {
				return nil, false
			}
			item = f.node(yaml.ScalarNode, li, q)
			item.Value = string(t)
			q = e
		}
		s.Content = append(s.Content, item)
		for q < l.end && src[q] == ' ' {
			q++
		}
		if q >= l.end {
			return nil, false
		}
		if src[q] == ']' {
			break
		}
		if src[q] != ',' {
			return nil, false
		}
		q++
	}
	if !f.restIsTrivia(li, q+1) {
		return nil, false
	}
	f.li = li + 1
	return s, true
}

// blockScalar reads a `>`/`|` scalar with clip or strip chomping and an
// automatically detected indentation.
func (f *fastParser) blockScalar(li, p, parentIndent int) (*yaml.Node, bool) {
	l := f.lines[li]
	src := f.src
	folded := src[p] == '>'
	strip := false
	q := p + 1
	if q < l.end && src[q] == '-' {
		strip = true
		q++
	}
	if q < l.end && src[q] != ' ' || !f.restIsTrivia(li, q) {
		return nil, false // '+' chomping, indentation indicators
	}
	n := f.node(yaml.ScalarNode, li, p)
	n.Style = yaml.LiteralStyle
	if folded {
		n.Style = yaml.FoldedStyle
	}
	j := li + 1
	if j >= len(f.lines) || f.lines[j].kind == lineBlank || f.lines[j].indent <= parentIndent {
		return nil, false // empty or leading blank lines
	}
	ind := f.lines[j].indent
	var buf []byte
	pendingBlank := 0
	prevText := false
	lastEnd := 0
	for ; j < len(f.lines); j++ {
		ln := f.lines[j]
		if ln.kind == lineBlank {
			if ln.end-ln.start > ind {
				return nil, false
			}
			pendingBlank++
			continue
		}
		if ln.indent < ind {
			break
		}
		if ln.kind == lineDocStart || ln.kind == lineDocEnd {
			return nil, false
		}
		text := src[ln.start+ind : ln.end]
		if prevText {
			switch {
			case !folded:
				buf = append(buf, '\n')
				for ; pendingBlank > 0; pendingBlank-- {
					buf = append(buf, '\n')
				}
			case ln.indent > ind:
				return nil, false // more-indented lines keep their breaks
			case pendingBlank == 0:
				buf = append(buf, ' ')
			default:
				for ; pendingBlank > 0; pendingBlank-- {
					buf = append(buf, '\n')
				}
			}
		} else if folded && ln.indent > ind {
			return nil, false
		}
		pendingBlank = 0
		buf = append(buf, text...)
		prevText = true
		lastEnd = ln.end
	}
	// Clip keeps the final line break, if the input has one.
	if !strip && lastEnd < len(src) {
		buf = append(buf, '\n')
	}
	n.Value = string(buf)
	f.li = j
	return n, true
}

// quotedMulti reads a quoted scalar that may span lines, with YAML's
// folding (a single line break becomes a space, each empty line a newline,
// surrounding whitespace dropped) and, for double quotes, escapes including
// the escaped line break. It returns the value, the line it ends on and the
// offset after the closing quote.
func (f *fastParser) quotedMulti(li, p int) (string, int, int, bool) {
	src := f.src
	q := src[p]
	var buf []byte
	j := p + 1
	for {
		l := f.lines[li]
		// Scan the current line up to the closing quote or the line end.
		lineStart := len(buf)
		for j < l.end {
			c := src[j]
			switch {
			case c == q && q == '\'' && j+1 < l.end && src[j+1] == '\'':
				buf = append(buf, '\'')
				j += 2
				continue
			case c == q:
				return string(buf), li, j + 1, true
			case c == '\\' && q == '"':
				if j+1 == l.end {
					// Escaped line break: join without a space.
					j++
					goto nextLine
				}
				var ok bool
				buf, j, ok = appendEscape(buf, src, j+1, l.end)
				if !ok {
					return "", 0, 0, false
				}
				lineStart = len(buf) // escaped text is never trimmed
				continue
			}
			buf = append(buf, c)
			j++
		}
		// Unescaped line end: drop trailing spaces, then fold.
		{
			k := len(buf)
			for k > lineStart && buf[k-1] == ' ' {
				k--
			}
			buf = buf[:k]
		}
		{
			empty := 0
			li++
			for li < len(f.lines) && f.lines[li].kind == lineBlank {
				empty++
				li++
			}
			// Quoted scalars ignore indentation (libyaml only refuses document
			// markers inside them).
			if li >= len(f.lines) || f.lines[li].kind == lineDocStart || f.lines[li].kind == lineDocEnd {
				return "", 0, 0, false
			}
			if empty == 0 {
				buf = append(buf, ' ')
			}
			for ; empty > 0; empty-- {
				buf = append(buf, '\n')
			}
			j = f.lines[li].start + f.lines[li].indent
			continue
		}
	nextLine:
		li++
		for li < len(f.lines) && f.lines[li].kind == lineBlank {
			// An escaped break followed by empty lines keeps them as
			// newlines; leave that to go-yaml.
			return "", 0, 0, false
		}
		// Quoted scalars ignore indentation (libyaml only refuses document
		// markers inside them).
		if li >= len(f.lines) || f.lines[li].kind == lineDocStart || f.lines[li].kind == lineDocEnd {
			return "", 0, 0, false
		}
		j = f.lines[li].start + f.lines[li].indent
	}
}

// simpleEscapes maps the one-letter double-quoted escapes to their text.
var simpleEscapes = [256]string{'0': "\x00", 'a': "\a", 'b': "\b", 't': "\t", 'n': "\n", 'v': "\v", 'f': "\f",
	'r': "\r", 'e': "\x1b", ' ': " ", '"': "\"", '/': "/", '\\': "\\", 'N': "\u0085", '_': "\u00a0", 'L': "\u2028", 'P': "\u2029"}

// appendEscape decodes the double-quoted escape whose letter is at src[i].
func appendEscape(buf, src []byte, i, end int) ([]byte, int, bool) {
	if i >= end {
		return buf, i, false
	}
	c := src[i]
	if r := simpleEscapes[c]; r != "" {
		return append(buf, r...), i + 1, true
	}
	n := 0
	switch c {
	case 'x':
		n = 2
	case 'u':
		n = 4
	case 'U':
		n = 8
	default:
		return buf, i, false
	}
	if i+1+n > end {
		return buf, i, false
	}
	var v rune
	for k := i + 1; k <= i+n; k++ {
		h := src[k]
		switch {
		case h >= '0' && h <= '9':
			v = v<<4 | rune(h-'0')
		case h >= 'a' && h <= 'f':
			v = v<<4 | rune(h-'a'+10)
		case h >= 'A' && h <= 'F':
			v = v<<4 | rune(h-'A'+10)
		default:
			return buf, i, false
		}
	}
	if v >= 0xD800 && v <= 0xDFFF || v > 0x10FFFF {
		return buf, i, false
	}
	return utf8.AppendRune(buf, v), i + 1 + n, true
}
