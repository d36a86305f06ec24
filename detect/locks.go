package detect

import (
	"fmt"
	"go/ast"
	"go/token"
	"go/types"
	"sort"
	"strings"

	"golang.org/x/tools/go/ssa"
)

// A lock is named by what it is, not by the instance holding it: the
// mutex field s.mu is one lock for every s. This is the usual precision of
// field-based lock analyses: a map field guarded by a mutex field of the
// same struct is seen as guarded.

type lockOpKind int

const (
	opNone lockOpKind = iota
	opLock
	opRLock
	opUnlock
	opRUnlock
	opOnce // (*sync.Once).Do
)

// lockOp recognises calls of Lock, RLock, Unlock and RUnlock on
// sync.Mutex and sync.RWMutex, returning the operation and the mutex. It
// also recognises them on other mutex types, which programs use to find
// deadlocks or to log contention: on a value of an interface type with Lock
// and Unlock methods (sync.Locker, or a package's own Mutex interface), and
// on a type of a package outside the analysed code with such methods. A
// mutex type declared in the analysed code is left to its methods' bodies,
// whose effects on the locks they take are followed through the call.
func lockOp(c *ssa.CallCommon) (lockOpKind, ssa.Value) {
	if c.IsInvoke() {
		if op := lockMethod(c.Method); op != opNone && isLocker(c.Value.Type()) {
			return op, c.Value
		}
		return opNone, nil
	}
	callee := c.StaticCallee()
	if callee == nil || len(c.Args) == 0 {
		return opNone, nil
	}
	obj, _ := callee.Object().(*types.Func)
	if obj == nil || obj.Pkg() == nil {
		return opNone, nil
	}
	if obj.Pkg().Path() != "sync" {
		// The name first: most calls are not to a Lock or Unlock
		// method, and asking whether a type has sync.Locker's methods
		// costs a method-set lookup.
		if recv := obj.Signature().Recv(); recv != nil && len(callee.Blocks) == 0 {
			if op := lockMethod(obj); op != opNone && isLocker(recv.Type()) {
				return op, c.Args[0]
			}
		}
		return opNone, nil
	}
	if recvName(obj) == "Once" && obj.Name() == "Do" {
		return opOnce, c.Args[0]
	}
	if r := recvName(obj); r != "Mutex" && r != "RWMutex" {
		return opNone, nil
	}
	return lockMethod(obj), c.Args[0]
}

// tryLockOp recognises calls of TryLock and TryRLock on sync.Mutex and
// sync.RWMutex, returning the lock operation they perform when they
// report success, and the mutex.
func tryLockOp(c *ssa.CallCommon) (lockOpKind, ssa.Value) {
	obj, mu := stdMethod(c, "sync")
	if obj == nil {
		return opNone, nil
	}
	switch r := recvName(obj); {
	case obj.Name() == "TryLock" && (r == "Mutex" || r == "RWMutex"):
		return opLock, mu
	case obj.Name() == "TryRLock" && r == "RWMutex":
		return opRLock, mu
	}
	return opNone, nil
}

// stdMethod returns the method of a type of package pkg (sync,
// sync/atomic) that c calls, and the receiver it passes; nil when c
// calls something else.
func stdMethod(c *ssa.CallCommon, pkg string) (*types.Func, ssa.Value) {
	callee := c.StaticCallee()
	if callee == nil || len(c.Args) == 0 {
		return nil, nil
	}
	obj, _ := callee.Object().(*types.Func)
	if obj == nil || obj.Pkg() == nil || obj.Pkg().Path() != pkg || obj.Signature().Recv() == nil {
		return nil, nil
	}
	return obj, c.Args[0]
}

// tryLockedOn returns the lock that the edge from block p to its
// successor b holds because p branches on the success of a TryLock or
// TryRLock (if mu.TryLock() { ... }, or if !mu.TryLock() { return }).
func (a *analysis) tryLockedOn(p, b *ssa.BasicBlock) (held, bool) {
	call := calledTrueOn(p, b)
	if call == nil {
		return held{}, false
	}
	op, mu := tryLockOp(&call.Call)
	if op == opNone {
		return held{}, false
	}
	return a.heldLock(op, mu), true
}

