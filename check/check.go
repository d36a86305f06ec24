// Package check type-checks rewritten sources in memory, so that nothing is
// written from a rewrite that would not compile.
//
// It checks again, with go/types and in this process, every package that
// holds a changed file and every package that imports one of those, directly
// or not, reusing the syntax and types already loaded for everything else.
// Asking the go command to load the packages again with the new sources as
// an overlay gives the same answer, but an overlay invalidates the build
// cache of every changed package and its importers, so the go command
// compiles them all again: on a large module that costs several times the
// first load.
package check

import (
	"errors"
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"go/types"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/tools/go/gcexportdata"
	"golang.org/x/tools/go/packages"

	"github.com/safemapfix/safemapfix/load"
)

// Config says what to check.
type Config struct {
	Fset *token.FileSet
	// Packages are the loaded packages (the rewrite units), loaded with
	// types and export files; the packages they import are reached through
	// their Imports.
	Packages []*packages.Package
	// Module is the main module: files in a directory that holds no loaded
	// package form a new package of it (the placed safe map package).
	Module *packages.Module
	// Files holds the new content of every changed or created file, by
	// absolute path.
	Files map[string][]byte
	// Tags are the build tags the packages were loaded with.
	Tags []string
}

// Error lists the problems found, each as file:line:col: message.
type Error struct {
	Messages []string
}

func (e *Error) Error() string {
	return strings.Join(e.Messages, "\n")
}

// Check type-checks the packages that cfg.Files change, and their
// importers, with the new contents. It returns an *Error when any of them
// does not parse or type-check.
//
// Check completes, from export data, loaded packages of which only the
// declarations other packages mention were read; it must not run while
// anything else uses the loaded types.
func Check(cfg Config) error {
	if len(cfg.Files) == 0 {
		return nil
	}
	c := newChecker(cfg)
	affected := c.affected()
	c.prepare(affected)
	if len(c.errors) == 0 {
		c.checkAll(affected)
	}
	if len(c.errors) == 0 {
		return nil
	}
	sort.Strings(c.errors)
	return &Error{Messages: slices.Compact(c.errors)}
}

// checker holds the state of one Check.
type checker struct {
	cfg Config
	// all are the loaded packages and everything they import.
	all []*packages.Package
	// byPath holds, for each package path, the loaded package that code
	// importing that path outside a test sees.
	byPath map[string]*packages.Package
	// rechecked holds a result for each package that is checked again.
	rechecked map[*packages.Package]*result
	// parsed holds the syntax of the changed files.
	parsed map[string]*ast.File
	// imported holds the packages that were not loaded but are imported by
	// new code (the placed safe map package, what it imports), checked
	// from source, by import path.
	imported map[string]*types.Package
	// created holds the import paths of the packages the rewrite creates.
	created map[string]bool
	ctxt    build.Context

	mu     sync.Mutex // guards errors while packages are checked in parallel
	errors []string
}

type result struct {
	done  chan struct{}
	types *types.Package
}

// errReported is the error of an import whose own errors are reported.
var errReported = errors.New("does not type-check")

func newChecker(cfg Config) *checker {
	c := &checker{
		cfg:       cfg,
		byPath:    map[string]*packages.Package{},
		rechecked: map[*packages.Package]*result{},
		parsed:    map[string]*ast.File{},
		imported:  map[string]*types.Package{},
		created:   map[string]bool{},
		ctxt:      build.Default,
	}
	c.ctxt.BuildTags = cfg.Tags
	// Packages that were not loaded are checked from their pure Go files:
	// only their declarations matter to the code that imports them.
	c.ctxt.CgoEnabled = false
	packages.Visit(cfg.Packages, nil, func(p *packages.Package) {
		c.all = append(c.all, p)
		if prev, ok := c.byPath[p.PkgPath]; !ok || isVariant(prev) && !isVariant(p) {
			c.byPath[p.PkgPath] = p
		}
	})
	return c
}

