package rewrite

import (
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"maps"
	"testing"
)

func TestAddressVerbs(t *testing.T) {
	const src = `package p

import "fmt"

var s struct{ m map[int]int }
var format = "%p"

func f() {
	_ = fmt.Sprintf("%p", &s)
	_ = fmt.Sprintf("%v %p %T", s, &s, s)
	_ = fmt.Sprintf("%*d %p", 3, 4, &s)
	_ = fmt.Sprintf("%% %p", &s)
	_ = fmt.Sprintf("%[1]p", &s)
	_ = fmt.Sprintf(format, &s)
	_ = fmt.Sprint(&s)
	fmt.Printf("%-8p|%+v", &s, s)
}
`
	want := []map[int]byte{
		{1: 'p'},
		{2: 'p', 3: 'T'},
		{3: 'p'},
		{1: 'p'},
		nil,
		nil,
		nil,
		{1: 'p'},
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}, Uses: map[*ast.Ident]types.Object{}}
	if _, err := (&types.Config{Importer: importer.Default()}).Check("p", fset, []*ast.File{f}, info); err != nil {
		t.Fatal(err)
	}
	var got []map[int]byte
	ast.Inspect(f, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok {
			if fn := calledFunc(info, call); fn != nil && fn.Pkg().Path() == "fmt" {
				got = append(got, addressVerbs(info, fn, call))
			}
		}
		return true
	})
	if len(got) != len(want) {
		t.Fatalf("%d calls, want %d", len(got), len(want))
	}
	for i := range want {
		if len(got[i]) != len(want[i]) || !maps.Equal(got[i], want[i]) {
			t.Errorf("call %d: %v, want %v", i+1, got[i], want[i])
		}
	}
}
