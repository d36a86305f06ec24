package detect

import (
	"go/token"
	"go/types"
	"slices"
	"strings"

	"golang.org/x/tools/go/ssa"
)

// A struct may be reached from owners of different types, each guarding
// it with its own mutex: a scheduler kept in a file store's field and
// used under the file store's lock, and another kept in a memory store's
// field and used under that store's lock. The helper that touches the
// scheduler's map is entered with either lock, so the locks every caller
// holds are none. When each owner field only ever receives a fresh
// struct, the owners' structs are distinct, and an access needs a common
// lock only with accesses that may reach the same owner's struct.
//
// ownerAlts follows the struct pointer of an access up the plain calls
// that hand it down, within one root, to where it is loaded from a field
// (the owner), and computes the locks held at the access along each such
// chain.

// ownerAlt is one way a root brings the struct of an access to it.
type ownerAlt struct {
	// owner is the pointer field the struct was loaded from, when every
	// struct stored in that field is fresh; nil when not known.
	owner *types.Var
	// locks are the locks held at the access along this way.
	locks lockset
	// private: along this way the struct is made by the activation at
	// the top and shared with no one before the access.
	private bool
	// made: along this way the struct is a new one the activation at the
	// top allocated, shared or not. The root's own goroutine made it, so
	// no other root's access along such a way reaches the same struct.
	made bool
}

// maxOwnerAlts and maxOwnerDepth bound the chains followed for one
// access.
const (
	maxOwnerAlts  = 16
	maxOwnerDepth = 6
)

// ownerKey identifies one access as run by one root.
type ownerKey struct {
	instr ssa.Instruction
	root  int
}

// ownersExclude reports whether the accesses of contexts w and x, which
// hold no common lock when every caller is taken together, hold one along
// every pair of call chains that may bring them the same struct (chains
// along which the struct is private bring it to no one else, and
// contextOwners leaves them out).
func (a *analysis) ownersExclude(w, x *context) bool {
	aw := a.contextOwners(w)
	if aw == nil {
		return false
	}
	ax := a.contextOwners(x)
	if ax == nil {
		return false
	}
	// Structs that two roots each allocated are two structs; their map
	// fields are two maps when the field only ever holds maps made for
	// its struct. (Two runs of one root are the instances' business.)
	ownMaps := -1
	for _, p := range aw {
		for _, q := range ax {
			if p.made && q.made && w.root != x.root {
				if ownMaps < 0 {
					ownMaps = 0
					if a.ownMapField(loadedField(w.acc.mapv)) {
						ownMaps = 1
					}
				}
				if ownMaps == 1 {
					continue
				}
			}
			if p.owner != nil && q.owner != nil && p.owner.Pos() != q.owner.Pos() {
				continue // distinct structs; one field seen through two type-checked copies is one owner
			}
			if !common(p.locks, q.locks) {
				return false
			}
		}
	}
	return true
}

// contextOwners returns the ways the root of c brings the struct of its
// access to it; nil when it cannot tell.
func (a *analysis) contextOwners(c *context) []ownerAlt {
	if c.ownersDone {
		return c.owners
	}
	c.ownersDone = true
	key := ownerKey{c.acc.instr, c.root}
	alts, ok := a.ownerMemo[key]
	if !ok {
		if fa := loadedField(c.acc.mapv); fa != nil && !a.givenSharedMap(c.acc.mapv, c.acc.instr) {
			alts, _ = a.ownerAlts(c.acc.fn, c.acc.instr, fa.X, fa.Field, c.root, 0)
			alts = sharedAlts(alts)
		}
		a.ownerMemo[key] = alts
	}
	c.owners = alts
	return alts
}

// sharedAlts returns alts without the ways along which the struct is
// private, which exclude nothing, and without repeats: ownersExclude
// compares every way of one access with every way of the other, for
// every pair of accesses. The result is nil only when alts is.
func sharedAlts(alts []ownerAlt) []ownerAlt {
	if alts == nil {
		return nil
	}
	out := make([]ownerAlt, 0, len(alts))
	for _, p := range alts {
		if p.private || slices.ContainsFunc(out, p.equal) {
			continue
		}
		out = append(out, p)
	}
	return out
}

func (p ownerAlt) equal(q ownerAlt) bool {
	return p.owner == q.owner && p.made == q.made && p.private == q.private && p.locks.equal(q.locks)
}

