package rewrite_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/safemapfix/safemapfix/detect"
	"github.com/safemapfix/safemapfix/load"
	"github.com/safemapfix/safemapfix/rewrite"
)

// BenchmarkRewriteLargeFile rewrites one map used by one function of a
// file of about twenty thousand lines, the size of the largest files of
// nats-server or the Go tree. Only the declarations that change are
// decorated and printed, so the cost should follow the edits, not the file.
//
//	go test ./rewrite -run '^$' -bench RewriteLargeFile -benchmem
func BenchmarkRewriteLargeFile(b *testing.B) {
	dir := b.TempDir()
	var src strings.Builder
	src.WriteString("package big\n\nimport \"fmt\"\n\n// hits counts calls.\nvar hits = map[string]int{}\n\n")
	src.WriteString("// Hit records a call.\nfunc Hit(name string) {\n\thits[name]++ // count it\n}\n")
	for i := range 2000 {
		fmt.Fprintf(&src, "\n// F%d is one of many functions the rewrite leaves alone.\nfunc F%d(xs []int) (sum int) {\n", i, i)
		src.WriteString("\tfor _, x := range xs {\n\t\tif x%2 == 0 {\n\t\t\tsum += x // even\n\t\t}\n\t}\n\tfmt.Sprint(sum)\n\treturn sum\n}\n")
	}
	write(b, dir, "go.mod", []byte("module "+fuzzModule+"\n\ngo 1.24\n"))
	write(b, dir, "big.go", []byte(src.String()))
	prog, err := load.Load(load.Config{Dir: dir, Patterns: []string{"./..."}, Tests: true, Env: fuzzEnv})
	if err != nil {
		b.Fatal(err)
	}
	var ids []string
	for _, d := range detect.MapObjects(prog.Packages) {
		ids = append(ids, load.ObjectID(prog.Fset, d.Object))
	}
	cfg := rewrite.Config{
		Fset:      prog.Fset,
		Packages:  prog.Packages,
		Wrapper:   rewrite.Wrapper{Path: fuzzModule + "/internal/safemap", Name: "safemap"},
		ModuleDir: dir,
		Index:     rewrite.NewIndex(prog.Fset, prog.Packages),
	}
	for b.Loop() {
		res, err := rewrite.Rewrite(cfg, ids)
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Files) != 1 || filepath.Base(res.Files[0].Path) != "big.go" {
			b.Fatalf("rewrote %d files, want big.go", len(res.Files))
		}
	}
}
