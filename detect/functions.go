package detect

import (
	"go/types"

	"golang.org/x/tools/go/ssa"
)

// unitFunctions returns the functions that detection needs, with bodies or
// without: every function of the unit packages (members, methods of their
// types, closures, instantiations, the wrappers and thunks their code
// refers to, and the method sets of unit types their code converts to
// interfaces), and the functions and methods of the plain variants of unit
// packages that other units import from export data, which calls are
// linked through to the units' bodies.
//
// It replaces ssautil.AllFunctions, which also creates a wrapper for every
// promoted or pointer method of every type reachable from any value
// converted to an interface, dependencies included: on a large module two
// thirds of all functions, and about as much time as building the SSA,
// for code that detection treats as opaque.
func unitFunctions(prog *ssa.Program, units []*ssa.Package) map[*ssa.Function]bool {
	unitPaths := map[string]bool{}
	for _, sp := range units {
		unitPaths[sp.Pkg.Path()] = true
	}
	seen := map[*ssa.Function]bool{}
	var visit func(fn *ssa.Function)
	var methodsOf func(t types.Type)
	visit = func(fn *ssa.Function) {
		if fn == nil || seen[fn] {
			return // nil: an abstract or generic method value
		}
		seen[fn] = true
		var buf [10]*ssa.Value
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				if mi, ok := instr.(*ssa.MakeInterface); ok && unitType(mi.X.Type(), unitPaths) {
					methodsOf(mi.X.Type())
				}
				for _, op := range instr.Operands(buf[:0]) {
					if callee, ok := (*op).(*ssa.Function); ok {
						visit(callee)
					}
				}
			}
		}
	}
	methodSets := map[types.Type]bool{}
	methodsOf = func(t types.Type) {
		if types.IsInterface(t) || methodSets[t] {
			return
		}
		methodSets[t] = true
		for sel := range prog.MethodSets.MethodSet(t).Methods() {
			if sel.Obj().(*types.Func).Signature().TypeParams() == nil {
				visit(prog.MethodValue(sel))
			}
		}
	}
	members := func(sp *ssa.Package) {
		for _, m := range sp.Members {
			switch m := m.(type) {
			case *ssa.Function:
				visit(m)
			case *ssa.Type:
				// Declared methods only: the wrappers of promoted
				// methods are reached from the code that converts the
				// type to an interface or takes the method value.
				named, ok := m.Type().(*types.Named)
				if !ok || named.TypeParams() != nil {
					continue // aliases, and generic types whose methods instances reach
				}
				for method := range named.Methods() {
					visit(prog.FuncValue(method))
				}
			}
		}
	}
	for _, sp := range units {
		members(sp)
	}
	inUnits := map[*ssa.Package]bool{}
	for _, sp := range units {
		inUnits[sp] = true
	}
	for _, sp := range prog.AllPackages() {
		if !inUnits[sp] && unitPaths[sp.Pkg.Path()] {
			members(sp)
		}
	}
	return seen
}

// unitType reports whether t's methods belong to the units: t, or what it
// points to, is a named type declared in a unit package, or a type without
// a name (a struct literal type promoting methods of its fields).
func unitType(t types.Type, unitPaths map[string]bool) bool {
	t = types.Unalias(t)
	if ptr, ok := t.(*types.Pointer); ok {
		t = types.Unalias(ptr.Elem())
	}
	switch t := t.(type) {
	case *types.Named:
		return t.Obj().Pkg() != nil && unitPaths[t.Obj().Pkg().Path()]
	case *types.Struct:
		return true
	}
	return false
}
