package detect

import (
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"strings"
	"testing"

	"golang.org/x/tools/go/ssa"
	"golang.org/x/tools/go/ssa/ssautil"
)

// TestLoopBlocks checks which calls lie on a cycle of the control flow
// graph: calls of functions named in* must, calls of out* must not.
func TestLoopBlocks(t *testing.T) {
	tests := []struct {
		name, body string
	}{
		{"straight", `out1(); if c() { out2() } else { out3() }; out4()`},
		{"for", `out1(); for i := 0; i < 3; i++ { in1() }; out2()`},
		{"nested", `for c() { in1(); for c() { in2() }; in3() }; out1()`},
		{"range", `for range 3 { in1(); if c() { break }; in2() }; out1()`},
		{"infinite", `out1(); for { in1(); if c() { return } }`},
		{"goto", `out1()
L:
	in1()
	if c() { goto L }
	out2()`},
		{"labelled continue", `out1()
outer:
	for c() {
		for c() { in1(); continue outer }
	}
	out2()`},
		{"loop in both branches", `if c() { for c() { in1() } } else { for c() { in2() } }; out1()`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "package p\nfunc c() bool\nfunc in1()\nfunc in2()\nfunc in3()\nfunc out1()\nfunc out2()\nfunc out3()\nfunc out4()\nfunc f() {\n" + tt.body + "\n}\n"
			fn := buildFunc(t, src, "f")
			loops := loopBlocks(fn)
			checked := 0
			for _, b := range fn.Blocks {
				for _, instr := range b.Instrs {
					call, ok := instr.(*ssa.Call)
					if !ok || call.Call.StaticCallee() == nil {
						continue
					}
					name := call.Call.StaticCallee().Name()
					switch {
					case strings.HasPrefix(name, "in"):
						checked++
						if !loops[b] {
							t.Errorf("call of %s not found in a loop", name)
						}
					case strings.HasPrefix(name, "out"):
						checked++
						if loops[b] {
							t.Errorf("call of %s found in a loop", name)
						}
					}
				}
			}
			if checked == 0 {
				t.Fatal("no calls checked")
			}
		})
	}
}

// buildFunc builds SSA for the package in src and returns its function name.
func buildFunc(t *testing.T, src, name string) *ssa.Function {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	pkg, _, err := ssautil.BuildPackage(&types.Config{Importer: importer.Default()}, fset, types.NewPackage("p", "p"), []*ast.File{f}, ssa.BuilderMode(0))
	if err != nil {
		t.Fatal(err)
	}
	fn := pkg.Func(name)
	if fn == nil {
		t.Fatalf("no function %s", name)
	}
	return fn
}