// ownerAlts returns, for the struct pointer base used at instr in fn as
// run by root r (with its map in field number field), the owner, the locks
// held at instr and whether the struct is private there, along each chain
// of plain calls that hands it down; false when there are too many.
func (a *analysis) ownerAlts(fn *ssa.Function, instr ssa.Instruction, base ssa.Value, field, r, depth int) ([]ownerAlt, bool) {
	if ct, ok := base.(*ssa.ChangeType); ok {
		// An instantiation wrapper hands its generic method the same
		// struct, as a pointer to the generic type.
		base = ct.X
	}
	if load, ok := base.(*ssa.UnOp); ok {
		// A receiver or parameter kept in a variable that a closure of
		// the function captures (defer func() { ... cdm.closers ... }()):
		// the variable only ever holds it.
		if stored, c := cellValue(load); c != nil {
			base = stored
		}
	}
	var calls []*ssa.Call
	var handed func(call *ssa.Call) ssa.Value
	if depth < maxOwnerDepth && a.flagFor(fn) == nil {
		calls, handed = a.handingCalls(base, r)
	}
	if len(calls) == 0 {
		return []ownerAlt{a.topAlt(fn, instr, base, field, r, depth)}, true
	}
	// Past the bounds, a parameter leaves the ways unknown; a closure's
	// captured struct falls back to the closure itself, as when the
	// closure's calls are not seen.
	giveUp := func() ([]ownerAlt, bool) {
		if _, captured := base.(*ssa.UnOp); captured {
			return []ownerAlt{a.topAlt(fn, instr, base, field, r, depth)}, true
		}
		return nil, false
	}
	// Whether fn shares the struct before instr matters only for a
	// struct private so far; computed once, when first needed.
	sharedHere, sharedKnown := false, false
	var alts []ownerAlt
	for _, call := range calls {
		caller := call.Parent()
		if !a.runs(r, caller) {
			continue
		}
		up, ok := a.ownerAlts(caller, call, handed(call), field, r, depth+1)
		if !ok {
			return giveUp()
		}
		for _, u := range up {
			if u.private && !sharedKnown {
				sharedHere, sharedKnown = a.usedSharedBefore(base, instr, field), true
			}
			entry := u.locks
			for _, h := range a.assumedHeld[fn] {
				entry = entry.with(h)
			}
			for _, h := range a.callbackIn[fn] {
				entry = entry.with(h)
			}
			alts = append(alts, ownerAlt{
				owner:   u.owner,
				locks:   a.locksAtEntry(fn, instr, entry),
				private: u.private && !sharedHere,
				made:    u.made,
			})
		}
		if len(alts) > maxOwnerAlts {
			return giveUp()
		}
	}
	if len(alts) == 0 {
		return []ownerAlt{a.topAlt(fn, instr, base, field, r, depth)}, true
	}
	return alts, true
}

// handingCalls returns the calls in root r that hand the struct pointer
// base down, and what each hands: for a parameter, every call of its
// function and the argument; for the variable a closure captures from its
// enclosing function, when the closure runs only within calls that
// function makes (getScheduledMessages handing its callback to the wheel
// it expires), those calls and the value of the variable.
func (a *analysis) handingCalls(base ssa.Value, r int) ([]*ssa.Call, func(*ssa.Call) ssa.Value) {
	switch base := base.(type) {
	case *ssa.Parameter:
		idx, calls := a.callsInRoot(base, r)
		if idx < 0 && isReceiver(base) {
			// A method called through interfaces too: each call hands
			// down its receiver.
			return a.receiverCalls(base), receiverOf
		}
		return calls, func(call *ssa.Call) ssa.Value { return call.Call.Args[idx] }
	case *ssa.UnOp:
		fv, ok := base.X.(*ssa.FreeVar)
		if !ok || base.Op != token.MUL {
			return nil, nil
		}
		mc, stored, calls := a.capturedWithinCalls(fv)
		if mc == nil {
			return nil, nil
		}
		return calls, func(*ssa.Call) ssa.Value { return stored }
	}
	return nil, nil
}

// topAlt is the way that starts where the struct pointer base is not
// handed down by a plain call: loaded from an owner field, or made here.
func (a *analysis) topAlt(fn *ssa.Function, instr ssa.Instruction, base ssa.Value, field, r, depth int) ownerAlt {
	owner := a.freshOwner(base)
	own := a.ownedInRoot(fn, instr, base, owner, r, depth)
	return ownerAlt{
		owner:   owner,
		locks:   a.locksAtIn(fn, instr, r),
		private: own.private || a.sharedBefore(base, instr, field, 0).private(),
		made:    own.made,
	}
}

// madeKey identifies one question ownedInRoot answers: whether the
// struct is private depends on the point (instr) it is judged at.
type madeKey struct {
	base  ssa.Value
	instr ssa.Instruction
	root  int
}

