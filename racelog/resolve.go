package racelog

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"sort"
	"strings"

	"github.com/safemapfix/safemapfix/detect"
	"github.com/safemapfix/safemapfix/load"
)

// resolve finds the code that performed access a and the map expression it
// used there.
func (l *locator) resolve(a *Access) *site {
	s := &site{access: a}
	start := -1
	for i, f := range a.Stack {
		if a.Op == Direct && i > 0 {
			// Compiled code touched the memory itself: the top frame is the
			// code that did it. If it is not loaded code, following the
			// stack down would blame the wrong line.
			break
		}
		if lf := l.idx.lookup(f); lf != nil {
			s.file, s.frame, start = lf, f, i
			break
		}
	}
	if s.file == nil {
		s.why = l.outside(a)
		return s
	}
	if msg := l.staleFrame(s.file, s.frame); msg != "" {
		s.why, s.stale = msg, true
		return s
	}
	indirect := false
	for _, f := range a.Stack[:start] {
		if !isMapImplementation(f) {
			indirect = true // e.g. fmt printing the map, maps.Copy, a library
		}
	}
	uses := s.file.usesOnLine(l.fset, s.frame.Line)
	if len(uses) == 0 {
		s.why = fmt.Sprintf("no map expression at %s:%d", relPath(s.file), s.frame.Line)
		if indirect {
			s.why += fmt.Sprintf(": the map was reached inside %s, through a value that holds it (reflection, as encoding/json and fmt do, or a struct passed on)", libraryCallee(a.Stack[:start]))
		}
		return s
	}
	if callee, ok := copyCallee(a.Stack[:start]); ok {
		uses = copyArgument(s.file.pkg.TypesInfo, uses, callee, a.Write)
	}
	s.use, s.why = pick(s.file.pkg.TypesInfo, uses, allowedRoles(a, indirect))
	if s.use == nil {
		s.why = fmt.Sprintf("%s:%d: %s", relPath(s.file), s.frame.Line, s.why)
		return s
	}
	s.obj, s.why = objectOf(s.file, s.use.expr)
	if s.obj == nil {
		s.why = fmt.Sprintf("%s: %s", l.fset.Position(s.use.expr.Pos()), s.why)
		return s
	}
	s.obj, s.via = l.throughParams(a, start, s.file, s.obj)
	return s
}

// throughParams follows a map parameter back to the variable or field the
// caller passed, using the caller's frame in the stack, as long as each
// caller passes a named map. It returns v itself when v is not a
// parameter or the argument cannot be named, and the parameters it went
// through.
func (l *locator) throughParams(a *Access, frame int, lf *loadedFile, v *types.Var) (*types.Var, []string) {
	var via []string
	for frame+1 < len(a.Stack) {
		fn, index := paramOf(lf, v)
		if fn == nil {
			break
		}
		caller := a.Stack[frame+1]
		clf := l.idx.lookup(caller)
		if clf == nil {
			break
		}
		arg := argumentAt(l.fset, clf, caller.Line, load.ObjectID(l.fset, fn), index)
		if arg == nil {
			break
		}
		obj, _ := objectOf(clf, arg)
		if obj == nil {
			break
		}
		what := "parameter"
		if index == receiver {
			what = "receiver"
		}
		via = append(via, fmt.Sprintf("%s %s of %s", what, v.Name(), fn.Name()))
		v, lf, frame = obj, clf, frame+1
	}
	return v, via
}

// receiver is paramOf's index for a method's receiver.
const receiver = -1

// paramOf returns the function declared in lf that has v as a parameter,
// and v's index among the parameters, or receiver; nil for anything else
// (variadic parameters, parameters of function literals).
func paramOf(lf *loadedFile, v *types.Var) (*types.Func, int) {
	for _, d := range lf.file.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || v.Pos() < fd.Type.Pos() || v.Pos() >= fd.Type.End() || fd.Type.Params == nil {
			continue
		}
		fn, _ := lf.pkg.TypesInfo.Defs[fd.Name].(*types.Func)
		if fd.Recv != nil {
			for _, field := range fd.Recv.List {
				for _, name := range field.Names {
					if lf.pkg.TypesInfo.Defs[name] == v {
						return fn, receiver // a method of a named map type
					}
				}
			}
		}
		index := 0
		for _, field := range fd.Type.Params.List {
			if _, variadic := field.Type.(*ast.Ellipsis); variadic {
				return nil, 0
			}
			for _, name := range field.Names {
				if lf.pkg.TypesInfo.Defs[name] == v {
					return fn, index
				}
				index++
			}
			if len(field.Names) == 0 {
				index++
			}
		}
	}
	return nil, 0
}

