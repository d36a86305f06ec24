package detect

import (
	"go/token"
	"go/types"

	"golang.org/x/tools/go/ssa"
)

// A call through a function value that a function received as a
// parameter (or captured from one) runs what its callers passed, not
// every function the call graph lets flow there: forEach(f) called with
// one closure under a lock and another from a goroutine runs each closure
// only for the caller that made it. Such calls are resolved per calling
// context: the call site's function value is traced back through
// parameters and captures to the closures and functions that callers
// pass, each with the function that creates or names it (its origin). A
// root runs the callee through that call only when it also runs the
// origin; when the value is handed to a goroutine on its way (an argument
// of a go statement, a capture of a closure started as a root), the roots
// started, directly or not, by a root running the origin qualify too.

// maxTraceDepth bounds the parameters and captures followed back from a
// call site before falling back to the call graph.
const maxTraceDepth = 4

// maxTraceValues bounds the function values one call site resolves to;
// past it the call graph is used.
const maxTraceValues = 64

// funcOrigin is a function value as created: the function it denotes and
// the function that makes the closure or names the function. A nil fn
// stands for a value not traced, passed by a caller whose argument comes
// from a field, a result or the like: it may be any function the call
// graph gives at the call, and origin is that caller, which every root
// handing the value on runs.
// viaSpawn: the value reaches the call through the start of a goroutine;
// pass is the call in origin that hands the value on, when one does.
type funcOrigin struct {
	fn, origin *ssa.Function
	viaSpawn   bool
	pass       ssa.CallInstruction
}

// ctxEdge is a call resolved per calling context: caller calls callee
// only in the roots that also run origin.
type ctxEdge struct {
	caller, callee, origin int
	inLoop, viaSpawn       bool
}

type traceKey struct {
	v      ssa.Value
	depth  int
	method *types.Func
}

// resolveCall returns the function values a dynamic call site calls, with
// their origins, when the called value can be traced back to where each
// value is made; ok is false when it cannot be traced everywhere, and the
// call graph decides.
func (a *analysis) resolveCall(site ssa.CallInstruction) ([]funcOrigin, bool) {
	c := site.Common()
	if c.IsInvoke() || c.StaticCallee() != nil {
		return nil, false
	}
	// Fields, globals and results are not traced: the call graph
	// decides their callees.
	out, ok := a.traceFunc(c.Value, site.Parent(), maxTraceDepth, nil)
	if !ok || len(out) == 0 {
		return nil, false
	}
	return out, true
}

// resolveVisible resolves, like resolveCall, a call through a function
// parameter of a function that code outside the analysis may also call
// (an exported method of a library type: db.Update(fn) calling fn): the
// values the analysed callers pass are traced, and of those, the function
// literals that never leave the calls of the analysed code are returned:
// outside code cannot hold them, so they run at this call only for the
// callers that pass them. Every other callee the call graph gives (a
// named function, a literal that escapes) may come from outside code.
func (a *analysis) resolveVisible(site ssa.CallInstruction) []funcOrigin {
	c := site.Common()
	p, ok := c.Value.(*ssa.Parameter)
	if !ok || c.IsInvoke() || !a.startedOpaquely(p.Parent()) {
		return nil
	}
	vals, ok := a.traceCallers(p, maxTraceDepth, nil)
	if !ok {
		return nil
	}
	var out []funcOrigin
	for _, v := range vals {
		if v.fn != nil && v.fn.Parent() != nil && a.closureStaysInCalls(v.fn) {
			out = append(out, v)
		}
	}
	return out
}

// resolveInvoke is resolveCall for a method call through an interface
// value: the value is traced back the same way to the conversions that
// make it, each giving the method of its concrete type, with the function
// converting it as the origin. A decoder handed down as an interface
// (res.decode(pd), with res a parameter) runs, in a root, the decode
// methods of the types that root converts, not those of every type the
// program ever passes there.
func (a *analysis) resolveInvoke(site ssa.CallInstruction) ([]funcOrigin, bool) {
	c := site.Common()
	if !c.IsInvoke() {
		return nil, false
	}
	out, ok := a.traceFunc(c.Value, site.Parent(), maxTraceDepth, c.Method)
	if !ok || len(out) == 0 {
		return nil, false
	}
	return out, true
}

