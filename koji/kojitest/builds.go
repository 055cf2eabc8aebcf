package kojitest

import (
	"path"
	"slices"
	"strings"
	"time"

	"github.com/rida-build/rida/internal/xmlrpc"
)

// nvr is a parsed N-V-R.
type nvr struct{ name, version, release string }

// parseNVR is koji.parse_NVR (an epoch prefix "1:name" is dropped).
func parseNVR(s string) (nvr, *hubErr) {
	p2 := strings.LastIndexByte(s, '-')
	if p2 <= 0 || p2 == len(s)-1 {
		return nvr{}, genericErr("invalid format: %s", s)
	}
	p1 := strings.LastIndexByte(s[:p2], '-')
	if p1 <= 0 || p1 == p2-1 {
		return nvr{}, genericErr("invalid format: %s", s)
	}
	n := nvr{name: s[:p1], version: s[p1+1 : p2], release: s[p2+1:]}
	if i := strings.IndexByte(n.name, ':'); i >= 0 {
		n.name = n.name[i+1:]
	}
	return n, nil
}

// checkNVR is koji.check_NVR(strict=True) on name/version/release.
func checkNVR(version, release string) *hubErr {
	if strings.Contains(version, "-") {
		return genericErr(`The "-" character not allowed in version field`)
	}
	if strings.Contains(release, "-") {
		return genericErr(`The "-" character not allowed in release field`)
	}
	return nil
}

func (h *FakeHub) buildByNVR(n nvr) *build {
	p := h.pkgByName[n.name]
	if p == nil {
		return nil
	}
	for _, b := range h.builds {
		if b.pkgID == p.id && b.version == n.version && b.release == n.release {
			return b
		}
	}
	return nil
}

// findBuild is find_build_id + get_build: a build id, an N-V-R string
// or a {name, version, release} struct.
func (h *FakeHub) findBuild(info any, strict bool) (*build, *hubErr) {
	var b *build
	switch v := info.(type) {
	case int64:
		b = h.builds[v]
		if b == nil && strict {
			return nil, genericErr("No such build: %d", v)
		}
		return b, nil
	case string:
		n, err := parseNVR(v)
		if err != nil {
			return nil, err
		}
		b = h.buildByNVR(n)
	case xmlrpc.Struct:
		if !hasKey(v, "name") || !hasKey(v, "version") || !hasKey(v, "release") {
			return nil, genericErr("did not provide name, version, and release")
		}
		b = h.buildByNVR(nvr{pyStr(optKey(v, "name")), pyStr(optKey(v, "version")), pyStr(optKey(v, "release"))})
	default:
		return nil, genericErr("Invalid type for argument: %s", pyType(info))
	}
	if b == nil && strict {
		return nil, genericErr("No such build: %s", pyRepr(info))
	}
	return b, nil
}

func (h *FakeHub) nvrOf(b *build) string {
	return h.pkgs[b.pkgID].name + "-" + b.version + "-" + b.release
}

func (h *FakeHub) eventTime(id int64) *time.Time {
	t, ok := h.events[id]
	if !ok {
		return nil
	}
	return &t
}

// buildRow has the columns getBuild, listBuilds and listTagged share.
func (h *FakeHub) buildRow(b *build) row {
	p := h.pkgs[b.pkgID]
	created := h.eventTime(b.createEvent)
	return row{
		"build_id": b.id, "version": b.version, "release": b.release, "epoch": b.epoch, "state": b.state,
		"completion_time": pyTime(b.completion), "start_time": pyTime(b.start), "task_id": b.taskID,
		"creation_event_id": b.createEvent, "creation_time": pyTime(created),
		"package_id": p.id, "package_name": p.name, "name": p.name, "volume_id": int64(0), "volume_name": "DEFAULT",
		"nvr": h.nvrOf(b), "owner_id": b.owner, "owner_name": h.users[b.owner].name, "draft": false,
		"promoter_id": nil, "promoter_name": nil, "promotion_time": nil,
	}
}

// buildStruct is get_build's struct.
func (h *FakeHub) buildStruct(b *build) xmlrpc.Struct {
	r := h.buildRow(b)
	created := h.eventTime(b.createEvent)
	r["id"], r["creation_ts"], r["start_ts"], r["completion_ts"] = b.id, pyTS(created), pyTS(b.start), pyTS(b.completion)
	r["promotion_ts"], r["cg_id"], r["source"], r["extra"] = nil, b.cgID, b.source, b.extra
	var cgName any
	if id, ok := b.cgID.(int64); ok {
		for _, cg := range h.cgs {
			if cg.id == id {
				cgName = cg.name
			}
		}
	}
	r["cg_name"] = cgName
	return r.sorted("cg_name")
}

// buildData is what new_build is given.
type buildData struct {
	name, version, release string
	epoch                  any
	state                  int64
	taskID                 any
	owner                  int64
	cgID                   any
	source, extra          any
	start, completion      *time.Time
	repr                   string // Python repr of the data dict, for "Build already exists" texts
}

