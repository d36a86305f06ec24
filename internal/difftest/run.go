package difftest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/safemapfix/safemapfix"
)

// Env is what the go command needs to build generated programs offline,
// with no dependency but the standard library. safemapfix.Run starts the
// go command with the process environment, so callers set these there too.
var Env = []string{"GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off"}

// Failure kinds, from the most to the least severe.
const (
	// RewriteError: safemapfix.Run failed (for example, the rewritten
	// code does not type-check).
	RewriteError = "rewrite error"
	// BuildError: the rewritten program does not build.
	BuildError = "build error"
	// OutputDiffers: the rewritten program prints something else.
	OutputDiffers = "output differs"
)

// Outcome is the result of checking one program.
type Outcome struct {
	// Kind is "" when the rewritten program behaves as the original, else
	// one of the failure kinds.
	Kind string
	// Detail is the error or the first differing case.
	Detail string
	// Before and After are the outputs of the program before and after
	// the rewrite (After is empty when it did not build).
	Before, After string
	// Changed holds the rewritten files of the program, by name relative
	// to the module, without the placed safe map package.
	Changed map[string][]byte
	// Fixed counts the map objects rewritten; Refused lists why the others
	// were not, one line each.
	Fixed   int
	Refused []string
	// Times are how long each step took: the build and run before, the
	// rewrite, the build and run after.
	Times [3]time.Duration
}

// Failed reports whether the rewrite changed what the program does.
func (o *Outcome) Failed() bool { return o.Kind != "" }

// Checker builds and runs programs before and after the rewrite.
type Checker struct {
	// Dir is where programs are written, in the subdirectory prog; a
	// Checker is not safe for concurrent use.
	Dir string
	// Timeout bounds each run of a built program.
	Timeout time.Duration
}

// errOriginal marks a program that fails before any rewrite: a generator
// bug, or a shrinking step that broke the program.
var errOriginal = errors.New("the original program fails")

// Check writes p as a module, builds and runs it, rewrites every map object
// of it with safemapfix.Run, builds and runs it again, and compares.
// The error is for problems of the program itself or of the machine; the
// rewrite's failures are in the Outcome.
func (ch *Checker) Check(ctx context.Context, p *Program) (*Outcome, error) {
	// The same directory every time: the go command caches compiled
	// packages by directory too, so the placed safe map package and
	// unchanged cases compile once per Checker, not once per program.
	dir := filepath.Join(ch.Dir, "prog")
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	files := p.Files()
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return nil, err
		}
	}
	start := time.Now()
	before, err := ch.buildAndRun(ctx, dir, "before")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errOriginal, err)
	}
	o := &Outcome{Before: before, Changed: map[string][]byte{}}
	o.Times[0] = time.Since(start)
	start = time.Now()
	res, err := safemapfix.Run(ctx, safemapfix.Config{Dir: dir, Patterns: []string{"./..."}, Only: p.Only(), NoStatic: true})
	o.Times[1] = time.Since(start)
	if err != nil {
		o.Kind, o.Detail = RewriteError, err.Error()
		return o, nil
	}
	for _, f := range res.Findings {
		if f.Fixed {
			o.Fixed++
		} else {
			o.Refused = append(o.Refused, f.Name+": "+f.Refusal)
		}
	}
	for _, f := range res.Files {
		if err := os.MkdirAll(filepath.Dir(f.Path), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(f.Path, f.New, 0o644); err != nil {
			return nil, err
		}
		rel, err := filepath.Rel(dir, f.Path)
		if err != nil {
			return nil, err
		}
		if !strings.HasPrefix(filepath.ToSlash(rel), "internal/safemap/") {
			o.Changed[filepath.ToSlash(rel)] = f.New
		}
	}
	start = time.Now()
	after, err := ch.buildAndRun(ctx, dir, "after")
	o.Times[2] = time.Since(start)
	var build *buildError
	switch {
	case errors.As(err, &build):
		o.Kind, o.Detail = BuildError, build.out
		return o, nil
	case err != nil:
		// It built but crashed or hung: its output tells how.
		o.After = after + "\n" + err.Error()
	default:
		o.After = after
	}
	if name, ok := firstDifference(o.Before, o.After); !ok {
		o.Kind, o.Detail = OutputDiffers, name
	}
	return o, nil
}

type buildError struct{ out string }

func (e *buildError) Error() string { return "build: " + e.out }

// buildAndRun builds the module in dir into a binary named name and runs
// it, returning its output.
func (ch *Checker) buildAndRun(ctx context.Context, dir, name string) (string, error) {
	bin := filepath.Join(dir, name+".bin")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	build.Dir = dir
	build.Env = append(os.Environ(), Env...)
	if out, err := build.CombinedOutput(); err != nil {
		return "", &buildError{out: string(out)}
	}
	defer os.Remove(bin)
	timeout := ch.Timeout
	if timeout == 0 {
		timeout = time.Minute
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	run := exec.CommandContext(rctx, bin)
	run.Dir = dir
	var out bytes.Buffer
	run.Stdout = &out
	run.Stderr = &out
	if err := run.Run(); err != nil {
		return out.String(), fmt.Errorf("run %s: %v", name, err)
	}
	return out.String(), nil
}

// sections splits a program's output into the output of each case.
func sections(out string) map[string]string {
	secs := map[string]string{}
	name := ""
	for _, line := range strings.SplitAfter(out, "\n") {
		if n, ok := strings.CutPrefix(line, "== "); ok {
			name = strings.TrimSpace(n)
			continue
		}
		secs[name] += line
	}
	return secs
}

// firstDifference returns the name of the first case whose output differs
// ("" for output before any case), or reports that none does.
func firstDifference(before, after string) (string, bool) {
	if before == after {
		return "", true
	}
	b, a := sections(before), sections(after)
	var names []string
	for n := range b {
		names = append(names, n)
	}
	for n := range a {
		if _, ok := b[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Slice(names, func(i, j int) bool { return caseLess(names[i], names[j]) })
	for _, n := range names {
		if b[n] != a[n] {
			return n, false
		}
	}
	return "", false
}

var caseNumber = regexp.MustCompile(`^case(\d+)`)

func caseLess(a, b string) bool {
	ma, mb := caseNumber.FindStringSubmatch(a), caseNumber.FindStringSubmatch(b)
	if ma == nil || mb == nil || len(ma[1]) == len(mb[1]) {
		return a < b
	}
	return len(ma[1]) < len(mb[1])
}

// suspects returns the cases an outcome points at: the one whose output
// differs, or those named in an error.
func suspects(p *Program, o *Outcome) []*Case {
	var out []*Case
	for _, c := range p.Cases {
		if o.Kind == OutputDiffers && c.Name == o.Detail {
			return []*Case{c}
		}
		if o.Kind != OutputDiffers && regexp.MustCompile(`\b`+c.Name+`(\.go|_)`).MatchString(o.Detail) {
			out = append(out, c)
		}
	}
	return out
}
