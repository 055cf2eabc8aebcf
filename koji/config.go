package koji

import (
	"bufio"
	"bytes"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rida-build/rida"
)

// Auth types of a profile's authtype, as the koji client names them.
const (
	AuthNone     = "noauth"
	AuthPassword = "password"
	AuthSSL      = "ssl"
	AuthKerberos = "kerberos"
)

// Profile is one section of a koji.conf-style file: where the hub is and
// how to log in, with the koji client's key names.
type Profile struct {
	Name string
	// Server is the hub's XML-RPC URL (server), TopURL where built files
	// are served (topurl), WebURL the web UI (weburl).
	Server, TopURL, WebURL string
	// AuthType is noauth, password, ssl or kerberos; empty means the koji
	// client's default: ssl when a cert is set, else kerberos.
	AuthType string
	// Cert is the client certificate (PEM, key included) and ServerCA the
	// CA bundle that verifies the hub, for ssl (cert, serverca).
	Cert, ServerCA string
	// User and Password are for password logins (development hubs).
	User, Password string
	// Principal and Keytab are for kerberos logins: with both, rida gets
	// its ticket from the keytab as Principal; without a keytab it uses the
	// user's FILE: credential cache (KRB5CCNAME), which must then belong to
	// Principal when that is set.
	Principal, Keytab string
	// KrbService is the service part of the hub's Kerberos principal
	// (krbservice): <KrbService>/<hub host name>. Empty is "HTTP", the
	// service the koji client's GSSAPI login asks a ticket for.
	KrbService string
	// KrbCanonHost canonicalizes the hub's host name through DNS (CNAME)
	// before making its principal (krb_canon_host).
	KrbCanonHost bool
	// NoSSLVerify turns off verification of the hub's certificate
	// (no_ssl_verify); for development only.
	NoSSLVerify bool
	// Timeout bounds each call (timeout, seconds); MaxRetries and
	// RetryInterval govern retries of transport failures (max_retries,
	// retry_interval, seconds). Zero values mean the client's defaults.
	Timeout       time.Duration
	MaxRetries    int
	RetryInterval time.Duration
}

// EffectiveAuthType is the auth type the koji client would use.
func (p Profile) EffectiveAuthType() string {
	switch {
	case p.AuthType != "":
		return p.AuthType
	case p.Cert != "":
		return AuthSSL
	}
	return AuthKerberos
}

// ReadProfile reads the profile name (the koji client's default is "koji")
// from a koji.conf-style file. Paths starting with ~/ are taken from the
// user's home directory, as the koji client does.
func ReadProfile(path, name string) (Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Profile{}, rida.Errorf(rida.CodeInvalid, "Koji configuration: %v", err)
	}
	home, _ := os.UserHomeDir()
	profiles, err := ParseConfig(data, path, home)
	if err != nil {
		return Profile{}, err
	}
	p, ok := profiles[name]
	if !ok {
		return Profile{}, rida.Errorf(rida.CodeInvalid, "Koji configuration %s has no profile %q (it has %s)",
			path, name, strings.Join(slices.Sorted(maps.Keys(profiles)), ", "))
	}
	if p.Server == "" {
		return Profile{}, rida.Errorf(rida.CodeInvalid, "Koji configuration %s: profile %q has no server", path, name)
	}
	return p, nil
}

