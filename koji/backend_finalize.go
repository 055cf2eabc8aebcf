package koji

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/engine"
	"github.com/rida-build/rida/internal/xmlrpc"
	"github.com/rida-build/rida/modulemd"
)

// Finalize imports the finished module into Koji as MBS's content
// generator does (mbs.md §6), for the module and then its -devel twin,
// each with its reservation (build_id in the metadata, the token to
// CGImport). Scratch builds import nothing. Each import uploads, into a
// fresh rida-import/<time>.<random> directory:
//
//   - modulemd.<arch>.txt for each arch of the module tag: the final
//     modulemd of that arch (finalArchModulemd, mbs.md §6.3), whose rpm
//     artifacts are the output's components;
//   - modulemd.txt: the stored modulemd (for -devel: the same document
//     named <name>-devel), with every rpm of the module tag as components;
//   - modulemd.src.txt, the module's own YAML from its repository at the
//     built commit, when BackendConfig.SourceModulemd finds one (YAML
//     submissions have none, as in MBS);
//   - build.log, the build's history from BackendConfig.BuildLog (MBS
//     uploads its per-build log file; rida's history is in the database).
//
// What is simplified compared with MBS, on purpose and visibly:
//
//   - The buildroot lists no installed rpms (MBS: rpm -qa of its host) and
//     no tools (MBS: libmodulemd's version).
//   - The arch tables (multilib and exclusive arches, yum arch names) are
//     a subset of pungi's, for the arches Koji module tags use.
//
// Both imported builds are then tagged into the CG build tag (tagCGBuilds).
// A repeated Finalize (after a crash) skips an import Koji already has:
// the NVR exists COMPLETE with the reserved build id.
func (b *Backend) Finalize(ctx context.Context, mod *engine.Module, comps []*rida.ComponentBuild) error {
	if err := checkModule(mod); err != nil {
		return err
	}
	mb := mod.Build
	// The module tag receives the module's builds here, all batches at
	// once (TagComponents tags only the -build tag), scratch builds too.
	var final []string
	for _, c := range comps {
		if c.State == rida.ComponentComplete && c.NVR != "" && !c.BuildTimeOnly {
			final = append(final, c.NVR)
		}
	}
	if err := b.tagAndWait(ctx, moduleTag(mb), final); err != nil {
		return err
	}
	if mb.Scratch {
		return nil
	}
	if mod.Stream == nil {
		return rida.Errorf(rida.CodeInternal, "koji backend: finalize %s: no modulemd", mb.NSVC())
	}
	tag := moduleTag(mb)
	data, err := b.tagContent(ctx, tag, b.cgTagCandidates(mb))
	if err != nil {
		return err
	}
	owner, err := b.kojiOwner(ctx, mb.Owner)
	if err != nil {
		return err
	}
	for _, devel := range []bool{false, true} {
		if err := b.importModule(ctx, mod, data, owner, devel); err != nil {
			return err
		}
	}
	return b.tagCGBuilds(ctx, mb, data.cgTag)
}

// cgTagCandidates are the CG build tags to try, best first (mbs.md §3.7
// step 3): the template with the stream of the first base module the
// module buildrequires, then the default; none when tagging is off.
func (b *Backend) cgTagCandidates(mb *rida.ModuleBuild) []string {
	if b.cfg.NoCGTag {
		return nil
	}
	var out []string
	for _, name := range b.cfg.BaseModuleNames {
		if br, ok := mb.BuildRequires[name]; ok && br.Stream != "" {
			out = append(out, strings.ReplaceAll(b.cfg.CGBuildTagTemplate, "{}", br.Stream))
			break
		}
	}
	return append(out, b.cfg.CGDefaultBuildTag)
}

