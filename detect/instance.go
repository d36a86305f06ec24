package detect

import (
	"go/token"
	"go/types"
	"slices"

	"golang.org/x/tools/go/ssa"
)

// A struct allocated by a call and handed only down the call chain (as a
// receiver or argument), never stored in memory, captured, sent or given
// to a goroutine, is one instance per activation of the allocating
// function. A map field reached through such a pointer belongs to the
// activation: accesses to it race with nothing, even when the field of
// other instances is shared (each request's response, each parser, each
// reload's Options).

// privateInstance reports whether the map value m is loaded from a field
// of a struct that only the current activation can see.
func (a *analysis) privateInstance(m ssa.Value) bool {
	fa := loadedField(m)
	if fa == nil {
		return false
	}
	return a.freshBase(fa.X, 0)
}

// maxFreshDepth bounds how far freshBase follows parameters to callers.
const maxFreshDepth = 8

// freshBase reports whether every value the struct pointer v may hold is
// an allocation that does not escape its goroutine, or nil, reached only
// through parameters, results of constructors, phis and embedded fields.
func (a *analysis) freshBase(v ssa.Value, depth int) bool {
	if r, ok := a.freshMemo[v]; ok {
		return r
	}
	if depth > maxFreshDepth {
		return false
	}
	a.freshMemo[v] = true // a cycle through phis or recursion adds nothing
	r := false
	switch v := v.(type) {
	case *ssa.Alloc:
		r = !a.copiedFromParam(v) && (a.ownUntilSent(v) || a.leavesByReturn(v, map[ssa.Value]bool{}))
	case *ssa.FieldAddr:
		r = a.freshBase(v.X, depth+1)
	case *ssa.IndexAddr:
		// An element of a slice the activation made and fills in
		// place (elements.go), or of an array it owns.
		if _, isSlice := v.X.Type().Underlying().(*types.Slice); isSlice {
			r = a.ownedElems(v.X)
		} else {
			r = a.freshBase(v.X, depth+1)
		}
	case *ssa.Phi:
		r = true
		for _, e := range v.Edges {
			r = r && a.freshBase(e, depth+1)
		}
	case *ssa.ChangeType:
		// The same pointer, converted between an instantiated and a
		// generic struct type by an instantiation wrapper.
		r = a.freshBase(v.X, depth+1)
	case *ssa.MakeInterface:
		// The struct pointer boxed, as a constructor returns it.
		r = a.freshBase(v.X, depth+1)
	case *ssa.Const:
		// A nil pointer, before a struct is made lazily (var c *cache;
		// if c == nil { c = &cache{...} }): it has no map to reach.
		r = v.IsNil()
	case *ssa.Parameter:
		r = a.freshParam(v, depth)
	case *ssa.Call:
		// A constructor's result: fresh when every callee returns a
		// fresh allocation and the caller does not publish it.
		r = a.freshResult(v, depth) && a.ownUntilSent(v)
	case *ssa.Extract:
		// The same, for one result of a constructor with several
		// (rn, err := NewRawNode(c)).
		r = a.freshExtract(v, depth) && !a.ptrEscapes(v)
	case *ssa.UnOp:
		// The variable a closure captures: the value stored in it, seen
		// from the function that keeps it or from a closure that runs
		// only within that function's calls.
		if stored, c := cellValue(v); c != nil {
			r = a.freshBase(stored, depth+1)
		} else if fv, ok := v.X.(*ssa.FreeVar); ok && v.Op == token.MUL {
			mc, stored, _ := a.capturedWithinCalls(fv)
			r = mc != nil && a.freshBase(stored, depth+1)
		}
	}
	if elem := receivedFrom(v); elem != nil {
		// A struct received from a channel: the receiver's own when
		// every send hands one over (handover.go), until it sends it on.
		r = a.handsOver(elem) && a.ownUntilSent(v)
	}
	a.freshMemo[v] = r
	return r
}

// copiedFromParam reports whether the variable alloc holds a struct
// parameter passed by value (func worker(c Counter) { c.hits[k]++ }): the
// copy's map fields are the maps of the caller's struct, which the
// caller may hand to other goroutines as well. A value receiver counts
// when its method is where a goroutine starts (go c.Hit(k)): the
// goroutines share the maps of the struct the go statement copied. Other
// copies (c := *p, a range over structs, a value receiver of a method
// called in the goroutine) are taken to be the function's own.
func (a *analysis) copiedFromParam(alloc *ssa.Alloc) bool {
	for _, r := range *alloc.Referrers() {
		if st, ok := r.(*ssa.Store); ok && st.Addr == alloc {
			if p, ok := st.Val.(*ssa.Parameter); ok && (!isReceiver(p) || a.isSpawnEntry(p.Parent())) {
				return true
			}
		}
	}
	return false
}

// freshResult reports whether every callee of call returns, as its only
// result, a fresh struct pointer.
func (a *analysis) freshResult(call *ssa.Call, depth int) bool {
	if call.Call.IsInvoke() || call.Call.Signature().Results().Len() != 1 {
		return false
	}
	return a.allReturn(call, 0, func(v ssa.Value) bool { return a.freshBase(v, depth+1) })
}

