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

// carries reports whether root r, or a root that started it, received the
// local object id when its goroutine started.
func (a *analysis) carries(r int, id string) bool {
	spawns := a.carriers[id]
	if len(spawns) == 0 {
		return false
	}
	seen := map[int]bool{}
	queue := []int{r}
	for len(queue) > 0 {
		x := queue[0]
		queue = queue[1:]
		if seen[x] {
			continue
		}
		seen[x] = true
		if s := a.roots[x].spawn; s >= 0 {
			for _, c := range spawns {
				if c == s {
					return true
				}
			}
		}
		queue = append(queue, a.roots[x].parents...)
	}
	return false
}
