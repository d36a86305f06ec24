package rewrite_test

import (
	"bytes"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"go/types"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/safemapfix/safemapfix"
	"github.com/safemapfix/safemapfix/detect"
	"github.com/safemapfix/safemapfix/load"
	"github.com/safemapfix/safemapfix/rewrite"
)

const fuzzModule = "example.com/fz"

// fuzzEnv makes the go command load the fuzzed module offline.
var fuzzEnv = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")

// FuzzRewrite rewrites every map object of a one-file package and checks
// that the rewrite never panics, that its output parses, is gofmt-formatted
// when its input is, and type-checks, and that rewriting the output again changes nothing.
// The seeds are the Go files of the golden cases (testdata/golden), each
// also with a few statement-level mutations (a statement duplicated,
// dropped or swapped with the next, chosen by the second argument).
// Inputs that do not type-check are skipped. Run it with
//
//	go test ./rewrite -run '^$' -fuzz FuzzRewrite
func FuzzRewrite(f *testing.F) {
	for i, src := range goldenSources(f) {
		f.Add(src, uint64(0))
		if i%8 == 0 {
			f.Add(src, uint64(i+1))
		}
	}
	f.Fuzz(func(t *testing.T, src string, mutation uint64) {
		if testing.Short() {
			t.Skip("loads packages with the go command")
		}
		if mutation != 0 {
			src = mutate(src, mutation)
		}
		t.Parallel() // only the seed corpus runs in parallel; fuzzing does not
		formatted, err := format.Source([]byte(src))
		inputFormatted := err == nil && string(formatted) == src
		dir := t.TempDir()
		write(t, dir, "go.mod", []byte("module "+fuzzModule+"\n\ngo 1.24\n"))
		write(t, dir, "fz.go", []byte(src))
		prog, err := load.Load(load.Config{Dir: dir, Patterns: []string{"./..."}, Tests: true, Env: fuzzEnv})
		if err != nil {
			t.Skipf("input does not type-check: %v", err)
		}
		res, ids := rewriteAll(t, prog, dir)
		if len(ids) == 0 {
			t.Skip("no map objects")
		}
		for _, file := range res.Files {
			name := filepath.Base(file.Path)
			if _, err := parser.ParseFile(token.NewFileSet(), name, file.New, parser.ParseComments); err != nil {
				t.Fatalf("rewritten %s does not parse: %v\n%s", name, err, file.New)
			}
			// Only the declarations that change are printed again, so
			// the output is gofmt-formatted when the input was.
			if formatted, err := format.Source(file.New); err == nil && !bytes.Equal(formatted, file.New) && inputFormatted {
				t.Errorf("rewritten %s is not gofmt-formatted:\n%s", name, file.New)
			}
			write(t, dir, name, file.New)
		}
		if len(res.Files) == 0 {
			return
		}
		wrapper, err := safemapfix.WrapperFiles("fuzz")
		if err != nil {
			t.Fatal(err)
		}
		for name, data := range wrapper {
			write(t, dir, filepath.Join("internal", "safemap", name), data)
		}
		prog2, err := load.Load(load.Config{Dir: dir, Patterns: []string{"./..."}, Tests: true, Env: fuzzEnv})
		if err != nil {
			t.Fatalf("rewritten code does not type-check: %v\ninput:\n%s\noutput:\n%s", err, src, res.Files[0].New)
		}
		again, _ := rewriteAll(t, prog2, dir)
		for _, file := range again.Files {
			t.Errorf("a second rewrite changes %s:\n%s", filepath.Base(file.Path), file.New)
		}
	})
}

// rewriteAll rewrites every map object declared in the program's files,
// except those of the placed safe map package and aliases (x := m), which
// the rewrite reaches from the map they copy. Naming an alias as well is a
// different input: with the drain idiom (old := s.m; s.m = make(...)) it
// makes the rewrite range over old.All() although old stays a plain map.
func rewriteAll(t *testing.T, prog *load.Program, dir string) (*rewrite.Result, []string) {
	t.Helper()
	objs := detect.MapObjects(prog.Packages)
	aliases := aliasObjects(prog)
	var ids []string
	for _, d := range objs {
		if aliases[d.Object] || strings.Contains(prog.Fset.Position(d.Object.Pos()).Filename, string(filepath.Separator)+"safemap"+string(filepath.Separator)) {
			continue
		}
		ids = append(ids, load.ObjectID(prog.Fset, d.Object))
	}
	sort.Strings(ids)
	res, err := rewrite.Rewrite(rewrite.Config{
		Fset:      prog.Fset,
		Packages:  prog.Packages,
		Wrapper:   rewrite.Wrapper{Path: fuzzModule + "/internal/safemap", Name: "safemap"},
		ModuleDir: dir,
	}, ids)
	if err != nil {
		t.Fatalf("rewrite: %v", err)
	}
	return res, ids
}

