package engine

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/expand"
)

// The fixed parts of module-build-macros' identity (mbs.md §3.8): MBS never
// changes them, so every module's macros package is
// module-build-macros-0.1-1<disttag>.
const (
	MacrosVersion = "0.1"
	MacrosRelease = "1"
	// MacrosSpecFile and MacrosSourceFile are the file names MBS writes: the
	// spec in the top directory, the macros file in SOURCES (the spec's
	// Source1), so rpmbuild -bs finds both.
	MacrosSpecFile   = MacrosPackage + ".spec"
	MacrosSourceFile = "macros.modules"
	// MacrosInstalledPath is where the binary package puts the macros file:
	// /etc/rpm, not %_sysconfdir, so flatpak builds (which move
	// %_sysconfdir) still read it, and "zz" so it is read after every other
	// macros file and its %dist wins.
	MacrosInstalledPath = "/etc/rpm/macros.zz-modules"
)

// MacrosInput is what MBS's get_disttag_srpm reads of a module build (mbs.md
// §3.8) plus what get_rpm_release needs for the dist tag (§3.9). Database and
// Koji lookups are the caller's: the generator is pure.
type MacrosInput struct {
	// Name, Stream, Version and Context are the module build's N:S:V:C; they
	// make %modularitylabel and the %_module_* macros.
	Name    string
	Stream  string
	Version uint64
	Context string

	// Scratch selects the "scrmod+" dist tag prefix instead of "module+".
	Scratch bool
	// Marking is expand.DisttagMarking's result ("f28+", "" for none).
	Marking string
	// Index is the lowest id among the build and its MSE siblings.
	Index int64

	// RPMMacros is buildopts.rpms.macros, copied verbatim under "# Macros set
	// by module author:" (it is rpm macro text by design, so % and newlines
	// are allowed; only NUL is refused).
	RPMMacros string

	// BuildRequires are the entries of xmd.mbs.buildrequires, in xmd order:
	// MBS iterates the dict it got from libmodulemd, so the Conflicts blocks
	// come out in that order and the caller must keep it.
	BuildRequires []MacrosBuildRequire
	// BaseModuleNames is MBS's BASE_MODULE_NAMES (only base modules' ursine
	// RPMs are turned into Conflicts); nil means expand.DefaultBaseModuleNames.
	BaseModuleNames []string
	// UrsineRPMs is xmd.mbs.ursine_rpms: base-module RPMs colliding with the
	// buildrequired modules' RPMs (NEVRAs, see ModuleBuildMacros).
	UrsineRPMs []string

	// Today dates the changelog entry, as a date in Today's location: MBS
	// uses the local date of the machine that builds the SRPM, so callers
	// pass time.Now(). It is an input to keep the generator pure; the zero
	// time is refused rather than dated year 1.
	Today time.Time
}

// MacrosBuildRequire is one entry of xmd.mbs.buildrequires, with what
// get_disttag_srpm reads of it.
type MacrosBuildRequire struct {
	// Name is the buildrequired module's name.
	Name string
	// FilteredRPMs is its filtered_rpms: N-E:V-R of every RPM it filters out.
	FilteredRPMs []string
	// ReusedNVRs matter only when Name is the module itself (a module
	// buildrequiring an older build of itself): the N-V-R of the RPMs of the
	// components that will be reused from that build. A filtered RPM with the
	// same N-V-R (epoch ignored) gets no Conflicts line, since the reused
	// build brings exactly it (MBS's _get_filtered_rpms_on_self_dep, whose
	// Koji lookups are the caller's).
	ReusedNVRs []string
	// UrsineRPMs and StreamCollisionModules are ursine_rpms and
	// stream_collision_modules, read for base modules only. MBS tests the
	// presence of the ursine_rpms key, not its length: a non-nil empty
	// UrsineRPMs still writes the two comment lines.
	UrsineRPMs             []string
	StreamCollisionModules []string
}

// Macros is the generated module-build-macros source package.
type Macros struct {
	// Spec is module-build-macros.spec, byte for byte what MBS writes.
	Spec string
	// MacrosFile is SOURCES/macros.modules, byte for byte what MBS writes.
	MacrosFile string
	// DistTag is the value of %dist: "." + the components' release suffix,
	// e.g. ".module+f28+2+814cfa39".
	DistTag string
	// NVR is the package's NVR, e.g. module-build-macros-0.1-1.module+2+b8661ee4.
	NVR rida.NVR
}

