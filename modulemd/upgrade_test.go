package modulemd

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// readOne parses a single-document file of the corpus.
func readOne(t *testing.T, rel string) *Document {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(corpusDir, rel))
	if err != nil {
		t.Skipf("shared modulemd corpus not available: %v", err)
	}
	docs, err := ReadDocuments(data, rel, Options{})
	if err != nil || len(docs) != 1 || docs[0].Err != nil {
		t.Fatalf("read %s: %v %v", rel, err, docs)
	}
	return docs[0]
}

// TestPackagerV3Conversions checks both packager v3 conversions against
// libmodulemd's expected outputs, which upstream keeps byte-exact.
func TestPackagerV3Conversions(t *testing.T) {
	pk := readOne(t, "libmodulemd/yaml_specs/modulemd_packager_v3.yaml").PackagerV3
	if pk == nil {
		t.Fatal("not parsed as packager v3")
	}
	for _, v := range []EmitVersion{Emit215, Emit214} {
		idx, err := pk.ConvertToIndex()
		if err != nil {
			t.Fatal(err)
		}
		got, err := idx.Emit(EmitOptions{Version: v})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := os.ReadFile(filepath.Join(corpusDir, "libmodulemd/modulemd/tests/test_data/upgrades/packager_v3_to_index.yaml"))
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("convert to index (-want +got):\n%s", diff)
		}

		s, err := pk.ToStreamV2()
		if err != nil {
			t.Fatal(err)
		}
		d, err := pk.Defaults()
		if err != nil || d == nil {
			t.Fatalf("defaults: %v %v", d, err)
		}
		idx = NewIndex()
		if err := idx.AddDefaults(d); err != nil {
			t.Fatal(err)
		}
		if err := idx.AddStream(s); err != nil {
			t.Fatal(err)
		}
		got, err = idx.Emit(EmitOptions{Version: v})
		if err != nil {
			t.Fatal(err)
		}
		want, _ = os.ReadFile(filepath.Join(corpusDir, "libmodulemd/modulemd/tests/test_data/upgrades/packager_v3_to_stream_v2.yaml"))
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("convert to stream v2 (-want +got):\n%s", diff)
		}
	}
}

// TestUpgradeV1 checks the v1 → v2 upgrade on a real MBS stream: one
// dependency block with one-stream lists, everything else kept, and the
// original left untouched.
func TestUpgradeV1(t *testing.T) {
	s := readOne(t, "mbs/tests/staged_data/formatted_testmodule.yaml").Stream
	if s == nil || s.MdVersion != 1 {
		t.Fatalf("want a v1 stream, got %+v", s)
	}
	v1deps := s.Dependencies[0].BuildRequires["platform"]
	u := s.UpgradeV2()
	if u.MdVersion != 2 || s.MdVersion != 1 {
		t.Fatalf("mdversions: upgraded %d, original %d", u.MdVersion, s.MdVersion)
	}
	if len(u.Dependencies) != 1 || !cmp.Equal(u.Dependencies[0].BuildRequires["platform"], v1deps) {
		t.Fatalf("dependencies: %+v", u.Dependencies)
	}
	u.Dependencies[0].BuildRequires["platform"] = []string{"changed"}
	if s.Dependencies[0].BuildRequires["platform"][0] == "changed" {
		t.Fatal("upgrade shares dependency maps with the original")
	}
	if err := u.Validate(); err != nil {
		t.Fatal(err)
	}
	out, err := u.Emit(EmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	back, err := ReadStream(out, "upgraded.yaml", Options{Strict: true})
	if err != nil {
		t.Fatalf("re-read: %v\n%s", err, out)
	}
	if back.MdVersion != 2 || back.Summary != s.Summary || len(back.RPMComponents) != len(s.RPMComponents) {
		t.Fatalf("round trip lost data: %+v", back)
	}
}
