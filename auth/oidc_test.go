package auth_test

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/auth"
	"github.com/rida-build/rida/auth/authtest"
)

// now is the clock of the tests: tokens expire relative to it, never to
// the wall clock.
var now = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

func fixedNow() time.Time { return now }

func bearer(token string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	return r
}

// Ensure JWTs are checked against the issuer's keys, audience, expiry and
// required scopes, and the user and groups come from the claims.
func TestOIDC_JWT(t *testing.T) {
	iss := authtest.NewIssuer(t)
	o, err := auth.NewOIDC(auth.OIDCConfig{Issuer: iss.URL, Audience: "rida", RequiredScopes: []string{"openid"}, Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	valid := iss.Claims("alice", "rida", now, "packager")
	with := func(k string, v any) map[string]any {
		c := iss.Claims("alice", "rida", now, "packager")
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	tests := []struct {
		name, token string
		wantUser    string
		wantMsg     string // part of the refusal
	}{
		{"valid", iss.Sign(t, valid), "alice", ""},
		{"expired", iss.Sign(t, with("exp", now.Add(-time.Minute).Unix())), "", "expired at 2026-11-21T11:59:00Z"},
		{"wrong audience", iss.Sign(t, with("aud", "koji")), "", `expected audience "rida"`},
		{"wrong signature", authtest.SignJWT(t, otherKey, "k1", valid), "", "signature"},
		{"other issuer", iss.Sign(t, with("iss", "https://evil.example.org")), "", "different provider"},
		{"missing scope", iss.Sign(t, with("scope", "profile")), "", `Required OIDC scope "openid" not present`},
		{"no username", iss.Sign(t, with("preferred_username", nil)), "", `no "preferred_username" claim`},
		{"garbage", "a.b.c", "", "refused"},
		{"not a jwt and no introspection", "opaque-token", "", "not a JWT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := o.Authenticate(bearer(tt.token))
			if tt.wantMsg == "" {
				if err != nil {
					t.Fatalf("Authenticate() = %v", err)
				}
				if id.Name != tt.wantUser || strings.Join(id.Groups, ",") != "packager" {
					t.Errorf("Authenticate() = %+v, want %s in packager", id, tt.wantUser)
				}
				return
			}
			if rida.ErrorCodeOf(err) != rida.CodeUnauthorized || !strings.Contains(rida.ErrorMessageOf(err), tt.wantMsg) {
				t.Errorf("Authenticate() = %v (%s), want unauthorized containing %q", err, rida.ErrorCodeOf(err), tt.wantMsg)
			}
		})
	}
	t.Run("no credentials", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "Negotiate abc")
		if _, err := o.Authenticate(r); !errors.Is(err, auth.ErrNoCredentials) {
			t.Errorf("Authenticate(Negotiate) = %v, want ErrNoCredentials", err)
		}
	})
	t.Run("empty bearer", func(t *testing.T) {
		if _, err := o.Authenticate(bearer("")); rida.ErrorCodeOf(err) != rida.CodeUnauthorized {
			t.Errorf("Authenticate(Bearer) = %v, want unauthorized", err)
		}
	})
}

// Ensure an unreachable issuer is a 503, not a refusal of the user's
// token, and that a later request discovers it again.
func TestOIDC_IssuerDown(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	o, err := auth.NewOIDC(auth.OIDCConfig{Issuer: srv.URL, Audience: "rida", Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.Authenticate(bearer("a.b.c")); rida.ErrorCodeOf(err) != rida.CodeUnavailable {
		t.Errorf("Authenticate() = %v, want unavailable", err)
	}
}

// Ensure opaque tokens are introspected (RFC 7662): active ones name the
// user, inactive, expired and foreign ones are refused.
func TestOIDC_Introspection(t *testing.T) {
	iss := authtest.NewIssuer(t)
	o, err := auth.NewOIDC(auth.OIDCConfig{
		Issuer: iss.URL, Audience: "rida", IntrospectionURL: iss.URL + "/introspect",
		ClientID: iss.ClientID, ClientSecret: iss.ClientSecret, RequiredScopes: []string{"https://rida.example.org/submit"}, Now: fixedNow,
	})
	if err != nil {
		t.Fatal(err)
	}
	scope := "openid https://rida.example.org/submit"
	active := iss.Opaque("tok-active", map[string]any{"active": true, "username": "bob", "scope": scope, "exp": now.Add(time.Hour).Unix(), "groups": []string{"packager"}})
	inactive := iss.Opaque("tok-inactive", map[string]any{"active": false})
	expired := iss.Opaque("tok-expired", map[string]any{"active": true, "username": "bob", "scope": scope, "exp": now.Add(-time.Hour).Unix()})
	foreign := iss.Opaque("tok-foreign", map[string]any{"active": true, "username": "bob", "scope": scope, "aud": "koji"})
	noScope := iss.Opaque("tok-noscope", map[string]any{"active": true, "username": "bob", "scope": "openid"})

	id, err := o.Authenticate(bearer(active))
	if err != nil || id.Name != "bob" || strings.Join(id.Groups, ",") != "packager" {
		t.Fatalf("Authenticate(active) = %+v, %v; want bob in packager", id, err)
	}
	for token, want := range map[string]string{
		inactive: "not active", "tok-unknown": "not active", expired: "expired", foreign: "not meant for this service",
		noScope: "Required OIDC scope",
	} {
		if _, err := o.Authenticate(bearer(token)); rida.ErrorCodeOf(err) != rida.CodeUnauthorized || !strings.Contains(rida.ErrorMessageOf(err), want) {
			t.Errorf("Authenticate(%s) = %v, want unauthorized containing %q", token, err, want)
		}
	}

	t.Run("wrong client secret", func(t *testing.T) {
		bad, _ := auth.NewOIDC(auth.OIDCConfig{IntrospectionURL: iss.URL + "/introspect", ClientID: iss.ClientID, ClientSecret: "wrong", Now: fixedNow})
		if _, err := bad.Authenticate(bearer(active)); rida.ErrorCodeOf(err) != rida.CodeUnavailable {
			t.Errorf("Authenticate() = %v, want unavailable (the server's configuration is wrong, not the token)", err)
		}
	})
}
