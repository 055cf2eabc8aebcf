package kojitest

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/rida-build/rida/internal/xmlrpc"
)

// A method is one hub call: its Python signature (for Koji's
// ParameterError texts) and its implementation.
type method struct {
	sig sig
	fn  func(c *call, a args) (any, *hubErr)
}

// sig is a Python function signature: "get_tag(tagInfo, strict=False)".
type sig struct {
	qualname string // for TypeError texts: get_tag, RootExports.getBuildTarget, ...
	bound    bool   // a method: "takes N positional arguments" counts self
	indirect bool   // called through a wrapper: a TypeError is fault 1, not a ParameterError
	params   []param
	varargs  bool // *args
	varkw    bool // **kwargs
}

type param struct {
	name   string
	def    any
	hasDef bool
}

// parseSig reads "name(a, b=None, *args, **kwargs)". Defaults are Python
// literals: None, True, False, integers and quoted strings.
func parseSig(s string) sig {
	open := strings.IndexByte(s, '(')
	name, list := s[:open], strings.TrimSuffix(s[open+1:], ")")
	g := sig{qualname: name, bound: strings.Contains(name, ".")}
	for _, p := range strings.Split(list, ",") {
		p = strings.TrimSpace(p)
		switch {
		case p == "":
		case strings.HasPrefix(p, "**"):
			g.varkw = true
		case strings.HasPrefix(p, "*"):
			g.varargs = true
		default:
			n, d, ok := strings.Cut(p, "=")
			pp := param{name: strings.TrimSpace(n), hasDef: ok}
			if ok {
				pp.def = literal(strings.TrimSpace(d))
			}
			g.params = append(g.params, pp)
		}
	}
	return g
}

