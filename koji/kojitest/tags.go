package kojitest

import (
	"iter"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/rida-build/rida/internal/xmlrpc"
)

var nameInternal = regexp.MustCompile(`^[A-Za-z0-9/_.+-]+$`)

// verifyName is verify_name_internal.
func verifyName(v any) (string, *hubErr) {
	name, ok := v.(string)
	if !ok {
		return "", genericErr("Name should be string")
	}
	if len(name) > 256 {
		return "", genericErr("Name %s is too long. Max length is 256 characters", name)
	}
	if !nameInternal.MatchString(name) {
		return "", genericErr("Name %s does not match RegexNameInternal value", name)
	}
	return name, nil
}

// nameOrID is name_or_id_clause: an int is an id, a string a name, a
// struct its id or name member.
func nameOrID(info any) (id int64, name string, byName bool, err *hubErr) {
	if s, ok := info.(xmlrpc.Struct); ok {
		if v, ok := s.Get("id"); ok {
			n, e := toInt(v)
			if e != nil {
				return 0, "", false, paramErr("Invalid name or id value: %s", pyStr(info))
			}
			return n, "", false, nil
		}
		if v, ok := s.Get("name"); ok {
			info = v
		} else {
			return 0, "", false, paramErr("Invalid name or id value: %s", pyStr(info))
		}
	}
	switch v := info.(type) {
	case int64:
		return v, "", false, nil
	case string:
		return 0, v, true, nil
	}
	return 0, "", false, paramErr("Invalid name or id value: %s", pyStr(info))
}

// lookupIndexed is lookup_name over a table indexed by id and by name:
// the row info names, or nil.
func lookupIndexed[T any](info any, byID map[int64]*T, byName map[string]*T) (*T, *hubErr) {
	id, name, isName, err := nameOrID(info)
	if err != nil {
		return nil, err
	}
	if isName {
		return byName[name], nil
	}
	return byID[id], nil
}

// lookupScan is lookup_name over rows: the first row whose id or name (as
// key gives them) info names, or nil.
func lookupScan[T any](info any, rows iter.Seq[*T], key func(*T) (int64, string)) (*T, *hubErr) {
	id, name, isName, err := nameOrID(info)
	if err != nil {
		return nil, err
	}
	for r := range rows {
		rid, rname := key(r)
		if (isName && rname == name) || (!isName && rid == id) {
			return r, nil
		}
	}
	return nil, nil
}

// mustExist is a strict lookup's answer: the row, or GenericError "No such
// entry in table <table>: <info>".
func mustExist[T any](r *T, err *hubErr, table string, info any) (*T, *hubErr) {
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, genericErr("No such entry in table %s: %s", table, pyStr(info))
	}
	return r, nil
}

// lookupTag is lookup_name('tag', ...): any tag row, deleted ones too.
func (h *FakeHub) lookupTag(info any) (*tag, *hubErr) {
	return lookupIndexed(info, h.tags, h.tagByName)
}

// lookupTagStrict is get_tag_id(info, strict=True).
func (h *FakeHub) lookupTagStrict(info any) (*tag, *hubErr) {
	t, err := h.lookupTag(info)
	return mustExist(t, err, "tag", info)
}

// getTag is get_tag: an active tag or nil.
func (h *FakeHub) getTag(info any, strict bool) (*tag, *hubErr) {
	t, err := h.lookupTag(info)
	if err != nil {
		return nil, err
	}
	if t == nil || !t.active {
		if strict {
			return nil, genericErr("No such tagInfo: %s", pyRepr(info))
		}
		return nil, nil
	}
	return t, nil
}

func (h *FakeHub) tagStruct(t *tag, blocked bool) xmlrpc.Struct {
	var perm any
	if t.permID != nil {
		perm = h.permName(*t.permID)
	}
	extra := xmlrpc.Struct{}
	for _, e := range t.extra {
		if e.value == blockedExtra {
			if blocked {
				extra = append(extra, xmlrpc.Member{Name: e.key, Value: []any{true, nil}})
			}
			continue
		}
		if blocked {
			extra = append(extra, xmlrpc.Member{Name: e.key, Value: []any{false, e.value}})
		} else {
			extra = append(extra, xmlrpc.Member{Name: e.key, Value: e.value})
		}
	}
	return row{"arches": t.arches, "id": t.id, "locked": t.locked, "maven_include_all": t.mavenIA,
		"maven_support": t.mavenSupport, "name": t.name, "perm": perm, "perm_id": nullable(t.permID),
		"extra": extra}.sorted("extra")
}

// blockedExtra marks a blocked tag extra (its value is NULL).
var blockedExtra = &struct{ blocked bool }{true}

var archRE = regexp.MustCompile(`^[a-zA-Z0-9_-]+$`)

// parseArches is koji.parse_arches(arches, strict=True, allow_none=True).
func parseArches(v any) (string, *hubErr) {
	var s string
	switch x := v.(type) {
	case nil:
	case string:
		s = x
	case []any:
		parts := make([]string, len(x))
		for i, a := range x {
			parts[i] = pyStr(a)
		}
		s = strings.Join(parts, " ")
	default:
		return "", paramErr("Invalid type for arches: %s", pyType(v))
	}
	arches := strings.Fields(strings.ReplaceAll(s, ",", " "))
	for _, a := range arches {
		if !archRE.MatchString(a) {
			return "", paramErr("Architecture can be only [a-zA-Z0-9_-]")
		}
	}
	return strings.Join(arches, " "), nil
}

// permOf resolves a permission id or name (get_perm_id strict).
func (h *FakeHub) permOf(v any) (*int64, *hubErr) {
	if v == nil {
		return nil, nil
	}
	id, name, byName, err := nameOrID(v)
	if err != nil {
		return nil, err
	}
	for _, p := range h.perms {
		if (byName && p.name == name) || (!byName && p.id == id) {
			return ptr(p.id), nil
		}
	}
	return nil, genericErr("No such entry in table permissions: %s", pyStr(v))
}

