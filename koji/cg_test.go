package koji

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/internal/xmlrpc"
)

// replayHub answers each request with the next of its replies (captured
// bytes) and records what it got.
type replayHub struct {
	t       *testing.T
	mu      sync.Mutex
	replies [][]byte
	reqs    []recorded
}

func newReplayHub(t *testing.T, replies ...[]byte) (*replayHub, *httptest.Server) {
	h := &replayHub{t: t, replies: replies}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv
}

func (h *replayHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	rec := recorded{uri: r.URL.RequestURI(), header: r.Header.Clone(), body: body}
	if r.Header.Get("Content-Type") != "application/octet-stream" {
		rec.method, rec.params, _ = xmlrpc.DecodeCall(body)
	}
	h.reqs = append(h.reqs, rec)
	if len(h.replies) == 0 {
		h.t.Errorf("unexpected request %s %s", rec.uri, rec.method)
		http.Error(w, "no reply left", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.Write(h.replies[0])
	h.replies = h.replies[1:]
}

// goldmod is the module build of the captured story (module build 4242,
// NVR goldmod-master-20261121132552.c0ffee42, reserved as Koji build 7).
func goldmod() *rida.ModuleBuild {
	end := time.Unix(1795267552, 0)
	return &rida.ModuleBuild{
		ID: 4242, Name: "goldmod", Stream: "master", Version: 20261121132552, Context: "c0ffee42",
		Owner: "kojiadmin", SCMURL: "https://src.example.invalid/modules/goldmod.git?#abcdef0",
		KojiTag:       "module-goldmod-master-20261121132552-c0ffee42",
		TimeSubmitted: time.Unix(1795266952, 0), TimeCompleted: &end,
		KojiBuildID: 7, KojiCGToken: "8af32dbb950e579e77353e3009250c8a31fd53dc089f089502f3a7326e4fb111",
	}
}

// goldmodImport is the captured imports' input: the module's one rpm foo
// (unknown to that hub, which Koji only warns about), its modulemd.txt as
// uploaded, and a modulemd.x86_64.txt whose size and md5 the capture
// gives.
func goldmodImport(t *testing.T, devel bool) ModuleImport {
	foo := CGComponent{Name: "foo", Version: "1.0", Release: "1.module_el9+4242+c0ffee42", Arch: "x86_64", SigMD5: "0123456789abcdef0123456789abcdef"}
	in := ModuleImport{
		Build: goldmod(), Owner: "kojiadmin",
		Host: CGHostInfo{
			ContentGenerator: CGContentGenerator{Name: DefaultCGName, Version: "4.0.0"},
			Arch:             "x86_64", OS: "Fedora 40",
			Tools: []CGTool{{Name: "libmodulemd", Version: "2.15.0"}},
			RPMs:  []CGComponent{foo},
		},
		Modulemd: string(capture(t, "056-rawUpload.request.bin")),
	}
	if devel {
		in.Devel, in.DevelBuildID = true, 8
		return in
	}
	in.RPMs = []CGComponent{foo}
	in.Arches = []ArchModulemd{{Arch: "x86_64", File: FileSum{Size: 651, ChecksumType: "md5", Checksum: "15eee9bf6953e5f0b76f4add8149f2ac"}, Components: []CGComponent{foo}}}
	return in
}

func mustMetadata(t *testing.T, in ModuleImport) *CGMetadata {
	t.Helper()
	md, err := ModuleCGMetadata(in)
	if err != nil {
		t.Fatal(err)
	}
	return md
}

// TestCGInitBuild_AsCaptured reserves the captured NVR: the call is byte
// for byte the koji client's (048) and the reply gives the build id and
// token.
func TestCGInitBuild_AsCaptured(t *testing.T) {
	hub, srv := newReplayHub(t, capture(t, "048-CGInitBuild.response.xml"))
	c := sessionClient(t, srv, 26)
	id, token, err := c.CGInitBuild(t.Context(), DefaultCGName, ModuleNVR(goldmod(), false))
	if err != nil {
		t.Fatal(err)
	}
	if id != 7 || token != "9b27e9da17efac1abb3c59b9a8b68ffc495e0c57761a40185deae56445e5b661" {
		t.Errorf("CGInitBuild = %d, %q", id, token)
	}
	checkCaptured(t, "048-CGInitBuild", hub.reqs[0])
}

// TestCGRefundBuild_AsCaptured: the refund with state CANCELED is the
// koji client's call (052).
func TestCGRefundBuild_AsCaptured(t *testing.T) {
	hub, srv := newReplayHub(t, capture(t, "052-CGRefundBuild.response.xml"))
	c := sessionClient(t, srv, 30)
	if err := c.CGRefundBuild(t.Context(), DefaultCGName, 7, "9b27e9da17efac1abb3c59b9a8b68ffc495e0c57761a40185deae56445e5b661", rida.ComponentCanceled); err != nil {
		t.Fatal(err)
	}
	checkCaptured(t, "052-CGRefundBuild", hub.reqs[0])
}

// TestCGImport_AsCaptured: the metadata ModuleCGMetadata makes from the
// captured story's module, sent by CGImport, is byte for byte what was
// sent in each captured CGImport (the module with its reservation, the
// -devel module with a wrong or with its token, without a reservation, a
// bad checksum), and the replies are read or classified.
func TestCGImport_AsCaptured(t *testing.T) {
	for _, tc := range []struct {
		capture string
		callnum int64
		devel   bool
		edit    func(md *CGMetadata)
		token   string
		check   func(t *testing.T, b *ImportedBuild, err error)
	}{{
		capture: "063-CGImport", callnum: 40, token: "8af32dbb950e579e77353e3009250c8a31fd53dc089f089502f3a7326e4fb111",
		check: func(t *testing.T, b *ImportedBuild, err error) {
			if err != nil || b.ID != 7 || b.NVR != "goldmod-master-20261121132552.c0ffee42" || b.State != 1 || b.Owner != "kojiadmin" {
				t.Errorf("CGImport = %+v, %v", b, err)
			}
		},
	}, {
		capture: "066-CGImport-wrong-token", callnum: 43, devel: true, token: strings.Repeat("f", 64),
		check: wantClass(ErrReservationGone, rida.CodeConflict, "goldmod-devel-master-20261121132552.c0ffee42 (build 8)"),
	}, {
		capture: "070-CGImport-bad-checksum", callnum: 47, devel: true, token: "1f2c3f9548f3330a0e4d927c8cf7649cc205f835bd459843436d9d5d6f5cbb74",
		edit:  func(md *CGMetadata) { md.Output[0].Checksum = strings.Repeat("0", 32) },
		check: wantFault(1000, "File checksum mismatch for modulemd.txt"),
	}, {
		capture: "071-CGImport-duplicate-nvr", callnum: 48,
		edit:  func(md *CGMetadata) { md.Build.BuildID = 0 },
		check: wantClass(ErrBuildExists, rida.CodeConflict, "goldmod-master-20261121132552.c0ffee42 already exists in Koji (build 7)"),
	}, {
		capture: "074-CGImport-no-reservation", callnum: 51, devel: true,
		edit: func(md *CGMetadata) { md.Build.BuildID = 0 },
		check: func(t *testing.T, b *ImportedBuild, err error) {
			if err != nil || b.ID != 8 || b.NVR != "goldmod-devel-master-20261121132552.c0ffee42" {
				t.Errorf("CGImport = %+v, %v", b, err)
			}
		},
	}} {
		t.Run(tc.capture, func(t *testing.T) {
			hub, srv := newReplayHub(t, capture(t, tc.capture+".response.xml"))
			c := sessionClient(t, srv, tc.callnum)
			md := mustMetadata(t, goldmodImport(t, tc.devel))
			if tc.edit != nil {
				tc.edit(md)
			}
			b, err := c.CGImport(t.Context(), md, "mbs/1795267552."+map[bool]string{false: "6457129.4242", true: "7201226.4243"}[tc.devel], tc.token)
			tc.check(t, b, err)
			checkCaptured(t, tc.capture, hub.reqs[0])
		})
	}
}

// TestCG_CapturedFaults: every captured fault of the CG calls is
// classified (or passed through) as callers need it.
func TestCG_CapturedFaults(t *testing.T) {
	nvr := ModuleNVR(goldmod(), false)
	initBuild := func(c *Client) error { _, _, err := c.CGInitBuild(t.Context(), DefaultCGName, nvr); return err }
	refund := func(c *Client) error {
		return c.CGRefundBuild(t.Context(), DefaultCGName, 7, strings.Repeat("0", 64), rida.ComponentFailed)
	}
	importDevel := func(c *Client) error {
		_, err := c.CGImport(t.Context(), mustMetadata(t, goldmodImport(t, true)), "mbs/x", "tok")
		return err
	}
	for _, tc := range []struct {
		capture string
		call    func(*Client) error
		check   func(t *testing.T, _ *ImportedBuild, err error)
	}{
		{"014-CGInitBuild-no-cg-access", initBuild, wantClass(ErrNoCGAccess, rida.CodeForbidden, "koji grant-cg-access kojiadmin module-build-service")},
		{"049-CGInitBuild-already-reserved", initBuild, wantClass(ErrAlreadyReserved, rida.CodeConflict, "goldmod-master-20261121132552.c0ffee42 is already reserved")},
		{"051-CGRefundBuild-wrong-token", refund, wantClass(ErrReservationGone, rida.CodeConflict, "reservation of build 7 is gone")},
		{"066-CGImport-wrong-token", importDevel, wantClass(ErrReservationGone, rida.CodeConflict, "Token doesn't match build ID 8")},
		{"067-CGImport-no-token", importDevel, wantClass(ErrReservationGone, rida.CodeConflict, "is gone")},
		{"068-CGImport-missing-start_time", importDevel, wantFault(1, "KeyError")},
		{"069-CGImport-file-not-uploaded", importDevel, wantFault(1, "FileNotFoundError")},
		{"071-CGImport-duplicate-nvr", importDevel, wantClass(ErrBuildExists, rida.CodeConflict, "goldmod-master-20261121132552.c0ffee42 already exists")},
	} {
		t.Run(tc.capture, func(t *testing.T) {
			_, srv := newReplayHub(t, capture(t, tc.capture+".response.xml"))
			tc.check(t, nil, tc.call(sessionClient(t, srv, 0)))
		})
	}
}

// TestCG_Faults: the hub's other CG faults (koji.md §1.1–§1.4, texts from
// the hub's code and its verified answers).
func TestCG_Faults(t *testing.T) {
	nvr := ModuleNVR(goldmod(), false)
	for _, tc := range []struct {
		code  int
		fault string
		check func(t *testing.T, _ *ImportedBuild, err error)
	}{
		{1000, "Build already exists (id=7, state=COMPLETE): {'name': 'goldmod', 'version': 'master', 'release': '20261121132552.c0ffee42', 'epoch': None}",
			wantClass(ErrBuildExists, rida.CodeConflict, "The NVR goldmod-master-20261121132552.c0ffee42 already exists in Koji (build 7, COMPLETE)")},
		{1000, "Build already in progress (task 13)", wantClass(ErrBuildExists, rida.CodeConflict, "by task 13")},
		{1000, "Build already exists. Unable to recycle, has rpm data", wantClass(ErrBuildExists, rida.CodeConflict, "has rpm data")},
		{1000, "No such entry in table content_generator: module-build-service", wantClass(ErrNoCGAccess, rida.CodeForbidden, "grant-cg-access --new")},
		{1000, "Build ID 7 is not in BUILDING state", wantClass(ErrReservationGone, rida.CodeConflict, "is gone")},
		{1000, "Build ID 7 is not reserved by this CG", wantClass(ErrReservationGone, rida.CodeConflict, "is gone")},
		{1000, "No such build: 7", wantClass(ErrReservationGone, rida.CodeConflict, "is gone")},
		{1002, "Not logged-in", wantFault(1002, "Not logged-in")},
		{1002, "Build is already reserved", wantFault(1002, "")}, // not a GenericError: not that fault
		{1000, "Build is already reserved!", wantFault(1000, "")},
		{1000, `The "-" character not allowed in release field`, wantFault(1000, "character")},
		{1004, "policy violation (cg_import)", wantFault(1004, "policy")},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			reply, _ := xmlrpc.EncodeFault(tc.code, tc.fault)
			_, srv := newReplayHub(t, reply)
			_, _, err := sessionClient(t, srv, 0).CGInitBuild(t.Context(), DefaultCGName, nvr)
			tc.check(t, nil, err)
		})
	}
}

