package detect

import (
	"go/ast"
	"go/token"
	"go/types"
	"slices"
	"sync"

	"golang.org/x/tools/go/callgraph"
	"golang.org/x/tools/go/callgraph/vta"
	"golang.org/x/tools/go/packages"
	"golang.org/x/tools/go/ssa"
	"golang.org/x/tools/go/types/typeutil"
)

// program is the SSA form of the rewrite units with a call graph over it.
//
// The units were type-checked separately: a package imported by another unit
// is seen there through export data, as a different types.Package with no
// function bodies. Objects are therefore identified by their declaring
// position (objectID), and a call to a body-less function is linked to the
// unit function declared at the same position.
type program struct {
	fset  *token.FileSet
	prog  *ssa.Program
	units []*packages.Package
	// decls holds every map object declared in the units, by objectID.
	decls map[string]Declared
	// madeFor maps the position of a map's make call (its Lparen) or
	// literal (its Lbrace) to the local variable it is assigned to.
	madeFor map[token.Pos]string
	// declFunc is the function whose body declares each local map object.
	declFunc map[string]*ssa.Function
	// funcs are the functions with bodies, in a stable order.
	funcs []*ssa.Function
	// byID links a function object's declaring position to the unit
	// function with a body.
	byID  map[string]*ssa.Function
	graph *callgraph.Graph
	// inUnits holds the SSA packages of the units.
	inUnits map[*ssa.Package]bool
	// all are the functions unitFunctions finds, with bodies or without,
	// until the call graph is built.
	all map[*ssa.Function]bool
	// calls are the functions with bodies each call site may call,
	// including go statements and function values handed to opaque
	// functions that call them synchronously; callers is the reverse.
	calls   map[ssa.CallInstruction][]*ssa.Function
	callers map[*ssa.Function][]ssa.CallInstruction
	// bindings lists, for each free variable, the values bound to it by
	// every MakeClosure of its function.
	bindings map[*ssa.FreeVar][]ssa.Value
	// funcRefs lists, for each named function of the units (the one with
	// the body), the instructions that use it as a value rather than call
	// it.
	funcRefs map[*ssa.Function][]funcRef
	// sends maps a channel element type to the values sent on channels
	// of that type (sentOn).
	sends *typeutil.Map
}

// objectID is load.ObjectID: an object's declaring position. It is repeated
// here so that detect does not depend on load.
func objectID(fset *token.FileSet, obj types.Object) string {
	return fset.Position(obj.Pos()).String()
}

