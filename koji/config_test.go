package koji

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rida-build/rida"
)

// fedoraConf is shaped like the koji client's /etc/koji.conf.d files.
const fedoraConf = `# comment
[koji]
;server = http://localhost/kojihub
server = https://koji.fedoraproject.org/kojihub
weburl = https://koji.fedoraproject.org/koji
topurl = https://kojipkgs.fedoraproject.org/
authtype = kerberos
krb_rdns = false
Timeout: 90.5
max_retries = 3
retry_interval = 20

[stg]
server = https://koji.stg.fedoraproject.org/kojihub
AUTHTYPE = ssl
cert = ~/.fedora.cert
serverca = /etc/pki/ca.pem
no_ssl_verify = yes
plugin_paths = ~/.koji/plugins
  /usr/share/koji/plugins

[dev]
server = http://127.0.0.1:8081/kojihub
authtype = password
user = kojiadmin
password = secret
`

func TestParseConfig(t *testing.T) {
	profiles, err := ParseConfig([]byte(fedoraConf), "koji.conf", "/home/alice")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Profile{
		"koji": {Name: "koji", Server: "https://koji.fedoraproject.org/kojihub", WebURL: "https://koji.fedoraproject.org/koji",
			TopURL: "https://kojipkgs.fedoraproject.org/", AuthType: AuthKerberos,
			Timeout: 90500 * time.Millisecond, MaxRetries: 3, RetryInterval: 20 * time.Second},
		"stg": {Name: "stg", Server: "https://koji.stg.fedoraproject.org/kojihub", AuthType: AuthSSL,
			Cert: "/home/alice/.fedora.cert", ServerCA: "/etc/pki/ca.pem", NoSSLVerify: true},
		"dev": {Name: "dev", Server: "http://127.0.0.1:8081/kojihub", AuthType: AuthPassword, User: "kojiadmin", Password: "secret"},
	}
	if len(profiles) != len(want) {
		t.Fatalf("profiles %v", profiles)
	}
	for name, w := range want {
		if got := profiles[name]; got != w {
			t.Errorf("%s:\n got %+v\nwant %+v", name, got, w)
		}
	}
	if a := (Profile{Cert: "x"}).EffectiveAuthType(); a != AuthSSL {
		t.Errorf("default with a cert: %s", a)
	}
	if a := (Profile{}).EffectiveAuthType(); a != AuthKerberos {
		t.Errorf("default: %s", a)
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, c := range []struct{ conf, want string }{
		{"server = x\n", "koji.conf:1: \"server = x\" comes before any [section]"},
		{"[koji\n", "koji.conf:1: malformed section header"},
		{"[koji]\n[koji]\n", "koji.conf:2: section [koji] appears twice"},
		{"[koji]\njust words\n", "koji.conf:2: want key = value"},
		{"[koji]\n  indented\n", "koji.conf:2: indented line"},
		{"[koji]\nauthtype = magic\n", "koji.conf:2: authtype: want noauth, password, ssl or kerberos, not \"magic\""},
		{"[koji]\n\nserver = ftp://hub\n", "koji.conf:3: server: want an http(s) URL"},
		{"[koji]\ntimeout = soon\n", "koji.conf:2: timeout: want a number of seconds"},
		{"[koji]\nmax_retries = -1\n", "koji.conf:2: max_retries"},
		{"[koji]\nno_ssl_verify = maybe\n", "koji.conf:2: no_ssl_verify"},
	} {
		_, err := ParseConfig([]byte(c.conf), "koji.conf", "")
		if rida.ErrorCodeOf(err) != rida.CodeInvalid || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want an invalid-input error containing %q", c.conf, err, c.want)
		}
	}
}

func TestReadProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "koji.conf")
	if err := os.WriteFile(path, []byte(fedoraConf+"[empty]\nweburl = https://x/\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if p, err := ReadProfile(path, "dev"); err != nil || p.Server != "http://127.0.0.1:8081/kojihub" {
		t.Errorf("dev: %+v, %v", p, err)
	}
	for name, want := range map[string]string{
		"nope":  `has no profile "nope" (it has dev, empty, koji, stg)`,
		"empty": `profile "empty" has no server`,
	} {
		if _, err := ReadProfile(path, name); rida.ErrorCodeOf(err) != rida.CodeInvalid || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", name, err, want)
		}
	}
	if _, err := ReadProfile(filepath.Join(t.TempDir(), "missing.conf"), "koji"); rida.ErrorCodeOf(err) != rida.CodeInvalid {
		t.Errorf("missing file: %v", err)
	}
}

// FuzzParseConfig: any input is parsed or refused with an invalid-input
// error, never a panic; parsed servers are http(s) URLs.
func FuzzParseConfig(f *testing.F) {
	f.Add([]byte(fedoraConf))
	f.Add([]byte("[a]\nserver=http://h/\n timeout\n"))
	f.Add([]byte("[]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		profiles, err := ParseConfig(data, "fuzz.conf", "/home/u")
		if err != nil {
			if rida.ErrorCodeOf(err) != rida.CodeInvalid {
				t.Fatalf("error with code %s: %v", rida.ErrorCodeOf(err), err)
			}
			return
		}
		for _, p := range profiles {
			if p.Server != "" && !strings.HasPrefix(p.Server, "http") {
				t.Fatalf("server %q accepted", p.Server)
			}
		}
	})
}
