package detect

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"
)

// The accuracy suite is testdata/detect: one txtar archive per case, each
// a package of one module. The file "want" lists the map objects that must
// be reported, one per line, relative to the case's package path
// ("hits", "Server.status", "Lengths.out"; "./sub.Type.field" for an
// object of the package in directory sub), optionally followed by
// "rlock" for a write under RLock, "assumed" for a finding of Assumed
// confidence and "tests" for a race only accesses in _test.go files
// have (Finding.TestOnly); an empty or missing want marks a safe case. Every other file
// is written under the case's directory.

// SuiteModule is the module path of the suite; case c is its package
// SuiteModule/PkgDir(c).
const SuiteModule = "example.com/c"

// SuiteCase is one case of the suite, with the findings it expects, by
// full object name.
type SuiteCase struct {
	Name string
	Want map[string]WantFinding
}

// WantFinding is what a want line expects of a finding: a write under
// RLock ("rlock"), Assumed confidence ("assumed") rather than Proven, and
// a race only accesses in test files have ("tests").
type WantFinding struct {
	RLock, Assumed, TestOnly bool
}

// WriteSuite writes every case into one temporary module, so that the
// suite costs one go/packages call, and returns its directory, the
// environment that loads it offline, and the cases.
func WriteSuite(t testing.TB) (dir string, env []string, cases []SuiteCase) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "testdata", "detect", "*.txtar"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no cases in testdata/detect: %v", err)
	}
	dir = t.TempDir()
	gomod := "module " + SuiteModule + "\n\ngo 1.26\n\nrequire golang.org/x/sync v0.25.0\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(gomod), 0o644); err != nil {
		t.Fatal(err)
	}
	gosum := "golang.org/x/sync v0.25.0 h1:dJnifr0nMV8/SBnBvdo4eSGGnrc3O4FFx6IqvtLcmRs=\n" +
		"golang.org/x/sync v0.25.0/go.mod h1:sUUOizhqBxiL6pEWpqNLUiaJn1ShEbZ6BBqskPbjZm0=\n"
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), []byte(gosum), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range paths {
		ar, err := txtar.ParseFile(path)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(path), ".txtar")
		c := SuiteCase{Name: name, Want: map[string]WantFinding{}}
		for _, f := range ar.Files {
			if f.Name == "want" {
				for _, line := range strings.Split(string(f.Data), "\n") {
					fields := strings.Fields(line)
					if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
						continue
					}
					var w WantFinding
					for _, flag := range fields[1:] {
						switch flag {
						case "rlock":
							w.RLock = true
						case "assumed":
							w.Assumed = true
						case "tests":
							w.TestOnly = true
						default:
							t.Fatalf("%s: unknown want flag %q", path, flag)
						}
					}
					full := SuiteModule + "/" + PkgDir(name) + "." + fields[0]
					if sub, ok := strings.CutPrefix(fields[0], "./"); ok {
						full = SuiteModule + "/" + PkgDir(name) + "/" + sub
					}
					c.Want[full] = w
				}
				continue
			}
			dst := filepath.Join(dir, PkgDir(name), f.Name)
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
	env = append(os.Environ(),
		"GOFLAGS=-mod=mod",
		"GOPROXY=file://"+filepath.Join(strings.TrimSpace(string(modcache)), "cache", "download"),
		"GOSUMDB=off",
		"GOWORK=off",
	)
	return dir, env, cases
}

// pkgDir turns a case name into a package directory: Go package paths
// may not contain every character a file name can.
func PkgDir(name string) string {
	return strings.ReplaceAll(name, "-", "_")
}
