package modulemd

import (
	"fmt"
)

// EmitVersion selects which libmodulemd release's output rida reproduces.
type EmitVersion int

const (
	// Emit215 writes what libmodulemd 2.15.x writes: strings that look like
	// numbers (and empty strings) are double-quoted so that YAML 1.1 readers
	// keep them as strings. This is the default.
	Emit215 EmitVersion = iota
	// Emit214 writes what libmodulemd 2.14 and older write (no number
	// quoting), for byte comparisons with older tooling.
	Emit214
)

// EmitOptions control emission.
type EmitOptions struct {
	Version EmitVersion
}

// mmdEmitter adds libmodulemd's per-field style rules to yamlEmitter.
type mmdEmitter struct {
	*yamlEmitter
	v EmitVersion
}

// numberLike reproduces libmodulemd's string_is_empty_or_a_number (2.15):
// such strings are double-quoted by the "string rule".
func numberLike(s string) bool {
	if s == "" || s == ".nan" {
		return true
	}
	t := s
	if t[0] == '+' || t[0] == '-' {
		t = t[1:]
	}
	if t == ".inf" {
		return true
	}
	if len(t) > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'o') {
		hex := t[1] == 'x'
		for i := 2; i < len(t); i++ {
			c := t[i]
			ok := c >= '0' && c <= '7' || hex && (c >= '8' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F')
			if !ok {
				return false
			}
		}
		return true
	}
	seenDot, seenE, digits := false, false, false
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case c >= '0' && c <= '9':
			digits = true
		case c == '.' && !seenDot && !seenE:
			seenDot = true
		case (c == 'e' || c == 'E') && seenDot && !seenE:
			seenE = true
			if i+1 < len(t) && (t[i+1] == '+' || t[i+1] == '-') {
				i++
			}
		default:
			return false
		}
	}
	return digits
}

// str emits a value with the "string rule": plain, but double-quoted when
// empty or number-like (2.15 only).
func (e *mmdEmitter) str(s string) {
	if e.v == Emit215 && numberLike(s) {
		e.scalar(s, styleDouble)
		return
	}
	e.scalar(s, stylePlain)
}

func (e *mmdEmitter) plain(s string) { e.scalar(s, stylePlain) }

func (e *mmdEmitter) kvPlain(k, v string) {
	e.plain(k)
	e.plain(v)
}

func (e *mmdEmitter) kvStr(k, v string) {
	e.plain(k)
	e.str(v)
}

func (e *mmdEmitter) kvStrIf(k, v string) {
	if v != "" {
		e.kvStr(k, v)
	}
}

func (e *mmdEmitter) kvTrue(k string, b bool) {
	if b {
		e.kvPlain(k, "true")
	}
}

// blockList writes key + a block sequence of strings (string rule); empty
// lists are skipped.
func (e *mmdEmitter) blockListIf(k string, l []string) {
	if len(l) == 0 {
		return
	}
	e.plain(k)
	e.blockList(l)
}

func (e *mmdEmitter) blockList(l []string) {
	if len(l) == 0 {
		e.emptySeq()
		return
	}
	e.seqStart(false)
	for _, s := range l {
		e.str(s)
	}
	e.seqEnd()
}

func (e *mmdEmitter) flowList(l []string) {
	if len(l) == 0 {
		e.emptySeq()
		return
	}
	e.seqStart(true)
	for _, s := range l {
		e.str(s)
	}
	e.seqEnd()
}

// rpmsSection writes `key: {rpms: [...]}` for api/filter/demodularized.
func (e *mmdEmitter) rpmsSection(k string, l []string) {
	if len(l) == 0 {
		return
	}
	e.plain(k)
	e.mapStart()
	e.plain("rpms")
	e.blockList(l)
	e.mapEnd()
}

func (e *mmdEmitter) header(doc string, version uint64) {
	e.docStart()
	e.mapStart()
	e.kvPlain("document", doc)
	e.kvPlain("version", uitoa(version))
	e.plain("data")
}

func (e *mmdEmitter) footer() {
	e.mapEnd()
	e.docEnd()
}

