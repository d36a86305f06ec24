package rewrite

import (
	"bytes"
	"errors"
	"fmt"
	"go/ast"
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

	"github.com/dave/dst"
	"github.com/dave/dst/decorator"
	"github.com/dave/dst/dstutil"
	"golang.org/x/tools/go/packages"

	"github.com/safemapfix/safemapfix/typeinfer"
)

// Rewrite rewrites the map objects named by ids (load.ObjectID values) and
// every object their maps flow into. It returns the changed files and one
// Object per group member, fixed or refused. It reads files from disk only
// to return their original bytes; it writes nothing.
func Rewrite(cfg Config, ids []string) (*Result, error) {
	if cfg.Index == nil {
		cfg.Index = NewIndex(cfg.Fset, cfg.Packages)
	}
	ix := cfg.Index.ix
	pl := &planner{cfg: cfg, ix: ix, declFiles: map[string]bool{}, seeds: map[string]bool{}}
	for _, id := range ids {
		pl.seeds[id] = true
	}
	for _, p := range cfg.Packages {
		for _, f := range p.Syntax {
			pl.declFiles[cfg.Fset.File(f.Pos()).Name()] = true
		}
	}
	done := map[string]bool{}
	res := &Result{}
	byFile := map[*ast.File][]*edit{}
	pkgOf := map[*ast.File]*packages.Package{}
	seeds := append([]string(nil), ids...)
	sort.Strings(seeds)
	for _, seed := range seeds {
		if done[seed] {
			continue
		}
		if _, ok := ix.objs[seed]; !ok {
			if cfg.IgnoreMissing {
				res.Missing = append(res.Missing, seed)
				continue
			}
			return nil, fmt.Errorf("internal error: no map object declared at %s in the loaded packages", seed)
		}
		g := pl.plan([]string{seed})
		for _, id := range sortedIDs(g.member) {
			done[id] = true
			obj := ix.objs[id]
			o := &Object{
				ID:      id,
				Name:    ix.name(id),
				Fixed:   g.refusal == "",
				Refusal: g.refusal,
				Uses:    g.uses[id],
				Members: sortedIDs(g.member),
			}
			if g.refusal == "" {
				o.Notes = g.notes
			}
			if obj != nil {
				o.Decl = cfg.Fset.Position(obj.Pos())
			}
			for _, other := range sortedIDs(g.member) {
				if other != id {
					o.Group = append(o.Group, ix.name(other))
				}
			}
			res.Objects = append(res.Objects, o)
		}
		if g.refusal == "" {
			g.refusal = unwritable(cfg, g)
			if g.refusal != "" {
				for _, o := range res.Objects[len(res.Objects)-len(g.member):] {
					o.Fixed, o.Refusal, o.Notes = false, g.refusal, nil
				}
			}
		}
		if g.refusal != "" {
			continue
		}
		for _, e := range g.edits {
			f, p := fileOf(cfg.Packages, e.node)
			byFile[f] = append(byFile[f], e)
			pkgOf[f] = p
		}
	}
	var files []*ast.File
	for f := range byFile {
		files = append(files, f)
	}
	sort.Slice(files, func(i, j int) bool {
		return cfg.Fset.File(files[i].Pos()).Name() < cfg.Fset.File(files[j].Pos()).Name()
	})
	if cfg.PlanOnly {
		for _, f := range files {
			res.Files = append(res.Files, File{Path: cfg.Fset.File(f.Pos()).Name()})
		}
		return res, nil
	}
	// Files are rewritten independently of each other, so in parallel.
	outs := make([]File, len(files))
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	limit := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, f := range files {
		wg.Add(1)
		limit <- struct{}{}
		go func() {
			defer func() { <-limit; wg.Done() }()
			outs[i], errs[i] = applyFile(cfg, pkgOf[f], f, byFile[f])
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for _, out := range outs {
		if !bytes.Equal(out.Old, out.New) {
			res.Files = append(res.Files, out)
		}
	}
	return res, nil
}

// unwritable returns why the group's edits cannot be written, or "": an
// edit in a file outside the main module, under vendor/, or generated.
func unwritable(cfg Config, g *group) string {
	for _, e := range g.edits {
		f, _ := fileOf(cfg.Packages, e.node)
		pos := cfg.Fset.Position(e.node.Pos())
		if f == nil {
			return fmt.Sprintf("internal error: edit at %s is in no loaded file", pos)
		}
		if cfg.ModuleDir != "" {
			rel, err := filepath.Rel(cfg.ModuleDir, pos.Filename)
			if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				return fmt.Sprintf("%s: used outside the main module, in a file safemapfix does not change", pos)
			}
			if slices.Contains(strings.Split(filepath.ToSlash(rel), "/"), "vendor") {
				return fmt.Sprintf("%s: used in vendored code, which safemapfix does not change", pos)
			}
		}
		if !cfg.Generated && ast.IsGenerated(f) {
			return fmt.Sprintf("%s: used in a generated file; regenerate it after the fix, or pass --generated to rewrite it", pos)
		}
	}
	return ""
}

func fileOf(pkgs []*packages.Package, n ast.Node) (*ast.File, *packages.Package) {
	for _, p := range pkgs {
		for _, f := range p.Syntax {
			if f.FileStart <= n.Pos() && n.Pos() < f.FileEnd {
				return f, p
			}
		}
	}
	return nil, nil
}

// fileEditor applies the edits of one file to its dst tree.
type fileEditor struct {
	pkg     *types.Package
	info    *types.Info
	file    *dst.File
	dec     *decorator.Decorator
	wrapper Wrapper
	// wrapName is the name under which this file refers to the wrapper.
	wrapName    string
	wrapperUsed bool
	// imports maps import paths to the names this file uses for them.
	imports map[string]string
	added   []*dst.ImportSpec
	// names are the identifiers used anywhere in the file, so new ones
	// never collide with or shadow them.
	names map[string]bool
	// used are the package names selected from in the declarations that
	// are not decorated; their imports stay.
	used map[string]bool
}

func applyFile(cfg Config, pkg *packages.Package, af *ast.File, edits []*edit) (File, error) {
	path := cfg.Fset.File(af.Pos()).Name()
	old, err := os.ReadFile(path)
	if err != nil {
		return File{}, fmt.Errorf("read %s: %w", path, err)
	}
	nodes := make([]ast.Node, len(edits))
	for i, e := range edits {
		nodes[i] = e.node
	}
	parts := splitFile(cfg.Fset, af, nodes)
	dec := decorator.NewDecorator(parts.fset)
	df, err := dec.DecorateFile(parts.part)
	if err != nil {
		return File{}, fmt.Errorf("%s: prepare for rewriting: %w", path, err)
	}
	fe := &fileEditor{
		pkg:     pkg.Types,
		info:    pkg.TypesInfo,
		file:    df,
		dec:     dec,
		wrapper: cfg.Wrapper,
		imports: map[string]string{},
		names:   map[string]bool{},
		used:    parts.usedOutside,
	}
	fe.scan(af)
	byNode := map[dst.Node]*edit{}
	for _, e := range edits {
		n, ok := dec.Dst.Nodes[e.node]
		if !ok {
			return File{}, fmt.Errorf("internal error: %s: no syntax for %T", cfg.Fset.Position(e.node.Pos()), e.node)
		}
		if prev, ok := byNode[n]; ok {
			if prev.kind == editTuple && e.kind == editTuple {
				prev.stores = append(prev.stores, e.stores...)
				prev.hoistIndex = prev.hoistIndex || e.hoistIndex
				continue
			}
			if prev.kind == editBlock && e.kind == editBlock {
				prev.folds = append(prev.folds, e.folds...)
				prev.drains = append(prev.drains, e.drains...)
				prev.computes = append(prev.computes, e.computes...)
				continue
			}
			return File{}, fmt.Errorf("internal error: %s: two rewrites of one %T", cfg.Fset.Position(e.node.Pos()), e.node)
		}
		byNode[n] = e
	}
	var applyErr error
	dstutil.Apply(df, nil, func(c *dstutil.Cursor) bool {
		e, ok := byNode[c.Node()]
		if !ok || applyErr != nil {
			return applyErr == nil
		}
		// The replacement takes over the node's comments; the node may
		// live on inside it (range m → range m.All()) and must not keep
		// a second copy.
		n := c.Node()
		decs := *n.Decorations()
		*n.Decorations() = dst.NodeDecs{}
		before, repl, err := fe.build(e, n)
		if err != nil {
			applyErr = fmt.Errorf("%s: %w", cfg.Fset.Position(e.node.Pos()), err)
			return false
		}
		if len(before) > 0 {
			// Comments above the statement go above the first one that
			// replaces it.
			first := before[0].Decorations()
			first.Before, first.Start = decs.Before, decs.Start
			decs.Before, decs.Start = dst.NewLine, nil
		}
		mergeDecs(repl.Decorations(), decs)
		for _, s := range before {
			c.InsertBefore(s)
		}
		c.Replace(repl)
		return true
	})
	if applyErr != nil {
		return File{}, applyErr
	}
	fe.addImports()
	fe.dropUnusedImports()
	var buf bytes.Buffer
	if err := decorator.NewRestorer().Fprint(&buf, df); err != nil {
		return File{}, fmt.Errorf("%s: print rewritten file: %w", path, err)
	}
	src, err := splice(parts, old, buf.Bytes())
	if err != nil {
		return File{}, fmt.Errorf("%s: %w", path, err)
	}
	return File{Path: path, Old: old, New: src}, nil
}

// scan records the names used in the file and its imports, and picks the
// name for the wrapper package.
func (fe *fileEditor) scan(af *ast.File) {
	ast.Inspect(af, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok {
			fe.names[id.Name] = true
		}
		return true
	})
	for _, imp := range af.Imports {
		p, err := strconv.Unquote(imp.Path.Value)
		if err != nil {
			continue
		}
		switch {
		case imp.Name == nil:
			if pn := fe.importedName(imp); pn != "" {
				fe.imports[p] = pn
			}
		case imp.Name.Name != "_" && imp.Name.Name != ".":
			fe.imports[p] = imp.Name.Name
		}
	}
	for _, pn := range fe.imports {
		fe.names[pn] = true
	}
}

