package detect

import (
	"slices"
	"strings"

	"golang.org/x/tools/go/ssa"
)

// A Wait on a WaitGroup that a function reaches by name (a field, a
// package variable, a local) joins the goroutines that call Done on that
// WaitGroup when they end. Unlike the Waits of a function's own flow,
// which join every goroutine it started, such a keyed Wait also joins
// goroutines started before the function was called, and a call of a
// function that waits on every path to its return joins them for its
// caller: Start() { wg.Add(1); go p.run() } and Stop() { close(quit);
// wg.Wait(); use p.m }. WaitGroups are named by field or variable, not
// instance, as locks are.

// computeDoneKeys records, for each spawn, the WaitGroups its goroutine
// calls Done on when it ends (doneBy, by WaitGroup key).
func (a *analysis) computeDoneKeys() {
	a.doneBy = map[string]bitset{}
	for i, sp := range a.spawns {
		for _, key := range a.spawnDoneKeys(sp) {
			set := a.doneBy[key]
			if set == nil {
				set = newBitset(len(a.spawns))
				a.doneBy[key] = set
			}
			set.add(i)
		}
	}
}

// spawnDoneKeys returns the WaitGroups that the goroutine of sp calls
// Done on as it ends: the WaitGroup whose Go method starts it, or those
// every function the go statement may run defers Done on, or calls Done
// on just before a return.
func (a *analysis) spawnDoneKeys(sp *spawn) []string {
	switch sp.kind {
	case spawnWaitGroup:
		call, ok := sp.site.(ssa.CallInstruction)
		if !ok || len(call.Common().Args) == 0 {
			return nil
		}
		if key := a.waitGroupKey(call.Common().Args[0]); key != "" {
			return []string{key}
		}
	case spawnGo:
		var keys []string
		for i, entry := range a.roots[sp.root].entries {
			own := a.endDoneKeys(entry)
			if i == 0 {
				keys = own
			} else {
				keys = intersectKeys(keys, own)
			}
		}
		return keys
	}
	return nil
}

// endDoneKeys returns the WaitGroups fn calls Done on as it ends: in a
// defer, or as the last thing before a return.
func (a *analysis) endDoneKeys(fn *ssa.Function) []string {
	var keys []string
	for _, b := range fn.Blocks {
		for i, instr := range b.Instrs {
			call, ok := instr.(ssa.CallInstruction)
			if !ok {
				continue
			}
			wg, ok := waitGroupCall(call.Common(), "Done")
			if !ok {
				continue
			}
			if _, deferred := call.(*ssa.Defer); !deferred && !returnsNext(b.Instrs[i+1:]) {
				continue
			}
			if key := a.waitGroupKey(wg); key != "" && !slices.Contains(keys, key) {
				keys = append(keys, key)
			}
		}
	}
	return keys
}

// returnsNext reports whether instrs, the rest of a block, only return.
func returnsNext(instrs []ssa.Instruction) bool {
	for _, instr := range instrs {
		switch instr.(type) {
		case *ssa.Return:
			return true
		case *ssa.DebugRef, *ssa.RunDefers:
		default:
			return false
		}
	}
	return false
}

// waitGroupCall reports whether c calls method name of sync.WaitGroup,
// returning the WaitGroup.
func waitGroupCall(c *ssa.CallCommon, name string) (ssa.Value, bool) {
	obj, wg := stdMethod(c, "sync")
	if obj == nil || obj.Name() != name || recvName(obj) != "WaitGroup" {
		return nil, false
	}
	return wg, true
}

// waitGroupKey names the WaitGroup v points to; "" when it has no name.
func (a *analysis) waitGroupKey(v ssa.Value) string {
	key := a.lockKey(v)
	if strings.HasPrefix(key, "value ") {
		return ""
	}
	return key
}

// waitKeysAt returns the WaitGroups instr waits on: the one of a Wait
// call, or those every function a call may run waits on before it
// returns.
func (a *analysis) waitKeysAt(instr ssa.Instruction) []string {
	call, ok := instr.(*ssa.Call)
	if !ok {
		return nil
	}
	if wg, ok := waitGroupCall(call.Common(), "Wait"); ok {
		if key := a.waitGroupKey(wg); key != "" {
			return []string{key}
		}
		return nil
	}
	var keys []string
	for i, callee := range a.p.calls[call] {
		own := a.mustWait(callee)
		if len(own) == 0 {
			return nil
		}
		if i == 0 {
			keys = own
		} else {
			keys = intersectKeys(keys, own)
		}
	}
	return keys
}

