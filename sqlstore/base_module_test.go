package sqlstore

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rida-build/rida"
)

func TestImportModuleBuild(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *testDB) {
		ctx := t.Context()
		platform := newModuleBuild("platform", "f28", 3, "00000000")
		platform.State = rida.ModuleReady
		platform.KojiTag = "module-f28-build"
		platform.StreamVersion = ptr(280000.0)
		platform.VirtualStreams = []string{"fedora", "f28-virtual", "fedora"}
		got, created, err := db.ImportModuleBuild(ctx, platform)
		if err != nil || !created {
			t.Fatalf("first import: created %v, %v", created, err)
		}
		if diff := cmp.Diff([]string{"f28-virtual", "fedora"}, got.VirtualStreams); diff != "" {
			t.Errorf("virtual streams (-want +got):\n%s", diff)
		}
		if got.State != rida.ModuleReady || got.KojiTag != "module-f28-build" || got.StreamVersion == nil || *got.StreamVersion != 280000 {
			t.Errorf("imported build = %+v", got)
		}

		// A second import of the same NSVC updates the metadata in place.
		again := newModuleBuild("platform", "f28", 3, "00000000")
		again.State = rida.ModuleReady
		again.KojiTag = "module-f28-build-v2"
		again.Modulemd = "document: modulemd\nversion: 2\n# updated\n"
		again.VirtualStreams = []string{"fedora"}
		again.StreamVersion = ptr(280000.0)
		again.Requires = []map[string][]string{{"platform": {"f28"}}}
		again.Commit = "virtual"
		again.MSE = true
		got2, created, err := db.ImportModuleBuild(ctx, again)
		if err != nil || created {
			t.Fatalf("second import: created %v, %v", created, err)
		}
		if got2.ID != got.ID || got2.KojiTag != "module-f28-build-v2" || got2.Modulemd != again.Modulemd || got2.Rev != got.Rev+1 {
			t.Errorf("updated build = %+v (was id %d rev %d)", got2, got.ID, got.Rev)
		}
		if diff := cmp.Diff(again.Requires, got2.Requires); diff != "" || got2.Commit != "virtual" || !got2.MSE {
			t.Errorf("import update: requires (-want +got):\n%s; commit %q, mse %v", diff, got2.Commit, got2.MSE)
		}
		if diff := cmp.Diff([]string{"fedora"}, got2.VirtualStreams); diff != "" {
			t.Errorf("virtual streams after update (-want +got):\n%s", diff)
		}

		// A build buildrequiring it links to it, and the link reads back.
		m := newModuleBuild("nodejs", "10", 1, "aaaaaaaa")
		m.BaseModules = []*rida.ModuleBuild{{ID: got.ID}}
		mustCreate(t, db, m)
		read, err := db.FindModuleBuildByID(ctx, m.ID, rida.ModuleBuildInclude{BaseModules: true, VirtualStreams: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(read.BaseModules) != 1 || read.BaseModules[0].NSVC() != "platform:f28:3:00000000" ||
			read.BaseModules[0].StreamVersion == nil || *read.BaseModules[0].StreamVersion != 280000 {
			t.Errorf("base modules = %+v", read.BaseModules)
		}
		list, _, err := db.FindModuleBuilds(ctx, rida.ModuleBuildFilter{Include: rida.ModuleBuildInclude{BaseModules: true, VirtualStreams: true}, Order: []rida.Order{{Field: "id"}}})
		if err != nil || len(list) != 2 || len(list[0].VirtualStreams) != 1 || len(list[1].BaseModules) != 1 {
			t.Errorf("list with associations: %+v, %v", list, err)
		}

		// A link to a build that does not exist is refused.
		bad := newModuleBuild("nodejs", "12", 1, "bbbbbbbb")
		bad.BaseModules = []*rida.ModuleBuild{{ID: 999999}}
		if err := db.CreateModuleBuild(ctx, bad); rida.ErrorCodeOf(err) != rida.CodeUnprocessable {
			t.Errorf("link to a missing base module: %v, want unprocessable", err)
		}

		// Importing over a real build that is not ready is a conflict.
		building := newModuleBuild("perl", "5.30", 1, "cccccccc")
		mustCreate(t, db, building)
		over := newModuleBuild("perl", "5.30", 1, "cccccccc")
		over.State = rida.ModuleReady
		if _, _, err := db.ImportModuleBuild(ctx, over); rida.ErrorCodeOf(err) != rida.CodeConflict {
			t.Errorf("import over a non-ready build: %v, want conflict", err)
		}
	})
}