// traceFunc returns the function values v can hold, each with its origin;
// at is the function in which v is used. With a method, v is an interface
// value and the functions are that method of the types converted to it.
func (a *analysis) traceFunc(v ssa.Value, at *ssa.Function, depth int, method *types.Func) ([]funcOrigin, bool) {
	if depth < 0 {
		return nil, false
	}
	key := traceKey{v, depth, method}
	if r, ok := a.traceMemo[key]; ok {
		return r.values, r.ok
	}
	// A cycle through parameters ends at the depth bound; mark the key
	// as failing while it is being traced.
	a.traceMemo[key] = traceResult{nil, false}
	values, ok := a.traceFuncUncached(v, at, depth, method)
	if ok && len(values) > maxTraceValues {
		values, ok = nil, false
	}
	a.traceMemo[key] = traceResult{values, ok}
	return values, ok
}

type traceResult struct {
	values []funcOrigin
	ok     bool
}

func (a *analysis) traceFuncUncached(v ssa.Value, at *ssa.Function, depth int, method *types.Func) ([]funcOrigin, bool) {
	if method != nil {
		switch v := v.(type) {
		case *ssa.MakeInterface:
			sel := a.p.prog.MethodSets.MethodSet(v.X.Type()).Lookup(method.Pkg(), method.Name())
			if sel == nil {
				return nil, false
			}
			fn := a.p.methodBody(sel)
			if fn == nil {
				return nil, false
			}
			return []funcOrigin{{fn: fn, origin: v.Parent()}}, true
		case *ssa.ChangeInterface:
			return a.traceFunc(v.X, at, depth, method)
		case *ssa.Function, *ssa.MakeClosure, *ssa.ChangeType:
			return nil, false
		}
	}
	switch v := v.(type) {
	case *ssa.Function:
		fn := a.p.link(v)
		if fn == nil {
			return nil, false
		}
		return []funcOrigin{{fn: fn, origin: at}}, true
	case *ssa.MakeClosure:
		fn := a.p.link(v.Fn.(*ssa.Function))
		if fn == nil {
			return nil, false
		}
		return []funcOrigin{{fn: fn, origin: v.Parent()}}, true
	case *ssa.ChangeType:
		return a.traceFunc(v.X, at, depth, method)
	case *ssa.Const:
		return nil, v.IsNil()
	case *ssa.Phi:
		var out []funcOrigin
		for _, e := range v.Edges {
			vals, ok := a.traceFunc(e, at, depth, method)
			if !ok {
				return nil, false
			}
			out = appendOrigins(out, vals)
		}
		return out, true
	case *ssa.Parameter:
		return a.traceParam(v, depth, method)
	case *ssa.FreeVar:
		return a.traceFreeVar(v, depth, method)
	case *ssa.UnOp:
		// A captured variable is a cell: a load of it holds what is
		// stored into it.
		if v.Op == token.MUL {
			return a.traceCell(v.X, depth, method)
		}
	}
	return nil, false
}

// traceCell returns the function values stored into the variable at addr:
// a local variable, or one captured from an enclosing function. A
// variable written other than by a plain store, or whose address goes
// anywhere but to loads and closures that only load it, is not traced.
func (a *analysis) traceCell(addr ssa.Value, depth int, method *types.Func) ([]funcOrigin, bool) {
	if depth < 0 {
		return nil, false
	}
	switch addr := addr.(type) {
	case *ssa.FreeVar:
		return a.traceBindings(addr, depth, func(v ssa.Value, depth int) ([]funcOrigin, bool) {
			return a.traceCell(v, depth, method)
		})
	case *ssa.Alloc:
		var out []funcOrigin
		for _, ref := range *addr.Referrers() {
			switch ref := ref.(type) {
			case *ssa.Store:
				if ref.Addr != addr {
					return nil, false
				}
				vals, ok := a.traceFunc(ref.Val, addr.Parent(), depth, method)
				if !ok {
					return nil, false
				}
				out = appendOrigins(out, vals)
			case *ssa.UnOp:
				if ref.Op != token.MUL {
					return nil, false
				}
			case *ssa.DebugRef:
			case *ssa.MakeClosure:
				if !onlyLoaded(ref, addr) {
					return nil, false
				}
			default:
				return nil, false
			}
		}
		return out, true
	}
	return nil, false
}

