package koji

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/adler32"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/internal/xmlrpc"
)

// recorded is one request a test hub received.
type recorded struct {
	uri    string // path and query as sent
	header http.Header
	body   []byte
	method string // XML-RPC method; "" for a raw upload
	params []any
}

// uploadHub is a hub that keeps uploaded files as Koji's upload handler
// does (koji.md §1.6): raw POSTs with Content-Type application/octet-stream
// write a chunk at offset (truncating there with overwrite=1) and answer
// {size, fileverify, offset, hexdigest}; checkUpload answers nil or {size,
// mtime[, sumlength, hexdigest]}. Session headers are required for
// uploads, with a callnum that never goes back. Other XML-RPC methods
// answer what other returns.
type uploadHub struct {
	mu    sync.Mutex
	files map[string][]byte
	reqs  []recorded
	last  int64
	// tamper changes the reply to raw upload number n (from 0).
	tamper func(n int, reply xmlrpc.Struct) any
	// checkReply, when set, replaces checkUpload's answer.
	checkReply func(reply any) any
	// status are HTTP statuses to answer first, one per request.
	status []int
	other  func(method string, params []any) any
	raws   int
}

func newUploadHub(t *testing.T) (*uploadHub, *httptest.Server) {
	h := &uploadHub{files: map[string][]byte{}, last: -1}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv
}

func (h *uploadHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	rec := recorded{uri: r.URL.RequestURI(), header: r.Header.Clone(), body: body}
	if len(h.status) > 0 {
		h.reqs = append(h.reqs, rec)
		code := h.status[0]
		h.status = h.status[1:]
		http.Error(w, "Service Unavailable", code)
		return
	}
	reply := func(v any) {
		out, err := xmlrpc.EncodeResponse(v)
		if err != nil {
			panic(err)
		}
		w.Write(out)
	}
	fault := func(code int, msg string) { reply(&xmlrpc.Fault{Code: code, String: msg}) }
	if r.Header.Get("Content-Type") == "application/octet-stream" {
		h.reqs = append(h.reqs, rec)
		n := h.raws
		h.raws++
		if r.Header.Get("Koji-Session-Id") == "" {
			fault(FaultAuth, "'session-id' not specified in session args")
			return
		}
		callnum, _ := strconv.ParseInt(r.Header.Get("Koji-Session-Callnum"), 10, 64)
		if callnum <= h.last {
			fault(FaultSequence, fmt.Sprintf("%d > %d (session 23)", h.last, callnum))
			return
		}
		h.last = callnum
		q := r.URL.Query()
		name, dir, verify := q.Get("filename"), q.Get("filepath"), q.Get("fileverify")
		offset, err := strconv.ParseInt(q.Get("offset"), 10, 64)
		if err != nil || name == "" || dir == "" || verify != "adler32" || q.Get("overwrite") != "1" {
			fault(1, "<class 'ValueError'>: bad upload query "+r.URL.RawQuery)
			return
		}
		key := dir + "/" + name
		f := h.files[key]
		if int64(len(f)) < offset {
			f = append(f, make([]byte, offset-int64(len(f)))...)
		}
		f = append(f[:offset:offset], body...) // overwrite=1: truncate at offset, then write
		h.files[key] = f
		ack := xmlrpc.Struct{{Name: "size", Value: int64(len(body))}, {Name: "fileverify", Value: "adler32"},
			{Name: "offset", Value: offset}, {Name: "hexdigest", Value: fmt.Sprintf("%08x", adler32.Checksum(body))}}
		if h.tamper != nil {
			reply(h.tamper(n, ack))
			return
		}
		reply(ack)
		return
	}
	method, params, err := xmlrpc.DecodeCall(body)
	if err != nil {
		http.Error(w, "Invalid request: "+err.Error(), http.StatusBadRequest)
		return
	}
	rec.method, rec.params = method, params
	h.reqs = append(h.reqs, rec)
	if method != "checkUpload" {
		if method == "login" {
			h.last = -1 // a renewed session's callnums start again
		}
		reply(h.other(method, params))
		return
	}
	args, kw := xmlrpc.SplitKwArgs(params)
	dir, _ := args[0].(string)
	name, _ := args[1].(string)
	var out any
	if f, ok := h.files[dir+"/"+name]; ok {
		s := xmlrpc.Struct{{Name: "size", Value: int64(len(f))}, {Name: "mtime", Value: 1795267552.653165}}
		for _, m := range kw {
			if m.Name == "verify" && m.Value == "adler32" {
				s = append(s, xmlrpc.Member{Name: "sumlength", Value: int64(len(f))},
					xmlrpc.Member{Name: "hexdigest", Value: fmt.Sprintf("%08x", adler32.Checksum(f))})
			}
		}
		out = s
	}
	if h.checkReply != nil {
		out = h.checkReply(out)
	}
	reply(out)
}

