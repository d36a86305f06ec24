package detect_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/safemapfix/safemapfix/detect"
)

// TestRootCounts runs the detector over programs whose number of roots
// comes to either side of a multiple of 64, the size of one word of a set
// of roots, before and after the root of unknown callers is added (the
// function nothing calls gives it an entry); the call through a function
// value makes the detector extend its sets of roots once more after that.
// Each program has one racy map, which must be found.
func TestRootCounts(t *testing.T) {
	for _, starts := range []int{61, 62, 63, 64} {
		t.Run(fmt.Sprint(starts), func(t *testing.T) {
			var src strings.Builder
			src.WriteString("package main\n\nimport \"sync\"\n\nvar hits = map[int]int{}\n\n")
			src.WriteString("func apply(f func()) { f() }\n\nfunc unused() {}\n\nfunc main() {\n\tvar wg sync.WaitGroup\n")
			for i := range starts {
				fmt.Fprintf(&src, "\twg.Go(func() { apply(func() { hits[%d]++ }) })\n", i)
			}
			src.WriteString("\twg.Wait()\n}\n")
			prog := loadModule(t, map[string]string{"go.mod": "module example.com/roots\n\ngo 1.26\n", "main.go": src.String()})
			findings, err := detect.Find(prog.Fset, prog.Packages, detect.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(findings) != 1 || findings[0].Name != "example.com/roots.hits" {
				t.Errorf("findings %v, want hits", findings)
			}
		})
	}
}
