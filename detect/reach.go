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

// edge is a call from one function to another, for reach propagation.
// pass is what the calls pass for the callee's guard parameter, need the
// value of the caller's guard parameter the calls need (see guards.go).
type edge struct {
	callee     int
	inLoop     bool
	pass, need uint8
}

// callEdges returns, for each function, the functions it calls other than
// through go statements, with whether the call is in a loop: all of them,
// and those that propagate roots unconditionally, without the calls
// resolved per calling context, which are returned as ctx.
func (a *analysis) callEdges() (all, plain [][]edge, ctx []ctxEdge) {
	all = make([][]edge, len(a.p.funcs))
	plain = make([][]edge, len(a.p.funcs))
	seen := map[edge]bool{}
	seenPlain := map[edge]bool{}
	seenCtx := map[ctxEdge]bool{}
	for i, fn := range a.p.funcs {
		clear(seen)
		clear(seenPlain)
		for _, b := range fn.Blocks {
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
				loop := a.inLoop(instr)
				for _, c := range callees {
					if ci, ok := a.index[c]; ok {
						e := edge{callee: ci, inLoop: loop}
						if !seen[e] {
							seen[e] = true
							all[i] = append(all[i], e)
						}
					}
				}
				values, ok := a.resolveCall(site)
				if !ok {
					values, ok = a.resolveInvoke(site)
				}
				if !ok {
					// Resolved in part: the other callees stay plain.
					values = a.resolveVisible(site)
				}
				for _, v := range values {
					oi, known := a.index[v.origin]
					if !known {
						if v.fn == nil {
							ok = false // the callees stay plain
						}
						continue
					}
					targets := []*ssa.Function{v.fn}
					if v.fn == nil {
						targets = callees // not traced: any of them
					}
					for _, fn := range targets {
						if !calls(callees, fn) {
							// The call graph is the bound: a
							// value traced here that it does
							// not give is left out rather than
							// added.
							continue
						}
						ci, ok := a.index[fn]
						if !ok {
							continue
						}
						e := ctxEdge{caller: i, callee: ci, origin: oi, inLoop: loop, viaSpawn: v.viaSpawn}
						if !seenCtx[e] {
							seenCtx[e] = true
							ctx = append(ctx, e)
						}
					}
				}
				if ok {
					continue
				}
				for _, c := range callees {
					if resolvedTo(values, c) {
						continue // run only for the callers passing it
					}
					if ci, ok := a.index[c]; ok {
						e := edge{callee: ci, inLoop: loop, need: a.guardNeeds[site], pass: passedFlag(site, c, a.guardIdx[ci])}
						if !seenPlain[e] {
							seenPlain[e] = true
							plain[i] = append(plain[i], e)
						}
					}
				}
			}
		}
	}
	return all, plain, ctx
}

// propagate adds roots to the functions they run: every function called
// by a function a root runs. fnRoots[f] is the set of roots running f;
// fnRep[f] those that may run f more than once (a call in a loop, or a
// root running more than once).
func (a *analysis) propagate(edges [][]edge, seeds []int) {
	work := append([]int(nil), seeds...)
	scratch := a.newRootSet()
	noTestScratch := a.newRootSet()
	queued := make([]bool, len(a.p.funcs))
	for _, f := range work {
		queued[f] = true
	}
	for len(work) > 0 {
		f := work[len(work)-1]
		work = work[:len(work)-1]
		queued[f] = false
		for _, e := range edges[f] {
			src := a.withoutNoTests(e.callee, a.edgeSource(f, e), noTestScratch)
			changed := a.fnRoots[e.callee].unionWith(src)
			changed = a.addFlagRoots(e.callee, e.pass, src) || changed
			if e.inLoop {
				changed = a.fnRep[e.callee].unionWith(src) || changed
			} else if e.need == 0 {
				changed = a.fnRep[e.callee].unionWith(a.fnRep[f]) || changed
			} else {
				copy(scratch, a.fnRep[f])
				scratch.intersectWith(src)
				changed = a.fnRep[e.callee].unionWith(scratch) || changed
			}
			if changed && !queued[e.callee] {
				queued[e.callee] = true
				work = append(work, e.callee)
			}
		}
	}
}

// newRootSet returns an empty set of roots, with room for every root,
// the root of unknown callers included: every set of roots has that one
// size, whenever it is made.
func (a *analysis) newRootSet() bitset { return newBitset(a.rootBits) }

// computeReach computes what each root runs, adds the root of unknown
// callers for the functions no root runs, and then works out each spawned
// root's parents and processes.
func (a *analysis) computeReach() {
	n := len(a.p.funcs)
	a.rootBits = len(a.roots) + 1 // room for the unknown root
	a.fnRoots = make([]bitset, n)
	a.fnRep = make([]bitset, n)
	for i := range n {
		a.fnRoots[i], a.fnRep[i] = a.newRootSet(), a.newRootSet()
	}
	var seeds []int
	a.computeGuards()
	a.computeTestFuncs()
	seed := func(r int, root *root) {
		for _, e := range root.entries {
			if i, ok := a.index[e]; ok {
				a.fnRoots[i].add(r)
				if a.guardIdx[i] >= 0 {
					a.flagRoots[i][0].add(r)
					a.flagRoots[i][1].add(r)
				}
				if root.multi {
					a.fnRep[i].add(r)
				}
				seeds = append(seeds, i)
			}
		}
	}
	for r, root := range a.roots {
		seed(r, root)
	}
	all, edges, ctx := a.callEdges()
	a.edges = all
	a.propagate(edges, seeds)
	a.propagateContexts(edges, ctx)

	// Code nothing here calls is called by importers, in programs of
	// their own: the unknown root has a process of its own.
	unknown := &root{kind: rootUnknown, desc: "callers outside the analysed code", spawn: -1, procs: []int{a.nprocs}}
	for i, fn := range a.p.funcs {
		if a.fnRoots[i].empty() && fn.Parent() == nil && fn.Synthetic == "" {
			unknown.entries = append(unknown.entries, fn)
		}
	}
	if len(unknown.entries) > 0 {
		a.roots = append(a.roots, unknown)
		seeds = seeds[:0]
		seed(len(a.roots)-1, unknown)
		a.propagate(edges, seeds)
		a.propagateContexts(edges, ctx)
	}
	for r, root := range a.roots {
		if root.spawn < 0 {
			continue
		}
		fi := a.index[a.spawns[root.spawn].fn]
		a.fnRoots[fi].each(func(p int) {
			if p != r {
				root.parents = append(root.parents, p)
			}
		})
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

// runs reports whether root r runs function fn.
func (a *analysis) runs(r int, fn *ssa.Function) bool {
	i, ok := a.index[fn]
	return ok && a.fnRoots[i].has(r)
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
			multi := sp.many || sp.kind == spawnHandler || sp.kind == spawnParallel || a.inLoop(sp.site)
			fi := a.index[sp.fn]
			for _, p := range root.parents {
				parent := a.roots[p]
				if !withAssumed && (parent.kind == rootLibrary || parent.kind == rootUnknown) {
					continue
				}
				if parent.multi || (a.escapes(root.spawn) && (a.fnRep[fi].has(p) || a.calledTwice(sp.fn))) {
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

// resolvedTo reports whether fn is one of the traced values vals.
func resolvedTo(vals []funcOrigin, fn *ssa.Function) bool {
	for _, v := range vals {
		if v.fn == fn {
			return true
		}
	}
	return false
}
