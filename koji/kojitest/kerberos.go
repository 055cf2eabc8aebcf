package kojitest

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"slices"
	"strings"

	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/service"

	"github.com/rida-build/rida/internal/negotiate"
)

// The hub's GSSAPI login, as Apache's mod_auth_gssapi on /ssllogin and
// sslLogin do it together: with Options.KerberosKeytab, a request to
// <URL>/ssllogin carrying "Authorization: Negotiate <token>" has its
// Kerberos ticket checked against the keytab (any service principal the
// keytab has keys for, as mod_auth_gssapi with GssapiCredStore keytab:
// does), and sslLogin then logs in the principal as Koji does for REMOTE_USER:
// authtype GSSAPI (3), the user named by the part before "@" (created when
// missing, LoginCreatesUser). A token that fails the check makes sslLogin
// answer AuthError "GSSAPI authentication failed: <reason>" (a real hub's
// Apache answers HTTP 401 before the hub sees the request); a request
// without one goes on to the certificate checks, as on a real hub.

// authtypeGSSAPI is koji.AUTHTYPES['GSSAPI'].
const authtypeGSSAPI = 3

// kerberosAcceptor checks Negotiate tokens against the hub's keytab.
type kerberosAcceptor struct {
	keytab *keytab.Keytab
	// realms are AllowedKrbRealms; empty allows any ('*').
	realms []string
}

// newKerberosAcceptor loads Options.KerberosKeytab; nil without one.
func newKerberosAcceptor(opts Options) *kerberosAcceptor {
	if opts.KerberosKeytab == "" {
		return nil
	}
	kt, err := keytab.Load(opts.KerberosKeytab)
	if err != nil {
		panic(fmt.Sprintf("kojitest: KerberosKeytab %s: %v", opts.KerberosKeytab, err))
	}
	a := &kerberosAcceptor{keytab: kt}
	if opts.KerberosRealm != "" {
		a.realms = []string{opts.KerberosRealm}
	}
	return a
}

// remoteUser is what mod_auth_gssapi tells the hub about a request on
// /ssllogin: the client principal ("alice@REALM") of a valid Negotiate
// token, or why the token was refused. Both are empty without a token (or
// without a keytab, or on another path).
func (a *kerberosAcceptor) remoteUser(r *http.Request) (principal, refused string) {
	if a == nil || !strings.HasSuffix(r.URL.Path, "/ssllogin") {
		return "", ""
	}
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Negotiate") {
		return "", ""
	}
	apReq, err := negotiate.APReq(strings.TrimSpace(token))
	if err != nil {
		return "", "invalid Negotiate token: " + err.Error()
	}
	settings := service.NewSettings(a.keytab,
		service.Logger(log.New(io.Discard, "", 0)),
		// MIT KDCs may add a PAC gokrb5 cannot always check; Koji has no
		// use for it.
		service.DecodePAC(false))
	ok, creds, err := service.VerifyAPREQ(&apReq.APReq, settings)
	if err != nil || !ok {
		reason := "the ticket is not valid"
		if err != nil {
			reason = err.Error()
			if i := strings.LastIndex(reason, " < "); i >= 0 {
				reason = reason[i+3:]
			}
			if i := strings.LastIndex(reason, "KRB Error: "); i >= 0 {
				reason = reason[i:]
			}
		}
		return "", reason
	}
	return creds.CName().PrincipalNameString() + "@" + creds.Realm(), ""
}

// gssapiUser is sslLogin's REMOTE_USER branch: the user a GSSAPI login of
// this request names, nil when the request carries no Kerberos identity
// (the certificate checks apply then).
func (c *call) gssapiUser(a args) (*user, *hubErr) {
	h := c.h
	if h.krbRefused != "" {
		return nil, authErr("GSSAPI authentication failed: %s", h.krbRefused)
	}
	principal := h.krbPrincipal
	if principal == "" {
		return nil, nil
	}
	if truthy(a.get("proxyuser")) {
		return nil, authErr("%s is not authorized to login other users", principal)
	}
	at := strings.IndexByte(principal, '@')
	if at <= 0 || at == len(principal)-1 {
		return nil, authErr("invalid Kerberos principal: %s", principal)
	}
	if realm := principal[at+1:]; h.krb.realms != nil && !slices.Contains(h.krb.realms, realm) {
		return nil, authErr("Kerberos principal's realm: %s is not allowed", realm)
	}
	name := principal[:at]
	u := h.userByName[name]
	if u == nil { // LoginCreatesUser: createUserFromKerberos
		c.changed()
		u = h.addUser(User{Name: name})
	}
	return u, nil
}
