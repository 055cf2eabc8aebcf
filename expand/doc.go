// Package expand computes what MBS computes when a module is submitted:
// Module Stream Expansion (one submission → one expanded modulemd per
// combination of buildrequired streams, each with a single-stream dependency
// block and xmd.mbs filled in), and the identity of each build — build,
// runtime and module contexts, the stream-version-prefixed version, Koji tag
// names and the components' dist tag. Every formula reproduces MBS's byte for
// byte (mbs.md §3.2–§3.5, §3.7, §3.9), so a build submitted to rida gets the
// same N:S:V:C it would get from MBS.
//
// The package is pure: candidate module builds come from a Resolver the
// caller provides, and the dependency solving MBS delegates to libsolv is
// done by a SAT solver (gophersat) behind the Solver interface.
package expand
