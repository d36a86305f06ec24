package racelog

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/safemapfix/safemapfix/load"
)

// frameSpec is one frame of a synthetic report: "func file:line".
type frameSpec struct {
	fn, file string
	line     int
}

// raceText writes a race report in the race detector's format.
func raceText(accesses ...[]frameSpec) string {
	var b strings.Builder
	b.WriteString("==================\nWARNING: DATA RACE\n")
	for i, frames := range accesses {
		head := "Write at 0x00c000010000 by goroutine %d:\n"
		if i > 0 {
			head = "Previous read at 0x00c000010000 by goroutine %d:\n"
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, head, 7+i)
		for _, f := range frames {
			fmt.Fprintf(&b, "  %s()\n      %s:%d +0x44\n", f.fn, f.file, f.line)
		}
	}
	b.WriteString("==================\n")
	return b.String()
}

const unitSource = `package u

import "maps"

var a, b = map[string]int{}, map[string]int{}

type T struct{ m map[string]int }

func copyOver(k string) { a[k] = b[k] }

func both(k string) { _, _ = a[k], b[k] }

func get() map[string]int { return a }

func viaCall(k string) { get()[k] = 1 }

func (t *T) alias(k string) { x := t.m; x[k] = 1 }

func (t *T) reassigned(k string) { x := t.m; x = map[string]int{}; x[k] = 1 }

var n int

func counter() { n++ }

func copyAB() { maps.Copy(a, b) }

func keep(t *T) any { return t }

type Set map[string]bool

func (s Set) Add(k string) { s[k] = true }

var tags = Set{}

func tag(k string) { tags.Add(k) }
`

var (
	assign   = frameSpec{fn: "runtime.mapassign_faststr", file: "/go/src/internal/runtime/maps/runtime_faststr.go", line: 263}
	lookup   = frameSpec{fn: "runtime.mapaccess1_faststr", file: "/go/src/internal/runtime/maps/runtime_faststr.go", line: 101}
	iterNext = frameSpec{fn: "runtime.mapIterNext", file: "/go/src/runtime/map.go", line: 166}
)

func at(fn string, line int) frameSpec {
	return frameSpec{fn: "example.com/u." + fn, file: "/build/elsewhere/u/u.go", line: line}
}

