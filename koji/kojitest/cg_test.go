package kojitest_test

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"hash/adler32"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rida-build/rida/internal/xmlrpc"
	"github.com/rida-build/rida/koji/kojitest"
)

var tokenRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// metadata is CG metadata as MBS writes it for a module build, with one
// modulemd.txt output.
func metadata(name string, buildID int64, data []byte) xmlrpc.Struct {
	build := st("name", name, "version", "master", "release", "1.c0ffee42", "source", "https://src/modules/"+name,
		"start_time", int64(1735689600), "end_time", int64(1735693200), "owner", "kojiadmin",
		"extra", st("typeinfo", st("module", st("name", name, "stream", "master"))))
	if buildID != 0 {
		build = append(build, xmlrpc.Member{Name: "build_id", Value: buildID})
	}
	return st("metadata_version", int64(0), "build", build,
		"buildroots", []any{st("id", int64(1), "host", st("os", "Fedora 40", "arch", "x86_64"),
			"content_generator", st("name", "module-build-service", "version", "4.0.0"),
			"container", st("type", "none", "arch", "x86_64"), "tools", []any{}, "components", []any{})},
		"output", []any{st("buildroot_id", int64(1), "filename", "modulemd.txt", "filesize", int64(len(data)),
			"checksum", md5hex(data), "checksum_type", "md5", "type", "file", "arch", "noarch",
			"extra", st("typeinfo", st("module", st())))})
}

