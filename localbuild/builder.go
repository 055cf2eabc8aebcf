package localbuild

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/rida-build/rida"
)

// NEVRA names one RPM: name, epoch, version, release and arch ("src" for
// a source package).
type NEVRA struct {
	Name    string
	Epoch   int
	Version string
	Release string
	Arch    string
}

// String returns the NEVRA in the form modulemd's rpm artifacts use:
// name-epoch:version-release.arch, with the epoch always present.
func (n NEVRA) String() string {
	return n.Name + "-" + strconv.Itoa(n.Epoch) + ":" + n.Version + "-" + n.Release + "." + n.Arch
}

// Artifact is one package file a build produced, where it now lives in the
// results directory, and its NEVRA as read from its header.
type Artifact struct {
	Path  string
	NEVRA NEVRA
}

// ComponentBuild is what BuildComponent needs to build one component.
type ComponentBuild struct {
	// Name is the component (package) name; it names the log file and
	// appears in errors.
	Name string
	// SourceDir holds the component's checked-out sources: the spec and
	// every source and patch it names. It is only read.
	SourceDir string
	// Spec is the spec file's name inside SourceDir; empty means
	// "<Name>.spec", the dist-git layout.
	Spec string
	// Macros is the text of the module's macros file (mbs.md §3.8), loaded
	// as if module-build-macros were installed; empty loads none.
	Macros string
	// DistTag is the %dist value with its leading dot, e.g.
	// ".module+f40+1+abcdef12".
	DistTag string
	// ResultsDir receives the SRPM and RPMs (flat) and logs/.
	ResultsDir string
	// LogPath is where the combined build log is written; empty means
	// <ResultsDir>/logs/<Name>.log.
	LogPath string
	// Mock, when set, builds the binary packages in the mock chroot it
	// describes (mock --init, then mock --no-clean --rebuild of the SRPM)
	// instead of rpmbuild --rebuild on the host; the SRPM is still made on
	// the host with rpmbuild -bs. mock's own logs are appended to the
	// combined log.
	Mock *MockConfig
}

// Result is what a successful build produced.
type Result struct {
	SRPM Artifact
	// RPMs are the binary packages, sorted by file name.
	RPMs []Artifact
	// LogPath is the combined build log.
	LogPath string
}

// Builder builds components with rpmbuild through a Runner. Its methods are
// safe for concurrent use when the Runner is and concurrent builds use
// different results directories (or different component names).
type Builder struct {
	// Runner runs rpmbuild, rpm, createrepo_c and modifyrepo_c.
	Runner Runner
	// WorkDir holds each build's scratch rpmbuild tree, removed when the
	// build ends. It must exist.
	WorkDir string
	// Log receives progress lines; nil means nothing is logged.
	Log *slog.Logger
}

// validName is what a component name may be: an RPM name, which also keeps
// it from escaping the logs directory.
var validName = regexp.MustCompile(`^[A-Za-z0-9_+][A-Za-z0-9._+-]*$`)

func (b *Builder) log() *slog.Logger {
	if b.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return b.Log
}

// BuildComponent builds the SRPM of in's spec and then its binary RPMs,
// moves the packages into in.ResultsDir, writes the combined log, and
// returns the packages with their NEVRAs read from their headers.
//
// A failing build (rpmbuild exits non-zero, or produces no package) returns
// a rida.CodeUnprocessable error naming the component and the log file;
// invalid input is rida.CodeInvalid; anything else (I/O, a canceled ctx) is
// returned wrapped. Nothing is moved into the results directory unless the
// whole build succeeded.
func (b *Builder) BuildComponent(ctx context.Context, in ComponentBuild) (Result, error) {
	if err := in.check(); err != nil {
		return Result{}, &rida.Error{Code: rida.CodeInvalid, Message: fmt.Sprintf("local build of %s: %v", in.Name, err), Err: err}
	}
	if in.Spec == "" {
		in.Spec = in.Name + ".spec"
	}
	if in.LogPath == "" {
		in.LogPath = filepath.Join(in.ResultsDir, "logs", in.Name+".log")
	}
	log := b.log().With("component", in.Name)

	work, err := os.MkdirTemp(b.WorkDir, "build-"+in.Name+"-")
	if err != nil {
		return Result{}, fmt.Errorf("local build of %s: scratch directory: %w", in.Name, err)
	}
	defer func() {
		if err := os.RemoveAll(work); err != nil {
			log.Warn("removing the scratch build tree", "dir", work, "err", err)
		}
	}()

	var blog bytes.Buffer
	res, buildErr := b.build(ctx, in, work, &blog, log)
	if err := writeLog(in.LogPath, blog.Bytes()); err != nil {
		return Result{}, errors.Join(buildErr, fmt.Errorf("local build of %s: writing the log: %w", in.Name, err))
	}
	if buildErr != nil {
		return Result{}, buildErr
	}
	res.LogPath = in.LogPath
	log.Info("component built", "srpm", res.SRPM.NEVRA.String(), "rpms", len(res.RPMs), "log", in.LogPath)
	return res, nil
}

