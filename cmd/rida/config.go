package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/httpapi"
	"github.com/rida-build/rida/koji"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
)

// Config is rida's configuration. It is read in layers: defaults, then the
// YAML file (--config or RIDA_CONFIG; unknown keys are errors), then RIDA_*
// environment variables, then command-line flags.
type Config struct {
	// Listen is the HTTP address of "serve".
	Listen string `yaml:"listen"`
	// DB is the database: "sqlite:PATH" or "postgres://...".
	DB string `yaml:"db"`
	// NoMigrate makes "serve" refuse to start on an outdated schema instead
	// of migrating it.
	NoMigrate bool `yaml:"no_migrate"`
	// Maintenance refuses write requests with 503.
	Maintenance bool      `yaml:"maintenance"`
	Log         LogConfig `yaml:"log"`
	API         APIConfig `yaml:"api"`
	SCM         SCMConfig `yaml:"scm"`
	// BaseModuleNames are the modules treated as base modules (MBS
	// BASE_MODULE_NAMES).
	BaseModuleNames []string `yaml:"base_module_names"`
	// Server is the API base URL the client commands (list, show) talk to.
	Server string `yaml:"server"`
	// Backend is the build system "serve" drives: local (rpmbuild on this
	// machine, the default).
	Backend string       `yaml:"backend"`
	Local   LocalConfig  `yaml:"local"`
	Koji    KojiConfig   `yaml:"koji"`
	Engine  EngineConfig `yaml:"engine"`
	Auth    AuthConfig   `yaml:"auth"`
	Bus     BusConfig    `yaml:"bus"`
}

// LocalConfig configures the local backend.
type LocalConfig struct {
	// WorkDir receives module-<n>-<s>-<v>-<c>/results of every build.
	WorkDir string `yaml:"workdir"`
}

// KojiConfig configures the Koji backend.
type KojiConfig struct {
	// Config is a koji.conf-style file and Profile the section to use
	// (server, authtype, cert, serverca, ...).
	Config  string `yaml:"config"`
	Profile string `yaml:"profile"`
	// CGName is the content generator reservations and imports use.
	CGName string `yaml:"cg_name"`
	// DistGit is the base of the components' sources in Koji
	// (<dist_git>/<name>?#<commit>); empty builds from git+<the component's
	// repository>.
	DistGit string `yaml:"dist_git"`
	// Owner owns the package-list entries of module tags; default the
	// profile's user.
	Owner string `yaml:"owner"`
	// Arches are the module tags' arches.
	Arches []string `yaml:"arches"`
	// CGTagBuild tags imported modules into the CG build tag:
	// CGBuildTagTemplate with {} replaced by the platform stream, else
	// CGDefaultBuildTag (MBS's KOJI_CG_TAG_BUILD and its two settings).
	CGTagBuild         bool   `yaml:"cg_tag_build"`
	CGBuildTagTemplate string `yaml:"cg_build_tag_template"`
	CGDefaultBuildTag  string `yaml:"cg_default_build_tag"`
}

// EngineConfig tunes the scheduler (engine.SchedulerConfig).
type EngineConfig struct {
	// Disabled serves the API without building: for API replicas while
	// another process runs the engine (builds wait in the database).
	Disabled bool `yaml:"disabled"`
	// Workers bounds the module builds handled at once.
	Workers int `yaml:"workers"`
	// MaxConcurrentBuilds bounds the components building at once across
	// all module builds, shared fairly between them (MBS
	// NUM_CONCURRENT_BUILDS); -1 is unlimited.
	MaxConcurrentBuilds int `yaml:"max_concurrent_builds"`
	// MaxModuleBuilds bounds one module build's components building at
	// once; 0 is no bound beyond its fair share.
	MaxModuleBuilds int `yaml:"max_module_builds"`
	// ReconcileInterval is how often each build in progress is checked
	// against its backend without a wake-up (spread by ±10%); 0 chooses:
	// 60 s, or 10 s for the Koji backend without Koji's messages.
	ReconcileInterval time.Duration `yaml:"reconcile_interval"`
	// StuckAfter fails a build in init, wait or build that has not changed
	// for that long; default 7 days, negative never.
	StuckAfter time.Duration `yaml:"stuck_after"`
	// LeaseTTL is how long another process waits before taking over the
	// builds of a process that stopped heartbeating.
	LeaseTTL time.Duration `yaml:"lease_ttl"`
}

// LogConfig configures the process log.
type LogConfig struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level"`
	// Format is text or json.
	Format string `yaml:"format"`
}

