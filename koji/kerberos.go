package koji

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	krbclient "github.com/jcmturner/gokrb5/v8/client"
	krbconfig "github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/keytab"
	"github.com/jcmturner/gokrb5/v8/krberror"
	"github.com/jcmturner/gokrb5/v8/spnego"
	"github.com/jcmturner/gokrb5/v8/types"

	"github.com/rida-build/rida"
)

// Kerberos login (authtype = kerberos), as the koji client's gssapi_login:
// sslLogin POSTed to <hub>/ssllogin with "Authorization: Negotiate <SPNEGO
// token>"; the web server in front of the hub (mod_auth_gssapi) checks the
// ticket and hands the principal to the hub, which maps it to a user.
//
// Credentials come from the profile's keytab as its principal when both are
// set, else from the user's credential cache: KRB5CCNAME, or
// FILE:/tmp/krb5cc_<uid> when unset. Only FILE: caches can be read from Go
// (gokrb5); KEYRING:, KCM:, DIR: and MEMORY: caches are refused, saying so.
// The Kerberos configuration is KRB5_CONFIG (the first file of the list that
// exists) or /etc/krb5.conf.
//
// The hub's principal is <krbservice>/<host of the server URL>, krbservice
// defaulting to HTTP as requests-gssapi's does; krb_canon_host=true replaces
// the host by its DNS canonical name first. The realm of that principal comes
// from krb5.conf's [domain_realm] (else the default realm). Not supported:
// krb_rdns (reverse DNS: rida never does it, as krb5.conf's rdns = false) and
// krb_server_realm.

// defaultKrbService is the service of the hub's principal when the profile
// has no krbservice: requests-gssapi's default, which the koji client's
// GSSAPI login uses (koji's own krbservice default, host, belonged to its
// removed krbV login).
const defaultKrbService = "HTTP"

// checkKerberosProfile refuses what cannot work before any login.
func checkKerberosProfile(p Profile) error {
	if p.Keytab != "" && p.Principal == "" {
		return rida.Errorf(rida.CodeInvalid, "Koji profile %q: authtype kerberos with a keytab needs principal (the keytab's client principal, e.g. rida/host.example.org@EXAMPLE.ORG); without keytab rida uses the credential cache", p.Name)
	}
	if strings.ContainsAny(p.KrbService, "/@ ") {
		return rida.Errorf(rida.CodeInvalid, "Koji profile %q: krbservice %q: want a service name such as HTTP or host", p.Name, p.KrbService)
	}
	return nil
}

// kerberosSession is the Kerberos side of one login: a gokrb5 client with a
// ticket-granting ticket, and the hub's principal.
type kerberosSession struct {
	cl      *krbclient.Client
	spn     string
	who     string // the client principal, user@REALM
	source  string // keytab or credential cache it came from, for errors
	profile string
}

// kerberosLogin gets the client's credentials ready for a login (a TGT from
// the keytab, or the one in the credential cache) and works out the hub's
// principal. close releases them.
func (c *Client) kerberosLogin(ctx context.Context) (*kerberosSession, error) {
	p := c.profile
	cfg, err := loadKrb5Conf()
	if err != nil {
		return nil, rida.Errorf(rida.CodeInvalid, "Koji profile %q: kerberos login: %v", p.Name, err)
	}
	spn, err := hubPrincipal(ctx, p)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(p.Server, "http:") {
		// The koji client switches a GSSAPI login to https; rida keeps
		// the profile's URL (test hubs), but says what that exposes.
		c.log.WarnContext(ctx, "Kerberos login to Koji over plain http: the token and the session key travel unencrypted", "hub", c.url)
	}
	quiet := krbclient.Logger(log.New(io.Discard, "", 0))
	// FAST needs an armor ticket gokrb5 cannot make; MIT KDCs do not
	// require it.
	noFAST := krbclient.DisablePAFXFAST(true)
	k := &kerberosSession{spn: spn, profile: p.Name}
	if p.Keytab != "" {
		kt, err := keytab.Load(p.Keytab)
		if err != nil {
			return nil, rida.Errorf(rida.CodeInvalid, "Koji profile %q: kerberos keytab %s: %v", p.Name, p.Keytab, err)
		}
		name, realm := splitPrincipal(p.Principal, cfg.LibDefaults.DefaultRealm)
		if realm == "" {
			return nil, rida.Errorf(rida.CodeInvalid, "Koji profile %q: principal %q has no realm and krb5.conf no default_realm", p.Name, p.Principal)
		}
		k.who, k.source = name+"@"+realm, "keytab "+p.Keytab
		k.cl = krbclient.NewWithKeytab(name, realm, kt, cfg, noFAST, quiet)
		if err := k.cl.Login(); err != nil {
			k.close()
			return nil, kerberosError(p.Name, fmt.Sprintf("getting a ticket for %s from %s", k.who, k.source), err)
		}
		return k, nil
	}
	path, err := ccachePath(os.Getenv("KRB5CCNAME"))
	if err != nil {
		return nil, rida.Errorf(rida.CodeInvalid, "Koji profile %q: %v", p.Name, err)
	}
	k.source = "credential cache FILE:" + path
	cc, err := credentials.LoadCCache(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, rida.Errorf(rida.CodeUnauthorized, "Koji profile %q: no Kerberos ticket: %s does not exist (run kinit, or set keytab and principal in the profile)", p.Name, k.source)
	}
	if err != nil {
		return nil, rida.Errorf(rida.CodeInvalid, "Koji profile %q: reading %s: %v", p.Name, k.source, err)
	}
	k.who = cc.DefaultPrincipal.PrincipalName.PrincipalNameString() + "@" + cc.DefaultPrincipal.Realm
	if p.Principal != "" {
		name, realm := splitPrincipal(p.Principal, cfg.LibDefaults.DefaultRealm)
		if want := name + "@" + realm; want != k.who {
			return nil, rida.Errorf(rida.CodeUnauthorized, "Koji profile %q: principal is %s but %s holds tickets of %s (kinit %s, or set keytab)", p.Name, want, k.source, k.who, want)
		}
	}
	if err := checkTGT(cc, time.Now()); err != nil {
		return nil, rida.Errorf(rida.CodeUnauthorized, "Koji profile %q: %s in %s: %v (run kinit %s)", p.Name, k.who, k.source, err, k.who)
	}
	k.cl, err = krbclient.NewFromCCache(cc, cfg, noFAST, quiet)
	if err != nil {
		return nil, rida.Errorf(rida.CodeInvalid, "Koji profile %q: %s: %v", p.Name, k.source, err)
	}
	return k, nil
}

