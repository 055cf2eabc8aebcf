// Package rida is the domain of the rida module build orchestrator: module
// builds and their component builds, their states and the transitions between
// them, the events every transition emits, and the one error type the whole
// service speaks.
//
// Glossary:
//
//   - module: a set of RPM packages built together, identified by name and
//     stream and described by a modulemd YAML document.
//   - module build: one build of a module at a version and context (N:S:V:C).
//   - component build: one RPM package built for a module build, in a batch.
//   - NVR: name-version-release of a Koji build; a module's NVR is
//     name-stream(with - → _)-version.context.
//   - task: a Koji (or local) build task of a component.
//
// This package imports only the standard library. Adapters (sqlstore,
// httpapi, ...) depend on it; it depends on none of them.
package rida

import "runtime/debug"

// Version is the version of rida, injected at build time with
// -ldflags "-X github.com/rida-build/rida.Version=...". When it is empty the
// module version recorded by the Go toolchain is used (see BuildVersion).
var Version string

// BuildVersion returns the version of the running binary: the injected
// Version if set, else the main module version from the build info, else
// "devel".
func BuildVersion() string {
	if Version != "" {
		return Version
	}
	if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "devel"
}
