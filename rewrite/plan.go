package rewrite

import (
	"fmt"
	"go/ast"
	"go/constant"
	"go/token"
	"go/types"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/tools/go/packages"
	"golang.org/x/tools/go/types/typeutil"

	"github.com/safemapfix/safemapfix/detect"
	"github.com/safemapfix/safemapfix/typeinfer"
)

// Wrapper names the safe map package that rewritten code imports.
type Wrapper struct {
	// Path is its import path, such as "example.com/app/internal/safemap".
	Path string
	// Name is its package name; rewritten code refers to it by this name
	// unless the name is taken in a file.
	Name string
}

// Config says what to rewrite.
type Config struct {
	Fset *token.FileSet
	// Packages are the rewrite units (load.Program.Packages).
	Packages []*packages.Package
	Wrapper  Wrapper
	// ModuleDir is the root of the main module. Objects with uses in files
	// outside it (GOROOT, the module cache, vendor/) are refused: those
	// files are not the user's to change. Empty means no such check.
	ModuleDir string
	// Generated allows rewriting uses in generated files (marked
	// "// Code generated ... DO NOT EDIT."). Without it, objects with uses
	// there are refused, since the generator would undo the change.
	Generated bool
	// KeepAPI refuses objects that are part of a package's API (exported
	// variables, exported fields of exported types), whose change would
	// break importers outside the module. Without it they are rewritten
	// and the outcome notes the API change.
	KeepAPI bool
	// IgnoreMissing skips ids that no loaded package declares, instead of
	// failing: with several build configurations, an object may be
	// declared in files only another configuration includes.
	IgnoreMissing bool
	// Index, when set, is NewIndex of Fset and Packages, built ahead of
	// time (while detection runs) or shared between calls, one call at a
	// time: a call may complete it; nil means Rewrite builds it.
	Index *Index
	// PlanOnly plans the rewrite, deciding which objects are fixed, and
	// lists the files it changes (the files holding an edit) without
	// rewriting them: File.Old and File.New stay nil. It is for a caller
	// that only reports what would be fixed; producing the new files is
	// most of the cost of a rewrite touching large files.
	PlanOnly bool
}

// Index records every use of every map object and function declared in
// the packages. Building it walks all their syntax, once.
type Index struct{ ix *index }

// NewIndex indexes the packages for Rewrite. It only reads them, so it may
// run while other code reads the same packages.
func NewIndex(fset *token.FileSet, pkgs []*packages.Package) *Index {
	return &Index{buildIndex(fset, pkgs)}
}

// Object is the outcome for one map object.
type Object struct {
	ID   string
	Name string
	Decl token.Position
	// Fixed reports whether the object and all its uses were rewritten.
	Fixed bool
	// Refusal says why the object was left as it was: the position of the
	// use that cannot be rewritten, and the reason.
	Refusal string
	// Group names the other objects rewritten (or refused) together with
	// this one because the map flows between them.
	Group []string
	// Members are the IDs of every object of the group, this one included.
	Members []string
	// Uses counts the rewritten uses.
	Uses int
	// Notes are facts a reviewer should know about the rewrite.
	Notes []string
}

// File is a rewritten file.
type File struct {
	Path string
	Old  []byte
	New  []byte
}

// Result is what Rewrite produces.
type Result struct {
	Files   []File
	Objects []*Object
	// Missing are the ids that no loaded package declares (with
	// Config.IgnoreMissing).
	Missing []string
}

// site is one appearance of a map object's identifier in the syntax.
type site struct {
	pkg   *packages.Package
	file  *ast.File
	id    *ast.Ident
	stack []ast.Node // ancestors of id, outermost first, ending with id
	def   bool       // id declares the object
	// elem, when set, is a value stored into the field without naming it,
	// as an element of a struct literal without keys; id is then nil.
	elem ast.Expr
}

func (s site) pos() token.Pos {
	if s.elem != nil {
		return s.elem.Pos()
	}
	return s.id.Pos()
}

// index lists the sites of every map-typed variable in the packages.
type index struct {
	fset  *token.FileSet
	sites map[string][]site // by object ID
	objs  map[string]types.Object
	names map[string]string // object ID -> user-facing name
	// funcs lists the uses of every function and method declared in the
	// packages, by function ID, so that a parameter's type can change
	// together with every call. They are many and rarely needed, so their
	// stacks are left out; usesOf fills them in.
	funcs map[string][]site
	// ifaceMethods holds the names of the methods of every interface type
	// in the packages: a method of the same name may implement one, and
	// then its signature cannot change.
	ifaceMethods map[string]bool
	// reflectCalls are the calls that look at values through reflection.
	reflectCalls *reflectedCalls
}

func buildIndex(fset *token.FileSet, pkgs []*packages.Package) *index {
	ix := &index{
		fset:         fset,
		sites:        map[string][]site{},
		objs:         map[string]types.Object{},
		names:        map[string]string{},
		funcs:        map[string][]site{},
		ifaceMethods: map[string]bool{},
	}
	for _, p := range pkgs {
		for _, f := range p.Syntax {
			ast.PreorderStack(f, nil, func(n ast.Node, stack []ast.Node) bool {
				if lit, ok := n.(*ast.CompositeLit); ok {
					ix.addPositional(p, f, lit)
				}
				id, ok := n.(*ast.Ident)
				if !ok {
					return true
				}
				obj, def := p.TypesInfo.Defs[id], true
				if obj == nil {
					obj, def = p.TypesInfo.Uses[id], false
				}
				if fn, ok := obj.(*types.Func); ok && !def {
					key := ix.id(fn.Origin())
					ix.funcs[key] = append(ix.funcs[key], site{pkg: p, file: f, id: id})
					return true
				}
				if tn, ok := obj.(*types.TypeName); ok && def {
					if it, ok := tn.Type().Underlying().(*types.Interface); ok {
						for i := range it.NumMethods() {
							ix.ifaceMethods[it.Method(i).Name()] = true
						}
					}
				}
				if obj == nil || !detect.IsMapVar(obj) {
					return true
				}
				obj = origin(obj)
				key := ix.id(obj)
				if _, ok := ix.objs[key]; !ok || def {
					ix.objs[key] = obj
				}
				if def {
					ix.names[key] = detect.ObjectName(p.Types, f, obj)
				}
				st := append(append([]ast.Node(nil), stack...), id)
				ix.sites[key] = append(ix.sites[key], site{pkg: p, file: f, id: id, stack: st, def: def})
				return true
			})
		}
	}
	ix.reflectCalls = findReflected(pkgs, fset)
	return ix
}

// usesOf returns the uses of the function fn, each with its stack: the
// files holding them are walked again, once each.
func (ix *index) usesOf(fn *types.Func) []site {
	uses := slices.Clone(ix.funcs[ix.id(fn)])
	byFile := map[*ast.File]map[*ast.Ident]int{}
	for i, use := range uses {
		if byFile[use.file] == nil {
			byFile[use.file] = map[*ast.Ident]int{}
		}
		byFile[use.file][use.id] = i
	}
	for f, ids := range byFile {
		ast.PreorderStack(f, nil, func(n ast.Node, stack []ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok {
				if i, ok := ids[id]; ok {
					uses[i].stack = append(slices.Clone(stack), id)
				}
			}
			return true
		})
	}
	return uses
}

// addPositional records the map values of a struct literal without keys as
// sites of the fields they initialise.
func (ix *index) addPositional(p *packages.Package, f *ast.File, lit *ast.CompositeLit) {
	for _, el := range lit.Elts {
		field := positionalField(p.TypesInfo, lit, el)
		if field == nil || !detect.IsMapVar(field) {
			continue
		}
		key := ix.id(origin(field))
		ix.sites[key] = append(ix.sites[key], site{pkg: p, file: f, elem: el})
	}
}

// declared reports whether obj is declared in the loaded syntax.
func (pl *planner) declared(obj types.Object) bool {
	_, ok := pl.declFiles[pl.ix.fset.Position(obj.Pos()).Filename]
	return ok
}

// origin maps a field or variable of an instantiated generic type back to
// its declaration.
func origin(obj types.Object) types.Object {
	if v, ok := obj.(*types.Var); ok {
		return v.Origin()
	}
	return obj
}

func (ix *index) id(obj types.Object) string {
	return ix.fset.Position(obj.Pos()).String()
}

func (ix *index) name(id string) string {
	if n, ok := ix.names[id]; ok {
		return n
	}
	if obj, ok := ix.objs[id]; ok {
		return obj.Name()
	}
	return id
}

// editKind is the replacement planned for one node.
type editKind int

const (
	editGet         editKind = iota // m[k] → m.Get(k)
	editLoad                        // m[k] in v, ok := m[k] → m.Load(k)
	editStore                       // m[k] = v → m.Store(k, v)
	editOpAssign                    // m[k] op= x → safemap.Add / m.Update
	editIncDec                      // m[k]++, m[k]--
	editAppend                      // m[k] = append(m[k], x...) → m.Update
	editDelete                      // delete(m, k) → m.Delete(k)
	editClear                       // clear(m) → m.Clear()
	editLen                         // len(m) → m.Len()
	editRange                       // range m → range m.All()
	editType                        // map[K]V → *safemap.Map[K, V]
	editMake                        // make(map[K]V[, n]) → safemap.New[K, V]() / NewSized
	editLit                         // map[K]V{...} → safemap.From(map[K]V{...})
	editClone                       // return m → return m.Clone()
	editHelper                      // maps.Keys(m) → m.Keys(), and the like
	editTuple                       // m[a], m[b] = x, y → temporaries, then stores
	editLoadOrStore                 // if _, ok := m[k]; !ok { m[k] = v } → m.LoadOrStore(k, v)
	editReset                       // m = make(...) after m was written → m.Clear()
	editTag                         // `json:",omitempty"` → `json:",omitzero"`
	// editBlock rewrites statement sequences of a block: read-modify-
	// write folds (v := m[k]; v.f++; m[k] = v → v := m.Update(k, ...)),
	// drains (old := m; m = make(...) → old := m.TakeAll()) and
	// load-or-compute (v, ok := m[k]; if !ok { v = f(); m[k] = v } →
	// m.LoadOrCompute(...)).
	editBlock
)

