package kojitest

import (
	"crypto/rand"
	"math/big"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/rida-build/rida/internal/xmlrpc"
)

// retryWhitelist are the calls that may repeat a committed callnum
// (kojihub/auth.py).
var retryWhitelist = []string{"host.taskWait", "host.taskUnwait", "host.taskSetWait", "host.updateHost",
	"host.setBuildRootState", "repoExpire", "repoDelete", "repoProblem"}

// checkSession is Session(): it reads the session from the
// Koji-Session-* headers (or the deprecated query string), and applies
// Koji's rules: bad id or key, expiry, and the callnum sequence. It
// returns the callnum to store if the call commits.
func (h *FakeHub) checkSession(c *call, r *http.Request, method string) (*int64, *hubErr) {
	var (
		idStr, key, cnStr string
		hasCallnum        bool
	)
	if vals, ok := r.Header["Koji-Session-Id"]; ok {
		idStr = vals[0]
		keys, ok := r.Header["Koji-Session-Key"]
		if !ok {
			return nil, keyErr("HTTP_KOJI_SESSION_KEY")
		}
		key = keys[0]
		for _, name := range []string{"Koji-Session-Callnum", "Koji-Callnum"} {
			if v, ok := r.Header[name]; ok {
				cnStr, hasCallnum = v[0], true
				break
			}
		}
	} else if r.URL.RawQuery != "" {
		q, err := parseQS(r.URL.RawQuery)
		if err != nil {
			return nil, err
		}
		for _, k := range []string{"session-id", "session-key"} {
			if _, ok := q[k]; !ok {
				return nil, authErr("%s not specified in session args", pyRepr(k))
			}
		}
		idStr, key = q["session-id"][0], q["session-key"][0]
		if v, ok := q["callnum"]; ok {
			cnStr, hasCallnum = v[0], true
		}
	} else {
		return nil, nil // anonymous
	}
	id, err := pyIntLiteral(idStr)
	if err != nil {
		return nil, err
	}
	s := h.sessions[id]
	if s == nil || s.key != key || s.closed {
		return nil, authErr("Invalid session or bad credentials")
	}
	if !s.expired && h.opts.SessionTimeout > 0 {
		base := s.start
		if s.renewed != nil {
			base = *s.renewed
		}
		if h.clock().After(base.Add(h.opts.SessionTimeout)) {
			s.expired = true
		}
	}
	if s.expired && method != "login" && method != "sslLogin" {
		return nil, kojiErr(codeExpired, "session \"%d\" has expired", s.id)
	}
	var callnum *int64
	if hasCallnum {
		n, err := strconv.ParseInt(strings.TrimSpace(cnStr), 10, 64)
		if err != nil {
			return nil, authErr("Invalid callnum: %s", pyRepr(cnStr))
		}
		if s.callnum != nil {
			switch last := *s.callnum; {
			case last > n:
				return nil, kojiErr(codeSequence, "%d > %d (session %d)", last, n, s.id)
			case last == n && !slices.Contains(retryWhitelist, method):
				m := method
				if m == "" {
					m = "None"
				}
				return nil, kojiErr(codeRetry, "unable to retry call %d (method %s) for session %d", n, m, s.id)
			}
		}
		callnum = &n
	}
	c.sess = s
	if s.expired {
		return callnum, nil
	}
	if u := h.users[s.userID]; u.status != 0 {
		return nil, authErr("logins by %s are not allowed", u.name)
	}
	c.loggedIn = true
	return callnum, nil
}

// parseQS is Python's parse_qs(qs, strict_parsing=True).
func parseQS(qs string) (map[string][]string, *hubErr) {
	out := map[string][]string{}
	for _, field := range strings.FieldsFunc(qs, func(r rune) bool { return r == '&' || r == ';' }) {
		k, v, ok := strings.Cut(field, "=")
		if !ok {
			return nil, pyErr("ValueError", "bad query field: "+pyRepr(field), "bad query field: "+pyRepr(field))
		}
		if v == "" {
			continue
		}
		k, err1 := url.QueryUnescape(k)
		v, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return nil, pyErr("ValueError", "bad query field: "+pyRepr(field), "bad query field: "+pyRepr(field))
		}
		out[k] = append(out[k], v)
	}
	return out, nil
}

// pyIntLiteral is Python's int() of a header or query value.
func pyIntLiteral(s string) (int64, *hubErr) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		msg := "invalid literal for int() with base 10: " + pyRepr(s)
		return 0, pyErr("ValueError", msg, msg)
	}
	return n, nil
}

const keyChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// newKey is a session key as Koji makes them: "<user id>-" and 19
// random letters and digits.
func newKey(userID int64) string {
	b := make([]byte, 19)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(keyChars))))
		if err != nil {
			panic(err)
		}
		b[i] = keyChars[n.Int64()]
	}
	return strconv.FormatInt(userID, 10) + "-" + string(b)
}

// createSession makes a session, or with renew gives the session of the
// call's headers a new key.
func (c *call) createSession(userID, authtype int64, renew bool) xmlrpc.Struct {
	h := c.h
	c.changed()
	var s *session
	if renew && c.sess != nil {
		s = c.sess
		s.key, s.expired, s.renewed = newKey(userID), false, ptr(h.clock())
	} else {
		s = &session{id: next(&h.seq.Session), key: newKey(userID), userID: userID, authtype: authtype, start: h.clock()}
		h.sessions[s.id] = s
	}
	return ordered("session-id", s.id, "session-key", s.key, "header-auth", true)
}

func (h *FakeHub) registerSession() {
	h.def("Session.login(user, password, opts=None, renew=False, exclusive=False)", "login", func(c *call, a args) (any, *hubErr) {
		pw, ok := a.get("password").(string)
		if !ok || pw == "" {
			return nil, authErr("invalid username or password")
		}
		if c.loggedIn {
			return nil, authErr("Already logged in")
		}
		name, _ := a.get("user").(string)
		u := c.h.userByName[name]
		if u == nil || u.password == "" || u.password != pw {
			return nil, authErr("invalid username or password")
		}
		if u.status != 0 {
			return nil, authErr("logins by %s are not allowed", u.name)
		}
		return c.createSession(u.id, 0, a.bool("renew")), nil
	})
	h.def("Session.sslLogin(proxyuser=None, proxyauthtype=None, renew=False, exclusive=None)", "sslLogin", func(c *call, a args) (any, *hubErr) {
		if c.loggedIn {
			return nil, authErr("Already logged in")
		}
		// mod_auth_gssapi's REMOTE_USER comes first, as in Koji.
		if u, err := c.gssapiUser(a); err != nil || u != nil {
			if err != nil {
				return nil, err
			}
			if u.status != 0 {
				return nil, authErr("logins by %s are not allowed", u.name)
			}
			return c.createSession(u.id, authtypeGSSAPI, a.bool("renew")), nil
		}
		if c.sslVerify != "SUCCESS" {
			return nil, authErr("could not verify client: %s", c.sslVerify)
		}
		name := c.ssl
		if name == "" {
			return nil, authErr("unable to get user information (CN) from client certificate")
		}
		if truthy(a.get("proxyuser")) {
			return nil, authErr("CN=%s is not authorized to login other users", name)
		}
		u := c.h.userByName[name]
		if u == nil { // LoginCreatesUser
			c.changed()
			u = c.h.addUser(User{Name: name})
		}
		if u.status != 0 {
			return nil, authErr("logins by %s are not allowed", u.name)
		}
		return c.createSession(u.id, 2, a.bool("renew")), nil
	})
	h.def("logout(session_id=None)", "logout", func(c *call, a args) (any, *hubErr) {
		u := c.user()
		if u == nil {
			return nil, authErr("Not logged in")
		}
		target := c.sess
		if sid := a.get("session_id"); truthy(sid) {
			id, err := toInt(sid)
			if err != nil {
				return nil, err
			}
			s := c.h.sessions[id]
			if !c.hasPerm("admin") && (s == nil || s.userID != u.id) {
				return nil, notAllowed("only admins or owner may logout other session")
			}
			target = s
		}
		c.changed()
		if target != nil {
			target.expired, target.closed = true, true
		}
		return nil, nil
	})
	h.def("RootExports.getLoggedInUser()", "getLoggedInUser", func(c *call, a args) (any, *hubErr) {
		u := c.user()
		if u == nil {
			return nil, nil
		}
		s := c.h.userStruct(u)
		return append(s, xmlrpc.Member{Name: "authtype", Value: c.sess.authtype}, xmlrpc.Member{Name: "krb_principal", Value: nil}), nil
	})
	h.def("get_user(userInfo=None, strict=False, krb_princs=True, groups=False)", "getUser", func(c *call, a args) (any, *hubErr) {
		info := a.get("userInfo")
		if info == nil {
			u := c.user()
			if u == nil {
				return nil, genericErr("No user provided")
			}
			info = u.id
		}
		u, err := c.h.lookupUser(info)
		if err != nil {
			return nil, err
		}
		if u == nil {
			if a.bool("strict") {
				return nil, genericErr("No such user: %s", pyRepr(info))
			}
			return nil, nil
		}
		s := c.h.userStruct(u)
		if !a.bool("krb_princs") {
			s = s[:4]
		}
		if a.bool("groups") {
			s = append(s, xmlrpc.Member{Name: "groups", Value: []any{}})
		}
		return s, nil
	})
	h.def("RootExports.getAllPerms()", "getAllPerms", func(c *call, a args) (any, *hubErr) {
		out := make([]any, len(c.h.perms))
		for i, p := range c.h.perms {
			var desc any = p.desc
			if p.desc == "" {
				desc = nil
			}
			out[i] = ordered("description", desc, "id", p.id, "name", p.name)
		}
		return out, nil
	})
	h.def("RootExports.getPerms()", "getPerms", func(c *call, a args) (any, *hubErr) {
		return c.h.userPerms(c.user()), nil
	})
	h.def("RootExports.getUserPerms(userID=None)", "getUserPerms", func(c *call, a args) (any, *hubErr) {
		info := a.get("userID")
		if info == nil {
			if u := c.user(); u != nil {
				info = u.id
			} else {
				return nil, genericErr("No user provided")
			}
		}
		u, err := c.h.lookupUserStrict(info)
		if err != nil {
			return nil, err
		}
		return c.h.userPerms(u), nil
	})
	h.def("RootExports.hasPerm(perm, strict=False)", "hasPerm", func(c *call, a args) (any, *hubErr) {
		name, _ := a.get("perm").(string)
		if a.bool("strict") && c.h.permID(name, false) == 0 {
			return nil, genericErr("No such permission %s defined", pyStr(a.get("perm")))
		}
		return c.hasPerm(name), nil
	})
	h.def("RootExports.grantPermission(userinfo, permission, create=False, description=None)", "grantPermission", func(c *call, a args) (any, *hubErr) {
		if err := c.assertPerm("admin"); err != nil {
			return nil, err
		}
		u, err := c.h.lookupUserStrict(a.get("userinfo"))
		if err != nil {
			return nil, err
		}
		name, _ := a.get("permission").(string)
		if c.h.permID(name, false) == 0 && !a.bool("create") {
			return nil, genericErr("No such entry in table permissions: %s", pyStr(a.get("permission")))
		}
		if u.perms[name] {
			return nil, genericErr("user %s already has permission: %s", pyStr(a.get("userinfo")), name)
		}
		c.ev()
		id := c.h.permID(name, true)
		if d, ok := a.get("description").(string); ok {
			c.h.perms[id-1].desc = d
		}
		u.perms[name] = true
		return nil, nil
	})
	h.def("RootExports.createUser(username, status=None, krb_principal=None)", "createUser", func(c *call, a args) (any, *hubErr) {
		if err := c.assertPerm("admin"); err != nil {
			return nil, err
		}
		name, err := checkStr(a.get("username"))
		if err != nil {
			return nil, err
		}
		if c.h.userByName[name] != nil {
			return nil, genericErr("user already exists: %s", name)
		}
		c.changed()
		return c.h.addUser(User{Name: name, Blocked: a.get("status") == int64(1)}).id, nil
	})
	h.def("grant_cg_access(user, cg, create=False)", "grantCGAccess", func(c *call, a args) (any, *hubErr) {
		if err := c.assertPerm("admin"); err != nil {
			return nil, err
		}
		u, err := c.h.lookupUserStrict(a.get("user"))
		if err != nil {
			return nil, err
		}
		cg, err := c.h.lookupCG(a.get("cg"))
		if err != nil {
			return nil, err
		}
		if cg == nil {
			name, ok := a.get("cg").(string)
			if !a.bool("create") || !ok {
				return nil, genericErr("No such entry in table content_generator: %s", pyStr(a.get("cg")))
			}
			cg = c.h.cg(name)
		}
		if cg.users[u.id] {
			return nil, genericErr("User already has access to content generator %s", cg.name)
		}
		c.ev()
		cg.users[u.id] = true
		return nil, nil
	})
	h.def("revoke_cg_access(user, cg)", "revokeCGAccess", func(c *call, a args) (any, *hubErr) {
		if err := c.assertPerm("admin"); err != nil {
			return nil, err
		}
		u, err := c.h.lookupUserStrict(a.get("user"))
		if err != nil {
			return nil, err
		}
		cg, err := c.h.lookupCG(a.get("cg"))
		if cg, err = mustExist(cg, err, "content_generator", a.get("cg")); err != nil {
			return nil, err
		}
		c.ev()
		delete(cg.users, u.id)
		return nil, nil
	})
	h.def("list_cgs()", "listCGs", func(c *call, a args) (any, *hubErr) {
		out := xmlrpc.Struct{}
		for _, cg := range c.h.cgs {
			var names []any
			for _, u := range c.h.sortedUsers() {
				if cg.users[u.id] {
					names = append(names, u.name)
				}
			}
			if names == nil {
				names = []any{}
			}
			out = append(out, xmlrpc.Member{Name: cg.name, Value: ordered("id", cg.id, "users", names)})
		}
		return out, nil
	})
}

