package detect

import (
	"go/token"
	"go/types"

	"golang.org/x/tools/go/ssa"
)

// access is one access to a map object found in the SSA code.
type access struct {
	fn    *ssa.Function
	instr ssa.Instruction
	pos   token.Pos
	write bool
	op    string
	// fresh: the map is a field of a struct allocated in the same
	// function, which no other goroutine can see yet unless the function
	// has started one.
	fresh bool
	// param is the parameter the map value is, or nil: such an access
	// touches the object only in roots whose calls pass it in.
	param *ssa.Parameter
	// sharedIn, when not nil, lists the functions in which the map's
	// struct may be shared before the access: only roots running one of
	// them touch a shared struct there; other roots reach it with a
	// struct private to their activation.
	sharedIn []*ssa.Function
	// mapv is the map value accessed.
	mapv ssa.Value
}

// collectAccesses finds every access to a map object declared in the units,
// keyed by objectID. An access is an instruction that reads or writes the
// elements of a map whose value traces back to the object.
func (a *analysis) collectAccesses() map[string][]access {
	out := map[string][]access{}
	add := func(fn *ssa.Function, instr ssa.Instruction, m ssa.Value, write bool, op string) {
		pos := accessPos(fn, instr, m)
		if a.detached(m, instr) || a.unpublishedMap(m, instr) {
			return
		}
		// A struct of the activation's own protects its map only when
		// the map is the struct's own too.
		own := !a.givenSharedMap(m, instr)
		if own && a.privateInstance(m) {
			return
		}
		shared := a.sharedAt(m, instr)
		if own && shared.private() {
			return
		}
		fresh := own && (a.freshField(m, instr) || a.unpublished(m, instr))
		// A parameter traced to one object needs no check per root.
		param, _ := m.(*ssa.Parameter)
		ids := a.sources(m)
		if len(ids) < 2 {
			param = nil
		}
		for _, id := range ids {
			out[id] = append(out[id], access{fn: fn, instr: instr, pos: pos, write: write, op: op, fresh: fresh, param: param, sharedIn: shared.origins, mapv: m})
		}
	}
	for _, fn := range a.p.funcs {
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				switch instr := instr.(type) {
				case *ssa.Lookup:
					if isMap(instr.X.Type()) {
						op := "read"
						if instr.CommaOk {
							op = "comma-ok read"
						}
						add(fn, instr, instr.X, false, op)
					}
				case *ssa.MapUpdate:
					add(fn, instr, instr.Map, true, "store")
				case *ssa.Range:
					if isMap(instr.X.Type()) {
						add(fn, instr, instr.X, false, "range")
					}
				case *ssa.MakeInterface:
					if isMap(instr.X.Type()) {
						add(fn, instr, instr.X, false, "passed on")
					}
				case ssa.CallInstruction:
					a.callAccesses(fn, instr, add)
				}
			}
		}
	}
	return out
}

// accessPos returns the position to show for the access instr to the map
// value m in fn. An implicit conversion to an interface (a map handed to a
// func(any)) has no position of its own, nor has a map that is one result
// of a call: the position is then that of the instruction using the
// converted value (the call it is passed to), or at least of fn.
func accessPos(fn *ssa.Function, instr ssa.Instruction, m ssa.Value) token.Pos {
	if pos := instr.Pos(); pos.IsValid() {
		return pos
	}
	if pos := m.Pos(); pos.IsValid() {
		return pos
	}
	if v, ok := instr.(ssa.Value); ok {
		if refs := v.Referrers(); refs != nil {
			for _, r := range *refs {
				if pos := r.Pos(); pos.IsValid() {
					return pos
				}
			}
		}
	}
	return fn.Pos()
}

// callAccesses records the map accesses made by a call: the builtins len,
// delete and clear, and a map handed to a function outside the analysed
// code, which is taken to read it.
func (a *analysis) callAccesses(fn *ssa.Function, site ssa.CallInstruction, add func(*ssa.Function, ssa.Instruction, ssa.Value, bool, string)) {
	common := site.Common()
	if b, ok := common.Value.(*ssa.Builtin); ok {
		if len(common.Args) == 0 || !isMap(common.Args[0].Type()) {
			return
		}
		switch b.Name() {
		case "len":
			add(fn, site, common.Args[0], false, "len")
		case "delete":
			add(fn, site, common.Args[0], true, "delete")
		case "clear":
			add(fn, site, common.Args[0], true, "clear")
		}
		return
	}
	if len(a.p.calls[site]) > 0 {
		return // followed through the callee's parameters
	}
	for _, arg := range common.Args {
		if isMap(arg.Type()) {
			add(fn, site, arg, false, "passed on")
		}
	}
}

