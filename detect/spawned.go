package detect

import (
	"go/token"
	"go/types"
	"slices"

	"golang.org/x/tools/go/ssa"
)

// A goroutine started in a loop runs as several instances of one root at
// once. When the loop makes a struct for each goroutine and hands it over
// at the start (an argument of the go statement, or a variable declared in
// the loop body that the goroutine's closure captures), each instance
// works on its own struct:
//
//	for _, cfg := range configs {
//		d := newDiscoverer(cfg)
//		go func() { d.Run(ctx) }()
//	}
//
// A map field reached only through that hand-over, that only ever
// receives maps made for it, is then touched by one instance only, and
// two instances of the root do not race on it. The same holds for a
// goroutine started once per call of a function that runs more than once,
// when the struct is made in that call.
//
// The struct must be made where the goroutine is started (allocated
// there, or returned new by every constructor called there), in the same
// iteration as the start. Where else it goes does not matter here: an
// access through any other way (a registry, a channel, a field of a shared
// struct) is not an instance's own, and its pairs are checked as usual.

// instanceOwn reports whether the struct holding the map of c's access is,
// in every instance of c's root, the one made for that instance when it
// was started.
func (a *analysis) instanceOwn(c *context) bool {
	key := ownerKey{c.acc.instr, c.root}
	if r, ok := a.instanceMemo[key]; ok {
		return r
	}
	r := false
	root := a.roots[c.root]
	if root.spawn >= 0 && oneGoroutinePerStart(a.spawns[root.spawn]) {
		r = a.instanceMap(c.acc.fn, c.acc.mapv, c.root, a.spawns[root.spawn], 0)
	}
	a.instanceMemo[key] = r
	return r
}

// maxMapParamDepth bounds the calls instanceMap follows a map parameter up.
const maxMapParamDepth = 4

// instanceMap reports whether the map value m, used in fn as run by root
// r, is a map field of the struct made for the instance of r by the start
// at sp, loaded there or handed down as an argument by every call of fn
// within the root (p.Voters.VoteResult(p.Votes)).
func (a *analysis) instanceMap(fn *ssa.Function, m ssa.Value, r int, sp *spawn, depth int) bool {
	if fa := loadedField(m); fa != nil {
		return a.ownMapField(fa) && a.handedToInstance(fn, fa.X, nil, r, sp, 0)
	}
	p, ok := m.(*ssa.Parameter)
	if !ok || depth >= maxMapParamDepth || slices.Contains(a.roots[r].entries, fn) {
		return false
	}
	idx := paramIndex(p)
	if idx < 0 {
		return false
	}
	calls, ok := a.argsInRoot(fn, r, func(caller *ssa.Function, _ *ssa.CallCommon, args []ssa.Value) bool {
		return a.instanceMap(caller, args[idx], r, sp, depth+1)
	})
	return ok && calls > 0
}

// argsInRoot calls visit with the arguments of every call of fn that
// root r makes (a go statement starts fn in another root), and returns
// how many there were; ok is false when visit says no, when a call does
// not pass all of fn's parameters, or when fn also runs as a callback of
// another function, whose calls of it are not all seen.
func (a *analysis) argsInRoot(fn *ssa.Function, r int, visit func(caller *ssa.Function, c *ssa.CallCommon, args []ssa.Value) bool) (calls int, ok bool) {
	for _, site := range a.p.callers[fn] {
		caller := site.Parent()
		if _, isGo := site.(*ssa.Go); isGo || !a.runs(r, caller) {
			continue
		}
		c := site.Common()
		if !c.IsInvoke() && !a.p.callsStatically(c, fn) && !a.calledThroughValue(c, fn) {
			return calls, false
		}
		args := paramArgs(site)
		if len(args) != len(fn.Params) || !visit(caller, c, args) {
			return calls, false
		}
		calls++
	}
	return calls, true
}