func (h *FakeHub) sortedUsers() []*user {
	out := make([]*user, 0, len(h.users))
	for _, u := range h.users {
		out = append(out, u)
	}
	slices.SortFunc(out, func(a, b *user) int { return int(a.id - b.id) })
	return out
}

func (h *FakeHub) userStruct(u *user) xmlrpc.Struct {
	return ordered("id", u.id, "name", u.name, "status", u.status, "usertype", u.usertype, "krb_principals", []any{})
}

func (h *FakeHub) userPerms(u *user) []any {
	out := []any{}
	if u == nil {
		return out
	}
	for _, p := range h.perms {
		if u.perms[p.name] {
			out = append(out, p.name)
		}
	}
	return out
}

// lookupUserStrict is lookupUser failing with Koji's "No such user" when
// there is none.
func (h *FakeHub) lookupUserStrict(info any) (*user, *hubErr) {
	u, err := h.lookupUser(info)
	if err == nil && u == nil {
		err = genericErr("No such user: %s", pyRepr(info))
	}
	return u, err
}

// lookupUser is get_user's lookup: an id, a name or a {id, name} struct.
func (h *FakeHub) lookupUser(info any) (*user, *hubErr) {
	switch v := info.(type) {
	case int64:
		return h.users[v], nil
	case string:
		return h.userByName[v], nil
	case xmlrpc.Struct:
		var u *user
		if id, ok := v.Get("id"); ok && id != nil {
			n, ok := id.(int64)
			if !ok {
				return nil, genericErr("Invalid type for userid: %s", pyType(id))
			}
			u = h.users[n]
			if u == nil {
				return nil, nil
			}
		}
		if name, ok := v.Get("name"); ok && truthy(name) {
			s, ok := name.(string)
			if !ok {
				return nil, genericErr("Invalid type for username: %s", pyType(name))
			}
			if u != nil && u.name != s {
				return nil, nil
			}
			u = h.userByName[s]
		}
		return u, nil
	}
	return nil, genericErr("Invalid type for userInfo: %s", pyType(info))
}

