package auth_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/auth"
)

func mustProxy(t *testing.T, cfg auth.ProxyConfig, trusted ...string) *auth.Proxy {
	t.Helper()
	var err error
	if cfg.Trusted, err = auth.ParseTrusted(trusted); err != nil {
		t.Fatal(err)
	}
	p, err := auth.NewProxy(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// proxyRequest is a request from peer (host:port) with headers (name,
// value pairs; a name may repeat).
func proxyRequest(peer string, headers ...string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/module-build-service/2/module-builds/", nil)
	r.RemoteAddr = peer
	for i := 0; i < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	return r
}

// Ensure the proxy's user header is believed from trusted peers only
// (IPv4, IPv6, IPv4-mapped IPv6, zones), refused with a 401 naming the peer
// from anyone else, and that a request without it has no credentials.
func TestProxy_TrustedPeers(t *testing.T) {
	p := mustProxy(t, auth.ProxyConfig{}, "127.0.0.1/32", "::1", "10.0.0.0/8", "fd00:aa::/32")
	if p.Method() != "proxy" || p.Challenge() == "" {
		t.Errorf("Method, Challenge = %q, %q", p.Method(), p.Challenge())
	}
	for _, peer := range []string{"127.0.0.1:40000", "[::1]:40000", "10.20.30.40:1", "[::ffff:10.1.2.3]:1", "[fd00:aa::7]:8080", "[fd00:aa::7%eth0]:8080"} {
		id, err := p.Authenticate(proxyRequest(peer, "X-Remote-User", "alice"))
		if err != nil || id.Name != "alice" || len(id.Groups) != 0 {
			t.Errorf("from trusted %s: %+v, %v", peer, id, err)
		}
		if _, err := p.Authenticate(proxyRequest(peer)); !errors.Is(err, auth.ErrNoCredentials) {
			t.Errorf("from trusted %s without the header: %v, want ErrNoCredentials", peer, err)
		}
		// A proxy that let the request through without a user.
		if _, err := p.Authenticate(proxyRequest(peer, "X-Remote-User", "")); !errors.Is(err, auth.ErrNoCredentials) {
			t.Errorf("from trusted %s with an empty header: %v, want ErrNoCredentials", peer, err)
		}
	}
	for peer, shown := range map[string]string{
		"127.0.0.2:40000":      "127.0.0.2",
		"[::2]:40000":          "::2",
		"192.0.2.1:1":          "192.0.2.1",
		"[::ffff:192.0.2.1]:1": "192.0.2.1",
		"[fd00:ab::1]:1":       "fd00:ab::1",
		"[2001:db8::1]:443":    "2001:db8::1",
		"":                     "an unknown peer",
		"@":                    `"@"`,
		"10.0.0.1":             `"10.0.0.1"`, // no port: not a TCP peer's address
	} {
		for _, h := range [][]string{{"X-Remote-User", "alice"}, {"X-Remote-User", ""}, {"x-remote-user", "carol"}} {
			_, err := p.Authenticate(proxyRequest(peer, h...))
			msg := rida.ErrorMessageOf(err)
			if rida.ErrorCodeOf(err) != rida.CodeUnauthorized || !strings.Contains(msg, "X-Remote-User header is only accepted from the authenticating proxy, and "+shown+" is not one") {
				t.Errorf("from untrusted %q with %q: %v (%q), want unauthorized naming the peer", peer, h, err, msg)
			}
		}
		if _, err := p.Authenticate(proxyRequest(peer)); !errors.Is(err, auth.ErrNoCredentials) {
			t.Errorf("from untrusted %q without the header: %v, want ErrNoCredentials", peer, err)
		}
	}
}

// Ensure user header values are checked: one name, no spaces or control
// characters, at most 256 bytes, the realm dropped only when configured.
func TestProxy_UserValues(t *testing.T) {
	plain := mustProxy(t, auth.ProxyConfig{UserHeader: "Remote-User"}, "127.0.0.1")
	strip := mustProxy(t, auth.ProxyConfig{UserHeader: "remote-user", StripRealm: true}, "127.0.0.1")
	tests := []struct {
		values      []string
		plain, strp string // the user, or "!" and part of the refusal
	}{
		{[]string{"alice"}, "alice", "alice"},
		{[]string{" alice "}, "alice", "alice"},
		{[]string{"alice@EXAMPLE.ORG"}, "alice@EXAMPLE.ORG", "alice"},
		{[]string{"host/build.example.org@EXAMPLE.ORG"}, "host/build.example.org@EXAMPLE.ORG", "host/build.example.org"},
		{[]string{"a@b@EXAMPLE.ORG"}, "a@b@EXAMPLE.ORG", "a@b"},
		{[]string{"zoë"}, "zoë", "zoë"},
		{[]string{"@EXAMPLE.ORG"}, "@EXAMPLE.ORG", "!empty name"},
		{[]string{strings.Repeat("a", 256)}, strings.Repeat("a", 256), strings.Repeat("a", 256)},
		{[]string{strings.Repeat("a", 257)}, "!longer than 256 bytes", "!longer than 256 bytes"},
		{[]string{"alice bob"}, "!spaces or control characters", "!spaces or control characters"},
		{[]string{"alice\tbob"}, "!spaces or control characters", "!spaces or control characters"},
		{[]string{"alice\x00"}, "!spaces or control characters", "!spaces or control characters"},
		{[]string{"alice\x7f"}, "!spaces or control characters", "!spaces or control characters"},
		{[]string{"al\xffice"}, "!spaces or control characters", "!spaces or control characters"},
		{[]string{"mallory,alice"}, "!comma", "!comma"},
		{[]string{"mallory, alice"}, "!", "!"},
		{[]string{"(null)"}, "!an unset variable in the proxy's configuration", "!an unset variable"},
		{[]string{"mallory", "alice"}, "!sent the Remote-User header 2 times", "!2 times"},
	}
	for _, tt := range tests {
		for _, c := range []struct {
			p    *auth.Proxy
			want string
		}{{plain, tt.plain}, {strip, tt.strp}} {
			var h []string
			for _, v := range tt.values {
				h = append(h, "Remote-User", v)
			}
			id, err := c.p.Authenticate(proxyRequest("127.0.0.1:5000", h...))
			if refusal, ok := strings.CutPrefix(c.want, "!"); ok {
				if rida.ErrorCodeOf(err) != rida.CodeUnauthorized || !strings.Contains(rida.ErrorMessageOf(err), refusal) {
					t.Errorf("%q (strip %v): %+v, %v; want unauthorized containing %q", tt.values, c.p == strip, id, err, refusal)
				}
				continue
			}
			if err != nil || id.Name != c.want {
				t.Errorf("%q (strip %v): %+v, %v; want %q", tt.values, c.p == strip, id, err, c.want)
			}
		}
	}
}

// Ensure the groups header gives groups (comma- or space-separated, over
// repeated headers), is refused with bad names, needs a trusted peer, and
// names no one without a user.
func TestProxy_GroupsHeader(t *testing.T) {
	p := mustProxy(t, auth.ProxyConfig{GroupsHeader: "X-Remote-Groups"}, "::1/128")
	for header, want := range map[string][]string{
		"packager":                    {"packager"},
		"packager,rida-admins":        {"packager", "rida-admins"},
		" packager , rida-admins ,, ": {"packager", "rida-admins"},
		"packager rida-admins\tqa":    {"packager", "rida-admins", "qa"},
		"":                            nil,
		",":                           nil,
	} {
		id, err := p.Authenticate(proxyRequest("[::1]:1", "X-Remote-User", "alice", "X-Remote-Groups", header))
		if err != nil || id.Name != "alice" || !slices.Equal(id.Groups, want) {
			t.Errorf("groups %q: %+v, %v; want %q", header, id, err, want)
		}
	}
	id, err := p.Authenticate(proxyRequest("[::1]:1", "X-Remote-User", "alice", "X-Remote-Groups", "a,b", "X-Remote-Groups", "c"))
	if err != nil || !slices.Equal(id.Groups, []string{"a", "b", "c"}) {
		t.Errorf("two groups headers: %+v, %v", id, err)
	}
	for _, bad := range []string{"packager,\x01x", "ok," + strings.Repeat("g", 257), "a,\xff"} {
		_, err := p.Authenticate(proxyRequest("[::1]:1", "X-Remote-User", "alice", "X-Remote-Groups", bad))
		if rida.ErrorCodeOf(err) != rida.CodeUnauthorized || !strings.Contains(rida.ErrorMessageOf(err), "X-Remote-Groups header is not a list of groups") {
			t.Errorf("groups %q: %v, want unauthorized", bad, err)
		}
	}
	// Groups alone name no one; from an untrusted peer they are refused.
	if _, err := p.Authenticate(proxyRequest("[::1]:1", "X-Remote-Groups", "rida-admins")); !errors.Is(err, auth.ErrNoCredentials) {
		t.Errorf("groups without a user: %v, want ErrNoCredentials", err)
	}
	_, err = p.Authenticate(proxyRequest("127.0.0.1:1", "X-Remote-Groups", "rida-admins"))
	if rida.ErrorCodeOf(err) != rida.CodeUnauthorized || !strings.Contains(rida.ErrorMessageOf(err), "X-Remote-Groups header is only accepted from the authenticating proxy") {
		t.Errorf("groups from an untrusted peer: %v, want unauthorized", err)
	}
	// Without a groups header configured, one sent is ignored.
	plain := mustProxy(t, auth.ProxyConfig{}, "::1/128")
	if id, err := plain.Authenticate(proxyRequest("[::1]:1", "X-Remote-User", "alice", "X-Remote-Groups", "rida-admins")); err != nil || len(id.Groups) != 0 {
		t.Errorf("groups header not configured: %+v, %v", id, err)
	}
}

// Ensure the Guard gives the proxy's groups to the policy, like claims.
func TestProxy_Guard(t *testing.T) {
	p := mustProxy(t, auth.ProxyConfig{GroupsHeader: "X-Remote-Groups"}, "127.0.0.1")
	g := auth.NewGuard([]auth.Authenticator{p}, nil, auth.Policy{AllowedGroups: []string{"packager"}, AdminGroups: []string{"rida-admins"}})
	carol, err := g.Authenticate(proxyRequest("127.0.0.1:1", "X-Remote-User", "carol", "X-Remote-Groups", "rida-admins"))
	if err != nil || carol.Name != "carol" || carol.Method != "proxy" || !carol.Admin {
		t.Fatalf("carol = %+v, %v", carol, err)
	}
	eve, _ := g.Authenticate(proxyRequest("127.0.0.1:1", "X-Remote-User", "eve", "X-Remote-Groups", "qa"))
	if err := g.Authorize(eve, rida.ActionSubmit); rida.ErrorCodeOf(err) != rida.CodeForbidden {
		t.Errorf("eve submits: %v, want forbidden", err)
	}
	alice, _ := g.Authenticate(proxyRequest("127.0.0.1:1", "X-Remote-User", "alice", "X-Remote-Groups", "packager"))
	if err := g.Authorize(alice, rida.ActionSubmit); err != nil {
		t.Errorf("alice submits: %v", err)
	}
	if u, err := g.Authenticate(proxyRequest("127.0.0.1:1")); u != nil || err != nil {
		t.Errorf("no header: %v, %v; want nil, nil", u, err)
	}
	if g.Methods() != "proxy" {
		t.Errorf("Methods = %q", g.Methods())
	}
}

// Ensure the configuration is checked: trusted proxies are required and
// may not be everyone; addresses and prefixes parse strictly.
func TestProxy_Config(t *testing.T) {
	got, err := auth.ParseTrusted([]string{"127.0.0.1/32", " ::1/128 ", "10.0.0.0/8", "192.0.2.7", "::ffff:192.0.2.8", "fe80::/10"})
	want := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("192.0.2.8/32"), netip.MustParsePrefix("fe80::/10")}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("ParseTrusted = %v, %v; want %v", got, err, want)
	}
	for bad, msg := range map[string]string{
		"localhost":    "want an IP address or a CIDR prefix",
		"10.0.0.0/33":  "want an IP address or a CIDR prefix",
		"10.1.2.3/8":   "did you mean 10.0.0.0/8?",
		"fe80::1%eth0": "want an IP address",
		"":             "want an IP address",
	} {
		if _, err := auth.ParseTrusted([]string{bad}); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("ParseTrusted(%q) = %v, want %q", bad, err, msg)
		}
	}
	every, _ := auth.ParseTrusted([]string{"10.0.0.0/8", "0.0.0.0/0"})
	for what, c := range map[string]struct {
		cfg auth.ProxyConfig
		msg string
	}{
		"no trusted":       {auth.ProxyConfig{}, "no trusted proxy addresses"},
		"everyone":         {auth.ProxyConfig{Trusted: every}, "0.0.0.0/0 is every address"},
		"bad user header":  {auth.ProxyConfig{Trusted: want, UserHeader: "X Remote User"}, "not an HTTP header name"},
		"bad group header": {auth.ProxyConfig{Trusted: want, GroupsHeader: "X-Groups:"}, "not an HTTP header name"},
		"same headers":     {auth.ProxyConfig{Trusted: want, GroupsHeader: "x-remote-user"}, "both X-Remote-User"},
	} {
		if _, err := auth.NewProxy(c.cfg); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: NewProxy = %v, want %q", what, err, c.msg)
		}
	}
}
