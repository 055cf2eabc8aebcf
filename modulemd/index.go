package modulemd

import (
	"fmt"
	"slices"
)

// Index holds modulemd objects merged by module name, like libmodulemd's
// ModuleIndex: what a repository's modules.yaml contains.
type Index struct {
	modules map[string]*Module
	// streamMdVersion is the metadata version all streams share; adding a
	// v2 stream (or obsoletes) upgrades every v1 stream, as libmodulemd does.
	streamMdVersion uint64
}

// Module groups everything an index knows about one module name.
type Module struct {
	Name     string
	Defaults *Defaults
	// Obsoletes are kept in insertion order.
	Obsoletes []*Obsoletes
	// Translations are keyed by stream name.
	Translations map[string]*Translation
	// Streams are kept in insertion order; emission sorts them by NSVCA.
	// Add streams with Index.AddStream, which checks for duplicates.
	Streams []*Stream

	// byNSVCA indexes Streams for duplicate detection.
	byNSVCA map[string]*Stream
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{modules: map[string]*Module{}}
}

// ModuleNames returns the module names in byte-wise order.
func (idx *Index) ModuleNames() []string { return sortedKeys(idx.modules) }

// Module returns the module called name, or nil.
func (idx *Index) Module(name string) *Module { return idx.modules[name] }

// StreamMdVersion is the metadata version of the streams in the index
// (0 when it holds none).
func (idx *Index) StreamMdVersion() uint64 { return idx.streamMdVersion }

// Streams returns every stream of the index, modules sorted by name and
// streams by NSVCA (the order in which they are emitted).
func (idx *Index) Streams() []*Stream {
	var out []*Stream
	for _, name := range idx.ModuleNames() {
		out = append(out, idx.modules[name].sortedStreams()...)
	}
	return out
}

func (idx *Index) module(name string) *Module {
	m := idx.modules[name]
	if m == nil {
		m = &Module{Name: name}
		idx.modules[name] = m
	}
	return m
}

// AddDocument adds a parsed, valid document to the index. Packager
// documents are refused, as libmodulemd does: convert them first.
func (idx *Index) AddDocument(d *Document) error {
	switch {
	case d.Type == DocPackager:
		return ErrorList{{File: docFile(d), Line: d.Line, Column: d.Column, Document: d.Index, Field: "document",
			Message: "modulemd-packager document ignored while reading into a module index"}}
	case d.Stream != nil:
		return idx.AddStream(d.Stream)
	case d.Defaults != nil:
		return idx.AddDefaults(d.Defaults)
	case d.Obsoletes != nil:
		return idx.AddObsoletes(d.Obsoletes)
	case d.Translation != nil:
		return idx.AddTranslation(d.Translation)
	}
	return nil
}

func docFile(d *Document) string {
	switch {
	case d.Stream != nil:
		return d.Stream.pos.file
	case d.PackagerV3 != nil:
		return d.PackagerV3.pos.file
	}
	return ""
}

// AddStream adds a stream. It needs a module and a stream name. A stream
// with the same NSVCA and identical content is ignored; with different
// content it is an error.
func (idx *Index) AddStream(s *Stream) error {
	if s.Name == "" || s.Stream == "" {
		return ErrorList{s.pos.errorAt("data", "The module and stream names are required when adding to ModuleIndex.")}
	}
	if s.MdVersion != 1 && s.MdVersion != 2 {
		return ErrorList{s.pos.errorAt("version", "Invalid mdversion for a stream object")}
	}
	if s.MdVersion > idx.streamMdVersion {
		idx.upgradeStreams(s.MdVersion)
	}
	if s.MdVersion < idx.streamMdVersion {
		s = s.UpgradeV2()
	}
	m := idx.module(s.Name)
	nsvca := s.NSVCA()
	if old, ok := m.byNSVCA[nsvca]; ok {
		if string(emitStreamBytes(old)) == string(emitStreamBytes(s)) {
			return nil
		}
		return ErrorList{s.pos.errorAt("data", fmt.Sprintf("Encountered two streams with matching NSVCA %s but differing content", nsvca))}
	}
	if m.byNSVCA == nil {
		m.byNSVCA = map[string]*Stream{}
	}
	m.byNSVCA[nsvca] = s
	m.Streams = append(m.Streams, s)
	return nil
}

func (idx *Index) upgradeStreams(v uint64) {
	if idx.streamMdVersion != 0 && v == 2 {
		for _, m := range idx.modules {
			for i, s := range m.Streams {
				if s.MdVersion < 2 {
					m.Streams[i] = s.UpgradeV2()
					m.byNSVCA[s.NSVCA()] = m.Streams[i]
				}
			}
		}
	}
	idx.streamMdVersion = v
}

