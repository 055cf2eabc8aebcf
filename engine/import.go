package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/expand"
	"github.com/rida-build/rida/modulemd"
)

// SCM is what the engine needs from the source repositories. git.Client
// implements it.
type SCM interface {
	ResolveRef(ctx context.Context, repoURL, ref string) (string, error)
	ReadFile(ctx context.Context, repoURL, commit, path string) ([]byte, error)
}

// ImportStore is what importing needs from the database.
type ImportStore interface {
	ImportModuleBuild(ctx context.Context, m *rida.ModuleBuild) (*rida.ModuleBuild, bool, error)
	FindModuleBuilds(ctx context.Context, f rida.ModuleBuildFilter) ([]*rida.ModuleBuild, int, error)
}

// ImportConfig configures module imports (MBS's import_mmd).
type ImportConfig struct {
	// Enabled turns the import API on (MBS: ALLOWED_GROUPS_TO_IMPORT_MODULE
	// not empty).
	Enabled bool
	// BaseModuleNames are the modules treated as base modules (MBS
	// BASE_MODULE_NAMES, default ["platform"]).
	BaseModuleNames []string
	// StreamSuffixes adjust base module stream versions (MBS
	// STREAM_SUFFIXES).
	StreamSuffixes []expand.StreamSuffix
	// SCMPolicy says which repositories may be imported from.
	SCMPolicy rida.SCMPolicy
}

// importOwner is the owner MBS records for imported builds; tools filter on
// it to tell metadata-only modules from built ones.
const importOwner = "mbs_import"

// Importer imports module metadata, such as base modules like platform,
// as ready module builds. It implements the import part of
// rida.ModuleBuildService.
type Importer struct {
	store  ImportStore
	scm    SCM
	config ImportConfig
}

// NewImporter returns an Importer. scm may be nil, which refuses imports
// from an SCM URL.
func NewImporter(store ImportStore, scm SCM, config ImportConfig) *Importer {
	if len(config.BaseModuleNames) == 0 {
		config.BaseModuleNames = []string{"platform"}
	}
	return &Importer{store: store, scm: scm, config: config}
}

// ImportModule implements rida.ModuleBuildService.
func (im *Importer) ImportModule(ctx context.Context, req rida.ImportRequest) (*rida.ModuleBuild, []string, error) {
	if !im.config.Enabled {
		return nil, nil, rida.Errorf(rida.CodeForbidden, "Import module API is disabled.")
	}
	data, source, scmurl, err := im.fetch(ctx, req)
	if err != nil {
		return nil, nil, err
	}
	s, err := modulemd.ReadStream(data, source, modulemd.Options{})
	if err != nil {
		return nil, nil, modulemdError(source, err)
	}
	m, err := im.moduleBuild(ctx, s)
	if err != nil {
		return nil, nil, err
	}
	m.SCMURL = scmurl
	got, created, err := im.store.ImportModuleBuild(ctx, m)
	if err != nil {
		return nil, nil, fmt.Errorf("import %s: %w", m.NSVC(), err)
	}
	var messages []string
	if !created {
		messages = append(messages, fmt.Sprintf("Updating existing module build %s.", got.NSVC()))
	}
	messages = append(messages, fmt.Sprintf("Module %s imported", got.NSVC()))
	return got, messages, nil
}

