package expand

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/modulemd"
)

// Options are the submission parameters and configuration expansion uses.
// The zero value is MBS's default configuration.
type Options struct {
	// BuildrequireOverrides and RequireOverrides replace the stream lists
	// of the named modules in every dependency block (the submission's
	// buildrequire_overrides / require_overrides).
	BuildrequireOverrides, RequireOverrides map[string][]string

	// Branch is the SCM branch submitted. With BRStreamOverrideModule and
	// BRStreamOverrideRegexes (BR_STREAM_OVERRIDE_*), the first regex that
	// matches the branch gives a buildrequire stream override of that
	// module: the concatenation of its non-empty groups.
	Branch                  string
	BRStreamOverrideModule  string
	BRStreamOverrideRegexes []*regexp.Regexp

	// BaseModuleNames is BASE_MODULE_NAMES, in order; nil means
	// DefaultBaseModuleNames.
	BaseModuleNames []string
	// StreamSuffixes is STREAM_SUFFIXES, in order.
	StreamSuffixes []StreamSuffix
	// AnyCompatibleBaseModule is ALLOW_ONLY_COMPATIBLE_BASE_MODULES = false:
	// base modules sharing a virtual stream are compatible whatever their
	// stream version, in the ready and garbage states.
	AnyCompatibleBaseModule bool

	// DefaultStreams picks the stream of a module with several (local
	// builds' -s name:stream); RaiseIfStreamAmbiguous refuses a module
	// with several streams and no default.
	DefaultStreams         map[string]string
	RaiseIfStreamAmbiguous bool

	// Solver solves each dependency block; nil means SATSolver{}.
	Solver Solver
}

// Result is one expanded module build.
type Result struct {
	// Stream is the expanded modulemd: a copy of the submission with one
	// dependency block of single buildrequire streams, its context, its
	// prefixed version (when the submission had a version) and
	// xmd.mbs.buildrequires and xmd.mbs.mse set.
	Stream *modulemd.Stream
	// Block is the index of the submission's dependency block it expands.
	Block int
	// Version is the stream-version-prefixed version (§3.4), 0 when the
	// submission has no version yet.
	Version uint64

	BuildContext, BuildContextNoBMS, RuntimeContext, Context string
	// BuildRequires is xmd.mbs.buildrequires: every build it is built
	// against, the transitive runtime requires of its buildrequires
	// included.
	BuildRequires map[string]rida.BuildRequire
	// Why explains the choice, for dry runs.
	Why string
}

// Rejected is a combination of buildrequires that was tried and not
// built, and why.
type Rejected struct {
	Block int
	// Combination holds the N:S:V:C of each direct buildrequire tried.
	Combination []string
	Reason      string
}

// Expansion is the outcome of Expand.
type Expansion struct {
	Results []*Result
	// Rejected lists the combinations tried and not kept.
	Rejected []Rejected
	// Candidates are the N:S:V:C of every build considered, in pool order.
	Candidates []string
}

// Error messages worded as MBS words them.
const (
	msgNoCombination = "No dependency combination was satisfied. Please verify the buildrequires in your modulemd have previously been built."
)

// Expand performs MBS's Module Stream Expansion of a submitted module
// (mbs.md §3.1 steps 7, 8 and 10, §3.2): dependency overrides, base-module
// virtual streams, stream lists expanded, candidate builds found through r,
// every combination of direct buildrequires solved, one Result per
// combination of buildrequired name:streams. s is not modified.
//
// Errors are *rida.Error with MBS's messages and status classes. When
// solving itself fails (no combination, conflicting buildrequires), the
// Expansion is returned with the error so a dry run can show what was
// tried.
func Expand(ctx context.Context, s *modulemd.Stream, opts Options, r Resolver) (*Expansion, error) {
	if s == nil {
		return nil, rida.Errorf(rida.CodeInvalid, "The input modulemd was empty")
	}
	if r == nil {
		return nil, errors.New("expand: no resolver")
	}
	if slices.Contains(s.Dependencies, nil) {
		return nil, rida.Errorf(rida.CodeInvalid, "The modulemd has an empty dependency block")
	}
	e := &expander{opts: opts, r: r, baseNames: opts.BaseModuleNames}
	if e.baseNames == nil {
		e.baseNames = DefaultBaseModuleNames
	}
	if e.opts.Solver == nil {
		e.opts.Solver = SATSolver{}
	}
	mmd := s.Copy()
	if err := e.applyOverrides(mmd); err != nil {
		return nil, err
	}
	if err := e.resolveVirtualStreams(ctx, mmd); err != nil {
		return nil, err
	}
	cur := mmd.Copy()
	cur.Context = ""
	if err := e.expandStreams(ctx, cur); err != nil {
		return nil, err
	}
	cands, err := e.candidates(ctx, cur)
	if err != nil {
		return nil, err
	}
	return e.solve(ctx, mmd, cur, cands)
}