// aliasObjects returns the variables declared with := or var from another
// map variable or field.
func aliasObjects(prog *load.Program) map[types.Object]bool {
	aliases := map[types.Object]bool{}
	for _, p := range prog.Packages {
		isMapObject := func(e ast.Expr) bool {
			var id *ast.Ident
			switch x := ast.Unparen(e).(type) {
			case *ast.Ident:
				id = x
			case *ast.SelectorExpr:
				id = x.Sel
			}
			return id != nil && p.TypesInfo.Uses[id] != nil && detect.IsMapVar(p.TypesInfo.Uses[id])
		}
		mark := func(lhs []*ast.Ident, rhs []ast.Expr) {
			if len(lhs) != len(rhs) {
				return
			}
			for i, id := range lhs {
				if obj := p.TypesInfo.Defs[id]; obj != nil && isMapObject(rhs[i]) {
					aliases[obj] = true
				}
			}
		}
		for _, f := range p.Syntax {
			ast.Inspect(f, func(n ast.Node) bool {
				switch x := n.(type) {
				case *ast.AssignStmt:
					if x.Tok == token.DEFINE {
						var lhs []*ast.Ident
						for _, l := range x.Lhs {
							id, _ := l.(*ast.Ident)
							lhs = append(lhs, id)
						}
						mark(lhs, x.Rhs)
					}
				case *ast.ValueSpec:
					mark(x.Names, x.Values)
				}
				return true
			})
		}
	}
	return aliases
}

// goldenSources returns the non-test Go files of the golden cases' input
// modules.
func goldenSources(f *testing.F) []string {
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "golden", "*.txtar"))
	if err != nil {
		f.Fatal(err)
	}
	var srcs []string
	for _, p := range paths {
		ar, err := txtar.ParseFile(p)
		if err != nil {
			f.Fatalf("parse %s: %v", p, err)
		}
		for _, file := range ar.Files {
			if strings.HasSuffix(file.Name, ".go") && !strings.HasSuffix(file.Name, "_test.go") && !strings.HasPrefix(file.Name, "want/") {
				srcs = append(srcs, string(file.Data))
			}
		}
	}
	if len(srcs) == 0 {
		f.Fatal("no golden Go files found")
	}
	return srcs
}

// mutate changes a few statements of src, as chosen by seed: one is
// duplicated, dropped, or swapped with the next. It returns src unchanged
// when it does not parse.
func mutate(src string, seed uint64) string {
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "fz.go", src, parser.ParseComments)
	if err != nil {
		return src
	}
	var blocks []*ast.BlockStmt
	ast.Inspect(file, func(n ast.Node) bool {
		if b, ok := n.(*ast.BlockStmt); ok && len(b.List) > 0 {
			blocks = append(blocks, b)
		}
		return true
	})
	if len(blocks) == 0 {
		return src
	}
	rnd := rand.New(rand.NewPCG(seed, seed>>1))
	for range 1 + rnd.IntN(3) {
		b := blocks[rnd.IntN(len(blocks))]
		if len(b.List) == 0 {
			continue
		}
		i := rnd.IntN(len(b.List))
		switch rnd.IntN(3) {
		case 0:
			b.List = slices.Insert(b.List, i, b.List[i])
		case 1:
			b.List = slices.Delete(b.List, i, i+1)
		default:
			if i+1 < len(b.List) {
				b.List[i], b.List[i+1] = b.List[i+1], b.List[i]
			}
		}
	}
	var buf bytes.Buffer
	if err := format.Node(&buf, fset, file); err != nil {
		return src
	}
	return buf.String()
}

func write(t testing.TB, dir, name string, data []byte) {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
