package modulemd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestQuickEmit(t *testing.T) {
	root := "../../shared/testdata/modulemd/golden/libmodulemd-2.15.3"
	n, ok := 0, 0
	filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if !strings.HasSuffix(p, ".emitted.yaml") {
			return nil
		}
		rel := strings.TrimSuffix(strings.TrimPrefix(p, root+"/"), ".emitted.yaml")
		n++
		idx, err := ReadFile("../../shared/testdata/modulemd/"+rel, Options{})
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		got, err := idx.Emit(EmitOptions{})
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		want, _ := os.ReadFile(p)
		if string(got) != string(want) {
			os.MkdirAll("/tmp/emitdiff/"+filepath.Dir(rel), 0o755)
			os.WriteFile("/tmp/emitdiff/"+rel+".got", got, 0o644)
			os.WriteFile("/tmp/emitdiff/"+rel+".want", want, 0o644)
			t.Errorf("%s: differs", rel)
			return nil
		}
		ok++
		return nil
	})
	t.Logf("%d/%d", ok, n)
}
