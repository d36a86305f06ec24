package detect

import (
	"go/constant"
	"go/token"

	"golang.org/x/tools/go/ssa"
)

// A channel of capacity 1 that a goroutine sends on to enter a critical
// section and receives from to leave it is a mutex: a second sender
// blocks until the first has received (sem <- struct{}{}; defer func() {
// <-sem }()). Such a channel, named by field or variable as locks are,
// counts as a lock held in write mode between the send and the receive
// when the program does nothing else with it: every channel stored where
// it is kept is made with capacity 1, it is only sent on and received
// from by plain statements (no select, close, range or comma-ok
// receive), it is not handed to other functions, and every receive
// follows a send in the same function, or runs in a closure that is only
// deferred. The last condition leaves out the opposite use, a channel
// filled once and then received from to enter (a token semaphore), whose
// critical sections lie between a receive and a send.

// chanLockUse is what the program does with the channels of one name.
type chanLockUse struct {
	made  bool // some channel made with capacity 1 is kept under the name
	other bool // used, made or stored otherwise than a lock channel is
}

// computeChanLocks finds the names of the channels used as locks.
func (a *analysis) computeChanLocks() {
	uses := map[string]*chanLockUse{}
	use := func(key string) *chanLockUse { return entry(uses, key) }
	var ops [10]*ssa.Value // Operands appends here: no allocation per instruction
	for _, fn := range a.p.funcs {
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				switch x := instr.(type) {
				case *ssa.MakeChan:
					ok := isConstInt(x.Size, 1)
					mark := func(key string) {
						u := use(key)
						u.made = u.made || ok
						u.other = u.other || !ok
					}
					mark(a.lockKey(x))
					for _, r := range *x.Referrers() {
						if st, isStore := r.(*ssa.Store); isStore && st.Val == x {
							mark(a.lockKey(st.Addr))
						}
					}
				case *ssa.Store:
					if chanElem(x.Val.Type()) != nil {
						if _, made := x.Val.(*ssa.MakeChan); !made {
							use(a.lockKey(x.Addr)).other = true
						}
					}
				case *ssa.UnOp:
					if x.Op == token.ARROW && (x.CommaOk || !a.receiveFollowsSend(x)) {
						use(a.lockKey(x.X)).other = true
					}
				}
				for i, op := range instr.Operands(ops[:0]) {
					if *op == nil || chanElem((*op).Type()) == nil {
						continue
					}
					if !lockChanOperand(instr, i) {
						use(a.lockKey(*op)).other = true
					}
				}
			}
		}
	}
	a.chanLocks = map[string]bool{}
	for key, u := range uses {
		if u.made && !u.other {
			a.chanLocks[key] = true
		}
	}
}

// lockChanOperand reports whether operand number i of instr is a use a
// lock channel may have: the channel of a send or of a plain receive,
// the value stored where it is kept, a closure's binding, or a debug
// reference.
func lockChanOperand(instr ssa.Instruction, i int) bool {
	switch x := instr.(type) {
	case *ssa.Send:
		return i == 0 // Chan, not the value sent
	case *ssa.UnOp:
		return x.Op == token.ARROW
	case *ssa.Store:
		return i == 1 // Val: checked where it is made
	case *ssa.MakeClosure, *ssa.DebugRef:
		return true
	}
	return false
}

// receiveFollowsSend reports whether the receive recv leaves a critical
// section: a send on the same channel name comes before it in its
// function, or it runs in a closure that is only deferred.
func (a *analysis) receiveFollowsSend(recv *ssa.UnOp) bool {
	fn := recv.Parent()
	key := a.lockKey(recv.X)
	for _, b := range fn.Blocks {
		for _, instr := range b.Instrs {
			if s, ok := instr.(*ssa.Send); ok && before(s, recv) && a.lockKey(s.Chan) == key {
				return true
			}
		}
	}
	return onlyDeferred(fn)
}

// onlyDeferred reports whether fn is a closure whose MakeClosure is only
// deferred.
func onlyDeferred(fn *ssa.Function) bool {
	mc := makeClosureOf(fn)
	if mc == nil {
		return false
	}
	for _, r := range *mc.Referrers() {
		if d, ok := r.(*ssa.Defer); !ok || d.Call.Value != mc {
			return false
		}
	}
	return true
}

func isConstInt(v ssa.Value, n int64) bool {
	c, ok := v.(*ssa.Const)
	if !ok || c.Value == nil || c.Value.Kind() != constant.Int {
		return false
	}
	i, exact := constant.Int64Val(c.Value)
	return exact && i == n
}

// chanLockOp returns the lock a send or receive on a lock channel takes
// or releases; ok is false for any other instruction.
func (a *analysis) chanLockOp(instr ssa.Instruction) (key string, acquire, ok bool) {
	var ch ssa.Value
	switch x := instr.(type) {
	case *ssa.Send:
		ch, acquire = x.Chan, true
	case *ssa.UnOp:
		if x.Op != token.ARROW {
			return "", false, false
		}
		ch = x.X
	default:
		return "", false, false
	}
	key = a.lockKey(ch)
	if !a.chanLocks[key] {
		return "", false, false
	}
	if _, named := a.lockNames[key]; !named {
		a.lockNames[key] = exprName(ch)
	}
	return key, acquire, true
}
