// Package koji is rida's adapter for a Koji hub: its configuration
// (koji.conf-style profiles, so an existing Koji client setup works as it
// is) and, built on internal/xmlrpc, the hub client and the engine's Koji
// backend (issue 6). Koji's states are mapped to rida's in this package
// only.
//
// The client logs in as the profile's authtype says: password (login),
// ssl (a client certificate, sslLogin on <hub>/ssllogin) or kerberos
// (sslLogin on <hub>/ssllogin with an "Authorization: Negotiate" SPNEGO
// token, as the koji client's GSSAPI login). Kerberos credentials come from
// the profile's keytab and principal, or else from the user's FILE:
// credential cache (KRB5CCNAME); the hub's principal is
// <krbservice, default HTTP>/<hub host> (see kerberos.go). After
// AuthExpired the client logs in again with renew=True and the old session
// headers (a new Kerberos ticket for a Kerberos login) and retries the call.
package koji
