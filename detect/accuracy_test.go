package detect_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/safemapfix/safemapfix/detect"
	"github.com/safemapfix/safemapfix/load"
	"golang.org/x/tools/txtar"
)

// The accuracy suite is testdata/detect: one txtar archive per case, each
// a package of one module. The file "want" lists the map objects that must
// be reported, one per line, relative to the case's package path
// ("hits", "Server.status", "Lengths.out"), optionally followed by
// "rlock" for a write under RLock; an empty or missing want marks a
// safe case. Every other file is written under the case's directory.

const suiteModule = "example.com/c"

type suiteCase struct {
	name string
	want map[string]wantFinding
}

// wantFinding is what a want line expects of a finding: a write under
// RLock ("rlock"), and Assumed confidence ("assumed") rather than Proven.
type wantFinding struct {
	rlock, assumed bool
}

// loadSuite writes every case into one temporary module and loads it, so
// the suite costs one go/packages call.
func loadSuite(t *testing.T) ([]suiteCase, *load.Program) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "detect", "*.txtar"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no cases in testdata/detect: %v", err)
	}
	dir := t.TempDir()
	gomod := "module " + suiteModule + "\n\ngo 1.26\n\nrequire golang.org/x/sync v0.25.0\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	gosum := "golang.org/x/sync v0.25.0 h1:dJnifr0nMV8/SBnBvdo4eSGGnrc3O4FFx6IqvtLcmRs=\n" +
		"golang.org/x/sync v0.25.0/go.mod h1:sUUOizhqBxiL6pEWpqNLUiaJn1ShEbZ6BBqskPbjZm0=\n"
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), []byte(gosum), 0o644); err != nil {
		t.Fatal(err)
	}
	var cases []suiteCase
	for _, path := range paths {
		ar, err := txtar.ParseFile(path)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(path), ".txtar")
		c := suiteCase{name: name, want: map[string]wantFinding{}}
		for _, f := range ar.Files {
			if f.Name == "want" {
				for _, line := range strings.Split(string(f.Data), "\n") {
					fields := strings.Fields(line)
					if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
						continue
					}
					var w wantFinding
					for _, flag := range fields[1:] {
						switch flag {
						case "rlock":
							w.rlock = true
						case "assumed":
							w.assumed = true
						default:
							t.Fatalf("%s: unknown want flag %q", path, flag)
						}
					}
					c.want[suiteModule+"/"+pkgDir(name)+"."+fields[0]] = w
				}
				continue
			}
			dst := filepath.Join(dir, pkgDir(name), f.Name)
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(dst, f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		cases = append(cases, c)
	}
	modcache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(),
		"GOFLAGS=-mod=mod",
		"GOPROXY=file://"+filepath.Join(strings.TrimSpace(string(modcache)), "cache", "download"),
		"GOSUMDB=off",
		"GOWORK=off",
	)
	prog, err := load.Load(load.Config{Dir: dir, Patterns: []string{"./..."}, Tests: true, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	return cases, prog
}

// pkgDir turns a case name into a package directory: Go package paths
// may not contain every character a file name can.
func pkgDir(name string) string {
	return strings.ReplaceAll(name, "-", "_")
}

// TestAccuracy runs the detector over the suite and measures precision
// and recall over the expected findings.
func TestAccuracy(t *testing.T) {
	cases, prog := loadSuite(t)
	findings, err := detect.Find(prog.Fset, prog.Packages, detect.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]detect.Finding{}
	for _, f := range findings {
		got[f.Name] = f
	}
	var tp, fp, fn, racy, safe int
	for _, c := range cases {
		if len(c.want) > 0 {
			racy++
		} else {
			safe++
		}
		prefix := suiteModule + "/" + pkgDir(c.name) + "."
		for name, w := range c.want {
			f, ok := got[name]
			wantConf := detect.Proven
			if w.assumed {
				wantConf = detect.Assumed
			}
			switch {
			case !ok:
				fn++
				t.Errorf("%s: missed %s", c.name, name)
			case w.rlock && f.Kind != detect.WriteUnderRLock:
				fn++
				t.Errorf("%s: %s reported as %s, want %s", c.name, name, f.Kind, detect.WriteUnderRLock)
			case f.Confidence != wantConf:
				fn++
				t.Errorf("%s: %s reported %s, want %s: %s %v", c.name, name, f.Confidence, wantConf, f.Reason, f.Assumptions)
			default:
				tp++
			}
		}
		for name, f := range got {
			if !strings.HasPrefix(name, prefix) || strings.Contains(strings.TrimPrefix(name, prefix), "/") {
				continue
			}
			if _, ok := c.want[name]; !ok {
				fp++
				t.Errorf("%s: false finding %s: %s\n\t%s", c.name, name, f.Reason, describePair(f))
			}
		}
	}
	precision := ratio(tp, tp+fp)
	recall := ratio(tp, tp+fn)
	t.Logf("suite: %d racy cases, %d safe cases; %d true, %d false, %d missed findings", racy, safe, tp, fp, fn)
	t.Logf("precision %.1f%%, recall %.1f%%", 100*precision, 100*recall)
	if precision < 0.95 || recall < 0.95 {
		t.Errorf("precision %.1f%% and recall %.1f%% must both be at least 95%%", 100*precision, 100*recall)
	}
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

func describePair(f detect.Finding) string {
	var parts []string
	for _, a := range f.Pair {
		parts = append(parts, fmt.Sprintf("%s %s in %s %v %v", a.Pos, a.Op, a.Root, a.Path, a.Locks))
	}
	sort.Strings(parts)
	return strings.Join(parts, "\n\t")
}