// TestLocateCases checks how Locate picks the map of a line and its
// object, on reports written by hand against a small package.
func TestLocateCases(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{"go.mod": "module example.com/u\n\ngo 1.25\n", "u.go": unitSource} {
		path := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	prog, err := load.Load(load.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		report   string
		findings []string // names
		cause    string   // of the single unhandled report, if any
		reason   string   // in its reason
	}{
		{
			name:     "write and read of different maps on one line",
			report:   raceText([]frameSpec{assign, at("copyOver", 9)}, []frameSpec{lookup, at("copyOver", 9)}),
			findings: []string{"example.com/u.a", "example.com/u.b"},
		},
		{
			name:   "two maps read on one line",
			report: raceText([]frameSpec{lookup, at("both", 11)}, []frameSpec{lookup, at("both", 11)}),
			cause:  "unresolved", reason: "several maps fit the report: a, b",
		},
		{
			name:   "map returned by a call",
			report: raceText([]frameSpec{assign, at("viaCall", 15)}, []frameSpec{assign, at("viaCall", 15)}),
			cause:  "unresolved", reason: "the map get() is not a variable or field",
		},
		{
			name:     "local alias of a field",
			report:   raceText([]frameSpec{assign, at("(*T).alias", 17)}, []frameSpec{assign, at("(*T).alias", 17)}),
			findings: []string{"example.com/u.T.m"},
		},
		{
			name:     "reassigned local is not an alias",
			report:   raceText([]frameSpec{assign, at("(*T).reassigned", 19)}, []frameSpec{assign, at("(*T).reassigned", 19)}),
			findings: []string{"example.com/u.T.reassigned.x"},
		},
		{
			name: "maps.Copy writes dst and reads src",
			report: raceText(
				[]frameSpec{assign, {fn: "maps.Copy[...]", file: "/go/src/maps/maps.go", line: 64}, at("copyAB", 25)},
				[]frameSpec{iterNext, {fn: "maps.Copy[...]", file: "/go/src/maps/maps.go", line: 63}, at("copyAB", 25)}),
			findings: []string{"example.com/u.a", "example.com/u.b"},
		},
		{
			name: "map reached by reflection",
			report: raceText(
				[]frameSpec{iterNext, {fn: "encoding/json.Marshal", file: "/go/src/encoding/json/encode.go", line: 100}, at("keep", 27)},
				[]frameSpec{assign, at("(*T).alias", 17)}),
			findings: []string{"example.com/u.T.m"},
		},
		{
			name: "map reached by reflection only",
			report: raceText(
				[]frameSpec{iterNext, {fn: "encoding/json.Marshal", file: "/go/src/encoding/json/encode.go", line: 100}, at("keep", 27)},
				[]frameSpec{iterNext, {fn: "encoding/json.Marshal", file: "/go/src/encoding/json/encode.go", line: 100}, at("keep", 27)}),
			cause: "unresolved", reason: "the map was reached inside encoding/json.Marshal, through a value that holds it",
		},
		{
			name:   "log older than the code",
			report: raceText([]frameSpec{assign, at("copyOver", 11)}, []frameSpec{lookup, at("copyOver", 11)}),
			cause:  "stale log", reason: "u.go:11 is in both now, but the log says example.com/u.copyOver ran there",
		},
		{
			name:     "method of a named map type",
			report:   raceText([]frameSpec{assign, at("Set.Add", 31), at("tag", 35)}, []frameSpec{assign, at("Set.Add", 31), at("tag", 35)}),
			findings: []string{"example.com/u.tags"},
		},
		{
			name:   "not a map",
			report: raceText([]frameSpec{at("counter", 23)}, []frameSpec{at("counter", 23)}),
			cause:  "not a map", reason: "no map is accessed on the reported lines",
		},
		{
			name: "file of another package",
			report: raceText(
				[]frameSpec{assign, {fn: "example.com/other.F", file: "/src/other/u.go", line: 7}},
				[]frameSpec{assign, {fn: "example.com/other.F", file: "/src/other/u.go", line: 7}}),
			cause: "outside loaded code", reason: "example.com/other.F (/src/other/u.go:7) is not in the loaded packages",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log, err := Parse(strings.NewReader(tc.report))
			if err != nil {
				t.Fatal(err)
			}
			findings, unhandled := Locate(prog.Fset, prog.Packages, log)
			var names []string
			for _, f := range findings {
				names = append(names, f.Name)
			}
			if strings.Join(names, " ") != strings.Join(tc.findings, " ") {
				t.Errorf("findings %v, want %v", names, tc.findings)
			}
			switch {
			case tc.cause == "" && len(unhandled) > 0:
				t.Errorf("unexpected unhandled: %v", unhandled)
			case tc.cause != "" && (len(unhandled) != 1 || unhandled[0].Cause.String() != tc.cause || !strings.Contains(unhandled[0].Reason, tc.reason)):
				t.Errorf("unhandled %v, want one %q containing %q", unhandled, tc.cause, tc.reason)
			}
		})
	}
}