// authorize puts a new SPNEGO token for the hub on r. The first call asks
// the KDC for the hub's service ticket; later ones (retries) reuse it with
// a new authenticator.
func (k *kerberosSession) authorize(r *http.Request) error {
	if _, _, err := k.cl.GetServiceTicket(k.spn); err != nil {
		return kerberosError(k.profile, fmt.Sprintf("getting a ticket for the hub's principal %s as %s", k.spn, k.who), err)
	}
	if err := spnego.SetSPNEGOHeader(k.cl, r, k.spn); err != nil {
		return rida.Errorf(rida.CodeUnauthorized, "Koji profile %q: Kerberos token for %s as %s: %v", k.profile, k.spn, k.who, err)
	}
	return nil
}

// explain words the hub's refusals of a Kerberos login.
func (k *kerberosSession) explain(err error) error {
	if err == nil {
		return nil
	}
	var se *httpStatusError
	if errors.As(err, &se) && (se.status == http.StatusUnauthorized || se.status == http.StatusForbidden) {
		return &rida.Error{Code: rida.CodeUnauthorized, Err: err,
			Message: fmt.Sprintf("Koji profile %q: the hub refused the Kerberos ticket of %s for %s (is %s the principal in the hub's keytab? set krbservice)", k.profile, k.who, k.spn, k.spn)}
	}
	var fe *FaultError
	if errors.As(err, &fe) && fe.Code == FaultAuth {
		return &rida.Error{Code: rida.CodeUnauthorized, Err: err,
			Message: fmt.Sprintf("Koji profile %q: the hub refused the Kerberos login of %s", k.profile, k.who)}
	}
	return err
}

// close stops gokrb5's TGT renewal and drops the keys.
func (k *kerberosSession) close() {
	if k.cl != nil {
		k.cl.Destroy()
	}
}

// hubPrincipal is the hub's service principal: <krbservice>/<host>.
func hubPrincipal(ctx context.Context, p Profile) (string, error) {
	u, err := url.Parse(p.Server)
	if err != nil || u.Hostname() == "" {
		return "", rida.Errorf(rida.CodeInvalid, "Koji profile %q: server %q has no host name for the hub's Kerberos principal", p.Name, p.Server)
	}
	host := strings.ToLower(u.Hostname())
	if p.KrbCanonHost && net.ParseIP(host) == nil {
		cname, err := net.DefaultResolver.LookupCNAME(ctx, host)
		if err != nil {
			return "", rida.Errorf(rida.CodeUnavailable, "Koji profile %q: krb_canon_host: canonical name of %s: %v", p.Name, host, err)
		}
		host = strings.ToLower(strings.TrimSuffix(cname, "."))
	}
	service := p.KrbService
	if service == "" {
		service = defaultKrbService
	}
	return service + "/" + host, nil
}

