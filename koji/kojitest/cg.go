package kojitest

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/rida-build/rida/internal/xmlrpc"
)

// setMember sets a struct member in place, or appends it (a Python dict
// assignment).
func setMember(s xmlrpc.Struct, name string, v any) xmlrpc.Struct {
	for i := range s {
		if s[i].Name == name {
			s[i].Value = v
			return s
		}
	}
	return append(s, xmlrpc.Member{Name: name, Value: v})
}

func setDefault(s xmlrpc.Struct, name string, v any) xmlrpc.Struct {
	if _, ok := s.Get(name); ok {
		return s
	}
	return append(s, xmlrpc.Member{Name: name, Value: v})
}

// newToken is secrets.token_hex(32).
func newToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func (h *FakeHub) registerCG() {
	h.def("cg_init_build(cg, data)", "CGInitBuild", func(c *call, a args) (any, *hubErr) {
		h := c.h
		cg, err := c.assertCG(a.get("cg"))
		if err != nil {
			return nil, err
		}
		data, ok := a.get("data").(xmlrpc.Struct)
		if !ok {
			msg := "'" + pyTypeName(a.get("data")) + "' object does not support item assignment"
			return nil, pyErr("TypeError", msg, msg)
		}
		data = append(xmlrpc.Struct(nil), data...)
		u := c.user()
		data = setMember(data, "owner", u.id)
		data = setMember(data, "state", int64(BuildBuilding))
		data = setMember(data, "completion_time", nil)
		data = setMember(data, "cg_id", cg.id)
		data = setDefault(data, "epoch", nil)
		version, err := getKey(data, "version")
		if err != nil {
			return nil, err
		}
		release, err := getKey(data, "release")
		if err != nil {
			return nil, err
		}
		if err := checkNVR(pyStr(version), pyStr(release)); err != nil {
			return nil, err
		}
		name := optKey(data, "name")
		if !truthy(name) {
			return nil, genericErr("No name or package id provided for build")
		}
		// the dict new_build would hold, for "Build already exists" texts
		repr := setMember(append(xmlrpc.Struct(nil), data...), "pkg_id", int64(0))
		if p := h.pkgByName[pyStr(name)]; p != nil {
			repr = setMember(repr, "pkg_id", p.id)
		} else {
			repr = setMember(repr, "pkg_id", h.seq.Package)
		}
		if e, ok := repr.Get("extra"); ok {
			js, _ := json.Marshal(toJSON(e))
			repr = setMember(repr, "extra", string(js))
		} else {
			repr = setMember(repr, "extra", nil)
		}
		for _, kv := range []struct {
			k string
			v any
		}{{"start_time", "NOW"}, {"source", nil}, {"task_id", nil}, {"volume_id", int64(0)}} {
			repr = setDefault(repr, kv.k, kv.v)
		}
		now := h.clock()
		d := buildData{name: pyStr(name), version: pyStr(version), release: pyStr(release), epoch: optKey(data, "epoch"),
			state: BuildBuilding, owner: u.id, cgID: cg.id, start: &now, repr: pyRepr(repr)}
		if old := h.buildByNVR(nvr{d.name, d.version, d.release}); old != nil {
			if err := h.canRecycle(old, d); err != nil {
				return nil, err
			}
			if old.state == BuildBuilding && old.token != "" {
				return nil, genericErr("Build is already reserved")
			}
		}
		b, err := c.newBuild(d)
		if err != nil {
			return nil, err
		}
		b.token, b.reserved = newToken(), ptr(h.clock())
		return ordered("build_id", b.id, "token", b.token), nil
	})
	h.def("cg_refund_build(cg, build_id, token, state=3)", "CGRefundBuild", func(c *call, a args) (any, *hubErr) {
		state := a.get("state")
		if !equalValues(state, int64(BuildFailed)) && !equalValues(state, int64(BuildCanceled)) {
			return nil, genericErr("Only FAILED/CANCELED build states are allowed")
		}
		cg, err := c.assertCG(a.get("cg"))
		if err != nil {
			return nil, err
		}
		id := a.get("build_id")
		b, err := c.h.findBuild(id, true)
		if err != nil {
			return nil, err
		}
		if b.state != BuildBuilding {
			return nil, genericErr("Build ID %s is not in BUILDING state", pyStr(id))
		}
		if b.token == "" || a.get("token") != b.token {
			return nil, genericErr("Token doesn't match build ID %s", pyStr(id))
		}
		if !equalValues(b.cgID, cg.id) {
			return nil, genericErr("Build ID %s is not reserved by this CG", pyStr(id))
		}
		c.changed()
		b.state, b.completion = state.(int64), ptr(c.h.clock())
		b.token, b.reserved = "", nil
		c.h.buildStateChanged(b, int64(BuildBuilding), b.state)
		return nil, nil
	})
	h.def("cg_import(metadata, directory, token=None)", "CGImport", func(c *call, a args) (any, *hubErr) {
		return c.cgImport(a.get("metadata"), a.get("directory"), a.get("token"))
	})
}