// ModuleBuildMacros generates module-build-macros, the package built as
// batch 1 of every module build so that every later buildroot gets the
// module's %dist, %modularitylabel and author macros (mbs.md §3.8, §3.9). The
// text reproduces MBS's get_disttag_srpm exactly, including its blank lines
// and its `%%dist` in %description (rpm renders it as %dist).
//
// Values that end up in the spec are checked first, because a newline would
// start a new spec directive and a % or \ would be expanded by rpmbuild (in a
// shell-running %(...) too): MBS does not check them and relies on its
// submission rules. Errors are *rida.Error with CodeUnprocessable naming the
// field.
func ModuleBuildMacros(in MacrosInput) (Macros, error) {
	if err := validateMacrosInput(in); err != nil {
		return Macros{}, err
	}
	prefix := expand.DefaultDistTagPrefix
	if in.Scratch {
		prefix = expand.ScratchDistTagPrefix
	}
	disttag := "." + expand.RPMRelease(prefix, in.Marking, in.Index, in.Name, in.Stream, in.Version, in.Context)
	conflicts, err := macrosConflicts(in)
	if err != nil {
		return Macros{}, err
	}
	version := strconv.FormatUint(in.Version, 10)
	label := in.Name + ":" + in.Stream + ":" + version + ":" + in.Context
	// MBS formats the date under the C locale.
	today := in.Today.Format("Mon Jan 02 2006")

	var b strings.Builder
	// MBS's templates are textwrap.dedent of a string opening with a
	// newline, so both files start with an empty line.
	b.WriteString("\n")
	b.WriteString("%global dist " + disttag + "\n")
	b.WriteString("%global modularitylabel " + label + "\n")
	b.WriteString("%global _module_name " + in.Name + "\n")
	b.WriteString("%global _module_stream " + in.Stream + "\n")
	b.WriteString("%global _module_version " + version + "\n")
	b.WriteString("%global _module_context " + in.Context + "\n")
	b.WriteString("\n")
	b.WriteString("Name:       " + MacrosPackage + "\n")
	b.WriteString("Version:    " + MacrosVersion + "\n")
	b.WriteString("Release:    " + MacrosRelease + "%dist\n")
	b.WriteString("Summary:    Package containing macros required to build generic module\n")
	b.WriteString("BuildArch:  noarch\n")
	b.WriteString("\n")
	b.WriteString("Group:      System Environment/Base\n")
	b.WriteString("License:    MIT\n")
	b.WriteString("URL:        http://fedoraproject.org\n")
	b.WriteString("\n")
	b.WriteString("Source1:    " + MacrosSourceFile + "\n")
	b.WriteString("\n")
	// "\n".join(filter_conflicts) on its own template line: an empty line
	// when there are none.
	b.WriteString(strings.Join(conflicts, "\n") + "\n")
	b.WriteString("\n")
	b.WriteString("%description\n")
	b.WriteString("This package is used for building modules with a different dist tag.\n")
	b.WriteString("It provides a file /usr/lib/rpm/macros.d/macro.modules and gets read\n")
	b.WriteString("after macro.dist, thus overwriting macros of macro.dist like %%dist\n")
	b.WriteString("It should NEVER be installed on any system as it will really mess up\n")
	b.WriteString("updates, builds, ....\n")
	b.WriteString("\n\n")
	b.WriteString("%build\n")
	b.WriteString("\n")
	b.WriteString("%install\n")
	b.WriteString("mkdir -p %buildroot/etc/rpm 2>/dev/null |:\n")
	b.WriteString("cp %SOURCE1 %buildroot" + MacrosInstalledPath + "\n")
	b.WriteString("chmod 644 %buildroot" + MacrosInstalledPath + "\n")
	b.WriteString("\n\n")
	b.WriteString("%files\n")
	b.WriteString(MacrosInstalledPath + "\n")
	b.WriteString("\n\n\n")
	b.WriteString("%changelog\n")
	b.WriteString("* " + today + " Fedora-Modularity - " + MacrosVersion + "-" + MacrosRelease + disttag + "\n")
	b.WriteString("- autogenerated macro by Module Build Service (MBS)\n")

	// The author's section is written even when buildopts has no macros
	// (MBS then formats an empty string into it), and the macros are not
	// dedented: MBS formats them in after dedent.
	macros := "\n# General macros set by MBS\n\n" +
		"%dist " + disttag + "\n" +
		"%modularitylabel " + label + "\n" +
		"%_module_build 1\n" +
		"%_module_name " + in.Name + "\n" +
		"%_module_stream " + in.Stream + "\n" +
		"%_module_version " + version + "\n" +
		"%_module_context " + in.Context + "\n" +
		"\n# Macros set by module author:\n\n" +
		in.RPMMacros + "\n"

	return Macros{
		Spec:       b.String(),
		MacrosFile: macros,
		DistTag:    disttag,
		NVR:        rida.NVR{Name: MacrosPackage, Version: MacrosVersion, Release: MacrosRelease + disttag},
	}, nil
}