// oneGoroutinePerStart reports whether each execution of the spawn's site
// starts one goroutine with the values the site hands over. An http
// handler runs once per request with the values bound when it was
// registered, a RunParallel body runs in many goroutines at once, and so
// does the argument of a helper that starts it in a loop.
func oneGoroutinePerStart(sp *spawn) bool {
	if sp.many {
		return false
	}
	switch sp.kind {
	case spawnGo, spawnWaitGroup, spawnErrgroup, spawnDetached:
		return true
	}
	return false
}

// maxInstanceDepth bounds the calls handedToInstance follows up from an
// access to the root's entry: the struct of a goroutine's loop is often
// handed down half a dozen calls.
const maxInstanceDepth = 12

// handedKey identifies a question handedToInstance answers: a value, as
// run by a root, when called on a receiver of type want.
type handedKey struct {
	v    ssa.Value
	root int
	want types.Type
}

// handedToInstance reports whether every value the struct pointer v, used
// in fn as run by root r, may hold is a struct made for the instance of r
// by the start at sp: handed down from the root's entry through plain
// calls, interface calls on it, and captured variables. When v is an
// interface value, want is the type of the receiver it is called on:
// values of other types never reach the access. depth counts the calls
// followed up so far.
//
// Answers are memoised, so that a function called from many places is
// judged once per root. A question met again while it is being answered
// (recursion: Step calls appliedSnap, which calls Step) counts as yes:
// what goes round the cycle comes from the calls into it, which decide.
// When the answer is no after all, the answers given meanwhile, which may
// rest on that yes, are forgotten.
func (a *analysis) handedToInstance(fn *ssa.Function, v ssa.Value, want types.Type, r int, sp *spawn, depth int) bool {
	k := handedKey{v, r, want}
	if res, ok := a.handedMemo[k]; ok {
		return res
	}
	a.handedMemo[k] = true
	mark := len(a.handedLog)
	a.handedLog = append(a.handedLog, k)
	res := a.handedNow(fn, v, want, r, sp, depth)
	if !res {
		for _, d := range a.handedLog[mark:] {
			delete(a.handedMemo, d)
		}
		a.handedLog = a.handedLog[:mark]
		a.handedMemo[k] = false
	}
	return res
}

func (a *analysis) handedNow(fn *ssa.Function, v ssa.Value, want types.Type, r int, sp *spawn, depth int) bool {
	if depth > maxInstanceDepth {
		return false
	}
	switch v := v.(type) {
	case *ssa.ChangeType:
		return a.handedToInstance(fn, v.X, want, r, sp, depth)
	case *ssa.MakeInterface:
		if want != nil && !sameType(v.X.Type(), want) {
			return true // never the receiver
		}
		return a.handedToInstance(fn, v.X, nil, r, sp, depth)
	case *ssa.FieldAddr:
		// A struct embedded by value belongs to the struct around it.
		return a.handedToInstance(fn, v.X, want, r, sp, depth)
	case *ssa.UnOp:
		// A variable of fn that a closure of fn captures: what is
		// stored in it.
		if stored, c := cellValue(v); c != nil {
			return a.handedToInstance(fn, stored, want, r, sp, depth)
		}
		if v.Op != token.MUL {
			return false
		}
		// A struct held by a field of a struct made for the instance,
		// when that field only ever holds structs made fresh for it and
		// its struct is never copied whole: it is the instance's too.
		if fa, ok := v.X.(*ssa.FieldAddr); ok {
			return a.freshOwner(v) != nil && !a.storedWhole(fa.X.Type()) &&
				a.handedToInstance(fn, fa.X, nil, r, sp, depth)
		}
		// A variable the root's closure captures: it must be declared
		// for this start and hold one value made for it.
		fv, ok := v.X.(*ssa.FreeVar)
		if !ok {
			return false
		}
		bound := a.boundAtStart(fn, fv, sp)
		if bound == nil {
			return a.capturedHanded(fn, fv, want, r, sp, depth)
		}
		cell, ok := bound.(*ssa.Alloc)
		if !ok || !a.madeEachStart(sp, cell) {
			return false
		}
		stored := cellStores(cell)
		for _, v := range stored {
			if !a.madeForStart(v, want, sp, 0) {
				return false
			}
		}
		return len(stored) > 0
	case *ssa.FreeVar:
		if b := a.boundAtStart(fn, v, sp); b != nil {
			return a.madeForStart(b, want, sp, 0)
		}
		return a.selfBoundHanded(fn, r, sp, depth)
	case *ssa.Parameter:
		return a.paramHandedToInstance(fn, v, want, r, sp, depth)
	}
	return false
}

