package racelog

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/tools/go/packages"

	"github.com/safemapfix/safemapfix/detect"
	"github.com/safemapfix/safemapfix/load"
)

// Cause says why a report did not become a finding.
type Cause int

const (
	// NotMap: the report is about data that is not a map (a counter, a
	// slice, a struct field of another type).
	NotMap Cause = iota
	// MapVariable: the race is on the variable that holds a map (m =
	// make(...) against m[k]), not on the map's contents. Making the map
	// a safe map does not fix it; the variable needs a lock, or must be
	// assigned before the goroutines start.
	MapVariable
	// OutsideLoadedCode: no frame of the report is in a loaded package
	// (a report from another module, from a dependency, or from stale
	// sources).
	OutsideLoadedCode
	// Stale: the log does not match the loaded code: a reported line is
	// not in the function the log names, so the code has changed since
	// the log was made. Run the tests again to get a fresh log.
	Stale
	// Unresolved: the report is about a map, but the map could not be
	// tied to one variable or field of the loaded code: it is the result
	// of a call, several maps share the reported line, or it is declared
	// outside the loaded packages.
	Unresolved
)

func (c Cause) String() string {
	switch c {
	case NotMap:
		return "not a map"
	case MapVariable:
		return "map variable"
	case OutsideLoadedCode:
		return "outside loaded code"
	case Stale:
		return "stale log"
	case Unresolved:
		return "unresolved"
	}
	return "unknown"
}

// Unhandled is a report that did not become a finding, with the reason.
type Unhandled struct {
	Report *Report
	Cause  Cause
	// Pos is the place in the loaded code that the report points at, when
	// one was found.
	Pos token.Position
	// Object is the user-facing name of the map object concerned, when
	// known (Cause MapVariable).
	Object string
	Reason string
}

func (u Unhandled) String() string {
	if u.Pos.IsValid() {
		return fmt.Sprintf("%s: %s", u.Pos, u.Reason)
	}
	return fmt.Sprintf("%s of the race log: %s", u.Report.Where(), u.Reason)
}

// Locate ties each report of log to the map object it is about, in the
// syntax of pkgs (loaded by load.Load with fset). Every object becomes one
// finding with Source "race-log" and Confidence Proven, citing all the
// reports about it; its Pair holds the two accesses of the first report
// that has two. Reports that are not about a map's contents, or whose map
// cannot be named, are returned as unhandled, each with its cause.
// Findings are sorted by name; unhandled reports keep the log's order.
func Locate(fset *token.FileSet, pkgs []*packages.Package, log *Log) (findings []detect.Finding, unhandled []Unhandled) {
	l := &locator{fset: fset, idx: newFileIndex(fset, pkgs), byID: map[string]*evidence{}}
	for _, r := range log.Reports {
		l.report(r)
	}
	return l.findings(), l.unhandled
}

type locator struct {
	fset      *token.FileSet
	idx       *fileIndex
	byID      map[string]*evidence
	order     []string
	unhandled []Unhandled
}

// evidence gathers what the reports say about one object.
type evidence struct {
	obj         *types.Var
	decl        *loadedFile
	citations   []string
	counts      map[string]int
	pair        []detect.Access
	assumptions []string
}

// site is one access of a report, resolved in the syntax.
type site struct {
	access *Access
	frame  Frame
	file   *loadedFile // nil when no frame resolves to a loaded file
	use    *mapUse     // nil when no map expression was chosen
	obj    *types.Var  // nil when the map has no name
	via    []string    // parameters followed from the access to obj
	stale  bool        // the frame's line is not in the frame's function
	why    string      // why file, use or obj is missing
}

func (s *site) pos(fset *token.FileSet) token.Position {
	if s.use != nil {
		return fset.Position(s.use.expr.Pos())
	}
	if s.file != nil {
		return token.Position{Filename: s.file.path, Line: s.frame.Line}
	}
	return token.Position{}
}

func (l *locator) report(r *Report) {
	if len(r.Accesses) == 0 {
		l.unhandle(r, NotMap, nil, "", fmt.Sprintf("%s at line %d of the log has no readable stack", r.Kind, r.Line))
		return
	}
	sites := make([]*site, len(r.Accesses))
	for i, a := range r.Accesses {
		sites[i] = l.resolve(a)
	}
	if r.Kind == MapCrash {
		l.crash(r, sites)
		return
	}
	l.race(r, sites)
}