// tagCGBuilds tags the imported module and its -devel twin into the CG
// build tag (mbs.md §6.4), where release tooling picks modules up. As in
// MBS it does not wait for the tagBuild tasks: the import is done, and a
// hub policy refusing the tag must not fail the module. A repeat after a
// crash queues nothing twice (TagBuilds skips tagged builds and pending
// tasks).
func (b *Backend) tagCGBuilds(ctx context.Context, mb *rida.ModuleBuild, tag string) error {
	if tag == "" {
		if !b.cfg.NoCGTag {
			b.log.Info("no CG build tag exists; the module builds stay untagged", "module", mb.NSVC(), "candidates", b.cgTagCandidates(mb))
		}
		return nil
	}
	nvrs := []string{ModuleNVR(mb, false).String(), ModuleNVR(mb, true).String()}
	ids, err := b.c.TagBuilds(ctx, tag, nvrs)
	if rida.ErrorCodeOf(err) == rida.CodeUnavailable {
		return fmt.Errorf("tagging %s into %s: %w", strings.Join(nvrs, ", "), tag, err)
	}
	if err != nil {
		// The hub refused (a package list, a tag policy): the module is
		// imported, which is what the build promised; release engineers
		// tag by hand, as with MBS, which only logs this.
		b.log.Warn("the module builds could not be tagged into the CG build tag", "tag", tag, "nvrs", nvrs, "err", err)
		return nil
	}
	b.log.Info("module builds tagged into the CG build tag", "tag", tag, "nvrs", nvrs, "tasks", ids)
	return nil
}

// tagData is what the import reads of the module tag (mbs.md §6.1), and
// the CG build tag the imports go to ("" for none).
type tagData struct {
	arches []string
	rpms   []taggedRPM
	cgTag  string
}

// taggedRPM is one rpm of listTaggedRPMS with what MBS adds to it.
type taggedRPM struct {
	ID          int64  `xmlrpc:"id"`
	Name        string `xmlrpc:"name"`
	Version     string `xmlrpc:"version"`
	Release     string `xmlrpc:"release"`
	Arch        string `xmlrpc:"arch"`
	Epoch       *int64 `xmlrpc:"epoch"`
	PayloadHash string `xmlrpc:"payloadhash"`
	BuildID     int64  `xmlrpc:"build_id"`

	srpmName                  string
	license                   string
	exclusiveArch, excludeArc []string
}

func (r taggedRPM) component() CGComponent {
	return CGComponent{Name: r.Name, Version: r.Version, Release: r.Release, Arch: r.Arch, Epoch: r.Epoch, SigMD5: r.PayloadHash}
}

func (r taggedRPM) nevra() string { return r.component().NEVRA() }

