package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/engine"
	"github.com/rida-build/rida/git"
	"github.com/rida-build/rida/sqlstore"
	"github.com/spf13/cobra"
)

// buildLocalFlags are build-local's options.
type buildLocalFlags struct {
	workdir, rpmsBase, stream, platform string
	baseModules                         []string
	offline                             bool
	buildrequires                       []string
	maxBuilds                           int
}

func (m *Main) buildLocalCmd() *cobra.Command {
	var f buildLocalFlags
	cmd := &cobra.Command{
		Use:   "build-local FILE.yaml|SCMURL",
		Short: "Build a module on this machine with rpmbuild, through the same engine as the service",
		Long: "Build a module from a modulemd file or the modulemd at an SCM URL on this machine, as MBS's " +
			"build_module_locally does: an ephemeral in-memory database, base modules imported from " +
			"--base-module files, components fetched from --rpms-base and built with rpmbuild (or mock " +
			"when it is installed and configured) into WORKDIR/module-<name>-<stream>-<version>-<context>/results. " +
			"Exits 0 only when every build of the module is ready.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := m.loadConfig(cmd.Flags())
			if err != nil {
				return err
			}
			if !cmd.Flags().Changed("log-level") && m.Getenv("RIDA_LOG_LEVEL") == "" {
				// The progress display is the output; the log is for
				// problems.
				c.Log.Level = "warn"
			}
			return m.buildLocal(cmd.Context(), c, f, args[0])
		},
	}
	fl := cmd.Flags()
	fl.String("config", "", "YAML configuration file (env RIDA_CONFIG)")
	fl.String("log-level", "warn", "log level: debug, info, warn, error (env RIDA_LOG_LEVEL)")
	fl.String("log-format", "text", "log format: text or json (env RIDA_LOG_FORMAT)")
	fl.StringVar(&f.workdir, "workdir", "./rida-local", "directory of the results (and the git cache)")
	fl.StringVar(&f.rpmsBase, "rpms-base", "", "base URL of component repositories, <base>/<name> (default: config scm.rpms_base)")
	fl.StringVar(&f.stream, "stream", "", "stream of a modulemd file that names none (default: the file's name, then \"master\")")
	fl.StringArrayVar(&f.baseModules, "base-module", nil, "modulemd file of a base module (e.g. platform) to import first; repeatable")
	fl.BoolVar(&f.offline, "offline", false, "use only file:// repositories, and make the platform base module from --platform or /etc/os-release when no --base-module names one")
	fl.StringVar(&f.platform, "platform", "", "platform base module NAME:STREAM for --offline (default: PLATFORM_ID of /etc/os-release)")
	fl.StringArrayVar(&f.buildrequires, "buildrequire", nil, "override a buildrequire's streams: NAME:STREAM[,STREAM...]; repeatable")
	fl.IntVar(&f.maxBuilds, "max-builds", 0, "components built at once (default: the number of CPUs)")
	return cmd
}