func (l *locator) race(r *Report, sites []*site) {
	if l.unhandleStale(r, sites) {
		return
	}
	for _, s := range sites {
		if s.use != nil && s.use.role == roleAssignVar {
			name := ""
			if s.obj != nil {
				name = l.objectName(s.obj)
			}
			l.unhandle(r, MapVariable, s, name, fmt.Sprintf(
				"race on the variable %s that holds a map, not on the map's contents (%s); a safe map does not fix this: assign the variable before the goroutines start, or guard it with a lock",
				orUnnamed(name), l.cite(r, sites)))
			return
		}
	}
	// The accesses that show the map's contents being touched: inside
	// the map implementation, or an element written (or the length read)
	// by compiled code. Only their maps are blamed; the other access of
	// the pair may name an unrelated map on its line.
	var contents []*site
	anyUse := false
	for _, s := range sites {
		if s.use != nil {
			anyUse = true
		}
		switch {
		case s.access.Op != Direct:
			contents = append(contents, s)
		case s.use != nil && (s.use.role == roleStore || s.use.role == roleUpdate || s.use.role == roleLen):
			contents = append(contents, s)
		}
	}
	if len(contents) == 0 {
		var outside []string
		nOutside := 0
		for _, s := range sites {
			if s.file == nil {
				nOutside++
				if !contains(outside, s.why) {
					outside = append(outside, s.why)
				}
			}
		}
		switch {
		case nOutside == len(sites):
			l.unhandle(r, OutsideLoadedCode, nil, "", fmt.Sprintf("%s: %s", l.cite(r, sites), strings.Join(outside, "; ")))
		case anyUse:
			l.unhandle(r, Unresolved, firstWithUse(sites), "", fmt.Sprintf("%s: the lines name a map, but neither access reads or writes its contents", l.cite(r, sites)))
		default:
			l.unhandle(r, NotMap, firstWithFile(sites), "", fmt.Sprintf("%s: no map is accessed on the reported lines", l.cite(r, sites)))
		}
		return
	}
	l.attribute(r, contents, sites)
}

func (l *locator) crash(r *Report, sites []*site) {
	if l.unhandleStale(r, sites[:1]) {
		return
	}
	first := sites[0]
	if first.obj == nil {
		cause := Unresolved
		if first.file == nil {
			cause = OutsideLoadedCode
		}
		l.unhandle(r, cause, first, "", fmt.Sprintf("%s: %s", l.cite(r, sites[:1]), first.why))
		return
	}
	// Other goroutines of the dump were inside the map implementation,
	// but perhaps for another map: only those on the same object count.
	id := load.ObjectID(l.fset, first.obj)
	evidence := []*site{first}
	for _, s := range sites[1:] {
		if s.obj != nil && load.ObjectID(l.fset, s.obj) == id {
			evidence = append(evidence, s)
		}
	}
	l.attribute(r, evidence, evidence)
}

// unhandleStale reports r as Stale if one of its sites does not match
// the loaded code.
func (l *locator) unhandleStale(r *Report, sites []*site) bool {
	for _, s := range sites {
		if s.stale {
			l.unhandle(r, Stale, s, "", fmt.Sprintf("%s: %s", l.cite(r, sites), s.why))
			return true
		}
	}
	return false
}

