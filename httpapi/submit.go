package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/rida-build/rida"
)

// submitParams are MBS's accepted POST module-builds parameters.
var submitParams = []string{
	"scmurl", "branch", "modulemd", "module_name", "module_stream", "owner", "rebuild_strategy",
	"buildrequire_overrides", "require_overrides", "scratch", "srpms", "reuse_components_from",
}

// submitBody is the typed form of a submission.
type submitBody struct {
	SCMURL                string              `json:"scmurl"`
	Branch                string              `json:"branch"`
	Modulemd              string              `json:"modulemd"`
	ModuleName            string              `json:"module_name"`
	ModuleStream          string              `json:"module_stream"`
	Owner                 string              `json:"owner"`
	RebuildStrategy       string              `json:"rebuild_strategy"`
	BuildrequireOverrides map[string][]string `json:"buildrequire_overrides"`
	RequireOverrides      map[string][]string `json:"require_overrides"`
	Scratch               json.RawMessage     `json:"scratch"`
	SRPMs                 json.RawMessage     `json:"srpms"`
	ReuseComponentsFrom   json.RawMessage     `json:"reuse_components_from"`
}

// anonymous is the user of an unauthenticated request, as MBS's NO_AUTH.
const anonymous = "anonymous"

// readSubmission decodes a submission body with MBS's rules: unknown
// parameters listed in one 400, overrides shaped {module: [streams]}.
func readSubmission(r *http.Request) (rida.SubmitRequest, error) {
	var raw map[string]json.RawMessage
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		var err error
		if raw, err = readMultipart(r); err != nil {
			return rida.SubmitRequest{}, err
		}
	} else if err := decodeJSON(r, &raw); err != nil {
		return rida.SubmitRequest{}, err
	}
	var unknown []string
	for k := range raw {
		if !slices.Contains(submitParams, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return rida.SubmitRequest{}, rida.Errorf(rida.CodeInvalid, "The request contains unspecified parameters: %s", strings.Join(unknown, ", "))
	}
	data, _ := json.Marshal(raw)
	var b submitBody
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&b); err != nil {
		if _, ok := raw["buildrequire_overrides"]; ok && strings.Contains(err.Error(), "buildrequire_overrides") {
			return rida.SubmitRequest{}, rida.Errorf(rida.CodeInvalid, `The "buildrequire_overrides" parameter must be an object with the keys as module names and the values as arrays of streams`)
		}
		if _, ok := raw["require_overrides"]; ok && strings.Contains(err.Error(), "require_overrides") {
			return rida.SubmitRequest{}, rida.Errorf(rida.CodeInvalid, `The "require_overrides" parameter must be an object with the keys as module names and the values as arrays of streams`)
		}
		return rida.SubmitRequest{}, jsonError(err)
	}
	if len(b.SRPMs) > 0 && string(b.SRPMs) != "null" && string(b.SRPMs) != "[]" {
		return rida.SubmitRequest{}, rida.Errorf(rida.CodeInvalid, `The "srpms" parameter (custom SRPMs for scratch builds) is not supported by this server yet`)
	}
	reuse, err := reuseParam(b.ReuseComponentsFrom)
	if err != nil {
		return rida.SubmitRequest{}, err
	}
	scratch, err := boolish(b.Scratch)
	if err != nil {
		return rida.SubmitRequest{}, err
	}
	return rida.SubmitRequest{
		SCMURL: b.SCMURL, Branch: b.Branch, Modulemd: b.Modulemd, ModuleName: b.ModuleName, ModuleStream: b.ModuleStream,
		Owner: b.Owner, RebuildStrategy: rida.RebuildStrategy(b.RebuildStrategy),
		BuildrequireOverrides: b.BuildrequireOverrides, RequireOverrides: b.RequireOverrides, Scratch: scratch,
		ReuseComponentsFrom: reuse,
	}, nil
}

