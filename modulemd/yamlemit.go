package modulemd

import (
	"unicode/utf8"
)

// This file is a port of the parts of libyaml's emitter (emitter.c, 0.2.5)
// that libmodulemd exercises: block and flow collections, the four scalar
// styles it requests, explicit document markers, indent 2 and width 80.
// Byte-identical output depends on reproducing libyaml's choices exactly,
// so the code follows the C structure and names closely.

type scalarStyle uint8

const (
	stylePlain scalarStyle = iota
	styleSingle
	styleDouble
	styleFolded
)

const (
	bestIndent = 2
	bestWidth  = 80
)

type frameKind uint8

const (
	frameBlockMap frameKind = iota
	frameBlockSeq
	frameFlowSeq
	frameFlowMap
)

type frame struct {
	kind      frameKind
	first     bool
	expectKey bool
	// simpleKey records whether the current key was written as a simple
	// key (so the value indicator is ':' on the same line).
	simpleKey bool
	indent    int // indent to restore when the collection ends
}

// yamlEmitter writes YAML the way libyaml does.
type yamlEmitter struct {
	buf        []byte
	column     int
	indent     int
	whitespace bool
	indention  bool
	flowLevel  int
	stack      []frame

	// context of the node being emitted
	mappingContext   bool
	simpleKeyContext bool
}

func newYAMLEmitter(sizeHint int) *yamlEmitter {
	return &yamlEmitter{buf: make([]byte, 0, sizeHint), indent: -1, whitespace: true, indention: true}
}

func (e *yamlEmitter) put(c byte) {
	e.buf = append(e.buf, c)
	e.column++
}

func (e *yamlEmitter) putBreak() {
	e.buf = append(e.buf, '\n')
	e.column = 0
}

// writeStr writes s, counting columns in characters like libyaml.
func (e *yamlEmitter) writeStr(s string) {
	e.buf = append(e.buf, s...)
	e.column += utf8.RuneCountInString(s)
}

func (e *yamlEmitter) writeIndent() {
	indent := e.indent
	if indent < 0 {
		indent = 0
	}
	if !e.indention || e.column > indent || (e.column == indent && !e.whitespace) {
		e.putBreak()
	}
	for e.column < indent {
		e.put(' ')
	}
	e.whitespace = true
	e.indention = true
}

func (e *yamlEmitter) writeIndicator(ind string, needWhitespace, isWhitespace, isIndention bool) {
	if needWhitespace && !e.whitespace {
		e.put(' ')
	}
	e.writeStr(ind)
	e.whitespace = isWhitespace
	e.indention = e.indention && isIndention
}

func (e *yamlEmitter) increaseIndent(flow, indentless bool) {
	if e.indent < 0 {
		if flow {
			e.indent = bestIndent
		} else {
			e.indent = 0
		}
	} else if !indentless {
		e.indent += bestIndent
	}
}

func (e *yamlEmitter) docStart() {
	e.writeIndent()
	e.writeIndicator("---", true, false, false)
}

func (e *yamlEmitter) docEnd() {
	e.writeIndent()
	e.writeIndent()
	e.writeIndicator("...", true, false, false)
	e.writeIndent()
	e.indent = -1
}

// beginNode does what the parent collection writes before a child node.
// simple reports whether a scalar key qualifies as a simple key.
func (e *yamlEmitter) beginNode(simple bool) {
	e.mappingContext = false
	e.simpleKeyContext = false
	if len(e.stack) == 0 {
		return
	}
	f := &e.stack[len(e.stack)-1]
	switch f.kind {
	case frameBlockMap:
		e.mappingContext = true
		if f.expectKey {
			e.writeIndent()
			f.simpleKey = simple
			if simple {
				e.simpleKeyContext = true
			} else {
				e.writeIndicator("?", true, false, true)
			}
		} else if !f.simpleKey {
			e.writeIndent()
			e.writeIndicator(":", true, false, true)
		}
	case frameBlockSeq:
		e.writeIndent()
		e.writeIndicator("-", true, false, true)
	case frameFlowSeq:
		if !f.first {
			e.writeIndicator(",", false, false, false)
		}
		if e.column > bestWidth {
			e.writeIndent()
		}
	case frameFlowMap:
		e.mappingContext = true
		if f.expectKey {
			if !f.first {
				e.writeIndicator(",", false, false, false)
			}
			if e.column > bestWidth {
				e.writeIndent()
			}
			f.simpleKey = simple
			if simple {
				e.simpleKeyContext = true
			} else {
				e.writeIndicator("?", true, false, false)
			}
		} else if !f.simpleKey {
			if e.column > bestWidth {
				e.writeIndent()
			}
			e.writeIndicator(":", true, false, false)
		}
	}
	f.first = false
}

