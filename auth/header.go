package auth

import "strings"

// maxCredentialsLen bounds the credentials of an Authorization header: a
// Kerberos ticket with a large PAC is the biggest legitimate one (tens of
// kilobytes); the HTTP server caps whole headers anyway.
const maxCredentialsLen = 64 << 10

// authCredentials returns the credentials of an Authorization header value of
// the given scheme ("Bearer", "Negotiate"; matched without regard to case,
// RFC 9110 §11.1). ok is false when the header is of another scheme (or
// empty); err is set when it is of this scheme but its credentials are not
// a single non-empty token68 (RFC 9110 §11.2).
func authCredentials(header, scheme string) (cred string, ok bool, err error) {
	name, rest, _ := strings.Cut(header, " ")
	if !strings.EqualFold(name, scheme) {
		return "", false, nil
	}
	cred = strings.Trim(rest, " ")
	switch {
	case cred == "":
		return "", true, errEmptyCredentials
	case len(cred) > maxCredentialsLen:
		return "", true, errLongCredentials
	case !isToken68(cred):
		return "", true, errBadCredentials
	}
	return cred, true, nil
}

// isToken68 reports whether s is RFC 9110's token68: 1*( ALPHA / DIGIT /
// "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isToken68(s string) bool {
	body := strings.TrimRight(s, "=")
	if body == "" {
		return false
	}
	for i := 0; i < len(body); i++ {
		c := body[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~+/", c) >= 0) {
			return false
		}
	}
	return true
}

type headerError string

func (e headerError) Error() string { return string(e) }

const (
	errEmptyCredentials headerError = "the Authorization header names the scheme but carries no credentials"
	errLongCredentials  headerError = "the Authorization header's credentials are too long"
	errBadCredentials   headerError = "the Authorization header's credentials are not a single token (RFC 9110 token68)"
)