// tagContent reads the tag's arches, its latest rpms and their headers.
func (b *Backend) tagContent(ctx context.Context, tag string, cgCandidates []string) (*tagData, error) {
	// One round trip: the tag, its RPMs, and which CG build tags exist.
	calls := []xmlrpc.Call{
		{Method: "getTag", Params: []any{tag, xmlrpc.KwArgs{{Name: "strict", Value: true}}}},
		{Method: "listTaggedRPMS", Params: []any{tag, xmlrpc.KwArgs{{Name: "latest", Value: true}}}},
	}
	for _, t := range cgCandidates {
		calls = append(calls, xmlrpc.Call{Method: "getTag", Params: []any{t}})
	}
	reads, err := b.c.Multicall(ctx, calls)
	if err != nil {
		return nil, err
	}
	var info struct {
		Arches *string `xmlrpc:"arches"`
	}
	if err := decodeResult(reads[0], "getTag", &info); err != nil {
		return nil, err
	}
	d := &tagData{}
	if info.Arches != nil {
		d.arches = strings.Fields(*info.Arches)
	}
	for i, t := range cgCandidates {
		var cg *struct {
			ID int64 `xmlrpc:"id"`
		}
		if err := decodeResult(reads[2+i], "getTag", &cg); err != nil {
			return nil, err
		}
		if cg != nil {
			d.cgTag = t
			break
		}
	}
	var reply []any
	if err := decodeResult(reads[1], "listTaggedRPMS", &reply); err != nil {
		return nil, err
	}
	if len(reply) != 2 {
		return nil, rida.Errorf(rida.CodeUnavailable, "koji listTaggedRPMS %s: unexpected reply", tag)
	}
	var builds []struct {
		ID   int64  `xmlrpc:"build_id"`
		Name string `xmlrpc:"package_name"`
	}
	if err := xmlrpc.Unmarshal(reply[0], &d.rpms); err != nil {
		return nil, rida.Errorf(rida.CodeUnavailable, "koji listTaggedRPMS %s: unexpected reply: %v", tag, err)
	}
	if err := xmlrpc.Unmarshal(reply[1], &builds); err != nil {
		return nil, rida.Errorf(rida.CodeUnavailable, "koji listTaggedRPMS %s: unexpected reply: %v", tag, err)
	}
	pkgOf := map[int64]string{}
	for _, bl := range builds {
		pkgOf[bl.ID] = bl.Name
	}
	if len(d.rpms) == 0 {
		return d, nil
	}
	calls = make([]xmlrpc.Call, len(d.rpms))
	for i, r := range d.rpms {
		headers := []any{"license"}
		if r.Arch == "src" {
			headers = []any{"exclusivearch", "excludearch", "license"}
		}
		calls[i] = xmlrpc.Call{Method: "getRPMHeaders", Params: []any{xmlrpc.KwArgs{{Name: "rpmID", Value: r.ID}, {Name: "headers", Value: headers}}}}
	}
	res, err := b.c.Multicall(ctx, calls)
	if err != nil {
		return nil, err
	}
	srcHeaders := map[int64]*taggedRPM{} // build id → its SRPM
	for i := range d.rpms {
		r := &d.rpms[i]
		var h map[string]any
		if err := decodeResult(res[i], "getRPMHeaders", &h); err != nil {
			return nil, err
		}
		if len(h) == 0 {
			return nil, rida.Errorf(rida.CodeInternal, "No RPM headers received from Koji for RPM %s", r.nevra())
		}
		lic, ok := h["license"].(string)
		if !ok {
			return nil, rida.Errorf(rida.CodeInternal, "No RPM 'license' header received from Koji for RPM %s", r.nevra())
		}
		r.license = lic
		r.srpmName = pkgOf[r.BuildID]
		if r.Arch == "src" {
			r.exclusiveArch, r.excludeArc = stringList(h["exclusivearch"]), stringList(h["excludearch"])
			srcHeaders[r.BuildID] = r
		}
	}
	for i := range d.rpms {
		if s := srcHeaders[d.rpms[i].BuildID]; s != nil && d.rpms[i].Arch != "src" {
			d.rpms[i].exclusiveArch, d.rpms[i].excludeArc = s.exclusiveArch, s.excludeArc
		}
	}
	return d, nil
}

