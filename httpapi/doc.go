// Package httpapi is rida's REST interface: the seed API under /rida/ and
// MBS's API under /module-build-service/1/ and /2/, with MBS's JSON shapes,
// and Client, the Go client that implements rida.ModuleBuildService over the
// same routes.
//
// Handlers return errors; one wrapper renders them as MBS's error JSON
// {"status", "error", "message"}, with the HTTP status looked up in the single
// code table in error.go. Every response, including 404, 405, 413 and
// recovered panics, is JSON.
package httpapi