type expander struct {
	opts      Options
	r         Resolver
	baseNames []string
}

func (e *expander) isBase(name string) bool { return slices.Contains(e.baseNames, name) }

// applyOverrides is MBS's _apply_dep_overrides.
func (e *expander) applyOverrides(mmd *modulemd.Stream) error {
	br := map[string][]string{}
	for k, v := range e.opts.BuildrequireOverrides {
		br[k] = v
	}
	fromBranch := false
	if e.opts.Branch != "" && e.opts.BRStreamOverrideModule != "" {
		if _, user := br[e.opts.BRStreamOverrideModule]; !user {
			for _, re := range e.opts.BRStreamOverrideRegexes {
				if re == nil {
					continue
				}
				m := re.FindStringSubmatch(e.opts.Branch)
				if m == nil {
					continue
				}
				stream := strings.Join(m[1:], "")
				if stream != "" {
					br[e.opts.BRStreamOverrideModule] = []string{stream}
					fromBranch = true
				}
				break
			}
		}
	}
	unusedBR := mapKeys(br)
	unusedR := mapKeys(e.opts.RequireOverrides)
	for _, d := range mmd.Dependencies {
		for name := range d.BuildRequires {
			if o, ok := br[name]; ok {
				d.BuildRequires[name] = modulemd.SetStringSet(o...)
				delete(unusedBR, name)
			}
		}
		for name := range d.Requires {
			if o, ok := e.opts.RequireOverrides[name]; ok {
				d.Requires[name] = modulemd.SetStringSet(o...)
				delete(unusedR, name)
			}
		}
	}
	if fromBranch {
		delete(unusedBR, e.opts.BRStreamOverrideModule)
	}
	for _, u := range []struct {
		kind   string
		unused map[string]bool
	}{{"buildrequire", unusedBR}, {"require", unusedR}} {
		if len(u.unused) > 0 {
			names := make([]string, 0, len(u.unused))
			for n := range u.unused {
				names = append(names, n)
			}
			slices.Sort(names)
			return rida.Errorf(rida.CodeInvalid, "The %s overrides for the following modules aren't applicable: %s", u.kind, strings.Join(names, ", "))
		}
	}
	return nil
}

func mapKeys(m map[string][]string) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

// resolveVirtualStreams is resolve_base_module_virtual_streams: a base
// module buildrequire stream without any build is replaced by the real
// stream of the newest build providing it as a virtual stream.
func (e *expander) resolveVirtualStreams(ctx context.Context, mmd *modulemd.Stream) error {
	for _, d := range mmd.Dependencies {
		for _, name := range e.baseNames {
			streams, ok := d.BuildRequires[name]
			if !ok {
				continue
			}
			changed := false
			out := slices.Clone(streams)
			for i, s := range out {
				if strings.HasPrefix(s, "-") {
					continue
				}
				exists, err := e.r.StreamExists(ctx, name, s)
				if err != nil {
					return fmt.Errorf("look up %s:%s: %w", name, s, err)
				}
				if exists {
					continue
				}
				real, found, err := e.r.LatestWithVirtualStream(ctx, name, s)
				if err != nil {
					return fmt.Errorf("look up virtual stream %s:%s: %w", name, s, err)
				}
				if found && real != s {
					out[i], changed = real, true
				}
			}
			if changed {
				d.BuildRequires[name] = modulemd.SetStringSet(out...)
			}
		}
	}
	return nil
}