func (fe *fileEditor) importedName(imp *ast.ImportSpec) string {
	if pn, ok := fe.info.Implicits[imp].(*types.PkgName); ok {
		return pn.Name()
	}
	return ""
}

// importName returns the name under which the file refers to package path,
// adding an import when the file has none.
func (fe *fileEditor) importName(path, name string) string {
	if n, ok := fe.imports[path]; ok {
		return n
	}
	n := fe.fresh(name)
	spec := &dst.ImportSpec{Path: &dst.BasicLit{Kind: token.STRING, Value: strconv.Quote(path)}}
	if n != name || !importPathEndsIn(path, name) {
		spec.Name = dst.NewIdent(n)
	}
	fe.imports[path] = n
	fe.added = append(fe.added, spec)
	return n
}

func importPathEndsIn(path, name string) bool {
	return path == name || strings.HasSuffix(path, "/"+name)
}

// fresh returns base, or base with a number, whichever is unused in the
// file, and marks it used.
func (fe *fileEditor) fresh(base string) string {
	name := base
	for i := 1; fe.names[name]; i++ {
		name = base + strconv.Itoa(i)
	}
	fe.names[name] = true
	return name
}

// wrapperRef returns a reference to an exported name of the wrapper.
func (fe *fileEditor) wrapperRef(name string) dst.Expr {
	if fe.wrapName == "" {
		if n, ok := fe.imports[fe.wrapper.Path]; ok {
			fe.wrapName = n
		} else {
			fe.wrapName = fe.importName(fe.wrapper.Path, fe.wrapper.Name)
		}
	}
	fe.wrapperUsed = true
	return &dst.SelectorExpr{X: dst.NewIdent(fe.wrapName), Sel: dst.NewIdent(name)}
}

