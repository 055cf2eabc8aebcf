package expand

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// MBS's worked example (mbs.md §3.3, test_models.py::test_context_functions).
func TestContextsMBSExample(t *testing.T) {
	br := map[string]string{"base-runtime": "f28", "fluffy": "foo", "zebra": "2.0"}
	bc := BuildContext(br)
	if want := "089df24993c037e10174f3fa7342ab4dc191a4d4"; bc != want {
		t.Errorf("build_context = %s, want %s", bc, want)
	}
	rc := RuntimeContext(map[string][]string{"base-runtime": {"master"}, "fidget": {"spinner"}, "glass": {"water"}, "silly": {"puddy"}})
	if want := "bbc84c7b817ab3dd54916c0bcd6c6bdf512f7f9c"; rc != want {
		t.Errorf("runtime_context = %s, want %s", rc, want)
	}
	if got, want := Context(bc, rc), "3ee22b28"; got != want {
		t.Errorf("context = %s, want %s", got, want)
	}
	// build_context_no_bms leaves out base modules; with none present it
	// equals build_context, with one it must differ.
	if got := BuildContext(br, "platform"); got != bc {
		t.Errorf("no_bms without base modules = %s, want %s", got, bc)
	}
	if got := BuildContext(br, "base-runtime"); got == bc || got != BuildContext(map[string]string{"fluffy": "foo", "zebra": "2.0"}) {
		t.Errorf("no_bms did not drop base-runtime: %s", got)
	}
}

// The runtime context is over the union of streams of all blocks, sorted
// and de-duplicated, so block order and duplicates do not matter.
func TestRuntimeContextUnion(t *testing.T) {
	a := RuntimeContext(map[string][]string{"platform": {"f29"}}, map[string][]string{"platform": {"f28", "f29"}, "x": {}})
	b := RuntimeContext(map[string][]string{"x": nil, "platform": {"f28", "f29"}})
	if a != b {
		t.Errorf("union differs: %s vs %s", a, b)
	}
	if RuntimeContext() != sha1Hex([]byte("{}")) {
		t.Error("empty runtime context is not sha1({})")
	}
}

