package modulemd

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const streamHead = `---
document: modulemd
version: 2
data:
  name: foo
  stream: "1.10"
  summary: S
  description: D
  license:
    module: [MIT]
`

// mustFail reads doc and returns its single error, failing the test when
// the document is accepted or the error has no position.
func mustFail(t *testing.T, doc string, opts Options) *Error {
	t.Helper()
	_, err := Read([]byte(doc), "in.yaml", opts)
	errs := Errors(err)
	if len(errs) == 0 {
		t.Fatalf("accepted:\n%s", doc)
	}
	for _, e := range errs {
		if e.File != "in.yaml" || e.Line < 1 || e.Column < 1 {
			t.Fatalf("error without position: %#v", e)
		}
	}
	return errs[0]
}

func mustRead(t *testing.T, doc string, opts Options) *Index {
	t.Helper()
	idx, err := Read([]byte(doc), "in.yaml", opts)
	if err != nil {
		t.Fatalf("rejected: %v\n%s", err, doc)
	}
	return idx
}

// TestErrorPositions checks that errors point into the user's file, at the
// offending node, with the field path.
func TestErrorPositions(t *testing.T) {
	doc := streamHead + `  components:
    rpms:
      foo:
        rationale: x
        buildorder: abc
`
	e := mustFail(t, doc, Options{})
	want := &Error{File: "in.yaml", Line: 15, Column: 21, Document: 0, Field: "data.components.rpms.foo.buildorder",
		Message: "Failed to parse buildorder in component: abc: The string is not a valid integer"}
	if diff := cmp.Diff(want, e); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if got := e.Error(); got != "in.yaml:15:21: data.components.rpms.foo.buildorder: Failed to parse buildorder in component: abc: The string is not a valid integer" {
		t.Fatalf("Error() = %q", got)
	}

	// Validation errors found after parsing point at the field too, in the
	// second document of the file.
	doc2 := streamHead + "...\n" + strings.Replace(streamHead, "name: foo", "name: bar", 1) + `  artifacts:
    rpms:
    - foo-1.0-1.x86_64
`
	e = mustFail(t, doc2, Options{})
	if e.Line != 24 || e.Column != 7 || e.Document != 1 || e.Field != "data.artifacts.rpms.foo-1.0-1.x86_64" {
		t.Fatalf("validation error position: %#v", e)
	}

	// Strict mode: unknown keys, reported with their own position.
	e = mustFail(t, streamHead+"  colour: blue\n", Options{Strict: true})
	if e.Line != 11 || e.Column != 3 || e.Field != "data.colour" || e.Message != "Unexpected key in data: colour" {
		t.Fatalf("strict error: %#v", e)
	}
	mustRead(t, streamHead+"  colour: blue\n", Options{})

	// YAML syntax errors carry a position too.
	e = mustFail(t, streamHead+"  bad: [unclosed\n", Options{})
	if e.Document != -1 || e.Line < 10 || e.Line > 12 { // go-yaml reports the line of the flow start or of the end
		t.Fatalf("syntax error: %#v", e)
	}
}

// TestQuirkBuildorder: libmodulemd truncates buildorder to 32 bits; rida
// keeps int64 and rejects what does not fit.
func TestQuirkBuildorder(t *testing.T) {
	for in, want := range map[string]int64{"4294967297": 4294967297, "2147483648": 2147483648, "-9223372036854775808": -9223372036854775808, "+5": 5, "007": 7} {
		idx := mustRead(t, streamHead+"  components:\n    rpms:\n      a: {buildorder: "+in+"}\n", Options{})
		if got := idx.Streams()[0].RPMComponents["a"].Buildorder; got != want {
			t.Errorf("buildorder %s: got %d, want %d", in, got, want)
		}
	}
	for _, in := range []string{"9223372036854775808", "-9223372036854775809", "1.5", "0x10", `""`} {
		e := mustFail(t, streamHead+"  components:\n    rpms:\n      a: {buildorder: "+in+"}\n", Options{})
		if e.Field != "data.components.rpms.a.buildorder" {
			t.Errorf("buildorder %s: %#v", in, e)
		}
	}
}