// newBuild is new_build: a new build, or the recycled FAILED/CANCELED
// build of the same N-V-R (same id), under recycle_build's rules.
func (c *call) newBuild(d buildData) (*build, *hubErr) {
	h := c.h
	if old := h.buildByNVR(nvr{d.name, d.version, d.release}); old != nil {
		if err := h.canRecycle(old, d); err != nil {
			return nil, err
		}
		if old.state == BuildBuilding { // the controlling task (or reservation) again
			return old, nil
		}
		prev := old.state
		old.state, old.taskID, old.owner, old.start, old.completion = d.state, d.taskID, d.owner, d.start, d.completion
		old.epoch, old.source, old.extra, old.btypes = d.epoch, d.source, d.extra, nil
		if d.cgID != nil {
			old.cgID = d.cgID
		}
		old.createEvent = c.ev()
		h.buildCreated(old, prev)
		return old, nil
	}
	ev := c.ev()
	b := &build{id: next(&h.seq.Build), pkgID: h.newPackage(d.name).id, version: d.version, release: d.release,
		epoch: d.epoch, state: d.state, taskID: d.taskID, owner: d.owner, cgID: d.cgID, source: d.source,
		extra: d.extra, createEvent: ev, start: d.start, completion: d.completion}
	h.builds[b.id] = b
	h.buildCreated(b, nil)
	return b, nil
}

// canRecycle is recycle_build's checks.
func (h *FakeHub) canRecycle(old *build, d buildData) *hubErr {
	state := buildStateNames[old.state]
	if old.state == BuildBuilding {
		if d.state == old.state && equalValues(d.taskID, old.taskID) {
			return nil
		}
		if old.taskID == nil {
			return pyErr("TypeError", "%d format: a real number is required, not NoneType", "%d format: a real number is required, not NoneType")
		}
		return genericErr("Build already in progress (task %d)", old.taskID)
	}
	if state != "FAILED" && state != "CANCELED" {
		return genericErr("Build already exists (id=%d, state=%s): %s", old.id, state, d.repr)
	}
	for _, t := range h.tags {
		for _, l := range t.listing {
			if l.buildID == old.id {
				return genericErr("Build already exists. Unable to recycle, has tag history")
			}
		}
	}
	for _, r := range h.rpms {
		if r.buildID == old.id {
			return genericErr("Build already exists. Unable to recycle, has rpm data")
		}
	}
	for _, a := range h.archives {
		if a.buildID == old.id {
			return genericErr("Build already exists. Unable to recycle, has archive data")
		}
	}
	return nil
}

func (b *build) addBType(id int64) {
	if !slices.Contains(b.btypes, id) {
		b.btypes = append(b.btypes, id)
	}
}

// cancelBuild is cancel_build: a BUILDING build becomes CANCELED, its
// task is canceled, its reservation dropped.
func (c *call) cancelBuild(b *build, cancelTask bool) bool {
	if b.state != BuildBuilding {
		return false
	}
	c.changed()
	b.state, b.completion = BuildCanceled, ptr(c.h.clock())
	b.token, b.reserved = "", nil
	c.h.buildStateChanged(b, int64(BuildBuilding), BuildCanceled)
	if id, ok := b.taskID.(int64); ok && cancelTask {
		if t := c.h.tasks[id]; t != nil {
			c.cancelTask(c.h.topTask(t), true)
		}
	}
	return true
}

func (h *FakeHub) rpmRow(r *rpm) row {
	return row{"arch": r.arch, "build_id": r.buildID, "buildroot_id": r.buildrootID, "buildtime": r.buildtime,
		"draft": false, "epoch": r.epoch, "extra": r.extra, "id": r.id, "metadata_only": false, "name": r.name,
		"payloadhash": r.payloadhash, "release": r.release, "size": r.size, "version": r.version}
}

func (h *FakeHub) archiveRow(a *archive) row {
	var at ArchiveType
	for _, t := range h.archTypes {
		if t.ID == a.typeID {
			at = t
		}
	}
	return row{"btype": h.btypeName(a.btypeID), "btype_id": a.btypeID, "build_id": a.buildID, "buildroot_id": a.buildrootID,
		"checksum": a.checksum, "checksum_type": a.checksumType, "compression_type": nil, "extra": a.extra,
		"filename": a.filename, "id": a.id, "metadata_only": a.metadataOnly, "size": a.size,
		"type_description": at.Description, "type_extensions": at.Extensions, "type_id": a.typeID, "type_name": at.Name}
}

// tagAccess is assert_tag_access for the user: a locked tag or one that
// needs a permission refuses unless admin forces it.
func (h *FakeHub) tagAccess(t *tag, u *user, force bool) *hubErr {
	override := u.perms["admin"]
	reason := ""
	switch {
	case t.locked:
		reason = "tag is locked"
	case t.permID != nil && !u.perms[h.permName(*t.permID)]:
		reason = "tag requires " + h.permName(*t.permID) + " permission"
	}
	if reason != "" && !(override && force) {
		return notAllowed("%s", reason)
	}
	return nil
}

// tagDirect is _direct_tag_build.
func (c *call) tagDirect(t *tag, b *build, u *user, force bool) *hubErr {
	n := c.h.nvrOf(b)
	if b.state != BuildComplete {
		return tagErr("build %s not complete: state %s", n, buildStateNames[b.state])
	}
	var old *tagged
	for _, l := range t.listing {
		if l.buildID == b.id && l.revokeEvent == 0 {
			old = l
		}
	}
	if old != nil && !force {
		return tagErr("build %s already tagged (%s)", n, t.name)
	}
	ev := c.ev()
	if old != nil {
		old.revokeEvent, old.revoker = ev, u.id
	}
	t.listing = append(t.listing, &tagged{buildID: b.id, createEvent: ev, creator: u.id})
	t.lastChange = ev
	c.h.tagged(t, b, u, force, false, false)
	return nil
}