// isVariant reports whether p is a package recompiled for a test,
// "p [q.test]".
func isVariant(p *packages.Package) bool {
	return strings.Contains(p.ID, " [")
}

// affected returns the packages holding a changed file and their importers,
// and prepares a result for each.
func (c *checker) affected() []*packages.Package {
	importers := map[*packages.Package][]*packages.Package{}
	var queue []*packages.Package
	for _, p := range c.all {
		for _, dep := range p.Imports {
			importers[dep] = append(importers[dep], p)
		}
		if slices.ContainsFunc(p.GoFiles, c.changed) || slices.ContainsFunc(p.CompiledGoFiles, c.changed) {
			queue = append(queue, p)
		}
	}
	var out []*packages.Package
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if _, ok := c.rechecked[p]; ok {
			continue
		}
		c.rechecked[p] = &result{done: make(chan struct{})}
		out = append(out, p)
		queue = append(queue, importers[p]...)
	}
	return out
}

func (c *checker) changed(name string) bool {
	_, ok := c.cfg.Files[name]
	return ok
}

// prepare does, one at a time, everything that creates or changes shared
// types, so that the packages can then be checked in parallel: it parses
// the changed files, completes the loaded packages the checks will import,
// and checks the packages that new imports name.
func (c *checker) prepare(affected []*packages.Package) {
	names := make([]string, 0, len(c.cfg.Files))
	for name := range c.cfg.Files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !strings.HasSuffix(name, ".go") {
			continue
		}
		f, err := parser.ParseFile(c.cfg.Fset, name, c.cfg.Files[name], load.ParseMode)
		if err != nil {
			c.errors = append(c.errors, err.Error())
			continue
		}
		c.parsed[name] = f
	}
	c.findCreated()
	for _, p := range affected {
		for _, dep := range p.Imports {
			if _, ok := c.rechecked[dep]; !ok {
				c.complete(dep)
			}
		}
		for _, name := range p.CompiledGoFiles {
			f := c.parsed[name]
			if f == nil {
				continue
			}
			for _, spec := range f.Imports {
				path, err := strconv.Unquote(spec.Path.Value)
				if err != nil || path == "C" || p.Imports[path] != nil {
					continue
				}
				c.importNew(path, filepath.Dir(name))
			}
		}
	}
	for _, path := range slices.Sorted(maps.Keys(c.created)) {
		c.importNew(path, "")
	}
}

// findCreated records the packages of changed files that belong to no
// loaded package.
func (c *checker) findCreated() {
	known := map[string]bool{}
	for _, p := range c.all {
		for _, name := range p.GoFiles {
			known[name] = true
		}
		for _, name := range p.CompiledGoFiles {
			known[name] = true
		}
	}
	for name := range c.parsed {
		if known[name] || strings.HasSuffix(name, "_test.go") || c.cfg.Module == nil {
			continue
		}
		rel, err := filepath.Rel(c.cfg.Module.Dir, filepath.Dir(name))
		if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			c.errors = append(c.errors, fmt.Sprintf("%s: a new file outside the module %s", name, c.cfg.Module.Dir))
			continue
		}
		path := c.cfg.Module.Path
		if rel != "." {
			path += "/" + filepath.ToSlash(rel)
		}
		c.created[path] = true
	}
}