// lookupCG finds a content generator by id or name.
func (h *FakeHub) lookupCG(info any) (*contentGenerator, *hubErr) {
	return lookupScan(info, slices.Values(h.cgs), func(cg *contentGenerator) (int64, string) { return cg.id, cg.name })
}

// assertCG is assert_cg: the CG exists, the caller is logged in and was
// granted it (admin does not bypass this).
func (c *call) assertCG(info any) (*contentGenerator, *hubErr) {
	cg, err := c.h.lookupCG(info)
	if cg, err = mustExist(cg, err, "content_generator", info); err != nil {
		return nil, err
	}
	u := c.user()
	if u == nil {
		return nil, authErr("Not logged-in")
	}
	if !cg.users[u.id] {
		return nil, authErr("Content generator access required (%s)", cg.name)
	}
	return cg, nil
}

// ExpireSession marks a session expired (as SessionRenewalTimeout would):
// its calls answer AuthExpired until the client renews it with
// login(renew=True) and its old headers.
func (h *FakeHub) ExpireSession(id int64) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.sessions[id]
	if s == nil || s.closed {
		return false
	}
	s.expired = true
	return true
}

// ExpireUserSessions expires every open session of a user and returns
// how many it expired.
func (h *FakeHub) ExpireUserSessions(name string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	u := h.userByName[name]
	n := 0
	for _, s := range h.sessions {
		if u != nil && s.userID == u.id && !s.closed && !s.expired {
			s.expired = true
			n++
		}
	}
	return n
}

// SessionIDs are the ids of a user's open (not logged out) sessions.
func (h *FakeHub) SessionIDs(name string) []int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	u := h.userByName[name]
	var out []int64
	for _, s := range h.sessions {
		if u != nil && s.userID == u.id && !s.closed {
			out = append(out, s.id)
		}
	}
	slices.Sort(out)
	return out
}
