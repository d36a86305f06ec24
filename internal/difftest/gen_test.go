package difftest

import (
	"bytes"
	"go/parser"
	"go/token"
	"strings"
	"testing"
)

// TestGenerateDeterministic checks that a seed fixes the program, so that
// a failing seed can be replayed.
func TestGenerateDeterministic(t *testing.T) {
	a, b := Generate(Options{Seed: 7, Cases: 30}).Files(), Generate(Options{Seed: 7, Cases: 30}).Files()
	if len(a) != len(b) {
		t.Fatalf("%d files, then %d", len(a), len(b))
	}
	for name, data := range a {
		if !bytes.Equal(data, b[name]) {
			t.Errorf("%s differs between two generations with seed 7", name)
		}
	}
	c := Generate(Options{Seed: 8, Cases: 30}).Files()
	if bytes.Equal(a["case0.go"], c["case0.go"]) && bytes.Equal(a["case1.go"], c["case1.go"]) {
		t.Errorf("seeds 7 and 8 give the same cases")
	}
}

// TestGenerateCoverage checks that every template and every home is used,
// so that none is dead, and that every generated file parses.
func TestGenerateCoverage(t *testing.T) {
	for _, known := range []bool{false, true} {
		used := map[string]bool{}
		usedHomes := map[string]bool{}
		for seed := range uint64(80) {
			p := Generate(Options{Seed: seed, Cases: 10, Known: known})
			for _, c := range p.Cases {
				for _, u := range c.Units {
					name, _, _ := strings.Cut(strings.TrimPrefix(u.Code, "// "), "\n")
					used[name] = true
				}
				for _, s := range c.Slots {
					usedHomes[s.Home] = true
				}
			}
			for name, data := range p.Files() {
				if strings.HasSuffix(name, ".go") {
					if _, err := parser.ParseFile(token.NewFileSet(), name, data, 0); err != nil {
						t.Fatalf("seed %d: %s does not parse: %v\n%s", seed, name, err, data)
					}
				}
			}
		}
		for _, tmpl := range templates {
			if tmpl.known && !known {
				if used[tmpl.name] {
					t.Errorf("known-bug template %q used without Known", tmpl.name)
				}
				continue
			}
			if !used[tmpl.name] {
				t.Errorf("template %q never used (known=%v)", tmpl.name, known)
			}
		}
		for _, h := range homes {
			if !usedHomes[h] {
				t.Errorf("home %q never used", h)
			}
		}
	}
}
