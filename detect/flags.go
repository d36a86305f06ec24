package detect

import (
	"go/constant"

	"golang.org/x/tools/go/ssa"
)

// A function may take its lock only when a boolean parameter says so:
//
//	func (s *Sublist) match(subject string, doLock bool) {
//		if doLock {
//			s.RLock()
//		}
//		r := s.cache[subject]
//		if doLock {
//			s.RUnlock()
//		}
//
// Merging the two branches loses the lock, although every call passing
// true takes it and every call passing false is made with it held. When
// each call passes a constant for such a parameter, the locks at an
// access are computed once per value passed, each on the blocks that
// value runs and from the locks held by the calls passing it, and the
// results are met.

// lockFlag is a boolean parameter guarding lock operations, with the
// constants the calls of its function pass for it.
type lockFlag struct {
	param  *ssa.Parameter
	idx    int
	values []bool
}

// flagFor returns the lock flag of fn, or nil when it has none or a call
// passes something other than a constant for it.
func (a *analysis) flagFor(fn *ssa.Function) *lockFlag {
	if f, ok := a.flagMemo[fn]; ok {
		return f
	}
	f := a.findFlag(fn)
	a.flagMemo[fn] = f
	return f
}

func (a *analysis) findFlag(fn *ssa.Function) *lockFlag {
	if !hasLockOp(fn) || a.isRootEntry(fn) {
		return nil
	}
	sites := a.p.callers[fn]
	if len(sites) == 0 {
		return nil
	}
	for _, b := range fn.Blocks {
		cond, ok := b.Instrs[len(b.Instrs)-1].(*ssa.If)
		if !ok {
			continue
		}
		p, ok := cond.Cond.(*ssa.Parameter)
		if !ok || p.Parent() != fn {
			continue
		}
		if f := a.flagValues(fn, p, paramIndex(p), sites); f != nil {
			return f
		}
	}
	return nil
}

// flagValues returns the flag p of fn when every call passes a constant
// for it.
func (a *analysis) flagValues(fn *ssa.Function, p *ssa.Parameter, idx int, sites []ssa.CallInstruction) *lockFlag {
	if idx < 0 {
		return nil
	}
	f := &lockFlag{param: p, idx: idx}
	seen := map[bool]bool{}
	for _, site := range sites {
		c := site.Common()
		if _, isGo := site.(*ssa.Go); isGo || c.IsInvoke() || len(c.Args) != len(fn.Params) {
			return nil
		}
		k, ok := c.Args[idx].(*ssa.Const)
		if !ok || k.Value == nil || k.Value.Kind() != constant.Bool {
			return nil
		}
		v := constant.BoolVal(k.Value)
		if !seen[v] {
			seen[v] = true
			f.values = append(f.values, v)
		}
	}
	return f
}

func hasLockOp(fn *ssa.Function) bool {
	for _, b := range fn.Blocks {
		for _, instr := range b.Instrs {
			if call, ok := instr.(ssa.CallInstruction); ok {
				if op, _ := lockOp(call.Common()); op != opNone && op != opOnce {
					return true
				}
				if op, _ := tryLockOp(call.Common()); op != opNone {
					return true
				}
			}
		}
	}
	return false
}

// flagStates are the locks held on entry to each block of a function
// with a lock flag, for each value passed for the flag, and the blocks
// that value runs.
type flagStates []struct {
	in      []lockset
	reached []bool
}

// flagBlocks computes the flagStates of fn, from the locks held by the
// calls passing each value (entryOf).
func (a *analysis) flagBlocks(fn *ssa.Function, f *lockFlag, entryOf func(v bool) lockset) flagStates {
	states := make(flagStates, len(f.values))
	for i, v := range f.values {
		skip := func(from, to *ssa.BasicBlock) bool {
			cond, ok := from.Instrs[len(from.Instrs)-1].(*ssa.If)
			if !ok || cond.Cond != f.param || from.Succs[0] == from.Succs[1] {
				return false
			}
			if v {
				return to == from.Succs[1]
			}
			return to == from.Succs[0]
		}
		states[i].in, states[i].reached = a.blockLocksWith(fn, entryOf(v), nil, skip)
	}
	return states
}

// flagLocksAt returns the locks held at instr in a function with a lock
// flag: the meet, over the values passed for the flag, of the locks held
// there when that value runs it.
func (a *analysis) flagLocksAt(states flagStates, instr ssa.Instruction) lockset {
	var out lockset
	first := true
	for _, st := range states {
		if !st.reached[instr.Block().Index] {
			continue // not run for this value
		}
		at := a.locksBefore(st.in, instr)
		if first {
			out, first = at, false
		} else {
			out = out.meet(at)
		}
	}
	return out
}

// flagEntry returns the locks every call of fn passing v for its flag
// holds, with those assumed on entry to fn.
func (a *analysis) flagEntry(fn *ssa.Function, f *lockFlag, v bool) lockset {
	var entry lockset
	first := true
	for _, site := range a.p.callers[fn] {
		k := site.Common().Args[f.idx].(*ssa.Const)
		if constant.BoolVal(k.Value) != v {
			continue
		}
		at := a.locksAt(site.Parent(), site)
		if first {
			entry, first = at, false
		} else {
			entry = entry.meet(at)
		}
	}
	for _, h := range a.assumedHeld[fn] {
		entry = entry.with(h)
	}
	for _, h := range a.callbackIn[fn] {
		entry = entry.with(h)
	}
	return entry
}

// unionLocks returns s with the locks of t added.
func unionLocks(s, t lockset) lockset {
	for _, h := range t {
		s = s.with(h)
	}
	return s
}
