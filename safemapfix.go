// Package safemapfix finds maps that are accessed concurrently without
// synchronisation and rewrites them into safe maps.
//
// Run is the library entry point behind the safemapfix command: it loads
// the packages, detects racy maps, plans and applies the rewrite, checks
// that the rewritten packages still type-check, and returns the changed
// files as old and new bytes together with the findings. It never prints,
// writes files or exits; the command decides what to do with the result.
package safemapfix

import (
	"bytes"
	"context"
	"fmt"
	"go/ast"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"

	"golang.org/x/mod/semver"
	"golang.org/x/tools/go/packages"

	"github.com/safemapfix/safemapfix/check"
	"github.com/safemapfix/safemapfix/detect"
	"github.com/safemapfix/safemapfix/load"
	"github.com/safemapfix/safemapfix/rewrite"
)

// Config says what to analyse and how to rewrite it.
type Config struct {
	// Dir is the directory patterns are resolved in; empty means the
	// current directory.
	Dir string
	// Patterns are package patterns or .go files; empty means ./... .
	Patterns []string
	// Tags are build tags for loading.
	Tags []string
	// Platforms are GOOS/GOARCH pairs ("linux/amd64"). Each is loaded and
	// analysed on its own, and the rewrite is made consistent across all:
	// a map is fixed only when it can be fixed in every platform, and
	// files that several platforms include are rewritten alike. Empty
	// means the platform of the go command.
	Platforms []string
	// Only names map objects to rewrite whatever the analysis says
	// (pkgpath.Var, pkgpath.Type.field, pkgpath.Func.local).
	Only []string
	// Exclude names map objects never to rewrite.
	Exclude []string
	// MinConfidence is the weakest finding that is fixed; weaker findings
	// are reported only. The zero value fixes assumed findings too; the
	// command defaults to detect.Proven.
	MinConfidence detect.Confidence
	// NoStatic turns static detection off, leaving Only and Extra.
	NoStatic bool
	// Extra adds findings from other sources, such as race reports. It is
	// called with the loaded program.
	Extra func(prog *load.Program) ([]detect.Finding, error)
	// WrapperImport is the import path of an existing copy of the safe map
	// package. Empty means: place a copy in the module, at
	// internal/safemap, and import that.
	WrapperImport string
	// Version is written into the header of the placed wrapper copy.
	Version string
	// KeepAPI leaves alone maps that are part of a package's API; see
	// rewrite.Config.KeepAPI.
	KeepAPI bool
	// Generated allows rewriting uses in generated files; see
	// rewrite.Config.Generated.
	Generated bool
	// Progress, when set, is told the phase a run enters: "loading",
	// "detecting", "rewriting", "checking".
	Progress func(phase string)
	// FindingsOnly is for a caller that shows the findings and not the
	// rewritten files (--list): the rewrite is still planned, so that each
	// finding says whether it would be fixed and Result.Files lists the
	// files it would change, but (on one platform) their new content is
	// not produced (FileChange.Old and New are nil) and the rewritten
	// packages are not type-checked again. Both guard what is written or
	// shown as a diff; on nats-server they cost as much as detection's
	// call graph.
	FindingsOnly bool
}

// Finding is a detected map object and what the rewrite did with it.
type Finding struct {
	detect.Finding
	// Fixed reports whether the object and every use were rewritten.
	Fixed bool
	// Refusal says why the object was left as it was.
	Refusal string
	// Below reports a finding under the minimum confidence: reported,
	// not fixed.
	Below bool
	// LeftToTests reports a race only test code has (detect.Finding's
	// TestOnly) on a map not named with --only: the map is left as it
	// is, and Refusal says what the tests should do instead.
	LeftToTests bool
	// Group names other objects rewritten together with this one.
	Group []string
	// Notes are facts a reviewer should know about the rewrite.
	Notes []string
}

// FileChange is one file the rewrite changes or creates.
type FileChange struct {
	// Path is absolute.
	Path string
	// Old is the content loaded from disk; nil for a file to create.
	Old []byte
	New []byte
}

// Result is the outcome of Run.
type Result struct {
	Findings []Finding
	Files    []FileChange
	// ModuleDir is the root directory of the main module.
	ModuleDir string
	// WrapperDir is the directory of the placed safe map package, when
	// Files place or update it.
	WrapperDir string
	// Named are the file arguments, when files were named instead of
	// packages; Files may include others, for the uses a fix forces.
	Named []string
}

