package httpapi

import (
	"net/http"
	"strconv"

	"github.com/rida-build/rida"
)

// The seed API (the orchestrator's original design document): a bare list of
// {id, state} and, per build, its component tasks as "<task id>/<state>".

func (s *Server) registerSeedRoutes() {
	s.handle("GET /rida/module-builds/{$}", s.seedListModuleBuilds)
	s.handle("GET /rida/module-builds/{id}", s.seedGetModuleBuild)
	s.handle("POST /rida/module-builds/{$}", s.seedSubmit)
}

type seedItem struct {
	ID    int64  `json:"id"`
	State string `json:"state"`
}

// seedListModuleBuilds returns every build, oldest first, reading the store
// a page at a time so memory stays bounded by the page, not the table.
func (s *Server) seedListModuleBuilds(w http.ResponseWriter, r *http.Request) error {
	items := []seedItem{}
	f := rida.ModuleBuildFilter{Order: []rida.Order{{Field: "id"}}, PerPage: rida.MaxPerPage}
	for page := 1; ; page++ {
		f.Page = page
		builds, total, err := s.service.FindModuleBuilds(r.Context(), f)
		if err != nil {
			return err
		}
		for _, m := range builds {
			items = append(items, seedItem{ID: m.ID, State: m.State.String()})
		}
		if len(builds) == 0 || page*f.PerPage >= total {
			break
		}
	}
	return writeJSON(w, http.StatusOK, items)
}

// taskStateOf is the Koji task state shown for a component: the recorded one,
// or the one its build state implies when only that is known.
func taskStateOf(c *rida.ComponentBuild) rida.TaskState {
	if c.TaskState != nil {
		return *c.TaskState
	}
	switch c.State {
	case rida.ComponentComplete, rida.ComponentDeleted:
		return rida.TaskClosed
	case rida.ComponentFailed:
		return rida.TaskFailed
	case rida.ComponentCanceled:
		return rida.TaskCanceled
	}
	return rida.TaskOpen
}

func (s *Server) seedGetModuleBuild(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, rida.ErrModuleBuildNotFound)
	if err != nil {
		return err
	}
	m, err := s.service.FindModuleBuildByID(r.Context(), id, rida.ModuleBuildInclude{ComponentTasks: true})
	if err != nil {
		return err
	}
	tasks := map[string]string{}
	for _, c := range m.Components {
		if c.TaskID == 0 {
			continue
		}
		tasks[c.Format+"/"+c.Package] = strconv.FormatInt(c.TaskID, 10) + "/" + taskStateOf(c).String()
	}
	return writeJSON(w, http.StatusOK, struct {
		ID    int64             `json:"id"`
		State string            `json:"state"`
		Tasks map[string]string `json:"tasks"`
	}{m.ID, m.State.String(), tasks})
}