// untagDirect is _direct_untag_build.
func (c *call) untagDirect(t *tag, b *build, u *user, strict, force bool) *hubErr {
	var found []*tagged
	for _, l := range t.listing {
		if l.buildID == b.id && l.revokeEvent == 0 {
			found = append(found, l)
		}
	}
	if len(found) == 0 {
		if strict {
			return tagErr("build %s not in tag %s", c.h.nvrOf(b), t.name)
		}
		return nil
	}
	ev := c.ev()
	for _, l := range found {
		l.revokeEvent, l.revoker = ev, u.id
	}
	t.lastChange = ev
	c.h.tagged(t, b, u, force, true, strict)
	return nil
}

// taggedBuild is a row of readTaggedBuilds.
type taggedBuild struct {
	b     *build
	tagID int64
	event int64
}

// listTaggedArgs is what listTagged and listTaggedRPMS share: the tag
// (found false for a missing tag when not strict), the event, and the
// tagged builds the filters select.
func (h *FakeHub) listTaggedArgs(a args) (rows []taggedBuild, found bool, err *hubErr) {
	t, err := h.getTag(a.get("tag"), a.bool("strict"))
	if err != nil || t == nil {
		return nil, false, err
	}
	ev, err := eventArg(a.get("event"))
	if err != nil {
		return nil, false, err
	}
	rows, err = h.taggedBuilds(t.id, ev, a.bool("inherit"), a.get("latest"), a.get("package"), a.get("owner"), a.get("type"))
	return rows, err == nil, err
}

// taggedBuilds is readTaggedBuilds: COMPLETE builds tagged in the tag
// (and its ancestors with inherit) at an event (0: now), latest first,
// filtered by the package list.
func (h *FakeHub) taggedBuilds(tagID, event int64, inherit bool, latest any, pkgName, owner, btypeName any) ([]taggedBuild, *hubErr) {
	limit := int64(0)
	switch l := latest.(type) {
	case int64:
		limit = l
	case float64:
		limit = int64(l)
	default:
		if truthy(latest) {
			limit = 1
		}
	}
	var btypeID int64
	if btypeName != nil {
		bt := h.btypeByName(pyStr(btypeName))
		if bt == nil {
			return nil, genericErr("unsupported build type: %s", pyStr(btypeName))
		}
		btypeID = bt.id
	}
	tags := []int64{tagID}
	if inherit {
		tags = h.inheritedTags(tagID)
	}
	var pkgID int64
	if truthy(pkgName) {
		p := h.pkgByName[pyStr(pkgName)]
		if p == nil {
			return nil, nil
		}
		pkgID = p.id
	}
	packages, _ := h.packageList(tagID, pkgID, true)
	seen := map[int64]int64{}
	var out []taggedBuild
	for _, tid := range tags {
		t := h.tags[tid]
		if t == nil {
			continue
		}
		var rows []taggedBuild
		for _, l := range t.listing {
			b := h.builds[l.buildID]
			if !l.activeAt(event) || b.state != BuildComplete {
				continue
			}
			if pkgID != 0 && b.pkgID != pkgID {
				continue
			}
			if truthy(owner) && h.users[b.owner].name != pyStr(owner) {
				continue
			}
			if btypeID != 0 && !slices.Contains(b.btypes, btypeID) {
				continue
			}
			rows = append(rows, taggedBuild{b, tid, l.createEvent})
		}
		slices.SortStableFunc(rows, func(a, b taggedBuild) int { return int(b.event - a.event) })
		for _, r := range rows {
			if p, ok := packages[r.b.pkgID]; !ok || p.blocked {
				continue
			}
			if limit > 0 {
				if seen[r.b.pkgID] >= limit {
					continue
				}
				seen[r.b.pkgID]++
			}
			out = append(out, r)
		}
	}
	return out, nil
}

func (h *FakeHub) taggedRow(r taggedBuild, extra bool) xmlrpc.Struct {
	row := h.buildRow(r.b)
	row["id"], row["tag_id"], row["tag_name"], row["create_event"] = r.b.id, r.tagID, h.tags[r.tagID].name, r.event
	if extra {
		row["extra"] = r.b.extra
	}
	return row.sorted()
}

// eventArg reads an event parameter (0 is "now").
func eventArg(v any) (int64, *hubErr) {
	if v == nil {
		return 0, nil
	}
	n, ok := isInt(v)
	if !ok {
		return 0, genericErr("Invalid event: %s", pyRepr(v))
	}
	return n, nil
}