func (h *FakeHub) registerTags() {
	h.def("get_tag(tagInfo, strict=False, event=None, blocked=False)", "getTag", func(c *call, a args) (any, *hubErr) {
		t, err := c.h.getTag(a.get("tagInfo"), a.bool("strict"))
		if err != nil || t == nil {
			return nil, err
		}
		s := c.h.tagStruct(t, a.bool("blocked"))
		if ev := a.get("event"); ev != nil {
			s = append(s, xmlrpc.Member{Name: "query_event", Value: ev})
		}
		return s, nil
	})
	h.def("get_tag_id(info, strict=False, create=False)", "getTagID", func(c *call, a args) (any, *hubErr) {
		t, err := c.h.lookupTag(a.get("info"))
		if err != nil {
			return nil, err
		}
		if t == nil {
			if a.bool("strict") {
				return nil, genericErr("No such entry in table tag: %s", pyStr(a.get("info")))
			}
			return nil, nil
		}
		return t.id, nil
	})
	h.def("create_tag(name, parent=None, arches=None, perm=None, locked=False, maven_support=False, maven_include_all=False, extra=None)", "createTag", func(c *call, a args) (any, *hubErr) {
		h := c.h
		if err := c.assertPerm("tag"); err != nil {
			return nil, err
		}
		name, err := verifyName(a.get("name"))
		if err != nil {
			return nil, err
		}
		arches, err := parseArches(a.get("arches"))
		if err != nil {
			return nil, err
		}
		if a.bool("maven_support") || a.bool("maven_include_all") {
			return nil, genericErr("Maven support not enabled")
		}
		if t, _ := h.getTag(name, false); t != nil {
			return nil, genericErr("A tag with the name '%s' already exists", name)
		}
		var parent *tag
		if p := a.get("parent"); truthy(p) {
			if parent, err = h.getTag(p, false); err != nil {
				return nil, err
			}
			if parent == nil {
				return nil, genericErr("Parent tag '%s' could not be found", pyStr(p))
			}
		}
		perm, err := h.permOf(a.get("perm"))
		if err != nil {
			return nil, err
		}
		var extra []tagExtra
		if e := a.get("extra"); e != nil {
			s, ok := e.(xmlrpc.Struct)
			if !ok {
				return nil, pyErr("AttributeError", "'"+pyTypeName(e)+"' object has no attribute 'items'", "'"+pyTypeName(e)+"' object has no attribute 'items'")
			}
			for _, m := range s {
				extra = setExtra(extra, m.Name, m.Value)
			}
		}
		ev := c.ev()
		t := h.tagByName[name]
		if t == nil {
			t = &tag{id: next(&h.seq.Tag), name: name}
			h.tags[t.id], h.tagByName[name] = t, t
		}
		*t = tag{id: t.id, name: name, active: true, arches: arches, permID: perm, locked: a.bool("locked"), extra: extra, lastChange: ev}
		if parent != nil {
			t.parents = []*inheritLink{{parentID: parent.id}}
		}
		return t.id, nil
	})
	h.def("edit_tag(tagInfo, **kwargs)", "editTag2", func(c *call, a args) (any, *hubErr) {
		if err := c.assertPerm("tag"); err != nil {
			return nil, err
		}
		return nil, c.editTag(a.get("tagInfo"), a.kw)
	})
	h.def("old_edit_tag(tagInfo, name, arches, locked, permissionID, extra=None)", "editTag", func(c *call, a args) (any, *hubErr) {
		if err := c.assertPerm("tag"); err != nil {
			return nil, err
		}
		kw := xmlrpc.KwArgs{{Name: "name", Value: a.get("name")}, {Name: "arches", Value: a.get("arches")},
			{Name: "locked", Value: a.get("locked")}, {Name: "perm_id", Value: a.get("permissionID")}, {Name: "extra", Value: a.get("extra")}}
		return nil, c.editTag(a.get("tagInfo"), kw)
	})
	h.def("delete_tag(tagInfo)", "deleteTag", func(c *call, a args) (any, *hubErr) {
		h := c.h
		if err := c.assertPerm("tag"); err != nil {
			return nil, err
		}
		t, err := h.getTag(a.get("tagInfo"), true)
		if err != nil {
			return nil, err
		}
		ev := c.ev()
		t.active, t.parents, t.packages, t.groups, t.groupPkgs, t.groupReqs, t.extra = false, nil, nil, nil, nil, nil, nil
		for _, l := range t.listing {
			if l.revokeEvent == 0 {
				l.revokeEvent, l.revoker = ev, c.user().id
			}
		}
		for _, o := range h.tags {
			o.parents = slices.DeleteFunc(o.parents, func(l *inheritLink) bool { return l.parentID == t.id })
		}
		for _, tg := range h.targets {
			if tg.buildTag == t.id || tg.destTag == t.id {
				tg.active = false
			}
		}
		t.lastChange = ev
		return nil, nil
	})
	h.def("RootExports.getInheritanceData(tag, event=None)", "getInheritanceData", func(c *call, a args) (any, *hubErr) {
		t, err := c.h.lookupTagStrict(a.get("tag"))
		if err != nil {
			return nil, err
		}
		out := []any{}
		for _, l := range sortedLinks(t.parents) {
			out = append(out, c.h.linkRow(t.id, l).sorted("child_id"))
		}
		return out, nil
	})
	h.def("RootExports.setInheritanceData(tag, data, clear=False)", "setInheritanceData", func(c *call, a args) (any, *hubErr) {
		t, err := c.h.lookupTagStrict(a.get("tag"))
		if err != nil {
			return nil, err
		}
		if err := c.assertPerm("tag"); err != nil {
			return nil, err
		}
		return nil, c.writeInheritance(t, a.get("data"), a.bool("clear"))
	})
	h.def("RootExports.getFullInheritance(tag, event=None, reverse=False, **kwargs)", "getFullInheritance", func(c *call, a args) (any, *hubErr) {
		for _, m := range a.kw {
			if m.Name == "stops" || m.Name == "jumps" {
				if truthy(m.Value) {
					return nil, paramErr("%s option has been removed since 1.26", m.Name)
				}
				continue
			}
			return nil, paramErr("getFullInheritance() got an unexpected keyword argument '%s'", m.Name)
		}
		t, err := c.h.lookupTagStrict(a.get("tag"))
		if err != nil {
			return nil, err
		}
		out := []any{}
		for _, l := range c.h.fullInheritance(t.id, a.bool("reverse")) {
			r := c.h.linkRow(l.childID, &l.inheritLink)
			s := r.sorted("child_id")
			s = append(s, xmlrpc.Member{Name: "nextdepth", Value: l.nextdepth},
				xmlrpc.Member{Name: "currdepth", Value: l.currdepth}, xmlrpc.Member{Name: "filter", Value: anyList(l.filter)})
			out = append(out, s)
		}
		return out, nil
	})
	h.registerTargets()
	h.registerPackages()
	h.registerGroups()
}

func pyTypeName(v any) string {
	return strings.TrimSuffix(strings.TrimPrefix(pyType(v), "<class '"), "'>")
}

// setExtra sets a tag extra key, keeping its place.
func setExtra(extra []tagExtra, key string, v any) []tagExtra {
	for i := range extra {
		if extra[i].key == key {
			extra[i].value = v
			return extra
		}
	}
	return append(extra, tagExtra{key, v})
}