// loadKrb5Conf reads KRB5_CONFIG (the first file of its list that exists)
// or /etc/krb5.conf. Directives gokrb5 does not know are ignored, as MIT's
// library ignores unknown relations.
func loadKrb5Conf() (*krbconfig.Config, error) {
	path := "/etc/krb5.conf"
	if env := os.Getenv("KRB5_CONFIG"); env != "" {
		list := strings.Split(env, ":")
		path = list[0]
		for _, p := range list {
			if _, err := os.Stat(p); err == nil {
				path = p
				break
			}
		}
	}
	cfg, err := krbconfig.Load(path)
	var unsupported krbconfig.UnsupportedDirective
	if err != nil && !errors.As(err, &unsupported) {
		return nil, fmt.Errorf("krb5.conf %s (KRB5_CONFIG): %v", path, err)
	}
	return cfg, nil
}

// ccachePath is the file of a KRB5CCNAME value: FILE:<path> or a bare
// path; empty is MIT's default, /tmp/krb5cc_<uid>. Other cache types live
// in the kernel keyring, a KCM daemon, a directory collection or memory,
// which Go cannot read.
func ccachePath(name string) (string, error) {
	if name == "" {
		return "/tmp/krb5cc_" + strconv.Itoa(os.Getuid()), nil
	}
	if path, ok := strings.CutPrefix(name, "FILE:"); ok {
		return path, nil
	}
	if typ, _, ok := strings.Cut(name, ":"); ok && !strings.HasPrefix(name, "/") {
		return "", fmt.Errorf("KRB5CCNAME=%s: rida reads only FILE: Kerberos credential caches, not %s: ones (run KRB5CCNAME=FILE:/tmp/krb5cc_$(id -u) kinit, and give rida the same KRB5CCNAME; or set keytab and principal in the profile)", name, typ)
	}
	return name, nil
}

// checkTGT finds the cache's ticket-granting ticket and checks its times.
func checkTGT(cc *credentials.CCache, now time.Time) error {
	realm := cc.DefaultPrincipal.Realm
	tgt, ok := cc.GetEntry(types.PrincipalName{NameType: nametype.KRB_NT_SRV_INST, NameString: []string{"krbtgt", realm}})
	if !ok {
		return fmt.Errorf("no ticket-granting ticket for %s", realm)
	}
	if !tgt.EndTime.After(now) {
		return fmt.Errorf("the ticket-granting ticket expired at %s", tgt.EndTime.UTC().Format(time.RFC3339))
	}
	return nil
}

// splitPrincipal splits name@REALM, the realm defaulting to def.
func splitPrincipal(principal, def string) (name, realm string) {
	if i := strings.LastIndexByte(principal, '@'); i >= 0 {
		return principal[:i], principal[i+1:]
	}
	return principal, def
}

// kerberosError words a gokrb5 failure: the KDC unreachable is
// unavailable (later may work), anything else (unknown principal, wrong
// key, expired ticket) is the credentials' fault.
func kerberosError(profile, doing string, err error) error {
	code := rida.CodeUnauthorized
	var ke krberror.Krberror
	if errors.As(err, &ke) {
		switch ke.RootCause {
		case krberror.NetworkingError:
			return &rida.Error{Code: rida.CodeUnavailable, Err: err, Message: fmt.Sprintf("Koji profile %q: %s: the KDC is unreachable", profile, doing)}
		case krberror.ConfigError:
			code = rida.CodeInvalid
		}
	}
	return &rida.Error{Code: code, Message: fmt.Sprintf("Koji profile %q: %s: %s", profile, doing, krbReason(err))}
}

// krbReason is the part of a gokrb5 error a user can act on: gokrb5 stacks
// layers of context ("[Root cause: X] a < b < reason"), the last is the
// cause, and a KDC's refusal is its KRB Error.
func krbReason(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, " < "); i >= 0 {
		msg = msg[i+3:]
	}
	if i := strings.LastIndex(msg, "KRB Error: "); i >= 0 {
		msg = msg[i:]
	}
	var ke krberror.Krberror
	if errors.As(err, &ke) {
		msg = strings.TrimPrefix(strings.TrimPrefix(msg, "[Root cause: "+ke.RootCause+"] "), ke.RootCause+": ")
		if ke.RootCause == krberror.DecryptingError && strings.Contains(msg, "AS_REP") {
			msg += " (the keytab's key is not the KDC's: export the keytab again)"
		}
	}
	return msg
}

// httpStatusError is an HTTP error status other than 5xx from the hub (or
// the web server in front of it).
type httpStatusError struct {
	method string
	status int
	msg    string
}

func (e *httpStatusError) Error() string {
	return fmt.Sprintf("koji %s: HTTP %d: %s", e.method, e.status, e.msg)
}
