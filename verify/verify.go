// Package verify checks a module after safemapfix has written its fixes,
// and puts the written files back when the check fails.
//
// The check runs the go command in the module on the packages that were
// rewritten and every package of the module that imports them, directly
// or through tests:
//
//   - Build: go build and go vet. A fix that does not compile, or that
//     vet rejects, is undone. Vet problems that were there before the
//     write do not count: those in files the run did not write, and those
//     also reported on the code before the write (CheckAndRestore vets
//     the original once to find out, comparing file and message).
//   - Race: Build, then go test -race -count=1 -shuffle=on -cpu=1,2,4,
//     which runs each test at three GOMAXPROCS settings in a random order
//     to perturb scheduling. Map races seen by the race detector are
//     counted and, given the race log that motivated the fix, compared
//     with it. A test that fails for any reason other than the race
//     detector is taken as a regression and the fix is undone, unless it
//     already failed in that race log.
//
// Typical use, after writing:
//
//	rep, err := verify.CheckAndRestore(ctx, verify.Config{Dir: dir, Level: verify.Race, BeforeLog: raceLog}, written)
//
// where written is what emit.Write returned: every path as it was before
// the write.
package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/safemapfix/safemapfix/emit"
	"github.com/safemapfix/safemapfix/racelog"
)

// Level is how thoroughly to check.
type Level int

const (
	// None checks nothing.
	None Level = iota
	// Build runs go build and go vet.
	Build
	// Race runs Build, then the tests under the race detector.
	Race
)

func (l Level) String() string {
	switch l {
	case None:
		return "none"
	case Build:
		return "build"
	case Race:
		return "race"
	}
	return fmt.Sprintf("Level(%d)", int(l))
}

// ParseLevel reads a --verify flag value: "build" (also the empty string,
// for a bare --verify), "race" or "none".
func ParseLevel(s string) (Level, error) {
	switch s {
	case "", "build":
		return Build, nil
	case "race":
		return Race, nil
	case "none", "off":
		return None, nil
	}
	return None, fmt.Errorf("unknown verify level %q: use build or race", s)
}

// Config says what to check.
type Config struct {
	// Dir is a directory inside the module; the go command runs at the
	// module's root.
	Dir string
	// Packages are the rewritten packages, as import paths or patterns
	// relative to Dir. CheckAndRestore adds the directories of the
	// written .go files; when both are empty, the whole module (./...) is
	// checked.
	Packages []string
	Level    Level
	// Env is the go command's environment; nil means os.Environ().
	Env []string
	// Written are the files the run wrote. go vet diagnostics that are
	// all in other files were there before the run and do not fail the
	// check. CheckAndRestore sets it; empty means every diagnostic counts.
	Written []string
	// BuildFlags are passed to every go command, e.g. -tags=integration,
	// so the check sees the files the run loaded.
	BuildFlags []string
	// BeforeLog is the text of the race log that led to the fix (the
	// output of go test -race), if any. With Race, its map races are
	// compared with those seen after the fix, and the tests it shows
	// failing for other reasons are not blamed on the fix.
	BeforeLog []byte
	// Progress, if not nil, receives each go command before it runs.
	Progress io.Writer
}

// Report is what a check found.
type Report struct {
	Level Level
	// ModuleDir is the module root where the commands ran.
	ModuleDir string
	// Packages are the import paths checked: the rewritten packages and
	// their importers in the module.
	Packages []string
	// Steps are the commands run, in order; the check stops at the first
	// step that fails to build or vet.
	Steps []Step
	// Failures are tests that failed for a reason other than the race
	// detector, and packages whose test binary failed outright, that did
	// not already fail in the Before log.
	Failures []string
	// MapRaces compares map races before (from Config.Before) and after
	// the fix (from the test run); empty unless Level is Race.
	MapRaces RaceDiff
	// After is the race log of the test run (Level Race).
	After *racelog.Log
}

// Step is one go command and its result.
type Step struct {
	Args   []string
	Output string
	// Err is the command's error (usually an exit status); nil on success.
	Err error
	// PreExisting is true for a go vet step whose diagnostics were all
	// there before the run (in files it did not write, or also reported
	// on the code before the write): they do not fail the check.
	PreExisting bool
	// New lists, for a failed go vet step compared with the code before
	// the write (CheckAndRestore does), the diagnostics that the write
	// introduced, without line numbers.
	New []string
}