// freshExtract reports whether every callee of the call that v is a
// result of returns, as that result, a fresh struct pointer.
func (a *analysis) freshExtract(v *ssa.Extract, depth int) bool {
	call, ok := v.Tuple.(*ssa.Call)
	if !ok || call.Call.IsInvoke() {
		return false
	}
	return a.allReturn(call, v.Index, func(r ssa.Value) bool { return a.freshBase(r, depth+1) })
}

// allReturn reports whether call has callees in the analysed code and
// each returns, as its result number idx, a value ok accepts, on every
// return.
func (a *analysis) allReturn(call *ssa.Call, idx int, ok func(ssa.Value) bool) bool {
	callees := a.p.calls[call]
	if len(callees) == 0 {
		return false
	}
	for _, callee := range callees {
		if idx >= callee.Signature.Results().Len() {
			return false
		}
		returns := 0
		for _, b := range callee.Blocks {
			ret, isReturn := b.Instrs[len(b.Instrs)-1].(*ssa.Return)
			if !isReturn {
				continue
			}
			returns++
			if !ok(ret.Results[idx]) {
				return false
			}
		}
		if returns == 0 {
			return false
		}
	}
	return true
}

// freshParam reports whether every caller of the parameter's function
// passes a fresh struct for it.
func (a *analysis) freshParam(p *ssa.Parameter, depth int) bool {
	idx, calls := a.staticCalls(p)
	if idx < 0 && isReceiver(p) {
		return a.freshReceiver(p, depth)
	}
	for _, call := range calls {
		if !a.freshBase(call.Call.Args[idx], depth+1) {
			return false
		}
	}
	return len(calls) > 0
}

// freshReceiver reports whether every call of the method whose receiver
// is p passes a fresh struct for it, the method being called through
// interfaces as well as by name (m := newMatcher(); m.add(s), where
// newMatcher returns its struct as an interface).
func (a *analysis) freshReceiver(p *ssa.Parameter, depth int) bool {
	calls := a.receiverCalls(p)
	for _, call := range calls {
		if !a.freshBase(receiverOf(call), depth+1) {
			return false
		}
	}
	return len(calls) > 0
}

// receiverCalls returns every call of the method whose receiver is p,
// when all are plain calls, naming it or through an interface, and the
// method is not a root's entry nor used as a value; none otherwise.
func (a *analysis) receiverCalls(p *ssa.Parameter) []*ssa.Call {
	fn := p.Parent()
	if fn.Synthetic != "" || fn.Parent() != nil || a.isRootEntry(fn) || len(a.p.funcRefs[fn]) > 0 {
		return nil
	}
	var calls []*ssa.Call
	for _, site := range a.p.callers[fn] {
		call, ok := site.(*ssa.Call)
		if !ok {
			return nil // go or defer
		}
		c := call.Common()
		if !c.IsInvoke() && (!a.p.callsStatically(c, fn) || len(c.Args) != len(fn.Params)) {
			return nil
		}
		calls = append(calls, call)
	}
	return calls
}

// receiverOf returns the receiver a method call passes: the interface's
// value, or the first argument.
func receiverOf(call *ssa.Call) ssa.Value {
	if call.Call.IsInvoke() {
		return call.Call.Value
	}
	return call.Call.Args[0]
}

// isReceiver reports whether p is the receiver of a method.
func isReceiver(p *ssa.Parameter) bool {
	fn := p.Parent()
	return fn.Signature.Recv() != nil && len(fn.Params) > 0 && fn.Params[0] == p
}

// staticCalls returns the index of parameter p and every call of its
// function, when all of them are visible calls: plain calls naming the
// function, or for a closure, calls through function values of a closure
// value that never leaves the calls of the analysed code; none otherwise.
// A wrapper, a closure handed elsewhere, or the entry of a root (started
// as a goroutine, a test, or an exported method assumed to be called from
// code not analysed) has callers that are not all visible calls.
func (a *analysis) staticCalls(p *ssa.Parameter) (int, []*ssa.Call) {
	fn := p.Parent()
	if fn.Synthetic != "" || a.isRootEntry(fn) {
		return -1, nil
	}
	if fn.Parent() != nil {
		return a.closureCalls(p)
	}
	if fn.Object() == nil {
		return -1, nil
	}
	return a.namedCalls(p)
}

// closureCalls returns the index of parameter p of a closure and every
// call of the closure, when the closure value is only called or handed to
// analysed functions that do the same, so that the call graph sees every
// call: rangeEval(..., func(v Vector, enh *Helper) { ... }) called back by
// rangeEval with a helper it made.
func (a *analysis) closureCalls(p *ssa.Parameter) (int, []*ssa.Call) {
	if !a.closureStaysInCalls(p.Parent()) {
		return -1, nil
	}
	return a.callsPassing(p, true)
}

