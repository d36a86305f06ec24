package verify

import (
	"context"
	"errors"
	"github.com/safemapfix/safemapfix/emit"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeModule creates a module from a map of slash-separated paths to
// contents.
func writeModule(t *testing.T, files map[string]string) string {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	dir := t.TempDir()
	for name, data := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// tree records every file and directory under dir with its mode and
// content, to compare a tree before and after.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		entry := info.Mode().String()
		if !d.IsDir() {
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			entry += " " + string(data)
		}
		out[rel] = entry
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var baseModule = map[string]string{
	"go.mod": "module example.com/m\n\ngo 1.24\n",
	"a/a.go": "package a\n\nvar Names = map[string]int{}\n\nfunc Get(k string) int { return Names[k] }\n",
	"b/b.go": "package b\n\nimport \"example.com/m/a\"\n\nfunc Twice(k string) int { return 2 * a.Get(k) }\n",
	"c/c.go": "package c\n\nfunc C() {}\n",
	// d has only tests, which go build refuses to build.
	"d/d_test.go":      "package d\n\nimport (\n\t\"testing\"\n\n\t\"example.com/m/b\"\n)\n\nfunc TestD(t *testing.T) { _ = b.Twice(\"x\") }\n",
	"cmd/tool/main.go": "package main\n\nimport \"example.com/m/a\"\n\nfunc main() { println(a.Get(\"k\")) }\n",
}

// write performs a "run": it snapshots each path, then writes or creates
// it, as safemapfix --write does.
func write(t *testing.T, dir string, files map[string]string) []emit.Written {
	t.Helper()
	var written []emit.Written
	for name, data := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		ws, err := emit.SnapshotWithDirs(path)
		if err != nil {
			t.Fatal(err)
		}
		written = append(written, ws...)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return written
}

func TestCheckKeepsGoodWrite(t *testing.T) {
	files := maps.Clone(baseModule)
	// A vet problem that was there before the run does not block it.
	files["b/old.go"] = "package b\n\nimport \"fmt\"\n\nfunc old() { fmt.Sprint(\"x\") }\n"
	dir := writeModule(t, files)
	written := write(t, dir, map[string]string{
		"a/a.go":                "package a\n\nimport \"example.com/m/internal/safe\"\n\nvar Names = safe.New()\n\nfunc Get(k string) int { return Names.Get(k) }\n",
		"internal/safe/safe.go": "package safe\n\nimport \"sync\"\n\ntype Map struct {\n\tmu sync.Mutex\n\tm  map[string]int\n}\n\nfunc New() *Map { return &Map{m: map[string]int{}} }\n\nfunc (m *Map) Get(k string) int {\n\tm.mu.Lock()\n\tdefer m.mu.Unlock()\n\treturn m.m[k]\n}\n",
	})
	after := tree(t, dir)
	rep, err := CheckAndRestore(context.Background(), Config{Dir: dir, Level: Build}, written)
	if err != nil {
		t.Fatalf("CheckAndRestore: %v\n%s", err, rep.Summary())
	}
	if !rep.OK() || len(rep.Steps) != 2 || !rep.Steps[1].PreExisting {
		t.Fatalf("want build passing and vet's old problem tolerated, got:\n%s", rep.Summary())
	}
	if !strings.Contains(rep.Summary(), "b/old.go:5:14: result of fmt.Sprint call not used") {
		t.Errorf("summary does not show the old vet problem:\n%s", rep.Summary())
	}
	// The rewritten package, the created one, and every importer of a:
	// b directly, d through its test, cmd/tool; not c.
	want := []string{"example.com/m/a", "example.com/m/b", "example.com/m/cmd/tool", "example.com/m/d", "example.com/m/internal/safe"}
	if !slices.Equal(rep.Packages, want) {
		t.Errorf("checked packages %v, want %v", rep.Packages, want)
	}
	if got := tree(t, dir); !equalTrees(got, after) {
		t.Errorf("a passing check changed the tree")
	}
	if _, err := os.Stat(filepath.Join(dir, "tool")); err == nil {
		t.Errorf("go build left a binary in the module")
	}
}

func TestCheckRestoresFailedWrite(t *testing.T) {
	for _, tc := range []struct {
		name    string
		files   map[string]string
		message string // in the error
	}{
		{
			name: "type error in an importer",
			files: map[string]string{
				"a/a.go":          "package a\n\nvar Names = map[string]int{}\n\nfunc Get(k string) (int, bool) { v, ok := Names[k]; return v, ok }\n",
				"internal/x/x.go": "package x\n",
				"internal/x/y.go": "package x\n", // the new directories are recorded twice
			},
			message: "b/b.go:5",
		},
		{
			name: "vet failure",
			files: map[string]string{
				"a/a.go": "package a\n\nimport \"fmt\"\n\nvar Names = map[string]int{}\n\nfunc Get(k string) int { fmt.Printf(\"%d\", k); return Names[k] }\n",
			},
			message: "Printf format %d has arg k of wrong type string",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeModule(t, baseModule)
			// An unusual mode must come back too.
			if err := os.Chmod(filepath.Join(dir, "a", "a.go"), 0o600); err != nil {
				t.Fatal(err)
			}
			before := tree(t, dir)
			written := write(t, dir, tc.files)
			rep, err := CheckAndRestore(context.Background(), Config{Dir: filepath.Join(dir, "a"), Level: Build}, written)
			var verr *Error
			if !errors.As(err, &verr) {
				t.Fatalf("want *Error, got %v", err)
			}
			if rep.OK() || verr.RestoreErr != nil {
				t.Errorf("report OK %t, restore error %v", rep.OK(), verr.RestoreErr)
			}
			if !strings.Contains(err.Error(), tc.message) || !strings.Contains(err.Error(), "restored") {
				t.Errorf("error does not carry the go command's message %q:\n%v", tc.message, err)
			}
			if got := tree(t, dir); !equalTrees(got, before) {
				t.Errorf("tree not restored byte for byte\nbefore: %v\nafter:  %v", before, got)
			}
		})
	}
}

func equalTrees(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func TestParseLevel(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Level
		err  bool
	}{
		{"", Build, false}, {"build", Build, false}, {"race", Race, false}, {"none", None, false}, {"fast", None, true},
	} {
		got, err := ParseLevel(tc.in)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("ParseLevel(%q) = %v, %v", tc.in, got, err)
		}
	}
}

