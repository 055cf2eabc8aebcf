package modulemd

import (
	"maps"
	"slices"
)

// XMDMap returns the top-level xmd mapping, or nil when xmd is absent or
// not a mapping. MBS keeps its build state under XMDMap()["mbs"].
func (s *Stream) XMDMap() map[string]any {
	m, _ := s.XMD.(map[string]any)
	return m
}

// SetXMD sets xmd key to value, creating the mapping when needed. Values
// must be map[string]any, []any, string or bool.
func (s *Stream) SetXMD(key string, value any) {
	m := s.XMDMap()
	if m == nil {
		m = map[string]any{}
		s.XMD = m
	}
	m[key] = value
}

// Copy returns a deep copy of the stream, so that a build system can fill
// in name, version, context and xmd of its own copy of a submission.
func (s *Stream) Copy() *Stream {
	c := *s
	c.ServiceLevels = maps.Clone(s.ServiceLevels)
	c.ModuleLicenses = slices.Clone(s.ModuleLicenses)
	c.ContentLicenses = slices.Clone(s.ContentLicenses)
	c.XMD = copyXMD(s.XMD)
	c.Dependencies = nil
	for _, d := range s.Dependencies {
		c.Dependencies = append(c.Dependencies, &Dependencies{BuildRequires: copyDeps(d.BuildRequires), Requires: copyDeps(d.Requires)})
	}
	if s.Profiles != nil {
		c.Profiles = make(map[string]*Profile, len(s.Profiles))
		for k, p := range s.Profiles {
			pc := *p
			pc.RPMs = slices.Clone(p.RPMs)
			c.Profiles[k] = &pc
		}
	}
	c.APIRPMs = slices.Clone(s.APIRPMs)
	c.FilterRPMs = slices.Clone(s.FilterRPMs)
	c.DemodularizedRPMs = slices.Clone(s.DemodularizedRPMs)
	if s.Buildopts != nil {
		c.Buildopts = s.Buildopts.clone()
	}
	if s.RPMComponents != nil {
		c.RPMComponents = make(map[string]*RPMComponent, len(s.RPMComponents))
		for k, rc := range s.RPMComponents {
			cc := *rc
			cc.Buildafter = slices.Clone(rc.Buildafter)
			cc.Arches = slices.Clone(rc.Arches)
			cc.Multilib = slices.Clone(rc.Multilib)
			c.RPMComponents[k] = &cc
		}
	}
	if s.ModuleComponents != nil {
		c.ModuleComponents = make(map[string]*ModuleComponent, len(s.ModuleComponents))
		for k, mc := range s.ModuleComponents {
			cc := *mc
			c.ModuleComponents[k] = &cc
		}
	}
	c.RPMArtifacts = slices.Clone(s.RPMArtifacts)
	if s.RPMMap != nil {
		c.RPMMap = make(map[string]map[string]*RPMMapEntry, len(s.RPMMap))
		for d, sums := range s.RPMMap {
			m := make(map[string]*RPMMapEntry, len(sums))
			for k, e := range sums {
				ec := *e
				m[k] = &ec
			}
			c.RPMMap[d] = m
		}
	}
	return &c
}

func copyDeps(m map[string][]string) map[string][]string {
	if m == nil {
		return nil
	}
	out := make(map[string][]string, len(m))
	for k, v := range m {
		out[k] = slices.Clone(v)
	}
	return out
}

func copyXMD(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = copyXMD(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = copyXMD(e)
		}
		return out
	}
	return v
}

// SetStringSet stores a string set the way the parser does (sorted,
// duplicates removed); use it when filling set fields from Go code so that
// emitted output matches libmodulemd's.
func SetStringSet(items ...string) []string {
	return sortSet(slices.Clone(items))
}