// expandStreams is expand_mse_streams: every stream list of every block
// becomes a list of concrete streams.
func (e *expander) expandStreams(ctx context.Context, mmd *modulemd.Stream) error {
	for _, d := range mmd.Dependencies {
		for _, m := range []map[string][]string{d.Requires, d.BuildRequires} {
			for _, name := range sortedKeys(m) {
				streams, err := e.expandSingle(ctx, name, m[name])
				if err != nil {
					return err
				}
				m[name] = modulemd.SetStringSet(streams...)
			}
		}
	}
	return nil
}

// expandSingle is expand_single_mse_streams.
func (e *expander) expandSingle(ctx context.Context, name string, streams []string) ([]string, error) {
	exclusions := !slices.ContainsFunc(streams, func(s string) bool { return !strings.HasPrefix(s, "-") })
	var out []string
	if exclusions {
		switch def, ok := e.opts.DefaultStreams[name]; {
		case ok:
			out = []string{def}
		case e.opts.RaiseIfStreamAmbiguous:
			return nil, rida.Errorf(rida.CodeInvalid, "There are multiple streams to choose from for module %s.", name)
		default:
			all, err := e.r.Streams(ctx, name)
			if err != nil {
				return nil, fmt.Errorf("list streams of %s: %w", name, err)
			}
			out = slices.Clone(all)
		}
	}
	for _, s := range streams {
		if rest, neg := strings.CutPrefix(s, "-"); neg {
			if exclusions {
				if i := slices.Index(out, rest); i >= 0 {
					out = slices.Delete(out, i, i+1)
				}
			}
		} else {
			out = append(out, s)
		}
	}
	if len(out) > 1 {
		if def, ok := e.opts.DefaultStreams[name]; ok {
			out = []string{def}
		} else if e.opts.RaiseIfStreamAmbiguous {
			return nil, rida.Errorf(rida.CodeInvalid, "There are multiple streams %s to choose from for module %s.", pyList(out), name)
		}
	}
	return out, nil
}

func pyList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = "'" + s + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// candidateSet is MBS's mmds dict: name:stream → builds, in insertion
// order.
type candidateSet struct {
	keys  []string
	lists map[string][]Candidate
}

func (c *candidateSet) touch(ns string) bool {
	if _, ok := c.lists[ns]; ok {
		return false
	}
	c.lists[ns] = nil
	c.keys = append(c.keys, ns)
	return true
}

// candidates is get_mmds_required_by_module_recursively.
func (e *expander) candidates(ctx context.Context, cur *modulemd.Stream) ([]Candidate, error) {
	ready, garbage, err := e.baseModules(ctx, cur)
	if err != nil {
		return nil, err
	}
	if len(ready) == 0 {
		return nil, rida.Errorf(rida.CodeUnprocessable, "None of the base module (%s) streams in the buildrequires section could be found", strings.Join(e.baseNames, " or "))
	}
	set := &candidateSet{lists: map[string][]Candidate{}}
	for _, b := range ready {
		ns := b.Name + ":" + b.Stream
		set.touch(ns)
		set.lists[ns] = append(set.lists[ns], b)
	}
	allBase := slices.Concat(ready, garbage)
	for _, d := range cur.Dependencies {
		if _, err := e.fromRequires(ctx, d.BuildRequires, set, allBase, false); err != nil {
			return nil, err
		}
	}
	for _, key := range slices.Clone(set.keys) {
		for _, c := range set.lists[key] {
			for _, block := range c.Requires {
				if _, err := e.fromRequires(ctx, block, set, allBase, true); err != nil {
					return nil, err
				}
			}
		}
	}
	var out []Candidate
	seen := map[string]bool{}
	for _, ns := range set.keys {
		if len(set.lists[ns]) == 0 {
			return nil, rida.Errorf(rida.CodeUnprocessable, "Cannot find any module builds for %s", ns)
		}
		for _, c := range set.lists[ns] {
			// MBS can add a build twice (once as a buildrequire, once as a
			// runtime require); one solvable per build is enough.
			if k := c.NSVC.String(); !seen[k] {
				seen[k] = true
				out = append(out, c)
			}
		}
	}
	return out, nil
}

