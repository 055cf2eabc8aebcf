package kojitest

import (
	"slices"
	"strings"
)

// def registers a hub call: its Python signature and its implementation.
// Calls registered from koji.auth (Session.*) are reached through a
// wrapper, so their argument errors are plain TypeErrors (fault 1).
func (h *FakeHub) def(signature, name string, fn func(c *call, a args) (any, *hubErr)) {
	g := parseSig(signature)
	g.indirect = strings.HasPrefix(g.qualname, "Session.")
	h.methods[name] = method{sig: g, fn: fn}
}

// register defines every call the hub answers.
func (h *FakeHub) register() {
	h.methods = map[string]method{}
	multi := func(c *call, a args) (any, *hubErr) { return c.h.multicall(c, a) }
	h.def("ModXMLRPCRequestHandler.multiCall(calls)", "multiCall", multi)
	h.def("ModXMLRPCRequestHandler.multiCall(calls)", "system.multicall", multi)
	h.def("RootExports.hello(*args)", "hello", func(c *call, a args) (any, *hubErr) { return "Hello World", nil })
	h.def("RootExports.echo(*args)", "echo", func(c *call, a args) (any, *hubErr) {
		if a.rest == nil {
			return []any{}, nil
		}
		return a.rest, nil
	})
	h.def("RootExports.getAPIVersion()", "getAPIVersion", func(c *call, a args) (any, *hubErr) { return int64(1), nil })
	h.def("RootExports.getKojiVersion()", "getKojiVersion", func(c *call, a args) (any, *hubErr) { return Version, nil })
	h.def("RootExports.mavenEnabled()", "mavenEnabled", func(c *call, a args) (any, *hubErr) { return false, nil })
	h.def("RootExports.winEnabled()", "winEnabled", func(c *call, a args) (any, *hubErr) { return false, nil })
	h.def("HandlerRegistry.system_listMethods()", "system.listMethods", func(c *call, a args) (any, *hubErr) {
		names := make([]string, 0, len(c.h.methods))
		for n := range c.h.methods {
			if n != "multiCall" && n != "system.multicall" {
				names = append(names, n)
			}
		}
		slices.Sort(names)
		return anyList(names), nil
	})
	h.def("HandlerRegistry.system_methodSignature(method)", "system.methodSignature", func(c *call, a args) (any, *hubErr) {
		return "signatures not supported", nil
	})
	h.def("HandlerRegistry.system_methodHelp(method)", "system.methodHelp", func(c *call, a args) (any, *hubErr) {
		m, ok := c.h.methods[pyStr(a.get("method"))]
		if !ok {
			return "", nil
		}
		var ps []string
		for _, p := range m.sig.params {
			if p.hasDef {
				ps = append(ps, p.name+"="+pyRepr(p.def))
			} else {
				ps = append(ps, p.name)
			}
		}
		if m.sig.varargs {
			ps = append(ps, "*args")
		}
		if m.sig.varkw {
			ps = append(ps, "**kwargs")
		}
		return pyStr(a.get("method")) + "(" + strings.Join(ps, ", ") + ")", nil
	})
	h.registerSession()
	h.registerTags()
	h.registerBuilds()
	h.registerTasks()
	h.registerCG()
	h.registerUploads()
	h.registerExtRepos()
}
