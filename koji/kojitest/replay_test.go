package kojitest_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/rida-build/rida/internal/xmlrpc"
	"github.com/rida-build/rida/koji/kojitest"
)

// captures is the folder of real exchanges with a Koji 1.35 hub.
const captures = "../../../shared/testdata/koji"

type exchange struct {
	name string
	meta struct {
		RequestLine     string   `json:"request_line"`
		RequestHeaders  []string `json:"request_headers"`
		Status          int      `json:"status"`
		ResponseHeaders []string `json:"response_headers"`
	}
	request  []byte
	response []byte
	text     bool // a text/plain reply (HTTP 400, 405)
}

func loadCaptures(t *testing.T) []exchange {
	t.Helper()
	entries, err := os.ReadDir(captures)
	if errors.Is(err, os.ErrNotExist) {
		t.Skipf("%s is absent (a clone without ../shared): the captured Koji exchanges are not here", captures)
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []exchange
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".meta.json")
		if !ok {
			continue
		}
		x := exchange{name: name}
		data, err := os.ReadFile(filepath.Join(captures, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &x.meta); err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		for _, ext := range []string{".request.xml", ".request.bin"} {
			if b, err := os.ReadFile(filepath.Join(captures, name+ext)); err == nil {
				x.request = b
			}
		}
		if b, err := os.ReadFile(filepath.Join(captures, name+".response.xml")); err == nil {
			x.response = b
		} else if b, err := os.ReadFile(filepath.Join(captures, name+".response.txt")); err == nil {
			x.response, x.text = b, true
		} else {
			t.Fatalf("%s: no response file", name)
		}
		out = append(out, x)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	if len(out) != 132 {
		t.Fatalf("%d exchanges in %s, want 132", len(out), captures)
	}
	return out
}

// storyHub is a fresh hub set up as the capture hub was before the story:
// the users kojiadmin (admin, CG module-build-service) and testuser,
// btypes up to module (id 5), packages 1 and 2 (foo) already there, and
// the sequences where the story found them (sessions from 20, tags from
// 9, targets from 5, builds from 7, tasks from 12, events from 49, rpms
// from 5, archives from 4, buildroots from 3, repos from 6).
func storyHub(t *testing.T) *kojitest.FakeHub {
	return kojitest.NewHub(t, kojitest.Options{
		Users: []kojitest.User{
			{Name: "kojiadmin", Password: "kojiadmin", Perms: []string{"admin"}, CG: []string{"module-build-service"}},
			{Name: "testuser", Password: "testuser"},
		},
		ContentGenerators: []string{"module-build-service"},
		Packages:          []string{"testmodule", "foo"},
		NextIDs: kojitest.IDs{Session: 20, Tag: 9, Target: 5, Build: 7, Task: 12, Event: 49, RPM: 5,
			Archive: 4, Buildroot: 3, Repo: 6},
		TLS: true,
	})
}

// builderSteps are what the capture's simulated builder did before an
// exchange, replayed through the hub's test API.
var builderSteps = map[string]func(t *testing.T, h *kojitest.FakeHub){
	// The builder ran the tagBuild task 12 (module build into the
	// candidate tag: event 72), spent an event on its own set-up (73) and
	// opened the build task 15.
	"106": func(t *testing.T, h *kojitest.FakeHub) {
		must(t, h.RunTask(12))
		h.AdvanceEvent()
		must(t, h.StartTask(15))
	},
	"107": func(t *testing.T, h *kojitest.FakeHub) {
		id, err := h.CompleteBuild(15, kojitest.BuildResult{
			NVR: "goldpkg-1.0-20261121132559",
			RPMs: []kojitest.RPM{
				{Arch: "src", PayloadHash: "04ffbf67d0077cb0e1c5ed28150b1d8e", Size: 6775, BuildTime: 1795267559},
				{Arch: "noarch", PayloadHash: "6f5087d1033a91fae07ac8a55986ac89", Size: 6306, BuildTime: 1795267559},
			},
			TaskResult: xmlrpc.Struct{{Name: "build_id", Value: int64(9)}}, // the simulated builder's result
		})
		must(t, err)
		if id != 9 {
			t.Fatalf("CompleteBuild made build %d, want 9", id)
		}
	},
	"113": func(t *testing.T, h *kojitest.FakeHub) { must(t, h.StartTask(16)) },
	"114": func(t *testing.T, h *kojitest.FakeHub) { must(t, h.RunTask(16)) },
	"120": func(t *testing.T, h *kojitest.FakeHub) { must(t, h.RunTask(17)) },
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestHub_Captures replays the 132 captured exchanges, in order, against
// a fresh hub set up as the capture hub was, and compares each reply with
// the captured one: the HTTP status, Koji-Version, and the decoded value
// (faults by code and string). Session keys and reservation tokens are
// random: the hub's own are learned from the login and CGInitBuild
// replies and put in later requests in place of the captured ones, and
// replies compare them by type only, as they do timestamps (*_time,
// *_ts, mtime) and multicall tracebacks. Everything else must be equal:
// ids, events, states, texts.
func TestHub_Captures(t *testing.T) {
	exchanges := loadCaptures(t)
	hub := storyHub(t)
	base := strings.TrimSuffix(hub.URL(), "/kojihub")
	subst := map[string]string{} // captured session key or token → the hub's
	for _, x := range exchanges {
		if step := builderSteps[x.name[:3]]; step != nil {
			step(t, hub)
		}
		method, target, _ := strings.Cut(x.meta.RequestLine, " ")
		target, _, _ = strings.Cut(target, " ")
		body := x.request
		if !strings.Contains(x.name, "rawUpload") { // an XML-RPC body (raw uploads are file bytes)
			body = []byte(replaceAll(string(body), subst))
		}
		req, err := http.NewRequestWithContext(t.Context(), method, base+replaceAll(target, subst), bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for _, hd := range x.meta.RequestHeaders {
			k, v, _ := strings.Cut(hd, ": ")
			switch http.CanonicalHeaderKey(k) {
			case "Host", "Content-Length":
			default:
				req.Header.Set(k, replaceAll(v, subst))
			}
		}
		client := hub.TLSClient("")
		if x.name == "016-sslLogin" {
			client = hub.TLSClient("kojiadmin") // the capture's client certificate, CN=kojiadmin
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", x.name, err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != x.meta.Status {
			t.Errorf("%s: HTTP %d, want %d\n%s", x.name, resp.StatusCode, x.meta.Status, got)
			continue
		}
		if v := resp.Header.Get("Koji-Version"); v != "1.35.3" {
			t.Errorf("%s: Koji-Version %q", x.name, v)
		}
		if x.text {
			if string(got) != string(x.response) {
				t.Errorf("%s: reply %q, want %q", x.name, got, x.response)
			}
			if x.meta.Status == http.StatusMethodNotAllowed && resp.Header.Get("Allow") != "POST" {
				t.Errorf("%s: Allow %q, want POST", x.name, resp.Header.Get("Allow"))
			}
			continue
		}
		want, wantErr := xmlrpc.DecodeResponse(x.response)
		have, haveErr := xmlrpc.DecodeResponse(got)
		var wf, hf *xmlrpc.Fault
		errors.As(wantErr, &wf)
		errors.As(haveErr, &hf)
		switch {
		case wantErr != nil && wf == nil:
			t.Fatalf("%s: captured reply: %v", x.name, wantErr)
		case haveErr != nil && hf == nil:
			t.Errorf("%s: hub reply: %v\n%s", x.name, haveErr, got)
		case wf != nil || hf != nil:
			if wf == nil || hf == nil || wf.Code != hf.Code || wf.String != hf.String {
				t.Errorf("%s: fault %v, want %v", x.name, hf, wf)
			}
		default:
			learn(want, have, subst)
			for _, d := range compare(x.name, want, have, "") {
				t.Errorf("%s: %s", x.name, d)
			}
		}
	}
}

func replaceAll(s string, subst map[string]string) string {
	for from, to := range subst {
		s = strings.ReplaceAll(s, from, to)
	}
	return s
}

// learn records the hub's session keys and reservation tokens.
func learn(want, have any, subst map[string]string) {
	w, ok1 := want.(xmlrpc.Struct)
	h, ok2 := have.(xmlrpc.Struct)
	if !ok1 || !ok2 {
		return
	}
	for _, k := range []string{"session-key", "token"} {
		wv, _ := w.Get(k)
		hv, _ := h.Get(k)
		if ws, ok := wv.(string); ok {
			if hs, ok := hv.(string); ok {
				subst[ws] = hs
			}
		}
	}
}

// byType are the members compared by type only: times, random keys and
// tokens, tracebacks.
func byType(key string) bool {
	return strings.HasSuffix(key, "_time") || strings.HasSuffix(key, "_ts") || key == "mtime" ||
		key == "session-key" || key == "token" || key == "traceback"
}

// compare lists the differences between a captured value and the hub's.
func compare(name string, want, have any, path string) []string {
	if name == "128-mbs-getAverageBuildDuration" { // an average of this hub's own timings
		if fmt.Sprintf("%T", want) != fmt.Sprintf("%T", have) {
			return []string{fmt.Sprintf("%s: %T, want a %T", path, have, want)}
		}
		return nil
	}
	switch w := want.(type) {
	case xmlrpc.Struct:
		h, ok := have.(xmlrpc.Struct)
		if !ok {
			return []string{fmt.Sprintf("%s: %#v, want a struct", path, have)}
		}
		var diffs []string
		wm, hm := w.Map(), h.Map()
		for k, wv := range wm {
			hv, ok := hm[k]
			if !ok {
				diffs = append(diffs, fmt.Sprintf("%s.%s missing", path, k))
				continue
			}
			if byType(k) {
				if fmt.Sprintf("%T", wv) != fmt.Sprintf("%T", hv) {
					diffs = append(diffs, fmt.Sprintf("%s.%s: %#v, want a %T like %#v", path, k, hv, wv, wv))
				}
				continue
			}
			diffs = append(diffs, compare(name, wv, hv, path+"."+k)...)
		}
		for k := range hm {
			if _, ok := wm[k]; !ok {
				diffs = append(diffs, fmt.Sprintf("%s.%s: extra member %#v", path, k, hm[k]))
			}
		}
		slices.Sort(diffs)
		return diffs
	case []any:
		h, ok := have.([]any)
		if !ok || len(h) != len(w) {
			return []string{fmt.Sprintf("%s: %#v, want %#v", path, have, want)}
		}
		if name == "080-listArchives" { // archives of a build come in no particular order
			w, h = sortedByID(w), sortedByID(h)
		}
		var diffs []string
		for i := range w {
			diffs = append(diffs, compare(name, w[i], h[i], fmt.Sprintf("%s[%d]", path, i))...)
		}
		return diffs
	}
	if fmt.Sprintf("%#v", want) != fmt.Sprintf("%#v", have) {
		return []string{fmt.Sprintf("%s: %#v, want %#v", path, have, want)}
	}
	return nil
}

func sortedByID(l []any) []any {
	out := slices.Clone(l)
	sort.SliceStable(out, func(i, j int) bool {
		a, _ := out[i].(xmlrpc.Struct).Get("id")
		b, _ := out[j].(xmlrpc.Struct).Get("id")
		return fmt.Sprint(a) < fmt.Sprint(b)
	})
	return out
}
