package engine

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/rida-build/rida"
	"github.com/rida-build/rida/modulemd"
)

// MacrosPackage is the synthetic component every module build starts with:
// it installs the module's macros (dist tag, module name) in the buildroot
// of every later batch (mbs.md §3.8).
const MacrosPackage = "module-build-macros"

// MacrosBatch is the batch of MacrosPackage; real components start one
// later, at FirstComponentBatch.
const (
	MacrosBatch         = 1
	FirstComponentBatch = 2
)

// DefaultComponentWeight is the weight of a component with no build history:
// MBS's fallback in get_build_weights (§3.10) and what its non-Koji builders
// use for every component. The history-based formula needs Koji's build
// durations, which planning has no access to.
const DefaultComponentWeight = 1.5

// PlanOptions is what PlanComponents needs besides the modulemd: everything
// that came from I/O (resolved commits, repository URLs, the macros source)
// is passed in, so planning stays a pure function that tests can drive.
type PlanOptions struct {
	// Commits maps a component key (components.rpms.<key>) to the commit its
	// ref resolved to: xmd.mbs.rpms.<key>.ref, recorded at submission (see
	// CommitsFromXMD). Every component needs one.
	Commits map[string]string
	// RepoURL returns a component's repository from its package name and the
	// modulemd's repository override (empty when none); nil means the
	// override, or "rpms/<name>" relative to nothing, which only tests want.
	// Submission uses rida.ComponentRepoURL with its RPMsBase.
	RepoURL func(name, repository string) string
	// MacrosSCMURL and MacrosRef are the source of module-build-macros,
	// which the caller generates (MBS: a local SRPM path, no ref).
	MacrosSCMURL, MacrosRef string
	// Weight returns a component's weight (§3.10); nil gives every
	// component DefaultComponentWeight.
	Weight func(pkg string) float64
}

// PlanComponents records a module's components into batches as MBS's
// record_component_builds does (mbs.md §2.3): batch 1 is module-build-macros,
// then the RPM components in buildorder (default 0), a new batch each time
// the value changes, so equal buildorders share a batch whatever their
// numeric gap. Unlike MBS, which refuses buildafter, buildafter is a DAG:
// a component goes one batch after the latest of those it builds after, and
// components without buildafter go in the first real batch. A module may not
// mix buildorder and buildafter (libmodulemd's rule too).
//
// The result is sorted by batch, then package name, then key, so the same
// modulemd always gives the same rows in the same order. A module with no
// RPM components gets no rows at all, not even macros: MBS moves such a
// build to done without building anything (§3.7 step 6).
//
// Errors are *rida.Error with CodeUnprocessable: the modulemd is well formed
// but cannot be scheduled (a buildafter cycle or unknown name, mixing,
// a component named module-build-macros, a missing resolved commit).
func PlanComponents(s *modulemd.Stream, opts PlanOptions) ([]*rida.ComponentBuild, error) {
	if s == nil || len(s.RPMComponents) == 0 {
		return nil, nil
	}
	keys := slices.Sorted(maps.Keys(s.RPMComponents))
	for _, k := range keys {
		if k == MacrosPackage || s.RPMComponents[k].PackageName() == MacrosPackage {
			return nil, rida.Errorf(rida.CodeUnprocessable,
				"The component %q is named %s, which is reserved for the component rida generates", k, MacrosPackage)
		}
	}
	batches, err := assignBatches(s.RPMComponents, keys)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, k := range keys {
		if opts.Commits[k] == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		// Submission resolves every ref before a build exists; a gap here
		// means the stored modulemd lost xmd.mbs.rpms, not a user mistake
		// the user could fix by retrying, but it is still the modulemd's
		// content that is wrong.
		return nil, rida.Errorf(rida.CodeUnprocessable,
			"No resolved commit for the components %s (xmd.mbs.rpms.<name>.ref)", quoteComponentNames(missing))
	}
	repoURL := opts.RepoURL
	if repoURL == nil {
		repoURL = func(name, repository string) string {
			if repository != "" {
				return repository
			}
			return "rpms/" + name
		}
	}
	weight := opts.Weight
	if weight == nil {
		weight = func(string) float64 { return DefaultComponentWeight }
	}

	out := make([]*rida.ComponentBuild, 0, len(keys)+1)
	out = append(out, &rida.ComponentBuild{
		Package:       MacrosPackage,
		Format:        rida.FormatRPMs,
		SCMURL:        opts.MacrosSCMURL,
		Ref:           opts.MacrosRef,
		Batch:         MacrosBatch,
		BuildTimeOnly: true,
		State:         rida.ComponentWaiting,
		// MBS never computes a weight for macros: the column default, 0.
	})
	type row struct {
		key string
		cb  *rida.ComponentBuild
	}
	rows := make([]row, 0, len(keys))
	for _, k := range keys {
		c := s.RPMComponents[k]
		name := c.PackageName()
		commit := opts.Commits[k]
		rows = append(rows, row{k, &rida.ComponentBuild{
			Package:    name,
			Format:     rida.FormatRPMs,
			SCMURL:     repoURL(name, c.Repository) + "?#" + commit,
			Ref:        commit,
			BuildOrder: c.Buildorder,
			Batch:      batches[k],
			BuildOnly:  c.Buildonly,
			Weight:     weight(name),
			State:      rida.ComponentWaiting,
		}})
	}
	slices.SortFunc(rows, func(a, b row) int {
		return cmp.Or(cmp.Compare(a.cb.Batch, b.cb.Batch),
			strings.Compare(a.cb.Package, b.cb.Package), strings.Compare(a.key, b.key))
	})
	for _, r := range rows {
		out = append(out, r.cb)
	}
	return out, nil
}