// closureStaysInCalls reports whether every closure value made of fn is
// only called, or passed as an argument to functions of the analysed code
// whose parameter, in turn, is only called or passed on the same way.
func (a *analysis) closureStaysInCalls(fn *ssa.Function) bool {
	return memoized(a.closureMemo, fn, func(fn *ssa.Function) bool {
		if mc := makeClosureOf(fn); mc != nil {
			return a.calledOrHandedOn(mc, 0)
		}
		return a.literalStaysInCalls(fn)
	})
}

// literalStaysInCalls is closureStaysInCalls for a function literal
// without free variables: the value is the function itself, an operand
// of the instructions of its parent that use it, each of which must call
// it or hand it on.
func (a *analysis) literalStaysInCalls(fn *ssa.Function) bool {
	parent := fn.Parent()
	if parent == nil {
		return false
	}
	found := false
	var buf [10]*ssa.Value
	for _, b := range parent.Blocks {
		for _, instr := range b.Instrs {
			if mc, ok := instr.(*ssa.MakeClosure); ok && mc.Fn == fn {
				return false // also made as a closure: not followed here
			}
			if _, ok := instr.(*ssa.DebugRef); ok {
				continue
			}
			for _, op := range instr.Operands(buf[:0]) {
				if *op != fn {
					continue
				}
				if !a.handedOn(instr, fn, 0) {
					return false
				}
				found = true
			}
		}
	}
	return found
}

// makeClosureOf returns the one MakeClosure that makes the closure fn,
// or nil (a function literal without free variables is a plain function
// value, whose uses are not recorded).
func makeClosureOf(fn *ssa.Function) *ssa.MakeClosure {
	parent := fn.Parent()
	if parent == nil {
		return nil
	}
	var found *ssa.MakeClosure
	for _, b := range parent.Blocks {
		for _, instr := range b.Instrs {
			if mc, ok := instr.(*ssa.MakeClosure); ok && mc.Fn == fn {
				if found != nil {
					return nil
				}
				found = mc
			}
		}
	}
	return found
}

// calledOrHandedOn reports whether the function value v is only called,
// or passed to analysed functions that only call it or pass it on (see
// onlyCalled for a value that is only called).
func (a *analysis) calledOrHandedOn(v ssa.Value, depth int) bool {
	if depth > maxTraceDepth {
		return false
	}
	refs := v.Referrers()
	if refs == nil {
		return false
	}
	for _, r := range *refs {
		switch r.(type) {
		case *ssa.DebugRef, *ssa.BinOp:
			continue // a comparison with nil hands it to no one
		}
		if st, ok := r.(*ssa.Store); ok {
			// Kept in a variable a closure captures (the body of a
			// range-over-func loop calling a callback parameter).
			if c := storedInCell(st, v); c != nil && a.cellOnlyCalled(c, depth) {
				continue
			}
			return false
		}
		if !a.handedOn(r, v, depth) {
			return false
		}
	}
	return true
}

// cellOnlyCalled reports whether the function value that the variable c
// (a cell of its function, or a closure's free variable capturing one)
// holds is only called or handed on as calledOrHandedOn says, by its
// function and by closures that run only within that function's calls.
// Those steps stay within one function and its closures, so they count
// no depth.
func (a *analysis) cellOnlyCalled(c ssa.Value, depth int) bool {
	loaded := func(load *ssa.UnOp) bool { return !a.calledOrHandedOn(load, depth) }
	captured := func(mc *ssa.MakeClosure, fv ssa.Value) bool {
		return a.closureLeaves(mc) || !a.cellOnlyCalled(fv, depth)
	}
	return !cellUses(c, loaded, captured)
}

// handedOn reports whether instr, a use of the function value v, calls or
// defers v, or passes it to analysed functions that only call it or pass
// it on.
func (a *analysis) handedOn(instr ssa.Instruction, v ssa.Value, depth int) bool {
	if d, ok := instr.(*ssa.Defer); ok {
		return d.Call.Value == v && !d.Call.IsInvoke() // called on return
	}
	call, ok := instr.(*ssa.Call)
	if !ok {
		return false
	}
	c := call.Common()
	if c.Value == v && !c.IsInvoke() {
		return true // called here
	}
	callee := c.StaticCallee()
	if c.IsInvoke() || callee == nil || a.p.link(callee) == nil {
		return false
	}
	callee = a.p.link(callee)
	if len(callee.Params) != len(c.Args) {
		return false
	}
	for i, arg := range c.Args {
		// A recursive call handing the parameter back to itself adds
		// nothing.
		if arg == v && callee.Params[i] != v && !a.calledOrHandedOn(callee.Params[i], depth+1) {
			return false
		}
	}
	return true
}

// namedCalls returns the index of parameter p of a named function and
// every call of the function, when all of them are seen: plain calls
// naming it with all its arguments, and, where the function is used as a
// value, calls through values that are only called or handed to analysed
// functions that do the same; none otherwise.
func (a *analysis) namedCalls(p *ssa.Parameter) (int, []*ssa.Call) {
	fn := p.Parent()
	refs := a.p.funcRefs[fn]
	for _, ref := range refs {
		if !a.handedOn(ref.instr, ref.value, 0) {
			return -1, nil // a value whose calls are not all seen
		}
	}
	return a.callsPassing(p, len(refs) > 0)
}