// edit is one planned replacement of a syntax node.
type edit struct {
	kind editKind
	node ast.Node
	// mapType is the type of the map being rewritten, as seen at the edit
	// (instantiated for generic code); it gives K and V where no syntax does.
	mapType types.Type
	// method is the safe map method that replaces a helper call.
	method string
	// tag is the new struct tag, quoted, for editTag.
	tag string
	// alt is the edit that replaces an editReset when the group has
	// aliases, which must keep the old contents; note is then added to the
	// group's notes.
	alt  *edit
	note string
	// convertSize reports, for editMake, that the size is not an int and
	// must be converted for NewSized.
	convertSize bool
	// pureValue reports, for editLoadOrStore, that the stored value may be
	// evaluated whether or not the key is present.
	pureValue bool
	// folds, drains and computes are the statement sequences an
	// editBlock rewrites: read-modify-write folds, and the first
	// statements of drain and load-or-compute idioms.
	folds    []fold
	drains   []*ast.AssignStmt
	computes []*ast.AssignStmt
	// hoistKey moves the index of a read-modify-write before its hoisted
	// operands, keeping Go's order of evaluation.
	hoistKey bool
	// hoistIndex evaluates the indices of a tuple assignment's stores
	// first; convert gives the types of its untyped constant values.
	hoistIndex bool
	convert    map[int]types.Type
	// stores lists the left-hand sides of a tuple assignment that are
	// stores into rewritten maps.
	stores []int
	// hoist lists the operands (by position: the right-hand side of an
	// op-assignment, the appended values of an append) to evaluate into
	// temporaries before the statement, in order.
	hoist []int
}

// planner plans the rewrite of a set of groups.
type planner struct {
	cfg Config
	ix  *index
	// declFiles holds the names of the loaded files.
	declFiles map[string]bool
	// seeds are the objects chosen for rewriting.
	seeds map[string]bool
}

// group is a set of objects that must be rewritten together.
type group struct {
	ids     []string
	member  map[string]bool
	edits   []*edit
	refusal string
	notes   []string
	uses    map[string]int
}

// plan grows the group from the seed objects and plans the edits of every
// site of every member. The group is refused as soon as one site cannot be
// rewritten.
func (pl *planner) plan(seeds []string) *group {
	g := &group{member: map[string]bool{}, uses: map[string]int{}}
	queue := append([]string(nil), seeds...)
	for _, id := range seeds {
		g.member[id] = true
	}
	defer g.settleResets()
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		g.ids = append(g.ids, id)
		obj := pl.ix.objs[id]
		if obj == nil {
			g.refusal = fmt.Sprintf("internal error: %s, which the map flows into, is not a map object of the loaded packages", id)
			return g
		}
		if reason := pl.objectRefusal(obj); reason != "" {
			g.refusal = fmt.Sprintf("%s: %s", pl.ix.fset.Position(obj.Pos()), reason)
			return g
		}
		if api := apiOf(obj); api != "" {
			if pl.cfg.KeepAPI {
				g.refusal = fmt.Sprintf("%s: %s is part of the API of package %s, and --keep-api is set", pl.ix.fset.Position(obj.Pos()), obj.Name(), api)
				return g
			}
			g.notes = append(g.notes, fmt.Sprintf("changes the API of package %s: %s is exported, so importers outside this module must be updated (--keep-api leaves such maps alone)", api, obj.Name()))
		}
		for _, s := range pl.ix.sites[id] {
			res := pl.classify(s, g)
			if res.refusal == "" {
				res.refusal = unnameable(res.edits, s.pkg.Types)
			}
			if res.refusal != "" {
				g.refusal = fmt.Sprintf("%s: %s", pl.ix.fset.Position(s.pos()), res.refusal)
				return g
			}
			g.edits = append(g.edits, res.edits...)
			g.uses[id]++
			for _, flow := range res.flows {
				fid := pl.ix.id(flow)
				if !g.member[fid] {
					g.member[fid] = true
					queue = append(queue, fid)
				}
			}
			for _, n := range res.notes {
				if !slices.Contains(g.notes, n) {
					g.notes = append(g.notes, n)
				}
			}
		}
	}
	return g
}

// apiOf returns the path of the package whose API includes obj (an
// exported variable, or an exported field of an exported type, of a package
// that others may import), or "".
func apiOf(obj types.Object) string {
	v, ok := obj.(*types.Var)
	pkg := obj.Pkg()
	if !ok || pkg == nil || !v.Exported() || pkg.Name() == "main" || isInternal(pkg.Path()) {
		return ""
	}
	if !v.IsField() {
		if v.Parent() == pkg.Scope() {
			return pkg.Path()
		}
		return ""
	}
	scope := pkg.Scope()
	for _, name := range scope.Names() {
		tn, ok := scope.Lookup(name).(*types.TypeName)
		if !ok || !tn.Exported() {
			continue
		}
		if st, ok := tn.Type().Underlying().(*types.Struct); ok {
			for i := range st.NumFields() {
				if st.Field(i).Pos() == v.Pos() {
					return pkg.Path()
				}
			}
		}
	}
	return ""
}

func isInternal(path string) bool {
	return strings.HasPrefix(path, "internal/") || strings.Contains(path, "/internal/") || strings.HasSuffix(path, "/internal")
}

// settleResets decides the resets of a complete group: with a single
// object no alias keeps the old contents, so emptying the map in place is
// the same; with aliases the reset keeps assigning a new map, and a note
// says the variable itself still races.
func (g *group) settleResets() {
	for i, e := range g.edits {
		if e.kind != editReset {
			continue
		}
		if len(g.ids) > 1 {
			g.edits[i] = e.alt
			if !slices.Contains(g.notes, e.note) {
				g.notes = append(g.notes, e.note)
			}
		}
	}
}

// objectRefusal rejects objects whose kind the rewrite cannot handle.
func (pl *planner) objectRefusal(obj types.Object) string {
	v, ok := obj.(*types.Var)
	if !ok {
		return "not a variable"
	}
	if _, ok := v.Type().(*types.Map); !ok {
		if _, isAlias := v.Type().(*types.Alias); !isAlias {
			// A named map type may have methods and may be used where
			// that type is required; the rewrite would change both.
			return fmt.Sprintf("its type %s is a named map type; only map[K]V types are rewritten", types.TypeString(v.Type(), nil))
		}
	}
	return ""
}

// classification is the outcome of looking at one site.
type classification struct {
	edits   []*edit
	flows   []types.Object // other map objects that this map flows into or from
	notes   []string
	refusal string
}

func refuse(format string, args ...any) classification {
	return classification{refusal: fmt.Sprintf(format, args...)}
}

// classify decides what one site of a group member becomes.
func (pl *planner) classify(s site, g *group) classification {
	info := s.pkg.TypesInfo
	if s.elem != nil {
		return pl.classifyValue(s, g, s.elem)
	}
	if s.def {
		return pl.classifyDecl(s, g)
	}
	// e is the expression that denotes the map: the identifier, or the
	// selector x.f whose Sel it is, without parentheses.
	i := len(s.stack) - 1
	var e ast.Expr = s.id
	if sel, ok := s.stack[i-1].(*ast.SelectorExpr); ok && sel.Sel == s.id {
		e = sel
		i--
	}
	for {
		if p, ok := s.stack[i-1].(*ast.ParenExpr); ok {
			e = p
			i--
			continue
		}
		break
	}
	parent := s.stack[i-1]
	var grand ast.Node
	if i >= 2 {
		grand = s.stack[i-2]
	}
	mapType := info.TypeOf(e)
	switch p := parent.(type) {
	case *ast.IndexExpr:
		if p.X != e {
			return refuse("used as an index")
		}
		return pl.classifyIndex(s, g, p, grand, mapType)
	case *ast.CallExpr:
		return pl.classifyCallArg(s, p, e, mapType)
	case *ast.RangeStmt:
		if p.X == e {
			return classification{edits: []*edit{{kind: editRange, node: e, mapType: mapType}}}
		}
		return refuse("assigned by a range statement")
	case *ast.BinaryExpr:
		if (p.Op == token.EQL || p.Op == token.NEQ) && (isNil(info, p.X) || isNil(info, p.Y)) {
			return classification{} // a nil *Map compares like a nil map
		}
		return refuse("compared with %s", p.Op)
	case *ast.AssignStmt:
		return pl.classifyAssign(s, g, p, e)
	case *ast.ValueSpec:
		for j, v := range p.Values {
			if v == e && j < len(p.Names) {
				if obj := info.Defs[p.Names[j]]; obj != nil && obj.Name() != "_" {
					return storedIn(obj)
				}
				return classification{}
			}
		}
		return refuse("declared with a multi-value initialiser")
	case *ast.KeyValueExpr:
		if p.Key == e {
			// S{m: value}: the key names the field.
			return pl.classifyValue(s, g, p.Value)
		}
		if lit, ok := grand.(*ast.CompositeLit); ok && isStructLit(info, lit) {
			if key, ok := p.Key.(*ast.Ident); ok {
				if obj := info.Uses[key]; obj != nil {
					return storedIn(obj)
				}
			}
		}
		return refuse("stored in a composite literal of another type")
	case *ast.CompositeLit:
		if f := positionalField(info, p, e); f != nil {
			return storedIn(f)
		}
		return refuse("stored in a composite literal of another type")
	case *ast.ReturnStmt:
		// The function hands out the map. It cannot keep returning the
		// map itself, whose type changes, so it returns a snapshot.
		return classification{
			edits: []*edit{{kind: editClone, node: e, mapType: mapType}},
			notes: []string{fmt.Sprintf("%s: returns a snapshot (Clone) of the map: callers no longer see later changes, and their changes to the result no longer reach the map", pl.ix.fset.Position(e.Pos()))},
		}
	case *ast.UnaryExpr:
		if p.Op == token.AND {
			return refuse("its address is taken")
		}
		return refuse("used with operator %s", p.Op)
	case *ast.SendStmt:
		return refuse("sent on a channel")
	case *ast.SelectorExpr:
		return refuse("has method %s called on it", p.Sel.Name)
	}
	return refuse("used as a value in %s, which is not rewritten yet", nodeKind(parent))
}

