package koji

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/internal/xmlrpc"
)

// captures is the folder of real exchanges with a Koji 1.35 hub.
const captures = "../../shared/testdata/koji"

func capture(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(captures, name))
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("%s is absent (a clone without ../shared): the captured Koji exchanges are not here", captures)
	}
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// sessionHub is a hub with Koji's session rules (koji.md §2.6): password
// login gives a session id and key; later calls must carry them with a
// callnum that never goes back; an expired session answers AuthExpired
// until renewed by login(renew=True) with the old headers. Other methods
// answer what reply returns.
type sessionHub struct {
	t       *testing.T
	mu      sync.Mutex
	key     string
	expired bool
	last    int64 // last callnum seen, -1 before any
	calls   []hubCall
	reply   func(method string, params []any) []byte
	status  []int // HTTP statuses to answer first, one per request
}

type hubCall struct {
	path, method string
	params       []any
	body         []byte
	header       http.Header
}

func (h *sessionHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.status) > 0 {
		code := h.status[0]
		h.status = h.status[1:]
		http.Error(w, "Service Unavailable", code)
		return
	}
	method, params, err := xmlrpc.DecodeCall(body)
	if err != nil {
		http.Error(w, "Invalid request: "+err.Error(), http.StatusBadRequest)
		return
	}
	h.calls = append(h.calls, hubCall{r.URL.Path, method, params, body, r.Header.Clone()})
	fault := func(code int, msg string) {
		out, _ := xmlrpc.EncodeFault(code, msg)
		w.Write(out)
	}
	ok := func(v any) {
		out, _ := xmlrpc.EncodeResponse(v)
		w.Write(out)
	}
	_, kw := xmlrpc.SplitKwArgs(params)
	renew := false
	for _, m := range kw {
		if m.Name == "renew" && m.Value == true {
			renew = true
		}
	}
	id, key := r.Header.Get("Koji-Session-Id"), r.Header.Get("Koji-Session-Key")
	switch {
	case method == "login" || method == "sslLogin":
		if id != "" && !renew {
			fault(1002, "Already logged in")
			return
		}
		if renew && (id != "20" || key != h.key) {
			fault(1002, "Invalid session or bad credentials")
			return
		}
		h.key = "SESSION-KEY-" + strconv.Itoa(len(h.calls))
		h.expired, h.last = false, -1
		ok(xmlrpc.Struct{{Name: "session-id", Value: int64(20)}, {Name: "session-key", Value: h.key}, {Name: "header-auth", Value: true}})
		return
	case id != "":
		if id != "20" || key != h.key {
			fault(1002, "Invalid session or bad credentials")
			return
		}
		if h.expired {
			fault(1007, `session "20" has expired`)
			return
		}
		n, _ := strconv.ParseInt(r.Header.Get("Koji-Session-Callnum"), 10, 64)
		if n <= h.last {
			fault(1008, strconv.FormatInt(h.last, 10)+" > "+strconv.FormatInt(n, 10)+" (session 20)")
			return
		}
		h.last = n
	}
	w.Write(h.reply(method, params))
}

func newHub(t *testing.T, reply func(method string, params []any) []byte) (*sessionHub, *httptest.Server) {
	h := &sessionHub{t: t, last: -1, reply: reply}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv
}