// Unfixed counts the findings that remain after the rewrite: refused, or
// below the minimum confidence.
func (r *Result) Unfixed() int {
	n := 0
	for _, f := range r.Findings {
		if !f.Fixed {
			n++
		}
	}
	return n
}

// Run analyses and rewrites the packages cfg names. It returns an error
// for bad input (patterns that match nothing, code that does not compile,
// a module too old for the safe map) and never a partial result.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	progress := cfg.Progress
	if progress == nil {
		progress = func(string) {}
	}
	progress("loading")
	progs, err := loadAll(ctx, cfg)
	if err != nil {
		return nil, err
	}
	prog := progs[0]
	progress("detecting")
	// The rewrite's index of every map use is independent of the
	// findings; it is built on a core that detection's single-threaded
	// call graph leaves idle.
	indexes := make([]*rewrite.Index, len(progs))
	var indexed sync.WaitGroup
	for i, prog := range progs {
		indexed.Go(func() { indexes[i] = rewrite.NewIndex(prog.Fset, prog.Packages) })
	}
	findings, err := findings(progs, cfg)
	indexed.Wait()
	if err != nil {
		return nil, err
	}
	if len(prog.Files) > 0 {
		findings = concerning(findings, prog.Files)
	}
	if prog.Module == nil {
		res := &Result{Findings: merge(findings, nil, cfg.MinConfidence)}
		for i, f := range res.Findings {
			if !f.Below && !f.LeftToTests {
				res.Findings[i].Refusal = "the package is not in a Go module, and safemapfix rewrites only the code of a module"
			}
		}
		return res, nil
	}
	res := &Result{ModuleDir: prog.Module.Dir, Named: prog.Files}
	var ids []string
	for _, f := range findings {
		if f.Confidence >= cfg.MinConfidence && !leftToTests(f) {
			ids = append(ids, f.ID)
		}
	}
	if len(ids) == 0 {
		res.Findings = merge(findings, nil, cfg.MinConfidence)
		return res, nil
	}
	wrapper, placed, err := wrapperFor(prog.Module, cfg)
	if err != nil {
		return nil, err
	}
	progress("rewriting")
	objs, rws, err := rewriteAll(progs, indexes, cfg, wrapper, ids)
	if err != nil {
		return nil, err
	}
	res.Findings = merge(findings, objs, cfg.MinConfidence)
	res.Files, err = mergeFiles(progs, rws, cfg.Platforms)
	if err != nil {
		return nil, err
	}
	if len(res.Files) > 0 && cfg.WrapperImport == "" {
		res.Files = append(res.Files, placed...)
		res.WrapperDir = filepath.Join(prog.Module.Dir, filepath.FromSlash(wrapperDir))
	}
	if cfg.FindingsOnly {
		return res, nil
	}
	progress("checking")
	for i, prog := range progs {
		// Each platform checks its own files: a file another platform
		// leaves out would look like a new package here.
		var files []FileChange
		for _, f := range rws[i].Files {
			files = append(files, FileChange{Path: f.Path, Old: f.Old, New: f.New})
		}
		if len(files) > 0 && cfg.WrapperImport == "" {
			files = append(files, placed...)
		}
		if err := typeCheck(prog, cfg, files); err != nil {
			return nil, fmt.Errorf("%s%w", platformPrefix(cfg.Platforms, i), err)
		}
	}
	return res, nil
}

// loadAll loads the packages once per platform, all in the same module.
func loadAll(ctx context.Context, cfg Config) ([]*load.Program, error) {
	platforms := cfg.Platforms
	if len(platforms) == 0 {
		platforms = []string{""}
	}
	var progs []*load.Program
	for i, platform := range platforms {
		var env []string
		if platform != "" {
			goos, goarch, ok := strings.Cut(platform, "/")
			if !ok || goos == "" || goarch == "" || strings.Contains(goarch, "/") {
				return nil, fmt.Errorf("platform %q: want GOOS/GOARCH, such as linux/amd64 (go tool dist list shows them all)", platform)
			}
			env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch)
		}
		prog, err := load.Load(load.Config{Dir: cfg.Dir, Patterns: cfg.Patterns, Tests: true, Tags: cfg.Tags, Env: env})
		if err != nil {
			return nil, fmt.Errorf("%s%w", platformPrefix(cfg.Platforms, i), err)
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if prog.Module == nil {
			if cfg.FindingsOnly && len(platforms) == 1 {
				// The standard library, say: it can be analysed but
				// not rewritten.
				progs = append(progs, prog)
				continue
			}
			return nil, fmt.Errorf("the packages are not in a Go module, so they cannot be rewritten: run safemapfix on the packages of a module (a directory tree with go.mod); --list reports the findings of others, such as the standard library's")
		}
		if i > 0 && prog.Module.Dir != progs[0].Module.Dir {
			return nil, fmt.Errorf("platform %s loads module %s, but %s loads %s", platform, prog.Module.Dir, platforms[0], progs[0].Module.Dir)
		}
		progs = append(progs, prog)
	}
	return progs, nil
}