// onlyLoaded reports whether the closure made by mc only loads the
// variable addr it captures, directly or in closures it makes in turn.
func onlyLoaded(mc *ssa.MakeClosure, addr ssa.Value) bool {
	fn := mc.Fn.(*ssa.Function)
	for i, b := range mc.Bindings {
		if b != addr {
			continue
		}
		for _, ref := range *fn.FreeVars[i].Referrers() {
			switch ref := ref.(type) {
			case *ssa.UnOp:
				if ref.Op != token.MUL {
					return false
				}
			case *ssa.DebugRef:
			case *ssa.MakeClosure:
				if !onlyLoaded(ref, fn.FreeVars[i]) {
					return false
				}
			default:
				return false
			}
		}
	}
	return true
}

// traceParam follows parameter p back to the arguments every call site
// passes for it.
func (a *analysis) traceParam(p *ssa.Parameter, depth int, method *types.Func) ([]funcOrigin, bool) {
	if a.startedOpaquely(p.Parent()) {
		// Called from outside the analysed code, or started as a
		// root with arguments not seen here.
		return nil, false
	}
	return a.traceCallers(p, depth, method)
}

// traceCallers is traceParam over the calls of the analysed code alone.
func (a *analysis) traceCallers(p *ssa.Parameter, depth int, method *types.Func) ([]funcOrigin, bool) {
	fn := p.Parent()
	idx := paramIndex(p)
	sites := a.p.callers[fn]
	if idx < 0 || len(sites) == 0 {
		return nil, false
	}
	var out []funcOrigin
	for _, site := range sites {
		if caller := site.Parent(); caller.Synthetic != "" && len(a.p.callers[caller]) == 0 && !a.isRootEntry(caller) {
			continue // a wrapper nothing calls is never run
		}
		if site.Common().IsInvoke() && idx == 0 {
			return nil, false // the receiver is the interface value
		}
		args := paramArgs(site)
		if len(args) != len(fn.Params) {
			return nil, false
		}
		if site.Parent() == fn && args[idx] == p {
			continue // a recursive call passes on what its callers passed
		}
		vals, ok := a.traceFunc(args[idx], site.Parent(), depth-1, method)
		if !ok {
			// Anything may come from this caller, but only in the
			// roots that run it; the other callers' values stay
			// resolved.
			vals = []funcOrigin{{origin: site.Parent()}}
		}
		if _, isGo := site.(*ssa.Go); isGo {
			vals = spawned(vals)
		}
		out = appendOrigins(out, passedAt(vals, site))
	}
	return out, true
}

// traceFreeVar follows a captured value back to the values bound when
// its closure is made, in the enclosing function.
func (a *analysis) traceFreeVar(fv *ssa.FreeVar, depth int, method *types.Func) ([]funcOrigin, bool) {
	return a.traceBindings(fv, depth, func(v ssa.Value, depth int) ([]funcOrigin, bool) {
		return a.traceFunc(v, fv.Parent().Parent(), depth, method)
	})
}

// traceBindings applies trace to the value bound to fv by every
// MakeClosure of its function in the enclosing function.
func (a *analysis) traceBindings(fv *ssa.FreeVar, depth int, trace func(ssa.Value, int) ([]funcOrigin, bool)) ([]funcOrigin, bool) {
	fn := fv.Parent()
	encl := fn.Parent()
	if encl == nil {
		return nil, false
	}
	idx := -1
	for i, f := range fn.FreeVars {
		if f == fv {
			idx = i
			break
		}
	}
	if idx < 0 {
		return nil, false
	}
	var out []funcOrigin
	found := false
	for _, b := range encl.Blocks {
		for _, instr := range b.Instrs {
			mc, ok := instr.(*ssa.MakeClosure)
			if !ok || mc.Fn != fn {
				continue
			}
			found = true
			vals, ok := trace(mc.Bindings[idx], depth-1)
			if !ok {
				return nil, false
			}
			switch {
			case a.calledOrHandedOn(mc, 0):
				// Run within calls its maker makes: by roots that
				// run the origins.
			case a.isRootEntry(fn) && a.startedOrHandedOn(mc):
				vals = spawned(vals)
			default:
				// Kept where roots that never ran the maker may
				// call it: any root running it may use what it
				// captured.
				vals = originAt(vals, fn)
			}
			out = appendOrigins(out, vals)
		}
	}
	return out, found
}

