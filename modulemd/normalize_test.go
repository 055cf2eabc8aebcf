package modulemd

// Normalisers producing the same JSON shape as modulemd-oracle.py, so that
// the fields rida parsed can be compared with what libmodulemd parsed.

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func strs(l []string) []any {
	out := make([]any, 0, len(l))
	for _, s := range l {
		out = append(out, s)
	}
	return out
}

func normBuildopts(b *Buildopts) any {
	if b == nil {
		return nil
	}
	return map[string]any{"rpm_macros": nullable(b.RPMMacros), "rpm_whitelist": strs(b.RPMWhitelist), "arches": strs(b.Arches)}
}

func normProfiles(ps map[string]*Profile) map[string]any {
	out := map[string]any{}
	for k, p := range ps {
		out[k] = map[string]any{"name": p.Name, "description": nullable(p.Description), "rpms": strs(p.RPMs), "default": p.Default}
	}
	return out
}

func normComponents(rpms map[string]*RPMComponent, mods map[string]*ModuleComponent) map[string]any {
	r := map[string]any{}
	for k, c := range rpms {
		r[k] = map[string]any{
			"key": c.Key, "name": c.PackageName(), "rationale": nullable(c.Rationale), "buildorder": c.Buildorder,
			"buildafter": strs(c.Buildafter), "buildonly": c.Buildonly, "repository": nullable(c.Repository),
			"cache": nullable(c.Cache), "ref": nullable(c.Ref), "buildroot": c.Buildroot, "srpm_buildroot": c.SRPMBuildroot,
			"arches": strs(c.Arches), "multilib": strs(c.Multilib),
		}
	}
	m := map[string]any{}
	for k, c := range mods {
		m[k] = map[string]any{
			"key": c.Key, "name": c.Key, "rationale": nullable(c.Rationale), "buildorder": c.Buildorder,
			"buildafter": []any{}, "buildonly": c.Buildonly, "repository": nullable(c.Repository), "ref": nullable(c.Ref),
		}
	}
	return map[string]any{"rpms": r, "modules": m}
}

func normXMD(v any) any {
	if v == nil {
		return map[string]any{}
	}
	return v
}

func normStream(s *Stream) map[string]any {
	sl := map[string]any{}
	for k, d := range s.ServiceLevels {
		if d.IsZero() {
			sl[k] = nil
		} else {
			sl[k] = d.String()
		}
	}
	var nsvca any
	if s.Name != "" && s.Stream != "" {
		nsvca = s.NSVCA()
	}
	summary, description := any(s.Summary), any(s.Description)
	if s.noSummary {
		summary = nil
	}
	if s.noDescription {
		description = nil
	}
	d := map[string]any{
		"mdversion": s.MdVersion, "name": nullable(s.Name), "stream": nullable(s.Stream), "version": s.Version,
		"context": nullable(s.Context), "arch": nullable(s.Arch), "nsvca": nsvca,
		"summary": summary, "description": description,
		"module_licenses": strs(s.ModuleLicenses), "content_licenses": strs(s.ContentLicenses),
		"servicelevels": sl, "xmd": normXMD(s.XMD),
		"references": map[string]any{"community": nullable(s.Community), "documentation": nullable(s.Documentation), "tracker": nullable(s.Tracker)},
		"profiles":   normProfiles(s.Profiles), "api": strs(s.APIRPMs), "filter": strs(s.FilterRPMs),
		"buildopts": normBuildopts(s.Buildopts), "components": normComponents(s.RPMComponents, s.ModuleComponents),
		"artifacts": strs(s.RPMArtifacts),
	}
	if s.MdVersion == 1 {
		br, rq := map[string]any{}, map[string]any{}
		for _, dep := range s.Dependencies {
			for m, l := range dep.BuildRequires {
				br[m] = l[0]
			}
			for m, l := range dep.Requires {
				rq[m] = l[0]
			}
		}
		d["dependencies"] = map[string]any{"buildrequires": br, "requires": rq}
	} else {
		d["static_context"] = s.StaticContext
		deps := []any{}
		for _, dep := range s.Dependencies {
			br, rq := map[string]any{}, map[string]any{}
			for m, l := range dep.BuildRequires {
				br[m] = strs(l)
			}
			for m, l := range dep.Requires {
				rq[m] = strs(l)
			}
			deps = append(deps, map[string]any{"buildrequires": br, "requires": rq})
		}
		d["dependencies"] = deps
		d["demodularized"] = strs(s.DemodularizedRPMs)
	}
	return d
}

