package koji

import (
	"crypto/md5" //nolint:gosec // Koji's and MBS's checksum of CG outputs, not a security measure
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/rida-build/rida"
)

// CGMetadata is content generator metadata, version 0 (koji.md §1.5): the
// first argument of CGImport. [ModuleCGMetadata] makes it for a module
// build the way MBS does (mbs.md §6.2).
//
// It travels as an XML-RPC struct, as MBS sends it (the hub also accepts
// a JSON string); [CGMetadata.MarshalJSON] gives the same document as
// JSON, with the same keys in the same order, which is what the hub
// stores as the build's metadata.json.
type CGMetadata struct {
	MetadataVersion int
	Build           CGBuild
	Buildroots      []CGBuildroot
	Output          []CGOutput
}

// CGBuild is the metadata's build: its NVR, source, times, owner, the
// reservation it completes and the module's typeinfo.
type CGBuild struct {
	Name    string `json:"name" xmlrpc:"name"`
	Version string `json:"version" xmlrpc:"version"`
	Release string `json:"release" xmlrpc:"release"`
	// Source is the module's SCM URL; empty (YAML submissions) leaves it
	// out.
	Source string `json:"source,omitempty" xmlrpc:"source,omitempty"`
	// StartTime and EndTime are in seconds since the epoch. Koji ignores
	// them for a reserved build (it keeps the reservation and import
	// times) but requires them.
	StartTime int64 `json:"start_time" xmlrpc:"start_time"`
	EndTime   int64 `json:"end_time" xmlrpc:"end_time"`
	// Owner is a Koji user name; empty leaves it out (the importing user
	// becomes the owner).
	Owner string       `json:"owner,omitempty" xmlrpc:"owner,omitempty"`
	Extra CGBuildExtra `json:"extra" xmlrpc:"extra"`
	// BuildID is the build CGInitBuild reserved; 0 (no reservation)
	// leaves it out. The reservation's token goes to CGImport separately.
	BuildID int64 `json:"build_id,omitempty" xmlrpc:"build_id,omitempty"`
}

// NVR is the build's name-version-release.
func (b CGBuild) NVR() rida.NVR {
	return rida.NVR{Name: b.Name, Version: b.Version, Release: b.Release}
}

// CGBuildExtra is build.extra: {"typeinfo": {"module": {…}}}.
type CGBuildExtra struct {
	TypeInfo CGTypeInfo `json:"typeinfo" xmlrpc:"typeinfo"`
}

// CGTypeInfo is build.extra.typeinfo; a module build has one btype,
// "module" (which a Koji admin registers with addBType).
type CGTypeInfo struct {
	Module CGModuleInfo `json:"module" xmlrpc:"module"`
}

// CGModuleInfo is build.extra.typeinfo.module, what Koji's getBuildType
// answers for the build and what Koji's users of modules (ODCS, pungi)
// read: the module's build id in rida, its content tag, its modulemd and
// NSVC. Version is a string, as MBS stores it.
type CGModuleInfo struct {
	ModuleBuildServiceID int64  `json:"module_build_service_id" xmlrpc:"module_build_service_id"`
	ContentKojiTag       string `json:"content_koji_tag" xmlrpc:"content_koji_tag"`
	ModulemdStr          string `json:"modulemd_str" xmlrpc:"modulemd_str"`
	Name                 string `json:"name" xmlrpc:"name"`
	Stream               string `json:"stream" xmlrpc:"stream"`
	Version              string `json:"version" xmlrpc:"version"`
	Context              string `json:"context" xmlrpc:"context"`
}

// CGBuildroot is a metadata buildroot: for a module, the one host the
// orchestrator runs on (MBS: id 1, container type "none").
type CGBuildroot struct {
	ID               int                `json:"id" xmlrpc:"id"`
	Host             CGHost             `json:"host" xmlrpc:"host"`
	ContentGenerator CGContentGenerator `json:"content_generator" xmlrpc:"content_generator"`
	Container        CGContainer        `json:"container" xmlrpc:"container"`
	// Components are the host's installed rpms (MBS: rpm -qa); Koji only
	// warns about ones it does not know.
	Components []CGComponent `json:"components" xmlrpc:"components"`
	Tools      []CGTool      `json:"tools" xmlrpc:"tools"`
}

// CGHost is a buildroot's host: e.g. {"x86_64", "Fedora 40"}.
type CGHost struct {
	Arch string `json:"arch" xmlrpc:"arch"`
	OS   string `json:"os" xmlrpc:"os"`
}

