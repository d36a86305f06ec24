package detect

import (
	"go/token"
	"go/types"
	"slices"

	"golang.org/x/tools/go/ssa"
)

// A parameter or local variable captured by a closure lives in a cell: an
// Alloc of its function, stored into once and read back by loads there
// and, through a free variable, in the closures that capture it
// (func (p *parser) processItem(...) { setValue := func(v any) {
// p.setValue(v) }; ... }). Storing a struct pointer in such a cell does
// not publish it: it stays in the activation as long as no value loaded
// from the cell is published, the closures are only called or deferred by
// the function (never started, stored or passed on), and their bodies
// publish nothing loaded from the free variable either.

// cellValue returns the one value stored in the cell that load reads, and
// the cell, when load reads a cell of its own function that only that
// store writes (the closures never assign to it); nil otherwise.
func cellValue(load *ssa.UnOp) (ssa.Value, *ssa.Alloc) {
	if load.Op != token.MUL {
		return nil, nil
	}
	c, ok := load.X.(*ssa.Alloc)
	if !ok || c.Parent() != load.Parent() {
		return nil, nil
	}
	stored := cellStored(c)
	if stored == nil {
		return nil, nil
	}
	return stored, c
}

// cellStored returns the one value stored in the cell c, when a single
// store of its function writes it and no closure assigns to it; nil
// otherwise.
func cellStored(c *ssa.Alloc) ssa.Value {
	if stored := cellStores(c); len(stored) == 1 {
		return stored[0]
	}
	return nil
}

// cellStores returns the values that the stores of c's function write in
// the cell c (n = setupNode(cfg) on one branch, n = &nn on the other),
// when no closure assigns to it; nil otherwise.
func cellStores(c *ssa.Alloc) []ssa.Value {
	var stored []ssa.Value
	for _, r := range *c.Referrers() {
		switch r := r.(type) {
		case *ssa.Store:
			if r.Addr != c {
				return nil
			}
			stored = append(stored, r.Val)
		case *ssa.MakeClosure:
			if assignedInClosure(r, c) {
				return nil
			}
		}
	}
	return stored
}

// capturedFrom returns the closure that binds the free variable fv and
// the cell of the enclosing function it binds, when exactly one closure
// of that function makes fv's function.
func capturedFrom(fv *ssa.FreeVar) (*ssa.MakeClosure, *ssa.Alloc) {
	mc, bound := capturedBinding(fv)
	c, ok := bound.(*ssa.Alloc)
	if mc == nil || !ok {
		return nil, nil
	}
	return mc, c
}

// sharedCaptured says where the struct pointer a closure loads from its
// free variable fv may be shared, wherever the closure runs. It is private
// when the closure is only called (not deferred, started or passed on) by
// the function that makes it, its body shares nothing loaded from fv, and
// at each call the value the enclosing function stored in the captured
// variable is private; otherwise the closure is where sharing may start.
func (a *analysis) sharedCaptured(fv *ssa.FreeVar, field, depth int) sharing {
	here := sharedIn(fv.Parent())
	mc, stored, _ := a.capturedWithinCalls(fv)
	if mc == nil || a.cellShares(fv, nil, field) {
		return here
	}
	return a.sharedAtCalls(mc, stored, field, depth, here)
}

// capturedWithinCalls returns the closure mc that captures the free
// variable fv, the one value its enclosing function keeps in the captured
// variable, and the calls of that function within which the closure runs
// (closureCalls); mc is nil when the closure may run outside those calls
// (closureLeaves) or the variable holds no single value.
func (a *analysis) capturedWithinCalls(fv *ssa.FreeVar) (mc *ssa.MakeClosure, stored ssa.Value, calls []*ssa.Call) {
	mc, c := capturedFrom(fv)
	if mc == nil || a.closureLeaves(mc) {
		return nil, nil, nil
	}
	stored = cellStored(c)
	if stored == nil {
		return nil, nil, nil
	}
	return mc, stored, closureCalls(mc)
}

// sharedAtCalls joins where v may be shared before each call that runs
// the closure mc; a closure never called in its function leaves here,
// where sharing may start, and so does a call that hands the closure to a
// function together with v, which that function may publish first.
func (a *analysis) sharedAtCalls(mc *ssa.MakeClosure, v ssa.Value, field, depth int, here sharing) sharing {
	calls := closureCalls(mc)
	if len(calls) == 0 {
		return here
	}
	var s sharing
	for _, call := range calls {
		if call.Call.Value != mc && slices.Contains(call.Call.Args, v) {
			return here
		}
		s = s.join(a.sharedBefore(v, call, field, depth+1))
	}
	return s
}

