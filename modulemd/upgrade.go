package modulemd

import (
	"fmt"
	"maps"
	"slices"
)

// UpgradeV2 returns the stream as metadata version 2, the way libmodulemd's
// modulemd_module_stream_upgrade_v1_to_v2 does: every field is copied, a v1
// `eol` is already the "rawhide" service level, and the v1 dependency
// mapping becomes one dependency block with one-stream lists. A v2 stream is
// returned as is. The receiver is not modified.
func (s *Stream) UpgradeV2() *Stream {
	if s.MdVersion >= 2 {
		return s
	}
	out := *s
	out.MdVersion = 2
	out.StaticContext = false
	// Dependencies are shared by pointer; copy them so that edits to the
	// upgraded stream do not leak into the original.
	out.Dependencies = nil
	for _, d := range s.Dependencies {
		out.Dependencies = append(out.Dependencies, &Dependencies{
			BuildRequires: maps.Clone(d.BuildRequires),
			Requires:      maps.Clone(d.Requires),
		})
	}
	return &out
}

// packagerDefaultLicense is what libmodulemd puts in license.module when a
// packager v3 document lists no license.
const packagerDefaultLicense = "MIT"

// ToStreamV2 converts a packager v3 document into a single stream v2, as
// libmodulemd's modulemd_packager_v3_to_stream_v2 (used by
// ModuleStream.read_string) does: configurations, in context order, become
// dependency blocks with the platform added to both sides; the context is
// kept only when there is exactly one configuration; buildopts come from the
// first configuration (the others are lost, a documented libmodulemd
// limitation); default profile flags are cleared. The result is validated.
func (pk *PackagerV3) ToStreamV2() (*Stream, error) {
	s := pk.baseStream()
	ctxs := sortedKeys(pk.Configurations)
	for i, ctx := range ctxs {
		bc := pk.Configurations[ctx]
		s.Dependencies = append(s.Dependencies, bc.dependencies())
		if i == 0 && bc.Buildopts != nil {
			s.Buildopts = bc.Buildopts.clone()
		}
	}
	if len(ctxs) == 1 {
		s.Context = ctxs[0]
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// ConvertToIndex converts a packager v3 document into an index holding one
// stream v2 per build configuration (context = configuration context) plus,
// when profiles are marked default, a modulemd-defaults document
// (libmodulemd's PackagerV3.convert_to_index).
func (pk *PackagerV3) ConvertToIndex() (*Index, error) {
	if len(pk.Configurations) == 0 {
		return nil, ErrorList{pk.pos.errorAt("data.configurations", "Packager document with no build configurations cannot be converted to stream")}
	}
	idx := NewIndex()
	d, err := pk.Defaults()
	if err != nil {
		return nil, err
	}
	if d != nil {
		if err := idx.AddDefaults(d); err != nil {
			return nil, err
		}
	}
	for _, ctx := range sortedKeys(pk.Configurations) {
		bc := pk.Configurations[ctx]
		s := pk.baseStream()
		s.Context = ctx
		s.Dependencies = []*Dependencies{bc.dependencies()}
		if bc.Buildopts != nil {
			s.Buildopts = bc.Buildopts.clone()
		}
		if err := s.Validate(); err != nil {
			return nil, err
		}
		if err := idx.AddStream(s); err != nil {
			return nil, err
		}
	}
	return idx, nil
}

// Defaults returns the modulemd-defaults document implied by the profiles
// marked `default: true`, or nil when there are none.
func (pk *PackagerV3) Defaults() (*Defaults, error) {
	var profiles []string
	for _, name := range sortedKeys(pk.Profiles) {
		if pk.Profiles[name].Default {
			profiles = append(profiles, name)
		}
	}
	if len(profiles) == 0 {
		return nil, nil
	}
	if pk.Name == "" {
		return nil, ErrorList{pk.pos.errorAt("data.name", fmt.Sprintf("A module name is required when generating a modulemd-defaults document for a default profile %s", profiles[0]))}
	}
	if pk.Stream == "" {
		return nil, ErrorList{pk.pos.errorAt("data.stream", fmt.Sprintf("A module stream is required when generating a modulemd-defaults document for a default profile %s", profiles[0]))}
	}
	return &Defaults{Module: pk.Name, Profiles: map[string][]string{pk.Stream: profiles}, pos: pk.pos}, nil
}

// baseStream copies the fields shared by both conversions.
func (pk *PackagerV3) baseStream() *Stream {
	s := &Stream{
		MdVersion:         2,
		Name:              pk.Name,
		Stream:            pk.Stream,
		Summary:           pk.Summary,
		Description:       pk.Description,
		ModuleLicenses:    slices.Clone(pk.Licenses),
		XMD:               pk.XMD,
		Community:         pk.Community,
		Documentation:     pk.Documentation,
		Tracker:           pk.Tracker,
		APIRPMs:           slices.Clone(pk.APIRPMs),
		FilterRPMs:        slices.Clone(pk.FilterRPMs),
		DemodularizedRPMs: slices.Clone(pk.DemodularizedRPMs),
		RPMComponents:     pk.RPMComponents,
		ModuleComponents:  pk.ModuleComponents,
		pos:               pk.pos,
	}
	if len(s.ModuleLicenses) == 0 {
		s.ModuleLicenses = []string{packagerDefaultLicense}
	}
	if pk.Profiles != nil {
		s.Profiles = make(map[string]*Profile, len(pk.Profiles))
		for k, p := range pk.Profiles {
			c := *p
			c.Default = false
			s.Profiles[k] = &c
		}
	}
	return s
}

// dependencies turns a build configuration into a dependency block: the
// platform plus each module with its single stream, on both sides.
func (bc *BuildConfig) dependencies() *Dependencies {
	d := &Dependencies{
		BuildRequires: map[string][]string{"platform": {bc.Platform}},
		Requires:      map[string][]string{"platform": {bc.Platform}},
	}
	for m, st := range bc.BuildRequires {
		d.BuildRequires[m] = []string{st}
	}
	for m, st := range bc.Requires {
		d.Requires[m] = []string{st}
	}
	return d
}

func (b *Buildopts) clone() *Buildopts {
	c := *b
	c.RPMWhitelist = slices.Clone(b.RPMWhitelist)
	c.Arches = slices.Clone(b.Arches)
	return &c
}
