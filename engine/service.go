package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/modulemd"
)

// Store is what Service needs from the database. sqlstore.DB implements it.
type Store interface {
	FindModuleBuildByID(ctx context.Context, id int64, inc rida.ModuleBuildInclude) (*rida.ModuleBuild, error)
	FindModuleBuilds(ctx context.Context, f rida.ModuleBuildFilter) ([]*rida.ModuleBuild, int, error)
	FindComponentBuildByID(ctx context.Context, id int64, withTrace bool) (*rida.ComponentBuild, error)
	FindComponentBuilds(ctx context.Context, f rida.ComponentBuildFilter) ([]*rida.ComponentBuild, int, error)
	TransitionModuleBuild(ctx context.Context, t rida.ModuleTransition) (*rida.ModuleBuild, error)
}

// Service implements rida.ModuleBuildService.
type Service struct {
	store     Store
	importer  *Importer
	submitter *Submitter
	logger    *slog.Logger
	// wake tells the scheduler a build changed, so it acts at once rather
	// than at its next scan.
	wake func(ctx context.Context, id int64)
}

// WakeOn sets the in-process notifier the service calls after it creates,
// resumes or cancels a build (Scheduler.Wake). Without one, the scheduler
// still finds the build: transitions make it due, and it scans.
func (s *Service) WakeOn(wake func(ctx context.Context, id int64)) { s.wake = wake }

func (s *Service) notify(ctx context.Context, id int64) {
	if s.wake != nil {
		s.wake(ctx, id)
	}
}

var _ rida.ModuleBuildService = (*Service)(nil)

// NewService returns a Service over store. A nil importer refuses imports,
// a nil submitter submissions; a nil logger discards.
func NewService(store Store, importer *Importer, submitter *Submitter, logger *slog.Logger) *Service {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, importer: importer, submitter: submitter, logger: logger}
}

// SubmitModuleBuild implements rida.ModuleBuildService.
func (s *Service) SubmitModuleBuild(ctx context.Context, req rida.SubmitRequest) (*rida.Submission, error) {
	if s.submitter == nil {
		return nil, rida.Errorf(rida.CodeUnavailable, "This server does not accept module builds: it has no submission pipeline configured")
	}
	sub, err := s.submitter.Submit(ctx, req)
	if err != nil {
		return nil, err
	}
	for i, m := range sub.Builds {
		if sub.Created[i] {
			s.logger.InfoContext(ctx, "module build submitted", "module_build_id", m.ID, "nsvc", m.NSVC(), "owner", req.Owner)
			s.notify(ctx, m.ID)
		}
	}
	return sub, nil
}

// ImportModule implements rida.ModuleBuildService.
func (s *Service) ImportModule(ctx context.Context, req rida.ImportRequest) (*rida.ModuleBuild, []string, error) {
	if s.importer == nil {
		return nil, nil, rida.Errorf(rida.CodeForbidden, "Import module API is disabled.")
	}
	m, messages, err := s.importer.ImportModule(ctx, req)
	if err == nil {
		s.logger.InfoContext(ctx, "module imported", "module_build_id", m.ID, "nsvc", m.NSVC())
	}
	return m, messages, err
}

// FindModuleBuildByID implements rida.ModuleBuildService.
func (s *Service) FindModuleBuildByID(ctx context.Context, id int64, inc rida.ModuleBuildInclude) (*rida.ModuleBuild, error) {
	return s.store.FindModuleBuildByID(ctx, id, inc)
}

// FindModuleBuilds implements rida.ModuleBuildService.
func (s *Service) FindModuleBuilds(ctx context.Context, f rida.ModuleBuildFilter) ([]*rida.ModuleBuild, int, error) {
	return s.store.FindModuleBuilds(ctx, f)
}

// FindComponentBuildByID implements rida.ModuleBuildService.
func (s *Service) FindComponentBuildByID(ctx context.Context, id int64, withTrace bool) (*rida.ComponentBuild, error) {
	return s.store.FindComponentBuildByID(ctx, id, withTrace)
}

// FindComponentBuilds implements rida.ModuleBuildService.
func (s *Service) FindComponentBuilds(ctx context.Context, f rida.ComponentBuildFilter) ([]*rida.ComponentBuild, int, error) {
	return s.store.FindComponentBuilds(ctx, f)
}

// cancelAttempts bounds the re-reads when another writer moves the build
// between our read and our compare-and-set.
const cancelAttempts = 5

// CancelModuleBuild implements rida.ModuleBuildService: a build in init, wait
// or build moves to failed with "Canceled by <user>.". Stopping its running
// component builds is the engine's reaction to that state change. When ctx
// carries an authenticated user (rida.UserFromContext), only the build's
// owner or an admin may cancel it.
func (s *Service) CancelModuleBuild(ctx context.Context, id int64, user string) (*rida.ModuleBuild, error) {
	for range cancelAttempts {
		m, err := s.store.FindModuleBuildByID(ctx, id, rida.ModuleBuildInclude{})
		if err != nil {
			return nil, err
		}
		if err := rida.CheckOwner(ctx, m.Owner, "cancel", id); err != nil {
			return nil, err
		}
		if !m.State.Cancelable() {
			return nil, rida.Errorf(rida.CodeInvalid, "To cancel a module build, it must be in one of the following states: build, init, wait")
		}
		_, err = s.store.TransitionModuleBuild(ctx, rida.ModuleTransition{
			ID: id, FromRev: m.Rev, To: rida.ModuleFailed, Reason: fmt.Sprintf("Canceled by %s.", user),
		})
		if errors.Is(err, rida.ErrStaleWrite) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cancel module build %d: %w", id, err)
		}
		s.logger.InfoContext(ctx, "module build canceled", "module_build_id", id, "user", user)
		s.notify(ctx, id)
		return s.store.FindModuleBuildByID(ctx, id, rida.ModuleBuildInclude{Modulemd: true, ComponentTasks: true, StateTrace: true, Siblings: true, VirtualStreams: true, BaseModules: true})
	}
	return nil, fmt.Errorf("cancel module build %d: %w", id, rida.ErrStaleWrite)
}

// buildFinder is the store query findNSVC needs.
type buildFinder interface {
	FindModuleBuilds(ctx context.Context, f rida.ModuleBuildFilter) ([]*rida.ModuleBuild, int, error)
}

// findNSVC returns the build name:stream:version:context, or nil when there
// is none. A nil version matches any version.
func findNSVC(ctx context.Context, store buildFinder, name, stream string, version *uint64, context string) (*rida.ModuleBuild, error) {
	builds, _, err := store.FindModuleBuilds(ctx, rida.ModuleBuildFilter{Name: &name, Stream: &stream, Version: version, Context: &context, PerPage: 1})
	if err != nil || len(builds) == 0 {
		return nil, err
	}
	return builds[0], nil
}

// runtimeRequires returns the runtime requires of each dependency block that
// has any, as rida.ModuleBuild.Requires keeps them.
func runtimeRequires(s *modulemd.Stream) []map[string][]string {
	var out []map[string][]string
	for _, dep := range s.Dependencies {
		if len(dep.Requires) > 0 {
			out = append(out, dep.Requires)
		}
	}
	return out
}
