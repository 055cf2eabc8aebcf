package kojitest

import (
	"slices"
	"strings"

	"github.com/rida-build/rida/internal/xmlrpc"
)

type extRepo struct {
	id        int64
	name, url string
	active    bool
}

// tagExtRepo is a tag_external_repos row.
type tagExtRepo struct {
	repoID    int64
	priority  int64
	mergeMode string
	arches    any // nil or a string
}

func (h *FakeHub) lookupExtRepo(info any) (*extRepo, *hubErr) {
	active := func(yield func(*extRepo) bool) {
		for _, r := range h.extRepos {
			if r.active && !yield(r) {
				return
			}
		}
	}
	return lookupScan(info, active, func(r *extRepo) (int64, string) { return r.id, r.name })
}

func (h *FakeHub) extRepoStrict(info any) (*extRepo, *hubErr) {
	r, err := h.lookupExtRepo(info)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, genericErr("No such repo: %s", pyStr(info))
	}
	return r, nil
}

func extRepoStruct(r *extRepo) xmlrpc.Struct {
	return ordered("id", r.id, "name", r.name, "url", r.url)
}

func (h *FakeHub) tagExtRepoRow(t *tag, l *tagExtRepo) xmlrpc.Struct {
	r := h.extRepos[l.repoID-1]
	return row{"arches": l.arches, "external_repo_id": r.id, "external_repo_name": r.name, "merge_mode": l.mergeMode,
		"priority": l.priority, "tag_id": t.id, "tag_name": t.name, "url": r.url}.sorted()
}

func (t *tag) sortedExtRepos() []*tagExtRepo {
	out := slices.Clone(t.extRepos)
	slices.SortStableFunc(out, func(a, b *tagExtRepo) int { return int(a.priority - b.priority) })
	return out
}

