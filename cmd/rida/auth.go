package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rida-build/rida/auth"
	"github.com/rida-build/rida/httpapi"
	"github.com/spf13/pflag"
)

// AuthConfig configures who may use the API (serve) and the credentials the
// client commands send.
type AuthConfig struct {
	// Methods are the enabled authentication methods: none, or any of
	// oidc, kerberos, cert and proxy.
	Methods []string `yaml:"method"`
	// InsecureNoAuth lets serve run without authentication on a
	// non-loopback address (behind a proxy that authenticates).
	InsecureNoAuth bool `yaml:"insecure_no_auth"`
	// AllowedGroups may submit (and cancel their own builds); empty lets
	// every authenticated user. AdminGroups may also cancel and resume
	// anyone's build and import modules.
	AllowedGroups []string `yaml:"allowed_groups"`
	AdminGroups   []string `yaml:"admin_groups"`
	// AnonymousReads lets requests without credentials read.
	AnonymousReads bool `yaml:"anonymous_reads"`
	// GroupFile maps groups to members (group: [user, ...]).
	GroupFile string               `yaml:"group_file"`
	OIDC      OIDCAuthConfig       `yaml:"oidc"`
	Kerberos  KerberosAuthConfig   `yaml:"kerberos"`
	Proxy     ProxyAuthConfig      `yaml:"proxy"`
	LDAP      LDAPAuthConfig       `yaml:"ldap"`
	TLS       TLSConfig            `yaml:"tls"`
	RateLimit SubmitRateLimit      `yaml:"submit_rate"`
	Client    ClientCredentialsCfg `yaml:"client"`
}

// OIDCAuthConfig configures bearer tokens (auth.OIDCConfig).
type OIDCAuthConfig struct {
	Issuer           string   `yaml:"issuer"`
	Audience         string   `yaml:"audience"`
	IntrospectionURL string   `yaml:"introspection_url"`
	ClientID         string   `yaml:"client_id"`
	ClientSecret     string   `yaml:"client_secret"`
	UsernameClaim    string   `yaml:"username_claim"`
	GroupsClaim      string   `yaml:"groups_claim"`
	RequiredScopes   []string `yaml:"required_scopes"`
}

// KerberosAuthConfig configures SPNEGO (auth.KerberosConfig).
type KerberosAuthConfig struct {
	Keytab    string   `yaml:"keytab"`
	Principal string   `yaml:"principal"`
	Realms    []string `yaml:"realms"`
}

// ProxyAuthConfig configures trusted-proxy authentication
// (auth.ProxyConfig): the user a reverse proxy names in a header.
type ProxyAuthConfig struct {
	UserHeader   string `yaml:"user_header"`
	GroupsHeader string `yaml:"groups_header"`
	// Trusted are the proxies' addresses or CIDR prefixes; required.
	Trusted    []string `yaml:"trusted"`
	StripRealm bool     `yaml:"strip_realm"`
}

// LDAPAuthConfig configures group lookups (auth.LDAPConfig); empty URL is
// no LDAP.
type LDAPAuthConfig struct {
	URL          string        `yaml:"url"`
	BindDN       string        `yaml:"bind_dn"`
	BindPassword string        `yaml:"bind_password"`
	GroupsDN     string        `yaml:"groups_dn"`
	Filter       string        `yaml:"filter"`
	Attribute    string        `yaml:"attribute"`
	CacheTTL     time.Duration `yaml:"cache_ttl"`
}

// TLSConfig makes serve speak HTTPS; ClientCA is needed by the cert method.
type TLSConfig struct {
	Cert     string `yaml:"cert"`
	Key      string `yaml:"key"`
	ClientCA string `yaml:"client_ca"`
}

// SubmitRateLimit bounds each user's submissions: Limit per Window (0:
// unlimited).
type SubmitRateLimit struct {
	Limit  int           `yaml:"limit"`
	Window time.Duration `yaml:"window"`
}

