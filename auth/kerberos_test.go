package auth_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/auth"
	"github.com/rida-build/rida/internal/krb5test"
)

// Ensure a ticket from a real MIT KDC, obtained by kinit into the user's
// credential cache and sent by NegotiateTransport, authenticates the user
// against the service keytab; a ticket for another service and garbage are
// refused.
func TestKerberos_Authenticate(t *testing.T) {
	kdc := krb5test.Start(t)
	kdc.AddUser(t, "alice", "alice-pw")
	keytab := kdc.AddService(t, "HTTP/localhost")
	otherKeytab := kdc.AddService(t, "HTTP/elsewhere")
	ccache := kdc.Kinit(t, "alice", "alice-pw")

	k, err := auth.NewKerberos(auth.KerberosConfig{Keytab: keytab})
	if err != nil {
		t.Fatal(err)
	}
	other, err := auth.NewKerberos(auth.KerberosConfig{Keytab: otherKeytab})
	if err != nil {
		t.Fatal(err)
	}
	serve := func(k *auth.Kerberos) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id, err := k.Authenticate(r)
			switch {
			case errors.Is(err, auth.ErrNoCredentials):
				io.WriteString(w, "none")
			case err != nil:
				io.WriteString(w, string(rida.ErrorCodeOf(err))+": "+rida.ErrorMessageOf(err))
			default:
				io.WriteString(w, "user "+id.Name)
			}
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	get := func(t *testing.T, cl *http.Client, url string, header string) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	krb, err := auth.KerberosClient("FILE:"+ccache, kdc.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	local := strings.Replace(serve(k).URL, "127.0.0.1", "localhost", 1)
	withTicket := &http.Client{Transport: &auth.NegotiateTransport{Client: krb}}

	if got := get(t, withTicket, local, ""); got != "user alice" {
		t.Errorf("with a ticket: %q, want user alice", got)
	}
	if got := get(t, http.DefaultClient, local, ""); got != "none" {
		t.Errorf("without: %q, want none", got)
	}
	if got := get(t, http.DefaultClient, local, "Negotiate bm90IGEgdGlja2V0"); !strings.HasPrefix(got, "unauthorized: Invalid Negotiate token") {
		t.Errorf("garbage: %q, want unauthorized", got)
	}
	// A ticket for HTTP/localhost shown to a service keyed for
	// HTTP/elsewhere.
	elsewhere := strings.Replace(serve(other).URL, "127.0.0.1", "localhost", 1)
	if got := get(t, withTicket, elsewhere, ""); !strings.HasPrefix(got, "unauthorized: The Kerberos ticket was refused") {
		t.Errorf("ticket for another service: %q, want unauthorized", got)
	}
}