func (h *FakeHub) registerBuilds() {
	h.def("get_build(buildInfo, strict=False)", "getBuild", func(c *call, a args) (any, *hubErr) {
		b, err := c.h.findBuild(a.get("buildInfo"), a.bool("strict"))
		if err != nil || b == nil {
			return nil, err
		}
		return c.h.buildStruct(b), nil
	})
	h.def("find_build_id(X, strict=False)", "findBuildID", func(c *call, a args) (any, *hubErr) {
		b, err := c.h.findBuild(a.get("X"), a.bool("strict"))
		if err != nil || b == nil {
			if n, ok := isInt(a.get("X")); ok && err == nil {
				return n, nil
			}
			return nil, err
		}
		return b.id, nil
	})
	h.def("RootExports.listBuilds(packageID=None, userID=None, taskID=None, prefix=None, state=None, volumeID=None, source=None, createdBefore=None, createdAfter=None, completeBefore=None, completeAfter=None, type=None, typeInfo=None, queryOpts=None, pattern=None, cgID=None, draft=None)", "listBuilds", h.listBuilds)
	h.def("get_build_type(buildInfo, strict=False)", "getBuildType", func(c *call, a args) (any, *hubErr) {
		b, err := c.h.findBuild(a.get("buildInfo"), a.bool("strict"))
		if err != nil || b == nil {
			return nil, err
		}
		out := xmlrpc.Struct{}
		for _, id := range b.btypes {
			name := c.h.btypeName(id)
			out = append(out, xmlrpc.Member{Name: name, Value: optKey(optKey(b.extra, "typeinfo"), name)})
		}
		return out, nil
	})
	h.def("list_btypes(query=None, queryOpts=None)", "listBTypes", func(c *call, a args) (any, *hubErr) {
		q, err := parseQueryOpts(a.get("queryOpts"))
		if err != nil {
			return nil, err
		}
		var rows []xmlrpc.Struct
		for _, b := range c.h.btypes {
			query := a.get("query")
			if n, ok := optKey(query, "name").(string); ok && hasKey(query, "name") && n != b.name {
				continue
			}
			if hasKey(query, "id") && !equalValues(optKey(query, "id"), b.id) {
				continue
			}
			rows = append(rows, ordered("id", b.id, "name", b.name))
		}
		return q.apply(rows), nil
	})
	h.def("add_btype(name)", "addBType", func(c *call, a args) (any, *hubErr) {
		if err := c.assertPerm("admin"); err != nil {
			return nil, err
		}
		name, err := verifyName(a.get("name"))
		if err != nil {
			return nil, err
		}
		if c.h.btypeByName(name) != nil {
			return nil, genericErr("btype already exists")
		}
		c.changed()
		c.h.btypes = append(c.h.btypes, &btype{id: int64(len(c.h.btypes) + 1), name: name})
		return nil, nil
	})
	h.def("RootExports.cancelBuild(buildID, strict=False)", "cancelBuild", func(c *call, a args) (any, *hubErr) {
		if err := c.assertLogin(); err != nil {
			return nil, err
		}
		b, err := c.h.findBuild(a.get("buildID"), a.bool("strict"))
		if err != nil {
			return nil, err
		}
		if b == nil {
			return false, nil
		}
		if b.owner != c.user().id && !c.hasPerm("admin") {
			return nil, notAllowed("Cannot cancel build, not owner")
		}
		return c.cancelBuild(b, true), nil
	})
	h.def("untagged_builds(name=None, queryOpts=None, draft=None)", "untaggedBuilds", func(c *call, a args) (any, *hubErr) {
		h := c.h
		q, err := parseQueryOpts(a.get("queryOpts"))
		if err != nil {
			return nil, err
		}
		var rows []xmlrpc.Struct
		for _, b := range h.sortedBuilds() {
			if b.state != BuildComplete || (a.get("name") != nil && h.pkgs[b.pkgID].name != pyStr(a.get("name"))) || h.isTagged(b.id) {
				continue
			}
			rows = append(rows, ordered("id", b.id, "name", h.pkgs[b.pkgID].name, "version", b.version, "release", b.release))
		}
		return q.apply(rows), nil
	})
	h.def("list_rpms(buildID=None, buildrootID=None, imageID=None, componentBuildrootID=None, hostID=None, arches=None, queryOpts=None, draft=None)", "listRPMs", func(c *call, a args) (any, *hubErr) {
		return c.h.listRPMs(a.get("buildID"), a.get("buildrootID"), a.get("imageID"), a.get("arches"), a.get("queryOpts"))
	})
	h.def("RootExports.listBuildRPMs(build)", "listBuildRPMs", func(c *call, a args) (any, *hubErr) {
		id := a.get("build")
		if _, ok := isInt(id); !ok {
			b, err := c.h.findBuild(id, true)
			if err != nil {
				return nil, err
			}
			id = b.id
		}
		return c.h.listRPMs(id, nil, nil, nil, nil)
	})
	h.def("get_rpm(rpminfo, strict=False, multi=False)", "getRPM", func(c *call, a args) (any, *hubErr) {
		info := a.get("rpminfo")
		var match func(r *rpm) bool
		switch v := info.(type) {
		case int64:
			match = func(r *rpm) bool { return r.id == v }
		case string:
			i := strings.LastIndexByte(v, '.')
			if i < 0 {
				return nil, genericErr("invalid format: %s", v)
			}
			n, err := parseNVR(v[:i])
			if err != nil {
				return nil, genericErr("invalid format: %s", v)
			}
			arch := v[i+1:]
			match = func(r *rpm) bool {
				return r.name == n.name && r.version == n.version && r.release == n.release && r.arch == arch
			}
		case xmlrpc.Struct:
			match = func(r *rpm) bool {
				return pyStr(optKey(v, "name")) == r.name && pyStr(optKey(v, "version")) == r.version &&
					pyStr(optKey(v, "release")) == r.release && pyStr(optKey(v, "arch")) == r.arch
			}
		default:
			return nil, genericErr("Invalid type for rpminfo: %s", pyType(info))
		}
		var out []any
		for _, r := range c.h.rpms {
			if match(r) {
				out = append(out, c.h.listRPMRow(r))
			}
		}
		if a.bool("multi") {
			if out == nil {
				out = []any{}
			}
			return out, nil
		}
		if len(out) == 0 {
			if a.bool("strict") {
				return nil, genericErr("No such rpm: %s", pyRepr(info))
			}
			return nil, nil
		}
		return out[0], nil
	})
	h.def("RootExports.getRPMHeaders(rpmID=None, taskID=None, filepath=None, headers=None, strict=False)", "getRPMHeaders", func(c *call, a args) (any, *hubErr) {
		h := c.h
		strict := a.bool("strict")
		if !truthy(a.get("rpmID")) {
			if truthy(a.get("taskID")) {
				if !truthy(a.get("filepath")) {
					return nil, genericErr("filepath must be specified with taskID")
				}
				if strict {
					return nil, genericErr("Missing rpm file: %s/work/tasks/%s", h.topDir, pyStr(a.get("filepath")))
				}
				return xmlrpc.Struct{}, nil
			}
			return nil, genericErr("either rpmID or taskID and filepath must be specified")
		}
		var found *rpm
		for _, r := range h.rpms {
			if equalValues(r.id, a.get("rpmID")) || r.name+"-"+r.version+"-"+r.release+"."+r.arch == a.get("rpmID") {
				found = r
			}
		}
		if found == nil {
			if strict {
				return nil, genericErr("No such rpm: %s", pyRepr(a.get("rpmID")))
			}
			return xmlrpc.Struct{}, nil
		}
		b := h.builds[found.buildID]
		if b.state == BuildDeleted || found.headers == nil {
			if strict {
				n := h.pkgs[b.pkgID].name
				return nil, genericErr("Missing rpm file: %s/packages/%s/%s/%s/%s/%s-%s-%s.%s.rpm", h.topDir, n, b.version, b.release,
					found.arch, found.name, found.version, found.release, found.arch)
			}
			return xmlrpc.Struct{}, nil
		}
		out := xmlrpc.Struct{}
		hdrs, _ := a.get("headers").([]any)
		for _, hv := range hdrs {
			name := strings.ToLower(pyStr(hv))
			v, ok := found.headers[name]
			if !ok {
				return nil, genericErr("No such rpm header field: %s", pyStr(hv))
			}
			out = append(out, xmlrpc.Member{Name: pyStr(hv), Value: v})
		}
		return out, nil
	})
	h.def("list_archives(buildID=None, buildrootID=None, componentBuildrootID=None, hostID=None, type=None, filename=None, size=None, checksum=None, checksum_type=None, typeInfo=None, queryOpts=None, imageID=None, archiveID=None, strict=False)", "listArchives", h.listArchives)
	h.def("RootExports.getAverageBuildDuration(package, age=None)", "getAverageBuildDuration", func(c *call, a args) (any, *hubErr) {
		h := c.h
		p, err := h.lookupPackage(a.get("package"))
		if err != nil || p == nil {
			return nil, err
		}
		var sum float64
		n := 0
		for _, b := range h.builds {
			if b.pkgID != p.id || b.state != BuildComplete || b.completion == nil {
				continue
			}
			if b.taskID == nil && !strings.Contains(pyRepr(b.extra), "koji_task_id") {
				continue
			}
			sum += b.completion.Sub(h.events[b.createEvent]).Seconds()
			n++
		}
		if n == 0 {
			return nil, nil
		}
		return sum / float64(n), nil
	})
	h.registerTagging()
}