// Failed reports whether the step failed in a way that counts against
// the run.
func (s Step) Failed() bool { return s.Err != nil && !s.PreExisting }

func (s Step) String() string {
	status := "ok"
	switch {
	case s.PreExisting:
		status = "problems that were there before this run (left as they were):\n" + indent(s.Output)
	case s.Err != nil:
		status = "FAILED: " + s.Err.Error()
	}
	return strings.TrimRight(fmt.Sprintf("go %s: %s", strings.Join(s.Args, " "), status), "\n")
}

// OK reports whether the check passed: everything built and vetted, and
// at the race level no test regressed.
func (r *Report) OK() bool {
	for _, s := range r.Steps {
		if s.Failed() && s.Args[0] != "test" {
			return false
		}
	}
	return len(r.Failures) == 0
}

// Summary describes the report in a few lines for the user.
func (r *Report) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "verify (%s) of %d packages in %s:\n", r.Level, len(r.Packages), r.ModuleDir)
	for _, s := range r.Steps {
		if s.Args[0] == "test" && s.Err != nil && len(r.Failures) == 0 && r.After != nil {
			// Tests failed, but only because the race detector found
			// races: those left are not on map contents, or not fixed.
			fmt.Fprintf(&b, "\tgo %s: no regression; the race detector still reports %d races (%d on maps)\n",
				strings.Join(s.Args, " "), len(r.After.Reports), len(r.After.MapReports()))
			continue
		}
		fmt.Fprintf(&b, "\t%s\n", s)
	}
	for _, f := range r.Failures {
		fmt.Fprintf(&b, "\tregression: %s\n", f)
	}
	if r.After != nil {
		fmt.Fprintf(&b, "\t%s\n", r.MapRaces)
	}
	return b.String()
}

// Problems returns the output of the failed build and vet steps and the
// test failures, for an error message.
func (r *Report) Problems() string {
	var b strings.Builder
	for _, s := range r.Steps {
		if s.Failed() && s.Args[0] != "test" {
			fmt.Fprintf(&b, "go %s:\n%s", strings.Join(s.Args, " "), indent(s.Output))
			if len(s.New) > 0 {
				fmt.Fprintf(&b, "introduced by this run:\n%s", indent(strings.Join(s.New, "\n")))
			}
		}
	}
	for _, f := range r.Failures {
		fmt.Fprintf(&b, "%s\n", f)
	}
	return b.String()
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return ""
	}
	return "\t" + strings.ReplaceAll(s, "\n", "\n\t") + "\n"
}

// Error is returned by CheckAndRestore when the check failed and the
// written files were put back.
type Error struct {
	Report *Report
	// Restored is the number of paths put back.
	Restored int
	// RestoreErr is non-nil when some paths could not be put back.
	RestoreErr error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.RestoreErr != nil {
		fmt.Fprintf(&b, "verification failed and the written files could NOT all be restored (%v); ", e.RestoreErr)
	} else {
		fmt.Fprintf(&b, "verification failed; restored %d written files to their previous content; ", e.Restored)
	}
	b.WriteString("the fix is not applied:\n")
	b.WriteString(e.Report.Problems())
	return strings.TrimRight(b.String(), "\n")
}

// CheckAndRestore checks the module after a run wrote the files in
// written (as emit.Write returns them), and restores them all if the check fails or
// cannot be run. The error is then an *Error carrying the go command's
// messages, or the reason the check could not run.
func CheckAndRestore(ctx context.Context, cfg Config, written []emit.Written) (*Report, error) {
	if cfg.Level == None {
		return &Report{Level: None}, nil
	}
	for _, w := range written {
		if strings.HasSuffix(w.Path, ".go") {
			cfg.Packages = append(cfg.Packages, dirPattern(cfg.Dir, filepath.Dir(w.Path)))
		}
		if !w.Mode.IsDir() && !slices.Contains(cfg.Written, w.Path) {
			cfg.Written = append(cfg.Written, w.Path)
		}
	}
	rep, err := check(ctx, cfg, func(ctx context.Context, g *goCmd, pkgs []string) (string, error) {
		return vetOriginal(ctx, g, pkgs, written)
	})
	if err != nil {
		if rerr := emit.Restore(written); rerr != nil {
			return rep, fmt.Errorf("%w; restoring the written files also failed: %v", err, rerr)
		}
		return rep, fmt.Errorf("%w; restored %d written files", err, len(cfg.Written))
	}
	if rep.OK() {
		return rep, nil
	}
	rerr := emit.Restore(written)
	return rep, &Error{Report: rep, Restored: len(cfg.Written), RestoreErr: rerr}
}