// complete reads the export data of a loaded package of which only the
// declarations mentioned by other packages' export data were read, into
// the same types.Package, so that every type stays identical.
func (c *checker) complete(p *packages.Package) {
	if p.Types == nil || p.Types.Complete() || p.Types == types.Unsafe {
		return
	}
	if p.ExportFile == "" {
		c.errors = append(c.errors, fmt.Sprintf("%s: no export data to check the packages that import it", p.PkgPath))
		return
	}
	view := map[string]*types.Package{p.PkgPath: p.Types}
	var visit func(map[string]*packages.Package)
	visit = func(imports map[string]*packages.Package) {
		for _, dep := range imports {
			if _, ok := view[dep.PkgPath]; !ok && dep.Types != nil {
				view[dep.PkgPath] = dep.Types
				visit(dep.Imports)
			}
		}
	}
	visit(p.Imports)
	f, err := os.Open(p.ExportFile)
	if err != nil {
		c.errors = append(c.errors, fmt.Sprintf("%s: %v", p.PkgPath, err))
		return
	}
	defer f.Close()
	r, err := gcexportdata.NewReader(f)
	if err == nil {
		_, err = gcexportdata.Read(r, c.cfg.Fset, view, p.PkgPath)
	}
	if err != nil {
		c.errors = append(c.errors, fmt.Sprintf("%s: read export data %s: %v", p.PkgPath, p.ExportFile, err))
	}
}

// importNew resolves an import path that the loaded package importing it
// did not import: to the loaded package of that path, completed, or to the
// package checked from source. Function bodies are checked only for the
// packages the rewrite creates.
func (c *checker) importNew(path, srcDir string) (*types.Package, error) {
	if path == "unsafe" {
		return types.Unsafe, nil
	}
	if p, ok := c.byPath[path]; ok && p.Types != nil && !c.created[path] {
		c.complete(p)
		return p.Types, nil
	}
	if pkg, ok := c.imported[path]; ok {
		if pkg == nil {
			return nil, fmt.Errorf("import %s: %w", path, errReported)
		}
		return pkg, nil
	}
	c.imported[path] = nil // an import cycle ends here
	dir, files, err := c.sourceFiles(path, srcDir)
	if err != nil {
		c.errors = append(c.errors, err.Error())
		return nil, fmt.Errorf("import %s: %w", path, errReported)
	}
	own := c.created[path]
	failed := false
	conf := &types.Config{
		Importer:         importerFunc(func(p string) (*types.Package, error) { return c.importNew(p, dir) }),
		IgnoreFuncBodies: !own,
		Error: func(err error) {
			failed = true
			c.errors = append(c.errors, err.Error())
		},
	}
	if own && c.cfg.Module.GoVersion != "" {
		conf.GoVersion = "go" + c.cfg.Module.GoVersion
	}
	pkg, _ := conf.Check(path, c.cfg.Fset, files, nil)
	if failed {
		return nil, fmt.Errorf("import %s: %w", path, errReported)
	}
	c.imported[path] = pkg
	return pkg, nil
}

// sourceFiles returns the syntax of the non-test Go files of the package
// path, which was not loaded: new files of a package the rewrite creates,
// and the files on disk that match the build context.
func (c *checker) sourceFiles(path, srcDir string) (dir string, files []*ast.File, err error) {
	var names []string
	if c.created[path] {
		for name := range c.parsed {
			if !strings.HasSuffix(name, "_test.go") && c.packagePath(filepath.Dir(name)) == path {
				dir = filepath.Dir(name)
				names = append(names, name)
			}
		}
	} else {
		bp, err := c.ctxt.Import(path, srcDir, 0)
		if err != nil {
			return "", nil, fmt.Errorf("import %s: %w", path, err)
		}
		dir = bp.Dir
	}
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		return "", nil, fmt.Errorf("import %s: %w", path, err)
	}
	for _, e := range entries {
		name := filepath.Join(dir, e.Name())
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") || slices.Contains(names, name) {
			continue
		}
		if ok, err := c.ctxt.MatchFile(dir, e.Name()); err != nil || !ok {
			continue
		}
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		f, err := c.file(name, nil)
		if err != nil {
			return "", nil, err
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		return "", nil, fmt.Errorf("import %s: no Go files in %s", path, dir)
	}
	return dir, files, nil
}

// packagePath is the import path of a directory of the main module.
func (c *checker) packagePath(dir string) string {
	rel, err := filepath.Rel(c.cfg.Module.Dir, dir)
	if err != nil {
		return ""
	}
	if rel == "." {
		return c.cfg.Module.Path
	}
	return c.cfg.Module.Path + "/" + filepath.ToSlash(rel)
}

