// Package load is the one place where safemapfix calls go/packages.
//
// It loads the requested packages (patterns or file arguments) with syntax and
// full type information, together with their tests, and reduces the result to
// a list of rewrite units: one package per set of files, so that every source
// file is analysed and rewritten exactly once. Packages with load, syntax or
// type errors make the whole load fail, with every error in
// file:line:col: message form, because nothing may be rewritten from a
// partial view of the code.
package load

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"golang.org/x/tools/go/packages"
)

// Config says what to load.
type Config struct {
	// Dir is the directory in which patterns are resolved; it must be inside
	// the module to analyse. Empty means the current directory.
	Dir string
	// Patterns are package patterns (./..., example.com/p) or .go file
	// paths. Empty means ./... .
	Patterns []string
	// Tests includes _test.go files. Uses of a map in tests must be
	// rewritten with the map, so callers almost always want this.
	Tests bool
	// Tags are build tags, passed to the go command as -tags.
	Tags []string
	// Env is the environment of the go command; nil means os.Environ().
	Env []string

	// moduleFlags are the module flags Load moved out of GOFLAGS.
	moduleFlags []string
}

// Program is the loaded code.
type Program struct {
	Fset *token.FileSet
	// Packages are the rewrite units: each file belongs to exactly one of
	// them. A package with in-package tests appears once, as its test
	// variant. Sorted by package path, then ID.
	Packages []*packages.Package
	// Module is the main module, or nil when the code is outside any module.
	Module *packages.Module
	// Files are the file arguments, as absolute paths, when the patterns
	// named files; empty when they named packages. With file arguments the
	// packages of the module that hold them or import those are loaded.
	Files []string
}

// Mode is the go/packages load mode safemapfix needs: syntax and types of
// the requested packages, with dependencies type-checked from export data.
// The export files cost nothing more (the go command produces them for the
// dependencies anyway); the check of rewritten code reads the declarations
// of dependencies from them.
const Mode = packages.NeedName | packages.NeedFiles | packages.NeedCompiledGoFiles |
	packages.NeedImports | packages.NeedSyntax | packages.NeedTypes |
	packages.NeedTypesInfo | packages.NeedTypesSizes | packages.NeedModule |
	packages.NeedExportFile

// Load loads the packages that cfg names. The error, if any, lists every
// problem found, each naming its file.
func Load(cfg Config) (*Program, error) {
	dir := cfg.Dir
	if dir == "" {
		dir = "."
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("resolve directory %s: %w", dir, err)
	}
	patterns, files, err := queries(absDir, cfg.Patterns)
	if err != nil {
		return nil, err
	}
	cfg.Env, cfg.moduleFlags = liftModuleFlags(cfg.Env, absDir)
	if len(files) > 0 {
		// A race needs two accesses, which may lie in files that were not
		// named: analyse the named files' packages and every package of
		// the module that imports them, and let the caller report only
		// what concerns the named files.
		root, err := moduleRoot(filepath.Dir(files[0]))
		if err != nil {
			return nil, err
		}
		for _, f := range files[1:] {
			other, err := moduleRoot(filepath.Dir(f))
			if err != nil {
				return nil, err
			}
			if other != root {
				return nil, fmt.Errorf("%s and %s are in different modules (%s and %s); run safemapfix once per module", files[0], f, root, other)
			}
		}
		var module *packages.Module
		patterns, module, err = importerDirs(root, files, cfg)
		if err != nil {
			return nil, err
		}
		if len(patterns) == 0 {
			// No named file belongs to a package (they are test data,
			// say): there is nothing to analyse.
			return &Program{Fset: token.NewFileSet(), Module: module, Files: files}, nil
		}
		absDir = root
	}
	fset := token.NewFileSet()
	pcfg := &packages.Config{
		Mode:       Mode,
		Dir:        absDir,
		Fset:       fset,
		Tests:      cfg.Tests,
		Env:        cfg.Env,
		ParseFile:  parseFile,
		BuildFlags: buildFlags(cfg),
	}
	pkgs, err := packages.Load(pcfg, patterns...)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", strings.Join(patterns, " "), err)
	}
	if err := packageErrors(pkgs); err != nil {
		return nil, err
	}
	units := Units(pkgs)
	dropUnusedInfo(pkgs, units)
	if len(units) == 0 {
		if err := listProblem(pcfg, patterns); err != nil {
			return nil, err
		}
		msg := "no Go packages match " + strings.Join(cfg.Patterns, " ")
		if !slices.Contains(cfg.Patterns, "./...") {
			msg += "\n\nTo analyse the module in the current directory, run: safemapfix ./..."
		}
		return nil, errors.New(msg)
	}
	prog := &Program{Fset: fset, Packages: units, Files: files}
	for _, p := range units {
		if p.Module != nil && p.Module.Main {
			prog.Module = p.Module
			break
		}
	}
	return prog, nil
}

