package detect

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/tools/go/ssa"

	"github.com/safemapfix/safemapfix/load"
)

// TestLinkToMethodNotWrapper checks that a call of a value method through
// its export-data copy is linked to the method, not to the pointer
// wrapper that has the same object and position: the wrapper only calls
// the method, and following it instead made results depend on the order
// of functions.
func TestLinkToMethodNotWrapper(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"go.mod": "module example.com/w\n\ngo 1.26\n",
		"a/a.go": `package a

type T struct{ n int }

func (t T) Get() int { return t.n }

type Getter interface{ Get() int }

// G makes the pointer wrapper (*T).Get.
var G Getter = &T{}
`,
		"a/a_test.go": `package a

import "testing"

func TestGet(t *testing.T) {
	if (T{n: 1}).Get() != 1 {
		t.Fatal("Get")
	}
}
`,
		"b/b.go": `package b

import "example.com/w/a"

func Use() int { return a.T{}.Get() }
`,
	}
	for name, data := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	prog, err := load.Load(load.Config{Dir: dir, Tests: true})
	if err != nil {
		t.Fatal(err)
	}
	p := buildProgram(prog.Fset, prog.Packages)
	p.buildCallGraph()
	for id, fn := range p.byID {
		if fn.Synthetic != "" {
			t.Errorf("%s stands for %s, a %s", id, fn, fn.Synthetic)
		}
	}
	calls := 0
	for _, fn := range p.funcs {
		if fn.Name() != "Use" {
			continue
		}
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				call, ok := instr.(*ssa.Call)
				if !ok || call.Call.StaticCallee() == nil || call.Call.StaticCallee().Name() != "Get" {
					continue
				}
				calls++
				for _, callee := range p.calls[call] {
					if callee.Synthetic != "" || callee.Name() != "Get" {
						t.Errorf("a.T{}.Get() in Use is linked to %s (%s), not the method", callee, callee.Synthetic)
					}
				}
				if len(p.calls[call]) != 1 {
					t.Errorf("a.T{}.Get() in Use is linked to %v, want the method", p.calls[call])
				}
			}
		}
	}
	if calls != 1 {
		t.Fatalf("found %d calls of Get in Use, want 1", calls)
	}
}