// vetOriginal runs go vet on the packages as they were before the run
// wrote: it puts the written files back, vets the packages that existed
// then, and writes the run's files again. It returns vet's output.
func vetOriginal(ctx context.Context, g *goCmd, pkgs []string, written []emit.Written) (string, error) {
	type file struct {
		path string
		data []byte
		mode fs.FileMode
	}
	var current []file
	for _, w := range written {
		info, err := os.Stat(w.Path)
		if err != nil || info.IsDir() {
			continue
		}
		data, err := os.ReadFile(w.Path)
		if err != nil {
			return "", fmt.Errorf("verify: %w", err)
		}
		current = append(current, file{w.Path, data, info.Mode()})
	}
	if err := emit.Restore(written); err != nil {
		return "", err
	}
	out, vetErr := func() (string, error) {
		listed, err := g.list(ctx, pkgs...)
		if err != nil {
			return "", err
		}
		var existing []string
		for _, p := range listed {
			if p.Error == nil && p.Dir != "" {
				existing = append(existing, p.ImportPath)
			}
		}
		if len(existing) == 0 {
			return "", nil
		}
		step, err := g.run(ctx, append([]string{"vet"}, existing...)...)
		return step.Output, err
	}()
	for _, f := range current {
		if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
			return "", fmt.Errorf("verify: write %s again: %w", f.path, err)
		}
		if err := emit.Restore([]emit.Written{{Path: f.path, Old: f.data, Mode: f.mode}}); err != nil {
			return "", fmt.Errorf("verify: write %s again: %w", f.path, err)
		}
	}
	return out, vetErr
}

// newDiagnostics returns the go vet diagnostics of after that before does
// not have, comparing file and message but not position, since the write
// moved lines. A line of after that is not a diagnostic counts as new.
func newDiagnostics(after, before string) []string {
	seen := map[string]int{}
	for _, line := range strings.Split(before, "\n") {
		if key, ok := diagnosticKey(line); ok {
			seen[key]++
		}
	}
	var fresh []string
	for _, line := range strings.Split(after, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, ok := diagnosticKey(line)
		if !ok {
			if strings.HasPrefix(line, "\t") || strings.HasPrefix(line, "    ") {
				continue // continuation of a diagnostic
			}
			fresh = append(fresh, line)
			continue
		}
		if seen[key] > 0 {
			seen[key]--
			continue
		}
		fresh = append(fresh, line)
	}
	return fresh
}

// vetDiagnosticKey matches "shop/shop.go:40:43: message".
var vetDiagnosticKey = regexp.MustCompile(`^(.+?\.go):\d+(?::\d+)?: (.*)$`)

func diagnosticKey(line string) (string, bool) {
	m := vetDiagnosticKey.FindStringSubmatch(line)
	if m == nil {
		return "", false
	}
	return m[1] + ": " + m[2], true
}

// dirPattern turns a directory into a package pattern relative to base.
func dirPattern(base, dir string) string {
	if base == "" {
		base = "."
	}
	absBase, err1 := filepath.Abs(base)
	absDir, err2 := filepath.Abs(dir)
	if err1 != nil || err2 != nil {
		return dir
	}
	rel, err := filepath.Rel(absBase, absDir)
	if err != nil || strings.HasPrefix(rel, "..") {
		return absDir
	}
	return "./" + filepath.ToSlash(rel)
}

// Check runs the checks of cfg.Level. The error is only for a check that
// could not run (no go command, no module, cancelled); a failing build or
// test is reported in the Report (see Report.OK).
func Check(ctx context.Context, cfg Config) (*Report, error) {
	return check(ctx, cfg, nil)
}