// check validates the input, so that nothing reaches rpmbuild's command
// line that would change its meaning.
func (in *ComponentBuild) check() error {
	if !validName.MatchString(in.Name) {
		return fmt.Errorf("component name %q is not a valid package name", in.Name)
	}
	if err := checkDefineValue("dist tag", in.DistTag); err != nil {
		return err
	}
	if !strings.HasPrefix(in.DistTag, ".") {
		return fmt.Errorf("dist tag %q does not start with a dot", in.DistTag)
	}
	if in.Spec != "" && (filepath.IsAbs(in.Spec) || !filepath.IsLocal(in.Spec)) {
		return fmt.Errorf("spec %q is not a file inside the source directory", in.Spec)
	}
	if in.Mock != nil {
		if _, err := in.Mock.Render(); err != nil {
			return err
		}
	}
	for what, p := range map[string]*string{"source directory": &in.SourceDir, "results directory": &in.ResultsDir} {
		if *p == "" {
			return fmt.Errorf("%s not given", what)
		}
		abs, err := filepath.Abs(*p)
		if err != nil {
			return fmt.Errorf("%s %q: %w", what, *p, err)
		}
		// rpmbuild reads these paths as macro values.
		if err := checkDefineValue(what, abs); err != nil {
			return err
		}
		*p = abs
	}
	return nil
}