// APIConfig configures the REST API.
type APIConfig struct {
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// RebuildStrategy is the default rebuild strategy; submitters may pick
	// one of AllowedRebuildStrategies when AllowRebuildStrategyOverride.
	RebuildStrategy              string   `yaml:"rebuild_strategy"`
	AllowRebuildStrategyOverride bool     `yaml:"allow_rebuild_strategy_override"`
	AllowedRebuildStrategies     []string `yaml:"allowed_rebuild_strategies"`
	// YAMLSubmitAllowed accepts modulemd in the request body (MBS
	// YAML_SUBMIT_ALLOWED); AllowScratch accepts scratch builds
	// (MODULES_ALLOW_SCRATCH).
	YAMLSubmitAllowed bool `yaml:"yaml_submit_allowed"`
	AllowScratch      bool `yaml:"allow_scratch"`
}

// SCMConfig configures access to module and component repositories.
type SCMConfig struct {
	// AllowedURLs are the URL prefixes modules may be built or imported
	// from (MBS SCMURLS). file:// is usable only when a prefix names it.
	AllowedURLs []string `yaml:"allowed_urls"`
	// RPMsBase is where component repositories live: <rpms_base>/<name>
	// (MBS RPMS_DEFAULT_REPOSITORY).
	RPMsBase string `yaml:"rpms_base"`
	// CacheDir holds the bare-repository cache.
	CacheDir string `yaml:"cache_dir"`
	// AllowedSchemes are the git transports allowed (git, http, https, ssh;
	// file is added when an allowed URL starts with file://).
	AllowedSchemes []string `yaml:"allowed_schemes"`
	// ImportEnabled turns on POST import-module/ (MBS: a non-empty
	// ALLOWED_GROUPS_TO_IMPORT_MODULE).
	ImportEnabled bool `yaml:"import_enabled"`
}

// DefaultConfig returns the configuration used when nothing is set: SQLite in
// ./rida.db, the API on 127.0.0.1:8080.
func DefaultConfig() Config {
	api := httpapi.DefaultConfig()
	allowed := make([]string, len(api.AllowedRebuildStrategies))
	for i, s := range api.AllowedRebuildStrategies {
		allowed[i] = string(s)
	}
	return Config{
		Listen: "127.0.0.1:8080",
		DB:     "sqlite:./rida.db",
		Log:    LogConfig{Level: "info", Format: "text"},
		API: APIConfig{
			MaxBodyBytes: api.MaxBodyBytes, RebuildStrategy: string(api.RebuildStrategy),
			AllowedRebuildStrategies: allowed,
		},
		Server: "http://127.0.0.1:8080",
		SCM: SCMConfig{
			CacheDir: "./rida-cache/git", AllowedSchemes: []string{"git", "https", "ssh"}, ImportEnabled: true,
		},
		BaseModuleNames: []string{"platform"},
		Backend:         "local",
		Local:           LocalConfig{WorkDir: "./rida-builds"},
		Koji: KojiConfig{Config: "/etc/koji.conf", Profile: "koji", CGName: "module-build-service", Arches: []string{"x86_64"},
			CGTagBuild: true, CGBuildTagTemplate: koji.DefaultCGBuildTagTemplate, CGDefaultBuildTag: koji.DefaultCGDefaultBuildTag},
		Engine: EngineConfig{Workers: 4, MaxConcurrentBuilds: 20, LeaseTTL: time.Minute, StuckAfter: 7 * 24 * time.Hour},
		Auth:   defaultAuthConfig(),
		Bus:    defaultBusConfig(),
	}
}

// ConfigError says which setting is wrong and where it came from.
type ConfigError struct {
	Source string // file path, "environment" or "flags"
	Field  string
	Err    error
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("configuration (%s): %s: %v", e.Source, e.Field, e.Err)
}

func (e *ConfigError) Unwrap() error { return e.Err }

// readConfigFile decodes path over c, refusing unknown keys.
func readConfigFile(c *Config, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return &ConfigError{Source: path, Field: "(file)", Err: err}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return &ConfigError{Source: path, Field: "(yaml)", Err: err}
	}
	return nil
}