// macrosConflicts builds MBS's filter_conflicts lines: Koji does not apply
// the buildrequired modules' filter.rpms to buildroots, so the macros
// package, installed in every buildroot, conflicts with the filtered RPMs.
func macrosConflicts(in MacrosInput) ([]string, error) {
	baseNames := in.BaseModuleNames
	if baseNames == nil {
		baseNames = expand.DefaultBaseModuleNames
	}
	var lines []string
	for _, br := range in.BuildRequires {
		field := "xmd.mbs.buildrequires." + br.Name
		if len(br.FilteredRPMs) > 0 {
			lines = append(lines, "# Filtered rpms from "+br.Name+" module:")
		}
		filtered := br.FilteredRPMs
		if br.Name == in.Name {
			var err error
			if filtered, err = macrosSelfDepFiltered(br, field); err != nil {
				return nil, err
			}
		}
		for _, nevr := range filtered {
			l, err := macrosConflictsLine(nevr, field+".filtered_rpms")
			if err != nil {
				return nil, err
			}
			lines = append(lines, l)
		}
		if slices.Contains(baseNames, br.Name) && br.UrsineRPMs != nil {
			lines = append(lines,
				"# Filter out RPMs from stream collision modules found from ursine content for base module "+br.Name+":",
				"# "+strings.Join(br.StreamCollisionModules, ", "))
			for _, nevr := range br.UrsineRPMs {
				l, err := macrosConflictsLine(nevr, field+".ursine_rpms")
				if err != nil {
					return nil, err
				}
				lines = append(lines, l)
			}
		}
	}
	if len(in.UrsineRPMs) > 0 {
		// The leading "\n" is MBS's: it makes a blank line before the
		// comment once the lines are joined.
		lines = append(lines, "\n# Filter out base module RPMs that overlap with the RPMs in the buildrequired modules")
		for _, nevr := range in.UrsineRPMs {
			// BUG kept from MBS (mbs.md §3.8): these are NEVRAs and the
			// arch stays in the release, so the Conflicts never matches.
			l, err := macrosConflictsLine(nevr, "xmd.mbs.ursine_rpms")
			if err != nil {
				return nil, err
			}
			lines = append(lines, l)
		}
	}
	return lines, nil
}

// macrosSelfDepFiltered drops the filtered RPMs a self-buildrequire's reused
// components will bring with the same N-V-R. MBS first deduplicates through a
// Python set, which leaves the order to string hashing (random per process);
// rida keeps the first occurrence of each in input order instead, so its
// output is reproducible.
func macrosSelfDepFiltered(br MacrosBuildRequire, field string) ([]string, error) {
	reused := make(map[[3]string]bool, len(br.ReusedNVRs))
	for _, s := range br.ReusedNVRs {
		n, err := macrosParseNEVR(s, field+".reused_nvrs")
		if err != nil {
			return nil, err
		}
		reused[[3]string{n.name, n.version, n.release}] = true
	}
	var out []string
	seen := make(map[string]bool, len(br.FilteredRPMs))
	for _, s := range br.FilteredRPMs {
		if seen[s] {
			continue
		}
		seen[s] = true
		n, err := macrosParseNEVR(s, field+".filtered_rpms")
		if err != nil {
			return nil, err
		}
		if reused[[3]string{n.name, n.version, n.release}] {
			continue
		}
		out = append(out, s)
	}
	return out, nil
}

// macrosConflictsLine is MBS's format_conflicts_line. An RPM without epoch
// gives "= :V-R" exactly as MBS writes it (rpmbuild accepts it and
// keeps it as is in the Conflicts header).
func macrosConflictsLine(nevr, field string) (string, error) {
	n, err := macrosParseNEVR(nevr, field)
	if err != nil {
		return "", err
	}
	return "Conflicts: " + n.name + " = " + n.epoch + ":" + n.version + "-" + n.release, nil
}

type macrosNEVR struct{ name, epoch, version, release string }