// emitStream writes one stream document.
func (e *mmdEmitter) emitStream(s *Stream) {
	v2 := s.MdVersion >= 2
	e.header(DocModulemd, s.MdVersion)
	e.mapStart()
	e.kvStrIf("name", s.Name)
	if s.Stream != "" {
		e.plain("stream")
		e.scalar(s.Stream, styleDouble)
	}
	if s.Version != 0 {
		e.kvPlain("version", uitoa(s.Version))
	}
	e.kvStrIf("context", s.Context)
	if v2 {
		e.kvTrue("static_context", s.StaticContext)
	}
	e.kvStrIf("arch", s.Arch)
	e.plain("summary")
	if v2 {
		e.str(s.Summary)
	} else {
		e.plain(s.Summary)
	}
	e.plain("description")
	e.scalar(s.Description, styleFolded)
	if len(s.ServiceLevels) > 0 {
		e.plain("servicelevels")
		e.mapStart()
		for _, name := range sortedKeys(s.ServiceLevels) {
			e.str(name)
			d := s.ServiceLevels[name]
			if d.IsZero() {
				e.emptyMap()
				continue
			}
			e.mapStart()
			e.kvPlain("eol", d.String())
			e.mapEnd()
		}
		e.mapEnd()
	}
	if len(s.ModuleLicenses) > 0 || len(s.ContentLicenses) > 0 {
		e.plain("license")
		e.mapStart()
		e.blockListIf("module", s.ModuleLicenses)
		e.blockListIf("content", s.ContentLicenses)
		e.mapEnd()
	}
	if s.XMD != nil {
		e.plain("xmd")
		e.xmd(s.XMD)
	}
	if v2 {
		e.depsV2(s.Dependencies)
	} else {
		e.depsV1(s.Dependencies)
	}
	e.references(s.Community, s.Documentation, s.Tracker)
	e.profiles(s.Profiles)
	e.rpmsSection("api", s.APIRPMs)
	e.rpmsSection("filter", s.FilterRPMs)
	if v2 {
		e.rpmsSection("demodularized", s.DemodularizedRPMs)
	}
	if s.Buildopts != nil {
		e.plain("buildopts")
		e.buildopts(s.Buildopts)
	}
	e.components(s.RPMComponents, s.ModuleComponents)
	if len(s.RPMArtifacts) > 0 || (v2 && len(s.RPMMap) > 0) {
		e.plain("artifacts")
		e.mapStart()
		e.blockListIf("rpms", s.RPMArtifacts)
		if v2 && len(s.RPMMap) > 0 {
			e.rpmMap(s.RPMMap)
		}
		e.mapEnd()
	}
	e.mapEnd()
	e.footer()
}

func (e *mmdEmitter) depsV2(deps []*Dependencies) {
	if len(deps) == 0 {
		return
	}
	e.plain("dependencies")
	e.seqStart(false)
	for _, d := range deps {
		if len(d.BuildRequires) == 0 && len(d.Requires) == 0 {
			e.emptyMap()
			continue
		}
		e.mapStart()
		for _, side := range [...]struct {
			k string
			m map[string][]string
		}{{"buildrequires", d.BuildRequires}, {"requires", d.Requires}} {
			if len(side.m) == 0 {
				continue
			}
			e.plain(side.k)
			e.mapStart()
			for _, mod := range sortedKeys(side.m) {
				e.str(mod)
				e.flowList(side.m[mod])
			}
			e.mapEnd()
		}
		e.mapEnd()
	}
	e.seqEnd()
}

func (e *mmdEmitter) depsV1(deps []*Dependencies) {
	if len(deps) == 0 || (len(deps[0].BuildRequires) == 0 && len(deps[0].Requires) == 0) {
		return
	}
	d := deps[0]
	e.plain("dependencies")
	e.mapStart()
	for _, side := range [...]struct {
		k string
		m map[string][]string
	}{{"buildrequires", d.BuildRequires}, {"requires", d.Requires}} {
		if len(side.m) == 0 {
			continue
		}
		e.plain(side.k)
		e.mapStart()
		for _, mod := range sortedKeys(side.m) {
			e.plain(mod)
			st := ""
			if l := side.m[mod]; len(l) > 0 {
				st = l[0]
			}
			e.plain(st)
		}
		e.mapEnd()
	}
	e.mapEnd()
}

func (e *mmdEmitter) references(community, documentation, tracker string) {
	if community == "" && documentation == "" && tracker == "" {
		return
	}
	e.plain("references")
	e.mapStart()
	e.kvStrIf("community", community)
	e.kvStrIf("documentation", documentation)
	e.kvStrIf("tracker", tracker)
	e.mapEnd()
}

func (e *mmdEmitter) profiles(ps map[string]*Profile) {
	if len(ps) == 0 {
		return
	}
	e.plain("profiles")
	e.mapStart()
	for _, name := range sortedKeys(ps) {
		p := ps[name]
		e.str(name)
		if p.Description == "" && len(p.RPMs) == 0 && !p.Default {
			e.emptyMap()
			continue
		}
		e.mapStart()
		e.kvStrIf("description", p.Description)
		if len(p.RPMs) > 0 {
			e.plain("rpms")
			e.blockList(p.RPMs)
		}
		e.kvTrue("default", p.Default)
		e.mapEnd()
	}
	e.mapEnd()
}

