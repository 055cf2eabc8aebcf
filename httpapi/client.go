package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rida-build/rida"
)

// Client talks to a rida (or MBS) server's API v2 and implements
// rida.ModuleBuildService, so the CLI and tests use a remote server exactly
// as a local service.
type Client struct {
	baseURL string
	http    *http.Client
}

var _ rida.ModuleBuildService = (*Client)(nil)

// NewClient returns a client for the server at baseURL
// (e.g. "http://127.0.0.1:8080"). A nil httpClient uses one with a 60 s
// timeout.
func NewClient(baseURL string, httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = &http.Client{Timeout: time.Minute}
	}
	return &Client{baseURL: strings.TrimRight(baseURL, "/"), http: httpClient}
}

const clientPrefix = "/module-build-service/2"

// do sends a request and decodes a 2xx JSON answer into out; an error answer
// becomes the *rida.Error the server described.
func (c *Client) do(ctx context.Context, method, path string, query url.Values, body, out any) error {
	u := c.baseURL + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return &rida.Error{Code: rida.CodeUnavailable, Message: fmt.Sprintf("%s %s: the server did not answer", method, u), Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return &rida.Error{Code: rida.CodeUnavailable, Message: fmt.Sprintf("%s %s: reading the answer", method, u), Err: err}
	}
	if resp.StatusCode >= 300 {
		var e errorBody
		if json.Unmarshal(data, &e) != nil || e.Message == "" {
			e.Message = fmt.Sprintf("%s %s: %s", method, u, resp.Status)
		}
		return &rida.Error{Code: codeOf(resp.StatusCode), Message: e.Message}
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, u, err)
	}
	return nil
}

// FindModuleBuildByID implements rida.ModuleBuildService.
func (c *Client) FindModuleBuildByID(ctx context.Context, id int64, inc rida.ModuleBuildInclude) (*rida.ModuleBuild, error) {
	var dto moduleVerbose
	if err := c.do(ctx, http.MethodGet, clientPrefix+"/module-builds/"+itoa(id), url.Values{"verbose": {"true"}}, nil, &dto); err != nil {
		return nil, err
	}
	m, err := fromVerbose(&dto)
	if err != nil || !inc.Components {
		return m, err
	}
	// The module JSON names components only by package; their full records
	// come from the component endpoint, a page at a time.
	m.Components = nil
	f := rida.ComponentBuildFilter{ModuleBuildID: &id, Order: []rida.Order{{Field: "id"}}, PerPage: rida.MaxPerPage, IncludeStateTrace: inc.ComponentTraces}
	for page := 1; ; page++ {
		f.Page = page
		comps, total, err := c.FindComponentBuilds(ctx, f)
		if err != nil {
			return nil, err
		}
		m.Components = append(m.Components, comps...)
		if len(comps) == 0 || page*f.PerPage >= total {
			return m, nil
		}
	}
}

// FindModuleBuilds implements rida.ModuleBuildService.
func (c *Client) FindModuleBuilds(ctx context.Context, f rida.ModuleBuildFilter) ([]*rida.ModuleBuild, int, error) {
	q := moduleQuery(f)
	var body listBody[moduleVerbose]
	if err := c.do(ctx, http.MethodGet, clientPrefix+"/module-builds/", q, nil, &body); err != nil {
		return nil, 0, err
	}
	out, err := convertAll(body.Items, fromVerbose)
	return out, body.Meta.Total, err
}

// FindComponentBuildByID implements rida.ModuleBuildService.
func (c *Client) FindComponentBuildByID(ctx context.Context, id int64, withTrace bool) (*rida.ComponentBuild, error) {
	var dto componentVerbose
	if err := c.do(ctx, http.MethodGet, clientPrefix+"/component-builds/"+itoa(id), url.Values{"verbose": {"true"}}, nil, &dto); err != nil {
		return nil, err
	}
	return fromComponent(&dto)
}

// FindComponentBuilds implements rida.ModuleBuildService.
func (c *Client) FindComponentBuilds(ctx context.Context, f rida.ComponentBuildFilter) ([]*rida.ComponentBuild, int, error) {
	var body listBody[componentVerbose]
	if err := c.do(ctx, http.MethodGet, clientPrefix+"/component-builds/", componentQuery(f), nil, &body); err != nil {
		return nil, 0, err
	}
	out, err := convertAll(body.Items, fromComponent)
	return out, body.Meta.Total, err
}