// macrosParseNEVR is kobo.rpmlib.parse_nvr, which MBS uses on filtered and
// ursine RPMs: N-V-R with an epoch as N-E:V-R, E:N-V-R or N-V-R:E, an
// optional directory in front. Where kobo raises ValueError (and MBS's
// handler dies), this returns CodeUnprocessable.
func macrosParseNEVR(s, field string) (macrosNEVR, error) {
	bad := func(why string) (macrosNEVR, error) {
		return macrosNEVR{}, rida.Errorf(rida.CodeUnprocessable, "%s: invalid RPM %q: %s", field, s, why)
	}
	if err := macrosCheckValue(s, field, "-.:+~^_/"); err != nil {
		return macrosNEVR{}, err
	}
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		s = s[i+1:]
	}
	nvr, epoch := s, ""
	if strings.Contains(s, ":") {
		if strings.Count(s, ":") != 1 {
			return bad("more than one ':'")
		}
		i := strings.LastIndexByte(s, ':')
		nvr, epoch = s[:i], s[i+1:]
		if strings.Contains(epoch, "-") {
			if !strings.Contains(nvr, "-") {
				nvr, epoch = epoch, nvr // E:N-V-R
			} else {
				nvr, epoch = s, "" // N-E:V-R, split below
			}
		}
	}
	r := strings.LastIndexByte(nvr, '-')
	if r < 0 {
		return bad("want name-version-release")
	}
	v := strings.LastIndexByte(nvr[:r], '-')
	if v < 0 {
		return bad("want name-version-release")
	}
	n := macrosNEVR{name: nvr[:v], version: nvr[v+1 : r], release: nvr[r+1:]}
	if epoch == "" {
		if e, ver, ok := strings.Cut(n.version, ":"); ok {
			epoch, n.version = e, ver
		}
	}
	// Python's int() accepts surrounding whitespace and a sign; the value
	// check already refused whitespace, and a sign in an epoch is not an RPM.
	if epoch != "" {
		for _, c := range epoch {
			if c < '0' || c > '9' {
				return bad("epoch " + strconv.Quote(epoch) + " is not a number")
			}
		}
	}
	n.epoch = epoch
	// rpmbuild refuses empty parts of a dependency's EVR and names with
	// nothing in them; kobo does not check, but the SRPM would not build.
	if n.name == "" || n.version == "" || n.release == "" {
		return bad("empty name, version or release")
	}
	return n, nil
}

// validateMacrosInput refuses values that would change the meaning of the
// spec: each of them lands on a %global, tag, comment or changelog line.
func validateMacrosInput(in MacrosInput) error {
	// ':' separates the parts of %modularitylabel; '-' would split the
	// Release of every component (RPM refuses it there) so the marking may
	// not carry one, as MBS's import rule says (§3.16).
	for _, f := range []struct{ name, value, extra string }{
		{"name", in.Name, "-._+"},
		{"stream", in.Stream, "-._+"},
		{"context", in.Context, "-._+"},
		{"disttag_marking", in.Marking, "._+"},
	} {
		if f.value == "" && f.name != "disttag_marking" {
			return rida.Errorf(rida.CodeUnprocessable, "%s: must not be empty", f.name)
		}
		if err := macrosCheckValue(f.value, f.name, f.extra); err != nil {
			return err
		}
	}
	if in.Today.IsZero() {
		return rida.Errorf(rida.CodeUnprocessable, "today: the changelog date is not set")
	}
	if in.Index < 0 {
		return rida.Errorf(rida.CodeUnprocessable, "index: must not be negative, got %d", in.Index)
	}
	if strings.ContainsRune(in.RPMMacros, 0) || !utf8.ValidString(in.RPMMacros) {
		return rida.Errorf(rida.CodeUnprocessable, "buildopts.rpms.macros: must be UTF-8 text without NUL")
	}
	for _, br := range in.BuildRequires {
		// The name lands on a comment line, where rpmbuild still expands
		// macros.
		if err := macrosCheckValue(br.Name, "xmd.mbs.buildrequires", "-._+"); err != nil {
			return err
		}
		if br.Name == "" {
			return rida.Errorf(rida.CodeUnprocessable, "xmd.mbs.buildrequires: empty module name")
		}
		for _, m := range br.StreamCollisionModules {
			if err := macrosCheckValue(m, "xmd.mbs.buildrequires."+br.Name+".stream_collision_modules", "-._+:"); err != nil {
				return err
			}
		}
	}
	return nil
}

// macrosCheckValue accepts letters, digits and the given punctuation only.
// An allow-list rather than a deny-list: a newline, '%', '\\', '#', a space or
// a character rpm does not expect anywhere in these values is refused, and
// the error names the field and the offending character.
func macrosCheckValue(value, field, extra string) error {
	if !utf8.ValidString(value) {
		return rida.Errorf(rida.CodeUnprocessable, "%s: %q is not valid UTF-8", field, value)
	}
	for _, c := range value {
		if c < utf8.RuneSelf && (unicode.IsLetter(c) || unicode.IsDigit(c)) || strings.ContainsRune(extra, c) {
			continue
		}
		return rida.Errorf(rida.CodeUnprocessable,
			"%s: %q contains %q, which is not allowed in a spec file here (allowed: ASCII letters, digits and %q)",
			field, value, c, extra)
	}
	return nil
}
