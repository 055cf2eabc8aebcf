package expand

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	gsat "github.com/crillab/gophersat/solver"

	"github.com/rida-build/rida"
)

// Problem is the solving problem of one dependency block, in the terms of
// MBS's libsolv pool (mbs.md §3.2 step C): candidate builds are solvables,
// a dependency is a Term listing the solvables that provide it.
type Problem struct {
	// Solvables are the candidate builds in pool order.
	Solvables []Solvable
	// Direct are the buildrequires of the module being built, one term per
	// buildrequired name in name order. Expansion tries every combination
	// of one provider per term.
	Direct []Term
}

// Solvable is one candidate build.
type Solvable struct {
	// Label is name:stream:version:context, for messages.
	Label string
	// Name is the module name: two solvables of one name conflict
	// (libsolv "Conflicts: module(name)").
	Name string
	// NS is name:stream; combinations are grouped by the NS of their direct
	// providers.
	NS string
	// Version orders providers: the newest is preferred.
	Version uint64
	// Age is the index among the solvables of the same NS sorted newest
	// first (libsolv's "age index" of MBS's MMDResolver); the solution of a
	// group is the one with the lowest sum of ages.
	Age int
	// Requires: one of the alternatives (runtime dependency blocks) must
	// hold; an alternative holds when each of its terms has a provider
	// installed. Empty means no requirement.
	Requires [][]Term
}

// Term is one dependency and the solvables providing it, in pool order.
type Term struct {
	// Dep is the dependency as libsolv would print it, e.g.
	// "module(platform:el8) >= 80100.0".
	Dep       string
	Providers []int
}

// Solution is one accepted combination: the direct providers and
// everything installed with them.
type Solution struct {
	// Combination holds one solvable per Problem.Direct term.
	Combination []int
	// Installed is every solvable of the transaction, ascending.
	Installed []int
	// AgeSum is the sum of the ages of Installed.
	AgeSum int
}

// Rejection is a combination that was tried and not kept, and why.
type Rejection struct {
	Combination []int
	Reason      string
}

// Solver solves the dependency problem of one block. It returns one
// Solution per distinct tuple of name:stream of the direct providers — the
// one installing the newest builds — and every other combination tried as a
// Rejection. When the module cannot be installed with any combination the
// error is MBS's "Problems were found during module dependency resolution"
// (CodeUnprocessable: MBS answers 500, but this is the submitter's dependency problem and its message must reach them). No combination at all (a term without
// providers) is not an error: both lists are empty.
type Solver interface {
	Solve(ctx context.Context, p *Problem) ([]Solution, []Rejection, error)
}

// SATSolver is the Solver over the gophersat CDCL SAT solver: one variable
// per solvable, at most one per module name, each requirement a clause
// "solvable → some provider" (an auxiliary variable per alternative when a
// build has several dependency blocks). Each combination is tried with its
// direct providers assumed; the transaction is built like libsolv's: every
// unmet dependency gets its newest provider that keeps the problem
// satisfiable, so nothing is installed that no dependency asks for. A plain
// greedy pass settles the easy cases without the solver (provably the same
// answer, see transaction); otherwise each choice is checked by unit
// propagation and then gophersat on what propagation leaves open. The
// module cannot be installed at all exactly when every combination fails,
// since any model installs one of them.
type SATSolver struct {
	// MaxCombinations bounds the combinations tried (0: 100000), so a
	// submission cannot make the server enumerate without end.
	MaxCombinations int
}

var _ Solver = SATSolver{}

