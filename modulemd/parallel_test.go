package modulemd

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParallelEqualsSequential checks that the concurrent loader returns
// exactly what one sequential decoder returns, positions and errors
// included, on a large stream built from the corpus with broken documents
// mixed in.
func TestParallelEqualsSequential(t *testing.T) {
	var buf bytes.Buffer
	buf.WriteString("# leading comment\n\n")
	for _, rel := range []string{
		"libmodulemd/modulemd/tests/test_data/f29-updates.yaml",
		"libmodulemd/modulemd/tests/test_data/long-valid.yaml",
		"libmodulemd/modulemd/tests/test_data/bad_stream_v2.yaml",
		"libmodulemd/modulemd/tests/test_data/broken_stream.yaml",
		"mbs/tests/staged_data/testmodule.yaml",
	} {
		data, err := os.ReadFile(filepath.Join(corpusDir, rel))
		if err != nil {
			t.Skipf("shared modulemd corpus not available: %v", err)
		}
		if !bytes.HasPrefix(data, []byte("---")) {
			buf.WriteString("---\n")
		}
		buf.Write(data)
		if !bytes.HasSuffix(data, []byte("\n")) {
			buf.WriteByte('\n')
		}
	}
	data := buf.Bytes()
	par, ok := readChunked(data, "big.yaml", Options{Strict: true})
	if !ok {
		t.Fatal("parallel path not taken")
	}
	seq, err := readSequential(data, "big.yaml", Options{Strict: true}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	opts := cmp.Options{cmp.AllowUnexported(Stream{}, RPMComponent{}, ModuleComponent{}, RPMMapEntry{}, Defaults{}, Obsoletes{}, Translation{}, PackagerV3{}, position{})}
	if diff := cmp.Diff(seq, par, opts); diff != "" {
		t.Fatalf("parallel differs from sequential (-seq +par):\n%s", diff)
	}
	bad := 0
	for _, d := range par {
		if d.Err != nil {
			bad++
		}
	}
	if bad < 2 {
		t.Fatalf("expected the broken documents to fail, %d failed", bad)
	}

	// A file the split cannot handle (an unterminated flow sequence across
	// a marker) must fall back and give the sequential error.
	broken := append(bytes.Clone(data), []byte("---\ndocument: modulemd\nversion: 2\ndata: [a,\n---\nb]\n")...)
	if _, ok := readChunked(broken, "big.yaml", Options{}); ok {
		t.Fatal("parallel path accepted a document split across a marker")
	}
	if _, err := ReadDocuments(broken, "big.yaml", Options{}); err == nil {
		t.Fatal("no syntax error for a broken document")
	}
}