// classifyDecl handles the declaring identifier of a member.
func (pl *planner) classifyDecl(s site, g *group) classification {
	info := s.pkg.TypesInfo
	parent := s.stack[len(s.stack)-2]
	obj := origin(info.Defs[s.id])
	switch p := parent.(type) {
	case *ast.ValueSpec:
		joins, other := pl.declaredWith(info, p.Names, g)
		if other != "" {
			return refuse("declared in one spec with %s, which is not rewritten", other)
		}
		c := classification{flows: joins}
		if p.Type != nil && p.Names[0] == s.id {
			c.edits = append(c.edits, &edit{kind: editType, node: p.Type, mapType: obj.Type()})
		}
		for j, n := range p.Names {
			if n == s.id && j < len(p.Values) && len(p.Values) == len(p.Names) {
				v := pl.classifyValue(s, g, p.Values[j])
				if v.refusal != "" {
					return v
				}
				c.edits = append(c.edits, v.edits...)
				c.flows = append(c.flows, v.flows...)
			} else if n == s.id && len(p.Values) != 0 && len(p.Values) != len(p.Names) {
				return refuse("declared from a multi-value expression")
			}
		}
		return c
	case *ast.Field:
		if _, isStruct := s.stack[len(s.stack)-4].(*ast.StructType); !isStruct {
			return pl.classifyParam(s, g, p, obj)
		}
		joins, other := pl.declaredWith(info, p.Names, g)
		if other != "" {
			return refuse("declared in one field list with %s, which is not rewritten", other)
		}
		var tagEdits []*edit
		if p.Tag != nil {
			if tag, changed := omitZeroTag(p.Tag.Value); changed {
				// omitempty omits only a nil pointer; omitzero omits a
				// safe map whose IsZero reports it empty, as omitempty
				// omits an empty map. Names sharing the tag are
				// rewritten together; the first one's site edits it.
				tagEdits = append(tagEdits, &edit{kind: editTag, node: p.Tag, tag: tag})
			}
		}
		if p.Tag != nil && obj.Exported() {
			if key := encodingTag(p.Tag.Value); key != "" {
				return refuse("its struct tag has a %q key: that encoder reads the field by reflection and would see the safe map as a struct, not a mapping (the safe map encodes only as JSON)", key)
			}
		}
		if owner := ownerType(info, s.stack); owner != nil {
			if at := pl.printedAt(owner); at != "" && !obj.Exported() {
				return refuse("its struct %s is printed with fmt at %s, which shows an unexported safe map field as a pointer", owner.Obj().Name(), at)
			}
			if at := pl.comparedAt(owner); at != "" {
				return refuse("its struct %s is compared with %s, which would compare two safe maps by their internals, not their entries", owner.Obj().Name(), at)
			}
			if at := pl.encodedAt(owner); at != "" && obj.Exported() {
				return refuse("its struct %s is encoded or decoded with %s, which would see the safe map as a struct where the map was a mapping", owner.Obj().Name(), at)
			}
		}
		if p.Names[0] != s.id {
			return classification{flows: joins}
		}
		return classification{edits: append(tagEdits, &edit{kind: editType, node: p.Type, mapType: obj.Type()}), flows: joins}
	case *ast.AssignStmt:
		if p.Tok != token.DEFINE {
			return refuse("declared in an unexpected assignment")
		}
		for j, l := range p.Lhs {
			if l == s.id {
				if len(p.Rhs) != len(p.Lhs) {
					return refuse("declared from a multi-value expression")
				}
				return pl.classifyValue(s, g, p.Rhs[j])
			}
		}
	case *ast.RangeStmt:
		return refuse("declared by a range statement")
	}
	return refuse("declared in %s, which is not rewritten yet", nodeKind(parent))
}

// ownerType returns the named type whose struct declares the field whose
// declaring identifier ends stack, or nil for an anonymous struct.
func ownerType(info *types.Info, stack []ast.Node) *types.Named {
	for i := len(stack) - 1; i > 0; i-- {
		if ts, ok := stack[i].(*ast.TypeSpec); ok {
			if _, isStruct := ts.Type.(*ast.StructType); !isStruct {
				return nil
			}
			if tn, ok := info.Defs[ts.Name].(*types.TypeName); ok {
				named, _ := tn.Type().(*types.Named)
				return named
			}
			return nil
		}
	}
	return nil
}

// printedAt returns the position of a call that formats a value holding
// a t with fmt, or "". fmt prints a struct's exported fields through their
// String methods, but an unexported field only by its value: a safe map
// there would print as an address where the map printed its entries.
func (pl *planner) printedAt(t *types.Named) string {
	return pl.ix.reflectCalls.printed[t.Obj().Pos()]
}

// comparedAt returns the name and position of a call that compares values
// holding a t with reflect.DeepEqual or a function built on it, or "".
// DeepEqual compares two safe maps by their internals, which differ
// between maps holding the same entries.
func (pl *planner) comparedAt(t *types.Named) string {
	return pl.ix.reflectCalls.compared[t.Obj().Pos()]
}

// encodedAt returns the name and position of a call that encodes or
// decodes values holding a t, and sees its exported fields, with an
// encoder other than encoding/json, or "".
func (pl *planner) encodedAt(t *types.Named) string {
	return pl.ix.reflectCalls.encoded[t.Obj().Pos()]
}

// reflectedCalls records, for each named struct type whose fields a call of
// fmt's print functions (printed) or of a deep-equality function
// (compared) looks at, the first such call, keyed by the position of the
// type's declaration.
//
// A call looks at the fields of an argument, of what a pointer argument
// points to, and of the elements, keys and fields those hold by value, at
// any depth. A pointer held inside is printed as an address; DeepEqual
// follows it, but what it reaches is more often the same object on both
// sides (which DeepEqual does not look into) than a copy, so it is left
// out. fmt does not look at the fields of a value it can format with its
// String, Error or Format method.
//
// encoded records the same for encoders and decoders other than
// encoding/json (gob, XML, YAML, TOML): they see only exported fields, and
// a safe map there as a struct of unexported fields, where a map was a
// mapping.
type reflectedCalls struct {
	printed  map[token.Pos]string
	compared map[token.Pos]string
	encoded  map[token.Pos]string
}

func findReflected(pkgs []*packages.Package, fset *token.FileSet) *reflectedCalls {
	rc := &reflectedCalls{printed: map[token.Pos]string{}, compared: map[token.Pos]string{}, encoded: map[token.Pos]string{}}
	implementers := newImplementers(pkgs)
	for _, p := range pkgs {
		for _, f := range p.Syntax {
			ast.Inspect(f, func(n ast.Node) bool {
				call, ok := n.(*ast.CallExpr)
				if !ok {
					return true
				}
				fn := calledFunc(p.TypesInfo, call)
				if fn == nil || fn.Pkg() == nil {
					return true
				}
				var into map[token.Pos]string
				var at string
				printing, encoding := detect.IsPrintFunc(fn), isReflectEncoder(fn)
				switch {
				case printing:
					into, at = rc.printed, fset.Position(call.Pos()).String()
				case isDeepEqualFunc(fn):
					into, at = rc.compared, funcName(fn)+" at "+fset.Position(call.Pos()).String()
				case encoding:
					into, at = rc.encoded, funcName(fn)+" at "+fset.Position(call.Pos()).String()
				default:
					return true
				}
				seen := map[heldType]bool{}
				var addressOnly map[int]byte
				firstPrinted := 0
				if printing {
					addressOnly = addressVerbs(p.TypesInfo, fn, call)
					// Only the variadic operands are printed: not
					// Fprint's writer, nor a format string.
					if sig := fn.Signature(); sig.Variadic() {
						firstPrinted = sig.Params().Len() - 1
					}
				}
				for i, a := range call.Args {
					t := p.TypesInfo.TypeOf(a)
					if printing && (i < firstPrinted || formatsItself(t) || addressOnly[i] == 'T' || addressOnly[i] == 'p' && isReference(t)) {
						continue
					}
					// A value of a non-empty interface type may hold any
					// type of the program that implements it.
					var held []types.Type
					for _, t := range comparedTypes(fn, t) {
						held = append(held, implementers.of(t)...)
					}
					for _, t := range held {
						if printing && formatsItself(t) {
							continue
						}
						if ptr, ok := t.(*types.Pointer); ok {
							t = ptr.Elem()
						}
						heldValues(t, true, seen, func(named *types.Named, methods bool) bool {
							if printing && methods && formatsItself(named) || encoding && !methods {
								return false
							}
							if pos := named.Origin().Obj().Pos(); into[pos] == "" {
								into[pos] = at
							}
							return true
						})
					}
				}
				return true
			})
		}
	}
	return rc
}

// implementers finds the types of the loaded packages that may be held by
// a value of an interface type.
type implementers struct {
	named []*types.Named // the named non-interface types declared at package level
	memo  typeutil.Map   // interface type -> []types.Type
}

func newImplementers(pkgs []*packages.Package) *implementers {
	im := &implementers{}
	seen := map[*types.Package]bool{}
	for _, p := range pkgs {
		if p.Types == nil || seen[p.Types] {
			continue
		}
		seen[p.Types] = true
		scope := p.Types.Scope()
		for _, name := range scope.Names() {
			tn, ok := scope.Lookup(name).(*types.TypeName)
			if !ok || tn.IsAlias() {
				continue
			}
			if named, ok := tn.Type().(*types.Named); ok && !types.IsInterface(named) && named.TypeParams() == nil {
				im.named = append(im.named, named)
			}
		}
	}
	return im
}

// of returns the types a value of type t may hold: t itself, or for a
// non-empty interface every loaded named type, or pointer to one, that
// implements it. The empty interface, which any type implements, gives
// nothing.
func (im *implementers) of(t types.Type) []types.Type {
	iface, ok := t.Underlying().(*types.Interface)
	if !ok {
		return []types.Type{t}
	}
	if iface.NumMethods() == 0 {
		return nil
	}
	if ts, ok := im.memo.At(t).([]types.Type); ok {
		return ts
	}
	var ts []types.Type
	for _, named := range im.named {
		switch ptr := types.NewPointer(named); {
		case types.Implements(named, iface):
			ts = append(ts, named)
		case types.Implements(ptr, iface):
			ts = append(ts, ptr)
		}
	}
	im.memo.Set(t, ts)
	return ts
}

// addressVerbs returns the arguments of a call of a Printf-like function
// that its constant format prints with %p or %T, and the verb: %p prints a
// reference's address and %T the type, never the fields. It returns nil
// when the format is not a constant or picks arguments by index.
func addressVerbs(info *types.Info, fn *types.Func, call *ast.CallExpr) map[int]byte {
	sig := fn.Signature()
	n := sig.Params().Len()
	if !sig.Variadic() || n < 2 || !strings.HasSuffix(fn.Name(), "f") {
		return nil
	}
	formatArg := n - 2 // the parameter before the variadic one
	if formatArg >= len(call.Args) {
		return nil
	}
	tv := info.Types[call.Args[formatArg]]
	if tv.Value == nil || tv.Value.Kind() != constant.String {
		return nil
	}
	format := constant.StringVal(tv.Value)
	out := map[int]byte{}
	arg := formatArg + 1
	for i := 0; i < len(format); i++ {
		if format[i] != '%' {
			continue
		}
		i++
		// Flags, width and precision; a * takes an argument.
		for i < len(format) && strings.IndexByte("+-# 0123456789.*", format[i]) >= 0 {
			if format[i] == '*' {
				arg++
			}
			i++
		}
		if i >= len(format) {
			break
		}
		switch format[i] {
		case '%':
			continue
		case '[':
			return nil // an explicit argument index
		case 'p', 'T':
			out[arg] = format[i]
		}
		arg++
	}
	return out
}