// platformPrefix names platform i in a message, when platforms were named.
func platformPrefix(platforms []string, i int) string {
	if len(platforms) == 0 {
		return ""
	}
	return "on " + platforms[i] + ": "
}

// maxRewriteRounds bounds rewriteAll's search for a consistent rewrite;
// each round either fixes more objects everywhere or refuses more.
const maxRewriteRounds = 20

// rewriteAll rewrites the objects ids in every loaded platform, and makes
// the outcome the same everywhere: an object refused on one platform is
// refused on all, with every object rewritten together with it, and an
// object that one platform rewrites (because a map flows into it there) is
// rewritten on every platform that declares it. It returns one outcome per
// object and the rewrite of each platform.
func rewriteAll(progs []*load.Program, indexes []*rewrite.Index, cfg Config, wrapper rewrite.Wrapper, ids []string) ([]*rewrite.Object, []*rewrite.Result, error) {
	seeds := map[string]bool{}
	for _, id := range ids {
		seeds[id] = true
	}
	refused := map[string]string{} // refused anywhere: why
	seen := map[string]*rewrite.Object{}
	for round := 0; round < maxRewriteRounds; round++ {
		var todo []string
		for id := range seeds {
			if refused[id] == "" {
				todo = append(todo, id)
			}
		}
		sort.Strings(todo)
		rws := make([]*rewrite.Result, len(progs))
		for i, prog := range progs {
			rw, err := rewrite.Rewrite(rewrite.Config{
				Fset:          prog.Fset,
				Packages:      prog.Packages,
				Wrapper:       wrapper,
				ModuleDir:     prog.Module.Dir,
				Generated:     cfg.Generated,
				KeepAPI:       cfg.KeepAPI,
				IgnoreMissing: len(progs) > 1,
				Index:         indexes[i],
				// --list needs to know what would be fixed, not the
				// new files; with several platforms they are compared.
				PlanOnly: cfg.FindingsOnly && len(progs) == 1,
			}, todo)
			if err != nil {
				return nil, nil, fmt.Errorf("%s%w", platformPrefix(cfg.Platforms, i), err)
			}
			rws[i] = rw
		}
		if len(progs) == 1 {
			return rws[0].Objects, rws, nil
		}
		for i, rw := range rws {
			for _, o := range rw.Objects {
				if seen[o.ID] == nil {
					seen[o.ID] = o
				}
				if !o.Fixed && refused[o.ID] == "" {
					refused[o.ID] = platformPrefix(cfg.Platforms, i) + o.Refusal
				}
			}
		}
		stable := true
		handled := make([]map[string]bool, len(rws))
		for i, rw := range rws {
			handled[i] = map[string]bool{}
			for _, id := range rw.Missing {
				handled[i][id] = true
			}
			for _, o := range rw.Objects {
				handled[i][o.ID] = true
			}
		}
		for _, rw := range rws {
			for _, o := range rw.Objects {
				if !o.Fixed {
					continue
				}
				if why := refused[o.ID]; why != "" {
					// Fixed here, refused elsewhere: refuse the group.
					for _, m := range o.Members {
						if refused[m] == "" {
							refused[m] = fmt.Sprintf("rewritten together with %s, which is not fixed: %s", o.Name, why)
						}
					}
					stable = false
					continue
				}
				seeds[o.ID] = true
				for i := range rws {
					if !handled[i][o.ID] {
						stable = false // another platform must rewrite it too
					}
				}
			}
		}
		if stable {
			return platformObjects(rws, seen, refused), rws, nil
		}
	}
	return nil, nil, fmt.Errorf("internal error: no rewrite consistent across platforms %s after %d rounds; exclude the maps involved with --exclude", strings.Join(cfg.Platforms, ", "), maxRewriteRounds)
}

