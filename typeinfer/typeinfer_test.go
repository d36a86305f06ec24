package typeinfer

import (
	"bytes"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"strings"
	"sync"
	"testing"

	"github.com/dave/dst"
	"github.com/dave/dst/decorator"
)

const src = `package p

import (
	"io"
	"net/http"
	"sync"
)

type entry struct{ n int }
type Pair[A, B any] struct{ a A; b B }
type Stringer interface{ String() string }

var (
	v01 map[string]int
	v02 map[int]*entry
	v03 map[string][]io.Reader
	v04 map[string]map[int]bool
	v05 map[[4]byte]chan<- int
	v06 map[string]func(int, ...string) (bool, error)
	v07 map[string]struct{ X int "json:\"x\"" }
	v08 map[any]interface{ Close() error }
	v09 map[string]Pair[int, *http.Request]
	v10 map[string]<-chan struct{}
	v11 map[string]*sync.Mutex
)

func local() {
	type hidden int
	var h map[hidden]int
	_ = h
}
`

// check type-checks src once for all tests.
var check = sync.OnceValues(func() (*types.Package, *types.Info) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		panic(err)
	}
	info := &types.Info{Defs: map[*ast.Ident]types.Object{}}
	pkg, err := (&types.Config{Importer: importer.Default()}).Check("example.com/p", fset, []*ast.File{f}, info)
	if err != nil {
		panic(err)
	}
	return pkg, info
})

// TestExpr checks that synthesised expressions print as the source wrote
// the same types, package qualifiers included.
func TestExpr(t *testing.T) {
	pkg, _ := check()
	tests := []struct{ name, want string }{
		{"v01", "map[string]int"},
		{"v02", "map[int]*entry"},
		{"v03", "map[string][]io.Reader"},
		{"v04", "map[string]map[int]bool"},
		{"v05", "map[[4]byte]chan<- int"},
		{"v06", "map[string]func(int, ...string) (bool, error)"},
		{"v07", "map[string]struct {\n\tX int \"json:\\\"x\\\"\"\n}"},
		{"v08", "map[any]interface{ Close() error }"},
		{"v09", "map[string]Pair[int, *http.Request]"},
		{"v10", "map[string]<-chan struct{}"},
		{"v11", "map[string]*sync.Mutex"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := pkg.Scope().Lookup(tt.name)
			var imported []string
			namer := func(path, name string) string {
				imported = append(imported, path)
				return name
			}
			e, err := Expr(obj.Type(), pkg, namer)
			if err != nil {
				t.Fatal(err)
			}
			if got := print(t, e); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			for _, p := range imported {
				if !strings.Contains(tt.want, p[strings.LastIndex(p, "/")+1:]+".") {
					t.Errorf("imported %s, which the type does not use", p)
				}
			}
		})
	}
}

// TestExprRefuses checks the types that cannot be named from another
// package or outside their function.
func TestExprRefuses(t *testing.T) {
	pkg, info := check()
	other := types.NewPackage("example.com/q", "q")
	namer := func(path, name string) string { return name }
	if _, err := Expr(pkg.Scope().Lookup("v02").Type(), other, namer); err == nil || !strings.Contains(err.Error(), "not exported") {
		t.Errorf("unexported type from another package: err = %v", err)
	}
	var local types.Object
	for id, obj := range info.Defs {
		if id.Name == "h" {
			local = obj
		}
	}
	if _, err := Expr(local.Type(), pkg, namer); err == nil || !strings.Contains(err.Error(), "inside a function") {
		t.Errorf("function-local type: err = %v", err)
	}
}

func print(t *testing.T, e dst.Expr) string {
	t.Helper()
	f := &dst.File{Name: dst.NewIdent("p"), Decls: []dst.Decl{&dst.GenDecl{Tok: token.TYPE, Specs: []dst.Spec{&dst.TypeSpec{Name: dst.NewIdent("T"), Type: e}}}}}
	var buf bytes.Buffer
	if err := decorator.NewRestorer().Fprint(&buf, f); err != nil {
		t.Fatal(err)
	}
	s := buf.String()
	s = s[strings.Index(s, "type T ")+len("type T "):]
	return strings.TrimSpace(s)
}
