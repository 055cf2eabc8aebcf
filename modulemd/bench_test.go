package modulemd

import (
	"os"
	"path/filepath"
	"testing"
)

func benchFile(b *testing.B, rel string) []byte {
	b.Helper()
	data, err := os.ReadFile(filepath.Join(corpusDir, rel))
	if err != nil {
		b.Skipf("shared modulemd corpus not available: %v", err)
	}
	return data
}

const (
	benchF29Updates  = "libmodulemd/modulemd/tests/test_data/f29-updates.yaml"
	benchBaseRuntime = "mbs/tests/test_common/test_models/data/base-runtime.yaml"
)

func benchmarkLoad(b *testing.B, rel string) {
	data := benchFile(b, rel)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Read(data, rel, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

func benchmarkEmit(b *testing.B, rel string) {
	data := benchFile(b, rel)
	idx, err := Read(data, rel, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := idx.Emit(EmitOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadF29Updates loads the 65-document Fedora 29 updates index
// (libmodulemd 2.15.3: 75 ms best on the reference machine).
func BenchmarkLoadF29Updates(b *testing.B) { benchmarkLoad(b, benchF29Updates) }

// BenchmarkEmitF29Updates writes it back (libmodulemd: ~31 ms best).
func BenchmarkEmitF29Updates(b *testing.B) { benchmarkEmit(b, benchF29Updates) }

// BenchmarkLoadBaseRuntime loads one v1 stream with 2,905 components
// (libmodulemd 2.15.3: 50 ms best).
func BenchmarkLoadBaseRuntime(b *testing.B) { benchmarkLoad(b, benchBaseRuntime) }

// BenchmarkEmitBaseRuntime writes it back.
func BenchmarkEmitBaseRuntime(b *testing.B) { benchmarkEmit(b, benchBaseRuntime) }