func (h *FakeHub) isTagged(buildID int64) bool {
	for _, t := range h.tags {
		for _, l := range t.listing {
			if l.buildID == buildID && l.revokeEvent == 0 {
				return true
			}
		}
	}
	return false
}

func (h *FakeHub) sortedBuilds() []*build {
	out := make([]*build, 0, len(h.builds))
	for _, b := range h.builds {
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b *build) int { return int(a.id - b.id) })
	return out
}

func (h *FakeHub) listRPMRow(r *rpm) xmlrpc.Struct {
	row := h.rpmRow(r)
	row["nvr"] = r.name + "-" + r.version + "-" + r.release
	row["external_repo_id"], row["external_repo_name"] = int64(0), "INTERNAL"
	return row.sorted()
}

func (h *FakeHub) listRPMs(buildID, buildrootID, imageID, arches, queryOpts any) (any, *hubErr) {
	q, err := parseQueryOpts(queryOpts)
	if err != nil {
		return nil, err
	}
	var inImage []int64
	if imageID != nil {
		for _, ar := range h.archives {
			if equalValues(ar.id, imageID) {
				inImage = ar.rpmComponents
			}
		}
	}
	var rows []xmlrpc.Struct
	for _, r := range h.rpms {
		if buildID != nil && !equalValues(r.buildID, buildID) {
			continue
		}
		if buildrootID != nil && !equalValues(r.buildrootID, buildrootID) {
			continue
		}
		if imageID != nil && !slices.Contains(inImage, r.id) {
			continue
		}
		switch x := arches.(type) {
		case string:
			if r.arch != x {
				continue
			}
		case []any:
			if !slices.ContainsFunc(x, func(v any) bool { return v == r.arch }) {
				continue
			}
		}
		rows = append(rows, h.listRPMRow(r))
	}
	return q.apply(rows), nil
}

