package modulemd

import (
	"go.yaml.in/yaml/v3"
)

// parseStream reads the data mapping of a `modulemd` v1/v2 document, or of a
// `modulemd-packager` v2 document when packager is set (then the fields that
// the build system fills in are unknown keys, as in libmodulemd).
func (p *parser) parseStream(data *yaml.Node, mdversion uint64, packager bool) *Stream {
	s := &Stream{MdVersion: mdversion, noSummary: true, noDescription: true}
	if !p.mapping(data, "Data section did not begin with a map.") {
		return s
	}
	v2 := mdversion >= 2
	p.eachPair(data, func(k, v *yaml.Node) {
		key := k.Value
		if packager {
			switch key {
			case "name", "stream", "version", "context", "arch", "servicelevels", "xmd", "buildopts", "artifacts":
				p.unknownKey(k, "data")
				return
			}
		}
		switch key {
		case "name":
			s.Name = p.str(v)
		case "stream":
			s.Stream = p.str(v)
		case "version":
			s.Version = p.uint(v, "version")
		case "context":
			s.Context = p.str(v)
		case "static_context":
			if !v2 {
				p.unknownKey(k, "data")
				return
			}
			s.StaticContext = p.boolean(v)
		case "arch":
			s.Arch = p.str(v)
		case "summary":
			s.Summary = p.str(v)
			s.noSummary = false
		case "description":
			s.Description = p.str(v)
			s.noDescription = false
		case "eol":
			if v2 {
				p.unknownKey(k, "data")
				return
			}
			d := p.date(v)
			if !d.IsZero() {
				if s.ServiceLevels == nil {
					s.ServiceLevels = map[string]Date{}
				}
				s.ServiceLevels["rawhide"] = d
			}
		case "servicelevels":
			p.parseServiceLevels(v, s)
		case "license":
			if !p.mapping(v, "Licenses were not a mapping") {
				return
			}
			p.eachPair(v, func(k2, v2n *yaml.Node) {
				switch k2.Value {
				case "module":
					s.ModuleLicenses = p.set(v2n)
				case "content":
					if packager {
						p.unknownKey(k2, "licenses")
						return
					}
					s.ContentLicenses = p.set(v2n)
				default:
					p.unknownKey(k2, "licenses")
				}
			})
		case "xmd":
			if v.Kind == yaml.SequenceNode {
				p.failAt(v, "Unexpected YAML event in raw parsing: YAML_SEQUENCE_START_EVENT")
				return
			}
			s.XMD = p.xmd(v)
		case "dependencies":
			if v2 {
				s.Dependencies = p.parseDepsV2(v)
			} else {
				s.Dependencies = p.parseDepsV1(v)
			}
		case "references":
			p.parseReferences(v, &s.Community, &s.Documentation, &s.Tracker)
		case "profiles":
			s.Profiles = p.parseProfiles(v)
		case "api":
			s.APIRPMs = p.parseRPMList(v)
		case "filter":
			s.FilterRPMs = p.parseRPMList(v)
		case "demodularized":
			if !v2 {
				p.unknownKey(k, "data")
				return
			}
			s.DemodularizedRPMs = p.parseRPMList(v)
		case "buildopts":
			s.Buildopts = p.parseBuildopts(v)
		case "components":
			s.RPMComponents, s.ModuleComponents = p.parseComponents(v, true)
		case "artifacts":
			p.parseArtifacts(v, s, v2)
		default:
			p.unknownKey(k, "data")
		}
	})
	return s
}

func (p *parser) parseServiceLevels(n *yaml.Node, s *Stream) {
	if !p.mapping(n, "Service levels were not a mapping") {
		return
	}
	if s.ServiceLevels == nil {
		s.ServiceLevels = make(map[string]Date, len(n.Content)/2)
	}
	p.eachPair(n, func(k, v *yaml.Node) {
		var d Date
		switch v.Kind {
		case yaml.MappingNode:
			p.eachPair(v, func(k2, v2 *yaml.Node) {
				if k2.Value == "eol" {
					d = p.date(v2)
					return
				}
				if p.strict {
					p.failAt(k2, "Unexpected key in service level body: %s", k2.Value)
				}
			})
		default:
			p.failAt(v, "Missing mapping in service level")
		}
		s.ServiceLevels[k.Value] = d
	})
}

