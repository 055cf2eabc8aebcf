// Package krb5test starts a throwaway MIT Kerberos KDC for tests: a realm in
// a temporary directory, served by krb5kdc on a free 127.0.0.1 port, with
// helpers to add principals, export service keytabs and log users in to a
// credential cache as kinit does. It needs Debian's krb5-kdc and krb5-user
// (kdb5_util, kadmin.local, krb5kdc, kinit); tests using it run only when
// RIDA_TEST_KRB5 is set (.ci/run sets it after installing them) and are
// skipped otherwise, saying so.
package krb5test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// EnvVar turns the Kerberos tests on.
const EnvVar = "RIDA_TEST_KRB5"

// Realm is the realm of every test KDC.
const Realm = "RIDA.TEST"

// tools are the MIT programs the KDC needs.
var tools = []string{"kdb5_util", "kadmin.local", "krb5kdc", "kinit"}

// KDC is a running test KDC. Its files live in Dir; it stops when the test
// ends.
type KDC struct {
	// Realm is the Kerberos realm (Realm).
	Realm string
	// Addr is the KDC's host:port (TCP and UDP).
	Addr string
	// Dir holds the database, logs, keytabs and caches.
	Dir string
	// ConfigPath is a krb5.conf naming this KDC, for clients (KRB5_CONFIG).
	ConfigPath string

	kdcProfile string
}

// Start starts a KDC for t, or skips t when RIDA_TEST_KRB5 is not set. With
// it set, missing programs fail the test: the environment promised them.
func Start(t testing.TB) *KDC {
	t.Helper()
	if os.Getenv(EnvVar) == "" {
		t.Skipf("Kerberos tests need a real MIT KDC: install krb5-kdc, krb5-admin-server and krb5-user (apt-get) and set %s=1", EnvVar)
	}
	for _, tool := range tools {
		if _, err := lookPath(tool); err != nil {
			t.Fatalf("%s is set but %s is missing (install krb5-kdc, krb5-admin-server and krb5-user): %v", EnvVar, tool, err)
		}
	}
	var lastErr error
	// A free port found here may be taken before krb5kdc binds it; a few
	// attempts make that harmless.
	for range 3 {
		k, err := start(t)
		if err == nil {
			return k
		}
		lastErr = err
	}
	t.Fatalf("start KDC: %v", lastErr)
	return nil
}

// lookPath finds a tool in PATH or in the sbin directories, which a
// non-root PATH often lacks.
func lookPath(tool string) (string, error) {
	if p, err := exec.LookPath(tool); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		p := filepath.Join(dir, tool)
		if st, err := os.Stat(p); err == nil && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found in PATH or sbin", tool)
}

func start(t testing.TB) (*KDC, error) {
	dir := t.TempDir()
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	k := &KDC{
		Realm: Realm, Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Dir: dir,
		ConfigPath: filepath.Join(dir, "krb5.conf"), kdcProfile: filepath.Join(dir, "kdc.conf"),
	}
	enctypes := "aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha1-96"
	krb5conf := fmt.Sprintf(`[libdefaults]
	default_realm = %[1]s
	dns_lookup_kdc = false
	dns_lookup_realm = false
	dns_canonicalize_hostname = false
	rdns = false
	udp_preference_limit = 1
	default_tkt_enctypes = %[3]s
	default_tgs_enctypes = %[3]s
	permitted_enctypes = %[3]s
	ticket_lifetime = 24h
	forwardable = true

[realms]
	%[1]s = {
		kdc = %[2]s
		admin_server = %[2]s
	}

[domain_realm]
	localhost = %[1]s
	.localhost = %[1]s
	127.0.0.1 = %[1]s
`, k.Realm, k.Addr, enctypes)
	kdcconf := fmt.Sprintf(`[kdcdefaults]
	kdc_listen = %[2]s
	kdc_tcp_listen = %[2]s

[realms]
	%[1]s = {
		database_name = %[3]s/principal
		key_stash_file = %[3]s/stash
		acl_file = %[3]s/kadm5.acl
		admin_keytab = FILE:%[3]s/kadm5.keytab
		max_life = 24h
		max_renewable_life = 7d
		master_key_type = aes256-cts-hmac-sha1-96
		supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
	}

[logging]
	kdc = FILE:%[3]s/kdc.log
	default = FILE:%[3]s/krb5lib.log
`, k.Realm, k.Addr, dir)
	for path, text := range map[string]string{k.ConfigPath: krb5conf, k.kdcProfile: kdcconf, filepath.Join(dir, "kadm5.acl"): ""} {
		if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
			return nil, err
		}
	}
	if _, err := k.run("", "kdb5_util", "create", "-s", "-r", k.Realm, "-P", "master-"+strconv.Itoa(port)); err != nil {
		return nil, err
	}
	kdc, err := lookPath("krb5kdc")
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(kdc, "-n", "-r", k.Realm, "-P", filepath.Join(dir, "krb5kdc.pid"))
	cmd.Env = k.Env()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start krb5kdc: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	if err := waitListening(k.Addr, exited); err != nil {
		stop()
		log, _ := os.ReadFile(filepath.Join(dir, "kdc.log"))
		return nil, fmt.Errorf("krb5kdc on %s: %w\n%s%s", k.Addr, err, out.String(), log)
	}
	t.Cleanup(stop)
	return k, nil
}

