package modulemd

import (
	"go.yaml.in/yaml/v3"
)

func (p *parser) parseDefaults(data *yaml.Node) *Defaults {
	d := &Defaults{}
	if !p.mapping(data, "Data section did not begin with a map.") {
		return d
	}
	seenModule, seenStream := false, false
	p.eachPair(data, func(k, v *yaml.Node) {
		switch k.Value {
		case "module":
			if seenModule {
				p.failAt(k, "Module name encountered twice.")
				return
			}
			seenModule = true
			d.Module = p.str(v)
		case "modified":
			d.Modified = p.uint(v, "modified in defaults data")
		case "stream":
			if seenStream {
				p.failAt(k, "Default stream encountered twice.")
				return
			}
			seenStream = true
			d.Stream = p.str(v)
		case "profiles":
			d.Profiles = p.parseDefaultProfiles(v)
		case "intents":
			if !p.mapping(v, "Intents were not a mapping") {
				return
			}
			d.Intents = make(map[string]*Intent, len(v.Content)/2)
			p.eachPair(v, func(ik, iv *yaml.Node) {
				in := &Intent{Name: ik.Value}
				d.Intents[ik.Value] = in
				if !p.mapping(iv, "Intent was not a mapping") {
					return
				}
				p.eachPair(iv, func(k2, v2 *yaml.Node) {
					switch k2.Value {
					case "stream":
						in.Stream = p.str(v2)
					case "profiles":
						in.Profiles = p.parseDefaultProfiles(v2)
					default:
						p.unknownKey(k2, "intent data")
					}
				})
			})
		default:
			p.unknownKey(k, "defaults data")
		}
	})
	if !seenModule || d.Module == "" {
		// libmodulemd accepts this and emits a placeholder name; a defaults
		// document that names no module is useless, so reject it.
		p.failPath(data, "data.module", "Defaults did not specify a module name.")
	}
	return d
}

func (p *parser) parseDefaultProfiles(n *yaml.Node) map[string][]string {
	if !p.mapping(n, "Default profiles were not a mapping") {
		return nil
	}
	out := make(map[string][]string, len(n.Content)/2)
	p.eachPair(n, func(k, v *yaml.Node) {
		if _, dup := out[k.Value]; dup {
			p.failAt(k, "Encountered stream name %s more than once in profile defaults", k.Value)
			return
		}
		set := p.set(v)
		if set == nil {
			set = []string{}
		}
		out[k.Value] = set
	})
	return out
}

func (p *parser) parseObsoletes(data *yaml.Node) *Obsoletes {
	o := &Obsoletes{}
	if !p.mapping(data, "Data section did not begin with a map.") {
		return o
	}
	seen := map[string]bool{}
	once := func(k *yaml.Node, what string) bool {
		if seen[k.Value] {
			p.failAt(k, "%s encountered twice", what)
			return false
		}
		seen[k.Value] = true
		return true
	}
	stamp := func(v *yaml.Node, what string) uint64 {
		s := p.str(v)
		if v.Kind != yaml.ScalarNode {
			return 0
		}
		t, ok := parseStamp(s)
		if !ok {
			p.failAt(v, "Failed to parse UTC date in ISO 8601 format: YYYY-MM-DDTHH:MMZ %s in eol data: %s", what, s)
		}
		return t
	}
	p.eachPair(data, func(k, v *yaml.Node) {
		switch k.Value {
		case "modified":
			o.Modified = stamp(v, "modified")
		case "reset":
			o.Reset = p.boolean(v)
		case "module":
			if once(k, "Module name") {
				o.Module = p.str(v)
			}
		case "stream":
			if once(k, "Module stream") {
				o.Stream = p.str(v)
			}
		case "context":
			if once(k, "Module context") {
				o.Context = p.str(v)
			}
		case "eol_date":
			o.EOLDate = stamp(v, "eol_date")
		case "message":
			if once(k, "Message") {
				o.Message = p.str(v)
			}
		case "obsoleted_by":
			if !p.mapping(v, "obsoleted_by was not a mapping") {
				return
			}
			p.eachPair(v, func(k2, v2 *yaml.Node) {
				switch k2.Value {
				case "module":
					o.ObsoletedByModule = p.str(v2)
				case "stream":
					o.ObsoletedByStream = p.str(v2)
				default:
					p.unknownKey(k2, "obsoleted_by")
				}
			})
		default:
			p.unknownKey(k, "obsoletes data")
		}
	})
	return o
}

