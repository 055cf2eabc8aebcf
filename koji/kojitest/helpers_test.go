package kojitest_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/rida-build/rida/internal/xmlrpc"
	"github.com/rida-build/rida/koji/kojitest"
)

// rpc is a bare XML-RPC client of a hub, as the koji client talks: the
// session headers with a callnum that goes up by one per call.
type rpc struct {
	t       *testing.T
	hub     *kojitest.FakeHub
	http    *http.Client
	id      int64
	key     string
	callnum int64
}

func newRPC(t *testing.T, hub *kojitest.FakeHub) *rpc {
	return &rpc{t: t, hub: hub, http: hub.Client()}
}

// post sends body to path (below the hub's host) with the session
// headers and returns the decoded reply.
func (r *rpc) post(path, contentType string, body []byte, header http.Header) (any, error) {
	r.t.Helper()
	base := r.hub.URL()
	req, err := http.NewRequestWithContext(r.t.Context(), http.MethodPost, base+path, bytes.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	for k, v := range header {
		req.Header[k] = v
	}
	if r.key != "" {
		req.Header.Set("Koji-Session-Id", strconv.FormatInt(r.id, 10))
		req.Header.Set("Koji-Session-Key", r.key)
		req.Header.Set("Koji-Session-Callnum", strconv.FormatInt(r.callnum, 10))
		r.callnum++
	}
	resp, err := r.http.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		r.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		r.t.Fatalf("HTTP %d: %s", resp.StatusCode, out)
	}
	return xmlrpc.DecodeResponse(out)
}

// call calls method (xmlrpc.KwArgs last for keyword arguments).
func (r *rpc) call(method string, params ...any) (any, error) {
	r.t.Helper()
	body, err := xmlrpc.EncodeCall(method, params...)
	if err != nil {
		r.t.Fatal(err)
	}
	return r.post("", "text/xml", body, nil)
}

// must calls method and fails the test on a fault.
func (r *rpc) must(method string, params ...any) any {
	r.t.Helper()
	v, err := r.call(method, params...)
	if err != nil {
		r.t.Fatalf("%s: %v", method, err)
	}
	return v
}

// login opens a password session.
func (r *rpc) login(user, password string) {
	r.t.Helper()
	v := r.must("login", user, password, kw("opts", nil))
	r.setSession(v)
}

func (r *rpc) setSession(v any) {
	r.t.Helper()
	s := v.(xmlrpc.Struct)
	id, _ := s.Get("session-id")
	key, _ := s.Get("session-key")
	r.id, r.key, r.callnum = id.(int64), key.(string), 0
}

// upload is a fast upload chunk: POST ?filename&filepath&fileverify&offset[&overwrite].
func (r *rpc) upload(dir, name string, offset int64, overwrite bool, verify string, data []byte) (any, error) {
	r.t.Helper()
	q := url.Values{"filename": {name}, "filepath": {dir}, "offset": {strconv.FormatInt(offset, 10)}}
	if verify != "" {
		q.Set("fileverify", verify)
	}
	if overwrite {
		q.Set("overwrite", "1")
	}
	return r.post("?"+q.Encode(), "application/octet-stream", data, nil)
}

func kw(kv ...any) xmlrpc.KwArgs {
	var out xmlrpc.KwArgs
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, xmlrpc.Member{Name: kv[i].(string), Value: kv[i+1]})
	}
	return out
}

func st(kv ...any) xmlrpc.Struct { return xmlrpc.Struct(kw(kv...)) }

// wantFault checks that err is the fault code/message.
func wantFault(t *testing.T, what string, err error, code int, msg string) {
	t.Helper()
	var f *xmlrpc.Fault
	if !errors.As(err, &f) {
		t.Errorf("%s: err = %v, want fault %d %q", what, err, code, msg)
		return
	}
	if f.Code != code || f.String != msg {
		t.Errorf("%s: fault %d %q, want %d %q", what, f.Code, f.String, code, msg)
	}
}

func get(v any, name string) any {
	s, _ := v.(xmlrpc.Struct)
	x, _ := s.Get(name)
	return x
}

// admin is a hub with the default users and a kojiadmin session.
func admin(t *testing.T, opts kojitest.Options) (*kojitest.FakeHub, *rpc) {
	hub := kojitest.NewHub(t, opts)
	r := newRPC(t, hub)
	r.login("kojiadmin", "kojiadmin")
	return hub, r
}
