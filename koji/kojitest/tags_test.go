package kojitest_test

import (
	"strconv"
	"testing"

	"github.com/rida-build/rida/internal/xmlrpc"
	"github.com/rida-build/rida/koji/kojitest"
)

func TestHub_Tags(t *testing.T) {
	_, r := admin(t, kojitest.Options{})
	base := r.must("createTag", "base", kw("arches", "x86_64, aarch64"))
	build := r.must("createTag", "mod-build", kw("parent", "base", "perm", "admin", "locked", false, "extra", st("mock.new_chroot", int64(0))))
	for _, tc := range []struct {
		what   string
		params []any
		msg    string
	}{
		{"duplicate", []any{"base"}, "A tag with the name 'base' already exists"},
		{"missing parent", []any{"x", kw("parent", "nope")}, "Parent tag 'nope' could not be found"},
		{"bad name", []any{"a b"}, "Name a b does not match RegexNameInternal value"},
		{"maven", []any{"m", kw("maven_support", true)}, "Maven support not enabled"},
	} {
		_, err := r.call("createTag", tc.params...)
		wantFault(t, tc.what, err, 1000, tc.msg)
	}
	_, err := r.call("createTag", "y", kw("arches", "x86_64 b@d"))
	wantFault(t, "bad arch", err, 1019, "Architecture can be only [a-zA-Z0-9_-]")
	tag := r.must("getTag", "mod-build")
	if get(tag, "id") != build || get(tag, "perm") != "admin" || get(tag, "perm_id") != int64(1) || get(tag, "arches") != "" {
		t.Errorf("getTag = %v", tag)
	}
	if v := get(get(tag, "extra"), "mock.new_chroot"); v != int64(0) {
		t.Errorf("extra = %v", get(tag, "extra"))
	}
	if v := get(r.must("getTag", "base"), "arches"); v != "x86_64 aarch64" {
		t.Errorf("arches = %v", v)
	}
	_, err = r.call("getTag", "nope", kw("strict", true))
	wantFault(t, "strict", err, 1000, "No such tagInfo: 'nope'")

	// editTag2
	r.must("editTag2", "mod-build", kw("arches", "x86_64", "extra", st("repo_include_all", true), "remove_extra", []any{"mock.new_chroot"}))
	tag = r.must("getTag", build)
	if get(tag, "arches") != "x86_64" || get(get(tag, "extra"), "repo_include_all") != true || len(get(tag, "extra").(xmlrpc.Struct)) != 1 {
		t.Errorf("after editTag2: %v", tag)
	}
	_, err = r.call("editTag2", "mod-build", kw("remove_extra", []any{"nope"}))
	wantFault(t, "remove_extra", err, 1000, "Tag: mod-build doesn't have extra: nope")
	_, err = r.call("editTag2", "mod-build", kw("extra", st("k", 1), "remove_extra", []any{"k"}))
	wantFault(t, "both", err, 1000, "Can not both add/update and remove tag-extra: 'k'")
	_, err = r.call("editTag2", "mod-build", kw("name", "base"))
	wantFault(t, "rename", err, 1000, "Name base already taken by tag "+pyInt(base))

	// inheritance
	inh := r.must("getInheritanceData", "mod-build").([]any)
	if len(inh) != 1 || get(inh[0], "parent_id") != base || get(inh[0], "priority") != int64(0) || get(inh[0], "child_id") != build {
		t.Errorf("getInheritanceData = %v", inh)
	}
	other := r.must("createTag", "other")
	_, err = r.call("setInheritanceData", "mod-build", []any{st("parent_id", other)})
	wantFault(t, "missing field", err, 1000, "No value for priority")
	link := st("parent_id", other, "priority", int64(0), "maxdepth", nil, "intransitive", false, "noconfig", false, "pkg_filter", "")
	_, err = r.call("setInheritanceData", "mod-build", []any{link})
	wantFault(t, "same priority", err, 1000, "Multiple parent tags (["+pyInt(base)+", "+pyInt(other)+"]) cannot have the same priority value (0) on child tag "+pyInt(build))
	link[1].Value = int64(10)
	r.must("setInheritanceData", "mod-build", []any{link})
	full := r.must("getFullInheritance", "mod-build").([]any)
	if len(full) != 2 || get(full[1], "parent_id") != other || get(full[1], "currdepth") != int64(1) {
		t.Errorf("getFullInheritance = %v", full)
	}
	r.must("setInheritanceData", "mod-build", []any{st("parent_id", other, "delete link", true)})
	if n := len(r.must("getInheritanceData", "mod-build").([]any)); n != 1 {
		t.Errorf("%d links after delete", n)
	}

	// targets
	r.must("createBuildTarget", "mod", "mod-build", "base")
	_, err = r.call("createBuildTarget", "mod", "mod-build", "base")
	wantFault(t, "duplicate target", err, 1000, "A build target with the name 'mod' already exists")
	_, err = r.call("createBuildTarget", "t2", "nope", "base")
	wantFault(t, "build tag", err, 1000, "build tag 'nope' does not exist")
	_, err = r.call("createBuildTarget", "t2", "base", "nope")
	wantFault(t, "dest tag", err, 1000, "destination tag 'nope' does not exist")
	tg := r.must("getBuildTarget", "mod")
	if get(tg, "build_tag_name") != "mod-build" || get(tg, "dest_tag") != base {
		t.Errorf("getBuildTarget = %v", tg)
	}
	r.must("deleteBuildTarget", get(tg, "id"))
	if v := r.must("getBuildTarget", "mod"); v != nil {
		t.Errorf("deleted target = %v", v)
	}
	_, err = r.call("getBuildTarget", "mod", kw("strict", true))
	wantFault(t, "strict target", err, 1000, "No such build target: mod")

	// permissions
	u := newRPC(t, r.hub)
	u.login("testuser", "testuser")
	_, err = u.call("createBuildTarget", "t3", "base", "base")
	wantFault(t, "target perm", err, 1004, "target permission required (logged in as testuser)")
	_, err = newRPC(t, r.hub).call("editTag2", "base", kw("locked", true))
	wantFault(t, "anonymous", err, 1004, "tag permission required (user not logged in)")
}