// platformObjects returns one outcome per object of a rewrite made on
// several platforms: refused if any platform refused it in any round (the
// last round leaves refused objects out), otherwise the last round's
// outcome on the first platform that has it.
func platformObjects(rws []*rewrite.Result, seen map[string]*rewrite.Object, refused map[string]string) []*rewrite.Object {
	final := map[string]*rewrite.Object{}
	for _, rw := range rws {
		for _, o := range rw.Objects {
			if final[o.ID] == nil {
				final[o.ID] = o
			}
		}
	}
	var objs []*rewrite.Object
	for _, id := range slices.Sorted(maps.Keys(seen)) {
		o := final[id]
		if why := refused[id]; why != "" || o == nil {
			c := *seen[id]
			c.Fixed, c.Refusal, c.Notes = false, why, nil
			o = &c
		}
		objs = append(objs, o)
	}
	return objs
}

// mergeFiles joins the changed files of every platform. A file that
// several platforms include must be rewritten alike by all of them,
// including those that would leave it unchanged.
func mergeFiles(progs []*load.Program, rws []*rewrite.Result, platforms []string) ([]FileChange, error) {
	byPath := map[string]FileChange{}
	changedOn := map[string][]int{}
	for i, rw := range rws {
		for _, f := range rw.Files {
			if prev, ok := byPath[f.Path]; ok && !bytes.Equal(prev.New, f.New) {
				return nil, inconsistent(f.Path, platforms[changedOn[f.Path][0]], platforms[i])
			}
			byPath[f.Path] = FileChange{Path: f.Path, Old: f.Old, New: f.New}
			changedOn[f.Path] = append(changedOn[f.Path], i)
		}
	}
	for i, prog := range progs {
		for _, p := range prog.Packages {
			for _, name := range p.CompiledGoFiles {
				if on, ok := changedOn[name]; ok && !slices.Contains(on, i) {
					return nil, inconsistent(name, platforms[on[0]], platforms[i])
				}
			}
		}
	}
	var files []FileChange
	for _, path := range slices.Sorted(maps.Keys(byPath)) {
		files = append(files, byPath[path])
	}
	return files, nil
}

func inconsistent(path, a, b string) error {
	return fmt.Errorf("internal error: %s is rewritten differently on %s and on %s; run safemapfix once per platform, or exclude the maps used there with --exclude", path, a, b)
}

// findings gathers findings from static detection, the user's choice and
// extra sources on every platform, one per object, dropping those declared
// in generated files (among them the placed safe map package itself).
func findings(progs []*load.Program, cfg Config) ([]detect.Finding, error) {
	var all []detect.Finding
	generated := map[string]bool{}
	only := platformNames(progs, cfg.Only)
	exclude := platformNames(progs, cfg.Exclude)
	for i, prog := range progs {
		pcfg := cfg
		pcfg.Only, pcfg.Exclude = only[i], exclude[i]
		fs, err := platformFindings(prog, pcfg)
		if err != nil {
			return nil, fmt.Errorf("%s%w", platformPrefix(cfg.Platforms, i), err)
		}
		all = append(all, fs...)
		maps.Copy(generated, generatedFiles(prog))
	}
	return onePerObject(all, generated), nil
}

// onePerObject keeps one finding per object, in declaration order,
// dropping those declared in generated files.
func onePerObject(all []detect.Finding, generated map[string]bool) []detect.Finding {
	seen := map[string]int{}
	var out []detect.Finding
	for _, f := range all {
		if generated[f.Decl.Filename] {
			continue
		}
		if i, ok := seen[f.ID]; ok {
			// The same object from two sources or platforms: keep the
			// stronger, and a race the code has over one only its
			// tests have.
			if f.Confidence > out[i].Confidence || f.Confidence == out[i].Confidence && out[i].TestOnly && !f.TestOnly {
				out[i] = f
			}
			continue
		}
		seen[f.ID] = len(out)
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return positionLess(out[i].Decl, out[j].Decl) })
	return out
}