// envOverrides are the RIDA_* variables and the setting each one sets.
var envOverrides = []struct {
	name string
	set  func(c *Config, v string) error
}{
	{"RIDA_LISTEN", func(c *Config, v string) error { c.Listen = v; return nil }},
	{"RIDA_DB", func(c *Config, v string) error { c.DB = v; return nil }},
	{"RIDA_NO_MIGRATE", func(c *Config, v string) (err error) { c.NoMigrate, err = strconv.ParseBool(v); return }},
	{"RIDA_MAINTENANCE", func(c *Config, v string) (err error) { c.Maintenance, err = strconv.ParseBool(v); return }},
	{"RIDA_LOG_LEVEL", func(c *Config, v string) error { c.Log.Level = v; return nil }},
	{"RIDA_LOG_FORMAT", func(c *Config, v string) error { c.Log.Format = v; return nil }},
	{"RIDA_API_MAX_BODY_BYTES", func(c *Config, v string) (err error) {
		c.API.MaxBodyBytes, err = strconv.ParseInt(v, 10, 64)
		return
	}},
	{"RIDA_SERVER", func(c *Config, v string) error { c.Server = v; return nil }},
	{"RIDA_SCM_ALLOWED_URLS", func(c *Config, v string) error { c.SCM.AllowedURLs = strings.Split(v, ","); return nil }},
	{"RIDA_SCM_RPMS_BASE", func(c *Config, v string) error { c.SCM.RPMsBase = v; return nil }},
	{"RIDA_SCM_CACHE_DIR", func(c *Config, v string) error { c.SCM.CacheDir = v; return nil }},
	{"RIDA_SCM_IMPORT_ENABLED", func(c *Config, v string) (err error) { c.SCM.ImportEnabled, err = strconv.ParseBool(v); return }},
	{"RIDA_BACKEND", func(c *Config, v string) error { c.Backend = v; return nil }},
	{"RIDA_LOCAL_WORKDIR", func(c *Config, v string) error { c.Local.WorkDir = v; return nil }},
	{"RIDA_KOJI_CONFIG", func(c *Config, v string) error { c.Koji.Config = v; return nil }},
	{"RIDA_KOJI_PROFILE", func(c *Config, v string) error { c.Koji.Profile = v; return nil }},
	{"RIDA_BUS_URL", func(c *Config, v string) error { c.Bus.URL = v; return nil }},
	{"RIDA_ENGINE_MAX_CONCURRENT_BUILDS", func(c *Config, v string) (err error) {
		c.Engine.MaxConcurrentBuilds, err = strconv.Atoi(v)
		return
	}},
}

// loadConfig applies the layers. Flags override only when set on the
// command line.
func (m *Main) loadConfig(flags *pflag.FlagSet) (Config, error) {
	c := DefaultConfig()
	path, _ := flags.GetString("config")
	if path == "" {
		path = m.Getenv("RIDA_CONFIG")
	}
	if path != "" {
		if err := readConfigFile(&c, path); err != nil {
			return c, err
		}
	}
	for _, o := range envOverrides {
		if v := m.Getenv(o.name); v != "" {
			if err := o.set(&c, v); err != nil {
				return c, &ConfigError{Source: "environment", Field: o.name, Err: err}
			}
		}
	}
	if err := c.Auth.applyEnv(m.Getenv); err != nil {
		return c, err
	}
	set := func(name string, apply func()) {
		if f := flags.Lookup(name); f != nil && f.Changed {
			apply()
		}
	}
	set("listen", func() { c.Listen, _ = flags.GetString("listen") })
	set("db", func() { c.DB, _ = flags.GetString("db") })
	set("no-migrate", func() { c.NoMigrate, _ = flags.GetBool("no-migrate") })
	set("maintenance", func() { c.Maintenance, _ = flags.GetBool("maintenance") })
	set("log-level", func() { c.Log.Level, _ = flags.GetString("log-level") })
	set("log-format", func() { c.Log.Format, _ = flags.GetString("log-format") })
	set("server", func() { c.Server, _ = flags.GetString("server") })
	set("allow-scm", func() { c.SCM.AllowedURLs, _ = flags.GetStringArray("allow-scm") })
	set("rpms-base", func() { c.SCM.RPMsBase, _ = flags.GetString("rpms-base") })
	set("backend", func() { c.Backend, _ = flags.GetString("backend") })
	set("workdir", func() { c.Local.WorkDir, _ = flags.GetString("workdir") })
	set("no-engine", func() { c.Engine.Disabled, _ = flags.GetBool("no-engine") })
	set("koji-config", func() { c.Koji.Config, _ = flags.GetString("koji-config") })
	set("koji-profile", func() { c.Koji.Profile, _ = flags.GetString("koji-profile") })
	c.Auth.applyFlags(flags)
	c.Bus.applyFlags(flags)
	return c, c.Validate()
}

