package modulemd

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// sameTree compares the node fields the modulemd parser relies on, plus
// style, between the fast parser's tree and go-yaml's.
func sameTree(a, b *yaml.Node, path string) error {
	if a.Kind != b.Kind || a.Value != b.Value || a.Line != b.Line || a.Column != b.Column || a.Style&^yaml.TaggedStyle != b.Style&^yaml.TaggedStyle {
		return fmt.Errorf("%s: fast {kind %v style %v %q at %d:%d}, go-yaml {kind %v style %v %q at %d:%d}",
			path, a.Kind, a.Style, a.Value, a.Line, a.Column, b.Kind, b.Style, b.Value, b.Line, b.Column)
	}
	if len(a.Content) != len(b.Content) {
		return fmt.Errorf("%s: fast has %d children, go-yaml %d", path, len(a.Content), len(b.Content))
	}
	for i := range a.Content {
		if err := sameTree(a.Content[i], b.Content[i], fmt.Sprintf("%s/%d", path, i)); err != nil {
			return err
		}
	}
	return nil
}

// checkFast returns an error when fastParse accepts b but go-yaml reads
// something else (or nothing, or fails). It reports whether the fast path
// was taken.
func checkFast(b []byte) (bool, error) {
	fast, ok := fastParse(b)
	if !ok {
		return false, nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var n yaml.Node
	if err := decodeSafe(dec, &n); err != nil {
		return true, fmt.Errorf("fast parser accepted what go-yaml rejects: %v", err)
	}
	var extra yaml.Node
	if err := decodeSafe(dec, &extra); err != io.EOF {
		return true, fmt.Errorf("go-yaml sees more than one document (%v)", err)
	}
	if len(n.Content) != 1 {
		return true, fmt.Errorf("go-yaml document has %d roots", len(n.Content))
	}
	return true, sameTree(fast.Content[0], n.Content[0], "")
}

// TestFastParseMatchesGoYAML runs every document of the corpus, the
// fixtures and rida's own output through both parsers.
func TestFastParseMatchesGoYAML(t *testing.T) {
	var inputs []string
	for _, rel := range corpusFiles(t) {
		inputs = append(inputs, filepath.Join(corpusDir, rel))
	}
	fixtures, _ := filepath.Glob("testdata/*.yaml")
	inputs = append(inputs, fixtures...)
	total, fast := 0, 0
	check := func(name string, data []byte) {
		chunks, ok := splitDocuments(data)
		if !ok {
			return
		}
		for _, c := range chunks {
			b := data[c.start:c.end]
			if onlyTrivia(b) {
				continue
			}
			total++
			took, err := checkFast(b)
			if err != nil {
				t.Errorf("%s line %d: %v", name, c.lineOff+1, err)
			}
			if took {
				fast++
			}
		}
	}
	for _, in := range inputs {
		data, err := os.ReadFile(in)
		if err != nil {
			t.Fatal(err)
		}
		check(in, data)
		if idx, err := Read(data, in, Options{}); err == nil && len(idx.ModuleNames()) > 0 {
			for _, v := range []EmitVersion{Emit215, Emit214} {
				out, _ := idx.Emit(EmitOptions{Version: v})
				check(in+" (emitted)", out)
			}
		}
	}
	t.Logf("fast parser took %d of %d documents", fast, total)
	if fast < total/2 {
		t.Errorf("fast path taken for only %d of %d documents", fast, total)
	}
}

// FuzzFastParse checks that whenever the fast parser accepts an input,
// go-yaml reads exactly the same tree.
func FuzzFastParse(f *testing.F) {
	addCorpusSeeds(f)
	for _, s := range []string{"a: b\n", "a:\n- b\n- c: d\n  e: f\n", "a: >\n  x\n\n  y\n", "a: |-\n  x\n   y\n", "a: [b, 'c''d', \"e\"]\n",
		"a: b\n  c\n", "a: {}\n", "'k': v # c\n", "a:\n  - x\n  -  y\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := checkFast(data); err != nil {
			t.Fatalf("%v\ninput:\n%s", err, strings.ReplaceAll(string(data), "\t", "\\t"))
		}
	})
}