// startedOrHandedOn reports whether the closure made by mc is only
// started as a goroutine, called, or handed on as calledOrHandedOn says.
func (a *analysis) startedOrHandedOn(mc *ssa.MakeClosure) bool {
	for _, r := range *mc.Referrers() {
		if _, isRef := r.(*ssa.DebugRef); isRef {
			continue
		}
		if i, ok := a.spawnAt[r]; ok && a.spawns[i].started == mc {
			continue
		}
		if !a.handedOn(r, mc, 0) {
			return false
		}
	}
	return true
}

// originAt returns vals as values that fn holds: run where fn runs.
func originAt(vals []funcOrigin, fn *ssa.Function) []funcOrigin {
	out := make([]funcOrigin, len(vals))
	for i, v := range vals {
		out[i] = funcOrigin{fn: v.fn, origin: fn}
	}
	return out
}

// passedAt returns vals with site as the call that hands on those made
// in the calling function itself.
func passedAt(vals []funcOrigin, site ssa.CallInstruction) []funcOrigin {
	out := make([]funcOrigin, len(vals))
	for i, v := range vals {
		if v.pass == nil && v.origin == site.Parent() {
			v.pass = site
		}
		out[i] = v
	}
	return out
}

// spawned returns vals marked as handed to a goroutine.
func spawned(vals []funcOrigin) []funcOrigin {
	out := make([]funcOrigin, len(vals))
	for i, v := range vals {
		v.viaSpawn = true
		out[i] = v
	}
	return out
}

func appendOrigins(out, vals []funcOrigin) []funcOrigin {
	for _, v := range vals {
		dup := false
		for _, o := range out {
			if o == v {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, v)
		}
	}
	return out
}

// propagateContexts extends the roots of callees called through resolved
// calls: the callee of a ctxEdge runs in the roots that run the caller
// and also run the origin of the function value, or, for a value handed
// to a goroutine, descend from a root that does. Each round may reach new callers, so it repeats until
// nothing changes.
func (a *analysis) propagateContexts(edges [][]edge, ctx []ctxEdge) {
	if len(ctx) == 0 {
		return
	}
	add := a.newRootSet()
	for {
		allowed := map[int]bitset{}
		var changed []int
		for _, e := range ctx {
			from := a.fnRoots[e.caller]
			if from.empty() {
				continue
			}
			al := a.fnRoots[e.origin]
			if e.viaSpawn {
				var ok bool
				al, ok = allowed[e.origin]
				if !ok {
					al = a.rootsRunningOrigin(e.origin)
					allowed[e.origin] = al
				}
			}
			copy(add, from)
			add.intersectWith(al)
			if a.testFuncs[e.callee] {
				add.andNot(a.noTests)
			}
			ch := a.fnRoots[e.callee].unionWith(add)
			ch = a.addFlagRoots(e.callee, passBoth, add) || ch
			if e.inLoop {
				ch = a.fnRep[e.callee].unionWith(add) || ch
			} else {
				add.intersectWith(a.fnRep[e.caller])
				ch = a.fnRep[e.callee].unionWith(add) || ch
			}
			if ch {
				changed = append(changed, e.callee)
			}
		}
		if len(changed) == 0 {
			return
		}
		a.propagate(edges, changed)
	}
}

// rootsRunningOrigin returns the roots that run function o, and the
// roots started, directly or not, by one of them.
func (a *analysis) rootsRunningOrigin(o int) bitset {
	set := append(bitset(nil), a.fnRoots[o]...)
	for changed := true; changed; {
		changed = false
		for r, root := range a.roots {
			if root.spawn < 0 || set.has(r) {
				continue
			}
			si, ok := a.index[a.spawns[root.spawn].fn]
			if ok && a.fnRoots[si].intersects(set) {
				set.add(r)
				changed = true
			}
		}
	}
	return set
}

