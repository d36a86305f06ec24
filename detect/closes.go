package detect

import (
	"go/constant"
	"go/token"
	"go/types"

	"golang.org/x/tools/go/ssa"
)

// A goroutine that runs once, uses a map and then closes a channel orders
// that use before whatever follows a receive from the channel: load() {
// l.data[k] = v; close(l.ready) } and Get() { <-l.ready; return
// l.data[k] }, or main filling a map and then closing the channel its
// goroutines wait on. The channel is named by field or variable, as
// locks are, and counts only when it is made with make, never sent on,
// and used for nothing but receives and closes: its closes are then all
// the ways a receive from it can return. An atomic.Bool flag that is only
// loaded and set to true works the same way: a Load reading true follows
// a Store(true).

// chanUse is what the program does with the channels (or flags) of one
// name.
type chanUse struct {
	closes []ssa.CallInstruction // close(ch), called or deferred; flag.Store(true)
	other  bool                  // sent on, handed on, or stored from elsewhere
}

// computeChanUses records, by channel name, the closes of every channel
// held in a field, a package variable or a local variable, and whether
// it is used otherwise.
func (a *analysis) computeChanUses() {
	a.chans = map[string]*chanUse{}
	use := func(key string) *chanUse { return entry(a.chans, key) }
	var ops [10]*ssa.Value // Operands appends here: no allocation per instruction
	for _, fn := range a.p.funcs {
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				switch x := instr.(type) {
				case *ssa.FieldAddr, *ssa.Alloc:
					v := x.(ssa.Value)
					if isChanPointer(v.Type()) {
						a.chanCell(v, use(a.lockKey(v)))
					}
					if isAtomicBoolPointer(v.Type()) {
						for _, r := range *v.Referrers() {
							a.flagUse(r, v, use(flagKey(a.lockKey(v))))
						}
					}
				case *ssa.Field:
					if chanElem(x.Type()) != nil {
						a.chanValue(x, use(a.lockKey(x)))
					}
				case *ssa.MakeChan:
					a.chanValue(x, use(a.lockKey(x)))
				}
				// Package variables have no referrers: their uses
				// are found as operands.
				for _, op := range instr.Operands(ops[:0]) {
					g, ok := (*op).(*ssa.Global)
					if ok && isAtomicBoolPointer(g.Type()) {
						a.flagUse(instr, g, use(flagKey(a.lockKey(g))))
					}
					if !ok || !isChanPointer(g.Type()) {
						continue
					}
					u := use(a.lockKey(g))
					switch x := instr.(type) {
					case *ssa.UnOp:
						if x.Op == token.MUL {
							a.chanValue(x, u)
						} else {
							u.other = true
						}
					case *ssa.Store:
						if x.Addr != g || !madeHere(x.Val) {
							u.other = true
						}
					default:
						u.other = true
					}
				}
			}
		}
	}
}

// flagKey names the atomic.Bool that lockKey names key, apart from
// channels.
func flagKey(key string) string { return "flag " + key }

