package koji_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/etypeID"
	"github.com/jcmturner/gokrb5/v8/keytab"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/internal/krb5test"
	"github.com/rida-build/rida/koji"
	"github.com/rida-build/rida/koji/kojitest"
)

// krbHub is a KDC with the users alice and rida (a service account with a
// keytab), and a fake hub whose keytab holds HTTP/127.0.0.1, the principal
// rida asks a ticket for by default.
type krbHub struct {
	kdc        *krb5test.KDC
	hub        *kojitest.FakeHub
	hubKeytab  string
	ridaKeytab string
}

func newKrbHub(t *testing.T) *krbHub {
	t.Helper()
	kdc := krb5test.Start(t)
	kdc.AddUser(t, "alice", "alice-pw")
	k := &krbHub{kdc: kdc, hubKeytab: kdc.AddService(t, "HTTP/127.0.0.1"), ridaKeytab: kdc.AddService(t, "rida")}
	k.hub = kojitest.NewHub(t, kojitest.Options{KerberosKeytab: k.hubKeytab, KerberosRealm: kdc.Realm})
	t.Setenv("KRB5_CONFIG", kdc.ConfigPath)
	return k
}

// client is a client of the hub for a kerberos profile.
func (k *krbHub) client(t *testing.T, p koji.Profile) *koji.Client {
	t.Helper()
	p.Name, p.Server, p.AuthType, p.MaxRetries = "krb", k.hub.URL(), koji.AuthKerberos, 1
	c, err := koji.NewClient(koji.ClientConfig{Profile: p, HTTPClient: k.hub.Client()})
	if err != nil {
		t.Fatalf("NewClient(authtype kerberos) = %v", err)
	}
	return c
}

// whoami is the hub's getLoggedInUser: name and authtype.
func whoami(t *testing.T, c *koji.Client) (string, int64) {
	t.Helper()
	var u struct {
		Name     string `xmlrpc:"name"`
		AuthType int64  `xmlrpc:"authtype"`
	}
	if err := c.CallInto(t.Context(), &u, "getLoggedInUser"); err != nil {
		t.Fatalf("getLoggedInUser: %v", err)
	}
	return u.Name, u.AuthType
}

// kinit runs MIT kinit for principal into a new FILE: cache with extra
// arguments (krb5test.Kinit takes none).
func kinit(t *testing.T, kdc *krb5test.KDC, principal, password string, args ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ccache")
	cmd := exec.CommandContext(t.Context(), "kinit", append(append(args, "-c", "FILE:"+path), principal)...)
	cmd.Env = kdc.Env()
	cmd.Stdin = strings.NewReader(password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kinit %s: %v\n%s", principal, err, out)
	}
	return path
}

// kadmin runs a kadmin.local query on the KDC.
func kadmin(t *testing.T, kdc *krb5test.KDC, query string) {
	t.Helper()
	tool := "kadmin.local"
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		if _, err := os.Stat(filepath.Join(dir, tool)); err == nil {
			tool = filepath.Join(dir, tool)
			break
		}
	}
	cmd := exec.CommandContext(t.Context(), tool, "-r", kdc.Realm, "-q", query)
	cmd.Env = kdc.Env()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kadmin.local %s: %v\n%s", query, err, out)
	}
}

// wantErr checks err's rida code and that its message says each of says.
func wantErr(t *testing.T, what string, err error, code rida.ErrorCode, says ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: no error, want %s", what, code)
	}
	if got := rida.ErrorCodeOf(err); got != code {
		t.Errorf("%s: code %s, want %s (%v)", what, got, code, err)
	}
	for _, s := range says {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("%s: %q does not say %q", what, err, s)
		}
	}
	t.Logf("%s: %v", what, err)
}