// endNode does what the parent writes after a child node is complete.
func (e *yamlEmitter) endNode() {
	if len(e.stack) == 0 {
		return
	}
	f := &e.stack[len(e.stack)-1]
	if f.kind != frameBlockMap && f.kind != frameFlowMap {
		return
	}
	if f.expectKey && f.simpleKey {
		e.writeIndicator(":", false, false, false)
	}
	f.expectKey = !f.expectKey
}

// mapStart opens a non-empty block mapping (or a flow one inside a flow
// collection). Empty mappings must use emptyMap, as libyaml switches them to
// flow style `{}`.
func (e *yamlEmitter) mapStart() {
	e.beginNode(true)
	if e.flowLevel > 0 {
		e.writeIndicator("{", true, true, false)
		e.stack = append(e.stack, frame{kind: frameFlowMap, first: true, expectKey: true, indent: e.indent})
		e.increaseIndent(true, false)
		e.flowLevel++
		return
	}
	e.stack = append(e.stack, frame{kind: frameBlockMap, first: true, expectKey: true, indent: e.indent})
	e.increaseIndent(false, false)
}

func (e *yamlEmitter) mapEnd() {
	f := e.stack[len(e.stack)-1]
	e.stack = e.stack[:len(e.stack)-1]
	e.indent = f.indent
	if f.kind == frameFlowMap {
		e.flowLevel--
		e.writeIndicator("}", false, false, false)
	}
	e.endNode()
}

// seqStart opens a non-empty sequence, in flow style when flow is set.
func (e *yamlEmitter) seqStart(flow bool) {
	e.beginNode(true)
	if flow || e.flowLevel > 0 {
		e.writeIndicator("[", true, true, false)
		e.stack = append(e.stack, frame{kind: frameFlowSeq, first: true, indent: e.indent})
		e.increaseIndent(true, false)
		e.flowLevel++
		return
	}
	indentless := e.mappingContext && !e.indention
	e.stack = append(e.stack, frame{kind: frameBlockSeq, first: true, indent: e.indent})
	e.increaseIndent(false, indentless)
}

func (e *yamlEmitter) seqEnd() {
	f := e.stack[len(e.stack)-1]
	e.stack = e.stack[:len(e.stack)-1]
	e.indent = f.indent
	if f.kind == frameFlowSeq {
		e.flowLevel--
		e.writeIndicator("]", false, false, false)
	}
	e.endNode()
}

// emptyMap writes `{}` and emptySeq `[]`, as libyaml does for any empty
// collection.
func (e *yamlEmitter) emptyMap() { e.emptyCollection("{", "}") }
func (e *yamlEmitter) emptySeq() { e.emptyCollection("[", "]") }

func (e *yamlEmitter) emptyCollection(open, closing string) {
	e.beginNode(true)
	e.writeIndicator(open, true, true, false)
	e.writeIndicator(closing, false, false, false)
	e.endNode()
}

// scalarAnalysis mirrors libyaml's yaml_scalar_analysis_t.
type scalarAnalysis struct {
	multiline           bool
	flowPlainAllowed    bool
	blockPlainAllowed   bool
	singleQuotedAllowed bool
	blockAllowed        bool
}

func isPrintable(s string, i int) bool {
	c := s[i]
	at := func(k int) byte {
		if i+k < len(s) {
			return s[i+k]
		}
		return 0
	}
	switch {
	case c == 0x0A:
		return true
	case c >= 0x20 && c <= 0x7E:
		return true
	case c == 0xC2:
		return at(1) >= 0xA0
	case c > 0xC2 && c < 0xED:
		return true
	case c == 0xED:
		return at(1) < 0xA0
	case c == 0xEE:
		return true
	case c == 0xEF:
		return !(at(1) == 0xBB && at(2) == 0xBF) && !(at(1) == 0xBF && (at(2) == 0xBE || at(2) == 0xBF))
	}
	return false
}