func isAtomicBoolPointer(t types.Type) bool {
	p, ok := t.Underlying().(*types.Pointer)
	if !ok {
		return false
	}
	n, ok := types.Unalias(p.Elem()).(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == "sync/atomic" && n.Obj().Name() == "Bool"
}

// flagUse records the use instr makes of the atomic.Bool flag points to:
// Load reads it, Store(true) sets it, as a close sets a channel;
// anything else (Store(false), Swap, handing its address on) marks the
// flag as used otherwise.
func (a *analysis) flagUse(instr ssa.Instruction, flag ssa.Value, u *chanUse) {
	switch r := instr.(type) {
	case *ssa.DebugRef:
		return
	case *ssa.Call:
		if recv, name, ok := atomicBoolCall(&r.Call); ok && recv == flag {
			switch {
			case name == "Load":
				return
			case name == "Store" && isTrue(r.Call.Args[1]):
				u.closes = append(u.closes, r)
				return
			}
		}
	}
	u.other = true
}

// atomicBoolCall reports whether c calls a method of sync/atomic.Bool,
// returning the receiver and the method's name.
func atomicBoolCall(c *ssa.CallCommon) (ssa.Value, string, bool) {
	obj, flag := stdMethod(c, "sync/atomic")
	if obj == nil || recvName(obj) != "Bool" {
		return nil, "", false
	}
	return flag, obj.Name(), true
}

func isTrue(v ssa.Value) bool {
	c, ok := v.(*ssa.Const)
	return ok && c.Value != nil && c.Value.Kind() == constant.Bool && constant.BoolVal(c.Value)
}

// flagSetOn returns the flag that the edge from block p to b follows
// the reading of as set: p branches on flag.Load() (if f.Load() { ... },
// for !f.Load() { wait }).
func (a *analysis) flagSetOn(p, b *ssa.BasicBlock) []string {
	call := calledTrueOn(p, b)
	if call == nil {
		return nil
	}
	if recv, name, ok := atomicBoolCall(&call.Call); ok && name == "Load" {
		return []string{flagKey(a.lockKey(recv))}
	}
	return nil
}

// signalEdge returns what the edge from p to b follows: the receive of a
// select's case, or a flag read as set.
func (a *analysis) signalEdge(p, b *ssa.BasicBlock) []string {
	if keys := a.selectReceiveKey(p, b); keys != nil {
		return keys
	}
	return a.flagSetOn(p, b)
}

func isChanPointer(t types.Type) bool {
	p, ok := t.Underlying().(*types.Pointer)
	return ok && chanElem(p.Elem()) != nil
}

// chanCell records the uses of the variable or field cell holds a
// channel in: channels made with make may be stored there, and what is
// loaded from it is used as chanValue says.
func (a *analysis) chanCell(cell ssa.Value, u *chanUse) {
	if cell.Referrers() == nil {
		u.other = true
		return
	}
	handedOn := cellUses(cell,
		func(load *ssa.UnOp) bool { a.chanValue(load, u); return false },
		func(_ *ssa.MakeClosure, fv ssa.Value) bool { a.chanCell(fv, u); return false })
	if handedOn {
		u.other = true
	}
	for _, r := range *cell.Referrers() {
		if st, ok := r.(*ssa.Store); ok && st.Addr == cell && !madeHere(st.Val) {
			u.other = true
		}
	}
}

// madeHere reports whether v is a channel made with make and used only
// by the store that keeps it.
func madeHere(v ssa.Value) bool {
	mc, ok := v.(*ssa.MakeChan)
	if !ok {
		return false
	}
	n := 0
	for _, r := range *mc.Referrers() {
		if _, ok := r.(*ssa.DebugRef); !ok {
			n++
		}
	}
	return n == 1
}

// chanValue records the uses of the channel value v: receives, closes,
// captures by closures; anything else marks the channel as used
// otherwise.
func (a *analysis) chanValue(v ssa.Value, u *chanUse) {
	refs := v.Referrers()
	if refs == nil {
		return
	}
	for _, r := range *refs {
		switch r := r.(type) {
		case *ssa.UnOp:
			if r.Op != token.ARROW {
				u.other = true
			}
		case *ssa.Select:
			for _, st := range r.States {
				if st.Chan == v && st.Dir != types.RecvOnly {
					u.other = true
				}
			}
		case ssa.CallInstruction:
			c := r.Common()
			if bi, ok := c.Value.(*ssa.Builtin); ok && bi.Name() == "close" && len(c.Args) == 1 {
				u.closes = append(u.closes, r)
				continue
			}
			u.other = true
		case *ssa.MakeClosure:
			if fv := capturedAs(r, v); fv != nil {
				a.chanValue(fv, u)
			} else {
				u.other = true
			}
		case *ssa.BinOp:
			// Compared, with nil most likely.
		case *ssa.DebugRef:
		default:
			u.other = true
		}
	}
}

// receiveKeysAt returns the channel a receive instruction waits on.
func (a *analysis) receiveKeysAt(instr ssa.Instruction) []string {
	if u, ok := instr.(*ssa.UnOp); ok && u.Op == token.ARROW {
		return []string{a.lockKey(u.X)}
	}
	return nil
}

// selectReceiveKey returns the channel that the select ending block p
// received from when control goes on to b: the select's case whose body
// b begins (select { case <-done: ...; case <-timeout: ... }).
func (a *analysis) selectReceiveKey(p, b *ssa.BasicBlock) []string {
	br, ok := p.Instrs[len(p.Instrs)-1].(*ssa.If)
	if !ok || len(p.Succs) != 2 || b != p.Succs[0] || p.Succs[0] == p.Succs[1] {
		return nil
	}
	eq, ok := br.Cond.(*ssa.BinOp)
	if !ok || eq.Op != token.EQL {
		return nil
	}
	idx, ok1 := eq.X.(*ssa.Extract)
	c, ok2 := eq.Y.(*ssa.Const)
	if !ok1 || !ok2 || idx.Index != 0 || c.Value == nil {
		return nil
	}
	sel, ok := idx.Tuple.(*ssa.Select)
	if !ok {
		return nil
	}
	i := int(c.Int64())
	if i < 0 || i >= len(sel.States) || sel.States[i].Dir != types.RecvOnly {
		return nil
	}
	return []string{a.lockKey(sel.States[i].Chan)}
}

// closedBetween reports whether access x happens before access y, in
// another root, because y's function receives, on every path to y, from
// a channel that x's goroutine closes after x, and nothing else closes.
func (a *analysis) closedBetween(x, y context) bool {
	for _, key := range a.receives.before(y.acc.fn, y.acc.instr) {
		if a.closedAfter(key, x) {
			return true
		}
	}
	return false
}

// closedAfter reports whether every way a receive from the channel named
// key returns follows access x: the channel is only closed, by the
// function that runs x as the entry of its root, which runs once, after
// x.
func (a *analysis) closedAfter(key string, x context) bool {
	u := a.chans[key]
	if u == nil || u.other || len(u.closes) == 0 {
		return false
	}
	fn := x.acc.fn
	root := a.roots[x.root]
	fi, ok := a.index[fn]
	if !ok || root.multi || len(root.entries) != 1 || root.entries[0] != fn || a.fnRoots[fi].count() != 1 {
		return false
	}
	for _, c := range u.closes {
		if c.Parent() != fn {
			return false
		}
		if _, deferred := c.(*ssa.Defer); deferred {
			continue // runs as fn returns, after x
		}
		if mayPrecede(c, x.acc.instr) {
			return false
		}
	}
	return true
}