func (p *parser) parseTranslation(data *yaml.Node) *Translation {
	t := &Translation{}
	if !p.mapping(data, "Data section did not begin with a map.") {
		return t
	}
	p.eachPair(data, func(k, v *yaml.Node) {
		switch k.Value {
		case "module":
			t.Module = p.str(v)
		case "stream":
			t.Stream = p.str(v)
		case "modified":
			t.Modified = p.uint(v, "modified in translation data")
		case "translations":
			if !p.mapping(v, "Translations were not a mapping") {
				return
			}
			t.Entries = make(map[string]*TranslationEntry, len(v.Content)/2)
			p.eachPair(v, func(lk, lv *yaml.Node) {
				e := &TranslationEntry{Locale: lk.Value}
				t.Entries[lk.Value] = e
				t.order = append(t.order, lk.Value)
				if !p.mapping(lv, "Translation entry was not a mapping") {
					return
				}
				p.eachPair(lv, func(k2, v2 *yaml.Node) {
					switch k2.Value {
					case "summary":
						e.Summary = p.str(v2)
					case "description":
						e.Description = p.str(v2)
					case "profiles":
						if !p.mapping(v2, "Translated profiles were not a mapping") {
							return
						}
						e.Profiles = make(map[string]string, len(v2.Content)/2)
						p.eachPair(v2, func(pk, pv *yaml.Node) { e.Profiles[pk.Value] = p.str(pv) })
					default:
						p.unknownKey(k2, "translation entry")
					}
				})
			})
		default:
			p.unknownKey(k, "translation data")
		}
	})
	return t
}

// parsePackagerV3 reads a `modulemd-packager` v3 data mapping. libmodulemd
// always parses this format strictly, whatever the caller asks, so unknown
// keys are errors here too.
func (p *parser) parsePackagerV3(data *yaml.Node) *PackagerV3 {
	pk := &PackagerV3{}
	if !p.mapping(data, "Data section did not begin with a map.") {
		return pk
	}
	saved := p.strict
	p.strict = true
	defer func() { p.strict = saved }()
	p.eachPair(data, func(k, v *yaml.Node) {
		switch k.Value {
		case "name":
			pk.Name = p.str(v)
		case "stream":
			pk.Stream = p.str(v)
		case "summary":
			pk.Summary = p.str(v)
		case "description":
			pk.Description = p.str(v)
		case "license":
			pk.Licenses = p.set(v)
		case "xmd":
			if v.Kind == yaml.SequenceNode {
				p.failAt(v, "Unexpected YAML event in raw parsing: YAML_SEQUENCE_START_EVENT")
				return
			}
			pk.XMD = p.xmd(v)
		case "configurations":
			pk.Configurations = p.parseConfigurations(v)
		case "references":
			p.parseReferences(v, &pk.Community, &pk.Documentation, &pk.Tracker)
		case "profiles":
			pk.Profiles = p.parseProfiles(v)
		case "api":
			pk.APIRPMs = p.parseRPMList(v)
		case "filter":
			pk.FilterRPMs = p.parseRPMList(v)
		case "demodularized":
			pk.DemodularizedRPMs = p.parseRPMList(v)
		case "components":
			pk.RPMComponents, pk.ModuleComponents = p.parseComponents(v, true)
		default:
			p.unknownKey(k, "packager v3 document")
		}
	})
	return pk
}

func (p *parser) parseConfigurations(n *yaml.Node) map[string]*BuildConfig {
	if n.Kind != yaml.SequenceNode {
		p.failAt(n, "Got %s instead of SEQUENCE_START in configurations.", kindName(n))
		return nil
	}
	out := make(map[string]*BuildConfig, len(n.Content))
	for i, it := range n.Content {
		p.push(itoa(i))
		bc := p.parseBuildConfig(it)
		if bc != nil {
			if _, dup := out[bc.Context]; dup {
				p.failAt(it, "Duplicate context: %s", bc.Context)
			} else {
				out[bc.Context] = bc
			}
		}
		p.pop()
	}
	return out
}

func (p *parser) parseBuildConfig(n *yaml.Node) *BuildConfig {
	bc := &BuildConfig{}
	if !p.mapping(n, "Build configuration was not a mapping") {
		return nil
	}
	single := func(v *yaml.Node) map[string]string {
		if !p.mapping(v, "BuildConfig dependencies were not a mapping") {
			return nil
		}
		m := make(map[string]string, len(v.Content)/2)
		p.eachPair(v, func(mk, mv *yaml.Node) {
			var set []string
			if mv.Kind == yaml.ScalarNode {
				set = []string{mv.Value}
			} else {
				set = p.set(mv)
			}
			if len(set) != 1 {
				p.failAt(mv, "BuildConfig dependency %s must specify a single stream", mk.Value)
				return
			}
			m[mk.Value] = set[0]
		})
		return m
	}
	p.eachPair(n, func(k, v *yaml.Node) {
		switch k.Value {
		case "context":
			bc.Context = p.str(v)
		case "platform":
			bc.Platform = p.str(v)
		case "buildrequires":
			bc.BuildRequires = single(v)
		case "requires":
			bc.Requires = single(v)
		case "buildopts":
			bc.Buildopts = p.parseBuildopts(v)
		default:
			p.unknownKey(k, "build config")
		}
	})
	if msg := validateConfigContext(bc.Context); msg != "" {
		p.failAt(n, "%s", msg)
	}
	if bc.Platform == "" {
		p.failAt(n, "Unset platform in BuildConfig")
	}
	return bc
}

// validateConfigContext applies the build-configuration context rules:
// 1 to 10 characters, ASCII letters and digits only.
func validateConfigContext(c string) string {
	if c == "" {
		return "Empty context in BuildConfig"
	}
	for i := 0; i < len(c); i++ {
		ch := c[i]
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9') {
			return "Non-alphanumeric character in BuildConfig context"
		}
	}
	if len(c) > 10 {
		return "BuildConfig context exceeds maximum characters"
	}
	return ""
}