// toJSON turns a decoded value into what encoding/json writes as Python's
// json.dumps would.
func toJSON(v any) any {
	switch x := v.(type) {
	case xmlrpc.Struct:
		m := make(map[string]any, len(x))
		for _, mb := range x {
			m[mb.Name] = toJSON(mb.Value)
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = toJSON(e)
		}
		return out
	}
	return v
}

// parseJSON decodes JSON into decoded XML-RPC values (objects as ordered
// structs, integers as int64).
func parseJSON(text string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	v, err := jsonValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("extra data")
	}
	return v, nil
}

func jsonValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			s := xmlrpc.Struct{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := jsonValue(dec)
				if err != nil {
					return nil, err
				}
				s = setMember(s, k.(string), v)
			}
			_, err := dec.Token()
			return s, err
		case '[':
			l := []any{}
			for dec.More() {
				v, err := jsonValue(dec)
				if err != nil {
					return nil, err
				}
				l = append(l, v)
			}
			_, err := dec.Token()
			return l, err
		}
	case json.Number:
		if n, err := strconv.ParseInt(t.String(), 10, 64); err == nil {
			return n, nil
		}
		return strconv.ParseFloat(t.String(), 64)
	}
	return tok, nil
}

// pyFloatOf is Python's float() of a metadata value.
func pyFloatOf(v any) (float64, *hubErr) {
	switch x := v.(type) {
	case int64:
		return float64(x), nil
	case float64:
		return x, nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case string:
		if f, err := strconv.ParseFloat(strings.TrimSpace(x), 64); err == nil {
			return f, nil
		}
		msg := "could not convert string to float: " + pyRepr(x)
		return 0, pyErr("ValueError", msg, msg)
	}
	msg := "float() argument must be a string or a real number, not '" + pyTypeName(v) + "'"
	return 0, pyErr("TypeError", msg, msg)
}

func fromTS(f float64) *time.Time {
	sec, frac := math.Modf(f)
	t := time.Unix(int64(sec), int64(math.Round(frac*1e6))*1000).UTC()
	return &t
}

var checksumTypes = map[string]int64{"md5": 0, "sha1": 1, "sha256": 2}

// cgOutput is an output the import checked.
type cgOutput struct {
	info      xmlrpc.Struct
	key       string
	data      []byte
	typ       string
	btype     string
	rpmComps  []int64
	archComps []int64
	archType  ArchiveType
}

// cgBuildroot is a buildroot the import checked.
type cgBuildroot struct {
	fakeID any
	br     buildroot
}