// addImports adds the imports the edits need to the first import
// declaration, leaving every existing spec exactly as written.
func (fe *fileEditor) addImports() {
	if len(fe.added) == 0 {
		return
	}
	var decl *dst.GenDecl
	for _, d := range fe.file.Decls {
		if g, ok := d.(*dst.GenDecl); ok && g.Tok == token.IMPORT {
			decl = g
			break
		}
	}
	if decl == nil {
		decl = &dst.GenDecl{Tok: token.IMPORT}
		decl.Decs.Before = dst.EmptyLine
		decl.Decs.After = dst.EmptyLine
		fe.file.Decls = append([]dst.Decl{decl}, fe.file.Decls...)
	}
	for _, spec := range fe.added {
		if len(decl.Specs) > 0 {
			last := decl.Specs[len(decl.Specs)-1].(*dst.ImportSpec)
			if isStd(last.Path.Value) != isStd(spec.Path.Value) {
				spec.Decs.Before = dst.EmptyLine
			} else {
				spec.Decs.Before = dst.NewLine
			}
		}
		decl.Specs = append(decl.Specs, spec)
		fe.file.Imports = append(fe.file.Imports, spec)
	}
	if len(decl.Specs) > 1 {
		decl.Lparen = true
		decl.Rparen = true
	}
}

// dropUnusedImports removes the imports that the edits left unused (the
// last maps.Keys(m) became m.Keys()), which would not compile. Blank and
// dot imports are kept, as is every import still referred to.
func (fe *fileEditor) dropUnusedImports() {
	used := maps.Clone(fe.used)
	dst.Inspect(fe.file, func(n dst.Node) bool {
		if sel, ok := n.(*dst.SelectorExpr); ok {
			if id, ok := sel.X.(*dst.Ident); ok {
				used[id.Name] = true
			}
		}
		return true
	})
	for _, d := range fe.file.Decls {
		g, ok := d.(*dst.GenDecl)
		if !ok || g.Tok != token.IMPORT {
			continue
		}
		kept := g.Specs[:0]
		for _, sp := range g.Specs {
			spec := sp.(*dst.ImportSpec)
			path, _ := strconv.Unquote(spec.Path.Value)
			name, known := fe.imports[path]
			if spec.Name != nil {
				name, known = spec.Name.Name, spec.Name.Name != "_" && spec.Name.Name != "."
			}
			if known && !used[name] {
				fe.file.Imports = slices.DeleteFunc(fe.file.Imports, func(s *dst.ImportSpec) bool { return s == spec })
				continue
			}
			kept = append(kept, spec)
		}
		g.Specs = kept
	}
	fe.file.Decls = slices.DeleteFunc(fe.file.Decls, func(d dst.Decl) bool {
		g, ok := d.(*dst.GenDecl)
		return ok && g.Tok == token.IMPORT && len(g.Specs) == 0
	})
}