// Ensure a service account logs in from its keytab as the koji client's
// gssapi_login does: sslLogin on /ssllogin with a Negotiate header and no
// session headers, the principal's user logged in with authtype GSSAPI.
func TestKerberos_LoginFromKeytab(t *testing.T) {
	k := newKrbHub(t)
	c := k.client(t, koji.Profile{Principal: "rida@" + k.kdc.Realm, Keytab: k.ridaKeytab})
	if err := c.Login(t.Context()); err != nil {
		t.Fatalf("Login = %v", err)
	}
	if name, authtype := whoami(t, c); name != "rida" || authtype != 3 {
		t.Errorf("logged in as %s (authtype %d), want rida (3, GSSAPI)", name, authtype)
	}
	calls := k.hub.Calls()
	login := calls[0]
	if login.Method != "sslLogin" || login.Path != "/kojihub/ssllogin" {
		t.Errorf("login was %s on %s, want sslLogin on /kojihub/ssllogin", login.Method, login.Path)
	}
	if !strings.HasPrefix(login.Header.Get("Authorization"), "Negotiate ") || login.Header.Get("Koji-Session-Id") != "" {
		t.Errorf("login headers %v: want a Negotiate token and no session", login.Header)
	}
	if a := calls[1].Header.Get("Authorization"); a != "" {
		t.Errorf("a call after the login carried Authorization %q", a)
	}
	// A principal without a realm takes krb5.conf's default_realm.
	c = k.client(t, koji.Profile{Principal: "rida", Keytab: k.ridaKeytab})
	if err := c.Login(t.Context()); err != nil {
		t.Fatalf("Login with a principal without realm = %v", err)
	}
}

// Ensure a user logs in from a kinit'ed FILE: credential cache (KRB5CCNAME
// as FILE:<path> or a bare path).
func TestKerberos_LoginFromCCache(t *testing.T) {
	k := newKrbHub(t)
	cc := k.kdc.Kinit(t, "alice", "alice-pw")
	for _, name := range []string{"FILE:" + cc, cc} {
		t.Setenv("KRB5CCNAME", name)
		c := k.client(t, koji.Profile{})
		if err := c.Login(t.Context()); err != nil {
			t.Fatalf("KRB5CCNAME=%s: Login = %v", name, err)
		}
		if user, authtype := whoami(t, c); user != "alice" || authtype != 3 {
			t.Errorf("logged in as %s (authtype %d), want alice (3)", user, authtype)
		}
	}
	// A profile principal must be the cache's.
	c := k.client(t, koji.Profile{Principal: "alice@" + k.kdc.Realm})
	if err := c.Login(t.Context()); err != nil {
		t.Errorf("Login with the cache's principal = %v", err)
	}
	c = k.client(t, koji.Profile{Principal: "bob"})
	wantErr(t, "another principal's cache", c.Login(t.Context()), rida.CodeUnauthorized, "bob@"+k.kdc.Realm, "alice@"+k.kdc.Realm)
}

// Ensure the session is renewed with a fresh ticket after the hub expires
// it: sslLogin(renew=True) with the old session headers, the same session
// id, the call retried.
func TestKerberos_Renewal(t *testing.T) {
	k := newKrbHub(t)
	for _, tc := range []struct {
		name    string
		profile func(t *testing.T) koji.Profile
	}{
		{"Keytab", func(t *testing.T) koji.Profile {
			return koji.Profile{Principal: "rida@" + k.kdc.Realm, Keytab: k.ridaKeytab}
		}},
		{"CCache", func(t *testing.T) koji.Profile {
			t.Setenv("KRB5CCNAME", "FILE:"+k.kdc.Kinit(t, "alice", "alice-pw"))
			return koji.Profile{}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := k.client(t, tc.profile(t))
			if err := c.Login(t.Context()); err != nil {
				t.Fatal(err)
			}
			user, _ := whoami(t, c)
			ids := k.hub.SessionIDs(user)
			if len(ids) == 0 || !k.hub.ExpireSession(ids[len(ids)-1]) {
				t.Fatalf("no session of %s to expire: %v", user, ids)
			}
			k.hub.ResetCalls()
			if got, _ := whoami(t, c); got != user {
				t.Errorf("after renewal: %s, want %s", got, user)
			}
			var methods []string
			for _, call := range k.hub.Calls() {
				methods = append(methods, call.Method)
			}
			if got, want := strings.Join(methods, " "), "getLoggedInUser sslLogin getLoggedInUser"; got != want {
				t.Fatalf("calls %q, want %q", got, want)
			}
			renew := k.hub.Calls()[1]
			if renew.Header.Get("Koji-Session-Id") != fmt.Sprint(ids[len(ids)-1]) || !strings.HasPrefix(renew.Header.Get("Authorization"), "Negotiate ") {
				t.Errorf("renewal headers %v: want the old session's and a Negotiate token", renew.Header)
			}
			if len(renew.KwArgs) == 0 || renew.KwArgs[len(renew.KwArgs)-1].Name != "renew" {
				t.Errorf("renewal kwargs %v, want renew=True", renew.KwArgs)
			}
			if now := k.hub.SessionIDs(user); len(now) != len(ids) {
				t.Errorf("sessions %v after renewal, want %v (the same, renewed)", now, ids)
			}
		})
	}
}