// owned is what ownedInRoot finds of a struct at the top of a chain.
type owned struct {
	// made: root r's own goroutine made the struct.
	made bool
	// private: the struct is loaded from an owner field of a struct
	// private at that point, and what that field holds is never handed
	// on, so it is private too.
	private bool
}

// ownedInRoot says whether the struct pointer base, at the top of a chain
// in root r, is a struct root r's own goroutine made: a new one, or one
// loaded from a field that only ever holds structs made fresh for it
// (owner) of a struct root r made, up any number of such fields (a node a
// test made, and the manager its constructor made for it). A struct
// loaded so from a struct private at instr is private as well when no
// load of the field hands what it holds on: the constructor that makes a
// lessor, fills the queue its field holds, and only then starts the
// goroutine that uses both.
func (a *analysis) ownedInRoot(fn *ssa.Function, instr ssa.Instruction, base ssa.Value, owner *types.Var, r, depth int) owned {
	if a.newValue(base, nil, 0) {
		return owned{made: true}
	}
	if owner == nil || depth >= maxOwnerDepth {
		return owned{}
	}
	key := madeKey{base, instr, r}
	if own, ok := a.madeMemo[key]; ok {
		return own
	}
	a.madeMemo[key] = owned{} // a cycle proves nothing
	// The outer struct is judged as one whose maps are not at stake
	// (field -1): what its owner field holds is handed on only by a load
	// of that field, which keptInField rules out.
	fa := base.(*ssa.UnOp).X.(*ssa.FieldAddr)
	alts, ok := a.ownerAlts(fn, instr, fa.X, -1, r, depth+1)
	own := owned{made: ok && len(alts) > 0}
	own.private = own.made && a.keptInField(owner, fa.Field)
	for _, alt := range alts {
		own.made = own.made && alt.made
		own.private = own.private && alt.private
	}
	a.madeMemo[key] = own
	return own
}

// keptInField reports whether every struct loaded from field f (number
// idx of its struct) stays in the activation that loads it: no load is
// returned, stored, captured, sent or handed to code that keeps it. Such
// a field hands its struct to no one but through the struct holding it.
func (a *analysis) keptInField(f *types.Var, idx int) bool {
	if kept, ok := a.keptMemo[f]; ok {
		return kept
	}
	a.keptMemo[f] = false // a cycle proves nothing
	kept := true
	for _, fa := range a.addressesOf(f, idx) {
		for _, r := range *fa.Referrers() {
			load, ok := r.(*ssa.UnOp)
			if !ok || load.Op != token.MUL {
				continue // stores: freshOwner judged them
			}
			for _, u := range *load.Referrers() {
				kept = kept && !a.publishes(load, u)
			}
		}
	}
	a.keptMemo[f] = kept
	return kept
}

// locksAtEntry returns the locks held at instr when fn is entered holding
// entry.
func (a *analysis) locksAtEntry(fn *ssa.Function, instr ssa.Instruction, entry lockset) lockset {
	from := entryLocks{fn, entry.key()}
	in, ok := a.blockInFrom[from]
	if !ok {
		in, _ = a.blockLocks(fn, entry, nil)
		a.blockInFrom[from] = in
	}
	return a.locksBefore(in, instr)
}

// freshOwner returns the field the struct pointer base is loaded from,
// when that field only ever holds structs made fresh for it (or nil):
// every store into it stores a new allocation or a constructor's fresh
// result that is stored nowhere else, and the field's address is never
// handed on. Two such fields never hold the same struct.
func (a *analysis) freshOwner(base ssa.Value) *types.Var {
	load, ok := base.(*ssa.UnOp)
	if !ok || load.Op != token.MUL {
		return nil
	}
	fa, ok := load.X.(*ssa.FieldAddr)
	if !ok {
		return nil
	}
	f := fieldOf(fa)
	if f == nil {
		return nil
	}
	if fresh, ok := a.freshOwnerMemo[f]; ok {
		if fresh {
			return f
		}
		return nil
	}
	fresh := a.onlyFreshStored(f, fa.Field)
	a.freshOwnerMemo[f] = fresh
	if fresh {
		return f
	}
	return nil
}

// fieldOf returns the field that fa addresses; for a field of an
// instantiated generic type, the field of the generic type, so that every
// instantiation counts as one owner.
func fieldOf(fa *ssa.FieldAddr) *types.Var {
	ptr, ok := fa.X.Type().Underlying().(*types.Pointer)
	if !ok {
		return nil
	}
	st, ok := ptr.Elem().Underlying().(*types.Struct)
	if !ok || fa.Field >= st.NumFields() {
		return nil
	}
	return st.Field(fa.Field).Origin()
}