// detached reports whether the map value m, loaded from a variable or
// field, was then replaced in that variable or field before instr:
// m := s.pending; s.pending = nil; for range m {...}. The map has been
// taken out of shared view, so instr is not an access to the object.
func (a *analysis) detached(m ssa.Value, instr ssa.Instruction) bool {
	load, ok := m.(*ssa.UnOp)
	if !ok || load.Op != token.MUL {
		return false
	}
	ids := a.locations(load.X)
	if len(ids) == 0 {
		return false
	}
	for _, b := range load.Parent().Blocks {
		for _, x := range b.Instrs {
			st, ok := x.(*ssa.Store)
			if !ok || !before(load, st) || !before(st, instr) {
				continue
			}
			for _, id := range a.locations(st.Addr) {
				for _, want := range ids {
					if id == want {
						return true
					}
				}
			}
		}
	}
	return false
}

// before reports whether x comes before y on every path to y: x's block
// dominates y's, and within one block x comes first.
func before(x, y ssa.Instruction) bool {
	bx, by := x.Block(), y.Block()
	if bx != by {
		return bx.Dominates(by)
	}
	for _, i := range bx.Instrs {
		switch i {
		case x:
			return true
		case y:
			return false
		}
	}
	return false
}

// freshField reports whether the map value m, used at instr, is loaded
// from a field of a struct that instr's function allocated (s := &T{};
// s.m[k] = v) and has not stored where others can reach it, or sent, on
// a path before instr (s := &T{}; global = s; s.m[k] = v is no longer the
// function's alone). Goroutines the function has started and that may
// hold it are spawnedBefore's; those that earlier calls started cannot
// hold what this call made. Calls the struct is handed to are not
// followed here: most only use it (json.Unmarshal(data, s)).
func (a *analysis) freshField(m ssa.Value, instr ssa.Instruction) bool {
	fa := loadedField(m)
	if fa == nil {
		return false
	}
	alloc, ok := fa.X.(*ssa.Alloc)
	if !ok || alloc.Parent() != instr.Parent() || a.copiedFromParam(alloc) {
		return false
	}
	for _, r := range *alloc.Referrers() {
		var published bool
		switch r := r.(type) {
		case *ssa.Store:
			published = r.Val == alloc && a.storeEscapes(r, alloc) && storedOutside(r.Addr)
		case *ssa.Send:
			published = r.X == alloc
		}
		if published && mayPrecede(r, instr) {
			return false
		}
	}
	return true
}

// storedOutside reports whether addr, where a pointer is stored, may be
// memory that code other than the storing function's reaches: anything
// but an element or field of a struct, array or slice that the function
// allocated itself (the array append builds, a struct being put
// together), whose own publication is not followed here.
func storedOutside(addr ssa.Value) bool {
	for inner := false; ; inner = true {
		switch x := addr.(type) {
		case *ssa.Alloc:
			return !inner // a variable: storeEscapes has judged it
		case *ssa.FieldAddr:
			addr = x.X
		case *ssa.IndexAddr:
			addr = x.X
		default:
			return true
		}
	}
}

// loadedField returns the field address that the value m is loaded from
// (*(&s.f)), or nil when m is not such a load.
func loadedField(m ssa.Value) *ssa.FieldAddr {
	load, ok := m.(*ssa.UnOp)
	if !ok || load.Op != token.MUL {
		return nil
	}
	fa, _ := load.X.(*ssa.FieldAddr)
	return fa
}

func isMap(t types.Type) bool {
	_, ok := t.Underlying().(*types.Map)
	return ok
}

// sources returns the map objects (objectIDs) that the map value v may be,
// following loads, closures, parameters, results and phis.
func (a *analysis) sources(v ssa.Value) []string {
	if ids, ok := a.srcMemo[v]; ok {
		return ids
	}
	a.srcMemo[v] = nil // breaks cycles through phis and recursion
	set := map[string]bool{}
	a.trace(v, set)
	var ids []string
	for id := range set {
		if _, ok := a.p.decls[id]; ok {
			ids = append(ids, id)
		}
	}
	sortStrings(ids)
	a.srcMemo[v] = ids
	return ids
}

