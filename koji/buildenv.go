package koji

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/internal/xmlrpc"
)

// Environment is a module build's build environment in Koji (mbs.md §3.7
// step 4–5): the module tag and its -build tag, the target building from
// one into the other, and what the -build tag's buildroots contain.
type Environment struct {
	// Tag is the module tag (module-<n>-<s>-<v>-<c>, or its hashed form);
	// the build tag is Tag + "-build".
	Tag string
	// Target is the build target's name (56 characters at most).
	Target string
	// Arches are the tags' arches.
	Arches []string
	// Perm is the permission that guards the tags (MBS: admin).
	Perm string
	// Extra is set on both tags (KOJI_TAG_EXTRA_OPTS and the module's
	// overrides).
	Extra map[string]any
	// Packages are whitelisted on both tags for Owner (the module's
	// buildopts.rpms.whitelist, else its component names).
	Packages []string
	Owner    string
	// Blocked are blocked in a newly created build tag
	// (xmd.mbs_options.blocked_packages).
	Blocked []string
	// Groups are the build tag's groups ("build", "srpm-build") and their
	// packages: the buildroot profiles of the buildrequired modules.
	Groups map[string][]string
	// Parents are the buildrequired modules' tags, inherited by the build
	// tag in this order.
	Parents []string
}

// BuildTag is the tag components are built in.
func (e Environment) BuildTag() string { return e.Tag + "-build" }

// PrepareEnvironment makes the environment exist as described, creating
// and editing only what differs, with the reads and the writes of each
// step batched in multicalls: unlike MBS, which repeats its ~20 calls on
// every event, a second call on a ready environment makes reads only. It is
// safe to repeat after a crash at any point.
func (c *Client) PrepareEnvironment(ctx context.Context, env Environment) error {
	tags := []string{env.Tag, env.BuildTag()}
	reads, err := c.Multicall(ctx, []xmlrpc.Call{
		{Method: "getTag", Params: []any{env.Tag}},
		{Method: "getTag", Params: []any{env.BuildTag()}},
		{Method: "getBuildTarget", Params: []any{env.Target}},
	})
	if err != nil {
		return err
	}
	var existing [2]*tagInfo
	for i := range tags {
		if existing[i], err = decodeTag(reads[i]); err != nil {
			return err
		}
	}
	target, err := decodeTarget(reads[2])
	if err != nil {
		return err
	}

	// Tags: create what is missing, then bring arches, perm and extra to
	// what the module needs.
	var writes []xmlrpc.Call
	arches := strings.Join(slices.Sorted(slices.Values(env.Arches)), " ")
	for i, name := range tags {
		if existing[i] == nil {
			writes = append(writes, xmlrpc.Call{Method: "createTag", Params: []any{name, xmlrpc.KwArgs{
				{Name: "arches", Value: arches}, {Name: "perm", Value: nilIfEmpty(env.Perm)}, {Name: "extra", Value: extraStruct(env.Extra)},
			}}})
			continue
		}
		if edit := tagEdits(existing[i], arches, env.Perm, env.Extra); len(edit) > 0 {
			writes = append(writes, xmlrpc.Call{Method: "editTag2", Params: []any{name, edit}})
		}
	}
	// A missing target is created in the same multicall, after the tags it
	// names (the calls of a multicall run in order).
	if target == nil {
		writes = append(writes, xmlrpc.Call{Method: "createBuildTarget", Params: []any{env.Target, env.BuildTag(), env.Tag}})
	} else if err := checkTarget(env, target); err != nil {
		return err
	}
	if err := c.strictMulticall(ctx, writes); err != nil {
		return err
	}

	// Inheritance before the package lists: a block applies to a package
	// the build tag lists, which it does through its parents.
	if err := c.ensureInheritance(ctx, env); err != nil {
		return err
	}
	if err := c.ensurePackages(ctx, env); err != nil {
		return err
	}
	return c.ensureGroups(ctx, env)
}

// tagInfo is what getTag answers that the environment reads.
type tagInfo struct {
	ID     int64          `xmlrpc:"id"`
	Name   string         `xmlrpc:"name"`
	Arches string         `xmlrpc:"arches"`
	Perm   *string        `xmlrpc:"perm"`
	Extra  map[string]any `xmlrpc:"extra"`
}

func decodeTag(r xmlrpc.MulticallResult) (*tagInfo, error) {
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("koji getTag: %w", err)
	}
	if r.Value == nil {
		return nil, nil
	}
	var t tagInfo
	if err := xmlrpc.Unmarshal(r.Value, &t); err != nil {
		return nil, rida.Errorf(rida.CodeUnavailable, "koji getTag: unexpected reply: %v", err)
	}
	return &t, nil
}