// CancelModuleBuild implements rida.ModuleBuildService.
func (c *Client) CancelModuleBuild(ctx context.Context, id int64, user string) (*rida.ModuleBuild, error) {
	body := map[string]string{"state": "failed"}
	if user != "" {
		body["owner"] = user
	}
	var dto moduleVerbose
	if err := c.do(ctx, http.MethodPatch, clientPrefix+"/module-builds/"+itoa(id), nil, body, &dto); err != nil {
		return nil, err
	}
	return fromVerbose(&dto)
}

// SubmitModuleBuild implements rida.ModuleBuildService.
func (c *Client) SubmitModuleBuild(ctx context.Context, req rida.SubmitRequest) (*rida.Submission, error) {
	body := submitBody{
		SCMURL: req.SCMURL, Branch: req.Branch, Modulemd: req.Modulemd, ModuleName: req.ModuleName,
		ModuleStream: req.ModuleStream, Owner: req.Owner, RebuildStrategy: string(req.RebuildStrategy),
		BuildrequireOverrides: req.BuildrequireOverrides, RequireOverrides: req.RequireOverrides,
	}
	if req.Scratch {
		body.Scratch = json.RawMessage("true")
	}
	if req.ReuseComponentsFrom != "" {
		body.ReuseComponentsFrom, _ = json.Marshal(req.ReuseComponentsFrom)
	}
	var query url.Values
	sub := &rida.Submission{}
	var dtos []moduleVerbose
	if req.DryRun {
		query = url.Values{"dry_run": {"true"}}
		var resp struct {
			Builds      []moduleVerbose `json:"builds"`
			Explanation []string        `json:"explanation"`
		}
		if err := c.do(ctx, http.MethodPost, clientPrefix+"/module-builds/", query, body, &resp); err != nil {
			return nil, err
		}
		dtos, sub.Explanation = resp.Builds, resp.Explanation
	} else if err := c.do(ctx, http.MethodPost, clientPrefix+"/module-builds/", nil, body, &dtos); err != nil {
		return nil, err
	}
	builds, err := convertAll(dtos, fromVerbose)
	if err != nil {
		return nil, err
	}
	sub.Builds = builds
	for _, m := range builds {
		// MBS's answer does not say which builds existed before; new and
		// resumed ones are in init or wait.
		sub.Created = append(sub.Created, !req.DryRun && (m.State == rida.ModuleInit || m.State == rida.ModuleWait))
	}
	return sub, nil
}

// ImportModule implements rida.ModuleBuildService.
func (c *Client) ImportModule(ctx context.Context, req rida.ImportRequest) (*rida.ModuleBuild, []string, error) {
	var resp struct {
		Messages []string   `json:"messages"`
		Module   moduleJSON `json:"module"`
	}
	if err := c.do(ctx, http.MethodPost, clientPrefix+"/import-module/", nil, importBody{SCMURL: req.SCMURL, Modulemd: req.Modulemd}, &resp); err != nil {
		return nil, nil, err
	}
	m, err := fromVerbose(&moduleVerbose{
		ID: resp.Module.ID, Name: resp.Module.Name, Stream: resp.Module.Stream, Version: resp.Module.Version,
		Context: resp.Module.Context, State: resp.Module.State, StateReason: resp.Module.StateReason,
		Owner: resp.Module.Owner, SCMURL: resp.Module.SCMURL, KojiTag: resp.Module.KojiTag,
		RebuildStrategy: resp.Module.RebuildStrategy, Scratch: resp.Module.Scratch,
		BuildRequires: resp.Module.BuildRequires, TimeSubmitted: resp.Module.TimeSubmitted,
		TimeModified: resp.Module.TimeModified, TimeCompleted: resp.Module.TimeCompleted,
	})
	return m, resp.Messages, err
}