// editTag is _edit_tag.
func (c *call) editTag(info any, kw xmlrpc.KwArgs) *hubErr {
	h := c.h
	get := func(k string) (any, bool) {
		for i := len(kw) - 1; i >= 0; i-- {
			if kw[i].Name == k {
				return kw[i].Value, true
			}
		}
		return nil, false
	}
	_, ms := get("maven_support")
	_, mia := get("maven_include_all")
	if ms || mia {
		return genericErr("Maven support not enabled")
	}
	listOf := func(k string) ([]any, *hubErr) {
		v, _ := get(k)
		if !truthy(v) {
			return nil, nil
		}
		l, ok := v.([]any)
		if !ok {
			return nil, paramErr("Invalid type for value '%s': %s, expected type <class 'list'>", pyStr(v), pyType(v))
		}
		return l, nil
	}
	removeExtra, err := listOf("remove_extra")
	if err != nil {
		return err
	}
	blockExtra, err := listOf("block_extra")
	if err != nil {
		return err
	}
	t, err := h.getTag(info, true)
	if err != nil {
		return err
	}
	newPerm, hasPerm := get("perm_id")
	if !hasPerm {
		newPerm, hasPerm = get("perm")
	}
	var permID *int64
	if hasPerm && newPerm != nil {
		if permID, err = h.permOf(newPerm); err != nil {
			return err
		}
	}
	rename := ""
	if n, _ := get("name"); truthy(n) && n != t.name {
		name, err := verifyName(n)
		if err != nil {
			return err
		}
		if o := h.tagByName[name]; o != nil {
			return genericErr("Name %s already taken by tag %d", name, o.id)
		}
		rename = name
	}
	arches, hasArches := get("arches")
	newArches := t.arches
	if hasArches && truthy(arches) && arches != t.arches {
		if newArches, err = parseArches(arches); err != nil {
			return err
		}
	} else if hasArches {
		newArches, _ = arches.(string)
	}
	var add xmlrpc.Struct
	if e, ok := get("extra"); ok {
		s, ok := e.(xmlrpc.Struct)
		if !ok && e != nil {
			return pyErr("TypeError", "'"+pyTypeName(e)+"' object is not iterable", "'"+pyTypeName(e)+"' object is not iterable")
		}
		for _, k := range append(append([]any{}, blockExtra...), removeExtra...) {
			if _, ok := s.Get(pyStr(k)); ok {
				return genericErr("Can not both add/update and remove tag-extra: '%s'", pyStr(k))
			}
		}
		add = s
	}
	var missing []string
	for _, k := range removeExtra {
		if !slices.ContainsFunc(t.extra, func(e tagExtra) bool { return e.key == pyStr(k) && e.value != blockedExtra }) {
			missing = append(missing, pyStr(k))
		}
	}
	if len(missing) > 0 {
		return genericErr("Tag: %s doesn't have extra: %s", t.name, strings.Join(missing, ", "))
	}
	// every check passed: apply
	changed := false
	if rename != "" {
		delete(h.tagByName, t.name)
		t.name = rename
		h.tagByName[rename] = t
		changed = true
	}
	if hasPerm && !equalPtr(permID, t.permID) {
		t.permID, changed = permID, true
	}
	if hasArches && newArches != t.arches {
		t.arches, changed = newArches, true
	}
	if v, ok := get("locked"); ok && truthy(v) != t.locked {
		t.locked, changed = truthy(v), true
	}
	for _, m := range add {
		old := slices.IndexFunc(t.extra, func(e tagExtra) bool { return e.key == m.Name })
		if old >= 0 && t.extra[old].value != blockedExtra && equalValues(t.extra[old].value, m.Value) {
			continue
		}
		t.extra = setExtra(t.extra, m.Name, m.Value)
		changed = true
	}
	for _, k := range blockExtra {
		t.extra = setExtra(t.extra, pyStr(k), blockedExtra)
		changed = true
	}
	for _, k := range removeExtra {
		t.extra = slices.DeleteFunc(t.extra, func(e tagExtra) bool { return e.key == pyStr(k) })
		changed = true
	}
	if changed {
		t.lastChange = c.ev()
	}
	return nil
}

func equalPtr(a, b *int64) bool {
	return (a == nil && b == nil) || (a != nil && b != nil && *a == *b)
}

// equalValues compares decoded values (Python ==).
func equalValues(a, b any) bool { return pyRepr(a) == pyRepr(b) }

func sortedLinks(links []*inheritLink) []*inheritLink {
	out := slices.Clone(links)
	slices.SortStableFunc(out, func(a, b *inheritLink) int { return int(a.priority - b.priority) })
	return out
}

func (h *FakeHub) linkRow(child int64, l *inheritLink) row {
	var name any
	if p := h.tags[l.parentID]; p != nil {
		name = p.name
	}
	return row{"intransitive": l.intransitive, "maxdepth": l.maxdepth, "name": name, "noconfig": l.noconfig,
		"parent_id": l.parentID, "pkg_filter": l.pkgFilter, "priority": l.priority, "child_id": child}
}

// writeInheritance is _writeInheritanceData.
func (c *call) writeInheritance(t *tag, data any, clear bool) *hubErr {
	h := c.h
	var changes []xmlrpc.Struct
	switch d := data.(type) {
	case xmlrpc.Struct:
		changes = []xmlrpc.Struct{d}
	case []any:
		for _, x := range d {
			s, ok := x.(xmlrpc.Struct)
			if !ok {
				return pyErr("AttributeError", "'"+pyTypeName(x)+"' object has no attribute 'get'", "'"+pyTypeName(x)+"' object has no attribute 'get'")
			}
			changes = append(changes, s)
		}
	default:
		return pyErr("TypeError", "'"+pyTypeName(data)+"' object is not iterable", "'"+pyTypeName(data)+"' object is not iterable")
	}
	fields := []string{"parent_id", "priority", "maxdepth", "intransitive", "noconfig", "pkg_filter"}
	type want struct {
		link   inheritLink
		delete bool
	}
	var wants []want
	for _, l := range changes {
		del := truthy(optKey(l, "delete link"))
		check := fields
		if del {
			check = fields[:1]
		}
		for _, f := range check {
			if !hasKey(l, f) {
				return genericErr("No value for %s", f)
			}
		}
		p := optKey(l, "parent_id")
		if _, err := h.getTag(p, true); err != nil {
			return err
		}
		pid, err := toInt(p)
		if err != nil {
			return err
		}
		w := want{link: inheritLink{parentID: pid}, delete: del}
		if !del {
			if w.link.priority, err = toInt(optKey(l, "priority")); err != nil {
				return err
			}
			if md := optKey(l, "maxdepth"); md != nil {
				n, err := toInt(md)
				if err != nil {
					return err
				}
				w.link.maxdepth = n
			}
			w.link.intransitive = truthy(optKey(l, "intransitive"))
			w.link.noconfig = truthy(optKey(l, "noconfig"))
			w.link.pkgFilter = pyStr(optKey(l, "pkg_filter"))
		}
		wants = append(wants, w)
	}
	// the new set of links, keyed by parent
	cur := map[int64]*inheritLink{}
	order := []int64{}
	for _, l := range t.parents {
		cur[l.parentID] = l
		order = append(order, l.parentID)
	}
	updated := map[int64]bool{}
	next := map[int64]*inheritLink{}
	for k, v := range cur {
		next[k] = v
	}
	changed := false
	for _, w := range wants {
		orig := cur[w.link.parentID]
		updated[w.link.parentID] = true
		switch {
		case w.delete:
			if orig != nil {
				delete(next, w.link.parentID)
				changed = true
			}
		case orig == nil || clear || *orig != w.link:
			l := w.link
			if orig == nil {
				order = append(order, l.parentID)
			}
			next[l.parentID] = &l
			changed = true
		}
	}
	if clear {
		for pid := range cur {
			if !updated[pid] {
				delete(next, pid)
				changed = true
			}
		}
	}
	if !changed {
		return nil
	}
	byPri := map[int64][]int64{}
	var pris []int64
	for _, pid := range order {
		if l, ok := next[pid]; ok {
			if len(byPri[l.priority]) == 0 {
				pris = append(pris, l.priority)
			}
			byPri[l.priority] = append(byPri[l.priority], pid)
		}
	}
	for _, p := range pris {
		if ids := byPri[p]; len(ids) > 1 {
			return genericErr("Multiple parent tags (%s) cannot have the same priority value (%d) on child tag %d", pyRepr(anyList(ids)), p, t.id)
		}
	}
	var links []*inheritLink
	seen := map[int64]bool{}
	for _, pid := range order {
		if l, ok := next[pid]; ok && !seen[pid] {
			seen[pid] = true
			links = append(links, l)
		}
	}
	t.parents = links
	t.lastChange = c.ev()
	return nil
}