// freePort returns a port free for both TCP and UDP on 127.0.0.1.
func freePort() (int, error) {
	for range 20 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		u, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		u.Close()
		return port, nil
	}
	return 0, fmt.Errorf("no port free for both TCP and UDP")
}

// waitListening waits until the KDC accepts TCP connections, or it exits.
// The deadline only bounds a broken start; it decides nothing in a test.
func waitListening(addr string, exited <-chan error) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("krb5kdc exited: %v", err)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("not listening after 30s")
}

// Env is the environment that points MIT tools (and gokrb5's config
// loader, given ConfigPath) at this KDC.
func (k *KDC) Env() []string {
	return append(os.Environ(), "KRB5_CONFIG="+k.ConfigPath, "KRB5_KDC_PROFILE="+k.kdcProfile)
}

func (k *KDC) run(stdin, tool string, args ...string) (string, error) {
	path, err := lookPath(tool)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = k.Env()
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w\n%s", tool, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

func (k *KDC) kadmin(t testing.TB, query string) {
	t.Helper()
	if _, err := k.run("", "kadmin.local", "-r", k.Realm, "-q", query); err != nil {
		t.Fatal(err)
	}
}

// AddUser adds principal (e.g. "alice") with password.
func (k *KDC) AddUser(t testing.TB, principal, password string) {
	t.Helper()
	k.kadmin(t, fmt.Sprintf("addprinc -pw %s %s", password, principal))
}

// AddService adds principal (e.g. "HTTP/localhost") with a random key and
// exports it to a new keytab, whose path it returns.
func (k *KDC) AddService(t testing.TB, principal string) string {
	t.Helper()
	k.kadmin(t, "addprinc -randkey "+principal)
	path := filepath.Join(k.Dir, strings.NewReplacer("/", "_", "@", "_").Replace(principal)+".keytab")
	k.kadmin(t, fmt.Sprintf("ktadd -k %s %s", path, principal))
	return path
}

// Kinit logs principal in with password, as the user's kinit would, into a
// new file credential cache whose path it returns (KRB5CCNAME=FILE:<path>).
func (k *KDC) Kinit(t testing.TB, principal, password string) string {
	t.Helper()
	f, err := os.CreateTemp(k.Dir, "ccache-"+strings.NewReplacer("/", "_", "@", "_").Replace(principal)+"-*")
	if err != nil {
		t.Fatal(err)
	}
	// Only the unique name is wanted: kinit writes the cache itself.
	path := f.Name()
	f.Close()
	os.Remove(path)
	if _, err := k.run(password+"\n", "kinit", "-c", "FILE:"+path, principal); err != nil {
		t.Fatal(err)
	}
	return path
}