func (e *mmdEmitter) buildopts(b *Buildopts) {
	e.mapStart()
	e.plain("rpms")
	if b.RPMMacros == "" && len(b.RPMWhitelist) == 0 {
		e.emptyMap()
	} else {
		e.mapStart()
		if b.RPMMacros != "" {
			e.plain("macros")
			e.scalar(b.RPMMacros, styleFolded)
		}
		e.blockListIf("whitelist", b.RPMWhitelist)
		e.mapEnd()
	}
	if len(b.Arches) > 0 {
		e.plain("arches")
		e.flowList(b.Arches)
	}
	e.mapEnd()
}

func (e *mmdEmitter) components(rpms map[string]*RPMComponent, mods map[string]*ModuleComponent) {
	if len(rpms) == 0 && len(mods) == 0 {
		return
	}
	e.plain("components")
	e.mapStart()
	if len(rpms) > 0 {
		e.plain("rpms")
		e.mapStart()
		for _, key := range sortedKeys(rpms) {
			c := rpms[key]
			e.str(key)
			if c.Rationale == "" && c.Name == "" && c.Repository == "" && c.Cache == "" && c.Ref == "" &&
				!c.Buildroot && !c.SRPMBuildroot && c.Buildorder == 0 && len(c.Buildafter) == 0 && !c.Buildonly &&
				len(c.Arches) == 0 && len(c.Multilib) == 0 {
				e.emptyMap()
				continue
			}
			e.mapStart()
			e.kvStrIf("rationale", c.Rationale)
			if c.Name != key {
				e.kvStrIf("name", c.Name)
			}
			e.kvStrIf("repository", c.Repository)
			e.kvStrIf("cache", c.Cache)
			e.kvStrIf("ref", c.Ref)
			e.kvTrue("buildroot", c.Buildroot)
			e.kvTrue("srpm-buildroot", c.SRPMBuildroot)
			e.buildorder(c.Buildorder, c.Buildafter)
			e.kvTrue("buildonly", c.Buildonly)
			if len(c.Arches) > 0 {
				e.plain("arches")
				e.flowList(c.Arches)
			}
			if len(c.Multilib) > 0 {
				e.plain("multilib")
				e.flowList(c.Multilib)
			}
			e.mapEnd()
		}
		e.mapEnd()
	}
	if len(mods) > 0 {
		e.plain("modules")
		e.mapStart()
		for _, key := range sortedKeys(mods) {
			c := mods[key]
			e.str(key)
			if c.Rationale == "" && c.Repository == "" && c.Ref == "" && c.Buildorder == 0 && !c.Buildonly {
				e.emptyMap()
				continue
			}
			e.mapStart()
			e.kvStrIf("rationale", c.Rationale)
			e.kvStrIf("repository", c.Repository)
			e.kvStrIf("ref", c.Ref)
			e.buildorder(c.Buildorder, nil)
			e.kvTrue("buildonly", c.Buildonly)
			e.mapEnd()
		}
		e.mapEnd()
	}
	e.mapEnd()
}

func (e *mmdEmitter) buildorder(order int64, after []string) {
	if order != 0 {
		e.kvPlain("buildorder", i64toa(order))
	} else if len(after) > 0 {
		e.plain("buildafter")
		e.seqStart(false)
		for _, a := range after {
			e.plain(a)
		}
		e.seqEnd()
	}
}

func (e *mmdEmitter) rpmMap(m map[string]map[string]*RPMMapEntry) {
	e.plain("rpm-map")
	e.mapStart()
	for _, digest := range sortedKeys(m) {
		e.plain(digest)
		sums := m[digest]
		if len(sums) == 0 {
			e.emptyMap()
			continue
		}
		e.mapStart()
		for _, sum := range sortedKeys(sums) {
			en := sums[sum]
			e.plain(sum)
			e.mapStart()
			e.kvStr("name", en.Name)
			e.kvPlain("epoch", uitoa(en.Epoch))
			e.kvStr("version", en.Version)
			e.kvStr("release", en.Release)
			e.kvStr("arch", en.Arch)
			e.kvStr("nevra", en.Nevra)
			e.mapEnd()
		}
		e.mapEnd()
	}
	e.mapEnd()
}