// selfBoundHanded is handedToInstance for the receiver of a method value
// fn (a bound method wrapper) kept only in a field of its own receiver
// (r.tick = r.tickElection; ...; r.tick()): each call runs it on the
// struct it loads the method value from.
func (a *analysis) selfBoundHanded(fn *ssa.Function, r int, sp *spawn, depth int) bool {
	if len(fn.FreeVars) != 1 {
		return false
	}
	calls := 0
	for _, site := range a.p.callers[fn] {
		if !a.runs(r, site.Parent()) {
			continue
		}
		load, ok := site.Common().Value.(*ssa.UnOp)
		if !ok || load.Op != token.MUL {
			return false
		}
		fa, ok := load.X.(*ssa.FieldAddr)
		if !ok || !a.holdsSelfBound(fa) || !a.handedToInstance(site.Parent(), fa.X, nil, r, sp, depth+1) {
			return false
		}
		calls++
	}
	return calls > 0
}

// holdsSelfBound reports whether the field that fa addresses only ever
// holds nil or method values bound to the struct of the field itself, and
// is only loaded otherwise.
func (a *analysis) holdsSelfBound(fa *ssa.FieldAddr) bool {
	f := fieldOf(fa)
	return f != nil && a.onlyStoredAs(f, fa.Field, func(st *ssa.Store) bool {
		if c, ok := st.Val.(*ssa.Const); ok {
			return c.IsNil()
		}
		mc, ok := st.Val.(*ssa.MakeClosure)
		return ok && len(mc.Bindings) == 1 && mc.Bindings[0] == st.Addr.(*ssa.FieldAddr).X
	})
}

// capturedHanded is handedToInstance for a variable that the closure fn
// captures, when fn is not what the root starts but a closure its maker
// only calls, defers or hands to analysed functions that call it: the
// closure then runs in the same goroutine as its maker, on what the
// maker's variable holds.
func (a *analysis) capturedHanded(fn *ssa.Function, fv *ssa.FreeVar, want types.Type, r int, sp *spawn, depth int) bool {
	mc := makeClosureOf(fn)
	i := slices.Index(fn.FreeVars, fv)
	if mc == nil || i < 0 || i >= len(mc.Bindings) || !a.closureStaysInCalls(fn) {
		return false
	}
	cell, ok := mc.Bindings[i].(*ssa.Alloc)
	if !ok {
		return false
	}
	stored := cellStored(cell)
	return stored != nil && a.handedToInstance(mc.Parent(), stored, want, r, sp, depth+1)
}

// paramHandedToInstance is handedToInstance for a parameter of fn: the
// value the start hands over, when fn is the root's entry, and what every
// call of fn within the root passes for it.
func (a *analysis) paramHandedToInstance(fn *ssa.Function, p *ssa.Parameter, want types.Type, r int, sp *spawn, depth int) bool {
	idx := paramIndex(p)
	if idx < 0 {
		return false
	}
	entry := slices.Contains(a.roots[r].entries, fn)
	if entry {
		g, ok := sp.site.(*ssa.Go)
		if !ok {
			return false // only a go statement passes arguments
		}
		args := paramArgs(g)
		w := want
		if g.Call.IsInvoke() && idx == 0 {
			w = p.Type()
		}
		if idx >= len(args) || !a.madeForStart(args[idx], w, sp, 0) {
			return false
		}
	}
	calls, ok := a.argsInRoot(fn, r, func(caller *ssa.Function, c *ssa.CallCommon, args []ssa.Value) bool {
		w := want
		if c.IsInvoke() && idx == 0 {
			w = p.Type()
		}
		return a.handedToInstance(caller, args[idx], w, r, sp, depth+1)
	})
	return ok && (entry || calls > 0)
}

