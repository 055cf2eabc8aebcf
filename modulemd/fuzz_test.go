package modulemd

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"
	"pgregory.net/rapid"
)

// addCorpusSeeds seeds a fuzz target with every corpus file (when the
// shared corpus is present) and the package's own fixtures.
func addCorpusSeeds(f *testing.F) {
	if _, err := os.Stat(corpusDir); err == nil {
		for _, rel := range corpusFiles(f) {
			if data, err := os.ReadFile(filepath.Join(corpusDir, rel)); err == nil {
				f.Add(data)
			}
		}
	}
	matches, _ := filepath.Glob("testdata/*.yaml")
	for _, m := range matches {
		if data, err := os.ReadFile(m); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("document: modulemd\nversion: 2\ndata: {summary: s, description: d, license: {module: [MIT]}}\n"))
}

// FuzzRead checks that no input makes the parser panic, that every error
// carries a position, and that whatever loads can be written and read back
// to the same bytes.
func FuzzRead(f *testing.F) {
	addCorpusSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, strict := range []bool{false, true} {
			idx, err := Read(data, "fuzz.yaml", Options{Strict: strict})
			for _, e := range Errors(err) {
				if e.Line < 1 || e.Column < 1 || e.File != "fuzz.yaml" || e.Message == "" {
					t.Fatalf("error without position: %#v", e)
				}
			}
			if err != nil && Errors(err) == nil {
				t.Fatalf("error is not a modulemd error: %v", err)
			}
			if len(idx.ModuleNames()) == 0 {
				continue
			}
			out, err := idx.Emit(EmitOptions{})
			if err != nil {
				// Objects in an index were validated on the way in.
				t.Fatalf("emit of a loaded index failed: %v", err)
			}
			idx2, err := Read(out, "emitted.yaml", Options{Strict: true})
			if err != nil {
				t.Fatalf("re-reading emitted output failed: %v\n%s", err, out)
			}
			out2, err := idx2.Emit(EmitOptions{})
			if err != nil {
				t.Fatalf("second emit failed: %v", err)
			}
			if !bytes.Equal(out, out2) {
				t.Fatalf("emit is not stable:\n%s\n---- vs ----\n%s", out, out2)
			}
		}
	})
}

// FuzzEmitScalar checks the libyaml-style scalar writer: whatever style is
// requested and wherever the scalar sits, a YAML parser must read back the
// exact string.
func FuzzEmitScalar(f *testing.F) {
	for _, s := range []string{"", "1.10", "a #b", "key: val", " lead", "trail ", "tab\there", "multi\nline\n", "\n", "'q'", "\"dq\"",
		"- x", "---", "...", "#", "a long line with many words that will certainly exceed the eighty column limit of the emitter here ok",
		"ünïcødé", "emoji 🎉", "\u2028", "x\r\ny", "  \n  indented\n", "%macro 1\n%macro2 2\n"} {
		f.Add(s, uint8(0))
		f.Add(s, uint8(3))
	}
	f.Fuzz(func(t *testing.T, s string, style uint8) {
		if !utf8Valid(s) {
			return
		}
		e := newMMDEmitter(Emit215, 256)
		e.docStart()
		e.mapStart()
		e.plain("key")
		e.scalar(s, scalarStyle(style%4))
		e.plain("list")
		e.seqStart(style&4 != 0)
		e.scalar(s, scalarStyle(style%4))
		e.scalar(s, stylePlain)
		e.seqEnd()
		e.scalar(s, stylePlain)
		e.plain("v")
		e.mapEnd()
		e.docEnd()
		var n yaml.Node
		if err := yaml.Unmarshal(e.buf, &n); err != nil {
			t.Fatalf("emitted YAML does not parse: %v\n%s", err, e.buf)
		}
		m := n.Content[0]
		if len(m.Content) != 6 {
			t.Fatalf("unexpected structure:\n%s", e.buf)
		}
		for _, got := range []string{m.Content[1].Value, m.Content[3].Content[0].Value, m.Content[3].Content[1].Value, m.Content[4].Value} {
			if got != s {
				t.Fatalf("round trip changed %q into %q:\n%s", s, got, e.buf)
			}
		}
	})
}

// TestAnalyzeFastPaths checks the ASCII shortcuts of the scalar analysis
// against the character-by-character port of libyaml.
func TestAnalyzeFastPaths(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.StringOfN(rapid.RuneFrom([]rune(" -?:,[]{}#&*!|>'\"%@`.aZ09_/+=$^;~(<\\")), 1, 12, -1).Draw(t, "s")
		if got, want := analyzeScalar(s), analyzeSlow(s); got != want {
			t.Fatalf("%q: fast %+v, libyaml %+v", s, got, want)
		}
	})
}