// isReference reports whether %p prints a value of type t as an address:
// a pointer, map, channel, function or slice. fmt prints any other value
// whole after a %!p error.
func isReference(t types.Type) bool {
	switch u := t.Underlying().(type) {
	case *types.Pointer, *types.Map, *types.Chan, *types.Signature, *types.Slice:
		return true
	case *types.Basic:
		return u.Kind() == types.UnsafePointer
	}
	return false
}

// heldType is a named type reached by heldValues, and whether fmt would
// call its methods there.
type heldType struct {
	obj     types.Object
	methods bool
}

// heldValues calls visit for every named type of a value of type t and of
// the values it holds by value: its elements, keys and fields, at any
// depth, but not what its pointers point to. It looks into a named type
// only when visit returns true. methods says whether the value is reached
// through exported fields only, so that fmt would call its methods; seen
// holds the types already visited.
func heldValues(t types.Type, methods bool, seen map[heldType]bool, visit func(named *types.Named, methods bool) bool) {
	switch t := t.(type) {
	case *types.Alias:
		heldValues(types.Unalias(t), methods, seen, visit)
	case *types.Named:
		key := heldType{t.Origin().Obj(), methods}
		if seen[key] {
			return
		}
		seen[key] = true
		if visit(t, methods) {
			heldValues(t.Underlying(), methods, seen, visit)
		}
	case *types.Slice:
		heldValues(t.Elem(), methods, seen, visit)
	case *types.Array:
		heldValues(t.Elem(), methods, seen, visit)
	case *types.Map:
		heldValues(t.Key(), methods, seen, visit)
		heldValues(t.Elem(), methods, seen, visit)
	case *types.Struct:
		for i := range t.NumFields() {
			f := t.Field(i)
			heldValues(f.Type(), methods && f.Exported(), seen, visit)
		}
	}
}

// formatsItself reports whether fmt prints a value of type t through one of
// its methods (String, Error or Format) rather than field by field.
func formatsItself(t types.Type) bool {
	ms := types.NewMethodSet(t)
	for i := range ms.Len() {
		sig, _ := ms.At(i).Type().(*types.Signature)
		if sig == nil {
			continue
		}
		switch ms.At(i).Obj().Name() {
		case "String", "Error":
			if sig.Params().Len() == 0 && sig.Results().Len() == 1 {
				return true
			}
		case "Format":
			if sig.Params().Len() == 2 {
				return true
			}
		}
	}
	return false
}

// isDeepEqualFunc reports whether fn compares its arguments with
// reflect.DeepEqual or in the same way, field by field: reflect.DeepEqual
// itself, and the equality assertions of testify and go-cmp, which tests
// use to compare structs.
func isDeepEqualFunc(fn *types.Func) bool {
	switch fn.Pkg().Path() {
	case "reflect":
		return fn.Name() == "DeepEqual"
	case "testing/quick":
		return fn.Name() == "CheckEqual"
	case "github.com/stretchr/testify/assert", "github.com/stretchr/testify/require":
		switch strings.TrimSuffix(fn.Name(), "f") {
		case "Equal", "NotEqual", "EqualValues", "NotEqualValues", "Exactly", "ElementsMatch", "NotElementsMatch",
			"ObjectsAreEqual", "ObjectsAreEqualValues", "Contains", "NotContains", "Subset", "NotSubset":
			return true
		}
	case "github.com/google/go-cmp/cmp":
		return fn.Name() == "Equal" || fn.Name() == "Diff"
	}
	return false
}

// comparedTypes returns the types of what the call of fn looks at in its
// argument of type t: the argument itself, or, for testing/quick's
// CheckEqual, the results of the function handed to it, which it
// compares with reflect.DeepEqual.
func comparedTypes(fn *types.Func, t types.Type) []types.Type {
	sig, ok := t.Underlying().(*types.Signature)
	if !ok || fn.Pkg().Path() != "testing/quick" {
		return []types.Type{t}
	}
	var out []types.Type
	for v := range sig.Results().Variables() {
		out = append(out, v.Type())
	}
	return out
}

// isReflectEncoder reports whether fn encodes or decodes a value by
// reflection over its exported fields in a format other than JSON: gob,
// XML, YAML and TOML, whose encoders do not use MarshalJSON.
func isReflectEncoder(fn *types.Func) bool {
	switch fn.Pkg().Path() {
	case "encoding/gob":
		switch fn.Name() {
		case "Encode", "EncodeValue", "Decode", "DecodeValue":
			return true
		}
	case "encoding/xml", "gopkg.in/yaml.v2", "gopkg.in/yaml.v3", "go.yaml.in/yaml/v2", "go.yaml.in/yaml/v3", "go.yaml.in/yaml/v4",
		"github.com/BurntSushi/toml", "github.com/pelletier/go-toml", "github.com/pelletier/go-toml/v2":
		switch fn.Name() {
		case "Marshal", "MarshalIndent", "Unmarshal", "UnmarshalStrict", "Encode", "Decode", "DecodeFile":
			return true
		}
	}
	return false
}

// encodingTags are the struct tag keys of encoders that see a field by
// reflection and do not use MarshalJSON: a field tagged for one is encoded
// that way somewhere, even where no call shows it.
var encodingTags = []string{"yaml", "toml", "xml", "bson", "msgpack", "mapstructure", "hcl"}

// encodingTag returns the first key of encodingTags that a quoted struct
// tag names for the field, other than to skip it ("-"), or "".
func encodingTag(quoted string) string {
	tag, err := strconv.Unquote(quoted)
	if err != nil {
		return ""
	}
	for _, key := range encodingTags {
		if v, ok := reflect.StructTag(tag).Lookup(key); ok && v != "-" {
			return key
		}
	}
	return ""
}

// funcName returns pkg.Func or pkg.Type.Method for a function of a named
// package, as a reader would write it.
func funcName(fn *types.Func) string {
	name := fn.Pkg().Name() + "." + fn.Name()
	if recv := fn.Signature().Recv(); recv != nil {
		t := recv.Type()
		if ptr, ok := t.(*types.Pointer); ok {
			t = ptr.Elem()
		}
		if named, ok := t.(*types.Named); ok {
			name = fn.Pkg().Name() + "." + named.Obj().Name() + "." + fn.Name()
		}
	}
	return name
}

// omitZeroTag returns a quoted struct tag with the omitempty option of its
// json key replaced by omitzero, and whether that changed it. A tag that
// already has omitzero needs no change: omitempty then omits a nil safe
// map and omitzero an empty one.
func omitZeroTag(quoted string) (string, bool) {
	tag, err := strconv.Unquote(quoted)
	if err != nil {
		return quoted, false
	}
	start, end, ok := tagValue(tag, "json")
	if !ok {
		return quoted, false
	}
	opts := strings.Split(tag[start:end], ",")
	i := slices.Index(opts[1:], "omitempty") + 1
	if i == 0 || slices.Contains(opts[1:], "omitzero") {
		return quoted, false
	}
	opts[i] = "omitzero"
	tag = tag[:start] + strings.Join(opts, ",") + tag[end:]
	if strings.HasPrefix(quoted, "`") && !strings.Contains(tag, "`") {
		return "`" + tag + "`", true
	}
	return strconv.Quote(tag), true
}

// tagValue returns the bounds of the value of key in a struct tag, between
// its quotes, following the conventions reflect.StructTag.Lookup reads. The
// value is returned only when it needs no unquoting, as every json option
// list does.
func tagValue(tag, key string) (start, end int, ok bool) {
	i := 0
	for i < len(tag) {
		for i < len(tag) && tag[i] == ' ' {
			i++
		}
		nameStart := i
		for i < len(tag) && tag[i] > ' ' && tag[i] != ':' && tag[i] != '"' && tag[i] != 0x7f {
			i++
		}
		if i == nameStart || i+1 >= len(tag) || tag[i] != ':' || tag[i+1] != '"' {
			return 0, 0, false
		}
		name := tag[nameStart:i]
		i += 2
		valueStart, escaped := i, false
		for i < len(tag) && tag[i] != '"' {
			if tag[i] == '\\' {
				i++
				escaped = true
			}
			i++
		}
		if i >= len(tag) {
			return 0, 0, false
		}
		if name == key {
			return valueStart, i, !escaped
		}
		i++
	}
	return 0, 0, false
}

// classifyParam handles a parameter that joins the group: the function's
// signature changes, so every call must pass a safe map, and the function
// must not be used in any way that depends on its signature.
func (pl *planner) classifyParam(s site, g *group, field *ast.Field, obj types.Object) classification {
	info := s.pkg.TypesInfo
	n := len(s.stack)
	ft, _ := s.stack[n-4].(*ast.FuncType)
	fd, isDecl := s.stack[n-5].(*ast.FuncDecl)
	switch {
	case ft == nil:
		return refuse("declared in an unexpected place")
	case ft.Params != s.stack[n-3]:
		return refuse("is a named result; changing results is not supported")
	case !isDecl:
		return refuse("is a parameter of a function literal, whose callers cannot all be found")
	}
	if _, variadic := field.Type.(*ast.Ellipsis); variadic {
		return refuse("is a variadic parameter")
	}
	joins, other := pl.declaredWith(info, field.Names, g)
	if other != "" {
		return refuse("declared in one parameter list with %s, which is not rewritten", other)
	}
	fn := info.Defs[fd.Name].(*types.Func)
	if fd.Recv != nil && pl.ix.ifaceMethods[fn.Name()] {
		return refuse("is a parameter of method %s, which may implement an interface with that method", fn.Name())
	}
	c := classification{flows: joins}
	if field.Names[0] == s.id {
		c.edits = append(c.edits, &edit{kind: editType, node: field.Type, mapType: obj.Type()})
	}
	index := paramIndex(fn, obj)
	if index < 0 {
		return refuse("internal error: parameter not found in its signature")
	}
	for _, use := range pl.ix.usesOf(fn) {
		call := callOf(use)
		if call == nil {
			return refuse("function %s is used as a value, so its signature cannot change", fn.Name())
		}
		if index >= len(call.Args) {
			return refuse("function %s is called with a multi-value argument", fn.Name())
		}
		v := pl.classifyValue(use, g, call.Args[index])
		if v.refusal != "" {
			return refuse("passed to %s at %s: %s", fn.Name(), pl.ix.fset.Position(call.Args[index].Pos()), v.refusal)
		}
		c.edits = append(c.edits, v.edits...)
		c.flows = append(c.flows, v.flows...)
	}
	if fn.Exported() && fn.Pkg().Name() != "main" && !isInternal(fn.Pkg().Path()) {
		c.notes = append(c.notes, fmt.Sprintf("changes the API of package %s: the signature of exported %s changes, so callers outside this module must be updated", fn.Pkg().Path(), fn.Name()))
	}
	return c
}