// vetBeforeFunc runs go vet on the packages as they were before the write
// and returns its output.
type vetBeforeFunc func(ctx context.Context, g *goCmd, pkgs []string) (string, error)

// check is Check; vetBefore, if not nil, is used when go vet fails to tell
// the problems the write introduced from those that were there before.
func check(ctx context.Context, cfg Config, vetBefore vetBeforeFunc) (*Report, error) {
	rep := &Report{Level: cfg.Level}
	if cfg.Level == None {
		return rep, nil
	}
	root, err := moduleRoot(cfg.Dir)
	if err != nil {
		return rep, err
	}
	rep.ModuleDir = root
	g := &goCmd{dir: root, env: cfg.Env, flags: cfg.BuildFlags, progress: cfg.Progress}
	pkgs, buildable, err := affected(ctx, g, cfg)
	if err != nil {
		return rep, err
	}
	rep.Packages = pkgs
	if len(pkgs) == 0 {
		return rep, nil
	}
	for _, args := range [][]string{
		append([]string{"build", "-o", os.DevNull}, buildable...),
		append([]string{"vet"}, pkgs...),
	} {
		if len(args) == 1 || (args[0] == "build" && len(buildable) == 0) {
			continue
		}
		step, err := g.run(ctx, args...)
		if err != nil {
			return rep, err
		}
		if step.Err != nil && args[0] == "vet" {
			if len(cfg.Written) > 0 {
				step.PreExisting = onlyElsewhere(step.Output, root, cfg.Written)
			}
			if !step.PreExisting && vetBefore != nil {
				before, err := vetBefore(ctx, g, pkgs)
				if err != nil {
					return rep, err
				}
				step.New = newDiagnostics(step.Output, before)
				step.PreExisting = len(step.New) == 0
			}
		}
		rep.Steps = append(rep.Steps, step)
		if step.Failed() {
			return rep, nil
		}
	}
	if cfg.Level < Race {
		return rep, nil
	}
	step, err := g.run(ctx, append([]string{"test", "-race", "-count=1", "-shuffle=on", "-cpu=1,2,4"}, pkgs...)...)
	if err != nil {
		return rep, err
	}
	rep.Steps = append(rep.Steps, step)
	rep.After, err = racelog.Parse(strings.NewReader(step.Output))
	if err != nil {
		return rep, err
	}
	var before []*racelog.Report
	failedBefore := map[string]bool{}
	if cfg.BeforeLog != nil {
		log, err := racelog.Parse(bytes.NewReader(cfg.BeforeLog))
		if err != nil {
			return rep, err
		}
		before = onlyIn(log.MapReports(), pkgs)
		lines, err := racelog.Lines(bytes.NewReader(cfg.BeforeLog))
		if err != nil {
			return rep, err
		}
		for _, f := range testFailures(strings.Join(lines, "\n")) {
			if !f.raceOnly {
				failedBefore[f.name] = true
			}
		}
	}
	rep.MapRaces = compareRaces(before, rep.After.MapReports(), cfg.BeforeLog != nil)
	for _, f := range testFailures(step.Output) {
		if f.raceOnly || failedBefore[f.name] {
			continue
		}
		rep.Failures = append(rep.Failures, f.String())
	}
	return rep, nil
}

// onlyElsewhere reports whether go vet's output consists only of
// diagnostics in files other than written (and "# package" headers).
// Paths in the output are relative to dir, where vet ran.
func onlyElsewhere(output, dir string, written []string) bool {
	wrote := map[string]bool{}
	for _, w := range written {
		if abs, err := filepath.Abs(w); err == nil {
			wrote[abs] = true
		}
	}
	diagnostics := 0
	for _, line := range strings.Split(output, "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := vetDiagnosticKey.FindStringSubmatch(line)
		if m == nil {
			if strings.HasPrefix(line, "\t") || strings.HasPrefix(line, "    ") {
				continue // continuation of a diagnostic
			}
			return false
		}
		path := m[1]
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		if wrote[filepath.Clean(path)] {
			return false
		}
		diagnostics++
	}
	return diagnostics > 0
}

// moduleRoot returns the directory of the go.mod above dir.
func moduleRoot(dir string) (string, error) {
	if dir == "" {
		dir = "."
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("verify: %w", err)
	}
	for d := abs; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("verify: no go.mod in %s or above; verification needs a module", abs)
		}
	}
}

