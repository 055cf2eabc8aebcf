// Package localbuild builds a module's RPM components on the local machine
// with rpmbuild, and turns a results directory into a repository with
// createrepo_c and modifyrepo_c (MBS's local / Mock builder, mbs.md §3.20).
//
// Every command line is made by a pure function of this package
// (SRPMCommand, RebuildCommand, QueryCommand, CreateRepoCommand,
// ModifyRepoCommand, MockInitCommand, MockRebuildCommand), and the mock
// chroot configuration by MockConfig.Render, so
// what rida asks rpmbuild to do is unit-tested without running anything; the
// commands run through a Runner. ExecRunner is the real one: a timeout from
// the context, the whole process group killed on cancel, capped output, and
// a minimal environment whose HOME is a private directory, so a user's
// ~/.rpmmacros or ~/rpmbuild can never leak into or be touched by a build.
//
// Guarantees of Builder.BuildComponent: the component's source directory is
// only read; each build has its own scratch _topdir under Builder.WorkDir,
// removed afterwards; the results directory receives the SRPM and RPMs only
// when the whole build succeeded; the combined build log is written in every
// case; a failed build is a rida.CodeUnprocessable error naming the
// component and its log file, in MBS's "Failed to build artifact <pkg>"
// shape.
//
// The module's macros (what MBS's module-build-macros package installs as
// /etc/rpm/macros.zz-modules, mbs.md §3.8) are loaded with rpmbuild's
// "--load FILE", which adds one file to rpm's configured macros. rpm 4.18 also
// has "--macros FILE:…", but that replaces the whole macro path, dropping the
// distribution's own macros, so it is not used. The dist tag is passed after
// the file with --define, so it wins over any %dist the file sets.
//
// Debian and Fedora hosts. On Debian (rpm 4.18 from Debian 12) there is no
// RPM database of build dependencies and no Fedora macros (%{?fedora} is
// empty, %_vendor is "debian", no redhat-rpm-config, no debuginfo
// subpackages), so builds run with --nodeps directly on the host: this is a
// developer's smoke build, not a reproducible buildroot. On a Fedora host
// with mock, MockConfig renders a chroot configuration that installs the
// module's macros file and enables the module's own results repository, as
// MBS's MockModuleBuilder does; mock then provides the real buildroot.
package localbuild