func newTestClient(t *testing.T, srv *httptest.Server, p Profile) *Client {
	t.Helper()
	p.Server = srv.URL + "/kojihub"
	c, err := NewClient(ClientConfig{Profile: p, HTTPClient: srv.Client(), UserAgent: "koji/1",
		Sleep: func(context.Context, time.Duration) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestClient_LoginAsKoji: the password login is byte for byte what the
// koji client sent in the capture, and later calls carry the session with
// an increasing callnum.
func TestClient_LoginAsKoji(t *testing.T) {
	hello := capture(t, "001-hello.response.xml")
	hub, srv := newHub(t, func(string, []any) []byte { return hello })
	c := newTestClient(t, srv, Profile{AuthType: AuthPassword, User: "kojiadmin", Password: "kojiadmin"})
	if err := c.Login(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, want := string(hub.calls[0].body), string(capture(t, "004-login.request.xml")); got != want {
		t.Errorf("login body:\n%s\nwant (the koji client's):\n%s", got, want)
	}
	for range 3 {
		v, err := c.Call(t.Context(), "hello")
		if err != nil || v != "Hello World" {
			t.Fatalf("hello: %v, %v", v, err)
		}
	}
	for i, call := range hub.calls[1:] {
		if call.header.Get("Koji-Session-Id") != "20" || call.header.Get("Koji-Session-Callnum") != strconv.Itoa(i) {
			t.Errorf("call %d headers: %v", i, call.header)
		}
	}
	if err := c.Logout(t.Context()); err != nil || c.LoggedIn() {
		t.Errorf("logout: %v, logged in %v", err, c.LoggedIn())
	}
}

// TestClient_Faults: faults come back typed, with Koji's code and message,
// and are not retried.
func TestClient_Faults(t *testing.T) {
	bad := capture(t, "005-login-bad-password.response.xml")
	hub, srv := newHub(t, nil)
	c := newTestClient(t, srv, Profile{AuthType: AuthPassword, User: "kojiadmin", Password: "wrong"})
	hub.reply = func(string, []any) []byte { return bad }
	// The hub's session rules answer login itself; ask for something else
	// that replays the captured fault.
	_, err := c.Call(t.Context(), "getTag", "f40")
	var fe *FaultError
	if !errors.As(err, &fe) || fe.Code != FaultAuth || fe.Name() != "AuthError" || fe.String != "invalid username or password" {
		t.Fatalf("err = %v", err)
	}
	if len(hub.calls) != 1 {
		t.Errorf("a fault was retried: %d calls", len(hub.calls))
	}
	if rida.ErrorCodeOf(err) != rida.CodeInternal {
		t.Errorf("a fault is the caller's to judge, code %s", rida.ErrorCodeOf(err))
	}
}

func TestClient_ServerOfflineIsUnavailable(t *testing.T) {
	_, srv := newHub(t, func(string, []any) []byte {
		out, _ := xmlrpc.EncodeFault(1014, "Server disabled for maintenance")
		return out
	})
	c := newTestClient(t, srv, Profile{AuthType: AuthNone})
	_, err := c.Call(t.Context(), "getTag", "f40")
	if rida.ErrorCodeOf(err) != rida.CodeUnavailable || FaultCode(err) != FaultServerOffline {
		t.Errorf("err = %v (code %s, fault %d)", err, rida.ErrorCodeOf(err), FaultCode(err))
	}
}

// TestClient_RetriesTransportErrors: HTTP 5xx is retried with the same
// callnum (the hub refuses a committed call twice), 4xx is not.
func TestClient_RetriesTransportErrors(t *testing.T) {
	hello := capture(t, "001-hello.response.xml")
	hub, srv := newHub(t, func(string, []any) []byte { return hello })
	c := newTestClient(t, srv, Profile{AuthType: AuthPassword, User: "u", Password: "p", MaxRetries: 3, RetryInterval: time.Millisecond})
	if err := c.Login(t.Context()); err != nil {
		t.Fatal(err)
	}
	hub.status = []int{503, 502}
	if v, err := c.Call(t.Context(), "hello"); err != nil || v != "Hello World" {
		t.Fatalf("hello after two 5xx: %v, %v", v, err)
	}
	if n := len(hub.calls); n != 2 || hub.calls[1].header.Get("Koji-Session-Callnum") != "0" {
		t.Errorf("calls %d, callnum %q", n, hub.calls[n-1].header.Get("Koji-Session-Callnum"))
	}
	hub.status = []int{400}
	if _, err := c.Call(t.Context(), "hello"); err == nil || rida.ErrorCodeOf(err) == rida.CodeUnavailable {
		t.Errorf("400: %v", err)
	}
	hub.status = []int{503, 503, 503, 503, 503}
	if _, err := c.Call(t.Context(), "hello"); rida.ErrorCodeOf(err) != rida.CodeUnavailable {
		t.Errorf("after the retries: %v", err)
	}
}

// TestClient_RenewsExpiredSession: AuthExpired → login(renew=True) with the
// old headers → the call again, as the koji client does.
func TestClient_RenewsExpiredSession(t *testing.T) {
	hello := capture(t, "001-hello.response.xml")
	hub, srv := newHub(t, func(string, []any) []byte { return hello })
	c := newTestClient(t, srv, Profile{AuthType: AuthPassword, User: "u", Password: "p"})
	if err := c.Login(t.Context()); err != nil {
		t.Fatal(err)
	}
	hub.expired = true
	if v, err := c.Call(t.Context(), "hello"); err != nil || v != "Hello World" {
		t.Fatalf("hello on an expired session: %v, %v", v, err)
	}
	var methods []string
	for _, call := range hub.calls {
		methods = append(methods, call.method)
	}
	if got := len(methods); got != 4 || methods[2] != "login" || hub.calls[2].header.Get("Koji-Session-Id") != "20" {
		t.Errorf("calls %v", methods)
	}
}

func TestClient_SSLLoginPath(t *testing.T) {
	hub, srv := newHub(t, nil)
	c := newTestClient(t, srv, Profile{AuthType: AuthSSL, Cert: "unused-with-a-given-http-client"})
	if err := c.Login(t.Context()); err != nil {
		t.Fatal(err)
	}
	if hub.calls[0].path != "/kojihub/ssllogin" || hub.calls[0].method != "sslLogin" {
		t.Errorf("ssl login went to %s %s", hub.calls[0].path, hub.calls[0].method)
	}
	if body := string(hub.calls[0].body); body != string(capture(t, "016-sslLogin.request.xml")) {
		t.Errorf("sslLogin body:\n%s", body)
	}
}

// TestClient_Multicall sends the captured multiCall as the koji client
// did (byte for byte) and reads the captured reply (mixed results).
func TestClient_Multicall(t *testing.T) {
	request, reply := capture(t, "095-multiCall.request.xml"), capture(t, "095-multiCall.response.xml")
	_, params, err := xmlrpc.DecodeCall(request)
	if err != nil {
		t.Fatal(err)
	}
	calls, err := xmlrpc.MulticallCalls(params)
	if err != nil {
		t.Fatal(err)
	}
	want, err := xmlrpc.DecodeMulticallResponse(reply)
	if err != nil {
		t.Fatal(err)
	}
	hub, srv := newHub(t, func(string, []any) []byte { return reply })
	c := newTestClient(t, srv, Profile{AuthType: AuthNone})
	got, err := c.Multicall(t.Context(), calls)
	if err != nil {
		t.Fatal(err)
	}
	if string(hub.calls[0].body) != string(request) {
		t.Errorf("multiCall body:\n%s\nwant (the koji client's):\n%s", hub.calls[0].body, request)
	}
	faults := 0
	for i := range got {
		if (got[i].Err() == nil) != (want[i].Err() == nil) {
			t.Errorf("result %d: %v, want %v", i, got[i], want[i])
		}
		if got[i].Err() != nil {
			faults++
		}
	}
	if faults == 0 || faults == len(got) {
		t.Errorf("the capture mixes results and faults; got %d faults of %d", faults, len(got))
	}
	if _, err := c.Multicall(t.Context(), calls[:1]); err == nil {
		t.Error("a reply with more results than calls was accepted")
	}
}

func TestNewClientRefuses(t *testing.T) {
	for _, p := range []Profile{
		{Name: "none"},
		{Name: "krbkeytabnoprincipal", Server: "https://hub/kojihub", AuthType: AuthKerberos, Keytab: "/etc/rida.keytab"},
		{Name: "sslnocert", Server: "https://hub/kojihub", AuthType: AuthSSL},
		{Name: "badca", Server: "https://hub/kojihub", AuthType: AuthNone, ServerCA: "/nonexistent/ca.pem"},
	} {
		if _, err := NewClient(ClientConfig{Profile: p}); rida.ErrorCodeOf(err) != rida.CodeInvalid {
			t.Errorf("%s: %v", p.Name, err)
		}
	}
}
