package httpapi

import (
	"net/http"

	"github.com/rida-build/rida"
)

func (s *Server) registerComponentRoutes() {
	s.handle("GET /module-build-service/{v}/component-builds/{$}", s.listComponentBuilds)
	s.handle("GET /module-build-service/{v}/component-builds/{id}", s.getComponentBuild)
}

func (s *Server) listComponentBuilds(w http.ResponseWriter, r *http.Request) error {
	v, err := apiVersion(r)
	if err != nil {
		return err
	}
	query := r.URL.Query()
	f, err := componentFilter(query, v)
	if err != nil {
		return err
	}
	verbose := truthy(query.Get("verbose"))
	f.IncludeStateTrace = verbose
	comps, total, err := s.service.FindComponentBuilds(r.Context(), f)
	if err != nil {
		return err
	}
	items := make([]any, len(comps))
	for i, c := range comps {
		if verbose {
			items[i] = toComponentVerbose(c, v)
		} else {
			items[i] = toComponentJSON(c)
		}
	}
	cors(w)
	return writeJSON(w, http.StatusOK, listBody[any]{Items: items, Meta: paginate(r, f.Page, f.PerPage, total)})
}

func (s *Server) getComponentBuild(w http.ResponseWriter, r *http.Request) error {
	v, err := apiVersion(r)
	if err != nil {
		return err
	}
	id, err := pathID(r, rida.ErrComponentBuildNotFound)
	if err != nil {
		return err
	}
	verbose := truthy(r.URL.Query().Get("verbose"))
	c, err := s.service.FindComponentBuildByID(r.Context(), id, verbose)
	if err != nil {
		return err
	}
	cors(w)
	if verbose {
		return writeJSON(w, http.StatusOK, toComponentVerbose(c, v))
	}
	return writeJSON(w, http.StatusOK, toComponentJSON(c))
}
