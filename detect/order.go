package detect

import (
	"container/heap"
	"go/token"
	"go/types"

	"golang.org/x/tools/go/ssa"
)

// Happens-before is modelled by the set of spawns that may still be
// running at each point of a function ("live" spawns): a spawn becomes live
// where it starts the goroutine, and stops being live at a join: Wait on a
// sync.WaitGroup or errgroup.Group, or a channel receive when the goroutine
// sends or closes a channel. A call leaves live the spawns its callee
// started and did not join (escaping spawns), and a function starts with
// the spawns live at any of its call sites (liveIn).

// joinOp says which spawns an instruction joins.
type joinOp int

const (
	joinNone    joinOp = iota
	joinWait           // WaitGroup.Wait or errgroup Wait: joins go statements and Go calls
	joinReceive        // a channel receive: joins goroutines that signal on a channel
)

func joinOf(instr ssa.Instruction) joinOp {
	switch x := instr.(type) {
	case *ssa.UnOp:
		if x.Op == token.ARROW {
			return joinReceive
		}
	case *ssa.Select:
		if x.Blocking {
			for _, st := range x.States {
				if st.Dir == types.RecvOnly {
					return joinReceive
				}
			}
		}
	case *ssa.Call:
		callee := x.Call.StaticCallee()
		if callee == nil {
			return joinNone
		}
		obj, _ := callee.Object().(*types.Func)
		if obj == nil || obj.Pkg() == nil || obj.Name() != "Wait" {
			return joinNone
		}
		switch path, recv := obj.Pkg().Path(), recvName(obj); {
		case path == "sync" && recv == "WaitGroup",
			path == "golang.org/x/sync/errgroup" && recv == "Group":
			return joinWait
		}
	}
	return joinNone
}

// transfer applies instr to the live spawns s, in place.
func (a *analysis) transfer(instr ssa.Instruction, s bitset) {
	if sp, ok := a.spawnAt[instr]; ok {
		switch a.spawns[sp].kind {
		case spawnParallel, spawnSubtest:
			// Joined before the call returns, or run after the
			// spawning test body has finished.
		default:
			if !a.joinedByHelper(sp) {
				s.add(sp)
			}
		}
	}
	switch joinOf(instr) {
	case joinWait:
		s.andNot(a.waitJoins)
	case joinReceive:
		for _, key := range receivedTypes(instr) {
			if j := a.receiveJoins[key]; j != nil {
				s.andNot(j)
			}
		}
	}
	// A callee that waits on a named WaitGroup joins what was running
	// before the call; what it leaves running (started after its Wait,
	// say) is added after.
	if j := a.joinedBy(a.waitKeysAt(instr)); j != nil {
		s.andNot(j)
	}
	if site, ok := instr.(*ssa.Call); ok {
		for _, callee := range a.p.calls[site] {
			if e := a.esc[callee]; e != nil {
				s.unionWith(e)
			}
		}
	}
}

// callMayEscape reports whether instr calls a function that may leave
// goroutines running.
func (a *analysis) callMayEscape(instr ssa.Instruction) bool {
	site, ok := instr.(*ssa.Call)
	if !ok {
		return false
	}
	for _, c := range a.p.calls[site] {
		if a.mayEscape[c] {
			return true
		}
	}
	return false
}

// events returns, for each block of fn, the instructions that can change
// the live spawns: spawn sites, joins and calls of functions that leave
// goroutines running. Other instructions leave the set as it is.
func (a *analysis) events(fn *ssa.Function) [][]ssa.Instruction {
	if ev, ok := a.eventMemo[fn]; ok {
		return ev
	}
	ev := make([][]ssa.Instruction, len(fn.Blocks))
	for _, b := range fn.Blocks {
		for _, instr := range b.Instrs {
			_, spawns := a.spawnAt[instr]
			event := spawns || joinOf(instr) != joinNone || a.callMayEscape(instr) || len(a.waitKeysAt(instr)) > 0
			if event {
				ev[b.Index] = append(ev[b.Index], instr)
			}
		}
	}
	a.eventMemo[fn] = ev
	return ev
}