func (h *FakeHub) listArchives(c *call, a args) (any, *hubErr) {
	q, err := parseQueryOpts(a.get("queryOpts"))
	if err != nil {
		return nil, err
	}
	var btypeID int64
	if t := a.get("type"); t != nil {
		bt := h.btypeByName(pyStr(t))
		if bt == nil || bt.name == "maven" || bt.name == "win" || bt.name == "image" {
			if bt == nil {
				return nil, genericErr("unsupported archive type: %s", pyStr(t))
			}
		} else if a.get("typeInfo") != nil {
			return nil, genericErr("typeInfo queries not supported for type %s", bt.name)
		}
		btypeID = bt.id
	}
	var inImage []int64
	if id := a.get("imageID"); id != nil {
		for _, ar := range h.archives {
			if equalValues(ar.id, id) {
				inImage = ar.archiveComponents
			}
		}
	}
	var rows []xmlrpc.Struct
	for _, ar := range h.archives {
		switch {
		case a.get("buildID") != nil && !equalValues(ar.buildID, a.get("buildID")),
			a.get("buildrootID") != nil && !equalValues(ar.buildrootID, a.get("buildrootID")),
			a.get("filename") != nil && ar.filename != a.get("filename"),
			a.get("size") != nil && !equalValues(ar.size, a.get("size")),
			a.get("checksum") != nil && ar.checksum != a.get("checksum"),
			a.get("checksum_type") != nil && !equalValues(ar.checksumType, a.get("checksum_type")),
			a.get("archiveID") != nil && !equalValues(ar.id, a.get("archiveID")),
			a.get("imageID") != nil && !slices.Contains(inImage, ar.id),
			btypeID != 0 && ar.btypeID != btypeID:
			continue
		}
		rows = append(rows, h.archiveRow(ar).sorted())
	}
	if a.bool("strict") && len(rows) == 0 {
		return nil, genericErr("No archives found.")
	}
	return q.apply(rows), nil
}

// timeArg reads a time filter: seconds since the epoch or an ISO string.
func timeArg(v any) (time.Time, bool) {
	switch x := v.(type) {
	case int64:
		return time.Unix(x, 0), true
	case float64:
		return time.UnixMicro(int64(x * 1e6)), true
	case string:
		for _, layout := range []string{"2006-01-02 15:04:05.999999-07:00", "2006-01-02 15:04:05.999999", "2006-01-02 15:04:05", "2006-01-02"} {
			if t, err := time.Parse(layout, x); err == nil {
				return t, true
			}
		}
	}
	return time.Time{}, false
}

// glob matches a shell glob case-insensitively (ILIKE of a glob).
func glob(pattern, s string) bool {
	ok, _ := path.Match(strings.ToLower(pattern), strings.ToLower(s))
	return ok
}

func (h *FakeHub) listBuilds(c *call, a args) (any, *hubErr) {
	q, err := parseQueryOpts(a.get("queryOpts"))
	if err != nil {
		return nil, err
	}
	var pkgID, userID int64
	if v := a.get("packageID"); v != nil {
		p, err := h.lookupPackage(v)
		if err != nil {
			return nil, err
		}
		if p == nil {
			return []any{}, nil
		}
		pkgID = p.id
	}
	if v := a.get("userID"); v != nil {
		u, err := h.lookupUser(v)
		if err != nil {
			return nil, err
		}
		if u == nil {
			return []any{}, nil
		}
		userID = u.id
	}
	var btypeID int64
	if t := a.get("type"); t != nil {
		bt := h.btypeByName(pyStr(t))
		if bt == nil {
			return nil, genericErr("unsupported build type: %s", pyStr(t))
		}
		btypeID = bt.id
	}
	var cgID int64
	if v := a.get("cgID"); truthy(v) {
		cg, err := h.lookupCG(v)
		if err != nil {
			return nil, err
		}
		if cg == nil {
			return []any{}, nil
		}
		cgID = cg.id
	}
	before := func(name string, t *time.Time, lt bool) bool {
		v := a.get(name)
		if !truthy(v) {
			return true
		}
		limit, ok := timeArg(v)
		if !ok || t == nil {
			return false
		}
		if lt {
			return t.Before(limit)
		}
		return t.After(limit)
	}
	var rows []xmlrpc.Struct
	for _, b := range h.sortedBuilds() {
		name := h.pkgs[b.pkgID].name
		created := h.eventTime(b.createEvent)
		switch {
		case pkgID != 0 && b.pkgID != pkgID,
			userID != 0 && b.owner != userID,
			a.get("taskID") != nil && !(equalValues(a.get("taskID"), int64(-1)) && b.taskID != nil) && !equalValues(a.get("taskID"), b.taskID),
			truthy(a.get("prefix")) && !strings.HasPrefix(strings.ToLower(name), strings.ToLower(pyStr(a.get("prefix")))),
			truthy(a.get("pattern")) && !glob(pyStr(a.get("pattern")), h.nvrOf(b)),
			a.get("source") != nil && !glob(pyStr(a.get("source")), pyStr(b.source)),
			a.get("state") != nil && !equalValues(a.get("state"), b.state),
			a.get("volumeID") != nil && !equalValues(a.get("volumeID"), int64(0)),
			btypeID != 0 && !slices.Contains(b.btypes, btypeID),
			cgID != 0 && !equalValues(b.cgID, cgID),
			truthy(a.get("draft")),
			!before("createdBefore", created, true), !before("createdAfter", created, false),
			!before("completeBefore", b.completion, true), !before("completeAfter", b.completion, false):
			continue
		}
		r := h.buildRow(b)
		r["creation_ts"], r["start_ts"], r["completion_ts"], r["promotion_ts"] = pyTS(created), pyTS(b.start), pyTS(b.completion), nil
		r["source"], r["extra"] = b.source, b.extra
		rows = append(rows, r.sorted())
	}
	return q.apply(rows), nil
}