// paramIndex returns the position of param in fn's parameter list.
func paramIndex(fn *types.Func, param types.Object) int {
	params := fn.Type().(*types.Signature).Params()
	for i := range params.Len() {
		if params.At(i).Pos() == param.Pos() {
			return i
		}
	}
	return -1
}

// callOf returns the call whose function a use of a function names, or
// nil when the use is not a call (a method value, a function value).
func callOf(use site) *ast.CallExpr {
	n := len(use.stack)
	var fun ast.Node = use.id
	i := n - 2
	if sel, ok := use.stack[i].(*ast.SelectorExpr); ok && sel.Sel == use.id {
		fun = sel
		i--
	}
	for i > 0 {
		if p, ok := use.stack[i].(*ast.ParenExpr); ok {
			fun = p
			i--
			continue
		}
		break
	}
	// A generic function may be instantiated explicitly: F[T](m).
	if ix, ok := use.stack[i].(*ast.IndexExpr); ok && ix.X == fun {
		fun = ix
		i--
	} else if ix, ok := use.stack[i].(*ast.IndexListExpr); ok && ix.X == fun {
		fun = ix
		i--
	}
	if call, ok := use.stack[i].(*ast.CallExpr); ok && call.Fun == fun {
		return call
	}
	return nil
}

// declaredWith checks the other names of a declaration that declares a
// member: each must be a member, or chosen for rewriting too (it then joins
// the group); else it returns the name of one that is neither, and the
// declaration cannot change.
func (pl *planner) declaredWith(info *types.Info, names []*ast.Ident, g *group) (joins []types.Object, other string) {
	for _, n := range names {
		obj := info.Defs[n]
		if obj == nil || n.Name == "_" {
			continue
		}
		id := pl.ix.id(origin(obj))
		switch {
		case g.member[id]:
		case pl.seeds[id]:
			// Declared together and chosen too: one group.
			joins = append(joins, origin(obj))
		default:
			return nil, n.Name
		}
	}
	return joins, ""
}

// classifyValue decides what an expression assigned to a member becomes.
func (pl *planner) classifyValue(s site, g *group, v ast.Expr) classification {
	info := s.pkg.TypesInfo
	v = ast.Unparen(v)
	if isNil(info, v) {
		return classification{}
	}
	switch x := v.(type) {
	case *ast.CallExpr:
		if isBuiltin(info, x.Fun, "make") {
			e := &edit{kind: editMake, node: x, mapType: info.TypeOf(x)}
			if len(x.Args) == 2 {
				// make takes a size of any integer type, NewSized an int.
				tv := info.Types[x.Args[1]]
				e.convertSize = tv.Value == nil && !types.Identical(tv.Type, types.Typ[types.Int])
			}
			return classification{edits: []*edit{e}}
		}
	case *ast.CompositeLit:
		return classification{edits: []*edit{{kind: editLit, node: x, mapType: info.TypeOf(x)}}}
	}
	if obj := mapObjectOf(info, v); obj != nil {
		return classification{flows: []types.Object{obj}}
	}
	return refuse("assigned from %s, which is not a map object that can be rewritten with it", types.ExprString(v))
}

// storedIn classifies a map stored whole in the variable or field obj: a
// map variable is rewritten together with it, and a variable of another
// type, such as an interface, would hold a *Map where its users expect a
// map, so the map cannot be rewritten.
func storedIn(obj types.Object) classification {
	if !detect.IsMapVar(obj) {
		return refuse("stored in %s, of type %s, which is not a map type", obj.Name(), types.TypeString(obj.Type(), types.RelativeTo(obj.Pkg())))
	}
	return classification{flows: []types.Object{origin(obj)}}
}

// mapObjectOf returns the map variable or field that e denotes, if any.
func mapObjectOf(info *types.Info, e ast.Expr) types.Object {
	var id *ast.Ident
	switch x := ast.Unparen(e).(type) {
	case *ast.Ident:
		id = x
	case *ast.SelectorExpr:
		id = x.Sel
	default:
		return nil
	}
	obj := info.Uses[id]
	if obj == nil || !detect.IsMapVar(obj) {
		return nil
	}
	return origin(obj)
}

// classifyAssign handles a member appearing whole in an assignment.
func (pl *planner) classifyAssign(s site, g *group, a *ast.AssignStmt, e ast.Expr) classification {
	info := s.pkg.TypesInfo
	if len(a.Lhs) != len(a.Rhs) {
		return refuse("assigned from a multi-value expression")
	}
	for j, l := range a.Lhs {
		if l == e {
			if a.Tok != token.ASSIGN {
				return refuse("used with %s", a.Tok)
			}
			c := pl.classifyValue(s, g, a.Rhs[j])
			if c.refusal != "" || isNil(info, a.Rhs[j]) || afterDrain(s, a) {
				return c
			}
			note := fmt.Sprintf("%s: the variable is reassigned; if other goroutines use it meanwhile, that assignment still races", pl.ix.fset.Position(a.Pos()))
			if len(a.Lhs) == 1 && len(c.edits) == 1 && isEmptyMap(info, a.Rhs[j]) && writtenBefore(s, a, e) {
				// A reset of a map this function has already written,
				// so it is not nil: emptying it in place leaves the
				// variable alone, if no alias keeps the old contents
				// (decided once the group is complete).
				return classification{edits: []*edit{{kind: editReset, node: a, mapType: info.TypeOf(e), alt: c.edits[0], note: note}}}
			}
			c.notes = append(c.notes, note)
			return c
		}
	}
	for j, r := range a.Rhs {
		if r != e {
			continue
		}
		if block := drain(s, a); block != nil && !pl.seeds[pl.ix.id(info.Defs[a.Lhs[0].(*ast.Ident)])] {
			return classification{edits: []*edit{{kind: editBlock, node: block, mapType: info.TypeOf(e), drains: []*ast.AssignStmt{a}}}}
		}
		l := ast.Unparen(a.Lhs[j])
		if id, ok := l.(*ast.Ident); ok && id.Name == "_" {
			return classification{}
		}
		if obj := mapObjectOf(info, l); obj != nil {
			return classification{flows: []types.Object{obj}}
		}
		if id, ok := l.(*ast.Ident); ok {
			if obj := info.Defs[id]; obj != nil {
				return storedIn(obj)
			}
		}
		return refuse("assigned to %s, which is not a map variable", types.ExprString(l))
	}
	return refuse("used in an assignment")
}

// isEmptyMap reports whether e makes an empty map: make(...) or a literal
// without elements.
func isEmptyMap(info *types.Info, e ast.Expr) bool {
	switch v := ast.Unparen(e).(type) {
	case *ast.CallExpr:
		return isBuiltin(info, v.Fun, "make")
	case *ast.CompositeLit:
		return len(v.Elts) == 0
	}
	return false
}

// enclosingBody returns the body of the innermost function (declaration
// or literal) on stack, or nil.
func enclosingBody(stack []ast.Node) *ast.BlockStmt {
	for i := len(stack) - 1; i >= 0; i-- {
		switch f := stack[i].(type) {
		case *ast.FuncDecl:
			return f.Body
		case *ast.FuncLit:
			return f.Body
		}
	}
	return nil
}

// writtenBefore reports whether the function holding the assignment a
// stores into the map e (the same expression, as an element write) before
// a: the map is then not nil at a, or that write would have panicked.
func writtenBefore(s site, a *ast.AssignStmt, e ast.Expr) bool {
	body := enclosingBody(s.stack)
	if body == nil {
		return false
	}
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		if n == nil || n.Pos() >= a.Pos() || found {
			return false
		}
		var lhs []ast.Expr
		switch st := n.(type) {
		case *ast.AssignStmt:
			lhs = st.Lhs
		case *ast.IncDecStmt:
			lhs = []ast.Expr{st.X}
		}
		for _, l := range lhs {
			if ix, ok := ast.Unparen(l).(*ast.IndexExpr); ok && sameExpr(ix.X, e) {
				found = true
			}
		}
		return true
	})
	return found
}

// drain recognises the drain idiom, which takes every entry and leaves the
// map empty:
//
//	old := s.m
//	s.m = make(map[K]V)
//
// It returns the block holding the two statements, whose rewrite is one
// atomic old := s.m.TakeAll() (old stays a plain map), with the reset kept
// only for a nil map (if s.m == nil { s.m = safemap.New[K, V]() }). As two
// steps on a safe map, entries stored in between would be lost, and the
// variable itself would still be written while others use it.
func drain(s site, a *ast.AssignStmt) *ast.BlockStmt {
	info := s.pkg.TypesInfo
	if a.Tok != token.DEFINE || len(a.Lhs) != 1 || len(a.Rhs) != 1 || !isPath(a.Rhs[0]) {
		return nil
	}
	block, i := enclosingBlock(s.stack, a)
	if block == nil || i+1 >= len(block.List) {
		return nil
	}
	reset, ok := block.List[i+1].(*ast.AssignStmt)
	if !ok || reset.Tok != token.ASSIGN || len(reset.Lhs) != 1 || len(reset.Rhs) != 1 || !sameExpr(reset.Lhs[0], a.Rhs[0]) {
		return nil
	}
	old, _ := a.Lhs[0].(*ast.Ident)
	if old == nil || !isEmptyMap(info, reset.Rhs[0]) || assignedFrom(info, enclosingBody(s.stack), info.Defs[old]) {
		return nil
	}
	return block
}

