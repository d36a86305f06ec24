package detect

import (
	"go/types"

	"golang.org/x/tools/go/callgraph"
	"golang.org/x/tools/go/ssa"
	"golang.org/x/tools/go/types/typeutil"
)

// chaGraph returns the class hierarchy analysis call graph of the call
// sites in funcs, resolving dynamic calls against every function in all
// (the whole program). It is the graph cha.CallGraph computes, restricted
// to the callers VTA asks about: cha.CallGraph also builds nodes and edges
// for every function of the dependencies, which VTA never reads, and
// walks the whole program a second time to find them.
func chaGraph(all map[*ssa.Function]bool, funcs []*ssa.Function) *callgraph.Graph {
	g := &callgraph.Graph{Nodes: make(map[*ssa.Function]*callgraph.Node)}
	resolve := newCHAResolver(all)
	for _, fn := range funcs {
		caller := g.CreateNode(fn)
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				site, ok := instr.(ssa.CallInstruction)
				if !ok {
					continue
				}
				for _, callee := range resolve.callees(site) {
					callgraph.AddEdge(caller, site, g.CreateNode(callee))
				}
			}
		}
	}
	return g
}

// chaResolver answers which functions a call site may call under class
// hierarchy analysis: a static callee is itself; an interface method call
// may reach the method of that name of every type implementing the
// interface; a call of a function value may reach every function of its
// signature. It follows golang.org/x/tools/go/callgraph/cha, whose
// resolver is not exported, so that the initial graph VTA refines is the
// same.
type chaResolver struct {
	// bySig holds the functions that are not methods, by signature.
	bySig typeutil.Map // *types.Signature -> []*ssa.Function
	// methodsByID holds the methods, by method ID (name and, for
	// unexported names, package), so that two unexported methods spelled
	// alike in different packages are told apart.
	methodsByID map[string][]*ssa.Function
	// implementing memoizes, per interface method, the methods of the
	// types that implement the interface.
	implementing map[ifaceMethod][]*ssa.Function
}

type ifaceMethod struct {
	iface *types.Interface
	id    string
}

func newCHAResolver(all map[*ssa.Function]bool) *chaResolver {
	r := &chaResolver{
		methodsByID:  map[string][]*ssa.Function{},
		implementing: map[ifaceMethod][]*ssa.Function{},
	}
	for fn := range all {
		if fn.Signature.Recv() == nil {
			// A package initializer is never a function value.
			if fn.Name() == "init" && fn.Synthetic == "package initializer" {
				continue
			}
			fns, _ := r.bySig.At(fn.Signature).([]*ssa.Function)
			r.bySig.Set(fn.Signature, append(fns, fn))
		} else if obj := fn.Object(); obj != nil {
			id := obj.(*types.Func).Id()
			r.methodsByID[id] = append(r.methodsByID[id], fn)
		}
	}
	return r
}

// callees returns the functions site may call.
func (r *chaResolver) callees(site ssa.CallInstruction) []*ssa.Function {
	call := site.Common()
	if call.IsInvoke() {
		iface := call.Value.Type().Underlying().(*types.Interface)
		key := ifaceMethod{iface, call.Method.Id()}
		methods, ok := r.implementing[key]
		if !ok {
			for _, m := range r.methodsByID[key.id] {
				if types.Implements(m.Signature.Recv().Type(), iface) {
					methods = append(methods, m)
				}
			}
			r.implementing[key] = methods
		}
		return methods
	}
	if g := call.StaticCallee(); g != nil {
		return []*ssa.Function{g}
	}
	if _, ok := call.Value.(*ssa.Builtin); ok {
		return nil
	}
	fns, _ := r.bySig.At(call.Signature()).([]*ssa.Function)
	return fns
}
