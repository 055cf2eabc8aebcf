package modulemd

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The shared corpus: real modulemd files from libmodulemd and MBS, and
// libmodulemd's own verdicts and output for each of them.
const (
	corpusDir = "../../shared/testdata/modulemd"
	golden215 = corpusDir + "/golden/libmodulemd-2.15.3"
	golden214 = corpusDir + "/golden/libmodulemd-2.14.0"
)

// corpusFiles walks the libmodulemd and mbs trees, so that a file added
// there is tested without code changes.
func corpusFiles(t testing.TB) []string {
	t.Helper()
	if _, err := os.Stat(corpusDir); err != nil {
		t.Skipf("shared modulemd corpus not found at %s (run from a checkout next to ../shared): %v", corpusDir, err)
	}
	var files []string
	for _, top := range []string{"libmodulemd", "mbs"} {
		err := filepath.WalkDir(filepath.Join(corpusDir, top), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
				rel, _ := filepath.Rel(corpusDir, p)
				files = append(files, rel)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("walk corpus: %v", err)
		}
	}
	sort.Strings(files)
	return files
}

type oracleFile struct {
	Index struct {
		OK       bool    `json:"ok"`
		Error    *string `json:"error"`
		Failures []struct {
			Error string `json:"error"`
		} `json:"failures"`
		Modules []string       `json:"modules"`
		Counts  map[string]int `json:"counts"`
	} `json:"index"`
	Documents      []oracleDoc `json:"documents"`
	DocumentsError *string     `json:"documents_error"`
}

type oracleDoc struct {
	DocType      *string        `json:"doc_type"`
	Valid        bool           `json:"valid"`
	Errors       []string       `json:"errors"`
	Kind         *string        `json:"kind"`
	Data         any            `json:"data"`
	StreamValid  *bool          `json:"stream_valid"`
	StreamErrors []string       `json:"stream_errors"`
	StreamData   any            `json:"stream_data"`
	AsStreamV2   any            `json:"as_stream_v2"`
	AsIndex      any            `json:"as_index"`
	AsIndexError *string        `json:"as_index_error"`
	Extra        map[string]any `json:"-"`
}

func loadOracle(t testing.TB, path string) *oracleFile {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var o oracleFile
	if err := dec.Decode(&o); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return &o
}

// jsonNorm round-trips v through JSON so that it compares equal to decoded
// oracle data (numbers as json.Number, nil slices as empty lists).
func jsonNorm(t testing.TB, v any) any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("unmarshal: %v", err)
	}
	return out
}

// deviations lists the corpus files on which rida deliberately disagrees
// with libmodulemd, with the reason. The test checks that each one really
// differs, so the list cannot go stale silently.
var deviations = map[string]string{
	// Header-less fragments: libmodulemd loses its place in the event
	// stream and aborts the whole load ("Unexpected YAML event in document
	// stream"); rida rejects just that document ("No document type
	// specified") and would go on with the next one. Both reject the file.
	"libmodulemd/modulemd/tests/test_data/rpm-map/valid.yaml":       "per-document failure instead of a hard error",
	"libmodulemd/modulemd/tests/test_data/rpm-map/wrong-nevra.yaml": "per-document failure instead of a hard error",
}