// blockLive runs the live-spawn data flow over fn from an empty set,
// returning the spawns live at the start of each block.
//
// Only a block with events can make the set grow, so the flow starts from
// those blocks and follows the successors whose entry set grows; a block
// no event reaches keeps the empty set. The result is the least fixed
// point, as a pass over every block until nothing changes would find.
func (a *analysis) blockLive(fn *ssa.Function) []bitset {
	n := len(fn.Blocks)
	words := (len(a.spawns) + 63) / 64
	// One allocation each for the entry sets, which the caller may keep,
	// and the exit sets, which are dropped on return.
	inWords, outWords := make(bitset, n*words), make(bitset, n*words)
	in := make([]bitset, n)
	out := make([]bitset, n)
	for i := range n {
		in[i] = inWords[i*words : (i+1)*words : (i+1)*words]
		out[i] = outWords[i*words : (i+1)*words : (i+1)*words]
	}
	ev := a.events(fn)
	var work []*ssa.BasicBlock
	queued := make([]bool, n)
	for _, b := range fn.Blocks {
		if len(ev[b.Index]) > 0 {
			queued[b.Index] = true
			work = append(work, b)
		}
	}
	s := make(bitset, words)
	for len(work) > 0 {
		b := work[0]
		work = work[1:]
		queued[b.Index] = false
		clear(s)
		for _, p := range b.Preds {
			s.unionWith(out[p.Index])
		}
		copy(in[b.Index], s)
		for _, instr := range ev[b.Index] {
			a.transfer(instr, s)
		}
		if out[b.Index].unionWith(s) {
			for _, succ := range b.Succs {
				if !queued[succ.Index] {
					queued[succ.Index] = true
					work = append(work, succ)
				}
			}
		}
	}
	return in
}

// computeOrder computes the escaping spawns of every function, then the
// spawns live on entry to every function.
func (a *analysis) computeOrder() {
	words := (len(a.spawns) + 63) / 64
	a.computeDoneKeys()
	a.waitJoins, a.receiveJoins = make(bitset, words), map[string]bitset{}
	for i, sp := range a.spawns {
		switch sp.kind {
		case spawnGo, spawnWaitGroup, spawnErrgroup:
			a.waitJoins.add(i)
		}
		if sp.kind != spawnGo {
			continue
		}
		for _, key := range a.signals[sp.root] {
			j := a.receiveJoins[key]
			if j == nil {
				j = make(bitset, words)
				a.receiveJoins[key] = j
			}
			j.add(i)
		}
	}

	// Escaping spawns, bottom-up through a worklist of callers, starting
	// from the functions that spawn. The worklist hands out callees before
	// their callers, so that a caller is mostly examined once its callees'
	// escaping spawns are complete rather than again after each grows.
	work := newFuncQueue(a.p.funcs, a.bottomUpRanks())
	for _, sp := range a.spawns {
		work.push(a, sp.fn)
	}
	s := make(bitset, words)
	for work.Len() > 0 {
		fn := work.pop()
		in := a.blockLive(fn)
		esc := make(bitset, words)
		for _, b := range fn.Blocks {
			if _, ok := b.Instrs[len(b.Instrs)-1].(*ssa.Return); !ok {
				continue
			}
			copy(s, in[b.Index])
			for _, instr := range a.events(fn)[b.Index] {
				a.transfer(instr, s)
			}
			esc.unionWith(s)
		}
		if esc.empty() || (a.esc[fn] != nil && !a.esc[fn].unionWith(esc)) {
			continue
		}
		a.esc[fn] = esc
		if !a.mayEscape[fn] {
			// Calls of fn become events of its callers.
			a.mayEscape[fn] = true
			for _, site := range a.p.callers[fn] {
				delete(a.eventMemo, site.Parent())
			}
		}
		for _, site := range a.p.callers[fn] {
			work.push(a, site.Parent())
		}
	}

	// liveIn: the spawns live at a call site, in the caller's own flow
	// or on entry to the caller, are live on entry to the callee.
	type liveEdge struct {
		callee int
		at     bitset // nil when nothing is live at the site
		// joined: the spawns live on entry to the caller that a
		// keyed Wait before the site has joined; nil for none.
		joined bitset
	}
	edges := make([][]liveEdge, len(a.p.funcs))
	a.liveIn = make([]bitset, len(a.p.funcs))
	var seeds []int
	for i, fn := range a.p.funcs {
		a.liveIn[i] = make(bitset, words)
		quiet := !a.mayStart(fn) // nothing is ever live in fn's own flow
		var in []bitset
		var ev [][]ssa.Instruction
		if !quiet {
			in, ev = a.blockLive(fn), a.events(fn)
		}
		for _, b := range fn.Blocks {
			// s follows the live set through b, one event at a time.
			var bev []ssa.Instruction
			if !quiet {
				copy(s, in[b.Index])
				bev = ev[b.Index]
			}
			for _, instr := range b.Instrs {
				if site, ok := instr.(*ssa.Call); ok && len(a.p.calls[site]) > 0 {
					var at bitset
					if !quiet && !s.empty() {
						at = append(bitset(nil), s...)
					}
					joined := a.joinedBy(a.waits.before(fn, site))
					for _, c := range a.p.calls[site] {
						if ci, ok := a.index[c]; ok {
							edges[i] = append(edges[i], liveEdge{ci, at, joined})
							if at != nil {
								seeds = append(seeds, i)
							}
						}
					}
				}
				if len(bev) > 0 && bev[0] == instr {
					a.transfer(instr, s)
					bev = bev[1:]
				}
			}
		}
	}
	queuedIdx := make([]bool, len(a.p.funcs))
	workIdx := seeds
	for _, f := range workIdx {
		queuedIdx[f] = true
	}
	for len(workIdx) > 0 {
		f := workIdx[len(workIdx)-1]
		workIdx = workIdx[:len(workIdx)-1]
		queuedIdx[f] = false
		for _, e := range edges[f] {
			changed := a.liveIn[e.callee].unionWith(a.liveIn[f].minus(e.joined))
			if e.at != nil {
				changed = a.liveIn[e.callee].unionWith(e.at) || changed
			}
			if changed && !queuedIdx[e.callee] {
				queuedIdx[e.callee] = true
				workIdx = append(workIdx, e.callee)
			}
		}
	}
}

