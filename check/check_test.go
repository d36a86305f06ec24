package check_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/safemapfix/safemapfix/check"
	"github.com/safemapfix/safemapfix/load"
)

// module is a small module: package a declares a map, c uses it, b uses
// both and uses iter only through slices (so the loaded iter package holds
// just what slices mentions), and a's external test imports c, so that c is
// also loaded as a variant recompiled for a's test.
var module = map[string]string{
	"go.mod": "module example.com/m\n\ngo 1.24\n",
	"a/a.go": `package a

var M = map[string]int{}
`,
	"a/a_test.go": `package a_test

import (
	"testing"

	"example.com/m/a"
	"example.com/m/c"
)

func TestA(t *testing.T) {
	c.Set("k")
	if a.M["k"] != 1 {
		t.Fatal("not set")
	}
}
`,
	"c/c.go": `package c

import "example.com/m/a"

func Set(k string) { a.M[k] = 1 }
`,
	"b/b.go": `package b

import (
	"slices"

	"example.com/m/a"
)

func Keys() []string {
	var ks []string
	for k := range a.M {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
`,
}

func TestCheck(t *testing.T) {
	// The map becomes a type of a new package, as a rewrite to the safe
	// map does.
	newPkg := `package box

import "iter"

type Box struct{ m map[string]int }

func New() *Box { return &Box{m: map[string]int{}} }

func (b *Box) Set(k string, v int) { b.m[k] = v }

func (b *Box) Get(k string) int { return b.m[k] }

func (b *Box) Keys() iter.Seq[string] {
	return func(yield func(string) bool) {
		for k := range b.m {
			if !yield(k) {
				return
			}
		}
	}
}
`
	newA := `package a

import "example.com/m/internal/box"

var M = box.New()
`
	newC := `package c

import "example.com/m/a"

func Set(k string) { a.M.Set(k, 1) }
`
	newTest := strings.Replace(module["a/a_test.go"], `a.M["k"]`, `a.M.Get("k")`, 1)
	newB := `package b

import (
	"slices"

	"example.com/m/a"
)

func Keys() []string {
	return slices.Sorted(a.M.Keys())
}
`
	tests := []struct {
		name    string
		changes map[string]string
		want    []string // substrings of the error; none: no error
	}{
		{
			name: "every use rewritten, new package, iterator passed to slices",
			changes: map[string]string{
				"internal/box/box.go": newPkg,
				"a/a.go":              newA,
				"c/c.go":              newC,
				"a/a_test.go":         newTest,
				"b/b.go":              newB,
			},
		},
		{
			name: "an importer left with a map use",
			changes: map[string]string{
				"internal/box/box.go": newPkg,
				"a/a.go":              newA,
				"a/a_test.go":         newTest,
				"b/b.go":              newB,
			},
			want: []string{"c/c.go:5:"},
		},
		{
			name: "a test left with a map use",
			changes: map[string]string{
				"internal/box/box.go": newPkg,
				"a/a.go":              newA,
				"c/c.go":              newC,
				"b/b.go":              newB,
			},
			want: []string{"a/a_test.go:12:"},
		},
		{
			name: "an import left unused",
			changes: map[string]string{
				"b/b.go": strings.Replace(module["b/b.go"], "\tslices.Sort(ks)\n", "", 1),
			},
			want: []string{`b/b.go:4:2: "slices" imported and not used`},
		},
		{
			name: "a syntax error",
			changes: map[string]string{
				"c/c.go": "package c\n\nfunc Set(k string) { a.M[k] = }\n",
			},
			want: []string{"c/c.go:3:"},
		},
		{
			name: "an error in the new package",
			changes: map[string]string{
				"internal/box/box.go": strings.Replace(newPkg, "return b.m[k]", "return b.m", 1),
				"a/a.go":              newA,
				"c/c.go":              newC,
				"a/a_test.go":         newTest,
				"b/b.go":              newB,
			},
			want: []string{"internal/box/box.go:11:"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeModule(t, module)
			prog, err := load.Load(load.Config{Dir: dir, Tests: true})
			if err != nil {
				t.Fatal(err)
			}
			files := map[string][]byte{}
			for name, content := range tt.changes {
				files[filepath.Join(dir, filepath.FromSlash(name))] = []byte(content)
			}
			err = check.Check(check.Config{Fset: prog.Fset, Packages: prog.Packages, Module: prog.Module, Files: files})
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			var cerr *check.Error
			if !errors.As(err, &cerr) {
				t.Fatalf("Check = %v, want a *check.Error", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Check error does not mention %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestCheckNothing(t *testing.T) {
	if err := check.Check(check.Config{}); err != nil {
		t.Fatalf("Check with no files = %v", err)
	}
}

func writeModule(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
