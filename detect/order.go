package detect

import (
	"go/token"
	"go/types"

	"golang.org/x/tools/go/ssa"
)

// Happens-before is modelled by the set of spawns that may still be
// running at each point of a function ("live" spawns): a spawn becomes live
// where it starts the goroutine, and stops being live at a join: Wait on a
// sync.WaitGroup or errgroup.Group, or a channel receive when the goroutine
// sends or closes a channel. A call leaves live the spawns its callee
// started and did not join (escaping spawns), and a function starts with
// the spawns live at any of its call sites (liveIn).

// joinOp says which spawns an instruction joins.
type joinOp int

const (
	joinNone    joinOp = iota
	joinWait           // WaitGroup.Wait or errgroup Wait: joins go statements and Go calls
	joinReceive        // a channel receive: joins goroutines that signal on a channel
)

func joinOf(instr ssa.Instruction) joinOp {
	switch x := instr.(type) {
	case *ssa.UnOp:
		if x.Op == token.ARROW {
			return joinReceive
		}
	case *ssa.Select:
		if x.Blocking {
			for _, st := range x.States {
				if st.Dir == types.RecvOnly {
					return joinReceive
				}
			}
		}
	case *ssa.Call:
		callee := x.Call.StaticCallee()
		if callee == nil {
			return joinNone
		}
		obj, _ := callee.Object().(*types.Func)
		if obj == nil || obj.Pkg() == nil || obj.Name() != "Wait" {
			return joinNone
		}
		switch path, recv := obj.Pkg().Path(), recvName(obj); {
		case path == "sync" && recv == "WaitGroup",
			path == "golang.org/x/sync/errgroup" && recv == "Group":
			return joinWait
		}
	}
	return joinNone
}

// transfer applies instr to the live spawns.
func (a *analysis) transfer(instr ssa.Instruction, s idset) idset {
	if sp, ok := a.spawnAt[instr]; ok {
		switch a.spawns[sp].kind {
		case spawnParallel, spawnSubtest:
			// Joined before the call returns, or run after the
			// spawning test body has finished.
		default:
			s = s.with(sp)
		}
	}
	switch joinOf(instr) {
	case joinWait:
		s = s.without(func(i int) bool {
			k := a.spawns[i].kind
			return k == spawnGo || k == spawnWaitGroup || k == spawnErrgroup
		})
	case joinReceive:
		s = s.without(func(i int) bool {
			sp := a.spawns[i]
			return sp.kind == spawnGo && a.signals[sp.root]
		})
	}
	if site, ok := instr.(*ssa.Call); ok {
		for _, callee := range a.p.calls[site] {
			s = s.union(a.esc[callee])
		}
	}
	return s
}

// blockLive runs the live-spawn data flow over fn from an empty set,
// returning the spawns live at the start of each block.
func (a *analysis) blockLive(fn *ssa.Function) []idset {
	n := len(fn.Blocks)
	in := make([]idset, n)
	out := make([]idset, n)
	done := make([]bool, n)
	for changed := true; changed; {
		changed = false
		for _, b := range fn.Blocks {
			var s idset
			for _, p := range b.Preds {
				s = s.union(out[p.Index])
			}
			in[b.Index] = s
			for _, instr := range b.Instrs {
				s = a.transfer(instr, s)
			}
			if !done[b.Index] || len(s) != len(out[b.Index]) {
				out[b.Index], done[b.Index], changed = s, true, true
			}
		}
	}
	return in
}

// computeOrder computes the escaping spawns of every function, then the
// spawns live on entry to every function.
func (a *analysis) computeOrder() {
	work := append([]*ssa.Function(nil), a.p.funcs...)
	queued := map[*ssa.Function]bool{}
	for _, fn := range work {
		queued[fn] = true
	}
	for len(work) > 0 {
		fn := work[0]
		work = work[1:]
		queued[fn] = false
		in := a.blockLive(fn)
		var esc idset
		for _, b := range fn.Blocks {
			if _, ok := b.Instrs[len(b.Instrs)-1].(*ssa.Return); !ok {
				continue
			}
			s := in[b.Index]
			for _, instr := range b.Instrs {
				s = a.transfer(instr, s)
			}
			esc = esc.union(s)
		}
		if len(esc) == len(a.esc[fn]) {
			continue
		}
		a.esc[fn] = esc
		for _, site := range a.p.callers[fn] {
			if c := site.Parent(); !queued[c] {
				queued[c] = true
				work = append(work, c)
			}
		}
	}

	// liveIn: propagate the state at each call site to the callee.
	work = append(work[:0], a.p.funcs...)
	for _, fn := range work {
		queued[fn] = true
	}
	for len(work) > 0 {
		fn := work[0]
		work = work[1:]
		queued[fn] = false
		in := a.blockLive(fn)
		for _, b := range fn.Blocks {
			s := in[b.Index]
			for _, instr := range b.Instrs {
				if site, ok := instr.(*ssa.Call); ok {
					for _, callee := range a.p.calls[site] {
						next := a.liveIn[callee].union(s).union(a.liveIn[fn])
						if len(next) != len(a.liveIn[callee]) {
							a.liveIn[callee] = next
							if !queued[callee] {
								queued[callee] = true
								work = append(work, callee)
							}
						}
					}
				}
				s = a.transfer(instr, s)
			}
		}
	}
}

// liveAt returns the spawns that may be running at instr.
func (a *analysis) liveAt(fn *ssa.Function, instr ssa.Instruction) idset {
	in, ok := a.liveBlocks[fn]
	if !ok {
		in = a.blockLive(fn)
		a.liveBlocks[fn] = in
	}
	b := instr.Block()
	s := in[b.Index]
	for _, x := range b.Instrs {
		if x == instr {
			break
		}
		s = a.transfer(x, s)
	}
	return s.union(a.liveIn[fn])
}

// escapes reports whether spawn s may still run when its function returns.
func (a *analysis) escapes(s int) bool {
	sp := a.spawns[s]
	return sp.kind == spawnDetached || sp.kind == spawnHandler || a.esc[sp.fn].has(s)
}

// computeSignals marks the roots that send on or close a channel, whose
// completion a receive can therefore wait for.
func (a *analysis) computeSignals() {
	sends := newBitset(len(a.p.funcs))
	for i, fn := range a.p.funcs {
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				switch x := instr.(type) {
				case *ssa.Send:
					sends.add(i)
				case ssa.CallInstruction:
					if bi, ok := x.Common().Value.(*ssa.Builtin); ok && bi.Name() == "close" {
						sends.add(i)
					}
				}
			}
		}
	}
	a.signals = make([]bool, len(a.roots))
	for i := range a.p.funcs {
		if sends.has(i) {
			a.fnRoots[i].each(func(r int) { a.signals[r] = true })
		}
	}
}