// startedOpaquely reports whether fn is the entry of a root started other
// than by a go statement of the analysed code (main, a test, a callback
// run by a library, a library type's method), whose arguments are not
// seen here.
func (a *analysis) startedOpaquely(fn *ssa.Function) bool {
	if a.opaqueEntries == nil {
		a.opaqueEntries = map[*ssa.Function]bool{}
		for _, r := range a.roots {
			if r.spawn >= 0 {
				if _, isGo := a.spawns[r.spawn].site.(*ssa.Go); isGo {
					continue
				}
			}
			for _, e := range r.entries {
				a.opaqueEntries[e] = true
			}
		}
	}
	return a.opaqueEntries[fn]
}

// intersectWith keeps in b only the elements also in c.
func (b bitset) intersectWith(c bitset) {
	for i := range b {
		if i < len(c) {
			b[i] &= c[i]
		} else {
			b[i] = 0
		}
	}
}

// intersects reports whether b and c have an element in common.
func (b bitset) intersects(c bitset) bool {
	for i, w := range b {
		if i < len(c) && w&c[i] != 0 {
			return true
		}
	}
	return false
}

// computeCallbackLocks finds the locks held on entry to functions called
// back through function parameters: such a function runs inside the call
// that handed it over, under the locks held there, and not under the
// locks every call of the intermediate function holds. For a function
// whose every call is resolved so, the locks held at each call are those
// of the intermediate function's call site, given the locks held where
// the origin passes the function value on.
func (a *analysis) computeCallbackLocks() {
	for _, fn := range a.p.funcs {
		sites := a.p.callers[fn]
		if len(sites) == 0 || a.isRootEntry(fn) {
			continue
		}
		var entry lockset
		ok := true
		for i, site := range sites {
			at, known := a.callbackLocksAt(fn, site)
			if !known {
				ok = false
				break
			}
			if i == 0 {
				entry = at
			} else {
				entry = entry.meet(at)
			}
		}
		if ok && len(entry) > 0 {
			a.callbackIn[fn] = entry
		}
	}
	if len(a.callbackIn) > 0 {
		clear(a.blockIn)
	}
}

// callbackLocksAt returns the locks held when site calls fn back: the
// meet, over the places the value fn is handed on from, of the locks the
// intermediate function holds at site given those held where it is
// handed on. known is false when site is not a resolved call of fn.
func (a *analysis) callbackLocksAt(fn *ssa.Function, site ssa.CallInstruction) (lockset, bool) {
	if _, isGo := site.(*ssa.Go); isGo {
		return nil, false
	}
	vals, ok := a.resolveCall(site)
	if !ok {
		return nil, false
	}
	var entry lockset
	found := false
	for _, v := range vals {
		if v.fn == nil {
			return nil, false // fn may come from where locks are not followed
		}
		if v.fn != fn {
			continue
		}
		if v.pass == nil || v.viaSpawn {
			return nil, false
		}
		passed := a.locksAt(v.origin, v.pass)
		var at lockset
		if calls(a.p.calls[v.pass], site.Parent()) {
			in, _ := a.blockLocks(site.Parent(), passed, nil)
			at = a.locksBefore(in, site)
		} else if a.nestedLockFree(site.Parent(), a.p.calls[v.pass]) {
			at = passed
		} else {
			// Handed over further up a chain of calls, whose locks
			// are not followed here.
			return nil, false
		}
		if !found {
			entry, found = at, true
		} else {
			entry = entry.meet(at)
		}
	}
	return entry, found
}

// nestedLockFree reports whether fn is a closure nested in one of
// callees, neither of them starting a goroutine or taking or releasing a
// lock: the locks held when the callee is called are held when fn runs
// (it runs within the call, called back in turn).
func (a *analysis) nestedLockFree(fn *ssa.Function, callees []*ssa.Function) bool {
	for f := fn; f != nil; f = f.Parent() {
		if a.isRootEntry(f) || hasLockOp(f) {
			return false
		}
		if f != fn && calls(callees, f) {
			return true
		}
	}
	return false
}

func calls(callees []*ssa.Function, fn *ssa.Function) bool {
	for _, c := range callees {
		if c == fn {
			return true
		}
	}
	return false
}