// assignBatches maps each component key to its batch, from buildorder or
// from buildafter. keys are the sorted keys of rpms.
func assignBatches(rpms map[string]*modulemd.RPMComponent, keys []string) (map[string]int, error) {
	var orderKey, afterKey string
	for _, k := range keys {
		c := rpms[k]
		if c.Buildorder != 0 && orderKey == "" {
			orderKey = k
		}
		if len(c.Buildafter) > 0 && afterKey == "" {
			afterKey = k
		}
	}
	if orderKey != "" && afterKey != "" {
		// Worded like libmodulemd ("Cannot mix buildorder and buildafter in
		// the same stream"), naming a component of each kind so the packager
		// knows where to look.
		if orderKey == afterKey {
			return nil, rida.Errorf(rida.CodeUnprocessable,
				"Cannot mix buildorder and buildafter in the same component: %q has both", orderKey)
		}
		return nil, rida.Errorf(rida.CodeUnprocessable,
			"Cannot mix buildorder and buildafter in the same module: %q has a buildorder and %q a buildafter", orderKey, afterKey)
	}
	if afterKey != "" {
		return batchesFromBuildafter(rpms, keys)
	}
	return batchesFromBuildorder(rpms, keys), nil
}

// batchesFromBuildorder is MBS's rule: sort by buildorder and start a new
// batch whenever the value changes. Only the order matters, so negative and
// huge values need no special care.
func batchesFromBuildorder(rpms map[string]*modulemd.RPMComponent, keys []string) map[string]int {
	sorted := slices.Clone(keys)
	slices.SortStableFunc(sorted, func(a, b string) int {
		return cmp.Compare(rpms[a].Buildorder, rpms[b].Buildorder)
	})
	batches := make(map[string]int, len(keys))
	batch := FirstComponentBatch
	for i, k := range sorted {
		if i > 0 && rpms[k].Buildorder != rpms[sorted[i-1]].Buildorder {
			batch++
		}
		batches[k] = batch
	}
	return batches
}

// batchesFromBuildafter places each component one batch after the latest of
// the components it builds after (its longest path from a root), which keeps
// batches dense: every batch past the first holds a component whose
// predecessor is in the batch just before. Unknown names are all reported
// together; a cycle is reported as the path that closes it.
func batchesFromBuildafter(rpms map[string]*modulemd.RPMComponent, keys []string) (map[string]int, error) {
	var unknown []string
	for _, k := range keys {
		for _, a := range rpms[k].Buildafter {
			if _, ok := rpms[a]; !ok {
				unknown = append(unknown, fmt.Sprintf("%q (buildafter of %q)", a, k))
			}
		}
	}
	if len(unknown) > 0 {
		return nil, rida.Errorf(rida.CodeUnprocessable,
			"Buildafter names components not in the components list: %s", strings.Join(unknown, ", "))
	}

	// Depth-first search with an explicit stack: a module may have
	// thousands of components in one chain, deeper than recursion should go.
	const (
		unvisited = iota
		onPath
		done
	)
	state := make(map[string]int, len(keys))
	batches := make(map[string]int, len(keys))
	for _, root := range keys {
		if state[root] != unvisited {
			continue
		}
		stack := []buildafterFrame{{key: root, deps: sortedDeps(rpms[root])}}
		state[root] = onPath
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.next < len(top.deps) {
				dep := top.deps[top.next]
				top.next++
				switch state[dep] {
				case onPath:
					return nil, cycleError(stack, dep)
				case unvisited:
					state[dep] = onPath
					stack = append(stack, buildafterFrame{key: dep, deps: sortedDeps(rpms[dep])})
				}
				continue
			}
			b := FirstComponentBatch
			for _, dep := range top.deps {
				b = max(b, batches[dep]+1)
			}
			batches[top.key] = b
			state[top.key] = done
			stack = stack[:len(stack)-1]
		}
	}
	return batches, nil
}

// sortedDeps returns a component's buildafter names, sorted so the cycle a
// search finds first, and so the error message, never depends on input order.
func sortedDeps(c *modulemd.RPMComponent) []string {
	deps := slices.Clone(c.Buildafter)
	slices.Sort(deps)
	return slices.Compact(deps)
}

// buildafterFrame is one component on the depth-first search path.
type buildafterFrame struct {
	key  string
	next int      // index of the next dependency to visit
	deps []string // sorted buildafter names of key
}

// cycleError names the components of the cycle closed by an edge to dep,
// which is on the search path: the path from dep to the top, then dep again.
func cycleError(stack []buildafterFrame, dep string) error {
	start := 0
	for i, f := range stack {
		if f.key == dep {
			start = i
			break
		}
	}
	names := make([]string, 0, len(stack)-start+1)
	for _, f := range stack[start:] {
		names = append(names, strconv.Quote(f.key))
	}
	names = append(names, strconv.Quote(dep))
	return rida.Errorf(rida.CodeUnprocessable,
		"Buildafter forms a cycle, so these components can never be built: %s", strings.Join(names, " -> "))
}

// quoteComponentNames quotes each name and joins them with commas.
func quoteComponentNames(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

// CommitsFromXMD returns the resolved commit of each component, by key, from
// xmd.mbs.rpms.<key>.ref, where submission records them: the Commits that
// PlanComponents needs. Entries without a string ref are left out (MBS
// stores a null ref for custom SRPMs), so PlanComponents reports them.
func CommitsFromXMD(s *modulemd.Stream) map[string]string {
	commits := map[string]string{}
	if s == nil {
		return commits
	}
	mbs, _ := s.XMDMap()["mbs"].(map[string]any)
	rpms, _ := mbs["rpms"].(map[string]any)
	for key, v := range rpms {
		entry, _ := v.(map[string]any)
		if ref, ok := entry["ref"].(string); ok && ref != "" {
			commits[key] = ref
		}
	}
	return commits
}
