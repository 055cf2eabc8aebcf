package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/engine"
	"github.com/rida-build/rida/git"
	"github.com/rida-build/rida/httpapi"
	"github.com/rida-build/rida/sqlstore"
	"github.com/spf13/cobra"
)

func (m *Main) serveCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the REST API (migrating the database first unless --no-migrate)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := m.loadConfig(cmd.Flags())
			if err != nil {
				return err
			}
			return m.serve(cmd.Context(), c)
		},
	}
	addServerFlags(cmd.Flags())
	cmd.Flags().String("listen", "127.0.0.1:8080", "HTTP listen address; port 0 picks a free one (env RIDA_LISTEN)")
	cmd.Flags().Bool("no-migrate", false, "refuse to start on an outdated schema instead of migrating (env RIDA_NO_MIGRATE)")
	cmd.Flags().Bool("maintenance", false, "refuse write requests with 503 (env RIDA_MAINTENANCE)")
	cmd.Flags().StringArray("allow-scm", nil, "URL prefix modules may come from; repeatable (config scm.allowed_urls)")
	cmd.Flags().String("rpms-base", "", "base URL of component repositories, <base>/<name> (config scm.rpms_base)")
	cmd.Flags().String("backend", "local", "build system: local (rpmbuild on this machine) or koji (env RIDA_BACKEND)")
	cmd.Flags().String("koji-config", "/etc/koji.conf", "koji.conf-style file of the koji backend (config koji.config)")
	cmd.Flags().String("koji-profile", "koji", "profile (section) of --koji-config (config koji.profile)")
	cmd.Flags().Bool("no-engine", false, "serve the API only; another rida process builds (config engine.disabled)")
	addServeAuthFlags(cmd.Flags())
	addBusFlags(cmd.Flags())
	cmd.Flags().String("workdir", "./rida-builds", "where the local backend writes module-<n>-<s>-<v>-<c>/results (env RIDA_LOCAL_WORKDIR)")
	return cmd
}

// serve runs until ctx ends, then shuts down in reverse order of start.
func (m *Main) serve(ctx context.Context, c Config) error {
	logger := m.logger(c)
	// Authentication first: a server that must not start should not
	// migrate a database or start builds on its way to saying so.
	hc := c.httpConfig()
	if err := m.configureAuth(c, &hc, logger.With("component", "auth")); err != nil {
		return err
	}
	db, err := sqlstore.Open(ctx, c.DB, sqlstore.Options{Now: m.Now, Logger: logger, NoMigrate: c.NoMigrate})
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer db.Close()
	if c.NoMigrate {
		if err := requireMigrated(ctx, db); err != nil {
			return err
		}
	}
	scm, err := git.New(git.Config{CacheDir: c.SCM.CacheDir, AllowedSchemes: c.gitSchemes(), Logger: logger.With("component", "git")})
	if err != nil {
		return fmt.Errorf("set up git: %w", err)
	}
	importer := engine.NewImporter(db, scm, engine.ImportConfig{
		Enabled: c.SCM.ImportEnabled, BaseModuleNames: c.BaseModuleNames,
		SCMPolicy: rida.SCMPolicy{AllowedPrefixes: c.SCM.AllowedURLs},
	})
	submitter := engine.NewSubmitter(db, scm, db.Resolver(), engine.SubmitConfig{
		SCMPolicy: rida.SCMPolicy{AllowedPrefixes: c.SCM.AllowedURLs}, RPMsBase: c.SCM.RPMsBase,
		YAMLSubmitAllowed: c.API.YAMLSubmitAllowed, AllowScratch: c.API.AllowScratch,
		BaseModuleNames: c.BaseModuleNames, RebuildStrategy: rida.RebuildStrategy(c.API.RebuildStrategy),
		AllowRebuildStrategyOverride: c.API.AllowRebuildStrategyOverride,
		AllowedRebuildStrategies:     c.httpConfig().AllowedRebuildStrategies, Now: m.Now,
	})
	service := engine.NewService(db, importer, submitter, logger.With("component", "service"))

	workdir, err := filepath.Abs(c.Local.WorkDir)
	if err != nil {
		return fmt.Errorf("local.workdir: %w", err)
	}
	ms, err := startMessaging(c.Bus, db, logger.With("component", "bus"))
	if err != nil {
		return err
	}
	var sched *engine.Scheduler
	if !c.Engine.Disabled {
		var stop func()
		if stop, sched, err = m.startEngine(ctx, c, db, scm, service, workdir, logger); err != nil {
			return err
		}
		// Stopped after the HTTP server (deferred calls run in reverse),
		// so no request finds the engine gone.
		defer stop()
	}
	// The relay runs in every process, API replicas included: what it
	// publishes twice keeps its message id.
	busCtx, stopBus := context.WithCancel(context.WithoutCancel(ctx))
	waitBus := ms.run(busCtx, sched)
	defer func() { stopBus(); waitBus() }()
	hc.Events, hc.EventsChanged, hc.TopicPrefix = db, ms.signal.Wait, c.Bus.TopicPrefix

	srv := httpapi.NewServer(service, logger.With("component", "httpapi"), hc)
	if err := srv.Open(c.Listen); err != nil {
		return err
	}
	logger.Info("rida serving", "addr", srv.Addr(), "db", db.Dialect(), "version", rida.BuildVersion(), "maintenance", c.Maintenance,
		"backend", c.Backend, "workdir", workdir, "engine", !c.Engine.Disabled)
	if m.Ready != nil {
		m.Ready(srv.Addr())
	}
	<-ctx.Done()
	logger.Info("rida shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return srv.Close(shutdownCtx)
}

// startEngine runs the scheduler with the configured backend until the returned
// stop is called.
func (m *Main) startEngine(ctx context.Context, c Config, db *sqlstore.DB, scm *git.Client, service *engine.Service,
	workdir string, logger *slog.Logger) (stop func(), sched *engine.Scheduler, err error) {
	backend, err := m.newBackend(ctx, c, workdir, scm, db, logger)
	if err != nil {
		return nil, nil, err
	}
	sched = engine.NewScheduler(db, backend, engine.SchedulerConfig{
		Workers: c.Engine.Workers, MaxConcurrentBuilds: c.Engine.MaxConcurrentBuilds, MaxModuleBuilds: c.Engine.MaxModuleBuilds,
		Poll: reconcileInterval(c), StuckAfter: c.Engine.StuckAfter, LeaseTTL: c.Engine.LeaseTTL, RPMsBase: c.SCM.RPMsBase, BaseModuleNames: c.BaseModuleNames,
		Now: m.Now, Logger: logger.With("component", "scheduler"),
	})
	backend.setNotify(func(id int64) { sched.Wake(context.WithoutCancel(ctx), id) })
	service.WakeOn(sched.Wake)
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() { done <- sched.Run(runCtx) }()
	return func() {
		cancel()
		<-done
		if err := backend.Close(); err != nil {
			logger.Warn("closing the backend", "err", err)
		}
	}, sched, nil
}

// requireMigrated refuses to serve on a schema with pending migrations.
func requireMigrated(ctx context.Context, db *sqlstore.DB) error {
	status, err := db.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	for _, s := range status {
		if !s.Applied {
			return fmt.Errorf("database schema is not up to date (migration %d %s is pending): run \"rida migrate up\"", s.Version, s.Name)
		}
	}
	return nil
}
