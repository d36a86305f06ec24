package load

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestImporterDirs checks which packages file arguments load: the named
// files' packages and every package of the module importing them, directly
// or not, from code or from tests.
func TestImporterDirs(t *testing.T) {
	root := t.TempDir()
	files := map[string]string{
		"go.mod":            "module example.com/m\n\ngo 1.24\n",
		"a/a.go":            "package a\n\nvar M = map[int]int{}\n",
		"b/b.go":            "package b\n\nimport \"example.com/m/a\"\n\nvar N = a.M\n",
		"c/c.go":            "package c\n\nimport \"example.com/m/b\"\n\nvar O = b.N\n",
		"d/d.go":            "package d\n",
		"d/d_test.go":       "package d\n\nimport (\n\t\"testing\"\n\n\t\"example.com/m/a\"\n)\n\nfunc TestD(t *testing.T) { _ = a.M }\n",
		"e/e.go":            "package e\n",
		"e/testdata/x.go":   "package x\n",
		"f/f_windows.go":    "package f\n\nimport \"example.com/m/a\"\n\nvar P = a.M\n",
		"f/f.go":            "package f\n",
		"nested/go.mod":     "module example.com/nested\n\ngo 1.24\n",
		"nested/n/n.go":     "package n\n",
		"g/g_other_test.go": "package g_test\n\nimport (\n\t\"testing\"\n\n\t\"example.com/m/c\"\n)\n\nfunc TestG(t *testing.T) { _ = c.O }\n",
		"g/g.go":            "package g\n",
	}
	env := writeModule(t, root, files)
	tests := []struct {
		goos  string
		named []string
		want  []string
	}{
		{"linux", []string{"a/a.go"}, []string{"./a", "./b", "./c", "./d", "./g"}},
		// f imports a in a Windows file only.
		{"windows", []string{"a/a.go"}, []string{"./a", "./b", "./c", "./d", "./f", "./g"}},
		{"linux", []string{"c/c.go"}, []string{"./c", "./g"}},
		{"linux", []string{"e/e.go", "d/d.go"}, []string{"./d", "./e"}},
		{"linux", []string{"e/testdata/x.go"}, []string{}},
	}
	for _, tt := range tests {
		var named []string
		for _, n := range tt.named {
			named = append(named, filepath.Join(root, n))
		}
		got, module, err := importerDirs(root, named, Config{Tests: true, Env: append(env, "GOOS="+tt.goos)})
		if err != nil {
			t.Fatalf("%v: %v", tt.named, err)
		}
		if got == nil {
			got = []string{}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%v: got %q, want %q", tt.named, got, tt.want)
		}
		if module == nil || module.Path != "example.com/m" {
			t.Errorf("%v: main module %v, want example.com/m", tt.named, module)
		}
	}
}

// writeModule writes files (name relative to root: content) and returns
// the environment that loads them offline.
func writeModule(t *testing.T, root string, files map[string]string) []string {
	t.Helper()
	for name, src := range files {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off")
}
