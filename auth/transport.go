package auth

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jcmturner/gokrb5/v8/client"
	"github.com/jcmturner/gokrb5/v8/config"
	"github.com/jcmturner/gokrb5/v8/credentials"
	"github.com/jcmturner/gokrb5/v8/iana/nametype"
	"github.com/jcmturner/gokrb5/v8/spnego"
	"github.com/jcmturner/gokrb5/v8/types"
)

// BearerTransport adds "Authorization: Bearer <Token>" to every request.
type BearerTransport struct {
	Token string
	// Base sends the request; nil is http.DefaultTransport.
	Base http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *BearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+t.Token)
	return base(t.Base).RoundTrip(r)
}

// ReadToken reads a bearer token from a file (as written by an OIDC login
// helper): the first line, trimmed.
func ReadToken(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read token: %w", err)
	}
	tok, _, _ := strings.Cut(string(data), "\n")
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return "", fmt.Errorf("read token: %s is empty", path)
	}
	return tok, nil
}

// NegotiateTransport adds a Kerberos ticket for the server
// ("Authorization: Negotiate <SPNEGO token>") to every request.
type NegotiateTransport struct {
	Client *client.Client
	// SPN is the server's principal; empty is HTTP/<host of the URL>.
	SPN string
	// Base sends the request; nil is http.DefaultTransport.
	Base http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *NegotiateTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	spn := t.SPN
	if spn == "" {
		spn = ServiceSPN(r.URL)
	}
	if err := spnego.SetSPNEGOHeader(t.Client, r, spn); err != nil {
		return nil, fmt.Errorf("kerberos ticket for %s: %w", spn, err)
	}
	return base(t.Base).RoundTrip(r)
}

// ServiceSPN is the conventional principal of an HTTP service:
// HTTP/<host>.
func ServiceSPN(u *url.URL) string { return "HTTP/" + u.Hostname() }

// KerberosClient returns a Kerberos client logged in from the user's
// credential cache (what kinit wrote), with the krb5.conf at confPath.
// ccache is a path or "FILE:path"; other cache types (KEYRING:, KCM:) are
// not readable from Go.
func KerberosClient(ccache, confPath string) (*client.Client, error) {
	cfg, err := config.Load(confPath)
	// gokrb5 reports directives it does not know (v4_* entries, say) but
	// returns a usable configuration, as MIT's tools would use it.
	var unsupported config.UnsupportedDirective
	if err != nil && !errors.As(err, &unsupported) {
		return nil, fmt.Errorf("read %s: %w", confPath, err)
	}
	path, ok := strings.CutPrefix(ccache, "FILE:")
	if !ok && strings.Contains(ccache, ":") && !strings.HasPrefix(ccache, "/") {
		return nil, fmt.Errorf("kerberos credential cache %q: only FILE: caches can be read (run kinit with KRB5CCNAME=FILE:/tmp/krb5cc_$UID)", ccache)
	}
	cc, err := credentials.LoadCCache(path)
	if err != nil {
		return nil, fmt.Errorf("read kerberos credential cache %s (run kinit first): %w", path, err)
	}
	// An expired TGT would only show as the server's refusal; say it here.
	realm := cc.GetClientRealm()
	tgt, ok := cc.GetEntry(types.PrincipalName{NameType: nametype.KRB_NT_SRV_INST, NameString: []string{"krbtgt", realm}})
	if ok && !tgt.EndTime.After(time.Now()) {
		return nil, fmt.Errorf("the Kerberos ticket in %s expired at %s: run kinit %s@%s", path,
			tgt.EndTime.UTC().Format(time.RFC3339), cc.GetClientPrincipalName().PrincipalNameString(), realm)
	}
	cl, err := client.NewFromCCache(cc, cfg, client.DisablePAFXFAST(true))
	if err != nil {
		return nil, fmt.Errorf("kerberos credential cache %s: %w", path, err)
	}
	return cl, nil
}

func base(rt http.RoundTripper) http.RoundTripper {
	if rt == nil {
		return http.DefaultTransport
	}
	return rt
}