// ClientCredentialsCfg are the credentials the client commands send.
type ClientCredentialsCfg struct {
	// TokenFile holds an OIDC bearer token (env RIDA_OIDC_TOKEN gives the
	// token itself).
	TokenFile string `yaml:"token_file"`
	// Kerberos sends a ticket from the user's credential cache
	// (KRB5CCNAME, default FILE:/tmp/krb5cc_<uid>), using Krb5Config
	// (KRB5_CONFIG, default /etc/krb5.conf) and the server principal SPN
	// (default HTTP/<server host>).
	Kerberos   bool   `yaml:"kerberos"`
	Krb5Config string `yaml:"krb5_config"`
	SPN        string `yaml:"spn"`
	// Cert and Key are a TLS client certificate; CACert verifies the
	// server's certificate (default: the system's roots).
	Cert   string `yaml:"cert"`
	Key    string `yaml:"key"`
	CACert string `yaml:"ca_cert"`
}

// defaultAuthConfig: no authentication (development on loopback), reads
// anonymous, MBS's packager group, 60 submissions per user per hour.
func defaultAuthConfig() AuthConfig {
	return AuthConfig{
		Methods: []string{"none"}, AllowedGroups: []string{"packager"}, AnonymousReads: true,
		RateLimit: SubmitRateLimit{Limit: 60, Window: time.Hour},
		Proxy:     ProxyAuthConfig{UserHeader: auth.DefaultProxyUserHeader},
	}
}