// assignedInClosure reports whether the closure mc, or a closure nested
// in it, stores into the variable captured from cell c.
func assignedInClosure(mc *ssa.MakeClosure, c ssa.Value) bool {
	fv := capturedAs(mc, c)
	if fv == nil {
		return true
	}
	for _, r := range *fv.Referrers() {
		switch r := r.(type) {
		case *ssa.Store:
			if r.Addr == fv {
				return true
			}
		case *ssa.MakeClosure:
			if assignedInClosure(r, fv) {
				return true
			}
		}
	}
	return false
}

// capturedAs returns the free variable of the closure mc that binds the
// cell c, or nil.
func capturedAs(mc *ssa.MakeClosure, c ssa.Value) *ssa.FreeVar {
	fn, ok := mc.Fn.(*ssa.Function)
	if !ok {
		return nil
	}
	i := slices.Index(mc.Bindings, c)
	if i < 0 || i >= len(fn.FreeVars) {
		return nil
	}
	return fn.FreeVars[i]
}

// cellEscapes reports whether a pointer stored in the cell c (an Alloc or
// a closure's free variable) may become visible outside the call chain of
// its activation: a load of it escapes, a closure capturing it escapes,
// or the cell itself is handed to anyone.
func (a *analysis) cellEscapes(c ssa.Value) bool {
	return memoized(a.cellMemo, c, func(c ssa.Value) bool {
		captured := func(mc *ssa.MakeClosure, fv ssa.Value) bool { return a.closureLeaves(mc) || a.cellEscapes(fv) }
		return cellUses(c, func(load *ssa.UnOp) bool { return a.ptrEscapes(load) }, captured)
	})
}

// memoized returns compute(k), computed once per k and kept in memo.
// While it is being computed, k counts as false, so that a recursion
// through k is decided by the rest of the walk.
func memoized[K comparable](memo map[K]bool, k K, compute func(K) bool) bool {
	if r, ok := memo[k]; ok {
		return r
	}
	memo[k] = false
	r := compute(k)
	memo[k] = r
	return r
}

// cellUses reports whether a use of the cell c (a local variable, or the
// free variable of a closure capturing one) may hand what it holds on:
// the cell itself stored or used otherwise than loaded or captured, a
// load for which loaded reports true, or a closure mc capturing it as fv
// for which captured reports true.
func cellUses(c ssa.Value, loaded func(*ssa.UnOp) bool, captured func(mc *ssa.MakeClosure, fv ssa.Value) bool) bool {
	refs := c.Referrers()
	if refs == nil {
		return false
	}
	for _, r := range *refs {
		switch r := r.(type) {
		case *ssa.Store:
			if r.Val == c {
				return true
			}
		case *ssa.UnOp:
			if r.Op != token.MUL || loaded(r) {
				return true
			}
		case *ssa.MakeClosure:
			fv := capturedAs(r, c)
			if fv == nil || captured(r, fv) {
				return true
			}
		case *ssa.DebugRef:
		default:
			return true
		}
	}
	return false
}

// closureEscapes reports whether the closure mc is used otherwise than
// called or deferred by its function: started as a goroutine, stored,
// passed on or returned, it may run anywhere. The body of a
// range-over-func loop handed to its iterator is called: the language
// forbids the iterator to call it once the range statement has moved on,
// so it runs within that call, on the caller's goroutine. A closure kept
// in a local function variable that is only ever called (var visit
// func(string); visit = func(s string) { ...; visit(t) }) is called too.
func closureEscapes(mc *ssa.MakeClosure) bool {
	return closureEscapesSeen(mc, map[ssa.Value]bool{})
}

// closureLeaves reports whether the closure mc may run outside the calls
// its function makes: it escapes (closureEscapes), and is not merely
// handed to analysed functions that only call it or pass it on the same
// way (ReadTable(b, func(name string) { r.names[name]++ })), which run it
// within the call, on the caller's goroutine.
func (a *analysis) closureLeaves(mc *ssa.MakeClosure) bool {
	fn, ok := mc.Fn.(*ssa.Function)
	return closureEscapes(mc) && (!ok || !a.closureStaysInCalls(fn))
}