// cgImport is CG_Importer.do_import: every check of koji.md §1.4 in the
// hub's order, then the changes all at once.
func (c *call) cgImport(metadata, directory, token any) (any, *hubErr) {
	h := c.h
	dir := pyStr(directory)
	// get_metadata
	var md xmlrpc.Struct
	switch m := metadata.(type) {
	case xmlrpc.Struct:
		md = m
	case nil, string:
		name, _ := m.(string)
		if m == nil {
			name = "metadata.json"
		}
		text := name
		if strings.HasSuffix(name, ".json") {
			d, err := joinSegment(dir)
			if err != nil {
				return nil, err
			}
			f, ok := h.uploads[path.Join(d, path.Clean(name))]
			if !ok {
				return nil, genericErr("No such file: %s", name)
			}
			text = string(f.data)
		}
		v, err := parseJSON(text)
		if err != nil {
			return nil, genericErr("Invalid json data: %s", pyRepr(text))
		}
		s, ok := v.(xmlrpc.Struct)
		if !ok {
			msg := pyTypeName(v) + " indices must be integers or slices, not str"
			return nil, pyErr("TypeError", msg, msg)
		}
		md = s
	default:
		return nil, paramErr("Invalid type for value '%s': %s, expected type <class 'str'>", pyStr(metadata), pyType(metadata))
	}
	ver, err := getKey(md, "metadata_version")
	if err != nil {
		return nil, err
	}
	if !equalValues(ver, int64(0)) && !equalValues(ver, float64(0)) && ver != false {
		return nil, genericErr("No such metadata version: %s", pyRepr(ver))
	}
	// assert_cg_access
	brsV, err := getKey(md, "buildroots")
	if err != nil {
		return nil, err
	}
	brs, _ := brsV.([]any)
	var cg *contentGenerator
	for _, br := range brs {
		cgInfo, err := getKey(br, "content_generator")
		if err != nil {
			return nil, err
		}
		name, err := getKey(cgInfo, "name")
		if err != nil {
			return nil, err
		}
		found, err := h.lookupCG(name)
		if err != nil {
			return nil, err
		}
		if found == nil {
			return nil, genericErr("No such entry in table content_generator: %s", pyStr(name))
		}
		if cg != nil && cg != found {
			return nil, genericErr("Koji now support only one content-generator per import")
		}
		cg = found
	}
	var cgInfo any
	if cg != nil {
		cgInfo = cg.id
	}
	if cg, err = c.assertCG(cgInfo); err != nil {
		return nil, err
	}
	// prep_build
	bm, err := getKey(md, "build")
	if err != nil {
		return nil, err
	}
	var reserved *build
	if bid := optKey(bm, "build_id"); truthy(bid) {
		b, err := h.findBuild(bid, true)
		if err != nil {
			return nil, err
		}
		if b.token == "" || token != b.token {
			return nil, genericErr("Token doesn't match build ID %s", pyStr(bid))
		}
		if !equalValues(b.cgID, cg.id) {
			return nil, genericErr("Build ID %s is not reserved by this CG", pyStr(bid))
		}
		if truthy(b.taskID) {
			return nil, genericErr("Build is owned by task %s", pyStr(b.taskID))
		}
		if b.state != BuildBuilding {
			return nil, genericErr("Build ID %s is not in BUILDING state", pyStr(bid))
		}
		if truthy(optKey(bm, "draft")) {
			return nil, genericErr("Draft field does not match reservation (build id = %s)", pyStr(bid))
		}
		for _, k := range []string{"name", "version", "release"} {
			if _, err := getKey(bm, k); err != nil {
				return nil, err
			}
		}
		if h.pkgs[b.pkgID].name != optKey(bm, "name") || b.version != optKey(bm, "version") || b.release != optKey(bm, "release") {
			return nil, genericErr("Build (%s) NVR is different", pyStr(bid))
		}
		if hasKey(bm, "epoch") && !equalValues(b.epoch, optKey(bm, "epoch")) {
			return nil, genericErr("Build (%s) epoch is different", pyStr(bid))
		}
		reserved = b
	} else if token != nil {
		return nil, genericErr("Reservation token given, but no build_id in metadata")
	} else {
		old, err := h.findBuild(bm, false)
		if err != nil {
			return nil, err
		}
		if old != nil && old.state != BuildFailed && old.state != BuildCanceled {
			return nil, genericErr("Build already exists: %s (id=%d)", h.nvrOf(old), old.id)
		}
	}
	for _, k := range []string{"name", "version", "release"} {
		if _, err := getKey(bm, k); err != nil {
			return nil, err
		}
	}
	name, version, release := pyStr(optKey(bm, "name")), pyStr(optKey(bm, "version")), pyStr(optKey(bm, "release"))
	startV, err := getKey(bm, "start_time")
	if err != nil {
		return nil, err
	}
	start, err := pyFloatOf(startV)
	if err != nil {
		return nil, err
	}
	endV, err := getKey(bm, "end_time")
	if err != nil {
		return nil, err
	}
	end, err := pyFloatOf(endV)
	if err != nil {
		return nil, err
	}
	owner := c.user()
	if o := optKey(bm, "owner"); truthy(o) {
		s, ok := o.(string)
		if !ok {
			return nil, genericErr("Invalid owner format (expected username): %s", pyStr(o))
		}
		if owner = h.userByName[s]; owner == nil {
			return nil, genericErr("No such user: %s", pyRepr(s))
		}
	}
	var taskID any
	if t := optKey(bm, "task_id"); truthy(t) {
		n, err := toInt(t)
		if err != nil {
			return nil, err
		}
		taskID = n
	}
	if t := optKey(optKey(bm, "extra"), "container_koji_task_id"); truthy(t) {
		n, err := toInt(t)
		if err != nil {
			return nil, err
		}
		if taskID != nil && taskID != n {
			return nil, genericErr("CG provided non-matching task_id %s and container_koji_task_id %s", pyStr(taskID), pyStr(n))
		}
		taskID = n
	}
	if err := checkNVR(version, release); err != nil {
		return nil, err
	}
	extra := xmlrpc.Struct{}
	if e := optKey(bm, "extra"); e != nil {
		s, ok := e.(xmlrpc.Struct)
		if !ok {
			return nil, pyErr("AttributeError", "'"+pyTypeName(e)+"' object has no attribute 'setdefault'", "")
		}
		extra = append(extra, s...)
	}
	extra = setDefault(extra, "typeinfo", xmlrpc.Struct{})
	typeinfo, _ := optKey(extra, "typeinfo").(xmlrpc.Struct)
	typeinfo = append(xmlrpc.Struct(nil), typeinfo...)
	for _, legacy := range []string{"maven", "win", "image"} {
		if v, ok := extra.Get(legacy); ok {
			if _, dup := typeinfo.Get(legacy); dup {
				return nil, genericErr("Duplicate typeinfo for %s", pyRepr(legacy))
			}
			typeinfo = append(typeinfo, xmlrpc.Member{Name: legacy, Value: v})
		}
	}
	extra = setMember(extra, "typeinfo", typeinfo)
	var btypeIDs []int64
	for _, m := range typeinfo {
		bt := h.btypeByName(m.Name)
		if bt == nil {
			return nil, genericErr("No such entry in table btype: %s", m.Name)
		}
		btypeIDs = append(btypeIDs, bt.id)
	}
	// prep_brs
	outsV, err := getKey(md, "output")
	if err != nil {
		return nil, err
	}
	outs, _ := outsV.([]any)
	used := map[string]bool{}
	for _, o := range outs {
		id, err := getKey(o, "buildroot_id")
		if err != nil {
			return nil, err
		}
		used[pyRepr(id)] = true
	}
	var preps []cgBuildroot
	prepped := map[string]bool{}
	for _, br := range brs {
		fake, err := getKey(br, "id")
		if err != nil {
			return nil, err
		}
		if !used[pyRepr(fake)] {
			return nil, genericErr("Buildroot id not used in output: %s", pyRepr(fake))
		}
		if prepped[pyRepr(fake)] {
			return nil, genericErr("Duplicate buildroot id in metadata: %s", pyRepr(fake))
		}
		prepped[pyRepr(fake)] = true
		p := cgBuildroot{fakeID: fake, br: buildroot{cgID: cg.id, extra: optKey(br, "extra")}}
		for _, f := range []struct {
			outer, inner string
			dst          *any
		}{{"content_generator", "version", &p.br.cgVersion}, {"container", "type", &p.br.containerType},
			{"container", "arch", &p.br.containerArch}, {"host", "os", &p.br.hostOS}, {"host", "arch", &p.br.hostArch}} {
			o, err := getKey(br, f.outer)
			if err != nil {
				return nil, err
			}
			if *f.dst, err = getKey(o, f.inner); err != nil {
				return nil, err
			}
		}
		comps, err := getKey(br, "components")
		if err != nil {
			return nil, err
		}
		if p.br.rpms, p.br.archives, err = h.matchComponents(comps); err != nil {
			return nil, err
		}
		if p.br.tools, err = getKey(br, "tools"); err != nil {
			return nil, err
		}
		preps = append(preps, p)
	}
	// prep_outputs
	var outputs []cgOutput
	for _, o := range outs {
		info, _ := o.(xmlrpc.Struct)
		fn, err := getKey(o, "filename")
		if err != nil {
			return nil, err
		}
		d, err := joinSegment(dir)
		if err != nil {
			return nil, err
		}
		relpath := "."
		if r, ok := info.Get("relpath"); ok {
			relpath = pyStr(r)
		}
		rp, err := joinSegment(relpath)
		if err != nil {
			return nil, err
		}
		fname, err := joinSegment(pyStr(fn))
		if err != nil {
			return nil, err
		}
		key := path.Join(d, rp, fname)
		f, ok := h.uploads[key]
		if !ok {
			return nil, fileNotFound(h.topDir + "/work/" + pyStr(directory) + "/" + relpath + "/" + pyStr(fn))
		}
		size, err := getKey(o, "filesize")
		if err != nil {
			return nil, err
		}
		if !equalValues(int64(len(f.data)), size) {
			return nil, genericErr("File size %d for %s (expected %s) doesn't match. Corrupted upload?", len(f.data), pyStr(fn), pyStr(size))
		}
		ctype, err := getKey(o, "checksum_type")
		if err != nil {
			return nil, err
		}
		newHash, err := verifier(ctype)
		if err != nil {
			return nil, err
		}
		sum, err := getKey(o, "checksum")
		if err != nil {
			return nil, err
		}
		if got := hexDigest(newHash, f.data); sum != got {
			return nil, genericErr("File checksum mismatch for %s: %s != %s", pyStr(fn), pyStr(sum), got)
		}
		if !prepped[pyRepr(optKey(o, "buildroot_id"))] {
			return nil, genericErr("Missing buildroot metadata for id %s", pyRepr(optKey(o, "buildroot_id")))
		}
		typ, err := getKey(o, "type")
		if err != nil {
			return nil, err
		}
		out := cgOutput{info: info, key: key, data: f.data, typ: pyStr(typ)}
		switch out.typ {
		case "rpm":
			if info != nil && hasKey(info, "subdir") {
				return nil, genericErr("subdir field not allowed for rpm outputs")
			}
			if _, _, err := parseNVRA(pyStr(fn)); err != nil {
				return nil, err
			}
		case "log":
		default:
			if err := h.prepArchive(&out, pyStr(fn), typeinfo); err != nil {
				return nil, err
			}
			if _, ok := checksumTypes[pyStr(ctype)]; !ok {
				return nil, keyErr(pyStr(ctype))
			}
		}
		outputs = append(outputs, out)
	}
	// every check passed: import
	var b *build
	if reserved != nil {
		b = reserved
		b.state, b.extra, b.owner, b.source, b.taskID = BuildComplete, extra, owner.id, optKey(bm, "source"), taskID
		b.completion, b.token, b.reserved = ptr(h.clock()), "", nil
		c.changed()
		h.buildStateChanged(b, int64(BuildBuilding), BuildComplete)
	} else {
		d := buildData{name: name, version: version, release: release, epoch: optKey(bm, "epoch"), state: BuildComplete,
			taskID: taskID, owner: owner.id, cgID: cg.id, source: optKey(bm, "source"), extra: extra,
			start: fromTS(start), completion: fromTS(end)}
		if b, err = c.newBuild(d); err != nil {
			return nil, err
		}
	}
	for _, id := range btypeIDs {
		b.addBType(id)
	}
	if bt := h.btypeByName("rpm"); bt != nil {
		for _, o := range outputs {
			if o.typ == "rpm" {
				b.addBType(bt.id)
			}
		}
	}
	brIDs := map[string]int64{}
	for _, p := range preps {
		br := p.br
		br.id = next(&h.seq.Buildroot)
		h.buildroots[br.id] = &br
		brIDs[pyRepr(p.fakeID)] = br.id
	}
	files := map[string][]byte{}
	for _, o := range outputs {
		brID := brIDs[pyRepr(optKey(o.info, "buildroot_id"))]
		fn := pyStr(optKey(o.info, "filename"))
		files[fn] = append([]byte(nil), o.data...)
		switch o.typ {
		case "rpm":
			n, arch, _ := parseNVRA(fn)
			sum := md5.Sum(o.data)
			h.rpms = append(h.rpms, &rpm{id: next(&h.seq.RPM), buildID: b.id, name: n.name, version: n.version,
				release: n.release, arch: arch, payloadhash: hex.EncodeToString(sum[:]), size: int64(len(o.data)),
				buildtime: h.clock().Unix(), buildrootID: brID, extra: optKey(o.info, "extra")})
		case "log":
		default:
			ct := checksumTypes[pyStr(optKey(o.info, "checksum_type"))]
			h.archives = append(h.archives, &archive{id: next(&h.seq.Archive), typeID: o.archType.ID,
				btypeID: h.btypeByName(o.btype).id, buildID: b.id, buildrootID: brID, filename: fn,
				size: int64(len(o.data)), checksum: pyStr(optKey(o.info, "checksum")), checksumType: ct,
				metadataOnly: truthy(optKey(o.info, "metadata_only")), extra: optKey(o.info, "extra"),
				rpmComponents: o.rpmComps, archiveComponents: o.archComps})
		}
	}
	tok, _ := token.(string)
	h.imports = append(h.imports, Import{BuildID: b.id, Directory: dir, Token: tok, Metadata: md, Files: files})
	return h.buildStruct(b), nil
}