// wantClass checks a classified CG error: its class, its rida code, a
// message that says what happened, and the hub's fault still inside.
func wantClass(class error, code rida.ErrorCode, inMessage string) func(t *testing.T, _ *ImportedBuild, err error) {
	return func(t *testing.T, _ *ImportedBuild, err error) {
		t.Helper()
		var fe *FaultError
		if !errors.Is(err, class) || rida.ErrorCodeOf(err) != code || !errors.As(err, &fe) {
			t.Fatalf("err = %v (code %s), want %v with code %s wrapping the fault", err, rida.ErrorCodeOf(err), class, code)
		}
		if msg := rida.ErrorMessageOf(err); !strings.Contains(msg, inMessage) {
			t.Errorf("message %q does not say %q", msg, inMessage)
		}
		if class != ErrNVRTaken && errors.Is(class, ErrNVRTaken) && !errors.Is(err, ErrNVRTaken) {
			t.Errorf("%v is not ErrNVRTaken", err)
		}
	}
}

// wantFault checks a fault passed through as it is.
func wantFault(code int, inString string) func(t *testing.T, _ *ImportedBuild, err error) {
	return func(t *testing.T, _ *ImportedBuild, err error) {
		t.Helper()
		var fe *FaultError
		if !errors.As(err, &fe) || fe.Code != code || !strings.Contains(fe.String, inString) {
			t.Fatalf("err = %v, want fault %d with %q", err, code, inString)
		}
		for _, class := range []error{ErrNVRTaken, ErrNoCGAccess, ErrReservationGone} {
			if errors.Is(err, class) {
				t.Errorf("%v classified as %v", err, class)
			}
		}
		if rida.ErrorCodeOf(err) != rida.CodeInternal {
			t.Errorf("code %s, want the fault as it is (internal)", rida.ErrorCodeOf(err))
		}
	}
}