// rawPosts are the raw upload requests the hub got.
func (h *uploadHub) rawPosts() []recorded {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []recorded
	for _, r := range h.reqs {
		if r.method == "" {
			out = append(out, r)
		}
	}
	return out
}

func (h *uploadHub) calls(method string) []recorded {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []recorded
	for _, r := range h.reqs {
		if r.method == method {
			out = append(out, r)
		}
	}
	return out
}

// sessionClient is a client of srv holding the session the captures'
// main story used (session 23), its next callnum being callnum, with the
// koji client's User-Agent.
func sessionClient(t *testing.T, srv *httptest.Server, callnum int64) *Client {
	t.Helper()
	c, err := NewClient(ClientConfig{
		Profile:    Profile{Name: "test", Server: srv.URL + "/kojihub", AuthType: AuthPassword, User: "kojiadmin", Password: "kojiadmin", MaxRetries: 3, RetryInterval: time.Millisecond},
		HTTPClient: srv.Client(), UserAgent: "koji/1",
		Sleep: func(context.Context, time.Duration) error { return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	c.session = &session{id: 23, key: "SESSION-KEY-4", callnum: callnum}
	return c
}

// checkCaptured compares a request with the captured one: request line,
// the headers that matter (everything but Host) and the body, byte for
// byte.
func checkCaptured(t *testing.T, name string, got recorded) {
	t.Helper()
	var meta struct {
		RequestLine     string   `json:"request_line"`
		RequestHeaders  []string `json:"request_headers"`
		RequestBodyFile string   `json:"request_body_file"`
	}
	if err := json.Unmarshal(capture(t, name+".meta.json"), &meta); err != nil {
		t.Fatal(err)
	}
	if want := strings.Fields(meta.RequestLine)[1]; got.uri != want {
		t.Errorf("%s: request URI\n%s\nwant\n%s", name, got.uri, want)
	}
	for _, h := range meta.RequestHeaders {
		k, v, _ := strings.Cut(h, ": ")
		if strings.EqualFold(k, "Host") {
			continue
		}
		if g := got.header.Get(k); g != v && !(strings.EqualFold(k, "Content-Length") && g == "" && strconv.Itoa(len(got.body)) == v) {
			t.Errorf("%s: header %s = %q, want %q", name, k, g, v)
		}
	}
	if want := capture(t, meta.RequestBodyFile); !bytes.Equal(got.body, want) {
		t.Errorf("%s: body differs from the koji client's:\n%s\nwant\n%s", name, got.body, want)
	}
}

// TestUpload_AsCaptured uploads the captured modulemd.txt: the chunk POST
// (request line, headers, body) and the checkUpload call are byte for byte
// what the koji client sent (056-rawUpload, 057-checkUpload-after), and
// the captured replies are accepted.
func TestUpload_AsCaptured(t *testing.T) {
	file := capture(t, "056-rawUpload.request.bin")
	replies := [][]byte{capture(t, "056-rawUpload.response.xml"), capture(t, "057-checkUpload-after.response.xml")}
	hub, srv := newReplayHub(t, replies...)
	c := sessionClient(t, srv, 34)
	if err := c.Upload(t.Context(), "mbs/1795267552.6457129.4242", "modulemd.txt", bytes.NewReader(file)); err != nil {
		t.Fatal(err)
	}
	if len(hub.reqs) != 2 {
		t.Fatalf("%d requests, want a chunk and checkUpload", len(hub.reqs))
	}
	checkCaptured(t, "056-rawUpload", hub.reqs[0])
	checkCaptured(t, "057-checkUpload-after", hub.reqs[1])
}

// TestUpload_CapturedFaults: the hub's upload faults come back typed and
// are not retried.
func TestUpload_CapturedFaults(t *testing.T) {
	for _, name := range []string{"061-rawUpload-anonymous", "062-rawUpload-exists-no-overwrite"} {
		t.Run(name, func(t *testing.T) {
			hub, srv := newReplayHub(t, capture(t, name+".response.xml"))
			c := sessionClient(t, srv, 0)
			err := c.Upload(t.Context(), "mbs/x", "modulemd.txt", strings.NewReader("data"))
			var fe *FaultError
			if !errors.As(err, &fe) || fe.Code < 1000 || len(hub.reqs) != 1 {
				t.Errorf("err = %v after %d requests", err, len(hub.reqs))
			}
		})
	}
}

func TestUpload_Chunks(t *testing.T) {
	for _, tc := range []struct {
		name    string
		size    int
		offsets []string
	}{
		{"empty file: one empty chunk", 0, []string{"0"}},
		{"less than a chunk", 3, []string{"0"}},
		{"exactly two chunks", 8, []string{"0", "4"}},
		{"two and a half chunks", 10, []string{"0", "4", "8"}},
	} {
		for _, plain := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, plain reader %v", tc.name, plain), func(t *testing.T) {
				hub, srv := newUploadHub(t)
				c := sessionClient(t, srv, 5)
				data := []byte("0123456789")[:tc.size]
				u := &Uploader{Client: c, ChunkSize: 4}
				var r io.Reader = bytes.NewReader(data)
				if plain {
					r = io.MultiReader(r) // no Len: read to its end
				}
				if err := u.Upload(t.Context(), "rida-import/1.a", "f.txt", r); err != nil {
					t.Fatal(err)
				}
				got, ok := hub.files["rida-import/1.a/f.txt"]
				if !ok || !bytes.Equal(got, data) {
					t.Errorf("hub has %q (%v), want %q", got, ok, data)
				}
				posts := hub.rawPosts()
				var offsets []string
				for i, p := range posts {
					q, _ := parseQuery(p.uri)
					offsets = append(offsets, q.Get("offset"))
					if cn := p.header.Get("Koji-Session-Callnum"); cn != strconv.Itoa(5+i) {
						t.Errorf("chunk %d callnum %s", i, cn)
					}
				}
				if fmt.Sprint(offsets) != fmt.Sprint(tc.offsets) {
					t.Errorf("offsets %v, want %v", offsets, tc.offsets)
				}
				checks := hub.calls("checkUpload")
				if len(checks) != 1 || len(checks[0].params) != 2 {
					t.Errorf("checkUpload calls %v, want one with (dir, name)", checks)
				}
			})
		}
	}
}