// ParseConfig reads every profile of a koji.conf-style file (Python
// configparser's INI: [section] headers, "key = value" or "key: value",
// comments starting with # or ;, indented continuation lines, keys in any
// case). Keys the koji client has but rida does not use are ignored; wrong
// values of the ones it uses are errors naming the file, line and key.
// home replaces a leading ~ in paths; source names the file in errors.
func ParseConfig(data []byte, source, home string) (map[string]Profile, error) {
	type entry struct {
		value string
		line  int
	}
	sections := map[string]map[string]entry{}
	var order []string
	var cur map[string]entry
	var lastKey string
	bad := func(line int, format string, args ...any) error {
		return rida.Errorf(rida.CodeInvalid, "Koji configuration %s:%d: %s", source, line, fmt.Sprintf(format, args...))
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		raw := sc.Text()
		trimmed := strings.TrimSpace(raw)
		switch {
		case trimmed == "" || trimmed[0] == '#' || trimmed[0] == ';':
			lastKey = ""
			continue
		case raw[0] == ' ' || raw[0] == '\t':
			// A continuation of the previous value (configparser joins
			// them with newlines).
			if cur == nil || lastKey == "" {
				return nil, bad(n, "indented line %q continues no value", trimmed)
			}
			e := cur[lastKey]
			e.value += "\n" + trimmed
			cur[lastKey] = e
			continue
		case trimmed[0] == '[':
			if !strings.HasSuffix(trimmed, "]") || len(trimmed) < 3 {
				return nil, bad(n, "malformed section header %q", trimmed)
			}
			name := strings.TrimSpace(trimmed[1 : len(trimmed)-1])
			if _, dup := sections[name]; dup {
				return nil, bad(n, "section [%s] appears twice", name)
			}
			cur = map[string]entry{}
			sections[name] = cur
			order = append(order, name)
			lastKey = ""
			continue
		}
		if cur == nil {
			return nil, bad(n, "%q comes before any [section]", trimmed)
		}
		i := strings.IndexAny(trimmed, "=:")
		if i <= 0 {
			return nil, bad(n, "want key = value, not %q", trimmed)
		}
		key := strings.ToLower(strings.TrimSpace(trimmed[:i]))
		cur[key] = entry{value: strings.TrimSpace(trimmed[i+1:]), line: n}
		lastKey = key
	}
	if err := sc.Err(); err != nil {
		return nil, rida.Errorf(rida.CodeInvalid, "Koji configuration %s: %v", source, err)
	}

	expand := func(p string) string {
		if home != "" && (p == "~" || strings.HasPrefix(p, "~/")) {
			return filepath.Join(home, p[1:])
		}
		return p
	}
	out := make(map[string]Profile, len(sections))
	for _, name := range order {
		sec := sections[name]
		p := Profile{Name: name}
		str := func(key string) string { return sec[key].value }
		p.Server, p.TopURL, p.WebURL = str("server"), str("topurl"), str("weburl")
		p.AuthType = strings.ToLower(str("authtype"))
		p.Cert, p.ServerCA, p.Keytab = expand(str("cert")), expand(str("serverca")), expand(str("keytab"))
		p.User, p.Password, p.Principal = str("user"), str("password"), str("principal")
		p.KrbService = str("krbservice")
		for key, dst := range map[string]*bool{"no_ssl_verify": &p.NoSSLVerify, "krb_canon_host": &p.KrbCanonHost} {
			if e, ok := sec[key]; ok {
				v, err := parseBool(e.value)
				if err != nil {
					return nil, bad(e.line, "%s: %v", key, err)
				}
				*dst = v
			}
		}
		for key, dst := range map[string]*time.Duration{"timeout": &p.Timeout, "retry_interval": &p.RetryInterval} {
			if e, ok := sec[key]; ok {
				secs, err := strconv.ParseFloat(e.value, 64)
				if err != nil || secs < 0 || secs > 7*24*3600 {
					return nil, bad(e.line, "%s: want a number of seconds, not %q", key, e.value)
				}
				*dst = time.Duration(secs * float64(time.Second))
			}
		}
		if e, ok := sec["max_retries"]; ok {
			v, err := strconv.Atoi(e.value)
			if err != nil || v < 0 {
				return nil, bad(e.line, "max_retries: want a non-negative integer, not %q", e.value)
			}
			p.MaxRetries = v
		}
		switch p.AuthType {
		case "", AuthNone, AuthPassword, AuthSSL, AuthKerberos:
		default:
			return nil, bad(sec["authtype"].line, "authtype: want noauth, password, ssl or kerberos, not %q", p.AuthType)
		}
		if p.Server != "" {
			if u, err := url.Parse(p.Server); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return nil, bad(sec["server"].line, "server: want an http(s) URL of the hub, not %q", p.Server)
			}
		}
		out[name] = p
	}
	return out, nil
}

// parseBool accepts what configparser's getboolean does.
func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "1", "yes", "true", "on":
		return true, nil
	case "0", "no", "false", "off":
		return false, nil
	}
	return false, fmt.Errorf("want yes/no, true/false, on/off or 1/0, not %q", v)
}