func stringList(v any) []string {
	switch x := v.(type) {
	case string:
		if x == "" {
			return nil
		}
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// kojiOwner is the build's owner when Koji knows the user (MBS sends the
// owner only then).
func (b *Backend) kojiOwner(ctx context.Context, owner string) (string, error) {
	if owner == "" {
		return "", nil
	}
	v, err := b.c.Call(ctx, "getUser", owner)
	if err != nil {
		return "", err
	}
	if v == nil {
		return "", nil
	}
	return owner, nil
}

// importModule makes the metadata of the module (or its -devel twin),
// uploads its outputs and imports it.
func (b *Backend) importModule(ctx context.Context, mod *engine.Module, data *tagData, owner string, devel bool) error {
	mb := mod.Build
	nvr := ModuleNVR(mb, devel)
	buildID, token := mb.KojiBuildID, mb.KojiCGToken
	if devel {
		buildID, token = mb.KojiDevelBuildID, mb.KojiDevelCGToken
	}
	var existing *struct {
		ID    int64 `xmlrpc:"id"`
		State int   `xmlrpc:"state"`
	}
	if err := b.c.CallInto(ctx, &existing, "getBuild", nvr.String()); err != nil {
		return err
	}
	if existing != nil && existing.State == int(rida.ComponentComplete) && (buildID == 0 || existing.ID == buildID) {
		b.log.Info("module already imported into Koji", "nvr", nvr.String(), "build_id", existing.ID)
		return nil
	}

	files := map[string][]byte{}
	mmdText := mb.Modulemd
	if devel || mmdText == "" {
		s := mod.Stream.Copy()
		if devel {
			s.Name = DevelName(s.Name)
		}
		text, err := emitStream(s)
		if err != nil {
			return fmt.Errorf("koji backend: modulemd.txt of %s: %w", nvr, err)
		}
		mmdText = text
	}
	files["modulemd.txt"] = []byte(mmdText)

	all := make([]CGComponent, len(data.rpms))
	for i, r := range data.rpms {
		all[i] = r.component()
	}
	in := ModuleImport{
		Build: mb, Devel: devel, DevelBuildID: mb.KojiDevelBuildID, Owner: owner, Now: b.cfg.Now(),
		Host: CGHostInfo{ContentGenerator: CGContentGenerator{Name: b.cfg.CGName, Version: b.cfg.CGVersion},
			Arch: b.cfg.HostArch, OS: b.cfg.HostOS},
		Modulemd: mmdText, RPMs: all,
	}
	for _, arch := range data.arches {
		final := finalArchModulemd(mod.Stream, arch, data.rpms, devel)
		text, err := emitStream(final)
		if err != nil {
			return fmt.Errorf("koji backend: modulemd.%s.txt of %s: %w", arch, nvr, err)
		}
		cs, err := ComponentsForArtifacts(all, final.RPMArtifacts)
		if err != nil {
			return err
		}
		name := "modulemd." + arch + ".txt"
		files[name] = []byte(text)
		in.Arches = append(in.Arches, ArchModulemd{Arch: arch, File: SumBytes([]byte(text)), Components: cs})
	}
	if b.cfg.SourceModulemd != nil {
		src, ok, err := b.cfg.SourceModulemd(ctx, mb)
		if err != nil {
			return fmt.Errorf("koji backend: modulemd.src.txt of %s: %w", nvr, err)
		}
		if ok {
			files["modulemd.src.txt"] = src
			sum := SumBytes(src)
			in.SourceModulemd = &sum
		}
	}
	if b.cfg.BuildLog != nil {
		log, ok, err := b.cfg.BuildLog(ctx, mb)
		if err != nil {
			return fmt.Errorf("koji backend: build.log of %s: %w", nvr, err)
		}
		if ok {
			files["build.log"] = log
			sum := SumBytes(log)
			in.BuildLog = &sum
		}
	}
	md, err := ModuleCGMetadata(in)
	if err != nil {
		return err
	}
	dir := UploadDir(b.cfg.Now(), nil)
	if err := b.c.UploadOutputs(ctx, dir, md, files); err != nil {
		return err
	}
	imported, err := b.c.CGImport(ctx, md, dir, token)
	if err != nil {
		return err
	}
	b.log.Info("module imported into Koji", "nvr", imported.NVR, "build_id", imported.ID)
	return nil
}

func emitStream(s *modulemd.Stream) (string, error) {
	idx := modulemd.NewIndex()
	if err := idx.AddStream(s); err != nil {
		return "", err
	}
	out, err := idx.Emit(modulemd.EmitOptions{})
	if err != nil {
		return "", err
	}
	return string(out), nil
}

// Arch tables: a subset of pungi's arch_utils, for the arches module tags
// use.
var (
	// exclusiveArches are pungi's get_valid_arches(arch, multilib=False,
	// add_noarch=False).
	exclusiveArches = map[string][]string{
		"x86_64":  {"x86_64", "amd64", "ia32e"},
		"i686":    {"i686", "athlon", "i586", "i486", "i386"},
		"aarch64": {"aarch64"},
		"ppc64le": {"ppc64le"},
		"ppc64":   {"ppc64", "ppc64p7"},
		"s390x":   {"s390x"},
		"armv7hl": {"armv7hl", "armv7hnl"},
	}
	// multilibArches are the compatible multilib arches that the arch's
	// own list lacks.
	multilibArches = map[string][]string{
		"x86_64": {"athlon", "i686", "i586", "i486", "i386"},
		"ppc64":  {"ppc"},
		"s390x":  {"s390"},
	}
)

// yumArch is pungi's tree_arch_to_yum_arch for the arches it changes.
func yumArch(arch string) string {
	switch arch {
	case "armhfp":
		return "armv7hl"
	case "i386":
		return "i686"
	}
	return arch
}

func isDebugRPM(name string) bool {
	return strings.HasSuffix(name, "-debuginfo") || strings.HasSuffix(name, "-debugsource")
}

// finalArchModulemd is MBS's _finalize_mmd and _fill_in_rpms_list (mbs.md
// §6.3) for one Koji arch over the rpms of the module tag.
//
// For -devel the document is named <name>-devel, requires <name>:[stream]
// in each dependency block and has no API and no profiles, and its rpm
// artifacts are the complement: the considered binary rpms that the
// normal module does not include, plus the SRPMs none of whose rpms it
// includes. (MBS's exact selection of -devel artifacts is reproduced
// from the spec's description, not verified against MBS's output.)
func finalArchModulemd(stream *modulemd.Stream, kojiArch string, rpms []taggedRPM, devel bool) *modulemd.Stream {
	final := stream.Copy()
	for _, rc := range final.RPMComponents {
		rc.Repository, rc.Cache = "", ""
	}
	if xmd := final.XMDMap(); xmd != nil {
		delete(xmd, "mbs")
	}
	if devel {
		final.Name = DevelName(stream.Name)
		for _, d := range final.Dependencies {
			if d.Requires == nil {
				d.Requires = map[string][]string{}
			}
			d.Requires[stream.Name] = []string{stream.Stream}
		}
		final.APIRPMs = nil
		final.Profiles = nil
	}
	arch := yumArch(kojiArch)
	final.Arch = arch

	// Buildonly components' rpms are filtered (MBS adds their names to the
	// filter when they are built, mbs.md §3.11).
	buildonly := map[string]bool{}
	for _, rc := range stream.RPMComponents {
		if rc.Buildonly {
			buildonly[rc.PackageName()] = true
		}
	}
	for _, r := range rpms {
		if buildonly[r.srpmName] && r.Arch != "src" {
			final.FilterRPMs = append(final.FilterRPMs, r.Name)
		}
	}
	if len(final.FilterRPMs) > 0 {
		final.FilterRPMs = modulemd.SetStringSet(final.FilterRPMs...)
	}
	filtered := map[string]bool{}
	for _, n := range final.FilterRPMs {
		filtered[n] = true
	}

	exclusive := exclusiveArches[arch]
	if exclusive == nil {
		exclusive = []string{arch}
	}
	multilib := multilibArches[arch]
	compatible := map[string]bool{"noarch": true}
	for _, a := range exclusive {
		compatible[a] = true
	}
	for _, a := range multilib {
		compatible[a] = true
	}
	whitelist := stream.Buildopts != nil && len(stream.Buildopts.RPMWhitelist) > 0
	shouldInclude := func(r taggedRPM) bool {
		if whitelist {
			if !slices.Contains(stream.Buildopts.RPMWhitelist, r.srpmName) {
				return false
			}
			if slices.Contains(multilib, r.Arch) {
				return false
			}
		} else {
			var comp *modulemd.RPMComponent
			for _, rc := range stream.RPMComponents {
				if rc.PackageName() == r.srpmName {
					comp = rc
				}
			}
			if comp == nil {
				return false
			}
			if slices.Contains(multilib, r.Arch) && !slices.Contains(comp.Multilib, arch) {
				return false
			}
		}
		return !filtered[r.Name]
	}
	intersects := func(a, b []string) bool {
		return slices.ContainsFunc(a, func(x string) bool { return slices.Contains(b, x) })
	}

	// Non-debug rpms first, so a debug rpm knows whether its main rpm was
	// included.
	order := make([]taggedRPM, 0, len(rpms))
	for _, r := range rpms {
		if !isDebugRPM(r.Name) {
			order = append(order, r)
		}
	}
	for _, r := range rpms {
		if isDebugRPM(r.Name) {
			order = append(order, r)
		}
	}
	type key struct{ srpm, name string }
	present := map[key]bool{}
	for _, r := range order {
		present[key{r.srpmName, r.Name}] = true
	}
	included := map[key]bool{} // by name, for the debug rpms
	includedNEVRA := map[string]bool{}
	srpmIncluded := map[string]bool{}
	var considered []taggedRPM
	var keep []taggedRPM
	for _, r := range order {
		if r.Arch == "src" || !compatible[r.Arch] {
			continue
		}
		if len(r.excludeArc) > 0 && intersects(r.excludeArc, exclusive) {
			continue
		}
		if len(r.exclusiveArch) > 0 && !intersects(r.exclusiveArch, exclusive) {
			continue
		}
		considered = append(considered, r)
		ok := false
		if isDebugRPM(r.Name) {
			main := strings.TrimSuffix(strings.TrimSuffix(r.Name, "-debuginfo"), "-debugsource")
			if included[key{r.srpmName, main}] {
				ok = true
			} else if !present[key{r.srpmName, main}] && srpmIncluded[r.srpmName] {
				ok = shouldInclude(r)
			}
		} else {
			ok = shouldInclude(r)
		}
		if ok {
			included[key{r.srpmName, r.Name}] = true
			includedNEVRA[r.nevra()] = true
			srpmIncluded[r.srpmName] = true
			keep = append(keep, r)
		}
	}
	if devel {
		keep = keep[:0]
		for _, r := range considered {
			if !includedNEVRA[r.nevra()] {
				keep = append(keep, r)
			}
		}
	}
	var artifacts, licenses []string
	for _, r := range keep {
		artifacts = append(artifacts, r.nevra())
		licenses = append(licenses, r.license)
	}
	for _, r := range rpms {
		if r.Arch != "src" || srpmIncluded[r.srpmName] == devel {
			continue
		}
		artifacts = append(artifacts, r.nevra())
		licenses = append(licenses, r.license)
	}
	final.RPMArtifacts = modulemd.SetStringSet(artifacts...)
	licenses = slices.DeleteFunc(licenses, func(s string) bool { return s == "" })
	final.ContentLicenses = modulemd.SetStringSet(licenses...)
	return final
}

// hostMachine is uname -m's name for the running process's arch.
func hostMachine() string {
	switch runtime.GOARCH {
	case "amd64":
		return "x86_64"
	case "386":
		return "i686"
	case "arm64":
		return "aarch64"
	case "arm":
		return "armv7l"
	}
	return runtime.GOARCH
}

// hostOS is "<NAME> <VERSION_ID>" of /etc/os-release, as MBS's distro
// name and version, or the Go OS name.
func hostOS() string {
	f, err := os.Open("/etc/os-release")
	if err != nil {
		return runtime.GOOS
	}
	defer func() { _ = f.Close() }()
	vals := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		if u, err := strconv.Unquote(v); err == nil {
			v = u
		}
		vals[k] = v
	}
	if vals["NAME"] == "" {
		return runtime.GOOS
	}
	return strings.TrimSpace(vals["NAME"] + " " + vals["VERSION_ID"])
}
