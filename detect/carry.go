package detect

import "golang.org/x/tools/go/ssa"

// A local map object is one variable per activation of the function that
// declares it. Code that reaches an access to it through the call graph
// (a callback resolved imprecisely, a helper the map is passed to) runs in
// the activation's own goroutine unless the map was handed to a goroutine
// when it was started: as an argument of the go statement or callback, or
// captured by the function literal started. Only the roots of such spawns
// can share the activation's map with another goroutine.

// A closure that captures the map and is kept where other goroutines can
// call it (a package variable, or returned by its maker) carries the map
// too: to every root that runs it without running the function that
// declares the map, as a hook that main sets and its workers call.

// computeCarried records, for each spawn, the local map objects its
// goroutine receives when it starts, and for each local map object, the
// roots that run a closure capturing it that escapes the calls of its
// maker.
func (a *analysis) computeCarried() {
	a.carriers = map[string][]int{}
	for s, sp := range a.spawns {
		seen := map[string]bool{}
		for _, id := range a.carriedBy(sp.site) {
			if !seen[id] {
				seen[id] = true
				a.carriers[id] = append(a.carriers[id], s)
			}
		}
	}
	a.escapedTo = map[string]bitset{}
	for _, fn := range a.p.funcs {
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				if mc, ok := instr.(*ssa.MakeClosure); ok && a.escapesToShared(mc, 0) {
					a.noteEscaped(mc, sentOnceOnly(mc))
				}
			}
		}
	}
}

// escapesToShared reports whether the function value v (a closure) is
// kept where goroutines that never ran its maker may call it: stored in a
// package variable, sent on a channel or returned, directly, converted,
// or by a function of the analysed code it is passed to (a registration
// function: func OnError(f func(error)) { onError = f }). A closure kept
// in a field is not followed: the call graph cannot tell the goroutines
// that reach that field's struct from those that reach another
// instance's.
func (a *analysis) escapesToShared(v ssa.Value, depth int) bool {
	refs := v.Referrers()
	if refs == nil || depth > 3 {
		return false
	}
	for _, r := range *refs {
		switch r := r.(type) {
		case *ssa.Store:
			if _, global := r.Addr.(*ssa.Global); global && r.Val == v {
				return true
			}
		case *ssa.Return:
			return true
		case *ssa.Send, *ssa.Select:
			// Received by whoever receives from the channel.
			if sentValue(r, v) != nil {
				return true
			}
		case *ssa.ChangeType, *ssa.MakeInterface, *ssa.Phi:
			if a.escapesToShared(r.(ssa.Value), depth+1) {
				return true
			}
		case *ssa.Call:
			callee := r.Call.StaticCallee()
			if callee != nil {
				callee = a.p.link(callee)
			}
			if callee == nil || len(callee.Params) != len(r.Call.Args) {
				continue
			}
			for i, arg := range r.Call.Args {
				if arg == v && a.escapesToShared(callee.Params[i], depth+1) {
					return true
				}
			}
		}
	}
	return false
}

// noteEscaped records the local map objects the escaping closure mc
// captures as carried to the roots that run it, leaving out those that
// run the declaring function (their own activation's map). A closure
// only sent, once per closure made (send is not nil), runs in the one
// goroutine that receives it: a variable made for the closure, and used
// by its maker only before the send, is carried to no one.
func (a *analysis) noteEscaped(mc *ssa.MakeClosure, send ssa.Instruction) {
	fi, ok := a.index[mc.Fn.(*ssa.Function)]
	if !ok || a.fnRoots[fi].empty() {
		return
	}
	var ids []string
	for _, b := range mc.Bindings {
		if send != nil && handedWithClosure(b, mc, send) {
			continue
		}
		ids = append(ids, a.locations(b)...)
		ids = append(ids, a.valueCarries(b, 1)...)
	}
	for _, id := range ids {
		obj := a.objectInfo(id)
		if !obj.local {
			continue
		}
		set := a.escapedTo[id]
		if set == nil {
			set = newBitset(len(a.roots))
			a.escapedTo[id] = set
		}
		a.fnRoots[fi].each(func(r int) {
			if !a.owns(r, obj) {
				set.add(r)
			}
		})
	}
}

// sentOnceOnly returns the send of the closure mc when sending it is all
// its maker does with it, and no path sends one closure twice; nil
// otherwise.
func sentOnceOnly(mc *ssa.MakeClosure) ssa.Instruction {
	var send ssa.Instruction
	for _, r := range *mc.Referrers() {
		switch {
		case isDebugRef(r):
		case sentValue(r, mc) != nil && send == nil:
			send = r
		default:
			return nil
		}
	}
	if send == nil || usedAfter(send, send, mc) {
		return nil
	}
	return send
}

func isDebugRef(instr ssa.Instruction) bool {
	_, ok := instr.(*ssa.DebugRef)
	return ok
}

// handedWithClosure reports whether the binding b of the closure mc is a
// variable made anew for each closure, captured by no other closure, and
// used by its maker (directly, or through the map it holds) only before
// send hands the closure over.
func handedWithClosure(b ssa.Value, mc *ssa.MakeClosure, send ssa.Instruction) bool {
	cell, ok := b.(*ssa.Alloc)
	if !ok || !madeForEachRun(cell, mc) {
		return false
	}
	uses, ok := derivedUses(cell)
	if !ok {
		return false
	}
	for _, u := range uses {
		if c, ok := u.(*ssa.MakeClosure); ok {
			if c != mc {
				return false
			}
			continue
		}
		if usedAfter(send, u, cell) {
			return false
		}
	}
	return true
}

// carriedBy returns the map objects that the operands of a spawning
// instruction may hold or capture.
func (a *analysis) carriedBy(site ssa.Instruction) []string {
	var ids []string
	for _, op := range site.Operands(nil) {
		if op == nil || *op == nil {
			continue
		}
		ids = append(ids, a.valueCarries(*op, 0)...)
	}
	return ids
}

// valueCarries returns the map objects v may be, or may capture when v is
// a closure (bindings of closures nested in it included).
func (a *analysis) valueCarries(v ssa.Value, depth int) []string {
	mc, ok := v.(*ssa.MakeClosure)
	if !ok {
		return append(a.sources(v), a.locations(v)...)
	}
	var ids []string
	for _, b := range mc.Bindings {
		ids = append(ids, a.locations(b)...)
		if depth < 4 {
			ids = append(ids, a.valueCarries(b, depth+1)...)
		}
	}
	return ids
}

// carryingRoots returns the roots that received the local object id when
// their goroutine started, or run a closure capturing it that escaped, or
// descend from one that did.
func (a *analysis) carryingRoots(id string) bitset {
	if a.children == nil {
		a.children = make([][]int, len(a.roots))
		for r, root := range a.roots {
			for _, p := range root.parents {
				a.children[p] = append(a.children[p], r)
			}
		}
	}
	set := newBitset(len(a.roots))
	var queue []int
	for _, s := range a.carriers[id] {
		if r := a.spawns[s].root; !set.has(r) {
			set.add(r)
			queue = append(queue, r)
		}
	}
	a.escapedTo[id].each(func(r int) {
		if !set.has(r) {
			set.add(r)
			queue = append(queue, r)
		}
	})
	for len(queue) > 0 {
		r := queue[0]
		queue = queue[1:]
		for _, c := range a.children[r] {
			if !set.has(c) {
				set.add(c)
				queue = append(queue, c)
			}
		}
	}
	return set
}