// fullLink is a link of readFullInheritance.
type fullLink struct {
	inheritLink
	childID   int64
	nextdepth any
	currdepth int64
	filter    []string
}

// fullInheritance is readFullInheritance: the ordered ancestry of a tag
// (its descendants with reverse).
func (h *FakeHub) fullInheritance(tagID int64, reverse bool) []fullLink {
	var order []fullLink
	hist := map[int64][]fullLink{}
	var rec func(tagID int64, top map[int64]bool, currdepth int64, maxdepth any, noconfig bool, pfilter []string)
	rec = func(tagID int64, top map[int64]bool, currdepth int64, maxdepth any, noconfig bool, pfilter []string) {
		if md, ok := maxdepth.(int64); ok && md < 1 {
			return
		}
		currdepth++
		top = mapsClone(top)
		top[tagID] = true
		type node struct {
			l     inheritLink
			child int64
			id    int64
		}
		var nodes []node
		if reverse {
			for _, o := range h.sortedTags() {
				for _, l := range sortedLinks(o.parents) {
					if l.parentID == tagID {
						nodes = append(nodes, node{*l, o.id, o.id})
					}
				}
			}
		} else if t := h.tags[tagID]; t != nil {
			for _, l := range sortedLinks(t.parents) {
				nodes = append(nodes, node{*l, tagID, l.parentID})
			}
		}
		for _, n := range nodes {
			if top[n.id] {
				continue
			}
			if n.l.intransitive && len(top) > 1 && !reverse {
				continue
			}
			var nextdepth any
			if reverse {
				if md, ok := n.l.maxdepth.(int64); ok && md < currdepth-1 {
					continue
				}
			} else {
				nextdepth = n.l.maxdepth
				md, hasMax := maxdepth.(int64)
				if nd, ok := nextdepth.(int64); !ok {
					if hasMax {
						nextdepth = md - 1
					}
				} else if hasMax {
					nextdepth = min(nd, md) - 1
				}
			}
			if n.l.noconfig {
				noconfig = true
			}
			filter := slices.Clone(pfilter)
			if n.l.pkgFilter != "" {
				filter = append(filter, n.l.pkgFilter)
			}
			fl := fullLink{inheritLink: n.l, childID: n.child, nextdepth: nextdepth, currdepth: currdepth, filter: filter}
			if prev, ok := hist[n.id]; ok {
				rescan := true
				for _, p := range prev {
					sufficient := true
					last, lastOK := p.nextdepth.(int64)
					nd, ndOK := nextdepth.(int64)
					if !ndOK {
						if lastOK {
							sufficient = false
						}
					} else if lastOK && last < nd {
						sufficient = false
					}
					if p.noconfig && !noconfig {
						sufficient = false
					}
					if len(p.filter) > 0 {
						sufficient = false
					}
					if sufficient {
						rescan = false
					}
				}
				if !rescan {
					continue
				}
			}
			hist[n.id] = append(hist[n.id], fl)
			order = append(order, fl)
			if n.l.intransitive && reverse {
				continue
			}
			rec(n.id, top, currdepth, nextdepth, noconfig, filter)
		}
	}
	rec(tagID, map[int64]bool{}, 0, nil, false, nil)
	return order
}

func mapsClone(m map[int64]bool) map[int64]bool {
	out := make(map[int64]bool, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (h *FakeHub) sortedTags() []*tag {
	out := make([]*tag, 0, len(h.tags))
	for _, t := range h.tags {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *tag) int { return int(a.id - b.id) })
	return out
}

// inheritedTags is the tag and its ancestors (readFullInheritance order).
func (h *FakeHub) inheritedTags(tagID int64) []int64 {
	out := []int64{tagID}
	for _, l := range h.fullInheritance(tagID, false) {
		out = append(out, l.parentID)
	}
	return out
}

// --- targets ---

func (h *FakeHub) targetStruct(t *target) xmlrpc.Struct {
	return row{"build_tag": t.buildTag, "build_tag_name": h.tags[t.buildTag].name, "dest_tag": t.destTag,
		"dest_tag_name": h.tags[t.destTag].name, "id": t.id, "name": t.name}.sorted()
}

// lookupTarget is lookup_build_target: any target name, deleted ones too.
func (h *FakeHub) lookupTarget(info any) (*target, *hubErr) {
	return lookupScan(info, maps.Values(h.targets), func(t *target) (int64, string) { return t.id, t.name })
}

// buildTargets is get_build_targets.
func (h *FakeHub) buildTargets(info, buildTag, destTag any) ([]*target, *hubErr) {
	var want *target
	if truthy(info) {
		t, err := h.lookupTarget(info)
		if err != nil {
			return nil, err
		}
		if t == nil {
			return nil, nil
		}
		want = t
	}
	tagID := func(v any) (int64, *hubErr) {
		if n, ok := isInt(v); ok {
			return n, nil
		}
		t, err := h.lookupTag(v)
		if err != nil || t == nil {
			return 0, err
		}
		return t.id, nil
	}
	var bt, dt int64
	var err *hubErr
	if buildTag != nil {
		if bt, err = tagID(buildTag); err != nil {
			return nil, err
		}
	}
	if destTag != nil {
		if dt, err = tagID(destTag); err != nil {
			return nil, err
		}
	}
	var out []*target
	for _, t := range h.sortedTargets() {
		if !t.active || (want != nil && t != want) || (buildTag != nil && t.buildTag != bt) || (destTag != nil && t.destTag != dt) {
			continue
		}
		out = append(out, t)
	}
	return out, nil
}

func (h *FakeHub) sortedTargets() []*target {
	out := make([]*target, 0, len(h.targets))
	for _, t := range h.targets {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *target) int { return int(a.id - b.id) })
	return out
}