// convertAll turns answer DTOs into domain values.
func convertAll[D, T any](dtos []D, convert func(*D) (T, error)) ([]T, error) {
	out := make([]T, len(dtos))
	for i := range dtos {
		v, err := convert(&dtos[i])
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

func setStr(q url.Values, key string, v *string) {
	if v != nil {
		q.Set(key, *v)
	}
}

func setInt64(q url.Values, key string, v *int64) {
	if v != nil {
		q.Set(key, strconv.FormatInt(*v, 10))
	}
}

func setBool(q url.Values, key string, v *bool) {
	if v != nil {
		q.Set(key, strconv.FormatBool(*v))
	}
}

func setFloat(q url.Values, key string, v *float64) {
	if v != nil {
		q.Set(key, strconv.FormatFloat(*v, 'f', -1, 64))
	}
}

func setTime(q url.Values, key string, v *time.Time) {
	if v != nil {
		q.Set(key, v.UTC().Format(rida.TimeFormat))
	}
}

func setOrderAndPage(q url.Values, order []rida.Order, page, perPage int) {
	for _, o := range order {
		if o.Desc {
			q.Add("order_desc_by", o.Field)
		} else {
			q.Add("order_by", o.Field)
		}
	}
	if page > 0 {
		q.Set("page", strconv.Itoa(page))
	}
	if perPage > 0 {
		q.Set("per_page", strconv.Itoa(perPage))
	}
}

func moduleQuery(f rida.ModuleBuildFilter) url.Values {
	q := url.Values{"verbose": {"true"}}
	setStr(q, "name", f.Name)
	setStr(q, "stream", f.Stream)
	setStr(q, "context", f.Context)
	if f.Version != nil {
		q.Set("version", strconv.FormatUint(*f.Version, 10))
	}
	setStr(q, "build_context", f.BuildContext)
	setStr(q, "build_context_no_bms", f.BuildContextNoBMS)
	setStr(q, "runtime_context", f.RuntimeContext)
	setStr(q, "ref_build_context", f.RefBuildContext)
	setStr(q, "state_reason", f.StateReason)
	setStr(q, "owner", f.Owner)
	setStr(q, "scmurl", f.SCMURL)
	setStr(q, "koji_tag", f.KojiTag)
	setStr(q, "cg_build_koji_tag", f.CGBuildKojiTag)
	setStr(q, "rebuild_strategy", f.RebuildStrategy)
	setBool(q, "scratch", f.Scratch)
	if f.Batch != nil {
		q.Set("batch", strconv.Itoa(*f.Batch))
	}
	setInt64(q, "new_repo_task_id", f.NewRepoTaskID)
	setInt64(q, "reused_module_id", f.ReusedModuleID)
	setFloat(q, "stream_version", f.StreamVersion)
	for _, s := range f.States {
		q.Add("state", s.String())
	}
	for _, vs := range f.VirtualStreams {
		q.Add("virtual_stream", vs)
	}
	setFloat(q, "stream_version_lte", f.StreamVersionLTE)
	br := f.BaseModuleBR
	setStr(q, "base_module_br_name", br.Name)
	setStr(q, "base_module_br_stream", br.Stream)
	if br.Version != nil {
		q.Set("base_module_br_version", strconv.FormatUint(*br.Version, 10))
	}
	setStr(q, "base_module_br_context", br.Context)
	setFloat(q, "base_module_br_stream_version", br.StreamVersion)
	setFloat(q, "base_module_br_stream_version_lte", br.StreamVersionLTE)
	setFloat(q, "base_module_br_stream_version_gte", br.StreamVersionGTE)
	setTime(q, "submitted_before", f.SubmittedBefore)
	setTime(q, "submitted_after", f.SubmittedAfter)
	setTime(q, "modified_before", f.ModifiedBefore)
	setTime(q, "modified_after", f.ModifiedAfter)
	setTime(q, "completed_before", f.CompletedBefore)
	setTime(q, "completed_after", f.CompletedAfter)
	setOrderAndPage(q, f.Order, f.Page, f.PerPage)
	return q
}

func componentQuery(f rida.ComponentBuildFilter) url.Values {
	q := url.Values{"verbose": {"true"}}
	setInt64(q, "module_build", f.ModuleBuildID)
	setStr(q, "package", f.Package)
	setStr(q, "format", f.Format)
	setStr(q, "scmurl", f.SCMURL)
	setStr(q, "ref", f.Ref)
	setStr(q, "state_reason", f.StateReason)
	setStr(q, "nvr", f.NVR)
	setInt64(q, "task_id", f.TaskID)
	setInt64(q, "reused_component_id", f.ReusedComponentID)
	if f.Batch != nil {
		q.Set("batch", strconv.Itoa(*f.Batch))
	}
	if f.Weight != nil {
		q.Set("weight", strconv.FormatFloat(*f.Weight, 'f', -1, 64))
	}
	setBool(q, "tagged", f.Tagged)
	setBool(q, "tagged_in_final", f.TaggedInFinal)
	setBool(q, "build_time_only", f.BuildTimeOnly)
	setBool(q, "buildonly", f.BuildOnly)
	for _, s := range f.States {
		q.Add("state", strconv.Itoa(int(s)))
	}
	setOrderAndPage(q, f.Order, f.Page, f.PerPage)
	return q
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func parseTime(s *string) (time.Time, error) {
	if s == nil {
		return time.Time{}, nil
	}
	t, err := time.Parse(rida.TimeFormat, *s)
	if err != nil {
		return time.Time{}, fmt.Errorf("decode answer: bad time %q: %w", *s, err)
	}
	return t, nil
}

// fromVerbose turns extended_json back into the domain type. Fields MBS does
// not publish (Rev, the Koji reservation, per-component details beyond
// "tasks") stay zero.
func fromVerbose(d *moduleVerbose) (*rida.ModuleBuild, error) {
	version, err := strconv.ParseUint(d.Version, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("decode answer: bad version %q: %w", d.Version, err)
	}
	m := &rida.ModuleBuild{
		ID: d.ID, Name: d.Name, Stream: d.Stream, Version: version, Context: d.Context,
		BuildContext: deref(d.BuildContext), RuntimeContext: deref(d.RuntimeContext),
		State: rida.ModuleState(d.State), StateReason: deref(d.StateReason), Owner: d.Owner,
		SCMURL: deref(d.SCMURL), Modulemd: d.Modulemd, KojiTag: deref(d.KojiTag),
		RebuildStrategy: rida.RebuildStrategy(d.RebuildStrategy), Scratch: d.Scratch,
		StreamVersion: d.StreamVersion, SRPMs: d.SRPMs, ReusedModuleID: d.ReusedModuleID, Siblings: d.Siblings,
	}
	if len(d.VirtualStreams) > 0 {
		m.VirtualStreams = d.VirtualStreams
	}
	for _, b := range d.BaseModuleBuildReqs {
		v, err := strconv.ParseUint(b.Version, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("decode answer: bad base module version %q: %w", b.Version, err)
		}
		m.BaseModules = append(m.BaseModules, &rida.ModuleBuild{ID: b.ID, Name: b.Name, Stream: b.Stream, Version: v,
			Context: b.Context, State: rida.ModuleState(b.State), StreamVersion: b.StreamVersion})
	}
	if len(d.BuildRequires) > 0 {
		m.BuildRequires = d.BuildRequires
	}
	if m.TimeSubmitted, err = parseTime(d.TimeSubmitted); err != nil {
		return nil, err
	}
	if m.TimeModified, err = parseTime(d.TimeModified); err != nil {
		return nil, err
	}
	if d.TimeCompleted != nil {
		t, err := parseTime(d.TimeCompleted)
		if err != nil {
			return nil, err
		}
		m.TimeCompleted = &t
	}
	for _, tr := range d.StateTrace {
		t, err := parseTime(tr.Time)
		if err != nil {
			return nil, err
		}
		state := -1
		if tr.State != nil {
			state = *tr.State
		}
		m.StateTrace = append(m.StateTrace, rida.StateChange{Time: t, State: state, Reason: deref(tr.Reason)})
	}
	// "component_builds" lists ids in the server's order and "tasks" keys by
	// package; together they give each component's id, state and task.
	for format, byPkg := range d.Tasks {
		for pkg, t := range byPkg {
			c := &rida.ComponentBuild{ModuleBuildID: m.ID, Package: pkg, Format: format, State: rida.ComponentWaiting, NVR: deref(t.NVR), StateReason: deref(t.StateReason)}
			if t.State != nil {
				c.State = rida.ComponentState(*t.State)
			}
			if t.TaskID != nil {
				c.TaskID = *t.TaskID
			}
			m.Components = append(m.Components, c)
		}
	}
	sort.Slice(m.Components, func(i, j int) bool { return m.Components[i].Package < m.Components[j].Package })
	return m, nil
}

func fromComponent(d *componentVerbose) (*rida.ComponentBuild, error) {
	c := &rida.ComponentBuild{
		ID: d.ID, ModuleBuildID: d.ModuleBuild, Package: d.Package, Format: d.Format, Batch: d.Batch,
		NVR: deref(d.NVR), StateReason: deref(d.StateReason), State: rida.ComponentWaiting,
	}
	if d.State != nil {
		c.State = rida.ComponentState(*d.State)
	}
	if d.TaskID != nil {
		c.TaskID = *d.TaskID
	}
	for _, tr := range d.StateTrace {
		t, err := parseTime(tr.Time)
		if err != nil {
			return nil, err
		}
		state := int(rida.ComponentWaiting)
		if tr.State != nil {
			state = *tr.State
		}
		c.StateTrace = append(c.StateTrace, rida.StateChange{Time: t, State: state, Reason: deref(tr.Reason)})
	}
	return c, nil
}
