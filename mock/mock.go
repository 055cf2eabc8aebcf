// Package mock holds func-field implementations of rida's interfaces for
// tests: each method calls the matching field, so a test sets only what it
// expects to be called and a surprise call panics with the method's name.
package mock

import (
	"context"

	"github.com/rida-build/rida"
)

// ModuleBuildService is a func-field rida.ModuleBuildService.
type ModuleBuildService struct {
	FindModuleBuildByIDFn    func(ctx context.Context, id int64, inc rida.ModuleBuildInclude) (*rida.ModuleBuild, error)
	FindModuleBuildsFn       func(ctx context.Context, f rida.ModuleBuildFilter) ([]*rida.ModuleBuild, int, error)
	FindComponentBuildByIDFn func(ctx context.Context, id int64, withTrace bool) (*rida.ComponentBuild, error)
	FindComponentBuildsFn    func(ctx context.Context, f rida.ComponentBuildFilter) ([]*rida.ComponentBuild, int, error)
	CancelModuleBuildFn      func(ctx context.Context, id int64, user string) (*rida.ModuleBuild, error)
	ImportModuleFn           func(ctx context.Context, req rida.ImportRequest) (*rida.ModuleBuild, []string, error)
	SubmitModuleBuildFn      func(ctx context.Context, req rida.SubmitRequest) (*rida.Submission, error)
}

var _ rida.ModuleBuildService = (*ModuleBuildService)(nil)

// FindModuleBuildByID calls FindModuleBuildByIDFn.
func (s *ModuleBuildService) FindModuleBuildByID(ctx context.Context, id int64, inc rida.ModuleBuildInclude) (*rida.ModuleBuild, error) {
	return s.FindModuleBuildByIDFn(ctx, id, inc)
}

// FindModuleBuilds calls FindModuleBuildsFn.
func (s *ModuleBuildService) FindModuleBuilds(ctx context.Context, f rida.ModuleBuildFilter) ([]*rida.ModuleBuild, int, error) {
	return s.FindModuleBuildsFn(ctx, f)
}

// FindComponentBuildByID calls FindComponentBuildByIDFn.
func (s *ModuleBuildService) FindComponentBuildByID(ctx context.Context, id int64, withTrace bool) (*rida.ComponentBuild, error) {
	return s.FindComponentBuildByIDFn(ctx, id, withTrace)
}

// FindComponentBuilds calls FindComponentBuildsFn.
func (s *ModuleBuildService) FindComponentBuilds(ctx context.Context, f rida.ComponentBuildFilter) ([]*rida.ComponentBuild, int, error) {
	return s.FindComponentBuildsFn(ctx, f)
}

// CancelModuleBuild calls CancelModuleBuildFn.
func (s *ModuleBuildService) CancelModuleBuild(ctx context.Context, id int64, user string) (*rida.ModuleBuild, error) {
	return s.CancelModuleBuildFn(ctx, id, user)
}

// ImportModule calls ImportModuleFn.
func (s *ModuleBuildService) ImportModule(ctx context.Context, req rida.ImportRequest) (*rida.ModuleBuild, []string, error) {
	return s.ImportModuleFn(ctx, req)
}

// SubmitModuleBuild calls SubmitModuleBuildFn.
func (s *ModuleBuildService) SubmitModuleBuild(ctx context.Context, req rida.SubmitRequest) (*rida.Submission, error) {
	return s.SubmitModuleBuildFn(ctx, req)
}
