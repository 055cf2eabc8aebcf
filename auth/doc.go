// Package auth decides who a request comes from and what they may do: the
// authenticators of the HTTP API (OIDC bearer tokens checked against the
// issuer's keys or by RFC 7662 introspection, Kerberos SPNEGO with a service
// keytab, TLS client certificates, the user a trusted reverse proxy names in
// a header), the sources of a user's groups (OIDC claims or the proxy's
// groups header, a static mapping file, LDAP behind an expiring cache), the
// policy that turns groups into rights (allowed groups submit, admin groups
// also cancel and resume others' builds and import modules), the per-user
// submission rate limiter, and the client side: transports that add a
// bearer token or a Kerberos ticket to the CLI's requests.
//
// Guard ties the server side together; httpapi calls it through its own
// small interface, and cmd/rida builds it from the configuration. Ownership
// (only the owner or an admin cancels or resumes a build) is checked by the
// engine against the rida.User the HTTP server puts in the request context.
package auth
