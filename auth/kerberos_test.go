package auth_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// TestKerberosClient_Cache: the client side reads what kinit wrote, with a
// krb5.conf gokrb5 only partly understands, and says so when the ticket
// has expired instead of letting the server refuse it.
func TestKerberosClient_Cache(t *testing.T) {
	kdc := krb5test.Start(t)
	kdc.AddUser(t, "alice", "alice-pw")
	conf, err := os.ReadFile(kdc.ConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	// An MIT-only directive in a realm block: gokrb5 reports it, MIT's
	// tools ignore it, and so must rida.
	withV4 := filepath.Join(t.TempDir(), "krb5.conf")
	patched := strings.Replace(string(conf), "\t\tkdc = ", "\t\tv4_realm = RIDA.TEST\n\t\tkdc = ", 1)
	if patched == string(conf) {
		t.Fatal("the test KDC's krb5.conf has no realm kdc line to patch")
	}
	if err := os.WriteFile(withV4, []byte(patched), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := auth.KerberosClient("FILE:"+kdc.Kinit(t, "alice", "alice-pw"), withV4); err != nil {
		t.Errorf("with an unsupported directive: %v", err)
	}

	short := filepath.Join(t.TempDir(), "ccache")
	cmd := exec.Command("kinit", "-l", "2s", "-c", "FILE:"+short, "alice")
	cmd.Env = kdc.Env()
	cmd.Stdin = strings.NewReader("alice-pw\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kinit: %v\n%s", err, out)
	}
	time.Sleep(3 * time.Second) // the ticket's lifetime, not a measurement
	_, err = auth.KerberosClient("FILE:"+short, kdc.ConfigPath)
	if err == nil || !strings.Contains(err.Error(), "expired at") || !strings.Contains(err.Error(), "run kinit alice@"+kdc.Realm) {
		t.Errorf("expired ticket: %v", err)
	}
}