// mustWait returns the WaitGroups fn waits on along every path to a
// return.
func (a *analysis) mustWait(fn *ssa.Function) []string {
	if keys, ok := a.mustWaitMemo[fn]; ok {
		return keys
	}
	a.mustWaitMemo[fn] = nil // a cycle of calls waits on nothing more
	var keys []string
	if in := a.waits.in(fn); in != nil {
		first := true
		for _, b := range fn.Blocks {
			if _, ok := b.Instrs[len(b.Instrs)-1].(*ssa.Return); !ok || in[b.Index] == nil {
				continue
			}
			out := a.waits.through(b, in[b.Index], nil)
			if first {
				keys, first = out, false
			} else {
				keys = intersectKeys(keys, out)
			}
		}
	}
	a.mustWaitMemo[fn] = keys
	return keys
}

// mustFlow is a must data flow over the functions' control flow: the
// keys (named WaitGroups waited on, say) that at gives for instructions,
// gathered along every path from a function's entry.
type mustFlow struct {
	at func(ssa.Instruction) []string
	// edge, when set, gives the keys gained along the control flow edge
	// from a block to one of its successors (a select's case).
	edge func(from, to *ssa.BasicBlock) []string
	memo map[*ssa.Function][][]string
}

func newMustFlow(at func(ssa.Instruction) []string) *mustFlow {
	return &mustFlow{at: at, memo: map[*ssa.Function][][]string{}}
}

// edgeKeys returns the keys gained along the edge from p to b.
func (m *mustFlow) edgeKeys(p, b *ssa.BasicBlock) []string {
	if m.edge == nil {
		return nil
	}
	return m.edge(p, b)
}

// before returns the keys gathered along every path from fn's entry to
// instr.
func (m *mustFlow) before(fn *ssa.Function, instr ssa.Instruction) []string {
	in := m.in(fn)
	if in == nil || in[instr.Block().Index] == nil {
		return nil
	}
	return m.through(instr.Block(), in[instr.Block().Index], instr)
}

// through adds to keys, held at the start of b, those b's instructions
// give before stop (or through its end when stop is nil).
func (m *mustFlow) through(b *ssa.BasicBlock, keys []string, stop ssa.Instruction) []string {
	out := slices.Clone(keys)
	for _, instr := range b.Instrs {
		if instr == stop {
			break
		}
		out = addKeys(out, m.at(instr))
	}
	return out
}

// in returns, for each block of fn, the keys gathered along every path
// from the entry to it (non-nil, maybe empty, for a block the entry
// reaches). It is nil for a function none of whose instructions gives a
// key.
func (m *mustFlow) in(fn *ssa.Function) [][]string {
	if in, ok := m.memo[fn]; ok {
		return in
	}
	m.memo[fn] = nil
	some := false
	for _, b := range fn.Blocks {
		for _, instr := range b.Instrs {
			some = some || len(m.at(instr)) > 0
		}
		for _, succ := range b.Succs {
			some = some || len(m.edgeKeys(b, succ)) > 0
		}
	}
	if !some {
		return nil
	}
	in := make([][]string, len(fn.Blocks))
	out := make([][]string, len(fn.Blocks))
	in[0] = []string{}
	for changed := true; changed; {
		changed = false
		for _, b := range fn.Blocks {
			if b.Index != 0 {
				var meet []string
				first := true
				for _, p := range b.Preds {
					if out[p.Index] == nil {
						continue // not reached yet
					}
					edge := out[p.Index]
					if ks := m.edgeKeys(p, b); len(ks) > 0 {
						edge = addKeys(slices.Clone(edge), ks)
					}
					if first {
						meet, first = edge, false
					} else {
						meet = intersectKeys(meet, edge)
					}
				}
				if first {
					continue
				}
				in[b.Index] = meet
			}
			o := m.through(b, in[b.Index], nil)
			if out[b.Index] == nil || len(o) != len(out[b.Index]) {
				out[b.Index], changed = o, true
			}
		}
	}
	m.memo[fn] = in
	return in
}

// joinedBy returns the spawns whose goroutines a wait on keys joins.
func (a *analysis) joinedBy(keys []string) bitset {
	var out bitset
	for _, k := range keys {
		if set := a.doneBy[k]; set != nil {
			if out == nil {
				out = make(bitset, len(set))
			}
			out.unionWith(set)
		}
	}
	return out
}

// addKeys appends to keys those of more it does not hold yet.
func addKeys(keys, more []string) []string {
	for _, k := range more {
		if !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys
}

// intersectKeys returns, in a new slice, the keys of keys that are also
// in other.
func intersectKeys(keys, other []string) []string {
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		if slices.Contains(other, k) {
			out = append(out, k)
		}
	}
	return out
}