func TestPyJSON(t *testing.T) {
	got := string(pyJSONObject(map[string][]string{"b": {"x", "y"}, "a": {}, "é": {"\"\\\n\x01\x7f😀"}}, pyJSONList))
	want := `{"a": [], "b": ["x", "y"], "\u00e9": ["\"\\\n\u0001\u007f\ud83d\ude00"]}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestPyJSONOracle compares the encoder with Python's own json.dumps on
// random inputs when python3 is installed.
func TestPyJSONOracle(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not installed")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := []rune("ab-_.0\"\\/\n\t\x00\x1f\x7f é€😀\u2028\ufeff")
	str := func() string {
		var b strings.Builder
		for range rng.IntN(6) {
			b.WriteRune(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	var cases []map[string][]string
	var in bytes.Buffer
	for range 300 {
		m := map[string][]string{}
		for range rng.IntN(5) {
			var l []string
			for range rng.IntN(3) {
				l = append(l, str())
			}
			m[str()] = l
		}
		cases = append(cases, m)
		line, _ := json.Marshal(m)
		in.Write(line)
		in.WriteByte('\n')
	}
	cmd := exec.Command(py, "-c", `
import json, sys
from collections import OrderedDict
for line in sys.stdin:
    m = json.loads(line)
    m = {k: (v or []) for k, v in m.items()}
    print(json.dumps(OrderedDict(sorted(m.items()))))
`)
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for i := 0; sc.Scan(); i++ {
		if got := string(pyJSONObject(cases[i], pyJSONList)); got != sc.Text() {
			t.Fatalf("case %d: got %s, python %s", i, got, sc.Text())
		}
	}
}

// mbs.md §3.5 and test_models.py's get_stream_version table.
func TestStreamVersionMBS(t *testing.T) {
	suffixes := []StreamSuffix{
		{regexp.MustCompile(`el\d+\.z`), 0.2},
		{regexp.MustCompile(`el\d+\.\d+\.\d+\.z`), 0.3},
	}
	for _, c := range []struct {
		stream   string
		pad      bool
		suffixes []StreamSuffix
		want     float64
		ok       bool
	}{
		{"f27", true, nil, 270000, true},
		{"f27", false, nil, 27, true},
		{"f28", true, nil, 280000, true},
		{"f28", false, nil, 28, true},
		{"f27.02.30", true, nil, 270230, true},
		{"el8", true, nil, 80000, true},
		{"el8.1.0", true, nil, 80100, true},
		{"el8.1.0", false, nil, 80100, true},
		{"el8.2.1", true, nil, 80201, true},
		{"fl7.0.1", false, nil, 70001, true},
		{"el8.z", true, suffixes, 80000.2, true},
		{"el8.1.0.z", true, suffixes, 80100.3, true},
		{"el8.1.0", true, suffixes, 80100, true},
		// Edge cases of the scan: trailing dots stripped, stop at the
		// first non-digit after digits, inner empty sections padded.
		{"el8.1.", true, nil, 80100, true},
		{"f30-beta2", true, nil, 300000, true},
		{"v1..2", false, nil, 10002, true},
		{"1.2.3.4", true, nil, 1020304, true},
		{"f٣٤", true, nil, 340000, true}, // Arabic-Indic digits: Python's int() accepts them
		{"master", true, nil, 0, false},
		{"", true, nil, 0, false},
		{".", true, nil, 0, false},
	} {
		got, ok := StreamVersion(c.stream, c.pad, c.suffixes)
		if ok != c.ok || got != c.want {
			t.Errorf("StreamVersion(%q, %v) = %v, %v; want %v, %v", c.stream, c.pad, got, ok, c.want, c.ok)
		}
	}
}

func TestPyFloatRepr(t *testing.T) {
	for f, want := range map[float64]string{
		28: "28.0", 80100: "80100.0", 80100.3: "80100.3", 0: "0.0", 1e16: "1e+16", 1.5e16: "1.5e+16",
		1234567890123456: "1234567890123456.0", 0.0001: "0.0001", 0.00001: "1e-05", 123.456: "123.456",
		math.Inf(1): "inf",
	} {
		if got := PyFloatRepr(f); got != want {
			t.Errorf("PyFloatRepr(%v) = %s, want %s", f, got, want)
		}
	}
	// x.y.z detection (mbs.md §3.2): "80100.0" qualifies, "28.0" does not.
	if !IsXYZ("el8.1.0", nil) || IsXYZ("f28", nil) || IsXYZ("el8", nil) || IsXYZ("master", nil) {
		t.Error("IsXYZ disagrees with len(str(float)) >= 5")
	}
}

// mbs.md §3.4 and test_submit.py.
func TestPrefixedVersionMBS(t *testing.T) {
	for _, c := range []struct {
		base    string
		version uint64
		want    uint64
		ok      bool
	}{
		{"f28", 20180205135154, 2820180205135154, true},
		{"fl7.0.1", 20180205135154, 7000120180205135154, true},
		{"el8.1.0", 20180205135154, 8010020180205135154, true},
		{"f28", 1, 281, true}, // test_submit_build: version "281"
		{"", 20180205135154, 20180205135154, false},
		{"master", 20180205135154, 20180205135154, false},
		{"el8.10.0", 20180205135154, 8100020180205135154, true},
		{"el20.0.0", 20180205135154, 20180205135154, false}, // 200000… overflows uint64
	} {
		got, ok := PrefixedVersion(c.base, c.version, nil)
		if got != c.want || ok != c.ok {
			t.Errorf("PrefixedVersion(%q, %d) = %d, %v; want %d, %v", c.base, c.version, got, ok, c.want, c.ok)
		}
	}
}

// mbs.md §3.7 and test_koji.py tag names.
func TestKojiTagMBS(t *testing.T) {
	if got, want := KojiTag("testmodule", "master", 20170816080815, "37c6c57", KojiTagMaxLength, false, 0), "module-testmodule-master-20170816080815-37c6c57"; got != want {
		t.Errorf("tag = %s, want %s", got, want)
	}
	// test_generate_koji_tag_in_hash_format's input.
	long := "this-is-a-stream-with-very-looooong-name" + strings.Repeat("-blah", 50)
	if got, want := KojiTag("testmodule", long, 20170816080815, "37c6c57", KojiTagMaxLength, false, 0), "module-1cf457d452e54dda"; got != want {
		t.Errorf("hash tag = %s, want %s", got, want)
	}
	if got, want := KojiTag("testmodule", "master", 20170816080815, "37c6c57", KojiTagMaxLength, true, 1000), "scrmod-testmodule-master-20170816080815-37c6c57+1000"; got != want {
		t.Errorf("scratch tag = %s, want %s", got, want)
	}
	// Targets: hash form once the tag is over 50 characters (56 - "-build").
	name := strings.Repeat("n", 50-len("module----1-c"))
	if got := KojiTag(name, "s", 1, "c", KojiTargetMaxLength, false, 0); len(got) != 50 || !strings.HasPrefix(got, "module-n") {
		t.Errorf("50-character target hashed: %s", got)
	}
	if got := KojiTag(name+"n", "s", 1, "c", KojiTargetMaxLength, false, 0); len(got) != len("module-")+16 {
		t.Errorf("51-character target not hashed: %s", got)
	}
	// Length counts characters, as Python's len does.
	if got := KojiTag(strings.Repeat("é", 50-len("module----1-c")), "s", 1, "c", KojiTargetMaxLength, false, 0); strings.HasPrefix(got, "module-") && len(got) == len("module-")+16 {
		t.Errorf("length counted in bytes: %s", got)
	}
}

// mbs.md §3.9 and test_builder_utils.py.
func TestRPMReleaseMBS(t *testing.T) {
	if got, want := RPMRelease(DefaultDistTagPrefix, "", 2, "nginx", "1", 2, DefaultModuleContext), "module+2+b8661ee4"; got != want {
		t.Errorf("release = %s, want %s", got, want)
	}
	// test_get_rpm_release_platform_stream: testmodule:master:20170109091357:7c29193d
	// buildrequiring platform:f28 (no disttag_marking) with id 2.
	platform := func(name string) (MarkingSource, bool) {
		return MarkingSource{Stream: "f28"}, name == "platform"
	}
	marking := DisttagMarking(nil, DefaultBaseModuleNames, platform)
	if got, want := RPMRelease(DefaultDistTagPrefix, marking, 2, "testmodule", "master", 20170109091357, "7c29193d"), "module+f28+2+814cfa39"; got != want {
		t.Errorf("release = %s, want %s", got, want)
	}
	if got, want := RPMRelease(ScratchDistTagPrefix, marking, 2, "testmodule", "master", 20170109091357, "7c29193d"), "scrmod+f28+2+814cfa39"; got != want {
		t.Errorf("scratch release = %s, want %s", got, want)
	}
	withMarking := func(name string) (MarkingSource, bool) {
		switch name {
		case "platform":
			return MarkingSource{Stream: "f28", DisttagMarking: "fedora28", HasMarking: true}, true
		case "product":
			return MarkingSource{Stream: "1.2", DisttagMarking: "product12", HasMarking: true}, true
		case "unmarked":
			return MarkingSource{Stream: "x"}, true
		}
		return MarkingSource{}, false
	}
	if got := DisttagMarking(nil, DefaultBaseModuleNames, withMarking); got != "fedora28+" {
		t.Errorf("base marking = %q", got)
	}
	if got := DisttagMarking([]string{"unmarked", "product"}, DefaultBaseModuleNames, withMarking); got != "product12+" {
		t.Errorf("privileged marking = %q", got)
	}
	if got := DisttagMarking([]string{"unmarked"}, []string{"nothing"}, withMarking); got != "" {
		t.Errorf("no marking = %q", got)
	}
}

func TestRPMVerCmp(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"80100.0", "80000.0", 1}, {"80000.0", "80000.0", 0}, {"28.0", "80000.0", -1},
		{"1.0", "1.0.1", -1}, {"1.0~rc1", "1.0", -1}, {"1.0^git1", "1.0", 1}, {"1.0^git1", "1.0.1", -1},
		{"010", "10", 0}, {"1a", "1.a", 0}, {"2", "10", -1}, {"b", "a", 1}, {"1", "a", 1},
	} {
		if got := rpmvercmp(c.a, c.b); got != c.want {
			t.Errorf("rpmvercmp(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := rpmvercmp(c.b, c.a); got != -c.want {
			t.Errorf("rpmvercmp(%q, %q) = %d, want %d", c.b, c.a, got, -c.want)
		}
	}
}