func (h *FakeHub) registerTagging() {
	h.def("RootExports.tagBuild(tag, build, force=False, fromtag=None)", "tagBuild", func(c *call, a args) (any, *hubErr) {
		h := c.h
		if err := c.assertLogin(); err != nil {
			return nil, err
		}
		b, err := h.findBuild(a.get("build"), true)
		if err != nil {
			return nil, err
		}
		t, err := h.getTag(a.get("tag"), true)
		if err != nil {
			return nil, err
		}
		var fromID any
		var from *tag
		if f := a.get("fromtag"); truthy(f) {
			if from, err = h.lookupTagStrict(f); err != nil {
				return nil, err
			}
			fromID = from.id
		}
		if b.state != BuildComplete {
			return nil, tagErr("build %s not complete: state %s", h.nvrOf(b), buildStateNames[b.state])
		}
		force := a.bool("force")
		if err := h.tagAccess(t, c.user(), force); err != nil {
			return nil, err
		}
		if from != nil {
			if err := h.tagAccess(from, c.user(), force); err != nil {
				return nil, err
			}
		}
		pkgs, _ := h.packageList(t.id, b.pkgID, true)
		p, ok := pkgs[b.pkgID]
		msg := ""
		switch {
		case !ok:
			msg = "Package " + h.pkgs[b.pkgID].name + " not in list for " + t.name
		case p.blocked:
			msg = "Package " + h.pkgs[b.pkgID].name + " blocked in " + t.name
		}
		if msg != "" {
			if !force || !c.hasPerm("admin") {
				return nil, tagErr("%s", msg)
			}
			if err := c.pkglistAdd(t.id, b.pkgID, nil, false, nil, true, false); err != nil {
				return nil, err
			}
		}
		return c.makeTask("tagBuild", []any{t.id, b.id, force, fromID}, taskOpts{priority: 10, setPriority: true}), nil
	})
	h.def("RootExports.tagBuildBypass(tag, build, force=False, notify=False)", "tagBuildBypass", func(c *call, a args) (any, *hubErr) {
		if err := c.assertPerm("tag"); err != nil {
			return nil, err
		}
		t, b, err := c.tagAndBuild(a)
		if err != nil {
			return nil, err
		}
		return nil, c.tagDirect(t, b, c.user(), a.bool("force"))
	})
	untag := func(c *call, a args) (any, *hubErr) {
		t, b, err := c.tagAndBuild(a)
		if err != nil {
			return nil, err
		}
		return nil, c.untagDirect(t, b, c.user(), a.bool("strict"), a.bool("force"))
	}
	h.def("RootExports.untagBuild(tag, build, strict=True, force=False)", "untagBuild", func(c *call, a args) (any, *hubErr) {
		if err := c.assertLogin(); err != nil {
			return nil, err
		}
		return untag(c, a)
	})
	h.def("RootExports.untagBuildBypass(tag, build, strict=True, force=False, notify=False)", "untagBuildBypass", func(c *call, a args) (any, *hubErr) {
		if err := c.assertPerm("tag"); err != nil {
			return nil, err
		}
		return untag(c, a)
	})
	h.def("RootExports.listTagged(tag, event=None, inherit=False, prefix=None, latest=False, package=None, owner=None, type=None, strict=True, extra=False, draft=None)", "listTagged", func(c *call, a args) (any, *hubErr) {
		h := c.h
		rows, found, err := h.listTaggedArgs(a)
		if err != nil {
			return nil, err
		}
		if !found {
			return []any{}, nil
		}
		out := []any{}
		prefix := strings.ToLower(pyStr(a.get("prefix")))
		for _, r := range rows {
			if truthy(a.get("prefix")) && !strings.HasPrefix(strings.ToLower(h.pkgs[r.b.pkgID].name), prefix) {
				continue
			}
			out = append(out, h.taggedRow(r, a.bool("extra")))
		}
		return out, nil
	})
	h.def("RootExports.listTaggedRPMS(tag, event=None, inherit=False, latest=False, package=None, arch=None, rpmsigs=False, owner=None, type=None, strict=True, extra=True, draft=None)", "listTaggedRPMS", func(c *call, a args) (any, *hubErr) {
		h := c.h
		rows, found, err := h.listTaggedArgs(a)
		if err != nil {
			return nil, err
		}
		if !found {
			return []any{}, nil
		}
		builds, rpms := []any{}, []any{}
		for _, r := range rows {
			builds = append(builds, h.taggedRow(r, false))
		}
		for _, r := range rows {
			for _, rp := range h.rpms {
				if rp.buildID != r.b.id {
					continue
				}
				switch x := a.get("arch").(type) {
				case string:
					if rp.arch != x {
						continue
					}
				case []any:
					if !slices.ContainsFunc(x, func(v any) bool { return v == rp.arch }) {
						continue
					}
				}
				rr := h.rpmRow(rp)
				if !a.bool("extra") {
					delete(rr, "extra")
				}
				rpms = append(rpms, rr.sorted())
			}
		}
		return []any{rpms, builds}, nil
	})
	h.def("RootExports.getLatestBuilds(tag, event=None, package=None, type=None, draft=None)", "getLatestBuilds", func(c *call, a args) (any, *hubErr) {
		h := c.h
		tagID, ok := isInt(a.get("tag"))
		if !ok {
			t, err := h.lookupTagStrict(a.get("tag"))
			if err != nil {
				return nil, err
			}
			tagID = t.id
		}
		ev, err := eventArg(a.get("event"))
		if err != nil {
			return nil, err
		}
		rows, err := h.taggedBuilds(tagID, ev, true, true, a.get("package"), nil, a.get("type"))
		if err != nil {
			return nil, err
		}
		out := []any{}
		for _, r := range rows {
			out = append(out, h.taggedRow(r, false))
		}
		return out, nil
	})
	h.def("list_tags(build=None, package=None, perms=True, queryOpts=None, pattern=None)", "listTags", func(c *call, a args) (any, *hubErr) {
		h := c.h
		if a.get("build") != nil && a.get("package") != nil {
			return nil, genericErr("only one of build and package may be specified")
		}
		q, err := parseQueryOpts(a.get("queryOpts"))
		if err != nil {
			return nil, err
		}
		var b *build
		if v := a.get("build"); v != nil {
			if b, err = h.findBuild(v, false); err != nil {
				return nil, err
			}
			if b == nil {
				return nil, genericErr("No such build: %s", pyStr(v))
			}
		}
		var p *pkg
		if v := a.get("package"); v != nil {
			if p, err = h.lookupPackage(v); err != nil {
				return nil, err
			}
			if p == nil {
				return nil, genericErr("No such package: %s", pyStr(v))
			}
		}
		var rows []xmlrpc.Struct
		for _, t := range h.sortedTags() {
			if !t.active || (truthy(a.get("pattern")) && !glob(pyStr(a.get("pattern")), t.name)) {
				continue
			}
			r := row{"id": t.id, "name": t.name, "arches": t.arches, "locked": t.locked, "maven_support": t.mavenSupport,
				"maven_include_all": t.mavenIA}
			if a.bool("perms") {
				r["perm_id"], r["perm"] = nullable(t.permID), nil
				if t.permID != nil {
					r["perm"] = h.permName(*t.permID)
				}
			}
			if b != nil && !slices.ContainsFunc(t.listing, func(l *tagged) bool { return l.buildID == b.id && l.revokeEvent == 0 }) {
				continue
			}
			if p != nil {
				i := slices.IndexFunc(t.packages, func(e *pkgEntry) bool { return e.pkgID == p.id })
				if i < 0 {
					continue
				}
				e := t.packages[i]
				r["owner_id"], r["owner_name"], r["blocked"], r["extra_arches"] = e.owner, h.users[e.owner].name, e.blocked, e.extraArches
			}
			rows = append(rows, r.sorted())
		}
		return q.apply(rows), nil
	})
	h.def("RootExports.getLastEvent(before=None)", "getLastEvent", func(c *call, a args) (any, *hubErr) {
		h := c.h
		id := h.lastEvent
		if v := a.get("before"); v != nil {
			limit, ok := timeArg(v)
			if !ok {
				return nil, genericErr("Invalid type for before: %s", pyType(v))
			}
			id = 0
			for e, t := range h.events {
				if t.Before(limit) && e > id {
					id = e
				}
			}
			if id == 0 {
				return nil, genericErr("query returned no rows")
			}
		}
		return ordered("id", id, "ts", pyTS(h.eventTime(id))), nil
	})
	h.def("RootExports.getEvent(id)", "getEvent", func(c *call, a args) (any, *hubErr) {
		id, _ := isInt(a.get("id"))
		t, ok := c.h.events[id]
		if !ok {
			return nil, genericErr("query returned no rows")
		}
		return ordered("id", id, "ts", pyTS(&t)), nil
	})
}

// tagAndBuild resolves the tag and build of a direct (un)tagging and checks
// the caller may change that tag, in Koji's order.
func (c *call) tagAndBuild(a args) (*tag, *build, *hubErr) {
	t, err := c.h.getTag(a.get("tag"), true)
	if err != nil {
		return nil, nil, err
	}
	b, err := c.h.findBuild(a.get("build"), true)
	if err != nil {
		return nil, nil, err
	}
	if err := c.h.tagAccess(t, c.user(), a.bool("force")); err != nil {
		return nil, nil, err
	}
	return t, b, nil
}
