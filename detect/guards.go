package detect

import (
	"go/constant"
	"go/types"

	"golang.org/x/tools/go/ssa"
)

// A boolean parameter often decides whether a function calls on:
//
//	func (s *Server) lookupOrFetchAccount(name string, fetch bool) (*Account, error) {
//		...
//		if s.AccountResolver() == nil || !fetch {
//			return nil, ErrMissingAccount
//		}
//		return s.fetchAccount(name)
//	}
//
// A caller passing false never runs fetchAccount through it. Reach keeps,
// for such a function, the roots that call it passing true and those that
// call it passing false (a value not constant counts as both), and a call
// that only one value of the parameter runs propagates only the roots
// calling with that value.

// Flag values as bits of a mask: what a call passes, what a call needs.
const (
	passFalse = 1 << iota
	passTrue
	passBoth = passFalse | passTrue
)

// guardParam returns the index of the boolean parameter of fn that
// decides whether some of its calls run, and for each call instruction
// the value it needs (passFalse or passTrue); it returns -1 when there is
// none.
func guardParam(fn *ssa.Function) (int, map[ssa.CallInstruction]uint8) {
	for idx, p := range fn.Params {
		if !isBool(p.Type()) || !conditionOf(fn, p) {
			continue
		}
		onTrue := reachableWith(fn, p, true)
		onFalse := reachableWith(fn, p, false)
		var needs map[ssa.CallInstruction]uint8
		for _, b := range fn.Blocks {
			var need uint8
			switch {
			case onTrue[b.Index] && !onFalse[b.Index]:
				need = passTrue
			case onFalse[b.Index] && !onTrue[b.Index]:
				need = passFalse
			default:
				continue
			}
			for _, instr := range b.Instrs {
				if site, ok := instr.(ssa.CallInstruction); ok {
					if needs == nil {
						needs = map[ssa.CallInstruction]uint8{}
					}
					needs[site] = need
				}
			}
		}
		if needs != nil {
			return idx, needs
		}
	}
	return -1, nil
}

func isBool(t types.Type) bool {
	b, ok := t.Underlying().(*types.Basic)
	return ok && b.Kind() == types.Bool
}

// conditionOf reports whether p is the condition of a branch in fn.
func conditionOf(fn *ssa.Function, p *ssa.Parameter) bool {
	for _, b := range fn.Blocks {
		if cond, ok := b.Instrs[len(b.Instrs)-1].(*ssa.If); ok && cond.Cond == p {
			return true
		}
	}
	return false
}

// reachableWith returns the blocks of fn reachable when p has value v.
func reachableWith(fn *ssa.Function, p *ssa.Parameter, v bool) []bool {
	seen := make([]bool, len(fn.Blocks))
	if len(fn.Blocks) == 0 {
		return seen
	}
	stack := []*ssa.BasicBlock{fn.Blocks[0]}
	seen[0] = true
	for len(stack) > 0 {
		b := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		succs := b.Succs
		if cond, ok := b.Instrs[len(b.Instrs)-1].(*ssa.If); ok && cond.Cond == p {
			if v {
				succs = succs[:1]
			} else {
				succs = succs[1:]
			}
		}
		for _, s := range succs {
			if !seen[s.Index] {
				seen[s.Index] = true
				stack = append(stack, s)
			}
		}
	}
	return seen
}

// passedFlag returns what site passes for parameter idx of its callee
// fn: passFalse or passTrue for a constant, passBoth otherwise.
func passedFlag(site ssa.CallInstruction, fn *ssa.Function, idx int) uint8 {
	c := site.Common()
	if idx < 0 || c.IsInvoke() || c.StaticCallee() == nil || len(c.Args) != len(fn.Params) {
		return passBoth
	}
	k, ok := c.Args[idx].(*ssa.Const)
	if !ok || k.Value == nil || k.Value.Kind() != constant.Bool {
		return passBoth
	}
	if constant.BoolVal(k.Value) {
		return passTrue
	}
	return passFalse
}

// computeGuards finds the guard parameter of every function, filling
// guardIdx and guardNeeds, and makes room for the roots calling each
// guarded function with each value.
func (a *analysis) computeGuards() {
	a.guardIdx = make([]int, len(a.p.funcs))
	a.guardNeeds = map[ssa.CallInstruction]uint8{}
	a.flagRoots = make([][2]bitset, len(a.p.funcs))
	for i, fn := range a.p.funcs {
		idx, needs := guardParam(fn)
		a.guardIdx[i] = idx
		if idx < 0 {
			continue
		}
		for site, need := range needs {
			a.guardNeeds[site] = need
		}
		a.flagRoots[i] = [2]bitset{a.newRootSet(), a.newRootSet()}
	}
}

// addFlagRoots records that the roots in src call function c passing
// the flag values in mask, reporting whether that grew anything.
func (a *analysis) addFlagRoots(c int, mask uint8, src bitset) bool {
	if a.guardIdx[c] < 0 {
		return false
	}
	changed := false
	if mask&passFalse != 0 {
		changed = a.flagRoots[c][0].unionWith(src) || changed
	}
	if mask&passTrue != 0 {
		changed = a.flagRoots[c][1].unionWith(src) || changed
	}
	return changed
}

// edgeSource returns the roots a call edge of function f propagates: all
// roots running f, or, for a call needing one value of f's guard, those
// calling f with that value.
func (a *analysis) edgeSource(f int, e edge) bitset {
	switch e.need {
	case passFalse:
		return a.flagRoots[f][0]
	case passTrue:
		return a.flagRoots[f][1]
	}
	return a.fnRoots[f]
}

// Code in _test.go files is linked into test binaries only: main and the
// importers calling a library type's methods never run it, whatever an
// interface call may dispatch to in the analysed packages (a test's mock
// transport, say). testFuncs marks those functions, by number; noTests
// are the roots that cannot run them.
func (a *analysis) computeTestFuncs() {
	a.testFuncs = make([]bool, len(a.p.funcs))
	for i, fn := range a.p.funcs {
		pos := fn.Pos()
		for f := fn; !pos.IsValid() && f.Parent() != nil; f = f.Parent() {
			pos = f.Parent().Pos()
		}
		if pos.IsValid() {
			a.testFuncs[i] = isTestFile(a.p.fset.File(pos).Name())
		}
	}
	// A main package without tests runs only as its own program, which
	// links no test code: neither do the goroutines its code starts.
	tested := map[*ssa.Package]bool{}
	for i, fn := range a.p.funcs {
		if a.testFuncs[i] && fn.Pkg != nil {
			tested[fn.Pkg] = true
		}
	}
	a.noTests = a.newRootSet()
	for r, root := range a.roots {
		switch {
		case root.kind == rootMain || root.kind == rootLibrary:
			a.noTests.add(r)
		case root.spawn >= 0:
			pkg := a.spawns[root.spawn].fn.Pkg
			if pkg != nil && pkg.Pkg.Name() == "main" && !tested[pkg] {
				a.noTests.add(r)
			}
		}
	}
}

// withoutNoTests returns src, less the roots that cannot run function c
// when c is test code; scratch is where the difference is built.
func (a *analysis) withoutNoTests(c int, src, scratch bitset) bitset {
	if !a.testFuncs[c] || !src.intersects(a.noTests) {
		return src
	}
	copy(scratch, src)
	scratch.andNot(a.noTests)
	return scratch
}