// TestFileLookup checks how printed file names are matched with loaded
// files.
func TestFileLookup(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{
		"go.mod":        "module example.com/mod\n\ngo 1.25\n",
		"a/util.go":     "package a\n",
		"b/util.go":     "package b\n",
		"cmd/x/main.go": "package main\n\nfunc main() {}\n",
	} {
		path := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	prog, err := load.Load(load.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	idx := newFileIndex(prog.Fset, prog.Packages)
	for _, tc := range []struct {
		frame Frame
		want  string // relative to dir; "" for no match
	}{
		{Frame{Func: "example.com/mod/a.F", File: filepath.Join(dir, "a/util.go")}, "a/util.go"},
		{Frame{Func: "example.com/mod/b.F", File: "example.com/mod/b/util.go"}, "b/util.go"}, // -trimpath
		{Frame{Func: "example.com/mod/a.F", File: "a/util.go"}, "a/util.go"},                 // strip_path_prefix
		{Frame{Func: "example.com/mod/b.F", File: "/ci/checkout/b/util.go"}, "b/util.go"},    // another machine
		{Frame{Func: "example.com/mod/a.F", File: "util.go"}, "a/util.go"},                   // base name, told apart by package
		{Frame{Func: "", File: "util.go"}, ""},                                               // base name, ambiguous
		{Frame{Func: "main.main", File: `C:\work\cmd\x\main.go`}, "cmd/x/main.go"},           // Windows path
		{Frame{Func: "example.com/other.F", File: "/elsewhere/a/util.go"}, ""},               // another package
		{Frame{Func: "example.com/mod/a.F", File: "/go/src/sync/waitgroup.go"}, ""},          // not loaded
	} {
		lf := idx.lookup(tc.frame)
		got := ""
		if lf != nil {
			got, _ = filepath.Rel(dir, lf.path)
			got = filepath.ToSlash(got)
		}
		if got != tc.want {
			t.Errorf("lookup(%s, %s) = %q, want %q", tc.frame.Func, tc.frame.File, got, tc.want)
		}
	}
}

func TestFrameClassification(t *testing.T) {
	for _, tc := range []struct {
		fn      string
		pkg     string
		op      MapOp
		distrib bool
	}{
		{"runtime.mapassign_faststr", "runtime", Assign, true},
		{"runtime.mapaccess2_fast64", "runtime", Lookup, true},
		{"runtime.mapdelete", "runtime", Delete, true},
		{"runtime.mapclear", "runtime", Clear, true},
		{"runtime.mapIterStart", "runtime", Iterate, true},
		{"runtime.mapiternext", "runtime", Iterate, true},
		{"internal/runtime/maps.(*Iter).Next", "internal/runtime/maps", Iterate, true},
		{"internal/runtime/maps.(*table).uncheckedPutSlot", "internal/runtime/maps", Assign, true},
		{"internal/runtime/maps.fatal", "internal/runtime/maps", Direct, true},
		{"reflect.maplen", "reflect", Read, true},
		{"reflect.mapassign_faststr0", "reflect", Assign, true},
		{"maps.Clone[...]", "maps", Clone, true},
		{"sync.(*WaitGroup).Go", "sync", Direct, true},
		{"main.main.func1", "main", Direct, false},
		{"example.com/p.(*T).M", "example.com/p", Direct, false},
		{"gopkg.in/yaml%2ev3.Unmarshal", "gopkg.in/yaml.v3", Direct, false},
		{"app.Run", "app", Direct, false}, // a module named without a dot
	} {
		f := Frame{Func: tc.fn, File: "x.go"}
		if got := f.Package(); got != tc.pkg {
			t.Errorf("Package(%s) = %q, want %q", tc.fn, got, tc.pkg)
		}
		if got := frameMapOp(tc.fn); got != tc.op {
			t.Errorf("frameMapOp(%s) = %s, want %s", tc.fn, got, tc.op)
		}
		if got := f.InGoDistribution(); got != tc.distrib {
			t.Errorf("InGoDistribution(%s) = %t, want %t", tc.fn, got, tc.distrib)
		}
	}
}

// TestParseTolerates checks that reports survive what test runs and
// terminals do to them.
func TestParseTolerates(t *testing.T) {
	clean := raceText([]frameSpec{assign, at("copyOver", 9)}, []frameSpec{lookup, at("copyOver", 9)})
	want := "data race: write at /build/elsewhere/u/u.go:9 (goroutine 7) vs read at /build/elsewhere/u/u.go:9 (goroutine 8)"
	for _, tc := range []struct {
		name  string
		input string
		n     int
	}{
		{"clean", clean, 1},
		{"CRLF line ends", strings.ReplaceAll(clean, "\n", "\r\n"), 1},
		{"test output around", "=== RUN   TestX\n" + clean + "--- FAIL: TestX (0.00s)\n    testing.go:1712: race detected during execution of test\nFAIL\n", 1},
		{"output of another goroutine inside", strings.Replace(clean, "\nPrevious", "\nhello from a goroutine\n\nPrevious", 1), 1},
		{"twice", clean + "ok\n" + clean, 2},
		{"glued to previous output", strings.Replace(clean, "WARNING", "PASSWARNING", 1), 1},
		{"no closing separator", strings.TrimSuffix(clean, "==================\n"), 1},
		{"unknown section", strings.TrimSuffix(clean, "==================\n") + "\nLocation is heap block of size 8 at 0x1 allocated by goroutine 3:\n  example.com/u.alloc()\n      /x/alloc.go:1 +0x1\n==================\n", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log, err := Parse(strings.NewReader(tc.input))
			if err != nil {
				t.Fatal(err)
			}
			if len(log.Reports) != tc.n {
				t.Fatalf("got %d reports, want %d", len(log.Reports), tc.n)
			}
			for _, r := range log.Reports {
				if got := r.String(); got != want {
					t.Errorf("report %q\nwant       %q", got, want)
				}
				for _, a := range r.Accesses {
					if len(a.Stack) != 2 {
						t.Errorf("access with %d frames, want 2: %v", len(a.Stack), a.Stack)
					}
				}
			}
		})
	}
	log, err := Parse(strings.NewReader("==================\nWARNING: DATA RACE\nWrite at 0x1 by goroutine 3:\n  [failed to restore the stack]\n\nPrevious read at 0x1 by main goroutine:\n  main.main()\n      /x/main.go:3 +0x1\n==================\n"))
	if err != nil || len(log.Reports) != 1 || len(log.Reports[0].Accesses) != 2 || len(log.Reports[0].Accesses[0].Stack) != 0 || log.Reports[0].Accesses[1].Goroutine != 1 {
		t.Errorf("a report with a lost stack: %v %+v", err, log)
	}
}
