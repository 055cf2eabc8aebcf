package auth

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"unicode"
)

// DefaultProxyUserHeader is the request header a proxy names the user in
// when ProxyConfig.UserHeader is empty.
const DefaultProxyUserHeader = "X-Remote-User"

// maxProxyNameLen bounds a user or group name from a proxy's header.
const maxProxyNameLen = 256

// ProxyConfig configures trusted-proxy authentication: a reverse proxy in
// front (Apache with mod_auth_openidc or mod_auth_gssapi, nginx with
// auth_request) authenticates the user and names them in a request header.
type ProxyConfig struct {
	// UserHeader names the user (default X-Remote-User).
	UserHeader string
	// GroupsHeader, when set, lists the user's groups, separated by
	// commas or spaces; they are added like an OIDC groups claim.
	GroupsHeader string
	// Trusted are the proxies' addresses (see ParseTrusted): the headers
	// are believed only from a TCP peer among them. Required.
	Trusted []netip.Prefix
	// StripRealm drops a realm suffix from the user: alice@EXAMPLE.ORG,
	// as mod_auth_gssapi's REMOTE_USER has it, is alice.
	StripRealm bool
}

// Proxy authenticates the user a trusted reverse proxy names in a request
// header. The headers are believed only when the request's TCP peer is one
// of the trusted proxies; from anyone else they are refused with a 401,
// never ignored, so a client bypassing the proxy learns why it is not who
// it says.
type Proxy struct {
	userHeader, groupsHeader string
	trusted                  []netip.Prefix
	stripRealm               bool
}

var _ Authenticator = (*Proxy)(nil)

// NewProxy checks cfg: at least one trusted proxy, none trusting every
// address, and header names that are HTTP field names.
func NewProxy(cfg ProxyConfig) (*Proxy, error) {
	if cfg.UserHeader == "" {
		cfg.UserHeader = DefaultProxyUserHeader
	}
	if len(cfg.Trusted) == 0 {
		return nil, errors.New("proxy: no trusted proxy addresses: without them anyone who can reach rida could name any user in the header")
	}
	for _, p := range cfg.Trusted {
		if p.Bits() == 0 {
			return nil, fmt.Errorf("proxy: trusted %s is every address: anyone could name any user in the header", p)
		}
	}
	for _, h := range []string{cfg.UserHeader, cfg.GroupsHeader} {
		if h != "" && !isToken(h) {
			return nil, fmt.Errorf("proxy: %q is not an HTTP header name", h)
		}
	}
	if strings.EqualFold(cfg.UserHeader, cfg.GroupsHeader) {
		return nil, fmt.Errorf("proxy: the user and groups headers are both %s", cfg.UserHeader)
	}
	return &Proxy{
		userHeader: http.CanonicalHeaderKey(cfg.UserHeader), groupsHeader: http.CanonicalHeaderKey(cfg.GroupsHeader),
		trusted: cfg.Trusted, stripRealm: cfg.StripRealm,
	}, nil
}

// ParseTrusted parses proxy addresses: CIDR prefixes ("10.0.0.0/8",
// "::1/128") or single addresses ("127.0.0.1"). A prefix with bits set
// past its length is refused as the likely typo it is.
func ParseTrusted(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		s = strings.TrimSpace(s)
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil || a.Zone() != "" {
				return nil, fmt.Errorf("trusted proxy %q: want an IP address or a CIDR prefix", s)
			}
			a = a.Unmap()
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("trusted proxy %q: want an IP address or a CIDR prefix", s)
		}
		if p.Masked() != p {
			return nil, fmt.Errorf("trusted proxy %q: bits are set past the prefix length (did you mean %s?)", s, p.Masked())
		}
		out = append(out, p)
	}
	return out, nil
}

// Method implements Authenticator.
func (p *Proxy) Method() string { return "proxy" }

// Challenge implements Authenticator. The proxy asks for credentials
// itself; this one names where the user should come from.
func (p *Proxy) Challenge() string { return `Proxy realm="rida"` }