// breakWidth returns the byte width of a line break at s[i], or 0.
func breakWidth(s string, i int) int {
	switch c := s[i]; {
	case c == '\r' || c == '\n':
		return 1
	case c == 0xC2 && i+1 < len(s) && s[i+1] == 0x85:
		return 2
	case c == 0xE2 && i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0xA8 || s[i+2] == 0xA9):
		return 3
	}
	return 0
}

func isBlankz(s string, i int) bool {
	if i >= len(s) {
		return true
	}
	c := s[i]
	return c == ' ' || c == '\t' || c == 0 || breakWidth(s, i) > 0
}

func charWidth(c byte) int {
	switch {
	case c&0x80 == 0:
		return 1
	case c&0xE0 == 0xC0:
		return 2
	case c&0xF0 == 0xE0:
		return 3
	case c&0xF8 == 0xF0:
		return 4
	}
	return 1
}

// boringFirst and boringRest mark ASCII bytes that cannot make a plain
// scalar need quoting at the first, resp. a later, position. Most values
// (package names, refs, URLs without ": ") consist only of these, and the
// fast path in analyzeScalar skips libyaml's character-by-character
// analysis for them.
var boringFirst, boringRest [256]bool

func init() {
	for c := 0x20; c <= 0x7E; c++ {
		switch c {
		case ',', '?', '[', ']', '{', '}', ':', '#':
		default:
			boringRest[c] = true
		}
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			boringFirst[c] = true
		}
	}
	for _, c := range "_/+=$^;~(<\\" {
		boringFirst[c] = true
	}
}

// boringASCII reports whether s is non-empty printable ASCII that libyaml
// may write plain anywhere: no indicator at the start, no flow indicator,
// no ": " or " #", no leading or trailing space, no line break.
func boringASCII(s string) bool {
	if s == "" || !boringFirst[s[0]] || s[len(s)-1] == ' ' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !boringRest[s[i]] {
			return false
		}
	}
	return true
}

// printableASCII reports whether s consists of bytes 0x20..0x7E only.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7E {
			return false
		}
	}
	return true
}

// analyzeASCII is analyzeScalar for non-empty printable ASCII, where line
// breaks and special characters cannot occur.
func analyzeASCII(s string) scalarAnalysis {
	flowInd, blockInd := false, false
	if len(s) >= 3 && (s[:3] == "---" || s[:3] == "...") {
		flowInd, blockInd = true, true
	}
	followedBlank := func(i int) bool { return i+1 >= len(s) || s[i+1] == ' ' }
	switch s[0] {
	case '#', ',', '[', ']', '{', '}', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
		flowInd, blockInd = true, true
	case '?', ':':
		flowInd = true
		if followedBlank(0) {
			blockInd = true
		}
	case '-':
		if followedBlank(0) {
			flowInd, blockInd = true, true
		}
	}
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case ',', '?', '[', ']', '{', '}':
			flowInd = true
		case ':':
			flowInd = true
			if followedBlank(i) {
				blockInd = true
			}
		case '#':
			if s[i-1] == ' ' {
				flowInd, blockInd = true, true
			}
		}
	}
	a := scalarAnalysis{flowPlainAllowed: true, blockPlainAllowed: true, singleQuotedAllowed: true, blockAllowed: true}
	if s[0] == ' ' || s[len(s)-1] == ' ' {
		a.flowPlainAllowed, a.blockPlainAllowed = false, false
	}
	if s[len(s)-1] == ' ' {
		a.blockAllowed = false
	}
	if flowInd {
		a.flowPlainAllowed = false
	}
	if blockInd {
		a.blockPlainAllowed = false
	}
	return a
}

func analyzeScalar(s string) scalarAnalysis {
	if boringASCII(s) {
		return scalarAnalysis{flowPlainAllowed: true, blockPlainAllowed: true, singleQuotedAllowed: true, blockAllowed: true}
	}
	if s != "" && printableASCII(s) {
		return analyzeASCII(s)
	}
	return analyzeSlow(s)
}