// heldLock is the lock that operation op (opLock or opRLock) on mu holds.
func (a *analysis) heldLock(op lockOpKind, mu ssa.Value) held {
	key := a.lockKey(mu)
	if _, ok := a.lockNames[key]; !ok {
		a.lockNames[key] = exprName(mu)
	}
	return held{key, op == opRLock}
}

// lockMethod returns the lock operation a method named Lock, RLock, Unlock
// or RUnlock, with no parameters and no results, performs.
func lockMethod(fn *types.Func) lockOpKind {
	if sig := fn.Signature(); sig.Recv() == nil || sig.Params().Len() != 0 || sig.Results().Len() != 0 {
		return opNone
	}
	switch fn.Name() {
	case "Lock":
		return opLock
	case "RLock":
		return opRLock
	case "Unlock":
		return opUnlock
	case "RUnlock":
		return opRUnlock
	}
	return opNone
}

// locker is the method set of sync.Locker.
var locker = func() *types.Interface {
	empty := types.NewSignatureType(nil, nil, nil, nil, nil, false)
	it := types.NewInterfaceType([]*types.Func{
		types.NewFunc(token.NoPos, nil, "Lock", empty),
		types.NewFunc(token.NoPos, nil, "Unlock", empty),
	}, nil)
	return it.Complete()
}()

// isLocker reports whether t, or a pointer to t, has the methods of
// sync.Locker.
func isLocker(t types.Type) bool {
	if types.Implements(t, locker) {
		return true
	}
	if _, isPtr := t.Underlying().(*types.Pointer); isPtr || types.IsInterface(t) {
		return false
	}
	return types.Implements(types.NewPointer(t), locker)
}

// held is a lock held at a point, in read (RLock) or write mode.
type held struct {
	key  string
	read bool
}

// lockset is a set of held locks sorted by key: with keeps it so, and
// meet and common walk two sets side by side.
type lockset []held