// listedPackage is the part of go list -json output that affected needs.
type listedPackage struct {
	ImportPath   string
	Dir          string
	Imports      []string
	TestImports  []string
	XTestImports []string
	GoFiles      []string
	CgoFiles     []string
	Error        *struct{ Err string }
}

// affected lists the rewritten packages and every package of the module
// that imports one of them, directly or through its tests, sorted; and
// those of them that go build accepts (those with more than test files).
func affected(ctx context.Context, g *goCmd, cfg Config) (pkgs, buildable []string, err error) {
	all, err := g.list(ctx, "./...")
	if err != nil {
		return nil, nil, err
	}
	pkgs, err = dependents(ctx, g, cfg, all)
	if err != nil {
		return nil, nil, err
	}
	hasCode := map[string]bool{}
	for _, p := range all {
		hasCode[p.ImportPath] = len(p.GoFiles)+len(p.CgoFiles) > 0
	}
	for _, p := range pkgs {
		if hasCode[p] {
			buildable = append(buildable, p)
		}
	}
	return pkgs, buildable, nil
}

// dependents returns the packages of cfg.Packages and those of all that
// import them, directly or through tests, sorted; all of all when
// cfg.Packages is empty.
func dependents(ctx context.Context, g *goCmd, cfg Config, all []listedPackage) ([]string, error) {
	if len(cfg.Packages) == 0 {
		var paths []string
		for _, p := range all {
			paths = append(paths, p.ImportPath)
		}
		sort.Strings(paths)
		return paths, nil
	}
	// Patterns are relative to cfg.Dir, which may be below the root.
	sub := &goCmd{dir: cfg.Dir, env: g.env, flags: g.flags, progress: g.progress}
	if sub.dir == "" {
		sub.dir = "."
	}
	roots, err := sub.list(ctx, cfg.Packages...)
	if err != nil {
		return nil, err
	}
	importers := map[string][]string{}
	for _, p := range all {
		for _, list := range [][]string{p.Imports, p.TestImports, p.XTestImports} {
			for _, imp := range list {
				importers[imp] = append(importers[imp], p.ImportPath)
			}
		}
	}
	inModule := map[string]bool{}
	for _, p := range all {
		inModule[p.ImportPath] = true
	}
	seen := map[string]bool{}
	var queue []string
	for _, p := range roots {
		if inModule[p.ImportPath] && !seen[p.ImportPath] {
			seen[p.ImportPath] = true
			queue = append(queue, p.ImportPath)
		}
	}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, imp := range importers[p] {
			if !seen[imp] {
				seen[imp] = true
				queue = append(queue, imp)
			}
		}
	}
	var paths []string
	for p := range seen {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return paths, nil
}

// goCmd runs the go command in one directory.
type goCmd struct {
	dir      string
	env      []string
	flags    []string // build flags, after the subcommand
	progress io.Writer
}

// run runs go with args and returns the step. The error is for a command
// that could not start or was cancelled; a non-zero exit is in Step.Err.
func (g *goCmd) run(ctx context.Context, args ...string) (Step, error) {
	args = append(append([]string{args[0]}, g.flags...), args[1:]...)
	if g.progress != nil {
		fmt.Fprintf(g.progress, "verify: go %s\n", strings.Join(args, " "))
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = g.dir
	cmd.Env = g.env
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	step := Step{Args: args, Output: out.String(), Err: err}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return step, fmt.Errorf("verify: go %s: %w", args[0], ctxErr)
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return step, fmt.Errorf("verify: run go %s: %w", args[0], err)
	}
	return step, nil
}

// list runs go list -e -json on patterns.
func (g *goCmd) list(ctx context.Context, patterns ...string) ([]listedPackage, error) {
	args := append(append([]string{"list", "-e", "-json=ImportPath,Dir,Imports,TestImports,XTestImports,GoFiles,CgoFiles,Error"}, g.flags...), patterns...)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = g.dir
	cmd.Env = g.env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("verify: go list %s: %w\n%s", strings.Join(patterns, " "), err, stderr.String())
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p listedPackage
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("verify: read go list output: %w", err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}