// Validate checks every setting and names the first wrong one.
func (c *Config) Validate() error {
	bad := func(field string, format string, args ...any) error {
		return &ConfigError{Source: "settings", Field: field, Err: fmt.Errorf(format, args...)}
	}
	if _, err := parseLogLevel(c.Log.Level); err != nil {
		return bad("log.level", "%v", err)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		return bad("log.format", "want text or json, not %q", c.Log.Format)
	}
	if c.API.MaxBodyBytes <= 0 {
		return bad("api.max_body_bytes", "must be positive, not %d", c.API.MaxBodyBytes)
	}
	if !rida.RebuildStrategy(c.API.RebuildStrategy).Valid() {
		return bad("api.rebuild_strategy", "unknown strategy %q", c.API.RebuildStrategy)
	}
	for _, s := range c.API.AllowedRebuildStrategies {
		if !rida.RebuildStrategy(s).Valid() {
			return bad("api.allowed_rebuild_strategies", "unknown strategy %q", s)
		}
	}
	for _, scheme := range c.SCM.AllowedSchemes {
		if !slices.Contains([]string{"git", "http", "https", "ssh", "file"}, scheme) {
			return bad("scm.allowed_schemes", "unknown scheme %q: want git, http, https, ssh or file", scheme)
		}
	}
	if c.SCM.CacheDir == "" {
		return bad("scm.cache_dir", "must be set")
	}
	if len(c.BaseModuleNames) == 0 {
		return bad("base_module_names", "must name at least one module")
	}
	switch c.Backend {
	case "local":
	case "koji":
		if c.Koji.Config == "" || c.Koji.Profile == "" || c.Koji.CGName == "" {
			return bad("koji", "the koji backend needs koji.config, koji.profile and koji.cg_name")
		}
	default:
		return bad("backend", "want local or koji, not %q", c.Backend)
	}
	if c.Local.WorkDir == "" {
		return bad("local.workdir", "must be set")
	}
	if c.Engine.Workers <= 0 {
		return bad("engine.workers", "must be positive, not %d", c.Engine.Workers)
	}
	if c.Engine.MaxConcurrentBuilds == 0 || c.Engine.MaxConcurrentBuilds < -1 {
		return bad("engine.max_concurrent_builds", "must be positive or -1 (unlimited), not %d", c.Engine.MaxConcurrentBuilds)
	}
	if c.Engine.MaxModuleBuilds < 0 {
		return bad("engine.max_module_builds", "must be 0 (no bound) or positive, not %d", c.Engine.MaxModuleBuilds)
	}
	if c.Engine.ReconcileInterval < 0 {
		return bad("engine.reconcile_interval", "must be a positive duration (or 0 to choose), not %s", c.Engine.ReconcileInterval)
	}
	if c.Engine.LeaseTTL <= 0 {
		return bad("engine.lease_ttl", "must be a positive duration, not %s", c.Engine.LeaseTTL)
	}
	if err := c.Bus.validate(); err != nil {
		return err
	}
	if err := c.Auth.validate(); err != nil {
		return err
	}
	if !strings.HasPrefix(c.DB, "sqlite:") && !strings.HasPrefix(c.DB, "postgres://") && !strings.HasPrefix(c.DB, "postgresql://") {
		return bad("db", "want sqlite:PATH or postgres://..., not %q", c.DB)
	}
	return nil
}

func parseLogLevel(s string) (slog.Level, error) {
	var l slog.Level
	err := l.UnmarshalText([]byte(s))
	return l, err
}

// logger builds the process logger from the configuration.
func (m *Main) logger(c Config) *slog.Logger {
	level, _ := parseLogLevel(c.Log.Level)
	opts := &slog.HandlerOptions{Level: level}
	if c.Log.Format == "json" {
		return slog.New(slog.NewJSONHandler(m.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(m.Stderr, opts))
}

// httpConfig converts the API settings for httpapi.
func (c *Config) httpConfig() httpapi.Config {
	h := httpapi.DefaultConfig()
	h.MaxBodyBytes = c.API.MaxBodyBytes
	h.Maintenance = c.Maintenance
	h.RebuildStrategy = rida.RebuildStrategy(c.API.RebuildStrategy)
	h.AllowRebuildStrategyOverride = c.API.AllowRebuildStrategyOverride
	h.AllowedRebuildStrategies = nil
	for _, s := range c.API.AllowedRebuildStrategies {
		h.AllowedRebuildStrategies = append(h.AllowedRebuildStrategies, rida.RebuildStrategy(s))
	}
	return h
}

// addServerFlags adds the flags serve and migrate share.
func addServerFlags(flags *pflag.FlagSet) {
	flags.String("config", "", "YAML configuration file (env RIDA_CONFIG)")
	flags.String("db", "sqlite:./rida.db", "database: sqlite:PATH or postgres://... (env RIDA_DB)")
	flags.String("log-level", "info", "log level: debug, info, warn, error (env RIDA_LOG_LEVEL)")
	flags.String("log-format", "text", "log format: text or json (env RIDA_LOG_FORMAT)")
}

// gitSchemes returns the transports the git client may use: the configured
// ones, plus file when an allowed URL prefix is a file:// one.
func (c *Config) gitSchemes() []string {
	schemes := slices.Clone(c.SCM.AllowedSchemes)
	for _, prefix := range c.SCM.AllowedURLs {
		if strings.HasPrefix(prefix, "file://") && !slices.Contains(schemes, "file") {
			schemes = append(schemes, "file")
		}
	}
	return schemes
}