// assignedFrom reports whether body assigns the variable v to anything:
// the map saved by old := m is then put back (m = old) or kept as a map
// elsewhere, which a plain map taken out of the safe map cannot be.
func assignedFrom(info *types.Info, body *ast.BlockStmt, v types.Object) bool {
	if body == nil || v == nil {
		return true
	}
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		var values []ast.Expr
		switch st := n.(type) {
		case *ast.AssignStmt:
			values = st.Rhs
		case *ast.ValueSpec:
			values = st.Values
		}
		for _, e := range values {
			if id, ok := ast.Unparen(e).(*ast.Ident); ok && info.Uses[id] == v {
				found = true
			}
		}
		return !found
	})
	return found
}

// afterDrain reports whether the assignment a resets the map right after
// a drain (see drain).
func afterDrain(s site, a *ast.AssignStmt) bool {
	block, i := enclosingBlock(s.stack, a)
	if block == nil || i == 0 {
		return false
	}
	prev, ok := block.List[i-1].(*ast.AssignStmt)
	if !ok {
		return false
	}
	j := slices.Index(s.stack, ast.Node(block))
	stack := append(append([]ast.Node(nil), s.stack[:j+1]...), prev)
	return drain(site{pkg: s.pkg, file: s.file, stack: stack}, prev) != nil
}

// enclosingBlock returns the block whose statement list holds stmt, and
// its index there.
func enclosingBlock(stack []ast.Node, stmt ast.Stmt) (*ast.BlockStmt, int) {
	for i := len(stack) - 1; i > 0; i-- {
		if stack[i] == stmt {
			if b, ok := stack[i-1].(*ast.BlockStmt); ok {
				return b, slices.Index(b.List, stmt)
			}
			return nil, -1
		}
	}
	return nil, -1
}

// classifyIndex handles m[k] in its context.
func (pl *planner) classifyIndex(s site, g *group, ix *ast.IndexExpr, grand ast.Node, mapType types.Type) classification {
	info := s.pkg.TypesInfo
	one := func(e *edit) classification { return classification{edits: []*edit{e}} }
	switch p := grand.(type) {
	case *ast.AssignStmt:
		for _, l := range p.Lhs {
			if ast.Unparen(l) != ix {
				continue
			}
			if len(p.Lhs) != 1 || len(p.Rhs) != 1 {
				return pl.tuple(s, p, ix, mapType)
			}
			switch p.Tok {
			case token.ASSIGN:
				if rest, ok := appendOfSame(info, ix, p.Rhs[0]); ok {
					return pl.rmw(s, p, editAppend, mapType, rest)
				}
				c := one(&edit{kind: editStore, node: p, mapType: mapType})
				if read := splitRead(s, ix); read != nil && !inLoadOrStore(s, p) {
					c.notes = append(c.notes, fmt.Sprintf("%s: %s is read at line %d and stored here in separate steps: each is safe, but the sequence is not atomic (another goroutine can change the entry in between)",
						pl.ix.fset.Position(p.Pos()), types.ExprString(ix), pl.ix.fset.Position(read.Pos()).Line))
				}
				return c
			case token.DEFINE:
				return refuse("unexpected := on a map element")
			default:
				return pl.rmw(s, p, editOpAssign, mapType, []ast.Expr{p.Rhs[0]})
			}
		}
		if f, ok := foldable(s, p, ix); ok {
			c := one(&edit{kind: editGet, node: ix, mapType: mapType})
			c.edits = append(c.edits, &edit{kind: editBlock, node: f.block, mapType: mapType, folds: []fold{f}})
			return c
		}
		if len(p.Lhs) == 2 && len(p.Rhs) == 1 && ast.Unparen(p.Rhs[0]) == ix {
			c := one(&edit{kind: editLoad, node: ix, mapType: mapType})
			if block, val := loadOrComputeIdiom(s, p, ix); block != nil {
				c.edits = append(c.edits, &edit{kind: editBlock, node: block, mapType: mapType, computes: []*ast.AssignStmt{p}})
				if !pure(info, val) {
					c.notes = append(c.notes, fmt.Sprintf("%s: load-or-compute becomes one LoadOrCompute; %s now runs under the lock of its key, so it must not use the same map", pl.ix.fset.Position(p.Pos()), types.ExprString(val)))
				}
				return c
			}
			if ifs := loadOrStoreIdiom(s, p, ix); ifs != nil && !readsMap(info, ifs.Body.List[0].(*ast.AssignStmt).Rhs[0]) {
				val := ifs.Body.List[0].(*ast.AssignStmt).Rhs[0]
				c.edits = append(c.edits, &edit{kind: editLoadOrStore, node: ifs, mapType: mapType, pureValue: pure(info, val)})
				if !pure(info, val) {
					c.notes = append(c.notes, fmt.Sprintf("%s: check-then-store becomes LoadOrCompute; %s now runs under the lock of its key, so it must not use the same map", pl.ix.fset.Position(ifs.Pos()), types.ExprString(val)))
				}
			}
			return c
		}
	case *ast.ValueSpec:
		if len(p.Names) == 2 && len(p.Values) == 1 && ast.Unparen(p.Values[0]) == ix {
			return one(&edit{kind: editLoad, node: ix, mapType: mapType})
		}
	case *ast.IncDecStmt:
		return one(&edit{kind: editIncDec, node: p, mapType: mapType})
	case *ast.UnaryExpr:
		if p.Op == token.AND {
			return refuse("the address of an element is taken")
		}
	}
	return one(&edit{kind: editGet, node: ix, mapType: mapType})
}

// inLoadOrStore reports whether the store belongs to a check-then-store or
// load-or-compute idiom (see loadOrStoreIdiom and loadOrComputeIdiom),
// which becomes one atomic operation.
func inLoadOrStore(s site, store *ast.AssignStmt) bool {
	i := slices.Index(s.stack, ast.Node(store))
	if i < 2 {
		return false
	}
	ifs, ok := s.stack[i-2].(*ast.IfStmt)
	if !ok || ifs.Body != s.stack[i-1] {
		return false
	}
	if init, ok := ifs.Init.(*ast.AssignStmt); ok && len(init.Rhs) == 1 {
		r, ok := ast.Unparen(init.Rhs[0]).(*ast.IndexExpr)
		stack := append(append([]ast.Node(nil), s.stack[:i-1]...), init)
		return ok && loadOrStoreIdiom(site{pkg: s.pkg, file: s.file, stack: stack}, init, r) != nil
	}
	// The load-or-compute form: v, ok := m[k] right before the if.
	block, j := enclosingBlock(s.stack[:i-1], ifs)
	if block == nil || j == 0 {
		return false
	}
	init, ok := block.List[j-1].(*ast.AssignStmt)
	if !ok || len(init.Lhs) != 2 || len(init.Rhs) != 1 {
		return false
	}
	r, ok := ast.Unparen(init.Rhs[0]).(*ast.IndexExpr)
	if !ok {
		return false
	}
	k := slices.Index(s.stack, ast.Node(block))
	stack := append(append([]ast.Node(nil), s.stack[:k+1]...), init)
	b, _ := loadOrComputeIdiom(site{pkg: s.pkg, file: s.file, stack: stack}, init, r)
	return b != nil
}

// fold is a read-modify-write of one key spread over statements:
//
//	v := m[k]
//	v.n++         // statements that only change v, with pure operands
//	m[k] = v
//
// which becomes one atomic update:
//
//	v := m.Update(k, func(v V) V { v.n++; return v })
type fold struct {
	block *ast.BlockStmt
	first *ast.AssignStmt // v := m[k]
	count int             // statements after first, the store included
	// usedAfter reports that v is used after the store, so the update's
	// result must still be assigned to it.
	usedAfter bool
}

// foldable recognises a fold starting at as, the statement v := m[k].
func foldable(s site, as *ast.AssignStmt, ix *ast.IndexExpr) (fold, bool) {
	info := s.pkg.TypesInfo
	if as.Tok != token.DEFINE || len(as.Lhs) != 1 || len(as.Rhs) != 1 || !isPath(ix.X) || !pure(info, ix.Index) {
		return fold{}, false
	}
	v, ok := as.Lhs[0].(*ast.Ident)
	if !ok || v.Name == "_" || info.Defs[v] == nil {
		return fold{}, false
	}
	vObj := info.Defs[v]
	block, start := enclosingBlock(s.stack, as)
	if block == nil {
		return fold{}, false
	}
	for j := start + 1; j < len(block.List); j++ {
		switch st := block.List[j].(type) {
		case *ast.AssignStmt:
			if st.Tok == token.ASSIGN && len(st.Lhs) == 1 && len(st.Rhs) == 1 {
				if lix, ok := ast.Unparen(st.Lhs[0]).(*ast.IndexExpr); ok && sameExpr(lix.X, ix.X) && sameExpr(lix.Index, ix.Index) {
					if id, ok := ast.Unparen(st.Rhs[0]).(*ast.Ident); ok && info.Uses[id] == vObj {
						f := fold{block: block, first: as, count: j - start}
						f.usedAfter = usesObject(info, block.List[j+1:], vObj)
						return f, true
					}
					return fold{}, false
				}
			}
			if st.Tok == token.DEFINE || !changesOnly(info, st.Lhs, vObj) {
				return fold{}, false
			}
			for _, r := range st.Rhs {
				if !pure(info, r) {
					return fold{}, false
				}
			}
		case *ast.IncDecStmt:
			if !changesOnly(info, []ast.Expr{st.X}, vObj) {
				return fold{}, false
			}
		default:
			return fold{}, false
		}
	}
	return fold{}, false
}

// changesOnly reports whether every assigned expression is v or a part of
// v (v.f, v.f.g, v[i] with a pure index).
func changesOnly(info *types.Info, lhs []ast.Expr, v types.Object) bool {
	for _, l := range lhs {
		e := ast.Unparen(l)
	walk:
		for {
			switch x := e.(type) {
			case *ast.Ident:
				if info.Uses[x] != v {
					return false
				}
				break walk
			case *ast.SelectorExpr:
				e = x.X
			case *ast.IndexExpr:
				if !pure(info, x.Index) {
					return false
				}
				e = x.X
			default:
				return false
			}
		}
	}
	return true
}

func usesObject(info *types.Info, stmts []ast.Stmt, obj types.Object) bool {
	found := false
	for _, st := range stmts {
		ast.Inspect(st, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok && info.Uses[id] == obj {
				found = true
			}
			return !found
		})
	}
	return found
}

