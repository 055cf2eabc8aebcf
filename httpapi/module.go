package httpapi

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/rida-build/rida"
)

func (s *Server) registerModuleRoutes() {
	s.handle("GET /module-build-service/{v}/module-builds/{$}", s.listModuleBuilds)
	s.handle("GET /module-build-service/{v}/module-builds/{id}", s.getModuleBuild)
	s.handle("PATCH /module-build-service/{v}/module-builds/{id}", s.patchModuleBuild)
	s.handle("POST /module-build-service/{v}/module-builds/{$}", s.submitModuleBuild)
}

// outputMode is MBS's choice between short_json, json and extended_json.
type outputMode int

const (
	modeJSON outputMode = iota
	modeShort
	modeVerbose
)

func outputModeOf(v url.Values) outputMode {
	switch {
	case truthy(v.Get("verbose")):
		return modeVerbose
	case truthy(v.Get("short")):
		return modeShort
	}
	return modeJSON
}

// includeFor loads only the related rows the output shows.
func includeFor(mode outputMode) rida.ModuleBuildInclude {
	switch mode {
	case modeShort:
		return rida.ModuleBuildInclude{}
	case modeVerbose:
		return rida.ModuleBuildInclude{Modulemd: true, ComponentTasks: true, StateTrace: true, Siblings: true, VirtualStreams: true, BaseModules: true}
	}
	return rida.ModuleBuildInclude{ComponentTasks: true, Siblings: true}
}

func renderModule(m *rida.ModuleBuild, mode outputMode, apiVersion int) any {
	switch mode {
	case modeShort:
		return toShort(m)
	case modeVerbose:
		return toVerbose(m, apiVersion)
	}
	return toJSON(m)
}

func (s *Server) listModuleBuilds(w http.ResponseWriter, r *http.Request) error {
	v, err := apiVersion(r)
	if err != nil {
		return err
	}
	query := r.URL.Query()
	f, err := moduleFilter(query, v)
	if err != nil {
		return err
	}
	mode := outputModeOf(query)
	f.Include = includeFor(mode)
	builds, total, err := s.service.FindModuleBuilds(r.Context(), f)
	if err != nil {
		return err
	}
	items := make([]any, len(builds))
	for i, m := range builds {
		items[i] = renderModule(m, mode, v)
	}
	cors(w)
	return writeJSON(w, http.StatusOK, listBody[any]{Items: items, Meta: paginate(r, f.Page, f.PerPage, total)})
}

// paginate builds MBS's meta object; the links keep every query argument
// but page, per_page and those starting with "_".
func paginate(r *http.Request, page, perPage, total int) pageMeta {
	pages := (total + perPage - 1) / perPage
	args := url.Values{}
	for k, vs := range r.URL.Query() {
		if k == "page" || k == "per_page" || k == "endpoint" || len(k) > 0 && k[0] == '_' {
			continue
		}
		args[k] = vs
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	base := scheme + "://" + r.Host + r.URL.Path + "?"
	link := func(p int) string {
		args.Set("page", strconv.Itoa(p))
		args.Set("per_page", strconv.Itoa(perPage))
		return base + args.Encode()
	}
	m := pageMeta{Page: page, Pages: pages, PerPage: perPage, Total: total, First: link(1), Last: link(max(pages, 1))}
	if page > 1 {
		prev := link(min(page-1, max(pages, 1)))
		m.Prev = &prev
	}
	if page < pages {
		next := link(page + 1)
		m.Next = &next
	}
	return m
}

func (s *Server) getModuleBuild(w http.ResponseWriter, r *http.Request) error {
	v, err := apiVersion(r)
	if err != nil {
		return err
	}
	id, err := pathID(r, rida.ErrModuleBuildNotFound)
	if err != nil {
		return err
	}
	mode := outputModeOf(r.URL.Query())
	m, err := s.service.FindModuleBuildByID(r.Context(), id, includeFor(mode))
	if err != nil {
		return err
	}
	cors(w)
	return writeJSON(w, http.StatusOK, renderModule(m, mode, v))
}

// patchBody is PATCH module-builds/{id}: {"state": "failed"} cancels. The
// owner key names the canceling user while authentication is off, as MBS's
// NO_AUTH does; with authentication on, the canceling user is the
// authenticated one.
type patchBody struct {
	State json.RawMessage `json:"state"`
	Owner *string         `json:"owner"`
}

func (s *Server) patchModuleBuild(w http.ResponseWriter, r *http.Request) error {
	v, err := apiVersion(r)
	if err != nil {
		return err
	}
	id, err := pathID(r, rida.ErrModuleBuildNotFound)
	if err != nil {
		return err
	}
	u, err := s.authorize(r, rida.ActionCancel)
	if err != nil {
		return err
	}
	var body patchBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	m, err := s.service.FindModuleBuildByID(r.Context(), id, rida.ModuleBuildInclude{})
	if err != nil {
		return err
	}
	if len(body.State) == 0 || string(body.State) == "null" || string(body.State) == `""` {
		return rida.Errorf(rida.CodeInvalid, `Invalid JSON submitted: the "state" key is missing`)
	}
	if st := string(body.State); st != `"failed"` && st != `"4"` && st != "4" {
		return rida.Errorf(rida.CodeInvalid, "An invalid state was submitted. Valid states values are: failed, 4")
	}
	user := m.Owner
	if body.Owner != nil && *body.Owner != "" {
		user = *body.Owner
	}
	if u != nil {
		// The service checks that u owns the build or is an admin.
		if user, err = s.actingUser(u, deref(body.Owner)); err != nil {
			return err
		}
	}
	m, err = s.service.CancelModuleBuild(r.Context(), id, user)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, toVerbose(m, v))
}
