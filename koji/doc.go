// Package koji is rida's adapter for a Koji hub: its configuration
// (koji.conf-style profiles, so an existing Koji client setup works as it
// is) and, built on internal/xmlrpc, the hub client and the engine's Koji
// backend (issue 6). Koji's states are mapped to rida's in this package
// only.
package koji
