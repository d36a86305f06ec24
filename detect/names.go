package detect

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"sort"
	"strings"

	"golang.org/x/tools/go/packages"
)

// IsMapVar reports whether obj is a variable or field whose type is a map.
func IsMapVar(obj types.Object) bool {
	v, ok := obj.(*types.Var)
	if !ok {
		return false
	}
	_, isMap := v.Type().Underlying().(*types.Map)
	return isMap
}

// ObjectName returns the user-facing name of a map object in pkg:
// "pkgpath.Var" for a package-level variable, "pkgpath.Type.field" for a
// field of a named struct type, and "pkgpath.Func.local" for a local
// variable ("pkgpath.Type.Method.local" in a method). file is the syntax
// that declares obj; it is needed only for locals and anonymous fields.
func ObjectName(pkg *types.Package, file *ast.File, obj types.Object) string {
	v, _ := obj.(*types.Var)
	prefix := pkg.Path() + "."
	switch {
	case v == nil:
		return prefix + obj.Name()
	case v.IsField():
		if owner := fieldOwner(pkg, file, v); owner != "" {
			return prefix + owner + "." + v.Name()
		}
		return prefix + enclosingFunc(file, v.Pos()) + "." + v.Name()
	case v.Parent() == pkg.Scope():
		return prefix + v.Name()
	default:
		return prefix + enclosingFunc(file, v.Pos()) + "." + v.Name()
	}
}

// fieldOwner names the package-level type whose struct declares field f
// directly, or "" when none does (a field of an anonymous struct). When
// several types share that struct (type B A), the one whose declaration
// holds the field is named.
//
// It reads file, where f is declared, when it can: names are asked for
// every map object of a module, and scanning the package scope, which
// sorts its names on every call, cost about a second on a large module.
func fieldOwner(pkg *types.Package, file *ast.File, f *types.Var) string {
	if file != nil && file.Pos() <= f.Pos() && f.Pos() < file.End() {
		return declaringTypeSpec(file, f.Pos())
	}
	scope := pkg.Scope()
	owner, ownerPos := "", token.NoPos
	for _, name := range scope.Names() {
		tn, ok := scope.Lookup(name).(*types.TypeName)
		if !ok || tn.Pos() > f.Pos() || tn.Pos() < ownerPos {
			continue
		}
		st, ok := tn.Type().Underlying().(*types.Struct)
		if !ok {
			continue
		}
		for i := range st.NumFields() {
			if st.Field(i) == f || st.Field(i).Pos() == f.Pos() {
				// The declaring type is the nearest one before the field.
				owner, ownerPos = name, tn.Pos()
				break
			}
		}
	}
	return owner
}

// declaringTypeSpec names the top-level type of file whose struct type
// literal declares the field at pos directly, or "".
func declaringTypeSpec(file *ast.File, pos token.Pos) string {
	for _, d := range file.Decls {
		gd, ok := d.(*ast.GenDecl)
		if !ok || gd.Tok != token.TYPE || pos < gd.Pos() || pos >= gd.End() {
			continue
		}
		for _, spec := range gd.Specs {
			ts := spec.(*ast.TypeSpec)
			st, ok := ts.Type.(*ast.StructType)
			if !ok || pos < st.Pos() || pos >= st.End() {
				continue
			}
			for _, field := range st.Fields.List {
				if len(field.Names) == 0 && field.Pos() <= pos && pos < field.End() {
					return ts.Name.Name // an embedded field
				}
				for _, name := range field.Names {
					if name.Pos() == pos {
						return ts.Name.Name
					}
				}
			}
		}
	}
	return ""
}

// enclosingFunc names the top-level function or method declared in file
// around pos: "F", or "T.M" for a method.
func enclosingFunc(file *ast.File, pos token.Pos) string {
	if file == nil {
		return "?"
	}
	for _, d := range file.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || pos < fd.Pos() || pos >= fd.End() {
			continue
		}
		if fd.Recv == nil || len(fd.Recv.List) == 0 {
			return fd.Name.Name
		}
		return RecvTypeName(fd.Recv.List[0].Type) + "." + fd.Name.Name
	}
	return "init"
}

