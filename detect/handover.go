package detect

import (
	"go/token"
	"go/types"

	"golang.org/x/tools/go/ssa"
)

// A struct pointer sent on a channel, and never used again by the
// activation that sent it, is handed over: a channel delivers each value
// to one receiver, so the receiver owns the struct from then on, and the
// sender's accesses come before the receive. A worker pool whose jobs
// each carry their own map, or a pipeline whose stages pass an item on,
// shares no map between its goroutines.
//
// Whether a received pointer was handed over depends on every send of
// its type: channels are not told apart, so every send in the analysed
// code on a channel of the same element type must hand over a struct
// the sender made (or received the same way), and the struct's map
// fields must hold only maps made for it.

// sentValue returns v when instr sends it: a send statement or a select
// with a send case of v; nil otherwise.
func sentValue(instr ssa.Instruction, v ssa.Value) ssa.Value {
	switch instr := instr.(type) {
	case *ssa.Send:
		if instr.X == v {
			return v
		}
	case *ssa.Select:
		for _, st := range instr.States {
			if st.Dir == types.SendOnly && st.Send == v {
				return v
			}
		}
	}
	return nil
}

// receivedFrom returns the element type of the channel v was received
// from, when v is the value of a receive (<-ch, v, ok := <-ch, a select's
// receive case); nil otherwise.
func receivedFrom(v ssa.Value) types.Type {
	switch v := v.(type) {
	case *ssa.UnOp:
		if v.Op == token.ARROW && !v.CommaOk {
			return chanElem(v.X.Type())
		}
	case *ssa.Extract:
		if recv := commaOkReceive(v); recv != nil {
			return chanElem(recv.X.Type())
		}
		if sel, ok := v.Tuple.(*ssa.Select); ok {
			// (index, ok, received values of the receive cases in order)
			k := v.Index - 2
			for _, st := range sel.States {
				if st.Dir != types.RecvOnly {
					continue
				}
				if k == 0 {
					return chanElem(st.Chan.Type())
				}
				k--
			}
		}
	}
	return nil
}

// commaOkReceive returns the receive v, ok := <-ch whose value v is; nil
// when v is something else.
func commaOkReceive(v ssa.Value) *ssa.UnOp {
	x, ok := v.(*ssa.Extract)
	if !ok || x.Index != 0 {
		return nil
	}
	recv, ok := x.Tuple.(*ssa.UnOp)
	if !ok || recv.Op != token.ARROW {
		return nil
	}
	return recv
}

// handsOver reports whether every send on a channel with elements of
// type elem hands over a struct the sending activation owned.
func (a *analysis) handsOver(elem types.Type) bool {
	if _, ok := elem.Underlying().(*types.Pointer); !ok {
		return false
	}
	if r, ok := a.handoverMemo.At(elem).(bool); ok {
		return r
	}
	// A pipeline's stages receive and send on channels of one type: the
	// cycle adds nothing.
	a.handoverMemo.Set(elem, true)
	sent := a.p.sentOn(elem)
	r := len(sent) > 0 && a.mapsMadeFor(elem.Underlying().(*types.Pointer).Elem())
	for _, v := range sent {
		if !a.ownedBySender(v) || !a.handedOff(v) {
			r = false
			break
		}
	}
	a.handoverMemo.Set(elem, r)
	return r
}

// mapsMadeFor reports whether every map field of the struct type t, or
// of a struct it embeds by value, only ever holds maps made for its
// struct (ownMapField): a struct handed over then carries no map that
// another struct holds too (jobs <- &job{counts: shared} shares one).
func (a *analysis) mapsMadeFor(t types.Type) bool {
	st, ok := t.Underlying().(*types.Struct)
	if !ok {
		return false
	}
	for i := range st.NumFields() {
		f := st.Field(i)
		switch f.Type().Underlying().(type) {
		case *types.Map:
			if addrs := a.addressesOf(f.Origin(), i); len(addrs) > 0 && !a.ownMapField(addrs[0]) {
				return false
			}
		case *types.Struct:
			if !a.mapsMadeFor(f.Type()) {
				return false
			}
		}
	}
	return true
}