// Ensure wrong, expired or missing credentials and a hub that refuses the
// ticket are clear errors.
func TestKerberos_Refused(t *testing.T) {
	k := newKrbHub(t)
	t.Run("ErrStaleKeytab", func(t *testing.T) {
		kdc := k.kdc
		stale := kdc.AddService(t, "stale")
		kadmin(t, kdc, "cpw -randkey stale")
		c := k.client(t, koji.Profile{Principal: "stale", Keytab: stale})
		wantErr(t, "stale keytab", c.Login(t.Context()), rida.CodeUnauthorized, "stale@"+kdc.Realm, stale)
	})
	t.Run("ErrUnknownPrincipal", func(t *testing.T) {
		c := k.client(t, koji.Profile{Principal: "nobody", Keytab: k.ridaKeytab})
		wantErr(t, "principal not in keytab", c.Login(t.Context()), rida.CodeUnauthorized, "nobody@"+k.kdc.Realm)
	})
	t.Run("ErrExpiredTGT", func(t *testing.T) {
		cc := kinit(t, k.kdc, "alice", "alice-pw", "-l", "2s")
		time.Sleep(3 * time.Second)
		t.Setenv("KRB5CCNAME", "FILE:"+cc)
		c := k.client(t, koji.Profile{})
		wantErr(t, "expired TGT", c.Login(t.Context()), rida.CodeUnauthorized, "expired", "kinit")
	})
	t.Run("ErrNoCache", func(t *testing.T) {
		t.Setenv("KRB5CCNAME", "FILE:"+filepath.Join(t.TempDir(), "none"))
		c := k.client(t, koji.Profile{})
		wantErr(t, "no cache", c.Login(t.Context()), rida.CodeUnauthorized, "no Kerberos ticket", "kinit")
	})
	t.Run("ErrHubRefuses", func(t *testing.T) {
		// The KDC knows host/127.0.0.1, the hub's keytab does not.
		k.kdc.AddService(t, "host/127.0.0.1")
		t.Setenv("KRB5CCNAME", "FILE:"+k.kdc.Kinit(t, "alice", "alice-pw"))
		c := k.client(t, koji.Profile{KrbService: "host"})
		err := c.Login(t.Context())
		wantErr(t, "hub refuses", err, rida.CodeUnauthorized, "refused the Kerberos login of alice@"+k.kdc.Realm, "GSSAPI authentication failed")
		if koji.FaultCode(err) != koji.FaultAuth {
			t.Errorf("fault code %d, want AuthError", koji.FaultCode(err))
		}
	})
	t.Run("ErrUnknownService", func(t *testing.T) {
		t.Setenv("KRB5CCNAME", "FILE:"+k.kdc.Kinit(t, "alice", "alice-pw"))
		c := k.client(t, koji.Profile{KrbService: "nosuchservice"})
		wantErr(t, "service unknown to the KDC", c.Login(t.Context()), rida.CodeUnauthorized, "nosuchservice/127.0.0.1")
	})
	t.Run("ErrHTTP401", func(t *testing.T) {
		// A real hub's Apache (mod_auth_gssapi) answers 401 to a ticket
		// it cannot accept.
		apache := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("WWW-Authenticate", "Negotiate")
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
		}))
		defer apache.Close()
		t.Setenv("KRB5CCNAME", "FILE:"+k.kdc.Kinit(t, "alice", "alice-pw"))
		c, err := koji.NewClient(koji.ClientConfig{Profile: koji.Profile{Name: "krb", Server: apache.URL + "/kojihub", AuthType: koji.AuthKerberos, MaxRetries: 1}})
		if err != nil {
			t.Fatal(err)
		}
		wantErr(t, "HTTP 401", c.Login(t.Context()), rida.CodeUnauthorized, "the hub refused the Kerberos ticket of alice@"+k.kdc.Realm+" for HTTP/127.0.0.1", "HTTP 401")
	})
}

