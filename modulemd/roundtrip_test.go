package modulemd

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"pgregory.net/rapid"
)

// cmpStreams compares streams by their exported content.
var cmpStreams = cmp.Options{
	cmpopts.IgnoreUnexported(Stream{}, RPMComponent{}, ModuleComponent{}, RPMMapEntry{}, Defaults{}, Obsoletes{}, Translation{}),
	cmpopts.EquateEmpty(),
}

// TestRoundTripCorpus checks parse(emit(x)) == x for every corpus file that
// loads into an index.
func TestRoundTripCorpus(t *testing.T) {
	n := 0
	var paths []string
	for _, rel := range corpusFiles(t) {
		paths = append(paths, filepath.Join(corpusDir, rel))
	}
	fixtures, _ := filepath.Glob("testdata/*.yaml")
	for _, rel := range append(paths, fixtures...) {
		data, err := os.ReadFile(rel)
		if err != nil {
			t.Fatal(err)
		}
		idx, err := Read(data, rel, Options{})
		if err != nil || len(idx.ModuleNames()) == 0 {
			continue
		}
		out, err := idx.Emit(EmitOptions{})
		if err != nil {
			t.Errorf("%s: emit: %v", rel, err)
			continue
		}
		back, err := Read(out, rel+" (emitted)", Options{Strict: true})
		if err != nil {
			t.Errorf("%s: re-read: %v", rel, err)
			continue
		}
		if diff := cmp.Diff(idx.Streams(), back.Streams(), cmpStreams); diff != "" {
			t.Errorf("%s: streams changed (-before +after):\n%s", rel, diff)
		}
		for _, name := range idx.ModuleNames() {
			a, b := idx.Module(name), back.Module(name)
			if diff := cmp.Diff(a.Defaults, b.Defaults, cmpStreams); diff != "" {
				t.Errorf("%s: defaults changed:\n%s", rel, diff)
			}
			if diff := cmp.Diff(a.Obsoletes, b.Obsoletes, cmpStreams); diff != "" {
				t.Errorf("%s: obsoletes changed:\n%s", rel, diff)
			}
			if diff := cmp.Diff(a.Translations, b.Translations, cmpStreams); diff != "" {
				t.Errorf("%s: translations changed:\n%s", rel, diff)
			}
		}
		n++
	}
	if n == 0 {
		t.Fatal("no corpus file loaded")
	}
	t.Logf("%d corpus files round-trip", n)
}

// Generators for arbitrary, valid streams. Strings include the awkward
// cases for the emitter: number-like text, YAML indicators, quotes, long
// text that gets folded, non-ASCII, tabs and line breaks.
func genText(t *rapid.T, label string) string {
	// NUL is rejected by the parser (see checkNUL).
	return strings.ReplaceAll(genTextRaw(t, label), "\x00", "")
}

func genTextRaw(t *rapid.T, label string) string {
	return rapid.OneOf(
		rapid.SampledFrom([]string{"1.10", "007", ".5", "1e5", "0x1F", "true", "~", "null", "-x", "- x", "#y", "a #b",
			"key: val", "*star", "@at", "'q'", "\"dq\"", "---", "ünïcødé", "tab\there", "emoji 🎉", "a:b", "[x]", "{y}"}),
		rapid.StringMatching(`[a-zA-Z0-9_.+-]{1,12}`),
		rapid.StringMatching(`[a-z ]{0,200}`),
		rapid.String(),
	).Draw(t, label)
}

func genName(t *rapid.T, label string) string {
	return rapid.OneOf(rapid.StringMatching(`[a-zA-Z0-9_.+-]{1,16}`), rapid.SampledFrom([]string{"1.10", "10", "x y", "é"})).Draw(t, label)
}

// genStreamSet draws dependency streams, which may not mix "-name"
// exclusions with plain names.
func genStreamSet(t *rapid.T, label string) []string {
	return sortSet(rapid.SliceOfN(rapid.StringMatching(`[a-zA-Z0-9_.+][a-zA-Z0-9_.+-]{0,11}`), 0, 4).Draw(t, label))
}

func genSet(t *rapid.T, label string) []string {
	return sortSet(rapid.SliceOfN(rapid.Custom(func(t *rapid.T) string { return genName(t, "item") }), 0, 4).Draw(t, label))
}

