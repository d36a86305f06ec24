package detect

import (
	"fmt"
	"go/token"
	"go/types"
	"slices"
	"strings"

	"golang.org/x/tools/go/ssa"
)

// spawnKind says how code handed to a goroutine-starting construct runs.
type spawnKind int

const (
	spawnGo        spawnKind = iota // go statement: joined by Wait or a receive
	spawnWaitGroup                  // (*sync.WaitGroup).Go: joined by Wait
	spawnErrgroup                   // (*errgroup.Group).Go/TryGo: joined by Wait
	spawnDetached                   // time.AfterFunc, context.AfterFunc, finalizers: never joined
	spawnHandler                    // net/http handler: one goroutine per request
	spawnParallel                   // b.RunParallel body: many goroutines, joined by the call
	spawnSubtest                    // t.Run of a test calling t.Parallel: runs after the parent
)

// spawnCall describes a call that starts its function argument in new
// goroutines.
type spawnCall struct {
	kind spawnKind
	fn   ssa.Value
	what string
}

// spawnOf recognises the calls that run a function argument concurrently,
// or returns nil.
func spawnOf(site ssa.CallInstruction) *spawnCall {
	if _, ok := site.(*ssa.Go); ok {
		return nil
	}
	common := site.Common()
	callee := common.StaticCallee()
	if callee == nil {
		return nil
	}
	obj, _ := callee.Object().(*types.Func)
	if obj == nil || obj.Pkg() == nil {
		return nil
	}
	args := common.Args
	arg := func(i int) ssa.Value {
		if i < len(args) {
			return args[i]
		}
		return nil
	}
	path, recv, name := obj.Pkg().Path(), recvName(obj), obj.Name()
	switch {
	case path == "sync" && recv == "WaitGroup" && name == "Go":
		return &spawnCall{spawnWaitGroup, arg(1), "(*sync.WaitGroup).Go"}
	case path == "golang.org/x/sync/errgroup" && recv == "Group" && (name == "Go" || name == "TryGo"):
		return &spawnCall{spawnErrgroup, arg(1), "(*errgroup.Group)." + name}
	case path == "time" && recv == "" && name == "AfterFunc":
		return &spawnCall{spawnDetached, arg(1), "time.AfterFunc"}
	case path == "context" && recv == "" && name == "AfterFunc":
		return &spawnCall{spawnDetached, arg(1), "context.AfterFunc"}
	case path == "runtime" && recv == "" && (name == "SetFinalizer" || name == "AddCleanup"):
		return &spawnCall{spawnDetached, arg(1), "runtime." + name}
	case path == "net/http" && name == "HandleFunc" && (recv == "" || recv == "ServeMux"):
		i := 1
		if recv != "" {
			i = 2
		}
		return &spawnCall{spawnHandler, arg(i), "http handler"}
	case path == "testing" && recv == "B" && name == "RunParallel":
		return &spawnCall{spawnParallel, arg(1), "(*testing.B).RunParallel"}
	case path == "testing" && recv == "T" && name == "Run":
		if f := arg(2); f != nil && callsParallel(f) {
			return &spawnCall{spawnSubtest, f, "parallel subtest"}
		}
	}
	if len(callee.Blocks) == 0 {
		// A function with the signature of an http handler handed to
		// opaque code (a router) is served concurrently.
		for _, a := range args {
			if isHandlerFunc(a.Type()) {
				if _, ok := a.(*ssa.Function); ok {
					return &spawnCall{spawnHandler, a, "http handler"}
				}
				if _, ok := a.(*ssa.MakeClosure); ok {
					return &spawnCall{spawnHandler, a, "http handler"}
				}
			}
		}
	}
	return nil
}

// recvName is the name of the named receiver type of a method, or "".
func recvName(fn *types.Func) string {
	sig, _ := fn.Type().(*types.Signature)
	if sig == nil || sig.Recv() == nil {
		return ""
	}
	t := sig.Recv().Type()
	if p, ok := t.(*types.Pointer); ok {
		t = p.Elem()
	}
	if n, ok := types.Unalias(t).(*types.Named); ok {
		return n.Obj().Name()
	}
	return ""
}

// isNamed reports whether t is the named type path.name.
func isNamed(t types.Type, path, name string) bool {
	n, ok := types.Unalias(t).(*types.Named)
	return ok && n.Obj().Pkg() != nil && n.Obj().Pkg().Path() == path && n.Obj().Name() == name
}

