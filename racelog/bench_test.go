package racelog

import (
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/safemapfix/safemapfix/load"
)

// bigLog repeats the logs of the fixtures: a long go test -race output.
func bigLog(b *testing.B, file string, times int) (*txtar.Archive, string) {
	ar, err := txtar.ParseFile(filepath.Join(fixtureDir, file))
	if err != nil {
		b.Fatal(err)
	}
	return ar, strings.Repeat(section(ar, "log"), times)
}

// BenchmarkParse measures parsing a long log (100 copies of the
// trimpath fixture: 200 race reports in about 300 KB).
func BenchmarkParse(b *testing.B) {
	_, text := bigLog(b, "trimpath.txtar", 100)
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		if _, err := Parse(strings.NewReader(text)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLocate measures locating 400 reports (100 copies of the
// stripped fixture) in its loaded module.
func BenchmarkLocate(b *testing.B) {
	ar, text := bigLog(b, "stripped.txtar", 100)
	dir := b.TempDir()
	for _, f := range ar.Files {
		if strings.HasSuffix(f.Name, ".go") || f.Name == "go.mod" {
			if err := writeFile(filepath.Join(dir, f.Name), f.Data); err != nil {
				b.Fatal(err)
			}
		}
	}
	prog, err := load.Load(load.Config{Dir: dir, Tests: true})
	if err != nil {
		b.Fatal(err)
	}
	log, err := Parse(strings.NewReader(text))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		findings, _ := Locate(prog.Fset, prog.Packages, log)
		if len(findings) == 0 {
			b.Fatal("no findings")
		}
	}
}
