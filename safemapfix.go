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
	"context"
	"fmt"
	"go/ast"
	"go/token"
	"path/filepath"
	"sort"
	"strings"

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
	prog, err := load.Load(load.Config{Dir: cfg.Dir, Patterns: cfg.Patterns, Tests: true, Tags: cfg.Tags})
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if prog.Module == nil {
		return nil, fmt.Errorf("the packages are not in a Go module; run safemapfix inside a module (a directory tree with go.mod)")
	}
	progress("detecting")
	findings, err := findings(prog, cfg)
	if err != nil {
		return nil, err
	}
	if len(prog.Files) > 0 {
		findings = concerning(findings, prog.Files)
	}
	res := &Result{ModuleDir: prog.Module.Dir, Named: prog.Files}
	var ids []string
	for _, f := range findings {
		if f.Confidence >= cfg.MinConfidence {
			ids = append(ids, f.ID)
		}
	}
	if len(ids) == 0 {
		for _, f := range findings {
			res.Findings = append(res.Findings, Finding{Finding: f, Below: true})
		}
		return res, nil
	}
	wrapper, placed, err := wrapperFor(prog.Module, cfg)
	if err != nil {
		return nil, err
	}
	progress("rewriting")
	rw, err := rewrite.Rewrite(rewrite.Config{
		Fset:      prog.Fset,
		Packages:  prog.Packages,
		Wrapper:   wrapper,
		ModuleDir: prog.Module.Dir,
		Generated: cfg.Generated,
		KeepAPI:   cfg.KeepAPI,
	}, ids)
	if err != nil {
		return nil, err
	}
	res.Findings = merge(findings, rw.Objects, cfg.MinConfidence)
	for _, f := range rw.Files {
		res.Files = append(res.Files, FileChange{Path: f.Path, Old: f.Old, New: f.New})
	}
	if len(res.Files) > 0 && cfg.WrapperImport == "" {
		res.Files = append(res.Files, placed...)
		res.WrapperDir = filepath.Join(prog.Module.Dir, filepath.FromSlash(wrapperDir))
	}
	progress("checking")
	if err := typeCheck(prog, cfg, res.Files); err != nil {
		return nil, err
	}
	return res, nil
}

// findings gathers findings from static detection, the user's choice and
// extra sources, one per object, dropping those declared in generated files
// (among them the placed safe map package itself).
func findings(prog *load.Program, cfg Config) ([]detect.Finding, error) {
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
	generated := generatedFiles(prog)
	seen := map[string]int{}
	var out []detect.Finding
	for _, f := range all {
		if generated[f.Decl.Filename] {
			continue
		}
		if i, ok := seen[f.ID]; ok {
			// The same object from two sources: keep the stronger.
			if f.Confidence > out[i].Confidence {
				out[i] = f
			}
			continue
		}
		seen[f.ID] = len(out)
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return positionLess(out[i].Decl, out[j].Decl) })
	return out, nil
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
		if o, ok := byID[f.ID]; ok {
			r.Fixed = o.Fixed
			r.Refusal = o.Refusal
			r.Group = o.Group
			r.Notes = o.Notes
		}
		out = append(out, r)
	}
	return out
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
