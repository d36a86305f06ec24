// Package typeinfer writes Go types as source syntax for a rewritten map.
//
// A rewritten map needs its key and element types written out: in its new
// declaration (*safemap.Map[K, V]), in constructors (safemap.New[K, V]()),
// and in the parameter of an update callback (func(v V) V). The source's own
// type expressions are reused wherever the code has them, because they keep
// aliases, qualifiers and type parameters as the author wrote them. Where
// there is no syntax (a use in another file or package), the type is
// synthesised from go/types, relative to the package that will contain it;
// types that cannot be named there (unexported types of another package,
// types declared inside a function) are an error, so the caller can refuse
// the rewrite instead of emitting code that does not compile.
package typeinfer

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"strconv"

	"github.com/dave/dst"
)

// Elems returns the key and element types of a map type, looking through
// named types and aliases. ok is false when t is not a map.
func Elems(t types.Type) (key, elem types.Type, ok bool) {
	if t == nil {
		return nil, nil, false
	}
	m, ok := t.Underlying().(*types.Map)
	if !ok {
		return nil, nil, false
	}
	return m.Key(), m.Elem(), true
}

// Namer names the packages that synthesised type expressions refer to, in
// the file that will contain them. It returns the name under which the file
// imports path, adding the import if needed.
type Namer func(path, name string) string

// Expr synthesises a type expression for t, to be placed in package from.
// Packages other than from are referred to through namer.
func Expr(t types.Type, from *types.Package, namer Namer) (dst.Expr, error) {
	s := synth{from: from, namer: namer}
	return s.expr(t)
}

type synth struct {
	from  *types.Package
	namer Namer
}

func (s synth) expr(t types.Type) (dst.Expr, error) {
	switch t := t.(type) {
	case *types.Basic:
		if t.Kind() == types.UnsafePointer {
			return nil, fmt.Errorf("type %s needs package unsafe", t)
		}
		if t.Info()&types.IsUntyped != 0 {
			return nil, fmt.Errorf("untyped %s has no type expression", t)
		}
		return dst.NewIdent(t.Name()), nil
	case *types.Alias:
		return s.named(t.Obj(), t.TypeArgs())
	case *types.Named:
		return s.named(t.Obj(), t.TypeArgs())
	case *types.TypeParam:
		return dst.NewIdent(t.Obj().Name()), nil
	case *types.Pointer:
		x, err := s.expr(t.Elem())
		if err != nil {
			return nil, err
		}
		return &dst.StarExpr{X: x}, nil
	case *types.Slice:
		x, err := s.expr(t.Elem())
		if err != nil {
			return nil, err
		}
		return &dst.ArrayType{Elt: x}, nil
	case *types.Array:
		x, err := s.expr(t.Elem())
		if err != nil {
			return nil, err
		}
		n := &dst.BasicLit{Kind: token.INT, Value: strconv.FormatInt(t.Len(), 10)}
		return &dst.ArrayType{Len: n, Elt: x}, nil
	case *types.Map:
		k, err := s.expr(t.Key())
		if err != nil {
			return nil, err
		}
		v, err := s.expr(t.Elem())
		if err != nil {
			return nil, err
		}
		return &dst.MapType{Key: k, Value: v}, nil
	case *types.Chan:
		x, err := s.expr(t.Elem())
		if err != nil {
			return nil, err
		}
		dir := dst.SEND | dst.RECV
		switch t.Dir() {
		case types.SendOnly:
			dir = dst.SEND
		case types.RecvOnly:
			dir = dst.RECV
		}
		return &dst.ChanType{Dir: dir, Value: x}, nil
	case *types.Signature:
		return s.signature(t)
	case *types.Struct:
		return s.structType(t)
	case *types.Interface:
		if t.Empty() {
			return dst.NewIdent("any"), nil
		}
		return s.interfaceType(t)
	}
	return nil, fmt.Errorf("cannot write type %s as source", t)
}

func (s synth) named(obj *types.TypeName, targs *types.TypeList) (dst.Expr, error) {
	var x dst.Expr
	switch pkg := obj.Pkg(); {
	case pkg == nil: // error, comparable, any
		x = dst.NewIdent(obj.Name())
	case pkg == s.from:
		if obj.Parent() != nil && obj.Parent() != pkg.Scope() {
			return nil, fmt.Errorf("type %s is declared inside a function", obj.Name())
		}
		x = dst.NewIdent(obj.Name())
	default:
		if !obj.Exported() {
			return nil, fmt.Errorf("type %s.%s is not exported, so package %s cannot name it", pkg.Path(), obj.Name(), s.from.Path())
		}
		x = &dst.SelectorExpr{X: dst.NewIdent(s.namer(pkg.Path(), pkg.Name())), Sel: dst.NewIdent(obj.Name())}
	}
	if targs == nil || targs.Len() == 0 {
		return x, nil
	}
	var args []dst.Expr
	for i := range targs.Len() {
		a, err := s.expr(targs.At(i))
		if err != nil {
			return nil, err
		}
		args = append(args, a)
	}
	if len(args) == 1 {
		return &dst.IndexExpr{X: x, Index: args[0]}, nil
	}
	return &dst.IndexListExpr{X: x, Indices: args}, nil
}