// isHandlerFunc reports whether t is func(http.ResponseWriter, *http.Request).
func isHandlerFunc(t types.Type) bool {
	sig, ok := t.Underlying().(*types.Signature)
	if !ok || sig.Params().Len() != 2 || sig.Results().Len() != 0 {
		return false
	}
	p0, p1 := sig.Params().At(0).Type(), sig.Params().At(1).Type()
	ptr, ok := p1.(*types.Pointer)
	return ok && isNamed(p0, "net/http", "ResponseWriter") && isNamed(ptr.Elem(), "net/http", "Request")
}

// callsParallel reports whether the function value f is a literal or
// function that calls (*testing.T).Parallel in its own body.
func callsParallel(f ssa.Value) bool {
	var fn *ssa.Function
	switch f := f.(type) {
	case *ssa.Function:
		fn = f
	case *ssa.MakeClosure:
		fn = f.Fn.(*ssa.Function)
	}
	return fn != nil && hasParallelCall(fn)
}

func hasParallelCall(fn *ssa.Function) bool {
	for _, b := range fn.Blocks {
		for _, instr := range b.Instrs {
			call, ok := instr.(*ssa.Call)
			if !ok {
				continue
			}
			if callee := call.Call.StaticCallee(); callee != nil {
				if obj, ok := callee.Object().(*types.Func); ok && obj.Pkg() != nil &&
					obj.Pkg().Path() == "testing" && recvName(obj) == "T" && obj.Name() == "Parallel" {
					return true
				}
			}
		}
	}
	return false
}

// rootKind is the kind of a goroutine root.
type rootKind int

const (
	rootMain rootKind = iota
	rootTests
	rootParallelTest
	rootInit
	rootSpawn
	rootLibrary // exported methods of a type meant for concurrent use (assumed)
	rootUnknown // functions nothing in the analysed code calls (assumed)
)

// root is code that runs in a goroutine of its own.
type root struct {
	kind    rootKind
	desc    string
	entries []*ssa.Function
	// spawn is the index of the spawn that starts this root, or -1.
	spawn int
	// multi: several instances of the root can run at once;
	// multiAssumed: only because an assumed root runs more than once.
	multi, multiProven, multiAssumed bool
	parents                          []int
	// procs are the processes the root can run in: the binary of a main
	// package or of a package's tests. anyProc: any of them.
	procs   []int
	anyProc bool
}

// spawn is one place in the code that starts a goroutine root.
type spawn struct {
	site ssa.Instruction
	fn   *ssa.Function
	kind spawnKind
	root int
	// started is the function value the site starts (go f(x) starts f;
	// a helper that starts its argument, that argument); nil for an http
	// handler.
	started ssa.Value
	// many reports that each execution of the site starts several
	// goroutines: a helper that starts its argument in a loop, or in
	// more than one go statement.
	many bool
	// inner, for a call of a helper that starts its argument, are the
	// spawns of the helper's go statements that run it. When none of
	// them outlives the helper (it waits for them on every path to a
	// return), the call returns only once the goroutines are done.
	inner []int
}

// findRoots lists the goroutine roots of the program: main, tests, package
// initialisers, every go statement and concurrent callback, and the
// exported methods of library types meant for concurrent use. The roots
// that nothing else reaches form one more root, the unknown callers.
func (a *analysis) findRoots() {
	add := func(r *root) int {
		a.roots = append(a.roots, r)
		return len(a.roots) - 1
	}
	procs := map[string]int{}
	proc := func(key string) []int {
		id, ok := procs[key]
		if !ok {
			id = len(procs)
			procs[key] = id
		}
		return []int{id}
	}
	// One sequential root per test binary: the tests of a package and its
	// external test package run in one process, in turn.
	tests := map[string]*root{}
	var binaries []string
	for _, fn := range a.p.funcs {
		switch {
		case fn.Synthetic == "package initializer":
			add(&root{kind: rootInit, desc: "package initialisation", entries: []*ssa.Function{fn}, spawn: -1, anyProc: true})
		case fn.Name() == "main" && fn.Signature.Recv() == nil && fn.Parent() == nil && fn.Pkg != nil && fn.Pkg.Pkg.Name() == "main" && fn.Synthetic == "":
			add(&root{kind: rootMain, desc: "main", entries: []*ssa.Function{fn}, spawn: -1, procs: proc("main " + fn.Pkg.Pkg.Path())})
		case isTestFunc(a.p, fn):
			binary := strings.TrimSuffix(fn.Pkg.Pkg.Path(), "_test")
			if hasParallelCall(fn) {
				add(&root{kind: rootParallelTest, desc: "parallel test " + fn.Name(), entries: []*ssa.Function{fn}, spawn: -1, procs: proc("test " + binary)})
				continue
			}
			t := tests[binary]
			if t == nil {
				t = &root{kind: rootTests, desc: "tests of " + binary, spawn: -1, procs: proc("test " + binary)}
				tests[binary] = t
				binaries = append(binaries, binary)
			}
			t.entries = append(t.entries, fn)
		}
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				a.findSpawn(fn, instr, add)
			}
		}
	}
	for _, b := range binaries {
		add(tests[b])
	}
	a.nprocs = len(procs)
	a.findSpawnWrappers(add)
	a.dropDuplicateRoots()
	a.findLibraryRoots(add)
}