// isStd reports whether a quoted import path belongs to the standard
// library, whose first element has no dot.
func isStd(quoted string) bool {
	p, _ := strconv.Unquote(quoted)
	first, _, _ := strings.Cut(p, "/")
	return !strings.Contains(first, ".")
}

// build returns the replacement of node n for edit e, and statements to
// insert before it.
func (fe *fileEditor) build(e *edit, n dst.Node) (before []dst.Stmt, repl dst.Node, err error) {
	switch e.kind {
	case editGet, editLoad:
		ie := indexExpr(n)
		method := "Get"
		if e.kind == editLoad {
			method = "Load"
		}
		return nil, call(sel(ie.X, method), ie.Index), nil
	case editStore:
		as := n.(*dst.AssignStmt)
		ie := indexExpr(as.Lhs[0])
		moveDecs(&as.Rhs[0].Decorations().Start, &as.Decs.Tok, true)
		return nil, &dst.ExprStmt{X: call(sel(ie.X, "Store"), ie.Index, as.Rhs[0])}, nil
	case editOpAssign:
		as := n.(*dst.AssignStmt)
		ie := indexExpr(as.Lhs[0])
		moveDecs(&as.Rhs[0].Decorations().Start, &as.Decs.Tok, true)
		operands := []dst.Expr{as.Rhs[0]}
		before = append(fe.hoistKey(e, ie), fe.hoist(e, operands)...)
		if as.Tok == token.ADD_ASSIGN && usesAdd(e.mapType) {
			return before, &dst.ExprStmt{X: call(fe.wrapperRef("Add"), ie.X, ie.Index, operands[0])}, nil
		}
		op, ok := opOfAssign[as.Tok]
		if !ok {
			return nil, nil, fmt.Errorf("internal error: assignment operator %s", as.Tok)
		}
		upd, err := fe.update(ie, e.mapType, func(v dst.Expr) dst.Expr { return binary(v, op, operands[0]) }, operands)
		return before, upd, err
	case editIncDec:
		st := n.(*dst.IncDecStmt)
		ie := indexExpr(st.X)
		one := &dst.BasicLit{Kind: token.INT, Value: "1"}
		if st.Tok == token.INC && usesAdd(e.mapType) {
			return nil, &dst.ExprStmt{X: call(fe.wrapperRef("Add"), ie.X, ie.Index, one)}, nil
		}
		op := token.ADD
		if st.Tok == token.DEC {
			op = token.SUB
		}
		upd, err := fe.update(ie, e.mapType, func(v dst.Expr) dst.Expr { return binary(v, op, one) }, nil)
		return nil, upd, err
	case editAppend:
		as := n.(*dst.AssignStmt)
		ie := indexExpr(as.Lhs[0])
		app := unparen(as.Rhs[0]).(*dst.CallExpr)
		operands := app.Args[1:]
		before = append(fe.hoistKey(e, ie), fe.hoist(e, operands)...)
		upd, err := fe.update(ie, e.mapType, func(v dst.Expr) dst.Expr {
			return &dst.CallExpr{Fun: app.Fun, Args: append([]dst.Expr{v}, operands...), Ellipsis: app.Ellipsis}
		}, operands)
		return before, upd, err
	case editDelete:
		c := n.(*dst.CallExpr)
		return nil, call(sel(c.Args[0], "Delete"), c.Args[1]), nil
	case editClear:
		c := n.(*dst.CallExpr)
		return nil, call(sel(c.Args[0], "Clear")), nil
	case editLen:
		c := n.(*dst.CallExpr)
		return nil, call(sel(c.Args[0], "Len")), nil
	case editRange:
		return nil, call(sel(n.(dst.Expr), "All")), nil
	case editClone:
		return nil, call(sel(n.(dst.Expr), "Clone")), nil
	case editLoadOrStore:
		// The store in the body is already m.Store(k, v).
		ifs := n.(*dst.IfStmt)
		body := ifs.Body.List[0].(*dst.ExprStmt)
		store := body.X.(*dst.CallExpr)
		recv := store.Fun.(*dst.SelectorExpr).X
		k, v := store.Args[0], store.Args[1]
		moveDecs(&v.Decorations().End, &body.Decs.End, false)
		if e.pureValue {
			return nil, &dst.ExprStmt{X: call(sel(recv, "LoadOrStore"), k, v)}, nil
		}
		vt, err := typeinfer.Expr(elemType(e.mapType), fe.pkg, fe.importName)
		if err != nil {
			return nil, nil, err
		}
		fn := &dst.FuncLit{
			Type: &dst.FuncType{Func: true, Params: &dst.FieldList{}, Results: &dst.FieldList{List: []*dst.Field{{Type: vt}}}},
			Body: &dst.BlockStmt{List: []dst.Stmt{&dst.ReturnStmt{Results: []dst.Expr{v}}}},
		}
		return nil, &dst.ExprStmt{X: call(sel(recv, "LoadOrCompute"), k, fn)}, nil
	case editTuple:
		return fe.tuple(n.(*dst.AssignStmt), e)
	case editReset:
		as := n.(*dst.AssignStmt)
		return nil, &dst.ExprStmt{X: call(sel(as.Lhs[0], "Clear"))}, nil
	case editBlock:
		block := n.(*dst.BlockStmt)
		if err := fe.folds(block, e); err != nil {
			return nil, nil, err
		}
		if err := fe.drains(block, e); err != nil {
			return nil, nil, err
		}
		return nil, n, fe.loadOrComputes(block, e)
	case editTag:
		lit := n.(*dst.BasicLit)
		return nil, &dst.BasicLit{Kind: lit.Kind, Value: e.tag, Decs: lit.Decs}, nil
	case editHelper:
		c := n.(*dst.CallExpr)
		return nil, call(sel(c.Args[0], e.method)), nil
	case editType:
		k, v, err := fe.keyElem(n.(dst.Expr), e.mapType)
		if err != nil {
			return nil, nil, err
		}
		return nil, &dst.StarExpr{X: &dst.IndexListExpr{X: fe.wrapperRef("Map"), Indices: []dst.Expr{k, v}}}, nil
	case editMake:
		c := n.(*dst.CallExpr)
		k, v, err := fe.keyElem(c.Args[0], e.mapType)
		if err != nil {
			return nil, nil, err
		}
		if len(c.Args) == 2 {
			size := c.Args[1]
			if e.convertSize {
				size = call(dst.NewIdent("int"), size)
			}
			return nil, call(&dst.IndexListExpr{X: fe.wrapperRef("NewSized"), Indices: []dst.Expr{k, v}}, size), nil
		}
		return nil, call(&dst.IndexListExpr{X: fe.wrapperRef("New"), Indices: []dst.Expr{k, v}}), nil
	case editLit:
		lit := n.(*dst.CompositeLit)
		if len(lit.Elts) == 0 && !hasComments(lit) {
			k, v, err := fe.keyElem(lit.Type, e.mapType)
			if err != nil {
				return nil, nil, err
			}
			return nil, call(&dst.IndexListExpr{X: fe.wrapperRef("New"), Indices: []dst.Expr{k, v}}), nil
		}
		wrapped := &dst.CompositeLit{Type: lit.Type, Elts: lit.Elts, Incomplete: lit.Incomplete, Decs: dst.CompositeLitDecorations{Lbrace: lit.Decs.Lbrace}}
		return nil, call(fe.wrapperRef("From"), wrapped), nil
	}
	return nil, nil, fmt.Errorf("internal error: unknown edit %d", e.kind)
}