func (s lockset) with(h held) lockset {
	out := make(lockset, 0, len(s)+1)
	for _, x := range s {
		if x.key != h.key {
			out = append(out, x)
		}
	}
	out = append(out, h)
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

func (s lockset) without(key string) lockset {
	out := s[:0:0]
	for _, x := range s {
		if x.key != key {
			out = append(out, x)
		}
	}
	return out
}

// meet is the intersection of two locksets: a lock held in read mode on
// either side is held in read mode.
func (s lockset) meet(t lockset) lockset {
	var out lockset
	eachShared(s, t, func(x, y held) bool {
		out = append(out, held{x.key, x.read || y.read})
		return true
	})
	return out
}

// eachShared calls f, in key order, with the entries of s and of t that
// hold the same lock, until f returns false.
func eachShared(s, t lockset, f func(x, y held) bool) {
	for i, j := 0, 0; i < len(s) && j < len(t); {
		switch c := strings.Compare(s[i].key, t[j].key); {
		case c < 0:
			i++
		case c > 0:
			j++
		default:
			if !f(s[i], t[j]) {
				return
			}
			i, j = i+1, j+1
		}
	}
}

// key spells s out, one lock per line with its mode: a map key for
// memoising by lock set.
func (s lockset) key() string {
	var b strings.Builder
	for _, h := range s {
		b.WriteString(h.key)
		if h.read {
			b.WriteString(" (read)")
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func (s lockset) equal(t lockset) bool {
	if len(s) != len(t) {
		return false
	}
	for i := range s {
		if s[i] != t[i] {
			return false
		}
	}
	return true
}

// common reports whether a lock is held at both accesses and excludes
// them from each other: at least one side holds it in write mode.
func common(s, t lockset) bool {
	found := false
	eachShared(s, t, func(x, y held) bool {
		found = !x.read || !y.read
		return !found
	})
	return found
}

// lockEffect is what calling a function does to the caller's locks: the
// locks it leaves held and the locks it releases.
type lockEffect struct {
	acquire lockset
	release []string
}

func (e lockEffect) equal(f lockEffect) bool {
	if !e.acquire.equal(f.acquire) || len(e.release) != len(f.release) {
		return false
	}
	for i := range e.release {
		if e.release[i] != f.release[i] {
			return false
		}
	}
	return true
}

// lockKey names the mutex that v points to.
func (a *analysis) lockKey(v ssa.Value) string {
	switch x := v.(type) {
	case *ssa.FieldAddr:
		if f := structField(x.X.Type(), x.Field); f != nil {
			return "field " + objectID(a.p.fset, f)
		}
	case *ssa.Field:
		if f := structField(x.X.Type(), x.Field); f != nil {
			return "field " + objectID(a.p.fset, f)
		}
	case *ssa.Global:
		if obj := x.Object(); obj != nil {
			return "global " + objectID(a.p.fset, obj)
		}
		return "global " + x.String()
	case *ssa.Alloc:
		return "local " + a.p.fset.Position(x.Pos()).String()
	case *ssa.FreeVar:
		if bs := a.p.bindings[x]; len(bs) > 0 {
			return a.lockKey(bs[0])
		}
	case *ssa.UnOp:
		if fa, ok := x.X.(*ssa.FieldAddr); ok && x.Op == token.MUL {
			if key := a.mutexPointerField(fa); key != "" {
				return key
			}
		}
		return a.lockKey(x.X)
	case *ssa.ChangeType:
		return a.lockKey(x.X)
	case *ssa.MakeInterface:
		return a.lockKey(x.X)
	case *ssa.Parameter:
		if key, ok := a.paramLockKey(x); ok {
			return key
		}
	}
	return fmt.Sprintf("value %p", v)
}

// mutexPointerField names the mutex that the pointer field at fa always
// points to, or returns "": a keeper that locks its owner's mutex through
// mu *sync.Mutex, set only as &owner.mu, holds the owner's lock. Every
// store into the field must put the address of one mutex, named as
// lockKey names it; a struct stored whole could set the field unseen.
func (a *analysis) mutexPointerField(fa *ssa.FieldAddr) string {
	f := fieldOf(fa)
	if f == nil {
		return ""
	}
	if _, ok := f.Type().Underlying().(*types.Pointer); !ok {
		return ""
	}
	if key, done := a.mutexFields[f.Pos()]; done {
		return key
	}
	a.mutexFields[f.Pos()] = "" // a field stored from itself names no mutex
	key := ""
	ok := !a.storedWhole(fa.X.Type())
	for _, addr := range a.addressesOf(f, fa.Field) {
		for _, r := range *addr.Referrers() {
			switch r := r.(type) {
			case *ssa.UnOp:
				ok = ok && r.Op == token.MUL
			case *ssa.Store:
				k := a.lockKey(r.Val)
				named := strings.HasPrefix(k, "field ") || strings.HasPrefix(k, "global ")
				ok = ok && r.Addr == addr && named && (key == "" || k == key)
				key = k
			case *ssa.DebugRef:
			default:
				ok = false
			}
		}
	}
	if !ok {
		key = ""
	}
	a.mutexFields[f.Pos()] = key
	return key
}

// paramLockKey names the mutex that parameter p always receives: the
// one every call of p's function passes (func record(mu *sync.Mutex, ...)
// called as record(&s.mu, ...)), so that two helpers handed the same
// mutex hold one lock. ok is false when the callers pass different
// mutexes, or when p's function is entered by a root, whose callers are
// not seen.
func (a *analysis) paramLockKey(p *ssa.Parameter) (key string, ok bool) {
	if a.roots == nil {
		return "", false // the roots, and which functions they enter, are not known yet
	}
	if key, done := a.paramLocks[p]; done {
		return key, key != ""
	}
	a.paramLocks[p] = "" // a cycle of calls adds no mutex
	fn := p.Parent()
	idx := paramIndex(p)
	sites := a.p.callers[fn]
	if idx < 0 || len(sites) == 0 || a.isRootEntry(fn) {
		return "", false
	}
	for _, site := range sites {
		args := paramArgs(site)
		if len(args) != len(fn.Params) {
			return "", false
		}
		k := a.lockKey(args[idx])
		if strings.HasPrefix(k, "value ") || key != "" && k != key {
			return "", false
		}
		key = k
	}
	a.paramLocks[p] = key
	return key, true
}

// onceKey names the sync.Once that v points to, as a lock.
func (a *analysis) onceKey(v ssa.Value) string {
	key := "once " + a.lockKey(v)
	if _, ok := a.lockNames[key]; !ok {
		a.lockNames[key] = exprName(v) + " (sync.Once)"
	}
	return key
}

// lockDesc is the user-facing name of a held lock.
func (a *analysis) lockDesc(h held) string {
	if strings.HasPrefix(h.key, "once ") {
		if h.read {
			return "after " + a.lockNames[h.key] + " has run"
		}
		return "inside " + a.lockNames[h.key]
	}
	mode := "Lock"
	switch {
	case a.chanLocks[h.key]:
		mode = "channel lock"
	case h.read:
		mode = "RLock"
	}
	return fmt.Sprintf("%s (%s)", a.lockNames[h.key], mode)
}

// step applies one instruction to the held locks.
func (a *analysis) step(instr ssa.Instruction, s lockset, released map[string][]*ssa.BasicBlock) lockset {
	if key, acquire, ok := a.chanLockOp(instr); ok {
		if acquire {
			return s.with(held{key, false})
		}
		return release(s, key, instr, released)
	}
	call, ok := instr.(*ssa.Call)
	if !ok {
		return s
	}
	op, mu := lockOp(&call.Call)
	switch op {
	case opLock, opRLock:
		return s.with(a.heldLock(op, mu))
	case opOnce:
		// Everything after once.Do happens after the function it ran.
		return s.with(held{a.onceKey(mu), true})
	case opUnlock, opRUnlock:
		return release(s, a.lockKey(mu), instr, released)
	}
	for _, callee := range a.p.calls[call] {
		e := a.effects[callee]
		for _, k := range e.release {
			s = s.without(k)
		}
		for _, h := range e.acquire {
			s = s.with(h)
		}
	}
	return s
}

// release returns s without the lock key, which instr releases; a lock
// released without being held here is recorded in released, when not
// nil, as released for the caller.
func release(s lockset, key string, instr ssa.Instruction, released map[string][]*ssa.BasicBlock) lockset {
	found := false
	for _, h := range s {
		found = found || h.key == key
	}
	if !found && released != nil {
		released[key] = append(released[key], instr.Block())
	}
	return s.without(key)
}

// blockLocks runs the held-locks data flow over fn from entry, returning
// the locks held at the start of each block (nil entries: unreachable).
func (a *analysis) blockLocks(fn *ssa.Function, entry lockset, released map[string][]*ssa.BasicBlock) (in []lockset, reached []bool) {
	return a.blockLocksWith(fn, entry, released, nil)
}

// blockLocksWith is blockLocks leaving out the control flow edges skip
// reports, when skip is not nil.
func (a *analysis) blockLocksWith(fn *ssa.Function, entry lockset, released map[string][]*ssa.BasicBlock, skip func(from, to *ssa.BasicBlock) bool) (in []lockset, reached []bool) {
	n := len(fn.Blocks)
	in = make([]lockset, n)
	out := make([]lockset, n)
	reached = make([]bool, n)
	done := make([]bool, n)
	if n == 0 {
		return in, reached
	}
	in[0], reached[0] = entry, true
	for changed := true; changed; {
		changed = false
		for _, b := range fn.Blocks {
			i := b.Index
			if i != 0 {
				first := true
				var s lockset
				for _, p := range b.Preds {
					if !done[p.Index] || skip != nil && skip(p, b) {
						continue
					}
					edge := out[p.Index]
					if h, ok := a.tryLockedOn(p, b); ok {
						edge = edge.with(h)
					}
					if first {
						s, first = edge, false
					} else {
						s = s.meet(edge)
					}
				}
				if first {
					continue
				}
				if reached[i] && s.equal(in[i]) && done[i] {
					continue
				}
				in[i], reached[i] = s, true
			} else if done[0] {
				continue
			}
			s := in[i]
			for _, instr := range b.Instrs {
				s = a.step(instr, s, released)
			}
			if !done[i] || !s.equal(out[i]) {
				out[i], done[i], changed = s, true, true
			}
		}
	}
	return in, reached
}

// computeLocks finds, for every function, the locks held by every caller
// when it is called (lockIn), after summarising what each function does to
// its caller's locks.
func (a *analysis) computeLocks() {
	// Summaries, bottom-up through a worklist of callers.
	work := append([]*ssa.Function(nil), a.p.funcs...)
	queued := map[*ssa.Function]bool{}
	for _, fn := range work {
		queued[fn] = true
	}
	for len(work) > 0 {
		fn := work[0]
		work = work[1:]
		queued[fn] = false
		unlocks := map[string][]*ssa.BasicBlock{}
		in, reached := a.blockLocks(fn, nil, unlocks)
		var returns []*ssa.BasicBlock
		var acq lockset
		first := true
		for _, b := range fn.Blocks {
			if !reached[b.Index] {
				continue
			}
			if _, ok := b.Instrs[len(b.Instrs)-1].(*ssa.Return); !ok {
				continue
			}
			returns = append(returns, b)
			s := in[b.Index]
			for _, instr := range b.Instrs {
				s = a.step(instr, s, nil)
			}
			if first {
				acq, first = s, false
			} else {
				acq = acq.meet(s)
			}
		}
		// Deferred unlocks run before the function returns.
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				d, ok := instr.(*ssa.Defer)
				if !ok {
					continue
				}
				if op, mu := lockOp(&d.Call); op == opUnlock || op == opRUnlock {
					acq = acq.without(a.lockKey(mu))
				}
				for _, callee := range a.p.calls[d] {
					for _, k := range a.effects[callee].release {
						acq = acq.without(k)
					}
				}
			}
		}
		// A lock is released for the caller only if every return
		// follows an unlock of it: an unlock on an early-exit path alone
		// (inside a range-over-func body, say) does not count.
		var released []string
		for key, blocks := range unlocks {
			all := len(returns) > 0
			for _, r := range returns {
				dominated := false
				for _, u := range blocks {
					dominated = dominated || u.Dominates(r)
				}
				all = all && dominated
			}
			if all {
				released = append(released, key)
			}
		}
		sort.Strings(released)
		e := lockEffect{acquire: acq, release: released}
		if e.equal(a.effects[fn]) {
			continue
		}
		a.effects[fn] = e
		for _, site := range a.p.callers[fn] {
			if c := site.Parent(); !queued[c] {
				queued[c] = true
				work = append(work, c)
			}
		}
	}

	// Entry locksets, top-down from the roots.
	isEntry := map[*ssa.Function]bool{}
	for _, r := range a.roots {
		for _, e := range r.entries {
			isEntry[e] = true
		}
	}
	for _, fn := range a.p.funcs {
		if held := a.conventionLocks(fn); len(held) > 0 {
			a.assumedHeld[fn] = held
		}
	}
	a.entryLocksTopDown(isEntry)
	// A name is a promise that callers keep; where one does not, the
	// lock is not assumed, and the entry locksets are computed again.
	if broken := a.brokenConventions(); len(broken) > 0 {
		for _, fn := range broken {
			delete(a.assumedHeld, fn)
		}
		clear(a.lockIn)
		clear(a.blockIn)
		a.entryLocksTopDown(isEntry)
	}
	a.computeCallbackLocks()
}

// brokenConventions returns the functions whose name says their callers
// hold a lock (see conventionLocks) although one of their callers outside
// the tests holds none of them at the call, nor takes a lock the analysis
// cannot name (through a sync.Locker). Tests call such helpers directly,
// one at a time.
func (a *analysis) brokenConventions() []*ssa.Function {
	var broken []*ssa.Function
	for _, fn := range a.p.funcs {
		assumed := a.assumedHeld[fn]
		if len(assumed) == 0 {
			continue
		}
		for _, site := range a.p.callers[fn] {
			if _, isGo := site.(*ssa.Go); isGo {
				continue
			}
			caller := site.Parent()
			if caller.Synthetic != "" {
				continue // a wrapper: its callers decide
			}
			if isTestFile(a.p.fset.File(caller.Pos()).Name()) {
				continue
			}
			at := a.locksAt(caller, site)
			if !holdsAny(at, assumed) && !locksThroughInterface(caller) {
				broken = append(broken, fn)
				break
			}
		}
	}
	return broken
}

// heldPhrases, in a sentence of a doc comment that speaks of a lock, say
// that the caller holds it ("Lock should be held.").
var heldPhrases = []string{"should be held", "must be held", "is held", "are held", "needs to be held", "held by the caller", "held by caller", "lock held", "holding the lock", "assumes lock", "assumes the lock"}

// docSaysLockHeld reports whether the doc comment of fn says that its
// callers hold the lock, the other common form of the convention.
func docSaysLockHeld(fn *ssa.Function) bool {
	decl, ok := fn.Syntax().(*ast.FuncDecl)
	if !ok || decl.Doc == nil {
		return false
	}
	text := strings.ToLower(strings.ReplaceAll(decl.Doc.Text(), "\n", " "))
	for _, sentence := range strings.Split(text, ".") {
		if !strings.Contains(sentence, "lock") || strings.Contains(sentence, " not ") || strings.Contains(sentence, "n't") || strings.Contains(sentence, "without") {
			continue
		}
		for _, p := range heldPhrases {
			if strings.Contains(sentence, p) {
				return true
			}
		}
	}
	return false
}

// locksThroughInterface reports whether fn calls Lock or RLock through an
// interface, a lock the analysis does not follow.
func locksThroughInterface(fn *ssa.Function) bool {
	for _, b := range fn.Blocks {
		for _, instr := range b.Instrs {
			call, ok := instr.(ssa.CallInstruction)
			if !ok || !call.Common().IsInvoke() {
				continue
			}
			if name := call.Common().Method.Name(); name == "Lock" || name == "RLock" {
				return true
			}
		}
	}
	return false
}

// holdsAny reports whether s holds one of the locks of want, in either
// mode. The name of a method does not say which of its receiver's
// mutexes the callers hold; holding one of them keeps the promise.
func holdsAny(s, want lockset) bool {
	for _, w := range want {
		for _, h := range s {
			if h.key == w.key {
				return true
			}
		}
	}
	return false
}

// entryLocksTopDown computes lockIn, the locks every caller of a function
// holds, top-down from the root entries.
func (a *analysis) entryLocksTopDown(isEntry map[*ssa.Function]bool) {
	var work []*ssa.Function
	for _, fn := range a.p.funcs {
		// A synthetic wrapper nothing calls (a promoted method of an
		// embedding type, say) is never run: it constrains nothing.
		if isEntry[fn] || len(a.p.callers[fn]) == 0 && fn.Synthetic == "" {
			a.lockIn[fn] = lockset{}
			work = append(work, fn)
		}
	}
	for len(work) > 0 {
		fn := work[0]
		work = work[1:]
		in, reached := a.blockLocks(fn, a.entryLocks(fn), nil)
		for _, b := range fn.Blocks {
			if !reached[b.Index] {
				continue
			}
			s := in[b.Index]
			for _, instr := range b.Instrs {
				if site, ok := instr.(*ssa.Call); ok {
					at := s
					if op, once := lockOp(&site.Call); op == opOnce {
						// The function run by once.Do excludes every
						// access that follows a once.Do on the same Once.
						at = s.with(held{a.onceKey(once), false})
					}
					for _, callee := range a.p.calls[site] {
						if isEntry[callee] {
							continue
						}
						old, seen := a.lockIn[callee]
						next := at
						if seen {
							next = old.meet(at)
						}
						if !seen || !next.equal(old) {
							a.lockIn[callee] = next
							work = append(work, callee)
						}
					}
				}
				s = a.step(instr, s, nil)
			}
		}
	}
}

// conventionLocks returns the mutexes of the receiver of a method whose
// name says that its caller holds them (addLocked, removeNoLock): the
// common Go convention, also followed by checklocks annotations.
func (a *analysis) conventionLocks(fn *ssa.Function) lockset {
	// The suffix is a word of its own: countBlocked is no promise.
	name := fn.Name()
	if fn.Signature.Recv() == nil {
		return nil
	}
	named := strings.HasSuffix(name, "Locked") || strings.HasSuffix(name, "NoLock") || strings.HasSuffix(name, "Nolock") || name == "locked"
	if !named && !docSaysLockHeld(fn) {
		return nil
	}
	t := fn.Signature.Recv().Type()
	if p, ok := t.Underlying().(*types.Pointer); ok {
		t = p.Elem()
	}
	st, ok := t.Underlying().(*types.Struct)
	if !ok {
		return nil
	}
	var locks lockset
	for i := range st.NumFields() {
		f := st.Field(i)
		ft := f.Type()
		if p, ok := ft.(*types.Pointer); ok {
			ft = p.Elem()
		}
		if isNamed(ft, "sync", "Mutex") || isNamed(ft, "sync", "RWMutex") {
			key := "field " + objectID(a.p.fset, f)
			if _, ok := a.lockNames[key]; !ok {
				a.lockNames[key] = f.Name()
			}
			locks = locks.with(held{key, false})
		}
	}
	return locks
}

// entryLocks returns the locks held on entry to fn: those all its callers
// hold, those its name says they hold, and, for a function called back
// through a parameter, those held where it is handed over.
func (a *analysis) entryLocks(fn *ssa.Function) lockset {
	entry := a.lockIn[fn]
	for _, h := range a.assumedHeld[fn] {
		entry = entry.with(h)
	}
	for _, h := range a.callbackIn[fn] {
		entry = entry.with(h)
	}
	return entry
}

// locksAt returns the locks held at instr.
func (a *analysis) locksAt(fn *ssa.Function, instr ssa.Instruction) lockset {
	if f := a.flagFor(fn); f != nil && !a.flagBusy[fn] {
		states, ok := a.flagStateMemo[fn]
		if !ok {
			// A recursive call is taken with the locks of every
			// caller; states computed inside another flag function's
			// computation depend on it and are not kept.
			top := len(a.flagBusy) == 0
			a.flagBusy[fn] = true
			states = a.flagBlocks(fn, f, func(v bool) lockset { return a.flagEntry(fn, f, v) })
			delete(a.flagBusy, fn)
			if top {
				a.flagStateMemo[fn] = states
			}
		}
		return a.flagLocksAt(states, instr)
	}
	in, ok := a.blockIn[fn]
	if !ok {
		in, _ = a.blockLocks(fn, a.entryLocks(fn), nil)
		a.blockIn[fn] = in
	}
	return a.locksBefore(in, instr)
}

// locksBefore returns the locks held at instr, given the locks held on
// entry to each block of its function.
func (a *analysis) locksBefore(in []lockset, instr ssa.Instruction) lockset {
	b := instr.Block()
	s := in[b.Index]
	for _, x := range b.Instrs {
		if x == instr {
			break
		}
		s = a.step(x, s, nil)
	}
	return s
}

// exprName prints the mutex expression for evidence, such as "s.mu".
func exprName(v ssa.Value) string {
	switch x := v.(type) {
	case *ssa.FieldAddr:
		if f := structField(x.X.Type(), x.Field); f != nil {
			return exprName(x.X) + "." + f.Name()
		}
	case *ssa.Field:
		if f := structField(x.X.Type(), x.Field); f != nil {
			return exprName(x.X) + "." + f.Name()
		}
	case *ssa.Global:
		return x.Name()
	case *ssa.Alloc:
		if x.Comment != "" {
			return x.Comment
		}
	case *ssa.FreeVar:
		return x.Name()
	case *ssa.Parameter:
		return x.Name()
	case *ssa.UnOp:
		return exprName(x.X)
	}
	return v.Name()
}