func (s synth) signature(sig *types.Signature) (dst.Expr, error) {
	params, err := s.tuple(sig.Params(), sig.Variadic())
	if err != nil {
		return nil, err
	}
	results, err := s.tuple(sig.Results(), false)
	if err != nil {
		return nil, err
	}
	ft := &dst.FuncType{Func: true, Params: params}
	if len(results.List) > 0 {
		ft.Results = results
	}
	return ft, nil
}

func (s synth) tuple(t *types.Tuple, variadic bool) (*dst.FieldList, error) {
	fl := &dst.FieldList{}
	for i := range t.Len() {
		v := t.At(i)
		var typ dst.Expr
		var err error
		if variadic && i == t.Len()-1 {
			var x dst.Expr
			x, err = s.expr(v.Type().(*types.Slice).Elem())
			typ = &dst.Ellipsis{Elt: x}
		} else {
			typ, err = s.expr(v.Type())
		}
		if err != nil {
			return nil, err
		}
		fl.List = append(fl.List, &dst.Field{Type: typ})
	}
	return fl, nil
}

func (s synth) structType(st *types.Struct) (dst.Expr, error) {
	fl := &dst.FieldList{Opening: true, Closing: true}
	for i := range st.NumFields() {
		f := st.Field(i)
		typ, err := s.expr(f.Type())
		if err != nil {
			return nil, err
		}
		field := &dst.Field{Type: typ}
		if !f.Embedded() {
			if !f.Exported() && f.Pkg() != s.from {
				return nil, fmt.Errorf("struct type has unexported field %s of package %s", f.Name(), f.Pkg().Path())
			}
			field.Names = []*dst.Ident{dst.NewIdent(f.Name())}
		}
		if tag := st.Tag(i); tag != "" {
			field.Tag = &dst.BasicLit{Kind: token.STRING, Value: strconv.Quote(tag)}
		}
		fl.List = append(fl.List, field)
	}
	return &dst.StructType{Fields: fl}, nil
}

func (s synth) interfaceType(it *types.Interface) (dst.Expr, error) {
	fl := &dst.FieldList{Opening: true, Closing: true}
	for i := range it.NumEmbeddeds() {
		x, err := s.expr(it.EmbeddedType(i))
		if err != nil {
			return nil, err
		}
		fl.List = append(fl.List, &dst.Field{Type: x})
	}
	for i := range it.NumExplicitMethods() {
		m := it.ExplicitMethod(i)
		if !m.Exported() && m.Pkg() != s.from {
			return nil, fmt.Errorf("interface has unexported method %s of package %s", m.Name(), m.Pkg().Path())
		}
		sig, err := s.signature(m.Type().(*types.Signature))
		if err != nil {
			return nil, err
		}
		ft := sig.(*dst.FuncType)
		ft.Func = false
		fl.List = append(fl.List, &dst.Field{Names: []*dst.Ident{dst.NewIdent(m.Name())}, Type: ft})
	}
	return &dst.InterfaceType{Methods: fl}, nil
}

// MapTypeSyntax finds the map type expression that declares obj's type in
// file: the Type of its var spec, field or parameter, when it is written as a
// map literal type map[K]V. It returns nil when the declaration has no such
// syntax (the type is inferred, or is a named map type).
func MapTypeSyntax(file *ast.File, obj types.Object) *ast.MapType {
	var found *ast.MapType
	ast.Inspect(file, func(n ast.Node) bool {
		if found != nil {
			return false
		}
		var names []*ast.Ident
		var typ ast.Expr
		switch n := n.(type) {
		case *ast.ValueSpec:
			names, typ = n.Names, n.Type
		case *ast.Field:
			names, typ = n.Names, n.Type
		default:
			return true
		}
		for _, id := range names {
			if id.Pos() == obj.Pos() {
				found, _ = ast.Unparen(typ).(*ast.MapType)
				return false
			}
		}
		return true
	})
	return found
}