// keyElem returns the key and element type expressions of a map: the
// children of the map type syntax t when it is one (they keep the source's
// spelling), else synthesised from the map's type.
func (fe *fileEditor) keyElem(t dst.Expr, mapType types.Type) (dst.Expr, dst.Expr, error) {
	if mt, ok := unparen(t).(*dst.MapType); ok && t != nil {
		return mt.Key, mt.Value, nil
	}
	k, v, ok := typeinfer.Elems(mapType)
	if !ok {
		return nil, nil, fmt.Errorf("internal error: %s is not a map type", mapType)
	}
	ke, err := typeinfer.Expr(k, fe.pkg, fe.importName)
	if err != nil {
		return nil, nil, err
	}
	ve, err := typeinfer.Expr(v, fe.pkg, fe.importName)
	if err != nil {
		return nil, nil, err
	}
	return ke, ve, nil
}

// update builds m.Update(k, func(v V) V { return body(v) }) as a statement.
// The callback's parameter is named so that it shadows nothing the body
// refers to.
func (fe *fileEditor) update(ie *dst.IndexExpr, mapType types.Type, body func(v dst.Expr) dst.Expr, operands []dst.Expr) (dst.Node, error) {
	elem := elemType(mapType)
	vt, err := typeinfer.Expr(elem, fe.pkg, fe.importName)
	if err != nil {
		return nil, err
	}
	used := map[string]bool{}
	for _, x := range append([]dst.Expr{vt}, operands...) {
		dst.Inspect(x, func(n dst.Node) bool {
			if id, ok := n.(*dst.Ident); ok {
				used[id.Name] = true
			}
			return true
		})
	}
	param := "v"
	for i := 1; used[param]; i++ {
		param = "v" + strconv.Itoa(i)
	}
	vt2 := dst.Clone(vt).(dst.Expr)
	fn := &dst.FuncLit{
		Type: &dst.FuncType{
			Func:    true,
			Params:  &dst.FieldList{List: []*dst.Field{{Names: []*dst.Ident{dst.NewIdent(param)}, Type: vt}}},
			Results: &dst.FieldList{List: []*dst.Field{{Type: vt2}}},
		},
		Body: &dst.BlockStmt{List: []dst.Stmt{&dst.ReturnStmt{Results: []dst.Expr{body(dst.NewIdent(param))}}}},
	}
	return &dst.ExprStmt{X: call(sel(ie.X, "Update"), ie.Index, fn)}, nil
}