// callsPassing returns the index of parameter p and every call of its
// function, when all of them are calls with all its arguments that name
// the function or, with throughValues, call it through a function value;
// none otherwise.
func (a *analysis) callsPassing(p *ssa.Parameter, throughValues bool) (int, []*ssa.Call) {
	fn := p.Parent()
	idx := paramIndex(p)
	if idx < 0 {
		return -1, nil
	}
	var calls []*ssa.Call
	for _, site := range a.p.callers[fn] {
		call, ok := site.(*ssa.Call)
		if !ok {
			return -1, nil // go or defer
		}
		c := call.Common()
		named := a.p.callsStatically(c, fn)
		viaValue := throughValues && c.StaticCallee() == nil
		if c.IsInvoke() || !named && !viaValue || len(c.Args) != len(fn.Params) {
			return -1, nil // called by a function it was handed to
		}
		calls = append(calls, call)
	}
	return idx, calls
}

// ptrEscapes reports whether the pointer v may become visible outside the
// call chain of its activation: stored in memory, captured, sent,
// converted to an interface, passed to a goroutine or to code outside the
// analysis.
func (a *analysis) ptrEscapes(v ssa.Value) bool {
	return memoized(a.escMemo, v, a.escapesNow)
}

func (a *analysis) escapesNow(v ssa.Value) bool {
	refs := v.Referrers()
	if refs == nil {
		return false
	}
	for _, r := range *refs {
		if a.escapesVia(v, r) {
			return true
		}
	}
	return false
}

// escapesVia reports whether the use r of the pointer v may make it
// visible outside the call chain of its activation.
func (a *analysis) escapesVia(v ssa.Value, r ssa.Instruction) bool {
	switch r := r.(type) {
	case *ssa.FieldAddr:
		return fieldMayHoldMap(r) && a.ptrEscapes(r)
	case *ssa.IndexAddr, *ssa.Phi, *ssa.ChangeType, *ssa.ChangeInterface:
		return a.ptrEscapes(r.(ssa.Value))
	case *ssa.TypeAssert:
		// The boxed pointer taken out again.
		if !r.CommaOk {
			return a.ptrEscapes(r)
		}
		for _, e := range *r.Referrers() {
			if x, ok := e.(*ssa.Extract); !ok || x.Index == 0 && a.ptrEscapes(x) {
				return true
			}
		}
		return false
	case *ssa.UnOp:
		return r.Op != token.MUL
	case *ssa.Store:
		return r.Val == v && a.storeEscapes(r, v)
	case *ssa.DebugRef, *ssa.BinOp, *ssa.Return:
		return false
	case *ssa.MakeInterface:
		// Boxed: escapes when the interface does (a constructor
		// returning its struct as an interface that the caller only
		// calls methods of).
		return !printedOnly(r) && a.ptrEscapes(r)
	case *ssa.Call:
		if mi, ok := v.(*ssa.MakeInterface); ok && codecKeepsNothing(r.Common(), mi) {
			return false
		}
		return a.escapesInCall(v, r.Common(), a.p.calls[r])
	case *ssa.Defer:
		return a.escapesInCall(v, r.Common(), a.p.calls[r])
	case *ssa.MakeClosure:
		return !a.boundToItself(r, v)
	}
	return true
}

// boundToItself reports whether the closure mc, which binds the struct
// pointer v, is only stored in fields of v itself, and publishes nothing
// of v when it runs (r.tick = r.tickElection): whoever calls it already
// has v.
func (a *analysis) boundToItself(mc *ssa.MakeClosure, v ssa.Value) bool {
	fn, ok := mc.Fn.(*ssa.Function)
	if !ok {
		return false
	}
	for _, r := range *mc.Referrers() {
		switch r := r.(type) {
		case *ssa.Store:
			fa, ok := r.Addr.(*ssa.FieldAddr)
			if !ok || fa.X != v || r.Val != mc {
				return false
			}
		case *ssa.DebugRef:
		default:
			return false
		}
	}
	for i, b := range mc.Bindings {
		if b == v && (i >= len(fn.FreeVars) || a.ptrEscapes(fn.FreeVars[i])) {
			return false
		}
	}
	return true
}

// storeEscapes reports whether storing the pointer v may publish it:
// anywhere but in a local variable whose loads and closures keep it in
// the activation.
func (a *analysis) storeEscapes(store *ssa.Store, v ssa.Value) bool {
	c := storedInCell(store, v)
	return c == nil || a.cellEscapes(c)
}

