package detect

import (
	"go/token"
	"go/types"

	"golang.org/x/tools/go/ssa"
)

// A slice made by a function and filled in place before it is returned
// (a deep copy: out := make([]T, n); out[i].m = make(map...);
// out[i].m[k] = v) holds elements that belong to the activation, as a
// struct it allocates does: the maps written through them are the
// activation's own, even when other activations do the same at once.
//
// The elements are the activation's when the slice, and every slice kept
// in a field of its elements, is made in the activation and reaches
// nothing but element and field addresses that are read or written in
// place, the builtins len and cap, and a return or a field of a struct
// the activation owns; and when every value stored into such a field, or
// into an element whole, is one of these slices, nil, or a composite
// literal that sets no field able to hold a map from elsewhere.

// ownedElems reports whether every element of the slice s is a struct
// that belongs to the current activation (see above).
func (a *analysis) ownedElems(s ssa.Value) bool {
	return a.elemAliases(s) != nil
}

// elemAliases returns the slice values of s's function that may share
// its backing array, s among them: the slices made there that s may be,
// the phis and reslicings that hold them, and, for a slice kept in a
// field of owned structs, every slice stored into that field and every
// load from it. It returns nil unless each of them keeps its elements in
// the activation, and nothing but those may be s.
func (a *analysis) elemAliases(s ssa.Value) []ssa.Value {
	if out, ok := a.aliasMemo[s]; ok {
		return out // nil while s is being worked out: not shown owned
	}
	a.aliasMemo[s] = nil
	var out []ssa.Value
	seen := map[ssa.Value]bool{}
	var add func(v ssa.Value) bool
	addField := func(fa *ssa.FieldAddr) bool {
		addrs := a.sameFieldAddrs(fa)
		if addrs == nil {
			return false
		}
		for _, addr := range addrs {
			for _, r := range *addr.Referrers() {
				switch r := r.(type) {
				case *ssa.Store:
					if r.Addr == addr && !add(r.Val) {
						return false
					}
				case *ssa.UnOp:
					if !add(r) {
						return false
					}
				}
			}
		}
		return true
	}
	add = func(v ssa.Value) bool {
		if seen[v] {
			return true
		}
		seen[v] = true
		switch v := v.(type) {
		case *ssa.Const:
			return v.IsNil()
		case *ssa.MakeSlice:
		case *ssa.Phi:
			for _, e := range v.Edges {
				if !add(e) {
					return false
				}
			}
		case *ssa.Slice:
			if _, ok := v.X.Type().Underlying().(*types.Slice); !ok || !add(v.X) {
				return false
			}
		case *ssa.UnOp:
			fa, ok := v.X.(*ssa.FieldAddr)
			if !ok || v.Op != token.MUL || !addField(fa) {
				return false
			}
		default:
			return false
		}
		out = append(out, v)
		for _, r := range *v.Referrers() {
			if !a.keepsSlice(v, r) {
				return false
			}
			switch r := r.(type) {
			case *ssa.Phi, *ssa.Slice:
				if !add(r.(ssa.Value)) {
					return false
				}
			case *ssa.Store:
				// Kept in a field: the field's other slices and
				// loads are aliases, unless the struct is only
				// returned.
				if fa, ok := r.Addr.(*ssa.FieldAddr); ok && !onlyReturned(fa.X) && !addField(fa) {
					return false
				}
			}
		}
		return true
	}
	if !add(s) {
		out = nil
	}
	a.aliasMemo[s] = out
	return out
}

// sameFieldAddrs returns the addresses of fa's field in the structs the
// activation owns that fa may address a field of, when every one is
// known: in every element of the slices that may share the backing array
// of fa's element (elemAliases), or in a struct the function allocates
// and sets only in place. It returns nil when fa is not such an address.
func (a *analysis) sameFieldAddrs(fa *ssa.FieldAddr) []*ssa.FieldAddr {
	if alloc, ok := fa.X.(*ssa.Alloc); ok {
		if !structInPlace(alloc) || !a.freshBase(alloc, 0) {
			return nil
		}
		return allocFieldAddrs(alloc, fa.Field)
	}
	ix, ok := fa.X.(*ssa.IndexAddr)
	if !ok {
		return nil
	}
	aliases := a.elemAliases(ix.X)
	if aliases == nil {
		return nil
	}
	var addrs []*ssa.FieldAddr
	for _, v := range aliases {
		for _, r := range *v.Referrers() {
			elem, ok := r.(*ssa.IndexAddr)
			if !ok || elem.X != v {
				continue
			}
			for _, er := range *elem.Referrers() {
				if f, ok := er.(*ssa.FieldAddr); ok && f.Field == fa.Field {
					addrs = append(addrs, f)
				}
			}
		}
	}
	return addrs
}