func parseQuery(uri string) (url.Values, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return nil, err
	}
	return u.Query(), nil
}

// TestUpload_BadAcknowledgement: a chunk acknowledged with another size or
// digest is sent again, and the upload fails after the attempts; a
// retried upload is verified with adler32 at the end.
func TestUpload_BadAcknowledgement(t *testing.T) {
	t.Run("wrong size every time", func(t *testing.T) {
		hub, srv := newUploadHub(t)
		hub.tamper = func(_ int, r xmlrpc.Struct) any { r[0].Value = int64(1); return r }
		c := sessionClient(t, srv, 0)
		err := (&Uploader{Client: c, ChunkSize: 4, Attempts: 3}).Upload(t.Context(), "d", "f", strings.NewReader("0123456789"))
		if !errors.Is(err, errChunkMismatch) || rida.ErrorCodeOf(err) != rida.CodeUnavailable {
			t.Fatalf("err = %v", err)
		}
		if n := len(hub.rawPosts()); n != 3 {
			t.Errorf("%d POSTs, want the first chunk 3 times", n)
		}
		if len(hub.calls("checkUpload")) != 0 {
			t.Error("checkUpload after a failed chunk")
		}
	})
	t.Run("wrong digest every time", func(t *testing.T) {
		hub, srv := newUploadHub(t)
		hub.tamper = func(_ int, r xmlrpc.Struct) any { r[3].Value = "00000000"; return r }
		c := sessionClient(t, srv, 0)
		err := c.Upload(t.Context(), "d", "f", strings.NewReader("x"))
		if !errors.Is(err, errChunkMismatch) || !strings.Contains(err.Error(), "checksum") {
			t.Fatalf("err = %v", err)
		}
		if n := len(hub.rawPosts()); n != defaultChunkAttempts {
			t.Errorf("%d POSTs, want %d", n, defaultChunkAttempts)
		}
	})
	t.Run("wrong offset", func(t *testing.T) {
		hub, srv := newUploadHub(t)
		hub.tamper = func(_ int, r xmlrpc.Struct) any { r[2].Value = int64(99); return r }
		c := sessionClient(t, srv, 0)
		if err := c.Upload(t.Context(), "d", "f", strings.NewReader("x")); !errors.Is(err, errChunkMismatch) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("not a struct", func(t *testing.T) {
		hub, srv := newUploadHub(t)
		hub.tamper = func(int, xmlrpc.Struct) any { return "ok" }
		c := sessionClient(t, srv, 0)
		if err := c.Upload(t.Context(), "d", "f", strings.NewReader("x")); rida.ErrorCodeOf(err) != rida.CodeUnavailable || len(hub.rawPosts()) != 1 {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("wrong digest once, then verified", func(t *testing.T) {
		hub, srv := newUploadHub(t)
		hub.tamper = func(n int, r xmlrpc.Struct) any {
			if n == 1 {
				r[3].Value = "00000000"
			}
			return r
		}
		c := sessionClient(t, srv, 0)
		data := "0123456789"
		if err := (&Uploader{Client: c, ChunkSize: 4}).Upload(t.Context(), "d", "f", strings.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		if got := string(hub.files["d/f"]); got != data {
			t.Errorf("hub has %q", got)
		}
		if n := len(hub.rawPosts()); n != 4 {
			t.Errorf("%d POSTs, want 4 (the second chunk twice)", n)
		}
		checks := hub.calls("checkUpload")
		if _, kw := xmlrpc.SplitKwArgs(checks[0].params); len(kw) != 1 || kw[0] != (xmlrpc.Member{Name: "verify", Value: "adler32"}) {
			t.Errorf("checkUpload after a retry: %v, want verify=adler32", checks[0].params)
		}
	})
	t.Run("final digest differs", func(t *testing.T) {
		hub, srv := newUploadHub(t)
		hub.tamper = func(n int, r xmlrpc.Struct) any {
			if n == 0 {
				r[3].Value = "00000000"
			}
			return r
		}
		hub.checkReply = func(v any) any {
			s := v.(xmlrpc.Struct)
			s[len(s)-1].Value = "ffffffff"
			return s
		}
		c := sessionClient(t, srv, 0)
		if err := c.Upload(t.Context(), "d", "f", strings.NewReader("x")); err == nil || !strings.Contains(err.Error(), "adler32 ffffffff") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestUpload_CheckUploadDisagrees(t *testing.T) {
	for name, reply := range map[string]func(any) any{
		"no file":    func(any) any { return nil },
		"wrong size": func(v any) any { s := v.(xmlrpc.Struct); s[0].Value = int64(2); return s },
		"malformed":  func(any) any { return []any{int64(1)} },
	} {
		t.Run(name, func(t *testing.T) {
			hub, srv := newUploadHub(t)
			hub.checkReply = reply
			c := sessionClient(t, srv, 0)
			if err := c.Upload(t.Context(), "d", "f", strings.NewReader("x")); rida.ErrorCodeOf(err) != rida.CodeUnavailable {
				t.Errorf("err = %v", err)
			}
		})
	}
}

// TestUpload_TransportRetry: a 5xx is retried under the same callnum, as
// any call.
func TestUpload_TransportRetry(t *testing.T) {
	hub, srv := newUploadHub(t)
	hub.status = []int{503}
	c := sessionClient(t, srv, 7)
	if err := c.Upload(t.Context(), "d", "f", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	if len(hub.reqs) != 3 || hub.reqs[0].header.Get("Koji-Session-Callnum") != "7" || hub.reqs[1].header.Get("Koji-Session-Callnum") != "7" {
		t.Errorf("requests %d; callnums %q %q", len(hub.reqs), hub.reqs[0].header.Get("Koji-Session-Callnum"), hub.reqs[1].header.Get("Koji-Session-Callnum"))
	}
}

// TestUpload_RenewsExpiredSession: AuthExpired on a chunk renews the
// session (login with renew=True) and sends the chunk again.
func TestUpload_RenewsExpiredSession(t *testing.T) {
	hub, srv := newUploadHub(t)
	hub.tamper = func(n int, r xmlrpc.Struct) any {
		if n == 0 {
			return &xmlrpc.Fault{Code: FaultAuthExpired, String: `session "23" has expired`}
		}
		return r
	}
	hub.other = func(method string, params []any) any {
		return xmlrpc.Struct{{Name: "session-id", Value: int64(23)}, {Name: "session-key", Value: "SESSION-KEY-5"}, {Name: "header-auth", Value: true}}
	}
	c := sessionClient(t, srv, 0)
	if err := c.Upload(t.Context(), "d", "f", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	posts := hub.rawPosts()
	if len(hub.calls("login")) != 1 || len(posts) != 2 || posts[1].header.Get("Koji-Session-Key") != "SESSION-KEY-5" {
		t.Errorf("login calls %d, posts %d", len(hub.calls("login")), len(posts))
	}
}

func TestUpload_Refuses(t *testing.T) {
	hub, srv := newUploadHub(t)
	c := sessionClient(t, srv, 0)
	for _, p := range [][2]string{
		{"", "f"}, {".", "f"}, {"..", "f"}, {"../x", "f"}, {"a/../../x", "f"}, {"/abs", "f"}, {"tasks/1", "f"}, {"tasks", "f"},
		{"d", ""}, {"d", "a/b"}, {"d", ".hidden"}, {"d", "x\x00"},
	} {
		if err := c.Upload(t.Context(), p[0], p[1], strings.NewReader("x")); rida.ErrorCodeOf(err) != rida.CodeInvalid {
			t.Errorf("Upload(%q, %q) = %v, want invalid", p[0], p[1], err)
		}
	}
	for _, p := range [][2]string{{"d", "f"}, {"rida-import/1795267552.645712.qWzkRtPa", "modulemd.x86_64.txt"}, {"a/./b", "build.log"}, {"a/b/..", "f"}} {
		if err := CheckUploadPath(p[0], p[1]); err != nil {
			t.Errorf("CheckUploadPath(%q, %q) = %v", p[0], p[1], err)
		}
	}
	c.session = nil
	if err := c.Upload(t.Context(), "d", "f", strings.NewReader("x")); rida.ErrorCodeOf(err) != rida.CodeUnauthorized {
		t.Errorf("without a session: %v", err)
	}
	if len(hub.reqs) != 0 {
		t.Errorf("%d requests for refused uploads", len(hub.reqs))
	}
}

func TestUploadDir(t *testing.T) {
	now := time.Unix(1795267552, 645712900)
	a := UploadDir(now, rand.New(rand.NewPCG(1, 2)))
	b := UploadDir(now, rand.New(rand.NewPCG(1, 2)))
	c := UploadDir(now, rand.New(rand.NewPCG(3, 4)))
	if a != b || a == c {
		t.Errorf("not reproducible from its randomness: %q %q %q", a, b, c)
	}
	if !regexp.MustCompile(`^rida-import/1795267552\.645712\.[a-zA-Z]{8}$`).MatchString(a) {
		t.Errorf("UploadDir = %q", a)
	}
	if err := CheckUploadPath(UploadDir(time.Now(), nil), "modulemd.txt"); err != nil {
		t.Error(err)
	}
	if filepath.Dir(a) != UploadDirPrefix {
		t.Errorf("%q is not below %s", a, UploadDirPrefix)
	}
}

// FuzzHubReplies: the readers of the upload and CG replies never panic,
// and what they accept is well-formed.
func FuzzHubReplies(f *testing.F) {
	for _, name := range []string{"048-CGInitBuild.response.xml", "056-rawUpload.response.xml", "057-checkUpload-after.response.xml", "058-checkUpload-verify-md5.response.xml", "055-checkUpload-before.response.xml", "061-rawUpload-anonymous.response.xml"} {
		if data, err := readCapture(name); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("<methodResponse><params><param><value><struct><member><name>size</name><value><i8>-1</i8></value></member></struct></value></param></params></methodResponse>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := xmlrpc.DecodeResponse(data)
		if err != nil {
			return
		}
		if r, err := parseUploadReply(v); err == nil && r.Size < 0 {
			t.Errorf("accepted a negative size: %+v", r)
		}
		for _, verify := range []bool{false, true} {
			if f, err := parseCheckUpload(v, verify); err == nil && f != nil && f.Size < 0 {
				t.Errorf("accepted a negative size: %+v", f)
			}
		}
		if r, err := parseReservation(v); err == nil && (r.BuildID <= 0 || r.Token == "") {
			t.Errorf("accepted a reservation without a build or token: %+v", r)
		}
	})
}

// readCapture is capture for fuzz seeds: an error instead of a skip.
func readCapture(name string) ([]byte, error) {
	return os.ReadFile(filepath.Join(captures, name))
}

// TestCheckUpload_AsCaptured: checkUpload with and without verify is the
// koji client's call (055, 058), and its replies are read.
func TestCheckUpload_AsCaptured(t *testing.T) {
	hub, srv := newReplayHub(t, capture(t, "055-checkUpload-before.response.xml"), capture(t, "058-checkUpload-verify-md5.response.xml"))
	c := sessionClient(t, srv, 33)
	const dir = "mbs/1795267552.6457129.4242"
	if f, err := c.CheckUpload(t.Context(), dir, "modulemd.txt", ""); err != nil || f != nil {
		t.Errorf("before the upload: %+v, %v", f, err)
	}
	c.session.callnum = 36
	f, err := c.CheckUpload(t.Context(), dir, "modulemd.txt", "md5")
	if err != nil || f == nil || f.Size != 563 || f.HexDigest != "9106f5979139413ef40cb81fe2babe74" || f.MTime != 1795267552.653165 {
		t.Errorf("with verify=md5: %+v, %v", f, err)
	}
	checkCaptured(t, "055-checkUpload-before", hub.reqs[0])
	checkCaptured(t, "058-checkUpload-verify-md5", hub.reqs[1])
}
