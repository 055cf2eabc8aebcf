package modulemd

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// parser walks the yaml.Node tree of one document. It records every problem
// instead of stopping at the first one (libmodulemd stops), so a user sees
// all mistakes at once; the verdict (valid or not) is the same.
type parser struct {
	file   string
	doc    int
	strict bool
	// lineOff is added to node lines when the document was parsed from a
	// slice of the file (parallel loading).
	lineOff int
	path    []string
	errs    ErrorList
}

func (p *parser) push(seg string) { p.path = append(p.path, seg) }
func (p *parser) pop()            { p.path = p.path[:len(p.path)-1] }

func (p *parser) fieldPath() string { return strings.Join(p.path, ".") }

// failAt records an error at node n for the current field path.
func (p *parser) failAt(n *yaml.Node, format string, a ...any) {
	p.failPath(n, p.fieldPath(), format, a...)
}

func (p *parser) failPath(n *yaml.Node, field string, format string, a ...any) {
	line, col := 0, 0
	if n != nil {
		line, col = n.Line+p.lineOff, n.Column
	}
	msg := format
	if len(a) > 0 {
		msg = fmt.Sprintf(format, a...)
	}
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Column: col, Document: p.doc, Field: field, Message: msg})
}

// unknownKey reports an unexpected key in strict mode; lenient mode skips
// the key and its value, as libmodulemd does.
func (p *parser) unknownKey(k *yaml.Node, context string) {
	if !p.strict {
		return
	}
	// eachPair has already pushed the key on the field path.
	p.failAt(k, "Unexpected key in %s: %s", context, k.Value)
}

// eachPair calls fn for every key/value pair of a mapping node, with the key
// pushed on the field path. A non-scalar key is an error.
func (p *parser) eachPair(n *yaml.Node, fn func(k, v *yaml.Node)) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.failAt(k, "Mapping key was not a scalar")
			continue
		}
		p.path = append(p.path, k.Value)
		p.checkNUL(k)
		fn(k, v)
		p.path = p.path[:len(p.path)-1]
	}
}

// mapping checks that n is a mapping node, reporting msg otherwise.
func (p *parser) mapping(n *yaml.Node, msg string) bool {
	if n.Kind == yaml.MappingNode {
		return true
	}
	p.failAt(n, "%s", msg)
	return false
}

// str reads a scalar as verbatim text: libmodulemd never applies YAML
// implicit typing, so `1.10`, `~` and `true` are strings.
func (p *parser) str(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		p.failAt(n, "String was not a scalar")
		return ""
	}
	p.checkNUL(n)
	return n.Value
}

// checkNUL rejects strings holding a NUL character (YAML's "\0" escape):
// libmodulemd and every C consumer would silently cut the string there, so
// the metadata would mean different things to different tools.
func (p *parser) checkNUL(n *yaml.Node) {
	if strings.IndexByte(n.Value, 0) >= 0 {
		p.failAt(n, "String contains a NUL character")
	}
}

// boolean accepts exactly "true" and "false".
func (p *parser) boolean(n *yaml.Node) bool {
	if n.Kind != yaml.ScalarNode {
		p.failAt(n, "Boolean value was not a scalar")
		return false
	}
	switch n.Value {
	case "true":
		return true
	case "false":
		return false
	}
	p.failAt(n, "Boolean value was neither \"true\" nor \"false\": %s", n.Value)
	return false
}

// parseUint parses like libmodulemd's g_ascii_strtoull wrapper: base 10,
// optional leading '+', leading zeros allowed, no sign '-'.
func parseUint(s string) (uint64, string) {
	t := strings.TrimLeft(s, " \t\n\v\f\r")
	if strings.HasPrefix(s, "-") || strings.HasPrefix(t, "-") {
		return 0, s + ": The integer value is negative"
	}
	t = strings.TrimPrefix(t, "+")
	if t == "" {
		return 0, s + ": The string is not a valid integer"
	}
	var v uint64
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c < '0' || c > '9' {
			return 0, s + ": The string is not a valid integer"
		}
		d := uint64(c - '0')
		if v > (math.MaxUint64-d)/10 {
			// keep scanning: trailing garbage takes precedence in glib only
			// after the overflow, so report the overflow like libmodulemd.
			return 0, s + ": The integer value is larger than 18446744073709551615"
		}
		v = v*10 + d
	}
	return v, ""
}

// parseInt parses a signed base-10 64-bit integer (buildorder).
func parseInt(s string) (int64, string) {
	t := strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if t != "" && (t[0] == '-' || t[0] == '+') {
		neg = t[0] == '-'
		t = t[1:]
	}
	if t == "" {
		return 0, s + ": The string is not a valid integer"
	}
	for i := 0; i < len(t); i++ {
		if t[i] < '0' || t[i] > '9' {
			return 0, s + ": The string is not a valid integer"
		}
	}
	u, err := strconv.ParseUint(t, 10, 64)
	if err != nil || (!neg && u > math.MaxInt64) {
		if neg {
			return 0, s + ": The integer value is samller than -9223372036854775808"
		}
		return 0, s + ": The integer value is larger than 9223372036854775807"
	}
	if neg {
		if u > 1<<63 {
			return 0, s + ": The integer value is samller than -9223372036854775808"
		}
		return int64(-u), ""
	}
	return int64(u), ""
}

