package localbuild

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Command is one program invocation: the program's name (looked up in PATH
// by the Runner) and its arguments, exactly as passed, without a shell.
type Command struct {
	Name string
	Args []string
}

// String renders the command for logs and build logs, quoting arguments
// that hold spaces or shell characters so the line can be pasted into a
// shell to reproduce the step.
func (c Command) String() string {
	parts := make([]string, 0, 1+len(c.Args))
	parts = append(parts, c.Name)
	for _, a := range c.Args {
		parts = append(parts, shellQuote(a))
	}
	return strings.Join(parts, " ")
}

// shellQuote quotes s for a POSIX shell when it is not made only of safe
// characters.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=+:,@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// define is rpmbuild's --define of one macro. The name and value are passed
// as one argv element, never through a shell.
func define(name, value string) []string {
	return []string{"--define", name + " " + value}
}

// SRPMArgs are the inputs of SRPMCommand.
type SRPMArgs struct {
	// Spec is the spec file; its directory becomes _specdir.
	Spec string
	// SourceDir holds the sources the spec names (_sourcedir).
	SourceDir string
	// TopDir is the scratch rpmbuild tree (_topdir); the SRPM is written
	// to TopDir/SRPMS.
	TopDir string
	// MacrosFile, when set, is loaded with --load before the definitions.
	MacrosFile string
	// Dist is the %dist value, with its leading dot (".module+f40+1+abcdef12").
	Dist string
}

// SRPMCommand returns the rpmbuild command that makes the SRPM of a spec
// whose sources are in a directory: "rpmbuild -bs". --nodeps because the
// BuildRequires are checked against the host's RPM database, which is empty
// on Debian and is not the buildroot anyway. The module's macros are loaded
// too, as in MBS, where the SRPM is made in a buildroot that has
// module-build-macros installed: the SRPM's release then carries the dist
// tag.
func SRPMCommand(a SRPMArgs) Command {
	args := []string{"-bs", "--nodeps"}
	if a.MacrosFile != "" {
		args = append(args, "--load", a.MacrosFile)
	}
	args = append(args, define("_topdir", a.TopDir)...)
	args = append(args, define("_sourcedir", a.SourceDir)...)
	args = append(args, define("_specdir", filepath.Dir(a.Spec))...)
	args = append(args, define("_srcrpmdir", filepath.Join(a.TopDir, "SRPMS"))...)
	args = append(args, define("_tmppath", filepath.Join(a.TopDir, "tmp"))...)
	args = append(args, define("dist", a.Dist)...)
	args = append(args, a.Spec)
	return Command{Name: "rpmbuild", Args: args}
}

// RebuildArgs are the inputs of RebuildCommand.
type RebuildArgs struct {
	// SRPM is the source package to rebuild.
	SRPM string
	// TopDir is the scratch rpmbuild tree (_topdir). rpmbuild --rebuild
	// installs the SRPM's spec and sources there and deletes them
	// afterwards, so it must be a directory of its own.
	TopDir string
	// RPMDir receives the binary RPMs (_rpmdir), in per-arch subdirectories.
	RPMDir string
	// MacrosFile, when set, is loaded with --load before the definitions.
	MacrosFile string
	// Dist is the %dist value, with its leading dot.
	Dist string
}

// RebuildCommand returns the rpmbuild command that builds the binary RPMs
// of an SRPM: "rpmbuild --rebuild --nodeps" with the module's macros loaded
// as if module-build-macros were installed, and the dist tag defined (the
// release is expanded again from the spec, so the dist tag must be given
// here as well as to SRPMCommand). _tmppath is moved under TopDir so the
// build's scriptlets are not left in /var/tmp.
func RebuildCommand(a RebuildArgs) Command {
	args := []string{"--rebuild", "--nodeps"}
	if a.MacrosFile != "" {
		args = append(args, "--load", a.MacrosFile)
	}
	args = append(args, define("_topdir", a.TopDir)...)
	args = append(args, define("_rpmdir", a.RPMDir)...)
	args = append(args, define("_tmppath", filepath.Join(a.TopDir, "tmp"))...)
	args = append(args, define("dist", a.Dist)...)
	args = append(args, a.SRPM)
	return Command{Name: "rpmbuild", Args: args}
}

// QueryFormat is the rpm --queryformat that prints one NEVRA per package:
// name, epoch (0 when unset), version, release and arch, where a source
// package's arch is "src" (rpm reports the build host's arch for SRPMs;
// only binary packages have a SOURCERPM tag).
const QueryFormat = `%{NAME} %{EPOCHNUM} %{VERSION} %{RELEASE} %|SOURCERPM?{%{ARCH}}:{src}|\n`

// QueryCommand returns the rpm command that prints the NEVRA of each package
// file, one line per file in the order given. --nosignature and --nodigest
// because the packages were just built here and rpm would otherwise look
// for a keyring in the host's RPM database.
func QueryCommand(files ...string) Command {
	args := []string{"-qp", "--nosignature", "--nodigest", "--queryformat", QueryFormat, "--"}
	return Command{Name: "rpm", Args: append(args, files...)}
}

// CreateRepoCommand returns the createrepo_c command that makes (or, when
// update is true because repodata/repomd.xml already exists, updates) the
// repository metadata of a results directory. --update reuses the metadata
// of unchanged packages instead of reading every RPM again.
func CreateRepoCommand(dir string, update bool) Command {
	args := []string{"--quiet"}
	if update {
		args = append(args, "--update")
	}
	return Command{Name: "createrepo_c", Args: append(args, "--", dir)}
}

// FinalRepoCommand returns the createrepo_c command that indexes only the
// packages listed in pkglist (paths relative to dir), from scratch: the
// module's final repository, as MBS's local builder makes it for the last
// batch (createrepo_c --pkglist).
func FinalRepoCommand(dir, pkglist string) Command {
	return Command{Name: "createrepo_c", Args: []string{"--quiet", "--pkglist", pkglist, "--", dir}}
}

// ModifyRepoCommand returns the modifyrepo_c command that adds a modules.yaml
// file to a repository's metadata as the "modules" record, which is what
// dnf reads module metadata from.
func ModifyRepoCommand(modulesYAML, repodataDir string) Command {
	return Command{Name: "modifyrepo_c", Args: []string{"--mdtype=modules", "--", modulesYAML, repodataDir}}
}

// checkDefineValue refuses a macro value that would not be one rpm
// definition: rpm reads a newline as the end of the --define and the rest
// as more macro text.
func checkDefineValue(what, v string) error {
	if v == "" || strings.ContainsAny(v, "\n\r\x00 \t") {
		return fmt.Errorf("%s %q: empty or holds whitespace", what, v)
	}
	return nil
}