// prepArchive is CG_Importer.prep_archive, plus the archive type of the
// file's extension (checked at import time on a real hub).
func (h *FakeHub) prepArchive(o *cgOutput, fn string, typeinfo xmlrpc.Struct) *hubErr {
	extra := optKey(o.info, "extra")
	btype := ""
	for _, k := range []string{"maven", "win", "image"} {
		if hasKey(extra, k) {
			if btype != "" {
				return genericErr("Output file has multiple types: %s", fn)
			}
			btype = k
		}
	}
	if ti, ok := optKey(extra, "typeinfo").(xmlrpc.Struct); ok {
		for _, m := range ti {
			if btype == m.Name {
				return genericErr("Duplicate typeinfo for: %s", pyRepr(btype))
			} else if btype != "" {
				return genericErr("Output file has multiple types: %s", fn)
			}
			btype = m.Name
		}
	}
	if btype == "" {
		return genericErr("No typeinfo for: %s", fn)
	}
	if _, ok := typeinfo.Get(btype); !ok {
		return genericErr("Output type %s not listed in build types", btype)
	}
	o.btype = btype
	if comps, ok := o.info.Get("components"); ok {
		if btype == "maven" || btype == "win" {
			return genericErr("Component list not allowed for archives of type %s", btype)
		}
		var err *hubErr
		if o.rpmComps, o.archComps, err = h.matchComponents(comps); err != nil {
			return err
		}
	}
	at, ok := h.archiveType(fn)
	if !ok {
		return genericErr("unsupported file extension: %s", fn)
	}
	o.archType = at
	return nil
}