func (p *parser) uint(n *yaml.Node, what string) uint64 {
	if n.Kind != yaml.ScalarNode {
		p.failAt(n, "Failed to parse %s: String was not a scalar", what)
		return 0
	}
	v, msg := parseUint(n.Value)
	if msg != "" {
		p.failAt(n, "Failed to parse %s: %s", what, msg)
	}
	return v
}

func (p *parser) int(n *yaml.Node, what string) int64 {
	if n.Kind != yaml.ScalarNode {
		p.failAt(n, "Failed to parse %s: String was not a scalar", what)
		return 0
	}
	v, msg := parseInt(n.Value)
	if msg != "" {
		p.failAt(n, "Failed to parse %s: %s", what, msg)
	}
	return v
}

// set reads a string set: a sequence of scalars, or a single scalar meaning
// a one-element set (an empty scalar is the empty set, libmodulemd 2.15).
// The result is sorted byte-wise and de-duplicated.
func (p *parser) set(n *yaml.Node) []string {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Value == "" {
			return nil
		}
		p.checkNUL(n)
		return []string{n.Value}
	case yaml.SequenceNode:
		out := make([]string, 0, len(n.Content))
		for _, it := range n.Content {
			if it.Kind != yaml.ScalarNode {
				p.failAt(it, "Unexpected YAML event in list")
				continue
			}
			p.checkNUL(it)
			out = append(out, it.Value)
		}
		return sortSet(out)
	}
	p.failAt(n, "Unexpected YAML event in list")
	return nil
}

// sortSet sorts and de-duplicates in place (strcmp order).
func sortSet(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	if !slices.IsSorted(s) {
		slices.Sort(s)
	}
	return slices.Compact(s)
}

// parseDate reads a YYYY-MM-DD service-level date. Unlike libmodulemd, which
// crashes on impossible dates, it range-checks month and day.
func (p *parser) date(n *yaml.Node) Date {
	s := p.str(n)
	if n.Kind != yaml.ScalarNode {
		return Date{}
	}
	d, ok := parseDate(s)
	if !ok {
		p.failAt(n, "Date not in the form YYYY-MM-DD: %s", s)
	}
	return d
}

func parseDate(s string) (Date, bool) {
	parts := strings.Split(s, "-")
	if len(parts) < 3 {
		return Date{}, false
	}
	// g_ascii_strtoull semantics per part: leading digits, rest ignored.
	num := func(t string) (int, bool) {
		v := 0
		i := 0
		for i < len(t) && t[i] >= '0' && t[i] <= '9' && v < 1e7 {
			v = v*10 + int(t[i]-'0')
			i++
		}
		return v, i > 0
	}
	y, ok1 := num(parts[0])
	m, ok2 := num(parts[1])
	d, ok3 := num(parts[2])
	if !ok1 || !ok2 || !ok3 || y < 1 || y > 9999 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return Date{}, false
	}
	return Date{Year: y, Month: m, Day: d}, true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// parseStamp reads an obsoletes timestamp "YYYY-MM-DDThh:mmZ" into the
// number YYYYMMDDhhmm, as libmodulemd stores it.
func parseStamp(s string) (uint64, bool) {
	if len(s) < 17 {
		return 0, false
	}
	// strptime %Y accepts a variable number of digits; real data always has
	// four, and anything else is rejected here.
	if len(s) != 17 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != 'Z' {
		return 0, false
	}
	var f [5]int
	spans := [5][2]int{{0, 4}, {5, 7}, {8, 10}, {11, 13}, {14, 16}}
	for i, sp := range spans {
		for j := sp[0]; j < sp[1]; j++ {
			c := s[j]
			if c < '0' || c > '9' {
				return 0, false
			}
			f[i] = f[i]*10 + int(c-'0')
		}
	}
	if f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 || f[4] > 59 {
		return 0, false
	}
	return uint64(f[0])*100000000 + uint64(f[1])*1000000 + uint64(f[2])*10000 + uint64(f[3])*100 + uint64(f[4]), true
}

// formatStamp is the inverse of parseStamp.
func formatStamp(v uint64) string {
	return fmt.Sprintf("%04d-%02d-%02dT%02d:%02dZ", v/100000000, v/1000000%100, v/10000%100, v/100%100, v%100)
}

// xmd converts a YAML subtree into the generic xmd tree: mappings become
// map[string]any, sequences []any, the exact scalars TRUE and FALSE bool
// and every other scalar a string.
func (p *parser) xmd(n *yaml.Node) any {
	switch n.Kind {
	case yaml.ScalarNode:
		switch n.Value {
		case "TRUE":
			return true
		case "FALSE":
			return false
		}
		p.checkNUL(n)
		return n.Value
	case yaml.MappingNode:
		m := make(map[string]any, len(n.Content)/2)
		p.eachPair(n, func(k, v *yaml.Node) { m[k.Value] = p.xmd(v) })
		return m
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, it := range n.Content {
			l = append(l, p.xmd(it))
		}
		return l
	}
	p.failAt(n, "Unexpected YAML event in raw parsing: aliases are not supported")
	return nil
}