func (p *parser) parseReferences(n *yaml.Node, community, documentation, tracker *string) {
	if !p.mapping(n, "References were not a mapping") {
		return
	}
	p.eachPair(n, func(k, v *yaml.Node) {
		switch k.Value {
		case "community":
			*community = p.str(v)
		case "documentation":
			*documentation = p.str(v)
		case "tracker":
			*tracker = p.str(v)
		default:
			p.unknownKey(k, "references")
		}
	})
}

// parseRPMList reads `api`, `filter` and `demodularized`: a mapping whose
// only known key is `rpms`, a string set.
func (p *parser) parseRPMList(n *yaml.Node) []string {
	if !p.mapping(n, "Expected a mapping with an rpms list") {
		return nil
	}
	var out []string
	p.eachPair(n, func(k, v *yaml.Node) {
		if k.Value == "rpms" {
			out = p.set(v)
			return
		}
		p.unknownKey(k, "map")
	})
	return out
}

func (p *parser) parseProfiles(n *yaml.Node) map[string]*Profile {
	if !p.mapping(n, "Profiles were not a mapping") {
		return nil
	}
	out := make(map[string]*Profile, len(n.Content)/2)
	p.eachPair(n, func(k, v *yaml.Node) {
		pr := &Profile{Name: k.Value}
		out[k.Value] = pr
		if !p.mapping(v, "No map in profile") {
			return
		}
		p.eachPair(v, func(k2, v2 *yaml.Node) {
			switch k2.Value {
			case "description":
				pr.Description = p.str(v2)
			case "rpms":
				pr.RPMs = p.set(v2)
			case "default":
				pr.Default = p.boolean(v2)
			default:
				p.unknownKey(k2, "profile body")
			}
		})
	})
	return out
}

func (p *parser) parseBuildopts(n *yaml.Node) *Buildopts {
	b := &Buildopts{}
	if n.Kind == yaml.ScalarNode && n.Value == "" {
		return b
	}
	if !p.mapping(n, "Buildopts were not a mapping") {
		return b
	}
	p.eachPair(n, func(k, v *yaml.Node) {
		switch k.Value {
		case "rpms":
			if v.Kind == yaml.ScalarNode && v.Value == "" {
				return
			}
			if !p.mapping(v, "Buildopts rpms were not a mapping") {
				return
			}
			p.eachPair(v, func(k2, v2 *yaml.Node) {
				switch k2.Value {
				case "macros":
					b.RPMMacros = p.str(v2)
				case "whitelist":
					b.RPMWhitelist = p.set(v2)
				default:
					p.unknownKey(k2, "buildopts body")
				}
			})
		case "arches":
			b.Arches = p.set(v)
		default:
			p.unknownKey(k, "buildopts")
		}
	})
	return b
}

func (p *parser) parseComponents(n *yaml.Node, allowModules bool) (map[string]*RPMComponent, map[string]*ModuleComponent) {
	if !p.mapping(n, "Components were not a mapping") {
		return nil, nil
	}
	var rpms map[string]*RPMComponent
	var mods map[string]*ModuleComponent
	p.eachPair(n, func(k, v *yaml.Node) {
		switch k.Value {
		case "rpms":
			if !p.mapping(v, "RPM components were not a mapping") {
				return
			}
			rpms = make(map[string]*RPMComponent, len(v.Content)/2)
			p.eachPair(v, func(ck, cv *yaml.Node) {
				rpms[ck.Value] = p.parseRPMComponent(ck, cv)
			})
		case "modules":
			if !allowModules {
				p.unknownKey(k, "components")
				return
			}
			if !p.mapping(v, "Module components were not a mapping") {
				return
			}
			mods = make(map[string]*ModuleComponent, len(v.Content)/2)
			p.eachPair(v, func(ck, cv *yaml.Node) {
				mods[ck.Value] = p.parseModuleComponent(ck, cv)
			})
		default:
			p.unknownKey(k, "components")
		}
	})
	return rpms, mods
}