func (h *FakeHub) registerTargets() {
	h.def("create_build_target(name, build_tag, dest_tag)", "createBuildTarget", func(c *call, a args) (any, *hubErr) {
		if err := c.assertPerm("target"); err != nil {
			return nil, err
		}
		return nil, c.setTarget(nil, a.get("name"), a.get("build_tag"), a.get("dest_tag"))
	})
	h.def("edit_build_target(buildTargetInfo, name, build_tag, dest_tag)", "editBuildTarget", func(c *call, a args) (any, *hubErr) {
		if err := c.assertPerm("target"); err != nil {
			return nil, err
		}
		if _, err := verifyName(a.get("name")); err != nil {
			return nil, err
		}
		t, err := c.h.lookupTarget(a.get("buildTargetInfo"))
		if err != nil {
			return nil, err
		}
		if t == nil {
			return nil, genericErr("No such build target: %s", pyStr(a.get("buildTargetInfo")))
		}
		return nil, c.setTarget(t, a.get("name"), a.get("build_tag"), a.get("dest_tag"))
	})
	h.def("delete_build_target(buildTargetInfo)", "deleteBuildTarget", func(c *call, a args) (any, *hubErr) {
		if err := c.assertPerm("target"); err != nil {
			return nil, err
		}
		t, err := c.h.lookupTarget(a.get("buildTargetInfo"))
		if err != nil {
			return nil, err
		}
		if t == nil {
			return nil, genericErr("No such build target: %s", pyStr(a.get("buildTargetInfo")))
		}
		if t.active {
			c.ev()
			t.active = false
		}
		return nil, nil
	})
	h.def("get_build_targets(info=None, event=None, buildTagID=None, destTagID=None, queryOpts=None)", "getBuildTargets", func(c *call, a args) (any, *hubErr) {
		ts, err := c.h.buildTargets(a.get("info"), a.get("buildTagID"), a.get("destTagID"))
		if err != nil {
			return nil, err
		}
		q, err := parseQueryOpts(a.get("queryOpts"))
		if err != nil {
			return nil, err
		}
		rows := make([]xmlrpc.Struct, len(ts))
		for i, t := range ts {
			rows[i] = c.h.targetStruct(t)
		}
		return q.apply(rows), nil
	})
	h.def("get_build_target(info, event=None, strict=False)", "getBuildTarget", func(c *call, a args) (any, *hubErr) {
		ts, err := c.h.buildTargets(a.get("info"), nil, nil)
		if err != nil {
			return nil, err
		}
		if len(ts) == 1 && truthy(a.get("info")) {
			return c.h.targetStruct(ts[0]), nil
		}
		if a.bool("strict") {
			return nil, genericErr("No such build target: %s", pyStr(a.get("info")))
		}
		return nil, nil
	})
}

// setTarget is _create_build_target (t nil) or _edit_build_target.
func (c *call) setTarget(t *target, nameV, buildTag, destTag any) *hubErr {
	h := c.h
	name, err := verifyName(nameV)
	if err != nil {
		return err
	}
	if t == nil {
		if o, _ := h.lookupTarget(name); o != nil && o.active {
			return genericErr("A build target with the name '%s' already exists", name)
		}
	}
	bt, err := h.getTag(buildTag, false)
	if err != nil {
		return err
	}
	if bt == nil {
		return genericErr("build tag '%s' does not exist", pyStr(buildTag))
	}
	dt, err := h.getTag(destTag, false)
	if err != nil {
		return err
	}
	if dt == nil {
		return genericErr("destination tag '%s' does not exist", pyStr(destTag))
	}
	if t != nil && t.name != name {
		if o, _ := h.lookupTarget(name); o != nil {
			return genericErr("name \"%s\" is already taken by build target %d", name, o.id)
		}
	}
	c.ev()
	if t == nil {
		if t, _ = h.lookupTarget(name); t == nil {
			t = &target{id: next(&h.seq.Target)}
			h.targets[t.id] = t
		}
	}
	t.name, t.active, t.buildTag, t.destTag = name, true, bt.id, dt.id
	return nil
}

// --- package lists ---

// lookupPackage is lookup_package (name or id).
func (h *FakeHub) lookupPackage(info any) (*pkg, *hubErr) {
	return lookupIndexed(info, h.pkgs, h.pkgByName)
}

func (h *FakeHub) lookupPackageStrict(info any) (*pkg, *hubErr) {
	p, err := h.lookupPackage(info)
	return mustExist(p, err, "package", info)
}

// pkgListing is a package list entry as readPackageList finds it.
type pkgListing struct {
	pkgEntry
	tagID int64
}

// packageList is readPackageList: the entries of a tag (with its
// inheritance and package filters when inherit), by package, in order.
func (h *FakeHub) packageList(tagID int64, pkgID int64, inherit bool) (map[int64]pkgListing, []int64) {
	out := map[int64]pkgListing{}
	var order []int64
	add := func(t *tag, filter []*regexp.Regexp) {
		for _, e := range t.packages {
			if pkgID != 0 && e.pkgID != pkgID {
				continue
			}
			if _, ok := out[e.pkgID]; ok {
				continue
			}
			skip := false
			for _, re := range filter {
				if !re.MatchString(h.pkgs[e.pkgID].name) {
					skip = true
				}
			}
			if skip {
				continue
			}
			out[e.pkgID] = pkgListing{*e, t.id}
			order = append(order, e.pkgID)
		}
	}
	t := h.tags[tagID]
	if t == nil {
		return out, order
	}
	add(t, nil)
	if inherit {
		for _, l := range h.fullInheritance(tagID, false) {
			var res []*regexp.Regexp
			for _, pat := range l.filter {
				if re, err := regexp.Compile(`^(?:` + pat + `)`); err == nil {
					res = append(res, re)
				}
			}
			if p := h.tags[l.parentID]; p != nil {
				add(p, res)
			}
		}
	}
	return out, order
}

func (h *FakeHub) pkgListingRow(l pkgListing, owners bool) row {
	r := row{"package_id": l.pkgID, "package_name": h.pkgs[l.pkgID].name, "tag_id": l.tagID,
		"tag_name": h.tags[l.tagID].name, "extra_arches": l.extraArches, "blocked": l.blocked}
	if owners {
		r["owner_id"], r["owner_name"] = l.owner, h.users[l.owner].name
	}
	return r
}

// setPkgEntry replaces the tag's own entry for a package.
func (t *tag) setPkgEntry(e pkgEntry) {
	for _, o := range t.packages {
		if o.pkgID == e.pkgID {
			*o = e
			return
		}
	}
	t.packages = append(t.packages, &e)
}

func (t *tag) removePkgEntry(pkgID int64) {
	t.packages = slices.DeleteFunc(t.packages, func(e *pkgEntry) bool { return e.pkgID == pkgID })
}