func normDefaultProfiles(p map[string][]string) map[string]any {
	out := map[string]any{}
	for k, v := range p {
		out[k] = strs(v)
	}
	return out
}

func normDefaults(d *Defaults) map[string]any {
	return map[string]any{"mdversion": 1, "module": d.Module, "modified": d.Modified, "stream": nullable(d.Stream), "profiles": normDefaultProfiles(d.Profiles)}
}

func normObsoletes(o *Obsoletes) map[string]any {
	return map[string]any{
		"module": o.Module, "stream": o.Stream, "context": nullable(o.Context), "modified": o.Modified, "reset": o.Reset,
		"eol_date": o.EOLDate, "message": o.Message,
		"obsoleted_by": map[string]any{"module": nullable(o.ObsoletedByModule), "stream": nullable(o.ObsoletedByStream)},
	}
}

func normTranslation(t *Translation) map[string]any {
	entries := map[string]any{}
	for loc, e := range t.Entries {
		pr := map[string]any{}
		for k, v := range e.Profiles {
			pr[k] = v
		}
		entries[loc] = map[string]any{"summary": nullable(e.Summary), "description": nullable(e.Description), "profiles": pr}
	}
	return map[string]any{"module": t.Module, "stream": t.Stream, "modified": t.Modified, "translations": entries}
}

func normPackagerV3(p *PackagerV3) map[string]any {
	bcs := map[string]any{}
	for ctx, bc := range p.Configurations {
		br, rq := map[string]any{}, map[string]any{}
		for m, s := range bc.BuildRequires {
			br[m] = s
		}
		for m, s := range bc.Requires {
			rq[m] = s
		}
		bcs[ctx] = map[string]any{"context": bc.Context, "platform": bc.Platform, "buildrequires": br, "requires": rq, "buildopts": normBuildopts(bc.Buildopts)}
	}
	return map[string]any{
		"mdversion": 3, "name": nullable(p.Name), "stream": nullable(p.Stream), "summary": nullable(p.Summary),
		"description": nullable(p.Description), "module_licenses": strs(p.Licenses), "xmd": normXMD(p.XMD),
		"configurations": bcs,
		"references":     map[string]any{"community": nullable(p.Community), "documentation": nullable(p.Documentation), "tracker": nullable(p.Tracker)},
		"profiles":       normProfiles(p.Profiles), "api": strs(p.APIRPMs), "filter": strs(p.FilterRPMs),
		"components": normComponents(p.RPMComponents, p.ModuleComponents), "demodularized": strs(p.DemodularizedRPMs),
	}
}

// normIndex lists the index contents in dump order, like index_contents().
func normIndex(idx *Index) []any {
	var out []any
	for _, name := range idx.ModuleNames() {
		m := idx.Module(name)
		if m.Defaults != nil {
			out = append(out, map[string]any{"doc_type": DocDefaults, "doc_version": 1, "data": normDefaults(m.Defaults)})
		}
		for _, o := range m.Obsoletes {
			out = append(out, map[string]any{"doc_type": DocObsoletes, "doc_version": 1, "data": normObsoletes(o)})
		}
		for _, st := range sortedKeys(m.Translations) {
			out = append(out, map[string]any{"doc_type": DocTranslations, "doc_version": 1, "data": normTranslation(m.Translations[st])})
		}
		for _, s := range m.sortedStreams() {
			out = append(out, map[string]any{"doc_type": DocModulemd, "doc_version": s.MdVersion, "data": normStream(s)})
		}
	}
	return out
}