// archiveType is get_archive_type by file name: the longest extension
// that matches.
func (h *FakeHub) archiveType(fn string) (ArchiveType, bool) {
	parts := strings.Split(fn, ".")
	for start := len(parts) - 1; start >= 0; start-- {
		ext := strings.ToLower(strings.Join(parts[start:], "."))
		for _, t := range h.archTypes {
			for _, e := range strings.Fields(t.Extensions) {
				if strings.ToLower(e) == ext {
					return t, true
				}
			}
		}
	}
	return ArchiveType{}, false
}

// matchComponents is CG_Importer.match_components: rpm components found
// among the hub's rpms, file components among its archives, kojifile
// components checked; unmatched ones are ignored (only logged by Koji).
func (h *FakeHub) matchComponents(v any) (rpms, archives []int64, err *hubErr) {
	comps, _ := v.([]any)
	for _, comp := range comps {
		typ, err := getKey(comp, "type")
		if err != nil {
			return nil, nil, err
		}
		switch typ {
		case "rpm":
			if hasKey(comp, "location") {
				return nil, nil, genericErr("External rpms not allowed")
			}
			if hasKey(comp, "id") {
				return nil, nil, genericErr("Unexpected 'id' field in component")
			}
			vals := make([]string, 4)
			for i, k := range []string{"name", "version", "release", "arch"} {
				x, err := getKey(comp, k)
				if err != nil {
					return nil, nil, err
				}
				vals[i] = pyStr(x)
			}
			for _, r := range h.rpms {
				if r.name == vals[0] && r.version == vals[1] && r.release == vals[2] && r.arch == vals[3] {
					rpms = append(rpms, r.id)
					break
				}
			}
		case "file":
			fn, err := getKey(comp, "filename")
			if err != nil {
				return nil, nil, err
			}
			size, err := getKey(comp, "filesize")
			if err != nil {
				return nil, nil, err
			}
			for _, a := range h.archives {
				if a.filename == fn && equalValues(a.size, size) && a.checksum == optKey(comp, "checksum") &&
					equalValues(a.checksumType, checksumTypes[pyStr(optKey(comp, "checksum_type"))]) {
					archives = append(archives, a.id)
					break
				}
			}
		case "kojifile":
			id, err := getKey(comp, "archive_id")
			if err != nil {
				return nil, nil, err
			}
			var found *archive
			for _, a := range h.archives {
				if equalValues(a.id, id) {
					found = a
				}
			}
			if found == nil {
				return nil, nil, genericErr("No such archive: %s", pyStr(id))
			}
			for _, k := range []string{"nvr", "filename"} {
				if !hasKey(comp, k) {
					return nil, nil, genericErr("%s field missing for component, archive_id=%d", k, found.id)
				}
			}
			want := []struct {
				k string
				v any
			}{{"nvr", h.nvrOf(h.builds[found.buildID])}, {"filename", found.filename}, {"filesize", found.size},
				{"checksum", found.checksum}}
			for _, w := range want {
				if hasKey(comp, w.k) && !equalValues(optKey(comp, w.k), w.v) {
					return nil, nil, genericErr("Component field %s does not match for archive_id=%d: %s != %s", w.k, found.id, pyStr(w.v), pyStr(optKey(comp, w.k)))
				}
			}
			archives = append(archives, found.id)
		default:
			return nil, nil, genericErr("No such component type: %s", pyStr(typ))
		}
	}
	return rpms, archives, nil
}

