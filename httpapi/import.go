package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/rida-build/rida"
)

// importBody is POST import-module/: MBS's {"scmurl"}, or rida's
// {"modulemd"} carrying the YAML itself.
type importBody struct {
	SCMURL   string `json:"scmurl"`
	Modulemd string `json:"modulemd"`
}

// importResponse is MBS's answer: the module's json(show_tasks=False) and
// what happened.
type importResponse struct {
	Messages []string       `json:"messages"`
	Module   map[string]any `json:"module"`
}

func (s *Server) importModule(w http.ResponseWriter, r *http.Request) error {
	if _, err := apiVersion(r); err != nil {
		return err
	}
	if _, err := s.authorize(r, rida.ActionImport); err != nil {
		return err
	}
	var body importBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	m, messages, err := s.service.ImportModule(r.Context(), rida.ImportRequest{SCMURL: body.SCMURL, Modulemd: body.Modulemd})
	if err != nil {
		return err
	}
	module, err := withoutTasks(toJSON(m))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, importResponse{Messages: messages, Module: module})
}

// withoutTasks is MBS's json(show_tasks=False): the default shape minus
// "tasks".
func withoutTasks(j moduleJSON) (map[string]any, error) {
	data, err := json.Marshal(j)
	if err != nil {
		return nil, fmt.Errorf("encode module: %w", err)
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("encode module: %w", err)
	}
	delete(out, "tasks")
	return out, nil
}