// TestCheckOldVetProblemInWrittenFile: a vet problem that a rewritten file
// already had does not undo the run; a new one does, and is named.
func TestCheckOldVetProblemInWrittenFile(t *testing.T) {
	files := maps.Clone(baseModule)
	files["a/a.go"] = "package a\n\nimport \"fmt\"\n\nvar Names = map[string]int{}\n\nfunc Get(k string) int { fmt.Sprint(k); return Names[k] }\n"
	for _, tc := range []struct {
		name     string
		newA     string
		ok       bool
		newDiags string
	}{
		{"old problem moved", "package a\n\nimport \"fmt\"\n\n// Names moved down a line.\nvar Names = map[string]int{}\n\nfunc Get(k string) int { fmt.Sprint(k); return Names[k] }\n", true, ""},
		{"new problem", "package a\n\nimport \"fmt\"\n\nvar Names = map[string]int{}\n\nfunc Get(k string) int { fmt.Sprint(k); fmt.Printf(\"%d\", k); return Names[k] }\n", false, "a/a.go:7:53: fmt.Printf format %d has arg k of wrong type string"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeModule(t, files)
			before := tree(t, dir)
			written := write(t, dir, map[string]string{"a/a.go": tc.newA})
			after := tree(t, dir)
			rep, err := CheckAndRestore(context.Background(), Config{Dir: dir, Level: Build}, written)
			if tc.ok {
				if err != nil || !rep.OK() || !rep.Steps[1].PreExisting {
					t.Fatalf("want the old vet problem tolerated, got %v\n%s", err, rep.Summary())
				}
				if !equalTrees(tree(t, dir), after) {
					t.Errorf("the written files are not back after vetting the original")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "introduced by this run:\n\t"+tc.newDiags) {
				t.Fatalf("want an error naming the new problem %q, got %v", tc.newDiags, err)
			}
			if !equalTrees(tree(t, dir), before) {
				t.Errorf("tree not restored")
			}
		})
	}
}