type targetInfo struct {
	Name         string `xmlrpc:"name"`
	BuildTagName string `xmlrpc:"build_tag_name"`
	DestTagName  string `xmlrpc:"dest_tag_name"`
}

func decodeTarget(r xmlrpc.MulticallResult) (*targetInfo, error) {
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("koji getBuildTarget: %w", err)
	}
	if r.Value == nil {
		return nil, nil
	}
	var t targetInfo
	if err := xmlrpc.Unmarshal(r.Value, &t); err != nil {
		return nil, rida.Errorf(rida.CodeUnavailable, "koji getBuildTarget: unexpected reply: %v", err)
	}
	return &t, nil
}

// tagEdits are editTag2's keyword arguments that bring t to the wanted
// arches, perm and extra; none when it is there already.
func tagEdits(t *tagInfo, arches, perm string, extra map[string]any) xmlrpc.KwArgs {
	var kw xmlrpc.KwArgs
	if t.Arches != arches {
		kw = append(kw, xmlrpc.Member{Name: "arches", Value: arches})
	}
	if perm != "" && (t.Perm == nil || *t.Perm != perm) {
		kw = append(kw, xmlrpc.Member{Name: "perm", Value: perm})
	}
	changed := map[string]any{}
	for k, v := range extra {
		if old, ok := t.Extra[k]; !ok || fmt.Sprint(old) != fmt.Sprint(normalizeExtra(v)) {
			changed[k] = v
		}
	}
	if len(changed) > 0 {
		kw = append(kw, xmlrpc.Member{Name: "extra", Value: extraStruct(changed)})
	}
	return kw
}

// normalizeExtra is how a value reads back from Koji (ints as int64).
func normalizeExtra(v any) any {
	switch x := v.(type) {
	case int:
		return int64(x)
	}
	return v
}