// pkglistAdd is _direct_pkglist_add with the policy check.
func (c *call) pkglistAdd(taginfo, pkginfo, owner, block, extraArches any, force, update bool) *hubErr {
	h := c.h
	t, err := h.getTag(taginfo, true)
	if err != nil {
		return err
	}
	p, err := h.lookupPackage(pkginfo)
	if err != nil {
		return err
	}
	if p == nil {
		if _, ok := pkginfo.(string); !ok {
			return genericErr("No such package: %s", pyStr(pkginfo))
		}
	}
	var ownerID int64
	if owner != nil {
		u, err := h.lookupUserStrict(owner)
		if err != nil {
			return err
		}
		ownerID = u.id
	}
	if err := c.assertPackageListPolicy(); err != nil {
		return err
	}
	if extraArches != nil {
		s, err := parseArches(extraArches)
		if err != nil {
			return err
		}
		extraArches = s
	}
	var prev *pkgListing
	if p != nil {
		list, _ := h.packageList(t.id, p.id, true)
		if l, ok := list[p.id]; ok {
			prev = &l
		}
	}
	changed, changedOwner := false, false
	var blocked bool
	if prev == nil {
		blocked = truthy(block)
		if update && !force {
			return genericErr("cannot update: tag %s has no data for package %s", t.name, pyStr(pkginfo))
		}
	} else {
		if owner == nil {
			ownerID = prev.owner
		}
		changedOwner = prev.owner != ownerID
		blocked = prev.blocked
		if block != nil {
			blocked = truthy(block)
		}
		if extraArches == nil {
			extraArches = prev.extraArches
		}
		changed = prev.blocked != blocked || !equalValues(prev.extraArches, extraArches)
		if !changed && !changedOwner && !force {
			return nil
		}
		if prev.blocked && !blocked && !force {
			return genericErr("package %s is blocked in tag %s", p.name, t.name)
		}
	}
	if ownerID == 0 {
		if !force {
			return genericErr("owner not specified")
		}
		ownerID = c.user().id
	}
	if p == nil {
		p = h.newPackage(pkginfo.(string))
	}
	ev := c.ev()
	if prev == nil || changed {
		t.setPkgEntry(pkgEntry{pkgID: p.id, blocked: blocked, extraArches: extraArches, owner: ownerID})
	} else if changedOwner {
		for _, e := range t.packages {
			if e.pkgID == p.id {
				e.owner = ownerID
			}
		}
		if prev.tagID != t.id {
			t.setPkgEntry(pkgEntry{pkgID: p.id, blocked: prev.blocked, extraArches: prev.extraArches, owner: ownerID})
		}
	}
	t.lastChange = ev
	return nil
}

// assertPackageListPolicy is Koji's default package_list policy: a
// logged-in user with the admin or tag permission.
func (c *call) assertPackageListPolicy() *hubErr {
	if err := c.assertLogin(); err != nil {
		return err
	}
	if !c.hasPerm("admin") && !c.hasPerm("tag") {
		return notAllowed("policy violation (package_list): Only admin/tag can do this via default policy")
	}
	return nil
}

// packageListEntry resolves the tag and package of a package-list change
// that needs both to exist (unblock, remove), then checks the policy, in
// Koji's order.
func (c *call) packageListEntry(a args) (*tag, *pkg, *hubErr) {
	t, err := c.h.getTag(a.get("taginfo"), true)
	if err != nil {
		return nil, nil, err
	}
	p, err := c.h.lookupPackageStrict(a.get("pkginfo"))
	if err != nil {
		return nil, nil, err
	}
	if err := c.assertPackageListPolicy(); err != nil {
		return nil, nil, err
	}
	return t, p, nil
}

func (h *FakeHub) registerPackages() {
	h.def("pkglist_add(taginfo, pkginfo, owner=None, block=None, extra_arches=None, force=False, update=False)", "packageListAdd", func(c *call, a args) (any, *hubErr) {
		return nil, c.pkglistAdd(a.get("taginfo"), a.get("pkginfo"), a.get("owner"), a.get("block"), a.get("extra_arches"), a.bool("force"), a.bool("update"))
	})
	h.def("pkglist_block(taginfo, pkginfo, force=False)", "packageListBlock", func(c *call, a args) (any, *hubErr) {
		h := c.h
		t, err := h.getTag(a.get("taginfo"), true)
		if err != nil {
			return nil, err
		}
		p, err := h.lookupPackageStrict(a.get("pkginfo"))
		if err != nil {
			return nil, err
		}
		if list, _ := h.packageList(t.id, p.id, true); len(list) == 0 {
			return nil, genericErr("Package %s is not in tag listing for %s", p.name, t.name)
		}
		return nil, c.pkglistAdd(a.get("taginfo"), a.get("pkginfo"), nil, true, nil, a.bool("force"), false)
	})
	h.def("pkglist_unblock(taginfo, pkginfo, force=False)", "packageListUnblock", func(c *call, a args) (any, *hubErr) {
		h := c.h
		t, p, err := c.packageListEntry(a)
		if err != nil {
			return nil, err
		}
		list, _ := h.packageList(t.id, p.id, true)
		prev, ok := list[p.id]
		if !ok {
			return nil, genericErr("no data (blocked or otherwise) for package %s in tag %s", p.name, t.name)
		}
		if !prev.blocked {
			return nil, genericErr("package %s NOT blocked in tag %s", p.name, t.name)
		}
		t.lastChange = c.ev()
		if prev.tagID != t.id {
			t.setPkgEntry(pkgEntry{pkgID: p.id, extraArches: prev.extraArches, owner: prev.owner})
			return nil, nil
		}
		t.removePkgEntry(p.id)
		if list, _ := h.packageList(t.id, p.id, true); len(list) == 0 || list[p.id].blocked {
			t.setPkgEntry(pkgEntry{pkgID: p.id, extraArches: prev.extraArches, owner: prev.owner})
		}
		return nil, nil
	})
	h.def("pkglist_remove(taginfo, pkginfo, force=False)", "packageListRemove", func(c *call, a args) (any, *hubErr) {
		t, p, err := c.packageListEntry(a)
		if err != nil {
			return nil, err
		}
		t.lastChange = c.ev()
		t.removePkgEntry(p.id)
		return nil, nil
	})
	h.def("RootExports.listPackages(tagID=None, userID=None, pkgID=None, prefix=None, inherited=False, with_dups=False, event=None, queryOpts=None, with_owners=True, with_blocked=True)", "listPackages", func(c *call, a args) (any, *hubErr) {
		h := c.h
		q, err := parseQueryOpts(a.get("queryOpts"))
		if err != nil {
			return nil, err
		}
		prefix := strings.ToLower(pyStr(a.get("prefix")))
		if a.get("prefix") == nil {
			prefix = ""
		}
		var rows []xmlrpc.Struct
		if a.get("tagID") == nil && a.get("userID") == nil && a.get("pkgID") == nil {
			for _, p := range h.sortedPackages() {
				if strings.HasPrefix(strings.ToLower(p.name), prefix) {
					rows = append(rows, ordered("package_id", p.id, "package_name", p.name))
				}
			}
			return q.apply(rows), nil
		}
		var tagIDs []int64
		if v := a.get("tagID"); v != nil {
			t, err := h.lookupTagStrict(v)
			if err != nil {
				return nil, err
			}
			tagIDs = []int64{t.id}
		} else {
			for _, t := range h.sortedTags() {
				tagIDs = append(tagIDs, t.id)
			}
		}
		var userID, pkgID int64
		if v := a.get("userID"); v != nil {
			u, err := h.lookupUser(v)
			if err != nil {
				return nil, err
			}
			if u == nil {
				return nil, genericErr("No such user: %s", pyRepr(v))
			}
			userID = u.id
		}
		if v := a.get("pkgID"); v != nil {
			p, err := h.lookupPackageStrict(v)
			if err != nil {
				return nil, err
			}
			pkgID = p.id
		}
		for _, tid := range tagIDs {
			list, order := h.packageList(tid, pkgID, a.bool("inherited") && a.get("tagID") != nil)
			for _, id := range order {
				l := list[id]
				if (userID != 0 && l.owner != userID) || (!a.bool("with_blocked") && l.blocked) {
					continue
				}
				if !strings.HasPrefix(strings.ToLower(h.pkgs[id].name), prefix) {
					continue
				}
				rows = append(rows, h.pkgListingRow(l, a.bool("with_owners")).sorted())
			}
		}
		return q.apply(rows), nil
	})
	h.def("RootExports.getPackageID(name, strict=False)", "getPackageID", func(c *call, a args) (any, *hubErr) {
		name, _ := a.get("name").(string)
		p := c.h.pkgByName[name]
		if p == nil {
			if a.bool("strict") {
				return nil, genericErr("No such package name: %s", pyStr(a.get("name")))
			}
			return nil, nil
		}
		return p.id, nil
	})
	h.def("lookup_package(info, strict=False, create=False)", "getPackage", func(c *call, a args) (any, *hubErr) {
		p, err := c.h.lookupPackage(a.get("info"))
		if err != nil {
			return nil, err
		}
		if p == nil {
			switch {
			case a.bool("strict"):
				return nil, genericErr("No such entry in table package: %s", pyStr(a.get("info")))
			case a.bool("create"):
				name, ok := a.get("info").(string)
				if !ok {
					return nil, genericErr("Name must be a string")
				}
				c.changed()
				p = c.h.newPackage(name)
			default:
				return nil, nil
			}
		}
		return ordered("id", p.id, "name", p.name), nil
	})
	h.def("RootExports.checkTagPackage(tag, pkg)", "checkTagPackage", func(c *call, a args) (any, *hubErr) {
		t, err := c.h.lookupTag(a.get("tag"))
		if err != nil {
			return nil, err
		}
		p, err := c.h.lookupPackage(a.get("pkg"))
		if err != nil {
			return nil, err
		}
		if t == nil || p == nil {
			return false, nil
		}
		list, _ := c.h.packageList(t.id, p.id, true)
		l, ok := list[p.id]
		return ok && !l.blocked, nil
	})
}