// compareFile checks one corpus file in one mode and returns the
// differences found (empty when rida agrees with libmodulemd).
func compareFile(t *testing.T, rel string, strict bool) []string {
	suffix := ".oracle.json"
	if strict {
		suffix = ".oracle-strict.json"
	}
	o := loadOracle(t, filepath.Join(golden215, rel+suffix))
	if o == nil {
		return []string{"no oracle output " + suffix}
	}
	data, err := os.ReadFile(filepath.Join(corpusDir, rel))
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Strict: strict}
	var diffs []string
	add := func(f string, a ...any) { diffs = append(diffs, fmt.Sprintf(f, a...)) }

	// Index-level verdict.
	idx, ierr := Read(data, rel, opts)
	docs, hard := ReadDocuments(data, rel, opts)
	if (hard != nil) != (o.Index.Error != nil) {
		add("hard error: rida %v, libmodulemd %v", hard, deref(o.Index.Error))
	}
	if (ierr == nil) != o.Index.OK {
		add("index ok: rida %v (%v), libmodulemd %v", ierr == nil, ierr, o.Index.OK)
	}
	failing := 0
	{
		tmp := NewIndex()
		for _, d := range docs {
			if d.Err != nil || tmp.AddDocument(d) != nil {
				failing++
			}
		}
	}
	if failing != len(o.Index.Failures) {
		add("failures: rida %d, libmodulemd %d (%v)", failing, len(o.Index.Failures), o.Index.Failures)
	}
	if !cmp.Equal(idx.ModuleNames(), o.Index.Modules, cmp.Comparer(func(a, b []string) bool { return len(a) == 0 && len(b) == 0 || cmp.Equal(a, b) })) {
		add("modules: rida %v, libmodulemd %v", idx.ModuleNames(), o.Index.Modules)
	}
	counts := map[string]int{}
	for _, c := range normIndex(idx) {
		m := c.(map[string]any)
		counts[fmt.Sprintf("%s-v%v", m["doc_type"], m["doc_version"])]++
	}
	if !cmp.Equal(counts, o.Index.Counts, cmp.Comparer(func(a, b map[string]int) bool { return len(a) == 0 && len(b) == 0 || fmt.Sprint(a) == fmt.Sprint(b) })) {
		add("counts: rida %v, libmodulemd %v", counts, o.Index.Counts)
	}

	// Per-document verdicts and normalised fields.
	if o.DocumentsError != nil || hard != nil {
		return diffs
	}
	if len(docs) != len(o.Documents) {
		add("documents: rida %d, libmodulemd %d", len(docs), len(o.Documents))
		return diffs
	}
	lenientDocs, _ := ReadDocuments(data, rel, Options{})
	for i, d := range docs {
		od := o.Documents[i]
		var valid bool
		var got any
		if d.Type == DocPackager {
			// libmodulemd reads packager documents leniently whatever
			// the mode (read_packager_string).
			d = lenientDocs[i]
			valid = d.Err == nil
		} else {
			tmp := NewIndex()
			valid = d.Err == nil && tmp.AddDocument(d) == nil
			if valid {
				if c := normIndex(tmp); len(c) > 0 {
					got = c[0].(map[string]any)["data"]
				}
			}
		}
		if valid != od.Valid {
			add("doc %d valid: rida %v (%v), libmodulemd %v %q", i, valid, d.Err, od.Valid, od.Errors)
			continue
		}
		if od.StreamValid != nil && (d.Err == nil) != *od.StreamValid {
			add("doc %d stream_valid: rida %v (%v), libmodulemd %v %q", i, d.Err == nil, d.Err, *od.StreamValid, od.StreamErrors)
		}
		switch {
		case d.PackagerV3 != nil:
			got = normPackagerV3(d.PackagerV3)
			if od.AsStreamV2 != nil {
				s, err := d.PackagerV3.ToStreamV2()
				if err != nil {
					add("doc %d as_stream_v2: %v", i, err)
				} else if diff := cmp.Diff(od.AsStreamV2, jsonNorm(t, normStream(s))); diff != "" {
					add("doc %d as_stream_v2 (-libmodulemd +rida):\n%s", i, diff)
				}
			}
			if od.AsIndex != nil {
				ci, err := d.PackagerV3.ConvertToIndex()
				if err != nil {
					add("doc %d as_index: %v", i, err)
				} else if diff := cmp.Diff(od.AsIndex, jsonNorm(t, normIndex(ci))); diff != "" {
					add("doc %d as_index (-libmodulemd +rida):\n%s", i, diff)
				}
			}
		case d.Stream != nil && d.Type == DocPackager:
			got = normStream(d.Stream)
		}
		want := od.Data
		if od.StreamData != nil && d.Stream != nil && d.Err == nil {
			want, got = od.StreamData, normStream(d.Stream)
		}
		if want != nil {
			if diff := cmp.Diff(want, jsonNorm(t, got)); diff != "" {
				add("doc %d fields (-libmodulemd +rida):\n%s", i, diff)
			}
		}
	}
	return diffs
}

func deref(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

// TestCorpusVerdicts compares rida's verdicts and parsed fields with
// libmodulemd 2.15.3's for every corpus file, lenient and strict.
func TestCorpusVerdicts(t *testing.T) {
	files := corpusFiles(t)
	matched := 0
	for _, rel := range files {
		var diffs []string
		for _, strict := range []bool{false, true} {
			for _, d := range compareFile(t, rel, strict) {
				diffs = append(diffs, fmt.Sprintf("strict=%v: %s", strict, d))
			}
		}
		reason, deviates := deviations[rel]
		switch {
		case len(diffs) == 0 && deviates:
			t.Errorf("%s: listed as a deliberate deviation (%s) but agrees with libmodulemd", rel, reason)
		case len(diffs) > 0 && !deviates:
			t.Errorf("%s:\n  %s", rel, strings.Join(diffs, "\n  "))
		case len(diffs) == 0:
			matched++
		}
	}
	t.Logf("verdicts and fields match libmodulemd 2.15.3 for %d of %d corpus files (%d deliberate deviations)", matched, len(files), len(deviations))
}

// TestCorpusEmit checks rida's output byte for byte against libmodulemd's
// for every file that libmodulemd loads without failures, for both
// supported emitter versions.
func TestCorpusEmit(t *testing.T) {
	files := corpusFiles(t)
	for _, v := range []struct {
		dir string
		ver EmitVersion
	}{{golden215, Emit215}, {golden214, Emit214}} {
		n, ok := 0, 0
		for _, rel := range files {
			want, err := os.ReadFile(filepath.Join(v.dir, rel+".emitted.yaml"))
			if err != nil {
				continue
			}
			n++
			idx, err := ReadFile(filepath.Join(corpusDir, rel), Options{})
			if err != nil {
				t.Errorf("%s: read: %v", rel, err)
				continue
			}
			got, err := idx.Emit(EmitOptions{Version: v.ver})
			if err != nil {
				t.Errorf("%s: emit: %v", rel, err)
				continue
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s (%s): output differs (-libmodulemd +rida):\n%s", rel, filepath.Base(v.dir), cmp.Diff(string(want), string(got)))
				continue
			}
			ok++
		}
		if n == 0 {
			t.Errorf("no emitted goldens found under %s", v.dir)
		}
		t.Logf("%s: %d of %d emitted files byte-identical", filepath.Base(v.dir), ok, n)
	}
}