// fromRequires is _get_mmds_from_requires: the builds of each non-base
// name:stream, built against each base module; with recursive, then the
// runtime requires of what was added. Each name:stream is looked up once
// (MBS looks up again and loops forever on require cycles).
func (e *expander) fromRequires(ctx context.Context, reqs map[string][]string, set *candidateSet, allBase []Candidate, recursive bool) ([]string, error) {
	var added []string
	for _, name := range sortedKeys(reqs) {
		if e.isBase(name) {
			continue
		}
		streams := reqs[name]
		if _, ok := e.opts.DefaultStreams[name]; !ok && len(streams) > 1 && e.opts.RaiseIfStreamAmbiguous {
			return nil, rida.Errorf(rida.CodeInvalid, "There are multiple streams %s to choose from for module %s.", pyList(streams), name)
		}
		for _, stream := range streams {
			ns := name + ":" + stream
			if !set.touch(ns) {
				continue
			}
			for _, b := range allBase {
				builds, err := e.r.BuildrequiredModules(ctx, name, stream, b.NSVC)
				if err != nil {
					return nil, fmt.Errorf("find builds of %s built against %s: %w", ns, b.NSVC, err)
				}
				set.lists[ns] = append(set.lists[ns], builds...)
			}
			added = append(added, ns)
		}
	}
	if recursive {
		for _, ns := range added {
			for _, c := range set.lists[ns] {
				for _, block := range c.Requires {
					if _, err := e.fromRequires(ctx, block, set, allBase, true); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	return added, nil
}

// baseModules is get_base_module_mmds: for each block, the first base
// module it buildrequires, each stream newest first, and the compatible
// base modules (sharing a virtual stream).
func (e *expander) baseModules(ctx context.Context, cur *modulemd.Stream) (ready, garbage []Candidate, err error) {
	seen := map[string]bool{}
	for _, d := range cur.Dependencies {
		for _, name := range e.baseNames {
			streams, ok := d.BuildRequires[name]
			if !ok {
				continue
			}
			sorted := slices.Clone(streams)
			slices.SortStableFunc(sorted, func(a, b string) int {
				va, oka := StreamVersion(a, true, e.opts.StreamSuffixes)
				vb, okb := StreamVersion(b, true, e.opts.StreamSuffixes)
				// Python cannot order None with floats; rida puts streams
				// without a version last.
				if oka != okb {
					if oka {
						return -1
					}
					return 1
				}
				return cmp.Compare(vb, va)
			})
			for _, stream := range sorted {
				ns := name + ":" + stream
				if seen[ns] {
					continue
				}
				builds, err := e.r.ModuleBuilds(ctx, name, stream)
				if err != nil {
					return nil, nil, fmt.Errorf("find builds of %s: %w", ns, err)
				}
				if len(builds) == 0 {
					continue
				}
				r, g, err := e.compatible(ctx, builds[0], seen)
				if err != nil {
					return nil, nil, err
				}
				for _, c := range slices.Concat(r, g) {
					seen[c.Name+":"+c.Stream] = true
				}
				ready = append(ready, r...)
				garbage = append(garbage, g...)
			}
			break
		}
	}
	return ready, garbage, nil
}

// compatible is get_compatible_base_module_mmds.
func (e *expander) compatible(ctx context.Context, base Candidate, ignore map[string]bool) (ready, garbage []Candidate, err error) {
	ready = []Candidate{base}
	seen := map[string]bool{}
	for k := range ignore {
		seen[k] = true
	}
	seen[base.Name+":"+base.Stream] = true
	if len(base.VirtualStreams) == 0 {
		return ready, nil, nil
	}
	states := []rida.ModuleState{rida.ModuleReady, rida.ModuleGarbage}
	maxSV := 0.0
	if !e.opts.AnyCompatibleBaseModule {
		states = states[:1]
		if IsXYZ(base.Stream, e.opts.StreamSuffixes) {
			maxSV, _ = StreamVersion(base.Stream, true, e.opts.StreamSuffixes)
		}
	}
	for _, st := range states {
		builds, err := e.r.CompatibleBaseModules(ctx, base.Name, base.VirtualStreams, maxSV, st)
		if err != nil {
			return nil, nil, fmt.Errorf("find base modules compatible with %s: %w", base.NSVC, err)
		}
		for _, b := range builds {
			ns := b.Name + ":" + b.Stream
			if seen[ns] {
				continue
			}
			seen[ns] = true
			if st == rida.ModuleReady {
				ready = append(ready, b)
			} else {
				garbage = append(garbage, b)
			}
		}
	}
	return ready, garbage, nil
}

// solve runs the solver on each block and builds the expanded modulemds
// (generate_expanded_mmds).
func (e *expander) solve(ctx context.Context, mmd, cur *modulemd.Stream, cands []Candidate) (*Expansion, error) {
	exp := &Expansion{}
	for _, c := range cands {
		exp.Candidates = append(exp.Candidates, c.NSVC.String())
	}
	pb := newPoolBuilder(cands, e.baseNames, e.opts.StreamSuffixes)
	type solved struct {
		block     int
		installed []int
		comb      []int
		ageSum    int
	}
	var all []solved
	for bi, d := range cur.Dependencies {
		if len(d.BuildRequires) == 0 {
			// MBS returns at once with the module alone when a block has
			// no buildrequires, dropping the other blocks' results.
			all = []solved{{block: bi}}
			exp.Rejected = nil
			break
		}
		p := pb.problem(d.BuildRequires)
		sols, rejs, err := e.opts.Solver.Solve(ctx, p)
		for _, r := range rejs {
			exp.Rejected = append(exp.Rejected, Rejected{Block: bi, Combination: labels(p, r.Combination), Reason: r.Reason})
		}
		if err != nil {
			var re *rida.Error
			if errors.As(err, &re) {
				return exp, err
			}
			return exp, fmt.Errorf("solve dependency block %d: %w", bi, err)
		}
		if len(sols) == 0 && len(rejs) == 0 {
			for _, t := range p.Direct {
				if len(t.Providers) == 0 {
					exp.Rejected = append(exp.Rejected, Rejected{Block: bi, Reason: "nothing provides " + t.Dep})
				}
			}
		}
		for _, s := range sols {
			all = append(all, solved{block: bi, installed: s.Installed, comb: s.Combination, ageSum: s.AgeSum})
		}
	}
	if len(all) == 0 {
		return exp, rida.Errorf(rida.CodeInvalid, msgNoCombination)
	}
	for _, s := range all {
		res, err := e.result(mmd, cands, s.block, s.installed, s.comb, s.ageSum)
		if err != nil {
			return exp, err
		}
		exp.Results = append(exp.Results, res)
	}
	return exp, nil
}

func labels(p *Problem, vs []int) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = p.Solvables[v].Label
	}
	return out
}

// result builds one expanded modulemd (step D of mbs.md §3.2).
func (e *expander) result(mmd *modulemd.Stream, cands []Candidate, block int, installed, comb []int, ageSum int) (*Result, error) {
	out := mmd.Copy()
	if block >= len(out.Dependencies) {
		return nil, fmt.Errorf("expand: dependency block %d out of range", block)
	}
	orig := out.Dependencies[block]
	chosen := map[string]string{} // name → stream
	for _, i := range installed {
		chosen[cands[i].Name] = cands[i].Stream
	}
	nd := &modulemd.Dependencies{BuildRequires: map[string][]string{}, Requires: map[string][]string{}}
	for name, rs := range orig.Requires {
		brs, isBR := orig.BuildRequires[name]
		switch {
		case !isBR:
			nd.Requires[name] = append([]string{}, rs...)
		case !sameSet(rs, brs):
			nd.Requires[name] = append([]string{}, rs...)
			nd.BuildRequires[name] = []string{chosen[name]}
		default:
			nd.Requires[name] = []string{chosen[name]}
			nd.BuildRequires[name] = []string{chosen[name]}
		}
	}
	for name := range orig.BuildRequires {
		if _, ok := orig.Requires[name]; !ok {
			nd.BuildRequires[name] = []string{chosen[name]}
		}
	}
	if len(nd.Requires) == 0 {
		nd.Requires = nil
	}
	if len(nd.BuildRequires) == 0 {
		nd.BuildRequires = nil
	}
	out.Dependencies = []*modulemd.Dependencies{nd}

	brs := map[string]rida.BuildRequire{}
	xmdBRs := map[string]any{}
	streams := map[string]string{}
	var why []string
	for _, i := range installed {
		c := cands[i]
		if c.BusySibling != nil {
			return nil, rida.Errorf(rida.CodeUnprocessable, "Buildrequire %s-%s-%d is in \"%s\" state", c.Name, c.Stream, c.Version, c.BusySibling.String())
		}
		if c.Ref == "" {
			return nil, &rida.Error{Code: rida.CodeUnprocessable, Message: fmt.Sprintf("The module %q didn't contain a commit hash in its xmd", c.Name)}
		}
		if !c.MSE {
			return nil, &rida.Error{Code: rida.CodeUnprocessable, Message: fmt.Sprintf("The module %q is not built using Module Stream Expansion. Please rebuild this module first", c.NSVC.String())}
		}
		v := strconv.FormatUint(c.Version, 10)
		br := rida.BuildRequire{Stream: c.Stream, Version: v, Context: c.Context, Ref: c.Ref, KojiTag: c.KojiTag}
		brs[c.Name] = br
		streams[c.Name] = c.Stream
		var tag any
		if c.KojiTag != "" {
			tag = c.KojiTag
		}
		xmdBRs[c.Name] = map[string]any{"ref": c.Ref, "stream": c.Stream, "version": v, "context": c.Context, "koji_tag": tag}
		role := "pulled in by the runtime requires of the buildrequires"
		if slices.Contains(comb, i) {
			role = "buildrequired"
		}
		why = append(why, fmt.Sprintf("%s: %s (%s, newest-first rank %d in %s:%s)", c.Name, c.NSVC, role, ageOf(cands, i), c.Name, c.Stream))
	}
	slices.Sort(why)
	mbs, _ := out.XMDMap()["mbs"].(map[string]any)
	if mbs == nil {
		mbs = map[string]any{}
	}
	mbs["buildrequires"] = xmdBRs
	mbs["mse"] = true
	out.SetXMD("mbs", mbs)

	res := &Result{Stream: out, Block: block, BuildRequires: brs}
	res.BuildContext = BuildContext(streams)
	res.BuildContextNoBMS = BuildContext(streams, e.baseNames...)
	res.RuntimeContext = RuntimeContext(nd.Requires)
	res.Context = Context(res.BuildContext, res.RuntimeContext)
	out.Context = res.Context
	if out.Version != 0 {
		baseStream := ""
		for _, n := range e.baseNames {
			if br, ok := brs[n]; ok {
				baseStream = br.Stream
				break
			}
		}
		res.Version, _ = PrefixedVersion(baseStream, out.Version, e.opts.StreamSuffixes)
		out.Version = res.Version
	}
	res.Why = fmt.Sprintf("dependency block %d, buildrequires %s; chosen (lowest age sum %d among the combinations of the same streams):\n  %s",
		block, depsString(nd.BuildRequires), ageSum, strings.Join(why, "\n  "))
	return res, nil
}

func ageOf(cands []Candidate, i int) int {
	age := 0
	for j, c := range cands {
		if c.Name == cands[i].Name && c.Stream == cands[i].Stream && (c.Version > cands[i].Version || c.Version == cands[i].Version && j < i) {
			age++
		}
	}
	return age
}

func depsString(m map[string][]string) string {
	parts := make([]string, 0, len(m))
	for _, n := range sortedKeys(m) {
		parts = append(parts, n+":"+strings.Join(m[n], ","))
	}
	return strings.Join(parts, " ")
}

func sameSet(a, b []string) bool {
	x := slices.Compact(slices.Sorted(slices.Values(a)))
	y := slices.Compact(slices.Sorted(slices.Values(b)))
	return slices.Equal(x, y)
}