// keepsSlice reports whether the use r of the slice v keeps it, and its
// elements, in the activation. Phis and reslicings are followed by
// elemAliases.
func (a *analysis) keepsSlice(v ssa.Value, r ssa.Instruction) bool {
	switch r := r.(type) {
	case *ssa.Phi, *ssa.Slice, *ssa.BinOp, *ssa.DebugRef, *ssa.Return:
		return true
	case *ssa.IndexAddr:
		return r.X == v && elemInPlace(r)
	case *ssa.Store:
		// Kept in a field of a struct the activation owns, or of one
		// it only returns.
		fa, ok := r.Addr.(*ssa.FieldAddr)
		return ok && r.Val == v && (a.freshBase(fa.X, 0) || onlyReturned(fa.X))
	case *ssa.Call:
		b, ok := r.Call.Value.(*ssa.Builtin)
		return ok && (b.Name() == "len" || b.Name() == "cap")
	}
	return false
}

// elemInPlace reports whether the element address ix is only read or
// written in place, its fields likewise, and an element stored whole
// brings no map from elsewhere.
func elemInPlace(ix *ssa.IndexAddr) bool {
	for _, r := range *ix.Referrers() {
		switch r := r.(type) {
		case *ssa.DebugRef:
		case *ssa.UnOp:
			if !copyKeptInPlace(r) {
				return false
			}
		case *ssa.FieldAddr:
			if !fieldInPlace(r) {
				return false
			}
		case *ssa.Store:
			if r.Addr != ix || !newValue(r.Val) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// copyKeptInPlace reports whether the copy of an element that load reads
// hands none of the element's maps on: its fields that may hold one are
// only read, ranged over or measured (for _, e := range out { n +=
// len(e.attrs) }).
func copyKeptInPlace(load *ssa.UnOp) bool {
	if !mayHoldMap(load.Type(), nil) {
		return true
	}
	for _, r := range *load.Referrers() {
		switch r := r.(type) {
		case *ssa.DebugRef:
		case *ssa.Field:
			if mayHoldMap(r.Type(), nil) && !onlyMapOps(r) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// fieldInPlace reports whether the field address fa is only loaded from
// and stored to.
func fieldInPlace(fa *ssa.FieldAddr) bool {
	for _, r := range *fa.Referrers() {
		switch r := r.(type) {
		case *ssa.UnOp, *ssa.DebugRef:
		case *ssa.Store:
			if r.Addr != fa {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// newValue reports whether the struct value v, stored whole into an
// element, holds no map or slice from elsewhere: the zero value, or a
// composite literal whose fields able to hold one are set only to maps or
// slices it makes, or nil.
func newValue(v ssa.Value) bool {
	switch v := v.(type) {
	case *ssa.Const:
		return true
	case *ssa.UnOp:
		lit, ok := v.X.(*ssa.Alloc)
		if !ok || v.Op != token.MUL || lit.Comment != "complit" {
			return false
		}
		for _, r := range *lit.Referrers() {
			switch r := r.(type) {
			case *ssa.UnOp, *ssa.DebugRef:
			case *ssa.FieldAddr:
				if fieldMayHoldMap(r) && !storesMadeOnly(r) {
					return false
				}
			default:
				return false
			}
		}
		return true
	}
	return false
}

// storesMadeOnly reports whether the field address fa is only stored to,
// with maps or slices just made, or nil.
func storesMadeOnly(fa *ssa.FieldAddr) bool {
	for _, r := range *fa.Referrers() {
		st, ok := r.(*ssa.Store)
		if !ok || st.Addr != fa {
			return false
		}
		switch v := st.Val.(type) {
		case *ssa.MakeMap, *ssa.MakeSlice:
		case *ssa.Const:
			if !v.IsNil() {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// givenSharedMap reports whether the map value m, used at instr, is
// loaded from a field of a struct whose map the function that made the
// struct may have shared by then: it stores into that field, of that
// struct, a map that others can reach (one loaded from a package variable,
// or from a field of a struct it does not own: e := &entry{}; e.attrs =
// defaults), or it hands the map it loads from there to a goroutine, a
// channel, a closure, an interface or memory (go watch(e.attrs)). The
// struct may be the activation's, but the map is not. What other
// functions do with the struct's field (a constructor's stores, a
// helper's goroutine) is not seen here.
func (a *analysis) givenSharedMap(m ssa.Value, instr ssa.Instruction) bool {
	fa := loadedField(m)
	if fa == nil {
		return false
	}
	var addrs []*ssa.FieldAddr
	switch x := fa.X.(type) {
	case *ssa.Alloc:
		addrs = allocFieldAddrs(x, fa.Field)
	case *ssa.IndexAddr:
		addrs = a.sameFieldAddrs(fa)
	}
	for _, addr := range addrs {
		for _, r := range *addr.Referrers() {
			switch r := r.(type) {
			case *ssa.Store:
				if r.Addr == addr && a.sharedMapValue(r.Val) && mayPrecede(r, instr) {
					return true
				}
			case *ssa.UnOp:
				if loadedMapShared(r, instr) {
					return true
				}
			}
		}
	}
	return false
}

// loadedMapShared reports whether the map that load reads may have been
// handed to another goroutine, or kept beyond the call chain, before
// instr: started with, sent, stored, captured, or converted to an
// interface other than for printing. Plain calls are taken to use it in
// place.
func loadedMapShared(load *ssa.UnOp, instr ssa.Instruction) bool {
	if !isMap(load.Type()) {
		return false
	}
	for _, r := range *load.Referrers() {
		shares := false
		switch r := r.(type) {
		case *ssa.Go, *ssa.Send, *ssa.MakeClosure, *ssa.Store:
			shares = true
		case *ssa.MakeInterface:
			shares = !printedOnly(r)
		}
		if shares && mayPrecede(r, instr) {
			return true
		}
	}
	return false
}

// sharedMapValue reports whether the map value v is loaded from a package
// variable or from a field of a struct the activation does not own.
func (a *analysis) sharedMapValue(v ssa.Value) bool {
	load, ok := v.(*ssa.UnOp)
	if !ok || load.Op != token.MUL {
		return false
	}
	switch x := load.X.(type) {
	case *ssa.Global:
		return true
	case *ssa.FieldAddr:
		return !a.freshBase(x.X, 0)
	}
	return false
}

// allocFieldAddrs returns the addresses of field number field of the
// struct alloc allocates.
func allocFieldAddrs(alloc *ssa.Alloc, field int) []*ssa.FieldAddr {
	var addrs []*ssa.FieldAddr
	for _, r := range *alloc.Referrers() {
		if f, ok := r.(*ssa.FieldAddr); ok && f.Field == field {
			addrs = append(addrs, f)
		}
	}
	return addrs
}

// onlyReturned reports whether the struct v is allocated by its function
// and published only by being returned, as itself or as an interface
// (return &Cmd{val: val}): everything else the function does happens
// before anyone else can see it.
func onlyReturned(v ssa.Value) bool {
	alloc, ok := v.(*ssa.Alloc)
	if !ok || !alloc.Heap {
		return false
	}
	for _, r := range *alloc.Referrers() {
		if fa, ok := r.(*ssa.FieldAddr); ok {
			if !fieldInPlace(fa) {
				return false
			}
		} else if !returnedUse(alloc, r) {
			return false
		}
	}
	return true
}

// onlyReturnedValue reports whether every use of v only returns it.
func onlyReturnedValue(v ssa.Value) bool {
	for _, r := range *v.Referrers() {
		if !returnedUse(v, r) {
			return false
		}
	}
	return true
}

// returnedUse reports whether the use r of v only returns it: as it is,
// as an interface that is only returned, or stored in a field of another
// struct that is only returned.
func returnedUse(v ssa.Value, r ssa.Instruction) bool {
	switch r := r.(type) {
	case *ssa.Return, *ssa.DebugRef:
		return true
	case *ssa.MakeInterface:
		return onlyReturnedValue(r)
	case *ssa.Store:
		fa, ok := r.Addr.(*ssa.FieldAddr)
		return ok && r.Val == v && fa.X != v && onlyReturned(fa.X)
	}
	return false
}

// leavesByReturn reports whether the struct pointer v leaves its
// activation only when the function returns: returned itself, or kept in
// a struct that is only returned (val := &Result{...}; ...; return
// &Cmd{val: val}).
func (a *analysis) leavesByReturn(v ssa.Value, seen map[ssa.Value]bool) bool {
	for _, r := range *v.Referrers() {
		switch r := r.(type) {
		case *ssa.Phi:
			if !seen[r] {
				seen[r] = true
				if !a.leavesByReturn(r, seen) {
					return false
				}
			}
		default:
			if !returnedUse(v, r) && a.escapesVia(v, r) {
				return false
			}
		}
	}
	return true
}

// structInPlace reports whether the struct alloc allocates has its fields
// set only through its own field addresses: it is stored whole only with
// a new value, and otherwise only read, returned, or kept in a struct that
// is only returned, never handed to code that could set a field.
func structInPlace(alloc *ssa.Alloc) bool {
	for _, r := range *alloc.Referrers() {
		switch r := r.(type) {
		case *ssa.FieldAddr:
			if fieldMayHoldMap(r) && !fieldInPlace(r) {
				return false
			}
		case *ssa.UnOp:
			if !copyKeptInPlace(r) && !onlyReturnedValue(r) {
				return false
			}
		case *ssa.Store:
			if r.Addr == alloc && !newValue(r.Val) || r.Addr != alloc && !returnedUse(alloc, r) {
				return false
			}
		case *ssa.Phi:
			if !onlyReturnedValue(r) {
				return false
			}
		default:
			if !returnedUse(alloc, r) {
				return false
			}
		}
	}
	return true
}