func TestHub_CGReservation(t *testing.T) {
	hub, r := admin(t, kojitest.Options{})
	nvr := st("name", "mod", "version", "master", "release", "1.c0ffee42")
	v := r.must("CGInitBuild", "module-build-service", nvr)
	id, token := get(v, "build_id").(int64), get(v, "token").(string)
	if !tokenRE.MatchString(token) {
		t.Errorf("token %q", token)
	}
	b := r.must("getBuild", id)
	if get(b, "state") != int64(kojitest.BuildBuilding) || get(b, "cg_name") != "module-build-service" || get(b, "completion_time") != nil {
		t.Errorf("reserved build = %v", b)
	}
	_, err := r.call("CGInitBuild", "module-build-service", nvr)
	wantFault(t, "again", err, 1000, "Build is already reserved")
	_, err = r.call("CGRefundBuild", "module-build-service", id, token, 1)
	wantFault(t, "refund state", err, 1000, "Only FAILED/CANCELED build states are allowed")
	_, err = r.call("CGRefundBuild", "module-build-service", id, strings.Repeat("0", 64))
	wantFault(t, "refund token", err, 1000, fmt.Sprintf("Token doesn't match build ID %d", id))
	r.must("CGRefundBuild", "module-build-service", id, token)
	if get(r.must("getBuild", id), "state") != int64(kojitest.BuildFailed) {
		t.Error("refund did not fail the build")
	}
	_, err = r.call("CGRefundBuild", "module-build-service", id, token)
	wantFault(t, "refund twice", err, 1000, fmt.Sprintf("Build ID %d is not in BUILDING state", id))
	v = r.must("CGInitBuild", "module-build-service", nvr)
	if get(v, "build_id") != id || get(v, "token") == token {
		t.Errorf("recycled reservation = %v (build %d, old token)", v, id)
	}
	token = get(v, "token").(string)

	// upload and import
	data := []byte("---\ndocument: modulemd\nversion: 2\n")
	dir := "mbs/1.42"
	up, err := r.upload(dir, "modulemd.txt", 0, true, "adler32", data)
	if err != nil {
		t.Fatal(err)
	}
	if get(up, "hexdigest") != fmt.Sprintf("%08x", adler32.Checksum(data)) || get(up, "size") != int64(len(data)) {
		t.Errorf("upload = %v", up)
	}
	md := metadata("mod", id, data)
	// A token that differs from the real one in its first character (a
	// fixed "f" would be the real token one time in 16).
	wrong := "0" + token[1:]
	if token[0] == '0' {
		wrong = "1" + token[1:]
	}
	_, err = r.call("CGImport", md, dir, kw("token", wrong))
	wantFault(t, "wrong token", err, 1000, fmt.Sprintf("Token doesn't match build ID %d", id))
	_, err = r.call("CGImport", md, dir)
	wantFault(t, "no token", err, 1000, fmt.Sprintf("Token doesn't match build ID %d", id))
	b = r.must("CGImport", md, dir, kw("token", token))
	if get(b, "state") != int64(kojitest.BuildComplete) || get(b, "id") != id ||
		get(get(get(b, "extra"), "typeinfo"), "module") == nil || get(b, "owner_name") != "kojiadmin" {
		t.Errorf("CGImport = %v", b)
	}
	imports := hub.Imports()
	if len(imports) != 1 || imports[0].BuildID != id || string(imports[0].Files["modulemd.txt"]) != string(data) || imports[0].Token != token {
		t.Errorf("Imports = %+v", imports)
	}
	if bt := r.must("getBuildType", id); get(bt, "module") == nil {
		t.Errorf("getBuildType = %v", bt)
	}
	if a := r.must("listArchives", kw("buildID", id, "type", "module")).([]any); len(a) != 1 || get(a[0], "type_name") != "txt" || get(a[0], "checksum_type") != int64(0) {
		t.Errorf("listArchives = %v", a)
	}
	_, err = r.call("CGImport", md, dir, kw("token", token))
	wantFault(t, "import twice", err, 1000, fmt.Sprintf("Token doesn't match build ID %d", id))
	_, err = r.call("CGImport", metadata("mod", 0, data), dir)
	wantFault(t, "unreserved twice", err, 1000, fmt.Sprintf("Build already exists: mod-master-1.c0ffee42 (id=%d)", id))
	_, err = r.call("CGImport", metadata("mod", 0, data), dir, kw("token", token))
	wantFault(t, "token without build_id", err, 1000, "Reservation token given, but no build_id in metadata")
	_, err = r.call("CGInitBuild", "module-build-service", nvr)
	wantFault(t, "complete", err, 1000, fmt.Sprintf("Build already exists (id=%d, state=COMPLETE): {'name': 'mod', 'version': 'master', "+
		"'release': '1.c0ffee42', 'owner': 1, 'state': 0, 'completion_time': None, 'cg_id': 1, 'epoch': None, 'pkg_id': 1, "+
		"'extra': None, 'start_time': 'NOW', 'source': None, 'task_id': None, 'volume_id': 0}", id))

	// an unreserved import (what MBS does) recycles a refunded build
	dv := r.must("CGInitBuild", "module-build-service", st("name", "mod-devel", "version", "master", "release", "1.c0ffee42"))
	r.must("CGRefundBuild", "module-build-service", get(dv, "build_id"), get(dv, "token"), 4)
	devel := r.must("CGImport", metadata("mod-devel", 0, data), dir)
	if get(devel, "id") != get(dv, "build_id") || get(devel, "completion_time") != "2025-01-01 01:00:00+00:00" ||
		get(devel, "start_time") != "2025-01-01 00:00:00+00:00" {
		t.Errorf("unreserved import = %v", devel)
	}
}

func TestHub_CGAccess(t *testing.T) {
	hub, r := admin(t, kojitest.Options{})
	nvr := st("name", "m", "version", "1", "release", "1")
	_, err := r.call("CGInitBuild", "nope", nvr)
	wantFault(t, "unknown CG", err, 1000, "No such entry in table content_generator: nope")
	_, err = newRPC(t, hub).call("CGInitBuild", "module-build-service", nvr)
	wantFault(t, "anonymous", err, 1002, "Not logged-in")
	u := newRPC(t, hub)
	u.login("testuser", "testuser")
	_, err = u.call("CGInitBuild", "module-build-service", nvr)
	wantFault(t, "no grant", err, 1002, "Content generator access required (module-build-service)")
	r.must("grantCGAccess", "testuser", "module-build-service")
	u.must("CGInitBuild", "module-build-service", nvr)
	_, err = r.call("grantCGAccess", "testuser", "module-build-service")
	wantFault(t, "grant twice", err, 1000, "User already has access to content generator module-build-service")
	_, err = r.call("CGInitBuild", "module-build-service", st("name", "m", "release", "1"))
	wantFault(t, "no version", err, 1, "<class 'KeyError'>: 'version'")
	_, err = r.call("CGInitBuild", "module-build-service", st("name", "m", "version", "1", "release", "1-2"))
	wantFault(t, "dash", err, 1000, `The "-" character not allowed in release field`)
}