// ownedBySender reports whether the struct pointer v is the sending
// activation's own: made by it, returned by a constructor that made it,
// or received handed over.
func (a *analysis) ownedBySender(v ssa.Value) bool {
	switch v := v.(type) {
	case *ssa.Alloc:
		return v.Heap && !a.copiedFromParam(v)
	case *ssa.Call:
		return a.freshResult(v, 0)
	}
	if elem := receivedFrom(v); elem != nil {
		return a.handsOver(elem)
	}
	return false
}

// ownUntilSent reports whether the struct pointer v stays in its
// activation, or leaves it only by being handed over (handedOff).
func (a *analysis) ownUntilSent(v ssa.Value) bool {
	return !a.ptrEscapes(v) || a.handedOff(v)
}

// handedOff reports whether the struct pointer v leaves its activation
// only by being sent on a channel, and nothing the activation reaches
// through v is used after the send.
func (a *analysis) handedOff(v ssa.Value) bool {
	refs := v.Referrers()
	if refs == nil {
		return false
	}
	var sends []ssa.Instruction
	for _, r := range *refs {
		switch r.(type) {
		case *ssa.Store, *ssa.Defer, *ssa.MakeClosure, *ssa.Phi:
			// Kept somewhere, or used later, out of sight of the
			// uses checked below.
			return false
		}
		if sentValue(r, v) != nil {
			sends = append(sends, r)
			continue
		}
		if a.escapesVia(v, r) {
			return false
		}
	}
	if len(sends) == 0 {
		return false
	}
	uses, ok := derivedUses(v)
	if !ok {
		return false
	}
	for _, s := range sends {
		for _, u := range uses {
			if usedAfter(s, u, v) {
				return false
			}
		}
	}
	return true
}

// derivedUses returns the instructions that use the struct pointer v, the
// addresses of its fields and elements, and what is loaded from them. It
// reports false when a map loaded from the struct is used otherwise than
// read, written or ranged over in place: kept or passed on, the sender
// could use it after the send.
func derivedUses(v ssa.Value) ([]ssa.Instruction, bool) {
	var uses []ssa.Instruction
	queue := []ssa.Value{v}
	seen := map[ssa.Value]bool{v: true}
	for len(queue) > 0 {
		x := queue[0]
		queue = queue[1:]
		if isMap(x.Type()) && x != v && !usedInPlace(x) {
			return nil, false
		}
		refs := x.Referrers()
		if refs == nil {
			continue
		}
		for _, r := range *refs {
			uses = append(uses, r)
			switch r := r.(type) {
			case *ssa.FieldAddr, *ssa.IndexAddr, *ssa.ChangeType:
			case *ssa.UnOp:
				if r.Op != token.MUL {
					continue
				}
			default:
				continue
			}
			if d := r.(ssa.Value); !seen[d] {
				seen[d] = true
				queue = append(queue, d)
			}
		}
	}
	return uses, true
}

// usedInPlace reports whether the map value m is only read, written or
// ranged over, or measured, cleared or deleted from by a builtin.
func usedInPlace(m ssa.Value) bool {
	for _, r := range *m.Referrers() {
		switch r := r.(type) {
		case *ssa.Lookup, *ssa.MapUpdate, *ssa.Range, *ssa.DebugRef:
		case *ssa.Call:
			if _, ok := r.Call.Value.(*ssa.Builtin); !ok {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// usedAfter reports whether use may run after send in the same
// activation and on the same value def: on a path from send to use that
// does not make def again. A send is used after itself when a loop sends
// the same value again.
func usedAfter(send, use ssa.Instruction, def ssa.Value) bool {
	sb, ub := send.Block(), use.Block()
	if sb == ub && send != use && before(send, use) {
		return true
	}
	var db *ssa.BasicBlock
	if d, ok := def.(ssa.Instruction); ok {
		db = d.Block()
	}
	if db == ub {
		return false // entering the use's block makes def again first
	}
	return reachesAvoiding(sb, ub, db)
}