// build runs the steps, appending each command and its output to blog.
func (b *Builder) build(ctx context.Context, in ComponentBuild, work string, blog *bytes.Buffer, log *slog.Logger) (Result, error) {
	if err := checkDefineValue("work directory", work); err != nil {
		return Result{}, fmt.Errorf("local build of %s: %w", in.Name, err)
	}
	failed := func(step string, err error) error {
		fmt.Fprintf(blog, "\nrida: %s failed: %v\n", step, err)
		if ctx.Err() != nil {
			// A canceled build is not the component's fault.
			return fmt.Errorf("local build of %s: %s: %w", in.Name, step, err)
		}
		return &rida.Error{
			Code:    rida.CodeUnprocessable,
			Message: fmt.Sprintf("Failed to build artifact %s: %s failed, see %s", in.Name, step, in.LogPath),
			Err:     err,
		}
	}
	run := func(c Command) ([]byte, error) {
		fmt.Fprintf(blog, "+ %s\n", c)
		stdout, stderr, err := b.Runner.Run(ctx, work, c.Name, c.Args...)
		blog.Write(stdout)
		blog.Write(stderr)
		return stdout, err
	}

	var macros string
	if in.Macros != "" {
		macros = filepath.Join(work, "macros.zz-modules")
		if err := os.WriteFile(macros, []byte(in.Macros), 0o644); err != nil {
			return Result{}, fmt.Errorf("local build of %s: macros file: %w", in.Name, err)
		}
	}
	srpmTop, rebuildTop, rpmDir := filepath.Join(work, "srpm"), filepath.Join(work, "rebuild"), filepath.Join(work, "RPMS")
	for _, d := range []string{filepath.Join(srpmTop, "tmp"), filepath.Join(rebuildTop, "tmp"), rpmDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return Result{}, fmt.Errorf("local build of %s: %w", in.Name, err)
		}
	}

	log.Debug("building the SRPM", "spec", in.Spec)
	if _, err := run(SRPMCommand(SRPMArgs{
		Spec: filepath.Join(in.SourceDir, in.Spec), SourceDir: in.SourceDir, TopDir: srpmTop,
		MacrosFile: macros, Dist: in.DistTag,
	})); err != nil {
		return Result{}, failed("rpmbuild -bs", err)
	}
	srpms, err := findRPMs(filepath.Join(srpmTop, "SRPMS"))
	if err != nil {
		return Result{}, fmt.Errorf("local build of %s: %w", in.Name, err)
	}
	if len(srpms) != 1 {
		return Result{}, failed("rpmbuild -bs", fmt.Errorf("%d source packages written, want 1", len(srpms)))
	}

	step := "rpmbuild --rebuild"
	if in.Mock == nil {
		log.Debug("rebuilding the SRPM", "srpm", filepath.Base(srpms[0]))
		if _, err := run(RebuildCommand(RebuildArgs{
			SRPM: srpms[0], TopDir: rebuildTop, RPMDir: rpmDir, MacrosFile: macros, Dist: in.DistTag,
		})); err != nil {
			return Result{}, failed(step, err)
		}
	} else {
		step = "mock --rebuild"
		log.Debug("rebuilding the SRPM in mock", "srpm", filepath.Base(srpms[0]), "root", in.Mock.Root)
		if err := mockRebuild(in.Mock, work, srpms[0], rpmDir, run, blog); err != nil {
			return Result{}, failed(step, err)
		}
	}
	rpms, err := findRPMs(rpmDir)
	if err != nil {
		return Result{}, fmt.Errorf("local build of %s: %w", in.Name, err)
	}
	// mock writes the SRPM it rebuilt next to the binary packages.
	rpms = slices.DeleteFunc(rpms, func(p string) bool { return strings.HasSuffix(p, ".src.rpm") })
	if len(rpms) == 0 {
		return Result{}, failed(step, errors.New("no binary package written"))
	}

	files := append([]string{srpms[0]}, rpms...)
	out, err := run(QueryCommand(files...))
	if err != nil {
		return Result{}, fmt.Errorf("local build of %s: reading package headers: %w", in.Name, err)
	}
	nevras, err := parseQuery(out)
	if err != nil {
		return Result{}, fmt.Errorf("local build of %s: reading package headers: %w", in.Name, err)
	}
	if len(nevras) != len(files) {
		return Result{}, fmt.Errorf("local build of %s: rpm printed %d headers for %d packages", in.Name, len(nevras), len(files))
	}

	if err := os.MkdirAll(in.ResultsDir, 0o755); err != nil {
		return Result{}, fmt.Errorf("local build of %s: results directory: %w", in.Name, err)
	}
	var res Result
	for i, f := range files {
		dst := filepath.Join(in.ResultsDir, filepath.Base(f))
		if err := moveFile(f, dst); err != nil {
			return Result{}, fmt.Errorf("local build of %s: %w", in.Name, err)
		}
		fmt.Fprintf(blog, "rida: %s -> %s\n", nevras[i], dst)
		a := Artifact{Path: dst, NEVRA: nevras[i]}
		if i == 0 {
			res.SRPM = a
		} else {
			res.RPMs = append(res.RPMs, a)
		}
	}
	return res, nil
}

// findRPMs returns the *.rpm files under dir (rpmbuild writes binary
// packages into per-arch subdirectories), sorted by file name.
func findRPMs(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == dir {
				return fs.SkipAll
			}
			return err
		}
		if d.Type().IsRegular() && strings.HasSuffix(p, ".rpm") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing packages in %s: %w", dir, err)
	}
	slices.SortFunc(files, func(a, b string) int { return strings.Compare(filepath.Base(a), filepath.Base(b)) })
	return files, nil
}

// parseQuery reads QueryFormat's lines.
func parseQuery(out []byte) ([]NEVRA, error) {
	var nevras []NEVRA
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 5 {
			return nil, fmt.Errorf("rpm query line %q: want 5 fields", line)
		}
		epoch, err := strconv.Atoi(f[1])
		if err != nil || epoch < 0 {
			return nil, fmt.Errorf("rpm query line %q: bad epoch", line)
		}
		nevras = append(nevras, NEVRA{Name: f[0], Epoch: epoch, Version: f[2], Release: f[3], Arch: f[4]})
	}
	return nevras, sc.Err()
}

// moveFile renames src to dst, copying when they are on different file
// systems (WorkDir and the results directory need not share one).
func moveFile(src, dst string) error {
	err := os.Rename(src, dst)
	if !errors.Is(err, syscall.EXDEV) {
		if err != nil {
			return fmt.Errorf("moving %s: %w", filepath.Base(src), err)
		}
		return nil
	}
	if err := copyFile(src, dst); err != nil {
		return fmt.Errorf("copying %s: %w", filepath.Base(src), err)
	}
	return os.Remove(src)
}

