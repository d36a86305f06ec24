package rewrite

import (
	"bytes"
	"cmp"
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"slices"
)

// A file is decorated for dst only in part: its import declarations and the
// top-level declarations that hold an edit, with the comments inside them.
// Decorating sorts every token and comment of what it is given, which on
// the ten-thousand-line files of large modules cost more than all of
// detection; most edits touch a few functions of such a file. The printed
// declarations then replace the same declarations in the original source,
// so code the rewrite does not touch keeps its bytes.

// fileParts is the part of a file that is decorated and where it lies.
type fileParts struct {
	part *ast.File
	// fset holds the file's positions for decorating part.
	fset *token.FileSet
	// imports is the byte range of the import declarations, from the
	// first to the end of the last; empty, just after the package
	// clause, when the file has none.
	imports span
	// decls are the byte ranges of the kept declarations other than
	// imports, in order.
	decls []span
	// usedOutside are the identifiers that select from a package (the x
	// of x.Sel) in the declarations left out, which keep their imports.
	usedOutside map[string]bool
}

// span is a byte range [start, end) of a source file.
type span struct{ start, end int }

// splitFile picks the declarations of af that hold one of the nodes.
func splitFile(fset *token.FileSet, af *ast.File, nodes []ast.Node) fileParts {
	tf := fset.File(af.Pos())
	off := func(p token.Pos) int { return tf.Offset(p) }
	fp := fileParts{usedOutside: map[string]bool{}}
	part := *af
	part.Decls, part.Comments, part.Doc = nil, nil, nil
	// The deprecated object resolution of the parser spans the whole
	// file; dst would convert all of it. The rewrite uses types.Info.
	part.Scope, part.Unresolved = nil, nil
	var keptRanges []span // in offsets, for the comments
	hasImports := false
	for _, d := range af.Decls {
		start, end := declSpan(tf, af.Comments, d)
		if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.IMPORT {
			if !hasImports {
				fp.imports.start, hasImports = off(start), true
			}
			fp.imports.end = off(end)
			part.Decls = append(part.Decls, d)
			continue
		}
		holds := slices.ContainsFunc(nodes, func(n ast.Node) bool { return d.Pos() <= n.Pos() && n.Pos() < d.End() })
		if !holds {
			ast.Inspect(d, func(n ast.Node) bool {
				if sel, ok := n.(*ast.SelectorExpr); ok {
					if id, ok := sel.X.(*ast.Ident); ok {
						fp.usedOutside[id.Name] = true
					}
				}
				return true
			})
			continue
		}
		part.Decls = append(part.Decls, d)
		fp.decls = append(fp.decls, span{off(start), off(end)})
		keptRanges = append(keptRanges, span{off(start), off(end)})
	}
	if hasImports {
		keptRanges = append(keptRanges, fp.imports)
	} else {
		// After the package clause and a comment on its line
		// (package p // import "example.com/p").
		end := off(lineEnd(tf, af.Comments, af.Name.End()))
		fp.imports = span{end, end}
	}
	for _, c := range af.Comments {
		if slices.ContainsFunc(keptRanges, func(r span) bool { return r.start <= off(c.Pos()) && off(c.End()) <= r.end }) {
			part.Comments = append(part.Comments, c)
		}
	}
	fp.part = &part
	fp.fset = partFileSet(tf, keptRanges)
	return fp
}

// partFileSet returns a file set holding a copy of tf that knows only the
// lines of the kept ranges. dst's decorator walks every byte of a file and
// records a newline fragment for each line it sees, then searches those
// fragments linearly: the long runs of lines between the kept
// declarations would cost time quadratic in their length, for nothing.
// Positions keep their values, so the syntax and types of the loaded
// file still apply.
func partFileSet(tf *token.File, kept []span) *token.FileSet {
	fset := token.NewFileSet()
	nf := fset.AddFile(tf.Name(), tf.Base(), tf.Size())
	lines := tf.Lines()
	const margin = 2 // bytes: a blank line before or after
	keep := []int{0}
	for i, start := range lines {
		if start == 0 {
			continue
		}
		end := tf.Size()
		if i+1 < len(lines) {
			end = lines[i+1]
		}
		// Keep a line that overlaps a kept range, or is one of the two
		// lines around it, so that the blank lines around a declaration
		// are seen and printed.
		if slices.ContainsFunc(kept, func(r span) bool { return start < r.end+margin && r.start-margin < end }) {
			keep = append(keep, start)
		}
	}
	nf.SetLines(keep)
	return fset
}