// platformNames gives each platform the names (--only, --exclude) of the
// objects it declares: a map declared in a Windows file exists only when
// Windows is loaded. A name no platform declares goes to every platform,
// whose lookup reports it with the names it may have meant.
func platformNames(progs []*load.Program, names []string) [][]string {
	out := make([][]string, len(progs))
	if len(progs) == 1 || len(names) == 0 {
		for i := range out {
			out[i] = names
		}
		return out
	}
	declared := make([]map[string]detect.Declared, len(progs))
	for i, prog := range progs {
		declared[i] = detect.MapObjects(prog.Packages)
	}
	for _, name := range names {
		var in []int
		for i := range progs {
			if _, ok := declared[i][name]; ok {
				in = append(in, i)
			}
		}
		if len(in) == 0 {
			for i := range progs {
				in = append(in, i)
			}
		}
		for _, i := range in {
			out[i] = append(out[i], name)
		}
	}
	return out
}

// platformFindings gathers the findings of one loaded platform.
func platformFindings(prog *load.Program, cfg Config) ([]detect.Finding, error) {
	var all []detect.Finding
	switch {
	case !cfg.NoStatic:
		fs, err := detect.Find(prog.Fset, prog.Packages, detect.Options{Only: cfg.Only, Exclude: cfg.Exclude})
		if err != nil {
			return nil, err
		}
		all = append(all, fs...)
	case len(cfg.Only) > 0:
		fs, err := onlyFindings(prog, cfg.Only)
		if err != nil {
			return nil, err
		}
		all = append(all, fs...)
	}
	if cfg.Extra != nil {
		fs, err := cfg.Extra(prog)
		if err != nil {
			return nil, err
		}
		excluded := map[string]bool{}
		for _, n := range cfg.Exclude {
			excluded[n] = true
		}
		for _, f := range fs {
			if !excluded[f.Name] {
				all = append(all, f)
			}
		}
	}
	return all, nil
}

// onlyFindings turns the objects the user named into findings.
func onlyFindings(prog *load.Program, names []string) ([]detect.Finding, error) {
	decls, err := detect.Lookup(prog.Packages, names)
	if err != nil {
		return nil, err
	}
	var fs []detect.Finding
	for _, d := range decls {
		fs = append(fs, detect.Finding{
			Object:     d.Object,
			ID:         load.ObjectID(prog.Fset, d.Object),
			Name:       detect.ObjectName(d.Pkg.Types, d.File, d.Object),
			Decl:       prog.Fset.Position(d.Object.Pos()),
			Kind:       detect.Race,
			Confidence: detect.Proven,
			Reason:     "named with --only",
			Source:     "only",
		})
	}
	return fs, nil
}

// concerning keeps the findings whose declaration or evidence lies in one
// of files: with file arguments (a pre-commit hook) only what the files
// touch is reported and fixed.
func concerning(fs []detect.Finding, files []string) []detect.Finding {
	named := map[string]bool{}
	for _, f := range files {
		named[f] = true
	}
	var out []detect.Finding
	for _, f := range fs {
		keep := named[f.Decl.Filename]
		for _, a := range f.Pair {
			keep = keep || named[a.Pos.Filename]
		}
		if keep {
			out = append(out, f)
		}
	}
	return out
}

func generatedFiles(prog *load.Program) map[string]bool {
	gen := map[string]bool{}
	for _, p := range prog.Packages {
		for _, f := range p.Syntax {
			if ast.IsGenerated(f) {
				gen[prog.Fset.File(f.Pos()).Name()] = true
			}
		}
	}
	return gen
}

func positionLess(a, b token.Position) bool {
	if a.Filename != b.Filename {
		return a.Filename < b.Filename
	}
	if a.Line != b.Line {
		return a.Line < b.Line
	}
	return a.Column < b.Column
}

// merge joins the findings with the rewrite's outcome per object. Objects
// that the rewrite reached through a finding (aliases, other fields the map
// flows into) are not listed on their own.
func merge(fs []detect.Finding, objs []*rewrite.Object, min detect.Confidence) []Finding {
	byID := map[string]*rewrite.Object{}
	for _, o := range objs {
		byID[o.ID] = o
	}
	var out []Finding
	for _, f := range fs {
		r := Finding{Finding: f}
		if f.Confidence < min {
			r.Below = true
			out = append(out, r)
			continue
		}
		// A map left to its tests is still rewritten when another
		// object's rewrite takes it along (a map of the code flows into
		// it).
		if o, ok := byID[f.ID]; ok {
			r.Fixed = o.Fixed
			r.Refusal = o.Refusal
			r.Group = o.Group
			r.Notes = o.Notes
		} else if leftToTests(f) {
			r.LeftToTests = true
			r.Refusal = testsRefusal(f)
		}
		out = append(out, r)
	}
	return out
}