// folds replaces each fold of the block with one update; see fold.
func (fe *fileEditor) folds(block *dst.BlockStmt, e *edit) error {
	for _, f := range e.folds {
		first, ok := fe.dec.Dst.Nodes[f.first].(dst.Stmt)
		if !ok {
			return fmt.Errorf("internal error: fold without syntax")
		}
		i := slices.Index(block.List, first)
		if i < 0 || i+f.count >= len(block.List) {
			return fmt.Errorf("internal error: fold does not fit its block")
		}
		as := first.(*dst.AssignStmt)
		get := as.Rhs[0].(*dst.CallExpr) // m.Get(k), rewritten already
		recv := get.Fun.(*dst.SelectorExpr).X
		key := get.Args[0]
		v := as.Lhs[0].(*dst.Ident)
		vt, err := typeinfer.Expr(elemType(e.mapType), fe.pkg, fe.importName)
		if err != nil {
			return err
		}
		body := append([]dst.Stmt{}, block.List[i+1:i+f.count]...)
		body = append(body, &dst.ReturnStmt{Results: []dst.Expr{dst.NewIdent(v.Name)}})
		fn := &dst.FuncLit{
			Type: &dst.FuncType{
				Func:    true,
				Params:  &dst.FieldList{List: []*dst.Field{{Names: []*dst.Ident{dst.NewIdent(v.Name)}, Type: vt}}},
				Results: &dst.FieldList{List: []*dst.Field{{Type: dst.Clone(vt).(dst.Expr)}}},
			},
			Body: &dst.BlockStmt{List: body},
		}
		upd := call(sel(recv, "Update"), key, fn)
		var st dst.Stmt = &dst.ExprStmt{X: upd}
		if f.usedAfter {
			st = &dst.AssignStmt{Lhs: []dst.Expr{v}, Tok: token.DEFINE, Rhs: []dst.Expr{upd}}
		}
		mergeDecs(st.Decorations(), *as.Decorations())
		list := append([]dst.Stmt{}, block.List[:i]...)
		list = append(list, st)
		block.List = append(list, block.List[i+f.count+1:]...)
	}
	return nil
}

// drains turns each drain idiom of the block (see drain in plan.go) into
// one TakeAll; the reset that followed it stays only for a nil map.
func (fe *fileEditor) drains(block *dst.BlockStmt, e *edit) error {
	for _, d := range e.drains {
		first, ok := fe.dec.Dst.Nodes[d].(*dst.AssignStmt)
		i := slices.Index(block.List, dst.Stmt(first))
		if !ok || i < 0 || i+1 >= len(block.List) {
			return fmt.Errorf("internal error: drain does not fit its block")
		}
		first.Rhs[0] = call(sel(first.Rhs[0], "TakeAll"))
		// A nil map has nothing to take, and the original reset gave
		// the variable its first map: keep that case.
		reset := block.List[i+1].(*dst.AssignStmt)
		block.List[i+1] = &dst.IfStmt{
			Cond: &dst.BinaryExpr{X: dst.Clone(reset.Lhs[0]).(dst.Expr), Op: token.EQL, Y: dst.NewIdent("nil")},
			Body: &dst.BlockStmt{List: []dst.Stmt{reset}},
		}
	}
	return nil
}

