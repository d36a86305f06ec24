package detect

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"sort"
	"strings"

	"golang.org/x/tools/go/packages"
	"golang.org/x/tools/go/ssa"
	"golang.org/x/tools/go/types/typeutil"
)

// Options controls Find.
type Options struct {
	// Only names map objects (pkgpath.Var, pkgpath.Type.field,
	// pkgpath.Func.local) to report whatever the analysis thinks, with
	// Source "only" and Confidence Proven.
	Only []string
	// Exclude names map objects never to report.
	Exclude []string
	// MinConfidence is the weakest confidence a finding needs to be acted
	// on. Find still returns weaker findings, with BelowMin set, so that
	// they can be shown as suggestions. The zero value, Assumed, keeps
	// every finding; the command line uses Proven.
	MinConfidence Confidence
}

// ignoreDirective on or directly above a declaration drops its finding.
const ignoreDirective = "//safemapfix:ignore"

// Find returns the racy map objects of pkgs, one finding per object,
// sorted by declaration position. pkgs are the rewrite units of load.Load:
// packages with syntax and types, dependencies known from export data.
//
// An object named in opts.Only is always reported; one named in
// opts.Exclude, or whose declaration carries a //safemapfix:ignore
// comment, never is. Unknown names in Only or Exclude are an error.
func Find(fset *token.FileSet, pkgs []*packages.Package, opts Options) ([]Finding, error) {
	only, err := Lookup(pkgs, opts.Only)
	if err != nil {
		return nil, fmt.Errorf("--only: %w", err)
	}
	excluded, err := Lookup(pkgs, opts.Exclude)
	if err != nil {
		return nil, fmt.Errorf("--exclude: %w", err)
	}
	p := buildProgram(fset, pkgs)
	p.buildCallGraph()
	p.graph = nil // indexed into p.calls; let the collector have it
	a := newAnalysis(p)
	a.run()

	skip := map[string]bool{}
	for _, d := range excluded {
		skip[objectID(fset, d.Object)] = true
	}
	byID := map[string]Finding{}
	for _, f := range a.findings {
		if skip[f.ID] || ignored(fset, a.p.decls[f.ID]) {
			continue
		}
		byID[f.ID] = f
	}
	for _, d := range only {
		id := objectID(fset, d.Object)
		if skip[id] {
			continue
		}
		f, found := byID[id]
		if !found {
			f = a.newFinding(id)
			f.Reason = "named with --only"
		}
		f.Source, f.Confidence = "only", Proven
		byID[id] = f
	}
	out := make([]Finding, 0, len(byID))
	for _, f := range byID {
		f.BelowMin = f.Confidence < opts.MinConfidence
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool {
		di, dj := out[i].Decl, out[j].Decl
		if di.Filename != dj.Filename {
			return di.Filename < dj.Filename
		}
		if di.Offset != dj.Offset {
			return di.Offset < dj.Offset
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// analysis holds the state of one run of the detector.
type analysis struct {
	p         *program
	index     map[*ssa.Function]int
	roots     []*root
	spawns    []*spawn
	spawnAt   map[ssa.Instruction]int
	srcMemo   map[ssa.Value][]string
	allocMemo map[*ssa.Alloc][]string
	loops     map[*ssa.Function]map[*ssa.BasicBlock]bool

	effects   map[*ssa.Function]lockEffect
	lockIn    map[*ssa.Function]lockset
	blockIn   map[*ssa.Function][]lockset
	lockNames map[string]string
	// chanLocks holds the names of the channels used as locks
	// (chanlocks.go).
	chanLocks map[string]bool
	// paramLocks memoises paramLockKey ("" when the parameter has no
	// one mutex).
	paramLocks map[*ssa.Parameter]string
	// mutexFields memoises mutexPointerField, by field.
	mutexFields map[token.Pos]string
	// assumedHeld are the locks a method's name says its callers hold.
	assumedHeld map[*ssa.Function]lockset

	// Happens-before, as sets of spawn indexes: the spawns each function
	// leaves running (esc), those running on entry (liveIn, by function
	// number), those joined by a Wait or by a receive.
	esc        map[*ssa.Function]bitset
	liveIn     []bitset
	liveBlocks map[*ssa.Function][]bitset
	eventMemo  map[*ssa.Function][][]ssa.Instruction
	// doneBy are the spawns whose goroutines call Done on a WaitGroup
	// as they end, by WaitGroup key; mustWaitMemo memoises mustWait;
	// waits gathers the WaitGroups waited on (see waits.go).
	doneBy       map[string]bitset
	mustWaitMemo map[*ssa.Function][]string
	waits        *mustFlow
	// chans are the uses of channels by name, and receives gathers the
	// channels received from (see closes.go).
	chans     map[string]*chanUse
	receives  *mustFlow
	mayEscape map[*ssa.Function]bool
	waitJoins bitset
	// receiveJoins are the spawns a receive joins, by channel element
	// type; signals the element types each root sends on or closes.
	receiveJoins map[string]bitset
	signals      [][]string

	childMemo map[[2]int]int
	// carriers are, per local map object, the spawns whose goroutine
	// receives it when started.
	carriers map[string][]int
	// escapedTo are, per local map object, the roots that run a closure
	// capturing it that escapes the calls of its maker (carry.go).
	escapedTo map[string]bitset
	children  [][]int // spawned roots, by the root that starts them
	// passMemo memoises passedIn.
	passMemo map[passKey]bool
	// freshMemo and escMemo memoise privateInstance.
	freshMemo, escMemo map[ssa.Value]bool
	// aliasMemo memoises elemAliases.
	aliasMemo map[ssa.Value][]ssa.Value
	// handoverMemo memoises handsOver, by channel element type.
	handoverMemo typeutil.Map
	// cellMemo memoises cellEscapes.
	cellMemo map[ssa.Value]bool
	// ownerMemo memoises contextOwners; freshOwnerMemo records which
	// fields only ever hold fresh structs; fieldAddrs indexes the
	// addresses of each field.
	ownerMemo map[ownerKey][]ownerAlt
	// closureMemo memoises closureStaysInCalls.
	closureMemo map[*ssa.Function]bool
	// instanceMemo memoises instanceOwn, handedMemo handedToInstance,
	// ownMapMemo ownMapField;
	// wholeStores holds the struct types stored whole, by declaration.
	instanceMemo   map[ownerKey]bool
	handedMemo     map[handedKey]bool
	handedLog      []handedKey
	ownMapMemo     map[token.Pos]bool
	wholeStores    map[token.Pos]bool
	freshOwnerMemo map[*types.Var]bool
	madeMemo       map[madeKey]owned
	// keptMemo memoises keptInField.
	keptMemo   map[*types.Var]bool
	fieldAddrs map[token.Pos][]*ssa.FieldAddr
	// unsharedMemo memoises sharedBefore.
	unsharedMemo map[unsharedKey]sharing
	// entrySet and spawnEntrySet hold the entries of every root, and
	// of the roots that go statements and callbacks start.
	entrySet, spawnEntrySet map[*ssa.Function]bool
	// rootLockIn and rootBlockIn are lockIn and blockIn per root.
	rootLockIn  map[rootFunc]lockset
	rootBlockIn map[rootFunc][]lockset
	// blockInFrom memoises blockLocks by function and entry locks, which
	// most roots running a function share.
	blockInFrom map[entryLocks][]lockset
	// fnRoots and fnRep are indexed by function number: the roots that
	// run the function, and those that may run it more than once.
	fnRoots, fnRep []bitset
	// rootBits is the size of every set of roots (newRootSet).
	rootBits int
	edges    [][]edge // calls between functions, by function number
	// guardIdx is, by function number, the index of the boolean
	// parameter deciding whether some of its calls run, or -1;
	// guardNeeds the value those calls need; flagRoots the roots calling
	// each guarded function passing false and true.
	guardIdx   []int
	guardNeeds map[ssa.CallInstruction]uint8
	flagRoots  [][2]bitset
	// testFuncs marks, by function number, code of _test.go files;
	// noTests are the roots that never run it (main, library types).
	testFuncs []bool
	noTests   bitset
	// traceMemo memoises traceFunc; opaqueEntries are the entries of
	// roots whose arguments come from outside the analysed code.
	traceMemo     map[traceKey]traceResult
	opaqueEntries map[*ssa.Function]bool
	// callbackIn are the locks held on entry to functions called back
	// through parameters, where the value is handed over.
	callbackIn map[*ssa.Function]lockset
	// flagMemo memoises flagFor; flagBusy are the functions whose
	// locks per flag value are being computed; flagStateMemo holds
	// those computed.
	flagMemo      map[*ssa.Function]*lockFlag
	flagBusy      map[*ssa.Function]bool
	flagStateMemo map[*ssa.Function]flagStates
	nprocs        int // processes numbered by findRoots
	findings      []Finding
}

func newAnalysis(p *program) *analysis {
	a := &analysis{
		p:              p,
		index:          map[*ssa.Function]int{},
		spawnAt:        map[ssa.Instruction]int{},
		srcMemo:        map[ssa.Value][]string{},
		allocMemo:      map[*ssa.Alloc][]string{},
		loops:          map[*ssa.Function]map[*ssa.BasicBlock]bool{},
		effects:        map[*ssa.Function]lockEffect{},
		lockIn:         map[*ssa.Function]lockset{},
		blockIn:        map[*ssa.Function][]lockset{},
		lockNames:      map[string]string{},
		paramLocks:     map[*ssa.Parameter]string{},
		mutexFields:    map[token.Pos]string{},
		assumedHeld:    map[*ssa.Function]lockset{},
		esc:            map[*ssa.Function]bitset{},
		liveBlocks:     map[*ssa.Function][]bitset{},
		eventMemo:      map[*ssa.Function][][]ssa.Instruction{},
		mustWaitMemo:   map[*ssa.Function][]string{},
		mayEscape:      map[*ssa.Function]bool{},
		childMemo:      map[[2]int]int{},
		traceMemo:      map[traceKey]traceResult{},
		callbackIn:     map[*ssa.Function]lockset{},
		flagMemo:       map[*ssa.Function]*lockFlag{},
		flagBusy:       map[*ssa.Function]bool{},
		flagStateMemo:  map[*ssa.Function]flagStates{},
		freshMemo:      map[ssa.Value]bool{},
		escMemo:        map[ssa.Value]bool{},
		aliasMemo:      map[ssa.Value][]ssa.Value{},
		cellMemo:       map[ssa.Value]bool{},
		ownerMemo:      map[ownerKey][]ownerAlt{},
		instanceMemo:   map[ownerKey]bool{},
		handedMemo:     map[handedKey]bool{},
		closureMemo:    map[*ssa.Function]bool{},
		ownMapMemo:     map[token.Pos]bool{},
		freshOwnerMemo: map[*types.Var]bool{},
		madeMemo:       map[madeKey]owned{},
		keptMemo:       map[*types.Var]bool{},
		unsharedMemo:   map[unsharedKey]sharing{},
		rootLockIn:     map[rootFunc]lockset{},
		passMemo:       map[passKey]bool{},
		rootBlockIn:    map[rootFunc][]lockset{},
		blockInFrom:    map[entryLocks][]lockset{},
	}
	a.waits = newMustFlow(a.waitKeysAt)
	a.receives = newMustFlow(a.receiveKeysAt)
	a.receives.edge = a.signalEdge
	for i, fn := range p.funcs {
		a.index[fn] = i
	}
	return a
}

// run performs the analysis, filling a.findings.
func (a *analysis) run() {
	a.findRoots()
	a.computeReach()
	a.computeSignals()
	a.computeOrder()
	a.computeMulti()
	a.computeChanLocks()
	a.computeLocks()
	a.computeCarried()
	a.computeChanUses()
	accesses := a.collectAccesses()
	ids := make([]string, 0, len(accesses))
	for id := range accesses {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		if f, ok, _ := a.check(id, accesses[id]); ok {
			f.TestOnly = a.racesOnlyInTests(f, accesses[id])
			a.findings = append(a.findings, f)
		}
	}
}

// racesOnlyInTests reports whether the race of finding f, on an object
// declared outside test files, goes away without the accesses in _test.go
// files: a test that reads a server's map without its lock, say. Such a
// race is real, but it is the test's to fix; rewriting a map the rest of
// the code already guards would change correct code.
func (a *analysis) racesOnlyInTests(f Finding, accs []access) bool {
	if isTestFile(f.Decl.Filename) {
		return false
	}
	code := make([]access, 0, len(accs))
	for _, x := range accs {
		if !isTestFile(a.p.fset.Position(x.pos).Filename) {
			code = append(code, x)
		}
	}
	if len(code) == len(accs) {
		return false
	}
	_, racy, complete := a.check(f.ID, code)
	return !racy && complete
}

func isTestFile(name string) bool {
	return strings.HasSuffix(name, "_test.go")
}

// newFinding returns a finding for the object id with its identity filled.
func (a *analysis) newFinding(id string) Finding {
	d := a.p.decls[id]
	return Finding{
		Object: d.Object,
		ID:     id,
		Name:   ObjectName(d.Pkg.Types, d.File, d.Object),
		Decl:   a.p.fset.Position(d.Object.Pos()),
		Kind:   Race,
		Source: "static",
	}
}

// context is an access as run by one root, with the locks held.
type context struct {
	acc   *access
	root  int
	locks lockset
	// owners are the ways the root brings the access its struct, once
	// computed (ownersDone); nil when not known.
	owners     []ownerAlt
	ownersDone bool
}

// maxPairChecks bounds the pairs examined for one object, so that a map
// used everywhere cannot make the analysis quadratic in the program.
const maxPairChecks = 2000000

// check decides whether the object id races: whether a write and another
// access can run in concurrent goroutines with no common lock held.
// complete is false when the pairs examined reached maxPairChecks before
// every pair was seen, so that no race found proves none.
func (a *analysis) check(id string, accs []access) (f Finding, racy, complete bool) {
	hasWrite := false
	for _, x := range accs {
		hasWrite = hasWrite || x.write
	}
	if !hasWrite {
		return Finding{}, false, true
	}
	info := a.objectInfo(id)
	var ctxs []context
	for i := range accs {
		x := &accs[i]
		if x.fresh && !a.spawnedBefore(x) {
			continue // not yet visible to other goroutines
		}
		fi := a.index[x.fn]
		var locks lockset
		computed := false
		a.fnRoots[fi].each(func(r int) {
			if a.roots[r].kind == rootInit {
				return
			}
			if x.param != nil && !a.passedIn(x.param, id, r) {
				return // this root passes other maps for the parameter
			}
			if x.sharedIn != nil && !a.runsOrigin(r, x.sharedIn) {
				return // the struct is private in the chains this root runs
			}
			if !computed {
				locks, computed = a.locksAt(x.fn, x.instr), true
			}
			ctxs = append(ctxs, context{acc: x, root: r, locks: locks})
		})
	}
	// Prefer evidence from concrete roots over assumed ones.
	sort.SliceStable(ctxs, func(i, j int) bool { return a.assumed(ctxs[i].root) < a.assumed(ctxs[j].root) })
	var carrying bitset
	if info.local {
		carrying = a.carryingRoots(id)
	}
	refined := make([]bool, len(ctxs))
	budget := maxPairChecks
	var best *[2]context
	bestAssumed := 3
	for i := range ctxs {
		w := ctxs[i]
		if !w.acc.write {
			continue
		}
		for j := range ctxs {
			x := ctxs[j]
			if budget--; budget < 0 {
				break
			}
			if j < i && x.acc.write {
				continue // already examined as (x, w)
			}
			if common(w.locks, x.locks) {
				continue
			}
			// The locks every caller holds were not enough; those the
			// callers in each access's own root hold may be.
			ctxs[i].locks = a.refineLocks(&ctxs[i], refined, i)
			ctxs[j].locks = a.refineLocks(&ctxs[j], refined, j)
			w, x = ctxs[i], ctxs[j]
			if common(w.locks, x.locks) {
				continue
			}
			if info.local && !carrying.has(w.root) && !carrying.has(x.root) {
				continue // one activation's map, seen by one goroutine
			}
			if a.ownersExclude(&ctxs[i], &ctxs[j]) {
				continue // a common lock along every chain that may share the struct
			}
			ok, viaAssumed := a.concurrent(w, x, info)
			if !ok {
				continue
			}
			n := a.assumed(w.root) + a.assumed(x.root)
			if viaAssumed {
				n++
			}
			if n < bestAssumed {
				best, bestAssumed = &[2]context{w, x}, n
			}
			break
		}
		if bestAssumed == 0 || budget < 0 {
			break
		}
	}
	complete = budget >= 0
	if best == nil {
		return Finding{}, false, complete
	}
	f = a.newFinding(id)
	w, x := best[0], best[1]
	f.Confidence = Proven
	if bestAssumed > 0 {
		f.Confidence = Assumed
		for _, c := range []context{w, x} {
			if a.assumed(c.root) > 0 {
				f.Assumptions = append(f.Assumptions, a.assumption(c.root))
			} else if a.roots[c.root].multiAssumed {
				f.Assumptions = append(f.Assumptions, fmt.Sprintf("the %s runs more than once at the same time because the code starting it may be called concurrently", a.roots[c.root].desc))
			}
		}
		f.Assumptions = dedupe(f.Assumptions)
	}
	if rl := underRLockOnly(w.locks, x.locks); rl != "" {
		f.Kind = WriteUnderRLock
		f.Reason = fmt.Sprintf("written under %s, which only excludes writers; readers run at the same time", a.lockNames[rl]+".RLock")
	} else {
		f.Reason = a.reason(w, x)
	}
	f.Pair = []Access{a.evidence(w), a.evidence(x)}
	return f, true, complete
}

// refineLocks returns the locks held at context c given the callers in
// its own root, computing them once per context.
func (a *analysis) refineLocks(c *context, refined []bool, i int) lockset {
	if !refined[i] {
		refined[i] = true
		c.locks = a.locksAtIn(c.acc.fn, c.acc.instr, c.root)
	}
	return c.locks
}

// spawnedBefore reports whether the function of x may have started a
// goroutine before reaching x, in the same call, that may still run at x.
// A goroutine an earlier call started cannot hold what this call has
// just made.
func (a *analysis) spawnedBefore(x *access) bool {
	found := false
	a.liveAt(x.fn, x.instr).each(func(s int) {
		sp := a.spawns[s]
		found = found || sp.fn == x.fn && mayPrecede(sp.site, x.instr)
	})
	return found
}

// underRLockOnly returns the key of a lock both accesses hold in read
// mode, when the write holds it so: a write under RLock.
func underRLockOnly(w, x lockset) string {
	for _, h := range w {
		if !h.read || strings.HasPrefix(h.key, "once ") {
			continue
		}
		for _, g := range x {
			if g.key == h.key {
				return h.key
			}
		}
	}
	return ""
}

func (a *analysis) assumed(r int) int {
	switch a.roots[r].kind {
	case rootLibrary, rootUnknown:
		return 1
	}
	return 0
}

func (a *analysis) assumption(r int) string {
	root := a.roots[r]
	if root.kind == rootLibrary {
		return fmt.Sprintf("the %s are called concurrently, since the type takes locks or starts goroutines", root.desc)
	}
	return "functions not called in the analysed code may be called while its goroutines run"
}

func (a *analysis) reason(w, x context) string {
	if w.root == x.root {
		if w.acc == x.acc {
			return fmt.Sprintf("%s without a lock in %s, which runs more than once at the same time", w.acc.op, a.roots[w.root].desc)
		}
		return fmt.Sprintf("written and %s in %s, which runs more than once at the same time, with no common lock", x.acc.op, a.roots[w.root].desc)
	}
	what := "accessed"
	if x.acc.write {
		what = "written"
	}
	return fmt.Sprintf("written in %s and %s in %s with no common lock", a.roots[w.root].desc, what, a.roots[x.root].desc)
}

// objInfo says what kind of object a map object is, for ownership.
type objInfo struct {
	local bool
	decl  *ssa.Function // the function declaring a local
	pos   token.Pos     // where a local is declared
}

func (a *analysis) objectInfo(id string) objInfo {
	d := a.p.decls[id]
	v, ok := d.Object.(*types.Var)
	if !ok || v.IsField() || v.Parent() == d.Object.Pkg().Scope() {
		return objInfo{}
	}
	return objInfo{local: true, decl: a.p.declFunc[id], pos: v.Pos()}
}

// owns reports whether every instance of root r has its own copy of the
// local object: the function declaring it runs inside r.
func (a *analysis) owns(r int, obj objInfo) bool {
	if !obj.local || obj.decl == nil {
		return false
	}
	return a.runs(r, obj.decl)
}

// selfConcurrent reports whether two instances of root r can access the
// same object at once, and whether that rests on an assumption.
func (a *analysis) selfConcurrent(r int, obj objInfo) (ok, assumed bool) {
	root := a.roots[r]
	if !root.multi || a.owns(r, obj) {
		return false, false
	}
	if obj.local && root.spawn >= 0 {
		sp := a.spawns[root.spawn]
		if sp.fn == obj.decl {
			if sp.kind == spawnHandler || sp.kind == spawnParallel || sp.many {
				return true, false
			}
			return a.inLoop(sp.site) && !perIteration(sp, obj.pos), false
		}
	}
	return true, root.multiAssumed
}

// perIteration reports whether a local declared at pos is declared inside
// the innermost loop around the spawn, so that every goroutine the loop
// starts gets a variable of its own.
func perIteration(sp *spawn, pos token.Pos) bool {
	syn := sp.fn.Syntax()
	at := sp.site.Pos()
	if syn == nil || !at.IsValid() {
		return false
	}
	var loop ast.Node
	ast.Inspect(syn, func(n ast.Node) bool {
		if n == nil || at < n.Pos() || at >= n.End() {
			return false
		}
		switch n.(type) {
		case *ast.ForStmt, *ast.RangeStmt:
			loop = n
		case *ast.FuncLit:
			if n != syn {
				return false
			}
		}
		return true
	})
	if loop == nil {
		return false
	}
	var body *ast.BlockStmt
	switch l := loop.(type) {
	case *ast.ForStmt:
		body = l.Body
	case *ast.RangeStmt:
		body = l.Body
	}
	return pos >= body.Pos() && pos < body.End()
}

// ownStructsApart reports whether the accesses x and y, run by goroutines
// that different functions start, each reach the struct made for its
// goroutine at its start (instanceOwn): those are two structs, made by
// two functions. Starts in one function could hand both goroutines one
// struct.
func (a *analysis) ownStructsApart(x, y context) bool {
	rx, ry := a.roots[x.root], a.roots[y.root]
	if rx.spawn < 0 || ry.spawn < 0 || a.spawns[rx.spawn].fn == a.spawns[ry.spawn].fn {
		return false
	}
	return a.instanceOwn(&x) && a.instanceOwn(&y)
}

// concurrent reports whether access contexts x and y can run at the same
// time, and whether that rests on an assumption about how the code is
// called.
func (a *analysis) concurrent(x, y context, obj objInfo) (ok, assumed bool) {
	if x.root == y.root {
		if a.instanceOwn(&x) && a.instanceOwn(&y) {
			return false, false // each instance works on its own struct
		}
		return a.selfConcurrent(x.root, obj)
	}
	if !a.shareProcess(x.root, y.root) {
		return false, false // a main program and a test binary, say
	}
	if a.closedBetween(x, y) || a.closedBetween(y, x) {
		return false, false // one follows the close of a channel the other's goroutine closes after it
	}
	if a.ownStructsApart(x, y) {
		return false, false // each start works on the struct made for it
	}
	if a.owns(x.root, obj) && a.owns(y.root, obj) {
		return false, false // each has its own activation of the local
	}
	if c := a.childToward(x.root, y.root); c >= 0 {
		return a.startedDuring(x, c, obj)
	}
	if c := a.childToward(y.root, x.root); c >= 0 {
		return a.startedDuring(y, c, obj)
	}
	rx, ry := a.roots[x.root], a.roots[y.root]
	if (rx.kind == rootParallelTest && ry.kind == rootTests) || (ry.kind == rootParallelTest && rx.kind == rootTests) {
		return false, false // parallel tests wait for the sequential ones
	}
	if rx.spawn >= 0 && ry.spawn >= 0 {
		sx, sy := a.spawns[rx.spawn], a.spawns[ry.spawn]
		if sx.kind == spawnSubtest && sy.kind == spawnSubtest {
			return true, false
		}
		shared, multiParent, viaAssumed := false, false, true
		for _, p := range rx.parents {
			for _, q := range ry.parents {
				if p != q {
					continue
				}
				shared = true
				if parent := a.roots[p]; parent.multi && !a.owns(p, obj) {
					multiParent = true
					if a.assumed(p) == 0 && !parent.multiAssumed {
						viaAssumed = false
					}
				}
			}
		}
		if shared && !multiParent {
			// Siblings: concurrent only if one is started while the
			// other may still run.
			return a.liveAt(sy.fn, sy.site).has(rx.spawn) || a.liveAt(sx.fn, sx.site).has(ry.spawn), false
		}
		if shared && multiParent && viaAssumed {
			if a.liveAt(sy.fn, sy.site).has(rx.spawn) || a.liveAt(sx.fn, sx.site).has(ry.spawn) {
				return true, false
			}
			return true, true
		}
	}
	return true, false
}

// startedDuring reports whether x, run by its root, can overlap the
// goroutine started by spawn root child, a child of x's root.
func (a *analysis) startedDuring(x context, child int, obj objInfo) (ok, assumed bool) {
	sp := a.roots[child].spawn
	if a.liveAt(x.acc.fn, x.acc.instr).has(sp) && !a.returnedJoined(x.acc, sp) {
		return true, false
	}
	if root := a.roots[x.root]; root.multi && !a.owns(x.root, obj) {
		return true, root.multiAssumed
	}
	return false, false
}

// returnedJoined reports whether the map of access x is a result of a call
// of the function that started spawn s, returned only where s is no longer
// running: func get() (map[K]V, error) { m := ...; go fill(m); if err :=
// f(); err != nil { return nil, err }; wg.Wait(); return m, nil }. The
// goroutine outlives the call only on the paths that do not hand the map
// out, so what the caller does with the map follows the goroutine.
func (a *analysis) returnedJoined(x *access, s int) bool {
	idx := 0
	v := x.mapv
	if e, ok := v.(*ssa.Extract); ok {
		idx, v = e.Index, e.Tuple
	}
	call, ok := v.(*ssa.Call)
	if !ok || call.Parent() != x.fn {
		return false
	}
	spawner := a.spawns[s].fn
	callees := a.p.calls[call]
	if len(callees) != 1 || callees[0] != spawner {
		return false
	}
	for _, b := range spawner.Blocks {
		ret, ok := b.Instrs[len(b.Instrs)-1].(*ssa.Return)
		if !ok || idx >= len(ret.Results) {
			continue
		}
		for _, out := range resultsHandedOut(ret, idx) {
			if c, ok := out.val.(*ssa.Const); ok && c.IsNil() {
				continue
			}
			// The spawns live on entry are those of other activations,
			// whose maps are their own.
			if out.at == nil || a.liveInFlow(spawner, out.at).has(s) {
				return false
			}
		}
	}
	return true
}

// handedOut is a value a function returns and where it is decided.
type handedOut struct {
	at  ssa.Instruction // nil when not known
	val ssa.Value
}

// resultsHandedOut returns the values that result idx of ret may hand
// out: the result itself, or, in a function with defers, which returns
// what its return statements stored in a result variable, each value
// stored there, decided at the store.
func resultsHandedOut(ret *ssa.Return, idx int) []handedOut {
	v := ret.Results[idx]
	load, ok := v.(*ssa.UnOp)
	if !ok || load.Op != token.MUL {
		return []handedOut{{ret, v}}
	}
	slot, ok := load.X.(*ssa.Alloc)
	if !ok || slot.Heap || slot.Referrers() == nil {
		return []handedOut{{nil, v}}
	}
	var outs []handedOut
	for _, r := range *slot.Referrers() {
		switch r := r.(type) {
		case *ssa.Store:
			if r.Addr != slot {
				return []handedOut{{nil, v}}
			}
			outs = append(outs, handedOut{r, r.Val})
		case *ssa.UnOp:
			// A load: the return, or a deferred function's read.
		default:
			return []handedOut{{nil, v}}
		}
	}
	return outs
}

// evidence describes a context for a finding.
func (a *analysis) evidence(c context) Access {
	acc := Access{
		Pos:   a.p.fset.Position(c.acc.pos),
		Write: c.acc.write,
		Op:    c.acc.op,
		Root:  a.roots[c.root].desc,
		Path:  a.pathTo(c.root, c.acc.fn),
	}
	for _, h := range c.locks {
		acc.Locks = append(acc.Locks, a.lockDesc(h))
	}
	return acc
}

// pathTo returns a short call path from an entry of root r to fn,
// searching breadth-first along the call edges of the functions r runs.
func (a *analysis) pathTo(r int, fn *ssa.Function) []string {
	target, ok := a.index[fn]
	if !ok {
		return []string{funcName(fn)}
	}
	prev := map[int]int{}
	var queue []int
	for _, e := range a.roots[r].entries {
		if i, ok := a.index[e]; ok {
			if _, seen := prev[i]; !seen {
				prev[i] = -1
				queue = append(queue, i)
			}
		}
	}
	for len(queue) > 0 {
		f := queue[0]
		queue = queue[1:]
		if f == target {
			break
		}
		for _, e := range a.edges[f] {
			if _, seen := prev[e.callee]; !seen && a.fnRoots[e.callee].has(r) {
				prev[e.callee] = f
				queue = append(queue, e.callee)
			}
		}
	}
	if _, ok := prev[target]; !ok {
		return []string{funcName(fn)}
	}
	var path []string
	for f := target; f >= 0; f = prev[f] {
		path = append(path, funcName(a.p.funcs[f]))
	}
	for i, j := 0, len(path)-1; i < j; i, j = i+1, j-1 {
		path[i], path[j] = path[j], path[i]
	}
	const maxPath = 6
	if len(path) > maxPath {
		path = append(path[:2:2], append([]string{"..."}, path[len(path)-maxPath+3:]...)...)
	}
	return path
}

func dedupe(s []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, x := range s {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// ignored reports whether the declaration of d carries a
// //safemapfix:ignore comment on its line or on the line just above its
// spec or field.
func ignored(fset *token.FileSet, d Declared) bool {
	if d.File == nil || d.Object == nil {
		return false
	}
	declLine := fset.Position(d.Object.Pos()).Line
	lines := map[int]bool{declLine: true, declLine - 1: true}
	// The spec or field may start above the identifier (a multi-line
	// field list); the line above its start counts too.
	ast.Inspect(d.File, func(n ast.Node) bool {
		if n == nil || n.Pos() > d.Object.Pos() || n.End() <= d.Object.Pos() {
			return n == nil || n.Pos() <= d.Object.Pos()
		}
		switch n := n.(type) {
		case *ast.ValueSpec, *ast.Field, *ast.AssignStmt:
			lines[fset.Position(n.Pos()).Line-1] = true
		case *ast.GenDecl:
			if len(n.Specs) == 1 {
				lines[fset.Position(n.Pos()).Line-1] = true
			}
		}
		return true
	})
	for _, cg := range d.File.Comments {
		for _, c := range cg.List {
			if !strings.HasPrefix(c.Text, ignoreDirective) {
				continue
			}
			rest := strings.TrimPrefix(c.Text, ignoreDirective)
			if rest != "" && rest[0] != ' ' && rest[0] != '\t' {
				continue
			}
			if lines[fset.Position(c.Pos()).Line] {
				return true
			}
		}
	}
	return false
}