// attribute records report r as evidence against every object that sites
// resolved to; cited are all the accesses of the report, for its Reason
// and Pair.
func (l *locator) attribute(r *Report, sites, cited []*site) {
	var objs []*types.Var
	seen := map[string]bool{}
	var whys []string
	for _, s := range sites {
		if s.obj == nil {
			if s.why != "" && !contains(whys, s.why) {
				whys = append(whys, s.why)
			}
			continue
		}
		id := load.ObjectID(l.fset, s.obj)
		if !seen[id] {
			seen[id] = true
			objs = append(objs, s.obj)
		}
	}
	if len(objs) == 0 {
		cause := Unresolved
		if firstWithFile(sites) == nil {
			cause = OutsideLoadedCode
		}
		l.unhandle(r, cause, firstWithFile(cited), "", fmt.Sprintf("%s: %s", l.cite(r, cited), strings.Join(whys, "; ")))
		return
	}
	citation := l.cite(r, cited)
	for _, obj := range objs {
		decl := l.idx.ofPos(obj.Pos())
		if decl == nil {
			where := "another package"
			if obj.Pkg() != nil {
				where = obj.Pkg().Path()
			}
			l.unhandle(r, Unresolved, firstWithUse(sites), "", fmt.Sprintf("%s: map %s is declared in %s, outside the loaded packages", citation, obj.Name(), where))
			continue
		}
		id := load.ObjectID(l.fset, obj)
		ev := l.byID[id]
		if ev == nil {
			ev = &evidence{obj: canonical(decl, obj), decl: decl, counts: map[string]int{}}
			l.byID[id] = ev
			l.order = append(l.order, id)
		}
		if ev.counts[citation] == 0 {
			ev.citations = append(ev.citations, citation)
		}
		ev.counts[citation]++
		if len(ev.pair) < 2 && len(cited) > len(ev.pair) {
			ev.pair = nil
			for _, s := range cited {
				ev.pair = append(ev.pair, l.access(s))
			}
		}
		for _, s := range sites {
			if s.obj == obj && len(s.via) > 0 {
				note := fmt.Sprintf("the access at %s:%d reaches the map through %s", relPath(s.file), s.frame.Line, strings.Join(s.via, ", "))
				if !contains(ev.assumptions, note) {
					ev.assumptions = append(ev.assumptions, note)
				}
			}
		}
		if len(objs) > 1 {
			var others []string
			for _, o := range objs {
				if o != obj {
					others = append(others, l.objectName(o))
				}
			}
			note := fmt.Sprintf("the same race report reaches this map through %s; they hold the same map", strings.Join(others, ", "))
			if !contains(ev.assumptions, note) {
				ev.assumptions = append(ev.assumptions, note)
			}
		}
	}
}

