package emit

import (
	"bytes"
	"errors"
	"go/build"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDiff(t *testing.T) {
	dir := t.TempDir()
	changes := []Change{
		{Path: filepath.Join(dir, "p", "a.go"), Old: []byte("package p\n\nvar m = 1\n"), New: []byte("package p\n\nvar m = 2\n")},
		{Path: filepath.Join(dir, "internal", "safemap", "map.go"), New: []byte("package safemap\n")},
	}
	var buf bytes.Buffer
	if err := Diff(&buf, dir, changes); err != nil {
		t.Fatal(err)
	}
	want := `diff a/p/a.go b/p/a.go
--- a/p/a.go
+++ b/p/a.go
@@ -1,3 +1,3 @@
 package p
 
-var m = 1
+var m = 2
diff /dev/null b/internal/safemap/map.go
--- /dev/null
+++ b/internal/safemap/map.go
@@ -0,0 +1,1 @@
+package safemap
`
	if buf.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", buf.String(), want)
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.go")
	if err := os.WriteFile(a, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	created := filepath.Join(dir, "sub", "new.go")
	written, err := Write(dir, []Change{{Path: a, Old: []byte("old"), New: []byte("new")}, {Path: created, New: []byte("fresh")}})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(a); string(b) != "new" {
		t.Errorf("a.go = %q", b)
	}
	if st, _ := os.Stat(a); st.Mode().Perm() != 0o600 {
		t.Errorf("a.go mode %v, want 0600 kept", st.Mode().Perm())
	}
	if b, _ := os.ReadFile(created); string(b) != "fresh" {
		t.Errorf("new.go = %q", b)
	}
	if err := Restore(written); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(a); string(b) != "old" {
		t.Errorf("restored a.go = %q", b)
	}
	if _, err := os.Stat(created); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("created file not removed by Restore: %v", err)
	}
	if _, err := os.Stat(filepath.Dir(created)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("created directory not removed by Restore: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), "safemapfix") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

// TestWriteRefuses checks that nothing is written when any file cannot be
// written safely.
func TestWriteRefuses(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, dir string) Change
		want  string
	}{
		{"changed on disk", func(t *testing.T, dir string) Change {
			p := filepath.Join(dir, "b.go")
			mustWrite(t, p, "edited meanwhile", 0o644)
			return Change{Path: p, Old: []byte("as loaded"), New: []byte("rewritten")}
		}, "changed on disk"},
		{"created meanwhile", func(t *testing.T, dir string) Change {
			p := filepath.Join(dir, "b.go")
			mustWrite(t, p, "someone else's", 0o644)
			return Change{Path: p, New: []byte("ours")}
		}, "exists now"},
		{"outside the module", func(t *testing.T, dir string) Change {
			p := filepath.Join(filepath.Dir(dir), filepath.Base(dir)+"-other.go")
			return Change{Path: p, New: []byte("ours")}
		}, "outside the main module"},
		{"vendored", func(t *testing.T, dir string) Change {
			p := filepath.Join(dir, "vendor", "example.com", "v", "v.go")
			return Change{Path: p, New: []byte("ours")}
		}, "vendored code"},
		{"read-only", func(t *testing.T, dir string) Change {
			p := filepath.Join(dir, "b.go")
			mustWrite(t, p, "as loaded", 0o444)
			return Change{Path: p, Old: []byte("as loaded"), New: []byte("rewritten")}
		}, "read-only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			a := filepath.Join(dir, "a.go")
			mustWrite(t, a, "old", 0o644)
			bad := tt.setup(t, dir)
			before, _ := os.ReadFile(bad.Path)
			_, err := Write(dir, []Change{{Path: a, Old: []byte("old"), New: []byte("new")}, bad})
			var refused *RefusedError
			if !errors.As(err, &refused) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want a refusal saying %q", err, tt.want)
			}
			if b, _ := os.ReadFile(a); string(b) != "old" {
				t.Errorf("a.go was written: %q", b)
			}
			if b, _ := os.ReadFile(bad.Path); !bytes.Equal(b, before) {
				t.Errorf("%s was written: %q", bad.Path, b)
			}
		})
	}
}

func mustWrite(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func TestOutside(t *testing.T) {
	root := filepath.Join(t.TempDir(), "m")
	goroot := build.Default.GOROOT
	tests := []struct {
		name string
		path string
		want string // substring of the reason; "" when the file may be written
	}{
		{"module file", filepath.Join(root, "a.go"), ""},
		{"nested package", filepath.Join(root, "internal", "safemap", "map.go"), ""},
		{"a directory named like vendor", filepath.Join(root, "vendors", "v.go"), ""},
		{"sibling with the same prefix", root + "x/a.go", "outside the main module"},
		{"parent", filepath.Join(filepath.Dir(root), "a.go"), "outside the main module"},
		{"dot-dot escape", filepath.Join(root, "..", "a.go"), "outside the main module"},
		{"vendor", filepath.Join(root, "vendor", "example.com", "v", "v.go"), "vendored code"},
		{"GOROOT", filepath.Join(goroot, "src", "sync", "map.go"), "Go distribution"},
		{"module cache", filepath.Join(moduleCache(), "example.com", "v@v1.0.0", "v.go"), "module cache"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Outside(root, tt.path)
			if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Errorf("Outside(%s) = %q, want %q", tt.path, got, tt.want)
			}
		})
	}
}

func TestColorize(t *testing.T) {
	in := "--- a/m.go\n+++ b/m.go\n@@ -1,2 +1,2 @@\n package m\n-var x = 1\n+var x = 2\n"
	want := "\x1b[1m--- a/m.go\x1b[0m\n\x1b[1m+++ b/m.go\x1b[0m\n\x1b[36m@@ -1,2 +1,2 @@\x1b[0m\n package m\n" +
		"\x1b[31m-var x = 1\x1b[0m\n\x1b[32m+var x = 2\x1b[0m\n"
	if got := string(Colorize([]byte(in))); got != want {
		t.Errorf("Colorize:\n got %q\nwant %q", got, want)
	}
	if got := string(Colorize([]byte("+no newline"))); got != "\x1b[32m+no newline\x1b[0m" {
		t.Errorf("Colorize without a final newline = %q", got)
	}
}