// analyzeSlow is libyaml's yaml_emitter_analyze_scalar, character by
// character.
func analyzeSlow(s string) scalarAnalysis {
	if s == "" {
		return scalarAnalysis{blockPlainAllowed: true, singleQuotedAllowed: true}
	}
	var blockInd, flowInd, lineBreaks, special bool
	var leadingSpace, leadingBreak, trailingSpace, trailingBreak, breakSpace, spaceBreak bool
	var prevSpace, prevBreak bool
	if len(s) >= 3 && (s[:3] == "---" || s[:3] == "...") {
		blockInd, flowInd = true, true
	}
	preceded := true
	followed := isBlankz(s, charWidth(s[0]))
	for i := 0; i < len(s); {
		c := s[i]
		w := charWidth(c)
		if i+w > len(s) {
			w = len(s) - i
		}
		if i == 0 {
			switch c {
			case '#', ',', '[', ']', '{', '}', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
				flowInd, blockInd = true, true
			case '?', ':':
				flowInd = true
				if followed {
					blockInd = true
				}
			case '-':
				if followed {
					flowInd, blockInd = true, true
				}
			}
		} else {
			switch c {
			case ',', '?', '[', ']', '{', '}':
				flowInd = true
			case ':':
				flowInd = true
				if followed {
					blockInd = true
				}
			case '#':
				if preceded {
					flowInd, blockInd = true, true
				}
			}
		}
		if !isPrintable(s, i) {
			special = true
		}
		bw := breakWidth(s, i)
		if bw > 0 {
			lineBreaks = true
		}
		if c == ' ' {
			if i == 0 {
				leadingSpace = true
			}
			if i+w == len(s) {
				trailingSpace = true
			}
			if prevBreak {
				breakSpace = true
			}
			prevSpace, prevBreak = true, false
		} else if bw > 0 {
			if i == 0 {
				leadingBreak = true
			}
			if i+w == len(s) {
				trailingBreak = true
			}
			if prevSpace {
				spaceBreak = true
			}
			prevSpace, prevBreak = false, true
		} else {
			prevSpace, prevBreak = false, false
		}
		preceded = isBlankz(s, i)
		i += w
		if i < len(s) {
			followed = isBlankz(s, i+charWidth(s[i]))
		}
	}
	a := scalarAnalysis{multiline: lineBreaks, flowPlainAllowed: true, blockPlainAllowed: true, singleQuotedAllowed: true, blockAllowed: true}
	if leadingSpace || leadingBreak || trailingSpace || trailingBreak {
		a.flowPlainAllowed, a.blockPlainAllowed = false, false
	}
	if trailingSpace {
		a.blockAllowed = false
	}
	if breakSpace {
		a.flowPlainAllowed, a.blockPlainAllowed, a.singleQuotedAllowed = false, false, false
	}
	if spaceBreak || special {
		a.flowPlainAllowed, a.blockPlainAllowed, a.singleQuotedAllowed, a.blockAllowed = false, false, false, false
	}
	if lineBreaks {
		a.flowPlainAllowed, a.blockPlainAllowed = false, false
	}
	if flowInd {
		a.flowPlainAllowed = false
	}
	if blockInd {
		a.blockPlainAllowed = false
	}
	return a
}

// scalar emits a scalar with the requested style, subject to libyaml's
// checks.
func (e *yamlEmitter) scalar(s string, style scalarStyle) {
	a := analyzeScalar(s)
	// A key is simple when it is single-line and at most 128 bytes.
	simple := !a.multiline && len(s) <= 128
	e.beginNode(simple)
	if e.simpleKeyContext && a.multiline {
		style = styleDouble
	}
	if style == stylePlain {
		if (e.flowLevel > 0 && !a.flowPlainAllowed) || (e.flowLevel == 0 && !a.blockPlainAllowed) {
			style = styleSingle
		}
		if s == "" && (e.flowLevel > 0 || e.simpleKeyContext) {
			style = styleSingle
		}
	}
	if style == styleSingle && !a.singleQuotedAllowed {
		style = styleDouble
	}
	if style == styleFolded && (!a.blockAllowed || e.flowLevel > 0 || e.simpleKeyContext) {
		style = styleDouble
	}
	saved := e.indent
	e.increaseIndent(true, false)
	allowBreaks := !e.simpleKeyContext
	switch style {
	case stylePlain:
		e.writePlain(s, allowBreaks)
	case styleSingle:
		e.writeSingle(s, allowBreaks)
	case styleDouble:
		e.writeDouble(s, allowBreaks)
	case styleFolded:
		e.writeFolded(s)
	}
	e.indent = saved
	e.endNode()
}