// Solve implements Solver.
func (s SATSolver) Solve(ctx context.Context, p *Problem) (sols []Solution, rej []Rejection, err error) {
	defer func() {
		// gophersat panics on inputs it considers impossible; never let
		// that take the server down.
		if r := recover(); r != nil {
			sols, rej, err = nil, nil, fmt.Errorf("sat solver: %v", r)
		}
	}()
	maxComb := s.MaxCombinations
	if maxComb <= 0 {
		maxComb = 100000
	}
	if err := p.check(); err != nil {
		return nil, nil, err
	}
	n := 1
	for _, t := range p.Direct {
		if len(t.Providers) == 0 {
			return nil, nil, nil
		}
		n *= len(t.Providers)
		if n > maxComb {
			return nil, nil, rida.Errorf(rida.CodeUnprocessable, "The buildrequires give more than %d combinations to try.", maxComb)
		}
	}
	enc := newEncoding(p, true)

	type group struct {
		best Solution
		ok   bool
	}
	groups := map[string]*group{}
	var order []string
	comb := make([]int, len(p.Direct))
	idx := make([]int, len(p.Direct))
	for {
		if err := ctx.Err(); err != nil {
			return nil, nil, fmt.Errorf("solve: %w", err)
		}
		for i, t := range p.Direct {
			comb[i] = t.Providers[idx[i]]
		}
		c := slices.Clone(comb)
		keyParts := make([]string, len(c))
		for i, v := range c {
			keyParts[i] = p.Solvables[v].NS
		}
		key := strings.Join(keyParts, "\x00")
		g := groups[key]
		if g == nil {
			g = &group{}
			groups[key] = g
			order = append(order, key)
		}
		if installed, ok := enc.transaction(c); !ok {
			rej = append(rej, Rejection{Combination: c, Reason: p.explainRejected(c)})
		} else {
			sol := Solution{Combination: c, Installed: installed}
			for _, v := range installed {
				sol.AgeSum += p.Solvables[v].Age
			}
			switch {
			case !g.ok:
				g.best, g.ok = sol, true
			case sol.AgeSum < g.best.AgeSum:
				rej = append(rej, Rejection{Combination: g.best.Combination, Reason: p.supersededReason(g.best, sol)})
				g.best = sol
			default:
				rej = append(rej, Rejection{Combination: c, Reason: p.supersededReason(sol, g.best)})
			}
		}
		// Next combination, the last term varying fastest as in
		// itertools.product.
		i := len(idx) - 1
		for ; i >= 0; i-- {
			idx[i]++
			if idx[i] < len(p.Direct[i].Providers) {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			break
		}
	}
	for _, k := range order {
		if g := groups[k]; g.ok {
			sols = append(sols, g.best)
		}
	}
	if len(sols) == 0 && len(p.Direct) > 0 {
		// Every model of the problem installs one provider per direct
		// term, which is one of the combinations tried: none worked, so
		// the module cannot be installed at all, which libsolv reports as
		// a problem of its job.
		return nil, rej, &rida.Error{Code: rida.CodeUnprocessable, Message: "Problems were found during module dependency resolution: " + p.explainUnsat()}
	}
	return sols, rej, nil
}

// check rejects malformed problems instead of letting them index out of
// range.
func (p *Problem) check() error {
	ok := func(ts []Term) bool {
		for _, t := range ts {
			for _, v := range t.Providers {
				if v < 0 || v >= len(p.Solvables) {
					return false
				}
			}
		}
		return true
	}
	if !ok(p.Direct) {
		return fmt.Errorf("solve: provider out of range")
	}
	for _, s := range p.Solvables {
		for _, alt := range s.Requires {
			if !ok(alt) {
				return fmt.Errorf("solve: provider out of range in %s", s.Label)
			}
		}
	}
	return nil
}

func (p *Problem) labels(vs []int) string {
	l := make([]string, len(vs))
	for i, v := range vs {
		l[i] = p.Solvables[v].Label
	}
	return strings.Join(l, ", ")
}

func (p *Problem) supersededReason(loser, winner Solution) string {
	return fmt.Sprintf("the same streams are built with newer modules by %s (age sum %d < %d)", p.labels(winner.Combination), winner.AgeSum, loser.AgeSum)
}

// explainRejected says why a combination cannot be installed: the pairs
// of builds of one module it would need together, or what nothing provides.
func (p *Problem) explainRejected(c []int) string {
	return p.labels(c) + " cannot be installed together: " + p.explainUnsatWith(c)
}

// explainUnsat words why the module cannot be installed at all, like MBS's
// _detect_transitive_stream_collision: the pairs of builds of one module
// that every way of meeting the requirements needs together.
func (p *Problem) explainUnsat() string { return p.explainUnsatWith(nil) }

func (p *Problem) explainUnsatWith(assume []int) string {
	relaxed := newEncoding(p, false)
	installed, ok := relaxed.transaction(assume)
	if ok {
		byName := map[string][]int{}
		for _, v := range installed {
			byName[p.Solvables[v].Name] = append(byName[p.Solvables[v].Name], v)
		}
		var pairs []string
		for _, vs := range byName {
			for i, a := range vs {
				for _, b := range vs[i+1:] {
					pair := []string{p.Solvables[a].Label, p.Solvables[b].Label}
					slices.Sort(pair)
					pairs = append(pairs, pair[0]+" and "+pair[1])
				}
			}
		}
		if len(pairs) > 0 {
			slices.Sort(pairs)
			return "The module has conflicting buildrequires of: " + strings.Join(pairs, ", ")
		}
	}
	var missing []string
	for _, t := range p.Direct {
		if len(t.Providers) == 0 {
			missing = append(missing, "nothing provides "+t.Dep)
		}
	}
	for _, s := range p.Solvables {
		for _, alt := range s.Requires {
			for _, t := range alt {
				if len(t.Providers) == 0 {
					missing = append(missing, "nothing provides "+t.Dep+" needed by "+s.Label)
				}
			}
		}
	}
	if len(missing) == 0 {
		return "conflicting requests"
	}
	slices.Sort(missing)
	return strings.Join(slices.Compact(missing), ", ")
}

// encoding is a Problem as cardinality constraints. Variables 1..n are the
// solvables; a solvable with several requirement alternatives gets one
// extra variable per alternative.
type encoding struct {
	p         *Problem
	conflicts bool
	// clauses are disjunctions of literals (variable, or -variable);
	// amo are the groups of which at most one may be true.
	clauses [][]int
	amo     [][]int
	nbVars  int
	// alts[v] are the variables of the alternatives of solvable v (nil
	// with zero or one alternative).
	alts [][]int
	// witness is the last model found, to skip solver calls whose answer
	// it already proves.
	witness []bool
}

// newEncoding encodes p; conflicts false leaves out "at most one build per
// module", to find out which conflicts make a problem unsatisfiable.
func newEncoding(p *Problem, conflicts bool) *encoding {
	e := &encoding{p: p, conflicts: conflicts, nbVars: len(p.Solvables), alts: make([][]int, len(p.Solvables))}
	lit := func(v int) int { return v + 1 }
	term := func(guard int, t Term) []int {
		lits := make([]int, 0, len(t.Providers)+1)
		lits = append(lits, -guard)
		for _, q := range t.Providers {
			lits = append(lits, lit(q))
		}
		return lits
	}
	for v, s := range p.Solvables {
		alts := s.Requires
		if slices.ContainsFunc(alts, func(a []Term) bool { return len(a) == 0 }) {
			continue // an empty alternative always holds
		}
		switch len(alts) {
		case 0:
		case 1:
			for _, t := range alts[0] {
				e.clauses = append(e.clauses, term(lit(v), t))
			}
		default:
			choice := []int{-lit(v)}
			for _, alt := range alts {
				e.nbVars++
				y := e.nbVars
				e.alts[v] = append(e.alts[v], y)
				choice = append(choice, y)
				for _, t := range alt {
					e.clauses = append(e.clauses, term(y, t))
				}
			}
			e.clauses = append(e.clauses, choice)
		}
	}
	for _, t := range p.Direct {
		lits := make([]int, len(t.Providers))
		for i, q := range t.Providers {
			lits[i] = lit(q)
		}
		e.clauses = append(e.clauses, lits)
	}
	if conflicts {
		byName := map[string][]int{}
		var names []string
		for v, s := range p.Solvables {
			if byName[s.Name] == nil {
				names = append(names, s.Name)
			}
			byName[s.Name] = append(byName[s.Name], lit(v))
		}
		for _, n := range names {
			if len(byName[n]) > 1 {
				e.amo = append(e.amo, byName[n])
			}
		}
	}
	return e
}

// sat reports whether the problem is satisfiable with the given solvables
// installed, and keeps the model as the new witness.
func (e *encoding) sat(installed []int) bool {
	return e.satLits(installed, nil)
}

func (e *encoding) satLits(installed, extra []int) bool {
	assign := make([]int8, e.nbVars+1) // 1 true, -1 false, 0 open
	set := func(l int) bool {
		v, val := l, int8(1)
		if l < 0 {
			v, val = -l, -1
		}
		if v <= 0 || v > e.nbVars {
			return false
		}
		if assign[v] != 0 {
			return assign[v] == val
		}
		assign[v] = val
		return true
	}
	for _, v := range installed {
		if !set(v + 1) {
			return false
		}
	}
	for _, l := range extra {
		if !set(l) {
			return false
		}
	}
	if !e.propagate(assign, set) {
		return false
	}
	// What propagation left open goes to the SAT solver: the clauses not
	// yet satisfied, without their false literals, and the groups with
	// more than one open member.
	var constrs []gsat.CardConstr
	for _, c := range e.clauses {
		var open []int
		satisfied := false
		for _, l := range c {
			switch val := assign[abs(l)]; {
			case val == 0:
				open = append(open, l)
			case (val > 0) == (l > 0):
				satisfied = true
			}
			if satisfied {
				break
			}
		}
		if !satisfied {
			constrs = append(constrs, gsat.AtLeast1(open...))
		}
	}
	for _, g := range e.amo {
		var open []int
		for _, v := range g {
			if assign[v] == 0 {
				open = append(open, v)
			}
		}
		if len(open) > 1 {
			constrs = append(constrs, gsat.AtMost1(open...))
		}
	}
	witness := make([]bool, e.nbVars+1)
	for v := 1; v <= e.nbVars; v++ {
		witness[v] = assign[v] > 0
	}
	if len(constrs) > 0 {
		s := gsat.New(gsat.ParseCardConstrs(constrs))
		if s.Solve() != gsat.Sat {
			return false
		}
		m := s.Model()
		for v := 1; v <= e.nbVars; v++ {
			if assign[v] == 0 && v-1 < len(m) {
				witness[v] = m[v-1]
			}
		}
	}
	e.witness = witness
	return true
}

// propagate does unit propagation to a fixpoint: a clause with one open
// literal and the others false forces it, a group with a true member
// makes the others false. It reports false on a conflict.
func (e *encoding) propagate(assign []int8, set func(int) bool) bool {
	for changed := true; changed; {
		changed = false
		for _, c := range e.clauses {
			open, last := 0, 0
			satisfied := false
			for _, l := range c {
				val := assign[abs(l)]
				if val == 0 {
					open++
					last = l
				} else if (val > 0) == (l > 0) {
					satisfied = true
					break
				}
			}
			switch {
			case satisfied:
			case open == 0:
				return false
			case open == 1:
				set(last)
				changed = true
			}
		}
		for _, g := range e.amo {
			trueCount := 0
			for _, v := range g {
				if assign[v] > 0 {
					trueCount++
				}
			}
			if trueCount > 1 {
				return false
			}
			if trueCount == 1 {
				for _, v := range g {
					if assign[v] == 0 {
						assign[v] = -1
						changed = true
					}
				}
			}
		}
	}
	return true
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// holds reports whether the witness model has all lits true.
func (e *encoding) holds(lits []int) bool {
	if e.witness == nil {
		return false
	}
	for _, l := range lits {
		if l <= 0 || l >= len(e.witness) || !e.witness[l] {
			return false
		}
	}
	return true
}

// transaction returns what gets installed with the assumed solvables, or
// false when they cannot be installed together. Dependencies are met in
// breadth-first order, each by its newest provider that keeps the problem
// satisfiable, as libsolv's policy does.
//
// A plain greedy pass (newest provider not in conflict with what is chosen)
// is tried first: when it gets through, each choice it made was the first
// one that could be extended, so it is exactly the SAT-guided result, found
// without calling the solver. Only a dead end falls back to SAT-guided
// choices.
func (e *encoding) transaction(assume []int) ([]int, bool) {
	if out, ok := e.greedy(assume, false); ok {
		return out, true
	}
	e.witness = nil
	if !e.sat(assume) {
		return nil, false
	}
	return e.greedy(assume, true)
}

// greedy builds a transaction; with guided, a choice is taken only when
// the SAT solver shows it can be completed (the witness model skips most
// calls).
func (e *encoding) greedy(assume []int, guided bool) ([]int, bool) {
	chosen := map[int]bool{}
	byName := map[string]int{}
	var chosenLits []int // solvable and alternative variables decided true
	var queue []int
	take := func(v int) {
		chosen[v] = true
		byName[e.p.Solvables[v].Name] = v
		chosenLits = append(chosenLits, v+1)
		queue = append(queue, v)
	}
	for _, v := range assume {
		if !chosen[v] {
			take(v)
		}
	}
	try := func(l int) bool {
		if !guided {
			return true
		}
		want := append(slices.Clone(chosenLits), l)
		return e.holds(want) || e.satLits(nil, want)
	}
	meet := func(t Term) bool {
		for _, q := range t.Providers {
			if chosen[q] {
				return true
			}
		}
		for _, q := range e.newestFirst(t.Providers) {
			if _, taken := byName[e.p.Solvables[q].Name]; taken && e.conflicts {
				continue
			}
			if try(q + 1) {
				take(q)
				return true
			}
		}
		return false
	}
	for _, t := range e.p.Direct {
		if !meet(t) {
			return nil, false
		}
	}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		alts := e.p.Solvables[v].Requires
		if len(alts) == 0 || slices.ContainsFunc(alts, func(a []Term) bool { return len(a) == 0 }) {
			continue
		}
		alt := alts[0]
		if len(alts) > 1 {
			found := false
			for i, y := range e.alts[v] {
				if slices.Contains(chosenLits, y) || try(y) {
					if !slices.Contains(chosenLits, y) {
						chosenLits = append(chosenLits, y)
					}
					alt, found = alts[i], true
					break
				}
			}
			if !found {
				return nil, false
			}
		}
		for _, t := range alt {
			if !meet(t) {
				return nil, false
			}
		}
	}
	out := make([]int, 0, len(chosen))
	for v := range chosen {
		out = append(out, v)
	}
	slices.Sort(out)
	return out, true
}

// newestFirst orders providers as libsolv's policy does: highest version
// first, pool order among equals.
func (e *encoding) newestFirst(providers []int) []int {
	out := slices.Clone(providers)
	slices.SortStableFunc(out, func(a, b int) int {
		return cmp.Compare(e.p.Solvables[b].Version, e.p.Solvables[a].Version)
	})
	return out
}