// mayStart reports whether fn starts a goroutine, or calls a function
// that leaves one running.
func (a *analysis) mayStart(fn *ssa.Function) bool {
	for _, ev := range a.events(fn) {
		for _, instr := range ev {
			if _, spawns := a.spawnAt[instr]; spawns || a.callMayEscape(instr) {
				return true
			}
		}
	}
	return false
}

// liveAt returns the spawns that may be running at instr.
func (a *analysis) liveAt(fn *ssa.Function, instr ssa.Instruction) bitset {
	s := a.liveInFlow(fn, instr)
	if i, ok := a.index[fn]; ok {
		s.unionWith(a.liveIn[i].minus(a.joinedBy(a.waits.before(fn, instr))))
	}
	return s
}

// liveInFlow returns the spawns that fn's own activation (and what it
// calls) may have left running at instr, leaving out those live on entry.
func (a *analysis) liveInFlow(fn *ssa.Function, instr ssa.Instruction) bitset {
	in, ok := a.liveBlocks[fn]
	if !ok {
		in = a.blockLive(fn)
		a.liveBlocks[fn] = in
	}
	b := instr.Block()
	s := append(bitset(nil), in[b.Index]...)
	ev := a.events(fn)[b.Index]
	for _, x := range b.Instrs {
		if x == instr || len(ev) == 0 {
			break
		}
		if x == ev[0] {
			a.transfer(x, s)
			ev = ev[1:]
		}
	}
	return s
}

// bottomUpRanks numbers the functions in a postorder of the call edges:
// a callee comes before its callers, except around a cycle.
func (a *analysis) bottomUpRanks() []int {
	rank := make([]int, len(a.p.funcs))
	for i := range rank {
		rank[i] = -1
	}
	next := 0
	type frame struct{ f, edge int }
	var stack []frame
	for root := range a.p.funcs {
		if rank[root] != -1 {
			continue
		}
		rank[root] = -2 // on the path
		stack = append(stack[:0], frame{root, 0})
		for len(stack) > 0 {
			top := &stack[len(stack)-1]
			if top.edge < len(a.edges[top.f]) {
				c := a.edges[top.f][top.edge].callee
				top.edge++
				if rank[c] == -1 {
					rank[c] = -2
					stack = append(stack, frame{c, 0})
				}
				continue
			}
			rank[top.f] = next
			next++
			stack = stack[:len(stack)-1]
		}
	}
	return rank
}