// fetch returns the modulemd text of the request, a name for error messages
// and the SCM URL to record.
func (im *Importer) fetch(ctx context.Context, req rida.ImportRequest) (data []byte, source, scmurl string, err error) {
	switch {
	case req.SCMURL != "" && req.Modulemd != "":
		return nil, "", "", rida.Errorf(rida.CodeInvalid, `Give either "scmurl" or "modulemd", not both`)
	case req.Modulemd != "":
		return []byte(req.Modulemd), bodySource, "", nil
	case req.SCMURL == "":
		return nil, "", "", rida.Errorf(rida.CodeInvalid, "Missing scmurl")
	}
	u, err := rida.ParseSCMURL(req.SCMURL)
	if err != nil {
		return nil, "", "", err
	}
	if err := im.config.SCMPolicy.Check(u); err != nil {
		return nil, "", "", err
	}
	if im.scm == nil {
		return nil, "", "", rida.Errorf(rida.CodeUnavailable, "This server has no SCM access configured")
	}
	commit, err := im.scm.ResolveRef(ctx, u.Repo, u.Commit)
	if err != nil {
		return nil, "", "", err
	}
	path := u.ModulemdPath(u.RepoName())
	data, err = im.scm.ReadFile(ctx, u.Repo, commit, path)
	if err != nil {
		return nil, "", "", err
	}
	return data, path, u.Raw, nil
}

// bodySource names a modulemd given in the request body in error positions.
const bodySource = "modulemd"

// modulemdError turns the parser's errors into one 422 that lists them all,
// each with its line and column.
func modulemdError(source string, err error) error {
	errs := modulemd.Errors(err)
	if len(errs) == 0 {
		return &rida.Error{Code: rida.CodeUnprocessable, Message: fmt.Sprintf("The modulemd %s is invalid: %v", source, err), Err: err}
	}
	lines := make([]string, len(errs))
	for i, e := range errs {
		lines[i] = e.Error()
	}
	what := "The modulemd"
	if source != bodySource {
		what += " " + source
	}
	return &rida.Error{Code: rida.CodeUnprocessable, Message: fmt.Sprintf("%s is invalid. Please verify the syntax is correct. %s", what, strings.Join(lines, "; ")), Err: err}
}

// moduleBuild applies MBS's import rules (mbs.md §3.16) and returns the
// build to store.
func (im *Importer) moduleBuild(ctx context.Context, s *modulemd.Stream) (*rida.ModuleBuild, error) {
	unprocessable := func(format string, args ...any) error { return rida.Errorf(rida.CodeUnprocessable, format, args...) }
	if s.Name == "" || s.Stream == "" {
		return nil, unprocessable("Both the name and stream must be set for the modulemd being imported.")
	}
	s = s.UpgradeV2()
	if s.Context == "" {
		s.Context = "00000000"
	}
	xmd := s.XMDMap()
	mbs, _ := xmd["mbs"].(map[string]any)
	if mbs == nil {
		mbs = map[string]any{"mse": true}
		s.SetXMD("mbs", mbs)
	}
	isBase := slices.Contains(im.config.BaseModuleNames, s.Name)
	if isBase {
		marking, _ := mbs["disttag_marking"].(string)
		if strings.Contains(marking, "-") {
			return nil, unprocessable("The disttag_marking cannot contain a dash")
		}
		if marking == "" && strings.Contains(s.Stream, "-") {
			return nil, unprocessable("The stream cannot contain a dash unless disttag_marking is set")
		}
	}
	var virtualStreams []string
	if raw, ok := mbs["virtual_streams"]; ok {
		list, ok := raw.([]any)
		if !ok {
			return nil, unprocessable("The virtual streams must be a list of strings")
		}
		for _, v := range list {
			str, ok := v.(string)
			if !ok {
				return nil, unprocessable("The virtual streams must be a list of strings")
			}
			virtualStreams = append(virtualStreams, str)
		}
	}
	if len(s.Dependencies) > 1 {
		return nil, unprocessable("The imported module's dependencies list should contain just one element")
	}
	brs, err := xmdBuildRequires(mbs)
	if err != nil {
		return nil, err
	}
	if len(s.Dependencies) == 1 && len(s.Dependencies[0].BuildRequires) > 0 {
		if _, ok := mbs["buildrequires"]; !ok {
			mbs["buildrequires"] = map[string]any{}
		}
		var missing []string
		for name := range s.Dependencies[0].BuildRequires {
			if _, ok := brs[name]; !ok {
				missing = append(missing, name)
			}
		}
		if len(missing) > 0 {
			slices.Sort(missing)
			return nil, unprocessable(`The imported module buildrequires other modules, but the metadata in the xmd["mbs"]["buildrequires"] dictionary is missing entries: %s`, strings.Join(missing, ", "))
		}
	}
	text, err := s.Emit(modulemd.EmitOptions{})
	if err != nil {
		return nil, fmt.Errorf("emit imported modulemd: %w", err)
	}
	kojiTag, _ := mbs["koji_tag"].(string)
	commit, _ := mbs["commit"].(string)
	mse, _ := mbs["mse"].(bool)
	m := &rida.ModuleBuild{
		Name: s.Name, Stream: s.Stream, Version: s.Version, Context: s.Context, State: rida.ModuleReady,
		Owner: importOwner, Modulemd: string(text), KojiTag: kojiTag, RebuildStrategy: rida.RebuildAll,
		BuildRequires: brs, VirtualStreams: virtualStreams, Commit: commit, MSE: mse,
	}
	m.Requires = runtimeRequires(s)
	if isBase {
		if v, ok := expand.StreamVersion(s.Stream, true, im.config.StreamSuffixes); ok {
			m.StreamVersion = &v
		}
	}
	// Link the base modules this module was built against, as MBS does, so
	// the base_module_br filters find it.
	for name, br := range brs {
		if !slices.Contains(im.config.BaseModuleNames, name) {
			continue
		}
		base, err := im.findBuild(ctx, name, br)
		if err != nil {
			return nil, err
		}
		m.BaseModules = append(m.BaseModules, base)
	}
	return m, nil
}