// buildProgram creates and builds SSA for every unit, and for the
// packages they import (as body-less packages from export data). The call
// graph is built separately, by buildCallGraph.
func buildProgram(fset *token.FileSet, units []*packages.Package) *program {
	p := &program{
		fset:     fset,
		prog:     ssa.NewProgram(fset, ssa.BuilderMode(0)),
		units:    units,
		decls:    map[string]Declared{},
		madeFor:  map[token.Pos]string{},
		declFunc: map[string]*ssa.Function{},
		byID:     map[string]*ssa.Function{},
		bindings: map[*ssa.FreeVar][]ssa.Value{},
		funcRefs: map[*ssa.Function][]funcRef{},
		calls:    map[ssa.CallInstruction][]*ssa.Function{},
		callers:  map[*ssa.Function][]ssa.CallInstruction{},
	}
	created := map[*types.Package]bool{}
	var createDeps func(pkgs []*types.Package)
	createDeps = func(pkgs []*types.Package) {
		for _, tp := range pkgs {
			if created[tp] {
				continue
			}
			created[tp] = true
			p.prog.CreatePackage(tp, nil, nil, true)
			createDeps(tp.Imports())
		}
	}
	var ssaPkgs []*ssa.Package
	for _, u := range units {
		if u.Types == nil || u.TypesInfo == nil || created[u.Types] {
			continue
		}
		created[u.Types] = true
		sp := p.prog.CreatePackage(u.Types, u.Syntax, u.TypesInfo, true)
		ssaPkgs = append(ssaPkgs, sp)
	}
	for _, u := range units {
		if u.Types != nil {
			createDeps(u.Types.Imports())
		}
	}
	// Building SSA is parallel per package, but one large package keeps
	// one core busy for most of it; the declarations, read from syntax and
	// types only, are indexed meanwhile.
	var indexed sync.WaitGroup
	indexed.Go(p.indexDecls)
	p.prog.Build()
	indexed.Wait()

	p.all = unitFunctions(p.prog, ssaPkgs)
	p.inUnits = map[*ssa.Package]bool{}
	for _, sp := range ssaPkgs {
		p.inUnits[sp] = true
	}
	for fn := range p.all {
		if len(fn.Blocks) == 0 {
			continue
		}
		pkg := fn.Pkg
		if o := fn.Origin(); o != nil {
			pkg = o.Pkg
		}
		if pkg == nil && fn.Synthetic == "" || pkg != nil && !p.inUnits[pkg] {
			continue // code of dependencies is opaque
		}
		p.funcs = append(p.funcs, fn)
	}
	sortFuncs(fset, p.funcs)
	for _, fn := range p.funcs {
		// A wrapper (the pointer method of a value method, say) has the
		// object and position of the method it wraps: only the method
		// itself stands for them.
		if obj := fn.Object(); obj != nil && fn.Origin() == nil && fn.Synthetic == "" {
			id := objectID(fset, obj)
			if _, dup := p.byID[id]; !dup {
				p.byID[id] = fn
			}
		}
		var buf [10]*ssa.Value
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				if mc, ok := instr.(*ssa.MakeClosure); ok {
					cl := mc.Fn.(*ssa.Function)
					for i, fv := range cl.FreeVars {
						p.bindings[fv] = append(p.bindings[fv], mc.Bindings[i])
					}
				}
				p.noteFuncRefs(instr, buf[:0])
			}
		}
	}
	// A function of another unit is referred to through its export-data
	// copy; its uses are recorded for the function with the body.
	for fn, refs := range p.funcRefs {
		if body := p.link(fn); body != fn {
			delete(p.funcRefs, fn)
			if body != nil {
				p.funcRefs[body] = append(p.funcRefs[body], refs...)
			}
		}
	}
	p.indexLocals()
	return p
}

// funcRef is a use of a named function as a value: by instr, of value,
// which is the function itself or, from another unit, its export-data
// copy.
type funcRef struct {
	instr ssa.Instruction
	value *ssa.Function
}

// noteFuncRefs records the named functions instr uses as values: its
// operands, except the function a call names.
func (p *program) noteFuncRefs(instr ssa.Instruction, buf []*ssa.Value) {
	var callee ssa.Value
	if site, ok := instr.(ssa.CallInstruction); ok {
		callee = site.Common().Value
	}
	for _, op := range instr.Operands(buf) {
		fn, ok := (*op).(*ssa.Function)
		if ok && fn != callee && fn.Parent() == nil && fn.Object() != nil {
			p.funcRefs[fn] = append(p.funcRefs[fn], funcRef{instr, fn})
		}
	}
}

// buildCallGraph computes the VTA call graph over the functions with
// bodies, refining CHA, and indexes every call site's callees.
func (p *program) buildCallGraph() {
	funcs := make(map[*ssa.Function]bool, len(p.funcs))
	for _, fn := range p.funcs {
		funcs[fn] = true
	}
	p.graph = vta.CallGraph(funcs, chaGraph(p.funcs, p.all))
	p.all = nil
	p.indexCalls()
}

// indexDecls records every map object declared in the units.
func (p *program) indexDecls() {
	for _, u := range p.units {
		for _, f := range u.Syntax {
			ast.Inspect(f, func(n ast.Node) bool {
				if n, ok := n.(*ast.AssignStmt); ok && len(n.Lhs) == len(n.Rhs) {
					for i := range n.Lhs {
						p.noteMade(u, n.Lhs[i], n.Rhs[i])
					}
				}
				if n, ok := n.(*ast.ValueSpec); ok && len(n.Names) == len(n.Values) {
					for i := range n.Names {
						p.noteMade(u, n.Names[i], n.Values[i])
					}
				}
				id, ok := n.(*ast.Ident)
				if !ok {
					return true
				}
				obj := u.TypesInfo.Defs[id]
				if obj == nil || !IsMapVar(obj) {
					return true
				}
				key := objectID(p.fset, obj)
				if _, dup := p.decls[key]; !dup {
					p.decls[key] = Declared{Object: obj, Pkg: u, File: f}
				}
				return true
			})
		}
	}
}