// findSpawn adds the root started by instr, if it starts one.
func (a *analysis) findSpawn(fn *ssa.Function, instr ssa.Instruction, add func(*root) int) {
	var kind spawnKind
	var targets []*ssa.Function
	var what string
	var started ssa.Value
	switch instr := instr.(type) {
	case *ssa.Go:
		kind, targets, what, started = spawnGo, a.p.calls[instr], "go statement", instr.Call.Value
	case ssa.CallInstruction:
		sc := spawnOf(instr)
		if sc == nil || sc.fn == nil {
			return
		}
		kind, targets, what, started = sc.kind, a.p.funcValues(sc.fn), sc.what, sc.fn
	case *ssa.MakeInterface:
		if !isNamed(instr.Type(), "net/http", "Handler") {
			return
		}
		kind, what = spawnHandler, "http handler"
		if m := a.method(instr.X.Type(), "ServeHTTP"); m != nil {
			targets = []*ssa.Function{m}
		}
	case *ssa.ChangeType:
		if !isNamed(instr.Type(), "net/http", "HandlerFunc") {
			return
		}
		kind, targets, what = spawnHandler, a.p.funcValues(instr.X), "http handler"
	default:
		return
	}
	if len(targets) == 0 && !isFuncParam(fn, started) {
		// A parameter's values are only known at the calls of fn:
		// findSpawnWrappers makes each of them a spawn of its own.
		return
	}
	pos := instr.Pos()
	if !pos.IsValid() {
		pos = fn.Pos()
	}
	a.spawns = append(a.spawns, &spawn{site: instr, fn: fn, kind: kind, started: started})
	s := len(a.spawns) - 1
	desc := fmt.Sprintf("%s at %s running %s", what, shortPos(a.p.fset.Position(pos)), targetNames(targets))
	r := add(&root{kind: rootSpawn, desc: desc, entries: targets, spawn: s})
	a.spawns[s].root = r
	a.spawnAt[instr] = s
}

// dropDuplicateRoots empties go-statement roots that only run functions
// already started by a modelled callback spawn: when the standard library
// itself is analysed, context.AfterFunc's own "go a.f()" would otherwise
// be a second root running every AfterFunc callback of the program.
func (a *analysis) dropDuplicateRoots() {
	callback := map[*ssa.Function]bool{}
	for _, sp := range a.spawns {
		if _, isGo := sp.site.(*ssa.Go); isGo {
			continue
		}
		for _, e := range a.roots[sp.root].entries {
			callback[e] = true
		}
	}
	for _, sp := range a.spawns {
		g, isGo := sp.site.(*ssa.Go)
		if !isGo || g.Call.StaticCallee() != nil {
			continue
		}
		root := a.roots[sp.root]
		all := len(root.entries) > 0
		for _, e := range root.entries {
			all = all && callback[e]
		}
		if all {
			root.entries = nil
		}
	}
}