func (h *FakeHub) sortedPackages() []*pkg {
	out := make([]*pkg, 0, len(h.pkgs))
	for _, p := range h.pkgs {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *pkg) int { return int(a.id - b.id) })
	return out
}

// --- groups ---

func (h *FakeHub) lookupGroup(info any) (*groupName, *hubErr) {
	return lookupScan(info, maps.Values(h.groups), func(g *groupName) (int64, string) { return g.id, g.name })
}

// tagGroup is a group of get_tag_groups, with its packages and reqs.
type tagGroup struct {
	cfg   *groupCfg
	tagID int64
	pkgs  []*groupPkg
	pkgTg []int64
	reqs  []*groupReq
	reqTg []int64
}

// tagGroups is get_tag_groups: the groups of a tag (first found through
// inheritance wins), with their package lists.
func (h *FakeHub) tagGroups(tagID int64, inherit bool) ([]int64, map[int64]*tagGroup) {
	tags := []int64{tagID}
	if inherit {
		tags = h.inheritedTags(tagID)
	}
	groups := map[int64]*tagGroup{}
	var order []int64
	for _, tid := range tags {
		t := h.tags[tid]
		if t == nil {
			continue
		}
		for _, g := range t.groups {
			if _, ok := groups[g.groupID]; !ok {
				groups[g.groupID] = &tagGroup{cfg: g, tagID: tid}
				order = append(order, g.groupID)
			}
		}
	}
	for _, tid := range tags {
		t := h.tags[tid]
		if t == nil {
			continue
		}
		for _, p := range t.groupPkgs {
			g := groups[p.groupID]
			if g == nil || g.cfg.blocked || slices.ContainsFunc(g.pkgs, func(o *groupPkg) bool { return o.name == p.name }) {
				continue
			}
			g.pkgs, g.pkgTg = append(g.pkgs, p), append(g.pkgTg, tid)
		}
		for _, r := range t.groupReqs {
			g := groups[r.groupID]
			if g == nil || g.cfg.blocked || groups[r.reqID] == nil || groups[r.reqID].cfg.blocked ||
				slices.ContainsFunc(g.reqs, func(o *groupReq) bool { return o.reqID == r.reqID }) {
				continue
			}
			g.reqs, g.reqTg = append(g.reqs, r), append(g.reqTg, tid)
		}
	}
	return order, groups
}

func (h *FakeHub) registerGroups() {
	h.def("grplist_add(taginfo, grpinfo, block=False, force=False, **opts)", "groupListAdd", func(c *call, a args) (any, *hubErr) {
		if err := c.assertPerm("tag"); err != nil {
			return nil, err
		}
		return nil, c.groupAdd(a.get("taginfo"), a.get("grpinfo"), a.bool("block"), a.bool("force"), a.kw)
	})
	h.def("grplist_block(taginfo, grpinfo)", "groupListBlock", func(c *call, a args) (any, *hubErr) {
		if err := c.assertPerm("tag"); err != nil {
			return nil, err
		}
		return nil, c.groupAdd(a.get("taginfo"), a.get("grpinfo"), true, false, nil)
	})
	h.def("grplist_remove(taginfo, grpinfo, force=False)", "groupListRemove", func(c *call, a args) (any, *hubErr) {
		if err := c.assertPerm("tag"); err != nil {
			return nil, err
		}
		t, err := c.h.getTag(a.get("taginfo"), true)
		if err != nil {
			return nil, err
		}
		g, err := c.h.lookupGroup(a.get("grpinfo"))
		if err != nil {
			return nil, err
		}
		if g == nil {
			return nil, genericErr("No such entry in table groups: %s", pyStr(a.get("grpinfo")))
		}
		i := slices.IndexFunc(t.groups, func(o *groupCfg) bool { return o.groupID == g.id })
		if i < 0 && !a.bool("force") {
			return nil, genericErr("No group: %s found for tag: %s", g.name, t.name)
		}
		t.lastChange = c.ev()
		if i >= 0 {
			t.groups = slices.Delete(t.groups, i, i+1)
		}
		return nil, nil
	})
	h.def("grp_pkg_add(taginfo, grpinfo, pkg_name, block=False, force=False, **opts)", "groupPackageListAdd", func(c *call, a args) (any, *hubErr) {
		if err := c.assertPerm("tag"); err != nil {
			return nil, err
		}
		return nil, c.groupPkgAdd(a.get("taginfo"), a.get("grpinfo"), a.get("pkg_name"), a.bool("block"), a.bool("force"), a.kw)
	})
	h.def("grp_pkg_block(taginfo, grpinfo, pkg_name)", "groupPackageListBlock", func(c *call, a args) (any, *hubErr) {
		if err := c.assertPerm("tag"); err != nil {
			return nil, err
		}
		return nil, c.groupPkgAdd(a.get("taginfo"), a.get("grpinfo"), a.get("pkg_name"), true, false, nil)
	})
	h.def("grp_pkg_remove(taginfo, grpinfo, pkg_name)", "groupPackageListRemove", func(c *call, a args) (any, *hubErr) {
		if err := c.assertPerm("tag"); err != nil {
			return nil, err
		}
		t, err := c.h.lookupTagStrict(a.get("taginfo"))
		if err != nil {
			return nil, err
		}
		g, err := c.h.lookupGroup(a.get("grpinfo"))
		if err != nil {
			return nil, err
		}
		if g == nil {
			return nil, genericErr("No such entry in table groups: %s", pyStr(a.get("grpinfo")))
		}
		t.lastChange = c.ev()
		t.groupPkgs = slices.DeleteFunc(t.groupPkgs, func(p *groupPkg) bool { return p.groupID == g.id && p.name == pyStr(a.get("pkg_name")) })
		return nil, nil
	})
	h.def("readTagGroups(tag, event=None, inherit=True, incl_pkgs=True, incl_reqs=True, incl_blocked=False)", "getTagGroups", func(c *call, a args) (any, *hubErr) {
		h := c.h
		t, err := h.lookupTagStrict(a.get("tag"))
		if err != nil {
			return nil, err
		}
		order, groups := h.tagGroups(t.id, a.bool("inherit"))
		blocked := a.bool("incl_blocked")
		out := []any{}
		for _, id := range order {
			g := groups[id]
			if g.cfg.blocked && !blocked {
				continue
			}
			r := row{"biarchonly": g.cfg.biarchonly, "blocked": g.cfg.blocked, "description": g.cfg.description,
				"display_name": g.cfg.displayName, "exported": g.cfg.exported, "group_id": id, "is_default": g.cfg.isDefault,
				"langonly": g.cfg.langonly, "name": h.groups[id].name, "tag_id": g.tagID, "uservisible": g.cfg.uservisible}
			if a.bool("incl_pkgs") {
				pkgs := []any{}
				for i, p := range g.pkgs {
					if p.blocked && !blocked {
						continue
					}
					pkgs = append(pkgs, row{"basearchonly": p.basearchonly, "blocked": p.blocked, "group_id": id,
						"package": p.name, "requires": p.requires, "tag_id": g.pkgTg[i], "type": p.typ}.sorted())
				}
				r["packagelist"] = pkgs
			}
			if a.bool("incl_reqs") {
				reqs := []any{}
				for i, q := range g.reqs {
					if q.blocked && !blocked {
						continue
					}
					reqs = append(reqs, row{"group_id": id, "tag_id": g.reqTg[i], "req_id": q.reqID, "blocked": q.blocked,
						"type": q.typ, "is_metapkg": q.isMetapkg, "name": h.groups[q.reqID].name}.sorted())
				}
				r["grouplist"] = reqs
			}
			out = append(out, r.sorted("packagelist", "grouplist"))
		}
		return out, nil
	})
}