// declSpan is where declaration d lies: from its doc comment to its end,
// including a comment that follows it on its last line.
func declSpan(tf *token.File, comments []*ast.CommentGroup, d ast.Decl) (start, end token.Pos) {
	start, end = d.Pos(), d.End()
	var doc *ast.CommentGroup
	switch d := d.(type) {
	case *ast.FuncDecl:
		doc = d.Doc
	case *ast.GenDecl:
		doc = d.Doc
	}
	if doc != nil {
		start = doc.Pos()
	}
	return start, lineEnd(tf, comments, end)
}

// lineEnd extends end over the comments that follow it on its line.
func lineEnd(tf *token.File, comments []*ast.CommentGroup, end token.Pos) token.Pos {
	line := tf.Line(end)
	i, _ := slices.BinarySearchFunc(comments, end, func(c *ast.CommentGroup, p token.Pos) int { return cmp.Compare(c.Pos(), p) })
	for ; i < len(comments) && tf.Line(comments[i].Pos()) == line; i++ {
		end = comments[i].End()
	}
	return end
}

// splice puts the declarations printed from the decorated part back into
// the original source.
//
// gofmt aligns trailing comments over consecutive lines, so a declaration
// printed on its own is formatted as in the whole file only when a blank
// line (or the start or end of the file) separates it from its neighbours,
// as it almost always does. Otherwise, and when the import declaration
// appears or disappears, the spliced file is formatted again as a whole.
func splice(fp fileParts, old, printed []byte) ([]byte, error) {
	fset := token.NewFileSet()
	pf, err := parser.ParseFile(fset, "", printed, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil {
		return nil, fmt.Errorf("parse the rewritten declarations: %w", err)
	}
	tf := fset.File(pf.Pos())
	var imports span
	var decls []span
	for _, d := range pf.Decls {
		start, end := declSpan(tf, pf.Comments, d)
		s := span{tf.Offset(start), tf.Offset(end)}
		if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.IMPORT {
			if imports == (span{}) {
				imports.start = s.start
			}
			imports.end = s.end
			continue
		}
		decls = append(decls, s)
	}
	if len(decls) != len(fp.decls) {
		return nil, fmt.Errorf("internal error: %d declarations rewritten, %d printed", len(fp.decls), len(decls))
	}
	hadImports := fp.imports.start != fp.imports.end
	hasImports := imports != (span{})
	reformat := hadImports != hasImports
	var importText []byte
	if hasImports {
		importText = printed[imports.start:imports.end]
		if !hadImports {
			importText = append([]byte("\n\n"), importText...)
		}
		reformat = reformat || !isolated(old, fp.imports) || !isolated(printed, imports)
	}
	for i, s := range fp.decls {
		reformat = reformat || !isolated(old, s) || !isolated(printed, decls[i])
	}
	var out bytes.Buffer
	at := 0
	put := func(s span, b []byte) {
		out.Write(old[at:s.start])
		out.Write(b)
		at = s.end
	}
	put(fp.imports, importText)
	for i, s := range fp.decls {
		put(s, printed[decls[i].start:decls[i].end])
	}
	out.Write(old[at:])
	if !reformat {
		return out.Bytes(), nil
	}
	formatted, err := format.Source(out.Bytes())
	if err != nil {
		return nil, fmt.Errorf("format the rewritten file: %w", err)
	}
	return formatted, nil
}

// isolated reports whether the span s of src stands between blank lines:
// preceded by an empty line or the start of the file, and followed by an
// empty line or the end of the file.
func isolated(src []byte, s span) bool {
	before := src[:s.start]
	after := src[s.end:]
	return (len(before) == 0 || bytes.HasSuffix(before, []byte("\n\n"))) &&
		(len(bytes.TrimSpace(after)) == 0 || bytes.HasPrefix(after, []byte("\n\n")))
}
