package racelog

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/tools/txtar"

	"github.com/safemapfix/safemapfix/load"
)

// liveModule extracts testdata/racelog/live/module.txtar, a module whose
// tests race on maps, into a temporary directory.
func liveModule(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs a -race test binary")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	ar, err := txtar.ParseFile(filepath.Join(fixtureDir, "live", "module.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	return extract(t, ar)
}

// run runs a command in dir and returns its combined output; a non-zero
// exit is expected (racy tests fail), so only a failure to start is fatal.
func run(t *testing.T, dir string, env []string, name string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if _, exited := err.(*exec.ExitError); err != nil && !exited {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// TestLive checks Parse and Locate against what the installed Go prints:
// it builds the racy tests of the live module once with -race, runs the
// test binaries with absolute and with stripped file names, and locates
// every report in the loaded module.
func TestLive(t *testing.T) {
	dir := liveModule(t)
	bins := t.TempDir()
	if out, err := exec.Command("go", "-C", dir, "test", "-race", "-c", "-o", bins+"/", "./shop", "./report").CombinedOutput(); err != nil {
		t.Fatalf("go test -race -c: %v\n%s", err, out)
	}
	prog, err := load.Load(load.Config{Dir: dir, Tests: true})
	if err != nil {
		t.Fatal(err)
	}
	// What each racy test must produce: findings by object name with
	// the operations of their pair, and unhandled reports by cause.
	wantFindings := map[string][]string{
		"example.com/shop/shop.Prices":               {"read", "store"},
		"example.com/shop/shop.Registry":             {"clear", "store"},
		"example.com/shop/shop.Store.items":          {"len", "store"},
		"example.com/shop/shop.Store.tags":           {"comma-ok read", "store"},
		"example.com/shop/shop.TestParam.counts":     {"update", "update"},
		"example.com/shop/shop.TestRangeDelete.seen": {"delete", "range"},
		"example.com/shop/shop.TestPrint.m":          {"passed on", "store"},
	}
	wantUnhandled := map[Cause]int{MapVariable: 1, NotMap: 1}

	logDir := t.TempDir()
	for _, tc := range []struct {
		name string
		env  []string
		// files, if set, lists the race.<pid> files that GORACE=log_path
		// made the binaries write: they are read instead of the output.
		files func() []string
	}{
		{"absolute paths", nil, nil},
		{"stripped paths", []string{"GORACE=strip_path_prefix=" + dir + "/"}, nil},
		{"log_path files", []string{"GORACE=log_path=" + filepath.Join(logDir, "race")}, func() []string {
			files, _ := filepath.Glob(filepath.Join(logDir, "race.*"))
			return files
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := run(t, filepath.Join(dir, "shop"), tc.env, filepath.Join(bins, "shop.test"), "-test.count=1")
			// The same map raced on from the tests of another package, a
			// test binary of its own that sees shop without its tests.
			out = append(out, run(t, filepath.Join(dir, "report"), tc.env, filepath.Join(bins, "report.test"), "-test.count=1")...)
			if !bytes.Contains(out, []byte("race detected during execution of test")) {
				t.Fatalf("the racy tests did not report races:\n%s", out)
			}
			var log *Log
			var err error
			if tc.files != nil {
				files := tc.files()
				if len(files) != 2 {
					t.Fatalf("want a race log file per test binary, got %v", files)
				}
				log, out, err = ReadFiles(nil, files)
				for _, r := range log.Reports {
					if !slices.Contains(files, r.Source) {
						t.Errorf("report %s: source not set", r.Where())
					}
				}
			} else {
				log, err = Parse(bytes.NewReader(out))
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Count(string(out), raceMarker); got != len(log.Reports) {
				t.Errorf("Parse found %d reports, the output has %d", len(log.Reports), got)
			}
			findings, unhandled := Locate(prog.Fset, prog.Packages, log)
			got := map[string][]string{}
			for _, f := range findings {
				var ops []string
				for _, a := range f.Pair {
					ops = append(ops, a.Op)
				}
				sort.Strings(ops)
				got[f.Name] = ops
				if f.Source != "race-log" || !strings.Contains(f.Reason, "race detector: ") || len(f.Pair) != 2 {
					t.Errorf("finding %s: source %q, reason %q, %d accesses", f.Name, f.Source, f.Reason, len(f.Pair))
				}
				if f.Name == "example.com/shop/shop.Prices" {
					if !strings.HasPrefix(f.Reason, "2 reports: ") || !strings.Contains(f.Reason, "report/report.go:6") {
						t.Errorf("Prices: want the reports of both test binaries cited, got %q", f.Reason)
					}
					// The object is the declaring unit's own, not the one
					// the report package sees through another variant.
					declared := false
					for _, p := range prog.Packages {
						if p.PkgPath == "example.com/shop/shop" && p.Types.Scope().Lookup("Prices") == f.Object {
							declared = true
						}
					}
					if !declared {
						t.Errorf("Prices: finding object is not the one its package declares")
					}
				}
			}
			for name, ops := range wantFindings {
				if !slices.Equal(got[name], ops) {
					t.Errorf("finding %s: got pair %v, want %v", name, got[name], ops)
				}
			}
			for name := range got {
				if _, ok := wantFindings[name]; !ok {
					t.Errorf("unexpected finding %s", name)
				}
			}
			causes := map[Cause]int{}
			for _, u := range unhandled {
				causes[u.Cause]++
			}
			if len(causes) != len(wantUnhandled) || causes[MapVariable] != wantUnhandled[MapVariable] || causes[NotMap] != wantUnhandled[NotMap] {
				t.Errorf("unhandled causes %v, want %v", causes, wantUnhandled)
			}
			if t.Failed() {
				t.Logf("findings and unhandled:\n%s\noutput:\n%s", describe(dir, findings, unhandled), out)
			}
		})
	}
}

// TestLiveCrash checks Parse and Locate against the crash that the
// installed Go's runtime prints when it catches concurrent map writes
// without the race detector.
func TestLiveCrash(t *testing.T) {
	dir := liveModule(t)
	bin := filepath.Join(t.TempDir(), "crash")
	if out, err := exec.Command("go", "-C", dir, "build", "-o", bin, "./cmd/crash").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out := run(t, dir, []string{"GOTRACEBACK=all"}, bin)
	if !bytes.Contains(out, []byte(crashMarker)) {
		t.Fatalf("the program did not crash on its map:\n%s", out)
	}
	log, err := Parse(bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(log.Reports) != 1 || log.Reports[0].Kind != MapCrash {
		t.Fatalf("got %d reports, want one map crash:\n%s", len(log.Reports), out)
	}
	prog, err := load.Load(load.Config{Dir: dir, Tests: true})
	if err != nil {
		t.Fatal(err)
	}
	findings, unhandled := Locate(prog.Fset, prog.Packages, log)
	if len(findings) != 1 || findings[0].Name != "example.com/shop/cmd/crash.cache" || len(unhandled) != 0 {
		t.Fatalf("want one finding on example.com/shop/cmd/crash.cache, got:\n%s\noutput:\n%s", describe(dir, findings, unhandled), out)
	}
	if f := findings[0]; !strings.HasPrefix(f.Reason, `runtime crash "concurrent map `) || f.Confidence.String() != "proven" {
		t.Errorf("finding reason %q, confidence %s", f.Reason, f.Confidence)
	}
}