func (a *analysis) trace(v ssa.Value, set map[string]bool) {
	add := func(ids []string) {
		for _, id := range ids {
			set[id] = true
		}
	}
	switch v := v.(type) {
	case *ssa.UnOp:
		if v.Op == token.MUL {
			add(a.locations(v.X))
		}
	case *ssa.Field:
		if f := structField(v.X.Type(), v.Field); f != nil {
			set[objectID(a.p.fset, f)] = true
		}
	case *ssa.Phi:
		for _, e := range v.Edges {
			add(a.sources(e))
		}
	case *ssa.ChangeType:
		add(a.sources(v.X))
	case *ssa.MakeMap:
		add(a.localOf(v))
	case *ssa.Parameter:
		fn := v.Parent()
		idx := paramIndex(v)
		for _, site := range a.p.callers[fn] {
			args := paramArgs(site)
			if len(args) != len(fn.Params) {
				continue
			}
			add(a.sources(args[idx]))
		}
	case *ssa.Call:
		add(a.results(v, 0))
	case *ssa.Extract:
		if call, ok := v.Tuple.(*ssa.Call); ok {
			add(a.results(call, v.Index))
		}
	}
}

// results returns the map objects that result i of the call may be.
func (a *analysis) results(call *ssa.Call, i int) []string {
	var ids []string
	for _, callee := range a.p.calls[call] {
		for _, b := range callee.Blocks {
			if ret, ok := b.Instrs[len(b.Instrs)-1].(*ssa.Return); ok && i < len(ret.Results) {
				ids = append(ids, a.sources(ret.Results[i])...)
			}
		}
	}
	return ids
}

// locations returns the map objects that the address addr may point to.
func (a *analysis) locations(addr ssa.Value) []string {
	switch x := addr.(type) {
	case *ssa.Global:
		if obj := x.Object(); obj != nil {
			return []string{objectID(a.p.fset, obj)}
		}
	case *ssa.FieldAddr:
		if f := structField(x.X.Type(), x.Field); f != nil {
			return []string{objectID(a.p.fset, f)}
		}
	case *ssa.Alloc:
		return a.allocSources(x)
	case *ssa.FreeVar:
		var ids []string
		for _, b := range a.p.bindings[x] {
			ids = append(ids, a.locations(b)...)
		}
		return ids
	case *ssa.Parameter:
		// A pointer to a map variable passed in (&m).
		return a.sources(x)
	}
	return nil
}

// allocSources returns the map objects a local variable in memory (one
// captured by a closure) may hold. A local that only ever holds maps of
// other objects (ph := s.perHost) is an alias, and those objects are the
// answer; a local that holds a map of its own (m := make(...)) is itself
// an object.
func (a *analysis) allocSources(x *ssa.Alloc) []string {
	if ids, ok := a.allocMemo[x]; ok {
		return ids
	}
	a.allocMemo[x] = nil
	var ids []string
	own := false
	if refs := x.Referrers(); refs != nil {
		for _, r := range *refs {
			st, ok := r.(*ssa.Store)
			if !ok || st.Addr != x {
				continue
			}
			src := a.sources(st.Val)
			if len(src) == 0 {
				own = true
			}
			ids = append(ids, src...)
		}
	}
	if (own || len(ids) == 0) && x.Pos().IsValid() {
		ids = append(ids, a.p.fset.Position(x.Pos()).String())
	}
	a.allocMemo[x] = ids
	return ids
}

// localOf returns the local variable a freshly made map is assigned to.
func (a *analysis) localOf(v *ssa.MakeMap) []string {
	if id, ok := a.p.madeFor[v.Pos()]; ok {
		return []string{id}
	}
	return nil
}

// structField returns field i of the struct that t is or points to.
func structField(t types.Type, i int) *types.Var {
	if p, ok := t.Underlying().(*types.Pointer); ok {
		t = p.Elem()
	}
	st, ok := t.Underlying().(*types.Struct)
	if !ok || i >= st.NumFields() {
		return nil
	}
	return st.Field(i)
}