func TestHub_CGSweep(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	hub, r := admin(t, kojitest.Options{Now: func() time.Time { return now }})
	nvr := st("name", "m", "version", "1", "release", "1")
	v := r.must("CGInitBuild", "module-build-service", nvr)
	if n := hub.SweepReservations(24 * time.Hour); n != 0 {
		t.Errorf("swept %d young reservations", n)
	}
	now = now.Add(25 * time.Hour)
	if n := hub.SweepReservations(24 * time.Hour); n != 1 {
		t.Errorf("swept %d", n)
	}
	if b, _ := hub.Build(get(v, "build_id")); b.Token != "" || b.State != kojitest.BuildBuilding {
		t.Errorf("after sweep: %+v", b)
	}
	data := []byte("x")
	r.upload("d", "modulemd.txt", 0, true, "adler32", data)
	_, err := r.call("CGImport", metadata("m", get(v, "build_id").(int64), data), "d", kw("token", get(v, "token")))
	wantFault(t, "swept token", err, 1000, fmt.Sprintf("Token doesn't match build ID %d", get(v, "build_id")))
	again := r.must("CGInitBuild", "module-build-service", nvr)
	if get(again, "build_id") != get(v, "build_id") || get(again, "token") == get(v, "token") {
		t.Errorf("re-reservation after sweep = %v", again)
	}
}