func literal(s string) any {
	switch s {
	case "None":
		return nil
	case "True":
		return true
	case "False":
		return false
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	return strings.Trim(s, `'"`)
}

// args are the bound arguments of a call.
type args struct {
	v     map[string]any
	given map[string]bool
	rest  []any         // *args
	kw    xmlrpc.KwArgs // **kwargs
}

func (a args) get(name string) any   { return a.v[name] }
func (a args) bool(name string) bool { return truthy(a.v[name]) }

// bind applies Python's rules for matching positional and keyword
// arguments to the signature, with Python 3.11's TypeError texts.
func (g sig) bind(pos []any, kw xmlrpc.KwArgs) (args, *hubErr) {
	a := args{v: map[string]any{}, given: map[string]bool{}}
	n := min(len(pos), len(g.params))
	for i := range n {
		a.v[g.params[i].name], a.given[g.params[i].name] = pos[i], true
	}
	if g.varargs && len(pos) > n {
		a.rest = pos[n:]
	}
	for _, m := range kw {
		i := g.index(m.Name)
		switch {
		case i >= 0 && i < n:
			return a, g.typeErr("got multiple values for argument '%s'", m.Name)
		case i >= 0:
			if a.given[m.Name] {
				return a, g.typeErr("got multiple values for argument '%s'", m.Name)
			}
			a.v[m.Name], a.given[m.Name] = m.Value, true
		case g.varkw:
			a.kw = append(a.kw, m)
		default:
			return a, g.typeErr("got an unexpected keyword argument '%s'", m.Name)
		}
	}
	if len(pos) > len(g.params) && !g.varargs {
		self := 0
		if g.bound {
			self = 1
		}
		required := self
		for _, p := range g.params {
			if !p.hasDef {
				required++
			}
		}
		total := len(g.params) + self
		takes := plural(total, "positional argument")
		if required != total {
			takes = fmt.Sprintf("from %d to %d positional arguments", required, total)
		}
		were := "were"
		if len(pos)+self == 1 {
			were = "was"
		}
		return a, g.typeErr("takes %s but %d %s given", takes, len(pos)+self, were)
	}
	var missing []string
	for _, p := range g.params {
		if !a.given[p.name] {
			if !p.hasDef {
				missing = append(missing, "'"+p.name+"'")
				continue
			}
			a.v[p.name] = p.def
		}
	}
	if len(missing) > 0 {
		return a, g.typeErr("missing %s: %s", plural(len(missing), "required positional argument"), pyList(missing))
	}
	return a, nil
}

func (g sig) index(name string) int {
	for i, p := range g.params {
		if p.name == name {
			return i
		}
	}
	return -1
}

func (g sig) typeErr(format string, a ...any) *hubErr {
	msg := g.qualname + "() " + fmt.Sprintf(format, a...)
	if g.indirect {
		return pyErr("TypeError", msg, msg)
	}
	return paramErr("%s", msg)
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// pyList is how Python lists missing arguments: 'a', 'a' and 'b',
// 'a', 'b', and 'c'.
func pyList(names []string) string {
	switch len(names) {
	case 1:
		return names[0]
	case 2:
		return names[0] + " and " + names[1]
	}
	return strings.Join(names[:len(names)-1], ", ") + ", and " + names[len(names)-1]
}

// call is the context of one hub call.
type call struct {
	h        *FakeHub
	sess     *session // the session the headers name (maybe expired, on a renewal)
	loggedIn bool     // sess is a valid, unexpired session
	method   string
	event    int64 // the event of this call's changes, once one was needed
	wrote    bool  // the call changed data, so its transaction commits
	rec      int   // index in FakeHub.calls of the request (or multicall) being run
	ssl      string
	// the client certificate of an sslLogin: who it names, and Apache's
	// SSL_CLIENT_VERIFY when it names nobody
	sslVerify string
}

// user is the logged-in user, nil when anonymous.
func (c *call) user() *user {
	if c.sess == nil || !c.loggedIn {
		return nil
	}
	return c.h.users[c.sess.userID]
}

// ev returns the event of this call's changes, making it on first use:
// one call (one transaction) makes at most one event, as get_event() does.
func (c *call) ev() int64 {
	c.wrote = true
	if c.event == 0 {
		c.event = c.h.newEvent()
	}
	return c.event
}

// changed marks the call as writing without making an event.
func (c *call) changed() { c.wrote = true }

func (c *call) hasPerm(p string) bool {
	u := c.user()
	return u != nil && u.perms[p]
}

// assertPerm is Session.assertPerm: the permission or admin.
func (c *call) assertPerm(p string) *hubErr {
	if c.hasPerm(p) || c.hasPerm("admin") {
		return nil
	}
	if u := c.user(); u != nil {
		return notAllowed("%s permission required (logged in as %s)", p, u.name)
	}
	return notAllowed("%s permission required (user not logged in)", p)
}

func (c *call) assertLogin() *hubErr {
	if c.user() == nil {
		return notAllowed("you must be logged in for this operation")
	}
	return nil
}

// dispatch runs one call of a request (a single call or a call of a
// multicall): method lookup, argument binding, the method.
func (h *FakeHub) dispatch(c *call, name string, params []any) (any, *hubErr) {
	m, ok := h.methods[name]
	if !ok {
		return nil, genericErr("Invalid method: %s", name)
	}
	pos, kw := xmlrpc.SplitKwArgs(params)
	a, err := m.sig.bind(pos, kw)
	if err != nil {
		return nil, err
	}
	return m.fn(c, a)
}

// multicall runs the calls of a multiCall one by one; each failure is
// isolated (a savepoint in Koji) and each call gets its own event.
func (h *FakeHub) multicall(c *call, a args) (any, *hubErr) {
	list, ok := a.get("calls").([]any)
	if !ok {
		msg := "'" + strings.Trim(strings.TrimPrefix(pyType(a.get("calls")), "<class "), "'>") + "' object is not iterable"
		return nil, pyErr("TypeError", msg, msg)
	}
	parent := c.rec
	rec := h.calls[parent]
	results := make([]any, 0, len(list))
	for _, entry := range list {
		c.event = 0
		name, _ := optKey(entry, "methodName").(string)
		params, _ := optKey(entry, "params").([]any)
		inner := Call{Method: name, Path: rec.Path, Query: rec.Query, Header: rec.Header, Parent: parent + 1}
		inner.Params, inner.KwArgs = xmlrpc.SplitKwArgs(params)
		h.calls = append(h.calls, inner)
		idx := len(h.calls) - 1
		var (
			v   any
			err *hubErr
		)
		switch {
		case !hasKey(entry, "methodName"):
			_, err = getKey(entry, "methodName")
		case !hasKey(entry, "params"):
			_, err = getKey(entry, "params")
		default:
			before, at, mark := c.wrote, c.rec, h.queued()
			c.rec = idx
			v, err = h.dispatch(c, name, params)
			c.rec = at
			if err != nil {
				c.wrote = before // the savepoint rolls the call back
				h.dropMessages(mark)
			}
		}
		if err != nil {
			f := err.fault(name)
			h.calls[idx].Fault = f
			results = append(results, f)
		} else {
			results = append(results, []any{v})
		}
	}
	c.event = 0
	return results, nil
}