// buildLocal runs the whole build in this process and reports it.
func (m *Main) buildLocal(ctx context.Context, c Config, f buildLocalFlags, source string) error {
	logger := m.logger(c)
	workdir, err := filepath.Abs(f.workdir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(workdir, 0o755); err != nil {
		return fmt.Errorf("work directory: %w", err)
	}
	rpmsBase := f.rpmsBase
	if rpmsBase == "" {
		rpmsBase = c.SCM.RPMsBase
	}
	if rpmsBase == "" {
		return rida.Errorf(rida.CodeInvalid, "--rpms-base is required: where the component repositories are (<base>/<name>)")
	}
	owner := m.Getenv("USER")
	if owner == "" {
		owner = "local"
	}
	req := rida.SubmitRequest{Owner: owner}
	if req.BuildrequireOverrides, err = parseOverrides("buildrequire", f.buildrequires); err != nil {
		return err
	}
	// What this run may read: the module itself and the components.
	allowed := []string{rpmsBase}
	if data, err := os.ReadFile(source); err == nil {
		req.Modulemd = string(data)
		req.ModuleName = strings.TrimSuffix(strings.TrimSuffix(filepath.Base(source), ".yaml"), ".yml")
		req.ModuleStream = f.stream
	} else if errors.Is(err, os.ErrNotExist) && strings.Contains(source, "://") {
		req.SCMURL, req.Branch = source, f.stream
		allowed = append(allowed, source)
	} else {
		return fmt.Errorf("read %s: %w", source, err)
	}
	if f.offline {
		for _, u := range allowed {
			if !strings.HasPrefix(u, "file://") {
				return rida.Errorf(rida.CodeInvalid, "--offline builds read only file:// repositories, not %s", u)
			}
		}
	}
	schemes := []string{"git", "https", "ssh"}
	for _, u := range allowed {
		if strings.HasPrefix(u, "file://") {
			schemes = append(schemes, "file")
			break
		}
	}

	// An ephemeral database: the build's whole state lives in this process
	// (MBS recreates .mbs_local_build.db each run).
	db, err := sqlstore.Open(ctx, "sqlite::memory:", sqlstore.Options{Now: m.Now, Logger: logger})
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer db.Close()
	scm, err := git.New(git.Config{CacheDir: filepath.Join(workdir, ".cache", "git"), AllowedSchemes: schemes, Logger: logger.With("component", "git")})
	if err != nil {
		return fmt.Errorf("set up git: %w", err)
	}
	policy := rida.SCMPolicy{AllowedPrefixes: allowed}
	importer := engine.NewImporter(db, scm, engine.ImportConfig{Enabled: true, BaseModuleNames: c.BaseModuleNames, SCMPolicy: policy})
	if err := m.importBaseModules(ctx, importer, f); err != nil {
		return err
	}
	submitter := engine.NewSubmitter(db, scm, db.Resolver(), engine.SubmitConfig{
		SCMPolicy: policy, RPMsBase: rpmsBase, YAMLSubmitAllowed: true, AllowScratch: true,
		BaseModuleNames: c.BaseModuleNames, RebuildStrategy: rida.RebuildAll, Now: m.Now,
	})
	service := engine.NewService(db, importer, submitter, logger.With("component", "service"))

	// The service's engine, tuned for one machine: as many builds at once
	// as it has CPUs, and a short poll.
	c.Backend = "local"
	c.SCM.RPMsBase = rpmsBase
	c.Engine.MaxConcurrentBuilds = f.maxBuilds
	if c.Engine.MaxConcurrentBuilds <= 0 {
		c.Engine.MaxConcurrentBuilds = defaultLocalBuilds()
	}
	c.Engine.ReconcileInterval = 2 * time.Second
	stop, _, err := m.startEngine(ctx, c, db, scm, service, workdir, logger)
	if err != nil {
		return err
	}
	defer stop()

	sub, err := service.SubmitModuleBuild(ctx, req)
	if err != nil {
		return err
	}
	ids := make([]int64, len(sub.Builds))
	for i, b := range sub.Builds {
		ids[i] = b.ID
	}
	return m.followLocal(ctx, db, ids, workdir)
}

// importBaseModules imports --base-module files, or with --offline and none
// given, a platform made from --platform or /etc/os-release (MBS's offline
// fake base module, mbs.md §3.20).
func (m *Main) importBaseModules(ctx context.Context, importer *engine.Importer, f buildLocalFlags) error {
	for _, path := range f.baseModules {
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("--base-module: %w", err)
		}
		if _, _, err := importer.ImportModule(ctx, rida.ImportRequest{Modulemd: string(data)}); err != nil {
			return fmt.Errorf("--base-module %s: %w", path, err)
		}
	}
	if len(f.baseModules) > 0 || !f.offline {
		return nil
	}
	platform := f.platform
	if platform == "" {
		var err error
		if platform, err = osReleasePlatform("/etc/os-release"); err != nil {
			return err
		}
	}
	name, stream, ok := strings.Cut(platform, ":")
	if !ok || name == "" || stream == "" {
		return rida.Errorf(rida.CodeInvalid, "--platform %q: want NAME:STREAM, e.g. platform:f40", platform)
	}
	_, _, err := importer.ImportModule(ctx, rida.ImportRequest{Modulemd: offlinePlatform(name, stream)})
	return err
}

// offlinePlatform is the modulemd of MBS's offline fake base module:
// NAME:STREAM:1:000000, metadata only (its commit is "virtual": it comes
// from no repository).
func offlinePlatform(name, stream string) string {
	return fmt.Sprintf(`document: modulemd
version: 2
data:
  name: %s
  stream: %q
  version: 1
  context: "000000"
  summary: The base module of this machine, for offline local builds
  description: Made by rida build-local --offline from the platform of this machine.
  license:
    module: [MIT]
  xmd:
    mbs:
      buildrequires: {}
      requires: {}
      commit: virtual
      mse: TRUE
`, name, stream)
}

// osReleasePlatform reads PLATFORM_ID (e.g. platform:f40) from os-release.
func osReleasePlatform(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", rida.Errorf(rida.CodeInvalid, "--offline needs --platform NAME:STREAM here: %v", err)
	}
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "PLATFORM_ID="); ok {
			return strings.Trim(v, `"'`), nil
		}
	}
	return "", rida.Errorf(rida.CodeInvalid, "--offline needs --platform NAME:STREAM: %s has no PLATFORM_ID (only Fedora-like systems have one)", path)
}

// followLocal shows progress until every build ends, then says where the
// results are. The error says which builds did not become ready.
func (m *Main) followLocal(ctx context.Context, db *sqlstore.DB, ids []int64, workdir string) error {
	p := newProgress(m.Stdout, isTerminal(m.Stdout))
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		builds := make([]*rida.ModuleBuild, 0, len(ids))
		finished := true
		for _, id := range ids {
			b, err := db.FindModuleBuildByID(ctx, id, rida.ModuleBuildInclude{Components: true})
			if err != nil {
				return err
			}
			builds = append(builds, b)
			if !b.State.Terminal() {
				finished = false
			}
		}
		p.show(builds)
		if finished {
			var failed []string
			for _, b := range builds {
				dir := filepath.Join(workdir, fmt.Sprintf("module-%s-%s-%d-%s", b.Name, b.Stream, b.Version, b.Context), "results")
				if b.State == rida.ModuleReady {
					fmt.Fprintf(m.Stdout, "%s is %s: %s\n", b.NSVC(), b.State, dir)
					continue
				}
				failed = append(failed, fmt.Sprintf("%s is %s: %s", b.NSVC(), b.State, b.StateReason))
			}
			if len(failed) > 0 {
				return rida.Errorf(rida.CodeUnprocessable, "Module build failed: %s", strings.Join(failed, "; "))
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// isTerminal reports whether w is a character device (a terminal), where
// the progress block is redrawn in place.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