// findSpawnWrappers turns helpers that start their function argument in a
// goroutine (func (s *Server) startGoRoutine(f func()) { go func() {
// defer s.wg.Done(); f() }() }, or the same through wg.Go or an errgroup's
// Go) into spawns at each of their call sites, so that each goroutine
// started through the helper is a root of its own instead of all of them
// being one root that runs everything.
func (a *analysis) findSpawnWrappers(add func(*root) int) {
	type started struct {
		helper *ssa.Function
		param  int
	}
	type goStart struct {
		site  ssa.Instruction
		param int
		calls []ssa.CallInstruction
	}
	n := len(a.spawns)
	starts := make([]goStart, n)
	inner := map[started][]int{}
	for si := range n {
		sp := a.spawns[si]
		starts[si].param = -1
		switch sp.kind {
		case spawnGo, spawnWaitGroup, spawnErrgroup:
			site := sp.site.(ssa.CallInstruction)
			param, calls := a.startsParam(sp.fn, site, sp.started)
			starts[si] = goStart{site, param, calls}
			if param >= 0 {
				key := started{sp.fn, param}
				inner[key] = append(inner[key], si)
			}
		}
	}
	for si := range n {
		sp := a.spawns[si]
		start, param, calls := starts[si].site, starts[si].param, starts[si].calls
		if param < 0 {
			continue
		}
		many := a.inLoop(start) || len(inner[started{sp.fn, param}]) > 1
		for _, c := range calls {
			for _, callee := range a.p.calls[c] {
				a.p.callers[callee] = without(a.p.callers[callee], c)
			}
			delete(a.p.calls, c)
		}
		for _, site := range a.p.callers[sp.fn] {
			if _, isGo := site.(*ssa.Go); isGo {
				continue
			}
			if _, taken := a.spawnAt[site]; taken {
				continue
			}
			args := site.Common().Args
			if site.Common().IsInvoke() || param >= len(args) {
				continue
			}
			targets := a.p.funcValues(args[param])
			if len(targets) == 0 {
				continue
			}
			a.spawns = append(a.spawns, &spawn{site: site, fn: site.Parent(), kind: spawnGo, started: args[param], many: many, inner: inner[started{sp.fn, param}]})
			s := len(a.spawns) - 1
			pos := site.Pos()
			if !pos.IsValid() {
				pos = site.Parent().Pos()
			}
			desc := fmt.Sprintf("%s at %s running %s", funcName(sp.fn), shortPos(a.p.fset.Position(pos)), targetNames(targets))
			r := add(&root{kind: rootSpawn, desc: desc, entries: targets, spawn: s})
			a.spawns[s].root = r
			a.spawnAt[site] = s
		}
	}
}

// startsParam reports whether site in fn, which starts the function value
// started in a goroutine, runs one of fn's function parameters: go f(),
// go func() { ...; f() }(), wg.Go(f). It returns the parameter's index and
// the calls of it inside the goroutine, or -1.
func (a *analysis) startsParam(fn *ssa.Function, site ssa.CallInstruction, started ssa.Value) (int, []ssa.CallInstruction) {
	funcParam := func(v ssa.Value) int {
		if alloc, ok := v.(*ssa.Alloc); ok {
			// A captured parameter lives in memory: find what is stored.
			if refs := alloc.Referrers(); refs != nil {
				for _, r := range *refs {
					if st, ok := r.(*ssa.Store); ok && st.Addr == alloc {
						v = st.Val
					}
				}
			}
		}
		if !isFuncParam(fn, v) {
			return -1
		}
		return paramIndex(v.(*ssa.Parameter))
	}
	if i := funcParam(started); i >= 0 {
		return i, []ssa.CallInstruction{site}
	}
	mc, ok := started.(*ssa.MakeClosure)
	if !ok {
		return -1, nil
	}
	body := mc.Fn.(*ssa.Function)
	for j, b := range mc.Bindings {
		i := funcParam(b)
		if i < 0 || j >= len(body.FreeVars) {
			continue
		}
		fv := body.FreeVars[j]
		var calls []ssa.CallInstruction
		for _, blk := range body.Blocks {
			for _, instr := range blk.Instrs {
				c, ok := instr.(ssa.CallInstruction)
				if !ok || c.Common().IsInvoke() {
					continue
				}
				v := c.Common().Value
				if load, ok := v.(*ssa.UnOp); ok && load.Op == token.MUL {
					v = load.X
				}
				if v == fv {
					calls = append(calls, c)
				}
			}
		}
		if len(calls) > 0 {
			return i, calls
		}
	}
	return -1, nil
}

// isFuncParam reports whether v is one of fn's parameters of function type.
func isFuncParam(fn *ssa.Function, v ssa.Value) bool {
	p, ok := v.(*ssa.Parameter)
	if !ok || p.Parent() != fn {
		return false
	}
	_, isFunc := p.Type().Underlying().(*types.Signature)
	return isFunc
}

func without(sites []ssa.CallInstruction, x ssa.CallInstruction) []ssa.CallInstruction {
	out := sites[:0:0]
	for _, s := range sites {
		if s != x {
			out = append(out, s)
		}
	}
	return out
}

// method returns the unit method named name of type t (or *t).
func (a *analysis) method(t types.Type, name string) *ssa.Function {
	for _, tt := range []types.Type{t, types.NewPointer(t)} {
		if _, isPtr := t.(*types.Pointer); isPtr && tt != t {
			continue
		}
		sel := a.p.prog.MethodSets.MethodSet(tt).Lookup(nil, name)
		if sel == nil {
			continue
		}
		if fn := a.p.prog.MethodValue(sel); fn != nil {
			return a.p.link(fn)
		}
	}
	return nil
}

