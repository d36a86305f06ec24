package detect

import "golang.org/x/tools/go/ssa"

// A local map object is one variable per activation of the function that
// declares it. Code that reaches an access to it through the call graph
// (a callback resolved imprecisely, a helper the map is passed to) runs in
// the activation's own goroutine unless the map was handed to a goroutine
// when it was started: as an argument of the go statement or callback, or
// captured by the function literal started. Only the roots of such spawns
// can share the activation's map with another goroutine.

// computeCarried records, for each spawn, the local map objects its
// goroutine receives when it starts.
func (a *analysis) computeCarried() {
	a.carriers = map[string][]int{}
	for s, sp := range a.spawns {
		seen := map[string]bool{}
		for _, id := range a.carriedBy(sp.site) {
			if !seen[id] {
				seen[id] = true
				a.carriers[id] = append(a.carriers[id], s)
			}
		}
	}
}

// carriedBy returns the map objects that the operands of a spawning
// instruction may hold or capture.
func (a *analysis) carriedBy(site ssa.Instruction) []string {
	var ids []string
	for _, op := range site.Operands(nil) {
		if op == nil || *op == nil {
			continue
		}
		ids = append(ids, a.valueCarries(*op, 0)...)
	}
	return ids
}

// valueCarries returns the map objects v may be, or may capture when v is
// a closure (bindings of closures nested in it included).
func (a *analysis) valueCarries(v ssa.Value, depth int) []string {
	mc, ok := v.(*ssa.MakeClosure)
	if !ok {
		return append(a.sources(v), a.locations(v)...)
	}
	var ids []string
	for _, b := range mc.Bindings {
		ids = append(ids, a.locations(b)...)
		if depth < 4 {
			ids = append(ids, a.valueCarries(b, depth+1)...)
		}
	}
	return ids
}

// carryingRoots returns the roots that received the local object id when
// their goroutine started, or descend from one that did.
func (a *analysis) carryingRoots(id string) bitset {
	if a.children == nil {
		a.children = make([][]int, len(a.roots))
		for r, root := range a.roots {
			for _, p := range root.parents {
				a.children[p] = append(a.children[p], r)
			}
		}
	}
	set := newBitset(len(a.roots))
	var queue []int
	for _, s := range a.carriers[id] {
		if r := a.spawns[s].root; !set.has(r) {
			set.add(r)
			queue = append(queue, r)
		}
	}
	for len(queue) > 0 {
		r := queue[0]
		queue = queue[1:]
		for _, c := range a.children[r] {
			if !set.has(c) {
				set.add(c)
				queue = append(queue, c)
			}
		}
	}
	return set
}
