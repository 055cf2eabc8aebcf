package expand

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// provide is one "module(name:stream) = evr" a solvable provides.
type provide struct {
	ns  string // name:stream
	evr string
}

// depOp is the relation of a versioned dependency.
type depOp int

const (
	opNone depOp = iota // module(n:s), any version
	opEQ                // module(n:s) = v
	opGE                // module(n:s) >= v
)

// streamDep is one "module(name:stream) [op evr]" alternative of a
// dependency on name.
type streamDep struct {
	stream string
	op     depOp
	evr    string
}

// poolBuilder turns candidates into a Problem with MBS's MMDResolver rules.
type poolBuilder struct {
	baseNames []string
	suffixes  []StreamSuffix
	cands     []Candidate
	provides  [][]provide
	byName    map[string][]int
}

func newPoolBuilder(cands []Candidate, baseNames []string, suffixes []StreamSuffix) *poolBuilder {
	b := &poolBuilder{baseNames: baseNames, suffixes: suffixes, cands: cands, byName: map[string][]int{}}
	for i, c := range cands {
		b.byName[c.Name] = append(b.byName[c.Name], i)
		b.provides = append(b.provides, b.providesOf(c))
	}
	return b
}

// providesOf is _add_base_module_provides plus "module(n:s) = v": a base
// module with a stream version provides its stream (and each virtual
// stream) at the unpadded stream version, e.g. module(platform:f28) = 28.0;
// anything else provides module(n:s) = version.
func (b *poolBuilder) providesOf(c Candidate) []provide {
	var out []provide
	baseStreamVer := false
	if slices.Contains(b.baseNames, c.Name) {
		sv, ok := StreamVersion(c.Stream, false, b.suffixes)
		ok = ok && sv != 0 // Python: "if stream_version:" is false for 0.0
		if ok {
			baseStreamVer = true
			out = append(out, provide{c.Name + ":" + c.Stream, PyFloatRepr(sv)})
		}
		ver := strconv.FormatUint(c.Version, 10)
		if ok {
			ver = PyFloatRepr(sv)
		}
		for _, vs := range c.VirtualStreams {
			out = append(out, provide{c.Name + ":" + vs, ver})
		}
	}
	if !baseStreamVer {
		out = append(out, provide{c.Name + ":" + c.Stream, strconv.FormatUint(c.Version, 10)})
	}
	return out
}

// deps is _deps2reqs for one dependency block: per name (sorted), the
// stream alternatives. A base module stream in x.y.z form is versioned:
// exactly (= for the module being built) or at least (>= for candidates)
// the stream version of overrides[name] when set (the stream the candidate
// was built against), else of the stream itself.
func (b *poolBuilder) deps(block map[string][]string, overrides map[string]string, exact bool) ([]string, [][]streamDep) {
	names := make([]string, 0, len(block))
	for n := range block {
		names = append(names, n)
	}
	slices.Sort(names)
	out := make([][]streamDep, len(names))
	for i, n := range names {
		base := slices.Contains(b.baseNames, n)
		for _, s := range block[n] {
			d := streamDep{stream: s}
			if base {
				forVersion := s
				if o, ok := overrides[n]; ok {
					forVersion = o
				}
				if sv, ok := StreamVersion(forVersion, false, b.suffixes); ok && len(PyFloatRepr(sv)) >= 5 {
					d.op, d.evr = opGE, PyFloatRepr(sv)
					if exact {
						d.op = opEQ
					}
				}
			}
			out[i] = append(out[i], d)
		}
	}
	return names, out
}

// term resolves the dependency on name with the stream alternatives (none
// meaning any stream) to its providers, in pool order, and its libsolv
// spelling.
func (b *poolBuilder) term(name string, alts []streamDep) Term {
	t := Term{Dep: depString(name, alts)}
	for _, i := range b.byName[name] {
		if len(alts) == 0 || slices.ContainsFunc(alts, func(d streamDep) bool { return b.satisfies(i, name, d) }) {
			t.Providers = append(t.Providers, i)
		}
	}
	return t
}

func (b *poolBuilder) satisfies(i int, name string, d streamDep) bool {
	ns := name + ":" + d.stream
	for _, p := range b.provides[i] {
		if p.ns != ns {
			continue
		}
		switch d.op {
		case opNone:
			return true
		case opEQ:
			if rpmvercmp(p.evr, d.evr) == 0 {
				return true
			}
		case opGE:
			if rpmvercmp(p.evr, d.evr) >= 0 {
				return true
			}
		}
	}
	return false
}

