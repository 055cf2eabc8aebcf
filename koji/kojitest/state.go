package kojitest

import (
	"time"

	"github.com/rida-build/rida/internal/xmlrpc"
)

// Koji's enumerations (koji.md §3.1).
const (
	BuildBuilding = 0
	BuildComplete = 1
	BuildDeleted  = 2
	BuildFailed   = 3
	BuildCanceled = 4

	TaskFree     = 0
	TaskOpen     = 1
	TaskClosed   = 2
	TaskCanceled = 3
	TaskAssigned = 4
	TaskFailed   = 5

	RepoInit    = 0
	RepoReady   = 1
	RepoExpired = 2
)

var buildStateNames = []string{"BUILDING", "COMPLETE", "DELETED", "FAILED", "CANCELED"}

// The permissions a fresh 1.35 hub has (getAllPerms, capture 130).
var seedPerms = []struct{ name, desc string }{
	{"admin", "Full administrator access. Perform all actions."},
	{"appliance", "Create appliance builds - deprecated."},
	{"dist-repo", "Create a dist-repo."},
	{"host", "Add, remove, enable, disable hosts and channels."},
	{"image", "Start image tasks."},
	{"image-import", "Import image archives."},
	{"livecd", "Start livecd tasks."},
	{"maven-import", "Import maven archives."},
	{"repo", "Manage repos: newRepo, repoExpire, repoDelete, repoProblem."},
	{"sign", "Import RPM signatures and write signed RPMs."},
	{"tag", "Manage packages in tags: add, block, remove, and clone tags."},
	{"target", "Add, edit, and remove targets."},
	{"win-admin", `The default hub policy rule for "vm" requires this permission to trigger Windows builds.`},
	{"win-import", "Import win archives."},
	{"draft-promoter", `The permission required in the default "draft_promotion" hub policy rule to promote draft build.`},
}

type user struct {
	id             int64
	name, password string
	status         int64 // 0 normal, 1 blocked
	usertype       int64 // 0 normal, 1 host
	perms          map[string]bool
}

type perm struct {
	id         int64
	name, desc string
}

type session struct {
	id       int64
	key      string
	userID   int64
	authtype int64
	callnum  *int64 // last callnum of a call that committed
	expired  bool
	closed   bool
	start    time.Time
	renewed  *time.Time
}

type contentGenerator struct {
	id    int64
	name  string
	users map[int64]bool
}

type btype struct {
	id   int64
	name string
}

type pkg struct {
	id   int64
	name string
}

type tag struct {
	id                            int64
	name                          string
	active                        bool
	arches                        string
	permID                        *int64
	locked, mavenSupport, mavenIA bool
	extra                         []tagExtra
	parents                       []*inheritLink
	packages                      []*pkgEntry // in insertion order
	groups                        []*groupCfg
	groupPkgs                     []*groupPkg
	groupReqs                     []*groupReq
	listing                       []*tagged // the history of tag_listing
	extRepos                      []*tagExtRepo
	lastChange                    int64 // event of the last change to the tag's content
}

type tagExtra struct {
	key   string
	value any
}

type inheritLink struct {
	parentID     int64
	priority     int64
	maxdepth     any // nil or int64
	intransitive bool
	noconfig     bool
	pkgFilter    string
}

type pkgEntry struct {
	pkgID       int64
	blocked     bool
	extraArches any // nil or string
	owner       int64
}

type groupName struct {
	id   int64
	name string
}

type groupCfg struct {
	groupID     int64
	blocked     bool
	exported    any
	displayName any
	isDefault   any
	uservisible any
	description any
	langonly    any
	biarchonly  any
}

// groupPkg is a group_package_listing row of a tag (the group's config
// may come from a parent tag).
type groupPkg struct {
	groupID      int64
	name         string
	blocked      bool
	typ          any
	basearchonly any
	requires     any
}

type groupReq struct {
	groupID   int64
	reqID     int64
	blocked   bool
	typ       any
	isMetapkg any
}

type tagged struct {
	buildID          int64
	createEvent      int64
	revokeEvent      int64 // 0 while active
	creator, revoker int64
}

func (t *tagged) activeAt(event int64) bool {
	if event == 0 {
		return t.revokeEvent == 0
	}
	return t.createEvent <= event && (t.revokeEvent == 0 || event < t.revokeEvent)
}

type target struct {
	id                int64
	name              string
	active            bool
	buildTag, destTag int64
}

type build struct {
	id, pkgID        int64
	version, release string
	epoch            any // nil or int64
	state            int64
	taskID           any // nil or int64
	owner            int64
	cgID             any // nil or int64
	source           any // nil or string
	extra            any // nil or the decoded struct
	createEvent      int64
	start            *time.Time
	completion       *time.Time
	btypes           []int64
	// the CG reservation (build_reservations)
	token    string
	reserved *time.Time
}

