package koji

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/internal/xmlrpc"
)

// nginx is mbs.md §6.5's module: MBS's reference metadata
// (test_get_generator_json_expected_output.json) was made for it.
func nginxImport() ModuleImport {
	end := time.Unix(1472901932, 0)
	one := int64(1)
	b := &rida.ModuleBuild{
		ID: 2, Name: "nginx", Stream: "0", Version: 2, Context: "10e50d06", Owner: "Moe Szyslak",
		SCMURL:        "git://pkgs.domain.local/modules/nginx?#ba95886c7a443b36a9ce31abda1f9bef22f2f8c9",
		KojiTag:       "module-nginx-1.2",
		TimeSubmitted: time.Unix(1472901800, 0), TimeCompleted: &end,
	}
	empty := SumBytes(nil)
	return ModuleImport{
		Build: b, Owner: "Moe Szyslak",
		Host: CGHostInfo{
			ContentGenerator: CGContentGenerator{Name: DefaultCGName, Version: "current-tested-version"},
			Arch:             "i686", OS: "Fedora 25",
			Tools: []CGTool{{Name: "libmodulemd", Version: "2.3.1"}},
			RPMs: []CGComponent{
				{Name: "rpm-name", Version: "1.0", Release: "r1", Arch: "x86_64", SigMD5: "sigmd5:1", Signature: "sigpgp:p"},
				{Name: "rpm-name-2", Version: "2.0", Release: "r2", Arch: "i686", Epoch: &one, SigMD5: "sigmd5:2", Signature: "sigpgp:p2"},
			},
		},
		Modulemd: "document: modulemd\nversion: 1\ndata:\n  name: nginx\n  stream: 0\n  version: 2\n  summary: nginx module\n",
		RPMs: []CGComponent{
			{Name: "dhcp-libs", Version: "4.3.5", Release: "5.module_2118aef6", Arch: "x86_64", Epoch: ptr(int64(12)), SigMD5: "0f5dd8a6b3ee8cb17bea5dbde1cbb5ee"},
			{Name: "dhcp", Version: "4.3.5", Release: "5.module_2118aef6", Arch: "src", Epoch: ptr(int64(12)), SigMD5: "4c7a1e9c7d3e4e35e5b7d3c5e0a7f2c1"},
		},
		BuildLog: &empty,
	}
}

func ptr[T any](v T) *T { return &v }