// splitRead returns an earlier read of the same element as the store ix in
// the same function, unless the two form a fold, or nil.
func splitRead(s site, ix *ast.IndexExpr) *ast.IndexExpr {
	body := enclosingBody(s.stack)
	if body == nil || !pure(s.pkg.TypesInfo, ix.Index) {
		return nil
	}
	var read *ast.IndexExpr
	ast.Inspect(body, func(n ast.Node) bool {
		r, ok := n.(*ast.IndexExpr)
		if ok && r != ix && r.Pos() < ix.Pos() && sameExpr(r.X, ix.X) && sameExpr(r.Index, ix.Index) && read == nil {
			read = r
		}
		return read == nil
	})
	if read == nil {
		return nil
	}
	// A read that starts a fold of this store is no split.
	ast.Inspect(body, func(n ast.Node) bool {
		if as, ok := n.(*ast.AssignStmt); ok && len(as.Rhs) == 1 && ast.Unparen(as.Rhs[0]) == read {
			if _, ok := foldableAt(s, body, as, read); ok {
				read = nil
			}
		}
		return read != nil
	})
	return read
}

// foldableAt is foldable for a statement found by walking body rather than
// through a site's stack.
func foldableAt(s site, body ast.Node, as *ast.AssignStmt, ix *ast.IndexExpr) (fold, bool) {
	var stack []ast.Node
	ast.PreorderStack(body, nil, func(n ast.Node, st []ast.Node) bool {
		if n == as {
			stack = append(append([]ast.Node(nil), st...), as)
			return false
		}
		return stack == nil
	})
	if stack == nil {
		return fold{}, false
	}
	return foldable(site{pkg: s.pkg, file: s.file, stack: stack}, as, ix)
}

// loadOrStoreIdiom recognises
//
//	if _, ok := m[k]; !ok {
//		m[k] = v
//	}
//
// (same map, same pure key, nothing else in the if) and returns the if
// statement, which becomes one atomic LoadOrStore. Rewritten as a Load and
// a Store, two goroutines could both see the key missing and both store.
func loadOrStoreIdiom(s site, init *ast.AssignStmt, ix *ast.IndexExpr) *ast.IfStmt {
	info := s.pkg.TypesInfo
	var ifs *ast.IfStmt
	for i := len(s.stack) - 1; i > 0; i-- {
		if s.stack[i] == init {
			ifs, _ = s.stack[i-1].(*ast.IfStmt)
			break
		}
	}
	if ifs == nil || ifs.Init != init || ifs.Else != nil || len(ifs.Body.List) != 1 || init.Tok != token.DEFINE || len(init.Lhs) != 2 {
		return nil
	}
	blank, ok1 := init.Lhs[0].(*ast.Ident)
	okID, ok2 := init.Lhs[1].(*ast.Ident)
	if !ok1 || !ok2 || blank.Name != "_" || okID.Name == "_" {
		return nil
	}
	if !isNot(info, ifs.Cond, okID) {
		return nil
	}
	store, ok := ifs.Body.List[0].(*ast.AssignStmt)
	if !ok || store.Tok != token.ASSIGN || len(store.Lhs) != 1 || len(store.Rhs) != 1 {
		return nil
	}
	six, ok := ast.Unparen(store.Lhs[0]).(*ast.IndexExpr)
	if !ok || !sameExpr(six.X, ix.X) || !sameExpr(six.Index, ix.Index) || !isPath(ix.X) || !pure(info, ix.Index) {
		return nil
	}
	return ifs
}

// isNot reports whether cond is !ok for the variable that okID declares.
func isNot(info *types.Info, cond ast.Expr, okID *ast.Ident) bool {
	not, isUnary := ast.Unparen(cond).(*ast.UnaryExpr)
	if !isUnary || not.Op != token.NOT {
		return false
	}
	id, isIdent := ast.Unparen(not.X).(*ast.Ident)
	return isIdent && info.Uses[id] == info.Defs[okID]
}

// loadOrComputeIdiom recognises
//
//	v, ok := m[k]
//	if !ok {
//		v = f()
//		m[k] = v
//	}
//
// (same map, same pure key, f not reading maps) and returns the block that
// holds it and f(). It becomes v, ok := m.LoadOrCompute(k, func() V {
// return f() }), one atomic step in which f runs only when k is absent;
// as a Load and a Store, two goroutines could both compute and store.
func loadOrComputeIdiom(s site, init *ast.AssignStmt, ix *ast.IndexExpr) (*ast.BlockStmt, ast.Expr) {
	info := s.pkg.TypesInfo
	if init.Tok != token.DEFINE || len(init.Lhs) != 2 || !isPath(ix.X) || !pure(info, ix.Index) {
		return nil, nil
	}
	v, ok1 := init.Lhs[0].(*ast.Ident)
	okID, ok2 := init.Lhs[1].(*ast.Ident)
	if !ok1 || !ok2 || v.Name == "_" || okID.Name == "_" {
		return nil, nil
	}
	block, i := enclosingBlock(s.stack, init)
	if block == nil || i+1 >= len(block.List) {
		return nil, nil
	}
	ifs, ok := block.List[i+1].(*ast.IfStmt)
	if !ok || ifs.Init != nil || ifs.Else != nil || len(ifs.Body.List) != 2 {
		return nil, nil
	}
	if !isNot(info, ifs.Cond, okID) {
		return nil, nil
	}
	compute, ok := ifs.Body.List[0].(*ast.AssignStmt)
	if !ok || compute.Tok != token.ASSIGN || len(compute.Lhs) != 1 || len(compute.Rhs) != 1 {
		return nil, nil
	}
	if id, ok := compute.Lhs[0].(*ast.Ident); !ok || info.Uses[id] != info.Defs[v] || readsMap(info, compute.Rhs[0]) {
		return nil, nil
	}
	store, ok := ifs.Body.List[1].(*ast.AssignStmt)
	if !ok || store.Tok != token.ASSIGN || len(store.Lhs) != 1 || len(store.Rhs) != 1 {
		return nil, nil
	}
	six, ok := ast.Unparen(store.Lhs[0]).(*ast.IndexExpr)
	if !ok || !sameExpr(six.X, ix.X) || !sameExpr(six.Index, ix.Index) {
		return nil, nil
	}
	if id, ok := ast.Unparen(store.Rhs[0]).(*ast.Ident); !ok || info.Uses[id] != info.Defs[v] {
		return nil, nil
	}
	return block, compute.Rhs[0]
}

// tuple plans a tuple assignment with a store into a member, such as
// m[a], m[b] = m[b], m[a]. Go evaluates the index operands on the left and
// every value on the right first, then assigns from left to right; the
// rewrite evaluates the right-hand side into temporaries, then stores and
// assigns in the same order. It needs pure index operands (evaluating them
// later gives the same result) and a statement list to insert into.
func (pl *planner) tuple(s site, a *ast.AssignStmt, ix *ast.IndexExpr, mapType types.Type) classification {
	if a.Tok != token.ASSIGN {
		return refuse("stored with %s in a tuple assignment", a.Tok)
	}
	for _, l := range a.Lhs {
		if lix, ok := ast.Unparen(l).(*ast.IndexExpr); ok && (!isPath(lix.X) || !pure(s.pkg.TypesInfo, lix.Index)) {
			return refuse("stored in a tuple assignment whose index %s must be evaluated first", types.ExprString(lix))
		}
	}
	if !inStmtList(s.stack, a) {
		return refuse("stored in a tuple assignment in a place where no statement can be inserted")
	}
	info := s.pkg.TypesInfo
	// i, m[i] = 2, 5 stores under the old i: indices that read a
	// variable the statement assigns are evaluated first.
	assigned := map[types.Object]bool{}
	for _, l := range a.Lhs {
		if id, ok := ast.Unparen(l).(*ast.Ident); ok && info.Uses[id] != nil {
			assigned[info.Uses[id]] = true
		}
	}
	hoistIndex := false
	for _, l := range a.Lhs {
		if lix, ok := ast.Unparen(l).(*ast.IndexExpr); ok {
			ast.Inspect(lix.Index, func(n ast.Node) bool {
				if id, ok := n.(*ast.Ident); ok && assigned[info.Uses[id]] {
					hoistIndex = true
				}
				return true
			})
		}
	}
	// Temporaries for untyped constants need the type of what they are
	// assigned to: tmp := 3 would be an int where m holds float64s.
	convert := map[int]types.Type{}
	if len(a.Lhs) == len(a.Rhs) {
		for i, r := range a.Rhs {
			if tv := info.Types[r]; tv.Value != nil || tv.IsNil() {
				convert[i] = info.TypeOf(a.Lhs[i])
			}
		}
	}
	for i, l := range a.Lhs {
		if ast.Unparen(l) == ix {
			return classification{
				edits: []*edit{{kind: editTuple, node: a, mapType: mapType, stores: []int{i}, hoistIndex: hoistIndex, convert: convert}},
				notes: []string{fmt.Sprintf("%s: the tuple assignment becomes separate stores, each atomic on its own", pl.ix.fset.Position(a.Pos()))},
			}
		}
	}
	return refuse("stored in a tuple assignment")
}

// unnameable returns why an edit would have to write a type that package
// pkg cannot name (an unexported type of another package, a type declared
// in a function), or "". Edits that reuse the source's own type syntax
// need no check.
func unnameable(edits []*edit, pkg *types.Package) string {
	for _, e := range edits {
		var need []types.Type
		k, v, _ := typeinfer.Elems(e.mapType)
		switch e.kind {
		case editOpAssign:
			if as := e.node.(*ast.AssignStmt); as.Tok != token.ADD_ASSIGN || !usesAdd(e.mapType) {
				need = []types.Type{v} // an Update callback names V
			}
		case editIncDec:
			if e.node.(*ast.IncDecStmt).Tok == token.DEC || !usesAdd(e.mapType) {
				need = []types.Type{v}
			}
		case editTuple:
			for _, t := range e.convert {
				need = append(need, t)
			}
		case editAppend:
			need = []types.Type{v}
		case editLoadOrStore:
			if !e.pureValue {
				need = []types.Type{v}
			}
		case editType, editMake, editLit:
			var t ast.Expr
			switch n := e.node.(type) {
			case *ast.CallExpr:
				t = n.Args[0]
			case *ast.CompositeLit:
				t = n.Type
			case ast.Expr:
				t = n
			}
			if _, ok := ast.Unparen(t).(*ast.MapType); !ok {
				need = []types.Type{k, v}
			}
		}
		for _, t := range need {
			if _, err := typeinfer.Expr(t, pkg, func(_, name string) string { return name }); err != nil {
				return fmt.Sprintf("the rewrite must write the type %s here, and cannot: %v", types.TypeString(t, types.RelativeTo(pkg)), err)
			}
		}
	}
	return ""
}