func genStream(t *rapid.T) *Stream {
	v2 := rapid.Bool().Draw(t, "v2")
	s := &Stream{MdVersion: 1, Name: genName(t, "name"), Stream: genName(t, "stream"),
		Version: rapid.Uint64().Draw(t, "version"), Context: rapid.StringMatching(`[a-zA-Z0-9_]{0,13}`).Draw(t, "context"),
		Arch: genName(t, "arch"), Summary: genText(t, "summary"), Description: genText(t, "description"),
		ModuleLicenses: append(genSet(t, "lic"), "MIT"), ContentLicenses: genSet(t, "clic"),
		Community: genText(t, "community"), APIRPMs: genSet(t, "api"), FilterRPMs: genSet(t, "filter")}
	s.ModuleLicenses = sortSet(s.ModuleLicenses)
	if v2 {
		s.MdVersion = 2
		s.StaticContext = s.Context != "" && rapid.Bool().Draw(t, "static")
		s.DemodularizedRPMs = genSet(t, "demod")
		for i := rapid.IntRange(0, 3).Draw(t, "ndeps"); i > 0; i-- {
			d := &Dependencies{BuildRequires: map[string][]string{}, Requires: map[string][]string{}}
			for j := rapid.IntRange(0, 3).Draw(t, "nmods"); j > 0; j-- {
				d.BuildRequires[genName(t, "br")] = genStreamSet(t, "brs")
				d.Requires[genName(t, "rq")] = genStreamSet(t, "rqs")
			}
			s.Dependencies = append(s.Dependencies, d)
		}
	} else if rapid.Bool().Draw(t, "v1deps") {
		s.Dependencies = []*Dependencies{{BuildRequires: map[string][]string{genName(t, "br"): {genName(t, "brs")}},
			Requires: map[string][]string{genName(t, "rq"): {genName(t, "rqs")}}}}
	}
	if rapid.Bool().Draw(t, "hasxmd") {
		s.XMD = map[string]any{"mbs": map[string]any{"commit": genText(t, "commit"), "flag": rapid.Bool().Draw(t, "flag"),
			"list": []any{genText(t, "l0"), genText(t, "l1")}, "empty": map[string]any{}}}
	}
	s.Profiles = map[string]*Profile{}
	for i := rapid.IntRange(0, 3).Draw(t, "nprof"); i > 0; i-- {
		n := genName(t, "profile")
		s.Profiles[n] = &Profile{Name: n, Description: genText(t, "pdesc"), RPMs: genSet(t, "prpms")}
	}
	s.RPMComponents = map[string]*RPMComponent{}
	useAfter := rapid.Bool().Draw(t, "buildafter")
	for i := rapid.IntRange(0, 5).Draw(t, "ncomp"); i > 0; i-- {
		k := genName(t, "comp")
		c := &RPMComponent{Key: k, Rationale: genText(t, "rationale"), Ref: genName(t, "ref"),
			Repository: genText(t, "repo"), Buildonly: rapid.Bool().Draw(t, "buildonly"),
			Arches: genSet(t, "arches"), Multilib: genSet(t, "multilib")}
		if !useAfter {
			c.Buildorder = rapid.Int64().Draw(t, "buildorder")
		}
		s.RPMComponents[k] = c
	}
	if useAfter {
		keys := sortedKeys(s.RPMComponents)
		for i, k := range keys {
			if i > 0 {
				s.RPMComponents[k].Buildafter = []string{keys[i-1]}
			}
		}
	}
	if rapid.Bool().Draw(t, "hasbuildopts") {
		s.Buildopts = &Buildopts{RPMMacros: genText(t, "macros"), RPMWhitelist: genSet(t, "whitelist")}
	}
	return s
}

// TestRoundTripGenerated checks parse(emit(x)) == x on generated streams,
// in both output layouts.
func TestRoundTripGenerated(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := genStream(t)
		for _, v := range []EmitVersion{Emit215, Emit214} {
			out, err := s.Emit(EmitOptions{Version: v})
			if err != nil {
				t.Fatalf("emit: %v", err)
			}
			back, err := ReadStream(out, "generated.yaml", Options{Strict: true})
			if err != nil {
				t.Fatalf("re-read: %v\n%s", err, out)
			}
			if diff := cmp.Diff(s, back, cmpStreams); diff != "" {
				t.Fatalf("round trip changed the stream (-before +after):\n%s\n%s", diff, out)
			}
			again, _ := back.Emit(EmitOptions{Version: v})
			if !bytes.Equal(out, again) {
				t.Fatalf("emit not stable:\n%s\n%s", out, again)
			}
		}
	})
}

// Example of the intended use: read a submission, inspect it, write it.
func ExampleReadStream() {
	s, err := ReadStream([]byte(`document: modulemd
version: 2
data:
  stream: 1.10
  summary: Demo
  description: Demo module.
  license: {module: [MIT]}
  components:
    rpms:
      foo: {rationale: Demo., ref: main, buildorder: 4294967297}
`), "demo.yaml", Options{Strict: true})
	if err != nil {
		fmt.Println(err)
		return
	}
	c := s.RPMComponents["foo"]
	fmt.Printf("%s %s %d\n", s.Stream, c.Ref, c.Buildorder)
	// Output: 1.10 main 4294967297
}