// TestModuleCGMetadata_Golden: the metadata of §6.5's module, as JSON,
// against testdata/cg-metadata-nginx.json (RIDA_UPDATE_GOLDEN=1 rewrites
// it), and the values §6.5 describes.
func TestModuleCGMetadata_Golden(t *testing.T) {
	md := mustMetadata(t, nginxImport())
	got, err := json.MarshalIndent(md, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	golden := filepath.Join("testdata", "cg-metadata-nginx.json")
	if os.Getenv("RIDA_UPDATE_GOLDEN") != "" {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("metadata (-want +got):\n%s", diff)
	}

	// What mbs.md §6.5 says of MBS's reference output.
	var doc map[string]any
	if err := json.Unmarshal(got, &doc); err != nil {
		t.Fatal(err)
	}
	at := func(path string) any {
		var v any = doc
		for _, k := range strings.Split(path, ".") {
			switch x := v.(type) {
			case map[string]any:
				v = x[k]
			case []any:
				v = x[int(k[0]-'0')]
			}
		}
		return v
	}
	for path, want := range map[string]any{
		"metadata_version":                    0.0,
		"build.name":                          "nginx",
		"build.version":                       "0",
		"build.release":                       "2.10e50d06",
		"build.source":                        "git://pkgs.domain.local/modules/nginx?#ba95886c7a443b36a9ce31abda1f9bef22f2f8c9",
		"build.start_time":                    1472901800.0,
		"build.end_time":                      1472901932.0,
		"build.owner":                         "Moe Szyslak",
		"build.extra.typeinfo.module.name":    "nginx",
		"build.extra.typeinfo.module.stream":  "0",
		"build.extra.typeinfo.module.version": "2",
		"build.extra.typeinfo.module.context": "10e50d06",
		"build.extra.typeinfo.module.module_build_service_id": 2.0,
		"build.extra.typeinfo.module.content_koji_tag":        "module-nginx-1.2",
		"buildroots.0.id":                        1.0,
		"buildroots.0.host.arch":                 "i686",
		"buildroots.0.host.os":                   "Fedora 25",
		"buildroots.0.container.arch":            "i686",
		"buildroots.0.container.type":            "none",
		"buildroots.0.content_generator.name":    "module-build-service",
		"buildroots.0.content_generator.version": "current-tested-version",
		"buildroots.0.tools.0.name":              "libmodulemd",
		"buildroots.0.components.0.epoch":        nil,
		"buildroots.0.components.0.signature":    "sigpgp:p",
		"buildroots.0.components.1.epoch":        1.0,
		"output.0.filename":                      "modulemd.txt",
		"output.0.arch":                          "noarch",
		"output.0.type":                          "file",
		"output.0.checksum_type":                 "md5",
		"output.0.components.1.sigmd5":           "4c7a1e9c7d3e4e35e5b7d3c5e0a7f2c1",
		"output.0.components.1.type":             "rpm",
		"output.1.filename":                      "build.log",
		"output.1.type":                          "log",
		"output.1.arch":                          "noarch",
		"output.1.filesize":                      0.0,
		"output.1.checksum":                      "d41d8cd98f00b204e9800998ecf8427e",
		"output.1.extra":                         nil,
		"output.1.components":                    nil,
	} {
		if got := at(path); !cmp.Equal(got, want) {
			t.Errorf("%s = %#v, want %#v", path, got, want)
		}
	}
	if m := at("output.0.extra.typeinfo.module"); !cmp.Equal(m, map[string]any{}) {
		t.Errorf("output.0.extra.typeinfo.module = %#v, want {}", m)
	}
	if got := at("build.extra.typeinfo.module.modulemd_str"); got != nginxImport().Modulemd {
		t.Errorf("modulemd_str = %q", got)
	}
	if sum := SumBytes([]byte(nginxImport().Modulemd)); at("output.0.filesize") != float64(sum.Size) || at("output.0.checksum") != sum.Checksum {
		t.Errorf("modulemd.txt is not the modulemd: %v %v", at("output.0.filesize"), at("output.0.checksum"))
	}
	if _, ok := at("build").(map[string]any)["build_id"]; ok {
		t.Error("build_id without a reservation")
	}
}

// TestModuleCGMetadata_WireForms: the XML-RPC struct CGImport sends and
// the JSON document are the same metadata, key for key.
func TestModuleCGMetadata_WireForms(t *testing.T) {
	in := nginxImport()
	in.Arches = []ArchModulemd{{Arch: "x86_64", File: SumBytes([]byte("x")), Components: in.RPMs[:1]}}
	in.SourceModulemd = ptr(SumBytes([]byte("src")))
	in.Build.KojiBuildID = 42
	md := mustMetadata(t, in)
	body, err := xmlrpc.EncodeCall("CGImport", md.wire())
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := xmlrpc.DecodeCall(body)
	if err != nil {
		t.Fatal(err)
	}
	fromXML, err := json.Marshal(jsonish(params[0]))
	if err != nil {
		t.Fatal(err)
	}
	fromJSON, err := json.Marshal(md)
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	json.Unmarshal(fromXML, &a)
	json.Unmarshal(fromJSON, &b)
	if diff := cmp.Diff(b, a); diff != "" {
		t.Errorf("XML-RPC vs JSON (-json +xmlrpc):\n%s", diff)
	}
	var names []string
	for _, o := range md.Output {
		names = append(names, o.Filename+"/"+o.Arch)
	}
	if got := strings.Join(names, " "); got != "modulemd.x86_64.txt/x86_64 modulemd.txt/noarch modulemd.src.txt/src build.log/noarch" {
		t.Errorf("outputs %s, want MBS's order", got)
	}
	if md.Build.BuildID != 42 {
		t.Errorf("build_id %d, want the reservation's", md.Build.BuildID)
	}
}

// jsonish turns a decoded XML-RPC value into what encoding/json writes as
// the same document.
func jsonish(v any) any {
	switch v := v.(type) {
	case xmlrpc.Struct:
		m := map[string]any{}
		for _, mb := range v {
			m[mb.Name] = jsonish(mb.Value)
		}
		return m
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = jsonish(x)
		}
		return out
	}
	return v
}

func TestModuleCGMetadata_Devel(t *testing.T) {
	in := nginxImport()
	in.Build.KojiBuildID = 41
	in.Devel, in.DevelBuildID = true, 42
	md := mustMetadata(t, in)
	if md.Build.Name != "nginx-devel" || md.Build.Extra.TypeInfo.Module.Name != "nginx-devel" || md.Build.NVR().String() != "nginx-devel-0-2.10e50d06" {
		t.Errorf("devel build %s, typeinfo name %s", md.Build.NVR(), md.Build.Extra.TypeInfo.Module.Name)
	}
	if md.Build.BuildID != 42 {
		t.Errorf("devel build_id %d, want the -devel reservation", md.Build.BuildID)
	}
}