// loadOrComputes turns each load-or-compute idiom of the block (see
// loadOrComputeIdiom in plan.go) into one LoadOrCompute, or LoadOrStore
// when the value is pure and may be evaluated whether or not it is stored.
func (fe *fileEditor) loadOrComputes(block *dst.BlockStmt, e *edit) error {
	for _, first := range e.computes {
		as, ok := fe.dec.Dst.Nodes[first].(*dst.AssignStmt)
		i := slices.Index(block.List, dst.Stmt(as))
		if !ok || i < 0 || i+1 >= len(block.List) {
			return fmt.Errorf("internal error: load-or-compute does not fit its block")
		}
		load := as.Rhs[0].(*dst.CallExpr) // m.Load(k), rewritten already
		recv, key := load.Fun.(*dst.SelectorExpr).X, load.Args[0]
		ifs := block.List[i+1].(*dst.IfStmt)
		val := ifs.Body.List[0].(*dst.AssignStmt).Rhs[0]
		// ok is no longer read by the if; keep it only if later code
		// reads it.
		astBlock := e.node.(*ast.BlockStmt)
		okObj := fe.info.Defs[first.Lhs[1].(*ast.Ident)]
		if !usesObject(fe.info, astBlock.List[slices.Index(astBlock.List, ast.Stmt(first))+2:], okObj) {
			as.Lhs[1] = dst.NewIdent("_")
		}
		if orig, _ := fe.dec.Ast.Nodes[val].(ast.Expr); orig != nil && pure(fe.info, orig) {
			as.Rhs[0] = call(sel(recv, "LoadOrStore"), key, val)
		} else {
			vt, err := typeinfer.Expr(elemType(e.mapType), fe.pkg, fe.importName)
			if err != nil {
				return err
			}
			fn := &dst.FuncLit{
				Type: &dst.FuncType{Func: true, Params: &dst.FieldList{}, Results: &dst.FieldList{List: []*dst.Field{{Type: vt}}}},
				Body: &dst.BlockStmt{List: []dst.Stmt{&dst.ReturnStmt{Results: []dst.Expr{val}}}},
			}
			as.Rhs[0] = call(sel(recv, "LoadOrCompute"), key, fn)
		}
		block.List = slices.Delete(block.List, i+1, i+2)
	}
	return nil
}

// tuple splits a tuple assignment: the values into temporaries, then each
// assignment in order, stores into rewritten maps as Store calls.
func (fe *fileEditor) tuple(as *dst.AssignStmt, e *edit) (before []dst.Stmt, repl dst.Node, err error) {
	isStore := map[int]bool{}
	for _, i := range e.stores {
		isStore[i] = true
	}
	var stmts []dst.Stmt
	if e.hoistIndex {
		for i := range as.Lhs {
			if !isStore[i] {
				continue
			}
			ie := indexExpr(as.Lhs[i])
			name := fe.fresh("key")
			stmts = append(stmts, &dst.AssignStmt{Lhs: []dst.Expr{dst.NewIdent(name)}, Tok: token.DEFINE, Rhs: []dst.Expr{ie.Index}})
			ie.Index = dst.NewIdent(name)
		}
	}
	for i, t := range e.convert {
		te, err := typeinfer.Expr(t, fe.pkg, fe.importName)
		if err != nil {
			return nil, nil, err
		}
		switch te.(type) {
		case *dst.Ident, *dst.SelectorExpr, *dst.IndexExpr, *dst.IndexListExpr, *dst.ArrayType, *dst.MapType:
		default:
			te = &dst.ParenExpr{X: te} // (*T)(x), (func())(x)
		}
		as.Rhs[i] = call(te, as.Rhs[i])
	}
	temps := make([]dst.Expr, len(as.Lhs))
	for i, l := range as.Lhs {
		if id, ok := l.(*dst.Ident); ok && id.Name == "_" {
			temps[i] = dst.NewIdent("_")
			continue
		}
		temps[i] = dst.NewIdent(fe.fresh("tmp"))
	}
	stmts = append(stmts, &dst.AssignStmt{Lhs: temps, Tok: token.DEFINE, Rhs: as.Rhs})
	for i, l := range as.Lhs {
		t := dst.Clone(temps[i]).(dst.Expr)
		switch {
		case isStore[i]:
			ie := indexExpr(l)
			stmts = append(stmts, &dst.ExprStmt{X: call(sel(ie.X, "Store"), ie.Index, t)})
		case t.(*dst.Ident).Name == "_":
		default:
			stmts = append(stmts, &dst.AssignStmt{Lhs: []dst.Expr{l}, Tok: token.ASSIGN, Rhs: []dst.Expr{t}})
		}
	}
	return stmts[:len(stmts)-1], stmts[len(stmts)-1], nil
}

// hoistKey evaluates the index of a read-modify-write into a temporary
// when e says so, and returns the statement that declares it.
func (fe *fileEditor) hoistKey(e *edit, ie *dst.IndexExpr) []dst.Stmt {
	if !e.hoistKey {
		return nil
	}
	name := fe.fresh("key")
	st := &dst.AssignStmt{Lhs: []dst.Expr{dst.NewIdent(name)}, Tok: token.DEFINE, Rhs: []dst.Expr{ie.Index}}
	ie.Index = dst.NewIdent(name)
	return []dst.Stmt{st}
}