// reuseParam reads reuse_components_from: a module build id (number or
// string) or an N:S:V:C string.
func reuseParam(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var n int64
	if json.Unmarshal(raw, &n) == nil {
		return strconv.FormatInt(n, 10), nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil && s != "" {
		return s, nil
	}
	return "", rida.Errorf(rida.CodeInvalid, `The parameter "reuse_components_from" contains an invalid module identifier`)
}

// maxMultipartMemory is how much of a multipart body is kept in memory; the
// server's body limit bounds the whole request anyway.
const maxMultipartMemory = 1 << 20

// readMultipart reads MBS's multipart submission: form fields, and the
// modulemd as a file field "yaml" whose base name (without extension) is
// the default module name. Override fields carry JSON objects.
func readMultipart(r *http.Request) (map[string]json.RawMessage, error) {
	if err := r.ParseMultipartForm(maxMultipartMemory); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, rida.Errorf(rida.CodeInvalid, "Invalid multipart form submitted: %v", err)
	}
	raw := map[string]json.RawMessage{}
	for key, values := range r.MultipartForm.Value {
		if len(values) == 0 {
			continue
		}
		if key == "buildrequire_overrides" || key == "require_overrides" {
			if !json.Valid([]byte(values[0])) {
				return nil, rida.Errorf(rida.CodeInvalid, "The %q parameter must be an object with the keys as module names and the values as arrays of streams", key)
			}
			raw[key] = json.RawMessage(values[0])
			continue
		}
		encoded, _ := json.Marshal(values[0])
		raw[key] = encoded
	}
	for key := range r.MultipartForm.File {
		if key != "yaml" {
			return nil, rida.Errorf(rida.CodeInvalid, "The request contains unspecified parameters: %s", key)
		}
	}
	if files := r.MultipartForm.File["yaml"]; len(files) > 0 {
		f, err := files[0].Open()
		if err != nil {
			return nil, rida.Errorf(rida.CodeInvalid, "Invalid file submitted: %v", err)
		}
		defer f.Close()
		data, err := io.ReadAll(f)
		if err != nil {
			return nil, rida.Errorf(rida.CodeInvalid, "Invalid file submitted: %v", err)
		}
		raw["modulemd"], _ = json.Marshal(string(data))
		if _, ok := raw["module_name"]; !ok {
			name := strings.TrimSuffix(path.Base(files[0].Filename), path.Ext(files[0].Filename))
			raw["module_name"], _ = json.Marshal(name)
		}
	}
	return raw, nil
}

// boolish reads MBS's scratch flag: a JSON boolean, or "true"/"1".
func boolish(raw json.RawMessage) (bool, error) {
	switch s := strings.TrimSpace(string(raw)); s {
	case "", "null", "false", `""`, `"false"`, `"0"`, "0":
		return false, nil
	case "true", `"true"`, `"1"`, "1":
		return true, nil
	}
	return false, rida.Errorf(rida.CodeInvalid, `The "scratch" parameter must be true or false, not %s`, raw)
}

// submitModuleBuild is MBS's POST module-builds/: v1 answers the first
// build, v2 all of them; ?dry_run=true answers what would be built, and
// why, without creating anything.
func (s *Server) submitModuleBuild(w http.ResponseWriter, r *http.Request) error {
	v, err := apiVersion(r)
	if err != nil {
		return err
	}
	u, err := s.authorize(r, rida.ActionSubmit)
	if err != nil {
		return err
	}
	req, err := readSubmission(r)
	if err != nil {
		return err
	}
	if req.Owner, err = s.actingUser(u, req.Owner); err != nil {
		return err
	}
	if err := s.limitSubmission(w, req.Owner); err != nil {
		return err
	}
	if req.Modulemd == "" {
		switch {
		case req.SCMURL == "":
			return rida.Errorf(rida.CodeInvalid, "Missing scmurl")
		case req.Branch == "":
			return rida.Errorf(rida.CodeInvalid, "Missing branch")
		}
	}
	req.DryRun = truthy(r.URL.Query().Get("dry_run"))
	sub, err := s.service.SubmitModuleBuild(r.Context(), req)
	if err != nil {
		return err
	}
	builds := make([]moduleVerbose, len(sub.Builds))
	for i, m := range sub.Builds {
		builds[i] = toVerbose(m, v)
	}
	if req.DryRun {
		return writeJSON(w, http.StatusOK, struct {
			Builds      []moduleVerbose `json:"builds"`
			Explanation []string        `json:"explanation"`
		}{builds, nonNilStrings(sub.Explanation)})
	}
	if v == 1 {
		return writeJSON(w, http.StatusCreated, builds[0])
	}
	return writeJSON(w, http.StatusCreated, builds)
}

// seedSubmit is the seed's POST /rida/module-builds/: {"scmurl"} (and
// optionally "branch") → 201 {"id": N}, plus "ids" when expansion made
// several builds.
func (s *Server) seedSubmit(w http.ResponseWriter, r *http.Request) error {
	u, err := s.authorize(r, rida.ActionSubmit)
	if err != nil {
		return err
	}
	var body struct {
		SCMURL string `json:"scmurl"`
		Branch string `json:"branch"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	if body.SCMURL == "" {
		return rida.Errorf(rida.CodeInvalid, "Missing scmurl")
	}
	owner, _ := s.actingUser(u, "")
	if err := s.limitSubmission(w, owner); err != nil {
		return err
	}
	sub, err := s.service.SubmitModuleBuild(r.Context(), rida.SubmitRequest{SCMURL: body.SCMURL, Branch: body.Branch, Owner: owner})
	if err != nil {
		return err
	}
	resp := struct {
		ID  int64   `json:"id"`
		IDs []int64 `json:"ids,omitempty"`
	}{ID: sub.Builds[0].ID}
	if len(sub.Builds) > 1 {
		for _, m := range sub.Builds {
			resp.IDs = append(resp.IDs, m.ID)
		}
	}
	return writeJSON(w, http.StatusCreated, resp)
}