// onlyFreshStored reports whether every address of field f (number idx
// of its struct) in the analysed code is only loaded from or stored into,
// and every value stored is nil or a fresh struct stored nowhere else.
func (a *analysis) onlyFreshStored(f *types.Var, idx int) bool {
	return a.onlyStoredAs(f, idx, a.freshForField)
}

// onlyStoredAs reports whether every address of field f (number idx of
// its struct) in the analysed code is only loaded from, or stored into by
// stores that ok accepts.
func (a *analysis) onlyStoredAs(f *types.Var, idx int, ok func(*ssa.Store) bool) bool {
	for _, fa := range a.addressesOf(f, idx) {
		for _, r := range *fa.Referrers() {
			switch r := r.(type) {
			case *ssa.UnOp:
				if r.Op != token.MUL {
					return false
				}
			case *ssa.Store:
				if r.Addr != fa || !ok(r) {
					return false
				}
			case *ssa.DebugRef:
			default:
				return false
			}
		}
	}
	return true
}

// addressesOf returns every address of field f (number idx of its
// struct) taken in the analysed code: through any type-checked copy of
// its declaration (a package and its test variant), and through a type
// parameter whose struct is not known, when its field number is idx.
func (a *analysis) addressesOf(f *types.Var, idx int) []*ssa.FieldAddr {
	if a.fieldAddrs == nil {
		a.fieldAddrs = map[token.Pos][]*ssa.FieldAddr{}
		for _, fn := range a.p.funcs {
			for _, b := range fn.Blocks {
				for _, instr := range b.Instrs {
					if fa, ok := instr.(*ssa.FieldAddr); ok {
						pos := token.NoPos // a struct not known
						if v := fieldOf(fa); v != nil {
							pos = v.Pos()
						}
						a.fieldAddrs[pos] = append(a.fieldAddrs[pos], fa)
					}
				}
			}
		}
	}
	addrs := slices.Clone(a.fieldAddrs[f.Pos()])
	for _, fa := range a.fieldAddrs[token.NoPos] {
		if fa.Field == idx {
			addrs = append(addrs, fa)
		}
	}
	return addrs
}

// freshForField reports whether store puts nil or a struct made for it,
// and stored nowhere else, into a field: made anew each time the store
// runs, since a struct made before a loop and stored in it would go into
// every struct of the loop.
func (a *analysis) freshForField(store *ssa.Store) bool {
	return a.freshAt(store.Val, store, 0)
}

// maxFreshArgDepth bounds how many calls freshAt follows a parameter up.
const maxFreshArgDepth = 4

// freshAt reports whether v, as use uses it, is nil or a struct made anew
// each time use runs and handed on by no other use: allocated, returned
// by a constructor (alone or as one of its results), or a parameter for
// which every call passes such a struct (func newNode(e *engine) node {
// return node{e: e} }, called with a fresh engine each time).
func (a *analysis) freshAt(v ssa.Value, use ssa.Instruction, depth int) bool {
	switch v := v.(type) {
	case *ssa.Const:
		return v.IsNil()
	case *ssa.Alloc:
	case *ssa.Call:
		if !a.freshResult(v, depth) {
			return false
		}
	case *ssa.Extract:
		if !a.freshExtract(v, depth) {
			return false
		}
	case *ssa.Parameter:
		if depth >= maxFreshArgDepth || a.handedBesides(v, use) {
			return false
		}
		idx, calls := a.staticCalls(v)
		for _, call := range calls {
			if !a.freshAt(call.Call.Args[idx], call, depth+1) {
				return false
			}
		}
		return len(calls) > 0
	default:
		return false
	}
	return madeForEachRun(v.(ssa.Instruction), use) && !a.handedBesides(v, use)
}

// handedBesides reports whether a use of the pointer v other than use may
// publish it.
func (a *analysis) handedBesides(v ssa.Value, use ssa.Instruction) bool {
	for _, r := range *v.Referrers() {
		if r != use && a.publishes(v, r) {
			return true
		}
	}
	return false
}

// callsInRoot returns the index of parameter p and every call of its
// function, as staticCalls does, for root r: the function may also be
// the entry of other roots, whose callers r does not run, and an
// instantiation wrapper of a generic method is followed like the method
// it calls.
func (a *analysis) callsInRoot(p *ssa.Parameter, r int) (int, []*ssa.Call) {
	fn := p.Parent()
	if !a.isRootEntry(fn) && (fn.Synthetic == "" || !strings.HasPrefix(fn.Synthetic, "instantiation wrapper")) {
		return a.staticCalls(p)
	}
	if fn.Parent() != nil || fn.Object() == nil || slices.Contains(a.roots[r].entries, fn) {
		return -1, nil
	}
	return a.namedCalls(p)
}