// argumentAt returns argument index (or the receiver) of the call to the
// function with ObjectID fnID on line of lf, or nil when there is not
// exactly one.
func argumentAt(fset *token.FileSet, lf *loadedFile, line int, fnID string, index int) ast.Expr {
	info := lf.pkg.TypesInfo
	var found []ast.Expr
	ast.Inspect(lf.file, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || fset.Position(call.Pos()).Line > line || fset.Position(call.End()).Line < line {
			return true
		}
		var id *ast.Ident
		switch f := unparen(call.Fun).(type) {
		case *ast.Ident:
			id = f
		case *ast.SelectorExpr:
			id = f.Sel
		case *ast.IndexExpr: // an explicit instantiation, f[T](m)
			if x, ok := unparen(f.X).(*ast.Ident); ok {
				id = x
			}
		}
		if id == nil || call.Ellipsis.IsValid() || index >= len(call.Args) {
			return true
		}
		fn, ok := info.Uses[id].(*types.Func)
		if !ok || load.ObjectID(fset, fn.Origin()) != fnID {
			return true
		}
		if index == receiver {
			if sel, ok := unparen(call.Fun).(*ast.SelectorExpr); ok {
				found = append(found, sel.X)
			}
			return true
		}
		found = append(found, call.Args[index])
		return true
	})
	if len(found) != 1 {
		return nil
	}
	return found[0]
}

// staleFrame checks that the frame's line lies in the function the frame
// names, and explains the mismatch if not: a log made from other sources
// than those loaded would otherwise blame whatever map is on the line now.
func (l *locator) staleFrame(lf *loadedFile, f Frame) string {
	var decl *ast.FuncDecl
	for _, d := range lf.file.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if ok && l.fset.Position(fd.Pos()).Line <= f.Line && f.Line <= l.fset.Position(fd.End()).Line {
			decl = fd
			break
		}
	}
	if decl == nil {
		return "" // a package-level initialiser: glob..func1, init
	}
	want := decl.Name.Name
	if decl.Recv != nil && len(decl.Recv.List) > 0 {
		want = detect.RecvTypeName(decl.Recv.List[0].Type) + "." + want
	}
	slash := strings.LastIndex(f.Func, "/")
	dot := strings.Index(f.Func[slash+1:], ".")
	if dot < 0 {
		return ""
	}
	got := strings.NewReplacer("(*", "", ")", "").Replace(stripTypeArgs(f.Func[slash+1+dot+1:]))
	if rest, ok := strings.CutPrefix(got, want); ok && (rest == "" || rest[0] == '.' || rest[0] == '-') {
		return ""
	}
	if want == "init" && strings.HasPrefix(got, "init") {
		return ""
	}
	return fmt.Sprintf("%s:%d is in %s now, but the log says %s ran there: the code has changed since the log was made; run the tests again for a fresh log",
		relPath(lf), f.Line, want, f.Func)
}

