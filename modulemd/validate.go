package modulemd

import (
	"fmt"
	"strings"
)

// locator maps a field path below `data` to a position in the user's file.
type locator func(path []string) (line, col int)

// collector gathers validation errors with positions.
type collector struct {
	pos  position
	loc  locator
	errs ErrorList
}

func (c *collector) add(msg string, path ...string) {
	line, col := c.pos.line, c.pos.col
	if c.loc != nil {
		line, col = c.loc(path)
	}
	field := "data"
	if len(path) > 0 {
		field += "." + strings.Join(path, ".")
	}
	c.errs = append(c.errs, &Error{File: c.pos.file, Line: line, Column: col, Document: c.pos.doc, Field: field, Message: msg})
}

func (d *Document) validate(loc locator) ErrorList {
	switch {
	case d.Stream != nil:
		c := &collector{pos: d.Stream.pos, loc: loc}
		d.Stream.validate(c)
		return c.errs
	case d.Defaults != nil:
		c := &collector{pos: d.Defaults.pos, loc: loc}
		d.Defaults.validate(c)
		return c.errs
	case d.Obsoletes != nil:
		c := &collector{pos: d.Obsoletes.pos, loc: loc}
		d.Obsoletes.validate(c)
		return c.errs
	case d.Translation != nil:
		c := &collector{pos: d.Translation.pos, loc: loc}
		d.Translation.validate(c)
		return c.errs
	case d.PackagerV3 != nil:
		// libmodulemd does not validate the packager object itself; its
		// problems surface when it is converted, which rida does eagerly
		// so that a submission is rejected at once.
		if _, err := d.PackagerV3.ToStreamV2(); err != nil {
			return Errors(err)
		}
	}
	return nil
}

// Validate checks the stream with libmodulemd's rules (see the package
// documentation). It returns an ErrorList, or nil when the stream is valid.
// Positions point at the start of the document the stream was read from.
func (s *Stream) Validate() error {
	c := &collector{pos: s.pos}
	s.validate(c)
	return c.errs.err()
}

func (s *Stream) validate(c *collector) {
	if s.MdVersion != 1 && s.MdVersion != 2 {
		c.add(fmt.Sprintf("Unknown ModuleStream version: %d", s.MdVersion))
		return
	}
	v2 := s.MdVersion == 2
	if v2 && s.StaticContext {
		switch {
		case s.Context == "":
			c.add("Empty stream context", "context")
		case len(s.Context) > 13:
			c.add(fmt.Sprintf("Stream context '%s' exceeds maximum length (13)", s.Context), "context")
		default:
			for i := 0; i < len(s.Context); i++ {
				ch := s.Context[i]
				if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '_') {
					c.add(fmt.Sprintf("Stream context '%s' can only contain [a-zA-Z0-9_] characters", s.Context), "context")
					break
				}
			}
		}
	}
	if s.noSummary {
		c.add("Summary is missing", "summary")
	}
	if s.noDescription {
		c.add("Description is missing", "description")
	}
	if len(s.ModuleLicenses) == 0 {
		c.add("Module license is missing", "license", "module")
	}
	validateComponents(c, s.RPMComponents)
	if v2 && s.Buildopts != nil && len(s.Buildopts.Arches) > 0 {
		for _, key := range sortedKeys(s.RPMComponents) {
			rc := s.RPMComponents[key]
			for _, a := range rc.Arches {
				if !contains(s.Buildopts.Arches, a) {
					c.add(fmt.Sprintf("Component rpm '%s' arch '%s' not in module buildopts.arches", rc.PackageName(), a),
						"components", "rpms", key, "arches", a)
				}
			}
		}
	}
	for _, a := range s.RPMArtifacts {
		if !validNEVRA(a) {
			c.add(fmt.Sprintf("Artifact '%s' was not in valid N-E:V-R.A format.", a), "artifacts", "rpms", a)
		}
	}
	if v2 {
		for i, d := range s.Dependencies {
			for _, side := range [...]struct {
				name string
				m    map[string][]string
			}{{"buildrequires", d.BuildRequires}, {"requires", d.Requires}} {
				for _, mod := range sortedKeys(side.m) {
					pos, neg := false, false
					for _, st := range side.m[mod] {
						if strings.HasPrefix(st, "-") {
							neg = true
						} else {
							pos = true
						}
					}
					if pos && neg {
						c.add(fmt.Sprintf("Dependency failed to validate: Runtime dependency %s contained a mix of positive and negative entries.", mod),
							"dependencies", itoa(i), side.name, mod)
					}
				}
			}
		}
	}
}