// Authenticate implements Authenticator.
func (p *Proxy) Authenticate(r *http.Request) (*Identity, error) {
	users := r.Header.Values(p.userHeader)
	var groups []string
	if p.groupsHeader != "" {
		groups = r.Header.Values(p.groupsHeader)
	}
	if len(users) == 0 && len(groups) == 0 {
		return nil, ErrNoCredentials
	}
	if !p.trustedPeer(r.RemoteAddr) {
		sent := p.userHeader
		if len(users) == 0 {
			sent = p.groupsHeader
		}
		return nil, unauthorized(nil, "The %s header is only accepted from the authenticating proxy, and %s is not one of its addresses (auth.proxy.trusted): send the request through the proxy.", sent, peerHost(r.RemoteAddr))
	}
	if len(users) == 0 {
		// Groups without a user name no one.
		return nil, ErrNoCredentials
	}
	if len(users) > 1 {
		return nil, unauthorized(nil, "The proxy sent the %s header %d times: it must replace any the client sent, not add one.", p.userHeader, len(users))
	}
	if strings.TrimSpace(users[0]) == "" {
		// The proxy let the request through without a user (a public
		// location with optional authentication): anonymous.
		return nil, ErrNoCredentials
	}
	name, err := parseProxyUser(users[0], p.stripRealm)
	if err != nil {
		return nil, unauthorized(err, "The proxy's %s header is not a user name: %v.", p.userHeader, err)
	}
	gs, err := parseProxyGroups(groups)
	if err != nil {
		return nil, unauthorized(err, "The proxy's %s header is not a list of groups: %v.", p.groupsHeader, err)
	}
	return &Identity{Name: name, Groups: gs}, nil
}

// trustedPeer reports whether remoteAddr (http.Request.RemoteAddr,
// host:port) is one of the trusted proxies. IPv4-mapped IPv6 peers count
// as IPv4; an address that does not parse is not trusted.
func (p *Proxy) trustedPeer(remoteAddr string) bool {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return false
	}
	a := ap.Addr().WithZone("").Unmap()
	for _, t := range p.trusted {
		if t.Contains(a) {
			return true
		}
	}
	return false
}

// peerHost is remoteAddr without its port, for messages.
func peerHost(remoteAddr string) string {
	if ap, err := netip.ParseAddrPort(remoteAddr); err == nil {
		return ap.Addr().Unmap().String()
	}
	if remoteAddr == "" {
		return "an unknown peer"
	}
	return fmt.Sprintf("%q", remoteAddr)
}

// parseProxyUser checks the user a proxy named: one name of at most
// maxProxyNameLen bytes, valid UTF-8 without spaces, control characters or
// commas (two values joined by a proxy that appended its header), with
// its realm dropped when stripRealm.
func parseProxyUser(v string, stripRealm bool) (string, error) {
	v = strings.TrimSpace(v)
	if v == "(null)" {
		return "", errors.New(`it is "(null)", an unset variable in the proxy's configuration`)
	}
	if stripRealm {
		if i := strings.LastIndexByte(v, '@'); i >= 0 {
			v = v[:i]
		}
	}
	if err := checkProxyName(v); err != nil {
		return "", err
	}
	return v, nil
}

// parseProxyGroups splits the values of a groups header at commas and
// white space, checking each name as parseProxyUser does.
func parseProxyGroups(values []string) ([]string, error) {
	var out []string
	for _, v := range values {
		for _, g := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
			if err := checkProxyName(g); err != nil {
				return nil, fmt.Errorf("group %.40q: %w", g, err)
			}
			out = append(out, g)
		}
	}
	return out, nil
}

func checkProxyName(s string) error {
	if len(s) > maxProxyNameLen {
		return fmt.Errorf("longer than %d bytes", maxProxyNameLen)
	}
	if strings.ContainsRune(s, ',') {
		return errors.New("it has a comma (more than one name)")
	}
	return checkName(s)
}

// isToken reports whether s is an RFC 9110 token, as header names are.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}
