package kojitest_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rida-build/rida/internal/xmlrpc"
	"github.com/rida-build/rida/koji"
	"github.com/rida-build/rida/koji/kojitest"
)

func TestHub_Transport(t *testing.T) {
	hub := kojitest.NewHub(t, kojitest.Options{})
	do := func(method, body string) (*http.Response, string) {
		req, _ := http.NewRequestWithContext(t.Context(), method, hub.URL(), strings.NewReader(body))
		resp, err := hub.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	for _, tc := range []struct {
		name, method, body string
		status             int
		reply              string
	}{
		{"get", http.MethodGet, "", 405, "Method Not Allowed\nThis is an XML-RPC server. Only POST requests are accepted.\n"},
		{"empty", http.MethodPost, "", 400, "Invalid request: Empty request\n"},
		{"truncated", http.MethodPost, "<?xml version='1.0'?>\n<methodCall>\n<methodName>hello</methodName>\n<params>\n", 400,
			"Invalid request: no element found: line 5, column 0\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := do(tc.method, tc.body)
			if resp.StatusCode != tc.status || body != tc.reply {
				t.Errorf("HTTP %d %q, want %d %q", resp.StatusCode, body, tc.status, tc.reply)
			}
			if resp.Header.Get("Koji-Version") != kojitest.Version {
				t.Errorf("Koji-Version %q", resp.Header.Get("Koji-Version"))
			}
		})
	}
	r := newRPC(t, hub)
	_, err := r.call("noSuchMethod")
	wantFault(t, "unknown method", err, 1000, "Invalid method: noSuchMethod")
}

// TestHub_ArgumentErrors: Python's TypeError texts as Koji's
// ParameterError (fault 1 through the login wrapper).
func TestHub_ArgumentErrors(t *testing.T) {
	_, r := admin(t, kojitest.Options{})
	for _, tc := range []struct {
		method string
		params []any
		code   int
		msg    string
	}{
		{"getTag", nil, 1019, "get_tag() missing 1 required positional argument: 'tagInfo'"},
		{"getTag", []any{"x", kw("bogus", 1)}, 1019, "get_tag() got an unexpected keyword argument 'bogus'"},
		{"getTag", []any{"x", kw("tagInfo", "y")}, 1019, "get_tag() got multiple values for argument 'tagInfo'"},
		{"getTaskInfo", []any{1, true, false, 4}, 1019, "RootExports.getTaskInfo() takes from 2 to 4 positional arguments but 5 were given"},
		{"getLoggedInUser", []any{1}, 1019, "RootExports.getLoggedInUser() takes 1 positional argument but 2 were given"},
		{"createBuildTarget", nil, 1019, "create_build_target() missing 3 required positional arguments: 'name', 'build_tag', and 'dest_tag'"},
		{"login", []any{"kojiadmin"}, 1, "<class 'TypeError'>: Session.login() missing 1 required positional argument: 'password'"},
		{"getTaskInfo", []any{"x"}, 1019, "Invalid type for value 'x': <class 'str'>, expected type <class 'int'>"},
		{"getTag", []any{1.5}, 1019, "Invalid name or id value: 1.5"},
	} {
		_, err := r.call(tc.method, tc.params...)
		wantFault(t, tc.method, err, tc.code, tc.msg)
	}
}

var keyRE = regexp.MustCompile(`^1-[A-Za-z0-9]{19}$`)