func pyInt(v any) string { return strconv.FormatInt(v.(int64), 10) }

func TestHub_PackagesGroups(t *testing.T) {
	_, r := admin(t, kojitest.Options{})
	parent := r.must("createTag", "parent")
	r.must("createTag", "child", kw("parent", "parent"))
	r.must("createTag", "solo")
	_, err := r.call("packageListAdd", "parent", "foo")
	wantFault(t, "owner", err, 1000, "owner not specified")
	if v := r.must("getPackageID", "foo"); v != nil {
		t.Errorf("a failed packageListAdd made package %v", v)
	}
	r.must("packageListAdd", "parent", "foo", "kojiadmin")
	r.must("packageListAdd", "parent", "foo", "kojiadmin") // no change: a no-op
	r.must("packageListAdd", "parent", "bar", "kojiadmin")
	inherited := r.must("listPackages", kw("tagID", "child", "inherited", true)).([]any)
	if len(inherited) != 2 || get(inherited[0], "tag_id") != parent || get(inherited[0], "owner_name") != "kojiadmin" {
		t.Errorf("inherited listPackages = %v", inherited)
	}
	if v := r.must("listPackages", kw("tagID", "child")).([]any); len(v) != 0 {
		t.Errorf("own listPackages = %v", v)
	}
	_, err = r.call("packageListBlock", "child", "nope")
	wantFault(t, "unknown package", err, 1000, "No such entry in table package: nope")
	r.must("packageListAdd", "solo", "baz", "kojiadmin")
	_, err = r.call("packageListBlock", "child", "baz")
	wantFault(t, "not listed", err, 1000, "Package baz is not in tag listing for child")

	r.must("packageListBlock", "child", "bar")
	if r.must("checkTagPackage", "child", "bar") != false || r.must("checkTagPackage", "parent", "bar") != true {
		t.Error("bar should be blocked in child only")
	}
	_, err = r.call("packageListAdd", "child", "bar", kw("block", false))
	wantFault(t, "blocked", err, 1000, "package bar is blocked in tag child")
	r.must("packageListUnblock", "child", "bar")
	if r.must("checkTagPackage", "child", "bar") != true {
		t.Error("bar still blocked in child")
	}
	_, err = r.call("packageListUnblock", "child", "bar")
	wantFault(t, "not blocked", err, 1000, "package bar NOT blocked in tag child")

	u := newRPC(t, r.hub)
	u.login("testuser", "testuser")
	_, err = u.call("packageListAdd", "solo", "qux", "testuser")
	wantFault(t, "policy", err, 1004, "policy violation (package_list): Only admin/tag can do this via default policy")

	// groups
	_, err = r.call("groupPackageListAdd", "child", "build", "bash")
	wantFault(t, "no group", err, 1000, "No such entry in table groups: build")
	r.must("groupListAdd", "parent", "build")
	r.must("groupListAdd", "solo", "srpm-build")
	_, err = r.call("groupPackageListAdd", "child", "srpm-build", "bash")
	wantFault(t, "group not in tag", err, 1000, "group srpm-build not present in tag child")
	r.must("groupPackageListAdd", "child", "build", "bash") // the group comes from the parent
	groups := r.must("getTagGroups", "child").([]any)
	if len(groups) != 1 || get(groups[0], "name") != "build" || get(groups[0], "tag_id") != parent {
		t.Fatalf("getTagGroups = %v", groups)
	}
	pkgs := get(groups[0], "packagelist").([]any)
	if len(pkgs) != 1 || get(pkgs[0], "package") != "bash" || get(pkgs[0], "type") != "mandatory" || get(pkgs[0], "tag_id") == parent {
		t.Errorf("packagelist = %v", pkgs)
	}
	if v := r.must("getTagGroups", "child", kw("inherit", false)).([]any); len(v) != 0 {
		t.Errorf("own groups = %v", v)
	}
	r.must("groupListBlock", "parent", "build")
	if v := r.must("getTagGroups", "child").([]any); len(v) != 0 {
		t.Errorf("blocked group listed: %v", v)
	}
	if v := r.must("getTagGroups", "child", kw("incl_blocked", true)).([]any); len(v) != 1 || get(v[0], "blocked") != true {
		t.Errorf("incl_blocked = %v", v)
	}
	_, err = r.call("groupPackageListAdd", "child", "build", "rpm-build")
	wantFault(t, "blocked group", err, 1000, "group build is blocked in tag child")
}