// closureEscapesSeen is closureEscapes, with the closures and function
// variables already under examination in seen: a recursive closure
// reaches itself through the variable it is kept in.
func closureEscapesSeen(mc *ssa.MakeClosure, seen map[ssa.Value]bool) bool {
	if seen[mc] {
		return false // the rest decides
	}
	seen[mc] = true
	refs := mc.Referrers()
	if refs == nil {
		return false
	}
	for _, r := range *refs {
		switch r := r.(type) {
		case *ssa.Call, *ssa.Defer:
			common := r.(ssa.CallInstruction).Common()
			if _, isCall := r.(*ssa.Call); isCall && yieldHandedTo(mc, common) {
				continue
			}
			if common.Value != mc || slices.Contains(common.Args, ssa.Value(mc)) {
				return true
			}
		case *ssa.Store:
			c, ok := r.Addr.(*ssa.Alloc)
			if r.Val != mc || !ok || c.Parent() != mc.Parent() || !funcVarOnlyCalled(c, seen) {
				return true
			}
		case *ssa.DebugRef:
		default:
			return true
		}
	}
	return false
}

// funcVarOnlyCalled reports whether the function variable v (a local
// variable, or the free variable of a closure capturing it) is only
// assigned and called or deferred: what it holds runs on the goroutine
// of the function that calls it. Closures capturing it must neither
// escape nor use it otherwise.
func funcVarOnlyCalled(v ssa.Value, seen map[ssa.Value]bool) bool {
	if seen[v] {
		return true // the rest decides
	}
	seen[v] = true
	for _, r := range *v.Referrers() {
		switch r := r.(type) {
		case *ssa.Store:
			if r.Addr != v {
				return false
			}
		case *ssa.UnOp:
			if r.Op != token.MUL || !onlyCalled(r) {
				return false
			}
		case *ssa.MakeClosure:
			fv := capturedAs(r, v)
			if fv == nil || closureEscapesSeen(r, seen) || !funcVarOnlyCalled(fv, seen) {
				return false
			}
		case *ssa.DebugRef:
		default:
			return false
		}
	}
	return true
}

// onlyCalled reports whether the function value f is only called or
// deferred, never started, stored or passed on.
func onlyCalled(f ssa.Value) bool {
	refs := f.Referrers()
	if refs == nil {
		return true
	}
	for _, r := range *refs {
		switch r := r.(type) {
		case *ssa.Call, *ssa.Defer:
			common := r.(ssa.CallInstruction).Common()
			if common.Value != f || slices.Contains(common.Args, f) {
				return false
			}
		case *ssa.DebugRef:
		default:
			return false
		}
	}
	return true
}

// storedInCell returns the cell that store writes v into, when it is a
// local variable of the function (Alloc) captured by closures or merely
// spilled; nil otherwise.
func storedInCell(store *ssa.Store, v ssa.Value) *ssa.Alloc {
	if store.Val != v {
		return nil
	}
	c, ok := store.Addr.(*ssa.Alloc)
	if !ok || c.Parent() != store.Parent() {
		return nil
	}
	return c
}

// cellShares reports whether a struct pointer held in the variable v may be
// handed to another goroutine, with its map in field number field. v is a
// cell (a local variable of the function) or the free variable of a
// closure capturing one. It may when a load of v has a use that shares
// the struct and, unless at is nil, may run before at; or when a closure
// capturing v, made before at unless at is nil, escapes or shares the
// struct at all, whenever it runs.
func (a *analysis) cellShares(v ssa.Value, at ssa.Instruction, field int) bool {
	loaded := func(load *ssa.UnOp) bool {
		refs := load.Referrers()
		if refs == nil {
			return false
		}
		for _, u := range *refs {
			if a.sharesInstance(load, u, field) && (at == nil || mayPrecede(u, at)) {
				return true
			}
		}
		return false
	}
	captured := func(mc *ssa.MakeClosure, fv ssa.Value) bool {
		if at != nil && !mayPrecede(mc, at) {
			return false // captured only after at
		}
		return a.closureLeaves(mc) || a.cellShares(fv, nil, field)
	}
	return cellUses(v, loaded, captured)
}

// fieldMayHoldMap reports whether the field that fa addresses may hold or
// lead to a map. A pointer to a field that cannot (a bool, a mutex, a
// slice of strings) gives whoever receives it no way to the struct's
// maps: Go cannot step back from a field to its struct without unsafe.
func fieldMayHoldMap(fa *ssa.FieldAddr) bool {
	return mayHoldMap(fa.Type().(*types.Pointer).Elem(), nil)
}