// findBuild finds the build an xmd buildrequires entry names.
func (im *Importer) findBuild(ctx context.Context, name string, br rida.BuildRequire) (*rida.ModuleBuild, error) {
	var version *uint64
	var v uint64
	if _, err := fmt.Sscan(br.Version, &v); err == nil {
		version = &v
	}
	base, err := findNSVC(ctx, im.store, name, br.Stream, version, br.Context)
	if err != nil {
		return nil, fmt.Errorf("find base module %s:%s: %w", name, br.Stream, err)
	}
	if base == nil {
		return nil, rida.Errorf(rida.CodeUnprocessable, "The base module %s:%s:%s:%s is not known; import it first.", name, br.Stream, br.Version, br.Context)
	}
	return base, nil
}

// xmdBuildRequires reads xmd.mbs.buildrequires: name → {stream, version,
// context, ref, koji_tag, filtered_rpms}.
func xmdBuildRequires(mbs map[string]any) (map[string]rida.BuildRequire, error) {
	raw, ok := mbs["buildrequires"]
	if !ok {
		return nil, nil
	}
	entries, ok := raw.(map[string]any)
	if !ok {
		return nil, rida.Errorf(rida.CodeUnprocessable, `xmd["mbs"]["buildrequires"] must be a mapping`)
	}
	out := make(map[string]rida.BuildRequire, len(entries))
	for name, v := range entries {
		e, ok := v.(map[string]any)
		if !ok {
			return nil, rida.Errorf(rida.CodeUnprocessable, `xmd["mbs"]["buildrequires"][%q] must be a mapping`, name)
		}
		str := func(key string) string { s, _ := e[key].(string); return s }
		br := rida.BuildRequire{Stream: str("stream"), Version: str("version"), Context: str("context"), Ref: str("ref"), KojiTag: str("koji_tag")}
		if list, ok := e["filtered_rpms"].([]any); ok {
			for _, item := range list {
				if s, ok := item.(string); ok {
					br.FilteredRPMs = append(br.FilteredRPMs, s)
				}
			}
		}
		if br.Stream == "" {
			return nil, rida.Errorf(rida.CodeUnprocessable, `xmd["mbs"]["buildrequires"][%q] has no stream`, name)
		}
		out[name] = br
	}
	return out, nil
}
