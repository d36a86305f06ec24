package detect

import (
	"go/token"

	"golang.org/x/tools/go/ssa"
)

// A map made by an activation is the activation's alone until one of its
// uses hands it on: stored anywhere but in a variable of the function,
// passed to a call, sent, returned, or captured by a closure that leaves
// the function's calls. An access before that (filling the index a
// function is about to return, directly or through a callback it hands
// to a walker) races with nothing, whatever goroutines earlier
// activations left running with the maps they made.

// unpublishedMap reports whether the map value m, accessed at instr, was
// made by instr's activation and not yet handed on: m is the map made in
// instr's function, or loaded there from the variable that holds it, or
// loaded by a closure from the variable it captures, when the closure
// runs only within its function's calls.
func (a *analysis) unpublishedMap(m ssa.Value, instr ssa.Instruction) bool {
	precedes := func(r ssa.Instruction) bool { return mayPrecede(r, instr) }
	switch m := m.(type) {
	case *ssa.MakeMap:
		return m.Parent() == instr.Parent() && !a.mapHandedOn(m, precedes)
	case *ssa.UnOp:
		if m.Op != token.MUL {
			return false
		}
		switch x := m.X.(type) {
		case *ssa.Alloc:
			stored, c := cellValue(m)
			made, ok := stored.(*ssa.MakeMap)
			return c != nil && ok && made.Parent() == instr.Parent() && !a.mapHandedOn(made, precedes)
		case *ssa.FreeVar:
			return a.capturedMapUnpublished(x)
		}
	}
	return false
}

// capturedMapUnpublished reports whether the map a closure loads from its
// free variable fv was made by the enclosing function and not yet handed
// on when the closure runs: the closure runs only within calls its
// function makes (closureCalls), and no use of the map that may come
// before one of them hands it on.
func (a *analysis) capturedMapUnpublished(fv *ssa.FreeVar) bool {
	mc, stored, calls := a.capturedWithinCalls(fv)
	made, ok := stored.(*ssa.MakeMap)
	if mc == nil || !ok || made.Parent() != mc.Parent() || len(calls) == 0 {
		return false
	}
	beforeCall := func(r ssa.Instruction) bool {
		for _, call := range calls {
			if mayPrecede(r, call) {
				return true
			}
		}
		return false
	}
	return !a.mapHandedOn(made, beforeCall)
}

// mapHandedOn reports whether a use of the map v for which counts
// reports true may hand it on; uses in the closures that capture it count
// when the closure is made where counts says, wherever they run.
func (a *analysis) mapHandedOn(v ssa.Value, counts func(ssa.Instruction) bool) bool {
	refs := v.Referrers()
	if refs == nil {
		return false
	}
	for _, r := range *refs {
		if mapOp(v, r) {
			continue
		}
		if st, ok := r.(*ssa.Store); ok {
			if c := storedInCell(st, v); c != nil {
				if a.mapCellHandedOn(c, counts) {
					return true
				}
				continue
			}
		}
		if counts == nil || counts(r) {
			return true
		}
	}
	return false
}

// mapCellHandedOn reports whether a use of the variable c (a cell of the
// function, or a closure's free variable) may hand on the map it holds.
func (a *analysis) mapCellHandedOn(c ssa.Value, counts func(ssa.Instruction) bool) bool {
	loaded := func(load *ssa.UnOp) bool { return a.mapHandedOn(load, counts) }
	captured := func(mc *ssa.MakeClosure, fv ssa.Value) bool {
		if counts != nil && !counts(mc) {
			return false
		}
		return a.closureLeaves(mc) || a.mapCellHandedOn(fv, nil)
	}
	return cellUses(c, loaded, captured)
}