// yieldHandedTo reports whether the call hands the body mc of a
// range-over-func loop to its iterator: the call of the range statement,
// which runs the body.
func yieldHandedTo(mc *ssa.MakeClosure, common *ssa.CallCommon) bool {
	fn, ok := mc.Fn.(*ssa.Function)
	if !ok || !isYield(fn) || common.Value == ssa.Value(mc) || common.IsInvoke() {
		return false
	}
	return slices.Contains(common.Args, ssa.Value(mc))
}

// capturedBinding returns the closure that binds the free variable fv and
// the value of the enclosing function it binds (a variable of that
// function, or a free variable it captures in turn), when exactly one
// closure of that function makes fv's function.
func capturedBinding(fv *ssa.FreeVar) (*ssa.MakeClosure, ssa.Value) {
	fn := fv.Parent()
	outer := fn.Parent()
	i := slices.Index(fn.FreeVars, fv)
	if outer == nil || i < 0 {
		return nil, nil
	}
	var found *ssa.MakeClosure
	for _, b := range outer.Blocks {
		for _, instr := range b.Instrs {
			if mc, ok := instr.(*ssa.MakeClosure); ok && mc.Fn == fn {
				if found != nil {
					return nil, nil
				}
				found = mc
			}
		}
	}
	if found == nil || i >= len(found.Bindings) {
		return nil, nil
	}
	return found, found.Bindings[i]
}

// sharedCapturedStruct says where the struct variable that a closure
// captures as its free variable fv (l := link{...}; func() { l.params[k]
// = v }, or the body of a range-over-func loop filling l) may be shared,
// wherever the closure runs. The closure reaches the enclosing function's
// variable itself, so the struct is private when the closure is only
// called there (directly or, as the body of a range-over-func loop, by
// its iterator), its body shares nothing of the struct, and the variable
// is private at each call; otherwise the closure is where sharing may
// start.
func (a *analysis) sharedCapturedStruct(fv *ssa.FreeVar, field, depth int) sharing {
	here := sharedIn(fv.Parent())
	mc, bound := capturedBinding(fv)
	if mc == nil || a.closureLeaves(mc) || a.structFreeVarShares(fv, field) {
		return here
	}
	return a.sharedAtCalls(mc, bound, field, depth, here)
}

// structFreeVarShares reports whether a closure's body (or a closure
// nested in it) may hand the struct variable it captures as fv, with its
// map in field number field, to another goroutine, whenever it runs.
func (a *analysis) structFreeVarShares(fv ssa.Value, field int) bool {
	for _, r := range *fv.Referrers() {
		switch r := r.(type) {
		case *ssa.MakeClosure:
			nested := capturedAs(r, fv)
			if nested == nil || a.closureLeaves(r) || a.structFreeVarShares(nested, field) {
				return true
			}
		case *ssa.DebugRef:
		default:
			if a.sharesInstance(fv, r, field) {
				return true
			}
		}
	}
	return false
}

// closureCalls returns the calls by which the function that makes the
// closure mc runs it, when mc does not leave its calls (closureLeaves):
// calls of mc, calls that hand it to a function that calls it (the call
// of the iterator a range-over-func body is handed to, say), and calls through a
// local function variable holding mc (the recursive calls mc makes of
// itself through that variable run within those). None when mc is also
// deferred, or run through the variable by another closure: a deferred
// call runs after whatever follows it.
func closureCalls(mc *ssa.MakeClosure) []*ssa.Call {
	var calls []*ssa.Call
	for _, r := range *mc.Referrers() {
		switch r := r.(type) {
		case *ssa.Call:
			calls = append(calls, r)
		case *ssa.Store:
			c, ok := r.Addr.(*ssa.Alloc)
			if !ok {
				return nil
			}
			through, ok := callsThroughVar(c, mc)
			if !ok {
				return nil
			}
			calls = append(calls, through...)
		case *ssa.DebugRef:
		default:
			return nil
		}
	}
	return calls
}

// callsThroughVar returns the calls that the function of the local
// function variable c makes through it; ok is false when c is deferred,
// or called by a closure other than mc.
func callsThroughVar(c *ssa.Alloc, mc *ssa.MakeClosure) (calls []*ssa.Call, ok bool) {
	for _, r := range *c.Referrers() {
		switch r := r.(type) {
		case *ssa.UnOp:
			for _, u := range *r.Referrers() {
				switch u := u.(type) {
				case *ssa.Call:
					calls = append(calls, u)
				case *ssa.DebugRef:
				default:
					return nil, false
				}
			}
		case *ssa.MakeClosure:
			if r != mc {
				return nil, false
			}
		case *ssa.Store, *ssa.DebugRef:
		default:
			return nil, false
		}
	}
	return calls, true
}