// isTestFunc reports whether fn is a Test, Benchmark, Fuzz or Example
// function of a _test.go file: a top-level one, or a method of a suite
// type, which a helper (grpc's grpctest.RunSubTests, testify's suite.Run)
// finds through reflection and runs as a subtest.
func isTestFunc(p *program, fn *ssa.Function) bool {
	if fn.Parent() != nil || fn.Synthetic != "" || fn.Signature.Recv() != nil && !isSuiteMethod(fn) {
		return false
	}
	pos := p.fset.Position(fn.Pos())
	if !isTestFile(pos.Filename) {
		return false
	}
	for _, prefix := range []string{"Test", "Benchmark", "Fuzz", "Example"} {
		if strings.HasPrefix(fn.Name(), prefix) {
			return true
		}
	}
	return false
}

// isSuiteMethod reports whether the method fn has the shape of a suite's
// test: exported, no results, and no parameter or one *testing.T, B or F.
func isSuiteMethod(fn *ssa.Function) bool {
	sig := fn.Signature
	if !token.IsExported(fn.Name()) || sig.Results().Len() > 0 || sig.Params().Len() > 1 {
		return false
	}
	if sig.Params().Len() == 0 {
		return true
	}
	ptr, ok := sig.Params().At(0).Type().(*types.Pointer)
	return ok && (isNamed(ptr.Elem(), "testing", "T") || isNamed(ptr.Elem(), "testing", "B") || isNamed(ptr.Elem(), "testing", "F"))
}

// findLibraryRoots adds one root per named type of a non-main package
// whose methods take a lock or start goroutines: such a type is meant to
// be used concurrently, so its exported methods are assumed to run at the
// same time as each other. The tests of a suite type are tests, run by
// the tests' roots; their goroutines say nothing of the type.
func (a *analysis) findLibraryRoots(add func(*root) int) {
	methods := map[*types.TypeName][]*ssa.Function{}
	concurrent := map[*types.TypeName]bool{}
	var order []*types.TypeName
	for _, fn := range a.p.funcs {
		if fn.Signature.Recv() == nil || fn.Synthetic != "" || fn.Pkg == nil || fn.Pkg.Pkg.Name() == "main" || isTestFunc(a.p, fn) {
			continue
		}
		t := fn.Signature.Recv().Type()
		if p, ok := t.(*types.Pointer); ok {
			t = p.Elem()
		}
		n, ok := types.Unalias(t).(*types.Named)
		if !ok {
			continue
		}
		tn := n.Origin().Obj()
		if _, seen := methods[tn]; !seen {
			order = append(order, tn)
		}
		methods[tn] = append(methods[tn], fn)
		if locksOrSpawns(fn) {
			concurrent[tn] = true
		}
	}
	for _, tn := range order {
		if !concurrent[tn] {
			continue
		}
		var entries []*ssa.Function
		for _, fn := range methods[tn] {
			if fn.Object() != nil && fn.Object().Exported() {
				entries = append(entries, fn)
			}
		}
		if len(entries) == 0 {
			continue
		}
		// The callers assumed are outside the analysed code, so they run
		// in a process of their own, with the unknown callers: in the
		// analysed binaries (main packages and tests) every caller is
		// seen, and a package's tests never run in another program.
		add(&root{kind: rootLibrary, desc: "exported methods of " + tn.Name(), entries: entries, spawn: -1, multi: true, procs: []int{a.nprocs}})
	}
}

// locksOrSpawns reports whether fn takes a sync lock or starts a goroutine.
func locksOrSpawns(fn *ssa.Function) bool {
	for _, b := range fn.Blocks {
		for _, instr := range b.Instrs {
			switch instr := instr.(type) {
			case *ssa.Go:
				return true
			case *ssa.Call:
				if op, _ := lockOp(&instr.Call); op == opLock || op == opRLock {
					return true
				}
				if spawnOf(instr) != nil {
					return true
				}
			}
		}
	}
	return false
}

// maxTargetNames is how many of the functions a goroutine may start a
// root's description names; a go statement calling through an interface
// may start dozens (every discovery mechanism's Run), and the finding's
// call path already says which one reaches the access.
const maxTargetNames = 3

// targetNames names the functions a root starts, each once, the first
// maxTargetNames of them and how many more there are.
func targetNames(targets []*ssa.Function) string {
	var names []string
	for _, t := range targets {
		if n := funcName(t); !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	if len(names) <= maxTargetNames {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:maxTargetNames], ", "), len(names)-maxTargetNames)
}

func funcName(fn *ssa.Function) string {
	if fn.Pkg == nil {
		return fn.String()
	}
	return fn.RelString(fn.Pkg.Pkg)
}
