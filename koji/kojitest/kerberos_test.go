package kojitest_test

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"

	krbclient "github.com/jcmturner/gokrb5/v8/client"
	krbconfig "github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/spnego"

	"github.com/rida-build/rida/internal/krb5test"
	"github.com/rida-build/rida/internal/xmlrpc"
	"github.com/rida-build/rida/koji/kojitest"
)

// negotiate is an "Authorization: Negotiate" value for spn from the ticket
// in a kinit'ed cache.
func negotiate(t *testing.T, kdc *krb5test.KDC, ccache, spn string) http.Header {
	t.Helper()
	cfg, err := krbconfig.Load(kdc.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := credentials.LoadCCache(ccache)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := krbclient.NewFromCCache(cc, cfg, krbclient.DisablePAFXFAST(true))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Destroy()
	r, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1/", nil)
	if err := spnego.SetSPNEGOHeader(cl, r, spn); err != nil {
		t.Fatal(err)
	}
	return http.Header{"Authorization": {r.Header.Get("Authorization")}}
}

// sslLogin posts sslLogin to /ssllogin with header.
func (r *rpc) sslLogin(header http.Header, kwargs ...any) (any, error) {
	r.t.Helper()
	body, err := xmlrpc.EncodeCall("sslLogin", kw(append([]any{"proxyuser", nil}, kwargs...)...))
	if err != nil {
		r.t.Fatal(err)
	}
	return r.post("/ssllogin", "text/xml", body, header)
}

// Ensure the hub logs a Kerberos principal in as Koji does for
// mod_auth_gssapi's REMOTE_USER, checking the ticket against its keytab,
// and refuses what Koji refuses.
func TestHub_GSSAPILogin(t *testing.T) {
	kdc := krb5test.Start(t)
	kdc.AddUser(t, "alice", "alice-pw")
	kdc.AddUser(t, "kojiadmin", "admin-pw")
	keytab := kdc.AddService(t, "HTTP/127.0.0.1")
	kdc.AddService(t, "host/127.0.0.1") // known to the KDC, not in the hub's keytab
	alice := kdc.Kinit(t, "alice", "alice-pw")

	hub := kojitest.NewHub(t, kojitest.Options{KerberosKeytab: keytab, KerberosRealm: kdc.Realm})

	t.Run("OK", func(t *testing.T) {
		r := newRPC(t, hub)
		v, err := r.sslLogin(negotiate(t, kdc, alice, "HTTP/127.0.0.1"))
		if err != nil {
			t.Fatal(err)
		}
		r.setSession(v)
		u := r.must("getLoggedInUser")
		if get(u, "name") != "alice" || get(u, "authtype") != int64(3) {
			t.Errorf("getLoggedInUser = %v, want alice with authtype GSSAPI (3)", u)
		}
		// The session renews with a new ticket and the old headers.
		hub.ExpireSession(r.id)
		_, err = r.call("getLoggedInUser")
		wantFault(t, "expired", err, 1007, `session "`+itoa(r.id)+`" has expired`)
		v, err = r.sslLogin(negotiate(t, kdc, alice, "HTTP/127.0.0.1"), "renew", true)
		if err != nil {
			t.Fatal(err)
		}
		if get(v, "session-id") != r.id {
			t.Errorf("renewal gave session %v, want %d", get(v, "session-id"), r.id)
		}
	})
	t.Run("ExistingUser", func(t *testing.T) {
		r := newRPC(t, hub)
		v, err := r.sslLogin(negotiate(t, kdc, kdc.Kinit(t, "kojiadmin", "admin-pw"), "HTTP/127.0.0.1"))
		if err != nil {
			t.Fatal(err)
		}
		r.setSession(v)
		if got := r.must("getPerms"); len(got.([]any)) == 0 {
			t.Errorf("kojiadmin@%s logged in without kojiadmin's permissions: %v", kdc.Realm, got)
		}
	})
	t.Run("ErrWrongService", func(t *testing.T) {
		_, err := newRPC(t, hub).sslLogin(negotiate(t, kdc, alice, "host/127.0.0.1"))
		wantFaultPrefix(t, "ticket for a principal not in the keytab", err, 1002, "GSSAPI authentication failed: ")
	})
	t.Run("ErrGarbage", func(t *testing.T) {
		_, err := newRPC(t, hub).sslLogin(http.Header{"Authorization": {"Negotiate AAAA"}})
		wantFault(t, "garbage token", err, 1002, "GSSAPI authentication failed: invalid Negotiate token: not a Kerberos token")
	})
	t.Run("ErrNoToken", func(t *testing.T) {
		_, err := newRPC(t, hub).sslLogin(nil)
		wantFault(t, "no token", err, 1002, "could not verify client: None")
	})
	t.Run("ErrProxyUser", func(t *testing.T) {
		r := newRPC(t, hub)
		body, _ := xmlrpc.EncodeCall("sslLogin", "bob")
		_, err := r.post("/ssllogin", "text/xml", body, negotiate(t, kdc, alice, "HTTP/127.0.0.1"))
		wantFault(t, "proxyuser", err, 1002, "alice@"+kdc.Realm+" is not authorized to login other users")
	})
	t.Run("ErrRealm", func(t *testing.T) {
		other := kojitest.NewHub(t, kojitest.Options{KerberosKeytab: keytab, KerberosRealm: "OTHER.TEST"})
		_, err := newRPC(t, other).sslLogin(negotiate(t, kdc, alice, "HTTP/127.0.0.1"))
		wantFault(t, "realm", err, 1002, "Kerberos principal's realm: "+kdc.Realm+" is not allowed")
	})
	t.Run("NoKeytab", func(t *testing.T) {
		// Without a keytab the hub knows no GSSAPI: only certificates.
		plain := kojitest.NewHub(t, kojitest.Options{})
		_, err := newRPC(t, plain).sslLogin(negotiate(t, kdc, alice, "HTTP/127.0.0.1"))
		wantFault(t, "no keytab", err, 1002, "could not verify client: None")
	})
}

// Ensure a hub with a keytab still takes certificates and passwords.
func TestHub_GSSAPIOtherLogins(t *testing.T) {
	kdc := krb5test.Start(t)
	hub := kojitest.NewHub(t, kojitest.Options{KerberosKeytab: kdc.AddService(t, "HTTP/127.0.0.1")})
	r := newRPC(t, hub)
	v, err := r.sslLogin(http.Header{kojitest.ClientCertHeader: {"testuser"}})
	if err != nil {
		t.Fatal(err)
	}
	r.setSession(v)
	if u := r.must("getLoggedInUser"); get(u, "name") != "testuser" || get(u, "authtype") != int64(2) {
		t.Errorf("certificate login: %v", u)
	}
	newRPC(t, hub).login("kojiadmin", "kojiadmin")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// wantFaultPrefix checks that err is a fault with the code whose message
// starts with prefix.
func wantFaultPrefix(t *testing.T, what string, err error, code int, prefix string) {
	t.Helper()
	var f *xmlrpc.Fault
	if !errors.As(err, &f) || f.Code != code || !strings.HasPrefix(f.String, prefix) {
		t.Errorf("%s: err = %v, want fault %d %q…", what, err, code, prefix)
		return
	}
	t.Logf("%s: %s", what, f.String)
}