// dropUnusedInfo frees the type information of the packages checked from
// source that are not units: a package whose test variant replaces it, and
// variants recompiled for another package's test. Their types stay, since
// the units that import them refer to them, and so does their syntax,
// which the check of rewritten code reuses; but nothing reads their
// types.Info, which on a module with large tested packages is a tenth of
// the heap.
func dropUnusedInfo(pkgs []*packages.Package, units []*packages.Package) {
	keep := make(map[*packages.Package]bool, len(units))
	for _, u := range units {
		keep[u] = true
	}
	packages.Visit(pkgs, nil, func(p *packages.Package) {
		if !keep[p] {
			p.TypesInfo = nil
		}
	})
}

// listProblem returns what stops the go command from listing the
// patterns, or nil. go/packages reports some problems of the module as a
// whole (a go.mod that needs updating, say) as no packages at all, which
// would read as a pattern that matches nothing; go list -find, which
// resolves no dependency, says what is wrong.
func listProblem(pcfg *packages.Config, patterns []string) error {
	args := append([]string{"list", "-find"}, pcfg.BuildFlags...)
	args = append(append(args, "--"), patterns...)
	cmd := exec.Command("go", args...)
	cmd.Dir, cmd.Env = pcfg.Dir, pcfg.Env
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Run(); err == nil {
		return nil
	}
	msg := strings.TrimSpace(stderr.String())
	if msg == "" {
		msg = "go list failed with no message"
	}
	return fmt.Errorf("the go command cannot list %s; fix what it says and run safemapfix again:\n\t%s",
		strings.Join(patterns, " "), strings.ReplaceAll(msg, "\n", "\n\t"))
}

// buildFlags are the go command flags cfg asks for.
func buildFlags(cfg Config) []string {
	flags := cfg.moduleFlags
	if len(cfg.Tags) > 0 {
		flags = append(flags[:len(flags):len(flags)], "-tags="+strings.Join(cfg.Tags, ","))
	}
	return flags
}

// ParseMode is how safemapfix parses Go files: as go/packages does by
// default, but without the parser's deprecated object resolution
// (ast.Object, ast.Scope), which nothing here reads: go/types, SSA and the
// rewrite use types.Info. It saves a pass over every file and about a
// tenth of the syntax's memory. The check of rewritten code parses the
// same way.
const ParseMode = parser.AllErrors | parser.ParseComments | parser.SkipObjectResolution

func parseFile(fset *token.FileSet, filename string, src []byte) (*ast.File, error) {
	return parser.ParseFile(fset, filename, src, ParseMode)
}

// queries turns file arguments into go/packages file= queries, so that a
// pre-commit hook can pass the files it was given.
func queries(dir string, args []string) (patterns, files []string, err error) {
	if len(args) == 0 {
		return []string{"./..."}, nil, nil
	}
	for _, a := range args {
		if !strings.HasSuffix(a, ".go") {
			patterns = append(patterns, a)
			continue
		}
		path := a
		if !filepath.IsAbs(path) {
			path = filepath.Join(dir, path)
		}
		if _, err := os.Stat(path); err != nil {
			return nil, nil, fmt.Errorf("%s: %w\n\nPass package patterns (./...) or existing .go files", a, err)
		}
		patterns = append(patterns, "file="+path)
		files = append(files, path)
	}
	return patterns, files, nil
}