// calledThroughValue reports whether c calls, through a function value,
// the function fn itself (not a wrapper of it) with all its parameters,
// when the call graph sees every such call: fn is a closure, or a named
// function whose every use as a value stores it in a variable or field
// (r.step = stepLeader; ...; r.step(r, m)) or hands it to analysed
// functions that only call it.
func (a *analysis) calledThroughValue(c *ssa.CallCommon, fn *ssa.Function) bool {
	if c.StaticCallee() != nil || c.IsInvoke() || len(c.Args) != len(fn.Params) {
		return false
	}
	if fn.Parent() != nil {
		return true
	}
	if fn.Object() == nil {
		return false
	}
	for _, ref := range a.p.funcRefs[fn] {
		if !storedOnly(ref.instr) && !a.handedOn(ref.instr, ref.value, 0) {
			return false
		}
	}
	return true
}

// storedOnly reports whether instr stores a function value in a variable
// or field, directly or converted to a named function type first.
func storedOnly(instr ssa.Instruction) bool {
	switch instr := instr.(type) {
	case *ssa.Store:
		return true
	case *ssa.ChangeType:
		for _, r := range *instr.Referrers() {
			if st, ok := r.(*ssa.Store); !ok || st.Val != instr {
				return false
			}
		}
		return true
	}
	return false
}

// boundAtStart returns the value bound to the free variable fv of the
// root's entry fn by the closure the start at sp runs; nil when fn is not
// that closure.
func (a *analysis) boundAtStart(fn *ssa.Function, fv *ssa.FreeVar, sp *spawn) ssa.Value {
	mc, ok := sp.started.(*ssa.MakeClosure)
	if !ok || mc.Fn != fn {
		return nil
	}
	i := slices.Index(fn.FreeVars, fv)
	if i < 0 || i >= len(mc.Bindings) {
		return nil
	}
	return mc.Bindings[i]
}

// madeForStart reports whether v, a value of the function that starts sp,
// is a struct made anew for each start: allocated there, or returned new
// by every function called there, in the iteration that starts it. want
// is as for handedToInstance.
func (a *analysis) madeForStart(v ssa.Value, want types.Type, sp *spawn, depth int) bool {
	switch v := v.(type) {
	case *ssa.ChangeType:
		return a.madeForStart(v.X, want, sp, depth)
	case *ssa.MakeInterface:
		if want != nil && !sameType(v.X.Type(), want) {
			return true // never the receiver
		}
		return a.madeForStart(v.X, nil, sp, depth)
	case *ssa.Alloc:
		return v.Heap && a.madeEachStart(sp, v) && !a.copiedInto(v)
	case *ssa.Call:
		return a.madeEachStart(sp, v) && a.returnsNew(v, 0, want, depth)
	case *ssa.Extract:
		call, ok := v.Tuple.(*ssa.Call)
		return ok && a.madeEachStart(sp, call) && a.returnsNew(call, v.Index, want, depth)
	}
	return false
}

// madeEachStart reports whether the instruction v of the starting
// function runs once for each start: the start is in no loop, or v is in
// the body of the innermost loop around it.
func (a *analysis) madeEachStart(sp *spawn, v ssa.Instruction) bool {
	if v.Parent() != sp.fn {
		return false
	}
	if !a.inLoop(sp.site) {
		return true
	}
	return perIteration(sp, v.Pos())
}

// returnsNew reports whether every callee of call returns, as its result
// number idx, a struct pointer it allocated, nil, or what a call returning
// new structs returns; want is as for handedToInstance. The callees are
// those of the analysed code. Whether a callee also keeps the struct does
// not matter here; see instanceOwn.
func (a *analysis) returnsNew(call *ssa.Call, idx int, want types.Type, depth int) bool {
	if depth > maxOwnerDepth {
		return false
	}
	return a.allReturn(call, idx, func(v ssa.Value) bool { return a.newValue(v, want, depth+1) })
}