// funcQueue is a set of functions waiting to be examined, handed out
// lowest rank first.
type funcQueue struct {
	rank   []int // by function number
	items  []int // function numbers, a heap on rank
	queued []bool
	funcs  []*ssa.Function
}

func newFuncQueue(funcs []*ssa.Function, rank []int) *funcQueue {
	return &funcQueue{funcs: funcs, rank: rank, queued: make([]bool, len(funcs))}
}

func (q *funcQueue) Len() int           { return len(q.items) }
func (q *funcQueue) Less(i, j int) bool { return q.rank[q.items[i]] < q.rank[q.items[j]] }
func (q *funcQueue) Swap(i, j int)      { q.items[i], q.items[j] = q.items[j], q.items[i] }
func (q *funcQueue) Push(x any)         { q.items = append(q.items, x.(int)) }
func (q *funcQueue) Pop() any {
	x := q.items[len(q.items)-1]
	q.items = q.items[:len(q.items)-1]
	return x
}

// push queues fn unless it is queued already.
func (q *funcQueue) push(a *analysis, fn *ssa.Function) {
	i, ok := a.index[fn]
	if !ok || q.queued[i] {
		return
	}
	q.queued[i] = true
	heap.Push(q, i)
}

// pop removes and returns the queued function of lowest rank.
func (q *funcQueue) pop() *ssa.Function {
	i := heap.Pop(q).(int)
	q.queued[i] = false
	return q.funcs[i]
}

// joinedByHelper reports whether spawn s is a call of a helper that starts
// its argument and waits for those goroutines before it returns (a
// parallel for-each: go f(item) per item, then wg.Wait()), so that what
// follows the call runs after them. It holds while none of the helper's
// go statements that run the argument is among the helper's escaping
// spawns; those only grow, so a caller examined too early is examined
// again when they do.
func (a *analysis) joinedByHelper(s int) bool {
	inner := a.spawns[s].inner
	if len(inner) == 0 {
		return false
	}
	for _, i := range inner {
		if a.esc[a.spawns[i].fn].has(i) {
			return false
		}
	}
	return true
}

// escapes reports whether spawn s may still run when its function returns.
func (a *analysis) escapes(s int) bool {
	sp := a.spawns[s]
	return sp.kind == spawnDetached || sp.kind == spawnHandler || a.esc[sp.fn].has(s)
}

// computeSignals records, per root, the element types of the channels it
// sends on or closes: a receive from a channel of one of those types can
// wait for the root's goroutine to reach that point.
func (a *analysis) computeSignals() {
	sends := make([][]string, len(a.p.funcs))
	for i, fn := range a.p.funcs {
		for _, b := range fn.Blocks {
			for _, instr := range b.Instrs {
				switch x := instr.(type) {
				case *ssa.Send:
					sends[i] = append(sends[i], chanElemKey(x.Chan.Type()))
				case ssa.CallInstruction:
					if bi, ok := x.Common().Value.(*ssa.Builtin); ok && bi.Name() == "close" && len(x.Common().Args) == 1 {
						sends[i] = append(sends[i], chanElemKey(x.Common().Args[0].Type()))
					}
				}
			}
		}
	}
	a.signals = make([][]string, len(a.roots))
	for i := range a.p.funcs {
		for _, key := range sends[i] {
			a.fnRoots[i].each(func(r int) {
				for _, k := range a.signals[r] {
					if k == key {
						return
					}
				}
				a.signals[r] = append(a.signals[r], key)
			})
		}
	}
}

// chanElemKey names the element type of a channel type, so that sends
// and receives on channels of one element type can be matched.
func chanElemKey(t types.Type) string {
	if ch, ok := t.Underlying().(*types.Chan); ok {
		return types.TypeString(ch.Elem(), nil)
	}
	return types.TypeString(t, nil)
}

// receivedTypes returns the element types of the channels instr receives
// from (one for a receive, one per receiving case of a select).
func receivedTypes(instr ssa.Instruction) []string {
	switch x := instr.(type) {
	case *ssa.UnOp:
		return []string{chanElemKey(x.X.Type())}
	case *ssa.Select:
		var keys []string
		for _, st := range x.States {
			if st.Dir == types.RecvOnly {
				keys = append(keys, chanElemKey(st.Chan.Type()))
			}
		}
		return keys
	}
	return nil
}