// TestCG_RefusedBeforeAsking: what the hub would refuse (or answer with a
// Python KeyError) is refused without a call.
func TestCG_RefusedBeforeAsking(t *testing.T) {
	hub, srv := newReplayHub(t)
	c := sessionClient(t, srv, 0)
	ctx := t.Context()
	for name, nvr := range map[string]rida.NVR{
		"dash in version": {Name: "m", Version: "a-b", Release: "1.c"},
		"dash in release": {Name: "m", Version: "a", Release: "1-c"},
		"no release":      {Name: "m", Version: "a"},
		"no version":      {Name: "m", Release: "1.c"},
		"no name":         {Version: "a", Release: "1.c"},
	} {
		if _, _, err := c.CGInitBuild(ctx, DefaultCGName, nvr); rida.ErrorCodeOf(err) != rida.CodeInvalid {
			t.Errorf("CGInitBuild %s: %v", name, err)
		}
	}
	if _, _, err := c.CGInitBuild(ctx, "", ModuleNVR(goldmod(), false)); rida.ErrorCodeOf(err) != rida.CodeInvalid {
		t.Errorf("CGInitBuild without a CG: %v", err)
	}
	for _, state := range []rida.ComponentState{rida.ComponentBuilding, rida.ComponentComplete, rida.ComponentDeleted, rida.ComponentWaiting} {
		if err := c.CGRefundBuild(ctx, DefaultCGName, 7, "tok", state); rida.ErrorCodeOf(err) != rida.CodeInvalid {
			t.Errorf("CGRefundBuild state %d: %v", state, err)
		}
	}
	if err := c.CGRefundBuild(ctx, DefaultCGName, 7, "", rida.ComponentFailed); rida.ErrorCodeOf(err) != rida.CodeInvalid {
		t.Errorf("CGRefundBuild without a token: %v", err)
	}
	md := mustMetadata(t, goldmodImport(t, false))
	if _, err := c.CGImport(ctx, md, "mbs/x", ""); rida.ErrorCodeOf(err) != rida.CodeInvalid {
		t.Errorf("CGImport of a reserved build without its token: %v", err)
	}
	if _, err := c.CGImport(ctx, md, "../x", "tok"); rida.ErrorCodeOf(err) != rida.CodeInvalid {
		t.Errorf("CGImport from ../x: %v", err)
	}
	md.Build.BuildID = 0
	if _, err := c.CGImport(ctx, md, "mbs/x", "tok"); rida.ErrorCodeOf(err) != rida.CodeInvalid {
		t.Errorf("CGImport with a token and no build id: %v", err)
	}
	if len(hub.reqs) != 0 {
		t.Errorf("%d requests", len(hub.reqs))
	}
}

