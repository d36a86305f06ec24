package rewrite

import (
	"bytes"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dave/dst/decorator"
	"golang.org/x/tools/txtar"
)

// TestSpliceUnchanged decorates each top-level declaration of a file on its
// own, as a rewrite that edits only that declaration does, prints it
// unchanged and splices it back: the result must be the original file, byte
// for byte. The files are those of the golden cases and a few written to
// stress comments, strings and imports.
func TestSpliceUnchanged(t *testing.T) {
	sources := map[string]string{
		"comments.go": `// Package p has comments everywhere.
package p

import "fmt" // trailing

// A is documented.
var A = map[int]int{} // and commented

/* A block comment
   over lines. */

func F() {
	// inside
	fmt.Println(` + "`" + `a raw
string over lines` + "`" + `)
} // after F

type T struct {
	m map[string]int // field
}

// Section.

func (t *T) G() int { return len(t.m) }
`,
		"adjacent.go": `package p

import "fmt"

var a = 1               // a
var bb = map[int]int{}  // bb
var ccc = map[int]int{} // ccc
func J()                { fmt.Println(a, bb, ccc) }
`,
		"importcomment.go": `package p // import "example.com/p"

var x = map[int]bool{}

func H() bool { return x[1] }
`,
		"noimports.go": `package p

var x = map[int]bool{}

func H() bool { return x[1] }
`,
		"grouped.go": `package p

import (
	"fmt"

	"strings"
)

var (
	a = map[int]int{}
	b = 2 // b
)

func I() { fmt.Println(strings.ToUpper("x"), a, b) }
`,
	}
	files, _ := filepath.Glob("../testdata/golden/*.txtar")
	for _, name := range files {
		ar, err := txtar.ParseFile(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range ar.Files {
			if strings.HasSuffix(f.Name, ".go") && !strings.HasPrefix(f.Name, "want") {
				sources[filepath.Base(name)+"/"+f.Name] = string(f.Data)
			}
		}
	}
	checked := 0
	for _, name := range []string{"comments.go", "adjacent.go", "noimports.go", "grouped.go"} {
		if formatted, err := format.Source([]byte(sources[name])); err != nil || string(formatted) != sources[name] {
			t.Fatalf("%s is not gofmt-formatted, so it would not be checked", name)
		}
	}
	for name, src := range sources {
		fset := token.NewFileSet()
		af, err := parser.ParseFile(fset, name, src, parser.ParseComments)
		if err != nil {
			continue // an expected output with errors on purpose, say
		}
		if formatted, err := format.Source([]byte(src)); err != nil || !bytes.Equal(formatted, []byte(src)) {
			continue // splicing keeps what is not rewritten as it was
		}
		for i, d := range af.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.IMPORT {
				continue
			}
			parts := splitFile(fset, af, []ast.Node{d})
			df, err := decorator.NewDecorator(parts.fset).DecorateFile(parts.part)
			if err != nil {
				t.Fatalf("%s: decl %d: decorate: %v", name, i, err)
			}
			var buf bytes.Buffer
			if err := decorator.NewRestorer().Fprint(&buf, df); err != nil {
				t.Fatalf("%s: decl %d: print: %v", name, i, err)
			}
			got, err := splice(parts, []byte(src), buf.Bytes())
			if err != nil {
				t.Fatalf("%s: decl %d: splice: %v", name, i, err)
			}
			if string(got) != src {
				t.Errorf("%s: decl %d: splicing the unchanged declaration changed the file:\n%s\nwant:\n%s", name, i, got, src)
			}
			checked++
		}
	}
	if checked < 50 {
		t.Errorf("only %d declarations checked; the golden cases were not found?", checked)
	}
}

// TestSpliceImports checks the import declaration added to a file that had
// none, after a comment on the package clause, and one removed entirely.
func TestSpliceImports(t *testing.T) {
	tests := []struct {
		name string
		// edited is the kind of declaration the rewrite changes.
		edited             token.Token
		src, printed, want string
	}{{
		name:   "added",
		edited: token.VAR,
		src: `package p // import "example.com/p"

var x = map[int]bool{}

func H() bool { return x[1] }
`,
		printed: `package p

import "example.com/p/internal/safemap"

var x = safemap.New[int, bool]()
`,
		want: `package p // import "example.com/p"

import "example.com/p/internal/safemap"

var x = safemap.New[int, bool]()

func H() bool { return x[1] }
`,
	}, {
		name:   "removed",
		edited: token.FUNC,
		src: `package p

import "maps"

var x = map[int]bool{}

func H() []int { return slices.Collect(maps.Keys(x)) }
`,
		printed: `package p

func H() []int { return slices.Collect(x.Keys()) }
`,
		want: `package p

var x = map[int]bool{}

func H() []int { return slices.Collect(x.Keys()) }
`,
	}}
	for _, tt := range tests {
		fset := token.NewFileSet()
		af, err := parser.ParseFile(fset, tt.name+".go", tt.src, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		var nodes []ast.Node
		for _, d := range af.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				if tt.edited == token.FUNC {
					nodes = append(nodes, d)
				}
			case *ast.GenDecl:
				if d.Tok == tt.edited {
					nodes = append(nodes, d)
				}
			}
		}
		parts := splitFile(fset, af, nodes)
		got, err := splice(parts, []byte(tt.src), []byte(tt.printed))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if string(got) != tt.want {
			t.Errorf("%s: got\n%s\nwant\n%s", tt.name, got, tt.want)
		}
	}
}