// validateComponents applies the buildorder/buildafter rules to the rpm
// components of a stream.
func validateComponents(c *collector, rpms map[string]*RPMComponent) {
	keys := sortedKeys(rpms)
	var orderKey, afterKey string
	for _, k := range keys {
		rc := rpms[k]
		if rc.Buildorder != 0 && len(rc.Buildafter) > 0 {
			c.add("Cannot mix buildorder and buildafter in the same component", "components", "rpms", k, "buildafter")
			return
		}
		if rc.Buildorder != 0 && orderKey == "" {
			orderKey = k
		}
		if len(rc.Buildafter) > 0 && afterKey == "" {
			afterKey = k
		}
	}
	if orderKey != "" && afterKey != "" {
		c.add("Cannot mix buildorder and buildafter in the same stream", "components", "rpms", afterKey, "buildafter")
		return
	}
	for _, k := range keys {
		for _, a := range rpms[k].Buildafter {
			if _, ok := rpms[a]; !ok {
				c.add(fmt.Sprintf("Buildafter '%s' not found in components list", a), "components", "rpms", k, "buildafter", a)
			}
		}
	}
}

// validNEVRA reproduces modulemd_validate_nevra: N-E:V-R.A, scanned from
// the end; the epoch is mandatory and must start with a digit.
func validNEVRA(s string) bool {
	dot := strings.LastIndexByte(s, '.')
	if dot < 0 {
		return false
	}
	rest := s[:dot]
	dash := strings.LastIndexByte(rest, '-')
	if dash < 0 {
		return false
	}
	rest = rest[:dash]
	colon := -1
	for i := len(rest) - 1; i >= 0; i-- {
		if rest[i] == ':' {
			colon = i
			break
		}
		if rest[i] == '-' {
			return false
		}
	}
	if colon < 0 {
		return false
	}
	rest = rest[:colon]
	dash = strings.LastIndexByte(rest, '-')
	if dash < 0 {
		return false
	}
	epoch := rest[dash+1:]
	return epoch != "" && epoch[0] >= '0' && epoch[0] <= '9'
}

func contains(set []string, s string) bool {
	for _, x := range set {
		if x == s {
			return true
		}
	}
	return false
}

// Validate checks a defaults document. libmodulemd accepts anything here;
// rida requires the module name (see the package documentation).
func (d *Defaults) Validate() error {
	c := &collector{pos: d.pos}
	d.validate(c)
	return c.errs.err()
}

func (d *Defaults) validate(c *collector) {
	if d.Module == "" {
		c.add("Defaults did not specify a module name.", "module")
	}
}

// Validate checks an obsoletes document with libmodulemd's rules.
func (o *Obsoletes) Validate() error {
	c := &collector{pos: o.pos}
	o.validate(c)
	return c.errs.err()
}

func (o *Obsoletes) validate(c *collector) {
	if o.Modified == 0 {
		c.add("Obsoletes modified is empty.", "modified")
	}
	if o.Module == "" {
		c.add("Obsoletes module name is unset.", "module")
	}
	if o.Stream == "" {
		c.add("Obsoletes stream is unset.", "stream")
	}
	if o.Message == "" {
		c.add("Obsoletes message is unset.", "message")
	}
	if o.Reset && o.EOLDate != 0 {
		c.add("Obsoletes cannot have both eol_date and reset attributes set.", "reset")
	}
	if o.Reset && (o.ObsoletedByModule != "" || o.ObsoletedByStream != "") {
		c.add("Obsoletes cannot have both obsoleted_by and reset attributes set.", "reset")
	}
	if (o.ObsoletedByModule == "") != (o.ObsoletedByStream == "") {
		c.add("Obsoletes obsoleted by module name and module stream have to be set together.", "obsoleted_by")
	}
}

// Validate checks a translations document with libmodulemd's rules.
func (t *Translation) Validate() error {
	c := &collector{pos: t.pos}
	t.validate(c)
	return c.errs.err()
}

func (t *Translation) validate(c *collector) {
	if t.Module == "" {
		c.add("Translation module name is unset.", "module")
	}
	if t.Stream == "" {
		c.add("Translation module stream is unset.", "stream")
	}
	if t.Modified == 0 {
		c.add("Translation module modified is empty.", "modified")
	}
}