// TestQuirkImpossibleDate: libmodulemd crashes on 2077-13-45; rida rejects
// it.
func TestQuirkImpossibleDate(t *testing.T) {
	for _, d := range []string{"2077-13-45", "2077-02-30", "2077-00-10", "x-y-z", "2077-10"} {
		e := mustFail(t, streamHead+"  servicelevels:\n    rawhide:\n      eol: "+d+"\n", Options{})
		if !strings.HasPrefix(e.Message, "Date not in the form YYYY-MM-DD") || e.Field != "data.servicelevels.rawhide.eol" {
			t.Errorf("%s: %#v", d, e)
		}
	}
	idx := mustRead(t, streamHead+"  servicelevels:\n    rawhide:\n      eol: 2024-02-29\n", Options{})
	if got := idx.Streams()[0].ServiceLevels["rawhide"]; got != (Date{2024, 2, 29}) {
		t.Fatalf("leap day: %v", got)
	}
}

// TestQuirkMixedXMDList: libmodulemd drops list items whose type differs
// from the first; rida keeps them all, and writes them back.
func TestQuirkMixedXMDList(t *testing.T) {
	idx := mustRead(t, streamHead+"  xmd:\n    l: [x, TRUE, [y], {k: v}, \"1.10\"]\n", Options{})
	want := map[string]any{"l": []any{"x", true, []any{"y"}, map[string]any{"k": "v"}, "1.10"}}
	if diff := cmp.Diff(want, idx.Streams()[0].XMD); diff != "" {
		t.Fatalf("xmd (-want +got):\n%s", diff)
	}
	out, err := idx.Emit(EmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "    l:\n    - x\n    - TRUE\n    - - y\n    - k: v\n    - \"1.10\"\n") {
		t.Fatalf("xmd emitted as:\n%s", out)
	}
}

// TestQuirkRPMMapChecksums: libmodulemd writes only the first checksum of a
// digest; rida writes all of them.
func TestQuirkRPMMapChecksums(t *testing.T) {
	doc := streamHead + `  artifacts:
    rpm-map:
      sha256:
        aaaa: {name: a, epoch: 0, version: "1", release: "1", arch: x86_64, nevra: a-0:1-1.x86_64}
        bbbb: {name: b, epoch: 0, version: "1", release: "1", arch: x86_64, nevra: b-0:1-1.x86_64}
`
	out, err := mustRead(t, doc, Options{}).Emit(EmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "        aaaa:\n") || !strings.Contains(string(out), "        bbbb:\n") {
		t.Fatalf("a checksum was dropped:\n%s", out)
	}
	e := mustFail(t, strings.Replace(doc, "nevra: b-0:1-1.x86_64", "nevra: b-0:2-1.x86_64", 1), Options{})
	if !strings.Contains(e.Message, "differs from exploded version") {
		t.Fatalf("nevra mismatch: %#v", e)
	}
}

// TestQuirkDefaultsWithoutModule: libmodulemd accepts them under a
// placeholder name; rida rejects them.
func TestQuirkDefaultsWithoutModule(t *testing.T) {
	e := mustFail(t, "document: modulemd-defaults\nversion: 1\ndata:\n  stream: x\n", Options{})
	if e.Message != "Defaults did not specify a module name." || e.Field != "data.module" {
		t.Fatalf("%#v", e)
	}
}

// TestQuirkAPIParseError: libmodulemd ignores the nested error and fails
// later with a misleading message; rida reports it where it is.
func TestQuirkAPIParseError(t *testing.T) {
	e := mustFail(t, streamHead+"  api: [x]\n", Options{})
	if e.Field != "data.api" || e.Line != 11 {
		t.Fatalf("%#v", e)
	}
	e = mustFail(t, streamHead+"  api:\n    rpms: {a: b}\n", Options{})
	if e.Field != "data.api.rpms" || e.Line != 12 {
		t.Fatalf("%#v", e)
	}
}

// TestQuirkRootKeysAfterData: strict mode reports unknown root keys even
// after `data:`, which libmodulemd never looks at.
func TestQuirkRootKeysAfterData(t *testing.T) {
	e := mustFail(t, streamHead+"extra: 1\n", Options{Strict: true})
	if e.Field != "extra" || e.Line != 11 || e.Column != 1 {
		t.Fatalf("%#v", e)
	}
	mustRead(t, streamHead+"extra: 1\n", Options{})
}

// TestEmptyScalarList: an empty scalar where a list is expected is the
// empty set (libmodulemd 2.15; 2.14 made it {""}), so `platform:` means
// "all streams".
func TestEmptyScalarList(t *testing.T) {
	idx := mustRead(t, streamHead+"  dependencies:\n  - buildrequires:\n      platform:\n  api:\n    rpms: ''\n", Options{})
	s := idx.Streams()[0]
	if l, ok := s.Dependencies[0].BuildRequires["platform"]; !ok || len(l) != 0 {
		t.Fatalf("platform: %#v %v", l, ok)
	}
	if len(s.APIRPMs) != 0 {
		t.Fatalf("api: %#v", s.APIRPMs)
	}
}