func (l *locator) findings() []detect.Finding {
	var out []detect.Finding
	for _, id := range l.order {
		ev := l.byID[id]
		var cites []string
		for _, c := range ev.citations {
			if n := ev.counts[c]; n > 1 {
				c = fmt.Sprintf("%s (%d times)", c, n)
			}
			cites = append(cites, c)
		}
		reason := strings.Join(cites, "; ")
		if len(ev.citations) > 1 {
			reason = fmt.Sprintf("%d reports: %s", len(ev.citations), reason)
		}
		out = append(out, detect.Finding{
			Object:      ev.obj,
			ID:          id,
			Name:        detect.ObjectName(ev.obj.Pkg(), ev.decl.file, ev.obj),
			Decl:        l.fset.Position(ev.obj.Pos()),
			Kind:        detect.Race,
			Confidence:  detect.Proven,
			Reason:      reason,
			Pair:        ev.pair,
			Assumptions: ev.assumptions,
			Source:      "race-log",
		})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// canonical returns the object that the declaring package itself defines
// at obj's position. An importer sees a field or variable of a package
// with tests through a different package variant, hence through a
// different types.Object for the same declaration.
func canonical(decl *loadedFile, obj *types.Var) *types.Var {
	if decl.pkg.Types == obj.Pkg() {
		return obj
	}
	for id, def := range decl.pkg.TypesInfo.Defs {
		if id.Pos() == obj.Pos() {
			if v, ok := def.(*types.Var); ok {
				return v
			}
		}
	}
	return obj
}

func (l *locator) objectName(obj *types.Var) string {
	decl := l.idx.ofPos(obj.Pos())
	var f *ast.File
	if decl != nil {
		f = decl.file
		obj = canonical(decl, obj)
	}
	if obj.Pkg() == nil {
		return obj.Name()
	}
	return detect.ObjectName(obj.Pkg(), f, obj)
}

func (l *locator) unhandle(r *Report, cause Cause, s *site, object, reason string) {
	u := Unhandled{Report: r, Cause: cause, Object: object, Reason: reason}
	if s != nil {
		u.Pos = s.pos(l.fset)
	}
	l.unhandled = append(l.unhandled, u)
}

// cite describes report r as its accesses, positions relative to the
// module: "race detector: write at x.go:14 (goroutine 8) vs read at
// x.go:20 (goroutine 10)".
func (l *locator) cite(r *Report, sites []*site) string {
	var parts []string
	for _, s := range sites {
		verb := "read"
		if s.access.Write {
			verb = "write"
		}
		where := "an unknown place"
		switch {
		case s.file != nil:
			where = fmt.Sprintf("%s:%d", relPath(s.file), s.frame.Line)
		case len(s.access.Stack) > 0:
			f := s.access.Stack[0]
			if site, ok := s.access.Site(); ok {
				f = site
			}
			where = fmt.Sprintf("%s:%d", f.File, f.Line)
		}
		part := fmt.Sprintf("%s at %s", verb, where)
		if g := s.access.Goroutine; g > 0 {
			part += fmt.Sprintf(" (goroutine %d)", g)
		}
		parts = append(parts, part)
	}
	prefix := "race detector"
	if r.Kind == MapCrash {
		prefix = fmt.Sprintf("runtime crash %q", r.Message)
	}
	return prefix + ": " + strings.Join(parts, " vs ")
}

// relPath names a loaded file relative to its module, or by its base name.
func relPath(lf *loadedFile) string {
	if m := lf.pkg.Module; m != nil && m.Dir != "" {
		if rel, err := filepath.Rel(m.Dir, filepath.FromSlash(lf.path)); err == nil && !strings.HasPrefix(rel, "..") {
			return filepath.ToSlash(rel)
		}
	}
	return filepath.Base(lf.path)
}

// access turns a resolved site into detect evidence.
func (l *locator) access(s *site) detect.Access {
	a := detect.Access{Pos: s.pos(l.fset), Write: s.access.Write, Op: opText(s.access), Root: l.root(s.access)}
	if s.use != nil {
		a.Op = accessOp[s.use.role]
	}
	var path []string
	for i := len(s.access.Stack) - 1; i >= 0; i-- {
		if f := s.access.Stack[i]; !f.InGoDistribution() {
			path = append(path, shortFunc(f.Func))
		}
	}
	const maxPath = 4
	if len(path) > maxPath {
		path = path[len(path)-maxPath:]
	}
	a.Path = path
	return a
}

// opText names the operation of an access whose map expression was not
// found, in the words of detect.Access.Op.
func opText(a *Access) string {
	switch a.Op {
	case Delete:
		return "delete"
	case Clear:
		return "clear"
	case Iterate:
		return "range"
	case Clone:
		return "passed on"
	}
	if a.Write {
		return "store"
	}
	return "read"
}

// root describes the goroutine of an access: where it was created, or what
// library function started it and what it runs.
func (l *locator) root(a *Access) string {
	if a.Goroutine == 1 && len(a.Created) == 0 {
		return "main goroutine"
	}
	g := "goroutine"
	if a.Goroutine > 0 {
		g = fmt.Sprintf("goroutine %d", a.Goroutine)
	}
	for _, f := range a.Created {
		if lf := l.idx.lookup(f); lf != nil {
			return fmt.Sprintf("%s created at %s:%d in %s", g, relPath(lf), f.Line, shortFunc(f.Func))
		}
	}
	if len(a.Created) > 0 {
		// Started by library code such as sync.(*WaitGroup).Go or
		// testing.(*T).Run: name the user function it runs.
		runs := ""
		for i := len(a.Stack) - 1; i >= 0; i-- {
			if !a.Stack[i].InGoDistribution() {
				runs = " running " + shortFunc(a.Stack[i].Func)
				break
			}
		}
		return fmt.Sprintf("%s started by %s%s", g, shortFunc(a.Created[0].Func), runs)
	}
	return g
}

// shortFunc drops the import path before the package name:
// "example.com/p.(*T).M" becomes "p.(*T).M".
func shortFunc(fn string) string {
	if i := strings.LastIndex(fn, "/"); i >= 0 {
		return fn[i+1:]
	}
	return fn
}

func firstWithUse(sites []*site) *site {
	for _, s := range sites {
		if s.use != nil {
			return s
		}
	}
	return firstWithFile(sites)
}

func firstWithFile(sites []*site) *site {
	for _, s := range sites {
		if s.file != nil {
			return s
		}
	}
	return nil
}

func orUnnamed(name string) string {
	if name == "" {
		return "(unnamed)"
	}
	return name
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
