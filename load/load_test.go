package load

import (
	"testing"

	"golang.org/x/tools/go/packages"
)

// TestLoadDropsUnusedInfo checks that Load keeps the type information of
// the units only: the plain package "a", which its test variant replaces
// and which the command "cmd" imports, keeps its types and syntax but not
// its types.Info.
func TestLoadDropsUnusedInfo(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"go.mod":      "module example.com/m\n\ngo 1.24\n",
		"a/a.go":      "package a\n\nvar M = map[int]int{}\n",
		"a/a_test.go": "package a\n\nimport \"testing\"\n\nfunc TestA(t *testing.T) { M[1] = 2 }\n",
		"cmd/main.go": "package main\n\nimport \"example.com/m/a\"\n\nfunc main() { a.M[0] = 1 }\n",
	}
	env := writeModule(t, root, files)
	prog, err := Load(Config{Dir: root, Patterns: []string{"./..."}, Tests: true, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	units := map[string]bool{}
	for _, u := range prog.Packages {
		units[u.ID] = true
		if u.TypesInfo == nil {
			t.Errorf("unit %s has no type information", u.ID)
		}
	}
	if !units["example.com/m/a [example.com/m/a.test]"] || units["example.com/m/a"] {
		t.Fatalf("units %v: want the test variant of a in place of a", units)
	}
	seen := false
	packages.Visit(prog.Packages, nil, func(p *packages.Package) {
		if p.ID != "example.com/m/a" {
			return
		}
		seen = true
		if p.TypesInfo != nil {
			t.Errorf("%s, replaced by its test variant, keeps its types.Info", p.ID)
		}
		if p.Types == nil || len(p.Syntax) == 0 {
			t.Errorf("%s lost its types or syntax, which the units importing it and the check of rewritten code need", p.ID)
		}
	})
	if !seen {
		t.Fatal("the command's import of a was not loaded")
	}
}