func TestModuleCGMetadata_Refuses(t *testing.T) {
	for name, edit := range map[string]func(in *ModuleImport){
		"no build":           func(in *ModuleImport) { in.Build = nil },
		"dash in context":    func(in *ModuleImport) { in.Build.Context = "a-b" },
		"no stream":          func(in *ModuleImport) { in.Build.Stream = "" },
		"no modulemd":        func(in *ModuleImport) { in.Modulemd = "" },
		"no CG":              func(in *ModuleImport) { in.Host.ContentGenerator.Name = "" },
		"no host arch":       func(in *ModuleImport) { in.Host.Arch = "" },
		"no submission time": func(in *ModuleImport) { in.Build.TimeSubmitted = time.Time{} },
		"no end":             func(in *ModuleImport) { in.Build.TimeCompleted = nil },
		"noarch as an arch":  func(in *ModuleImport) { in.Arches = []ArchModulemd{{Arch: "noarch", File: SumBytes(nil)}} },
		"arch twice": func(in *ModuleImport) {
			in.Arches = []ArchModulemd{{Arch: "x", File: SumBytes(nil)}, {Arch: "x", File: SumBytes(nil)}}
		},
		"arch with a slash":    func(in *ModuleImport) { in.Arches = []ArchModulemd{{Arch: "a/b", File: SumBytes(nil)}} },
		"no checksum":          func(in *ModuleImport) { in.BuildLog = &FileSum{Size: 1} },
		"sha1":                 func(in *ModuleImport) { in.BuildLog = &FileSum{Size: 1, ChecksumType: "sha1", Checksum: "ab"} },
		"negative size":        func(in *ModuleImport) { in.SourceModulemd = &FileSum{Size: -1, ChecksumType: "md5", Checksum: "ab"} },
		"no completion or now": func(in *ModuleImport) { in.Build.TimeCompleted = &time.Time{} },
	} {
		in := nginxImport()
		edit(&in)
		if _, err := ModuleCGMetadata(in); rida.ErrorCodeOf(err) != rida.CodeInvalid {
			t.Errorf("%s: %v", name, err)
		}
	}
	in := nginxImport()
	in.Build.TimeCompleted = nil
	in.Now = time.Unix(1472902000, 0)
	if md, err := ModuleCGMetadata(in); err != nil || md.Build.EndTime != 1472902000 {
		t.Errorf("end time from Now: %v", err)
	}
}

func TestComponentsForArtifacts(t *testing.T) {
	rpms := nginxImport().RPMs
	got, err := ComponentsForArtifacts(rpms, []string{"dhcp-12:4.3.5-5.module_2118aef6.src", "dhcp-libs-12:4.3.5-5.module_2118aef6.x86_64"})
	if err != nil || len(got) != 2 || got[0].Name != "dhcp" || got[1].Name != "dhcp-libs" {
		t.Errorf("ComponentsForArtifacts = %v, %v", got, err)
	}
	if _, err := ComponentsForArtifacts(rpms, []string{"dhcp-0:4.3.5-5.module_2118aef6.src"}); rida.ErrorCodeOf(err) != rida.CodeUnprocessable {
		t.Errorf("an artifact not in the tag: %v", err)
	}
	if n := (CGComponent{Name: "a", Version: "1", Release: "2", Arch: "noarch"}).NEVRA(); n != "a-0:1-2.noarch" {
		t.Errorf("NEVRA without epoch = %s", n)
	}
}

func TestSumReader(t *testing.T) {
	for typ, want := range map[string]string{
		"md5":    "d41d8cd98f00b204e9800998ecf8427e",
		"sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	} {
		s, err := SumReader(bytes.NewReader(nil), typ)
		if err != nil || s.Checksum != want || s.Size != 0 || s.ChecksumType != typ {
			t.Errorf("%s: %+v, %v", typ, s, err)
		}
	}
	if _, err := SumReader(bytes.NewReader(nil), "adler32"); rida.ErrorCodeOf(err) != rida.CodeInvalid {
		t.Errorf("adler32: %v", err)
	}
	if SumBytes([]byte("x")) != (FileSum{Size: 1, ChecksumType: "md5", Checksum: "9dd4e461268c8034f5c8564e155c67a6"}) {
		t.Errorf("SumBytes = %+v", SumBytes([]byte("x")))
	}
}
