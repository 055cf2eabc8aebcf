package expand

import (
	"context"
	"strconv"

	"github.com/rida-build/rida"
)

// Resolver is what expansion needs to know about existing module builds: the
// queries MBS's resolver (resolver/base.py, mbs.md §3.21) and models answer
// during Module Stream Expansion. The store implements it over the
// database; expandtest.Resolver implements it in memory.
//
// Methods may be called many times during one expansion and must be safe for
// concurrent use by independent expansions. An error aborts the expansion
// and is returned wrapped; return *rida.Error for errors users should see.
type Resolver interface {
	// Streams returns the streams of name that have a ready build
	// (get_last_build_in_all_streams), used to expand an empty or
	// exclusion-only stream list.
	Streams(ctx context.Context, name string) ([]string, error)

	// StreamExists reports whether any build of name:stream exists, in any
	// state (get_module_count), to tell a real base-module stream from a
	// virtual one.
	StreamExists(ctx context.Context, name, stream string) (bool, error)

	// LatestWithVirtualStream returns the stream of the newest build of name
	// that declares virtualStream in xmd.mbs.virtual_streams (ordered by
	// stream_version, then version, descending), or ok false.
	LatestWithVirtualStream(ctx context.Context, name, virtualStream string) (stream string, ok bool, err error)

	// ModuleBuilds returns all contexts of the newest version among the
	// ready builds of name:stream (get_module_modulemds), newest first.
	ModuleBuilds(ctx context.Context, name, stream string) ([]Candidate, error)

	// CompatibleBaseModules returns the builds of base module name in state
	// that list any of virtualStreams in their xmd.mbs.virtual_streams; when
	// maxStreamVersion is not 0, only those with
	// floor(max/10000)*10000 <= stream_version <= max (same major version).
	// Per stream only the newest version, all its contexts, ordered by
	// stream_version descending (get_last_builds_in_stream_version_lte).
	CompatibleBaseModules(ctx context.Context, name string, virtualStreams []string, maxStreamVersion float64, state rida.ModuleState) ([]Candidate, error)

	// BuildrequiredModules returns all contexts of the newest version among
	// the ready builds of name:stream that were built against exactly the
	// base module build base (get_buildrequired_modulemds).
	BuildrequiredModules(ctx context.Context, name, stream string, base NSVC) ([]Candidate, error)
}

// NSVC identifies one module build.
type NSVC struct {
	Name    string
	Stream  string
	Version uint64
	Context string
}

// String returns name:stream:version:context.
func (n NSVC) String() string {
	return n.Name + ":" + n.Stream + ":" + strconv.FormatUint(n.Version, 10) + ":" + n.Context
}

// Candidate is a module build expansion may choose, with what of its
// modulemd and database row the choice needs.
type Candidate struct {
	NSVC
	State rida.ModuleState

	// Requires are the runtime dependencies of each dependency block of its
	// modulemd (module name → streams, empty meaning any stream).
	Requires []map[string][]string
	// BuildRequires maps each module in its xmd.mbs.buildrequires to the
	// stream it was built against; for base modules that stream gives the
	// version of its requirement on the base module (platform:el8 built
	// against el8.1.0 needs platform:el8 >= 80100).
	BuildRequires map[string]string

	// StreamVersion is the stream_version column, set for base modules.
	StreamVersion *float64
	// VirtualStreams is xmd.mbs.virtual_streams (base modules).
	VirtualStreams []string

	// KojiTag is the koji_tag column, "" for metadata-only modules.
	KojiTag string
	// Ref is xmd.mbs.commit, the commit it was built from.
	Ref string
	// MSE is xmd.mbs.mse: built with Module Stream Expansion.
	MSE bool
	// BusySibling is the state of a sibling build (same N:S:V, other
	// context) that is neither ready nor failed, nil when there is none:
	// MBS refuses to build against a module whose siblings are in flight.
	BusySibling *rida.ModuleState
}