// TestHub_CGImportErrors: Koji's texts for the metadata checks, in its
// order.
func TestHub_CGImportErrors(t *testing.T) {
	_, r := admin(t, kojitest.Options{})
	data := []byte("content\n")
	r.upload("d", "modulemd.txt", 0, true, "adler32", data)
	r.upload("d", "other.bin", 0, true, "adler32", data)
	edit := func(f func(md xmlrpc.Struct) xmlrpc.Struct) xmlrpc.Struct { return f(metadata("e", 0, data)) }
	output := func(md xmlrpc.Struct, k string, v any) xmlrpc.Struct {
		o, _ := md.Get("output")
		list := o.([]any)
		list[0] = setS(list[0].(xmlrpc.Struct), k, v)
		return md
	}
	build := func(md xmlrpc.Struct, k string, v any) xmlrpc.Struct {
		b, _ := md.Get("build")
		bs := b.(xmlrpc.Struct)
		if v == nil {
			bs = del(bs, k)
		} else {
			bs = setS(bs, k, v)
		}
		return setS(md, "build", bs)
	}
	for _, tc := range []struct {
		what string
		md   any
		code int
		msg  string
	}{
		{"version", edit(func(md xmlrpc.Struct) xmlrpc.Struct { return setS(md, "metadata_version", int64(1)) }), 1000, "No such metadata version: 1"},
		{"int", int64(42), 1019, "Invalid type for value '42': <class 'int'>, expected type <class 'str'>"},
		{"bad json", "{nope", 1000, "Invalid json data: '{nope'"},
		{"no file", nil, 1000, "No such file: metadata.json"},
		{"start_time", edit(func(md xmlrpc.Struct) xmlrpc.Struct { return build(md, "start_time", nil) }), 1, "<class 'KeyError'>: 'start_time'"},
		{"owner", edit(func(md xmlrpc.Struct) xmlrpc.Struct { return build(md, "owner", "nobody") }), 1000, "No such user: 'nobody'"},
		{"btype", edit(func(md xmlrpc.Struct) xmlrpc.Struct {
			return build(md, "extra", st("typeinfo", st("flatpak", st())))
		}), 1000, "No such entry in table btype: flatpak"},
		{"size", edit(func(md xmlrpc.Struct) xmlrpc.Struct { return output(md, "filesize", int64(1)) }), 1000,
			"File size 8 for modulemd.txt (expected 1) doesn't match. Corrupted upload?"},
		{"sha1", edit(func(md xmlrpc.Struct) xmlrpc.Struct { return output(md, "checksum_type", "sha1") }), 1000, "Unsupported verify type: sha1"},
		{"checksum", edit(func(md xmlrpc.Struct) xmlrpc.Struct { return output(md, "checksum", "0") }), 1000,
			"File checksum mismatch for modulemd.txt: 0 != " + md5hex(data)},
		{"missing file", edit(func(md xmlrpc.Struct) xmlrpc.Struct { return output(md, "filename", "gone.txt") }), 1,
			"<class 'FileNotFoundError'>: [Errno 2] No such file or directory: '/mnt/koji/work/d/./gone.txt'"},
		{"buildroot", edit(func(md xmlrpc.Struct) xmlrpc.Struct { return output(md, "buildroot_id", int64(2)) }), 1000,
			"Buildroot id not used in output: 1"},
		{"no typeinfo", edit(func(md xmlrpc.Struct) xmlrpc.Struct { return output(md, "extra", st()) }), 1000, "No typeinfo for: modulemd.txt"},
		{"type not listed", edit(func(md xmlrpc.Struct) xmlrpc.Struct { return output(md, "extra", st("typeinfo", st("rpm", st()))) }), 1000,
			"Output type rpm not listed in build types"},
		{"extension", edit(func(md xmlrpc.Struct) xmlrpc.Struct {
			md = output(md, "filename", "other.bin")
			return md
		}), 1000, "unsupported file extension: other.bin"},
		{"component", edit(func(md xmlrpc.Struct) xmlrpc.Struct { return output(md, "components", []any{st("type", "odd")}) }), 1000,
			"No such component type: odd"},
		{"rpm id", edit(func(md xmlrpc.Struct) xmlrpc.Struct {
			return output(md, "components", []any{st("type", "rpm", "id", int64(1))})
		}), 1000, "Unexpected 'id' field in component"},
	} {
		_, err := r.call("CGImport", tc.md, "d")
		wantFault(t, tc.what, err, tc.code, tc.msg)
	}
	if len(r.hub.Builds()) != 0 {
		t.Errorf("failed imports made builds: %+v", r.hub.Builds())
	}
	// metadata.json uploaded next to the outputs, as koji import-cg does
	js := `{"metadata_version": 0, "build": {"name": "j", "version": "1", "release": "1", "start_time": 1, "end_time": 2,
		"extra": {"typeinfo": {"module": {}}}}, "buildroots": [{"id": 1, "host": {"os": "x", "arch": "x86_64"},
		"content_generator": {"name": "module-build-service", "version": "1"}, "container": {"type": "none", "arch": "x86_64"},
		"tools": [], "components": []}], "output": [{"buildroot_id": 1, "filename": "modulemd.txt", "filesize": 8,
		"checksum": "` + md5hex(data) + `", "checksum_type": "md5", "type": "file", "extra": {"typeinfo": {"module": {}}}}]}`
	r.upload("d", "metadata.json", 0, true, "adler32", []byte(js))
	if b := r.must("CGImport", nil, "d"); get(b, "nvr") != "j-1-1" {
		t.Errorf("import from metadata.json = %v", b)
	}
}

func setS(s xmlrpc.Struct, k string, v any) xmlrpc.Struct {
	out := append(xmlrpc.Struct(nil), s...)
	for i := range out {
		if out[i].Name == k {
			out[i].Value = v
			return out
		}
	}
	return append(out, xmlrpc.Member{Name: k, Value: v})
}

func del(s xmlrpc.Struct, k string) xmlrpc.Struct {
	var out xmlrpc.Struct
	for _, m := range s {
		if m.Name != k {
			out = append(out, m)
		}
	}
	return out
}

