// Package engine is rida's orchestration core. For now it holds Service, the
// implementation of rida.ModuleBuildService on top of the store: reads pass
// through, and cancellation applies MBS's rules and commits a compare-and-set
// transition. The scheduler that drives builds through init → wait → build →
// done → ready joins it here (see docs/architecture.md).
//
// The package imports only rida and the standard library; the store and
// backends it needs are small interfaces defined here, by their caller.
package engine