// CGContentGenerator names the content generator and its version. Name
// must be the CG the build was reserved with.
type CGContentGenerator struct {
	Name    string `json:"name" xmlrpc:"name"`
	Version string `json:"version" xmlrpc:"version"`
}

// CGContainer is a buildroot's container; MBS's is {host arch, "none"}.
type CGContainer struct {
	Arch string `json:"arch" xmlrpc:"arch"`
	Type string `json:"type" xmlrpc:"type"`
}

// CGTool is a tool that matters for reproducing the outputs (MBS lists
// libmodulemd).
type CGTool struct {
	Name    string `json:"name" xmlrpc:"name"`
	Version string `json:"version" xmlrpc:"version"`
}

// CGComponent is an rpm component (type "rpm"): of a buildroot (an
// installed rpm) or of an output (an rpm of the module, as Koji's
// listTaggedRPMS gives it: SigMD5 is its payloadhash). Koji matches them
// by name, version, release and arch.
type CGComponent struct {
	Name    string `json:"name" xmlrpc:"name"`
	Version string `json:"version" xmlrpc:"version"`
	Release string `json:"release" xmlrpc:"release"`
	Arch    string `json:"arch" xmlrpc:"arch"`
	// Epoch is nil for none.
	Epoch  *int64 `json:"epoch" xmlrpc:"epoch"`
	SigMD5 string `json:"sigmd5" xmlrpc:"sigmd5"`
	// Signature is the signing key id of an installed rpm; empty leaves
	// it out.
	Signature string `json:"signature,omitempty" xmlrpc:"signature,omitempty"`
	// Type is "rpm"; ModuleCGMetadata fills it in.
	Type string `json:"type" xmlrpc:"type"`
}

// NEVRA is the component's name-epoch:version-release.arch with the epoch
// always written (0 for none), as MBS keys rpms (kobo's make_nvra with
// force_epoch) and as modulemd's rpm artifacts name them.
func (c CGComponent) NEVRA() string {
	var epoch int64
	if c.Epoch != nil {
		epoch = *c.Epoch
	}
	return c.Name + "-" + strconv.FormatInt(epoch, 10) + ":" + c.Version + "-" + c.Release + "." + c.Arch
}

// Output types of a module import.
const (
	// CGOutputFile is a module archive (modulemd.txt and its variants):
	// btype "module", Koji archive type "txt".
	CGOutputFile = "file"
	// CGOutputLog is a build log.
	CGOutputLog = "log"
)

// CGOutput is one output file, uploaded into the import's directory
// before CGImport. A file output (Type CGOutputFile) travels with
// extra.typeinfo.module = {} and its rpm components, as MBS sends it; a
// log output (CGOutputLog) with neither.
type CGOutput struct {
	BuildrootID int
	Filename    string
	Filesize    int64
	Arch        string
	Type        string
	// ChecksumType is "md5" (what MBS uses) or "sha256".
	ChecksumType string
	Checksum     string
	// Components are the module's rpms the file lists (file outputs
	// only).
	Components []CGComponent
}

// The wire forms: member names and order as MBS's dicts (and the captured
// koji client traffic) have them.
type (
	cgMetadataWire struct {
		MetadataVersion int           `json:"metadata_version" xmlrpc:"metadata_version"`
		Build           CGBuild       `json:"build" xmlrpc:"build"`
		Buildroots      []CGBuildroot `json:"buildroots" xmlrpc:"buildroots"`
		Output          []any         `json:"output" xmlrpc:"output"`
	}
	cgFileWire struct {
		BuildrootID  int           `json:"buildroot_id" xmlrpc:"buildroot_id"`
		Arch         string        `json:"arch" xmlrpc:"arch"`
		Type         string        `json:"type" xmlrpc:"type"`
		Extra        cgModuleExtra `json:"extra" xmlrpc:"extra"`
		ChecksumType string        `json:"checksum_type" xmlrpc:"checksum_type"`
		Filename     string        `json:"filename" xmlrpc:"filename"`
		Filesize     int64         `json:"filesize" xmlrpc:"filesize"`
		Checksum     string        `json:"checksum" xmlrpc:"checksum"`
		Components   []CGComponent `json:"components" xmlrpc:"components"`
	}
	cgLogWire struct {
		BuildrootID  int    `json:"buildroot_id" xmlrpc:"buildroot_id"`
		Arch         string `json:"arch" xmlrpc:"arch"`
		Type         string `json:"type" xmlrpc:"type"`
		Filename     string `json:"filename" xmlrpc:"filename"`
		Filesize     int64  `json:"filesize" xmlrpc:"filesize"`
		ChecksumType string `json:"checksum_type" xmlrpc:"checksum_type"`
		Checksum     string `json:"checksum" xmlrpc:"checksum"`
	}
	// cgModuleExtra is an archive's extra: {"typeinfo": {"module": {}}}.
	cgModuleExtra struct {
		TypeInfo struct {
			Module struct{} `json:"module" xmlrpc:"module"`
		} `json:"typeinfo" xmlrpc:"typeinfo"`
	}
)