// newValue reports whether the returned value v is a new struct pointer
// (see returnsNew).
func (a *analysis) newValue(v ssa.Value, want types.Type, depth int) bool {
	if depth > maxOwnerDepth {
		return false
	}
	switch v := v.(type) {
	case *ssa.Alloc:
		return v.Heap && !a.copiedInto(v)
	case *ssa.Const:
		return v.IsNil()
	case *ssa.ChangeType:
		return a.newValue(v.X, want, depth)
	case *ssa.MakeInterface:
		if want != nil && !sameType(v.X.Type(), want) {
			return true // never the receiver
		}
		return a.newValue(v.X, nil, depth)
	case *ssa.Phi:
		for _, e := range v.Edges {
			if !a.newValue(e, want, depth+1) {
				return false
			}
		}
		return true
	case *ssa.Call:
		return a.returnsNew(v, 0, want, depth)
	case *ssa.Extract:
		call, ok := v.Tuple.(*ssa.Call)
		return ok && a.returnsNew(call, v.Index, want, depth)
	case *ssa.UnOp:
		// A variable a closure captures (t.Cleanup(func() {
		// n.Close() }); return n): the one value stored in it.
		if stored, c := cellValue(v); c != nil {
			return a.newValue(stored, want, depth+1)
		}
	}
	return false
}

// copiedInto reports whether a whole struct value is stored into the
// allocation alloc (c := base): the copy shares base's maps, so the new
// struct does not make them the instance's own. The zero value and a
// struct value a constructor has just built (n := newNode(e)) share
// nothing with anyone.
func (a *analysis) copiedInto(alloc *ssa.Alloc) bool {
	for _, r := range *alloc.Referrers() {
		if st, ok := r.(*ssa.Store); ok && st.Addr == alloc && !a.unsharedValue(st.Val) {
			return true
		}
	}
	return false
}

// unsharedValue reports whether the struct value v shares its maps and
// pointers with nothing else: the zero value, or the result of a call
// whose callees all build it for the call, as a composite literal whose
// fields are only set and which is only returned (return node{e: e}).
func (a *analysis) unsharedValue(v ssa.Value) bool {
	switch v := v.(type) {
	case *ssa.Const:
		return true // the zero value shares no map
	case *ssa.Call:
		if v.Call.IsInvoke() || v.Call.Signature().Results().Len() != 1 {
			return false
		}
		return a.allReturn(v, 0, builtToReturn)
	}
	return false
}

// builtToReturn reports whether the struct value v is loaded from a local
// variable of its function that is built for the result and only loaded
// to be returned: a composite literal (return node{e: e}), or a variable
// set from one (p := T{...}; ...; return p).
func builtToReturn(v ssa.Value) bool {
	load, ok := v.(*ssa.UnOp)
	if !ok || load.Op != token.MUL {
		return false
	}
	local, ok := load.X.(*ssa.Alloc)
	return ok && builtLocal(local, func(u ssa.Instruction) bool {
		_, ok := u.(*ssa.Return)
		return ok
	})
}

// onlyStoredThrough reports whether the address addr, of a part of a
// local variable, is only stored through, directly or through the
// addresses of its own parts (a nested composite literal).
func onlyStoredThrough(addr ssa.Value) bool {
	for _, u := range *addr.Referrers() {
		switch u := u.(type) {
		case *ssa.Store:
			if u.Addr != addr {
				return false
			}
		case *ssa.FieldAddr, *ssa.IndexAddr:
			if !onlyStoredThrough(u.(ssa.Value)) {
				return false
			}
		case *ssa.DebugRef:
		default:
			return false
		}
	}
	return true
}

// builtLocal reports whether the local struct variable local is only set
// field by field, zeroed, or set from a composite literal built the same
// way, and only loaded for uses that loadedFor accepts.
func builtLocal(local *ssa.Alloc, loadedFor func(ssa.Instruction) bool) bool {
	if local.Heap {
		return false
	}
	for _, r := range *local.Referrers() {
		switch r := r.(type) {
		case *ssa.FieldAddr:
			if !onlyStoredThrough(r) {
				return false
			}
		case *ssa.Store:
			if r.Addr != local {
				return false
			}
			if _, zero := r.Val.(*ssa.Const); zero {
				continue
			}
			load, ok := r.Val.(*ssa.UnOp)
			if !ok || load.Op != token.MUL {
				return false
			}
			lit, ok := load.X.(*ssa.Alloc)
			store := r
			if !ok || lit == local || !builtLocal(lit, func(u ssa.Instruction) bool { return u == store }) {
				return false
			}
		case *ssa.UnOp:
			if r.Op != token.MUL {
				return false
			}
			for _, u := range *r.Referrers() {
				if _, dbg := u.(*ssa.DebugRef); !dbg && !loadedFor(u) {
					return false
				}
			}
		case *ssa.DebugRef:
		default:
			return false
		}
	}
	return true
}