func (e *yamlEmitter) writePlain(s string, allowBreaks bool) {
	if !e.whitespace && (len(s) > 0 || e.flowLevel > 0) {
		e.put(' ')
	}
	// Fast path: ASCII without line breaks that cannot reach a folding
	// point (a space while past column 80) is copied as is.
	if e.column+len(s) <= bestWidth && boringASCII(s) {
		e.buf = append(e.buf, s...)
		e.column += len(s)
		e.whitespace = false
		e.indention = false
		return
	}
	if printableASCII(s) {
		// No line breaks and one byte per column: only spaces need care.
		spaces := false
		for i := 0; i < len(s); i++ {
			if s[i] == ' ' {
				if allowBreaks && !spaces && e.column > bestWidth && !(i+1 < len(s) && s[i+1] == ' ') {
					e.writeIndent()
				} else {
					e.buf = append(e.buf, ' ')
					e.column++
				}
				spaces = true
				continue
			}
			e.buf = append(e.buf, s[i])
			e.column++
			spaces = false
		}
		e.whitespace = false
		e.indention = false
		return
	}
	spaces, breaks := false, false
	for i := 0; i < len(s); {
		c := s[i]
		if c == ' ' {
			if allowBreaks && !spaces && e.column > bestWidth && !(i+1 < len(s) && s[i+1] == ' ') {
				e.writeIndent()
			} else {
				e.put(' ')
			}
			spaces = true
			i++
		} else if bw := breakWidth(s, i); bw > 0 {
			if !breaks && c == '\n' {
				e.putBreak()
			}
			i = e.writeBreak(s, i, bw)
			e.indention = true
			breaks = true
		} else {
			if breaks {
				e.writeIndent()
			}
			i = e.writeChar(s, i)
			e.indention = false
			spaces, breaks = false, false
		}
	}
	e.whitespace = false
	e.indention = false
}

// writeChar copies one UTF-8 character and returns the next index.
func (e *yamlEmitter) writeChar(s string, i int) int {
	w := charWidth(s[i])
	if i+w > len(s) {
		w = len(s) - i
	}
	e.buf = append(e.buf, s[i:i+w]...)
	e.column++
	return i + w
}

// writeBreak writes the line break at s[i] (width bw) and returns the next
// index; '\n' becomes the output line break, others are copied.
func (e *yamlEmitter) writeBreak(s string, i, bw int) int {
	if s[i] == '\n' {
		e.putBreak()
	} else {
		e.buf = append(e.buf, s[i:i+bw]...)
		e.column = 0
	}
	return i + bw
}

func (e *yamlEmitter) writeSingle(s string, allowBreaks bool) {
	e.writeIndicator("'", true, false, false)
	spaces, breaks := false, false
	for i := 0; i < len(s); {
		c := s[i]
		if c == ' ' {
			if allowBreaks && !spaces && e.column > bestWidth && i != 0 && i != len(s)-1 && !(i+1 < len(s) && s[i+1] == ' ') {
				e.writeIndent()
			} else {
				e.put(' ')
			}
			spaces = true
			i++
		} else if bw := breakWidth(s, i); bw > 0 {
			if !breaks && c == '\n' {
				e.putBreak()
			}
			i = e.writeBreak(s, i, bw)
			e.indention = true
			breaks = true
		} else {
			if breaks {
				e.writeIndent()
			}
			if c == '\'' {
				e.put('\'')
			}
			i = e.writeChar(s, i)
			e.indention = false
			spaces, breaks = false, false
		}
	}
	if breaks {
		e.writeIndent()
	}
	e.writeIndicator("'", false, false, false)
	e.whitespace = false
	e.indention = false
}

const hexDigits = "0123456789ABCDEF"