func TestHub_ExternalRepos(t *testing.T) {
	_, r := admin(t, kojitest.Options{})
	r.must("createTag", "parent")
	r.must("createTag", "child", kw("parent", "parent"))
	repo := r.must("createExternalRepo", "base", "https://repo.example/$arch")
	if get(repo, "url") != "https://repo.example/$arch/" {
		t.Errorf("createExternalRepo = %v", repo)
	}
	_, err := r.call("createExternalRepo", "base", "https://x")
	wantFault(t, "duplicate", err, 1000, `An external repo named "base" already exists`)
	r.must("createExternalRepo", "updates", "https://updates.example/")
	r.must("addExternalRepoToTag", "parent", "base", 10)
	r.must("addExternalRepoToTag", "child", "updates", 5, kw("merge_mode", "simple"))
	_, err = r.call("addExternalRepoToTag", "parent", "base", 20)
	wantFault(t, "again", err, 1000, "tag parent already associated with external repo base")
	_, err = r.call("addExternalRepoToTag", "parent", "updates", 10)
	wantFault(t, "priority", err, 1000, "tag parent already associated with an external repo at priority 10")
	_, err = r.call("addExternalRepoToTag", "parent", "updates", 1, kw("merge_mode", "odd"))
	wantFault(t, "merge mode", err, 1000, "No such merge mode: odd")
	list := r.must("getExternalRepoList", "child").([]any)
	if len(list) != 2 || get(list[0], "external_repo_name") != "updates" || get(list[0], "merge_mode") != "simple" ||
		get(list[1], "tag_name") != "parent" {
		t.Errorf("getExternalRepoList = %v", list)
	}
	if own := r.must("getTagExternalRepos", "child").([]any); len(own) != 1 {
		t.Errorf("getTagExternalRepos = %v", own)
	}
	r.must("removeExternalRepoFromTag", "child", "updates")
	_, err = r.call("removeExternalRepoFromTag", "child", "updates")
	wantFault(t, "remove twice", err, 1000, "external repo updates not associated with tag child")
	_, err = r.call("getExternalRepo", "nope", kw("strict", true))
	wantFault(t, "strict", err, 1000, "No such repo: nope")
}
