package detect

import (
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"slices"
	"testing"
)

// TestObjectName checks the names --only and --exclude take, for every
// kind of map object, and that a file other than the declaring one gives
// the same names.
func TestObjectName(t *testing.T) {
	const src = `package p

var Global = map[int]int{}

type Counts map[string]int

type (
	Server struct {
		mu    int
		conns map[int]bool
		Counts
		inner struct{ hidden map[int]int }
	}
	Cache[K comparable] struct{ items map[K]int }
	Alias = struct{ viaAlias map[int]int }
)

type Derived Server

func (s *Server) Run() {
	local := map[int]int{}
	_ = local
	type scoped struct{ m map[int]int }
	_ = scoped{}
}

func F() {
	var byF map[string]bool
	_ = byF
}
`
	fset := token.NewFileSet()
	file, err := parser.ParseFile(fset, "p.go", src, 0)
	if err != nil {
		t.Fatal(err)
	}
	other, err := parser.ParseFile(fset, "other.go", "package p\n", 0)
	if err != nil {
		t.Fatal(err)
	}
	info := &types.Info{Defs: map[*ast.Ident]types.Object{}}
	conf := types.Config{Importer: importer.Default()}
	pkg, err := conf.Check("example.com/p", fset, []*ast.File{file, other}, info)
	if err != nil {
		t.Fatal(err)
	}
	var got, gotOther []string
	for _, obj := range info.Defs {
		if obj == nil || !IsMapVar(obj) {
			continue
		}
		got = append(got, ObjectName(pkg, file, obj))
		gotOther = append(gotOther, ObjectName(pkg, other, obj))
	}
	slices.Sort(got)
	slices.Sort(gotOther)
	want := []string{
		"example.com/p.Alias.viaAlias",
		"example.com/p.Cache.items",
		"example.com/p.F.byF",
		"example.com/p.Global",
		"example.com/p.Server.Counts",
		"example.com/p.Server.Run.local",
		"example.com/p.Server.Run.m",
		"example.com/p.Server.conns",
		// A field of an anonymous struct outside any function.
		"example.com/p.init.hidden",
	}
	if !slices.Equal(got, want) {
		t.Errorf("names from the declaring file:\ngot  %q\nwant %q", got, want)
	}
	// From another file, the fields of package-level types are found by a
	// scan of the package scope, which must name the same types (Server,
	// not Derived, which shares its struct).
	for _, name := range []string{
		"example.com/p.Alias.viaAlias",
		"example.com/p.Cache.items",
		"example.com/p.Server.Counts",
		"example.com/p.Server.conns",
	} {
		if !slices.Contains(gotOther, name) {
			t.Errorf("names from another file: %s missing from %q", name, gotOther)
		}
	}
}