// noteMade records that the map made by rhs, if it makes one, is assigned
// to the local variable lhs.
func (p *program) noteMade(u *packages.Package, lhs, rhs ast.Expr) {
	id, ok := ast.Unparen(lhs).(*ast.Ident)
	if !ok {
		return
	}
	obj := u.TypesInfo.Defs[id]
	if obj == nil {
		obj = u.TypesInfo.Uses[id]
	}
	v, ok := obj.(*types.Var)
	if !ok || v.IsField() || v.Parent() == v.Pkg().Scope() || !IsMapVar(v) {
		return
	}
	switch x := ast.Unparen(rhs).(type) {
	case *ast.CallExpr:
		p.madeFor[x.Lparen] = objectID(p.fset, v)
	case *ast.CompositeLit:
		p.madeFor[x.Lbrace] = objectID(p.fset, v)
	}
}

// indexLocals records the innermost function declaring each local map
// object, so that the goroutines of one activation of that function can be
// told from those of another.
func (p *program) indexLocals() {
	byFile := map[*token.File][]*ssa.Function{}
	for _, fn := range p.funcs {
		if fn.Syntax() == nil || fn.Synthetic != "" {
			continue
		}
		if f := p.fset.File(fn.Syntax().Pos()); f != nil {
			byFile[f] = append(byFile[f], fn)
		}
	}
	for key, d := range p.decls {
		v, ok := d.Object.(*types.Var)
		if !ok || v.IsField() || v.Parent() == d.Object.Pkg().Scope() {
			continue
		}
		var best *ssa.Function
		for _, fn := range byFile[p.fset.File(v.Pos())] {
			syn := fn.Syntax()
			if v.Pos() < syn.Pos() || v.Pos() >= syn.End() {
				continue
			}
			if best == nil || syn.Pos() > best.Syntax().Pos() {
				best = fn
			}
		}
		if best != nil {
			p.declFunc[key] = best
		}
	}
}

// indexCalls fills calls and callers.
func (p *program) indexCalls() {
	p.calls = map[ssa.CallInstruction][]*ssa.Function{}
	p.callers = map[*ssa.Function][]ssa.CallInstruction{}
	dynamic := map[ssa.CallInstruction][]*ssa.Function{}
	for fn, node := range p.graph.Nodes {
		if fn == nil {
			continue
		}
		for _, e := range node.Out {
			if e.Site != nil && e.Site.Common().StaticCallee() == nil && !isYield(e.Callee.Func) {
				dynamic[e.Site] = append(dynamic[e.Site], e.Callee.Func)
			}
		}
	}
	for _, fn := range p.funcs {
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				site, ok := instr.(ssa.CallInstruction)
				if !ok {
					continue
				}
				callees := p.callees(site, dynamic[site])
				if spawnOf(site) != nil || opaqueCallee(site) {
					// Modelled by what it does, not by its body, even
					// when the body is analysed (in std itself).
					callees = nil
				}
				for _, arg := range site.Common().Args {
					// The body of a range-over-func loop runs when the
					// iterator calls it, within the range statement.
					if mc, ok := arg.(*ssa.MakeClosure); ok && isYield(mc.Fn.(*ssa.Function)) {
						callees = append(callees, mc.Fn.(*ssa.Function))
					}
				}
				if p.callsCopy(site) {
					// The call graph follows no value into another
					// unit's export-data copy of a function: what is
					// handed to it would have no caller at all. Like a
					// function value handed to an opaque function, it
					// is taken to run within the call.
					for _, arg := range site.Common().Args {
						callees = append(callees, p.funcValues(arg)...)
					}
				}
				if len(callees) == 0 {
					callees = p.receivedCallees(site)
				}
				if _, isGo := site.(*ssa.Go); !isGo && len(callees) == 0 && spawnOf(site) == nil {
					// A function value handed to an opaque function
					// (sort.Slice, sync.Once.Do, t.Run) is taken to run
					// synchronously, in the caller's goroutine; so are
					// the methods of a value it is handed as an
					// interface (fmt.Fprint calls its io.Writer's Write,
					// sort.Sort its Less and Swap).
					for _, arg := range site.Common().Args {
						callees = append(callees, p.funcValues(arg)...)
						if !opaqueCallee(site) {
							callees = append(callees, p.interfaceMethods(arg)...)
						}
						if formatsOperands(site.Common()) {
							callees = append(callees, p.formattingMethods(arg)...)
						}
					}
				}
				if len(callees) == 0 {
					continue
				}
				p.calls[site] = callees
				for _, c := range callees {
					p.callers[c] = append(p.callers[c], site)
				}
			}
		}
	}
}