// checkAll checks the affected packages, each once the packages it imports
// are done, as many at a time as there are processors.
func (c *checker) checkAll(affected []*packages.Package) {
	var wg sync.WaitGroup
	limit := make(chan struct{}, runtime.GOMAXPROCS(0))
	for _, p := range affected {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := c.rechecked[p]
			defer close(r.done)
			for _, dep := range p.Imports {
				if d, ok := c.rechecked[dep]; ok {
					<-d.done
				}
			}
			limit <- struct{}{}
			defer func() { <-limit }()
			r.types = c.checkPackage(p)
		}()
	}
	wg.Wait()
}

// checkPackage type-checks p with the new contents and the new types of the
// packages it imports, and returns its new types.
func (c *checker) checkPackage(p *packages.Package) *types.Package {
	// A changed file that cgo processes cannot stand in for its processed
	// copy: check the original files, with references to C unchecked.
	fakeC := false
	names := p.CompiledGoFiles
	for _, name := range p.GoFiles {
		if c.changed(name) && !slices.Contains(p.CompiledGoFiles, name) {
			fakeC, names = true, p.GoFiles
			break
		}
	}
	loaded := map[string]*ast.File{}
	for _, f := range p.Syntax {
		loaded[c.cfg.Fset.File(f.Pos()).Name()] = f
	}
	var files []*ast.File
	for _, name := range names {
		f, err := c.file(name, loaded[name])
		if err != nil {
			c.report(err.Error())
			return nil
		}
		files = append(files, f)
	}
	failed := false
	conf := &types.Config{
		Importer:    importerFunc(func(path string) (*types.Package, error) { return c.importFor(p, path) }),
		Sizes:       p.TypesSizes,
		FakeImportC: fakeC,
		Error: func(err error) {
			failed = true
			c.report(err.Error())
		},
	}
	if p.Module != nil && p.Module.GoVersion != "" {
		conf.GoVersion = "go" + p.Module.GoVersion
	}
	pkg, _ := conf.Check(p.PkgPath, c.cfg.Fset, files, nil)
	if failed {
		return nil
	}
	return pkg
}

// file returns the syntax of the file name: its new content when it
// changed, the loaded syntax otherwise, or the file on disk for a package
// that was loaded from export data.
func (c *checker) file(name string, loaded *ast.File) (*ast.File, error) {
	if f, ok := c.parsed[name]; ok {
		return f, nil
	}
	if c.changed(name) {
		return nil, fmt.Errorf("%s: %w", name, errReported) // it did not parse
	}
	if loaded != nil {
		return loaded, nil
	}
	src, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return parser.ParseFile(c.cfg.Fset, name, src, load.ParseMode)
}

// importFor resolves an import of the package p while packages are checked
// in parallel: to the new types of a package checked again, to the loaded
// types otherwise, and to what prepare found for an import the rewrite
// added.
func (c *checker) importFor(p *packages.Package, path string) (*types.Package, error) {
	if path == "unsafe" {
		return types.Unsafe, nil
	}
	dep, ok := p.Imports[path]
	if !ok {
		if pkg := c.imported[path]; pkg != nil {
			return pkg, nil
		}
		if dep, ok = c.byPath[path]; !ok {
			return nil, fmt.Errorf("import %s: %w", path, errReported)
		}
	}
	if r, ok := c.rechecked[dep]; ok {
		<-r.done
		if r.types == nil {
			return nil, fmt.Errorf("import %s: %w", path, errReported)
		}
		return r.types, nil
	}
	return dep.Types, nil
}

func (c *checker) report(msg string) {
	c.mu.Lock()
	c.errors = append(c.errors, msg)
	c.mu.Unlock()
}

type importerFunc func(path string) (*types.Package, error)

func (f importerFunc) Import(path string) (*types.Package, error) { return f(path) }
