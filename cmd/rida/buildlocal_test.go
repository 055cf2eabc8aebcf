package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/engine"
	"github.com/rida-build/rida/sqlstore"
)

func TestOSReleasePlatform(t *testing.T) {
	dir := t.TempDir()
	fedora := filepath.Join(dir, "fedora")
	os.WriteFile(fedora, []byte("NAME=\"Fedora Linux\"\nPLATFORM_ID=\"platform:f40\"\nVERSION_ID=40\n"), 0o644)
	debian := filepath.Join(dir, "debian")
	os.WriteFile(debian, []byte("PRETTY_NAME=\"Debian GNU/Linux 12\"\nID=debian\n"), 0o644)
	if got, err := osReleasePlatform(fedora); err != nil || got != "platform:f40" {
		t.Errorf("fedora: %q, %v", got, err)
	}
	for _, path := range []string{debian, filepath.Join(dir, "missing")} {
		if _, err := osReleasePlatform(path); rida.ErrorCodeOf(err) != rida.CodeInvalid || !strings.Contains(err.Error(), "--platform") {
			t.Errorf("%s: %v, want an invalid-input error pointing at --platform", path, err)
		}
	}
}

// The offline platform is a valid base module the importer accepts.
func TestOfflinePlatformImports(t *testing.T) {
	db, err := sqlstore.Open(t.Context(), "sqlite::memory:", sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	im := engine.NewImporter(db, nil, engine.ImportConfig{Enabled: true, BaseModuleNames: []string{"platform"}})
	m, _, err := im.ImportModule(t.Context(), rida.ImportRequest{Modulemd: offlinePlatform("platform", "f40")})
	if err != nil {
		t.Fatal(err)
	}
	if m.NSVC() != "platform:f40:1:000000" || m.State != rida.ModuleReady {
		t.Errorf("imported %s in %s", m.NSVC(), m.State)
	}
}

func TestProgress(t *testing.T) {
	m := &rida.ModuleBuild{ID: 2, Name: "hello", Stream: "main", Version: 1, Context: "c0ffee00", State: rida.ModuleBuilding, Batch: 2,
		Components: []*rida.ComponentBuild{
			{ID: 1, Package: engine.MacrosPackage, Batch: 1, State: rida.ComponentComplete, NVR: "module-build-macros-0.1-1.module+1+abc"},
			{ID: 2, Package: "hello-data", Batch: 2, State: rida.ComponentBuilding},
			{ID: 3, Package: "hello", Batch: 3, State: rida.ComponentWaiting},
		}}
	want := "hello:main:1:c0ffee00  build   batch 2/3  [######--------------] 1/3\n" +
		"  batch 1  module-build-macros      COMPLETE  module-build-macros-0.1-1.module+1+abc\n" +
		"  batch 2  hello-data               BUILDING\n" +
		"  batch 3  hello                    waiting\n"
	if got := progressBlock([]*rida.ModuleBuild{m}); got != want {
		t.Errorf("block:\n%s\nwant:\n%s", got, want)
	}

	// Plain output: a line per change only.
	var out bytes.Buffer
	p := newProgress(&out, false)
	p.show([]*rida.ModuleBuild{m})
	first := out.Len()
	p.show([]*rida.ModuleBuild{m})
	if out.Len() != first {
		t.Errorf("unchanged state printed again:\n%s", out.String())
	}
	m.Components[1].State, m.Components[1].NVR = rida.ComponentComplete, "hello-data-1-1"
	p.show([]*rida.ModuleBuild{m})
	if got := out.String()[first:]; got != "hello:main:1:c0ffee00  build   batch 2/3  [#############-------] 2/3\n"+
		"hello:main:1:c0ffee00: batch 2  hello-data               COMPLETE  hello-data-1-1\n" {
		t.Errorf("after a change:\n%s", got)
	}

	// Terminal output redraws the block in place.
	out.Reset()
	p = newProgress(&out, true)
	p.show([]*rida.ModuleBuild{m})
	p.show([]*rida.ModuleBuild{m})
	if !strings.Contains(out.String(), "\x1b[4A\x1b[J") {
		t.Errorf("no redraw: %q", out.String())
	}
}