// ownMapField reports whether the map field that fa addresses only ever
// holds maps made for its struct: every store into it, anywhere in the
// analysed code, stores a new map or nil, its address is not handed on,
// and no struct of its type is stored whole (a copy shares the maps of
// the original). Two structs then never share the map of that field.
func (a *analysis) ownMapField(fa *ssa.FieldAddr) bool {
	f := fieldOf(fa)
	if f == nil {
		return false
	}
	if own, ok := a.ownMapMemo[f.Pos()]; ok {
		return own
	}
	own := !a.storedWhole(fa.X.Type())
	for _, addr := range a.addressesOf(f, fa.Field) {
		for _, r := range *addr.Referrers() {
			switch r := r.(type) {
			case *ssa.UnOp:
				own = own && r.Op == token.MUL
			case *ssa.Store:
				own = own && r.Addr == addr && newMapStored(r)
			case *ssa.DebugRef:
			default:
				own = false
			}
		}
	}
	a.ownMapMemo[f.Pos()] = own
	return own
}

// newMapStored reports whether store puts nil, or a map made for it: made
// in the same function, used there only to be filled and read, and made
// anew each time the store runs (no loop takes the store back to itself
// without making the map again). A map made once and stored into every
// struct a loop makes would be shared by all of them.
func newMapStored(store *ssa.Store) bool {
	switch v := store.Val.(type) {
	case *ssa.MakeMap:
		if !onlyMapOpsBut(v, store) {
			return false
		}
		return madeForEachRun(v, store)
	case *ssa.Const:
		return v.IsNil()
	}
	return false
}

// storedWhole reports whether a struct of the type that ptr points to is
// stored whole anywhere in the analysed code (*p = s, or a struct value
// put into a slice or map element, or copied into a new variable), other
// than as a value that shares nothing (unsharedValue). A struct type
// without a name is taken to be.
func (a *analysis) storedWhole(ptr types.Type) bool {
	p, ok := ptr.Underlying().(*types.Pointer)
	if !ok {
		return true
	}
	named, ok := types.Unalias(p.Elem()).(*types.Named)
	if !ok {
		return true
	}
	if a.wholeStores == nil {
		a.wholeStores = map[token.Pos]bool{}
		for _, fn := range a.p.funcs {
			for _, b := range fn.Blocks {
				for _, instr := range b.Instrs {
					st, ok := instr.(*ssa.Store)
					if !ok {
						continue
					}
					n, ok := types.Unalias(st.Val.Type()).(*types.Named)
					if !ok {
						continue
					}
					if _, isStruct := n.Underlying().(*types.Struct); isStruct && !a.unsharedValue(st.Val) {
						a.wholeStores[n.Origin().Obj().Pos()] = true
					}
				}
			}
		}
	}
	return a.wholeStores[named.Origin().Obj().Pos()]
}

// sameType reports whether x and y are the same type, or pointers to it,
// comparing named types by declaration: a package and its test variant
// are type-checked apart.
func sameType(x, y types.Type) bool {
	if types.Identical(x, y) {
		return true
	}
	px, xPtr := x.(*types.Pointer)
	py, yPtr := y.(*types.Pointer)
	if xPtr != yPtr {
		return false
	}
	if xPtr {
		x, y = px.Elem(), py.Elem()
	}
	nx, ok := types.Unalias(x).(*types.Named)
	if !ok {
		return false
	}
	ny, ok := types.Unalias(y).(*types.Named)
	return ok && nx.Origin().Obj().Pos() == ny.Origin().Obj().Pos()
}