// stripTypeArgs removes the type arguments of generic functions and types
// from a function name as stacks print it: "(*Cache[...]).Put" and
// "(*Cache[go.shape.string,go.shape.[]uint8]).Put" both become
// "(*Cache).Put".
func stripTypeArgs(name string) string {
	var b strings.Builder
	depth := 0
	for _, r := range name {
		switch {
		case r == '[':
			depth++
		case r == ']' && depth > 0:
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// outside explains an access with no frame in the loaded code.
func (l *locator) outside(a *Access) string {
	if len(a.Stack) == 0 {
		return "the race detector could not restore the stack"
	}
	f := a.Stack[0]
	if site, ok := a.Site(); ok && a.Op != Direct {
		f = site
	}
	return fmt.Sprintf("%s (%s:%d) is not in the loaded packages", f.Func, f.File, f.Line)
}

// copyCallee reports whether the map operation happened inside maps.Copy,
// which writes its first argument and reads its second.
func copyCallee(frames []Frame) (string, bool) {
	for _, f := range frames {
		if strings.HasPrefix(f.Func, "maps.Copy") {
			return "Copy", true
		}
	}
	return "", false
}

// copyArgument keeps, among the maps passed to a call of the standard
// library's maps.Copy(dst, src) on the line, the one the access touched:
// dst for a write, src for a read. Other uses are kept as they are.
func copyArgument(info *types.Info, uses []*mapUse, callee string, write bool) []*mapUse {
	want := 1
	if write {
		want = 0
	}
	var out []*mapUse
	for _, u := range uses {
		if u.call != nil && isCallTo(info, u.call, "maps", callee) && u.arg != want {
			continue
		}
		out = append(out, u)
	}
	return out
}

// isCallTo reports whether call calls the function pkgPath.name.
func isCallTo(info *types.Info, call *ast.CallExpr, pkgPath, name string) bool {
	fun := unparen(call.Fun)
	switch ix := fun.(type) { // maps.Copy[M1, M2](...)
	case *ast.IndexExpr:
		fun = ix.X
	case *ast.IndexListExpr:
		fun = ix.X
	}
	sel, ok := unparen(fun).(*ast.SelectorExpr)
	if !ok {
		return false
	}
	fn, ok := info.Uses[sel.Sel].(*types.Func)
	return ok && fn.Name() == name && fn.Pkg() != nil && fn.Pkg().Path() == pkgPath
}

// libraryCallee names the outermost frame between the map operation and
// the code that called into it: the function the user's code called.
func libraryCallee(frames []Frame) string {
	for i := len(frames) - 1; i >= 0; i-- {
		if !isMapImplementation(frames[i]) {
			return frames[i].Func
		}
	}
	return "the runtime"
}

// isMapImplementation reports whether f is a frame of the runtime itself,
// which sits between a map operation and the code that asked for it.
func isMapImplementation(f Frame) bool {
	return strings.HasPrefix(f.Func, "runtime.") || strings.HasPrefix(f.Func, "internal/runtime/")
}

// allowedRoles lists the syntactic roles that can produce access a, best
// first.
func allowedRoles(a *Access, indirect bool) []role {
	var roles []role
	switch a.Op {
	case Lookup:
		roles = []role{roleRead, roleCommaOk, roleUpdate}
	case Assign:
		roles = []role{roleStore, roleUpdate}
	case Delete:
		roles = []role{roleDelete}
	case Clear:
		roles = []role{roleClear, roleRange}
	case Iterate:
		roles = []role{roleRange}
	case Clone:
		roles = []role{rolePassed}
	case Write:
		roles = []role{roleStore, roleUpdate, roleDelete, roleClear}
	case Read:
		roles = []role{roleRead, roleCommaOk, roleLen}
	case Direct:
		if a.Write {
			roles = []role{roleStore, roleUpdate, roleAssignVar}
		} else {
			roles = []role{roleLen, roleRead, roleCommaOk, roleRange, rolePassed}
		}
	}
	if indirect {
		// The map operation happened in a callee that received the map.
		roles = append([]role{rolePassed}, roles...)
	}
	return roles
}

// pick chooses the map expression that the access is about among the map
// expressions of its line: those whose role fits, best role first. It
// fails when several maps fit equally well.
func pick(info *types.Info, uses []*mapUse, roles []role) (*mapUse, string) {
	rank := func(r role) int {
		for i, x := range roles {
			if x == r {
				return i
			}
		}
		return -1
	}
	bestRank := -1
	var best []*mapUse
	for _, u := range uses {
		r := rank(u.role)
		switch {
		case r < 0:
		case bestRank < 0 || r < bestRank:
			bestRank, best = r, []*mapUse{u}
		case r == bestRank:
			best = append(best, u)
		}
	}
	if len(best) == 0 {
		var found []string
		for _, u := range uses {
			found = append(found, fmt.Sprintf("%s (%s)", types.ExprString(u.expr), accessOp[u.role]))
		}
		return nil, fmt.Sprintf("the reported operation matches none of the map expressions there: %s", strings.Join(found, ", "))
	}
	if named := namedUses(best); len(named) > 0 {
		// A map that was handed to a callee (maps.Clone(m)) ties with
		// the callee's result; the variable is the one accessed.
		best = named
	}
	distinct := map[string]*mapUse{}
	for _, u := range best {
		distinct[useKey(info, u)] = u
	}
	if len(distinct) > 1 {
		var names []string
		for _, u := range distinct {
			names = append(names, types.ExprString(u.expr))
		}
		sort.Strings(names)
		return nil, fmt.Sprintf("several maps fit the report: %s", strings.Join(names, ", "))
	}
	return best[0], ""
}

// namedUses returns the uses that name a variable or field.
func namedUses(uses []*mapUse) []*mapUse {
	var named []*mapUse
	for _, u := range uses {
		switch unparen(u.expr).(type) {
		case *ast.Ident, *ast.SelectorExpr:
			named = append(named, u)
		}
	}
	return named
}

// useKey identifies the map a use names: its object, or its text when it
// has none.
func useKey(info *types.Info, u *mapUse) string {
	switch e := u.expr.(type) {
	case *ast.Ident:
		if obj := info.Uses[e]; obj != nil {
			return fmt.Sprint(obj.Pos())
		}
	case *ast.SelectorExpr:
		if sel := info.Selections[e]; sel != nil {
			return fmt.Sprint(sel.Obj().Pos())
		}
		if obj := info.Uses[e.Sel]; obj != nil {
			return fmt.Sprint(obj.Pos())
		}
	}
	return types.ExprString(u.expr)
}

// objectOf returns the variable or field that map expression e names,
// following local aliases (c := s.cache) back to what they copy.
func objectOf(lf *loadedFile, e ast.Expr) (*types.Var, string) {
	info := lf.pkg.TypesInfo
	const maxAliases = 8
	for range maxAliases {
		var obj types.Object
		switch x := unparen(e).(type) {
		case *ast.Ident:
			obj = info.Uses[x]
		case *ast.SelectorExpr:
			if sel := info.Selections[x]; sel != nil {
				if sel.Kind() != types.FieldVal {
					return nil, fmt.Sprintf("%s is a method value, not a map variable", types.ExprString(x))
				}
				obj = sel.Obj()
			} else {
				obj = info.Uses[x.Sel]
			}
		default:
			return nil, fmt.Sprintf("the map %s is not a variable or field", types.ExprString(e))
		}
		v, ok := obj.(*types.Var)
		if !ok {
			return nil, fmt.Sprintf("%s is not a variable or field", types.ExprString(e))
		}
		src := aliasSource(lf, v)
		if src == nil {
			return v, ""
		}
		e = src
	}
	return nil, fmt.Sprintf("too many aliases to follow from %s", types.ExprString(e))
}

// aliasSource returns the expression a local map variable was initialised
// from when the variable is a plain alias: declared with one value that
// names another variable or field (x := s.m, var x = m), and never
// assigned again in its file. Otherwise it returns nil.
func aliasSource(lf *loadedFile, v *types.Var) ast.Expr {
	if v.IsField() || v.Parent() == nil || v.Pkg() == nil || v.Parent() == v.Pkg().Scope() {
		return nil
	}
	info := lf.pkg.TypesInfo
	var src ast.Expr
	reassigned := false
	defines := func(id ast.Expr) bool {
		i, ok := id.(*ast.Ident)
		return ok && info.Defs[i] == v
	}
	assigns := func(id ast.Expr) bool {
		i, ok := unparen(id).(*ast.Ident)
		return ok && info.Uses[i] == v
	}
	ast.Inspect(lf.file, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			for i, lhs := range n.Lhs {
				switch {
				case defines(lhs) && len(n.Lhs) == len(n.Rhs):
					src = n.Rhs[i]
				case assigns(lhs):
					reassigned = true
				}
			}
		case *ast.ValueSpec:
			for i, name := range n.Names {
				if defines(name) && len(n.Names) == len(n.Values) {
					src = n.Values[i]
				}
			}
		case *ast.UnaryExpr:
			if n.Op == token.AND && assigns(n.X) {
				reassigned = true // &x may be written through
			}
		}
		return true
	})
	if reassigned || src == nil {
		return nil
	}
	switch unparen(src).(type) {
	case *ast.Ident, *ast.SelectorExpr:
		if isMap(info.TypeOf(src)) {
			return src
		}
	}
	return nil
}