// leftToTests reports whether f is a race only accesses in test files
// have, which static detection found and no one asked to fix by name: the
// map is left alone, since the code around it is right and the tests are
// what needs the fix.
func leftToTests(f detect.Finding) bool {
	return f.TestOnly && f.Source == "static"
}

// testsRefusal says why a race only tests have is not fixed, and what to
// do instead.
func testsRefusal(f detect.Finding) string {
	msg := "only test code races on it: outside _test.go files every access is synchronised"
	var inTests, inCode []detect.Access
	for _, a := range f.Pair {
		if strings.HasSuffix(a.Pos.Filename, "_test.go") {
			inTests = append(inTests, a)
		} else {
			inCode = append(inCode, a)
		}
	}
	switch {
	case len(inTests) == 1 && len(inCode) == 1 && len(inCode[0].Locks) > 0:
		msg += fmt.Sprintf("; the code's %s at %s holds %s, the test's %s at %s none of them: take the lock in the test",
			inCode[0].Op, inCode[0].Pos, someLocks(inCode[0].Locks), inTests[0].Op, inTests[0].Pos)
		if inTests[0].Write {
			msg += " (Lock, since it writes)"
		}
	case len(inTests) == 1 && len(inCode) == 1:
		msg += fmt.Sprintf("; the test's %s at %s runs while the code's %s at %s may: make the test wait for the goroutines it started",
			inTests[0].Op, inTests[0].Pos, inCode[0].Op, inCode[0].Pos)
	default:
		var at []string
		for _, a := range inTests {
			at = append(at, a.Pos.String())
		}
		msg += "; synchronise the tests' accesses at " + strings.Join(at, " and ")
	}
	return msg + ", or rewrite the map anyway with --only " + f.Name
}

// someLocks names the first few of locks, which a deep call path can make
// long.
func someLocks(locks []string) string {
	const shown = 3
	if len(locks) <= shown {
		return strings.Join(locks, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(locks[:shown], ", "), len(locks)-shown)
}

// minGoVersion is the oldest go line in go.mod under which the placed safe
// map package compiles (range-over-func iterators and
// hash/maphash.Comparable).
const minGoVersion = "1.24"

// wrapperFor decides which safe map package rewritten code imports, and
// returns the files of the copy to place in the module when it is the
// default one.
func wrapperFor(mod *packages.Module, cfg Config) (rewrite.Wrapper, []FileChange, error) {
	if cfg.WrapperImport != "" {
		name := cfg.WrapperImport[strings.LastIndex(cfg.WrapperImport, "/")+1:]
		if name == "wrapper" {
			name = "safemap"
		}
		return rewrite.Wrapper{Path: cfg.WrapperImport, Name: name}, nil, nil
	}
	if v := mod.GoVersion; v != "" && semver.Compare("v"+v, "v"+minGoVersion) < 0 {
		return rewrite.Wrapper{}, nil, fmt.Errorf("%s: module %s declares go %s, but the safe map needs go %s or later; change the go line in go.mod to %s (or newer) and run safemapfix again, or pass --wrapper-import with a copy that builds under go %s",
			mod.GoMod, mod.Path, v, minGoVersion, minGoVersion, v)
	}
	files, err := placeWrapper(mod.Dir, cfg.Version)
	if err != nil {
		return rewrite.Wrapper{}, nil, err
	}
	return rewrite.Wrapper{Path: mod.Path + "/" + wrapperDir, Name: "safemap"}, files, nil
}

// typeCheck type-checks the rewritten packages and their importers with
// the new sources and fails when any of them does not type-check, so that
// nothing is written from a rewrite that would not compile.
func typeCheck(prog *load.Program, cfg Config, files []FileChange) error {
	contents := map[string][]byte{}
	for _, f := range files {
		contents[f.Path] = f.New
	}
	err := check.Check(check.Config{
		Fset:     prog.Fset,
		Packages: prog.Packages,
		Module:   prog.Module,
		Files:    contents,
		Tags:     cfg.Tags,
	})
	if err != nil {
		return fmt.Errorf("internal error: the rewritten code does not type-check, so nothing was written; please report this with the code involved:\n\t%s",
			strings.ReplaceAll(err.Error(), "\n", "\n\t"))
	}
	return nil
}