// copyFile copies through a temporary file renamed into place, so dst is
// never seen half-written (createrepo_c may be reading the directory).
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return writeAtomic(dst, func(w io.Writer) error {
		_, err := io.Copy(w, in)
		return err
	})
}

// writeLog writes the combined build log, creating its directory.
func writeLog(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// CreateRepo makes resultsDir a repository: createrepo_c (with --update
// when repodata/repomd.xml exists), then, when modulesYAML is not empty,
// modifyrepo_c adds it as the "modules" record, as MBS does when it
// finalizes a local build (mbs.md §3.20).
func (b *Builder) CreateRepo(ctx context.Context, resultsDir string, modulesYAML []byte) error {
	return b.createRepo(ctx, resultsDir, nil, modulesYAML)
}

// CreateFinalRepo makes resultsDir the module's final repository: only the
// packages (paths relative to resultsDir: the module's artifacts, not
// module-build-macros or filtered packages, which the buildroot needed)
// with modulesYAML as its modules record.
func (b *Builder) CreateFinalRepo(ctx context.Context, resultsDir string, packages []string, modulesYAML []byte) error {
	return b.createRepo(ctx, resultsDir, packages, modulesYAML)
}

// createRepo indexes resultsDir (only packages when not nil) and adds
// modulesYAML as its modules record when not empty.
func (b *Builder) createRepo(ctx context.Context, resultsDir string, packages []string, modulesYAML []byte) error {
	resultsDir, err := filepath.Abs(resultsDir)
	if err != nil {
		return fmt.Errorf("createrepo: %w", err)
	}
	_, err = os.Stat(filepath.Join(resultsDir, "repodata", "repomd.xml"))
	update := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("createrepo %s: %w", resultsDir, err)
	}
	runErr := func(c Command, stderr []byte, err error) error {
		// Not the module's fault: the host's tools or disk failed, so this
		// stays an internal error.
		return fmt.Errorf("%s of %s: %w: %s", c.Name, resultsDir, err, firstLines(stderr))
	}
	// The package list and modules.yaml are written beside, not in, the
	// repository: createrepo_c would index a stray file, and modifyrepo_c
	// names the record after its file, which must be modules.yaml.
	tmp, err := os.MkdirTemp(b.WorkDir, "repo-")
	if err != nil {
		return fmt.Errorf("createrepo %s: %w", resultsDir, err)
	}
	defer os.RemoveAll(tmp)
	c := CreateRepoCommand(resultsDir, update)
	if packages != nil {
		list := filepath.Join(tmp, "pkglist")
		if err := os.WriteFile(list, []byte(strings.Join(packages, "\n")+"\n"), 0o644); err != nil {
			return fmt.Errorf("createrepo %s: %w", resultsDir, err)
		}
		c = FinalRepoCommand(resultsDir, list)
	}
	if _, stderr, err := b.Runner.Run(ctx, resultsDir, c.Name, c.Args...); err != nil {
		return runErr(c, stderr, err)
	}
	if len(modulesYAML) == 0 {
		return nil
	}
	f := filepath.Join(tmp, "modules.yaml")
	if err := os.WriteFile(f, modulesYAML, 0o644); err != nil {
		return fmt.Errorf("createrepo %s: %w", resultsDir, err)
	}
	c = ModifyRepoCommand(f, filepath.Join(resultsDir, "repodata"))
	if _, stderr, err := b.Runner.Run(ctx, resultsDir, c.Name, c.Args...); err != nil {
		return runErr(c, stderr, err)
	}
	b.log().Info("repository created", "dir", resultsDir, "update", update, "modules", true, "final", packages != nil)
	return nil
}

// firstLines returns up to the first 5 non-empty lines of a tool's stderr,
// joined, for an error message.
func firstLines(b []byte) string {
	var lines []string
	for line := range strings.Lines(string(b)) {
		if line = strings.TrimSpace(line); line != "" {
			lines = append(lines, line)
		}
		if len(lines) == 5 {
			break
		}
	}
	if len(lines) == 0 {
		return "no error output"
	}
	return strings.Join(lines, "; ")
}