// hoist replaces the operands listed in e.hoist with temporaries and
// returns the statements that declare them, in source order.
func (fe *fileEditor) hoist(e *edit, operands []dst.Expr) []dst.Stmt {
	var stmts []dst.Stmt
	for _, i := range e.hoist {
		name := fe.fresh("tmp")
		stmts = append(stmts, &dst.AssignStmt{Lhs: []dst.Expr{dst.NewIdent(name)}, Tok: token.DEFINE, Rhs: []dst.Expr{operands[i]}})
		operands[i] = dst.NewIdent(name)
	}
	return stmts
}

var opOfAssign = map[token.Token]token.Token{
	token.ADD_ASSIGN:     token.ADD,
	token.SUB_ASSIGN:     token.SUB,
	token.MUL_ASSIGN:     token.MUL,
	token.QUO_ASSIGN:     token.QUO,
	token.REM_ASSIGN:     token.REM,
	token.AND_ASSIGN:     token.AND,
	token.OR_ASSIGN:      token.OR,
	token.XOR_ASSIGN:     token.XOR,
	token.SHL_ASSIGN:     token.SHL,
	token.SHR_ASSIGN:     token.SHR,
	token.AND_NOT_ASSIGN: token.AND_NOT,
}

// usesAdd reports whether m[k] += x and m[k]++ on a map of type mapType
// become safemap.Add: V must be a number or a string, and K no interface,
// or Add(m, k, x) would infer K from the key's dynamic type too.
func usesAdd(mapType types.Type) bool {
	k, v, _ := typeinfer.Elems(mapType)
	b, ok := v.Underlying().(*types.Basic)
	_, typeParam := k.(*types.TypeParam)
	return ok && b.Info()&(types.IsNumeric|types.IsString) != 0 && (typeParam || !types.IsInterface(k))
}

func binary(x dst.Expr, op token.Token, y dst.Expr) dst.Expr {
	if b, ok := y.(*dst.BinaryExpr); ok && b.Op.Precedence() <= op.Precedence() {
		y = &dst.ParenExpr{X: y}
	}
	return &dst.BinaryExpr{X: x, Op: op, Y: y}
}

// call builds fun(args...). A comment that ended the receiver of a method
// call (delete(m /* c */, k)) moves behind the call, where it reads the
// same.
func call(fun dst.Expr, args ...dst.Expr) *dst.CallExpr {
	c := &dst.CallExpr{Fun: fun, Args: args}
	if s, ok := fun.(*dst.SelectorExpr); ok {
		moveDecs(&c.Decs.End, &s.X.Decorations().End, false)
	}
	return c
}

// indexExpr returns the index expression e, with the comments inside its
// brackets moved onto the key, which survives the rewrite.
func indexExpr(e dst.Node) *dst.IndexExpr {
	ie := unparen(e.(dst.Expr)).(*dst.IndexExpr)
	moveDecs(&ie.Index.Decorations().Start, &ie.Decs.Lbrack, true)
	moveDecs(&ie.Index.Decorations().End, &ie.Decs.Index, false)
	moveDecs(&ie.X.Decorations().End, &ie.Decs.X, false)
	return ie
}

// moveDecs moves the decorations in from into to, before or after those
// already there.
func moveDecs(to, from *dst.Decorations, before bool) {
	if len(*from) == 0 {
		return
	}
	if before {
		*to = append(append(dst.Decorations{}, *from...), *to...)
	} else {
		*to = append(*to, *from...)
	}
	*from = nil
}

// mergeDecs gives a replacement the decorations of the node it replaces,
// keeping those the replacement gathered from inside that node.
func mergeDecs(to *dst.NodeDecs, from dst.NodeDecs) {
	to.Before, to.After = from.Before, from.After
	to.Start = append(append(dst.Decorations{}, from.Start...), to.Start...)
	to.End = append(to.End, from.End...)
}

func sel(x dst.Expr, name string) dst.Expr {
	return &dst.SelectorExpr{X: x, Sel: dst.NewIdent(name)}
}

func unparen(e dst.Expr) dst.Expr {
	for {
		p, ok := e.(*dst.ParenExpr)
		if !ok {
			return e
		}
		e = p.X
	}
}

func hasComments(n dst.Node) bool {
	found := false
	dst.Inspect(n, func(n dst.Node) bool {
		if n == nil {
			return false
		}
		d := n.Decorations()
		if len(d.Start) > 0 || len(d.End) > 0 {
			found = true
		}
		_, _, points := dstutil.Decorations(n)
		for _, p := range points {
			if len(p.Decs) > 0 {
				found = true
			}
		}
		return !found
	})
	return found
}