func (p *parser) parseRPMComponent(k, n *yaml.Node) *RPMComponent {
	c := &RPMComponent{Key: k.Value, pos: position{file: p.file, doc: p.doc, line: k.Line + p.lineOff, col: k.Column}}
	if !p.mapping(n, "Missing mapping in rpm component entry") {
		return c
	}
	p.eachPair(n, func(k2, v *yaml.Node) {
		switch k2.Value {
		case "rationale":
			c.Rationale = p.str(v)
		case "name":
			c.Name = p.str(v)
		case "repository":
			c.Repository = p.str(v)
		case "cache":
			c.Cache = p.str(v)
		case "ref":
			c.Ref = p.str(v)
		case "buildroot":
			c.Buildroot = p.boolean(v)
		case "srpm-buildroot":
			c.SRPMBuildroot = p.boolean(v)
		case "buildonly":
			c.Buildonly = p.boolean(v)
		case "buildorder":
			c.Buildorder = p.int(v, "buildorder in component")
		case "buildafter":
			c.Buildafter = p.set(v)
		case "arches":
			c.Arches = p.set(v)
		case "multilib":
			c.Multilib = p.set(v)
		default:
			p.unknownKey(k2, "rpm component body")
		}
	})
	if c.Name == c.Key {
		c.Name = ""
	}
	return c
}

func (p *parser) parseModuleComponent(k, n *yaml.Node) *ModuleComponent {
	c := &ModuleComponent{Key: k.Value, pos: position{file: p.file, doc: p.doc, line: k.Line + p.lineOff, col: k.Column}}
	if !p.mapping(n, "Missing mapping in module component entry") {
		return c
	}
	p.eachPair(n, func(k2, v *yaml.Node) {
		switch k2.Value {
		case "rationale":
			c.Rationale = p.str(v)
		case "repository":
			c.Repository = p.str(v)
		case "ref":
			c.Ref = p.str(v)
		case "buildorder":
			c.Buildorder = p.int(v, "buildorder in component")
		case "buildonly":
			c.Buildonly = p.boolean(v)
		default:
			p.unknownKey(k2, "module component body")
		}
	})
	return c
}

func (p *parser) parseArtifacts(n *yaml.Node, s *Stream, v2 bool) {
	if !p.mapping(n, "Artifacts were not a mapping") {
		return
	}
	p.eachPair(n, func(k, v *yaml.Node) {
		switch k.Value {
		case "rpms":
			s.RPMArtifacts = p.set(v)
		case "rpm-map":
			if !v2 {
				p.unknownKey(k, "artifacts")
				return
			}
			s.RPMMap = p.parseRPMMap(v)
		default:
			p.unknownKey(k, "artifacts")
		}
	})
}

func (p *parser) parseRPMMap(n *yaml.Node) map[string]map[string]*RPMMapEntry {
	if !p.mapping(n, "rpm-map was not a mapping") {
		return nil
	}
	out := make(map[string]map[string]*RPMMapEntry, len(n.Content)/2)
	p.eachPair(n, func(k, v *yaml.Node) {
		if !p.mapping(v, "rpm-map digest was not a mapping") {
			return
		}
		sums := make(map[string]*RPMMapEntry, len(v.Content)/2)
		out[k.Value] = sums
		p.eachPair(v, func(ck, cv *yaml.Node) {
			e := &RPMMapEntry{pos: position{file: p.file, doc: p.doc, line: ck.Line + p.lineOff, col: ck.Column}}
			sums[ck.Value] = e
			if !p.mapping(cv, "rpm-map entry was not a mapping") {
				return
			}
			hasEpoch := false
			p.eachPair(cv, func(ek, ev *yaml.Node) {
				switch ek.Value {
				case "name":
					e.Name = p.str(ev)
				case "epoch":
					e.Epoch = p.uint(ev, "epoch")
					hasEpoch = true
				case "version":
					e.Version = p.str(ev)
				case "release":
					e.Release = p.str(ev)
				case "arch":
					e.Arch = p.str(ev)
				case "nevra":
					e.Nevra = p.str(ev)
				default:
					p.unknownKey(ek, "rpm-map entry")
				}
			})
			for _, m := range e.missing(hasEpoch) {
				p.failAt(cv, "%s", m)
			}
		})
	})
	return out
}