// RecvTypeName returns the name of the type of a method receiver
// expression (*T, T[K, V], (T)), or "?".
func RecvTypeName(e ast.Expr) string {
	for {
		switch x := e.(type) {
		case *ast.StarExpr:
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.IndexListExpr:
			e = x.X
		case *ast.ParenExpr:
			e = x.X
		case *ast.Ident:
			return x.Name
		default:
			return "?"
		}
	}
}

// MapObjects lists every map object declared in the packages, keyed by
// user-facing name. Objects are found through their declaring identifiers,
// so each appears once per package variant; the first wins.
func MapObjects(pkgs []*packages.Package) map[string]Declared {
	objs := map[string]Declared{}
	for _, p := range pkgs {
		for _, f := range p.Syntax {
			ast.Inspect(f, func(n ast.Node) bool {
				id, ok := n.(*ast.Ident)
				if !ok {
					return true
				}
				obj := p.TypesInfo.Defs[id]
				if obj == nil || !IsMapVar(obj) {
					return true
				}
				name := ObjectName(p.Types, f, obj)
				if _, dup := objs[name]; !dup {
					objs[name] = Declared{Object: obj, Pkg: p, File: f}
				}
				return true
			})
		}
	}
	return objs
}

// Declared is a map object with the package and file that declare it.
type Declared struct {
	Object types.Object
	Pkg    *packages.Package
	File   *ast.File
}

// Lookup resolves user-given object names (--only, --exclude) against the
// map objects of pkgs. An unknown name is an error that lists near names,
// so a typo does not silently select nothing.
func Lookup(pkgs []*packages.Package, names []string) ([]Declared, error) {
	if len(names) == 0 {
		return nil, nil
	}
	all := MapObjects(pkgs)
	var found []Declared
	var unknown []string
	for _, n := range names {
		d, ok := all[n]
		if !ok {
			unknown = append(unknown, n)
			continue
		}
		found = append(found, d)
	}
	if len(unknown) > 0 {
		unknown = withoutConverted(pkgs, unknown)
	}
	if len(unknown) > 0 {
		var known []string
		for name := range all {
			for _, u := range unknown {
				if strings.HasSuffix(name, "."+lastElem(u)) || editDistance(lastElem(name), lastElem(u)) <= 2 {
					known = append(known, name)
					break
				}
			}
		}
		sort.Strings(known)
		msg := fmt.Sprintf("no map object named %s", strings.Join(unknown, ", "))
		if len(known) > 0 {
			msg += "; did you mean " + strings.Join(known, ", ") + "?"
		} else {
			msg += "; name objects as pkgpath.Var, pkgpath.Type.field or pkgpath.Func.local"
		}
		return nil, fmt.Errorf("%s", msg)
	}
	return found, nil
}

// editDistance is the Levenshtein distance between a and b, for suggesting
// the name the user probably meant.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

func lastElem(name string) string {
	if i := strings.LastIndex(name, "."); i >= 0 {
		return name[i+1:]
	}
	return name
}

// withoutConverted drops the names of objects that were maps and have
// already been made safe: variables and fields whose type is a pointer to a
// safemap.Map. Naming them again (a second run with the same --only) is not
// a mistake; there is simply nothing left to do.
func withoutConverted(pkgs []*packages.Package, names []string) []string {
	converted := map[string]bool{}
	for _, p := range pkgs {
		for _, f := range p.Syntax {
			ast.Inspect(f, func(n ast.Node) bool {
				id, ok := n.(*ast.Ident)
				if !ok {
					return true
				}
				if v, ok := p.TypesInfo.Defs[id].(*types.Var); ok && isSafeMap(v.Type()) {
					converted[ObjectName(p.Types, f, v)] = true
				}
				return true
			})
		}
	}
	var out []string
	for _, n := range names {
		if !converted[n] {
			out = append(out, n)
		}
	}
	return out
}

// isSafeMap reports whether t is *safemap.Map[K, V].
func isSafeMap(t types.Type) bool {
	ptr, ok := t.(*types.Pointer)
	if !ok {
		return false
	}
	named, ok := types.Unalias(ptr.Elem()).(*types.Named)
	if !ok || named.Obj().Pkg() == nil {
		return false
	}
	return named.Obj().Name() == "Map" && named.Obj().Pkg().Name() == "safemap"
}