// authEnv are the RIDA_* variables of the auth settings.
var authEnv = []struct {
	name string
	set  func(a *AuthConfig, v string) error
}{
	{"RIDA_AUTH", func(a *AuthConfig, v string) error { a.Methods = splitList(v); return nil }},
	{"RIDA_AUTH_INSECURE_NO_AUTH", func(a *AuthConfig, v string) (err error) { a.InsecureNoAuth, err = strconv.ParseBool(v); return }},
	{"RIDA_AUTH_OIDC_ISSUER", func(a *AuthConfig, v string) error { a.OIDC.Issuer = v; return nil }},
	{"RIDA_AUTH_OIDC_AUDIENCE", func(a *AuthConfig, v string) error { a.OIDC.Audience = v; return nil }},
	{"RIDA_AUTH_OIDC_CLIENT_SECRET", func(a *AuthConfig, v string) error { a.OIDC.ClientSecret = v; return nil }},
	{"RIDA_AUTH_KERBEROS_KEYTAB", func(a *AuthConfig, v string) error { a.Kerberos.Keytab = v; return nil }},
	{"RIDA_AUTH_PROXY_TRUSTED", func(a *AuthConfig, v string) error { a.Proxy.Trusted = splitList(v); return nil }},
	{"RIDA_AUTH_LDAP_BIND_PASSWORD", func(a *AuthConfig, v string) error { a.LDAP.BindPassword = v; return nil }},
	{"RIDA_TOKEN_FILE", func(a *AuthConfig, v string) error { a.Client.TokenFile = v; return nil }},
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// applyEnv applies the RIDA_AUTH* variables.
func (a *AuthConfig) applyEnv(getenv func(string) string) error {
	for _, o := range authEnv {
		if v := getenv(o.name); v != "" {
			if err := o.set(a, v); err != nil {
				return &ConfigError{Source: "environment", Field: o.name, Err: err}
			}
		}
	}
	return nil
}

// addServeAuthFlags adds serve's authentication and TLS flags.
func addServeAuthFlags(flags *pflag.FlagSet) {
	flags.StringSlice("auth", []string{"none"}, "authentication: none, or any of oidc, kerberos, cert, proxy, comma-separated (env RIDA_AUTH)")
	flags.Bool("insecure-no-auth", false, "allow --auth none on a non-loopback address (only behind a proxy that authenticates)")
	flags.String("tls-cert", "", "serve HTTPS with this certificate (PEM; config auth.tls.cert)")
	flags.String("tls-key", "", "private key of --tls-cert (PEM; config auth.tls.key)")
	flags.String("client-ca", "", "CA certificates (PEM) client certificates must chain to; needed by --auth cert (config auth.tls.client_ca)")
}

// addClientAuthFlags adds the credentials flags of the client commands.
func addClientAuthFlags(flags *pflag.FlagSet) {
	flags.String("token-file", "", "send the OIDC bearer token in this file (env RIDA_TOKEN_FILE; RIDA_OIDC_TOKEN gives the token itself)")
	flags.Bool("kerberos", false, "send a Kerberos ticket from the credential cache (kinit first; KRB5CCNAME, KRB5_CONFIG)")
	flags.String("spn", "", "Kerberos principal of the server (default HTTP/<server host>)")
	flags.String("cert", "", "TLS client certificate (PEM) to authenticate with")
	flags.String("key", "", "private key of --cert (PEM)")
	flags.String("ca-cert", "", "CA certificates (PEM) that sign the server's certificate (default: the system's)")
}

// applyFlags applies the auth flags that were set on the command line.
func (a *AuthConfig) applyFlags(flags *pflag.FlagSet) {
	changed := func(name string) bool { f := flags.Lookup(name); return f != nil && f.Changed }
	str := func(name string, dst *string) {
		if changed(name) {
			*dst, _ = flags.GetString(name)
		}
	}
	if changed("auth") {
		a.Methods, _ = flags.GetStringSlice("auth")
	}
	if changed("insecure-no-auth") {
		a.InsecureNoAuth, _ = flags.GetBool("insecure-no-auth")
	}
	if changed("kerberos") {
		a.Client.Kerberos, _ = flags.GetBool("kerberos")
	}
	str("tls-cert", &a.TLS.Cert)
	str("tls-key", &a.TLS.Key)
	str("client-ca", &a.TLS.ClientCA)
	str("token-file", &a.Client.TokenFile)
	str("spn", &a.Client.SPN)
	str("cert", &a.Client.Cert)
	str("key", &a.Client.Key)
	str("ca-cert", &a.Client.CACert)
}

// validate checks the auth settings and names the first wrong one.
func (a *AuthConfig) validate() error {
	bad := func(field string, format string, args ...any) error {
		return &ConfigError{Source: "settings", Field: field, Err: fmt.Errorf(format, args...)}
	}
	if len(a.Methods) == 0 {
		return bad("auth.method", "name none, or any of oidc, kerberos, cert and proxy")
	}
	for _, m := range a.Methods {
		switch m {
		case "none":
			if len(a.Methods) > 1 {
				return bad("auth.method", "none cannot be combined with other methods")
			}
		case "oidc":
			if a.OIDC.Issuer == "" && a.OIDC.IntrospectionURL == "" {
				return bad("auth.oidc", "oidc needs auth.oidc.issuer (JWTs) or auth.oidc.introspection_url (opaque tokens)")
			}
		case "kerberos":
			if a.Kerberos.Keytab == "" {
				return bad("auth.kerberos.keytab", "kerberos needs the service keytab")
			}
		case "cert":
			if a.TLS.ClientCA == "" || a.TLS.Cert == "" {
				return bad("auth.tls.client_ca", "cert needs HTTPS (--tls-cert, --tls-key) and the CA of client certificates (--client-ca)")
			}
		case "proxy":
			if len(a.Proxy.Trusted) == 0 {
				return bad("auth.proxy.trusted", "proxy needs the addresses of the proxies allowed to name the user (e.g. [127.0.0.1/32, ::1/128]): "+
					"without them anyone who can reach rida could send %s and be anyone", a.Proxy.userHeader())
			}
			if _, err := a.Proxy.authenticator(); err != nil {
				return bad("auth.proxy", "%v", err)
			}
		default:
			return bad("auth.method", "unknown method %q: want none, oidc, kerberos, cert or proxy", m)
		}
	}
	if (a.TLS.Cert == "") != (a.TLS.Key == "") {
		return bad("auth.tls", "--tls-cert and --tls-key go together")
	}
	if a.RateLimit.Limit < 0 || a.RateLimit.Limit > 0 && a.RateLimit.Window <= 0 {
		return bad("auth.submit_rate", "limit must be 0 (unlimited) or positive, with a positive window")
	}
	if (a.Client.Cert == "") != (a.Client.Key == "") {
		return bad("auth.client", "--cert and --key go together")
	}
	return nil
}

func (p ProxyAuthConfig) userHeader() string {
	if p.UserHeader == "" {
		return auth.DefaultProxyUserHeader
	}
	return p.UserHeader
}

// authenticator checks the proxy settings and builds the authenticator.
func (p ProxyAuthConfig) authenticator() (*auth.Proxy, error) {
	trusted, err := auth.ParseTrusted(p.Trusted)
	if err != nil {
		return nil, err
	}
	return auth.NewProxy(auth.ProxyConfig{UserHeader: p.UserHeader, GroupsHeader: p.GroupsHeader, Trusted: trusted, StripRealm: p.StripRealm})
}

func (a *AuthConfig) enabled() bool { return !slices.Equal(a.Methods, []string{"none"}) }

// isLoopback reports whether a listen address only accepts local
// connections.
func isLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// configureAuth builds the server's authentication, rate limit and TLS
// from the configuration, refusing to serve without authentication where
// others can reach it.
func (m *Main) configureAuth(c Config, h *httpapi.Config, logger *slog.Logger) error {
	a := c.Auth
	if !a.enabled() && !isLoopback(c.Listen) && !a.InsecureNoAuth {
		return fmt.Errorf("refusing to serve on %s without authentication: anyone who can reach it could submit, cancel and import builds "+
			"under any name. Set --auth (oidc, kerberos, cert, proxy), listen on a loopback address, or pass --insecure-no-auth "+
			"when a proxy in front authenticates", c.Listen)
	}
	if a.RateLimit.Limit > 0 {
		h.SubmitLimiter = auth.NewRateLimiter(a.RateLimit.Limit, a.RateLimit.Window, m.Now)
	}
	var clientCAs *x509.CertPool
	if a.TLS.Cert != "" {
		tlsConfig, pool, err := auth.ServerTLS(a.TLS.Cert, a.TLS.Key, a.TLS.ClientCA)
		if err != nil {
			return err
		}
		h.TLS, clientCAs = tlsConfig, pool
	}
	if !a.enabled() {
		logger.Warn("authentication is off: every request is anonymous and submissions name their owner", "listen", c.Listen)
		return nil
	}
	var authenticators []auth.Authenticator
	for _, method := range a.Methods {
		switch method {
		case "oidc":
			o, err := auth.NewOIDC(auth.OIDCConfig{
				Issuer: a.OIDC.Issuer, Audience: a.OIDC.Audience, IntrospectionURL: a.OIDC.IntrospectionURL,
				ClientID: a.OIDC.ClientID, ClientSecret: a.OIDC.ClientSecret, UsernameClaim: a.OIDC.UsernameClaim,
				GroupsClaim: a.OIDC.GroupsClaim, RequiredScopes: a.OIDC.RequiredScopes, Now: m.Now,
			})
			if err != nil {
				return err
			}
			authenticators = append(authenticators, o)
		case "kerberos":
			k, err := auth.NewKerberos(auth.KerberosConfig{Keytab: a.Kerberos.Keytab, Principal: a.Kerberos.Principal, Realms: a.Kerberos.Realms})
			if err != nil {
				return err
			}
			authenticators = append(authenticators, k)
		case "cert":
			authenticators = append(authenticators, auth.NewCert(clientCAs, m.Now))
		case "proxy":
			p, err := a.Proxy.authenticator()
			if err != nil {
				return err
			}
			authenticators = append(authenticators, p)
			logger.Info("trusting a proxy's user header", "user_header", a.Proxy.userHeader(), "groups_header", a.Proxy.GroupsHeader,
				"trusted", a.Proxy.Trusted, "strip_realm", a.Proxy.StripRealm)
		}
	}
	var groups []auth.GroupSource
	if a.GroupFile != "" {
		gf, err := auth.ReadGroupFile(a.GroupFile)
		if err != nil {
			return err
		}
		groups = append(groups, gf)
	}
	if a.LDAP.URL != "" {
		l, err := auth.NewLDAP(auth.LDAPConfig{
			URL: a.LDAP.URL, BindDN: a.LDAP.BindDN, BindPassword: a.LDAP.BindPassword, GroupsDN: a.LDAP.GroupsDN,
			Filter: a.LDAP.Filter, Attribute: a.LDAP.Attribute, TTL: a.LDAP.CacheTTL, Now: m.Now,
		})
		if err != nil {
			return err
		}
		groups = append(groups, l)
	}
	guard := auth.NewGuard(authenticators, groups, auth.Policy{
		AllowedGroups: a.AllowedGroups, AdminGroups: a.AdminGroups, AnonymousReads: a.AnonymousReads,
	})
	h.Auth, h.AuthMethod = guard, guard.Methods()
	logger.Info("authentication", "methods", guard.Methods(), "allowed_groups", a.AllowedGroups, "admin_groups", a.AdminGroups,
		"anonymous_reads", a.AnonymousReads, "group_file", a.GroupFile, "ldap", a.LDAP.URL != "", "tls", h.TLS != nil)
	return nil
}

// sendsCredentials reports whether the client commands authenticate, in
// which case the server names the owner and the client must not.
func (a *AuthConfig) sendsCredentials(getenv func(string) string) bool {
	return a.Client.TokenFile != "" || getenv("RIDA_OIDC_TOKEN") != "" || a.Client.Kerberos || a.Client.Cert != ""
}

// httpClient returns the HTTP client of the client commands, sending the
// configured credentials.
func (m *Main) httpClient(c Config) (*http.Client, error) {
	cc := c.Auth.Client
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if cc.CACert != "" || cc.Cert != "" {
		tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if cc.CACert != "" {
		pool, err := auth.LoadCertPool(cc.CACert)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	if cc.Cert != "" {
		pair, err := tls.LoadX509KeyPair(cc.Cert, cc.Key)
		if err != nil {
			return nil, fmt.Errorf("load client certificate %s and key %s: %w", cc.Cert, cc.Key, err)
		}
		tr.TLSClientConfig.Certificates = []tls.Certificate{pair}
	}
	var rt http.RoundTripper = tr
	token := m.Getenv("RIDA_OIDC_TOKEN")
	if cc.TokenFile != "" {
		var err error
		if token, err = auth.ReadToken(cc.TokenFile); err != nil {
			return nil, err
		}
	}
	switch {
	case token != "":
		rt = &auth.BearerTransport{Token: token, Base: tr}
	case cc.Kerberos:
		ccache := m.Getenv("KRB5CCNAME")
		if ccache == "" {
			ccache = fmt.Sprintf("FILE:/tmp/krb5cc_%d", os.Getuid())
		}
		conf := cc.Krb5Config
		if conf == "" {
			conf = m.Getenv("KRB5_CONFIG")
		}
		if conf == "" {
			conf = "/etc/krb5.conf"
		}
		cl, err := auth.KerberosClient(ccache, conf)
		if err != nil {
			return nil, err
		}
		rt = &auth.NegotiateTransport{Client: cl, SPN: cc.SPN, Base: tr}
	}
	return &http.Client{Transport: rt, Timeout: time.Minute}, nil
}

// sendsCredentials reports whether a client command's configuration sends
// credentials; a configuration error is reported later, by the client.
func (m *Main) sendsCredentials(flags *pflag.FlagSet) bool {
	c, err := m.loadConfig(flags)
	return err == nil && c.Auth.sendsCredentials(m.Getenv)
}
