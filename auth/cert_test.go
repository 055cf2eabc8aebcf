package auth_test

import (
	"crypto/tls"
	"encoding/json"
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

// Ensure client certificates from the CA name their user, and unknown-CA
// and expired ones are refused with a reason, over a real TLS connection.
func TestCert_Authenticate(t *testing.T) {
	wall := time.Now() // the TLS handshake checks the server certificate with it
	ca := authtest.NewCA(t, "rida test CA", wall)
	other := authtest.NewCA(t, "someone else's CA", wall)
	c := auth.NewCert(ca.Pool(), func() time.Time { return wall })

	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := c.Authenticate(r)
		answer := map[string]string{}
		switch {
		case errors.Is(err, auth.ErrNoCredentials):
			answer["none"] = "true"
		case err != nil:
			answer["code"], answer["message"] = string(rida.ErrorCodeOf(err)), rida.ErrorMessageOf(err)
		default:
			answer["user"] = id.Name
		}
		_ = json.NewEncoder(w).Encode(answer)
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.Server(t, wall)}, ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	defer srv.Close()

	get := func(t *testing.T, cert *tls.Certificate) map[string]string {
		t.Helper()
		cfg := &tls.Config{RootCAs: ca.Pool()}
		if cert != nil {
			cfg.Certificates = []tls.Certificate{*cert}
		}
		cl := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
		resp, err := cl.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var answer map[string]string
		if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
			t.Fatal(err)
		}
		return answer
	}
	valid := ca.Client(t, "alice", wall.Add(-time.Hour), wall.Add(time.Hour))
	unknown := other.Client(t, "alice", wall.Add(-time.Hour), wall.Add(time.Hour))
	expired := ca.Client(t, "alice", wall.Add(-48*time.Hour), wall.Add(-time.Hour))
	noCN := ca.Client(t, "", wall.Add(-time.Hour), wall.Add(time.Hour))

	if got := get(t, &valid); got["user"] != "alice" {
		t.Errorf("valid certificate: %v, want user alice", got)
	}
	if got := get(t, nil); got["none"] != "true" {
		t.Errorf("no certificate: %v, want no credentials", got)
	}
	for name, tc := range map[string]struct {
		cert *tls.Certificate
		want string
	}{
		"unknown CA": {&unknown, "not signed by a certificate authority this server trusts"},
		"expired":    {&expired, "is not valid now"},
		"no CN":      {&noCN, "no subject common name"},
	} {
		got := get(t, tc.cert)
		if got["code"] != string(rida.CodeUnauthorized) || !strings.Contains(got["message"], tc.want) {
			t.Errorf("%s: %v, want unauthorized containing %q", name, got, tc.want)
		}
	}
}