// TestScalarTyping: values are never typed implicitly.
func TestScalarTyping(t *testing.T) {
	idx := mustRead(t, strings.Replace(streamHead, `stream: "1.10"`, "stream: 1.10\n  version: 0123456789\n  context: 00000000", 1), Options{})
	s := idx.Streams()[0]
	if s.Stream != "1.10" || s.Version != 123456789 || s.Context != "00000000" {
		t.Fatalf("%q %d %q", s.Stream, s.Version, s.Context)
	}
	for _, bad := range []string{"version: -1", "version: 18446744073709551616", "version: 1.5", "static_context: yes"} {
		mustFail(t, streamHead+"  "+bad+"\n", Options{})
	}
	out, _ := idx.Emit(EmitOptions{})
	if !strings.Contains(string(out), "  context: \"00000000\"\n") {
		t.Fatalf("number-like context not quoted:\n%s", out)
	}
	out, _ = idx.Emit(EmitOptions{Version: Emit214})
	if !strings.Contains(string(out), "  context: 00000000\n") {
		t.Fatalf("2.14 layout quoted the context:\n%s", out)
	}
}

// TestIndexMerge covers libmodulemd's index rules: names required,
// v1 upgraded when v2 arrives, duplicates deduplicated or rejected,
// packager documents refused.
func TestIndexMerge(t *testing.T) {
	v1 := strings.Replace(streamHead, "version: 2", "version: 1", 1)
	idx := mustRead(t, v1+"...\n"+strings.Replace(streamHead, "name: foo", "name: bar", 1), Options{})
	for _, s := range idx.Streams() {
		if s.MdVersion != 2 {
			t.Fatalf("stream %s not upgraded", s.Name)
		}
	}
	mustRead(t, streamHead+"...\n"+streamHead, Options{})
	e := mustFail(t, streamHead+"...\n"+strings.Replace(streamHead, "summary: S", "summary: T", 1), Options{})
	if !strings.Contains(e.Message, "matching NSVCA foo:1.10") || e.Document != 1 {
		t.Fatalf("%#v", e)
	}
	e = mustFail(t, strings.Replace(streamHead, "  name: foo\n", "", 1), Options{})
	if e.Message != "The module and stream names are required when adding to ModuleIndex." {
		t.Fatalf("%#v", e)
	}
	if _, err := ReadStream([]byte(strings.Replace(streamHead, "  name: foo\n", "", 1)), "in.yaml", Options{Strict: true}); err != nil {
		t.Fatalf("ReadStream needs no name: %v", err)
	}
	e = mustFail(t, strings.Replace(streamHead, "document: modulemd", "document: modulemd-packager", 1), Options{})
	if !strings.Contains(e.Message, "modulemd-packager document ignored") {
		t.Fatalf("%#v", e)
	}
}

// TestCopyIsDeep checks that a copied stream shares nothing mutable with
// the original, as a build system editing its copy relies on.
func TestCopyIsDeep(t *testing.T) {
	idx := mustRead(t, streamHead+`  xmd: {mbs: {commit: abc}}
  dependencies:
  - buildrequires: {platform: [f39]}
  profiles: {default: {rpms: [a]}}
  components:
    rpms:
      a: {rationale: r, arches: [x86_64]}
`, Options{})
	s := idx.Streams()[0]
	before, _ := s.Emit(EmitOptions{})
	c := s.Copy()
	c.XMDMap()["mbs"].(map[string]any)["commit"] = "changed"
	c.SetXMD("new", "x")
	c.Dependencies[0].BuildRequires["platform"][0] = "changed"
	c.Profiles["default"].RPMs[0] = "changed"
	c.RPMComponents["a"].Arches[0] = "changed"
	c.RPMComponents["a"].Ref = "changed"
	after, _ := s.Emit(EmitOptions{})
	if string(before) != string(after) {
		t.Fatalf("original changed through the copy:\n%s", after)
	}
	if got := SetStringSet("b", "a", "b"); !cmp.Equal(got, []string{"a", "b"}) {
		t.Fatalf("SetStringSet: %v", got)
	}
}
