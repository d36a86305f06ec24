package detect_test

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/safemapfix/safemapfix/detect"
	"github.com/safemapfix/safemapfix/load"
)

// TestAccuracy runs the detector over the suite and measures precision
// and recall over the expected findings.
func TestAccuracy(t *testing.T) {
	dir, env, cases := detect.WriteSuite(t)
	prog, err := load.Load(load.Config{Dir: dir, Patterns: []string{"./..."}, Tests: true, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	findings, err := detect.Find(prog.Fset, prog.Packages, detect.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]detect.Finding{}
	for _, f := range findings {
		got[f.Name] = f
		for _, acc := range f.Pair {
			// The evidence must point at code: a reader cannot act on
			// an access printed as "-".
			if !acc.Pos.IsValid() {
				t.Errorf("%s: %s access from %s has no position", f.Name, acc.Op, acc.Root)
			}
		}
	}
	var tp, fp, fn, racy, safe int
	for _, c := range cases {
		if len(c.Want) > 0 {
			racy++
		} else {
			safe++
		}
		prefix := detect.SuiteModule + "/" + detect.PkgDir(c.Name)
		for name, w := range c.Want {
			f, ok := got[name]
			wantConf := detect.Proven
			if w.Assumed {
				wantConf = detect.Assumed
			}
			switch {
			case !ok:
				fn++
				t.Errorf("%s: missed %s", c.Name, name)
			case w.RLock && f.Kind != detect.WriteUnderRLock:
				fn++
				t.Errorf("%s: %s reported as %s, want %s", c.Name, name, f.Kind, detect.WriteUnderRLock)
			case f.Confidence != wantConf:
				fn++
				t.Errorf("%s: %s reported %s, want %s: %s %v", c.Name, name, f.Confidence, wantConf, f.Reason, f.Assumptions)
			case f.TestOnly != w.TestOnly:
				fn++
				t.Errorf("%s: %s reported with TestOnly %v, want %v:\n\t%s", c.Name, name, f.TestOnly, w.TestOnly, describePair(f))
			default:
				tp++
			}
		}
		for name, f := range got {
			if !inCase(name, prefix) {
				continue
			}
			if _, ok := c.Want[name]; !ok {
				fp++
				t.Errorf("%s: false finding %s: %s\n\t%s", c.Name, name, f.Reason, describePair(f))
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

// inCase reports whether the object name belongs to the case whose
// package path is pkg: declared in that package or in one below it.
func inCase(name, pkg string) bool {
	rest, ok := strings.CutPrefix(name, pkg)
	return ok && (strings.HasPrefix(rest, ".") || strings.HasPrefix(rest, "/"))
}

func describePair(f detect.Finding) string {
	var parts []string
	for _, a := range f.Pair {
		parts = append(parts, fmt.Sprintf("%s %s in %s %v %v", a.Pos, a.Op, a.Root, a.Path, a.Locks))
	}
	sort.Strings(parts)
	return strings.Join(parts, "\n\t")
}
