package racelog

import (
	"go/ast"
	"go/token"
	"go/types"
)

// role is what a map-typed expression does at its place in the syntax.
type role int

const (
	roleRead      role = iota // m[k]
	roleCommaOk               // v, ok := m[k]
	roleStore                 // m[k] = v
	roleUpdate                // m[k] op= v, m[k]++
	roleDelete                // delete(m, k)
	roleClear                 // clear(m)
	roleLen                   // len(m)
	roleRange                 // for k, v := range m
	roleAssignVar             // m = ..., s.m = ...: the variable itself is written
	rolePassed                // any other use: m passed to a function, returned, copied
)

// accessOp is the detect.Access Op text of each role.
var accessOp = [...]string{
	roleRead:      "read",
	roleCommaOk:   "comma-ok read",
	roleStore:     "store",
	roleUpdate:    "update",
	roleDelete:    "delete",
	roleClear:     "clear",
	roleLen:       "len",
	roleRange:     "range",
	roleAssignVar: "assign map variable",
	rolePassed:    "passed on",
}

func (r role) writes() bool {
	switch r {
	case roleStore, roleUpdate, roleDelete, roleClear, roleAssignVar:
		return true
	}
	return false
}

// mapUse is one map-typed expression in a file, with what it does.
type mapUse struct {
	expr ast.Expr
	role role
	// call is the call that receives the map as argument number arg, for
	// a map passed on; nil otherwise.
	call *ast.CallExpr
	arg  int
}

// usesOnLine returns the map-typed expressions of lf that start on line,
// or whose operation (index expression, builtin call, range statement)
// starts on line.
func (lf *loadedFile) usesOnLine(fset *token.FileSet, line int) []*mapUse {
	if lf.uses == nil {
		lf.uses = collectUses(fset, lf.pkg.TypesInfo, lf.file)
	}
	return lf.uses[line]
}

// collectUses finds every map-typed expression of f and indexes it by the
// lines where the race detector may report it.
func collectUses(fset *token.FileSet, info *types.Info, f *ast.File) map[int][]*mapUse {
	uses := map[int][]*mapUse{}
	var stack []ast.Node
	ast.Inspect(f, func(n ast.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return true
		}
		defer func() { stack = append(stack, n) }()
		e, ok := n.(ast.Expr)
		if !ok || !isMap(info.TypeOf(e)) {
			return true
		}
		if skipExpr(info, e, stack) {
			return true
		}
		r, op := classify(info, e, stack)
		u := &mapUse{expr: e, role: r}
		if r == rolePassed {
			u.call, u.arg = argumentOf(e, stack)
		}
		lines := []int{fset.Position(e.Pos()).Line}
		if op != nil {
			if l := fset.Position(op.Pos()).Line; l != lines[0] {
				lines = append(lines, l)
			}
		}
		for _, l := range lines {
			uses[l] = append(uses[l], u)
		}
		return true
	})
	return uses
}

// skipExpr reports whether the map-typed expression e cannot be the
// subject of a race at its own place: a type, a declaration, a fresh map
// (literal or make), parentheses (their contents are seen), or the name
// part of a selector (the selector is seen).
func skipExpr(info *types.Info, e ast.Expr, stack []ast.Node) bool {
	if tv, ok := info.Types[e]; ok && tv.IsType() {
		return true
	}
	switch x := e.(type) {
	case *ast.ParenExpr, *ast.CompositeLit:
		return true
	case *ast.Ident:
		if info.Defs[x] != nil {
			return true
		}
		if len(stack) > 0 {
			switch p := stack[len(stack)-1].(type) {
			case *ast.SelectorExpr:
				return p.Sel == x
			case *ast.KeyValueExpr:
				// A field name in a struct literal.
				if _, isField := info.Uses[x].(*types.Var); isField && p.Key == x {
					return info.Uses[x].(*types.Var).IsField()
				}
			}
		}
	case *ast.CallExpr:
		if id, ok := unparen(x.Fun).(*ast.Ident); ok {
			if b, ok := info.Uses[id].(*types.Builtin); ok && b.Name() == "make" {
				return true
			}
		}
	}
	return false
}

func isMap(t types.Type) bool {
	if t == nil {
		return false
	}
	_, ok := t.Underlying().(*types.Map)
	return ok
}

// classify says what map expression e does, given its ancestors (nearest
// last), and returns the node of the operation when it is not e itself.
func classify(info *types.Info, e ast.Expr, stack []ast.Node) (role, ast.Node) {
	parent, depth := parentOf(stack, len(stack))
	switch p := parent.(type) {
	case *ast.IndexExpr:
		if unparen(p.X) != e {
			return rolePassed, nil
		}
		grand, _ := parentOf(stack, depth)
		switch g := grand.(type) {
		case *ast.AssignStmt:
			for _, lhs := range g.Lhs {
				if unparen(lhs) == p {
					if g.Tok == token.ASSIGN || g.Tok == token.DEFINE {
						return roleStore, p
					}
					return roleUpdate, p
				}
			}
			if len(g.Lhs) == 2 && len(g.Rhs) == 1 {
				return roleCommaOk, p
			}
		case *ast.ValueSpec:
			if len(g.Names) == 2 && len(g.Values) == 1 {
				return roleCommaOk, p
			}
		case *ast.IncDecStmt:
			return roleUpdate, p
		}
		return roleRead, p
	case *ast.CallExpr:
		if len(p.Args) == 0 || unparen(p.Args[0]) != e {
			return rolePassed, nil
		}
		id, ok := unparen(p.Fun).(*ast.Ident)
		if !ok {
			return rolePassed, nil
		}
		if _, builtin := info.Uses[id].(*types.Builtin); !builtin {
			return rolePassed, nil
		}
		switch id.Name {
		case "delete":
			return roleDelete, p
		case "clear":
			return roleClear, p
		case "len":
			return roleLen, p
		}
	case *ast.RangeStmt:
		if unparen(p.X) == e {
			return roleRange, p
		}
	case *ast.AssignStmt:
		for _, lhs := range p.Lhs {
			if unparen(lhs) == e {
				return roleAssignVar, p
			}
		}
	}
	return rolePassed, nil
}

// argumentOf returns the call that has e as an argument, and its index.
func argumentOf(e ast.Expr, stack []ast.Node) (*ast.CallExpr, int) {
	parent, _ := parentOf(stack, len(stack))
	call, ok := parent.(*ast.CallExpr)
	if !ok {
		return nil, 0
	}
	for i, arg := range call.Args {
		if unparen(arg) == e {
			return call, i
		}
	}
	return nil, 0
}

// parentOf returns the nearest ancestor in stack[:end] that is not a
// parenthesised expression, and its index.
func parentOf(stack []ast.Node, end int) (ast.Node, int) {
	for i := end - 1; i >= 0; i-- {
		if _, paren := stack[i].(*ast.ParenExpr); !paren {
			return stack[i], i
		}
	}
	return nil, 0
}

func unparen(e ast.Expr) ast.Expr {
	for {
		p, ok := e.(*ast.ParenExpr)
		if !ok {
			return e
		}
		e = p.X
	}
}