// escapesInCall reports whether v, an argument of the call, may escape in
// a callee.
func (a *analysis) escapesInCall(v ssa.Value, common *ssa.CallCommon, callees []*ssa.Function) bool {
	// The function values the call hands on and runs are not what v is
	// passed to; a call with no other callee passes it to code not seen.
	var targets []*ssa.Function
	for _, callee := range callees {
		if !a.p.handedTo(common, callee) || a.p.callsStatically(common, callee) {
			targets = append(targets, callee)
		}
	}
	if len(targets) == 0 || common.Value == v && !common.IsInvoke() {
		return true
	}
	// A method called through an interface gets the interface's value
	// as its receiver, before the arguments.
	params := common.Args
	if common.IsInvoke() {
		params = append([]ssa.Value{common.Value}, common.Args...)
	}
	for i, arg := range params {
		if arg != v {
			continue
		}
		for _, callee := range targets {
			if len(callee.Params) != len(params) || len(callee.Blocks) == 0 {
				return true
			}
			if a.ptrEscapes(callee.Params[i]) {
				return true
			}
		}
	}
	return false
}

// isRootEntry reports whether fn is where some root starts.
func (a *analysis) isRootEntry(fn *ssa.Function) bool {
	a.indexEntries()
	return a.entrySet[fn]
}

// isSpawnEntry reports whether fn is where a goroutine the code starts
// begins: a go statement's function, or a callback run concurrently.
func (a *analysis) isSpawnEntry(fn *ssa.Function) bool {
	a.indexEntries()
	return a.spawnEntrySet[fn]
}

// indexEntries indexes the functions where roots start.
func (a *analysis) indexEntries() {
	if a.entrySet != nil {
		return
	}
	a.entrySet = map[*ssa.Function]bool{}
	a.spawnEntrySet = map[*ssa.Function]bool{}
	for _, r := range a.roots {
		for _, e := range r.entries {
			a.entrySet[e] = true
			if r.kind == rootSpawn {
				a.spawnEntrySet[e] = true
			}
		}
	}
}

// unpublished reports whether the map value m, read or written at instr,
// is loaded from a field of a struct that a constructor called in the
// same function has just returned (sac := NewAccount(); sac.keys[k] = v;
// s.register(sac)), and that nothing has published before instr: no
// store, capture, send or call that lets it escape comes first.
func (a *analysis) unpublished(m ssa.Value, instr ssa.Instruction) bool {
	fa := loadedField(m)
	if fa == nil {
		return false
	}
	call, ok := fa.X.(*ssa.Call)
	if !ok || call.Parent() != instr.Parent() || !a.freshResult(call, 0) {
		return false
	}
	refs := call.Referrers()
	if refs == nil {
		return false
	}
	for _, r := range *refs {
		if r == instr || !a.publishes(call, r) {
			continue
		}
		if r.Block() != instr.Block() || before(r, instr) {
			return false // published first, or on some path before
		}
	}
	return true
}

// publishes reports whether the use r of pointer v may let it escape:
// as escapesVia says, and also by a return, a deferred call or a capture,
// which make v visible after the point being judged.
func (a *analysis) publishes(v ssa.Value, r ssa.Instruction) bool {
	switch r.(type) {
	case *ssa.Return, *ssa.Defer, *ssa.MakeClosure:
		return true
	}
	return a.escapesVia(v, r)
}

// printedOnly reports whether the interface value mi is only an operand of
// calls of fmt's print functions (fmt.Sprintf("%s@%p", s.name, s)). fmt
// reads its operands during the call and keeps none of them, so printing a
// pointer publishes nothing. The methods fmt may call on it (String,
// Error, Format) run during the call, on the caller's goroutine.
func printedOnly(mi *ssa.MakeInterface) bool {
	refs := mi.Referrers()
	if refs == nil || len(*refs) == 0 {
		return false
	}
	for _, r := range *refs {
		st, ok := r.(*ssa.Store)
		if !ok || st.Val != ssa.Value(mi) {
			return false
		}
		ia, ok := st.Addr.(*ssa.IndexAddr)
		if !ok {
			return false
		}
		args, ok := ia.X.(*ssa.Alloc)
		if !ok || !printOperands(args) {
			return false
		}
	}
	return true
}

