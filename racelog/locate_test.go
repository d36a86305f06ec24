package racelog

import (
	"fmt"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/safemapfix/safemapfix/detect"
	"github.com/safemapfix/safemapfix/load"
)

// describe prints Locate's result with positions relative to dir.
func describe(dir string, findings []detect.Finding, unhandled []Unhandled) string {
	rel := func(p token.Position) string {
		if !p.IsValid() {
			return "-"
		}
		name, err := filepath.Rel(dir, p.Filename)
		if err != nil {
			name = p.Filename
		}
		p.Filename = filepath.ToSlash(name)
		return p.String()
	}
	var b strings.Builder
	for _, f := range findings {
		fmt.Fprintf(&b, "finding %s declared at %s, %s %s %s: %s\n", f.Name, rel(f.Decl), f.Kind, f.Confidence, f.Source, f.Reason)
		for _, a := range f.Pair {
			fmt.Fprintf(&b, "\t%s write=%t %s; %s; path %s\n", rel(a.Pos), a.Write, a.Op, a.Root, strings.Join(a.Path, " > "))
		}
		for _, s := range f.Assumptions {
			fmt.Fprintf(&b, "\tassumes %s\n", s)
		}
	}
	for _, u := range unhandled {
		obj := ""
		if u.Object != "" {
			obj = " " + u.Object
		}
		fmt.Fprintf(&b, "unhandled %s%s at %s: %s\n", u.Cause, obj, rel(u.Pos), u.Reason)
	}
	return b.String()
}

// extract writes the files of ar other than the log and expectation
// sections into a new directory.
func extract(t *testing.T, ar *txtar.Archive) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range ar.Files {
		switch f.Name {
		case "log", "parse", "want":
			continue
		}
		if err := writeFile(filepath.Join(dir, filepath.FromSlash(f.Name)), f.Data); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// TestLocateFixtures loads the module of each fixture, locates the reports
// of its log and compares with the fixture's want section (-update
// rewrites it; review the diff).
func TestLocateFixtures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(fixtureDir, "*.txtar"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures in %s: %v", fixtureDir, err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			dir := extract(t, ar)
			prog, err := load.Load(load.Config{Dir: dir, Tests: true})
			if err != nil {
				t.Fatal(err)
			}
			log, err := Parse(strings.NewReader(section(ar, "log")))
			if err != nil {
				t.Fatal(err)
			}
			findings, unhandled := Locate(prog.Fset, prog.Packages, log)
			got := describe(dir, findings, unhandled)
			if *update {
				setSection(ar, "want", got)
				if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if want := section(ar, "want"); got != want {
				t.Errorf("Locate result differs\ngot:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}
