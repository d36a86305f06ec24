package load

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/tools/go/packages"
)

// importerDirs returns, as directory patterns relative to the module root,
// the packages of the module that file arguments need analysed: those whose
// directory holds a named file, and every package of the module that
// imports one of them, directly or not, from its code or its tests. Files
// outside any package (under testdata, say) need nothing. It also returns
// the main module.
//
// Only these packages can name a map declared in the named files' packages
// or start the goroutines that reach it through the named code, so a
// pre-commit run on a leaf package loads a few packages, not the module.
// The cost is one go list of the module without types, about a third of
// the full load on a large module.
func importerDirs(root string, files []string, cfg Config) ([]string, *packages.Module, error) {
	pcfg := &packages.Config{
		Mode:       packages.NeedName | packages.NeedFiles | packages.NeedImports | packages.NeedModule,
		Dir:        root,
		Tests:      cfg.Tests,
		Env:        cfg.Env,
		BuildFlags: buildFlags(cfg),
	}
	pkgs, err := packages.Load(pcfg, "./...")
	if err != nil {
		return nil, nil, fmt.Errorf("list the packages of %s: %w", root, err)
	}
	root = realPath(root)
	inModule := func(dir string) bool {
		rel, err := filepath.Rel(root, dir)
		return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
	}
	// importers maps a package directory to the directories of the
	// packages of the module that import it.
	importers := map[string][]string{}
	known := map[string]bool{}
	var module *packages.Module
	for _, p := range pkgs {
		dir := packageDir(p)
		if dir == "" || !inModule(dir) {
			continue // a test main, generated in the build cache
		}
		known[dir] = true
		if module == nil && p.Module != nil && p.Module.Main {
			module = p.Module
		}
		for _, imp := range p.Imports {
			if impDir := packageDir(imp); impDir != "" && impDir != dir && inModule(impDir) {
				importers[impDir] = append(importers[impDir], dir)
			}
		}
	}
	need := map[string]bool{}
	var queue []string
	for _, f := range files {
		dir := realPath(filepath.Dir(f))
		if known[dir] && !need[dir] {
			need[dir] = true
			queue = append(queue, dir)
		}
	}
	for len(queue) > 0 {
		dir := queue[0]
		queue = queue[1:]
		for _, imp := range importers[dir] {
			if !need[imp] {
				need[imp] = true
				queue = append(queue, imp)
			}
		}
	}
	patterns := make([]string, 0, len(need))
	for dir := range need {
		rel, err := filepath.Rel(root, dir)
		if err != nil {
			return nil, nil, err
		}
		patterns = append(patterns, "./"+filepath.ToSlash(rel))
	}
	sort.Strings(patterns)
	return patterns, module, nil
}

// packageDir is the directory of p's files, symbolic links resolved; empty
// when it has none.
func packageDir(p *packages.Package) string {
	for _, list := range [][]string{p.GoFiles, p.IgnoredFiles, p.OtherFiles} {
		if len(list) > 0 {
			return realPath(filepath.Dir(list[0]))
		}
	}
	return ""
}

// realPath resolves symbolic links in path, so that the directories the go
// command reports and those of the file arguments compare equal.
func realPath(path string) string {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		return real
	}
	return path
}