// xmd writes the generic tree: maps sorted by key, booleans as TRUE/FALSE.
func (e *mmdEmitter) xmd(v any) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			e.emptyMap()
			return
		}
		e.mapStart()
		for _, k := range sortedKeys(x) {
			e.str(k)
			e.xmd(x[k])
		}
		e.mapEnd()
	case []any:
		if len(x) == 0 {
			e.emptySeq()
			return
		}
		e.seqStart(false)
		for _, it := range x {
			e.xmd(it)
		}
		e.seqEnd()
	case bool:
		if x {
			e.plain("TRUE")
		} else {
			e.plain("FALSE")
		}
	case string:
		e.str(x)
	case nil:
		e.str("")
	default:
		e.str(fmt.Sprint(x))
	}
}

func (e *mmdEmitter) emitDefaults(d *Defaults) {
	e.header(DocDefaults, 1)
	e.mapStart()
	e.kvStr("module", d.Module)
	if d.Modified != 0 {
		e.kvPlain("modified", uitoa(d.Modified))
	}
	if d.Stream != "" {
		e.plain("stream")
		e.scalar(d.Stream, styleDouble)
	}
	e.defaultProfiles(d.Profiles)
	if len(d.Intents) > 0 {
		e.plain("intents")
		e.mapStart()
		for _, name := range sortedKeys(d.Intents) {
			in := d.Intents[name]
			e.str(name)
			if in.Stream == "" && len(in.Profiles) == 0 {
				e.emptyMap()
				continue
			}
			e.mapStart()
			if in.Stream != "" {
				e.plain("stream")
				e.scalar(in.Stream, styleDouble)
			}
			e.defaultProfiles(in.Profiles)
			e.mapEnd()
		}
		e.mapEnd()
	}
	e.mapEnd()
	e.footer()
}

func (e *mmdEmitter) defaultProfiles(p map[string][]string) {
	if len(p) == 0 {
		return
	}
	e.plain("profiles")
	e.mapStart()
	for _, st := range sortedKeys(p) {
		e.str(st)
		e.flowList(p[st])
	}
	e.mapEnd()
}

func (e *mmdEmitter) emitObsoletes(o *Obsoletes) {
	e.header(DocObsoletes, 1)
	e.mapStart()
	e.kvPlain("modified", formatStamp(o.Modified))
	e.kvTrue("reset", o.Reset)
	e.kvStr("module", o.Module)
	e.plain("stream")
	e.scalar(o.Stream, styleDouble)
	e.kvStrIf("context", o.Context)
	if o.EOLDate != 0 {
		e.kvPlain("eol_date", formatStamp(o.EOLDate))
	}
	e.kvStr("message", o.Message)
	if o.ObsoletedByModule != "" && o.ObsoletedByStream != "" {
		e.plain("obsoleted_by")
		e.mapStart()
		e.kvStr("module", o.ObsoletedByModule)
		e.plain("stream")
		e.scalar(o.ObsoletedByStream, styleDouble)
		e.mapEnd()
	}
	e.mapEnd()
	e.footer()
}

func (e *mmdEmitter) emitTranslation(t *Translation) {
	e.header(DocTranslations, 1)
	e.mapStart()
	e.kvStr("module", t.Module)
	e.plain("stream")
	e.scalar(t.Stream, styleDouble)
	e.kvPlain("modified", uitoa(t.Modified))
	if len(t.Entries) > 0 {
		e.plain("translations")
		e.mapStart()
		for _, loc := range t.locales() {
			en := t.Entries[loc]
			e.str(loc)
			if en.Summary == "" && en.Description == "" && len(en.Profiles) == 0 {
				e.emptyMap()
				continue
			}
			e.mapStart()
			e.kvStrIf("summary", en.Summary)
			e.kvStrIf("description", en.Description)
			if len(en.Profiles) > 0 {
				e.plain("profiles")
				e.mapStart()
				for _, p := range sortedKeys(en.Profiles) {
					e.str(p)
					e.str(en.Profiles[p])
				}
				e.mapEnd()
			}
			e.mapEnd()
		}
		e.mapEnd()
	}
	e.mapEnd()
	e.footer()
}