// missing lists the rpm-map entry problems libmodulemd reports.
func (e *RPMMapEntry) missing(hasEpoch bool) []string {
	var out []string
	for _, f := range [...]struct{ v, n string }{{e.Name, "name"}, {e.Version, "version"}, {e.Release, "release"}, {e.Arch, "arch"}} {
		if f.v == "" {
			out = append(out, "Validation of entry failedMissing "+f.n+" attribute")
		}
	}
	if !hasEpoch {
		out = append(out, "Missing 'epoch' in rpm-map entry")
	}
	if e.Nevra == "" {
		out = append(out, "Missing 'nevra' in rpm-map entry")
	} else if len(out) == 0 {
		if x := e.exploded(); x != e.Nevra {
			out = append(out, "'nevra' field ("+e.Nevra+") differs from exploded version ("+x+")")
		}
	}
	return out
}

func (e *RPMMapEntry) exploded() string {
	return e.Name + "-" + uitoa(e.Epoch) + ":" + e.Version + "-" + e.Release + "." + e.Arch
}

// parseDepsV2 reads the list of dependency blocks of a v2 stream.
func (p *parser) parseDepsV2(n *yaml.Node) []*Dependencies {
	if n.Kind != yaml.SequenceNode {
		p.failAt(n, "Got %s instead of SEQUENCE_START in dependencies.", kindName(n))
		return nil
	}
	out := make([]*Dependencies, 0, len(n.Content))
	for i, it := range n.Content {
		p.push(itoa(i))
		d := &Dependencies{}
		out = append(out, d)
		if p.mapping(it, "Dependencies entry was not a mapping") {
			p.eachPair(it, func(k, v *yaml.Node) {
				switch k.Value {
				case "buildrequires":
					d.BuildRequires = p.depMap(v)
				case "requires":
					d.Requires = p.depMap(v)
				default:
					p.unknownKey(k, "dependencies body")
				}
			})
		}
		p.pop()
	}
	return out
}

// depMap reads module → stream set; a repeated module is an error.
func (p *parser) depMap(n *yaml.Node) map[string][]string {
	if n.Kind == yaml.ScalarNode && n.Value == "" {
		return nil
	}
	if !p.mapping(n, "Failed to parse dependencies: not a mapping") {
		return nil
	}
	out := make(map[string][]string, len(n.Content)/2)
	p.eachPair(n, func(k, v *yaml.Node) {
		if _, dup := out[k.Value]; dup {
			p.failAt(k, "Key %s encountered twice in nested set", k.Value)
			return
		}
		out[k.Value] = p.set(v)
	})
	return out
}

// parseDepsV1 reads the single v1 dependency mapping {buildrequires: {m: s},
// requires: {m: s}} into one block with one stream per module.
func (p *parser) parseDepsV1(n *yaml.Node) []*Dependencies {
	if n.Kind == yaml.ScalarNode && n.Value == "" {
		return nil
	}
	if !p.mapping(n, "Dependencies were not a mapping") {
		return nil
	}
	d := &Dependencies{}
	read := func(v *yaml.Node) map[string][]string {
		if v.Kind == yaml.ScalarNode && v.Value == "" {
			return nil
		}
		if !p.mapping(v, "Dependencies were not a mapping") {
			return nil
		}
		m := make(map[string][]string, len(v.Content)/2)
		p.eachPair(v, func(k, sv *yaml.Node) {
			m[k.Value] = []string{p.str(sv)}
		})
		return m
	}
	p.eachPair(n, func(k, v *yaml.Node) {
		switch k.Value {
		case "buildrequires":
			d.BuildRequires = read(v)
		case "requires":
			d.Requires = read(v)
		default:
			p.unknownKey(k, "dependencies body")
		}
	})
	if len(d.BuildRequires) == 0 && len(d.Requires) == 0 {
		return nil
	}
	return []*Dependencies{d}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.ScalarNode:
		return "YAML_SCALAR_EVENT"
	case yaml.MappingNode:
		return "YAML_MAPPING_START_EVENT"
	case yaml.SequenceNode:
		return "YAML_SEQUENCE_START_EVENT"
	case yaml.AliasNode:
		return "YAML_ALIAS_EVENT"
	}
	return "YAML_NO_EVENT"
}
