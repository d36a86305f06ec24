package detect

import (
	"go/types"

	"golang.org/x/tools/go/callgraph"
	"golang.org/x/tools/go/ssa"
	"golang.org/x/tools/go/types/typeutil"
)

// chaGraph is the class-hierarchy call graph that VTA starts from and
// refines, restricted to the call sites of callers. A dynamic call may
// reach any function of all with its signature, and an interface call any
// method of all whose receiver implements the interface; all includes the
// body-less functions of the plain variants of units, which calls are
// linked through.
//
// It is cha.CallGraph without its two costs that detection does not need:
// enumerating every function of the program again, and adding edges for
// call sites outside the units, which VTA never asks about.
func chaGraph(callers []*ssa.Function, all map[*ssa.Function]bool) *callgraph.Graph {
	var bySig typeutil.Map // signature → []*ssa.Function
	byID := map[string][]*ssa.Function{}
	for fn := range all {
		if fn.Signature.Recv() == nil {
			if fn.Synthetic == "package initializer" {
				continue // never a function value
			}
			fns, _ := bySig.At(fn.Signature).([]*ssa.Function)
			bySig.Set(fn.Signature, append(fns, fn))
		} else if obj, ok := fn.Object().(*types.Func); ok {
			byID[obj.Id()] = append(byID[obj.Id()], fn)
		}
	}
	type method struct {
		iface *types.Interface
		id    string
	}
	implementers := map[method][]*ssa.Function{}
	dynamicCallees := func(call *ssa.CallCommon) []*ssa.Function {
		if call.IsInvoke() {
			iface := call.Value.Type().Underlying().(*types.Interface)
			m := method{iface, call.Method.Id()}
			fns, ok := implementers[m]
			if !ok {
				for _, fn := range byID[m.id] {
					if types.Implements(fn.Signature.Recv().Type(), iface) {
						fns = append(fns, fn)
					}
				}
				implementers[m] = fns
			}
			return fns
		}
		if _, ok := call.Value.(*ssa.Builtin); ok {
			return nil
		}
		fns, _ := bySig.At(call.Signature()).([]*ssa.Function)
		return fns
	}

	g := callgraph.New(nil)
	for _, fn := range callers {
		node := g.CreateNode(fn)
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				site, ok := instr.(ssa.CallInstruction)
				if !ok {
					continue
				}
				call := site.Common()
				if callee := call.StaticCallee(); callee != nil {
					callgraph.AddEdge(node, site, g.CreateNode(callee))
					continue
				}
				for _, callee := range dynamicCallees(call) {
					callgraph.AddEdge(node, site, g.CreateNode(callee))
				}
			}
		}
	}
	return g
}
