package auth

import (
	"strings"
	"testing"
)

// Ensure Authorization header parsing never panics and only ever returns
// a token68 of the scheme asked for.
func FuzzAuthCredentials(f *testing.F) {
	for _, s := range []string{"Bearer abc.def.ghi", "bearer  tok==", "Negotiate YIIB", "Bearer", "Bearer a b", "Basic dXNlcjpwdw==", "", "Bearer =", "Bearer \x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		for _, scheme := range []string{"Bearer", "Negotiate"} {
			cred, ok, err := authCredentials(header, scheme)
			if !ok && (cred != "" || err != nil) {
				t.Fatalf("authCredentials(%q, %s) = %q, %v, %v", header, scheme, cred, ok, err)
			}
			if ok && err == nil && (!isToken68(cred) || !strings.HasSuffix(header, cred) && !strings.Contains(header, cred)) {
				t.Fatalf("authCredentials(%q, %s) = %q: not a token68 of the header", header, scheme, cred)
			}
		}
	})
}

// Ensure introspection answers are parsed without panics, and accepted only
// with a boolean "active".
func FuzzParseIntrospection(f *testing.F) {
	for _, s := range []string{`{"active":true,"username":"a"}`, `{"active":"true"}`, `null`, `[]`, `{"active":false}`, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		claims, err := parseIntrospection(data)
		if err != nil {
			return
		}
		if _, ok := claims["active"].(bool); !ok {
			t.Fatalf("parseIntrospection(%q) accepted an answer without a boolean active", data)
		}
		o := &OIDC{cfg: OIDCConfig{UsernameClaim: "username", GroupsClaim: "groups", RequiredScopes: []string{"x"}}}
		_, _ = o.identity(claims)
	})
}

// Ensure group files never panic the parser, and parsed names are never
// empty or spaced.
func FuzzParseGroupFile(f *testing.F) {
	for _, s := range []string{"packager: [alice, bob]\n", "a:\n  - b\n", "[]", "a: b", "? [x]\n: [y]\n", "&a x: *a"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		gf, err := ParseGroupFile(data)
		if err != nil {
			return
		}
		for user, groups := range gf.byUser {
			if checkName(user) != nil {
				t.Fatalf("user %q accepted", user)
			}
			for _, g := range groups {
				if checkName(g) != nil {
					t.Fatalf("group %q accepted", g)
				}
			}
		}
	})
}

// Ensure a proxy's user and groups headers never panic the parsers, and
// accepted names are never empty, long, spaced or comma-joined, and are
// the header's value (without its realm, with strip).
func FuzzProxyHeaders(f *testing.F) {
	for _, s := range [][2]string{{"alice", "packager"}, {"alice@EXAMPLE.ORG", "a, b c"}, {"(null)", ""}, {"@R", ",,"}, {"a b", "\x00"}, {"zoë\xff", "g\tх"}} {
		f.Add(s[0], s[1], false)
		f.Add(s[0], s[1], true)
	}
	f.Fuzz(func(t *testing.T, user, groups string, strip bool) {
		check := func(what, name string) {
			if name == "" || len(name) > maxProxyNameLen || strings.ContainsRune(name, ',') || checkName(name) != nil {
				t.Fatalf("%s %q accepted", what, name)
			}
		}
		if name, err := parseProxyUser(user, strip); err == nil {
			check("user", name)
			v := strings.TrimSpace(user)
			if i := strings.LastIndexByte(v, '@'); strip && i >= 0 {
				v = v[:i] // the realm is after the last @
			}
			if name != v {
				t.Fatalf("parseProxyUser(%q, %v) = %q, want %q", user, strip, name, v)
			}
		}
		if gs, err := parseProxyGroups([]string{groups}); err == nil {
			for _, g := range gs {
				check("group", g)
			}
		}
	})
}