type rpm struct {
	id, buildID                  int64
	name, version, release, arch string
	epoch                        any
	payloadhash                  string
	size, buildtime              int64
	buildrootID                  any
	extra                        any
	headers                      map[string]any // what getRPMHeaders reads from the file; nil: no file
}

type archive struct {
	id, typeID, btypeID, buildID, buildrootID int64
	filename                                  string
	size                                      int64
	checksum                                  string
	checksumType                              int64
	metadataOnly                              bool
	extra                                     any
	rpmComponents                             []int64
	archiveComponents                         []int64
}

type buildroot struct {
	id, cgID                                                  int64
	cgVersion, containerType, containerArch, hostOS, hostArch any
	extra                                                     any
	rpms                                                      []int64
	archives                                                  []int64
	tools                                                     any
}

type task struct {
	id                int64
	state             int64
	create            time.Time
	start, completion *time.Time
	channelID         int64
	hostID            any
	parent            any
	owner             int64
	method            string
	arch              string
	priority          int64
	weight            float64
	request           []any
	result            any           // the return value of a CLOSED task
	fault             *xmlrpc.Fault // the error of a FAILED task
}

type repo struct {
	id, tagID        int64
	state            int64
	created          time.Time
	stateTime        time.Time
	createEvent      int64
	beginEvent       int64
	taskID           any
	opts, customOpts xmlrpc.Struct
}

type upload struct {
	data  []byte
	mtime time.Time
}

// Import is a successful CGImport, as the hub recorded it.
type Import struct {
	BuildID   int64
	Directory string
	Token     string
	Metadata  xmlrpc.Struct
	// Files are the outputs by file name (the uploaded content).
	Files map[string][]byte
}

// seed fills a fresh hub from its options.
func (h *FakeHub) seed() {
	for i, p := range seedPerms {
		h.perms = append(h.perms, &perm{id: int64(i + 1), name: p.name, desc: p.desc})
	}
	users := h.opts.Users
	if users == nil {
		users = []User{
			{Name: "kojiadmin", Password: "kojiadmin", Perms: []string{"admin"}, CG: []string{"module-build-service"}},
			{Name: "testuser", Password: "testuser"},
		}
	}
	cgs := h.opts.ContentGenerators
	if cgs == nil {
		cgs = []string{"module-build-service"}
	}
	for _, name := range cgs {
		h.cg(name)
	}
	for _, u := range users {
		h.addUser(u)
	}
	types := h.opts.BTypes
	if types == nil {
		types = []string{"rpm", "maven", "win", "image", "module"}
	}
	for i, name := range types {
		h.btypes = append(h.btypes, &btype{id: int64(i + 1), name: name})
	}
	for _, name := range h.opts.Packages {
		h.newPackage(name)
	}
	h.archTypes = append([]ArchiveType{{ID: 40, Name: "txt", Description: "Text file", Extensions: "txt"}}, h.opts.ArchiveTypes...)
}

// cg returns the content generator named name, created if new.
func (h *FakeHub) cg(name string) *contentGenerator {
	for _, c := range h.cgs {
		if c.name == name {
			return c
		}
	}
	c := &contentGenerator{id: int64(len(h.cgs) + 1), name: name, users: map[int64]bool{}}
	h.cgs = append(h.cgs, c)
	return c
}

func (h *FakeHub) addUser(u User) *user {
	nu := &user{id: next(&h.seq.User), name: u.Name, password: u.Password, perms: map[string]bool{}}
	if u.Blocked {
		nu.status = 1
	}
	for _, p := range u.Perms {
		h.permID(p, true)
		nu.perms[p] = true
	}
	for _, name := range u.CG {
		h.cg(name).users[nu.id] = true
	}
	h.users[nu.id] = nu
	h.userByName[nu.name] = nu
	return nu
}

// AddUser adds a user to a running hub and returns its id.
func (h *FakeHub) AddUser(u User) int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.addUser(u).id
}

// permID looks a permission up by name (creating it when create).
func (h *FakeHub) permID(name string, create bool) int64 {
	for _, p := range h.perms {
		if p.name == name {
			return p.id
		}
	}
	if !create {
		return 0
	}
	p := &perm{id: int64(len(h.perms) + 1), name: name}
	h.perms = append(h.perms, p)
	return p.id
}

func (h *FakeHub) permName(id int64) string {
	for _, p := range h.perms {
		if p.id == id {
			return p.name
		}
	}
	return ""
}

func (h *FakeHub) newPackage(name string) *pkg {
	if p := h.pkgByName[name]; p != nil {
		return p
	}
	p := &pkg{id: next(&h.seq.Package), name: name}
	h.pkgs[p.id] = p
	h.pkgByName[name] = p
	return p
}

func (h *FakeHub) btypeByName(name string) *btype {
	for _, b := range h.btypes {
		if b.name == name {
			return b
		}
	}
	return nil
}

func (h *FakeHub) btypeName(id int64) string {
	for _, b := range h.btypes {
		if b.id == id {
			return b.name
		}
	}
	return ""
}