func TestModuleNVR(t *testing.T) {
	b := &rida.ModuleBuild{Name: "nodejs", Stream: "20-lts", Version: 4020240101, Context: "a1b2c3d4"}
	if got := ModuleNVR(b, false).String(); got != "nodejs-20_lts-4020240101.a1b2c3d4" {
		t.Errorf("ModuleNVR = %s", got)
	}
	if got := ModuleNVR(b, true).String(); got != "nodejs-devel-20_lts-4020240101.a1b2c3d4" {
		t.Errorf("devel ModuleNVR = %s", got)
	}
	if err := checkNVR(ModuleNVR(b, true)); err != nil {
		t.Error(err)
	}
}

// TestUploadOutputs uploads a metadata's outputs from memory, refusing a
// missing, extra or mismatching file before anything is sent.
func TestUploadOutputs(t *testing.T) {
	in := goldmodImport(t, false)
	log := []byte("build log\n")
	src := []byte("document: modulemd\n")
	arch := []byte("arch modulemd\n")
	in.Arches[0].File = SumBytes(arch)
	s := SumBytes(src)
	in.SourceModulemd = &s
	l := SumBytes(log)
	in.BuildLog = &l
	md := mustMetadata(t, in)
	files := map[string][]byte{"modulemd.txt": []byte(in.Modulemd), "modulemd.x86_64.txt": arch, "modulemd.src.txt": src, "build.log": log}

	hub, srv := newUploadHub(t)
	c := sessionClient(t, srv, 0)
	for name, bad := range map[string]map[string][]byte{
		"missing":  {"modulemd.txt": files["modulemd.txt"]},
		"extra":    merge(files, map[string][]byte{"other.txt": nil}),
		"mismatch": merge(files, map[string][]byte{"build.log": []byte("other log\n")}),
	} {
		if err := c.UploadOutputs(t.Context(), "rida-import/1.x", md, bad); rida.ErrorCodeOf(err) != rida.CodeInvalid {
			t.Errorf("%s: %v", name, err)
		}
	}
	if len(hub.reqs) != 0 {
		t.Fatalf("%d requests for refused uploads", len(hub.reqs))
	}
	if err := c.UploadOutputs(t.Context(), "rida-import/1.x", md, files); err != nil {
		t.Fatal(err)
	}
	for name, data := range files {
		if got := hub.files["rida-import/1.x/"+name]; string(got) != string(data) {
			t.Errorf("%s: hub has %q", name, got)
		}
	}
}

func merge(a, b map[string][]byte) map[string][]byte {
	out := map[string][]byte{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// FuzzCGFaults: classifying any fault text never panics, keeps the fault
// in the chain, and a classified error always has a message.
func FuzzCGFaults(f *testing.F) {
	for _, s := range []string{"Build is already reserved", "Build already exists (id=7, state=COMPLETE): {}", "Token doesn't match build ID 7",
		"Content generator access required (x)", "Build already exists: a-b-c (id=1)", "No such build: 9", "Build ID 1 is not in BUILDING state"} {
		f.Add(1000, s)
		f.Add(1002, s)
	}
	c := &Client{}
	f.Fuzz(func(t *testing.T, code int, s string) {
		fe := &FaultError{Method: "CGImport", Code: code, String: s}
		err := c.cgError(fe, cgOp{cg: DefaultCGName, nvr: rida.NVR{Name: "n", Version: "v", Release: "r"}, buildID: 3})
		var got *FaultError
		if !errors.As(err, &got) || got != fe {
			t.Fatalf("the fault is lost: %v", err)
		}
		if err != error(fe) && rida.ErrorMessageOf(err) == "" {
			t.Errorf("classified without a message: %v", err)
		}
	})
}
