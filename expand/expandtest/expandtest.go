// Package expandtest provides an in-memory expand.Resolver and builders of
// module builds, for tests of Module Stream Expansion and of code that uses
// it. Its queries follow the MBS database queries the interface documents.
package expandtest

import (
	"cmp"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"math"
	"slices"
	"sync"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/expand"
)

// Build is one module build known to the Resolver.
type Build struct {
	expand.Candidate
	// BuiltAgainst are the base module builds it buildrequired
	// (module_builds_to_module_buildrequires).
	BuiltAgainst []expand.NSVC
}

// Resolver is an in-memory expand.Resolver. Builds are kept in insertion
// order, which stands for id order. It is safe for concurrent use.
type Resolver struct {
	mu     sync.RWMutex
	builds []Build
}

var _ expand.Resolver = (*Resolver)(nil)

// New returns a Resolver holding builds.
func New(builds ...Build) *Resolver {
	return &Resolver{builds: builds}
}

// Add records more builds.
func (r *Resolver) Add(builds ...Build) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.builds = append(r.builds, builds...)
}

// Platform returns a ready base module build "platform:<stream>:<version>:00000000"
// with its stream version and virtual streams, as import_mmd records one.
func Platform(stream string, version uint64, virtualStreams ...string) Build {
	var sv *float64
	if v, ok := expand.StreamVersion(stream, true, nil); ok {
		sv = &v
	}
	return Build{Candidate: expand.Candidate{
		NSVC:           expand.NSVC{Name: "platform", Stream: stream, Version: version, Context: expand.DefaultModuleContext},
		State:          rida.ModuleReady,
		StreamVersion:  sv,
		VirtualStreams: virtualStreams,
		KojiTag:        "module-" + stream + "-build",
		Ref:            "virtual",
		MSE:            true,
		BuildRequires:  map[string]string{},
	}}
}

// Module returns a ready build built against base, with runtime requires
// (one dependency block; nil for none), a commit derived from its NSVC and
// its Koji tag.
func Module(name, stream string, version uint64, context string, base expand.NSVC, requires map[string][]string) Build {
	n := expand.NSVC{Name: name, Stream: stream, Version: version, Context: context}
	h := sha1.Sum([]byte(n.String()))
	b := Build{
		Candidate: expand.Candidate{
			NSVC:          n,
			State:         rida.ModuleReady,
			BuildRequires: map[string]string{base.Name: base.Stream},
			KojiTag:       expand.KojiTag(name, stream, version, context, expand.KojiTagMaxLength, false, 0),
			Ref:           hex.EncodeToString(h[:]),
			MSE:           true,
		},
		BuiltAgainst: []expand.NSVC{base},
	}
	if requires != nil {
		b.Requires = []map[string][]string{requires}
	}
	return b
}

// snapshot returns the builds recorded so far; Add only appends, so the
// slice read under the lock stays valid.
func (r *Resolver) snapshot() []Build {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.builds[:len(r.builds):len(r.builds)]
}

// Streams implements expand.Resolver.
func (r *Resolver) Streams(_ context.Context, name string) ([]string, error) {
	var out []string
	for _, b := range r.snapshot() {
		if b.Name == name && b.State == rida.ModuleReady && !slices.Contains(out, b.Stream) {
			out = append(out, b.Stream)
		}
	}
	return out, nil
}

// StreamExists implements expand.Resolver.
func (r *Resolver) StreamExists(_ context.Context, name, stream string) (bool, error) {
	return slices.ContainsFunc(r.snapshot(), func(b Build) bool { return b.Name == name && b.Stream == stream }), nil
}

// LatestWithVirtualStream implements expand.Resolver.
func (r *Resolver) LatestWithVirtualStream(_ context.Context, name, vs string) (string, bool, error) {
	var best *Build
	for _, b := range r.snapshot() {
		if b.Name != name || b.State != rida.ModuleReady || !slices.Contains(b.VirtualStreams, vs) {
			continue
		}
		if best == nil || newer(b, *best) {
			best = &b
		}
	}
	if best == nil {
		return "", false, nil
	}
	return best.Stream, true, nil
}

func sv(b Build) float64 {
	if b.StreamVersion == nil {
		return math.Inf(-1)
	}
	return *b.StreamVersion
}

// newer orders by stream_version, then version, descending.
func newer(a, b Build) bool {
	if c := cmp.Compare(sv(a), sv(b)); c != 0 {
		return c > 0
	}
	return a.Version > b.Version
}

// latest keeps the builds of the newest version per name:stream, all
// contexts, in input order.
func latest(builds []Build) []expand.Candidate {
	maxV := map[string]uint64{}
	for _, b := range builds {
		ns := b.Name + ":" + b.Stream
		if v, ok := maxV[ns]; !ok || b.Version > v {
			maxV[ns] = b.Version
		}
	}
	var out []expand.Candidate
	for _, b := range builds {
		if b.Version == maxV[b.Name+":"+b.Stream] {
			out = append(out, b.Candidate)
		}
	}
	return out
}

// ModuleBuilds implements expand.Resolver.
func (r *Resolver) ModuleBuilds(_ context.Context, name, stream string) ([]expand.Candidate, error) {
	var match []Build
	for _, b := range r.snapshot() {
		if b.Name == name && b.Stream == stream && b.State == rida.ModuleReady {
			match = append(match, b)
		}
	}
	return latest(match), nil
}

// CompatibleBaseModules implements expand.Resolver.
func (r *Resolver) CompatibleBaseModules(_ context.Context, name string, virtualStreams []string, maxStreamVersion float64, state rida.ModuleState) ([]expand.Candidate, error) {
	var match []Build
	for _, b := range r.snapshot() {
		if b.Name != name || b.State != state {
			continue
		}
		if !slices.ContainsFunc(b.VirtualStreams, func(v string) bool { return slices.Contains(virtualStreams, v) }) {
			continue
		}
		if maxStreamVersion != 0 {
			low := math.Floor(maxStreamVersion/10000) * 10000
			if b.StreamVersion == nil || *b.StreamVersion < low || *b.StreamVersion > maxStreamVersion {
				continue
			}
		}
		match = append(match, b)
	}
	slices.SortStableFunc(match, func(a, b Build) int { return cmp.Compare(sv(b), sv(a)) })
	return latest(match), nil
}

// BuildrequiredModules implements expand.Resolver.
func (r *Resolver) BuildrequiredModules(_ context.Context, name, stream string, base expand.NSVC) ([]expand.Candidate, error) {
	var match []Build
	for _, b := range r.snapshot() {
		if b.Name == name && b.Stream == stream && b.State == rida.ModuleReady && slices.Contains(b.BuiltAgainst, base) {
			match = append(match, b)
		}
	}
	return latest(match), nil
}