// Ensure a hub with a keytab keeps the other logins (the fake hub's
// certificate and password paths are unchanged).
func TestKerberos_HostService(t *testing.T) {
	kdc := krb5test.Start(t)
	kdc.AddUser(t, "alice", "alice-pw")
	hub := kojitest.NewHub(t, kojitest.Options{KerberosKeytab: kdc.AddService(t, "host/127.0.0.1")})
	t.Setenv("KRB5_CONFIG", kdc.ConfigPath)
	t.Setenv("KRB5CCNAME", "FILE:"+kdc.Kinit(t, "alice", "alice-pw"))
	c, err := koji.NewClient(koji.ClientConfig{HTTPClient: hub.Client(), Profile: koji.Profile{
		Name: "krb", Server: hub.URL(), AuthType: koji.AuthKerberos, KrbService: "host"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(t.Context()); err != nil {
		t.Fatalf("krbservice = host against a hub keyed for host/127.0.0.1: %v", err)
	}
}

// krb5Conf writes a krb5.conf whose realm's KDC is addr and points
// KRB5_CONFIG at it.
func krb5Conf(t *testing.T, addr string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "krb5.conf")
	conf := fmt.Sprintf("[libdefaults]\n\tdefault_realm = NOWHERE.TEST\n\tudp_preference_limit = 1\n\tdns_lookup_kdc = false\n\tnosuchdirective = 1\n[realms]\n\tNOWHERE.TEST = {\n\t\tkdc = %s\n\t}\n", addr)
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KRB5_CONFIG", path)
}

// Ensure the errors that need no KDC are clear: unreadable cache types, no
// cache, an unreachable KDC. These run without RIDA_TEST_KRB5.
func TestKerberos_NoKDC(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	krb5Conf(t, closed)
	hub := kojitest.NewHub(t, kojitest.Options{})
	client := func(p koji.Profile) *koji.Client {
		p.Name, p.Server, p.AuthType, p.MaxRetries = "krb", hub.URL(), koji.AuthKerberos, 1
		c, err := koji.NewClient(koji.ClientConfig{Profile: p, HTTPClient: hub.Client()})
		if err != nil {
			t.Fatalf("NewClient(authtype kerberos) = %v", err)
		}
		return c
	}
	for _, name := range []string{"KEYRING:persistent:1000", "KCM:", "DIR:/run/user/1000/krb5cc", "MEMORY:x"} {
		t.Setenv("KRB5CCNAME", name)
		typ, _, _ := strings.Cut(name, ":")
		wantErr(t, name, client(koji.Profile{}).Login(t.Context()), rida.CodeInvalid, "only FILE:", "not "+typ+":")
	}
	t.Setenv("KRB5CCNAME", filepath.Join(t.TempDir(), "missing"))
	wantErr(t, "no cache", client(koji.Profile{}).Login(t.Context()), rida.CodeUnauthorized, "no Kerberos ticket", "run kinit")

	kt := keytab.New()
	if err := kt.AddEntry("rida", "NOWHERE.TEST", "pw", time.Now(), 1, etypeID.AES256_CTS_HMAC_SHA1_96); err != nil {
		t.Fatal(err)
	}
	ktPath := filepath.Join(t.TempDir(), "rida.keytab")
	data, err := kt.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ktPath, data, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	err = client(koji.Profile{Principal: "rida", Keytab: ktPath}).Login(ctx)
	wantErr(t, "KDC unreachable", err, rida.CodeUnavailable, "KDC is unreachable", "rida@NOWHERE.TEST")
	if n := hub.CountCalls("sslLogin"); n != 0 {
		t.Errorf("the hub got %d sslLogin calls without a ticket", n)
	}
	wantErr(t, "missing keytab", client(koji.Profile{Principal: "rida", Keytab: ktPath + ".none"}).Login(ctx), rida.CodeInvalid, ktPath+".none")
	var re *rida.Error
	if !errors.As(err, &re) {
		t.Errorf("%v is not a *rida.Error", err)
	}
}

// Ensure NewClient takes authtype kerberos, refusing only profiles that
// cannot work.
func TestKerberos_NewClient(t *testing.T) {
	for _, tc := range []struct {
		p  koji.Profile
		ok bool
	}{
		{koji.Profile{}, true},
		{koji.Profile{Principal: "alice@EXAMPLE.ORG"}, true},
		{koji.Profile{Principal: "rida/host.example.org@EXAMPLE.ORG", Keytab: "/etc/rida.keytab", KrbService: "host"}, true},
		{koji.Profile{Keytab: "/etc/rida.keytab"}, false},
		{koji.Profile{KrbService: "HTTP/hub"}, false},
	} {
		tc.p.Name, tc.p.Server, tc.p.AuthType = "krb", "https://koji.example.org/kojihub", koji.AuthKerberos
		_, err := koji.NewClient(koji.ClientConfig{Profile: tc.p})
		if (err == nil) != tc.ok {
			t.Errorf("NewClient(%+v) = %v, want ok %v", tc.p, err, tc.ok)
		}
		if err != nil && rida.ErrorCodeOf(err) != rida.CodeInvalid {
			t.Errorf("NewClient(%+v) = %v, want invalid", tc.p, err)
		}
	}
	// An unset authtype without a cert is kerberos, as in the koji client.
	if _, err := koji.NewClient(koji.ClientConfig{Profile: koji.Profile{Name: "default", Server: "https://koji.example.org/kojihub"}}); err != nil {
		t.Errorf("NewClient(no authtype, no cert) = %v", err)
	}
}

// Ensure a koji.conf profile's Kerberos keys are read.
func TestKerberos_ParseConfig(t *testing.T) {
	conf := `[fedora]
server = https://koji.fedoraproject.org/kojihub
authtype = kerberos
principal = rida/rida.example.org@FEDORAPROJECT.ORG
keytab = ~/rida.keytab
krbservice = host
krb_canon_host = yes
krb_rdns = false

[bad]
server = https://koji.example.org/kojihub
krb_canon_host = maybe
`
	_, err := koji.ParseConfig([]byte(conf), "koji.conf", "/home/rida")
	wantErr(t, "bad krb_canon_host", err, rida.CodeInvalid, "koji.conf:12: krb_canon_host")
	profiles, err := koji.ParseConfig([]byte(strings.SplitN(conf, "[bad]", 2)[0]), "koji.conf", "/home/rida")
	if err != nil {
		t.Fatal(err)
	}
	p := profiles["fedora"]
	want := koji.Profile{Name: "fedora", Server: "https://koji.fedoraproject.org/kojihub", AuthType: koji.AuthKerberos,
		Principal: "rida/rida.example.org@FEDORAPROJECT.ORG", Keytab: "/home/rida/rida.keytab", KrbService: "host", KrbCanonHost: true}
	if p != want {
		t.Errorf("profile\n got %+v\nwant %+v", p, want)
	}
}