// receivedCallees returns what a call through a function or interface
// value received with v, ok := <-ch (for f := range tasks { f() }) may
// call: the functions, or the methods of the values, sent on channels
// of the same element type. VTA follows a value received so no further
// than the receive, and the call would have no callee at all.
func (p *program) receivedCallees(site ssa.CallInstruction) []*ssa.Function {
	common := site.Common()
	recv := commaOkReceive(common.Value)
	if recv == nil {
		return nil
	}
	elem := chanElem(recv.X.Type())
	if elem == nil {
		return nil
	}
	var out []*ssa.Function
	seen := map[*ssa.Function]bool{}
	add := func(fn *ssa.Function) {
		if !seen[fn] {
			seen[fn] = true
			out = append(out, fn)
		}
	}
	for _, sent := range p.sentOn(elem) {
		if !common.IsInvoke() {
			for _, fn := range p.funcValues(sent) {
				add(fn)
			}
			continue
		}
		mi, ok := sent.(*ssa.MakeInterface)
		if !ok {
			continue
		}
		sel := p.prog.MethodSets.MethodSet(mi.X.Type()).Lookup(common.Method.Pkg(), common.Method.Name())
		if sel == nil {
			continue
		}
		if fn := p.methodBody(sel); fn != nil {
			add(fn)
		}
	}
	sortFuncs(p.fset, out)
	return out
}

// sentOn returns the values sent, in the analysed code, on channels
// whose elements have type elem: by send statements and select cases.
func (p *program) sentOn(elem types.Type) []ssa.Value {
	if p.sends == nil {
		p.sends = new(typeutil.Map)
		for _, fn := range p.funcs {
			for _, b := range fn.Blocks {
				for _, instr := range b.Instrs {
					switch instr := instr.(type) {
					case *ssa.Send:
						p.addSent(instr.Chan, instr.X)
					case *ssa.Select:
						for _, st := range instr.States {
							if st.Dir == types.SendOnly {
								p.addSent(st.Chan, st.Send)
							}
						}
					}
				}
			}
		}
	}
	vs, _ := p.sends.At(elem).([]ssa.Value)
	return vs
}

func (p *program) addSent(ch, v ssa.Value) {
	elem := chanElem(ch.Type())
	if elem == nil {
		return
	}
	vs, _ := p.sends.At(elem).([]ssa.Value)
	p.sends.Set(elem, append(vs, v))
}

// chanElem returns the element type of the channel type t, or nil when t
// is a type parameter (whose channels are not told apart by type).
func chanElem(t types.Type) types.Type {
	if c, ok := t.Underlying().(*types.Chan); ok {
		return c.Elem()
	}
	return nil
}

// callsCopy reports whether site calls a function of another unit
// through its body-less export-data copy: the unit is a test variant, and
// the caller was type-checked against the package without its tests.
func (p *program) callsCopy(site ssa.CallInstruction) bool {
	fn := site.Common().StaticCallee()
	if fn == nil || len(fn.Blocks) > 0 {
		return false
	}
	l := p.link(fn)
	return l != nil && l != fn
}