func (e *yamlEmitter) writeDouble(s string, allowBreaks bool) {
	e.writeIndicator("\"", true, false, false)
	spaces := false
	for i := 0; i < len(s); {
		c := s[i]
		isBOM := c == 0xEF && i+2 < len(s) && s[i+1] == 0xBB && s[i+2] == 0xBF
		if !isPrintable(s, i) || isBOM || breakWidth(s, i) > 0 || c == '"' || c == '\\' {
			w := charWidth(c)
			var v rune
			switch w {
			case 1:
				v = rune(c & 0x7F)
			case 2:
				v = rune(c & 0x1F)
			case 3:
				v = rune(c & 0x0F)
			case 4:
				v = rune(c & 0x07)
			}
			for k := 1; k < w; k++ {
				if i+k < len(s) {
					v = v<<6 + rune(s[i+k]&0x3F)
				}
			}
			i += w
			e.put('\\')
			switch v {
			case 0x00:
				e.put('0')
			case 0x07:
				e.put('a')
			case 0x08:
				e.put('b')
			case 0x09:
				e.put('t')
			case 0x0A:
				e.put('n')
			case 0x0B:
				e.put('v')
			case 0x0C:
				e.put('f')
			case 0x0D:
				e.put('r')
			case 0x1B:
				e.put('e')
			case 0x22:
				e.put('"')
			case 0x5C:
				e.put('\\')
			case 0x85:
				e.put('N')
			case 0xA0:
				e.put('_')
			case 0x2028:
				e.put('L')
			case 0x2029:
				e.put('P')
			default:
				var n int
				switch {
				case v <= 0xFF:
					e.put('x')
					n = 2
				case v <= 0xFFFF:
					e.put('u')
					n = 4
				default:
					e.put('U')
					n = 8
				}
				for k := (n - 1) * 4; k >= 0; k -= 4 {
					e.put(hexDigits[(v>>uint(k))&0x0F])
				}
			}
			spaces = false
		} else if c == ' ' {
			if allowBreaks && !spaces && e.column > bestWidth && i != 0 && i != len(s)-1 {
				e.writeIndent()
				if i+1 < len(s) && s[i+1] == ' ' {
					e.put('\\')
				}
			} else {
				e.put(' ')
			}
			spaces = true
			i++
		} else {
			i = e.writeChar(s, i)
			spaces = false
		}
	}
	e.writeIndicator("\"", false, false, false)
	e.whitespace = false
	e.indention = false
}

func (e *yamlEmitter) writeBlockScalarHints(s string) {
	if s != "" && (s[0] == ' ' || breakWidth(s, 0) > 0) {
		e.writeIndicator(string(rune('0'+bestIndent)), false, false, false)
	}
	chomp := ""
	if s == "" {
		chomp = "-"
	} else {
		// last character
		j := len(s) - 1
		for j > 0 && s[j]&0xC0 == 0x80 {
			j--
		}
		if breakWidth(s, j) == 0 {
			chomp = "-"
		} else if j == 0 {
			chomp = "+"
		} else {
			k := j - 1
			for k > 0 && s[k]&0xC0 == 0x80 {
				k--
			}
			if breakWidth(s, k) > 0 {
				chomp = "+"
			}
		}
	}
	if chomp != "" {
		e.writeIndicator(chomp, false, false, false)
	}
}

func (e *yamlEmitter) writeFolded(s string) {
	breaks, leadingSpaces := true, true
	e.writeIndicator(">", true, false, false)
	e.writeBlockScalarHints(s)
	e.putBreak()
	e.indention = true
	e.whitespace = true
	for i := 0; i < len(s); {
		c := s[i]
		if bw := breakWidth(s, i); bw > 0 {
			if !breaks && !leadingSpaces && c == '\n' {
				k := i
				for k < len(s) {
					w := breakWidth(s, k)
					if w == 0 {
						break
					}
					k += w
				}
				if !isBlankz(s, k) {
					e.putBreak()
				}
			}
			i = e.writeBreak(s, i, bw)
			e.indention = true
			breaks = true
		} else {
			if breaks {
				e.writeIndent()
				leadingSpaces = c == ' ' || c == '\t'
			}
			// libyaml also folds inside "more indented" lines (those
			// starting with a space), where a reader keeps the line break
			// instead of turning it back into a space, so the text changes
			// on a round trip. rida does not fold those lines.
			if !breaks && !leadingSpaces && c == ' ' && !(i+1 < len(s) && s[i+1] == ' ') && e.column > bestWidth {
				e.writeIndent()
				i++
			} else {
				i = e.writeChar(s, i)
			}
			e.indention = false
			breaks = false
		}
	}
}