// AddDefaults sets the defaults of a module, merging with defaults already
// present with libmodulemd's merge rules.
func (idx *Index) AddDefaults(d *Defaults) error {
	if d.Module == "" {
		return ErrorList{d.pos.errorAt("data.module", "Defaults did not specify a module name.")}
	}
	m := idx.module(d.Module)
	if m.Defaults == nil {
		m.Defaults = d
		return nil
	}
	merged, err := mergeDefaults(m.Defaults, d)
	if err != nil {
		return ErrorList{d.pos.errorAt("data", err.Error())}
	}
	m.Defaults = merged
	return nil
}

// mergeDefaults merges two defaults for the same module: the newer
// `modified` wins; at equal `modified` differing default streams cancel each
// other and differing profile sets are an error.
func mergeDefaults(a, b *Defaults) (*Defaults, error) {
	if a.Modified > b.Modified {
		return a, nil
	}
	if b.Modified > a.Modified {
		return b, nil
	}
	out := &Defaults{Module: a.Module, Modified: a.Modified, Stream: a.Stream, pos: a.pos}
	if a.Stream != b.Stream {
		switch {
		case a.Stream == "":
			out.Stream = b.Stream
		case b.Stream == "":
		default:
			out.Stream = ""
		}
	}
	var err error
	out.Profiles, err = mergeProfileDefaults(a.Module, a.Profiles, b.Profiles)
	if err != nil {
		return nil, err
	}
	if len(a.Intents) > 0 || len(b.Intents) > 0 {
		out.Intents = map[string]*Intent{}
		for k, v := range a.Intents {
			out.Intents[k] = v
		}
		for k, v := range b.Intents {
			old, ok := out.Intents[k]
			if !ok {
				out.Intents[k] = v
				continue
			}
			in := &Intent{Name: k, Stream: old.Stream}
			if old.Stream != v.Stream {
				in.Stream = ""
			}
			if in.Profiles, err = mergeProfileDefaults(a.Module, old.Profiles, v.Profiles); err != nil {
				return nil, err
			}
			out.Intents[k] = in
		}
	}
	return out, nil
}

func mergeProfileDefaults(module string, a, b map[string][]string) (map[string][]string, error) {
	if len(a) == 0 && len(b) == 0 {
		return nil, nil
	}
	out := make(map[string][]string, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if old, ok := out[k]; ok && !slices.Equal(old, v) {
			return nil, fmt.Errorf("profile default mismatch in stream: %s:%s", module, k)
		}
		out[k] = v
	}
	return out, nil
}

// AddObsoletes adds an obsoletes document; one with the same stream,
// context and modified replaces the old one. Obsoletes force stream v2.
func (idx *Index) AddObsoletes(o *Obsoletes) error {
	m := idx.module(o.Module)
	for i, old := range m.Obsoletes {
		if old.Stream == o.Stream && old.Context == o.Context && old.Modified == o.Modified {
			m.Obsoletes = append(m.Obsoletes[:i], m.Obsoletes[i+1:]...)
			break
		}
	}
	m.Obsoletes = append(m.Obsoletes, o)
	if idx.streamMdVersion < 2 {
		idx.upgradeStreams(2)
	}
	return nil
}

// AddTranslation adds a translations document, replacing one for the same
// stream.
func (idx *Index) AddTranslation(t *Translation) error {
	m := idx.module(t.Module)
	if m.Translations == nil {
		m.Translations = map[string]*Translation{}
	}
	m.Translations[t.Stream] = t
	return nil
}

// NSVCA returns name:stream:version:context:arch with empty parts kept and
// trailing colons removed, the key libmodulemd sorts and deduplicates by.
func (s *Stream) NSVCA() string {
	v := ""
	if s.Version != 0 {
		v = uitoa(s.Version)
	}
	out := s.Name + ":" + s.Stream + ":" + v + ":" + s.Context + ":" + s.Arch
	for len(out) > 0 && out[len(out)-1] == ':' {
		out = out[:len(out)-1]
	}
	return out
}

func (m *Module) sortedStreams() []*Stream {
	out := slices.Clone(m.Streams)
	slices.SortStableFunc(out, func(a, b *Stream) int {
		x, y := a.NSVCA(), b.NSVCA()
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	})
	return out
}

func (p *position) errorAt(field, msg string) *Error {
	return &Error{File: p.file, Line: p.line, Column: p.col, Document: p.doc, Field: field, Message: msg}
}