func TestHub_Sessions(t *testing.T) {
	now := time.Date(2026, 11, 21, 13, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	hub := kojitest.NewHub(t, kojitest.Options{Now: clock, SessionTimeout: time.Hour,
		Users: []kojitest.User{{Name: "kojiadmin", Password: "kojiadmin", Perms: []string{"admin"}}, {Name: "blocked", Password: "x", Blocked: true}}})
	r := newRPC(t, hub)

	t.Run("login", func(t *testing.T) {
		_, err := r.call("login", "kojiadmin", "wrong", kw("opts", nil))
		wantFault(t, "bad password", err, 1002, "invalid username or password")
		_, err = r.call("login", "blocked", "x", kw("opts", nil))
		wantFault(t, "blocked", err, 1002, "logins by blocked are not allowed")
		r.login("kojiadmin", "kojiadmin")
		if !keyRE.MatchString(r.key) || r.id != 1 {
			t.Errorf("session %d %q", r.id, r.key)
		}
		_, err = r.call("login", "kojiadmin", "kojiadmin", kw("opts", nil))
		wantFault(t, "again", err, 1002, "Already logged in")
		if u := r.must("getLoggedInUser"); get(u, "name") != "kojiadmin" || get(u, "authtype") != int64(0) {
			t.Errorf("getLoggedInUser = %v", u)
		}
	})
	t.Run("callnum", func(t *testing.T) {
		r.callnum = 10
		r.must("createTag", "t1")        // commits callnum 10
		r.must("getTag", "t1")           // 11, read-only: not stored
		r.callnum = 11                   // again: fine, 10 is the last committed
		r.must("getTag", "t1")           //
		r.callnum = 9                    //
		_, err := r.call("getTag", "t1") // 9 < 10
		wantFault(t, "stale", err, 1008, "10 > 9 (session 1)")
		r.callnum = 10
		_, err = r.call("getTag", "t1")
		wantFault(t, "repeat", err, 1009, "unable to retry call 10 (method getTag) for session 1")
		r.callnum = 20
	})
	t.Run("renew", func(t *testing.T) {
		if !hub.ExpireSession(r.id) {
			t.Fatal("no session to expire")
		}
		_, err := r.call("getTag", "t1")
		wantFault(t, "expired", err, 1007, `session "1" has expired`)
		oldKey, oldID := r.key, r.id
		v := r.must("login", "kojiadmin", "kojiadmin", kw("opts", nil, "renew", true))
		if get(v, "session-id") != oldID || get(v, "session-key") == oldKey {
			t.Fatalf("renewal = %v, want the same id and a new key", v)
		}
		r.key = get(v, "session-key").(string)
		// The renewal (callnum 21) committed its callnum: the sequence goes on.
		r.must("getTag", "t1")
		saved := r.callnum
		r.callnum = 0
		_, err = r.call("getTag", "t1")
		wantFault(t, "callnum from 0 after renewal", err, 1008, "21 > 0 (session 1)")
		r.callnum = saved
		stale := &rpc{t: t, hub: hub, http: hub.Client(), id: oldID, key: oldKey, callnum: 100}
		_, err = stale.call("getTag", "t1")
		wantFault(t, "old key", err, 1002, "Invalid session or bad credentials")
	})
	t.Run("timeout", func(t *testing.T) {
		advance(2 * time.Hour)
		_, err := r.call("hello")
		wantFault(t, "timed out", err, 1007, `session "1" has expired`)
		r.setSession(r.must("login", "kojiadmin", "kojiadmin", kw("opts", nil, "renew", true)))
		r.callnum = 100
		r.must("hello")
	})
	t.Run("query string session", func(t *testing.T) {
		q := "?session-id=" + strconv.FormatInt(r.id, 10) + "&session-key=" + r.key + "&callnum=200"
		body, _ := xmlrpc.EncodeCall("getLoggedInUser")
		anon := newRPC(t, hub)
		v, err := anon.post(q, "text/xml", body, nil)
		if err != nil || get(v, "name") != "kojiadmin" {
			t.Errorf("getLoggedInUser = %v, %v", v, err)
		}
		_, err = anon.post("?session-key=x", "text/xml", body, nil)
		wantFault(t, "no id", err, 1002, "'session-id' not specified in session args")
	})
	t.Run("logout", func(t *testing.T) {
		r.callnum = 300
		r.must("logout", kw("session_id", nil))
		_, err := r.call("hello")
		wantFault(t, "after logout", err, 1002, "Invalid session or bad credentials")
		_, err = newRPC(t, hub).call("logout")
		wantFault(t, "anonymous", err, 1002, "Not logged in")
		if v := newRPC(t, hub).must("getLoggedInUser"); v != nil {
			t.Errorf("anonymous getLoggedInUser = %v", v)
		}
	})
}

func TestHub_SSLLogin(t *testing.T) {
	t.Run("header over http", func(t *testing.T) {
		hub := kojitest.NewHub(t, kojitest.Options{})
		r := newRPC(t, hub)
		body, _ := xmlrpc.EncodeCall("sslLogin", kw("proxyuser", nil))
		_, err := r.post("/ssllogin", "text/xml", body, nil)
		wantFault(t, "no certificate", err, 1002, "could not verify client: None")
		h := http.Header{kojitest.ClientCertHeader: {"kojiadmin"}}
		_, err = r.post("", "text/xml", body, h)
		wantFault(t, "not on /ssllogin", err, 1002, "could not verify client: None")
		v, err := r.post("/ssllogin", "text/xml", body, h)
		if err != nil {
			t.Fatal(err)
		}
		r.setSession(v)
		if u := r.must("getLoggedInUser"); get(u, "name") != "kojiadmin" || get(u, "authtype") != int64(2) {
			t.Errorf("getLoggedInUser = %v", u)
		}
	})
	t.Run("tls", func(t *testing.T) {
		hub := kojitest.NewHub(t, kojitest.Options{TLS: true})
		body, _ := xmlrpc.EncodeCall("sslLogin", kw("proxyuser", nil))
		r := newRPC(t, hub)
		r.http = hub.TLSClient("")
		_, err := r.post("/ssllogin", "text/xml", body, nil)
		wantFault(t, "no certificate", err, 1002, "could not verify client: NONE")
		r.http = hub.TLSClient("newuser") // LoginCreatesUser
		v, err := r.post("/ssllogin", "text/xml", body, nil)
		if err != nil {
			t.Fatal(err)
		}
		r.setSession(v)
		if u := r.must("getLoggedInUser"); get(u, "name") != "newuser" {
			t.Errorf("getLoggedInUser = %v", u)
		}
	})
	t.Run("koji client with a profile", func(t *testing.T) {
		hub := kojitest.NewHub(t, kojitest.Options{TLS: true})
		cert, ca, err := hub.WriteClientCert(t.TempDir(), "kojiadmin")
		if err != nil {
			t.Fatal(err)
		}
		c, err := koji.NewClient(koji.ClientConfig{Profile: koji.Profile{Server: hub.URL(), AuthType: koji.AuthSSL, Cert: cert, ServerCA: ca}})
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Login(t.Context()); err != nil {
			t.Fatal(err)
		}
		v, err := c.Call(t.Context(), "getLoggedInUser")
		if err != nil || get(v, "name") != "kojiadmin" {
			t.Errorf("getLoggedInUser = %v, %v", v, err)
		}
		if _, err := os.Stat(filepath.Dir(cert)); err != nil {
			t.Error(err)
		}
	})
}

// TestHub_KojiClient: rida's own client logs in, calls, multicalls and
// logs out against the hub.
func TestHub_KojiClient(t *testing.T) {
	hub := kojitest.NewHub(t, kojitest.Options{})
	c, err := koji.NewClient(koji.ClientConfig{HTTPClient: hub.Client(), UserAgent: "koji/1",
		Profile: koji.Profile{Server: hub.URL(), AuthType: koji.AuthPassword, User: "kojiadmin", Password: "kojiadmin"},
		Sleep:   func(context.Context, time.Duration) error { return nil }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := c.Login(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Call(ctx, "createTag", "c1"); err != nil {
		t.Fatal(err)
	}
	res, err := c.Multicall(ctx, []xmlrpc.Call{
		{Method: "getTag", Params: []any{"c1"}},
		{Method: "createTag", Params: []any{"c1"}},
		{Method: "packageListAdd", Params: []any{"c1", "pkg", "kojiadmin"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 3 || res[0].Fault != nil || res[2].Fault != nil || res[1].Fault == nil ||
		res[1].Fault.String != "A tag with the name 'c1' already exists" {
		t.Errorf("multicall = %+v", res)
	}
	_, err = c.Call(ctx, "createTag", "c1")
	if koji.FaultCode(err) != 1000 {
		t.Errorf("duplicate createTag: %v", err)
	}
	if err := c.Logout(ctx); err != nil {
		t.Error(err)
	}
	if n := hub.CountCalls("createTag"); n != 3 {
		t.Errorf("CountCalls(createTag) = %d, want 3 (one in the multicall)", n)
	}
	for _, call := range hub.Calls() {
		if call.Method == "packageListAdd" && (call.Parent == 0 || hub.Calls()[call.Parent-1].Method != "multiCall") {
			t.Errorf("packageListAdd not recorded inside its multicall: %+v", call)
		}
	}
}