func TestHub_Uploads(t *testing.T) {
	hub, r := admin(t, kojitest.Options{})
	chunk1, chunk2 := []byte("hello "), []byte("world")
	if _, err := r.upload("up", "f.txt", 0, true, "adler32", chunk1); err != nil {
		t.Fatal(err)
	}
	v, err := r.upload("up", "f.txt", int64(len(chunk1)), true, "md5", chunk2)
	if err != nil || get(v, "offset") != int64(6) || get(v, "hexdigest") != md5hex(chunk2) {
		t.Fatalf("second chunk = %v, %v", v, err)
	}
	all := []byte("hello world")
	c := r.must("checkUpload", "up", "f.txt", kw("verify", "md5"))
	if get(c, "size") != int64(len(all)) || get(c, "hexdigest") != md5hex(all) {
		t.Errorf("checkUpload = %v", c)
	}
	if got, _ := hub.Upload("up/f.txt"); string(got) != string(all) {
		t.Errorf("Upload = %q", got)
	}
	v, _ = r.upload("up", "f.txt", -1, false, "adler32", []byte("!"))
	if get(v, "offset") != int64(len(all)) {
		t.Errorf("append = %v", v)
	}
	_, err = r.upload("up", "f.txt", 0, false, "adler32", chunk1)
	wantFault(t, "exists", err, 1000, "upload path exists: /mnt/koji/work/up/f.txt")
	r.upload("up", "g.txt", 0, false, "adler32", []byte("0123456789"))
	_, err = r.upload("up", "g.txt", 2, false, "adler32", []byte("ab"))
	wantFault(t, "length", err, 1000, "Incorrect upload length for /mnt/koji/work/up/g.txt - Expected 4, actual 10")
	v, _ = r.upload("up", "g.txt", 2, true, "adler32", []byte("ab"))
	if got, _ := hub.Upload("up/g.txt"); string(got) != "01ab" {
		t.Errorf("overwrite at offset 2: %q (%v)", got, v)
	}
	_, err = r.upload("up", "h.txt", 0, true, "", chunk1)
	wantFault(t, "no fileverify", err, 1, "<class 'TypeError'>: 'NoneType' object is not callable")
	_, err = r.upload("up", "h.txt", 0, true, "sha1", chunk1)
	wantFault(t, "sha1", err, 1000, "Unsupported verify type: sha1")
	_, err = r.upload("up", ".hidden", 0, true, "adler32", chunk1)
	wantFault(t, "dot file", err, 1000, "Invalid upload filename: .hidden")
	_, err = r.upload("../x", "a", 0, true, "adler32", chunk1)
	wantFault(t, "dot dot", err, 1000, "Invalid upload directory: ../x")
	u := newRPC(t, hub)
	u.login("testuser", "testuser")
	_, err = u.upload("up", "mine.txt", 0, true, "adler32", chunk1)
	wantFault(t, "not owner", err, 1000, "Invalid upload directory, not owner: up")
	if v := r.must("checkUpload", "up", "nope.txt"); v != nil {
		t.Errorf("checkUpload of a missing file = %v", v)
	}

	// the legacy uploadFile
	data := []byte("legacy data")
	b64 := "bGVnYWN5IGRhdGE="
	sum := []any{"md5", md5hex(data)}
	if v := r.must("uploadFile", "leg", "l.txt", int64(len(data)), sum, 0, b64); v != true {
		t.Errorf("uploadFile = %v", v)
	}
	if v := r.must("uploadFile", "leg", "l.txt", int64(len(data)), sum, -1, ""); v != true {
		t.Errorf("final uploadFile = %v", v)
	}
	if v := r.must("uploadFile", "leg", "m.txt", int64(3), sum, 0, b64); v != false {
		t.Errorf("uploadFile with a wrong size = %v", v)
	}
	_, err = r.call("uploadFile", "leg", "l.txt", int64(len(data)), sum, 0, b64)
	wantFault(t, "legacy exists", err, 1000, "file already exists: /mnt/koji/work/leg/l.txt")
}
