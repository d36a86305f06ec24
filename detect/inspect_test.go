package detect

import (
	"os"
	"testing"

	"github.com/safemapfix/safemapfix/load"
)

func TestInspect(t *testing.T) {
	dir := os.Getenv("DETECT_INSPECT_DIR")
	if dir == "" {
		t.Skip()
	}
	prog, err := load.Load(load.Config{Dir: dir, Patterns: []string{"./..."}, Tests: true})
	if err != nil {
		t.Fatal(err)
	}
	a := newAnalysis(buildProgram(prog.Fset, prog.Packages))
	a.run()
	for i, r := range a.roots {
		t.Logf("root %d %v %s multi=%v parents=%v reach=%d", i, r.kind, r.desc, r.multi, r.parents, r.reach.count())
	}
	for id, accs := range a.collectAccesses() {
		for _, x := range accs {
			t.Logf("access %s %s %s write=%v locks=%v", id, x.fn, x.op, x.write, a.locksAt(x.fn, x.instr))
		}
	}
	for _, f := range a.findings {
		t.Logf("%s %s %s", f.Name, f.Confidence, f.Reason)
	}
}
