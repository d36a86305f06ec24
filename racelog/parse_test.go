package racelog

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"
)

var update = flag.Bool("update", false, "rewrite the parse and want sections of testdata/racelog/*.txtar")

const fixtureDir = "../testdata/racelog"

// summarize prints what Parse found, one report per paragraph, one access
// per line, so fixtures can state it.
func summarize(log *Log) string {
	var b strings.Builder
	for _, r := range log.Reports {
		fmt.Fprintf(&b, "%s at line %d: %s\n", r.Kind, r.Line, r.Message)
		for _, a := range r.Accesses {
			site := "no user frame"
			if f, ok := a.Site(); ok {
				site = fmt.Sprintf("%s %s:%d", f.Func, f.File, f.Line)
				if f.Inlined {
					site += " (inlined)"
				}
			}
			kind := "read"
			if a.Write {
				kind = "write"
			}
			if a.Previous {
				kind = "previous " + kind
			}
			created := ""
			if len(a.Created) > 0 {
				created = fmt.Sprintf(" created by %s:%d", a.Created[0].File, a.Created[0].Line)
			}
			fmt.Fprintf(&b, "\t%s %s goroutine %d: %s; %d frames%s\n", kind, a.Op, a.Goroutine, site, len(a.Stack), created)
		}
	}
	return b.String()
}

// TestParseFixtures parses the logs checked in under testdata/racelog and
// compares with each fixture's parse section (go test -run
// TestParseFixtures -update rewrites it; review the diff).
func TestParseFixtures(t *testing.T) {
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
			log, err := Parse(strings.NewReader(section(ar, "log")))
			if err != nil {
				t.Fatal(err)
			}
			got := summarize(log)
			if *update {
				setSection(ar, "parse", got)
				if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if want := section(ar, "parse"); got != want {
				t.Errorf("Parse summary differs\ngot:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}

func section(ar *txtar.Archive, name string) string {
	for _, f := range ar.Files {
		if f.Name == name {
			return string(f.Data)
		}
	}
	return ""
}

func setSection(ar *txtar.Archive, name, data string) {
	for i, f := range ar.Files {
		if f.Name == name {
			ar.Files[i].Data = []byte(data)
			return
		}
	}
	ar.Files = append(ar.Files, txtar.File{Name: name, Data: []byte(data)})
}