// groupAdd is _grplist_add.
func (c *call) groupAdd(taginfo, grpinfo any, block, force bool, opts xmlrpc.KwArgs) *hubErr {
	h := c.h
	t, err := h.getTag(taginfo, true)
	if err != nil {
		return err
	}
	g, err := h.lookupGroup(grpinfo)
	if err != nil {
		return err
	}
	if g == nil {
		name, ok := grpinfo.(string)
		if !ok {
			return genericErr("Name must be a string")
		}
		c.changed()
		g = &groupName{id: next(&h.seq.Group), name: name}
		h.groups[g.id] = g
	}
	_, groups := h.tagGroups(t.id, true)
	cfg := groupCfg{groupID: g.id, blocked: block}
	set := map[string]bool{"blocked": true}
	fields := map[string]*any{"exported": &cfg.exported, "display_name": &cfg.displayName, "is_default": &cfg.isDefault,
		"uservisible": &cfg.uservisible, "description": &cfg.description, "langonly": &cfg.langonly, "biarchonly": &cfg.biarchonly}
	for _, m := range opts {
		if p, ok := fields[m.Name]; ok {
			*p, set[m.Name] = m.Value, true
		}
	}
	if prev := groups[g.id]; prev != nil {
		if prev.cfg.blocked && !force {
			return genericErr("group %s is blocked in tag %s", g.name, t.name)
		}
		changed := prev.cfg.blocked != block
		old := map[string]any{"exported": prev.cfg.exported, "display_name": prev.cfg.displayName, "is_default": prev.cfg.isDefault,
			"uservisible": prev.cfg.uservisible, "description": prev.cfg.description, "langonly": prev.cfg.langonly, "biarchonly": prev.cfg.biarchonly}
		for name, p := range fields {
			if set[name] {
				if !equalValues(*p, old[name]) {
					changed = true
				}
			} else {
				*p = old[name]
				set[name] = true
			}
		}
		if !changed {
			return nil
		}
	}
	if !set["display_name"] {
		cfg.displayName = g.name
	}
	if !set["biarchonly"] {
		cfg.biarchonly = false
	}
	if !set["exported"] {
		cfg.exported = true
	}
	if !set["uservisible"] {
		cfg.uservisible = true
	}
	t.lastChange = c.ev()
	if i := slices.IndexFunc(t.groups, func(o *groupCfg) bool { return o.groupID == g.id }); i >= 0 {
		t.groups[i] = &cfg
	} else {
		t.groups = append(t.groups, &cfg)
	}
	return nil
}

// groupPkgAdd is _grp_pkg_add.
func (c *call) groupPkgAdd(taginfo, grpinfo, pkgName any, block, force bool, opts xmlrpc.KwArgs) *hubErr {
	h := c.h
	t, err := h.lookupTagStrict(taginfo)
	if err != nil {
		return err
	}
	g, err := h.lookupGroup(grpinfo)
	if err != nil {
		return err
	}
	if g == nil {
		return genericErr("No such entry in table groups: %s", pyStr(grpinfo))
	}
	name := pyStr(pkgName)
	_, groups := h.tagGroups(t.id, true)
	cfg := groups[g.id]
	if cfg == nil {
		return genericErr("group %s not present in tag %s", g.name, t.name)
	}
	if cfg.cfg.blocked {
		return genericErr("group %s is blocked in tag %s", g.name, t.name)
	}
	p := groupPkg{groupID: g.id, name: name, blocked: block}
	set := map[string]bool{}
	fields := map[string]*any{"type": &p.typ, "basearchonly": &p.basearchonly, "requires": &p.requires}
	for _, m := range opts {
		if f, ok := fields[m.Name]; ok {
			*f, set[m.Name] = m.Value, true
		}
	}
	if i := slices.IndexFunc(cfg.pkgs, func(o *groupPkg) bool { return o.name == name }); i >= 0 {
		prev := cfg.pkgs[i]
		if prev.blocked && !force {
			return genericErr("package %s blocked in group %s, tag %s", name, g.name, t.name)
		}
		changed := block
		old := map[string]any{"type": prev.typ, "basearchonly": prev.basearchonly, "requires": prev.requires}
		for n, f := range fields {
			if set[n] {
				if !equalValues(*f, old[n]) {
					changed = true
				}
			} else {
				*f, set[n] = old[n], true
			}
		}
		if !changed && !force {
			return nil
		}
	}
	if !set["type"] {
		p.typ = "mandatory"
	}
	t.lastChange = c.ev()
	if i := slices.IndexFunc(t.groupPkgs, func(o *groupPkg) bool { return o.groupID == g.id && o.name == name }); i >= 0 {
		t.groupPkgs[i] = &p
	} else {
		t.groupPkgs = append(t.groupPkgs, &p)
	}
	return nil
}