func (e *mmdEmitter) emitPackagerV3(pk *PackagerV3) {
	e.header(DocPackager, 3)
	e.mapStart()
	if pk.Name != "" {
		e.kvPlain("name", pk.Name)
	}
	if pk.Stream != "" {
		e.plain("stream")
		e.scalar(pk.Stream, styleDouble)
	}
	e.kvPlain("summary", pk.Summary)
	e.plain("description")
	e.scalar(pk.Description, styleFolded)
	e.blockListIf("license", pk.Licenses)
	if pk.XMD != nil {
		e.plain("xmd")
		e.xmd(pk.XMD)
	}
	if len(pk.Configurations) > 0 {
		e.plain("configurations")
		e.seqStart(false)
		for _, ctx := range sortedKeys(pk.Configurations) {
			bc := pk.Configurations[ctx]
			e.mapStart()
			e.kvStr("context", bc.Context)
			e.kvStr("platform", bc.Platform)
			for _, side := range [...]struct {
				k string
				m map[string]string
			}{{"buildrequires", bc.BuildRequires}, {"requires", bc.Requires}} {
				if len(side.m) == 0 {
					continue
				}
				e.plain(side.k)
				e.mapStart()
				for _, m := range sortedKeys(side.m) {
					e.str(m)
					e.flowList([]string{side.m[m]})
				}
				e.mapEnd()
			}
			if bc.Buildopts != nil {
				e.plain("buildopts")
				e.buildopts(bc.Buildopts)
			}
			e.mapEnd()
		}
		e.seqEnd()
	}
	e.references(pk.Community, pk.Documentation, pk.Tracker)
	e.profiles(pk.Profiles)
	e.rpmsSection("api", pk.APIRPMs)
	e.rpmsSection("filter", pk.FilterRPMs)
	e.rpmsSection("demodularized", pk.DemodularizedRPMs)
	e.components(pk.RPMComponents, pk.ModuleComponents)
	e.mapEnd()
	e.footer()
}

func newMMDEmitter(v EmitVersion, size int) *mmdEmitter {
	return &mmdEmitter{yamlEmitter: newYAMLEmitter(size), v: v}
}

// emitStreamBytes serialises one stream (used to compare content).
func emitStreamBytes(s *Stream) []byte {
	e := newMMDEmitter(Emit215, 4096)
	e.emitStream(s)
	return e.buf
}

// Emit writes the index the way libmodulemd's ModuleIndex.dump_to_string
// does: modules sorted by name; for each its defaults, obsoletes,
// translations (by stream) and streams (by NSVCA). Every object is validated
// first, and an empty index is an error, as in libmodulemd.
func (idx *Index) Emit(opts EmitOptions) ([]byte, error) {
	if len(idx.modules) == 0 {
		return nil, fmt.Errorf("emit modulemd: index contains no modules")
	}
	var errs ErrorList
	e := newMMDEmitter(opts.Version, idx.sizeHint())
	for _, name := range idx.ModuleNames() {
		m := idx.modules[name]
		if m.Defaults != nil {
			errs = append(errs, Errors(m.Defaults.Validate())...)
			e.emitDefaults(m.Defaults)
		}
		for _, o := range m.Obsoletes {
			errs = append(errs, Errors(o.Validate())...)
			e.emitObsoletes(o)
		}
		for _, st := range sortedKeys(m.Translations) {
			t := m.Translations[st]
			errs = append(errs, Errors(t.Validate())...)
			e.emitTranslation(t)
		}
		for _, s := range m.sortedStreams() {
			errs = append(errs, Errors(s.Validate())...)
			e.emitStream(s)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("emit modulemd: could not validate: %w", errs)
	}
	return e.buf, nil
}

// MarshalYAML is Emit with the default (libmodulemd 2.15) layout.
func (idx *Index) MarshalYAML() ([]byte, error) { return idx.Emit(EmitOptions{}) }

// Emit writes a single stream as one YAML document, exactly as libmodulemd
// writes it (MBS's mmd_to_str). The stream is validated first.
func (s *Stream) Emit(opts EmitOptions) ([]byte, error) {
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("emit modulemd stream: %w", err)
	}
	e := newMMDEmitter(opts.Version, 8192)
	e.emitStream(s)
	return e.buf, nil
}

// Emit writes the packager v3 document in libmodulemd's layout.
func (pk *PackagerV3) Emit(opts EmitOptions) ([]byte, error) {
	e := newMMDEmitter(opts.Version, 8192)
	e.emitPackagerV3(pk)
	return e.buf, nil
}

// locales returns the locales in the order libmodulemd writes them.
func (t *Translation) locales() []string {
	var keys []string
	for _, k := range t.order {
		if _, ok := t.Entries[k]; ok {
			keys = append(keys, k)
		}
	}
	if len(keys) != len(t.Entries) {
		keys = sortedKeys(t.Entries)
	}
	return ghashOrder(keys)
}

// sizeHint guesses the output size, to avoid growing the buffer many times.
func (idx *Index) sizeHint() int {
	n := 0
	for _, m := range idx.modules {
		for _, s := range m.Streams {
			n += 1024 + 200*len(s.RPMComponents) + 64*len(s.RPMArtifacts)
		}
		n += 512 * len(m.Obsoletes)
	}
	return n + 4096
}