// parseNVRA is koji.parse_NVRA of an rpm file name.
func parseNVRA(fn string) (nvr, string, *hubErr) {
	s := strings.TrimSuffix(fn, ".rpm")
	i := strings.LastIndexByte(s, '.')
	if i < 0 {
		return nvr{}, "", genericErr("invalid format: %s", fn)
	}
	n, err := parseNVR(s[:i])
	if err != nil {
		return nvr{}, "", genericErr("invalid format: %s", fn)
	}
	return n, s[i+1:], nil
}

// --- test API ---

// BuildInfo is a build as a test sees it.
type BuildInfo struct {
	ID                          int64
	Name, Version, Release, NVR string
	State                       int
	Owner                       string
	TaskID                      int64 // 0 when none
	CG                          string
	Source                      string
	Extra                       xmlrpc.Struct
	Token                       string // the CG reservation token, "" when none
	Reserved                    time.Time
	Completion                  time.Time
	BTypes                      []string
	RPMs                        []string // N-V-R.A
	Archives                    []string // file names
	TaggedIn                    []string
}

func (h *FakeHub) buildInfo(b *build) BuildInfo {
	p := h.pkgs[b.pkgID]
	bi := BuildInfo{ID: b.id, Name: p.name, Version: b.version, Release: b.release, NVR: h.nvrOf(b),
		State: int(b.state), Owner: h.users[b.owner].name, Token: b.token}
	if id, ok := b.taskID.(int64); ok {
		bi.TaskID = id
	}
	if id, ok := b.cgID.(int64); ok {
		for _, cg := range h.cgs {
			if cg.id == id {
				bi.CG = cg.name
			}
		}
	}
	bi.Source, _ = b.source.(string)
	bi.Extra, _ = b.extra.(xmlrpc.Struct)
	if b.reserved != nil {
		bi.Reserved = *b.reserved
	}
	if b.completion != nil {
		bi.Completion = *b.completion
	}
	for _, id := range b.btypes {
		bi.BTypes = append(bi.BTypes, h.btypeName(id))
	}
	for _, r := range h.rpms {
		if r.buildID == b.id {
			bi.RPMs = append(bi.RPMs, r.name+"-"+r.version+"-"+r.release+"."+r.arch)
		}
	}
	for _, a := range h.archives {
		if a.buildID == b.id {
			bi.Archives = append(bi.Archives, a.filename)
		}
	}
	for _, t := range h.sortedTags() {
		for _, l := range t.listing {
			if l.buildID == b.id && l.revokeEvent == 0 {
				bi.TaggedIn = append(bi.TaggedIn, t.name)
				break
			}
		}
	}
	return bi
}

