// Package engine is rida's orchestration core. It holds Service, the
// implementation of rida.ModuleBuildService: reads pass through to the store,
// cancellation applies MBS's rules and commits a compare-and-set transition,
// Submitter runs the submission pipeline (verification, stream expansion,
// create or resume), and Importer stores base modules.
//
// Scheduler drives builds through init → wait → build → done → ready: it
// claims due builds under a lease, and for each repeats observe → decide →
// act → compare-and-set, where decide is a pure function of what the
// database and the backend say (see docs/architecture.md, "The engine").
// Backend is the build system it drives (localbuild's in this repository,
// Koji's next), defined here by its only caller. The pure building blocks of
// the flow live here too: PlanComponents (components into batches by
// buildorder or buildafter) and the module-build-macros generator.
//
// The package imports rida, the pure libraries modulemd and expand, and the
// standard library (plus x/sync); the store, SCM and backends it needs are
// small interfaces defined here, by their caller.
package engine