// printOperands reports whether the array args only holds the variadic
// operands of fmt print calls: its elements are only stored into, and
// its slices only passed as the last argument of such calls.
func printOperands(args *ssa.Alloc) bool {
	for _, r := range *args.Referrers() {
		switch r := r.(type) {
		case *ssa.IndexAddr:
			for _, u := range *r.Referrers() {
				if st, ok := u.(*ssa.Store); !ok || st.Addr != ssa.Value(r) {
					return false
				}
			}
		case *ssa.Slice:
			for _, u := range *r.Referrers() {
				call, ok := u.(*ssa.Call)
				if !ok || !isFmtPrint(call.Common()) || call.Common().Args[len(call.Common().Args)-1] != ssa.Value(r) {
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

// codecKeepsNothing reports whether the call c is one of the standard
// library's encoders or decoders, handed the interface value mi: they
// read or fill the value during the call and keep none of it (l :=
// &lock{}; json.Unmarshal(data, l) leaves l as private as it was). The
// value's types must have no methods such a codec calls (UnmarshalJSON,
// MarshalText, ...), which are user code that might keep what they get.
func codecKeepsNothing(c *ssa.CallCommon, mi *ssa.MakeInterface) bool {
	fn := c.StaticCallee()
	if fn == nil || !keepingNothing[fn.String()] {
		return false
	}
	return !hasCodecMethods(mi.X.Type(), map[types.Type]bool{})
}

// keepingNothing are the codecs codecKeepsNothing knows, by ssa name.
var keepingNothing = map[string]bool{
	"encoding/json.Marshal":           true,
	"encoding/json.MarshalIndent":     true,
	"encoding/json.Unmarshal":         true,
	"(*encoding/json.Decoder).Decode": true,
	"(*encoding/json.Encoder).Encode": true,
	"encoding/xml.Marshal":            true,
	"encoding/xml.MarshalIndent":      true,
	"encoding/xml.Unmarshal":          true,
	"(*encoding/xml.Decoder).Decode":  true,
	"(*encoding/xml.Encoder).Encode":  true,
	"(*encoding/gob.Decoder).Decode":  true,
	"(*encoding/gob.Encoder).Encode":  true,
}

// codecMethods are the methods through which the codecs of keepingNothing
// call user code.
var codecMethods = []string{
	"MarshalJSON", "UnmarshalJSON", "MarshalText", "UnmarshalText",
	"MarshalXML", "UnmarshalXML", "MarshalXMLAttr", "UnmarshalXMLAttr",
	"GobEncode", "GobDecode", "MarshalBinary", "UnmarshalBinary",
}

// hasCodecMethods reports whether a value of type t may lead a codec to
// user code: a type it reaches has one of codecMethods, or is an
// interface, which may hold any such type.
func hasCodecMethods(t types.Type, seen map[types.Type]bool) bool {
	if seen[t] {
		return false
	}
	seen[t] = true
	if _, ok := types.Unalias(t).(*types.Named); ok {
		for _, recv := range []types.Type{t, types.NewPointer(t)} {
			ms := types.NewMethodSet(recv)
			for _, name := range codecMethods {
				if ms.Lookup(nil, name) != nil {
					return true
				}
			}
		}
	}
	switch u := t.Underlying().(type) {
	case *types.Interface:
		return true
	case *types.Pointer:
		return hasCodecMethods(u.Elem(), seen)
	case *types.Slice:
		return hasCodecMethods(u.Elem(), seen)
	case *types.Array:
		return hasCodecMethods(u.Elem(), seen)
	case *types.Map:
		return hasCodecMethods(u.Key(), seen) || hasCodecMethods(u.Elem(), seen)
	case *types.Struct:
		for i := range u.NumFields() {
			if hasCodecMethods(u.Field(i).Type(), seen) {
				return true
			}
		}
	}
	return false
}

// isFmtPrint reports whether c calls one of fmt's print or Append
// functions, which format their operands and keep none of them (not
// Errorf, whose %w keeps an error).
func isFmtPrint(c *ssa.CallCommon) bool {
	fn := c.StaticCallee()
	if fn == nil {
		return false
	}
	obj, ok := fn.Object().(*types.Func)
	return ok && obj.Pkg() != nil && obj.Pkg().Path() == "fmt" && obj.Name() != "Errorf" && IsPrintFunc(obj)
}

// sharedAt says where the map value m, read or written at instr, may
// belong to a struct that other goroutines can reach. It is private when m
// is loaded from a field of a struct made in the current activation, by a
// composite literal or variable (var resp T) or by a constructor that
// returns a fresh allocation, here or in a caller that handed it down as
// an argument, and no use of the struct that could publish it (a store, a
// capture, a send, an interface conversion, a call that may retain it)
// can run before instr. Such a struct is new in each activation:
// goroutines started by earlier activations, or by this one before instr
// without being handed the struct, cannot reach it, so the access races
// with nothing. A use that publishes it on another path only (an error
// branch that marshals and returns) does not count.
//
// Where some callers hand down a struct that may be shared and others a
// private one, the access touches a shared struct only in the roots that
// run one of the functions where sharing may start (sharing.origins).
func (a *analysis) sharedAt(m ssa.Value, instr ssa.Instruction) sharing {
	fa := loadedField(m)
	if fa == nil {
		return sharedAnywhere
	}
	return a.sharedBefore(fa.X, instr, fa.Field, 0)
}

// sharing says where a struct handed down to an access may already be
// reachable by other goroutines.
type sharing struct {
	// anywhere: in any root that runs the access.
	anywhere bool
	// origins are the functions in which the struct may come from code
	// not followed (a field, a global, a caller not seen) or be published
	// before it is handed down: every call chain that brings a shared
	// struct to the access passes through one of them, so only roots
	// running one of them can touch a shared struct there. None, with
	// anywhere false: the struct is private at the access.
	origins []*ssa.Function
}

// sharedAnywhere is a struct that may be shared whichever root runs the
// access.
var sharedAnywhere = sharing{anywhere: true}

// maxOrigins bounds the origins kept for one access; past it, the struct
// is taken to be shared anywhere.
const maxOrigins = 16

// sharedIn is a struct that may be shared in the roots that run fn.
func sharedIn(fn *ssa.Function) sharing {
	return sharing{origins: []*ssa.Function{fn}}
}

// private reports whether the struct is private at the access.
func (s sharing) private() bool {
	return !s.anywhere && len(s.origins) == 0
}

// join returns where a struct that either s or t describes may be shared.
func (s sharing) join(t sharing) sharing {
	if s.anywhere || t.anywhere {
		return sharedAnywhere
	}
	out := sharing{origins: slices.Clone(s.origins)}
	for _, fn := range t.origins {
		if !slices.Contains(out.origins, fn) {
			out.origins = append(out.origins, fn)
		}
	}
	if len(out.origins) > maxOrigins {
		return sharedAnywhere
	}
	return out
}

// unsharedKey identifies one question sharedBefore answers.
type unsharedKey struct {
	base  ssa.Value
	at    ssa.Instruction
	field int
}

// sharedBefore says where the struct pointer base, a value of at's
// function, may point to a struct that other goroutines can reach (with
// its map in field number field) when at runs: nowhere when it is a
// struct of the current activation that nothing has published yet. For a
// parameter, that is where the structs its callers pass may be shared.
func (a *analysis) sharedBefore(base ssa.Value, at ssa.Instruction, field, depth int) sharing {
	key := unsharedKey{base, at, field}
	if r, ok := a.unsharedMemo[key]; ok {
		return r
	}
	here := sharedIn(at.Parent())
	if depth > maxFreshDepth {
		return here // the callers not followed run this function
	}
	a.unsharedMemo[key] = here // recursion: a cycle proves nothing
	r := a.sharedBeforeNow(base, at, field, depth)
	a.unsharedMemo[key] = r
	return r
}

func (a *analysis) sharedBeforeNow(base ssa.Value, at ssa.Instruction, field, depth int) sharing {
	here := sharedIn(at.Parent())
	var s sharing
	switch b := base.(type) {
	case *ssa.Alloc:
		if b.Parent() != at.Parent() {
			return sharedAnywhere
		}
		if a.copiedFromParam(b) {
			return sharedAnywhere // a copy of the caller's struct: its maps are the caller's
		}
	case *ssa.Call:
		if b.Parent() != at.Parent() {
			return sharedAnywhere
		}
		if !a.freshResult(b, 0) {
			return here
		}
	case *ssa.Parameter:
		s = a.sharedParam(b, field, depth)
		if s.anywhere {
			return s
		}
	case *ssa.FreeVar:
		// A struct variable a closure captures: judged as the
		// enclosing function's variable, at each call of the closure.
		return a.sharedCapturedStruct(b, field, depth)
	case *ssa.UnOp:
		// The variable a closure captures: judged as the value stored
		// in it, whose uses include the loads of the variable; inside
		// the closure, at each call of it.
		if fv, ok := b.X.(*ssa.FreeVar); ok && b.Op == token.MUL {
			return a.sharedCaptured(fv, field, depth)
		}
		stored, c := cellValue(b)
		if c == nil || c.Parent() != at.Parent() {
			return here
		}
		return a.sharedBefore(stored, at, field, depth+1)
	default:
		return here
	}
	if base.Referrers() == nil || a.usedSharedBefore(base, at, field) {
		return s.join(here)
	}
	return s
}

// usedSharedBefore reports whether a use of the struct pointer base in its
// own function may share it, with its map in field number field, before
// at runs.
func (a *analysis) usedSharedBefore(base ssa.Value, at ssa.Instruction, field int) bool {
	refs := base.Referrers()
	if refs == nil {
		return false
	}
	for _, r := range *refs {
		if st, ok := r.(*ssa.Store); ok {
			if c := storedInCell(st, base); c != nil {
				if a.cellShares(c, at, field) {
					return true
				}
				continue
			}
		}
		if mc, ok := r.(*ssa.MakeClosure); ok {
			// A closure capturing the struct variable itself: its body
			// is judged by its own uses, wherever it runs.
			if fv := capturedAs(mc, base); fv != nil && !a.closureLeaves(mc) && !a.structFreeVarShares(fv, field) {
				continue
			}
		} else if !a.sharesInstance(base, r, field) {
			continue
		}
		// The call at hands base to the code under examination, which
		// is judged by its own uses; it counts only when an earlier run
		// of it, around a loop, may have published base.
		if mayPrecede(r, at) {
			return true
		}
	}
	return false
}

// sharedParam says where the structs that the callers of the parameter's
// function pass for it may be shared at the call. When not every caller
// is a plain call that can be followed, the function itself is where
// sharing may start.
func (a *analysis) sharedParam(p *ssa.Parameter, field, depth int) sharing {
	idx, calls := a.staticCalls(p)
	if len(calls) == 0 {
		return sharedIn(p.Parent())
	}
	var s sharing
	for _, call := range calls {
		s = s.join(a.sharedBefore(call.Call.Args[idx], call, field, depth+1))
		if s.anywhere {
			break
		}
	}
	return s
}

// runsOrigin reports whether root r runs one of the functions in which
// the struct of an access may be shared, or one whose roots are not
// known.
func (a *analysis) runsOrigin(r int, origins []*ssa.Function) bool {
	for _, fn := range origins {
		if _, ok := a.index[fn]; !ok || a.runs(r, fn) {
			return true
		}
	}
	return false
}

// mayPrecede reports whether some path through the control flow graph
// runs x and later y: x comes first in a shared block, or y's block is
// reachable from x's block (around a loop, from itself; so x may precede
// itself only in a loop).
func mayPrecede(x, y ssa.Instruction) bool {
	bx, by := x.Block(), y.Block()
	if x != y && bx == by && before(x, y) {
		return true
	}
	return reachesAvoiding(bx, by, nil)
}

// madeForEachRun reports whether the value made by instr v is made anew
// each time use runs: no path of the control flow graph takes use back to
// itself without making v again. A value made before a loop and used in
// it is the same value in every iteration.
func madeForEachRun(v, use ssa.Instruction) bool {
	made, at := v.Block(), use.Block()
	return made == at || !reachesAvoiding(at, at, made)
}

// reachesAvoiding reports whether some path of the control flow graph
// leads from the end of block from to block to without passing through
// block avoid (nil: any path).
func reachesAvoiding(from, to, avoid *ssa.BasicBlock) bool {
	seen := map[*ssa.BasicBlock]bool{avoid: true}
	queue := append([]*ssa.BasicBlock(nil), from.Succs...)
	for len(queue) > 0 {
		b := queue[0]
		queue = queue[1:]
		if b == to {
			return true
		}
		if seen[b] {
			continue
		}
		seen[b] = true
		queue = append(queue, b.Succs...)
	}
	return false
}

// sharesInstance reports whether the use r of the struct pointer v may let
// another goroutine reach the struct or the map in its field number field:
// publishes does not look at loads, so a copy of the whole struct, or of
// the map field's value, that goes anywhere but a map operation counts here
// too. Loading another field hands out only what was stored in it, which
// holds this map only if the map or the struct was stored somewhere first.
func (a *analysis) sharesInstance(v ssa.Value, r ssa.Instruction, field int) bool {
	switch r := r.(type) {
	case *ssa.UnOp:
		if r.Op != token.MUL {
			return true
		}
		return mayHoldMap(r.Type(), nil) && !onlyMapOps(r)
	case *ssa.FieldAddr:
		if a.publishes(v, r) {
			return true
		}
		if r.Field != field {
			return false
		}
		refs := r.Referrers()
		if refs == nil {
			return false
		}
		for _, u := range *refs {
			if load, ok := u.(*ssa.UnOp); ok && load.Op == token.MUL && !onlyMapOps(load) {
				return true
			}
		}
		return false
	}
	return a.publishes(v, r)
}

// mayHoldMap reports whether a value of type t may hold or lead to a map:
// a string, a number or a slice of them cannot, so loading such a field
// of the struct hands none of its maps to anyone.
func mayHoldMap(t types.Type, seen map[types.Type]bool) bool {
	switch u := t.Underlying().(type) {
	case *types.Basic:
		return false
	case *types.Slice:
		return mayHoldMapOnce(u.Elem(), seen)
	case *types.Array:
		return mayHoldMapOnce(u.Elem(), seen)
	case *types.Pointer:
		return mayHoldMapOnce(u.Elem(), seen)
	case *types.Struct:
		for i := range u.NumFields() {
			if mayHoldMapOnce(u.Field(i).Type(), seen) {
				return true
			}
		}
		return false
	}
	return true // maps, channels, interfaces, functions
}

// mayHoldMapOnce is mayHoldMap guarded against recursive types.
func mayHoldMapOnce(t types.Type, seen map[types.Type]bool) bool {
	if seen == nil {
		seen = map[types.Type]bool{}
	}
	if seen[t] {
		return false
	}
	seen[t] = true
	return mayHoldMap(t, seen)
}

// onlyMapOps reports whether the loaded value v is a map used only for
// its elements, length, or a comparison with nil, so that loading it
// hands the map to no one. A loaded struct (a copy of the whole
// instance) is never such a value.
func onlyMapOps(v ssa.Value) bool {
	return onlyMapOpsBut(v, nil)
}

// onlyMapOpsBut is onlyMapOps for the uses of v other than except.
func onlyMapOpsBut(v ssa.Value, except ssa.Instruction) bool {
	if !isMap(v.Type()) {
		return false
	}
	refs := v.Referrers()
	if refs == nil {
		return true
	}
	for _, r := range *refs {
		if r != except && !mapOp(v, r) {
			return false
		}
	}
	return true
}

// mapOp reports whether r uses the map v only for its elements, length,
// or a comparison with nil, handing the map to no one.
func mapOp(v ssa.Value, r ssa.Instruction) bool {
	switch r := r.(type) {
	case *ssa.Lookup, *ssa.Range, *ssa.BinOp, *ssa.DebugRef:
		return true
	case *ssa.MapUpdate:
		return r.Value != v && r.Key != v
	case *ssa.Call, *ssa.Defer:
		// A deferred delete or clear runs in the same goroutine.
		b, ok := r.(ssa.CallInstruction).Common().Value.(*ssa.Builtin)
		if !ok {
			return false
		}
		switch b.Name() {
		case "len", "delete", "clear":
			return true
		}
	}
	return false
}
