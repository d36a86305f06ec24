package racelog

import (
	"go/ast"
	"go/token"
	"path/filepath"
	"strings"

	"golang.org/x/tools/go/packages"
)

// loadedFile is a source file of a loaded package.
type loadedFile struct {
	path  string // absolute, slash-separated
	pkg   *packages.Package
	file  *ast.File
	parts []string // path elements, for suffix matching
	uses  map[int][]*mapUse
}

// fileIndex finds the loaded file that a file name printed in a stack
// refers to. Printed names may be absolute paths from another machine or
// checkout, -trimpath names ("example.com/mod/pkg/x.go") or names with a
// prefix stripped (GORACE=strip_path_prefix), so files are matched by the
// longest common path suffix, and ties are broken by the package of the
// frame's function.
type fileIndex struct {
	fset   *token.FileSet
	byBase map[string][]*loadedFile
	byAST  map[*ast.File]*loadedFile
}

func newFileIndex(fset *token.FileSet, pkgs []*packages.Package) *fileIndex {
	idx := &fileIndex{fset: fset, byBase: map[string][]*loadedFile{}, byAST: map[*ast.File]*loadedFile{}}
	for _, p := range pkgs {
		for _, f := range p.Syntax {
			tf := fset.File(f.Pos())
			if tf == nil {
				continue
			}
			path := filepath.ToSlash(tf.Name())
			lf := &loadedFile{path: path, pkg: p, file: f, parts: strings.Split(path, "/")}
			base := lf.parts[len(lf.parts)-1]
			idx.byBase[base] = append(idx.byBase[base], lf)
			idx.byAST[f] = lf
		}
	}
	return idx
}

// lookup returns the loaded file for a frame, or nil when none matches or
// several match equally well.
func (idx *fileIndex) lookup(f Frame) *loadedFile {
	name := strings.ReplaceAll(f.File, `\`, "/")
	parts := strings.Split(name, "/")
	var best []*loadedFile
	bestScore := 0
	for _, lf := range idx.byBase[parts[len(parts)-1]] {
		if !samePackage(f, lf.pkg) {
			continue
		}
		score := commonSuffix(parts, lf.parts)
		switch {
		case score > bestScore:
			best, bestScore = []*loadedFile{lf}, score
		case score == bestScore:
			best = append(best, lf)
		}
	}
	if len(best) != 1 {
		return nil
	}
	return best[0]
}

// samePackage reports whether the function of frame f can belong to pkg:
// the printed import path matches, or both are package main.
func samePackage(f Frame, pkg *packages.Package) bool {
	fp := f.Package()
	if fp == "" || fp == pkg.PkgPath {
		return true
	}
	return fp == "main" && pkg.Name == "main"
}

func commonSuffix(a, b []string) int {
	n := 0
	for n < len(a) && n < len(b) && a[len(a)-1-n] == b[len(b)-1-n] {
		n++
	}
	return n
}

// ofPos returns the loaded file that contains pos.
func (idx *fileIndex) ofPos(pos token.Pos) *loadedFile {
	tf := idx.fset.File(pos)
	if tf == nil {
		return nil
	}
	path := filepath.ToSlash(tf.Name())
	for _, lf := range idx.byBase[filepath.Base(path)] {
		if lf.path == path {
			return lf
		}
	}
	return nil
}