// extraStruct is a tag's extra as a struct with sorted keys, so the same
// environment always sends the same bytes.
func extraStruct(extra map[string]any) any {
	if len(extra) == 0 {
		return nil
	}
	s := make(xmlrpc.Struct, 0, len(extra))
	for _, k := range slices.Sorted(maps.Keys(extra)) {
		s = append(s, xmlrpc.Member{Name: k, Value: extra[k]})
	}
	return s
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// strictMulticall runs calls (nothing when there are none) and fails on
// the first fault among them.
func (c *Client) strictMulticall(ctx context.Context, calls []xmlrpc.Call) error {
	if len(calls) == 0 {
		return nil
	}
	res, err := c.Multicall(ctx, calls)
	if err != nil {
		return err
	}
	for i, r := range res {
		if err := r.Err(); err != nil {
			return fmt.Errorf("koji %s%v: %w", calls[i].Method, calls[i].Params[:min(1, len(calls[i].Params))], faultOf(calls[i].Method, err))
		}
	}
	return nil
}

// faultOf turns a multicall result's fault into a FaultError.
func faultOf(method string, err error) error {
	if f, ok := err.(*xmlrpc.Fault); ok {
		return &FaultError{Method: method, Code: f.Code, String: f.String}
	}
	return err
}

// ensurePackages whitelists the packages on both tags (those not listed
// there yet), and blocks in the build tag each blocked package it inherits
// and has no entry of its own for. MBS blocks only in a build tag it has
// just created; deciding by the tag's own entries instead gives the same
// result, survives a crash between creating the tag and blocking, and
// leaves alone a package unblocked since (the unblock is an entry of the
// tag's own).
func (c *Client) ensurePackages(ctx context.Context, env Environment) error {
	if len(env.Packages) == 0 && len(env.Blocked) == 0 {
		return nil
	}
	tags := []string{env.Tag, env.BuildTag()}
	var reads []xmlrpc.Call
	for _, t := range tags {
		reads = append(reads, xmlrpc.Call{Method: "listPackages", Params: []any{xmlrpc.KwArgs{
			{Name: "tagID", Value: t}, {Name: "inherited", Value: true}, {Name: "with_owners", Value: false}}}})
	}
	res, err := c.Multicall(ctx, reads)
	if err != nil {
		return err
	}
	var writes []xmlrpc.Call
	for i, t := range tags {
		if err := res[i].Err(); err != nil {
			return fmt.Errorf("koji listPackages %s: %w", t, faultOf("listPackages", err))
		}
		var listed []struct {
			Name string `xmlrpc:"package_name"`
			Tag  string `xmlrpc:"tag_name"`
		}
		if err := xmlrpc.Unmarshal(res[i].Value, &listed); err != nil {
			return rida.Errorf(rida.CodeUnavailable, "koji listPackages: unexpected reply: %v", err)
		}
		own, inherited := map[string]bool{}, map[string]bool{}
		for _, p := range listed {
			if p.Tag == t {
				own[p.Name] = true
			} else {
				inherited[p.Name] = true
			}
		}
		for _, p := range slices.Sorted(slices.Values(env.Packages)) {
			if !own[p] {
				writes = append(writes, xmlrpc.Call{Method: "packageListAdd", Params: []any{t, p, xmlrpc.KwArgs{{Name: "owner", Value: env.Owner}}}})
			}
		}
		if t != env.BuildTag() {
			continue
		}
		for _, p := range slices.Sorted(slices.Values(env.Blocked)) {
			if inherited[p] && !own[p] {
				writes = append(writes, xmlrpc.Call{Method: "packageListBlock", Params: []any{t, p}})
			}
		}
	}
	return c.strictMulticall(ctx, writes)
}

// ensureGroups adds the groups the build tag lacks, and to each the
// packages it lacks (MBS adds a group's packages only when it creates the
// group; rida also completes a group a crash left half-filled).
func (c *Client) ensureGroups(ctx context.Context, env Environment) error {
	if len(env.Groups) == 0 {
		return nil
	}
	var groups []struct {
		Name     string `xmlrpc:"name"`
		Packages []struct {
			Package string `xmlrpc:"package"`
		} `xmlrpc:"packagelist"`
	}
	if err := c.CallInto(ctx, &groups, "getTagGroups", env.BuildTag(), xmlrpc.KwArgs{{Name: "inherit", Value: false}}); err != nil {
		return err
	}
	have := map[string]map[string]bool{}
	for _, g := range groups {
		have[g.Name] = map[string]bool{}
		for _, p := range g.Packages {
			have[g.Name][p.Package] = true
		}
	}
	var writes []xmlrpc.Call
	for _, name := range slices.Sorted(maps.Keys(env.Groups)) {
		if have[name] == nil {
			writes = append(writes, xmlrpc.Call{Method: "groupListAdd", Params: []any{env.BuildTag(), name}})
		}
		for _, p := range slices.Sorted(slices.Values(env.Groups[name])) {
			if !have[name][p] {
				writes = append(writes, xmlrpc.Call{Method: "groupPackageListAdd", Params: []any{env.BuildTag(), name, p}})
			}
		}
	}
	return c.strictMulticall(ctx, writes)
}

// checkTarget refuses a target of the module's name that builds elsewhere
// (MBS's SystemError): building there would put the module's components
// in another module's tags.
func checkTarget(env Environment, t *targetInfo) error {
	if t.BuildTagName != env.BuildTag() || t.DestTagName != env.Tag {
		return rida.Errorf(rida.CodeConflict, "Koji target %s exists but builds in %s into %s, not in %s into %s",
			env.Target, t.BuildTagName, t.DestTagName, env.BuildTag(), env.Tag)
	}
	return nil
}

// ensureInheritance makes the build tag inherit every parent it lacks,
// after the existing parents in steps of 10 (mbs.md §3.7 step 5).
func (c *Client) ensureInheritance(ctx context.Context, env Environment) error {
	if len(env.Parents) == 0 {
		return nil
	}
	var links []struct {
		Name     string `xmlrpc:"name"`
		Priority int64  `xmlrpc:"priority"`
	}
	if err := c.CallInto(ctx, &links, "getInheritanceData", env.BuildTag()); err != nil {
		return err
	}
	have := map[string]bool{}
	priority := int64(0)
	for _, l := range links {
		have[l.Name] = true
		priority = max(priority, l.Priority)
	}
	var add []any
	for _, parent := range env.Parents {
		if have[parent] {
			continue
		}
		have[parent] = true
		if len(links) > 0 || len(add) > 0 {
			priority += 10
		}
		var info struct {
			ID int64 `xmlrpc:"id"`
		}
		if err := c.CallInto(ctx, &info, "getTag", parent, xmlrpc.KwArgs{{Name: "strict", Value: true}}); err != nil {
			return fmt.Errorf("the buildrequired module's tag %s: %w", parent, err)
		}
		add = append(add, xmlrpc.Struct{
			{Name: "parent_id", Value: info.ID}, {Name: "priority", Value: priority}, {Name: "maxdepth", Value: nil},
			{Name: "intransitive", Value: false}, {Name: "noconfig", Value: false}, {Name: "pkg_filter", Value: ""},
		})
	}
	if len(add) == 0 {
		return nil
	}
	_, err := c.Call(ctx, "setInheritanceData", env.BuildTag(), add)
	return err
}