// handedTo reports whether fn is one of the function values the call c
// hands to its callee as arguments, rather than the callee itself.
func (p *program) handedTo(c *ssa.CallCommon, fn *ssa.Function) bool {
	for _, arg := range c.Args {
		if slices.Contains(p.funcValues(arg), fn) {
			return true
		}
	}
	return false
}

// funcValues returns the functions with bodies that the function value v
// denotes, when it can be seen syntactically.
func (p *program) funcValues(v ssa.Value) []*ssa.Function {
	var out []*ssa.Function
	seen := map[ssa.Value]bool{}
	var walk func(v ssa.Value)
	walk = func(v ssa.Value) {
		if seen[v] {
			return
		}
		seen[v] = true
		switch v := v.(type) {
		case *ssa.Function:
			if l := p.link(v); l != nil {
				out = append(out, l)
			}
		case *ssa.MakeClosure:
			walk(v.Fn)
		case *ssa.ChangeType:
			walk(v.X)
		case *ssa.Convert:
			walk(v.X)
		case *ssa.MakeInterface:
			walk(v.X)
		case *ssa.Phi:
			for _, e := range v.Edges {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

// interfaceMethods returns the methods with bodies that the interface
// value v lets its receiver call, when v is made, where it is used, from
// a value of a concrete type: the methods of that type that implement the
// interface's. Through an interface that is itself an argument or a field,
// the concrete types are not known here and none are returned.
//
// A pointer made by the calling activation (allocated there, or returned
// by a call) is left out. Whether such a value is private depends on
// whether the opaque function keeps it, which is not known: counting the
// calls would report every goroutine's own writer as shared with the
// others, while a writer reached through a variable or field that
// goroutines share is the case where its methods race.
func (p *program) interfaceMethods(v ssa.Value) []*ssa.Function {
	mi, ok := v.(*ssa.MakeInterface)
	if !ok || madeByCaller(mi.X) {
		return nil
	}
	iface, ok := mi.Type().Underlying().(*types.Interface)
	if !ok || iface.NumMethods() == 0 {
		return nil
	}
	mset := p.prog.MethodSets.MethodSet(mi.X.Type())
	var out []*ssa.Function
	for i := range iface.NumMethods() {
		m := iface.Method(i)
		if sel := mset.Lookup(m.Pkg(), m.Name()); sel != nil {
			if fn := p.methodBody(sel); fn != nil {
				out = append(out, fn)
			}
		}
	}
	return out
}

// methodBody returns the function with a body that the method selection
// sel calls; nil for an abstract method (of a type parameter) or one with
// no body in the units.
func (p *program) methodBody(sel *types.Selection) *ssa.Function {
	fn := p.prog.MethodValue(sel)
	if fn == nil {
		return nil
	}
	return p.link(fn)
}

// madeByCaller reports whether x is a pointer made by the function using
// it: allocated there, or returned by a call (see interfaceMethods).
func madeByCaller(x ssa.Value) bool {
	if _, isPtr := x.Type().Underlying().(*types.Pointer); !isPtr {
		return false
	}
	switch x.(type) {
	case *ssa.Alloc, *ssa.Call:
		return true
	}
	return false
}

// formattingMethods returns the methods with bodies that fmt calls to
// format the operands packed into v, the variadic argument of a print
// call: String, Error, GoString and Format of each operand's type. They
// run during the call, on the caller's goroutine, and read what they
// print (a String method ranging over a map). Operands made by the
// caller are left out, as for interfaceMethods.
func (p *program) formattingMethods(v ssa.Value) []*ssa.Function {
	sl, ok := v.(*ssa.Slice)
	if !ok {
		return nil
	}
	operands, ok := sl.X.(*ssa.Alloc)
	if !ok {
		return nil
	}
	var out []*ssa.Function
	for _, r := range *operands.Referrers() {
		ia, ok := r.(*ssa.IndexAddr)
		if !ok {
			continue
		}
		for _, u := range *ia.Referrers() {
			st, ok := u.(*ssa.Store)
			if !ok {
				continue
			}
			mi, ok := st.Val.(*ssa.MakeInterface)
			if !ok || madeByCaller(mi.X) {
				continue
			}
			mset := p.prog.MethodSets.MethodSet(mi.X.Type())
			for _, name := range []string{"String", "Error", "GoString", "Format"} {
				sel := mset.Lookup(nil, name)
				if sel == nil || !formatsWith(name, sel.Obj().(*types.Func)) {
					continue
				}
				if fn := p.methodBody(sel); fn != nil {
					out = append(out, fn)
				}
			}
		}
	}
	return out
}

// formatsWith reports whether m has the signature fmt looks for in a
// method of that name: String() string and the like, or Format(f
// fmt.State, verb rune).
func formatsWith(name string, m *types.Func) bool {
	sig := m.Signature()
	if name == "Format" {
		return sig.Params().Len() == 2 && sig.Results().Len() == 0
	}
	if sig.Params().Len() != 0 || sig.Results().Len() != 1 {
		return false
	}
	b, ok := sig.Results().At(0).Type().Underlying().(*types.Basic)
	return ok && b.Kind() == types.String
}

// formatsOperands reports whether c calls a function that formats its
// variadic operands with fmt (IsPrintFunc).
func formatsOperands(c *ssa.CallCommon) bool {
	fn := c.StaticCallee()
	if fn == nil {
		return false
	}
	obj, ok := fn.Object().(*types.Func)
	return ok && obj.Pkg() != nil && IsPrintFunc(obj)
}

// link returns the function with a body that fn stands for: fn itself, or
// for a body-less function from export data, the unit function declared at
// the same position. It returns nil when there is none. An instance of a
// generic function of a dependency (slices.IndexFunc[...]) has a body that
// only calls its body-less generic function: it is opaque like the rest of
// the dependency, so that the function values it is handed count as
// called at the call.
func (p *program) link(fn *ssa.Function) *ssa.Function {
	if o := fn.Origin(); o != nil && o.Pkg != nil && !p.inUnits[o.Pkg] {
		return nil
	}
	if len(fn.Blocks) > 0 {
		return fn
	}
	obj := fn.Object()
	if obj == nil {
		return nil
	}
	return p.byID[objectID(p.fset, obj)]
}

// callsStatically reports whether c names fn as its callee: fn itself,
// or the body-less copy of fn that another unit sees through export data.
func (p *program) callsStatically(c *ssa.CallCommon, fn *ssa.Function) bool {
	callee := c.StaticCallee()
	return callee != nil && (callee == fn || p.link(callee) == fn)
}

// callees returns the functions with bodies that site may call: its static
// callee, or the dynamic callees found by the call graph.
func (p *program) callees(site ssa.CallInstruction, dynamic []*ssa.Function) []*ssa.Function {
	if fn := site.Common().StaticCallee(); fn != nil {
		if l := p.link(fn); l != nil {
			return []*ssa.Function{l}
		}
		return nil
	}
	var out []*ssa.Function
	seen := map[*ssa.Function]bool{}
	for _, c := range dynamic {
		if l := p.link(c); l != nil && !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	sortFuncs(p.fset, out)
	return out
}

// opaqueCallee reports whether site calls into package sync, whose
// primitives are modelled (locks, Once, WaitGroup) rather than followed.
func opaqueCallee(site ssa.CallInstruction) bool {
	fn := site.Common().StaticCallee()
	if fn == nil {
		return false
	}
	if o := fn.Origin(); o != nil {
		fn = o
	}
	obj := fn.Object()
	return obj != nil && obj.Pkg() != nil && obj.Pkg().Path() == "sync"
}

// isYield reports whether fn is the body of a range-over-func loop. The
// call graph lets any iterator call any yield function of the right type;
// the body is instead attached to its range statement.
func isYield(fn *ssa.Function) bool {
	return fn.Synthetic == "range-over-func yield"
}