// wire is the metadata as it is sent: a value the XML-RPC and JSON
// encoders write in MBS's shape. Nil lists become empty ones.
func (m CGMetadata) wire() cgMetadataWire {
	w := cgMetadataWire{MetadataVersion: m.MetadataVersion, Build: m.Build, Buildroots: make([]CGBuildroot, len(m.Buildroots)), Output: make([]any, len(m.Output))}
	for i, br := range m.Buildroots {
		br.Components = nonNil(br.Components)
		br.Tools = nonNil(br.Tools)
		w.Buildroots[i] = br
	}
	for i, o := range m.Output {
		if o.Type == CGOutputLog {
			w.Output[i] = cgLogWire{BuildrootID: o.BuildrootID, Arch: o.Arch, Type: o.Type, Filename: o.Filename,
				Filesize: o.Filesize, ChecksumType: o.ChecksumType, Checksum: o.Checksum}
			continue
		}
		w.Output[i] = cgFileWire{BuildrootID: o.BuildrootID, Arch: o.Arch, Type: o.Type, ChecksumType: o.ChecksumType,
			Filename: o.Filename, Filesize: o.Filesize, Checksum: o.Checksum, Components: nonNil(o.Components)}
	}
	return w
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// MarshalJSON writes the metadata as the JSON document Koji reads (koji
// import-cg's metadata.json, or CGImport's JSON-string form).
func (m CGMetadata) MarshalJSON() ([]byte, error) { return json.Marshal(m.wire()) }

// FileSum is an output file's size and checksum.
type FileSum struct {
	Size int64
	// ChecksumType is "md5" or "sha256" (Koji's archive checksums; adler32
	// is accepted by CGImport's check but breaks its archive import).
	ChecksumType string
	Checksum     string // lowercase hex
}

// SumBytes is data's size and md5, the checksum MBS gives its outputs.
func SumBytes(data []byte) FileSum {
	s := md5.Sum(data) //nolint:gosec // see the import
	return FileSum{Size: int64(len(data)), ChecksumType: "md5", Checksum: hex.EncodeToString(s[:])}
}

// SumReader reads r to its end and returns its size and checksum
// (checksumType "md5" or "sha256").
func SumReader(r io.Reader, checksumType string) (FileSum, error) {
	var h hash.Hash
	switch checksumType {
	case "md5":
		h = md5.New() //nolint:gosec // see the import
	case "sha256":
		h = sha256.New()
	default:
		return FileSum{}, rida.Errorf(rida.CodeInvalid, "unsupported checksum type %q: want md5 or sha256", checksumType)
	}
	n, err := io.Copy(h, r)
	if err != nil {
		return FileSum{}, err
	}
	return FileSum{Size: n, ChecksumType: checksumType, Checksum: hex.EncodeToString(h.Sum(nil))}, nil
}

// ArchModulemd is a modulemd.<arch>.txt output: the module's final
// modulemd for one of its Koji tag's arches, and the rpms it lists (with
// their payload hashes from Koji; see [ComponentsForArtifacts]).
type ArchModulemd struct {
	Arch       string
	File       FileSum
	Components []CGComponent
}

// CGHostInfo is where the import is made: the metadata's one buildroot.
type CGHostInfo struct {
	// ContentGenerator is the CG (the one the NVR was reserved with) and
	// rida's version.
	ContentGenerator CGContentGenerator
	// Arch is the host's machine (uname -m, e.g. "x86_64") and OS its
	// distribution ("Fedora 40").
	Arch, OS string
	// Tools and RPMs are the buildroot's tools and installed rpms; both
	// may be empty.
	Tools []CGTool
	RPMs  []CGComponent
}

// ModuleImport is what ModuleCGMetadata needs to describe one module
// build (or its -devel variant) to Koji.
type ModuleImport struct {
	// Build is the module build: name, stream, version, context, owner,
	// SCM URL, Koji tag, id, submission and completion times and, for the
	// module itself, its reservation (KojiBuildID).
	Build *rida.ModuleBuild
	// Devel makes the metadata of the -devel module (name <name>-devel),
	// whose reservation is DevelBuildID.
	Devel        bool
	DevelBuildID int64
	// Owner is the Koji user recorded as the build's owner; empty leaves
	// it out (MBS sends the submitter only when Koji knows the user).
	Owner string
	// Now is the end time when the build has no completion time yet.
	Now time.Time
	// Host describes the buildroot.
	Host CGHostInfo
	// Modulemd is modulemd.txt, also sent as typeinfo's modulemd_str: the
	// module's modulemd as stored (for Devel, the -devel one).
	Modulemd string
	// RPMs are all the rpms of the module's Koji tag: the components of
	// modulemd.txt and modulemd.src.txt.
	RPMs []CGComponent
	// SourceModulemd is modulemd.src.txt, the modulemd as it is in the
	// module's repository; nil when there is none (YAML submissions).
	SourceModulemd *FileSum
	// Arches are the modulemd.<arch>.txt outputs, in the tag's arch order.
	Arches []ArchModulemd
	// BuildLog is build.log; nil when there is none.
	BuildLog *FileSum
}

// DevelName is the name of a module's -devel module: the rpms its filters
// leave out, imported as a build of its own.
func DevelName(name string) string { return name + "-devel" }

// ModuleNVR is the Koji NVR of a module build as MBS makes it: the
// module's name (its -devel name for devel), the stream with "-" turned
// into "_" and "<version>.<context>". Module NVRs are deterministic: a
// rebuild of the same version and context has the same NVR.
func ModuleNVR(b *rida.ModuleBuild, devel bool) rida.NVR {
	name := b.Name
	if devel {
		name = DevelName(name)
	}
	return rida.NVR{Name: name, Version: strings.ReplaceAll(b.Stream, "-", "_"), Release: strconv.FormatUint(b.Version, 10) + "." + b.Context}
}

// checkNVR is the hub's check_NVR and the keys CGInitBuild needs, done
// before asking: all three parts, no "-" in version or release.
func checkNVR(nvr rida.NVR) error {
	switch {
	case nvr.Name == "" || nvr.Version == "" || nvr.Release == "":
		return rida.Errorf(rida.CodeInvalid, "invalid Koji NVR %q: name, version and release must all be set", nvr.String())
	case strings.Contains(nvr.Version, "-"):
		return rida.Errorf(rida.CodeInvalid, "invalid Koji NVR %q: the \"-\" character is not allowed in the version", nvr.String())
	case strings.Contains(nvr.Release, "-"):
		return rida.Errorf(rida.CodeInvalid, "invalid Koji NVR %q: the \"-\" character is not allowed in the release", nvr.String())
	}
	return nil
}

// ModuleCGMetadata makes the content generator metadata of a module build
// in MBS's shape (mbs.md §6.2, KojiContentGenerator): the build (the
// module's NVR, SCM URL, times, owner, reserved build id and
// extra.typeinfo.module), one buildroot (id 1, the host, container
// "none"), and the outputs in MBS's order: modulemd.<arch>.txt per arch,
// modulemd.txt (noarch), modulemd.src.txt (src) — all type "file", md5
// checksums, btype module — then build.log (type "log", noarch). It reads
// nothing but its input.
func ModuleCGMetadata(in ModuleImport) (*CGMetadata, error) {
	b := in.Build
	if b == nil {
		return nil, rida.Errorf(rida.CodeInvalid, "CG metadata: no module build")
	}
	nvr := ModuleNVR(b, in.Devel)
	if err := checkNVR(nvr); err != nil {
		return nil, err
	}
	if b.Stream == "" || b.Context == "" {
		return nil, rida.Errorf(rida.CodeInvalid, "CG metadata of %s: the module build has no stream or context", nvr)
	}
	if in.Modulemd == "" {
		return nil, rida.Errorf(rida.CodeInvalid, "CG metadata of %s: no modulemd", nvr)
	}
	h := in.Host
	if h.ContentGenerator.Name == "" || h.ContentGenerator.Version == "" || h.Arch == "" || h.OS == "" {
		return nil, rida.Errorf(rida.CodeInvalid, "CG metadata of %s: the host needs a content generator name and version, an arch and an OS", nvr)
	}
	if b.TimeSubmitted.IsZero() {
		return nil, rida.Errorf(rida.CodeInvalid, "CG metadata of %s: the module build has no submission time", nvr)
	}
	end := in.Now
	if b.TimeCompleted != nil && !b.TimeCompleted.IsZero() {
		end = *b.TimeCompleted
	}
	if end.IsZero() {
		return nil, rida.Errorf(rida.CodeInvalid, "CG metadata of %s: no completion time", nvr)
	}
	buildID := b.KojiBuildID
	if in.Devel {
		buildID = in.DevelBuildID
	}
	md := &CGMetadata{
		MetadataVersion: 0,
		Build: CGBuild{
			Name: nvr.Name, Version: nvr.Version, Release: nvr.Release,
			Source:    b.SCMURL,
			StartTime: b.TimeSubmitted.Unix(), EndTime: end.Unix(),
			Owner: in.Owner,
			Extra: CGBuildExtra{TypeInfo: CGTypeInfo{Module: CGModuleInfo{
				ModuleBuildServiceID: b.ID, ContentKojiTag: b.KojiTag, ModulemdStr: in.Modulemd,
				Name: nvr.Name, Stream: b.Stream, Version: strconv.FormatUint(b.Version, 10), Context: b.Context,
			}}},
			BuildID: buildID,
		},
		Buildroots: []CGBuildroot{{
			ID:               1,
			Host:             CGHost{Arch: h.Arch, OS: h.OS},
			ContentGenerator: h.ContentGenerator,
			Container:        CGContainer{Arch: h.Arch, Type: "none"},
			Components:       rpmComponents(h.RPMs),
			Tools:            nonNil(h.Tools),
		}},
	}
	seen := map[string]bool{"noarch": true, "src": true}
	for _, a := range in.Arches {
		if a.Arch == "" || strings.ContainsAny(a.Arch, "/.") || seen[a.Arch] {
			return nil, rida.Errorf(rida.CodeInvalid, "CG metadata of %s: invalid or repeated arch %q", nvr, a.Arch)
		}
		seen[a.Arch] = true
		o, err := fileOutput("modulemd."+a.Arch+".txt", a.Arch, CGOutputFile, a.File, a.Components)
		if err != nil {
			return nil, fmt.Errorf("CG metadata of %s: %w", nvr, err)
		}
		md.Output = append(md.Output, o)
	}
	o, err := fileOutput("modulemd.txt", "noarch", CGOutputFile, SumBytes([]byte(in.Modulemd)), in.RPMs)
	if err != nil {
		return nil, fmt.Errorf("CG metadata of %s: %w", nvr, err)
	}
	md.Output = append(md.Output, o)
	if in.SourceModulemd != nil {
		o, err := fileOutput("modulemd.src.txt", "src", CGOutputFile, *in.SourceModulemd, in.RPMs)
		if err != nil {
			return nil, fmt.Errorf("CG metadata of %s: %w", nvr, err)
		}
		md.Output = append(md.Output, o)
	}
	if in.BuildLog != nil {
		o, err := fileOutput("build.log", "noarch", CGOutputLog, *in.BuildLog, nil)
		if err != nil {
			return nil, fmt.Errorf("CG metadata of %s: %w", nvr, err)
		}
		md.Output = append(md.Output, o)
	}
	return md, nil
}

func fileOutput(name, arch, typ string, sum FileSum, components []CGComponent) (CGOutput, error) {
	if sum.Size < 0 || sum.Checksum == "" || (sum.ChecksumType != "md5" && sum.ChecksumType != "sha256") {
		return CGOutput{}, rida.Errorf(rida.CodeInvalid, "%s: want a size and an md5 or sha256 checksum, got %+v", name, sum)
	}
	o := CGOutput{BuildrootID: 1, Filename: name, Filesize: sum.Size, Arch: arch, Type: typ,
		ChecksumType: sum.ChecksumType, Checksum: sum.Checksum}
	if typ == CGOutputFile {
		o.Components = rpmComponents(components)
	}
	return o, nil
}

// rpmComponents copies components with their type set to "rpm".
func rpmComponents(in []CGComponent) []CGComponent {
	out := make([]CGComponent, len(in))
	for i, c := range in {
		c.Type = "rpm"
		out[i] = c
	}
	return out
}

// ComponentsForArtifacts picks, for an arch's final modulemd, the rpms of
// the Koji tag its rpm artifacts name (NEVRAs with the epoch written), in
// the artifacts' order, as MBS does. An artifact that is not in the tag is
// an error: the modulemd and the tag disagree.
func ComponentsForArtifacts(rpms []CGComponent, artifacts []string) ([]CGComponent, error) {
	byNEVRA := make(map[string]CGComponent, len(rpms))
	for _, r := range rpms {
		byNEVRA[r.NEVRA()] = r
	}
	out := make([]CGComponent, 0, len(artifacts))
	for _, a := range artifacts {
		r, ok := byNEVRA[a]
		if !ok {
			return nil, rida.Errorf(rida.CodeUnprocessable, "RPM %s found in the final modulemd but not in the Koji tag", a)
		}
		out = append(out, r)
	}
	return out, nil
}
