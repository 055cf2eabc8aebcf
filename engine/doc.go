// Package engine is rida's orchestration core. It holds Service, the
// implementation of rida.ModuleBuildService: reads pass through to the store,
// cancellation applies MBS's rules and commits a compare-and-set transition,
// Submitter runs the submission pipeline (verification, stream expansion,
// create or resume), and Importer stores base modules. It also holds the
// pure building blocks of the build flow: PlanComponents (components into
// batches by buildorder or buildafter) and the module-build-macros
// generator. The scheduler that drives builds through init → wait → build →
// done → ready joins them here (see docs/architecture.md).
//
// The package imports rida, the pure libraries modulemd and expand, and the
// standard library; the store, SCM and backends it needs are small
// interfaces defined here, by their caller.
package engine