func depString(name string, alts []streamDep) string {
	if len(alts) == 0 {
		return "module(" + name + ")"
	}
	parts := make([]string, len(alts))
	for i, d := range alts {
		parts[i] = "module(" + name + ":" + d.stream + ")"
		switch d.op {
		case opEQ:
			parts[i] += " = " + d.evr
		case opGE:
			parts[i] += " >= " + d.evr
		}
	}
	inner := parts[0]
	if len(parts) > 1 {
		inner = "(" + strings.Join(parts, " or ") + ")"
	}
	return "(module(" + name + ") with " + inner + ")"
}

// problem builds the Problem of one dependency block of the module being
// built (its buildrequires, expanded).
func (b *poolBuilder) problem(buildRequires map[string][]string) *Problem {
	p := &Problem{Solvables: make([]Solvable, len(b.cands))}
	byNS := map[string][]int{}
	for i, c := range b.cands {
		ns := c.Name + ":" + c.Stream
		byNS[ns] = append(byNS[ns], i)
		s := Solvable{Label: c.NSVC.String(), Name: c.Name, NS: ns, Version: c.Version}
		for _, block := range c.Requires {
			names, alts := b.deps(block, c.BuildRequires, false)
			terms := make([]Term, len(names))
			for j, n := range names {
				terms[j] = b.term(n, alts[j])
			}
			s.Requires = append(s.Requires, terms)
		}
		p.Solvables[i] = s
	}
	// Ages: index among the solvables of one name:stream, newest first,
	// pool order among equal versions (Python's stable sort).
	for _, idx := range byNS {
		sorted := slices.Clone(idx)
		slices.SortStableFunc(sorted, func(x, y int) int { return cmp.Compare(b.cands[y].Version, b.cands[x].Version) })
		for age, i := range sorted {
			p.Solvables[i].Age = age
		}
	}
	names, alts := b.deps(buildRequires, nil, true)
	for j, n := range names {
		p.Direct = append(p.Direct, b.term(n, alts[j]))
	}
	return p
}

// rpmvercmp compares two version strings as rpm (and libsolv) do:
// alternating numeric and alphabetic segments, numbers compared as numbers,
// "~" sorting before anything and "^" after the end.
func rpmvercmp(a, b string) int {
	if a == b {
		return 0
	}
	isAlnum := func(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	isDigit := func(c byte) bool { return c >= '0' && c <= '9' }
	for len(a) > 0 || len(b) > 0 {
		for len(a) > 0 && !isAlnum(a[0]) && a[0] != '~' && a[0] != '^' {
			a = a[1:]
		}
		for len(b) > 0 && !isAlnum(b[0]) && b[0] != '~' && b[0] != '^' {
			b = b[1:]
		}
		if len(a) > 0 && a[0] == '~' || len(b) > 0 && b[0] == '~' {
			if len(a) == 0 || a[0] != '~' {
				return 1
			}
			if len(b) == 0 || b[0] != '~' {
				return -1
			}
			a, b = a[1:], b[1:]
			continue
		}
		if len(a) > 0 && a[0] == '^' || len(b) > 0 && b[0] == '^' {
			if len(a) == 0 {
				return -1
			}
			if len(b) == 0 {
				return 1
			}
			if a[0] != '^' {
				return 1
			}
			if b[0] != '^' {
				return -1
			}
			a, b = a[1:], b[1:]
			continue
		}
		if len(a) == 0 || len(b) == 0 {
			break
		}
		num := isDigit(a[0])
		seg := func(s string) (string, string) {
			i := 0
			for i < len(s) && (num && isDigit(s[i]) || !num && isAlnum(s[i]) && !isDigit(s[i])) {
				i++
			}
			return s[:i], s[i:]
		}
		var sa, sb string
		sa, a = seg(a)
		sb, b = seg(b)
		if sb == "" {
			if num {
				return 1
			}
			return -1
		}
		if num {
			sa = strings.TrimLeft(sa, "0")
			sb = strings.TrimLeft(sb, "0")
			if c := cmp.Compare(len(sa), len(sb)); c != 0 {
				return c
			}
		}
		if c := strings.Compare(sa, sb); c != 0 {
			return c
		}
	}
	switch {
	case len(a) == 0 && len(b) == 0:
		return 0
	case len(a) == 0:
		return -1
	default:
		return 1
	}
}