// Build returns a build by id or N-V-R.
func (h *FakeHub) Build(idOrNVR any) (BuildInfo, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if id, ok := idOrNVR.(int); ok {
		idOrNVR = int64(id)
	}
	b, _ := h.findBuild(idOrNVR, false)
	if b == nil {
		return BuildInfo{}, false
	}
	return h.buildInfo(b), true
}

// Builds returns every build, by id.
func (h *FakeHub) Builds() []BuildInfo {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []BuildInfo
	for _, b := range h.sortedBuilds() {
		out = append(out, h.buildInfo(b))
	}
	return out
}

// Imports returns the successful CGImports, oldest first.
func (h *FakeHub) Imports() []Import {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Import(nil), h.imports...)
}

// SweepReservations is koji-sweep-db --reservations-age: it drops the
// reservation tokens older than age (all with 0) and returns how many.
// Their builds stay BUILDING without a token, as on a real hub.
func (h *FakeHub) SweepReservations(age time.Duration) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	cutoff := h.clock().Add(-age)
	n := 0
	for _, b := range h.builds {
		if b.token != "" && (age == 0 || b.reserved.Before(cutoff)) {
			b.token, b.reserved = "", nil
			n++
		}
	}
	return n
}

// TaggedNVRs are the N-V-Rs tagged in a tag now (latest tagged first).
func (h *FakeHub) TaggedNVRs(tagName string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	t := h.tagByName[tagName]
	if t == nil {
		return nil
	}
	var out []string
	for i := len(t.listing) - 1; i >= 0; i-- {
		if l := t.listing[i]; l.revokeEvent == 0 {
			out = append(out, h.nvrOf(h.builds[l.buildID]))
		}
	}
	return out
}