func (h *FakeHub) registerExtRepos() {
	h.def("create_external_repo(name, url)", "createExternalRepo", func(c *call, a args) (any, *hubErr) {
		if err := c.assertPerm("admin"); err != nil {
			return nil, err
		}
		name, err := verifyName(a.get("name"))
		if err != nil {
			return nil, err
		}
		if r, _ := c.h.lookupExtRepo(name); r != nil {
			return nil, genericErr(`An external repo named "%s" already exists`, name)
		}
		url, err := checkStr(a.get("url"))
		if err != nil {
			return nil, err
		}
		if !strings.HasSuffix(url, "/") {
			url += "/"
		}
		c.ev()
		r := &extRepo{id: int64(len(c.h.extRepos) + 1), name: name, url: url, active: true}
		c.h.extRepos = append(c.h.extRepos, r)
		return extRepoStruct(r), nil
	})
	h.def("get_external_repos(info=None, url=None, event=None, queryOpts=None)", "listExternalRepos", func(c *call, a args) (any, *hubErr) {
		q, err := parseQueryOpts(a.get("queryOpts"))
		if err != nil {
			return nil, err
		}
		var rows []xmlrpc.Struct
		for _, r := range c.h.extRepos {
			if !r.active || (truthy(a.get("url")) && r.url != a.get("url")) {
				continue
			}
			if info := a.get("info"); info != nil {
				found, err := c.h.lookupExtRepo(info)
				if err != nil {
					return nil, err
				}
				if found != r {
					continue
				}
			}
			rows = append(rows, extRepoStruct(r))
		}
		return q.apply(rows), nil
	})
	h.def("get_external_repo(info, strict=False, event=None)", "getExternalRepo", func(c *call, a args) (any, *hubErr) {
		r, err := c.h.lookupExtRepo(a.get("info"))
		if err != nil {
			return nil, err
		}
		if r == nil {
			if a.bool("strict") {
				return nil, genericErr("No such repo: %s", pyStr(a.get("info")))
			}
			return nil, nil
		}
		return extRepoStruct(r), nil
	})
	h.def("RootExports.addExternalRepoToTag(tag_info, repo_info, priority, merge_mode='koji', arches=None)", "addExternalRepoToTag", func(c *call, a args) (any, *hubErr) {
		if err := c.assertPerm("tag"); err != nil {
			return nil, err
		}
		mode := a.get("merge_mode")
		if mode == nil {
			mode = "koji"
		}
		if mode != "koji" && mode != "simple" && mode != "bare" {
			return nil, genericErr("No such merge mode: %s", pyStr(mode))
		}
		t, err := c.h.getTag(a.get("tag_info"), true)
		if err != nil {
			return nil, err
		}
		r, err := c.h.extRepoStrict(a.get("repo_info"))
		if err != nil {
			return nil, err
		}
		var arches any
		if a.get("arches") != nil {
			s, err := parseArches(a.get("arches"))
			if err != nil {
				return nil, err
			}
			arches = s
		}
		pri, err := toInt(a.get("priority"))
		if err != nil {
			return nil, err
		}
		for _, l := range t.extRepos {
			if l.repoID == r.id {
				return nil, genericErr("tag %s already associated with external repo %s", t.name, r.name)
			}
		}
		for _, l := range t.extRepos {
			if l.priority == pri {
				return nil, genericErr("tag %s already associated with an external repo at priority %d", t.name, pri)
			}
		}
		t.lastChange = c.ev()
		t.extRepos = append(t.extRepos, &tagExtRepo{repoID: r.id, priority: pri, mergeMode: mode.(string), arches: arches})
		return nil, nil
	})
	h.def("RootExports.removeExternalRepoFromTag(tag_info, repo_info)", "removeExternalRepoFromTag", func(c *call, a args) (any, *hubErr) {
		if err := c.assertPerm("tag"); err != nil {
			return nil, err
		}
		t, err := c.h.getTag(a.get("tag_info"), true)
		if err != nil {
			return nil, err
		}
		r, err := c.h.extRepoStrict(a.get("repo_info"))
		if err != nil {
			return nil, err
		}
		i := slices.IndexFunc(t.extRepos, func(l *tagExtRepo) bool { return l.repoID == r.id })
		if i < 0 {
			return nil, genericErr("external repo %s not associated with tag %s", r.name, t.name)
		}
		t.lastChange = c.ev()
		t.extRepos = slices.Delete(t.extRepos, i, i+1)
		return nil, nil
	})
	h.def("get_tag_external_repos(tag_info=None, repo_info=None, event=None)", "getTagExternalRepos", func(c *call, a args) (any, *hubErr) {
		var only *tag
		if v := a.get("tag_info"); truthy(v) {
			t, err := c.h.getTag(v, true)
			if err != nil {
				return nil, err
			}
			only = t
		}
		var repo *extRepo
		if v := a.get("repo_info"); truthy(v) {
			r, err := c.h.extRepoStrict(v)
			if err != nil {
				return nil, err
			}
			repo = r
		}
		var rows []xmlrpc.Struct
		for _, t := range c.h.sortedTags() {
			if !t.active || (only != nil && t != only) {
				continue
			}
			for _, l := range t.extRepos {
				if repo == nil || l.repoID == repo.id {
					rows = append(rows, c.h.tagExtRepoRow(t, l))
				}
			}
		}
		return queryOpts{order: []string{"priority"}}.apply(rows), nil
	})
	h.def("get_external_repo_list(tag_info, event=None)", "getExternalRepoList", func(c *call, a args) (any, *hubErr) {
		t, err := c.h.getTag(a.get("tag_info"), true)
		if err != nil {
			return nil, err
		}
		seen := map[int64]bool{}
		out := []any{}
		for _, id := range c.h.inheritedTags(t.id) {
			o := c.h.tags[id]
			if o == nil {
				continue
			}
			for _, l := range o.sortedExtRepos() {
				if !seen[l.repoID] {
					seen[l.repoID] = true
					out = append(out, c.h.tagExtRepoRow(o, l))
				}
			}
		}
		return out, nil
	})
}
