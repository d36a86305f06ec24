package detect

import (
	"golang.org/x/tools/go/ssa"
)

// inLoop reports whether instr lies on a cycle of its function's control
// flow graph.
func (a *analysis) inLoop(instr ssa.Instruction) bool {
	fn := instr.Parent()
	loops, ok := a.loops[fn]
	if !ok {
		loops = loopBlocks(fn)
		a.loops[fn] = loops
	}
	return loops[instr.Block()]
}

// reachFrom fills r.reach with the functions r runs: its entries and
// everything they call, not counting goroutines they start; and r.rep
// with those it may run more than once (called in a loop).
func (a *analysis) reachFrom(r *root) {
	n := len(a.p.funcs)
	r.reach, r.rep = newBitset(n), newBitset(n)
	type item struct {
		fn  *ssa.Function
		rep bool
	}
	var queue []item
	visit := func(fn *ssa.Function, rep bool) {
		i, ok := a.index[fn]
		if !ok {
			return
		}
		if r.reach.has(i) && (!rep || r.rep.has(i)) {
			return
		}
		r.reach.add(i)
		if rep {
			r.rep.add(i)
		}
		queue = append(queue, item{fn, rep})
	}
	for _, e := range r.entries {
		visit(e, r.multi)
	}
	for len(queue) > 0 {
		it := queue[0]
		queue = queue[1:]
		for _, b := range it.fn.Blocks {
			for _, instr := range b.Instrs {
				site, ok := instr.(ssa.CallInstruction)
				if !ok {
					continue
				}
				if _, isGo := site.(*ssa.Go); isGo {
					continue
				}
				callees := a.p.calls[site]
				if len(callees) == 0 {
					continue
				}
				rep := it.rep || a.inLoop(instr)
				for _, c := range callees {
					visit(c, rep)
				}
			}
		}
	}
}

// computeReach computes what each root runs, adds the root of unknown
// callers for the functions no root runs, and then works out each spawned
// root's parents and whether it can run more than once at a time.
func (a *analysis) computeReach() {
	for _, r := range a.roots {
		a.reachFrom(r)
	}
	reached := newBitset(len(a.p.funcs))
	for _, r := range a.roots {
		for i := range reached {
			reached[i] |= r.reach[i]
		}
	}
	// Code nothing here calls is called by importers, in programs of
	// their own: the unknown root has a process of its own.
	unknown := &root{kind: rootUnknown, desc: "callers outside the analysed code", spawn: -1, procs: []int{a.nprocs}}
	for i, fn := range a.p.funcs {
		if !reached.has(i) && fn.Parent() == nil && fn.Synthetic == "" {
			unknown.entries = append(unknown.entries, fn)
		}
	}
	if len(unknown.entries) > 0 {
		a.reachFrom(unknown)
		a.roots = append(a.roots, unknown)
	}
	for r, root := range a.roots {
		if root.spawn < 0 {
			continue
		}
		fi := a.index[a.spawns[root.spawn].fn]
		for p, parent := range a.roots {
			if p != r && parent.reach.has(fi) {
				root.parents = append(root.parents, p)
			}
		}
	}
	// A spawned root runs in the processes of its parents.
	for changed := true; changed; {
		changed = false
		for _, root := range a.roots {
			if root.spawn < 0 || root.anyProc {
				continue
			}
			procs := idset(nil)
			for _, p := range root.parents {
				parent := a.roots[p]
				if parent.anyProc {
					root.anyProc, changed = true, true
					break
				}
				for _, id := range parent.procs {
					procs = procs.with(id)
				}
			}
			if !root.anyProc && len(procs) > len(root.procs) {
				root.procs = root.procs[:0]
				for _, id := range procs {
					root.procs = append(root.procs, int(id))
				}
				changed = true
			}
		}
	}
}

// shareProcess reports whether roots x and y can run in one process.
func (a *analysis) shareProcess(x, y int) bool {
	rx, ry := a.roots[x], a.roots[y]
	if rx.anyProc || ry.anyProc {
		return true
	}
	for _, p := range rx.procs {
		for _, q := range ry.procs {
			if p == q {
				return true
			}
		}
	}
	return false
}

// computeMulti decides which spawned roots can run more than once at a
// time: started in a loop, by a root that runs more than once, or by a
// function called repeatedly that does not wait for them. A root that runs
// more than once only because an assumed root (a library type's methods)
// does is marked multiAssumed.
func (a *analysis) computeMulti() {
	a.propagateMulti(false)
	for _, root := range a.roots {
		if root.spawn >= 0 && root.multi {
			root.multiProven = true
		}
	}
	a.propagateMulti(true)
	for _, root := range a.roots {
		root.multiAssumed = root.spawn >= 0 && root.multi && !root.multiProven
	}
}

func (a *analysis) propagateMulti(withAssumed bool) {
	for changed := true; changed; {
		changed = false
		for _, root := range a.roots {
			if root.multi || root.spawn < 0 {
				continue
			}
			sp := a.spawns[root.spawn]
			multi := sp.kind == spawnHandler || sp.kind == spawnParallel || a.inLoop(sp.site)
			fi := a.index[sp.fn]
			for _, p := range root.parents {
				parent := a.roots[p]
				if !withAssumed && (parent.kind == rootLibrary || parent.kind == rootUnknown) {
					continue
				}
				if parent.multi || (a.escapes(root.spawn) && (parent.rep.has(fi) || a.calledTwice(sp.fn))) {
					multi = true
				}
			}
			if multi {
				root.multi, changed = true, true
			}
		}
	}
}

// childToward returns the child of root anc through which root r descends
// from anc, or -1 when r does not descend from anc.
func (a *analysis) childToward(anc, r int) int {
	key := [2]int{anc, r}
	if c, ok := a.childMemo[key]; ok {
		return c
	}
	// Breadth-first up the parents of r, remembering the first step.
	via := map[int]int{r: r}
	queue := []int{r}
	found := -1
	for len(queue) > 0 && found < 0 {
		x := queue[0]
		queue = queue[1:]
		for _, p := range a.roots[x].parents {
			if _, seen := via[p]; seen {
				continue
			}
			via[p] = x
			if p == anc {
				found = x
				break
			}
			queue = append(queue, p)
		}
	}
	a.childMemo[key] = found
	return found
}

// calledTwice reports whether fn has more than one call site.
func (a *analysis) calledTwice(fn *ssa.Function) bool {
	n := 0
	for _, site := range a.p.callers[fn] {
		if _, isGo := site.(*ssa.Go); !isGo {
			n++
		}
	}
	return n > 1
}
