package detect

import (
	"os"
	"testing"

	"golang.org/x/tools/go/callgraph"
	"golang.org/x/tools/go/callgraph/cha"
	"golang.org/x/tools/go/ssa"

	"github.com/safemapfix/safemapfix/load"
)

// TestCHAGraphMatchesCHA checks that the initial call graph handed to VTA
// gives every call site of the analysed functions the callees that
// cha.CallGraph gives it, over the accuracy suite (which has interface
// calls, function values, method values and generics), or over the module
// in DETECT_INSPECT_DIR when that is set.
func TestCHAGraphMatchesCHA(t *testing.T) {
	dir := os.Getenv("DETECT_INSPECT_DIR")
	var env []string
	if dir == "" {
		dir, env, _ = WriteSuite(t)
	}
	prog, err := load.Load(load.Config{Dir: dir, Patterns: []string{"./..."}, Tests: true, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	p := buildProgram(prog.Fset, prog.Packages)
	want := cha.CallGraph(p.prog)
	got := chaGraph(p.all, p.funcs)

	sites := func(g *callgraph.Graph, fn *ssa.Function) map[ssa.CallInstruction]map[*ssa.Function]bool {
		out := map[ssa.CallInstruction]map[*ssa.Function]bool{}
		node := g.Nodes[fn]
		if node == nil {
			return out
		}
		for _, e := range node.Out {
			if out[e.Site] == nil {
				out[e.Site] = map[*ssa.Function]bool{}
			}
			out[e.Site][e.Callee.Func] = true
		}
		return out
	}
	dynamic := 0
	for _, fn := range p.funcs {
		w, g := sites(want, fn), sites(got, fn)
		if len(w) != len(g) {
			t.Errorf("%s: %d call sites with callees, want %d", fn, len(g), len(w))
			continue
		}
		for site, callees := range w {
			if site.Common().StaticCallee() == nil {
				dynamic++
			}
			if len(g[site]) != len(callees) {
				t.Errorf("%s: %s: %d callees, want %d", fn, site, len(g[site]), len(callees))
				continue
			}
			for c := range callees {
				if !g[site][c] {
					t.Errorf("%s: %s: callee %s missing", fn, site, c)
				}
			}
		}
	}
	if dynamic == 0 {
		t.Fatal("no dynamic call sites in the suite: the comparison proves nothing")
	}
	t.Logf("%d functions, %d dynamic call sites compared", len(p.funcs), dynamic)
}