// moduleRoot returns the directory of the go.mod that governs dir.
func moduleRoot(dir string) (string, error) {
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("%s is not inside a Go module (no go.mod above it)", dir)
		}
	}
}

// packageErrors collects the errors of every loaded package, including
// dependencies, in a stable order: first what the go command reports (a
// package no module provides, a bad import path) and syntax errors, then
// type errors. When the go command could not provide a package, the type
// errors "could not import" that follow from it are left out: they name
// the consequence, and the go command's own message says what to do.
func packageErrors(pkgs []*packages.Package) error {
	seen := map[string]bool{}
	var first, types, imports []string
	packages.Visit(pkgs, nil, func(p *packages.Package) {
		for _, e := range p.Errors {
			msg := e.Msg
			if e.Pos != "" && e.Pos != "-" {
				msg = e.Pos + ": " + msg
			} else {
				msg = p.PkgPath + ": " + msg
			}
			if seen[msg] {
				continue
			}
			seen[msg] = true
			switch {
			case e.Kind != packages.TypeError:
				first = append(first, msg)
			case strings.Contains(e.Msg, "could not import "):
				imports = append(imports, msg)
			default:
				types = append(types, msg)
			}
		}
	})
	if len(first) == 0 {
		types = append(types, imports...)
	}
	if len(first)+len(types) == 0 {
		return nil
	}
	sort.Strings(first)
	sort.Strings(types)
	return &Error{Messages: append(first, types...)}
}

// Error reports packages that could not be loaded or type-checked.
type Error struct {
	Messages []string
}

func (e *Error) Error() string {
	// A message of several lines (the go command's "to add it:" and the
	// command to run) stays indented under its first line.
	msgs := make([]string, len(e.Messages))
	for i, m := range e.Messages {
		lines := strings.Split(strings.TrimRight(m, "\n"), "\n")
		for j := 1; j < len(lines); j++ {
			lines[j] = strings.TrimSpace(lines[j])
		}
		msgs[i] = strings.Join(lines, "\n\t\t")
	}
	return "the code does not load or type-check; fix these errors and run safemapfix again:\n\t" +
		strings.Join(msgs, "\n\t")
}

// Units reduces a go/packages result loaded with Tests to one package per
// set of files: the test variant "p [p.test]" replaces "p", external test
// packages "p_test [p.test]" are kept, and test mains and the variants of
// other packages recompiled for a test are dropped.
func Units(pkgs []*packages.Package) []*packages.Package {
	hasTestVariant := map[string]bool{}
	for _, p := range pkgs {
		if variantOf(p) == p.PkgPath {
			hasTestVariant[p.PkgPath] = true
		}
	}
	var units []*packages.Package
	for _, p := range pkgs {
		if p.Name == "main" && p.ID == p.PkgPath && strings.HasSuffix(p.ID, ".test") {
			continue // the generated main of a test binary
		}
		switch v := variantOf(p); {
		case v == "":
			if hasTestVariant[p.PkgPath] {
				continue
			}
		case v == p.PkgPath, v+"_test" == p.PkgPath:
		default:
			continue
		}
		units = append(units, p)
	}
	sort.Slice(units, func(i, j int) bool {
		if units[i].PkgPath != units[j].PkgPath {
			return units[i].PkgPath < units[j].PkgPath
		}
		return units[i].ID < units[j].ID
	})
	return units
}

// variantOf returns "p" for a package with ID "x [p.test]", or "" for a
// package that is not a test variant.
func variantOf(p *packages.Package) string {
	i := strings.Index(p.ID, " [")
	if i < 0 || !strings.HasSuffix(p.ID, ".test]") {
		return ""
	}
	return strings.TrimSuffix(p.ID[i+2:], ".test]")
}

// ObjectID names an object by its declaring position, "file:line:col". The
// same declaration seen through different packages (a package and its test
// variant, or an importer that sees it through another variant) has
// different types.Object values but one ObjectID.
func ObjectID(fset *token.FileSet, obj types.Object) string {
	return fset.Position(obj.Pos()).String()
}