// rmw plans an atomic read-modify-write. Operands that are not pure are
// evaluated into temporaries first, which needs the statement to stand in a
// statement list.
func (pl *planner) rmw(s site, stmt ast.Stmt, kind editKind, mapType types.Type, operands []ast.Expr) classification {
	info := s.pkg.TypesInfo
	var hoist []int
	for i, op := range operands {
		if !pure(info, op) {
			hoist = append(hoist, i)
		}
	}
	if len(hoist) > 0 && !inStmtList(s.stack, stmt) {
		return refuse("read-modify-write whose operand %s must be evaluated first, in a place where no statement can be inserted", types.ExprString(operands[hoist[0]]))
	}
	// Go evaluates the index before the operands: when an operand moves
	// before the statement, an index with side effects moves first.
	key := ast.Unparen(stmt.(*ast.AssignStmt).Lhs[0]).(*ast.IndexExpr).Index
	hoistKey := len(hoist) > 0 && !pure(info, key)
	return classification{edits: []*edit{{kind: kind, node: stmt, mapType: mapType, hoist: hoist, hoistKey: hoistKey}}}
}

// inStmtList reports whether stmt is an element of a block or clause body.
func inStmtList(stack []ast.Node, stmt ast.Stmt) bool {
	for i := len(stack) - 1; i > 0; i-- {
		if stack[i] != stmt {
			continue
		}
		switch stack[i-1].(type) {
		case *ast.BlockStmt, *ast.CaseClause, *ast.CommClause:
			return true
		}
		return false
	}
	return false
}

// appendOfSame recognises m[k] = append(m[k], rest...) with the same map
// expression and a pure key, and returns rest.
func appendOfSame(info *types.Info, ix *ast.IndexExpr, rhs ast.Expr) ([]ast.Expr, bool) {
	call, ok := ast.Unparen(rhs).(*ast.CallExpr)
	if !ok || !isBuiltin(info, call.Fun, "append") || len(call.Args) == 0 {
		return nil, false
	}
	first, ok := ast.Unparen(call.Args[0]).(*ast.IndexExpr)
	if !ok || !sameExpr(first.X, ix.X) || !sameExpr(first.Index, ix.Index) || !pure(info, ix.Index) || !isPath(ix.X) {
		return nil, false
	}
	return call.Args[1:], true
}

// isPath reports whether e is an identifier or a chain of field selections
// on one, which can be evaluated twice with the same result.
func isPath(e ast.Expr) bool {
	switch x := ast.Unparen(e).(type) {
	case *ast.Ident:
		return true
	case *ast.SelectorExpr:
		return isPath(x.X)
	}
	return false
}

func sameExpr(a, b ast.Expr) bool {
	return types.ExprString(ast.Unparen(a)) == types.ExprString(ast.Unparen(b))
}

// pure reports whether evaluating e has no side effects and reads no map,
// so it may be evaluated twice, later, or inside an update callback.
func pure(info *types.Info, e ast.Expr) bool {
	if readsMap(info, e) {
		return false
	}
	ok := true
	ast.Inspect(e, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.CallExpr:
			if tv, isType := info.Types[x.Fun]; isType && tv.IsType() {
				return true // a conversion
			}
			for _, b := range []string{"len", "cap", "min", "max"} {
				if isBuiltin(info, x.Fun, b) {
					return true
				}
			}
			ok = false
		case *ast.UnaryExpr:
			if x.Op == token.ARROW {
				ok = false
			}
		case *ast.FuncLit:
			return false
		}
		return ok
	})
	return ok
}

// readsMap reports whether e mentions a map variable or indexes a map, so
// that it must not run inside a callback that holds a map's lock.
func readsMap(info *types.Info, e ast.Expr) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.IndexExpr:
			if t := info.TypeOf(x.X); t != nil {
				if _, isMap := t.Underlying().(*types.Map); isMap {
					found = true
				}
			}
		case *ast.Ident:
			if obj, ok := info.Uses[x].(*types.Var); ok && detect.IsMapVar(obj) {
				found = true
			}
		}
		return !found
	})
	return found
}

// classifyCallArg handles a member passed to a function.
func (pl *planner) classifyCallArg(s site, call *ast.CallExpr, e ast.Expr, mapType types.Type) classification {
	info := s.pkg.TypesInfo
	if call.Fun == e {
		return refuse("called")
	}
	switch {
	case isBuiltin(info, call.Fun, "delete") && call.Args[0] == e:
		return classification{edits: []*edit{{kind: editDelete, node: call, mapType: mapType}}}
	case isBuiltin(info, call.Fun, "clear"):
		return classification{edits: []*edit{{kind: editClear, node: call, mapType: mapType}}}
	case isBuiltin(info, call.Fun, "len"):
		return classification{edits: []*edit{{kind: editLen, node: call, mapType: mapType}}}
	}
	fn := calledFunc(info, call)
	if fn == nil || fn.Pkg() == nil {
		return refuse("passed to %s", types.ExprString(call.Fun))
	}
	arg := -1
	for i, a := range call.Args {
		if a == e {
			arg = i
		}
	}
	if _, ok := pl.ix.funcs[pl.ix.id(fn.Origin())]; ok && pl.declared(fn.Origin()) {
		// A function of the module: its parameter becomes a safe map too.
		sig := fn.Type().(*types.Signature)
		if arg >= sig.Params().Len() || (sig.Variadic() && arg >= sig.Params().Len()-1) {
			return refuse("passed as a variadic argument of %s", fn.Name())
		}
		param := origin(sig.Params().At(arg))
		if !detect.IsMapVar(param) {
			// An interface parameter would hold a *Map where the function
			// expects whatever it was written for.
			return refuse("passed to %s as its parameter %s, of type %s, which is not a map type", fn.Name(), param.Name(), types.TypeString(param.Type(), types.RelativeTo(param.Pkg())))
		}
		return classification{flows: []types.Object{param}}
	}
	if detect.IsPrintFunc(fn) {
		return classification{} // the safe map prints exactly like the map
	}
	method := func(name string) classification {
		return classification{edits: []*edit{{kind: editHelper, node: call, mapType: mapType, method: name}}}
	}
	snapshot := classification{edits: []*edit{{kind: editClone, node: e, mapType: mapType}}}
	switch fn.Pkg().Path() + "." + fn.Name() {
	case "maps.Keys":
		return method("Keys")
	case "maps.Values":
		return method("Values")
	case "maps.All":
		return method("All")
	case "maps.Clone":
		return method("Clone")
	case "maps.Copy":
		if arg == 1 {
			return snapshot // copying from the map reads a snapshot
		}
		return refuse("written by maps.Copy")
	case "maps.Equal", "maps.EqualFunc", "reflect.DeepEqual":
		return snapshot // comparing reads a snapshot
	case "encoding/json.Marshal", "encoding/json.MarshalIndent", "(*encoding/json.Encoder).Encode":
		return classification{} // the safe map marshals to the same JSON
	}
	if sig, ok := info.TypeOf(call.Fun).(*types.Signature); ok && takesMap(sig) {
		return refuse("passed to %s, which takes a map", types.ExprString(call.Fun))
	}
	return refuse("passed to %s", types.ExprString(call.Fun))
}

// takesMap reports whether some parameter of the (instantiated) signature
// has a map type.
func takesMap(sig *types.Signature) bool {
	for i := range sig.Params().Len() {
		if _, ok := sig.Params().At(i).Type().Underlying().(*types.Map); ok {
			return true
		}
	}
	return false
}

func calledFunc(info *types.Info, call *ast.CallExpr) *types.Func {
	var id *ast.Ident
	switch f := ast.Unparen(call.Fun).(type) {
	case *ast.Ident:
		id = f
	case *ast.SelectorExpr:
		id = f.Sel
	default:
		return nil
	}
	fn, _ := info.Uses[id].(*types.Func)
	return fn
}

func isBuiltin(info *types.Info, fun ast.Expr, name string) bool {
	id, ok := ast.Unparen(fun).(*ast.Ident)
	if !ok || id.Name != name {
		return false
	}
	_, ok = info.Uses[id].(*types.Builtin)
	return ok
}

func isNil(info *types.Info, e ast.Expr) bool {
	tv, ok := info.Types[ast.Unparen(e)]
	return ok && tv.IsNil()
}

// positionalField returns the field that element e of a struct literal
// without keys initialises, or nil.
func positionalField(info *types.Info, lit *ast.CompositeLit, e ast.Expr) *types.Var {
	if !isStructLit(info, lit) {
		return nil
	}
	t := info.TypeOf(lit)
	if p, ok := t.Underlying().(*types.Pointer); ok {
		t = p.Elem()
	}
	st := t.Underlying().(*types.Struct)
	for i, el := range lit.Elts {
		if _, keyed := el.(*ast.KeyValueExpr); keyed {
			return nil
		}
		if el == e && i < st.NumFields() {
			return st.Field(i)
		}
	}
	return nil
}

func isStructLit(info *types.Info, lit *ast.CompositeLit) bool {
	t := info.TypeOf(lit)
	if t == nil {
		return false
	}
	if p, ok := t.Underlying().(*types.Pointer); ok {
		t = p.Elem()
	}
	_, ok := t.Underlying().(*types.Struct)
	return ok
}

// nodeKind describes a syntax node for messages: "*ast.CompositeLit" →
// "a composite literal".
func nodeKind(n ast.Node) string {
	name := fmt.Sprintf("%T", n)
	name = strings.TrimPrefix(name, "*ast.")
	var words []string
	start := 0
	for i := 1; i < len(name); i++ {
		if name[i] >= 'A' && name[i] <= 'Z' {
			words = append(words, strings.ToLower(name[start:i]))
			start = i
		}
	}
	words = append(words, strings.ToLower(name[start:]))
	s := strings.Join(words, " ")
	s = strings.ReplaceAll(s, " expr", " expression")
	s = strings.ReplaceAll(s, " stmt", " statement")
	s = strings.ReplaceAll(s, " lit", " literal")
	return "a " + s
}

// sortedIDs returns the keys of m in a stable order.
func sortedIDs(m map[string]bool) []string {
	var ids []string
	for id := range m {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// elemType returns V of the map type t.
func elemType(t types.Type) types.Type {
	_, v, _ := typeinfer.Elems(t)
	return v
}
